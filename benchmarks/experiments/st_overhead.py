"""Where the ST engine's time goes, stage by stage, against the bare sentence-transformers trainer.

Reproduce:  flock /tmp/bench.lock .venv/bin/python benchmarks/experiments/st_overhead.py

Data: benchmarks/data/lyft_train.json (train pairs) and benchmarks/data/uber_val.json (val
set, for the rows that have one). Base model: all-MiniLM-L6-v2 (the bundled offline folder),
1 epoch, batch 10, on the CPU (no GPU lent to this run), evaluation_steps=10 so that a short
run evaluates and checkpoints as a long one does.

BARE (the baseline): SentenceTransformerTrainer + MultipleNegativesRankingLoss on the same
(question, chunk) pairs, same batch size, learning rate and warmup, no evaluator, no saves.
LANDED: the engine with the settings it had before this change (checkpoint every
evaluation_steps, two kept; mining batches of 32), reproduced through ``training_args`` and
the mining batch constant. OURS: the engine as it is (with a val set a checkpoint only when
the val metric improves, one kept; mining batches of 128).

Stages are timed by wrapping the library calls (the engine module's public names and
sentence-transformers' own): model load (``load_sentence_transformer``), mining
(``with_hard_negatives``: one encode pass over the corpus and the questions), evaluation
(``InformationRetrievalEvaluator.__call__``, the model card's base evaluation included),
checkpoint saves (``Trainer._save_checkpoint``), training steps (``trainer.train()`` minus the
evaluations and saves inside it) and the rest (final save, model card, data set-up).
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from collections import defaultdict
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
HERE = Path(__file__).resolve().parent
BENCH = HERE.parent  # benchmarks/: the shared data sets

import torch  # noqa: E402
from sentence_transformers import (  # noqa: E402
    SentenceTransformer,
    SentenceTransformerTrainer,
    SentenceTransformerTrainingArguments,
)
from sentence_transformers.sentence_transformer.evaluation import (  # noqa: E402
    InformationRetrievalEvaluator,
)
from sentence_transformers.sentence_transformer.losses import (  # noqa: E402
    MultipleNegativesRankingLoss,
)

from llama_index.finetuning import (  # noqa: E402
    EmbeddingQAFinetuneDataset,
    SentenceTransformersFinetuneEngine,
)
from llama_index.finetuning.embeddings import sentence_transformer as st_module  # noqa: E402
from llama_index.finetuning.embeddings.negatives import training_pairs  # noqa: E402
from llama_index.finetuning.embeddings.training_setup import warmup_kwargs  # noqa: E402
from llama_index.finetuning.resources import offline_base_model_path  # noqa: E402

# set from the command line (small enough for a busy 2-core machine)
MAX_SEQ_LENGTH = 128
EVALUATION_STEPS = 4
STAGES = ["load model", "mining", "training steps", "evaluation", "checkpoint saves", "rest"]


class Timer:
    """Adds the time spent in wrapped callables to named stages."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.count: dict[str, int] = defaultdict(int)
        self._undo: list = []

    def wrap(self, owner, name: str, stage: str) -> None:
        original = getattr(owner, name)

        def timed(*args, **kwargs):
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.seconds[stage] += time.perf_counter() - started
                self.count[stage] += 1

        setattr(owner, name, timed)
        self._undo.append((owner, name, original))

    def restore(self) -> None:
        for owner, name, original in reversed(self._undo):
            setattr(owner, name, original)
        self._undo.clear()


REPRODUCE = (
    "Reproduce: `flock /tmp/bench.lock .venv/bin/python benchmarks/experiments/st_overhead.py`"
)


def timed_run(label: str, work) -> dict:
    timer = Timer()
    timer.wrap(InformationRetrievalEvaluator, "__call__", "evaluation")
    timer.wrap(SentenceTransformerTrainer, "_save_checkpoint", "checkpoint saves")
    timer.wrap(SentenceTransformerTrainer, "train", "train()")
    timer.wrap(st_module, "with_hard_negatives", "mining")
    timer.wrap(st_module, "load_sentence_transformer", "load model")
    started = time.perf_counter()
    try:
        steps = work(timer)
    finally:
        timer.restore()
    total = time.perf_counter() - started
    s = dict(timer.seconds)
    in_train = s.get("checkpoint saves", 0.0) + timer.seconds.get("eval in train", 0.0)
    s["training steps"] = s.pop("train()", 0.0) - in_train
    s["rest"] = total - sum(s[k] for k in STAGES if k in s and k != "rest")
    return {"label": label, "total": total, "stages": s, "count": dict(timer.count), "steps": steps}


