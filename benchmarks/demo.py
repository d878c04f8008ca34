"""`make demo`, timed: the whole job offline in one command, reported on questions that chose nothing.

Reproduce (a quiet machine):  flock /tmp/bench.lock env HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/demo.py
Five runs (the README's):      ... benchmarks/demo.py --runs 5      (--more adds runs to the series)
Another sample size:          ... benchmarks/demo.py --demo-args "--max-chunks 40 --num-questions 1 --test benchmarks/data/uber_report.json"

Runs exactly what `make demo` runs (`llamaindex-finetune run` on the Lyft 2021 10-K with the
Makefile's DEMO_VAL and DEMO_ARGS, the bundled SmolLM2-135M and all-MiniLM-L6-v2) into a
fresh folder, from the repository root, and writes benchmarks/results/demo.md with:

* the time of each stage (from the command's own stage lines) and the total;
* the table the demo prints: with the Makefile's settings, computed on the report set
  benchmarks/data/uber_report.json (Uber 10-K queries no writer of this package wrote,
  searched against all 412 Uber chunks; they chose nothing), with 95% paired bootstrap
  intervals over queries and wins/losses against the base model; beside it the same models
  on the validation questions that chose the best checkpoint and adapter epoch (the
  reference set benchmarks/data/uber_reference.json; how much scoring on them would flatter
  the gain). With other --val / --test arguments the sets are the run's, as it prints;
* the question counts and what the quality gate dropped.

With ``--runs N`` the command runs N times, each from a fresh folder (the writer's questions
vary by run), and demo.md opens with every run's gain and interval on the report set, how
many of the N gained beyond noise (the finetuned model's interval above 0), and the median
run's table for the README; the median run follows in full. Each run is kept in demo.json
as it ends, so a series cut short keeps its runs.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from writers import question_quality

from llama_index.finetuning import EmbeddingQAFinetuneDataset
from llama_index.finetuning.cli.parser import build_parser
from llama_index.finetuning.evaluation import compare

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
PDFS = REPO.parent / "shared" / "data" / "10k"
SHOWN = ["hit_rate@1", "hit_rate@5", "mrr@10", "ndcg@10"]
STAGE = re.compile(r"\[(\d)/(\d), (\d+) s\] (.*)")
MODELS = ["base", "finetuned", "adapter"]


def machine() -> str:
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (
        f"{platform.machine()}, {os.cpu_count()} CPU cores (1-min load {load:.1f} at the start), "
        f"no GPU, Python {platform.python_version()}"
    )


def makefile_value(name: str) -> str:
    """A ``NAME ?= value`` line of the Makefile (DEMO_ARGS, DEMO_VAL)."""
    text = (REPO / "Makefile").read_text()
    return re.search(rf"^{name} \?= (.*)$", text, re.MULTILINE)[1].strip()


def table_lines(comparison, label: str) -> list[str]:
    lines = [
        f"| model ({label}) | "
        + " | ".join(SHOWN)
        + " | NDCG@10 gain [95% CI] | wins/losses/ties |",
        "|---" + "|---:" * len(SHOWN) + "|---|---:|",
    ]
    for name in comparison.table.index:
        row = comparison.table.loc[name]
        cells = [f"{row[m]:.4f}" for m in SHOWN]
        d = comparison.differences(name, ["ndcg@10"]).get("ndcg@10")
        if d is None:
            gain, wlt = "-", "-"
        else:
            mark = "" if not d.contains_zero else " (interval holds 0)"
            gain = f"{d.difference:+.4f} [{d.low:+.4f}, {d.high:+.4f}]{mark}"
            wlt = f"{d.wins}/{d.losses}/{d.ties}"
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {gain} | {wlt} |")
    return lines


def target_lines(train, asked_chunks: int, demo_args: str, total: float, on_report) -> list[str]:
    """Issue 11's targets for the demo, as this run met them or not."""
    run_args = ["run", "--train", "-", "--val", "-", *shlex.split(demo_args)]
    asked = build_parser().parse_args(run_args).num_questions  # the CLI's own default
    quality = question_quality(train, asked_chunks, asked)
    gain = on_report.differences("finetuned", ["ndcg@10"])["ndcg@10"].difference
    checks = [
        ("make demo <= 15 min", f"{total / 60:.1f} min", total <= 15 * 60),
        (
            f">= 95% of the {asked_chunks} training chunks asked get {asked} kept question(s)",
            f"{quality['chunks_with_all']:.0%}",
            quality["chunks_with_all"] >= 0.95,
        ),
        (
            ">= 90% of kept questions share a content word with their chunk",
            f"{1 - quality['off_topic']:.0%}",
            quality["off_topic"] <= 0.10,
        ),
        (
            "no question text on more than 2 chunks",
            f"{quality['repeated']:.0%} are",
            (quality["repeated"] == 0),
        ),
        ("finetuned minus base NDCG@10 >= +0.05 on the report set", f"{gain:+.4f}", gain >= 0.05),
    ]
    return [
        "| issue 11 target | this run | met |",
        "|---|---|---|",
        *(f"| {what} | {value} | {'yes' if met else 'no'} |" for what, value, met in checks),
        "",
    ]


