"""Data quality per time chunk: what went wrong with the inputs, since when, how many decisions it touched.

One call, :func:`data_quality`, checks a prediction log against its reference window, chunk by chunk, from the
reference start to the end of the incident window (never past ``as_of``), and lists every problem it finds
as a finding with its onset. The checks and their rules:

- ``null_spike`` -- a feature's NULL rate per chunk past the normal range of the reference chunks
  (:func:`analysis.onset.normal_upper_bound`: median + 3 scaled MADs, or the largest reference value).
- ``out_of_range`` -- numeric features: the share of values outside the reference window's robust range
  ``[q0.1 % - 0.1 w, q99.9 % + 0.1 w]`` (its 0.1 % and 99.9 % quantiles, widened by a tenth of their
  distance ``w`` on each side: not the min/max one extreme row sets, and not the slow creep of a feature
  that grows with time such as an account's age), past the normal range of the same share in the
  reference chunks.
- ``new_category`` -- categorical features: values never seen in the reference window, once they hold at
  least ``min_category_share`` (1 %) of a chunk's rows. ``vanished_category`` -- a reference value with at
  least 1 % of the reference rows and at least 5 expected rows in a chunk that has none of it.
- ``volume_drop`` / ``volume_spike`` -- the number of decisions per chunk against the reference chunks of
  the same cycle position (the same hour of day for hourly chunks; the same day of week for daily chunks
  when the reference holds two weeks or more; otherwise every reference chunk): on the log scale, past
  3 x max(1.4826 MAD of the reference chunks' log ratios, 1 / sqrt(expected)) and at least a 25 % change.
  A chunk with no decision at all counts (an outage), a chunk cut by the window's end does not.
- ``duplicate_ids`` -- decisions whose id repeats (the card's ``request_id``, else entity id + event time),
  counted in the chunk of the latest copy, past the reference chunks' normal range (normally 0).
- ``stale_input`` -- inputs with an as-of time in the card (``input_as_of``): the input freshness check
  (:func:`input_freshness`), the maximum lag of the input behind the event time per chunk.
- ``frozen_input`` -- an input whose value stops changing. Two rules: (1) for inputs with an as-of time,
  the share of decisions repeating the same entity's previous value past the reference chunks' normal
  range; (2) for every numeric feature, a chunk with at most one distinct value where the reference chunks
  had a median of 5 or more.

Every check's onset is the first chunk after the reference window past its threshold that the next chunk
confirms (:func:`analysis.onset.onset_in_chunks`, the rule of every drift onset); the finding's ``last``
is the last chunk of that run. A finding also needs ``min_excess_rows`` (10) decisions over what the
reference rate predicts for the run (volume: the absolute difference from the expected count), so that a
handful of rows in a quiet chunk is not reported as a problem.

Aggregates run in the engine, one per kind: a wide per-chunk aggregate (NULLs, out-of-range values,
distinct values of every feature at once), one aggregate of the categorical features stacked into
(column, value) rows, one of the duplicate ids, one per upstream input for freshness. Divisions happen in
pandas, never in the engine (Spark's ANSI mode raises on a division by zero).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import ibis
import numpy as np
import pandas as pd
import plotly.graph_objects as go
from ibis.expr import types as ir

from analysis.data import (
    CHUNK_LENGTHS,
    CHUNKS,
    Chunk,
    IncidentWindows,
    LogTable,
    Window,
    aligned_windows,
)
from analysis.errors import AnalysisError, InvalidParameterError
from analysis.onset import MAD_SCALE, normal_upper_bound, onset_in_chunks
from register.schema import DataCard, as_utc

__all__ = [
    "CHECKS",
    "DataQualityResult",
    "InputFreshness",
    "data_quality",
    "data_quality_figure",
    "freshness_figure",
    "input_freshness",
]


# --------------------------------------------------------------------------------------------------
# Input freshness: inputs fed by upstream jobs that stop updating
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class InputFreshness:
    """Staleness of one input fed by an upstream job (``ColumnRoles.input_as_of``).

    ``chunks`` has one row per time chunk: ``chunk_start``, ``is_reference``, ``complete`` (the chunk lies
    wholly inside its window), ``n``, ``mean_lag_hours``, ``max_lag_hours`` (event time minus the input's
    as-of time) and ``repeated_share`` (share of decisions whose value equals the same entity's previous
    value). The threshold on the per-chunk maximum lag is adaptive -- the normal range of
    :func:`analysis.onset.normal_upper_bound` over at least ``min_reference_chunks`` reference chunks, never
    below the largest lag seen in the reference -- or, with fewer reference chunks, that largest lag;
    ``onset`` is the first chunk after the reference window past it that the next chunk confirms
    (:func:`analysis.onset.onset_in_chunks`, the rule of every drift onset).
    """

    feature: str
    as_of_column: str
    chunk: str
    chunks: pd.DataFrame
    threshold_hours: float | None
    threshold_kind: Literal["adaptive", "reference_max", "none"]
    onset: datetime | None
    stale: bool
    reference_max_lag_hours: float | None
    current_max_lag_hours: float | None
    reference_repeated_share: float | None
    current_repeated_share: float | None

    def to_summary(self) -> dict[str, Any]:
        """JSON-serialisable summary (no per-chunk rows)."""
        return {
            "feature": self.feature,
            "as_of_column": self.as_of_column,
            "chunk": self.chunk,
            "threshold_hours": _finite(self.threshold_hours),
            "threshold_kind": self.threshold_kind,
            "onset": self.onset.isoformat() if self.onset else None,
            "stale": self.stale,
            "reference_max_lag_hours": _finite(self.reference_max_lag_hours),
            "current_max_lag_hours": _finite(self.current_max_lag_hours),
            "reference_repeated_share": _finite(self.reference_repeated_share),
            "current_repeated_share": _finite(self.current_repeated_share),
        }


def _finite(value: float | None) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def input_freshness(
    log: LogTable | ir.Table,
    card: DataCard,
    *,
    reference: Window,
    current: Window,
    chunk: Chunk = "day",
    min_reference_chunks: int = 10,
) -> list[InputFreshness]:
    """Check every input that has an as-of time in the data card for staleness, per time chunk.

    Aggregates are computed in the engine: per chunk the mean and maximum lag of the input's as-of time
    behind the event time, and the share of decisions repeating the entity's previous value (a frozen
    input repeats itself while its as-of time falls further behind).

    Parameters
    ----------
    log : LogTable or ibis Table
        The prediction log.
    card : DataCard
        Its data card; ``columns.input_as_of`` names the inputs to check.
    reference, current : Window
        The reference window (normal behaviour) and the window to check (e.g. from the reference end to
        ``as_of``).
    chunk : {"hour", "day", "week"}
        Size of the time chunks.
    min_reference_chunks : int
        Reference chunks needed for the adaptive threshold.

    Returns
    -------
    list of InputFreshness
        One per input with an as-of column; empty when the card declares none.

    Examples
    --------
    >>> from datetime import datetime, timedelta
    >>> from register.schema import ColumnRoles, DataCard, DataSource
    >>> card = DataCard(source=DataSource(location="x"), task="regression",
    ...     columns=ColumnRoles(event_time="ts", entity_id="id", features=["stock"],
    ...                         input_as_of={"stock": "stock_as_of"}))
    >>> ts = pd.date_range("2026-01-01", periods=20 * 24, freq="h", tz="UTC")
    >>> lag = [pd.Timedelta(hours=1)] * (15 * 24) + [pd.Timedelta(hours=h) for h in range(1, 5 * 24 + 1)]
    >>> frame = pd.DataFrame({"ts": ts, "id": "p1", "stock": range(len(ts)),
    ...                       "stock_as_of": ts - pd.to_timedelta(lag)})
    >>> result = input_freshness(ibis.memtable(frame), card,
    ...     reference=Window(datetime(2026, 1, 1), datetime(2026, 1, 15), "reference"),
    ...     current=Window(datetime(2026, 1, 15), datetime(2026, 1, 21), "current"))
    >>> result[0].stale, result[0].onset.date().isoformat()
    (True, '2026-01-16')
    """
    if chunk not in CHUNKS:
        raise InvalidParameterError(f"chunk must be one of {sorted(CHUNKS)}. Got {chunk!r} instead.")
    table = log.table if isinstance(log, LogTable) else log
    columns = card.columns
    results: list[InputFreshness] = []
    for feature, as_of_column in columns.input_as_of.items():
        missing = [name for name in (feature, as_of_column) if name not in table.columns]
        if missing:
            raise AnalysisError(
                f"input_as_of of {feature!r} needs columns {missing} that the log does not have. "
                "Fix the data card or the log."
            )
        event_time = table[columns.event_time]
        span = table.filter(Window(reference.start, current.end, "span").contains(event_time))
        event_time = span[columns.event_time]
        previous = (
            span[feature].lag().over(ibis.window(group_by=span[columns.entity_id], order_by=event_time))
        )
        lag_hours = (event_time.epoch_seconds() - span[as_of_column].epoch_seconds()) / 3600.0
        prepared = span.mutate(
            _chunk=event_time.truncate(CHUNKS[chunk]),
            _lag=lag_hours,
            _has_previous=previous.notnull().cast("int64"),
            _repeated=(previous.notnull() & (span[feature] == previous)).cast("int64"),
        )
        per_chunk = (
            prepared.group_by("_chunk")
            .aggregate(
                n=prepared.count(),
                mean_lag_hours=prepared._lag.mean(),
                max_lag_hours=prepared._lag.max(),
                n_with_previous=prepared._has_previous.sum(),
                n_repeated=prepared._repeated.sum(),
            )
            .order_by("_chunk")
            .execute()
        )
        results.append(
            _freshness_verdict(
                feature, as_of_column, per_chunk, reference, current, chunk, min_reference_chunks
            )
        )
    return results


def _freshness_threshold(
    reference_max_lags: pd.Series, min_reference_chunks: int
) -> tuple[float | None, Literal["adaptive", "reference_max", "none"]]:
    """Threshold on the per-chunk maximum lag, and its kind.

    With at least ``min_reference_chunks`` reference chunks, the normal range of the onset module
    (:func:`analysis.onset.normal_upper_bound`), never below the largest lag the reference itself shows: a
    lag the system lived with in normal operation is not evidence of a stale input. With fewer, that
    largest lag; with none, no threshold.
    """
    values = reference_max_lags.dropna().astype(float)
    if values.empty:
        return None, "none"
    reference_max = float(values.max())
    bound = normal_upper_bound(values)
    if len(reference_max_lags) >= min_reference_chunks and bound is not None:
        return max(bound, reference_max), "adaptive"
    return reference_max, "reference_max"


def _freshness_verdict(
    feature: str,
    as_of_column: str,
    per_chunk: pd.DataFrame,
    reference: Window,
    current: Window,
    chunk: str,
    min_reference_chunks: int,
) -> InputFreshness:
    frame = per_chunk.rename(columns={"_chunk": "chunk_start"})
    frame["chunk_start"] = pd.to_datetime(frame["chunk_start"], utc=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        frame["repeated_share"] = np.where(
            frame["n_with_previous"] > 0, frame["n_repeated"] / frame["n_with_previous"], np.nan
        )
    reference_end = pd.Timestamp(reference.end)
    # A chunk belongs to the reference only when it lies wholly inside it.
    chunk_end = frame["chunk_start"] + CHUNK_LENGTHS[chunk]
    frame["is_reference"] = chunk_end <= reference_end
    # A current chunk cut by the window's end holds part of a chunk: alone, it is no onset.
    frame["complete"] = frame["is_reference"] | (chunk_end <= pd.Timestamp(current.end))
    reference_rows = frame.loc[frame["is_reference"]]
    current_rows = frame.loc[frame["chunk_start"] >= reference_end - (chunk_end - frame["chunk_start"])]
    current_rows = current_rows.loc[~current_rows["is_reference"]]
    reference_max = reference_rows["max_lag_hours"].max() if not reference_rows.empty else None
    threshold, kind = _freshness_threshold(reference_rows["max_lag_hours"], min_reference_chunks)
    onset = None
    if threshold is not None:
        onset = onset_in_chunks(current_rows, threshold, value="max_lag_hours")

    def share(rows: pd.DataFrame) -> float | None:
        total = rows["n_with_previous"].sum()
        return float(rows["n_repeated"].sum() / total) if total else None

    return InputFreshness(
        feature=feature,
        as_of_column=as_of_column,
        chunk=chunk,
        chunks=frame,
        threshold_hours=threshold,
        threshold_kind=kind,
        onset=onset,
        stale=onset is not None,
        reference_max_lag_hours=_finite(reference_max) if reference_max is not None else None,
        current_max_lag_hours=_finite(current_rows["max_lag_hours"].max())
        if not current_rows.empty
        else None,
        reference_repeated_share=share(reference_rows),
        current_repeated_share=share(current_rows),
    )


def freshness_figure(freshness: tuple[InputFreshness, ...] | list[InputFreshness]) -> go.Figure:
    """Per-chunk maximum lag of each upstream input, with its threshold and onset."""
    figure = go.Figure()
    for entry in freshness:
        frame = entry.chunks
        figure.add_trace(
            go.Scatter(
                x=frame["chunk_start"],
                y=frame["max_lag_hours"],
                mode="lines+markers",
                name=f"{entry.feature} (max lag, h)",
            )
        )
        if entry.threshold_hours is not None:
            figure.add_hline(
                y=entry.threshold_hours,
                line_dash="dash",
                annotation_text=f"{entry.feature} threshold ({entry.threshold_kind})",
            )
        if entry.onset is not None:
            figure.add_vline(x=entry.onset, line_color="firebrick", line_dash="dot")
    figure.update_layout(
        title="Input freshness: how far each upstream input lags the decision",
        xaxis_title="chunk",
        yaxis_title="hours behind the event time",
        template="plotly_white",
        height=380,
    )
    return figure


# --------------------------------------------------------------------------------------------------
# Data quality per chunk
# --------------------------------------------------------------------------------------------------

CHECKS = (
    "null_spike",
    "out_of_range",
    "new_category",
    "vanished_category",
    "volume_drop",
    "volume_spike",
    "duplicate_ids",
    "stale_input",
    "frozen_input",
)
"""The findings' ``check`` vocabulary."""
ALL_ROWS = "(all rows)"
"""The ``column`` of the volume check."""
DECISION_ID = "(decision id)"
"""The ``column`` of the duplicate-id check."""
RANGE_QUANTILES = (0.001, 0.999)
"""The reference range of a numeric feature: these quantiles of its reference values, widened by
:data:`RANGE_MARGIN` of their distance on each side."""
RANGE_MARGIN = 0.1
MIN_VOLUME_CHANGE = 0.25
"""Smallest relative change in the number of decisions reported as a volume drop or spike."""
MIN_EXPECTED_ROWS = 5
"""Expected rows of a reference category in a chunk for its absence to count as vanished."""
MIN_REFERENCE_DISTINCT = 5
"""Median distinct values per reference chunk above which a constant chunk counts as frozen."""

