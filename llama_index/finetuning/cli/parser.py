"""The command line's arguments: one parser, defaults shown in every ``--help``.

Example::

    from llama_index.finetuning.cli.parser import build_parser

    args = build_parser().parse_args(["generate", "docs/", "--max-chunks", "20", "-v"])
"""

from __future__ import annotations

import argparse
import os
from typing import NoReturn

from ..embeddings.adapter_shapes import ADAPTER_SHAPES
from ..embeddings.checking_set import DEFAULT_FINETUNE_HOLDOUT, DEFAULT_HOLDOUT
from ..embeddings.merge import DEFAULT_MERGE
from ..job.questions import DEFAULT_GENERATOR, GENERATORS
from ..job.training import (
    ADAPTER_BATCH_SIZE,
    ADAPTER_EPOCHS,
    ST_BATCH_SIZE,
    ST_EPOCHS,
    ST_HARD_NEGATIVES,
)
from .arg_types import holdout_share, merge_weight, non_negative_int, positive_int, temperature

DESCRIPTION = (
    "llamaindex-finetune: from PDFs to a better embedding model and the proof, in one command."
)

# The model-spec grammar, the same for every command that takes --model (steps.parse_spec).
SPEC_OFFLINE = "offline (the bundled all-MiniLM-L6-v2)"
SPEC_LOCAL = "local:<folder or hub id>"
SPEC_HUB = "<hub id or folder> (e.g. BAAI/bge-small-en)"
SPEC_OPENAI = "openai:<model> (needs OPENAI_API_KEY)"
SPEC_ADAPTER = "adapter:<folder or hub id> (an adapter over --base)"

NUM_WORKERS = 16  # generate_qa_embedding_pairs' num_workers
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")

EXIT_STATUS = """\
exit status:
  0    the command did what was asked; generate and run: every chunk was asked and
       answered (a line says how many chunks got no question from the answer, the
       quality gate or the pseudo generator, and what can give them one)
  1    it ran but not all of it: generate and run: LLM calls failed (the last line says
       how many chunks and the command that asks only those again), or no chunk got a
       question; any command: the LLM could not be used, or a step failed on the way
  2    refused: bad input or arguments, an output that holds other data, or an output
       another run is writing now: one line says which; nothing was written
  130  interrupted (Ctrl-C): what was finished is saved; rerun the same command to resume

Outputs (-o/--output): a command refuses a file that is not a dataset of this package, a
non-empty folder that this package did not write (it marks its folders with
.llamaindex-finetune.json), a folder it wrote for something else (a model is not written
into an adapter's folder), and a dataset of other chunks. --append keeps a dataset's other
chunks beside the new ones; --overwrite writes there anyway: a dataset of other chunks is
replaced, a folder's files of the same names are replaced, nothing else is deleted. A rerun
into a command's own output resumes or replaces it. While a command writes an output it
holds a lock (.<name>.lock beside it): a second run into it is refused, naming the first."""


class _Formatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Defaults in every option's help (unless the help names its own), epilog lines kept."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        help = action.help or ""
        if "(default" in help or any(action.default is v for v in (None, False, argparse.SUPPRESS)):
            return help
        return super()._get_help_string(action)


