"""Root cause: since when, where, why — onset with an interval, slices, decomposition, data quality, changes.

:func:`analyse_root_cause` is what the root-cause notebook calls. From the log it takes, all aggregated in
the engine:

1. the **onset** of the failures (:mod:`analysis._root_cause_onset`: binomial likelihood with a credible
   interval, several change points, hourly where the data allows) and of other series (score mean,
   predicted-positive rate, null rates of inputs with a data-quality finding, each input's shift);
2. the **slices** where failures concentrate (:func:`analysis._slices.find_slices`, SliceLine over grouping
   sets) and an isolated/systemic verdict (:data:`VERDICT_RULE`);
3. the **decomposition** of the change in failure rate into mix, conditional and unseen parts
   (:func:`analysis._decomposition.decompose_change`) over the features of the top slices;
4. **data quality** per chunk (:func:`analysis.data_quality.data_quality`);
5. **change events**: the register's deploys and pipeline/config changes and the model-version switches seen
   in the logs, each placed against the onset interval;
6. **ranked candidate causes** (:mod:`analysis._root_cause_rank`), each with its evidence, a strength by a
   stated rule and what would refute it; the first one in quotable words.

A failure signal without labels (a data-quality or prediction condition) makes the whole analysis label-free;
the summary says which one was used.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from analysis._root_cause_onset import (
    FailureChange,
    SeriesOnset,
    failure_change,
    series_onsets,
)
from analysis._root_cause_rank import (
    ISOLATED_SHARE,
    ISOLATED_SIZE,
    VERDICT_RULE,
    Candidate,
    ChangeEvent,
    events_frame,
    rank_candidates,
)
from analysis._root_cause_series import RateSeries, rate_series
from analysis._root_cause_shift import MODERATE_PSI, FeatureShift, feature_shifts
from analysis._root_cause_summary import result_summary
from analysis.data import (
    Chunk,
    IncidentWindows,
    LogTable,
    describe_signal,
    failure_expression,
    time_literal,
    uses_labels,
)
from analysis.errors import AnalysisError, InvalidParameterError
from register.schema import DataCard, DataQualitySignal, FailureSignal, Incident, TimelineEvent, as_utc

__all__ = [
    "CHANGE_EVENT_KINDS",
    "ISOLATED_SHARE",
    "RootCauseResult",
    "VERDICT_RULE",
    "analyse_root_cause",
    "compare_with_recorded",
    "explore_slices",
]

CHANGE_EVENT_KINDS = ("deploy", "config_or_pipeline_change")
"""Register timeline kinds that are change events."""
_VERSION = re.compile(r"\b\d+\.\d+(?:\.\d+)?\b")


@dataclass(frozen=True)
class RootCauseResult:
    """Everything the root-cause analysis found; :meth:`to_summary` is what the report reads."""

    signal: str
    labels_used: bool
    windows: IncidentWindows
    chunk: Chunk
    failure: FailureChange
    onsets: tuple[SeriesOnset, ...]
    slices: Any  # analysis._slices.SliceResult
    slice_features: tuple[str, ...]
    verdict: str | None
    verdict_sentence: str
    decomposition: Any  # analysis._decomposition.Decomposition | None
    quality: Any  # analysis.data_quality.DataQualityResult
    shifts: tuple[FeatureShift, ...]
    events: pd.DataFrame
    causes: tuple[Candidate, ...]
    detection: dict[str, Any]
    recorded: dict[str, Any]
    limitations: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def top_cause(self) -> Candidate | None:
        """The first cause when it is above weak."""
        return self.causes[0] if self.causes and self.causes[0].strength != "weak" else None

    def to_summary(self) -> dict[str, Any]:
        """The JSON-compatible summary (see :class:`analysis.sections.root_cause.RootCauseSummary`)."""
        return result_summary(self)


# --------------------------------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------------------------------


def _slice_features(card: DataCard, signal: FailureSignal, features: Sequence[str] | None) -> list[str]:
    """The card's features (or those given) minus the columns the failure signal is made of."""
    columns = card.columns
    chosen = list(columns.features if features is None else features)
    unknown = [name for name in chosen if name not in columns.features]
    if unknown:
        raise InvalidParameterError(
            f"features must be features of the data card ({', '.join(columns.features) or 'none'}). "
            f"Got {', '.join(unknown)} instead."
        )
    excluded: set[str] = set()
    if isinstance(signal, DataQualitySignal):
        excluded |= {signal.column, columns.input_as_of.get(signal.column, "")}
    excluded |= {name for name in (columns.prediction, columns.score, columns.label) if name}
    return [name for name in chosen if name not in excluded]


