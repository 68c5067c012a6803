"""``workbench register import --aiid/--aiaaic``: provenance, re-import diff, "not recorded" metrics."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from register import open_register
from workbench.cli import main

FIXTURES = Path(__file__).parents[1] / "register" / "fixtures"


@pytest.fixture
def reg_path(tmp_path: Path) -> str:
    path = str(tmp_path / "r.sqlite")
    assert main(["register", "init", "--register", path]) == 0
    return path


def _one_line(text: str) -> str:
    """The printed text on one line, without the tables' cell borders."""
    return " ".join(text.replace("│", " ").split())


def test_show_of_an_imported_aiid_incident_says_not_recorded(
    reg_path: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["register", "import", str(FIXTURES / "aiid"), "--aiid", "-r", reg_path]) == 0
    capsys.readouterr()
    assert main(["register", "show", "INC-2016-0006", "-r", reg_path, "--as-of", "2026-12-01T00:00:00Z"]) == 0
    shown = _one_line(capsys.readouterr().out)
    assert "response_sla_met not recorded" in shown
    assert "response_sla_margin_hours not recorded" in shown
    assert "postmortem_overdue not recorded" in shown
    assert "response_recorded False" in shown
    assert "-92" not in shown and "response_sla_met False" not in shown
    assert main(["register", "show", "INC-2016-0006", "-r", reg_path, "--json"]) == 0
    metrics = json.loads(capsys.readouterr().out)["metrics"]
    assert metrics["response_recorded"] is False and metrics["response_sla_met"] is None


def test_an_own_incident_past_its_sla_still_shows_the_breach(
    reg_path: str, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["register", "add", "-r", reg_path, "--title", "Own", "--category", "safety", "--severity",
            "SEV-2", "--aware-at", "2026-03-01T00:00:00Z", "--json"]  # fmt: skip
    assert main(args) == 0
    incident_id = json.loads(capsys.readouterr().out)["id"]
    assert main(["register", "show", incident_id, "-r", reg_path, "--as-of", "2026-12-01T00:00:00Z"]) == 0
    shown = _one_line(capsys.readouterr().out)
    assert "response_sla_met False" in shown and "not recorded" not in shown


def test_reimport_dry_run_prints_the_diff_and_writes_nothing(
    reg_path: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    export = tmp_path / "aiid"
    shutil.copytree(FIXTURES / "aiid", export)
    incidents = export / "incidents.csv"
    assert main(["register", "import", str(incidents), "--aiid", "-r", reg_path]) == 0
    assert "4 new, 0 changed, 0 unchanged" in capsys.readouterr().out
    incidents.write_text(
        incidents.read_text(encoding="utf-8").replace(",TayBot\n", ",Tay\n"), encoding="utf-8"
    )
    args = ["register", "import", str(incidents), "--aiid", "-r", reg_path, "--dry-run"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "Checked (nothing written): aiid: 0 new, 1 changed, 3 unchanged incident(s)." in out
    assert "changed INC-2016-0006:" in out and "title: 'TayBot' -> 'Tay'" in out
    with open_register(reg_path) as reg:
        assert reg.get_incident("INC-2016-0006").title == "TayBot"
    assert main([*args[:-1], "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["changed"] == {"INC-2016-0006": {"title": ["TayBot", "Tay"]}} and payload["unchanged"] == 3
    with open_register(reg_path) as reg:
        assert reg.get_incident("INC-2016-0006").title == "Tay"
        (entry,) = reg.history("incidents", "INC-2016-0006", field="title")
        assert entry.changed_by.endswith(" (import:aiid)")


def test_named_taxonomy_files(reg_path: str, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["register", "import", str(FIXTURES / "aiid" / "incidents.csv"), "--aiid", "-r", reg_path,
            "--taxonomy", str(FIXTURES / "aiid" / "classifications_MIT.csv")]  # fmt: skip
    assert main(args) == 0
    with open_register(reg_path) as reg:
        assert reg.get_incident("INC-2016-0006").category.value == "harmful_content"
        assert {c.namespace for c in reg.classifications("INC-2016-0006")} == {"AIID", "MIT"}
    capsys.readouterr()
    wrong = ["register", "import", str(FIXTURES / "aiid" / "incidents.csv"), "--aiid", "-r", reg_path,
             "--taxonomy", str(FIXTURES / "aiid" / "incidents.csv")]  # fmt: skip
    assert main(wrong) == 2
    assert "classifications_" in capsys.readouterr().err
    assert main(["register", "import", str(FIXTURES / "aiid"), "--taxonomy", "x.csv", "-r", reg_path]) == 2
    assert "--taxonomy must come with --aiid" in capsys.readouterr().err


def test_import_aiaaic(reg_path: str, capsys: pytest.CaptureFixture[str]) -> None:
    path = FIXTURES / "aiaaic" / "aiaaic_repository.csv"
    assert main(["register", "validate", str(path), "--aiaaic", "-r", reg_path, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["new"][0] == "INC-2023-1001001"
    assert main(["register", "import", str(path), "--aiaaic", "-r", reg_path]) == 0
    assert "aiaaic: 5 new" in capsys.readouterr().out
    with open_register(reg_path) as reg:
        assert reg.get_incident("INC-2021-1001002").source_id == "AIAAIC1002"
