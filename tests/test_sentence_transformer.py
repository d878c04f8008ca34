"""SentenceTransformersFinetuneEngine: real training steps on the bundled MiniLM, small data."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from support.openai_server import openai_llm
from support.st_data import CHUNKS, DISTRACTORS, QUESTIONS, small_dataset

from llama_index.finetuning import EmbeddingQAFinetuneDataset, SentenceTransformersFinetuneEngine
from llama_index.finetuning.cli.steps import ending_line
from llama_index.finetuning.embeddings.base_models import (
    default_model_id,
    known_prompts,
    load_sentence_transformer,
    resolve_prompts,
)
from llama_index.finetuning.embeddings.negatives import training_pairs, with_hard_negatives
from llama_index.finetuning.evaluation import evaluate_embedding
from llama_index.finetuning.resources import offline_base_model_path

QUIET = dict(model_id="offline", show_progress_bar=False)


def chunk_of(row: dict, n_negatives: int) -> list[str]:
    return [row["positive"]] + [row[f"negative_{i}"] for i in range(1, n_negatives + 1)]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One real finetuning run, without a validation set (the case that crashed in 0.4)."""
    out = tmp_path_factory.mktemp("st") / "exp_finetune"
    ds = small_dataset()
    engine = SentenceTransformersFinetuneEngine(
        ds, model_output_path=str(out), batch_size=8, evaluation_steps=1000, merge=1.0, **QUIET
    )  # merge=1.0: the model as trained, which the merge tests interpolate from
    engine.finetune()
    return engine, ds, out


def test_training_without_val_set_saves_a_normal_model_with_a_card(trained):
    engine, ds, out = trained
    from sentence_transformers import SentenceTransformer

    assert engine.val_metrics == {}
    assert not (out / "checkpoints").exists()
    model = SentenceTransformer(str(out))
    assert model.encode(["a question"]).shape == (1, 384)
    card = (out / "README.md").read_text()
    assert "Finetuned from **sentence-transformers/all-MiniLM-L6-v2" in card
    assert f"| training questions | {len(ds.queries)} |" in card
    assert "| hard negatives per question | 0 |" in card
    # by default nothing is held out: every pair trains, and the result says nothing checked it
    result = engine.result
    assert result.checked_by == "none" and not result.checked
    assert "nothing was held out (holdout=0)" in result.unchecked_reason
    assert engine.checking_split.train.queries == ds.queries
    assert "**Nothing checked this model**" in card and result.unchecked_reason in card
    ending = result.ending(f"local:{out}")
    assert ending.startswith(f"finetuned model saved to {out} (use it as 'local:{out}')")
    assert "nothing checked the result" in ending
    settings = json.loads((out / "finetune_settings.json").read_text())["settings"]
    assert settings["training rows"] == len(ds.queries)
    assert settings["batch sampler"] == "no duplicates"


def test_finetuned_model_retrieves_its_training_questions_better_than_the_base(trained):
    engine, ds, _ = trained
    base = evaluate_embedding(ds, "offline", top_k=[1, 10], cache=False).summary
    tuned = evaluate_embedding(ds, engine.get_finetuned_model(), top_k=[1, 10], cache=False).summary
    assert tuned["mrr@10"] > base["mrr@10"] + 0.03, (base, tuned)
    assert tuned["hit_rate@1"] > base["hit_rate@1"], (base, tuned)


def test_get_finetuned_model_and_local_prefix_are_the_same_model(trained):
    from llama_index.core.embeddings.utils import resolve_embed_model
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding

    engine, _, out = trained
    ours = engine.get_finetuned_model()
    assert isinstance(ours, HuggingFaceEmbedding)
    local = resolve_embed_model(f"local:{out}")
    text = "How many shared bikes and e-scooters are on the streets?"
    np.testing.assert_allclose(
        ours.get_query_embedding(text), local.get_query_embedding(text), atol=1e-5
    )
    np.testing.assert_allclose(
        ours.get_text_embedding(CHUNKS[9]), local.get_text_embedding(CHUNKS[9]), atol=1e-5
    )
    base = HuggingFaceEmbedding(model_name=str(offline_base_model_path()))
    assert not np.allclose(
        ours.get_query_embedding(text), base.get_query_embedding(text), atol=1e-3
    )