def _change_events(
    events: Sequence[TimelineEvent], versions: pd.DataFrame, windows: IncidentWindows
) -> list[ChangeEvent]:
    """Register change events in the analysed span and model versions first seen after its start."""
    start, end = as_utc(windows.reference.start), as_utc(windows.incident.end)
    out = [
        ChangeEvent(
            at=as_utc(event.at),
            source="register",
            kind=str(getattr(event.kind, "value", event.kind)),
            description=event.description,
            model_version=(_VERSION.findall(event.description) or [None])[-1],
        )
        for event in events
        if str(getattr(event.kind, "value", event.kind)) in CHANGE_EVENT_KINDS
        and start - timedelta(days=7) <= as_utc(event.at) < end
    ]
    span_start = pd.Timestamp(start).floor("h")
    for row in versions.itertuples(index=False):
        first = pd.Timestamp(row.first_seen)
        if first > span_start:
            out.append(
                ChangeEvent(
                    at=first.to_pydatetime(),
                    source="logs",
                    kind="model version switch",
                    description=f"model {row.model_version} first seen in the logs (hour from {first:%H:%M})",
                    model_version=str(row.model_version),
                )
            )
    return sorted(out, key=lambda event: event.at)


# --------------------------------------------------------------------------------------------------
# The analysis
# --------------------------------------------------------------------------------------------------