_FINDING_COLUMNS = [
    "column",
    "check",
    "onset",
    "last",
    "value",
    "reference_value",
    "threshold",
    "rows_affected",
    "chunks",
    "detail",
    "values",
]
_CHUNK_COLUMNS = [
    "chunk_start",
    "column",
    "check",
    "value",
    "reference_value",
    "threshold",
    "rows",
    "n",
    "is_reference",
    "complete",
]


@dataclass(frozen=True)
class DataQualityResult:
    """Data-quality checks per chunk and the problems found (see the module docstring for the rules).

    Attributes
    ----------
    chunks : DataFrame
        Long: ``chunk_start`` (UTC), ``column``, ``check`` (``null_rate``, ``out_of_range_rate``,
        ``distinct_values``, ``new_category_rate``, ``vanished_share``, ``volume``, ``duplicate_rate``,
        ``max_lag_hours``, ``repeated_share``), ``value``, ``reference_value`` (the reference window's value
        or, for the volume, the expected count), ``threshold``, ``rows`` (decisions concerned in the chunk),
        ``n`` (decisions in the chunk), ``is_reference``, ``complete``.
    findings : DataFrame
        One row per problem: ``column``, ``check`` (:data:`CHECKS`), ``onset`` and ``last`` (chunk starts,
        UTC), ``value`` (the statistic over the run), ``reference_value``, ``threshold``,
        ``rows_affected``, ``chunks`` (in the run), ``detail`` (a sentence); ordered by onset. Empty when
        nothing is wrong.
    freshness : tuple of InputFreshness
        The inputs fed by upstream jobs.
    reference, current : Window
        The reference window cut to whole chunks, and the chunks from its end to the incident's end.
    ranges : DataFrame
        ``column``, ``low``, ``high``: the reference range of each numeric feature.
    """

    chunks: pd.DataFrame
    findings: pd.DataFrame
    freshness: tuple[InputFreshness, ...]
    reference: Window
    current: Window
    chunk: str
    features: tuple[str, ...]
    ranges: pd.DataFrame
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def clean(self) -> bool:
        """Whether no check found a problem."""
        return self.findings.empty

    def to_summary(self) -> dict[str, Any]:
        """JSON-serialisable summary: the findings (no per-chunk rows) and the freshness entries."""
        findings = []
        for row in self.findings.to_dict("records"):
            entry = {key: _finite(value) if isinstance(value, float) else value for key, value in row.items()}
            entry["onset"], entry["last"] = row["onset"].isoformat(), row["last"].isoformat()
            entry["rows_affected"], entry["chunks"] = int(row["rows_affected"]), int(row["chunks"])
            findings.append(entry)
        return {
            "reference": self.reference.to_dict(),
            "current": self.current.to_dict(),
            "chunk": self.chunk,
            "features": list(self.features),
            "findings": findings,
            "freshness": [entry.to_summary() for entry in self.freshness],
            "notes": list(self.notes),
        }

    def figures(self) -> dict[str, go.Figure]:
        """The data-quality heat map (``data_quality``) and, with upstream inputs, ``input_freshness``."""
        figures = {"data_quality": data_quality_figure(self)}
        if self.freshness:
            figures["input_freshness"] = freshness_figure(self.freshness)
        return figures


