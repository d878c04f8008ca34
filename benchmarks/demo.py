"""`make demo`, timed: the whole tutorial on the 10-Ks with the offline defaults, in one command.

Reproduce:  flock /tmp/bench.lock env HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/demo.py
Quick look: ... benchmarks/demo.py --max-chunks 20 --out /tmp/demo_quick.md

Runs exactly what `make demo` runs (`llamaindex-finetune run --train lyft_2021.pdf --val
uber_2021.pdf`, offline LLM SmolLM2-135M, bundled all-MiniLM-L6-v2, every default) into a
fresh folder, passes its output through, and writes benchmarks/results/demo.md: the time of
each stage (read from the command's own stage lines) and the comparison table it printed
(read from the report's comparison.json). The baseline the table compares with is the base
model, on the same validation pairs, in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
PDFS = HERE.parent.parent / "shared" / "data" / "10k"
SHOWN = ["hit_rate@1", "hit_rate@5", "hit_rate@10", "mrr@10", "ndcg@10"]
STAGE = re.compile(r"\[(\d)/5, (\d+) s\] (.*)")


def machine() -> str:
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (
        f"{platform.machine()}, {os.cpu_count()} CPU cores (1-min load {load:.1f} at the start), "
        f"no GPU, Python {platform.python_version()}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-chunks", type=int, default=None, help="the demo's quick-look option")
    parser.add_argument("--out", default=str(HERE / "results" / "demo.md"))
    args = parser.parse_args()

    where = machine()
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=HERE, text=True,
                            capture_output=True).stdout.strip() or "unknown"  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "demo_output"
        command = [
            "llamaindex-finetune", "run",
            "--train", str(PDFS / "lyft_2021.pdf"), "--val", str(PDFS / "uber_2021.pdf"),
            "--output-dir", str(out),
        ]  # fmt: skip
        if args.max_chunks:
            command += ["--max-chunks", str(args.max_chunks)]
        env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
        argv = [sys.executable, "-m", "llama_index.finetuning.cli", *command[1:]]
        started = time.perf_counter()
        proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True, bufsize=1)  # fmt: skip
        stages, pairs = [], ""
        for line in proc.stdout:
            sys.stdout.write(line)
            if match := STAGE.search(line):
                stages.append((int(match[1]), float(match[2]), match[3]))
            if line.startswith("pairs:"):
                pairs = line.strip()
        if proc.wait() != 0:
            raise SystemExit(f"the demo failed with exit status {proc.returncode}")
        total = time.perf_counter() - started
        table = json.loads((out / "report" / "comparison.json").read_text())["table"]
        train = json.loads((out / "train_dataset.json").read_text())
        val = json.loads((out / "val_dataset.json").read_text())

    ends = [s[1] for s in stages[1:]] + [total]
    scope = f"--max-chunks {args.max_chunks}" if args.max_chunks else "every chunk"
    lines = [
        "## `make demo`: the whole job offline, timed",
        "",
        f"`llamaindex-finetune run` on lyft_2021.pdf (train) and uber_2021.pdf (validation), "
        f"{scope}, offline defaults (SmolLM2-135M writes the questions, all-MiniLM-L6-v2 is the "
        f"base model). {pairs.capitalize()} ({len(train['corpus'])} train chunks, "
        f"{len(val['corpus'])} validation chunks). Code at commit {commit}. Machine: {where}. "
        f"**Total: {total / 60:.1f} min.**",
        "",
        "| model (scored on the Uber pairs) | " + " | ".join(SHOWN) + " |",
        "|---" + "|---:" * len(SHOWN) + "|",
    ]
    base = table["base"]
    for name, row in table.items():
        cells = [
            f"{row[m]:.4f}" if name == "base" else f"{row[m]:.4f} ({row[m] - base[m]:+.4f})"
            for m in SHOWN
        ]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += ["", "| stage | minutes |", "|---|---:|"]
    for (_, start, text), end in zip(stages, ends, strict=True):
        lines.append(f"| {text} | {(end - start) / 60:.1f} |")
    gain = table["finetuned"]["ndcg@10"] - base["ndcg@10"]
    lines += [
        "",
        f"NDCG@10, finetuned - base: {gain:+.4f} "
        f"({'finetuned above base' if gain > 0 else 'NOT above base'}).",
        "",
        "Reproduce: `make demo` (the same command, into demo_output/), or timed into this file: "
        "`flock /tmp/bench.lock env HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/demo.py"
        + (f" --max-chunks {args.max_chunks}" if args.max_chunks else "")
        + "`",
    ]
    Path(args.out).write_text("\n".join(lines) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
