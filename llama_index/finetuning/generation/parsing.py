"""The question-writing prompts, and an LLM's answer -> clean questions.

Example::

    from llama_index.finetuning.generation.parsing import parse_questions

    answer = 'Here are 2 questions:\\n\\n1. "What was revenue in 2021?"\\n2) Who audits Lyft?'
    parse_questions(answer, chunk_text="...", limit=2)
    # ['What was revenue in 2021?', 'Who audits Lyft?']

Three prompts ship: :data:`DEFAULT_QA_GENERATE_PROMPT_TMPL` (written for capable instruct
models), :data:`SMALL_MODEL_QA_PROMPT_TMPL` (short, one worked example, search-box
questions that name what they are about, for small local models) and
:data:`~.completion.FEW_SHOT_QUERY_TMPL` (a few-shot completion, one question a call, for
small local models). Pass one, or its name (``"default"``, ``"small"``, ``"few_shot"``), or
your own template, as ``qa_generate_prompt_tmpl``.
"""

from __future__ import annotations

import re

from .answer_shapes import answer_lines, is_closing
from .completion import FEW_SHOT_QUERY_TMPL, CompletionTemplate
from .filters import is_degenerate, is_prompt_echo, rule_reason, starts_like_a_question
from .languages import has_question_word, is_bundled_writer
from .text_units import ends_as_question

# The placeholders are the ones of llama-index-finetuning 0.4, so users' own templates work.
DEFAULT_QA_GENERATE_PROMPT_TMPL = """\
Below is an excerpt from a document.

---------------------
{context_str}
---------------------

Using only the excerpt above, write {num_questions_per_chunk} questions that a reader \
could answer from it and from nothing else. Make them specific (name the figures, \
entities and periods they are about) and different from each other. Ask them in the \
language of the excerpt. Write one question per line, with no answers and no other text.
"""

# For 0.1-1B local models: few words, one worked example to copy the shape of, the
# instruction after the text (small models follow what they read last), questions as typed
# into a search box that name their subject, since the searcher never sees the text. The
# example's made-up bakery is there so that a copied example is caught: SmolLM2-135M copies
# it ("How many stores did Northwind Bakery open in 2019?"), and a question naming a proper
# noun of the prompt that its chunk lacks is dropped as an echo (filters.is_prompt_echo).
SMALL_MODEL_QA_PROMPT_TMPL = """\
Example text: Northwind Bakery opened 12 new stores in 2019.
Example question: How many stores did Northwind Bakery open in 2019?

Text: {context_str}

Write {num_questions_per_chunk} questions a person would type into a search box to find \
this text. Each question names the company, figure or year it asks about. Do not mention \
"the text" or "the excerpt". One question per line:
"""

PROMPTS = {
    "default": DEFAULT_QA_GENERATE_PROMPT_TMPL,
    "small": SMALL_MODEL_QA_PROMPT_TMPL,
    "few_shot": FEW_SHOT_QUERY_TMPL,  # a raw completion, one question a call (completion.py)
}

# Appended to a chunk's prompt (``follow_up=True``) when its answer held fewer usable
# questions than asked. The prompt stays the prefix, so a server that caches prompts
# (llama.cpp, vLLM, OpenAI) reads only these words again: ~1 s against ~3.5 s for the first
# answer with the bundled model on 2 cores. A greedy model asked the same prompt again repeats
# its answer; asked for another detail, SmolLM2 doubled the chunks with 2 questions, but
# MiniLM finetuned on them gained nothing (benchmarks/writers.py), so it is off by default.
FOLLOW_UP_PROMPT = (
    "\nNow write one more question, about a different detail of the excerpt (a figure, a "
    "date or a name):\n"
)


#: The default prompt's sentence that asks for the excerpt's language. The bundled writer
#: (SmolLM2-135M) writes English only, and with this sentence it kept fewer English questions
#: (benchmarks/results/prompt_language.md), so it is asked without it.
LANGUAGE_SENTENCE = "Ask them in the language of the excerpt. "
ENGLISH_WRITER_QA_PROMPT_TMPL = DEFAULT_QA_GENERATE_PROMPT_TMPL.replace(LANGUAGE_SENTENCE, "")


