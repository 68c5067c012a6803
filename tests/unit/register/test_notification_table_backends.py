"""The post-mortem's notification table keys recorded notifications by record id, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

from register.policy import load_policy


def test_notifications_sharing_regime_and_type_keep_their_own_reference(reg) -> None:
    from workbench.report import postmortem_content

    incident = reg.add_incident(
        {
            "title": "Chatbot leaked an order number",
            "category": "data_quality",
            "severity": "SEV-3",
            "aware_at": datetime(2026, 11, 5, 9, 30, tzinfo=UTC),
        }
    )
    for audience, reference in (("executive", "EXEC-REF-1"), ("customers", "CUST-REF-2")):
        reg.add_notification(
            {
                "incident_id": incident.id,
                "audience": audience,
                "reference": reference,
                "sent_at": datetime(2026, 11, 6, tzinfo=UTC),
            }
        )
    content = postmortem_content(
        reg, incident.id, policy=load_policy(), as_of=datetime(2026, 11, 20, tzinfo=UTC)
    )
    rows = [row for row in content.blocks["notifications"].data["rows"] if row["reference"]]
    assert [(row["audience"], row["reference"]) for row in rows] == [
        ("Executive", "EXEC-REF-1"),
        ("Customers", "CUST-REF-2"),
    ]
