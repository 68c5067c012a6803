"""One investigation context per run: incident, data card, windows, the checked log and the parameters.

``workbench investigate`` builds the context ONCE — it looks the incident and its data card up in the
register, derives the windows (each overridable), opens the log (a prediction log, or an interaction log's
model calls with their evaluation scores) and checks it against the card, fingerprints the input — and
writes it as ``context.json`` into the run folder. Every section notebook loads it in one cell
(:meth:`InvestigationContext.load`) and opens the log from it without checking it again. In JupyterLab a
notebook builds the same context from an incident id with :func:`build_context` (the register lookup is the
notebook's, as ``analysis`` never touches storage).

Examples
--------
>>> import pandas as pd
>>> from datetime import datetime, UTC
>>> from register.schema import ColumnRoles, DataCard, DataSource, Incident
>>> frame = pd.DataFrame({
...     "ts": pd.date_range("2026-03-01", periods=24 * 20, freq="h", tz="UTC"),
...     "customer_id": [f"c{i % 7}" for i in range(24 * 20)],
...     "income": [float(i % 5) for i in range(24 * 20)],
...     "y_pred": [i % 2 for i in range(24 * 20)], "y_true": [1] * (24 * 20),
... })
>>> card = DataCard(source=DataSource(location="unused.parquet"), task="binary_classification",
...                 columns=ColumnRoles(event_time="ts", entity_id="customer_id", features=["income"],
...                                     prediction="y_pred", label="y_true"))
>>> incident = Incident(id="INC-2026-0001", title="t", category="data_quality", severity="SEV-2",
...                     aware_at=datetime(2026, 3, 16, tzinfo=UTC),
...                     occurred_at=datetime(2026, 3, 15, tzinfo=UTC))
>>> context = build_context(incident, card, as_of=datetime(2026, 3, 20, tzinfo=UTC), data=frame,
...                         windows={"reference": ("2026-03-01T00:00Z", "2026-03-10T00:00Z")})
>>> context.windows.reference.end.isoformat(), context.validation["window_rows"]["reference"]
('2026-03-10T00:00:00+00:00', 216)
>>> InvestigationContext.model_validate_json(context.model_dump_json()) == context
True
"""

from __future__ import annotations

import glob
import hashlib
import os
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from analysis.contract import Section, SectionParameters
from analysis.data import Chunk, IncidentWindows, Window, windows_for_incident
from analysis.errors import InvalidParameterError
from register.schema import DataCard, FailureSignal, Incident, TimelineEvent, as_utc

if TYPE_CHECKING:
    from analysis.data import LogTable

__all__ = [
    "CONTEXT_FILE",
    "InvestigationContext",
    "build_context",
    "data_fingerprint",
    "window_overrides",
]

CONTEXT_FILE = "context.json"
"""Name of the context file in a run folder."""

WindowEdges = tuple[datetime | str | None, datetime | str | None]


