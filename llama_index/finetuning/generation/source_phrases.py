"""Source phrases in synthetic questions: cleaned off a content question, fatal to one about
the source itself.

Example::

    from llama_index.finetuning.generation.source_phrases import clean, about_the_source

    clean("According to the document, what was Lyft's revenue in 2021?")
    # "What was Lyft's revenue in 2021?"
    clean("What does the text state about Lyft's insurance reserves?")
    # "What about Lyft's insurance reserves?"
    about_the_source("What is the main topic of the passage?")     # True
    about_the_source("What risks are mentioned in the document?")  # False: it asks for risks

LLMs refer to the chunk they were given as "the document", "the passage", "the context".
In a question about the chunk's content ("According to the document, what ...?", "...,
as mentioned in the text?") the phrase is noise to a searcher who never saw the chunk, and
:func:`clean` takes it out. A question whose subject is the source ("What is the purpose of
this excerpt?", "Summarize the document", "What is this text about?") or that names a
figure, a table or the document's title instead of content ("What does the figure titled X
show?", "What is shown in Table 3?") asks nothing a search could answer:
:func:`about_the_source` says so. "What risks are mentioned in the document?" keeps its
phrase: without it the question would lose its verb (benchmarks/gate.py measures both).
"""

from __future__ import annotations

import re

from .stopwords import english_stopwords

_F = re.IGNORECASE
# What an LLM calls the chunk it was given. "the text of the agreement", "the context of
# the pandemic", "the passage of the bill" and "the section on taxes" name content, so such a
# noun followed by "of" (or, but for excerpts, passages and snippets, by a word outside
# _FOLLOW) is not a source; nor is "Section 230" (no determiner) or "its annual report".
_ALWAYS = r"(?:excerpts?|passages?|snippets?)"
_NOUN = (
    r"(?:excerpts?|passages?|texts?|documents?|context|paragraphs?|sections?|chunks?|"
    r"snippets?|articles?|reports?|filing|content|sources?)"
)
_DET = r"(?:the|this|that|these|those|above|given|provided|following)"
_ADJ = r"(?:given|provided|above|following|original|source|attached|same|full|whole|entire|"
_ADJ += r"preceding|previous|current|supplied|shown|quoted)"
_AFTER_WORD = r"(?:provided|given|above|below|shown|presented|supplied|here|itself)"
_AFTER = rf"(?:\s+{_AFTER_WORD})*"
# A source noun is followed by punctuation or a word that does not extend it ("the context
# manager", "the text mode" and "the table tennis" are content).
_FOLLOW = (
    r"(?=\s*(?:[?.,;:!'\"’)]|$)|\s+(?:is|are|was|were|be|been|has|have|had|does|do|did|says?|"
    r"states?|tells?|talks?|discuss(?:es)?|describes?|mentions?|explains?|suggests?|makes?|"
    r"conveys?|presents?|provides?|contains?|shows?|impl(?:y|ies)|indicates?|highlights?|"
    r"refers?|uses?|emphasi[sz]es?|address(?:es)?|focus(?:es)?|covers?|gives?|offers?|lists?|"
    r"notes?|reveals?|illustrates?|depicts?|outlines?|deals?|concerns?|primarily|mainly|mostly|"
    r"about|and|or|to|with|that|which|in|at|for|as|into|than|so|but|by|from|regarding|"
    r"concerning|might|may|could|would|should|will|can|not|only|alone|itself|here|titled|"
    r"entitled|named|called|labell?ed|headed|captioned|\d)\b)"
)
_SRC = (
    rf"(?:{_DET}\s+(?:{_ADJ}\s+)*(?:{_ALWAYS}\b(?!\s+of\b){_AFTER}"
    rf"|{_NOUN}\b(?:(?:\s+{_AFTER_WORD})+\b|{_FOLLOW}))"
    rf"|(?:the|this)\s+(?:information|details|data|facts)\s+"
    rf"(?:(?:provided|given|presented|contained|above)\b|in\s+{_DET}\s+(?:{_ADJ}\s+)*{_NOUN}\b)"
    rf"(?:\s+(?:in|by)\s+{_DET}\s+(?:{_ADJ}\s+)*{_NOUN}\b)?{_AFTER}{_FOLLOW})"
)
# A figure, table or chart named as such: "the figure", "Table 3", "the chart above".
_FIG_NOUN = r"(?:figures?|tables?|charts?|graphs?|diagrams?|images?|illustrations?|pictures?)"
_FIG = rf"(?:(?:{_DET}\s+(?:{_ADJ}\s+)*{_FIG_NOUN}|{_FIG_NOUN}\s+\d+[a-z]?)\b{_AFTER}{_FOLLOW})"
_ANY_SRC = re.compile(rf"\b(?:{_SRC}|{_FIG})", _F)

