"""The figures of a comparison: each model's results on one dataset, and how each differs
from a baseline (paired bootstrap intervals, permutation p-values, wins / losses / ties).

Example::

    from llama_index.finetuning.evaluation import compare

    report = compare(report_part, {"base": "offline", "tuned": "local:exp_finetune"},
                     top_k=[1, 5, 10], baseline="base")
    report.table                               # one row per model, one column per metric
    report.differences("tuned")["ndcg@10"]     # PairedDifference: interval, p-value, wins

:class:`ComparisonData` holds and computes these; what renders them reads it: the markdown
table (table.py) and the chart (figure.py). :class:`~.report.Comparison`, what ``compare()``
returns, is this with its renderings and ``save()``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from . import stats as S
from .result import EvaluationResult


@dataclass
class ComparisonData:
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
        """ "Scored on <dataset>: N queries, searched among M chunks." from the first result's
        info, and the notice of a set too small to tell two models apart."""
        info = next(iter(self.results.values())).info if self.results else {}
        sizes = ", ".join(
            f"{label}{info[key]}{unit}"
            for key, label, unit in (
                ("n_queries", "", " queries"),
                ("n_corpus", "searched among ", " chunks"),
            )
            if key in info
        )
        where = f"Scored on {self.dataset_name}" if self.dataset_name else "Scored"
        scope = f"{where}: {sizes}." if sizes else f"{where}."
        return scope + (f" Too small: {self.notice}." if self.notice else "")

    @property
    def notice(self) -> str | None:
        """The sentence of a set too few questions to tell two models apart, else None."""
        first = next(iter(self.results.values()), None)
        return first.notice if first is not None else None

    @property
    def too_small(self) -> bool:
        """The set has too few questions to tell two models apart."""
        return self.notice is not None

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

    def to_dict(self, per_query: bool = False) -> dict[str, Any]:
        """JSON-ready: every metric of every model, and every metric's paired difference."""
        first = next(iter(self.results.values())).info if self.results else {}
        out: dict[str, Any] = {
            "dataset": {
                "name": self.dataset_name,
                "n_queries": first.get("n_queries"),
                "n_corpus": first.get("n_corpus"),
                "too_small": self.too_small,
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
