"""Run coroutines from sync code, on one long-lived event loop shared by the package.

Example::

    from llama_index.finetuning.async_utils import run_sync

    dataset = run_sync(agenerate_qa_embedding_pairs(nodes=nodes, llm=llm))

Why not ``asyncio.run`` or llama-index-core's ``asyncio_run``: API clients (the httpx
``AsyncClient`` inside OpenAI models, which llama-index reuses between calls) bind to the
loop they first ran on, so a second ``asyncio.run`` hands them a closed loop ("Event loop
is closed"); and ``asyncio_run`` rewrites every RuntimeError of the coroutine into a
"nested async" message. One loop in a daemon thread serves every sync call of the process,
in scripts and in Jupyter (whose own loop keeps running, untouched).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

_loop: asyncio.AbstractEventLoop | None = None
_lock = threading.Lock()


def background_loop() -> asyncio.AbstractEventLoop:
    """The package's event loop, started on first use in a daemon thread."""
    global _loop
    with _lock:
        if _loop is None or _loop.is_closed():
            _loop = asyncio.new_event_loop()
            threading.Thread(
                target=_loop.run_forever, name="llama-index-finetuning-loop", daemon=True
            ).start()
        return _loop


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` to completion on the package's loop and return its result (or raise)."""
    loop = background_loop()
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if running is loop:
        coro.close()
        raise RuntimeError(
            "run_sync was called from inside the package's loop: await the coroutine"
        )
    future = asyncio.run_coroutine_threadsafe(coro, loop)
    try:
        return future.result()
    except KeyboardInterrupt:
        future.cancel()
        raise
