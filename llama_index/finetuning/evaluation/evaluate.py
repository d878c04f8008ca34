"""Score precomputed embeddings, any embedding model, or any LlamaIndex retriever on a dataset.

Example::

    from llama_index.finetuning import EmbeddingQAFinetuneDataset
    from llama_index.finetuning.evaluation import evaluate_embedding

    val = EmbeddingQAFinetuneDataset.from_json("val_dataset.json")
    result = evaluate_embedding(val, "local:exp_finetune", top_k=[1, 5, 10])
    print(result.summary)        # {"hit_rate@1": ..., "mrr@10": ..., "ndcg@10": ...}

The fast path embeds the corpus and the queries once each, in batches, and ranks with an
exact top-k over a matrix product (:func:`score_embeddings`). :func:`evaluate_retriever`
(in :mod:`.retriever`) asks a retriever instead, one concurrent ``aretrieve`` per query.
"""

from __future__ import annotations

import asyncio
import hashlib
import sys
import time
import warnings
import weakref
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..dataset import EmbeddingQAFinetuneDataset, check_dataset
from . import metrics as M
from .ranking import exact_top_k
from .result import EvaluationResult, build_result
from .set_size import SmallSetWarning, warn_if_small


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
    check_dataset(dataset, "dataset", "evaluated")
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
    # ranked in id order (ties go to the lower id) without copying the corpus
    idx, scores = exact_top_k(q, c, max(ks), order=np.asarray(by_id, dtype=np.int64))
    retrieved = [list(row) for row in sorted_ids[idx]] if idx.size else [[] for _ in range(len(q))]
    info = {**(info or {}), "rank_seconds": round(time.perf_counter() - started, 4)}
    return build_result(dataset, retrieved, scores.tolist(), ks, metrics, name, info)


# ---- embedding models -------------------------------------------------------------------

# id(model) -> (weak reference to it, {(role, fingerprint of texts): embeddings})
_EMBEDDING_CACHE: dict[int, tuple[weakref.ref, dict[tuple[str, str], np.ndarray]]] = {}
# in-process models run fewer, larger forward passes than llama-index's default of 10 texts
_LOCAL_MIN_BATCH = 64
# a query's text-path and query-path embeddings closer than this count as the same
_SAME_PATH_COSINE = 1.0 - 1e-5


def clear_embedding_cache() -> None:
    """Forget every embedding that :func:`evaluate_embedding` kept in memory."""
    _EMBEDDING_CACHE.clear()


def _cache_for(model: Any) -> dict[tuple[str, str], np.ndarray]:
    key = id(model)
    entry = _EMBEDDING_CACHE.get(key)
    if entry is None or entry[0]() is not model:
        try:
            ref = weakref.ref(model, lambda _ref: _EMBEDDING_CACHE.pop(key, None))
        except TypeError:  # not weak-referenceable: do not keep it alive
            return {}
        entry = (ref, {})
        _EMBEDDING_CACHE[key] = entry
    return entry[1]


def _fingerprint(texts: Sequence[str]) -> str:
    digest = hashlib.sha256()
    for text in texts:
        digest.update(text.encode("utf-8"))
        digest.update(b"\x00")
    return f"{len(texts)}:{digest.hexdigest()}"


def _resolve_model(embed_model: Any) -> Any:
    """A BaseEmbedding from a model, ``"local:<name or folder>"``, a folder, or an offline alias."""
    from llama_index.core.base.embeddings.base import BaseEmbedding
    from llama_index.core.embeddings.utils import resolve_embed_model

    if isinstance(embed_model, BaseEmbedding):
        return embed_model
    if not isinstance(embed_model, str):
        raise TypeError(
            f"embed_model must be a llama-index BaseEmbedding or a string such as "
            f"'local:/path/to/model', got {type(embed_model).__name__}"
        )
    from ..resources import OFFLINE_MODEL_ALIASES, resolve_model_id

    spec = embed_model
    if spec in OFFLINE_MODEL_ALIASES or spec.removeprefix("local:") in OFFLINE_MODEL_ALIASES:
        spec = "local:" + resolve_model_id(None)
    elif not spec.startswith("local") and spec != "default" and Path(spec).is_dir():
        spec = "local:" + spec
    try:
        return resolve_embed_model(spec)
    except ValueError as e:
        raise ValueError(
            f"cannot load embed_model {embed_model!r}: pass a BaseEmbedding, 'local:<hub id or "
            f"folder>', or the folder of a sentence-transformers model ({e})"
        ) from None


