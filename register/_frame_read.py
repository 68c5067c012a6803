"""Register tables to pandas DataFrames: the reference conversion and the fast SQLite path.

Imported only when a frame is read (:mod:`register._frames`): this module imports pandas and numpy,
which the rest of the register does not need. :func:`read_frame` fetches the raw DBAPI values (no
per-value conversion by SQLAlchemy) and converts whole columns. The fast path (:data:`_FAST_READS`)
gives columns identical to the reference conversion :func:`_column`
(``tests/unit/register/test_frames_fast.py`` compares them).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from register import _tables as t
from register.schema import (
    ActionItemKind,
    ActionItemStatus,
    IncidentCategory,
    IncidentStatus,
    NotificationAudience,
    PostmortemStatus,
    ReportType,
    Severity,
    TimelineEventKind,
)
from register.store import UTCDateTime, is_sqlite

__all__ = ["read_frame"]


def _column(column: sa.Column[Any], values: Sequence[Any]) -> pd.Series | pd.api.extensions.ExtensionArray:
    """Convert one column of raw database values to its DataFrame dtype."""
    if isinstance(column.type, UTCDateTime):
        return _utc_series(pd.Series(values, dtype=object))
    if column.name in t.JSON_COLUMNS.get(column.table.name, ()):  # type: ignore[attr-defined]
        parsed = {text: json.loads(text) for text in set(values) if isinstance(text, str)}
        return pd.Series(
            [_fresh(parsed[text]) if isinstance(text, str) else None for text in values], dtype=object
        )
    if isinstance(column.type, sa.Boolean):
        return pd.array([None if v is None else bool(v) for v in values], dtype="boolean")
    if isinstance(column.type, sa.Integer) and not column.primary_key:
        return pd.array(list(values), dtype="Int64")
    return pd.Series(values, dtype=None if values else object)


_FAST_READS = True
"""Switch for the frame readers' fast path (tests and the benchmark compare it with the reference)."""

_VOCABULARIES: dict[tuple[str, str], tuple[str, ...]] = {
    ("incidents", "category"): tuple(IncidentCategory.values()),
    ("incidents", "kind"): ("incident", "near_miss"),
    ("incidents", "severity"): tuple(Severity.values()),
    ("incidents", "status"): tuple(IncidentStatus.values()),
    ("incidents", "postmortem_status"): tuple(PostmortemStatus.values()),
    ("timeline_events", "kind"): tuple(TimelineEventKind.values()),
    ("action_items", "kind"): tuple(ActionItemKind.values()),
    ("action_items", "status"): tuple(ActionItemStatus.values()),
    ("notifications", "audience"): tuple(NotificationAudience.values()),
    ("notifications", "report_type"): tuple(ReportType.values()),
}
"""Columns holding a vocabulary value: read from SQLite as the value's position (other values as they are)."""


def _fetch_rows(
    connection: Connection,
    query: sa.Select[Any],
    selected: Sequence[Any],
    coded: Mapping[str, Sequence[str]] | None = None,
) -> Sequence[Any]:
    """The rows of ``query`` restricted to ``selected``, as the DBAPI returns them (no conversion).

    A column named in ``coded`` comes back as the position of its value in the vocabulary (``CASE
    column WHEN 'value' THEN position ... ELSE column END``: a value outside it comes back as it is).
    """
    coded = coded or {}

    def expression(column: Any) -> Any:
        if column.name not in coded:
            return column
        positions = {value: position for position, value in enumerate(coded[column.name])}
        return sa.case(positions, value=column, else_=column)

    raw = query.with_only_columns(
        *(sa.type_coerce(expression(column), sa.types.NullType()).label(column.name) for column in selected)
    )
    result = connection.execute(raw)
    rows = result.cursor.fetchall() if result.cursor is not None else []
    result.close()
    return rows


