"""Tabletop exercise mode: ``workbench exercise start`` and ``workbench exercise score``.

``start_exercise(out, kind=..., seed=...)`` generates one incident (any planted kind, a no-fault control,
or one chosen at random by the seed) into a folder the team investigates with the normal tools::

    DIR/exercise.json     requested kind, seed, started_at, as_of, alert time, incident id, register,
                          and the SHA-256 commitment of sealed/truth.json (never the scenario id)
    DIR/register.sqlite   the AI systems and ONE incident as the alert saw it: alert time, detection
                          source, trigger, category, a provisional SEV-3, status detected; no onset, root
                          cause, affected counts or timeline beyond the detection event
    DIR/logs/ datacards/ evaluations/ sensitive/    the generator's data
    DIR/briefing.html, briefing.md    what the monitoring saw and when, the clock, the questions, the
                          exact commands, the rule: do not open sealed/
    DIR/findings.yaml     the blank findings form, one comment per question
    DIR/sealed/           truth.json (what the findings are scored against), the generator's
                          ground_truth.json and scenario.json, and the scenario register

``score_exercise(dir, findings)`` checks the sealed truth against its commitment, judges each answer
(onset within 6 h, affected counts within 20 %, groups, slice and regimes as sets, cause, severity, still
happening exact, first deadline within 1 h, containment from the scenario's accepted decisions) and the
time each was reached; ``render_report`` writes the exercise report (HTML + Markdown + score.json).

Containment vocabulary (``CONTAINMENTS``): rollback, fix_input, retrain, disable_tool, filter_output,
provider_failover, monitor, none.

Examples
--------
>>> from workbench.exercise import KINDS
>>> "control" in KINDS and "pii_exposure" in KINDS
True
>>> parse_findings({"containment": "roll back"}).containment.value
'rollback'
"""

from __future__ import annotations

from workbench.exercise._catalogue import CAUSES, CONTAINMENTS, KINDS, SCENARIO_KINDS
from workbench.exercise._demo import perfect_findings, run_exercise_demo, scripted_findings
from workbench.exercise._findings import Findings, FindingsError, load_findings, parse_findings
from workbench.exercise._report import render_briefing, render_report
from workbench.exercise._score import (
    COUNT_TOLERANCE,
    DEADLINE_TOLERANCE_HOURS,
    ONSET_TOLERANCE_HOURS,
    Check,
    ExerciseScore,
    score_exercise,
)
from workbench.exercise._start import (
    DEFAULT_EXERCISE_ROWS_PER_DAY,
    Exercise,
    resolve_scenario,
    start_exercise,
)

__all__ = [
    "CAUSES",
    "CONTAINMENTS",
    "COUNT_TOLERANCE",
    "DEADLINE_TOLERANCE_HOURS",
    "DEFAULT_EXERCISE_ROWS_PER_DAY",
    "KINDS",
    "ONSET_TOLERANCE_HOURS",
    "SCENARIO_KINDS",
    "Check",
    "Exercise",
    "ExerciseScore",
    "Findings",
    "FindingsError",
    "load_findings",
    "parse_findings",
    "perfect_findings",
    "render_briefing",
    "render_report",
    "resolve_scenario",
    "run_exercise_demo",
    "score_exercise",
    "scripted_findings",
    "start_exercise",
]