def _short_name(model_name: str) -> str:
    """A model folder's last two path parts; any other name unchanged."""
    path = Path(model_name)
    return "/".join(path.parts[-2:]) if path.is_absolute() and path.exists() else model_name


def _runs_locally(model: Any) -> bool:
    """True for in-process torch models; a wrapper (e.g. an adapter) follows the model it wraps."""
    from llama_index.core.base.embeddings.base import BaseEmbedding

    attrs = [*(getattr(model, "__pydantic_private__", None) or {}).values(), *vars(model).values()]
    inner = [v for v in attrs if isinstance(v, BaseEmbedding) and v is not model]
    if inner:
        return all(_runs_locally(m) for m in inner)
    torch = sys.modules.get("torch")
    return torch is not None and any(isinstance(v, torch.nn.Module) for v in attrs)


def _batches(texts: Sequence[str], size: int) -> list[list[str]]:
    return [list(texts[i : i + size]) for i in range(0, len(texts), size)]


async def _embed_texts(model: Any, texts: Sequence[str], workers: int, progress: bool, desc: str):
    """Text-path embeddings of ``texts``, one model call per batch, ``workers`` at a time."""
    from llama_index.core.async_utils import run_jobs

    batches = _batches(texts, model.embed_batch_size)
    if workers <= 1:
        out = [model.get_text_embedding_batch(b) for b in _progress(batches, progress, desc)]
    else:
        jobs = [model.aget_text_embedding_batch(b) for b in batches]
        out = await run_jobs(jobs, show_progress=progress, workers=workers, desc=desc)
    return [vec for batch in out for vec in batch]


async def _embed_queries(model: Any, queries: Sequence[str], workers: int, progress: bool):
    from llama_index.core.async_utils import run_jobs

    if workers <= 1:
        return [model.get_query_embedding(q) for q in _progress(queries, progress, "Queries")]
    jobs = [model.aget_query_embedding(q) for q in queries]
    return await run_jobs(jobs, show_progress=progress, workers=workers, desc="Queries")


def _progress(items: Sequence[Any], show: bool, desc: str):
    from llama_index.core.utils import get_tqdm_iterable

    return get_tqdm_iterable(items, show, desc)


async def _query_embeddings(
    model: Any, queries: list[str], workers: int, progress: bool, batch_queries: bool | None
) -> tuple[list[list[float]], str]:
    """Embed queries on the query path, in batches when that path is the text path."""
    from llama_index.core.async_utils import run_jobs

    # a model that batches its own query path (e.g. AdapterEmbeddingModel)
    if workers <= 1 and hasattr(model, "get_query_embedding_batch"):
        batches = _batches(queries, model.embed_batch_size)
        out = [model.get_query_embedding_batch(b) for b in _progress(batches, progress, "Queries")]
        return [v for batch in out for v in batch], "the model's query batches"
    if hasattr(model, "aget_query_embedding_batch"):
        jobs = [
            model.aget_query_embedding_batch(b) for b in _batches(queries, model.embed_batch_size)
        ]
        out = await run_jobs(jobs, show_progress=progress, workers=max(1, workers))
        return [v for batch in out for v in batch], "the model's query batches"
    if batch_queries is False or not queries:
        return await _embed_queries(model, queries, workers, progress), "one query at a time"
    if batch_queries is None:
        from llama_index.embeddings.adapter.base import (
            abase_query_embeddings,
            query_batching_supported,
        )

        if query_batching_supported(model):  # e.g. HuggingFace with a query prompt
            jobs = [
                abase_query_embeddings(model, b) for b in _batches(queries, model.embed_batch_size)
            ]
            out = await run_jobs(
                jobs, show_progress=progress, workers=max(1, workers), desc="Queries"
            )
            return [v for batch in out for v in batch], "batched on the query path"
        # Most models embed a query and a text the same way; some prepend an instruction
        # to queries. Compare the two paths on the first query before batching queries.
        if workers > 1:
            via_query, (via_text,) = await asyncio.gather(
                model.aget_query_embedding(queries[0]),
                _embed_texts(model, queries[:1], workers, False, ""),
            )
        else:
            via_query = model.get_query_embedding(queries[0])
            via_text = model.get_text_embedding_batch(queries[:1])[0]
        via_query = np.asarray(via_query, dtype=np.float64)
        first = np.asarray(via_text, dtype=np.float64)
        cosine = float(via_query @ first / (np.linalg.norm(via_query) * np.linalg.norm(first)))
        if cosine >= _SAME_PATH_COSINE:
            rest = await _embed_texts(model, queries[1:], workers, progress, "Queries")
            return [via_text, *rest], "batched (query path = text path)"
        rest = await _embed_queries(model, queries[1:], workers, progress)
        return [via_query.tolist(), *rest], "one query at a time (query path differs)"
    return await _embed_texts(model, queries, workers, progress, "Queries"), "batched (forced)"


