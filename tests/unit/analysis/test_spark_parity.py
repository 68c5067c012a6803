"""The same analysis code on PySpark (local mode) gives DuckDB's numbers.

Counts must be equal exactly and floats within 1e-12 relative, after normalising dtypes and row order, on
scenario-like data with an empty group (a region with no decision in the incident window). The Spark
session fixture (conftest.py) skips only when pyspark is not installed; if Spark cannot start, the tests
fail with the reason.
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest

from analysis import (
    assess_impact,
    failure_expression,
    incident_windows,
    label_known,
    open_logs,
    validate_logs,
)
from register.schema import DataQualitySignal, LabelErrorSignal, PredictionConditionSignal
from tests.unit.analysis.conftest import (
    assert_same_engine_frames,
    make_synthetic_log,
    synthetic_card,
    write_weekly_partitions,
)

pytestmark = [pytest.mark.spark, pytest.mark.slow]

#: counts: equal exactly whatever dtype each engine gives them
EXACT = ("n_", "reference_n_")


@pytest.fixture(scope="module")
def parity_files(tmp_path_factory):
    """Weekly hive partitions, timestamps in microseconds (Spark cannot read nanosecond Parquet)."""
    log = make_synthetic_log(seed=11, per_hour=3)
    root = tmp_path_factory.mktemp("parity")
    write_weekly_partitions(log, log.frame, root)
    return root, log


@pytest.fixture(scope="module")
def both(parity_files, spark_con):
    root, log = parity_files
    card = synthetic_card()
    duck = open_logs(card, base_dir=root)
    spark = open_logs(card, base_dir=root, con=spark_con)
    assert spark.backend == "pyspark" and duck.backend == "duckdb"
    return duck, spark, card, log


def test_data_access_aggregates_match(both):
    duck, spark, card, log = both
    windows = incident_windows(log.onset, as_of=log.as_of)
    duck_report = validate_logs(duck, windows=windows)
    spark_report = validate_logs(spark, windows=windows)
    assert duck_report.ok and spark_report.ok
    assert spark_report.n_rows == duck_report.n_rows == len(log.frame)
    assert spark_report.window_rows == duck_report.window_rows
    assert spark_report.window_labels == duck_report.window_labels
    assert spark_report.n_entities_without_sensitive == duck_report.n_entities_without_sensitive == 5

    signals = {
        "label": LabelErrorSignal(),
        "stale": DataQualitySignal(
            column="income", condition="stale", max_lag=timedelta(hours=2, minutes=30)
        ),
        "null": DataQualitySignal(column="income", condition="null"),
        "score": PredictionConditionSignal(column="score", op=">=", value=0.5),
    }

    def aggregates(logs):
        table = logs.table
        metrics = {"labelled": label_known(table, card, as_of=log.as_of).cast("int64").sum()}
        for name, signal in signals.items():
            failed = failure_expression(table, card, signal, as_of=log.as_of)
            metrics[f"{name}_failed"] = failed.fill_null(False).cast("int64").sum()
            metrics[f"{name}_decided"] = failed.notnull().cast("int64").sum()
        metrics["mean_score"] = table.score.mean()
        return table.aggregate(**metrics).execute().iloc[0]

    duck_values, spark_values = aggregates(duck), aggregates(spark)
    for name in duck_values.index:
        if name == "mean_score":
            assert spark_values[name] == pytest.approx(duck_values[name], rel=1e-12)
        else:
            assert int(spark_values[name]) == int(duck_values[name]), name
    assert int(duck_values["stale_failed"]) > 0 and int(duck_values["null_failed"]) > 0


@pytest.mark.parametrize(
    ("signal", "chunk", "min_cell_size"),
    [
        (None, "day", 10),
        (DataQualitySignal(column="income", condition="stale", max_lag=timedelta(hours=2)), "week", 0),
    ],
    ids=["label-error-daily", "stale-weekly-unsuppressed"],
)
def test_impact_matches(both, signal, chunk, min_cell_size):
    duck, spark, card, log = both
    windows = incident_windows(log.onset, as_of=log.as_of)
    kwargs = {"signal": signal, "chunk": chunk, "min_cell_size": min_cell_size}
    duck_result = assess_impact(duck, card, windows, **kwargs)
    spark_result = assess_impact(spark, card, windows, **kwargs)
    for name in ("incident", "reference", "recent"):
        assert getattr(spark_result, name) == getattr(duck_result, name), name
    assert spark_result.n_affected_decisions == duck_result.n_affected_decisions > 0
    assert spark_result.n_affected_entities == duck_result.n_affected_entities
    assert spark_result.excess_failures.estimate == pytest.approx(
        duck_result.excess_failures.estimate, rel=1e-12
    )
    assert spark_result.still_happening.verdict == duck_result.still_happening.verdict
    assert_same_engine_frames(
        duck_result.by_group, spark_result.by_group, ["attribute", "group"], exact_prefixes=EXACT
    )
    assert_same_engine_frames(
        duck_result.over_time, spark_result.over_time, ["chunk_start"], exact_prefixes=EXACT
    )
    # the empty group is there on both engines
    groups = spark_result.by_group.set_index("group")
    assert "legacy" in groups.index
    if min_cell_size == 0:
        assert groups.loc["legacy", "n_decisions"] == 0 and np.isnan(groups.loc["legacy", "failure_rate"])
    else:
        assert bool(groups.loc["legacy", "suppressed"])
    duck_summary = duck_result.to_summary()
    spark_summary = spark_result.to_summary()
    for key in ("n_decisions", "n_affected_decisions", "n_affected_entities", "counts", "window_defaults"):
        assert spark_summary[key] == duck_summary[key], key
