"""Retrieval metrics from ranked ids: hit rate, MRR, NDCG, recall, precision and MAP at k.

Example::

    from llama_index.finetuning.evaluation import metrics

    rel = metrics.relevance(
        retrieved_ids=[["a", "x", "b"], ["y", "z", "w"]],
        relevant_ids=[{"a", "b"}, {"q"}],
    )
    metrics.mrr(rel, k=3)          # array([1., 0.])  (nothing found scores 0)
    metrics.ndcg(rel, k=3)         # array([0.9197..., 0.])
    metrics.score(rel, top_k=[1, 3])["hit_rate@3"]   # 0.5

Everything works on a :class:`Relevance`: for each query, which of its ranked results are
relevant (a boolean matrix) and how many relevant documents it has. Each metric function
returns one score per query; :func:`score` averages them into ``{"<metric>@<k>": value}``.
This is the project's only implementation of these metrics: the fast embedding path, the
retriever path and the training engines' validation all call it.

Definitions (binary relevance, ranks counted from 1, ``R`` = number of relevant documents):

- ``hit_rate@k``: 1 if any of the first k results is relevant.
- ``mrr@k``: 1 / rank of the first relevant result within the first k, else 0.
- ``ndcg@k``: DCG of the first k results over the ideal DCG of ``min(R, k)`` relevant
  documents at the top, with gain ``1 / log2(rank + 1)``.
- ``recall@k``: relevant results in the first k, over R.
- ``precision@k``: relevant results in the first k, over k (a list shorter than k counts
  the missing places as misses).
- ``map@k``: the sum of precision@i at each relevant rank i <= k, over ``min(R, k)``.

These are the definitions of sentence-transformers' ``InformationRetrievalEvaluator``.
llama-index-core's ``NDCG`` does not cut the ideal DCG at k, its ``Precision`` divides by
the number of results returned, and its ``AveragePrecision`` divides by R; its ``HitRate``
and ``MRR`` agree with these.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np

__all__ = [
    "METRICS",
    "DEFAULT_METRICS",
    "Relevance",
    "relevance",
    "hit_rate",
    "mrr",
    "ndcg",
    "recall",
    "precision",
    "map_at_k",
    "first_hit_rank",
    "score",
    "per_query_scores",
    "normalize_top_k",
    "normalize_metrics",
]


@dataclass(frozen=True)
class Relevance:
    """Which ranked results are relevant, per query.

    Attributes:
        hits: boolean array (n_queries, depth): ``hits[i, j]`` is True when the result at
            rank ``j + 1`` for query ``i`` is one of its relevant documents. Lists shorter
            than ``depth`` are padded with False.
        n_relevant: int array (n_queries,): how many relevant documents each query has.
    """

    hits: np.ndarray
    n_relevant: np.ndarray

    def __post_init__(self) -> None:
        if self.hits.ndim != 2 or self.n_relevant.shape != (self.hits.shape[0],):
            raise ValueError(
                f"hits must be (n_queries, depth) and n_relevant (n_queries,), got "
                f"{self.hits.shape} and {self.n_relevant.shape}"
            )
        if (self.n_relevant < 1).any():
            bad = np.flatnonzero(self.n_relevant < 1)[:5].tolist()
            raise ValueError(
                f"every query needs at least one relevant document; queries {bad} have none"
            )

    @property
    def depth(self) -> int:
        return self.hits.shape[1]

    def _cut(self, k: int) -> np.ndarray:
        """The first k columns, padded with misses when the ranking is shorter than k."""
        if k < 1:
            raise ValueError(f"k must be a positive integer, got {k}")
        hits = self.hits[:, :k].astype(np.float64)
        if hits.shape[1] < k:
            hits = np.pad(hits, ((0, 0), (0, k - hits.shape[1])))
        return hits


def relevance(
    retrieved_ids: Sequence[Sequence[str]],
    relevant_ids: Sequence[Iterable[str]],
    depth: int | None = None,
) -> Relevance:
    """Mark each ranked result as relevant or not.

    Args:
        retrieved_ids: for each query, result ids best first.
        relevant_ids: for each query, the ids of its relevant documents.
        depth: how many ranks to keep (default: the longest list).
    """
    if len(retrieved_ids) != len(relevant_ids):
        raise ValueError(
            f"{len(retrieved_ids)} ranked lists but {len(relevant_ids)} relevant-id sets: "
            "pass one of each per query"
        )
    relevant_sets = [set(r) for r in relevant_ids]
    if depth is None:
        depth = max((len(r) for r in retrieved_ids), default=0)
    hits = np.zeros((len(retrieved_ids), depth), dtype=bool)
    for i, (ranked, rel) in enumerate(zip(retrieved_ids, relevant_sets, strict=True)):
        for j, doc_id in enumerate(ranked[:depth]):
            hits[i, j] = doc_id in rel
    n_relevant = np.array([len(r) for r in relevant_sets], dtype=np.int64)
    return Relevance(hits=hits, n_relevant=n_relevant)


def _discounts(k: int) -> np.ndarray:
    return 1.0 / np.log2(np.arange(2, k + 2, dtype=np.float64))


def hit_rate(rel: Relevance, k: int) -> np.ndarray:
    """1.0 where a relevant document is in the first k results, else 0.0."""
    return rel._cut(k).max(axis=1, initial=0.0)


def first_hit_rank(rel: Relevance) -> np.ndarray:
    """Rank (from 1) of the first relevant result within ``rel.depth``; 0 where there is none."""
    found = rel.hits.any(axis=1)
    return np.where(found, rel.hits.argmax(axis=1) + 1, 0)


def mrr(rel: Relevance, k: int) -> np.ndarray:
    """1 / rank of the first relevant result within the first k, else 0."""
    hits = rel._cut(k)
    found = hits.any(axis=1)
    return np.where(found, 1.0 / (hits.argmax(axis=1) + 1), 0.0)


def ndcg(rel: Relevance, k: int) -> np.ndarray:
    """Binary-relevance NDCG@k; the ideal ranking puts ``min(R, k)`` relevant documents first."""
    discounts = _discounts(k)
    dcg = rel._cut(k) @ discounts
    ideal = np.cumsum(discounts)[np.minimum(rel.n_relevant, k) - 1]
    return dcg / ideal


def recall(rel: Relevance, k: int) -> np.ndarray:
    """Share of the relevant documents found in the first k results."""
    return rel._cut(k).sum(axis=1) / rel.n_relevant


def precision(rel: Relevance, k: int) -> np.ndarray:
    """Share of the first k places holding a relevant document."""
    return rel._cut(k).sum(axis=1) / k


def map_at_k(rel: Relevance, k: int) -> np.ndarray:
    """Average precision over the first k results, normalised by ``min(R, k)``."""
    hits = rel._cut(k)
    precision_at_i = np.cumsum(hits, axis=1) / np.arange(1, k + 1)
    return (precision_at_i * hits).sum(axis=1) / np.minimum(rel.n_relevant, k)


METRICS: dict[str, Callable[[Relevance, int], np.ndarray]] = {
    "hit_rate": hit_rate,
    "mrr": mrr,
    "ndcg": ndcg,
    "recall": recall,
    "precision": precision,
    "map": map_at_k,
}
DEFAULT_METRICS = tuple(METRICS)


def normalize_top_k(top_k: int | Iterable[int]) -> list[int]:
    """``10`` or ``[1, 5, 10]`` -> sorted unique list of positive ints."""
    ks = [top_k] if isinstance(top_k, (int, np.integer)) else list(top_k)
    if not ks or any(
        not isinstance(k, (int, np.integer)) or isinstance(k, bool) or k < 1 for k in ks
    ):
        raise ValueError(f"top_k must be a positive int or a list of them, got {top_k!r}")
    return sorted({int(k) for k in ks})


def normalize_metrics(metrics: str | Iterable[str] | None) -> list[str]:
    """``None`` -> every metric; otherwise the names, checked against :data:`METRICS`."""
    if metrics is None:
        return list(DEFAULT_METRICS)
    names = [metrics] if isinstance(metrics, str) else list(metrics)
    unknown = [m for m in names if m not in METRICS]
    if unknown or not names:
        raise ValueError(f"unknown metric(s) {unknown or names!r}: choose from {list(METRICS)}")
    return list(dict.fromkeys(names))


def per_query_scores(
    rel: Relevance, top_k: int | Iterable[int] = 10, metrics: Iterable[str] | None = None
) -> dict[str, np.ndarray]:
    """``{"<metric>@<k>": per-query scores}`` for every metric and k."""
    ks = normalize_top_k(top_k)
    return {f"{m}@{k}": METRICS[m](rel, k) for m in normalize_metrics(metrics) for k in ks}


def score(
    rel: Relevance, top_k: int | Iterable[int] = 10, metrics: Iterable[str] | None = None
) -> dict[str, float]:
    """``{"<metric>@<k>": mean over queries}`` for every metric and k (0.0 for no queries)."""
    return {
        name: float(values.mean()) if values.size else 0.0
        for name, values in per_query_scores(rel, top_k, metrics).items()
    }
