"""Build the Python language reference question sets (a second domain beside the Uber 10-K).

    .venv/bin/python benchmarks/make_pyref.py chunks               # worksheet to write from
    .venv/bin/python benchmarks/make_pyref.py assemble --evaluate  # questions -> two datasets

The text is the language reference that ships inside every CPython, ``pydoc_data.topics``
(what ``help("for")`` prints): one Document per topic, the topic name as its id and metadata
(kept out of the text that is embedded or shown to a writer), split as ``make demo`` splits
(``SentenceSplitter``, chunk_size 512, overlap 64). The topics differ between Python
versions, so the sets are pinned to the Python that built them (``PYTHON``): ``assemble``
refuses to run on another minor version, and a changed split fails loudly, naming the
questions whose chunk is gone.

``chunks`` drops chunks a person would not search for (:func:`askable`), takes a seeded
sample of ``SAMPLE_SIZE`` of the rest and splits it, by chunk and seeded, into a selection
part and a report part; the worksheet (in /tmp) lists each sampled chunk with its part and
the sha256 of its text. A writer puts one question per chunk in
``benchmarks/data/pyref_questions.jsonl`` (``{"chunk_sha256", "question"}``, as
``uber_reference_questions.jsonl``). ``assemble`` writes ``pyref_select.json`` and
``pyref_report.json`` (corpus: all chunks of the reference) with their ``.meta.json``. See
``benchmarks/data/pyref.md``.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import uuid
from pathlib import Path

from make_reference import apply_filters, evaluate, question_rows, sha

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
PYTHON = "3.11"
CHUNK_SIZE, CHUNK_OVERLAP = 512, 64  # as the Makefile's DEMO_ARGS
SAMPLE_SIZE = 160
SEED = 0
MIN_CHARS = 300
MIN_WORD_SHARE = 0.45  # grammar rules and code are most of some chunks; prose is asked about
CONTAINED = 0.9  # a topic this much inside another is a copy of that one's section
QUESTIONS = DATA / "pyref_questions.jsonl"
PARTS = ("select", "report")
_QID_NAMESPACE = uuid.UUID("0c7a4f3e-95b1-4d8a-a2f6-3e1d7b9c5a40")


def _shingles(text: str, n: int = 8) -> set[tuple[str, ...]]:
    words = text.split()
    return {tuple(words[i : i + n]) for i in range(max(len(words) - n + 1, 1))}


def copied_topics(topics: dict[str, str]) -> dict[str, str]:
    """{topic: the topic that holds it}: topics whose text is (nearly) a section of another.

    ``help()`` repeats sections under several names ("if" and "for" are sections of
    "compound", "customization" of "specialnames"); a question about such a passage would
    have two right answers, so the copy is left out and the larger topic kept.
    """
    words = {name: _shingles(text) for name, text in topics.items()}
    copied = {}
    for a in sorted(topics):
        for b in sorted(topics):
            if a != b and len(words[a] & words[b]) >= CONTAINED * len(words[a]):
                if len(words[b]) > len(words[a]) or (len(words[b]) == len(words[a]) and b < a):
                    copied[a] = b
                    break
    return copied


def pyref_nodes() -> list:
    """The chunks of the language reference, ids ``<topic>-<position>``, in topic order;
    topics that are copies of a section of another (:func:`copied_topics`) left out.

    Example::

        nodes = pyref_nodes()
        nodes[0].node_id, nodes[0].metadata["topic"]   # ('assert-0', 'assert')
    """
    import pydoc_data.topics

    from llama_index.core import Document
    from llama_index.core.node_parser import SentenceSplitter

    splitter = SentenceSplitter(chunk_size=CHUNK_SIZE, chunk_overlap=CHUNK_OVERLAP)
    topics = pydoc_data.topics.topics
    copied = copied_topics(topics)
    nodes = []
    for topic, text in sorted(topics.items()):
        if topic in copied:
            continue
        doc = Document(text=text, id_=topic, metadata={"topic": topic})
        doc.excluded_embed_metadata_keys = doc.excluded_llm_metadata_keys = ["topic"]
        for i, node in enumerate(splitter.get_nodes_from_documents([doc])):
            node.id_ = f"{topic}-{i}"
            nodes.append(node)
    return nodes


def askable(text: str) -> bool:
    """Long enough and mostly words: not a bare grammar block or a table of special names."""
    tokens = text.split()
    words = sum(t.strip(".,;:()\"'").isalpha() for t in tokens)
    return len(text.strip()) >= MIN_CHARS and words / max(len(tokens), 1) >= MIN_WORD_SHARE


def parts() -> dict[str, dict[str, str]]:
    """{part: {sha256 of a sampled chunk's text: node id}}, the seeded sample split by chunk."""
    nodes = pyref_nodes()
    seen = [n.get_content() for n in nodes]
    # a text that stands in the corpus twice (two topics share a section) has no one answer
    nodes = [n for n in nodes if askable(n.get_content()) and seen.count(n.get_content()) == 1]
    rng = random.Random(SEED)
    sample = rng.sample(range(len(nodes)), min(SAMPLE_SIZE, len(nodes)))
    half = len(sample) // 2
    picked = {"select": sorted(sample[:half]), "report": sorted(sample[half:])}
    return {
        part: {sha(nodes[i].get_content()): nodes[i].node_id for i in ids}
        for part, ids in picked.items()
    }


def check_python() -> None:
    running = ".".join(map(str, sys.version_info[:2]))
    if running != PYTHON:
        raise SystemExit(f"the pyref sets are built from Python {PYTHON}'s topics, not {running}")


def cmd_chunks(args: argparse.Namespace) -> None:
    check_python()
    text = {n.node_id: n.get_content() for n in pyref_nodes()}
    where = parts()
    with open(args.out, "w") as f:
        for part, chosen in where.items():
            for k, (digest, node_id) in enumerate(chosen.items()):
                f.write(f"=== {part} {k} {node_id} {digest}\n{text[node_id]}\n\n")
    print(f"{len(text)} chunks, {sum(map(len, where.values()))} sampled -> {args.out}")


def cmd_assemble(args: argparse.Namespace) -> None:
    from llama_index.finetuning import EmbeddingQAFinetuneDataset

    check_python()
    nodes = pyref_nodes()
    corpus = {n.node_id: n.get_content() for n in nodes}
    where = parts()
    part_of = {digest: part for part, chosen in where.items() for digest in chosen}
    rows: dict[str, tuple[dict, dict]] = {part: ({}, {}) for part in PARTS}
    missing = []
    for line_no, digest, question, qid in question_rows(QUESTIONS, _QID_NAMESPACE):
        part = part_of.get(digest)
        if part is None:
            missing.append(f"line {line_no}: {digest[:12]}")
            continue
        queries, relevant = rows[part]
        queries[qid] = question
        relevant[qid] = [where[part][digest]]
    if missing:
        raise SystemExit(
            f"{len(missing)} question(s) name a chunk that is not in the current sample of "
            f"Python {PYTHON}'s topics (the splitter or the topics changed?): {', '.join(missing)}"
        )
    for part in PARTS:
        queries, relevant = rows[part]
        dataset = EmbeddingQAFinetuneDataset(queries=queries, corpus=corpus, relevant_docs=relevant)
        dataset, filter_report = apply_filters(dataset)
        out = DATA / f"pyref_{part}.json"
        dataset.save_json(str(out))
        meta = {
            "command": ".venv/bin/python benchmarks/make_pyref.py " + " ".join(sys.argv[1:]),
            "source": f"pydoc_data.topics of Python {sys.version.split()[0]}",
            "splitter": f"SentenceSplitter(chunk_size={CHUNK_SIZE}, chunk_overlap={CHUNK_OVERLAP})"
            ", one Document per topic",
            "corpus_chunks": len(corpus),
            "part": part,
            "questions_written": len(queries),
            "rule_filters": filter_report,
            "questions": len(dataset.queries),
            "relevant_chunks": len({d for ds in dataset.relevant_docs.values() for d in ds}),
        }
        if args.evaluate:
            meta["base_model"] = "all-MiniLM-L6-v2 (bundled, offline)"
            meta["base_model_scores"] = evaluate(dataset)
        (DATA / f"pyref_{part}.meta.json").write_text(json.dumps(meta, indent=2) + "\n")
        print(f"{len(dataset.queries)} questions, corpus {len(corpus)} chunks -> {out}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("chunks", help="write the worksheet of chunks to write questions from")
    p.add_argument("--out", type=Path, default=Path("/tmp/pyref_worksheet.txt"))
    p.set_defaults(func=cmd_chunks)
    p = sub.add_parser("assemble", help="questions jsonl -> pyref_select.json, pyref_report.json")
    p.add_argument("--evaluate", action="store_true", help="score the bundled MiniLM on each")
    p.set_defaults(func=cmd_assemble)
    args = parser.parse_args()
    args.func(args)


if __name__ == "__main__":
    main()
