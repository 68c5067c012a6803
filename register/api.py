"""The Python API of the incident register: typed records in and out, DataFrames for analyses.

Every write runs in one transaction that holds the write lock from its start (SQLite ``BEGIN
IMMEDIATE``; PostgreSQL row locks), so read-modify-write updates are never lost, and appends one
``history`` row per changed field (entity, id, field, old value, new value, when, by whom). A field's
history is an unbroken chain: each old value equals the previous new value. The creation of an entity
is one ``(created)`` history row holding the record as JSON.

Examples
--------
>>> import tempfile, os
>>> from datetime import datetime, UTC
>>> register = open_register(os.path.join(tempfile.mkdtemp(), "r.sqlite"), create=True)
>>> incident = register.add_incident({"title": "Loan model rejects more applicants",
...     "category": "performance_degradation", "severity": "SEV-2",
...     "aware_at": datetime(2026, 3, 2, 9, tzinfo=UTC)}, by="ana")
>>> incident.id
'INC-2026-0001'
>>> str(register.transition(incident.id, "triaged", by="ana").status)
'triaged'
>>> register.update_incident(incident.id, lambda current: {"affected_count": 120}, by="ana").affected_count
120
>>> [(h.field, h.old_value, h.new_value) for h in register.history("incidents", incident.id)][1:]
[('status', 'detected', 'triaged'), ('triaged_at', None, ...), ('affected_count', None, '120')]
>>> register.close()
"""

from __future__ import annotations

import enum
import gc
import json
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
import pandas as pd
import sqlalchemy as sa
from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError
from sqlalchemy.engine import Connection, Engine

from register import _tables as t
from register.errors import ConflictError, NotFoundError, RegisterError, ValidationFailed
from register.lifecycle import check_times, find_transition, time_problems
from register.schema import (
    ActionItem,
    ActionItemKind,
    ActionItemStatus,
    AiSystem,
    Classification,
    DataCard,
    Evidence,
    HistoryEntry,
    Incident,
    IncidentCategory,
    IncidentStatus,
    Notification,
    NotificationAudience,
    PostmortemStatus,
    ReportType,
    Severity,
    TimelineEvent,
    TimelineEventKind,
    as_utc,
    utc_now,
)
from register.store import (
    UTCDateTime,
    current_revision,
    head_revision,
    is_sqlite,
    locked,
    make_engine,
    normalise_url,
    read_transaction,
    upgrade_schema,
    write_transaction,
)

if TYPE_CHECKING:
    from register.io import Bundle

__all__ = ["INCIDENT_TIME_FIELDS", "Register", "open_register"]

R = TypeVar("R", bound=BaseModel)

INCIDENT_TIME_FIELDS: tuple[str, ...] = (
    "occurred_at",
    "aware_at",
    "acknowledged_at",
    "triaged_at",
    "causal_link_at",
    "contained_at",
    "resolved_at",
    "closed_at",
)
"""The time fields of an incident, in lifecycle order."""

CREATED_FIELD = "(created)"
"""``history.field`` of the row recording an entity's creation (``new_value`` is the record as JSON)."""

_ENTITY_TABLES: dict[str, tuple[sa.Table, type[BaseModel]]] = {
    "ai_systems": (t.ai_systems, AiSystem),
    "incidents": (t.incidents, Incident),
    "timeline_events": (t.timeline_events, TimelineEvent),
    "action_items": (t.action_items, ActionItem),
    "notifications": (t.notifications, Notification),
    "evidence": (t.evidence, Evidence),
    "classifications": (t.classifications, Classification),
}

ENTITY_ORDER: tuple[str, ...] = tuple(_ENTITY_TABLES)
"""Entities, parents first (the order of ``register.io.ENTITY_ORDER``)."""

_ENTITY_ALIASES = {
    "ai_system": "ai_systems",
    "system": "ai_systems",
    "incident": "incidents",
    "timeline_event": "timeline_events",
    "event": "timeline_events",
    "action_item": "action_items",
    "notification": "notifications",
    "classification": "classifications",
}

_CHUNK = 500

_NARRATIVE_COLUMNS = frozenset(
    {
        "title",
        "summary",
        "incident_commander",
        "technical_lead",
        "communications_lead",
        "legal_compliance",
        "data_lead",
        "postmortem_facilitator",
        "trigger",
        "root_cause_category",
        "contributing_factors",
        "resolution",
        "lessons_learned",
        "model_versions",
        "failure_signal",
        "affected_groups",
        "updated_at",
        "updated_by",
    }
)
"""Free-text, descriptive and bookkeeping incident columns that derived metrics never read (left out
for speed; ``tests/unit/register/test_api.py`` compares with the metrics of the full frames)."""
_METRICS_UNREAD_COLUMNS = _NARRATIVE_COLUMNS | {"detection_source", "evidence_hold"}
"""Incident columns :func:`register.metrics.incident_metrics` never reads (neither a metric input nor a
policy fact), left out of :meth:`Register.metrics_frame`'s read."""
_SENTINEL_ID = "INC-0000-0000"


# --------------------------------------------------------------------------------------------------
# value conversions
# --------------------------------------------------------------------------------------------------


def _text(value: Any) -> str | None:
    """Return the canonical text of a field value, as stored in ``history``."""
    if value is None:
        return None
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return as_utc(value).isoformat()
    if isinstance(value, BaseModel):
        return json.dumps(value.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    if isinstance(value, list | tuple | dict):
        return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return str(value)


def _to_db(record: BaseModel, table: sa.Table) -> dict[str, Any]:
    json_columns = t.JSON_COLUMNS.get(table.name, ())
    row: dict[str, Any] = {}
    for name in type(record).model_fields:
        value = getattr(record, name)
        if name in json_columns:
            if value is None:
                row[name] = None
            elif isinstance(value, BaseModel):
                row[name] = json.dumps(value.model_dump(mode="json"), sort_keys=True)
            else:
                row[name] = json.dumps(list(value))
        elif isinstance(value, enum.Enum):
            row[name] = value.value
        else:
            row[name] = value
    return row


def _from_db(row: Mapping[str, Any], table: sa.Table, model: type[R]) -> R:
    json_columns = t.JSON_COLUMNS.get(table.name, ())
    data = {}
    for name in model.model_fields:
        value = row[name]
        if name in json_columns and value is not None:
            value = json.loads(value)
        data[name] = value
    return model.model_validate(data)


def _failures_from_pydantic(
    exc: PydanticValidationError, *, file: str | None = None, row: object = None
) -> list[dict[str, object]]:
    return [
        {
            "file": file,
            "row": row,
            "column": ".".join(str(part) for part in error["loc"]) or None,
            "problem": "invalid_value",
            "value": _short(error.get("input")),
            "message": error["msg"],
        }
        for error in exc.errors()
    ]


def _short(value: object) -> object:
    text = value if isinstance(value, str | int | float | bool) or value is None else repr(value)
    if isinstance(text, str) and len(text) > 80:
        return text[:77] + "..."
    return text


def _validate(model: type[R], data: Mapping[str, Any], *, what: str) -> R:
    try:
        return model.model_validate(dict(data))
    except PydanticValidationError as exc:
        failures = _failures_from_pydantic(exc, row=data.get("id"))
        detail = "; ".join(f"{f['column']}: {f['message']}" for f in failures[:5])
        raise ValidationFailed(f"invalid {what}: {detail}.", failures) from exc


def _incident_times(record: Incident) -> dict[str, datetime | None]:
    return {name: getattr(record, name) for name in INCIDENT_TIME_FIELDS}


def _as_list(value: str | Sequence[str] | None) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str | enum.Enum):
        return [str(value)]
    return [str(item) for item in value]


