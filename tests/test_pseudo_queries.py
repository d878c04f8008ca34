"""generate_pseudo_query_pairs: sentences of a chunk as its queries, no LLM."""

from __future__ import annotations

import random
import re

import pytest
from llama_index.core.schema import TextNode

from llama_index.finetuning.dataset import EmbeddingQAFinetuneDataset
from llama_index.finetuning.generation.pairs import GenerationWarning
from llama_index.finetuning.generation.pseudo_queries import generate_pseudo_query_pairs

SENTENCES = [
    "Revenue increased by 36 percent to 3.2 billion dollars during the year ended 2021.",
    "The number of active riders grew to 18.7 million in the fourth quarter of 2021.",
    "Our insurance reserves were strengthened after reviewing claims from earlier periods.",
    "We sold our autonomous vehicle division to a subsidiary of Toyota in July 2021.",
    "Drivers may choose to rent vehicles through the Express Drive program in many cities.",
    "The pandemic continued to reduce demand for shared rides in large metropolitan markets.",
    "Management believes that existing cash will be sufficient for the next twelve months.",
    "Bike and scooter sharing operations expanded into several new cities during the year.",
]
TABLE = "2021 2020 2019\n$ 3,208.3 $ 2,364.7 $ 3,615.9\n(1,009.4) (1,752.9) (2,602.2)\n12 % 8 %"


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().lower()


def _sentences(i: int) -> list[str]:
    """Sentences of chunk ``i``: found in no other chunk."""
    return [f"{s[:-1]} in segment {i}." for s in SENTENCES]


def _nodes(n: int = 6) -> list[TextNode]:
    rng = random.Random(42)
    return [
        TextNode(id_=f"doc-{i}", text=f"Item {i}.\n" + "\n".join(rng.sample(_sentences(i), 6)))
        for i in range(n)
    ]


def test_pairs_sentences_of_each_chunk_with_that_chunk():
    nodes = _nodes()
    ds = generate_pseudo_query_pairs(nodes, num_questions_per_chunk=2, show_progress=False)
    assert isinstance(ds, EmbeddingQAFinetuneDataset)
    assert set(ds.corpus) == {n.node_id for n in nodes}
    assert len(ds.queries) == 2 * len(nodes)
    texts = {n.node_id: n.text for n in nodes}
    for qid, (doc_id,) in ds.relevant_docs.items():
        assert ds.queries[qid] in _sentences(int(doc_id.split("-")[1]))  # a whole sentence
        assert ds.queries[qid] in texts[doc_id]


def test_same_seed_same_pairs_other_seed_other_pairs_and_node_order_does_not_matter():
    nodes = _nodes()
    a = generate_pseudo_query_pairs(nodes, seed=1, show_progress=False)
    b = generate_pseudo_query_pairs(list(reversed(nodes)), seed=1, show_progress=False)
    c = generate_pseudo_query_pairs(nodes, seed=2, show_progress=False)
    assert a.pairs() and sorted(a.pairs()) == sorted(b.pairs())
    assert a.queries == b.queries
    assert sorted(a.queries.values()) != sorted(c.queries.values())


def test_removal_cuts_every_paired_sentence_out_of_its_chunk():
    nodes = _nodes()
    dup = " ".join(SENTENCES[:3] + [SENTENCES[0]] + SENTENCES[3:])  # the first one twice
    nodes.append(TextNode(id_="dup", text=dup))
    ds = generate_pseudo_query_pairs(nodes, removal_rate=1.0, show_progress=False)
    for qid, (doc_id,) in ds.relevant_docs.items():
        assert _norm(ds.queries[qid]) not in _norm(ds.corpus[doc_id])
        assert len(ds.corpus[doc_id].split()) >= 30  # the rest of the chunk is still there


def test_a_sentence_found_in_two_chunks_is_never_picked():
    shared = "This sentence sits in the overlap of both neighbouring chunks of the report."
    nodes = [
        TextNode(id_=f"c{i}", text=" ".join([shared, *_sentences(i)[:1], shared])) for i in range(2)
    ]
    ds = generate_pseudo_query_pairs(nodes, num_questions_per_chunk=2, show_progress=False)
    assert sorted(ds.queries.values()) == sorted([_sentences(0)[0], _sentences(1)[0]])


def test_without_removal_the_chunk_is_kept_as_is():
    nodes = _nodes()
    ds = generate_pseudo_query_pairs(nodes, removal_rate=0.0, show_progress=False)
    assert ds.corpus == {n.node_id: n.text for n in nodes}


def test_removal_rate_between_zero_and_one_keeps_some_chunks_whole():
    nodes = _nodes(40)
    ds = generate_pseudo_query_pairs(nodes, removal_rate=0.5, show_progress=False)
    whole = sum(ds.corpus[n.node_id] == n.text for n in nodes)
    assert 5 < whole < 35


def test_a_chunk_too_short_to_lose_sentences_keeps_its_text():
    node = TextNode(id_="short", text=" ".join(SENTENCES[:2]))
    ds = generate_pseudo_query_pairs([node], removal_rate=1.0, show_progress=False)
    assert ds.corpus == {"short": node.text}
    assert len(ds.queries) == 2


def test_never_an_empty_or_tabular_query_and_a_table_chunk_gets_none():
    nodes = [*_nodes(3), TextNode(id_="table", text=TABLE), TextNode(id_="blank", text="  \n")]
    with pytest.warns(GenerationWarning, match="1 chunks have no sentence"):
        ds = generate_pseudo_query_pairs(nodes, num_questions_per_chunk=3, show_progress=False)
    assert "table" not in ds.corpus and "blank" not in ds.corpus
    for query in ds.queries.values():
        assert query.strip() and 8 <= len(query.split()) <= 60
        assert query[0].isupper() or query[0].isdigit()


def test_few_informative_sentences_give_fewer_queries():
    node = TextNode(id_="one", text=f"{TABLE}.\n{SENTENCES[0]}\n{TABLE}.\n" + " word" * 40)
    ds = generate_pseudo_query_pairs([node], num_questions_per_chunk=3, show_progress=False)
    assert list(ds.queries.values()) == [SENTENCES[0]]


def test_output_path_writes_the_dataset(tmp_path):
    out = tmp_path / "sub" / "pairs.json"
    out.parent.mkdir()
    ds = generate_pseudo_query_pairs(_nodes(), output_path=out, show_progress=False)
    assert EmbeddingQAFinetuneDataset.from_json(out) == ds


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"num_questions_per_chunk": 0}, "num_questions_per_chunk"),
        ({"removal_rate": 1.5}, "removal_rate"),
        ({"min_words": 10, "max_words": 5}, "min_words"),
    ],
)
def test_bad_arguments_are_named(kwargs, name):
    with pytest.raises(ValueError, match=name):
        generate_pseudo_query_pairs(_nodes(1), show_progress=False, **kwargs)
