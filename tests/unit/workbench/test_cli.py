"""The CLI shell: help everywhere, version, one clear message and exit 2 for user errors."""

from __future__ import annotations

import subprocess
import sys

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


def test_not_yet_available_commands_say_so_honestly(capsys: pytest.CaptureFixture[str]) -> None:
    for command in (["trends"], ["actions"]):
        assert main(command) == 2
        err = capsys.readouterr().err
        assert "not available yet" in err


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
