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
import random
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from llama_index.core.async_utils import run_jobs
from llama_index.core.schema import BaseNode

from ..async_utils import run_sync
from ..dataset import EmbeddingQAFinetuneDataset, asked_chunks
from .assemble import assemble_dataset
from .completion import CompletionTemplate, complete_questions
from .errors import (
    GenerationError,
    GenerationInterrupted,
    RunState,
    endpoint,
    not_worth_retrying,
    retry_after_seconds,
    settle,
)
from .filters import normalise
from .journal import Journal, JournalEntry
from .languages import warn_if_the_writer_cannot
from .parsing import (
    DEFAULT_QA_GENERATE_PROMPT_TMPL,
    FOLLOW_UP_PROMPT,
    parse_questions,
    prompt_for_writer,
    resolve_prompt,
    usable_questions,
)
from .progress import WriterClock
from .report import (
    GenerationReport,
    GenerationWarning,
    ShortfallWarning,
    gate_summary,
    question_id,
)
from .resume import fingerprint, plan_resume, previous_entries

logger = logging.getLogger(__name__)


async def _generate(
    state: RunState,
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
) -> Any:
    try:
        if nodes is not None and llm is not None and hasattr(nodes, "acomplete"):
            nodes, llm = llm, nodes  # the 0.4 positional order was (llm, nodes)
        if nodes is None or llm is None:
            raise TypeError("generate_qa_embedding_pairs needs nodes= and llm=")
        if not hasattr(llm, "acomplete"):
            raise TypeError(
                f"llm must be a llama-index LLM (with acomplete), got {type(llm).__name__}"
            )
        if on_failure not in ("continue", "fail"):
            raise ValueError(f"on_failure must be 'continue' or 'fail', got {on_failure!r}")
        if num_questions_per_chunk < 1 or num_workers < 1 or retry_limit < 0:
            raise ValueError(
                "num_questions_per_chunk and num_workers must be >= 1, retry_limit >= 0"
            )
        template = prompt_for_writer(resolve_prompt(qa_generate_prompt_tmpl), llm)
        if follow_up is True:
            follow_up = FOLLOW_UP_PROMPT
        elif follow_up and not (isinstance(follow_up, str) and follow_up.strip()):
            raise ValueError(f"follow_up must be True, False or a prompt suffix, got {follow_up!r}")
        if follow_up and isinstance(template, CompletionTemplate):
            raise ValueError(
                "follow_up adds to a chat prompt; the few-shot completion asks each of "
                "num_questions_per_chunk in its own call already: leave follow_up off"
            )
        del save_every  # every chunk is saved as it finishes; kept for 0.4 call compatibility
        return await _run(
            state, nodes, llm, template, num_questions_per_chunk, retry_limit, on_failure,
            Path(output_path) if output_path is not None else None, verbose,
            verbose if show_progress is None else show_progress, num_workers, request_timeout,
            backoff_base, backoff_max, return_report, quality_filter, round_trip_model,
            round_trip_top_k, append, follow_up or None,
        )  # fmt: skip
    finally:
        state.finished.set()


