"""The last line of ``run``: what was saved, and whether it beat the base on the report set.

Example::

    from llama_index.finetuning.job.verdict import run_ending

    line = run_ending(comparison, Path("out/finetuned_model"), Path("out/adapter"))
    # "saved local:out/finetuned_model (the base model: no checkpoint beat it on the
    #  selection set) and adapter:out/adapter; on the 148 report questions, ndcg@10: ..."

The engines say their own verdict once, while the run goes on (on the questions that chose
the checkpoint or the epoch, which flatter it); this line reads the report set, which chose
nothing, so it is the one a user should act on.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def _word(d: Any) -> str:
    """How a model did against the base, from the interval of the difference."""
    if d.low > 0:
        return "beat the base"
    if d.high < 0:
        return "worse than the base"
    return "no clear difference from the base"


def _saved(folder: Path, spec: str) -> str:
    from ..embeddings.finetune_result import FinetuneResult

    try:
        result = FinetuneResult.load(folder)
    except (OSError, ValueError):
        return spec
    if result.checked and result.kept_untrained:
        kept = "the base model" if result.kind == "model" else "an adapter that changes nothing"
        return f"{spec} ({kept}, kept: nothing trained beat it on the selection questions)"
    return spec


def scores_line(comparison: Any, which: str = "") -> str:
    """``on the 148 report questions, ndcg@10: finetuned 0.33 vs base 0.32, +0.01 [...]: no
    clear difference from the base; ...``: each model against the baseline ('' if none)."""
    metric, base = comparison.metric, comparison.baseline
    n = len(next(iter(comparison.results.values())).per_query)
    parts = []
    for name in comparison.results:
        d = comparison.differences(name, [metric]).get(metric)
        if d is None:
            continue
        parts.append(
            f"{name} {d.mean_a:.4f} vs {base} {d.mean_b:.4f}, {d.difference:+.4f} "
            f"[{d.low:+.4f}, {d.high:+.4f}]: {_word(d).replace('the base', base)}"
        )
    if not parts:
        return ""
    return f"on the {n} {which}questions, {metric}: " + "; ".join(parts)


def too_small(comparison: Any, line: str, which: str) -> str:
    """``line``, opened by the warning of a set too small to tell models apart, if it is."""
    notice = getattr(comparison, "notice", None)
    if not notice:
        return line
    return f"warning: {which} is too small: {notice}" + (f"; {line}" if line else "")


def run_ending(comparison: Any, model_dir: Path, adapter_dir: Path) -> str:
    """One line: the saved model and adapter (and whether the guard kept the base), and how
    each scored against the base on the report set, with the interval and a word for it."""
    saved = (
        f"saved {_saved(model_dir, f'local:{model_dir}')} and "
        f"{_saved(adapter_dir, f'adapter:{adapter_dir}')}"
    )
    return too_small(comparison, f"{saved}; {scores_line(comparison, 'report ')}", "the report set")


def evaluate_ending(comparison: Any, dataset: str) -> str:
    """``evaluate``'s last line: each model against the baseline ('' with the baseline alone),
    opened by the warning of a set too small to tell them apart."""
    return too_small(comparison, scores_line(comparison), dataset)
