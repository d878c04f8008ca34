"""Adapters over any embedding model: the runtime side (never imports llama_index.finetuning).

Example::

    from llama_index.embeddings.adapter import AdapterEmbeddingModel

    embed_model = AdapterEmbeddingModel(base_embed_model, "model_output")
"""

from llama_index.embeddings.adapter.ownership import check_installation

_OWNER = "llama-index-finetuning-embeddings"  # ownership.py: this file is this package's
check_installation()  # another distribution claiming these files: one ImportError and the fix

from llama_index.embeddings.adapter.base import (  # noqa: E402
    AdapterEmbeddingModel,
    LinearAdapterEmbeddingModel,
)
from llama_index.embeddings.adapter.utils import (  # noqa: E402
    BaseAdapter,
    LinearLayer,
    TwoLayerNN,
    load_adapter,
)

__all__ = [
    "AdapterEmbeddingModel",
    "BaseAdapter",
    "LinearAdapterEmbeddingModel",
    "LinearLayer",
    "TwoLayerNN",
    "load_adapter",
]
