"""AdapterEmbeddingModel: any llama-index embedding model, with a trained adapter on its queries.

Example::

    from llama_index.core import VectorStoreIndex
    from llama_index.embeddings.adapter import AdapterEmbeddingModel
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding

    base = HuggingFaceEmbedding(model_name="BAAI/bge-small-en")
    index = VectorStoreIndex(nodes, embed_model=base)          # already built: kept as is
    embed_model = AdapterEmbeddingModel(base, "model_output")  # config.json + model.safetensors
    retriever = index.as_retriever(embed_model=embed_model, similarity_top_k=5)

Only queries pass through the adapter (``transform_query=True``); document embeddings
are the base model's, so an index built with the base model needs no re-embedding. An
adapter that changes the dimension must transform texts too (``transform_text=True``),
and the index must then be built with this model.
"""

from __future__ import annotations

import asyncio
import logging
import os
import warnings
from pathlib import Path
from typing import Any

import torch
from llama_index.core.async_utils import run_jobs
from llama_index.core.base.embeddings.base import BaseEmbedding, Embedding
from llama_index.core.bridge.pydantic import Field, PrivateAttr
from llama_index.core.callbacks import CallbackManager, CBEventType, EventPayload
from llama_index.core.constants import DEFAULT_EMBED_BATCH_SIZE
from llama_index.core.utils import infer_torch_device

from .folder import adapter_folder
from .record import base_mismatch, describe_record, read_base_record
from .utils import BaseAdapter, adapter_dims, load_adapter

logger = logging.getLogger(__name__)
_OWNER = "llama-index-finetuning-embeddings"  # ownership.py: this file is this package's


def _query_batch_method(model: BaseEmbedding) -> tuple[Any, Any] | None:
    """(sync, async) callables embedding a list of queries in one call, where ``model`` has one.

    llama-index's ``BaseEmbedding`` batches texts but not queries. Two common models can:
    HuggingFaceEmbedding encodes a list with its query prompt, and OpenAIEmbedding sends
    queries to the same endpoint as texts when both use one engine (the v3 and ada-002
    models). Other models get ``None`` and are called once per query.
    """
    try:
        from llama_index.embeddings.huggingface import HuggingFaceEmbedding
    except ImportError:  # pragma: no cover - a declared dependency
        HuggingFaceEmbedding = None
    if HuggingFaceEmbedding is not None and isinstance(model, HuggingFaceEmbedding):

        def encode(queries: list[str]) -> list[Embedding]:
            return model._embed(queries, prompt_name="query")

        async def aencode(queries: list[str]) -> list[Embedding]:
            return await asyncio.to_thread(encode, queries)

        return encode, aencode
    query_engine = getattr(model, "_query_engine", None)
    if query_engine is not None and query_engine == getattr(model, "_text_engine", None):
        return model._get_text_embeddings, model._aget_text_embeddings
    return None


def base_query_embeddings(model: BaseEmbedding, queries: list[str]) -> list[Embedding]:
    """Embed ``queries`` with the query path of ``model``, in one call where it can batch."""
    batch = _query_batch_method(model)
    if batch is not None:
        return list(batch[0](queries))
    return [model._get_query_embedding(q) for q in queries]


async def abase_query_embeddings(model: BaseEmbedding, queries: list[str]) -> list[Embedding]:
    """Async :func:`base_query_embeddings`; per-query calls run concurrently."""
    batch = _query_batch_method(model)
    if batch is not None:
        return list(await batch[1](queries))
    return list(await asyncio.gather(*(model._aget_query_embedding(q) for q in queries)))


def query_batching_supported(model: BaseEmbedding) -> bool:
    """True when :func:`base_query_embeddings` embeds a list in one call for ``model``."""
    return _query_batch_method(model) is not None


def known_embedding_dim(model: BaseEmbedding) -> int | None:
    """The base model's output dimension when it is known without embedding anything."""
    dims = getattr(model, "dimensions", None)
    if isinstance(dims, int):
        return dims
    st_model = getattr(model, "_model", None)
    for name in ("get_embedding_dimension", "get_sentence_embedding_dimension"):
        getter = getattr(st_model, name, None)
        if callable(getter):
            try:
                dim = getter()
            except Exception:  # a model that cannot tell: checked at the first embedding
                return None
            return dim if isinstance(dim, int) else None
    return None


