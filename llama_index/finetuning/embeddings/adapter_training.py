"""The adapter engine's training math, on embedding tensors: pairs, hard negatives, the loss.

Example::

    pairs = RelevantPairs.from_dataset(train_dataset)        # (query row, chunk row) tensors
    negatives = mine_negatives(queries, corpus, pairs, n=3)   # (n_queries, 3) chunk rows
    batch = torch.arange(10)
    loss = ranking_loss(adapter, queries, corpus, pairs, batch, negatives)

Rows index ``dataset.queries`` / ``dataset.corpus`` in their order, as the embedding matrices
do. The loss is sentence-transformers' ``MultipleNegativesRankingLoss`` (cross-entropy over
scaled cosine similarities, in-batch negatives) applied to ``adapter(query)``; that class
needs a SentenceTransformer to embed texts, and here the texts are embedded already.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from sentence_transformers.util import cos_sim, semantic_search
from torch import Tensor, nn

from ..dataset import EmbeddingQAFinetuneDataset

if TYPE_CHECKING:
    import numpy as np

    from llama_index.embeddings.adapter.utils import BaseAdapter

# A candidate negative scoring above this share of the query's positive is skipped as a
# probable unlabelled positive (the NV-Retriever "TopK-PercPos" rule, as in negatives.py).
FALSE_NEGATIVE_RATIO = 0.95


@dataclass
class RelevantPairs:
    """Every (query row, chunk row) pair judged relevant, and a lookup of them."""

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


def check_adapter_dims(
    adapter: nn.Module, base_dim: int, model_name: str, transform_text: bool
) -> None:
    """One clear error when ``adapter`` cannot take (or give back) the base model's embeddings."""
    from llama_index.embeddings.adapter.utils import adapter_dims

    in_dim, out_dim = adapter_dims(adapter)
    if in_dim is not None and in_dim != base_dim:
        raise ValueError(
            f"{type(adapter).__name__} takes {in_dim}-dim embeddings (in_features={in_dim}), "
            f"but the base model {model_name!r} returns {base_dim}-dim "
            f"embeddings: build the adapter with in_features={base_dim}"
        )
    if out_dim is not None and out_dim != base_dim and not transform_text:
        raise ValueError(
            f"{type(adapter).__name__} maps {base_dim} to {out_dim} dimensions, so chunks must "
            "pass through it too: pass transform_text=True"
        )


def check_adapter_settings(
    batch_size: int,
    epochs: int,
    checkpoint_save_steps: int,
    hard_negatives: int,
    warmup_ratio: float,
    val_metric: str,
) -> None:
    """One clear error naming the first adapter-engine setting that cannot work."""
    for name, value in (
        ("batch_size", batch_size),
        ("epochs", epochs),
        ("checkpoint_save_steps", checkpoint_save_steps),
    ):
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if hard_negatives < 0:
        raise ValueError(f"hard_negatives must be 0 or more, got {hard_negatives}")
    if not 0.0 <= warmup_ratio < 1.0:
        raise ValueError(f"warmup_ratio must be in [0, 1), got {warmup_ratio}")
    from ..evaluation.metrics import METRICS

    name, _, k = val_metric.partition("@")
    if name not in METRICS or not k.isdigit():
        raise ValueError(
            f"val_metric must look like 'ndcg@10': one of {sorted(METRICS)}, '@', a k; "
            f"got {val_metric!r}"
        )


def adapted(
    adapter: nn.Module, val: tuple[Tensor, Tensor], transform_text: bool
) -> tuple[np.ndarray, np.ndarray]:
    """The cached (query, corpus) embeddings through ``adapter`` (the corpus only with
    ``transform_text``), as numpy arrays; the adapter is left in training mode."""
    with torch.no_grad():
        adapter.eval()
        queries = adapter(val[0]).cpu().numpy()
        corpus = (adapter(val[1]) if transform_text else val[1]).cpu().numpy()
        adapter.train()
    return queries, corpus


def score_adapter(
    adapter: nn.Module,
    val: tuple[Tensor, Tensor],
    dataset: EmbeddingQAFinetuneDataset,
    val_metric: str,
    val_top_k: int | Sequence[int],
    transform_text: bool,
) -> dict[str, float]:
    """Retrieval metrics of ``adapter`` on the cached (query, corpus) embeddings of ``dataset``."""
    from ..evaluation import score_embeddings

    queries, corpus = adapted(adapter, val, transform_text)
    top_k = [val_top_k] if isinstance(val_top_k, int) else list(val_top_k)
    metric_k = val_metric.rpartition("@")[2]
    if metric_k.isdigit() and int(metric_k) not in top_k:
        top_k.append(int(metric_k))
    summary = score_embeddings(dataset, queries, corpus, top_k=sorted(top_k)).summary
    if val_metric not in summary:
        raise ValueError(f"val_metric {val_metric!r} is not one of {sorted(summary)}")
    return dict(summary)


#: The adapter shapes named by a string (``adapter_model="two-layer"``, ``--adapter``): the
#: hidden width of "two-layer" is 0.4's tutorial's.
ADAPTER_SHAPES = ("linear", "two-layer")
TWO_LAYER_HIDDEN = 1024


def check_adapter_model(adapter_model: object) -> None:
    """One clear error unless ``adapter_model`` is ``None``, a ``BaseAdapter`` or a shape name
    of :data:`ADAPTER_SHAPES`."""
    from llama_index.embeddings.adapter.utils import BaseAdapter

    if isinstance(adapter_model, str) and adapter_model not in ADAPTER_SHAPES:
        raise ValueError(
            f"adapter_model must be a BaseAdapter or one of {', '.join(ADAPTER_SHAPES)}, "
            f"got {adapter_model!r}"
        )
    if not isinstance(adapter_model, (BaseAdapter, str, type(None))):
        raise TypeError(
            f"adapter_model must subclass BaseAdapter, got {type(adapter_model).__name__}"
        )


def build_adapter(
    adapter: BaseAdapter | str | None,
    dim: int | None,
    base_dim: int,
    model_name: str,
    bias: bool,
    transform_text: bool,
) -> BaseAdapter:
    """``adapter`` (default or ``"linear"``: an identity-initialised ``LinearLayer``;
    ``"two-layer"``: a residual ``TwoLayerNN``), checked against the base model's dimension."""
    from llama_index.embeddings.adapter.utils import LinearLayer, TwoLayerNN

    if dim is not None and dim != base_dim:
        raise ValueError(
            f"dim={dim} was given, but the base model {model_name!r} "
            f"returns {base_dim}-dim embeddings"
        )
    built: BaseAdapter
    if adapter is None or adapter == "linear":
        built = LinearLayer(base_dim, base_dim, bias)
    elif adapter == "two-layer":
        built = TwoLayerNN(base_dim, TWO_LAYER_HIDDEN, base_dim, bias=True, add_residual=True)
    else:
        assert not isinstance(adapter, str)  # check_adapter_model refused other names
        built = adapter
    check_adapter_dims(built, base_dim, model_name, transform_text)
    return built
