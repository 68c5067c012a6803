"""Plotly figures of the fairness section, drawn from its summary so that figures and tables agree.

- :func:`fairness_by_group_figure` -- selection rate, TPR and FPR by group of one grouping, reference and
  incident windows side by side, with Wilson intervals; suppressed groups are named, not drawn.
- :func:`fairness_gap_over_time_figure` -- the headline gap per chunk with its band, the normal range's
  edge, the windows (from the summary), the onset and the model version's first day.
- :func:`fairness_intersections_figure` -- selection rate by intersection of two attributes in the incident
  window as a heat map; suppressed cells are grey and say so.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from analysis._fairness_cells import INTERSECTION
from analysis._fairness_stats import METRICS
from analysis.data import CHUNK_LENGTHS

if TYPE_CHECKING:
    from analysis.sections.fairness import FairnessSummary, GroupMetrics

__all__ = ["fairness_by_group_figure", "fairness_gap_over_time_figure", "fairness_intersections_figure"]

_WINDOW_STYLE = {
    "reference": ("rgb(31, 119, 180)", "reference window"),
    "incident": ("rgb(214, 39, 40)", "incident window"),
}
_FIGURE_METRICS = ("selection_rate", "tpr", "fpr")


def _shown_grouping(summary: FairnessSummary, grouping: str | None) -> str:
    if grouping:
        return grouping
    if summary.headline_gap is not None:
        return summary.headline_gap.grouping
    if summary.persistent_gap is not None:
        return summary.persistent_gap.grouping
    return summary.attributes[0]


def _display(row: GroupMetrics) -> str:
    return f"{row.group_label} ({row.group})" if row.group_label else row.group


def fairness_by_group_figure(summary: FairnessSummary, *, grouping: str | None = None) -> go.Figure:
    """Metric by group with intervals, reference and incident windows side by side.

    Parameters
    ----------
    summary : FairnessSummary
        The section's summary.
    grouping : str, optional
        Which grouping to draw (default: the headline gap's, else the first attribute).
    """
    name = _shown_grouping(summary, grouping)
    rows = [row for row in summary.metrics if row.grouping == name]
    metrics = [m for m in _FIGURE_METRICS if m == "selection_rate" or summary.labels_used]
    figure = make_subplots(
        rows=1, cols=len(metrics), subplot_titles=[METRICS[m].title for m in metrics], shared_yaxes=False
    )
    groups = list(dict.fromkeys(_display(row) for row in rows))
    for window, (colour, label) in _WINDOW_STYLE.items():
        part = {_display(row): row for row in rows if row.window == window}
        for column, metric in enumerate(metrics, start=1):
            values, lows, highs, texts = [], [], [], []
            for group in groups:
                row = part.get(group)
                interval = row.metrics.get(metric) if row is not None and not row.suppressed else None
                values.append(interval.estimate if interval else np.nan)
                lows.append(
                    interval.estimate - interval.low if interval and interval.low is not None else np.nan
                )
                highs.append(
                    interval.high - interval.estimate if interval and interval.high is not None else np.nan
                )
                if row is None:
                    texts.append("no decisions")
                elif row.suppressed:
                    texts.append(f"suppressed (fewer than {summary.min_cell_size} decisions)")
                else:
                    texts.append(f"{row.n:,} decisions" if row.n is not None else "")
            figure.add_trace(
                go.Scatter(
                    x=values,
                    y=[f"{g}" for g in groups],
                    mode="markers",
                    marker={
                        "color": colour,
                        "size": 9,
                        "symbol": "circle" if window == "incident" else "diamond",
                    },
                    error_x={"type": "data", "array": highs, "arrayminus": lows, "color": colour},
                    name=label,
                    legendgroup=window,
                    showlegend=column == 1,
                    customdata=texts,
                    hovertemplate="%{y}: %{x:.3f}<br>%{customdata}<extra>" + label + "</extra>",
                ),
                row=1,
                col=column,
            )
    figure.update_layout(
        title=(
            f"Metrics by {name}: reference vs incident window "
            f"({round(100 * summary.confidence)} % Wilson intervals)"
        ),
        template="plotly_white",
        height=max(320, 60 + 34 * len(groups)),
        legend={"orientation": "h", "y": -0.15},
        margin={"l": 160},
    )
    figure.update_yaxes(autorange="reversed")
    return figure


def _window_bands(figure: go.Figure, summary: FairnessSummary) -> None:
    colours = {"reference": "rgba(31, 119, 180, 0.10)", "incident": "rgba(214, 39, 40, 0.10)"}
    for name, window in summary.windows.items():
        if name not in colours:
            continue
        figure.add_vrect(
            x0=pd.Timestamp(window.start).tz_convert(None),
            x1=pd.Timestamp(window.end).tz_convert(None),
            fillcolor=colours[name],
            line_width=0,
            layer="below",
            annotation_text=name,
            annotation_position="top left",
        )


def fairness_gap_over_time_figure(summary: FairnessSummary) -> go.Figure:
    """The headline gap per chunk with its interval, the windows, the onset and the version's first day.

    Each chunk is drawn at its middle and its hover names the span it covers; without a headline gap the
    figure says so in its title (nothing is invented to fill it).
    """
    figure = go.Figure()
    gap = summary.headline_gap
    if gap is None or not summary.gap_over_time:
        figure.update_layout(
            title="No gap opened during the incident: no gap-over-time series to show",
            template="plotly_white",
            height=260,
        )
        return figure
    length = CHUNK_LENGTHS.get(summary.chunk, CHUNK_LENGTHS["day"])
    points = list(summary.gap_over_time)
    while points and points[-1].gap is None:  # no matured label (or no decision) in the latest chunks
        points.pop()
    starts = pd.to_datetime([p.chunk_start for p in points], utc=True).tz_convert(None)
    middle = starts + length / 2
    value = np.array([np.nan if p.gap is None else p.gap for p in points])
    low = np.array([np.nan if p.low is None else p.low for p in points])
    high = np.array([np.nan if p.high is None else p.high for p in points])
    spans = [f"{s:%Y-%m-%d %H:%M} to {s + length:%Y-%m-%d %H:%M}" for s in starts]
    counts = [
        "suppressed (a small cell)"
        if p.suppressed or p.n_group is None
        else f"{p.n_group:,} vs {p.n_reference:,}"
        for p in points
    ]
    title = METRICS[gap.metric].title if gap.metric in METRICS else gap.metric
    figure.add_trace(
        go.Scatter(x=middle, y=high, mode="lines", line={"width": 0}, showlegend=False, hoverinfo="skip")
    )
    figure.add_trace(
        go.Scatter(
            x=middle,
            y=low,
            mode="lines",
            line={"width": 0},
            fill="tonexty",
            fillcolor="rgba(214, 39, 40, 0.2)",
            name=f"{round(100 * summary.confidence)} % interval (Newcombe)",
        )
    )
    figure.add_trace(
        go.Scatter(
            x=middle,
            y=value,
            mode="lines+markers",
            line={"color": "rgb(214, 39, 40)"},
            name=f"{title}: {gap.group} minus {gap.reference_group}",
            customdata=np.column_stack([spans, counts]),
            hovertemplate="%{customdata[0]}<br>gap %{y:.3f}<br>decisions %{customdata[1]}<extra></extra>",
        )
    )
    figure.add_hline(y=0, line_color="grey", line_width=1)
    _window_bands(figure, summary)
    if gap.onset is not None:
        onset = pd.Timestamp(gap.onset).tz_convert(None)
        figure.add_vrect(
            x0=onset,
            x1=onset + length,
            line_width=1,
            line_color="black",
            fillcolor="rgba(0,0,0,0)",
            annotation_text=f"onset {onset:%Y-%m-%d}",
            annotation_position="bottom right",
        )
    if gap.model_version and gap.deployed_at is not None:
        deployed = pd.Timestamp(gap.deployed_at).tz_convert(None)
        figure.add_vline(x=deployed, line_dash="dot", line_color="rgb(44, 160, 44)")
        figure.add_annotation(
            x=deployed,
            y=1,
            yref="paper",
            xanchor="right",
            yanchor="bottom",
            text=f"model {gap.model_version} first seen",
            showarrow=False,
        )
    figure.update_layout(
        title=(
            f"{title} gap over time: {gap.grouping}={gap.group} minus {gap.reference_group} "
            f"(per {summary.chunk})"
        ),
        template="plotly_white",
        height=380,
        yaxis_title="gap (group minus reference)",
        legend={"orientation": "h", "y": -0.2},
    )
    return figure


def fairness_intersections_figure(summary: FairnessSummary, *, grouping: str | None = None) -> go.Figure:
    """Selection rate by the intersection of two attributes (incident window); suppressed cells in grey."""
    intersections = [g for g in summary.groupings if INTERSECTION in g]
    preferred = summary.headline_gap.grouping if summary.headline_gap is not None else None
    if grouping is None:
        grouping = next((g for g in intersections if preferred and preferred in g.split(INTERSECTION)), None)
        grouping = grouping or (intersections[0] if intersections else None)
    figure = go.Figure()
    if grouping is None:
        figure.update_layout(
            title="No intersection of two attributes was analysed", template="plotly_white", height=240
        )
        return figure
    first, second = grouping.split(INTERSECTION)[:2]
    rows = [row for row in summary.metrics if row.grouping == grouping and row.window == "incident"]
    ys = list(dict.fromkeys(row.group.split(INTERSECTION)[0] for row in rows))
    xs = list(dict.fromkeys(row.group.split(INTERSECTION)[1] for row in rows))
    z = np.full((len(ys), len(xs)), np.nan)
    grey = np.full((len(ys), len(xs)), np.nan)
    text = [["no decisions"] * len(xs) for _ in ys]
    for row in rows:
        a, b = row.group.split(INTERSECTION)[:2]
        i, j = ys.index(a), xs.index(b)
        interval = row.metrics.get("selection_rate")
        if row.suppressed:
            grey[i, j] = 1.0
            text[i][j] = "suppressed"
        elif interval is not None:
            z[i, j] = interval.estimate
            text[i][j] = f"{interval.estimate:.2f} (n={row.n:,})"
    figure.add_trace(
        go.Heatmap(
            z=z,
            x=xs,
            y=ys,
            text=text,
            texttemplate="%{text}",
            colorscale="RdBu",
            zmid=None,
            colorbar={"title": "selection rate"},
            hovertemplate=f"{first}=%{{y}}, {second}=%{{x}}<br>%{{text}}<extra></extra>",
        )
    )
    if not np.isnan(grey).all():
        figure.add_trace(
            go.Heatmap(
                z=grey,
                x=xs,
                y=ys,
                text=text,
                texttemplate="%{text}",
                colorscale=[[0, "lightgrey"], [1, "lightgrey"]],
                showscale=False,
                hoverinfo="skip",
            )
        )
    figure.update_layout(
        title=(
            f"Selection rate by {first} and {second}, incident window "
            f"(grey: fewer than {summary.min_cell_size} decisions)"
        ),
        template="plotly_white",
        height=max(300, 80 + 40 * len(ys)),
        xaxis_title=second,
        yaxis_title=first,
    )
    return figure
