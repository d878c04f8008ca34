"""Adapters: small torch modules applied to the embeddings of a frozen model, saved without pickles.

Example::

    import torch
    from llama_index.embeddings.adapter.utils import BaseAdapter, LinearLayer, TwoLayerNN

    adapter = TwoLayerNN(384, 1024, 384, bias=True, add_residual=True)
    adapter(torch.randn(2, 384)).shape      # torch.Size([2, 384]); identity until trained
    adapter.save("my_adapter")              # my_adapter/config.json + model.safetensors
    same = TwoLayerNN.load("my_adapter")    # or load_adapter("my_adapter") (class recorded)

Write your own by subclassing :class:`BaseAdapter` with ``forward`` and
``get_config_dict`` (the keyword arguments that rebuild it). ``config.json`` holds exactly
that dict; ``model.safetensors`` holds the weights and, in its metadata, the class name.
Folders written by llama-index 0.10-0.14 (``pytorch_model.bin``) load only through
``torch.load(weights_only=True)``: a file that needs more than tensors is refused, so
opening someone else's adapter folder cannot run their code.
"""

from __future__ import annotations

import json
import os
import pickle
import re
import tempfile
from abc import ABCMeta, abstractmethod
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from numpy.typing import ArrayLike
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_model, save_model
from torch import Tensor, nn

from .folder import CONFIG_NAME, LEGACY_WEIGHTS_NAME, WEIGHTS_NAME, adapter_folder

_CLASS_KEY = "adapter_class"
_OWNER = "llama-index-finetuning-embeddings"  # ownership.py: this file is this package's


class BaseAdapter(nn.Module, metaclass=ABCMeta):
    """A torch module mapping base-model embeddings ``(n, in_features)`` to ``(n, out_features)``.

    Example::

        class Scale(BaseAdapter):
            def __init__(self, in_features: int, factor: float = 2.0):
                super().__init__()
                self.in_features, self.factor = in_features, factor
                self.weight = nn.Parameter(torch.full((in_features,), factor))

            def forward(self, embed):
                return embed * self.weight

            def get_config_dict(self):
                return {"in_features": self.in_features, "factor": self.factor}

    ``in_features`` / ``out_features`` in the config dict, when present, let loaders check
    the adapter against the base model's dimension before the first query.
    """

    @abstractmethod
    def forward(self, embed: Tensor) -> Tensor:
        """Transform a batch of embeddings."""

    @abstractmethod
    def get_config_dict(self) -> dict[str, Any]:
        """The JSON-serialisable keyword arguments that rebuild this adapter: ``cls(**config)``."""

    @classmethod
    def class_name(cls) -> str:
        return cls.__name__

    def save(self, output_path: str | os.PathLike) -> None:
        """Write ``config.json`` and ``model.safetensors`` into the folder ``output_path``."""
        save_adapter(self, output_path)

    def transform(self, embeddings: ArrayLike) -> np.ndarray:
        """The adapter applied to embeddings from any library: numpy in, numpy out.

        Example::

            adapter = load_adapter("model_output")
            adapter.transform(np.ones(384)).shape        # (384,): one vector
            adapter.transform(np.ones((5, 384))).shape   # (5, 384): a batch, one pass

        A list, a float64 or a float32 array are all accepted; the result is float32, the
        values ``AdapterEmbeddingModel`` returns for the same base vectors.
        """
        array = np.asarray(embeddings, dtype=np.float32)
        in_features = adapter_dims(self)[0]
        if array.ndim not in (1, 2) or array.shape[-1] == 0:
            raise ValueError(
                f"transform takes one vector or a 2-D batch of vectors, got shape {array.shape}"
            )
        if in_features is not None and array.shape[-1] != in_features:
            raise ValueError(
                f"this {type(self).__name__} takes {in_features}-dim embeddings, got "
                f"{array.shape[-1]}-dim ones: use the adapter trained for that base model"
            )
        device = next((p.device for p in self.parameters()), torch.device("cpu"))
        with torch.no_grad():
            batch = torch.from_numpy(np.ascontiguousarray(array.reshape(-1, array.shape[-1])))
            out = self(batch.to(device)).cpu().numpy()
        return out[0] if array.ndim == 1 else out

    @classmethod
    def load(cls, input_path: str | os.PathLike) -> BaseAdapter:
        """Rebuild an adapter of this class from a folder written by :meth:`save`."""
        return load_adapter(input_path, adapter_cls=cls)


