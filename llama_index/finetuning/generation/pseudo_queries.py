"""generate_pseudo_query_pairs: (sentence, rest of its chunk) pairs, with no LLM at all.

Example::

    from llama_index.core import SimpleDirectoryReader
    from llama_index.core.node_parser import SentenceSplitter
    from llama_index.finetuning.generation.pseudo_queries import generate_pseudo_query_pairs

    docs = SimpleDirectoryReader(input_files=["lyft_2021.pdf"]).load_data()
    nodes = SentenceSplitter().get_nodes_from_documents(docs)
    dataset = generate_pseudo_query_pairs(nodes, num_questions_per_chunk=2, seed=0)

This is the inverse cloze task of Lee et al. (2019, "Latent Retrieval for Weakly Supervised
Open Domain Question Answering"): a sentence of a chunk stands in for a question about it,
and the chunk, with that sentence cut out, for the passage that answers it. Cutting the
sentence out makes the model match meaning rather than copied words; ICT keeps it in 10% of
the time so that exact matches still count (``removal_rate=0.9``).

Only informative sentences are picked: enough words, mostly letters (not table rows or page
headers), starting with a capital or a digit (not a fragment of a bad split), and found in
no other chunk (a sentence in the overlap of two neighbouring chunks, or boilerplate, does not
point to one chunk). The choice is random but seeded per node id, so it is the same on every
run and does not depend on the order of the nodes.
"""

from __future__ import annotations

import hashlib
import random
import re
import warnings
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from llama_index.core.schema import BaseNode
from tqdm.auto import tqdm

from ..dataset import EmbeddingQAFinetuneDataset, asked_chunks
from ..outputs import check_dataset_output, is_dataset_file, other_chunks
from .report import GenerationWarning, question_id
from .text_units import WIDE_STOPS, length_in_words, split_sentence_ends, words

_WS = re.compile(r"\s+")
_WORD = re.compile(r"[A-Za-z][A-Za-z'-]+")
_KEY_TOKEN = re.compile(r"\w+")


def _key(sentence: str) -> str:
    """What two copies of a sentence share whatever their case, spacing and punctuation."""
    return " ".join(_KEY_TOKEN.findall(sentence.lower()))


def _sentence_spans(text: str) -> list[tuple[int, int]]:
    """Punkt's sentences, each cut again at the full stops of scripts punkt does not know
    ("。", "！", "？", "।", "؟": no space follows them)."""
    from llama_index.core.utils import globals_helper  # punkt ships with llama-index-core

    spans = []
    for start, end in globals_helper.punkt_tokenizer.span_tokenize(text):
        for piece in split_sentence_ends(text[start:end]):
            offset = text.index(piece, start)
            spans.append((offset, offset + len(piece)))
            start = offset + len(piece)
    return spans


def _is_informative(sentence: str, min_words: int, max_words: int) -> bool:
    if sentence[0].islower():
        return False  # a fragment cut by a bad sentence split (caseless scripts pass)
    if not (sentence[0].isalpha() or sentence[0].isdigit() or sentence[0] in "«“\"'¿¡「『"):
        return False
    if sentence.isascii():
        tokens = sentence.split()
        if not min_words <= len(tokens) <= max_words:
            return False
        found = _WORD.findall(sentence)
        # Table rows and headers are mostly figures or very short words.
        return len(found) >= 0.6 * len(tokens) and len({w.lower() for w in found}) >= min_words - 1
    length = length_in_words(sentence)
    if not min_words <= length <= max_words:
        return False
    letters = sum(len(w) for w in words(sentence))
    return letters >= 0.6 * len("".join(sentence.split()))


