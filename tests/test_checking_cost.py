"""What checking a model costs: the checking set's candidates, the merge chosen on it, the
hold-out's size. Real models (the bundled MiniLM), tiny data."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest
from support.st_data import small_dataset

import llama_index.finetuning.embeddings.guard as guard
from llama_index.finetuning import EmbeddingQAFinetuneDataset, SentenceTransformersFinetuneEngine
from llama_index.finetuning.embeddings.base_models import load_sentence_transformer
from llama_index.finetuning.embeddings.candidates import base_candidates
from llama_index.finetuning.embeddings.checking_scores import score_model
from llama_index.finetuning.embeddings.checking_set import (
    MAX_HOLDOUT_QUESTIONS,
    describe_checking_set,
    split_for_checking,
)
from llama_index.finetuning.embeddings.guard import choose_merge
from llama_index.finetuning.embeddings.negatives import training_pairs, with_hard_negatives

QUIET = dict(model_id="offline", show_progress_bar=False)
WORDS = (
    "harbor lantern orchard violin glacier pepper canyon ribbon falcon meadow copper thistle "
    "marble ferry quilt saddle tundra walnut beacon cobalt"
).split()


def with_noise(dataset: EmbeddingQAFinetuneDataset, n: int) -> EmbeddingQAFinetuneDataset:
    """``dataset`` with ``n`` more chunks of random words that no question is about."""
    rng = random.Random(0)
    noise = {f"noise-{i}": " ".join(rng.choices(WORDS, k=12)) for i in range(n)}
    return EmbeddingQAFinetuneDataset(
        queries=dataset.queries, corpus={**dataset.corpus, **noise},
        relevant_docs=dataset.relevant_docs,
    )  # fmt: skip


class CountingModel:
    """The real model, counting the texts it is asked to embed."""

    def __init__(self, model):
        self.model, self.texts = model, []

    def encode(self, texts, **kwargs):
        self.texts.extend(texts)
        return self.model.encode(texts, **kwargs)


@pytest.fixture(scope="module")
def base():
    return load_sentence_transformer("offline", device="cpu")


def test_candidates_are_bounded_and_score_the_base_as_the_whole_corpus_does(base):
    """Each question keeps its 10 best chunks and its answers, whatever the corpus holds; the
    base model's scores among them are its whole-corpus scores; chunks whose vectors are
    known are not embedded again."""
    val = with_noise(small_dataset(), 300)
    counting = CountingModel(base)
    found = base_candidates(val, counting, per_question=10, passage_vectors={})
    kept = found.checking.corpus
    answers = {d for docs in val.relevant_docs.values() for d in docs}
    assert answers <= set(kept) <= set(val.corpus)
    assert len(kept) <= 10 * len(val.queries) + len(answers) and len(kept) < len(val.corpus)
    assert found.corpus_size == len(val.corpus) and len(counting.texts) == len(val.queries) + len(
        val.corpus
    )
    whole = score_model(base, val)  # the whole corpus, as the guard ranked it before
    among = score_model(base, found.checking)
    for metric in ("ndcg@10", "mrr@10", "hit_rate@10"):
        assert found.base_scores.summary[metric] == pytest.approx(whole.summary[metric], abs=1e-6)
        assert among.summary[metric] == pytest.approx(whole.summary[metric], abs=1e-6)
    # the mining pass's vectors: only the chunks it did not embed are embedded here
    noise = [t for d, t in val.corpus.items() if d.startswith("noise-")]
    noise_only = dict(zip(noise, base.encode(noise, normalize_embeddings=True), strict=True))
    counting = CountingModel(base)
    again = base_candidates(val, counting, per_question=10, passage_vectors=noise_only)
    assert len(counting.texts) == len(val.queries) + len(val.corpus) - len(noise_only)
    assert set(again.checking.corpus) == set(kept)


def test_a_corpus_larger_than_the_pool_is_ranked_as_a_sample_holding_every_answer(base):
    """The pass before training embeds ``pool`` chunks, not the corpus: a seeded sample that
    holds every answer, so base and trained models are compared among the same chunks."""
    val = with_noise(small_dataset(), 300)
    answers = {d for docs in val.relevant_docs.values() for d in docs}
    counting = CountingModel(base)
    found = base_candidates(val, counting, per_question=10, pool=len(answers) + 40, seed=3)
    assert len(counting.texts) == len(val.queries) + len(answers) + 40
    assert found.corpus_size == len(val.corpus) and found.pool_size == len(answers) + 40
    assert answers <= set(found.checking.corpus)
    again = base_candidates(val, base, per_question=10, pool=len(answers) + 40, seed=3)
    assert set(again.checking.corpus) == set(found.checking.corpus)
    whole = base_candidates(val, base, per_question=10, pool=None)
    assert whole.pool_size == len(val.corpus)
    # fewer distractors: the base finds the answers at least as easily as in the whole corpus
    assert found.base_scores.summary["ndcg@10"] >= whole.base_scores.summary["ndcg@10"] - 1e-9


def test_mining_pass_hands_over_the_vectors_it_made(base):
    ds = small_dataset()
    vectors: dict[str, np.ndarray] = {}
    with_hard_negatives(training_pairs(ds), ds, base, 1, passage_vectors=vectors)
    assert set(vectors) == set(ds.corpus.values())
    texts = list(ds.corpus.values())[:3]
    expected = base.encode(texts, normalize_embeddings=True)
    np.testing.assert_allclose(np.stack([vectors[t] for t in texts]), expected, atol=1e-5)


def question_halves(ds: EmbeddingQAFinetuneDataset):
    """Each chunk's first question trains, its second checks (the same chunks)."""

    def part(suffix: str) -> EmbeddingQAFinetuneDataset:
        docs = {q: d for q, d in ds.relevant_docs.items() if q.endswith(suffix)}
        return EmbeddingQAFinetuneDataset(
            queries={q: ds.queries[q] for q in docs}, corpus=ds.corpus, relevant_docs=docs
        )

    return part("-0"), part("-1")


