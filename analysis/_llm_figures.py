"""Figures of the LLM section, drawn from its summary (counts only: no message content reaches a figure).

Every text taken from the log (entity labels, tool names, versions) is HTML-escaped: plotly renders
annotation and legend text as HTML.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

import pandas as pd
import plotly.graph_objects as go

if TYPE_CHECKING:
    from analysis.sections.llm import LlmSummary

__all__ = ["exposure_figure", "failures_figure", "injection_figure"]

_RED, _BLUE, _ORANGE, _GREY = (
    "rgb(214, 39, 40)",
    "rgb(31, 119, 180)",
    "rgb(255, 165, 0)",
    "rgb(150, 150, 150)",
)


def _e(text: object) -> str:
    return html.escape(str(text), quote=False)


def _empty(title: str, message: str) -> go.Figure:
    figure = go.Figure()
    figure.add_annotation(text=_e(message), showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper")
    figure.update_layout(title=_e(title), xaxis={"visible": False}, yaxis={"visible": False}, height=260)
    return figure


def _incident_band(figure: go.Figure, summary: LlmSummary) -> None:
    window = summary.windows.get("incident")
    if window is not None:
        figure.add_vrect(
            x0=window.start, x1=window.end, fillcolor=_RED, opacity=0.06, line_width=0,
            annotation_text="incident window", annotation_position="top left",
        )  # fmt: skip


def exposure_figure(summary: LlmSummary) -> go.Figure:
    """Answers to users with a finding, per day and entity type (stacked bars), the incident window shaded."""
    title = "Answers showing personal data or secrets, per day"
    if summary.exposure is None:
        return _empty(title, "Not scanned: the log has no message content.")
    if not summary.exposure_by_day:
        return _empty(title, "No answer to a user contained personal data or a secret.")
    frame = pd.DataFrame(summary.exposure_by_day)
    figure = go.Figure()
    for label, part in frame.groupby("label", sort=True):
        figure.add_trace(
            go.Bar(
                x=pd.to_datetime(part["day"], utc=True), y=part["rows"], name=_e(label),
                hovertemplate="%{x|%d %b %Y}<br>%{y} answers<extra>" + _e(label) + "</extra>",
            )
        )  # fmt: skip
    _incident_band(figure, summary)
    figure.update_layout(
        title=title, barmode="stack", yaxis_title="answers (spans)", height=360, legend_title_text="type"
    )
    return figure


def injection_figure(summary: LlmSummary) -> go.Figure:
    """Attempts and successes per day, with the campaign's onset and its credible interval."""
    title = "Prompt-injection attempts and successes, per day"
    injection = summary.injection
    if injection is None:
        return _empty(title, "Not analysed: the log has no user input content.")
    if not injection.by_day or not injection.totals.get("attempts", 0):
        return _empty(title, "No prompt-injection attempt was found.")
    frame = pd.DataFrame(injection.by_day)
    days = pd.to_datetime(frame["day"], utc=True)
    figure = go.Figure()
    figure.add_trace(go.Bar(x=days, y=frame["attempts"], name="attempts", marker_color=_BLUE))
    figure.add_trace(go.Bar(x=days, y=frame["successes"], name="succeeded", marker_color=_RED))
    _incident_band(figure, summary)
    if injection.campaign and injection.onset_low is not None and injection.onset_high is not None:
        figure.add_vrect(
            x0=injection.onset_low, x1=pd.Timestamp(injection.onset_high) + pd.Timedelta(hours=1),
            fillcolor=_ORANGE, opacity=0.35, line_width=0,
            annotation_text="campaign onset (95 %)", annotation_position="top right",
        )  # fmt: skip
    figure.update_layout(title=title, barmode="overlay", yaxis_title="model calls", height=360)
    return figure


def failures_figure(summary: LlmSummary) -> go.Figure:
    """The rate of the top failure finding over time in its slice and elsewhere (from the failure rates)."""
    title = "Failure rate of the top finding over time"
    failures = summary.failures
    if not failures:
        return _empty(title, "Failure rates were not computed.")
    series = failures.get("series") or []
    if not series:
        return _empty(title, "No failure rate rose significantly in the incident window.")
    frame = pd.DataFrame(series)
    figure = go.Figure()
    for name, part in frame.groupby("series", sort=False):
        figure.add_trace(
            go.Scatter(
                x=pd.to_datetime(part["chunk_start"], utc=True), y=part["rate"], mode="lines", name=_e(name),
                hovertemplate="%{x}<br>rate %{y:.3f}<extra>" + _e(name) + "</extra>",
            )
        )  # fmt: skip
    _incident_band(figure, summary)
    top = (failures.get("findings") or [{}])[0]
    if top.get("onset_low") and top.get("onset_high"):
        figure.add_vrect(
            x0=top["onset_low"], x1=top["onset_high"], fillcolor=_ORANGE, opacity=0.35, line_width=0,
            annotation_text="onset (95 %)", annotation_position="top right",
        )  # fmt: skip
    figure.update_layout(
        title=_e(failures.get("figure_title") or title),
        yaxis_title="rate",
        yaxis_tickformat=".0%",
        height=360,
    )
    return figure
