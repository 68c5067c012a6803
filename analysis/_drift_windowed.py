"""Drift over time: a statistic per time chunk against frozen reference bins (private).

Re-exported from :mod:`analysis.drift`. The onset of each column is decided by :mod:`analysis.onset`.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from analysis import _drift_engine as eng
from analysis import _drift_stats as st
from analysis._drift_inputs import column_kinds, prepare, utc_timestamp, window_bounds
from analysis._drift_results import ColumnKind, WindowedDriftResult
from analysis.data import CHUNK_LENGTHS, CHUNKS, Chunk
from analysis.errors import EmptyWindowError, InvalidParameterError
from analysis.onset import normal_upper_bound, onset_in_chunks

__all__ = ["windowed_drift"]

CHUNK_COLUMNS = [
    "column",
    "chunk_start",
    "is_reference",
    "complete",
    "n",
    "null_rate",
    "jensenshannon",
    "psi",
    "statistic",
    "p_value_naive",
]


@dataclass(frozen=True)
class _ChunkCounts:
    """One chunk of one window: its start, window, completeness, rows and per-column bin counts."""

    start: pd.Timestamp
    is_reference: bool
    complete: bool
    n_rows: int
    histograms: Mapping[str, tuple[np.ndarray, np.ndarray]]

    def bins(self, column: str) -> np.ndarray:
        """Counts per bin of ``column`` in this chunk's window."""
        reference_bins, current_bins = self.histograms[column]
        return reference_bins if self.is_reference else current_bins


def _is_integer_at_least(value: object, minimum: int) -> bool:
    return not isinstance(value, bool) and isinstance(value, numbers.Integral) and int(value) >= minimum


def _check_parameters(
    chunk: str, statistic: str, min_reference_chunks: object, confirm_chunks: object
) -> None:
    if chunk not in CHUNKS:
        raise InvalidParameterError(f"chunk must be 'hour', 'day' or 'week'. Got {chunk!r} instead.")
    if statistic not in ("jensenshannon", "psi"):
        raise InvalidParameterError(f"statistic must be 'jensenshannon' or 'psi'. Got {statistic!r} instead.")
    if not _is_integer_at_least(min_reference_chunks, 2):
        raise InvalidParameterError(
            "min_reference_chunks must be an integer >= 2 (a standard deviation needs two chunks). "
            f"Got {min_reference_chunks!r} instead."
        )
    if not _is_integer_at_least(confirm_chunks, 1):
        raise InvalidParameterError(
            f"confirm_chunks must be an integer >= 1. Got {confirm_chunks!r} instead."
        )


def _frozen_bins(
    labelled: ir.Table,
    columns: Sequence[str],
    kinds: Mapping[str, ColumnKind],
    *,
    n_bins: int,
    max_categories: int,
) -> tuple[dict[str, np.ndarray], dict[str, list[object]]]:
    """Reference quantile edges of the numeric columns; the most frequent reference categories of the rest."""
    edges: dict[str, np.ndarray] = {}
    categories: dict[str, list[object]] = {}
    numeric_columns = [c for c in columns if kinds[c] == "numeric"]
    if numeric_columns:
        edges.update(eng.reference_quantile_edges(labelled, numeric_columns, n_bins))
    for column in columns:
        if kinds[column] != "numeric":
            ref_only = labelled.filter(~labelled[eng.IS_CURRENT] & eng.valid_expr(labelled, column))
            top = (
                ref_only.group_by(column)
                .aggregate(n=ref_only.count())
                .order_by([ibis.desc("n"), column])
                .limit(max_categories)
                .to_pyarrow()
            )
            categories[column] = top[column].to_pylist()
    return edges, categories


def _chunk_counts(
    per_chunk: Sequence[Mapping[str, Any]],
    edges: Mapping[str, np.ndarray],
    categories: Mapping[str, list[object]],
    *,
    reference_window: object,
    current_window: object,
    chunk: Chunk,
) -> list[_ChunkCounts]:
    """One entry per chunk and window holding rows.

    A chunk that both windows cut (adjacent windows, a boundary inside a day) gives one entry per window;
    a chunk is complete when it lies wholly inside its window.
    """
    ref_start, ref_end = (utc_timestamp(b) for b in window_bounds(reference_window, "reference_window"))
    cur_start, cur_end = (utc_timestamp(b) for b in window_bounds(current_window, "current_window"))
    chunk_length = CHUNK_LENGTHS[chunk]
    entries = []
    for row in per_chunk:
        histograms = eng.unpack_histograms(row, edges, categories)
        start = utc_timestamp(row["__chunk"])
        for is_reference, n_rows, (low, high) in (
            (True, int(row["n_rows_ref"] or 0), (ref_start, ref_end)),
            (False, int(row["n_rows_cur"] or 0), (cur_start, cur_end)),
        ):
            if n_rows > 0:
                complete = bool(start >= low and start + chunk_length <= high)
                entries.append(_ChunkCounts(start, is_reference, complete, n_rows, histograms))
    return entries


