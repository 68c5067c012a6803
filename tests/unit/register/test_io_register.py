"""Import files into a real register: malformed input never changes it (all-or-nothing)."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from register.api import Register
from register.errors import ValidationFailed
from register.io import Bundle, read_aiid_incidents, read_bundle, write_bundle
from register.schema import ActionItem, AiSystem, Incident, TimelineEvent

AWARE = datetime(2026, 3, 1, 9, tzinfo=UTC)


def _bundle(first_number: int) -> Bundle:
    incidents = [
        Incident(
            id=f"INC-2026-{first_number + n:04d}",
            title=f"Incident {n}",
            category="data_quality",
            severity="SEV-3",
            system_id="credit",
            occurred_at=AWARE - timedelta(hours=2),
            aware_at=AWARE + timedelta(days=n),
        )
        for n in range(3)
    ]
    events = [
        TimelineEvent(incident_id=i.id, at=i.aware_at, kind="detection", description="alert fired")
        for i in incidents
    ]
    items = [
        ActionItem(id=f"A-{i.id}", incident_id=i.id, title="Add a check", kind="detect") for i in incidents
    ]
    return Bundle(incidents=incidents, timeline_events=events, action_items=items)


def _snapshot(register: Register) -> dict[str, pd.DataFrame]:
    return {
        "incidents": register.incidents_frame(),
        "timeline": register.timeline_frame(),
        "actions": register.action_items_frame(),
        "systems": register.systems_frame(),
        "history": register.history_frame(),
    }


def _same(before: dict[str, pd.DataFrame], after: dict[str, pd.DataFrame]) -> bool:
    return all(before[name].equals(after[name]) for name in before)


@pytest.fixture
def register(tmp_path: Path):
    with Register.init(tmp_path / "register.sqlite") as opened:
        seed = _bundle(1)
        seed.ai_systems = [AiSystem(id="credit", name="Credit scoring")]
        opened.import_bundle(seed, by="test")
        yield opened


MUTATIONS = st.sampled_from(["bad_severity", "garbled_time", "truncated", "noise", "missing_column", "clash"])


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(mutation=MUTATIONS, position=st.integers(0, 10_000), noise=st.binary(min_size=1, max_size=64))
def test_malformed_import_files_never_change_the_register(
    register: Register, tmp_path: Path, mutation: str, position: int, noise: bytes
) -> None:
    before = _snapshot(register)
    folder = tmp_path / "incoming"
    if folder.exists():
        shutil.rmtree(folder)
    write_bundle(_bundle(101), folder, "csv")
    incidents = folder / "incidents.csv"
    text = incidents.read_text(encoding="utf-8")
    if mutation == "bad_severity":
        incidents.write_text(text.replace("SEV-3", "SEV-0", 1 + position % 3), encoding="utf-8")
    elif mutation == "garbled_time":
        incidents.write_text(text.replace("2026-03-0", "2026-00-0", 1), encoding="utf-8")
    elif mutation == "truncated":
        incidents.write_text(text[: position % len(text.splitlines()[0])], encoding="utf-8")
    elif mutation == "noise":
        data = incidents.read_bytes()
        cut = position % len(data)
        incidents.write_bytes(data[:cut] + b"\xff" + noise + data[cut:])  # 0xff is never valid UTF-8
    elif mutation == "missing_column":
        lines = text.splitlines()
        incidents.write_text("\n".join(line.split(",", 1)[1] for line in lines) + "\n", encoding="utf-8")
    elif mutation == "clash":
        # a valid file whose third incident already exists in the register: refused as a whole
        incidents.write_text(text.replace("INC-2026-0103", "INC-2026-0003"), encoding="utf-8")
        for child in ("timeline_events.csv", "action_items.csv"):
            path = folder / child
            path.write_text(
                path.read_text(encoding="utf-8").replace("INC-2026-0103", "INC-2026-0003"), "utf-8"
            )
    with pytest.raises(ValidationFailed) as caught:
        register.import_bundle(read_bundle(folder, allow_external=True), by="test")
    assert caught.value.failures
    assert _same(before, _snapshot(register))


def test_valid_import_then_export_round_trips_through_the_register(
    register: Register, tmp_path: Path
) -> None:
    folder = write_bundle(_bundle(201), tmp_path / "incoming", "csv")
    register.import_bundle(read_bundle(folder, allow_external=True), by="test")
    assert len(register.incidents_frame()) == 6
    exported = register.export_bundle(incident_ids=["INC-2026-0201", "INC-2026-0202", "INC-2026-0203"])
    assert [i.id for i in exported.incidents] == ["INC-2026-0201", "INC-2026-0202", "INC-2026-0203"]
    target = write_bundle(exported, tmp_path / "out.json")
    assert read_bundle(target, allow_external=True) == exported


def test_aiid_sample_imports_into_the_register(register: Register) -> None:
    result = read_aiid_incidents(Path(__file__).parent / "fixtures" / "aiid")
    register.import_bundle(result.bundle, by="test")
    frame = register.incidents_frame()
    assert {"INC-2016-0006", "INC-2024-10423"} <= set(frame["id"])
    assert len(register.classifications_frame()) == len(result.bundle.classifications)
