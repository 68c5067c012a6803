"""Plotly figures of the drift analysis (private; re-exported from :mod:`analysis.drift`).

- :func:`drift_table_figure` -- one row per column: name, test, statistic, threshold, verdict, BH q, PSI,
  and a sparkline of the reference vs current distribution on the frozen reference bins.
- :func:`distribution_figure` -- reference vs current shares per frozen bin for one column.
- :func:`drift_over_time_figure` -- the windowed statistic per chunk and column (each chunk drawn over the
  interval it covers, the statistic named on the axis), with the fixed threshold, each column's normal
  range (the bound of :mod:`analysis.onset`) and the onset it decides marked.

Figures hold aggregates only (shares per bin, statistics per chunk), never rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from analysis._drift_results import ColumnDrift, DriftResult, WindowedDriftResult
from analysis.data import CHUNK_LENGTHS
from analysis.errors import InvalidParameterError

if TYPE_CHECKING:
    from analysis.onset import ColumnOnset

__all__ = ["distribution_figure", "drift_over_time_figure", "drift_table_figure"]

REFERENCE_COLOUR = "#7f8c8d"
CURRENT_COLOUR = "#c0392b"
STABLE_COLOUR = "#2c7fb8"


def _short(name: str, limit: int = 24) -> str:
    """A column name that fits the table's first column: long names keep their start and end."""
    if len(name) <= limit:
        return name
    keep = limit - 1
    return f"{name[: keep - keep // 3]}…{name[-(keep // 3) :]}"


def _fmt(value: float | None, digits: int = 3) -> str:
    if value is None:
        return "-"
    if value != 0 and (abs(value) < 10**-digits or abs(value) >= 10**4):
        return f"{value:.2e}"
    return f"{value:.{digits}f}"


def drift_table_figure(result: DriftResult, *, max_columns: int = 40) -> go.Figure:
    """Drift table with a distribution sparkline per column ("nulls %": reference / current).

    Parameters
    ----------
    result : DriftResult
        From :func:`analysis.drift.data_drift`.
    max_columns : int
        Rows shown (drifted columns first, then by statistic).

    Returns
    -------
    plotly.graph_objects.Figure

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from analysis.drift import data_drift
    >>> rng = np.random.default_rng(0)
    >>> ref = pd.DataFrame({"x": rng.normal(size=200)})
    >>> cur = pd.DataFrame({"x": rng.normal(1, size=200)})
    >>> fig = drift_table_figure(data_drift(ref, cur, columns=["x"]))
    >>> [trace.type for trace in fig.data]
    ['table', 'bar', 'bar', 'scatter', 'scatter', 'scatter']
    >>> [trace.name for trace in fig.data[1:] if trace.showlegend]
    ['reference', 'current, drifted', 'current, not drifted']
    """
    entries = sorted(result.columns, key=lambda c: (not c.drifted, c.column))[:max_columns]
    n_rows = max(1, len(entries))
    fig = make_subplots(
        rows=n_rows,
        cols=2,
        column_widths=[0.72, 0.28],
        specs=[[{"type": "table"} if i == 0 else None, {"type": "xy"}] for i in range(n_rows)],
        vertical_spacing=0.0,
        horizontal_spacing=0.01,
    )
    row_height = 34
    fig.add_trace(_table_trace(entries, row_height), row=1, col=1)
    if n_rows > 1:
        # the table spans the first column: stretch its domain over every row
        fig.data[0].domain = {"x": [0.0, 0.72], "y": [0.0, 1.0]}
    _add_sparklines(fig, entries)
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    # each sparkline level with its table row: the table's header takes the first of n_rows + 1 equal rows
    slot = 1 / (n_rows + 1)
    for i in range(1, len(entries) + 1):
        fig.layout["yaxis" if i == 1 else f"yaxis{i}"].domain = [1 - (i + 0.9) * slot, 1 - i * slot]
    fig.update_layout(
        barmode="group",
        bargap=0.05,
        height=row_height * (n_rows + 1) + 80,
        margin={"l": 10, "r": 10, "t": 70, "b": 10},
        title=f"Drift per column: {result.n_drifted} of {result.n_columns} drifted"
        f"{' (dataset drift)' if result.dataset_drift else ''}",
        # above the plot area: a legend over the table would hide its last header
        legend={"orientation": "h", "y": 1.0, "yanchor": "bottom", "x": 1, "xanchor": "right"},
    )
    return fig


