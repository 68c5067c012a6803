"""Bounds at the register's edge (issue 21): integers, ids, control characters, nesting, YAML aliases, sizes.

Every bad input is a RegisterError (ValidationFailed / NotFoundError) with a clear message, the same on
SQLite and PostgreSQL, and nothing is written.
"""

from __future__ import annotations

import json
import os
import sqlite3
import tracemalloc
from pathlib import Path

import pytest

from register import Register, open_register
from register._parsing import MAX_JSON_DEPTH, MAX_YAML_ALIAS_EXPANSION, load_json, load_yaml, nesting_depth
from register.errors import NotFoundError, RegisterError, ValidationFailed
from register.io import Bundle, read_bundle, write_bundle
from register.policy import TriageAnswers, load_policy
from register.schema import (
    INCIDENT_ID_PATTERN,
    MAX_INTEGER,
    ActionItem,
    AiSystem,
    Incident,
    TimelineEvent,
    check_control_characters,
)

TOO_BIG = 10**30


def _bundle_document(tmp_path: Path, reg: Register, incident_data, **overrides: object) -> dict:
    """An export of one incident, as a JSON document, with fields of that incident overridden."""
    reg.add_incident(incident_data(), by="test")
    path = write_bundle(reg.export_bundle(), tmp_path / "b.json")
    document = json.loads(path.read_text(encoding="utf-8"))
    document["incidents"][0].update({"id": "INC-2026-0100", **overrides})
    return document


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# -- integers ----------------------------------------------------------------------------------------


def test_max_integer_is_the_64_bit_range() -> None:
    assert MAX_INTEGER == 2**63 - 1
    Incident.model_validate(_incident(affected_count=MAX_INTEGER))  # the edge itself is storable


def _incident(**overrides: object) -> dict[str, object]:
    return {
        "id": "INC-2026-0001",
        "title": "t",
        "category": "safety",
        "severity": "SEV-2",
        "aware_at": "2026-03-01T00:00:00Z",
        **overrides,
    }


@pytest.mark.parametrize("value", [MAX_INTEGER + 1, TOO_BIG, -1])
def test_affected_count_beyond_the_storage_range_is_refused(reg: Register, incident_data, value: int) -> None:
    with pytest.raises(ValidationFailed, match="affected_count"):
        reg.add_incident(incident_data(affected_count=value), by="test")
    incident = reg.add_incident(incident_data(), by="test")
    with pytest.raises(ValidationFailed, match="affected_count"):
        reg.update_incident(incident.id, {"affected_count": value}, by="test")
    assert reg.get_incident(incident.id).affected_count == 0


def test_import_of_an_integer_beyond_the_storage_range_is_refused(
    reg: Register, incident_data, tmp_path: Path
) -> None:
    document = _bundle_document(tmp_path, reg, incident_data, affected_count=TOO_BIG)
    document["timeline_events"] = [
        {
            "id": TOO_BIG,
            "incident_id": "INC-2026-0100",
            "at": "2026-03-02T10:00:00Z",
            "kind": "note",
            "description": "x",
        }
    ]
    path = _write(tmp_path, "big.json", json.dumps(document))
    with pytest.raises(ValidationFailed) as caught:
        read_bundle(path)
    columns = {failure["column"] for failure in caught.value.failures}
    assert {"affected_count", "id"} <= columns
    assert [i.id for i in reg.list_incidents()] == ["INC-2026-0001"]


def test_integer_of_more_than_4300_digits_in_an_import_is_refused(
    reg: Register, incident_data, tmp_path: Path
) -> None:
    document = _bundle_document(tmp_path, reg, incident_data, affected_count=7)
    text = json.dumps(document).replace('"affected_count": 7', '"affected_count": ' + "1" * 4400)
    with pytest.raises(ValidationFailed, match="must be valid register data"):
        read_bundle(_write(tmp_path, "digits.json", text))


