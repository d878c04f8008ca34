"""Documents and questions in other languages: the parser reads their list shapes, the gate
keeps their good questions and drops their junk, pseudo-queries split their sentences, the
tutorial flow on Chinese chunks gives every chunk Chinese questions, and the bundled
English-only writer says so when the documents are not English.
"""

from __future__ import annotations

import json
import warnings
from collections import defaultdict
from pathlib import Path

import pytest
from llama_index.core.schema import TextNode
from llama_index.llms.openai import OpenAI
from support.answer_modes import chinese_lists, chinese_questions

from llama_index.finetuning import generate_qa_embedding_pairs
from llama_index.finetuning.generation import DEFAULT_QA_GENERATE_PROMPT_TMPL, GenerationWarning
from llama_index.finetuning.generation.filters import check_question, filter_pairs
from llama_index.finetuning.generation.languages import warn_if_the_writer_cannot
from llama_index.finetuning.generation.parsing import parse_questions
from llama_index.finetuning.generation.pseudo_queries import (
    generate_pseudo_query_pairs,
    split_sentences,
)
from llama_index.finetuning.generation.text_units import ends_as_question, length_in_words
from llama_index.finetuning.llms import LocalLLM

DATA = Path(__file__).resolve().parents[1] / "benchmarks" / "data"
CORPUS = json.loads((DATA / "multilingual_chunks.json").read_text(encoding="utf-8"))["corpus"]
ROWS = [
    json.loads(line)
    for line in (DATA / "multilingual_questions.jsonl").read_text(encoding="utf-8").splitlines()
]
LANGUAGES = sorted({r["language"] for r in ROWS})

# The list shapes writers answer in, by language ({i}: the number, {q}: the question).
SHAPES = {
    "zh": "问题{i}：{q}",
    "ja": "質問{i}：{q}",
    "ko": "{i}. {q}",
    "ar": "\u200f{i}. {q}",
    "hi": "{i}. {q}",
    "ru": "{i}) {q}",
    "de": "{i}. {q}",
    "fr": "- {q}",
    "es": "{i}) {q}",
    "pt": "{i}. {q}",
    "it": "{i}. {q}",
    "el": "{i}. {q}",
}
ARABIC_DIGITS = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
FULL_WIDTH_DIGITS = str.maketrans("0123456789", "０１２３４５６７８９")


def rows_of(language: str, label: str) -> list[dict]:
    return [r for r in ROWS if r["language"] == language and r["label"] == label]


def test_the_labelled_set_has_ten_languages_each_with_20_good_and_10_junk_questions():
    assert len(LANGUAGES) >= 10
    for language in LANGUAGES:
        assert len(rows_of(language, "good")) >= 20 and len(rows_of(language, "junk")) >= 10


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_parser_reads_each_languages_list_shape(language):
    for chunk_id in sorted({r["chunk_id"] for r in rows_of(language, "good")}):
        written = [r["question"] for r in rows_of(language, "good") if r["chunk_id"] == chunk_id]
        lines = [SHAPES[language].format(i=i, q=q) for i, q in enumerate(written, 1)]
        if language == "ar":
            lines = [line.translate(ARABIC_DIGITS) for line in lines]
        answer = "\n".join(lines)
        assert parse_questions(answer, CORPUS[chunk_id]) == written


@pytest.mark.parametrize(
    "answer",
    [
        "１．长城有多长？\n２．谁修建了长城？",
        "1、长城有多长？\n2、谁修建了长城？",
        "（1）长城有多长？\n【2】谁修建了长城？",
        "第1个问题：长城有多长？\n第2个问题：谁修建了长城？",
        "以下是两个问题：\n一、长城有多长？\n二、谁修建了长城？\n希望对您有帮助！",
        "长城有多长？谁修建了长城？",
        "问题1：长城有多长？\n答：约21196公里。\n问题2：谁修建了长城？",
    ],
)
def test_the_parser_reads_chinese_numbering_full_width_marks_and_labels(answer):
    assert parse_questions(answer) == ["长城有多长？", "谁修建了长城？"]