def _table_trace(entries: list[ColumnDrift], row_height: int) -> go.Table:
    """The drift table: one row per column, drifted rows shaded."""
    header = ["column", "kind", "test", "statistic", "threshold", "drifted", "BH q", "PSI", "nulls %"]
    cells = [
        [_short(c.column) for c in entries],
        [c.kind for c in entries],
        [c.test or "-" for c in entries],
        [_fmt(c.statistic) for c in entries],
        [_fmt(c.threshold) for c in entries],
        ["yes" if c.drifted else "no" for c in entries],
        [_fmt(c.bh_q) for c in entries],
        [_fmt(c.psi) for c in entries],
        [f"{100 * (c.null_rate_ref or 0):.1f} / {100 * (c.null_rate_cur or 0):.1f}" for c in entries],
    ]
    fill = [["#fdecea" if c.drifted else "white" for c in entries]] * len(header)
    return go.Table(
        # the column name gets the widest column; names longer than it are shortened in the middle
        columnwidth=[2.6, 1.1, 1.5, 1.0, 1.0, 0.8, 0.9, 0.9, 1.5],
        header={"values": header, "height": row_height},
        cells={
            "values": cells,
            "fill_color": fill,
            "height": row_height,
            "align": ["left"] + ["center"] * (len(header) - 1),
        },
    )


def _add_sparklines(fig: go.Figure, entries: list[ColumnDrift]) -> None:
    """Reference and current shares per frozen bin beside each row, and one legend entry per colour."""
    for i, entry in enumerate(entries, start=1):
        labels = list(entry.bin_labels)
        for name, shares, colour in (
            ("reference", entry.reference_shares, REFERENCE_COLOUR),
            ("current", entry.current_shares, CURRENT_COLOUR if entry.drifted else STABLE_COLOUR),
        ):
            fig.add_trace(
                go.Bar(
                    x=labels,
                    y=list(shares),
                    marker_color=colour,
                    showlegend=False,
                    name=name,
                    customdata=[entry.column] * len(labels),
                    hovertemplate=f"%{{customdata}} %{{x}}: %{{y:.3f}}<extra>{name}</extra>",
                ),
                row=i,
                col=2,
            )
    # one legend entry per colour in use (the current bars are red where the column drifted, blue where not)
    for name, colour in (
        ("reference", REFERENCE_COLOUR),
        ("current, drifted", CURRENT_COLOUR),
        ("current, not drifted", STABLE_COLOUR),
    ):
        fig.add_trace(
            go.Scatter(
                x=[None],
                y=[None],
                mode="markers",
                marker={"symbol": "square", "size": 10, "color": colour},
                name=name,
                showlegend=True,
                hoverinfo="skip",
            ),
            row=1,
            col=2,
        )


def distribution_figure(column: ColumnDrift) -> go.Figure:
    """Reference vs current shares on the frozen reference bins of one column.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from analysis.drift import data_drift
    >>> rng = np.random.default_rng(0)
    >>> result = data_drift(pd.DataFrame({"c": rng.choice(list("ab"), 50)}), pd.DataFrame({"c": ["a"] * 50}),
    ...                     columns=["c"])
    >>> [trace.name for trace in distribution_figure(result["c"]).data]
    ['reference', 'current']
    """
    if not column.bin_labels:
        raise InvalidParameterError(
            f"column {column.column!r} has no frozen-bin distribution (it was not tested). "
            "Pick a tested column."
        )
    fig = go.Figure()
    fig.add_bar(
        x=list(column.bin_labels),
        y=list(column.reference_shares),
        name="reference",
        marker_color=REFERENCE_COLOUR,
    )
    fig.add_bar(
        x=list(column.bin_labels),
        y=list(column.current_shares),
        name="current",
        marker_color=CURRENT_COLOUR if column.drifted else STABLE_COLOUR,
    )
    fig.update_layout(
        barmode="group",
        title=f"{column.column}: {column.test} = {_fmt(column.statistic)} "
        f"({'drifted' if column.drifted else 'no drift'}), PSI = {_fmt(column.psi)}",
        xaxis_title="frozen reference bin",
        yaxis_title="share of rows",
    )
    return fig


def _bound_and_onset(
    result: WindowedDriftResult, column: str, onsets: Mapping[str, ColumnOnset] | None
) -> tuple[float | None, pd.Timestamp | None]:
    """The bound to draw and the onset to mark for one column: from ``onsets``, else from the result."""
    if onsets is not None:
        given = onsets.get(column)
        if given is None:
            return None, None
        return given.upper, None if given.onset is None else pd.Timestamp(given.onset)
    row = result.thresholds[result.thresholds["column"] == column].iloc[0]
    bound = row.get("normal_upper") if row.get("threshold_used") == "adaptive" else None
    onset = row["onset"]
    return (
        None if bound is None or pd.isna(bound) else float(bound),
        None if pd.isna(onset) else pd.Timestamp(onset),
    )


