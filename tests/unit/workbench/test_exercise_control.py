"""A no-fault control exercise, started through the CLI (one per module), scored against "no fault found"."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from workbench.cli import main
from workbench.exercise import parse_findings, perfect_findings, score_exercise


@pytest.fixture(scope="module")
def control_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("exercise") / "control"
    code = main(
        ["exercise", "start", "--kind", "control", "--seed", "4", "--out", str(out), "--rows-per-day", "100"]
    )
    assert code == 0
    return out


@pytest.fixture(scope="module")
def truth(control_dir: Path) -> dict[str, Any]:
    return json.loads((control_dir / "sealed" / "truth.json").read_text(encoding="utf-8"))


def test_cli_start_writes_the_exercise(control_dir: Path, truth: dict[str, Any]) -> None:
    for name in ("exercise.json", "register.sqlite", "briefing.html", "briefing.md", "findings.yaml"):
        assert (control_dir / name).is_file(), name
    assert truth["control"] and truth["cause"] == "none" and truth["regimes"] == []
    exercise = json.loads((control_dir / "exercise.json").read_text(encoding="utf-8"))
    assert exercise["requested_kind"] == "control" and truth["scenario_id"] not in json.dumps(exercise)


def test_a_control_gets_a_new_incident_inside_its_clean_window(
    control_dir: Path, truth: dict[str, Any]
) -> None:
    from register import open_register

    ground = json.loads((control_dir / "sealed" / "ground_truth.json").read_text(encoding="utf-8"))
    entry = next(
        s for s in [*ground["scenarios"], *ground["llm_scenarios"]] if s["id"] == truth["scenario_id"]
    )
    assert entry["incident_id"] is None
    with open_register(control_dir / "register.sqlite") as register:
        incident = register.get_incident(truth["incident_id"])
    assert entry["incident_window"]["start"] <= truth["alert_at"] < entry["incident_window"]["end"]
    assert incident.detection_source is not None and incident.severity.value == "SEV-3"


def test_no_fault_found_on_a_control_passes(control_dir: Path, truth: dict[str, Any]) -> None:
    score = score_exercise(control_dir, parse_findings({"no_fault_found": {"value": True, "minutes": 40}}))
    assert score.percent == 100.0 and score.gaps == []
    assert score_exercise(control_dir, parse_findings(perfect_findings(truth))).percent == 100.0


def test_a_cause_claimed_on_a_control_is_named(control_dir: Path) -> None:
    findings = {
        "no_fault_found": False,
        "cause": "deploy",
        "slice": [{"column": "region", "value": "east"}],
        "containment": "rollback",
    }
    score = score_exercise(control_dir, parse_findings(findings))
    assert score.percent == 0.0
    assert "cause model_change claimed on a control (a false alarm: nothing was planted)" in score.gaps
    assert "slice region == east named on a control (a false alarm)" in score.gaps
    assert any(item.startswith("Add a false-alarm check to triage") for item in score.action_items)


def test_a_blank_form_on_a_control_scores_zero(control_dir: Path) -> None:
    score = score_exercise(control_dir, control_dir / "findings.yaml")
    assert score.n_right == 0 and {check.verdict for check in score.checks} == {"missing"}


def test_cli_score_of_a_control(
    control_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    findings = tmp_path / "findings.json"
    findings.write_text(json.dumps({"no_fault_found": True, "notes": "false alarm"}), encoding="utf-8")
    assert (
        main(["exercise", "score", str(control_dir), "--findings", str(findings), "--out", str(tmp_path)])
        == 0
    )
    assert "Score: 100 %" in capsys.readouterr().out
    assert "100 %" in (tmp_path / "exercise_report.md").read_text(encoding="utf-8")
