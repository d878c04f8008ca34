"""The quality gate measured as a classifier: good questions kept, junk dropped, per rule.

Reproduce (from the repository root, HF_HUB_OFFLINE=1; ~2 min on 2 busy cores, most of it
the base model embedding the Uber corpus for the source-phrase retrieval check):

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/gate.py          # -> benchmarks/results/gate.md
    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/gate.py build    # rewrite the seeded rows
    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/gate.py --before de9afaa  # + that commit's rules

The page also reports the gate on the multilingual set, per language (benchmarks/gate_languages.py).

The labelled set is ``benchmarks/data/gate_questions.jsonl`` (datasheet beside it,
``gate_questions.md``): the Uber reference and report questions (good), seeded rewrites of
a sample of them carrying the source phrases hosted LLMs write (good), rewrites and junk
written by hand, and the bundled writer's (SmolLM2-135M) questions labelled by hand (good,
junk, or ``weak``: on the chunk's words but meaningless or false, counted in neither target).
Every row names its chunk (corpus file + chunk id) and a ``run``: the gate sees one run's
questions together, as a generation run gives them, so that ``template_repeat`` counts
copies across that run's chunks (run ``lyft_train`` is the whole of lyft_train.json, of
which a sample is labelled). Rows are split by chunk (a third held out, by a hash of the
chunk id): the rules were tuned looking at the ``tune`` part only; both parts are reported.

The gate runs with its defaults (``filter_pairs``: rules on, the default prompt's echo
check, no round trip). For the rewrites whose source phrase the gate cleans, the bundled
base model (all-MiniLM-L6-v2) ranks the question's chunk among the whole Uber filing with
the phrase left in and cleaned: the measurement behind what the gate cuts.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import os
import platform
import random
import re
import sys
import time
from collections import Counter
from typing import Any

from gate_rows import DATA, HERE, LABELS, gate_verdicts, read_rows, share, wilson  # noqa: F401

from llama_index.finetuning import EmbeddingQAFinetuneDataset

OUT = HERE / "results" / "gate.md"
SEEDED = ("uber_reference", "uber_report", "rewrite-seeded")  # rows `build` writes
REWRITES_PER_KIND = 30
PARTS = ("tune", "holdout", "fresh", "all")


def split_of(corpus: str, chunk_id: str) -> str:
    digest = hashlib.sha256(f"{corpus}/{chunk_id}".encode()).hexdigest()
    return "holdout" if int(digest, 16) % 3 == 0 else "tune"


# ---- build: the rows written by script -----------------------------------------------------

_OPENERS = set(
    "what which how why when where who whom whose is are was were does do did has have had can "
    "could should would will might may much many large long often big far by in over under to "
    "for from at on with after before during".split()
)


def _lower_first(question: str) -> str:
    first = question.split()[0]
    return question[0].lower() + question[1:] if first.lower() in _OPENERS else question


def _topic(question: str) -> str:
    words = question.rstrip("?").split()
    while len(words) > 3 and words[0].lower() in _OPENERS:
        words = words[1:]
    return " ".join(words)


REWRITES = {  # the phrasings of issue 19 items 1-2
    "according_to": lambda q: "According to the document, " + _lower_first(q),
    "based_on": lambda q: "Based on the context, " + _lower_first(q),
    "as_mentioned": lambda q: q.rstrip("?") + ", as mentioned in the text?",
    "document_states": lambda q: f"What does the document state about {_topic(q)}?",
    "mentioned_in": lambda q: q.rstrip("?") + " mentioned in the document?",
}


def build() -> None:
    """Rewrite the scripted rows of the labelled set; hand-labelled rows are kept as they are."""
    kept = [r for r in read_rows() if r["source"] not in SEEDED] if LABELS.exists() else []
    rows = []
    for name in ("uber_reference", "uber_report"):
        ds = EmbeddingQAFinetuneDataset.from_json(DATA / f"{name}.json")
        for qid, question in ds.queries.items():
            chunk = ds.relevant_docs[qid][0]
            rows.append(
                row(question, "uber_reference.json", chunk, "good", "reference", name, name)
            )
    originals = [r for r in rows if r["source"] in ("uber_reference", "uber_report")]
    rng, used = random.Random(19), set()
    for kind, rewrite in REWRITES.items():
        pool = [r for r in originals if r["question"] not in used]
        if kind == "mentioned_in":  # "How ... mentioned in the document?" is not English
            pool = [r for r in pool if re.match(r"(what|which)\b", r["question"], re.I)]
        for original in rng.sample(pool, REWRITES_PER_KIND):
            used.add(original["question"])
            rows.append(
                row(
                    rewrite(original["question"]), original["corpus"], original["chunk_id"],
                    "good", kind, "rewrite-seeded", "rewrite-seeded", original["question"],
                )
            )  # fmt: skip
    with open(LABELS, "w", encoding="utf-8") as f:
        for r in rows + kept:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    print(f"wrote {len(rows)} scripted rows and kept {len(kept)} hand rows in {LABELS}")


def row(question, corpus, chunk_id, label, kind, source, run, original=None, qid=None) -> dict:
    out = {
        "question": question, "corpus": corpus, "chunk_id": chunk_id, "label": label,
        "kind": kind, "source": source, "run": run, "split": split_of(corpus, chunk_id),
    }  # fmt: skip
    if original is not None:
        out["original"] = original
    if qid is not None:
        out["query_id"] = qid
    return out


# ---- measure -------------------------------------------------------------------------------


def classifier_tables(rows: list[dict], configs: dict[str, list]) -> list[str]:
    lines = [
        "| gate | part | good kept | 95% interval | junk dropped | 95% interval | weak kept |",
        "|---|---|---:|---|---:|---|---:|",
    ]
    for (config, verdicts), part in itertools.product(configs.items(), PARTS):
        idx = [i for i, r in enumerate(rows) if part == "all" or r["split"] == part]
        good = [i for i in idx if rows[i]["label"] == "good"]
        junk = [i for i in idx if rows[i]["label"] == "junk"]
        weak = [i for i in idx if rows[i]["label"] == "weak"]
        g = sum(verdicts[i][1] is None for i in good)
        j = sum(verdicts[i][1] is not None for i in junk)
        w = sum(verdicts[i][1] is None for i in weak)
        lines.append(
            f"| {config} | {part} | {share(g, len(good))} | {wilson(g, len(good))} | "
            f"{share(j, len(junk))} | {wilson(j, len(junk))} | {share(w, len(weak))} |"
        )
    return lines


def per_kind_table(rows: list[dict], verdicts: list, label: str) -> list[str]:
    """For each kind of ``label`` rows: how many, the share the gate got right, by which rule."""
    lines = [
        f"| {label} kind | rows | {'dropped' if label == 'junk' else 'kept'} | "
        "cleaned | drop reasons |",
        "|---|---:|---:|---:|---|",
    ]
    kinds = Counter(r["kind"] for r in rows if r["label"] == label)
    for kind, n in kinds.most_common():
        idx = [i for i, r in enumerate(rows) if r["label"] == label and r["kind"] == kind]
        right = sum((verdicts[i][1] is None) == (label != "junk") for i in idx)
        cleaned = sum(verdicts[i][1] is None and verdicts[i][0] != rows[i]["question"] for i in idx)
        reasons = Counter(verdicts[i][1] for i in idx if verdicts[i][1] is not None)
        why = ", ".join(f"{k} {v}" for k, v in reasons.most_common()) or "-"
        lines.append(f"| {kind} | {n} | {share(right, n)} | {cleaned} | {why} |")
    return lines


def per_rule_table(rows: list[dict], verdicts: list) -> list[str]:
    """For each rule: the junk it dropped and the good (and weak) it dropped."""
    lines = ["| rule | junk dropped | good dropped | weak dropped |", "|---|---:|---:|---:|"]
    from llama_index.finetuning.generation.filters import RULES

    for rule in RULES:
        counts = Counter(rows[i]["label"] for i, v in enumerate(verdicts) if v[1] == rule)
        lines.append(f"| {rule} | {counts['junk']} | {counts['good']} | {counts['weak']} |")
    return lines


def retrieval_check(rows: list[dict], verdicts: list) -> tuple[list[str], dict]:
    """The base model's rank of each cleaned rewrite's chunk, phrase left in vs cleaned."""
    from sentence_transformers import SentenceTransformer

    from llama_index.finetuning.resources import offline_base_model_path

    idx = [
        i
        for i, r in enumerate(rows)
        if r["source"].startswith("rewrite") and r["corpus"] == "uber_reference.json"
        and verdicts[i][1] is None and verdicts[i][0] != r["question"]
    ]  # fmt: skip
    corpus = json.loads((DATA / "uber_reference.json").read_text(encoding="utf-8"))["corpus"]
    ids = list(corpus)
    model = SentenceTransformer(str(offline_base_model_path()), device="cpu")
    docs = model.encode([corpus[d] for d in ids], batch_size=32, normalize_embeddings=True)

    def ranks(texts: list[str], chunk_ids: list[str]) -> list[int]:
        q = model.encode(texts, batch_size=64, normalize_embeddings=True)
        scores = q @ docs.T
        out = []
        for s, c in zip(scores, chunk_ids, strict=True):
            out.append(int((s > s[ids.index(c)]).sum()) + 1)
        return out

    chunk_ids = [rows[i]["chunk_id"] for i in idx]
    left = ranks([rows[i]["question"] for i in idx], chunk_ids)
    cleaned = ranks([verdicts[i][0] for i in idx], chunk_ids)
    lines = [
        "| rewrite kind | part | rows | MRR@10 phrase left in | MRR@10 cleaned | "
        "cleaned better / worse |",
        "|---|---|---:|---:|---:|---:|",
    ]
    mrr = lambda rs: sum(1 / r for r in rs if r <= 10) / len(rs)  # noqa: E731
    summary = {}
    for kind in sorted({rows[i]["kind"] for i in idx}):
        for part in ("tune", "holdout", "fresh"):
            sel = [
                k for k, i in enumerate(idx) if rows[i]["kind"] == kind and rows[i]["split"] == part
            ]
            if not sel:
                continue
            a, b = [left[k] for k in sel], [cleaned[k] for k in sel]
            better = sum(y < x for x, y in zip(a, b, strict=True))
            worse = sum(y > x for x, y in zip(a, b, strict=True))
            summary[(kind, part)] = (mrr(a), mrr(b))
            lines.append(
                f"| {kind} | {part} | {len(sel)} | {mrr(a):.3f} | {mrr(b):.3f} | {better} / {worse} |"
            )
    for part in ("tune", "holdout", "fresh"):
        sel = [k for k, i in enumerate(idx) if rows[i]["split"] == part]
        a, b = [left[k] for k in sel], [cleaned[k] for k in sel]
        low, high = bootstrap_diff(a, b)
        lines.append(
            f"| all kinds | {part} | {len(sel)} | {mrr(a):.3f} | {mrr(b):.3f} "
            f"(difference [{low:+.3f}, {high:+.3f}]) | "
            f"{sum(y < x for x, y in zip(a, b, strict=True))} / "
            f"{sum(y > x for x, y in zip(a, b, strict=True))} |"
        )
    return lines, summary


def bootstrap_diff(left: list[int], cleaned: list[int], n: int = 2000) -> tuple[float, float]:
    """95% paired bootstrap interval of MRR@10(cleaned) - MRR@10(left in)."""
    pairs = zip(left, cleaned, strict=True)
    rr = [(1 / y if y <= 10 else 0.0) - (1 / x if x <= 10 else 0.0) for x, y in pairs]
    rng = random.Random(0)
    means = sorted(sum(rng.choices(rr, k=len(rr))) / len(rr) for _ in range(n))
    return means[int(0.025 * n)], means[int(0.975 * n) - 1]


def base_embedding() -> Any:
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding

    from llama_index.finetuning.resources import offline_base_model_path

    return HuggingFaceEmbedding(model_name=str(offline_base_model_path()), device="cpu")


def measure(args: argparse.Namespace) -> None:
    started = time.perf_counter()
    rows = read_rows()
    verdicts = gate_verdicts(rows)
    configs = {"rules (library default)": verdicts}
    if not args.no_round_trip:
        configs["rules + round trip (CLI default)"] = gate_verdicts(rows, base_embedding())
    labels = Counter(r["label"] for r in rows)
    sources = Counter(r["source"] for r in rows)
    parts = [
        "## Quality gate as a classifier (`benchmarks/gate.py`)",
        "",
        f"`benchmarks/data/gate_questions.jsonl`: {len(rows)} labelled questions "
        f"({labels['good']} good, {labels['junk']} junk, {labels['weak']} weak; by source: "
        + ", ".join(f"{k} {v}" for k, v in sorted(sources.items()))
        + "; datasheet: `benchmarks/data/gate_questions.md`). The gate as "
        "`generate_qa_embedding_pairs` runs it by default (rules, the writer's prompt for "
        "echoes, no round trip), and as the CLI's `generate` does (the round trip through the "
        "bundled base model at k=10 after the rules). Parts: `tune` (the rules were tuned on "
        "its errors), `holdout` (a third of the chunks, by hash) and `fresh` (labelled after "
        "the rules were frozen); the datasheet says which errors of the last two were seen and "
        "what changed after. Targets (issue 19): >= 98% of good kept, >= 90% of junk dropped. "
        "Weak questions (on the chunk's words, but meaningless or false) count in neither. "
        "The round trip ranks among the chunks of the labelled run only (a real run searches "
        "all its chunks, which can only make it drop more).",
        "",
        *classifier_tables(rows, configs),
        "",
        "Per kind of question, rules only (kept = right for good and weak, dropped = right "
        "for junk; cleaned = kept with a source phrase cut off):",
        "",
        *per_kind_table(rows, verdicts, "good"),
        "",
        *per_kind_table(rows, verdicts, "junk"),
        "",
        *per_kind_table(rows, verdicts, "weak"),
        "",
        "Per rule, rules only (all parts):",
        "",
        *per_rule_table(rows, verdicts),
        "",
    ]
    wrong = [
        (r, v)
        for r, v in zip(rows, verdicts, strict=True)
        if (r["label"] == "good" and v[1] is not None) or (r["label"] == "junk" and v[1] is None)
    ]
    if wrong:
        parts += ["Every error of the rules (label, part, kind: verdict, question):", ""]
        parts += [
            f"- {r['label']} ({r['split']}, {r['kind']}): {v[1] or 'kept'}: {r['question']!r}"
            for r, v in wrong
        ]
        parts.append("")
    from gate_languages import language_sections  # the multilingual set, and --before

    parts += language_sections(rows, verdicts, args.before)
    if not args.no_retrieval:
        lines, _ = retrieval_check(rows, verdicts)
        parts += [
            "What cleaning does to retrieval: the bundled base model (all-MiniLM-L6-v2) ranks "
            "each cleaned rewrite's chunk among the whole Uber filing (412 chunks), with the "
            "source phrase left in and cleaned off (MRR@10; rows where the gate changed the "
            'text). "What ... are mentioned in the document?" (the phrase as the verb) is '
            "left as written, so it is not among these rows. The last rows pool every kind, "
            "with the 95% paired bootstrap interval of the difference.",
            "",
            *lines,
            "",
        ]
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    parts += [
        f"Machine: {platform.machine()}, {os.cpu_count()} CPU cores shared with other jobs "
        f"(1-min load {load:.1f}); {time.perf_counter() - started:.0f} s. Reproduce: "
        "`HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/gate.py`.",
        "",
    ]
    OUT.write_text("\n".join(parts), encoding="utf-8")
    print("\n".join(parts))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("step", nargs="?", default="measure", choices=("measure", "build"))
    parser.add_argument("--no-retrieval", action="store_true", help="skip the base-model check")
    parser.add_argument("--no-round-trip", action="store_true", help="rules only")
    parser.add_argument(
        "--before", default=None, help="a commit whose rules to measure beside the current ones"
    )
    args = parser.parse_args()
    if args.step == "build":
        build()
    else:
        measure(args)


if __name__ == "__main__":
    sys.exit(main())
