"""Fixtures only (the helpers the tests share are in ``support/``): the local
OpenAI-compatible server, stopped after each test, and how the workers share the cores."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
sys.path.insert(0, str(Path(__file__).parent))


def _share_the_cores() -> None:
    """Under ``pytest -n N``, each worker (and the subprocesses it starts) keeps to its own
    share of the cores: torch and llama.cpp size their threads by the cores they may use, and
    two workers each spinning two threads on two cores made a llama.cpp test take 183 s, not 13."""
    worker, count = (
        os.environ.get("PYTEST_XDIST_WORKER"),
        os.environ.get("PYTEST_XDIST_WORKER_COUNT"),
    )
    if not worker or not count or int(count) < 2:
        return
    index, count = int(worker.removeprefix("gw")), int(count)
    if hasattr(os, "sched_setaffinity"):
        cores = sorted(os.sched_getaffinity(0))
        share = len(cores) // count
        if share >= 1 and index < count:
            os.sched_setaffinity(0, cores[index * share : (index + 1) * share])
            return
    # no affinity here (macOS): torch reads this when first imported
    os.environ.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // count)))


_share_the_cores()


def pytest_configure(config: pytest.Config) -> None:
    """Under ``--dist loadfile`` the files go to the workers in file order, not most tests
    first: that order left the two slowest short files (test_examples.py, test_distributed.py,
    ~65 s together) to the end and to one worker, which takes a file while its last two tests
    run, so the other worker idled for up to a minute at the end of ``make test``."""
    if getattr(config.option, "loadscopereorder", False):
        config.option.loadscopereorder = False


from support.openai_server import FakeOpenAIServer  # noqa: E402


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
