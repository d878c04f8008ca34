"""generate_qa_embedding_pairs: an LLM writes questions for each chunk, many calls at once.

Example::

    from llama_index.core import SimpleDirectoryReader
    from llama_index.core.node_parser import SentenceSplitter
    from llama_index.finetuning import generate_qa_embedding_pairs
    from llama_index.llms.openai import OpenAI

    docs = SimpleDirectoryReader(input_files=["lyft_2021.pdf"]).load_data()
    nodes = SentenceSplitter().get_nodes_from_documents(docs)
    dataset = generate_qa_embedding_pairs(
        nodes=nodes, llm=OpenAI(model="gpt-4o-mini"), output_path="train_dataset.json"
    )

Up to ``num_workers`` calls are in flight; each failed call is retried with exponential
backoff and jitter. Every finished chunk is appended to ``<output_path>.journal.jsonl`` as
it completes, so a rerun with the same ``output_path`` (after a crash, Ctrl-C or SIGKILL)
asks the LLM only for chunks not yet done. The final JSON is written atomically.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import random
import uuid
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from llama_index.core.async_utils import run_jobs
from llama_index.core.schema import BaseNode, MetadataMode

from ..async_utils import run_sync
from ..dataset import EmbeddingQAFinetuneDataset
from .journal import Journal, JournalEntry
from .parsing import DEFAULT_QA_GENERATE_PROMPT_TMPL, parse_questions

logger = logging.getLogger(__name__)

_QUESTION_ID_NAMESPACE = uuid.UUID("6f1c2d4e-8a4b-4d3c-9a57-1b2e3f405a61")


class GenerationWarning(UserWarning):
    """Some chunks got fewer questions than asked, or none."""


@dataclass
class GenerationReport:
    """What a generation run did. ``failed_node_ids`` are retried by the next run."""

    chunks: int = 0
    resumed: int = 0
    skipped: int = 0
    generated: int = 0
    failed: int = 0
    short: int = 0
    questions: int = 0
    llm_calls: int = 0
    failed_node_ids: list[str] = field(default_factory=list)


def question_id(node_id: str, position: int) -> str:
    """A query id that is the same on every run for the same node and position."""
    return str(uuid.uuid5(_QUESTION_ID_NAMESPACE, f"{node_id}\x1f{position}"))


def _text_key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _retry_after_seconds(error: BaseException) -> float | None:
    response = getattr(error, "response", None)
    headers = getattr(response, "headers", None) or {}
    try:
        return float(headers.get("retry-after"))
    except (TypeError, ValueError):
        return None


def _previous_entries(output_path: Path | None, journal: Journal | None) -> list[JournalEntry]:
    """Finished chunks from an earlier run: the output JSON (ours or 0.4's), then the journal."""
    entries: list[JournalEntry] = []
    if output_path is not None and output_path.exists():
        previous = EmbeddingQAFinetuneDataset.from_json(output_path)
        by_doc: dict[str, dict[str, str]] = {}
        for qid, docs in previous.relevant_docs.items():
            by_doc.setdefault(docs[0], {})[qid] = previous.queries[qid]
        entries += [JournalEntry(d, previous.corpus[d], qs) for d, qs in by_doc.items()]
    if journal is not None:
        entries += journal.load().values()
    return entries


def _unique_text_nodes(nodes: Sequence[BaseNode]) -> tuple[dict[str, str], int]:
    texts: dict[str, str] = {}
    skipped = 0
    for node in nodes:
        text = node.get_content(metadata_mode=MetadataMode.NONE)
        if not text.strip() or node.node_id in texts:
            skipped += 1
            continue
        texts[node.node_id] = text
    return texts, skipped


async def agenerate_qa_embedding_pairs(
    nodes: Sequence[BaseNode] | None = None,
    llm: Any = None,
    qa_generate_prompt_tmpl: str = DEFAULT_QA_GENERATE_PROMPT_TMPL,
    num_questions_per_chunk: int = 2,
    retry_limit: int = 3,
    on_failure: Literal["continue", "fail"] = "continue",
    save_every: int | None = None,
    output_path: str | Path | None = "qa_finetune_dataset.json",
    verbose: bool = True,
    show_progress: bool | None = None,
    num_workers: int = 16,
    request_timeout: float | None = 120.0,
    backoff_base: float = 1.0,
    backoff_max: float = 30.0,
    return_report: bool = False,
) -> EmbeddingQAFinetuneDataset | tuple[EmbeddingQAFinetuneDataset, GenerationReport]:
    """Async :func:`generate_qa_embedding_pairs`; see there for the arguments."""
    if nodes is not None and llm is not None and hasattr(nodes, "acomplete"):
        nodes, llm = llm, nodes  # the 0.4 positional order was (llm, nodes)
    if nodes is None or llm is None:
        raise TypeError("generate_qa_embedding_pairs needs nodes= and llm=")
    if not hasattr(llm, "acomplete"):
        raise TypeError(f"llm must be a llama-index LLM (with acomplete), got {type(llm).__name__}")
    if on_failure not in ("continue", "fail"):
        raise ValueError(f"on_failure must be 'continue' or 'fail', got {on_failure!r}")
    if num_questions_per_chunk < 1 or num_workers < 1 or retry_limit < 0:
        raise ValueError("num_questions_per_chunk and num_workers must be >= 1, retry_limit >= 0")
    for placeholder in ("{context_str}", "{num_questions_per_chunk}"):
        if placeholder not in qa_generate_prompt_tmpl:
            raise ValueError(f"qa_generate_prompt_tmpl lacks the placeholder {placeholder}")
    del save_every  # every chunk is saved as it finishes; kept for 0.4 call compatibility

    texts, skipped = _unique_text_nodes(nodes)
    out = Path(output_path) if output_path is not None else None
    journal = Journal.for_output(out).open() if out is not None else None
    report = GenerationReport(chunks=len(texts), skipped=skipped)
    done: dict[str, dict[str, str]] = {}  # node id -> {question id: question}
    extra: dict[str, JournalEntry] = {}  # earlier chunks that are not among these nodes
    id_by_text = {_text_key(t): nid for nid, t in texts.items()}
    for entry in _previous_entries(out, journal):
        # Same id, or same text under a new id (splitters give fresh uuids on every run).
        nid = entry.node_id if entry.node_id in texts else id_by_text.get(_text_key(entry.text))
        if nid is None:
            extra.setdefault(entry.node_id, entry)
        elif nid not in done:
            kept = list(entry.questions.values()) if nid != entry.node_id else None
            done[nid] = (
                {question_id(nid, i): q for i, q in enumerate(kept)} if kept else entry.questions
            )
    report.resumed = len(done)
    todo = [nid for nid in texts if nid not in done]
    if verbose and (report.resumed or skipped):
        logger.info(
            "%d chunks done by an earlier run, %d to ask; %d skipped (no text, or a repeated node id)",
            report.resumed,
            len(todo),
            skipped,
        )

    stop = asyncio.Event()

    async def ask(node_id: str) -> None:
        text = texts[node_id]
        prompt = qa_generate_prompt_tmpl.format(
            context_str=text, num_questions_per_chunk=num_questions_per_chunk
        )
        error, last_answer = "not started", None
        for attempt in range(retry_limit + 1):
            if stop.is_set():
                return
            try:
                report.llm_calls += 1
                response = await asyncio.wait_for(llm.acomplete(prompt), timeout=request_timeout)
                found = parse_questions(str(response.text), text, num_questions_per_chunk)
                if found:
                    questions = {question_id(node_id, i): q for i, q in enumerate(found)}
                    if journal is not None:
                        journal.append(JournalEntry(node_id, text, questions))
                    done[node_id] = questions
                    report.generated += 1
                    return
                error = f"no questions in the answer: {str(response.text)[:200]!r}"
                if str(response.text) == last_answer:
                    # A greedy model gives the same answer to the same prompt: asking again
                    # only costs time (benchmarks/format_reminder.py: a reworded prompt made
                    # SmolLM2 write junk questions instead).
                    break
                last_answer = str(response.text)
                continue  # the service answered: ask again at once, without back-off
            except Exception as e:  # noqa: BLE001  any failure of the call is retried
                error = f"{type(e).__name__}: {e}"
                wait = _retry_after_seconds(e)
            else:
                wait = None
            if attempt < retry_limit:
                cap = min(backoff_max, backoff_base * 2**attempt)
                await asyncio.sleep(wait if wait is not None else cap * random.uniform(0.5, 1.0))
        report.failed += 1
        report.failed_node_ids.append(node_id)
        logger.warning("chunk %s failed after %d attempts: %s", node_id, retry_limit + 1, error)
        if on_failure == "fail":
            stop.set()

    progress = verbose if show_progress is None else show_progress
    await run_jobs(
        [ask(nid) for nid in todo],
        show_progress=progress,
        workers=num_workers,
        desc="Generating questions",
    )

    if on_failure == "fail" and report.failed:
        raise RuntimeError(
            f"question generation failed for chunk {report.failed_node_ids[0]!r} after "
            f"{retry_limit + 1} attempts; {len(done)} finished chunks are kept in "
            f"{journal.path if journal else 'memory only (no output_path)'} and a rerun resumes"
        )

    queries: dict[str, str] = {}
    corpus: dict[str, str] = {}
    relevant: dict[str, list[str]] = {}
    for nid, entry in extra.items():
        done.setdefault(nid, entry.questions)
        texts.setdefault(nid, entry.text)
    for nid in [n for n in texts if n in done]:  # in the order of the nodes given
        questions = done[nid]
        corpus[nid] = texts[nid]
        for qid, q in questions.items():
            queries[qid] = q
            relevant[qid] = [nid]
        report.short += len(questions) < num_questions_per_chunk
    report.questions = len(queries)
    dataset = EmbeddingQAFinetuneDataset(queries=queries, corpus=corpus, relevant_docs=relevant)
    if out is not None:
        dataset.save_json(out)
        journal.remove()  # everything it held is in the output now, which a rerun reads
    if report.failed or report.short:
        warnings.warn(
            f"{report.failed} of {report.chunks} chunks got no questions (retried next run) and "
            f"{report.short} got fewer than {num_questions_per_chunk}",
            GenerationWarning,
            stacklevel=2,
        )
    return (dataset, report) if return_report else dataset


def generate_qa_embedding_pairs(*args: Any, **kwargs: Any) -> Any:
    """Ask an LLM for questions about each node; return (question, chunk) pairs as a dataset.

    Example::

        dataset = generate_qa_embedding_pairs(nodes=nodes, llm=llm, output_path="train.json")
        dataset = generate_qa_embedding_pairs(nodes, llm)      # positional works too

    Args:
        nodes: the chunks (``BaseNode``), e.g. from ``SentenceSplitter``. Nodes with no text
            and repeated node ids are skipped.
        llm: any llama-index LLM; its ``acomplete`` is called.
        qa_generate_prompt_tmpl: a template with ``{context_str}`` and
            ``{num_questions_per_chunk}``.
        num_questions_per_chunk: questions kept per chunk (at most).
        retry_limit: retries per chunk after the first attempt.
        on_failure: ``"continue"`` (skip the chunk, count it) or ``"fail"`` (stop and raise;
            finished chunks are kept for the rerun).
        output_path: the dataset JSON; its journal sits beside it. ``None``: memory only.
        num_workers: LLM calls in flight at once.
        request_timeout: seconds before one call counts as failed (``None``: no limit).
        show_progress: a tqdm bar (default: ``verbose``).
        return_report: return ``(dataset, GenerationReport)`` instead of the dataset.

    Works in scripts and in Jupyter (a running event loop); from async code, await
    :func:`agenerate_qa_embedding_pairs` instead.
    """
    return run_sync(agenerate_qa_embedding_pairs(*args, **kwargs))
