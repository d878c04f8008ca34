"""English stopwords for the quality gate, without importing nltk.

Example::

    from llama_index.finetuning.generation.stopwords import english_stopwords

    "the" in english_stopwords()        # True

The rules (filters.py) and the source-phrase cleaner (source_phrases.py) both count content
words against this list.
"""

from __future__ import annotations

import functools
from pathlib import Path


@functools.lru_cache(maxsize=1)
def english_stopwords() -> frozenset[str]:
    """NLTK's English list, as llama-index-core ships it; read as a file because importing
    nltk (``globals_helper.stopwords``) takes seconds, which would stall the event loop."""
    import llama_index.core

    path = Path(llama_index.core.__file__).parent / "_static/nltk_cache/corpora/stopwords/english"
    try:
        return frozenset(path.read_text(encoding="utf-8").split())
    except OSError:
        from llama_index.core.utils import globals_helper

        return frozenset(globals_helper.stopwords)
