"""Failure rates of interaction logs on PySpark give DuckDB's counts, finding and onset.

(The exposure scan's Spark parity, with Spark's regular-expression dialect, is in
``test_spark_exposure_parity.py``.)
"""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from register.schema import DataSource

pytestmark = [pytest.mark.spark, pytest.mark.slow]


def test_failure_rates_on_spark_equal_duckdb(tmp_path, spark_con) -> None:
    """The failure rates' engine-side counts (per dimension, pairs, hourly onset series) on both engines."""
    from analysis.data import open_calls
    from analysis.llm_failures import failure_rates
    from tests.unit.analysis.test_llm_failures import AS_OF, INCIDENT, REFERENCE, _card, _log

    frame = _log(seed=4)
    (tmp_path / "logs").mkdir()
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), tmp_path / "logs" / "part-0.parquet",
                   coerce_timestamps="us")  # fmt: skip
    source = DataSource(location=str(tmp_path / "logs"), format="parquet")
    card = _card().model_copy(update={"source": source})
    calls = [open_calls(card, as_of=AS_OF, con=con) for con in (None, spark_con)]
    assert [log.backend for log in calls] == ["duckdb", "pyspark"]
    results = [
        failure_rates(log, card, reference=REFERENCE, incident=INCIDENT, as_of=AS_OF) for log in calls
    ]
    duck, spark = results
    columns = ["metric", "dimension", "value", "n_r", "k_r", "n_i", "k_i"]
    pd.testing.assert_frame_equal(
        spark.slices[columns].sort_values(columns).reset_index(drop=True),
        duck.slices[columns].sort_values(columns).reset_index(drop=True),
        check_dtype=False,
    )
    assert [f["where"] for f in spark.findings] == [f["where"] for f in duck.findings] == [
        "gen_ai.provider.name = B"
    ]
    assert spark.findings[0]["onset"] == duck.findings[0]["onset"]
