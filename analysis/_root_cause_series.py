"""Root cause, the series: failures, scores and decisions per hour and model version, in one aggregate.

Everything the onset needs comes from one ``GROUP BY (hour, model_version)`` over the span from the start of
the reference window to the end of the incident window: judged decisions and failures under the incident's
failure signal (labels as of the analysis time), the score's sum and sum of squares, predicted positives.
The hourly counts are summed to the run's chunk in pandas, so the daily and the hourly series can never
disagree, and the model versions' first and last sighting come from the same rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from analysis._fairness_cells import NO_VERSION, _positive
from analysis.data import CHUNK_LENGTHS, Chunk, IncidentWindows, LogTable, failure_expression, time_literal
from register.schema import DataCard, FailureSignal, as_utc

__all__ = ["RateSeries", "rate_series"]

_COUNTS = ("rows", "n", "failures", "score_n", "score_sum", "score_sq", "predicted_n", "positive")


@dataclass(frozen=True)
class RateSeries:
    """Failures per hour and per chunk over the analysed span.

    Attributes
    ----------
    hourly : DataFrame
        ``chunk_start`` (hour, UTC), ``model_version`` and the counts: ``rows`` (decisions), ``n`` (judged:
        the failure signal could be evaluated), ``failures``, ``score_n``/``score_sum``/``score_sq``,
        ``predicted_n``/``positive`` (binary decisions).
    chunk : str
        The run's chunk (``hour``, ``day`` or ``week``).
    span_start, span_end : datetime
        Start of the reference window and end of the incident window.
    """

    hourly: pd.DataFrame
    chunk: Chunk
    span_start: datetime
    span_end: datetime

    def per_chunk(self, chunk: Chunk | None = None, *, by_version: bool = False) -> pd.DataFrame:
        """The counts summed to ``chunk`` (default: the run's), every chunk of the span present (zeros).

        Adds ``rate`` (failures / n), ``score_mean``, ``score_se`` and ``positive_rate`` (NaN without data).
        """
        chunk = chunk or self.chunk
        frame = self.hourly.copy()
        frame["chunk_start"] = _floor(frame["chunk_start"], chunk)
        keys = ["chunk_start", "model_version"] if by_version else ["chunk_start"]
        summed = frame.groupby(keys, sort=True, observed=True)[list(_COUNTS)].sum().reset_index()
        if not by_version:
            starts = pd.date_range(
                _floor(pd.Series([pd.Timestamp(self.span_start)]), chunk).iloc[0],
                pd.Timestamp(self.span_end) - pd.Timedelta(microseconds=1),
                freq=CHUNK_LENGTHS[chunk],
            )
            summed = (
                summed.set_index("chunk_start").reindex(starts, fill_value=0).rename_axis("chunk_start")
            ).reset_index()
        return _with_rates(summed)

    def versions(self) -> pd.DataFrame:
        """Model versions: ``model_version``, ``rows``, ``first_seen`` and ``last_seen`` (hours, UTC)."""
        frame = self.hourly.loc[self.hourly["rows"] > 0]
        if frame.empty:
            return pd.DataFrame(columns=["model_version", "rows", "first_seen", "last_seen"])
        grouped = frame.groupby("model_version", sort=False)
        out = pd.DataFrame(
            {
                "rows": grouped["rows"].sum(),
                "first_seen": grouped["chunk_start"].min(),
                "last_seen": grouped["chunk_start"].max(),
            }
        ).reset_index()
        return out.sort_values("first_seen", kind="stable").reset_index(drop=True)


def _floor(values: pd.Series, chunk: Chunk) -> pd.Series:
    stamps = pd.to_datetime(values, utc=True)
    if chunk == "week":
        days = stamps.dt.floor("D")
        return days - pd.to_timedelta(days.dt.weekday, unit="D")
    return stamps.dt.floor("h" if chunk == "hour" else "D")


def _with_rates(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    with np.errstate(divide="ignore", invalid="ignore"):
        out["rate"] = np.where(out["n"] > 0, out["failures"] / out["n"].where(out["n"] > 0, 1), np.nan)
        mean = out["score_sum"] / out["score_n"].where(out["score_n"] > 0)
        variance = out["score_sq"] / out["score_n"].where(out["score_n"] > 0) - mean**2
        out["score_mean"] = mean
        out["score_se"] = np.sqrt(variance.clip(lower=0) / out["score_n"].where(out["score_n"] > 1))
        out["positive_rate"] = out["positive"] / out["predicted_n"].where(out["predicted_n"] > 0)
    return out


def rate_series(
    table: LogTable | ir.Table,
    card: DataCard,
    signal: FailureSignal | None,
    windows: IncidentWindows,
    *,
    as_of: datetime,
    chunk: Chunk = "day",
) -> RateSeries:
    """Failures, scores and decisions per (hour, model version) from the reference start to the incident end.

    Parameters
    ----------
    table : LogTable or Ibis table
        The log.
    card : DataCard
        Column roles.
    signal : FailureSignal or None
        The incident's failure signal (default: the card's).
    windows : IncidentWindows
        The run's windows.
    as_of : datetime
        Labels observed after this time are unknown.
    chunk : {"hour", "day", "week"}
        The run's chunk (the hourly counts are kept too).

    Returns
    -------
    RateSeries

    Examples
    --------
    >>> from datetime import UTC
    >>> from analysis.data import Window, incident_windows
    >>> from register.schema import ColumnRoles, DataSource
    >>> frame = pd.DataFrame({"ts": pd.date_range("2026-03-01", periods=480, freq="h", tz="UTC"),
    ...                       "id": "a", "p": [0, 1] * 240, "y": [0] * 480})
    >>> card = DataCard(source=DataSource(location="x"), task="binary_classification",
    ...                 columns=ColumnRoles(event_time="ts", entity_id="id", prediction="p", label="y"))
    >>> windows = incident_windows(datetime(2026, 3, 15, tzinfo=UTC), as_of=datetime(2026, 3, 21, tzinfo=UTC),
    ...     reference=Window.from_value({"start": "2026-03-01", "end": "2026-03-11"}),
    ...     incident=Window.from_value({"start": "2026-03-15", "end": "2026-03-21"}))
    >>> series = rate_series(ibis.memtable(frame), card, None, windows, as_of=windows.as_of)
    >>> daily = series.per_chunk()
    >>> daily[["n", "failures"]].sum().tolist(), round(float(daily["rate"].mean()), 2)
    ([480, 240], 0.5)
    """
    log = table.table if isinstance(table, LogTable) else table
    columns = card.columns
    failed = failure_expression(log, card, signal, as_of=as_of)
    ts = log[columns.event_time]
    span_start, span_end = as_utc(windows.reference.start), as_utc(windows.incident.end)
    if span_end <= span_start:
        span_end = max(as_utc(windows.recent.end), span_start)
    inside = (ts >= time_literal(ts, span_start)) & (ts < time_literal(ts, span_end))
    version = (
        log[columns.model_version].cast("string").fill_null(NO_VERSION)
        if columns.model_version
        else ibis.literal(NO_VERSION)
    )
    prepared = log.filter(inside).mutate(chunk_start=ts.truncate("h"), model_version=version, _failed=failed)
    judged = prepared["_failed"].notnull()
    metrics: dict[str, ir.Scalar] = {
        "rows": prepared.count(),
        "n": judged.cast("int64").sum(),
        "failures": prepared["_failed"].fill_null(False).cast("int64").sum(),
    }
    if columns.score:
        score = prepared[columns.score].cast("float64")
        metrics |= {
            "score_n": score.notnull().cast("int64").sum(),
            "score_sum": score.sum(),
            "score_sq": (score * score).sum(),
        }
    if columns.prediction and card.task == "binary_classification":
        hit = _positive(prepared[columns.prediction], card.positive_label, "prediction")
        metrics |= {"predicted_n": hit.notnull().cast("int64").sum(), "positive": hit.cast("int64").sum()}
    frame = prepared.group_by(["chunk_start", "model_version"]).aggregate(**metrics).execute()
    for name in _COUNTS:
        if name not in frame:
            frame[name] = 0
        frame[name] = pd.to_numeric(frame[name], errors="coerce").fillna(0)
    frame["chunk_start"] = pd.to_datetime(frame["chunk_start"], utc=True)
    frame["model_version"] = frame["model_version"].astype(str)
    frame = frame.sort_values(["chunk_start", "model_version"], kind="stable").reset_index(drop=True)
    return RateSeries(hourly=frame, chunk=chunk, span_start=span_start, span_end=span_end)
