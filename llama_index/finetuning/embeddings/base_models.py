"""Which base model to finetune, how to load it, and which query/passage prompts it expects.

Example::

    from llama_index.finetuning.embeddings.base_models import (
        default_model_id, known_prompts, load_sentence_transformer, offline_embed_model,
    )

    model_id = default_model_id()     # "BAAI/bge-small-en" when it can be had, else the bundled MiniLM
    model = load_sentence_transformer(model_id, device="cpu")
    known_prompts("BAAI/bge-small-en")  # ("Represent this sentence for searching relevant passages: ", "")
    base = offline_embed_model()      # the bundled all-MiniLM-L6-v2 as a LlamaIndex BaseEmbedding

Nothing here downloads anything unless the caller names a hub model that is not cached and
the hub is reachable (then sentence-transformers downloads it, as it always does). A hub id
that is neither cached nor reachable fails at once (:func:`check_hub_model`: one request
with a short timeout), not after the download's retries.
"""

from __future__ import annotations

import fnmatch
import logging
import os
from pathlib import Path
from typing import Any

from ..phrasing import PhrasedError, Setting
from ..resources import OFFLINE_MODEL_ALIASES, resolve_model_id

logger = logging.getLogger(__name__)

#: The base model of the llama-index tutorials (and of llama-index-finetuning 0.4).
TUTORIAL_MODEL_ID = "BAAI/bge-small-en"

_BGE_EN_QUERY = "Represent this sentence for searching relevant passages: "

#: Model id pattern (lower case, fnmatch) -> (query prompt, passage prompt), first match wins.
#: These are the prompts the model authors document for retrieval.
KNOWN_PROMPTS: list[tuple[str, tuple[str, str]]] = [
    ("baai/bge-*-zh*", ("为这个句子生成表示以用于检索相关文章：", "")),
    ("baai/bge-m3*", ("", "")),
    ("baai/bge-*", (_BGE_EN_QUERY, "")),
    ("mixedbread-ai/mxbai-embed-*", (_BGE_EN_QUERY, "")),
    ("snowflake/snowflake-arctic-embed-*", (_BGE_EN_QUERY, "")),
    ("intfloat/*e5-*instruct*", ("", "")),
    ("intfloat/*e5-*", ("query: ", "passage: ")),
    ("nomic-ai/nomic-embed-text-*", ("search_query: ", "search_document: ")),
]

# keys under which sentence-transformers models store their passage prompt
_PASSAGE_PROMPT_KEYS = ("document", "passage", "text", "corpus", "search_document")


def hub_offline() -> bool:
    """Whether the Hugging Face Hub is off (``HF_HUB_OFFLINE``, read now and at import)."""
    from huggingface_hub import constants

    env = os.environ.get("HF_HUB_OFFLINE", "0").lower() in ("1", "true", "yes", "on")
    return env or bool(constants.HF_HUB_OFFLINE)


def hub_cached(repo_id: str) -> bool:
    """Whether the Hugging Face cache holds ``repo_id`` (its modules.json or config.json)."""
    from huggingface_hub import try_to_load_from_cache

    files = ("modules.json", "config.json")
    return any(isinstance(try_to_load_from_cache(repo_id, f), str) for f in files)


MODEL_ID = Setting("model_id")  # said model_id in Python, --model on the command line
OFFLINE = Setting("model_id", "offline")


class BaseModelError(PhrasedError, ValueError):
    """A base model that cannot be loaded here; the message names it and what to do.

    Example::

        try:
            check_hub_model("no-such-org/no-such-model")
        except BaseModelError as error:
            print(error)       # "model_id 'no-such-org/...' ...; pass ... or model_id='offline'"
    """


def _not_here(repo_id: str) -> tuple[str | Setting, ...]:
    return (
        f"download it where there is a network (hf download {repo_id}), pass a local folder, "
        "or use ", OFFLINE, " for the bundled all-MiniLM-L6-v2",
    )  # fmt: skip


