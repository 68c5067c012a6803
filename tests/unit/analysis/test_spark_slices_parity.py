"""Slice discovery on PySpark (local mode) gives DuckDB's numbers.

The same Parquet log (the planted slices of test_slices.py, microsecond UTC timestamps) read by both engines:
the GROUPING SETS aggregates (levels 1 and 2 in one query, level 3 filtered to the surviving candidates)
must return the same counts exactly, and the whole result -- bins, totals, top slices with their statistics
-- must be equal (counts exactly, floats within 1e-12 relative).
"""

from __future__ import annotations

import ibis
import pandas as pd
import pytest

import analysis._slices as slices
from tests.unit.analysis.conftest import assert_same_engine_frames
from tests.unit.analysis.test_slices import FEATURES, INCIDENT, REFERENCE, planted_log

pytestmark = [pytest.mark.spark, pytest.mark.slow]

GROUPING_COUNTS = slices._grouping_counts


@pytest.fixture(scope="module")
def log_path(tmp_path_factory):
    import pyarrow as pa
    import pyarrow.parquet as pq

    frame = pd.concat(
        [planted_log(n=12_000, seed=21, plant="triple"), planted_log(n=3_000, seed=22, plant="null")]
    )
    frame["ts"] = frame["ts"].dt.tz_localize("UTC")
    path = tmp_path_factory.mktemp("slices_parity") / "log.parquet"
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path, coerce_timestamps="us")
    return path


def _run(table, monkeypatch) -> tuple[slices.SliceResult, list[pd.DataFrame]]:
    recorded: list[pd.DataFrame] = []
    original = GROUPING_COUNTS

    def spy(coded, backend, feature_sets, n_features, where=None):
        frame = original(coded, backend, feature_sets, n_features, where)
        recorded.append(frame)
        return frame

    monkeypatch.setattr(slices, "_grouping_counts", spy)
    result = slices.find_slices(
        table,
        FEATURES,
        "failed",
        event_time="ts",
        reference=REFERENCE,
        incident=INCIDENT,
        alpha=0.97,
        min_support=30,
    )
    return result, recorded


def test_grouping_sets_and_slices_match(log_path, spark_con, monkeypatch):
    duck_result, duck_counts = _run(ibis.duckdb.connect().read_parquet(log_path), monkeypatch)
    spark_result, spark_counts = _run(spark_con.read_parquet(str(log_path)), monkeypatch)
    assert duck_result.limitation is None and spark_result.limitation is None
    assert len(duck_counts) == len(spark_counts) == 2  # levels 1-2 in one query, level 3 in one more
    for duck, spark in zip(duck_counts, spark_counts, strict=True):
        keys = [name for name in duck.columns if name not in ("n", "failures")]
        duck = duck.assign(**{name: duck[name].astype("float64") for name in keys})
        spark = spark.assign(**{name: spark[name].astype("float64") for name in keys})
        assert len(duck) > 0
        assert_same_engine_frames(duck, spark, keys, exact_prefixes=("n", "failures"))
    for name in (
        "n",
        "failures",
        "reference_n",
        "reference_failures",
        "candidates_evaluated",
        "levels",
        "min_support",
    ):
        assert getattr(duck_result, name) == getattr(spark_result, name), name
    assert duck_result.total_excess == pytest.approx(spark_result.total_excess, rel=1e-12)
    assert duck_result.bins == spark_result.bins
    for name, bins in duck_result.bins.items():
        assert bins.edges == pytest.approx(spark_result.bins[name].edges, rel=1e-12), name
    assert duck_result.notes == spark_result.notes
    duck_slices = duck_result.slices.drop(columns="predicates")
    spark_slices = spark_result.slices.drop(columns="predicates")
    assert not duck_slices.empty
    assert duck_slices["description"].tolist() == spark_slices["description"].tolist()
    assert_same_engine_frames(
        duck_slices,
        spark_slices,
        ["description"],
        exact_prefixes=("n", "failures", "reference_n", "reference_f", "level"),
    )