def analyse_root_cause(
    log: LogTable | ir.Table | pd.DataFrame,
    card: DataCard,
    windows: IncidentWindows,
    *,
    as_of: datetime,
    signal: FailureSignal | None = None,
    chunk: Chunk = "day",
    events: Sequence[TimelineEvent] = (),
    incident: Incident | None = None,
    features: Sequence[str] | None = None,
    alpha: float = 0.95,
    top_k: int = 5,
    max_level: int = 3,
    min_support: int | None = None,
    n_bins: int = 5,
    n_resamples: int = 1000,
    seed: int = 0,
) -> RootCauseResult:
    """Since when, where and why failures changed, with ranked candidate causes.

    Parameters
    ----------
    log : LogTable, Ibis table or DataFrame
        The prediction log.
    card : DataCard
        Column roles and the default failure signal.
    windows : IncidentWindows
        Reference and incident windows.
    as_of : datetime
        Labels observed after this time are unknown.
    signal : FailureSignal, optional
        The incident's failure signal (default: the card's).
    chunk : {"hour", "day", "week"}
        Time chunk of the series (the onset is refined hourly where the data allows).
    events : sequence of TimelineEvent
        The incident's register timeline (deploys and pipeline/config changes are change events).
    incident : Incident, optional
        For the detection delay (``occurred_at``, ``aware_at``) and the recorded root cause.
    features : sequence of str, optional
        Features to slice and decompose by (default: the card's, minus the failure signal's columns).
    alpha, top_k, max_level, min_support, n_bins : optional
        Slice discovery (SliceLine weight, slices kept, predicates per slice, smallest slice, bins).
    n_resamples, seed : int
        Poisson resampling of the decomposition.

    Returns
    -------
    RootCauseResult
    """
    from analysis._decomposition import decompose_change, decomposition_cells
    from analysis.data_quality import data_quality

    table = _table(log)
    signal = card.failure_signal if signal is None else signal
    limitations: list[str] = []
    slice_features = _slice_features(card, signal, features)
    if not slice_features:
        limitations.append("no features to slice by: the data card names none besides the failure signal's")
    series = rate_series(table, card, signal, windows, as_of=as_of, chunk=chunk)
    change = failure_change(series, windows)
    if change.n_incident == 0:
        limitations.append("no decision in the incident window could be judged by the failure signal")
    failed = failure_expression(table, card, signal, as_of=as_of)
    slices = explore_slices(
        table,
        card,
        windows,
        as_of=as_of,
        signal=signal,
        features=features,
        max_level=max_level,
        min_support=min_support,
        alpha=alpha,
        top_k=top_k,
        n_bins=n_bins,
    )
    slices = _fold_duplicates(slices)
    if slices.limitation:
        limitations.append(f"slices: {slices.limitation}")
    try:
        quality = data_quality(table, card, windows, chunk=chunk, as_of=as_of)
    except AnalysisError as exc:  # e.g. windows too short to align to the chunk: say so, keep the rest
        quality = None
        limitations.append(f"data quality could not be checked: {exc}")
    shifts = feature_shifts(table, card, slice_features, slices.bins, windows, chunk=chunk)
    short = windows.incident.end - windows.incident.start < timedelta(days=1)
    if short:
        limitations.append(
            "the incident window covers part of a day: inputs that follow the time of day (hour_of_day...) "
            "differ from the reference by construction, so input shifts do not choose the decomposition's "
            "cells"
        )
    keys = _decomposition_keys(slices, [] if short else shifts)
    decomposition = None
    if keys and change.n_incident and change.n_reference:
        cells = decomposition_cells(
            table,
            {key: _bin(table, key, slices.bins) for key in keys},
            failed,
            event_time=card.columns.event_time,
            reference=windows.reference,
            incident=windows.incident,
            model_version=card.columns.model_version,
        )
        decomposition = decompose_change(cells, keys, n_resamples=n_resamples, seed=seed)
    onsets = _other_onsets(series, quality, shifts, windows, change)
    change_events = _change_events(events, series.versions(), windows)
    from analysis._root_cause_causes import build_candidates

    candidates = build_candidates(
        change=change,
        slices=slices,
        decomposition=decomposition,
        quality=quality,
        shifts=shifts,
        events=change_events,
        table=table,
        card=card,
        signal=signal,
        windows=windows,
        failed=failed,
        onsets=onsets,
    )
    ranked = rank_candidates(candidates, change.window, change_events)
    located = _where_excess(slices, _broader_slices(table, card, failed, windows, slices, change))
    best = _narrowest(located, ranked[0].columns if ranked else ())
    verdict, verdict_sentence = _verdict(change, best)
    return RootCauseResult(
        signal=describe_signal(signal, card),
        labels_used=uses_labels(signal),
        windows=windows,
        chunk=chunk,
        failure=change,
        onsets=tuple(onsets),
        slices=slices,
        slice_features=tuple(slice_features),
        verdict=verdict,
        verdict_sentence=verdict_sentence,
        decomposition=decomposition,
        quality=quality,
        shifts=tuple(shifts),
        events=events_frame(change_events, change.window),
        causes=tuple(_with_sentences(ranked, change, best, table, card, windows)),
        detection=_detection(change, incident),
        recorded=compare_with_recorded(incident, ranked),
        limitations=tuple(limitations),
    )


def explore_slices(
    log: LogTable | ir.Table | pd.DataFrame,
    card: DataCard,
    windows: IncidentWindows,
    *,
    as_of: datetime,
    signal: FailureSignal | None = None,
    features: Sequence[str] | None = None,
    max_level: int = 3,
    min_support: int | None = None,
    alpha: float = 0.95,
    top_k: int = 5,
    n_bins: int = 5,
) -> Any:
    """One slice search with the given features, depth and support (the notebook's slice explorer).

    Returns the :class:`analysis._slices.SliceResult`; :func:`analysis.slice_result_figure` draws it.
    """
    from analysis._slices import find_slices

    table = _table(log)
    signal = card.failure_signal if signal is None else signal
    return find_slices(
        table,
        _slice_features(card, signal, features),
        failure_expression(table, card, signal, as_of=as_of),
        event_time=card.columns.event_time,
        reference=windows.reference,
        incident=windows.incident,
        alpha=alpha,
        k=top_k,
        max_level=max_level,
        min_support=min_support,
        n_bins=n_bins,
    )


