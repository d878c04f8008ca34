"""EmbeddingQAFinetuneDataset: (question, chunk) pairs in the tutorials' JSON layout.

Example::

    from llama_index.finetuning import EmbeddingQAFinetuneDataset

    ds = EmbeddingQAFinetuneDataset(
        queries={"q1": "What was Lyft's revenue in 2021?"},
        corpus={"n1": "Revenue was $3.2 billion in 2021."},
        relevant_docs={"q1": ["n1"]},
    )
    train, val = ds.split(val_fraction=0.2, seed=0)
    ds.save_json("train_dataset.json")
    same = EmbeddingQAFinetuneDataset.from_json("train_dataset.json")

The layout (``queries``, ``corpus``, ``relevant_docs``, ``mode``) is the one written by
``llama_index.finetuning`` 0.4 and earlier, so existing files load unchanged. This module
imports nothing else of the package but :mod:`.outputs` (files written atomically, with
the user's umask).
"""

from __future__ import annotations

import json
import os
import random
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError, model_validator

from .outputs import atomic_write_text

_MAX_IDS_IN_ERROR = 5


def _name_ids(ids: Iterable[str]) -> str:
    ids = list(ids)
    shown = ", ".join(repr(i) for i in ids[:_MAX_IDS_IN_ERROR])
    more = len(ids) - _MAX_IDS_IN_ERROR
    return shown + (f" and {more} more" if more > 0 else "")


