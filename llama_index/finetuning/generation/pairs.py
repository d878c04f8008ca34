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

Up to ``num_workers`` calls are in flight (fewer if the LLM says it can take fewer,
``llm.max_parallel_requests``). Until one call has answered, an error no retry can mend (no
API key, authentication, permission, model not found, connection refused) means the LLM
cannot be used: the run starts no other call and raises one :class:`GenerationError`. Each
other failed call is retried with exponential backoff and jitter, and the timeout covers
the call itself, never the wait for a free slot. Every finished chunk goes to
``<output_path>.journal.jsonl`` with its raw questions and a fingerprint (see
:mod:`.resume`), so a rerun asks only for chunks not yet done. The quality gate
(:mod:`.filters`) applies when the dataset is assembled (:mod:`.assemble`); the JSON is
written atomically.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from llama_index.core.schema import BaseNode

from ..async_utils import run_sync
from ..dataset import EmbeddingQAFinetuneDataset, asked_chunks
from .asking import ChunkAsker, WriterSettings
from .assemble import assemble_dataset
from .completion import CompletionTemplate
from .errors import (
    GenerationError,
    GenerationInterrupted,
    RunState,
    endpoint,
    settle,
)
from .journal import Journal
from .languages import warn_if_the_writer_cannot
from .parsing import (
    DEFAULT_QA_GENERATE_PROMPT_TMPL,
    FOLLOW_UP_PROMPT,
    prompt_for_writer,
    resolve_prompt,
)
from .report import (
    GenerationReport,
    GenerationWarning,
    ShortfallWarning,
    gate_summary,
    question_id,
)
from .resume import fingerprint, plan_resume, previous_entries

logger = logging.getLogger(__name__)


async def _generate(state: RunState, arguments: dict[str, Any]) -> Any:
    """Check the call's arguments (as :func:`agenerate_qa_embedding_pairs` takes them), then
    :func:`_run`."""
    try:
        bound = _SIGNATURE.bind(**arguments)
        bound.apply_defaults()
        a = bound.arguments
        return await _run(state, *_checked(a["nodes"], a["llm"], a))
    finally:
        state.finished.set()


def _checked(nodes: Any, llm: Any, a: dict[str, Any]) -> tuple[Any, WriterSettings]:
    """``(nodes, settings)``, or one error naming the first argument that cannot work."""
    if nodes is not None and llm is not None and hasattr(nodes, "acomplete"):
        nodes, llm = llm, nodes  # the 0.4 positional order was (llm, nodes)
    if nodes is None or llm is None:
        raise TypeError("generate_qa_embedding_pairs needs nodes= and llm=")
    if not hasattr(llm, "acomplete"):
        raise TypeError(f"llm must be a llama-index LLM (with acomplete), got {type(llm).__name__}")
    if a["on_failure"] not in ("continue", "fail"):
        raise ValueError(f"on_failure must be 'continue' or 'fail', got {a['on_failure']!r}")
    if a["num_questions_per_chunk"] < 1 or a["num_workers"] < 1 or a["retry_limit"] < 0:
        raise ValueError("num_questions_per_chunk and num_workers must be >= 1, retry_limit >= 0")
    template = prompt_for_writer(resolve_prompt(a["qa_generate_prompt_tmpl"]), llm)
    follow_up = a["follow_up"]
    if follow_up is True:
        follow_up = FOLLOW_UP_PROMPT
    elif follow_up and not (isinstance(follow_up, str) and follow_up.strip()):
        raise ValueError(f"follow_up must be True, False or a prompt suffix, got {follow_up!r}")
    if follow_up and isinstance(template, CompletionTemplate):
        raise ValueError(
            "follow_up adds to a chat prompt; the few-shot completion asks each of "
            "num_questions_per_chunk in its own call already: leave follow_up off"
        )
    # save_every: every chunk is saved as it finishes; kept for 0.4 call compatibility
    out = a["output_path"]
    return nodes, WriterSettings(
        llm=llm, template=template, n=a["num_questions_per_chunk"],
        retry_limit=a["retry_limit"], on_failure=a["on_failure"],
        out=Path(out) if out is not None else None, verbose=a["verbose"],
        progress=a["verbose"] if a["show_progress"] is None else a["show_progress"],
        num_workers=a["num_workers"], request_timeout=a["request_timeout"],
        backoff_base=a["backoff_base"], backoff_max=a["backoff_max"],
        return_report=a["return_report"], quality_filter=a["quality_filter"],
        round_trip_model=a["round_trip_model"], round_trip_top_k=a["round_trip_top_k"],
        append=a["append"], follow_up=follow_up or None,
    )  # fmt: skip


