"""The paths that grow with the corpus: blocked exact top-k, and the adapter engine embedding
only what training reads."""

from __future__ import annotations

import numpy as np
import pytest

from llama_index.finetuning import EmbeddingAdapterFinetuneEngine, EmbeddingQAFinetuneDataset
from llama_index.finetuning.evaluation import score_embeddings
from llama_index.finetuning.evaluation.ranking import exact_top_k

# ---- blocked exact top-k ----------------------------------------------------------------


def _plain_top_k(q: np.ndarray, c: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The whole similarity matrix, sorted by (-score, corpus row)."""
    qn = (q / np.linalg.norm(q, axis=1, keepdims=True)).astype(np.float32)
    cn = (c / np.linalg.norm(c, axis=1, keepdims=True)).astype(np.float32)
    sims = qn @ cn.T
    rows = np.broadcast_to(np.arange(len(c)), sims.shape)
    order = np.lexsort((rows, -sims), axis=1)[:, :k]
    return order, np.take_along_axis(sims, order, 1)


@pytest.mark.parametrize("block_cells", [1, 7, 64, 40 * 300, 1 << 24])
def test_blocked_top_k_equals_a_plain_sort_with_ties(block_cells):
    rng = np.random.default_rng(3)
    q = rng.normal(size=(40, 16)).astype(np.float32)
    c = rng.normal(size=(300, 16)).astype(np.float32)
    c[200] = c[3]  # exact ties across blocks
    c[250] = c[3]
    c[100:110] = c[100]  # a run of ties inside a block
    q[5] = c[100]  # a query whose top-k is all ties
    expected_idx, expected_vals = _plain_top_k(q, c, 12)
    idx, vals = exact_top_k(q, c, 12, block_cells=block_cells)
    np.testing.assert_array_equal(idx, expected_idx)
    np.testing.assert_allclose(vals, expected_vals, rtol=0, atol=1e-6)
    assert idx[5].tolist()[:10] == list(range(100, 110))


def test_order_ranks_a_permuted_corpus_without_copying_it():
    rng = np.random.default_rng(4)
    q, c = rng.normal(size=(9, 8)), rng.normal(size=(50, 8))
    c[40] = c[2]
    order = rng.permutation(50)
    expected, _ = _plain_top_k(q, c[order], 7)
    idx, _ = exact_top_k(q, c, 7, block_cells=20, order=order)
    np.testing.assert_array_equal(idx, expected)


def test_k_larger_than_the_corpus_returns_every_row_ranked():
    q, c = np.eye(3, 4), np.eye(4)
    idx, vals = exact_top_k(q, c, 10, block_cells=2)
    assert idx.shape == (3, 4)
    assert idx[:, 0].tolist() == [0, 1, 2]
    assert idx[0].tolist() == [0, 1, 2, 3]  # the three zero scores in row order


def test_score_embeddings_ranks_by_id_in_blocks(monkeypatch):
    # the corpus dict order is not the id order; ties must still go to the lower id
    import llama_index.finetuning.evaluation.ranking as ranking

    monkeypatch.setattr(ranking, "_BLOCK_CELLS", 3)
    ds = EmbeddingQAFinetuneDataset(
        queries={"q": "question"},
        corpus={f"c{i}": f"t{i}" for i in (7, 3, 9, 1, 5, 8, 2)},
        relevant_docs={"q": ["c2"]},
    )
    result = score_embeddings(ds, np.ones((1, 4)), np.ones((7, 4)), top_k=[1, 5])
    assert result.per_query.retrieved_ids[0] == ["c1", "c2", "c3", "c5", "c7"]


# ---- the adapter engine embeds what it trains on ----------------------------------------


def _sparse_dataset() -> EmbeddingQAFinetuneDataset:
    """30 chunks, questions on 6 of them (two on one chunk, one asked of two chunks)."""
    corpus = {f"c{i}": f"chunk {i} is about subject{i} and topic{i * 7}" for i in range(30)}
    queries = {f"q{i}": f"what is said of subject{i * 5}?" for i in range(6)}
    relevant = {f"q{i}": [f"c{i * 5}"] for i in range(6)}
    queries["q6"] = "what is said of subject0 again?"
    relevant["q6"] = ["c0"]
    relevant["q5"] = ["c25", "c26"]
    return EmbeddingQAFinetuneDataset(queries=queries, corpus=corpus, relevant_docs=relevant)


def test_adapter_engine_embeds_only_queries_and_their_chunks(fake_openai, tmp_path):
    from llama_index.embeddings.openai import OpenAIEmbedding

    server = fake_openai()
    model = OpenAIEmbedding(
        model="text-embedding-3-small", api_base=server.url, api_key="test", max_retries=0,
        embed_batch_size=8,
    )  # fmt: skip
    ds = _sparse_dataset()
    used = {d for docs in ds.relevant_docs.values() for d in docs}
    assert len(used) == 7 < len(ds.corpus)

    engine = EmbeddingAdapterFinetuneEngine(
        ds, model, epochs=2, batch_size=4, model_output_path=str(tmp_path / "a"),
        cache_dir=tmp_path / "cache",
    )  # fmt: skip
    engine.finetune()
    assert server.embedded_texts == len(ds.queries) + len(used)
    assert engine.embedding_stats["computed"] == len(ds.queries) + len(used)
    assert all(h["loss"] > 0 for h in engine.history)

    # a later run that mines hard negatives embeds only the rest of the corpus
    mined = EmbeddingAdapterFinetuneEngine(
        ds, model, epochs=1, batch_size=4, hard_negatives=2,
        model_output_path=str(tmp_path / "b"), cache_dir=tmp_path / "cache",
    )  # fmt: skip
    mined.finetune()
    assert mined.embedding_stats["computed"] == len(ds.corpus) - len(used)
    assert server.embedded_texts == len(ds.queries) + len(ds.corpus)

    # a validation set's corpus is embedded whole (it is ranked), once
    val = _sparse_dataset()
    checked = EmbeddingAdapterFinetuneEngine(
        ds, model, epochs=1, batch_size=4, val_dataset=val,
        model_output_path=str(tmp_path / "c"), cache_dir=tmp_path / "cache",
    )  # fmt: skip
    checked.finetune()
    assert checked.embedding_stats["computed"] == 0
    assert len(checked.history) == 2


def test_nan_embeddings_are_one_clear_error():
    q = np.ones((2, 4))
    q[1, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        exact_top_k(q, np.eye(4), 2)