def _reference_columns(
    table: sa.Table, names: Sequence[str], rows: Sequence[Sequence[Any]]
) -> dict[str, pd.Series | pd.api.extensions.ExtensionArray]:
    """The reference conversion: one column at a time from the DBAPI values (:func:`_column`)."""
    values = list(zip(*rows, strict=True)) if rows else [() for _ in names]
    return {name: _column(table.c[name], column) for name, column in zip(names, values, strict=True)}


def _decoded_rows(
    rows: Sequence[Sequence[Any]], names: Sequence[str], coded: Mapping[str, Sequence[str]]
) -> list[tuple[Any, ...]]:
    """Rows with vocabulary positions turned back into the values (see :func:`_fetch_rows`)."""
    vocabularies = [coded.get(name) for name in names]
    return [
        tuple(
            vocabulary[value] if vocabulary is not None and type(value) is int else value
            for vocabulary, value in zip(vocabularies, row, strict=True)
        )
        for row in rows
    ]


def _as_block(rows: Sequence[Sequence[Any]], width: int) -> np.ndarray | None:
    """Rows as one 2-D object array (one C loop); ``None`` when empty or not rectangular."""
    if not rows or not width:
        return None
    block = np.array(rows, dtype=object)
    return block if block.shape == (len(rows), width) else None


def _rows_in_text_order(
    connection: Connection,
    table: sa.Table,
    query: sa.Select[Any],
    selected: Sequence[sa.Column[Any]],
    order: Sequence[str],
    coded: Mapping[str, Sequence[str]],
) -> np.ndarray | None:
    """The rows of ``query`` (ordered by the text columns ``order``) fetched unordered, sorted here.

    SQLite compares text with memcmp on UTF-8 (``BINARY``), which is the code point order Python
    compares ``str`` in, so ``np.lexsort`` over the raw values gives SQLite's order. ``None`` (ask
    SQLite to sort) when a key holds a null or a non-text value, or there are no rows.
    """
    present = {column.name for column in selected}
    extra = [table.c[name] for name in dict.fromkeys(order) if name not in present]
    fetched = [*selected, *extra]
    uncoded_keys = {name: vocabulary for name, vocabulary in coded.items() if name not in order}
    rows = _fetch_rows(connection, query.order_by(None), fetched, uncoded_keys)
    block = _as_block(rows, len(fetched))
    if block is None:
        return None
    position = {column.name: k for k, column in reversed(list(enumerate(fetched)))}
    keys = [block[:, position[name]] for name in reversed(order)]
    if any(pd.api.types.infer_dtype(key, skipna=False) != "string" for key in keys):
        return None
    return block[np.lexsort(keys), : len(selected)]


def _columns_fast(
    table: sa.Table, names: Sequence[str], block: np.ndarray, coded: Mapping[str, Sequence[str]]
) -> dict[str, pd.Series | pd.api.extensions.ExtensionArray]:
    """Convert a 2-D object array of fetched rows to DataFrame columns, vectorised where possible.

    Each column goes through :func:`_column_fast`, which checks the Python types of its values first
    and declines (-> :func:`_column`, the reference conversion) whenever they are not the ones it
    handles, so both give identical columns (``tests/unit/register/test_frames_fast.py``).
    """
    data: dict[str, pd.Series | pd.api.extensions.ExtensionArray] = {}
    for name, values in zip(names, block.T.copy(), strict=True):  # a contiguous row per column
        column = table.c[name]
        if name in coded:
            converted = _vocabulary_column(values, coded[name])
            if converted is None:
                vocabulary = coded[name]
                decoded = [vocabulary[value] if type(value) is int else value for value in values.tolist()]
                values = np.array(decoded + [None], dtype=object)[:-1]  # (the None keeps it 1-D)
        else:
            converted = _column_fast(column, values)
        data[name] = converted if converted is not None else _column(column, values.tolist())
    return data


