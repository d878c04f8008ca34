"""compare(): several models on one dataset, as a table, markdown, a bar chart and JSON.

Example::

    from llama_index.finetuning.evaluation import compare

    report = compare(
        val_dataset,
        {"base": "offline", "finetuned": "local:exp_finetune", "adapter": adapter_embed_model},
        top_k=[1, 5, 10],
        baseline="base",
        output_dir="eval_report",   # comparison.md, comparison.png, comparison.json
    )
    print(report)                              # the markdown table
    report.wins_losses("finetuned", "base")    # the queries where they differ
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..dataset import EmbeddingQAFinetuneDataset
from ..outputs import atomic_write_text, check_output_dir, claim_dir
from . import metrics as M
from .evaluate import evaluate_embedding
from .result import EvaluationResult
from .retriever import evaluate_retriever


@dataclass
class Comparison:
    """The results of several models on one dataset.

    Attributes:
        results: model label -> :class:`EvaluationResult`, in the order given.
        baseline: the label the others are measured against (or None).
    """

    results: dict[str, EvaluationResult]
    baseline: str | None = None

    def __post_init__(self) -> None:
        if self.baseline is not None and self.baseline not in self.results:
            raise ValueError(
                f"baseline {self.baseline!r} is not one of the models {list(self.results)}"
            )

    @property
    def table(self) -> pd.DataFrame:
        """One row per model, one column per ``<metric>@<k>``."""
        frame = pd.DataFrame({name: r.summary for name, r in self.results.items()}).T
        frame.index.name = "model"
        return frame

    def to_markdown(self, columns: Sequence[str] | None = None, digits: int = 4) -> str:
        """A markdown table; with a baseline, other rows show the change from it."""
        table = self.table if columns is None else self.table[list(columns)]
        base = table.loc[self.baseline] if self.baseline is not None else None
        header = ["model", *table.columns]
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        for name, row in table.iterrows():
            cells = [str(name)]
            for col, value in row.items():
                cell = "" if pd.isna(value) else f"{value:.{digits}f}"
                if base is not None and name != self.baseline and not pd.isna(value):
                    cell += f" ({value - base[col]:+.{digits}f})"
                cells.append(cell)
            lines.append("| " + " | ".join(cells) + " |")
        return "\n".join(lines) + "\n"

    def __str__(self) -> str:
        return self.to_markdown()

    def _repr_markdown_(self) -> str:  # notebooks
        return self.to_markdown()

    def wins_losses(self, a: str, b: str, metric: str | None = None) -> pd.DataFrame:
        """Per query, how model ``a`` did against model ``b`` on ``metric``.

        Rows are sorted with ``a``'s largest gains first; ``outcome`` is ``"win"``,
        ``"loss"`` or ``"tie"`` for ``a``. Default metric: MRR at the largest k (or the
        first summary column when MRR was not computed).
        """
        ra, rb = self._get(a), self._get(b)
        metric = metric or self._default_metric(ra)
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
        merged["outcome"] = np.select([delta > 1e-12, delta < -1e-12], ["win", "loss"], "tie")
        return merged.sort_values("delta", ascending=False, kind="stable").reset_index(drop=True)

    def _get(self, name: str) -> EvaluationResult:
        if name not in self.results:
            raise KeyError(f"no model named {name!r}: the models are {list(self.results)}")
        return self.results[name]

    @staticmethod
    def _default_metric(result: EvaluationResult) -> str:
        key = f"mrr@{max(result.top_k)}"
        return key if key in result.summary else next(iter(result.summary))

    def save_png(self, path: str | os.PathLike, columns: Sequence[str] | None = None) -> Path:
        """Bar charts, one panel per metric: a group per k, a bar per model (headless)."""
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        table = self.table if columns is None else self.table[list(columns)]
        panels: dict[str, list[str]] = {}  # metric -> its columns, in table order
        for col in table.columns:
            panels.setdefault(col.rpartition("@")[0] or col, []).append(col)
        n_models, n_panels = len(table), max(1, len(panels))
        ncols = min(3, n_panels)
        nrows = -(-n_panels // ncols)
        fig = Figure(figsize=(4.2 * ncols, 3.2 * nrows + 0.6), layout="constrained")
        FigureCanvasAgg(fig)
        axes = fig.subplots(nrows, ncols, squeeze=False, sharey=True).ravel()
        top = float(np.nanmax(table.to_numpy(float))) if table.size else 1.0
        width = 0.8 / max(1, n_models)
        for ax, (metric, cols) in zip(axes, panels.items(), strict=False):
            x = np.arange(len(cols))
            for i, (name, row) in enumerate(table[cols].iterrows()):
                offset = (i - (n_models - 1) / 2) * width
                bars = ax.bar(
                    x + offset, row.to_numpy(float), width, label=str(name), color=f"C{i}"
                )
                if len(cols) * n_models <= 12:
                    ax.bar_label(bars, fmt="%.2f", fontsize=7, padding=1)
            ax.set_xticks(x, ["@" + c.rpartition("@")[2] if "@" in c else c for c in cols])
            ax.set_title(metric)
            ax.set_ylim(0, min(1.05, max(0.1, top * 1.18)))
            ax.grid(axis="y", alpha=0.3)
        for ax in axes[len(panels) :]:
            ax.set_visible(False)
        handles, labels = axes[0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside lower center", ncols=min(n_models, 6), fontsize=8)
        n_q = next(iter(self.results.values())).info.get("n_queries") if self.results else None
        fig.suptitle(f"Retrieval on {n_q} queries" if n_q else "Retrieval")
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=110)
        return path

    def to_dict(self, per_query: bool = False) -> dict[str, Any]:
        return {
            "baseline": self.baseline,
            "table": {name: r.summary for name, r in self.results.items()},
            "models": {name: r.to_dict(per_query=per_query) for name, r in self.results.items()},
        }

    def save(self, output_dir: str | os.PathLike, overwrite: bool = False) -> dict[str, Path]:
        """Write ``comparison.md``, ``comparison.png``, ``comparison.json`` and, per model,
        ``per_query/<model>.json``; returns their paths. A folder holding files this package
        did not write is refused unless ``overwrite`` (see :mod:`..outputs`)."""
        out = claim_dir(output_dir, "report", overwrite)
        paths = {"markdown": out / "comparison.md", "json": out / "comparison.json"}
        text = self.to_markdown()
        if self.baseline is not None:
            lines = [
                f"- {name} vs {self.baseline} ({metric}): "
                + ", ".join(f"{n} {_PLURAL[o]}" for o, n in counts.items())
                for name, metric, counts in self._outcome_counts()
            ]
            text += "\nPer query:\n\n" + "\n".join(lines) + "\n"
        atomic_write_text(paths["markdown"], text)
        atomic_write_text(paths["json"], json.dumps(_finite(self.to_dict()), indent=2))
        paths["png"] = self.save_png(out / "comparison.png")
        for name, result in self.results.items():
            safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
            result.save_json(out / "per_query" / f"{safe}.json")
        return paths

    def _outcome_counts(self):
        for name in self.results:
            if name == self.baseline:
                continue
            metric = self._default_metric(self.results[name])
            wl = self.wins_losses(name, self.baseline, metric)
            counts = {o: int((wl.outcome == o).sum()) for o in ("win", "loss", "tie")}
            yield name, metric, counts


_PLURAL = {"win": "wins", "loss": "losses", "tie": "ties"}


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
    **evaluate_kwargs: Any,
) -> Comparison:
    """Evaluate several models on one dataset and put them side by side.

    Example::

        report = compare(val, {"base": "offline", "finetuned": "local:exp_finetune"},
                         top_k=[1, 5, 10], baseline="base", output_dir="eval")
        print(report)
        report.table["hit_rate@5"]

    Args:
        dataset: the queries, corpus and relevance judgements.
        models: label -> a ``BaseEmbedding``, anything :func:`evaluate_embedding` accepts
            (``"local:<folder>"``, a folder, ``"offline"``), a ``BaseRetriever``, an
            :class:`EvaluationResult`, or the path of one saved as JSON.
        top_k: a k or a list of k.
        metrics: metric names (default: all six).
        output_dir: if given, write ``comparison.md``, ``comparison.png``,
            ``comparison.json`` and ``per_query/<model>.json`` there.
        baseline: the label the others are compared with in the markdown and the
            per-query win/loss counts.
        overwrite: write into ``output_dir`` even if it holds files this package did not
            write (checked before any evaluation; nothing there is deleted).
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
    comparison = Comparison(results=results, baseline=baseline)
    if output_dir is not None:
        comparison.save(output_dir, overwrite=overwrite)
    return comparison