def test_the_parser_keeps_spanish_opening_marks_and_a_french_space_before_the_mark():
    answer = "1. ¿Cuándo se inauguró el canal?\n2. Quand le TGV a-t-il été mis en service ?"
    assert parse_questions(answer) == [
        "¿Cuándo se inauguró el canal?",
        "Quand le TGV a-t-il été mis en service ?",
    ]


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_gate_keeps_98_percent_of_good_and_drops_90_percent_of_junk(language):
    verdicts = defaultdict(list)
    for row in rows_of(language, "good") + rows_of(language, "junk"):
        _, why = check_question(
            row["question"], CORPUS[row["chunk_id"]], DEFAULT_QA_GENERATE_PROMPT_TMPL
        )
        verdicts[row["label"]].append(why)
    good, junk = verdicts["good"], verdicts["junk"]
    assert sum(why is None for why in good) >= 0.98 * len(good), good
    assert sum(why is not None for why in junk) >= 0.9 * len(junk), junk


@pytest.mark.parametrize(
    "question",
    [
        "这段文字的主要内容是什么？",
        "¿Cuál es el tema principal del texto?",
        "Quel est le thème principal de ce texte ?",
        "Was ist das Hauptthema dieses Textes?",
        "この文章の主なテーマは何ですか？",
        "Qual é o tema principal do texto?",
        "Какова основная тема этого текста?",
        "이 글의 주제는 무엇입니까?",
        "Qual è il tema principale del testo?",
        "ما الفكرة الرئيسية لهذا النص؟",
    ],
)
def test_a_question_about_the_source_is_dropped_in_ten_languages(question):
    chunk = "长城 texto texte Text 文章 текст 글 testo النص: 主要内容 tema thème Thema テーマ"
    assert check_question(question, chunk)[1] == "about_the_source"


@pytest.mark.parametrize(
    ("statement", "question"),
    [
        ("这家公司几乎没有任何债务。", "这家公司有几笔债务？"),  # 几乎 almost, 任何 any
        ("哪怕债务很少，公司也在扩张", "公司在哪些城市扩张"),  # 哪怕 even if
        ("公司的债务很少，何况收入在增长", "公司为何扩张"),  # 何况 moreover
    ],
)
def test_a_chinese_statement_with_question_characters_is_not_a_question(statement, question):
    chunk = "这家公司几乎没有任何债务，哪怕收入很少；何况它在上海、北京等城市扩张，有三笔债务。"
    assert check_question(statement, chunk)[1] == "not_a_question"
    assert check_question(question, chunk)[1] is None


def test_length_counts_characters_of_scripts_without_spaces():
    assert length_in_words("长城有多长？") >= 3  # five Han characters, no space
    assert length_in_words("김장이란 무엇입니까?") >= 3  # two Korean words with particles
    assert length_in_words("What is it?") == 3
    chunk = "长城是古代中国修建的军事防御工程，历代长城总长度为21196公里。"
    assert check_question("长城有多长？", chunk)[1] is None
    assert check_question("长城？", chunk)[1] == "length"


@pytest.mark.parametrize(
    "question", ["ما هو أطول نهر؟", "Πόσο ψηλή είναι η Ακρόπολη;", "¿Qué es?", "何ですか？"]
)
def test_the_question_marks_of_other_scripts_end_a_question(question):
    assert ends_as_question(question)


def test_a_semicolon_ends_only_a_greek_question():
    assert not ends_as_question("Revenue grew; costs fell;")


def test_an_arabic_question_reaches_the_dataset_and_a_french_one_keeps_its_space():
    chunk = "نهر النيل هو أطول نهر في أفريقيا، ويبلغ طوله نحو 6650 كيلومترًا."
    assert check_question("كم يبلغ طول نهر النيل؟", chunk) == ("كم يبلغ طول نهر النيل؟", None)
    french = "Quand le TGV a-t-il été mis en service ?"
    chunk = "Le TGV a été mis en service commercial le 27 septembre 1981 entre Paris et Lyon."
    assert check_question(french, chunk) == (french, None)


def test_template_repeat_does_not_take_chinese_questions_for_one_text():
    chunks = {f"c{i}": f"第{i}座桥梁建于{1990 + i}年，全长{i}公里。" for i in range(1, 5)}
    from llama_index.finetuning import EmbeddingQAFinetuneDataset

    dataset = EmbeddingQAFinetuneDataset(
        queries={f"q{i}": f"第{i}座桥梁建于哪一年？" for i in range(1, 5)},
        corpus=chunks,
        relevant_docs={f"q{i}": [f"c{i}"] for i in range(1, 5)},
    )
    kept, report = filter_pairs(dataset)
    assert report.kept == 4, report.dropped