def _feature_kinds(
    table: ir.Table, card: DataCard, features: Sequence[str] | None
) -> tuple[list[str], list[str]]:
    """Numeric and categorical features to check (declared categorical, or not numeric in the log)."""
    chosen = list(card.columns.features if features is None else features)
    missing = [name for name in chosen if name not in table.columns]
    if missing:
        raise AnalysisError(
            f"the log lacks features to check: {missing}. Fix the data card or the features argument."
        )
    schema = table.schema()
    categorical = set(card.columns.categorical_features)
    numeric = [
        n for n in chosen if n not in categorical and schema[n].is_numeric() and not schema[n].is_boolean()
    ]
    return numeric, [n for n in chosen if n not in numeric]


def _chunk_grid(span: Window, chunk: Chunk) -> pd.DatetimeIndex:
    """Every chunk start from the span's start to its end (chunks with no decision included)."""
    length = CHUNK_LENGTHS[chunk]
    count = math.ceil((pd.Timestamp(span.end) - pd.Timestamp(span.start)) / length)
    return pd.DatetimeIndex([pd.Timestamp(span.start) + i * length for i in range(max(count, 0))])


def data_quality(
    table: LogTable | ir.Table,
    card: DataCard,
    windows: IncidentWindows,
    *,
    chunk: Chunk = "day",
    as_of: datetime,
    features: Sequence[str] | None = None,
    min_excess_rows: int = 10,
    min_category_share: float = 0.01,
) -> DataQualityResult:
    """Check the log's inputs per time chunk against the reference window, and list the problems found.

    Parameters
    ----------
    table : LogTable or ibis Table
        The prediction log.
    card : DataCard
        Its data card (features, categorical features, ids, input as-of columns).
    windows : IncidentWindows
        The reference window (normal behaviour) and the incident window; the checks cover the chunks from
        the reference's end to the incident's end, so an onset may precede the recorded occurrence.
    chunk : {"hour", "day", "week"}
        Size of the time chunks.
    as_of : datetime
        Analysis time: no chunk reaches past it.
    features : sequence of str, optional
        Features to check (default: the card's).
    min_excess_rows : int
        Fewest decisions over what the reference predicts for a finding.
    min_category_share : float
        Share of a chunk's rows a new category must reach.

    Returns
    -------
    DataQualityResult

    Examples
    --------
    >>> from register.schema import ColumnRoles, DataSource
    >>> card = DataCard(source=DataSource(location="x"), task="regression",
    ...     columns=ColumnRoles(event_time="ts", entity_id="id", features=["income"]))
    >>> ts = pd.date_range("2026-01-01", periods=30 * 24, freq="h", tz="UTC")
    >>> hole = (ts >= "2026-01-25") & (np.arange(len(ts)) % 2 == 0)  # half the rows NULL from the 25th
    >>> income = np.where(hole, np.nan, 1.0 + np.arange(len(ts)) % 7)
    >>> frame = pd.DataFrame({"ts": ts, "id": [f"e{i}" for i in range(len(ts))], "income": income})
    >>> from analysis.data import incident_windows
    >>> windows = incident_windows(datetime(2026, 1, 25), as_of=datetime(2026, 1, 31),
    ...     reference=Window(datetime(2026, 1, 1), datetime(2026, 1, 22), "reference"))
    >>> result = data_quality(ibis.memtable(frame), card, windows, as_of=datetime(2026, 1, 31))
    >>> found = result.findings[["column", "check", "onset", "rows_affected"]]
    >>> found.to_dict("records")  # doctest: +NORMALIZE_WHITESPACE
    [{'column': 'income', 'check': 'null_spike', 'onset': Timestamp('2026-01-25 00:00:00+0000', tz='UTC'),
      'rows_affected': 72}]
    """
    if chunk not in CHUNKS:
        raise InvalidParameterError(f"chunk must be one of {sorted(CHUNKS)}. Got {chunk!r} instead.")
    log = table.table if isinstance(table, LogTable) else table
    as_of = as_utc(as_of)
    numeric, categorical = _feature_kinds(log, card, features)
    reference, current = aligned_windows(
        windows.reference, windows.incident, chunk, min(as_of, windows.as_of)
    )
    notes: list[str] = []
    if reference.end <= reference.start or current.end <= current.start:
        notes.append("the reference or the current window holds no whole chunk: nothing to compare")
        empty = pd.DataFrame(columns=_CHUNK_COLUMNS)
        return DataQualityResult(
            empty,
            pd.DataFrame(columns=_FINDING_COLUMNS),
            (),
            reference,
            current,
            chunk,
            tuple(numeric + categorical),
            pd.DataFrame(columns=["column", "low", "high"]),
            tuple(notes),
        )
    span = Window(reference.start, current.end, "span")
    event_time = card.columns.event_time
    scoped = log.filter(span.contains(log[event_time]))
    scoped = scoped.mutate(_chunk=scoped[event_time].truncate(CHUNKS[chunk]))
    grid = pd.DataFrame({"chunk_start": _chunk_grid(span, chunk)})
    grid["is_reference"] = grid["chunk_start"] < pd.Timestamp(reference.end)
    grid["complete"] = grid["chunk_start"] + CHUNK_LENGTHS[chunk] <= pd.Timestamp(as_of)

    ranges = _reference_ranges(scoped, numeric, reference, event_time)
    wide = _wide_counts(scoped, numeric, categorical, ranges, grid)
    frames = [
        _volume_rows(wide, chunk, reference),
        _null_rows(wide, numeric + categorical),
        _range_rows(wide, numeric),
        _constant_rows(wide, numeric),
        _category_rows(scoped, categorical, wide, min_category_share),
        _duplicate_rows(scoped, card, wide),
    ]
    freshness: tuple[InputFreshness, ...] = ()
    if card.columns.input_as_of:
        freshness = tuple(input_freshness(log, card, reference=reference, current=current, chunk=chunk))
        frames.append(_freshness_rows(freshness, grid))
    full = pd.concat([f for f in frames if not f.empty], ignore_index=True)
    findings = _findings(full, freshness, min_excess_rows)
    findings = _count_stale_rows(log, card, findings, freshness, current)
    chunks = full.reindex(columns=_CHUNK_COLUMNS)
    return DataQualityResult(
        chunks=chunks.sort_values(["column", "check", "chunk_start"], kind="stable").reset_index(drop=True),
        findings=findings,
        freshness=freshness,
        reference=reference,
        current=current,
        chunk=chunk,
        features=tuple(numeric + categorical),
        ranges=ranges,
        notes=tuple(notes),
    )


