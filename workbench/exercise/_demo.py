"""The demo's exercise: one start, a scripted findings file with two labelled mistakes, its report."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from workbench.exercise._start import DEFAULT_EXERCISE_ROWS_PER_DAY, start_exercise

__all__ = ["perfect_findings", "run_exercise_demo", "scripted_findings"]

_MINUTES = {
    "onset": 35,
    "still_happening": 75,
    "affected_decisions": 50,
    "affected_people": 52,
    "groups_harmed": 55,
    "cause": 40,
    "slice": 45,
    "severity": 58,
    "regimes": 62,
    "first_deadline": 64,
    "containment": 70,
    "no_fault_found": 20,
}
"""Scripted minutes after the start at which each answer is reached (still happening: after 75 min)."""


def perfect_findings(truth: dict[str, Any], minutes: dict[str, float] | None = None) -> dict[str, Any]:
    """Findings that give the truth for every question (each with its scripted minute)."""
    at = minutes or _MINUTES
    deadline = truth["first_deadline"]
    values: dict[str, Any] = {
        "onset": truth["onset"],
        "still_happening": truth["still_happening"],
        "affected_decisions": truth["affected_decisions"],
        "affected_people": truth["affected_people"],
        "groups_harmed": truth["groups_harmed"],
        "cause": truth["cause"],
        "slice": truth["slice"],
        "severity": truth["severity"],
        "regimes": [regime["id"] for regime in truth["regimes"]],
        "first_deadline": deadline["due_at"] if deadline else "none",
        "containment": truth["containment"][0],
        "no_fault_found": bool(truth["control"]),
    }
    if truth["control"]:
        values = {key: values[key] for key in ("cause", "slice", "containment", "no_fault_found")}
    return {key: {"value": value, "minutes": at.get(key, 30)} for key, value in values.items()}


def scripted_findings(truth: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The truth with two deliberate, labelled mistakes; returns the findings and the mistakes' labels.

    Mistake 1: the onset one day late. Mistake 2: one missed regime, or (when no regime applies, or on
    a control) a wrong slice.
    """
    findings = perfect_findings(truth)
    mistakes = []
    if truth["onset"]:
        onset = datetime.fromisoformat(truth["onset"].replace("Z", "+00:00"))
        findings["onset"]["value"] = (onset.replace() + _one_day()).isoformat()
        mistakes.append("onset answered one day late")
    if truth["regimes"]:
        missed = truth["regimes"][-1]["id"]
        findings["regimes"]["value"] = [r["id"] for r in truth["regimes"] if r["id"] != missed]
        mistakes.append(f"regime {missed} missed")
    else:
        findings["slice"]["value"] = [{"column": "region", "op": "==", "value": "west"}]
        mistakes.append("wrong slice: region == west")
    findings["team"] = "Demo team (scripted answers)"
    findings["notes"] = "Scripted: " + "; ".join(mistakes) + "; still happening answered after 75 minutes."
    return findings, mistakes


def _one_day() -> Any:
    from datetime import timedelta

    return timedelta(days=1)


def run_exercise_demo(
    out: str | Path,
    *,
    seed: int = 7,
    kind: str = "pii_exposure",
    rows_per_day: int = DEFAULT_EXERCISE_ROWS_PER_DAY,
) -> dict[str, Path]:
    """Start an exercise, answer it with a scripted findings file, score it and render the report.

    The scripted file is the truth with two labelled mistakes (:func:`scripted_findings`) and scripted
    answer times (whether it is still happening is answered after 75 minutes).

    Returns
    -------
    dict
        ``briefing`` (HTML), ``briefing_md``, ``findings`` (the scripted file), ``html`` and ``md`` (the
        exercise report), ``json`` (the score).
    """
    from workbench.exercise._report import render_report
    from workbench.exercise._score import score_exercise

    exercise = start_exercise(out, kind=kind, seed=seed, rows_per_day=rows_per_day)
    # the demo plays the facilitator: it reads the truth to script the answers (a team never does)
    truth = json.loads((exercise.directory / "sealed" / "truth.json").read_text(encoding="utf-8"))
    findings, _ = scripted_findings(truth)
    findings_path = exercise.directory / "findings.scripted.json"
    findings_path.write_text(json.dumps(findings, indent=2) + "\n", encoding="utf-8")
    report = render_report(score_exercise(exercise.directory, findings_path))
    return {
        "briefing": exercise.briefing_html,
        "briefing_md": exercise.briefing_md,
        "findings": findings_path,
        **report,
    }
