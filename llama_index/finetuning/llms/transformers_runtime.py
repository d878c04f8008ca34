"""LocalLLM's transformers runtime: the GGUF de-quantised into a float32 torch model.

Example::

    from llama_index.finetuning.llms import LocalLLM

    llm = LocalLLM(runtime="transformers", max_batch_size=1)   # drives a TransformersRuntime
    llm.complete("Name a planet.").text

The fallback when ``xllamacpp`` is not installed: it needs only torch, transformers and the
``gguf`` package, but loads in 17-34 s instead of about one. Decoding is greedy by default;
with ``temperature > 0`` it samples, seeded with ``seed`` before every batch.

Concurrent ``acomplete`` calls queue for the model (with no timeout), which answers
``max_batch_size`` of them with one padded ``generate``. On a 2-core CPU one at a time is
fastest (the prompt pass dominates and padding only adds work; benchmarks/local_llm.py), so
the default is 1. Greedy answers are the same batched or not.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the module loads alone: it imports nothing of the package at run time
    from .runtime import RuntimeSettings


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


class TransformersRuntime:
    """A torch model and tokenizer for one ``LocalLLM``; its settings are read from the LLM."""

    def __init__(self, llm: RuntimeSettings, path: Path, threads: int) -> None:
        self.llm = llm
        self.path = path
        self.threads = threads
        self._model: Any = None
        self._tokenizer: Any = None
        self._load_lock = threading.Lock()
        self._generate_lock = threading.Lock()
        self._tokenizer_lock = threading.Lock()
        self._batcher: _MicroBatcher | None = None

    @property
    def max_parallel_requests(self) -> int:
        return self.llm.max_batch_size

    def load(self) -> TransformersRuntime:
        with self._load_lock:
            if self._model is not None:
                return self
            import torch
            from transformers import AutoModelForCausalLM, AutoTokenizer

            if torch.get_num_threads() != self.threads:
                torch.set_num_threads(self.threads)
            path = self.path
            tokenizer = AutoTokenizer.from_pretrained(path.parent, gguf_file=path.name)
            model = AutoModelForCausalLM.from_pretrained(path.parent, gguf_file=path.name)
            tokenizer.padding_side = "left"  # new tokens follow every prompt directly
            if tokenizer.pad_token is None:
                tokenizer.pad_token = tokenizer.eos_token
            model.eval()
            self._tokenizer, self._model = tokenizer, model
        return self

    def close(self) -> None:
        """Let go of the model and tokenizer (their memory is freed once no call holds them)."""
        with self._load_lock:
            self._model = self._tokenizer = self._batcher = None

    @property
    def tokenizer(self) -> Any:
        return self.load()._tokenizer

    # -- prompts -------------------------------------------------------------------------

    def format_messages(self, messages: list[dict[str, str]]) -> str:
        """The messages in the model's chat template, ending where the assistant writes."""
        return self.tokenizer.apply_chat_template(
            messages, tokenize=False, add_generation_prompt=True
        )

    def format_prompt(self, prompt: str, formatted: bool = False) -> str:
        if formatted:
            return prompt
        messages = [{"role": "user", "content": prompt}]
        if self.llm.system_prompt:
            messages.insert(0, {"role": "system", "content": self.llm.system_prompt})
        return self.format_messages(messages)

    def _tokenize(self, texts: list[str], **kwargs: Any) -> Any:
        # A fast tokenizer used from two threads at once can raise "Already borrowed".
        with self._tokenizer_lock:
            return self.tokenizer(texts, add_special_tokens=False, **kwargs)

    def prepare(self, prompt: str, formatted: bool = False) -> str:
        """The prompt as the model will read it; raises if it does not fit the context."""
        text = self.format_prompt(prompt, formatted)
        n = len(self._tokenize([text])["input_ids"][0])
        if n + self.llm.max_new_tokens > self.llm.context_window:
            raise ValueError(
                f"prompt of {n} tokens + max_new_tokens={self.llm.max_new_tokens} exceeds the "
                f"context window of {self.llm.context_window}: use smaller chunks"
            )
        return text

    # -- generation ----------------------------------------------------------------------

    def _generate_options(self) -> dict[str, Any]:
        """Keyword arguments of ``model.generate``; seeds torch when sampling."""
        llm = self.llm
        options: dict[str, Any] = {
            "max_new_tokens": llm.max_new_tokens,
            "repetition_penalty": llm.repetition_penalty,
            "pad_token_id": self._tokenizer.pad_token_id,
        }
        if llm.temperature > 0:
            import torch

            torch.manual_seed(llm.seed)
            options.update(do_sample=True, temperature=llm.temperature, top_p=llm.top_p)
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

    def complete(self, prompt: str, formatted: bool = False) -> str:
        return self.generate_batch([self.prepare(prompt, formatted)])[0]

    def chat(self, messages: list[dict[str, str]]) -> str:
        return self.complete(self.format_messages(messages), formatted=True)

    async def acomplete(self, prompt: str, formatted: bool = False) -> str:
        loop = asyncio.get_running_loop()
        if self._batcher is None or not self._batcher.serves(loop):
            self._batcher = _MicroBatcher(self.generate_batch, self.llm.max_batch_size)
        batcher = self._batcher
        batcher.arrive()
        try:
            # Checked before batching, so that a prompt too long fails alone, not its batch.
            text = await asyncio.to_thread(self.prepare, prompt, formatted)  # 1st call loads
        except BaseException:
            batcher.leave()
            raise
        return await batcher.submit(text)

    async def achat(self, messages: list[dict[str, str]]) -> str:
        text = await asyncio.to_thread(self.format_messages, messages)
        return await self.acomplete(text, formatted=True)

    def stream(self, prompt: str, formatted: bool = False) -> Iterator[str]:
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
        yield from streamer
        thread.join()