# ------------------------------------------------------------------------------------ engine aggregates
def _reference_ranges(
    scoped: ir.Table, numeric: list[str], reference: Window, event_time: str
) -> pd.DataFrame:
    """The robust reference range ``[q0.1 %, q99.9 %]`` of every numeric feature (one aggregate)."""
    if not numeric:
        return pd.DataFrame(columns=["column", "low", "high"])
    rows = scoped.filter(reference.contains(scoped[event_time]))
    metrics: dict[str, ir.Scalar] = {}
    for i, name in enumerate(numeric):
        value = rows[name].cast("float64")
        metrics[f"lo_{i}"] = value.quantile(RANGE_QUANTILES[0])
        metrics[f"hi_{i}"] = value.quantile(RANGE_QUANTILES[1])
    values = rows.aggregate(**metrics).to_pyarrow().to_pylist()[0]
    low = np.array([values[f"lo_{i}"] for i in range(len(numeric))], dtype=float)
    high = np.array([values[f"hi_{i}"] for i in range(len(numeric))], dtype=float)
    margin = RANGE_MARGIN * (high - low)
    return pd.DataFrame({"column": numeric, "low": low - margin, "high": high + margin})


def _wide_counts(
    scoped: ir.Table, numeric: list[str], categorical: list[str], ranges: pd.DataFrame, grid: pd.DataFrame
) -> pd.DataFrame:
    """Per chunk, one aggregate: decisions, NULLs, out-of-range and distinct values of every feature."""
    metrics: dict[str, ir.Scalar] = {"n": scoped.count()}
    for i, name in enumerate(numeric + categorical):
        metrics[f"null_{i}"] = scoped[name].isnull().cast("int64").sum()
    for i, row in enumerate(ranges.itertuples()):
        value = scoped[row.column].cast("float64")
        if not (math.isnan(row.low) or math.isnan(row.high)):
            outside = (value < float(row.low)) | (value > float(row.high))
            metrics[f"oor_{i}"] = outside.fill_null(False).cast("int64").sum()
        metrics[f"distinct_{i}"] = value.nunique()
    counts = scoped.group_by("_chunk").aggregate(**metrics).to_pandas()
    counts["chunk_start"] = pd.to_datetime(counts.pop("_chunk"), utc=True)
    wide = grid.merge(counts, on="chunk_start", how="left")
    value_columns = [c for c in wide.columns if c not in ("chunk_start", "is_reference", "complete")]
    wide[value_columns] = wide[value_columns].apply(pd.to_numeric).fillna(0).astype(float)
    wide.attrs["features"] = numeric + categorical
    wide.attrs["ranges"] = ranges
    return wide


