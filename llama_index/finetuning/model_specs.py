"""Models from their specs: one grammar for every ``--model``, and the ``--llm`` clients.

Example::

    from llama_index.finetuning.model_specs import build_embed_model, build_llm, parse_spec

    parse_spec("local:my_model")          # Spec(kind='local', value='my_model')
    parse_spec("BAAI/bge-small-en")       # Spec(kind='local', value='BAAI/bge-small-en')
    tuned = build_embed_model("local:finetuned_model")
    adapted = build_embed_model("adapter:my_adapter", base="offline")
    llm = build_llm("openai-like:qwen2.5", api_base="http://localhost:8000/v1")

An embedding model is named the same way for every command: ``offline`` (the bundled
all-MiniLM-L6-v2), ``local:<folder or hub id>`` or the folder or hub id alone (LlamaIndex's
``resolve_embed_model`` spelling and the sentence-transformers one), ``openai:<model>``, and
``adapter:<folder or hub id>`` (an adapter over ``--base``). Each command says which kinds it takes
(``train`` finetunes a sentence-transformers model, so not ``openai:`` nor ``adapter:``). A
hub id is checked before any work: neither cached nor reachable fails at once, in one line.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import SettingError

KINDS = ("offline", "local", "openai", "adapter")
# the kinds a base model may be: one to finetune (a sentence-transformers model), a frozen one
TRAINABLE = ("offline", "local")
BASES = ("offline", "local", "openai")
_SPELLINGS = {
    "offline": "offline",
    "local": "local:<folder or hub id> (or the folder or hub id alone)",
    "openai": "openai:<model>",
    "adapter": "adapter:<folder or hub id>",
}
# Seconds the OpenAI clients wait to connect: a server that does not accept the connection
# in this time is not there (the generation then stops before its second wave).
CONNECT_TIMEOUT = 5.0


@dataclass(frozen=True)
class Spec:
    """A parsed model spec: ``kind`` is one of :data:`KINDS`, ``value`` what follows."""

    kind: str
    value: str = ""


def parse_spec(spec: str, label: str = "", allowed: tuple[str, ...] = KINDS) -> Spec:
    """``spec`` -> :class:`Spec`, or one ``SettingError`` naming ``label`` (default:
    ``--model <spec>``) and what the command takes.

    Example::

        parse_spec("offline")                  # Spec(kind="offline", ...): the bundled MiniLM
        parse_spec("local:BAAI/bge-small-en")  # a folder or hub id, loaded by sentence-transformers
        parse_spec("adapter:my_adapter")       # an adapter over the base model
        parse_spec("gpt:x")                    # SettingError: unknown kind 'gpt'; use ...
    """
    from .resources import OFFLINE_MODEL_ALIASES

    label = label or f"--model {spec}"
    kind, sep, rest = spec.partition(":")
    if spec in OFFLINE_MODEL_ALIASES or spec == "base" or (kind == "local" and not sep):
        parsed = Spec("offline")
    elif kind == "local" and rest in OFFLINE_MODEL_ALIASES:
        parsed = Spec("offline")
    elif kind in ("local", "openai", "adapter") and sep:
        if not rest:
            raise SettingError(f"{label}: name the model after '{kind}:'")
        parsed = Spec(kind, rest)
    elif sep and not Path(spec).exists() and not (len(kind) == 1 and kind.isalpha()):
        raise SettingError(f"{label}: unknown kind {kind!r}; use {_takes(allowed)}")
    else:
        parsed = Spec("local", spec)  # a folder or hub id as it is (C:\\... is a folder)
    if parsed.kind not in allowed:
        raise SettingError(f"{label}: this command takes {_takes(allowed)}")
    return parsed


def _takes(allowed: tuple[str, ...]) -> str:
    return " | ".join(_SPELLINGS[k] for k in allowed)


def model_id(spec: Spec) -> str:
    """What a sentence-transformers engine loads: ``"offline"``, a folder or a hub id."""
    return "offline" if spec.kind == "offline" else str(Path(spec.value).expanduser())


def check_model(spec: Spec, label: str = "") -> bool:
    """Fail at once for a local model that cannot be had: no such folder, or a hub id that
    is neither cached nor reachable. True when a hub model must come from the cache alone."""
    label = label or f"--model {spec.kind}:{spec.value}"
    if spec.kind == "adapter":
        if not Path(spec.value).is_dir():
            from llama_index.embeddings.adapter.folder import adapter_folder, looks_like_repo_id

            if not looks_like_repo_id(spec.value):
                raise SettingError(f"{label}: no such adapter folder")
            try:  # a Hub repo id: downloaded (or found in the cache) before any work
                adapter_folder(spec.value)
            except FileNotFoundError as e:
                raise SettingError(f"{label}: {e}") from None
        return False
    if spec.kind != "local":
        return False
    from .embeddings.base_models import _looks_like_path, check_hub_model

    path = Path(spec.value).expanduser()
    if path.is_dir():
        return False
    if _looks_like_path(spec.value):
        raise SettingError(
            f"{label}: no such model folder; give a sentence-transformers "
            "folder, a Hugging Face Hub id, or offline (the bundled all-MiniLM-L6-v2)"
        )
    try:
        local_only = check_hub_model(spec.value)
    except ValueError as e:  # a BaseModelError keeps its advice as data
        raise SettingError(*getattr(e, "parts", (str(e),))) from None
    if local_only:  # the command goes on without the hub: no retries anywhere later
        from huggingface_hub import constants

        if not _hub_mode_before:
            _hub_mode_before.append((os.environ.get("HF_HUB_OFFLINE"), constants.HF_HUB_OFFLINE))
        os.environ["HF_HUB_OFFLINE"] = "1"
        constants.HF_HUB_OFFLINE = True
    return local_only


_hub_mode_before: list[tuple[str | None, bool]] = []  # what check_model changed


def reset_models() -> None:
    """Undo what one command left in the process (``main`` may be called again in it): the
    models it loaded, and the hub's offline mode that :func:`check_model` set."""
    build_embed_model.cache_clear()
    build_llm.cache_clear()
    if _hub_mode_before:
        from huggingface_hub import constants

        env, constants.HF_HUB_OFFLINE = _hub_mode_before.pop()
        if env is None:
            os.environ.pop("HF_HUB_OFFLINE", None)
        else:
            os.environ["HF_HUB_OFFLINE"] = env


