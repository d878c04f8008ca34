"""An adapter folder records its base model; loading it over another model warns or, with
strict=True, is refused. The adapter engine says what training achieved and when it kept
the untrained start."""

from __future__ import annotations

import json
import logging
import warnings

import pytest
import torch

from llama_index.embeddings.adapter import AdapterEmbeddingModel, LinearLayer
from llama_index.embeddings.adapter.record import (
    RECORD_NAME,
    describe_base_model,
    write_base_record,
)
from llama_index.finetuning import EmbeddingAdapterFinetuneEngine, EmbeddingQAFinetuneDataset
from llama_index.finetuning.embeddings.finetune_result import IDENTITY_NOTICE

TOPICS = ["revenue", "riders", "drivers", "insurance", "bikes", "debt", "airports", "safety"]


def topic_dataset() -> EmbeddingQAFinetuneDataset:
    corpus = {
        f"c{i}": f"Section {i}: the filing discusses {t} in 2021." for i, t in enumerate(TOPICS)
    }
    queries = {f"q{i}": f"What does the report say about {t}?" for i, t in enumerate(TOPICS)}
    return EmbeddingQAFinetuneDataset(
        queries=queries, corpus=corpus, relevant_docs={f"q{i}": [f"c{i}"] for i in range(8)}
    )


def api_model(server, name: str = "text-embedding-3-small"):
    from llama_index.embeddings.openai import OpenAIEmbedding

    return OpenAIEmbedding(model=name, api_base=server.url, api_key="test", max_retries=0)


@pytest.fixture(scope="module")
def minilm():
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding

    from llama_index.finetuning.resources import offline_base_model_path

    return HuggingFaceEmbedding(model_name=str(offline_base_model_path()), device="cpu")


def _train(model, tmp_path, **kwargs) -> EmbeddingAdapterFinetuneEngine:
    ds = topic_dataset()
    engine = EmbeddingAdapterFinetuneEngine(
        ds, model, model_output_path=str(tmp_path / "adapter"), cache_dir=tmp_path / "cache",
        val_dataset=ds, **kwargs,
    )  # fmt: skip
    engine.finetune()
    return engine


# ---- the engine's result and the identity notice ----------------------------------------


def test_no_epoch_beating_the_base_is_said_and_the_identity_is_saved(fake_openai, tmp_path, caplog):
    server = fake_openai()
    with caplog.at_level(logging.WARNING):
        engine = _train(api_model(server), tmp_path, epochs=2, optimizer_params={"lr": 0.0})
    result = engine.result
    assert result.kept_untrained and result.start_is_identity and result.best_epoch == 0
    assert result.best_score == result.base_score == engine.history[0]["ndcg@10"]
    assert result.notice.startswith(IDENTITY_NOTICE)
    assert caplog.messages == [result.ending(f"adapter:{tmp_path / 'adapter'}")]  # once
    assert "an adapter that changes nothing" in caplog.text
    assert IDENTITY_NOTICE in str(result)
    assert torch.equal(LinearLayer.load(tmp_path / "adapter").linear.weight, torch.eye(64))


def test_a_useful_epoch_is_reported_with_both_scores(fake_openai, tmp_path, caplog):
    server = fake_openai()
    with caplog.at_level(logging.WARNING):
        engine = _train(api_model(server), tmp_path, epochs=6, optimizer_params={"lr": 3e-2})
    result = engine.result
    assert not result.kept_untrained and result.best_epoch == engine.best_epoch > 0
    assert result.best_score > result.base_score
    kept = next(h for h in engine.history if h["epoch"] == result.best_epoch)
    assert result.best_score == kept["ndcg@10"]
    assert result.selected_on == "val_dataset (8 questions, searched among 8 chunks)"
    assert "kept the untrained adapter" not in caplog.text and len(caplog.messages) <= 1
    assert f"(epoch {result.best_epoch})" in str(result)