async def aevaluate_embedding(
    dataset: EmbeddingQAFinetuneDataset,
    embed_model: Any,
    top_k: int | Sequence[int] = 10,
    metrics: Sequence[str] | None = None,
    show_progress: bool = False,
    embed_batch_size: int | None = None,
    workers: int | None = None,
    batch_queries: bool | None = None,
    cache: bool = True,
    name: str | None = None,
    corpus: Mapping[str, str] | Iterable[Any] | None = None,
) -> EvaluationResult:
    """Async :func:`evaluate_embedding` (for notebooks and servers with a running loop)."""
    check_dataset(dataset, "dataset", "evaluated")
    if corpus is not None:
        dataset = dataset.with_corpus(corpus)
    warn_if_small(len(dataset.queries), stacklevel=3)
    model = _resolve_model(embed_model)
    ks = M.normalize_top_k(top_k)
    if workers is None:
        workers = 1 if _runs_locally(model) else 8
    store = _cache_for(model) if cache else {}
    old_batch_size = model.embed_batch_size
    if embed_batch_size is None and workers <= 1:
        embed_batch_size = max(old_batch_size, _LOCAL_MIN_BATCH)
    if embed_batch_size is not None:
        model.embed_batch_size = embed_batch_size
    info: dict[str, Any] = {
        "model": model.class_name(),
        "model_name": model.model_name,
        "workers": workers,
        "embed_batch_size": model.embed_batch_size,
    }
    corpus_texts, queries = list(dataset.corpus.values()), list(dataset.queries.values())

    async def chunk_matrix() -> np.ndarray:
        started = time.perf_counter()
        key = ("corpus", _fingerprint(corpus_texts))
        info["corpus_cached"] = key in store
        if key not in store:
            vecs = await _embed_texts(model, corpus_texts, workers, show_progress, "Corpus")
            store[key] = np.asarray(vecs, dtype=np.float32)
            info["corpus_embedded"] = len(corpus_texts)
        info["embed_corpus_seconds"] = round(time.perf_counter() - started, 4)
        return store[key]

    async def query_matrix() -> np.ndarray:
        started = time.perf_counter()
        key = ("queries", _fingerprint(queries))
        info["queries_cached"] = key in store
        if key not in store:
            vecs, how = await _query_embeddings(
                model, queries, workers, show_progress, batch_queries
            )
            store[key] = np.asarray(vecs, dtype=np.float32)
            info["queries_embedded"] = len(queries)
            info["query_path"] = how
        info["embed_queries_seconds"] = round(time.perf_counter() - started, 4)
        return store[key]

    try:
        if workers > 1:  # remote models: the query batches overlap the corpus batches
            corpus_matrix, queries_matrix = await asyncio.gather(chunk_matrix(), query_matrix())
        else:
            corpus_matrix, queries_matrix = await chunk_matrix(), await query_matrix()
    finally:
        model.embed_batch_size = old_batch_size
    label = name or _short_name(model.model_name)
    return score_embeddings(dataset, queries_matrix, corpus_matrix, ks, metrics, label, info)


