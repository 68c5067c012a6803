"""Initial register schema.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from register.store import UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _incident_fk(table: str) -> list[object]:
    return [
        sa.Column("incident_id", sa.String(32), nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], name=f"fk_{table}_incident_id_incidents", ondelete="CASCADE"
        ),
    ]


def upgrade() -> None:
    op.create_table(
        "ai_systems",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("owner_team", sa.Text()),
        sa.Column("use_case", sa.Text()),
        sa.Column("risk_tier", sa.Text()),
        sa.Column("deployer", sa.Text()),
        sa.Column("developer", sa.Text()),
        sa.Column("data_card", sa.Text()),
        sa.PrimaryKeyConstraint("id", name="pk_ai_systems"),
    )
    op.create_table(
        "incidents",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("summary", sa.Text()),
        sa.Column("system_id", sa.String(64)),
        sa.Column("category", sa.String(40), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("severity", sa.String(8), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("detection_source", sa.String(32)),
        sa.Column("occurred_at", UTCDateTime()),
        sa.Column("aware_at", UTCDateTime(), nullable=False),
        sa.Column("acknowledged_at", UTCDateTime()),
        sa.Column("triaged_at", UTCDateTime()),
        sa.Column("causal_link_at", UTCDateTime()),
        sa.Column("contained_at", UTCDateTime()),
        sa.Column("resolved_at", UTCDateTime()),
        sa.Column("closed_at", UTCDateTime()),
        sa.Column("affected_count", sa.BigInteger()),
        sa.Column("affected_groups", sa.Text(), nullable=False),
        sa.Column("ongoing", sa.Boolean(), nullable=False),
        sa.Column("reversible", sa.Boolean()),
        sa.Column("regulatory_notifiable", sa.Boolean(), nullable=False),
        sa.Column("publicly_visible", sa.Boolean(), nullable=False),
        sa.Column("evidence_hold", sa.Boolean(), nullable=False),
        sa.Column("incident_commander", sa.Text()),
        sa.Column("technical_lead", sa.Text()),
        sa.Column("communications_lead", sa.Text()),
        sa.Column("legal_compliance", sa.Text()),
        sa.Column("data_lead", sa.Text()),
        sa.Column("postmortem_facilitator", sa.Text()),
        sa.Column("trigger", sa.Text()),
        sa.Column("root_cause_category", sa.Text()),
        sa.Column("contributing_factors", sa.Text(), nullable=False),
        sa.Column("resolution", sa.Text()),
        sa.Column("lessons_learned", sa.Text()),
        sa.Column("model_versions", sa.Text(), nullable=False),
        sa.Column("tags", sa.Text(), nullable=False),
        sa.Column("postmortem_status", sa.String(16), nullable=False),
        sa.Column("failure_signal", sa.Text()),
        sa.PrimaryKeyConstraint("id", name="pk_incidents"),
        sa.ForeignKeyConstraint(["system_id"], ["ai_systems.id"], name="fk_incidents_system_id_ai_systems"),
    )
    for column in ("system_id", "category", "severity", "status", "aware_at"):
        op.create_index(f"ix_incidents_{column}", "incidents", [column])
    op.create_table(
        "timeline_events",
        sa.Column("id", _BigId, nullable=False, autoincrement=True),
        *_incident_fk("timeline_events"),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("role", sa.String(32)),
        sa.Column("source_link", sa.Text()),
        sa.PrimaryKeyConstraint("id", name="pk_timeline_events"),
    )
    op.create_table(
        "action_items",
        sa.Column("id", sa.String(64), nullable=False),
        *_incident_fk("action_items"),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("owner", sa.Text()),
        sa.Column("team", sa.Text()),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("priority", sa.String(2), nullable=False),
        sa.Column("due_at", UTCDateTime()),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("completed_at", UTCDateTime()),
        sa.Column("verification_note", sa.Text()),
        sa.PrimaryKeyConstraint("id", name="pk_action_items"),
    )
    op.create_table(
        "notifications",
        sa.Column("id", sa.String(64), nullable=False),
        *_incident_fk("notifications"),
        sa.Column("audience", sa.String(16), nullable=False),
        sa.Column("regime", sa.String(64)),
        sa.Column("report_type", sa.String(16), nullable=False),
        sa.Column("due_at", UTCDateTime()),
        sa.Column("sent_at", UTCDateTime()),
        sa.Column("reference", sa.Text()),
        sa.PrimaryKeyConstraint("id", name="pk_notifications"),
    )
    op.create_table(
        "evidence",
        sa.Column("id", _BigId, nullable=False, autoincrement=True),
        *_incident_fk("evidence"),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("uri", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(64)),
        sa.Column("captured_at", UTCDateTime(), nullable=False),
        sa.Column("run_id", sa.Text()),
        sa.PrimaryKeyConstraint("id", name="pk_evidence"),
    )
    op.create_table(
        "classifications",
        sa.Column("id", _BigId, nullable=False, autoincrement=True),
        *_incident_fk("classifications"),
        sa.Column("namespace", sa.Text(), nullable=False),
        sa.Column("attribute", sa.Text(), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_classifications"),
    )
    for table in ("timeline_events", "action_items", "notifications", "evidence", "classifications"):
        op.create_index(f"ix_{table}_incident_id", table, ["incident_id"])
    op.create_table(
        "history",
        sa.Column("id", _BigId, nullable=False, autoincrement=True),
        sa.Column("entity", sa.String(32), nullable=False),
        sa.Column("entity_id", sa.String(64), nullable=False),
        sa.Column("field", sa.String(64), nullable=False),
        sa.Column("old_value", sa.Text()),
        sa.Column("new_value", sa.Text()),
        sa.Column("changed_at", UTCDateTime(), nullable=False),
        sa.Column("changed_by", sa.Text()),
        sa.PrimaryKeyConstraint("id", name="pk_history"),
    )
    op.create_index("ix_history_entity_entity_id_field", "history", ["entity", "entity_id", "field"])
    _history_append_only()
    op.create_table(
        "id_counters",
        sa.Column("scope", sa.String(32), nullable=False),
        sa.Column("last_value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("scope", name="pk_id_counters"),
    )


def _history_append_only() -> None:
    """The database itself refuses to change or delete audit rows."""
    if op.get_bind().dialect.name == "sqlite":
        for event in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER history_append_only_{event.lower()} BEFORE {event} ON history "
                "BEGIN SELECT RAISE(ABORT, 'history is append-only'); END"
            )
        return
    op.execute(
        "CREATE FUNCTION history_append_only() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE EXCEPTION 'history is append-only'; END $$"
    )
    op.execute(
        "CREATE TRIGGER history_append_only BEFORE UPDATE OR DELETE ON history "
        "FOR EACH ROW EXECUTE FUNCTION history_append_only()"
    )


def downgrade() -> None:
    for table in (
        "id_counters",
        "history",
        "classifications",
        "evidence",
        "notifications",
        "action_items",
        "timeline_events",
        "incidents",
        "ai_systems",
    ):
        op.drop_table(table)
    if op.get_bind().dialect.name != "sqlite":
        op.execute("DROP FUNCTION history_append_only()")
