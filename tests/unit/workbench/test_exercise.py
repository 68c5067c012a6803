"""Tabletop exercise mode on one generated PII-exposure exercise (shared by the module)."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from workbench.cli import main
from workbench.errors import WorkbenchError
from workbench.exercise import (
    Exercise,
    FindingsError,
    load_findings,
    perfect_findings,
    render_report,
    resolve_scenario,
    score_exercise,
    scripted_findings,
    start_exercise,
)

STARTED_AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def exercise(tmp_path_factory: pytest.TempPathFactory) -> Exercise:
    out = tmp_path_factory.mktemp("exercise") / "pii"
    return start_exercise(out, kind="pii_exposure", seed=5, rows_per_day=100, started_at=STARTED_AT)


@pytest.fixture(scope="module")
def truth(exercise: Exercise) -> dict[str, Any]:
    return json.loads((exercise.directory / "sealed" / "truth.json").read_text(encoding="utf-8"))


def _write(tmp_path: Path, findings: dict[str, Any], name: str = "findings.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(findings), encoding="utf-8")
    return path


def test_the_truth_is_the_planted_pii_exposure(truth: dict[str, Any]) -> None:
    assert truth["scenario_id"] == "k_pii_exposure" and not truth["control"]
    assert truth["cause"] == "retrieval_change" and truth["slice"] == []
    # computed with the shipped policy, never hard-coded: both GDPR articles apply to this breach
    assert [regime["id"] for regime in truth["regimes"]] == ["gdpr_art33", "gdpr_art34"]
    assert truth["first_deadline"]["regime"] == "gdpr_art33"
    assert truth["affected_decisions"] > 0 and truth["affected_people"] > 0


def test_perfect_findings_score_100(exercise: Exercise, truth: dict[str, Any], tmp_path: Path) -> None:
    score = score_exercise(exercise.directory, _write(tmp_path, perfect_findings(truth)))
    assert score.percent == 100.0
    assert score.gaps == []
    assert len(score.checks) == 12


def test_json_findings_are_read_too(exercise: Exercise, truth: dict[str, Any], tmp_path: Path) -> None:
    path = tmp_path / "findings.json"
    path.write_text(json.dumps(perfect_findings(truth)), encoding="utf-8")
    assert score_exercise(exercise.directory, path).percent == 100.0


def test_onset_one_day_late_is_named(exercise: Exercise, truth: dict[str, Any], tmp_path: Path) -> None:
    findings = perfect_findings(truth)
    onset = datetime.fromisoformat(truth["onset"].replace("Z", "+00:00"))
    findings["onset"]["value"] = (onset + timedelta(days=1)).isoformat()
    score = score_exercise(exercise.directory, _write(tmp_path, findings))
    onset_check = next(check for check in score.checks if check.key == "onset")
    assert onset_check.verdict == "wrong" and onset_check.error == "24.0 h late"
    assert any(gap.startswith("onset answered 24.0 h late") for gap in score.gaps)
    assert score.n_right == 11


def test_wrong_slice_is_named(exercise: Exercise, truth: dict[str, Any], tmp_path: Path) -> None:
    findings = perfect_findings(truth)
    findings["slice"]["value"] = [{"column": "region", "op": "==", "value": "west"}]
    score = score_exercise(exercise.directory, _write(tmp_path, findings))
    assert score.gaps == ["slice: answered region == west; the planted slice is systemic (no slice)"]
    assert any("slice analysis" in item for item in score.action_items)


def test_missed_regime_is_named_with_its_action_item(
    exercise: Exercise, truth: dict[str, Any], tmp_path: Path
) -> None:
    findings = perfect_findings(truth)
    findings["regimes"]["value"] = ["gdpr_art33"]
    score = score_exercise(exercise.directory, _write(tmp_path, findings))
    assert score.gaps == ["regimes: missed regime gdpr_art34"]
    assert any(item.startswith("Add a regime checklist to triage") for item in score.action_items)
    paths = render_report(score, tmp_path / "report")
    assert "missed regime gdpr_art34" in paths["html"].read_text(encoding="utf-8")
    assert "missed regime gdpr\\_art34" in paths["md"].read_text(encoding="utf-8")


def test_an_extra_regime_and_a_wrong_severity_are_named(
    exercise: Exercise, truth: dict[str, Any], tmp_path: Path
) -> None:
    findings = perfect_findings(truth)
    findings["regimes"]["value"] = ["gdpr_art33", "gdpr_art34", "eu_ai_act_art73"]
    findings["severity"]["value"] = "SEV-3"
    gaps = score_exercise(exercise.directory, _write(tmp_path, findings)).gaps
    assert "regimes: named regime eu_ai_act_art73, which does not apply" in gaps
    assert "severity: answered SEV-3; the truth is SEV-1" in gaps


def test_counts_within_tolerance_are_right(exercise: Exercise, truth: dict[str, Any], tmp_path: Path) -> None:
    findings = perfect_findings(truth)
    findings["affected_decisions"]["value"] = round(truth["affected_decisions"] * 1.1)
    findings["affected_people"]["value"] = truth["affected_people"] * 3
    score = score_exercise(exercise.directory, _write(tmp_path, findings))
    verdicts = {check.key: check.verdict for check in score.checks}
    assert verdicts["affected_decisions"] == "right" and verdicts["affected_people"] == "wrong"
    assert any(gap.startswith("affected people: answered") and "+200%" in gap for gap in score.gaps)


def test_still_happening_after_an_hour_and_missing_answers_give_action_items(
    exercise: Exercise, truth: dict[str, Any], tmp_path: Path
) -> None:
    findings = perfect_findings(truth)
    findings["still_happening"]["minutes"] = 75
    del findings["containment"]
    score = score_exercise(exercise.directory, _write(tmp_path, findings))
    assert "containment: not answered (How do we contain it?)" in score.gaps
    items = " ".join(score.action_items)
    assert "Nobody could say whether it was still happening within the first hour" in items
    assert "Nobody could answer: How do we contain it?" in items
    still = next(check for check in score.checks if check.key == "still_happening")
    assert still.verdict == "right" and still.minutes == 75


def test_answer_times_are_measured_from_the_start(
    exercise: Exercise, truth: dict[str, Any], tmp_path: Path
) -> None:
    findings = perfect_findings(truth)
    findings["cause"] = {"value": "index_change", "at": "2026-03-02T10:30:00+01:00"}  # a synonym, 30 min
    score = score_exercise(exercise.directory, _write(tmp_path, findings))
    cause = next(check for check in score.checks if check.key == "cause")
    assert cause.verdict == "right" and cause.minutes == pytest.approx(30.0)


def test_the_blank_form_scores_zero(exercise: Exercise) -> None:
    score = score_exercise(exercise.directory, exercise.findings_template)
    # a planted incident: "no false alarm declared" is the only check a blank form does not miss
    assert [check.key for check in score.checks if check.verdict != "missing"] == ["no_fault_found"]


def test_scripted_demo_findings_carry_two_labelled_mistakes(
    exercise: Exercise, truth: dict[str, Any]
) -> None:
    findings, mistakes = scripted_findings(truth)
    assert mistakes == ["onset answered one day late", "regime gdpr_art34 missed"]
    from workbench.exercise import parse_findings

    score = score_exercise(exercise.directory, parse_findings(findings))
    assert len(score.gaps) == 2 and score.n_right == 10


def test_a_tampered_truth_is_refused(exercise: Exercise, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    (copy / "sealed").mkdir(parents=True)
    shutil.copy(exercise.directory / "exercise.json", copy / "exercise.json")
    truth = json.loads((exercise.directory / "sealed" / "truth.json").read_text(encoding="utf-8"))
    truth["onset"] = "2020-01-01T00:00:00Z"
    (copy / "sealed" / "truth.json").write_text(json.dumps(truth), encoding="utf-8")
    with pytest.raises(WorkbenchError, match="changed after the exercise started"):
        score_exercise(copy, exercise.findings_template)


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("onset: {value: [1\nseverity: SEV-1\n", "must be valid YAML. Got a syntax error at line 2"),
        ("suspect: the intern\n", "suspect: Extra inputs are not permitted"),
        ("severity: {value: SEV-9}\n", "severity.value: Input should be 'SEV-1'"),
        ("onset: {value: yesterday}\n", "onset.value: Input should be a valid datetime"),
        ("regimes: {value: gdpr_art33}\n", "regimes.value: Input should be a valid list"),
        ("cause: {value: gremlins}\n", "cause: value must be one of stale_input"),
        ("affected_people: -4\n", "affected_people: value must be a count"),
        (
            "onset: {value: null, at: '2026-03-02T10:00:00Z', minutes: 4}\n",
            "give `at` or `minutes`, not both",
        ),
        ("- a list\n", "must be a mapping of question to answer"),
        ("severity: {value: SEV-2, at: 3}\n", "for minutes after the start give `minutes: 3` instead"),
    ],
)
def test_malformed_findings_name_each_bad_field(tmp_path: Path, text: str, named: str) -> None:
    path = tmp_path / "findings.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(FindingsError) as caught:
        load_findings(path)
    assert named in str(caught.value)


def test_several_bad_fields_are_all_named(tmp_path: Path) -> None:
    path = _write(tmp_path, {"severity": "SEV-9", "culprit": "x", "slice": [{"column": "region"}]})
    with pytest.raises(FindingsError) as caught:
        load_findings(path)
    message = str(caught.value)
    assert "3 problem(s)" in message
    for field in ("severity.value", "culprit", "slice.value.0.value"):
        assert field in message


def test_the_register_holds_the_alert_and_no_answer(exercise: Exercise) -> None:
    from register import open_register

    with open_register(exercise.register_path) as register:
        incidents = register.list_incidents()
        assert [incident.id for incident in incidents] == [exercise.incident_id]
        incident = register.get_incident(exercise.incident_id)
        events = register.timeline(exercise.incident_id)
    assert incident.root_cause_category is None and incident.affected_count is None
    assert incident.severity.value == "SEV-3" and incident.status.value == "detected"
    assert (
        incident.occurred_at is None and incident.resolution is None and incident.contributing_factors == []
    )
    assert "planted" not in incident.tags
    # the detection and the model deploys of the change log (none for the chatbot: its changes are in logs)
    assert [event.kind.value for event in events] == ["detection"]
    assert incident.aware_at == exercise.alert_at


def test_the_answers_are_sealed_away(exercise: Exercise) -> None:
    folder = exercise.directory
    assert not (folder / "ground_truth.json").exists() and not (folder / "register").exists()
    assert {p.name for p in (folder / "sealed").iterdir()} >= {"truth.json", "ground_truth.json", "register"}
    public = (folder / "exercise.json").read_text(encoding="utf-8") + (folder / "briefing.md").read_text(
        encoding="utf-8"
    )
    assert "k_pii_exposure" not in public and "retrieval_change" not in public
    assert "do not open `sealed/`" in public
    assert "SEV-3, provisional" in public


def test_the_briefing_gives_exact_commands(exercise: Exercise) -> None:
    html = exercise.briefing_html.read_text(encoding="utf-8")
    register = exercise.register_path
    assert f"workbench investigate {exercise.incident_id} --register {register}" in html
    assert "http://" not in html and "https://" not in html and "<script" not in html


def test_team_text_is_escaped_in_the_report(
    exercise: Exercise, truth: dict[str, Any], tmp_path: Path
) -> None:
    findings = perfect_findings(truth)
    findings["team"] = "<script>alert(1)</script>"
    findings["notes"] = "<img src=x onerror=alert(2)> [link](javascript:alert(3))"
    paths = render_report(score_exercise(exercise.directory, _write(tmp_path, findings)), tmp_path / "r")
    html = paths["html"].read_text(encoding="utf-8")
    assert "<script" not in html and "<img" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    markdown = paths["md"].read_text(encoding="utf-8")
    assert "<script>" not in markdown and "](javascript:" not in markdown
    assert json.loads(paths["json"].read_text(encoding="utf-8"))["score_percent"] == 100.0


def test_unknown_kind_lists_the_choices(tmp_path: Path) -> None:
    with pytest.raises(WorkbenchError, match="--kind must be one of stale_input.*random.*Got 'meteor'"):
        start_exercise(tmp_path / "x", kind="meteor")
    assert not (tmp_path / "x").exists()


def test_kind_resolution() -> None:
    assert resolve_scenario("fairness_regression", 0) == "c_fairness_deploy"
    assert {resolve_scenario("control", seed) for seed in range(30)} == {
        "f_control",
        "j_control",
        "o_control",
    }
    assert resolve_scenario("random", 3) == resolve_scenario("random", 3)
    assert len({resolve_scenario("random", seed) for seed in range(200)}) == 15


def test_start_refuses_a_folder_that_is_not_empty(exercise: Exercise) -> None:
    with pytest.raises(WorkbenchError, match="must be a new or empty folder"):
        start_exercise(exercise.directory, kind="control")


def test_cli_score_writes_the_report(
    exercise: Exercise, truth: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    findings, _ = scripted_findings(truth)
    path = _write(tmp_path, findings)
    assert (
        main(["exercise", "score", str(exercise.directory), "--findings", str(path), "--out", str(tmp_path)])
        == 0
    )
    out = capsys.readouterr().out
    assert "Score: 83.3 %" in out and "gap: onset answered 24.0 h late" in out
    assert (tmp_path / "exercise_report.html").is_file() and (tmp_path / "exercise_report.md").is_file()


@pytest.mark.parametrize(
    "args",
    [
        ["exercise", "start", "--kind", "meteor", "--out", "{tmp}/x"],
        ["exercise", "score", "{dir}", "--findings", "{tmp}/bad.yaml"],
        ["exercise", "score", "{tmp}", "--findings", "{tmp}/bad.yaml"],
        ["exercise", "score", "{dir}", "--findings", "{tmp}/missing.yaml"],
    ],
)
def test_cli_bad_input_exits_2_with_one_line(
    exercise: Exercise, tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str]
) -> None:
    (tmp_path / "bad.yaml").write_text("severity: SEV-9\nwho: me\n", encoding="utf-8")
    filled = [arg.format(tmp=tmp_path, dir=exercise.directory) for arg in args]
    assert main(filled) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("Error:") and len(err.splitlines()) == 1
    assert "Traceback" not in err


def test_the_change_log_before_the_alert_is_in_the_register(tmp_path: Path) -> None:
    from register import open_register
    from workbench.exercise import start_exercise

    started = start_exercise(tmp_path / "ex", kind="fairness_regression", seed=2, rows_per_day=120)
    with open_register(started.register_path) as register:
        events = register.timeline(started.incident_id)
    deploys = [event for event in events if event.kind.value == "deploy"]
    assert any("model 2.0.0 deployed" in event.description for event in deploys)
    assert all(started.alert_at - timedelta(days=60) <= event.at <= started.alert_at for event in deploys)
    assert [event.at for event in events] == sorted(event.at for event in events)
    briefing = (started.directory / "briefing.md").read_text(encoding="utf-8")
    assert briefing.index("Change log: model 2.0.0") < briefing.index(events[-1].description[:20])
    # the rollback came after the alert: not in the change log the team starts with
    assert not any("rollback" in event.description for event in deploys)