def _chunk_statistics(
    entries: Sequence[_ChunkCounts], columns: Sequence[str], statistic: str
) -> pd.DataFrame:
    """One row per (column, chunk): each chunk's bins against the whole reference histogram."""
    rows = []
    for column in columns:
        ref_hist = np.sum([entry.histograms[column][0] for entry in entries if entry.is_reference], axis=0)
        for entry in entries:
            bins = entry.bins(column)
            n = int(bins.sum())
            if n == 0 or ref_hist.sum() == 0:
                js = psi = p_naive = float("nan")
            else:
                js = st.jensenshannon_distance(ref_hist / ref_hist.sum(), bins / n)
                psi = st.psi_from_counts(ref_hist, bins)
                p_naive = st.chisquare_homogeneity(ref_hist, bins)
            rows.append(
                {
                    "column": column,
                    "chunk_start": entry.start,
                    "is_reference": entry.is_reference,
                    "complete": entry.complete,
                    "n": n,
                    "null_rate": (entry.n_rows - n) / entry.n_rows if entry.n_rows else float("nan"),
                    "jensenshannon": js,
                    "psi": psi,
                    "statistic": js if statistic == "jensenshannon" else psi,
                    "p_value_naive": p_naive,
                }
            )
    return pd.DataFrame(rows, columns=CHUNK_COLUMNS)


def _column_thresholds(
    chunks: pd.DataFrame, column: str, *, threshold: float, min_reference_chunks: int, confirm_chunks: int
) -> dict[str, Any]:
    """Thresholds, onset and flag counts of one column (a row of ``WindowedDriftResult.thresholds``).

    The bound that decides the onset is the onset module's normal range of the complete reference chunks
    (:func:`analysis.onset.normal_upper_bound`), the one every onset of the drift analysis is decided by;
    the mean +/- 3 sd of the same chunks is kept as information (``adaptive_lower``/``adaptive_upper``).
    """
    mine = chunks[chunks["column"] == column]
    ref_stats = mine.loc[mine["is_reference"] & mine["complete"], "statistic"].dropna().to_numpy()
    current = mine.loc[~mine["is_reference"]]
    n_reference_chunks = int(ref_stats.size)
    note = None
    normal_upper = normal_upper_bound(ref_stats)
    if n_reference_chunks >= min_reference_chunks and normal_upper is not None:
        mean, sd = float(np.mean(ref_stats)), float(np.std(ref_stats, ddof=1))
        lower, upper = mean - 3 * sd, mean + 3 * sd
        used, threshold_used = normal_upper, "adaptive"
    else:
        lower = upper = float("nan")
        used, threshold_used = threshold, "fixed"
        note = (
            f"only {n_reference_chunks} complete reference chunks (< {min_reference_chunks}): no "
            "adaptive threshold; the fixed threshold is used"
        )
    past_used = current.dropna(subset=["statistic"]).sort_values("chunk_start", kind="stable")
    past_used = past_used[past_used["statistic"] > used]
    onset = onset_in_chunks(current, used, confirm_chunks=confirm_chunks)
    onset_fixed = onset_in_chunks(current, threshold, confirm_chunks=confirm_chunks)
    return {
        "column": column,
        "fixed_threshold": threshold,
        "normal_upper": float("nan") if normal_upper is None else normal_upper,
        "adaptive_lower": lower,
        "adaptive_upper": upper,
        "n_reference_chunks": n_reference_chunks,
        "threshold_used": threshold_used,
        "upper_bound": used,
        "onset": pd.NaT if onset is None else pd.Timestamp(onset),
        "onset_fixed": pd.NaT if onset_fixed is None else pd.Timestamp(onset_fixed),
        "first_past": past_used["chunk_start"].iloc[0] if not past_used.empty else pd.NaT,
        "n_current_chunks": int(current.shape[0]),
        "n_flagged_chunks": int(past_used.shape[0]),
        "n_naive_flags": int((mine["p_value_naive"] < 0.05).sum()),
        "note": note,
    }


