"""The quality gate: each rule drops what it must and keeps its near miss; the round trip."""

from __future__ import annotations

import pytest

from llama_index.finetuning import EmbeddingQAFinetuneDataset
from llama_index.finetuning.generation import (
    DEFAULT_QA_GENERATE_PROMPT_TMPL,
    SMALL_MODEL_QA_PROMPT_TMPL,
    filter_pairs,
)
from llama_index.finetuning.generation.filters import check_question, rule_reason

CHUNK = (
    "Lyft's revenue increased 36% to $3.2 billion in 2021 compared to the prior year, "
    "driven by the recovery of ridesharing demand after the pandemic."
)


@pytest.mark.parametrize(
    "dropped, reason, kept",
    [
        (
            "What is the most important thing to remember when driving?",
            "off_topic",
            "What drove the recovery in demand?",
        ),
        (  # a number is a content word too
            "What happened to the total in 2019?",
            "off_topic",
            "What happened to the total in 2021?",
        ),
        (
            "How can I write 2 questions that a reader could answer from it?",
            "prompt_echo",
            "How could a rider answer questions about Lyft revenue?",
        ),
        (
            "How can I make them different from each other?",
            "prompt_echo",
            "How did Lyft's revenue differ from the prior year?",
        ),
        (
            "What is the purpose of the excerpt about Lyft revenue?",
            "about_the_source",
            "What is the purpose of Lyft's revenue recognition policy?",
        ),
        (
            "What is the difference between the 2 questions about revenue?",
            "about_the_source",
            "What is the difference between 2021 and 2020 revenue?",
        ),
        (
            "Lyft's revenue increased 36% to $3.2 billion in 2021 compared to the prior year?",
            "copies_chunk",
            "Lyft's revenue increased by how much in 2021 compared to the prior year?",
        ),
        (
            "What is the total cash 2019-2020 2019-2020 2019-2020 2019-2020?",
            "degenerate",
            "What is the total cash in 2019-2020 and in 2020-2021?",
        ),
        (
            "What is the answer to the question: What is the answer to the question: revenue?",
            "degenerate",
            "What was the revenue in 2021 and what was the revenue in 2020?",
        ),
        ("Lyft revenue?", "length", "What was Lyft revenue?"),
        (
            "What was the revenue in 2021 " + " ".join(f"and segment {i}" for i in range(12)) + "?",
            "length",
            "What is the revenue of the ridesharing company in 2021?",
        ),
        (
            "The revenue increased strongly in 2021.",
            "not_a_question",
            "Describe how revenue changed in 2021.",
        ),
        (  # a wh-question cut off before its end, as a small model's token limit leaves it
            "What is the total value of the revenue in 2021, as well as the",
            "not_a_question",
            "What is the total value of the revenue in 2021, as well as the growth?",
        ),
    ],
)
def test_each_rule_drops_its_case_and_keeps_the_near_miss(dropped, reason, kept):
    assert rule_reason(dropped, CHUNK, DEFAULT_QA_GENERATE_PROMPT_TMPL) == reason
    assert rule_reason(kept, CHUNK, DEFAULT_QA_GENERATE_PROMPT_TMPL) is None


def test_an_echo_of_the_small_prompt_is_caught_when_that_prompt_is_named():
    echo = "Which company, figure or year would a person type into a search box?"
    assert rule_reason(echo, CHUNK, SMALL_MODEL_QA_PROMPT_TMPL) == "prompt_echo"
    assert rule_reason(echo, CHUNK, None) is None  # shares "year" with the chunk


def _dataset(pairs: list[tuple[str, str]], chunks: dict[str, str]) -> EmbeddingQAFinetuneDataset:
    return EmbeddingQAFinetuneDataset(
        queries={f"q{i}": q for i, (q, _) in enumerate(pairs)},
        corpus=chunks,
        relevant_docs={f"q{i}": [c] for i, (_, c) in enumerate(pairs)},
    )


