"""The whole job as one call: files -> pairs -> finetuned model + adapter -> an honest report.

Example::

    from llama_index.finetuning import FinetuneJob

    job = FinetuneJob(train=["lyft_2021.pdf"], val=["uber_2021.pdf"], max_chunks=100)
    result = job.run()          # what ``llamaindex-finetune run`` does, the same files
    print(result.verdict)

The validation pairs choose things (the best training checkpoint, the best adapter epoch),
so they cannot also be the figures reported: without ``test``, they are split by chunk
(seeded by ``seed``, no chunk in both parts) into a selection part and a report part, and
the report is computed on the report part only. Everything needed to redo the job is
recorded in ``<output_dir>/run.json`` (the sampled chunk ids, the split, the sets).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..embeddings.adapter_shapes import ADAPTER_SHAPES
from ..embeddings.merge import DEFAULT_MERGE
from ..errors import SettingError
from ..phrasing import PYTHON, Echo, Phrasing
from .questions import DEFAULT_GENERATOR, GENERATORS, logger
from .training import (
    ADAPTER_BATCH_SIZE,
    ADAPTER_EPOCHS,
    ST_BATCH_SIZE,
    ST_EPOCHS,
    ST_HARD_NEGATIVES,
)

if TYPE_CHECKING:
    from ..embeddings.finetune_result import FinetuneResult

STAGES = 6
SETS = ("train", "val", "test")
WHAT = {"train": "training", "val": "validation", "test": "test"}


class FinetuneJob:
    """The whole job: questions on the training and validation documents, a finetuned model
    and an adapter, and both compared with the base on questions that chose nothing.

    Example::

        from llama_index.finetuning import FinetuneJob

        job = FinetuneJob(train=["lyft.pdf"], val=["uber.pdf"], output_dir="out",
                          generator="pseudo", max_chunks=4, epochs=1, adapter_epochs=1)
        result = job.run()
        result.report.to_markdown()

    ``train``, ``val`` and ``test`` each take document paths (questions are asked about
    their chunks), the path of a question set (a dataset JSON, used as it is, its corpus
    the search space) or an ``EmbeddingQAFinetuneDataset``. ``llm``: a spec (``local``,
    ``gguf:<file>``, ``openai:<model>``, ``openai-like:<model>`` with ``api_base``) or a
    LlamaIndex LLM object (None: ``local``, the bundled one); ``model``: the base model's spec (``offline``, ``local:<x>``).
    The other settings and their defaults are those of ``llamaindex-finetune run``.
    Nothing is read or written until :meth:`run`.
    """

    def __init__(
        self,
        train: Any,
        val: Any,
        test: Any = None,
        output_dir: str | Path = "finetune_run",
        *,
        overwrite: bool = False,
        generator: str = DEFAULT_GENERATOR,
        llm: Any = "local",
        api_base: str | None = None,
        api_key: str | None = None,
        num_questions: int = 2,
        prompt: str = "default",
        temperature: float | None = None,
        follow_up: bool = False,
        quality_filter: bool = True,
        round_trip_k: int | None = 10,
        round_trip_model: str | None = None,
        append: bool = False,
        num_workers: int | None = None,
        max_chunks: int | None = None,
        max_val_chunks: int | None = None,
        skip_unreadable: bool = False,
        chunk_size: int = 1024,
        chunk_overlap: int = 200,
        seed: int = 0,
        report_fraction: float = 0.5,
        top_k: list[int] | tuple[int, ...] = (1, 5, 10),
        model: str = "offline",
        epochs: int = ST_EPOCHS,
        batch_size: int = ST_BATCH_SIZE,
        hard_negatives: int = ST_HARD_NEGATIVES,
        merge: float | str = DEFAULT_MERGE,
        adapter: str = "linear",
        adapter_epochs: int = ADAPTER_EPOCHS,
        adapter_batch_size: int = ADAPTER_BATCH_SIZE,
        quiet: bool = False,
        verbose: bool = False,
        phrasing: Phrasing = PYTHON,
    ) -> None:
        self.sets = {"train": train, "val": val, "test": test}
        self.output_dir = Path(output_dir)
        self.overwrite, self.append = overwrite, append
        self.generator, self.api_base, self.api_key = generator, api_base, api_key
        self.llm = "local" if llm is None else llm  # None: the bundled local one
        self.num_questions, self.prompt, self.temperature = num_questions, prompt, temperature
        self.follow_up, self.quality_filter = follow_up, quality_filter
        self.round_trip_k, self.round_trip_model = round_trip_k, round_trip_model
        self.num_workers, self.max_chunks = num_workers, max_chunks
        self.max_val_chunks, self.skip_unreadable = max_val_chunks, skip_unreadable
        self.chunk_size, self.chunk_overlap = chunk_size, chunk_overlap
        self.seed, self.report_fraction, self.top_k = seed, report_fraction, list(top_k)
        self.model, self.epochs, self.batch_size = model, epochs, batch_size
        self.hard_negatives, self.merge = hard_negatives, merge
        self.adapter, self.adapter_epochs = adapter, adapter_epochs
        self.adapter_batch_size = adapter_batch_size
        self.quiet, self.verbose, self.say = quiet, verbose, phrasing
        self.echo = Echo(quiet)
        if not train or not val:
            raise SettingError("a job needs train and val: documents or question sets")
        if generator not in GENERATORS:
            raise SettingError(
                f"generator must be one of {', '.join(GENERATORS)}, got {generator!r}"
            )
        if adapter not in ADAPTER_SHAPES:
            raise SettingError(f"adapter must be one of {', '.join(ADAPTER_SHAPES)}, got {adapter!r}")  # fmt: skip

    # ---- checks before any work -------------------------------------------------------------

    def _paths(self, name: str) -> list[str] | None:
        given = self.sets[name]
        if given is None or hasattr(given, "corpus"):
            return None
        return [str(given)] if isinstance(given, (str, Path)) else [str(p) for p in given]

    def _check(self) -> dict[str, tuple[str, Any]]:
        """Every input and output of the job, before any work (a bad ``val`` used to surface
        only after the training questions were written); returns the question sets given."""
        from ..documents import check_inputs
        from ..model_specs import TRAINABLE, check_llm_spec, check_model, parse_spec
        from ..outputs import check_output_dir, check_output_file
        from .question_sets import load_question_set

        out, say = self.output_dir, self.say
        check_output_dir(out, self.overwrite, kind="run")
        check_model(parse_spec(self.model, allowed=TRAINABLE))  # a hub id: cached or reachable
        if self.round_trip_model:
            label = f"{say.name('round_trip_model')} {self.round_trip_model}"
            check_model(parse_spec(self.round_trip_model, label))
        loaded: dict[str, tuple[str, Any]] = {}
        for name in SETS:
            given, flag = self.sets[name], say.name(name)
            if hasattr(given, "corpus"):  # an EmbeddingQAFinetuneDataset
                loaded[name] = (f"(the {name} dataset given)", given)
                continue
            paths = self._paths(name)
            if not paths:
                continue
            found = load_question_set(flag, paths)
            if found:
                loaded[name] = found
                continue
            try:
                check_inputs(paths, skip_unreadable=self.skip_unreadable)
            except ValueError as e:
                raise SettingError(f"{flag}: {e}") from None
        if not self.sets["test"] and not 0.0 < self.report_fraction < 1.0:
            raise SettingError(
                f"{say.name('report_fraction')} must be between 0 and 1, got {self.report_fraction}"
            )
        asked = [name for name in SETS if self.sets[name] is not None and name not in loaded]
        if asked and self.generator == "llm" and isinstance(self.llm, str):
            check_llm_spec(self.llm, self.api_base, self.api_key, self.temperature)
        for name in asked:
            check_output_file(out / f"{name}_dataset.json", self.overwrite)  # + its chunks
        return loaded

    # ---- the work -------------------------------------------------------------------------------

    def run(self, lock_command: str | None = None) -> Any:
        """Do the whole job; returns a :class:`.result.JobResult`.

        ``lock_command``: how the lock on ``output_dir`` names this job to a second one
        (default: this process's command line).

        Raises:
            SettingError: a setting, input or output refused, before any work.
            IncompleteResult: LLM calls failed, or no chunk got a question.
        """
        from ..output_lock import claimed_output

        loaded = self._check()
        with claimed_output(self.output_dir, "run", self.overwrite, command=lock_command):
            return self._run(loaded)

    def _run(self, loaded: dict[str, tuple[str, Any]]) -> Any:
        from ..model_specs import build_embed_model
        from ..outputs import atomic_write_text
        from .question_sets import answer_chunk_ids, search_like_the_index, searched_line, split_val
        from .questions import chunk_texts, estimate
        from .result import JobResult
        from .training import evaluate_models

        out, say, echo = self.output_dir, self.say, self.echo
        started = time.perf_counter()
        begun: list[tuple[str, float]] = []  # (stage, when it began)

        def stage(n: int, text: str) -> None:
            begun.append((text, time.perf_counter()))
            logger.info("[%d/%d, %.0f s] %s", n, STAGES, begun[-1][1] - started, text)

        def origin(name: str) -> str:
            flag = say.name(name)
            return f"the {flag} set {loaded[name][0]}" if name in loaded else f"the {flag} pairs"

        asked = [name for name in SETS if self.sets[name] is not None and name not in loaded]
        stage(1, "reading and splitting the documents" if asked else "the question sets, as given")
        nodes, all_nodes = self._chunks(asked, out)
        for name, (path, ds) in loaded.items():
            echo.result(f"{say.name(name)}: {len(ds)} questions over {len(ds.corpus)} chunks "
                        f"loaded from {path} (no questions asked for them)")  # fmt: skip
        if nodes:
            n_asked = sum(len(n) for n in nodes.values())
            parts = ", ".join(f"{len(n)} {name}" for name, n in nodes.items())
            when = estimate(self.generator, self.llm, self.chunk_size, n_asked)
            echo.info(f"asking for questions on {n_asked} chunks ({parts}): {when}")
            if self.max_chunks or self.max_val_chunks:
                limits = f"{say.name('max_chunks')} and {say.name('max_val_chunks')}"
                demo = " (make demo DEMO_ARGS=)" if say.flags else ""
                echo.info(f"  a seeded sample of each file's chunks; for all of them, leave "
                          f"out {limits}{demo}")  # fmt: skip
        record: dict[str, Any] = {
            "command": "run",
            "seed": self.seed,
            "max_chunks": self.max_chunks,
            "max_val_chunks": self.max_val_chunks or self.max_chunks,
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
            return self._ask(nodes[name], out / f"{name}_dataset.json")

        def widened(dataset: Any, name: str) -> Any:
            # a set made from the user's files is searched among every chunk they gave;
            # a question set given keeps its own corpus
            return dataset if name in loaded else search_like_the_index(dataset, name, sources)

        train = questions(2, "train")
        sources = {name: chunk_texts(all_nodes[name]) for name in asked}
        if "train" in loaded:  # the training chunks the user gave as a question set
            sources["train"] = dict(train.corpus)
        val = widened(questions(3, "val"), "val")
        if self.sets["test"] is not None:
            select, report = val, widened(questions(3, "test"), "test")
            source = origin("test") + (
                "" if "test" in loaded else f" ({out / 'test_dataset.json'})"
            )
            select_name = f"{origin('val')} (they chose the checkpoint and the adapter epoch)"
        else:
            select, report, source = split_val(
                val, origin("val"), self.report_fraction, self.seed, out, say
            )
            select_name = (
                f"the selection part of {origin('val')} (it chose the checkpoint and the "
                "adapter epoch)"
            )
        record["sets"] = {
            "selection": {
                "queries": len(select), "chunks": answer_chunk_ids(select),
                "searched_among": len(select.corpus),
            },
            "report": {
                "queries": len(report), "chunks": answer_chunk_ids(report), "source": source,
                "searched_among": len(report.corpus),
            },
        }  # fmt: skip
        atomic_write_text(out / "run.json", json.dumps(record, indent=2))
        echo.result(
            f"pairs: {len(train)} train; {len(select)} select the checkpoint and adapter epoch, "
            f"{len(report)} are reported on: {source}"
        )
        report_from = "test" if self.sets["test"] is not None else "val"
        files = [say.name(name) for name in sources]
        for role, dataset, name in (("selection", select, "val"), ("report", report, report_from)):
            if name not in loaded:
                echo.info(f"  the {role} questions are {searched_line(dataset, files)}")

        base_name = "the bundled all-MiniLM-L6-v2" if self.model == "offline" else self.model
        stage(4, f"finetuning {base_name} on the training pairs")
        model_dir, adapter_dir = out / "finetuned_model", out / "adapter"
        model_result = self._train_model(train, select, model_dir)
        stage(5, f"training a {self.adapter} adapter over {base_name}")
        adapter_result = self._train_adapter(train, select, adapter_dir)
        stage(6, "evaluating base, finetuned and adapter")
        models = {
            "base": build_embed_model(self.model),
            "finetuned": build_embed_model(f"local:{model_dir}"),
            "adapter": build_embed_model(f"adapter:{adapter_dir}", base=self.model),
        }
        reported = evaluate_models(
            report, models, out / "report", self.top_k, self.overwrite,
            title=f"REPORT: {len(report)} questions that chose nothing: {source}",
            dataset_name=source, seed=self.seed, echo=echo,
        )  # fmt: skip
        selection = evaluate_models(
            select, models, out / "report_selection", self.top_k, self.overwrite,
            title=f"for comparison, the {len(select)} selection questions (they chose the "
            "checkpoint and the adapter epoch, so they flatter):",
            dataset_name=select_name, seed=self.seed, echo=echo,
        )  # fmt: skip
        ended = [when for _, when in begun[1:]] + [time.perf_counter()]
        seconds = {text: end - when for (text, when), end in zip(begun, ended, strict=True)}
        echo.info(f"total time: {time.perf_counter() - started:.0f} s")
        return JobResult(
            train=train, selection=select, report_set=report, model_dir=model_dir,
            adapter_dir=adapter_dir, report=reported, selection_report=selection,
            model_result=model_result, adapter_result=adapter_result,
            seconds=seconds, record=record,
        )  # fmt: skip

    def _chunks(self, asked: list[str], out: Path) -> tuple[dict[str, list], dict[str, list]]:
        """(the sampled chunks questions are asked about, every chunk) per set asked; a rerun
        with other inputs is refused before any work."""
        from ..documents import sample_chunks
        from .questions import check_dataset_contract, load_chunks

        max_val = self.max_val_chunks or self.max_chunks
        limits = {"train": self.max_chunks, "val": max_val, "test": max_val}
        all_nodes = {
            name: load_chunks(
                self._paths(name) or [], chunk_size=self.chunk_size,
                chunk_overlap=self.chunk_overlap, seed=self.seed,
                skip_unreadable=self.skip_unreadable, say=self.say,
            )
            for name in asked
        }  # fmt: skip
        nodes = {name: sample_chunks(all_nodes[name], limits[name], self.seed) for name in asked}
        for name, chunks in nodes.items():
            check_dataset_contract(
                chunks, out / f"{name}_dataset.json", append=self.append, overwrite=self.overwrite
            )
        return nodes, all_nodes

    def _ask(self, nodes: list, output: Path) -> Any:
        from ..model_specs import build_embed_model, build_llm
        from .questions import ask_questions

        llm, round_trip = None, None  # the pseudo generator needs neither
        if self.generator == "llm":
            llm = self.llm
            if isinstance(llm, str):  # a spec: built once (cached) for every set
                llm = build_llm(llm, self.api_base, self.api_key, self.temperature)
            if self.round_trip_k:
                round_trip = build_embed_model(self.round_trip_model or self.model)
        return ask_questions(
            nodes, output, llm=llm, generator=self.generator, num_questions=self.num_questions,
            prompt=self.prompt, quality_filter=self.quality_filter, follow_up=self.follow_up,
            round_trip_k=self.round_trip_k, round_trip_model=round_trip,
            num_workers=self.num_workers, append=self.append, overwrite=self.overwrite,
            seed=self.seed, say=self.say, echo=self.echo,
        )  # fmt: skip

    def _train_model(self, train: Any, select: Any, output: Path) -> FinetuneResult:
        from .training import train_model

        return train_model(
            train, select, output, model=self.model, epochs=self.epochs,
            batch_size=self.batch_size, hard_negatives=self.hard_negatives, merge=self.merge,
            overwrite=self.overwrite, show_progress=not self.quiet, verbose=self.verbose,
        )  # fmt: skip

    def _train_adapter(self, train: Any, select: Any, output: Path) -> FinetuneResult:
        from ..model_specs import build_embed_model
        from .training import train_adapter

        return train_adapter(
            train, select, output, base=build_embed_model(self.model), adapter=self.adapter,
            epochs=self.adapter_epochs, batch_size=self.adapter_batch_size,
            overwrite=self.overwrite,
        )  # fmt: skip
