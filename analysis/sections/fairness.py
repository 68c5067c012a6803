"""The fairness section: who was treated unfairly, since when, with which model version, how sure we are.

Declares :data:`SECTION`, its summary schema (:class:`FairnessSummary`) and parameters
(:class:`FairnessParameters`); ``notebooks/fairness.ipynb`` calls :func:`analysis.fairness.assess_fairness`
and :func:`summarise`. A system whose data card names no sensitive attributes (or makes no binary
decisions) gets the section marked "not applicable" with the reason.

Examples
--------
>>> SECTION.key, SECTION.figure_ids
('fairness', ('fairness_by_group', 'fairness_gap_over_time', 'fairness_intersections'))
>>> SECTION.parameter_defaults()["reference"]
'largest'
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from analysis._fairness_cells import INTERSECTION, fairness_not_applicable
from analysis._fairness_stats import METRICS
from analysis.contract import FigureSpec, Interval, Section, SectionParameters, SectionSummary, TimelineItem
from analysis.data import CHUNK_LENGTHS, Window

if TYPE_CHECKING:
    from analysis._fairness_summary import FairnessResult
    from analysis.context import InvestigationContext

__all__ = [
    "Disparity",
    "FairnessParameters",
    "FairnessSummary",
    "GroupMetrics",
    "HeadlineGap",
    "SECTION",
    "headline",
    "summarise",
]


class _Part(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)


class GroupMetrics(_Part):
    """Every metric of one group in one window. A suppressed group's counts and metrics are ``None``."""

    grouping: str = Field(description="attribute, or attributes joined by ' × ' for an intersection")
    group: str
    group_label: str | None = Field(default=None, description="the data card's label of a coded group")
    window: str
    n: int | None = Field(default=None, ge=0, description="decisions")
    n_labelled: int | None = Field(default=None, ge=0, description="decisions with a matured label")
    suppressed: bool = False
    metrics: dict[str, Interval | None] = Field(default_factory=dict)


class Disparity(_Part):
    """One group against the reference group on one metric, in one window (or one model version)."""

    grouping: str
    group: str
    group_label: str | None = None
    reference_group: str
    reference_label: str | None = None
    metric: str
    window: str | None = None
    model_version: str | None = None
    value: float | None = None
    reference_value: float | None = None
    difference: Interval | None = None
    ratio: Interval | None = None
    p_adjusted: float | None = Field(default=None, ge=0, le=1)
    verdict: Literal[
        "significant", "below practical threshold", "not distinguishable from noise", "not enough data"
    ]
    before: Interval | None = Field(default=None, description="the same gap in the reference window")
    change: Interval | None = Field(
        default=None, description="during minus before (difference in differences)"
    )
    opened: bool | None = Field(
        default=None, description="significant during, and its widening is significant"
    )


class Composite(_Part):
    """A many-group metric (demographic parity / equalized odds) with its resampling interval."""

    grouping: str
    window: str
    metric: str
    value: Interval | None = None


class FourFifths(_Part):
    """The four-fifths (adverse impact) rule: a group's selection rate over the highest group's."""

    grouping: str
    window: str
    group: str
    group_label: str | None = None
    highest_group: str
    ratio: Interval | None = None
    flagged: bool = Field(description="the ratio is below the ratio threshold (0.8)")
    confirmed: bool = Field(description="the whole interval is below the threshold")


class VersionSeen(_Part):
    """A model version: decisions and when it was first and last seen in the analysed span."""

    model_version: str
    n: int = Field(ge=0)
    n_reference: int = Field(default=0, ge=0)
    n_incident: int = Field(default=0, ge=0)
    first_seen: datetime
    last_seen: datetime


class GapPoint(_Part):
    """The headline gap in one chunk, with its interval."""

    chunk_start: datetime
    gap: float | None = None
    low: float | None = None
    high: float | None = None
    n_group: int | None = Field(default=None, ge=0, description="None: suppressed (a small cell)")
    n_reference: int | None = Field(default=None, ge=0)
    suppressed: bool = False


class HeadlineGap(_Part):
    """The largest significant gap of the incident window: what, between whom, since when, which version."""

    grouping: str
    group: str
    group_label: str | None = None
    reference_group: str
    reference_label: str | None = None
    metric: str
    value: float | None = None
    reference_value: float | None = None
    difference: Interval
    ratio: Interval | None = None
    before: Interval | None = None
    change: Interval | None = None
    opened: bool = Field(description="the change from the reference window is significant")
    onset: datetime | None = Field(default=None, description="first chunk of the gap (shared onset rule)")
    onset_until: datetime | None = None
    model_version: str | None = Field(default=None, description="the version the gap opened with")
    deployed_at: datetime | None = Field(default=None, description="first chunk the version was seen")