def test_list_limit_beyond_the_storage_range_is_refused(reg: Register) -> None:
    for limit in (0, MAX_INTEGER + 1, TOO_BIG):
        with pytest.raises(ValidationFailed, match="limit must be between 1 and"):
            reg.list_incidents(limit=limit)
    assert reg.list_incidents(limit=MAX_INTEGER) == []


def test_integer_ids_beyond_the_storage_range(reg: Register, incident_data) -> None:
    incident = reg.add_incident(incident_data(), by="test")
    with pytest.raises(ValidationFailed, match="id"):
        reg.add_timeline_event(
            {
                "id": TOO_BIG,
                "incident_id": incident.id,
                "at": "2026-03-02T10:00:00Z",
                "kind": "note",
                "description": "x",
            },
            by="test",
        )
    with pytest.raises(ValueError):
        TimelineEvent(
            id=MAX_INTEGER + 1,
            incident_id=incident.id,
            at="2026-03-02T10:00:00Z",
            kind="note",
            description="x",
        )


def test_incident_ids_are_checked_by_pattern_before_any_number_is_taken(reg: Register, incident_data) -> None:
    # 23 digits fit the 32-character id column but not a 64-bit counter: refused by the pattern
    with pytest.raises(ValidationFailed, match="id"):
        reg.add_incident(incident_data(id="INC-2026-" + "9" * 23), by="test")
    with pytest.raises(ValidationFailed, match="id"):
        reg.add_incident(incident_data(id="INC-2026-" + "1" * 4400), by="test")
    # 18 digits (the pattern's most) are stored, and the counter moves past them
    biggest = "INC-2026-" + "9" * 18
    assert reg.add_incident(incident_data(id=biggest), by="test").id == biggest
    assert reg.get_incident(biggest).id == biggest
    with pytest.raises(ValidationFailed, match="at most 18 digits"):
        reg.add_incident(incident_data(), by="test")
    assert [i.id for i in reg.list_incidents()] == [biggest]
    assert r"\d{4,18}" in INCIDENT_ID_PATTERN


def test_unknown_integer_id_beyond_the_range_is_not_found_not_an_overflow(reg: Register) -> None:
    from register import _tables as t
    from register._entities import exists

    with reg.engine.connect() as connection:
        assert exists(connection, t.timeline_events, TOO_BIG) is False
    with pytest.raises(NotFoundError):
        reg._load(reg.engine.connect(), TimelineEvent, TOO_BIG)  # noqa: SLF001 - the guard itself


def test_triage_answers_bound_the_affected_count() -> None:
    with pytest.raises(ValueError, match="affected_count"):
        TriageAnswers(affected_count=TOO_BIG)


# -- control characters ------------------------------------------------------------------------------


@pytest.mark.parametrize("character", ["\x00", "\x01", "\x07", "\x0b", "\x1b", "\x1f"])
def test_control_characters_are_refused_on_every_backend(
    reg: Register, incident_data, character: str
) -> None:
    with pytest.raises(ValidationFailed, match="control characters"):
        reg.add_incident(incident_data(title=f"a{character}b"), by="test")
    incident = reg.add_incident(incident_data(), by="test")
    for field, value in (("summary", f"x{character}"), ("tags", ["ok", f"y{character}"])):
        with pytest.raises(ValidationFailed, match="control characters"):
            reg.update_incident(incident.id, {field: value}, by="test")
    with pytest.raises(ValidationFailed, match="control characters"):
        reg.add_timeline_event(
            {
                "incident_id": incident.id,
                "at": "2026-03-02T10:00:00Z",
                "kind": "note",
                "description": f"NUL{character}here",
            },
            by="test",
        )
    with pytest.raises(ValueError, match="control characters"):
        ActionItem(incident_id=incident.id, title="t", kind="prevent", owner=f"o{character}")
    with pytest.raises(ValueError, match="control characters"):
        AiSystem(id="s", name=f"n{character}")
    assert reg.get_incident(incident.id).summary is None


