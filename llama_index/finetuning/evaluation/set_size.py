"""When a question set is too small to tell two models apart, and how a result says so.

Example::

    from llama_index.finetuning.evaluation.set_size import small_set_notice, too_small

    too_small(12)         # True
    small_set_notice(12)  # "12 questions are too few to tell two models apart (20 needed)..."

The guard uses the same minimum for a hold-out of the training pairs
(``selection.MIN_HOLDOUT_QUESTIONS``). Nothing here imports numpy: the CLI reads it at start-up.
"""

from __future__ import annotations

#: Below this many questions a comparison of two models is mostly noise: the standard error
#: of a mean NDCG@10 difference over n questions is ~0.3/sqrt(n), so under 20 questions a
#: gain the size of a finetuning's (+0.03) is a small part of it.
MIN_QUESTIONS = 20


def too_small(n_questions: int) -> bool:
    """True when ``n_questions`` cannot tell two models apart (fewer than :data:`MIN_QUESTIONS`)."""
    return n_questions < MIN_QUESTIONS


def small_set_notice(n_questions: int) -> str | None:
    """The sentence a result carries when its set is too small; None otherwise.

    Example::

        small_set_notice(3)    # '3 questions are too few to tell two models apart (20 needed): ...'
        small_set_notice(50)   # None
    """
    if not too_small(n_questions):
        return None
    return (
        f"{n_questions} question{'s are' if n_questions != 1 else ' is'} too few to tell two "
        f"models apart ({MIN_QUESTIONS} needed): a difference here is mostly noise"
    )


class SmallSetWarning(UserWarning):
    """An evaluation on too few questions to tell two models apart (:data:`MIN_QUESTIONS`).

    Example::

        import warnings
        warnings.simplefilter("error", SmallSetWarning)   # make a too-small set an error
    """


def warn_if_small(n_questions: int, stacklevel: int = 3) -> None:
    """Warn (:class:`SmallSetWarning`) when ``n_questions`` is too few; ``stacklevel`` names
    the caller's line (default: the caller of the public function that calls this)."""
    import warnings

    notice = small_set_notice(n_questions)
    if notice:
        warnings.warn(f"this set is too small: {notice}", SmallSetWarning, stacklevel=stacklevel)
