"""Words, lengths, content terms and question marks of text in any script.

Example::

    from llama_index.finetuning.generation.text_units import (
        content_terms, ends_as_question, length_in_words, split_sentence_ends,
    )

    length_in_words("What was Lyft's revenue in 2021?")    # 6
    length_in_words("长城有多长？")                          # 4: 5 Han characters
    ends_as_question("ما هي عاصمة مصر؟")                    # True
    sorted(content_terms("熊猫主要吃竹子。"))                # ['主要', '竹子', '熊猫', ...]
    split_sentence_ends("第一句。第二句！")                  # ['第一句。', '第二句！']

The quality gate's rules count words and compare the words of a question with those of its
chunk. Chinese and Japanese are written without spaces, Hindi words carry combining vowel
signs that ``\\w`` does not match, Arabic asks with "؟", Greek with ";". This module is
the one place that knows so, from :mod:`unicodedata` alone:

- a word is a run of letters and their combining marks; a character of Han, kana, Thai,
  Lao, Khmer or Myanmar text counts as part of a word (Chinese averages about 1.5
  characters a word, Thai about 4), and so does a Hangul syllable (a Korean word between
  spaces holds its particles: "김장이란" is "kimjang" + "is called");
- content terms: numbers, words of 4+ letters that are not stopwords (a word of 7+ letters
  not written in ASCII by its first 6, so "Байкала" and "Байкале" meet; English words are
  compared whole, as the gate was measured on them),
  adjacent Han character pairs (the bigrams Chinese retrieval indexes), katakana words, and
  adjacent Hangul syllable pairs (Korean glues its particles to the noun), four-character
  runs of Japanese holding kana and kanji ("だしは"), capitalised acronyms ("TGV"), Arabic
  words of 3+ letters without their article and prefixes; accents and Arabic short
  vowels do not count;
- a question ends with "?", "？", "؟", "⸮", "՞", "፧" or, in Greek, ";".
"""

from __future__ import annotations

import functools
import math
import re
import unicodedata

# Characters per word of scripts written without spaces between words.
_UNSPACED = (
    ("\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3005\u3007", 1.5),
    ("\u0e00-\u0e7f\u0e80-\u0eff\u1780-\u17ff\u1000-\u109f", 4.0),
    ("\uac00-\ud7a3", 2.0),  # Korean is spaced, but a spaced word holds its particles
)
_UNSPACED_RUN = [(re.compile(f"[{chars}]+"), per_word) for chars, per_word in _UNSPACED]
_HAN = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3005\u3007]{2,}")
_KATAKANA = re.compile("[\u30a1-\u30fa\u30fc\u31f0-\u31ff]{2,}")
_HANGUL = re.compile("[\uac00-\ud7a3]{2,}")
_KANA_AND_HAN = re.compile("[\u3041-\u30ff\u4e00-\u9fff\u3005]{4,}")
_HAN_OR_KATAKANA = re.compile("[\u30a1-\u30fa\u4e00-\u9fff\u3005]")
_HIRAGANA = re.compile("[\u3041-\u3096]")
# "TGV", "AOP": capitals name a thing, however short the word
_ACRONYM = re.compile(r"\b[A-Z]{2,3}\b")
_NUMBER = re.compile(r"\d+")
# Accents of Latin, Greek and Cyrillic letters and Arabic's short vowels: a word and its
# inflection often differ in them ("ελαιόλαδο", "ελαιολάδου").
_ACCENTS = re.compile("[\u0300-\u036f\u064b-\u065f\u0670]")
# Han characters that build questions and grammar, not content: a pair holding one is no term.
_HAN_FUNCTION = frozenset(
    "的了是在和与及或这那哪什么吗呢个为多少怎如何谁几有被把对从到也都就而其之于以等中此该各每即将所由"
)
# Hangul pairs of particles, endings and question words ("얼마입니까" shares nothing).
_HANGUL_FUNCTION = frozenset(
    """무엇 어디 언제 얼마 어떻 떻게 어떤 누구 무슨 어느 습니 니까 입니 있습 했습 합니 됩니
    인가 나요 가요 인지 에서 으로 하는 하고 했다 있다 이다 한다 되었 었다 였다 것은 것이 것을
    에는 하였 했는 있는 되는 이며 에게 부터 까지 마나 는가 은가 였습 었습 인가요 인데""".split()
)
QUESTION_MARKS = "?？؟⸮՞፧;"
_GREEK = re.compile("[\u0370-\u03ff\u1f00-\u1fff]")
_CLOSERS = "\"'”’»」』）)】]*_ \u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
# Where a sentence ends in scripts that do not use ". ": 。！？ (CJK), ۔ (Urdu), । ॥
# (Devanagari), ؟ (Arabic), ። (Ethiopic), and ! ? straight before such a script's letter.
_SENTENCE_END = re.compile(r"(?:[。！？؟۔।॥።]+|[!?]+(?=[^\x00-\x7f\s]))[\"'”’»」』）)]*")
WIDE_STOPS = "。！？"