class FairnessSummary(SectionSummary):
    """``summary.json`` of the fairness section (numbers the report reads; suppressed cells are ``None``)."""

    section: Literal["fairness"] = "fairness"
    attributes: list[str] = Field(min_length=1)
    groupings: list[str] = Field(default_factory=list)
    references: dict[str, str] = Field(default_factory=dict, description="grouping -> reference group")
    reference_rule: Any = "largest"
    windows: dict[str, Window] = Field(default_factory=dict)
    chunk: str = "day"
    labels_used: bool
    label_note: str
    min_cell_size: int = Field(ge=1)
    confidence: float = Field(default=0.95, gt=0, lt=1)
    difference_threshold: float = Field(gt=0, lt=1)
    ratio_threshold: float = Field(gt=0, lt=1)
    alpha: float = Field(gt=0, lt=1)
    opened_alpha: float = Field(default=0.01, gt=0, lt=1, description="false-discovery level of 'opened'")
    metrics: list[GroupMetrics] = Field(default_factory=list)
    disparities: list[Disparity] = Field(default_factory=list)
    by_version: list[Disparity] = Field(default_factory=list)
    versions: list[VersionSeen] = Field(default_factory=list)
    composites: list[Composite] = Field(default_factory=list)
    four_fifths: list[FourFifths] = Field(default_factory=list)
    headline_gap: HeadlineGap | None = Field(
        default=None, description="the largest significant gap that opened"
    )
    persistent_gap: HeadlineGap | None = Field(
        default=None, description="the largest significant gap that did not open (it was there before)"
    )
    gap_over_time: list[GapPoint] = Field(default_factory=list)
    n_compared: int = Field(default=0, ge=0, description="incident-window gaps with enough data")
    n_significant: int = Field(default=0, ge=0, description="incident-window gaps judged significant")
    n_opened: int = Field(default=0, ge=0, description="significant gaps that opened during the incident")
    limitations: list[str] = Field(default_factory=list)
    metric_titles: dict[str, str] = Field(
        default_factory=lambda: {name: spec.title for name, spec in METRICS.items()},
        description="metric key -> its name in words (the report's wording)",
    )


class FairnessParameters(SectionParameters):
    """Parameters of the fairness section (windows, ``as_of`` and the chunk come from the context)."""

    attributes: list[str] | None = Field(
        default=None, description="sensitive attributes (default: the card's)"
    )
    intersections: bool | list[list[str]] = Field(
        default=True, description="pairwise intersections (true), none (false) or the combinations given"
    )
    reference: str | dict[str, str] = Field(
        default="largest",
        description="reference: 'largest', 'best' (highest selection rate), a group, or grouping -> one",
    )
    min_cell_size: int | None = Field(
        default=None, ge=1, description="suppress smaller groups (default: the policy's minimum cell size)"
    )
    difference_threshold: float = Field(default=0.05, gt=0, lt=1, description="practical threshold, absolute")
    ratio_threshold: float = Field(default=0.8, gt=0, lt=1, description="practical threshold, ratio")
    alpha: float = Field(default=0.05, gt=0, lt=1, description="false-discovery level (Benjamini-Hochberg)")
    opened_alpha: float = Field(
        default=0.01, gt=0, lt=1, description="false-discovery level of the claim that a gap opened"
    )
    n_resamples: int = Field(default=1000, ge=100, le=100_000, description="multinomial resamples")
    seed: int = Field(default=0, ge=0, description="seed of the resampling")


def _label(labels: dict[str, dict[str, str]], grouping: str, group: str) -> str | None:
    """The card's label of a group ('label (code)' parts joined for an intersection), or None."""
    attributes, values = grouping.split(INTERSECTION), group.split(INTERSECTION)
    if len(attributes) != len(values):
        return None
    parts = [
        labels.get(attribute, {}).get(value) for attribute, value in zip(attributes, values, strict=True)
    ]
    if not any(parts):
        return None
    return INTERSECTION.join(part or value for part, value in zip(parts, values, strict=True))


def _labelled(rows: Sequence[dict[str, Any]], labels: dict[str, dict[str, str]]) -> list[dict[str, Any]]:
    out = []
    for row in rows:
        extra: dict[str, Any] = {}
        if "group" in row:
            extra["group_label"] = _label(labels, row["grouping"], row["group"])
        if "reference_group" in row:
            extra["reference_label"] = _label(labels, row["grouping"], row["reference_group"])
        out.append({**row, **extra})
    return out


def summarise(result: FairnessResult, context: InvestigationContext) -> FairnessSummary:
    """The section's summary of a fairness result (validated); coded groups get the data card's labels."""
    summary = result.to_summary()
    labels = context.card.value_labels
    for key in ("metrics", "disparities", "by_version", "four_fifths"):
        summary[key] = _labelled(summary[key], labels)
    for key in ("headline_gap", "persistent_gap"):
        if summary.get(key):
            summary[key] = _labelled([summary[key]], labels)[0]
    return FairnessSummary.model_validate(
        {**summary, "section": "fairness", "incident_id": context.incident.id}
    )


def _group_text(group: str, label: str | None) -> str:
    return f"{label} ({group})" if label else group


def _who(name: str, group: str, label: str | None) -> str:
    return f"{name}={_group_text(group, label)}"


