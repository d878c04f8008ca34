"""The CLI's building blocks: one function per step (models from their specs: :mod:`.models`).

Example::

    from llama_index.finetuning.cli.parser import build_parser
    from llama_index.finetuning.cli.steps import generate_dataset, load_chunks

    args = build_parser().parse_args(["generate", "docs/", "--generator", "pseudo"])
    dataset = generate_dataset(load_chunks(args.inputs, args, None), Path("d.json"), args)
"""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path
from typing import Any

from .errors import CLIError, IncompleteRun
from .models import build_embed_model, build_llm, check_model, model_id, parse_spec
from .shortfall import RERUN, Shortfall

__all__ = [
    "CLIError",
    "IncompleteRun",
    "build_embed_model",
    "build_llm",
    "check_model",
    "model_id",
    "parse_spec",
]

logger = logging.getLogger("llamaindex-finetune")

# the kinds of model spec (models.KINDS) a command takes: a base to finetune, a frozen base
TRAINABLE = ("offline", "local")
BASES = ("offline", "local", "openai")

GENERATORS = ("llm", "pseudo")
DEFAULT_GENERATOR = "llm"

# -q: informational lines (estimates, resume counts, the gate's counts) are left out.
settings: dict[str, Any] = {"quiet": False, "argv": None}  # argv: main's, for rerun lines

# The dataset being generated now: a Ctrl-C reports how many of its chunks are saved.
current_output: list[Path] = []

# Seconds the bundled question writer (SmolLM2-135M through llama.cpp, 4 slots, 2 threads)
# takes per chunk on a quiet 2-core machine, whole stage included (the quality gate's round
# trip too), as a prior: the measured time a chunk is in benchmarks/results/demo.md's stage
# times (docs/index.md quotes it); the prompt pass dominates, so it grows with the chunk (the
# slope from benchmarks/experiments/results/local_runtime.md). Machines of the same kind
# varied by ~1.5x between days, so each run measures its own on its first chunks
# (generation/progress.py) and says it.
SECONDS_PER_CHUNK_LOCAL = 1.3
SECONDS_PER_CHUNK_TOKEN_LOCAL = 0.0066


def say(text: str) -> None:
    """An informational line on stdout, unless ``-q``."""
    if not settings["quiet"]:
        print(text, flush=True)


def estimate(args: argparse.Namespace, n_chunks: int) -> str:
    """How long asking for questions on ``n_chunks`` chunks may take, in words."""
    if args.generator != "llm":
        return "seconds (no LLM)"
    if args.llm == "local" or args.llm.startswith("gguf:"):
        per_chunk = SECONDS_PER_CHUNK_LOCAL + SECONDS_PER_CHUNK_TOKEN_LOCAL * args.chunk_size
        minutes = n_chunks * per_chunk / 60
        return f"roughly {minutes:.0f} min on 2 CPU cores ({per_chunk:.1f} s a chunk)"
    return "as fast as the LLM server answers"


def check_llm_spec(args: argparse.Namespace) -> None:
    """Refuse, before any work, an LLM that cannot answer (no API key, no server URL)."""
    if getattr(args, "generator", "llm") != "llm":
        return
    kind, _, model = args.llm.partition(":")
    if kind == "openai" and model and not (args.api_key or os.environ.get("OPENAI_API_KEY")):
        raise CLIError(f"--llm {args.llm} needs an API key: set OPENAI_API_KEY or pass --api-key")
    if kind == "openai-like" and model and not args.api_base:
        raise CLIError(
            "--llm openai-like:<model> needs --api-base URL (e.g. http://localhost:8000/v1)"
        )
    if kind == "gguf" or not (args.llm == "local" or (kind in ("openai", "openai-like") and model)):
        build_llm(args.llm, args.api_base, args.api_key, args.temperature)  # its error, now


# ---- building blocks -------------------------------------------------------------------


def load_chunks(paths: list[str], args: argparse.Namespace, max_chunks: int | None) -> list:
    """Files -> chunks, sampled per file (``max_chunks``, seeded by ``--seed``)."""
    from ..documents import DocumentError, input_files, load_nodes

    try:
        nodes = load_nodes(
            paths,
            chunk_size=args.chunk_size,
            chunk_overlap=args.chunk_overlap,
            max_chunks=max_chunks,
            seed=args.seed,
            skip_unreadable=args.skip_unreadable,
        )
    except DocumentError as e:
        if args.skip_unreadable or len(input_files(paths)) < 2:
            raise
        raise DocumentError(f"{e} (--skip-unreadable reads the other files without it)") from None
    logger.debug("%d chunks from %s", len(nodes), ", ".join(map(str, paths)))  # said after
    return nodes


