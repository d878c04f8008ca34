"""Where finetune()'s time goes, and what bounding the guard's evaluations costs (issue 27).

Usage::

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/guard_cost.py --runs 10k_weak pyref_weak 10k_human
    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/guard_cost.py --runs 50k
    .venv/bin/python benchmarks/guard_cost.py --report     # results/guard_cost.json -> .md

Each run trains the bundled MiniLM (``model_id="offline"``) on one training set in the arms of
``RUN_ARMS`` (or ``--arms``), same seed, one after the other:

* ``defaults``: the engine as shipped (since this run chose: nothing held out without a
  validation set; with one, checking ranks among the base model's top 50 per question +
  answers and ``merge="auto"``);
* ``whole``: the same, but every evaluation ranks over the whole checking corpus
  (``candidates=None``): the reference for agreement (checkpoint, merge, verdict);
* ``v04``: llama-index-finetuning 0.4's settings (batch 10, 2 epochs, no hard negatives,
  plain random batches, nothing checked, nothing merged);
* ``hard_negatives`` / ``no_negatives``: the defaults with 1 / 0 mined negatives a question
  (1 was the default until ``small_sets.py`` chose 0);
* ``all``: the defaults, but trained on every pair, unmerged (``holdout=0, merge=1.0``): what
  the guard's hold-out and merge must not lose to on human-quality pairs.
* ``holdout`` / ``no_holdout``: without a validation set, a fifth of the chunks held out to
  check the result (the default until this run chose) / nothing held out, nothing checked,
  merged at the unchecked weight (0.75).
* ``unchecked``: the defaults without the run's validation set (what the checking buys).

Runs: ``10k_weak``, ``pyref_weak`` (checked by pyref_select.json), ``10k_human``,
``pyref_human``, ``50k`` as named in ``RUNS``; ``10k_checked`` is ``make demo``'s checking: the
bundled writer's 10-K pairs checked by the 160 human questions of uber_reference.json over its
412 chunks. A record names the commit of the library code that ran (``commit()``), so one
benchmark script can time an older checkout (``PYTHONPATH=<worktree>``) beside the current one.

The rule for the hold-out default, written before the run (``--runs 10k_weak --arms holdout
no_holdout v04``, seeds 42 and 43): the engine's ``holdout`` default becomes 0 unless, on the
10-K selection part (``uber_reference.json``, questions no writer of this package wrote), the
seed-mean NDCG@10 of ``no_holdout`` is more than 0.005 below ``holdout``'s. The report part
(``uber_report.json``) chooses nothing; it is what RESULTS.md quotes.

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
import os
import random
import sys
import time
from contextlib import contextmanager
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA, RESULTS, OUT = HERE / "data", HERE / "results", HERE / "out" / "guard_cost"
JSON, MD = RESULTS / "guard_cost.json", RESULTS / "guard_cost.md"

# the part that chooses (scored after training; None where the run trains on it)
SELECTION = {"10k_weak": DATA / "uber_reference.json", "50k": DATA / "uber_reference.json"}
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
    # make demo's checking: the bundled writer's 10-K pairs, checked by human questions
    "10k_checked": (
        DATA / "lyft_train.json",
        DATA / "uber_reference.json",
        DATA / "uber_report.json",
    ),
}
ARMS = {
    "defaults": {},
    "whole": {"candidates": None},
    "v04": {"hard_negatives": 0, "holdout": 0.0, "merge": 1.0, "no_duplicates": False},
    "hard_negatives": {"hard_negatives": 1},
    "no_negatives": {"hard_negatives": 0},
    "all": {"holdout": 0.0, "merge": 1.0},
    "holdout": {"holdout": 0.2},
    "no_holdout": {"holdout": 0.0},
    "unchecked": {"val_dataset": None},
}
# which arms a run trains unless --arms says otherwise
RUN_ARMS = {
    "10k_weak": ["holdout", "no_holdout", "v04"],
    "pyref_weak": ["defaults", "v04"],
    "10k_human": ["defaults", "all"],
    "pyref_human": ["defaults", "all"],
    "50k": ["defaults"],
    "10k_checked": ["defaults", "whole"],
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
    import llama_index.finetuning.embeddings.guard as guard
    from llama_index.finetuning import SentenceTransformersFinetuneEngine

    clock = Clock()
    saved = {
        (guard, "base_candidates"): clock.wrap(guard, "base_candidates", "candidates"),
        (guard, "score_model"): clock.wrap(guard, "score_model", "final evaluations"),
        (guard, "merge_with_base"): clock.wrap(guard, "merge_with_base", "merging"),
        (guard, "choose_merge"): clock.wrap(guard, "choose_merge", "merge choice"),
    }
    try:
        settings = {"val_dataset": val, **ARMS[arm]}
        engine = SentenceTransformersFinetuneEngine(
            pairs, model_id="offline", model_output_path=str(folder), seed=seed,
            show_progress_bar=False, overwrite=True, **settings,
        )  # fmt: skip
        clock.wrap(engine, "_training_rows", "mining")
        clock.wrap(engine, "_finish", "finish")
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
    whole = whole_corpus_check(engine, result, folder) if sampled(engine) else None
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
    selection = engine.checking_split
    return {
        "arm": arm,
        "wall_s": round(wall, 1),
        "parts_s": {k: round(v, 1) for k, v in parts.items()},
        "evaluation_share": round(checking / wall, 3),
        "evaluations": clock.calls.get("evaluations", 0),
        "final_scorings": clock.calls.get("final evaluations", 0),
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
        "pool": engine.checking.pool_size if engine.checking else None,
        "whole_corpus_check": whole,
        "folder": str(folder),
    }


def _paired_check():
    try:
        from llama_index.finetuning.embeddings.finetune_result import paired_check
    except ImportError:  # library code before 2026-12-07 (a7302af) kept it in guard.py
        from llama_index.finetuning.embeddings.guard import paired_check
    return paired_check


def sampled(engine) -> bool:
    """The checking corpus was larger than the pool, so the base ranked a sample of it."""
    found = engine.checking
    return found is not None and found.pool_size < found.corpus_size


def whole_corpus_check(engine, result, folder: Path) -> dict:
    """The saved model against the base over the whole checking corpus (not the pool): does
    the comparison made among the pool's candidates hold there? (Not timed into ``wall``.)"""
    from llama_index.finetuning.embeddings.base_models import load_sentence_transformer
    from llama_index.finetuning.embeddings.guard import score_model

    paired_check = _paired_check()

    val = engine.checking_split.val
    started = time.perf_counter()
    base = score_model(load_sentence_transformer("offline", device="cpu"), val, engine.prompts)
    saved = score_model(load_sentence_transformer(str(folder), device="cpu"), val, engine.prompts)
    whole = paired_check(
        saved.per_query["ndcg@10"].to_numpy(), base.per_query["ndcg@10"].to_numpy()
    )
    among = result.comparison or {}
    return {
        "chunks": len(val.corpus),
        "seconds": round(time.perf_counter() - started, 1),
        "saved_minus_base_whole": whole,
        "saved_minus_base_among_pool": among,
        "same_sign": (whole["difference"] > 0) == (among.get("difference", 0) > 0),
    }