def check_hub_model(repo_id: str, timeout: float = 3.0) -> bool:
    """Check at once that hub model ``repo_id`` can be loaded; True when it must come from
    the local cache alone (the hub is offline or unreachable), False when it may download.

    Example::

        check_hub_model("BAAI/bge-small-en")   # False online; True cached and offline

    One metadata request with ``timeout`` seconds tells a reachable hub from none (no
    retries); a model that is neither cached nor reachable fails here instead of after the
    download's minute of retries.

    Raises:
        ValueError: ``repo_id`` is neither cached nor reachable, or the hub answers that
            there is no such model; one line naming it and what to do.
    """
    from huggingface_hub import constants, model_info
    from huggingface_hub.errors import HFValidationError, RepositoryNotFoundError

    try:
        cached = hub_cached(repo_id)
    except HFValidationError as e:
        reason = (str(e).splitlines() or [""])[0]
        raise BaseModelError(
            MODEL_ID, f" {repo_id!r} is neither a model folder nor a Hugging Face Hub id "
            f"({reason}); pass a folder, a hub id, or ", OFFLINE,
        ) from None  # fmt: skip
    if hub_offline():
        if cached:
            return True
        raise BaseModelError(
            MODEL_ID, f" {repo_id!r} is not in the Hugging Face cache and the hub is offline "
            "(HF_HUB_OFFLINE is set): ", *_not_here(repo_id),
        )  # fmt: skip
    try:
        model_info(repo_id, timeout=timeout)
    except RepositoryNotFoundError:
        if cached:
            return True
        raise BaseModelError(
            MODEL_ID, f" {repo_id!r}: the Hugging Face Hub ({constants.ENDPOINT}) has no such "
            "model (or it is private: log in with hf auth login); pass a local folder, or ",
            OFFLINE, " for the bundled all-MiniLM-L6-v2",
        ) from None  # fmt: skip
    except Exception as e:  # noqa: BLE001  no network, a proxy, a timeout: not reachable
        if cached:
            logger.info("the hub is not reachable (%s); %s comes from the cache", e, repo_id)
            return True
        reason = (str(e).splitlines() or [""])[0] or type(e).__name__
        raise BaseModelError(
            MODEL_ID, f" {repo_id!r} is not in the Hugging Face cache and the hub at "
            f"{constants.ENDPOINT} cannot be reached ({reason}): ", *_not_here(repo_id),
        ) from None  # fmt: skip
    return False


def offline_embed_model(**kwargs: Any) -> Any:
    """The bundled all-MiniLM-L6-v2 as a LlamaIndex ``BaseEmbedding`` (a
    ``HuggingFaceEmbedding``), loaded with no network.

    Example::

        from llama_index.finetuning import offline_embed_model

        base_embed_model = offline_embed_model()   # where a tutorial says resolve_embed_model(...)
        base_embed_model.get_text_embedding("hello")[:3]

    ``kwargs`` go to ``HuggingFaceEmbedding`` (e.g. ``device="cpu"``). The string spelling
    of the same model, where this package takes one, is ``"offline"``.
    """
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding

    return HuggingFaceEmbedding(model_name=resolve_model_id("offline"), **kwargs)


def hub_model_available(repo_id: str, timeout: float = 3.0) -> bool:
    """Whether ``repo_id`` is in the Hugging Face cache, or (hub not offline) answers within ``timeout``."""
    from huggingface_hub import model_info, try_to_load_from_cache

    if isinstance(try_to_load_from_cache(repo_id, "modules.json"), str):
        return True
    if hub_offline():
        return False
    try:
        model_info(repo_id, timeout=timeout)
    except Exception as e:  # no network, no such repo, gated: all mean "not available"
        logger.info("%s is not reachable on the Hugging Face Hub: %s", repo_id, e)
        return False
    return True


def default_model_id() -> str:
    """The tutorial's ``BAAI/bge-small-en`` if it is cached or reachable, else the bundled MiniLM."""
    if hub_model_available(TUTORIAL_MODEL_ID):
        return TUTORIAL_MODEL_ID
    path = resolve_model_id("offline")
    logger.warning(
        "%s is neither cached nor reachable (HF_HUB_OFFLINE=%s): finetuning the bundled "
        "all-MiniLM-L6-v2 at %s instead. Pass model_id=... to choose.",
        TUTORIAL_MODEL_ID,
        os.environ.get("HF_HUB_OFFLINE", "0"),
        path,
    )
    return path