def chunk_texts(nodes: list) -> dict[str, str]:
    """Node id -> text of the chunks questions are asked about (:func:`..dataset.asked_chunks`)."""
    from ..dataset import asked_chunks

    return asked_chunks(nodes)[0]


def check_dataset_contract(nodes: list, output: Path, args: argparse.Namespace) -> None:
    """Refuse (exit 2) a dataset output that holds other chunks than ``nodes``' unless
    ``--append`` or ``--overwrite``; the same for both generators (:mod:`..outputs`)."""
    from ..outputs import check_dataset_output

    check_dataset_output(output, chunk_texts(nodes), args.append, args.overwrite)


def generate_dataset(nodes: list, output: Path, args: argparse.Namespace) -> Any:
    """Chunks -> (question, chunk) pairs, saved to ``output`` (resumable).

    Chunks that were asked and answered but got no question (the gate emptied them, the
    answer held none, the pseudo generator found no sentence) are said in one line on
    stdout, with what can give them one; the command goes on (:mod:`.shortfall`).

    Raises:
        OutputExistsError: ``output`` holds other chunks (no ``--append`` / ``--overwrite``).
        IncompleteRun: after the dataset is saved: LLM calls failed, or no chunk got a
            question; the message says how many, why, and what can mend it.
    """
    from ..outputs import discard_dataset, is_dataset_file, other_chunks

    check_dataset_contract(nodes, output, args)
    texts = chunk_texts(nodes)
    if args.overwrite and not args.append:
        if output.is_file() and not is_dataset_file(output):
            output.unlink()  # the user asked to replace a file that is not a dataset
        if other_chunks(output, texts):  # in the dataset or in a journal a crash left alone
            discard_dataset(output)  # --overwrite: what it held is replaced
    current_output[:] = [output]
    if args.generator == "pseudo":
        from ..generation.pseudo_queries import generate_pseudo_query_pairs

        ds = generate_pseudo_query_pairs(
            nodes,
            num_questions_per_chunk=args.num_questions,
            output_path=output,
            seed=args.seed,
            append=args.append,
            show_progress=not settings["quiet"],
        )
        current_output.clear()
        if not len(ds):  # an empty dataset file is litter, not a result
            discard_dataset(output)
        missing = sum(nid not in ds.corpus for nid in texts)
        return _check_complete(ds, Shortfall(len(texts), pseudo=missing), output)
    import warnings

    from ..generation import GenerationError, ShortfallWarning, generate_qa_embedding_pairs

    llm = build_llm(args.llm, args.api_base, args.api_key, args.temperature)
    kwargs: dict[str, Any] = {"num_workers": args.num_workers} if args.num_workers else {}
    if args.round_trip_k:  # the base embedding model must rank the chunk within k
        kwargs["round_trip_model"] = build_embed_model(
            args.round_trip_model or getattr(args, "model", "offline")
        )
        kwargs["round_trip_top_k"] = args.round_trip_k
    try:
        with warnings.catch_warnings():  # the chunks short of questions: said below, once
            warnings.simplefilter("ignore", ShortfallWarning)
            ds, report = generate_qa_embedding_pairs(
                nodes=nodes,
                llm=llm,
                output_path=output,
                num_questions_per_chunk=args.num_questions,
                qa_generate_prompt_tmpl=args.prompt,
                quality_filter=args.quality_filter,
                follow_up=args.follow_up,
                append=args.append,
                return_report=True,
                show_progress=not settings["quiet"],
                **kwargs,
            )
    except GenerationError as e:  # exit 1; the message says what to do
        if not e.rerun_asks:  # e.g. the gate kept nothing: its message says how to rerun
            raise IncompleteRun(str(e)) from e
        text = str(e).rstrip(". ")
        raise IncompleteRun(f"{text}; once the cause is fixed, {RERUN}: {rerun_command()}") from e
    current_output.clear()
    if report.resumed:
        say(f"resumed {report.resumed} of {report.chunks} chunks from an earlier run")
    if report.follow_ups:
        say(
            f"follow-ups: {report.follow_ups} chunks with too few questions asked once more, "
            f"{report.follow_up_questions} new questions"
        )
    if report.dropped:
        reasons = ", ".join(f"{n} {why}" for why, n in sorted(report.dropped.items()))
        say(f"quality gate: dropped {sum(report.dropped.values())} questions ({reasons})")
    shortfall = Shortfall(
        len(texts), failed=report.failed, unanswered=report.unanswered, gate=report.emptied,
        greedy=getattr(llm, "temperature", None) == 0, first_error=report.first_error,
    )  # fmt: skip
    return _check_complete(ds, shortfall, output)


