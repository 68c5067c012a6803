"""Root cause, the ranking: every piece of evidence turned into candidate causes, each with a stated strength.

A candidate cause is one explanation of the change in failures: a data-quality problem of one input, a model
version, a change in how the model does on the same inputs (concept), a change in who came (mix), or inputs
that moved while failures did not (covariate shift). Each candidate carries the numbers behind it, a
strength decided by the rule below, and what would refute it.

The strength rule (the same for every kind)
-------------------------------------------
*Share*: the part of the incident's excess failures (or of the change in failure rate) the candidate
accounts for, with its interval. *Timing*: where the candidate's start lies against the failure onset's
credible interval — ``inside`` (or up to one chunk before it: a change lands before its effect shows),
``before`` (earlier), ``after`` (it cannot have caused failures that began before it), ``n/a`` (no onset).

- **strong**: share >= 50 % with an interval above 0, and timing ``inside`` (a part of the decomposition,
  which has no start of its own, needs only the share); or, when the failure rate did not change, an input
  shift that is itself large (PSI >= 0.25) and began after the reference window;
- **moderate**: share >= 20 % with an interval above 0, or timing ``inside`` with share >= 10 %;
- **weak**: anything else, and always when the timing is ``after``; a model version whose timing is
  ``before`` is weak too -- it served before failures rose, and its own decisions then did not fail more.

Candidates are ranked by strength, then share, then how close their start is to the onset, then by how
specific the kind is (a data-quality problem of one input before a model version before a concept change
before a change in mix before a shift of inputs). A clean window has no failure change and no large shift:
every candidate is weak, and the analysis says "no cause above weak".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Literal

import pandas as pd

__all__ = [
    "CAUSE_KINDS",
    "ISOLATED_SHARE",
    "ISOLATED_SIZE",
    "STRENGTH_RULE",
    "VERDICT_RULE",
    "Candidate",
    "ChangeEvent",
    "OnsetWindow",
    "Share",
    "rank_candidates",
    "strength_of",
    "timing_of",
]

Strength = Literal["strong", "moderate", "weak"]
Timing = Literal["inside", "before", "after", "n/a"]

CAUSE_KINDS: dict[str, str] = {
    "null_input": "an input arrived empty (NULL)",
    "stale_input": "an input stopped updating (stale or frozen)",
    "out_of_range_input": "an input took values outside its normal range",
    "new_category": "an input took values never seen before",
    "volume_anomaly": "the volume of decisions dropped or spiked",
    "duplicate_ids": "decisions were logged twice",
    "model_change": "a new model version",
    "concept_change": "the model does worse on the same kind of input (concept change)",
    "covariate_mix": "who came changed; the model did not (change in mix)",
    "covariate_shift": "inputs moved; failures did not follow",
}
"""Kinds of candidate causes, in the order of specificity used to break ties."""

_STRENGTH_ORDER = {"strong": 0, "moderate": 1, "weak": 2}
_REFUTED_IF: dict[str, str] = {
    "null_input": (
        "rows where {subject} is present fail as often as before the onset and the rise is not confined to "
        "rows where it is NULL; or {subject} was NULL at the same rate before the onset"
    ),
    "stale_input": (
        "decisions made on fresh values of {subject} fail as often as those made on stale ones; or the "
        "input's age did not change at the onset"
    ),
    "out_of_range_input": (
        "decisions with {subject} inside its reference range fail as often as those outside it"
    ),
    "new_category": "decisions with the new values of {subject} fail no more often than the others",
    "volume_anomaly": "the failure rate moved the same way in chunks of normal volume",
    "duplicate_ids": "the failure rate is the same with duplicate decisions removed",
    "model_change": (
        "decisions of the previous version on the same kind of input, after the switch, fail as often (the "
        "conditional part per version); or rolling back did not bring the rate back"
    ),
    "concept_change": (
        "the same kind of input is judged as before once labels mature (the conditional part shrinks to 0), "
        "or a change in the inputs' meaning upstream explains it (then it is a data problem)"
    ),
    "covariate_mix": (
        "the failure rate within each kind of input also rose (the conditional part is not 0); or the "
        "share of the segments that fail more did not grow"
    ),
    "covariate_shift": (
        "the shift is within the range the model was trained and validated on; or it disappears when "
        "compared with the same season last year"
    ),
}


@dataclass(frozen=True)
class Share:
    """A share of the excess failures (or of the change in failure rate) with its interval."""

    estimate: float
    low: float | None = None
    high: float | None = None

    @property
    def above_zero(self) -> bool:
        """Whether the interval lies above 0 (a point estimate alone counts when there is no interval)."""
        return (self.low if self.low is not None else self.estimate) > 0


@dataclass(frozen=True)
class OnsetWindow:
    """The failure onset: its estimate and the credible interval, as times, and the chunk length."""

    at: datetime
    low: datetime
    high: datetime
    chunk: timedelta

    def describe(self, when: datetime) -> str:
        """Distance of ``when`` to the onset, in words ("40 min before the onset; inside the interval")."""
        delta = when - self.at
        words = _duration(abs(delta))
        if timedelta(0) < delta < self.chunk:  # inside the onset's own chunk: the estimate is the chunk
            hourly, daily = self.chunk <= timedelta(hours=1), self.chunk <= timedelta(days=1)
            side = f"within the onset {'hour' if hourly else 'day' if daily else 'week'}"
        else:
            before = "before" if delta < timedelta(0) else "after"
            side = "at the onset" if not words else f"{words} {before} the onset"
        where = {
            "inside": "inside the interval",
            "before": "before the interval",
            "after": "after the interval",
            "n/a": "",
        }[timing_of(when, self)]
        if where == "inside the interval" and when < self.low:
            where = "just before the interval (within one chunk)"
        return f"{side}; {where}" if where else side


def _duration(delta: timedelta) -> str:
    minutes = round(delta.total_seconds() / 60)
    if minutes == 0:
        return ""
    if minutes < 120:
        return f"{minutes} min"
    hours = minutes / 60
    if hours < 48:
        return f"{hours:.0f} h"
    return f"{hours / 24:.1f} days"


def timing_of(when: datetime | None, onset: OnsetWindow | None, until: datetime | None = None) -> Timing:
    """Where ``when`` lies against the onset interval (up to one chunk before it counts as inside).

    ``until`` makes ``when`` a span (a daily finding covers its whole day): it is inside when the span
    overlaps the interval.

    Examples
    --------
    >>> from datetime import UTC
    >>> day = timedelta(days=1)
    >>> onset = OnsetWindow(datetime(2026, 3, 4, tzinfo=UTC), datetime(2026, 3, 3, tzinfo=UTC),
    ...                     datetime(2026, 3, 6, tzinfo=UTC), day)
    >>> [timing_of(datetime(2026, 3, d, 12, tzinfo=UTC), onset) for d in (1, 2, 5, 6)]
    ['before', 'inside', 'inside', 'after']
    >>> timing_of(None, onset), timing_of(datetime(2026, 3, 1, tzinfo=UTC), None)
    ('n/a', 'n/a')
    """
    if when is None or onset is None:
        return "n/a"
    if until is not None and when < onset.high and until > onset.low - onset.chunk:
        return "inside"
    if when >= onset.high:
        return "after"
    if when >= onset.low - onset.chunk:
        return "inside"
    return "before"


def strength_of(
    share: Share | None, timing: Timing, *, large_shift: bool = False, timed: bool = True
) -> Strength:
    """The strength rule of the module docstring.

    ``timed=False`` marks a candidate that is a part of the change itself (the conditional or the mix part
    of the decomposition): it has no start of its own, so its timing cannot be required.

    Examples
    --------
    >>> strength_of(Share(0.8, 0.6, 0.95), "inside"), strength_of(Share(0.8, 0.6, 0.95), "before")
    ('strong', 'moderate')
    >>> strength_of(Share(0.15, 0.05, 0.3), "inside"), strength_of(Share(0.9, 0.8, 1.0), "after")
    ('moderate', 'weak')
    >>> strength_of(None, "n/a", large_shift=True), strength_of(Share(0.3, -0.1, 0.7), "inside")
    ('strong', 'weak')
    """
    if timing == "after":
        return "weak"
    if share is None:
        return "strong" if large_shift and timing == "n/a" else "weak"
    if share.above_zero and share.estimate >= 0.5 and (timing == "inside" or not timed):
        return "strong"
    if share.above_zero and (share.estimate >= 0.2 or (timing == "inside" and share.estimate >= 0.1)):
        return "moderate"
    return "weak"


@dataclass(frozen=True)
class ChangeEvent:
    """A change near the incident: a register timeline event or a model-version switch seen in the logs."""

    at: datetime
    source: Literal["register", "logs"]
    kind: str
    description: str
    model_version: str | None = None


@dataclass(frozen=True)
class Candidate:
    """One candidate cause with its evidence, strength and what would refute it."""

    kind: str
    subject: str
    title: str
    evidence: tuple[str, ...]
    share: Share | None
    timing: Timing
    strength: Strength
    refuted_if: str
    started: datetime | None = None
    started_until: datetime | None = None
    columns: tuple[str, ...] = ()
    model_version: str | None = None
    slice: str | None = None
    events: tuple[str, ...] = field(default_factory=tuple)
    sentence: str = ""

    @classmethod
    def build(
        cls,
        kind: str,
        subject: str,
        title: str,
        evidence: Sequence[str],
        *,
        share: Share | None,
        started: datetime | None,
        onset: OnsetWindow | None,
        large_shift: bool = False,
        timed: bool = True,
        **extra: object,
    ) -> Candidate:
        """A candidate whose timing and strength follow from ``started``, ``onset`` and ``share``."""
        timing = timing_of(started, onset, extra.get("started_until"))  # type: ignore[arg-type]
        return cls(
            kind=kind,
            subject=subject,
            title=title,
            evidence=tuple(evidence),
            share=share,
            timing=timing,
            strength=strength_of(share, timing, large_shift=large_shift, timed=timed),
            refuted_if=_REFUTED_IF[kind].format(subject=subject),
            started=started,
            **extra,  # type: ignore[arg-type]
        )


def _rank_key(candidate: Candidate, onset: OnsetWindow | None) -> tuple[float, ...]:
    share = candidate.share.estimate if candidate.share is not None else 0.0
    distance = (
        abs((candidate.started - onset.at).total_seconds())
        if candidate.started is not None and onset is not None
        else float("inf")
    )
    specificity = list(CAUSE_KINDS).index(candidate.kind) if candidate.kind in CAUSE_KINDS else 99
    return (_STRENGTH_ORDER[candidate.strength], -round(share, 3), distance, specificity)


def _supports(event: ChangeEvent, candidate: Candidate, onset: OnsetWindow | None) -> bool:
    """Whether a change event goes with a candidate.

    A model version's events go with that version's candidate only. Any other change event goes with a
    candidate that lines up with the failure onset when the event does too (inside the onset interval or
    one chunk before it); without a failure onset, with a candidate that started within a day of it.
    """
    if candidate.kind == "model_change":  # the logs' own switch is the candidate's first evidence already
        return (
            event.source == "register"
            and event.model_version is not None
            and event.model_version == candidate.model_version
        )
    if event.source == "logs":
        return False
    if candidate.started is not None and candidate.started_until is not None:
        slack = onset.chunk if onset is not None else timedelta(hours=1)
        if candidate.started - slack <= event.at < candidate.started_until:
            # the event lands within the candidate's own start (a feed frozen at 07:15, a job moved at 07:40)
            return True
    if onset is not None:
        return timing_of(event.at, onset) == "inside" and candidate.timing in ("inside", "n/a")
    return candidate.started is not None and abs(event.at - candidate.started) <= timedelta(days=1)


def rank_candidates(
    candidates: Sequence[Candidate],
    onset: OnsetWindow | None,
    events: Sequence[ChangeEvent] = (),
) -> list[Candidate]:
    """Candidates best first (see the module docstring), each with the change events near its start.

    A concept change is demoted one step when a data-quality problem or a model version is strong: the
    model doing worse on "the same kind of input" is then what that problem looks like, not a second cause.

    Examples
    --------
    >>> from datetime import UTC
    >>> day = timedelta(days=1)
    >>> onset = OnsetWindow(datetime(2026, 3, 4, tzinfo=UTC), datetime(2026, 3, 4, tzinfo=UTC),
    ...                     datetime(2026, 3, 5, tzinfo=UTC), day)
    >>> mix = Candidate.build("covariate_mix", "channel", "t", [], share=Share(0.3, 0.1, 0.5),
    ...                       started=None, onset=onset)
    >>> null = Candidate.build("null_input", "income", "t", [], share=Share(0.8, 0.7, 0.9),
    ...                        started=datetime(2026, 3, 4, 1, tzinfo=UTC), onset=onset)
    >>> [(c.kind, c.strength) for c in rank_candidates([mix, null], onset)]
    [('null_input', 'strong'), ('covariate_mix', 'moderate')]
    """
    strong_specific = any(
        c.strength == "strong" and c.kind not in ("concept_change", "covariate_mix", "covariate_shift")
        for c in candidates
    )
    adjusted = []
    for candidate in candidates:
        if candidate.kind == "concept_change" and strong_specific and candidate.strength != "weak":
            candidate = replace(candidate, strength="moderate" if candidate.strength == "strong" else "weak")
        near = [
            f"{event.description} ({event.source}, {event.at:%Y-%m-%d %H:%M} UTC): "
            f"{onset.describe(event.at) if onset is not None else 'no failure onset to compare with'}"
            for event in events
            if _supports(event, candidate, onset)
        ]
        adjusted.append(replace(candidate, events=tuple(near)))
    return sorted(adjusted, key=lambda candidate: _rank_key(candidate, onset))


def events_frame(events: Sequence[ChangeEvent], onset: OnsetWindow | None) -> pd.DataFrame:
    """The change events as rows with their distance to the onset interval, in time order."""
    rows = [
        {
            "at": event.at,
            "source": event.source,
            "kind": event.kind,
            "description": event.description,
            "model_version": event.model_version,
            "timing": timing_of(event.at, onset),
            "distance": onset.describe(event.at) if onset is not None else None,
        }
        for event in sorted(events, key=lambda event: event.at)
    ]
    return pd.DataFrame(
        rows, columns=["at", "source", "kind", "description", "model_version", "timing", "distance"]
    )


ISOLATED_SHARE = 0.6
"""Share of the excess failures one slice must hold for an isolated verdict."""
ISOLATED_SIZE = 0.5
"""Largest share of the incident window's decisions that slice may cover."""
VERDICT_RULE = (
    f"Isolated: one slice of at most {ISOLATED_SIZE:.0%} of the incident window's decisions holds at least "
    f"{ISOLATED_SHARE:.0%} of the excess failures. Systemic: failures rose significantly and no such slice "
    "exists. No verdict when failures did not rise significantly."
)
STRENGTH_RULE = (
    " ".join(line.strip() for line in (__doc__ or "").split("The strength rule")[1].split("\n\n")[1:3])
    .replace("- **", "")
    .replace("**", "")
    .replace("``", "")
)
STRENGTH_RULE = " ".join(STRENGTH_RULE.split())
"""The strength rule in words (from :mod:`analysis._root_cause_rank`)."""
