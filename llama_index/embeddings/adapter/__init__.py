"""Adapters over any embedding model: the runtime side (never imports llama_index.finetuning).

Example::

    from llama_index.embeddings.adapter import AdapterEmbeddingModel

    embed_model = AdapterEmbeddingModel(base_embed_model, "model_output")
"""

from llama_index.embeddings.adapter.base import AdapterEmbeddingModel, LinearAdapterEmbeddingModel
from llama_index.embeddings.adapter.utils import BaseAdapter, LinearLayer, TwoLayerNN

__all__ = [
    "AdapterEmbeddingModel",
    "BaseAdapter",
    "LinearAdapterEmbeddingModel",
    "LinearLayer",
    "TwoLayerNN",
]
