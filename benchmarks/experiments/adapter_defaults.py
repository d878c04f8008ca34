"""The adapter engine's epochs and batch size: which defaults retrieve best out of domain.

Reproduce:  flock /tmp/bench.lock .venv/bin/python benchmarks/experiments/adapter_defaults.py

`EmbeddingAdapterFinetuneEngine` with a linear adapter (what it trains when no adapter is
given) over the bundled all-MiniLM-L6-v2, at the engine's learning rate and hard negatives
(chosen by benchmarks/adapter.py), trained on every Lyft pair for each (epochs, batch size)
and three batch orders, and scored on Uber-select, the half of the Uber pairs that chooses
defaults (the split of benchmarks/adapter.py; Uber-report, the other half, is where that
script reports).
Training runs on cached embeddings, so each row takes seconds.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # benchmarks/adapter.py

from adapter import SHOWN, embedded, find, machine, ours, scores, seeded  # noqa: E402

from llama_index.embeddings.adapter import LinearLayer  # noqa: E402
from llama_index.finetuning import EmbeddingQAFinetuneDataset  # noqa: E402
from llama_index.finetuning.embeddings import adapter as engine_module  # noqa: E402
from llama_index.finetuning.resources import offline_base_model_path  # noqa: E402

EPOCHS = (1, 2, 4, 8, 16)
BATCH_SIZES = (10, 32)
SEEDS = (0, 1, 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(HERE / "results" / "adapter_defaults.md"))
    args = parser.parse_args()
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding

    paths = find(None, ("lyft", "train")), find(None, ("uber", "val"))
    train, val = (EmbeddingQAFinetuneDataset.from_json(p) for p in paths)
    select_ds, _ = val.split(0.5, seed=0)
    root = tempfile.mkdtemp(prefix="adapter-defaults-")
    minilm = HuggingFaceEmbedding(model_name=str(offline_base_model_path()), device="cpu")
    select = embedded(select_ds, minilm, root)

    import inspect

    signature = inspect.signature(engine_module.EmbeddingAdapterFinetuneEngine).parameters
    default = (signature["epochs"].default, signature["batch_size"].default)
    rows = [("untrained (= base model)", "", scores(None, select))]
    for epochs in EPOCHS:
        for batch_size in BATCH_SIZES:
            runs = []
            for seed in SEEDS:  # the seed orders the batches (the adapter starts as identity)
                adapter = seeded(lambda: LinearLayer(384, 384))
                ours(train, minilm, adapter, epochs, root, batch_size=batch_size, seed=seed)
                runs.append(scores(adapter, select))
            mean = {k: sum(r[k] for r in runs) / len(runs) for k in SHOWN}
            mark = " (engine default)" if (epochs, batch_size) == default else ""
            rows.append((f"{epochs}{mark}", str(batch_size), mean))
            print(rows[-1][:2], {k: round(mean[k], 4) for k in SHOWN}, flush=True)
    best = max(rows[1:], key=lambda r: r[2]["ndcg@10"])
    lines = [
        "## Adapter engine defaults: epochs and batch size",
        "",
        f"Linear adapter over all-MiniLM-L6-v2, lr {engine_module.DEFAULT_LR:g}, "
        f"{engine_module.DEFAULT_HARD_NEGATIVES} hard negatives, trained on {len(train)} Lyft "
        f"questions, scored on Uber-select ({len(select_ds)} questions / "
        f"{len(select_ds.corpus)} chunks); each row is the mean over seeds {SEEDS} (the batch "
        f"order). Machine: {machine()}.",
        "",
        "| epochs | batch size | " + " | ".join(SHOWN) + " |",
        "|---:|---:|" + "---:|" * len(SHOWN),
        *(f"| {e} | {b} | " + " | ".join(f"{s[k]:.4f}" for k in SHOWN) + " |" for e, b, s in rows),
        "",
        f"Best ndcg@10: {best[0].split()[0]} epochs, batch size {best[1]} ({best[2]['ndcg@10']:.4f}); the "
        f"engine's defaults are epochs={default[0]}, batch_size={default[1]}.",
        "",
        "Reproduce: `flock /tmp/bench.lock .venv/bin/python benchmarks/experiments/adapter_defaults.py`",
        "",
    ]
    Path(args.out).write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
