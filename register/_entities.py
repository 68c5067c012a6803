"""The register's entities as rows: which table holds which record, and the conversions between them.

Private to :mod:`register`: the facade (:mod:`register.api`), the history (:mod:`register._history`),
id allocation (:mod:`register._ids`), bundles (:mod:`register._bundles`) and the frame readers
(:mod:`register._frames`) share these. Nothing here imports pandas or numpy.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar

import sqlalchemy as sa
from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError
from sqlalchemy.engine import Connection

from register import _tables as t
from register.errors import ValidationFailed
from register.schema import (
    INCIDENT_TIME_FIELDS,
    MAX_INTEGER,
    STORED,
    ActionItem,
    AiSystem,
    Classification,
    Evidence,
    Incident,
    IncidentCategory,
    IncidentStatus,
    Notification,
    Severity,
    TimelineEvent,
    as_utc,
)

__all__ = [
    "CHUNK",
    "ENTITY_OF_MODEL",
    "ENTITY_ORDER",
    "ENTITY_TABLES",
    "INCIDENT_TIME_FIELDS",
    "R",
    "as_list",
    "bulk_insert",
    "entity_name",
    "exists",
    "from_db",
    "incident_query",
    "incident_times",
    "canonical_text",
    "to_db",
    "validate",
]

R = TypeVar("R", bound=BaseModel)



ENTITY_TABLES: dict[str, tuple[sa.Table, type[BaseModel]]] = {
    "ai_systems": (t.ai_systems, AiSystem),
    "incidents": (t.incidents, Incident),
    "timeline_events": (t.timeline_events, TimelineEvent),
    "action_items": (t.action_items, ActionItem),
    "notifications": (t.notifications, Notification),
    "evidence": (t.evidence, Evidence),
    "classifications": (t.classifications, Classification),
}
"""Entity name -> (table, record type)."""

ENTITY_OF_MODEL: dict[type[BaseModel], str] = {model: entity for entity, (_, model) in ENTITY_TABLES.items()}
"""Record type -> entity name."""

ENTITY_ORDER: tuple[str, ...] = tuple(ENTITY_TABLES)
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

CHUNK = 500
"""Ids per ``IN (...)`` list; ten times as many rows per bulk insert."""


def entity_name(entity: str) -> str:
    """Return the table name of ``entity`` (a table name or its singular), or raise ValidationFailed."""
    name = _ENTITY_ALIASES.get(entity, entity)
    if name not in ENTITY_TABLES:
        raise ValidationFailed(f"entity must be one of {', '.join(ENTITY_TABLES)}. Got {entity!r} instead.")
    return name


def canonical_text(value: Any) -> str | None:
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


def to_db(record: BaseModel, table: sa.Table) -> dict[str, Any]:
    """Return a record as a row of ``table`` (lists and nested records as JSON text, enums as values)."""
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


def from_db(row: Mapping[Any, Any], table: sa.Table, model: type[R]) -> R:
    """Return the record of type ``model`` held in a row of ``table`` (the inverse of :func:`to_db`)."""
    json_columns = t.JSON_COLUMNS.get(table.name, ())
    data = {}
    for name in model.model_fields:
        value = row[name]
        if name in json_columns and value is not None:
            value = json.loads(value)
        data[name] = value
    return model.model_validate(data, context={STORED: True})


def _failures_from_pydantic(exc: PydanticValidationError, *, row: object = None) -> list[dict[str, object]]:
    return [
        {
            "file": None,
            "row": row,
            "column": ".".join(str(part) for part in error["loc"]) or None,
            "problem": "invalid_value",
            "value": _short(error.get("input")),
            "message": error["msg"],
        }
        for error in exc.errors()
    ]


def _short(value: object) -> object:
    shown = value if isinstance(value, str | int | float | bool) or value is None else repr(value)
    if isinstance(shown, str) and len(shown) > 80:
        return shown[:77] + "..."
    return shown


def validate(model: type[R], data: Mapping[str, Any], *, what: str) -> R:
    """Validate ``data`` as a ``model``; raise ValidationFailed with one failure row per problem."""
    try:
        return model.model_validate(dict(data))
    except PydanticValidationError as exc:
        failures = _failures_from_pydantic(exc, row=data.get("id"))
        detail = "; ".join(f"{f['column']}: {f['message']}" for f in failures[:5])
        raise ValidationFailed(f"invalid {what}: {detail}.", failures) from exc


def incident_times(record: Incident) -> dict[str, datetime | None]:
    """Return the time fields of an incident (:data:`INCIDENT_TIME_FIELDS`) by name."""
    return {name: getattr(record, name) for name in INCIDENT_TIME_FIELDS}


def as_list(value: str | enum.Enum | Sequence[str] | None) -> list[str] | None:
    """Return a filter value (one value or several) as a list of texts; ``None`` stays ``None``."""
    if value is None:
        return None
    if isinstance(value, str | enum.Enum):
        return [str(value)]
    return [str(item) for item in value]


def exists(connection: Connection, table: sa.Table, key: object) -> bool:
    """Return whether ``table`` holds a row with id ``key`` (an integer beyond 64 bits is never held)."""
    if isinstance(key, int) and not -MAX_INTEGER - 1 <= key <= MAX_INTEGER:
        return False
    query = sa.select(table.c.id).where(table.c.id == key)
    return connection.execute(query).first() is not None


def incident_query(
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
    """Return the query of the incidents matching every filter given, by became-aware time then id.

    A severity, status, category or kind outside its vocabulary is an error (a typo would otherwise
    silently match nothing).
    """
    _check_vocabulary("severity", severity, [member.value for member in Severity])
    _check_vocabulary("status", status, [member.value for member in IncidentStatus])
    _check_vocabulary("category", category, [member.value for member in IncidentCategory])
    _check_vocabulary("kind", kind, ["incident", "near_miss"])
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
        values = as_list(value)
        if values is not None:
            query = query.where(column.in_(values))
    if since is not None:
        query = query.where(c.aware_at >= as_utc(since))
    if until is not None:
        query = query.where(c.aware_at < as_utc(until))
    if open_only:
        query = query.where(c.status != IncidentStatus.CLOSED.value)
    return query


def _check_vocabulary(name: str, value: str | Sequence[str] | None, known: Sequence[str]) -> None:
    values = as_list(value)
    unknown = [item for item in values or [] if str(item) not in known]
    if unknown:
        raise ValidationFailed(
            f"{name} must be one of {', '.join(known)}. Got {', '.join(map(repr, unknown))} instead."
        )


def bulk_insert(connection: Connection, table: sa.Table, rows: Sequence[Mapping[str, Any]]) -> None:
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
    for start in range(0, len(rows), 10 * CHUNK):
        parameters = [
            tuple(row[name] if convert is None else convert(row[name]) for name, convert in pairs)
            for row in rows[start : start + 10 * CHUNK]
        ]
        connection.exec_driver_sql(statement, parameters)