def _vocabulary_column(codes: np.ndarray, vocabulary: Sequence[str]) -> pd.Series | None:
    """Vocabulary positions (and nulls) back to the values, as the string column the reference builds."""
    if pd.api.types.infer_dtype(codes, skipna=True) != "integer":
        return None  # all null, or values outside the vocabulary: decoded one by one
    missing = pd.isna(codes)
    positions = np.where(missing, -1, codes).astype(np.int64)
    values = pd.array(np.array(vocabulary, dtype=object), dtype="str")
    return pd.Series(values.take(positions, allow_fill=True))


def _column_fast(
    column: sa.Column[Any], values: np.ndarray
) -> pd.Series | pd.api.extensions.ExtensionArray | None:
    """:func:`_column` for a 1-D object array, vectorised; ``None`` where the values need :func:`_column`."""
    if isinstance(column.type, UTCDateTime):
        return _sqlite_times(values)
    if column.name in t.JSON_COLUMNS.get(column.table.name, ()):  # type: ignore[attr-defined]
        return _json_cells(values)
    is_boolean = isinstance(column.type, sa.Boolean)
    if is_boolean or (isinstance(column.type, sa.Integer) and not column.primary_key):
        kind = pd.api.types.infer_dtype(values, skipna=True)
        if kind not in (("integer", "empty", "boolean") if is_boolean else ("integer", "empty")):
            return None
        missing = pd.isna(values)
        try:
            numbers = np.where(missing, 0, values).astype(np.int64)
        except OverflowError:  # beyond 64 bits: the reference conversion says what to do
            return None
        if is_boolean:
            return pd.arrays.BooleanArray(numbers != 0, missing)
        return pd.arrays.IntegerArray(numbers, missing)
    # pandas infers the string dtype from an object array exactly when it would from a list of the
    # same values (every non-null value a str); any other result is left to the reference conversion.
    series = pd.Series(values)
    if isinstance(series.dtype, pd.StringDtype) and series.notna().any():
        return series
    return None


_TIME_TEXT = "YYYY-MM-DD HH:MM:SS.ffffff"
"""The form of the SQLite time text :class:`UTCDateTime` writes (``_SQLITE_TIME_FORMAT``)."""
_TIME_DIGITS = np.array([position for position, char in enumerate(_TIME_TEXT) if char.isalpha()])
_TIME_SEPARATORS = {position: ord(char) for position, char in enumerate(_TIME_TEXT) if not char.isalpha()}


def _sqlite_times(values: np.ndarray) -> pd.Series | None:
    """Times stored as SQLite text, checked and parsed by numpy in bulk (no ``strptime`` per value).

    Only when every value is null or a ``str`` in exactly the form :class:`UTCDateTime` writes
    (``YYYY-MM-DD HH:MM:SS.ffffff``, ASCII digits) naming a valid instant; then the result equals the
    reference :func:`_utc_series` (the same fixed-format parse). Otherwise ``None``: the reference
    decides (other ISO forms, other types, out-of-range fields).
    """
    if pd.api.types.infer_dtype(values, skipna=True) != "string":
        return None
    width = len(_TIME_TEXT)
    try:
        text = values.astype(f"S{width + 1}")  # None -> b"None"; one byte more: longer texts show
    except UnicodeEncodeError:
        return None
    chars = text.view(np.uint8).reshape(len(text), width + 1)
    missing = chars[:, 4] == 0  # b"None" (4 bytes) is the only value that short...
    if missing.any() and not pd.isna(values[missing]).all():  # ...unless a text was "None"
        return None
    text[missing] = b"2000-01-01 00:00:00.000000"
    if chars[:, width].any() or ((chars[:, _TIME_DIGITS] - ord("0")) > 9).any():
        return None  # (uint8: characters below "0" wrap round to large values)
    if any((chars[:, position] != code).any() for position, code in _TIME_SEPARATORS.items()):
        return None
    two = chars[:, _TIME_DIGITS[4:14]].astype(np.int16) - ord("0")  # month, day, hour, minute, second
    fields = two[:, 0::2] * 10 + two[:, 1::2]
    if (fields[:, 2:] > [23, 59, 59]).any():  # numpy checks month and day itself
        return None
    try:
        moments = text.astype("datetime64[us]")
    except ValueError:
        return None
    moments[missing] = np.datetime64("NaT")
    return pd.Series(moments).dt.tz_localize("UTC")


