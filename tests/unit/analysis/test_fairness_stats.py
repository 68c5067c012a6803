"""The fairness statistics on cells against independent implementations (statsmodels, fairlearn, numpy).

Wilson, Newcombe and Katz against ``statsmodels`` to 1e-9; Benjamini-Hochberg against
``statsmodels.stats.multitest.multipletests``; the composite metrics against fairlearn on the raw rows; the
multinomial resampling is reproducible for a seed and covers the planted gap; the change of a gap
(difference in differences, MOVER) by hand and in a coverage simulation.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis._fairness_stats import (
    METRICS,
    benjamini_hochberg,
    composite_intervals,
    confusion_counts,
    disparity_table,
    gap_change,
    metric_table,
)
from analysis.stats import katz_interval, newcombe_interval, wilson_interval

statsmodels_proportion = pytest.importorskip("statsmodels.stats.proportion")
statsmodels_multitest = pytest.importorskip("statsmodels.stats.multitest")

TOL = 1e-9


def _close(ours: float, theirs: float) -> None:
    assert math.isclose(float(ours), float(theirs), rel_tol=TOL, abs_tol=1e-12), (ours, theirs)


@st.composite
def _binomial(draw: st.DrawFn) -> tuple[int, int]:
    n = draw(st.integers(1, 5000))
    return draw(st.integers(0, n)), n


@st.composite
def _binomial_nonzero(draw: st.DrawFn) -> tuple[int, int]:
    """A count of at least 1: Katz without the Haldane correction the project adds at 0."""
    n = draw(st.integers(1, 5000))
    return draw(st.integers(1, n)), n


# --------------------------------------------------------------------------------------------------
# Intervals against statsmodels
# --------------------------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(_binomial(), st.sampled_from([0.8, 0.9, 0.95, 0.99]))
def test_wilson_matches_statsmodels(sample: tuple[int, int], confidence: float) -> None:
    k, n = sample
    low, high = wilson_interval(k, n, confidence=confidence)
    s_low, s_high = statsmodels_proportion.proportion_confint(k, n, alpha=1 - confidence, method="wilson")
    _close(low, max(s_low, 0.0))
    _close(high, min(s_high, 1.0))


@settings(max_examples=300, deadline=None)
@given(_binomial(), _binomial(), st.sampled_from([0.9, 0.95, 0.99]))
def test_newcombe_matches_statsmodels(
    group: tuple[int, int], reference: tuple[int, int], confidence: float
) -> None:
    (k1, n1), (k0, n0) = group, reference
    difference, low, high = newcombe_interval(k1, n1, k0, n0, confidence=confidence)
    s_low, s_high = statsmodels_proportion.confint_proportions_2indep(
        k1, n1, k0, n0, compare="diff", method="newcomb", alpha=1 - confidence
    )
    _close(difference, k1 / n1 - k0 / n0)
    _close(low, s_low)
    _close(high, s_high)


@settings(max_examples=300, deadline=None)
@given(_binomial_nonzero(), _binomial_nonzero(), st.sampled_from([0.9, 0.95, 0.99]))
def test_katz_matches_statsmodels_log_ratio(
    group: tuple[int, int], reference: tuple[int, int], confidence: float
) -> None:
    (k1, n1), (k0, n0) = group, reference
    ratio, low, high = katz_interval(k1, n1, k0, n0, confidence=confidence)
    s_low, s_high = statsmodels_proportion.confint_proportions_2indep(
        k1, n1, k0, n0, compare="ratio", method="log", alpha=1 - confidence
    )
    _close(ratio, (k1 / n1) / (k0 / n0))
    _close(low, s_low)
    _close(high, s_high)


def test_katz_corrects_only_zero_counts() -> None:
    """Haldane-Anscombe (0.5 to the counts, 1 to the totals) where a count is 0, and only there."""
    ratio, low, high = katz_interval(0, 40, 10, 50)
    a, m1, b, m0 = 0.5, 41.0, 10.5, 51.0
    z = 1.959963984540054
    se = math.sqrt(1 / a - 1 / m1 + 1 / b - 1 / m0)
    _close(ratio, (a / m1) / (b / m0))
    _close(low, ratio * math.exp(-z * se))
    _close(high, ratio * math.exp(z * se))
    assert katz_interval(4, 40, 10, 50)[0] == pytest.approx(0.5, rel=1e-12)  # uncorrected


def test_disparity_table_intervals_are_the_statsmodels_ones() -> None:
    """The intervals disparity_table reports are Newcombe / Katz of the counts it reports."""
    cells = pd.DataFrame(
        {
            "group": ["a"] * 4 + ["b"] * 4 + ["c"] * 4,
            "y_true": [1, 1, 0, 0] * 3,
            "y_pred": [1, 0, 1, 0] * 3,
            "count": [40, 10, 30, 120, 25, 20, 12, 60, 8, 9, 7, 40],
        }
    )
    table = metric_table(confusion_counts(cells, ["group"]), min_cell_size=10)
    gaps = disparity_table(table, group_column="group", reference="a", min_cell_size=10)
    assert set(gaps["metric"]) == set(METRICS)
    assert len(gaps) == 2 * len(METRICS)
    for row in gaps.itertuples():
        k1, n1, k0, n0 = (
            int(x)
            for x in (row.numerator, row.denominator, row.reference_numerator, row.reference_denominator)
        )
        d_low, d_high = statsmodels_proportion.confint_proportions_2indep(
            k1, n1, k0, n0, compare="diff", method="newcomb"
        )
        r_low, r_high = statsmodels_proportion.confint_proportions_2indep(
            k1, n1, k0, n0, compare="ratio", method="log"
        )
        _close(row.difference, k1 / n1 - k0 / n0)
        _close(row.difference_low, d_low)
        _close(row.difference_high, d_high)
        _close(row.ratio_low, r_low)
        _close(row.ratio_high, r_high)


def test_metric_table_wilson_per_group_matches_statsmodels() -> None:
    cells = pd.DataFrame(
        {
            "group": ["a"] * 5 + ["b"] * 5,
            "y_true": [1, 1, 0, 0, np.nan] * 2,
            "y_pred": [1, 0, 1, 0, 1] * 2,
            "count": [40, 10, 30, 120, 7, 1, 3, 2, 9, 4],
        }
    )
    table = metric_table(confusion_counts(cells, ["group"]), min_cell_size=10)
    for _, row in table.iterrows():
        for spec in METRICS.values():
            k, n = int(row[spec.numerator]), int(row[spec.denominator])
            low, high = statsmodels_proportion.proportion_confint(k, n, method="wilson")
            _close(row[spec.name], k / n)
            _close(row[f"{spec.name}_low"], max(low, 0.0))
            _close(row[f"{spec.name}_high"], min(high, 1.0))


def test_metric_with_zero_denominator_is_undefined_not_zero() -> None:
    cells = pd.DataFrame(
        {"group": ["a", "a"], "y_true": [0.0, np.nan], "y_pred": [1.0, np.nan], "count": [3, 2]}
    )
    row = metric_table(confusion_counts(cells, ["group"]), min_cell_size=1).iloc[0]
    assert row["n"] == 5 and row["n_predicted"] == 3
    assert row["selection_rate"] == 1.0 and row["fpr"] == 1.0 and row["precision"] == 0.0
    for name in ("tpr", "fnr", "npv"):  # no positives / no negative predictions
        assert np.isnan(row[name]) and np.isnan(row[f"{name}_low"]) and np.isnan(row[f"{name}_high"])


# --------------------------------------------------------------------------------------------------
# Benjamini-Hochberg
# --------------------------------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.one_of(st.floats(0, 1, allow_nan=False), st.just(float("nan")), st.sampled_from([0.01, 0.04])),
        min_size=1,
        max_size=40,
    )
)
def test_benjamini_hochberg_matches_statsmodels(p_values: list[float]) -> None:
    values = np.asarray(p_values, dtype=float)
    ours = benjamini_hochberg(values)
    valid = ~np.isnan(values)
    assert np.isnan(ours[~valid]).all()
    if valid.any():
        _, theirs, _, _ = statsmodels_multitest.multipletests(values[valid], method="fdr_bh")
        np.testing.assert_allclose(ours[valid], theirs, rtol=TOL, atol=1e-12)


# --------------------------------------------------------------------------------------------------
# Composites and their multinomial resampling
# --------------------------------------------------------------------------------------------------


def _raw_rows(rng: np.random.Generator, rates: dict[str, tuple[float, float, float]], n: int) -> pd.DataFrame:
    """Raw labelled rows per group: (base rate, TPR-ish, FPR-ish) -> y_true, y_pred."""
    parts = []
    for group, (base, tpr, fpr) in rates.items():
        y = rng.random(n) < base
        p = np.where(y, rng.random(n) < tpr, rng.random(n) < fpr)
        parts.append(pd.DataFrame({"group": group, "y_true": y.astype(int), "y_pred": p.astype(int)}))
    return pd.concat(parts, ignore_index=True)


def _cells_of(rows: pd.DataFrame) -> pd.DataFrame:
    return (
        rows.groupby(["group", "y_true", "y_pred"], as_index=False).size().rename(columns={"size": "count"})
    )


def test_composite_estimates_match_fairlearn_on_raw_rows() -> None:
    from fairlearn.metrics import (
        demographic_parity_difference,
        demographic_parity_ratio,
        equalized_odds_difference,
        equalized_odds_ratio,
    )

    rng = np.random.default_rng(4)
    rows = _raw_rows(rng, {"a": (0.3, 0.8, 0.1), "b": (0.5, 0.6, 0.2), "c": (0.4, 0.7, 0.05)}, 400)
    result = composite_intervals(confusion_counts(_cells_of(rows), ["group"]), n_resamples=200, seed=1)
    kwargs = {"y_true": rows["y_true"], "y_pred": rows["y_pred"], "sensitive_features": rows["group"]}
    expected = {
        "demographic_parity_difference": demographic_parity_difference(**kwargs),
        "demographic_parity_ratio": demographic_parity_ratio(**kwargs),
        "equalized_odds_difference": equalized_odds_difference(**kwargs),
        "equalized_odds_ratio": equalized_odds_ratio(**kwargs),
    }
    for name, value in expected.items():
        assert abs(result[name]["estimate"] - value) <= 1e-12, name
        assert result[name]["low"] <= result[name]["estimate"] <= result[name]["high"], name


def test_composite_resampling_is_seeded() -> None:
    rng = np.random.default_rng(5)
    rows = _raw_rows(rng, {"a": (0.3, 0.8, 0.1), "b": (0.5, 0.6, 0.2)}, 300)
    counts = confusion_counts(_cells_of(rows), ["group"])
    first = composite_intervals(counts, n_resamples=300, seed=11)
    again = composite_intervals(counts, n_resamples=300, seed=11)
    other = composite_intervals(counts, n_resamples=300, seed=12)
    assert first == again
    assert any(first[name]["low"] != other[name]["low"] for name in first)
    assert all(first[name]["estimate"] == other[name]["estimate"] for name in first)


def test_composite_needs_two_groups_and_a_positive_resample_count() -> None:
    from analysis.errors import InvalidParameterError

    rows = _raw_rows(np.random.default_rng(6), {"a": (0.3, 0.8, 0.1)}, 50)
    counts = confusion_counts(_cells_of(rows), ["group"])
    assert all(np.isnan(v["estimate"]) for v in composite_intervals(counts).values())
    with pytest.raises(InvalidParameterError, match="n_resamples"):
        composite_intervals(counts, n_resamples=0)


@pytest.mark.slow
def test_demographic_parity_interval_covers_the_planted_gap() -> None:
    """>= 90 % of 95 % resampling intervals cover the planted demographic-parity difference (200 runs)."""
    rates = {"a": 0.50, "b": 0.35, "c": 0.42}
    truth = max(rates.values()) - min(rates.values())
    covered = 0
    for run in range(200):
        rng = np.random.default_rng(1000 + run)
        parts = []
        for group, rate in rates.items():
            n = 300
            y = rng.random(n) < 0.4
            p = rng.random(n) < rate
            labelled = rng.random(n) < 0.8  # some labels missing: selection rate still over all decisions
            parts.append(
                pd.DataFrame(
                    {"group": group, "y_true": np.where(labelled, y, np.nan), "y_pred": p.astype(float)}
                )
            )
        rows = pd.concat(parts, ignore_index=True)
        cells = rows.groupby(["group", "y_true", "y_pred"], dropna=False, as_index=False).size()
        counts = confusion_counts(cells.rename(columns={"size": "count"}), ["group"])
        interval = composite_intervals(counts, n_resamples=1000, seed=run)["demographic_parity_difference"]
        covered += interval["low"] <= truth <= interval["high"]
    assert covered >= 180, covered


# --------------------------------------------------------------------------------------------------
# Change of a gap (difference in differences, MOVER)
# --------------------------------------------------------------------------------------------------


def test_gap_change_by_hand() -> None:
    # during 0.20 (0.10, 0.25), before 0.05 (0.04, 0.11): asymmetric, so a swapped bound would show.
    change, low, high = gap_change(0.20, 0.10, 0.25, 0.05, 0.04, 0.11)
    assert change == pytest.approx(0.15, abs=1e-15)
    assert low == pytest.approx(0.15 - math.sqrt(0.10**2 + 0.06**2), abs=1e-15)
    assert high == pytest.approx(0.15 + math.sqrt(0.05**2 + 0.01**2), abs=1e-15)
    assert all(math.isnan(x) for x in gap_change(0.2, float("nan"), 0.25, 0.05, 0.04, 0.11))


@pytest.mark.slow
def test_gap_change_interval_covers_the_planted_change() -> None:
    """The MOVER interval of the change covers the planted change in >= 90 % of 200 seeded simulations."""
    before = (0.40, 0.42)  # group, reference: gap -0.02
    during = (0.30, 0.43)  # gap -0.13
    truth = (during[0] - during[1]) - (before[0] - before[1])
    covered = 0
    for run in range(200):
        rng = np.random.default_rng(2000 + run)
        windows = []
        for p_group, p_reference in (during, before):
            n1, n0 = int(rng.integers(250, 400)), int(rng.integers(250, 400))
            k1, k0 = int(rng.binomial(n1, p_group)), int(rng.binomial(n0, p_reference))
            windows.extend(float(x) for x in newcombe_interval(k1, n1, k0, n0))
        _, low, high = gap_change(*windows)
        covered += low <= truth <= high
    assert covered >= 180, covered


def test_gap_over_time_chunks_with_a_small_cell_are_blank_in_the_summary() -> None:
    from analysis._fairness_summary import _gap_point

    row = {"chunk_start": "2026-01-01T00:00:00Z", "gap": -0.2, "low": -0.4, "high": 0.0}
    small = _gap_point({**row, "n_group": 4, "n_reference": 300}, 10)
    assert small["suppressed"] and small["gap"] is None and small["n_group"] is None
    assert small["n_reference"] is None  # the pair's counts would reveal the small one
    kept = _gap_point({**row, "n_group": 40, "n_reference": 300}, 10)
    assert not kept["suppressed"] and kept["gap"] == -0.2 and kept["n_group"] == 40