def bare(train: EmbeddingQAFinetuneDataset, root: Path, lr: float, mined: bool = False):
    """SentenceTransformerTrainer + MNRL on the pairs; with ``mined``, one negative per
    question mined by sentence-transformers' ``mine_hard_negatives`` (top-ranked, 5% margin,
    as the engine asks). No evaluator, no saves."""

    def work(timer: Timer) -> int:
        from sentence_transformers.util import mine_hard_negatives

        started = time.perf_counter()
        model = SentenceTransformer(str(offline_base_model_path()), device="cpu")
        model.max_seq_length = MAX_SEQ_LENGTH
        timer.seconds["load model"] += time.perf_counter() - started
        rows = training_pairs(train)
        if mined:
            started = time.perf_counter()
            rows = mine_hard_negatives(
                rows, model, corpus=list(dict.fromkeys(train.corpus.values())),
                num_negatives=1, range_max=11, relative_margin=0.05, sampling_strategy="top",
                output_format="triplet", batch_size=st_module.MINING_BATCH_SIZE, verbose=False,
            )  # fmt: skip
            timer.seconds["mining"] += time.perf_counter() - started
        args = SentenceTransformerTrainingArguments(
            output_dir=str(root / ("bare_mined" if mined else "bare")), num_train_epochs=1,
            per_device_train_batch_size=10, learning_rate=lr, seed=42, save_strategy="no",
            report_to="none", use_cpu=True, disable_tqdm=True, **warmup_kwargs(0.1),
        )  # fmt: skip
        trainer = SentenceTransformerTrainer(
            model=model, args=args, train_dataset=rows, loss=MultipleNegativesRankingLoss(model),
        )  # fmt: skip
        trainer.train()
        return trainer.state.global_step

    return work


def engine(train, val, root: Path, name: str, hard_negatives: int, landed: bool = False):
    def work(timer: Timer) -> int:
        # evaluations inside train() are subtracted from the training steps
        original_train = SentenceTransformerTrainer.train

        def train_marking(self, *args, **kwargs):
            before = timer.seconds["evaluation"]
            try:
                return original_train(self, *args, **kwargs)
            finally:
                timer.seconds["eval in train"] += timer.seconds["evaluation"] - before

        SentenceTransformerTrainer.train = train_marking
        mining_batch = st_module.MINING_BATCH_SIZE
        if landed:
            st_module.MINING_BATCH_SIZE = 32
        try:
            e = SentenceTransformersFinetuneEngine(
                train, model_id=str(offline_base_model_path()),
                model_output_path=str(root / name), val_dataset=val, epochs=1,
                evaluation_steps=EVALUATION_STEPS, hard_negatives=hard_negatives, device="cpu",
                max_seq_length=MAX_SEQ_LENGTH,
                show_progress_bar=False,
                training_args=(
                    {"save_strategy": "steps", "save_total_limit": 2} if landed else None
                ),
            )  # fmt: skip
            e.finetune()
            return int(e.log_history[-1].get("step", 0)) if e.log_history else 0
        finally:
            SentenceTransformerTrainer.train = original_train
            st_module.MINING_BATCH_SIZE = mining_batch

    return work


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", default=str(BENCH / "data" / "lyft_train.json"))
    parser.add_argument("--val", default=str(BENCH / "data" / "uber_val.json"))
    parser.add_argument("--out", default=str(HERE / "results" / "st_overhead.md"))
    parser.add_argument("--pairs", type=int, default=120, help="first N train questions")
    parser.add_argument("--val-queries", type=int, default=60, help="first N val questions")
    parser.add_argument("--max-seq-length", type=int, default=MAX_SEQ_LENGTH)
    parser.add_argument("--evaluation-steps", type=int, default=EVALUATION_STEPS)
    args = parser.parse_args()
    globals().update(MAX_SEQ_LENGTH=args.max_seq_length, EVALUATION_STEPS=args.evaluation_steps)
    train = EmbeddingQAFinetuneDataset.from_json(args.train)
    train = train.subset(list(train.queries)[: args.pairs])
    val = EmbeddingQAFinetuneDataset.from_json(args.val)
    val = val.subset(list(val.queries)[: args.val_queries])
    lr = st_module.DEFAULT_LEARNING_RATE
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        # warm-up (not shown): the first training in a process pays for torch's start-up
        timed_run("warm-up", bare(train.subset(list(train.queries)[:20]), root, lr))
        plan = [
            ("BARE: SentenceTransformerTrainer + MNRL", bare(train, root, lr)),
            ("engine, 1 hard negative (default), no val", engine(train, None, root, "e1", 1)),
            ("engine, 0 hard negatives, no val", engine(train, None, root, "e0", 0)),
            ("LANDED engine, 1 hard negative, val set", engine(train, val, root, "l", 1, True)),
            ("engine, 1 hard negative (default), val set", engine(train, val, root, "o", 1)),
            ("BARE again (drift of the machine)", bare(train, root, lr)),
            ("BARE + 1 negative mined by `mine_hard_negatives`", bare(train, root, lr, mined=True)),
        ]
        runs = []
        for label, work in plan:
            runs.append(timed_run(label, work))
            write(args, train, val, runs, load_before, len(plan))


