from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from register.metrics import incident_metrics, notification_status
from register.policy import TriageAnswers, load_policy, notification_deadlines

AS_OF = datetime(2026, 4, 1, tzinfo=UTC)


def ts(text: str | None) -> pd.Timestamp | None:
    return None if text is None else pd.Timestamp(text, tz="UTC")


@pytest.fixture(scope="module")
def policy():
    return load_policy()


def _incidents() -> pd.DataFrame:
    day = "2026-03-"
    rows = [
        # id, severity, category, occurred, aware, acknowledged, contained, resolved, postmortem
        ("INC-2026-0001", "SEV-1", "safety", day + "01 09:00", day + "01 10:00", day + "01 10:10",
         day + "01 12:00", day + "02 10:00", "draft"),
        ("INC-2026-0002", "SEV-2", "safety", None, day + "31 23:30", None, None, None, "not_started"),
        ("INC-2026-0003", "SEV-3", "hallucination", None, day + "31 10:00", None, None, None, "not_started"),
        ("INC-2026-0004", "SEV-4", "data_quality", None, day + "01 00:00", day + "02 01:00", None,
         day + "03 00:00", "not_started"),
        ("INC-2026-0005", "SEV-2", "safety", None, day + "10 00:00", day + "10 00:30", None,
         day + "11 00:00", "published"),
        # acknowledged after as_of: not acknowledged yet as of 2026-04-01
        ("INC-2026-0006", "SEV-1", "safety", None, day + "31 23:50", "2026-04-01 00:20", None, None, "draft"),
        ("INC-2026-0007", "SEV-2", "data_exposure_privacy", None, day + "20 08:00", day + "20 08:20", None,
         None, "not_started"),
        ("INC-2026-0008", "SEV-2", "data_exposure_privacy", None, day + "30 00:00", day + "30 00:10", None,
         None, "not_started"),
    ]  # fmt: skip
    columns = ["id", "severity", "category", "occurred_at", "aware_at", "acknowledged_at", "contained_at",
               "resolved_at", "postmortem_status"]  # fmt: skip
    frame = pd.DataFrame(rows, columns=columns)
    for column in ("occurred_at", "aware_at", "acknowledged_at", "contained_at", "resolved_at"):
        frame[column] = pd.to_datetime(frame[column], utc=True)
    frame["status"] = "triaged"
    frame["tags"] = [[] for _ in range(len(frame))]
    return frame


def _by_id(metrics: pd.DataFrame) -> pd.DataFrame:
    return metrics.set_index("id")


def test_response_times_and_sla_against_hand_computed_values(policy) -> None:
    metrics = _by_id(incident_metrics(_incidents(), policy=policy, as_of=AS_OF))
    first = metrics.loc["INC-2026-0001"]
    assert first["time_to_detect"] == pd.Timedelta(hours=1) and first["time_to_detect_hours"] == 1.0
    assert first["time_to_acknowledge"] == pd.Timedelta(minutes=10)
    assert first["time_to_contain_hours"] == 2.0 and first["time_to_resolve_hours"] == 24.0
    assert first["response_sla"] == pd.Timedelta(minutes=15)
    assert first["acknowledge_due_at"] == ts("2026-03-01 10:15")
    assert bool(first["response_sla_met"]) is True
    assert first["response_sla_margin"] == pd.Timedelta(minutes=5)
    # unacknowledged, 30 min into a 1 h SLA: undecided, 30 min left
    second = metrics.loc["INC-2026-0002"]
    assert pd.isna(second["response_sla_met"]) and second["response_sla_margin_hours"] == 0.5
    assert pd.isna(second["time_to_detect"]) and pd.isna(second["time_to_acknowledge_hours"])
    # unacknowledged for 14 h on a 4 h SLA: breached by 10 h
    third = metrics.loc["INC-2026-0003"]
    assert bool(third["response_sla_met"]) is False and third["response_sla_margin_hours"] == -10.0
    # acknowledged after 25 h on a 24 h SLA
    fourth = metrics.loc["INC-2026-0004"]
    assert bool(fourth["response_sla_met"]) is False and fourth["response_sla_margin"] == -pd.Timedelta(
        hours=1
    )
    # acknowledgement recorded after as_of does not count yet
    sixth = metrics.loc["INC-2026-0006"]
    assert pd.isna(sixth["time_to_acknowledge"]) and pd.isna(sixth["response_sla_met"])
    assert sixth["response_sla_margin"] == pd.Timedelta(minutes=5)
    # later as_of: the same incident is acknowledged 30 min after awareness, over its 15 min SLA
    later = _by_id(incident_metrics(_incidents(), policy=policy, as_of=datetime(2026, 4, 2, tzinfo=UTC)))
    assert bool(later.loc["INC-2026-0006", "response_sla_met"]) is False
    # no contain/resolve targets in the default policy
    assert metrics["contain_target"].isna().all() and metrics["resolve_target_met"].isna().all()


