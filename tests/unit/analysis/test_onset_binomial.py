"""The shared change-point rule: binomial and Gaussian onsets with credible intervals, and PELT.

Checked against references (scipy's binomial log-pmf, numerical integration of the Beta-Binomial marginal,
an exhaustive optimal partition) and against seeded simulations with a planted step.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import integrate, stats
from scipy.special import betaln

from analysis.errors import InvalidParameterError
from analysis.onset import JEFFREYS, binomial_change_points, binomial_onset, gaussian_onset


def test_profile_estimate_is_the_split_with_the_highest_binomial_likelihood() -> None:
    rng = np.random.default_rng(1)
    n = rng.integers(50, 150, 12).astype(float)
    k = rng.binomial(n.astype(int), np.where(np.arange(12) >= 7, 0.2, 0.08)).astype(float)

    def loglik(split: int) -> float:
        left = stats.binom.logpmf(k[:split], n[:split], k[:split].sum() / n[:split].sum()).sum()
        right = stats.binom.logpmf(k[split:], n[split:], k[split:].sum() / n[split:].sum()).sum()
        return float(left + right)

    best = max(range(1, 12), key=loglik)
    assert binomial_onset(n, k).index == best


def test_posterior_weights_are_beta_binomial_marginals_by_integration() -> None:
    n, k = np.array([20.0, 30.0, 25.0]), np.array([2.0, 3.0, 12.0])

    def marginal(kk: float, nn: float) -> float:  # integral of p^k (1-p)^(n-k) Beta(1/2, 1/2)(p) dp
        density = lambda p: p**kk * (1 - p) ** (nn - kk) * stats.beta.pdf(p, JEFFREYS, JEFFREYS)  # noqa: E731
        return integrate.quad(density, 0, 1, limit=200)[0]

    weights = [marginal(k[:s].sum(), n[:s].sum()) * marginal(k[s:].sum(), n[s:].sum()) for s in (1, 2)]
    expected = np.array(weights) / sum(weights)
    onset = binomial_onset(n, k)
    np.testing.assert_allclose(onset.posterior[1:], expected, rtol=1e-5)  # quad near the prior's poles
    null = marginal(k.sum(), n.sum())
    assert onset.log_bayes_factor == pytest.approx(np.log(np.mean(weights) / null), rel=1e-6)
    assert np.exp(betaln(1 + JEFFREYS, 2 + JEFFREYS) - betaln(JEFFREYS, JEFFREYS)) == pytest.approx(
        marginal(1, 3)
    )


def test_no_change_gives_negative_evidence_and_a_wide_interval() -> None:
    rng = np.random.default_rng(3)
    n = np.full(40, 500.0)
    onset = binomial_onset(n, rng.binomial(500, 0.05, 40).astype(float))
    assert onset.log_bayes_factor < 0
    assert onset.high - onset.low >= 10


def test_first_restricts_the_change_and_empty_chunks_are_skipped() -> None:
    n = np.array([100, 100, 0, 100, 100, 100, 100], dtype=float)
    k = np.array([5, 5, 0, 5, 30, 30, 30], dtype=float)
    onset = binomial_onset(n, k)
    assert onset.index == 4 and onset.posterior[2] == 0
    assert binomial_onset(n, k, first=5).index == 5


@pytest.mark.parametrize(
    ("n", "k", "message"),
    [
        ([10, 10], [11, 1], "between 0 and n"),
        ([10, 10], [1], "one length"),
        ([10, -1], [1, 0], "between 0 and n"),
    ],
)
def test_bad_counts_are_refused(n, k, message) -> None:
    with pytest.raises(InvalidParameterError, match=message):
        binomial_onset(n, k)


def test_too_little_data_gives_none() -> None:
    assert binomial_onset([10], [1]) is None
    assert binomial_onset([0, 0, 5], [0, 0, 1]) is None
    assert binomial_onset([0.0, 0.0], [0.0, 0.0]) is None
    assert gaussian_onset([1.0], [0.1]) is None


def test_gaussian_onset_equals_weighted_least_squares_and_has_evidence() -> None:
    rng = np.random.default_rng(5)
    se = rng.uniform(0.01, 0.05, 30)
    values = rng.normal(np.where(np.arange(30) >= 18, 0.1, 0.0), se)
    weights = 1 / se**2

    def rss(split: int) -> float:
        total = 0.0
        for part in (slice(0, split), slice(split, 30)):
            mean = np.average(values[part], weights=weights[part])
            total += float((weights[part] * (values[part] - mean) ** 2).sum())
        return total

    onset = gaussian_onset(values, se)
    assert onset.index == min(range(1, 30), key=rss) == 18
    assert onset.low <= 18 <= onset.high and onset.log_bayes_factor > 10
    flat = gaussian_onset(rng.normal(0, se), se)
    assert flat.log_bayes_factor < 3


def _optimal_partition(n: np.ndarray, k: np.ndarray, penalty: float, min_segment: int) -> list[int]:
    def cost(a: int, b: int) -> float:  # -2 x the maximised log-likelihood (binomial coefficients dropped)
        nn, kk = n[a:b].sum(), k[a:b].sum()
        p = kk / nn
        return -2 * ((kk * np.log(p) if kk else 0.0) + ((nn - kk) * np.log(1 - p) if nn - kk else 0.0))

    size, best, best_points = len(n), np.inf, []
    for changes in range(0, 4):
        for points in itertools.combinations(range(min_segment, size - min_segment + 1), changes):
            edges = [0, *points, size]
            if any(b - a < min_segment for a, b in itertools.pairwise(edges)):
                continue
            total = sum(cost(a, b) for a, b in itertools.pairwise(edges)) + penalty * changes
            if total < best - 1e-9:
                best, best_points = total, list(points)
    return best_points


@pytest.mark.parametrize("min_segment", [1, 2, 3, 4])
@pytest.mark.parametrize("seed", range(6))
def test_pelt_finds_the_optimal_partition(seed: int, min_segment: int) -> None:
    rng = np.random.default_rng(seed)
    size = 14
    rates = np.repeat(rng.uniform(0.02, 0.3, 3), [5, 4, 5])
    n = rng.integers(40, 120, size).astype(float)
    k = rng.binomial(n.astype(int), rates).astype(float)
    for penalty in (3 * np.log(n.sum()), 5.0):  # the default and a small penalty (more changes)
        found = binomial_change_points(n, k, penalty=penalty, min_segment=min_segment)
        assert found == _optimal_partition(n, k, penalty, min_segment), penalty


@pytest.mark.slow
def test_simulated_onsets_within_one_chunk_and_intervals_cover() -> None:
    """200 seeded series with varying traffic: median onset error <= 1 chunk, 95 % interval covers >= 90 %."""
    errors, covered = [], 0
    for seed in range(200):
        rng = np.random.default_rng([23, seed])
        size = int(rng.integers(20, 61))
        cycle = 1 + 0.5 * np.sin(2 * np.pi * np.arange(size) / 7)  # a weekly cycle of traffic
        n = rng.poisson(rng.uniform(100, 500) * cycle).astype(float)
        base = rng.uniform(0.02, 0.10)
        step = rng.uniform(0.02, 0.08)
        planted = int(rng.integers(size // 4, size - 3))
        k = rng.binomial(n.astype(int), np.where(np.arange(size) >= planted, base + step, base)).astype(float)
        onset = binomial_onset(n, k)
        errors.append(abs(onset.index - planted))
        covered += onset.low <= planted <= onset.high
    assert float(np.median(errors)) <= 1
    assert covered / 200 >= 0.90, covered
