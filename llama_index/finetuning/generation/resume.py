"""Exact resume: which finished chunks of an earlier run may be reused by this one.

Example::

    fp = fingerprint(prompt_tmpl, llm, num_questions_per_chunk=2)
    plan = plan_resume(texts, previous_entries(output_path, journal), fp, append=False)
    plan.done        # {node id: questions} reused as they are
    plan.extra       # earlier chunks kept beside these ones (append=True only)

A chunk's questions are reused only if its text, the prompt template, the LLM (class and model
name) and the number of questions asked are all the same: the fingerprint of an entry says how
it was made. Entries written before fingerprints existed (0.4's output, an older journal) are
reused on their text alone. An output that holds chunks which are not among this run's is
refused unless ``append=True``: otherwise a rerun with other inputs would train on both.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..dataset import EmbeddingQAFinetuneDataset
from ..outputs import holds_other_chunks, not_a_dataset
from .identity import llm_identity
from .journal import Journal, JournalEntry


def text_key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def fingerprint(
    prompt_tmpl: str, llm: Any, num_questions_per_chunk: int, follow_up: str | None = None
) -> str:
    """How a chunk's questions were made: prompt template, LLM identity, questions asked,
    and the follow-up prompt if one was used."""
    made = [prompt_tmpl, llm_identity(llm), num_questions_per_chunk]
    blob = json.dumps(made + [follow_up] if follow_up else made)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]


def previous_entries(output_path: Path | None, journal: Journal | None) -> list[JournalEntry]:
    """Finished chunks of earlier runs: the journal, then output chunks the journal lacks."""
    entries = list(journal.load().values()) if journal is not None else []
    if output_path is not None and output_path.exists():
        try:
            previous = EmbeddingQAFinetuneDataset.from_json(output_path)
        except ValueError as e:
            raise not_a_dataset(output_path, str(e)) from None
        known = {text_key(e.text) for e in entries}
        by_doc: dict[str, dict[str, str]] = {}
        for qid, docs in previous.relevant_docs.items():
            by_doc.setdefault(docs[0], {})[qid] = previous.queries[qid]
        entries += [
            JournalEntry(d, previous.corpus[d], qs)
            for d, qs in by_doc.items()
            if text_key(previous.corpus[d]) not in known
        ]
    return entries


@dataclass
class ResumePlan:
    done: dict[str, dict[str, str]] = field(default_factory=dict)  # node id -> questions
    entries: dict[str, JournalEntry] = field(default_factory=dict)  # node id -> reused entry
    extra: dict[str, JournalEntry] = field(default_factory=dict)  # kept beside (append)
    stale: int = 0  # same chunk, made another way: asked again


def plan_resume(
    texts: dict[str, str],
    entries: list[JournalEntry],
    fp: str,
    append: bool,
    output_path: Path | None,
    question_id: Any,
) -> ResumePlan:
    """Match earlier entries to this run's chunks by id and text, or by text alone."""
    plan = ResumePlan()
    id_by_text = {text_key(t): nid for nid, t in texts.items()}
    foreign: list[JournalEntry] = []
    for entry in entries:
        key = text_key(entry.text)
        same_id = entry.node_id in texts and text_key(texts[entry.node_id]) == key
        nid = entry.node_id if same_id else id_by_text.get(key)
        if nid is None:
            foreign.append(entry)
        elif nid in plan.done:
            continue
        elif entry.fingerprint not in (None, fp):
            plan.stale += 1
        else:
            # splitters give fresh uuids on every run: renumber questions under the new id
            qs = entry.questions
            if nid != entry.node_id:
                qs = {question_id(nid, i): q for i, q in enumerate(qs.values())}
            plan.done[nid] = qs
            plan.entries[nid] = JournalEntry(nid, texts[nid], qs, fingerprint=entry.fingerprint)
    if foreign and not append:  # generate_qa_embedding_pairs has no overwrite: the CLI has
        raise holds_other_chunks(output_path, [e.node_id for e in foreign], can_overwrite=False)
    for entry in foreign:
        plan.extra.setdefault(entry.node_id, entry)
    return plan