def _batches(engine: SentenceTransformersFinetuneEngine, epochs: int = 2) -> list[list[dict]]:
    trainer = engine.build_trainer()
    loader = trainer.get_train_dataloader()
    rows = trainer.train_dataset
    batches = []
    for epoch in range(epochs):
        loader.batch_sampler.set_epoch(epoch)
        batches += [[rows[i] for i in batch] for batch in loader.batch_sampler]
    return batches


def test_no_duplicates_batches_never_hold_a_chunk_twice(tmp_path):
    ds = small_dataset()  # two questions per chunk: plain batches do repeat chunks
    plain = SentenceTransformersFinetuneEngine(
        ds,
        model_output_path=str(tmp_path / "a"),
        batch_size=8,
        hard_negatives=0,
        no_duplicates=False,
        **QUIET,
    )
    repeats = [b for b in _batches(plain) if len({r["positive"] for r in b}) < len(b)]
    assert repeats, "control: the plain sampler should put some chunk twice in a batch"

    ours = SentenceTransformersFinetuneEngine(
        ds, model_output_path=str(tmp_path / "b"), batch_size=8, hard_negatives=1, **QUIET
    )
    batches = _batches(ours)
    assert sum(len(b) for b in batches) == 2 * len(ds.queries)
    for batch in batches:
        texts = [t for row in batch for t in [row["anchor"], *chunk_of(row, 1)]]
        assert len(texts) == len(set(texts)), "a text occurs twice in one batch"


def test_mined_negatives_are_never_positives(tmp_path):
    ds = small_dataset(12)
    # a question with two relevant chunks, and a chunk whose text is duplicated under another id
    corpus = dict(ds.corpus) | {"copy-of-node-3": ds.corpus["node-3"]}
    relevant = dict(ds.relevant_docs) | {"q-0-0": ["node-0", "other-0"]}
    ds = EmbeddingQAFinetuneDataset(queries=ds.queries, corpus=corpus, relevant_docs=relevant)
    model = load_sentence_transformer("offline", device="cpu")

    pairs = training_pairs(ds, use_all_docs=True)
    assert len(pairs) == len(ds.queries) + 1
    rows = with_hard_negatives(pairs, ds, model, num_negatives=3, relative_margin=0.05)
    assert rows.column_names == ["anchor", "positive", "negative_1", "negative_2", "negative_3"]
    qid_of = {text: qid for qid, text in ds.queries.items()}
    q_emb = model.encode(rows["anchor"], normalize_embeddings=True)
    for i, row in enumerate(rows):
        positives = {ds.corpus[d] for d in ds.relevant_docs[qid_of[row["anchor"]]]}
        negatives = chunk_of(row, 3)[1:]
        assert not positives & set(negatives), row["anchor"]
        assert len(set(negatives)) == 3
        assert set(negatives) <= set(ds.corpus.values())
        # likely false negatives (within 5% of the positive's score) were skipped
        scores = model.encode(negatives + [row["positive"]], normalize_embeddings=True) @ q_emb[i]
        assert (scores[:-1] <= 0.95 * scores[-1] + 1e-4).all(), (row["anchor"], scores)

    with pytest.raises(ValueError, match="hard_negatives=30 needs at least"):
        with_hard_negatives(pairs, ds, model, num_negatives=30)


def _tutorial_nodes(indices):
    from llama_index.core.schema import TextNode

    return [TextNode(id_=f"node-{i}", text=f"CHUNK-{i}: {CHUNKS[i]}") for i in indices]