class InvestigationContext(BaseModel):
    """Everything a section needs that does not depend on the section: resolved and checked once.

    ``validation`` is the log check's summary (rows and labels per window, checks run, failures: none,
    or the context would not exist); ``fingerprint`` the input's row counts and content hash;
    ``section_parameters`` each section's own parameters (defaults filled in).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: Literal[1] = 1
    incident: Incident
    card: DataCard
    windows: IncidentWindows
    chunk: Chunk = "day"
    signal: FailureSignal | None = Field(default=None, description="the failure signal used")
    min_cell_size: int = Field(default=10, ge=1, description="groups smaller than this are suppressed")
    validation: dict[str, Any] = Field(default_factory=dict)
    fingerprint: dict[str, Any] = Field(default_factory=dict)
    section_parameters: dict[str, dict[str, Any]] = Field(default_factory=dict)
    events: list[TimelineEvent] = Field(
        default_factory=list,
        description="the incident's register timeline up to as_of (deploys, pipeline changes: change events)",
    )
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))

    @property
    def as_of(self) -> datetime:
        """The time the analyses run as of (labels observed by then)."""
        return self.windows.as_of

    @property
    def incident_id(self) -> str:
        """The incident's register id."""
        return self.incident.id

    def open_logs(self, *, data: Any = None, con: Any = None) -> LogTable:
        """Open the log of the context's data card (already checked: no second validation).

        A prediction log as read (:func:`analysis.data.open_logs`); an interaction log's model calls with
        their evaluation scores as of the context's ``as_of`` (:func:`analysis.data.open_calls`).
        """
        return _open(self.card, as_of=self.as_of, data=data, con=con)

    def parameters_for(self, section: Section) -> SectionParameters:
        """The section's own parameters, validated (its defaults where the run gave none)."""
        return section.parameters_from(self.section_parameters.get(section.key, {}))

    def write(self, path: str | Path) -> Path:
        """Write the context as JSON (``context.json`` in a run folder)."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(self.model_dump_json(indent=2) + "\n", encoding="utf-8")
        return target

    @classmethod
    def load(cls, path: str | Path) -> InvestigationContext:
        """Read a context written by :meth:`write`, with a clear error for a missing or stale file."""
        source = Path(path)
        if not source.is_file():
            raise InvalidParameterError(
                f"context_path must name the context.json of a run (written by `workbench investigate`). "
                f"Got {source}, which does not exist."
            )
        try:
            return cls.model_validate_json(source.read_text(encoding="utf-8"))
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(part) for part in error['loc']) or '(root)'}: {error['msg']}"
                for error in exc.errors()[:5]
            )
            raise InvalidParameterError(
                f"{source} is not an investigation context this version can read: {problems}. "
                "Run `workbench investigate` again."
            ) from None


def window_overrides(**edges: WindowEdges | None) -> dict[str, Window]:
    """Explicit windows from ``name=(start, end)`` pairs; a pair of ``None`` keeps the default.

    Raises
    ------
    InvalidParameterError
        Only one end given, an unparseable time, or a start not before its end — naming the window.

    Examples
    --------
    >>> sorted(window_overrides(reference=("2026-03-01", "2026-03-08"), recent=(None, None)))
    ['reference']
    >>> window_overrides(incident=("2026-03-01", None))
    Traceback (most recent call last):
    ...
    analysis.errors.InvalidParameterError: incident_start and incident_end must be given together. ...
    """
    windows: dict[str, Window] = {}
    for name, pair in edges.items():
        if name not in ("reference", "incident", "recent"):
            raise InvalidParameterError(
                f"window must be one of reference, incident, recent. Got {name!r} instead."
            )
        start, end = pair if pair is not None else (None, None)
        if (start is None) != (end is None):
            raise InvalidParameterError(f"{name}_start and {name}_end must be given together. Got only one.")
        if start is not None and end is not None:
            windows[name] = Window.from_value({"start": start, "end": end}, name)
    return windows


def build_context(
    incident: Incident,
    card: DataCard,
    *,
    as_of: datetime | str | None = None,
    chunk: Chunk = "day",
    windows: Mapping[str, Window | WindowEdges] | None = None,
    min_cell_size: int = 10,
    section_parameters: Mapping[str, Mapping[str, Any]] | None = None,
    events: Sequence[TimelineEvent] = (),
    data: Any = None,
    con: Any = None,
    fingerprint: bool = True,
) -> InvestigationContext:
    """Resolve and check everything once: windows, failure signal, the log against its card, a fingerprint.

    Parameters
    ----------
    incident, card : Incident, DataCard
        The register's records (``Register.incident_with_card``).
    as_of : datetime or str or None
        The time the analyses run as of (default: now).
    chunk : {"hour", "day", "week"}
        Time chunk of the series.
    windows : mapping, optional
        Explicit ``reference``/``incident``/``recent`` windows (a :class:`Window` or ``(start, end)``).
    min_cell_size : int
        The policy's minimum cell size.
    section_parameters : mapping, optional
        Each section's own parameters (validated by the section when it runs).
    events : sequence of TimelineEvent
        The incident's register timeline; events after ``as_of`` are left out (a report as of a date
        knows only what was recorded by then).
    data, con : optional
        A DataFrame or an Ibis connection to read the log from instead of the card's location.
    fingerprint : bool
        Hash the input files (skip for interactive use on large logs).

    Returns
    -------
    InvestigationContext

    Raises
    ------
    analysis.errors.InvalidParameterError
        A bad window or chunk.
    analysis.errors.DataValidationError
        The log does not match its data card, or a window holds no decisions (every problem listed, with
        the window's dates and the option that changes it).
    """
    from analysis.data import validate_logs

    when = _as_of(as_of)
    # one conversion and check of window edges: window_overrides (names, pairs, start before end)
    explicit = window_overrides(
        **{
            name: (value.start, value.end) if isinstance(value, Window) else value
            for name, value in (windows or {}).items()
        }
    )
    if chunk not in ("hour", "day", "week"):
        raise InvalidParameterError(f"chunk must be one of hour, day, week. Got {chunk!r} instead.")
    resolved = windows_for_incident(incident, as_of=when, **explicit)
    signal = incident.failure_signal or card.failure_signal
    log = _open(card, as_of=when, data=data, con=con)
    report = validate_logs(log, card, windows=resolved, signal=signal, as_of=when)
    return InvestigationContext(
        incident=incident,
        card=card,
        windows=resolved,
        chunk=chunk,
        signal=signal,
        min_cell_size=min_cell_size,
        validation=report.to_dict(),
        fingerprint=(
            data_fingerprint(card, log, report.window_rows, from_files=data is None and con is None)
            if fingerprint
            else {}
        ),
        section_parameters={key: dict(value) for key, value in (section_parameters or {}).items()},
        events=sorted(
            (event for event in events if as_utc(event.at) <= when), key=lambda event: as_utc(event.at)
        ),
    )


def _open(card: DataCard, *, as_of: datetime, data: Any, con: Any) -> LogTable:
    """The decisions of the card's log: a prediction log's rows, an interaction log's model calls."""
    from analysis.data import open_calls, open_logs

    if card.kind == "interaction_log":
        return open_calls(card, as_of=as_of, data=data, con=con)
    return open_logs(card, data=data, con=con)


def _as_of(value: datetime | str | None) -> datetime:
    if value is None:
        return datetime.now(UTC)
    if isinstance(value, str):
        try:
            return as_utc(datetime.fromisoformat(value.strip()))
        except ValueError:
            raise InvalidParameterError(
                f"as_of must be an ISO-8601 time such as 2026-01-31T00:00:00Z. Got {value!r} instead."
            ) from None
    return as_utc(value)


def data_fingerprint(
    card: DataCard, log: LogTable, window_rows: Mapping[str, int], *, from_files: bool = True
) -> dict[str, Any]:
    """Row counts per window and a hash of the input files (or of the query for a database source).

    Parameters
    ----------
    card : DataCard
        The data card (its location names the inputs).
    log : analysis.data.LogTable
        The opened log.
    window_rows : mapping
        Decisions per window, as the log check counted them.
    from_files : bool
        Whether the log was read from the card's location (else the query is hashed).

    Returns
    -------
    dict
        ``source``, ``table``, ``backend``, ``files`` (count), ``bytes``, ``sha256`` (of the files'
        contents in path order, or of the query's SQL), ``hashed`` and ``rows`` per window.
    """
    digest = hashlib.sha256()
    location = card.source.location
    files: list[str] = []
    if not from_files:
        files = []
    elif card.source.format in ("parquet", "csv"):
        pattern = location
        if os.path.isdir(location):
            pattern = os.path.join(location, "**", f"*.{card.source.format}")
        files = sorted(glob.glob(pattern, recursive=True)) if any(c in pattern for c in "*?[") else [pattern]
    elif card.source.format == "duckdb":
        files = [location]
    total_bytes = 0
    if files:
        for path in files:
            digest.update(os.path.relpath(path, os.path.dirname(files[0])).encode())
            with open(path, "rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
                    total_bytes += len(block)
        hashed = "file contents"
    else:
        import ibis

        try:
            sql = str(log.table.compile())
        except Exception:  # an in-memory table has no backend of its own: compile for DuckDB
            sql = str(ibis.to_sql(log.table, dialect="duckdb"))
        digest.update(sql.encode())
        hashed = "query"
    return {
        "source": location,
        "table": card.source.table,
        "backend": log.backend,
        "files": len(files),
        "bytes": total_bytes,
        "sha256": digest.hexdigest(),
        "hashed": hashed,
        "rows": dict(window_rows),
    }
