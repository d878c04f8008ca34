"""The job's question step: files -> chunks -> (question, chunk) pairs, saved and resumable.

Example::

    from pathlib import Path

    from llama_index.finetuning.job.questions import ask_questions, load_chunks

    nodes = load_chunks(["docs/"], chunk_size=1024, chunk_overlap=200, seed=0)
    dataset = ask_questions(nodes, Path("train.json"), llm=None, generator="pseudo")

Every setting is a keyword; advice in errors and notes names them through a
:class:`..phrasing.Phrasing` (Python keywords by default, the CLI passes its flags).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from ..phrasing import PYTHON, Echo, Phrasing
from .shortfall import Shortfall, check_complete

logger = logging.getLogger("llamaindex-finetune")  # the name the job's lines always carried

GENERATORS = ("llm", "pseudo")
DEFAULT_GENERATOR = "llm"

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


def estimate(generator: str, llm: Any, chunk_size: int, n_chunks: int) -> str:
    """How long asking for questions on ``n_chunks`` chunks may take, in words (``llm``: a
    spec string or an LLM object)."""
    if generator != "llm":
        return "seconds (no LLM)"
    if isinstance(llm, str) and (llm == "local" or llm.startswith("gguf:")):
        per_chunk = SECONDS_PER_CHUNK_LOCAL + SECONDS_PER_CHUNK_TOKEN_LOCAL * chunk_size
        minutes = n_chunks * per_chunk / 60
        return f"roughly {minutes:.0f} min on 2 CPU cores ({per_chunk:.1f} s a chunk)"
    return "as fast as the LLM server answers"


def load_chunks(
    paths: list[str],
    *,
    chunk_size: int,
    chunk_overlap: int,
    seed: int,
    max_chunks: int | None = None,
    skip_unreadable: bool = False,
    say: Phrasing = PYTHON,
) -> list:
    """Files -> chunks, sampled per file (``max_chunks``, seeded by ``seed``)."""
    from ..documents import DocumentError, input_files, load_nodes

    try:
        nodes = load_nodes(
            paths,
            chunk_size=chunk_size,
            chunk_overlap=chunk_overlap,
            max_chunks=max_chunks,
            seed=seed,
            skip_unreadable=skip_unreadable,
        )
    except DocumentError as e:
        if skip_unreadable or len(input_files(paths)) < 2:
            raise
        skip = say.setting("skip_unreadable", True)
        raise DocumentError(f"{e} ({skip} reads the other files without it)") from None
    logger.debug("%d chunks from %s", len(nodes), ", ".join(map(str, paths)))  # said after
    return nodes


def chunk_texts(nodes: list) -> dict[str, str]:
    """Node id -> text of the chunks questions are asked about (:func:`..dataset.asked_chunks`)."""
    from ..dataset import asked_chunks

    return asked_chunks(nodes)[0]


def check_dataset_contract(nodes: list, output: Path, *, append: bool, overwrite: bool) -> None:
    """Refuse a dataset output that holds other chunks than ``nodes``' unless ``append`` or
    ``overwrite``; the same for both generators (:mod:`..outputs`)."""
    from ..outputs import check_dataset_output

    check_dataset_output(output, chunk_texts(nodes), append, overwrite)


def ask_questions(
    nodes: list,
    output: Path,
    *,
    llm: Any,
    generator: str = DEFAULT_GENERATOR,
    num_questions: int = 2,
    prompt: str = "default",
    quality_filter: bool = True,
    follow_up: bool = False,
    round_trip_k: int | None = 10,
    round_trip_model: Any = None,
    num_workers: int | None = None,
    append: bool = False,
    overwrite: bool = False,
    seed: int = 0,
    say: Phrasing = PYTHON,
    echo: Echo = Echo(),
) -> Any:
    """Chunks -> (question, chunk) pairs, saved to ``output`` (resumable).

    ``llm``: the LLM object that writes the questions (None for ``generator="pseudo"``);
    ``round_trip_model``: the embedding model of the round trip (with ``round_trip_k``).
    Chunks that were asked and answered but got no question (the gate emptied them, the
    answer held none, the pseudo generator found no sentence) are said in one line on
    stdout, with what can give them one; the step goes on (:mod:`.shortfall`).

    Raises:
        OutputExistsError: ``output`` holds other chunks (no ``append`` / ``overwrite``).
        IncompleteResult: after the dataset is saved: LLM calls failed, or no chunk got a
            question; the message says how many, why, and what can mend it.
    """
    from ..outputs import discard_dataset, is_dataset_file, other_chunks

    check_dataset_contract(nodes, output, append=append, overwrite=overwrite)
    texts = chunk_texts(nodes)
    if overwrite and not append:
        if output.is_file() and not is_dataset_file(output):
            output.unlink()  # the user asked to replace a file that is not a dataset
        if other_chunks(output, texts):  # in the dataset or in a journal a crash left alone
            discard_dataset(output)  # overwrite: what it held is replaced
    current_output[:] = [output]
    if generator == "pseudo":
        from ..generation.pseudo_queries import generate_pseudo_query_pairs

        ds = generate_pseudo_query_pairs(
            nodes,
            num_questions_per_chunk=num_questions,
            output_path=output,
            seed=seed,
            append=append,
            show_progress=not echo.quiet,
        )
        current_output.clear()
        if not len(ds):  # an empty dataset file is litter, not a result
            discard_dataset(output)
        missing = sum(nid not in ds.corpus for nid in texts)
        return check_complete(ds, Shortfall(len(texts), pseudo=missing), output, say, echo)
    import warnings

    from ..errors import IncompleteResult
    from ..generation import GenerationError, ShortfallWarning, generate_qa_embedding_pairs

    kwargs: dict[str, Any] = {"num_workers": num_workers} if num_workers else {}
    if round_trip_k:  # the base embedding model must rank the chunk within k
        kwargs["round_trip_model"] = round_trip_model
        kwargs["round_trip_top_k"] = round_trip_k
    try:
        with warnings.catch_warnings():  # the chunks short of questions: said below, once
            warnings.simplefilter("ignore", ShortfallWarning)
            ds, report = generate_qa_embedding_pairs(
                nodes=nodes,
                llm=llm,
                output_path=output,
                num_questions_per_chunk=num_questions,
                qa_generate_prompt_tmpl=prompt,
                quality_filter=quality_filter,
                follow_up=follow_up,
                append=append,
                return_report=True,
                show_progress=not echo.quiet,
                **kwargs,
            )
    except GenerationError as e:  # the message says what to do
        if not e.rerun_asks:  # e.g. the gate kept nothing: its message says how to rerun
            raise IncompleteResult(str(e)) from e
        text = str(e).rstrip(". ")
        raise IncompleteResult(f"{text}; once the cause is fixed, {say.rerun}") from e
    current_output.clear()
    if report.resumed:
        echo.info(f"resumed {report.resumed} of {report.chunks} chunks from an earlier run")
    if report.follow_ups:
        echo.info(
            f"follow-ups: {report.follow_ups} chunks with too few questions asked once more, "
            f"{report.follow_up_questions} new questions"
        )
    if report.dropped:
        reasons = ", ".join(f"{n} {why}" for why, n in sorted(report.dropped.items()))
        echo.info(f"quality gate: dropped {sum(report.dropped.values())} questions ({reasons})")
    shortfall = Shortfall(
        len(texts), failed=report.failed, unanswered=report.unanswered, gate=report.emptied,
        greedy=getattr(llm, "temperature", None) == 0, first_error=report.first_error,
    )  # fmt: skip
    return check_complete(ds, shortfall, output, say, echo)
