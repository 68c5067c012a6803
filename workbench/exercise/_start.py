"""``workbench exercise start``: one generated incident, its truth sealed away, a briefing for the team.

The generator writes every scenario into the exercise folder; what would give the answer away (the ground
truth, the effect sizes in ``scenario.json`` and the scenario register with its root causes and timelines)
moves to ``sealed/``. The team gets a fresh register holding the AI systems and ONE incident as the alert
saw it, the logs, data cards, evaluations and sensitive attributes, a briefing and a blank findings form.
"""

from __future__ import annotations

import json
import random
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbench.errors import WorkbenchError
from workbench.exercise._catalogue import CONTROL_ALERTS, KINDS, SCENARIO_KINDS
from workbench.exercise._truth import build_truth, commitment

if TYPE_CHECKING:
    from register.io import Bundle
    from register.schema import Incident, TimelineEvent

__all__ = [
    "DEFAULT_EXERCISE_ROWS_PER_DAY",
    "EXERCISE_SCHEMA_VERSION",
    "Exercise",
    "resolve_scenario",
    "start_exercise",
]

DEFAULT_EXERCISE_ROWS_PER_DAY = 600
"""Rows per logged system and day of an exercise (the planted effects stay visible at this size)."""

EXERCISE_SCHEMA_VERSION = 1
PROVISIONAL_SEVERITY = "SEV-3"
"""The severity every exercise alert opens with: the on-call default for an unconfirmed alert."""

_SEALED = ("ground_truth.json", "scenario.json", "register")


@dataclass(frozen=True)
class Exercise:
    """A started exercise: where its files are and what the team is told."""

    directory: Path
    incident_id: str
    system_id: str
    started_at: datetime
    alert_at: datetime
    as_of: datetime
    register_path: Path
    briefing_html: Path
    briefing_md: Path
    findings_template: Path
    truth_sha256: str

    def describe(self) -> str:
        """A short human summary (it never names the planted kind)."""
        return "\n".join(
            [
                f"Exercise started in {self.directory} at {self.started_at.isoformat()}",
                f"  incident {self.incident_id} ({self.system_id}), alert at {self.alert_at.isoformat()}",
                f"  briefing: {self.briefing_html}",
                f"  findings form: {self.findings_template}",
                f"  sealed truth sha256: {self.truth_sha256} (do not open {self.directory / 'sealed'})",
            ]
        )


def resolve_scenario(kind: str, seed: int) -> str:
    """Return the scenario id an exercise of ``kind`` plays (``random`` and ``control`` chosen by the seed).

    Examples
    --------
    >>> resolve_scenario("pii_exposure", 0), resolve_scenario("c_fairness_deploy", 0)
    ('k_pii_exposure', 'c_fairness_deploy')
    >>> resolve_scenario("control", 1) in ("f_control", "j_control", "o_control")
    True
    """
    ids = sorted(SCENARIO_KINDS)
    if kind == "random":
        return random.Random(seed).choice(ids)
    if kind in SCENARIO_KINDS:
        return kind
    matching = [scenario for scenario in ids if SCENARIO_KINDS[scenario] == kind]
    if not matching:
        raise WorkbenchError(
            f"--kind must be one of {', '.join(KINDS)}, random, or a scenario id "
            f"({', '.join(ids)}). Got {kind!r} instead."
        )
    return matching[0] if len(matching) == 1 else random.Random(seed).choice(matching)


def _checked_out(out: Path) -> Path:
    out = out.resolve()
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise WorkbenchError(
            f"--out must be a new or empty folder for the exercise. Got {out}, which is not empty, instead: "
            "choose another folder."
        )
    return out


