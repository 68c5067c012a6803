"""The briefing page (what the monitoring saw, the questions, the commands) and the exercise report.

Both are self-contained pages rendered from Jinja templates in ``report_templates/exercise/`` with
autoescaping (HTML) or Markdown escaping of every value: the team's free text stays text.
"""

from __future__ import annotations

import shlex
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbench.exercise._catalogue import CAUSES, CONTAINMENTS

if TYPE_CHECKING:
    from workbench.exercise._score import ExerciseScore

__all__ = ["briefing_context", "render_briefing", "render_report"]


def _envs() -> tuple[Any, Any]:
    from workbench.report._filters import html_env, markdown_env
    from workbench.resources import templates_dir

    root = str(templates_dir())
    return html_env(root), markdown_env(root)


def _time(value: str | None) -> str:
    if not value:
        return "—"
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def _window_options(alert_at: str) -> str:
    """``--incident-*``/``--reference-*`` options around an alert time (day-aligned, ISO-8601 UTC).

    Examples
    --------
    >>> _window_options("2025-10-04T05:30:00+00:00")  # doctest: +NORMALIZE_WHITESPACE
    '--incident-start 2025-10-01T00:00:00Z --incident-end 2025-10-11T00:00:00Z
     --reference-start 2025-08-27T00:00:00Z --reference-end 2025-09-24T00:00:00Z'
    """
    from datetime import timedelta

    day = datetime.fromisoformat(alert_at.replace("Z", "+00:00")).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    start, end = day - timedelta(days=3), day + timedelta(days=7)
    reference_end = start - timedelta(days=7)
    reference_start = reference_end - timedelta(days=28)

    def iso(moment: datetime) -> str:
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")

    return (
        f"--incident-start {iso(start)} --incident-end {iso(end)} "
        f"--reference-start {iso(reference_start)} --reference-end {iso(reference_end)}"
    )


def briefing_context(directory: Path, document: dict[str, Any]) -> dict[str, Any]:
    """What the briefing shows: the alert, the clock, the questions and the exact commands."""
    from workbench.exercise._score import QUESTIONS

    quoted = shlex.quote
    register = quoted(str(directory / document["register"]))
    reports = quoted(str(directory / "reports"))
    incident = document["incident_id"]
    as_of = document["as_of"].replace("+00:00", "Z")
    commands = [
        (
            "Look at the incident as the alert opened it",
            f"workbench register show {incident} --register {register} --as-of {as_of}",
        ),
        (
            "Run the analyses (drift, slices, fairness, impact, root cause...) on the data up to the end",
            f"workbench investigate {incident} --register {register} --reports-dir {reports} --as-of {as_of}",
        ),
        (
            "The default incident window starts at the alert, but the failure may have started before it: "
            "test a hypothesis with explicit windows (here 3 days before the alert to 7 days after, "
            "against the 28 days ending a week before), then move them",
            f"workbench investigate {incident} --register {register} --reports-dir {reports} --as-of {as_of} "
            + _window_options(document["alert_at"]),
        ),
        (
            "Render the post-mortem draft of the latest run",
            f"workbench postmortem {incident} --register {register} --reports-dir {reports} --as-of {as_of}",
        ),
        ("Check the regimes and deadlines of triage answers", "workbench register classify --help"),
        (
            "Score your findings when the time is up",
            f"workbench exercise score {quoted(str(directory))} "
            f"--findings {quoted(str(directory / 'findings.yaml'))}",
        ),
    ]
    alert = document["alert"]
    return {
        "incident_id": incident,
        "system_id": document["system_id"],
        "system_name": alert.get("system_name") or document["system_id"],
        "use_case": alert.get("system_use_case"),
        "title": alert["title"],
        "category": alert["category"],
        "severity": alert["provisional_severity"],
        "detection_source": alert.get("detection_source") or "—",
        "trigger": alert.get("trigger") or "—",
        "events": [
            {"at": _time(event["at"]), "description": event["description"]} for event in alert["events"]
        ],
        "alert_at": _time(document["alert_at"]),
        "as_of": _time(document["as_of"]),
        "started_at": _time(document["started_at"]),
        "commitment": document["truth_sha256"],
        "questions": list(QUESTIONS.items()),
        "causes": list(CAUSES),
        "containments": list(CONTAINMENTS.items()),
        "commands": commands,
        "directory": str(directory),
    }


