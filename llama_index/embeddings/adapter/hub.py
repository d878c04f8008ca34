"""Adapters on the Hugging Face Hub: push a folder, load one by its repo id.

Example::

    from llama_index.embeddings.adapter import AdapterEmbeddingModel, load_adapter
    from llama_index.embeddings.adapter.hub import push_adapter_to_hub

    push_adapter_to_hub("model_output", "your-name/bge-small-10k-adapter")  # HfApi, as users know
    adapter = load_adapter("your-name/bge-small-10k-adapter")               # or a folder
    embed_model = AdapterEmbeddingModel(base, "your-name/bge-small-10k-adapter")

A pushed adapter is its folder's files that describe it, nothing else: ``config.json`` and
``model.safetensors`` (the adapter), ``base_model.json`` (the base model it wraps, checked
when it is loaded), ``README.md`` (its card) and ``finetune_settings.json`` (sizes and
scores, no training text). The upload is ``HfApi().create_repo`` then
``HfApi().upload_folder``, so the token, ``HF_ENDPOINT`` and private repos work as for any
Hub upload (``hf auth login`` first). Loading by repo id is ``snapshot_download`` of those
files: cached after the first time, and with ``HF_HUB_OFFLINE=1`` read from the cache only.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from .record import RECORD_NAME
from .utils import CONFIG_NAME, LEGACY_WEIGHTS_NAME, WEIGHTS_NAME

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
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError

    try:
        folder = snapshot_download(
            repo_id, revision=revision, allow_patterns=list(DOWNLOADED_FILES)
        )
    except (LocalEntryNotFoundError, HfHubHTTPError) as e:
        offline = " (HF_HUB_OFFLINE=1: the cache only)" if constants.HF_HUB_OFFLINE else ""
        raise FileNotFoundError(
            f"no folder {repo_id!r}, and the Hub repo {repo_id!r} is not in the cache and "
            f"could not be downloaded{offline}: {str(e).splitlines()[0]}"
        ) from None
    return Path(folder)


def check_pushable(folder: str | os.PathLike) -> list[str]:
    """The files of ``folder`` that a push uploads; raises when the folder is not a
    complete adapter (it is loaded to check it)."""
    from .utils import load_adapter

    path = Path(folder)
    if not path.is_dir():
        raise FileNotFoundError(f"no adapter folder {path}")
    load_adapter(path)  # config and weights present and consistent, or one clear error
    for name, what in (
        (RECORD_NAME, "which base model the adapter wraps (write_base_record)"),
        (CARD_NAME, "the adapter's card"),
    ):
        if not (path / name).is_file():
            raise FileNotFoundError(
                f"{path} has no {name} ({what}): EmbeddingAdapterFinetuneEngine.finetune() "
                "writes it; an adapter without it cannot be used safely by others"
            )
    return [name for name in PUSHED_FILES if (path / name).is_file()]


def push_adapter_to_hub(
    folder: str | os.PathLike,
    repo_id: str,
    *,
    private: bool | None = None,
    token: str | None = None,
    commit_message: str | None = None,
    revision: str | None = None,
    create_pr: bool = False,
) -> str:
    """Upload the adapter in ``folder`` (weights, config, card, base-model record) to the
    Hub repo ``repo_id``, created if needed; returns the commit's (or pull request's) URL.

    Example::

        url = push_adapter_to_hub("model_output", "your-name/bge-small-10k-adapter")

    Other files in the folder (caches, notes, checkpoints) are not uploaded.
    """
    from huggingface_hub import HfApi

    files = check_pushable(folder)
    api = HfApi(token=token)
    repo = api.create_repo(repo_id, private=private, exist_ok=True, repo_type="model")
    info = api.upload_folder(
        repo_id=repo.repo_id,
        folder_path=str(folder),
        allow_patterns=files,
        commit_message=commit_message
        or "Add an embedding adapter (llama-index-finetuning-embeddings)",
        revision=revision,
        create_pr=create_pr,
    )
    return str(info.pr_url if create_pr else info.commit_url)