def run_sets(out: Path) -> tuple[Path, Path, str]:
    """(report set, selection set, where the report set comes from), as the run recorded them."""
    record = json.loads((out / "run.json").read_text())
    loaded = record.get("loaded", {})
    if (out / "val_report.json").exists():  # no --test: the val pairs were split by chunk
        report, select = out / "val_report.json", out / "val_select.json"
    else:
        report = Path(loaded["test"]["path"]) if "test" in loaded else out / "test_dataset.json"
        select = Path(loaded["val"]["path"]) if "val" in loaded else out / "val_dataset.json"
    # a loaded set's path is as given on the command line, which ran in REPO
    return REPO / report, REPO / select, record["sets"]["report"]["source"]


def one_run(demo_args: str, demo_val: str) -> dict:
    """``make demo``'s command once, into a fresh folder: its page section and its figures."""
    where = machine()
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=HERE, text=True,
                            capture_output=True).stdout.strip() or "unknown"  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "demo_output"
        argv = [
            sys.executable, "-m", "llama_index.finetuning.cli", "run",
            "--train", str(PDFS / "lyft_2021.pdf"), "--val", demo_val,
            "--output-dir", str(out), *shlex.split(demo_args),
        ]  # fmt: skip
        env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
        started = time.perf_counter()
        proc = subprocess.Popen(argv, env=env, cwd=REPO, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, bufsize=1)  # fmt: skip
        stages, printed = [], []
        for line in proc.stdout:
            sys.stdout.write(line)
            printed.append(line.rstrip("\n"))
            if match := STAGE.search(line):
                stages.append((float(match[3]), match[4]))
        if proc.wait() != 0:
            raise SystemExit(f"the demo failed with exit status {proc.returncode}")
        total = time.perf_counter() - started

        report_path, select_path, source = run_sets(out)
        report_set = EmbeddingQAFinetuneDataset.from_json(report_path)
        select_set = EmbeddingQAFinetuneDataset.from_json(select_path)
        train = EmbeddingQAFinetuneDataset.from_json(out / "train_dataset.json")
        asked_chunks = len(json.loads((out / "run.json").read_text())["chunks"]["train"])
        saved = {part: {n: out / part / "per_query" / f"{n}.json" for n in MODELS}
                 for part in ("report", "report_selection")}  # fmt: skip
        on_report = compare(report_set, saved["report"], top_k=[1, 5, 10], baseline="base")
        on_select = compare(select_set, saved["report_selection"], top_k=[1, 5, 10],
                            baseline="base")  # fmt: skip

    select_name = (
        f"{select_path.name}, questions no writer of this package wrote"
        if select_path.name == "uber_reference.json"
        else "pairs SmolLM2 wrote on the --val files"
    )
    gate = [  # the run's temporary folder is named as make demo names it
        line.strip().replace(str(out), "demo_output")
        for line in printed
        if "quality gate" in line or "dropped" in line
    ]
    verdicts = [  # what each engine saved and why, as the run said it
        line.strip().replace(str(out), "demo_output")
        for line in printed
        if any(k in line for k in ("kept the base model:", "finetuned model saved to",
                                   "kept the untrained adapter:", "adapter saved to"))
    ]  # fmt: skip
    ends = [s[0] for s in stages[1:]] + [total]
    lines = [
        "## `make demo`: the whole job offline, timed, on data that chose nothing",
        "",
        f"`make demo` = `llamaindex-finetune run --train lyft_2021.pdf --val "
        f"{Path(demo_val).name} {demo_args}`: offline defaults (SmolLM2-135M writes the "
        f"questions through llama.cpp, all-MiniLM-L6-v2 is the base model). {len(train)} "
        f"training pairs; {len(select_set)} validation questions ({select_name}) chose the "
        f"best checkpoint and adapter epoch; the table is computed on {len(report_set)} "
        f"questions that chose nothing: {source}"
        + (
            " (benchmarks/writers.py compares question writers on the same questions: the "
            "writer's prompt, its follow-up setting and the questions asked a chunk were "
            "chosen there)"
            if report_path.name == "uber_reference.json"
            else ""
        )
        + f". Code at commit "
        f"{commit}. Machine: {where}. **Total: {total / 60:.1f} min.**",
        "",
        *table_lines(on_report, f"{report_path.name}: the demo's table"),
        "",
        *table_lines(on_select, f"{select_name}: the questions that chose"),
        "",
        "| stage | minutes |",
        "|---|---:|",
    ]
    for (start, text), end in zip(stages, ends, strict=True):
        lines.append(f"| {text} | {(end - start) / 60:.1f} |")
    flatter = {
        name: on_select.table.loc[name, "ndcg@10"] - on_select.table.loc["base", "ndcg@10"]
        - (on_report.table.loc[name, "ndcg@10"] - on_report.table.loc["base", "ndcg@10"])
        for name in ("finetuned", "adapter")
    }  # fmt: skip
    lines += [
        "",
        "How much scoring on the selection pairs would flatter the gain over base (NDCG@10): "
        + ", ".join(f"{n} {v:+.4f}" for n, v in flatter.items())
        + " (positive: the questions that chose show a larger gain than the questions that "
        "chose nothing).",
        "",
        *([f"Quality gate, as the demo printed it: {'; '.join(gate)}", ""] if gate else []),
        *(
            [
                "What the engines saved, as the demo printed it:",
                "",
                *(f"- {v}" for v in verdicts),
                "",
            ]
            if verdicts
            else []
        ),  # fmt: skip
        *target_lines(train, asked_chunks, demo_args, total, on_report),
        "Reproduce: `make demo` (the same command, into demo_output/), or timed into this file: "
        "`flock /tmp/bench.lock env HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/demo.py` "
        "(`--runs 5` for five runs)",
    ]
    gains = {n: on_report.differences(n, ["ndcg@10"])["ndcg@10"] for n in ("finetuned", "adapter")}
    return {
        "commit": commit, "machine": where, "minutes": round(total / 60, 1), "pairs": len(train),
        "gains": {n: [d.difference, d.low, d.high] for n, d in gains.items()},
        "readme_table": [line.replace("| model (-) |", "| model |", 1)
                         for line in table_lines(on_report, "-")],
        "page": lines,
    }  # fmt: skip


