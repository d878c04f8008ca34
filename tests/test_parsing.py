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


# Shapes hosted and local chat models answer in: one case each.
REVENUE, GROWTH = "What was Lyft's revenue in 2021?", "Why did ridesharing demand recover?"
TWO = [REVENUE, GROWTH]
CHAT_SHAPES = {
    "numbered 1.": f"1. {REVENUE}\n2. {GROWTH}",
    "numbered 1)": f"1) {REVENUE}\n2) {GROWTH}",
    "numbered (1)": f"(1) {REVENUE}\n(2) {GROWTH}",
    "bullets": f"• {REVENUE}\n• {GROWTH}",
    "Question 1: labels": f"Question 1: {REVENUE}\nQuestion 2: {GROWTH}",
    "Q1: labels": f"Q1: {REVENUE}\nQ2: {GROWTH}",
    "**Question 1:** labels": f"**Question 1:** {REVENUE}\n\n**Question 2:** {GROWTH}",
    "**Q:** labels with **A:** answers": (
        f"**Q:** {REVENUE}\n**A:** $3.2 billion.\n\n**Q:** {GROWTH}\n**A:** Rides came back."
    ),
    "a label on its own line": f"**Question 1**\n{REVENUE}\n\n**Question 2**\n{GROWTH}",
    "markdown heading": f"### Questions\n1. {REVENUE}\n2. {GROWTH}",
    "preamble and closing lines": (
        f"Here are two questions based on the context:\n\n1. {REVENUE}\n2. {GROWTH}\n\n"
        "I hope these help! Let me know if you need more questions."
    ),
    "a preamble without a colon": (
        f"Based on the provided context, here are 2 questions\n\n{REVENUE}\n{GROWTH}"
    ),
    "a closing offer ending in ?": (
        f"1. {REVENUE}\n2. {GROWTH}\n\nWould you like more detail on any of them?"
    ),
    "plain code fence": f"```\n{REVENUE}\n{GROWTH}\n```",
    "code-fenced JSON array": f'```json\n["{REVENUE}", "{GROWTH}"]\n```',
    "JSON array on one line": f'["{REVENUE}", "{GROWTH}"]',
    "JSON array after a preamble": f'Here are the questions: ["{REVENUE}", "{GROWTH}"]',
    'JSON {"questions": [...]}': f'{{"questions": ["{REVENUE}", "{GROWTH}"]}}',
    "JSON objects with a question field": (
        f'[{{"question": "{REVENUE}", "answer": "$3.2 billion"}},\n'
        f' {{"question": "{GROWTH}", "answer": "Rides came back."}}]'
    ),
    "fenced JSON of objects under questions, with preamble and closing": (
        'Sure!\n```json\n{\n  "questions": [\n'
        f'    {{"question": "{REVENUE}", "answer": "$3.2 billion"}},\n'
        f'    {{"question": "{GROWTH}", "answer": "Rides came back."}}\n  ]\n}}\n```\n'
        "Let me know if you need more."
    ),
    'JSON {"1": ..., "2": ...}': f'{{"1": "{REVENUE}", "2": "{GROWTH}"}}',
    "JSON cut off by the token limit": (
        f'[\n  {{\n    "question": "{REVENUE}",\n    "answer": "$3.2 billion"\n  }},\n'
        f'  {{\n    "question": "{GROWTH}",\n    "answer": "Ri'
    ),
    "quoted questions": f'"{REVENUE}"\n“{GROWTH}”',
    "Answer: on the next line": (
        f"1. {REVENUE}\n   Answer: $3.2 billion.\n2. {GROWTH}\n   Answer: Rides came back."
    ),
    "an unlabelled answer on the next line": (
        f"1. {REVENUE}\nLyft's revenue was $3.2 billion.\n2. {GROWTH}\nRides came back."
    ),
    "**A:** on the same line": f"**Q:** {REVENUE} **A:** $3.2 billion\n**Q:** {GROWTH} **A:** Rides.",
    "Q: and A: pairs on one line": f"Q: {REVENUE} A: $3.2 billion. Q: {GROWTH} A: Rides.",
    "two questions on one line": f"{REVENUE} {GROWTH}",
    "two numbered questions on one line": f"1. {REVENUE} 2. {GROWTH}",
}


@pytest.mark.parametrize("answer", CHAT_SHAPES.values(), ids=CHAT_SHAPES.keys())
def test_chat_model_answer_shapes(answer):
    assert parse_questions(answer, CHUNK) == TWO


def test_a_question_wrapped_over_two_lines_is_one_question():
    answer = (
        "1. What was the percentage increase in Lyft's revenue in\n"
        "   2021 compared to the prior year?\n"
        "2. What drove the recovery of ridesharing\ndemand in 2021?"
    )
    assert parse_questions(answer, CHUNK) == [
        "What was the percentage increase in Lyft's revenue in 2021 compared to the prior year?",
        "What drove the recovery of ridesharing demand in 2021?",
    ]


def test_a_line_not_ending_in_a_question_mark_before_a_new_question_is_not_joined():
    answer = "1. Describe the revenue growth in\n2. What drove ridesharing demand?"
    assert parse_questions(answer, CHUNK) == ["What drove ridesharing demand?"]


