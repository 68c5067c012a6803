"""The impact section: how many decisions and people were affected, by group and over time, and is it ongoing.

It runs for prediction logs and interaction logs: an interaction log's decisions are its model calls
(:func:`analysis.data.open_calls`), its entities the users, and the summary also counts the affected
conversations.

Declares :data:`SECTION`, its summary schema (:class:`ImpactSummary`) and parameters
(:class:`ImpactParameters`); ``notebooks/impact.ipynb`` calls :func:`analysis.impact.assess_impact` and
:func:`summarise`.

Examples
--------
>>> SECTION.key, SECTION.figure_ids
('impact', ('impact_over_time', 'impact_by_group'))
>>> SECTION.parameter_defaults()
{'min_cell_size': None}
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from analysis.contract import (
    FigureSpec,
    Interval,
    Section,
    SectionParameters,
    SectionSummary,
)
from analysis.data import Window

if TYPE_CHECKING:
    from analysis.context import InvestigationContext
    from analysis.impact import ImpactResult

__all__ = [
    "GroupImpact",
    "ImpactParameters",
    "ImpactSummary",
    "SECTION",
    "StillHappeningSummary",
    "headline",
    "summarise",
]


class _Part(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)


class GroupImpact(_Part):
    """Impact within one group of one sensitive attribute.

    When ``suppressed`` is true the group is smaller than the policy's minimum cell size: its counts are
    ``None`` and the report marks the row as suppressed (never drops it).
    """

    attribute: str
    group: str
    group_label: str | None = Field(
        default=None, description="the data card's label of a coded group (value_labels), shown beside it"
    )
    n_decisions: int | None = Field(default=None, ge=0)
    n_decided: int | None = Field(
        default=None, ge=0, description="decisions the failure signal could judge: the rate's denominator"
    )
    n_affected: int | None = Field(default=None, ge=0)
    rate: float | None = Field(default=None, ge=0, le=1, description="n_affected / n_decided")
    suppressed: bool = False


class StillHappeningSummary(_Part):
    """Is the failure still happening: the recent window against the baseline."""

    verdict: Literal["ongoing", "subsided", "inconclusive"]
    recent_rate: Interval | None = None
    baseline_rate: float | None = Field(default=None, ge=0, le=1)
    explanation: str | None = Field(default=None, description="one sentence stating the finding")


class ImpactSummary(SectionSummary):
    """``summary.json`` of the impact section.

    Keys the report reads: ``definition``, ``windows`` (``reference``/``incident``/``recent``),
    ``n_decisions``, ``n_affected_decisions``, ``n_affected_entities``, ``n_affected_conversations``
    (interaction logs), ``incident_rate``,
    ``baseline_rate``, ``excess_failures``, ``by_group``, ``min_cell_size``, ``still_happening``,
    ``label_completeness``, ``labels_incomplete_from`` and ``complete_label_share``.
    """

    section: Literal["impact"] = "impact"
    definition: str = Field(min_length=1, description="the failure signal used, in words")
    unit: str = Field(
        default="decisions",
        description="what is counted: decisions (prediction logs) or model calls (interaction logs)",
    )
    windows: dict[str, Window] = Field(description="reference, incident and recent windows used")
    n_decisions: int = Field(ge=0, description="decisions in the incident window")
    n_affected_decisions: int = Field(ge=0, description="decisions where the failure signal holds")
    n_undecided_decisions: int | None = Field(
        default=None, ge=0, description="decisions the signal could not judge yet (e.g. no label by as_of)"
    )
    n_affected_entities: int | None = Field(default=None, ge=0, description="distinct entities affected")
    n_affected_conversations: int | None = Field(
        default=None,
        ge=0,
        description="distinct conversations with a failed model call (interaction logs; else null)",
    )
    incident_rate: float | None = Field(default=None, ge=0, le=1)
    baseline_rate: float | None = Field(default=None, ge=0, le=1)
    excess_failures: Interval | None = Field(default=None, description="failures above the baseline rate")
    by_group: list[GroupImpact] = Field(default_factory=list)
    min_cell_size: int = Field(default=10, ge=1, description="groups smaller than this are suppressed")
    still_happening: StillHappeningSummary
    label_completeness: float | None = Field(
        default=None,
        ge=0,
        le=1,
        description="share of incident-window decisions with a label observed by as_of",
    )
    labels_incomplete_from: datetime | None = Field(
        default=None,
        description=(
            "start of the latest chunks whose decisions have labels observed by as_of for less than "
            "complete_label_share of them: the failure rate from then on is provisional"
        ),
    )
    complete_label_share: float | None = Field(
        default=None, ge=0, le=1, description="a chunk's labels are complete from this share of its decisions"
    )


class ImpactParameters(SectionParameters):
    """Parameters of the impact section (windows, ``as_of`` and the chunk come from the context)."""

    min_cell_size: int | None = Field(
        default=None, ge=1, description="suppress smaller groups (default: the policy's minimum cell size)"
    )


def summarise(impact: ImpactResult, context: InvestigationContext) -> ImpactSummary:
    """The section's summary of an impact result (validated); coded groups get the data card's labels."""
    summary = impact.to_summary()
    labels = context.card.value_labels
    summary["by_group"] = [
        {**row, "group_label": labels.get(str(row.get("attribute")), {}).get(str(row.get("group")))}
        for row in summary.get("by_group", [])
    ]
    unit = (
        "model calls" if getattr(context.card, "kind", "prediction_log") == "interaction_log" else "decisions"
    )
    return ImpactSummary.model_validate(
        {**summary, "section": "impact", "incident_id": context.incident.id, "unit": unit}
    )


def headline(summary: ImpactSummary) -> str:
    r"""One sentence: the effect (excess failures with their interval), what was observed, still happening.

    Examples
    --------
    >>> summary = ImpactSummary(incident_id="INC-2026-0001", definition="label error", windows={},
    ...     n_decisions=1000, n_affected_decisions=260, n_undecided_decisions=0, baseline_rate=0.25,
    ...     excess_failures={"estimate": 10.0, "low": -20.0, "high": 40.0},
    ...     still_happening={"verdict": "subsided"})
    >>> print(headline(summary).replace("; ", ";\n"))
    excess failures over the baseline 10 (95 % interval -20 to 40: indistinguishable from zero);
    260 of 1,000 judged decisions failed, normal rate 25.0 %;
    still happening: subsided
    """
    judged = summary.n_decisions - (summary.n_undecided_decisions or 0)
    excess = summary.excess_failures
    if excess is None:
        effect = "excess failures over the baseline could not be estimated"
    else:
        interval = ""
        if excess.low is not None and excess.high is not None:
            zero = ": indistinguishable from zero" if excess.low <= 0 <= excess.high else ""
            level = round(100 * excess.level)
            interval = f" ({level} % interval {excess.low:,.0f} to {excess.high:,.0f}{zero})"
        effect = f"excess failures over the baseline {excess.estimate:,.0f}{interval}"
    normal = f", normal rate {100 * summary.baseline_rate:.1f} %" if summary.baseline_rate is not None else ""
    return (
        f"{effect}; {summary.n_affected_decisions:,} of {judged:,} judged {summary.unit} failed{normal}; "
        f"still happening: {summary.still_happening.verdict}"
    )


def min_cell_size_for(parameters: Any, context: InvestigationContext) -> int:
    """The minimum cell size to use: the section's parameter, else the context's (the policy's)."""
    given = getattr(parameters, "min_cell_size", None)
    return int(given) if given is not None else int(context.min_cell_size)


SECTION = Section(
    key="impact",
    title="Impact assessment",
    description="How many decisions and people were affected, by group and over time; is it still happening.",
    summary_model=ImpactSummary,
    parameters_model=ImpactParameters,
    figures=(
        FigureSpec("impact_over_time", "Failed decisions over time against the baseline"),
        FigureSpec("impact_by_group", "Failure rate by group"),
    ),
    notebook="impact.ipynb",
    headline=headline,
    suppresses_small_cells=True,
    order=10,
    log_kinds=("prediction_log", "interaction_log"),
)
"""The impact section."""