def _long(
    wide: pd.DataFrame, column: str, check: str, value: Any, rows: Any, reference_value: float
) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "chunk_start": wide["chunk_start"],
            "column": column,
            "check": check,
            "value": np.asarray(value, dtype=float),
            "reference_value": reference_value,
            "rows": np.asarray(rows, dtype=float),
            "n": wide["n"].to_numpy(),
            "is_reference": wide["is_reference"].to_numpy(),
            "complete": wide["complete"].to_numpy(),
        }
    )


def _share(rows: Any, n: Any) -> np.ndarray:
    rows, n = np.asarray(rows, dtype=float), np.asarray(n, dtype=float)
    return np.divide(rows, n, out=np.full(rows.shape, np.nan), where=n > 0)


def _pooled(wide: pd.DataFrame, rows: pd.Series) -> float:
    reference = wide["is_reference"] & wide["complete"]
    total = wide.loc[reference, "n"].sum()
    return float(rows[reference].sum() / total) if total else math.nan


def _with_bound(frame: pd.DataFrame) -> pd.DataFrame:
    """The normal range of the reference chunks (complete ones) as the threshold."""
    reference = frame.loc[frame["is_reference"] & frame["complete"], "value"]
    bound = normal_upper_bound(reference)
    frame["threshold"] = math.nan if bound is None else bound
    return frame


