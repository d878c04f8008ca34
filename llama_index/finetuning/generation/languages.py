"""What the quality gate knows of languages other than English: their words for "the text",
"the main topic", "question" and "write", their question words, their commonest words.

Example::

    from llama_index.finetuning.generation.languages import (
        asks_about_the_source, echoes_instructions, is_mostly_english,
    )

    asks_about_the_source("这段文字的主要内容是什么？")            # True
    asks_about_the_source("¿Cuál es el tema principal del texto?")  # True
    asks_about_the_source("熊猫主要吃什么？")                      # False
    echoes_instructions("¿Cómo escribo dos preguntas sobre el fragmento?")  # True
    is_mostly_english(["Der Rhein fließt durch Basel."])           # False

Languages known: Chinese, Japanese, Korean, Arabic, Hindi, Russian, German, French,
Spanish, Portuguese, Italian, Turkish, Greek and Vietnamese. A question in another language
is still measured by the language-free rules (length, repeats, question marks, shared
content terms); only these two word-list rules do not see it.
"""

from __future__ import annotations

import functools
import re
import warnings
from collections.abc import Iterable
from typing import Any

from .report import GenerationWarning
from .stopwords import english_stopwords
from .text_units import words

BUNDLED_WRITER = "SmolLM2-135M-Instruct"

