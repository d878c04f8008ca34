"""The adapters the adapter engine builds by name, and the checks that they fit the base model.

Example::

    from llama_index.finetuning.embeddings.adapter_shapes import build_adapter

    adapter = build_adapter("two-layer", None, 384, "BAAI/bge-small-en", False, False)
    type(adapter).__name__     # 'TwoLayerNN': residual, 1,024 hidden units, 384 -> 384
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from torch import nn

    from llama_index.embeddings.adapter.utils import BaseAdapter

#: The adapter shapes named by a string (``adapter_model="two-layer"``, ``--adapter``): the
#: hidden width of "two-layer" is 0.4's tutorial's.
ADAPTER_SHAPES = ("linear", "two-layer")
TWO_LAYER_HIDDEN = 1024


def check_adapter_model(adapter_model: object) -> None:
    """One clear error unless ``adapter_model`` is ``None``, a ``BaseAdapter`` or a shape name.

    Example::

        check_adapter_model("two-layer")   # fine: one of ADAPTER_SHAPES
        check_adapter_model("mlp")         # ValueError naming the shapes there are
    """
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
    """The adapter to train, built from a shape name and checked against the base model's dim.

    ``adapter``: ``None`` or ``"linear"`` (an identity-initialised ``LinearLayer``),
    ``"two-layer"`` (a residual ``TwoLayerNN``), or a ``BaseAdapter`` (checked, returned).

    Example::

        build_adapter(None, None, 384, "BAAI/bge-small-en", False, False)   # LinearLayer(384, 384)
    """
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


def check_adapter_dims(
    adapter: nn.Module, base_dim: int, model_name: str, transform_text: bool
) -> None:
    """One clear error when ``adapter`` cannot take (or give back) the base model's embeddings.

    Example::

        from llama_index.embeddings.adapter import LinearLayer

        check_adapter_dims(LinearLayer(384, 384), 768, "BAAI/bge-base-en", False)   # ValueError
    """
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