def _null_rows(wide: pd.DataFrame, features: list[str]) -> pd.DataFrame:
    parts = []
    for i, name in enumerate(features):
        rows = wide[f"null_{i}"]
        parts.append(
            _with_bound(_long(wide, name, "null_rate", _share(rows, wide["n"]), rows, _pooled(wide, rows)))
        )
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def _range_rows(wide: pd.DataFrame, numeric: list[str]) -> pd.DataFrame:
    parts = []
    for i, name in enumerate(numeric):
        if f"oor_{i}" not in wide:
            continue
        rows = wide[f"oor_{i}"]
        non_null = wide["n"] - wide[f"null_{i}"]
        frame = _long(wide, name, "out_of_range_rate", _share(rows, non_null), rows, _pooled(wide, rows))
        parts.append(_with_bound(frame))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def _constant_rows(wide: pd.DataFrame, numeric: list[str]) -> pd.DataFrame:
    """Distinct values per chunk; threshold 1.5 (at most one distinct value) when the reference had many."""
    parts = []
    reference = wide["is_reference"] & wide["complete"]
    for i, name in enumerate(numeric):
        distinct = wide[f"distinct_{i}"].where(wide["n"] > 0)
        median = float(distinct[reference].median()) if reference.any() else math.nan
        frame = _long(wide, name, "distinct_values", distinct, wide["n"] - wide[f"null_{i}"], median)
        frame["threshold"] = 1.5 if median >= MIN_REFERENCE_DISTINCT else math.nan
        parts.append(frame)
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def _volume_rows(wide: pd.DataFrame, chunk: Chunk, reference: Window) -> pd.DataFrame:
    """Decisions per chunk with the expected count of its cycle position and the log-ratio bound."""
    starts = wide["chunk_start"]
    if chunk == "hour":
        cycle = starts.dt.hour
    elif chunk == "day" and reference.duration >= pd.Timedelta(days=14):
        cycle = starts.dt.day_of_week
    else:
        cycle = pd.Series(0, index=wide.index)
    is_reference = wide["is_reference"] & wide["complete"]
    typical = wide.loc[is_reference].groupby(cycle[is_reference])["n"].median()
    overall = float(wide.loc[is_reference, "n"].median()) if is_reference.any() else math.nan
    expected = cycle.map(typical).astype(float).fillna(overall)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_ratio = np.log(np.maximum(wide["n"].to_numpy(), 0.5) / expected.to_numpy())
    reference_ratios = log_ratio[is_reference.to_numpy()]
    spread = (
        MAD_SCALE * float(np.median(np.abs(reference_ratios - np.median(reference_ratios))))
        if len(reference_ratios)
        else math.nan
    )
    frame = _long(wide, ALL_ROWS, "volume", wide["n"], wide["n"], overall)
    frame["reference_value"] = expected.to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        noise = 1 / np.sqrt(expected.to_numpy())
    frame["threshold"] = np.maximum(3 * np.maximum(spread, noise), math.log(1 + MIN_VOLUME_CHANGE))
    frame["log_ratio"] = log_ratio
    return frame


def _category_rows(
    scoped: ir.Table, categorical: list[str], wide: pd.DataFrame, min_share: float
) -> pd.DataFrame:
    """New and vanished categories per chunk from one aggregate over the stacked categorical columns."""
    if not categorical:
        return pd.DataFrame()
    stacked = scoped.select("_chunk", **{name: scoped[name].cast("string") for name in categorical})
    stacked = stacked.pivot_longer(list(categorical), names_to="column", values_to="value")
    stacked = stacked.filter(stacked.value.notnull())
    counts = stacked.group_by(["_chunk", "column", "value"]).aggregate(count=stacked.count()).to_pandas()
    counts["chunk_start"] = pd.to_datetime(counts.pop("_chunk"), utc=True)
    counts["count"] = pd.to_numeric(counts["count"]).astype(float)
    flags = wide.set_index("chunk_start")
    counts = counts.join(flags[["is_reference", "complete"]], on="chunk_start")
    parts = []
    for name in categorical:
        mine = counts.loc[counts["column"] == name]
        in_reference = mine.loc[mine["is_reference"]]
        reference_counts = in_reference.groupby("value")["count"].sum()
        reference_share = (
            reference_counts / reference_counts.sum() if reference_counts.sum() else reference_counts
        )
        unseen = mine.loc[~mine["value"].isin(reference_counts.index)]
        new_rows = (
            unseen.groupby("chunk_start")["count"].sum().reindex(wide["chunk_start"]).fillna(0).to_numpy()
        )
        frame = _long(wide, name, "new_category_rate", _share(new_rows, wide["n"]), new_rows, 0.0)
        frame["threshold"] = min_share
        frame["detail_values"] = [
            _top_values(unseen.loc[unseen["chunk_start"] == start]) for start in wide["chunk_start"]
        ]
        parts.append(frame)
        parts.append(_vanished_frame(mine, name, reference_share.loc[reference_share >= 0.01], wide))
    return pd.concat(parts, ignore_index=True)


def _vanished_frame(mine: pd.DataFrame, name: str, shares: pd.Series, wide: pd.DataFrame) -> pd.DataFrame:
    """Per chunk the expected rows of reference categories that did not come (>= 5 expected, 0 seen)."""
    present = mine.pivot_table(index="chunk_start", columns="value", values="count", aggfunc="sum")
    present = present.reindex(index=wide["chunk_start"], columns=shares.index).fillna(0)
    expected = wide["n"].to_numpy()[:, None] * shares.to_numpy()[None, :]
    missing = (present.to_numpy() == 0) & (expected >= MIN_EXPECTED_ROWS)
    missing_rows = np.where(missing, expected, 0.0).sum(axis=1)
    frame = _long(wide, name, "vanished_share", _share(missing_rows, wide["n"]), missing_rows, 0.0)
    frame["threshold"] = 0.0
    frame["detail_values"] = [
        {str(value): float(rows) for value, rows in zip(shares.index[row], expected[i][row], strict=True)}
        for i, row in enumerate(missing)
    ]
    return frame


def _top_values(rows: pd.DataFrame) -> dict[str, float]:
    return {str(k): float(v) for k, v in rows.groupby("value")["count"].sum().items()}


def _duplicate_rows(scoped: ir.Table, card: DataCard, wide: pd.DataFrame) -> pd.DataFrame:
    """Decisions whose id repeats: the card's request id, else entity id + event time (one aggregate)."""
    columns = card.columns
    ids = [columns.request_id] if columns.request_id else [columns.entity_id, columns.event_time]
    if any(name not in scoped.columns for name in ids):
        return pd.DataFrame()
    keyed = scoped.filter(ibis.and_(*[scoped[name].notnull() for name in ids]))
    per_id = keyed.group_by(ids).aggregate(copies=keyed.count(), _chunk=keyed._chunk.max())
    repeated = per_id.filter(per_id.copies > 1)
    counts = repeated.group_by("_chunk").aggregate(extra=(repeated.copies - 1).sum()).to_pandas()
    counts["chunk_start"] = pd.to_datetime(counts.pop("_chunk"), utc=True)
    extra = counts.set_index("chunk_start")["extra"].reindex(wide["chunk_start"]).fillna(0).astype(float)
    frame = _long(
        wide,
        DECISION_ID,
        "duplicate_rate",
        _share(extra, wide["n"]),
        extra,
        _pooled(wide, extra.reset_index(drop=True)),
    )
    frame["detail_values"] = [{" + ".join(ids): float(x)} for x in extra]
    return _with_bound(frame)