def beyond_noise(run: dict) -> bool:
    """The finetuned model's gain on the report set has an interval above 0."""
    return run["gains"]["finetuned"][1] > 0


def median_run(runs: list[dict]) -> int:
    """The index of the run whose finetuned gain is the median (the lower middle of an even
    count)."""
    order = sorted(range(len(runs)), key=lambda i: runs[i]["gains"]["finetuned"][0])
    return order[(len(runs) - 1) // 2]


def series_page(series: dict) -> list[str]:
    """demo.md: every run's gain with its interval, then the median run in full."""
    runs = series["runs"]
    if len(runs) == 1:
        return runs[0]["page"]
    gained, mid = sum(beyond_noise(r) for r in runs), median_run(runs)

    def gain(run: dict, name: str) -> str:
        d, low, high = run["gains"][name]
        return f"{d:+.4f} [{low:+.4f}, {high:+.4f}]"

    mean = sum(r["gains"]["finetuned"][0] for r in runs) / len(runs)
    args = shlex.split(series["demo_args"])
    report = Path(args[args.index("--test") + 1]).name if "--test" in args else "report set"
    header, *rows = runs[mid]["readme_table"]  # its first cell names the set, as the run's does
    readme_table = [header.replace("| model |", f"| model ({report}) |", 1), *rows]
    lines = [
        f"## `make demo`, {len(runs)} runs of {series['asked']}: every run's gain, and the "
        "median run in full",
        "",
        f"Each run is `make demo`'s command from a fresh `demo_output/` (`{series['demo_args']}`)"
        "; gains are NDCG@10 on the report set (benchmarks/data/uber_report.json, 148 "
        "questions that chose nothing) over the base, [95% paired bootstrap interval]. "
        f"**{gained} of {len(runs)} runs gained beyond noise** (the finetuned model's interval "
        f"above 0); mean finetuned gain {mean:+.4f}.",
        "",
        "| run | code | minutes | training pairs | finetuned gain | adapter gain | beyond noise |",
        "|---:|---|---:|---:|---|---|---|",
        *(
            f"| {i + 1}{' (median)' if i == mid else ''} | {r['commit']} | {r['minutes']} "
            f"| {r['pairs']} | {gain(r, 'finetuned')} | {gain(r, 'adapter')} "
            f"| {'yes' if beyond_noise(r) else 'no'} |"
            for i, r in enumerate(runs)
        ),
        "",
        "For the README (the median run's table, run "
        f"{mid + 1}; {gained} of {len(runs)} runs gained beyond noise):",
        "",
        *readme_table,
        "",
        f"### The median run (run {mid + 1}) in full",
        "",
        *(line.replace("## ", "#### ", 1) if line.startswith("## ") else line
          for line in runs[mid]["page"]),
    ]  # fmt: skip
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--demo-args", default=None, help="default: the Makefile's DEMO_ARGS")
    parser.add_argument("--demo-val", default=None, help="default: the Makefile's DEMO_VAL")
    parser.add_argument("--runs", type=int, default=1, help="runs of the demo, each from scratch")
    parser.add_argument(
        "--more", action="store_true",
        help="add the runs to the series kept in <out>.json (same settings) instead of starting one",
    )  # fmt: skip
    parser.add_argument("--out", default=str(HERE / "results" / "demo.md"))
    args = parser.parse_args()
    demo_args = makefile_value("DEMO_ARGS") if args.demo_args is None else args.demo_args
    demo_val = makefile_value("DEMO_VAL") if args.demo_val is None else args.demo_val
    demo_val = demo_val.replace("$(DATA_DIR)", str(PDFS))
    out, store = Path(args.out), Path(args.out).with_suffix(".json")
    series = {"demo_args": demo_args, "demo_val": demo_val, "asked": args.runs, "runs": []}
    if args.more and store.exists():
        kept = json.loads(store.read_text())
        if (kept["demo_args"], kept["demo_val"]) != (demo_args, demo_val):
            raise SystemExit(f"{store} holds runs of other settings: run without --more")
        series = kept | {"asked": kept["asked"] + args.runs}
    for _ in range(args.runs):  # each run is written as it ends: a cut-short series keeps its runs
        series["runs"].append(one_run(demo_args, demo_val))
        store.write_text(json.dumps(series, indent=1) + "\n")
        out.write_text("\n".join(series_page(series)) + "\n")
    print(out.read_text())


if __name__ == "__main__":
    main()
