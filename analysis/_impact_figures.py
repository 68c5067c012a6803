"""Plotly figures of the impact analysis (aggregates only, nothing loaded from the network).

- :func:`impact_over_time_figure` -- failure rate per time chunk with its interval band, the baseline
  rate, the reference / incident / recent windows shaded, and the latest chunks whose labels are still
  incomplete marked.
- :func:`impact_by_group_figure` -- failure rate per group of each sensitive attribute with intervals and
  the baseline rate of the group; suppressed groups are drawn as labelled placeholders, never dropped.

Examples
--------
>>> import numpy as np, pandas as pd
>>> from datetime import datetime
>>> from register.schema import ColumnRoles, DataCard, DataSource
>>> from analysis.impact import assess_impact, incident_windows
>>> times = pd.date_range("2026-03-01", "2026-04-10", freq="30min", tz="UTC", inclusive="left")
>>> frame = pd.DataFrame({"ts": times, "id": "x", "p": 1, "y": np.where(times >= "2026-04-01", 0, 1),
...                       "region": np.where(np.arange(len(times)) % 3 == 0, "north", "south")})
>>> card = DataCard(source=DataSource(location="unused"), task="binary_classification",
...                 columns=ColumnRoles(event_time="ts", entity_id="id", prediction="p", label="y",
...                                     sensitive=["region"]))
>>> result = assess_impact(frame, card, incident_windows(datetime(2026, 4, 1), as_of=datetime(2026, 4, 10)))
>>> len(impact_over_time_figure(result).data), len(impact_by_group_figure(result).data)
(5, 2)
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from analysis.stats import Bound, FloatArray, wilson_interval

if TYPE_CHECKING:
    from analysis.impact import ImpactResult

__all__ = ["impact_by_group_figure", "impact_over_time_figure"]

_WINDOW_COLOURS = {"reference": "rgba(31, 119, 180, 0.10)", "incident": "rgba(214, 39, 40, 0.12)"}
_RECENT_COLOUR = "rgba(255, 127, 14, 0.18)"
_INCOMPLETE_COLOUR = "rgba(120, 120, 120, 0.22)"


MIN_CHUNK_DECIDED = 30
"""Fewest decided decisions for a chunk's failure rate to join the line; sparser chunks stand apart."""

_LABEL_ROW_HEIGHT = 0.075
"""Height of one row of window labels, as a share of the plot's height."""
_LABEL_CHAR_WIDTH = 0.016
"""Estimated width of one label character, as a share of the x axis (12 px type on a 540 px plot)."""


def impact_over_time_figure(
    result: ImpactResult, *, title: str | None = None, min_decided: int = MIN_CHUNK_DECIDED
) -> go.Figure:
    """Failure rate per chunk with its Wilson band, the baseline rate, and the windows shaded.

    Each chunk is drawn at its middle, and its hover names the interval it covers and its counts; the
    marker's area grows with the chunk's decided decisions. A chunk with fewer than ``min_decided`` decided
    decisions (a sparse day, whose rate swings between 0 and 100 %) is left out of the line and the band
    and drawn apart, as an open marker with its Wilson interval as an error bar. The windows' names are
    placed in rows so that no two overlap, also when windows are adjacent or short. Each chunk's hover
    gives its label completeness; when the latest chunks' labels are incomplete
    (:attr:`~analysis.impact.ImpactResult.labels_incomplete_from`) they are greyed out and marked
    "labels incomplete from <date>": their rate rests on the labels that came early.

    Parameters
    ----------
    result : ImpactResult
        From :func:`analysis.impact.assess_impact`.
    title : str, optional
        Figure title; a default states the failure signal.
    min_decided : int, default ``MIN_CHUNK_DECIDED``
        Decided decisions a chunk needs for its rate to join the line.

    Returns
    -------
    plotly.graph_objects.Figure
        Traces: interval band (upper, lower), failure rate, failed decisions (bars spanning each chunk,
        right axis), the sparse chunks (only when there are some), and the share of decisions with an
        observed label when the log has labels.
    """
    frame = result.over_time
    start = frame["chunk_start"].dt.tz_convert("UTC").dt.tz_localize(None)
    end = frame["chunk_end"].dt.tz_convert("UTC").dt.tz_localize(None)
    figure = go.Figure()
    traces = _over_time_traces(
        frame, start, end, confidence=result.definition["confidence"], min_decided=min_decided
    )
    for trace in traces:
        figure.add_trace(trace)
    n_label_rows = _shade_windows(figure, result, x_range=(start.min(), end.max()))
    _mark_incomplete_labels(figure, result, x_end=end.max(), y=1 - n_label_rows * _LABEL_ROW_HEIGHT)
    _add_baseline(figure, result.reference.failure_rate)
    figure.update_layout(
        title=title or f"Failure rate over time — {result.definition['signal_description']}",
        xaxis_title="time (UTC)",
        yaxis={"title": "failure rate", "tickformat": ".0%", "rangemode": "tozero"},
        yaxis2={
            "title": "failed decisions",
            "overlaying": "y",
            "side": "right",
            "showgrid": False,
            "tickformat": ",d",
            "rangemode": "tozero",
        },
        # below the plot: with the sparse chunks' entry the legend takes three rows, over the title if on top
        legend={"orientation": "h", "yanchor": "top", "y": -0.18, "x": 0},
        margin={"t": 80, "b": 140},
        template="plotly_white",
    )
    return figure