def _freshness_rows(freshness: tuple[InputFreshness, ...], grid: pd.DataFrame) -> pd.DataFrame:
    parts = []
    for entry in freshness:
        frame = grid.merge(
            entry.chunks.drop(columns=["is_reference", "complete"]), on="chunk_start", how="left"
        )
        lag = pd.DataFrame(
            {
                "chunk_start": frame["chunk_start"],
                "column": entry.feature,
                "check": "max_lag_hours",
                "value": frame["max_lag_hours"].astype(float),
                "reference_value": entry.reference_max_lag_hours,
                "threshold": entry.threshold_hours,
                "rows": frame["n"].astype(float),
                "n": frame["n"].fillna(0).astype(float),
                "is_reference": frame["is_reference"],
                "complete": frame["complete"],
            }
        )
        repeated = lag.assign(
            check="repeated_share",
            value=frame["repeated_share"].astype(float),
            reference_value=entry.reference_repeated_share,
            rows=frame["n_repeated"].astype(float),
            expected_base=frame["n_with_previous"].astype(float),
        )
        parts += [lag, _with_bound(repeated)]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


# ------------------------------------------------------------------------------------------- findings
_FINDING_OF = {
    "null_rate": "null_spike",
    "out_of_range_rate": "out_of_range",
    "new_category_rate": "new_category",
    "vanished_share": "vanished_category",
    "duplicate_rate": "duplicate_ids",
    "max_lag_hours": "stale_input",
    "repeated_share": "frozen_input",
    "distinct_values": "frozen_input",
}


def _statistic(rows: pd.DataFrame, check: str, direction: str) -> tuple[pd.Series, float]:
    """The per-chunk statistic the onset rule reads, and its bound (transformed where the bound varies)."""
    if check == "volume":
        ratio = rows["log_ratio"] / rows["threshold"]
        ratio = ratio.where(rows["complete"].astype(bool))  # part of a chunk: fewer decisions by design
        return (ratio if direction == "spike" else -ratio), 1.0
    if check == "distinct_values":
        return (rows["threshold"] - rows["value"]).where(rows["value"].notna()), 0.0
    return rows["value"], float(rows["threshold"].iloc[0])


def _run(rows: pd.DataFrame, statistic: pd.Series, bound: float, onset: datetime) -> pd.DataFrame:
    """The chunks from the onset while the statistic stays past the bound (chunks without one skipped)."""
    ordered = rows.assign(_stat=statistic).dropna(subset=["_stat"]).sort_values("chunk_start")
    ordered = ordered.loc[ordered["chunk_start"] >= pd.Timestamp(onset)]
    below = (ordered["_stat"] <= bound).to_numpy()
    end = int(np.argmax(below)) if below.any() else len(ordered)
    return ordered.iloc[: max(end, 1)]


def _count_stale_rows(
    log: ir.Table,
    card: DataCard,
    findings: pd.DataFrame,
    freshness: tuple[InputFreshness, ...],
    current: Window,
) -> pd.DataFrame:
    """Rows affected by a stale input: decisions of its run lagging past the threshold (one count each)."""
    stale = findings.index[findings["check"] == "stale_input"]
    by_feature = {entry.feature: entry for entry in freshness}
    for index in stale:
        entry = by_feature[findings.at[index, "column"]]
        start = findings.at[index, "onset"].to_pydatetime()
        end = min(findings.at[index, "last"] + CHUNK_LENGTHS[entry.chunk], pd.Timestamp(current.end))
        time = log[card.columns.event_time]
        rows = log.filter(Window(start, end.to_pydatetime(), "run").contains(time))
        lag = (
            rows[card.columns.event_time].epoch_seconds() - rows[entry.as_of_column].epoch_seconds()
        ) / 3600.0
        count = rows.filter(lag > float(entry.threshold_hours or 0)).count().execute()
        findings.at[index, "rows_affected"] = int(count)
    return findings


def _findings(
    chunks: pd.DataFrame, freshness: tuple[InputFreshness, ...], min_excess_rows: int
) -> pd.DataFrame:
    records = []
    for (column, check), rows in chunks.groupby(["column", "check"], sort=False):
        current = rows.loc[~rows["is_reference"].astype(bool)]
        if current.empty or rows["threshold"].isna().all():
            continue
        directions = ("drop", "spike") if check == "volume" else ("up",)
        for direction in directions:
            statistic, bound = _statistic(current, str(check), direction)
            frame = current.assign(_stat=statistic)
            onset = onset_in_chunks(frame, bound, value="_stat")
            if onset is None:
                continue
            run = _run(current, statistic, bound, onset)
            record = _describe(str(column), str(check), direction, run)
            if record["excess"] >= min_excess_rows:
                records.append(record)
    findings = pd.DataFrame(records, columns=[*_FINDING_COLUMNS, "excess"]).drop(columns="excess")
    if findings.empty:
        return pd.DataFrame(columns=_FINDING_COLUMNS)
    return findings.sort_values(["onset", "check", "column"], kind="stable").reset_index(drop=True)