def report_scores(folder: str, report, base_eval) -> dict:
    """NDCG@10 of the saved model on the report set, and its difference with the base."""
    from llama_index.finetuning.embeddings.base_models import load_sentence_transformer
    from llama_index.finetuning.embeddings.guard import score_model

    paired_check = _paired_check()

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
    from llama_index.finetuning.embeddings.guard import score_model

    pairs_file, val_file, report_file = RUNS[name]
    pairs = EmbeddingQAFinetuneDataset.from_json(str(pairs_file))
    if name == "50k":
        pairs = with_distractors(pairs, 50_000)
    val = EmbeddingQAFinetuneDataset.from_json(str(val_file)) if val_file else None
    report = EmbeddingQAFinetuneDataset.from_json(str(report_file))
    base_eval = score_model(load_sentence_transformer("offline", device="cpu"), report)
    chooser = SELECTION.get(name)
    selection = EmbeddingQAFinetuneDataset.from_json(str(chooser)) if chooser else None
    base_selection = (
        score_model(load_sentence_transformer("offline", device="cpu"), selection)
        if selection
        else None
    )
    records = []
    for arm in arms:
        record = train_arm(pairs, val, arm, OUT / f"{name}_seed{seed}_{arm}", seed)
        record.update(run=name, seed=seed, training_questions=len(pairs.queries),
                      corpus=len(pairs.corpus), report_set=report_file.name,
                      base_report_ndcg=round(float(base_eval.summary["ndcg@10"]), 4),
                      report=report_scores(record["folder"], report, base_eval),
                      code=commit(), load_at_start=LOAD_AT_START)  # fmt: skip
        if selection is not None:
            record.update(selection_set=chooser.name, selection=report_scores(
                record["folder"], selection, base_selection))  # fmt: skip
        print(json.dumps(record), flush=True)
        records.append(record)
        save(records, replace=(name, seed, arm))
    return records


