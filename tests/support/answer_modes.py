"""Answer modes for :class:`openai_server.FakeOpenAIServer`: questions about the chunk's own
content words, in the shapes and phrasings real chat models answer in, or among junk.

Example::

    from support.answer_modes import ANSWER_MODES
    server = FakeOpenAIServer(answer=ANSWER_MODES["json_objects"])

Each mode is ``answer(key, prompt, n) -> str``: :func:`content_questions` writes ``n``
questions about the chunk in ``prompt``; :data:`SHAPE_MODES` put them in the shapes hosted and
local chat models answer in (numbered, bullets, JSON ...), :data:`PHRASING_MODES` add the
source phrases they add ("According to the document, ..."), and :data:`JUNK_MODES` hide them
among SmolLM2-135M-like junk that the quality gate must drop.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable

_CHUNK_IN_PROMPT = (
    re.compile(r"-{5,}\n(.*?)\n-{5,}", re.DOTALL),  # DEFAULT_QA_GENERATE_PROMPT_TMPL
    re.compile(r"\nText: (.*?)\n\nWrite", re.DOTALL),  # SMALL_MODEL_QA_PROMPT_TMPL
)
_TERM = re.compile(r"[A-Z][a-z]{3,}|[a-z]{5,}")
_COMMON = frozenset(
    "about above after again against before being below between could during every first "
    "further other their there these those through under until which while would years "
    "rather this that they then than with from into most more some such".split()
)
_TEMPLATES = (
    "What was reported about {a} and {b}?",
    "How are {a} and {b} related?",
    "What changed in {a} and {b}?",
    "Why do {a} and {b} matter?",
)


def chunk_of(prompt: str) -> str:
    """The chunk's text in a question-writing prompt (the whole prompt if not found)."""
    for pattern in _CHUNK_IN_PROMPT:
        match = pattern.search(prompt)
        if match:
            return match.group(1)
    return prompt


def content_terms(prompt: str) -> list[str]:
    """Names and nouns of the chunk in ``prompt`` (5+ letters, or capitalised 4+; no "-ed",
    "-ing" or "-ly" words), in order, that its instructions lack."""
    chunk = chunk_of(prompt)
    instructions = set(_TERM.findall(prompt.replace(chunk, " ").lower()))
    terms: list[str] = []
    for word in _TERM.findall(chunk):
        low = word.lower()
        if low in _COMMON or low in instructions or low.endswith(("ed", "ing", "ly")):
            continue
        if low not in map(str.lower, terms):
            terms.append(word)
    return terms or ["company", "results"]


def question_terms(prompt: str, n: int) -> list[tuple[str, str]]:
    """The two content words each of the ``n`` questions asks about."""
    terms = content_terms(prompt)
    return [(terms[(2 * i) % len(terms)], terms[(2 * i + 1) % len(terms)]) for i in range(n)]


def content_questions(prompt: str, n: int) -> list[str]:
    """``n`` questions, each about two content words of the chunk in ``prompt``."""
    pairs = question_terms(prompt, n)
    return [_TEMPLATES[i % len(_TEMPLATES)].format(a=a, b=b) for i, (a, b) in enumerate(pairs)]


def _lower_first(question: str) -> str:
    return question[0].lower() + question[1:]


def numbered(key: str, prompt: str, n: int) -> str:
    return "\n".join(f"{i}. {q}" for i, q in enumerate(content_questions(prompt, n), 1))


def paren_numbered(key: str, prompt: str, n: int) -> str:
    return "\n".join(f"({i}) {q}" for i, q in enumerate(content_questions(prompt, n), 1))


def bullets(key: str, prompt: str, n: int) -> str:
    return "\n".join(f"- {q}" for q in content_questions(prompt, n))


def question_labels(key: str, prompt: str, n: int) -> str:
    qs = content_questions(prompt, n)
    return "\n\n".join(f"Question {i}: {q}" for i, q in enumerate(qs, 1))


def markdown_labels(key: str, prompt: str, n: int) -> str:
    return "\n".join(f"**Q{i}:** {q}" for i, q in enumerate(content_questions(prompt, n), 1))


def preamble_and_closing(key: str, prompt: str, n: int) -> str:
    body = numbered(key, prompt, n)
    return (
        f"Here are {n} questions based on the context:\n\n{body}\n\n"
        "I hope these help! Let me know if you need more questions."
    )


def fenced_json(key: str, prompt: str, n: int) -> str:
    return f"```json\n{json.dumps(content_questions(prompt, n), indent=2)}\n```"


def json_questions(key: str, prompt: str, n: int) -> str:
    return json.dumps({"questions": content_questions(prompt, n)})


def json_objects(key: str, prompt: str, n: int) -> str:
    answer = " ".join(content_terms(prompt)[:4])
    return json.dumps([{"question": q, "answer": answer} for q in content_questions(prompt, n)])


def with_answers(key: str, prompt: str, n: int) -> str:
    answer = " ".join(content_terms(prompt)[:4])
    return "\n\n".join(f"{q}\nAnswer: {answer}." for q in content_questions(prompt, n))


