"""The Register API: records in and out, filters, DataFrames, children, history, bundles."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from register import (
    ActionItem,
    AiSystem,
    Classification,
    ConflictError,
    DataCard,
    Evidence,
    Incident,
    NotFoundError,
    Notification,
    Register,
    TimelineEvent,
    ValidationFailed,
)
from register.io import Bundle
from register.schema import ColumnRoles, DataSource, PredictionConditionSignal

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)

CARD = DataCard(
    source=DataSource(location="logs/credit/*.parquet"),
    task="binary_classification",
    columns=ColumnRoles(
        event_time="ts", entity_id="applicant", features=["income"], prediction="y_pred", label="y"
    ),
)


def _system(system_id: str = "credit", **overrides: object) -> AiSystem:
    return AiSystem(id=system_id, name="Credit scoring", owner_team="risk-ml", data_card=CARD, **overrides)


def _table_counts(reg: Register) -> dict[str, int]:
    import sqlalchemy as sa

    from register._tables import metadata

    with reg.engine.connect() as connection:
        return {
            name: connection.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
            for name, table in metadata.tables.items()
        }


# -- AI systems -----------------------------------------------------------------------------------------


def test_systems_and_data_cards(reg: Register) -> None:
    reg.add_system(_system(), by="ana")
    reg.add_system({"id": "chat", "name": "Support assistant"})
    assert [s.id for s in reg.list_systems()] == ["chat", "credit"]
    assert reg.get_system("credit").data_card == CARD
    assert reg.get_data_card("credit").columns.features == ["income"]
    with pytest.raises(NotFoundError, match="has no data card"):
        reg.get_data_card("chat")
    with pytest.raises(NotFoundError, match="no AI system 'nope'"):
        reg.get_system("nope")
    with pytest.raises(ValidationFailed, match="already in the register"):
        reg.add_system(_system())
    updated = reg.update_system("chat", {"risk_tier": "limited"}, by="bo")
    assert updated.risk_tier == "limited" == reg.get_system("chat").risk_tier
    entries = reg.history("ai_system", "chat")
    assert [(e.field, e.old_value, e.new_value, e.changed_by) for e in entries[1:]] == [
        ("risk_tier", None, "limited", "bo")
    ]
    frame = reg.systems_frame()
    assert frame.loc[frame["id"] == "credit", "data_card"].iloc[0]["task"] == "binary_classification"


def test_incident_with_card_returns_the_incident_and_its_systems_card(reg: Register, incident_data) -> None:
    reg.add_system(_system())
    incident = reg.add_incident(incident_data(system_id="credit"))
    assert reg.incident_with_card(incident.id) == (incident, CARD)


def test_incident_with_card_says_which_cli_command_fixes_each_gap(reg: Register, incident_data) -> None:
    with pytest.raises(NotFoundError, match=r"no incident INC-2026-0404; `workbench register list`"):
        reg.incident_with_card("INC-2026-0404")
    bare = reg.add_incident(incident_data())
    with pytest.raises(NotFoundError, match="names no AI system") as caught:
        reg.incident_with_card(bare.id)
    assert f"`workbench register update {bare.id} --set system_id=...`" in str(caught.value)
    reg.add_system({"id": "chat", "name": "Support assistant"})
    chat = reg.add_incident(incident_data(system_id="chat"))
    with pytest.raises(NotFoundError) as caught:
        reg.incident_with_card(chat.id)
    assert f"AI system 'chat' (the AI system of {chat.id}) has no data card" in str(caught.value)
    assert "`workbench register import" in str(caught.value)


@pytest.mark.parametrize(
    "call",
    [
        lambda reg: reg.get_system("nope"),
        lambda reg: reg.get_data_card("chat"),
        lambda reg: reg.incident_with_card("INC-2026-0404"),
        lambda reg: reg.add_incident(
            {"title": "x", "category": "safety", "severity": "SEV-2", "aware_at": T0, "system_id": "ghost"}
        ),
        lambda reg: reg.update_incident("INC-2026-0001", {"status": "closed"}),
    ],
    ids=["unknown system", "no data card", "unknown incident", "unknown system on add", "status by update"],
)
def test_messages_name_cli_commands_not_python_calls(reg: Register, incident_data, call) -> None:
    reg.add_system({"id": "chat", "name": "Support assistant"})
    reg.add_incident(incident_data(system_id="chat"))
    with pytest.raises((NotFoundError, ValidationFailed)) as caught:
        call(reg)
    message = str(caught.value)
    assert "`workbench register " in message
    for python_only in ("open_register(", "Register.update_system", "Register.list_systems", "read_entities"):
        assert python_only not in message


# -- incidents ------------------------------------------------------------------------------------------


def test_add_get_and_the_created_history_row(reg: Register, incident_data) -> None:
    reg.add_system(_system())
    signal = PredictionConditionSignal(column="score", op=">", value=0.9)
    incident = reg.add_incident(
        incident_data(system_id="credit", tags=["loans"], failure_signal=signal, reversible=True), by="ana"
    )
    assert incident.id == "INC-2026-0001"
    back = reg.get_incident(incident.id)
    assert back == incident
    assert back.failure_signal == signal and back.tags == ["loans"] and back.reversible is True
    created = reg.history("incidents", incident.id)
    assert len(created) == 1 and created[0].field == "(created)" and created[0].changed_by == "ana"
    snapshot = json.loads(created[0].new_value or "")
    assert snapshot["title"] == incident.title and snapshot["aware_at"] == "2026-03-02T09:00:00Z"


def test_add_refuses_unknown_system_duplicates_and_invalid_fields(reg: Register, incident_data) -> None:
    with pytest.raises(NotFoundError, match="no AI system 'ghost'"):
        reg.add_incident(incident_data(system_id="ghost"))
    reg.add_incident(incident_data(id="INC-2026-0007"))
    with pytest.raises(ValidationFailed, match="already in the register"):
        reg.add_incident(incident_data(id="INC-2026-0007"))
    with pytest.raises(ValidationFailed, match="severity") as caught:
        reg.add_incident(incident_data(severity="SEV-9"))
    assert caught.value.failures[0]["column"] == "severity"
    assert caught.value.failures[0]["problem"] == "invalid_value"
    assert [i.id for i in reg.list_incidents()] == ["INC-2026-0007"]


def test_unknown_incident_message_says_where_to_look(reg: Register) -> None:
    with pytest.raises(NotFoundError) as caught:
        reg.get_incident("INC-2026-0999")
    assert str(caught.value) == "no incident INC-2026-0999; `workbench register list` shows the ids."
    for call in (
        lambda: reg.update_incident("INC-2026-0999", {"title": "x"}),
        lambda: reg.transition("INC-2026-0999", "triaged"),
        lambda: reg.add_timeline_event(
            {"incident_id": "INC-2026-0999", "at": T0, "kind": "note", "description": "x"}
        ),
        lambda: reg.timeline("INC-2026-0999"),
        lambda: reg.update_action_item("INC-2026-0999-A1", {"status": "done"}),
    ):
        with pytest.raises(NotFoundError, match="INC-2026-0999"):
            call()


def test_update_writes_one_history_row_per_changed_field(reg: Register, incident_data) -> None:
    incident = reg.add_incident(incident_data())
    reg.update_incident(incident.id, {"title": "New title", "affected_count": 5, "summary": None}, by="ana")
    reg.update_incident(incident.id, {"affected_count": 7, "tags": ["x"]}, by="bo")
    reg.update_incident(incident.id, {"affected_count": 7}, by="cy")  # no change, no row
    rows = [
        (h.field, h.old_value, h.new_value, h.changed_by) for h in reg.history("incidents", incident.id)[1:]
    ]
    assert rows == [
        ("title", "Credit model rejects more applicants", "New title", "ana"),
        ("affected_count", "0", "5", "ana"),
        ("affected_count", "5", "7", "bo"),
        ("tags", "[]", '["x"]', "bo"),
    ]
    frame = reg.incidents_frame()
    assert frame.loc[0, "updated_by"] == "bo"


def test_update_refuses_status_id_and_stale_expectations(reg: Register, incident_data) -> None:
    incident = reg.add_incident(incident_data())
    with pytest.raises(ValidationFailed, match="status changes only through transition"):
        reg.update_incident(incident.id, {"status": "closed"})
    with pytest.raises(ValidationFailed, match="id cannot change"):
        reg.update_incident(incident.id, {"id": "INC-2026-0002"})
    with pytest.raises(ValidationFailed, match="no_such_field"):
        reg.update_incident(incident.id, {"no_such_field": 1})
    reg.update_incident(incident.id, {"affected_count": 3}, expected={"affected_count": 0})
    with pytest.raises(ConflictError, match="changed since you read it"):
        reg.update_incident(incident.id, {"affected_count": 4}, expected={"affected_count": 0})
    assert reg.get_incident(incident.id).affected_count == 3
    assert (
        reg.update_incident(incident.id, lambda i: {"affected_count": i.affected_count * 2}).affected_count
        == 6
    )


def _populate(reg: Register, incident_data) -> list[Incident]:
    reg.add_system(_system("credit"))
    reg.add_system(_system("chat"))
    made = [
        reg.add_incident(incident_data(system_id="credit", severity="SEV-1", category="fairness_bias")),
        reg.add_incident(incident_data(system_id="credit", severity="SEV-3", aware_at=T0 + 24 * HOUR)),
        reg.add_incident(
            incident_data(system_id="chat", severity="SEV-2", aware_at=T0 + 48 * HOUR, kind="near_miss")
        ),
        reg.add_incident(incident_data(severity="SEV-4", aware_at=T0 - 24 * HOUR)),
    ]
    reg.transition(made[2].id, "triaged", at=T0 + 49 * HOUR)
    reg.transition(made[2].id, "closed", at=T0 + 50 * HOUR)
    return made


def test_list_filters(reg: Register, incident_data) -> None:
    a, b, c, d = _populate(reg, incident_data)
    ids = lambda **kw: [i.id for i in reg.list_incidents(**kw)]  # noqa: E731
    assert ids() == [d.id, a.id, b.id, c.id]  # by became-aware time
    assert ids(system="credit") == [a.id, b.id]
    assert ids(system=["credit", "chat"]) == [a.id, b.id, c.id]
    assert ids(severity=["SEV-1", "SEV-4"]) == [d.id, a.id]
    assert ids(category="fairness_bias") == [a.id]
    assert ids(status="closed") == [c.id]
    assert ids(open_only=True) == [d.id, a.id, b.id]
    assert ids(kind="near_miss") == [c.id]
    assert ids(since=T0, until=T0 + 48 * HOUR) == [a.id, b.id]
    assert ids(since=T0 + 24 * HOUR, system="credit", severity="SEV-3") == [b.id]
    assert ids(limit=2) == [d.id, a.id]
    frame = reg.incidents_frame(open_only=True, system="credit")
    assert list(frame["id"]) == [a.id, b.id]


def test_incidents_frame_types(reg: Register, incident_data) -> None:
    _populate(reg, incident_data)
    frame = reg.incidents_frame()
    assert len(frame) == 4
    for column in ("aware_at", "occurred_at", "triaged_at", "closed_at", "updated_at"):
        assert str(frame[column].dtype) == "datetime64[us, UTC]", column
    assert str(frame["affected_count"].dtype) == "Int64"
    assert str(frame["ongoing"].dtype) == "boolean"
    assert frame["tags"].map(type).eq(list).all()
    closed = frame.set_index("id").loc["INC-2026-0003"]
    assert closed["closed_at"] == T0 + 50 * HOUR
    assert pd.isna(frame.set_index("id").loc["INC-2026-0001", "closed_at"])
    empty = reg.incidents_frame(severity="SEV-1", system="chat")
    assert len(empty) == 0 and str(empty["aware_at"].dtype) == "datetime64[us, UTC]"
    assert list(empty.columns) == list(frame.columns)


# -- children -------------------------------------------------------------------------------------------


def test_children_records_ids_and_frames(reg: Register, incident_data) -> None:
    incident = reg.add_incident(incident_data())
    other = reg.add_incident(incident_data())
    later = reg.add_timeline_event(
        TimelineEvent(incident_id=incident.id, at=T0 + 2 * HOUR, kind="deploy", description="v2 deployed")
    )
    first = reg.add_timeline_event(
        {
            "incident_id": incident.id,
            "at": "2026-03-02T10:00:00+02:00",
            "kind": "detection",
            "description": "alert",
        }
    )
    assert isinstance(later.id, int) and first.id == later.id + 1
    assert [e.description for e in reg.timeline(incident.id)] == ["alert", "v2 deployed"]
    assert reg.timeline(incident.id)[0].at == T0 - HOUR

    items = [
        reg.add_action_item(
            {"incident_id": incident.id, "title": "Add drift alert", "kind": "detect", "due_at": T0}
        ),
        reg.add_action_item(ActionItem(incident_id=incident.id, title="Retrain", kind="prevent")),
        reg.add_action_item({"incident_id": other.id, "title": "Runbook", "kind": "process"}),
    ]
    assert [i.id for i in items] == [f"{incident.id}-A1", f"{incident.id}-A2", f"{other.id}-A1"]
    done = reg.update_action_item(items[0].id, {"status": "done"}, by="ops")
    assert done.completed_at is not None and done.completed_at >= datetime.now(UTC) - timedelta(minutes=1)
    assert [(h.field, h.new_value) for h in reg.history("action_items", items[0].id)][1] == ("status", "done")
    with pytest.raises(ValidationFailed, match="keeps its ids"):
        reg.update_action_item(items[1].id, {"incident_id": other.id})

    initial = reg.add_notification(
        Notification(
            incident_id=incident.id, audience="regulator", regime="eu_ai_act_art73", due_at=T0 + 48 * HOUR
        )
    )
    follow_up = reg.add_notification(
        {
            "incident_id": incident.id,
            "audience": "regulator",
            "regime": "eu_ai_act_art73",
            "report_type": "follow_up",
        }
    )
    assert (initial.id, follow_up.id) == (f"{incident.id}-N1", f"{incident.id}-N2")
    sent = reg.update_notification(initial.id, {"sent_at": T0 + 20 * HOUR, "reference": "REF-1"})
    assert sent.sent_at == T0 + 20 * HOUR

    evidence = reg.add_evidence(
        Evidence(incident_id=incident.id, kind="notebook", uri="runs/1/impact.ipynb", captured_at=T0)
    )
    label = reg.add_classification(
        Classification(incident_id=incident.id, namespace="MIT", attribute="domain", value="7.3")
    )
    assert reg.evidence(incident.id) == [evidence]
    assert reg.classifications(incident.id) == [label]

    timeline = reg.timeline_frame()
    assert list(timeline["description"]) == ["alert", "v2 deployed"]
    assert str(timeline["at"].dtype) == "datetime64[us, UTC]"
    actions = reg.action_items_frame()
    assert len(actions) == 3 and str(actions["due_at"].dtype) == "datetime64[us, UTC]"
    assert len(reg.action_items_frame(other.id)) == 1
    notes = reg.notifications_frame(incident.id)
    assert notes["reference"].iloc[0] == "REF-1" and pd.isna(notes["reference"].iloc[1])
    assert len(reg.evidence_frame()) == 1 and len(reg.classifications_frame()) == 1
    history = reg.history_frame(entity="timeline_events")
    assert len(history) == 2 and str(history["changed_at"].dtype) == "datetime64[us, UTC]"


def test_history_of_unknown_entity_type_is_refused(reg: Register) -> None:
    with pytest.raises(ValidationFailed, match="entity must be one of"):
        reg.history("incidentz", "INC-2026-0001")


# -- bundles --------------------------------------------------------------------------------------------


def _bundle(n_incidents: int = 3, *, start: int = 1) -> Bundle:
    bundle = Bundle(ai_systems=[_system()])
    for n in range(start, start + n_incidents):
        incident_id = f"INC-2025-{n:04d}"
        bundle.incidents.append(
            Incident(
                id=incident_id,
                title=f"incident {n}",
                system_id="credit",
                category="data_quality",
                severity="SEV-3",
                aware_at=T0 + n * HOUR,
                contained_at=T0 + (n + 1) * HOUR,
            )
        )
        bundle.timeline_events.append(
            TimelineEvent(incident_id=incident_id, at=T0 + n * HOUR, kind="detection", description="alert")
        )
        bundle.action_items.append(ActionItem(incident_id=incident_id, title="fix", kind="mitigate"))
        bundle.notifications.append(Notification(incident_id=incident_id, audience="executive"))
        bundle.evidence.append(
            Evidence(incident_id=incident_id, kind="log", uri=f"s3://x/{n}", captured_at=T0)
        )
        bundle.classifications.append(
            Classification(incident_id=incident_id, namespace="CSET", attribute="harm", value="none")
        )
    return bundle


def test_import_bundle_writes_everything(reg: Register) -> None:
    counts = reg.import_bundle(_bundle(3), by="importer")
    assert counts == {
        "ai_systems": 1,
        "incidents": 3,
        "timeline_events": 3,
        "action_items": 3,
        "notifications": 3,
        "evidence": 3,
        "classifications": 3,
    }
    assert [i.id for i in reg.list_incidents()] == ["INC-2025-0001", "INC-2025-0002", "INC-2025-0003"]
    assert [a.id for a in reg.action_items("INC-2025-0002")] == ["INC-2025-0002-A1"]
    table_counts = _table_counts(reg)
    assert table_counts["history"] == 1 + 6 * 3  # one (created) row per record
    assert reg.history("incidents", "INC-2025-0001")[0].changed_by == "importer"
    # allocation continues after the imported ids; sequences continue after imported integer ids
    assert (
        reg.add_incident(
            {
                "title": "n",
                "category": "safety",
                "severity": "SEV-1",
                "aware_at": datetime(2025, 6, 1, tzinfo=UTC),
            }
        ).id
        == "INC-2025-0004"
    )
    event = reg.add_timeline_event(
        {"incident_id": "INC-2025-0001", "at": T0, "kind": "note", "description": "n"}
    )
    assert event.id not in {e.id for e in reg.timeline("INC-2025-0002")}


def test_import_bundle_is_all_or_nothing(reg: Register) -> None:
    before = _table_counts(reg)
    bundle = _bundle(50)
    # one bad row at the very end: a classification of an incident nobody knows
    bundle.classifications.append(
        Classification(incident_id="INC-2025-0999", namespace="CSET", attribute="harm", value="x")
    )
    with pytest.raises(ValidationFailed, match="nothing was written") as caught:
        reg.import_bundle(bundle, by="importer")
    assert caught.value.failures == [
        {
            "file": "classifications",
            "row": 51,
            "column": "incident_id",
            "problem": "unknown_reference",
            "value": "INC-2025-0999",
            "message": "no such incident in the bundle or the register",
        }
    ]
    assert _table_counts(reg) == before


def test_import_bundle_collects_every_problem(reg: Register) -> None:
    reg.import_bundle(_bundle(1), by="first")
    before = _table_counts(reg)
    bundle = _bundle(2, start=2)
    bundle.ai_systems = []  # "credit" is already in the register: fine
    bundle.incidents.append(bundle.incidents[0])  # duplicate in the bundle
    bundle.incidents.append(_bundle(1).incidents[0])  # already in the register
    bundle.incidents.append(
        Incident(
            id="INC-2025-0050",
            title="t",
            system_id="ghost",
            category="safety",
            severity="SEV-1",
            aware_at=T0,
            contained_at=T0 - HOUR,
        )
    )
    bundle.action_items.append(ActionItem(id="X-1", incident_id="INC-2025-0001", title="ok", kind="detect"))
    bundle.action_items.append(ActionItem(id="X-1", incident_id="INC-2025-0001", title="dup", kind="detect"))
    with pytest.raises(ValidationFailed) as caught:
        reg.import_bundle(bundle, by="second")
    found = {(f["file"], f["row"], f["column"], f["problem"]) for f in caught.value.failures}
    assert found == {
        ("incidents", 3, "id", "duplicate_id"),
        ("incidents", 4, "id", "id_in_register"),
        ("incidents", 5, "system_id", "unknown_reference"),
        ("incidents", 5, "contained_at", "inconsistent_times"),
        ("action_items", 4, "id", "duplicate_id"),
    }
    assert _table_counts(reg) == before


def test_import_dry_run_writes_nothing(reg: Register) -> None:
    before = _table_counts(reg)
    assert reg.import_bundle(_bundle(2), by="x", dry_run=True)["incidents"] == 2
    assert _table_counts(reg) == before


def test_export_then_import_round_trip(reg: Register, register_url: str) -> None:
    reg.import_bundle(_bundle(3), by="importer")
    reg.transition("INC-2025-0001", "triaged", at=T0 + 10 * HOUR)
    exported = reg.export_bundle()
    assert exported.counts()["incidents"] == 3
    assert exported.action_items[0].id == "INC-2025-0001-A1"
    # import into an empty register on the same backend: identical records
    import sqlalchemy as sa

    from register._tables import metadata

    with reg.engine.begin() as connection:
        for table in reversed(metadata.sorted_tables):
            if table.name != "history":  # append-only, even here
                connection.execute(sa.delete(table))
    reg.import_bundle(exported, by="restore")
    again = reg.export_bundle()
    assert again == exported
    only = reg.export_bundle(incident_ids=["INC-2025-0002"])
    assert [i.id for i in only.incidents] == ["INC-2025-0002"] and len(only.timeline_events) == 1
    assert [s.id for s in only.ai_systems] == ["credit"]


def test_history_is_append_only_in_the_database(reg: Register, incident_data) -> None:
    import sqlalchemy as sa

    from register._tables import history

    incident = reg.add_incident(incident_data())
    reg.update_incident(incident.id, {"affected_count": 1})
    for statement in (sa.update(history).values(new_value="tampered"), sa.delete(history)):
        with (
            pytest.raises(sa.exc.DatabaseError, match="history is append-only"),
            reg.engine.begin() as connection,
        ):
            connection.execute(statement)
    assert [h.new_value for h in reg.history("incidents", incident.id, field="affected_count")] == ["1"]


def test_getters_of_children(reg: Register, incident_data) -> None:
    incident = reg.add_incident(incident_data())
    item = reg.add_action_item({"incident_id": incident.id, "title": "x", "kind": "detect"})
    note = reg.add_notification({"incident_id": incident.id, "audience": "board"})
    assert reg.get_action_item(item.id) == item
    assert reg.get_notification(note.id) == note
    with pytest.raises(NotFoundError, match="no notification 'N-9'"):
        reg.get_notification("N-9")


def test_import_mixes_given_and_allocated_integer_ids(reg: Register) -> None:
    bundle = _bundle(1)
    incident_id = bundle.incidents[0].id
    bundle.timeline_events = [
        TimelineEvent(id=1000, incident_id=incident_id, at=T0, kind="note", description="given"),
        TimelineEvent(incident_id=incident_id, at=T0 + HOUR, kind="note", description="allocated"),
    ]
    reg.import_bundle(bundle, by="x")
    later = reg.add_timeline_event(
        {"incident_id": incident_id, "at": T0, "kind": "note", "description": "later"}
    )
    ids = [e.id for e in reg.timeline(incident_id)]
    assert len(set(ids)) == 3 and 1000 in ids and later.id in ids
    assert reg.history("timeline_events", 1000)[0].field == "(created)"


def test_metrics_frame_equals_metrics_on_the_full_frames(reg: Register, incident_data) -> None:
    from register.metrics import incident_metrics
    from register.policy import load_policy

    reg.add_system(_system())
    incidents = [
        reg.add_incident(incident_data(system_id="credit", severity=severity, aware_at=T0 + k * HOUR))
        for k, severity in enumerate(["SEV-1", "SEV-2", "SEV-3", "SEV-4"])
    ]
    reg.transition(incidents[0].id, "triaged", at=T0 + HOUR)
    as_of = T0 + 30 * 24 * HOUR
    for k, (status, completed) in enumerate(
        [
            ("open", None),
            ("in_progress", None),
            ("done", as_of - HOUR),  # done before as_of: not open
            ("done", as_of + HOUR),  # done after as_of: still open then
            ("wont_do", as_of + HOUR),
            ("done", None),
        ]
    ):
        item = reg.add_action_item(
            {
                "incident_id": incidents[k % 4].id,
                "title": f"item {k}",
                "kind": "prevent",
                "due_at": T0 + k * 24 * HOUR,
                "status": status,
                "completed_at": completed,
            }
        )
        assert item.status == status
    reg.add_notification({"incident_id": incidents[1].id, "audience": "regulator", "due_at": T0 + 48 * HOUR})
    policy = load_policy()
    expected = incident_metrics(
        reg.incidents_frame(),
        policy=policy,
        as_of=as_of,
        notifications=reg.notifications_frame(),
        action_items=reg.action_items_frame(),
        systems=reg.systems_frame(),
    )
    got = reg.metrics_frame(as_of=as_of, policy=policy)
    pd.testing.assert_frame_equal(got, expected)
    # incident 0: open (+ won't do), 1: in progress + done with completed_at stamped now (after as_of),
    # 2: done before as_of, 3: done after as_of
    assert got["action_items_open"].tolist() == [1, 2, 0, 1]


def test_imported_times_compare_like_added_ones(reg: Register, incident_data) -> None:
    # bulk-written rows must store times exactly as single writes do, or range filters miss them
    reg.import_bundle(_bundle(2), by="x")  # aware at T0 + 1 h and T0 + 2 h, zero microseconds
    added = reg.add_incident(incident_data(aware_at=T0 + HOUR))
    found = [i.id for i in reg.list_incidents(since=T0 + HOUR, until=T0 + 2 * HOUR)]
    assert found == ["INC-2025-0001", added.id]
    assert [i.id for i in reg.list_incidents(since=T0 + 2 * HOUR)] == ["INC-2025-0002"]
    if reg.dialect == "sqlite":
        with reg.engine.connect() as connection:
            stored = (
                connection.exec_driver_sql("SELECT DISTINCT length(aware_at) FROM incidents").scalars().all()
            )
            events = (
                connection.exec_driver_sql("SELECT DISTINCT length(at) FROM timeline_events").scalars().all()
            )
        assert stored == [26] and events == [26]
