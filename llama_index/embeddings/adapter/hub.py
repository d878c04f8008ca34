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
from pathlib import Path

from .folder import CARD_NAME, PUSHED_FILES, adapter_folder, looks_like_repo_id
from .record import RECORD_NAME
from .utils import load_adapter

__all__ = ["adapter_folder", "check_pushable", "looks_like_repo_id", "push_adapter_to_hub"]


def check_pushable(folder: str | os.PathLike) -> list[str]:
    """The files of ``folder`` that a push uploads; raises when the folder is not a
    complete adapter (it is loaded to check it)."""
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
