"""Build the fixed Uber 2021 10-K question sets (written once, by an LLM agent).

    .venv/bin/python benchmarks/make_reference.py chunks      # worksheet to write questions from
    .venv/bin/python benchmarks/make_reference.py assemble    # questions -> dataset JSON
    .venv/bin/python benchmarks/make_reference.py chunks --set report    # the held-out set

``chunks`` splits the Uber 2021 10-K with :func:`llama_index.finetuning.documents.load_nodes`
(chunk_size 1024, overlap 200), takes a seeded random sample of prose chunks (see
:func:`is_prose`) and writes a worksheet (index, sha256 of the chunk text, text) to /tmp.
A writer reads it and puts one question per chunk in
``benchmarks/data/uber_reference_questions.jsonl`` (``{"chunk_sha256": ..., "question": ...}``).

``assemble`` re-splits the filing, finds each question's chunk by the sha256 of its text
(ids are positional and may change; the text does not), and writes
``benchmarks/data/uber_reference.json``: an ``EmbeddingQAFinetuneDataset`` whose corpus is
every chunk of the filing, so retrieval runs over the whole report. Question ids are uuid5 of
sha + question, so they stay the same across rebuilds. Add ``--evaluate`` to score the
bundled all-MiniLM-L6-v2 on it. See ``benchmarks/data/uber_reference.md``.

``--set report`` (both commands) builds the second set, ``uber_report*``: its worksheet is
every prose chunk of the report body that the reference sample did not take (two questions
each); its corpus is the same whole filing. The reference set chose settings; this one chose
nothing, and ``make demo`` reports on it.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import random
import re
import sys
import uuid
from pathlib import Path

from llama_index.finetuning.documents import load_nodes

HERE = Path(__file__).resolve().parent
PDF = HERE.parent.parent / "shared" / "data" / "10k" / "uber_2021.pdf"
DATA = HERE / "data"
SAMPLE_SIZE = 160
SEED = 0
MIN_CHARS = 300
MIN_WORD_SHARE = 0.55  # share of tokens that are alphabetic words (tables are mostly numbers)
# boilerplate pages: cover, table of contents, signatures, exhibit list
_BOILERPLATE = re.compile(
    r"Commission File Number|Indicate by check mark|TABLE OF CONTENTS|EXHIBIT INDEX|"
    r"^SIGNATURES|Exhibit\s+Incorporated by Reference|\d{3}-\d{5} \d+\.\d+ \w+ \d+, \d{4}",
    re.IGNORECASE | re.MULTILINE,
)
_WORD = re.compile(r"[A-Za-z][A-Za-z'’\-]*[.,;:)]?")
# question ids differ between the sets: each set has its own uuid5 namespace
_QID_NAMESPACE = {
    "reference": uuid.UUID("6f1d3b52-6a0c-4d2e-9a57-0f7e3c1b9e10"),
    "report": uuid.UUID("b3a5e2c4-2f0d-4a61-8c3e-5d9f1e7a4b26"),
}


def paths(which: str) -> dict[str, Path]:
    """The questions (jsonl), dataset, meta and worksheet paths of set ``which``."""
    return {
        "questions": DATA / f"uber_{which}_questions.jsonl",
        "out": DATA / f"uber_{which}.json",
        "meta": DATA / f"uber_{which}.meta.json",
        "worksheet": Path(f"/tmp/uber_{which}_worksheet.txt"),
    }


def sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def is_prose(text: str) -> bool:
    """A chunk a person could ask a question about: long enough, mostly words (not a table of
    numbers), not boilerplate (cover, contents, signatures, exhibit list)."""
    if len(text.strip()) < MIN_CHARS or _BOILERPLATE.search(text) or text.count("/s/") >= 2:
        return False
    tokens = text.split()
    return sum(bool(_WORD.fullmatch(t)) for t in tokens) / max(len(tokens), 1) >= MIN_WORD_SHARE


def report_body(texts: list[str]) -> int:
    """How many chunks come before the exhibit index: the annual report proper. The exhibits
    after it (a director pay policy, a credit agreement amendment) stay in the corpus but are
    not sampled: a reader of the annual report searches the report."""
    return next((i for i, t in enumerate(texts) if "EXHIBIT INDEX" in t), len(texts))


def uber_chunks() -> list:
    return load_nodes([PDF], chunk_size=1024, chunk_overlap=200)


def cmd_chunks(args: argparse.Namespace) -> None:
    nodes = uber_chunks()
    body = nodes[: report_body([n.get_content() for n in nodes])]
    prose = [n for n in body if is_prose(n.get_content())]
    sample = set(random.Random(SEED).sample(range(len(prose)), min(SAMPLE_SIZE, len(prose))))
    # reference: the seeded sample; report: every prose chunk of the body the sample left out
    picked = sorted(sample if args.set == "reference" else set(range(len(prose))) - sample)
    out = args.out or paths(args.set)["worksheet"]
    with open(out, "w") as f:
        for k, i in enumerate(picked):
            text = prose[i].get_content()
            f.write(f"=== {k} {sha(text)}\n{text}\n\n")
    taken = "sampled" if args.set == "reference" else "not in the reference sample"
    print(
        f"{len(nodes)} chunks, {len(body)} before the exhibit index, {len(prose)} of them prose, "
        f"{len(picked)} {taken} -> {out}",
        file=sys.stderr,
    )


def cmd_assemble(args: argparse.Namespace) -> None:
    from llama_index.finetuning import EmbeddingQAFinetuneDataset

    where = paths(args.set)
    questions_path, namespace = where["questions"], _QID_NAMESPACE[args.set]
    nodes = uber_chunks()
    by_sha = {sha(n.get_content()): n.node_id for n in nodes}
    corpus = {n.node_id: n.get_content() for n in nodes}
    queries: dict[str, str] = {}
    relevant: dict[str, list[str]] = {}
    missing = []
    for line_no, digest, question, qid in question_rows(questions_path, namespace):
        node_id = by_sha.get(digest)
        if node_id is None:
            missing.append(f"line {line_no}: {digest[:12]}")
            continue
        queries[qid] = question
        relevant[qid] = [node_id]
    if missing:
        raise SystemExit(
            f"{len(missing)} question(s) name a chunk that the current split of {PDF.name} "
            f"does not have (the splitter or the reader changed?): {', '.join(missing)}"
        )
    dataset = EmbeddingQAFinetuneDataset(queries=queries, corpus=corpus, relevant_docs=relevant)
    dataset, filter_report = apply_filters(dataset)
    dataset.save_json(str(where["out"]))
    print(
        f"{len(dataset.queries)} questions on {len(set(sum(dataset.relevant_docs.values(), [])))}"
        f" chunks; corpus {len(corpus)} chunks -> {where['out']}",
        file=sys.stderr,
    )
    meta = {
        "command": ".venv/bin/python benchmarks/make_reference.py " + " ".join(sys.argv[1:]),
        "source": PDF.name,
        "splitter": "load_nodes(chunk_size=1024, chunk_overlap=200)",
        "corpus_chunks": len(corpus),
        "questions_written": len(queries),
        "rule_filters": filter_report,
        "questions": len(dataset.queries),
        "relevant_chunks": len({d for ds in dataset.relevant_docs.values() for d in ds}),
    }
    if args.evaluate:
        meta["base_model"] = "all-MiniLM-L6-v2 (bundled, offline)"
        meta["base_model_scores"] = evaluate(dataset)
    where["meta"].write_text(json.dumps(meta, indent=2) + "\n")
    print(f"-> {where['meta']}", file=sys.stderr)


def question_rows(path: Path, namespace: uuid.UUID):
    """(line number, chunk sha256, question, stable question id) for each line of a questions
    JSONL; a question written twice for one chunk stops the run."""
    seen: set[str] = set()
    for line_no, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        row = json.loads(line)
        qid = str(uuid.uuid5(namespace, row["chunk_sha256"] + "\x1f" + row["question"]))
        if qid in seen:
            raise SystemExit(f"{path}: line {line_no} repeats an earlier question")
        seen.add(qid)
        yield line_no, row["chunk_sha256"], row["question"], qid


def apply_filters(dataset):
    """Drop questions that the synthetic-question rule filters reject (no round trip: that would
    tie the reference set to the model it is meant to score). Returns (dataset, report dict)."""
    if importlib.util.find_spec("llama_index.finetuning.generation.filters") is None:
        print("rule filters: llama_index/finetuning/generation/filters.py absent, skipped")
        return dataset, None
    from llama_index.finetuning.generation.filters import filter_pairs

    kept, report = filter_pairs(dataset, rules=True, round_trip_model=None)
    dropped = {qid: text for qid, text in dataset.queries.items() if qid not in kept.queries}
    print(f"rule filters: kept {report.kept} of {report.questions}, dropped {report.dropped}")
    for text in dropped.values():
        print(f"  dropped: {text}")
    return kept, {"kept": report.kept, "questions": report.questions, "dropped": report.dropped}


def evaluate(dataset) -> dict[str, float]:
    from llama_index.finetuning.evaluation import evaluate_embedding

    result = evaluate_embedding(dataset, "offline", top_k=[1, 5, 10])
    summary = {k: round(v, 4) for k, v in result.summary.items()}
    print(json.dumps(summary, indent=2))
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("chunks", help="write the worksheet of chunks to write questions from")
    p.add_argument("--out", type=Path, default=None, help="default /tmp/uber_<set>_worksheet.txt")
    p.set_defaults(func=cmd_chunks)
    p = sub.add_parser("assemble", help="questions jsonl -> EmbeddingQAFinetuneDataset JSON")
    p.add_argument("--evaluate", action="store_true", help="score the bundled MiniLM on it")
    p.set_defaults(func=cmd_assemble)
    for p in sub.choices.values():
        p.add_argument(
            "--set",
            choices=["reference", "report"],
            default="reference",
            help="reference: the seeded 160-chunk sample (one question each); report: the "
            "report body's other prose chunks (two each), for reporting only",
        )
    args = parser.parse_args()
    args.func(args)


if __name__ == "__main__":
    main()