class EmbeddingQAFinetuneDataset(BaseModel):
    """Queries, the chunks they are answered by, and which chunks answer which query.

    Example::

        from llama_index.finetuning import EmbeddingQAFinetuneDataset

        pairs = EmbeddingQAFinetuneDataset(
            queries={"q1": "Who founded Lyft?"},
            corpus={"n1": "Lyft was founded in 2012 by Logan Green and John Zimmer."},
            relevant_docs={"q1": ["n1"]},
        )
        pairs.save_json("train.json")
        select, report = EmbeddingQAFinetuneDataset.from_json("val.json").split(0.5, seed=0)

    Attributes:
        queries: query id -> query text.
        corpus: chunk (node) id -> chunk text.
        relevant_docs: query id -> ids of the chunks that answer it (at least one each).
        mode: ``"text"`` (the only mode the engines train on).
    """

    queries: dict[str, str] = Field(default_factory=dict)
    corpus: dict[str, str] = Field(default_factory=dict)
    relevant_docs: dict[str, list[str]] = Field(default_factory=dict)
    mode: str = "text"

    @model_validator(mode="after")
    def _check_consistent(self) -> EmbeddingQAFinetuneDataset:
        problems = self.problems()
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def problems(self) -> list[str]:
        """Every way in which the dataset is inconsistent, one sentence each (empty if none)."""
        problems = []
        no_docs = [q for q in self.queries if not self.relevant_docs.get(q)]
        if no_docs:
            problems.append(f"queries without relevant_docs: {_name_ids(no_docs)}")
        unknown_query = [q for q in self.relevant_docs if q not in self.queries]
        if unknown_query:
            problems.append(
                f"relevant_docs names query ids missing from queries: {_name_ids(unknown_query)}"
            )
        missing = sorted(
            {d for docs in self.relevant_docs.values() for d in docs if d not in self.corpus}
        )
        if missing:
            problems.append(
                f"relevant_docs names chunk ids missing from corpus: {_name_ids(missing)}"
            )
        empty_q = [q for q, text in self.queries.items() if not text.strip()]
        if empty_q:
            problems.append(f"empty query text for ids: {_name_ids(empty_q)}")
        empty_c = [c for c, text in self.corpus.items() if not text.strip()]
        if empty_c:
            problems.append(f"empty chunk text for corpus ids: {_name_ids(empty_c)}")
        return problems

    @classmethod
    def class_name(cls) -> str:
        return "EmbeddingQAFinetuneDataset"

    def __len__(self) -> int:
        """The number of queries (one training pair per query)."""
        return len(self.queries)

    @property
    def query_docid_pairs(self) -> list[tuple[str, list[str]]]:
        """``[(query text, [relevant chunk ids]), ...]`` in query order."""
        return [(text, list(self.relevant_docs[qid])) for qid, text in self.queries.items()]

    def pairs(self) -> list[tuple[str, str]]:
        """``[(query text, chunk text), ...]``: one pair per query and relevant chunk."""
        return [
            (self.queries[qid], self.corpus[doc_id])
            for qid in self.queries
            for doc_id in self.relevant_docs[qid]
        ]

    # ---- files -------------------------------------------------------------------------

    def save_json(self, path: str | os.PathLike) -> None:
        """Write the dataset as JSON, atomically: a crash leaves the old file or the new one."""
        atomic_write_text(path, json.dumps(self.model_dump(), ensure_ascii=False, indent=2))

    @classmethod
    def from_json(cls, path: str | os.PathLike) -> EmbeddingQAFinetuneDataset:
        """Load a dataset written by :meth:`save_json` or by llama-index-finetuning 0.4.

        Raises:
            FileNotFoundError: ``path`` does not exist.
            ValueError: the file is not JSON, is not this layout, or is inconsistent; the
                message names the file and the offending ids.
        """
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as e:
            raise ValueError(f"{path}: not a JSON file ({e})") from None
        required = {"queries", "corpus", "relevant_docs"}
        if not isinstance(data, dict) or not required <= data.keys():
            found = sorted(data) if isinstance(data, dict) else type(data).__name__
            raise ValueError(
                f"{path}: not an EmbeddingQAFinetuneDataset file: expected the keys "
                f"{sorted(required)} (and optionally 'mode'), found {found}"
            )
        try:
            return cls.model_validate(data)
        except ValidationError as e:
            details = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or 'dataset'}: {err['msg']}"
                for err in e.errors()
            )
            raise ValueError(f"{path}: {details}") from None

    # ---- combining and splitting ------------------------------------------------------

    def subset(self, query_ids: Iterable[str]) -> EmbeddingQAFinetuneDataset:
        """A dataset of the given queries and only the chunks they need."""
        query_ids = list(query_ids)
        doc_ids = {d for q in query_ids for d in self.relevant_docs[q]}
        return type(self)(
            queries={q: self.queries[q] for q in query_ids},
            corpus={d: t for d, t in self.corpus.items() if d in doc_ids},
            relevant_docs={q: list(self.relevant_docs[q]) for q in query_ids},
            mode=self.mode,
        )

    def split(
        self, val_fraction: float = 0.2, seed: int = 0, keep_corpus: bool = False
    ) -> tuple[EmbeddingQAFinetuneDataset, EmbeddingQAFinetuneDataset]:
        """Split into (train, val) by chunk, so that no chunk is relevant in both.

        Example::

            select, report = val.split(0.5, seed=0, keep_corpus=True)

        Chunks that share a query stay together (a query relevant to two chunks would
        otherwise tie the parts); these groups are shuffled with ``seed`` and about
        ``val_fraction`` of the chunks that answer a query (at least one group) go to val
        with all their queries; chunks no query needs are distractors, in neither part.
        ``keep_corpus=True`` keeps the whole corpus in both parts as the search space (the
        other part's chunks are then distractors, never answers); by default each part
        holds only the chunks its queries need.
        """
        if not 0.0 < val_fraction < 1.0:
            raise ValueError(f"val_fraction must be between 0 and 1, got {val_fraction}")
        # only chunks that answer a query are split; the rest are distractors, in neither
        answers = sorted({d for docs in self.relevant_docs.values() for d in docs})
        if len(answers) < 2:
            raise ValueError(f"cannot split by chunk: {len(answers)} chunk(s) answer a query")
        group_of = {d: d for d in answers}  # union-find over chunks that share a query

        def root(d: str) -> str:
            while group_of[d] != d:
                group_of[d] = group_of[group_of[d]]
                d = group_of[d]
            return d

        for docs in self.relevant_docs.values():
            for d in docs[1:]:
                group_of[root(d)] = root(docs[0])
        groups: dict[str, list[str]] = {}
        for d in answers:
            groups.setdefault(root(d), []).append(d)
        if len(groups) < 2:
            raise ValueError("cannot split by chunk: every chunk is tied to the others by a query")
        ordered = sorted(groups.values())
        random.Random(seed).shuffle(ordered)
        target = max(1, round(len(answers) * val_fraction))
        val_docs: set[str] = set()
        for group in ordered[:-1]:  # the last group always stays in train
            if len(val_docs) >= target:
                break
            val_docs.update(group)
        val_q = [q for q in self.queries if self.relevant_docs[q][0] in val_docs]
        train_q = [q for q in self.queries if self.relevant_docs[q][0] not in val_docs]
        train, val = self.subset(train_q), self.subset(val_q)
        if keep_corpus:
            train.corpus, val.corpus = dict(self.corpus), dict(self.corpus)
        return train, val

    @classmethod
    def merge(cls, *datasets: EmbeddingQAFinetuneDataset) -> EmbeddingQAFinetuneDataset:
        """One dataset holding all queries and chunks of ``datasets``.

        An id that appears in two datasets with different text is an error (the message
        names it): merging must not silently replace a user's query or chunk.
        """
        queries: dict[str, str] = {}
        corpus: dict[str, str] = {}
        relevant: dict[str, list[str]] = {}
        for ds in datasets:
            for kind, target, source in (
                ("query", queries, ds.queries),
                ("chunk", corpus, ds.corpus),
            ):
                clash = [i for i, t in source.items() if i in target and target[i] != t]
                if clash:
                    raise ValueError(
                        f"cannot merge: {kind} ids with different texts: {_name_ids(clash)}"
                    )
                target.update(source)
            for q, docs in ds.relevant_docs.items():
                merged = relevant.setdefault(q, [])
                merged.extend(d for d in docs if d not in merged)
        modes = {ds.mode for ds in datasets} or {"text"}
        if len(modes) > 1:
            raise ValueError(f"cannot merge datasets of different modes: {sorted(modes)}")
        return cls(queries=queries, corpus=corpus, relevant_docs=relevant, mode=modes.pop())

    def __add__(self, other: EmbeddingQAFinetuneDataset) -> EmbeddingQAFinetuneDataset:
        return self.merge(self, other)

    def with_corpus(self, corpus: Mapping[str, str] | Iterable[Any]) -> EmbeddingQAFinetuneDataset:
        """This set, searched among ``corpus`` as well as its own chunks (e.g. every chunk
        your index holds): the extra chunks are distractors, never answers.

        Example::

            report = report.with_corpus(uber_nodes)       # nodes, or {chunk id: text}
            len(report.corpus)                            # every chunk of the filing

        ``corpus``: ``{chunk id: text}`` or LlamaIndex nodes (their text as pairs carry it,
        :func:`chunk_text`). A chunk whose text is already in the set (under any id) is not
        added twice; an id of the set with another text is an error naming it.
        """
        extra = corpus_texts(corpus)
        clash = [i for i, text in extra.items() if i in self.corpus and self.corpus[i] != text]
        if clash:
            raise ValueError(
                f"corpus: chunk ids whose text differs from the dataset's: {_name_ids(clash)}; "
                "pass the chunks the pairs were made of (the same nodes or ids), or other ids"
            )
        merged = dict(self.corpus)
        own_texts = set(merged.values())
        for chunk_id, text in extra.items():
            if chunk_id not in merged and text not in own_texts:
                merged[chunk_id] = text
        return self.model_copy(update={"corpus": merged})


