"""Model-output data access: data card -> validated Ibis table, windows, labels as of, failure signal.

The prediction log of an AI system is read as an **Ibis table**, so every aggregate runs where the data lives:
the embedded DuckDB backend by default (Parquet/CSV files or globs, DuckDB files), any Ibis connection
otherwise (PySpark, PostgreSQL, Trino...), or a pandas DataFrame wrapped as a memtable. Nothing here brings
raw rows back to Python: the helpers build expressions, and the analyses aggregate them.

- :func:`open_logs` opens the log described by a :class:`~register.schema.DataCard` and left-joins the
  sensitive attributes from their separate table.
- :func:`validate_logs` checks the data against its card and raises one :class:`DataValidationError`
  listing every problem.
- :class:`Window` / :func:`incident_windows` define half-open UTC time windows ``[start, end)``.
- :func:`label_known` / :func:`label_as_of` implement *labels as of T*: a label counts only if it was
  observed (``label_observed_at``) at or before T.
- :func:`failure_expression` turns the declared :data:`~register.schema.FailureSignal` into a boolean
  expression (NULL where a decision cannot be judged yet).

Examples
--------
>>> import pandas as pd
>>> from datetime import datetime, UTC
>>> from register.schema import ColumnRoles, DataCard, DataSource
>>> frame = pd.DataFrame({
...     "ts": pd.to_datetime(["2026-03-01 10:00", "2026-03-01 11:00", "2026-03-02 09:00"], utc=True),
...     "customer_id": ["a", "b", "a"], "income": [1.0, 2.0, 3.0],
...     "y_pred": [1, 0, 1], "y_true": [1, 1, None],
... })
>>> card = DataCard(source=DataSource(location="unused.parquet"), task="binary_classification",
...                 columns=ColumnRoles(event_time="ts", entity_id="customer_id", features=["income"],
...                                     prediction="y_pred", label="y_true"))
>>> logs = open_logs(card, data=frame)
>>> failed = failure_expression(logs.table, card, as_of=datetime(2026, 3, 3, tzinfo=UTC))
>>> int(failed.sum().execute()), int(failed.notnull().sum().execute())
(1, 2)
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

import ibis
import ibis.expr.types as ir
import pandas as pd
from ibis.backends import BaseBackend

from analysis._sources import DEFAULT_MEMORY_LIMIT, check_exists, file_paths
from analysis.errors import DataValidationError, InvalidParameterError
from register.schema import (
    DataCard,
    DataQualitySignal,
    DataSource,
    ErrorTypeSignal,
    EvaluationScoreSignal,
    ExposureFindingSignal,
    FailureSignal,
    FinishReasonSignal,
    Incident,
    InjectionSuccessSignal,
    LabelErrorSignal,
    PredictionConditionSignal,
    SensitiveSource,
    as_utc,
)

if TYPE_CHECKING:
    from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
    from pydantic_core import CoreSchema

__all__ = [
    "CHUNKS",
    "FINDING_COLUMNS",
    "MODEL_CALL_OPERATIONS",
    "attach_findings",
    "evaluation_column",
    "open_calls",
    "MIN_LABELS_PER_WINDOW",
    "MaturedLabels",
    "labels_at_equal_maturity",
    "Chunk",
    "IncidentWindows",
    "LogTable",
    "ValidationReport",
    "Window",
    "aligned_windows",
    "chunk_expression",
    "describe_signal",
    "failure_expression",
    "incident_windows",
    "label_as_of",
    "label_known",
    "open_logs",
    "time_literal",
    "validate_logs",
    "windows_for_incident",
]

Chunk = Literal["hour", "day", "week"]
CHUNKS: dict[str, str] = {"hour": "h", "day": "D", "week": "W"}
"""Time-chunk names and the Ibis ``truncate`` unit each maps to (weeks start on Monday)."""
CHUNK_LENGTHS: dict[str, pd.Timedelta] = {
    "hour": pd.Timedelta(hours=1),
    "day": pd.Timedelta(days=1),
    "week": pd.Timedelta(days=7),
}
"""How long each time chunk is (a chunk starting at ``t`` ends at ``t + CHUNK_LENGTHS[chunk]``)."""


_TIMESTAMP_MESSAGE = "{} must be a datetime. Got {!r} instead."


# --------------------------------------------------------------------------------------------------
# Windows
# --------------------------------------------------------------------------------------------------


def _utc(value: object, name: str, *, parse_text: bool = False) -> datetime:
    """``value`` as an aware UTC datetime, or :class:`InvalidParameterError` naming ``name``.

    ISO-8601 text is parsed only with ``parse_text`` (the ``from_value`` constructors reading JSON); a
    :class:`Window` built directly takes datetimes.
    """
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if parse_text and isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            raise InvalidParameterError(_TIMESTAMP_MESSAGE.format(name, value)) from None
    if not isinstance(value, datetime):
        raise InvalidParameterError(_TIMESTAMP_MESSAGE.format(name, value))
    return as_utc(value)


def _plain_schema(validate: Any) -> CoreSchema:
    """A pydantic schema for a frozen dataclass: validated by ``validate``, serialised by its ``to_dict``."""
    from pydantic_core import core_schema

    serialise = core_schema.plain_serializer_function_ser_schema(lambda value: value.to_dict())
    return core_schema.no_info_plain_validator_function(validate, serialization=serialise)


@dataclass(frozen=True)
class Window:
    """A half-open time window ``[start, end)`` in UTC.

    Naive datetimes are taken to be UTC; aware ones are converted.

    Examples
    --------
    >>> from datetime import datetime
    >>> w = Window(datetime(2026, 3, 1), datetime(2026, 3, 8), "reference")
    >>> w.duration.days, w.start.isoformat()
    (7, '2026-03-01T00:00:00+00:00')
    """

    start: datetime
    end: datetime
    name: str = "window"

    def __post_init__(self) -> None:
        object.__setattr__(self, "start", _utc(self.start, "start"))
        object.__setattr__(self, "end", _utc(self.end, "end"))
        if not self.start < self.end:
            raise InvalidParameterError(
                f"A window's start must be before its end. Got start={self.start.isoformat()} and "
                f"end={self.end.isoformat()} for window {self.name!r} instead."
            )

    @property
    def duration(self) -> timedelta:
        """Length of the window."""
        return self.end - self.start

    def contains(self, column: ir.TimestampValue) -> ir.BooleanValue:
        """Return the expression ``start <= column < end`` (NULL times are outside)."""
        return (column >= time_literal(column, self.start)) & (column < time_literal(column, self.end))

    def to_dict(self) -> dict[str, str]:
        """Return ``{"name", "start", "end"}`` with ISO-8601 UTC times."""
        return {"name": self.name, "start": self.start.isoformat(), "end": self.end.isoformat()}

    @classmethod
    def from_value(cls, value: Window | Mapping[str, Any], name: str | None = None) -> Window:
        """A window from itself or from ``{"start", "end"[, "name"]}`` (ISO-8601 strings or datetimes).

        Examples
        --------
        >>> Window.from_value({"start": "2026-03-01T00:00Z", "end": "2026-03-08T00:00Z"}, "reference").name
        'reference'
        """
        if isinstance(value, Window):
            return value
        if not isinstance(value, Mapping) or "start" not in value or "end" not in value:
            raise InvalidParameterError(
                f"a window must be a mapping with 'start' and 'end'. Got {value!r} instead."
            )
        label = name or str(value.get("name") or "window")
        return cls(
            _utc(value["start"], f"{label}.start", parse_text=True),
            _utc(value["end"], f"{label}.end", parse_text=True),
            label,
        )

    # One window type everywhere: pydantic models (section summaries, the investigation context) hold a
    # Window as a field; it validates from {"start", "end"[, "name"]} and serialises as :meth:`to_dict`.
    @classmethod
    def __get_pydantic_core_schema__(  # noqa: D105
        cls, source: type[Any], handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        return _plain_schema(cls.from_value)

    @classmethod
    def __get_pydantic_json_schema__(  # noqa: D105
        cls, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> dict[str, Any]:
        return {
            "type": "object",
            "title": "Window",
            "description": "A half-open UTC time window [start, end).",
            "properties": {
                "start": {"type": "string", "format": "date-time"},
                "end": {"type": "string", "format": "date-time"},
                "name": {"type": "string"},
            },
            "required": ["start", "end"],
        }


@dataclass(frozen=True)
class IncidentWindows:
    """The reference, incident and recent windows of an analysis, and which of them took defaults."""

    reference: Window
    incident: Window
    recent: Window
    as_of: datetime
    defaults: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    def __iter__(self) -> Iterator[Window]:  # noqa: D105
        return iter((self.reference, self.incident, self.recent))

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-serialisable description (windows, ``as_of``, defaults used, notes)."""
        return {
            "reference": self.reference.to_dict(),
            "incident": self.incident.to_dict(),
            "recent": self.recent.to_dict(),
            "as_of": self.as_of.isoformat(),
            "defaults": list(self.defaults),
            "notes": list(self.notes),
        }

    @classmethod
    def from_value(cls, value: IncidentWindows | Mapping[str, Any]) -> IncidentWindows:
        """The windows from themselves or from :meth:`to_dict`'s form (a round trip).

        Examples
        --------
        >>> from datetime import datetime
        >>> w = incident_windows(datetime(2026, 5, 10), datetime(2026, 5, 12), as_of=datetime(2026, 5, 20))
        >>> IncidentWindows.from_value(w.to_dict()) == w
        True
        """
        if isinstance(value, IncidentWindows):
            return value
        if not isinstance(value, Mapping):
            raise InvalidParameterError(f"windows must be a mapping. Got {type(value).__name__} instead.")
        return cls(
            reference=Window.from_value(value["reference"], "reference"),
            incident=Window.from_value(value["incident"], "incident"),
            recent=Window.from_value(value["recent"], "recent"),
            as_of=_utc(value["as_of"], "as_of", parse_text=True),
            defaults=tuple(value.get("defaults") or ()),
            notes=tuple(value.get("notes") or ()),
        )

    @classmethod
    def __get_pydantic_core_schema__(  # noqa: D105
        cls, source: type[Any], handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        return _plain_schema(cls.from_value)

    @classmethod
    def __get_pydantic_json_schema__(  # noqa: D105
        cls, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> dict[str, Any]:
        window = {"type": "object", "properties": {"start": {"type": "string"}, "end": {"type": "string"}}}
        return {
            "type": "object",
            "title": "IncidentWindows",
            "properties": {
                "reference": window,
                "incident": window,
                "recent": window,
                "as_of": {"type": "string", "format": "date-time"},
                "defaults": {"type": "array", "items": {"type": "string"}},
                "notes": {"type": "array", "items": {"type": "string"}},
            },
            "required": ["reference", "incident", "recent", "as_of"],
        }


def incident_windows(
    occurred_at: datetime,
    contained_at: datetime | None = None,
    *,
    as_of: datetime,
    reference: Window | None = None,
    incident: Window | None = None,
    recent: Window | None = None,
    reference_days: float = 28,
    gap_days: float = 7,
    recent_hours: float = 24,
) -> IncidentWindows:
    """Reference, incident and recent windows from an incident's timestamps.

    Defaults (each overridable by passing the window, or by changing its size):

    - reference = ``reference_days`` (28) days ending ``gap_days`` (7) days before ``occurred_at``;
    - incident = ``occurred_at`` to ``contained_at``, or to ``as_of`` while the incident is open (an end
      after ``as_of`` is clipped to ``as_of``: the analysis cannot see the future);
    - recent = the last ``recent_hours`` (24) hours before ``as_of``.

    Parameters
    ----------
    occurred_at : datetime
        When the incident started (its onset).
    contained_at : datetime, optional
        When it was contained; None while open.
    as_of : datetime
        The time the analysis is run as of.
    reference, incident, recent : Window, optional
        Explicit windows replacing the defaults.
    reference_days, gap_days, recent_hours : float
        Sizes of the default windows.

    Returns
    -------
    IncidentWindows
        The windows; ``defaults`` names those that took default values.

    Examples
    --------
    >>> from datetime import datetime
    >>> w = incident_windows(datetime(2026, 5, 10), datetime(2026, 5, 12), as_of=datetime(2026, 5, 20))
    >>> w.reference.start.date().isoformat(), w.reference.end.date().isoformat()
    ('2026-04-05', '2026-05-03')
    >>> w.incident.end.date().isoformat(), w.recent.start.isoformat(), w.defaults
    ('2026-05-12', '2026-05-19T00:00:00+00:00', ('reference', 'incident', 'recent'))
    """
    occurred = _utc(occurred_at, "occurred_at")
    as_of_utc = _utc(as_of, "as_of")
    for name, value in (("reference_days", reference_days), ("gap_days", gap_days)):
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise InvalidParameterError(f"{name} must be a non-negative number. Got {value!r} instead.")
    for name, value in (("reference_days", reference_days), ("recent_hours", recent_hours)):
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise InvalidParameterError(f"{name} must be a positive number. Got {value!r} instead.")
    defaults: list[str] = []
    notes: list[str] = []
    if reference is None:
        reference_end = occurred - timedelta(days=gap_days)
        reference = Window(reference_end - timedelta(days=reference_days), reference_end, "reference")
        defaults.append("reference")
    if incident is None:
        if contained_at is None:
            end = as_of_utc
            notes.append("incident still open: the incident window ends at as_of")
        else:
            end = _utc(contained_at, "contained_at")
            if end > as_of_utc:
                notes.append("contained_at is after as_of: the incident window is clipped to as_of")
                end = as_of_utc
        incident = Window(occurred, end, "incident")
        defaults.append("incident")
    if recent is None:
        recent = Window(as_of_utc - timedelta(hours=recent_hours), as_of_utc, "recent")
        defaults.append("recent")
    for window in (reference, incident, recent):
        if window.end > as_of_utc:
            notes.append(f"window {window.name!r} ends after as_of; labels are still counted as of as_of")
    if reference.end > incident.start:
        notes.append("the reference window overlaps the incident window")
    return IncidentWindows(
        reference=reference,
        incident=incident,
        recent=recent,
        as_of=as_of_utc,
        defaults=tuple(defaults),
        notes=tuple(notes),
    )


def windows_for_incident(incident: Incident, /, *, as_of: datetime, **overrides: Any) -> IncidentWindows:
    """Windows from a register :class:`~register.schema.Incident` (onset = ``occurred_at`` or ``aware_at``).

    Parameters
    ----------
    incident : Incident
        The incident record.
    as_of : datetime
        The time the analysis is run as of.
    **overrides
        Passed to :func:`incident_windows` (``reference=``, ``incident=``, ``recent=``,
        ``reference_days=``...). ``incident`` is positional-only, so an ``incident=`` window override
        does not collide with it.

    Returns
    -------
    IncidentWindows
        As :func:`incident_windows`; a note says when ``aware_at`` stood in for a missing onset.

    Examples
    --------
    >>> from datetime import datetime
    >>> from register.schema import Incident
    >>> inc = Incident(id="INC-2026-0001", title="t", category="data_quality", severity="SEV-2",
    ...                aware_at=datetime(2026, 5, 11))
    >>> windows_for_incident(inc, as_of=datetime(2026, 5, 12)).notes[0]
    'occurred_at unknown: aware_at used as the onset'
    """
    occurred = incident.occurred_at
    extra: tuple[str, ...] = ()
    if occurred is None:
        occurred = incident.aware_at
        extra = ("occurred_at unknown: aware_at used as the onset",)
    windows = incident_windows(occurred, incident.contained_at, as_of=as_of, **overrides)
    return IncidentWindows(
        reference=windows.reference,
        incident=windows.incident,
        recent=windows.recent,
        as_of=windows.as_of,
        defaults=windows.defaults,
        notes=extra + windows.notes,
    )


def time_literal(column: ir.Value, value: datetime) -> ir.Value:
    """An Ibis timestamp literal comparable with ``column`` (aware UTC, or naive UTC for a naive column).

    Examples
    --------
    >>> from datetime import datetime
    >>> t = ibis.table({"ts": "timestamp"}, name="t")
    >>> time_literal(t.ts, datetime(2026, 1, 1)).type().timezone is None
    True
    """
    value = as_utc(value)
    if getattr(column.type(), "timezone", None) is None:
        return ibis.literal(value.replace(tzinfo=None), type="timestamp")
    return ibis.literal(value, type=ibis.expr.datatypes.Timestamp(timezone="UTC"))


def chunk_expression(table: ir.Table, card: DataCard, chunk: Chunk = "day") -> ir.TimestampValue:
    """The start of each decision's time chunk (``hour``, ``day`` or ``week``), computed in the engine.

    Examples
    --------
    >>> from register.schema import ColumnRoles, DataCard, DataSource
    >>> card = DataCard(source=DataSource(location="x.parquet"), task="regression",
    ...                 columns=ColumnRoles(event_time="ts", entity_id="id"))
    >>> t = ibis.table({"ts": "timestamp", "id": "string"}, name="t")
    >>> chunk_expression(t, card, "week").type().is_timestamp()
    True
    """
    if chunk not in CHUNKS:
        raise InvalidParameterError(f"chunk must be one of {sorted(CHUNKS)}. Got {chunk!r} instead.")
    return table[card.columns.event_time].truncate(CHUNKS[chunk])


def aligned_windows(
    reference: Window, current: Window, chunk: Chunk, as_of: datetime
) -> tuple[Window, Window]:
    """Whole chunks inside the reference, and the chunks from its end to the current window's end.

    Per-chunk statistics compare whole chunks: a chunk cut by a window edge holds only part of its cycle.
    The current span never reaches past ``as_of``.

    Examples
    --------
    >>> from datetime import datetime
    >>> ref = Window(datetime(2026, 1, 1, 7, 40), datetime(2026, 1, 29, 7, 40), "reference")
    >>> cur = Window(datetime(2026, 2, 5, 7, 40), datetime(2026, 2, 7, 12), "incident")
    >>> aligned_ref, span = aligned_windows(ref, cur, "day", datetime(2026, 2, 10))
    >>> aligned_ref.start.isoformat(), aligned_ref.end.isoformat(), span.end.isoformat()
    ('2026-01-02T00:00:00+00:00', '2026-01-29T00:00:00+00:00', '2026-02-08T00:00:00+00:00')
    """
    unit = CHUNKS[chunk]

    def floor(value: datetime) -> datetime:
        return pd.Timestamp(value).floor(unit).to_pydatetime() if chunk != "week" else _week_floor(value)

    def ceil(value: datetime) -> datetime:
        floored = floor(value)
        if floored == value:
            return floored
        return floored + CHUNK_LENGTHS[chunk].to_pytimedelta()

    start, end = ceil(as_utc(reference.start)), floor(as_utc(reference.end))
    # The last chunk never reaches past as_of: decisions after it are not part of an analysis as of then.
    span_end = min(ceil(as_utc(current.end)), as_utc(as_of))
    return Window(start, max(start, end), "reference"), Window(end, max(end, span_end), "current")


def _week_floor(value: datetime) -> datetime:
    """Monday 00:00 UTC of the week holding ``value`` (the engine's week truncation)."""
    day = pd.Timestamp(as_utc(value)).floor("D")
    return (day - pd.Timedelta(days=day.weekday())).to_pydatetime()


# --------------------------------------------------------------------------------------------------
# Opening logs
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LogTable:
    """A prediction log (or an interaction log's model calls) opened from its data card.

    Attributes
    ----------
    table : ibis.expr.types.Table
        The log, event time as a timestamp, sensitive attributes left-joined when they live apart. For an
        interaction log (:func:`open_calls`): its model calls, one score column per evaluation
        (:func:`evaluation_column`) left-joined.
    card : DataCard
        The data card (relative locations resolved).
    backend : str
        Name of the Ibis backend (``duckdb``, ``pyspark``...).
    source : str
        What was read (path, table name, or ``pandas DataFrame``).
    spans : ibis.expr.types.Table or None
        An interaction log's spans as read (model calls, tool calls, retrieval steps); None for a
        prediction log.
    evaluations : tuple of str
        The evaluation names with a score column in ``table`` (interaction logs).
    evaluations_as_of : datetime or None
        The scores are those observed by this time (``evaluated_at <= as_of``); None: every score.
    """

    table: ir.Table
    card: DataCard
    backend: str
    source: str
    sensitive_keys: tuple[str, ...] = ()
    _keys_table: ir.Table | None = field(default=None, repr=False, compare=False)
    _raw_table: ir.Table | None = field(default=None, repr=False, compare=False)
    spans: ir.Table | None = field(default=None, repr=False, compare=False)
    evaluations: tuple[str, ...] = ()
    evaluations_as_of: datetime | None = None

    def entities_without_sensitive(self) -> int:
        """Distinct join keys of the log with no row in the sensitive table (0 without a join table)."""
        if self._keys_table is None or not self.sensitive_keys:
            return 0
        log_keys = self.table.select(*self.sensitive_keys).distinct()
        missing = log_keys.anti_join(self._keys_table, list(self.sensitive_keys))
        return int(missing.count().execute())


def _read_source(con: BaseBackend, source: DataSource, backend: str, *, given_con: bool) -> ir.Table:
    location = source.location
    if source.format == "connection" or (source.format == "duckdb" and given_con):
        return con.table(source.table)
    if source.format == "duckdb":
        check_exists(location)
        alias = "db_" + ibis.util.gen_name("src").replace("-", "_")
        con.attach(location, name=alias, read_only=True)
        return con.table(source.table, database=alias)
    ext = "parquet" if source.format == "parquet" else "csv"
    # DuckDB reads a directory through a recursive glob; other engines (Spark) read the directory itself,
    # discovering its hive partitions.
    path = file_paths(location, ext) if backend == "duckdb" else location
    check_exists(path)
    if source.format == "parquet":
        if backend == "duckdb":
            return con.read_parquet(path, hive_partitioning=True, can_have_nan=True)
        return con.read_parquet(path)
    if backend == "duckdb":
        return con.read_csv(path, hive_partitioning=True)
    return con.read_csv(path)


def _as_table(data: pd.DataFrame | ir.Table, name: str) -> ir.Table:
    if isinstance(data, ir.Table):
        return data
    if isinstance(data, pd.DataFrame):
        return ibis.memtable(data)
    raise InvalidParameterError(
        f"{name} must be a pandas DataFrame or an Ibis table. Got {type(data).__name__} instead."
    )


def open_logs(
    card: DataCard,
    *,
    data: pd.DataFrame | ir.Table | None = None,
    sensitive_data: pd.DataFrame | ir.Table | None = None,
    con: BaseBackend | None = None,
    base_dir: str | os.PathLike[str] | None = None,
    memory_limit: str = DEFAULT_MEMORY_LIMIT,
    threads: int | None = None,
) -> LogTable:
    """Open an AI system's prediction log from its data card, as an Ibis table.

    Parameters
    ----------
    card : DataCard
        Where the log lives and what its columns mean.
    data : pandas.DataFrame or Ibis table, optional
        The log itself, replacing ``card.source`` (a DataFrame is wrapped with :func:`ibis.memtable`).
    sensitive_data : pandas.DataFrame or Ibis table, optional
        The sensitive-attribute table, replacing ``card.sensitive_source.source``.
    con : Ibis backend, optional
        Connection to read from (PySpark, PostgreSQL...). ``connection``/``duckdb`` sources are read as
        ``con.table(source.table)``; file sources through ``con.read_parquet``/``read_csv``. Without it an
        embedded DuckDB is used (hive partitioning on, Parquet read with ``can_have_nan=true``).
    base_dir : path, optional
        Directory relative locations in the card are resolved against.
    memory_limit : str, default "2GB"
        DuckDB ``memory_limit`` of the embedded connection (DuckDB's own default is 80 % of RAM).
    threads : int, optional
        DuckDB threads of the embedded connection (DuckDB's default when None).

    Returns
    -------
    LogTable
        The table (with sensitive attributes left-joined by ``card.sensitive_source.keys``; entities
        missing from the join table get NULL attributes, counted by
        :meth:`LogTable.entities_without_sensitive`), the card, and the backend name.

    Raises
    ------
    DataValidationError
        When a file location matches nothing, or the join keys/attributes are missing.

    Examples
    --------
    >>> import pandas as pd
    >>> from register.schema import ColumnRoles, DataCard, DataSource, SensitiveSource
    >>> card = DataCard(
    ...     source=DataSource(location="unused.parquet"), task="regression",
    ...     columns=ColumnRoles(event_time="ts", entity_id="id", prediction="p", label="y"),
    ...     sensitive_source=SensitiveSource(source=DataSource(location="unused.parquet"),
    ...                                      keys=["id"], attributes=["region"]))
    >>> log = pd.DataFrame({"ts": pd.to_datetime(["2026-01-01"] * 3, utc=True), "id": ["a", "b", "c"],
    ...                     "p": [1.0, 2.0, 3.0], "y": [1.0, 2.5, None]})
    >>> regions = pd.DataFrame({"id": ["a", "b"], "region": ["N", "S"]})
    >>> logs = open_logs(card, data=log, sensitive_data=regions)
    >>> logs.table.columns, logs.entities_without_sensitive()
    (('ts', 'id', 'p', 'y', 'region'), 1)
    """
    if not isinstance(card, DataCard):
        raise InvalidParameterError(f"card must be a DataCard. Got {type(card).__name__} instead.")
    if base_dir is not None:
        card = card.with_base(base_dir)
    given_con = con is not None
    con = _connection(card, data, sensitive_data, con, memory_limit=memory_limit, threads=threads)
    backend = str(getattr(con, "name", "duckdb")) if con is not None else "duckdb"
    if data is not None:
        table = _as_table(data, "data")
        source_text = "pandas DataFrame" if isinstance(data, pd.DataFrame) else "Ibis table"
    else:
        table = _read_source(con, card.source, backend, given_con=given_con)
        source_text = card.source.table or card.source.location

    keys: tuple[str, ...] = ()
    keys_table: ir.Table | None = None
    sensitive = card.sensitive_source
    if sensitive is not None:
        if sensitive_data is not None:
            attributes_table = _as_table(sensitive_data, "sensitive_data")
        else:
            attributes_table = _read_source(con, sensitive.source, backend, given_con=given_con)
        _check_sensitive_table(table, attributes_table, sensitive)
        keys = tuple(sensitive.keys)
        keys_table = attributes_table.select(*keys, *sensitive.attributes)
        joined = table.left_join(keys_table, list(keys))
        table = joined.select(*table.columns, *sensitive.attributes)
    raw_table = table
    table = _normalise_event_time(table, card)
    return LogTable(
        table=table,
        card=card,
        backend=backend,
        source=source_text,
        sensitive_keys=keys,
        _keys_table=keys_table,
        _raw_table=raw_table,
    )


def _connection(
    card: DataCard,
    data: pd.DataFrame | ir.Table | None,
    sensitive_data: pd.DataFrame | ir.Table | None,
    con: BaseBackend | None,
    *,
    memory_limit: str,
    threads: int | None,
) -> BaseBackend | None:
    """The backend to read from: ``con``, the backend of an Ibis ``data``, or a new one if anything is read.

    A new connection is ``ibis.connect(location)`` for a ``connection`` source, else an embedded DuckDB
    with ``memory_limit`` (and ``threads``). None when nothing needs reading (in-memory data only).
    """
    if con is None and isinstance(data, ir.Table):
        con = data._find_backend(use_default=True)
    needs_reader = data is None or (card.sensitive_source is not None and sensitive_data is None)
    if con is not None or not needs_reader:
        return con
    if data is None and card.source.format == "connection":
        return ibis.connect(card.source.location)
    config: dict[str, str | int] = {"memory_limit": memory_limit}
    if threads is not None:
        config["threads"] = threads
    return ibis.duckdb.connect(**config)


def _check_sensitive_table(table: ir.Table, attributes_table: ir.Table, sensitive: SensitiveSource) -> None:
    """Raise one :class:`DataValidationError` listing every mismatch of the sensitive table with the card.

    Join keys missing from either table, attributes missing from the sensitive table, and attributes the
    log already holds (they would be ambiguous after the join).
    """
    problems: list[Failure] = []
    for key in sensitive.keys:
        for name, tbl in (("log", table), ("sensitive table", attributes_table)):
            if key not in tbl.columns:
                problems.append(
                    {"column": key, "check": "join_key_present", "failure_case": name, "count": None}
                )
    for attribute in sensitive.attributes:
        if attribute not in attributes_table.columns:
            problems.append(
                {
                    "column": attribute,
                    "check": "column_present",
                    "failure_case": "sensitive table",
                    "count": None,
                }
            )
        elif attribute in table.columns and attribute not in sensitive.keys:
            problems.append(
                {"column": attribute, "check": "attribute_not_in_log", "failure_case": "log", "count": None}
            )
    if problems:
        raise DataValidationError(
            f"The sensitive-attribute table does not match the data card: {len(problems)} problem(s). "
            "Fix the data card's sensitive_source (keys and attributes) or the table.",
            problems,
        )


def _normalise_event_time(table: ir.Table, card: DataCard) -> ir.Table:
    """Parse string time columns (CSV) as timestamps; unparseable values become NULL (see validation)."""
    names = [card.columns.event_time, card.columns.label_observed_at, *card.columns.input_as_of.values()]
    updates = {}
    for name in names:
        if name and name in table.columns and table[name].type().is_string():
            updates[name] = table[name].try_cast("timestamp")
    if not updates:
        return table
    return table.mutate(**updates)


# --------------------------------------------------------------------------------------------------
# Interaction logs: model calls, evaluation scores, findings of the LLM scans
# --------------------------------------------------------------------------------------------------

MODEL_CALL_OPERATIONS: tuple[str, ...] = ("chat", "text_completion", "generate_content")
"""``gen_ai.operation.name`` values of the spans that are decisions of an interaction log (model calls);
tool calls, retrieval steps, embeddings and agent invocations are not. Without an operation-name role every
span is a model call."""

EVALUATION_COLUMN_PREFIX = "evaluation:"

FINDING_COLUMNS: dict[str, str] = {
    "exposure_finding": "finding:exposure",
    "injection_success": "finding:injection",
}
"""Failure-signal kind -> the column :func:`attach_findings` adds to an interaction log's model calls: a
``list<string>`` of what the scan found in the call (NULL: nothing)."""


def evaluation_column(name: str) -> str:
    """The column holding a model call's score of evaluation ``name`` in :func:`open_calls`'s table.

    Examples
    --------
    >>> evaluation_column("groundedness")
    'evaluation:groundedness'
    """
    return EVALUATION_COLUMN_PREFIX + name


def _interaction_card(card: object) -> DataCard:
    """The card, once :func:`analysis._llm_data.interaction_roles` has checked it is an interaction log."""
    from analysis._llm_data import interaction_roles

    interaction_roles(card)  # type: ignore[arg-type]  # it refuses anything but an interaction-log card
    assert isinstance(card, DataCard)
    return card


def open_calls(
    card: DataCard,
    *,
    as_of: datetime | None = None,
    data: pd.DataFrame | ir.Table | None = None,
    evaluation_data: pd.DataFrame | ir.Table | None = None,
    con: BaseBackend | None = None,
    base_dir: str | os.PathLike[str] | None = None,
    memory_limit: str = DEFAULT_MEMORY_LIMIT,
    threads: int | None = None,
) -> LogTable:
    """Open an interaction log's model calls (its decisions), each evaluation's score left-joined.

    The calls are the spans whose operation is in :data:`MODEL_CALL_OPERATIONS` (every span without an
    operation-name role). When the card has an ``evaluations`` table, each evaluation name it holds (user
    feedback included) becomes one column (:func:`evaluation_column`): the call's **lowest** score of that
    evaluation observed by ``as_of`` (``evaluated_at <= as_of``; every score when ``as_of`` or the
    ``evaluated_at`` column is None), NULL when the call has none. Scores are joined on the span id, or on
    the conversation id (every call of the conversation gets its score) when the table has no span id. The
    join and the aggregation run in the engine, so a failure signal on a score stays a column expression.

    Parameters
    ----------
    card : DataCard
        An ``interaction_log`` card.
    as_of : datetime, optional
        Scores evaluated later are not seen.
    data, evaluation_data : pandas.DataFrame or Ibis table, optional
        The spans and the evaluation table, replacing the card's sources.
    con : Ibis backend, optional
        Connection to read from (as :func:`open_logs`); an ``otlp_json`` source is always read by
        :func:`analysis._llm_data.open_interaction_log` (an embedded DuckDB).
    base_dir, memory_limit, threads
        As :func:`open_logs`.

    Returns
    -------
    LogTable
        ``table``: the model calls with the score columns; ``spans``: every span as read;
        ``evaluations``: the evaluation names joined; ``evaluations_as_of``: ``as_of``.

    Raises
    ------
    DataValidationError
        A role column is missing from the log, or a column the evaluation source names from its table.

    Examples
    --------
    >>> import pandas as pd
    >>> from register.schema import DataCard, DataSource, EvaluationSource, InteractionRoles
    >>> roles = InteractionRoles(trace_id="trace_id", span_id="span_id", start_time="start_time",
    ...                          user_id="user", operation_name="op")
    >>> card = DataCard.interaction_log(DataSource(location="unused"), roles,
    ...     evaluations=EvaluationSource(source=DataSource(location="unused"), span_id="span_id",
    ...                                  name="name", score="score", label=None))
    >>> t0 = pd.Timestamp("2026-01-01", tz="UTC")
    >>> spans = pd.DataFrame({"trace_id": ["t1", "t1", "t2"], "span_id": ["s1", "r1", "s2"],
    ...     "start_time": [t0] * 3, "user": ["u1", "u1", "u2"], "op": ["chat", "retrieval", "chat"]})
    >>> scores = pd.DataFrame({"span_id": ["s1", "s1"], "name": ["groundedness"] * 2, "score": [0.9, 0.3]})
    >>> calls = open_calls(card, data=spans, evaluation_data=scores)
    >>> calls.table.order_by("span_id").execute()["evaluation:groundedness"].tolist()
    [0.3, nan]
    """
    card = _interaction_card(card)
    if base_dir is not None:
        card = card.with_base(base_dir)
    roles = card.interaction
    assert roles is not None  # checked by _interaction_card
    from analysis._llm_data import check_interaction_columns, open_interaction_log

    given_con = con is not None
    if data is not None:
        spans = _as_table(data, "data")
        source_text = "pandas DataFrame" if isinstance(data, pd.DataFrame) else "Ibis table"
    elif card.source.format == "otlp_json":
        spans = open_interaction_log(card, memory_limit=memory_limit, threads=threads)
        source_text = card.source.location
        con, given_con = spans._find_backend(), True
    else:
        con = _connection(card, None, None, con, memory_limit=memory_limit, threads=threads)
        spans = _read_source(con, card.source, str(getattr(con, "name", "duckdb")), given_con=given_con)
        source_text = card.source.table or card.source.location
    check_interaction_columns(spans, card)
    if con is None and isinstance(data, ir.Table):
        con = data._find_backend(use_default=True)
    calls = spans
    if roles.operation_name is not None:
        calls = spans.filter(spans[roles.operation_name].isin(list(MODEL_CALL_OPERATIONS)))
    names: tuple[str, ...] = ()
    if card.evaluations is not None and card.evaluations.score is not None:
        if evaluation_data is not None:
            evaluations = _as_table(evaluation_data, "evaluation_data")
        else:
            if con is None:
                con = _connection(card, None, None, None, memory_limit=memory_limit, threads=threads)
            backend = str(getattr(con, "name", "duckdb"))
            evaluations = _read_source(con, card.evaluations.source, backend, given_con=given_con)
        calls, names = _join_scores(calls, card, evaluations, as_of=as_of)
    backend_name = str(getattr(con, "name", "duckdb")) if con is not None else "duckdb"
    return LogTable(
        table=_normalise_event_time(calls, card),
        card=card,
        backend=backend_name,
        source=source_text,
        _raw_table=calls,
        spans=spans,
        evaluations=names,
        evaluations_as_of=None if as_of is None else _utc(as_of, "as_of"),
    )


def _join_scores(
    calls: ir.Table, card: DataCard, evaluations: ir.Table, *, as_of: datetime | None
) -> tuple[ir.Table, tuple[str, ...]]:
    """Left-join each evaluation's lowest score observed by ``as_of`` to the calls (:func:`open_calls`)."""
    source, roles = card.evaluations, card.interaction
    assert source is not None and roles is not None and source.score is not None
    by_span = source.span_id is not None
    key = source.span_id if by_span else source.conversation_id
    call_key = roles.span_id if by_span else roles.conversation_id
    needed = [("key", key), ("name", source.name), ("score", source.score)]
    if as_of is not None and source.evaluated_at is not None:
        needed.append(("evaluated_at", source.evaluated_at))
    missing = [(role, column) for role, column in needed if column not in evaluations.columns]
    if call_key is None:
        missing.append(("conversation_id", "the log's conversation_id role"))
    if missing:
        raise DataValidationError(
            "The evaluation table lacks the columns its data card names: "
            + ", ".join(f"{column} ({role})" for role, column in missing)
            + ". Fix the card's `evaluations` or the table.",
            [
                {
                    "column": column,
                    "check": "column_present",
                    "failure_case": f"evaluations {role}",
                    "count": 0,
                }
                for role, column in missing
            ],
        )
    assert key is not None and call_key is not None
    name = evaluations[source.name].cast("string")
    names = tuple(
        sorted(str(v) for v in evaluations.select(name=name).distinct().execute()["name"] if v is not None)
    )
    if not names:
        return calls, ()
    seen = ibis.literal(True)
    if as_of is not None and source.evaluated_at is not None:
        observed_at = evaluations[source.evaluated_at]
        seen = observed_at.notnull() & (observed_at <= time_literal(observed_at, as_of))
    score = evaluations[source.score].cast("float64")
    metrics = {evaluation_column(n): score.min(where=seen & (name == n)) for n in names}
    pivot = (
        evaluations.filter(evaluations[key].notnull())
        .group_by(_wb_key=evaluations[key].cast("string"))
        .aggregate(**metrics)
    )
    joined = calls.left_join(pivot, calls[call_key].cast("string") == pivot["_wb_key"])
    return joined.select(*calls.columns, *metrics), names


def attach_findings(
    logs: LogTable, kind: Literal["exposure_finding", "injection_success"], findings: pd.DataFrame
) -> LogTable:
    """Add the findings of an LLM scan to the model calls, for a failure signal of that ``kind``.

    The exposure scan and the injection analysis run in Python on the rows the engine pre-selects; what
    they found comes back here as a small table of ``span_id`` and ``finding`` (one row per finding) and
    is left-joined to the calls as the ``list<string>`` column :data:`FINDING_COLUMNS` ``[kind]`` (NULL
    where nothing was found), so :func:`failure_expression` stays a column expression and every other
    part of the impact analysis is unchanged. Exposure findings are ``location`` and ``location:entity``
    tokens (``output``, ``output:email``), injection successes their indicators (``system_echo``,
    ``tool_call``). :func:`analysis.impact.open_impact_log` runs the scan and calls this.

    Examples
    --------
    >>> import pandas as pd
    >>> from register.schema import DataCard, DataSource, InteractionRoles
    >>> roles = InteractionRoles(trace_id="t", span_id="s", start_time="ts", user_id="u")
    >>> card = DataCard.interaction_log(DataSource(location="unused"), roles)
    >>> spans = pd.DataFrame({"t": ["a", "b"], "s": ["s1", "s2"], "u": ["x", "y"],
    ...                       "ts": pd.to_datetime(["2026-01-01"] * 2, utc=True)})
    >>> logs = attach_findings(open_calls(card, data=spans), "injection_success",
    ...                        pd.DataFrame({"span_id": ["s2"], "finding": ["tool_call"]}))
    >>> [None if v is None else list(v) for v in logs.table.order_by("s").execute()["finding:injection"]]
    [None, ['tool_call']]
    """
    if not isinstance(logs, LogTable):
        raise InvalidParameterError(
            f"logs must be a LogTable (open_calls). Got {type(logs).__name__} instead."
        )
    card = _interaction_card(logs.card)
    if kind not in FINDING_COLUMNS:
        raise InvalidParameterError(f"kind must be one of {sorted(FINDING_COLUMNS)}. Got {kind!r} instead.")
    missing = {"span_id", "finding"} - set(findings.columns)
    if missing:
        raise InvalidParameterError(
            f"findings must have the columns span_id and finding. Got {list(findings.columns)} instead."
        )
    column = FINDING_COLUMNS[kind]
    table = logs.table.drop(column) if column in logs.table.columns else logs.table
    rows = findings[["span_id", "finding"]].dropna().astype(str).drop_duplicates()
    if rows.empty:
        return replace(logs, table=table.mutate(**{column: ibis.null("array<string>")}))
    grouped = rows.sort_values(["span_id", "finding"]).groupby("span_id", sort=True)["finding"].agg(list)
    found = ibis.memtable(
        pd.DataFrame({"_wb_span": grouped.index.astype(str), column: grouped.to_list()}),
        schema={"_wb_span": "string", column: "array<string>"},
    )
    span_id = card.interaction.span_id  # type: ignore[union-attr]  # an interaction card
    joined = table.left_join(found, table[span_id].cast("string") == found["_wb_span"])
    return replace(logs, table=joined.select(*table.columns, column))


# --------------------------------------------------------------------------------------------------
# Labels as of, failure signal
# --------------------------------------------------------------------------------------------------


def _as_table_only(table: LogTable | ir.Table | pd.DataFrame) -> ir.Table:
    if isinstance(table, LogTable):
        return table.table
    if isinstance(table, pd.DataFrame):
        return ibis.memtable(table)
    if isinstance(table, ir.Table):
        return table
    raise InvalidParameterError(
        f"table must be a LogTable, an Ibis table or a pandas DataFrame. Got {type(table).__name__} instead."
    )


def label_known(table: ir.Table, card: DataCard, *, as_of: datetime) -> ir.BooleanValue:
    """Whether each decision's label was observed by ``as_of`` (never NULL).

    A label counts when it is not NULL and ``label_observed_at <= as_of``; a NULL ``label_observed_at``
    means not observed. Without a ``label_observed_at`` column, a non-NULL label counts when the decision
    itself happened before ``as_of``.

    Examples
    --------
    >>> import pandas as pd
    >>> from datetime import datetime
    >>> from register.schema import ColumnRoles, DataCard, DataSource
    >>> card = DataCard(source=DataSource(location="x"), task="binary_classification",
    ...                 columns=ColumnRoles(event_time="ts", entity_id="id", prediction="p", label="y",
    ...                                     label_observed_at="seen"))
    >>> t = ibis.memtable(pd.DataFrame({"ts": pd.to_datetime(["2026-01-01"] * 3, utc=True), "id": list("abc"),
    ...     "p": [1, 1, 0], "y": [1, 0, None],
    ...     "seen": pd.to_datetime(["2026-01-02", "2026-01-09", None], utc=True)}))
    >>> label_known(t, card, as_of=datetime(2026, 1, 5)).execute().tolist()
    [True, False, False]
    """
    columns = card.columns
    if columns.label is None:
        raise InvalidParameterError(
            "The data card must name a label column for labels to be known. Got columns.label=None; set it, "
            "or use a failure signal that needs no labels."
        )
    as_of = _utc(as_of, "as_of")
    known = table[columns.label].notnull()
    if columns.label_observed_at:
        observed = table[columns.label_observed_at]
        known = known & observed.notnull() & (observed <= time_literal(observed, as_of))
    else:
        event_time = table[columns.event_time]
        known = known & (event_time < time_literal(event_time, as_of))
    return known.fill_null(False)


def label_as_of(table: ir.Table, card: DataCard, *, as_of: datetime) -> ir.Value:
    """The label where it was observed by ``as_of``, NULL otherwise (see :func:`label_known`).

    Examples
    --------
    >>> import pandas as pd
    >>> from datetime import datetime
    >>> from register.schema import ColumnRoles, DataCard, DataSource
    >>> card = DataCard(source=DataSource(location="x"), task="regression",
    ...                 columns=ColumnRoles(event_time="ts", entity_id="id", label="y",
    ...                                     label_observed_at="seen"))
    >>> t = ibis.memtable(pd.DataFrame({"ts": pd.to_datetime(["2026-01-01"] * 2, utc=True), "id": ["a", "b"],
    ...     "y": [1.5, 2.5], "seen": pd.to_datetime(["2026-01-02", "2026-01-09"], utc=True)}))
    >>> label_as_of(t, card, as_of=datetime(2026, 1, 5)).execute().isna().tolist()
    [False, True]
    """
    known = label_known(table, card, as_of=as_of)
    return ibis.ifelse(known, table[card.columns.label], ibis.null().cast(table[card.columns.label].type()))


MIN_LABELS_PER_WINDOW = 30
"""Fewest labels (matured to the same horizon) per window for the label to enter the drift analysis."""


@dataclass(frozen=True)
class MaturedLabels:
    """Labels at one maturity horizon in two windows (:func:`labels_at_equal_maturity`).

    ``table`` has the label column replaced (or is the input when ``used`` is false), ``note`` says in one
    sentence what was done, ``used`` whether enough labels matured for a label analysis, ``counts`` the
    labels used per window (reference, current).
    """

    table: ir.Table
    note: str
    used: bool
    counts: tuple[int, int] = (0, 0)


def labels_at_equal_maturity(
    table: ir.Table,
    card: DataCard,
    reference: Window,
    current: Window,
    as_of: datetime,
    *,
    analysis: str = "the drift analysis",
    min_labels: int | None = None,
) -> MaturedLabels:
    """Replace the label by its value at one maturity horizon, the same in both windows.

    The labels start from the ones impact counts: observed by ``as_of`` (:func:`analysis.data.label_known`,
    ``label_observed_at <= as_of``). Labels arrive late, and the ones that arrive early are not a random
    subset (a default shows up before a repayment does): comparing a mature reference with an immature
    current window would report label drift that is only a reporting delay. So a label counts when it was
    observed within ``horizon`` of its decision and the decision is at least ``horizon`` old at ``as_of``.
    Two horizons are tried, and the one that keeps more labels in the window with fewer is used (the first
    on a tie):

    1. the age at ``as_of`` of the current window's youngest decision (``as_of`` minus the window's end):
       every decision of both windows is that old, so none is dropped for its age. When every label
       observed by ``as_of`` arrived within it -- labels two years late, ``as_of`` after them -- the labels
       are exactly those impact counts, and the note says so;
    2. half the age of the current window's start (the older part of the current window): for an
       ``as_of`` right after the window, when the first leaves too few labels.

    The note states the horizon and both counts (labels used, labels observed by ``as_of``). With fewer
    than ``min_labels`` (default ``MIN_LABELS_PER_WINDOW``) labels in a window the label is left out of
    ``analysis`` (named in the note). Without a ``label_observed_at`` column the labels observed by
    ``as_of`` are used as they are. The drift and fairness analyses both compare windows this way.
    """
    minimum = MIN_LABELS_PER_WINDOW if min_labels is None else int(min_labels)
    columns = card.columns
    label = columns.label
    if not label:
        raise InvalidParameterError(
            "the data card must name a label column to compare labels. Got none instead."
        )
    if not columns.label_observed_at:
        labelled = table.mutate(**{label: label_as_of(table, card, as_of=as_of)})
        return MaturedLabels(
            labelled,
            "labels as of as_of (the data card has no label_observed_at: maturity not checked)",
            True,
        )
    youngest = min(as_utc(current.end), as_of)
    horizons = [(as_of - youngest).total_seconds(), (as_of - as_utc(current.start)).total_seconds() / 2]
    event_seconds = table[columns.event_time].epoch_seconds()
    delay_seconds = table[columns.label_observed_at].epoch_seconds() - event_seconds
    observed = label_as_of(table, card, as_of=as_of).notnull()

    def matured(horizon: float) -> ir.BooleanValue:
        ripe = observed & (delay_seconds <= horizon) & (as_of.timestamp() - event_seconds >= horizon)
        return ripe.fill_null(False)

    counts = _label_counts(
        table, columns.event_time, (reference, current), observed, [matured(h) for h in horizons]
    )
    n_observed = counts[0]
    best = max(range(len(horizons)), key=lambda k: (min(counts[k + 1]), -k))
    horizon, n_used = horizons[best], counts[best + 1]
    days = horizon / 86400
    observed_text = (
        f"{n_observed[0]} reference and {n_observed[1]} current labels were observed by as_of "
        "(label_observed_at <= as_of, as impact counts them)"
    )
    if min(n_used) < minimum:
        return MaturedLabels(
            table,
            f"label left out of {analysis}: at an equal maturity of {days:.1f} days only "
            f"{n_used[0]} reference and {n_used[1]} current labels were observed "
            f"(at least {minimum} each are needed; {observed_text}); labels arrive late",
            False,
            n_used,
        )
    typed_null = ibis.null().cast(table[label].type())
    labelled = table.mutate(**{label: ibis.ifelse(matured(horizon), table[label], typed_null)})
    if n_used == n_observed:
        return MaturedLabels(
            labelled,
            (
                "label compared on the labels observed by as_of, as impact counts them "
                f"({n_used[0]} reference, {n_used[1]} current): each arrived within {days:.1f} days of its "
                "decision and every decision of both windows is at least that old, so both windows are at an "
                "equal maturity"
            ),
            True,
            n_used,
        )
    return MaturedLabels(
        labelled,
        (
            f"label compared at an equal maturity of {days:.1f} days: a label counts when observed within "
            f"that long of its decision ({n_used[0]} reference, {n_used[1]} current labels; {observed_text})"
        ),
        True,
        n_used,
    )


def _label_counts(
    table: ir.Table,
    event_time: str,
    windows: tuple[Window, Window],
    observed: ir.BooleanValue,
    conditions: list[ir.BooleanValue],
) -> list[tuple[int, int]]:
    """Per condition (``observed`` first, then each of ``conditions``): rows meeting it in each window."""
    aggregates = {}
    for w, window in enumerate(windows):
        inside = window.contains(table[event_time])
        for k, condition in enumerate([observed, *conditions]):
            aggregates[f"n_{k}_{w}"] = (inside & condition).fill_null(False).cast("int64").sum()
    row = table.aggregate(**aggregates).to_pyarrow().to_pylist()[0]
    return [(int(row[f"n_{k}_0"] or 0), int(row[f"n_{k}_1"] or 0)) for k in range(len(conditions) + 1)]


_OPS = {
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
}


def describe_signal(signal: FailureSignal, card: DataCard) -> str:
    """A sentence stating what counts as a failed decision.

    Examples
    --------
    >>> from register.schema import ColumnRoles, DataCard, DataSource, LabelErrorSignal
    >>> card = DataCard(source=DataSource(location="x"), task="binary_classification",
    ...                 columns=ColumnRoles(event_time="ts", entity_id="id", prediction="p", label="y"))
    >>> describe_signal(LabelErrorSignal(), card)
    "label error: prediction 'p' differs from the label 'y' observed by as_of"
    """
    columns = card.columns
    if isinstance(signal, LabelErrorSignal):
        if card.task == "regression":
            kind = "relative" if signal.relative else "absolute"
            return (
                f"label error: {kind} error |{columns.prediction} - {columns.label}| exceeds "
                f"{signal.tolerance}{' x |label|' if signal.relative else ''}, label observed by as_of"
            )
        return (
            f"label error: prediction {columns.prediction!r} differs from the label {columns.label!r} "
            "observed by as_of"
        )
    if isinstance(signal, DataQualitySignal):
        if signal.condition == "null":
            return f"data quality: input {signal.column!r} is null"
        as_of_column = columns.input_as_of.get(signal.column)
        return (
            f"data quality: input {signal.column!r} is stale (event time minus its as-of time "
            f"{as_of_column!r} exceeds {signal.max_lag})"
        )
    if isinstance(signal, PredictionConditionSignal):
        return f"prediction condition: {signal.column} {signal.op} {signal.value!r}"
    if isinstance(signal, EvaluationScoreSignal):
        bound = "at or below" if signal.inclusive else "below"
        return f"evaluation: the call's {signal.evaluation!r} score is {bound} {signal.below}"
    if isinstance(signal, ErrorTypeSignal):
        which = ", ".join(map(repr, signal.error_types)) if signal.error_types else "any error type"
        return f"error: the call ended with {which}"
    if isinstance(signal, ExposureFindingSignal):
        where = {"output": "answer", "input": "user's messages", "system": "system instructions"}
        places = " or ".join(f"its {where[location]}" for location in signal.locations)
        what = ", ".join(signal.entities) if signal.entities else "personal data or a secret"
        return f"exposure: the exposure scan found {what} in {places}"
    if isinstance(signal, InjectionSuccessSignal):
        how = f" ({', '.join(signal.indicators)})" if signal.indicators else ""
        return f"prompt injection: the call is a successful injection attempt{how}"
    return f"finish reason: the call finished with {', '.join(map(repr, signal.reasons))}"


def failure_expression(
    table: LogTable | ir.Table,
    card: DataCard,
    signal: FailureSignal | None = None,
    *,
    as_of: datetime,
) -> ir.BooleanValue:
    """Whether each decision failed under the declared failure signal; NULL where it cannot be judged.

    - :class:`~register.schema.LabelErrorSignal`: classifiers fail when prediction != label; regression
      when ``|prediction - label| > tolerance`` (or ``> tolerance * |label|`` when ``relative``, written
      without a division so no engine divides by zero). NULL when the label was not observed by ``as_of``
      (see :func:`label_known`) or the prediction is NULL.
    - :class:`~register.schema.DataQualitySignal`: ``null`` -- the input is NULL (never NULL itself);
      ``stale`` -- the event time minus the input's as-of time exceeds ``max_lag`` (NULL when the as-of
      time is NULL).
    - :class:`~register.schema.PredictionConditionSignal`: the comparison (NULL when the value is NULL).

    On an interaction log's model calls (:func:`open_calls`):

    - :class:`~register.schema.ErrorTypeSignal`: ``error.type`` is set (or one of ``error_types``); never
      NULL.
    - :class:`~register.schema.FinishReasonSignal`: one of the call's finish reasons (a list column, or
      comma-separated text) is in ``reasons``; NULL when the call recorded none.
    - :class:`~register.schema.EvaluationScoreSignal`: the call's score of the evaluation
      (:func:`evaluation_column`) is below ``below`` (or equal, ``inclusive``); NULL when unscored.
    - :class:`~register.schema.ExposureFindingSignal` / :class:`~register.schema.InjectionSuccessSignal`:
      the scan found something of the asked kind in the call (:func:`attach_findings`); never NULL.

    Parameters
    ----------
    table : LogTable or Ibis table
        The log.
    card : DataCard
        Column roles.
    signal : FailureSignal, optional
        Defaults to ``card.failure_signal``.
    as_of : datetime
        Labels observed after this time are unknown.

    Returns
    -------
    ibis.expr.types.BooleanValue

    Raises
    ------
    InvalidParameterError
        When the card lacks a column the signal needs, or a regression label error has no tolerance.

    Examples
    --------
    >>> import pandas as pd
    >>> from datetime import datetime
    >>> from register.schema import ColumnRoles, DataCard, DataSource, LabelErrorSignal
    >>> card = DataCard(source=DataSource(location="x"), task="regression",
    ...                 columns=ColumnRoles(event_time="ts", entity_id="id", prediction="p", label="y"))
    >>> t = ibis.memtable(pd.DataFrame({"ts": pd.to_datetime(["2026-01-01"] * 3, utc=True), "id": list("abc"),
    ...     "p": [10.0, 10.0, 10.0], "y": [10.5, 12.0, None]}))
    >>> failed = failure_expression(t, card, LabelErrorSignal(tolerance=1.0), as_of=datetime(2026, 2, 1))
    >>> failed.execute().tolist()
    [False, True, None]
    """
    signal = card.failure_signal if signal is None else signal
    if isinstance(table, LogTable) and isinstance(signal, EvaluationScoreSignal):
        _check_evaluations_as_of(table, as_of)
    table = _as_table_only(table)
    columns = card.columns
    if isinstance(signal, LabelErrorSignal):
        return _label_error(table, card, signal, as_of=as_of)
    if isinstance(signal, DataQualitySignal):
        _check_signal_column(table, signal.column)
        if signal.condition == "null":
            return table[signal.column].isnull()
        as_of_column = columns.input_as_of.get(signal.column)
        if as_of_column is None:
            raise InvalidParameterError(
                f"A stale-input signal on {signal.column!r} needs its as-of column in the data card's "
                f"input_as_of. Got {dict(columns.input_as_of)!r}."
            )
        seconds = signal.max_lag.total_seconds()  # type: ignore[union-attr]
        lag_limit = table[as_of_column] + ibis.interval(microseconds=round(seconds * 1_000_000))
        return lag_limit < table[columns.event_time]
    if isinstance(signal, PredictionConditionSignal):
        _check_signal_column(table, signal.column)
        column = table[signal.column]
        if column.type().is_boolean() and not isinstance(signal.value, str):
            column = column.cast("int8")  # a boolean decision compared with 1 / 0 (the schema keeps numbers)
        return _OPS[signal.op](column, ibis.literal(signal.value))
    if isinstance(
        signal,
        EvaluationScoreSignal
        | ErrorTypeSignal
        | FinishReasonSignal
        | ExposureFindingSignal
        | InjectionSuccessSignal,
    ):
        return _interaction_failure(table, card, signal)
    raise InvalidParameterError(f"signal must be a FailureSignal. Got {type(signal).__name__} instead.")


def _interaction_failure(
    table: ir.Table,
    card: DataCard,
    signal: EvaluationScoreSignal
    | ErrorTypeSignal
    | FinishReasonSignal
    | ExposureFindingSignal
    | InjectionSuccessSignal,
) -> ir.BooleanValue:
    """The interaction-log signals of :func:`failure_expression` (rows: model calls, :func:`open_calls`)."""
    roles = card.interaction
    if card.kind != "interaction_log" or roles is None:
        raise InvalidParameterError(
            f"a {signal.kind} failure signal needs an interaction_log card. Got a {card.kind} card; use "
            "label_error, data_quality or prediction_condition."
        )
    if isinstance(signal, ErrorTypeSignal | FinishReasonSignal):
        role = "error_type" if isinstance(signal, ErrorTypeSignal) else "finish_reasons"
        name = getattr(roles, role)
        if name is None or name not in table.columns:
            raise InvalidParameterError(
                f"a {signal.kind} failure signal needs the log's {role} column. Got "
                f"{'no ' + role + ' role' if name is None else repr(name) + ', which is not in the log'}; "
                "name it in the card's interaction roles."
            )
        column = table[name]
        if isinstance(signal, ErrorTypeSignal):
            if not signal.error_types:
                return column.notnull()
            return column.cast("string").isin(signal.error_types).fill_null(False)
        reasons = column.split(",") if column.type().is_string() else column
        return ibis.ifelse(
            column.isnull(), ibis.null().cast("boolean"), _contains_any(reasons, signal.reasons)
        )
    if isinstance(signal, EvaluationScoreSignal):
        name = evaluation_column(signal.evaluation)
        if name not in table.columns:
            raise InvalidParameterError(
                f"an evaluation_score failure signal needs the calls' {signal.evaluation!r} scores. Got a "
                "table without them: open the log with open_calls (the card's evaluations table must hold "
                f"that evaluation name; it holds {_joined_evaluations(table)})."
            )
        score = table[name]
        return score <= signal.below if signal.inclusive else score < signal.below
    name = FINDING_COLUMNS[signal.kind]
    if name not in table.columns:
        scan = "exposure scan" if signal.kind == "exposure_finding" else "injection analysis"
        raise InvalidParameterError(
            f"a {signal.kind} failure signal needs the {scan}'s findings on the calls. Got a table without "
            f"the column {name!r}; open it with analysis.impact.open_impact_log (or attach_findings)."
        )
    found = table[name]
    if isinstance(signal, ExposureFindingSignal):
        tokens = list(signal.locations)
        if signal.entities is not None:
            tokens = [f"{location}:{entity}" for location in signal.locations for entity in signal.entities]
    else:
        tokens = list(signal.indicators)
    if not tokens:
        return (found.length() > 0).fill_null(False)
    return _contains_any(found, tokens).fill_null(False)


def _contains_any(values: ir.ArrayValue, wanted: Sequence[str]) -> ir.BooleanValue:
    """Whether a list column holds one of ``wanted``.

    One ``list_contains`` per value: no lambda, which DuckDB 2 refuses in the arrow syntax Ibis writes.
    """
    return ibis.or_(*(values.contains(value) for value in wanted))


def _check_evaluations_as_of(logs: LogTable, as_of: datetime) -> None:
    """Scores joined as of one time cannot judge calls as of another (the evaluations seen differ)."""
    joined = logs.evaluations_as_of
    if joined is not None and joined != _utc(as_of, "as_of"):
        raise InvalidParameterError(
            f"as_of must be the time the calls' evaluation scores were joined as of. Got {as_of.isoformat()} "
            f"for scores joined as of {joined.isoformat()}; open the log again with open_calls(as_of=...)."
        )


def _joined_evaluations(table: ir.Table) -> str:
    names = [
        c[len(EVALUATION_COLUMN_PREFIX) :] for c in table.columns if c.startswith(EVALUATION_COLUMN_PREFIX)
    ]
    return ", ".join(map(repr, names)) if names else "none"


def _label_error(
    table: ir.Table, card: DataCard, signal: LabelErrorSignal, *, as_of: datetime
) -> ir.BooleanValue:
    """Label error of each decision; NULL where the label is not known by ``as_of`` (failure_expression)."""
    columns = card.columns
    if columns.prediction is None or columns.label is None:
        raise InvalidParameterError(
            "A label-error failure signal needs the prediction and label columns in the data card. "
            f"Got prediction={columns.prediction!r}, label={columns.label!r}."
        )
    prediction, label = table[columns.prediction], table[columns.label]
    known = label_known(table, card, as_of=as_of) & prediction.notnull()
    if card.task == "regression":
        if signal.tolerance is None:
            raise InvalidParameterError(
                "A regression label-error signal needs a tolerance. Got None; e.g. tolerance: 5.0."
            )
        error = (prediction - label).abs()
        limit = label.abs() * signal.tolerance if signal.relative else ibis.literal(signal.tolerance)
        failed = error > limit
    else:
        if prediction.type().is_string() != label.type().is_string():
            prediction, label = prediction.cast("string"), label.cast("string")
        elif prediction.type().is_boolean() != label.type().is_boolean():
            prediction, label = prediction.cast("int64"), label.cast("int64")
        failed = prediction != label
    return ibis.ifelse(known, failed, ibis.null().cast("boolean"))


def _check_signal_column(table: ir.Table, column: str) -> None:
    if column not in table.columns:
        raise InvalidParameterError(
            f"The failure signal's column must be a column of the log. Got {column!r}, which is not in the "
            "log; fix the signal's column (or the data card's failure_signal)."
        )


def uses_labels(signal: FailureSignal) -> bool:
    """True when the signal needs true labels (a label error)."""
    return isinstance(signal, LabelErrorSignal)


# --------------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ValidationReport:
    """What :func:`validate_logs` checked and found (aggregates only)."""

    n_rows: int
    checks: tuple[str, ...]
    failures: pd.DataFrame
    window_rows: dict[str, int]
    window_labels: dict[str, int]
    n_entities_without_sensitive: int

    @property
    def ok(self) -> bool:
        """True when no check failed."""
        return self.failures.empty

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable summary."""
        return {
            "ok": self.ok,
            "n_rows": self.n_rows,
            "checks": list(self.checks),
            "window_rows": dict(self.window_rows),
            "window_labels": dict(self.window_labels),
            "n_entities_without_sensitive": self.n_entities_without_sensitive,
            "failures": self.failures.astype(object).where(self.failures.notna(), None).to_dict("records"),
        }


_FAILURE_COLUMNS = ["column", "check", "failure_case", "count"]

Failure = dict[str, str | int | None]
"""One validation problem: ``column``, ``check`` (reason code), ``failure_case`` (what was found), ``count``.
"""


@dataclass
class _Findings:
    """The checks run and the problems found by :func:`validate_logs`, in the order they were found."""

    failures: list[Failure] = field(default_factory=list)
    checks: list[str] = field(default_factory=list)

    def fail(self, column: str | None, check: str, failure_case: str, count: int | None = None) -> None:
        """Record one problem."""
        self.failures.append({"column": column, "check": check, "failure_case": failure_case, "count": count})


class _WindowCheck(NamedTuple):
    """A window :func:`validate_logs` counts rows (and labels) in, and what it must hold."""

    window: Window
    must_have_rows: bool
    must_have_labels: bool


def _role_columns(card: DataCard) -> list[tuple[str, str]]:
    columns = card.columns
    roles: list[tuple[str, str]] = [("event_time", columns.event_time), ("entity_id", columns.entity_id)]
    for role in ("request_id", "model_version", "score", "prediction", "label", "label_observed_at"):
        name = getattr(columns, role)
        if name:
            roles.append((role, name))
    roles += [("feature", name) for name in columns.features]
    roles += [("input_as_of", name) for name in columns.input_as_of.values()]
    roles += [("sensitive", name) for name in card.sensitive_attributes]
    if card.interaction is not None:
        roles += list(card.interaction.columns.items())
        roles += [("attribute", name) for name in card.interaction.attributes]
    seen: set[str] = set()
    unique = []
    for role, name in roles:
        if name not in seen:
            seen.add(name)
            unique.append((role, name))
    return unique


def _check_column_types(card: DataCard, schema: ibis.Schema, findings: _Findings) -> list[str]:
    """Checks ``column_present``, ``numeric`` and ``timestamp``; returns the time columns stored as text."""
    present = set(schema.names)
    findings.checks.append("column_present")
    for role, name in _role_columns(card):
        if name not in present:
            findings.fail(name, "column_present", f"{role} column missing from the log")

    columns = card.columns
    findings.checks += ["numeric", "timestamp"]
    numeric_names = list(columns.numeric_features) + ([columns.score] if columns.score else [])
    if card.task == "regression":
        numeric_names += [n for n in (columns.prediction, columns.label) if n]
    if card.interaction is not None:
        numeric_names += [n for n in (card.interaction.input_tokens, card.interaction.output_tokens) if n]
    for name in dict.fromkeys(numeric_names):
        if name in present and not schema[name].is_numeric():
            findings.fail(name, "numeric", f"expected a numeric type, found {schema[name]}")
    time_names = [columns.event_time, columns.label_observed_at, *columns.input_as_of.values()]
    string_times: list[str] = []
    for name in dict.fromkeys(n for n in time_names if n):
        if name not in present:
            continue
        dtype = schema[name]
        if dtype.is_string():
            string_times.append(name)
        elif not dtype.is_timestamp():
            findings.fail(name, "timestamp", f"expected a timestamp, found {dtype}")
    return string_times


def _check_signal_needs(
    signal: FailureSignal, card: DataCard, schema: ibis.Schema, findings: _Findings
) -> None:
    """Checks ``signal_column`` and ``signal_config``: what the failure signal needs from the card and log."""
    present = set(schema.names)
    columns = card.columns
    findings.checks += ["signal_column", "signal_config"]
    if isinstance(signal, LabelErrorSignal):
        for role in ("prediction", "label"):
            if getattr(columns, role) is None:
                findings.fail(
                    role, "signal_config", f"a label-error signal needs a {role} column in the data card"
                )
        if card.task == "regression" and signal.tolerance is None:
            findings.fail(columns.label, "signal_config", "a regression label-error signal needs a tolerance")
    elif isinstance(signal, DataQualitySignal | PredictionConditionSignal):
        if signal.column not in present:
            findings.fail(
                signal.column, "signal_column", "the failure signal's column is missing from the log"
            )
        if isinstance(signal, DataQualitySignal) and signal.condition == "stale":
            as_of_column = columns.input_as_of.get(signal.column)
            if as_of_column is None:
                findings.fail(
                    signal.column, "signal_config", "a stale-input signal needs the column's input_as_of"
                )
        if isinstance(signal, PredictionConditionSignal) and signal.column in present:
            dtype = schema[signal.column]
            if isinstance(signal.value, int | float) and not isinstance(signal.value, bool):
                if not dtype.is_numeric():
                    findings.fail(signal.column, "signal_config", f"a numeric condition on a {dtype} column")
            elif isinstance(signal.value, str) and not dtype.is_string():
                findings.fail(signal.column, "signal_config", f"a string condition on a {dtype} column")
    elif card.interaction is not None:
        _check_interaction_signal(signal, card, schema, findings)


_CONTENT_ROLE_OF_LOCATION = {
    "output": "output_messages",
    "input": "input_messages",
    "system": "system_instructions",
}


def _check_interaction_signal(
    signal: FailureSignal, card: DataCard, schema: ibis.Schema, findings: _Findings
) -> None:
    """What an interaction-log failure signal needs: its role column, joined scores, content to scan."""
    roles = card.interaction
    assert roles is not None  # the caller checked
    present = set(schema.names)
    if isinstance(signal, ErrorTypeSignal | FinishReasonSignal):
        role = "error_type" if isinstance(signal, ErrorTypeSignal) else "finish_reasons"
        name = getattr(roles, role)
        if name is None:
            findings.fail(role, "signal_config", f"a {signal.kind} signal needs the {role} role in the card")
        elif name not in present:
            findings.fail(name, "signal_column", f"the {role} column of the {signal.kind} signal is missing")
    elif isinstance(signal, EvaluationScoreSignal):
        name = evaluation_column(signal.evaluation)
        if card.evaluations is None or card.evaluations.score is None:
            findings.fail(
                None, "signal_config", "an evaluation_score signal needs an evaluations table with scores"
            )
        elif name not in present:
            findings.fail(
                name,
                "signal_column",
                f"no {signal.evaluation!r} scores joined to the calls (the evaluations table holds no such "
                "evaluation name, or the log was not opened with open_calls)",
            )
    elif isinstance(signal, ExposureFindingSignal | InjectionSuccessSignal):
        needed = (
            [_CONTENT_ROLE_OF_LOCATION[location] for location in signal.locations]
            if isinstance(signal, ExposureFindingSignal)
            else ["input_messages"]
        )
        for role in needed:
            if getattr(roles, role) is None:
                findings.fail(
                    role, "signal_config", f"a {signal.kind} signal scans {role}: the card has no such role"
                )


def _check_label_prediction(card: DataCard, schema: ibis.Schema, findings: _Findings) -> None:
    """Check ``label_prediction_comparable`` (classifiers) when the log holds both columns."""
    columns = card.columns
    present = set(schema.names)
    if not (columns.label in present and columns.prediction and columns.prediction in present):
        return
    findings.checks.append("label_prediction_comparable")
    label_type, prediction_type = schema[columns.label], schema[columns.prediction]
    comparable = (label_type.is_numeric() or label_type.is_boolean()) == (
        prediction_type.is_numeric() or prediction_type.is_boolean()
    )
    if not comparable and card.task != "regression":
        findings.fail(
            columns.label,
            "label_prediction_comparable",
            f"label is {label_type} but prediction {columns.prediction!r} is {prediction_type}",
        )


def _windows_to_check(
    windows: IncidentWindows | Sequence[Window] | Window | None, needs_labels: bool
) -> list[_WindowCheck]:
    """The windows to count in: for :class:`IncidentWindows` the recent window may be empty."""
    if isinstance(windows, IncidentWindows):
        return [
            _WindowCheck(windows.reference, True, needs_labels),
            _WindowCheck(windows.incident, True, False),
            _WindowCheck(windows.recent, False, False),
        ]
    if isinstance(windows, Window):
        return [_WindowCheck(windows, True, needs_labels)]
    if windows is not None:
        return [_WindowCheck(w, True, needs_labels) for w in windows]
    return []


def _window_aggregates(
    expr: ir.Table,
    schema: ibis.Schema,
    card: DataCard,
    window_checks: list[_WindowCheck],
    *,
    string_times: list[str],
    as_of: datetime | None,
) -> dict[str, ir.Scalar]:
    """Rows (and labels known by ``as_of``) per window: aggregates ``window_rows_<i>``/``window_labels_<i>``.

    Labels are counted when a window must have them. Empty when there is no window or no usable
    event-time column.
    """
    columns = card.columns
    present = set(schema.names)
    needs_labels = any(check.must_have_labels for check in window_checks)
    time_ok = columns.event_time in present and (
        schema[columns.event_time].is_timestamp() or columns.event_time in string_times
    )
    if not window_checks or not time_ok:
        return {}
    event_time = expr[columns.event_time]
    if columns.event_time in string_times:
        event_time = event_time.try_cast("timestamp")
    known = None
    if needs_labels and not (columns.label_observed_at and columns.label_observed_at not in present):
        observed_ok = not columns.label_observed_at or schema[columns.label_observed_at].is_timestamp()
        if as_of is not None and observed_ok:
            known = label_known(expr, card, as_of=as_of)
        else:
            known = expr[columns.label].notnull()
    aggregates: dict[str, ir.Scalar] = {}
    for i, (window, _, _) in enumerate(window_checks):
        inside = (event_time >= time_literal(event_time, window.start)) & (
            event_time < time_literal(event_time, window.end)
        )
        aggregates[f"window_rows_{i}"] = inside.cast("int64").sum()
        if known is not None:
            aggregates[f"window_labels_{i}"] = (inside & known).cast("int64").sum()
    return aggregates


def _report_windows(
    counts: Mapping[str, Any], window_checks: list[_WindowCheck], card: DataCard, findings: _Findings
) -> tuple[dict[str, int], dict[str, int]]:
    """Checks ``window_not_empty`` and ``window_has_labels`` on the counts; rows and labels per window."""
    columns = card.columns
    window_rows: dict[str, int] = {}
    window_labels: dict[str, int] = {}
    for i, (window, must_have_rows, must_have_labels) in enumerate(window_checks):
        if f"window_rows_{i}" not in counts:
            continue
        rows = int(counts[f"window_rows_{i}"] or 0)
        window_rows[window.name] = rows
        if must_have_rows and rows == 0:
            findings.fail(
                columns.event_time,
                "window_not_empty",
                f"no decisions in window {window.name!r} "
                f"[{window.start.isoformat()}, {window.end.isoformat()}); give other dates "
                f"(`workbench investigate --{window.name}-start ... --{window.name}-end ...`, "
                f"or the notebook's {window.name}_start/{window.name}_end)",
                0,
            )
        if f"window_labels_{i}" in counts:
            labels = int(counts[f"window_labels_{i}"] or 0)
            window_labels[window.name] = labels
            if must_have_labels and rows > 0 and labels == 0:
                findings.fail(
                    columns.label, "window_has_labels", f"no labels observed in window {window.name!r}", 0
                )
    return window_rows, window_labels


def _check_binary_labels(values: list[Any], card: DataCard, findings: _Findings) -> None:
    """Check ``label_values``: at most two label values, the positive label among them."""
    label = card.columns.label
    if len(values) > 2:
        findings.fail(label, "label_values", f"more than two label values, e.g. {values}")
    elif values and card.positive_label is not None:
        as_text = {str(v).lower() for v in values}
        positive = str(card.positive_label).lower()
        numeric_match = any(_same_number(v, card.positive_label) for v in values)
        if positive not in as_text and not numeric_match and len(values) == 2:
            findings.fail(
                label,
                "label_values",
                f"positive label {card.positive_label!r} not among the label values {values}",
            )


def validate_logs(
    table: LogTable | ir.Table | pd.DataFrame,
    card: DataCard | None = None,
    *,
    windows: IncidentWindows | Sequence[Window] | Window | None = None,
    signal: FailureSignal | None = None,
    as_of: datetime | None = None,
    raise_on_error: bool = True,
) -> ValidationReport:
    """Check a prediction log against its data card, collecting every problem before raising.

    Checks (``check`` codes in the failures table): ``column_present`` (every column the card names),
    ``numeric`` (numeric features, score; prediction and label for regression), ``timestamp`` (event time,
    ``label_observed_at``, input as-of columns), ``timestamp_parseable`` (string times that do not parse:
    count of rows), ``label_values`` (a binary label with more than two values, or without the positive
    label), ``label_prediction_comparable``, ``signal_column`` / ``signal_config`` (what the failure signal
    needs), ``window_not_empty`` and ``window_has_labels`` (a label-error signal needs observed labels in
    the reference window, or in every window given as a list).

    An interaction log is checked on its model calls (:func:`open_calls`): every column its interaction
    roles name must be present, token counts numeric, the start time a timestamp; the failure signal's
    role column, joined scores (an evaluation signal) or content role (what the exposure scan or the
    injection analysis reads) must be there; windows must hold model calls. It has no labels: no label
    check runs.

    Parameters
    ----------
    table : LogTable, Ibis table or pandas DataFrame
        The log.
    card : DataCard, optional
        Defaults to the LogTable's card.
    windows : IncidentWindows, Window or list of Window, optional
        Windows to check for rows and labels. For :class:`IncidentWindows` the reference and incident
        windows must hold decisions and the reference window labels; the recent window may be empty.
    signal : FailureSignal, optional
        Defaults to ``card.failure_signal``.
    as_of : datetime, optional
        Labels as of this time (defaults to ``windows.as_of``, else labels are counted regardless of time).
    raise_on_error : bool, default True
        Raise :class:`DataValidationError` when any check fails; otherwise return the report.

    Returns
    -------
    ValidationReport

    Raises
    ------
    DataValidationError
        With ``failures`` listing every problem (column, check, failure_case, count).

    Examples
    --------
    >>> import pandas as pd
    >>> from register.schema import ColumnRoles, DataCard, DataSource
    >>> card = DataCard(source=DataSource(location="x"), task="binary_classification",
    ...                 columns=ColumnRoles(event_time="ts", entity_id="id", features=["age", "income"],
    ...                                     prediction="p", label="y"))
    >>> frame = pd.DataFrame({"ts": ["2026-01-01", "not a time"], "id": ["a", "b"], "age": ["x", "y"],
    ...                       "p": [1, 0], "y": [1, 0]})
    >>> try:
    ...     validate_logs(frame, card)
    ... except DataValidationError as error:
    ...     sorted((f["column"], f["check"]) for f in error.failures)
    [('age', 'numeric'), ('income', 'column_present'), ('ts', 'timestamp_parseable')]
    """
    logs = table if isinstance(table, LogTable) else None
    if card is None:
        if logs is None:
            raise InvalidParameterError("card is required unless table is a LogTable.")
        card = logs.card
    expr = _as_table_only(table)
    if logs is not None and logs._raw_table is not None:
        expr = logs._raw_table  # as read: string times are checked for parseability, not pre-parsed
    signal = card.failure_signal if signal is None else signal
    if isinstance(windows, IncidentWindows) and as_of is None:
        as_of = windows.as_of
    columns = card.columns
    schema = expr.schema()
    findings = _Findings()

    # Schema checks need no query; the counts below run as one aggregate (plus the distinct label values).
    string_times = _check_column_types(card, schema, findings)
    aggregates: dict[str, ir.Scalar] = {"n_rows": expr.count()}
    if string_times:
        findings.checks.append("timestamp_parseable")
        for i, name in enumerate(string_times):
            raw = expr[name]
            aggregates[f"bad_time_{i}"] = (raw.notnull() & raw.try_cast("timestamp").isnull()).sum()
    _check_signal_needs(signal, card, schema, findings)
    _check_label_prediction(card, schema, findings)
    label_ok = columns.label is not None and columns.label in schema.names
    window_checks = _windows_to_check(windows, needs_labels=isinstance(signal, LabelErrorSignal) and label_ok)
    window_aggregates = _window_aggregates(
        expr, schema, card, window_checks, string_times=string_times, as_of=as_of
    )
    if window_aggregates:
        findings.checks += ["window_not_empty", "window_has_labels"]
        aggregates.update(window_aggregates)
    binary_values: list[Any] | None = None
    if label_ok and card.task == "binary_classification":
        findings.checks.append("label_values")
        distinct = expr.select(value=expr[columns.label]).filter(lambda t: t.value.notnull()).distinct()
        binary_values = distinct.limit(3).execute()["value"].tolist()

    counts = expr.aggregate(**aggregates).execute().iloc[0].to_dict()
    for i, name in enumerate(string_times):
        bad = int(counts[f"bad_time_{i}"] or 0)
        if bad:
            findings.fail(name, "timestamp_parseable", f"{bad} value(s) do not parse as timestamps", bad)
    window_rows, window_labels = _report_windows(counts, window_checks, card, findings)
    if binary_values is not None:
        _check_binary_labels(binary_values, card, findings)

    report = ValidationReport(
        n_rows=int(counts["n_rows"]),
        checks=tuple(dict.fromkeys(findings.checks)),
        failures=pd.DataFrame(findings.failures, columns=_FAILURE_COLUMNS),
        window_rows=window_rows,
        window_labels=window_labels,
        n_entities_without_sensitive=(
            logs.entities_without_sensitive() if logs is not None and logs.sensitive_keys else 0
        ),
    )
    if raise_on_error and not report.ok:
        raise DataValidationError(
            f"The {card.kind.replace('_', ' ')} does not match its data card: "
            f"{len(findings.failures)} problem(s).\n"
            + _failure_lines(findings.failures)
            + "\nFix the data card's column roles or the data, then run again.",
            findings.failures,
        )
    return report


def _failure_lines(failures: Sequence[Mapping[str, object]]) -> str:
    lines = []
    for failure in failures:
        count = f" ({failure['count']} rows)" if failure.get("count") else ""
        lines.append(f"  - {failure['column']} [{failure['check']}]: {failure['failure_case']}{count}")
    return "\n".join(lines)


def _same_number(value: object, positive: object) -> bool:
    try:
        return float(value) == float(positive)  # type: ignore[arg-type]  # anything float() takes
    except (TypeError, ValueError):
        return False
