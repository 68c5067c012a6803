"""The audit trail: one ``history`` row per changed field, and one per created entity.

A field's history is an unbroken chain: each old value equals the previous new value (the values are
the canonical texts of :func:`register._entities.canonical_text`). The creation of an entity is one
:data:`CREATED_FIELD` row holding the record as JSON. The rows are written inside the caller's write
transaction, so a change and its history are committed (or rolled back) together.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel
from sqlalchemy.engine import Connection

from register import _tables as t
from register._entities import bulk_insert, canonical_text, entity_name
from register.schema import STORED, HistoryEntry

__all__ = ["CREATED_FIELD", "history_query", "read_history", "record_changes", "record_created"]

CREATED_FIELD = "(created)"
"""``history.field`` of the row recording an entity's creation (``new_value`` is the record as JSON)."""


def _record_id(record: BaseModel) -> str:
    # every entity record declares an id (str or int, by entity), which BaseModel cannot say
    return str(record.id)  # type: ignore[attr-defined]


def record_created(
    connection: Connection, entity: str, records: Sequence[BaseModel], *, by: str | None, at: datetime
) -> None:
    """Append one :data:`CREATED_FIELD` row per record (the record as JSON)."""
    rows = [
        {
            "entity": entity,
            "entity_id": _record_id(record),
            "field": CREATED_FIELD,
            "old_value": None,
            "new_value": record.model_dump_json(),
            "changed_at": at,
            "changed_by": by,
        }
        for record in records
    ]
    bulk_insert(connection, t.history, rows)


def record_changes(
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
        before, after = canonical_text(getattr(old, name)), canonical_text(getattr(new, name))
        if before == after:
            continue
        changed[name] = getattr(new, name)
        rows.append(
            {
                "entity": entity,
                "entity_id": _record_id(new),
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


def history_query(entity: str | None = None) -> sa.Select[Any]:
    """Return the query of the whole audit trail (or one entity type's), oldest first."""
    query = sa.select(t.history).order_by(t.history.c.id)
    if entity is not None:
        query = query.where(t.history.c.entity == entity_name(entity))
    return query


def read_history(
    connection: Connection, entity: str, entity_id: str | int, *, field: str | None = None
) -> list[HistoryEntry]:
    """Return the audit trail of one entity (optionally one field's changes), oldest first."""
    query = history_query(entity).where(t.history.c.entity_id == str(entity_id))
    if field is not None:
        query = query.where(t.history.c.field == field)
    rows = connection.execute(query).mappings()
    return [HistoryEntry.model_validate(dict(row), context={STORED: True}) for row in rows]
