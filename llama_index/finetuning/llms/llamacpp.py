"""LocalLLM's llama.cpp runtime: llama.cpp's own server, in this process, via ``xllamacpp``.

Example::

    from llama_index.finetuning.llms import LocalLLM

    llm = LocalLLM(runtime="llamacpp", n_parallel=2)   # drives a LlamaCppRuntime
    llm.complete("Name a planet.").text

``xllamacpp`` (MIT, prebuilt CPU wheels for Linux x86-64/arm64 and macOS) embeds llama.cpp's
server: the model loads in about a second, the server applies the GGUF's own chat template,
and its ``n_parallel`` slots answer that many requests at once with continuous batching.
Calls beyond the slots wait here, in a queue with no timeout, so none times out in the
server's. The server also listens on a random 127.0.0.1 port; it gets a random API key so
that nothing outside this process can use it.
"""

from __future__ import annotations

import asyncio
import os
import queue
import secrets
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the module loads alone: it imports nothing of the package at run time
    from .runtime import RuntimeSettings

# Slots when LocalLLM.n_parallel is None: prompts of ~850 tokens on 2 busy cores gave the most
# chunks per second with this many (benchmarks/experiments/results/local_runtime.md).
DEFAULT_SLOTS = 4


def import_xllamacpp() -> Any:
    """Import ``xllamacpp`` with OpenMP threads that sleep while they wait.

    OpenMP threads spin by default; next to other jobs on a small machine two spinning
    threads made a chunk take 94-127 s instead of 5-12 s. ``OMP_WAIT_POLICY`` is read when
    the binding loads OpenMP, so it is set (to ``PASSIVE``, unless the user set it) only
    around the import, and other libraries loaded later do not see it.
    """
    if sys.modules.get("xllamacpp") is not None:
        return sys.modules["xllamacpp"]
    set_here = "OMP_WAIT_POLICY" not in os.environ
    if set_here:
        os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
    try:
        import xllamacpp
    finally:
        if set_here:
            os.environ.pop("OMP_WAIT_POLICY", None)
    return xllamacpp


class LlamaCppError(RuntimeError):
    """llama.cpp's server answered a request with an error."""


