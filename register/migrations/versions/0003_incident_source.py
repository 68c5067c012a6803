"""Record where an incident comes from: ``source`` (None = own) and ``source_id`` (its id there).

Both columns are nullable, so the upgrade adds them in place (``ALTER TABLE ... ADD COLUMN``, no table
rebuild): every row is kept and existing incidents read as the register's own (``source`` NULL). An
index on ``(source, source_id)`` serves the re-import of a public database (find the records it owns).
The downgrade drops them with a batch change (on SQLite a rebuild: the environment turns foreign keys
off, as for 0002).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("incidents", sa.Column("source", sa.String(64)))
    op.add_column("incidents", sa.Column("source_id", sa.Text()))
    op.create_index("ix_incidents_source_source_id", "incidents", ["source", "source_id"])


def downgrade() -> None:
    op.drop_index("ix_incidents_source_source_id", table_name="incidents")
    recreate = "always" if op.get_bind().dialect.name == "sqlite" else "auto"
    with op.batch_alter_table("incidents", recreate=recreate) as batch:
        batch.drop_column("source_id")
        batch.drop_column("source")
