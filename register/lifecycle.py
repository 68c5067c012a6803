"""The incident lifecycle as an explicit transition table, and the one timestamp-consistency check.

Normal path: detected -> triaged -> contained -> investigating -> recovered -> closed. A near-miss may
be closed straight from triage. A closed incident may be reopened (to ``investigating``, or to
``triaged`` when it was never contained) with a reason; the reason goes to the history and the
timeline. Each transition stamps its time (``triaged_at``, ``contained_at``, ``resolved_at`` on
recovery, ``closed_at``).

Examples
--------
>>> from register.schema import IncidentStatus as S
>>> find_transition(S.DETECTED, S.TRIAGED).stamp
'triaged_at'
>>> [str(s) for s in allowed_targets(S.TRIAGED)]
['contained', 'closed']
>>> find_transition(S.DETECTED, S.CLOSED)
Traceback (most recent call last):
...
register.errors.InvalidTransition: cannot move an incident from 'detected' to 'closed'. Allowed ...: triaged.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TypedDict

from register.errors import InvalidTransition, ValidationFailed
from register.schema import IncidentStatus, as_utc

__all__ = [
    "TIME_ORDER_RULES",
    "TRANSITIONS",
    "Transition",
    "allowed_targets",
    "check_times",
    "find_transition",
    "time_problems",
]

S = IncidentStatus


@dataclass(frozen=True)
class Transition:
    """One allowed move of the lifecycle.

    Attributes
    ----------
    source, target : IncidentStatus
        From and to.
    name : str
        What the move is called (``"triage"``, ``"reopen"``...).
    stamp : str or None
        The incident time field set to the transition's time.
    clears : tuple of str
        Time fields emptied by the move (a reopened incident is no longer resolved or closed).
    needs_reason : bool
        A reason must be given (it is recorded in the history and as a timeline note).
    near_miss_only : bool
        Only incidents of kind ``near_miss`` may take this move.
    """

    source: IncidentStatus
    target: IncidentStatus
    name: str
    stamp: str | None = None
    clears: tuple[str, ...] = ()
    needs_reason: bool = False
    near_miss_only: bool = False


TRANSITIONS: tuple[Transition, ...] = (
    Transition(S.DETECTED, S.TRIAGED, "triage", stamp="triaged_at"),
    Transition(S.TRIAGED, S.CONTAINED, "contain", stamp="contained_at"),
    Transition(S.CONTAINED, S.INVESTIGATING, "investigate"),
    Transition(S.INVESTIGATING, S.RECOVERED, "recover", stamp="resolved_at"),
    Transition(S.RECOVERED, S.CLOSED, "close", stamp="closed_at"),
    Transition(S.TRIAGED, S.CLOSED, "close near-miss", stamp="closed_at", near_miss_only=True),
    Transition(S.CLOSED, S.INVESTIGATING, "reopen", clears=("resolved_at", "closed_at"), needs_reason=True),
    Transition(
        S.CLOSED,
        S.TRIAGED,
        "reopen to triage",
        clears=("contained_at", "resolved_at", "closed_at"),
        needs_reason=True,
    ),
)
"""Every allowed transition; anything else is refused."""


def allowed_targets(source: IncidentStatus | str) -> list[IncidentStatus]:
    """Return the statuses an incident in ``source`` may move to, in table order."""
    status = IncidentStatus(source)
    return [t.target for t in TRANSITIONS if t.source == status]


def _status(value: IncidentStatus | str) -> IncidentStatus:
    try:
        return IncidentStatus(value)
    except ValueError as exc:
        raise InvalidTransition(
            f"a status must be one of {', '.join(IncidentStatus.values())}. Got {value!r} instead."
        ) from exc


def find_transition(
    source: IncidentStatus | str, target: IncidentStatus | str, *, kind: str = "incident"
) -> Transition:
    """Return the transition from ``source`` to ``target``, or raise :class:`InvalidTransition`.

    Parameters
    ----------
    source, target : IncidentStatus or str
        Current and wanted status.
    kind : {"incident", "near_miss"}
        The incident's kind; some moves are for near-misses only.
    """
    status, wanted = _status(source), _status(target)
    candidates = [t for t in TRANSITIONS if t.source == status]
    allowed = [t for t in candidates if not t.near_miss_only or kind == "near_miss"]
    for transition in allowed:
        if transition.target == wanted:
            return transition
    names = ", ".join(str(t.target) for t in allowed) or "none"
    hint = ""
    if any(t.target == wanted and t.near_miss_only for t in candidates):
        hint = " Only a near-miss may be closed from triage; set kind='near_miss' if it is one."
    raise InvalidTransition(
        f"cannot move an incident from {str(status)!r} to {str(wanted)!r}. Allowed from {str(status)!r}: "
        f"{names}.{hint}"
    )


TIME_ORDER_RULES: tuple[tuple[str, str], ...] = (
    ("occurred_at", "aware_at"),
    ("occurred_at", "causal_link_at"),
    ("aware_at", "acknowledged_at"),
    ("aware_at", "triaged_at"),
    ("aware_at", "contained_at"),
    ("aware_at", "resolved_at"),
    ("contained_at", "resolved_at"),
    ("aware_at", "closed_at"),
    ("triaged_at", "closed_at"),
    ("resolved_at", "closed_at"),
)
"""Pairs (earlier, later) of incident times: when both are known, ``later`` must not precede ``earlier``."""

_PLAIN = {
    "occurred_at": "occurred",
    "aware_at": "became aware",
    "acknowledged_at": "acknowledged",
    "triaged_at": "triaged",
    "causal_link_at": "causal link established",
    "contained_at": "contained",
    "resolved_at": "resolved",
    "closed_at": "closed",
}


class TimeProblem(TypedDict):
    """One inconsistent pair of incident times: the later field, what is wrong, its value (ISO)."""

    column: str
    problem: str
    value: str


def time_problems(times: Mapping[str, datetime | None]) -> list[TimeProblem]:
    """Return one row per inconsistent pair of incident times (empty when consistent).

    Each row has ``column`` (the later field), ``problem`` and ``value``, ready for a failures table.

    Examples
    --------
    >>> from datetime import datetime, UTC
    >>> rows = time_problems({"aware_at": datetime(2026, 1, 2, tzinfo=UTC),
    ...                       "occurred_at": datetime(2026, 1, 3, tzinfo=UTC)})
    >>> rows[0]["problem"]
    'became aware (aware_at) is before occurred (occurred_at, 2026-01-03T00:00:00+00:00)'
    """
    problems: list[TimeProblem] = []
    for earlier, later in TIME_ORDER_RULES:
        first, second = times.get(earlier), times.get(later)
        if first is None or second is None:
            continue
        if as_utc(second) < as_utc(first):
            problems.append(
                {
                    "column": later,
                    "problem": f"{_PLAIN[later]} ({later}) is before {_PLAIN[earlier]} "
                    f"({earlier}, {as_utc(first).isoformat()})",
                    "value": as_utc(second).isoformat(),
                }
            )
    return problems


def check_times(times: Mapping[str, datetime | None], *, incident_id: str | None = None) -> None:
    """Raise :class:`ValidationFailed` when incident times contradict each other.

    Used by every path that writes incident times: add, update, transition and import.

    Examples
    --------
    >>> from datetime import datetime, UTC
    >>> check_times({"aware_at": datetime(2026, 1, 2, tzinfo=UTC),
    ...              "closed_at": datetime(2026, 1, 1, tzinfo=UTC)}, incident_id="INC-2026-0001")
    Traceback (most recent call last):
    ...
    register.errors.ValidationFailed: INC-2026-0001: closed (closed_at) is before became aware ... Fix one ...
    """
    problems = time_problems(times)
    if not problems:
        return
    prefix = f"{incident_id}: " if incident_id else ""
    message = "; ".join(f"{row['problem']}: got {row['value']}" for row in problems)
    raise ValidationFailed(
        f"{prefix}{message}. Fix one of the two times.",
        failures=[
            {
                "row": incident_id,
                "column": row["column"],
                "problem": "inconsistent_times",
                "value": row["value"],
                "message": row["problem"],
            }
            for row in problems
        ],
    )