def _over_time_traces(
    frame: pd.DataFrame, start: pd.Series, end: pd.Series, *, confidence: float, min_decided: int
) -> list[go.Scatter | go.Bar]:
    """Interval band (upper, lower), rate, failed decisions (bars), sparse chunks, label completeness.

    Long because it declares the figure's traces one after the other (plotly keyword lists); no logic is
    repeated.
    """
    middle = start + (end - start) / 2
    n_decided = frame["n_decided"].to_numpy(float)
    dense = n_decided >= min_decided
    sparse = (n_decided > 0) & ~dense
    span = [f"{a:%Y-%m-%d %H:%M} – {b:%Y-%m-%d %H:%M}" for a, b in zip(start, end, strict=True)]
    completeness = [
        "" if np.isnan(share) else f"<br>labels observed for {share:.0%} of decisions"
        for share in frame["label_completeness"].to_numpy(float)
    ]
    customdata = np.stack(
        [
            frame["n_failures"],
            frame["n_decided"],
            frame["n_decisions"],
            np.asarray(span, dtype=object),
            np.asarray(completeness, dtype=object),
        ],
        axis=-1,
    )
    hover = (
        "%{customdata[3]}<br>rate %{y:.2%}<br>%{customdata[0]} failed of %{customdata[1]} decided "
        "(%{customdata[2]} decisions)%{customdata[4]}<extra></extra>"
    )
    rate = frame["failure_rate"].to_numpy(float)
    lower = frame["failure_rate_lower"].to_numpy(float)
    upper = frame["failure_rate_upper"].to_numpy(float)
    largest = max(float(n_decided.max(initial=0.0)), 1.0)
    sizes = 4 + 10 * np.sqrt(n_decided / largest)
    traces: list[go.Scatter | go.Bar] = [
        go.Scatter(
            x=middle,
            y=np.where(dense, upper, np.nan),
            mode="lines",
            line={"width": 0},
            name="upper bound",
            showlegend=False,
            hoverinfo="skip",
        ),
        go.Scatter(
            x=middle,
            y=np.where(dense, lower, np.nan),
            mode="lines",
            line={"width": 0},
            fill="tonexty",
            fillcolor="rgba(214, 39, 40, 0.2)",
            name=f"{confidence:.0%} interval (Wilson)",
        ),
        go.Scatter(
            x=middle,
            y=np.where(dense, rate, np.nan),
            mode="lines+markers",
            line={"color": "rgb(214, 39, 40)"},
            marker={"size": sizes, "sizemode": "diameter"},
            name="failure rate (marker area: decided decisions)",
            customdata=customdata,
            hovertemplate=hover,
        ),
        go.Bar(
            x=middle,
            y=frame["n_failures"],
            width=[(b - a).total_seconds() * 1000 for a, b in zip(start, end, strict=True)],
            name="failed decisions",
            yaxis="y2",
            opacity=0.25,
            marker={"color": "grey"},
            customdata=customdata,
            hovertemplate="%{customdata[3]}<br>%{y} failed decisions<extra></extra>",
        ),
    ]
    if sparse.any():
        traces.append(
            go.Scatter(
                x=middle[sparse],
                y=rate[sparse],
                mode="markers",
                marker={"symbol": "circle-open", "size": sizes[sparse], "color": "rgb(214, 39, 40)"},
                error_y={
                    "type": "data",
                    "array": (upper - rate)[sparse],
                    "arrayminus": (rate - lower)[sparse],
                    "color": "rgba(214, 39, 40, 0.5)",
                },
                name=f"chunks with < {min_decided} decided: rate and {confidence:.0%} interval",
                customdata=customdata[sparse],
                hovertemplate=hover,
            )
        )
    if frame["label_completeness"].notna().any():
        traces.append(
            go.Scatter(
                x=middle,
                y=frame["label_completeness"],
                mode="lines",
                line={"color": "rgb(44, 160, 44)", "dash": "dot"},
                name="labels observed (share of decisions)",
                customdata=customdata,
                hovertemplate="%{customdata[3]}<br>labels observed for %{y:.0%} of decisions<extra></extra>",
            )
        )
    return traces