def _table(log: LogTable | ir.Table | pd.DataFrame) -> ir.Table:
    if isinstance(log, LogTable):
        return log.table
    if isinstance(log, pd.DataFrame):
        return ibis.memtable(log)
    return log


def _bin(table: ir.Table, key: str, bins: dict[str, Any]) -> ir.Value:
    from analysis._slices import bin_expression

    return bin_expression(table[key], bins[key])


def _fold_duplicates(slices: Any) -> Any:
    """Drop a slice that holds exactly the decisions of a shorter slice ranked above it (same rows).

    SliceLine often returns a slice and the same slice with a predicate that changes nothing (``income =
    (null)`` and ``region = r3 & income = (null)`` when every NULL income is in r3); they are one finding.
    """
    from dataclasses import replace

    frame = slices.slices
    if frame is None or frame.empty:
        return slices
    kept: list[int] = []
    for position, row in enumerate(frame.itertuples(index=False)):
        columns = {predicate[0] for predicate in row.predicates}
        same = any(
            frame.iloc[other]["n"] == row.n
            and frame.iloc[other]["failures"] == row.failures
            and {predicate[0] for predicate in frame.iloc[other]["predicates"]} <= columns
            for other in kept
        )
        if not same:
            kept.append(position)
    return replace(slices, slices=frame.iloc[kept].reset_index(drop=True))


def _decomposition_keys(slices: Any, shifts: Sequence[FeatureShift]) -> list[str]:
    """Up to 3 features: the inputs that shifted (PSI >= 0.1, at most 2), then the top slices' features.

    The cells must be cut by what changed in who came: cells cut only by where failures concentrate
    would count a change in mix *within* them (more large purchases among high-risk scores) as the model
    doing worse on the same input.
    """
    keys: list[str] = [
        shift.feature
        for shift in sorted(shifts, key=lambda s: -s.psi)
        if shift.psi >= MODERATE_PSI and shift.feature in slices.bins
    ][:2]
    for predicates in slices.slices.get("predicates", pd.Series(dtype=object)):
        for predicate in predicates:
            column = predicate[0] if isinstance(predicate, (tuple, list)) else predicate["column"]
            if column not in keys and column in slices.bins:
                keys.append(column)
    if not keys:
        keys = [
            shift.feature for shift in sorted(shifts, key=lambda s: -s.psi) if shift.feature in slices.bins
        ]
    return keys[:3]


def _other_onsets(
    series: RateSeries,
    quality: Any,
    shifts: Sequence[FeatureShift],
    windows: IncidentWindows,
    change: FailureChange,
) -> list[SeriesOnset]:
    """Onsets of the score mean, the predicted-positive rate and each shifted input, on the run's chunk."""
    chunk = change.onset.resolution if change.onset.resolution == "hour" else series.chunk
    frame = series.per_chunk(chunk)
    binomial: dict[str, tuple[str, str]] = {}
    gaussian: dict[str, tuple[str, str]] = {}
    if frame["predicted_n"].sum() > 0:
        binomial["predicted-positive rate"] = ("predicted_n", "positive")
    if frame["score_n"].sum() > 0:
        gaussian["score mean"] = ("score_mean", "score_se")
    found = series_onsets(frame, windows, chunk, binomial=binomial, gaussian=gaussian)
    found.extend(shift.onset for shift in shifts if shift.onset is not None)
    return found


