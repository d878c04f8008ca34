"""The model card of a finetuned model: no training text unless asked, and it says which set
chose the checkpoint and which set its figures come from."""

from __future__ import annotations

import json

import pytest
from st_data import CHUNKS, DISTRACTORS, small_dataset

from llama_index.finetuning import SentenceTransformersFinetuneEngine
from llama_index.finetuning.embeddings.finetune_result import FinetuneResult

QUIET = {"show_progress_bar": False, "device": "cpu"}


def _chunk_fragments(texts: list[str]) -> list[str]:
    """Distinctive pieces of each chunk (the card may cut or escape the rest)."""
    return [text[:40] for text in texts] + [text[-40:] for text in texts]


def _train(tmp_path, card_examples: str = "none"):
    ds = small_dataset(n_chunks=12)
    train = ds.subset([q for q in ds.queries if int(q.split("-")[1]) < 8])
    val = ds.subset([q for q in ds.queries if int(q.split("-")[1]) >= 8])
    out = tmp_path / f"model_{card_examples}"
    engine = SentenceTransformersFinetuneEngine(
        train, model_output_path=str(out), batch_size=4, epochs=1, evaluation_steps=2,
        val_dataset=val, hard_negatives=0, card_examples=card_examples, **QUIET,
    )  # fmt: skip
    result = engine.finetune()
    return engine, result, out, train, val


@pytest.fixture(scope="module")
def private(tmp_path_factory):
    return _train(tmp_path_factory.mktemp("card"))


def test_default_card_holds_no_training_chunk(private):
    engine, result, out, train, val = private
    card = (out / "README.md").read_text(encoding="utf-8")
    leaked = [f for f in _chunk_fragments(CHUNKS + DISTRACTORS) if f in card]
    assert leaked == []
    questions = list(train.queries.values()) + list(val.queries.values())
    assert [q for q in questions if q in card] == []
    assert "| examples from the data in this card | none |" in card


def test_card_says_which_set_chose_the_checkpoint(private):
    engine, result, out, train, val = private
    card = (out / "README.md").read_text(encoding="utf-8")
    where = f"val_dataset ({len(val.queries)} questions, {len(val.corpus)} chunks)"
    assert (
        f"Checkpoint selected on {where}; the figures below are measured on that same set" in card
    )
    saved = json.loads((out / "finetune_settings.json").read_text())
    assert saved["selected_on"] == where


def test_finetune_returns_base_and_kept_val_scores(private):
    engine, result, out, train, val = private
    assert isinstance(result, FinetuneResult) and engine.result is result
    assert result.metric == "ndcg@10"
    assert result.base_score == pytest.approx(engine.val_metrics["base"]["cosine_ndcg@10"])
    assert result.best_score == pytest.approx(engine.val_metrics["finetuned"]["cosine_ndcg@10"])
    # the kept model is the best candidate, the untrained base (step 0) among them
    assert result.best_step == engine.val_metrics["finetuned"]["step"] >= 0
    assert result.best_score >= result.base_score
    assert result.kept_untrained == (result.best_step == 0)
    assert "val ndcg@10: base" in str(result) and "selected and scored on val_dataset" in str(
        result
    )


def test_card_data_keeps_chunks_out_unless_all(private):
    """The three settings on sentence-transformers' own card hooks (no second training run)."""
    from datasets import Dataset

    from llama_index.finetuning.embeddings.base_models import load_sentence_transformer
    from llama_index.finetuning.embeddings.model_card import card_data
    from llama_index.finetuning.resources import offline_base_model_path

    engine, _, _, train, val = private
    questions = engine._card_questions()
    assert questions == list(val.queries.values())[:4]
    rows = Dataset.from_dict({"anchor": list(train.queries.values())[:6], "positive": CHUNKS[:6]})
    seen = {}
    for examples in ("all", "questions", "none"):
        model = load_sentence_transformer(
            str(offline_base_model_path()),
            model_card_data=card_data(examples, questions, local_files_only=True),
            device="cpu",
        )
        data = model.model_card_data
        info = data.compute_dataset_metrics(rows, {}, None)
        data.set_widget_examples(rows)
        seen[examples] = repr((info.get("examples_table"), data.widget, data.usage_examples))
    assert CHUNKS[0] in seen["all"]  # the library's default quotes training chunks
    for examples in ("questions", "none"):
        assert [c for c in CHUNKS if c in seen[examples]] == []
        assert [q for q in train.queries.values() if q in seen[examples]] == []
    assert all(q in seen["questions"] for q in questions)
    assert [q for q in questions if q in seen["none"]] == []


def test_bad_card_examples_value_is_named():
    with pytest.raises(ValueError, match="card_examples='some'"):
        SentenceTransformersFinetuneEngine(small_dataset(4), card_examples="some")