def evaluate_embedding(
    dataset: EmbeddingQAFinetuneDataset,
    embed_model: Any,
    top_k: int | Sequence[int] = 10,
    metrics: Sequence[str] | None = None,
    show_progress: bool = False,
    embed_batch_size: int | None = None,
    workers: int | None = None,
    batch_queries: bool | None = None,
    cache: bool = True,
    name: str | None = None,
    corpus: Mapping[str, str] | Iterable[Any] | None = None,
) -> EvaluationResult:
    """Embed the corpus and the queries once each, rank exactly, and score the rankings.

    Example::

        from llama_index.embeddings.openai import OpenAIEmbedding

        result = evaluate_embedding(val, OpenAIEmbedding(), top_k=[1, 5, 10])
        result.summary["hit_rate@5"]
        evaluate_embedding(val, "offline", corpus=nodes)   # searched among your index's nodes
        evaluate_embedding(val, "local:exp_finetune", top_k=3)   # a finetuned folder

    Args:
        dataset: the queries, corpus and relevance judgements.
        embed_model: any llama-index ``BaseEmbedding`` (HuggingFace, OpenAI, an adapter
            model, ...), ``"local:<hub id or folder>"``, a model folder, or ``"offline"``
            for the bundled all-MiniLM-L6-v2.
        top_k: a k or a list of k; every metric is reported at each.
        metrics: names from :data:`.metrics.METRICS` (default: all six).
        show_progress: progress bars while embedding.
        embed_batch_size: texts per embedding call (default: the model's own setting, raised
            to at least 64 for in-process models, whose time goes into forward passes).
        workers: embedding calls in flight at once (default: 1 for in-process torch
            models, 8 for the rest, e.g. API models). With more than one, the corpus and
            the queries are embedded concurrently, each with up to ``workers`` calls.
        batch_queries: ``None`` embeds the first query both ways and batches the queries
            through the text path only when that gives the same vector (one extra call);
            ``False`` always embeds queries one by one on the query path; ``True`` batches.
            A model with ``get_query_embedding_batch`` / ``aget_query_embedding_batch`` methods
            (e.g. ``AdapterEmbeddingModel``) embeds its queries in batches with them.
        cache: keep this model's embeddings of these texts in memory, so a second call with
            other k or metrics does not embed again (see :func:`clear_embedding_cache`).
        name: the result's label (default: the model name).
        corpus: the collection the questions are searched among as well as the dataset's own
            chunks, as your index holds it: ``{chunk id: text}`` or LlamaIndex nodes (see
            :meth:`~llama_index.finetuning.EmbeddingQAFinetuneDataset.with_corpus`). Without
            it, only ``dataset.corpus`` is searched, which flatters every model when it holds
            few chunks.

    ``result.info`` records the timings and how many texts were embedded;
    ``result.searched_chunks`` how many chunks were searched. Fewer questions than can tell
    two models apart (``evaluation.set_size.MIN_QUESTIONS``) warn (``SmallSetWarning``) and
    set ``result.too_small``.
    """
    from ..async_utils import run_sync

    check_dataset(dataset, "dataset", "evaluated")
    if corpus is not None:
        dataset = dataset.with_corpus(corpus)
    warn_if_small(len(dataset.queries))  # once, naming the caller's line
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallSetWarning)
        return run_sync(
            aevaluate_embedding(
                dataset,
                embed_model,
                top_k,
                metrics,
                show_progress,
                embed_batch_size,
                workers,
                batch_queries,
                cache,
                name,
            )
        )


# evaluate_retriever lives in its own module; importable from here as well
from .retriever import aevaluate_retriever, corpus_nodes, evaluate_retriever  # noqa: E402, F401
