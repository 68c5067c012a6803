"""`workbench actions`: a small register, every format read back, filters, empty results, bad options."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import workbench.cli
from analysis._trends_actions import action_item_summary, action_item_table
from register import open_register
from workbench.actions_cli import TIME_COLUMNS, summary_line
from workbench.cli import app, main

AS_OF = "2026-03-01T12:00:00Z"
AS_OF_TIME = datetime(2026, 3, 1, 12, tzinfo=UTC)
NOTE = 'checked, with "quotes", a comma\nand a second line'


@pytest.fixture
def reg_path(tmp_path: Path) -> str:
    path = str(tmp_path / "r.sqlite")
    with open_register(path, create=True) as reg:
        reg.add_system({"id": "credit", "name": "Credit scoring"})
        reg.add_system({"id": "chat", "name": "Support chatbot"})
        reg.add_incident(
            {"title": "Score drift", "category": "performance_degradation", "severity": "SEV-2",
             "aware_at": "2026-01-10T08:00:00Z", "system_id": "credit", "status": "closed",
             "resolved_at": "2026-02-01T00:00:00Z", "closed_at": "2026-02-20T00:00:00Z"}
        )  # fmt: skip
        reg.add_incident(
            {"title": "Leaked e-mails", "category": "data_exposure_privacy", "severity": "SEV-3",
             "aware_at": "2026-02-05T08:00:00Z", "system_id": "chat"}
        )  # fmt: skip
        items = [
            ("INC-2026-0001", "Add drift alert", "ann", "ml", "prevent", "open", "2026-02-01T00:00Z", None),
            ("INC-2026-0001", "Backfill scores", None, None, "mitigate", "open", "2026-03-10T00:00Z", None),
            ("INC-2026-0002", "Redaction check", "bo", "ops", "detect", "done", "2026-02-15T00:00:00Z",
             "2026-02-10T00:00:00Z"),
            ("INC-2026-0002", "Runbook update", "bo", None, "process", "in_progress", "2026-02-28T12:00:00Z",
             None),
            ("INC-2026-0002", "Purge logs", "ann", None, "mitigate", "done", None, "2026-03-01T12:00:01Z"),
        ]  # fmt: skip
        for incident_id, title, owner, team, kind, status, due_at, completed_at in items:
            reg.add_action_item(
                {"incident_id": incident_id, "title": title, "owner": owner, "team": team, "kind": kind,
                 "status": status, "due_at": due_at, "completed_at": completed_at,
                 "verification_note": NOTE if title == "Runbook update" else None}
            )  # fmt: skip
    return path


@pytest.fixture
def wide(monkeypatch: pytest.MonkeyPatch) -> None:
    """A wide console, so the table's cells are not cut."""
    monkeypatch.setattr(workbench.cli.out_console, "width", 250)


def _expected(path: str, **filters: object) -> tuple[pd.DataFrame, dict[str, object]]:
    with open_register(path) as reg:
        items, incidents = reg.action_items_frame(), reg.incidents_frame()
    table = action_item_table(items, incidents, as_of=AS_OF_TIME, **filters)  # type: ignore[arg-type]
    return table, action_item_summary(table, incidents, as_of=AS_OF_TIME)


def _invoke(*args: str) -> str:
    result = CliRunner().invoke(app, ["actions", *args])
    assert result.exit_code == 0, (result.output, result.exception)
    return result.stdout


def _plain(value: object) -> object:
    """A cell as a plain Python value: missing -> None, numpy scalars -> Python, integral floats -> int."""
    if value is None or (not isinstance(value, str | list) and pd.isna(value)):  # type: ignore[arg-type]
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _records(frame: pd.DataFrame) -> list[dict[str, object]]:
    frame = frame.copy()
    for column in TIME_COLUMNS:
        frame[column] = pd.to_datetime(frame[column], utc=True, format="ISO8601")
    return [{key: _plain(value) for key, value in row.items()} for row in frame.to_dict(orient="records")]


def _read_back(fmt: str, *, path: Path | None = None, text: str | None = None) -> pd.DataFrame:
    if fmt == "csv":
        source = io.StringIO(text) if text is not None else path
        return pd.read_csv(source, keep_default_na=False, na_values=[""])  # type: ignore[arg-type]
    if fmt == "json":
        content = text if text is not None else path.read_text(encoding="utf-8")  # type: ignore[union-attr]
        return pd.DataFrame(json.loads(content))
    return pd.read_excel(path, sheet_name="action_items")


def test_table_lists_overdue_first_with_the_summary_counts(reg_path: str, wide: None) -> None:
    out = _invoke("-r", reg_path, "--as-of", AS_OF)
    table, summary = _expected(reg_path)
    assert summary_line(summary) in out
    assert (summary["items"], summary["open"], summary["overdue"], summary["done"]) == (5, 4, 2, 1)
    order = [
        "INC-2026-0001-A1", "INC-2026-0002-A2", "INC-2026-0002-A1", "INC-2026-0001-A2", "INC-2026-0002-A3"
    ]  # fmt: skip
    assert table["id"].tolist() == order  # overdue (most first), then due date, undated last
    assert [out.index(item_id) for item_id in order] == sorted(out.index(item_id) for item_id in order)
    lines = {line.split()[1]: line for line in out.splitlines() if "INC-2026-" in line}
    assert "unassigned" in lines["INC-2026-0001-A2"]  # no owner: shown, not dropped
    assert "done after as-of" in lines["INC-2026-0002-A3"]  # completed one second after as_of
    assert "28" in lines["INC-2026-0001-A1"] and "8-30 d" in lines["INC-2026-0001-A1"]


