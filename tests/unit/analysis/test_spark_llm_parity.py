"""The exposure scan's engine-side parts on PySpark give DuckDB's candidates and findings.

The prefilter (one RE2 pattern) and the per-detector term flags run in the engine through Ibis
(``re_search``: DuckDB ``regexp_matches``, Spark ``RLIKE`` on Java regular expressions); the detectors run in
Python on the candidate rows. On texts with every kind of planted value, benign look-alikes and unicode, the
Spark table must give the same candidate rows per location and the same findings (span, entity, offsets).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from analysis.data import open_logs
from analysis.llm_exposure import scan_exposure
from register.schema import DataCard, DataSource, InteractionRoles

pytestmark = [pytest.mark.spark, pytest.mark.slow]

T0 = datetime(2026, 3, 1, tzinfo=UTC)

PLANTED = [
    "Write to jane.doe@example.com today",
    "Call +44 20 7946 0106 or 020 7946 0958",
    "Card 4111 1111 1111 1111 on file",
    "IBAN DE89 3704 0044 0532 0130 00 please",
    "SSN 078-05-1120 and NI number QQ 12 34 56 C",
    "From 192.168.10.1 and 2001:db8::8a2e:370:7334",
    "key AKIAIOSFODNN7EXAMPLE in the log",
    "token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
    "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA\n-----END RSA PRIVATE KEY-----",
    "Ümlaut café — écrivez à ana.lópez@ejemplo.es ✓",
]
BENIGN = [
    "Your order ORD-56238840 shipped. Tracking reference 5567 1642 0665 4948.",
    "Order 4111 1111 1111 1112 was refunded (fails Luhn).",
    "Released v1.2.3 at 14:05:01 on 2026-11-23; 12 of 3,456 calls failed.",
    "std::vector and Foo::Bar are code, not addresses.",
    "Thanks, that solved it — ありがとう!",
    "Your refund of 49.99 EUR is on its way.",
]


@pytest.fixture(scope="module")
def log_files(tmp_path_factory: pytest.TempPathFactory):
    rng = np.random.default_rng(17)
    n = 1500
    texts = rng.choice(PLANTED + BENIGN * 4, size=2 * n)
    frame = pd.DataFrame(
        {
            "trace_id": [f"t{i}" for i in range(n)],
            "span_id": [f"s{i}" for i in range(n)],
            "start_time": pd.to_datetime([T0 + timedelta(minutes=int(i)) for i in range(n)], utc=True),
            "gen_ai.conversation.id": [f"c{i // 3}" for i in range(n)],
            "enduser.id": [f"u{i % 97}" for i in range(n)],
            "gen_ai.operation.name": "chat",
            "gen_ai.input.messages": [f"Hello. {text}" for text in texts[:n]],
            "gen_ai.output.messages": [f"Sure: {text}" for text in texts[n:]],
        }
    )
    root = tmp_path_factory.mktemp("exposure_parity")
    (root / "logs").mkdir()
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), root / "logs" / "part-0.parquet",
                   coerce_timestamps="us")  # fmt: skip
    roles = InteractionRoles(
        trace_id="trace_id",
        span_id="span_id",
        start_time="start_time",
        user_id="enduser.id",
        conversation_id="gen_ai.conversation.id",
        operation_name="gen_ai.operation.name",
        input_messages="gen_ai.input.messages",
        output_messages="gen_ai.output.messages",
    )
    card = DataCard.interaction_log(DataSource(location=str(root / "logs"), format="parquet"), roles)
    return card


def _findings(result) -> pd.DataFrame:
    columns = ["location", "span_id", "entity", "start", "end"]
    return result.spans[columns].sort_values(columns).reset_index(drop=True)


def test_the_scan_on_spark_equals_the_scan_on_duckdb(log_files, spark_con) -> None:
    card = log_files
    duck = open_logs(card).table
    spark = open_logs(card, con=spark_con).table
    assert (duck._find_backend().name, spark._find_backend().name) == ("duckdb", "pyspark")
    as_of = T0 + timedelta(days=5)
    expected = scan_exposure(duck, card, as_of=as_of, columns=("output", "input"))
    got = scan_exposure(spark, card, as_of=as_of, columns=("output", "input"))
    assert got.rows_scanned == expected.rows_scanned
    assert got.candidate_rows == expected.candidate_rows
    assert expected.candidate_rows["output"] > 0 and len(expected.spans) > 100
    pd.testing.assert_frame_equal(_findings(got), _findings(expected))
    assert [(e.location, e.entity, e.rows, e.users) for e in got.entities] == [
        (e.location, e.entity, e.rows, e.users) for e in expected.entities
    ]
    # every kind of planted value was found (on both engines)
    assert {e.entity for e in expected.entities} >= {"email", "phone", "card_number", "iban", "ip_address"}


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