def _answer(key: str, prompt: str, n: int) -> str:
    i = int(key.split("-")[1])
    return "Here are the questions:\n" + "\n".join(
        f"{j + 1}. {q}" for j, q in enumerate(QUESTIONS[i][:n])
    )


def test_tutorial_cell_sequence_with_a_val_set_keeps_the_best_checkpoint(tmp_path, fake_openai):
    from llama_index.core import VectorStoreIndex

    from llama_index.finetuning import generate_qa_embedding_pairs

    server = fake_openai(answer=_answer)
    train_nodes, val_nodes = _tutorial_nodes(range(0, 12)), _tutorial_nodes(range(18, 24))
    llm = openai_llm(server)  # the only line that differs from the tutorial
    train_dataset = generate_qa_embedding_pairs(
        llm=llm, nodes=train_nodes, output_path=str(tmp_path / "train.json"), verbose=False
    )
    val_dataset = generate_qa_embedding_pairs(
        llm=llm, nodes=val_nodes, output_path=str(tmp_path / "val.json"), verbose=False
    )
    finetune_engine = SentenceTransformersFinetuneEngine(
        train_dataset,
        model_output_path=str(tmp_path / "test_model"),
        val_dataset=val_dataset,
        # the quality gate drops this set's word-less paraphrases (off_topic): fewer steps
        evaluation_steps=1,
        show_progress_bar=False,
    )
    finetune_engine.finetune()
    embed_model = finetune_engine.get_finetuned_model()

    metrics = finetune_engine.val_metrics
    assert set(metrics) == {"base", "finetuned"}
    assert not (tmp_path / "test_model" / "checkpoints").exists()
    # the saved model is the best evaluated checkpoint, not merely the last one
    from llama_index.finetuning.embeddings.checking_scores import score_model

    state_evals = [
        e["eval_val_cosine_ndcg@10"]
        for e in finetune_engine.log_history
        if "eval_val_cosine_ndcg@10" in e and e["step"] > 0
    ]
    assert len(state_evals) >= 3
    assert metrics["finetuned"]["ndcg@10"] == pytest.approx(max(state_evals), abs=1e-4)
    saved = load_sentence_transformer(str(tmp_path / "test_model"), device="cpu")
    again = score_model(saved, val_dataset).summary["ndcg@10"]
    assert again == pytest.approx(max(state_evals), abs=1e-4)
    card = (tmp_path / "test_model" / "README.md").read_text()
    assert "## Validation retrieval metrics" in card and "| NDCG@10 |" in card

    index = VectorStoreIndex(train_nodes + val_nodes, embed_model=embed_model)
    hits = index.as_retriever(similarity_top_k=3).retrieve(QUESTIONS[20][0])
    assert "node-20" in [h.node.node_id for h in hits]


def test_prompts_are_used_for_training_and_saved_for_serving(tmp_path):
    out = tmp_path / "prompted"
    engine = SentenceTransformersFinetuneEngine(
        small_dataset(8),
        model_output_path=str(out),
        batch_size=4,
        query_prompt="query: ",
        passage_prompt="passage: ",
        hard_negatives=1,
        training_args={"max_steps": 1},
        **QUIET,
    )
    trainer = engine.build_trainer()
    assert trainer.args.prompts == {
        "anchor": "query: ",
        "positive": "passage: ",
        "negative_1": "passage: ",
    }
    engine.finetune()
    saved = json.loads((out / "config_sentence_transformers.json").read_text())["prompts"]
    assert saved["query"] == "query: " and saved["document"] == "passage: "
    served = engine.get_finetuned_model()
    assert served.query_instruction == "query: " and served.text_instruction == "passage: "
    model = load_sentence_transformer(str(out), device="cpu")
    q = "How many people used the service?"
    np.testing.assert_allclose(
        served.get_query_embedding(q), model.encode("query: " + q, prompt=""), atol=1e-5
    )
    # an engine made later for the same folder serves it with the same prompts
    later = SentenceTransformersFinetuneEngine(small_dataset(8), model_output_path=str(out))
    assert later.get_finetuned_model().query_instruction == "query: "