async def _run(
    state, nodes, llm, template, n, retry_limit, on_failure, out, verbose, progress,
    num_workers, request_timeout, backoff_base, backoff_max, return_report, quality_filter,
    round_trip_model, round_trip_top_k, append, follow_up,
):  # fmt: skip
    texts, skipped = asked_chunks(nodes)
    warn_if_the_writer_cannot(llm, texts.values())
    fp = fingerprint(template, llm, n, follow_up)
    journal = Journal.for_output(out) if out is not None else None
    plan = plan_resume(texts, previous_entries(out, journal), fp, append, out, question_id)
    if journal is not None:
        journal.open()
    state.journal = journal.path if journal is not None else None
    report = GenerationReport(chunks=len(texts), skipped=skipped, resumed=len(plan.done))
    done, entries = plan.done, plan.entries
    todo = [nid for nid in texts if nid not in done]
    if verbose and (report.resumed or skipped or plan.stale):
        logger.info(
            "resumed %d of %d chunks, %d to ask (%d made with another prompt, LLM or count); "
            "%d skipped (no text, or a repeated node id)",
            report.resumed, len(texts), len(todo), plan.stale, skipped,
        )  # fmt: skip

    stop = asyncio.Event()
    llm_answered = False
    unusable: Exception | None = None  # the LLM failed before any call answered
    first_empty_answer = ""  # the first answer with no question in it, for the error below
    slots = min(num_workers, getattr(llm, "max_parallel_requests", None) or num_workers)
    clock = WriterClock(len(todo), request_timeout, progress, first_wave=slots)

    async def ask(node_id: str) -> None:
        nonlocal llm_answered, unusable, first_empty_answer
        text = texts[node_id]
        prompt = template.format(context_str=text, num_questions_per_chunk=n)
        error, last_answer, answered = "not started", None, False
        for attempt in range(retry_limit + 1):
            if stop.is_set():
                return
            try:
                started = time.monotonic()
                if isinstance(template, CompletionTemplate):
                    report.llm_calls += n
                    answer = await complete_questions(
                        llm, prompt, template, n, timeout=clock.timeout()
                    )
                else:
                    report.llm_calls += 1
                    response = await asyncio.wait_for(
                        llm.acomplete(prompt), timeout=clock.timeout()
                    )
                    answer = str(response.text)
                clock.answered(time.monotonic() - started)
                llm_answered = True
                found = parse_questions(answer, text, prompt_tmpl=template)
                if found and follow_up:
                    found = await ask_follow_up(prompt, text, found)
                if found:
                    questions = {question_id(node_id, i): q for i, q in enumerate(found)}
                    entries[node_id] = JournalEntry(node_id, text, questions, fingerprint=fp)
                    if journal is not None:
                        journal.append(entries[node_id])
                    done[node_id] = questions
                    report.generated += 1
                    clock.chunk_done()
                    return
                error = f"no questions in the answer: {answer[:200]!r}"
                answered = True
                if answer == last_answer:
                    # A greedy model gives the same answer to the same prompt: asking again
                    # only costs time (benchmarks/experiments/format_reminder.py).
                    break
                last_answer = answer
                continue  # the service answered: ask again at once, without back-off
            except Exception as e:  # noqa: BLE001  any failure of the call is retried
                error, answered = f"{type(e).__name__}: {e}", False
                if not_worth_retrying(e):
                    if not llm_answered:
                        unusable = unusable or e
                        stop.set()
                        return
                    break
                wait = retry_after_seconds(e)
            else:
                wait = None
            if attempt < retry_limit:
                cap = min(backoff_max, backoff_base * 2**attempt)
                await asyncio.sleep(wait if wait is not None else cap * random.uniform(0.5, 1.0))
        clock.chunk_done()
        if answered:  # the LLM works; this chunk just gave it nothing to ask
            report.unanswered += 1
            first_empty_answer = first_empty_answer or error
            logger.info("chunk %s: %s", node_id, error)
            return
        report.failed += 1
        report.failed_node_ids.append(node_id)
        report.first_error = report.first_error or error
        logger.warning("chunk %s failed after %d attempts: %s", node_id, attempt + 1, error)
        if on_failure == "fail":
            stop.set()

    async def ask_follow_up(prompt: str, text: str, found: list[str]) -> list[str]:
        """One more request when too few of ``found`` pass the rules; its failure is not the
        chunk's (the first answer stands)."""
        if len(usable_questions(found, text, template)) >= n:
            return found
        report.follow_ups += 1
        report.llm_calls += 1
        try:
            response = await asyncio.wait_for(
                llm.acomplete(prompt + follow_up), timeout=clock.timeout()
            )
        except Exception as e:  # noqa: BLE001
            logger.info("follow-up request failed: %s: %s", type(e).__name__, e)
            return found
        seen = {normalise(q) for q in found}
        new = [q for q in parse_questions(str(response.text), text, prompt_tmpl=template)
               if normalise(q) not in seen]  # fmt: skip
        report.follow_up_questions += len(new)
        return found + new

    try:
        if todo:
            jobs = [ask(nid) for nid in todo]
            await run_jobs(
                jobs, workers=slots
            )  # the bar: clock (a chunk stopped early is not done)
    except (asyncio.CancelledError, KeyboardInterrupt):
        if journal is not None:
            journal.close()
        state.saved = len(done)
        logger.warning("interrupted: %d chunks saved to %s", len(done), state.journal)
        raise
    finally:
        clock.close()
        state.saved = len(done)
        if journal is not None:
            journal.close()

    if unusable is not None:
        raise GenerationError(
            f"the LLM cannot be used ({endpoint(llm)}): {type(unusable).__name__}: "
            f"{unusable}; no other call was started. Check the API key, the server address "
            "and the model name.",
            rerun_asks=True,
        ) from unusable
    kept = f"{len(done)} finished chunks are kept in {state.journal or 'memory only'}"
    if on_failure == "fail" and report.failed:
        raise GenerationError(
            f"question generation failed for chunk {report.failed_node_ids[0]!r} after "
            f"{retry_limit + 1} attempts ({report.first_error}); {kept} and a rerun resumes"
        )
    if report.failed and not report.generated:
        raise GenerationError(
            f"every chunk asked failed ({report.failed} of {len(todo)}); the first error: "
            f"{report.first_error} ({endpoint(llm)}); {kept}",
            rerun_asks=True,
        )
    dataset = await assemble_dataset(
        texts, done, plan.extra, report, n, template, quality_filter, round_trip_model,
        round_trip_top_k,
    )  # fmt: skip
    if journal is not None:
        journal.rewrite([*(entries[nid] for nid in texts if nid in entries), *plan.extra.values()])
    gate = gate_summary(report, state.journal) if report.dropped else ""
    if not dataset.queries and report.dropped:
        raise GenerationError(
            f"no question is left to train on: {gate}"
            + (f" ({out} was not written)" if out is not None else "")
        )
    if not dataset.queries and report.unanswered:
        raise GenerationError(
            f"no question is left to train on: every answer of the LLM ({endpoint(llm)}) held "
            f"no question ({report.unanswered} chunks); the first: {first_empty_answer}. Check "
            "that the model follows the prompt (qa_generate_prompt_tmpl) and writes one "
            "question per line" + (f" ({out} was not written)" if out is not None else "")
        )
    if out is not None:
        dataset.save_json(out)
    if 2 * sum(report.dropped.values()) > report.raw_questions:
        state.warnings.append((gate, GenerationWarning))  # warned in the caller's thread
    if report.failed or report.short or report.unanswered:
        state.warnings.append(
            (
                f"{report.failed} of {report.chunks} chunks failed (retried next run), "
                f"{report.unanswered} got answers with no question and {report.short} got "
                f"fewer than {n}",
                ShortfallWarning,
            )
        )
    return (dataset, report) if return_report else dataset


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
    result = await _generate(state, **arguments)
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
        result = run_sync(_generate(state, **bound))
    except KeyboardInterrupt as e:
        state.finished.wait(timeout=5)  # the cancelled run closes its journal
        settle(timeout=2)
        raise GenerationInterrupted(state.saved, state.journal) from e
    for message, category in state.warnings:  # here, not on the loop's thread: your line
        warnings.warn(message, category, stacklevel=2)
    return result


_SIGNATURE = inspect.signature(agenerate_qa_embedding_pairs)
