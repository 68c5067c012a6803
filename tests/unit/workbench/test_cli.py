"""The CLI shell: help everywhere, version, one clear message and exit 2 for user errors."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
import typer.main

from workbench import __version__
from workbench.cli import app, main, parse_as_of
from workbench.errors import WorkbenchError


def _command_paths() -> list[list[str]]:
    root = typer.main.get_command(app)
    paths: list[list[str]] = []

    def walk(command: object, prefix: list[str]) -> None:
        paths.append(prefix)
        if hasattr(command, "commands"):  # a group (typer vendors its own click)
            for name, sub in command.commands.items():
                walk(sub, [*prefix, name])

    walk(root, [])
    return paths


def test_every_command_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    paths = _command_paths()
    assert ["scenario", "generate"] in paths and ["demo"] in paths and ["investigate"] in paths
    for path in paths:
        assert main([*path, "--help"]) == 0, path
        out = capsys.readouterr().out
        assert "Usage" in out, path


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert __version__ in capsys.readouterr().out


def test_user_error_is_one_message_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["trends", "--as-of", "yesterday-ish"])
    captured = capsys.readouterr()
    assert code == 2
    assert "--as-of must be an ISO-8601 time" in captured.err
    assert "Traceback" not in captured.err


def test_verbose_adds_the_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--verbose", "trends", "--as-of", "not-a-time"])
    captured = capsys.readouterr()
    assert code == 2
    assert "Traceback" in captured.err


def test_unknown_option_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scenario", "generate", "--no-such-option"]) == 2
    assert "No such option" in capsys.readouterr().err


def test_trends_without_a_register_is_a_clear_error_before_any_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["trends", "--register", str(tmp_path / "none.sqlite"), "--out", str(tmp_path / "r")]) == 2
    assert "no register at" in capsys.readouterr().err
    assert not (tmp_path / "r" / "trends").exists()


def test_parse_as_of() -> None:
    assert parse_as_of("2026-03-01T12:00:00Z").isoformat() == "2026-03-01T12:00:00+00:00"
    assert parse_as_of("2026-03-01T12:00:00").tzinfo is not None
    with pytest.raises(WorkbenchError, match="ISO-8601"):
        parse_as_of("March 1st")


def test_console_script_runs_in_a_subprocess() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "workbench.cli", "--version"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0
    assert __version__ in result.stdout


WINDOW_OPTIONS = [
    "--reference-start",
    "2026-02-01T00:00:00Z",
    "--reference-end",
    "2026-02-15T00:00:00Z",
    "--incident-start",
    "2026-03-01T06:00:00+01:00",
    "--incident-end",
    "2026-03-04T00:00:00",
]


def test_investigate_passes_window_overrides_through_unchanged(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import workbench.investigate
    from analysis.errors import EmptyWindowError

    seen: dict[str, object] = {}

    def fake_investigate(register_url: str, incident_id: str, **options: object) -> None:
        seen.update(options, register_url=register_url, incident_id=incident_id)
        raise EmptyWindowError("the incident window must hold rows. Got none instead.")

    monkeypatch.setattr(workbench.investigate, "investigate", fake_investigate)
    code = main(["investigate", "INC-2026-0001", "-r", str(tmp_path / "r.sqlite"), *WINDOW_OPTIONS])
    assert seen["incident_id"] == "INC-2026-0001"
    assert seen["windows"] == {
        "reference": (datetime(2026, 2, 1, tzinfo=UTC), datetime(2026, 2, 15, tzinfo=UTC)),
        "incident": (datetime(2026, 3, 1, 5, tzinfo=UTC), datetime(2026, 3, 4, tzinfo=UTC)),
    }
    # an AnalysisError from the command: one line, exit 2, no traceback
    err = capsys.readouterr().err
    assert code == 2
    assert "the incident window must hold rows" in err
    assert "Traceback" not in err


def test_investigate_window_needs_both_ends(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["investigate", "INC-2026-0001", "--incident-start", "2026-03-01T00:00:00Z"]) == 2
    assert "--incident-start and --incident-end must be given together" in capsys.readouterr().err


def test_unexpected_errors_are_not_turned_into_user_errors(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A bug is not a user mistake: exit 1 (not 2), one line naming it and a hint, no bare traceback."""
    import workbench.investigate

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a bug, not a user mistake")

    monkeypatch.setattr(workbench.investigate, "investigate", broken)
    assert main(["investigate", "INC-2026-0001", "-r", str(tmp_path / "r.sqlite")]) == 1
    err = capsys.readouterr().err
    assert "unexpected RuntimeError: a bug, not a user mistake" in err
    assert "--verbose" in err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    # --verbose adds the traceback
    assert main(["--verbose", "investigate", "INC-2026-0001", "-r", str(tmp_path / "r.sqlite")]) == 1
    err = capsys.readouterr().err
    assert "Traceback" in err
    assert "unexpected RuntimeError" in err


def test_scenario_and_demo_default_to_the_same_rows_per_day() -> None:
    import inspect

    from workbench.cli import demo, scenario_generate
    from workbench.scenarios import DEFAULT_ROWS_PER_DAY

    for command in (demo, scenario_generate):
        assert inspect.signature(command).parameters["rows_per_day"].default == DEFAULT_ROWS_PER_DAY