def _broader_slices(
    table: ir.Table,
    card: DataCard,
    failed: ir.BooleanValue,
    windows: IncidentWindows,
    slices: Any,
    change: FailureChange,
) -> pd.DataFrame:
    """Every single predicate of the top slices as a slice of its own (one aggregate), for the verdict.

    SliceLine favours small slices with high error rates: a region whose failures come in two channels
    shows as two slices, each holding part of the excess, while the region as a whole holds all of it.
    """
    frame = slices.slices
    if frame is None or frame.empty or change.reference_rate is None or change.excess is None:
        return pd.DataFrame(columns=["description", "n", "excess_share", "level", "predicates"])
    predicates: dict[str, Sequence[Any]] = {}
    for row in frame.itertuples(index=False):
        for predicate in row.predicates:
            label = (
                str(predicate[3]) if len(predicate) > 3 else f"{predicate[0]} {predicate[1]} {predicate[2]}"
            )
            predicates.setdefault(label, predicate)
    ts = table[card.columns.event_time]
    inside = (ts >= time_literal(ts, windows.incident.start)) & (ts < time_literal(ts, windows.incident.end))
    judged = inside & failed.notnull()
    metrics: dict[str, ir.Scalar] = {}
    for index, predicate in enumerate(predicates.values()):
        condition = judged & _predicate(table, predicate).fill_null(False)
        metrics[f"n{index}"] = condition.cast("int64").sum()
        metrics[f"f{index}"] = (condition & failed.fill_null(False)).cast("int64").sum()
    row = table.aggregate(**metrics).execute().iloc[0]
    total = change.excess.estimate
    out = []
    for index, label in enumerate(predicates):
        n, failures = int(row[f"n{index}"] or 0), int(row[f"f{index}"] or 0)
        share = (failures - n * change.reference_rate) / total if total > 0 else float("nan")
        out.append(
            {
                "description": label,
                "n": n,
                "excess_share": share,
                "level": 1,
                "predicates": [predicates[label]],
            }
        )
    return pd.DataFrame(out)


def _where_excess(slices: Any, broader: pd.DataFrame) -> pd.DataFrame:
    """The top slices and their single predicates together: where the excess is (the first sentence's)."""
    frame = slices.slices
    parts = [part for part in (frame, broader) if part is not None and not part.empty]
    if not parts:
        return pd.DataFrame(columns=["description", "n", "excess_share", "level", "predicates"])
    columns = ["description", "n", "excess_share", "level", "predicates"]
    return pd.concat([part[columns] for part in parts], ignore_index=True)


def _narrowest(located: pd.DataFrame, columns: Sequence[str] = ()) -> pd.Series | None:
    """Where the excess is: the smallest slice holding nearly the most of it (90 % of the best share).

    Among slices of one size, one not made of ``columns`` (the first cause's own input) comes first. The
    first sentence and the isolated/systemic verdict both name this slice, so they never disagree.
    """
    if located is None or located.empty or "excess_share" not in located:
        return None
    shares = located["excess_share"].astype(float).clip(upper=1.0)
    if not np.isfinite(shares).any():
        return None
    own = [any(p[0] in columns for p in predicates) for predicates in located["predicates"]]
    near = located.assign(_own=own).loc[shares >= 0.9 * float(shares.max())]
    return near.sort_values(["n", "_own", "level"], kind="stable").iloc[0]


def _verdict(change: FailureChange, best: pd.Series | None) -> tuple[str | None, str]:
    if not change.significant:
        return None, (
            "Failures did not rise significantly in the incident window, so there is no isolated or "
            "systemic verdict."
        )
    if best is None:
        return "systemic", "Failures rose and no slice could be found that holds them: systemic."
    n = max(change.n_incident, 1)
    share = float(best["excess_share"])
    where = (
        f"{_share(share)} of the excess failures are in {best['description']}, which holds "
        f"{100 * best['n'] / n:.0f} % of the incident window's decisions"
    )
    if share >= ISOLATED_SHARE and best["n"] <= ISOLATED_SIZE * n:
        return "isolated", f"Isolated: {where}."
    return (
        "systemic",
        f"Systemic: {where} (isolated needs at least {100 * ISOLATED_SHARE:.0f} % in at most "
        f"{100 * ISOLATED_SIZE:.0f} % of the decisions).",
    )