def test_known_models_get_their_documented_prompts():
    bge = "Represent this sentence for searching relevant passages: "
    assert known_prompts("BAAI/bge-small-en") == (bge, "")
    assert known_prompts("/models/bge-base-en-v1.5") == (bge, "")
    assert known_prompts("intfloat/e5-small-v2") == ("query: ", "passage: ")
    assert known_prompts("nomic-ai/nomic-embed-text-v1.5") == (
        "search_query: ",
        "search_document: ",
    )
    assert known_prompts(str(offline_base_model_path())) == ("", "")
    # an explicit prompt wins, then the model's saved prompts, then the table
    assert resolve_prompts("BAAI/bge-small-en", {}, "", None) == ("", "")
    assert resolve_prompts("x", {"query": "q: ", "document": "d: "}, None, None) == ("q: ", "d: ")
    assert resolve_prompts("intfloat/e5-base", {"query": "", "document": ""}, None, None) == (
        "query: ",
        "passage: ",
    )


def test_cached_loss_with_matryoshka_trains(tmp_path):
    from sentence_transformers.sentence_transformer.losses import (
        CachedMultipleNegativesRankingLoss,
        MatryoshkaLoss,
    )

    out = tmp_path / "cached"
    engine = SentenceTransformersFinetuneEngine(
        small_dataset(8),
        model_output_path=str(out),
        batch_size=4,
        loss="cached_mnrl",
        mini_batch_size=2,
        matryoshka_dims=[64, 384],
        hard_negatives=0,
        training_args={"max_steps": 1},
        **QUIET,
    )
    trainer = engine.build_trainer()
    assert isinstance(trainer.loss, MatryoshkaLoss)
    assert isinstance(trainer.loss.loss, CachedMultipleNegativesRankingLoss)
    engine.finetune()
    assert engine.train_metrics["train_loss"] > 0
    card = (out / "README.md").read_text()
    assert "CachedMultipleNegativesRankingLoss + Matryoshka[384, 64]" in card


def test_resume_from_checkpoint_continues_an_interrupted_run(tmp_path):
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss

    class CountingLoss(MultipleNegativesRankingLoss):
        calls = 0
        crash_at: int | None = None

        def forward(self, *args, **kwargs):
            type(self).calls += 1
            if type(self).calls == self.crash_at:
                raise KeyboardInterrupt("simulated crash")
            return super().forward(*args, **kwargs)

    out = tmp_path / "resumed"
    settings = dict(
        model_output_path=str(out),
        batch_size=4,
        epochs=1,
        evaluation_steps=2,
        hard_negatives=0,
        **QUIET,
    )
    ds = small_dataset(8)  # 16 pairs: 4 steps an epoch
    model = load_sentence_transformer("offline", device="cpu")

    CountingLoss.crash_at = 4  # after the checkpoint at step 2
    with pytest.raises(KeyboardInterrupt):
        SentenceTransformersFinetuneEngine(ds, loss=CountingLoss(model), **settings).finetune()
    assert (out / "checkpoints" / "checkpoint-2").is_dir()
    assert not (out / "modules.json").exists()

    CountingLoss.calls, CountingLoss.crash_at = 0, None
    engine = SentenceTransformersFinetuneEngine(
        ds, loss=CountingLoss(model), resume_from_checkpoint=True, **settings
    )
    engine.finetune()
    assert CountingLoss.calls == 2  # steps 3 and 4 only
    assert (out / "modules.json").exists()


