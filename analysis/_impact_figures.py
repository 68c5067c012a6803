"""Plotly figures of the impact analysis (aggregates only, nothing loaded from the network).

- :func:`impact_over_time_figure` -- failure rate per time chunk with its interval band, the baseline
  rate, and the reference / incident / recent windows shaded.
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


def impact_over_time_figure(result: ImpactResult, *, title: str | None = None) -> go.Figure:
    """Failure rate per chunk with its Wilson band, the baseline rate, and the windows shaded.

    Parameters
    ----------
    result : ImpactResult
        From :func:`analysis.impact.assess_impact`.
    title : str, optional
        Figure title; a default states the failure signal.

    Returns
    -------
    plotly.graph_objects.Figure
        Traces: interval band (upper, lower), failure rate, failed decisions (bars, right axis), and the
        share of decisions with an observed label when the log has labels.
    """
    frame = result.over_time
    x = frame["chunk_start"].dt.tz_convert("UTC").dt.tz_localize(None)
    figure = go.Figure()
    for trace in _over_time_traces(frame, x, confidence=result.definition["confidence"]):
        figure.add_trace(trace)
    _shade_windows(figure, result)
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
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0},
        margin={"t": 110},
        template="plotly_white",
    )
    return figure


def _over_time_traces(frame: pd.DataFrame, x: pd.Series, *, confidence: float) -> list[go.Scatter | go.Bar]:
    """Interval band (upper, lower), failure rate, failed decisions (bars), label completeness if any."""
    traces: list[go.Scatter | go.Bar] = []
    traces.append(
        go.Scatter(
            x=x,
            y=frame["failure_rate_upper"],
            mode="lines",
            line={"width": 0},
            name="upper bound",
            showlegend=False,
            hoverinfo="skip",
        )
    )
    traces.append(
        go.Scatter(
            x=x,
            y=frame["failure_rate_lower"],
            mode="lines",
            line={"width": 0},
            fill="tonexty",
            fillcolor="rgba(214, 39, 40, 0.2)",
            name=f"{confidence:.0%} interval (Wilson)",
        )
    )
    traces.append(
        go.Scatter(
            x=x,
            y=frame["failure_rate"],
            mode="lines+markers",
            line={"color": "rgb(214, 39, 40)"},
            name="failure rate",
            customdata=np.stack([frame["n_failures"], frame["n_decided"], frame["n_decisions"]], axis=-1),
            hovertemplate="%{x}<br>rate %{y:.2%}<br>%{customdata[0]} failed of %{customdata[1]} decided "
            "(%{customdata[2]} decisions)<extra></extra>",
        )
    )
    traces.append(
        go.Bar(
            x=x,
            y=frame["n_failures"],
            name="failed decisions",
            yaxis="y2",
            opacity=0.25,
            marker={"color": "grey"},
        )
    )
    if frame["label_completeness"].notna().any():
        traces.append(
            go.Scatter(
                x=x,
                y=frame["label_completeness"],
                mode="lines",
                line={"color": "rgb(44, 160, 44)", "dash": "dot"},
                name="labels observed (share of decisions)",
                hovertemplate="%{x}<br>labels observed for %{y:.0%} of decisions<extra></extra>",
            )
        )
    return traces


def _shade_windows(figure: go.Figure, result: ImpactResult) -> None:
    """Shade and name the reference, incident and recent windows on ``figure``."""
    windows = {
        "reference": result.reference.window,
        "incident": result.incident.window,
        "recent": result.recent.window,
    }
    for name, window in windows.items():
        figure.add_vrect(
            x0=pd.Timestamp(window.start).tz_localize(None),
            x1=pd.Timestamp(window.end).tz_localize(None),
            fillcolor=_WINDOW_COLOURS.get(name, _RECENT_COLOUR),
            line_width=0,
            layer="below",
            annotation_text=name,
            annotation_position="top left",
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


def impact_by_group_figure(result: ImpactResult, *, title: str | None = None) -> go.Figure:
    """Failure rate by group (incident window) with Wilson intervals and each group's baseline rate.

    Suppressed groups (fewer than ``min_cell_size`` decisions) are kept as labelled, empty rows.

    Parameters
    ----------
    result : ImpactResult
        From :func:`analysis.impact.assess_impact`.
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
    text, labels = _group_labels(frame, min_cell_size)
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
            },
            text=text,
            textposition="none",
            hovertemplate="%{y}: %{x:.2%}<extra>" + name + "</extra>",
            marker={
                "color": ["lightgrey" if s else colour for s in suppressed],
                "pattern": {"shape": ["/" if s else "" for s in suppressed]},
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


def _group_labels(frame: pd.DataFrame, min_cell_size: int) -> tuple[list[str], list[str]]:
    """Per group: a note (``k of n failed``, suppressed, or nothing decided) and the axis label with it."""
    suppressed = frame["suppressed"].to_numpy(bool)
    text = [
        f"suppressed (n < {min_cell_size})"
        if s
        else f"{int(f)} of {int(d)} failed"
        if not (np.isnan(f) or np.isnan(d)) and d > 0
        else "no decided decisions"
        for s, f, d in zip(suppressed, frame["n_failures"], frame["n_decided"], strict=True)
    ]
    labels = [
        f"{attribute} = {group}<br><sup>{note}</sup>"
        for attribute, group, note in zip(frame["attribute"], frame["group"], text, strict=True)
    ]
    return text, labels