def _share(value: float) -> str:
    return "all" if value >= 1 else f"{100 * value:.0f} %"


def _detection(change: FailureChange, incident: Incident | None) -> dict[str, Any]:
    """The onset against the register's ``occurred_at`` and ``aware_at`` (delays in hours, with interval)."""
    window = change.window
    occurred = as_utc(incident.occurred_at) if incident and incident.occurred_at else None
    aware = as_utc(incident.aware_at) if incident and incident.aware_at else None
    out: dict[str, Any] = {"occurred_at": occurred, "aware_at": aware}
    if window is None:
        out["sentence"] = (
            "No failure onset was found, so the detection delay cannot be measured from the data."
        )
        return out

    def hours(later: datetime, at: datetime) -> float:
        return (later - at).total_seconds() / 3600

    parts = []
    if aware is not None:
        out["delay_hours"] = {
            "estimate": hours(aware, window.at),
            "low": hours(aware, window.high),
            "high": hours(aware, window.low),
        }
        parts.append(
            f"the team became aware {hours(aware, window.at):.1f} h after the onset (95 % interval "
            f"{max(hours(aware, window.high), 0):.1f} to {hours(aware, window.low):.1f} h)"
        )
    if occurred is not None:
        gap = hours(occurred, window.at)
        out["occurred_gap_hours"] = {
            "estimate": gap,
            "low": hours(occurred, window.high),
            "high": hours(occurred, window.low),
        }
        inside = window.low <= occurred < window.high
        parts.append(
            "the recorded occurrence time lies inside the onset interval"
            if inside
            else f"the recorded occurrence time is {abs(gap):.1f} h "
            f"{'after' if gap > 0 else 'before'} the onset"
        )
    out["sentence"] = (
        f"Failures began {window.at:%Y-%m-%d %H:%M} UTC (95 % interval {window.low:%Y-%m-%d %H:%M} to "
        f"{window.high:%Y-%m-%d %H:%M}); " + "; ".join(parts) + "."
        if parts
        else f"Failures began {window.at:%Y-%m-%d %H:%M} UTC."
    )
    return out


def _percent(value: float | None) -> str:
    if value is None or not np.isfinite(value):
        return "n/a"
    return f"{100 * value:.1f} %" if value < 0.1 else f"{100 * value:.0f} %"


def _predicate(table: ir.Table, predicate: Sequence[Any]) -> ir.BooleanValue:
    """The engine condition of one slice predicate ``(column, op, value, label)``."""
    column, op, value = predicate[0], predicate[1], predicate[2]
    field = table[column]
    if op == "is_null":
        return field.isnull()
    if op == "not_null":
        return field.notnull()
    if op == "==":
        return field.cast("string") == str(value)
    if op == "not_in":
        return field.notnull() & ~field.cast("string").isin([str(item) for item in value])
    number = field.cast("float64")
    if op == "<":
        return number < float(value)
    if op == ">=":
        return number >= float(value)
    low, high = value
    return (number >= float(low)) & (number < float(high))


def _where(
    table: ir.Table,
    card: DataCard,
    cause: Candidate,
    best: pd.Series | None,
    since: datetime,
    until: datetime,
) -> str | None:
    """``where income is NULL in 64 % of decisions since 14:00`` for a NULL input in the top slice."""
    if (
        cause.kind != "null_input"
        or best is None
        or not cause.columns
        or cause.columns[0] not in table.columns
    ):
        return None
    column = cause.columns[0]
    if any(predicate[0] == column for predicate in best["predicates"]):
        return None  # the slice is the NULL input itself
    ts = table[card.columns.event_time]
    inside = (ts >= time_literal(ts, since)) & (ts < time_literal(ts, until))
    for predicate in best["predicates"]:
        inside = inside & _predicate(table, predicate)
    row = (
        table.aggregate(
            n=inside.cast("int64").sum(), nulls=(inside & table[column].isnull()).cast("int64").sum()
        )
        .execute()
        .iloc[0]
    )
    n = int(row["n"] or 0)
    if not n:
        return None
    return f"where {column} is NULL in {100 * int(row['nulls'] or 0) / n:.0f} % of decisions since the onset"


