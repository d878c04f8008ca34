"""A quality gate for synthetic (question, chunk) pairs: rule filters and a round-trip filter.

Example::

    from llama_index.finetuning import EmbeddingQAFinetuneDataset
    from llama_index.finetuning.generation.filters import filter_pairs

    raw = EmbeddingQAFinetuneDataset.from_json("train_dataset.json")
    kept, report = filter_pairs(raw)               # rule filters only
    report.dropped                                 # {"off_topic": 12, "template_repeat": 9, ...}
    report.cleaned                                 # questions kept with a source phrase cut off

    from llama_index.embeddings.huggingface import HuggingFaceEmbedding
    base = HuggingFaceEmbedding(model_name="BAAI/bge-small-en-v1.5")
    kept, report = filter_pairs(raw, round_trip_model=base, round_trip_top_k=10)

The gate first cleans source phrases off a content question ("According to the document, what
...?" -> "What ...?", "What does the text state about X?" -> "What about X?"; counted as
``cleaned``, see :mod:`.source_phrases`): the dataset keeps the cleaned text. The rules then
drop what a writer gets wrong (each counted under its reason): a question that shares no
content word with its chunk (``off_topic``), one whose subject is the source, a figure, a
table or a title rather than content ("What is the purpose of the excerpt?", "What is shown
in Table 3?", ``about_the_source``), an echo of the instructions (``prompt_echo``), a copy of the chunk (``copies_chunk``), a phrase repeating
itself ("2023 2023 2023", ``degenerate``), too short or too long (``length``), not a question
(``not_a_question``), and the same question on more than ``max_repeats`` chunks
(``template_repeat``: all of its copies go, since it points to no chunk in particular).

The rules hold for every script: lengths, shared content and question marks are Unicode-aware
(:mod:`.text_units`: Chinese counted by characters, "؟", "？" and Greek ";" end a question),
and ``about_the_source`` and ``prompt_echo`` know the words of 14 languages besides English
(:mod:`.languages`).

The round-trip filter (Promptagator, Dai et al. 2022; InPars, Bonifacio et al. 2022) keeps a
question only if an embedding model ranks its own chunk within the top ``k`` of the corpus.
The default ``k=10`` drops questions the model cannot tie to their chunk at all, yet keeps the
hard ones it ranks 2nd-10th, which are the ones finetuning learns most from; on a 10-K (~350
chunks) that is the top 3% of the corpus. Ranking reuses :mod:`llama_index.finetuning.evaluation`.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ..async_utils import run_sync
from ..dataset import EmbeddingQAFinetuneDataset
from .languages import asks_about_the_source, echoes_instructions, has_question_word, stopwords
from .source_phrases import about_the_source, clean
from .text_units import content_terms, ends_as_question, length_in_words, tokens

logger = logging.getLogger(__name__)

_TOKEN = re.compile(r"[a-z0-9]+")
# Han and kana have no spaces: each character is a token of normalise().
_CHARACTER_SCRIPT = re.compile("([\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff])")
_NUMBERS = re.compile(r"\d+")
_QUESTION_START = re.compile(
    r"^(what|who|whom|whose|when|where|why|how|which|is|are|was|were|do|does|did|can|could|"
    r"should|would|will|has|have|had|describe|explain|list|name|compare|summari[sz]e|identify|"
    r"define|give|find|show|outline)\b",
    re.IGNORECASE,
)
_PROPER = re.compile(r"(?<=[a-z0-9,] )[A-Z][a-z]+")
_INSTRUCTION = re.compile(r"\b(write|generate|create|make)\b.*\bquestions?\b", re.IGNORECASE)
MIN_WORDS, MAX_WORDS, MAX_CHARS = 3, 40, 300
_MIN_COPY_CHARS = 40

RULES = (
    "length",
    "degenerate",
    "not_a_question",
    "prompt_echo",
    "about_the_source",
    "copies_chunk",
    "off_topic",
    "template_repeat",
)


@functools.lru_cache(maxsize=16)
def _proper_nouns(prompt_tmpl: str) -> frozenset[str]:
    """Capitalised words of the prompt that do not open a line or a sentence."""
    text = prompt_tmpl.replace("{context_str}", "\n").replace("{num_questions_per_chunk}", "2")
    return frozenset(w.lower() for w in _PROPER.findall(text))


@functools.lru_cache(maxsize=16)
def _instruction_words(prompt_tmpl: str) -> frozenset[str]:
    text = prompt_tmpl.replace("{context_str}", " ").replace("{num_questions_per_chunk}", " ")
    return frozenset(content_words(text))


def normalise(text: str) -> str:
    """Lower case, punctuation gone, single spaces: what two copies of a text share (a Han or
    kana character is a word of its own)."""
    return " ".join(tokens(_CHARACTER_SCRIPT.sub(r" \1 ", text.lower())))


def content_words(text: str, stopwords: frozenset[str] | None = None) -> frozenset[str]:
    """What a question must share with its chunk: numbers, words of 4+ letters that are not
    stopwords, Han and Hangul character pairs, katakana words (:func:`.text_units.content_terms`)."""
    return content_terms(text, _default_stopwords() if stopwords is None else stopwords)


def _default_stopwords() -> frozenset[str]:
    return stopwords()


def starts_like_a_question(text: str) -> bool:
    """Whether ``text`` opens as a question or a request does ("What ...", "Describe ...")."""
    return bool(_QUESTION_START.match(text.strip()))


# "the difference between X and X", "the impact of X on X in 2021": the repeat ends the phrase.
# "the effect of tax on tax revenue" and "inflation and inflation expectations" are sound
# questions, so "the impact of COVID on the COVID pandemic" (the same shape) is let through.
_SELF_COMPARISON = re.compile(
    r"\b(?:between|of) (?:the )?(.{3,}?) (?:and|on|versus|vs) (?:the )?\1"
    r"(?: (?:in|for|at|during|over|since|from|to|by) .*)?$"
)


def is_degenerate(question: str) -> bool:
    """A phrase repeated back to back: 3+ times (one word or more), or twice (3+ words); or a
    thing compared with itself ("the difference between X and X", "the impact of X on X"),
    where the repeat ends the phrase ("the effect of tax on tax revenue" is sound)."""
    if _SELF_COMPARISON.search(normalise(question)):
        return True
    tokens = normalise(question).split()
    for n in range(1, min(12, len(tokens) // 2) + 1):
        for i in range(len(tokens) - 2 * n + 1):
            if tokens[i : i + n] == tokens[i + n : i + 2 * n]:
                if n >= 3 or tokens[i : i + n] == tokens[i + 2 * n : i + 3 * n]:
                    return True
    return False


def is_prompt_echo(question: str, prompt_tmpl: str, chunk: str | None = None) -> bool:
    """The question restates the instructions ("How can I write 2 questions ...?"), or (given
    its chunk) names a proper noun of the prompt's example that the chunk lacks."""
    if _INSTRUCTION.search(question) or echoes_instructions(question):
        return True
    if chunk is not None:
        named = set(_TOKEN.findall(question.lower())) & _proper_nouns(prompt_tmpl)
        if named - set(_TOKEN.findall(chunk.lower())):
            return True
    words = content_words(question)
    return len(words) >= 2 and len(words & _instruction_words(prompt_tmpl)) >= 0.75 * len(words)


