"""Evaluate any LlamaIndex retriever on a dataset: one concurrent ``aretrieve`` per query.

Example::

    from llama_index.core import VectorStoreIndex
    from llama_index.finetuning.evaluation import corpus_nodes, evaluate_retriever

    index = VectorStoreIndex(corpus_nodes(val), embed_model=embed_model)
    result = evaluate_retriever(val, index.as_retriever(similarity_top_k=10), top_k=[1, 10])
    result.summary["mrr@10"]

Any vector store, hybrid or reranking retriever works, as long as its node ids are the
dataset's chunk ids. For a plain embedding model :func:`.evaluate.evaluate_embedding` gives
the same hit rate and MRR much faster.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..dataset import EmbeddingQAFinetuneDataset, check_dataset
from . import metrics as M
from .result import EvaluationResult, build_result


def corpus_nodes(dataset: EmbeddingQAFinetuneDataset) -> list[Any]:
    """The corpus as ``TextNode``s whose ids are the chunk ids, ready for an index.

    Example::

        index = VectorStoreIndex(corpus_nodes(val), embed_model=embed_model)
        evaluate_retriever(val, index.as_retriever(similarity_top_k=10), top_k=10)
    """
    from llama_index.core.schema import TextNode

    return [TextNode(id_=cid, text=text) for cid, text in dataset.corpus.items()]


def _split_metrics(metrics: Sequence[Any] | None) -> tuple[list[str], list[Any]]:
    """Names of this package's metrics, and llama-index-core metric objects."""
    from llama_index.core.evaluation.retrieval.metrics import MRR, HitRate
    from llama_index.core.evaluation.retrieval.metrics_base import BaseRetrievalMetric

    if metrics is None:  # core's HitRate and MRR agree with ours; its NDCG, AP, precision do not
        return ["ndcg", "recall", "precision", "map"], [HitRate(), MRR()]
    names = [m for m in metrics if isinstance(m, str)]
    objects = [m for m in metrics if isinstance(m, BaseRetrievalMetric)]
    wrong = [m for m in metrics if not isinstance(m, (str, BaseRetrievalMetric))]
    if wrong:
        raise TypeError(
            f"metrics must be names from {list(M.METRICS)} or llama-index-core "
            f"BaseRetrievalMetric objects, got {wrong!r}"
        )
    names = M.normalize_metrics(names) if names else []
    twice = sorted({m.metric_name for m in objects} & set(names))
    if twice or len({m.metric_name for m in objects}) < len(objects):
        raise ValueError(f"metric(s) requested twice: {twice or [m.metric_name for m in objects]}")
    return names, objects


async def aevaluate_retriever(
    dataset: EmbeddingQAFinetuneDataset,
    retriever: Any,
    top_k: int | Sequence[int] = 10,
    metrics: Sequence[Any] | None = None,
    workers: int = 8,
    show_progress: bool = False,
    name: str = "retriever",
) -> EvaluationResult:
    """Async :func:`evaluate_retriever`."""
    from llama_index.core.async_utils import run_jobs

    check_dataset(dataset, "dataset", "evaluated")
    ks = M.normalize_top_k(top_k)
    names, objects = _split_metrics(metrics)
    query_ids = list(dataset.queries)
    started = time.perf_counter()
    jobs = [retriever.aretrieve(dataset.queries[q]) for q in query_ids]
    answers = await run_jobs(jobs, show_progress=show_progress, workers=workers, desc="Retrieving")
    elapsed = time.perf_counter() - started

    retrieved = [[n.node.node_id for n in nodes] for nodes in answers]
    scores = [
        [n.score if n.score is not None else float("nan") for n in nodes] for nodes in answers
    ]
    texts = [[n.node.get_content() for n in nodes] for nodes in answers]
    returned = {i for ids in retrieved for i in ids}
    if returned and not returned & dataset.corpus.keys():
        example = ", ".join(repr(i) for i in sorted(returned)[:3])
        raise ValueError(
            f"the retriever returned node ids that are not chunk ids of the dataset (e.g. "
            f"{example}): build its index from corpus_nodes(dataset), so that each node's id "
            "is its chunk id"
        )
    depth = max((len(ids) for ids in retrieved), default=0)
    if depth < min(max(ks), len(dataset.corpus)):
        warnings.warn(
            f"the retriever returned at most {depth} results but top_k asks for {max(ks)}: "
            f"set its similarity_top_k to at least {max(ks)}",
            stacklevel=3,
        )

    extra: dict[str, np.ndarray] = {}
    for metric in objects:
        for k in ks:
            extra[f"{metric.metric_name}@{k}"] = np.array(
                [
                    metric.compute(
                        query=dataset.queries[q],
                        expected_ids=list(dataset.relevant_docs[q]),
                        retrieved_ids=ids[:k],
                        expected_texts=[dataset.corpus[d] for d in dataset.relevant_docs[q]],
                        retrieved_texts=txt[:k],
                    ).score
                    if ids
                    else 0.0
                    for q, ids, txt in zip(query_ids, retrieved, texts, strict=True)
                ],
                dtype=np.float64,
            )
    info = {"retriever": type(retriever).__name__, "retrieve_seconds": round(elapsed, 4)}
    return build_result(dataset, retrieved, scores, ks, names, name, info, extra_scores=extra)


def evaluate_retriever(
    dataset: EmbeddingQAFinetuneDataset,
    retriever: Any,
    top_k: int | Sequence[int] = 10,
    metrics: Sequence[Any] | None = None,
    workers: int = 8,
    show_progress: bool = False,
    name: str = "retriever",
) -> EvaluationResult:
    """Ask a LlamaIndex retriever every query (``workers`` at a time) and score its answers.

    Example::

        from llama_index.core import VectorStoreIndex

        index = VectorStoreIndex(corpus_nodes(val), embed_model=embed_model)
        result = evaluate_retriever(val, index.as_retriever(similarity_top_k=10), top_k=[1, 10])

    Args:
        dataset: the queries, corpus and relevance judgements. The retriever's node ids
            must be the dataset's chunk ids (see :func:`corpus_nodes`); nodes it returns
            that are not in the corpus count as misses.
        retriever: any ``BaseRetriever`` (any vector store, hybrid, reranked, ...). Give it
            at least ``max(top_k)`` results per query.
        top_k: a k or a list of k; the returned list is cut at each.
        metrics: names from :data:`.metrics.METRICS` and/or llama-index-core
            ``BaseRetrievalMetric`` objects (e.g. ``HitRate()``, ``NDCG(mode="exponential")``),
            which are computed per query by the object's ``compute``. Default: core's
            ``HitRate`` and ``MRR``, and this package's NDCG, recall, precision and MAP
            (core's NDCG does not cut the ideal DCG at k, its Precision divides by the
            number returned and its AveragePrecision by all relevant documents, so its
            numbers would not be comparable with :func:`evaluate_embedding`'s).
        workers: retrievals in flight at once.
        show_progress: a progress bar.
        name: the result's label.
    """
    from ..async_utils import run_sync

    return run_sync(
        aevaluate_retriever(dataset, retriever, top_k, metrics, workers, show_progress, name)
    )
