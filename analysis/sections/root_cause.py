"""The root-cause section: since when, where, why — beside the root cause the register records.

Declares :data:`SECTION`, its summary schema (:class:`RootCauseSummary`) and parameters
(:class:`RootCauseParameters`); ``notebooks/root_cause.ipynb`` calls
:func:`analysis.root_cause.analyse_root_cause` and :func:`summarise`.

Examples
--------
>>> SECTION.key, SECTION.figure_ids
('root_cause', ('root_cause_onset', 'root_cause_slices', 'root_cause_decomposition', 'root_cause_quality'))
>>> SECTION.parameter_defaults()["max_level"]
3
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from analysis.contract import FigureSpec, Interval, Section, SectionParameters, SectionSummary, TimelineItem
from analysis.data import Window

if TYPE_CHECKING:
    from analysis.context import InvestigationContext
    from analysis.root_cause import RootCauseResult

__all__ = [
    "CauseSummary",
    "RootCauseParameters",
    "RootCauseSummary",
    "SECTION",
    "headline",
    "summarise",
    "timeline_events",
]


class _Part(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)


class OnsetSummary(_Part):
    """The onset of one series with its credible interval (``high`` is the end of the last chunk in it)."""

    series: str
    resolution: str
    onset: datetime | None = None
    low: datetime | None = None
    high: datetime | None = None
    before: float | None = None
    after: float | None = None
    log_bayes_factor: float | None = None
    significant: bool = False


class FailureSummary(_Part):
    """Failures before and during, the excess and whether the change is significant (see the rule)."""

    signal: str
    labels_used: bool
    reference_rate: float | None = None
    incident_rate: float | None = None
    n_reference: int = Field(ge=0)
    n_incident: int = Field(ge=0)
    failures_incident: int = Field(ge=0)
    excess: Interval | None = None
    dispersion: float = Field(ge=1)
    significant: bool
    rule: str


class DetectionSummary(_Part):
    """The onset against the register's times: how long the failure ran before anyone knew."""

    occurred_at: datetime | None = None
    aware_at: datetime | None = None
    delay_hours: Interval | None = Field(default=None, description="aware_at minus the onset, hours")
    occurred_gap_hours: Interval | None = Field(
        default=None, description="recorded occurred_at minus the onset, hours (positive: recorded later)"
    )
    sentence: str


class SliceSummary(_Part):
    """One of the top slices: where failures concentrate in the incident window."""

    description: str
    predicates: list[dict[str, Any]] = Field(default_factory=list)
    level: int = Field(ge=1)
    n: int = Field(ge=0)
    failures: int = Field(ge=0)
    error_rate: Interval
    lift: float | None = None
    score: float | None = None
    reference_rate: float | None = None
    excess: float | None = None
    excess_share: float | None = None
    q_value: float | None = None


class DecompositionSummary(_Part):
    """The change in failure rate split into mix, conditional and unseen parts (they add up exactly)."""

    keys: list[str]
    reference_rate: float
    incident_rate: float
    observed_change: float
    mix: Interval
    conditional: Interval
    unseen: Interval
    by_version: list[dict[str, Any]] = Field(default_factory=list)
    top_cells: list[dict[str, Any]] = Field(default_factory=list)


class QualityFinding(_Part):
    """A data-quality problem found per chunk (null spike, out of range, new category, stale input...)."""

    column: str | None = None
    check: str
    onset: datetime | None = None
    last: datetime | None = None
    value: float | None = None
    reference_value: float | None = None
    rows_affected: int | None = None
    detail: str | None = None


class ChangeEventSummary(_Part):
    """A change near the incident and its distance to the onset interval."""

    at: datetime
    source: Literal["register", "logs"]
    kind: str
    description: str
    model_version: str | None = None
    timing: str
    distance: str | None = None


class CauseSummary(_Part):
    """One ranked candidate cause."""

    rank: int = Field(ge=1)
    kind: str
    subject: str
    title: str
    sentence: str
    evidence: list[str] = Field(default_factory=list)
    strength: Literal["strong", "moderate", "weak"]
    share: Interval | None = None
    timing: str
    refuted_if: str
    started: datetime | None = None
    columns: list[str] = Field(default_factory=list)
    model_version: str | None = None
    slice: str | None = None
    events: list[str] = Field(default_factory=list)


class RecordedSummary(_Part):
    """The register's recorded root cause and whether the analysis agrees with it."""

    category: str | None = None
    trigger: str | None = None
    contributing_factors: list[str] = Field(default_factory=list)
    agreement: Literal["agrees", "disagrees", "not recorded", "not comparable", "no analysed cause"]
    sentence: str


class FailurePoint(_Part):
    """Failures in one chunk, for the onset figure."""

    chunk_start: datetime
    n: int = Field(ge=0)
    failures: int = Field(ge=0)
    rate: float | None = None
    low: float | None = None
    high: float | None = None
    is_reference: bool = False