async def _run(state: RunState, nodes: Sequence[BaseNode], s: WriterSettings) -> Any:
    """Resume, ask about the chunks not done yet, assemble through the gate, save."""
    texts, skipped = asked_chunks(nodes)
    warn_if_the_writer_cannot(s.llm, texts.values())
    fp = fingerprint(s.template, s.llm, s.n, s.follow_up)
    journal = Journal.for_output(s.out) if s.out is not None else None
    plan = plan_resume(texts, previous_entries(s.out, journal), fp, s.append, s.out, question_id)
    if journal is not None:
        journal.open()
    state.journal = journal.path if journal is not None else None
    report = GenerationReport(chunks=len(texts), skipped=skipped, resumed=len(plan.done))
    todo = [nid for nid in texts if nid not in plan.done]
    if s.verbose and (report.resumed or skipped or plan.stale):
        logger.info(
            "resumed %d of %d chunks, %d to ask (%d made with another prompt, LLM or count); "
            "%d skipped (no text, or a repeated node id)",
            report.resumed, len(texts), len(todo), plan.stale, skipped,
        )  # fmt: skip
    asker = ChunkAsker(s, texts, plan, report, journal, fp, len(todo))
    try:
        await asker.ask_all(todo)
    except (asyncio.CancelledError, KeyboardInterrupt):  # finally: the journal is closed
        logger.warning("interrupted: %d chunks saved to %s", len(plan.done), state.journal)
        raise
    finally:
        asker.clock.close()
        state.saved = len(plan.done)
        if journal is not None:
            journal.close()
    _raise_if_nothing_usable(asker, state, len(todo))
    dataset = await assemble_dataset(
        texts, plan.done, plan.extra, report, s.n, s.template, s.quality_filter,
        s.round_trip_model, s.round_trip_top_k,
    )  # fmt: skip
    if journal is not None:
        journal.rewrite(
            [*(plan.entries[nid] for nid in texts if nid in plan.entries), *plan.extra.values()]
        )
    _save(dataset, report, asker, state)
    return (dataset, report) if s.return_report else dataset


def _raise_if_nothing_usable(asker: ChunkAsker, state: RunState, asked: int) -> None:
    """The LLM could not be used, a chunk failed under ``on_failure="fail"``, or every chunk
    asked failed: one :class:`GenerationError` saying what is kept."""
    s, report = asker.s, asker.report
    if asker.unusable is not None:
        raise GenerationError(
            f"the LLM cannot be used ({endpoint(s.llm)}): {type(asker.unusable).__name__}: "
            f"{asker.unusable}; no other call was started. Check the API key, the server "
            "address and the model name.",
            rerun_asks=True,
        ) from asker.unusable
    kept = f"{len(asker.plan.done)} finished chunks are kept in {state.journal or 'memory only'}"
    if s.on_failure == "fail" and report.failed:
        raise GenerationError(
            f"question generation failed for chunk {report.failed_node_ids[0]!r} after "
            f"{s.retry_limit + 1} attempts ({report.first_error}); {kept} and a rerun resumes"
        )
    if report.failed and not report.generated:
        raise GenerationError(
            f"every chunk asked failed ({report.failed} of {asked}); the first error: "
            f"{report.first_error} ({endpoint(s.llm)}); {kept}",
            rerun_asks=True,
        )


def _save(dataset: Any, report: GenerationReport, asker: ChunkAsker, state: RunState) -> None:
    """Write the dataset (none if the gate or the LLM left no question: one error), and queue
    the warnings the caller's thread gives."""
    s = asker.s
    not_written = f" ({s.out} was not written)" if s.out is not None else ""
    gate = gate_summary(report, state.journal) if report.dropped else ""
    if not dataset.queries and report.dropped:
        raise GenerationError(f"no question is left to train on: {gate}{not_written}")
    if not dataset.queries and report.unanswered:
        raise GenerationError(
            f"no question is left to train on: every answer of the LLM ({endpoint(s.llm)}) held "
            f"no question ({report.unanswered} chunks); the first: {asker.first_empty_answer}. "
            "Check that the model follows the prompt (qa_generate_prompt_tmpl) and writes one "
            f"question per line{not_written}"
        )
    if s.out is not None:
        dataset.save_json(s.out)
    if 2 * sum(report.dropped.values()) > report.raw_questions:
        state.warnings.append((gate, GenerationWarning))  # warned in the caller's thread
    if report.failed or report.short or report.unanswered:
        state.warnings.append(
            (
                f"{report.failed} of {report.chunks} chunks failed (retried next run), "
                f"{report.unanswered} got answers with no question and {report.short} got "
                f"fewer than {s.n}",
                ShortfallWarning,
            )
        )


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
    quality_filter: bool = True,
    round_trip_model: Any = None,
    round_trip_top_k: int = 10,
    append: bool = False,
    follow_up: bool | str = False,
) -> EmbeddingQAFinetuneDataset | tuple[EmbeddingQAFinetuneDataset, GenerationReport]:
    """Async :func:`generate_qa_embedding_pairs`; see there for the arguments.

    Example::

        from llama_index.finetuning import agenerate_qa_embedding_pairs

        pairs = await agenerate_qa_embedding_pairs(nodes, llm=llm, output_path="train.json")

    A cancelled run (``asyncio.CancelledError``) has saved every finished chunk in the journal
    and logs how many; it re-raises the cancellation.
    """
    arguments, state = dict(locals()), RunState()
    result = await _generate(state, arguments)
    for message, category in state.warnings:
        warnings.warn(message, category, stacklevel=2)  # the line that awaited it
    return result


