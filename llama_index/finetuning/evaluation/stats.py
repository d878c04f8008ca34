"""Paired statistics over per-query scores: is model A better than model B on these queries?

Example::

    import numpy as np
    from llama_index.finetuning.evaluation.stats import paired_difference

    base = np.array([1.0, 0.5, 0.0, 1.0, 0.33])
    tuned = np.array([1.0, 1.0, 0.5, 1.0, 0.25])
    d = paired_difference(tuned, base, metric="mrr@10")
    d.difference, d.low, d.high   # mean gain and its 95% bootstrap interval
    d.wins, d.losses, d.ties      # 2, 1, 2
    d.p_value                     # paired permutation test (two-sided)
    d.contains_zero               # True: these 5 queries cannot tell the models apart

Both models are scored on the same queries, so the comparison is paired: each query
contributes one difference, and the uncertainty comes from which queries happened to be
in the set. The interval is a percentile bootstrap of the mean difference (queries drawn
with replacement, seeded); the p-value is a sign-flip permutation test of the mean
difference (exact when at most 16 queries differ, else Monte Carlo, seeded), with a sign
test on the wins and losses alongside. Pure numpy and scipy: no model is touched here.
"""

from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass

import numpy as np

__all__ = [
    "PairedDifference",
    "bootstrap_interval",
    "paired_difference",
    "permutation_p_value",
    "sign_test_p_value",
    "wins_losses_ties",
]

DEFAULT_RESAMPLES = 2000
DEFAULT_PERMUTATIONS = 10000
DEFAULT_CONFIDENCE = 0.95
# scores closer than this count as a tie (metrics are ratios of small integers)
TIE_TOLERANCE = 1e-12
_EXACT_UP_TO = 16  # nonzero differences: 2**16 sign patterns are enumerated
_BLOCK_ELEMENTS = 4_000_000  # bound on a resampling block's size (floats)


def _diffs(a: np.ndarray, b: np.ndarray | None) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    d = a if b is None else a - np.asarray(b, dtype=np.float64)
    if d.ndim != 1:
        raise ValueError(f"per-query scores must be 1-d arrays, got shape {d.shape}")
    if not np.isfinite(d).all():
        raise ValueError("per-query scores hold NaN or infinite values")
    return d


def wins_losses_ties(a: np.ndarray, b: np.ndarray) -> tuple[int, int, int]:
    """Queries where ``a`` scored higher, lower, and the same as ``b``."""
    d = _diffs(a, b)
    wins = int((d > TIE_TOLERANCE).sum())
    losses = int((d < -TIE_TOLERANCE).sum())
    return wins, losses, len(d) - wins - losses