def _lead(
    table: ir.Table,
    card: DataCard,
    cause: Candidate,
    change: FailureChange,
    best: pd.Series | None,
    windows: IncidentWindows,
) -> list[str]:
    """The quotable opening of the first cause: the rise and its onset, where, and the change just before."""
    window = change.window
    if window is None:
        return []
    fmt = "%Y-%m-%d %H:%M" if change.onset.resolution == "hour" else "%Y-%m-%d"
    parts = [
        f"Failures rose from {_percent(change.reference_rate)} to {_percent(change.incident_rate)} from "
        f"{window.at:{fmt}} UTC (95 % interval {window.low:{fmt}} to {window.high:{fmt}})"
    ]
    if best is not None:
        share = float(best["excess_share"])
        if share >= 0.2:
            held = "all of the excess is" if share >= 1 else f"{100 * share:.0f} % of the excess is"
            clause = _where(table, card, cause, best, window.at, as_utc(windows.incident.end))
            parts.append(f"{held} in {best['description']}" + (f", {clause}" if clause else ""))
    if cause.kind == "stale_input" and cause.started is not None and cause.columns:
        parts.append(f"{cause.columns[0]} has not been updated since {cause.started:%Y-%m-%d %H:%M} UTC")
    if cause.events:
        first = cause.events[0]
        description, _, distance = first.partition("): ")
        when, _, where = distance.partition("; ")
        inside = " (inside its 95 % interval)" if where.startswith("inside") and "before" in when else ""
        when = when.replace("within the onset", "within the onset's")
        parts.append(f"{description.rsplit(' (', 1)[0].rstrip('. ')} landed {when}{inside}")
    return parts


def _with_sentences(
    causes: Sequence[Candidate],
    change: FailureChange,
    best: pd.Series | None,
    table: ir.Table,
    card: DataCard,
    windows: IncidentWindows,
) -> list[Candidate]:
    """Give each cause its quotable sentence (the first opens with the onset, the slice and the change)."""
    from dataclasses import replace

    out = []
    for rank, cause in enumerate(causes):
        lead = _lead(table, card, cause, change, best, windows) if rank == 0 and change.significant else []
        shifted = cause.kind == "covariate_shift" and cause.strength != "weak"
        if rank == 0 and not change.significant and shifted:
            lead = [
                f"Failures did not change significantly ({_percent(change.reference_rate)} in the reference "
                f"window, {_percent(change.incident_rate)} in the incident window), but inputs shifted"
                + (f" from {cause.started:%Y-%m-%d} UTC" if cause.started is not None else "")
                + ": "
                + "; ".join(cause.evidence[:-1][:3])
            ]
        verdict = f"{cause.strength.capitalize()} candidate: {cause.title}"
        if lead:
            text = "; ".join(lead) + f". {verdict}."
        else:
            text = f"{verdict}" + (f" ({cause.evidence[0]})" if cause.evidence else "") + "."
        out.append(replace(cause, sentence=text))
    return out


# --------------------------------------------------------------------------------------------------
# The register's recorded root cause
# --------------------------------------------------------------------------------------------------

