"""Exact drift statistics against scipy on in-memory data, through both computation paths."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as hs
from scipy import stats
from scipy.spatial import distance

from analysis import _drift_engine as eng
from analysis import _drift_stats as st
from analysis.drift import data_drift

PATHS = ["engine", "columnar"]


def _clean(values: np.ndarray) -> np.ndarray:
    values = np.asarray(values, dtype=float)
    return values[np.isfinite(values)]


def _frames(ref: np.ndarray, cur: np.ndarray) -> tuple[pd.DataFrame, pd.DataFrame]:
    return pd.DataFrame({"x": pd.array(ref, dtype="Float64")}), pd.DataFrame(
        {"x": pd.array(cur, dtype="Float64")}
    )


@pytest.mark.parametrize("method", PATHS)
@pytest.mark.parametrize("n_ref, n_cur", [(300, 200), (12_000, 11_000), (1, 1), (1, 7)])
def test_ks_and_wasserstein_match_scipy(method: str, n_ref: int, n_cur: int) -> None:
    rng = np.random.default_rng(n_ref + n_cur)
    ref = np.round(rng.normal(size=n_ref), 2)  # rounding makes ties
    cur = np.round(rng.normal(0.1, 1.2, size=n_cur), 2)
    result = data_drift(*_frames(ref, cur), columns=["x"], test="ks", method=method)
    column = result["x"]
    expected = stats.ks_2samp(ref, cur)
    assert column.method_path == method
    assert column.ks_d == pytest.approx(expected.statistic, abs=1e-12)
    assert column.statistic == pytest.approx(expected.pvalue, rel=1e-9, abs=1e-12)
    assert column.wasserstein == pytest.approx(stats.wasserstein_distance(ref, cur), rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("method", PATHS)
def test_normed_wasserstein_matches_evidently_formula(method: str) -> None:
    rng = np.random.default_rng(3)
    ref = rng.gamma(2.0, size=3000)
    cur = rng.gamma(2.3, size=2500)
    column = data_drift(*_frames(ref, cur), columns=["x"], method=method)["x"]
    expected = stats.wasserstein_distance(ref, cur) / max(float(np.std(ref)), 0.001)
    assert column.test == "wasserstein"
    assert column.statistic == pytest.approx(expected, rel=1e-9)
    assert column.drifted == (expected >= 0.1)


def test_nulls_nan_and_inf_are_dropped_like_evidently() -> None:
    ref = np.array([1.0, 2.0, np.nan, np.inf, 3.0, 4.0, 5.0, 6.0, 7.0])
    cur = np.array([2.0, -np.inf, 3.0, 4.0, 8.0, 9.0, np.nan, 10.0])
    ref_frame = pd.DataFrame({"x": ref})
    cur_frame = pd.DataFrame({"x": cur})
    for method in PATHS:
        column = data_drift(ref_frame, cur_frame, columns=["x"], method=method)["x"]
        expected = stats.ks_2samp(_clean(ref), _clean(cur))
        assert column.n_ref == 7 and column.n_cur == 6
        assert column.statistic == pytest.approx(expected.pvalue, rel=1e-12)
        assert column.null_rate_ref == pytest.approx(2 / 9)
        assert column.null_rate_cur == pytest.approx(2 / 8)


def test_constant_column_gives_zero_distance_and_p_one() -> None:
    ref = np.full(50, 3.0)
    cur = np.full(40, 3.0)
    for method in PATHS:
        column = data_drift(*_frames(ref, cur), columns=["x"], test="ks", method=method)["x"]
        assert column.ks_d == 0.0
        assert column.statistic == pytest.approx(stats.ks_2samp(ref, cur).pvalue)
        assert column.wasserstein == 0.0
    default = data_drift(*_frames(ref, cur), columns=["x"])["x"]
    assert default.test == "z" and default.statistic == 1.0 and not default.drifted


def test_chisquare_matches_scipy_goodness_of_fit() -> None:
    ref = pd.DataFrame({"c": ["a"] * 40 + ["b"] * 35 + ["c"] * 25})
    cur = pd.DataFrame({"c": ["a"] * 20 + ["b"] * 50 + ["c"] * 30})
    column = data_drift(ref, cur, columns=["c"])["c"]
    observed = np.array([20, 50, 30])
    expected = np.array([40, 35, 25]) * (100 / 100)
    assert column.test == "chisquare"
    assert column.statistic == pytest.approx(stats.chisquare(observed, expected).pvalue, rel=1e-12)


def test_new_category_gives_p_zero_and_is_listed() -> None:
    ref = pd.DataFrame({"c": ["a"] * 50 + ["b"] * 50})
    cur = pd.DataFrame({"c": ["a"] * 40 + ["b"] * 40 + ["d"] * 20})
    column = data_drift(ref, cur, columns=["c"])["c"]
    assert column.test == "chisquare"
    assert column.statistic == 0.0 and column.drifted
    assert column.new_categories == ("d",)
    assert column.vanished_categories == ()
    vanished = data_drift(cur, ref, columns=["c"])["c"]
    assert vanished.vanished_categories == ("d",)


def test_jensenshannon_matches_scipy_on_category_shares() -> None:
    rng = np.random.default_rng(5)
    ref = pd.DataFrame({"c": rng.choice(list("abcd"), 5000, p=[0.4, 0.3, 0.2, 0.1])})
    cur = pd.DataFrame({"c": rng.choice(list("abcde"), 4000, p=[0.3, 0.3, 0.2, 0.1, 0.1])})
    column = data_drift(ref, cur, columns=["c"])["c"]
    keys = sorted(set(ref["c"]) | set(cur["c"]))
    p = np.array([(ref["c"] == k).mean() for k in keys])
    q = np.array([(cur["c"] == k).mean() for k in keys])
    assert column.test == "jensenshannon"
    assert column.statistic == pytest.approx(distance.jensenshannon(p, q), rel=1e-9)
    assert column.drifted == (distance.jensenshannon(p, q) >= 0.1)


@pytest.mark.parametrize("method", PATHS)
def test_jensenshannon_on_numeric_uses_sturges_bins_of_both(method: str) -> None:
    rng = np.random.default_rng(9)
    ref = rng.normal(size=2000)
    cur = rng.normal(0.3, size=1500)
    column = data_drift(*_frames(ref, cur), columns=["x"], test="jensenshannon", method=method)["x"]
    bins = np.histogram_bin_edges(np.concatenate([ref, cur]), bins="sturges")
    p = np.histogram(ref, bins)[0] / ref.size
    q = np.histogram(cur, bins)[0] / cur.size
    assert column.statistic == pytest.approx(distance.jensenshannon(p, q), rel=1e-9)


def test_z_test_matches_two_proportion_formula() -> None:
    ref = pd.DataFrame({"b": [0] * 60 + [1] * 40})
    cur = pd.DataFrame({"b": [0] * 45 + [1] * 55})
    column = data_drift(ref, cur, columns=["b"])["b"]
    p1, p2 = 0.4, 0.55
    pooled = (40 + 55) / 200
    z = (p1 - p2) / math.sqrt(pooled * (1 - pooled) * (1 / 100 + 1 / 100))
    assert column.test == "z"
    assert column.statistic == pytest.approx(2 * (1 - stats.norm.cdf(abs(z))), rel=1e-12)


def test_psi_frozen_edges_hand_computed() -> None:
    # Reference 0..99: decile edges are the reference values of rank ceil(100 k / 10) = 10k,
    # i.e. 9, 19, ..., 89 (inverted-CDF quantiles), so the frozen bins hold 9, 10 x 8, 11 reference rows.
    ref = pd.DataFrame({"x": np.arange(100, dtype=float)})
    cur_values = np.concatenate([np.arange(10) - 0.5, np.arange(90, dtype=float)])
    cur = pd.DataFrame({"x": cur_values})
    edges = [-np.inf, 9, 19, 29, 39, 49, 59, 69, 79, 89, np.inf]
    ref_counts = np.histogram(np.arange(100), bins=edges)[0]
    cur_counts = np.histogram(cur_values, bins=edges)[0]
    assert list(ref_counts) == [9, 10, 10, 10, 10, 10, 10, 10, 10, 11]
    assert list(cur_counts) == [19, 10, 10, 10, 10, 10, 10, 10, 10, 1]
    ref_shares, cur_shares = ref_counts / 100, cur_counts / 100
    hand = float(np.sum((cur_shares - ref_shares) * np.log(cur_shares / ref_shares)))
    for method in PATHS:
        column = data_drift(ref, cur, columns=["x"], psi_bins=10, method=method)["x"]
        assert column.psi == pytest.approx(hand, rel=1e-12)
        assert column.reference_shares == pytest.approx(tuple(ref_shares))
    assert st.psi_from_counts(np.array([25, 25, 25, 25]), np.array([10, 20, 30, 40])) == pytest.approx(
        0.228217, abs=1e-6
    )


@pytest.mark.parametrize("n_ref", [50, 3_000, 12_345])
def test_frozen_edges_and_psi_identical_on_both_paths(n_ref: int) -> None:
    rng = np.random.default_rng(n_ref)
    ref, cur = _frames(np.round(rng.normal(size=n_ref), 3), np.round(rng.normal(0.2, size=n_ref // 2 + 7), 3))
    engine = data_drift(ref, cur, columns=["x"], method="engine")["x"]
    columnar = data_drift(ref, cur, columns=["x"], method="columnar")["x"]
    assert engine.method_path == "engine" and columnar.method_path == "columnar"
    assert engine.bin_labels == columnar.bin_labels
    assert engine.psi == columnar.psi
    assert engine.statistic == pytest.approx(columnar.statistic, rel=1e-12)
    assert engine.p_value == pytest.approx(columnar.p_value, rel=1e-12)


def test_benjamini_hochberg_matches_scipy_and_hand_case() -> None:
    p = [0.01, 0.04, 0.03, 0.005, 0.5]
    assert st.benjamini_hochberg(p) == pytest.approx(list(stats.false_discovery_control(p, method="bh")))
    # hand: sorted 0.005,0.01,0.03,0.04,0.5 -> x5/1,5/2,5/3,5/4,5/5 = .025,.025,.05,.05,.5
    assert st.benjamini_hochberg(p) == pytest.approx([0.025, 0.05, 0.05, 0.025, 0.5])


def test_dataset_verdict_and_bh_fields() -> None:
    rng = np.random.default_rng(11)
    ref = pd.DataFrame({f"x{i}": rng.normal(size=400) for i in range(4)})
    cur = pd.DataFrame({f"x{i}": rng.normal(1.0 if i < 2 else 0.0, size=400) for i in range(4)})
    result = data_drift(ref, cur, columns=list(ref.columns))
    summary = result.to_summary()
    assert summary["dataset"]["n_drifted"] == 2
    assert summary["dataset"]["share"] == 0.5 and summary["dataset"]["dataset_drift"] is True
    qs = [c["bh_q"] for c in summary["columns"]]
    assert qs == pytest.approx(
        list(stats.false_discovery_control([c["p_value"] for c in summary["columns"]]))
    )
    assert set(summary["columns"][0]) >= {
        "column",
        "kind",
        "test",
        "statistic",
        "p_value",
        "threshold",
        "drifted",
        "bh_q",
        "bh_rejected",
        "psi",
        "null_rate_ref",
        "null_rate_cur",
        "new_categories",
        "vanished_categories",
        "method_path",
    }


finite_floats = hs.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)
sample = hs.lists(
    hs.one_of(finite_floats, hs.sampled_from([0.0, 1.0, 1.5]), hs.none()), min_size=1, max_size=40
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ref=sample, cur=sample)
def test_hypothesis_both_paths_equal_scipy(ref: list, cur: list) -> None:
    ref_clean = np.array([v for v in ref if v is not None], dtype=float)
    cur_clean = np.array([v for v in cur if v is not None], dtype=float)
    ref_frame = pd.DataFrame({"x": pd.array(ref, dtype="Float64")})
    cur_frame = pd.DataFrame({"x": pd.array(cur, dtype="Float64")})
    if ref_clean.size == 0 or cur_clean.size == 0:
        column = data_drift(ref_frame, cur_frame, columns=["x"], test="ks")["x"]
        assert column.test is None and not column.drifted
        return
    expected = stats.ks_2samp(ref_clean, cur_clean)
    wasserstein = stats.wasserstein_distance(ref_clean, cur_clean)
    outcomes = []
    for method in PATHS:
        column = data_drift(ref_frame, cur_frame, columns=["x"], test="ks", method=method)["x"]
        assert column.ks_d == pytest.approx(expected.statistic, abs=1e-12)
        assert column.statistic == pytest.approx(expected.pvalue, rel=1e-9, abs=1e-12)
        assert column.wasserstein == pytest.approx(wasserstein, rel=1e-9, abs=1e-9)
        outcomes.append((column.ks_d, column.statistic))
    assert outcomes[0] == outcomes[1]


def test_columnar_row_stream_and_count_stream_agree_with_engine_and_scipy() -> None:
    # > 100k rows: continuous columns stream as rows, rounded ones as per-value counts
    rng = np.random.default_rng(21)
    n = 60_000
    ref = pd.DataFrame({"smooth": rng.normal(size=n), "rounded": np.round(rng.normal(size=n), 1)})
    cur = pd.DataFrame({"smooth": rng.normal(0.02, size=n), "rounded": np.round(rng.normal(0.02, size=n), 1)})
    columnar = data_drift(
        ref, cur, columns=["smooth", "rounded"], method="columnar", companion_p_value="scipy"
    )
    engine = data_drift(ref, cur, columns=["smooth", "rounded"], method="engine", companion_p_value="scipy")
    default = data_drift(ref, cur, columns=["smooth"])["smooth"]
    assert columnar["smooth"].p_value_test == "ks" and default.p_value_test == "ks_asymptotic"
    assert default.p_value == pytest.approx(columnar["smooth"].p_value, rel=0.01)
    for column in ("smooth", "rounded"):
        expected = stats.ks_2samp(ref[column], cur[column])
        for result in (columnar, engine):
            assert result[column].ks_d == pytest.approx(expected.statistic, abs=1e-12)
            assert result[column].p_value == pytest.approx(expected.pvalue, rel=1e-9)
            assert result[column].wasserstein == pytest.approx(
                stats.wasserstein_distance(ref[column], cur[column]), rel=1e-9
            )
        assert columnar[column].psi == engine[column].psi
        assert columnar[column].statistic == pytest.approx(engine[column].statistic, rel=1e-12)


values_and_flags = hs.lists(
    hs.tuples(hs.sampled_from([-2.0, -0.0, 0.0, 0.5, 1.0, 3.25, 1e300]), hs.booleans()),
    min_size=1,
    max_size=60,
)


@settings(max_examples=200, deadline=None)
@given(rows=values_and_flags)
def test_per_value_counts_from_rows_equal_np_unique(rows: list) -> None:
    # the row stream sorts each window on its own and merges; ties, -0.0 == 0.0 and one empty window included
    values = np.array([v for v, _ in rows])
    flags = np.array([f for _, f in rows])
    counts = eng._counts_from_rows(values, flags)
    expected = np.unique(values)
    assert np.array_equal(counts.values, expected)
    assert list(counts.ref_counts) == [int(np.sum((values == v) & ~flags)) for v in expected]
    assert list(counts.cur_counts) == [int(np.sum((values == v) & flags)) for v in expected]