def check_question(
    question: str, chunk: str, prompt_tmpl: str | None = None, stopwords: Any = None
) -> tuple[str, str | None]:
    """The question with its source phrases cleaned off, and why it fails the rules (a name
    from :data:`RULES`) or None if it passes.

    Example::

        check_question("According to the text, what was revenue in 2021?", chunk)
        # ("What was revenue in 2021?", None)
    """
    stop = _default_stopwords() if stopwords is None else stopwords
    written, question = question, clean(question)
    if not (MIN_WORDS <= length_in_words(question) <= MAX_WORDS) or len(question) > MAX_CHARS:
        return question, "length"
    if is_degenerate(question) or is_degenerate(written):
        return question, "degenerate"
    marked = ends_as_question(question)
    if not (marked or _QUESTION_START.match(question.strip()) or has_question_word(question)):
        return question, "not_a_question"
    if not marked and (start := _QUESTION_START.match(question.strip())):
        first = start.group(1).lower()
        if first in {"what", "who", "whom", "whose", "when", "where", "why", "how", "which"}:
            return question, "not_a_question"  # a wh-question cut off before its end
    if prompt_tmpl is not None and is_prompt_echo(question, prompt_tmpl, chunk):
        return question, "prompt_echo"
    if about_the_source(question) or asks_about_the_source(question):
        return question, "about_the_source"
    norm = normalise(question)
    if len(norm) >= _MIN_COPY_CHARS and norm in normalise(chunk):
        return question, "copies_chunk"
    if not content_words(question, stop) & content_words(chunk, stop):
        return question, "off_topic"
    return question, None


def rule_reason(
    question: str, chunk: str, prompt_tmpl: str | None = None, stopwords: Any = None
) -> str | None:
    """Why a question fails the rules (a name from :data:`RULES`), or None if it passes."""
    return check_question(question, chunk, prompt_tmpl, stopwords)[1]


@dataclass
class FilterReport:
    """What the gate did: questions in and kept, and how many were dropped for each reason."""

    questions: int = 0
    kept: int = 0
    dropped: dict[str, int] = field(default_factory=dict)
    chunks_emptied: int = 0  # chunks that had questions and lost all of them
    cleaned: int = 0  # kept questions whose source phrase was cut off
    examples: dict[str, str] = field(default_factory=dict)  # reason -> one question it dropped

    def count(self, reason: str, n: int = 1, example: str | None = None) -> None:
        self.dropped[reason] = self.dropped.get(reason, 0) + n
        if example is not None:
            self.examples.setdefault(reason, example)