# "the text" as writers call the chunk they were given, by language.
_SOURCE = {
    "zh": r"这段(?:文字|话|内容|材料|文本)?|这(?:篇|一段|份)(?:文章|文字|文本|材料)?|该段|本段|上文|原文|文中|摘录|本文|该文",
    "ja": r"この(?:文章|テキスト|文|段落|抜粋|資料|記事|一節)|本文|上記の?(?:文章|テキスト)|抜粋",
    "ko": r"이 (?:글|텍스트|문서|단락|지문|발췌문|문단)|본문|발췌문|위 글|윗글",
    "ar": r"(?:ال|لل)(?:نص|مقطع|فقرة|وثيقة|مستند|مقتطف)",
    "hi": r"(?:इस|यह|दिए गए|उपरोक्त) (?:पाठ|गद्यांश|अनुच्छेद|दस्तावेज़|अंश|लेख)|गद्यांश",
    "ru": r"(?:этот|этого|этом|данн\w+|приведённ\w+|приведенн\w+)\s+(?:текст|отрыв|фрагмент|документ)\w*|\bтекст(?:а|е|ом|у)?\b|\bотрыв(?:ок|ка|ке|ком|ку)\b",
    "de": r"\b(?:de[rmns]|die|das|diese[mnrs]?|vorliegende[mnrs]?|obige[mnrs]?)\s+(?:Text|Textes|Abschnitt|Abschnitts|Auszug|Auszugs|Dokument|Dokuments|Passage|Textauszug|Textausschnitt)\b|\bim Text\b",
    "fr": r"\b(?:le|ce|du|cet|l'|l’|cette|la|de la|au)\s*(?:texte|passage|extrait|document)\b",
    "es": r"\b(?:el|este|del|esta|la|al|dicho)\s+(?:texto|pasaje|fragmento|documento|extracto)\b",
    "pt": r"\b(?:o|este|esse|do|no|deste|desse|a|da|na|desta)\s+(?:texto|passagem|trecho|documento|excerto)\b",
    "it": r"\b(?:il|questo|del|nel|dal|lo|la|della|nella|questa)\s+(?:testo|brano|passaggio|documento|estratto)\b",
    "tr": r"\b(?:bu |verilen )?(?:metin|metnin|metinde|paragraf|paragrafın|paragrafta|belge|belgenin|belgede|pasaj)\w*",
    "el": r"(?:το|του|αυτό|στο)\s+(?:κείμενο|κειμένου|απόσπασμα|αποσπάσματος|έγγραφο|εγγράφου)",
    "vi": r"(?:đoạn văn|văn bản|đoạn trích|tài liệu)(?: này| trên)?",
}
# What a question about its source asks for: the main topic, the purpose, a summary, a title.
_ABOUT = {
    "zh": r"主要内容|主要讲|主要介绍|主要说|主题|中心思想|大意|目的|总结|概括|标题|作者|讲了什么|讲的是什么|说了什么|关于什么|写了什么|介绍了什么",
    "ja": r"主な内容|主題|テーマ|要旨|要約|目的|タイトル|筆者|著者|何について|何を述べ|何が書かれ|何を伝え|言いたいこと",
    "ko": r"주제|요지|요약|목적|제목|저자|핵심 내용|중심 내용|무엇에 관한|무엇을 말하|무엇에 대해",
    "ar": r"الفكرة الرئيسية|الموضوع الرئيسي|موضوع|الغرض|هدف|الهدف|ملخص|لخص|عنوان|المؤلف|الكاتب|عن ماذا|ماذا يتناول|يتحدث",
    "hi": r"मुख्य विषय|विषय|उद्देश्य|सारांश|शीर्षक|लेखक|मुख्य विचार|किस बारे में|क्या कहता|क्या बताता",
    "ru": r"основн\w+ (?:тем|мысл|иде)\w*|главн\w+ (?:тем|мысл|иде)\w*|\bтем[аыу]\b|цель|резюм|кратко|заголов|автор|о чём|о чем|чему посвящ",
    "de": r"Hauptthema|Hauptaussage|Kernaussage|\bThema\b|\bZweck\b|\bZiel\b|Zusammenfassung|[Ff]asse|zusammen\b|Titel|Autor|Verfasser|worum geht|wovon handelt|handelt",
    "fr": r"thème|sujet|idée principale|objectif|\bbut\b|résum|titre|auteur|de quoi parle|que dit|parle",
    "es": r"tema|idea principal|propósito|objetivo|resum|título|autor|de qué trata|qué dice|trata",
    "pt": r"tema|ideia principal|propósito|objetivo|resum|título|autor|do que trata|o que diz|trata",
    "it": r"tema|argomento|idea principale|scopo|obiettivo|riassum|riassunto|titolo|autore|di cosa parla|cosa dice|parla",
    "tr": r"ana fikir|konu|amaç|özet|başlık|yazar|ne anlatıyor|neden bahsediyor",
    "el": r"κύριο θέμα|θέμα|σκοπός|περίληψη|τίτλος|συγγραφέας|τι λέει|για τι",
    "vi": r"chủ đề|ý chính|mục đích|tóm tắt|tiêu đề|tác giả|nói về",
}
# "question" and "write/make" in each language: a question naming both restates the prompt.
_QUESTION_NOUN = {
    "zh": r"问题|提问",
    "ja": r"質問|問い|問題",
    "ko": r"질문|문제",
    "ar": r"سؤال|أسئلة|الأسئلة|سؤالين",
    "hi": r"प्रश्न|सवाल",
    "ru": r"вопрос",
    "de": r"Frage",
    "fr": r"question",
    "es": r"pregunta",
    "pt": r"pergunta|questões|questão",
    "it": r"domand",
    "tr": r"soru",
    "el": r"ερ[ωώ]τ[ηή]σ",
    "vi": r"câu hỏi",
}
_WRITE = {
    "zh": r"写|提出|生成|编写|列出|出题|每行",
    "ja": r"書|作成|作っ|作る|生成|挙げ|一行",
    "ko": r"작성|만들|생성|써|쓰|한 줄",
    "ar": r"اكتب|أكتب|كتابة|صياغ|أنشئ|إنشاء|سطر",
    "hi": r"लिख|बनाए|बनाएं|तैयार",
    "ru": r"\bнапиш|\bнаписа|\bсостав|\bсформулир|\bпридума|\bстрок",
    "de": r"\bschreib|\berstell|\bformulier|\bZeile",
    "fr": r"\bécri|\brédig|\bgénér|\bformul|\bligne",
    "es": r"\bescrib|\bredact|\bgener[ae]|\bformul[ae]|\blínea",
    "pt": r"\bescrev|\bredig|\bger[ae]|\bformul[ae]|\blinha",
    "it": r"\bscriv|\bredig|\bgener[ai]|\bformul[ai]|\briga",
    "tr": r"\byaz|\boluştur|\bsatır",
    "el": r"γράψ|γράφ|δημιουργ|γραμμή",
    "vi": r"viết|tạo|mỗi dòng",
}
# Commonest words of 4+ letters, which content overlap must not count.
_STOPWORDS = """
aber alle als auch auf aus bei bis dass dem den der des die dies diese diesem diesen dieser
dieses durch eine einem einen einer eines für gegen hat hatte haben ihre ihren ihrer ist
jede jedes kann mehr mit nach nicht noch oder seit sich sie sind über unter vom von vor war
waren warum was welche welcher welches welchen weil wenn werden wer wie wieviel wieviele
wird wurde wurden zum zur zwischen
alors aussi avec avoir avait avant chez comme comment combien dans depuis donc dont elle
elles entre est-ce être fait leur leurs lors mais même notre nous pour pourquoi quand quel
quelle quelles quels sans selon sont sous suis leurs était étaient cette ceux celle
vers votre
algo aquí cada como cómo cual cuál cuales cuáles cuando cuándo cuanto cuánto cuántos cuántas
desde donde dónde ella ellas ellos entre esta este esto estos estas fueron había hacia hasta
mismo muchos para pero porque quién quiénes según sobre también tiene tienen todo todos
tras cuál está están siendo puede
aquele aquela assim ainda até cada como depois desde disso dele dela eles elas entre essa
esse esta este está estão foram isso mais muito nesta neste onde para pela pelo pelos pelas
porque qual quais quando quanto quantos quantas quem sobre também tem têm tinha todos
uma umas você foi
alla alle anche ancora come cosa dalla dalle degli della delle dello dove essere fino hanno
loro molto nella nelle negli perché però qual quale quali quando quanto quanti quante
questa questo quella quello sono stata stati stato sulla tutti tutto anni
что чего чему чем когда где куда почему зачем какой какая какое какие каких каким
сколько который которая которое которые было были была быть этот эта это эти этого
этой того тому также если может между после перед более через свой своей своих очень
всех всего только даже
için gibi daha olan olarak kadar nedir neden nasıl hangi kaç nerede zaman hangisi değil
ile veya ancak sonra önce
είναι ήταν αυτό αυτή αυτά αυτός ποιος ποια ποιο ποιες ποιοι πόσο πόσα πόσοι πότε πώς
γιατί πού έχει έχουν από μετά στην στον στις στους στα στο μέχρι όταν
ماذا لماذا متى أين كيف هل هذا هذه ذلك تلك التي الذي الذين على إلى عن مع بين كان كانت
يكون عند بعد قبل كانوا حتى هما هي هو ما من في أن إن لم لا قد كل غير أو ثم أي كم
क्या कौन कौनसा कब कहाँ कहां क्यों कैसे कितना कितने कितनी किसने किसको किसके किसका किसकी
होता होती होते किया किये करता करती करते करने जाता जाती जाते सकता सकती सकते लिए साथ बाद
द्वारा अपने अपनी अपना उसके इसके उसका इसका उनके इनके उनका इनका रहा रही रहे गया गयी गई
में है हैं था थे थी
những được trong người nhưng nhiều cũng không
"""


