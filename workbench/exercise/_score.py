"""``workbench exercise score``: the team's findings against the sealed truth, answer by answer.

Tolerances: onset within :data:`ONSET_TOLERANCE_HOURS` hours; affected counts within
:data:`COUNT_TOLERANCE` relative error (of the planted count, or of every failure the signal flags in the
incident window for an LLM system); the first deadline within :data:`DEADLINE_TOLERANCE_HOURS` hour;
severity, cause, still-happening exact; groups, slice and regimes as sets (what is missing and what is
extra are named); containment one of the decisions judged right for the scenario. The score is the share
of checks right: a perfect findings file scores 100 %.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from workbench.errors import WorkbenchError
from workbench.exercise._findings import Answer, Findings, load_findings
from workbench.exercise._truth import read_sealed_truth

__all__ = [
    "COUNT_TOLERANCE",
    "DEADLINE_TOLERANCE_HOURS",
    "ONSET_TOLERANCE_HOURS",
    "STILL_HAPPENING_MINUTES",
    "Check",
    "ExerciseScore",
    "score_exercise",
]

ONSET_TOLERANCE_HOURS = 6.0
COUNT_TOLERANCE = 0.20
DEADLINE_TOLERANCE_HOURS = 1.0
STILL_HAPPENING_MINUTES = 60.0
"""Whether it is still happening should be known within the first hour."""

Verdict = Literal["right", "wrong", "missing"]

QUESTIONS: dict[str, str] = {
    "onset": "When did it start?",
    "still_happening": "Is it still happening?",
    "affected_decisions": "How many decisions failed?",
    "affected_people": "How many people were affected?",
    "groups_harmed": "Which groups were harmed?",
    "cause": "What caused it?",
    "slice": "Where do the failures concentrate?",
    "severity": "How severe is it?",
    "regimes": "Which notification regimes apply?",
    "first_deadline": "When is the first notification due?",
    "containment": "How do we contain it?",
    "no_fault_found": "Was it a false alarm?",
}


@dataclass(frozen=True)
class Check:
    """One answer judged against the truth."""

    key: str
    question: str
    answer: str
    truth: str
    verdict: Verdict
    error: str | None = None
    gap: str | None = None
    minutes: float | None = None


@dataclass
class ExerciseScore:
    """The verdicts, the score, what went right, the gaps and the action items for the response plan."""

    directory: Path
    exercise: dict[str, Any]
    truth: dict[str, Any]
    checks: list[Check]
    team: str | None = None
    notes: str | None = None
    action_items: list[str] = field(default_factory=list)

    @property
    def n_right(self) -> int:
        """Checks answered right."""
        return sum(check.verdict == "right" for check in self.checks)

    @property
    def score(self) -> float:
        """Share of checks right (0 to 1)."""
        return self.n_right / len(self.checks) if self.checks else 0.0

    @property
    def percent(self) -> float:
        """The score in percent."""
        return round(100.0 * self.score, 1)

    @property
    def went_right(self) -> list[str]:
        """What the team got right, in words."""
        return [
            f"{c.question} {c.answer}" + (f" ({c.error})" if c.error else "")
            for c in self.checks
            if c.verdict == "right"
        ]

    @property
    def gaps(self) -> list[str]:
        """Each wrong or missing answer, named in plain words."""
        return [check.gap for check in self.checks if check.gap]

    def summary(self) -> dict[str, Any]:
        """A JSON-ready summary (``score.json``)."""
        return {
            "score_percent": self.percent,
            "n_checks": len(self.checks),
            "n_right": self.n_right,
            "checks": [check.__dict__ for check in self.checks],
            "gaps": self.gaps,
            "action_items": self.action_items,
        }


def _utc(value: str | datetime | None) -> datetime | None:
    from register.schema import as_utc

    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return as_utc(value)


def _fmt_time(value: datetime | None) -> str:
    return "—" if value is None else value.strftime("%Y-%m-%d %H:%M UTC")


def _predicates(items: list[Any]) -> set[tuple[str, str, str]]:
    out = set()
    for item in items:
        data = item if isinstance(item, dict) else item.model_dump()
        out.add((str(data["column"]), str(data.get("op", "==")), str(data["value"])))
    return out


def _fmt_slice(predicates: set[tuple[str, str, str]]) -> str:
    if not predicates:
        return "systemic (no slice)"
    return " AND ".join(f"{column} {op} {value}" for column, op, value in sorted(predicates))


def _groups(items: list[Any]) -> set[tuple[str, str]]:
    out = set()
    for item in items:
        data = item if isinstance(item, dict) else item.model_dump()
        out.add((str(data["attribute"]), str(data["group"])))
    return out


def _fmt_groups(groups: set[tuple[str, str]]) -> str:
    return ", ".join(f"{attribute} = {group}" for attribute, group in sorted(groups)) or "none"


class _Judge:
    """Builds the checks of one findings file against one truth."""

    def __init__(self, findings: Findings, truth: dict[str, Any], started_at: datetime) -> None:
        self.findings = findings
        self.truth = truth
        self.started_at = started_at
        self.checks: list[Check] = []

    def add(
        self,
        key: str,
        answer: Answer[Any],
        shown_answer: str,
        truth: str,
        verdict: Verdict,
        *,
        error: str | None = None,
        gap: str | None = None,
    ) -> None:
        if verdict == "missing":
            gap = gap or f"{key.replace('_', ' ')}: not answered ({QUESTIONS[key]})"
        self.checks.append(
            Check(
                key=key,
                question=QUESTIONS[key],
                answer=shown_answer if verdict != "missing" else "not answered",
                truth=truth,
                verdict=verdict,
                error=error,
                gap=gap if verdict != "right" else None,
                minutes=answer.minutes_after(self.started_at) if answer.answered else None,
            )
        )

    def onset(self) -> None:
        answer, truth = self.findings.onset, _utc(self.truth["onset"])
        shown_truth = _fmt_time(truth)
        if not answer.answered or truth is None:
            self.add("onset", answer, "", shown_truth, "missing")
            return
        hours = (_utc(answer.value) - truth) / timedelta(hours=1)  # type: ignore[operator]
        direction = "late" if hours > 0 else "early"
        error = f"{abs(hours):.1f} h {direction}" if abs(hours) >= 0.05 else "exact"
        ok = abs(hours) <= ONSET_TOLERANCE_HOURS
        self.add(
            "onset",
            answer,
            _fmt_time(_utc(answer.value)),
            shown_truth,
            "right" if ok else "wrong",
            error=error,
            gap=f"onset answered {abs(hours):.1f} h {direction} (the failure started {shown_truth}; "
            f"tolerance {ONSET_TOLERANCE_HOURS:g} h)",
        )

    def exact(self, key: str, truth_value: Any, shown: Any = None) -> None:
        answer: Answer[Any] = getattr(self.findings, key)
        shown_truth = str(truth_value if shown is None else shown)
        if not answer.answered:
            self.add(key, answer, "", shown_truth, "missing")
            return
        ok = answer.value == truth_value
        shown_answer = (
            ("yes" if answer.value else "no") if isinstance(answer.value, bool) else str(answer.value)
        )
        self.add(
            key,
            answer,
            shown_answer,
            shown_truth,
            "right" if ok else "wrong",
            gap=f"{key.replace('_', ' ')}: answered {shown_answer}; the truth is {shown_truth}",
        )

    def count(self, key: str, truth_key: str, unit: str) -> None:
        answer: Answer[int] = getattr(self.findings, key)
        truth = self.truth[truth_key]
        signal = self.truth.get(f"{truth_key}_signal")
        shown_truth = f"{truth:,} {unit}" + (
            f" (the signal flags {signal:,})" if signal and signal != truth else ""
        )
        if not answer.answered:
            self.add(key, answer, "", shown_truth, "missing")
            return
        value = int(answer.value)  # type: ignore[arg-type]
        targets = [t for t in (truth, signal) if t]
        errors = [(value - target) / target for target in targets] or [0.0 if value == 0 else float("inf")]
        relative = min(errors, key=abs)
        ok = abs(relative) <= COUNT_TOLERANCE
        error = f"{relative:+.0%}" if relative != float("inf") else "none expected"
        self.add(
            key,
            answer,
            f"{value:,}",
            shown_truth,
            "right" if ok else "wrong",
            error=error,
            gap=f"{key.replace('_', ' ')}: answered {value:,}, {error} off the truth {truth:,} "
            f"(tolerance {COUNT_TOLERANCE:.0%})",
        )

    def groups(self) -> None:
        answer = self.findings.groups_harmed
        truth = _groups(self.truth["groups_harmed"])
        if not answer.answered:
            self.add("groups_harmed", answer, "", _fmt_groups(truth), "missing")
            return
        given = _groups(answer.value or [])
        missed, extra = truth - given, given - truth
        parts = [f"missed {_fmt_groups(missed)}"] if missed else []
        parts += [f"named {_fmt_groups(extra)}, which was not harmed more than others"] if extra else []
        self.add(
            "groups_harmed",
            answer,
            _fmt_groups(given),
            _fmt_groups(truth),
            "right" if not parts else "wrong",
            error="; ".join(parts) or None,
            gap="groups harmed: " + "; ".join(parts),
        )

    def slice(self) -> None:
        answer = self.findings.slice
        truth = _predicates(self.truth["slice"])
        if not answer.answered:
            self.add("slice", answer, "", _fmt_slice(truth), "missing")
            return
        given = _predicates(answer.value or [])
        ok = given == truth
        self.add(
            "slice",
            answer,
            _fmt_slice(given),
            _fmt_slice(truth),
            "right" if ok else "wrong",
            error=None if ok else f"{len(given ^ truth)} predicate(s) differ",
            gap=f"slice: answered {_fmt_slice(given)}; the planted slice is {_fmt_slice(truth)}",
        )

    def regimes(self) -> None:
        answer = self.findings.regimes
        truth = {regime["id"] for regime in self.truth["regimes"]}
        shown_truth = ", ".join(sorted(truth)) or "none"
        if not answer.answered:
            self.add("regimes", answer, "", shown_truth, "missing")
            return
        given = set(answer.value or [])
        missed, extra = sorted(truth - given), sorted(given - truth)
        parts = [f"missed regime {', '.join(missed)}"] if missed else []
        parts += [f"named regime {', '.join(extra)}, which does not apply"] if extra else []
        self.add(
            "regimes",
            answer,
            ", ".join(sorted(given)) or "none",
            shown_truth,
            "right" if not parts else "wrong",
            error="; ".join(parts) or None,
            gap="regimes: " + "; ".join(parts),
        )

    def deadline(self) -> None:
        answer = self.findings.first_deadline
        first = self.truth["first_deadline"]
        truth = _utc(first["due_at"]) if first else None
        shown_truth = f"{_fmt_time(truth)} ({first['regime']} {first['report_type']})" if first else "none"
        if not answer.answered:
            self.add("first_deadline", answer, "", shown_truth, "missing")
            return
        given = None if answer.value == "none" else _utc(answer.value)  # type: ignore[arg-type]
        if given is None or truth is None:
            ok, error = given is None and truth is None, None
        else:
            hours = (given - truth) / timedelta(hours=1)
            ok, error = (
                abs(hours) <= DEADLINE_TOLERANCE_HOURS,
                f"{abs(hours):.1f} h {'late' if hours > 0 else 'early'}",
            )
        self.add(
            "first_deadline",
            answer,
            _fmt_time(given) if given else "none",
            shown_truth,
            "right" if ok else "wrong",
            error=error if error and error != "0.0 h early" else None,
            gap=f"first notification deadline: answered {_fmt_time(given) if given else 'none'}; "
            f"it is {shown_truth}",
        )

    def containment(self, implied_none: bool = False) -> None:
        answer = self.findings.containment
        accepted = list(self.truth["containment"])
        shown_truth = " or ".join(accepted)
        if not answer.answered:
            if implied_none:
                self.add("containment", answer, "none (implied by no fault found)", shown_truth, "right")
            else:
                self.add("containment", answer, "", shown_truth, "missing")
            return
        ok = answer.value in accepted
        self.add(
            "containment",
            answer,
            str(answer.value),
            shown_truth,
            "right" if ok else "wrong",
            gap=f"containment: answered {answer.value}; the response called for {shown_truth}",
        )


def _judge_planted(judge: _Judge) -> None:
    truth = judge.truth
    unit = truth.get("affected_unit", "decisions")
    judge.onset()
    judge.exact("still_happening", truth["still_happening"], "yes" if truth["still_happening"] else "no")
    judge.count("affected_decisions", "affected_decisions", unit)
    judge.count("affected_people", "affected_people", "people")
    judge.groups()
    judge.exact("cause", truth["cause"])
    judge.slice()
    judge.exact("severity", truth["severity"])
    judge.regimes()
    judge.deadline()
    judge.containment()
    claimed = judge.findings.no_fault_found
    judge.add(
        "no_fault_found",
        claimed,
        "yes" if claimed.value else "no",
        "no: a real incident",
        "wrong" if claimed.value else "right",
        gap="declared a false alarm on a real incident",
    )


def _judge_control(judge: _Judge) -> None:
    findings = judge.findings
    no_fault = findings.no_fault_found
    if not no_fault.answered:
        judge.add("no_fault_found", no_fault, "", "yes: a false alarm", "missing")
    else:
        judge.add(
            "no_fault_found",
            no_fault,
            "yes" if no_fault.value else "no",
            "yes: a false alarm",
            "right" if no_fault.value else "wrong",
            gap="a fault was claimed on a control: the alert was a false alarm and nothing was planted",
        )
    implied = bool(no_fault.value)
    cause = findings.cause
    if cause.answered and cause.value != "none":
        judge.add(
            "cause",
            cause,
            str(cause.value),
            "none (no fault planted)",
            "wrong",
            gap=f"cause {cause.value} claimed on a control (a false alarm: nothing was planted)",
        )
    elif cause.answered or implied:
        judge.add("cause", cause, "none", "none (no fault planted)", "right")
    else:
        judge.add("cause", cause, "", "none (no fault planted)", "missing")
    answered_slice = findings.slice
    predicates = _predicates(answered_slice.value or [])
    if predicates:
        judge.add(
            "slice",
            answered_slice,
            _fmt_slice(predicates),
            "systemic (no slice)",
            "wrong",
            gap=f"slice {_fmt_slice(predicates)} named on a control (a false alarm)",
        )
    elif answered_slice.answered or implied:
        judge.add("slice", answered_slice, "no slice", "no slice (no fault planted)", "right")
    else:
        judge.add("slice", answered_slice, "", "no slice (no fault planted)", "missing")
    judge.containment(implied_none=bool(no_fault.value))


def _action_items(checks: list[Check], truth: dict[str, Any]) -> list[str]:
    """Suggested action items for the response plan, from rules over the verdicts and answer times."""
    by_key = {check.key: check for check in checks}
    items: list[str] = []
    missing = [check.question for check in checks if check.verdict == "missing"]
    if missing:
        items.append(
            "Nobody could answer: " + " ".join(missing) + " Add these questions to the triage checklist, "
            "each with an owner and the command that answers it."
        )
    still = by_key.get("still_happening")
    if still is not None and (still.verdict == "missing" or (still.minutes or 0) > STILL_HAPPENING_MINUTES):
        items.append(
            "Nobody could say whether it was still happening within the first hour: give the on-call a live "
            "failure-rate view of the system (the failure signal per hour up to now)."
        )
    rules = {
        "onset": "Date the onset from the failure signal per hour and the change log (deploys, pipeline "
        "and index changes), not from the alert time.",
        "regimes": "Add a regime checklist to triage (personal data, fundamental rights, jurisdiction, "
        "risk tier) and run `workbench register classify` on the incident before the first hour ends.",
        "first_deadline": "Compute the first notification deadline from the policy at triage and put it on "
        "the incident's clock.",
        "slice": "Run the slice analysis before naming a segment, and check the segment against the "
        "failure rate of the rest.",
        "severity": "Re-rate the severity against the policy's matrix once the affected count and the "
        "groups harmed are known.",
        "affected_decisions": "Count affected decisions from the failure signal (the impact section) "
        "instead of estimating.",
        "affected_people": "Count affected people from the failure signal (distinct entities or users).",
        "groups_harmed": "Run the fairness section by sensitive attribute for every incident of a system "
        "that decides about people.",
        "cause": "Check the change log (deploys, pipeline, retrieval index, tools, providers) against the "
        "onset before settling on a cause.",
        "containment": "Write a containment playbook per cause (rollback, input fix, tool switch-off, "
        "provider failover) and agree it before the exercise.",
    }
    for key, text in rules.items():
        check = by_key.get(key)
        if check is not None and check.verdict == "wrong":
            items.append(text)
    fault = by_key.get("no_fault_found")
    if fault is not None and fault.verdict == "wrong":
        items.append(
            "Add a false-alarm check to triage: compare the alert's window with the reference window "
            "before declaring a cause."
            if truth.get("control")
            else "Before closing an alert as a false alarm, run the drift, slice and impact sections on it."
        )
    return items


def score_exercise(directory: str | Path, findings: str | Path | Findings) -> ExerciseScore:
    """Score a findings file (or :class:`Findings`) against the exercise's sealed truth.

    Parameters
    ----------
    directory : path
        The folder ``workbench exercise start`` wrote.
    findings : path or Findings
        The team's findings (YAML/JSON file) or already validated findings.

    Returns
    -------
    ExerciseScore

    Raises
    ------
    WorkbenchError
        The folder is not an exercise, the sealed truth does not match its commitment, or the findings
        are malformed (each bad field named).
    """
    folder = Path(directory).resolve()
    meta_path = folder / "exercise.json"
    if not meta_path.is_file():
        raise WorkbenchError(
            f"DIR must be an exercise folder holding exercise.json. Got {folder} instead: give the folder "
            "`workbench exercise start --out` wrote."
        )
    exercise = json.loads(meta_path.read_text(encoding="utf-8"))
    truth = read_sealed_truth(folder, str(exercise.get("truth_sha256", "")))
    answers = findings if isinstance(findings, Findings) else load_findings(findings)
    started = _utc(exercise["started_at"])
    judge = _Judge(answers, truth, started)  # type: ignore[arg-type]
    (_judge_control if truth["control"] else _judge_planted)(judge)
    return ExerciseScore(
        directory=folder,
        exercise=exercise,
        truth=truth,
        checks=judge.checks,
        team=answers.team,
        notes=answers.notes,
        action_items=_action_items(judge.checks, truth),
    )
