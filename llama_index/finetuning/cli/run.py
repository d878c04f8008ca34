"""``llamaindex-finetune run``: files -> pairs -> finetuned model + adapter -> an honest report.

Example::

    llamaindex-finetune run --train lyft_2021.pdf --val uber_2021.pdf --max-chunks 100

The validation pairs choose things (the best training checkpoint, the best adapter epoch),
so they cannot also be the figures reported: without ``--test``, they are split by chunk
(seeded by ``--seed``, no chunk in both parts) into a selection part and a report part, and
the table printed first is computed on the report part only. Everything needed to redo the
run is recorded in ``<output-dir>/run.json`` (the sampled chunk ids, the split, the sets).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from .steps import (
    CLIError,
    build_embed_model,
    check_llm_spec,
    evaluate_models,
    generate_dataset,
    load_chunks,
    logger,
    train_adapter,
    train_model,
)

# Seconds the bundled question writer (SmolLM2-135M through llama.cpp, 4 slots, 2 threads)
# takes per chunk on a quiet 2-core machine: about 0.9 s plus 4.5 ms per token of chunk (the
# prompt pass dominates): 3.2 s at 512 tokens, 5.5 s at 1024 (measured for the up-front
# estimate; benchmarks/results/demo.md has the demo's measured stage times).
SECONDS_PER_CHUNK_LOCAL = 0.9
SECONDS_PER_CHUNK_TOKEN_LOCAL = 0.0045

STAGES = 6


def _estimate(args: argparse.Namespace, n_chunks: int) -> str:
    if args.generator != "llm":
        return "seconds (no LLM)"
    if args.llm == "local" or args.llm.startswith("gguf:"):
        per_chunk = SECONDS_PER_CHUNK_LOCAL + SECONDS_PER_CHUNK_TOKEN_LOCAL * args.chunk_size
        minutes = n_chunks * per_chunk / 60
        return f"roughly {minutes:.0f} min on 2 CPU cores ({per_chunk:.1f} s a chunk)"
    return "as fast as the LLM server answers"


def _check_inputs(args: argparse.Namespace, out: Path) -> None:
    """Every input and output of the run, before any work (a bad --val used to surface only
    after the training questions were written)."""
    from ..documents import check_inputs
    from ..outputs import check_output_dir, check_output_file

    check_output_dir(out, args.overwrite)
    for flag, paths in (("--train", args.train), ("--val", args.val), ("--test", args.test)):
        if paths:
            try:
                check_inputs(paths)
            except ValueError as e:
                raise CLIError(f"{flag}: {e}") from None
    if not args.test and not 0.0 < args.report_fraction < 1.0:
        raise CLIError(f"--report-fraction must be between 0 and 1, got {args.report_fraction}")
    check_llm_spec(args)
    for name in ("train_dataset.json", "val_dataset.json", "test_dataset.json"):
        check_output_file(out / name, args.overwrite)


def _split_val(val: Any, args: argparse.Namespace, out: Path) -> tuple[Any, Any, str]:
    """(selection set, report set, where the report set comes from)."""
    if len(val.corpus) < 2:
        raise CLIError(
            f"the --val files gave questions on {len(val.corpus)} chunk(s): too few to split "
            "into a selection part and a report part; give more (--max-val-chunks) or --test"
        )
    # Both parts search every val chunk; only their questions (and answers) are disjoint.
    select, report = val.split(val_fraction=args.report_fraction, seed=args.seed, keep_corpus=True)
    select.save_json(out / "val_select.json")
    report.save_json(out / "val_report.json")
    return select, report, f"the report part of the --val pairs ({out / 'val_report.json'})"


def _answer_chunks(dataset: Any) -> list[str]:
    """The chunks that answer some question of ``dataset`` (the rest are distractors)."""
    return sorted({d for docs in dataset.relevant_docs.values() for d in docs})


def run(args: argparse.Namespace) -> None:
    """See the module docstring."""
    from ..outputs import atomic_write_text, claim_dir

    out = Path(args.output_dir)
    _check_inputs(args, out)
    claim_dir(out, "run", args.overwrite)
    started = time.perf_counter()

    def stage(n: int, text: str) -> None:
        logger.info("[%d/%d, %.0f s] %s", n, STAGES, time.perf_counter() - started, text)

    stage(1, "reading and splitting the documents")
    max_val = args.max_val_chunks or args.max_chunks
    sets = {"train": (args.train, args.max_chunks), "val": (args.val, max_val)}
    if args.test:
        sets["test"] = (args.test, max_val)
    nodes = {name: load_chunks(paths, args, limit) for name, (paths, limit) in sets.items()}
    n_asked = sum(len(n) for n in nodes.values())
    parts = ", ".join(f"{len(n)} {name}" for name, n in nodes.items())
    print(f"asking for questions on {n_asked} chunks ({parts}): {_estimate(args, n_asked)}")
    if args.max_chunks or args.max_val_chunks:
        print(
            "  a seeded sample of each file's chunks; for all of them, leave out --max-chunks "
            "and --max-val-chunks (make demo DEMO_ARGS=)"
        )
    record: dict[str, Any] = {
        "command": "run",
        "seed": args.seed,
        "max_chunks": args.max_chunks,
        "max_val_chunks": max_val,
        "chunks": {name: [n.node_id for n in ns] for name, ns in nodes.items()},
    }
    atomic_write_text(out / "run.json", json.dumps(record, indent=2))

    stage(2, "questions for the training files")
    train = generate_dataset(nodes["train"], out / "train_dataset.json", args)
    stage(3, "questions for the validation files")
    val = generate_dataset(nodes["val"], out / "val_dataset.json", args)
    if args.test:
        test = generate_dataset(nodes["test"], out / "test_dataset.json", args)
        select, report, source = val, test, f"the --test pairs ({out / 'test_dataset.json'})"
    else:
        select, report, source = _split_val(val, args, out)
    record["sets"] = {
        "selection": {"queries": len(select), "chunks": _answer_chunks(select)},
        "report": {"queries": len(report), "chunks": _answer_chunks(report), "source": source},
    }
    atomic_write_text(out / "run.json", json.dumps(record, indent=2))
    print(
        f"pairs: {len(train)} train; {len(select)} select the checkpoint and adapter epoch, "
        f"{len(report)} are reported on: {source}"
    )

    base_name = "the bundled all-MiniLM-L6-v2" if args.model == "offline" else args.model
    stage(4, f"finetuning {base_name} on the training pairs")
    model_dir = train_model(train, select, out / "finetuned_model", args)
    stage(5, f"training a {args.adapter} adapter over {base_name}")
    adapter_dir = train_adapter(train, select, out / "adapter", args)
    stage(6, "evaluating base, finetuned and adapter")
    models = {
        "base": build_embed_model(args.model),
        "finetuned": build_embed_model(f"local:{model_dir}"),
        "adapter": build_embed_model(f"adapter:{adapter_dir}", base=args.model),
    }
    evaluate_models(
        report, models, out / "report", args.top_k, args.overwrite,
        title=f"REPORT: {len(report)} questions that chose nothing: {source}",
        dataset_name=source, seed=args.seed,
    )  # fmt: skip
    evaluate_models(
        select, models, out / "report_selection", args.top_k, args.overwrite,
        title=f"for comparison, the {len(select)} selection questions (they chose the "
        "checkpoint and the adapter epoch, so they flatter):",
        dataset_name="the selection part of the --val pairs (it chose the checkpoint and the "
        "adapter epoch)", seed=args.seed,
    )  # fmt: skip
    print(f"total time: {time.perf_counter() - started:.0f} s")
