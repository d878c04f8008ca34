"""What a generation run did (:class:`GenerationReport`), its warning, and stable question ids:
shared by the LLM generator (:mod:`.pairs`) and the pseudo-query generator.

Example::

    from llama_index.finetuning.generation.report import question_id

    question_id("lyft_2021-12", 0) == question_id("lyft_2021-12", 0)   # True, on every run
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

_QUESTION_ID_NAMESPACE = uuid.UUID("6f1c2d4e-8a4b-4d3c-9a57-1b2e3f405a61")


class GenerationWarning(UserWarning):
    """Some chunks got fewer questions than asked, or none.

    Example::

        import warnings
        from llama_index.finetuning import GenerationWarning

        warnings.simplefilter("error", GenerationWarning)   # a shortfall becomes an error
    """


class ShortfallWarning(GenerationWarning):
    """Some chunks failed, got answers with no question, or fewer questions than asked (the
    counts are in the message and in :class:`GenerationReport`).

    Example::

        import warnings
        from llama_index.finetuning.generation import ShortfallWarning

        warnings.simplefilter("ignore", ShortfallWarning)   # the counts are in the report
    """


@dataclass
class GenerationReport:
    """What a generation run did. ``failed_node_ids`` are retried by the next run.

    Example::

        from llama_index.finetuning import generate_qa_embedding_pairs

        pairs, report = generate_qa_embedding_pairs(nodes, llm=llm, return_report=True)
        report.chunks, report.raw_questions, report.dropped   # asked, written, dropped by reason

    ``resumed`` of ``chunks`` were reused from an earlier run; ``generated`` were asked now.
    ``raw_questions`` is how many questions the LLM wrote (before the quality gate);
    ``dropped`` counts questions removed by the gate, by reason, with one of each reason in
    ``drop_examples``; ``cleaned`` counts kept questions whose source phrase ("According to
    the document, ...") the gate cut off; ``emptied`` counts chunks that lost all their
    questions to it (kept in the corpus, not asked again).
    ``unanswered`` chunks got answers with no question in them: the LLM worked, so they do
    not count as ``failed`` (a greedy model would answer the same again); a rerun asks them.
    ``follow_ups`` counts the follow-up requests sent for chunks whose answer held fewer
    usable questions than asked, and ``follow_up_questions`` the new questions they gave.
    """

    chunks: int = 0
    resumed: int = 0
    skipped: int = 0
    generated: int = 0
    failed: int = 0
    short: int = 0
    questions: int = 0
    llm_calls: int = 0
    failed_node_ids: list[str] = field(default_factory=list)
    unanswered: int = 0
    dropped: dict[str, int] = field(default_factory=dict)
    emptied: int = 0
    raw_questions: int = 0
    cleaned: int = 0
    drop_examples: dict[str, str] = field(default_factory=dict)
    appended: int = 0
    first_error: str | None = None
    follow_ups: int = 0
    follow_up_questions: int = 0


def gate_summary(report: GenerationReport, journal: object = None) -> str:
    """What the quality gate dropped and how to keep it: shared by the error raised when it
    kept nothing and the warning when it dropped more than half.

    Example::

        gate_summary(report, "train.json.journal.jsonl")
        # "the quality gate dropped 40 of 40 questions (40 about_the_source; e.g. ..."
    """
    dropped = sum(report.dropped.values())
    reasons = ", ".join(f"{n} {why}" for why, n in report.dropped.items())
    why, example = next(iter(report.drop_examples.items()), (None, None))
    shown = f"; e.g. {why}: {example!r}" if example is not None else ""
    if journal is not None:
        cost = f"the raw questions are kept in {journal}, so nothing is asked of the LLM again"
    else:
        cost = "with output_path set, the raw questions are kept and nothing is asked again"
    off = "quality_filter=False (CLI: --no-quality-filter)"
    if "round_trip" in report.dropped:
        off += ", or without the round trip (round_trip_model=None)"
    return (
        f"the quality gate dropped {dropped} of {report.raw_questions} questions "
        f"({reasons}{shown}). If those questions look good to you, rerun with {off}: {cost}"
    )


def question_id(node_id: str, position: int) -> str:
    """A query id that is the same on every run for the same node and position."""
    return str(uuid.uuid5(_QUESTION_ID_NAMESPACE, f"{node_id}\x1f{position}"))
