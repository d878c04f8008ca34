"""run_sync: one loop for the package, errors kept as they are, usable under a running loop."""

from __future__ import annotations

import asyncio

import pytest

from llama_index.finetuning.async_utils import run_sync


async def fail():
    raise RuntimeError("the coroutine's own message")


def test_errors_of_the_coroutine_come_back_unchanged():
    with pytest.raises(RuntimeError, match="the coroutine's own message"):
        run_sync(fail())


def test_an_api_client_survives_several_sync_calls(fake_openai):
    """httpx async clients bind to a loop: a fresh loop per call broke the second call."""
    from llama_index.embeddings.openai import OpenAIEmbedding

    asyncio.run(asyncio.sleep(0))  # what any earlier asyncio.run in the process leaves behind
    server = fake_openai()
    model = OpenAIEmbedding(
        model="text-embedding-3-small", api_base=server.url, api_key="t", max_retries=0
    )
    first = run_sync(model.aget_text_embedding_batch(["a b", "c d"]))
    second = run_sync(model.aget_text_embedding_batch(["a b", "e f"]))
    assert first[0] == second[0] and server.embedding_requests == 2


def test_works_from_inside_a_running_loop():
    async def cell():
        return run_sync(asyncio.sleep(0, result=42))

    assert asyncio.run(cell()) == 42
