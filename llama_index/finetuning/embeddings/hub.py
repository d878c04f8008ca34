"""Share a finetuned model or an adapter on the Hugging Face Hub, with this package's card.

Example::

    from llama_index.finetuning.embeddings.hub import push_to_hub

    push_to_hub("test_model", "your-name/bge-small-10k")            # a finetuned model
    push_to_hub("model_output", "your-name/bge-small-10k-adapter")  # an adapter folder
    # or, after training: engine.push_to_hub("your-name/bge-small-10k")

    # elsewhere:
    HuggingFaceEmbedding(model_name="your-name/bge-small-10k")
    AdapterEmbeddingModel(base, "your-name/bge-small-10k-adapter")

A finetuned model goes up through sentence-transformers' own
``SentenceTransformer.push_to_hub`` (``HfApi().create_repo`` and ``upload_folder``) from a
copy of its folder: the card this package wrote (its section first, then the one
sentence-transformers wrote) is kept, with the card's loading lines naming the repo instead
of the folder; this package's folder marker and ``checkpoints/`` stay home. An adapter goes
up through :func:`llama_index.embeddings.adapter.hub.push_adapter_to_hub`. Log in first
(``hf auth login``, or ``HF_TOKEN``); ``HF_ENDPOINT`` points it at another Hub.
:func:`stage_for_hub` builds the exact folder that would be uploaded, to look at first.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path

from llama_index.embeddings.adapter.folder import CARD_NAME, CONFIG_NAME
from llama_index.embeddings.adapter.hub import check_pushable, push_adapter_to_hub
from llama_index.embeddings.adapter.record import RECORD_NAME
from llama_index.embeddings.adapter.utils import saved_adapter_class

KEPT_HOME = ("checkpoints",)  # folders of a model output that are not part of the model


def folder_kind(model_path: str | os.PathLike) -> str:
    """``"model"`` (a sentence-transformers folder) or ``"adapter"``; raises for anything else."""
    path = Path(model_path)
    if (path / "modules.json").is_file() or (path / "config_sentence_transformers.json").is_file():
        return "model"
    if (path / CONFIG_NAME).is_file() and saved_adapter_class(path) is not None:
        return "adapter"
    if (path / RECORD_NAME).is_file():
        return "adapter"
    raise FileNotFoundError(
        f"{path} is neither a finetuned model (no modules.json) nor an adapter folder (no "
        "config.json + model.safetensors): pass the model_output_path of a finished finetune()"
    )


def hub_files(model_path: str | os.PathLike) -> list[str]:
    """The files (relative, ``/``-separated) a push of ``model_path`` uploads."""
    path = Path(model_path)
    if folder_kind(path) == "adapter":
        return check_pushable(path)
    files = []
    for file in sorted(path.rglob("*")):
        relative = file.relative_to(path)
        # hidden: this package's folder marker (.llamaindex-finetune.json) and the like
        hidden = any(part.startswith(".") for part in relative.parts)
        if file.is_file() and not hidden and relative.parts[0] not in KEPT_HOME:
            files.append(relative.as_posix())
    return files


def card_for_repo(card: str, folder_name: str, repo_id: str) -> str:
    """The card's loading lines with the Hub repo in place of the local folder."""
    card = re.sub(
        rf'"{re.escape(folder_name)}"(.*?)\)  # this folder',
        rf'"{repo_id}"\1)  # from the Hub',
        card,
    )
    return card.replace(f'"local:{folder_name}"', f'"local:{repo_id}"')


def stage_for_hub(model_path: str | os.PathLike, into: str | os.PathLike, repo_id: str) -> Path:
    """Build in ``into`` (which must not exist) the exact folder a push to ``repo_id`` uploads.

    Example::

        stage_for_hub("test_model", "/tmp/upload", "your-name/bge-small-10k")
        SentenceTransformer("/tmp/upload")   # what users of the repo will load
    """
    source, target = Path(model_path), Path(into)
    if target.exists():
        raise FileExistsError(f"{target} exists: stage_for_hub writes a new folder")
    for relative in hub_files(source):
        destination = target / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        if relative == CARD_NAME:
            text = (source / relative).read_text(encoding="utf-8")
            destination.write_text(card_for_repo(text, source.name, repo_id), encoding="utf-8")
            continue
        try:  # a model's weights: linked, not copied, where the file system allows
            os.link(source / relative, destination)
        except OSError:
            shutil.copy2(source / relative, destination)
    return target


def push_to_hub(
    model_path: str | os.PathLike,
    repo_id: str,
    *,
    private: bool | None = None,
    token: str | None = None,
    commit_message: str | None = None,
    create_pr: bool = False,
) -> str:
    """Upload the finetuned model or adapter in ``model_path`` to the Hub repo ``repo_id``
    (created if needed), card included; returns the commit's (or pull request's) URL.

    Example::

        url = push_to_hub("test_model", "your-name/bge-small-10k", private=True)
    """
    if folder_kind(model_path) == "adapter":
        with tempfile.TemporaryDirectory() as tmp:
            staged = stage_for_hub(model_path, Path(tmp) / Path(model_path).name, repo_id)
            return push_adapter_to_hub(
                staged, repo_id, private=private, token=token,
                commit_message=commit_message, create_pr=create_pr,
            )  # fmt: skip
    from sentence_transformers import SentenceTransformer

    with tempfile.TemporaryDirectory() as tmp:
        staged = stage_for_hub(model_path, Path(tmp) / Path(model_path).name, repo_id)
        model = SentenceTransformer(str(staged), device="cpu")  # it loads, or nothing is sent
        return model.push_to_hub(
            repo_id, token=token, private=private, commit_message=commit_message,
            local_model_path=str(staged), exist_ok=True, create_pr=create_pr,
        )  # fmt: skip