def test_a_question_on_more_than_two_chunks_is_dropped_everywhere_two_are_kept():
    chunks = {
        f"c{i}": f"In {2015 + i} the company reported revenue of ${i} billion." for i in range(5)
    }
    template = "What revenue did the company report?"
    twice = "How much revenue was reported by the company?"
    pairs = [(template, f"c{i}") for i in range(3)] + [(twice, "c3"), (twice, "c4")]
    pairs += [(f"What revenue was reported in {2015 + i}?", f"c{i}") for i in range(5)]
    kept, report = filter_pairs(_dataset(pairs, chunks))
    assert template not in kept.queries.values()
    assert list(kept.queries.values()).count(twice) == 2
    assert report.dropped == {"template_repeat": 3}
    assert report.questions == 10 and report.kept == 7 and report.chunks_emptied == 0
    assert kept.corpus == chunks  # the corpus is the search space: it stays whole


def test_a_chunk_that_loses_every_question_is_counted():
    chunks = {"a": CHUNK, "b": "The board met four times during 2021 to review risk."}
    pairs = [("What is the purpose of this document?", "b"), ("What was Lyft revenue?", "a")]
    kept, report = filter_pairs(_dataset(pairs, chunks))
    assert list(kept.queries.values()) == ["What was Lyft revenue?"]
    assert report.chunks_emptied == 1 and report.dropped == {"about_the_source": 1}


def test_rules_off_keeps_everything():
    pairs = [("What is the purpose of this document?", "a")]
    kept, report = filter_pairs(_dataset(pairs, {"a": CHUNK}), rules=False)
    assert len(kept) == 1 and report.dropped == {}


@pytest.fixture(scope="module")
def minilm():
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding

    from llama_index.finetuning.resources import offline_base_model_path

    return HuggingFaceEmbedding(model_name=str(offline_base_model_path()), device="cpu")


def test_round_trip_keeps_a_question_that_finds_its_chunk_and_drops_one_that_does_not(minilm):
    chunks = {
        "revenue": "Lyft's revenue grew 36% to $3.2 billion in 2021 as riders returned.",
        "bikes": "The company operates bike-share systems in New York, Chicago and Boston.",
        "insurance": "Insurance reserves cover auto liability claims from drivers' accidents.",
        "staff": "As of December 31, 2021, Lyft had 4,453 full-time employees.",
        "stock": "Class B common stock carries twenty votes per share and is held by the founders.",
    }
    pairs = [
        ("How much did Lyft's revenue grow in 2021?", "revenue"),  # matches its chunk
        ("In which cities does Lyft run bike-share systems?", "revenue"),  # about "bikes"
    ]
    kept, report = filter_pairs(
        _dataset(pairs, chunks), rules=False, round_trip_model=minilm, round_trip_top_k=1
    )
    assert list(kept.queries.values()) == ["How much did Lyft's revenue grow in 2021?"]
    assert report.dropped == {"round_trip": 1}
    wide, report = filter_pairs(
        _dataset(pairs, chunks), rules=False, round_trip_model=minilm, round_trip_top_k=5
    )
    assert len(wide) == 2 and report.dropped == {}  # every chunk is within the top 5 of 5


def test_round_trip_k_must_be_positive():
    with pytest.raises(ValueError, match="round_trip_top_k"):
        filter_pairs(_dataset([("What was Lyft revenue?", "a")], {"a": CHUNK}), round_trip_top_k=0)


def test_a_question_that_borrows_the_small_prompts_example_company_is_an_echo():
    leaked = "What is the impact of the COVID-19 pandemic on Northwind Bakery?"
    covid = "The COVID-19 pandemic reduced Lyft's ridesharing demand in 2020."
    assert rule_reason(leaked, covid, SMALL_MODEL_QA_PROMPT_TMPL) == "prompt_echo"
    near = "What was the impact of the COVID-19 pandemic on Lyft?"
    assert rule_reason(near, covid, SMALL_MODEL_QA_PROMPT_TMPL) is None


