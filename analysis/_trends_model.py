"""The records of a trend analysis: its filters, its summary (``summary.json``) and its full tables.

Kept apart from :mod:`analysis.trends` (which computes them) so the figures module can name the summary
without importing the analysis that draws on it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from analysis.errors import AnalysisError
from register.schema import as_utc

__all__ = ["TrendError", "TrendFilters", "TrendSummary", "TrendTables"]


class TrendError(AnalysisError, ValueError):
    """The inputs of a trend analysis are unusable (a missing column, an empty period the wrong way round)."""


@dataclass(frozen=True)
class TrendFilters:
    """Which incidents a trend analysis covers (every filter optional; lists match any value).

    ``start``/``end`` bound the time an incident became known (``aware_at``): start inclusive, end
    exclusive.
    """

    start: datetime | None = None
    end: datetime | None = None
    systems: Sequence[str] = ()
    severities: Sequence[str] = ()
    categories: Sequence[str] = ()

    def describe(self) -> str:
        """A one-line description for the dashboard's header ("all incidents" when nothing is set)."""
        parts = []
        if self.start or self.end:
            start = self.start.date().isoformat() if self.start else "the first"
            end = self.end.date().isoformat() if self.end else "now"
            parts.append(f"became known {start} to {end}")
        for name, values in (
            ("system", self.systems),
            ("severity", self.severities),
            ("category", self.categories),
        ):
            if values:
                parts.append(f"{name} {', '.join(values)}")
        return "; ".join(parts) or "all incidents"

    def as_dict(self) -> dict[str, Any]:
        """JSON-able form (for ``summary.json``)."""
        return {
            "start": as_utc(self.start).isoformat() if self.start else None,
            "end": as_utc(self.end).isoformat() if self.end else None,
            "systems": list(self.systems),
            "severities": list(self.severities),
            "categories": list(self.categories),
        }


class TrendSummary(BaseModel):
    """The ``summary.json`` of a trends run: every number the dashboard and the digest show."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: str = Field(default="trends")
    as_of: datetime
    filters: dict[str, Any]
    filters_text: str
    new_since: datetime = Field(description="start of 'what is new' in the digest")
    n_incidents: int = Field(ge=0, description="incidents and near-misses that match the filters")
    n_near_misses: int = Field(ge=0)
    n_open: int = Field(ge=0)
    n_response_not_recorded: int = Field(
        ge=0, description="public/imported records without our response times"
    )
    origins: dict[str, int]
    volume: dict[str, list[dict[str, Any]]]
    burn_up: list[dict[str, Any]]
    speed: list[dict[str, Any]]
    speed_by_quarter: list[dict[str, Any]]
    speed_trends: list[dict[str, Any]]
    sla: dict[str, Any]
    recurrence: dict[str, Any]
    recurrence_by_category: dict[str, Any]
    actions: dict[str, Any]
    postmortems: dict[str, Any]
    regulatory: dict[str, Any]
    new_incidents: list[dict[str, Any]]
    n_new: int = Field(ge=0)
    headlines: list[str]


@dataclass
class TrendTables:
    """Full tables behind the summary's capped lists (for CSV export next to the dashboard)."""

    incidents: pd.DataFrame
    actions: pd.DataFrame | None = None
    extra: dict[str, pd.DataFrame] = field(default_factory=dict)
