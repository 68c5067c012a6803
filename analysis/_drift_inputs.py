"""Inputs of the drift functions: windows, tables, column checks and kinds (private; see analysis.drift).

Every drift function takes either two tables (reference and current) or one table split by a time column
into two windows; :func:`prepare` turns both forms into the engine's *labelled* table (the selected columns
plus ``__is_current``) after checking the columns exist and the windows do not overlap.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd

from analysis import _drift_engine as eng
from analysis._drift_results import ColumnKind
from analysis.errors import DataValidationError, InvalidParameterError

__all__ = ["as_table", "column_kinds", "prepare", "utc_timestamp", "window_bounds"]

_WINDOW_MESSAGE = (
    "{name} must be a (start, end) pair or an object with .start and .end. Got {value!r} instead."
)


def window_bounds(window: object, name: str) -> tuple[Any, Any]:
    """``(start, end)`` of a window given as a pair or as an object with ``.start``/``.end``.

    Examples
    --------
    >>> window_bounds((1, 2), "reference_window")
    (1, 2)
    """
    if window is None:
        raise InvalidParameterError(_WINDOW_MESSAGE.format(name=name, value=window))
    start, end = getattr(window, "start", None), getattr(window, "end", None)
    if hasattr(window, "start") and hasattr(window, "end"):
        return start, end
    if isinstance(window, Sequence) and len(window) == 2:
        return window[0], window[1]
    raise InvalidParameterError(_WINDOW_MESSAGE.format(name=name, value=window))


def as_table(data: object, name: str) -> ir.Table:
    """An Ibis table from an Ibis table or a pandas DataFrame."""
    if isinstance(data, ir.Table):
        return data
    if isinstance(data, pd.DataFrame):
        return ibis.memtable(data)
    raise InvalidParameterError(
        f"{name} must be an Ibis table or a pandas DataFrame. Got {type(data).__name__} instead."
    )


def check_columns(tables: Mapping[str, ir.Table], columns: Sequence[str]) -> None:
    """Raise :class:`DataValidationError` listing every column missing from any of the tables."""
    failures: list[dict[str, object]] = []
    for name, table in tables.items():
        schema = table.schema()
        for column in columns:
            if column not in schema:
                failures.append(
                    {"column": column, "check": "column_present", "failure_case": name, "row": None}
                )
    if failures:
        missing = sorted({str(f["column"]) for f in failures})
        raise DataValidationError(
            f"columns must exist in the data. Missing: {', '.join(missing)}. "
            "Check the column list or the data card.",
            failures,
        )


def prepare(
    reference: object,
    current: object,
    *,
    columns: Sequence[str],
    time_column: str | None,
    reference_window: object,
    current_window: object,
    keep_time: bool = False,
) -> tuple[ir.Table, ir.Table]:
    """Labelled table and one source table (for schema)."""
    if current is None:
        table = as_table(reference, "reference")
        if time_column is None:
            raise InvalidParameterError(
                "time_column must be given when current is None (one table split by windows). "
                "Got None instead."
            )
        check_columns({"table": table}, [*columns, time_column])
        ref_bounds = window_bounds(reference_window, "reference_window")
        cur_bounds = window_bounds(current_window, "current_window")
        if ref_bounds[0] < cur_bounds[1] and cur_bounds[0] < ref_bounds[1]:
            raise InvalidParameterError(
                "reference_window and current_window must not overlap. "
                f"Got {ref_bounds} and {cur_bounds} instead."
            )
        labelled = eng.split_table(
            table,
            columns=columns,
            time_column=time_column,
            reference_window=ref_bounds,
            current_window=cur_bounds,
            keep_time=keep_time,
        )
        return labelled, table
    ref_table = as_table(reference, "reference")
    cur_table = as_table(current, "current")
    check_columns({"reference": ref_table, "current": cur_table}, columns)
    return eng.labelled_table(ref_table, cur_table, columns=columns), ref_table


def column_kinds(
    schema: Any, columns: Sequence[str], categorical: Sequence[str] | None
) -> dict[str, ColumnKind]:
    """Numeric or categorical per column (strings, booleans and the declared ``categorical``: categorical)."""
    declared = set(categorical or ())
    kinds: dict[str, ColumnKind] = {}
    for column in columns:
        dtype = schema[column]
        numeric = (dtype.is_numeric() and not dtype.is_boolean()) and column not in declared
        kinds[column] = "numeric" if numeric else "categorical"
    return kinds


def utc_timestamp(value: object) -> pd.Timestamp:
    """A UTC timestamp (naive values are taken as UTC)."""
    stamp = pd.Timestamp(value)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
