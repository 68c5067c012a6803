"""register.governance.trend_frames on both databases: the trend numbers of a register built here, by hand.

The same small register (SQLite file and a PostgreSQL schema) must give the same, hand-computed
numbers: SLA met/breached, recurrence, action items overdue, post-mortems overdue, a notification sent one
second late, a public record counted as not recorded.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from analysis.trends import trend_summary
from register.api import Register
from register.governance import trend_frames
from register.policy import load_policy

AS_OF = datetime(2026, 6, 30, tzinfo=UTC)


def _fill(reg: Register) -> None:
    reg.add_system({"id": "fraud", "name": "Fraud model"})
    t0 = datetime(2026, 3, 2, 9, tzinfo=UTC)
    own = []
    for i, (severity, ack_minutes) in enumerate([("SEV-2", 60), ("SEV-2", 61), ("SEV-3", 30), ("SEV-1", 20)]):
        aware = t0 + timedelta(days=10 * i)
        own.append(
            reg.add_incident(
                {
                    "title": f"Incident {i}",
                    "category": "data_exposure_privacy" if i == 0 else "data_quality",
                    "severity": severity,
                    "system_id": "fraud",
                    "aware_at": aware,
                    "acknowledged_at": aware + timedelta(minutes=ack_minutes),
                    "resolved_at": aware + timedelta(days=1),
                    "root_cause_category": "upstream contract",
                }
            ).id
        )
    reg.add_incident(
        {
            "title": "A public record",
            "category": "reputational",
            "severity": "SEV-3",
            "aware_at": datetime(2016, 3, 24, tzinfo=UTC),
            "source": "aiid",
            "source_id": "6",
        }
    )
    reg.add_action_item(
        {"incident_id": own[0], "title": "Fix", "kind": "prevent", "due_at": datetime(2026, 4, 1, tzinfo=UTC)}
    )
    reg.add_action_item(
        {
            "incident_id": own[1],
            "title": "Watch",
            "kind": "detect",
            "due_at": datetime(2026, 9, 1, tzinfo=UTC),
        }
    )
    due = t0 + timedelta(hours=72)
    reg.add_notification(
        {
            "incident_id": own[0],
            "audience": "regulator",
            "regime": "gdpr_art33",
            "report_type": "initial",
            "due_at": due,
            "sent_at": due + timedelta(seconds=1),
        }
    )


def test_trend_numbers_by_hand_on_each_database(reg: Register) -> None:
    _fill(reg)
    frames = trend_frames(reg, as_of=AS_OF, policy=load_policy())
    summary, _ = trend_summary(
        frames["incidents"],
        metrics=frames["metrics"],
        as_of=AS_OF,
        notifications=frames["notifications"],
        action_items=frames["action_items"],
    )
    assert summary.n_incidents == 5 and summary.origins == {"aiid": 1, "own": 4}
    sev = {row["severity"]: row for row in summary.sla["by_severity"]}
    # SEV-2 SLA 1 h: 60 min met (exactly at the deadline), 61 min breached; SEV-3 4 h: met;
    # SEV-1 15 min: 20 breached
    assert (sev["SEV-2"]["met"], sev["SEV-2"]["breached"]) == (1, 1)
    assert (sev["SEV-1"]["met"], sev["SEV-1"]["breached"]) == (0, 1)
    assert (sev["SEV-3"]["met"], sev["SEV-3"]["breached"], sev["SEV-3"]["not_recorded"]) == (1, 0, 1)
    assert summary.sla["n_breaches"] == 2
    # one system and cause, every 10 days: three repeats in one chain
    assert summary.recurrence["recurrences"] == 3 and summary.recurrence["n_chains"] == 1
    assert (summary.actions["open"], summary.actions["overdue"]) == (2, 1)
    # SEV-1 and SEV-2 need a formal post-mortem within the policy's deadline of resolution:
    # all overdue by June
    assert summary.postmortems["required"] == 3 and summary.postmortems["overdue"] == 3
    gdpr = next(row for row in summary.regulatory["by_regime"] if row["regime"] == "gdpr_art33")
    assert (gdpr["sent_late"], gdpr["sent_on_time"]) == (1, 0)
    ack = next(r for r in summary.speed if r["measure"] == "acknowledge" and r["severity"] == "all")
    assert (ack["n"], ack["not_recorded"], ack["median_hours"]) == (4, 1, 0.75)  # 20, 30, 60, 61 min
