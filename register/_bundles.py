"""Bundles in and out of the register: the checks and writes behind ``Register.import_bundle``.

Every problem of a bundle against itself and the register is collected first (codes as
:mod:`register.io`); then every record is written with bulk inserts and one history row each, inside
the caller's single write transaction (all or nothing).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from pydantic import BaseModel
from sqlalchemy.engine import Connection

from register import _tables as t
from register._entities import (
    CHUNK,
    ENTITY_ORDER,
    ENTITY_TABLES,
    bulk_insert,
    from_db,
    incident_query,
    incident_times,
    to_db,
)
from register._history import record_created
from register._ids import allocate_ids, bundle_child_ids, move_sequence_past_ids, raise_counter_to
from register.lifecycle import time_problems
from register.schema import AiSystem, Incident

if TYPE_CHECKING:
    from register.io import Bundle

__all__ = ["bundle_problems", "read_bundle_from", "write_bundle_records"]

Failure = dict[str, object]


def _failure(file: str, row: int, column: str, problem: str, value: object, message: str) -> Failure:
    return {
        "file": file,
        "row": row,
        "column": column,
        "problem": problem,
        "value": value,
        "message": message,
    }


def existing_ids(connection: Connection, table: sa.Table, ids: Sequence[object]) -> set[object]:
    """Return which of ``ids`` the table holds already (queried in chunks)."""
    found: set[object] = set()
    unique = list(dict.fromkeys(ids))
    for start in range(0, len(unique), CHUNK):
        chunk = unique[start : start + CHUNK]
        found.update(connection.execute(sa.select(table.c.id).where(table.c.id.in_(chunk))).scalars())
    return found


def _id_problems(connection: Connection, bundle: Bundle, failures: list[Failure]) -> dict[str, set[object]]:
    """Add duplicate ids and ids already in the register; return the ids each entity of the bundle holds."""
    known_ids: dict[str, set[object]] = {}
    for entity in ENTITY_ORDER:
        table, _ = ENTITY_TABLES[entity]
        records = getattr(bundle, entity)
        existing = existing_ids(connection, table, [record.id for record in records if record.id is not None])
        seen: set[object] = set()
        for position, record in enumerate(records, start=1):
            if record.id is None:
                continue
            if record.id in seen:
                failures.append(
                    _failure(
                        entity,
                        position,
                        "id",
                        "duplicate_id",
                        record.id,
                        "the id appears twice in the bundle",
                    )
                )
            elif record.id in existing:
                failures.append(
                    _failure(
                        entity,
                        position,
                        "id",
                        "id_in_register",
                        record.id,
                        "the register already holds this id; update it instead of importing it",
                    )
                )
            seen.add(record.id)
        known_ids[entity] = seen
    return known_ids


def _incident_problems(
    connection: Connection, bundle: Bundle, bundle_systems: set[object], failures: list[Failure]
) -> None:
    """Add incidents of unknown AI systems and incidents with inconsistent times."""
    wanted = {i.system_id for i in bundle.incidents if i.system_id is not None} - bundle_systems
    known_systems = bundle_systems | existing_ids(connection, t.ai_systems, sorted(wanted))
    for position, incident in enumerate(bundle.incidents, start=1):
        if incident.system_id is not None and incident.system_id not in known_systems:
            failures.append(
                _failure(
                    "incidents",
                    position,
                    "system_id",
                    "unknown_reference",
                    incident.system_id,
                    "no such AI system in the bundle or the register",
                )
            )
        for problem in time_problems(incident_times(incident)):
            failures.append(
                _failure(
                    "incidents",
                    position,
                    str(problem["column"]),
                    "inconsistent_times",
                    problem["value"],
                    str(problem["problem"]),
                )
            )


def bundle_problems(connection: Connection, bundle: Bundle) -> list[Failure]:
    """Collect every problem of a bundle against itself and the register (codes as register.io)."""
    failures: list[Failure] = []
    known_ids = _id_problems(connection, bundle, failures)
    _incident_problems(connection, bundle, known_ids["ai_systems"], failures)
    bundle_incidents = known_ids["incidents"]
    children = ENTITY_ORDER[2:]
    parents = {record.incident_id for entity in children for record in getattr(bundle, entity)}
    known_incidents = bundle_incidents | existing_ids(
        connection, t.incidents, sorted(parents - bundle_incidents)
    )
    for entity in children:
        for position, record in enumerate(getattr(bundle, entity), start=1):
            if record.incident_id not in known_incidents:
                failures.append(
                    _failure(
                        entity,
                        position,
                        "incident_id",
                        "unknown_reference",
                        record.incident_id,
                        "no such incident in the bundle or the register",
                    )
                )
    return failures


def _write_integer_id_records(
    connection: Connection, table: sa.Table, records: list[BaseModel]
) -> list[BaseModel]:
    """Insert records whose ids are integers: given ids as they are, the others allocated."""
    # timeline events, evidence and classifications: `id: int | None`
    with_ids = [r for r in records if r.id is not None]  # type: ignore[attr-defined]
    without = [r for r in records if r.id is None]  # type: ignore[attr-defined]
    bulk_insert(connection, table, [to_db(r, table) for r in with_ids])
    move_sequence_past_ids(connection, table, [r.id for r in with_ids])  # type: ignore[attr-defined]
    new_ids = allocate_ids(connection, table, len(without))
    allocated = [r.model_copy(update={"id": i}) for r, i in zip(without, new_ids, strict=True)]
    bulk_insert(connection, table, [to_db(r, table) for r in allocated])
    return [*with_ids, *allocated]


def write_bundle_records(connection: Connection, bundle: Bundle, *, by: str | None, at: datetime) -> None:
    """Write every record of a checked bundle, parents first, each with its ``(created)`` history row."""
    for entity in ENTITY_ORDER:
        table, _ = ENTITY_TABLES[entity]
        records: list[BaseModel] = list(getattr(bundle, entity))
        if not records:
            continue
        if entity in ("action_items", "notifications"):
            records = bundle_child_ids(connection, table, records, "A" if entity == "action_items" else "N")
        if entity in ("timeline_events", "evidence", "classifications"):
            records = _write_integer_id_records(connection, table, records)
        else:
            rows = [to_db(r, table) for r in records]
            if entity == "incidents":
                rows = [row | {"updated_at": at, "updated_by": by} for row in rows]
                # imported public records (a source) do not move the counter: their numbers come from
                # the source (AIAAIC's are above a million); allocation skips the ids they hold
                raise_counter_to(connection, [r.id for r in records if r.source is None])  # type: ignore[attr-defined]
            bulk_insert(connection, table, rows)
        record_created(connection, entity, records, by=by, at=at)


def read_bundle_from(connection: Connection, *, incident_ids: Sequence[str] | None = None) -> Bundle:
    """Return the register (or some incidents with their children and systems) as a bundle."""
    from register.io._bundle import Bundle

    bundle = Bundle()
    bundle.incidents = [
        from_db(row, t.incidents, Incident)
        for row in connection.execute(incident_query(incident_ids=incident_ids)).mappings()
    ]
    system_query = sa.select(t.ai_systems).order_by(t.ai_systems.c.id)
    if incident_ids is not None:
        wanted = sorted({i.system_id for i in bundle.incidents if i.system_id})
        system_query = system_query.where(t.ai_systems.c.id.in_(wanted))
    bundle.ai_systems = [
        from_db(row, t.ai_systems, AiSystem) for row in connection.execute(system_query).mappings()
    ]
    for entity in ENTITY_ORDER[2:]:
        table, model = ENTITY_TABLES[entity]
        query = sa.select(table).order_by(table.c.incident_id, table.c.id)
        if incident_ids is not None:
            query = query.where(table.c.incident_id.in_(list(incident_ids)))
        setattr(bundle, entity, [from_db(row, table, model) for row in connection.execute(query).mappings()])
    return bundle
