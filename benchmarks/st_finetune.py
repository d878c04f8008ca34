"""Finetuning MiniLM on Lyft 10-K pairs: the base model vs the 0.4 recipe vs ours, on Uber 10-K pairs.

Reproduce:  flock /tmp/bench.lock env HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/st_finetune.py
Defaults:   ... benchmarks/st_finetune.py --sweep --train-chunks 170   (one setting changed at a
            time; only the sweep runs, its table is kept in results/st_finetune_sweep.json and
            shown in the fragment the next plain run writes)

Training pairs: benchmarks/data/lyft_train.json, validation pairs: benchmarks/data/uber_val.json
(written by benchmarks/make_datasets.py with the offline SmolLM2 question writer). Every variant
starts from the bundled all-MiniLM-L6-v2, trains with the same epochs, batch size, seed and
max_seq_length, without the validation set (so that it cannot pick a checkpoint on the data it
is scored on), and is scored by ``evaluate_embedding`` through the served ``HuggingFaceEmbedding``.
The Uber pairs are split by chunk (``split(0.5, seed=0)``, as in benchmarks/adapter.py):
"Uber-select" is where the sweep chooses the defaults, "Uber-report" is where the main table is
measured, so no figure is reported on the data it was chosen on:

* **0.4 recipe**: MultipleNegativesRankingLoss on plain random batches, lr 2e-5, 10% warmup,
  weight decay 0.01, no hard negatives (what llama-index-finetuning 0.4 ran through ``fit``);
* **no-duplicates only**: ours without hard negatives (what the batch sampler alone gives);
* **ours**: the engine's defaults: no-duplicates batches + mined hard negatives.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
SWEEP_JSON = HERE / "results" / "st_finetune_sweep.json"

from llama_index.finetuning import EmbeddingQAFinetuneDataset  # noqa: E402
from llama_index.finetuning.embeddings import sentence_transformer as st  # noqa: E402
from llama_index.finetuning.evaluation import evaluate_embedding  # noqa: E402

METRICS = ("hit_rate@5", "mrr@10", "ndcg@10")
OLD_RECIPE = dict(
    hard_negatives=0, no_duplicates=False, learning_rate=2e-5, warmup_ratio=0.1, weight_decay=0.01
)
VARIANTS = {
    "0.4 recipe (MNRL, plain batches)": OLD_RECIPE,
    "no-duplicates batches only": dict(hard_negatives=0),
    "ours (no-duplicates + hard negatives)": {},
}
# one setting changed at a time, around the engine's defaults
SWEEP = [
    ("defaults", {}),
    ("learning_rate=2e-5", dict(learning_rate=2e-5)),
    ("learning_rate=1e-4", dict(learning_rate=1e-4)),
    ("hard_negatives=0", dict(hard_negatives=0)),
    ("negative_margin=None", dict(negative_margin=None)),
    ("batch_size=32", dict(batch_size=32)),
    ("epochs=3", dict(epochs=3)),
]


def first_chunks(ds: EmbeddingQAFinetuneDataset, n: int | None) -> EmbeddingQAFinetuneDataset:
    """The questions of the first ``n`` chunks (document order), with those chunks."""
    if not n or n >= len(ds.corpus):
        return ds
    keep = set(list(ds.corpus)[:n])
    return ds.subset([q for q, docs in ds.relevant_docs.items() if set(docs) <= keep])


def run(train, val, settings: dict, args, tmp: str, name: str) -> dict:
    settings = {
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "seed": args.seed,
        **settings,
    }
    engine = st.SentenceTransformersFinetuneEngine(
        train,
        model_id="offline",
        model_output_path=os.path.join(tmp, name),
        max_seq_length=args.max_seq_length,
        show_progress_bar=False,
        evaluation_steps=10**6,
        training_args={"save_strategy": "no"},  # no checkpoints: pairs/s measures training
        **settings,
    )
    started = time.perf_counter()
    engine.finetune()
    wall = time.perf_counter() - started
    scores = evaluate_embedding(val, engine.get_finetuned_model(), top_k=[5, 10], cache=False)
    row = {m: scores.summary[m] for m in METRICS}
    row["pairs/s"] = engine.train_metrics["train_samples_per_second"]
    row["wall s"] = wall
    print(name, settings, {k: round(v, 4) for k, v in row.items()}, flush=True)
    return row


def table(rows: dict[str, dict], first: str = "model") -> list[str]:
    cols = list(next(iter(rows.values())))
    lines = [f"| {first} | " + " | ".join(cols) + " |", "|---" + "|---:" * len(cols) + "|"]
    for name, row in rows.items():
        cells = [
            "-" if row[c] is None else f"{row[c]:.4f}" if c in METRICS else f"{row[c]:.1f}"
            for c in cols
        ]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return lines


def run_sweep(train, select, args) -> None:
    """One setting changed at a time around the engine's defaults, scored on Uber-select."""
    base = evaluate_embedding(select, "offline", top_k=[5, 10], cache=False).summary
    sweep = {
        "base (no training)": {m: base[m] for m in METRICS} | {"pairs/s": None, "wall s": None}
    }
    with tempfile.TemporaryDirectory() as tmp:
        for i, (name, settings) in enumerate(SWEEP):
            sweep[name] = run(train, select, settings, args, tmp, f"sweep-{i}")
    Path(args.sweep_json).write_text(
        json.dumps(
            {
                "command": " ".join(sys.argv[1:]),
                "train": f"{len(train.queries)} questions / {len(train.corpus)} chunks",
                "val": f"Uber-select, {len(select.queries)} questions / {len(select.corpus)} chunks",
                "epochs": args.epochs,
                "batch_size": args.batch_size,
                "seed": args.seed,
                "center": engine_defaults(),
                "machine": machine(),
                "rows": sweep,
            },
            indent=2,
        )
    )
    print(f"wrote {args.sweep_json}")