_FAMILIES: dict[str, tuple[str, ...]] = {
    "data": (
        "pipeline",
        "upstream",
        "feed",
        "data_quality",
        "data quality",
        "null",
        "missing",
        "stale",
        "schema",
        "outage",
        "etl",
        "ingest",
        "contract",
        "vendor",
        "inventory",
    ),
    "model": (
        "model",
        "deploy",
        "release",
        "regression",
        "proxy",
        "feature",
        "training",
        "retrain",
        "threshold",
        "bias",
        "degradation",
    ),
    "concept": ("concept", "behaviour", "behavior", "fraud pattern", "campaign", "degradation"),
    "population": ("mix", "seasonal", "season", "population", "covariate", "demographic", "traffic", "shift"),
}
"""Words of a recorded root cause and the family of causes they name (first match of each family)."""
_KIND_FAMILIES: dict[str, tuple[str, ...]] = {
    "null_input": ("data",),
    "stale_input": ("data",),
    "out_of_range_input": ("data",),
    "new_category": ("data", "population"),
    "volume_anomaly": ("data", "population"),
    "duplicate_ids": ("data",),
    "model_change": ("model",),
    "concept_change": ("concept",),
    "covariate_mix": ("population",),
    "covariate_shift": ("data", "population"),
}


def compare_with_recorded(incident: Incident | None, causes: Sequence[Any]) -> dict[str, Any]:
    """Whether the register's recorded root-cause category names the same family as the top cause.

    Families: data (pipeline, upstream, feed, null, stale...), model (model, deploy, release, proxy
    feature...), concept (concept, behaviour...), population (mix, seasonal, covariate...). The category
    is matched first; the trigger and contributing factors only when the category names no family.

    Examples
    --------
    >>> from datetime import UTC
    >>> from analysis._root_cause_rank import Candidate, Share
    >>> incident = Incident(id="INC-2026-0001", title="t", category="data_quality", severity="SEV-2",
    ...                     occurred_at=datetime(2026, 3, 1, tzinfo=UTC),
    ...                     aware_at=datetime(2026, 3, 2, tzinfo=UTC),
    ...                     root_cause_category="model degradation")
    >>> mix = Candidate("covariate_mix", "channel", "who came changed", (), Share(0.9, 0.7, 1.0), "n/a",
    ...                 "strong", "x")
    >>> compare_with_recorded(incident, [mix])["agreement"]
    'disagrees'
    """
    category_text = (incident.root_cause_category if incident else None) or None
    trigger = (incident.trigger if incident else None) or None
    factors: list[str] = list(incident.contributing_factors) if incident else []
    recorded: dict[str, Any] = {
        "category": category_text,
        "trigger": trigger,
        "contributing_factors": factors,
    }
    top = causes[0] if causes and causes[0].strength != "weak" else None
    category = (category_text or "").lower()
    if not category:
        agreement, sentence = "not recorded", "The register records no root-cause category yet."
        if top is not None:
            sentence += f" The analysis points to: {top.title}."
        return {**recorded, "agreement": agreement, "sentence": sentence}
    if top is None:
        return {
            **recorded,
            "agreement": "no analysed cause",
            "sentence": (
                f"The register records '{recorded['category']}'; the analysis finds no cause above weak, "
                "so it "
                "neither supports nor contradicts it."
            ),
        }
    named = {family for family, words in _FAMILIES.items() if any(word in category for word in words)}
    if not named:
        text = " ".join([trigger or "", *factors]).lower()
        named = {family for family, words in _FAMILIES.items() if any(word in text for word in words)}
    if not named:
        return {
            **recorded,
            "agreement": "not comparable",
            "sentence": (
                f"The register records '{recorded['category']}', which names none of the families the "
                "analysis "
                f"distinguishes; read it beside the analysis' first cause: {top.title}."
            ),
        }
    if named & set(_KIND_FAMILIES.get(top.kind, ())):
        return {
            **recorded,
            "agreement": "agrees",
            "sentence": (
                f"The register's '{recorded['category']}' agrees with the analysis' first cause: {top.title}."
            ),
        }
    return {
        **recorded,
        "agreement": "disagrees",
        "sentence": (
            f"The register records '{recorded['category']}' ({', '.join(sorted(named))}), but the analysis' "
            f"first cause is {top.title} ({', '.join(_KIND_FAMILIES.get(top.kind, ('?',)))}): the two "
            "disagree; "
            f"the evidence: {'; '.join(top.evidence[:2]) or 'see the ranked causes'}."
        ),
    }
