"""Text fields have documented maximum lengths (register.schema.TEXT_LIMITS), enforced on every path.

A 1,000,000-character title is refused on add, update and import with a message naming the field and
its limit; values at the limit are kept; the limits of id-like fields fit the database columns.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from pydantic import BaseModel

from register import Incident, Register, ValidationFailed
from register import _tables as t
from register.io import read_bundle, read_entities
from register.schema import (
    MAX_ITEM_LENGTH,
    MAX_TEXT_LENGTH,
    MAX_TITLE_LENGTH,
    TEXT_LIMITS,
    ActionItem,
    AiSystem,
    Classification,
    Evidence,
    Notification,
    TimelineEvent,
)

HUGE = "x" * 1_000_000


def test_a_huge_title_is_refused_on_add_and_nothing_is_written(reg: Register, incident_data) -> None:
    message = f"title: String should have at most {MAX_TITLE_LENGTH}"
    with pytest.raises(ValidationFailed, match=message) as caught:
        reg.add_incident(incident_data(title=HUGE))
    (failure,) = caught.value.failures
    assert failure["column"] == "title" and len(str(failure["value"])) <= 80  # the value is shortened
    assert reg.list_incidents() == []


def test_values_at_the_limit_are_kept(reg: Register, incident_data) -> None:
    incident = reg.add_incident(
        incident_data(
            title="t" * MAX_TITLE_LENGTH, summary="s" * MAX_TEXT_LENGTH, tags=["g" * MAX_ITEM_LENGTH]
        )
    )
    back = reg.get_incident(incident.id)
    assert len(back.title) == MAX_TITLE_LENGTH and len(back.summary or "") == MAX_TEXT_LENGTH
    assert back.tags == ["g" * MAX_ITEM_LENGTH]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("summary", "s" * (MAX_TEXT_LENGTH + 1)),
        ("tags", ["ok", "g" * (MAX_ITEM_LENGTH + 1)]),
        ("incident_commander", "n" * 201),
    ],
)
def test_a_too_long_value_is_refused_on_update(
    reg: Register, incident_data, field: str, value: object
) -> None:
    incident = reg.add_incident(incident_data())
    with pytest.raises(ValidationFailed, match=f"{field}(\\.1)?: String should have at most"):
        reg.update_incident(incident.id, {field: value})
    assert reg.get_incident(incident.id) == incident


def test_a_too_long_child_text_is_refused(reg: Register, incident_data) -> None:
    incident = reg.add_incident(incident_data())
    with pytest.raises(ValidationFailed, match="description: String should have at most"):
        reg.add_timeline_event(
            {"incident_id": incident.id, "at": incident.aware_at, "kind": "note", "description": HUGE}
        )
    assert reg.timeline(incident.id) == []


def test_imports_list_each_too_long_field_in_the_error_table(tmp_path: Path) -> None:
    path = tmp_path / "incidents.csv"
    path.write_text(
        "id,title,category,severity,aware_at,summary\n"
        f"INC-2026-0001,{HUGE},safety,SEV-1,2026-03-01T10:00:00Z,fine\n"
        f"INC-2026-0002,fine,safety,SEV-1,2026-03-01T10:00:00Z,{'s' * (MAX_TEXT_LENGTH + 1)}\n",
        encoding="utf-8",
    )
    with pytest.raises(ValidationFailed) as caught:
        read_entities(path, "incidents")
    rows = {(f["row"], f["column"]) for f in caught.value.failures}
    assert rows == {(2, "title"), (3, "summary")}
    assert all("at most" in str(f["message"]) for f in caught.value.failures)


def test_a_bundle_document_with_a_huge_title_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bundle.yaml"
    path.write_text(
        "format: workbench-bundle\nversion: 1\nincidents:\n"
        f"- {{id: INC-2026-0001, title: {HUGE}, category: safety, severity: SEV-1, aware_at: 2026-03-01}}\n",
        encoding="utf-8",
    )
    with pytest.raises(ValidationFailed) as caught:
        read_bundle(path)
    assert [(f["column"], f["problem"]) for f in caught.value.failures] == [("title", "invalid_value")]


def _max_length(model: type[BaseModel], field: str) -> int | None:
    """The ``maxLength`` of a text field in the record's JSON schema (``X | None`` too)."""
    schema = model.model_json_schema(mode="validation")["properties"][field]
    lengths = [part.get("maxLength") for part in [schema, *schema.get("anyOf", [])]]
    return next((length for length in lengths if length is not None), None)


CLOSED_VALUES = {"category", "kind", "severity", "status", "detection_source", "role", "priority"}
CLOSED_VALUES |= {"audience", "report_type", "postmortem_status", "sha256"}
"""Columns of vocabularies, literals and patterns: their values are shorter than the column."""


@pytest.mark.parametrize(
    ("model", "table"),
    [
        (AiSystem, t.ai_systems),
        (Incident, t.incidents),
        (TimelineEvent, t.timeline_events),
        (ActionItem, t.action_items),
        (Notification, t.notifications),
        (Evidence, t.evidence),
        (Classification, t.classifications),
    ],
)
def test_limits_fit_the_columns(model: type[BaseModel], table: sa.Table) -> None:
    checked = 0
    for column in table.columns:
        width = getattr(column.type, "length", None)
        if width is None or column.name in CLOSED_VALUES or column.name not in model.model_fields:
            continue
        limit = _max_length(model, column.name)
        assert limit is not None and limit <= width, (table.name, column.name, limit, width)
        checked += 1
    assert checked  # every table has an id or incident_id column of fixed width


def test_the_limits_table_is_the_one_place_the_numbers_live() -> None:
    assert TEXT_LIMITS == {
        "incident id": 32,
        "key": 64,
        "name": 200,
        "title": MAX_TITLE_LENGTH,
        "item": MAX_ITEM_LENGTH,
        "text": MAX_TEXT_LENGTH,
    }
