"""The defaults when nothing checks the model, against llama-index-finetuning 0.4's settings.

Usage::

    flock /tmp/bench.lock env HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/unchecked_defaults.py \\
        --seeds 42 43 44 45 46
    .venv/bin/python benchmarks/unchecked_defaults.py --report   # results/*.json -> .md

Without a validation set (the defaults since ``guard_cost.py`` chose ``holdout=0``) the
sentence-transformers engine's settings differ from the issue's "0.4-style settings" (batch
10, 2 epochs, no negatives, no checking; ``guard_cost.py``'s ``v04`` arm) in two: batches in
which no text occurs twice (``no_duplicates=True``; 0.4 drew plain random batches) and the
saved model merged with the base at 0.75 (``merge="auto"`` when nothing checks; 0.4 saved the
last step as trained). Every arm here has the engine's learning rate (5e-5; 0.4's was 2e-5,
``st_finetune.py`` compares them) and warm-up. Each (domain, seed) trains the bundled all-MiniLM-L6-v2 twice, once per batch
sampler, saved unmerged; each saved model is then scored as trained and merged at 0.75, which
gives the four arms without training twice for the merge:

* ``defaults``: no duplicates, merged at 0.75 (the engine as shipped);
* ``unmerged``: no duplicates, as trained;
* ``v04``: plain batches, as trained (0.4's settings);
* ``plain_merged``: plain batches, merged at 0.75.

Domains: ``10k``, the bundled writer's pairs on Lyft's 2021 10-K (``data/lyft_train.json``);
``pyref``, its pairs on the Python language reference (``results/synthetic_only_pairs_pyref.json``).
Each domain has a selection part (questions no writer of this package wrote) and a report part.

**The rule, written before the run.** For each arm, its selection gain is the mean over the
two domains of (seed-mean NDCG@10 on the selection part minus the base model's). The defaults
change to the arm with the highest selection gain only if it exceeds the current defaults'
by more than 0.005 and on neither domain's selection part the seed-averaged per-question
difference (that arm minus the defaults) has its 95% interval wholly below 0. The report parts
choose nothing: they give each arm against ``v04`` (the issue's "at least as good"), and the
wall time of ``finetune()`` per sampler is given beside it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA, RESULTS, OUT = HERE / "data", HERE / "results", HERE / "out" / "unchecked_defaults"
JSON, MD = RESULTS / "unchecked_defaults.json", RESULTS / "unchecked_defaults.md"

DOMAINS = {
    "10k": (DATA / "lyft_train.json", DATA / "uber_reference.json", DATA / "uber_report.json"),
    "pyref": (
        RESULTS / "synthetic_only_pairs_pyref.json",
        DATA / "pyref_select.json",
        DATA / "pyref_report.json",
    ),
}
SAMPLERS = {"no_duplicates": True, "plain": False}
# arm -> (batch sampler, merge weight)
ARMS = {
    "defaults": ("no_duplicates", 0.75),
    "unmerged": ("no_duplicates", 1.0),
    "v04": ("plain", 1.0),
    "plain_merged": ("plain", 0.75),
}
PARTS = ("selection", "report")
#: The heading of the hand-written reading at the end of the page, kept by ``--report``.
READING = "### Reading this run"


def train(domain: str, seed: int, sampler: str, base, sets: dict) -> dict:
    """One finetune() with nothing checked and nothing merged, then its scores as trained and
    merged at 0.75 on both parts."""
    from llama_index.finetuning import (
        EmbeddingQAFinetuneDataset,
        SentenceTransformersFinetuneEngine,
    )
    from llama_index.finetuning.embeddings.base_models import load_sentence_transformer
    from llama_index.finetuning.embeddings.guard import score_model
    from llama_index.finetuning.embeddings.merge import merge_with_base

    pairs = EmbeddingQAFinetuneDataset.from_json(str(DOMAINS[domain][0]))
    folder = OUT / f"{domain}_seed{seed}_{sampler}"
    engine = SentenceTransformersFinetuneEngine(
        pairs, model_id="offline", model_output_path=str(folder), seed=seed, holdout=0.0,
        merge=1.0, no_duplicates=SAMPLERS[sampler], show_progress_bar=False, overwrite=True,
    )  # fmt: skip
    started = time.perf_counter()
    engine.finetune()
    wall = time.perf_counter() - started
    tuned = load_sentence_transformer(str(folder), device="cpu")
    scores: dict[str, dict] = {}
    for weight in sorted({w for _, w in ARMS.values()}):
        model = tuned if weight == 1.0 else merge_with_base(tuned, base, weight)
        scores[f"{weight:g}"] = {
            part: [round(float(x), 5) for x in score_model(model, data).per_query["ndcg@10"]]
            for part, data in sets.items()
        }
    return {
        "domain": domain, "seed": seed, "sampler": sampler, "wall_s": round(wall, 1),
        "training_pairs": len(pairs.queries), "steps": int(engine.result.best_step),
        "scores": scores, "code": commit(), "load_at_start": round(os.getloadavg()[0], 1),
    }  # fmt: skip


def run(domains: list[str], seeds: list[int]) -> None:
    from llama_index.finetuning import EmbeddingQAFinetuneDataset
    from llama_index.finetuning.embeddings.base_models import load_sentence_transformer
    from llama_index.finetuning.embeddings.guard import score_model

    base = load_sentence_transformer("offline", device="cpu")
    data = json.loads(JSON.read_text()) if JSON.exists() else {"base": {}, "records": []}
    for domain in domains:
        _, selection, report = DOMAINS[domain]
        sets = {
            "selection": EmbeddingQAFinetuneDataset.from_json(str(selection)),
            "report": EmbeddingQAFinetuneDataset.from_json(str(report)),
        }
        data["base"][domain] = {
            part: [round(float(x), 5) for x in score_model(base, d).per_query["ndcg@10"]]
            for part, d in sets.items()
        }
        for seed in seeds:
            for sampler in SAMPLERS:
                record = train(domain, seed, sampler, base, sets)
                print(json.dumps({k: v for k, v in record.items() if k != "scores"}), flush=True)
                key = (domain, seed, sampler)
                data["records"] = [
                    r for r in data["records"] if (r["domain"], r["seed"], r["sampler"]) != key
                ] + [record]
                JSON.write_text(json.dumps(data, indent=1))


def commit() -> str:
    import subprocess

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=HERE.parent, capture_output=True,
                              text=True).stdout.strip()  # fmt: skip

    dirty = git("status", "--porcelain", "--untracked-files=no", "llama_index")
    return git("rev-parse", "--short", "HEAD") + ("+" if dirty else "")


def arm_scores(data: dict, domain: str, arm: str, part: str) -> dict[int, list[float]]:
    sampler, weight = ARMS[arm]
    return {
        r["seed"]: r["scores"][f"{weight:g}"][part]
        for r in data["records"]
        if r["domain"] == domain and r["sampler"] == sampler
    }


def markdown(data: dict, note: str) -> str:
    import numpy as np

    from llama_index.finetuning.evaluation.stats import paired_difference

    def interval(a, b) -> str:
        d = paired_difference(np.asarray(a), np.asarray(b))
        return f"{d.difference:+.4f} [{d.low:+.4f}, {d.high:+.4f}] ({d.wins}/{d.losses})"

    domains = [d for d in DOMAINS if d in data["base"]]
    seeds = sorted({r["seed"] for r in data["records"]})
    codes = sorted({r["code"] for r in data["records"]})
    lines = [
        "## The defaults when nothing checks, against 0.4's settings",
        "",
        "Command: `flock /tmp/bench.lock env HF_HUB_OFFLINE=1 .venv/bin/python "
        f"benchmarks/unchecked_defaults.py --seeds {' '.join(map(str, seeds))}`, then "
        f"`--report`. Code: {', '.join(codes)}. Bundled all-MiniLM-L6-v2, CPU, batch 10, 2 "
        "epochs, no hard negatives, nothing held out; each (domain, seed, batch sampler) trained "
        "once and scored as trained and merged at 0.75. Scores: NDCG@10; a gain is seed-mean "
        "minus base; an interval is the paired 95% bootstrap over questions of the "
        "seed-averaged per-question scores (wins/losses).",
        "",
        f"Machine: {note}",
        "",
        "### Selection parts (the rule chooses here)",
        "",
        "| arm | " + " | ".join(f"{d} gain (each seed)" for d in domains) + " | mean gain | "
        "arm - defaults, per domain |",
        "|---|" + "---|" * len(domains) + "---:|---|",
    ]
    gains: dict[str, float] = {}
    for arm in ARMS:
        cells, domain_gains, versus = [], [], []
        for domain in domains:
            base = np.mean(data["base"][domain]["selection"])
            by_seed = arm_scores(data, domain, arm, "selection")
            each = [np.mean(by_seed[s]) - base for s in sorted(by_seed)]
            domain_gains.append(float(np.mean(each)))
            cells.append(f"{np.mean(each):+.4f} ({' / '.join(f'{g:+.4f}' for g in each)})")
            ref = arm_scores(data, domain, "defaults", "selection")
            common = sorted(set(by_seed) & set(ref))
            versus.append(
                f"{domain} "
                + interval(
                    np.mean([by_seed[s] for s in common], axis=0),
                    np.mean([ref[s] for s in common], axis=0),
                )
            )
        gains[arm] = float(np.mean(domain_gains))
        lines.append(
            f"| {arm} | {' | '.join(cells)} | {gains[arm]:+.4f} | "
            f"{'-' if arm == 'defaults' else '; '.join(versus)} |"
        )
    best = max(gains, key=gains.__getitem__)
    lines += ["", rule_outcome(data, domains, gains, best), ""]
    lines += [
        "### Report parts (chose nothing): each arm against v04",
        "",
        "| domain | arm | NDCG@10 (base) | arm - v04 | wall time of finetune() vs v04's, median (mean) |",
        "|---|---|---:|---|---:|",
    ]
    for domain in domains:
        base = float(np.mean(data["base"][domain]["report"]))
        v04 = arm_scores(data, domain, "v04", "report")
        for arm in ARMS:
            by_seed = arm_scores(data, domain, arm, "report")
            common = sorted(set(by_seed) & set(v04))
            mean_a = np.mean([by_seed[s] for s in common], axis=0)
            mean_v = np.mean([v04[s] for s in common], axis=0)
            walls = wall_ratio(data, domain, ARMS[arm][0])
            lines.append(
                f"| {domain} | {arm} | {np.mean(mean_a):.4f} ({base:.4f}) | "
                f"{'-' if arm == 'v04' else interval(mean_a, mean_v)} | {walls} |"
            )
    lines += [
        "",
        "Wall time: median (and mean) over seeds of the ratio of `finetune()`'s wall time with this arm's "
        "batch sampler to the plain sampler's, same seed (the merge is part of finetune() when "
        "asked; here it was made afterwards, so a merged arm's ratio leaves out one merge).",
    ]
    return "\n".join(lines) + "\n"


def wall_ratio(data: dict, domain: str, sampler: str) -> str:
    import numpy as np

    walls = {
        (r["seed"], r["sampler"]): r["wall_s"] for r in data["records"] if r["domain"] == domain
    }
    ratios = [walls[(s, sampler)] / walls[(s, "plain")] for (s, x) in walls if x == "plain"
              and (s, sampler) in walls]  # fmt: skip
    return f"{np.median(ratios):.2f}x (mean {np.mean(ratios):.2f}x)" if ratios else "-"


def rule_outcome(data: dict, domains: list[str], gains: dict[str, float], best: str) -> str:
    import numpy as np

    from llama_index.finetuning.evaluation.stats import paired_difference

    if best == "defaults" or gains[best] - gains["defaults"] <= 0.005:
        return (
            f"Rule: the highest mean selection gain is {best}'s ({gains[best]:+.4f}; defaults "
            f"{gains['defaults']:+.4f}); a change needs more than +0.005 over the defaults. "
            "**The defaults stay.**"
        )
    for domain in domains:
        a = arm_scores(data, domain, best, "selection")
        b = arm_scores(data, domain, "defaults", "selection")
        common = sorted(set(a) & set(b))
        d = paired_difference(
            np.mean([a[s] for s in common], axis=0), np.mean([b[s] for s in common], axis=0)
        )
        if d.high < 0:
            return (
                f"Rule: {best} has the highest mean selection gain ({gains[best]:+.4f} against "
                f"{gains['defaults']:+.4f}) but loses beyond noise on {domain}'s selection part. "
                "**The defaults stay.**"
            )
    return (
        f"Rule: {best} has the highest mean selection gain ({gains[best]:+.4f} against the "
        f"defaults' {gains['defaults']:+.4f}, more than +0.005) and loses beyond noise on no "
        f"domain. **Chosen: {best} ({ARMS[best][0]} batches, merge {ARMS[best][1]:g} when "
        "nothing checks).**"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--domains", nargs="*", choices=sorted(DOMAINS), default=list(DOMAINS))
    parser.add_argument("--seeds", nargs="*", type=int, default=[])
    parser.add_argument("--report", action="store_true", help="write the .md from the .json")
    parser.add_argument("--note", default="2 cores, shared with other jobs (busy machine)")
    args = parser.parse_args(argv)
    if args.seeds:
        run(args.domains, args.seeds)
    if args.report:
        old = MD.read_text() if MD.exists() else ""
        reading = old[old.index(READING) :] if READING in old else ""  # written by hand
        MD.write_text(
            markdown(json.loads(JSON.read_text()), args.note) + ("\n" + reading if reading else "")
        )
        print(MD.read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