def _subset(
    ds: EmbeddingQAFinetuneDataset, keep: Iterable[str], texts: dict[str, str] | None = None
) -> EmbeddingQAFinetuneDataset:
    keep, texts = set(keep), texts or {}
    queries = {q: texts.get(q, t) for q, t in ds.queries.items() if q in keep}
    relevant = {q: list(ds.relevant_docs[q]) for q in queries}
    return EmbeddingQAFinetuneDataset(
        queries=queries, corpus=dict(ds.corpus), relevant_docs=relevant
    )


def apply_rules(
    dataset: EmbeddingQAFinetuneDataset,
    report: FilterReport,
    prompt_tmpl: str | None = None,
    max_repeats: int = 2,
) -> dict[str, str]:
    """The questions that pass every rule, id -> text as cleaned (:func:`check_question`);
    drops are counted in ``report``."""
    stop = _default_stopwords()
    checked: dict[str, tuple[str, str | None]] = {}
    chunks_of: dict[str, set[str]] = {}
    for qid, text in dataset.queries.items():
        chunk = " ".join(dataset.corpus.get(d, "") for d in dataset.relevant_docs[qid])
        checked[qid] = cleaned, _ = check_question(text, chunk, prompt_tmpl, stop)
        chunks_of.setdefault(normalise(cleaned), set()).update(dataset.relevant_docs[qid])
    kept: dict[str, str] = {}
    for qid, (cleaned, reason) in checked.items():
        if reason is None and len(chunks_of[normalise(cleaned)]) > max_repeats:
            reason = "template_repeat"
        if reason is None:
            kept[qid] = cleaned
            report.cleaned += cleaned != dataset.queries[qid].strip()
        else:
            report.count(reason, example=dataset.queries[qid])
            logger.debug("dropped (%s): %r", reason, dataset.queries[qid])
    return kept


async def round_trip_keep(dataset: EmbeddingQAFinetuneDataset, model: Any, top_k: int) -> list[str]:
    """The ids of the questions whose relevant chunk ``model`` ranks within ``top_k``."""
    from ..evaluation.evaluate import aevaluate_embedding

    if not dataset.queries:
        return []
    result = await aevaluate_embedding(dataset, model, top_k=top_k, metrics=["hit_rate"])
    rows = result.per_query
    ranks = rows["first_hit_rank"].fillna(top_k + 1).astype(int)
    return [qid for qid, rank in zip(rows["query_id"], ranks, strict=True) if rank <= top_k]


async def afilter_pairs(
    dataset: EmbeddingQAFinetuneDataset,
    rules: bool = True,
    round_trip_model: Any = None,
    round_trip_top_k: int = 10,
    prompt_tmpl: str | None = None,
    max_repeats: int = 2,
) -> tuple[EmbeddingQAFinetuneDataset, FilterReport]:
    """Async :func:`filter_pairs`."""
    if round_trip_top_k < 1:
        raise ValueError(f"round_trip_top_k must be >= 1, got {round_trip_top_k}")
    report = FilterReport(questions=len(dataset.queries))
    kept = (
        apply_rules(dataset, report, prompt_tmpl, max_repeats) if rules else dict(dataset.queries)
    )
    if round_trip_model is not None and kept:
        subset = _subset(dataset, kept, kept)
        close = set(await round_trip_keep(subset, round_trip_model, round_trip_top_k))
        far = [qid for qid in kept if qid not in close]
        if far:
            report.count("round_trip", len(far), example=kept[far[0]])
        for qid in far:
            logger.debug("dropped (round_trip): %r", kept[qid])
        kept = {q: t for q, t in kept.items() if q in close}
    out = _subset(dataset, kept, kept)
    had = {d for q in dataset.queries for d in dataset.relevant_docs[q]}
    has = {d for q in out.queries for d in out.relevant_docs[q]}
    report.kept, report.chunks_emptied = len(out.queries), len(had - has)
    report.dropped = {r: report.dropped[r] for r in (*RULES, "round_trip") if r in report.dropped}
    return out, report


def filter_pairs(
    dataset: EmbeddingQAFinetuneDataset,
    rules: bool = True,
    round_trip_model: Any = None,
    round_trip_top_k: int = 10,
    prompt_tmpl: str | None = None,
    max_repeats: int = 2,
) -> tuple[EmbeddingQAFinetuneDataset, FilterReport]:
    """Drop synthetic questions that fail the rules or the round trip; count why.

    Example::

        kept, report = filter_pairs(dataset, round_trip_model=base_model, round_trip_top_k=10)
        print(report.kept, "of", report.questions, "kept;", report.dropped)

    Args:
        dataset: (question, chunk) pairs; the corpus is kept whole (it is the search space).
        rules: apply the rule filters (see the module docstring).
        round_trip_model: a LlamaIndex ``BaseEmbedding`` (or a spec such as ``"local:<dir>"``);
            ``None`` skips the round trip.
        round_trip_top_k: a question is kept if its chunk ranks within this many.
        prompt_tmpl: the prompt the questions were written from, to catch echoes of it.
        max_repeats: a question text on more chunks than this is dropped everywhere.
    """
    return run_sync(
        afilter_pairs(dataset, rules, round_trip_model, round_trip_top_k, prompt_tmpl, max_repeats)
    )
