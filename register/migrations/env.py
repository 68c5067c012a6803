"""Alembic environment of the register: run through ``register.store.upgrade_schema`` only.

The caller passes an open connection inside a write transaction in ``config.attributes["connection"]``;
on SQLite foreign keys are OFF for the migration (batch rebuilds of a parent table would otherwise cascade
away child rows) and ``PRAGMA foreign_key_check`` runs after it, before the commit.
"""

from __future__ import annotations

from alembic import context

from register._tables import metadata

config = context.config
connection = config.attributes.get("connection")
if connection is None:
    raise RuntimeError(
        "the register's migrations run through register.store.upgrade_schema "
        "(or `workbench register init`), not the alembic command line."
    )

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)

with context.begin_transaction():
    context.run_migrations()
