"""The one rule that decides a drift onset: a robust normal range and a confirmed crossing.

Every onset the drift analysis reports -- a column's onset in the drift summary and timeline, the onset the
drift-over-time figure marks, the windowed drift's onset and an upstream input's staleness onset -- is
decided here, so that a table and a figure never disagree about the day a change began.

- :func:`normal_upper_bound` -- the top of a per-chunk statistic's normal range: the median of the
  reference chunks plus 3 scaled median absolute deviations (``1.4826 * MAD`` estimates the standard
  deviation of normal data), or the largest reference value when the deviation is 0. Unlike mean + 3 sd
  it is not inflated by one unusual reference chunk.
- :func:`confirmed_onset` -- the first chunk past a bound that the next chunk confirms; a run that
  reaches the last chunk counts, unless that chunk is cut by the window's end.
- :func:`column_onset` / :func:`column_onsets` -- per column of a windowed chunks frame (see
  :class:`analysis.drift.WindowedDriftResult`): the bound, whether the shift is sustained, and the onset.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd

__all__ = [
    "CONFIRM_CHUNKS",
    "MAD_SCALE",
    "N_DEVIATIONS",
    "ColumnOnset",
    "column_onset",
    "column_onsets",
    "confirmed_onset",
    "normal_upper_bound",
    "onset_in_chunks",
    "reference_statistics",
    "step_change",
]

#: Scale that turns a median absolute deviation into an estimate of the standard deviation (normal data).
MAD_SCALE = 1.4826
#: Scaled deviations above the reference median where the normal range ends.
N_DEVIATIONS = 3
#: Consecutive chunks past the bound that make an onset (one noisy chunk is not an onset).
CONFIRM_CHUNKS = 2


def normal_upper_bound(reference_values: Iterable[float]) -> float | None:
    """Top of the normal range of a per-chunk statistic: median + 3 * 1.4826 * MAD, or the max if MAD is 0.

    Parameters
    ----------
    reference_values : iterable of float
        The statistic of the reference chunks (NaN values are ignored).

    Returns
    -------
    float or None
        The bound; None when there is no reference value.

    Examples
    --------
    >>> round(normal_upper_bound([0.10, 0.11, 0.09, 0.10, 0.12, 0.60]), 4)  # one odd day barely moves it
    0.1495
    >>> normal_upper_bound([0.2, 0.2, 0.2, 0.3])  # MAD 0: the largest reference value
    0.3
    >>> normal_upper_bound([float("nan")]) is None
    True
    """
    values = np.asarray(list(reference_values), dtype=float)
    values = values[~np.isnan(values)]
    if values.size == 0:
        return None
    median = float(np.median(values))
    spread = MAD_SCALE * float(np.median(np.abs(values - median)))
    return median + N_DEVIATIONS * spread if spread > 0 else float(values.max())


def confirmed_onset(
    starts: Sequence[object],
    statistics: Sequence[float],
    threshold: float,
    confirm_chunks: int = CONFIRM_CHUNKS,
    *,
    last_complete: bool = True,
) -> pd.Timestamp:
    """First chunk of the first run of ``confirm_chunks`` chunks past ``threshold``; ``NaT`` when none.

    ``starts``/``statistics`` are the current chunks in time order. Chunks without a statistic (NaN: no
    values that day) are skipped, not counted as below the threshold; a run may span such a gap. A run
    that reaches the last chunk counts however short -- the latest data cannot be confirmed yet -- unless
    that chunk is cut by the window's end (``last_complete=False``): part of a day is not comparable.

    Examples
    --------
    >>> days = pd.date_range("2026-01-01", periods=6, freq="D", tz="UTC")
    >>> confirmed_onset(days, [0.0, 0.9, 0.0, 0.9, 0.9, 0.0], 0.5, 2).day
    4
    >>> confirmed_onset(days, [0.0, 0.9, float("nan"), 0.9, 0.0, 0.0], 0.5, 2).day
    2
    >>> confirmed_onset(days, [0.0] * 5 + [0.9], 0.5, 2).day
    6
    >>> confirmed_onset(days, [0.0] * 5 + [0.9], 0.5, 2, last_complete=False)
    NaT
    """
    values = np.asarray(statistics, dtype=float)
    keep = ~np.isnan(values)
    kept_starts = [start for start, kept in zip(starts, keep, strict=True) if kept]
    past = values[keep] > threshold
    run = 0
    for index, is_past in enumerate(past):
        run = run + 1 if is_past else 0
        last = index + 1 == len(past)
        if run and (run >= confirm_chunks or (last and last_complete)):
            return pd.Timestamp(kept_starts[index - run + 1])
    return pd.NaT


def onset_in_chunks(
    chunks: pd.DataFrame,
    bound: float,
    *,
    value: str = "statistic",
    confirm_chunks: int = CONFIRM_CHUNKS,
) -> datetime | None:
    """:func:`confirmed_onset` over the rows of a chunks frame (``chunk_start``, ``value``, ``complete``).

    Rows without a value are dropped first; the rows are put in time order; whether the last chunk is cut
    by the window's end is read from its ``complete`` column (a frame without one counts as complete).

    Examples
    --------
    >>> days = pd.date_range("2026-01-01", periods=4, freq="D", tz="UTC")
    >>> frame = pd.DataFrame({"chunk_start": days, "statistic": [0.1, 0.1, 0.1, 0.9],
    ...                       "complete": [True, True, True, False]})
    >>> onset_in_chunks(frame, 0.5) is None, onset_in_chunks(frame.iloc[:3], 0.05).day
    (True, 1)
    """
    rows = chunks.dropna(subset=[value]).sort_values("chunk_start", kind="stable")
    if rows.empty:
        return None
    last_complete = bool(rows["complete"].iloc[-1]) if "complete" in rows else True
    onset = confirmed_onset(
        pd.to_datetime(rows["chunk_start"], utc=True).to_list(),
        rows[value].astype(float).to_list(),
        bound,
        confirm_chunks,
        last_complete=last_complete,
    )
    return None if pd.isna(onset) else onset.to_pydatetime()


def reference_statistics(chunks: pd.DataFrame, *, value: str = "statistic") -> pd.Series:
    """The statistic of the reference chunks that define the normal range.

    Complete reference chunks only: a chunk cut by a window edge holds part of a cycle, and its statistic
    is not comparable. With no complete reference chunk at all, every reference chunk is used.
    """
    rows = chunks.loc[chunks["is_reference"].astype(bool)]
    if "complete" in rows and rows["complete"].any():
        rows = rows.loc[rows["complete"].astype(bool)]
    return rows[value].dropna().astype(float)


@dataclass(frozen=True)
class ColumnOnset:
    """Normal range, sustained shift and onset of one column's per-chunk statistic.

    ``upper`` is :func:`normal_upper_bound` of the reference chunks (None without reference chunks);
    ``sustained`` whether the median statistic of the current window's chunks lies past it; ``onset`` the
    first current chunk past it that the next one confirms, given only for a sustained shift.
    """

    column: str
    upper: float | None
    sustained: bool
    onset: datetime | None


def column_onset(
    chunks: pd.DataFrame,
    column: str,
    *,
    current_start: datetime | None = None,
    confirm_chunks: int = CONFIRM_CHUNKS,
) -> ColumnOnset:
    """Bound, sustained shift and onset of one column of a windowed chunks frame.

    Parameters
    ----------
    chunks : pandas.DataFrame
        Per-chunk statistics (``column``, ``chunk_start``, ``is_reference``, ``complete``, ``statistic``),
        as :attr:`analysis.drift.WindowedDriftResult.chunks`.
    column : str
        The column.
    current_start : datetime, optional
        Start of the window whose chunks decide whether the shift is sustained (floored to the day); the
        chunks before it (between the reference and that window) still count for the onset, which may
        precede the window. Default: every current chunk.
    confirm_chunks : int
        Consecutive chunks past the bound that make an onset.

    Returns
    -------
    ColumnOnset

    Examples
    --------
    >>> days = pd.date_range("2026-01-01", periods=14, freq="D", tz="UTC")
    >>> statistic = [0.10, 0.12, 0.11, 0.60, 0.10, 0.11, 0.12, 0.10, 0.11, 0.12, 0.30, 0.30, 0.30, 0.31]
    >>> frame = pd.DataFrame({"column": "x", "chunk_start": days, "statistic": statistic,
    ...                       "is_reference": [True] * 8 + [False] * 6, "complete": True})
    >>> result = column_onset(frame, "x")
    >>> round(result.upper, 3), result.sustained, result.onset.day
    (0.154, True, 11)
    """
    mine = chunks.loc[chunks["column"] == column]
    upper = normal_upper_bound(reference_statistics(mine))
    current_rows = mine.loc[~mine["is_reference"].astype(bool)].dropna(subset=["statistic"])
    if upper is None or current_rows.empty:
        return ColumnOnset(column, upper, False, None)
    inside = current_rows
    if current_start is not None:
        starts = pd.to_datetime(current_rows["chunk_start"], utc=True)
        inside = current_rows.loc[starts >= pd.Timestamp(current_start).floor("D")]
        if inside.empty:
            inside = current_rows
    sustained = float(inside["statistic"].median()) > upper
    if not sustained:
        return ColumnOnset(column, upper, False, None)
    return ColumnOnset(
        column, upper, True, onset_in_chunks(current_rows, upper, confirm_chunks=confirm_chunks)
    )


def column_onsets(
    chunks: pd.DataFrame,
    *,
    current_start: datetime | None = None,
    confirm_chunks: int = CONFIRM_CHUNKS,
) -> dict[str, ColumnOnset]:
    """:func:`column_onset` of every column of a windowed chunks frame, in order of appearance."""
    return {
        str(column): column_onset(
            chunks, str(column), current_start=current_start, confirm_chunks=confirm_chunks
        )
        for column in pd.unique(chunks["column"])
    }


def step_change(values: Sequence[float], weights: Sequence[float]) -> int | None:
    """Index of the first chunk after the most likely single step in a weighted series, or ``None``.

    Fits a two-level step (the mean before and the mean from index ``k`` on, each weighted by
    ``weights``, e.g. ``1 / se**2`` of each chunk's estimate) at every split and returns the ``k`` with the
    smallest weighted squared error: the least-squares (Gaussian likelihood) change point, exact over every
    candidate through cumulative sums. Unlike a threshold crossing it uses every chunk on both sides, so a
    step that is small against one chunk's noise is still placed where it happened. NaN values or
    non-positive weights are skipped; fewer than two usable chunks give ``None``.

    Examples
    --------
    >>> step_change([0.0, 0.1, -0.1, 0.0, -0.2, -0.3, -0.2, -0.25], [1.0] * 8)
    4
    >>> step_change([float("nan"), 1.0], [1.0, 1.0]) is None
    True
    """
    x = np.asarray(values, dtype=float)
    w = np.asarray(weights, dtype=float)
    usable = ~np.isnan(x) & ~np.isnan(w) & (w > 0)
    index = np.flatnonzero(usable)
    if index.size < 2:
        return None
    x, w = x[usable], w[usable]
    cw, cwx, cwxx = np.cumsum(w), np.cumsum(w * x), np.cumsum(w * x * x)
    total_w, total_wx, total_wxx = cw[-1], cwx[-1], cwxx[-1]
    left_w, left_wx, left_wxx = cw[:-1], cwx[:-1], cwxx[:-1]
    right_w, right_wx = total_w - left_w, total_wx - left_wx
    right_wxx = total_wxx - left_wxx
    cost = (left_wxx - left_wx**2 / left_w) + (right_wxx - right_wx**2 / right_w)
    return int(index[int(np.argmin(cost)) + 1])