def start_exercise(
    out: str | Path,
    *,
    kind: str = "random",
    seed: int = 0,
    rows_per_day: int = DEFAULT_EXERCISE_ROWS_PER_DAY,
    started_at: datetime | None = None,
    progress: Callable[[str], None] | None = None,
) -> Exercise:
    """Generate one exercise into ``out``: data, a register with the alert, the sealed truth, a briefing.

    Parameters
    ----------
    out : path
        A new or empty folder.
    kind : str
        A scenario kind (``stale_input``, ``pii_exposure``...), ``control`` (a no-fault control, chosen by
        the seed), a scenario id (``c_fairness_deploy``) or ``random`` (chosen by the seed, controls
        included).
    seed : int
        The generator's seed (and the chooser's).
    rows_per_day : int
        Prediction-log rows per logged system and day.
    started_at : datetime, optional
        When the exercise clock starts (default: now, UTC); answer times are measured from it.
    progress : callable, optional
        Receives one line per step.

    Returns
    -------
    Exercise
    """
    from register import open_register
    from register.io import Bundle, read_bundle
    from register.schema import as_utc, utc_now
    from workbench.exercise._report import render_briefing
    from workbench.scenarios import generate

    scenario_id = resolve_scenario(kind, seed)
    directory = _checked_out(Path(out))
    clock = as_utc(started_at) if started_at is not None else utc_now()
    say = progress or (lambda message: None)
    say(f"generating the exercise data into {directory} (seed {seed}, {rows_per_day} rows per day)")
    generated = generate(directory, seed=seed, rows_per_day=rows_per_day, progress=say)
    ground_truth = json.loads(generated.ground_truth_path.read_text(encoding="utf-8"))
    entries = [*ground_truth["scenarios"], *ground_truth.get("llm_scenarios", [])]
    entry = next((item for item in entries if item["id"] == scenario_id), None)
    if entry is None:
        raise WorkbenchError(
            f"the generator's ground truth must hold scenario {scenario_id}. Got "
            f"{', '.join(item['id'] for item in entries)} instead: the generator and the exercise disagree."
        )
    scenario_bundle = read_bundle(generated.register_dir)
    incident, events = _alert_incident(entry, scenario_bundle, seed=seed)
    events = sorted([*events, *_change_log(ground_truth, incident)], key=lambda event: event.at)
    truth = build_truth(
        entry, scenario_bundle, as_of=generated.as_of, incident_id=incident.id, alert_at=incident.aware_at
    )

    sealed = directory / "sealed"
    sealed.mkdir()
    for name in _SEALED:
        shutil.move(str(directory / name), str(sealed / name))
    truth_path = sealed / "truth.json"
    truth_path.write_text(json.dumps(truth, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    digest = commitment(truth_path)

    register_path = directory / "register.sqlite"
    alert_bundle = Bundle(ai_systems=scenario_bundle.ai_systems, incidents=[incident], timeline_events=events)
    with open_register(register_path, create=True) as register:
        register.import_bundle(alert_bundle, by="workbench exercise start")

    system = next(s for s in scenario_bundle.ai_systems if s.id == incident.system_id)
    document: dict[str, Any] = {
        "schema_version": EXERCISE_SCHEMA_VERSION,
        "requested_kind": kind,
        "seed": seed,
        "rows_per_day": rows_per_day,
        "started_at": clock.isoformat(),
        "as_of": generated.as_of.isoformat(),
        "alert_at": incident.aware_at.isoformat(),
        "incident_id": incident.id,
        "system_id": incident.system_id,
        "register": register_path.name,
        "truth_sha256": digest,
        "alert": {
            "title": incident.title,
            "category": incident.category.value,
            "provisional_severity": incident.severity.value,
            "detection_source": incident.detection_source.value if incident.detection_source else None,
            "trigger": incident.trigger,
            "events": [{"at": e.at.isoformat(), "description": e.description} for e in events],
            "system_name": system.name,
            "system_use_case": system.use_case,
        },
    }
    (directory / "exercise.json").write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    findings_path = directory / "findings.yaml"
    findings_path.write_text(findings_template(clock), encoding="utf-8")
    briefing = render_briefing(directory, document)
    say(f"exercise ready: {briefing['html']}")
    return Exercise(
        directory=directory,
        incident_id=incident.id,
        system_id=incident.system_id or "",
        started_at=clock,
        alert_at=incident.aware_at,
        as_of=generated.as_of,
        register_path=register_path,
        briefing_html=briefing["html"],
        briefing_md=briefing["md"],
        findings_template=findings_path,
        truth_sha256=digest,
    )


def _alert_incident(
    entry: dict[str, Any], bundle: Bundle, *, seed: int
) -> tuple[Incident, list[TimelineEvent]]:
    """The incident as the alert (or first report) saw it, and its detection event.

    A planted scenario keeps its incident id, alert time, detection source, trigger, category and failure
    signal; a control gets a new id and a false alarm inside its clean window. Never the answers: no
    onset, root cause, affected counts, tags, timeline beyond the alert or the true severity.
    """
    from register.schema import Incident, TimelineEvent, TimelineEventKind, as_utc

    system = next((s for s in bundle.ai_systems if s.id == entry["system_id"]), None)
    system_name = system.name if system is not None else entry["system_id"]
    if entry.get("control"):
        category, trigger, detection = CONTROL_ALERTS[entry["system_id"]]
        window_start = as_utc(datetime.fromisoformat(entry["onset"].replace("Z", "+00:00")))
        alert_at = window_start + timedelta(days=3 + seed % 8, hours=9, minutes=15)
        incident_id = f"INC-{alert_at.year}-0901"
        source = "monitoring_alert"
        failure_signal = entry.get("failure_signal")
    else:
        original = next(i for i in bundle.incidents if i.id == entry["incident_id"])
        incident_id, alert_at = original.id, original.aware_at
        category, trigger = original.category.value, original.trigger or "alert"
        source = original.detection_source.value if original.detection_source else "monitoring_alert"
        failure_signal = original.failure_signal.model_dump(mode="json") if original.failure_signal else None
        detection = next(
            (
                event.description
                for event in bundle.timeline_events
                if event.incident_id == incident_id and event.kind.value == "detection"
            ),
            f"Alert: {trigger}.",
        )
    incident = Incident.model_validate(
        {
            "id": incident_id,
            "title": f"{system_name}: {trigger}",
            "summary": "Opened from the alert; nothing confirmed yet (tabletop exercise).",
            "system_id": entry["system_id"],
            "category": category,
            "severity": PROVISIONAL_SEVERITY,
            "status": "detected",
            "detection_source": source,
            "aware_at": alert_at,
            "trigger": trigger,
            "failure_signal": failure_signal,
            "tags": ["exercise"],
        }
    )
    event = TimelineEvent(
        incident_id=incident_id, at=alert_at, kind=TimelineEventKind.DETECTION, description=detection
    )
    return incident, [event]


def _change_log(ground_truth: dict[str, Any], incident: Incident) -> list[TimelineEvent]:
    """The system's model deploys in the 60 days before the alert, as the change log shows them.

    What any team has at hand: every deploy (the harmful one, harmless ones, rollbacks) with its version and
    its release note, never whether it caused anything. The chatbot's prompt, agent and index changes are
    not in the generator's deploy list: they are visible in the logs only.
    """
    from register.schema import TimelineEvent, TimelineEventKind, as_utc

    events = []
    for deploy in ground_truth.get("deploys", {}).get(incident.system_id or "", []):
        at = as_utc(datetime.fromisoformat(str(deploy["at"]).replace("Z", "+00:00")))
        if incident.aware_at - timedelta(days=60) <= at <= incident.aware_at:
            events.append(
                TimelineEvent(
                    incident_id=incident.id,
                    at=at,
                    kind=TimelineEventKind.DEPLOY,
                    description=f"Change log: model {deploy['version']} deployed ({deploy['note']}).",
                )
            )
    return events


def findings_template(started_at: datetime) -> str:
    """The blank findings form: every answer empty, one comment per question."""
    clock = started_at.isoformat()
    return f"""\
# Findings of the tabletop exercise (YAML; JSON works too). The clock started at {clock}.
# Fill each `value` when the team agrees on it, and `at` with the wall-clock time it was reached
# (ISO-8601, e.g. {clock}), or `minutes` after the start instead of `at`. Leave `value: null` when
# nobody can say. An empty list is an answer ("no group harmed", "systemic", "no regime applies").
team: null  # free text: who played
notes: null  # free text
onset:  # when did the failure start (ISO-8601 UTC)? not when it was noticed
  value: null
  at: null
still_happening:  # is it still happening at the data's end (as_of)? true/false
  value: null
  at: null
affected_decisions:  # how many decisions (LLM: calls) failed because of it
  value: null
  at: null
affected_people:  # how many distinct people (entities; LLM: users) were affected
  value: null
  at: null
groups_harmed:  # groups harmed more than others: [{{attribute: ethnic_group, group: group_b}}], or []
  value: null
  at: null
cause:  # stale_input, null_input, covariate_shift, covariate_mix, concept_change, model_change,
  # retrieval_change, new_tool, provider_outage, or none
  value: null
  at: null
slice:  # where failures concentrate: [{{column: region, op: "==", value: east}}, ...] (ANDed); [] systemic
  value: null
  at: null
severity:  # SEV-1 (critical) ... SEV-4 (low), by the policy's matrix
  value: null
  at: null
regimes:  # the notification regimes that apply (policy ids, e.g. gdpr_art33), [] if none
  value: null
  at: null
first_deadline:  # when the first notification is due (ISO-8601 UTC), or none
  value: null
  at: null
containment:  # rollback, fix_input, retrain, disable_tool, filter_output, provider_failover, monitor, none
  value: null
  at: null
no_fault_found:  # true if the alert was a false alarm (then cause none, slice [])
  value: null
  at: null
"""
