"""Issue 21 on the command line: each input that used to end in a traceback is one clear line and exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from register import open_register
from workbench.cli import main

TOO_BIG = str(10**30)
DIGITS_4400 = "1" * 4400


@pytest.fixture
def reg_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    path = str(tmp_path / "r.sqlite")
    assert main(["register", "init", "-r", path]) == 0
    assert main(_add_args(path)) == 0
    capsys.readouterr()
    return path


def _add_args(path: str, *extra: str) -> list[str]:
    return [
        "register", "add", "-r", path, "--title", "Loan model drift", "--category", "safety",
        "--severity", "SEV-2", "--aware-at", "2026-03-02T09:00:00Z", *extra,
    ]  # fmt: skip


def _user_error(capsys: pytest.CaptureFixture[str], code: int, *expected: str) -> str:
    """Assert exit 2 and one ``Error:`` line holding ``expected``.

    A failure table may follow it; a usage error (typer) puts its usage lines first.
    """
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err
    errors = [line for line in err.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, err
    first = errors[0]
    for text in expected:
        assert text in first, first
    return first


def _incident(path: str) -> dict[str, object]:
    with open_register(path) as reg:
        return reg.get_incident("INC-2026-0001").model_dump(mode="json")


# -- integers and ids --------------------------------------------------------------------------------


def test_update_set_integer_beyond_the_storage_range(
    reg_path: str, capsys: pytest.CaptureFixture[str]
) -> None:
    for value in (TOO_BIG, DIGITS_4400):
        code = main(
            ["register", "update", "INC-2026-0001", "-r", reg_path, "--set", f"affected_count={value}"]
        )
        _user_error(capsys, code, "affected_count")
    assert _incident(reg_path)["affected_count"] is None


def test_list_limit_beyond_the_storage_range(reg_path: str, capsys: pytest.CaptureFixture[str]) -> None:
    _user_error(capsys, main(["register", "list", "-r", reg_path, "--limit", TOO_BIG]), "limit")
    _user_error(capsys, main(["register", "list", "-r", reg_path, "--limit", DIGITS_4400]))


def test_import_integer_beyond_the_storage_range(
    reg_path: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bundle = tmp_path / "b.json"
    assert main(["register", "export", "-r", reg_path, str(bundle)]) == 0
    document = json.loads(bundle.read_text(encoding="utf-8"))
    document["incidents"][0].update(id="INC-2026-0100", affected_count=10**30)
    bundle.write_text(json.dumps(document), encoding="utf-8")
    capsys.readouterr()
    _user_error(capsys, main(["register", "import", "-r", reg_path, str(bundle)]), "nothing was imported")


@pytest.mark.parametrize(
    "args",
    [
        ["register", "add", "--id", "INC-2026-" + "9" * 23],
        ["register", "add", "--id", "INC-2026-" + DIGITS_4400],
        ["register", "show", "INC-2026-" + DIGITS_4400],
        ["register", "action", "INC-2026-0001", "--item", DIGITS_4400],
        ["register", "update", "INC-2026-" + TOO_BIG, "--set", "summary=x"],
    ],
    ids=["add-23-digits", "add-4400-digits", "show-4400-digits", "action-item", "update-big-id"],
)
def test_ids_out_of_range(reg_path: str, capsys: pytest.CaptureFixture[str], args: list[str]) -> None:
    args = _add_args(reg_path, *args[2:]) if args[1] == "add" else [*args, "-r", reg_path]
    _user_error(capsys, main(args))


# -- --set values ------------------------------------------------------------------------------------


def test_set_list_with_bad_json(reg_path: str, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["register", "update", "INC-2026-0001", "-r", reg_path, "--set", "tags=[unclosed"])
    _user_error(capsys, code, "--set tags must be valid JSON")


@pytest.mark.parametrize("field", ["tags", "failure_signal"])
def test_set_deeply_nested_json(reg_path: str, capsys: pytest.CaptureFixture[str], field: str) -> None:
    deep = "[" * 10_000 + "]" * 10_000 if field == "tags" else '{"a":' * 10_000 + "1" + "}" * 10_000
    code = main(["register", "update", "INC-2026-0001", "-r", reg_path, "--set", f"{field}={deep}"])
    _user_error(capsys, code, "nested at most 32")


def test_set_free_text_starting_with_a_brace_or_bracket(
    reg_path: str, capsys: pytest.CaptureFixture[str]
) -> None:
    for text in ("{not json at all", "[draft] see the runbook", '{"looks": "like json"}'):
        assert main(["register", "update", "INC-2026-0001", "-r", reg_path, "--set", f"summary={text}"]) == 0
        assert _incident(reg_path)["summary"] == text
    capsys.readouterr()


def test_set_typed_values(reg_path: str, capsys: pytest.CaptureFixture[str]) -> None:
    signal = '{"kind": "prediction_condition", "column": "score", "op": ">=", "value": 0.9}'
    code = main(
        [
            "register", "update", "INC-2026-0001", "-r", reg_path,
            "--set", "affected_count=120", "--set", "ongoing=true", "--set", 'tags=["a", "b"]',
            "--set", "model_versions=v1, v2", "--set", f"failure_signal={signal}",
        ]
    )  # fmt: skip
    assert code == 0, capsys.readouterr().err
    incident = _incident(reg_path)
    assert (incident["affected_count"], incident["ongoing"]) == (120, True)
    assert (incident["tags"], incident["model_versions"]) == (["a", "b"], ["v1", "v2"])
    assert incident["failure_signal"]["op"] == ">="  # type: ignore[index]
    code = main(["register", "update", "INC-2026-0001", "-r", reg_path, "--set", "failure_signal=score>0.9"])
    _user_error(capsys, code, "--set failure_signal must be valid JSON")


@pytest.mark.parametrize("character", ["\x00", "\x01", "\x1b"])
def test_control_characters_in_text_options(
    reg_path: str, capsys: pytest.CaptureFixture[str], character: str
) -> None:
    code = main(["register", "update", "INC-2026-0001", "-r", reg_path, "--set", f"summary=a{character}b"])
    _user_error(capsys, code, "control characters")
    _user_error(capsys, main(_add_args(reg_path, "--summary", f"x{character}")), "control characters")
    code = main(
        ["register", "event", "INC-2026-0001", "-r", reg_path, "--kind", "note", "-d", f"x{character}"]
    )
    _user_error(capsys, code, "control characters")
    assert _incident(reg_path)["summary"] is None


# -- files and locations -----------------------------------------------------------------------------


def test_export_refuses_to_overwrite_unless_forced(
    reg_path: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out.json"
    out.write_text("precious", encoding="utf-8")
    _user_error(capsys, main(["register", "export", "-r", reg_path, str(out)]), "--force")
    assert out.read_text(encoding="utf-8") == "precious"
    folder = tmp_path / "csv"
    folder.mkdir()
    (folder / "notes.txt").write_text("mine", encoding="utf-8")
    _user_error(capsys, main(["register", "export", "-r", reg_path, str(folder)]), "--force")
    assert main(["register", "export", "-r", reg_path, str(out), "--force"]) == 0
    assert json.loads(out.read_text(encoding="utf-8"))["incidents"][0]["id"] == "INC-2026-0001"
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["register", "export", "-r", reg_path, str(empty)]) == 0  # an empty folder is fine


def test_export_to_an_unwritable_path(
    reg_path: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _user_error(capsys, main(["register", "export", "-r", reg_path, "/proc/nope.json"]), "/proc/nope.json")
    afile = tmp_path / "a-file"
    afile.write_text("x", encoding="utf-8")
    code = main(["register", "export", "-r", reg_path, str(afile / "inside.json")])
    _user_error(capsys, code, "inside.json")


def test_export_of_an_unknown_incident(
    reg_path: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "x.json"
    code = main(["register", "export", "-r", reg_path, "--incident", "../../x", str(out)])
    _user_error(capsys, code, "unknown incident '../../x'")
    assert not out.exists()


def test_list_by_an_unknown_system(reg_path: str, capsys: pytest.CaptureFixture[str]) -> None:
    _user_error(capsys, main(["register", "list", "-r", reg_path, "--system", "nope"]), "no AI system 'nope'")


def test_init_on_an_unwritable_path(capsys: pytest.CaptureFixture[str]) -> None:
    _user_error(
        capsys, main(["register", "init", "-r", "/proc/r.sqlite"]), "cannot create or open the register"
    )


@pytest.mark.parametrize("url", ["://::", "postgresql://u@h:notaport/db"])
def test_unparseable_register_url(
    url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("WORKBENCH_REGISTER_URL", url)
    _user_error(capsys, main(["register", "list"]), "must be a file path or a database URL")


def test_billion_laughs_import_and_answers(
    reg_path: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"{chr(98 + n)}: &{chr(98 + n)} [{','.join(['*' + chr(97 + n)] * 9)}]" for n in range(8)]
    bomb = "\n".join(lines) + "\n"
    bundle = tmp_path / "bomb.yaml"
    bundle.write_text("format: workbench-bundle\nversion: 1\n" + bomb, encoding="utf-8")
    _user_error(capsys, main(["register", "import", "-r", reg_path, str(bundle)]), "nothing was imported")
    answers = tmp_path / "answers.yaml"
    answers.write_text(bomb, encoding="utf-8")
    _user_error(
        capsys, main(["register", "classify", "--answers", str(answers)]), "must not expand its aliases"
    )


# -- the boundary itself -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "error",
    [
        PermissionError(13, "Permission denied", "/data/incidents.csv"),
        IsADirectoryError(21, "Is a directory", "/data"),
        UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte"),
    ],
    ids=["permission", "directory", "encoding"],
)
def test_file_errors_are_user_errors(
    reg_path: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    error: Exception,
) -> None:
    import register.io

    def failing(*args: object, **kwargs: object) -> None:
        raise error

    monkeypatch.setattr(register.io, "read_bundle", failing)
    first = _user_error(capsys, main(["register", "import", "-r", reg_path, "whatever.json"]))
    assert str(getattr(error, "filename", None) or "UTF-8") in first


def test_user_error_messages_are_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import workbench.cli_register
    from register.errors import RegisterError

    def failing(option: str | None) -> None:
        raise RegisterError("first line\nsecond line\n\tthird")

    monkeypatch.setattr(workbench.cli_register, "_open", failing)
    first = _user_error(capsys, main(["register", "list"]))
    assert first == "Error: first line second line third"


@pytest.mark.parametrize(
    ("option", "value"), [("--severity", "SEV-9"), ("--status", "nonsense"), ("--category", "typo")]
)
def test_list_filter_outside_its_vocabulary_is_an_error(
    tmp_path, capsys: pytest.CaptureFixture[str], option: str, value: str
) -> None:
    from workbench.cli import main

    path = str(tmp_path / "r.sqlite")
    assert main(["register", "init", "--register", path]) == 0
    capsys.readouterr()
    assert main(["register", "list", "--register", path, option, value]) == 2
    err = capsys.readouterr().err
    assert "must be one of" in err and value in err and "Traceback" not in err


def test_investigate_reports_dir_that_is_a_file(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    from workbench.cli import main

    path = str(tmp_path / "r.sqlite")
    assert main(["register", "init", "--register", path]) == 0
    file = tmp_path / "reports"
    file.write_text("a file")
    capsys.readouterr()
    code = main(["investigate", "INC-2026-0001", "--register", path, "--reports-dir", str(file)])
    err = capsys.readouterr().err
    assert code == 2 and "--reports-dir must be a folder" in err and "Traceback" not in err
