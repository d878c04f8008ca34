"""compare(): several models on one dataset, as a table, markdown, a bar chart and JSON.

Example::

    from llama_index.finetuning.evaluation import compare

    report = compare(
        val_dataset,
        {"base": "offline", "finetuned": "local:exp_finetune", "adapter": adapter_embed_model},
        top_k=[1, 5, 10],
        baseline="base",
        output_dir="eval_report",   # comparison.md, comparison.png, comparison.json
        dataset_name="report part of val",
    )
    print(report)                              # headline metrics, differences with intervals
    report.differences("finetuned")["ndcg@10"] # PairedDifference: interval, p-value, wins
    report.wins_losses("finetuned", "base")    # the queries where they differ

Score on data that selected nothing: when ``val_dataset`` picked the best checkpoint or
adapter epoch, its scores favour the kept model. Split it first (``select, report_part =
val.split(0.5)``), select on one part and ``compare()`` on the other.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..dataset import EmbeddingQAFinetuneDataset, check_dataset
from ..outputs import atomic_write_text, check_output_dir
from . import metrics as M
from . import stats as S
from .comparison import ComparisonData
from .evaluate import evaluate_embedding
from .result import EvaluationResult
from .retriever import evaluate_retriever
from .set_size import SmallSetWarning, warn_if_small


@dataclass
class Comparison(ComparisonData):
    """The results of several models on one dataset, and how each differs from a baseline,
    with their renderings: markdown (``print(report)``), a chart and the files of ``save()``.

    Example::

        report = compare(report_part, models, top_k=[1, 5, 10], baseline="base")
        print(report)                               # the markdown table
        report.save("eval_report")                  # comparison.md, .png, .json

    The figures and their statistics (``table``, ``differences()``, ``wins_losses()``,
    ``to_dict()``) and the fields are those of :class:`~.comparison.ComparisonData`.
    """

    def to_markdown(
        self, columns: Sequence[str] | None = None, digits: int = 4, intervals: bool = True
    ) -> str:
        """A markdown table of the headline columns (or ``columns``), with a line saying what
        it was scored on; with a baseline, each other model shows its difference from it,
        the bootstrap interval of that difference, wins / losses / ties and a p-value.

        A difference whose interval contains 0 is marked with ``†`` and a footnote.
        """
        from .table import render_markdown

        return render_markdown(self, columns, digits, intervals)

    def __str__(self) -> str:
        return self.to_markdown()

    def _repr_markdown_(self) -> str:  # notebooks
        return self.to_markdown()

    def save_png(self, path: str | os.PathLike, columns: Sequence[str] | None = None) -> Path:
        """A bar chart of the columns (default: the headline ones), a bar per model, and with a
        baseline a second panel: each model's difference from it with its interval."""
        from .figure import draw_comparison

        return draw_comparison(self, path, columns)

    def save(self, output_dir: str | os.PathLike, overwrite: bool = False) -> dict[str, Path]:
        """Write ``comparison.md``, ``comparison.png``, ``comparison.json`` and, per model,
        ``per_query/<model>.json``; returns their paths. A folder holding files this package
        did not write is refused unless ``overwrite`` (see :mod:`..outputs`)."""
        from ..output_lock import claimed_output

        with claimed_output(output_dir, "report", overwrite) as out:
            paths = {"markdown": out / "comparison.md", "json": out / "comparison.json"}
            atomic_write_text(paths["markdown"], self.to_markdown())
            atomic_write_text(paths["json"], json.dumps(_finite(self.to_dict()), indent=2))
            paths["png"] = self.save_png(out / "comparison.png")
            for name, result in self.results.items():
                safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
                result.save_json(out / "per_query" / f"{safe}.json")
        return paths


