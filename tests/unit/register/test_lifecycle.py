"""Lifecycle: the explicit transition table, stamped times, reopening, timestamp consistency."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from register import InvalidTransition, Register, ValidationFailed
from register.lifecycle import TRANSITIONS, allowed_targets, check_times, find_transition, time_problems
from register.schema import IncidentStatus as S

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)

EXPECTED_MOVES = {
    (S.DETECTED, S.TRIAGED),
    (S.TRIAGED, S.CONTAINED),
    (S.CONTAINED, S.INVESTIGATING),
    (S.INVESTIGATING, S.RECOVERED),
    (S.RECOVERED, S.CLOSED),
    (S.TRIAGED, S.CLOSED),
    (S.CLOSED, S.INVESTIGATING),
    (S.CLOSED, S.TRIAGED),
}


def test_the_table_is_exactly_the_agreed_moves() -> None:
    assert {(move.source, move.target) for move in TRANSITIONS} == EXPECTED_MOVES


@pytest.mark.parametrize("source", list(S))
@pytest.mark.parametrize("target", list(S))
def test_every_pair_is_allowed_or_refused_by_the_table(source: S, target: S) -> None:
    if (source, target) in EXPECTED_MOVES:
        kind = "near_miss" if (source, target) == (S.TRIAGED, S.CLOSED) else "incident"
        assert find_transition(source, target, kind=kind).target == target
    else:
        with pytest.raises(InvalidTransition, match=f"Allowed from '{source}'"):
            find_transition(source, target)


def test_near_miss_only_move_explains_itself() -> None:
    assert allowed_targets(S.TRIAGED) == [S.CONTAINED, S.CLOSED]
    with pytest.raises(InvalidTransition, match="Only a near-miss may be closed from triage"):
        find_transition(S.TRIAGED, S.CLOSED, kind="incident")
    with pytest.raises(InvalidTransition, match="a status must be one of"):
        find_transition(S.TRIAGED, "done")


def test_unknown_source_status_is_the_one_named() -> None:
    with pytest.raises(InvalidTransition, match="Got 'done' instead"):
        find_transition("done", S.TRIAGED)


def test_time_rules_both_ways() -> None:
    consistent = {
        "occurred_at": T0 - HOUR,
        "aware_at": T0,
        "acknowledged_at": T0 + HOUR,
        "triaged_at": T0 + HOUR,
        "causal_link_at": T0,
        "contained_at": T0 + 2 * HOUR,
        "resolved_at": T0 + 3 * HOUR,
        "closed_at": T0 + 4 * HOUR,
    }
    check_times(consistent)
    assert time_problems(consistent) == []
    cases = {
        "aware_at": ("occurred_at", T0 - 2 * HOUR),  # aware before occurred
        "acknowledged_at": ("aware_at", T0 - HOUR),
        "contained_at": ("aware_at", T0 - HOUR),
        "resolved_at": ("contained_at", T0 + HOUR),
        "closed_at": ("resolved_at", T0 + 2 * HOUR),
    }
    for field, (earlier, value) in cases.items():
        times = dict(consistent, **{field: value})
        problems = time_problems(times)
        assert any(p["column"] == field and f"({earlier}" in str(p["problem"]) for p in problems), field
        with pytest.raises(ValidationFailed, match=f"\\({field}\\) is before"):
            check_times(times, incident_id="INC-2026-0001")
    # equal times are consistent; unknown times are not judged
    check_times({"aware_at": T0, "contained_at": T0, "resolved_at": None, "closed_at": T0})


def _walk(reg: Register, incident_id: str, path: list[S]) -> None:
    for step, status in enumerate(path, start=1):
        reg.transition(incident_id, status, at=T0 + step * HOUR, by="ic")


def test_normal_path_stamps_each_time(reg: Register, incident_data) -> None:
    incident = reg.add_incident(incident_data(occurred_at=T0 - HOUR))
    _walk(reg, incident.id, [S.TRIAGED, S.CONTAINED, S.INVESTIGATING, S.RECOVERED, S.CLOSED])
    final = reg.get_incident(incident.id)
    assert final.status == S.CLOSED
    assert (final.triaged_at, final.contained_at, final.resolved_at, final.closed_at) == (
        T0 + HOUR,
        T0 + 2 * HOUR,
        T0 + 4 * HOUR,
        T0 + 5 * HOUR,
    )
    statuses = [(h.old_value, h.new_value) for h in reg.history("incidents", incident.id, field="status")]
    assert statuses == [
        ("detected", "triaged"),
        ("triaged", "contained"),
        ("contained", "investigating"),
        ("investigating", "recovered"),
        ("recovered", "closed"),
    ]
    assert all(h.changed_by == "ic" for h in reg.history("incidents", incident.id)[1:])


def test_transition_without_at_stamps_now_and_keeps_a_known_time(reg: Register, incident_data) -> None:
    known = T0 + HOUR
    incident = reg.add_incident(incident_data(contained_at=known))
    before = datetime.now(UTC)
    triaged = reg.transition(incident.id, "triaged")
    assert triaged.triaged_at is not None and triaged.triaged_at >= before - timedelta(seconds=1)
    contained = reg.transition(incident.id, "contained")
    assert contained.contained_at == known


def test_refused_transitions_name_the_allowed_ones(reg: Register, incident_data) -> None:
    incident = reg.add_incident(incident_data())
    for target in ("contained", "investigating", "recovered", "closed", "detected"):
        with pytest.raises(InvalidTransition, match="Allowed from 'detected': triaged"):
            reg.transition(incident.id, target)
    reg.transition(incident.id, "triaged", at=T0 + HOUR)
    with pytest.raises(InvalidTransition, match="Only a near-miss"):
        reg.transition(incident.id, "closed")
    assert reg.get_incident(incident.id).status == S.TRIAGED
    assert [h.field for h in reg.history("incidents", incident.id)] == ["(created)", "status", "triaged_at"]


def test_near_miss_closed_from_triage_then_reopened(reg: Register, incident_data) -> None:
    incident = reg.add_incident(incident_data(kind="near_miss"))
    reg.transition(incident.id, "triaged", at=T0 + HOUR)
    closed = reg.transition(incident.id, "closed", at=T0 + 2 * HOUR)
    assert closed.closed_at == T0 + 2 * HOUR and closed.resolved_at is None
    reopened = reg.transition(incident.id, "triaged", at=T0 + 3 * HOUR, reason="a second report came in")
    assert reopened.status == S.TRIAGED and reopened.closed_at is None


def test_reopen_needs_a_reason_and_records_it(reg: Register, incident_data) -> None:
    incident = reg.add_incident(incident_data())
    _walk(reg, incident.id, [S.TRIAGED, S.CONTAINED, S.INVESTIGATING, S.RECOVERED, S.CLOSED])
    for reason in (None, "  "):
        with pytest.raises(ValidationFailed, match="a reason is required"):
            reg.transition(incident.id, "investigating", reason=reason)
    assert reg.get_incident(incident.id).status == S.CLOSED
    reopened = reg.transition(
        incident.id, "investigating", at=T0 + 6 * HOUR, reason="errors are back after the fix", by="ic"
    )
    assert reopened.status == S.INVESTIGATING
    assert reopened.closed_at is None and reopened.resolved_at is None
    assert reopened.contained_at == T0 + 2 * HOUR
    notes = [e for e in reg.timeline(incident.id) if e.kind == "note"]
    assert len(notes) == 1 and "errors are back after the fix" in notes[0].description
    assert notes[0].at == T0 + 6 * HOUR
    created = reg.history("timeline_events", notes[0].id)
    assert created[0].field == "(created)" and "errors are back" in (created[0].new_value or "")
    cleared = reg.history("incidents", incident.id, field="closed_at")
    assert cleared[-1].old_value == (T0 + 5 * HOUR).isoformat() and cleared[-1].new_value is None
    # and it can recover and close again
    reg.transition(incident.id, "recovered", at=T0 + 7 * HOUR)
    assert reg.transition(incident.id, "closed", at=T0 + 8 * HOUR).closed_at == T0 + 8 * HOUR


def test_transition_refuses_an_inconsistent_time(reg: Register, incident_data) -> None:
    incident = reg.add_incident(incident_data())
    with pytest.raises(ValidationFailed, match=r"triaged \(triaged_at\) is before became aware"):
        reg.transition(incident.id, "triaged", at=T0 - HOUR)
    reg.transition(incident.id, "triaged", at=T0 + HOUR)
    reg.transition(incident.id, "contained", at=T0 + 3 * HOUR)
    reg.transition(incident.id, "investigating")
    with pytest.raises(ValidationFailed, match=r"resolved \(resolved_at\) is before contained"):
        reg.transition(incident.id, "recovered", at=T0 + 2 * HOUR)
    assert reg.get_incident(incident.id).status == S.INVESTIGATING


def test_add_and_update_refuse_inconsistent_times(reg: Register, incident_data) -> None:
    with pytest.raises(ValidationFailed, match=r"became aware \(aware_at\) is before occurred"):
        reg.add_incident(incident_data(occurred_at=T0 + HOUR))
    with pytest.raises(ValidationFailed, match=r"acknowledged \(acknowledged_at\) is before became aware"):
        reg.add_incident(incident_data(acknowledged_at=T0 - HOUR))
    assert reg.list_incidents() == []
    incident = reg.add_incident(incident_data(acknowledged_at=T0 + HOUR))
    with pytest.raises(ValidationFailed, match=r"acknowledged \(acknowledged_at\) is before became aware"):
        reg.update_incident(incident.id, {"aware_at": T0 + 2 * HOUR})
    with pytest.raises(ValidationFailed, match=r"contained \(contained_at\) is before became aware"):
        reg.update_incident(incident.id, {"contained_at": T0 - HOUR})
    assert reg.get_incident(incident.id) == incident
    assert reg.update_incident(incident.id, {"aware_at": T0 - HOUR}).aware_at == T0 - HOUR
