"""EmbeddingQAFinetuneDataset: the JSON contract, validation, split and merge."""

from __future__ import annotations

import json
import os

import pytest

from llama_index.finetuning import EmbeddingQAFinetuneDataset


def small(n_chunks: int = 6, q_per_chunk: int = 2) -> EmbeddingQAFinetuneDataset:
    corpus = {f"c{i}": f"chunk text {i}" for i in range(n_chunks)}
    queries, relevant = {}, {}
    for i in range(n_chunks):
        for j in range(q_per_chunk):
            queries[f"q{i}-{j}"] = f"question {j} about chunk {i}?"
            relevant[f"q{i}-{j}"] = [f"c{i}"]
    return EmbeddingQAFinetuneDataset(queries=queries, corpus=corpus, relevant_docs=relevant)


def test_round_trip_keeps_the_tutorial_layout(tmp_path):
    ds = small()
    path = tmp_path / "train_dataset.json"
    ds.save_json(path)
    raw = json.loads(path.read_text())
    assert set(raw) == {"queries", "corpus", "relevant_docs", "mode"}
    assert EmbeddingQAFinetuneDataset.from_json(path) == ds
    assert [p.name for p in tmp_path.iterdir()] == ["train_dataset.json"]  # no temp file left


def test_a_file_written_by_the_old_package_loads_unchanged(tmp_path):
    old = {
        "queries": {"7f0c-uuid": "What is Lyft's mission?"},
        "corpus": {"node-uuid": "Our mission is to improve people's lives..."},
        "relevant_docs": {"7f0c-uuid": ["node-uuid"]},
        "mode": "text",
    }
    path = tmp_path / "old.json"
    path.write_text(json.dumps(old))
    ds = EmbeddingQAFinetuneDataset.from_json(path)
    assert ds.query_docid_pairs == [("What is Lyft's mission?", ["node-uuid"])]
    assert len(ds) == 1


def test_save_is_atomic_when_the_write_fails(tmp_path, monkeypatch):
    path = tmp_path / "d.json"
    small(2).save_json(path)
    before = path.read_text()

    def broken_fsync(fd):
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(OSError, match="disk full"):
        small(4).save_json(path)
    assert path.read_text() == before
    assert [p.name for p in tmp_path.iterdir()] == ["d.json"]


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda d: d["relevant_docs"].pop("q1"), "queries without relevant_docs: 'q1'"),
        (lambda d: d["relevant_docs"].update(q1=["ghost"]), "missing from corpus: 'ghost'"),
        (lambda d: d["queries"].update(q1="   "), "empty query text for ids: 'q1'"),
        (lambda d: d["corpus"].update(c1=""), "empty chunk text for corpus ids: 'c1'"),
        (lambda d: d["relevant_docs"].update(q9=["c1"]), "query ids missing from queries: 'q9'"),
    ],
)
def test_inconsistent_files_name_the_ids_and_the_file(tmp_path, change, message):
    data = {
        "queries": {"q1": "a?", "q2": "b?"},
        "corpus": {"c1": "x", "c2": "y"},
        "relevant_docs": {"q1": ["c1"], "q2": ["c2"]},
    }
    change(data)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    with pytest.raises(ValueError) as err:
        EmbeddingQAFinetuneDataset.from_json(path)
    assert message in str(err.value)
    assert str(path) in str(err.value)


def test_construction_validates_too():
    with pytest.raises(ValueError, match="missing from corpus: 'nope'"):
        EmbeddingQAFinetuneDataset(queries={"q": "x?"}, corpus={}, relevant_docs={"q": ["nope"]})


@pytest.mark.parametrize("content", ["[1, 2]", '{"queries": {}}', "not json"])
def test_a_file_of_another_layout_is_one_clear_error(tmp_path, content):
    path = tmp_path / "other.json"
    path.write_text(content)
    with pytest.raises(ValueError, match="other.json"):
        EmbeddingQAFinetuneDataset.from_json(path)


def test_split_by_chunk_puts_no_chunk_on_both_sides():
    ds = small(n_chunks=20)
    train, val = ds.split(val_fraction=0.25, seed=3)
    assert not set(train.corpus) & set(val.corpus)
    assert len(val.corpus) == 5 and len(train.corpus) == 15
    assert len(train) + len(val) == len(ds)
    assert ds.split(val_fraction=0.25, seed=3) == (train, val)
    assert ds.split(val_fraction=0.25, seed=4) != (train, val)


def test_split_keeps_chunks_that_share_a_query_together():
    ds = EmbeddingQAFinetuneDataset(
        queries={"q1": "one?", "q2": "two?", "q3": "three?"},
        corpus={f"c{i}": f"chunk {i}" for i in range(4)},
        relevant_docs={"q1": ["c0", "c1"], "q2": ["c1"], "q3": ["c2", "c3"]},
    )
    for seed in range(20):  # the landed split put c1 in both parts with seed 2
        train, val = ds.split(val_fraction=0.5, seed=seed)
        assert not set(train.corpus) & set(val.corpus)
        assert len(train) + len(val) == 3 and len(val) > 0
        answers = lambda d: {c for docs in d.relevant_docs.values() for c in docs}  # noqa: E731
        assert not answers(train) & answers(val)


def test_split_refuses_when_one_query_ties_every_chunk():
    ds = EmbeddingQAFinetuneDataset(
        queries={"q": "both?"}, corpus={"a": "A", "b": "B"}, relevant_docs={"q": ["a", "b"]}
    )
    with pytest.raises(ValueError, match="tied"):
        ds.split(val_fraction=0.5)


def test_split_keep_corpus_searches_the_whole_corpus_in_both_parts():
    ds = small(n_chunks=10)
    select, report = ds.split(val_fraction=0.5, seed=0, keep_corpus=True)
    assert select.corpus == ds.corpus == report.corpus
    answers = lambda d: {c for docs in d.relevant_docs.values() for c in docs}  # noqa: E731
    assert answers(select) and answers(report) and not answers(select) & answers(report)


def test_merge_unions_and_refuses_conflicting_texts():
    a, b = small(2), small(3)
    merged = EmbeddingQAFinetuneDataset.merge(a, b)
    assert len(merged) == 6 and len(merged.corpus) == 3
    assert a + b == merged
    clash = EmbeddingQAFinetuneDataset(
        queries={"q0-0": "another text?"},
        corpus={"c0": "chunk text 0"},
        relevant_docs={"q0-0": ["c0"]},
    )
    with pytest.raises(ValueError, match="query ids with different texts: 'q0-0'"):
        a + clash


def test_pairs_gives_one_pair_per_relevant_chunk():
    ds = EmbeddingQAFinetuneDataset(
        queries={"q": "?"}, corpus={"a": "A", "b": "B"}, relevant_docs={"q": ["a", "b"]}
    )
    assert ds.pairs() == [("?", "A"), ("?", "B")]


def test_split_divides_the_chunks_that_answer_and_leaves_distractors_out():
    # 4 answer chunks among 40: half of the answers go each way, whatever the distractors
    corpus = {f"c{i}": f"chunk {i}" for i in range(40)}
    queries = {f"q{i}": f"question {i}" for i in range(4)}
    relevant = {f"q{i}": [f"c{i}"] for i in range(4)}
    ds = EmbeddingQAFinetuneDataset(queries=queries, corpus=corpus, relevant_docs=relevant)
    select, report = ds.split(0.5, seed=3, keep_corpus=True)
    assert len(select) == len(report) == 2
    assert select.corpus == report.corpus == corpus
    one_answer = ds.subset(["q0"])
    with pytest.raises(ValueError, match="1 chunk"):
        one_answer.split(0.5)
