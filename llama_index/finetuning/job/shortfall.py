"""Chunks a generation left without a question: how many, why, what can get them one, and
whether the command ends 0 or 1.

Example::

    from llama_index.finetuning.job.shortfall import Shortfall

    shortfall = Shortfall(chunks=20, failed=0, unanswered=1, gate=2, greedy=True)
    shortfall.ends_short   # False: every chunk was asked and answered
    shortfall.note()
    # "3 of 20 chunks got no questions (1: the LLM's answer held no question; 2: the ..."

Exit 1 is for what a rerun can mend: LLM calls that failed (a rerun asks only those chunks
again). A chunk the LLM answered is done: the quality gate emptied it, its answer held no
question, or (the pseudo generator) it has no sentence to ask about. Asking a greedy writer
the same again gives the same answer, so the advice for those is another temperature, prompt
or gate, never a plain rerun; the command ends 0 and its output says how many and why. The
advice names settings through a :class:`..phrasing.Phrasing` (keywords, or the CLI's flags).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import IncompleteResult
from ..phrasing import PYTHON, Echo, Phrasing

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

    def advice(self, say: Phrasing = PYTHON) -> str:
        """What can give those chunks a question, in ``say``'s words ('' if nothing can)."""
        advice = []
        if self.failed:
            advice.append(say.rerun)
        prompt, temperature = say.name("prompt"), say.name("temperature")
        if self.unanswered:
            if self.greedy:
                advice.append(
                    "the writer is greedy (temperature 0) and would answer the same again: add "
                    f"{say.setting('temperature', 0.7)} or another {prompt} to {say.command} "
                    "to ask those chunks again (the chunks that have questions are kept)"
                )
            else:
                advice.append(
                    "a rerun asks the chunks whose answer held no question again; another "
                    f"{prompt} or {temperature} may answer better"
                )
        if self.gate:
            advice.append(
                f"{say.setting('quality_filter', False)} keeps the questions the gate dropped "
                "(nothing is asked again)"
            )
        return "; ".join(advice)

    def note(self, say: Phrasing = PYTHON, saved: str = "") -> str:
        """One line: how many chunks got no question, why, ``saved`` (what was kept), and
        what can give them one."""
        advice = self.advice(say)
        return (
            f"{self.missing} of {self.chunks} chunks got no questions ({self.reasons()})"
            + (f"; {saved}" if saved else "")
            + (f"; {advice}" if advice else "")
        )


def check_complete(
    ds: Any, shortfall: Shortfall, output: Path, say: Phrasing = PYTHON, echo: Echo = Echo()
) -> Any:
    """``ds`` unless LLM calls failed or no chunk got a question (then IncompleteResult,
    saying how many chunks have none, why, and what can mend it); chunks that were answered
    but got no question are said in one line on stdout.

    Example::

        ds = check_complete(ds, Shortfall(len(texts), gate=2), Path("train.json"))
    """
    if not len(ds):
        advice = shortfall.advice(say)
        raise IncompleteResult(
            f"no chunk got a question ({shortfall.chunks} chunks asked; "
            f"{shortfall.reasons() or 'none asked'})" + (f"; {advice}" if advice else "")
        )
    if shortfall.ends_short:
        saved = f"{len(ds)} questions over {len(ds.corpus)} chunks saved to {output}"
        raise IncompleteResult(shortfall.note(say, saved))
    if shortfall.missing:
        echo.result(shortfall.note(say))
    return ds