def render_briefing(directory: Path, document: dict[str, Any]) -> dict[str, Path]:
    """Write ``briefing.html`` and ``briefing.md`` into the exercise folder."""
    html, markdown = _envs()
    context = briefing_context(directory, document)
    paths = {"html": directory / "briefing.html", "md": directory / "briefing.md"}
    paths["html"].write_text(
        html.get_template("exercise/briefing.html.j2").render(b=context), encoding="utf-8"
    )
    paths["md"].write_text(
        markdown.get_template("exercise/briefing.md.j2").render(b=context), encoding="utf-8"
    )
    return paths


def _report_context(score: ExerciseScore) -> dict[str, Any]:
    truth = score.truth
    exercise = score.exercise
    revealed = [
        ("Scenario", f"{truth['scenario_id']} ({truth['kind']})"),
        ("Control (no fault planted)", "yes" if truth["control"] else "no"),
        ("Onset", _time(truth["onset"])),
        (
            "End",
            _time(truth["end"])
            if truth["end"]
            else ("ongoing at the data's end" if not truth["control"] else "—"),
        ),
        ("Cause", truth["cause"]),
        ("Columns involved", ", ".join(truth.get("cause_columns") or []) or "—"),
        ("Version introduced", truth.get("changed_version") or "—"),
        ("Change event", truth.get("change_event") or "—"),
        ("Affected", truth.get("affected_definition") or "—"),
        ("Category", truth.get("category") or "—"),
        ("Severity", truth.get("severity") or "—"),
        ("Regimes", "; ".join(f"{r['id']}: {' '.join(r['reasons'])}" for r in truth["regimes"]) or "none"),
    ]
    return {
        "percent": f"{score.percent:.0f} %" if score.percent == int(score.percent) else f"{score.percent} %",
        "n_right": score.n_right,
        "n_checks": len(score.checks),
        "checks": [
            {
                "question": check.question,
                "answer": check.answer,
                "truth": check.truth,
                "verdict": check.verdict,
                "error": check.error or "",
                "minutes": "—" if check.minutes is None else f"{check.minutes:.0f} min",
            }
            for check in score.checks
        ],
        "went_right": score.went_right,
        "gaps": score.gaps,
        "action_items": score.action_items,
        "revealed": revealed,
        "team": score.team or "—",
        "notes": score.notes,
        "incident_id": exercise["incident_id"],
        "system_id": exercise["system_id"],
        "started_at": _time(exercise["started_at"]),
        "alert_at": _time(exercise["alert_at"]),
        "commitment": exercise["truth_sha256"],
    }


def render_report(score: ExerciseScore, out: str | Path | None = None) -> dict[str, Path]:
    """Write the exercise report (``exercise_report.html`` + ``.md`` + ``score.json``) into ``out``.

    ``out`` defaults to the exercise folder.
    """
    import json

    folder = Path(out) if out is not None else score.directory
    folder.mkdir(parents=True, exist_ok=True)
    html, markdown = _envs()
    context = _report_context(score)
    paths = {
        "html": folder / "exercise_report.html",
        "md": folder / "exercise_report.md",
        "json": folder / "score.json",
    }
    paths["html"].write_text(html.get_template("exercise/report.html.j2").render(r=context), encoding="utf-8")
    paths["md"].write_text(markdown.get_template("exercise/report.md.j2").render(r=context), encoding="utf-8")
    paths["json"].write_text(json.dumps(score.summary(), indent=2, default=str) + "\n", encoding="utf-8")
    return paths