def test_a_question_mark_inside_a_question_does_not_split_it():
    answer = "What did the 'Why?' campaign cost? How did revenue grow?"
    assert parse_questions(answer, CHUNK) == [
        "What did the 'Why?' campaign cost?",
        "How did revenue grow?",
    ]


def test_source_phrases_are_left_to_the_quality_gate():
    answer = (
        "1. According to the document, what was Lyft's revenue in 2021?\n"
        "2. What risks are mentioned in the text?"
    )
    assert parse_questions(answer, CHUNK) == [
        "According to the document, what was Lyft's revenue in 2021?",
        "What risks are mentioned in the text?",
    ]


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


# Shapes seen in SmolLM2-135M's answers (benchmarks/data/lyft_train.json).


def test_a_question_labelled_a_is_a_question_not_an_answer():
    answer = "A: What is the total amount of equity awarded to employees in 2021?"
    assert parse_questions(answer, CHUNK) == [
        "What is the total amount of equity awarded to employees in 2021?"
    ]


def test_a_letter_label_before_a_question_is_removed():
    answer = "A: What was revenue in 2021?\nB: What drove ridesharing demand?"
    assert parse_questions(answer, CHUNK) == [
        "What was revenue in 2021?",
        "What drove ridesharing demand?",
    ]


def test_an_answer_labelled_a_is_still_dropped():
    answer = "Q: What was revenue in 2021?\nA: $3.2 billion."
    assert parse_questions(answer, CHUNK) == ["What was revenue in 2021?"]


def test_an_echo_of_the_prompt_is_not_a_question():
    answer = (
        "1. How can I write 2 questions that a reader could answer from it?\n"
        "2. What was Lyft's revenue in 2021?"
    )
    assert parse_questions(answer, CHUNK) == ["What was Lyft's revenue in 2021?"]


def test_an_echo_of_a_custom_prompt_is_recognised_from_that_prompt():
    prompt = "Context: {context_str}\nAsk {num_questions_per_chunk} tricky quiz items, please."
    answer = "What tricky quiz items, please?\nWhat was Lyft's revenue in 2021?"
    assert parse_questions(answer, CHUNK, prompt_tmpl=prompt) == [
        "What was Lyft's revenue in 2021?"
    ]


def test_the_repeated_answer_to_the_question_wrapper_is_dropped():
    answer = (
        'What is the answer to the question: "What is the answer to the question: What is the '
        "answer to the question: What is the answer to the question: What is the answer to the "
        "question\nWhat drove ridesharing demand?"
    )
    assert parse_questions(answer, CHUNK) == ["What drove ridesharing demand?"]


def test_a_single_answer_to_the_question_wrapper_is_unwrapped():
    answer = 'What is the answer to the question: "What was revenue in 2021?"'
    assert parse_questions(answer, CHUNK) == ["What was revenue in 2021?"]


def test_a_year_repeated_until_the_token_limit_is_dropped():
    answer = (
        "1. What is the difference between the 2025 Notes and the 2025 2025 2023 2023 2023 2023 "
        "2023 2023 2023 20\n2. What was revenue in 2021?"
    )
    assert parse_questions(answer, CHUNK) == ["What was revenue in 2021?"]


def test_a_question_mark_inside_quotes_after_a_number_marker():
    answer = '1. "How did Lyft\'s revenue change in 2021?"\n2. "Why did demand recover?"'
    assert parse_questions(answer, CHUNK) == [
        "How did Lyft's revenue change in 2021?",
        "Why did demand recover?",
    ]


def test_a_copy_of_the_small_prompts_example_is_dropped_and_the_next_question_kept():
    from llama_index.finetuning.generation import SMALL_MODEL_QA_PROMPT_TMPL

    answer = (  # SmolLM2-135M's answer to the small prompt on a Lyft chunk
        "1. How many stores did Northwind Bakery open in 2019?\n"
        "2. How much did Lyft's revenue grow in 2021?"
    )
    assert parse_questions(answer, CHUNK, prompt_tmpl=SMALL_MODEL_QA_PROMPT_TMPL) == [
        "How much did Lyft's revenue grow in 2021?"
    ]


@pytest.mark.parametrize(
    "answer, expected",
    [
        # SmolLM2-135M answers, as seen on Lyft chunks
        (
            'One question that can be answered from the excerpt would be: "What is the total '
            "amount of funds we have available?",
            ["What is the total amount of funds we have available?"],
        ),
        (
            "A different question is: What is the accounting purpose of amortized cost basis?",
            ["What is the accounting purpose of amortized cost basis?"],
        ),
        ("My first question was: What's the share of revenue?", ["What's the share of revenue?"]),
        # a colon inside a question is not a label
        ("What is the ratio: debt to equity?", ["What is the ratio: debt to equity?"]),
        ("Note: the figures are in millions.", ["Note: the figures are in millions."]),
    ],
)
def test_a_question_behind_a_label_is_taken_out(answer, expected):
    assert parse_questions(answer) == expected
