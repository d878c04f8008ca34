"""Asking the LLM about each chunk: the call, its retries and back-off, the follow-up, the
journal. :mod:`.pairs` builds the :class:`WriterSettings` and assembles what this returns.

Example::

    asker = ChunkAsker(settings, texts, plan, report, journal, fingerprint="...")
    await asker.ask_all(todo)   # plan.done: node id -> questions; report: what failed
    asker.unusable              # the error of an LLM no call of which ever answered, or None

A greedy model gives the same answer to the same prompt, so an answer with no question is
asked again only while the answers change. Until one call has answered, an error no retry
can mend (:func:`.errors.not_worth_retrying`) stops every call.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llama_index.core.async_utils import run_jobs

from .completion import CompletionTemplate, complete_questions
from .errors import not_worth_retrying, retry_after_seconds
from .filters import normalise
from .journal import Journal, JournalEntry
from .parsing import parse_questions, usable_questions
from .progress import WriterClock
from .report import GenerationReport, question_id
from .resume import ResumePlan

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class WriterSettings:
    """One ``generate_qa_embedding_pairs`` call's settings, checked: see its arguments
    (``n`` is ``num_questions_per_chunk``, ``out`` the ``output_path``, ``progress``
    ``show_progress``; ``template`` is the resolved prompt, ``follow_up`` its suffix)."""

    llm: Any
    template: Any  # a prompt string, or a CompletionTemplate for a small local model
    n: int
    retry_limit: int
    on_failure: str
    out: Path | None
    verbose: bool
    progress: bool
    num_workers: int
    request_timeout: float | None
    backoff_base: float
    backoff_max: float
    return_report: bool
    quality_filter: bool
    round_trip_model: Any
    round_trip_top_k: int
    append: bool
    follow_up: str | None


class ChunkAsker:
    """Asks the LLM about chunks, ``slots`` at a time, and records each finished one in
    ``plan.done`` / ``plan.entries`` and the journal; counts the rest in ``report``."""

    def __init__(
        self,
        settings: WriterSettings,
        texts: dict[str, str],
        plan: ResumePlan,
        report: GenerationReport,
        journal: Journal | None,
        fingerprint: str,
        todo: int,
    ) -> None:
        self.s, self.texts, self.plan, self.report = settings, texts, plan, report
        self.journal, self.fingerprint = journal, fingerprint
        llm, workers = settings.llm, settings.num_workers
        self.slots = min(workers, getattr(llm, "max_parallel_requests", None) or workers)
        self.clock = WriterClock(todo, settings.request_timeout, settings.progress,
                                 first_wave=self.slots)  # fmt: skip
        self.stop = asyncio.Event()
        self.llm_answered = False
        self.unusable: Exception | None = None  # the LLM failed before any call answered
        self.first_empty_answer = ""  # the first answer with no question, for the error

    async def ask_all(self, todo: list[str]) -> None:
        """Ask about every chunk of ``todo`` (the clock's bar counts finished chunks)."""
        if todo:
            await run_jobs([self.ask(nid) for nid in todo], workers=self.slots)

    async def ask(self, node_id: str) -> None:
        s, text = self.s, self.texts[node_id]
        prompt = s.template.format(context_str=text, num_questions_per_chunk=s.n)
        error, last_answer, answered = "not started", None, False
        for attempt in range(s.retry_limit + 1):
            if self.stop.is_set():
                return
            try:
                started = time.monotonic()
                answer = await self._answer(prompt)
                self.clock.answered(time.monotonic() - started)
                self.llm_answered = True
                found = parse_questions(answer, text, prompt_tmpl=s.template)
                if found and s.follow_up:
                    found = await self._follow_up(prompt, text, found)
                if found:
                    self._done(node_id, text, found)
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
                    if not self.llm_answered:
                        self.unusable = self.unusable or e
                        self.stop.set()
                        return
                    break
                wait = retry_after_seconds(e)
            else:
                wait = None
            if attempt < s.retry_limit:
                cap = min(s.backoff_max, s.backoff_base * 2**attempt)
                await asyncio.sleep(wait if wait is not None else cap * random.uniform(0.5, 1.0))
        self._gave_up(node_id, error, answered, attempt + 1)

    async def _answer(self, prompt: str) -> str:
        """One request (the few-shot completion: ``n`` calls), within the clock's timeout."""
        s = self.s
        if isinstance(s.template, CompletionTemplate):
            self.report.llm_calls += s.n
            return await complete_questions(
                s.llm, prompt, s.template, s.n, timeout=self.clock.timeout()
            )
        self.report.llm_calls += 1
        response = await asyncio.wait_for(s.llm.acomplete(prompt), timeout=self.clock.timeout())
        return str(response.text)

    def _done(self, node_id: str, text: str, found: list[str]) -> None:
        questions = {question_id(node_id, i): q for i, q in enumerate(found)}
        entry = JournalEntry(node_id, text, questions, fingerprint=self.fingerprint)
        self.plan.entries[node_id] = entry
        if self.journal is not None:
            self.journal.append(entry)
        self.plan.done[node_id] = questions
        self.report.generated += 1
        self.clock.chunk_done()

    def _gave_up(self, node_id: str, error: str, answered: bool, attempts: int) -> None:
        self.clock.chunk_done()
        report = self.report
        if answered:  # the LLM works; this chunk just gave it nothing to ask
            report.unanswered += 1
            self.first_empty_answer = self.first_empty_answer or error
            logger.info("chunk %s: %s", node_id, error)
            return
        report.failed += 1
        report.failed_node_ids.append(node_id)
        report.first_error = report.first_error or error
        logger.warning("chunk %s failed after %d attempts: %s", node_id, attempts, error)
        if self.s.on_failure == "fail":
            self.stop.set()

    async def _follow_up(self, prompt: str, text: str, found: list[str]) -> list[str]:
        """One more request when too few of ``found`` pass the rules; its failure is not the
        chunk's (the first answer stands)."""
        s, report = self.s, self.report
        if len(usable_questions(found, text, s.template)) >= s.n:
            return found
        report.follow_ups += 1
        report.llm_calls += 1
        try:
            response = await asyncio.wait_for(
                s.llm.acomplete(prompt + (s.follow_up or "")), timeout=self.clock.timeout()
            )
        except Exception as e:  # noqa: BLE001
            logger.info("follow-up request failed: %s: %s", type(e).__name__, e)
            return found
        seen = {normalise(q) for q in found}
        new = [q for q in parse_questions(str(response.text), text, prompt_tmpl=s.template)
               if normalise(q) not in seen]  # fmt: skip
        report.follow_up_questions += len(new)
        return found + new
