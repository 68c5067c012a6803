"""Tabletop scenario generator: layout, determinism, chunk independence and register seed files."""

from __future__ import annotations

import csv
import glob
import hashlib
import json
import typing
from datetime import timedelta
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml
from pydantic import BaseModel

import workbench.scenarios._generate as generator
from register.schema import (
    INCIDENT_ID_PATTERN,
    ActionItem,
    ActionItemStatus,
    AiSystem,
    DataCard,
    Incident,
    IncidentCategory,
    IncidentStatus,
    Notification,
    Severity,
    TimelineEvent,
)
from workbench.errors import WorkbenchError
from workbench.scenarios import LLM_SYSTEM, LOGGED_SYSTEMS, SYSTEM_IDS, ScenarioEffects, generate
from workbench.scenarios._logs import build_context, generate_day
from workbench.scenarios._plan import from_us, make_plan


def _hashes(root: Path) -> dict[str, str]:
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


@pytest.fixture(scope="module")
def tiny_pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    first = tmp_path_factory.mktemp("tiny_a")
    second = tmp_path_factory.mktemp("tiny_b")
    generate(first, seed=4, rows_per_day=100)
    generate(second, seed=4, rows_per_day=100)
    return first, second


def test_same_seed_gives_byte_identical_files(tiny_pair: tuple[Path, Path]) -> None:
    first, second = tiny_pair
    hashes_a, hashes_b = _hashes(first), _hashes(second)
    assert len(hashes_a) > 3 * 180
    assert hashes_a == hashes_b


def test_another_seed_gives_other_data() -> None:
    plan_a, plan_b = make_plan(4), make_plan(5)
    day_a = generate_day(build_context(4, 100, ScenarioEffects(), plan_a), "credit_scoring", 3).table
    day_b = generate_day(build_context(5, 100, ScenarioEffects(), plan_b), "credit_scoring", 3).table
    assert not day_a.equals(day_b)


def test_data_does_not_depend_on_chunk_size(tiny_pair: tuple[Path, Path], tmp_path: Path) -> None:
    reference = tiny_pair[0]
    files = sorted((reference / "logs").rglob("*.parquet"))[::97]  # prediction and interaction logs
    assert len(files) >= 5
    for path in files:
        table = pq.read_table(path)
        rechunked = tmp_path / "rechunked.parquet"
        generator._write_parquet(table, rechunked, 37)
        assert pq.ParquetFile(rechunked).num_row_groups > 1
        assert pq.ParquetFile(path).num_row_groups == 1
        assert pq.read_table(rechunked).equals(table)


def test_a_day_generated_alone_equals_the_written_day(tiny_pair: tuple[Path, Path]) -> None:
    plan = make_plan(4)
    ctx = build_context(4, 100, ScenarioEffects(), plan)
    for system_id, day in (("credit_scoring", 97), ("fraud_detection", 61), ("dynamic_pricing", 179)):
        date = from_us(plan.day_start_us(day)).date().isoformat()
        written = pq.read_table(tiny_pair[0] / "logs" / system_id / f"date={date}" / "part-0.parquet")
        assert generate_day(ctx, system_id, day).table.equals(written)


def test_layout_and_scenario_json(small_scenario) -> None:
    out = small_scenario.out
    scenario = json.loads((out / "scenario.json").read_text())
    assert scenario["seed"] == 11 and scenario["rows_per_day"] == 400
    assert scenario["as_of"] == small_scenario.as_of.isoformat().replace("+00:00", "Z")
    assert ScenarioEffects.model_validate(scenario["effects"]) == ScenarioEffects()
    manifest = json.loads((out / "register" / "manifest.json").read_text())
    assert manifest == {
        "format": "workbench-bundle",
        "version": 1,
        "files": {
            "ai_systems": "ai_systems.json",
            "incidents": "incidents.csv",
            "timeline_events": "timeline_events.csv",
            "action_items": "action_items.csv",
            "notifications": "notifications.csv",
        },
    }
    for name in manifest["files"].values():
        assert (out / "register" / name).is_file()
    for system_id in LOGGED_SYSTEMS:
        days = sorted((out / "logs" / system_id).glob("date=*/part-0.parquet"))
        assert len(days) == 180
    assert (out / "sensitive" / "credit_scoring.parquet").is_file()
    assert small_scenario.ground_truth_path == out / "ground_truth.json"
    assert "as_of" in small_scenario.describe() and str(out) in small_scenario.describe()


