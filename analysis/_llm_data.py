"""Open an interaction log (one row per span of an LLM system) from its data card, as an Ibis table.

Private helper of the LLM analyses (:mod:`analysis.llm_exposure`). The log is read with an embedded DuckDB
from Parquet (a file, a glob or a directory of hive partitions) or from OTLP JSON lines (``format:
otlp_json``, what an OpenTelemetry Collector's file exporter writes; :func:`analysis._otlp.read_otlp_json`).

An OTLP export is flattened into an in-memory Arrow table that the connection reads in place (DuckDB's
``register``: no copy, no temporary file to clean up, the table lives as long as the returned expression's
connection). JSON has to be parsed in Python anyway, and the flattened Arrow table is several times smaller
than its JSON; an export too large for memory is better converted to Parquet once
(:func:`analysis._otlp.read_otlp_json` then ``pyarrow.parquet.write_table``).

Examples
--------
>>> import pandas as pd
>>> from register.schema import DataCard, DataSource, InteractionRoles
>>> roles = InteractionRoles(trace_id="trace_id", span_id="span_id", start_time="start_time",
...                          user_id="enduser.id")
>>> card = DataCard.interaction_log(DataSource(location="unused"), roles)
>>> frame = pd.DataFrame({"trace_id": ["t"], "span_id": ["s"], "start_time": [pd.Timestamp(0, tz="UTC")]})
>>> check_interaction_columns(ibis.memtable(frame), card)  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
analysis.errors.DataValidationError: The interaction log lacks ...: enduser.id (role user_id). Fix ...
"""

from __future__ import annotations

import os

import ibis
import ibis.expr.types as ir

from analysis._otlp import read_otlp_json
from analysis._sources import DEFAULT_MEMORY_LIMIT, check_exists, file_paths
from analysis.errors import DataValidationError, InvalidParameterError
from register.schema import DataCard, InteractionRoles

__all__ = ["check_interaction_columns", "interaction_roles", "open_interaction_log"]


def interaction_roles(card: DataCard) -> InteractionRoles:
    """Return the card's interaction roles, or raise if the card is not an interaction-log card.

    Raises
    ------
    InvalidParameterError
        When ``card`` is not a :class:`~register.schema.DataCard` of kind ``interaction_log``.
    """
    if not isinstance(card, DataCard):
        raise InvalidParameterError(f"card must be a DataCard. Got {type(card).__name__} instead.")
    if card.kind != "interaction_log" or card.interaction is None:
        raise InvalidParameterError(
            f"card must be an interaction_log data card. Got kind {card.kind!r} instead; LLM analyses read "
            "interaction logs (set kind: interaction_log and its `interaction` roles)."
        )
    return card.interaction


def check_interaction_columns(table: ir.Table, card: DataCard) -> ir.Table:
    """Check that every column the card's interaction roles name is in ``table``; return the table.

    Raises
    ------
    DataValidationError
        Listing each missing column with its role (one failure row per column).
    """
    roles = interaction_roles(card)
    present = set(table.columns)
    named = [*roles.columns.items(), *(("attributes", column) for column in roles.attributes)]
    missing = [(role, column) for role, column in named if column not in present]
    if missing:
        listed = ", ".join(f"{column} (role {role})" for role, column in missing)
        raise DataValidationError(
            f"The interaction log lacks the columns its data card names: {listed}. Fix the card's "
            "`interaction` roles or the log.",
            [
                {"column": column, "check": "column_exists", "failure_case": role, "count": 0}
                for role, column in missing
            ],
        )
    return table


def open_interaction_log(
    card: DataCard,
    *,
    base_dir: str | os.PathLike[str] | None = None,
    memory_limit: str = DEFAULT_MEMORY_LIMIT,
    threads: int | None = None,
) -> ir.Table:
    """Open the interaction log a data card points at (Parquet or OTLP JSON), checking its role columns.

    Parameters
    ----------
    card : DataCard
        An ``interaction_log`` card whose source is Parquet or ``otlp_json`` (a file, glob or directory).
    base_dir : path, optional
        Directory relative locations in the card are resolved against.
    memory_limit : str, default "2GB"
        DuckDB ``memory_limit`` of the embedded connection.
    threads : int, optional
        DuckDB threads (DuckDB's default when None).

    Returns
    -------
    ibis.expr.types.Table
        The spans, read by an embedded DuckDB: from Parquet with ``can_have_nan=true`` (hive partition
        columns included); from OTLP JSON, the flattened spans (span fields, then every attribute; see
        :func:`analysis._otlp.read_otlp_json`).

    Raises
    ------
    InvalidParameterError
        When the card is not an interaction-log card or its source is neither Parquet nor OTLP JSON.
    DataValidationError
        When the location matches no file, a role column is missing, or the OTLP JSON is malformed (one
        failure row per malformed line or span, nothing read).
    """
    roles = interaction_roles(card)
    if base_dir is not None:
        card = card.with_base(base_dir)
    if card.source.format not in ("parquet", "otlp_json"):
        raise InvalidParameterError(
            f"an interaction log must be read from Parquet or OTLP JSON. Got format {card.source.format!r} "
            "instead; export the spans to Parquet or set format: otlp_json for a collector's file export."
        )
    spans = read_otlp_json(card.source.location, roles=roles) if card.source.format == "otlp_json" else None
    if spans is None:
        path = file_paths(card.source.location, "parquet")
        check_exists(path)
    con = ibis.duckdb.connect()
    con.raw_sql(f"SET memory_limit = '{memory_limit}'")
    con.raw_sql("SET TimeZone = 'UTC'")
    if threads is not None:
        con.raw_sql(f"SET threads = {int(threads)}")
    if spans is not None:
        name = ibis.util.gen_name("otlp_spans")
        con.con.register(name, spans)  # DuckDB reads the Arrow table in place and keeps it alive
        table = con.table(name)
    else:
        table = con.read_parquet(path, hive_partitioning=True, can_have_nan=True)
    return check_interaction_columns(table, card)
