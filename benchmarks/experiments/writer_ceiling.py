"""How far SmolLM2's questions can take the finetuned model: the gain with more of its pairs.

Reproduce (a quiet 2-core machine; about 15 min):

    flock /tmp/bench.lock env HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/experiments/writer_ceiling.py

`make demo` has minutes for the bundled writer; this asks what it would give with all the time
in the world. ``benchmarks/data/lyft_train.json`` holds SmolLM2-135M's questions for every
chunk of the Lyft 2021 10-K (about an hour of writing, see its ``.meta.json``). They pass the
quality gate (rules + round trip through the base model, k=10, as generation applies it);
all-MiniLM-L6-v2 is finetuned with the engine defaults (no validation set: nothing is chosen)
on a random part of the kept pairs and on all of them, with several seeds (a seed draws the
part and seeds the training), and every model is scored on the Uber query sets no writer of
this package wrote: the reference set (``uber_reference.json``) and, where it exists, the
report set (``uber_report.json``), each with the base model in the same run. If the gain
stops growing with the pairs, more of this writer's questions cannot reach a larger one.
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCH = HERE.parent  # benchmarks/: the shared data sets and writers.py
sys.path.insert(0, str(BENCH))

from llama_index.embeddings.huggingface import HuggingFaceEmbedding  # noqa: E402
from writers import finetune, machine  # noqa: E402

from llama_index.finetuning import EmbeddingQAFinetuneDataset  # noqa: E402
from llama_index.finetuning.evaluation import compare  # noqa: E402
from llama_index.finetuning.generation.filters import filter_pairs  # noqa: E402
from llama_index.finetuning.resources import offline_base_model_path  # noqa: E402

PAIRS = BENCH / "data" / "lyft_train.json"
QUERY_SETS = {
    "reference": BENCH / "data" / "uber_reference.json",
    "report": BENCH / "data" / "uber_report.json",
}


def part(ds: EmbeddingQAFinetuneDataset, size: int, seed: int) -> EmbeddingQAFinetuneDataset:
    """``size`` seeded queries with the whole corpus (``subset`` would keep only their chunks,
    and the engine mines its hard negatives from the corpus)."""
    picked = random.Random(seed).sample(sorted(ds.queries), min(size, len(ds.queries)))
    return EmbeddingQAFinetuneDataset(
        queries={q: ds.queries[q] for q in picked},
        corpus=ds.corpus,
        relevant_docs={q: ds.relevant_docs[q] for q in picked},
        mode=ds.mode,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[40, 0], help="0: all kept")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--out", default=str(HERE / "results" / "writer_ceiling.md"))
    args = parser.parse_args()
    where = machine()
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=HERE, text=True,
                            capture_output=True).stdout.strip()  # fmt: skip

    raw = EmbeddingQAFinetuneDataset.from_json(PAIRS)
    base_path = str(offline_base_model_path())
    kept, report = filter_pairs(
        raw, round_trip_model=HuggingFaceEmbedding(model_name=base_path), round_trip_top_k=10
    )
    models: dict[str, str] = {"base": base_path}
    rows: list[tuple[str, int, list[str]]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            n = len(kept.queries) if size == 0 else min(size, len(kept.queries))
            names = []
            for seed in range(args.seeds):
                started = time.perf_counter()
                name = f"{n} pairs, seed {seed}"
                models[name] = finetune(part(kept, n, seed), Path(tmp) / f"{n}_{seed}", 42 + seed)
                names.append(name)
                print(f"{name}: {time.perf_counter() - started:.0f} s", flush=True)
            rows.append((f"{n} of the {len(kept.queries)} kept", n, names))
        query_sets = {
            label: EmbeddingQAFinetuneDataset.from_json(path)
            for label, path in QUERY_SETS.items()
            if path.exists()
        }
        scored = {
            label: compare(queries, models, top_k=[1, 5, 10], baseline="base")
            for label, queries in query_sets.items()
        }

    lines = [
        "## How far SmolLM2's questions can take the finetuned model",
        "",
        f"SmolLM2-135M's questions on every chunk of the Lyft 2021 10-K "
        f"(`benchmarks/data/lyft_train.json`: {len(raw.queries)} questions); the quality gate "
        f"keeps {len(kept.queries)} (dropped: {dict(report.dropped)}). all-MiniLM-L6-v2 is "
        f"finetuned with the engine defaults on a seeded random part of the kept pairs, "
        f"{args.seeds} seeds each (a seed draws the part and seeds the training; the whole set "
        f"differs only in training). NDCG@10 gain over the base model, [95% paired bootstrap "
        f"interval], on each Uber query set. Code at {commit}. Machine: {where}.",
        "",
        "| training pairs | "
        + " | ".join(f"{label}: gain, each seed (mean)" for label in scored)
        + " |",
        "|---|" + "---|" * len(scored),
    ]
    means: dict[str, list[float]] = {label: [] for label in scored}
    for label_row, _, names in rows:
        cells = []
        for label, comparison in scored.items():
            diffs = [comparison.differences(name, ["ndcg@10"])["ndcg@10"] for name in names]
            mean = sum(d.difference for d in diffs) / len(diffs)
            means[label].append(mean)
            each = " / ".join(f"{d.difference:+.4f} [{d.low:+.4f}, {d.high:+.4f}]" for d in diffs)
            cells.append(f"{each} ({mean:+.4f})")
        lines.append(f"| {label_row} | " + " | ".join(cells) + " |")
    bases = ", ".join(
        f"{label} {comparison.table.loc['base', 'ndcg@10']:.4f} "
        f"({len(query_sets[label].queries)} queries)"
        for label, comparison in scored.items()
    )
    best = max(max(v) for v in means.values())
    lines += [
        "",
        f"Base model NDCG@10: {bases}. The largest mean gain in this table is {best:+.4f}, "
        + ("below" if best < 0.05 else "at or above")
        + " the +0.05 that issue 11 asks of `make demo`; "
        + (
            "the gain does not grow from the smaller part to all kept pairs, so more of this "
            "writer's questions do not reach it."
            if all(v[-1] <= v[0] for v in means.values())
            else "the gain grows with the pairs on at least one set."
        ),
        "",
        "Reproduce: `flock /tmp/bench.lock env HF_HUB_OFFLINE=1 .venv/bin/python "
        "benchmarks/experiments/writer_ceiling.py`",
    ]
    Path(args.out).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