def _describe(column: str, check: str, direction: str, run: pd.DataFrame) -> dict[str, Any]:
    """One finding from the chunks of its run: value, reference, rows affected, excess and a sentence."""
    onset, last = run["chunk_start"].iloc[0], run["chunk_start"].iloc[-1]
    rows, n = float(run["rows"].sum()), float(run["n"].sum())
    reference = float(run["reference_value"].iloc[0]) if run["reference_value"].notna().any() else math.nan
    threshold = float(run["threshold"].iloc[0])
    span = f"from {onset:%Y-%m-%d %H:%M} to {last:%Y-%m-%d %H:%M} UTC"
    value = rows / n if n else math.nan
    excess = rows - (0 if math.isnan(reference) else reference) * n
    name = _FINDING_OF.get(check, f"volume_{direction}")
    if check == "volume":
        expected = float(run["reference_value"].sum())
        value, reference, excess, rows = (
            n / len(run),
            expected / len(run),
            abs(n - expected),
            abs(n - expected),
        )
        threshold = math.exp(threshold) - 1 if direction == "spike" else 1 - math.exp(-threshold)
        detail = (
            f"{value:,.0f} decisions per chunk against {reference:,.0f} expected "
            f"({value / reference - 1:+.0%}; normal within {threshold:.0%}) {span}"
        )
    elif check == "null_rate":
        detail = (
            f"{column} is NULL in {value:.1%} of decisions {span} "
            f"(reference {reference:.1%}; normal up to {threshold:.1%})"
        )
    elif check == "out_of_range_rate":
        detail = f"{value:.1%} of {column} values lie outside the reference range {span}"
        detail += f" (reference {reference:.1%})"
    elif check == "new_category_rate":
        detail = f"{column} takes values never seen in the reference {span}: {_run_detail(run)}"
    elif check == "vanished_share":
        excess = rows
        detail = f"{column} values common in the reference are absent {span} (expected): {_run_detail(run)}"
    elif check == "duplicate_rate":
        detail = f"repeated decision ids {span}: {_run_detail(run)} extra copies"
    elif check == "max_lag_hours":
        value, excess = float(run["value"].max()), rows
        detail = (
            f"{column} lagged up to {value:.1f} h behind the event time {span} "
            f"(threshold {threshold:.1f} h; reference maximum {reference:.1f} h)"
        )
    elif check == "repeated_share":
        base = float(run["expected_base"].sum())
        value = rows / base if base else math.nan
        excess = rows - (0 if math.isnan(reference) else reference) * base
        detail = (
            f"{value:.0%} of decisions repeat the same entity's previous {column} {span} "
            f"(reference {reference:.0%}; normal up to {threshold:.0%}): the input stopped changing"
        )
    else:  # distinct_values
        value, excess = float(run["value"].max()), rows
        detail = (
            f"{column} takes at most one value per chunk {span} "
            f"(reference median {reference:.0f} distinct values): the input stopped changing"
        )
    return {
        "column": column,
        "check": name,
        "onset": onset,
        "last": last,
        "value": value,
        "reference_value": reference,
        "threshold": threshold,
        "rows_affected": int(round(rows)),
        "chunks": len(run),
        "detail": detail,
        "excess": excess,
        "values": _run_values(run) if name in ("new_category", "vanished_category") else None,
    }


def _run_values(run: pd.DataFrame) -> list[str]:
    """Every value behind a category finding over its run (the root-cause analysis selects its rows)."""
    if "detail_values" not in run:
        return []
    return sorted(
        {str(value) for values in run["detail_values"] if isinstance(values, dict) for value in values}
    )


def _run_detail(run: pd.DataFrame, limit: int = 5) -> str:
    """The values behind a category or id finding over its run, most rows first: ``x (1,742 rows)``."""
    if "detail_values" not in run:
        return ""
    totals: dict[str, float] = {}
    for values in run["detail_values"]:
        for value, rows in (values if isinstance(values, dict) else {}).items():
            totals[value] = totals.get(value, 0.0) + rows
    top = sorted(totals.items(), key=lambda item: (-item[1], item[0]))
    shown = [f"{value} ({rows:,.0f} rows)" for value, rows in top[:limit]]
    return ", ".join(shown) + (f" and {len(top) - limit} more" if len(top) > limit else "")


# ------------------------------------------------------------------------------------------------ figure
def data_quality_figure(result: DataQualityResult) -> go.Figure:
    """Heat map of every check past its threshold per chunk (value / threshold, capped at 3).

    Rows are the (column, check) pairs of the findings; with no finding, the NULL rate of every feature.
    """
    chunks = result.chunks
    if result.findings.empty:
        shown = chunks.loc[chunks["check"] == "null_rate"]
    else:
        checks = {v: k for k, v in _FINDING_OF.items()}
        wanted = {(row.column, checks.get(row.check, "volume")) for row in result.findings.itertuples()}
        if any(row.check == "frozen_input" for row in result.findings.itertuples()):
            wanted |= {
                (row.column, "distinct_values")
                for row in result.findings.itertuples()
                if row.check == "frozen_input"
            }
        keys = list(zip(chunks["column"], chunks["check"], strict=True))
        shown = chunks.loc[[key in wanted for key in keys]]
    figure = go.Figure()
    if not shown.empty:
        shown = shown.assign(label=shown["column"] + " · " + shown["check"])
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(
                shown["threshold"] > 0,
                shown["value"] / shown["threshold"],
                np.where(shown["value"] > 0, 3.0, 0.0),
            )
        shown = shown.assign(ratio=np.clip(ratio, 0, 3))
        grid = shown.pivot_table(index="label", columns="chunk_start", values="ratio", aggfunc="first")
        values = shown.pivot_table(index="label", columns="chunk_start", values="value", aggfunc="first")
        figure.add_trace(
            go.Heatmap(
                z=grid.to_numpy(),
                x=list(grid.columns),
                y=list(grid.index),
                customdata=values.reindex_like(grid).to_numpy(),
                colorscale="Reds",
                zmin=0,
                zmax=3,
                colorbar={"title": "value / threshold"},
                hovertemplate=(
                    "%{y}<br>%{x}<br>value %{customdata:.4g}<br>%{z:.2f} x threshold<extra></extra>"
                ),
            )
        )
        figure.add_vline(x=result.current.start, line_dash="dash", line_color="grey")
    figure.update_layout(
        title="Data quality per chunk: how far each check is past its normal range",
        xaxis_title="chunk",
        template="plotly_white",
        height=max(300, 60 + 28 * (shown["column"].nunique() if not shown.empty else 1)),
    )
    return figure
