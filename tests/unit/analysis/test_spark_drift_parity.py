"""The drift analysis on PySpark (local mode) gives DuckDB's numbers.

Same log, same code, two engines: counts must be equal exactly and floats within 1e-12 relative, after
normalising dtypes and row order. The log is the synthetic one of the Spark impact parity test (hive
partitions, microsecond timestamps) plus the empty cases drift must survive: a categorical column with a
category that vanishes and one that appears in the current window and NULLs, a column that is NULL on
every row (no values on either side), and one current day on which ``income`` is NULL throughout (a chunk
with no values, whose statistics are NaN).

No looser tolerance is needed anywhere. The in-engine Wasserstein sum first came out 8e-6 relative off
on Spark: Spark SQL reads the literal ``2962.0`` as a DECIMAL, and ``BIGINT / DECIMAL`` keeps 6 decimals;
``_drift_engine.exact_numeric_engine`` now casts the cumulative counts to DOUBLE before dividing.
"""

from __future__ import annotations

import dataclasses
import math
from datetime import timedelta

import numpy as np
import pandas as pd
import pytest

from analysis import open_logs
from analysis.drift import data_drift, windowed_drift
from tests.unit.analysis.conftest import (
    START,
    assert_same_engine_frames,
    make_synthetic_log,
    synthetic_card,
    write_weekly_partitions,
)

pytestmark = [pytest.mark.spark, pytest.mark.slow]

RTOL = 1e-12
COLUMNS = ["income", "debt_ratio", "score", "y_pred", "channel", "segment", "empty_cat"]


@pytest.fixture(scope="module")
def drift_files(tmp_path_factory):
    """Weekly hive partitions (microsecond timestamps) with the empty cases described above."""
    log = make_synthetic_log(seed=11, per_hour=3)
    frame = log.frame.copy()
    current = np.asarray(frame["ts"] >= pd.Timestamp(log.onset))
    position = np.arange(len(frame))
    segment = np.where(
        current,
        np.where(position % 7 == 0, "new_seg", "a"),
        np.where(position % 5 == 0, "old_seg", "a"),
    ).astype(object)
    segment[position % 11 == 0] = None
    frame["segment"] = pd.array(segment, dtype="string")
    frame["empty_cat"] = pd.array([None] * len(frame), dtype="string")
    blank_day = pd.Timestamp(log.onset + timedelta(days=3)).floor("D")
    on_blank_day = np.asarray(frame["ts"].dt.floor("D") == blank_day)
    frame.loc[on_blank_day, "income"] = np.nan  # written as NULL by pyarrow (pandas float NaN -> null)
    root = tmp_path_factory.mktemp("drift_parity")
    write_weekly_partitions(log, frame, root)
    return root, log, blank_day


@pytest.fixture(scope="module")
def tables(drift_files, spark_con):
    root, log, blank_day = drift_files
    card = synthetic_card()
    duck = open_logs(card, base_dir=root)
    spark = open_logs(card, base_dir=root, con=spark_con)
    assert duck.backend == "duckdb" and spark.backend == "pyspark"
    windows = {"reference_window": (START, log.onset), "current_window": (log.onset, log.as_of)}
    return duck.table, spark.table, windows, blank_day


def _same_value(left, right, where: str) -> None:
    """Exact for counts, strings, booleans; 1e-12 relative for floats; NaN/None must match."""
    if isinstance(left, tuple | list):
        assert isinstance(right, tuple | list) and len(left) == len(right), where
        for i, (a, b) in enumerate(zip(left, right, strict=True)):
            _same_value(a, b, f"{where}[{i}]")
    elif isinstance(left, float) or isinstance(right, float):
        assert left is not None and right is not None, (where, left, right)
        if math.isnan(left) or math.isnan(right):
            assert math.isnan(left) and math.isnan(right), (where, left, right)
        else:
            assert right == pytest.approx(left, rel=RTOL, abs=0), where
    else:
        assert type(left) is type(right) and left == right, (where, left, right)


def _assert_same_drift(duck, spark) -> None:
    for name in (
        "n_columns",
        "n_drifted",
        "share",
        "dataset_drift",
        "n_bh_rejected",
        "n_ref_rows",
        "n_cur_rows",
    ):
        _same_value(getattr(duck, name), getattr(spark, name), name)
    assert [c.column for c in duck.columns] == [c.column for c in spark.columns] == COLUMNS
    for d_col, s_col in zip(duck.columns, spark.columns, strict=True):
        d_fields, s_fields = dataclasses.asdict(d_col), dataclasses.asdict(s_col)
        assert d_fields.keys() == s_fields.keys()
        for key, value in d_fields.items():
            _same_value(value, s_fields[key], f"{d_col.column}.{key}")


