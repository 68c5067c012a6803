"""Hypothesis: a malformed import never changes the register and always yields the failures table.

Two kinds of damage: (1) a random corruption of one row of an otherwise valid bundle that only the
register can see (an id it already holds, an unknown incident or system, times out of order), on both
databases; (2) random byte flips in a bundle file on disk, read and imported as `workbench register
import` does (SQLite): either the file still describes a valid bundle and is imported whole, or the
import fails with a failures table and the register is exactly as before.
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from register import Register, ValidationFailed, open_register
from register._tables import metadata
from register.io import Bundle, read_bundle, write_bundle
from register.schema import ActionItem, AiSystem, Classification, Incident, Notification, TimelineEvent

SETTINGS = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
FAILURE_KEYS = {"file", "row", "column", "problem", "value", "message"}


def _bundle(n: int, *, first: int = 10) -> Bundle:
    bundle = Bundle(ai_systems=[AiSystem(id="sys-new", name="New system")])
    for k in range(first, first + n):
        incident_id = f"INC-2026-{k:04d}"
        bundle.incidents.append(
            Incident(
                id=incident_id,
                title=f"incident {k}",
                system_id="sys-new",
                category="data_quality",
                severity="SEV-3",
                occurred_at=T0 - HOUR,
                aware_at=T0,
                contained_at=T0 + HOUR,
                resolved_at=T0 + 2 * HOUR,
            )
        )
        bundle.timeline_events.append(
            TimelineEvent(incident_id=incident_id, at=T0, kind="detection", description="alert")
        )
        bundle.action_items.append(
            ActionItem(id=f"{incident_id}-A1", incident_id=incident_id, title="x", kind="detect")
        )
        bundle.notifications.append(
            Notification(id=f"{incident_id}-N1", incident_id=incident_id, audience="board")
        )
        bundle.classifications.append(
            Classification(incident_id=incident_id, namespace="MIT", attribute="domain", value="2.1")
        )
    return bundle


def _seed(reg: Register) -> None:
    reg.add_system({"id": "sys-old", "name": "Existing"})
    incident = reg.add_incident(
        {"id": "INC-2026-0001", "title": "old", "category": "safety", "severity": "SEV-2", "aware_at": T0}
    )
    reg.add_action_item({"incident_id": incident.id, "title": "old action", "kind": "prevent"})


def _state(reg: Register) -> dict[str, list[tuple]]:
    with reg.engine.connect() as connection:
        return {
            name: sorted(map(tuple, connection.execute(sa.select(table))), key=repr)
            for name, table in metadata.tables.items()
        }


CORRUPTIONS = ("id_in_register", "duplicate_id", "unknown_incident", "unknown_system", "times")


def _corrupt(bundle: Bundle, kind: str, entity: str, position: int) -> tuple[str, str]:
    """Damage one row; return (file, problem code) the failures table must name."""
    if kind == "times":
        incidents = bundle.incidents
        incidents[position] = incidents[position].model_copy(update={"resolved_at": T0 - 2 * HOUR})
        return "incidents", "inconsistent_times"
    if kind == "unknown_system":
        bundle.incidents[position] = bundle.incidents[position].model_copy(update={"system_id": "sys-ghost"})
        return "incidents", "unknown_reference"
    records = getattr(bundle, entity)
    record = records[position]
    if kind == "unknown_incident":
        records[position] = record.model_copy(update={"incident_id": "INC-2026-0999"})
        return entity, "unknown_reference"
    if kind == "id_in_register":
        taken = "INC-2026-0001" if entity == "incidents" else "INC-2026-0001-A1"
        if entity not in ("incidents", "action_items"):
            entity, records = "action_items", bundle.action_items
        records[position] = records[position].model_copy(update={"id": taken})
        return entity, "id_in_register"
    # duplicate id: copy the id of another row of the same entity
    if entity not in ("incidents", "action_items", "notifications"):
        entity = "notifications"
    records = getattr(bundle, entity)
    other = (position + 1) % len(records)
    records[position] = records[position].model_copy(update={"id": records[other].id})
    return entity, "duplicate_id"


@SETTINGS
@given(
    n=st.integers(min_value=2, max_value=6),
    kind=st.sampled_from(CORRUPTIONS),
    entity=st.sampled_from(
        ["incidents", "timeline_events", "action_items", "notifications", "classifications"]
    ),
    data=st.data(),
)
def test_one_bad_row_changes_nothing(
    reg: Register, n: int, kind: str, entity: str, data: st.DataObject
) -> None:
    if not reg.list_incidents():
        _seed(reg)
    before = _state(reg)
    bundle = _bundle(n)
    if kind == "unknown_incident" and entity == "incidents":
        entity = "timeline_events"
    position = data.draw(st.integers(min_value=0, max_value=n - 1))
    file, problem = _corrupt(bundle, kind, entity, position)
    with pytest.raises(ValidationFailed, match="nothing was written") as caught:
        reg.import_bundle(bundle, by="fuzz")
    failures = caught.value.failures
    assert failures and all(set(row) == FAILURE_KEYS for row in failures)
    assert any(row["file"] == file and row["problem"] == problem for row in failures), failures
    assert _state(reg) == before


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "register.sqlite"
    with open_register(path, create=True) as reg:
        _seed(reg)
    return path


@pytest.fixture(scope="module")
def bundle_bytes(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    path = tmp_path_factory.mktemp("bundle") / "bundle.json"
    write_bundle(_bundle(3), path)
    return path.read_bytes()


@SETTINGS
@given(
    flips=st.lists(
        st.tuples(st.integers(min_value=0), st.integers(min_value=0, max_value=255)), min_size=1, max_size=4
    )
)
def test_flipped_bytes_import_whole_or_change_nothing(
    template: Path, bundle_bytes: bytes, tmp_path: Path, flips: list[tuple[int, int]]
) -> None:
    folder = tmp_path / f"case-{abs(hash(tuple(flips)))}"
    folder.mkdir()
    register_path = folder / "register.sqlite"
    shutil.copy(template, register_path)
    damaged = bytearray(bundle_bytes)
    for offset, value in flips:
        damaged[offset % len(damaged)] = value
    bundle_path = folder / "bundle.json"
    bundle_path.write_bytes(bytes(damaged))
    with open_register(register_path) as reg:
        before = _state(reg)
        try:
            bundle = read_bundle(bundle_path, allow_external=True)
            counts = reg.import_bundle(bundle, by="fuzz")
        except ValidationFailed as exc:
            assert exc.failures, "a refused import must say why, row by row"
            assert _state(reg) == before
            return
        after = _state(reg)
        added = {name: len(after[name]) - len(before[name]) for name in counts}
        assert added == counts  # imported whole
