"""Run every benchmark, then assemble benchmarks/RESULTS.md from their fragments.

Reproduce everything:   make bench          (= .venv/bin/python benchmarks/run_all.py)
One benchmark:          .venv/bin/python benchmarks/run_all.py --only generation
Re-assemble only:       .venv/bin/python benchmarks/run_all.py --assemble

Each script measures its baseline and ours in the same run and writes
benchmarks/results/<name>.md; nothing in RESULTS.md is typed by hand except this header. The README holds one table, the
demo's (tests/test_readme.py checks it against benchmarks/results/demo.md).
One-off studies live in benchmarks/experiments/ (script + results/<name>.md, each with the
command that made it); they are not rerun here, and RESULTS.md ends with a link to each.
"""

from __future__ import annotations

import argparse
import platform
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
# The order of RESULTS.md. make_datasets writes benchmarks/data/ (about 100 min with the offline
# LLM on 2 cores) and the others read it, so it only runs when asked: --only make_datasets.
ORDER = [
    "demo", "writers", "writers_questions_asked", "demo_chunk_size", "gate",
    "generation", "local_llm", "st_finetune", "adapter",
    "evaluation", "metadata_text", "guard_cost", "unchecked_defaults", "small_sets", "scale", "scale_generation",
    "synthetic_only",
    "prompt_variety", "prompt_language", "few_shot",
]  # fmt: skip
# scale_generation is `scale.py --only generation --out benchmarks/results/scale_generation.md`
# (scale.py itself measures every section into scale.md); writers_questions_asked is
# `writers.py --only "one request" "one question" --out .../writers_questions_asked.md`;
# demo_chunk_size is two writers.py runs, its page says which.
# guard_cost (hours on 2 cores: three training arms a run, and a 50k-chunk corpus) and
# unchecked_defaults (an hour: 20 trainings) run when asked, with the arguments their pages name.
NOT_BY_DEFAULT = [
    "scale_generation", "writers_questions_asked", "demo_chunk_size", "guard_cost",
    "unchecked_defaults",
]  # fmt: skip
EXPERIMENTS = HERE / "experiments" / "results"
SLOW = ["make_datasets"]


def assemble() -> Path:
    parts = [
        "# Benchmark results",
        "",
        "Every figure below was measured by the script named in its section, baseline and ours "
        "side by side in one run, on the machine the section names (CI-like: 2 CPU cores, no GPU, "
        "unless a section says otherwise). `make bench` reruns them all and rewrites this file.",
        "",
    ]
    for name in ORDER:
        fragment = HERE / "results" / f"{name}.md"
        if fragment.exists():
            parts += [fragment.read_text().strip(), ""]
    parts += experiments_index()
    out = HERE / "RESULTS.md"
    out.write_text("\n".join(parts))
    return out


def experiments_index() -> list[str]:
    """RESULTS.md's last section: a link to each one-off study's page, under its heading."""
    pages = sorted(EXPERIMENTS.glob("*.md"))
    if not pages:
        return []
    lines = [
        "## One-off experiments",
        "",
        "Studies that chose a default or answered one question; `make bench` does not rerun "
        "them. Each page names its script in benchmarks/experiments/ and the command that "
        "made it.",
        "",
    ]
    for page in pages:
        heading = next((x for x in page.read_text().splitlines() if x.startswith("#")), page.stem)
        lines.append(f"- [{heading.lstrip('# ')}](experiments/results/{page.name})")
    return [*lines, ""]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", default=None, help=f"a subset of {ORDER + SLOW}")
    parser.add_argument("--assemble", action="store_true", help="only rebuild RESULTS.md")
    args = parser.parse_args()
    if not args.assemble:
        for name in args.only or [n for n in ORDER if n not in NOT_BY_DEFAULT]:
            script = HERE / f"{name}.py"
            if not script.exists():
                continue
            print(f"== {name} ({platform.node()})", flush=True)
            subprocess.run([sys.executable, str(script)], check=True)
    print(f"wrote {assemble()}")


if __name__ == "__main__":
    main()