def engine_defaults() -> dict:
    """The engine's defaults that the sweep varies (its "defaults" row)."""
    import inspect

    params = inspect.signature(st.SentenceTransformersFinetuneEngine).parameters
    names = (
        "batch_size",
        "epochs",
        "learning_rate",
        "warmup_ratio",
        "hard_negatives",
        "negative_margin",
        "no_duplicates",
    )
    return {n: params[n].default for n in names}


def machine() -> str:
    import torch

    return (
        f"{platform.machine()}, {os.cpu_count()} CPU cores, torch {torch.__version__} "
        f"({torch.get_num_threads()} threads), no GPU, Python {platform.python_version()}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", default=str(DATA / "lyft_train.json"))
    parser.add_argument("--val", default=str(DATA / "uber_val.json"))
    parser.add_argument("--train-chunks", type=int, default=None, help="first N Lyft chunks")
    parser.add_argument("--val-chunks", type=int, default=None, help="first N Uber chunks")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=10)
    parser.add_argument("--max-seq-length", type=int, default=256)
    parser.add_argument("--seeds", type=int, nargs="+", default=[42])
    parser.add_argument("--sweep", action="store_true", help="only sweep the engine's defaults")
    parser.add_argument("--out", default=str(HERE / "results" / "st_finetune.md"))
    parser.add_argument("--sweep-json", default=str(SWEEP_JSON))
    args = parser.parse_args()
    args.seed = args.seeds[0]

    train = first_chunks(EmbeddingQAFinetuneDataset.from_json(args.train), args.train_chunks)
    val = first_chunks(EmbeddingQAFinetuneDataset.from_json(args.val), args.val_chunks)
    select, report = val.split(0.5, seed=0)
    print(
        f"train {len(train.queries)} questions / {len(train.corpus)} chunks; "
        f"Uber-select {len(select.queries)} / {len(select.corpus)}; "
        f"Uber-report {len(report.queries)} / {len(report.corpus)}",
        flush=True,
    )
    if args.sweep:
        run_sweep(train, select, args)
        return

    started = time.perf_counter()
    rows: dict[str, dict] = {}
    base = evaluate_embedding(report, "offline", top_k=[5, 10], cache=False).summary
    rows["base all-MiniLM-L6-v2"] = {m: base[m] for m in METRICS} | {
        "pairs/s": None,
        "wall s": None,
    }
    with tempfile.TemporaryDirectory() as tmp:
        for name, settings in VARIANTS.items():
            runs = []
            for seed in args.seeds:
                args.seed = seed
                runs.append(run(train, report, settings, args, tmp, f"{len(rows)}-{seed}"))
            rows[name] = {k: statistics.mean(r[k] for r in runs) for k in runs[0]}
    minutes = (time.perf_counter() - started) / 60

    old, ours = (
        rows["0.4 recipe (MNRL, plain batches)"],
        rows["ours (no-duplicates + hard negatives)"],
    )
    defaults = ", ".join(f"{k}={v}" for k, v in engine_defaults().items())
    lines = [
        "## Finetuning MiniLM: the 0.4 recipe vs ours",
        "",
        f"Train: {len(train.queries)} questions on {len(train.corpus)} Lyft 2021 10-K chunks "
        f"({Path(args.train).name}); scored on Uber-report: {len(report.queries)} questions on "
        f"{len(report.corpus)} Uber 2021 10-K chunks (half of {Path(args.val).name}, split by "
        f"chunk; the other half, Uber-select, chose the defaults). Base model: the bundled all-MiniLM-L6-v2. "
        f"Every variant: {args.epochs} epochs, batch size {args.batch_size}, max_seq_length "
        f"{args.max_seq_length}, seed(s) {', '.join(map(str, args.seeds))} (metrics are the mean "
        f"over seeds), no validation set during training. Ours = the engine's defaults "
        f"({defaults}). "
        f"Machine: {machine()}. Whole run: {minutes:.1f} min.",
        "",
        *table(rows),
        "",
        f"NDCG@10, ours - 0.4 recipe: {ours['ndcg@10'] - old['ndcg@10']:+.4f}; "
        f"training pairs/s, ours / 0.4 recipe: {ours['pairs/s'] / old['pairs/s']:.2f}x "
        "(a row with hard negatives encodes one more chunk per question). `wall s` is the whole "
        "`finetune()` call: loading, mining, training, saving.",
    ]
    if Path(args.sweep_json).exists():
        sweep = json.loads(Path(args.sweep_json).read_text())
        lines += [
            "",
            "### Choosing the defaults (`--sweep`: one setting changed at a time)",
            "",
            "The `defaults` row is the engine's defaults when the sweep ran: "
            + ", ".join(f"{k}={v}" for k, v in sweep["center"].items())
            + f". Train {sweep['train']}, val {sweep['val']}, {sweep['epochs']} epochs, batch size "
            f"{sweep['batch_size']}, seed {sweep['seed']}; {sweep['machine']}. "
            f"Reproduce: `.venv/bin/python benchmarks/st_finetune.py {sweep['command']}`.",
            "",
            *table(sweep["rows"], first="setting"),
        ]
    command = " ".join(["benchmarks/st_finetune.py", *sys.argv[1:]])
    lines += [
        "",
        f"Reproduce: `flock /tmp/bench.lock env HF_HUB_OFFLINE=1 .venv/bin/python {command}`",
    ]
    Path(args.out).write_text("\n".join(lines) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