def _json_cells(values: np.ndarray) -> pd.Series | None:
    """Parse each distinct JSON text once; every row gets its own copy (:func:`_fresh`)."""
    codes, texts = pd.factorize(values)
    if not all(isinstance(text, str) for text in texts):
        return None
    parsed = [json.loads(text) for text in texts]
    if all(type(value) is list for value in parsed):
        cells = [None if code < 0 else parsed[code].copy() for code in codes.tolist()]
    else:
        cells = [None if code < 0 else _fresh(parsed[code]) for code in codes.tolist()]
    return pd.Series(cells, dtype=object)


def _fresh(value: Any) -> Any:
    """A copy of a parsed JSON value, so rows never share a mutable list."""
    if isinstance(value, list):
        return list(value)
    if isinstance(value, dict):
        return json.loads(json.dumps(value))
    return value


_SQLITE_TIME_FORMAT = "%Y-%m-%d %H:%M:%S.%f"
"""How SQLAlchemy's SQLite dialect writes a naive UTC time (what :class:`UTCDateTime` stores)."""


def _utc_series(values: pd.Series) -> pd.Series:
    if len(values) == 0:
        return pd.Series([], dtype="datetime64[us, UTC]")
    missing = pd.isna(values.to_numpy())
    first = int(np.argmin(missing))  # the first non-null value (0 when all are null)
    if not missing[first] and isinstance(values.iloc[first], str):
        try:
            parsed = pd.to_datetime(values, utc=True, format=_SQLITE_TIME_FORMAT)
        except ValueError:  # written by another tool: any ISO-8601 form
            parsed = pd.to_datetime(values, utc=True, format="ISO8601")
    else:
        parsed = pd.to_datetime(values, utc=True)
    return parsed.dt.as_unit("us")


def read_frame(
    connection: Connection,
    table: sa.Table,
    query: sa.Select[Any],
    selected: Sequence[sa.Column[Any]],
    *,
    text_order: Sequence[str] = (),
) -> pd.DataFrame:
    """Return the rows of ``query`` restricted to the columns ``selected`` as a DataFrame.

    ``text_order``: the columns ``query`` is ordered by (all text, ascending); on SQLite the rows are
    fetched unordered and sorted here (a temporary B-tree in SQLite costs more than the fetch).
    """
    names = [column.name for column in selected]
    if not _FAST_READS:
        rows = _fetch_rows(connection, query, selected)
        return pd.DataFrame(_reference_columns(table, names, rows), columns=names)
    # the fetched rows are released when _fast_columns returns, before the DataFrame is built
    return pd.DataFrame(_fast_columns(connection, table, query, selected, text_order), columns=names)


def _fast_columns(
    connection: Connection,
    table: sa.Table,
    query: sa.Select[Any],
    selected: Sequence[sa.Column[Any]],
    text_order: Sequence[str],
) -> dict[str, pd.Series | pd.api.extensions.ExtensionArray]:
    """The columns of :func:`read_frame` by the fast path (falling back per column to the reference)."""
    names = [column.name for column in selected]
    # on SQLite, vocabulary columns come back as small integer codes (cached int objects)
    coded = {
        name: _VOCABULARIES[table.name, name]
        for name in names
        if is_sqlite(connection) and (table.name, name) in _VOCABULARIES
    }
    block = None
    if text_order and is_sqlite(connection):
        block = _rows_in_text_order(connection, table, query, selected, text_order, coded)
    if block is not None:
        return _columns_fast(table, names, block, coded)
    rows = _fetch_rows(connection, query, selected, coded)
    block = _as_block(rows, len(selected))
    if block is not None:
        return _columns_fast(table, names, block, coded)
    # no rows, or values numpy cannot hold in a 2-D array: the reference conversion
    return _reference_columns(table, names, _decoded_rows(rows, names, coded))
