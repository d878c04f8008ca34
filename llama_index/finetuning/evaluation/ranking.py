"""Exact top-k by cosine similarity over a matrix product, in bounded memory.

Example::

    import numpy as np
    from llama_index.finetuning.evaluation.ranking import exact_top_k

    queries = np.array([[1.0, 0.0], [0.0, 1.0]])
    corpus = np.array([[1.0, 0.1], [0.2, 1.0], [1.0, 0.1]])
    idx, scores = exact_top_k(queries, corpus, k=2)
    idx        # array([[0, 2], [1, 0]]): the tie between rows 0 and 2 goes to the lower index

Ties are broken by ascending corpus position, so a caller that sorts its corpus by id first
(or passes that order as ``order=``) gets sentence-transformers' order (``-score``, then
``corpus_id``) and the same metrics.

The corpus is read block by block: each block is normalised (a float32 copy of that block
only), scored against a block of queries, and merged into a running top-k per query. A
block's cells that cannot enter the running top-k are dropped by one comparison, so after
the first blocks the cost is the matrix product itself. Memory beyond the inputs: one
similarity block (``block_cells`` float32 cells), one normalised corpus block and the
(n_queries, k) results; never a queries x corpus matrix or a second copy of the corpus.
"""

from __future__ import annotations

import numpy as np

# float32 cells per similarity block: 2**22 cells = 16 MiB (measured: no slower than 64 MiB
# blocks, and the first block's argpartition temporaries stay small)
_BLOCK_CELLS = 1 << 22
# queries scored at once against a corpus block (the block then has block_cells // this rows)
_QUERY_ROWS = 1024
_NO_ROW = np.iinfo(np.int64).max


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


def _candidates(
    sims: np.ndarray, floor: np.ndarray, k: int, offset: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per row, the (at most k) best cells of ``sims`` strictly above ``floor`` (column +
    ``offset``), padded with
    ``(_NO_ROW, -inf)``. Earlier blocks hold lower positions, so a cell equal to the running
    k-th score can never displace it."""
    above = sims > floor
    counts = above.sum(axis=1)
    idx = np.full((len(sims), k), _NO_ROW, dtype=np.int64)
    vals = np.full((len(sims), k), -np.inf, dtype=np.float32)
    many = counts > k
    if many.any():
        block_idx, vals[many] = _block_top_k(sims[many], k)
        idx[many] = block_idx + offset
    few = np.flatnonzero((counts > 0) & ~many)
    if few.size:
        rows, cols = np.nonzero(above[few])  # row-major: each row's cells in column order
        slot = np.arange(len(rows)) - np.repeat(np.cumsum(counts[few]) - counts[few], counts[few])
        idx[few[rows], slot] = cols + offset
        vals[few[rows], slot] = sims[few[rows], cols]
    return idx, vals


def exact_top_k(
    query_embeddings: np.ndarray,
    corpus_embeddings: np.ndarray,
    k: int,
    normalize: bool = True,
    block_cells: int | None = None,
    order: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The k most similar corpus rows for each query row, best first.

    Args:
        query_embeddings: (n_queries, d).
        corpus_embeddings: (n_corpus, d); read block by block, never copied whole.
        k: results per query (at most n_corpus are returned).
        normalize: scale rows to unit length first, so scores are cosine similarities.
        block_cells: at most this many similarities are held at once (default 2**22).
        order: corpus rows in the order to rank them by (positions in ``order`` are
            returned, and ties go to the lower position); default: as they are.

    Returns:
        ``(indices, scores)``, both (n_queries, min(k, n_corpus)).
    """
    block_cells = block_cells or _BLOCK_CELLS
    q = normalize_rows(query_embeddings) if normalize else np.asarray(query_embeddings, np.float32)
    n = corpus_embeddings.shape[0] if order is None else len(order)
    k = min(k, n)
    top_idx = np.full((q.shape[0], k), _NO_ROW, dtype=np.int64)
    top_vals = np.full((q.shape[0], k), -np.inf, dtype=np.float32)
    if k == 0 or q.shape[0] == 0:
        return top_idx, top_vals
    q_rows = max(1, min(q.shape[0], _QUERY_ROWS, block_cells))
    c_rows = max(1, min(n, block_cells // q_rows))
    for start in range(0, n, c_rows):
        rows = slice(start, start + c_rows)
        block = corpus_embeddings[rows] if order is None else corpus_embeddings[order[rows]]
        block = normalize_rows(block) if normalize else np.asarray(block, np.float32)
        for q_start in range(0, q.shape[0], q_rows):
            qs = slice(q_start, q_start + q_rows)
            sims = q[qs] @ block.T
            idx, vals = _candidates(sims, top_vals[qs, -1:], k, start)
            merged_idx = np.concatenate([top_idx[qs], idx], axis=1)
            merged_vals = np.concatenate([top_vals[qs], vals], axis=1)
            top_idx[qs], top_vals[qs] = (a[:, :k] for a in _order_rows(merged_idx, merged_vals))
    if (top_idx == _NO_ROW).any():  # only a NaN score is never above -inf
        raise ValueError("the embeddings contain NaN values: check the model that made them")
    return top_idx, top_vals