def _node_rng(seed: int, node_id: str) -> random.Random:
    digest = hashlib.sha256(f"{seed}\x1f{node_id}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def split_sentences(text: str) -> list[tuple[int, int, str]]:
    """``(start, end, sentence)`` for each sentence of ``text``, its whitespace tidied."""
    return [(a, b, _WS.sub(" ", text[a:b]).strip()) for a, b in _sentence_spans(text)]


def pseudo_queries_for_text(
    text: str,
    num_queries: int,
    rng: random.Random,
    remove: bool,
    min_words: int = 8,
    max_words: int = 60,
    min_context_words: int = 30,
    shared: frozenset[str] | set[str] = frozenset(),
    sentences: list[tuple[int, int, str]] | None = None,
) -> tuple[list[str], str]:
    """Pick up to ``num_queries`` informative sentences of ``text``; return them and the context.

    Sentences whose :func:`_key` is in ``shared`` are not picked. The context is ``text``
    without the picked sentences when ``remove`` is true and at least ``min_context_words``
    words would remain; otherwise it is ``text`` unchanged.
    """
    spans = split_sentences(text) if sentences is None else sentences
    candidates: dict[str, str] = {}  # key -> sentence, its first occurrence
    for _, _, sentence in spans:
        key = _key(sentence)
        if key not in shared and _is_informative(sentence, min_words, max_words):
            candidates.setdefault(key, sentence)
    picked = rng.sample(sorted(candidates), min(num_queries, len(candidates)))
    queries = [candidates[key] for key in picked]
    if not picked or not remove:
        return queries, text
    cut = set(picked)
    context = ""
    for a, b, sentence in spans:
        if _key(sentence) not in cut:
            glue = "" if not context or context.endswith(tuple(WIDE_STOPS)) else " "
            context += glue + text[a:b].strip()
    context = context.strip()
    size = len(context.split()) if context.isascii() else length_in_words(context)
    if size < min_context_words:
        return queries, text
    return queries, context


def generate_pseudo_query_pairs(
    nodes: Sequence[BaseNode],
    num_questions_per_chunk: int = 2,
    seed: int = 0,
    removal_rate: float = 1.0,
    output_path: str | Path | None = None,
    show_progress: bool = True,
    min_words: int = 8,
    max_words: int = 60,
    append: bool = False,
) -> EmbeddingQAFinetuneDataset:
    """Pair sentences of each chunk (the pseudo-queries) with the chunk; no LLM is called.

    Example::

        dataset = generate_pseudo_query_pairs(nodes, num_questions_per_chunk=2)
        dataset.pairs()[0]   # ('Our revenue grew 36% to $3.2 billion in 2021.', 'Lyft ...')

    Args:
        nodes: the chunks (``BaseNode``), e.g. from ``SentenceSplitter``. Nodes with no text
            and repeated node ids are skipped.
        num_questions_per_chunk: sentences picked per chunk (at most; fewer when the chunk
            has fewer informative sentences, none for a chunk that is all figures).
        seed: the same seed and node ids give the same dataset.
        removal_rate: the share of chunks whose corpus text has the picked sentences cut
            out (inverse cloze); the others keep their text as is. ``1.0``: all of them.
        output_path: where to write the dataset JSON (atomically); ``None``: memory only.
            A file there that is not a dataset, or a dataset holding chunks that are not
            among ``nodes``, is refused (``OutputExistsError``), as by
            :func:`generate_qa_embedding_pairs`; a rerun on the same nodes replaces it.
        append: keep the chunks (and their pseudo-queries) that ``output_path`` holds and
            that are not among ``nodes``, beside the new ones.
        show_progress: a tqdm bar.
        min_words, max_words: the length, in words, of a sentence that may be picked.

    A chunk with no informative sentence gets no pairs; a :class:`GenerationWarning`
    says how many. The result has the same layout as :func:`generate_qa_embedding_pairs`.
    """
    if num_questions_per_chunk < 1:
        raise ValueError(f"num_questions_per_chunk must be >= 1, got {num_questions_per_chunk}")
    if not 0.0 <= removal_rate <= 1.0:
        raise ValueError(f"removal_rate must be between 0 and 1, got {removal_rate}")
    if not 1 <= min_words <= max_words:
        raise ValueError(f"need 1 <= min_words <= max_words, got {min_words} and {max_words}")
    texts, _ = asked_chunks(nodes)
    if output_path is not None:
        check_dataset_output(output_path, texts, append=append)
    sentences = {
        nid: split_sentences(text)
        for nid, text in tqdm(texts.items(), desc="Splitting sentences", disable=not show_progress)
    }
    chunks_with = Counter(k for spans in sentences.values() for k in {_key(s) for *_, s in spans})
    shared = {key for key, count in chunks_with.items() if count > 1}

    queries: dict[str, str] = {}
    corpus: dict[str, str] = {}
    relevant: dict[str, list[str]] = {}
    empty = 0
    for nid, text in texts.items():
        rng = _node_rng(seed, nid)
        remove = rng.random() < removal_rate
        found, context = pseudo_queries_for_text(
            text,
            num_questions_per_chunk,
            rng,
            remove,
            min_words,
            max_words,
            shared=shared,
            sentences=sentences[nid],
        )
        if not found:
            empty += 1
            continue
        corpus[nid] = context
        for i, sentence in enumerate(found):
            qid = question_id(nid, i)
            queries[qid] = sentence
            relevant[qid] = [nid]
    if empty:
        warnings.warn(
            f"{empty} chunks have no sentence of {min_words} to {max_words} words that is "
            "mostly text and not also in another chunk, and got no pseudo-queries",
            GenerationWarning,
            stacklevel=2,
        )
    if output_path is not None and append and is_dataset_file(output_path):
        _keep_other_chunks(output_path, texts, queries, corpus, relevant)
    dataset = EmbeddingQAFinetuneDataset(queries=queries, corpus=corpus, relevant_docs=relevant)
    if output_path is not None:
        dataset.save_json(output_path)
    return dataset


def _keep_other_chunks(
    path: str | Path,
    texts: dict[str, str],
    queries: dict[str, str],
    corpus: dict[str, str],
    relevant: dict[str, list[str]],
) -> None:
    """``append``: add the chunks of the dataset at ``path`` that are not among ``texts``."""
    held = EmbeddingQAFinetuneDataset.from_json(path)
    others = [nid for nid in other_chunks(path, texts) if nid in held.corpus and nid not in corpus]
    for nid in others:
        corpus[nid] = held.corpus[nid]
    kept = set(others)
    for qid, docs in held.relevant_docs.items():
        if docs and docs[0] in kept:
            queries[qid], relevant[qid] = held.queries[qid], list(docs)