class RootCauseSummary(SectionSummary):
    """``summary.json`` of the root-cause section."""

    section: Literal["root_cause"] = "root_cause"
    windows: dict[str, Window] = Field(default_factory=dict)
    chunk: str = "day"
    failure: FailureSummary
    onset: OnsetSummary
    change_points: list[datetime] = Field(default_factory=list)
    detection: DetectionSummary
    onsets: list[OnsetSummary] = Field(default_factory=list, description="other series: score, nulls, shifts")
    failure_over_time: list[FailurePoint] = Field(default_factory=list)
    slices: list[SliceSummary] = Field(default_factory=list)
    slice_features: list[str] = Field(default_factory=list)
    slice_note: str | None = None
    verdict: Literal["isolated", "systemic"] | None = None
    verdict_sentence: str
    verdict_rule: str
    decomposition: DecompositionSummary | None = None
    quality: list[QualityFinding] = Field(default_factory=list)
    shifts: list[dict[str, Any]] = Field(default_factory=list, description="inputs' shift (PSI) by feature")
    events: list[ChangeEventSummary] = Field(default_factory=list)
    causes: list[CauseSummary] = Field(default_factory=list)
    strength_rule: str
    recorded: RecordedSummary
    limitations: list[str] = Field(default_factory=list)

    @property
    def top_cause(self) -> CauseSummary | None:
        """The first cause when it is above weak, else ``None`` ("no cause above weak")."""
        if self.causes and self.causes[0].strength != "weak":
            return self.causes[0]
        return None


class RootCauseParameters(SectionParameters):
    """Parameters of the root-cause section (windows, ``as_of`` and the chunk come from the context)."""

    features: list[str] | None = Field(
        default=None,
        description="features to slice and decompose by (default: the card's, minus the signal's)",
    )
    max_level: int = Field(default=3, ge=1, le=3, description="predicates per slice at most")
    top_k: int = Field(default=5, ge=1, le=20, description="slices reported")
    alpha: float = Field(default=0.95, gt=0, lt=1, description="SliceLine's weight of error over size")
    min_support: int | None = Field(
        default=None, ge=1, description="smallest slice (default: 1 % of the incident window, at least 30)"
    )
    n_bins: int = Field(default=5, ge=2, le=20, description="quantile bins of a numeric feature")
    n_resamples: int = Field(default=1000, ge=100, le=100_000, description="Poisson resamples")
    seed: int = Field(default=0, ge=0, description="seed of the resampling")


def summarise(result: RootCauseResult, context: InvestigationContext) -> RootCauseSummary:
    """The section's summary of a root-cause result (validated)."""
    return RootCauseSummary.model_validate(
        {**result.to_summary(), "section": "root_cause", "incident_id": context.incident.id}
    )


def headline(summary: RootCauseSummary) -> str:
    """The top cause's sentence, or why there is none above weak."""
    top = summary.top_cause
    if top is not None:
        return top.sentence
    if summary.causes:
        return (
            f"no cause above weak: {summary.verdict_sentence} The strongest candidate, "
            f"{summary.causes[0].title}, is weak."
        )
    return f"no cause above weak: {summary.verdict_sentence}"


def timeline_events(summary: RootCauseSummary) -> list[TimelineItem]:
    """The failure onset with its credible interval (only when failures changed significantly)."""
    onset = summary.onset
    if not (summary.failure.significant and onset.onset and onset.low and onset.high):
        return []
    return [
        TimelineItem(
            at=onset.onset,
            until=onset.high,
            description=(
                f"Failures began to rise (root-cause onset, {onset.resolution}ly; 95 % interval "
                f"{onset.low:%Y-%m-%d %H:%M} to {onset.high:%Y-%m-%d %H:%M} UTC)"
            ),
            kind="Detection",
            subject="failure rate",
        )
    ]


SECTION = Section(
    key="root_cause",
    title="Root-cause analysis",
    description=(
        "Since when (onset with an interval), where (slices), why (decomposition, data quality, change "
        "events): ranked candidate causes beside the recorded root cause."
    ),
    summary_model=RootCauseSummary,
    parameters_model=RootCauseParameters,
    figures=(
        FigureSpec("root_cause_onset", "Failure rate over time with the onset interval and change events"),
        FigureSpec("root_cause_slices", "Where failures concentrate: the top slices"),
        FigureSpec("root_cause_decomposition", "What changed: mix, conditional and unseen parts"),
        FigureSpec("root_cause_quality", "Data quality per chunk"),
    ),
    notebook="root_cause.ipynb",
    headline=headline,
    timeline_events=timeline_events,
    order=12,
)
"""The root-cause section."""
