"""SQLAlchemy Core tables of the register (the head revision of the Alembic migrations).

Column names are the field names of the records in :mod:`register.schema`; lists and nested records
(data card, failure signal) are stored as JSON text. Every time column is :class:`UTCDateTime`.
The migrations in ``register/migrations/versions`` must produce exactly these tables; a test compares.
"""

from __future__ import annotations

import sqlalchemy as sa

from register.store import UTCDateTime

__all__ = [
    "CHILD_TABLES",
    "JSON_COLUMNS",
    "action_items",
    "ai_systems",
    "classifications",
    "evidence",
    "history",
    "id_counters",
    "incidents",
    "metadata",
    "notifications",
    "timeline_events",
]

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)

_BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _incident_fk() -> sa.Column[str]:
    return sa.Column(
        "incident_id",
        sa.String(32),
        sa.ForeignKey("incidents.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    )


ai_systems = sa.Table(
    "ai_systems",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("name", sa.Text(), nullable=False),
    sa.Column("owner_team", sa.Text()),
    sa.Column("use_case", sa.Text()),
    sa.Column("risk_tier", sa.Text()),
    sa.Column("deployer", sa.Text()),
    sa.Column("developer", sa.Text()),
    sa.Column("data_card", sa.Text()),
)

incidents = sa.Table(
    "incidents",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("title", sa.Text(), nullable=False),
    sa.Column("summary", sa.Text()),
    sa.Column("system_id", sa.String(64), sa.ForeignKey("ai_systems.id"), index=True),
    sa.Column("category", sa.String(40), nullable=False, index=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("severity", sa.String(8), nullable=False, index=True),
    sa.Column("status", sa.String(16), nullable=False, index=True),
    sa.Column("detection_source", sa.String(32)),
    sa.Column("occurred_at", UTCDateTime()),
    sa.Column("aware_at", UTCDateTime(), nullable=False, index=True),
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
    # added by migration 0002 (a batch change to a parent table)
    sa.Column("updated_at", UTCDateTime()),
    sa.Column("updated_by", sa.Text()),
    # added by migration 0003: provenance of imported public records
    sa.Column("source", sa.String(64)),
    sa.Column("source_id", sa.Text()),
    sa.Index("ix_incidents_source_source_id", "source", "source_id"),
)

timeline_events = sa.Table(
    "timeline_events",
    metadata,
    sa.Column("id", _BigId, primary_key=True, autoincrement=True),
    _incident_fk(),
    sa.Column("at", UTCDateTime(), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("description", sa.Text(), nullable=False),
    sa.Column("role", sa.String(32)),
    sa.Column("source_link", sa.Text()),
)

action_items = sa.Table(
    "action_items",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    _incident_fk(),
    sa.Column("title", sa.Text(), nullable=False),
    sa.Column("owner", sa.Text()),
    sa.Column("team", sa.Text()),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("priority", sa.String(2), nullable=False),
    sa.Column("due_at", UTCDateTime()),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("completed_at", UTCDateTime()),
    sa.Column("verification_note", sa.Text()),
)

notifications = sa.Table(
    "notifications",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    _incident_fk(),
    sa.Column("audience", sa.String(16), nullable=False),
    sa.Column("regime", sa.String(64)),
    sa.Column("report_type", sa.String(16), nullable=False),
    sa.Column("due_at", UTCDateTime()),
    sa.Column("sent_at", UTCDateTime()),
    sa.Column("reference", sa.Text()),
)

evidence = sa.Table(
    "evidence",
    metadata,
    sa.Column("id", _BigId, primary_key=True, autoincrement=True),
    _incident_fk(),
    sa.Column("kind", sa.Text(), nullable=False),
    sa.Column("uri", sa.Text(), nullable=False),
    sa.Column("sha256", sa.String(64)),
    sa.Column("captured_at", UTCDateTime(), nullable=False),
    sa.Column("run_id", sa.Text()),
)

classifications = sa.Table(
    "classifications",
    metadata,
    sa.Column("id", _BigId, primary_key=True, autoincrement=True),
    _incident_fk(),
    sa.Column("namespace", sa.Text(), nullable=False),
    sa.Column("attribute", sa.Text(), nullable=False),
    sa.Column("value", sa.Text(), nullable=False),
)

history = sa.Table(
    "history",
    metadata,
    sa.Column("id", _BigId, primary_key=True, autoincrement=True),
    sa.Column("entity", sa.String(32), nullable=False),
    sa.Column("entity_id", sa.String(64), nullable=False),
    sa.Column("field", sa.String(64), nullable=False),
    sa.Column("old_value", sa.Text()),
    sa.Column("new_value", sa.Text()),
    sa.Column("changed_at", UTCDateTime(), nullable=False),
    sa.Column("changed_by", sa.Text()),
    sa.Index("ix_history_entity_entity_id_field", "entity", "entity_id", "field"),
)

id_counters = sa.Table(
    "id_counters",
    metadata,
    sa.Column("scope", sa.String(32), primary_key=True),
    sa.Column("last_value", sa.BigInteger(), nullable=False),
)

CHILD_TABLES: dict[str, sa.Table] = {
    "timeline_events": timeline_events,
    "action_items": action_items,
    "notifications": notifications,
    "evidence": evidence,
    "classifications": classifications,
}
"""Tables whose rows belong to one incident (``incident_id``)."""

JSON_COLUMNS: dict[str, tuple[str, ...]] = {
    "ai_systems": ("data_card",),
    "incidents": ("affected_groups", "contributing_factors", "model_versions", "tags", "failure_signal"),
}
"""Columns holding JSON text, per table."""