def prompt_for_writer(template: str, llm: object) -> str:
    """The template ``llm`` is sent: the default prompt without :data:`LANGUAGE_SENTENCE`
    for the bundled English-only writer; any other template, or writer, unchanged.

    Example::

        from llama_index.finetuning.llms import LocalLLM

        prompt_for_writer(DEFAULT_QA_GENERATE_PROMPT_TMPL, LocalLLM())  # no language sentence
    """
    if template == DEFAULT_QA_GENERATE_PROMPT_TMPL and is_bundled_writer(llm):
        return ENGLISH_WRITER_QA_PROMPT_TMPL
    return template


def resolve_prompt(prompt: str) -> str:
    """A prompt name from :data:`PROMPTS` -> its template; a template is checked and returned."""
    template = PROMPTS.get(prompt, prompt)
    needed = ("{context_str}", "{num_questions_per_chunk}")
    for placeholder in needed[:1] if isinstance(template, CompletionTemplate) else needed:
        if placeholder not in template:
            raise ValueError(
                f"qa_generate_prompt_tmpl lacks the placeholder {placeholder}: pass a template "
                f"with {{context_str}} and {{num_questions_per_chunk}}, or one of {sorted(PROMPTS)}"
            )
    return template


# "question" in the labels of other languages' lists: "问题1：", "質問1：", "Pregunta 2:"
_LABEL_WORD = (
    r"(?:q(?:uestion)?|问题|問題|质问|質問|질문|pregunta|frage|вопрос|domanda|pergunta|questão"
    r"|سؤال|السؤال|प्रश्न|soru|ερώτηση|câu hỏi)"
)
_NUMERAL = r"(?:\d{1,3}|[一二三四五六七八九十]{1,3})"  # \d: also "１", "١"
_SEPARATOR = r"[.):\]、．）】］：」-]"
# "1." "2)" "(3)" "[4]" "1、" "（１）" "【1】" "①" "一、" "第1个问题：" "-" "*" "•" "#" "Q1:"
# "Question 2." "问题1：" "질문 1." at the start of a line
_MARKER = re.compile(
    rf"^\s*(?:[(\[（【［「]?\d{{1,3}}(?:[.):\]、．）】］：」]|\s*-\s)|[(（]?[一二三四五六七八九十]{{1,3}}[、．.)）]"
    rf"|[\u2460-\u2473\u2776-\u277f]|[-*•·]+|#{{1,6}}"
    rf"|第\s*{_NUMERAL}\s*[个個つ]?\s*(?:问题|問題|質問)?\s*{_SEPARATOR}"
    rf"|{_LABEL_WORD}\s*{_NUMERAL}?\s*{_SEPARATOR})\s*",
    re.IGNORECASE,
)
# marks that set the direction of right-to-left text, invisible at the ends of a line
_DIRECTION_MARKS = "\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
_QUOTES = "\"'“”‘’`"
_PREAMBLE_START = re.compile(
    r"^(here (are|is)|sure|certainly|of course|okay|ok\b|below are|the following"
    r"|以下是|下面是|好的|当然|以下は|다음은|voici|hier sind|aquí (tienes|están)|вот )",
    re.IGNORECASE,
)
_PREAMBLE = re.compile(r"\b(here (are|is)|following)\b.*\bquestions?\b", re.IGNORECASE)
_ANSWER_LINE = re.compile(
    r"^(answer|a\d*|答案?|回答|解答|答え|답변?|respuesta|réponse|antwort|ответ|risposta|resposta"
    r"|الإجابة|الجواب|उत्तर)\s*[:.)\-：]",
    re.IGNORECASE,
)
# "Question 1", "Q2", "Questions", "问题1": a label on a line of its own, its question next
_LABEL_ONLY = re.compile(
    rf"^({_LABEL_WORD}s?\s*{_NUMERAL}?|\d{{1,3}})\s*[:.)：．）]?$", re.IGNORECASE
)
# "A: What ...?", "B) What ...?": a letter label before a question
_LETTER_LABEL = re.compile(r"^[A-Za-z]\s*[:)]\s+|^[A-Z]\.\s+(?=[A-Z])")
# "What is the answer to the question: <question>" (SmolLM2 wraps questions so, repeatedly)
_WRAPPER = re.compile(r"^(what is )?the answer to the question\s*:?\s*", re.IGNORECASE)
# a JSON line read as text (broken JSON): '"question": "What ...?",' '["What ...?",'
_JSON_KEY = re.compile(r"^[\"']([\w ]{1,20})[\"']\s*:")
_JSON_EDGES = re.compile(r"^[\[{]+\s*(?=[\"'])|(?<=[\"'])\s*[\]},]+$")
# the end of a question (or of an answer) inside a line, and what opens a next item after it
_QUESTION_END = re.compile(r"[?.!][\"'”’*_)]*,?(?=\s+\S)|[？؟][\"'”’」*_)）]*(?=\s*\S)")
_NEXT_ITEM = re.compile(
    r"^(\(?\d{1,3}[.)]\s|[*_]*(q(uestion)?|a(nswer)?)\s*\d{0,3}\s*[:.)])", re.IGNORECASE
)
_WS = re.compile(r"\s+")
_MIN_COPY_CHARS = 40