@pytest.mark.parametrize(
    "written, cleaned",
    [
        (
            "According to the document, what was Lyft's revenue in 2021?",
            "What was Lyft's revenue in 2021?",
        ),
        (
            "Based on the context, how much did Lyft's revenue grow?",
            "How much did Lyft's revenue grow?",
        ),
        (
            "What drove the recovery in demand, as mentioned in the text?",
            "What drove the recovery in demand?",
        ),
        (
            "In the passage provided, what drove ridesharing demand?",
            "What drove ridesharing demand?",
        ),
        (
            "What does the document state about Lyft revenue growth in 2021?",
            "What about Lyft revenue growth in 2021?",
        ),
        (  # the case: a good question of the bundled writer
            "What is the purpose of the ridesharing revenue figures in the document?",
            "What is the purpose of the ridesharing revenue figures?",
        ),
        # the phrase is the question's verb here: it stays (benchmarks/gate.py)
        ("What risks are mentioned in the document?", "What risks are mentioned in the document?"),
        ("What was Lyft's revenue in 2021?", "What was Lyft's revenue in 2021?"),
        (
            "Why did demand recover in 2021, as the document explains?",
            "Why did demand recover in 2021?",
        ),
        ("Why, as the text notes, did demand recover in 2021?", "Why did demand recover in 2021?"),
        (
            "Why, according to the context, did demand recover in 2021?",
            "Why did demand recover in 2021?",
        ),
        (  # the source only reports here: the question stays as written
            "How does the document describe Lyft's revenue growth?",
            "How does the document describe Lyft's revenue growth?",
        ),
        (
            "How did the context of the pandemic affect demand?",
            "How did the context of the pandemic affect demand?",
        ),
    ],
)
def test_a_content_question_keeps_its_content_and_loses_its_source_phrase(written, cleaned):
    chunk = CHUNK + " Risks: competition, regulation and insurance costs."
    assert check_question(written, chunk) == (cleaned, None)


@pytest.mark.parametrize(
    "question",
    [
        "What is the purpose of this excerpt?",
        "What is the main topic of the passage?",
        "Summarize the document.",
        "What is this text about?",
        "What does the passage discuss?",
        "What key points does the text make?",
        "According to the document, what is discussed?",
        "What does the figure titled Lyft revenue growth show?",  # a title
        "What is shown in Table 3?",
        "What is the difference between the excerpt above and the original document?",
        "How does the excerpt affect the ridesharing business?",  # the source as the subject
    ],
)
def test_a_question_whose_subject_is_the_source_is_dropped(question):
    assert rule_reason(question, CHUNK + " Table 3 shows revenue.") == "about_the_source"


@pytest.mark.parametrize(
    "question",
    [
        "What is the difference between a change in control and a change in control?",
        "What is the impact of COVID-19 on COVID-19 in 2021?",
    ],
)
def test_a_thing_compared_with_itself_is_degenerate(question):
    chunk = "A change in control and the COVID-19 pandemic affected Lyft's revenue in 2021."
    assert rule_reason(question, chunk) == "degenerate"
    assert rule_reason("What was the impact of COVID-19 on Lyft's revenue?", chunk) is None


@pytest.mark.parametrize(
    "question",
    [
        "What is the effect of tax on tax revenue in 2021?",
        "What is the relationship between inflation and inflation expectations?",
        "How wide is the gap between demand and demand forecasts for rides?",
    ],
)
def test_a_phrase_repeated_inside_a_longer_one_is_not_a_self_comparison(question):
    chunk = "Tax revenue, inflation expectations and demand forecasts for rides shaped 2021."
    assert rule_reason(question, chunk) is None


def test_the_gate_keeps_cleaned_text_and_counts_it_apart_from_drops():
    chunks = {"a": CHUNK, "b": "The board met four times during 2021 to review risk."}
    pairs = [
        ("According to the text, how much did Lyft's revenue increase in 2021?", "a"),
        ("What is the main idea of the passage?", "b"),
        ("How often did the board meet during 2021?", "b"),
    ]
    kept, report = filter_pairs(_dataset(pairs, chunks))
    assert sorted(kept.queries.values()) == [
        "How much did Lyft's revenue increase in 2021?",
        "How often did the board meet during 2021?",
    ]
    assert report.cleaned == 1 and report.kept == 2
    assert report.dropped == {"about_the_source": 1}
    assert report.examples == {"about_the_source": "What is the main idea of the passage?"}


def test_copies_of_one_template_count_once_cleaned():
    chunks = {
        f"c{i}": f"In {2015 + i} the company reported revenue of ${i} billion." for i in range(3)
    }
    pairs = [
        ("According to the document, what revenue did the company report?", "c0"),
        ("What revenue did the company report, as mentioned in the text?", "c1"),
        ("Based on the context, what revenue did the company report?", "c2"),
    ]
    kept, report = filter_pairs(_dataset(pairs, chunks))
    assert len(kept) == 0 and report.dropped == {"template_repeat": 3}