def _check_planted(result) -> None:
    by_column = {c.column: c for c in result.columns}
    segment = by_column["segment"]
    assert segment.drifted and segment.new_categories == ("new_seg",)
    assert segment.vanished_categories == ("old_seg",)
    assert 0 < segment.null_rate_ref < 1 and 0 < segment.null_rate_cur < 1
    empty = by_column["empty_cat"]
    assert empty.test is None and empty.n_ref == empty.n_cur == 0
    assert empty.null_rate_ref == empty.null_rate_cur == 1.0
    assert by_column["income"].n_cur < by_column["debt_ratio"].n_cur  # the NULL day


@pytest.mark.parametrize(
    ("method", "test"),
    [
        ("engine", "auto"),
        ("columnar", {"income": "ks", "debt_ratio": "psi", "score": "wasserstein", "channel": "chisquare"}),
    ],
    ids=["engine-auto", "columnar-mixed-tests"],
)
def test_data_drift_matches(tables, method, test):
    duck_table, spark_table, windows, _ = tables
    kwargs = {"columns": COLUMNS, "time_column": "ts", "method": method, "test": test, **windows}
    duck = data_drift(duck_table, **kwargs)
    spark = data_drift(spark_table, **kwargs)
    _check_planted(duck)
    _assert_same_drift(duck, spark)
    paths = {c.column: c.method_path for c in spark.columns}
    assert paths["income"] == paths["score"] == method
    if test != "auto":
        tests = {c.column: c.test for c in spark.columns}
        assert tests["income"] == "ks" and tests["debt_ratio"] == "psi" and tests["channel"] == "chisquare"


def test_engine_path_matches_columnar_path_across_engines(tables):
    """Spark's in-engine cumulative sums give DuckDB's columnar (numpy) KS D and Wasserstein."""
    duck_table, spark_table, windows, _ = tables
    kwargs = {"columns": ["income", "debt_ratio", "score"], "time_column": "ts", **windows}
    spark = data_drift(spark_table, method="engine", **kwargs)
    duck = data_drift(duck_table, method="columnar", **kwargs)
    for s_col, d_col in zip(spark.columns, duck.columns, strict=True):
        assert (s_col.method_path, d_col.method_path) == ("engine", "columnar")
        # numpy's and the engine's sums run in a different order: a few ulps, far inside 1e-12
        for name in ("statistic", "p_value", "ks_d", "wasserstein", "psi"):
            _same_value(getattr(d_col, name), getattr(s_col, name), f"{d_col.column}.{name}")


@pytest.mark.parametrize(
    ("chunk", "statistic"), [("day", "jensenshannon"), ("week", "psi")], ids=["daily-js", "weekly-psi"]
)
def test_windowed_drift_matches(tables, chunk, statistic):
    duck_table, spark_table, windows, blank_day = tables
    kwargs = {"columns": COLUMNS, "time_column": "ts", "chunk": chunk, "statistic": statistic, **windows}
    duck = windowed_drift(duck_table, **kwargs)
    spark = windowed_drift(spark_table, **kwargs)
    assert duck.bin_edges.keys() == spark.bin_edges.keys() == {"income", "debt_ratio", "score", "y_pred"}
    for column, edges in duck.bin_edges.items():
        _same_value(edges, spark.bin_edges[column], f"bin_edges.{column}")
    assert len(duck.chunks) > 0 and len(duck.thresholds) > 0
    # a day both windows cut has one row per window: is_reference completes the key
    assert_same_engine_frames(duck.chunks, spark.chunks, ["column", "chunk_start", "is_reference"])
    assert_same_engine_frames(duck.thresholds, spark.thresholds, ["column"])

    chunks = spark.chunks.set_index(["column", "chunk_start"]).sort_index()
    thresholds = spark.thresholds.set_index("column")
    # the planted segment shift has an onset on both engines, at the first current chunk
    onset = pd.Timestamp(thresholds.loc["segment", "onset"])
    first_current = chunks.loc["segment"].query("~is_reference").index.min()
    assert pd.Timestamp(first_current).tz_convert("UTC") == onset.tz_convert("UTC")
    # the all-NULL column has no values anywhere: NaN statistics, no adaptive threshold
    assert (chunks.loc["empty_cat", "n"] == 0).all() and chunks.loc["empty_cat", "statistic"].isna().all()
    assert thresholds.loc["empty_cat", "n_reference_chunks"] == 0
    if chunk == "day":
        blank = chunks.loc[("income", blank_day.tz_convert("UTC"))]
        assert blank["n"] == 0 and blank["null_rate"] == 1.0 and np.isnan(blank["statistic"])