def known_prompts(model_id: str) -> tuple[str, str]:
    """(query prompt, passage prompt) documented for ``model_id``; ``("", "")`` if unknown."""
    name = str(model_id).replace(os.sep, "/").rstrip("/").lower()
    folder = name.rsplit("/", 1)[-1]  # a local copy is often named after the hub model
    for pattern, prompts in KNOWN_PROMPTS:
        if (
            fnmatch.fnmatch(name, pattern)
            or fnmatch.fnmatch(name, "*/" + pattern)
            or fnmatch.fnmatch(folder, pattern.split("/", 1)[1])
        ):
            return prompts
    return "", ""


def resolve_prompts(
    model_id: str, saved: dict[str, str], query_prompt: str | None, passage_prompt: str | None
) -> tuple[str, str]:
    """The prompts to train, evaluate and serve with.

    An explicit argument wins; then the prompts saved with the model (``query`` and
    ``document``/``passage``/... in ``config_sentence_transformers.json``); then
    :data:`KNOWN_PROMPTS`; else no prompt.
    """
    table_query, table_passage = known_prompts(model_id)
    saved_passage = next((saved[k] for k in _PASSAGE_PROMPT_KEYS if saved.get(k)), None)
    saved_query = saved.get("query") or None
    if saved_query is None and saved_passage is None:
        saved_query, saved_passage = table_query, table_passage
    query = query_prompt if query_prompt is not None else (saved_query or "")
    passage = passage_prompt if passage_prompt is not None else (saved_passage or "")
    return query, passage


def _looks_like_path(model_id: str) -> bool:
    return (
        model_id.startswith((".", "/", "~"))
        or os.sep in model_id.strip("/").replace("/", "", 1)
        or Path(model_id).expanduser().exists()
    )


def load_sentence_transformer(
    model_id: str | None,
    device: str | None = None,
    trust_remote_code: bool = False,
    **kwargs: Any,
):
    """Load ``model_id`` (a hub id, a local folder, ``None``/``"offline"``) as a SentenceTransformer.

    Raises:
        FileNotFoundError: ``model_id`` looks like a path and there is no folder there.
        ValueError: ``model_id`` is neither a local folder nor loadable from the hub; the
            message names it and says what to do.
    """
    from sentence_transformers import SentenceTransformer

    if model_id is None:
        model_id = default_model_id()
    elif model_id in OFFLINE_MODEL_ALIASES:
        model_id = resolve_model_id(model_id)
    path = Path(model_id).expanduser()
    if _looks_like_path(model_id) and not path.is_dir():
        raise FileNotFoundError(
            f"model_id {model_id!r}: there is no model folder at {path.resolve()}; pass an existing "
            "sentence-transformers folder, a Hugging Face Hub id, or model_id='offline' for the "
            "bundled all-MiniLM-L6-v2"
        )
    if not path.is_dir() and check_hub_model(model_id):
        kwargs.setdefault("local_files_only", True)  # the cache, without the hub's retries
    try:
        return SentenceTransformer(
            str(path) if path.is_dir() else model_id,
            device=device,
            trust_remote_code=trust_remote_code,
            **kwargs,
        )
    except (OSError, ValueError) as e:
        if path.is_dir():
            raise BaseModelError(
                MODEL_ID, f" {model_id!r}: the folder exists but is not a loadable model ({e})"
            ) from e
        offline = " (HF_HUB_OFFLINE is set)" if hub_offline() else ""
        reason = (str(e).splitlines() or [""])[0].rstrip(".")
        raise BaseModelError(
            MODEL_ID, f" {model_id!r} is not a local folder and could not be loaded from the "
            f"Hugging Face Hub{offline}: {type(e).__name__}: {reason}. "
            f"Download it first (hf download {model_id}), pass a local folder, or use ",
            OFFLINE, " for the bundled all-MiniLM-L6-v2.",
        ) from e  # fmt: skip


def saved_prompts(path: str | os.PathLike) -> tuple[str, str]:
    """(query prompt, passage prompt) stored in a saved model's config_sentence_transformers.json."""
    import json

    config = Path(path) / "config_sentence_transformers.json"
    prompts = json.loads(config.read_text()).get("prompts", {}) if config.exists() else {}
    passage = next((prompts[k] for k in _PASSAGE_PROMPT_KEYS if prompts.get(k)), "")
    return prompts.get("query", ""), passage