def _normalise(text: str) -> str:
    return _WS.sub(" ", re.sub(r"[^\w\s]", " ", text.lower())).strip()


def _is_preamble(line: str) -> bool:
    if ends_as_question(line):
        return False
    return line.endswith((":", "：")) or bool(_PREAMBLE_START.match(line) or _PREAMBLE.search(line))


def _clean_line(line: str) -> str:
    line = _JSON_EDGES.sub("", line.strip().strip(_DIRECTION_MARKS).strip())
    previous = None
    while previous != line:  # "1. **Q1:** ..." has more than one marker
        previous = line
        line = _JSON_KEY.sub(r"\1:", line)
        line = _MARKER.sub("", line).strip().strip("*_").strip()
        if ends_as_question(line):
            line = _LETTER_LABEL.sub("", line).strip()
        unwrapped = _WRAPPER.sub("", line).strip().strip(_QUOTES)
        line = unwrapped if ends_as_question(unwrapped) or not unwrapped else line
        line = _unlabel(_JSON_EDGES.sub("", line).strip(_QUOTES).strip())
    return line.strip(_QUOTES).strip()


def _unlabel(line: str) -> str:
    """'One question would be: "What ...?"' -> 'What ...?' (a question behind a label)."""
    label, colon, rest = line.partition(":")
    rest = _JSON_EDGES.sub("", rest.strip()).strip(_QUOTES).strip()
    if colon and "?" not in label and not starts_like_a_question(label) and rest.endswith("?"):
        if starts_like_a_question(rest):
            return rest
    return line


def _continues(previous: str, line: str) -> bool:
    """'What drove revenue in' + '2021?': a question wrapped over two lines."""
    head, tail = _clean_line(previous), line.strip()
    if not head or head[-1] in "?.!:;" or not starts_like_a_question(head):
        return False
    if not tail.endswith("?") or _MARKER.match(tail) or _ANSWER_LINE.match(tail):
        return False
    return not starts_like_a_question(tail.lstrip(_QUOTES + "*_"))


