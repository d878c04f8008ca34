"""The tutorial flow, all defaults, against an OpenAI-compatible server answering in each shape
and phrasing real chat models use: every chunk gets its questions; SmolLM2-like junk is dropped.
"""

from __future__ import annotations

import warnings

import pytest
from llama_index.core.schema import TextNode
from llama_index.llms.openai import OpenAI
from support.openai_server import (
    JUNK_MODES,
    PHRASING_MODES,
    SHAPE_MODES,
    SMOLLM2_JUNK,
    content_questions,
    question_terms,
)

from llama_index.finetuning import generate_qa_embedding_pairs
from llama_index.finetuning.generation import DEFAULT_QA_GENERATE_PROMPT_TMPL, GenerationWarning

CHUNKS = [
    "Lyft's revenue increased 36% to $3.2 billion in 2021 compared to the prior year, driven "
    "by the recovery of ridesharing demand after pandemic restrictions eased.",
    "Active riders grew to 18.7 million in the fourth quarter of 2021, up from 12.6 million a "
    "year earlier, and revenue per active rider reached a record $55.",
    "Drivers could be classified as employees rather than independent contractors, which "
    "would raise insurance costs, payroll taxes and benefits expenses.",
    "Uber's Delivery segment generated gross bookings of $51.6 billion as restaurants and "
    "grocery merchants joined the platform across new cities.",
    "Our business depends on retaining drivers and riders; a data breach or outage of the "
    "platform could harm our brand and reputation with regulators.",
]


def tutorial_flow(server, tmp_path):
    """The README's tutorial: nodes, the OpenAI LLM, every other argument at its default
    (``return_report`` changes only what is returned). -> (dataset, report, warnings)"""
    nodes = [TextNode(id_=f"node-{i}", text=text) for i, text in enumerate(CHUNKS)]
    llm = OpenAI(model="gpt-4o-mini", api_base=server.url, api_key="test", max_retries=0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", GenerationWarning)
        dataset, report = generate_qa_embedding_pairs(
            nodes=nodes, llm=llm, output_path=tmp_path / "train.json", return_report=True
        )
    said = [str(w.message) for w in caught if issubclass(w.category, GenerationWarning)]
    return dataset, report, said


def questions_per_chunk(dataset) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {text: [] for text in CHUNKS}
    for qid, (node_id,) in dataset.relevant_docs.items():
        out[dataset.corpus[node_id]].append(dataset.queries[qid])
    return out


def prompt(chunk: str) -> str:
    return DEFAULT_QA_GENERATE_PROMPT_TMPL.format(context_str=chunk, num_questions_per_chunk=2)


def by_name(modes):
    return pytest.mark.parametrize("mode", modes, ids=[m.__name__ for m in modes])


@by_name(SHAPE_MODES)
def test_every_chunk_gets_the_questions_written_in_each_answer_shape(mode, fake_openai, tmp_path):
    dataset, _, said = tutorial_flow(fake_openai(answer=mode), tmp_path)
    assert questions_per_chunk(dataset) == {c: content_questions(prompt(c), 2) for c in CHUNKS}
    assert said == []


@by_name(PHRASING_MODES)
def test_content_questions_with_a_source_phrase_reach_training(mode, fake_openai, tmp_path):
    # "According to the document, what ...?" is about the chunk's content: its words stay,
    # with or without the phrase (the quality gate decides how to clean it)
    dataset, _, said = tutorial_flow(fake_openai(answer=mode), tmp_path)
    assert said == []
    for chunk, questions in questions_per_chunk(dataset).items():
        assert len(questions) == 2, (chunk, questions)
        for question, (a, b) in zip(questions, question_terms(prompt(chunk), 2), strict=True):
            assert a in question and b in question, (question, a, b)


@by_name(JUNK_MODES)
def test_smollm2_junk_is_dropped_and_the_good_questions_kept(mode, fake_openai, tmp_path):
    dataset, report, _ = tutorial_flow(fake_openai(answer=mode), tmp_path)
    assert questions_per_chunk(dataset) == {c: content_questions(prompt(c), 2) for c in CHUNKS}
    assert report.short == 0 and report.failed == 0
    assert not set(SMOLLM2_JUNK) & set(dataset.queries.values())
    assert sum(report.dropped.values()) >= len(CHUNKS)  # the gate, not only the parser, drops