def test_pseudo_queries_split_sentences_at_the_full_stops_of_other_scripts():
    text = "大熊猫主要生活在四川的山区竹林中。成年大熊猫一天可以吃掉十多公斤竹子！它们吃什么？"
    assert [s for *_, s in split_sentences(text)] == [
        "大熊猫主要生活在四川的山区竹林中。",
        "成年大熊猫一天可以吃掉十多公斤竹子！",
        "它们吃什么？",
    ]
    hindi = "गंगा नदी गंगोत्री हिमनद से निकलती है। यह बंगाल की खाड़ी में मिलती है।"
    assert len(split_sentences(hindi)) == 2
    nodes = [TextNode(id_="zh-1", text=CORPUS["zh-1"]), TextNode(id_="zh-2", text=CORPUS["zh-2"])]
    dataset = generate_pseudo_query_pairs(nodes, num_questions_per_chunk=1, show_progress=False)
    assert len(dataset.queries) == 2
    for qid, (node_id,) in dataset.relevant_docs.items():
        assert dataset.queries[qid] in CORPUS[node_id]
        assert dataset.queries[qid].endswith("。")
        assert dataset.queries[qid] not in dataset.corpus[node_id]  # cut out (inverse cloze)


CHINESE_CHUNKS = [CORPUS[f"zh-{i}"] for i in range(1, 5)]


def chinese_run(server, tmp_path, **kwargs):
    nodes = [TextNode(id_=f"node-{i}", text=text) for i, text in enumerate(CHINESE_CHUNKS)]
    llm = OpenAI(model="gpt-4o-mini", api_base=server.url, api_key="test", max_retries=0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", GenerationWarning)
        dataset = generate_qa_embedding_pairs(
            nodes=nodes, llm=llm, output_path=tmp_path / "train.json", **kwargs
        )
    return dataset, [str(w.message) for w in caught if issubclass(w.category, GenerationWarning)]


def test_the_chinese_tutorial_flow_gives_every_chunk_its_chinese_questions(fake_openai, tmp_path):
    dataset, said = chinese_run(fake_openai(answer=chinese_lists), tmp_path)
    got = defaultdict(list)
    for qid, (node_id,) in dataset.relevant_docs.items():
        got[dataset.corpus[node_id]].append(dataset.queries[qid])
    assert said == []
    for chunk in CHINESE_CHUNKS:
        prompt = DEFAULT_QA_GENERATE_PROMPT_TMPL.format(
            context_str=chunk, num_questions_per_chunk=2
        )
        assert got[chunk] == chinese_questions(prompt, 2)


def test_the_bundled_writer_says_once_that_it_writes_english_only():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", GenerationWarning)
        assert warn_if_the_writer_cannot(LocalLLM(), CHINESE_CHUNKS)
        assert not warn_if_the_writer_cannot(LocalLLM(), ["The river flows through the town."])
        other = OpenAI(model="gpt-4o-mini", api_key="test")
        assert not warn_if_the_writer_cannot(other, CHINESE_CHUNKS)
    said = [str(w.message) for w in caught]
    assert len(said) == 1
    assert "English questions only" in said[0] and "generate_pseudo_query_pairs" in said[0]


def test_the_bundled_writer_is_asked_without_the_language_sentence_and_others_with_it():
    """SmolLM2-135M writes English only and kept fewer questions with the sentence; any other
    writer, and any template the user passes, is sent as given."""
    from llama_index.finetuning.generation.parsing import (
        DEFAULT_QA_GENERATE_PROMPT_TMPL,
        LANGUAGE_SENTENCE,
        SMALL_MODEL_QA_PROMPT_TMPL,
        prompt_for_writer,
    )

    bundled = prompt_for_writer(DEFAULT_QA_GENERATE_PROMPT_TMPL, LocalLLM())
    assert LANGUAGE_SENTENCE in DEFAULT_QA_GENERATE_PROMPT_TMPL
    assert bundled == DEFAULT_QA_GENERATE_PROMPT_TMPL.replace(LANGUAGE_SENTENCE, "")
    other = OpenAI(model="gpt-4o-mini", api_key="test")
    assert prompt_for_writer(DEFAULT_QA_GENERATE_PROMPT_TMPL, other) == (
        DEFAULT_QA_GENERATE_PROMPT_TMPL
    )
    assert prompt_for_writer(SMALL_MODEL_QA_PROMPT_TMPL, LocalLLM()) == SMALL_MODEL_QA_PROMPT_TMPL
