"""Plotly figures of the root-cause section, drawn from its summary so that figures and tables agree.

- :func:`onset_figure` -- failure rate per chunk with Wilson bars, the reference and incident windows, the
  onset with its credible interval, further change points and the change events;
- :func:`slices_figure` -- the top slices' failure rate with intervals against the window's rate, with
  the share of the excess each holds;
- :func:`decomposition_figure` -- the change in failure rate as a waterfall: reference rate, mix,
  conditional and unseen parts, incident rate;
- :func:`quality_figure` -- data quality per chunk as a heat map (the chunk's value minus the reference's),
  from the data-quality result (per-chunk values are not in the summary).

Every text plotly shows comes from data and is HTML-escaped (plotly reads it as a little HTML).
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

import pandas as pd
import plotly.graph_objects as go

from analysis.data import CHUNK_LENGTHS

if TYPE_CHECKING:
    from analysis.sections.root_cause import RootCauseSummary

__all__ = [
    "decomposition_figure",
    "onset_figure",
    "quality_figure",
    "slice_result_figure",
    "slices_figure",
]

_BLUE, _RED, _GREY, _GREEN = "rgb(31, 119, 180)", "rgb(214, 39, 40)", "rgb(150, 150, 150)", "rgb(44, 160, 44)"


def _e(text: object) -> str:
    return html.escape(str(text), quote=False)


def _empty(title: str, message: str) -> go.Figure:
    figure = go.Figure()
    figure.add_annotation(text=_e(message), showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper")
    figure.update_layout(title=title, xaxis={"visible": False}, yaxis={"visible": False}, height=260)
    return figure


def onset_figure(summary: RootCauseSummary) -> go.Figure:
    """Failure rate per chunk with the onset interval, the windows and the change events."""
    points = pd.DataFrame([point.model_dump() for point in summary.failure_over_time])
    if points.empty:
        return _empty("Failure rate over time", "No decision in the analysed span.")
    length = CHUNK_LENGTHS.get(summary.onset.resolution, CHUNK_LENGTHS["day"])
    chunk = CHUNK_LENGTHS.get(_chunk_of(points), length)
    points["mid"] = pd.to_datetime(points["chunk_start"], utc=True) + chunk / 2
    figure = go.Figure()
    for is_reference, colour, name in (
        (True, _BLUE, "reference window"),
        (False, _RED, "after the reference"),
    ):
        part = points.loc[points["is_reference"] == is_reference]
        if part.empty:
            continue
        figure.add_trace(
            go.Scatter(
                x=part["mid"],
                y=part["rate"],
                mode="markers",
                name=name,
                marker={"color": colour, "size": 6},
                error_y={
                    "type": "data",
                    "symmetric": False,
                    "array": part["high"] - part["rate"],
                    "arrayminus": part["rate"] - part["low"],
                    "color": colour,
                    "thickness": 1,
                },
                customdata=part[["n", "failures"]],
                hovertemplate="%{x}<br>rate %{y:.3f}<br>%{customdata[1]} of %{customdata[0]}<extra></extra>",
            )
        )
    for name, window in summary.windows.items():
        if name == "incident":
            figure.add_vrect(
                x0=window.start,
                x1=window.end,
                fillcolor=_RED,
                opacity=0.06,
                line_width=0,
                annotation_text="incident window",
                annotation_position="top left",
            )
    onset = summary.onset
    if summary.failure.significant and onset.onset and onset.low and onset.high:
        figure.add_vrect(
            x0=onset.low, x1=onset.high, fillcolor="rgb(255, 165, 0)", opacity=0.25, line_width=0
        )
        figure.add_vline(x=onset.onset, line={"color": "rgb(255, 127, 14)", "width": 2})
        figure.add_annotation(
            x=onset.onset,
            y=1.02,
            yref="paper",
            showarrow=False,
            text=_e(f"onset {onset.onset:%Y-%m-%d %H:%M} (95 % interval shaded)"),
        )
    for point in summary.change_points:
        figure.add_vline(x=point, line={"color": _GREY, "width": 1, "dash": "dot"})
    for index, event in enumerate(summary.events):
        figure.add_vline(x=event.at, line={"color": _GREEN, "width": 1, "dash": "dash"})
        figure.add_annotation(
            x=event.at,
            y=0.95 - 0.08 * (index % 4),
            yref="paper",
            showarrow=False,
            xanchor="left",
            font={"size": 10, "color": _GREEN},
            text=_e(f"{event.kind}: {event.description[:60]}"),
        )
    figure.update_layout(
        title=f"Failure rate per {_chunk_of(points)} ({_e(summary.failure.signal[:80])})",
        yaxis_title="failure rate",
        xaxis_title="time (UTC)",
        height=420,
        legend={"orientation": "h"},
    )
    return figure


def _chunk_of(points: pd.DataFrame) -> str:
    starts = pd.to_datetime(points["chunk_start"], utc=True).sort_values()
    if len(starts) < 2:
        return "day"
    step = (starts.diff().dropna()).min()
    return "hour" if step <= pd.Timedelta(hours=1) else "week" if step >= pd.Timedelta(days=7) else "day"


def slices_figure(summary: RootCauseSummary) -> go.Figure:
    """The top slices' failure rate (Wilson interval) against the incident and reference rates."""
    rows = [
        (
            row.description,
            row.n,
            row.excess_share,
            row.error_rate.estimate,
            row.error_rate.low,
            row.error_rate.high,
        )
        for row in summary.slices
    ]
    return _slice_bars(
        rows, summary.failure.incident_rate, summary.failure.reference_rate, summary.slice_note
    )


