"""drift: inputs, validation, windowed drift, domain classifier, figures, summaries."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import ibis
import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.metrics import roc_auc_score

from analysis import data_drift, domain_classifier_drift, windowed_drift
from analysis._drift_figures import distribution_figure, drift_over_time_figure, drift_table_figure
from analysis.drift import _delong_interval, evidently_default_test
from analysis.errors import DataValidationError, EmptyWindowError, InvalidParameterError

START = datetime(2026, 1, 1, tzinfo=UTC)


def _hourly_log(days: int = 30, shift_from_day: int | None = 24, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    times = pd.date_range(START, periods=24 * days * 4, freq="15min", tz="UTC")
    x = rng.normal(size=times.size)
    y = rng.gamma(2.0, size=times.size)
    c = rng.choice(["a", "b", "c"], size=times.size, p=[0.5, 0.3, 0.2])
    if shift_from_day is not None:
        later = times >= START + timedelta(days=shift_from_day)
        x[later] += 1.5
    return pd.DataFrame({"ts": times, "x": x, "y": y, "c": c})


def test_one_table_split_by_windows_equals_two_tables() -> None:
    log = _hourly_log()
    ref_window = (START, START + timedelta(days=14))
    cur_window = (START + timedelta(days=21), START + timedelta(days=28))
    split = data_drift(
        log, columns=["x", "y", "c"], time_column="ts", reference_window=ref_window, current_window=cur_window
    )
    ref = log[(log.ts >= ref_window[0]) & (log.ts < ref_window[1])]
    cur = log[(log.ts >= cur_window[0]) & (log.ts < cur_window[1])]
    two = data_drift(ref, cur, columns=["x", "y", "c"])
    assert split.to_summary()["columns"] == two.to_summary()["columns"]
    assert split["x"].drifted and split["x"].test == "wasserstein"
    assert split["x"].statistic == pytest.approx(
        stats.wasserstein_distance(ref.x, cur.x) / np.std(ref.x), rel=1e-9
    )


def test_accepts_window_objects_with_start_and_end() -> None:
    class Window:
        def __init__(self, start: datetime, end: datetime) -> None:
            self.start, self.end = start, end

    log = _hourly_log(days=10, shift_from_day=None)
    result = data_drift(
        ibis.memtable(log),
        columns=["x"],
        time_column="ts",
        reference_window=Window(START, START + timedelta(days=5)),
        current_window=Window(START + timedelta(days=5), START + timedelta(days=10)),
    )
    assert result.n_ref_rows == 5 * 96 and result.n_cur_rows == 5 * 96


def test_errors_are_clear() -> None:
    ref = pd.DataFrame({"x": [1.0, 2.0]})
    with pytest.raises(DataValidationError, match="Missing: nope") as info:
        data_drift(ref, ref, columns=["x", "nope"])
    assert info.value.failures[0]["column"] == "nope"
    with pytest.raises(InvalidParameterError, match="method must be"):
        data_drift(ref, ref, columns=["x"], method="fast")
    with pytest.raises(InvalidParameterError, match="test must be"):
        data_drift(ref, ref, columns=["x"], test="anderson")
    with pytest.raises(InvalidParameterError, match="needs a numeric column"):
        data_drift(pd.DataFrame({"c": ["a"]}), pd.DataFrame({"c": ["b"]}), columns=["c"], test="ks")
    with pytest.raises(EmptyWindowError):
        data_drift(ref, ref.iloc[:0], columns=["x"])
    log = _hourly_log(days=4)
    with pytest.raises(InvalidParameterError, match="must not overlap"):
        data_drift(
            log,
            columns=["x"],
            time_column="ts",
            reference_window=(START, START + timedelta(days=3)),
            current_window=(START + timedelta(days=2), START + timedelta(days=4)),
        )


def test_default_selection_table() -> None:
    assert evidently_default_test("numeric", 1000, 6) == "ks"
    assert evidently_default_test("numeric", 1000, 5) == "chisquare"
    assert evidently_default_test("numeric", 1000, 2) == "z"
    assert evidently_default_test("categorical", 1000, 2) == "z"
    assert evidently_default_test("categorical", 1000, 3) == "chisquare"
    assert evidently_default_test("numeric", 1001, 6) == "wasserstein"
    assert evidently_default_test("numeric", 1001, 5) == "jensenshannon"
    assert evidently_default_test("categorical", 1001, 40) == "jensenshannon"


def test_null_rate_change_and_summary_is_json() -> None:
    ref = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]})
    cur = pd.DataFrame({"x": [1.0, None, None, None, 5.0, 6.0, 7.0, 8.0]})
    result = data_drift(ref, cur, columns=["x"], thresholds={"x": 0.01})
    column = result["x"]
    assert column.null_rate_ref == 0.0 and column.null_rate_cur == pytest.approx(3 / 8)
    assert column.threshold == 0.01
    text = json.dumps(result.to_summary())
    assert "null_rate_cur" in text
    assert list(result.to_frame()["column"]) == ["x"]


def test_memory_limit_is_applied_and_restored_on_duckdb() -> None:
    con = ibis.duckdb.connect()
    rng = np.random.default_rng(0)
    con.create_table("ref", pd.DataFrame({"x": rng.normal(size=3000)}))
    con.create_table("cur", pd.DataFrame({"x": rng.normal(size=3000)}))
    before = con.raw_sql("SELECT current_setting('memory_limit')").fetchall()[0][0]
    result = data_drift(
        con.table("ref"), con.table("cur"), columns=["x"], memory_limit="300MB", method="engine"
    )
    after = con.raw_sql("SELECT current_setting('memory_limit')").fetchall()[0][0]
    assert result["x"].method_path == "engine"
    # restored (DuckDB prints the limit rounded, so compare the leading number loosely)
    assert after.split()[1] == before.split()[1]
    assert float(after.split()[0]) == pytest.approx(float(before.split()[0]), rel=0.01)


def test_auto_method_follows_the_memory_budget() -> None:
    rng = np.random.default_rng(1)
    ref, cur = pd.DataFrame({"x": rng.normal(size=2000)}), pd.DataFrame({"x": rng.normal(size=2000)})
    assert data_drift(ref, cur, columns=["x"])["x"].method_path == "columnar"
    tiny = data_drift(ref, cur, columns=["x"], memory_budget_bytes=1000)
    assert tiny["x"].method_path == "engine"
    assert tiny.to_summary()["parameters"]["memory_budget_bytes"] == 1000


def test_windowed_drift_adaptive_thresholds_and_onset() -> None:
    log = _hourly_log(days=30, shift_from_day=24)
    result = windowed_drift(
        log,
        columns=["x", "y", "c"],
        time_column="ts",
        reference_window=(START, START + timedelta(days=14)),
        current_window=(START + timedelta(days=14), START + timedelta(days=30)),
    )
    rows = result.thresholds.set_index("column")
    assert rows.loc["x", "threshold_used"] == "adaptive"
    assert rows.loc["x", "n_reference_chunks"] == 14
    assert result.onset("x") == START + timedelta(days=24)
    assert result.onset("y") is None and result.onset("c") is None
    ref_stats = result.chunks.query("column == 'x' and is_reference")["statistic"]
    assert rows.loc["x", "adaptive_upper"] == pytest.approx(ref_stats.mean() + 3 * ref_stats.std(ddof=1))
    summary = json.dumps(result.to_summary())
    assert "onset" in summary


def test_windowed_drift_leaves_chunks_cut_by_a_window_edge_out_of_the_adaptive_threshold() -> None:
    # "hour" follows the clock: a day cut at 07:40 holds only part of the cycle, so its statistic is large
    # although nothing changed. Such chunks are kept (complete=False) but must not inflate the threshold.
    log = _hourly_log(days=30, shift_from_day=None)
    log["hour"] = log["ts"].dt.hour.astype(float)
    edge = START + timedelta(days=14, hours=7, minutes=40)
    result = windowed_drift(
        log,
        columns=["hour"],
        time_column="ts",
        reference_window=(START + timedelta(hours=7, minutes=40), edge),
        current_window=(edge, START + timedelta(days=30)),
    )
    chunks = result.chunks.set_index("chunk_start")
    cut = [START, START + timedelta(days=14)]
    assert not chunks.loc[cut, "complete"].any()
    assert chunks.loc[cut, "statistic"].min() > 5 * chunks.loc[chunks["complete"], "statistic"].max()
    row = result.thresholds.iloc[0]
    complete = chunks.loc[chunks["is_reference"] & chunks["complete"], "statistic"]
    assert row["n_reference_chunks"] == 13 == complete.size
    assert row["adaptive_upper"] == pytest.approx(complete.mean() + 3 * complete.std(ddof=1))
    # the day both windows cut gives one row per window; its current part crosses the threshold, but no
    # following day confirms it, so it is not an onset
    assert chunks.loc[[START + timedelta(days=14)], "is_reference"].tolist() == [True, False]
    assert row["first_past"] == START + timedelta(days=14)
    assert result.onset("hour") is None


def test_windowed_drift_onset_needs_a_second_chunk_unless_it_is_the_last() -> None:
    log = _hourly_log(days=30, shift_from_day=24)
    spike = (log["ts"] >= START + timedelta(days=18)) & (log["ts"] < START + timedelta(days=19))
    log.loc[spike, "x"] += 1.5  # one odd day before the real change
    windows = {
        "reference_window": (START, START + timedelta(days=14)),
        "current_window": (START + timedelta(days=14), START + timedelta(days=30)),
    }
    result = windowed_drift(log, columns=["x"], time_column="ts", **windows)
    row = result.thresholds.iloc[0]
    assert row["first_past"] == START + timedelta(days=18)
    assert result.onset("x") == START + timedelta(days=24)
    assert result.to_summary()["confirm_chunks"] == 2
    single = windowed_drift(log, columns=["x"], time_column="ts", confirm_chunks=1, **windows)
    assert single.onset("x") == START + timedelta(days=18)
    # a change on the very last day has no next chunk to confirm it: it is the onset
    last = _hourly_log(days=30, shift_from_day=29)
    assert windowed_drift(last, columns=["x"], time_column="ts", **windows).onset("x") == START + timedelta(
        days=29
    )
    with pytest.raises(InvalidParameterError, match="confirm_chunks"):
        windowed_drift(log, columns=["x"], time_column="ts", confirm_chunks=0, **windows)
    assert windowed_drift(log, columns=["x"], time_column="ts", confirm_chunks=np.int64(2), **windows).onset(
        "x"
    ) == START + timedelta(days=24)
    with pytest.raises(InvalidParameterError, match="min_reference_chunks"):
        windowed_drift(log, columns=["x"], time_column="ts", min_reference_chunks=1, **windows)


def test_windowed_drift_last_chunk_cut_by_the_window_end_is_no_onset_alone() -> None:
    # a clock-driven column and a current window ending at 07:40: the last day holds its first hours only
    log = _hourly_log(days=30, shift_from_day=None)
    log["hour"] = log["ts"].dt.hour.astype(float)
    result = windowed_drift(
        log,
        columns=["hour"],
        time_column="ts",
        reference_window=(START, START + timedelta(days=14)),
        current_window=(START + timedelta(days=14), START + timedelta(days=29, hours=7, minutes=40)),
    )
    row = result.thresholds.iloc[0]
    assert row["first_past"] == START + timedelta(days=29)
    assert result.onset("hour") is None


def test_windowed_drift_with_an_empty_reference_window_says_so() -> None:
    log = _hourly_log(days=5, shift_from_day=None)
    with pytest.raises(EmptyWindowError, match="reference window must hold rows"):
        windowed_drift(
            log,
            columns=["x", "c"],
            time_column="ts",
            reference_window=(START - timedelta(days=60), START - timedelta(days=40)),
            current_window=(START - timedelta(days=40), START - timedelta(days=30)),
        )
    # a current window without rows is not an error: the reference chunks are there, no onset
    result = windowed_drift(
        log,
        columns=["x"],
        time_column="ts",
        reference_window=(START, START + timedelta(days=5)),
        current_window=(START + timedelta(days=40), START + timedelta(days=50)),
        min_reference_chunks=3,
    )
    assert result.chunks["is_reference"].all() and result.onset("x") is None


def test_windowed_drift_says_when_too_few_reference_chunks() -> None:
    log = _hourly_log(days=12, shift_from_day=None)
    result = windowed_drift(
        log,
        columns=["x"],
        time_column="ts",
        reference_window=(START, START + timedelta(days=5)),
        current_window=(START + timedelta(days=5), START + timedelta(days=12)),
    )
    row = result.thresholds.iloc[0]
    assert row["threshold_used"] == "fixed" and "only 5 complete reference chunks" in row["note"]


def test_domain_classifier_auc_delong_and_importances() -> None:
    rng = np.random.default_rng(3)
    n = 1500
    ref = pd.DataFrame({"x": rng.normal(size=n), "y": rng.normal(size=n), "c": rng.choice(list("ab"), n)})
    cur = pd.DataFrame(
        {"x": rng.normal(size=n), "y": rng.normal(0.6, size=n), "c": rng.choice(list("ab"), n)}
    )
    drifted = domain_classifier_drift(ref, cur, columns=["x", "y", "c"], sample_size=1000, random_state=7)
    assert drifted.drifted and drifted.importances["feature"].iloc[0] == "y"
    assert drifted.n_sample_ref == 1000 and drifted.random_state == 7 and drifted.interval_method == "DeLong"
    again = domain_classifier_drift(ref, cur, columns=["x", "y", "c"], sample_size=1000, random_state=7)
    assert again.auc == drifted.auc
    twin = pd.DataFrame({"x": rng.normal(size=n), "y": rng.normal(size=n), "c": rng.choice(list("ab"), n)})
    clean = domain_classifier_drift(ref, twin, columns=["x", "y", "c"], sample_size=1500)
    assert not clean.drifted and clean.auc_lower < 0.5 < clean.auc_upper
    json.dumps(drifted.to_summary())


def test_delong_auc_equals_sklearn() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 400)
    scores = np.round(rng.normal(y * 0.5, 1.0), 1)  # ties
    auc, lower, upper = _delong_interval(y, scores, 0.95)
    assert auc == pytest.approx(roc_auc_score(y, scores), rel=1e-12)
    assert lower < auc < upper


def test_figures_hold_aggregates() -> None:
    rng = np.random.default_rng(0)
    ref = pd.DataFrame({"x": rng.normal(size=300), "c": rng.choice(list("abc"), 300)})
    cur = pd.DataFrame({"x": rng.normal(1, size=300), "c": rng.choice(list("abcd"), 300)})
    result = data_drift(ref, cur, columns=["x", "c"])
    table = drift_table_figure(result)
    assert table.data[0].type == "table" and [t.type for t in table.data[1:]].count("bar") == 2 * 2
    legend = {t.name: t.marker.color for t in table.data[1:] if t.showlegend}
    bars = {(t.name, t.marker.color) for t in table.data if t.type == "bar"}
    # every bar colour has a legend entry, named for it
    assert all(colour in legend.values() for _, colour in bars)
    assert legend["current, drifted"] == next(t.marker.color for t in table.data[1:3] if t.name == "current")
    overlay = distribution_figure(result["c"])
    assert "(unseen)" in overlay.data[0].x
    log = _hourly_log(days=20, shift_from_day=16)
    windowed = windowed_drift(
        log,
        columns=["x"],
        time_column="ts",
        reference_window=(START, START + timedelta(days=12)),
        current_window=(START + timedelta(days=12), START + timedelta(days=20)),
    )
    over_time = drift_over_time_figure(windowed)
    names = [trace.name for trace in over_time.data]
    assert "x" in names and "x onset" in names and "x normal range (median + 3 MAD)" in names