def test_bad_inputs_get_one_clear_error(tmp_path, monkeypatch):
    ds = small_dataset(4)
    with pytest.raises(TypeError, match="dataset must be an EmbeddingQAFinetuneDataset"):
        SentenceTransformersFinetuneEngine({"queries": {}})
    with pytest.raises(ValueError, match="loss='triplet' is not one of"):
        SentenceTransformersFinetuneEngine(ds, loss="triplet")
    with pytest.raises(ValueError, match="batch_size must be an integer >= 1"):
        SentenceTransformersFinetuneEngine(ds, batch_size=0)
    with pytest.raises(FileNotFoundError, match="call finetune\\(\\) first"):
        SentenceTransformersFinetuneEngine(
            ds, model_output_path=str(tmp_path / "x")
        ).get_finetuned_model()

    with pytest.raises(FileNotFoundError, match="resume_from_checkpoint=True but there is no"):
        SentenceTransformersFinetuneEngine(
            ds, model_output_path=str(tmp_path / "y"), resume_from_checkpoint=True
        ).finetune()
    missing = str(tmp_path / "no" / "such_model")
    with pytest.raises(FileNotFoundError, match="no_model|such_model"):
        SentenceTransformersFinetuneEngine(ds, model_id=missing).finetune()
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ValueError, match="'nobody/no-such-model' is not in the Hugging Face cache"):
        SentenceTransformersFinetuneEngine(ds, model_id="nobody/no-such-model").finetune()
    with pytest.raises(ValueError, match="precision='fp16' needs a CUDA GPU"):
        SentenceTransformersFinetuneEngine(ds, device="cpu", precision="fp16")


def test_default_model_is_the_bundled_minilm_when_the_hub_is_out_of_reach(tmp_path, monkeypatch):
    import huggingface_hub.constants

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path))  # nothing cached
    assert Path(default_model_id()) == offline_base_model_path()


@pytest.mark.parametrize("checked_by", ["val_dataset", "holdout"])
def test_the_base_model_is_kept_when_no_checkpoint_beats_it(tmp_path, caplog, checked_by):
    """A learning rate this high wrecks every checkpoint: the guard saves the base model and
    says so, whether a val set was given or a part of the training chunks was held out."""
    from sentence_transformers import SentenceTransformer

    ds = small_dataset()
    if checked_by == "val_dataset":
        train, val = ds.split(0.5, seed=0)
        kwargs = {"val_dataset": val}
    else:  # 24 chunks: a 50% hold-out holds 12 chunks and their 24 questions
        train, val, kwargs = ds, None, {"holdout": 0.5}
    out = tmp_path / "m"
    engine = SentenceTransformersFinetuneEngine(
        train, model_output_path=str(out), batch_size=4, evaluation_steps=3, hard_negatives=0,
        learning_rate=0.5, epochs=1, **kwargs, **QUIET,
    )  # fmt: skip
    with caplog.at_level("WARNING"):
        result = engine.finetune()
    selection = engine.checking_split
    assert result.checked_by == selection.source == checked_by
    if checked_by == "holdout":  # no held-out chunk was trained on
        held = {d for docs in selection.val.relevant_docs.values() for d in docs}
        assert len(selection.val.queries) == 24 and held.isdisjoint(selection.train.corpus)
        assert set(selection.val.corpus) == set(ds.corpus)  # searched among all chunks
    assert result.kept_untrained and result.best_step == 0 and "base model" in result.notice
    assert result.trained_score < result.base_score == result.best_score
    comparison = result.comparison
    assert comparison["difference"] == pytest.approx(result.trained_score - result.base_score)
    assert comparison["low"] <= comparison["difference"] <= comparison["high"] < 0
    assert comparison["n_questions"] == len(selection.val.queries)
    ending = result.ending(f"local:{out}")
    assert [m for m in caplog.messages if "beat" in m] == [ending]  # said once
    assert ending_line(out) == ending  # what `train` prints last, from the saved result
    assert ending.startswith("kept the base model: no finetuned checkpoint beat it on ")
    assert f"ndcg@10 base {result.base_score:.4f} vs finetuned {result.trained_score:.4f}" in ending
    assert f"{out} holds the base model unchanged" in ending
    card = (out / "README.md").read_text()
    assert "**The saved model is the base model, unchanged**" in card
    assert card.index("finetuned with llama-index-finetuning-embeddings") < card.index(
        "Below: the base model's own card"
    )
    assert "| saved | the base model, unchanged |" in card
    saved = SentenceTransformer(str(out), device="cpu")
    base = SentenceTransformer(str(offline_base_model_path()), device="cpu")
    texts = ["Revenue per active rider rose.", "Who audits the company?"]
    np.testing.assert_allclose(saved.encode(texts), base.encode(texts), atol=1e-5)