@functools.lru_cache(maxsize=8)  # `run` needs the base model for the adapter and the report
def build_embed_model(spec: str, base: str = "offline") -> Any:
    """A LlamaIndex embedding model from its spec (see the module docstring)."""
    parsed = parse_spec(spec)
    check_model(parsed)
    if parsed.kind in ("offline", "local"):
        from llama_index.embeddings.huggingface import HuggingFaceEmbedding

        from .resources import resolve_model_id

        name = resolve_model_id(None if parsed.kind == "offline" else model_id(parsed))
        kwargs: dict[str, Any] = {}
        if not Path(name).is_dir():
            from huggingface_hub import constants

            # the Hugging Face cache, as train's and check_model's (not llama-index's own)
            kwargs["cache_folder"] = constants.HF_HUB_CACHE
        else:
            from .embeddings.base_models import saved_prompts

            query_prompt, passage_prompt = saved_prompts(name)
            kwargs = {
                "query_instruction": query_prompt or None,
                "text_instruction": passage_prompt or None,
            }
        try:
            return HuggingFaceEmbedding(model_name=name, **kwargs)
        except OSError as e:
            raise SettingError(f"embedding model {spec!r} could not be loaded: {e}") from None
    if parsed.kind == "openai":
        from llama_index.embeddings.openai import OpenAIEmbedding

        return OpenAIEmbedding(model=parsed.value)
    from llama_index.embeddings.adapter import AdapterEmbeddingModel

    parse_spec(base, f"--base {base}", ("offline", "local", "openai"))
    return AdapterEmbeddingModel(build_embed_model(base), parsed.value)


