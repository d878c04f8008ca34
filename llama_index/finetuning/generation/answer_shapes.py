"""An LLM's answer -> the lines that may hold its questions: JSON and code fences read first.

Example::

    from llama_index.finetuning.generation.answer_shapes import answer_lines

    answer_lines('```json\\n{"questions": ["What was revenue?", "Who audits Lyft?"]}\\n```')
    # ['What was revenue?', 'Who audits Lyft?']

Hosted chat models asked for "one question per line" often answer in JSON anyway: an array
of strings, ``{"questions": [...]}``, or an array of objects such as
``[{"question": ..., "answer": ...}]``, in a code fence or not, on one line or many. Such an
answer gives the strings under its question fields (answers left out); any other answer
gives its lines, with the code-fence lines taken out. :func:`.parsing.parse_questions` then
reads the lines.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

_FENCE_LINE = re.compile(r"^\s*```[\w+-]*\s*$")
_FENCED = re.compile(r"```[\w+-]*[ \t]*\n?(.*?)```", re.DOTALL)
# keys whose value holds the questions: "questions", "question", "query", "q", "q1", "1",
# "question_2"; when an object has none, every value but an answer's is read
_QUESTION_KEY = re.compile(
    r"^(questions?|quer(?:y|ies)|q|q?\s*\d{1,3}|question[\s_-]*\d{1,3})$", re.IGNORECASE
)
_ANSWER_KEY = re.compile(
    r"^(answers?|a\d*|answer[\s_-]*\d+|explanation|reason(ing)?|rationale|context|source|"
    r"evidence|type|difficulty|id|index)$",
    re.IGNORECASE,
)
# "I hope these help!", "Let me know if ...": a chat model's closing line, even one ending "?"
_CLOSING = re.compile(
    r"^(i hope|hope (this|these|that|it)|let me know|feel free|good luck|happy (studying|"
    r"learning|reading)|(these|the above) questions|would you like (me|more|additional|any)|"
    r"do you (want|need) (me|more|any|additional)|shall i|is there anything else|"
    r"if you (need|want|would like|'d like))\b",
    re.IGNORECASE,
)


def answer_lines(answer: str) -> list[str]:
    """The lines of ``answer`` to read questions from: a JSON answer's question strings, or
    the answer's own lines without code-fence lines."""
    strings = json_questions(answer)
    if strings is not None:
        return [line for s in strings for line in s.splitlines()]
    return [line for line in answer.splitlines() if not _FENCE_LINE.match(line)]


def json_questions(answer: str) -> list[str] | None:
    """The question strings of a JSON answer (fenced, bare, or after a preamble line), or
    None when ``answer`` holds no JSON with strings in it."""
    for candidate in _json_candidates(answer):
        try:
            data = json.loads(candidate)
        except ValueError:
            continue
        strings = [s for s in _strings(data) if s.strip()]
        if strings:
            return strings
    return None


def is_closing(line: str) -> bool:
    """Whether ``line`` is a chat model's closing remark ("I hope these help!")."""
    return bool(_CLOSING.match(line))


def _json_candidates(answer: str) -> Iterator[str]:
    for block in _FENCED.findall(answer):
        yield block.strip()
    text = answer.strip()
    yield text
    for opening, closing in (("[", "]"), ("{", "}")):
        start, end = text.find(opening), text.rfind(closing)
        outside = text[:start] + text[end + 1 :]
        # a preamble around the JSON, not more questions after a cut-off one
        if 0 <= start < end and not any(c in outside for c in '"?'):
            yield text[start : end + 1]


def _strings(data: object) -> Iterator[str]:
    if isinstance(data, str):
        yield data
    elif isinstance(data, list):
        for item in data:
            yield from _strings(item)
    elif isinstance(data, dict):
        keys = [k for k in data if _QUESTION_KEY.match(str(k).strip())]
        for key in keys or [k for k in data if not _ANSWER_KEY.match(str(k).strip())]:
            yield from _strings(data[key])
