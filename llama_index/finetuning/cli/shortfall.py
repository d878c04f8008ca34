"""Chunks a generation left without a question: how many, why, what can get them one, and
whether the command ends 0 or 1.

Example::

    shortfall = Shortfall(chunks=20, failed=0, unanswered=1, gate=2, greedy=True)
    shortfall.ends_short   # False: every chunk was asked and answered
    shortfall.note("llamaindex-finetune generate docs/")
    # "3 of 20 chunks got no questions (1: the LLM's answer held no question; 2: the ..."

Exit 1 is for what a rerun can mend: LLM calls that failed (a rerun asks only those chunks
again). A chunk the LLM answered is done: the quality gate emptied it, its answer held no
question, or (``--generator pseudo``) it has no sentence to ask about. Asking a greedy writer
the same again gives the same answer, so the advice for those is another temperature, prompt
or gate, never a plain rerun; the command ends 0 and its output says how many and why.
"""

from __future__ import annotations

from dataclasses import dataclass

RERUN = "rerun the same command to ask only those again"
WHY = {
    "failed": "the LLM call failed",
    "unanswered": "the LLM's answer held no question",
    "gate": "the quality gate dropped all of theirs",
    "pseudo": "no sentence that can stand as a question (tables, headings)",
}


@dataclass(frozen=True)
class Shortfall:
    """How many of ``chunks`` got no question, by cause; ``greedy``: the writer decodes at
    temperature 0 (asked again, it answers a chunk the same); ``first_error``: the first
    failed call's error."""

    chunks: int
    failed: int = 0
    unanswered: int = 0
    gate: int = 0
    pseudo: int = 0
    greedy: bool = False
    first_error: str | None = None

    @property
    def counts(self) -> dict[str, int]:
        """Cause -> chunks, the causes that left any."""
        every = {k: getattr(self, k) for k in WHY}
        return {k: n for k, n in every.items() if n}

    @property
    def missing(self) -> int:
        return sum(self.counts.values())

    @property
    def ends_short(self) -> bool:
        """Exit 1 (``generate`` and ``run`` alike): LLM calls failed."""
        return bool(self.failed)

    def reasons(self) -> str:
        """``"2: the quality gate dropped all of theirs; 1: the LLM's answer held no question"``"""
        parts = []
        for cause, n in self.counts.items():
            why = WHY[cause]
            if cause == "failed" and self.first_error:
                why += f" ({self.first_error})"
            parts.append(f"{n}: {why}")
        return "; ".join(parts)

    def advice(self, rerun_command: str) -> str:
        """What can give those chunks a question, in the command line's words ('' if
        nothing can)."""
        advice = []
        if self.failed:
            advice.append(f"{RERUN}: {rerun_command}")
        if self.unanswered:
            if self.greedy:
                advice.append(
                    "the writer is greedy (temperature 0) and would answer the same again: add "
                    "--temperature 0.7 or another --prompt to the command to ask those chunks "
                    "again (the chunks that have questions are kept)"
                )
            else:
                advice.append(
                    "a rerun asks the chunks whose answer held no question again; another "
                    "--prompt or --temperature may answer better"
                )
        if self.gate:
            advice.append(
                "--no-quality-filter keeps the questions the gate dropped (nothing is asked again)"
            )
        return "; ".join(advice)

    def note(self, rerun_command: str, saved: str = "") -> str:
        """One line: how many chunks got no question, why, ``saved`` (what was kept), and
        what can give them one."""
        advice = self.advice(rerun_command)
        return (
            f"{self.missing} of {self.chunks} chunks got no questions ({self.reasons()})"
            + (f"; {saved}" if saved else "")
            + (f"; {advice}" if advice else "")
        )
