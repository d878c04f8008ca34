"""Exact top-k by cosine similarity over a matrix product, in bounded memory.

Example::

    import numpy as np
    from llama_index.finetuning.evaluation.ranking import exact_top_k

    queries = np.array([[1.0, 0.0], [0.0, 1.0]])
    corpus = np.array([[1.0, 0.1], [0.2, 1.0], [1.0, 0.1]])
    idx, scores = exact_top_k(queries, corpus, k=2)
    idx        # array([[0, 2], [1, 0]]): the tie between rows 0 and 2 goes to the lower index

Ties are broken by ascending corpus position, so a caller that sorts its corpus by id first
gets sentence-transformers' order (``-score``, then ``corpus_id``) and the same metrics.
"""

from __future__ import annotations

import numpy as np

# float32 cells per similarity block: 2**24 cells = 64 MiB
_BLOCK_CELLS = 1 << 24


def normalize_rows(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (all-zero rows stay zero), as float32."""
    x = np.asarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.maximum(norms, np.finfo(np.float32).tiny)


def _order_rows(idx: np.ndarray, vals: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sort each row by (-score, index)."""
    order = np.lexsort((idx, -vals), axis=1)
    return np.take_along_axis(idx, order, 1), np.take_along_axis(vals, order, 1)


def _block_top_k(sims: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    n = sims.shape[1]
    if k >= n:
        idx = np.broadcast_to(np.arange(n), sims.shape).copy()
        return _order_rows(idx, sims)
    idx = np.argpartition(-sims, k - 1, axis=1)[:, :k]
    vals = np.take_along_axis(sims, idx, 1)
    # argpartition picks arbitrarily among scores equal to the k-th: redo those rows so that
    # the lowest indices win, whatever the block size
    threshold = vals.min(axis=1, keepdims=True)
    for row in np.flatnonzero((sims >= threshold).sum(axis=1) > k):
        cand = np.flatnonzero(sims[row] >= threshold[row, 0])
        keep = cand[np.lexsort((cand, -sims[row, cand]))[:k]]
        idx[row], vals[row] = keep, sims[row, keep]
    return _order_rows(idx, vals)


def exact_top_k(
    query_embeddings: np.ndarray,
    corpus_embeddings: np.ndarray,
    k: int,
    normalize: bool = True,
    block_cells: int = _BLOCK_CELLS,
) -> tuple[np.ndarray, np.ndarray]:
    """The k most similar corpus rows for each query row, best first.

    Args:
        query_embeddings: (n_queries, d).
        corpus_embeddings: (n_corpus, d).
        k: results per query (at most n_corpus are returned).
        normalize: scale rows to unit length first, so scores are cosine similarities.
        block_cells: at most this many similarities are held at once; queries are
            processed in blocks of ``block_cells // n_corpus`` rows.

    Returns:
        ``(indices, scores)``, both (n_queries, min(k, n_corpus)).
    """
    q = normalize_rows(query_embeddings) if normalize else np.asarray(query_embeddings, np.float32)
    c = (
        normalize_rows(corpus_embeddings)
        if normalize
        else np.asarray(corpus_embeddings, np.float32)
    )
    k = min(k, c.shape[0])
    rows = max(1, block_cells // max(1, c.shape[0]))
    all_idx = np.empty((q.shape[0], k), dtype=np.int64)
    all_vals = np.empty((q.shape[0], k), dtype=np.float32)
    for start in range(0, q.shape[0], rows):
        sims = q[start : start + rows] @ c.T
        all_idx[start : start + rows], all_vals[start : start + rows] = _block_top_k(sims, k)
    return all_idx, all_vals