def _interval(value: Interval | None, digits: int = 2) -> str:
    if value is None or value.low is None or value.high is None:
        return ""
    return f"{round(100 * value.level)} % CI {value.low:.{digits}f} to {value.high:.{digits}f}"


def headline(summary: FairnessSummary) -> str:
    r"""One sentence: the largest significant gap (metric, groups, values, interval, when, which version).

    Examples
    --------
    >>> gap = {"grouping": "ethnic_group", "group": "group_b", "reference_group": "group_a",
    ...        "metric": "selection_rate", "value": 0.35, "reference_value": 0.5,
    ...        "difference": {"estimate": -0.15, "low": -0.18, "high": -0.12},
    ...        "ratio": {"estimate": 0.70, "low": 0.66, "high": 0.74},
    ...        "before": {"estimate": -0.02, "low": -0.04, "high": 0.0},
    ...        "change": {"estimate": -0.13, "low": -0.16, "high": -0.10}, "opened": True,
    ...        "onset": "2025-11-07T00:00:00Z", "model_version": "2.0.0",
    ...        "deployed_at": "2025-11-07T00:00:00Z"}
    >>> summary = FairnessSummary(incident_id="INC-1", attributes=["ethnic_group"], labels_used=True,
    ...     label_note="n", min_cell_size=10, difference_threshold=0.05, ratio_threshold=0.8, alpha=0.05,
    ...     headline_gap=gap, n_compared=12, n_significant=3)
    >>> print(headline(summary).replace("; ", ";\n"))
    selection rate of ethnic_group=group_b 0.35 vs 0.50 for group_a (difference -0.15, 95 % CI -0.18 to -0.12;
    ratio 0.70, 95 % CI 0.66 to 0.74);
    before the incident -0.02, change -0.13 (95 % CI -0.16 to -0.10);
    opened 2025-11-07 with model 2.0.0 (first seen 2025-11-07);
    3 of 12 gaps compared are significant
    """
    gap = summary.headline_gap
    if gap is None:
        if not summary.n_compared:
            return "no gap between groups could be compared (see the limitations)"
        return (
            f"no significant gap between groups: none of the {summary.n_compared} gaps compared in the "
            "incident window is both distinguishable from noise and past the practical threshold"
        )
    title = METRICS[gap.metric].title if gap.metric in METRICS else gap.metric
    value = f"{gap.value:.2f}" if gap.value is not None else "n/a"
    reference = f"{gap.reference_value:.2f}" if gap.reference_value is not None else "n/a"
    text = (
        f"{title} of {_who(gap.grouping, gap.group, gap.group_label)} {value} vs {reference} for "
        f"{_group_text(gap.reference_group, gap.reference_label)} "
        f"(difference {gap.difference.estimate:.2f}, {_interval(gap.difference)}"
    )
    if gap.ratio is not None:
        text += f"; ratio {gap.ratio.estimate:.2f}, {_interval(gap.ratio)}"
    text += ")"
    if gap.before is not None and gap.change is not None:
        text += (
            f"; before the incident {gap.before.estimate:.2f}, change {gap.change.estimate:.2f} "
            f"({_interval(gap.change)})"
        )
    when = []
    if gap.onset is not None:
        when.append(f"opened {gap.onset:%Y-%m-%d}")
    if gap.model_version:
        seen = f" (first seen {gap.deployed_at:%Y-%m-%d})" if gap.deployed_at else ""
        when.append(f"with model {gap.model_version}{seen}")
    if when:
        text += "; " + " ".join(when)
    return text + f"; {summary.n_significant} of {summary.n_compared} gaps compared are significant"


def timeline_events(summary: FairnessSummary) -> list[TimelineItem]:
    """The headline gap's onset (the chunk it covers), when there is one."""
    gap = summary.headline_gap
    if gap is None or gap.onset is None:
        return []
    title = METRICS[gap.metric].title if gap.metric in METRICS else gap.metric
    until = gap.onset_until or gap.onset + CHUNK_LENGTHS.get(summary.chunk, CHUNK_LENGTHS["day"])
    version = f" (model {gap.model_version})" if gap.model_version else ""
    return [
        TimelineItem(
            at=gap.onset,
            until=until,
            description=(
                f"Fairness gap opened: {title} of {gap.grouping}={gap.group} "
                f"vs {gap.reference_group}{version}"
            ),
            kind="Detection",
            subject=gap.grouping,
        )
    ]


SECTION = Section(
    key="fairness",
    title="Fairness findings",
    description=(
        "Metrics by group and intersection, gaps to a reference group before vs during, since when, "
        "which model."
    ),
    summary_model=FairnessSummary,
    parameters_model=FairnessParameters,
    figures=(
        FigureSpec("fairness_by_group", "Metrics by group, before and during, with intervals"),
        FigureSpec("fairness_gap_over_time", "The largest gap over time with its band"),
        FigureSpec("fairness_intersections", "Selection rate by intersection (suppressed cells greyed)"),
    ),
    notebook="fairness.ipynb",
    headline=headline,
    timeline_events=timeline_events,
    suppresses_small_cells=True,
    not_applicable=fairness_not_applicable,
    order=15,
)
"""The fairness section."""
