"""The comparison chart: scores per model, and each model's difference from the baseline
with its bootstrap interval (headless matplotlib).

Example::

    from llama_index.finetuning.evaluation import compare

    report = compare(report_part, {"base": "offline", "tuned": "local:exp_finetune"},
                     top_k=[1, 5, 10], baseline="base")
    report.save_png("comparison.png")      # calls draw_comparison(report, ...)
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from .comparison import ComparisonData


def draw_comparison(
    comparison: ComparisonData, path: str | os.PathLike, columns: Sequence[str] | None = None
) -> Path:
    """Write the chart of ``comparison`` to ``path`` (PNG); returns the path.

    Left: a group of bars per column (default: the headline columns), a bar per model.
    Right, when there is a baseline: each other model's difference from it per column, a
    point with its interval as an error bar, hollow where the interval contains 0.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    columns = comparison.headline_columns() if columns is None else list(columns)
    table = comparison.table[columns]
    baseline = comparison.baseline
    others = [n for n in comparison.results if n != baseline] if baseline else []
    has_diffs = any(comparison.differences(n, columns) for n in others)
    n_models, n_cols = len(table), len(columns)
    width = max(5.0, 0.35 * n_cols * max(1, n_models) + 1.5)
    fig = Figure(figsize=(width * (2 if has_diffs else 1), 4.0), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, 2 if has_diffs else 1, squeeze=False).ravel()
    ax = axes[0]
    x = np.arange(n_cols)
    bar_width = 0.8 / max(1, n_models)
    top = float(np.nanmax(table.to_numpy(float))) if table.size else 1.0
    for i, (name, row) in enumerate(table.iterrows()):
        offset = (i - (n_models - 1) / 2) * bar_width
        bars = ax.bar(x + offset, row.to_numpy(float), bar_width, label=str(name), color=f"C{i}")
        if n_cols * n_models <= 16:
            ax.bar_label(bars, fmt="%.2f", fontsize=7, padding=1)
    ax.set_xticks(x, columns, rotation=30 if n_cols > 4 else 0, fontsize=8)
    ax.set_ylim(0, min(1.05, max(0.1, top * 1.18)))
    ax.grid(axis="y", alpha=0.3)
    ax.set_title("scores", fontsize=9)
    ax.legend(fontsize=8, loc="lower right")
    if has_diffs:
        _plot_differences(comparison, axes[1], columns, others)
    fig.suptitle(comparison._scope().rstrip("."), fontsize=10)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    return path


def _plot_differences(comparison: ComparisonData, ax: Any, columns: list[str], others: list[str]):
    y = np.arange(len(columns))
    step = 0.8 / max(1, len(others))
    names = list(comparison.results)
    for i, name in enumerate(others):
        color = f"C{names.index(name)}"
        diffs = comparison.differences(name, columns)
        for j, col in enumerate(columns):
            d = diffs.get(col)
            if d is None:
                continue
            pos = y[j] + (i - (len(others) - 1) / 2) * step
            ax.errorbar(
                d.difference, pos, xerr=[[d.difference - d.low], [d.high - d.difference]],
                fmt="o", color=color, capsize=3, mfc="white" if d.contains_zero else color,
                label=name if j == 0 else None,
            )  # fmt: skip
    ax.axvline(0.0, color="black", linewidth=0.8)
    ax.set_yticks(y, columns, fontsize=8)
    ax.invert_yaxis()
    ax.grid(axis="x", alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    ax.set_title(
        f"difference from {comparison.baseline}, {comparison.confidence:.0%} interval "
        "(hollow: contains 0)",
        fontsize=9,
    )
