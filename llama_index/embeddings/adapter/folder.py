"""An adapter's folder: the files it holds, and where it is (a local folder or a Hub repo).

Example::

    from llama_index.embeddings.adapter.folder import adapter_folder

    adapter_folder("model_output")                     # Path("model_output")
    adapter_folder("your-name/bge-small-10k-adapter")  # its files, in the Hugging Face cache

Below both the loader (``utils``) and the upload (``hub``), which each need the file names.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from .record import RECORD_NAME

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
LEGACY_WEIGHTS_NAME = "pytorch_model.bin"
CARD_NAME = "README.md"
SETTINGS_NAME = "finetune_settings.json"  # written by the training side beside the card
# what an adapter repo holds; a legacy .bin is downloaded (for old repos), never pushed
PUSHED_FILES = (CONFIG_NAME, WEIGHTS_NAME, RECORD_NAME, CARD_NAME, SETTINGS_NAME)
DOWNLOADED_FILES = (*PUSHED_FILES, LEGACY_WEIGHTS_NAME)
_REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


def looks_like_repo_id(value: str | os.PathLike) -> bool:
    """True for ``owner/name`` that is not an existing path (a Hub repo id)."""
    text = os.fspath(value)
    return bool(_REPO_ID.match(text)) and not Path(text).exists() and ".." not in text


def adapter_folder(path_or_repo_id: str | os.PathLike, revision: str | None = None) -> Path:
    """The local folder of an adapter: ``path_or_repo_id`` itself, or the Hub repo's files
    downloaded into the Hugging Face cache.

    Example::

        adapter_folder("model_output")                     # Path("model_output")
        adapter_folder("your-name/bge-small-10k-adapter")  # ~/.cache/huggingface/hub/...

    Raises:
        FileNotFoundError: neither a folder nor a repo that could be had (the message says
            which and why: not found, offline and not cached, ...).
    """
    if not looks_like_repo_id(path_or_repo_id):
        return Path(path_or_repo_id)
    repo_id = os.fspath(path_or_repo_id)
    from huggingface_hub import constants, snapshot_download
    from huggingface_hub.errors import HfHubHTTPError, HFValidationError, LocalEntryNotFoundError

    try:
        folder = snapshot_download(
            repo_id, revision=revision, allow_patterns=list(DOWNLOADED_FILES)
        )
    except (LocalEntryNotFoundError, HfHubHTTPError, HFValidationError) as e:
        offline = " (HF_HUB_OFFLINE=1: the cache only)" if constants.HF_HUB_OFFLINE else ""
        raise FileNotFoundError(
            f"no folder {repo_id!r}, and the Hub repo {repo_id!r} is not in the cache and "
            f"could not be downloaded{offline}: {str(e).splitlines()[0]}"
        ) from None
    return Path(folder)