def _shade_windows(
    figure: go.Figure, result: ImpactResult, *, x_range: tuple[pd.Timestamp, pd.Timestamp]
) -> int:
    """Shade the reference, incident and recent windows on ``figure``, name them without overlap.

    A window's name sits at its start, in the first row (from the top) where it does not run into a name
    already placed; a name's width is estimated from its length (``_LABEL_CHAR_WIDTH`` of the x axis per
    character, generous for a plot 540 px wide or more). Returns the rows of names used.
    """
    windows = {
        "reference": result.reference.window,
        "incident": result.incident.window,
        "recent": result.recent.window,
    }
    low, high = (pd.Timestamp(value) for value in x_range)
    for window in windows.values():
        low = min(low, pd.Timestamp(window.start).tz_localize(None))
        high = max(high, pd.Timestamp(window.end).tz_localize(None))
    width = max((high - low).total_seconds(), 1.0)
    row_ends: list[float] = []
    for name, window in sorted(windows.items(), key=lambda item: pd.Timestamp(item[1].start)):
        x0 = pd.Timestamp(window.start).tz_localize(None)
        figure.add_vrect(
            x0=x0,
            x1=pd.Timestamp(window.end).tz_localize(None),
            fillcolor=_WINDOW_COLOURS.get(name, _RECENT_COLOUR),
            line_width=0,
            layer="below",
        )
        left = (x0 - low).total_seconds() / width
        right = left + _LABEL_CHAR_WIDTH * (len(name) + 1)
        row = next((k for k, row_end in enumerate(row_ends) if row_end <= left), len(row_ends))
        if row == len(row_ends):
            row_ends.append(right)
        row_ends[row] = right
        figure.add_annotation(
            x=x0,
            y=1 - row * _LABEL_ROW_HEIGHT,
            xref="x",
            yref="paper",
            xanchor="left",
            yanchor="top",
            text=name,
            showarrow=False,
            name="window label",
        )
    return len(row_ends)


def _mark_incomplete_labels(
    figure: go.Figure, result: ImpactResult, *, x_end: pd.Timestamp, y: float
) -> None:
    """Grey out the latest chunks whose labels are incomplete; their name ends at the plot's right edge.

    ``y`` (share of the plot's height) is the top of the name: below the rows of window names.
    """
    since = result.labels_incomplete_from
    if since is None:
        return
    x0 = pd.Timestamp(since).tz_convert("UTC").tz_localize(None)
    share = result.definition.get("complete_label_share")
    below = f" (< {share:.0%} of decisions labelled)" if share is not None else ""
    figure.add_vrect(  # outlined, dotted: it overlays the windows' shading
        x0=x0,
        x1=x_end,
        fillcolor=_INCOMPLETE_COLOUR,
        line={"color": "rgb(90, 90, 90)", "width": 1, "dash": "dot"},
        layer="below",
        name="labels incomplete",
    )
    figure.add_annotation(
        x=x_end,
        y=y,
        xref="x",
        yref="paper",
        xanchor="right",
        yanchor="top",
        text=f"labels incomplete from {x0:%Y-%m-%d %H:%M}{below}",
        showarrow=False,
        name="labels incomplete",
        bgcolor="rgba(255, 255, 255, 0.7)",
    )


def _add_baseline(figure: go.Figure, baseline: float) -> None:
    """A dashed line at the baseline (reference-window) failure rate, unless it is undefined."""
    if not np.isnan(baseline):
        figure.add_hline(
            y=baseline,
            line_dash="dash",
            line_color="rgb(31, 119, 180)",
            annotation_text=f"baseline {baseline:.2%}",
            annotation_position="bottom right",
        )


