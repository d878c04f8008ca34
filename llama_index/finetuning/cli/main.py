"""``llamaindex-finetune``: from PDFs to a better embedding model and the proof, in one command.

Example::

    llamaindex-finetune run --train lyft_2021.pdf --val uber_2021.pdf -o out
    llamaindex-finetune generate docs/ -o train.json --llm openai:gpt-4o-mini
    llamaindex-finetune train train.json --val val.json -o my_model
    llamaindex-finetune adapt train.json --val val.json -o my_adapter
    llamaindex-finetune evaluate val.json --model base=offline --model tuned=local:my_model

Every subcommand has ``--help``. Models are named the same way everywhere (:mod:`.models`):
``offline`` (the bundled all-MiniLM-L6-v2), ``local:<folder or hub id>`` or the folder or
hub id alone, ``openai:<model>``, ``adapter:<folder or hub id>`` (over ``--base``). LLMs are ``local``
(the bundled SmolLM2, default), ``gguf:<file>``, ``openai:<model>`` (needs OPENAI_API_KEY)
or ``openai-like:<model>`` with ``--api-base``. Exit status: 0 done, 1 ran but not all of
it (LLM calls failed), 2 refused (bad input, an output holding other data or being written),
130 interrupted.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import warnings
from pathlib import Path

from ..job.questions import current_output
from ..model_specs import (
    BASES,
    TRAINABLE,
    build_embed_model,
    check_llm_spec,
    check_model,
    parse_spec,
)
from .errors import CLIError, IncompleteRun
from .steps import (
    check_dataset_contract,
    check_models,
    echo,
    ending_line,
    estimate,
    generate_dataset,
    load_chunks,
    load_dataset,
    rerun_command,
    say,
    settings,
    train_adapter,
    train_model,
)

# ---- subcommands -------------------------------------------------------------------------


def _lock(output: Path):  # noqa: ANN202
    """Hold ``output`` while this command writes it (a second run into it is refused)."""
    from ..output_lock import output_lock

    return output_lock(output, command=rerun_command())


def cmd_generate(args: argparse.Namespace) -> None:
    from ..documents import check_inputs
    from ..outputs import check_dataset_output

    output = check_dataset_output(args.output, overwrite=args.overwrite)
    check_inputs(args.inputs, skip_unreadable=args.skip_unreadable)
    if args.generator == "llm":
        check_llm_spec(args.llm, args.api_base, args.api_key, args.temperature)
    if args.generator == "llm" and args.round_trip_k:
        spec = args.round_trip_model or "offline"
        check_model(parse_spec(spec, f"--round-trip-model {spec}", BASES))
    with _lock(output):
        nodes = load_chunks(args.inputs, args, args.max_chunks)
        check_dataset_contract(nodes, output, args)
        say(f"asking for questions on {len(nodes)} chunks: {estimate(args, len(nodes))}")
        ds = generate_dataset(nodes, output, args)
    with_questions = len({doc for docs in ds.relevant_docs.values() for doc in docs})
    over = f"{len(ds.corpus)}" if with_questions == len(ds.corpus) else (
        f"{with_questions} of {len(ds.corpus)}"
    )  # fmt: skip
    print(f"{len(ds)} questions over {over} chunks -> {output}")


def _check_model_output(args: argparse.Namespace, kind: str) -> Path:
    from ..outputs import check_output_dir

    return check_output_dir(args.output, args.overwrite, kind=kind)


def _check_base(args: argparse.Namespace, allowed: tuple[str, ...]) -> None:
    check_model(parse_spec(args.model, allowed=allowed))


def cmd_train(args: argparse.Namespace) -> None:
    output = _check_model_output(args, "model")
    _check_base(args, TRAINABLE)
    train = load_dataset(args.dataset)
    val = load_dataset(args.val) if args.val else None
    with _lock(output):
        train_model(train, val, output, args)
    print(ending_line(output, "model"))


def cmd_adapt(args: argparse.Namespace) -> None:
    output = _check_model_output(args, "adapter")
    _check_base(args, BASES)
    train = load_dataset(args.dataset)
    val = load_dataset(args.val) if args.val else None
    with _lock(output):
        train_adapter(train, val, output, args)
    print(ending_line(output, "adapter"))


def cmd_evaluate(args: argparse.Namespace) -> None:
    from ..job.training import evaluate_models

    output = _check_model_output(args, "report")
    dataset = load_dataset(args.dataset)
    specs = check_models(args.model or ["base=offline"], args.base)
    with _lock(output):
        models = {name: build_embed_model(spec, args.base) for name, spec in specs.items()}
        comparison = evaluate_models(dataset, models, output, args.top_k, args.overwrite,
                                     dataset_name=args.dataset, echo=echo())  # fmt: skip
    from ..job.verdict import evaluate_ending

    verdict = evaluate_ending(comparison, args.dataset)  # each model against the base, and
    if verdict:  # a set too small to tell them apart says so: the last line
        print(verdict)


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


def cli_message(error: BaseException) -> str:
    """``error`` as one line; advice the library gives as data (a ``PhrasedError``'s
    settings) names the flags."""
    from ..phrasing import PhrasedError
    from .steps import phrasing

    text = error.in_words(phrasing()) if isinstance(error, PhrasedError) else str(error)
    return " ".join(text.split()) or type(error).__name__


def _interrupted(command: str, error: BaseException) -> None:
    """One line, then exit 130 at once (worker threads of the LLM clients are not awaited)."""
    from ..output_lock import release_all_locks

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
    else:
        line += "; nothing of yours was changed; rerun the same command to start again"
    release_all_locks()  # os._exit runs no `with` block
    _end_progress_bars()
    print(line, file=sys.stderr)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(130)


def _end_progress_bars() -> None:
    """End the bars an interrupt left open: their line ends, and ours starts on its own."""
    tqdm = sys.modules.get("tqdm")
    for bar in list(getattr(getattr(tqdm, "tqdm", None), "_instances", None) or []):
        try:
            bar.close()
        except Exception:  # noqa: BLE001  a bar is not worth a traceback
            pass


# ---- logging ---------------------------------------------------------------------------------

OWN_LOGGERS = ("llamaindex-finetune", "llama_index.finetuning", "llama_index.embeddings.adapter")


def _quiet_libraries(verbose: bool, quiet: bool) -> None:
    """Leave the terminal to our progress bars, warnings and table (``-v`` keeps it all;
    ``-q`` drops the bars too).

    Each model load would draw transformers' "Loading weights" bar, pypdf logs every PDF
    xref it repairs, and a Python warning would print the library line it came from.
    """
    if quiet:
        os.environ.setdefault("TQDM_DISABLE", "1")  # read when tqdm is first imported
    if verbose:
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "info")  # the trainer's INFO lines
        return
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")  # transformers' bars follow it
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    warnings.showwarning = lambda message, category, *args, **kwargs: print(
        f"warning: {message}", file=sys.stderr
    )


def _configure_logging(args: argparse.Namespace) -> list:
    """Log lines to stderr for this command; returns what :func:`_restore_logging` undoes
    (``main`` may be called in a process that has its own logging: a test, a notebook)."""
    verbose, quiet = bool(getattr(args, "verbose", False)), bool(getattr(args, "quiet", False))
    level = getattr(args, "log_level", None)
    own = level or ("WARNING" if quiet else "INFO")
    libraries = level or ("INFO" if verbose else "WARNING")
    _quiet_libraries(verbose, quiet)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    quieted = ("pypdf", "llama_index.llms.openai.utils", "sentence_transformers.util.decorators")
    details = "sentence_transformers"  # its evaluator's tables: held back unless asked for
    names = (*OWN_LOGGERS, *quieted, details)
    saved = [
        (root, root.level),
        *((logging.getLogger(n), logging.getLogger(n).level) for n in names),
    ]
    if getattr(args, "command", None) in ("train", "adapt"):
        handler.addFilter(_NoVerdictLog())  # their last line says the engine's verdict
    # A console handler on the root logger before the command is a dependency's set-up
    # (llama-index-readers-file calls logging.basicConfig at import): it would print each
    # line again in its own format. It is set aside for the command and put back after.
    console = [h for h in root.handlers if type(h) is logging.StreamHandler]
    for other in console:
        root.removeHandler(other)
    root.addHandler(handler)
    root.setLevel(libraries)
    bars_off = [] if verbose else _transformers_bars_off()
    for name in OWN_LOGGERS:
        logging.getLogger(name).setLevel(own)
    if verbose or level:  # asked for: the library shows them (embeddings.library_logs)
        logging.getLogger(details).setLevel(libraries)
    if not verbose and level is None:
        # pypdf logs each xref it repairs, the OpenAI client each of its retries (generation
        # counts and reports failures), sentence-transformers a deprecation in llama-index
        for name in quieted:
            logging.getLogger(name).setLevel(logging.ERROR)
    return [handler, saved, console, bars_off]


def _transformers_bars_off() -> list:
    """transformers reads HF_HUB_DISABLE_PROGRESS_BARS once, when it is imported: in a process
    that imported it before the command (a notebook, a test) its "Loading weights" and
    "Writing model shards" bars are switched off here and back on by :func:`_restore_logging`."""
    hf_logging = sys.modules.get("transformers.utils.logging")
    if hf_logging is None or not hf_logging.is_progress_bar_enabled():
        return []
    hf_logging.disable_progress_bar()
    return [hf_logging.enable_progress_bar]


def _restore_logging(state: list) -> None:
    handler, saved, console, bars_off = state
    for switch_back_on in bars_off:
        switch_back_on()
    root = logging.getLogger()
    root.removeHandler(handler)
    for other in console:
        root.addHandler(other)
    for logger, level in saved:
        logger.setLevel(level)


class _NoVerdictLog(logging.Filter):
    """Drops an engine's verdict record (``verdict=True``, :meth:`FinetuneResult.log`):
    ``train`` and ``adapt`` print the same verdict as their last line."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not getattr(record, "verdict", False)


class _NoInterruptedLog(logging.Filter):
    """GenerationInterrupted carries what the library logs on Ctrl-C: the CLI says it once."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("interrupted")


# ---- entry point -----------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status (see ``--help``)."""
    from .parser import build_parser

    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    settings.update(quiet=bool(getattr(args, "quiet", False)), argv=argv)
    state = _configure_logging(args)
    pairs = logging.getLogger("llama_index.finetuning.generation.pairs")
    no_interrupted = _NoInterruptedLog()
    pairs.addFilter(no_interrupted)
    try:
        return _run(args)
    finally:
        from ..model_specs import reset_models

        reset_models()
        current_output.clear()  # an error may have left the output of a generation there
        pairs.removeFilter(no_interrupted)
        _restore_logging(state)
        settings.update(quiet=False, argv=None)


def _run(args: argparse.Namespace) -> int:
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
        # bad datasets, files and arguments name the bad thing themselves; a refused output
        print(f"{prefix} {cli_message(e)}", file=sys.stderr)
        return 2
    except Exception as e:
        if getattr(args, "verbose", False):
            raise
        print(f"{prefix} {type(e).__name__}: {cli_message(e)} (run with -v for details)",
              file=sys.stderr)  # fmt: skip
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