def test_checking_ranks_among_the_candidates_and_the_merge_is_chosen_on_it(tmp_path):
    """Checkpoint choice and the comparison rank among the candidates, not the 300 noise
    chunks beyond them; the merge weight is the best of 1, 0.75 and 0.5 there, and the
    result, its saved record and the card say which and why."""
    train, val = question_halves(small_dataset())
    val = with_noise(val, 300)
    out = tmp_path / "m"
    engine = SentenceTransformersFinetuneEngine(
        train, model_output_path=str(out), val_dataset=val, batch_size=4, epochs=2,
        evaluation_steps=4, learning_rate=2e-4, candidates=10, hard_negatives=1, **QUIET,
    )  # fmt: skip
    # hard_negatives=1: with in-batch negatives alone these few pairs do not beat the base here
    trainer = engine.build_trainer()
    ranked = engine.checking.checking.corpus
    assert len(trainer.evaluator.dataset.corpus) == len(ranked) < len(val.corpus)
    assert len(ranked) <= 10 * len(val.queries) + len(val.corpus) - 300
    result = engine.finetune()
    assert result.ranked_among == len(ranked)
    assert result.base_score == pytest.approx(
        score_model(load_sentence_transformer("offline", device="cpu"), val).summary["ndcg@10"]
    )
    scores = result.merge_scores
    tried = sorted(map(float, scores), reverse=True)
    assert len(tried) >= 2 and tried == [1.0, 0.75, 0.5][: len(tried)]
    # the descent from 1 goes on while no weight has scored below the best so far
    values = [scores[f"{w:g}"] for w in tried]
    assert all(values[i] >= max(values[:i]) for i in range(1, len(values) - 1))
    assert len(tried) == 3 or values[-1] < max(values)
    best = max(sorted(scores, key=float), key=scores.__getitem__)
    assert result.merge == float(best) and result.trained_score == pytest.approx(scores[best])
    assert not result.kept_untrained  # the questions are about the chunks trained on
    saved = json.loads((out / "finetune_settings.json").read_text())
    assert saved["result"]["merge_scores"] == scores
    assert saved["settings"]["checking chunks ranked at each evaluation"] == len(ranked)
    card = (out / "README.md").read_text()
    assert f"| merge | {result.merge:g} (share of the finetuned weights; 1 = as trained; " in card
    assert "chosen on the checking set by ndcg@10 among 1: " in card
    with pytest.raises(ValueError, match="candidates must be a whole number >= 10"):
        SentenceTransformersFinetuneEngine(train, candidates=5)
    with pytest.raises(ValueError, match="merge must be a number from 0 to 1"):
        SentenceTransformersFinetuneEngine(train, merge="best")


