"""EmbeddingCache: embed each text once per model, in batches, and keep the vectors on disk.

Example::

    from llama_index.embeddings.huggingface import HuggingFaceEmbedding
    from llama_index.finetuning.embeddings.cache import EmbeddingCache

    cache = EmbeddingCache(HuggingFaceEmbedding(model_name="BAAI/bge-small-en"))
    chunks = cache.embed_texts(["Revenue was $3.2 billion.", "Lyft has 18 million riders."])
    queries = cache.embed_queries(["What was the revenue?"])   # the model's query path
    chunks.shape, cache.computed, cache.reused                 # (2, 384), 3, 0

Vectors live in one SQLite file, ``embeddings.sqlite3``, in ``cache_dir`` (default:
``$LLAMA_INDEX_FINETUNING_CACHE``, else ``$XDG_CACHE_HOME/llama-index-finetuning``, else
``~/.cache/llama-index-finetuning``). A row is keyed by the model's identity (class name,
model name and every setting that changes vectors, such as a query instruction, plus the
size and date of local weight files), the path (``query`` or ``text``) and the text's
SHA-256. Each batch is committed as soon as it returns, so an interrupted run keeps every
finished batch and a rerun embeds only what is missing. Delete the file to clear it.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import sqlite3
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from llama_index.core.async_utils import run_jobs
from llama_index.core.base.embeddings.base import BaseEmbedding
from tqdm.auto import tqdm

from llama_index.embeddings.adapter.base import (
    abase_query_embeddings,
    base_query_embeddings,
    query_batching_supported,
)

from ..async_utils import run_sync

CACHE_ENV = "LLAMA_INDEX_FINETUNING_CACHE"
CACHE_FILE = "embeddings.sqlite3"
KINDS = ("query", "text")

# Fields that change how a model is called, not the vectors it returns.
_NOT_IDENTITY = frozenset(
    {
        "embed_batch_size",
        "callback_manager",
        "num_workers",
        "embeddings_cache",
        "rate_limiter",
        "api_key",
        "api_base",
        "api_version",
        "timeout",
        "max_retries",
        "reuse_client",
        "default_headers",
        "show_progress_bar",
        "cache_folder",
    }
)
_WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".onnx", ".gguf")
_SQL_CHUNK = 500


def default_cache_dir() -> Path:
    """Where the cache lives when no ``cache_dir`` is given (see the module docstring)."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "llama-index-finetuning"


def _weights_fingerprint(model_name: str) -> list[list[Any]] | None:
    folder = Path(model_name)
    if not folder.is_dir():
        return None
    files = [p for p in folder.rglob("*") if p.suffix in _WEIGHT_SUFFIXES and p.is_file()]
    return [
        [str(p.relative_to(folder)), p.stat().st_size, p.stat().st_mtime_ns] for p in sorted(files)
    ]


def model_identity(embed_model: BaseEmbedding) -> dict[str, Any]:
    """Everything about ``embed_model`` that changes the vectors it returns, as JSON data."""
    identity: dict[str, Any] = {"class_name": embed_model.class_name()}
    for name in sorted(type(embed_model).model_fields):
        if name in _NOT_IDENTITY:
            continue
        try:
            value = embed_model.model_dump(mode="json", include={name}).get(name)
            json.dumps(value)
        except Exception:  # a client object or similar: not part of the vectors
            continue
        identity[name] = value
    fingerprint = _weights_fingerprint(str(getattr(embed_model, "model_name", "")))
    if fingerprint is not None:
        identity["weights"] = fingerprint
    return identity


