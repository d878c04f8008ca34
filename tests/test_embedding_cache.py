"""EmbeddingCache: each text embedded once per model identity, kept across runs and crashes."""

from __future__ import annotations

import numpy as np
import pytest
from llama_index.core.bridge.pydantic import PrivateAttr
from llama_index.embeddings.openai import OpenAIEmbedding

from llama_index.finetuning.embeddings.cache import EmbeddingCache, model_identity, model_key


def openai_embedding(server, **kwargs) -> OpenAIEmbedding:
    kwargs.setdefault("embed_batch_size", 4)
    return OpenAIEmbedding(
        model="text-embedding-3-small", api_base=server.url, api_key="test", max_retries=0, **kwargs
    )


class FailsAfter(OpenAIEmbedding):
    """The real client, with the connection lost after ``ok_batches`` text batches."""

    _ok_batches: int = PrivateAttr(default=0)

    def _get_text_embeddings(self, texts):
        if self._ok_batches == 0:
            raise ConnectionError("connection lost")
        self._ok_batches -= 1
        return super()._get_text_embeddings(texts)


def test_duplicates_are_embedded_once_and_rows_come_back_in_order(fake_openai, tmp_path):
    server = fake_openai()
    cache = EmbeddingCache(openai_embedding(server), cache_dir=tmp_path)
    texts = ["alpha beta", "gamma", "alpha beta", "delta", "gamma"]
    vectors = cache.embed_texts(texts)
    assert vectors.shape == (5, 64) and vectors.dtype == np.float32
    assert server.embedded_texts == 3
    assert np.array_equal(vectors[0], vectors[2]) and not np.array_equal(vectors[0], vectors[1])

    again = EmbeddingCache(openai_embedding(server), cache_dir=tmp_path)
    assert np.array_equal(again.embed_texts(texts[::-1]), vectors[::-1])
    assert server.embedded_texts == 3 and (again.computed, again.reused) == (0, 3)


def test_an_interrupted_run_keeps_finished_batches(fake_openai, tmp_path):
    server = fake_openai()
    texts = [f"text number {i}" for i in range(10)]  # 3 batches of 4
    flaky = FailsAfter(
        model="text-embedding-3-small", api_base=server.url, api_key="test", max_retries=0,
        embed_batch_size=4,
    )  # fmt: skip
    flaky._ok_batches = 2
    with pytest.raises(ConnectionError):
        EmbeddingCache(flaky, cache_dir=tmp_path, workers=1).embed_texts(texts)
    assert server.embedded_texts == 8

    resumed = EmbeddingCache(openai_embedding(server), cache_dir=tmp_path)
    resumed.embed_texts(texts)
    assert server.embedded_texts == 10 and (resumed.computed, resumed.reused) == (2, 8)


def test_identity_follows_what_changes_vectors(fake_openai):
    server = fake_openai()
    base = openai_embedding(server)
    same = [
        openai_embedding(server, embed_batch_size=50),
        OpenAIEmbedding(model="text-embedding-3-small", api_key="other", api_base="http://x/v1"),
    ]
    different = [
        openai_embedding(server, dimensions=32),
        OpenAIEmbedding(model="text-embedding-3-large", api_key="k", api_base=server.url),
    ]
    assert all(model_key(m) == model_key(base) for m in same)
    assert len({model_key(m) for m in [base, *different]}) == 3
    assert "api_key" not in model_identity(base)


def test_queries_take_the_query_path_and_local_weights_are_fingerprinted(tmp_path):
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding

    from llama_index.finetuning.resources import offline_base_model_path

    path = str(offline_base_model_path())
    model = HuggingFaceEmbedding(model_name=path, query_instruction="Represent this question: ")
    plain = HuggingFaceEmbedding(model_name=path)
    assert model_key(model) != model_key(plain)
    assert model_identity(model)["weights"][0][0] == "model.safetensors"

    cache = EmbeddingCache(model, cache_dir=tmp_path)
    assert cache.workers == 1  # in-process model: no concurrent batches
    q = "How much did revenue grow?"
    queries = cache.embed_queries([q, "Who are the drivers?"])
    texts = cache.embed_texts([q])
    assert np.allclose(queries[0], model.get_query_embedding(q), atol=1e-5)
    assert np.allclose(texts[0], model.get_text_embedding(q), atol=1e-5)
    assert not np.allclose(queries[0], texts[0], atol=1e-3)


def test_concurrency_is_bounded_for_api_models(fake_openai, tmp_path):
    server = fake_openai(embed_latency=0.2)
    cache = EmbeddingCache(
        openai_embedding(server, embed_batch_size=2), cache_dir=tmp_path, workers=3
    )
    cache.embed_texts([f"text {i}" for i in range(20)])
    assert server.embedding_requests == 10 and cache.calls == 10
    assert 1 <= server.max_in_flight <= 3


def test_an_unusable_cache_dir_is_one_clear_error(fake_openai, tmp_path):
    server = fake_openai()
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("x")
    with pytest.raises(OSError, match=r"cannot open the embedding cache .*file.*cache_dir="):
        EmbeddingCache(openai_embedding(server), cache_dir=not_a_folder)