def wrapped(key: str, prompt: str, n: int) -> str:
    lines = []
    for i, q in enumerate(content_questions(prompt, n), 1):
        words = q.split()
        half = len(words) // 2
        lines.append(f"{i}. {' '.join(words[:half])}\n   {' '.join(words[half:])}")
    return "\n".join(lines)


def according_to(key: str, prompt: str, n: int) -> str:
    qs = content_questions(prompt, n)
    return "\n".join(
        f"{i}. According to the document, {_lower_first(q)}" for i, q in enumerate(qs, 1)
    )


def as_mentioned(key: str, prompt: str, n: int) -> str:
    qs = content_questions(prompt, n)
    return "\n".join(f"{i}. {q[:-1]}, as mentioned in the text?" for i, q in enumerate(qs, 1))


def based_on_context(key: str, prompt: str, n: int) -> str:
    qs = content_questions(prompt, n)
    return "\n".join(f"{i}. Based on the context, {_lower_first(q)}" for i, q in enumerate(qs, 1))


def mentioned_in_document(key: str, prompt: str, n: int) -> str:
    pairs = question_terms(prompt, n)
    return "\n".join(
        f"{i}. What {a} and {b} are mentioned in the document?" for i, (a, b) in enumerate(pairs, 1)
    )


def document_states(key: str, prompt: str, n: int) -> str:
    pairs = question_terms(prompt, n)
    return "\n".join(
        f"{i}. What does the document state about {a} {b}?" for i, (a, b) in enumerate(pairs, 1)
    )


# Junk as SmolLM2-135M writes it (benchmarks/data/lyft_train.json, the demo's journals);
# every line of it must be dropped, by the parser or the quality gate.
SMOLLM2_JUNK = (
    "What is the purpose of this excerpt?",  # about the source
    "What is the main topic of the passage?",  # about the source
    "How can I write 2 questions that a reader could answer from it?",  # a prompt echo
    "How many stores did Northwind Bakery open in 2019?",  # the small prompt's example
    "What is the name of the company and the year?",  # the same on every chunk
    "What is the total total total total amount?",  # degenerate repetition
    "What is the capital city of France?",  # off topic
)


def smollm2_junk(key: str, prompt: str, n: int) -> str:
    """The junk lines, a copy of the chunk's opening, and then ``n`` good questions."""
    lines = [*SMOLLM2_JUNK, chunk_of(prompt)[:80], *content_questions(prompt, n)]
    return "\n".join(f"{i}. {line}" for i, line in enumerate(lines, 1))


# A writer of Chinese: questions in the list shapes Chinese answers use ("问题1：", "1、", plain
# lines) after a preamble, in Chinese only when the prompt asks for the excerpt's language;
# otherwise in English, as hosted models often answer a Chinese chunk under an English prompt.
_HAN_BREAK = re.compile(r"[^\u4e00-\u9fff]+|[的了是在和与及为将从而由被把对也都就其之]")
_CHINESE_TEMPLATES = ("{a}和{b}有什么关系？", "{a}的{b}是怎样的？", "为什么{a}与{b}很重要？")
_CHINESE_SHAPES = ("问题{i}：{q}", "{i}、{q}", "{q}")


def chinese_terms(prompt: str) -> list[str]:
    """Runs of 2-4 Han characters of the chunk in ``prompt``, in order, each once."""
    terms: list[str] = []
    for run in _HAN_BREAK.split(chunk_of(prompt)):
        if len(run) >= 2 and run[:4] not in terms:
            terms.append(run[:4])
    return terms or ["内容", "数字"]


def chinese_questions(prompt: str, n: int) -> list[str]:
    """``n`` Chinese questions, each about two Han terms of the chunk in ``prompt``."""
    terms = chinese_terms(prompt)
    pairs = [(terms[(2 * i) % len(terms)], terms[(2 * i + 1) % len(terms)]) for i in range(n)]
    return [
        _CHINESE_TEMPLATES[i % len(_CHINESE_TEMPLATES)].format(a=a, b=b)
        for i, (a, b) in enumerate(pairs)
    ]


def chinese_lists(key: str, prompt: str, n: int) -> str:
    if "language" not in prompt.lower():
        terms = chinese_terms(prompt)
        return "\n".join(f"{i}. What is {terms[i % len(terms)]}?" for i in range(1, n + 1))
    shape = _CHINESE_SHAPES[sum(map(ord, chunk_of(prompt))) % len(_CHINESE_SHAPES)]
    body = "\n".join(shape.format(i=i, q=q) for i, q in enumerate(chinese_questions(prompt, n), 1))
    return f"以下是根据上文提出的{n}个问题：\n\n{body}\n\n希望这些问题对您有帮助！"


SHAPE_MODES = (
    numbered, paren_numbered, bullets, question_labels, markdown_labels, preamble_and_closing,
    fenced_json, json_questions, json_objects, with_answers, wrapped,
)  # fmt: skip
PHRASING_MODES = (
    according_to, as_mentioned, based_on_context, mentioned_in_document, document_states,
)  # fmt: skip
JUNK_MODES = (smollm2_junk,)
LANGUAGE_MODES = (chinese_lists,)
ANSWER_MODES: dict[str, Callable[[str, str, int], str]] = {
    f.__name__: f for f in (*SHAPE_MODES, *PHRASING_MODES, *JUNK_MODES, *LANGUAGE_MODES)
}
