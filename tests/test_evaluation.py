"""Retrieval evaluation: metric definitions, exact ranking, the embedding and retriever paths,
agreement with sentence-transformers, API models through the real OpenAI client, compare()."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import warnings

import numpy as np
import pytest
from llama_index.core.evaluation.retrieval.metrics import MRR, NDCG, HitRate

from llama_index.finetuning import EmbeddingQAFinetuneDataset
from llama_index.finetuning.evaluation import (
    EvaluationResult,
    SmallSetWarning,
    clear_embedding_cache,
    compare,
    corpus_nodes,
    evaluate_embedding,
    evaluate_retriever,
    score_embeddings,
)
from llama_index.finetuning.evaluation import metrics as M
from llama_index.finetuning.evaluation.ranking import exact_top_k

# ---- a small dataset with real text --------------------------------------------------

FACTS = [
    ("revenue", "Total revenue grew 36% to $3.2 billion, driven by ride volume recovery."),
    ("riders", "Active riders rose to 18.7 million in the fourth quarter of the year."),
    ("loss", "The net loss narrowed to $1.0 billion compared with $1.8 billion a year earlier."),
    ("insurance", "Insurance reserves were increased after adverse development of prior claims."),
    (
        "drivers",
        "Drivers are classified as independent contractors, not employees, under Proposition 22.",
    ),
    (
        "autonomous",
        "The autonomous vehicle unit was sold to a subsidiary of Toyota for $550 million.",
    ),
    ("bikes", "Bike and scooter sharing operates in cities such as New York and Chicago."),
    ("covid", "The COVID-19 pandemic reduced demand for shared rides during lockdowns."),
    ("debt", "Convertible senior notes due 2025 carry an interest rate of 1.5 percent."),
    ("employees", "The company had about 4,400 full-time employees at the end of December."),
    ("marketing", "Sales and marketing expenses decreased as rider incentives were reduced."),
    ("lawsuits", "Several lawsuits allege sexual assault by drivers on the platform."),
    ("cash", "Cash, cash equivalents and short-term investments totaled $2.3 billion."),
    ("rentals", "Express Drive rents vehicles to drivers who do not own a car."),
    ("regulation", "Local regulators may cap the number of ride-sharing vehicles in a city."),
    ("stock", "Stock-based compensation expense was $720 million for the year."),
    ("airports", "Airport pickups require permits and per-trip fees paid to airport authorities."),
    ("safety", "Safety features include an emergency button and real-time ID checks."),
    ("climate", "The company committed to 100% electric vehicles on the platform by 2030."),
    ("healthcare", "Lyft Healthcare provides non-emergency medical transportation for patients."),
]
QUESTIONS = {
    "revenue": "How much did total revenue grow?",
    "riders": "How many active riders were there in Q4?",
    "loss": "What was the net loss compared with the previous year?",
    "insurance": "Why were insurance reserves increased?",
    "drivers": "How are drivers classified under Proposition 22?",
    "autonomous": "Who bought the autonomous vehicle unit?",
    "bikes": "In which cities does bike and scooter sharing operate?",
    "covid": "How did the pandemic affect demand for shared rides?",
    "debt": "What interest rate do the convertible notes carry?",
    "employees": "How many full-time employees did the company have?",
    "marketing": "Why did sales and marketing expenses decrease?",
    "lawsuits": "What do the lawsuits against the platform allege?",
    "cash": "How much cash and short-term investments were held?",
    "rentals": "What does Express Drive offer to drivers without a car?",
    "regulation": "Can regulators limit the number of ride-sharing vehicles?",
    "stock": "What was the stock-based compensation expense?",
    "airports": "What is required for airport pickups?",
    "safety": "Which safety features does the app include?",
    "climate": "When will all vehicles on the platform be electric?",
    "healthcare": "What does Lyft Healthcare provide?",
}


def make_dataset() -> EmbeddingQAFinetuneDataset:
    corpus = {f"node-{key}": text for key, text in FACTS}
    # a second chunk for a few topics, so some queries have two relevant chunks
    corpus["node-revenue-2"] = (
        "Revenue growth came from higher ride volume and more rides per rider."
    )
    corpus["node-loss-2"] = "The smaller net loss reflects lower insurance and incentive costs."
    queries = {f"q-{key}": q for key, q in QUESTIONS.items()}
    relevant = {f"q-{key}": [f"node-{key}"] for key in QUESTIONS}
    relevant["q-revenue"].append("node-revenue-2")
    relevant["q-loss"].append("node-loss-2")
    return EmbeddingQAFinetuneDataset(queries=queries, corpus=corpus, relevant_docs=relevant)


@pytest.fixture(scope="module")
def dataset() -> EmbeddingQAFinetuneDataset:
    return make_dataset()


@pytest.fixture(scope="module")
def minilm():
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding

    from llama_index.finetuning.resources import offline_base_model_path

    return HuggingFaceEmbedding(model_name=str(offline_base_model_path()), embed_batch_size=16)


def openai_embedding(server, **kwargs):
    from llama_index.embeddings.openai import OpenAIEmbedding

    return OpenAIEmbedding(
        model="text-embedding-3-small", api_base=server.url, api_key="test", max_retries=0, **kwargs
    )


# ---- metrics against hand-computed values -----------------------------------------------


def test_ndcg_with_several_relevant_documents():
    rel = M.relevance([["a", "x", "b", "y", "c"]], [{"a", "b", "c"}])
    dcg = 1 + 1 / math.log2(4) + 1 / math.log2(6)
    ideal = 1 + 1 / math.log2(3) + 1 / math.log2(4)
    assert M.ndcg(rel, 5)[0] == pytest.approx(dcg / ideal)
    # at k=2 only two of the three relevant documents fit, so the ideal is cut at 2
    assert M.ndcg(rel, 2)[0] == pytest.approx(1 / (1 + 1 / math.log2(3)))
    # all relevant first is perfect however many there are
    assert M.ndcg(M.relevance([["b", "a", "c", "x"]], [{"a", "b", "c"}]), 4)[0] == pytest.approx(
        1.0
    )


def test_mrr_and_others_when_nothing_is_found():
    rel = M.relevance([["x", "y", "z"], ["x", "y", "a"]], [{"a"}, {"a"}])
    assert M.mrr(rel, 3).tolist() == pytest.approx([0.0, 1 / 3])
    assert M.mrr(rel, 2).tolist() == [0.0, 0.0]  # the hit at rank 3 is outside k=2
    for name in M.METRICS:
        assert M.METRICS[name](rel, 2).tolist() == [0.0, 0.0], name
    assert M.first_hit_rank(rel).tolist() == [0, 3]


def test_recall_precision_map_hand_computed():
    rel = M.relevance([["a", "x", "b"]], [{"a", "b", "c", "d"}])
    assert M.recall(rel, 3)[0] == pytest.approx(2 / 4)
    assert M.precision(rel, 3)[0] == pytest.approx(2 / 3)
    # AP@3 = (1/1 + 2/3) / min(4, 3)
    assert M.map_at_k(rel, 3)[0] == pytest.approx((1 + 2 / 3) / 3)
    # a list shorter than k: missing places are misses for precision, not for recall
    short = M.relevance([["a"]], [{"a"}])
    assert M.precision(short, 5)[0] == pytest.approx(0.2)
    assert M.recall(short, 5)[0] == 1.0 and M.hit_rate(short, 5)[0] == 1.0


def test_score_averages_every_metric_at_every_k():
    rel = M.relevance([["a", "b"], ["x", "a"]], [{"a"}, {"a"}])
    summary = M.score(rel, top_k=[2, 1])
    assert list(summary)[:2] == ["hit_rate@1", "hit_rate@2"]
    assert summary["hit_rate@1"] == 0.5 and summary["mrr@2"] == pytest.approx(0.75)


def test_bad_metric_names_and_k_are_named():
    with pytest.raises(ValueError, match="unknown metric.*'mmr'"):
        M.normalize_metrics(["mrr", "mmr"])
    with pytest.raises(ValueError, match="top_k"):
        M.normalize_top_k([5, 0])


def test_core_hit_rate_and_mrr_agree_with_ours_on_random_rankings():
    rng = np.random.default_rng(0)
    ids = [f"d{i}" for i in range(30)]
    ranked = [list(rng.permutation(ids)[:10]) for _ in range(200)]
    relevant = [set(rng.choice(ids, size=rng.integers(1, 4), replace=False)) for _ in range(200)]
    rel = M.relevance(ranked, relevant)
    for k in (1, 5, 10):
        core_hit = [
            HitRate().compute(expected_ids=list(e), retrieved_ids=r[:k]).score
            for r, e in zip(ranked, relevant, strict=True)
        ]
        core_mrr = [
            MRR().compute(expected_ids=list(e), retrieved_ids=r[:k]).score
            for r, e in zip(ranked, relevant, strict=True)
        ]
        assert M.hit_rate(rel, k).tolist() == pytest.approx(core_hit)
        assert M.mrr(rel, k).tolist() == pytest.approx(core_mrr)


# ---- exact ranking --------------------------------------------------------------------


def test_exact_top_k_matches_a_full_sort_in_any_block_size():
    rng = np.random.default_rng(1)
    q, c = rng.normal(size=(37, 8)), rng.normal(size=(101, 8))
    c[50] = c[7]  # an exact tie
    sims = (q / np.linalg.norm(q, axis=1, keepdims=True)) @ (
        c / np.linalg.norm(c, axis=1, keepdims=True)
    ).T
    expected = np.lexsort(
        (np.broadcast_to(np.arange(101), sims.shape), -sims.astype(np.float32)), axis=1
    )[:, :10]
    for block in (101, 5 * 101, 1 << 24):
        idx, scores = exact_top_k(q, c, 10, block_cells=block)
        np.testing.assert_array_equal(idx, expected)
        assert (np.diff(scores, axis=1) <= 0).all()


def test_ties_go_to_the_lower_corpus_id_whatever_the_corpus_order():
    # every chunk scores the same: the ranking must be by id, not by dict order
    ds = EmbeddingQAFinetuneDataset(
        queries={"q": "question"},
        corpus={"c3": "t3", "c1": "t1", "c4": "t4", "c2": "t2"},
        relevant_docs={"q": ["c2"]},
    )
    result = score_embeddings(ds, np.ones((1, 4)), np.ones((4, 4)), top_k=[1, 2, 3])
    assert result.per_query.retrieved_ids[0] == ["c1", "c2", "c3"]
    assert result.summary["hit_rate@1"] == 0.0 and result.summary["mrr@3"] == 0.5
    assert result.per_query.first_hit_rank[0] == 2


def test_score_embeddings_names_a_bad_shape(dataset):
    q = np.zeros((len(dataset.queries), 4))
    with pytest.raises(
        ValueError, match=r"corpus_embeddings must be .*\(22, dim\).*got shape \(3, 4\)"
    ):
        score_embeddings(dataset, q, np.zeros((3, 4)))
    with pytest.raises(ValueError, match="dimension 4 but corpus embeddings 5"):
        score_embeddings(dataset, q, np.zeros((len(dataset.corpus), 5)))


def test_result_round_trips_through_json(tmp_path, dataset):
    rng = np.random.default_rng(2)
    result = score_embeddings(
        dataset, rng.normal(size=(20, 6)), rng.normal(size=(22, 6)), top_k=[1, 5], name="random"
    )
    result.save_json(tmp_path / "r.json")
    again = EvaluationResult.from_json(tmp_path / "r.json")
    assert again.summary == result.summary and again.top_k == [1, 5] and again.name == "random"
    assert again.per_query.retrieved_ids.tolist() == result.per_query.retrieved_ids.tolist()
    assert (
        again.per_query.first_hit_rank.isna().tolist()
        == result.per_query.first_hit_rank.isna().tolist()
    )


# ---- real models ----------------------------------------------------------------------


def hard_dataset(dataset: EmbeddingQAFinetuneDataset) -> EmbeddingQAFinetuneDataset:
    """The same texts with some judgements moved to other chunks, so that the first hit
    lands at many different ranks (MiniLM answers the clean questions perfectly)."""
    ids = sorted(dataset.corpus)
    relevant = {}
    for i, (q, docs) in enumerate(dataset.relevant_docs.items()):
        if i % 3 == 1:
            docs = [ids[(i * 7) % len(ids)]]
        elif i % 3 == 2:
            docs = [*docs, ids[(i * 5) % len(ids)], ids[(i * 11) % len(ids)]]
        relevant[q] = list(dict.fromkeys(docs))
    return dataset.model_copy(update={"relevant_docs": relevant})


def test_agrees_with_sentence_transformers_information_retrieval_evaluator(
    dataset, minilm, tmp_path
):
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.evaluation import InformationRetrievalEvaluator

    from llama_index.finetuning.resources import offline_base_model_path

    dataset = hard_dataset(dataset)

    evaluator = InformationRetrievalEvaluator(
        dataset.queries,
        dataset.corpus,
        {q: set(d) for q, d in dataset.relevant_docs.items()},
        mrr_at_k=[10],
        ndcg_at_k=[3, 10],
        accuracy_at_k=[1, 3, 5],
        precision_recall_at_k=[1, 3, 5],
        map_at_k=[10],
        name="val",
    )
    # its CSV goes into a folder that does not exist yet (the tutorial's FileNotFoundError)
    st = evaluator(
        SentenceTransformer(str(offline_base_model_path())),
        output_path=str(tmp_path / "new" / "dir"),
    )
    ours = evaluate_embedding(dataset, minilm, top_k=[1, 3, 5, 10]).summary
    assert (tmp_path / "new" / "dir").is_dir()
    pairs = {
        "val_cosine_ndcg@10": "ndcg@10",
        "val_cosine_ndcg@3": "ndcg@3",
        "val_cosine_mrr@10": "mrr@10",
        "val_cosine_map@10": "map@10",
        "val_cosine_accuracy@1": "hit_rate@1",
        "val_cosine_accuracy@5": "hit_rate@5",
        "val_cosine_precision@3": "precision@3",
        "val_cosine_recall@5": "recall@5",
    }
    for st_key, our_key in pairs.items():
        assert ours[our_key] == pytest.approx(st[st_key], abs=1e-4), our_key
    assert 0.3 < ours["mrr@10"] < 0.9 and 0.3 < ours["ndcg@10"] < 0.9  # not a trivial case


def test_fast_path_and_vector_store_index_give_the_same_hit_rate_and_mrr(dataset, minilm):
    from llama_index.core import VectorStoreIndex

    fast = evaluate_embedding(dataset, minilm, top_k=[1, 3, 5])
    index = VectorStoreIndex(corpus_nodes(dataset), embed_model=minilm)
    slow = evaluate_retriever(dataset, index.as_retriever(similarity_top_k=5), top_k=[1, 3, 5])
    for k in (1, 3, 5):
        assert slow.summary[f"hit_rate@{k}"] == pytest.approx(fast.summary[f"hit_rate@{k}"])
        assert slow.summary[f"mrr@{k}"] == pytest.approx(fast.summary[f"mrr@{k}"])
    assert slow.per_query.retrieved_ids.tolist() == fast.per_query.retrieved_ids.tolist()
    # core's NDCG object is accepted too, under its own definition
    core = evaluate_retriever(
        dataset, index.as_retriever(similarity_top_k=5), top_k=5, metrics=[NDCG(), "mrr"]
    )
    assert set(core.summary) == {"ndcg@5", "mrr@5"}


def test_an_index_of_loaded_nodes_scores_as_the_pairs_do(tmp_path, minilm):
    """evaluate_embedding (the pairs' text) and a VectorStoreIndex of the same
    nodes (what a user serves) rank with the same vectors: the index embeds no metadata."""
    from llama_index.core import VectorStoreIndex

    from llama_index.finetuning.dataset import corpus_texts
    from llama_index.finetuning.documents import load_nodes

    for key, text in FACTS[:8]:
        (tmp_path / f"{key}.txt").write_text(text)
    nodes = load_nodes([tmp_path])
    corpus = corpus_texts(nodes)
    by_text = {text: cid for cid, text in corpus.items()}
    keys = [key for key, _ in FACTS[:8]]
    pairs = EmbeddingQAFinetuneDataset(
        queries={f"q-{k}": QUESTIONS[k] for k in keys},
        corpus=corpus,
        relevant_docs={f"q-{k}": [by_text[t]] for k, t in FACTS[:8]},
    )
    fast = evaluate_embedding(pairs, minilm, top_k=[1, 3])
    index = VectorStoreIndex(nodes, embed_model=minilm)
    served = evaluate_retriever(pairs, index.as_retriever(similarity_top_k=3), top_k=[1, 3])
    assert served.per_query.retrieved_ids.tolist() == fast.per_query.retrieved_ids.tolist()
    for a, b in zip(
        served.per_query.retrieved_scores, fast.per_query.retrieved_scores, strict=True
    ):
        assert a == pytest.approx(b, abs=1e-5)


def test_a_query_instruction_is_not_batched_away(dataset):
    """A model that embeds queries differently must be ranked with its query path."""
    from llama_index.core import VectorStoreIndex
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding

    from llama_index.finetuning.resources import offline_base_model_path

    model = HuggingFaceEmbedding(
        model_name=str(offline_base_model_path()),
        query_instruction="Represent this question about bikes: ",
    )
    fast = evaluate_embedding(dataset, model, top_k=[1, 5])
    assert fast.info["query_path"] == "batched on the query path"
    index = VectorStoreIndex(corpus_nodes(dataset), embed_model=model)
    slow = evaluate_retriever(dataset, index.as_retriever(similarity_top_k=5), top_k=[1, 5])
    assert slow.per_query.retrieved_ids.tolist() == fast.per_query.retrieved_ids.tolist()


def test_adapter_model_is_ranked_with_its_adapted_queries(dataset, minilm, tmp_path):
    """AdapterEmbeddingModel changes only queries: both paths must use the adapted ones."""
    import torch
    from llama_index.core import VectorStoreIndex

    from llama_index.embeddings.adapter import AdapterEmbeddingModel
    from llama_index.embeddings.adapter.utils import LinearLayer

    layer = LinearLayer(384, 384)
    with torch.no_grad():
        layer.linear.weight.add_(
            0.3 * torch.randn(384, 384, generator=torch.Generator().manual_seed(0))
        )
    layer.save(tmp_path / "adapter")
    adapter = AdapterEmbeddingModel(minilm, tmp_path / "adapter")
    report = compare(dataset, {"base": minilm, "adapter": adapter}, top_k=[1, 5], baseline="base")
    fast = report.results["adapter"]
    assert fast.info["query_path"] == "the model's query batches"
    index = VectorStoreIndex(corpus_nodes(dataset), embed_model=adapter)
    slow = evaluate_retriever(dataset, index.as_retriever(similarity_top_k=5), top_k=[1, 5])
    assert slow.per_query.retrieved_ids.tolist() == fast.per_query.retrieved_ids.tolist()
    base = report.results["base"].per_query.retrieved_ids.tolist()
    assert base != fast.per_query.retrieved_ids.tolist()  # the adapter did change rankings


def test_api_model_embeds_each_text_once_in_batches_and_reuses_them(dataset, fake_openai):
    server = fake_openai(latency=0.0)
    model = openai_embedding(server, embed_batch_size=8)
    n_corpus, n_queries = len(dataset.corpus), len(dataset.queries)
    result = evaluate_embedding(dataset, model, top_k=[1, 5])
    # every text once, 8 per request (v3 models embed queries and texts on one endpoint)
    assert server.embedded_texts == n_corpus + n_queries
    assert server.embedding_requests == math.ceil(n_corpus / 8) + math.ceil(n_queries / 8)
    assert result.info["query_path"] == "batched on the query path"
    requests = server.embedding_requests
    again = evaluate_embedding(dataset, model, top_k=[3, 10], metrics=["ndcg"])
    assert server.embedding_requests == requests  # reused, not re-embedded
    assert list(again.summary) == ["ndcg@3", "ndcg@10"]
    clear_embedding_cache()
    evaluate_embedding(dataset, model, top_k=1, batch_queries=False)
    assert server.embedding_requests == requests + math.ceil(n_corpus / 8) + n_queries


def test_api_model_calls_are_concurrent_and_bounded(dataset, fake_openai):
    server = fake_openai(latency=0.05)
    model = openai_embedding(server, embed_batch_size=2)
    evaluate_embedding(dataset, model, top_k=5, workers=2, cache=False)
    # corpus and query batches overlap, each with at most `workers` requests in flight
    assert 2 <= server.max_in_flight <= 4
    assert server.embedded_texts == len(dataset.corpus) + len(dataset.queries)


def test_api_model_fast_path_matches_the_retriever_path(dataset, fake_openai):
    from llama_index.core import VectorStoreIndex

    server = fake_openai(latency=0.0)
    model = openai_embedding(server)
    fast = evaluate_embedding(dataset, model, top_k=[1, 3], cache=False)
    index = VectorStoreIndex(corpus_nodes(dataset), embed_model=model)
    slow = evaluate_retriever(
        dataset, index.as_retriever(similarity_top_k=3), top_k=[1, 3], workers=4
    )
    assert slow.summary["hit_rate@3"] == pytest.approx(fast.summary["hit_rate@3"])
    assert slow.summary["mrr@3"] == pytest.approx(fast.summary["mrr@3"])
    assert fast.summary["hit_rate@3"] > 0.5  # the hashed bag-of-words embeddings do retrieve


def test_retriever_over_other_node_ids_is_a_clear_error(dataset, fake_openai):
    from llama_index.core import VectorStoreIndex
    from llama_index.core.schema import TextNode

    model = openai_embedding(fake_openai())
    nodes = [TextNode(text=t) for t in dataset.corpus.values()]  # random ids
    retriever = VectorStoreIndex(nodes, embed_model=model).as_retriever(similarity_top_k=2)
    with pytest.raises(ValueError, match="not chunk ids of the dataset.*corpus_nodes"):
        evaluate_retriever(dataset, retriever, top_k=2)


def test_an_empty_dataset_is_a_clear_error():
    with pytest.raises(ValueError, match="no queries"):
        score_embeddings(EmbeddingQAFinetuneDataset(), np.zeros((0, 4)), np.zeros((0, 4)))


def test_a_retriever_returning_fewer_than_k_results_is_warned_about(dataset, fake_openai):
    from llama_index.core import VectorStoreIndex

    model = openai_embedding(fake_openai())
    retriever = VectorStoreIndex(corpus_nodes(dataset), embed_model=model).as_retriever(
        similarity_top_k=2
    )
    with pytest.warns(UserWarning, match="at most 2 results.*similarity_top_k to at least 5"):
        result = evaluate_retriever(dataset, retriever, top_k=[1, 5])
    # the missing places count as misses
    assert result.summary["precision@5"] <= 2 / 5


def test_unknown_model_string_is_a_clear_error(dataset):
    with pytest.raises(ValueError, match="cannot load embed_model 'bge-small'"):
        evaluate_embedding(dataset, "bge-small")


def test_compare_writes_table_markdown_png_and_wins_losses(dataset, minilm, fake_openai, tmp_path):
    server = fake_openai()
    hashed = evaluate_embedding(dataset, openai_embedding(server), top_k=[1, 5], name="ignored")
    report = compare(
        dataset,
        {"base": hashed, "minilm": minilm, "minilm-again": minilm},
        top_k=[1, 5],
        baseline="base",
        output_dir=tmp_path / "eval",
        dataset_name="the test facts",
    )
    assert list(report.table.index) == ["base", "minilm", "minilm-again"]
    assert report.table.loc["minilm", "mrr@5"] == report.table.loc["minilm-again", "mrr@5"]
    md = report.to_markdown()
    lines = md.splitlines()
    assert lines[0] == (
        f"Scored on the test facts: {len(dataset.queries)} queries, searched among 22 chunks."
    )
    # lean table; two queries have two relevant chunks, so recall and MAP are shown too
    assert lines[2] == (
        "| model | hit_rate@1 | hit_rate@5 | mrr@5 | ndcg@5 | recall@5 | map@5 "
        "| wins/losses/ties (ndcg@5) | p (ndcg@5) |"
    )
    d = report.differences("minilm")["mrr@5"]
    delta = report.table.loc["minilm", "mrr@5"] - report.table.loc["base", "mrr@5"]
    assert d.difference == pytest.approx(delta)
    assert d.low <= delta <= d.high
    assert f"({delta:+.3f} [{d.low:+.3f}, {d.high:+.3f}])" in md
    nd = report.differences("minilm")["ndcg@5"]
    assert f"| {nd.wins}/{nd.losses}/{nd.ties} |" in md
    assert report.differences("base") == {}

    png = (tmp_path / "eval" / "comparison.png").read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 5000
    saved = json.loads((tmp_path / "eval" / "comparison.json").read_text())
    assert saved["dataset"] == {
        "name": "the test facts",
        "n_queries": len(dataset.queries),
        "n_corpus": len(dataset.corpus),
        "too_small": False,
    }
    # every metric stays in the JSON, not only the table's columns
    assert saved["table"]["minilm"]["mrr@5"] == pytest.approx(report.table.loc["minilm", "mrr@5"])
    assert saved["table"]["minilm"]["precision@1"] == report.table.loc["minilm", "precision@1"]
    assert saved["differences"]["minilm"]["ndcg@5"]["wins"] == nd.wins
    assert saved["statistics"]["primary_metric"] == "ndcg@5"
    assert (tmp_path / "eval" / "per_query" / "minilm.json").is_file()
    assert "wins/losses/ties" in (tmp_path / "eval" / "comparison.md").read_text()

    wl = report.wins_losses("minilm", "base")  # on ndcg@5, the table's metric
    assert len(wl) == len(dataset.queries)
    assert wl.delta.sum() == pytest.approx(len(wl) * nd.difference)
    assert (wl.outcome == "win").sum() == nd.wins and (wl.outcome == "loss").sum() == nd.losses
    assert (report.wins_losses("minilm", "minilm-again").outcome == "tie").all()
    with pytest.raises(KeyError, match="no model named 'tuned'"):
        report.wins_losses("tuned", "base")


def _random_result(ds, noise, seed, top_k=(1, 5, 10), name="m"):
    rng = np.random.default_rng(seed)
    corpus = np.random.default_rng(0).normal(size=(len(ds.corpus), 16))
    first = {d: i for i, d in enumerate(ds.corpus)}
    rows = [first[ds.relevant_docs[q][0]] for q in ds.queries]
    queries = corpus[rows] + rng.normal(size=(len(rows), 16)) * noise
    return score_embeddings(ds, queries, corpus, top_k=list(top_k), name=name)


def test_evaluation_searches_the_collection_it_is_given_and_says_what_it_searched(dataset, minilm):
    """A set searched among its own few chunks flatters every model; corpus=
    (a dict or the nodes of the index) adds the rest of the collection, and the result says
    how many chunks were searched and that 3 questions cannot tell two models apart."""
    from llama_index.core.schema import TextNode

    small = dataset.subset(["q-revenue", "q-riders", "q-covid"])
    with pytest.warns(SmallSetWarning, match="too few to tell two models apart") as caught:
        alone = evaluate_embedding(small, minilm, top_k=[1, 5])
    assert caught[0].filename == __file__  # the warning names the caller's line
    assert alone.searched_chunks == len(small.corpus) == 4 and alone.too_small
    assert "20 needed" in alone.notice and "too small" in repr(alone)

    # the index's nodes carry metadata; the text searched is the chunk's, as the pairs hold it
    nodes = [
        TextNode(id_=cid, text=text, metadata={"page_label": "8", "file_path": "10k.pdf"})
        for cid, text in dataset.corpus.items()
    ]
    for corpus in (nodes, dict(dataset.corpus)):
        with pytest.warns(SmallSetWarning):
            among = evaluate_embedding(small, minilm, top_k=[1, 5], corpus=corpus)
        assert among.searched_chunks == len(dataset.corpus) == 22
        assert among.info["n_corpus"] == 22 and "searched among 22 chunks" in repr(among)
        assert among.summary["hit_rate@5"] <= alone.summary["hit_rate@5"]
    with pytest.raises(ValueError, match="'node-revenue'"):  # an id of the set, another text
        evaluate_embedding(small, minilm, corpus={"node-revenue": "Something else."})

    with warnings.catch_warnings():  # 20 questions: no warning
        warnings.simplefilter("error", SmallSetWarning)
        full = evaluate_embedding(dataset, minilm, top_k=[1, 5])
    assert not full.too_small and full.notice is None


def test_compare_searches_the_given_corpus_and_its_table_says_a_set_is_too_small(dataset, minilm):
    small = dataset.subset(["q-revenue", "q-riders", "q-covid"])
    with pytest.warns(SmallSetWarning) as caught:
        report = compare(small, {"a": minilm, "b": minilm}, top_k=[1, 5], baseline="a",
                         corpus=dataset.corpus, dataset_name="three questions")  # fmt: skip
    assert len(caught) == 1 and caught[0].filename == __file__  # once, not once per model
    first = report.to_markdown().splitlines()[0]
    assert first.startswith("Scored on three questions: 3 queries, searched among 22 chunks.")
    assert "Too small: 3 questions are too few to tell two models apart (20 needed)" in first
    assert report.too_small and report.to_dict()["dataset"]["too_small"] is True


def test_lean_table_and_a_marked_difference_whose_interval_holds_zero():
    from llama_index.finetuning.evaluation import Comparison

    n = 40
    ds = EmbeddingQAFinetuneDataset(
        queries={f"q{i}": f"question {i}" for i in range(n)},
        corpus={f"c{i}": f"chunk {i}" for i in range(n)},
        relevant_docs={f"q{i}": [f"c{i}"] for i in range(n)},
    )
    base = _random_result(ds, 1.5, seed=1)
    report = Comparison(
        {
            "base": base,
            "same": _random_result(ds, 1.5, seed=1),
            "better": _random_result(ds, 0.3, 2),
        },
        baseline="base",
    )
    # one relevant chunk per query: recall = hit rate and MAP = MRR, so they are left out
    assert report.headline_columns() == ["hit_rate@1", "hit_rate@5", "mrr@10", "ndcg@10"]
    assert len(report.table.columns) == 18  # every metric is still computed
    md = report.to_markdown()
    same = next(line for line in md.splitlines() if line.startswith("| same |"))
    assert same.count("(+0.000 [+0.000, +0.000]) †") == 4 and same.endswith("| 0/0/40 | 1.000 |")
    better = report.differences("better")["ndcg@10"]
    assert better.low > 0 and better.p_value < 0.01
    better_line = next(line for line in md.splitlines() if line.startswith("| better |"))
    assert "†" not in better_line.split("|")[5]
    assert "† the interval contains 0" in md
    # several relevant chunks for one query: recall and MAP come back
    ds.relevant_docs["q0"] = ["c0", "c1"]
    two = Comparison({"base": _random_result(ds, 1.5, 1), "x": _random_result(ds, 1.0, 3)})
    assert two.headline_columns()[-2:] == ["recall@10", "map@10"]
    assert "wins/losses" not in two.to_markdown()  # no baseline: no paired columns


def test_importing_evaluation_does_not_import_torch():
    code = "import sys, llama_index.finetuning.evaluation as e; e.score_embeddings; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