# ---- LLMs -------------------------------------------------------------------------------


def check_llm_spec(
    spec: str,
    api_base: str | None = None,
    api_key: str | None = None,
    temperature: float | None = None,
) -> None:
    """Refuse, before any work, an LLM spec that cannot answer (no API key, no server URL).

    Example::

        check_llm_spec("openai-like:qwen2.5", api_base="http://localhost:8000/v1")
    """
    kind, _, model = spec.partition(":")
    if kind == "openai" and model and not (api_key or os.environ.get("OPENAI_API_KEY")):
        raise SettingError(f"--llm {spec} needs an API key: set OPENAI_API_KEY or pass --api-key")
    if kind == "openai-like" and model and not api_base:
        raise SettingError(
            "--llm openai-like:<model> needs --api-base URL (e.g. http://localhost:8000/v1)"
        )
    if kind == "gguf" or not (spec == "local" or (kind in ("openai", "openai-like") and model)):
        build_llm(spec, api_base, api_key, temperature)  # its error, now


def _fast_failing(cls: type[Any]) -> type[Any]:
    """``cls`` (an OpenAI client class of llama-index) whose connection attempt gives up
    after :data:`CONNECT_TIMEOUT` s and that does not retry by itself: generation retries,
    with back-off, and stops at once when the server cannot be reached. The class keeps
    its name: it is part of the fingerprint under which finished chunks are resumed."""

    def _get_credential_kwargs(self: Any, is_async: bool = False) -> dict[str, Any]:
        import httpx

        kwargs = cls._get_credential_kwargs(self, is_async)
        kwargs["timeout"] = httpx.Timeout(self.timeout, connect=CONNECT_TIMEOUT)
        return kwargs

    return type(cls.__name__, (cls,), {"_get_credential_kwargs": _get_credential_kwargs})


@functools.lru_cache(maxsize=4)  # `run` asks twice (train and val files): load the model once
def build_llm(
    spec: str,
    api_base: str | None = None,
    api_key: str | None = None,
    temperature: float | None = None,
) -> Any:
    """``local`` | ``gguf:<file>`` | ``openai:<model>`` | ``openai-like:<model>`` (with
    ``api_base``) -> an LLM; ``temperature``: its sampling temperature (None: its own)."""
    kind, _, model = spec.partition(":")
    sampling = {} if temperature is None else {"temperature": temperature}
    if kind == "local":
        from .llms.local import LocalLLM

        return LocalLLM(**sampling)
    if kind == "gguf":
        from .llms.local import LocalLLM

        path = Path(model).expanduser()
        if not model or not path.is_file():
            raise SettingError(f"--llm gguf:{model}: no such file; give the path of a .gguf model")
        with open(path, "rb") as file:
            if file.read(4) != b"GGUF":
                raise SettingError(f"--llm gguf:{model}: {path} is not a GGUF model file")
        return LocalLLM(model_path=str(path), **sampling)
    # the generation's own timeout (120 s a call) is the one that counts
    client = {"max_retries": 0, "timeout": 120.0, **sampling}
    if kind == "openai" and model:
        from llama_index.llms.openai import OpenAI

        return _fast_failing(OpenAI)(model=model, api_base=api_base, api_key=api_key, **client)
    if kind == "openai-like" and model:
        if not api_base:
            raise SettingError(
                "--llm openai-like:<model> needs --api-base URL (e.g. http://localhost:8000/v1)"
            )
        from llama_index.llms.openai_like import OpenAILike

        return _fast_failing(OpenAILike)(
            model=model,
            api_base=api_base,
            api_key=api_key or "none",
            is_chat_model=True,
            context_window=8192,
            **client,
        )
    raise SettingError(
        f"unknown --llm {spec!r}: use local, gguf:<file>, openai:<model> or openai-like:<model>"
    )