class LinearLayer(BaseAdapter):
    """``W v (+ b)``, initialised to the identity (a rectangular one when the sizes differ).

    Example::

        LinearLayer(384, 384)              # starts as the base model unchanged
        LinearLayer(384, 128, bias=True)   # projects to 128 dimensions
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = False) -> None:
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        self.bias = bias
        self.linear = nn.Linear(in_features, out_features, bias=bias)
        with torch.no_grad():
            self.linear.weight.copy_(torch.eye(out_features, in_features))
            if bias:
                self.linear.bias.zero_()

    def forward(self, embed: Tensor) -> Tensor:
        return self.linear(embed)

    def get_config_dict(self) -> dict[str, Any]:
        return {
            "in_features": self.in_features,
            "out_features": self.out_features,
            "bias": self.bias,
        }


ACTIVATIONS: dict[str, Callable[[Tensor], Tensor]] = {
    "relu": F.relu,
    "gelu": F.gelu,
    "silu": F.silu,
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "leaky_relu": F.leaky_relu,
}


def get_activation_function(name: str) -> Callable[[Tensor], Tensor]:
    """The activation called ``name`` (one of :data:`ACTIVATIONS`)."""
    if name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}: use one of {sorted(ACTIVATIONS)}")
    return ACTIVATIONS[name]


class TwoLayerNN(BaseAdapter):
    """``linear2(act(linear1(v)))``; with ``add_residual``: ``v + w * linear2(act(linear1(v)))``.

    The residual weight ``w`` is learned and starts at 0, so with ``add_residual=True``
    the adapter starts as the base model unchanged (``in_features`` must then equal
    ``out_features``).

    Example::

        TwoLayerNN(384, 1024, 384, bias=True, add_residual=True)
    """

    def __init__(
        self,
        in_features: int,
        hidden_features: int,
        out_features: int,
        bias: bool = False,
        activation_fn_str: str = "relu",
        add_residual: bool = False,
    ) -> None:
        super().__init__()
        if add_residual and in_features != out_features:
            raise ValueError(
                f"add_residual=True needs in_features == out_features, got {in_features} "
                f"and {out_features}"
            )
        self.in_features = in_features
        self.hidden_features = hidden_features
        self.out_features = out_features
        self.bias = bias
        self.activation_fn_str = activation_fn_str
        self.add_residual = add_residual
        self.linear1 = nn.Linear(in_features, hidden_features, bias=bias)
        self.linear2 = nn.Linear(hidden_features, out_features, bias=bias)
        self._activation = get_activation_function(activation_fn_str)
        self.residual_weight = nn.Parameter(torch.zeros(1))

    def forward(self, embed: Tensor) -> Tensor:
        out = self.linear2(self._activation(self.linear1(embed)))
        if self.add_residual:
            out = embed + self.residual_weight * out
        return out

    def get_config_dict(self) -> dict[str, Any]:
        return {
            "in_features": self.in_features,
            "hidden_features": self.hidden_features,
            "out_features": self.out_features,
            "bias": self.bias,
            "activation_fn_str": self.activation_fn_str,
            "add_residual": self.add_residual,
        }


BUILTIN_ADAPTERS: dict[str, type[BaseAdapter]] = {
    "LinearLayer": LinearLayer,
    "TwoLayerNN": TwoLayerNN,
}


def adapter_dims(adapter: nn.Module) -> tuple[int | None, int | None]:
    """``(in_features, out_features)`` as the adapter declares them, ``None`` where it does not."""
    config = adapter.get_config_dict() if isinstance(adapter, BaseAdapter) else {}
    dims = []
    for key in ("in_features", "out_features"):
        value = config.get(key, getattr(adapter, key, None))
        dims.append(value if isinstance(value, int) and not isinstance(value, bool) else None)
    return dims[0], dims[1]


def _atomic_write(path: Path, write: Callable[[str], object]) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        mask = os.umask(0)  # mkstemp makes 0600 files: give the mode open() would
        os.umask(mask)
        os.chmod(tmp, 0o666 & ~mask)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_adapter(adapter: BaseAdapter, output_path: str | os.PathLike) -> Path:
    """Write ``adapter`` to the folder ``output_path`` (created if needed); returns the folder.

    Each file is written to a temporary name and renamed, so a crash mid-save leaves the
    previous adapter readable.
    """
    folder = Path(output_path)
    folder.mkdir(parents=True, exist_ok=True)
    config = adapter.get_config_dict()
    try:
        config_text = json.dumps(config, indent=2)
    except TypeError as e:
        raise ValueError(
            f"{type(adapter).__name__}.get_config_dict() must return JSON-serialisable "
            f"keyword arguments: {e}"
        ) from None
    metadata = {"format": "pt", _CLASS_KEY: type(adapter).__name__}
    _atomic_write(folder / WEIGHTS_NAME, lambda tmp: save_model(adapter, tmp, metadata=metadata))
    _atomic_write(
        folder / CONFIG_NAME, lambda tmp: Path(tmp).write_text(config_text, encoding="utf-8")
    )
    return folder


def saved_adapter_class(input_path: str | os.PathLike) -> str | None:
    """The class name recorded in ``input_path/model.safetensors`` (``None`` for legacy folders)."""
    weights = Path(input_path) / WEIGHTS_NAME
    if not weights.exists():
        return None
    try:
        with safe_open(str(weights), framework="pt") as f:
            return (f.metadata() or {}).get(_CLASS_KEY)
    except SafetensorError as e:
        raise ValueError(f"{weights} is not a readable safetensors file: {e}") from None


def load_legacy_state_dict(path: str | os.PathLike) -> dict[str, Tensor]:
    """Read a ``pytorch_model.bin`` with ``torch.load(weights_only=True)``: tensors only.

    Raises:
        ValueError: the file needs more than tensors to unpickle (it could run code), or is
            not a state dict. Nothing in it is executed.
    """
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        found = re.search(r"Unsupported [^.]*?(?= was not| is not|\.|$)", str(e), re.MULTILINE)
        what = found.group(0) if found else "an object torch does not allow"
        raise ValueError(
            f"refusing to load {path}: it holds more than tensors ({what}). Unpickling "
            "it could run arbitrary code. If you trust its author, convert it to "
            f"{WEIGHTS_NAME} yourself; otherwise ask them for a {WEIGHTS_NAME} file."
        ) from None
    except (RuntimeError, EOFError, OSError) as e:
        raise ValueError(f"{path} is not a readable torch state-dict file: {e}") from None
    if not isinstance(state, dict) or not all(isinstance(v, Tensor) for v in state.values()):
        raise ValueError(f"{path} is not a state dict of tensors (found {type(state).__name__})")
    return state


def load_adapter(
    input_path: str | os.PathLike,
    adapter_cls: type[BaseAdapter] | None = None,
    device: str | torch.device = "cpu",
) -> BaseAdapter:
    """Rebuild the adapter saved in the folder ``input_path``, or in a Hub repo
    (``"owner/name"``, downloaded once into the Hugging Face cache).

    Example::

        adapter = load_adapter("model_output")               # class from the file
        adapter = load_adapter("model5_ck/step_1000", TwoLayerNN)
        adapter = load_adapter("your-name/bge-small-10k-adapter")    # from the Hub
        adapter.transform(query_vectors)                     # numpy in, numpy out

    ``adapter_cls=None`` uses the class recorded at save time when it is one of the
    built-in ones, and :class:`LinearLayer` for legacy folders (the old default). A custom
    class must be passed.

    Raises:
        FileNotFoundError: no ``config.json`` or weights in ``input_path``.
        ValueError: the config does not fit ``adapter_cls``, the weights do not fit the
            config, or a legacy file holds more than tensors. The message names the file.
    """

    folder = adapter_folder(input_path)
    config_file = folder / CONFIG_NAME
    weights = folder / WEIGHTS_NAME
    legacy = folder / LEGACY_WEIGHTS_NAME
    if not config_file.exists() or not (weights.exists() or legacy.exists()):
        raise FileNotFoundError(
            f"no adapter in {folder}: expected {CONFIG_NAME} and {WEIGHTS_NAME} (written by "
            "BaseAdapter.save() or EmbeddingAdapterFinetuneEngine.finetune())"
        )
    try:
        config = json.loads(config_file.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise ValueError(f"{config_file} is not JSON: {e}") from None
    if not isinstance(config, dict):
        raise ValueError(f"{config_file} must hold an object of keyword arguments")

    saved = saved_adapter_class(folder)
    if adapter_cls is None:
        if saved is not None and saved not in BUILTIN_ADAPTERS:
            raise ValueError(
                f"{folder} holds a {saved} adapter, a custom class: pass adapter_cls={saved}"
            )
        adapter_cls = BUILTIN_ADAPTERS.get(saved or "LinearLayer", LinearLayer)
    hint = "" if saved in (None, adapter_cls.__name__) else f" (it was saved from {saved})"
    try:
        adapter = adapter_cls(**config)
    except TypeError as e:
        raise ValueError(
            f"{config_file} does not fit {adapter_cls.__name__}{hint}: {e}. Pass the "
            "adapter_cls the folder was saved with."
        ) from None

    try:
        if weights.exists():
            missing, unexpected = load_model(adapter, weights, strict=False)
        else:
            missing, unexpected = adapter.load_state_dict(
                load_legacy_state_dict(legacy), strict=False
            )
    except RuntimeError as e:  # shape mismatches
        raise ValueError(
            f"the weights in {folder} do not fit {adapter_cls.__name__}{hint}: {e}"
        ) from None
    if missing or unexpected:
        raise ValueError(
            f"the weights in {folder} do not fit {adapter_cls.__name__}{hint}: missing "
            f"{sorted(missing)}, unexpected {sorted(unexpected)}"
        )
    return adapter.to(device).eval()
