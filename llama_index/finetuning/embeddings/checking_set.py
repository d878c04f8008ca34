"""The checking set: the questions that choose the saved model and check it against the base.

Example::

    from llama_index.finetuning.embeddings.checking_set import split_for_checking

    split = split_for_checking(train_dataset, val_dataset=None, holdout=0.2, seed=0)
    split.source        # "holdout": 20% of the chunks (with their questions) held out
    split.train         # what training reads: the other chunks and their questions
    split.val           # what chooses the checkpoint and is compared with the base model

One word for it everywhere (code, logs, cards, docs): the *checking set*. ``val_dataset``
(the tutorials' name) is the checking set a user gives; ``holdout`` makes one from the
training pairs; ``FinetuneResult.checked_by`` says which, ``selected_on`` describes it.
Both engines train, then keep the trained model only if it scores above the base model on
``split.val`` (NDCG@10 for sentence-transformers, ``val_metric`` for adapters); else they
save the base model (an identity adapter) and say so. A validation set the user gives is
that set. Without one, a part of the training pairs is held out **by chunk** (no held-out
chunk is trained on), with the whole corpus as the search space. Synthetic questions judge
the model with the same writer's eyes that trained it: the hold-out catches a training that
broke retrieval, not one that learned a writer's habits; a human-written validation set is
the better judge. When the data are too small for a hold-out that can tell two models
apart (:data:`MIN_HOLDOUT_QUESTIONS`), training uses all pairs and the result says that
nothing checked it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..evaluation.set_size import MIN_QUESTIONS

if TYPE_CHECKING:  # the CLI reads DEFAULT_HOLDOUT at start-up: no pydantic for --help
    from ..dataset import EmbeddingQAFinetuneDataset

#: Share of the training chunks the adapter engine holds out to check the result when no
#: validation set is given (``holdout=`` asks the same of the sentence-transformers engine).
DEFAULT_HOLDOUT = 0.2
#: The sentence-transformers engine holds nothing out by default: on the bundled writer's 10-K
#: pairs a synthetic hold-out cost more NDCG@10 on human questions (training pairs it took,
#: a checkpoint and merge it chose with the writer's eyes) than it caught, and its evaluations
#: cost a third or more of the run (benchmarks/results/guard_cost.md). A ``val_dataset``
#: of questions people wrote checks the result; ``holdout=0.2`` brings the hold-out back.
DEFAULT_FINETUNE_HOLDOUT = 0.0
#: Below this many held-out questions a comparison with the base model is mostly noise
#: (the standard error of a mean NDCG@10 difference over n questions is ~0.3/sqrt(n)):
#: no hold-out is made, and the result says that nothing checked it. A given checking set
#: under it is used, and the result says it is too small (:mod:`..evaluation.set_size`).
MIN_HOLDOUT_QUESTIONS = MIN_QUESTIONS
#: A hold-out stops growing at about this many questions (standard error ~0.3/sqrt(150) =
#: 0.025): more would tell the two models apart little better, and its chunks go to training.
MAX_HOLDOUT_QUESTIONS = 150


@dataclass(frozen=True)
class CheckingSplit:
    """What trains, what checks, and how the checking set came about.

    Attributes:
        train: the pairs training reads.
        val: the set that chooses the checkpoint or epoch and is compared with the base
            model; ``None`` when nothing checks the result.
        source: ``"val_dataset"`` (given), ``"holdout"`` (held out of the training pairs)
            or ``"none"``.
        description: the checking set in words, for logs, results and model cards.
        unchecked_reason: why nothing checks the result (``source == "none"``).
        held_share: the share of the chunks held out (``source == "holdout"``): the
            ``holdout`` asked for, or less when that would hold out more than
            :data:`MAX_HOLDOUT_QUESTIONS` questions.
    """

    train: EmbeddingQAFinetuneDataset
    val: EmbeddingQAFinetuneDataset | None
    source: str
    description: str | None = None
    unchecked_reason: str | None = None
    held_share: float | None = None


def describe_set(dataset: Any) -> str | None:
    """``"val_dataset (49 questions, searched among 40 chunks)"`` or None."""
    if dataset is None:
        return None
    n_queries, n_chunks = len(dataset.queries), len(dataset.corpus)
    return f"val_dataset ({n_queries} questions, searched among {n_chunks} chunks)"


def describe_checking_set(split: CheckingSplit, holdout: float) -> str:
    """How a model card names what checked the result."""
    return {
        "val_dataset": "the given val_dataset",
        "holdout": f"a hold-out of {split.held_share or holdout:.0%} of the training chunks",
    }.get(split.source, "none")


def answer_chunks(dataset: EmbeddingQAFinetuneDataset) -> set[str]:
    return {d for docs in dataset.relevant_docs.values() for d in docs}


def check_holdout(holdout: Any) -> float:
    if isinstance(holdout, bool) or not isinstance(holdout, (int, float)) or not 0 <= holdout < 1:
        raise ValueError(
            f"holdout must be a share from 0 (no hold-out) to below 1, got {holdout!r}"
        )
    return float(holdout)


def split_for_checking(
    dataset: EmbeddingQAFinetuneDataset,
    val_dataset: EmbeddingQAFinetuneDataset | None,
    holdout: float = DEFAULT_HOLDOUT,
    seed: int = 0,
    search_space: str = "corpus",
    corpus: dict[str, str] | None = None,
) -> CheckingSplit:
    """The :class:`CheckingSplit` of an engine run.

    Args:
        dataset: the training pairs.
        val_dataset: the user's validation set; when given, it checks and nothing is held out.
        holdout: without ``val_dataset``, the share of the answer chunks held out (with all
            their questions), at most about :data:`MAX_HOLDOUT_QUESTIONS` questions' worth;
            0 holds nothing out.
        seed: the seed of the split.
        search_space: what the held-out questions search: ``"corpus"`` (the whole corpus,
            distractors included) or ``"answers"`` (every chunk that answers a question: for
            the adapter engine, which embeds only those unless it mines hard negatives).
        corpus: ``{chunk id: text}`` the checking set is searched among as well as its own
            chunks (the engines' ``corpus=``: what the user's index holds).
    """
    if val_dataset is not None:
        if corpus:
            val_dataset = val_dataset.with_corpus(corpus)
        return CheckingSplit(dataset, val_dataset, "val_dataset", describe_set(val_dataset))
    if not holdout:
        return CheckingSplit(
            dataset, None, "none",
            unchecked_reason=(
                "no validation set was given and nothing was held out (holdout=0): pass "
                "val_dataset, questions people wrote, to check it against the base model"
            ),
        )  # fmt: skip
    answers = answer_chunks(dataset)
    share = min(holdout, MAX_HOLDOUT_QUESTIONS / max(1, len(dataset.queries)))
    try:
        train, held = dataset.split(share, seed=seed)
    except ValueError as e:  # one chunk, or every chunk tied to the others by a question
        train, held, why = dataset, None, str(e)
    if held is None or len(held.queries) < MIN_HOLDOUT_QUESTIONS:
        n = 0 if held is None else len(held.queries)
        reason = (
            f"no validation set was given, and a {holdout:.0%} hold-out of the {len(answers)} "
            f"training chunks would hold {n} questions ({MIN_HOLDOUT_QUESTIONS} are needed to "
            "tell the finetuned model from the base model)"
        )
        if held is None:
            reason += f": {why}"
        return CheckingSplit(dataset, None, "none", unchecked_reason=reason)
    held_chunks = answer_chunks(held)
    train.corpus = {d: t for d, t in dataset.corpus.items() if d not in held_chunks}
    if search_space == "answers":
        held.corpus = {d: t for d, t in dataset.corpus.items() if d in answers}
    else:
        held.corpus = dict(dataset.corpus)
    if corpus:
        held = held.with_corpus(corpus)
    description = (
        f"a hold-out of the training pairs ({len(held.queries)} questions on "
        f"{len(held_chunks)} of {len(answers)} chunks, never trained on; searched among "
        f"{len(held.corpus)} chunks)"
    )
    return CheckingSplit(train, held, "holdout", description, held_share=share)