_WH = r"(?:what|who|whom|whose|when|where|why|how|which|is|are|was|were|do|does|did|can|could"
_WH += r"|should|would|will|has|have|had|describe|explain|list|name|identify|give|in|on|for)"
_VIA = (
    r"(?:according to|based (?:solely |only |entirely |primarily )?(?:on|upon)|as (?:per|"
    r"(?:stated|mentioned|described|noted|discussed|outlined|explained|shown|indicated|reported"
    r"|seen|given|presented|detailed|highlighted|specified) (?:in|by))|per|from|in|within|using"
    r"|given|referring to|with reference to|looking at|considering|drawing on|relying on)"
)
_PART = (
    r"(?:mentioned|described|discussed|listed|outlined|noted|cited|stated|given|provided|"
    r"presented|shown|identified|named|reported|highlighted|referenced|referred to|included|"
    r"covered|detailed|explained|addressed|specified|disclosed|indicated|found|contained)"
)
_COPULA = r"(?:is|are|was|were|be|been|being)"
_LEAD = re.compile(
    rf"^\s*{_VIA}\s+(?:(?:only|solely|just|purely)\s+)?(?:{_SRC}|{_FIG})\s*(?:[,:;]|-+|(?=\s+{_WH}\b))\s*",
    _F,
)
# ", as mentioned in the text?" ", according to the passage?" " in this excerpt?"
_TRAIL = re.compile(rf",?\s+{_VIA}\s+(?:{_SRC}|{_FIG})\s*(?=[?.!]?\s*$)", _F)
# ", as the document explains?" ", as the passage notes?"
_SAYS = (
    r"(?:say|says|said|state|states|stated|explain|explains|explained|note|notes|noted|"
    r"describe|describes|described|mention|mentions|mentioned|show|shows|shown|indicate|"
    r"indicates|suggest|suggests|report|reports|put|puts|outline|outlines|discuss|discusses)"
)
_TRAIL_AS = re.compile(
    rf",?\s+as\s+(?:{_SRC}|{_FIG})\s+(?:(?:does|do|did)\s+)?{_SAYS}(?:\s+it)?\s*(?=[?.!]?\s*$)", _F
)
# "Why, according to the context, did ...?" "Why, as the text notes, did ...?"
_INSIDE = re.compile(
    rf",\s*(?:{_VIA}\s+(?:{_SRC}|{_FIG})|as\s+(?:{_SRC}|{_FIG})\s+(?:(?:does|do|did)\s+)?"
    rf"{_SAYS}(?:\s+it)?)\s*,\s*",
    _F,
)
# "... the risks of X mentioned in the document?", "... mentioned above?": a participle after a
# noun; after a copula ("What risks are mentioned in the document?") it is the verb, and stays
_TRAIL_PART = re.compile(
    rf"(?P<rel>,?\s+(?:that|which)\s+{_COPULA})?,?\s+{_PART}\s+"
    rf"(?:(?:in|by|within|throughout)\s+(?:{_SRC}|{_FIG})|above|below|earlier|previously)\s*(?=[?.!]?\s*$)",
    _F,
)
_LAST_WORD = re.compile(r"(\w+)\W*$")
# "What does the document state about X?" "What information does the text give on X?"
_FRAME = re.compile(
    rf"^\s*(?:what|how)\s+(?:(?:information|details|data|facts|insights?)\s+)?"
    rf"(?:does|do|did|is|are|can|could)\s+(?:{_SRC}|{_FIG})\s+(?:\w+\s+){{0,2}}?"
    rf"(?:about|regarding|concerning|on|with respect to|in relation to|in regard to|as to|"
    rf"for)\s+(?P<topic>.+?)\s*\?\s*$",
    _F,
)
# A question whose subject is the source: "the purpose of this excerpt", "Summarize the
# document", "the figure titled X".
_OF_SOURCE = re.compile(
    r"\b(?:purpose|(?:main|key|central|primary)\s+(?:idea|point|topic|theme|focus|subject|"
    r"message|argument|takeaway|claim)s?|topics?|subject|theme|gist|summary|focus|title|author"
    r"|tone|audience|structure|source|origin|significance|importance|goal|objective|conclusion"
    r"|type|kind|style|format|overview|meaning|point|message|aim|intent|content|contents)\s+of\s+"
    rf"(?:{_SRC}|{_FIG})",
    _F,
)
_TASK_ON_SOURCE = re.compile(
    rf"^\s*(?:please\s+)?(?:summari[sz]e|paraphrase|rephrase|rewrite|translate|outline|"
    rf"describe|explain|analy[sz]e|review)\s+(?:{_SRC}|{_FIG})",
    _F,
)
_TITLED = re.compile(
    rf"\b(?:{_DET}\s+)?(?:{_ADJ}\s+)*(?:{_NOUN}|{_FIG_NOUN})\s+(?:\w+\s+)?"
    r"(?:titled|entitled|named|called|labell?ed|headed|captioned)\b",
    _F,
)
_PREVIOUS_QUESTIONS = re.compile(
    r"\b(?:the|these|those) (?:\d+|two|three|previous|above|following) questions\b", _F
)
# A source mention a content question may keep: "risks mentioned in the document", "How
# does the text describe X"; anywhere else the source is what is asked about.
_KEPT_MENTION = re.compile(rf"\b(?:{_PART}\s+(?:in|by|within|throughout)|in|from|within)\s+$", _F)
# "How does the document describe X?": the source only reports; "How does the excerpt affect
# the business?" makes the source the subject
_REPORTING = re.compile(
    rf"\s*(?:{_SAYS}|define|defines|characteri[sz]es?|portray|portrays|present|presents|treat|"
    rf"treats|address|addresses|cover|covers|list|lists|detail|details|summari[sz]es?|frame|"
    rf"frames|mean|refer|refers|compare|compares|identify|identifies|give|gives|provide|"
    rf"provides|highlight|highlights)\b",
    _F,
)
_DOES = re.compile(r"\b(?:does|do|did)\s+$", _F)
# Words that ask about a text without naming any of its content.
_GENERIC = frozenset(
    """purpose main topic topics subject idea ideas point points focus theme themes gist summary
    summarize summarise overview describe described describes description discuss discussed
    discusses discussion mention mentioned mentions state stated states statement say says
    said tell tells talk talks explain explained explains explanation about information detail
    details data facts fact insight insights important importance significance significant
    provide provided provides given give gives present presented presents presentation show
    shown shows illustrate illustrated illustrates depict depicts title titled author written
    write wrote audience intended tone type kind style structure conclusion conclude context
    excerpt excerpts passage passages text texts document documents paragraph paragraphs
    section sections chunk snippet article report reports filing content contents material
    figure figures table tables chart charts graph graphs diagram diagrams image images
    illustration picture above below following contain contains contained include includes
    included cover covers covered address addresses addressed highlight highlights highlighted
    focuses primary central overall general based according refer refers referred mainly
    primarily message takeaway takeaways finding findings argument claim claims convey conveys
    goal objective reader readers learn understand question questions answer answers example
    examples original make makes made offer offers list lists listed note notes noted suggest
    suggests suggested reveal reveals revealed indicate indicates indicated being discussing
    describing saying meaning aspects aspect things thing something anything mostly specific
    provided key notable noteworthy relevant main""".split()
)
_WORD = re.compile(r"[a-z]{4,}|\d+")
_WS = re.compile(r"\s+")


