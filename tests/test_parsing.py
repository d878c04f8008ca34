"""LLM answers as real models write them -> clean questions."""

from __future__ import annotations

import pytest

from llama_index.finetuning.generation import parse_questions

CHUNK = (
    "Lyft's revenue increased 36% to $3.2 billion in 2021 compared to the prior year, "
    "driven by the recovery of ridesharing demand."
)


@pytest.mark.parametrize(
    "answer, expected",
    [
        ("1. What was revenue?\n2. Why did it grow?", ["What was revenue?", "Why did it grow?"]),
        ("1) What was revenue?\n\n2) Why did it grow?", ["What was revenue?", "Why did it grow?"]),
        ("- What was revenue?\n* Why did it grow?", ["What was revenue?", "Why did it grow?"]),
        (
            "Here are 2 questions:\n\nWhat was revenue?\nWhy did it grow?",
            ["What was revenue?", "Why did it grow?"],
        ),
        (
            'Sure! Here you go\n1. "What was revenue?"\n2. “Why did it grow?”',
            ["What was revenue?", "Why did it grow?"],
        ),
        (
            "Q1: What was revenue?\nQuestion 2: Why did it grow?",
            ["What was revenue?", "Why did it grow?"],
        ),
        (
            "1. **What was revenue?**\n2. **Why did it grow?**",
            ["What was revenue?", "Why did it grow?"],
        ),
        (
            "What was revenue?\nAnswer: $3.2 billion\nWhy did it grow?",
            ["What was revenue?", "Why did it grow?"],
        ),
    ],
)
def test_common_answer_shapes(answer, expected):
    assert parse_questions(answer, CHUNK, limit=2) == expected


def test_duplicates_are_dropped_ignoring_case_and_punctuation():
    answer = "1. What was revenue?\n2. what was revenue\n3. WHAT WAS REVENUE?!\n4. Who audits Lyft?"
    assert parse_questions(answer, CHUNK) == ["What was revenue?", "Who audits Lyft?"]


def test_a_line_that_copies_the_chunk_is_not_a_question():
    answer = f"1. {CHUNK[:80]}\n2. Why did ridesharing demand recover?"
    assert parse_questions(answer, CHUNK) == ["Why did ridesharing demand recover?"]


def test_limit_keeps_the_first_questions():
    answer = "\n".join(f"{i}. Question number {i}?" for i in range(1, 6))
    assert parse_questions(answer, CHUNK, limit=3) == [
        "Question number 1?",
        "Question number 2?",
        "Question number 3?",
    ]


def test_instructions_without_question_marks_are_kept_when_nothing_else_is_a_question():
    answer = "1. Describe the revenue growth in 2021.\n2. Explain what drove demand."
    assert parse_questions(answer, CHUNK) == [
        "Describe the revenue growth in 2021.",
        "Explain what drove demand.",
    ]


def test_empty_or_preamble_only_answers_give_nothing():
    assert parse_questions("", CHUNK) == []
    assert parse_questions("Here are 2 questions:\n\n", CHUNK) == []
