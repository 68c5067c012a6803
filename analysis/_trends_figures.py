"""Figures of the trend dashboard, drawn from a :class:`~analysis.trends.TrendSummary` only.

Every figure reads the summary the digest and the dashboard's tables read, so a figure never shows a
number the tables do not. Box plots are drawn from precomputed statistics (whiskers at p10 and p90,
not the raw durations): a register of 100k incidents stays a small page.
"""

from __future__ import annotations

import html
import math
from typing import TYPE_CHECKING, Any

import plotly.graph_objects as go

if TYPE_CHECKING:
    from analysis._trends_model import TrendSummary

__all__ = ["TREND_FIGURES", "trend_figures"]

TREND_FIGURES: dict[str, str] = {
    "volume": "Incidents per quarter by severity",
    "burn_up": "Incidents opened and closed (burn-up)",
    "speed": "Time to acknowledge, contain and resolve by severity",
    "sla": "Response SLA met per quarter by severity",
    "recurrence": "Recurring incidents: chains of the same system and root cause",
    "action_ageing": "Open action items by how far past due",
}
"""Figure id -> title: every figure the dashboard promises (the browser test checks each is drawn)."""

_SEVERITY_COLOURS = {
    "SEV-1": "#b2182b",
    "SEV-2": "#ef8a62",
    "SEV-3": "#67a9cf",
    "SEV-4": "#2166ac",
    "not recorded": "#bbbbbb",
}
_LAYOUT: dict[str, Any] = {
    "template": "plotly_white",
    "height": 380,
    "margin": {"l": 60, "r": 20, "t": 50, "b": 50},
    "legend": {"orientation": "h", "y": -0.2},
}


_LABEL_CHARS = 48
"""Longest register text shown on an axis (the whole text is in the hover)."""


def _e(text: object) -> str:
    """Register text for plotly: HTML-escaped, as plotly.js renders a subset of HTML in its labels."""
    return html.escape(str(text), quote=False)


def _colour(severity: str) -> str:
    return _SEVERITY_COLOURS.get(severity, "#888888")


