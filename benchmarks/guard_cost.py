"""Where finetune()'s time goes, and what bounding the guard's evaluations costs (issue 27).

Usage::

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/guard_cost.py --runs 10k_weak pyref_weak 10k_human
    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/guard_cost.py --runs 50k
    .venv/bin/python benchmarks/guard_cost.py --report     # results/guard_cost.json -> .md

Each run trains the bundled MiniLM (``model_id="offline"``) on one training set in the arms of
``RUN_ARMS`` (or ``--arms``), same seed, one after the other:

* ``defaults``: the engine as shipped (checking ranks among the base model's top 50 per
  question + answers, ``merge="auto"``, the hold-out capped at 150 questions);
* ``whole``: the same, but every evaluation ranks over the whole checking corpus
  (``candidates=None``): the reference for agreement (checkpoint, merge, verdict);
* ``v04``: llama-index-finetuning 0.4's settings (batch 10, 2 epochs, no hard negatives,
  plain random batches, nothing checked, nothing merged);
* ``hard_negatives`` / ``no_negatives``: the defaults with 1 / 0 mined negatives a question
  (1 was the default until ``small_sets.py`` chose 0);
* ``all``: the defaults, but trained on every pair, unmerged (``holdout=0, merge=1.0``): what
  the guard's hold-out and merge must not lose to on human-quality pairs.

Time is split by wrapping the engine's own steps (no library change): mining, the candidate
pass, each ``trainer.evaluate``, checkpoint saves, the finish (merge choice = evaluations +
merging, the base model's reload, saving). NDCG@10 of the saved model is measured on the
domain's report set (never used to choose anything), with a paired bootstrap interval against
the base model. ``50k``: the 10-K pairs with their chunks plus random distractors built from
the 10-K's own words, to 50,000 chunks; ``defaults`` only (one ``whole`` evaluation there is a
pass over 50k chunks: its cost is estimated from the measured embedding rate, not run).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from contextlib import contextmanager
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA, RESULTS, OUT = HERE / "data", HERE / "results", HERE / "out" / "guard_cost"
JSON, MD = RESULTS / "guard_cost.json", RESULTS / "guard_cost.md"

# training pairs, what checks them (None: the engine's hold-out), the report set
RUNS = {
    "10k_weak": (DATA / "lyft_train.json", None, DATA / "uber_report.json"),
    "10k_human": (DATA / "uber_reference.json", None, DATA / "uber_report.json"),
    "pyref_weak": (
        RESULTS / "synthetic_only_pairs_pyref.json",
        DATA / "pyref_select.json",
        DATA / "pyref_report.json",
    ),
    "pyref_human": (DATA / "pyref_select.json", None, DATA / "pyref_report.json"),
    "50k": (DATA / "lyft_train.json", None, DATA / "uber_report.json"),
}
ARMS = {
    "defaults": {},
    "whole": {"candidates": None},
    "v04": {"hard_negatives": 0, "holdout": 0.0, "merge": 1.0, "no_duplicates": False},
    "hard_negatives": {"hard_negatives": 1},
    "no_negatives": {"hard_negatives": 0},
    "all": {"holdout": 0.0, "merge": 1.0},
}
# which arms a run trains unless --arms says otherwise
RUN_ARMS = {
    "10k_weak": ["defaults", "v04", "hard_negatives"],
    "pyref_weak": ["defaults", "v04"],
    "10k_human": ["defaults", "all"],
    "pyref_human": ["defaults", "all"],
    "50k": ["defaults"],
}


class Clock:
    """Seconds spent in each wrapped step, summed, with call counts."""

    def __init__(self):
        self.seconds: dict[str, float] = {}
        self.calls: dict[str, int] = {}

    @contextmanager
    def part(self, name: str):
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - start
            self.calls[name] = self.calls.get(name, 0) + 1

    def wrap(self, owner, attribute: str, name: str):
        original = getattr(owner, attribute)

        def timed(*args, **kwargs):
            with self.part(name):
                return original(*args, **kwargs)

        setattr(owner, attribute, timed)
        return original


def with_distractors(dataset, total: int, seed: int = 0):
    """``dataset`` with random chunks of its own words added up to ``total`` chunks."""
    from llama_index.finetuning import EmbeddingQAFinetuneDataset

    rng = random.Random(seed)
    words = [w for text in dataset.corpus.values() for w in text.split()]
    extra = {
        f"distractor-{i}": " ".join(rng.choices(words, k=rng.randint(40, 90)))
        for i in range(total - len(dataset.corpus))
    }
    return EmbeddingQAFinetuneDataset(
        queries=dataset.queries, corpus={**dataset.corpus, **extra},
        relevant_docs=dataset.relevant_docs,
    )  # fmt: skip


def train_arm(pairs, val, arm: str, folder: Path, seed: int) -> dict:
    """One finetune() with its time split by step; returns the record."""
    import llama_index.finetuning.embeddings.sentence_transformer as st_engine
    import llama_index.finetuning.embeddings.st_finish as st_finish
    from llama_index.finetuning import SentenceTransformersFinetuneEngine

    clock = Clock()
    saved = {
        (st_engine, "base_candidates"): clock.wrap(st_engine, "base_candidates", "candidates"),
        (st_finish, "score_model"): clock.wrap(st_finish, "score_model", "final evaluations"),
        (st_finish, "merge_with_base"): clock.wrap(st_finish, "merge_with_base", "merging"),
        (st_finish, "choose_merge"): clock.wrap(st_finish, "choose_merge", "merge choice"),
        (st_engine, "finish"): clock.wrap(st_engine, "finish", "finish"),
    }
    try:
        engine = SentenceTransformersFinetuneEngine(
            pairs, model_id="offline", model_output_path=str(folder), val_dataset=val,
            seed=seed, show_progress_bar=False, overwrite=True, **ARMS[arm],
        )  # fmt: skip
        clock.wrap(engine, "_training_rows", "mining")
        started = time.perf_counter()
        with clock.part("build"):
            trainer = engine.build_trainer()
        clock.wrap(trainer, "evaluate", "evaluations")
        clock.wrap(trainer, "_save_checkpoint", "checkpoint saves")
        result = engine.finetune()
        wall = time.perf_counter() - started
    finally:
        for (owner, attribute), original in saved.items():
            setattr(owner, attribute, original)
    s = clock.seconds
    train_runtime = float(engine.train_metrics.get("train_runtime", 0.0))
    checking = s.get("candidates", 0) + s.get("evaluations", 0) + s.get("final evaluations", 0)
    parts = {
        "mining": s.get("mining", 0.0),
        "candidates (base pass)": s.get("candidates", 0.0),
        "training steps": train_runtime - s.get("evaluations", 0) - s.get("checkpoint saves", 0),
        "evaluations while training": s.get("evaluations", 0.0),
        "checkpoint saves": s.get("checkpoint saves", 0.0),
        "final evaluations (merge choice + base comparison)": s.get("final evaluations", 0.0),
        "merging": s.get("merging", 0.0),
        "finish: loading the base, saving, card": s.get("finish", 0.0)
        - s.get("final evaluations", 0.0)
        - s.get("merging", 0.0),
    }
    selection = engine.selection
    return {
        "arm": arm,
        "wall_s": round(wall, 1),
        "parts_s": {k: round(v, 1) for k, v in parts.items()},
        "evaluation_share": round(checking / wall, 3),
        "evaluations": clock.calls.get("evaluations", 0),
        "steps": int(trainer.state.global_step),
        "checked_by": result.checked_by,
        "checking_questions": len(selection.val.queries) if selection.val else 0,
        "checking_corpus": len(selection.val.corpus) if selection.val else 0,
        "ranked_among": result.ranked_among,
        "best_step": result.best_step,
        "merge": result.merge,
        "merge_scores": result.merge_scores,
        "kept_base": result.kept_untrained,
        "base_score": result.base_score,
        "trained_score": result.trained_score,
        "comparison": result.comparison,
        "folder": str(folder),
    }


def report_scores(folder: str, report, base_eval) -> dict:
    """NDCG@10 of the saved model on the report set, and its difference with the base."""
    from llama_index.finetuning.embeddings.base_models import load_sentence_transformer
    from llama_index.finetuning.embeddings.selection import paired_check
    from llama_index.finetuning.embeddings.st_finish import score_model

    saved = score_model(load_sentence_transformer(folder, device="cpu"), report)
    diff = paired_check(
        saved.per_query["ndcg@10"].to_numpy(), base_eval.per_query["ndcg@10"].to_numpy()
    )
    return {
        "ndcg@10": round(float(saved.summary["ndcg@10"]), 4),
        "vs_base": diff,
        "per_query": [round(float(x), 5) for x in saved.per_query["ndcg@10"].to_numpy()],
    }


def run(name: str, seed: int, arms: list[str]) -> list[dict]:
    from llama_index.finetuning import EmbeddingQAFinetuneDataset
    from llama_index.finetuning.embeddings.base_models import load_sentence_transformer
    from llama_index.finetuning.embeddings.st_finish import score_model

    pairs_file, val_file, report_file = RUNS[name]
    pairs = EmbeddingQAFinetuneDataset.from_json(str(pairs_file))
    if name == "50k":
        pairs = with_distractors(pairs, 50_000)
    val = EmbeddingQAFinetuneDataset.from_json(str(val_file)) if val_file else None
    report = EmbeddingQAFinetuneDataset.from_json(str(report_file))
    base_eval = score_model(load_sentence_transformer("offline", device="cpu"), report)
    records = []
    for arm in arms:
        record = train_arm(pairs, val, arm, OUT / f"{name}_seed{seed}_{arm}", seed)
        record.update(run=name, seed=seed, training_questions=len(pairs.queries),
                      corpus=len(pairs.corpus), report_set=report_file.name,
                      base_report_ndcg=round(float(base_eval.summary["ndcg@10"]), 4),
                      report=report_scores(record["folder"], report, base_eval))  # fmt: skip
        print(json.dumps(record), flush=True)
        records.append(record)
        save(records, replace=(name, seed, arm))
    return records


def save(records: list[dict], replace: tuple) -> None:
    """Add ``records`` to results/guard_cost.json (same run, seed and arm replaced)."""
    old = json.loads(JSON.read_text()) if JSON.exists() else {"records": []}
    keys = {(r["run"], r["seed"], r["arm"]) for r in records}
    kept = [r for r in old["records"] if (r["run"], r["seed"], r["arm"]) not in keys]
    JSON.write_text(json.dumps({"records": kept + records}, indent=1))


def markdown(records: list[dict], note: str) -> str:
    lines = [
        "# What checking a model costs (issue 27)",
        "",
        "Command: `HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/guard_cost.py --runs 10k_weak "
        "pyref_weak 10k_human` and `--runs 50k`, then `--report`. Bundled all-MiniLM-L6-v2, CPU.",
        "",
        f"Machine: {note}",
        "",
        "## Where the time goes (seconds)",
        "",
    ]
    part_names = list(records[0]["parts_s"]) if records else []
    lines.append("| run | arm | wall | " + " | ".join(part_names) + " | evaluation share |")
    lines.append("|---" * (len(part_names) + 4) + "|")
    for r in records:
        cells = " | ".join(f"{r['parts_s'][p]:.1f}" for p in part_names)
        lines.append(
            f"| {r['run']} (seed {r['seed']}) | {r['arm']} | {r['wall_s']:.0f} | {cells} | "
            f"{r['evaluation_share']:.1%} |"
        )
    lines += [
        "",
        "Evaluation share = (candidate pass + evaluations while training + final evaluations)"
        " / wall time of build_trainer() + finetune().",
        "",
        "## What was chosen, and how the saved model scores on the report set",
        "",
        "| run | arm | checked by | questions | ranked among (of) | evaluations | step | merge "
        "(scores) | verdict | report NDCG@10 (base) | saved - base [95% CI] |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in records:
        scores = r["merge_scores"] or {}
        tried = ", ".join(f"{w}: {v:.3f}" for w, v in scores.items())
        verdict = "-" if r["checked_by"] == "none" else ("kept base" if r["kept_base"] else "saved")
        v = r["report"]["vs_base"]
        lines.append(
            f"| {r['run']} | {r['arm']} | {r['checked_by']} | {r['checking_questions']} | "
            f"{r['ranked_among'] or '-'} ({r['checking_corpus']}) | {r['evaluations']} | "
            f"{r['best_step']} | {r['merge']} ({tried}) | {verdict} | {r['report']['ndcg@10']:.4f} "
            f"({r['base_report_ndcg']:.4f}) | {v['difference']:+.4f} [{v['low']:+.4f}, "
            f"{v['high']:+.4f}] |"
        )
    lines += ["", "## Agreement of the candidates with whole-corpus checking (same seed)", ""]
    by = {(r["run"], r["seed"], r["arm"]): r for r in records}
    lines.append(
        "| run | same step | same merge | same verdict | report NDCG@10 defaults - whole |"
    )
    lines.append("|---|---|---|---|---|")
    for (run_name, seed, arm), r in by.items():
        w = by.get((run_name, seed, "whole"))
        if arm != "defaults" or w is None:
            continue
        lines.append(
            f"| {run_name} (seed {seed}) | {r['best_step'] == w['best_step']} | "
            f"{r['merge'] == w['merge']} | {r['kept_base'] == w['kept_base']} | "
            f"{r['report']['ndcg@10'] - w['report']['ndcg@10']:+.4f} |"
        )
    lines += pairwise(records)
    return "\n".join(lines) + "\n"


def pairwise(records: list[dict]) -> list[str]:
    """Defaults against the 0.4 settings, against training on all pairs unmerged, and hard
    negatives against none: wall-time ratio and report NDCG@10 difference, per run and seed,
    then seed-averaged per question."""
    import numpy as np

    from llama_index.finetuning.evaluation.stats import paired_difference

    by = {(r["run"], r["seed"], r["arm"]): r for r in records}
    lines = [
        "",
        "## Arm against arm, on the report set (chose nothing)",
        "",
        "| run | seed | arm - other arm | wall ratio | report NDCG@10 difference [95% CI] (wins/losses) |",
        "|---|---|---|---:|---|",
    ]
    pairs = [("defaults", "v04"), ("defaults", "all"), ("hard_negatives", "no_negatives")]
    for run_name in dict.fromkeys(r["run"] for r in records):
        for a, b in pairs:
            seeds = sorted(
                s for (n, s, arm) in by if n == run_name and arm == a and (n, s, b) in by
            )
            scores_a, scores_b = [], []
            for seed in seeds:
                x, y = by[(run_name, seed, a)], by[(run_name, seed, b)]
                if "per_query" not in x["report"] or "per_query" not in y["report"]:
                    continue
                qa, qb = np.asarray(x["report"]["per_query"]), np.asarray(y["report"]["per_query"])
                scores_a.append(qa)
                scores_b.append(qb)
                d = paired_difference(qa, qb)
                lines.append(
                    f"| {run_name} | {seed} | {a} - {b} | {x['wall_s'] / y['wall_s']:.2f}x | "
                    f"{d.difference:+.4f} [{d.low:+.4f}, {d.high:+.4f}] ({d.wins}/{d.losses}) |"
                )
            if len(scores_a) > 1:
                d = paired_difference(np.mean(scores_a, axis=0), np.mean(scores_b, axis=0))
                ratio = np.mean(
                    [by[(run_name, s, a)]["wall_s"] / by[(run_name, s, b)]["wall_s"] for s in seeds]
                )
                lines.append(
                    f"| {run_name} | mean of {len(scores_a)} | {a} - {b} | {ratio:.2f}x | "
                    f"**{d.difference:+.4f} [{d.low:+.4f}, {d.high:+.4f}]** ({d.wins}/{d.losses}) |"
                )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", nargs="*", choices=sorted(RUNS), default=[])
    parser.add_argument("--arms", nargs="*", choices=sorted(ARMS), default=None)
    parser.add_argument("--seeds", nargs="*", type=int, default=[42])
    parser.add_argument("--report", action="store_true", help="write results/guard_cost.md")
    parser.add_argument("--note", default="2 cores, shared with other jobs (busy machine)")
    args = parser.parse_args(argv)
    for name in args.runs:
        arms = args.arms or RUN_ARMS[name]
        for seed in args.seeds:
            run(name, seed, arms)
    if args.report:
        records = json.loads(JSON.read_text())["records"]
        MD.write_text(markdown(records, args.note))
        print(MD.read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
