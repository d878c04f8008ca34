"""Score precomputed embeddings, any embedding model, or any LlamaIndex retriever on a dataset.

Example::

    from llama_index.finetuning import EmbeddingQAFinetuneDataset
    from llama_index.finetuning.evaluation import evaluate_embedding

    val = EmbeddingQAFinetuneDataset.from_json("val_dataset.json")
    result = evaluate_embedding(val, "local:exp_finetune", top_k=[1, 5, 10])
    print(result.summary)        # {"hit_rate@1": ..., "mrr@10": ..., "ndcg@10": ...}

The fast path embeds the corpus and the queries once each, in batches, and ranks with an
exact top-k over a matrix product (:func:`score_embeddings`). :func:`evaluate_retriever`
asks a retriever instead, one concurrent ``aretrieve`` per query.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..dataset import EmbeddingQAFinetuneDataset
from . import metrics as M
from .ranking import exact_top_k
from .result import EvaluationResult, build_result


def _as_matrix(x: Any, rows: int, what: str) -> np.ndarray:
    arr = np.asarray(x.detach().cpu().numpy() if hasattr(x, "detach") else x, dtype=np.float32)
    if arr.ndim != 2 or arr.shape[0] != rows:
        raise ValueError(
            f"{what} must be an array of shape ({rows}, dim), one row per entry in the "
            f"dataset's order; got shape {arr.shape}"
        )
    return arr


def score_embeddings(
    dataset: EmbeddingQAFinetuneDataset,
    query_embeddings: Any,
    corpus_embeddings: Any,
    top_k: int | Sequence[int] = 10,
    metrics: Sequence[str] | None = None,
    name: str = "model",
    info: dict[str, Any] | None = None,
) -> EvaluationResult:
    """Rank the corpus for every query by cosine similarity and score the rankings.

    Example::

        q = model.encode(list(val.queries.values()))
        c = model.encode(list(val.corpus.values()))
        score_embeddings(val, q, c, top_k=[1, 10]).summary["ndcg@10"]

    Args:
        dataset: the queries, corpus and relevance judgements.
        query_embeddings: (n_queries, dim) array (numpy, torch or nested lists) in
            ``dataset.queries`` order.
        corpus_embeddings: (n_corpus, dim) in ``dataset.corpus`` order.
        top_k: a k or a list of k: every metric is reported at each.
        metrics: names from :data:`.metrics.METRICS` (default: all).
        name: the label of the result.
        info: extra facts to record in ``result.info``.

    Ties in similarity are broken by ascending corpus id, as in sentence-transformers'
    ``InformationRetrievalEvaluator``.
    """
    ks = M.normalize_top_k(top_k)
    q = _as_matrix(query_embeddings, len(dataset.queries), "query_embeddings")
    c = _as_matrix(corpus_embeddings, len(dataset.corpus), "corpus_embeddings")
    if q.shape[1] != c.shape[1]:
        raise ValueError(
            f"query embeddings have dimension {q.shape[1]} but corpus embeddings {c.shape[1]}: "
            "embed both with the same model"
        )
    started = time.perf_counter()
    corpus_ids = list(dataset.corpus)
    by_id = sorted(range(len(corpus_ids)), key=corpus_ids.__getitem__)
    sorted_ids = np.array([corpus_ids[i] for i in by_id], dtype=object)
    idx, scores = exact_top_k(q, c[by_id], max(ks))
    retrieved = [list(row) for row in sorted_ids[idx]] if idx.size else [[] for _ in range(len(q))]
    info = {**(info or {}), "rank_seconds": round(time.perf_counter() - started, 4)}
    return build_result(dataset, retrieved, scores.tolist(), ks, metrics, name, info)
