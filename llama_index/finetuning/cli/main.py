"""``llamaindex-finetune``: from PDFs to a better embedding model and the proof, in one command.

Example::

    llamaindex-finetune run --train lyft_2021.pdf --val uber_2021.pdf --output-dir out
    llamaindex-finetune generate docs/ --output train.json --llm openai:gpt-4o-mini
    llamaindex-finetune train train.json --val val.json --output my_model
    llamaindex-finetune adapt train.json --val val.json --output my_adapter
    llamaindex-finetune evaluate val.json --model base=offline --model tuned=local:my_model

Every subcommand has ``--help``. Models are named as ``offline`` (the bundled
all-MiniLM-L6-v2), ``local:<hub id or folder>``, ``openai:<model>`` or, for evaluation,
``adapter:<folder>`` (over ``--base``). LLMs are ``local`` (the bundled SmolLM2, default),
``openai:<model>`` (needs OPENAI_API_KEY) or ``openai-like:<model>`` with ``--api-base``.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
import warnings
from pathlib import Path

from .steps import (
    DEFAULT_GENERATOR,
    GENERATORS,
    CLIError,
    build_embed_model,
    evaluate_models,
    generate_dataset,
    load_dataset,
    logger,
    parse_models,
    train_adapter,
    train_model,
)

# ---- subcommands -------------------------------------------------------------------------


def cmd_generate(args: argparse.Namespace) -> None:
    ds = generate_dataset(args.inputs, Path(args.output), args)
    print(f"{len(ds)} questions over {len(ds.corpus)} chunks -> {args.output}")


def cmd_train(args: argparse.Namespace) -> None:
    val = load_dataset(args.val) if args.val else None
    train_model(load_dataset(args.dataset), val, Path(args.output), args)
    print(f"finetuned model saved to {args.output} (use it as 'local:{args.output}')")


def cmd_adapt(args: argparse.Namespace) -> None:
    val = load_dataset(args.val) if args.val else None
    train_adapter(load_dataset(args.dataset), val, Path(args.output), args)
    print(f"adapter saved to {args.output} (use it as 'adapter:{args.output}')")


def cmd_evaluate(args: argparse.Namespace) -> None:
    models = parse_models(args.model or ["base=offline"], args.base)
    evaluate_models(load_dataset(args.dataset), models, Path(args.output_dir), args.top_k)


def cmd_run(args: argparse.Namespace) -> None:
    out = Path(args.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()

    def stage(n: int, text: str) -> None:
        logger.info("[%d/5, %.0f s] %s", n, time.perf_counter() - started, text)

    stage(1, "questions for the training files")
    train = generate_dataset(args.train, out / "train_dataset.json", args)
    stage(2, "questions for the validation files")
    val = generate_dataset(args.val, out / "val_dataset.json", args)
    print(f"pairs: {len(train)} train, {len(val)} validation")
    base_name = "the bundled all-MiniLM-L6-v2" if args.model == "offline" else args.model
    stage(3, f"finetuning {base_name} on the training pairs")
    model_dir = train_model(train, val, out / "finetuned_model", args)
    stage(4, f"training a {args.adapter} adapter over {base_name}")
    adapter_dir = train_adapter(train, val, out / "adapter", args)
    stage(5, "evaluating base, finetuned and adapter on the validation pairs")
    models = {
        "base": build_embed_model(args.model),
        "finetuned": build_embed_model(f"local:{model_dir}"),
        "adapter": build_embed_model(f"adapter:{adapter_dir}", base=args.model),
    }
    evaluate_models(val, models, out / "report", args.top_k)
    print(f"total time: {time.perf_counter() - started:.0f} s")


# ---- argument parsing ----------------------------------------------------------------------


def _add_generation_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("question generation")
    g.add_argument(
        "--generator",
        choices=GENERATORS,
        default=DEFAULT_GENERATOR,
        help="llm: an LLM writes questions; pseudo: sentences of the chunk, no LLM "
        "(default: %(default)s)",
    )
    g.add_argument(
        "--llm",
        default="local",
        help="local | openai:<model> | openai-like:<model> (default: local)",
    )
    g.add_argument(
        "--api-base", default=os.environ.get("OPENAI_API_BASE"), help="server URL for openai-like"
    )
    g.add_argument("--api-key", default=None, help="API key (default: $OPENAI_API_KEY)")
    g.add_argument("--num-questions", type=int, default=2, help="questions per chunk (default: 2)")
    g.add_argument("--num-workers", type=int, default=16, help="LLM calls in flight (default: 16)")
    g.add_argument(
        "--max-chunks",
        type=int,
        default=None,
        help="use an evenly spaced sample of this many chunks per input (a quick look)",
    )
    g.add_argument("--chunk-size", type=int, default=1024)
    g.add_argument("--chunk-overlap", type=int, default=200)
    g.add_argument("--seed", type=int, default=0)


def _add_training_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("training (defaults: the measured best, see benchmarks/RESULTS.md)")
    g.add_argument(
        "--model",
        default="offline",
        help="base model: offline | <hub id or folder> (default: offline)",
    )
    g.add_argument("--epochs", type=int, default=None)
    g.add_argument("--batch-size", type=int, default=None)
    g.add_argument("--hard-negatives", type=int, default=None, help="mined negatives per question")


def _add_adapter_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("adapter")
    g.add_argument("--adapter", choices=("linear", "two-layer"), default="linear")
    g.add_argument("--adapter-epochs", type=int, default=None)
    g.add_argument("--adapter-batch-size", type=int, default=None)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="llamaindex-finetune", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log more")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("generate", help="files or folders -> question/chunk pairs (JSON)")
    p.add_argument("inputs", nargs="+", help="PDF/text files or folders")
    p.add_argument("--output", "-o", default="train_dataset.json")
    _add_generation_options(p)
    p.set_defaults(func=cmd_generate)

    p = sub.add_parser("train", help="finetune a sentence-transformers model on a dataset")
    p.add_argument("dataset")
    p.add_argument("--val", default=None, help="validation dataset: keeps the best checkpoint")
    p.add_argument("--output", "-o", default="finetuned_model")
    _add_training_options(p)
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("adapt", help="train an adapter over a frozen embedding model")
    p.add_argument("dataset")
    p.add_argument("--val", default=None)
    p.add_argument("--output", "-o", default="adapter")
    p.add_argument("--model", default="offline", help="base: offline | local:<id> | openai:<model>")
    _add_adapter_options(p)
    p.set_defaults(func=cmd_adapt)

    p = sub.add_parser("evaluate", help="compare models on a dataset: table, PNG and JSON")
    p.add_argument("dataset")
    p.add_argument("--model", action="append", help="NAME=SPEC, repeatable (default: base=offline)")
    p.add_argument("--base", default="offline", help="base model under adapter:<folder> specs")
    p.add_argument("--top-k", type=int, nargs="+", default=[1, 5, 10])
    p.add_argument("--output-dir", default="evaluation")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser(
        "run", help="the whole tutorial: pairs -> finetuned model + adapter -> comparison"
    )
    p.add_argument("--train", nargs="+", required=True, help="training files or folders")
    p.add_argument("--val", nargs="+", required=True, help="validation files or folders")
    p.add_argument("--output-dir", default="finetune_run")
    p.add_argument("--top-k", type=int, nargs="+", default=[1, 5, 10])
    _add_generation_options(p)
    _add_training_options(p)
    _add_adapter_options(p)
    p.set_defaults(func=cmd_run)
    return parser


def _quiet_libraries() -> None:
    """Leave the terminal to our progress bars, warnings and table (``-v`` keeps it all).

    Each model load would draw transformers' "Loading weights" bar, pypdf logs every PDF
    xref it repairs, and a Python warning would print the library line it came from.
    """
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")  # transformers' bars follow it
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    warnings.showwarning = lambda message, category, *args, **kwargs: print(
        f"warning: {message}", file=sys.stderr
    )


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if not args.verbose:
        _quiet_libraries()
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    if args.verbose is False:
        logging.getLogger("llamaindex-finetune").setLevel(logging.INFO)
    from ..documents import DocumentError

    try:
        args.func(args)
    except (CLIError, DocumentError, FileNotFoundError) as e:
        print(f"llamaindex-finetune {args.command}: error: {e}", file=sys.stderr)
        return 2
    except ValueError as e:  # bad datasets and arguments name the bad thing themselves
        print(f"llamaindex-finetune {args.command}: error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