def generate_qa_embedding_pairs(*args: Any, **kwargs: Any) -> Any:
    """Ask an LLM for questions about each node; return (question, chunk) pairs as a dataset.

    Example::

        dataset = generate_qa_embedding_pairs(nodes=nodes, llm=llm, output_path="train.json")
        dataset = generate_qa_embedding_pairs(nodes, llm)      # positional works too
        dataset, report = generate_qa_embedding_pairs(
            nodes, llm, qa_generate_prompt_tmpl="small", return_report=True
        )
        report.resumed, report.failed, report.dropped   # 0, 0, {"off_topic": 3, ...}

    Args:
        nodes: the chunks (``BaseNode``), e.g. from ``SentenceSplitter``. Nodes with no text
            and repeated node ids are skipped.
        llm: any llama-index LLM; its ``acomplete`` is called. An LLM with a
            ``max_parallel_requests`` attribute (a local runtime's slots) gets no more calls
            in flight than that.
        qa_generate_prompt_tmpl: a template with ``{context_str}`` and
            ``{num_questions_per_chunk}``, or a name: ``"default"`` or ``"small"`` (written
            for small local models, :data:`.parsing.SMALL_MODEL_QA_PROMPT_TMPL`).
        num_questions_per_chunk: questions kept per chunk (at most).
        retry_limit: retries per chunk after the first attempt.
        on_failure: ``"continue"`` (skip the chunk, count it) or ``"fail"`` (stop and raise;
            finished chunks are kept for the rerun).
        output_path: the dataset JSON; its journal sits beside it. ``None``: memory only.
        num_workers: LLM calls in flight at once.
        request_timeout: seconds before one call counts as failed (``None``: no limit); the
            wait for a free slot does not count. Once calls answer, the limit grows to
            :data:`.progress.TIMEOUT_SCALE` times the slowest of them, so a writer slowed by
            a busy machine is not cut off; the time a chunk takes, measured on the first
            ones, is logged with the time left.
        show_progress: a tqdm bar (default: ``verbose``).
        return_report: return ``(dataset, GenerationReport)`` instead of the dataset.
        quality_filter: apply the quality gate of :mod:`.filters` (on by default): source
            phrases are cleaned off content questions ("According to the document, ..."),
            junk is dropped. The journal keeps the raw questions, so a rerun with another
            ``quality_filter`` asks the LLM nothing again.
        round_trip_model: an embedding model (LlamaIndex ``BaseEmbedding``): keep a question
            only if it ranks the question's chunk within ``round_trip_top_k`` of the corpus.
        round_trip_top_k: the ``k`` of the round trip (default 10).
        append: allow ``output_path`` to hold chunks that are not among ``nodes`` (kept
            beside them); without it such a rerun is refused.
        follow_up: ``True``: when an answer holds fewer than ``num_questions_per_chunk``
            questions that pass the rules, ask once more with the prompt plus a request for
            one more question (:data:`.parsing.FOLLOW_UP_PROMPT`; a string: your own
            suffix). The prompt is the follow-up's prefix, so a server that caches prompts
            answers it fast. Off by default: with SmolLM2 it gave more questions but no
            retrieval gain (benchmarks/RESULTS.md, "Question writers").

    Raises:
        GenerationError: the LLM is unusable (no call answered and one failed with an
            error no retry mends; no other call is started), every chunk asked failed, the
            quality gate kept no question (the message names its reasons and how to rerun
            without it at no LLM cost).
        OutputExistsError: ``output_path`` holds chunks that are not among ``nodes`` (in
            the file or its journal; ``append=True`` keeps them), or is not a dataset.
        GenerationInterrupted: Ctrl-C; ``saved`` chunks are in ``journal`` for the rerun.

    Works in scripts and in Jupyter (a running event loop); from async code, await
    :func:`agenerate_qa_embedding_pairs` instead.
    """
    bound = _SIGNATURE.bind(*args, **kwargs).arguments
    state = RunState()
    try:
        result = run_sync(_generate(state, bound))
    except KeyboardInterrupt as e:
        state.finished.wait(timeout=5)  # the cancelled run closes its journal
        settle(timeout=2)
        raise GenerationInterrupted(state.saved, state.journal) from e
    for message, category in state.warnings:  # here, not on the loop's thread: your line
        warnings.warn(message, category, stacklevel=2)
    return result


_SIGNATURE = inspect.signature(agenerate_qa_embedding_pairs)