# --------------------------------------------------------------------------------------------------
# the register
# --------------------------------------------------------------------------------------------------


def open_register(location: str | os.PathLike[str], *, create: bool = False) -> Register:
    """Open the register at ``location`` (a SQLite file path or a database URL).

    Parameters
    ----------
    location : str or path
        ``./register.sqlite``, ``sqlite:///abs/path.sqlite`` or ``postgresql+psycopg://user@host/db``.
    create : bool, default False
        Create the register (or upgrade its schema to the newest migration) first.

    Returns
    -------
    Register

    Examples
    --------
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "r.sqlite")
    >>> open_register(path)
    Traceback (most recent call last):
    ...
    register.errors.NotFoundError: no register at ...; create it with `workbench register init` ...
    >>> open_register(path, create=True).revision == head_revision()
    True
    """
    if create:
        upgrade_schema(location)
    return Register(location)


class Register:
    """An open incident register.

    Parameters
    ----------
    location : str or path
        A SQLite file path or a database URL (see :func:`open_register`). The schema must be at the
        newest migration: create or upgrade it with :meth:`init` (``workbench register init``).
    """

    def __init__(self, location: str | os.PathLike[str]) -> None:
        self.url = normalise_url(location)
        url = sa.engine.make_url(self.url)
        database = url.database or ""
        if (
            url.get_backend_name() == "sqlite"
            and database not in ("", ":memory:")
            and not Path(database).exists()
        ):
            raise NotFoundError(
                f"no register at {url.database}; create it with `workbench register init` "
                "(or open_register(path, create=True))."
            )
        self._engine: Engine = make_engine(location)
        try:
            revision = current_revision(self._engine)
        except sa.exc.DBAPIError as exc:
            self._engine.dispose()
            raise RegisterError(f"cannot open the register at {self.display_url}: {exc.orig}") from exc
        head = head_revision()
        if revision != head:
            self._engine.dispose()
            state = "is empty" if revision is None else f"is at schema {revision}, the package needs {head}"
            raise RegisterError(
                f"the register at {self.display_url} {state}; run `workbench register init` to "
                "create or upgrade it (every row is kept)."
            )
        self.revision = revision

    # -- lifecycle of the object ---------------------------------------------------------------------

    @classmethod
    def init(cls, location: str | os.PathLike[str]) -> Register:
        """Create a register, or upgrade an existing one to the newest schema, and open it."""
        return open_register(location, create=True)

    @property
    def display_url(self) -> str:
        """The register's URL without a password."""
        return sa.engine.make_url(self.url).render_as_string(hide_password=True)

    @property
    def dialect(self) -> str:
        """``"sqlite"`` or ``"postgresql"``."""
        return self._engine.dialect.name

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine (for read-only SQL by analyses and benchmarks)."""
        return self._engine

    def close(self) -> None:
        """Release the database connections."""
        self._engine.dispose()

    def __enter__(self) -> Register:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Register({self.display_url!r})"

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        with write_transaction(self._engine) as connection:
            yield connection

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        with read_transaction(self._engine) as connection:
            yield connection

    # -- history ---------------------------------------------------------------------------------------

    @staticmethod
    def _record_created(
        connection: Connection, entity: str, records: Sequence[BaseModel], *, by: str | None, at: datetime
    ) -> None:
        rows = [
            {
                "entity": entity,
                "entity_id": str(record.id),  # type: ignore[attr-defined]
                "field": CREATED_FIELD,
                "old_value": None,
                "new_value": record.model_dump_json(),
                "changed_at": at,
                "changed_by": by,
            }
            for record in records
        ]
        _bulk_insert(connection, t.history, rows)

    @staticmethod
    def _record_changes(
        connection: Connection,
        entity: str,
        old: BaseModel,
        new: BaseModel,
        *,
        by: str | None,
        at: datetime,
    ) -> dict[str, Any]:
        """Append one history row per changed field; return the changed fields (new values)."""
        changed: dict[str, Any] = {}
        rows = []
        for name in type(new).model_fields:
            before, after = _text(getattr(old, name)), _text(getattr(new, name))
            if before == after:
                continue
            changed[name] = getattr(new, name)
            rows.append(
                {
                    "entity": entity,
                    "entity_id": str(new.id),  # type: ignore[attr-defined]
                    "field": name,
                    "old_value": before,
                    "new_value": after,
                    "changed_at": at,
                    "changed_by": by,
                }
            )
        if rows:
            connection.execute(t.history.insert(), rows)
        return changed

    def history(self, entity: str, entity_id: str | int, *, field: str | None = None) -> list[HistoryEntry]:
        """Return the audit trail of one entity, oldest first.

        Parameters
        ----------
        entity : str
            A table name (``"incidents"``, ``"action_items"``...) or its singular.
        entity_id : str or int
            The entity's id.
        field : str, optional
            Only this field's changes.
        """
        name = self._entity_name(entity)
        query = (
            sa.select(t.history)
            .where(t.history.c.entity == name, t.history.c.entity_id == str(entity_id))
            .order_by(t.history.c.id)
        )
        if field is not None:
            query = query.where(t.history.c.field == field)
        with self._read() as connection:
            rows = connection.execute(query).mappings().all()
        return [HistoryEntry.model_validate(dict(row)) for row in rows]

    def history_frame(self, *, entity: str | None = None) -> pd.DataFrame:
        """Return the whole audit trail (or one entity type's) as a DataFrame, oldest first."""
        query = sa.select(t.history).order_by(t.history.c.id)
        if entity is not None:
            query = query.where(t.history.c.entity == self._entity_name(entity))
        return self._frame(t.history, query)

    @staticmethod
    def _entity_name(entity: str) -> str:
        name = _ENTITY_ALIASES.get(entity, entity)
        if name not in _ENTITY_TABLES:
            raise ValidationFailed(
                f"entity must be one of {', '.join(_ENTITY_TABLES)}. Got {entity!r} instead."
            )
        return name

    # -- AI systems ------------------------------------------------------------------------------------

    def add_system(self, system: AiSystem | Mapping[str, Any], *, by: str | None = None) -> AiSystem:
        """Add an AI system (with its data card); its id must be new."""
        record = system if isinstance(system, AiSystem) else _validate(AiSystem, system, what="AI system")
        now = utc_now()
        with self._write() as connection:
            if self._exists(connection, t.ai_systems, record.id):
                raise ValidationFailed(
                    f"AI system {record.id!r} is already in the register; update it instead.",
                    [{"column": "id", "problem": "id already in the register", "value": record.id}],
                )
            connection.execute(t.ai_systems.insert(), [_to_db(record, t.ai_systems)])
            self._record_created(connection, "ai_systems", [record], by=by, at=now)
        return record

    def get_system(self, system_id: str) -> AiSystem:
        """Return an AI system, or raise :class:`NotFoundError`."""
        with self._read() as connection:
            return self._load(connection, "ai_systems", system_id)  # type: ignore[return-value]

    def list_systems(self) -> list[AiSystem]:
        """Return every AI system, by id."""
        with self._read() as connection:
            rows = connection.execute(sa.select(t.ai_systems).order_by(t.ai_systems.c.id)).mappings()
            return [_from_db(row, t.ai_systems, AiSystem) for row in rows]

    def update_system(
        self,
        system_id: str,
        changes: Mapping[str, Any] | Callable[[AiSystem], Mapping[str, Any]],
        *,
        by: str | None = None,
    ) -> AiSystem:
        """Change fields of an AI system (not its id); each changed field goes to the history."""
        now = utc_now()
        with self._write() as connection:
            current = self._load(connection, "ai_systems", system_id, lock=True)
            wanted = dict(changes(current) if callable(changes) else changes)  # type: ignore[arg-type]
            self._refuse_fields(wanted, ("id",), "an AI system's id cannot change")
            new = _validate(AiSystem, {**current.model_dump(), **wanted}, what="AI system")
            changed = self._record_changes(connection, "ai_systems", current, new, by=by, at=now)
            if changed:
                values = {k: v for k, v in _to_db(new, t.ai_systems).items() if k in changed}
                connection.execute(
                    sa.update(t.ai_systems).where(t.ai_systems.c.id == system_id).values(**values)
                )
        return new

    def get_data_card(self, system_id: str) -> DataCard:
        """Return the data card of an AI system (where its prediction logs are and what they mean)."""
        system = self.get_system(system_id)
        if system.data_card is None:
            raise NotFoundError(
                f"AI system {system_id!r} has no data card; add one with Register.update_system("
                f"{system_id!r}, {{'data_card': ...}}) or import it in a bundle."
            )
        return system.data_card

    # -- incidents -------------------------------------------------------------------------------------

    def add_incident(self, incident: Incident | Mapping[str, Any], *, by: str | None = None) -> Incident:
        """Add an incident; without an ``id`` one is allocated (``INC-<year of aware_at>-NNNN``).

        The id is allocated inside the write transaction, so concurrent writers never get the same one;
        numbers have at least four digits and grow past 9999.

        Examples
        --------
        >>> import tempfile, os
        >>> reg = open_register(os.path.join(tempfile.mkdtemp(), "r.sqlite"), create=True)
        >>> reg.add_incident({"title": "Chatbot leaks e-mail addresses", "category": "data_exposure_privacy",
        ...                   "severity": "SEV-1", "aware_at": "2026-05-04T10:00:00+02:00"}).aware_at
        datetime.datetime(2026, 5, 4, 8, 0, tzinfo=datetime.timezone.utc)
        >>> reg.add_incident({"title": "x", "category": "safety", "severity": "SEV-9",
        ...                   "aware_at": "2026-05-04T10:00:00Z"})
        Traceback (most recent call last):
        ...
        register.errors.ValidationFailed: invalid incident: severity: Input should be ...
        """
        data = incident.model_dump() if isinstance(incident, Incident) else dict(incident)
        allocate = not data.get("id")
        if allocate:
            data["id"] = _SENTINEL_ID
        record = _validate(Incident, data, what="incident")
        check_times(_incident_times(record), incident_id=None if allocate else record.id)
        now = utc_now()
        with self._write() as connection:
            if record.system_id is not None:
                self._require_system(connection, record.system_id)
            if allocate:
                number = self._next_number(connection, f"incident:{record.aware_at.year:04d}")
                record = record.model_copy(update={"id": f"INC-{record.aware_at.year:04d}-{number:04d}"})
            elif self._exists(connection, t.incidents, record.id):
                raise ValidationFailed(
                    f"incident {record.id} is already in the register; update it instead.",
                    [{"column": "id", "problem": "id already in the register", "value": record.id}],
                )
            else:
                self._raise_counter_to(connection, [record.id])
            row = _to_db(record, t.incidents) | {"updated_at": now, "updated_by": by}
            connection.execute(t.incidents.insert(), [row])
            self._record_created(connection, "incidents", [record], by=by, at=now)
        return record

    def get_incident(self, incident_id: str) -> Incident:
        """Return an incident, or raise :class:`NotFoundError`."""
        with self._read() as connection:
            return self._load(connection, "incidents", incident_id)  # type: ignore[return-value]

    def update_incident(
        self,
        incident_id: str,
        changes: Mapping[str, Any] | Callable[[Incident], Mapping[str, Any]],
        *,
        by: str | None = None,
        expected: Mapping[str, Any] | None = None,
    ) -> Incident:
        """Change fields of an incident in one locked transaction; return the new record.

        Parameters
        ----------
        incident_id : str
            The incident.
        changes : mapping or callable
            New field values, or a function of the current (locked) record returning them -- a safe
            read-modify-write: ``update_incident(id, lambda i: {"affected_count": i.affected_count + 1})``.
        by : str, optional
            Who made the change (recorded in the history).
        expected : mapping, optional
            Field values the caller last saw; when the register holds something else, raise
            :class:`ConflictError` and change nothing (optimistic check for interactive edits).

        Notes
        -----
        The status moves only through :meth:`transition`; the id never changes. Times are checked for
        consistency (e.g. contained before became aware is refused).
        """
        now = utc_now()
        with self._write() as connection:
            current: Incident = self._load(connection, "incidents", incident_id, lock=True)  # type: ignore[assignment]
            if expected:
                stale = {
                    name: _text(getattr(current, name, None))
                    for name, value in expected.items()
                    if _text(getattr(current, name, None)) != _text(value)
                }
                if stale:
                    raise ConflictError(
                        f"incident {incident_id} changed since you read it ({', '.join(stale)} now "
                        f"{', '.join(str(v) for v in stale.values())}); reload it and try again."
                    )
            wanted = dict(changes(current) if callable(changes) else changes)
            self._refuse_fields(wanted, ("id",), "an incident's id cannot change")
            self._refuse_fields(
                wanted,
                ("status",),
                "the status changes only through transition() (`workbench register "
                "transition`), which stamps its time and checks the lifecycle",
            )
            new = _validate(Incident, {**current.model_dump(), **wanted}, what="incident")
            check_times(_incident_times(new), incident_id=incident_id)
            if new.system_id is not None and new.system_id != current.system_id:
                self._require_system(connection, new.system_id)
            self._apply(connection, current, new, by=by, at=now)
        return new

    def _apply(
        self, connection: Connection, current: Incident, new: Incident, *, by: str | None, at: datetime
    ) -> None:
        changed = self._record_changes(connection, "incidents", current, new, by=by, at=at)
        if changed:
            values = {k: v for k, v in _to_db(new, t.incidents).items() if k in changed}
            connection.execute(
                sa.update(t.incidents)
                .where(t.incidents.c.id == current.id)
                .values(**values, updated_at=at, updated_by=by)
            )

    def transition(
        self,
        incident_id: str,
        to: IncidentStatus | str,
        *,
        at: datetime | None = None,
        reason: str | None = None,
        by: str | None = None,
    ) -> Incident:
        """Move an incident along the lifecycle (see :mod:`register.lifecycle`); return the new record.

        Parameters
        ----------
        incident_id : str
            The incident.
        to : IncidentStatus or str
            The wanted status; invalid moves raise :class:`InvalidTransition` naming the allowed ones.
        at : datetime, optional
            When it happened (default: now). Stamps ``triaged_at``, ``contained_at``, ``resolved_at``
            (on ``recovered``) or ``closed_at``; without ``at`` a time already recorded is kept.
        reason : str, optional
            Required to reopen a closed incident; recorded as a timeline note (and so in the history).
        by : str, optional
            Who made the move.

        Examples
        --------
        >>> import tempfile, os
        >>> reg = open_register(os.path.join(tempfile.mkdtemp(), "r.sqlite"), create=True)
        >>> incident = reg.add_incident({"title": "Drift", "category": "performance_degradation",
        ...                              "severity": "SEV-3", "aware_at": "2026-05-04T10:00:00Z"})
        >>> when = datetime.fromisoformat("2026-05-04T10:30:00+00:00")
        >>> reg.transition(incident.id, "triaged", at=when).triaged_at
        datetime.datetime(2026, 5, 4, 10, 30, tzinfo=datetime.timezone.utc)
        >>> reg.transition(incident.id, "recovered")
        Traceback (most recent call last):
        ...
        register.errors.InvalidTransition: cannot move an incident from 'triaged' to 'recovered'. Allowed ...
        """
        now = utc_now()
        when = as_utc(at) if at is not None else now
        with self._write() as connection:
            current: Incident = self._load(connection, "incidents", incident_id, lock=True)  # type: ignore[assignment]
            move = find_transition(current.status, to, kind=current.kind)
            if move.needs_reason and not (reason and reason.strip()):
                raise ValidationFailed(
                    f"to {move.name} {incident_id} ({current.status} -> {move.target}) a reason is required. "
                    "Got none; say why (e.g. --reason 'the fix did not hold')."
                )
            update: dict[str, Any] = {"status": move.target}
            for name in move.clears:
                update[name] = None
            if move.stamp is not None and (at is not None or getattr(current, move.stamp) is None):
                update[move.stamp] = when
            new = _validate(Incident, {**current.model_dump(), **update}, what="incident")
            check_times(_incident_times(new), incident_id=incident_id)
            self._apply(connection, current, new, by=by, at=now)
            if move.needs_reason:
                note = TimelineEvent(
                    incident_id=incident_id,
                    at=when,
                    kind=TimelineEventKind.NOTE,
                    description=f"{move.name.capitalize()} ({current.status} -> {move.target}): {reason}",
                )
                self._insert_timeline_events(connection, [note], by=by, at=now)
        return new

    def list_incidents(
        self,
        *,
        system: str | Sequence[str] | None = None,
        severity: str | Sequence[str] | None = None,
        status: str | Sequence[str] | None = None,
        category: str | Sequence[str] | None = None,
        kind: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        open_only: bool = False,
        limit: int | None = None,
    ) -> list[Incident]:
        """Return incidents matching every filter given, by became-aware time then id.

        ``since``/``until`` select incidents whose ``aware_at`` lies in ``[since, until)``; ``open_only``
        leaves out closed ones. A filter may be one value or a list of values.
        """
        query = self._incident_query(
            system=system,
            severity=severity,
            status=status,
            category=category,
            kind=kind,
            since=since,
            until=until,
            open_only=open_only,
        )
        if limit is not None:
            query = query.limit(limit)
        with self._read() as connection:
            rows = connection.execute(query).mappings()
            return [_from_db(row, t.incidents, Incident) for row in rows]

    def _incident_query(
        self,
        *,
        system: str | Sequence[str] | None = None,
        severity: str | Sequence[str] | None = None,
        status: str | Sequence[str] | None = None,
        category: str | Sequence[str] | None = None,
        kind: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        open_only: bool = False,
        incident_ids: Sequence[str] | None = None,
    ) -> sa.Select[Any]:
        c = t.incidents.c
        query = sa.select(t.incidents).order_by(c.aware_at, c.id)
        for column, value in (
            (c.system_id, system),
            (c.severity, severity),
            (c.status, status),
            (c.category, category),
            (c.kind, kind),
            (c.id, incident_ids),
        ):
            values = _as_list(value)  # type: ignore[arg-type]
            if values is not None:
                query = query.where(column.in_(values))
        if since is not None:
            query = query.where(c.aware_at >= as_utc(since))
        if until is not None:
            query = query.where(c.aware_at < as_utc(until))
        if open_only:
            query = query.where(c.status != IncidentStatus.CLOSED.value)
        return query

    # -- children --------------------------------------------------------------------------------------

    def add_timeline_event(
        self, event: TimelineEvent | Mapping[str, Any], *, by: str | None = None
    ) -> TimelineEvent:
        """Add a dated event to an incident's timeline; return it with its id."""
        record = event if isinstance(event, TimelineEvent) else _validate(TimelineEvent, event, what="event")
        now = utc_now()
        with self._write() as connection:
            self._load(connection, "incidents", record.incident_id, lock=True)
            return self._insert_timeline_events(connection, [record], by=by, at=now)[0]

    def _insert_timeline_events(
        self, connection: Connection, events: Sequence[TimelineEvent], *, by: str | None, at: datetime
    ) -> list[TimelineEvent]:
        saved = []
        for event in events:
            row = _to_db(event, t.timeline_events)
            if row["id"] is None:
                del row["id"]
            new_id = connection.execute(
                t.timeline_events.insert().returning(t.timeline_events.c.id), [row]
            ).scalar_one()
            saved.append(event.model_copy(update={"id": new_id}))
        self._record_created(connection, "timeline_events", saved, by=by, at=at)
        return saved

    def timeline(self, incident_id: str) -> list[TimelineEvent]:
        """Return an incident's timeline, in time order."""
        return self._children(t.timeline_events, TimelineEvent, incident_id, order=("at", "id"))

    def add_action_item(self, item: ActionItem | Mapping[str, Any], *, by: str | None = None) -> ActionItem:
        """Add an action item; without an id it gets ``<incident id>-A<n>``."""
        record = item if isinstance(item, ActionItem) else _validate(ActionItem, item, what="action item")
        record = self._stamp_completion(None, record)
        return self._add_child("action_items", record, prefix="A", by=by)  # type: ignore[return-value]

    def update_action_item(
        self,
        item_id: str,
        changes: Mapping[str, Any] | Callable[[ActionItem], Mapping[str, Any]],
        *,
        by: str | None = None,
    ) -> ActionItem:
        """Change an action item (status, owner, due date...); ``done`` stamps ``completed_at`` if empty."""
        return self._update_child("action_items", item_id, changes, by=by)  # type: ignore[return-value]

    def get_action_item(self, item_id: str) -> ActionItem:
        """Return one action item, or raise :class:`NotFoundError`."""
        with self._read() as connection:
            return self._load(connection, "action_items", item_id)  # type: ignore[return-value]

    def get_notification(self, notification_id: str) -> Notification:
        """Return one notification, or raise :class:`NotFoundError`."""
        with self._read() as connection:
            return self._load(connection, "notifications", notification_id)  # type: ignore[return-value]

    def action_items(self, incident_id: str) -> list[ActionItem]:
        """Return an incident's action items, by due date (undated last) then id."""
        return self._children(t.action_items, ActionItem, incident_id, order=("due_at", "id"))

    def add_notification(
        self, notification: Notification | Mapping[str, Any], *, by: str | None = None
    ) -> Notification:
        """Record a notification owed or made; without an id it gets ``<incident id>-N<n>``."""
        record = (
            notification
            if isinstance(notification, Notification)
            else _validate(Notification, notification, what="notification")
        )
        return self._add_child("notifications", record, prefix="N", by=by)  # type: ignore[return-value]

    def update_notification(
        self,
        notification_id: str,
        changes: Mapping[str, Any] | Callable[[Notification], Mapping[str, Any]],
        *,
        by: str | None = None,
    ) -> Notification:
        """Change a notification (e.g. set ``sent_at`` and ``reference`` once sent)."""
        return self._update_child("notifications", notification_id, changes, by=by)  # type: ignore[return-value]

    def notifications(self, incident_id: str) -> list[Notification]:
        """Return an incident's notifications, by due date then id."""
        return self._children(t.notifications, Notification, incident_id, order=("due_at", "id"))

    def add_evidence(self, evidence: Evidence | Mapping[str, Any], *, by: str | None = None) -> Evidence:
        """Record an artefact kept as evidence (an executed notebook, a report, a data fingerprint)."""
        record = (
            evidence if isinstance(evidence, Evidence) else _validate(Evidence, evidence, what="evidence")
        )
        return self._add_child("evidence", record, prefix=None, by=by)  # type: ignore[return-value]

    def evidence(self, incident_id: str) -> list[Evidence]:
        """Return an incident's evidence, by capture time."""
        return self._children(t.evidence, Evidence, incident_id, order=("captured_at", "id"))

    def add_classification(
        self, classification: Classification | Mapping[str, Any], *, by: str | None = None
    ) -> Classification:
        """Label an incident in a taxonomy (namespace, attribute, value), e.g. CSET or MIT."""
        record = (
            classification
            if isinstance(classification, Classification)
            else _validate(Classification, classification, what="classification")
        )
        return self._add_child("classifications", record, prefix=None, by=by)  # type: ignore[return-value]

    def classifications(self, incident_id: str) -> list[Classification]:
        """Return an incident's taxonomy labels."""
        return self._children(t.classifications, Classification, incident_id, order=("namespace", "id"))

    def _add_child(self, entity: str, record: BaseModel, *, prefix: str | None, by: str | None) -> BaseModel:
        table, _ = _ENTITY_TABLES[entity]
        now = utc_now()
        incident_id = record.incident_id  # type: ignore[attr-defined]
        with self._write() as connection:
            self._load(connection, "incidents", incident_id, lock=True)
            row = _to_db(record, table)
            if prefix is not None:
                if row["id"] is None:
                    row["id"] = self._next_child_id(connection, table, incident_id, prefix)
                elif self._exists(connection, table, row["id"]):
                    raise ValidationFailed(
                        f"{entity} id {row['id']!r} is already in the register.",
                        [{"column": "id", "problem": "id already in the register", "value": row["id"]}],
                    )
                connection.execute(table.insert(), [row])
                saved = record.model_copy(update={"id": row["id"]})
            else:
                if row["id"] is None:
                    del row["id"]
                new_id = connection.execute(table.insert().returning(table.c.id), [row]).scalar_one()
                saved = record.model_copy(update={"id": new_id})
            self._record_created(connection, entity, [saved], by=by, at=now)
        return saved

    @staticmethod
    def _next_child_id(connection: Connection, table: sa.Table, incident_id: str, prefix: str) -> str:
        count = connection.execute(
            sa.select(sa.func.count()).select_from(table).where(table.c.incident_id == incident_id)
        ).scalar_one()
        number = int(count) + 1
        while True:
            candidate = f"{incident_id}-{prefix}{number}"
            if not Register._exists(connection, table, candidate):
                return candidate
            number += 1

    @staticmethod
    def _stamp_completion(current: ActionItem | None, new: ActionItem) -> ActionItem:
        finished = new.status in (ActionItemStatus.DONE, ActionItemStatus.WONT_DO)
        was_finished = current is not None and current.status in (
            ActionItemStatus.DONE,
            ActionItemStatus.WONT_DO,
        )
        if finished and not was_finished and new.completed_at is None:
            return new.model_copy(update={"completed_at": utc_now()})
        return new

    def _update_child(
        self,
        entity: str,
        item_id: str,
        changes: Mapping[str, Any] | Callable[[Any], Mapping[str, Any]],
        *,
        by: str | None,
    ) -> BaseModel:
        table, model = _ENTITY_TABLES[entity]
        now = utc_now()
        with self._write() as connection:
            current = self._load(connection, entity, item_id, lock=True)
            wanted = dict(changes(current) if callable(changes) else changes)
            self._refuse_fields(
                wanted, ("id", "incident_id"), f"an {entity[:-1].replace('_', ' ')} keeps its ids"
            )
            new = _validate(model, {**current.model_dump(), **wanted}, what=entity[:-1].replace("_", " "))
            if isinstance(new, ActionItem):
                new = self._stamp_completion(current, new)  # type: ignore[arg-type]
            changed = self._record_changes(connection, entity, current, new, by=by, at=now)
            if changed:
                values = {k: v for k, v in _to_db(new, table).items() if k in changed}
                connection.execute(sa.update(table).where(table.c.id == item_id).values(**values))
        return new

    def _children(
        self, table: sa.Table, model: type[R], incident_id: str, *, order: tuple[str, ...]
    ) -> list[R]:
        with self._read() as connection:
            self._load(connection, "incidents", incident_id)
            query = sa.select(table).where(table.c.incident_id == incident_id)
            query = query.order_by(*(table.c[name].asc().nulls_last() for name in order))
            return [_from_db(row, table, model) for row in connection.execute(query).mappings()]

    # -- helpers ---------------------------------------------------------------------------------------

    @staticmethod
    def _refuse_fields(changes: Mapping[str, Any], names: Iterable[str], why: str) -> None:
        for name in names:
            if name in changes:
                raise ValidationFailed(f"{why}. Got a change of {name!r}; leave it out.")

    @staticmethod
    def _exists(connection: Connection, table: sa.Table, key: object) -> bool:
        query = sa.select(table.c.id).where(table.c.id == key)
        return connection.execute(query).first() is not None

    def _require_system(self, connection: Connection, system_id: str) -> None:
        if not self._exists(connection, t.ai_systems, system_id):
            raise NotFoundError(
                f"no AI system {system_id!r}; add it first (Register.add_system, or in an import bundle)."
            )

    def _load(self, connection: Connection, entity: str, key: object, *, lock: bool = False) -> BaseModel:
        table, model = _ENTITY_TABLES[entity]
        query = sa.select(table).where(table.c.id == key)
        if lock:
            query = locked(query, connection)
        row = connection.execute(query).mappings().first()
        if row is None:
            raise NotFoundError(self._not_found_message(entity, key))
        return _from_db(row, table, model)

    @staticmethod
    def _not_found_message(entity: str, key: object) -> str:
        if entity == "incidents":
            return f"no incident {key}; `workbench register list` shows the ids."
        if entity == "ai_systems":
            return f"no AI system {key!r}; Register.list_systems() shows the ids."
        readable = entity[:-1].replace("_", " ") if entity.endswith("s") else entity
        return f"no {readable} {key!r}; `workbench register show <incident id>` lists an incident's {entity}."

    @staticmethod
    def _upsert(connection: Connection) -> Any:
        if is_sqlite(connection):
            from sqlalchemy.dialects.sqlite import insert
        else:
            from sqlalchemy.dialects.postgresql import insert
        return insert

    def _next_number(self, connection: Connection, scope: str) -> int:
        insert = self._upsert(connection)
        statement = (
            insert(t.id_counters)
            .values(scope=scope, last_value=1)
            .on_conflict_do_update(
                index_elements=["scope"], set_={"last_value": t.id_counters.c.last_value + 1}
            )
            .returning(t.id_counters.c.last_value)
        )
        return int(connection.execute(statement).scalar_one())

    def _raise_counter_to(self, connection: Connection, incident_ids: Iterable[str]) -> None:
        """Make sure allocated ids never collide with ids that were given explicitly."""
        highest: dict[str, int] = {}
        for incident_id in incident_ids:
            _, year, number = incident_id.split("-", 2)
            scope = f"incident:{year}"
            highest[scope] = max(highest.get(scope, 0), int(number))
        insert = self._upsert(connection)
        for scope, number in sorted(highest.items()):
            column = t.id_counters.c.last_value
            statement = (
                insert(t.id_counters)
                .values(scope=scope, last_value=number)
                .on_conflict_do_update(
                    index_elements=["scope"],
                    set_={"last_value": sa.case((column < number, number), else_=column)},
                )
            )
            connection.execute(statement)

    def seed_incident_counter(self, year: int, last_value: int) -> None:
        """Set the last incident number allocated for ``year`` (for migrations from another tool)."""
        with self._write() as connection:
            self._raise_counter_to(connection, [f"INC-{year:04d}-{last_value:04d}"])

    # -- DataFrames ------------------------------------------------------------------------------------

    def _frame(
        self,
        table: sa.Table,
        query: sa.Select[Any],
        *,
        columns: Sequence[str] | None = None,
        text_order: Sequence[str] = (),
        with_id: bool = True,
    ) -> pd.DataFrame:
        # Fetch the raw DBAPI values (no per-value conversion by SQLAlchemy), then convert whole columns.
        # `text_order`: the columns `query` is ordered by (all text, ascending); on SQLite the rows are
        # fetched unordered and sorted here (a temporary B-tree in SQLite costs more than the fetch).
        selected = list(query.selected_columns)
        if columns is not None:
            unknown = sorted(set(columns) - set(table.c.keys()))
            if unknown:
                raise ValidationFailed(
                    f"columns must be columns of {table.name} ({', '.join(table.c.keys())}). "
                    f"Got {unknown} instead."
                )
            wanted = ["id", *(name for name in columns if name != "id")] if with_id else list(columns)
            selected = [table.c[name] for name in wanted]
        names = [column.name for column in selected]
        # Many small objects are created at once: the cyclic garbage collector would rescan them
        # over and over (a third of the time at 100k incidents), and they hold no cycles.
        with _collector_paused(), self._read() as connection:
            if not _FAST_READS:
                rows = _fetch_rows(connection, query, selected)
                return pd.DataFrame(_reference_columns(table, names, rows), columns=names)
            # on SQLite, vocabulary columns come back as small integer codes (cached int objects)
            coded = {
                name: _VOCABULARIES[table.name, name]
                for name in names
                if is_sqlite(connection) and (table.name, name) in _VOCABULARIES
            }
            block = None
            if text_order and is_sqlite(connection):
                block = _rows_in_text_order(connection, table, query, selected, text_order, coded)
            if block is None:
                rows = _fetch_rows(connection, query, selected, coded)
                block = _as_block(rows, len(selected))
            if block is not None:
                data = _columns_fast(table, names, block, coded)
            else:  # no rows, or values numpy cannot hold in a 2-D array: the reference conversion
                data = _reference_columns(table, names, _decoded_rows(rows, names, coded))
            rows = block = None
        return pd.DataFrame(data, columns=names)

    def incidents_frame(
        self,
        *,
        system: str | Sequence[str] | None = None,
        severity: str | Sequence[str] | None = None,
        status: str | Sequence[str] | None = None,
        category: str | Sequence[str] | None = None,
        kind: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        open_only: bool = False,
        incident_ids: Sequence[str] | None = None,
        columns: Sequence[str] | None = None,
    ) -> pd.DataFrame:
        """Return incidents as a DataFrame (one row each, the same filters as :meth:`list_incidents`).

        Times are ``datetime64[us, UTC]``; lists (tags, affected groups...) are Python lists; booleans
        are the nullable ``boolean`` dtype; ``affected_count`` is ``Int64``. ``columns`` limits the
        columns read (``id`` always comes first): reading less is faster.

        Examples
        --------
        >>> import tempfile, os
        >>> reg = open_register(os.path.join(tempfile.mkdtemp(), "r.sqlite"), create=True)
        >>> _ = reg.add_incident({"title": "Drift", "category": "performance_degradation",
        ...                       "severity": "SEV-3", "aware_at": "2026-05-04T10:00:00+02:00"})
        >>> frame = reg.incidents_frame(columns=["severity", "aware_at"])
        >>> frame.columns.tolist(), str(frame["aware_at"].dtype), str(frame.loc[0, "aware_at"])
        (['id', 'severity', 'aware_at'], 'datetime64[us, UTC]', '2026-05-04 08:00:00+00:00')
        """
        query = self._incident_query(
            system=system,
            severity=severity,
            status=status,
            category=category,
            kind=kind,
            since=since,
            until=until,
            open_only=open_only,
            incident_ids=incident_ids,
        )
        return self._frame(t.incidents, query, columns=columns, text_order=("aware_at", "id"))

    def timeline_frame(
        self, incident_id: str | None = None, *, columns: Sequence[str] | None = None
    ) -> pd.DataFrame:
        """Return timeline events (of one incident, or all) as a DataFrame, by incident then time."""
        return self._child_frame(
            t.timeline_events, incident_id, order=("incident_id", "at", "id"), columns=columns
        )

    def action_items_frame(
        self, incident_id: str | None = None, *, columns: Sequence[str] | None = None
    ) -> pd.DataFrame:
        """Return action items (of one incident, or all) as a DataFrame."""
        return self._child_frame(t.action_items, incident_id, order=("incident_id", "id"), columns=columns)

    def notifications_frame(
        self, incident_id: str | None = None, *, columns: Sequence[str] | None = None
    ) -> pd.DataFrame:
        """Return notifications (of one incident, or all) as a DataFrame."""
        return self._child_frame(t.notifications, incident_id, order=("incident_id", "id"), columns=columns)

    def evidence_frame(self, incident_id: str | None = None) -> pd.DataFrame:
        """Return evidence records (of one incident, or all) as a DataFrame."""
        return self._child_frame(t.evidence, incident_id, order=("incident_id", "id"))

    def classifications_frame(self, incident_id: str | None = None) -> pd.DataFrame:
        """Return taxonomy labels (of one incident, or all) as a DataFrame."""
        return self._child_frame(t.classifications, incident_id, order=("incident_id", "id"))

    def systems_frame(self) -> pd.DataFrame:
        """Return the AI systems as a DataFrame (the data card as parsed JSON)."""
        return self._frame(t.ai_systems, sa.select(t.ai_systems).order_by(t.ai_systems.c.id))

    def metrics_frame(
        self,
        *,
        as_of: datetime | None = None,
        policy: Any = None,
        incident_ids: Sequence[str] | None = None,
        **filters: Any,
    ) -> pd.DataFrame:
        """Return the derived metrics of incidents (:func:`register.metrics.incident_metrics`).

        Parameters
        ----------
        as_of : datetime, optional
            When the clocks are judged (default: now).
        policy : register.policy.Policy, optional
            Default: the shipped policy.
        incident_ids : sequence of str, optional
            Only these incidents.
        **filters
            The filters of :meth:`incidents_frame` (system, severity, status, ...).
        """
        from register.metrics import incident_metrics

        with _collector_paused():  # many small objects, no cycles: see _frame
            columns = [c.name for c in t.incidents.columns if c.name not in _METRICS_UNREAD_COLUMNS]
            incidents = self.incidents_frame(incident_ids=incident_ids, columns=columns, **filters)
            when = as_utc(as_of) if as_of is not None else utc_now()
            return incident_metrics(
                incidents,
                policy=policy if policy is not None else _shipped_policy(),
                as_of=when,
                notifications=self.notifications_frame(
                    incident_ids[0] if incident_ids is not None and len(incident_ids) == 1 else None
                ),
                action_items=self._open_action_items(when, incident_ids),
                systems=self.systems_frame(),
            )

    def _open_action_items(self, when: datetime, incident_ids: Sequence[str] | None) -> pd.DataFrame:
        # Only action items that can be open at `when` change the counts (open or in progress, or done
        # after `when`); reading only those, and only the columns the counts use, is much faster.
        # Tests compare with the metrics of the full frames.
        one = incident_ids[0] if incident_ids is not None and len(incident_ids) == 1 else None
        c = t.action_items.c
        query = sa.select(t.action_items).where(
            sa.or_(
                c.status.in_([ActionItemStatus.OPEN.value, ActionItemStatus.IN_PROGRESS.value]),
                sa.and_(c.status == ActionItemStatus.DONE.value, c.completed_at > when),
            )
        )
        if one is not None:
            query = query.where(c.incident_id == one)
        return self._frame(
            t.action_items, query, columns=("incident_id", "status", "due_at", "completed_at"), with_id=False
        )

    def _child_frame(
        self,
        table: sa.Table,
        incident_id: str | None,
        *,
        order: tuple[str, ...],
        columns: Sequence[str] | None = None,
    ) -> pd.DataFrame:
        # sorted in pandas: SQLite would sort a million rows in a temporary B-tree, several times slower
        query = sa.select(table)
        if incident_id is not None:
            query = query.where(table.c.incident_id == incident_id)
        frame = self._frame(table, query, columns=sorted(set(columns) | set(order)) if columns else None)
        frame = frame.sort_values(list(order), kind="stable", na_position="last", ignore_index=True)
        if columns is not None:
            frame = frame[["id", *(name for name in columns if name != "id")]]
        return frame

    # -- bundles ---------------------------------------------------------------------------------------

    def import_bundle(self, bundle: Bundle, *, by: str | None, dry_run: bool = False) -> dict[str, int]:
        """Write a whole bundle in ONE transaction: everything or nothing.

        Every problem is collected first; if there is any, :class:`ValidationFailed` is raised with one
        row per problem ``{file, row, column, problem, value, message}`` and nothing is written.
        ``file`` is the entity (``incidents``...), ``row`` the 1-based position of the record in that
        entity's list, ``problem`` a stable code (the codes of :mod:`register.io`): ``duplicate_id``
        (twice in the bundle), ``id_in_register`` (already in the register), ``unknown_reference`` (an
        incident of an unknown AI system, a child of an unknown incident), ``inconsistent_times``.

        Parameters
        ----------
        bundle : register.io.Bundle
            The validated records.
        by : str or None
            Who imports (recorded in the history).
        dry_run : bool, default False
            Check everything, including the database constraints, then roll back.

        Returns
        -------
        dict
            Records written per entity.

        Examples
        --------
        >>> import tempfile, os
        >>> from register.io import Bundle
        >>> from register.schema import TimelineEvent
        >>> reg = open_register(os.path.join(tempfile.mkdtemp(), "r.sqlite"), create=True)
        >>> bundle = Bundle(timeline_events=[TimelineEvent(incident_id="INC-2026-0404", kind="note",
        ...                                                at="2026-05-04T10:00:00Z", description="x")])
        >>> try:
        ...     reg.import_bundle(bundle, by="ana")
        ... except ValidationFailed as exc:
        ...     print(exc.failures[0]["file"], exc.failures[0]["problem"], exc.failures[0]["value"])
        timeline_events unknown_reference INC-2026-0404
        """
        now = utc_now()
        counts = bundle.counts()
        try:
            with self._write() as connection:
                failures = self._bundle_problems(connection, bundle)
                if failures:
                    raise ValidationFailed(
                        f"the bundle has {len(failures)} problem(s); nothing was written.", failures
                    )
                try:
                    self._write_bundle(connection, bundle, by=by, at=now)
                except sa.exc.IntegrityError as exc:
                    raise ValidationFailed(
                        f"the database refused the bundle ({exc.orig}); nothing was written."
                    ) from exc
                if dry_run:
                    raise _DryRunDone
        except _DryRunDone:
            pass
        return counts

    def _bundle_problems(self, connection: Connection, bundle: Bundle) -> list[dict[str, object]]:
        """Collect every problem of a bundle against itself and the register (codes as register.io)."""
        failures: list[dict[str, object]] = []

        def fail(file: str, row: int, column: str, problem: str, value: object, message: str) -> None:
            failures.append(
                {
                    "file": file,
                    "row": row,
                    "column": column,
                    "problem": problem,
                    "value": value,
                    "message": message,
                }
            )

        known_ids: dict[str, set[object]] = {}
        for entity in ENTITY_ORDER:
            table, _ = _ENTITY_TABLES[entity]
            records = getattr(bundle, entity)
            given = [record.id for record in records if record.id is not None]
            existing = self._existing_ids(connection, table, given)
            seen: set[object] = set()
            for position, record in enumerate(records, start=1):
                if record.id is None:
                    continue
                if record.id in seen:
                    fail(
                        entity,
                        position,
                        "id",
                        "duplicate_id",
                        record.id,
                        "the id appears twice in the bundle",
                    )
                elif record.id in existing:
                    fail(
                        entity,
                        position,
                        "id",
                        "id_in_register",
                        record.id,
                        "the register already holds this id; update it instead of importing it",
                    )
                seen.add(record.id)
            known_ids[entity] = seen

        bundle_systems = known_ids["ai_systems"]
        wanted_systems = {i.system_id for i in bundle.incidents if i.system_id is not None} - bundle_systems
        known_systems = bundle_systems | self._existing_ids(connection, t.ai_systems, sorted(wanted_systems))
        for position, incident in enumerate(bundle.incidents, start=1):
            if incident.system_id is not None and incident.system_id not in known_systems:
                fail(
                    "incidents",
                    position,
                    "system_id",
                    "unknown_reference",
                    incident.system_id,
                    "no such AI system in the bundle or the register",
                )
            for problem in time_problems(_incident_times(incident)):
                fail(
                    "incidents",
                    position,
                    str(problem["column"]),
                    "inconsistent_times",
                    problem["value"],
                    str(problem["problem"]),
                )

        bundle_incidents = known_ids["incidents"]
        parents = {
            record.incident_id for entity in ENTITY_ORDER[2:] for record in getattr(bundle, entity)
        } - bundle_incidents
        known_incidents = bundle_incidents | self._existing_ids(connection, t.incidents, sorted(parents))
        for entity in ENTITY_ORDER[2:]:
            for position, record in enumerate(getattr(bundle, entity), start=1):
                if record.incident_id not in known_incidents:
                    fail(
                        entity,
                        position,
                        "incident_id",
                        "unknown_reference",
                        record.incident_id,
                        "no such incident in the bundle or the register",
                    )
        return failures

    @staticmethod
    def _existing_ids(connection: Connection, table: sa.Table, ids: Sequence[object]) -> set[object]:
        found: set[object] = set()
        unique = list(dict.fromkeys(ids))
        for start in range(0, len(unique), _CHUNK):
            chunk = unique[start : start + _CHUNK]
            found.update(connection.execute(sa.select(table.c.id).where(table.c.id.in_(chunk))).scalars())
        return found

    def _write_bundle(self, connection: Connection, bundle: Bundle, *, by: str | None, at: datetime) -> None:
        for entity in ENTITY_ORDER:
            table, _ = _ENTITY_TABLES[entity]
            records: list[BaseModel] = list(getattr(bundle, entity))
            if not records:
                continue
            if entity in ("action_items", "notifications"):
                records = self._bundle_child_ids(
                    connection, table, records, "A" if entity == "action_items" else "N"
                )
            if entity in ("timeline_events", "evidence", "classifications"):
                with_ids = [r for r in records if r.id is not None]  # type: ignore[attr-defined]
                without = [r for r in records if r.id is None]  # type: ignore[attr-defined]
                _bulk_insert(connection, table, [_to_db(r, table) for r in with_ids])
                if with_ids and not is_sqlite(connection):
                    # explicit ids do not move the sequence: move it past them before allocating more
                    connection.exec_driver_sql(
                        f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                        f"(SELECT max(id) FROM {table.name}))"
                    )
                new_ids = _allocate_ids(connection, table, len(without))
                allocated = [r.model_copy(update={"id": i}) for r, i in zip(without, new_ids, strict=True)]
                _bulk_insert(connection, table, [_to_db(r, table) for r in allocated])
                records = [*with_ids, *allocated]
            else:
                rows = [_to_db(r, table) for r in records]
                if entity == "incidents":
                    rows = [row | {"updated_at": at, "updated_by": by} for row in rows]
                    self._raise_counter_to(connection, [r.id for r in records])  # type: ignore[attr-defined]
                _bulk_insert(connection, table, rows)
            self._record_created(connection, entity, records, by=by, at=at)

    def _bundle_child_ids(
        self, connection: Connection, table: sa.Table, records: list[BaseModel], prefix: str
    ) -> list[BaseModel]:
        if all(r.id is not None for r in records):  # type: ignore[attr-defined]
            return records
        taken = {r.id for r in records if r.id is not None}  # type: ignore[attr-defined]
        next_number: dict[str, int] = {}
        result = []
        for record in records:
            if record.id is not None:  # type: ignore[attr-defined]
                result.append(record)
                continue
            incident_id = record.incident_id  # type: ignore[attr-defined]
            if incident_id not in next_number:
                existing = connection.execute(
                    sa.select(sa.func.count()).select_from(table).where(table.c.incident_id == incident_id)
                ).scalar_one()
                next_number[incident_id] = int(existing) + 1
            while True:
                candidate = f"{incident_id}-{prefix}{next_number[incident_id]}"
                next_number[incident_id] += 1
                if candidate not in taken and not self._exists(connection, table, candidate):
                    break
            taken.add(candidate)
            result.append(record.model_copy(update={"id": candidate}))
        return result

    def export_bundle(self, *, incident_ids: Sequence[str] | None = None) -> Bundle:
        """Return the register (or some incidents with their children and systems) as a :class:`Bundle`."""
        from register.io._bundle import Bundle

        bundle = Bundle()
        with self._read() as connection:
            incident_query = self._incident_query(incident_ids=incident_ids)
            bundle.incidents = [
                _from_db(row, t.incidents, Incident) for row in connection.execute(incident_query).mappings()
            ]
            system_query = sa.select(t.ai_systems).order_by(t.ai_systems.c.id)
            if incident_ids is not None:
                wanted = sorted({i.system_id for i in bundle.incidents if i.system_id})
                system_query = system_query.where(t.ai_systems.c.id.in_(wanted))
            bundle.ai_systems = [
                _from_db(row, t.ai_systems, AiSystem) for row in connection.execute(system_query).mappings()
            ]
            for entity in ENTITY_ORDER[2:]:
                table, model = _ENTITY_TABLES[entity]
                query = sa.select(table).order_by(table.c.incident_id, table.c.id)
                if incident_ids is not None:
                    query = query.where(table.c.incident_id.in_(list(incident_ids)))
                setattr(
                    bundle,
                    entity,
                    [_from_db(row, table, model) for row in connection.execute(query).mappings()],
                )
        return bundle


def _allocate_ids(connection: Connection, table: sa.Table, count: int) -> list[int]:
    """Reserve ``count`` integer ids of ``table`` inside the current write transaction.

    SQLite: the transaction holds the database's write lock, so the next ids are max + 1 ...;
    PostgreSQL: ids are drawn from the column's sequence (safe against concurrent writers).
    """
    if count == 0:
        return []
    if is_sqlite(connection):
        highest = connection.execute(sa.select(sa.func.coalesce(sa.func.max(table.c.id), 0))).scalar_one()
        return list(range(int(highest) + 1, int(highest) + 1 + count))
    rows = connection.exec_driver_sql(
        f"SELECT nextval(pg_get_serial_sequence('{table.name}', 'id')) FROM generate_series(1, {int(count)})"
    )
    return sorted(int(row[0]) for row in rows)


def _bulk_insert(connection: Connection, table: sa.Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert many rows with one prepared statement (the column types' conversions applied up front)."""
    if not rows:
        return
    dialect = connection.dialect
    names = list(rows[0])
    # exactly the conversions SQLAlchemy applies to a bound value (e.g. the UTC type, then SQLite's
    # fixed "YYYY-MM-DD HH:MM:SS.ffffff" text), so bulk-written rows compare like any other row
    converters = [table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in names]
    quote = dialect.identifier_preparer.quote
    marker = "?" if dialect.paramstyle == "qmark" else "%s"
    statement = (
        f"INSERT INTO {quote(table.name)} ({', '.join(quote(name) for name in names)}) "
        f"VALUES ({', '.join(marker for _ in names)})"
    )
    pairs = list(zip(names, converters, strict=True))
    for start in range(0, len(rows), 10 * _CHUNK):
        parameters = [
            tuple(row[name] if convert is None else convert(row[name]) for name, convert in pairs)
            for row in rows[start : start + 10 * _CHUNK]
        ]
        connection.exec_driver_sql(statement, parameters)


class _DryRunDone(Exception):
    """Raised inside a dry-run import to roll the transaction back."""


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
) -> list[Any]:
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


_SHIPPED_POLICY: dict[str, Any] = {}


def _shipped_policy() -> Any:
    """The shipped default policy, parsed once per content of the packaged file (read-only use)."""
    from importlib import resources

    from register.policy import load_policy

    text = resources.files("register").joinpath("data/policy.yaml").read_text(encoding="utf-8")
    if text not in _SHIPPED_POLICY:
        _SHIPPED_POLICY.clear()
        _SHIPPED_POLICY[text] = load_policy()
    return _SHIPPED_POLICY[text]


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


@contextmanager
def _collector_paused() -> Iterator[None]:
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