def commit() -> str:
    """The commit of the library code that ran (the checkout ``llama_index.finetuning`` was
    imported from, which may be another worktree), with "+" when its tree differs from it."""
    import subprocess

    import llama_index.finetuning as package

    checkout = Path(package.__file__).resolve().parents[2]

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=checkout, capture_output=True,
                              text=True).stdout.strip()  # fmt: skip

    dirty = git("status", "--porcelain", "--untracked-files=no", "llama_index")
    return git("rev-parse", "--short", "HEAD") + ("+" if dirty else "")


LOAD_AT_START = round(os.getloadavg()[0], 1)


#: The heading of the hand-written reading of the run at the end of guard_cost.md, which
#: ``--report`` keeps when it rewrites the tables above it.
READING = "### Reading this run"


def save(records: list[dict], replace: tuple) -> None:
    """Add ``records`` to results/guard_cost.json (same run, seed, arm and code replaced)."""
    old = json.loads(JSON.read_text()) if JSON.exists() else {"records": []}

    def key(r: dict) -> tuple:
        return r["run"], r["seed"], r["arm"], r.get("code")

    keys = {key(r) for r in records}
    kept = [r for r in old["records"] if key(r) not in keys]
    JSON.write_text(json.dumps({"records": kept + records}, indent=1))