def _split_questions(line: str) -> list[str]:
    """'What is X? What is Y?' -> two lines; 'What is X? Answer: Z' -> a question and an answer."""
    parts, start = [], 0
    for end in _QUESTION_END.finditer(line):
        if end.group()[0] not in "?？؟" and not _ANSWER_LINE.match(line[start:].strip(" *_")):
            continue  # a sentence ends inside a line: split only after an answer
        rest = line[end.end() :].strip()
        bare = rest.lstrip(_QUOTES)
        wide = end.group()[0] in "？؟" and ends_as_question(rest)  # "长城有多长？谁修建了长城？"
        if wide or _NEXT_ITEM.match(rest) or (bare[:1].isupper() and starts_like_a_question(bare)):
            parts.append(line[start : end.end()])
            start = end.end()
    parts.append(line[start:])
    return [part.strip() for part in parts if part.strip()]


def _logical_lines(lines: list[str]) -> list[str]:
    joined: list[str] = []
    for line in lines:
        if joined and line.strip() and _continues(joined[-1], line):
            joined[-1] = f"{joined[-1].rstrip()} {line.strip()}"
        else:
            joined.append(line)
    return [part for line in joined for part in _split_questions(line)]


def _asks_without_a_mark(line: str) -> bool:
    """A question of another language that ends without its mark ("大熊猫每天吃多少竹子")."""
    return not line.isascii() and has_question_word(line)


def _copies_chunk(question: str, chunk_norm: str) -> bool:
    norm = _normalise(question)
    return len(norm) >= _MIN_COPY_CHARS and norm in chunk_norm


def parse_questions(
    answer: str, chunk_text: str = "", limit: int | None = None, prompt_tmpl: str | None = None
) -> list[str]:
    """Pull the questions out of an LLM's answer.

    Example::

        parse_questions('```json\\n[{"question": "Who audits Lyft?", "answer": "PwC"}]\\n```')
        # ['Who audits Lyft?']

    Reads the shapes chat models answer in: numbered ("1.", "1)", "(1)") and bulleted lists,
    labels ("Question 1:", "Q1:", "**Q:**", a label on its own line), preamble and closing
    lines ("Here are 2 questions:", "I hope these help!"), code fences, JSON (an array of
    strings, ``{"questions": [...]}``, objects with a question field; see
    :mod:`.answer_shapes`), quotes, markdown emphasis, letter labels ("A: What ...?"), the
    wrapper "What is the answer to the question: ...", a question wrapped over two lines,
    and several questions on one line; and the shapes of other languages ("1、", "问题1：",
    "質問1：", full-width digits and brackets, "①", Arabic-Indic digits, right-to-left marks,
    "答：" answer lines, "？" and "؟"). Drops answers ("Answer: ...", "A: ..."), duplicates
    (case and punctuation ignored), lines that merely copy the chunk, phrases that repeat
    themselves, and echoes of the instructions (of ``prompt_tmpl`` when given). Phrasing
    ("According to the document, ...") is left to the quality gate (:mod:`.filters`).
    Keeps at most ``limit``.
    """
    chunk_norm = _normalise(chunk_text)
    questions: list[str] = []
    seen: set[str] = set()
    for raw in _logical_lines(answer_lines(answer)):
        line = _clean_line(raw)
        if not line or _is_preamble(line) or is_closing(line) or _LABEL_ONLY.match(line):
            continue
        if _ANSWER_LINE.match(line) and not ends_as_question(line):
            continue
        if _copies_chunk(line, chunk_norm) or is_degenerate(line):
            continue
        if is_prompt_echo(line, prompt_tmpl or DEFAULT_QA_GENERATE_PROMPT_TMPL, chunk_text):
            continue
        key = _normalise(line)
        if not key or key in seen:
            continue
        seen.add(key)
        questions.append(line)
    # When the model mixed questions with other sentences, the questions are what we asked for.
    asked = [q for q in questions if ends_as_question(q) or _asks_without_a_mark(q)]
    if asked and len(asked) < len(questions):
        questions = asked
    return questions[:limit] if limit is not None else questions


def usable_questions(questions: list[str], chunk_text: str, prompt_tmpl: str) -> list[str]:
    """The questions that pass the quality gate's per-question rules (:mod:`.filters`)."""
    return [q for q in questions if rule_reason(q, chunk_text, prompt_tmpl) is None]