@functools.lru_cache(maxsize=1)
def stopwords() -> frozenset[str]:
    """English (NLTK's list) and the commonest words of the languages above."""
    return english_stopwords() | frozenset(_STOPWORDS.split())


def _either(table: dict[str, str]) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in table.values()), re.IGNORECASE)


_SOURCE_RE, _ABOUT_RE = _either(_SOURCE), _either(_ABOUT)
_QUESTION_NOUN_RE, _WRITE_RE = _either(_QUESTION_NOUN), _either(_WRITE)
_OTHER_QUESTION = re.compile(
    # 几乎 (almost), 任何 (any), 何况 (moreover), 哪怕 (even if) ask nothing
    r"什么|哪(?!怕)|谁|多少|多[长大高久远重宽深]|几(?!乎)|为什么|怎么|怎样|如何|是否|吗[。]?$|呢[。]?$"
    r"|(?<!任)何(?!况)|どこ|いつ|誰|なぜ|どの|どう|いくつ|いくら|か[。]?$"
    r"|무엇|어디|언제|누구|왜|어떻|얼마|몇|까[.]?$"
    r"|^(?:¿|कितन|किस|ποι|πόσ|(?:что|кто|где|когда|почему|как|какой|какая|какие|каков|сколько"
    r"|зачем|чем|чей|wer|wann|wo|warum|wie|welche[mnrs]?|wieso|weshalb|wozu"
    r"|que|qui|quand|où|pourquoi|comment|quel(?:le)?s?|combien|est-ce"
    r"|qué|quién|cuándo|dónde|por qué|cómo|cuál|cuánt[oa]s?"
    r"|o que|quem|quando|onde|por que|como|qual|quais|quant[oa]s?"
    r"|che|chi|dove|perché|quale|quali|quant[oaie]"
    r"|ما|من|متى|أين|لماذا|كيف|كم|هل|أي|ماذا"
    r"|क्या|कौन|कब|कहाँ|कहां|क्यों|कैसे"
    r"|ne|neden|nasıl|hangi|kaç|nerede|τι|πότε|πού|γιατί|πώς)(?=[\s,;:!?]|$))",
    re.IGNORECASE,
)