def model_key(embed_model: BaseEmbedding) -> str:
    """A short stable hash of :func:`model_identity`."""
    text = json.dumps(model_identity(embed_model), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _runs_in_process(embed_model: BaseEmbedding) -> bool:
    import torch

    return isinstance(getattr(embed_model, "_model", None), torch.nn.Module)


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class EmbeddingCache:
    """Embeddings of one model, computed once and read back from disk (see the module docstring).

    Args:
        embed_model: any llama-index embedding model.
        cache_dir: folder of the SQLite file; ``None`` = :func:`default_cache_dir`.
        workers: batches in flight at once. ``None`` = 1 for a model that runs in this
            process (a torch module: concurrency only fights over the CPU), 4 otherwise.
        show_progress: a progress bar over the batches being embedded.

    Attributes:
        computed: texts the model embedded through this object.
        reused: texts read from the cache instead.
        calls: batches sent to the model.
    """

    def __init__(
        self,
        embed_model: BaseEmbedding,
        cache_dir: str | os.PathLike | None = None,
        workers: int | None = None,
        show_progress: bool = False,
    ) -> None:
        if workers is not None and workers < 1:
            raise ValueError(f"workers must be at least 1, got {workers}")
        self.embed_model = embed_model
        self.cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        self.workers = workers or (1 if _runs_in_process(embed_model) else 4)
        self.show_progress = show_progress
        self.key = model_key(embed_model)
        self.computed = 0
        self.reused = 0
        self.calls = 0
        self._lock = threading.Lock()
        self._db = self._open()

    @property
    def path(self) -> Path:
        return self.cache_dir / CACHE_FILE

    def _open(self) -> sqlite3.Connection:
        try:
            self.cache_dir.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, timeout=60, check_same_thread=False)
            db.execute("PRAGMA journal_mode=WAL")
        except (OSError, sqlite3.Error) as e:
            raise OSError(
                f"cannot open the embedding cache {self.path}: {e}; pass cache_dir= a writable "
                f"folder or set {CACHE_ENV}"
            ) from None
        db.execute("PRAGMA synchronous=NORMAL")
        with db:
            db.execute(
                "CREATE TABLE IF NOT EXISTS embeddings (model TEXT NOT NULL, kind TEXT NOT NULL, "
                "sha256 TEXT NOT NULL, vector BLOB NOT NULL, PRIMARY KEY (model, kind, sha256)) "
                "WITHOUT ROWID"
            )
            db.execute("CREATE TABLE IF NOT EXISTS models (model TEXT PRIMARY KEY, identity TEXT)")
            identity = json.dumps(model_identity(self.embed_model), sort_keys=True)
            db.execute("INSERT OR IGNORE INTO models VALUES (?, ?)", (self.key, identity))
        return db

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> EmbeddingCache:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # ---- storage ------------------------------------------------------------------

    def _lookup(self, kind: str, shas: Sequence[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        with self._lock:
            for i in range(0, len(shas), _SQL_CHUNK):
                chunk = list(shas[i : i + _SQL_CHUNK])
                rows = self._db.execute(
                    f"SELECT sha256, vector FROM embeddings WHERE model = ? AND kind = ? "
                    f"AND sha256 IN ({','.join('?' * len(chunk))})",
                    [self.key, kind, *chunk],
                )
                for sha, blob in rows:
                    found[sha] = np.frombuffer(blob, dtype=np.float32)
        return found

    def _store(self, kind: str, texts: Sequence[str], vectors: Sequence[Sequence[float]]) -> None:
        if len(vectors) != len(texts):
            raise RuntimeError(
                f"{self.embed_model.class_name()} returned {len(vectors)} embeddings for "
                f"{len(texts)} texts"
            )
        rows = [
            (self.key, kind, _sha(t), np.asarray(v, dtype=np.float32).tobytes())
            for t, v in zip(texts, vectors, strict=True)
        ]
        with self._lock, self._db:
            self._db.executemany("INSERT OR REPLACE INTO embeddings VALUES (?, ?, ?, ?)", rows)
            self.computed += len(texts)
            self.calls += 1

    # ---- embedding ----------------------------------------------------------------

    def _batches(self, kind: str, texts: list[str]) -> list[list[str]]:
        batched = kind == "text" or query_batching_supported(self.embed_model)
        size = self.embed_model.embed_batch_size if batched else 1
        return [texts[i : i + size] for i in range(0, len(texts), size)]

    def _functions(self, kind: str) -> tuple[Callable, Callable]:
        model = self.embed_model
        if kind == "text":
            return model.get_text_embedding_batch, model.aget_text_embedding_batch
        return (lambda b: base_query_embeddings(model, b)), (
            lambda b: abase_query_embeddings(model, b)
        )

    async def _acompute(self, kind: str, texts: list[str]) -> None:
        _, afn = self._functions(kind)

        async def job(batch: list[str]) -> None:
            self._store(kind, batch, await afn(batch))

        jobs = [job(b) for b in self._batches(kind, texts)]
        desc = f"Embedding {kind} texts"
        await run_jobs(jobs, show_progress=self.show_progress, workers=self.workers, desc=desc)

    def _compute(self, kind: str, texts: list[str]) -> None:
        if self.workers > 1:
            run_sync(self._acompute(kind, texts))
            return
        fn, _ = self._functions(kind)
        batches = self._batches(kind, texts)
        for batch in tqdm(batches, disable=not self.show_progress, desc=f"Embedding {kind} texts"):
            self._store(kind, batch, fn(batch))

    def _missing(self, kind: str, texts: Sequence[str]) -> list[str]:
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
        unique = list(dict.fromkeys(texts))
        shas = [_sha(t) for t in unique]
        found = self._lookup(kind, shas)
        self.reused += len(found)
        return [t for t, s in zip(unique, shas, strict=True) if s not in found]

    def _collect(self, kind: str, texts: Sequence[str]) -> np.ndarray:
        shas = [_sha(t) for t in texts]
        found = self._lookup(kind, list(dict.fromkeys(shas)))
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        dims = {v.shape[0] for v in found.values()}
        if len(dims) != 1:
            raise RuntimeError(
                f"{self.embed_model.class_name()} {self.embed_model.model_name!r} returned "
                f"embeddings of different sizes {sorted(dims)}; delete {self.path} if the "
                "model changed without changing its name"
            )
        return np.stack([found[s] for s in shas])

    def embed(self, texts: Sequence[str], kind: str = "text") -> np.ndarray:
        """``(len(texts), dim)`` float32 vectors; only texts not in the cache reach the model."""
        missing = self._missing(kind, texts)
        if missing:
            self._compute(kind, missing)
        return self._collect(kind, texts)

    async def aembed(self, texts: Sequence[str], kind: str = "text") -> np.ndarray:
        """Async :meth:`embed` (always through the model's async methods)."""
        missing = self._missing(kind, texts)
        if missing:
            await self._acompute(kind, missing)
        return await asyncio.to_thread(self._collect, kind, texts)

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        """Document chunks, through the model's text path (``get_text_embedding_batch``)."""
        return self.embed(texts, "text")

    def embed_queries(self, queries: Sequence[str]) -> np.ndarray:
        """Queries, through the model's query path (query instruction included)."""
        return self.embed(queries, "query")