def test_tab_newline_and_carriage_return_are_kept(reg: Register, incident_data) -> None:
    text = "line one\r\nline two\tcolumn"
    incident = reg.add_incident(incident_data(summary=text, tags=["a\tb"]), by="test")
    assert reg.get_incident(incident.id).summary == text
    assert check_control_characters({"k": "v\n"}) == {"k": "v\n"}


def test_control_characters_in_an_import_are_one_failure_row_each(
    reg: Register, incident_data, tmp_path: Path
) -> None:
    document = _bundle_document(tmp_path, reg, incident_data, title="a\u0000b", summary="c\u0002")
    with pytest.raises(ValidationFailed) as caught:
        read_bundle(_write(tmp_path, "nul.json", json.dumps(document)))
    assert {f["column"] for f in caught.value.failures} == {"title", "summary"}
    assert all("control characters" in str(f["message"]) for f in caught.value.failures)


def test_a_stored_row_with_a_nul_byte_stays_readable(tmp_path: Path, incident_data) -> None:
    """SQLite registers written before the check may hold NUL: they are read, not refused."""
    path = tmp_path / "legacy.sqlite"
    with open_register(path, create=True) as reg:
        incident = reg.add_incident(incident_data(summary="clean"), by="test")
    connection = sqlite3.connect(path)
    connection.execute("UPDATE incidents SET summary = ? WHERE id = ?", ("old\x00text", incident.id))
    connection.commit()
    connection.close()
    with open_register(path) as reg:
        assert reg.get_incident(incident.id).summary == "old\x00text"
        assert len(reg.list_incidents()) == 1


# -- nesting, YAML aliases, sizes --------------------------------------------------------------------


