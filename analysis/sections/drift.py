"""The drift section: which features, scores, predictions or labels moved, since when and how much.

Declares :data:`SECTION`, its summary schema (:class:`DriftSummary`) and parameters
(:class:`DriftParameters`); ``notebooks/drift.ipynb`` calls :func:`analysis.investigation.drift_for_card`
and :func:`summarise`. The section contributes one timeline event per onset: every column that drifted
(features, score, prediction, label) and every stale input, at the onset the drift table shows.

Examples
--------
>>> SECTION.key, SECTION.parameter_defaults()
('drift', {'sample_size': 10000, 'random_state': 0})
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field

from analysis.contract import (
    FigureSpec,
    Interval,
    Section,
    SectionParameters,
    SectionSummary,
    TimelineItem,
)
from analysis.data import CHUNK_LENGTHS, Window

if TYPE_CHECKING:
    from analysis.context import InvestigationContext
    from analysis.investigation import CardDrift

__all__ = [
    "DriftColumn",
    "DriftParameters",
    "DriftSummary",
    "SECTION",
    "StaleInput",
    "headline",
    "summarise",
    "timeline_events",
]


class _Part(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)


class DriftColumn(_Part):
    """Drift of one column between the reference and the current window."""

    column: str
    role: Literal["feature", "score", "prediction", "label"] = "feature"
    test: str = Field(description="test that decided, e.g. 'ks', 'wasserstein', 'jensenshannon', 'psi'")
    statistic: float | None = None
    threshold: float | None = None
    p_value: float | None = Field(default=None, ge=0, le=1)
    p_value_bh: float | None = Field(default=None, ge=0, le=1, description="Benjamini-Hochberg adjusted")
    drifted: bool
    psi: float | None = None
    onset: datetime | None = Field(
        default=None, description="first chunk past the normal range that the next chunk confirms"
    )
    confirmed: bool | None = Field(
        default=None,
        description="drifted, and the per-chunk statistic left its normal day-to-day range (so named)",
    )


class StaleInput(_Part):
    """Freshness of one input fed by an upstream job (its as-of time against the decision time)."""

    feature: str
    as_of_column: str
    stale: bool
    onset: datetime | None = Field(default=None, description="first chunk whose lag passed the threshold")
    threshold_hours: float | None = None
    reference_max_lag_hours: float | None = None
    current_max_lag_hours: float | None = None
    reference_repeated_share: float | None = Field(default=None, ge=0, le=1)
    current_repeated_share: float | None = Field(default=None, ge=0, le=1)


class DriftSummary(SectionSummary):
    """``summary.json`` of the drift section.

    Keys the report reads: ``reference_window``, ``current_window``, ``method``, ``n_columns``,
    ``n_drifted``, ``share_drifted``, ``dataset_drift``, ``columns`` (:class:`DriftColumn`),
    ``drifted_features``, ``drift_within_normal_variation``, ``stale_features``, ``stale_inputs``
    (:class:`StaleInput`), ``notes``, ``onset``, ``multivariate_auc``, ``chunk``.
    """

    section: Literal["drift"] = "drift"
    reference_window: Window
    current_window: Window
    chunk: Literal["hour", "day", "week"] = "day"
    method: str = Field(description="how tests were chosen, e.g. 'evidently-compatible defaults'")
    n_columns: int = Field(ge=0)
    n_drifted: int = Field(ge=0)
    share_drifted: float = Field(ge=0, le=1)
    dataset_drift: bool
    columns: list[DriftColumn] = Field(default_factory=list)
    drifted_features: list[str] = Field(default_factory=list, description="drifted feature columns, by onset")
    drift_within_normal_variation: list[str] = Field(
        default_factory=list,
        description="features whose test says drift but whose daily statistic stayed in its normal range",
    )
    stale_features: list[str] = Field(default_factory=list, description="inputs that stopped updating")
    stale_inputs: list[StaleInput] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list, description="what the analysis could not do, and why")
    onset: datetime | None = Field(default=None, description="earliest drift onset among drifted columns")
    multivariate_auc: Interval | None = Field(default=None, description="domain classifier ROC AUC")


class DriftParameters(SectionParameters):
    """Parameters of the drift section (windows, ``as_of`` and the chunk come from the context)."""

    sample_size: int = Field(default=10_000, ge=100, description="rows sampled for the domain classifier")
    random_state: int = Field(default=0, description="seed of every random choice")


def summarise(card_drift: CardDrift, context: InvestigationContext) -> DriftSummary:
    """The section's summary of a data card's drift (validated)."""
    summary = card_drift.to_summary(incident_id=context.incident.id)
    return DriftSummary.model_validate({**summary, "chunk": context.chunk})


def timeline_events(summary: DriftSummary) -> list[TimelineItem]:
    """One event per onset time: the columns that drifted (any role) and the inputs that went stale.

    A column is listed when the drift table names it (its test says drift and, for features, its
    per-chunk statistic left the normal range) at the onset the table shows; the event covers the chunk
    (``until``), so a daily onset is the day, not its midnight.

    Examples
    --------
    >>> from datetime import UTC, datetime
    >>> at = datetime(2025, 9, 18, tzinfo=UTC)
    >>> summary = DriftSummary(incident_id="INC-2025-0001", reference_window={"start": "2025-08-01T00:00Z",
    ...     "end": "2025-08-29T00:00Z"}, current_window={"start": "2025-09-18T00:00Z",
    ...     "end": "2025-09-25T00:00Z"}, method="m", n_columns=2, n_drifted=1, share_drifted=0.5,
    ...     dataset_drift=False, columns=[{"column": "score", "role": "score", "test": "wasserstein",
    ...     "drifted": True, "onset": at}])
    >>> [(item.description, item.until.day) for item in timeline_events(summary)]
    [('Drift onset seen by the analysis: score (score)', 19)]
    """
    named = set(summary.drifted_features)
    by_time: dict[datetime, list[str]] = defaultdict(list)
    for column in summary.columns:
        if column.onset is None or not column.drifted:
            continue
        if column.role == "feature" and column.column not in named:
            continue
        label = column.column if column.role == "feature" else f"{column.column} ({column.role})"
        by_time[column.onset].append(label)
    events = [
        TimelineItem(
            at=at,
            until=at + CHUNK_LENGTHS[summary.chunk].to_pytimedelta(),
            description="Drift onset seen by the analysis: " + ", ".join(names),
            subject=", ".join(names),
        )
        for at, names in by_time.items()
    ]
    for stale in summary.stale_inputs:
        if stale.stale and stale.onset is not None:
            events.append(
                TimelineItem(
                    at=stale.onset,
                    until=stale.onset + CHUNK_LENGTHS[summary.chunk].to_pytimedelta(),
                    description=f"Input {stale.feature} stopped updating (as-of lag past its normal range)",
                    subject=stale.feature,
                )
            )
    return sorted(events, key=lambda item: (item.at, item.description))


def headline(summary: DriftSummary) -> str:
    """One sentence: the drifted features, stale inputs and the earliest onset."""
    named = ", ".join(summary.drifted_features) or "none"
    others = [c.column for c in summary.columns if c.drifted and c.role != "feature"]
    stale = ", ".join(summary.stale_features) or "none"
    onset = summary.onset.isoformat() if summary.onset else "none"
    moved = f"; score/prediction/label drift: {', '.join(others)}" if others else ""
    return f"drifted features {named}{moved}; stale inputs {stale}; onset {onset}"


SECTION = Section(
    key="drift",
    title="Drift findings",
    description="Which features, scores, predictions or labels moved, since when and how much.",
    summary_model=DriftSummary,
    parameters_model=DriftParameters,
    # the report shows the drift per column as its own table; the notebook also writes the drift-table
    # figure (figures/drift_table.json, kept as evidence), which the report does not repeat
    figures=(FigureSpec("drift_over_time", "Drift statistic per chunk with its normal range"),),
    notebook="drift.ipynb",
    headline=headline,
    timeline_events=timeline_events,
    order=20,
)
"""The drift section."""
