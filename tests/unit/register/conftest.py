"""Fixtures of the register suite: every register test runs on SQLite AND on PostgreSQL.

PostgreSQL needs ``WORKBENCH_TEST_PG_URL``: a server URL whose user may create databases, e.g.
``postgresql+psycopg://postgres@127.0.0.1:54329/postgres``. Each test module gets a fresh database
(dropped afterwards) and each test a fresh schema in it (selected with ``search_path``). Without the
variable the PostgreSQL variants are skipped with the reason (a failure under ``CI=true``).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from register import Register, open_register

PG_ENV = "WORKBENCH_TEST_PG_URL"

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
]


def _server_url() -> str:
    url = os.environ.get(PG_ENV, "").strip()
    if not url:
        pytest.skip(
            f"PostgreSQL tests need {PG_ENV}, a server URL with rights to create databases, e.g. "
            "postgresql+psycopg://postgres@127.0.0.1:54329/postgres"
        )
    return url


@pytest.fixture(scope="module")
def pg_database() -> Iterator[sa.URL]:
    """A fresh PostgreSQL database for one test module (dropped afterwards)."""
    server = sa.engine.make_url(_server_url())
    if server.drivername in ("postgresql", "postgres"):
        server = server.set(drivername="postgresql+psycopg")
    name = f"wbtest_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except sa.exc.OperationalError as exc:
        admin.dispose()
        pytest.skip(f"cannot reach the PostgreSQL server in {PG_ENV}: {exc.orig}")
    try:
        yield server.set(database=name)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def _fresh_schema(database: sa.URL) -> str:
    schema = f"t_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(database, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    engine.dispose()
    url = database.update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False)


@pytest.fixture(params=BACKENDS)
def register_url(request: pytest.FixtureRequest, tmp_path) -> str:
    """The URL (or SQLite path) of an empty database, on each backend."""
    if request.param == "sqlite":
        return str(tmp_path / "register.sqlite")
    return _fresh_schema(request.getfixturevalue("pg_database"))


@pytest.fixture
def reg(register_url: str) -> Iterator[Register]:
    """A new, empty register at the newest schema."""
    register = open_register(register_url, create=True)
    try:
        yield register
    finally:
        register.close()


AWARE = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _incident_data(**overrides: object) -> dict[str, object]:
    data: dict[str, object] = {
        "title": "Credit model rejects more applicants",
        "category": "performance_degradation",
        "severity": "SEV-2",
        "aware_at": AWARE,
        "affected_count": 0,
    }
    data.update(overrides)
    return data


@pytest.fixture
def incident_data():
    """A factory of valid incident fields (no id: the register allocates one); aware at 2026-03-02 09:00Z."""
    return _incident_data
