"""Shared fixtures: the local OpenAI-compatible server, small nodes, the offline base model."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
if os.environ.get("PYTEST_XDIST_WORKER_COUNT"):  # `pytest -n N`: share the cores, don't fight
    # torch reads this when it is first imported; the tests' subprocesses inherit it
    _cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    _threads = (_cores or 1) // int(os.environ["PYTEST_XDIST_WORKER_COUNT"])
    os.environ.setdefault("OMP_NUM_THREADS", str(max(1, _threads)))
sys.path.insert(0, str(Path(__file__).parent))

from openai_server import FakeOpenAIServer  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data" / "10k"


@pytest.fixture
def fake_openai():
    """A factory: ``server = fake_openai(latency=0.05, faults={...})``, stopped after the test."""
    servers: list[FakeOpenAIServer] = []

    def start(**kwargs) -> FakeOpenAIServer:
        server = FakeOpenAIServer(**kwargs).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def openai_llm(server: FakeOpenAIServer, **kwargs):
    """The real llama-index OpenAI client, pointed at the local server, its own retries off."""
    from llama_index.llms.openai import OpenAI

    kwargs.setdefault("max_retries", 0)
    kwargs.setdefault("timeout", 10.0)
    return OpenAI(model="gpt-4o-mini", api_base=server.url, api_key="test", **kwargs)


def make_nodes(n: int, prefix: str = "CHUNK"):
    """``n`` TextNodes with fixed ids and a key ``CHUNK-<i>`` the server recognises."""
    from llama_index.core.schema import TextNode

    return [
        TextNode(id_=f"node-{i}", text=f"{prefix}-{i}: the company reported item {i} in 2021.")
        for i in range(n)
    ]


def default_sigint() -> None:
    """``preexec_fn`` for a child that must take SIGINT as Ctrl-C: a suite started as a
    background job inherits SIGINT ignored, and Python then installs no KeyboardInterrupt."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