class LlamaCppRuntime:
    """One llama.cpp server for one ``LocalLLM``; its settings are read from the LLM."""

    def __init__(self, llm: RuntimeSettings, path: Path, threads: int) -> None:
        self.llm = llm
        self.path = path
        self.threads = threads
        self.slots = llm.n_parallel or DEFAULT_SLOTS
        self._server: Any = None
        self._executor = ThreadPoolExecutor(self.slots, thread_name_prefix="llamacpp")

    @property
    def max_parallel_requests(self) -> int:
        return self.slots

    def load(self) -> LlamaCppRuntime:
        if self._server is not None:
            return self
        xlc = import_xllamacpp()
        params = xlc.CommonParams()
        params.model.path = str(self.path)
        params.n_parallel = self.slots
        params.n_ctx = self.llm.context_window * self.slots  # each slot gets context_window
        for cpu in (params.cpuparams, params.cpuparams_batch):
            cpu.n_threads = self.threads
            cpu.poll = 0  # llama.cpp's own threadpool: no busy-waiting either
        params.warmup = False
        params.verbosity = 0  # no per-request log lines between the caller's progress lines
        params.sampling.seed = self.llm.seed
        params.api_keys = [secrets.token_hex(16)]
        sigint = signal.getsignal(signal.SIGINT)
        try:
            server = xlc.Server(params)
        except RuntimeError as error:
            raise ValueError(
                f"llama.cpp could not load {self.path}: {error}; is it a GGUF model file?"
            ) from error
        if threading.current_thread() is threading.main_thread() and callable(sigint):
            signal.signal(signal.SIGINT, sigint)  # Ctrl-C stays a KeyboardInterrupt
        self._server = server
        return self

    def close(self) -> None:
        """Free the model and its KV cache; calls still waiting in the queue are dropped."""
        self._server = None
        self._executor.shutdown(wait=False, cancel_futures=True)

    # -- requests ------------------------------------------------------------------------

    def _body(self, **extra: Any) -> dict[str, Any]:
        llm = self.llm
        return {
            "max_tokens": llm.max_new_tokens,
            "temperature": llm.temperature,  # 0: greedy
            "top_p": llm.top_p,
            "repeat_penalty": llm.repetition_penalty,
            "seed": llm.seed,
            **extra,
        }

    def _messages(self, prompt: str) -> list[dict[str, str]]:
        messages = [{"role": "user", "content": prompt}]
        if self.llm.system_prompt:
            messages.insert(0, {"role": "system", "content": self.llm.system_prompt})
        return messages

    def _generate(
        self,
        on_piece: Callable[[str], None],
        prompt: str | None = None,
        messages: list[dict[str, str]] | None = None,
        stop: threading.Event | None = None,
        fields: dict[str, Any] | None = None,
    ) -> None:
        """Stream one answer into ``on_piece``; ``stop`` (when set) ends it early.

        ``fields`` are sent with the request over the LLM's own (``grammar``, ``stop``, ...).
        """
        self.load()
        errors: list[dict[str, Any]] = []

        def on_chunk(chunk: dict[str, Any]) -> bool:
            if "choices" not in chunk:  # the server's error answer
                errors.append(chunk)
                return True
            for choice in chunk["choices"]:
                piece = (choice.get("delta") or {}).get("content") or choice.get("text") or ""
                if piece:
                    on_piece(piece)
            return stop is not None and stop.is_set()

        body = {**self._body(**(fields or {})), "stream": True}
        if messages is not None:
            self._server.handle_chat_completions({**body, "messages": messages}, on_chunk)
        else:
            self._server.handle_completions({**body, "prompt": prompt}, on_chunk)
        if errors:
            raise _error(errors[0])

    def request(
        self,
        prompt: str | None = None,
        messages: list[dict[str, str]] | None = None,
        stop: threading.Event | None = None,
        fields: dict[str, Any] | None = None,
    ) -> str:
        """One answer: to ``messages`` in the chat template, or to ``prompt`` sent as is."""
        pieces: list[str] = []
        self._generate(pieces.append, prompt, messages, stop, fields)
        return "".join(pieces).strip()

    def complete(
        self,
        prompt: str,
        formatted: bool = False,
        stop: Any = None,
        fields: dict[str, Any] | None = None,
    ) -> str:
        if formatted:
            return self.request(prompt=prompt, stop=stop, fields=fields)
        return self.request(messages=self._messages(prompt), stop=stop, fields=fields)

    def chat(
        self, messages: list[dict[str, str]], stop: Any = None, fields: dict[str, Any] | None = None
    ) -> str:
        return self.request(messages=messages, stop=stop, fields=fields)

    async def _in_executor(self, call: Callable[..., str], *args: Any, **kwargs: Any) -> str:
        # At most `slots` calls are in the server; the rest wait in the executor's queue (no
        # timeout). A cancelled call (a caller's timeout, Ctrl-C) stops its generation.
        stop = threading.Event()
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(
                self._executor, partial(call, *args, stop=stop, **kwargs)
            )
        except asyncio.CancelledError:
            stop.set()
            raise

    async def acomplete(
        self, prompt: str, formatted: bool = False, fields: dict[str, Any] | None = None
    ) -> str:
        return await self._in_executor(self.complete, prompt, formatted, fields=fields)

    async def achat(
        self, messages: list[dict[str, str]], fields: dict[str, Any] | None = None
    ) -> str:
        return await self._in_executor(self.chat, messages, fields=fields)

    def stream(
        self, prompt: str, formatted: bool = False, fields: dict[str, Any] | None = None
    ) -> Iterator[str]:
        """The answer's pieces as the model writes them."""
        pieces: queue.Queue[Any] = queue.Queue()
        stop = threading.Event()
        done = object()

        def run() -> None:
            try:
                if formatted:
                    self._generate(pieces.put, prompt=prompt, stop=stop, fields=fields)
                else:
                    messages = self._messages(prompt)
                    self._generate(pieces.put, messages=messages, stop=stop, fields=fields)
            except Exception as error:  # noqa: BLE001  re-raised in the caller's thread
                pieces.put(error)
            pieces.put(done)

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        try:
            while (piece := pieces.get()) is not done:
                if isinstance(piece, Exception):
                    raise piece
                yield piece
        finally:
            stop.set()
            thread.join()


def _error(response: dict[str, Any]) -> Exception:
    error = response.get("error", response)
    message = error.get("message", str(response)) if isinstance(error, dict) else str(error)
    if "context" in message.lower():
        return ValueError(f"{message}: the prompt exceeds the context window; use smaller chunks")
    return LlamaCppError(f"llama.cpp: {message}")