def machine_state(load_before: float, load_after: float) -> str:
    cores = os.cpu_count() or 1
    seen = f"load average {load_before:.1f} before, {load_after:.1f} after"
    # the run's own torch threads load every core, so only the load before it tells
    if load_before > cores / 2:
        return f"busy (shared with other jobs: {seen}), so compare rows of this run only"
    return f"quiet ({seen}: the run's own torch threads)"


def write(args, train, val, runs, load_before: float, planned: int) -> None:
    load_after = os.getloadavg()[0]
    bare_total = runs[0]["total"]
    lines = [
        "## ST engine: where the time goes, against the bare trainer (CPU)",
        "",
        f"{len(train.queries)} Lyft pairs (train), all-MiniLM-L6-v2 (max_seq_length "
        f"{MAX_SEQ_LENGTH}), 1 epoch, batch 10, evaluation_steps={EVALUATION_STEPS}; val set: "
        f"{len(val.queries)} Uber questions / {len(val.corpus)} "
        f"chunks. Machine: {platform.machine()}, {os.cpu_count()} CPU cores, no GPU, "
        f"torch {torch.__version__} ({torch.get_num_threads()} threads), Python "
        f"{platform.python_version()}; {machine_state(load_before, load_after)}.",
        "",
        "| run | steps | " + " | ".join(STAGES) + " | end to end (s) | bare / run |",
        "|---|" + "---:|" * (len(STAGES) + 3),
    ]
    for r in runs:
        cells = []
        for stage in STAGES:
            seconds = r["stages"].get(stage, 0.0)
            n = r["count"].get(stage, 0)
            shown = f"{seconds:.1f}"
            if stage in ("evaluation", "checkpoint saves") and n:
                shown += f" ({n}x)"
            cells.append(shown)
        lines.append(
            f"| {r['label']} | {r['steps']} | " + " | ".join(cells) + f" | {r['total']:.1f} | "
            f"{bare_total / r['total']:.2f}x |"
        )
    if len(runs) < planned:
        lines += ["", f"(run in progress: {len(runs)} of {planned} rows measured so far)"]
    if len(runs) < 5:
        lines += ["", REPRODUCE, ""]
        Path(args.out).write_text("\n".join(lines), encoding="utf-8")
        print("\n".join(lines), flush=True)
        return
    landed, ours = runs[3], runs[4]
    lines += [
        "",
        f"With a val set, ours {ours['total']:.1f} s vs the landed settings "
        f"{landed['total']:.1f} s: checkpoint saves "
        f"{landed['stages'].get('checkpoint saves', 0):.1f} s "
        f"({landed['count'].get('checkpoint saves', 0)}x) -> "
        f"{ours['stages'].get('checkpoint saves', 0):.1f} s "
        f"({ours['count'].get('checkpoint saves', 0)}x); mining "
        f"{landed['stages'].get('mining', 0):.1f} s -> {ours['stages'].get('mining', 0):.1f} s. "
        "Evaluation is the base model's (for the model card) plus one every evaluation_steps; "
        "each embeds the whole val corpus with the model as it is then.",
    ]
    if len(runs) >= 7:
        mined, ours_no_val = runs[6], runs[1]
        lines += [
            "",
            f"Against the bare trainer with the same one mined negative "
            f"({mined['total']:.1f} s end to end, mining {mined['stages'].get('mining', 0):.1f} s),"
            f" the engine without a val set takes {ours_no_val['total']:.1f} s: "
            f"{mined['total'] / ours_no_val['total']:.2f}x end to end, on {ours_no_val['steps']} "
            f"steps against the bare run's {mined['steps']}; per "
            f"training step {mined['stages']['training steps'] / max(mined['steps'], 1):.2f} s "
            f"against {ours_no_val['stages']['training steps'] / max(ours_no_val['steps'], 1):.2f}"
            " s. `mine_hard_negatives` drops the questions for which no chunk passes the margin "
            "(fewer steps); the engine gives those a random chunk that is not a positive, so "
            "every pair is trained on. The engine also saves checkpoints a killed run resumes "
            "from, and the model card.",
        ]
    lines += [
        "",
        REPRODUCE,
        "",
    ]
    Path(args.out).write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
