"""Id allocation inside the write transaction: incident numbers, child ids, integer ids.

Incident ids ``INC-<year>-NNNN`` come from a counter per year (``id_counters``), moved with an upsert
in the same transaction that inserts the incident, so concurrent writers never get the same number;
explicitly given ids raise the counter past them, except those of imported public records (with a
``source``): those keep the source's numbers (AIAAIC's are above a million) and allocation skips them.
Action items and notifications get ``<incident id>-A<n>`` / ``-N<n>``; timeline events, evidence and
classifications integer ids.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel
from sqlalchemy.engine import Connection

from register import _tables as t
from register._entities import exists
from register.errors import ValidationFailed
from register.schema import MAX_INCIDENT_NUMBER
from register.store import is_sqlite

__all__ = [
    "SENTINEL_ID",
    "allocate_ids",
    "bundle_child_ids",
    "move_sequence_past_ids",
    "next_child_id",
    "next_incident_number",
    "raise_counter_to",
]

SENTINEL_ID = "INC-0000-0000"
"""A valid incident id standing in for the one allocated on insert (validation needs an id)."""


def _upsert(connection: Connection, scope: str, last_value: int, on_conflict: Any) -> Any:
    """``INSERT ... ON CONFLICT (scope) DO UPDATE SET last_value = <on_conflict>`` in the dialect."""
    # the dialects' own insert constructs (imported when first used: PostgreSQL's costs import time)
    insert: Any
    if is_sqlite(connection):
        from sqlalchemy.dialects.sqlite import insert
    else:
        from sqlalchemy.dialects.postgresql import insert
    return (
        insert(t.id_counters)
        .values(scope=scope, last_value=last_value)
        .on_conflict_do_update(index_elements=["scope"], set_={"last_value": on_conflict})
    )


def next_incident_number(connection: Connection, scope: str) -> int:
    """Return the next number of ``scope`` (``incident:<year>``), counting from 1."""
    column = t.id_counters.c.last_value
    highest = connection.execute(sa.select(column).where(t.id_counters.c.scope == scope)).scalar()
    if highest is not None and int(highest) >= MAX_INCIDENT_NUMBER:
        year = scope.rsplit(":", 1)[-1]
        raise ValidationFailed(
            f"an allocated incident number must have at most 18 digits. Got none left for {year} (the "
            f"last is INC-{year}-{MAX_INCIDENT_NUMBER}); give the incident an explicit id that is not taken."
        )
    statement = _upsert(connection, scope, 1, column + 1)
    return int(connection.execute(statement.returning(column)).scalar_one())


def raise_counter_to(connection: Connection, incident_ids: Iterable[str]) -> None:
    """Make sure allocated ids never collide with ids that were given explicitly."""
    highest: dict[str, int] = {}
    for incident_id in incident_ids:
        _, year, digits = incident_id.split("-", 2)
        scope = f"incident:{year}"
        highest[scope] = max(highest.get(scope, 0), int(digits))
    column = t.id_counters.c.last_value
    for scope, number in sorted(highest.items()):
        connection.execute(
            _upsert(connection, scope, number, sa.case((column < number, number), else_=column))
        )


def _child_count(connection: Connection, table: sa.Table, incident_id: str) -> int:
    query = sa.select(sa.func.count()).select_from(table).where(table.c.incident_id == incident_id)
    return int(connection.execute(query).scalar_one())


def next_child_id(connection: Connection, table: sa.Table, incident_id: str, prefix: str) -> str:
    """Return the first free ``<incident id>-<prefix><n>`` from n = (children of the incident) + 1."""
    number = _child_count(connection, table, incident_id) + 1
    while exists(connection, table, f"{incident_id}-{prefix}{number}"):
        number += 1
    return f"{incident_id}-{prefix}{number}"


def bundle_child_ids(
    connection: Connection, table: sa.Table, records: list[BaseModel], prefix: str
) -> list[BaseModel]:
    """Give every record without an id the next free ``<incident id>-<prefix><n>`` (bundle and register)."""
    # records are action items or notifications: both declare `id: str | None` and `incident_id`
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
            next_number[incident_id] = _child_count(connection, table, incident_id) + 1
        while True:
            candidate = f"{incident_id}-{prefix}{next_number[incident_id]}"
            next_number[incident_id] += 1
            if candidate not in taken and not exists(connection, table, candidate):
                break
        taken.add(candidate)
        result.append(record.model_copy(update={"id": candidate}))
    return result


def allocate_ids(connection: Connection, table: sa.Table, count: int) -> list[int]:
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


def move_sequence_past_ids(connection: Connection, table: sa.Table, ids: Sequence[int]) -> None:
    """PostgreSQL: explicit ids do not move the column's sequence; move it past them (SQLite: nothing)."""
    if ids and not is_sqlite(connection):
        connection.exec_driver_sql(
            f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), (SELECT max(id) FROM {table.name}))"
        )