def test_json_nesting_is_bounded() -> None:
    assert nesting_depth(load_json("[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH)) == MAX_JSON_DEPTH
    for depth in (MAX_JSON_DEPTH + 1, 10_000):
        with pytest.raises(ValidationFailed, match=f"at most {MAX_JSON_DEPTH}"):
            load_json("[" * depth + "]" * depth)
    assert nesting_depth([[[]]] * 3) == 3


@pytest.mark.parametrize("suffix", [".json", ".yaml"])
def test_deeply_nested_import_is_a_failure_row(tmp_path: Path, suffix: str) -> None:
    deep = "[" * 10_000 + "]" * 10_000
    path = _write(
        tmp_path, f"deep{suffix}", '{"format": "workbench-bundle", "version": 1, "tags": ' + deep + "}"
    )
    with pytest.raises(ValidationFailed) as caught:
        read_bundle(path)
    assert caught.value.failures[0]["problem"] == "malformed_file"
    assert f"at most {MAX_JSON_DEPTH}" in str(caught.value.failures[0]["message"])


def _billion_laughs() -> str:
    """The classic bomb: nine levels of nine aliases (10^9 strings once expanded), about 600 bytes."""
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for level in range(1, 9):
        name, previous = chr(ord("a") + level), chr(ord("a") + level - 1)
        lines.append(f"{name}: &{name} [{','.join(['*' + previous] * 9)}]")
    lines.append("i_am_the_bomb: [" + ",".join(["*i"] * 9) + "]")
    return "\n".join(lines) + "\n"


def test_billion_laughs_bundle_fails_at_once_with_bounded_memory(tmp_path: Path) -> None:
    bomb = _billion_laughs()
    assert len(bomb.encode()) < 700
    path = _write(tmp_path, "bomb.yaml", "format: workbench-bundle\nversion: 1\n" + bomb)
    tracemalloc.start()
    try:
        with pytest.raises(ValidationFailed) as caught:
            read_bundle(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 20 * 1024 * 1024  # a bomb expanded even 0.1% would take far more
    message = str(caught.value.failures[0]["message"])
    assert f"must not expand its aliases to more than {MAX_YAML_ALIAS_EXPANSION}" in message


def test_yaml_aliases_in_moderation_still_work_and_recursive_ones_are_refused() -> None:
    assert load_yaml("card: &c {location: logs}\nother: *c\nmerged: {<<: *c, table: t}") == {
        "card": {"location": "logs"},
        "other": {"location": "logs"},
        "merged": {"location": "logs", "table": "t"},
    }
    with pytest.raises(ValidationFailed, match="recursive YAML alias"):
        load_yaml("a: &a [*a]")


def test_policy_file_goes_through_the_safe_loader(tmp_path: Path) -> None:
    with pytest.raises(ValidationFailed, match="must not expand its aliases"):
        load_policy(_write(tmp_path, "policy.yaml", _billion_laughs()))


def test_import_files_over_the_size_limit_are_refused_before_reading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import register._parsing
    import register.io._bundle_files

    path = _write(tmp_path, "big.json", json.dumps({"format": "workbench-bundle", "version": 1}) + " " * 2048)
    monkeypatch.setattr(register.io._bundle_files, "MAX_DOCUMENT_BYTES", 1024)
    with pytest.raises(ValidationFailed) as caught:
        read_bundle(path)
    assert caught.value.failures[0]["problem"] == "too_large"
    assert register._parsing.MAX_DOCUMENT_BYTES == 50 * 1024 * 1024


# -- unknown ids in filters, register locations -----------------------------------------------------


def test_export_of_an_unknown_incident_is_an_error(reg: Register, incident_data) -> None:
    incident = reg.add_incident(incident_data(), by="test")
    for unknown in ("../../x", "INC-2026-9999"):
        with pytest.raises(NotFoundError, match="unknown incident"):
            reg.export_bundle(incident_ids=[incident.id, unknown])
    assert reg.export_bundle(incident_ids=[incident.id]).counts()["incidents"] == 1


def test_list_by_an_unknown_system_is_an_error(reg: Register, incident_data) -> None:
    reg.add_incident(incident_data(), by="test")
    with pytest.raises(NotFoundError, match="no AI system 'nope'"):
        reg.list_incidents(system="nope")
    reg.add_system({"id": "credit", "name": "Credit model"}, by="test")
    assert reg.list_incidents(system=["credit"]) == []


@pytest.mark.parametrize("location", ["://::", "postgresql://u@h:notaport/db"])
def test_unparseable_register_url_is_a_register_error(location: str) -> None:
    with pytest.raises(RegisterError, match="must be a file path or a database URL"):
        open_register(location)


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere except /proc")
def test_init_on_an_unwritable_folder_is_a_register_error(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    with pytest.raises(RegisterError, match="cannot create or open the register"):
        Register.init(locked / "r.sqlite")


def test_init_where_no_file_can_be_created_is_a_register_error() -> None:
    with pytest.raises(RegisterError, match="cannot create or open the register"):
        Register.init("/proc/r.sqlite")


def test_bundle_round_trip_keeps_working(reg: Register, incident_data, tmp_path: Path) -> None:
    reg.add_incident(incident_data(summary="text starting with { and [ is text"), by="test")
    for name in ("b.json", "b.yaml"):
        assert read_bundle(write_bundle(reg.export_bundle(), tmp_path / name)) == reg.export_bundle()
    assert Bundle().counts()["incidents"] == 0


def test_aiid_files_over_the_size_limit_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import register.io._aiid
    from register.io import read_aiid_incidents

    path = _write(tmp_path, "incidents.csv", "incident_id,date,title\n1,2016-03-24,x\n" + " " * 2048)
    monkeypatch.setattr(register.io._aiid, "MAX_DOCUMENT_BYTES", 1024)
    with pytest.raises(ValidationFailed) as caught:
        read_aiid_incidents(path)
    assert caught.value.failures[0]["problem"] == "too_large"