class AdapterEmbeddingModel(BaseEmbedding):
    """A base embedding model whose query embeddings pass through a trained adapter.

    Example::

        embed_model = AdapterEmbeddingModel(base_embed_model, "model_output")
        embed_model.get_query_embedding("What was Lyft's revenue?")      # adapted
        embed_model.get_text_embedding("Revenue was $3.2 billion.")      # the base model's
        embed_model.get_query_embedding_batch(["q1", "q2"])              # one adapter call

    Args:
        base_embed_model: any llama-index embedding model, local or behind an API.
        adapter_path: folder with ``config.json`` and ``model.safetensors`` (or a legacy
            ``pytorch_model.bin``, read with ``torch.load(weights_only=True)``), or the id of
            a Hub repo holding them (``"owner/name"``, see :mod:`.hub`).
        adapter_cls: the adapter's class; ``None`` = the class recorded in the folder when it
            is built in, else ``LinearLayer``. Custom classes must be passed.
        transform_query: pass query embeddings through the adapter.
        transform_text: pass text embeddings through the adapter too (needed when the adapter
            changes the dimension; the index must then be built with this model).
        device: torch device for the adapter; ``None`` = cuda / mps / cpu, whichever exists.
        embed_batch_size: texts per batch in ``get_text_embedding_batch`` and queries per
            batch in ``get_query_embedding_batch``.
        strict: refuse (``ValueError``) a base model other than the one the adapter was
            trained over, as recorded in ``base_model.json``; by default that only warns.
            Folders without the record (older ones) load without a check.
    """

    adapter_path: str = Field(description="Folder holding the adapter's config and weights.")
    transform_query: bool = Field(default=True, description="Adapt query embeddings.")
    transform_text: bool = Field(default=False, description="Adapt text embeddings too.")
    device: str | None = Field(default=None, description="Torch device of the adapter.")
    strict: bool = Field(
        default=False, description="Refuse a base model other than the recorded one."
    )

    _base_embed_model: BaseEmbedding = PrivateAttr()
    _adapter: BaseAdapter = PrivateAttr()
    _torch_device: torch.device = PrivateAttr()
    _folder: Path = PrivateAttr()  # adapter_path, or where a Hub repo's files were downloaded

    def __init__(
        self,
        base_embed_model: BaseEmbedding,
        adapter_path: str | os.PathLike,
        adapter_cls: type[BaseAdapter] | None = None,
        transform_query: bool = True,
        device: str | None = None,
        embed_batch_size: int = DEFAULT_EMBED_BATCH_SIZE,
        callback_manager: CallbackManager | None = None,
        transform_text: bool = False,
        strict: bool = False,
        **kwargs: Any,
    ) -> None:
        device = device or infer_torch_device()
        super().__init__(
            adapter_path=str(adapter_path),
            transform_query=transform_query,
            transform_text=transform_text,
            device=device,
            strict=strict,
            embed_batch_size=embed_batch_size,
            callback_manager=callback_manager,
            model_name=f"Adapter for {base_embed_model.model_name}",
            **kwargs,
        )
        self._torch_device = torch.device(device)
        self._base_embed_model = base_embed_model
        self._folder = adapter_folder(adapter_path)
        self._adapter = load_adapter(self._folder, adapter_cls, device=self._torch_device)
        in_dim, out_dim = adapter_dims(self._adapter)
        if in_dim is not None and out_dim is not None and in_dim != out_dim and not transform_text:
            raise ValueError(
                f"the adapter in {adapter_path} maps {in_dim}-dim embeddings to {out_dim} "
                "dimensions, so texts must pass through it too: pass transform_text=True "
                "and build the index with this model"
            )
        base_dim = known_embedding_dim(base_embed_model)
        if base_dim is not None:
            self._check_dim(base_dim)
        self._check_base(base_embed_model)

    @classmethod
    def class_name(cls) -> str:
        return "AdapterEmbeddingModel"

    @property
    def base_embed_model(self) -> BaseEmbedding:
        return self._base_embed_model

    @property
    def adapter(self) -> BaseAdapter:
        return self._adapter

    def _check_dim(self, base_dim: int) -> None:
        in_dim = adapter_dims(self._adapter)[0]
        if in_dim is not None and in_dim != base_dim:
            raise ValueError(
                f"the adapter in {self.adapter_path} takes {in_dim}-dim embeddings "
                f"(config.json in_features={in_dim}), but the base model "
                f"{self._base_embed_model.model_name!r} returns {base_dim}-dim embeddings: "
                "use the adapter trained for this base model"
            )

    def _check_base(self, base_embed_model: BaseEmbedding) -> None:
        record = read_base_record(self._folder)
        if record is None:
            logger.debug("%s records no base model: not checked", self.adapter_path)
            return
        why = base_mismatch(record, base_embed_model)
        if why is None:
            return
        message = (
            f"the adapter in {self.adapter_path} was trained over {describe_record(record)}, "
            f"but the base model given is {base_embed_model.model_name!r}: {why}. Its "
            "embeddings would be transformed by a map learned for another model; load it "
            "over the model it was trained for"
        )
        if self.strict:
            raise ValueError(message)
        warnings.warn(message + " (strict=True refuses this)", UserWarning, stacklevel=3)

    def _adapt(self, embeddings: list[Embedding]) -> list[Embedding]:
        """The adapter applied to a batch of base embeddings, in one forward pass."""
        if not embeddings:
            return []
        self._check_dim(len(embeddings[0]))
        return self._adapter.transform(embeddings).tolist()

    def _queries(self, embeddings: list[Embedding]) -> list[Embedding]:
        return self._adapt(embeddings) if self.transform_query else embeddings

    def _texts(self, embeddings: list[Embedding]) -> list[Embedding]:
        return self._adapt(embeddings) if self.transform_text else embeddings

    # ---- BaseEmbedding hooks (single query / text, and text batches) ----------------

    def _get_query_embedding(self, query: str) -> Embedding:
        return self._queries([self._base_embed_model._get_query_embedding(query)])[0]

    async def _aget_query_embedding(self, query: str) -> Embedding:
        return self._queries([await self._base_embed_model._aget_query_embedding(query)])[0]

    def _get_text_embedding(self, text: str) -> Embedding:
        return self._texts([self._base_embed_model._get_text_embedding(text)])[0]

    async def _aget_text_embedding(self, text: str) -> Embedding:
        return self._texts([await self._base_embed_model._aget_text_embedding(text)])[0]

    def _get_text_embeddings(self, texts: list[str]) -> list[Embedding]:
        return self._texts(self._base_embed_model._get_text_embeddings(texts))

    async def _aget_text_embeddings(self, texts: list[str]) -> list[Embedding]:
        return self._texts(await self._base_embed_model._aget_text_embeddings(texts))

    # ---- query batches ------------------------------------------------------------

    def _batches(self, queries: list[str]) -> list[list[str]]:
        size = self.embed_batch_size
        return [queries[i : i + size] for i in range(0, len(queries), size)]

    def _record(self, queries: list[str], embeddings: list[Embedding]) -> None:
        with self.callback_manager.event(
            CBEventType.EMBEDDING, payload={EventPayload.SERIALIZED: self.to_payload()}
        ) as event:
            event.on_end(
                payload={EventPayload.CHUNKS: queries, EventPayload.EMBEDDINGS: embeddings}
            )

    def get_query_embedding_batch(
        self, queries: list[str], show_progress: bool = False
    ) -> list[Embedding]:
        """Embed many queries: base model in batches of ``embed_batch_size``, one adapter pass each."""
        from tqdm.auto import tqdm

        result: list[Embedding] = []
        for batch in tqdm(
            self._batches(queries), disable=not show_progress, desc="Embedding queries"
        ):
            embeddings = self._queries(base_query_embeddings(self._base_embed_model, batch))
            self._record(batch, embeddings)
            result.extend(embeddings)
        return result

    async def aget_query_embedding_batch(
        self, queries: list[str], show_progress: bool = False
    ) -> list[Embedding]:
        """Async :meth:`get_query_embedding_batch`; at most ``num_workers`` (default 4) batches at once."""

        async def one(batch: list[str]) -> list[Embedding]:
            embeddings = self._queries(await abase_query_embeddings(self._base_embed_model, batch))
            self._record(batch, embeddings)
            return embeddings

        jobs = [one(batch) for batch in self._batches(queries)]
        nested = await run_jobs(jobs, show_progress=show_progress, workers=self.num_workers or 4)
        return [e for embeddings in nested for e in embeddings]


# the name used by llama-index 0.9 and the tutorials
LinearAdapterEmbeddingModel = AdapterEmbeddingModel
