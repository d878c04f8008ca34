"""The markdown table of a comparison: headline metrics, each model's difference from the
baseline with its bootstrap interval (marked when it contains 0), wins / losses / ties and
a p-value, under a line naming the data the figures come from.

Example::

    report = compare(report_part, models, top_k=[1, 5, 10], baseline="base",
                     dataset_name="report part of the Uber pairs")
    print(report.to_markdown())        # calls render_markdown(report)

    Scored on report part of the Uber pairs: 49 queries, 40 chunks.

    | model | hit_rate@1 | hit_rate@5 | mrr@10 | ndcg@10 | wins/losses/ties (ndcg@10) | p (ndcg@10) |
    |---|---|---|---|---|---|---|
    | base | 0.3061 | 0.5510 | 0.4102 | 0.4551 |  |  |
    | tuned | 0.3265 (+0.020 [-0.061, +0.102]) † | ... | 11/7/31 | 0.412 |
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    from .comparison import ComparisonData

MARK = "†"


def _p_text(p: float) -> str:
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def render_markdown(
    comparison: ComparisonData,
    columns: Sequence[str] | None = None,
    digits: int = 4,
    intervals: bool = True,
) -> str:
    """The table (see :meth:`Comparison.to_markdown`); differences get ``digits - 1`` places."""
    c = comparison
    columns = c.headline_columns() if columns is None else list(columns)
    table = c.table[columns]
    paired = c.baseline is not None and intervals
    metric = c.metric
    d = max(2, digits - 1)
    header = ["model", *table.columns]
    if paired:
        header += [f"wins/losses/ties ({metric})", f"p ({metric})"]
    lines = [c._scope(), "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    marked = False
    for name, row in table.iterrows():
        diffs = c.differences(str(name), [*columns, metric]) if paired else {}
        cells = [str(name)]
        for col, value in row.items():
            cell = "" if pd.isna(value) else f"{value:.{digits}f}"
            if c.baseline is not None and name != c.baseline and not pd.isna(value):
                diff = diffs.get(col)
                if diff is None:
                    cell += f" ({value - table.loc[c.baseline, col]:+.{digits}f})"
                else:
                    cell += f" ({diff.difference:+.{d}f} [{diff.low:+.{d}f}, {diff.high:+.{d}f}])"
                    if diff.contains_zero:
                        cell += f" {MARK}"
                        marked = True
            cells.append(cell)
        if paired:
            diff = diffs.get(metric)
            cells += (
                [f"{diff.wins}/{diff.losses}/{diff.ties}", _p_text(diff.p_value)]
                if diff is not None
                else ["", ""]
            )
        lines.append("| " + " | ".join(cells) + " |")
    if paired and len(c.results) > 1:
        note = (
            f" {MARK} the interval contains 0: no change shown on these queries." if marked else ""
        )
        lines += [
            "",
            f"In parentheses: the difference from {c.baseline} and its {c.confidence:.0%} "
            f"bootstrap interval over queries ({c.resamples} resamples, seed {c.seed}).{note}",
            f"wins/losses/ties: queries scored above / below / equal to {c.baseline} on "
            f"{metric}; p: two-sided paired permutation test on {metric}.",
        ]
    return "\n".join(lines) + "\n"
