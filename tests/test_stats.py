"""Paired statistics for compare(): bootstrap intervals, permutation and sign tests, on
cases whose answer is known by hand."""

from __future__ import annotations

import numpy as np
import pytest

from llama_index.finetuning.evaluation.stats import (
    bootstrap_interval,
    paired_difference,
    permutation_p_value,
    sign_test_p_value,
    wins_losses_ties,
)


def test_identical_models_have_a_zero_interval_and_p_one():
    scores = np.random.default_rng(1).random(40)
    d = paired_difference(scores, scores.copy(), metric="ndcg@10")
    assert (d.difference, d.low, d.high) == (0.0, 0.0, 0.0)
    assert d.p_value == 1.0 and d.sign_test_p == 1.0
    assert (d.wins, d.losses, d.ties) == (0, 0, 40)
    assert d.contains_zero


def test_a_model_better_on_every_query_has_an_interval_above_zero_and_a_small_p():
    rng = np.random.default_rng(2)
    base = rng.random(50) * 0.5
    better = base + 0.1 + rng.random(50) * 0.2
    d = paired_difference(better, base)
    assert 0.1 < d.low < d.difference < d.high < 0.3
    assert not d.contains_zero
    assert d.p_value < 0.001 and d.sign_test_p < 1e-10
    assert (d.wins, d.losses, d.ties) == (50, 0, 0)


def test_bootstrap_of_two_queries_matches_the_hand_computed_distribution():
    # resampled means of [0, 1] are 0, 0.5, 1 with probability 1/4, 1/2, 1/4
    assert bootstrap_interval(np.array([0.0, 1.0])) == (0.0, 1.0)
    # at 40% confidence the 30th and 70th percentiles are both 0.5
    assert bootstrap_interval(np.array([0.0, 1.0]), confidence=0.4) == (0.5, 0.5)


def test_bootstrap_is_seeded_and_the_seed_matters():
    d = np.random.default_rng(3).normal(0.02, 0.3, size=60)
    assert bootstrap_interval(d, seed=7) == bootstrap_interval(d, seed=7)
    assert bootstrap_interval(d, seed=7) != bootstrap_interval(d, seed=8)
    low, high = bootstrap_interval(d)
    # the normal-theory interval of the mean, for comparison
    half = 1.96 * d.std(ddof=1) / np.sqrt(len(d))
    assert low == pytest.approx(d.mean() - half, abs=0.03)
    assert high == pytest.approx(d.mean() + half, abs=0.03)


def test_permutation_test_enumerates_small_cases_exactly():
    # three equal gains: 2 of the 8 sign patterns reach |sum| = 3
    assert permutation_p_value(np.array([1.0, 1.0, 1.0])) == 0.25
    # ties do not count; [1, -0.5]: every pattern has |sum| >= 0.5
    assert permutation_p_value(np.array([1.0, 0.0, -0.5, 0.0])) == 1.0
    # [1, 1, 1, 1, -1]: |sum| >= 3 for 2 + 2*5 = 12 of 32 patterns
    assert permutation_p_value(np.array([1.0, 1, 1, 1, -1])) == pytest.approx(12 / 32)


def test_monte_carlo_permutation_agrees_with_the_sign_test_for_unit_differences():
    # with differences of +-1 the permutation test is the sign test
    d = np.array([1.0] * 30 + [-1.0] * 14)
    assert permutation_p_value(d, permutations=20000) == pytest.approx(
        sign_test_p_value(30, 14), abs=0.01
    )


def test_wins_losses_ties_ignore_float_noise():
    a = np.array([0.5, 0.6, 1 / 3, 0.2])
    b = np.array([0.5, 0.4, 1 - 2 / 3, 0.3])
    assert wins_losses_ties(a, b) == (1, 1, 2)


def test_bad_inputs_are_named():
    with pytest.raises(ValueError, match="one value per query"):
        paired_difference(np.zeros(3), np.zeros(4))
    with pytest.raises(ValueError, match="NaN"):
        paired_difference(np.array([np.nan, 1.0]), np.zeros(2))
    with pytest.raises(ValueError, match="confidence"):
        bootstrap_interval(np.zeros(3) + [0, 1, 2], confidence=95)
