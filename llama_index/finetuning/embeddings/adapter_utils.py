"""The adapter classes at their llama-index-finetuning 0.4 import path (the tutorials' path).

Example::

    from llama_index.finetuning.embeddings.adapter_utils import BaseAdapter, TwoLayerNN
"""

from llama_index.embeddings.adapter.utils import (
    BaseAdapter,
    LinearLayer,
    TwoLayerNN,
    get_activation_function,
    load_adapter,
    save_adapter,
)

__all__ = [
    "BaseAdapter",
    "LinearLayer",
    "TwoLayerNN",
    "get_activation_function",
    "load_adapter",
    "save_adapter",
]