@functools.lru_cache(maxsize=1)
def _word_pattern() -> re.Pattern[str]:
    """Letters and the combining marks of the Basic Multilingual Plane (Devanagari's vowel
    signs, Arabic's short vowels), from the character database itself."""
    marks = "".join(chr(c) for c in range(0x300, 0x10000) if unicodedata.category(chr(c))[0] == "M")
    return re.compile(rf"(?:[^\W\d_]|[{re.escape(marks)}])+")


def words(text: str) -> list[str]:
    """The words of ``text``: runs of letters (with their combining marks) of any script."""
    return _word_pattern().findall(text)


@functools.lru_cache(maxsize=1)
def _token_pattern() -> re.Pattern[str]:
    return re.compile(rf"\d+|{_word_pattern().pattern}")


def tokens(text: str) -> list[str]:
    """The words and numbers of ``text``, in order."""
    return _token_pattern().findall(text)


def length_in_words(text: str) -> int:
    """How many words ``text`` holds, its unspaced scripts counted by characters per word."""
    total = 0
    for token in text.split():
        rest = token
        for pattern, per_word in _UNSPACED_RUN:
            for run in pattern.findall(rest):
                total += math.ceil(len(run) / per_word)
            rest = pattern.sub(" ", rest)
        total += sum(1 for part in rest.split() if any(c.isalnum() for c in part))
    return total


def _stem(word: str) -> str:
    """The first 6 letters of a word of 7+: Russian, Greek or Arabic inflect a noun's end."""
    return word[:6] if len(word) >= 7 else word


def _unaccent(text: str) -> str:
    return unicodedata.normalize("NFC", _ACCENTS.sub("", unicodedata.normalize("NFD", text)))


@functools.lru_cache(maxsize=4096)
def content_terms(text: str, stopwords: frozenset[str] = frozenset()) -> frozenset[str]:
    """What a question and its chunk must share to be about the same thing (see the module
    docstring); ``stopwords`` are left out (lower case)."""
    acronyms = {w.lower() for w in _ACRONYM.findall(text)}
    text = unicodedata.normalize("NFKC", text).lower()
    terms = set(_NUMBER.findall(text)) | acronyms
    for run in _HAN.findall(text):
        terms.update(
            run[i : i + 2]
            for i in range(len(run) - 1)
            if run[i] not in _HAN_FUNCTION and run[i + 1] not in _HAN_FUNCTION
        )
    terms.update(_KATAKANA.findall(text))
    for run in _KANA_AND_HAN.findall(text):  # Japanese: "だしは" is a word, "は" is not
        terms.update(
            gram
            for i in range(len(run) - 3)
            if _HAN_OR_KATAKANA.search(gram := run[i : i + 4]) and _HIRAGANA.search(gram)
        )
    for run in _HANGUL.findall(text):
        terms.update(
            pair for i in range(len(run) - 1) if (pair := run[i : i + 2]) not in _HANGUL_FUNCTION
        )
    for word in words(text):
        if _HAN.search(word) or _HANGUL.search(word) or _KATAKANA.search(word) or word in stopwords:
            continue
        word = strip_arabic_prefix(_unaccent(word))
        shortest = 3 if _ARABIC_LETTER.match(word) else 4  # Arabic roots have three letters
        if len(word) >= shortest and word not in stopwords:
            terms.add(word if word.isascii() else _stem(word))
    return frozenset(terms)


_ARABIC_LETTER = re.compile("[\u0620-\u064a]")
_ARABIC_PREFIX = re.compile("^(?:[وف]?[بلك]?ال|[وف]?لل)(?=...)|^[وف](?=....)")


def strip_arabic_prefix(word: str) -> str:
    """'والقاهرة' -> 'قاهرة': the conjunction, preposition and article Arabic writes into a word."""
    return _ARABIC_PREFIX.sub("", word) if _ARABIC_LETTER.match(word) else word


def ends_as_question(text: str) -> bool:
    """Whether ``text`` ends with a question mark of any script ("?", "？", "؟", Greek ";")."""
    end = text.rstrip(_CLOSERS)[-1:]
    if end in ";;":
        return bool(_GREEK.search(text))
    return bool(end) and end in QUESTION_MARKS


def split_sentence_ends(text: str) -> list[str]:
    """``text`` cut after each full stop of a script that needs no space after it ("。",
    "！", "？", "।", "؟"); a piece keeps its mark. Latin full stops are left to punkt."""
    pieces, start = [], 0
    for match in _SENTENCE_END.finditer(text):
        pieces.append(text[start : match.end()])
        start = match.end()
    pieces.append(text[start:])
    return [piece for piece in pieces if piece.strip()]