STATISTIC_NAMES = {"jensenshannon": "Jensen-Shannon distance", "psi": "PSI"}
"""How the figures name the windowed statistics."""
TEST_NAMES = {
    "ks": "Kolmogorov-Smirnov",
    "chisquare": "chi-square",
    "z": "z-test",
    "wasserstein": "normed Wasserstein distance",
    "jensenshannon": "Jensen-Shannon distance",
    "psi": "PSI",
}
"""How the figures name the per-column tests of the drift table."""


def drift_over_time_figure(
    result: WindowedDriftResult,
    *,
    columns: list[str] | None = None,
    onsets: Mapping[str, ColumnOnset] | None = None,
    table_tests: Mapping[str, str | None] | None = None,
    current_window: tuple[object, object] | None = None,
) -> go.Figure:
    """The windowed statistic per chunk with the fixed threshold, the normal range and the onset per column.

    Each chunk is drawn as the interval it covers: a segment from its start to its end at its value, with a
    marker at its middle whose hover gives the span and the rows. The statistic is the windowed one
    (``result.statistic``, Jensen-Shannon by default, on frozen reference bins): the one every onset is
    decided on. The drift table tests each column over the whole window with its own test (numeric columns
    with the normed Wasserstein distance above 1,000 reference rows); the axis title names the statistic
    drawn and, given ``table_tests``, a caption names the columns whose table test differs.

    Parameters
    ----------
    result : WindowedDriftResult
        From :func:`analysis.drift.windowed_drift`.
    columns : list of str, optional
        Columns shown (default: all).
    onsets : mapping of column to :class:`analysis.onset.ColumnOnset`, optional
        The bound to draw and the onset to mark per column, as a report states them (e.g.
        ``CardDrift.summary_onsets()``): the figure then shows exactly the onsets of the summary. Default:
        the result's own, decided by the same rule (``thresholds``: ``normal_upper`` and ``onset``). The
        onset is marked at the start of its chunk, the time the summary gives.
    table_tests : mapping of column to test name, optional
        The drift table's test per column (``ColumnDrift.test``), named in the hover and the caption.
    current_window : (start, end), optional
        The window shaded as "current window" (e.g. the summary's); default: from the start of the first
        chunk after the reference to the end of the last chunk.

    Returns
    -------
    plotly.graph_objects.Figure

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from analysis.drift import windowed_drift
    >>> times = pd.date_range("2026-01-01", periods=24 * 6, freq="h", tz="UTC")
    >>> logs = pd.DataFrame({"ts": times, "x": np.random.default_rng(0).normal(size=times.size)})
    >>> result = windowed_drift(logs, columns=["x"], time_column="ts", chunk="hour",
    ...     reference_window=(times[0], times[96]), current_window=(times[96], times[-1]))
    >>> fig = drift_over_time_figure(result)
    >>> fig.data[0].name, fig.layout.yaxis.title.text
    ('x', 'Jensen-Shannon distance per hour')
    """
    chosen = columns or list(result.thresholds["column"])
    statistic_name = STATISTIC_NAMES.get(result.statistic, result.statistic)
    length = CHUNK_LENGTHS[result.chunk]
    fig = go.Figure()
    palette = ["#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d", "#666666"]
    for k, column in enumerate(chosen):
        colour = palette[k % len(palette)]
        data = result.chunks[result.chunks["column"] == column]
        test = (table_tests or {}).get(column)
        _add_chunk_traces(fig, data, column, colour, length, statistic_name, test)
        bound, onset = _bound_and_onset(result, column, onsets)
        starts = pd.to_datetime(data["chunk_start"], utc=True)
        if bound is not None and not data.empty:
            fig.add_scatter(
                x=[starts.min(), starts.max() + length],
                y=[bound, bound],
                mode="lines",
                line={"color": colour, "dash": "dot"},
                name=f"{column} normal range (median + 3 MAD)",
                legendgroup=column,
                showlegend=False,
            )
        if onset is not None:
            onset_value = data.loc[(starts == onset) & ~data["is_reference"], "statistic"]
            fig.add_scatter(
                x=[onset],
                y=list(onset_value[:1]),
                mode="markers",
                legendgroup=column,
                marker={"symbol": "x", "size": 12, "color": colour},
                name=f"{column} onset",
                showlegend=False,
                hovertemplate=f"{column} onset: from %{{x}}<extra></extra>",
            )
    fig.add_hline(
        y=result.fixed_threshold,
        line_dash="dash",
        line_color="#333",
        annotation_text=f"fixed threshold {result.fixed_threshold:g}",
    )
    _shade_current(fig, result, length, current_window)
    fig.update_layout(
        title=f"{statistic_name} per {result.chunk} against frozen reference bins (the statistic onsets are "
        "decided on)",
        xaxis_title=f"{result.chunk} (UTC); each chunk drawn over the interval it covers",
        yaxis_title=f"{statistic_name} per {result.chunk}",
    )
    caption = _table_test_caption(chosen, table_tests, result.statistic, statistic_name)
    if caption:
        fig.add_annotation(
            text=caption, xref="paper", yref="paper", x=0, y=1.0, yanchor="bottom", showarrow=False
        )
    return fig