class _Parser(argparse.ArgumentParser):
    """Argument errors as one line (and where to read more), not the whole usage."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _version() -> str:
    from ..outputs import _version as package_version

    return f"%(prog)s {package_version()}"


def _add_logging_options(p: argparse.ArgumentParser, default: object) -> None:
    p.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        default=default,
        help="everything: the libraries' INFO lines (the trainer's too) and progress bars, "
        "and a traceback on an unexpected error",
    )
    p.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        default=default,
        help="only warnings, errors and each command's result lines (no progress bars, "
        "stage lines or estimates)",
    )
    p.add_argument(
        "--log-level",
        type=str.upper,
        choices=LOG_LEVELS,
        default=default,
        help="the lowest level of log line printed, this package's and the libraries' "
        "(default: INFO for this package's stage lines, WARNING for the libraries; -v: "
        "INFO for both; -q: WARNING)",
    )


def _common() -> _Parser:
    """``-v``, ``-q``, ``--log-level`` and ``--version``, before or after the subcommand."""
    common = _Parser(add_help=False)
    # SUPPRESS: a subcommand's absent -v must not reset one given before the subcommand
    _add_logging_options(common, argparse.SUPPRESS)
    common.add_argument("--version", action="version", version=_version())
    return common


def _add_output(p: argparse.ArgumentParser, default: str, help: str, old: str = "") -> None:
    """``-o/--output`` (and ``old``, the spelling a command had before, as an alias)."""
    flags = ["-o", "--output", *([old] if old else [])]
    p.add_argument(*flags, dest="output", default=default, help=help)


def _add_output_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="write into an output that holds other data: a file or folder this package did "
        "not write, or a dataset of other chunks (replaced) (default: refused; see 'Outputs')",
    )


def _add_generation_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("question generation")
    g.add_argument(
        "--generator",
        choices=GENERATORS,
        default=DEFAULT_GENERATOR,
        help="llm: an LLM writes questions; pseudo: sentences of the chunk, no LLM",
    )
    g.add_argument(
        "--llm",
        default="local",
        help="local (the bundled SmolLM2) | gguf:<file.gguf> | openai:<model> (needs "
        "OPENAI_API_KEY or --api-key) | openai-like:<model> with --api-base (Ollama, "
        "llama.cpp server, vLLM)",
    )
    g.add_argument(
        "--api-base",
        default=os.environ.get("OPENAI_API_BASE"),
        help="server URL for openai-like, e.g. http://localhost:11434/v1 (default: "
        "$OPENAI_API_BASE, else none)",
    )
    g.add_argument("--api-key", default=None, help="API key (default: $OPENAI_API_KEY)")
    g.add_argument("--num-questions", type=positive_int, default=2, help="questions per chunk")
    g.add_argument(
        "--prompt",
        choices=("default", "small", "few_shot"),
        default="default",
        help="the question prompt: default (0.4's), small (written for small local models) or "
        "few_shot (a few-shot completion for small local models, one question a call)",
    )
    g.add_argument(
        "--temperature",
        type=temperature,
        default=None,
        help="the writer's sampling temperature (default: the writer's own; the bundled one "
        "is greedy, 0, and answers a chunk the same every time; e.g. 0.7 gives other answers)",
    )
    g.add_argument(
        "--follow-up",
        action="store_true",
        help="when an answer holds too few questions, ask once more for one (more questions "
        "per chunk; with the bundled model no retrieval gain was measured)",
    )
    g.add_argument(
        "--quality-filter",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="drop questions the rule filters catch (off-topic, copies of the prompt or "
        "chunk, template repeats); --no-quality-filter keeps them (default: on)",
    )
    g.add_argument(
        "--round-trip-k",
        type=positive_int,
        default=10,
        help="keep a question only if the base embedding model ranks its chunk in the top K",
    )
    g.add_argument(
        "--no-round-trip",
        dest="round_trip_k",
        action="store_const",
        const=None,
        help="no round-trip filter (it loads the base embedding model) (default: the round "
        "trip is on)",
    )
    g.add_argument(
        "--round-trip-model",
        default=None,
        help="the model of the round trip (default: --model where there is one, else offline)",
    )
    g.add_argument(
        "--append",
        action="store_true",
        help="keep the chunks an existing output holds that are not among these inputs "
        "(default: such an output is refused; --overwrite replaces it)",
    )
    g.add_argument(
        "--num-workers",
        type=positive_int,
        default=None,
        help=f"LLM calls in flight (default: {NUM_WORKERS}, or the LLM's slots if fewer: "
        "the bundled local LLM takes 4)",
    )
    g.add_argument(
        "--max-chunks",
        type=positive_int,
        default=None,
        help="a random sample (seeded by --seed) of at most this many chunks of each input "
        "file (default: all chunks)",
    )
    g.add_argument(
        "--skip-unreadable",
        action="store_true",
        help="leave out input files that give no text (a broken or scanned PDF, an image), "
        "naming them in a warning (default: such a file refuses the run)",
    )
    g.add_argument("--chunk-size", type=positive_int, default=1024, help="tokens per chunk")
    g.add_argument("--chunk-overlap", type=int, default=200, help="tokens shared by neighbours")
    g.add_argument("--seed", type=int, default=0, help="seed of the chunk sample and splits")


def _add_holdout(p: argparse.ArgumentParser, default: float) -> None:
    p.add_argument(
        "--holdout",
        type=holdout_share,
        default=default,
        metavar="SHARE",
        help=f"without --val: the share of the pairs' chunks held out to check the result "
        f"(default {default:g}; 0: train on all, nothing checks it; too few questions: no "
        "hold-out)",
    )


def _add_training_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("training (defaults: the measured best, see benchmarks/RESULTS.md)")
    g.add_argument(
        "--model",
        default="offline",
        help=f"the base model: {SPEC_OFFLINE} | {SPEC_LOCAL} | {SPEC_HUB}",
    )
    g.add_argument("--epochs", type=positive_int, default=ST_EPOCHS, help="training epochs")
    g.add_argument(
        "--batch-size",
        type=positive_int,
        default=ST_BATCH_SIZE,
        help="pairs per batch (each question's in-batch negatives are the others' chunks)",
    )
    g.add_argument(
        "--hard-negatives",
        type=non_negative_int,
        default=ST_HARD_NEGATIVES,
        help="negatives mined with the base model per question (0: none)",
    )
    g.add_argument(
        "--merge",
        type=merge_weight,
        default=DEFAULT_MERGE,
        metavar="W",
        help="share of the finetuned weights in the saved model (WiSE-FT merge with the base: "
        "1 = as trained, 0.5 = halfway to the base model; auto, the default: the best of 1, "
        "0.75 and 0.5 on the checking set, scored from 1 down until one scores lower)",
    )


def _add_adapter_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("adapter")
    g.add_argument("--adapter", choices=ADAPTER_SHAPES, default="linear", help="adapter shape")
    g.add_argument(
        "--adapter-epochs", type=positive_int, default=ADAPTER_EPOCHS, help="adapter epochs"
    )
    g.add_argument(
        "--adapter-batch-size",
        type=positive_int,
        default=ADAPTER_BATCH_SIZE,
        help="pairs per adapter batch",
    )


def build_parser() -> argparse.ArgumentParser:
    """The ``llamaindex-finetune`` parser with its five subcommands."""
    common = _common()
    parser = _Parser(
        prog="llamaindex-finetune",
        description=DESCRIPTION,
        epilog=EXIT_STATUS,
        formatter_class=_Formatter,
    )
    _add_logging_options(parser, None)
    parser.add_argument("--version", action="version", version=_version())
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, help: str) -> argparse.ArgumentParser:
        return sub.add_parser(
            name, help=help, description=help, parents=[common], epilog=EXIT_STATUS,
            formatter_class=_Formatter,
        )  # fmt: skip

    p = command("generate", "files or folders -> question/chunk pairs (JSON)")
    p.add_argument("inputs", nargs="+", help="PDF/text files or folders")
    _add_output(p, "train_dataset.json", "the dataset file")
    _add_output_options(p)
    _add_generation_options(p)

    p = command("train", "finetune a sentence-transformers model on a dataset")
    p.add_argument("dataset", help="a dataset JSON (from `generate`)")
    p.add_argument(
        "--val",
        default=None,
        help="validation dataset: picks the best checkpoint, and the base model is kept "
        "unless one beats it (default: none: every pair trains, nothing checks the result)",
    )
    _add_holdout(p, DEFAULT_FINETUNE_HOLDOUT)
    _add_output(p, "finetuned_model", "the model folder")
    _add_output_options(p)
    _add_training_options(p)

    p = command("adapt", "train an adapter over a frozen embedding model")
    p.add_argument("dataset", help="a dataset JSON (from `generate`)")
    p.add_argument(
        "--val",
        default=None,
        help="validation dataset: picks the best epoch, and the identity is kept unless one "
        "beats it (default: none: --holdout of the pairs' chunks does that)",
    )
    _add_holdout(p, DEFAULT_HOLDOUT)
    _add_output(p, "adapter", "the adapter folder")
    p.add_argument(
        "--model",
        default="offline",
        help=f"the frozen base model: {SPEC_OFFLINE} | {SPEC_LOCAL} | {SPEC_HUB} | {SPEC_OPENAI}",
    )
    _add_output_options(p)
    _add_adapter_options(p)

    p = command("evaluate", "compare models on a dataset: table, PNG and JSON")
    p.add_argument("dataset", help="a dataset JSON (from `generate`)")
    p.add_argument(
        "--model",
        action="append",
        help=f"NAME=SPEC, repeatable; SPEC: {SPEC_OFFLINE} | {SPEC_LOCAL} | {SPEC_HUB} | "
        f"{SPEC_OPENAI} | {SPEC_ADAPTER} (default: base=offline)",
    )
    p.add_argument(
        "--base",
        default="offline",
        help="the base model under adapter:<folder or hub id> specs (a SPEC, not an adapter)",
    )
    p.add_argument("--top-k", type=positive_int, nargs="+", default=[1, 5, 10], help="cut-offs")
    _add_output(p, "evaluation", "the report folder", old="--output-dir")
    _add_output_options(p)

    p = command("run", "the whole tutorial: pairs -> finetuned model + adapter -> comparison")
    p.add_argument(
        "--train",
        nargs="+",
        required=True,
        help="training files or folders, or a question set (a dataset JSON) used as it is",
    )
    p.add_argument(
        "--val",
        nargs="+",
        required=True,
        help="validation files or folders, or a question set (a dataset JSON, used as it is): "
        "their pairs choose the checkpoint and the adapter epoch (one part) and, without "
        "--test, are reported on (the other part)",
    )
    p.add_argument(
        "--test",
        nargs="+",
        default=None,
        help="for the report alone: files or folders, or your own question set (a dataset "
        "JSON such as benchmarks/data/uber_reference.json: no questions are asked, its corpus "
        "is searched) (default: a part of the --val pairs, split by chunk)",
    )
    p.add_argument(
        "--max-val-chunks",
        type=positive_int,
        default=None,
        help="like --max-chunks, for the --val and --test files (default: --max-chunks)",
    )
    p.add_argument(
        "--report-fraction",
        type=float,
        default=0.5,
        help="without --test: the part of the val chunks kept for the report",
    )
    _add_output(p, "finetune_run", "the run folder", old="--output-dir")
    p.add_argument("--top-k", type=positive_int, nargs="+", default=[1, 5, 10], help="cut-offs")
    _add_output_options(p)
    _add_generation_options(p)
    _add_training_options(p)
    _add_adapter_options(p)
    return parser