def bootstrap_interval(
    diffs: np.ndarray,
    confidence: float = DEFAULT_CONFIDENCE,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean of ``diffs`` (queries drawn with replacement).

    Example::

        bootstrap_interval(np.array([0.0, 1.0]))   # (0.0, 1.0): means 0, .5, 1 with p .25/.5/.25
    """
    d = _diffs(diffs, None)
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence}")
    if resamples < 1:
        raise ValueError(f"resamples must be a positive integer, got {resamples}")
    n = len(d)
    if n == 0:
        return float("nan"), float("nan")
    if np.ptp(d) == 0.0:  # every resample has the same mean
        return float(d[0]), float(d[0])
    rng = np.random.default_rng(seed)
    means = np.empty(resamples)
    block = max(1, _BLOCK_ELEMENTS // n)
    for start in range(0, resamples, block):
        rows = min(block, resamples - start)
        means[start : start + rows] = d[rng.integers(0, n, size=(rows, n))].mean(axis=1)
    tail = (1.0 - confidence) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return float(low), float(high)


def permutation_p_value(
    diffs: np.ndarray, permutations: int = DEFAULT_PERMUTATIONS, seed: int = 0
) -> float:
    """Two-sided paired permutation (sign-flip) test of "the mean difference is 0".

    Under the null hypothesis each query's difference is as likely to have the other sign.
    Queries with no difference do not change any permuted mean, so they only dilute it; the
    test is exact (every sign pattern) when at most 16 queries differ, else it draws
    ``permutations`` patterns and returns ``(hits + 1) / (permutations + 1)``.

    Example::

        permutation_p_value(np.array([1.0, 1.0, 1.0]))   # 0.25: 2 of the 8 patterns reach |3|
    """
    d = _diffs(diffs, None)
    nonzero = d[np.abs(d) > TIE_TOLERANCE]
    m = len(nonzero)
    if m == 0:
        return 1.0
    observed = abs(nonzero.sum()) * (1 - 1e-9)  # float sums of the same values may differ
    if m <= _EXACT_UP_TO:
        signs = np.array(list(itertools.product((1.0, -1.0), repeat=m)))
        return float((np.abs(signs @ nonzero) >= observed).mean())
    rng = np.random.default_rng(seed)
    hits = 0
    block = max(1, _BLOCK_ELEMENTS // m)
    for start in range(0, permutations, block):
        rows = min(block, permutations - start)
        signs = rng.integers(0, 2, size=(rows, m)) * 2.0 - 1.0
        hits += int((np.abs(signs @ nonzero) >= observed).sum())
    return (hits + 1) / (permutations + 1)


def sign_test_p_value(wins: int, losses: int) -> float:
    """Two-sided sign test: how surprising ``wins`` against ``losses`` is for a fair coin."""
    if wins + losses == 0:
        return 1.0
    from scipy.stats import binomtest

    return float(binomtest(wins, wins + losses, 0.5).pvalue)


@dataclass(frozen=True)
class PairedDifference:
    """How model ``a`` compares with model ``b`` on one metric, over the same queries.

    Attributes:
        metric: e.g. ``"ndcg@10"``.
        mean_a / mean_b: the two models' means.
        difference: ``mean_a - mean_b``.
        low / high: the bootstrap interval of ``difference`` at ``confidence``.
        p_value: two-sided paired permutation test of a zero mean difference.
        sign_test_p: two-sided sign test on ``wins`` against ``losses``.
        wins / losses / ties: queries where ``a`` scored higher / lower / the same.
        n_queries, confidence, resamples, seed: how it was computed.
    """

    metric: str
    mean_a: float
    mean_b: float
    difference: float
    low: float
    high: float
    p_value: float
    sign_test_p: float
    wins: int
    losses: int
    ties: int
    n_queries: int
    confidence: float
    resamples: int
    seed: int

    @property
    def contains_zero(self) -> bool:
        """True when the interval holds 0: the data cannot tell the models apart."""
        return self.low <= 0.0 <= self.high

    def to_dict(self) -> dict[str, float | int | str | bool]:
        return {**asdict(self), "contains_zero": self.contains_zero}


def paired_difference(
    a: np.ndarray,
    b: np.ndarray,
    metric: str = "",
    confidence: float = DEFAULT_CONFIDENCE,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
    permutations: int = DEFAULT_PERMUTATIONS,
) -> PairedDifference:
    """Difference of the means of per-query scores ``a - b``, with its interval and p-values.

    ``a[i]`` and ``b[i]`` must be the two models' scores on the same query ``i``.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(
            f"paired scores need one value per query from each model, got {a.shape} and {b.shape}"
        )
    d = _diffs(a, b)
    wins, losses, ties = wins_losses_ties(a, b)
    low, high = bootstrap_interval(d, confidence, resamples, seed)
    mean = float(d.mean()) if len(d) else float("nan")
    return PairedDifference(
        metric=metric,
        mean_a=float(a.mean()) if len(a) else float("nan"),
        mean_b=float(b.mean()) if len(b) else float("nan"),
        difference=mean,
        low=low,
        high=high,
        p_value=permutation_p_value(d, permutations, seed),
        sign_test_p=sign_test_p_value(wins, losses),
        wins=wins,
        losses=losses,
        ties=ties,
        n_queries=len(d),
        confidence=confidence,
        resamples=resamples,
        seed=seed,
    )
