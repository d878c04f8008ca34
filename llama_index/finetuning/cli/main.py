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
``gguf:<file>``, ``openai:<model>`` (needs OPENAI_API_KEY) or ``openai-like:<model>`` with
``--api-base``. Exit status: 0 done, 1 ran but incomplete, 2 bad input, 130 interrupted.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import warnings
from pathlib import Path

from .steps import (
    CLIError,
    IncompleteRun,
    check_llm_spec,
    current_output,
    evaluate_models,
    generate_dataset,
    load_chunks,
    load_dataset,
    parse_models,
    train_adapter,
    train_model,
)

# ---- subcommands -------------------------------------------------------------------------


def cmd_generate(args: argparse.Namespace) -> None:
    from ..documents import check_inputs
    from ..outputs import check_output_file, is_dataset_file

    output = check_output_file(args.output, args.overwrite)
    check_inputs(args.inputs)
    check_llm_spec(args)
    if args.overwrite and output.is_file() and not is_dataset_file(output):
        output.unlink()  # the user asked to replace a file that is not a dataset
    ds = generate_dataset(load_chunks(args.inputs, args, args.max_chunks), output, args)
    print(f"{len(ds)} questions over {len(ds.corpus)} chunks -> {output}")


def _check_model_output(args: argparse.Namespace) -> Path:
    from ..outputs import check_output_dir

    return check_output_dir(args.output, args.overwrite)


def cmd_train(args: argparse.Namespace) -> None:
    output = _check_model_output(args)
    train = load_dataset(args.dataset)
    val = load_dataset(args.val) if args.val else None
    train_model(train, val, output, args)
    print(f"finetuned model saved to {output} (use it as 'local:{output}')")


def cmd_adapt(args: argparse.Namespace) -> None:
    output = _check_model_output(args)
    train = load_dataset(args.dataset)
    val = load_dataset(args.val) if args.val else None
    train_adapter(train, val, output, args)
    print(f"adapter saved to {output} (use it as 'adapter:{output}')")


def cmd_evaluate(args: argparse.Namespace) -> None:
    from ..outputs import check_output_dir

    output = check_output_dir(args.output_dir, args.overwrite)
    dataset = load_dataset(args.dataset)
    models = parse_models(args.model or ["base=offline"], args.base)
    evaluate_models(dataset, models, output, args.top_k, args.overwrite, dataset_name=args.dataset)


def cmd_run(args: argparse.Namespace) -> None:
    from .run import run

    run(args)


COMMANDS = {
    "generate": cmd_generate,
    "train": cmd_train,
    "adapt": cmd_adapt,
    "evaluate": cmd_evaluate,
    "run": cmd_run,
}

# ---- errors in the command line's words -----------------------------------------------------

# Library messages speak Python; on the command line the same advice names the flags.
_CLI_WORDS = (
    ("model_id='offline'", "--model offline"),
    ("model_id ", "--model "),
    (
        "generate_qa_embedding_pairs, or `llamaindex-finetune generate`",
        "`llamaindex-finetune generate`",
    ),
    ("generate_qa_embedding_pairs", "`llamaindex-finetune generate`"),
    ("huggingface-cli download ...", "hf download <id>"),
    ("overwrite=True", "--overwrite"),
    ("append=True (CLI: --append)", "--append"),
)


def cli_message(error: BaseException) -> str:
    """``error`` as one line, in the command line's words."""
    text = " ".join(str(error).split()) or type(error).__name__
    for python, cli in _CLI_WORDS:
        text = text.replace(python, cli)
    return text


def _interrupted(command: str, error: BaseException) -> None:
    """One line, then exit 130 at once (worker threads of the LLM clients are not awaited)."""
    line = f"llamaindex-finetune {command}: interrupted"
    saved, journal = getattr(error, "saved", None), getattr(error, "journal", None)
    if saved is not None and journal is not None:  # GenerationInterrupted
        line += f": {saved} chunks saved to {journal}; rerun the same command to resume"
    elif current_output:
        output, saved = current_output[0], "the finished"
        try:
            from ..generation.journal import Journal

            journal = Journal.for_output(output)
            saved, output = str(len(journal.load())), journal.path
        except Exception:  # noqa: BLE001  the line matters more than the count
            pass
        line += f": {saved} chunks saved to {output}; rerun the same command to resume"
    print(line, file=sys.stderr)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(130)


# ---- entry point -----------------------------------------------------------------------------


def _quiet_libraries() -> None:
    """Leave the terminal to our progress bars, warnings and table (``-v`` keeps it all).

    Each model load would draw transformers' "Loading weights" bar, pypdf logs every PDF
    xref it repairs, and a Python warning would print the library line it came from.
    """
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")  # transformers' bars follow it
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    # the OpenAI client logs each of its own retries; generation counts and reports failures
    logging.getLogger("llama_index.llms.openai.utils").setLevel(logging.ERROR)
    warnings.showwarning = lambda message, category, *args, **kwargs: print(
        f"warning: {message}", file=sys.stderr
    )


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status (see ``--help``)."""
    from .parser import build_parser

    args = build_parser().parse_args(argv)
    verbose = getattr(args, "verbose", False)
    if not verbose:
        _quiet_libraries()
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("llamaindex-finetune").setLevel(logging.INFO)
    # GenerationInterrupted carries what the library logs on Ctrl-C: the CLI says it once
    logging.getLogger("llama_index.finetuning.generation.pairs").addFilter(
        lambda record: not str(record.msg).startswith("interrupted")
    )
    from ..documents import DocumentError
    from ..generation import GenerationError
    from ..outputs import OutputExistsError

    prefix = f"llamaindex-finetune {args.command}: error:"
    try:
        COMMANDS[args.command](args)
    except KeyboardInterrupt as e:  # GenerationInterrupted too: it says what was saved
        _interrupted(args.command, e)
    except (IncompleteRun, GenerationError) as e:
        print(f"{prefix} {cli_message(e)}", file=sys.stderr)
        return 1
    except (CLIError, DocumentError, OutputExistsError, FileNotFoundError, ValueError) as e:
        # bad datasets, files and arguments name the bad thing themselves
        print(f"{prefix} {cli_message(e)}", file=sys.stderr)
        return 2
    except Exception as e:
        if verbose:
            raise
        print(f"{prefix} {type(e).__name__}: {cli_message(e)} (run with -v for details)",
              file=sys.stderr)  # fmt: skip
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
