"""The question-writing prompt, and an LLM's answer -> clean questions.

Example::

    from llama_index.finetuning.generation.parsing import parse_questions

    answer = 'Here are 2 questions:\\n\\n1. "What was revenue in 2021?"\\n2) Who audits Lyft?'
    parse_questions(answer, chunk_text="...", limit=2)
    # ['What was revenue in 2021?', 'Who audits Lyft?']
"""

from __future__ import annotations

import re

# The placeholders are the ones of llama-index-finetuning 0.4, so users' own templates work.
DEFAULT_QA_GENERATE_PROMPT_TMPL = """\
Below is an excerpt from a document.

---------------------
{context_str}
---------------------

Using only the excerpt above, write {num_questions_per_chunk} questions that a reader \
could answer from it and from nothing else. Make them specific (name the figures, \
entities and periods they are about) and different from each other. Write one question \
per line, with no answers and no other text.
"""

# "1." "2)" "(3)" "-" "*" "•" "Q1:" "Question 2." at the start of a line
_MARKER = re.compile(
    r"^\s*(?:\(?\d{1,3}[.):\]]|[-*•·]+|q(?:uestion)?\s*\d{0,3}\s*[:.)-])\s*", re.IGNORECASE
)
_QUOTES = "\"'“”‘’`"
_PREAMBLE_START = re.compile(
    r"^(here (are|is)|sure|certainly|of course|okay|ok\b|below are|the following)", re.IGNORECASE
)
_ANSWER_LINE = re.compile(r"^(answer|a\d*)\s*[:.)-]", re.IGNORECASE)
_WS = re.compile(r"\s+")
_MIN_COPY_CHARS = 40


def _normalise(text: str) -> str:
    return _WS.sub(" ", re.sub(r"[^\w\s]", " ", text.lower())).strip()


def _is_preamble(line: str) -> bool:
    if line.endswith("?"):
        return False
    return line.endswith(":") or bool(_PREAMBLE_START.match(line))


def _clean_line(line: str) -> str:
    line = line.strip()
    previous = None
    while previous != line:  # "1. **Q1:** ..." has more than one marker
        previous = line
        line = _MARKER.sub("", line).strip().strip("*_").strip()
    return line.strip(_QUOTES).strip()


def _copies_chunk(question: str, chunk_norm: str) -> bool:
    norm = _normalise(question)
    return len(norm) >= _MIN_COPY_CHARS and norm in chunk_norm


def parse_questions(answer: str, chunk_text: str = "", limit: int | None = None) -> list[str]:
    """Pull the questions out of an LLM's answer.

    Handles numbered and bulleted lists, "Here are 2 questions:" preambles, blank lines,
    quotes and markdown emphasis; drops answer lines, duplicates (case and punctuation
    ignored) and lines that merely copy the chunk. Keeps at most ``limit``.
    """
    chunk_norm = _normalise(chunk_text)
    questions: list[str] = []
    seen: set[str] = set()
    for raw in answer.splitlines():
        line = _clean_line(raw)
        if not line or _is_preamble(line) or _ANSWER_LINE.match(line):
            continue
        if _copies_chunk(line, chunk_norm):
            continue
        key = _normalise(line)
        if not key or key in seen:
            continue
        seen.add(key)
        questions.append(line)
    # When the model mixed questions with other sentences, the questions are what we asked for.
    asked = [q for q in questions if q.endswith("?")]
    if asked and len(asked) < len(questions):
        questions = asked
    return questions[:limit] if limit is not None else questions