def chunk_text(node: Any) -> str:
    """The text of a LlamaIndex node that pairs carry and that models are trained and judged
    on: the chunk without its metadata (``MetadataMode.NONE``).

    Example::

        chunk_text(TextNode(text="Revenue grew.", metadata={"page_label": "8"}))  # 'Revenue grew.'

    Build the index on the same text: nodes from :func:`~.documents.load_nodes` keep their
    metadata out of what is embedded, and so do documents with
    ``doc.excluded_embed_metadata_keys = list(doc.metadata)`` before splitting (why the bare
    text: ``benchmarks/results/metadata_text.md``).
    """
    from llama_index.core.schema import MetadataMode

    return node.get_content(metadata_mode=MetadataMode.NONE)


def asked_chunks(nodes: Iterable[Any]) -> tuple[dict[str, str], int]:
    """``({node id: text}, skipped)``: the chunks a question generator asks about (their
    :func:`chunk_text`), and how many nodes it skips (no text, or an id seen before).

    Example::

        texts, skipped = asked_chunks([TextNode(id_="a", text="Revenue grew."), TextNode(id_="b")])
        # ({'a': 'Revenue grew.'}, 1)
    """
    texts: dict[str, str] = {}
    skipped = 0
    for node in nodes:
        text = chunk_text(node)  # the text pairs carry, and an index of the nodes embeds
        if not text.strip() or node.node_id in texts:
            skipped += 1
            continue
        texts[node.node_id] = text
    return texts, skipped