def test_targets_from_a_user_policy(tmp_path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text("severities:\n  SEV-1: {contain_target: PT1H, resolve_target: P2D}\n", encoding="utf-8")
    metrics = _by_id(incident_metrics(_incidents(), policy=load_policy(path), as_of=AS_OF))
    first = metrics.loc["INC-2026-0001"]
    assert first["contain_target"] == pd.Timedelta(hours=1) and bool(first["contain_target_met"]) is False
    assert bool(first["resolve_target_met"]) is True
    assert pd.isna(metrics.loc["INC-2026-0006", "contain_target_met"])  # 10 min in: still running
    assert pd.isna(metrics.loc["INC-2026-0002", "contain_target_met"])  # SEV-2 has no target


def test_postmortem_due_and_overdue(policy) -> None:
    metrics = _by_id(incident_metrics(_incidents(), policy=policy, as_of=AS_OF))
    assert metrics.loc["INC-2026-0001", "postmortem_due_at"] == ts("2026-03-16 10:00")
    assert bool(metrics.loc["INC-2026-0001", "postmortem_overdue"]) is True
    assert metrics.loc["INC-2026-0005", "postmortem_due_at"] == ts("2026-03-25 00:00")
    assert bool(metrics.loc["INC-2026-0005", "postmortem_overdue"]) is False  # published
    assert bool(metrics.loc["INC-2026-0004", "postmortem_required"]) is False
    assert pd.isna(metrics.loc["INC-2026-0004", "postmortem_due_at"])
    assert pd.isna(metrics.loc["INC-2026-0002", "postmortem_due_at"])  # not resolved yet
    assert metrics["postmortem_overdue"].sum() == 1


def test_notifications_owed_recorded_overdue_and_late(policy) -> None:
    notifications = pd.DataFrame(
        {
            "incident_id": ["INC-2026-0008", "INC-2026-0001", "INC-2026-0001"],
            "regime": ["gdpr_art33", "eu_ai_act_art73", "contract_sla"],
            "report_type": ["initial", "initial", "initial"],
            "due_at": [None, ts("2026-03-05"), ts("2026-03-01")],
            "sent_at": [ts("2026-04-02"), ts("2026-03-06"), None],
        }
    )
    metrics = _by_id(incident_metrics(_incidents(), policy=policy, as_of=AS_OF, notifications=notifications))
    # GDPR owed for INC-7 (72 h from 2026-03-20 08:00), not recorded: overdue
    seventh = metrics.loc["INC-2026-0007"]
    assert bool(seventh["gdpr_art33_applicable"]) is True
    assert seventh["gdpr_art33_overdue"] == 1 and seventh["notifications_overdue"] == 1
    assert seventh["gdpr_art33_next_due_at"] == ts("2026-03-23 08:00")
    # INC-8: recorded without due_at (policy due 2026-04-02), sent after as_of: pending, not overdue
    eighth = metrics.loc["INC-2026-0008"]
    assert (eighth["gdpr_art33_pending"], eighth["gdpr_art33_overdue"]) == (1, 0)
    assert eighth["next_notification_due_at"] == ts("2026-04-02")
    assert eighth["notifications_required"] == 1
    # INC-1: Art. 73 report sent a day late; a contractual notice (not a policy regime) is overdue
    first = metrics.loc["INC-2026-0001"]
    assert first["eu_ai_act_art73_late"] == 1 and first["notifications_late"] == 1
    assert first["notifications_overdue"] == 1 and first["eu_ai_act_art73_overdue"] == 0
    assert bool(first["eu_ai_act_art73_applicable"]) is False  # recorded, but the policy would not require it
    assert metrics.loc["INC-2026-0002", "notifications_required"] == 0
    assert pd.isna(metrics.loc["INC-2026-0002", "next_notification_due_at"])


def test_eu_ai_act_clock_uses_system_risk_tier_and_tags(policy) -> None:
    incidents = pd.DataFrame(
        {
            "id": ["INC-2026-0010", "INC-2026-0011", "INC-2026-0012"],
            "severity": ["SEV-1"] * 3,
            "category": ["safety"] * 3,
            "system_id": ["triage", "triage", "chat"],
            "aware_at": [ts("2026-09-01 12:00"), ts("2026-07-01 12:00"), ts("2026-09-01 12:00")],
            "tags": [["death"], ["death"], ["death"]],
        }
    )
    systems = pd.DataFrame({"id": ["triage", "chat"], "risk_tier": ["eu_ai_act_high_risk", "minimal"]})
    metrics = _by_id(
        incident_metrics(incidents, policy=policy, as_of=datetime(2026, 9, 20, tzinfo=UTC), systems=systems)
    )
    assert metrics["eu_ai_act_art73_applicable"].tolist() == [True, False, False]  # in force / system tier
    assert metrics.loc["INC-2026-0010", "eu_ai_act_art73_next_due_at"] == ts("2026-09-11 12:00")
    assert metrics.loc["INC-2026-0010", "eu_ai_act_art73_overdue"] == 1


def test_action_items_open_and_overdue(policy) -> None:
    items = pd.DataFrame(
        {
            "incident_id": ["INC-2026-0001"] * 4 + ["INC-2026-0003", "INC-2026-9999"],
            "status": ["open", "in_progress", "done", "done", "wont_do", "open"],
            "due_at": [
                ts("2026-03-15"),
                ts("2026-04-15"),
                ts("2026-03-15"),
                ts("2026-03-25"),
                ts("2026-03-01"),
                ts("2026-03-01"),
            ],  # fmt: skip
            "completed_at": [None, None, ts("2026-03-20"), ts("2026-04-05"), None, None],
        }
    )
    metrics = _by_id(incident_metrics(_incidents(), policy=policy, as_of=AS_OF, action_items=items))
    # done on 2026-04-05 is still open as of 2026-04-01, and overdue (due 2026-03-25)
    assert metrics.loc["INC-2026-0001", ["action_items_open", "action_items_overdue"]].tolist() == [3, 2]
    assert metrics.loc["INC-2026-0003", ["action_items_open", "action_items_overdue"]].tolist() == [0, 0]
    assert metrics["action_items_open"].sum() == 3  # items of incidents outside the frame are ignored


def test_one_row_per_incident_in_input_order_and_empty_input(policy) -> None:
    incidents = _incidents().iloc[::-1]
    metrics = incident_metrics(incidents, policy=policy, as_of=AS_OF)
    assert metrics["id"].tolist() == incidents["id"].tolist()
    empty = incident_metrics(_incidents().iloc[:0], policy=policy, as_of=AS_OF)
    assert len(empty) == 0 and "response_sla_met" in empty.columns
    with pytest.raises(ValueError, match="unique"):
        items = pd.DataFrame({"incident_id": ["INC-2026-0001"], "status": ["open"]})
        incident_metrics(
            pd.concat([_incidents(), _incidents()]), policy=policy, as_of=AS_OF, action_items=items
        )


FLAGS = ["death", "serious_harm", "critical_infrastructure", "personal_data", "discrimination",
         "cybersecurity_breach", "gpai_systemic_risk", "jurisdiction:US-CO",
         "fundamental_rights"]  # fmt: skip


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=st.lists(
        st.tuples(
            st.sampled_from(["safety", "fairness_bias", "data_exposure_privacy", "hallucination"]),
            st.sets(st.sampled_from(FLAGS), max_size=4),
            st.sampled_from(["eu_ai_act_high_risk", "minimal", None]),
            st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 6, 1)),
        ),
        min_size=1,
        max_size=6,
    )
)
def test_vectorised_clocks_match_the_per_incident_policy_path(rows) -> None:
    policy = load_policy()
    as_of = datetime(2027, 6, 2, tzinfo=UTC)
    incidents = pd.DataFrame(
        {
            "id": [f"INC-2026-{n:04d}" for n in range(len(rows))],
            "severity": "SEV-2",
            "category": [row[0] for row in rows],
            "tags": [sorted(row[1]) for row in rows],
            "risk_tier": [row[2] for row in rows],
            "aware_at": [pd.Timestamp(row[3], tz="UTC") for row in rows],
        }
    )
    table = notification_status(incidents, policy=policy, as_of=as_of)
    vectorised = {(r.incident_id, r.regime, r.report_type, r.due_at) for r in table.itertuples()}
    expected = set()
    for row, incident_id in zip(rows, incidents["id"], strict=True):
        flags = {flag: True for flag in row[1] if ":" not in flag}
        answers = TriageAnswers(
            category=row[0],
            risk_tier=row[2],
            aware_at=row[3].replace(tzinfo=UTC),
            jurisdictions=["US-CO"] if "jurisdiction:US-CO" in row[1] else [],
            **flags,
        )
        for deadline in notification_deadlines(answers, policy=policy, as_of=as_of):
            if deadline.due_at is not None and deadline.sequence == 1:
                expected.add(
                    (incident_id, deadline.regime, deadline.report_type.value, pd.Timestamp(deadline.due_at))
                )
    assert vectorised == expected


def test_speed_shape_on_a_larger_frame(policy) -> None:
    """100k rows would be the benchmark; here 5k rows check that nothing is quadratic or per-row broken."""
    n_rows = 5_000
    aware = pd.Timestamp("2026-01-01", tz="UTC") + pd.to_timedelta(range(n_rows), unit="h")
    incidents = pd.DataFrame(
        {
            "id": [f"INC-2026-{n:05d}" for n in range(n_rows)],
            "severity": ["SEV-1", "SEV-2", "SEV-3", "SEV-4"] * (n_rows // 4),
            "category": "data_exposure_privacy",
            "aware_at": aware,
            "acknowledged_at": aware + timedelta(minutes=30),
            "tags": [["personal_data"]] * n_rows,
        }
    )
    metrics = incident_metrics(incidents, policy=policy, as_of=datetime(2027, 1, 1, tzinfo=UTC))
    assert metrics["response_sla_met"].tolist() == [False, True, True, True] * (n_rows // 4)
    assert metrics["gdpr_art33_overdue"].sum() == n_rows
