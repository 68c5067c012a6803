"""The root-cause counts on PySpark (local mode) equal DuckDB's.

The onset, the excess and the version switches all come from one aggregate per (hour, model version)
(:func:`analysis._root_cause_series.rate_series`); the feature shifts from one stacked aggregate per
(hour, feature, bin). Same log, two engines: counts equal exactly, sums within 1e-12 relative, and the
failure onset and its interval the same. (The slice finder's grouping sets have their own parity test.)
"""

from __future__ import annotations

import pytest

from analysis import incident_windows, open_logs
from analysis._root_cause_onset import failure_change
from analysis._root_cause_series import rate_series
from analysis._root_cause_shift import _counts
from analysis._slices import bin_expression
from analysis.root_cause import explore_slices
from tests.unit.analysis.conftest import (
    assert_same_engine_frames,
    make_synthetic_log,
    synthetic_card,
    write_weekly_partitions,
)

pytestmark = [pytest.mark.spark, pytest.mark.slow]


@pytest.fixture(scope="module")
def both(tmp_path_factory, spark_con):
    log = make_synthetic_log(seed=13, per_hour=3)
    root = tmp_path_factory.mktemp("root_cause_parity")
    write_weekly_partitions(log, log.frame, root)
    card = synthetic_card()
    windows = incident_windows(log.onset, as_of=log.as_of)
    duck = open_logs(card, base_dir=root)
    spark = open_logs(card, base_dir=root, con=spark_con)
    assert duck.backend == "duckdb" and spark.backend == "pyspark"
    return card, windows, log, duck, spark


def test_onset_counts_are_equal(both) -> None:
    card, windows, log, duck, spark = both
    duck_series = rate_series(duck, card, None, windows, as_of=log.as_of)
    spark_series = rate_series(spark, card, None, windows, as_of=log.as_of)
    assert duck_series.hourly["n"].sum() > 0
    assert_same_engine_frames(
        duck_series.hourly,
        spark_series.hourly,
        ["chunk_start", "model_version"],
        exact_prefixes=("rows", "n", "failures", "score_n", "predicted_n", "positive"),
    )
    duck_change, spark_change = failure_change(duck_series, windows), failure_change(spark_series, windows)
    assert duck_change.onset.window == spark_change.onset.window
    assert duck_change.excess == spark_change.excess


def test_feature_shift_counts_are_equal(both) -> None:
    card, windows, log, duck, spark = both
    features = ["income", "debt_ratio", "channel"]
    bins = explore_slices(duck, card, windows, as_of=log.as_of, features=features).bins
    frames = [
        _counts(
            opened.table,
            card,
            {name: bin_expression(opened.table[name], bins[name]) for name in features},
            windows,
        )
        for opened in (duck, spark)
    ]
    assert len(frames[0]) > 0
    assert_same_engine_frames(frames[0], frames[1], ["hour", "feature", "bin"], exact_prefixes=("n",))