def test_without_a_val_set_nothing_is_claimed(fake_openai, tmp_path):
    server = fake_openai()
    engine = EmbeddingAdapterFinetuneEngine(
        topic_dataset(), api_model(server), model_output_path=str(tmp_path / "a"), epochs=1,
        cache_dir=tmp_path / "cache",
    )  # fmt: skip
    result = engine.finetune()
    assert result is engine.result
    assert (result.metric, result.base_score, result.best_score) == (None, None, None)
    # 8 chunks: too few to hold a part out; the result says that nothing checked it
    assert result.checked_by == "none" and "would hold" in result.unchecked_reason
    assert result.notice.startswith("nothing checked the result: no validation set was given")
    assert result.notice in str(result) and result.notice in result.ending("adapter:a")


# ---- the base-model record --------------------------------------------------------------


def test_api_base_is_recorded_and_checked_by_name(fake_openai, tmp_path):
    server = fake_openai()
    engine = _train(api_model(server), tmp_path, epochs=1)
    folder = tmp_path / "adapter"
    record = json.loads((folder / RECORD_NAME).read_text())
    assert record == {
        "class": "OpenAIEmbedding", "model_name": "text-embedding-3-small", "dim": 64,
        "fingerprint": None,
    }  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        engine.get_finetuned_model()
        AdapterEmbeddingModel(api_model(server), folder, strict=True)
    other = api_model(server, "text-embedding-3-large")
    with pytest.warns(UserWarning, match="trained over 'text-embedding-3-small'"):
        AdapterEmbeddingModel(other, folder)
    with pytest.raises(ValueError, match="model_name is 'text-embedding-3-large'"):
        AdapterEmbeddingModel(other, folder, strict=True)


def test_local_base_is_checked_by_its_weights(minilm, tmp_path):
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding

    folder = tmp_path / "adapter"
    LinearLayer(384, 384).save(folder)
    record = describe_base_model(minilm, dim=384)
    assert record["class"] == "HuggingFaceEmbedding"
    assert record["fingerprint"].startswith("weights-sha256:")
    # the same weights elsewhere (another path or name) are the same base
    write_base_record(folder, {**record, "model_name": "/elsewhere/all-MiniLM-L6-v2"})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        AdapterEmbeddingModel(minilm, folder, strict=True)
    # a finetuned version of it (here: one weight changed) is not
    changed = HuggingFaceEmbedding(model_name=minilm.model_name, device="cpu")
    with torch.no_grad():
        next(changed._model.parameters())[0, 0] += 0.5
    assert describe_base_model(changed)["fingerprint"] != record["fingerprint"]
    with pytest.warns(UserWarning, match="its weights differ"):
        AdapterEmbeddingModel(changed, folder)
    with pytest.raises(ValueError, match="its weights differ"):
        AdapterEmbeddingModel(changed, folder, strict=True)


def test_folders_without_a_record_still_load_silently(minilm, tmp_path):
    folder = tmp_path / "old_adapter"
    LinearLayer(384, 384).save(folder)
    assert not (folder / RECORD_NAME).exists()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = AdapterEmbeddingModel(minilm, folder, strict=True)
    assert len(model.get_query_embedding("debt")) == 384


def test_the_checking_set_is_searched_among_the_corpus_given(fake_openai, tmp_path, caplog):
    """corpus= (the index's nodes) adds chunks the checking set is searched among,
    by their text as pairs hold it (no metadata); 8 questions are said to be too few."""
    from llama_index.core.schema import TextNode

    nodes = [
        TextNode(id_=f"x{i}", text=f"Note {i}: parking permits.", metadata={"page_label": str(i)})
        for i in range(5)
    ]
    server = fake_openai()
    with caplog.at_level(logging.WARNING):
        engine = _train(api_model(server), tmp_path, epochs=1, corpus=nodes)
    assert engine.checking_split.val.corpus["x0"] == "Note 0: parking permits."
    result = engine.result
    assert result.selected_on == "val_dataset (8 questions, searched among 13 chunks)"
    assert result.too_small and result.checked_questions == 8
    assert "too few to tell two models apart (20 needed)" in result.ending()
    assert "too few to tell two models apart" in caplog.text