def markdown(records: list[dict], note: str) -> str:
    lines = [
        "## What checking a model costs, and what a synthetic hold-out is worth",
        "",
        "Commands: `flock /tmp/bench.lock env HF_HUB_OFFLINE=1 .venv/bin/python "
        "benchmarks/guard_cost.py --runs 10k_weak --seeds 42 43 --arms holdout no_holdout v04`; "
        "`... --runs 10k_human pyref_human --seeds 42 43 --arms no_holdout all`; "
        "`... --runs 10k_weak --seeds 42 43 --arms all` (code 75b4255); earlier "
        "records (code bbb2c84): `--runs 10k_human pyref_human --seeds 42 43 --arms holdout "
        "all`, `--runs pyref_weak --seeds 42`, `--runs 50k --seeds 42 --arms holdout`; "
        "the checked runs before and after the guard reused the trainer's evaluation (code "
        "2c864a5 from a worktree, then b71194d): `PYTHONPATH=<worktree at 2c864a5> ... "
        "--runs pyref_weak --arms defaults --seeds 42 43`, `... --runs 10k_checked --arms "
        "defaults --seeds 42`, then at b71194d `--runs pyref_weak --arms defaults whole --seeds "
        "42 43`, `--runs 10k_checked --arms defaults whole --seeds 42`, `--runs 10k_checked "
        "--arms defaults --seeds 43`; then "
        "`--report`. Bundled all-MiniLM-L6-v2, CPU. Each record names its code (a `+`: the "
        "working tree differed from that commit in `llama_index/`: at bbb2c84 by the hold-out "
        "default, which every arm here sets; at 75b4255 by the journal reader's move, which "
        "training does not use).",
        "",
        f"Machine: {note}",
        "",
        "## Where the time goes (seconds)",
        "",
    ]
    part_names = list(records[0]["parts_s"]) if records else []
    lines.append("| run | arm | code | wall | " + " | ".join(part_names) + " | evaluation share |")
    lines.append("|---" * (len(part_names) + 5) + "|")
    for r in records:
        cells = " | ".join(f"{r['parts_s'][p]:.1f}" for p in part_names)
        lines.append(
            f"| {r['run']} (seed {r['seed']}) | {r['arm']} | {r.get('code', '-')} | "
            f"{r['wall_s']:.0f} | {cells} | {r['evaluation_share']:.1%} |"
        )
    lines += [
        "",
        "Evaluation share = (candidate pass + evaluations while training + final evaluations)"
        " / wall time of build_trainer() + finetune().",
        "",
        "## What was chosen, and how the saved model scores on the report set",
        "",
        "| run | seed | arm | code | checked by | questions | ranked among (of) | evaluations "
        "| step | merge (scores) | verdict | report NDCG@10 (base) | saved - base [95% CI] |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in records:
        scores = r["merge_scores"] or {}
        tried = ", ".join(f"{w}: {v:.3f}" for w, v in scores.items())
        verdict = "-" if r["checked_by"] == "none" else ("kept base" if r["kept_base"] else "saved")
        v = r["report"]["vs_base"]
        lines.append(
            f"| {r['run']} | {r['seed']} | {r['arm']} | {r.get('code', '-')} | "
            f"{r['checked_by']} | {r['checking_questions']} | "
            f"{r['ranked_among'] or '-'} ({r['checking_corpus']}) | {r['evaluations']} | "
            f"{r['best_step']} | {r['merge']} ({tried}) | {verdict} | {r['report']['ndcg@10']:.4f} "
            f"({r['base_report_ndcg']:.4f}) | {v['difference']:+.4f} [{v['low']:+.4f}, "
            f"{v['high']:+.4f}] |"
        )
    by = {(r["run"], r["seed"], r["arm"]): r for r in records}
    if any(arm == "whole" for (_, _, arm) in by):
        lines += ["", "## Agreement of the candidates with whole-corpus checking (same seed)", ""]
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
    checks = [r for r in records if r.get("whole_corpus_check")]
    if checks:
        lines += [
            "",
            "## A sampled pool against the whole corpus",
            "",
            "Where the checking corpus exceeded the pool, the base model ranked a seeded sample "
            "of it (every answer included); afterwards (not timed) the saved model and the base "
            "were ranked over the whole corpus:",
            "",
            "| run | seed | pool of chunks | saved - base among the pool | saved - base over the "
            "whole corpus [95% CI] | same verdict |",
            "|---|---|---|---|---|---|",
        ]
        for r in checks:
            c = r["whole_corpus_check"]
            w, a = c["saved_minus_base_whole"], c["saved_minus_base_among_pool"]
            lines.append(
                f"| {r['run']} | {r['seed']} | {r['pool']} of {c['chunks']} | "
                f"{a.get('difference', 0):+.4f} | {w['difference']:+.4f} [{w['low']:+.4f}, "
                f"{w['high']:+.4f}] | {'yes' if c['same_sign'] else 'no'} |"
            )
    lines += reuse_table(records)
    lines += holdout_rule(records)
    lines += pairwise(records)
    return "\n".join(lines) + "\n"


def reuse_table(records: list[dict]) -> list[str]:
    """The same checked run (defaults) at each code it ran with: scoring passes and their share."""
    groups: dict[tuple, list[dict]] = {}
    for r in records:
        if r["arm"] == "defaults" and r["checked_by"] != "none":
            groups.setdefault((r["run"], r["seed"]), []).append(r)
    groups = {k: v for k, v in groups.items() if len({r.get("code") for r in v}) > 1}
    if not groups:
        return []
    lines = [
        "",
        "## The checked run at each code: passes over the candidates, and their share",
        "",
        "| run | seed | code | wall s | evaluations while training | guard's scoring passes | "
        "merge weights scored | evaluation seconds | evaluation share | report NDCG@10 |",
        "|---|---|---|---:|---:|---:|---|---:|---:|---:|",
    ]
    for (run_name, seed), rs in groups.items():
        for r in rs:
            p = r["parts_s"]
            seconds = (
                p["candidates (base pass)"] + p["evaluations while training"]
                + p["final evaluations (merge choice + base comparison)"]
            )  # fmt: skip
            lines.append(
                f"| {run_name} | {seed} | {r.get('code', '-')} | {r['wall_s']:.0f} | "
                f"{r['evaluations']} | {r.get('final_scorings', '-')} | "
                f"{', '.join(r['merge_scores'] or {})} | {seconds:.1f} | "
                f"{r['evaluation_share']:.1%} | {r['report']['ndcg@10']:.4f} |"
            )
    return lines


def holdout_rule(records: list[dict]) -> list[str]:
    """The rule of the docstring, applied: ``holdout`` against ``no_holdout`` on the 10-K
    selection part (seed means), and what it chose."""
    import numpy as np

    from llama_index.finetuning.evaluation.stats import paired_difference

    by = {(r["seed"], r["arm"]): r for r in records if r["run"] == "10k_weak" and "selection" in r}
    seeds = sorted(s for (s, arm) in by if arm == "no_holdout" and (s, "holdout") in by)
    if not seeds:
        return []
    lines = [
        "",
        "## The hold-out default, by the rule (10-K selection part: uber_reference.json)",
        "",
        "| seed | holdout (0.2) | no_holdout (0) | all (0, unmerged) | v04 | no_holdout - "
        "holdout [95% CI] |",
        "|---|---:|---:|---:|---:|---|",
    ]
    means: dict[str, list[float]] = {"holdout": [], "no_holdout": [], "all": [], "v04": []}
    for seed in seeds:
        a, b = by[(seed, "no_holdout")], by[(seed, "holdout")]
        d = paired_difference(
            np.asarray(a["selection"]["per_query"]), np.asarray(b["selection"]["per_query"])
        )
        for arm in means:
            if (seed, arm) in by:
                means[arm].append(by[(seed, arm)]["selection"]["ndcg@10"])
        other = {
            arm: by.get((seed, arm), {}).get("selection", {}).get("ndcg@10")
            for arm in ("all", "v04")
        }
        cells = " | ".join("-" if v is None else f"{v:.4f}" for v in other.values())
        lines.append(
            f"| {seed} | {b['selection']['ndcg@10']:.4f} | {a['selection']['ndcg@10']:.4f} | "
            f"{cells} | {d.difference:+.4f} [{d.low:+.4f}, {d.high:+.4f}] ({d.wins}/{d.losses}) |"
        )
    seed_means = ", ".join(f"{arm} {np.mean(v):.4f}" for arm, v in means.items() if v)
    held, none = float(np.mean(means["holdout"])), float(np.mean(means["no_holdout"]))
    chosen = "0 (nothing held out)" if none >= held - 0.005 else "0.2 (the hold-out stays)"
    lines += [
        "",
        f"Seed means: {seed_means} (base "
        f"{by[(seeds[0], 'holdout')]['selection']['vs_base']['base']:.4f}). Rule: 0 unless "
        f"no_holdout is more than 0.005 below holdout. **Chosen: {chosen}.**",
    ]
    return lines


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
    pairs = [
        ("defaults", "v04"), ("defaults", "all"), ("hard_negatives", "no_negatives"),
        ("no_holdout", "holdout"), ("no_holdout", "v04"), ("holdout", "v04"),
        ("no_holdout", "all"), ("holdout", "all"), ("defaults", "unchecked"),
        ("defaults", "whole"),
    ]  # fmt: skip
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
                    f"| {run_name} | {seed} | {a} - {b} | {wall_ratio(x, y)} | "
                    f"{d.difference:+.4f} [{d.low:+.4f}, {d.high:+.4f}] ({d.wins}/{d.losses}) |"
                )
            if len(scores_a) > 1:
                d = paired_difference(np.mean(scores_a, axis=0), np.mean(scores_b, axis=0))
                same = [s for s in seeds if same_code(by[(run_name, s, a)], by[(run_name, s, b)])]
                ratio = np.mean(
                    [by[(run_name, s, a)]["wall_s"] / by[(run_name, s, b)]["wall_s"] for s in same]
                ) if same else None  # fmt: skip
                lines.append(
                    f"| {run_name} | mean of {len(scores_a)} | {a} - {b} | "
                    f"{'-' if ratio is None else f'{ratio:.2f}x'} | "
                    f"**{d.difference:+.4f} [{d.low:+.4f}, {d.high:+.4f}]** ({d.wins}/{d.losses}) |"
                )
    return lines


def same_code(x: dict, y: dict) -> bool:
    return x.get("code", "").rstrip("+") == y.get("code", "").rstrip("+")


def wall_ratio(x: dict, y: dict) -> str:
    """The wall-time ratio of two records, only where the same library code ran both (records
    of other codes ran in other sessions: their times are not compared)."""
    return f"{x['wall_s'] / y['wall_s']:.2f}x" if same_code(x, y) else "- (other code)"


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
        old = MD.read_text() if MD.exists() else ""
        reading = old[old.index(READING) :] if READING in old else ""  # written by hand
        MD.write_text(markdown(records, args.note) + ("\n" + reading if reading else ""))
        print(MD.read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
