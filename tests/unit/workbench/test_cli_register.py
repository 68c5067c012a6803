"""`workbench register ...`: help, the register location, every command, --json, user errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from register import open_register
from workbench.cli import main

REGISTER_COMMANDS = (
    "init",
    "add",
    "update",
    "transition",
    "event",
    "action",
    "notify",
    "show",
    "list",
    "import",
    "export",
    "validate",
    "classify",
)


def _json(capsys: pytest.CaptureFixture[str]) -> object:
    return json.loads(capsys.readouterr().out)


def _one_line(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture
def reg_path(tmp_path: Path) -> str:
    path = str(tmp_path / "r.sqlite")
    assert main(["register", "init", "--register", path]) == 0
    return path


def _add(path: str, capsys: pytest.CaptureFixture[str], *extra: str) -> str:
    code = main(
        [
            "register",
            "add",
            "--register",
            path,
            "--title",
            "Loan model drift",
            "--category",
            "performance_degradation",
            "--severity",
            "SEV-2",
            "--aware-at",
            "2026-03-02T11:00:00+02:00",
            "--json",
            *extra,
        ]
    )
    assert code == 0
    return _json(capsys)["id"]  # type: ignore[index]


def test_help_for_every_register_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["register", "--help"]) == 0
    listing = capsys.readouterr().out
    for command in REGISTER_COMMANDS:
        assert command in listing
        assert main(["register", command, "--help"]) == 0, command
        assert "Usage" in capsys.readouterr().out


def test_init_json_and_idempotent(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = str(tmp_path / "r.sqlite")
    assert main(["register", "init", "--register", path, "--json"]) == 0
    assert _json(capsys) == {"register": f"sqlite+pysqlite:///{path}", "schema": "0003"}
    assert main(["register", "init", "--register", path]) == 0
    assert "Register ready" in capsys.readouterr().out


def test_register_location_env_then_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("WORKBENCH_REGISTER_URL", raising=False)
    assert main(["register", "init"]) == 0
    assert (tmp_path / "register.sqlite").exists()
    elsewhere = tmp_path / "env.sqlite"
    monkeypatch.setenv("WORKBENCH_REGISTER_URL", str(elsewhere))
    assert main(["register", "init"]) == 0
    assert elsewhere.exists()
    capsys.readouterr()
    _add(str(elsewhere), capsys)
    assert main(["register", "list", "--json"]) == 0
    assert len(_json(capsys)) == 1  # type: ignore[arg-type]
    monkeypatch.delenv("WORKBENCH_REGISTER_URL")
    assert main(["register", "list", "--json"]) == 0
    assert _json(capsys) == []


def test_add_update_transition_event_action_notify_show(
    reg_path: str, capsys: pytest.CaptureFixture[str]
) -> None:
    incident_id = _add(reg_path, capsys, "--set", "affected_count=40", "--set", "tags=loans,eu")
    assert incident_id == "INC-2026-0001"
    assert (
        main(["register", "update", incident_id, "-r", reg_path, "--set", "affected_count=41", "--by", "ana"])
        == 0
    )
    assert "Updated INC-2026-0001: affected_count." in capsys.readouterr().out
    assert (
        main(
            ["register", "transition", incident_id, "triaged", "--at", "2026-03-02T10:00:00Z", "-r", reg_path]
        )
        == 0
    )
    assert "detected -> triaged" in capsys.readouterr().out
    assert (
        main(
            [
                "register",
                "event",
                incident_id,
                "--kind",
                "deploy",
                "-d",
                "rolled back",
                "--at",
                "2026-03-02T12:00Z",
                "-r",
                reg_path,
            ]
        )
        == 0
    )
    assert (
        main(
            [
                "register",
                "action",
                incident_id,
                "--title",
                "Add drift alert",
                "--kind",
                "detect",
                "--due",
                "2026-03-20",
                "-r",
                reg_path,
                "--json",
            ]
        )
        == 0
    )
    capsys.readouterr()
    assert (
        main(
            [
                "register",
                "action",
                incident_id,
                "--item",
                f"{incident_id}-A1",
                "--status",
                "done",
                "--completed-at",
                "2026-03-04T00:00Z",
                "-r",
                reg_path,
                "--json",
            ]
        )
        == 0
    )
    action = _json(capsys)
    assert action["status"] == "done" and action["completed_at"] == "2026-03-04T00:00:00Z"  # type: ignore[index]
    assert (
        main(
            [
                "register",
                "notify",
                incident_id,
                "--audience",
                "regulator",
                "--regime",
                "eu_ai_act_art73",
                "--due",
                "2026-03-04T00:00Z",
                "-r",
                reg_path,
            ]
        )
        == 0
    )
    assert (
        main(
            [
                "register",
                "notify",
                incident_id,
                "--item",
                f"{incident_id}-N1",
                "--sent",
                "2026-03-03T09:00Z",
                "--reference",
                "R-1",
                "-r",
                reg_path,
            ]
        )
        == 0
    )
    capsys.readouterr()

    assert (
        main(["register", "show", incident_id, "-r", reg_path, "--as-of", "2026-03-05T00:00Z", "--json"]) == 0
    )
    shown = _json(capsys)
    assert shown["incident"]["affected_count"] == 41  # type: ignore[index]
    assert shown["incident"]["tags"] == ["loans", "eu"]  # type: ignore[index]
    assert shown["incident"]["aware_at"] == "2026-03-02T09:00:00Z"  # type: ignore[index]
    assert [e["description"] for e in shown["timeline"]] == ["rolled back"]  # type: ignore[index]
    assert shown["notifications"][0]["reference"] == "R-1"  # type: ignore[index]
    metrics = shown["metrics"]  # type: ignore[index]
    assert metrics["action_items_open"] == 0
    assert metrics["response_sla_met"] is False  # never acknowledged; SEV-2 allows 1 h

    assert main(["register", "show", incident_id, "-r", reg_path, "--as-of", "2026-03-05T00:00Z"]) == 0
    table = capsys.readouterr().out
    for heading in (
        "Loan model drift",
        "Derived metrics as of 2026-03-05 00:00 UTC",
        "Timeline",
        "Action items",
        "Notifications",
    ):
        assert heading in table

    with open_register(reg_path) as reg:
        history = reg.history("incidents", incident_id, field="affected_count")
        assert [(h.old_value, h.new_value, h.changed_by) for h in history] == [("40", "41", "ana")]


def test_list_filters_and_json(reg_path: str, capsys: pytest.CaptureFixture[str]) -> None:
    first = _add(reg_path, capsys)
    second = _add(reg_path, capsys, "--set", "severity=SEV-1")
    assert main(["register", "list", "-r", reg_path, "--severity", "SEV-1", "--json"]) == 0
    assert [i["id"] for i in _json(capsys)] == [second]  # type: ignore[union-attr,index]
    assert main(["register", "list", "-r", reg_path, "--open", "--since", "2026-03-01", "--json"]) == 0
    assert [i["id"] for i in _json(capsys)] == [first, second]  # type: ignore[union-attr,index]
    assert main(["register", "list", "-r", reg_path]) == 0
    out = capsys.readouterr().out
    assert "2 incident(s)" in out and first in out


def test_export_import_validate_round_trip(
    reg_path: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    incident_id = _add(reg_path, capsys)
    main(
        [
            "register",
            "event",
            incident_id,
            "--kind",
            "note",
            "-d",
            "x",
            "--at",
            "2026-03-02T12:00Z",
            "-r",
            reg_path,
        ]
    )
    capsys.readouterr()
    bundle = tmp_path / "bundle.json"
    assert main(["register", "export", str(bundle), "-r", reg_path, "--json"]) == 0
    assert _json(capsys)["counts"]["incidents"] == 1  # type: ignore[index]
    fresh = str(tmp_path / "fresh.sqlite")
    main(["register", "init", "-r", fresh])
    capsys.readouterr()
    assert main(["register", "validate", str(bundle), "-r", fresh, "--json"]) == 0
    assert _json(capsys)["valid"] is True  # type: ignore[index]
    with open_register(fresh) as reg:
        assert reg.list_incidents() == []  # validate wrote nothing
    assert main(["register", "import", str(bundle), "-r", fresh, "--json"]) == 0
    assert _json(capsys)["counts"]["timeline_events"] == 1  # type: ignore[index]
    with open_register(fresh) as reg, open_register(reg_path) as source:
        assert reg.export_bundle() == source.export_bundle()
    # importing again: every id is already there -> exit 2, a failures table, nothing written
    assert main(["register", "import", str(bundle), "-r", fresh]) == 2
    err = capsys.readouterr().err
    assert "the bundle has 2 problem(s); nothing was written." in err and "INC-2026-0001" in err
    with open_register(fresh) as reg:
        assert len(reg.timeline(incident_id)) == 1


def test_classify_answers_and_incident(
    reg_path: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "register",
            "classify",
            "--harm-ongoing",
            "--no-reversible",
            "--category",
            "safety",
            "--as-of",
            "2026-09-01T00:00Z",
            "--json",
        ]
    )
    assert code == 0
    suggestion = _json(capsys)
    assert suggestion["severity"] == "SEV-1"  # type: ignore[index]
    assert "harm is ongoing and irreversible" in suggestion["reasons"][0]  # type: ignore[index]
    answers = tmp_path / "answers.yaml"
    answers.write_text(
        "category: data_exposure_privacy\npersonal_data: true\nharm_ongoing: false\nreversible: true\n"
    )
    assert main(["register", "classify", "--answers", str(answers), "--as-of", "2026-05-04T08:00Z"]) == 0
    out = capsys.readouterr().out
    assert "Suggested severity: SEV-2" in out
    incident_id = _add(reg_path, capsys)
    assert (
        main(["register", "classify", incident_id, "-r", reg_path, "--as-of", "2026-03-03T00:00Z", "--json"])
        == 0
    )
    checked = _json(capsys)
    assert checked["incident"] == incident_id and checked["regimes"]  # type: ignore[index]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["register", "show", "INC-2026-0999"],
            "no incident INC-2026-0999; `workbench register list` shows the ids",
        ),
        (["register", "transition", "INC-2026-0001", "closed"], "Allowed from 'detected': triaged"),
        (
            ["register", "update", "INC-2026-0001", "--set", "status=closed"],
            "status changes only through transition",
        ),
        (["register", "update", "INC-2026-0001", "--set", "colour=red"], "--set field must be one of"),
        (
            ["register", "update", "INC-2026-0001", "--set", "affected_count"],
            "--set must look like field=value",
        ),
        (
            ["register", "update", "INC-2026-0001", "--set", "contained_at=2026-03-01T00:00Z"],
            "is before became aware",
        ),
        (
            ["register", "event", "INC-2026-0001", "--kind", "note", "-d", "x", "--at", "noon"],
            "--at must be an ISO-8601 time",
        ),
        (["register", "add", "--title", "t", "--category", "nope", "--severity", "SEV-2"], "category"),
        (["register", "import", "missing.json"], "missing"),
    ],
)
def test_user_errors_are_one_message_and_exit_2(
    reg_path: str, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    _add(reg_path, capsys)
    assert main([*argv, "--register", reg_path]) == 2
    err = capsys.readouterr().err
    assert message in _one_line(err)
    assert "Traceback" not in err
    assert err.startswith("Error:")


@pytest.mark.parametrize(
    ("command", "options", "noun"),
    [
        ("action", ["--title", "Add drift alert", "--kind", "detect"], "action item"),
        ("notify", ["--audience", "regulator", "--regime", "eu_ai_act_art73"], "notification"),
    ],
)
def test_item_of_another_incident_is_refused(
    reg_path: str, capsys: pytest.CaptureFixture[str], command: str, options: list[str], noun: str
) -> None:
    first, second = _add(reg_path, capsys), _add(reg_path, capsys)
    assert main(["register", command, first, *options, "-r", reg_path, "--json"]) == 0
    item = _json(capsys)["id"]  # type: ignore[index]
    assert main(["register", command, second, "--item", item, "-r", reg_path]) == 2
    err = _one_line(capsys.readouterr().err)
    assert f"{noun} {item} belongs to {first}, not {second}; check the ids." in err


def test_missing_register_says_how_to_create_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["register", "list", "--register", str(tmp_path / "none.sqlite")]) == 2
    assert "workbench register init" in _one_line(capsys.readouterr().err)


AIID_CSV = (
    "_id,incident_id,date,reports,Alleged deployer of AI system,Alleged developer of AI system,"
    "Alleged harmed or nearly harmed parties,description,title\n"
    'a1,23,2016-03-24,"[1,2]","[""microsoft""]","[""microsoft""]","[""twitter-users""]",'
    "Chatbot posted offensive tweets.,Chatbot learns offensive language\n"
    'a2,101,2020-06-01,"[5]","[""acme""]","[""acme""]","[""applicants""]",'
    "A screening model rejected applicants.,Screening model rejects applicants\n"
)


def test_import_aiid_export(reg_path: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "incidents.csv").write_text(AIID_CSV, encoding="utf-8")
    assert (
        main(["register", "validate", str(tmp_path / "incidents.csv"), "--aiid", "-r", reg_path, "--json"])
        == 0
    )
    assert _json(capsys)["counts"]["incidents"] == 2  # type: ignore[index]
    assert main(["register", "import", str(tmp_path / "incidents.csv"), "--aiid", "-r", reg_path]) == 0
    assert "Imported: aiid: 2 new, 0 changed, 0 unchanged incident(s)." in capsys.readouterr().out
    with open_register(reg_path) as reg:
        assert [i.id for i in reg.list_incidents()] == ["INC-2016-0023", "INC-2020-0101"]
        assert reg.get_incident("INC-2016-0023").title == "Chatbot learns offensive language"


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("empty.yaml", ""),
        ("null.json", "null"),
        ("no_records.json", '{"format": "workbench-bundle", "version": 1, "incidents": []}'),
    ],
)
def test_empty_import_says_so_and_allow_empty_accepts_it(
    reg_path: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, content: str
) -> None:
    path = tmp_path / name
    path.write_text(content)
    assert main(["register", "import", str(path), "-r", reg_path]) == 2
    captured = capsys.readouterr()
    assert "must hold at least one record" in captured.err and "--allow-empty" in captured.err
    assert "Traceback" not in captured.err
    assert main(["register", "validate", str(path), "-r", reg_path]) == 2
    capsys.readouterr()
    assert main(["register", "import", str(path), "-r", reg_path, "--allow-empty"]) == 0
    assert "nothing (the file holds no records)" in capsys.readouterr().out