def windowed_drift(
    table: ir.Table | pd.DataFrame,
    *,
    columns: Sequence[str],
    time_column: str,
    reference_window: object,
    current_window: object,
    categorical: Sequence[str] | None = None,
    chunk: Chunk = "day",
    n_bins: int = 10,
    statistic: Literal["jensenshannon", "psi"] = "jensenshannon",
    fixed_threshold: float | None = None,
    min_reference_chunks: int = 10,
    max_categories: int = 20,
    memory_limit: str | None = None,
    confirm_chunks: int = 2,
) -> WindowedDriftResult:
    """Drift statistic per time chunk against frozen reference quantile bins, with adaptive thresholds.

    Numeric columns are binned on ``n_bins`` reference quantiles (frozen; open outer bins); categorical
    columns on the ``max_categories`` most frequent reference categories plus one bin for the rest. All
    columns' counts per chunk come from ONE aggregate query. Each chunk (reference and current) is compared
    with the whole reference histogram. Adaptive threshold: the normal range of the statistic over the
    complete reference chunks -- median + 3 * 1.4826 MAD, or their maximum when MAD is 0
    (:func:`analysis.onset.normal_upper_bound`, the rule of every drift onset) -- used when there are at
    least ``min_reference_chunks`` of them (else the fixed threshold is used and the note says so); mean
    +/- 3 sd (ddof=1) of the same chunks is reported beside it, as information. A chunk cut by a window's
    edge (a day that starts at 07:40) holds part of the day's cycle only -- its statistic is not
    comparable, so it is kept in ``chunks`` (``complete=False``) but left out of the thresholds. The onset
    is the first current chunk above the threshold used that the following chunk confirms
    (``confirm_chunks``; a run past the threshold that reaches the last chunk counts, unless that chunk is
    cut by the window's end): over a few dozen reference days a single noisy day crosses now and then, and
    it is not an onset. ``first_past`` keeps the first chunk above the threshold, confirmed or not;
    ``confirm_chunks=1`` makes it the onset.

    Parameters
    ----------
    table : ibis.Table or pandas.DataFrame
        Log table holding both windows.
    columns, time_column, reference_window, current_window, categorical
        As in :func:`analysis.drift.data_drift`.
    chunk : {"hour", "day", "week"}
        Chunk size (``time_column`` truncated to it, UTC).
    n_bins : int
        Reference quantile bins for numeric columns.
    statistic : {"jensenshannon", "psi"}
        Statistic per chunk (both are computed; this one drives thresholds and onset).
    fixed_threshold : float, optional
        Default 0.1 for both statistics.
    min_reference_chunks : int
        Fewest reference chunks for an adaptive threshold (default 10).
    max_categories : int
        Reference categories kept as their own bin.
    memory_limit : str, optional
        DuckDB ``SET memory_limit`` during the computation.
    confirm_chunks : int
        Consecutive chunks past the threshold that make an onset (default 2).

    Returns
    -------
    WindowedDriftResult

    Examples
    --------
    >>> times = pd.date_range("2026-01-01", periods=24 * 20, freq="h", tz="UTC")
    >>> rng = np.random.default_rng(1)
    >>> x = rng.normal(size=times.size)
    >>> x[24 * 17 :] += 2.0
    >>> logs = pd.DataFrame({"ts": times, "x": x})
    >>> result = windowed_drift(
    ...     logs, columns=["x"], time_column="ts",
    ...     reference_window=(times[0], times[24 * 14]),
    ...     current_window=(times[24 * 14], times[-1] + pd.Timedelta("1h")),
    ... )
    >>> result.onset("x").date().isoformat()
    '2026-01-18'
    """
    _check_parameters(chunk, statistic, min_reference_chunks, confirm_chunks)
    threshold = 0.1 if fixed_threshold is None else float(fixed_threshold)
    columns = list(columns)
    labelled, source = prepare(
        table,
        None,
        columns=columns,
        time_column=time_column,
        reference_window=reference_window,
        current_window=current_window,
        keep_time=True,
    )
    kinds = column_kinds(source.schema(), columns, categorical)
    restore = eng.set_duckdb_memory_limit(labelled, memory_limit)
    try:
        edges, categories = _frozen_bins(
            labelled, columns, kinds, n_bins=n_bins, max_categories=max_categories
        )
        chunk_expr = labelled[time_column].truncate(CHUNKS[chunk])
        per_chunk = eng.histogram_counts(labelled, edges, categories, group_by=chunk_expr)
    finally:
        restore()
    if not any(int(row["n_rows_ref"] or 0) for row in per_chunk):
        raise EmptyWindowError("the reference window must hold rows. Got 0 rows; widen the window.")
    entries = _chunk_counts(
        per_chunk,
        edges,
        categories,
        reference_window=reference_window,
        current_window=current_window,
        chunk=chunk,
    )
    chunks = _chunk_statistics(entries, columns, statistic)
    thresholds = pd.DataFrame(
        [
            _column_thresholds(
                chunks,
                column,
                threshold=threshold,
                min_reference_chunks=int(min_reference_chunks),
                confirm_chunks=int(confirm_chunks),
            )
            for column in columns
        ]
    )
    return WindowedDriftResult(
        statistic=statistic,
        chunk=chunk,
        fixed_threshold=threshold,
        min_reference_chunks=min_reference_chunks,
        chunks=chunks,
        thresholds=thresholds,
        bin_edges={column: tuple(float(e) for e in values) for column, values in edges.items()},
        confirm_chunks=confirm_chunks,
    )
