"""The two ways a generation run ends without its dataset: an error, or the user's Ctrl-C.

Example::

    try:
        generate_qa_embedding_pairs(nodes=nodes, llm=llm, output_path="train.json")
    except GenerationInterrupted as stop:
        print(f"interrupted: {stop.saved} chunks saved to {stop.journal}; rerun to resume")
    except GenerationError as e:
        print(f"error: {e}")
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..async_utils import background_loop
from .identity import llm_identity


class GenerationError(RuntimeError):
    """The run cannot do what was asked (the LLM is unusable, every chunk failed, the gate kept
    no question); the message names the cause and what to do. ``rerun_asks``: a rerun
    of the same call, once the cause is fixed, asks the LLM for the chunks again (not so when
    the gate kept nothing: the saved answers are gated again).

    Example::

        from llama_index.finetuning import GenerationError, generate_qa_embedding_pairs

        try:
            pairs = generate_qa_embedding_pairs(nodes, llm=llm, output_path="train.json")
        except GenerationError as error:
            print(error, "| a rerun asks the LLM again:", error.rerun_asks)
    """

    def __init__(self, message: str, *, rerun_asks: bool = False) -> None:
        super().__init__(message)
        self.rerun_asks = rerun_asks


class GenerationInterrupted(KeyboardInterrupt):
    """Ctrl-C during generation; ``saved`` finished chunks are in ``journal`` for a rerun."""

    def __init__(self, saved: int, journal: Path | None) -> None:
        self.saved, self.journal = saved, journal
        where = journal if journal is not None else "memory only (no output_path)"
        super().__init__(
            f"interrupted: {saved} chunks saved to {where}; rerun the same command to resume"
        )


def retry_after_seconds(error: BaseException) -> float | None:
    response = getattr(error, "response", None)
    headers = getattr(response, "headers", None) or {}
    value = headers.get("retry-after")
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


_CONNECT_ERRORS = ("ConnectError", "ConnectTimeout")


def not_worth_retrying(error: BaseException) -> bool:
    """Authentication, permission, model not found, no API key, a server that refuses the
    connection, does not resolve or does not connect."""
    status = getattr(error, "status_code", None)
    if status is None:
        status = getattr(getattr(error, "response", None), "status_code", None)
    if status in (401, 403, 404):
        return True
    seen: BaseException | None = error
    while seen is not None:
        text = str(seen).lower()
        if isinstance(seen, ConnectionRefusedError) or "connection refused" in text:
            return True
        # the server could not be reached at all: its name does not resolve, or nothing
        # accepted the connection (httpx's ConnectError / ConnectTimeout under openai's
        # APIConnectionError / APITimeoutError); a read error after connecting is retried
        if isinstance(seen, socket.gaierror) or type(seen).__name__ in _CONNECT_ERRORS:
            return True
        if "api key" in text or "api_key" in text or "missing credentials" in text:
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def endpoint(llm: Any) -> str:
    """The LLM and where it is served, for error messages."""
    base = getattr(llm, "api_base", None) or getattr(llm, "base_url", None)
    return f"{llm_identity(llm)}" + (f" at {base}" if base else "")


@dataclass
class RunState:
    """Shared by a run and the sync wrapper, which reports a Ctrl-C from it."""

    saved: int = 0
    journal: Path | None = None
    finished: threading.Event = field(default_factory=threading.Event)
    # (message, warning class): the wrapper warns, in its caller's thread
    warnings: list[tuple[str, type[Warning]]] = field(default_factory=list)


def settle(timeout: float) -> None:
    """Let the cancelled calls unwind on the package's loop before the caller exits: a
    thread still inside an extension module when Python shuts down can abort the process."""

    async def others_done() -> None:
        me = asyncio.current_task()
        pending = [t for t in asyncio.all_tasks() if t is not me]
        if pending:
            await asyncio.wait(pending, timeout=timeout)

    with contextlib.suppress(Exception):
        asyncio.run_coroutine_threadsafe(others_done(), background_loop()).result(timeout + 1)