def test_overdue_only(reg_path: str, wide: None) -> None:
    out = _invoke("-r", reg_path, "--as-of", AS_OF, "--overdue")
    shown = [line.split()[1] for line in out.splitlines() if "INC-2026-" in line]
    assert shown == ["INC-2026-0001-A1", "INC-2026-0002-A2"]
    # only the items open as of as_of are read: the header counts those (the same open and overdue numbers
    # as the full listing) and says so
    assert "4 open action items, 2 overdue; 2 open on closed incidents" in out
    assert "5 action items, 4 open, 2 overdue, 1 done" in _invoke("-r", reg_path, "--as-of", AS_OF)
    full = _invoke("-r", reg_path, "--as-of", AS_OF, "--format", "json")
    only = _invoke("-r", reg_path, "--as-of", AS_OF, "--format", "json", "--overdue")
    assert json.loads(only) == [row for row in json.loads(full) if row["overdue"]]


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (["--owner", "ann"], ["INC-2026-0001-A1", "INC-2026-0002-A3"]),
        (
            ["--owner", "ann", "--owner", "unassigned"],
            ["INC-2026-0001-A1", "INC-2026-0001-A2", "INC-2026-0002-A3"],
        ),
        (["--team", "ops"], ["INC-2026-0002-A1"]),
        (["--system", "chat"], ["INC-2026-0002-A2", "INC-2026-0002-A1", "INC-2026-0002-A3"]),
        (["--system", "chat", "--overdue"], ["INC-2026-0002-A2"]),
    ],
)
def test_filters(reg_path: str, options: list[str], expected: list[str]) -> None:
    text = _invoke("-r", reg_path, "--as-of", AS_OF, "--format", "json", *options)
    assert [record["id"] for record in json.loads(text)] == expected


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "json"])
def test_exports_round_trip(reg_path: str, tmp_path: Path, fmt: str) -> None:
    path = tmp_path / f"actions.{fmt}"
    out = _invoke("-r", reg_path, "--as-of", AS_OF, "--format", fmt, "--out", str(path))
    assert str(path) in out and "5 action items" in out
    expected, _ = _expected(reg_path)
    back = _read_back(fmt, path=path)
    assert back.columns.tolist() == expected.columns.tolist()  # every column
    assert _records(back) == _records(expected)
    assert NOTE in back["verification_note"].tolist()
    assert (back["completed_at"].dropna().str.endswith("Z")).all()  # ISO-8601 UTC text


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_exports_to_stdout(reg_path: str, fmt: str) -> None:
    text = _invoke("-r", reg_path, "--as-of", AS_OF, "--format", fmt)
    expected, _ = _expected(reg_path)
    assert _records(_read_back(fmt, text=text)) == _records(expected)
    if fmt == "json":
        record = json.loads(text)[0]
        assert record["due_at"] == "2026-02-01T00:00:00.000000Z" and record["overdue"] is True
        assert record["days_overdue"] == 28 and record["owner"] == "ann"


def test_no_match_is_a_clear_line_and_exit_0(reg_path: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["actions", "-r", reg_path, "--as-of", AS_OF, "--owner", "nobody"]) == 0
    assert "no action items match" in capsys.readouterr().out
    assert main(["actions", "-r", reg_path, "--as-of", AS_OF, "--system", "unknown", "--format", "csv"]) == 0
    captured = capsys.readouterr()
    assert "no action items match" in captured.err  # stdout stays a CSV (its header only)
    assert pd.read_csv(io.StringIO(captured.out)).empty
    assert main(["actions", "-r", reg_path, "--as-of", "2025-01-01T00:00:00Z", "--overdue"]) == 0
    assert "no overdue action items match" in capsys.readouterr().out


def test_empty_register(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = str(tmp_path / "empty.sqlite")
    open_register(path, create=True).close()
    assert main(["actions", "-r", path, "--format", "json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out) == [] and "no action items match" in captured.err


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--format", "pdf"], "--format must be one of table, csv, xlsx, json. Got 'pdf' instead."),
        (["--format", "xlsx"], "--format xlsx must be written to a file: give --out"),
        (["--out", "x.txt"], "--out must go with --format csv, xlsx or json"),
        (["--limit", "-1"], "--limit must be 0 (all rows) or more"),
        (["--as-of", "yesterday"], "--as-of must be an ISO-8601 time"),
    ],
)
def test_bad_options_are_one_line_errors(
    reg_path: str, capsys: pytest.CaptureFixture[str], options: list[str], message: str
) -> None:
    code = main(["actions", "-r", reg_path, *options])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err
    errors = [line for line in err.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and message in errors[0], err


def test_out_that_is_a_folder(reg_path: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["actions", "-r", reg_path, "--format", "csv", "--out", str(tmp_path)]) == 2
    assert "--out must be a file" in capsys.readouterr().err


def test_help_lists_the_options(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["actions", "--help"]) == 0
    text = capsys.readouterr().out
    options = ("--overdue", "--owner", "--team", "--system", "--as-of", "--format", "--out", "--register")
    assert all(option in text for option in options)