def _add_chunk_traces(
    fig: go.Figure,
    data: pd.DataFrame,
    column: str,
    colour: str,
    length: pd.Timedelta,
    statistic_name: str,
    test: str | None,
) -> None:
    """One column's chunks: a marker at each chunk's middle (hover: span, rows) and its span as a segment."""
    starts = pd.to_datetime(data["chunk_start"], utc=True)
    complete = data["complete"] if "complete" in data else pd.Series(True, index=data.index)
    values = data["statistic"].to_numpy(float)
    spans = [f"{start:%Y-%m-%d %H:%M} – {start + length:%Y-%m-%d %H:%M}" for start in starts]
    notes = ["" if whole else " (part of the chunk: cut by a window edge)" for whole in complete]
    table_note = f"<br>drift table: {TEST_NAMES.get(test, test)} over the whole window" if test else ""
    fig.add_scatter(
        x=starts + length / 2,
        y=values,
        mode="markers",
        name=column,
        # an open marker: a chunk cut by a window's edge (part of a day), left out of the threshold
        marker={
            "symbol": ["circle" if whole else "circle-open" for whole in complete],
            "size": 7,
            "color": colour,
        },
        customdata=np.stack([np.asarray(spans, dtype=object), data["n"].to_numpy(), notes], axis=-1)
        if len(data)
        else None,
        hovertemplate=f"%{{customdata[0]}}: {statistic_name} %{{y:.3g}} (n = %{{customdata[1]}})"
        f"%{{customdata[2]}}{table_note}<extra>%{{fullData.name}}</extra>",
        legendgroup=column,
    )
    segment_x: list[object] = []
    segment_y: list[float | None] = []
    for start, value in zip(starts, values, strict=True):
        segment_x += [start, start + length, None]
        segment_y += [value, value, None]
    fig.add_scatter(
        x=segment_x,
        y=segment_y,
        mode="lines",
        line={"color": colour, "width": 2},
        name=f"{column} chunk spans",
        legendgroup=column,
        showlegend=False,
        hoverinfo="skip",
    )


def _shade_current(
    fig: go.Figure, result: WindowedDriftResult, length: pd.Timedelta, window: tuple[object, object] | None
) -> None:
    """Shade the current window: the one given, else the span of the chunks after the reference."""
    if window is not None:
        start, end = (pd.Timestamp(bound) for bound in window)
    else:
        current = pd.to_datetime(result.chunks.loc[~result.chunks["is_reference"], "chunk_start"], utc=True)
        if current.empty:
            return
        start, end = current.min(), current.max() + length
    fig.add_vrect(
        x0=start,
        x1=end,
        fillcolor="#c0392b",
        opacity=0.06,
        line_width=0,
        annotation_text="current window",
        annotation_position="top left",
    )


def _table_test_caption(
    columns: list[str], table_tests: Mapping[str, str | None] | None, statistic: str, statistic_name: str
) -> str | None:
    """A sentence naming the columns whose drift-table test is not the statistic drawn, or None."""
    if not table_tests:
        return None
    differing: dict[str, list[str]] = {}
    for column in columns:
        test = table_tests.get(column)
        if test and test != statistic:
            differing.setdefault(TEST_NAMES.get(test, test), []).append(column)
    if not differing:
        return None
    parts = "; ".join(f"{', '.join(names)} with the {test}" for test, names in differing.items())
    return (
        f"<sup>The drift table tests {parts} over the whole window; each chunk here shows the "
        f"{statistic_name}.</sup>"
    )
