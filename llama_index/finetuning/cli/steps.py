"""Arguments -> library calls: each function maps the parsed flags to one library function.

Example::

    from llama_index.finetuning.cli.parser import build_parser
    from llama_index.finetuning.cli.steps import generate_dataset, load_chunks

    args = build_parser().parse_args(["generate", "docs/", "--generator", "pseudo"])
    dataset = generate_dataset(load_chunks(args.inputs, args, None), Path("d.json"), args)
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ..job import questions, training
from ..model_specs import BASES, build_embed_model, build_llm, check_model, parse_spec
from ..phrasing import Echo, Phrasing
from .errors import CLIError, IncompleteRun

__all__ = ["CLIError", "IncompleteRun", "build_embed_model", "build_llm", "check_model"]

RERUN = "rerun the same command to ask only those again"
# The settings whose flag advice names (the rest are said as they are).
FLAGS = {
    name: "--" + name.replace("_", "-")
    for name in (
        "train", "val", "test", "max_chunks", "max_val_chunks", "report_fraction", "prompt",
        "temperature", "quality_filter", "skip_unreadable", "round_trip_model", "overwrite",
        "append",
    )
} | {"model_id": "--model"}  # fmt: skip

# -q: informational lines (estimates, resume counts, the gate's counts) are left out.
settings: dict[str, Any] = {"quiet": False, "argv": None}  # argv: main's, for rerun lines


def say(text: str) -> None:
    """An informational line on stdout, unless ``-q``."""
    echo().info(text)


def echo() -> Echo:
    """How this command prints: informational lines unless ``-q``."""
    return Echo(quiet=bool(settings["quiet"]))


def phrasing() -> Phrasing:
    """Advice in the command line's words: flags, and this command to rerun."""
    return Phrasing(flags=FLAGS, rerun=f"{RERUN}: {rerun_command()}", command="the command")


def rerun_command() -> str:
    """The command line of this run (``main``'s argv), ready to paste."""
    import shlex
    import sys

    argv = settings.get("argv")
    return shlex.join(["llamaindex-finetune", *(sys.argv[1:] if argv is None else argv)])


def estimate(args: argparse.Namespace, n_chunks: int) -> str:
    """How long asking for questions on ``n_chunks`` chunks may take, in words."""
    return questions.estimate(args.generator, args.llm, args.chunk_size, n_chunks)


def load_chunks(paths: list[str], args: argparse.Namespace, max_chunks: int | None) -> list:
    """Files -> chunks, sampled per file (``max_chunks``, seeded by ``--seed``)."""
    return questions.load_chunks(
        paths, chunk_size=args.chunk_size, chunk_overlap=args.chunk_overlap, seed=args.seed,
        max_chunks=max_chunks, skip_unreadable=args.skip_unreadable, say=phrasing(),
    )  # fmt: skip


def check_dataset_contract(nodes: list, output: Path, args: argparse.Namespace) -> None:
    """Refuse (exit 2) a dataset output that holds other chunks than ``nodes``'."""
    questions.check_dataset_contract(nodes, output, append=args.append, overwrite=args.overwrite)


def generate_dataset(nodes: list, output: Path, args: argparse.Namespace) -> Any:
    """Chunks -> pairs saved to ``output``, as ``generate``'s flags say
    (:func:`..job.questions.ask_questions`)."""
    llm, round_trip = None, None
    if args.generator == "llm":
        llm = build_llm(args.llm, args.api_base, args.api_key, args.temperature)
        if args.round_trip_k:
            round_trip = build_embed_model(
                args.round_trip_model or getattr(args, "model", "offline")
            )
    return questions.ask_questions(
        nodes, output, llm=llm, generator=args.generator, num_questions=args.num_questions,
        prompt=args.prompt, quality_filter=args.quality_filter, follow_up=args.follow_up,
        round_trip_k=args.round_trip_k, round_trip_model=round_trip,
        num_workers=args.num_workers, append=args.append, overwrite=args.overwrite,
        seed=args.seed, say=phrasing(), echo=echo(),
    )  # fmt: skip


def train_model(train: Any, val: Any, output: Path, args: argparse.Namespace) -> Any:
    """``train``'s flags -> :func:`..job.training.train_model` (its FinetuneResult)."""
    return training.train_model(
        train, val, output, model=args.model, epochs=args.epochs, batch_size=args.batch_size,
        hard_negatives=args.hard_negatives, merge=getattr(args, "merge", None),
        holdout=getattr(args, "holdout", None),
        overwrite=args.overwrite, show_progress=not settings["quiet"],
        verbose=bool(getattr(args, "verbose", False)),
    )  # fmt: skip


def train_adapter(train: Any, val: Any, output: Path, args: argparse.Namespace) -> Any:
    """``adapt``'s flags -> :func:`..job.training.train_adapter` (its FinetuneResult)."""
    return training.train_adapter(
        train, val, output, base=build_embed_model(args.model), adapter=args.adapter,
        epochs=args.adapter_epochs, batch_size=args.adapter_batch_size,
        holdout=getattr(args, "holdout", None),
        overwrite=args.overwrite,
    )  # fmt: skip


def ending_line(output: Path, kind: str = "model") -> str:
    """The last line of ``train`` (``kind="model"``) or ``adapt``: what was saved and why, read
    from the result the engine saved with it (a kept base model says so, with both scores)."""
    from ..embeddings.finetune_result import FinetuneResult

    prefix = "adapter" if kind == "adapter" else "local"
    return FinetuneResult.load(output).ending(f"{prefix}:{output}")


def load_dataset(path: str) -> Any:
    """The dataset JSON a command was given, refused (exit 2) if missing or empty."""
    from ..dataset import EmbeddingQAFinetuneDataset

    if not Path(path).is_file():
        raise CLIError(
            f"dataset {path!r} does not exist (make one with `llamaindex-finetune generate`)"
        )
    ds = EmbeddingQAFinetuneDataset.from_json(path)
    if not len(ds):
        raise CLIError(
            f"{path}: the dataset has no questions (make one with `llamaindex-finetune generate`)"
        )
    return ds


def check_models(items: list[str], base: str) -> dict[str, str]:
    """``NAME=SPEC`` items -> {name: spec}, each parsed and checked (no model is loaded)."""
    specs: dict[str, str] = {}
    for item in items:
        name, sep, spec = item.partition("=")
        if not sep or not name or not spec:
            raise CLIError(
                f"--model {item!r}: use NAME=SPEC, e.g. base=offline or tuned=local:my_model"
            )
        parsed = parse_spec(spec, f"--model {item}")
        check_model(parsed, f"--model {item}")
        if parsed.kind == "adapter":
            check_model(parse_spec(base, f"--base {base}", BASES), f"--base {base}")
        specs[name] = spec
    return specs