def impact_by_group_figure(
    result: ImpactResult,
    *,
    value_labels: Mapping[str, Mapping[str, str]] | None = None,
    title: str | None = None,
) -> go.Figure:
    """Failure rate by group (incident window) with Wilson intervals and each group's baseline rate.

    Suppressed groups (fewer than ``min_cell_size`` decisions) are kept as labelled, empty rows. A coded
    group that ``value_labels`` names is shown as ``label (code)``, as in the report's table.

    Parameters
    ----------
    result : ImpactResult
        From :func:`analysis.impact.assess_impact`.
    value_labels : mapping, optional
        Labels of coded groups, attribute -> code -> label (the data card's ``value_labels``).
    title : str, optional
        Figure title.

    Returns
    -------
    plotly.graph_objects.Figure
        Traces: failure rate per group in the incident window and in the reference window (bars with
        Wilson error bars); suppressed groups drawn hatched and grey, labelled as suppressed.
    """
    frame = result.by_group
    suppressed = frame["suppressed"].to_numpy(bool)
    min_cell_size = result.definition["min_cell_size"]
    confidence = result.definition["confidence"]
    rate = frame["failure_rate"].to_numpy(float)
    text, labels = _group_labels(frame, min_cell_size, value_labels or {})
    reference_decided = np.nan_to_num(frame["reference_n_decided"].to_numpy(float))
    reference_failures = np.nan_to_num(frame["reference_n_failures"].to_numpy(float))
    reference_rate = frame["reference_failure_rate"].to_numpy(float)
    reference_lower, reference_upper = wilson_interval(
        reference_failures, reference_decided, confidence=confidence
    )

    def bars(values: FloatArray, lower: Bound, upper: Bound, name: str, colour: str) -> go.Bar:
        return go.Bar(
            y=labels,
            x=np.where(suppressed, 0.0, np.nan_to_num(values)),
            orientation="h",
            name=name,
            error_x={
                "type": "data",
                "array": np.nan_to_num(np.asarray(upper) - values),
                "arrayminus": np.nan_to_num(values - np.asarray(lower)),
                "color": "#444",
            },
            text=text,
            textposition="none",
            hovertemplate="%{y}: %{x:.2%}<extra>" + name + "</extra>",
            marker={
                "color": ["lightgrey" if s else colour for s in suppressed],
                # "replace": with the template's "overlay" fill mode plotly.js takes the pattern's colour
                # from the marker, an array here, and logs "Invalid color specifier" once per bar
                "pattern": {
                    "shape": ["/" if s else "" for s in suppressed],
                    "fillmode": "replace",
                    "fgcolor": "#555",
                },
            },
        )

    figure = go.Figure()
    figure.add_trace(
        bars(
            rate,
            frame["failure_rate_lower"].to_numpy(float),
            frame["failure_rate_upper"].to_numpy(float),
            "failure rate (incident window)",
            "rgb(214, 39, 40)",
        )
    )
    figure.add_trace(
        bars(
            reference_rate,
            reference_lower,
            reference_upper,
            "baseline rate (reference window)",
            "rgb(31, 119, 180)",
        )
    )
    figure.update_layout(
        title=title or "Failure rate by group",
        xaxis={"title": "failure rate", "tickformat": ".0%", "rangemode": "tozero"},
        yaxis={"autorange": "reversed"},
        barmode="group",
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0},
        margin={"t": 100},
        template="plotly_white",
        height=max(320, 55 * len(labels) + 150),
    )
    return figure


def _group_labels(
    frame: pd.DataFrame, min_cell_size: int, value_labels: Mapping[str, Mapping[str, str]]
) -> tuple[list[str], list[str]]:
    """Per group: a note (``k of n failed``, suppressed, or nothing decided) and the axis label with it.

    The axis label is ``attribute = group``, or ``attribute = label (group)`` when ``value_labels`` names
    the group; codes and labels are HTML-escaped (plotly reads tick text as a little HTML).
    """
    suppressed = frame["suppressed"].to_numpy(bool)
    text = [
        f"suppressed (n < {min_cell_size})"
        if s
        else f"{int(f)} of {int(d)} failed"
        if not (np.isnan(f) or np.isnan(d)) and d > 0
        else "no decided decisions"
        for s, f, d in zip(suppressed, frame["n_failures"], frame["n_decided"], strict=True)
    ]
    labels = []
    for attribute, group, note in zip(frame["attribute"], frame["group"], text, strict=True):
        code = html.escape(str(group), quote=False)
        label = value_labels.get(str(attribute), {}).get(str(group))
        shown = code if label is None else f"{html.escape(label, quote=False)} ({code})"
        labels.append(f"{html.escape(str(attribute), quote=False)} = {shown}<br><sup>{note}</sup>")
    return text, labels