def slice_result_figure(result: Any) -> go.Figure:
    """The same figure from a :class:`analysis._slices.SliceResult` (the slice explorer's)."""
    frame = result.slices
    rows = [
        (r.description, int(r.n), r.excess_share, r.error_rate, r.error_low, r.error_high)
        for r in frame.itertuples(index=False)
    ]
    reference = result.reference_rate
    return _slice_bars(
        rows, result.error_rate, None if reference != reference else reference, result.limitation
    )


def _slice_bars(
    rows: list[tuple[Any, ...]], incident_rate: float | None, reference_rate: float | None, note: str | None
) -> go.Figure:
    if not rows:
        return _empty("Where failures concentrate", note or "No slice scores above 0.")
    rows = list(reversed(rows))
    labels = [
        f"{_e(description)}<br><sup>n={n:,}; "
        + (f"{share:.0%} of the excess" if share is not None and share == share else "share n/a")
        + "</sup>"
        for description, n, share, *_ in rows
    ]
    rate = [row[3] for row in rows]
    figure = go.Figure(
        go.Bar(
            x=rate,
            y=labels,
            orientation="h",
            marker={"color": _RED},
            name="failure rate in the slice",
            error_x={
                "type": "data",
                "symmetric": False,
                "array": [(high if high is not None else r) - r for (_, _, _, r, _, high) in rows],
                "arrayminus": [r - (low if low is not None else r) for (_, _, _, r, low, _) in rows],
            },
        )
    )
    if incident_rate is not None:
        figure.add_vline(
            x=incident_rate,
            line={"color": _RED, "dash": "dash"},
            annotation_text="incident window",
            annotation_position="top",
        )
    if reference_rate is not None:
        figure.add_vline(
            x=reference_rate,
            line={"color": _BLUE, "dash": "dot"},
            annotation_text="reference",
            annotation_position="bottom",
        )
    figure.update_layout(
        title="Where failures concentrate (top slices, incident window)",
        xaxis_title="failure rate",
        height=120 + 70 * len(rows),
        showlegend=False,
        margin={"l": 260},
    )
    return figure


def decomposition_figure(summary: RootCauseSummary) -> go.Figure:
    """Reference rate, + mix, + conditional, + unseen = incident rate (percentage points)."""
    part = summary.decomposition
    if part is None:
        return _empty("What changed", "No decomposition (no cells to compare; see the limitations).")

    def label(name: str, value: Any) -> str:
        interval = (
            f"<br><sup>95 % {100 * value.low:+.1f} to {100 * value.high:+.1f}</sup>"
            if value.low is not None and value.high is not None
            else ""
        )
        return f"{name}{interval}"

    figure = go.Figure(
        go.Waterfall(
            x=[
                "reference rate",
                label("mix (who came)", part.mix),
                label("conditional (same input)", part.conditional),
                label("unseen (new cells)", part.unseen),
                "incident rate",
            ],
            measure=["absolute", "relative", "relative", "relative", "total"],
            y=[
                100 * part.reference_rate,
                100 * part.mix.estimate,
                100 * part.conditional.estimate,
                100 * part.unseen.estimate,
                0,
            ],
            text=[
                f"{100 * part.reference_rate:.1f} %",
                f"{100 * part.mix.estimate:+.2f}",
                f"{100 * part.conditional.estimate:+.2f}",
                f"{100 * part.unseen.estimate:+.2f}",
                f"{100 * part.incident_rate:.1f} %",
            ],
            textposition="outside",
            connector={"line": {"color": _GREY}},
            increasing={"marker": {"color": _RED}},
            decreasing={"marker": {"color": _BLUE}},
            totals={"marker": {"color": _GREY}},
        )
    )
    keys = ", ".join(_e(key) for key in part.keys)
    figure.update_layout(
        title=f"What changed: the failure-rate change split over {keys}",
        yaxis_title="failure rate (%)",
        height=420,
        showlegend=False,
    )
    return figure


def quality_figure(chunks: pd.DataFrame | None, summary: RootCauseSummary) -> go.Figure:
    """Per chunk and check: the value minus the reference value (rates in points, volume relative)."""
    if chunks is None or chunks.empty:
        return _empty("Data quality per chunk", "No data-quality values per chunk.")
    frame = chunks.copy()
    rates = frame["check"].astype(str).str.endswith("rate")
    frame = frame.loc[rates | (frame["check"] == "volume")]
    if frame.empty:
        return _empty("Data quality per chunk", "No data-quality values per chunk.")
    reference = pd.to_numeric(frame["reference_value"], errors="coerce")
    value = pd.to_numeric(frame["value"], errors="coerce")
    frame["delta"] = (value - reference).where(
        frame["check"] != "volume", (value / reference.where(reference > 0)) - 1
    )
    frame["row"] = frame["column"].fillna("(log)").astype(str) + " · " + frame["check"].astype(str)
    flagged = {f"{finding.column or '(log)'}" for finding in summary.quality}
    order = sorted(frame["row"].unique(), key=lambda row: (row.split(" · ")[0] not in flagged, row))
    table = frame.pivot_table(index="row", columns="chunk_start", values="delta", aggfunc="mean").reindex(
        order
    )
    figure = go.Figure(
        go.Heatmap(
            z=100 * table.to_numpy(),
            x=pd.to_datetime(table.columns, utc=True),
            y=[_e(row) for row in table.index],
            colorscale="RdBu_r",
            zmid=0,
            colorbar={"title": "vs reference<br>(points / %)"},
        )
    )
    figure.update_layout(
        title="Data quality per chunk (difference to the reference window)",
        height=160 + 22 * len(order),
        xaxis_title="time (UTC)",
    )
    return figure
