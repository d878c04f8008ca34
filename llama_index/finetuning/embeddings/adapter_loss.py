"""The adapter engine's loss on embedding tensors: relevant pairs, hard negatives, ranking loss.

Example::

    import torch
    from llama_index.embeddings.adapter import LinearLayer
    from llama_index.finetuning import EmbeddingQAFinetuneDataset
    from llama_index.finetuning.embeddings.adapter_loss import (
        RelevantPairs, mine_negatives, ranking_loss,
    )

    ds = EmbeddingQAFinetuneDataset(
        queries={"q0": "a", "q1": "b"}, corpus={"c0": "x", "c1": "y", "c2": "z"},
        relevant_docs={"q0": ["c0"], "q1": ["c1"]},
    )
    queries, corpus = torch.rand(2, 8), torch.rand(3, 8)    # the cached embeddings' rows
    pairs = RelevantPairs.from_dataset(ds)                  # (query row, chunk row) tensors
    negatives = mine_negatives(queries, corpus, pairs, n=1)  # (n_queries, 1) chunk rows
    loss = ranking_loss(LinearLayer(8, 8), queries, corpus, pairs, torch.arange(2), negatives)

Rows index ``dataset.queries`` / ``dataset.corpus`` in their order, as the embedding matrices
do. The loss is sentence-transformers' ``MultipleNegativesRankingLoss`` (cross-entropy over
scaled cosine similarities, in-batch negatives) applied to ``adapter(query)``; that class
needs a SentenceTransformer to embed texts, and here the texts are embedded already.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from sentence_transformers.util import cos_sim, semantic_search
from torch import Tensor, nn

from ..dataset import EmbeddingQAFinetuneDataset

# A candidate negative scoring above this share of the query's positive is skipped as a
# probable unlabelled positive (the NV-Retriever "TopK-PercPos" rule, as in negatives.py).
FALSE_NEGATIVE_RATIO = 0.95


@dataclass
class RelevantPairs:
    """Every (query row, chunk row) pair judged relevant, and a lookup of them.

    Example::

        pairs = RelevantPairs.from_dataset(ds)   # ds: an EmbeddingQAFinetuneDataset
        pairs.query.tolist(), pairs.chunk.tolist()   # ([0, 1], [0, 1]): rows of the matrices
    """

    query: Tensor
    chunk: Tensor
    n_chunks: int

    @classmethod
    def from_dataset(cls, ds: EmbeddingQAFinetuneDataset) -> RelevantPairs:
        """Ids with the same text share the row of the first of them (same embedding), so a
        question asked of two chunks has both as positives, and never one as a negative."""
        q_row = _first_row_of_text(ds.queries)
        c_row = _first_row_of_text(ds.corpus)
        pairs = [(q_row[q], c_row[d]) for q in ds.queries for d in ds.relevant_docs[q]]
        query, chunk = torch.tensor(pairs, dtype=torch.long).unbind(1)
        return cls(query, chunk, len(ds.corpus))

    def to(self, device: torch.device) -> RelevantPairs:
        return RelevantPairs(self.query.to(device), self.chunk.to(device), self.n_chunks)

    def __len__(self) -> int:
        return len(self.query)

    def codes(self) -> Tensor:
        return self.query * self.n_chunks + self.chunk

    def is_relevant(self, query_rows: Tensor, chunk_rows: Tensor, codes: Tensor) -> Tensor:
        """``[i, j]``: chunk ``chunk_rows[j]`` is relevant to query ``query_rows[i]``."""
        return torch.isin(query_rows[:, None] * self.n_chunks + chunk_rows[None, :], codes)


def _first_row_of_text(texts: dict[str, str]) -> dict[str, int]:
    first: dict[str, int] = {}
    return {key: first.setdefault(text, i) for i, (key, text) in enumerate(texts.items())}


def mine_negatives(queries: Tensor, corpus: Tensor, pairs: RelevantPairs, n: int) -> Tensor | None:
    """``(n_queries, n)`` chunk rows: the chunks most similar to each query that are not relevant.

    Example::

        negatives = mine_negatives(queries, corpus, RelevantPairs.from_dataset(ds), n=3)

    Mined once, with the base embeddings. A query with fewer than ``n`` candidates repeats its
    last one, or gets -1 (masked out of the loss) when it has none.
    """
    if n == 0:
        return None
    relevant: list[set[int]] = [set() for _ in range(len(queries))]
    for q, c in zip(pairs.query.tolist(), pairs.chunk.tolist(), strict=True):
        relevant[q].add(c)
    depth = min(len(corpus), 3 * n + max(len(r) for r in relevant))
    negatives = torch.full((len(queries), n), -1, dtype=torch.long)
    for row, ranked in enumerate(semantic_search(queries, corpus, top_k=depth)):
        positive = [h["score"] for h in ranked if h["corpus_id"] in relevant[row]]
        ceiling = FALSE_NEGATIVE_RATIO * max(positive) if positive else float("inf")
        chosen = [
            h["corpus_id"]
            for h in ranked
            if h["corpus_id"] not in relevant[row] and h["score"] < ceiling
        ][:n]
        if chosen:
            negatives[row] = torch.tensor(chosen + chosen[-1:] * (n - len(chosen)))
    return negatives


def ranking_loss(
    adapter: nn.Module,
    queries: Tensor,
    corpus: Tensor,
    pairs: RelevantPairs,
    batch: Tensor,
    negatives: Tensor | None = None,
    codes: Tensor | None = None,
    scale: float = 20.0,
    transform_text: bool = False,
) -> Tensor:
    """Multiple-negatives ranking loss of the pairs ``batch`` (indices into ``pairs``).

    Example::

        loss = ranking_loss(adapter, queries, corpus, pairs, torch.arange(10), negatives)
        loss.backward()

    Each query's candidates are the batch's chunks plus every hard negative of the batch. A
    candidate that is relevant to the query (other than its own pair's chunk) is masked out
    rather than pushed away: generated datasets often have two questions on one chunk.
    """
    q_rows, c_rows = pairs.query[batch], pairs.chunk[batch]
    columns = c_rows if negatives is None else torch.cat([c_rows, negatives[q_rows].flatten()])
    docs = corpus[columns.clamp(min=0)]
    if transform_text:
        docs = adapter(docs)
    logits = cos_sim(adapter(queries[q_rows]), docs) * scale
    codes = pairs.codes() if codes is None else codes
    masked = pairs.is_relevant(q_rows, columns, codes) | (columns[None, :] < 0)
    diagonal = torch.arange(len(batch), device=logits.device)
    masked[diagonal, diagonal] = False
    logits = logits.masked_fill(masked, float("-inf"))
    return F.cross_entropy(logits, diagonal)