def _empty(figure: go.Figure, text: str) -> go.Figure:
    figure.add_annotation(text=text, showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper")
    figure.update_xaxes(visible=False)
    figure.update_yaxes(visible=False)
    return figure


def _every_period(rows: list[dict[str, Any]]) -> list[str]:
    """Every period from the first to the last one in ``rows`` (empty ones too: a gap is a zero bar)."""
    import pandas as pd

    labels = sorted({row["period"] for row in rows})
    freq = "Q" if "Q" in labels[0] else "M"
    span = pd.period_range(pd.Period(labels[0], freq=freq), pd.Period(labels[-1], freq=freq), freq=freq)
    return [str(period) for period in span]


def volume_figure(summary: TrendSummary) -> go.Figure:
    """Stacked bars: incidents per period by severity (near-misses in a lighter, hatched bar)."""
    figure = go.Figure(layout={**_LAYOUT, "title": TREND_FIGURES["volume"], "barmode": "stack"})
    rows = summary.volume.get("severity", [])
    if not rows:
        return _empty(figure, "No incidents match")
    periods = _every_period(rows)
    for level in sorted({row["value"] for row in rows}):
        mine = {row["period"]: row for row in rows if row["value"] == level}
        figure.add_bar(
            x=periods,
            y=[mine[p]["incidents"] if p in mine else 0 for p in periods],
            name=level,
            marker_color=_colour(level),
        )
        near = [mine[p]["near_misses"] if p in mine else 0 for p in periods]
        if any(near):
            figure.add_bar(
                x=periods,
                y=near,
                name=f"{level} near-miss",
                marker={"color": _colour(level), "opacity": 0.45, "pattern": {"shape": "/"}},
            )
    figure.update_yaxes(title="incidents")
    return figure


def burn_up_figure(summary: TrendSummary) -> go.Figure:
    """Cumulative opened and closed incidents per month, and the open gap between them."""
    figure = go.Figure(layout={**_LAYOUT, "title": TREND_FIGURES["burn_up"]})
    rows = summary.burn_up
    if not rows:
        return _empty(figure, "No incidents match")
    months = [row["period"] for row in rows]
    figure.add_scatter(x=months, y=[r["opened"] for r in rows], name="opened (cumulative)", mode="lines")
    figure.add_scatter(x=months, y=[r["closed"] for r in rows], name="closed (cumulative)", mode="lines")
    figure.add_bar(x=months, y=[r["open"] for r in rows], name="open at month end", marker_color="#cccccc")
    figure.update_yaxes(title="incidents")
    return figure


def speed_figure(summary: TrendSummary) -> go.Figure:
    """Box per severity for acknowledge, contain and resolve (whiskers p10-p90), SLA as a line."""
    figure = go.Figure(
        layout={**_LAYOUT, "title": TREND_FIGURES["speed"] + " (box: quartiles, whiskers p10-p90)"}
    )
    rows = [r for r in summary.speed if r["measure"] in ("acknowledge", "contain", "resolve") and r["n"]]
    rows = [r for r in rows if r["severity"] != "all"]
    if not rows:
        return _empty(figure, "No response times recorded")
    for level in sorted({r["severity"] for r in rows}):
        mine = [r for r in rows if r["severity"] == level]
        figure.add_trace(
            go.Box(
                x=[r["measure"] for r in mine],
                q1=[r["q1_hours"] for r in mine],
                median=[r["median_hours"] for r in mine],
                q3=[r["q3_hours"] for r in mine],
                lowerfence=[r["p10_hours"] for r in mine],
                upperfence=[r["p90_hours"] for r in mine],
                name=level,
                marker_color=_colour(level),
                hovertext=[f"n={r['n']}, not recorded {r['not_recorded']}" for r in mine],
            )
        )
    measures = [m for m in ("acknowledge", "contain", "resolve") if any(r["measure"] == m for r in rows)]
    if "acknowledge" in measures:
        # the response SLA is a target for acknowledging only: a dotted line over that box group; on a
        # log axis a shape takes data values, an annotation the value's log10
        where = measures.index("acknowledge")
        for row in summary.speed:
            if row["measure"] == "acknowledge" and row["sla_hours"] and row["severity"] != "all":
                figure.add_shape(
                    type="line",
                    xref="x",
                    x0=where - 0.5,
                    x1=where + 0.5,
                    y0=row["sla_hours"],
                    y1=row["sla_hours"],
                    line={"color": _colour(row["severity"]), "dash": "dot", "width": 1.5},
                )
                figure.add_annotation(
                    x=where + 0.5,
                    y=math.log10(row["sla_hours"]),
                    text=f"{row['severity']} SLA {row['sla_hours']:g} h",
                    showarrow=False,
                    xanchor="left",
                    font={"size": 10, "color": _colour(row["severity"])},
                )
    figure.update_layout(boxmode="group")
    figure.update_xaxes(categoryorder="array", categoryarray=measures)
    figure.update_yaxes(title="hours (log scale)", type="log")
    return figure


def sla_figure(summary: TrendSummary) -> go.Figure:
    """Share acknowledged within the SLA per quarter and severity (decided incidents only)."""
    figure = go.Figure(layout={**_LAYOUT, "title": TREND_FIGURES["sla"]})
    rows = [r for r in summary.sla["by_period"] if r["rate"] is not None]
    if not rows:
        return _empty(figure, "No decided response SLA")
    for level in sorted({r["severity"] for r in rows}):
        mine = [r for r in rows if r["severity"] == level]
        figure.add_scatter(
            x=[r["period"] for r in mine],
            y=[r["rate"] for r in mine],
            error_y={
                "type": "data",
                "symmetric": False,
                "array": [r["rate_high"] - r["rate"] for r in mine],
                "arrayminus": [r["rate"] - r["rate_low"] for r in mine],
                "thickness": 1,
            },
            mode="lines+markers",
            name=level,
            marker_color=_colour(level),
            hovertext=[f"{r['met']} of {r['met'] + r['breached']} met" for r in mine],
        )
    figure.update_yaxes(title="met within SLA (95 % Wilson)", range=[0, 1.05], tickformat=".0%")
    figure.update_xaxes(categoryorder="array", categoryarray=sorted({r["period"] for r in rows}))
    return figure


def recurrence_figure(summary: TrendSummary) -> go.Figure:
    """One row per recurring chain (longest first), a marker at each incident's time of awareness."""
    figure = go.Figure(layout={**_LAYOUT, "title": TREND_FIGURES["recurrence"]})
    chains = summary.recurrence["chains"][:15]
    if not chains:
        return _empty(figure, "No incident recurred within the horizon")
    for number, chain in enumerate(chains, start=1):
        # register text: escaped (plotly.js reads <a>, <b>, <br>... in labels) and cut short on the axis
        text = chain.get("label", chain["key"])
        short = text if len(text) <= _LABEL_CHARS else text[: _LABEL_CHARS - 1] + "…"
        label = f"{number}. {_e(short)} ({chain['length']})"
        figure.add_scatter(
            x=[chain["first"], chain["last"]],
            y=[label, label],
            mode="lines",
            line={"color": "#999999"},
            showlegend=False,
            hoverinfo="skip",
        )
        figure.add_scatter(
            x=chain["times"],
            y=[label] * len(chain["times"]),
            mode="markers",
            marker={"size": 9},
            name=label,
            showlegend=False,
            hovertext=[f"{_e(text)}<br>{incident}" for incident in chain["ids"]],
            hoverinfo="text+x",
        )
    figure.update_layout(height=max(300, 40 + 28 * len(chains)))
    figure.update_yaxes(autorange="reversed")
    return figure


def action_ageing_figure(summary: TrendSummary) -> go.Figure:
    """Open action items per ageing bucket (how far past their due date)."""
    figure = go.Figure(layout={**_LAYOUT, "title": TREND_FIGURES["action_ageing"]})
    buckets = summary.actions.get("ageing") or {}
    if not summary.actions.get("available") or not any(buckets.values()):
        return _empty(figure, "No open action items")
    names = list(buckets)
    figure.add_bar(
        x=names,
        y=[buckets[name] for name in names],
        marker_color=["#2166ac" if name in ("not due", "no due date") else "#b2182b" for name in names],
    )
    figure.update_yaxes(title="open action items", tickformat=",d", rangemode="tozero")
    return figure


def trend_figures(summary: TrendSummary) -> dict[str, go.Figure]:
    """Every figure of :data:`TREND_FIGURES`, keyed by id."""
    return {
        "volume": volume_figure(summary),
        "burn_up": burn_up_figure(summary),
        "speed": speed_figure(summary),
        "sla": sla_figure(summary),
        "recurrence": recurrence_figure(summary),
        "action_ageing": action_ageing_figure(summary),
    }
