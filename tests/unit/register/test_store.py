"""Storage: URLs, engine settings, the UTC time type on both databases, opening registers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from register import NotFoundError, Register, RegisterError, open_register
from register.store import (
    UTCDateTime,
    current_revision,
    head_revision,
    make_engine,
    normalise_url,
    write_transaction,
)

PLUS_TWO = timezone(timedelta(hours=2))


def test_normalise_url() -> None:
    assert normalise_url("/tmp/x.sqlite") == "sqlite+pysqlite:////tmp/x.sqlite"
    assert normalise_url("sqlite:////tmp/x.sqlite") == "sqlite+pysqlite:////tmp/x.sqlite"
    assert normalise_url("postgres://u@h:1/db") == "postgresql+psycopg://u@h:1/db"
    assert normalise_url("postgresql+psycopg://u@h/db") == "postgresql+psycopg://u@h/db"
    with pytest.raises(RegisterError, match="file path or a database URL"):
        normalise_url("")


def test_unknown_backend_and_missing_folder_are_refused(tmp_path) -> None:
    with pytest.raises(RegisterError, match="postgresql"):
        make_engine("mysql://u@h/db")
    with pytest.raises(RegisterError, match="folder must exist"):
        make_engine(tmp_path / "no" / "such" / "r.sqlite")


def test_sqlite_pragmas_and_begin_immediate(tmp_path) -> None:
    engine = make_engine(tmp_path / "r.sqlite")
    statements: list[str] = []
    sa.event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 60_000
    statements.clear()
    with write_transaction(engine) as connection:
        connection.exec_driver_sql("SELECT 1")
    assert statements[0] == "BEGIN IMMEDIATE"
    statements.clear()
    with engine.connect() as connection, connection.begin():
        connection.exec_driver_sql("SELECT 1")
    assert statements[0] == "BEGIN"
    engine.dispose()


def test_a_write_transaction_holds_the_lock_from_its_start(tmp_path) -> None:
    path = tmp_path / "r.sqlite"
    first = make_engine(path)
    second = make_engine(path, busy_timeout_ms=100)
    # no statement has run in the first transaction, yet a second writer cannot start
    with (
        write_transaction(first),
        pytest.raises(sa.exc.OperationalError, match="locked"),
        write_transaction(second),
    ):
        pass
    with write_transaction(second):
        pass
    first.dispose()
    second.dispose()


@pytest.mark.parametrize(
    "value",
    [
        datetime(2026, 3, 1, 14, 30, 15, 123456, tzinfo=PLUS_TWO),
        datetime(2026, 3, 1, 23, 59, tzinfo=timezone(timedelta(hours=-5))),
        datetime(2026, 3, 1, 12, 0),  # naive is UTC
    ],
)
def test_utc_type_round_trip_same_instant_and_aware(register_url: str, value: datetime) -> None:
    engine = make_engine(register_url)
    table = sa.Table(
        "times", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True), sa.Column("t", UTCDateTime())
    )
    table.metadata.create_all(engine)
    with write_transaction(engine) as connection:
        connection.execute(table.insert(), [{"id": 1, "t": value}])
    with engine.connect() as connection:
        back = connection.execute(sa.select(table.c.t)).scalar_one()
    expected = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    assert back == expected
    assert back.utcoffset() == timedelta(0)
    assert back.tzinfo is not None
    table.metadata.drop_all(engine)
    engine.dispose()


def test_utc_type_refuses_non_datetimes(register_url: str) -> None:
    with pytest.raises(TypeError, match="must be a datetime"):
        UTCDateTime().process_bind_param("2026-01-01", make_engine(register_url).dialect)


def test_incident_time_with_offset_comes_back_as_same_instant(reg: Register, incident_data) -> None:
    aware = datetime(2026, 3, 2, 11, 0, tzinfo=PLUS_TWO)
    incident = reg.add_incident(
        incident_data(aware_at=aware, occurred_at=datetime(2026, 3, 2, 8, 30, tzinfo=UTC))
    )
    back = reg.get_incident(incident.id)
    assert back.aware_at == aware
    assert back.aware_at.isoformat() == "2026-03-02T09:00:00+00:00"
    frame = reg.incidents_frame()
    assert str(frame["aware_at"].dtype) == "datetime64[us, UTC]"
    assert frame.loc[0, "aware_at"] == aware


def test_open_missing_and_empty_registers(register_url: str, tmp_path) -> None:
    with pytest.raises(NotFoundError, match="workbench register init"):
        open_register(tmp_path / "missing.sqlite")
    make_engine(register_url).connect().close()  # an empty database
    with pytest.raises(RegisterError, match="is empty; run `workbench register init`"):
        Register(register_url)
    reg = Register.init(register_url)
    assert reg.revision == head_revision() == current_revision(reg.engine)
    assert "Register(" in repr(reg) and reg.dialect in ("sqlite", "postgresql")
    reg.close()
    # init is idempotent
    with Register.init(register_url) as again:
        assert again.list_incidents() == []


def test_opening_a_register_at_an_old_schema_asks_for_init(register_url: str) -> None:
    from register.store import upgrade_schema

    upgrade_schema(register_url, revision="0001")
    with pytest.raises(RegisterError, match="is at schema 0001"):
        Register(register_url)


def test_a_file_that_is_not_a_register_is_refused(tmp_path) -> None:
    path = tmp_path / "notes.sqlite"
    path.write_text("these are not the tables you are looking for\n" * 100)
    with pytest.raises(RegisterError, match="cannot open the register"):
        Register(path)


def test_head_revision_constant_is_alembics_head() -> None:
    from register.store import HEAD_REVISION, alembic_head_revision

    assert alembic_head_revision() == HEAD_REVISION


def test_current_revision_without_alembic_matches_alembic(tmp_path) -> None:
    from alembic.migration import MigrationContext

    from register import open_register
    from register.store import current_revision, make_engine

    path = tmp_path / "r.sqlite"
    open_register(path, create=True).close()
    engine = make_engine(str(path))
    with engine.connect() as connection:
        assert current_revision(engine) == MigrationContext.configure(connection).get_current_revision()
    engine.dispose()
    empty = make_engine(str(tmp_path / "empty.sqlite"))
    assert current_revision(empty) is None
    empty.dispose()
