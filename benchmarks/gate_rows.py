"""The labelled gate rows and the gate's verdict on each: what gate.py and gate_languages.py share.

Example::

    from gate_rows import LABELS, gate_verdicts, read_rows

    verdicts = gate_verdicts(read_rows(LABELS))   # (text as the gate leaves it, reason or None)
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

from llama_index.finetuning import EmbeddingQAFinetuneDataset
from llama_index.finetuning.generation.filters import filter_pairs, rule_reason
from llama_index.finetuning.generation.parsing import PROMPTS

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
LABELS = DATA / "gate_questions.jsonl"


def read_rows(path: Path = LABELS) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def gate_verdicts(rows: list[dict], round_trip: Any = None) -> list[tuple[str, str | None]]:
    """(text as the gate leaves it, drop reason or None) for each row, one run at a time; with
    ``round_trip`` (an embedding model) the round trip at k=10 follows the rules."""
    corpora: dict[str, dict[str, str]] = {}
    for name in {r["corpus"] for r in rows}:
        corpora[name] = json.loads((DATA / name).read_text(encoding="utf-8"))["corpus"]
    verdicts: list[tuple[str, str | None]] = [("", None)] * len(rows)
    by_run: dict[tuple[str, str], list[int]] = defaultdict(list)
    for i, r in enumerate(rows):  # one run, one prompt, as a generation run has
        by_run[(r["run"], r.get("prompt", "default"))].append(i)
    for (run, prompt), members in by_run.items():
        template = PROMPTS[prompt]
        if (DATA / f"{run}.json").exists() and run not in ("uber_reference", "uber_report"):
            ds = EmbeddingQAFinetuneDataset.from_json(DATA / f"{run}.json")  # the whole run
            queries, relevant = dict(ds.queries), dict(ds.relevant_docs)
            ids = {i: rows[i]["query_id"] for i in members}
        else:
            queries, relevant, ids = {}, {}, {}
            for i in members:
                ids[i] = qid = f"row-{i}"
                queries[qid], relevant[qid] = rows[i]["question"], [rows[i]["chunk_id"]]
        corpus = corpora[rows[members[0]]["corpus"]]
        docs = {d for ds_ in relevant.values() for d in ds_}
        dataset = EmbeddingQAFinetuneDataset(
            queries=queries, corpus={d: corpus[d] for d in docs}, relevant_docs=relevant
        )
        ruled, _ = filter_pairs(dataset, prompt_tmpl=template)
        kept = ruled
        if round_trip is not None:
            kept, _ = filter_pairs(dataset, prompt_tmpl=template, round_trip_model=round_trip)
        for i in members:
            qid = ids[i]
            if qid in kept.queries:
                verdicts[i] = (kept.queries[qid], None)
            elif qid in ruled.queries:
                verdicts[i] = (ruled.queries[qid], "round_trip")
            else:
                chunk = corpus[rows[i]["chunk_id"]]
                why = rule_reason(queries[qid], chunk, template)
                verdicts[i] = (queries[qid], why or "template_repeat")
    return verdicts


def share(n: int, of: int) -> str:
    return f"{n}/{of} ({100 * n / of:.1f}%)" if of else "0/0"


def wilson(n: int, of: int) -> str:
    """The 95% Wilson interval of a share, in percent."""
    if not of:
        return "-"
    z, p = 1.96, n / of
    centre = (p + z * z / (2 * of)) / (1 + z * z / of)
    half = z * ((p * (1 - p) / of + z * z / (4 * of * of)) ** 0.5) / (1 + z * z / of)
    return f"[{100 * max(0.0, centre - half):.1f}, {100 * min(1.0, centre + half):.1f}]"
