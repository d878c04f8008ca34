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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..dataset import EmbeddingQAFinetuneDataset
from ..outputs import atomic_write_text, check_output_dir, claim_dir
from . import metrics as M
from . import stats as S
from .evaluate import evaluate_embedding
from .result import EvaluationResult
from .retriever import evaluate_retriever


@dataclass
class Comparison:
    """The results of several models on one dataset, and how each differs from a baseline.

    Attributes:
        results: model label -> :class:`EvaluationResult`, in the order given.
        baseline: the label the others are measured against (or None).
        dataset_name: what the figures were computed on (e.g. ``"report part of the Uber
            pairs"``), shown above the table and kept in the JSON.
        primary_metric: the metric of the wins / losses / ties and of the p-value shown in
            the table (default: ``ndcg@10``, else NDCG, else MRR at the largest k).
        confidence, resamples, seed: the paired bootstrap interval (see :mod:`.stats`).
    """

    results: dict[str, EvaluationResult]
    baseline: str | None = None
    dataset_name: str | None = None
    primary_metric: str | None = None
    confidence: float = S.DEFAULT_CONFIDENCE
    resamples: int = S.DEFAULT_RESAMPLES
    seed: int = 0
    _paired: dict[str, dict[str, S.PairedDifference]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        if self.baseline is not None and self.baseline not in self.results:
            raise ValueError(
                f"baseline {self.baseline!r} is not one of the models {list(self.results)}"
            )
        if self.primary_metric is not None and self.results:
            first = next(iter(self.results.values()))
            if self.primary_metric not in first.summary:
                raise ValueError(
                    f"primary_metric {self.primary_metric!r} was not computed: choose from "
                    f"{list(first.summary)}"
                )

    @property
    def table(self) -> pd.DataFrame:
        """One row per model, one column per ``<metric>@<k>`` (every metric computed)."""
        frame = pd.DataFrame({name: r.summary for name, r in self.results.items()}).T
        frame.index.name = "model"
        return frame

    def headline_columns(self) -> list[str]:
        """The lean default columns: hit rate at the small k, MRR and NDCG at the largest k.

        With k = 1, 5, 10 that is hit_rate@1, hit_rate@5, mrr@10, ndcg@10 (hit rate at every
        k when fewer than three were asked). Recall and MAP at the largest k are added only
        when some query has several relevant chunks: with one each, recall equals hit rate
        and MAP equals MRR.
        """
        if not self.results:
            return []
        first = next(iter(self.results.values()))
        ks, have = sorted(first.top_k), set(first.summary)
        top = ks[-1]
        hit_ks = ks[:-1] if len(ks) >= 3 else ks
        wanted = [f"hit_rate@{k}" for k in hit_ks] + [f"mrr@{top}", f"ndcg@{top}"]
        if self._several_relevant():
            wanted += [f"recall@{top}", f"map@{top}"]
        columns = [c for c in wanted if c in have]
        return columns or list(first.summary)

    def _several_relevant(self) -> bool:
        for result in self.results.values():
            if "expected_ids" in result.per_query:
                return bool(result.per_query["expected_ids"].map(len).gt(1).any())
        return False

    @property
    def metric(self) -> str:
        """The metric of the wins / losses / ties and the p-value in the table."""
        if self.primary_metric is not None:
            return self.primary_metric
        return self._default_metric(next(iter(self.results.values())))

    def differences(
        self, name: str, metrics: Sequence[str] | None = None
    ) -> dict[str, S.PairedDifference]:
        """``{metric: PairedDifference}`` of model ``name`` against the baseline.

        Example::

            d = report.differences("finetuned")["ndcg@10"]
            print(f"{d.difference:+.3f} [{d.low:+.3f}, {d.high:+.3f}], p={d.p_value:.3f}")

        ``metrics``: default every metric both models have (computed on first use, then
        kept). Empty when there is no baseline, for the baseline itself, or when a result
        has no per-query scores (e.g. read from a JSON saved without them).
        """
        self._get(name)
        if self.baseline is None or name == self.baseline:
            return {}
        ra, rb = self.results[name], self.results[self.baseline]
        common = [m for m in ra.summary if m in rb.summary]
        wanted = common if metrics is None else [m for m in dict.fromkeys(metrics) if m in common]
        if not self._has_per_query(ra, rb, wanted):
            return {}
        done = self._paired.setdefault(name, {})
        todo = [m for m in wanted if m not in done]
        if todo:
            merged = ra.per_query[["query_id", *todo]].merge(
                rb.per_query[["query_id", *todo]], on="query_id", suffixes=("_a", "_b")
            )
            if len(merged) != len(ra.per_query) or len(merged) != len(rb.per_query):
                raise ValueError(
                    f"models {name!r} and {self.baseline!r} were evaluated on different "
                    "queries: compare them on the same dataset"
                )
            for m in todo:
                done[m] = S.paired_difference(
                    merged[f"{m}_a"].to_numpy(float),
                    merged[f"{m}_b"].to_numpy(float),
                    metric=m,
                    confidence=self.confidence,
                    resamples=self.resamples,
                    seed=self.seed,
                )
        return {m: done[m] for m in wanted}

    @staticmethod
    def _has_per_query(ra: EvaluationResult, rb: EvaluationResult, metrics: list[str]) -> bool:
        columns = ["query_id", *metrics]
        return bool(metrics) and all(c in r.per_query for c in columns for r in (ra, rb))

    def _scope(self) -> str:
        """ "Scored on <dataset>: N queries, M chunks." from the first result's info."""
        info = next(iter(self.results.values())).info if self.results else {}
        sizes = ", ".join(
            f"{info[key]} {label}"
            for key, label in (("n_queries", "queries"), ("n_corpus", "chunks"))
            if key in info
        )
        where = f"Scored on {self.dataset_name}" if self.dataset_name else "Scored"
        return f"{where}: {sizes}." if sizes else f"{where}."

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

    def wins_losses(self, a: str, b: str, metric: str | None = None) -> pd.DataFrame:
        """Per query, how model ``a`` did against model ``b`` on ``metric``.

        Rows are sorted with ``a``'s largest gains first; ``outcome`` is ``"win"``,
        ``"loss"`` or ``"tie"`` for ``a``. Default metric: :attr:`metric` (``ndcg@10`` when
        computed). The counts and their significance: :meth:`differences`.
        """
        ra, rb = self._get(a), self._get(b)
        metric = metric or self.metric
        for label, r in ((a, ra), (b, rb)):
            if metric not in r.per_query:
                raise ValueError(
                    f"model {label!r} has no per-query {metric!r}: choose from {list(r.summary)}"
                )
        left = ra.per_query[
            ["query_id", "query", "expected_ids", "retrieved_ids", "first_hit_rank", metric]
        ]
        right = rb.per_query[["query_id", "retrieved_ids", "first_hit_rank", metric]]
        merged = left.merge(right, on="query_id", suffixes=(f"_{a}", f"_{b}"), how="inner")
        if len(merged) < len(left):
            raise ValueError(f"models {a!r} and {b!r} were evaluated on different queries")
        delta = merged[f"{metric}_{a}"] - merged[f"{metric}_{b}"]
        merged["delta"] = delta
        tol = S.TIE_TOLERANCE
        merged["outcome"] = np.select([delta > tol, delta < -tol], ["win", "loss"], "tie")
        return merged.sort_values("delta", ascending=False, kind="stable").reset_index(drop=True)

    def _get(self, name: str) -> EvaluationResult:
        if name not in self.results:
            raise KeyError(f"no model named {name!r}: the models are {list(self.results)}")
        return self.results[name]

    @staticmethod
    def _default_metric(result: EvaluationResult) -> str:
        top = max(result.top_k)
        for key in ("ndcg@10", f"ndcg@{top}", f"mrr@{top}"):
            if key in result.summary:
                return key
        return next(iter(result.summary))

    def save_png(self, path: str | os.PathLike, columns: Sequence[str] | None = None) -> Path:
        """A bar chart of the columns (default: the headline ones), a bar per model, and with a
        baseline a second panel: each model's difference from it with its interval."""
        from .figure import draw_comparison

        return draw_comparison(self, path, columns)

    def to_dict(self, per_query: bool = False) -> dict[str, Any]:
        """JSON-ready: every metric of every model, and every metric's paired difference."""
        first = next(iter(self.results.values())).info if self.results else {}
        out: dict[str, Any] = {
            "dataset": {
                "name": self.dataset_name,
                "n_queries": first.get("n_queries"),
                "n_corpus": first.get("n_corpus"),
            },
            "baseline": self.baseline,
            "headline": self.headline_columns(),
            "table": {name: r.summary for name, r in self.results.items()},
        }
        if self.baseline is not None:
            out["statistics"] = {
                "primary_metric": self.metric,
                "interval": f"{self.confidence:.0%} percentile bootstrap over queries",
                "resamples": self.resamples,
                "seed": self.seed,
                "p_value": "two-sided paired permutation (sign-flip) test",
                "sign_test_p": "two-sided sign test on wins against losses",
            }
            shown = [*self.headline_columns(), self.metric]
            out["differences"] = {
                name: {m: d.to_dict() for m, d in self.differences(name, shown).items()}
                for name in self.results
                if name != self.baseline
            }
        out["models"] = {name: r.to_dict(per_query=per_query) for name, r in self.results.items()}
        return out

    def save(self, output_dir: str | os.PathLike, overwrite: bool = False) -> dict[str, Path]:
        """Write ``comparison.md``, ``comparison.png``, ``comparison.json`` and, per model,
        ``per_query/<model>.json``; returns their paths. A folder holding files this package
        did not write is refused unless ``overwrite`` (see :mod:`..outputs`)."""
        out = claim_dir(output_dir, "report", overwrite)
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
        **evaluate_kwargs: passed to :func:`evaluate_embedding` (``show_progress``,
            ``embed_batch_size``, ``workers``, ...).
    """
    if not models:
        raise ValueError("compare() needs at least one model: pass {'label': model, ...}")
    if output_dir is not None:
        check_output_dir(output_dir, overwrite)
    ks = M.normalize_top_k(top_k)
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
