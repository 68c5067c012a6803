"""Record when and by whom an incident was last changed (a batch change to a parent table).

On SQLite the incidents table is rebuilt (copy, drop, rename): with foreign keys on, dropping the old
table would cascade-delete every timeline event, action item, notification, evidence and classification.
The environment turns foreign keys off for the migration and checks them afterwards.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from register.store import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _recreate() -> str:
    return "always" if op.get_bind().dialect.name == "sqlite" else "auto"


def upgrade() -> None:
    with op.batch_alter_table("incidents", recreate=_recreate()) as batch:
        batch.add_column(sa.Column("updated_at", UTCDateTime()))
        batch.add_column(sa.Column("updated_by", sa.Text()))


def downgrade() -> None:
    with op.batch_alter_table("incidents", recreate=_recreate()) as batch:
        batch.drop_column("updated_by")
        batch.drop_column("updated_at")
