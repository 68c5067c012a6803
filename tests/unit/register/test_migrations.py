"""Alembic migrations: a register at 0001 with child rows in every table upgrades with every row intact.

Migration 0002 rebuilds the parent table ``incidents`` on SQLite (batch mode); with foreign keys on,
dropping the old table cascades away every child row (TRAPS.md) -- the control test shows the trap is
real here, the main test that the shipped upgrade path avoids it.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from register import RegisterError, open_register
from register._tables import metadata
from register.store import (
    _alembic_config,
    current_revision,
    head_revision,
    make_engine,
    upgrade_schema,
    write_transaction,
)

T = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
TABLES = (
    "ai_systems",
    "incidents",
    "timeline_events",
    "action_items",
    "notifications",
    "evidence",
    "classifications",
    "history",
    "id_counters",
)


def _seed_rows() -> dict[str, list[dict[str, object]]]:
    incident = {
        "title": "t",
        "system_id": "credit",
        "category": "data_quality",
        "kind": "incident",
        "severity": "SEV-2",
        "status": "triaged",
        "aware_at": T,
        "affected_groups": "[]",
        "ongoing": False,
        "regulatory_notifiable": True,
        "publicly_visible": False,
        "evidence_hold": False,
        "contributing_factors": "[]",
        "model_versions": '["v1"]',
        "tags": "[]",
        "postmortem_status": "draft",
    }
    rows: dict[str, list[dict[str, object]]] = {
        "ai_systems": [{"id": "credit", "name": "Credit scoring", "data_card": None}],
        "incidents": [dict(incident, id="INC-2026-0001"), dict(incident, id="INC-2026-0002", title="u")],
        "id_counters": [{"scope": "incident:2026", "last_value": 2}],
        "history": [],
    }
    for table in ("timeline_events", "action_items", "notifications", "evidence", "classifications"):
        rows[table] = []
    for n, incident_id in enumerate(("INC-2026-0001", "INC-2026-0002"), start=1):
        for k in (1, 2):
            key = 10 * n + k
            rows["timeline_events"].append(
                {"id": key, "incident_id": incident_id, "at": T, "kind": "note", "description": f"e{key}"}
            )
            rows["action_items"].append(
                {
                    "id": f"{incident_id}-A{k}",
                    "incident_id": incident_id,
                    "title": "fix",
                    "kind": "prevent",
                    "priority": "P2",
                    "status": "open",
                    "due_at": T,
                }
            )
            rows["notifications"].append(
                {
                    "id": f"{incident_id}-N{k}",
                    "incident_id": incident_id,
                    "audience": "regulator",
                    "report_type": "initial",
                    "due_at": T,
                }
            )
            rows["evidence"].append(
                {
                    "id": key,
                    "incident_id": incident_id,
                    "kind": "notebook",
                    "uri": f"file:{key}",
                    "captured_at": T,
                }
            )
            rows["classifications"].append(
                {
                    "id": key,
                    "incident_id": incident_id,
                    "namespace": "CSET",
                    "attribute": "a",
                    "value": str(k),
                }
            )
            rows["history"].append(
                {
                    "id": key,
                    "entity": "incidents",
                    "entity_id": incident_id,
                    "field": "title",
                    "old_value": None,
                    "new_value": "t",
                    "changed_at": T,
                    "changed_by": "me",
                }
            )
    return rows


def _create_at_0001_with_rows(url: str) -> sa.MetaData:
    assert upgrade_schema(url, revision="0001") == "0001"
    engine = make_engine(url)
    reflected = sa.MetaData()
    reflected.reflect(engine)
    # write through the UTC type like the register does
    from register.store import UTCDateTime

    for table in reflected.tables.values():
        for column in table.columns:
            if isinstance(column.type, sa.DateTime | sa.TIMESTAMP):
                column.type = UTCDateTime()
    with write_transaction(engine) as connection:
        for name in TABLES:
            if _seed_rows()[name]:
                connection.execute(reflected.tables[name].insert(), _seed_rows()[name])
    engine.dispose()
    return reflected


def _snapshot(url: str, reflected: sa.MetaData) -> dict[str, list[tuple]]:
    engine = make_engine(url)
    snapshot = {}
    with engine.connect() as connection:
        for name in TABLES:
            table = reflected.tables[name]
            query = sa.select(*(metadata.tables[name].c[c.name] for c in table.columns)).order_by(
                *metadata.tables[name].primary_key.columns
            )
            snapshot[name] = [tuple(row) for row in connection.execute(query)]
    engine.dispose()
    return snapshot


def test_upgrade_from_0001_keeps_every_row(register_url: str) -> None:
    reflected = _create_at_0001_with_rows(register_url)
    before = _snapshot(register_url, reflected)
    assert all(before[name] for name in TABLES)
    assert len(before["timeline_events"]) == len(before["action_items"]) == 4
    assert upgrade_schema(register_url) == head_revision() == "0003"
    after = _snapshot(register_url, reflected)
    assert after == before
    with open_register(register_url) as reg:
        assert [e.description for e in reg.timeline("INC-2026-0001")] == ["e11", "e12"]
        assert len(reg.action_items("INC-2026-0002")) == 2
        assert reg.get_incident("INC-2026-0001").model_versions == ["v1"]
        # 0003: rows written before provenance existed read as the register's own records
        assert (reg.get_incident("INC-2026-0002").source, reg.get_incident("INC-2026-0002").source_id) == (
            None,
            None,
        )
        assert (
            reg.add_incident({"title": "n", "category": "safety", "severity": "SEV-1", "aware_at": T}).id
            == "INC-2026-0003"
        )
        # foreign keys are back on after the migration
        if reg.dialect == "sqlite":
            with reg.engine.connect() as connection:
                assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_downgrade_and_upgrade_again_keep_every_row(register_url: str) -> None:
    reflected = _create_at_0001_with_rows(register_url)
    before = _snapshot(register_url, reflected)
    upgrade_schema(register_url)
    engine = make_engine(register_url, foreign_keys=False)
    with write_transaction(engine) as connection:
        command.downgrade(_alembic_config(connection), "0001")
    assert current_revision(engine) == "0001"
    engine.dispose()
    assert _snapshot(register_url, reflected) == before
    upgrade_schema(register_url)
    assert _snapshot(register_url, reflected) == before


def test_head_schema_matches_the_tables(register_url: str) -> None:
    upgrade_schema(register_url)
    engine = make_engine(register_url)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": False})
        differences = compare_metadata(context, metadata)
    engine.dispose()
    assert differences == []


def test_control_batch_rebuild_with_foreign_keys_on_loses_children(tmp_path) -> None:
    url = str(tmp_path / "trap.sqlite")
    _create_at_0001_with_rows(url)
    engine = make_engine(url, foreign_keys=True)  # the trap: foreign keys on during the rebuild
    with write_transaction(engine) as connection:
        command.upgrade(_alembic_config(connection), "head")
    with engine.connect() as connection:
        children = connection.exec_driver_sql("SELECT count(*) FROM timeline_events").scalar()
    engine.dispose()
    assert children == 0


def test_a_foreign_key_violation_rolls_the_upgrade_back(tmp_path) -> None:
    url = str(tmp_path / "orphan.sqlite")
    _create_at_0001_with_rows(url)
    engine = make_engine(url, foreign_keys=False)
    with write_transaction(engine) as connection:
        connection.exec_driver_sql(
            "INSERT INTO timeline_events (id, incident_id, at, kind, description) "
            "VALUES (99, 'INC-2026-0999', '2026-03-02 09:00:00.000000', 'note', 'orphan')"
        )
    with pytest.raises(RegisterError, match="foreign keys point nowhere.*nothing was changed"):
        upgrade_schema(url)
    assert current_revision(engine) == "0001"
    with engine.connect() as connection:
        columns = [row[1] for row in connection.exec_driver_sql("PRAGMA table_info(incidents)")]
        assert "updated_at" not in columns
        assert connection.exec_driver_sql("SELECT count(*) FROM timeline_events").scalar() == 5
    engine.dispose()
