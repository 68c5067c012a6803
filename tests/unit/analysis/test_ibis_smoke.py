"""Smoke test of the sqlglot pin (TRAPS.md): Ibis 12 ``create_table`` on DuckDB must work.

With sqlglot >= 30.18, ``con.create_table(name, df)`` fails with ``ParserException ... DROP VIEW IF EXISTS``
(the view name is dropped from the SQL). This test fails if the ``sqlglot<30.18`` pin in pyproject.toml is
lifted before Ibis or sqlglot fixes it.
"""

from __future__ import annotations

import ibis
import pandas as pd


def test_create_table_and_read_back():
    con = ibis.duckdb.connect()
    frame = pd.DataFrame(
        {
            "ts": pd.to_datetime(["2026-01-01 00:00:00.000001", "2026-01-02"], utc=True, format="ISO8601"),
            "id": ["a", "b"],
            "x": [1.5, None],
        }
    )
    table = con.create_table("smoke", frame)
    # (con.list_tables() is not used: with duckdb 2.0 it fails in Ibis 12 -- no fetch_arrow_table)
    back = con.table("smoke").order_by("id").execute()
    assert back["id"].tolist() == ["a", "b"]
    assert back["x"].iloc[0] == 1.5 and pd.isna(back["x"].iloc[1])
    assert back["ts"].iloc[0] == pd.Timestamp("2026-01-01 00:00:00.000001", tz="UTC")
    assert table.count().execute() == 2
    # overwrite drops and recreates the view/table: the statement sqlglot >= 30.18 mangles
    con.create_table("smoke", frame.head(1), overwrite=True)
    assert con.table("smoke").count().execute() == 1
