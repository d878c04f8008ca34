"""Training rows from a dataset: (question, chunk) pairs, optionally with mined hard negatives.

Example::

    from llama_index.finetuning.embeddings.negatives import training_pairs, with_hard_negatives

    pairs = training_pairs(train_dataset)              # datasets.Dataset: anchor, positive
    rows = with_hard_negatives(pairs, train_dataset, model, num_negatives=3)
    rows.column_names  # ['anchor', 'positive', 'negative_1', 'negative_2', 'negative_3']

Mining uses sentence-transformers' ``mine_hard_negatives`` with the base model: for each
question it ranks every chunk of the corpus and keeps the best-scoring chunks that are

* not one of the question's relevant chunks (by id, and by text for duplicated chunks), and
* not *likely false negatives*: a chunk whose score is within ``relative_margin`` (5% by
  default) of the question's own positive score is skipped, because generated questions are
  often answered by neighbouring or overlapping chunks too (the NV-Retriever
  "TopK-PercPos" rule).

A question for which fewer than ``num_negatives`` chunks pass these rules gets the rest as
random chunks that are not its positives, so that every pair is still trained on.
"""

from __future__ import annotations

import inspect
import logging
import random
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..dataset import EmbeddingQAFinetuneDataset

if TYPE_CHECKING:  # pragma: no cover
    from datasets import Dataset
    from sentence_transformers import SentenceTransformer

logger = logging.getLogger(__name__)

ANCHOR, POSITIVE = "anchor", "positive"


def negative_columns(num_negatives: int) -> list[str]:
    return [f"negative_{i}" for i in range(1, num_negatives + 1)]


def training_pairs(dataset: EmbeddingQAFinetuneDataset, use_all_docs: bool = False) -> Dataset:
    """One ``(anchor, positive)`` row per question and its first relevant chunk.

    With ``use_all_docs=True``, one row per question and *each* of its relevant chunks (the
    meaning of ``use_all_docs`` in llama-index-finetuning 0.4).
    """
    from datasets import Dataset

    anchors, positives = [], []
    for qid, query in dataset.queries.items():
        doc_ids = dataset.relevant_docs[qid] if use_all_docs else dataset.relevant_docs[qid][:1]
        for doc_id in doc_ids:
            anchors.append(query)
            positives.append(dataset.corpus[doc_id])
    return Dataset.from_dict({ANCHOR: anchors, POSITIVE: positives})


def _positive_texts(dataset: EmbeddingQAFinetuneDataset) -> dict[str, set[str]]:
    """Question text -> texts of all chunks relevant to it (several ids may share a text)."""
    known: dict[str, set[str]] = {}
    for qid, query in dataset.queries.items():
        known.setdefault(query, set()).update(dataset.corpus[d] for d in dataset.relevant_docs[qid])
    return known


def with_hard_negatives(
    pairs: Dataset,
    dataset: EmbeddingQAFinetuneDataset,
    model: SentenceTransformer,
    num_negatives: int,
    relative_margin: float | None = 0.05,
    query_prompt: str = "",
    passage_prompt: str = "",
    batch_size: int = 32,
    seed: int = 0,
    verbose: bool = False,
    passage_vectors: dict[str, Any] | None = None,
) -> Dataset:
    """``pairs`` with ``num_negatives`` columns ``negative_1..N`` mined from ``dataset.corpus``.

    Args:
        pairs: rows from :func:`training_pairs` of the same ``dataset``.
        dataset: gives the candidate corpus (every chunk, with or without questions) and
            the positives to exclude (every relevant chunk of each question).
        model: the base model that ranks the candidates.
        relative_margin: skip candidates scoring above ``(1 - margin) * positive score``
            (likely false negatives); ``None`` keeps the top-ranked non-positives.
        passage_vectors: a dict to fill with ``{chunk text: its embedding}`` from the mining
            pass (with ``passage_prompt``), so that a later pass of the same model over
            these chunks (the checking candidates, :mod:`.candidates`) need not embed them again.

    Raises:
        ValueError: ``num_negatives`` is not positive, or the corpus has too few chunks.
    """
    from datasets import Dataset
    from sentence_transformers.util import mine_hard_negatives

    if num_negatives < 1:
        raise ValueError(
            f"hard_negatives must be a positive number of negatives, got {num_negatives}"
        )
    known = _positive_texts(dataset)
    corpus = list(dict.fromkeys(dataset.corpus.values()))
    most_positives = max(len(texts) for texts in known.values())
    if len(corpus) < most_positives + num_negatives:
        raise ValueError(
            f"hard_negatives={num_negatives} needs at least {most_positives + num_negatives} distinct "
            f"chunks in the training corpus, which has {len(corpus)}: lower hard_negatives or add chunks"
        )
    # every (question, relevant chunk) is given, so that no relevant chunk is mined as a negative
    all_pairs = Dataset.from_dict(
        {
            ANCHOR: [q for q, texts in known.items() for _ in texts],
            POSITIVE: [t for texts in known.values() for t in sorted(texts)],
        }
    )
    if "cache_folder" not in inspect.signature(mine_hard_negatives).parameters:
        passage_vectors = None  # an older sentence-transformers: the candidates embed their own
    with tempfile.TemporaryDirectory() as scratch:
        mined = mine_hard_negatives(
            all_pairs,
            model,
            anchor_column_name=ANCHOR,
            positive_column_name=POSITIVE,
            corpus=corpus,
            num_negatives=num_negatives,
            range_max=min(len(corpus), num_negatives * 10 + most_positives),
            relative_margin=relative_margin,
            sampling_strategy="top",
            query_prompt=query_prompt or None,
            corpus_prompt=passage_prompt or None,
            output_format="labeled-list",
            batch_size=batch_size,
            verbose=verbose,
            # the library saves what it embedded there, for passage_vectors to read back
            cache_folder=scratch if passage_vectors is not None else None,
        )
        if passage_vectors is not None:
            import numpy as np

            (saved,) = Path(scratch).glob("corpus_embeddings_*.npy")
            passage_vectors.update(zip(corpus, np.load(saved), strict=True))
    found: dict[str, list[str]] = {}
    for anchor, docs, labels in zip(mined[ANCHOR], mined[POSITIVE], mined["labels"], strict=True):
        negatives = [d for d, label in zip(docs, labels, strict=True) if label == 0]
        found.setdefault(anchor, negatives)

    rng = random.Random(seed)
    columns: dict[str, list[str]] = {c: [] for c in negative_columns(num_negatives)}
    padded = 0
    for anchor in pairs[ANCHOR]:
        negatives = [n for n in found.get(anchor, []) if n not in known[anchor]][:num_negatives]
        if len(negatives) < num_negatives:
            padded += 1
            taken = known[anchor] | set(negatives)
            pool = [c for c in corpus if c not in taken]
            negatives += rng.sample(pool, num_negatives - len(negatives))
        for column, text in zip(columns, negatives, strict=True):
            columns[column].append(text)
    if padded:
        logger.info(
            "%d of %d questions had fewer than %d mined negatives; filled with random chunks",
            padded,
            len(pairs),
            num_negatives,
        )
    return Dataset.from_dict({ANCHOR: pairs[ANCHOR], POSITIVE: pairs[POSITIVE], **columns})