def test_the_hold_out_stops_growing_once_it_can_tell_the_models_apart():
    """1,000 questions: a 20% hold-out would hold 200; it holds about MAX_HOLDOUT_QUESTIONS,
    and the rest train."""
    n = 1000
    ds = EmbeddingQAFinetuneDataset(
        queries={f"q{i}": f"question {i}?" for i in range(n)},
        corpus={f"c{i}": f"chunk {i}" for i in range(n)},
        relevant_docs={f"q{i}": [f"c{i}"] for i in range(n)},
    )
    selection = split_for_checking(ds, None, holdout=0.2, seed=0)
    held = len(selection.val.queries)
    assert MAX_HOLDOUT_QUESTIONS - 5 <= held <= MAX_HOLDOUT_QUESTIONS + 5
    assert len(selection.train.queries) == n - held
    assert describe_checking_set(selection, 0.2) == "a hold-out of 15% of the training chunks"
    small = split_for_checking(small_dataset(), None, holdout=0.5, seed=0)
    assert len(small.val.queries) == 24 and small.held_share == 0.5  # under the cap: as asked


def test_the_kept_checkpoint_is_not_scored_again(tmp_path, monkeypatch):
    """The trainer's evaluation of the kept checkpoint is the merge choice's score for 1 (as
    trained): the guard scores only the merges below it, and the figures agree."""
    train, val = question_halves(small_dataset())
    scored: list[int] = []
    real = guard.score_model
    monkeypatch.setattr(
        guard, "score_model", lambda *a, **k: scored.append(1) or real(*a, **k)
    )  # counts the guard's own scoring passes; the scoring itself is the real one
    engine = SentenceTransformersFinetuneEngine(
        train, model_output_path=str(tmp_path / "m"), val_dataset=val, batch_size=4,
        epochs=1, evaluation_steps=100, learning_rate=2e-4, merge="auto", **QUIET,
    )  # fmt: skip
    result = engine.finetune()
    logged = [e for e in engine.log_history if "eval_val_cosine_ndcg@10" in e]
    assert [e["step"] for e in logged] == [result.best_step or logged[-1]["step"]]
    assert result.merge_scores["1"] == pytest.approx(logged[-1]["eval_val_cosine_ndcg@10"])
    # weight 1 came from the trainer's evaluation; each lower weight tried was one pass
    assert len(scored) == len(result.merge_scores) - 1


class _Score:
    """A checking set that prefers a model whose one weight is ``peak`` (a line from base 0 to
    finetuned 1): NDCG@10 falls with the distance."""

    def __init__(self, peak: float):
        self.peak, self.calls = peak, []

    def __call__(self, model):
        weight = float(model.weight.item())
        self.calls.append(round(weight, 4))
        return type("Result", (), {"summary": {"ndcg@10": 1.0 - abs(weight - self.peak)}})()


@pytest.mark.parametrize(
    "peak, tried, chosen",
    [(1.0, [1.0, 0.75], 1.0), (0.75, [1.0, 0.75, 0.5], 0.75), (0.4, [1.0, 0.75, 0.5], 0.5)],
)
def test_merge_descent_stops_at_the_first_drop(peak, tried, chosen):
    import torch

    tuned, base = torch.nn.Linear(1, 1, bias=False), torch.nn.Linear(1, 1, bias=False)
    with torch.no_grad():
        tuned.weight.fill_(1.0)
        base.weight.fill_(0.0)
    score = _Score(peak)
    weight, _, scores = choose_merge(tuned, base, (0.5, 1.0, 0.75), score)
    assert score.calls == tried and sorted(map(float, scores), reverse=True) == tried
    assert weight == chosen and float(tuned.weight.item()) == pytest.approx(chosen)
    assert float(base.weight.item()) == 0.0


def test_merge_choice_uses_a_known_score_and_breaks_ties_towards_the_base():
    import torch

    tuned, base = torch.nn.Linear(1, 1, bias=False), torch.nn.Linear(1, 1, bias=False)
    with torch.no_grad():
        tuned.weight.fill_(1.0)
        base.weight.fill_(0.0)
    flat = type("Result", (), {"summary": {"ndcg@10": 0.5}})()
    calls: list[float] = []

    def score(model):
        calls.append(float(model.weight.item()))
        return flat

    weight, _, scores = choose_merge(tuned, base, (1.0, 0.75, 0.5), score, known={1.0: flat})
    assert calls == [0.75, 0.5]  # 1 was known; a tie does not stop the descent
    assert weight == 0.5 and scores == {"1": 0.5, "0.75": 0.5, "0.5": 0.5}
    assert float(tuned.weight.item()) == pytest.approx(0.5)