def asks_about_the_source(question: str) -> bool:
    """Whether ``question`` names its source ("the text", "该段文字", "el texto") and asks for
    its topic, purpose, summary, title or author, in a language of this module."""
    return bool(_SOURCE_RE.search(question) and _ABOUT_RE.search(question))


def source_mentions(question: str) -> list[tuple[int, int]]:
    """Where ``question`` names its source, in a language of this module."""
    return [m.span() for m in _SOURCE_RE.finditer(question)]


def echoes_instructions(question: str) -> bool:
    """Whether ``question`` asks about writing questions ("如何写出两个问题？"), in a language
    of this module."""
    return bool(_QUESTION_NOUN_RE.search(question) and _WRITE_RE.search(question))


def has_question_word(text: str) -> bool:
    """Whether ``text`` holds a question word or particle of a language of this module."""
    return bool(_OTHER_QUESTION.search(text.strip()))


def is_mostly_english(texts: Iterable[str], sample: int = 50) -> bool:
    """Whether most of (the first ``sample`` of) ``texts`` read as English: a fifth or more
    of their words are English stopwords."""
    english = english_stopwords()
    verdicts = []
    for text in list(texts)[:sample]:
        found = [w.lower() for w in words(text)]
        if found:
            verdicts.append(sum(w in english for w in found) >= 0.2 * len(found))
    return not verdicts or 2 * sum(verdicts) >= len(verdicts)


def is_bundled_writer(llm: Any) -> bool:
    """Whether ``llm`` is the bundled SmolLM2-135M (a ``LocalLLM`` with no model file given)."""
    return getattr(llm, "model_path", "") is None and getattr(llm, "model_name", None) == (
        BUNDLED_WRITER
    )


def warn_if_the_writer_cannot(llm: Any, texts: Iterable[str]) -> bool:
    """Warn (once, a :class:`GenerationWarning`) when ``llm`` is the bundled writer, which
    writes English only, and most of ``texts`` are not English; return whether it warned.

    Example::

        from llama_index.finetuning.llms import LocalLLM

        warn_if_the_writer_cannot(LocalLLM(), ["大熊猫主要生活在四川。"])   # warns, True
    """
    if not is_bundled_writer(llm):
        return False
    if is_mostly_english(texts):
        return False
    warnings.warn(
        "most of these chunks are not in English, and the bundled writer (SmolLM2-135M) "
        "writes English questions only: they would train the model on English questions "
        "about text in another language. Bring a writer that knows the documents' language "
        "(a hosted model such as OpenAI(model='gpt-4o-mini'), or a multilingual local one "
        "such as Qwen2.5-7B-Instruct through Ollama or LocalLLM(model_path=<its GGUF>)), or "
        "make pairs without an LLM (generate_pseudo_query_pairs, CLI --generator pseudo)",
        GenerationWarning,
        stacklevel=4,
    )
    return True