def test_anchor_comes_from_the_seed_not_the_clock() -> None:
    assert make_plan(7).anchor == make_plan(7).anchor
    assert make_plan(7).anchor != make_plan(8).anchor or make_plan(7).anchor != make_plan(9).anchor
    for seed in (0, 7, 123):
        plan = make_plan(seed)
        assert plan.anchor.year in (2025, 2026) and plan.as_of - plan.anchor == timedelta(days=180)


def test_data_cards_point_at_the_written_files(small_scenario) -> None:
    out = small_scenario.out
    systems = [
        AiSystem.model_validate(s) for s in json.loads((out / "register" / "ai_systems.json").read_text())
    ]
    assert [s.id for s in systems] == list(SYSTEM_IDS)
    for system in systems:
        if system.id == LLM_SYSTEM:  # an interaction-log card: tests/unit/workbench/test_scenarios_chatbot.py
            assert system.data_card is not None and system.data_card.kind == "interaction_log"
            continue
        if system.id not in LOGGED_SYSTEMS:
            assert system.data_card is None
            continue
        card_from_yaml = DataCard.model_validate(
            yaml.safe_load((out / "datacards" / f"{system.id}.yaml").read_text())
        )
        assert card_from_yaml == system.data_card
        for base in (out / "register", out / "datacards"):
            card = card_from_yaml.with_base(base)
            assert len(glob.glob(card.source.location, recursive=True)) == 180
            if card.sensitive_source is not None:
                assert Path(card.sensitive_source.source.location).is_file()
        columns = system.data_card.columns
        assert len(columns.numeric_features) >= 12 and len(columns.categorical_features) >= 5
        schema = pq.read_schema(next((out / "logs" / system.id).rglob("*.parquet")))
        needed = [columns.event_time, columns.entity_id, columns.request_id, columns.model_version,
                  columns.prediction, columns.label, columns.label_observed_at, *columns.features,
                  *columns.input_as_of.values()]  # fmt: skip
        assert not [name for name in needed if name not in schema.names]
        assert str(schema.field("event_time").type) == "timestamp[us, tz=UTC]"


# --------------------------------------------------------------------------------------------------
# Register seed files
# --------------------------------------------------------------------------------------------------


def _parse(model: type[BaseModel], row: dict[str, str]) -> BaseModel:
    values: dict[str, object] = {}
    for name, info in model.model_fields.items():
        cell = row[name]
        if cell == "":
            values[name] = None
            continue
        origin = typing.get_origin(info.annotation)
        if origin is list or name == "failure_signal":
            values[name] = json.loads(cell)
        else:
            values[name] = cell
    return model.model_validate(values)


