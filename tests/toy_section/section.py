"""The toy section: rows per window of the prediction log (module + notebook + two templates)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from analysis.contract import FigureSpec, Section, SectionParameters, SectionSummary, TimelineItem

HERE = Path(__file__).resolve().parent


class ToySummary(SectionSummary):
    """``summary.json`` of the toy section."""

    section: str = "toy"
    rows: dict[str, int] = Field(description="decisions per window")
    label: str


class ToyParameters(SectionParameters):
    """The toy's own parameter."""

    label: str = "toy rows"


def headline(summary: ToySummary) -> str:
    """One sentence for the CLI."""
    return f"toy counted {summary.rows.get('incident', 0):,} incident-window rows ({summary.label})"


def timeline_events(summary: ToySummary) -> list[TimelineItem]:
    """One event at the start of the analysis time."""
    if summary.as_of is None:
        return []
    return [TimelineItem(at=summary.as_of, description="Toy section looked at the log", kind="Detection")]


SECTION = Section(
    key="toy",
    title="Toy rows per window",
    description="Counts the decisions of each window (a test section).",
    summary_model=ToySummary,
    parameters_model=ToyParameters,
    figures=(FigureSpec("toy_rows", "Rows per window"),),
    notebook=HERE / "toy.ipynb",
    templates_dir=HERE / "templates",
    headline=headline,
    timeline_events=timeline_events,
    order=90,
)