def clean(question: str) -> str:
    """``question`` with its source phrases taken out where the rest still asks something.

    Example::

        clean("Based on the context, how many riders did Lyft have?")  # "How many riders did Lyft have?"
        clean("What was revenue in 2021, as mentioned in the text?")    # "What was revenue in 2021?"
    """
    text = question.strip()
    frame = _FRAME.match(text)
    if frame and _has_content(frame.group("topic")):
        return f"What about {frame.group('topic').strip()}?"
    lead = _LEAD.match(text)
    if lead and _has_content(text[lead.end() :]):
        rest = text[lead.end() :]
        text = rest[0].upper() + rest[1:]
    inside = _INSIDE.sub(" ", text)
    if _has_content(inside):
        text = inside
    for pattern in (_TRAIL_AS, _TRAIL, _TRAIL_PART):
        match = pattern.search(text)
        if match is None:
            continue
        before = _LAST_WORD.search(text[: match.start()])
        word = before.group(1).lower() if before else ""
        if pattern is _TRAIL_PART and not match.group("rel") and re.fullmatch(_COPULA, word):
            continue
        if pattern is _TRAIL and re.fullmatch(_PART, word):
            continue
        cut = text[: match.start()] + text[match.end() :]
        if _has_content(cut):
            text = cut
    if text != question.strip():  # a cut leaves spaces; the writer's own ("Quoi ?") stay
        text = re.sub(r"\s+([?.!,])", r"\1", _WS.sub(" ", text).strip())
    if question.rstrip().endswith("?") and not text.endswith("?"):
        text = text.rstrip(".!,;: ") + "?"
    return text


def about_the_source(question: str) -> bool:
    """Whether ``question`` asks about its source (or a figure, a table, a title) rather than
    about content; pass the question as :func:`clean` leaves it.

    Example::

        about_the_source("What is the purpose of this excerpt?")                # True
        about_the_source("What is the purpose of the exclusive forum provision?")  # False
    """
    if _OF_SOURCE.search(question) or _TASK_ON_SOURCE.search(question):
        return True
    if _TITLED.search(question) or _PREVIOUS_QUESTIONS.search(question):
        return True
    mentions = list(_ANY_SRC.finditer(question))
    if not mentions:
        return False
    for mention in mentions:
        before = question[: mention.start()]
        reports = _DOES.search(before) and _REPORTING.match(question[mention.end() :])
        if not (reports or _KEPT_MENTION.search(before)):
            return True
    return not _has_content(_ANY_SRC.sub(" ", question))


def _has_content(text: str) -> bool:
    stop = english_stopwords()
    return any(w not in stop and w not in _GENERIC for w in _WORD.findall(text.lower()))