def test_the_checking_set_searches_the_corpus_given_and_a_small_one_says_so(tmp_path, caplog):
    """corpus= (the chunks of the user's index) is searched by the checking set
    as well as its own chunks; 12 checking questions are too few to tell two models apart,
    which the result, its log and its ending say."""
    ds = small_dataset(distractors=False)
    train, val = ds.split(0.25, seed=0)
    index = {f"other-{i}": text for i, text in enumerate(DISTRACTORS)}
    engine = SentenceTransformersFinetuneEngine(
        train, model_output_path=str(tmp_path / "m"), batch_size=4, hard_negatives=0, epochs=1,
        val_dataset=val, corpus=index, **QUIET,
    )  # fmt: skip
    with caplog.at_level("WARNING"):
        result = engine.finetune()
    assert set(engine.checking_split.val.corpus) == set(val.corpus) | set(index)
    assert f"searched among {len(val.corpus) + len(index)} chunks" in result.selected_on
    assert result.too_small and result.checked_questions == len(val.queries) < 20
    assert result.ending().endswith("(20 needed): a difference here is mostly noise")
    assert result.to_dict()["too_small"] is True
    assert "too few to tell two models apart" in caplog.text


def test_merge_with_base_interpolates_floating_weights(trained):
    """WiSE-FT on real models: 0 is the base, 1 the finetuned model, 0.5 halfway; the
    finetuned model given is left as it was."""
    import torch

    from llama_index.finetuning.embeddings.merge import merge_with_base

    _, _, out = trained
    tuned = load_sentence_transformer(str(out), device="cpu")
    base = load_sentence_transformer("offline", device="cpu")
    before = {k: v.clone() for k, v in tuned.state_dict().items()}
    half = merge_with_base(tuned, base, 0.5)
    name = next(k for k, v in before.items() if v.is_floating_point() and v.dim() == 2)
    t, b, h = before[name], base.state_dict()[name], half.state_dict()[name]
    assert not torch.allclose(t, b)
    torch.testing.assert_close(h, (t + b) / 2)
    assert all(torch.equal(v, tuned.state_dict()[k]) for k, v in before.items())
    for weight, same_as in ((0.0, base), (1.0, tuned)):
        merged = merge_with_base(str(out), "offline", weight, device="cpu")
        texts = ["How many shared bikes are on the streets?"]
        np.testing.assert_allclose(merged.encode(texts), same_as.encode(texts), atol=1e-5)
    with pytest.raises(ValueError, match="merge must be a number from 0 to 1"):
        merge_with_base(tuned, base, 1.5)