def _check_complete(ds: Any, shortfall: Shortfall, output: Path) -> Any:
    """``ds`` unless LLM calls failed or no chunk got a question (then IncompleteRun, saying
    how many chunks have none, why, and what can mend it); chunks that were answered but got
    no question are said in one line on stdout."""
    command = rerun_command()
    if not len(ds):
        advice = shortfall.advice(command)
        raise IncompleteRun(
            f"no chunk got a question ({shortfall.chunks} chunks asked; "
            f"{shortfall.reasons() or 'none asked'})" + (f"; {advice}" if advice else "")
        )
    if shortfall.ends_short:
        saved = f"{len(ds)} questions over {len(ds.corpus)} chunks saved to {output}"
        raise IncompleteRun(shortfall.note(command, saved))
    if shortfall.missing:
        print(shortfall.note(command), flush=True)
    return ds


def rerun_command() -> str:
    """The command line of this run (``main``'s argv), ready to paste."""
    import shlex
    import sys

    argv = settings.get("argv")
    return shlex.join(["llamaindex-finetune", *(sys.argv[1:] if argv is None else argv)])


def ending_line(output: Path, kind: str = "model") -> str:
    """The last line of ``train`` (``kind="model"``) or ``adapt``: what was saved and why, read
    from the result the engine saved with it (a kept base model says so, with both scores)."""
    from ..embeddings.finetune_result import FinetuneResult

    prefix = "adapter" if kind == "adapter" else "local"
    return FinetuneResult.load(output).ending(f"{prefix}:{output}")


def load_dataset(path: str) -> Any:
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


def train_model(train: Any, val: Any, output: Path, args: argparse.Namespace) -> Path:
    from ..embeddings.sentence_transformer import SentenceTransformersFinetuneEngine

    kwargs = {
        k: v
        for k, v in (
            ("batch_size", args.batch_size),
            ("epochs", args.epochs),
            ("hard_negatives", args.hard_negatives),
            ("merge", getattr(args, "merge", None)),
            ("holdout", getattr(args, "holdout", None)),
        )
        if v is not None
    }
    engine = SentenceTransformersFinetuneEngine(
        train,
        model_id=model_id(parse_spec(args.model, allowed=TRAINABLE)),
        model_output_path=str(output),
        val_dataset=val,
        overwrite=args.overwrite,
        show_progress_bar=not settings["quiet"],  # -q: whenever tqdm was first imported
        **kwargs,
    )
    with _quiet_stdout(args):
        engine.finetune()
    return output


def _quiet_stdout(args: argparse.Namespace) -> Any:
    """Without ``-v``, the trainer's printed log dicts and the miner's statistics table stay
    out of the terminal (its progress bars, on stderr, stay)."""
    import contextlib
    import io

    if getattr(args, "verbose", False):
        return contextlib.nullcontext()
    return contextlib.redirect_stdout(io.StringIO())


def train_adapter(train: Any, val: Any, output: Path, args: argparse.Namespace) -> Path:
    from ..embeddings.adapter import EmbeddingAdapterFinetuneEngine

    base = build_embed_model(args.model)
    kwargs = {
        k: v
        for k, v in (
            ("batch_size", args.adapter_batch_size),
            ("epochs", args.adapter_epochs),
            ("holdout", getattr(args, "holdout", None)),
        )
        if v is not None
    }
    engine = EmbeddingAdapterFinetuneEngine(
        train,
        base,
        model_output_path=str(output),
        adapter_model=args.adapter,
        val_dataset=val,
        overwrite=args.overwrite,
        **kwargs,
    )
    engine.finetune()
    return output


def evaluate_models(
    dataset: Any,
    models: dict[str, Any],
    output_dir: Path,
    top_k: list[int],
    overwrite: bool = False,
    title: str | None = None,
    dataset_name: str | None = None,
    seed: int = 0,
) -> Any:
    """Compare ``models`` on ``dataset`` (the first is the baseline): print the headline
    table, with paired intervals and wins/losses, and write every metric to ``output_dir``."""
    import warnings

    from ..evaluation import SmallSetWarning, compare

    with warnings.catch_warnings():  # a set too small says so in the table and the last line
        warnings.simplefilter("ignore", SmallSetWarning)
        comparison = compare(
            dataset,
            models,
            top_k=top_k,
            output_dir=output_dir,
            baseline=next(iter(models)),
            overwrite=overwrite,
            dataset_name=dataset_name,
            seed=seed,
        )
    if title:
        print(f"\n{title}")
    print(comparison.to_markdown())
    print(f"report written to {output_dir}")
    return comparison


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