def corpus_texts(corpus: Mapping[str, str] | Iterable[Any]) -> dict[str, str]:
    """``{chunk id: text}`` of a collection given as such a dict or as LlamaIndex nodes
    (:func:`chunk_text`; nodes without text are left out).

    Example::

        corpus_texts([TextNode(id_="n1", text="Revenue grew.", metadata={"page_label": "8"})])
        # {'n1': 'Revenue grew.'}

    Raises:
        TypeError: ``corpus`` is neither.
        ValueError: a text that is not a string, or a node id given twice with two texts.
    """
    if isinstance(corpus, Mapping):
        wrong = [i for i, text in corpus.items() if not isinstance(text, str)]
        if wrong:
            raise ValueError(f"corpus: texts must be strings; not for the ids {_name_ids(wrong)}")
        return {str(i): text for i, text in corpus.items() if text.strip()}
    if isinstance(corpus, (str, bytes)) or not isinstance(corpus, Iterable):
        raise TypeError(
            f"corpus must be a dict of chunk id -> text or LlamaIndex nodes, got "
            f"{type(corpus).__name__}"
        )
    texts: dict[str, str] = {}
    for node in corpus:
        if not hasattr(node, "node_id") or not hasattr(node, "get_content"):
            raise TypeError(
                f"corpus must be a dict of chunk id -> text or LlamaIndex nodes, got a "
                f"{type(node).__name__} among the items"
            )
        text = chunk_text(node)
        if not text.strip():
            continue
        if texts.setdefault(node.node_id, text) != text:
            raise ValueError(f"corpus: the node id {node.node_id!r} is given twice, with two texts")
    return texts


def check_dataset(dataset: Any, name: str = "dataset", purpose: str = "trained on") -> None:
    """One clear error for anything an engine or an evaluation cannot use as ``name``."""
    if not isinstance(dataset, EmbeddingQAFinetuneDataset):
        raise TypeError(
            f"{name} must be an EmbeddingQAFinetuneDataset, got {type(dataset).__name__}: "
            "load one with EmbeddingQAFinetuneDataset.from_json(path)"
        )
    if not dataset.queries:
        raise ValueError(f"{name} is empty (no queries): there is nothing to be {purpose}")
    if dataset.mode != "text":
        raise ValueError(f"{name}.mode is {dataset.mode!r}; only 'text' datasets can be {purpose}")
