"""Shared intervals against scipy, published examples and hand computation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from analysis.errors import InvalidParameterError
from analysis.stats import (
    clopper_pearson_interval,
    excess_interval,
    katz_interval,
    newcombe_interval,
    poisson_interval,
    wilson_interval,
)

CASES = [(0, 1), (1, 1), (0, 10), (3, 10), (10, 10), (56, 70), (48, 80), (1, 1000), (517, 1000), (5, 56)]


@pytest.mark.parametrize(("k", "n"), CASES)
@pytest.mark.parametrize("confidence", [0.9, 0.95, 0.99])
def test_wilson_matches_scipy(k, n, confidence):
    expected = stats.binomtest(k, n).proportion_ci(confidence_level=confidence, method="wilson")
    lower, upper = wilson_interval(k, n, confidence=confidence)
    assert lower == pytest.approx(expected.low, abs=1e-12)
    assert upper == pytest.approx(expected.high, abs=1e-12)


def test_wilson_hand_computed():
    # k = 3, n = 10, z = 1.959964: centre = (0.3 + z^2/20) / (1 + z^2/10), half-width by the formula
    z = 1.959963984540054
    p, n = 0.3, 10
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    assert wilson_interval(3, 10) == pytest.approx((centre - half, centre + half), abs=1e-12)
    assert wilson_interval(3, 10) == pytest.approx((0.1078, 0.6032), abs=5e-5)


def test_wilson_vectorised_and_empty_cells():
    lower, upper = wilson_interval(np.array([0, 3, 0]), np.array([10, 10, 0]))
    assert lower[0] == 0.0 and upper[0] == pytest.approx(0.2775, abs=5e-5)
    assert np.isnan(lower[2]) and np.isnan(upper[2])


@pytest.mark.parametrize(("k", "n"), CASES)
def test_clopper_pearson_matches_scipy(k, n):
    expected = stats.binomtest(k, n).proportion_ci(confidence_level=0.95, method="exact")
    assert clopper_pearson_interval(k, n) == pytest.approx((expected.low, expected.high), abs=1e-10)


# Newcombe (1998), Statistics in Medicine 17:873-890, table II, method 10 (score, no continuity correction).
NEWCOMBE_1998 = [
    ((56, 70, 48, 80), (0.0524, 0.3339)),
    ((9, 10, 3, 10), (0.1705, 0.8090)),
    ((5, 56, 0, 29), (-0.0381, 0.1926)),
    ((0, 10, 0, 20), (-0.1611, 0.2775)),
    ((0, 10, 0, 10), (-0.2775, 0.2775)),
    ((10, 10, 0, 20), (0.6791, 1.0000)),
    ((10, 10, 0, 10), (0.6075, 1.0000)),
]


@pytest.mark.parametrize(("counts", "expected"), NEWCOMBE_1998)
def test_newcombe_published_examples(counts, expected):
    difference, lower, upper = newcombe_interval(*counts)
    k1, n1, k0, n0 = counts
    assert difference == pytest.approx(k1 / n1 - k0 / n0)
    assert (round(lower, 4), round(upper, 4)) == pytest.approx(expected, abs=1e-4)


def test_newcombe_built_from_scipy_wilson():
    k1, n1, k0, n0 = 6, 7, 2, 7
    w1 = stats.binomtest(k1, n1).proportion_ci(method="wilson")
    w0 = stats.binomtest(k0, n0).proportion_ci(method="wilson")
    p1, p0 = k1 / n1, k0 / n0
    lower = p1 - p0 - math.sqrt((p1 - w1.low) ** 2 + (w0.high - p0) ** 2)
    upper = p1 - p0 + math.sqrt((w1.high - p1) ** 2 + (p0 - w0.low) ** 2)
    assert newcombe_interval(k1, n1, k0, n0)[1:] == pytest.approx((lower, upper), abs=1e-12)


def test_newcombe_empty_group_is_nan():
    difference, lower, upper = newcombe_interval(np.array([3, 0]), np.array([10, 0]), 5, 50)
    assert np.isnan(difference[1]) and np.isnan(lower[1]) and np.isnan(upper[1])
    assert not np.isnan(difference[0])


def test_katz_hand_computed():
    # 30/100 vs 20/100: RR 1.5, se(log RR) = sqrt(1/30 - 1/100 + 1/20 - 1/100)
    se = math.sqrt(1 / 30 - 1 / 100 + 1 / 20 - 1 / 100)
    z = stats.norm.ppf(0.975)
    ratio, lower, upper = katz_interval(30, 100, 20, 100)
    assert ratio == pytest.approx(1.5)
    assert (lower, upper) == pytest.approx((1.5 * math.exp(-z * se), 1.5 * math.exp(z * se)), rel=1e-12)
    assert (round(lower, 4), round(upper, 4)) == (0.916, 2.4564)


def test_katz_zero_count_uses_haldane_correction():
    ratio, lower, upper = katz_interval(0, 50, 10, 50)
    a, m1, b, m0 = 0.5, 51, 10.5, 51
    assert ratio == pytest.approx((a / m1) / (b / m0))
    assert 0 < lower < ratio < upper < math.inf


def test_poisson_garwood_hand_computed():
    lower, upper = poisson_interval(10)
    assert lower == pytest.approx(stats.chi2.ppf(0.025, 20) / 2, rel=1e-12)
    assert upper == pytest.approx(stats.chi2.ppf(0.975, 22) / 2, rel=1e-12)
    assert (round(lower, 4), round(upper, 4)) == (4.7954, 18.3904)
    assert poisson_interval(0)[0] == 0.0
    assert poisson_interval(0)[1] == pytest.approx(-math.log(0.025), rel=1e-12)


def test_excess_interval_is_n_times_newcombe():
    excess = excess_interval(56, 70, 48, 80)
    _, lower, upper = newcombe_interval(56, 70, 48, 80)
    assert excess.estimate == pytest.approx(70 * 0.2)
    assert (excess.lower, excess.upper) == pytest.approx((70 * lower, 70 * upper))
    scaled = excess_interval(56, 70, 48, 80, n=140)
    assert scaled.estimate == pytest.approx(28.0)
    assert scaled.to_dict()["low"] == pytest.approx(140 * lower)
    assert "Newcombe" in scaled.method


def test_excess_interval_coverage_by_simulation():
    """Across 400 simulated incidents the 95 % interval covers the expected excess about 95 % of the time."""
    rng = np.random.default_rng(2026)
    n1, n0, p1, p0 = 400, 2000, 0.12, 0.05
    k1 = rng.binomial(n1, p1, size=400)
    k0 = rng.binomial(n0, p0, size=400)
    _, lower, upper = newcombe_interval(k1, n1, k0, n0)
    covered = ((lower <= p1 - p0) & (p1 - p0 <= upper)).mean()
    assert 0.92 <= covered <= 0.985


@pytest.mark.parametrize(
    "call",
    [
        lambda: wilson_interval(5, 3),
        lambda: wilson_interval(-1, 3),
        lambda: wilson_interval(1, 3, confidence=1.0),
        lambda: newcombe_interval(1, 2, 3, 2),
        lambda: poisson_interval(-1),
        lambda: excess_interval(1, 2, 1, 2, n=-1),
    ],
)
def test_invalid_input_raises_clear_errors(call):
    with pytest.raises(InvalidParameterError, match="must be"):
        call()


@st.composite
def _proportion(draw):
    n = draw(st.integers(min_value=1, max_value=5000))
    return draw(st.integers(min_value=0, max_value=n)), n


@given(_proportion(), _proportion(), st.sampled_from([0.8, 0.9, 0.95, 0.99]))
def test_interval_properties(first, second, confidence):
    (k1, n1), (k0, n0) = first, second
    lower, upper = wilson_interval(k1, n1, confidence=confidence)
    assert 0 <= lower <= k1 / n1 <= upper <= 1
    difference, d_lower, d_upper = newcombe_interval(k1, n1, k0, n0, confidence=confidence)
    assert -1 - 1e-12 <= d_lower <= difference + 1e-12
    assert difference - 1e-12 <= d_upper <= 1 + 1e-12
    narrower = newcombe_interval(k1, n1, k0, n0, confidence=0.5)
    assert d_lower <= narrower[1] + 1e-12 and narrower[2] <= d_upper + 1e-12
    ratio, r_lower, r_upper = katz_interval(k1, n1, k0, n0, confidence=confidence)
    assert 0 < r_lower <= ratio <= r_upper