def _read(out: Path, name: str, model: type[BaseModel]) -> list:
    with open(out / "register" / f"{name}.csv", newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        assert reader.fieldnames == list(model.model_fields)
        return [_parse(model, row) for row in reader]


@pytest.fixture(scope="module")
def register(small_scenario) -> dict[str, list]:
    out = small_scenario.out
    return {
        "incidents": _read(out, "incidents", Incident),
        "timeline_events": _read(out, "timeline_events", TimelineEvent),
        "action_items": _read(out, "action_items", ActionItem),
        "notifications": _read(out, "notifications", Notification),
    }


def test_every_register_row_validates_and_has_the_expected_mix(register, small_scenario) -> None:
    incidents: list[Incident] = register["incidents"]
    as_of = small_scenario.as_of
    assert len(incidents) >= 150 and small_scenario.n_incidents == len(incidents)
    assert {i.category for i in incidents} == set(IncidentCategory)
    assert {i.system_id for i in incidents} == set(SYSTEM_IDS)
    by_severity = {s: sum(i.severity is s for i in incidents) for s in Severity}
    assert 1 <= by_severity[Severity.SEV1] <= 0.08 * len(incidents)
    assert by_severity[Severity.SEV1] < by_severity[Severity.SEV2] < by_severity[Severity.SEV3]
    assert sum(i.kind == "near_miss" for i in incidents) >= 5
    still_open = [i for i in incidents if i.status not in (IncidentStatus.RECOVERED, IncidentStatus.CLOSED)]
    assert 2 <= len(still_open) <= 0.2 * len(incidents)
    first_aware = min(i.aware_at for i in incidents)
    assert as_of - timedelta(days=731) <= first_aware < as_of - timedelta(days=690)
    assert max(i.aware_at for i in incidents) <= as_of
    assert all(i.incident_commander or i.technical_lead for i in incidents)


def test_incident_ids_and_lifecycle_timestamps_are_consistent(register, small_scenario) -> None:
    import re

    incidents: list[Incident] = register["incidents"]
    assert len({i.id for i in incidents}) == len(incidents)
    stages = ["occurred_at", "aware_at", "acknowledged_at", "triaged_at", "contained_at", "resolved_at",
              "closed_at"]  # fmt: skip
    for incident in incidents:
        assert re.match(INCIDENT_ID_PATTERN, incident.id)
        assert incident.id[4:8] == str(incident.aware_at.year)
        stamps = [getattr(incident, name) for name in stages]
        present = [s for s in stamps if s is not None]
        assert present == sorted(present), incident.id
        # no later stage without the earlier ones (occurred may be unknown)
        reached = [s is not None for s in stamps[1:]]
        assert reached == sorted(reached, reverse=True), incident.id
        assert all(s <= small_scenario.as_of for s in present)
        if incident.causal_link_at is not None:
            assert incident.aware_at <= incident.causal_link_at
        expected = {
            "closed_at": {IncidentStatus.CLOSED},
            "resolved_at": {IncidentStatus.RECOVERED},
            "contained_at": {IncidentStatus.CONTAINED, IncidentStatus.INVESTIGATING},
            "triaged_at": {IncidentStatus.TRIAGED},
            "aware_at": {IncidentStatus.DETECTED},
        }
        last = next(name for name in reversed(stages) if getattr(incident, name) is not None)
        assert incident.status in expected[last], (incident.id, last, incident.status)
        assert incident.ongoing == (incident.contained_at is None)


def test_children_reference_incidents_and_time_rules(register, small_scenario) -> None:
    ids = {i.id for i in register["incidents"]}
    as_of = small_scenario.as_of
    for entity in ("timeline_events", "action_items", "notifications"):
        assert register[entity] and {r.incident_id for r in register[entity]} <= ids
    items: list[ActionItem] = register["action_items"]
    overdue = [
        a
        for a in items
        if a.due_at < as_of and a.status in (ActionItemStatus.OPEN, ActionItemStatus.IN_PROGRESS)
    ]
    assert len(overdue) >= 3
    assert all(a.completed_at is not None for a in items if a.status is ActionItemStatus.DONE)
    assert all(a.completed_at <= as_of for a in items if a.completed_at is not None)
    notices: list[Notification] = register["notifications"]
    assert sum(n.sent_at is not None and n.sent_at > n.due_at for n in notices) >= 2
    regimes = {n.regime for n in notices}
    assert {"eu_ai_act_art73", "colorado_sb24_205"} <= regimes
    assert regimes & {"gdpr_art33", "gpai_cop"}


def test_planted_incidents_and_blame_phrasing(register, small_scenario) -> None:
    truth = json.loads(small_scenario.ground_truth_path.read_text())
    incidents = {i.id: i for i in register["incidents"]}
    for scenario in truth["scenarios"]:
        if scenario["control"]:
            assert scenario["incident_id"] is None
            continue
        incident = incidents[scenario["incident_id"]]
        assert incident.system_id == scenario["system_id"]
        assert incident.occurred_at.isoformat().replace("+00:00", "Z") == scenario["onset"]
        assert timedelta(hours=1) <= incident.aware_at - incident.occurred_at <= timedelta(days=7)
        if scenario["end"] is None:
            assert incident.contained_at is None and incident.ongoing
        else:
            assert incident.contained_at.isoformat().replace("+00:00", "Z") == scenario["end"]
    blamed = truth["blame_phrasing_incidents"]
    assert len(blamed) == 2
    phrases = ("human error", "careless", "failed to", "forgot", "negligen", "fault of")

    def text(incident: Incident) -> str:
        parts = [incident.title, incident.summary, incident.resolution, incident.lessons_learned,
                 *incident.contributing_factors]  # fmt: skip
        return " ".join(p for p in parts if p).lower()

    flagged = {i.id for i in incidents.values() if any(p in text(i) for p in phrases)}
    assert flagged == set(blamed)


def test_bad_options_are_user_errors(tmp_path: Path) -> None:
    with pytest.raises(WorkbenchError, match="rows_per_day must be"):
        generate(tmp_path / "x", rows_per_day=3)
    with pytest.raises(WorkbenchError, match="seed must be"):
        generate(tmp_path / "x", seed=-1)
    (tmp_path / "busy" / "logs").mkdir(parents=True)
    with pytest.raises(WorkbenchError, match="earlier scenario"):
        generate(tmp_path / "busy", rows_per_day=60)
    with pytest.raises(ValueError, match="stale_warehouse"):
        ScenarioEffects(stale_warehouse="wh_mars")