def test_engine_merge_saves_the_interpolated_checkpoint(trained, tmp_path):
    """The same run as ``trained`` (same seed, same data) with merge=0.5 saves the weights
    halfway between the base model and that run's model, and its card records the weight."""
    import torch

    engine, ds, out = trained
    merged_out = tmp_path / "merged"
    merged = SentenceTransformersFinetuneEngine(
        ds, model_output_path=str(merged_out), batch_size=8, evaluation_steps=1000, merge=0.5,
        **QUIET,
    )  # fmt: skip
    result = merged.finetune()
    assert result.merge == 0.5 and engine.result.merge == 1.0
    full = load_sentence_transformer(str(out), device="cpu").state_dict()
    half = load_sentence_transformer(str(merged_out), device="cpu").state_dict()
    base = load_sentence_transformer("offline", device="cpu").state_dict()
    for name in [k for k, v in full.items() if v.is_floating_point()][:8]:
        torch.testing.assert_close(half[name], (full[name] + base[name]) / 2, atol=1e-5, rtol=0)
    card = (merged_out / "README.md").read_text()
    assert "| merge | 0.5 (share of the finetuned weights; 1 = as trained) |" in card
    settings = json.loads((merged_out / "finetune_settings.json").read_text())
    assert settings["settings"]["merge (share of the finetuned weights)"] == 0.5
    assert settings["result"]["merge"] == 0.5
    with pytest.raises(ValueError, match="merge must be a number from 0 to 1"):
        SentenceTransformersFinetuneEngine(ds, merge=-0.1)
    with pytest.raises(ValueError, match="holdout must be a share"):
        SentenceTransformersFinetuneEngine(ds, holdout=1.0)


def test_cli_train_that_keeps_the_base_model_says_so_as_its_last_line(tmp_path, capsys):
    """``--merge 0`` saves the base weights whatever training did: the guard finds nothing
    above the base on --val, keeps it, and the last line says so (not "finetuned model saved")."""
    from llama_index.finetuning.cli import main

    train, val = small_dataset(8).split(0.5, seed=0)
    train.save_json(tmp_path / "train.json")
    val.save_json(tmp_path / "val.json")
    out = tmp_path / "tuned"
    argv = ["train", str(tmp_path / "train.json"), "--val", str(tmp_path / "val.json")]
    argv += ["-o", str(out), "--epochs", "1", "--batch-size", "4", "--hard-negatives", "0"]
    assert main([*argv, "--merge", "0"]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last.startswith(
        f"kept the base model: no finetuned checkpoint beat it on val_dataset "
        f"({len(val.queries)} questions, searched among {len(val.corpus)} chunks) (ndcg@10 base "
    )
    assert f"{out} holds the base model unchanged (use it as 'local:{out}')" in last
    assert last.endswith(
        "too few to tell two models apart (20 needed): a difference here is mostly noise"
    )
    card = (out / "README.md").read_text()
    assert "**The saved model is the base model, unchanged**" in card
    settings = json.loads((out / "finetune_settings.json").read_text())
    assert settings["settings"]["merge (share of the finetuned weights)"] == 0.0
    with pytest.raises(SystemExit) as exit_status:  # refused before any work
        main([*argv, "--merge", "1.5"])
    assert exit_status.value.code == 2
    assert "--merge: must be from 0 to 1, got 1.5" in capsys.readouterr().err


def test_train_holdout_0_trains_on_every_pair_and_says_nothing_checked_it(tmp_path, capsys):
    """``train`` without --val holds out --holdout of the chunks; ``--holdout 0`` trains on
    all of them, and the last line and the result say that nothing checked the model."""
    from llama_index.finetuning.cli import main
    from llama_index.finetuning.embeddings.finetune_result import FinetuneResult

    small_dataset(8).save_json(tmp_path / "train.json")
    out = tmp_path / "tuned"
    argv = ["train", str(tmp_path / "train.json"), "-o", str(out), "--epochs", "1"]
    argv += ["--batch-size", "4", "--hard-negatives", "0", "--holdout", "0"]
    assert main(argv) == 0
    assert "nothing checked" in capsys.readouterr().out.strip().splitlines()[-1]
    assert FinetuneResult.load(out).checked_by == "none"
    with pytest.raises(SystemExit) as exit_status:  # refused before any work
        main([*argv[:-1], "1"])
    assert exit_status.value.code == 2
    assert "--holdout: must be from 0 to below 1, got 1.0" in capsys.readouterr().err