def _finite(value: Any) -> Any:
    """JSON has no NaN: write null instead."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def _evaluate_one(
    dataset: EmbeddingQAFinetuneDataset, name: str, model: Any, top_k: list[int], metrics, kwargs
) -> EvaluationResult:
    from llama_index.core.base.base_retriever import BaseRetriever

    if isinstance(model, EvaluationResult):
        result = model
    elif (
        isinstance(model, (str, os.PathLike))
        and str(model).endswith(".json")
        and Path(model).is_file()
    ):
        result = EvaluationResult.from_json(model)
    elif isinstance(model, BaseRetriever):
        result = evaluate_retriever(dataset, model, top_k, metrics, name=name)
    else:
        result = evaluate_embedding(dataset, model, top_k, metrics, name=name, **kwargs)
    return dataclasses.replace(result, name=name)


def compare(
    dataset: EmbeddingQAFinetuneDataset,
    models: Mapping[str, Any],
    top_k: int | Sequence[int] = 10,
    metrics: Sequence[str] | None = None,
    output_dir: str | os.PathLike | None = None,
    baseline: str | None = None,
    overwrite: bool = False,
    dataset_name: str | None = None,
    primary_metric: str | None = None,
    confidence: float = S.DEFAULT_CONFIDENCE,
    resamples: int = S.DEFAULT_RESAMPLES,
    seed: int = 0,
    corpus: Mapping[str, str] | Iterable[Any] | None = None,
    **evaluate_kwargs: Any,
) -> Comparison:
    """Evaluate several models on one dataset and put them side by side.

    Example::

        # val selected the checkpoint: report on data that chose nothing
        select, report_part = val.split(0.5, seed=0)     # by chunk
        report = compare(report_part, {"base": "offline", "finetuned": "local:exp_finetune"},
                         top_k=[1, 5, 10], baseline="base", output_dir="eval",
                         dataset_name="report half of val (seed 0)")
        print(report)                                    # headline columns, intervals
        report.table["recall@10"]                        # every metric is computed
        report.differences("finetuned")["ndcg@10"].p_value

    Args:
        dataset: the queries, corpus and relevance judgements.
        models: label -> a ``BaseEmbedding``, anything :func:`evaluate_embedding` accepts
            (``"local:<folder>"``, a folder, ``"offline"``), a ``BaseRetriever``, an
            :class:`EvaluationResult`, or the path of one saved as JSON.
        top_k: a k or a list of k.
        metrics: metric names (default: all six).
        output_dir: if given, write ``comparison.md``, ``comparison.png``,
            ``comparison.json`` and ``per_query/<model>.json`` there.
        baseline: the label the others are compared with: each gets the paired difference
            of every metric with a bootstrap interval over queries, wins / losses / ties and
            a permutation-test p-value (:meth:`Comparison.differences`).
        overwrite: write into ``output_dir`` even if it holds files this package did not
            write (checked before any evaluation; nothing there is deleted).
        dataset_name: what ``dataset`` is (e.g. ``"report part of the Uber pairs"``), shown
            above the table and in the JSON, so a reader knows which data the figures
            come from.
        primary_metric: the metric of the wins / losses / ties and p-value columns
            (default ``ndcg@10``).
        confidence / resamples / seed: the bootstrap interval (95%, 2000, 0).
        corpus: what the questions are searched among as well as ``dataset.corpus``, as your
            index holds it: ``{chunk id: text}`` or LlamaIndex nodes (a retriever searches its
            own index). The table's first line says how many chunks were searched, and a set
            too small to tell two models apart says so there and warns (``SmallSetWarning``).
        **evaluate_kwargs: passed to :func:`evaluate_embedding` (``show_progress``,
            ``embed_batch_size``, ``workers``, ...).
    """
    if not models:
        raise ValueError("compare() needs at least one model: pass {'label': model, ...}")
    if output_dir is not None:
        check_output_dir(output_dir, overwrite)
    check_dataset(dataset, "dataset", "evaluated")
    if corpus is not None:
        dataset = dataset.with_corpus(corpus)
    ks = M.normalize_top_k(top_k)
    warn_if_small(len(dataset.queries))  # once for the comparison, naming the caller's line
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallSetWarning)
        results = {
            name: _evaluate_one(dataset, name, model, ks, metrics, evaluate_kwargs)
            for name, model in models.items()
        }
    comparison = Comparison(
        results=results,
        baseline=baseline,
        dataset_name=dataset_name,
        primary_metric=primary_metric,
        confidence=confidence,
        resamples=resamples,
        seed=seed,
    )
    if output_dir is not None:
        comparison.save(output_dir, overwrite=overwrite)
    return comparison
