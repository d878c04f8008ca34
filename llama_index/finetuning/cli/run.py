"""``llamaindex-finetune run``: files -> pairs -> finetuned model + adapter -> an honest report.

Example::

    llamaindex-finetune run --train lyft_2021.pdf --val uber_2021.pdf --max-chunks 100
    llamaindex-finetune run --train lyft_2021.pdf --val uber_2021.pdf --test my_questions.json

The validation pairs choose things (the best training checkpoint, the best adapter epoch),
so they cannot also be the figures reported: without ``--test``, they are split by chunk
(seeded by ``--seed``, no chunk in both parts) into a selection part and a report part, and
the table printed first is computed on the report part only. Everything needed to redo the
run is recorded in ``<output-dir>/run.json`` (the sampled chunk ids, the split, the sets).

Each of ``--train``, ``--val`` and ``--test`` takes documents (questions are asked about
their chunks) or one question set: a dataset JSON (``EmbeddingQAFinetuneDataset``), used as
it is, with its own corpus as the search space, and no question asked for it.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from ..outputs import dataset_keys
from .index_corpus import search_like_the_index, searched_line
from .steps import (
    TRAINABLE,
    CLIError,
    build_embed_model,
    check_dataset_contract,
    check_llm_spec,
    check_model,
    chunk_texts,
    estimate,
    evaluate_models,
    generate_dataset,
    load_chunks,
    logger,
    parse_spec,
    rerun_command,
    say,
    train_adapter,
    train_model,
)
from .verdict import run_ending

STAGES = 6
SETS = ("train", "val", "test")
WHAT = {"train": "training", "val": "validation", "test": "test"}


def _is_question_set(path: Path) -> bool:
    """A ``.json`` file holding an object with any of the dataset keys: a question set
    (a broken one is an error, not a document). Any other file is a document."""
    return path.suffix.lower() == ".json" and path.is_file() and bool(dataset_keys(path))


def _load_question_set(flag: str, paths: list[str]) -> tuple[str, Any] | None:
    """``(path, dataset)`` when ``paths`` is one question set; None when they are documents.

    Raises:
        CLIError: a question set mixed with documents or with another set, one that is not
            a consistent dataset, or one without questions.
    """
    from ..dataset import EmbeddingQAFinetuneDataset

    sets = [p for p in paths if _is_question_set(Path(p))]
    if not sets:
        return None
    if len(paths) > 1:
        others = [p for p in paths if p not in sets]
        what = f"the documents {', '.join(others)}" if others else f"{len(sets)} question sets"
        raise CLIError(
            f"{flag}: {sets[0]} is a question set (a dataset JSON) and {flag} also names "
            f"{what}: give {flag} either one question set or documents to ask about"
        )
    path = sets[0]
    try:
        dataset = EmbeddingQAFinetuneDataset.from_json(path)
    except ValueError as e:
        raise CLIError(f"{flag}: {e}") from None
    if not len(dataset):
        raise CLIError(
            f"{flag}: {path}: the question set has no questions; give one with questions, "
            "or documents to ask about"
        )
    return path, dataset


def _check_inputs(args: argparse.Namespace, out: Path) -> dict[str, tuple[str, Any]]:
    """Every input and output of the run, before any work (a bad --val used to surface only
    after the training questions were written); returns the question sets given as files."""
    from ..documents import check_inputs
    from ..outputs import check_output_dir, check_output_file

    check_output_dir(out, args.overwrite, kind="run")
    check_model(parse_spec(args.model, allowed=TRAINABLE))  # a hub id: cached or reachable
    if args.round_trip_model:
        check_model(
            parse_spec(args.round_trip_model, f"--round-trip-model {args.round_trip_model}")
        )
    loaded: dict[str, tuple[str, Any]] = {}
    for name in SETS:
        paths, flag = getattr(args, name), f"--{name}"
        if not paths:
            continue
        found = _load_question_set(flag, paths)
        if found:
            loaded[name] = found
            continue
        try:
            check_inputs(paths, skip_unreadable=args.skip_unreadable)
        except ValueError as e:
            raise CLIError(f"{flag}: {e}") from None
    if not args.test and not 0.0 < args.report_fraction < 1.0:
        raise CLIError(f"--report-fraction must be between 0 and 1, got {args.report_fraction}")
    asked = [name for name in SETS if getattr(args, name) and name not in loaded]
    if asked:
        check_llm_spec(args)
    for name in asked:
        check_output_file(out / f"{name}_dataset.json", args.overwrite)  # + its chunks: run()
    return loaded


def _split_val(val: Any, origin: str, args: argparse.Namespace, out: Path) -> tuple[Any, Any, str]:
    """(selection set, report set, where the report set comes from)."""
    answers = _answer_chunk_ids(val)
    if len(answers) < 2:
        raise CLIError(
            f"{origin} has questions on {len(answers)} chunk(s): too few to split into a "
            "selection part and a report part; give more (--max-val-chunks) or --test"
        )
    # Both parts search every val chunk; only their questions (and answers) are disjoint.
    try:
        select, report = val.split(args.report_fraction, seed=args.seed, keep_corpus=True)
    except ValueError as e:
        raise CLIError(f"{origin}: {e}; give --test") from None
    select.save_json(out / "val_select.json")
    report.save_json(out / "val_report.json")
    return select, report, f"the report part of {origin} ({out / 'val_report.json'})"


def widened(dataset: Any, name: str, loaded: dict, sources: dict[str, dict[str, str]]) -> Any:
    """A set made from the user's files, searched among every chunk they gave; a question
    set given as a file (``loaded``) keeps its own corpus."""
    return dataset if name in loaded else search_like_the_index(dataset, name, sources)


def _answer_chunk_ids(dataset: Any) -> list[str]:
    from ..embeddings.selection import answer_chunks

    return sorted(answer_chunks(dataset))


def run(args: argparse.Namespace) -> None:
    """See the module docstring."""
    from ..output_lock import output_lock
    from ..outputs import claim_dir

    out = Path(args.output)
    loaded = _check_inputs(args, out)
    with output_lock(out, command=rerun_command()):
        claim_dir(out, "run", args.overwrite)
        _run(args, out, loaded)


def _run(args: argparse.Namespace, out: Path, loaded: dict[str, tuple[str, Any]]) -> None:
    from ..outputs import atomic_write_text

    started = time.perf_counter()

    def stage(n: int, text: str) -> None:
        logger.info("[%d/%d, %.0f s] %s", n, STAGES, time.perf_counter() - started, text)

    def origin(name: str) -> str:
        return f"the --{name} set {loaded[name][0]}" if name in loaded else f"the --{name} pairs"

    asked = [name for name in SETS if getattr(args, name) and name not in loaded]
    stage(1, "reading and splitting the documents" if asked else "the question sets, as given")
    max_val = args.max_val_chunks or args.max_chunks
    limits = {"train": args.max_chunks, "val": max_val, "test": max_val}
    from ..documents import sample_chunks

    # every chunk is kept: the sets made from files are searched among all of them
    all_nodes = {name: load_chunks(getattr(args, name), args, None) for name in asked}
    nodes = {name: sample_chunks(all_nodes[name], limits[name], args.seed) for name in asked}
    for name, chunks in nodes.items():  # a rerun with other inputs is refused before any work
        check_dataset_contract(chunks, out / f"{name}_dataset.json", args)
    for name, (path, ds) in loaded.items():
        print(f"--{name}: {len(ds)} questions over {len(ds.corpus)} chunks loaded from {path} "
              "(no questions asked for them)")  # fmt: skip
    if nodes:
        n_asked = sum(len(n) for n in nodes.values())
        parts = ", ".join(f"{len(n)} {name}" for name, n in nodes.items())
        say(f"asking for questions on {n_asked} chunks ({parts}): {estimate(args, n_asked)}")
        if args.max_chunks or args.max_val_chunks:
            say(
                "  a seeded sample of each file's chunks; for all of them, leave out "
                "--max-chunks and --max-val-chunks (make demo DEMO_ARGS=)"
            )
    record: dict[str, Any] = {
        "command": "run",
        "seed": args.seed,
        "max_chunks": args.max_chunks,
        "max_val_chunks": max_val,
        "chunks": {name: [n.node_id for n in ns] for name, ns in nodes.items()},
        "loaded": {
            name: {"path": str(path), "queries": len(ds), "chunks": len(ds.corpus)}
            for name, (path, ds) in loaded.items()
        },
    }
    atomic_write_text(out / "run.json", json.dumps(record, indent=2))

    def questions(n: int, name: str) -> Any:
        if name in loaded:
            stage(n, f"the {WHAT[name]} questions: {loaded[name][0]}, as given")
            return loaded[name][1]
        stage(n, f"questions for the {WHAT[name]} files")
        return generate_dataset(nodes[name], out / f"{name}_dataset.json", args)

    train = questions(2, "train")
    sources = {name: chunk_texts(all_nodes[name]) for name in asked}
    if "train" in loaded:  # the training chunks the user gave as a question set
        sources["train"] = dict(train.corpus)
    val = widened(questions(3, "val"), "val", loaded, sources)
    if args.test:
        select, report = val, widened(questions(3, "test"), "test", loaded, sources)
        source = origin("test") + ("" if "test" in loaded else f" ({out / 'test_dataset.json'})")
        select_name = f"{origin('val')} (they chose the checkpoint and the adapter epoch)"
    else:
        select, report, source = _split_val(val, origin("val"), args, out)
        select_name = (
            f"the selection part of {origin('val')} (it chose the checkpoint and the adapter epoch)"
        )
    record["sets"] = {
        "selection": {
            "queries": len(select), "chunks": _answer_chunk_ids(select),
            "searched_among": len(select.corpus),
        },
        "report": {
            "queries": len(report), "chunks": _answer_chunk_ids(report), "source": source,
            "searched_among": len(report.corpus),
        },
    }  # fmt: skip
    atomic_write_text(out / "run.json", json.dumps(record, indent=2))
    print(
        f"pairs: {len(train)} train; {len(select)} select the checkpoint and adapter epoch, "
        f"{len(report)} are reported on: {source}"
    )
    report_from = "test" if args.test else "val"
    for role, dataset, name in (("selection", select, "val"), ("report", report, report_from)):
        if name not in loaded:
            say(f"  the {role} questions are {searched_line(dataset, list(sources))}")

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
    reported = evaluate_models(
        report, models, out / "report", args.top_k, args.overwrite,
        title=f"REPORT: {len(report)} questions that chose nothing: {source}",
        dataset_name=source, seed=args.seed,
    )  # fmt: skip
    evaluate_models(
        select, models, out / "report_selection", args.top_k, args.overwrite,
        title=f"for comparison, the {len(select)} selection questions (they chose the "
        "checkpoint and the adapter epoch, so they flatter):",
        dataset_name=select_name, seed=args.seed,
    )  # fmt: skip
    say(f"total time: {time.perf_counter() - started:.0f} s")
    print(run_ending(reported, model_dir, adapter_dir))  # the verdict, last (too small: said)
