"""Impact analysis: the two first-hour questions of an AI incident.

1. **How many were affected?** Decisions in the incident window where the declared failure signal holds
   (``n_affected_decisions``) and the distinct entities they concern (``n_affected_entities``, an exact
   ``COUNT(DISTINCT ...)`` in the engine); the baseline failure rate in the reference window and the
   **excess failures** over it, with an interval; the same by group of every sensitive attribute (small
   groups suppressed and marked so) and per time chunk.
2. **Is it still happening?** The failure rate in the recent window against the baseline, with a
   Newcombe interval for the difference and a verdict ``ongoing`` / ``subsided`` / ``inconclusive``
   that says why.

All counting runs in the engine (DuckDB, PySpark...) as a handful of aggregate queries; rates and
intervals are computed on those counts in Python (so no engine ever divides by zero). Labels are taken
*as of* the analysis time: a decision whose label was not observed by then is undecided under a
label-error signal, and every result states how complete the labels were.

Examples
--------
>>> import numpy as np, pandas as pd
>>> from datetime import datetime
>>> from register.schema import ColumnRoles, DataCard, DataSource
>>> times = pd.date_range("2026-03-01", "2026-04-10", freq="30min", tz="UTC", inclusive="left")
>>> failed = (times >= "2026-04-01") & (np.arange(len(times)) % 2 == 0)   # half fail from April 1st
>>> frame = pd.DataFrame({"ts": times, "id": [f"c{i % 50}" for i in range(len(times))],
...                       "y_pred": 1, "y_true": np.where(failed, 0, 1)})
>>> card = DataCard(source=DataSource(location="unused"), task="binary_classification",
...                 columns=ColumnRoles(event_time="ts", entity_id="id", prediction="y_pred", label="y_true"))
>>> windows = incident_windows(datetime(2026, 4, 1), as_of=datetime(2026, 4, 10))
>>> result = assess_impact(frame, card, windows)
>>> result.n_decisions, result.n_affected_decisions, result.n_affected_entities
(432, 216, 25)
>>> result.still_happening.verdict
'ongoing'
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from analysis.data import (
    CHUNKS,
    FINDING_COLUMNS,
    Chunk,
    IncidentWindows,
    LogTable,
    Window,
    _as_table_only,
    attach_findings,
    describe_signal,
    failure_expression,
    incident_windows,
    label_known,
    uses_labels,
    validate_logs,
)
from analysis.errors import InvalidParameterError
from analysis.stats import ExcessEstimate, excess_interval, newcombe_interval, rate, wilson_interval
from register.schema import DataCard, ExposureFindingSignal, FailureSignal

if TYPE_CHECKING:
    from analysis.context import InvestigationContext

__all__ = [
    "IMPACT_SUMMARY_SCHEMA",
    "ImpactResult",
    "StillHappening",
    "WindowCounts",
    "assess_impact",
    "incident_windows",
    "is_still_happening",
    "open_impact_log",
]

IMPACT_SUMMARY_SCHEMA = "impact/1"
"""Version tag of :meth:`ImpactResult.to_summary`; bumped when a key changes meaning or disappears."""

_FAILED = "_wb_failed"
_LABELLED = "_wb_labelled"
_MISSING_GROUP = "(missing)"

SUPPRESSION_RULE = (
    "a group with fewer than min_cell_size decisions in the incident window is suppressed: its row is kept "
    "with suppressed = true and every count and rate set to null"
)
COMPLETE_LABEL_SHARE = 0.8
"""Share of a chunk's decisions with a label observed by ``as_of`` below which its labels are incomplete."""

LABEL_RULE = (
    "a label counts only when it is not null and label_observed_at <= as_of; decisions whose label was not "
    "observed by then are undecided under a label-error signal"
)


# --------------------------------------------------------------------------------------------------
# Result records
# --------------------------------------------------------------------------------------------------


def _clean(value: Any) -> Any:
    """JSON-safe scalar: NaN/NA -> None, numpy -> Python, timestamps -> ISO-8601."""
    if value is None:
        return None
    if isinstance(value, pd.Timestamp | datetime):
        return pd.Timestamp(value).isoformat()
    if isinstance(value, np.bool_ | bool):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return None if math.isnan(value) else float(value)
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return value


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    rows = []
    for row in frame.to_dict("records"):
        clean = {key: _clean(value) for key, value in row.items()}
        for key, value in clean.items():
            if key.startswith(("n_", "reference_n_")) and isinstance(value, float) and value.is_integer():
                clean[key] = int(value)
        rows.append(clean)
    return rows


def _interval(estimate: float, low: float, high: float, level: float) -> dict[str, float | None] | None:
    """``{estimate, low, high, level}``, or None when the estimate is undefined."""
    if estimate is None or math.isnan(estimate):
        return None
    return {"estimate": float(estimate), "low": _clean(low), "high": _clean(high), "level": level}


@dataclass(frozen=True)
class WindowCounts:
    """Counts of one window, and the failure rate with its Wilson interval.

    ``n_decided`` counts decisions where the failure signal could be judged (for a label-error signal:
    label observed by ``as_of`` and prediction present); the failure rate is ``n_failures / n_decided``.
    ``n_labelled`` counts decisions with a label observed by ``as_of`` (None without a label column).
    ``n_affected_conversations`` counts the distinct conversations with a failed model call (interaction
    logs with a conversation id; None otherwise).
    """

    window: Window
    n_decisions: int
    n_decided: int
    n_failures: int
    n_entities: int
    n_affected_entities: int
    n_labelled: int | None
    confidence: float = 0.95
    n_affected_conversations: int | None = None

    @property
    def failure_rate(self) -> float:
        """``n_failures / n_decided`` (NaN when nothing was decided)."""
        return self.n_failures / self.n_decided if self.n_decided else math.nan

    @property
    def failure_rate_interval(self) -> tuple[float, float]:
        """Wilson interval of the failure rate."""
        return wilson_interval(self.n_failures, self.n_decided, confidence=self.confidence)

    @property
    def label_completeness(self) -> float | None:
        """Share of the window's decisions with a label observed by ``as_of`` (None without labels)."""
        if self.n_labelled is None:
            return None
        return self.n_labelled / self.n_decisions if self.n_decisions else math.nan

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable counts, rate, interval and label completeness."""
        lower, upper = self.failure_rate_interval
        return {
            "window": self.window.to_dict(),
            "n_decisions": self.n_decisions,
            "n_decided": self.n_decided,
            "n_failures": self.n_failures,
            "n_entities": self.n_entities,
            "n_affected_entities": self.n_affected_entities,
            "n_affected_conversations": self.n_affected_conversations,
            "n_labelled": self.n_labelled,
            "label_completeness": _clean(self.label_completeness),
            "failure_rate": _clean(self.failure_rate),
            "failure_rate_lower": _clean(lower),
            "failure_rate_upper": _clean(upper),
        }


@dataclass(frozen=True)
class StillHappening:
    """Answer to "is it still happening?": recent failure rate vs the baseline, with a verdict.

    Rule: ``inconclusive`` when the recent window has no decisions, fewer than ``min_decisions`` decided
    decisions (or the baseline has), or labels observed for less than ``min_label_completeness`` of its
    decisions (label-error signals); otherwise, with ``d = recent rate - baseline rate`` and its Newcombe
    interval ``[lower, upper]``: ``ongoing`` when ``lower > 0``; ``subsided`` when ``upper < margin``
    (the margin defaults to half the incident window's excess rate: the recent excess is confidently
    less than half of the incident's); ``inconclusive`` otherwise (the interval is too wide to tell).
    """

    verdict: str
    reason: str
    difference: float
    lower: float
    upper: float
    margin: float | None
    recent: WindowCounts
    baseline: WindowCounts
    confidence: float
    rule: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable verdict, explanation, rates and difference with intervals, and the rule.

        Keys: ``verdict``, ``explanation`` (the reason, one sentence), ``recent_rate`` and ``difference``
        (``{estimate, low, high, level}`` or null when undefined), ``baseline_rate``, ``margin``,
        ``recent_label_completeness``, ``recent_n_decisions``, ``recent_n_decided``, ``rule``.
        """
        low, high = self.recent.failure_rate_interval
        return {
            "verdict": self.verdict,
            "explanation": self.reason,
            "recent_rate": _interval(self.recent.failure_rate, low, high, self.confidence),
            "baseline_rate": _clean(self.baseline.failure_rate),
            "difference": _interval(self.difference, self.lower, self.upper, self.confidence),
            "margin": _clean(self.margin),
            "recent_label_completeness": _clean(self.recent.label_completeness),
            "recent_n_decisions": self.recent.n_decisions,
            "recent_n_decided": self.recent.n_decided,
            "rule": self.rule,
        }


@dataclass(frozen=True)
class ImpactResult:
    """Result of :func:`assess_impact`; :meth:`to_summary` is the stable, JSON-serialisable form.

    Attributes
    ----------
    definition : dict
        What was measured: failure signal, windows (and which took defaults), ``as_of``, chunk,
        confidence, suppression and label rules, excess method, backend.
    incident, reference, recent : WindowCounts
        Counts per window.
    excess_failures : ExcessEstimate or None
        Excess failures among the incident window's decided decisions over the baseline rate (None when
        the baseline or the incident window has no decided decision).
    excess_failures_all_decisions : ExcessEstimate or None
        The same scaled to all decisions of the incident window, assuming undecided decisions (labels not
        yet observed) fail like decided ones.
    still_happening : StillHappening
    by_group : pandas.DataFrame
        One row per (attribute, group): incident-window counts, rate and Wilson interval, reference counts
        and rate, excess with its interval, ``suppressed``.
    over_time : pandas.DataFrame
        One row per time chunk from the start of the earliest window to ``as_of``: counts, rate, Wilson
        interval, label completeness, and which windows the chunk starts in.
    n_entities_without_sensitive : int
        Entities of the log missing from the sensitive-attribute table (NULL attributes, group
        ``(missing)``).
    labels_incomplete_from : pandas.Timestamp or None
        Start of the trailing run of chunks whose labels are incomplete (labels observed by ``as_of`` for
        less than ``definition["complete_label_share"]`` of their decisions; chunks without decisions do
        not break the run), when the failure signal uses labels; None when the latest chunks' labels are
        complete. The failure rate from then on rests on the labels that came early, and may still move.
    """

    definition: dict[str, Any]
    incident: WindowCounts
    reference: WindowCounts
    recent: WindowCounts
    excess_failures: ExcessEstimate | None
    excess_failures_all_decisions: ExcessEstimate | None
    still_happening: StillHappening
    by_group: pd.DataFrame = field(repr=False)
    over_time: pd.DataFrame = field(repr=False)
    n_entities_without_sensitive: int = 0
    labels_incomplete_from: pd.Timestamp | None = None

    @property
    def n_decisions(self) -> int:
        """Decisions in the incident window."""
        return self.incident.n_decisions

    @property
    def n_affected_decisions(self) -> int:
        """Decisions in the incident window where the failure signal holds."""
        return self.incident.n_failures

    @property
    def n_affected_entities(self) -> int:
        """Distinct entities with at least one failed decision in the incident window."""
        return self.incident.n_affected_entities

    @property
    def n_affected_conversations(self) -> int | None:
        """Distinct conversations with a failed model call in the incident window (interaction logs)."""
        return self.incident.n_affected_conversations

    def to_summary(self) -> dict[str, Any]:
        """The JSON-serialisable summary written to ``summary.json`` (schema tag ``impact/1``).

        It satisfies ``workbench.sections.ImpactSummary`` once the notebook adds ``section`` and
        ``incident_id``. Keys (stable; new keys may be added, existing ones keep their meaning):

        - ``schema`` (``"impact/1"``), ``definition`` (the failure signal in words), ``definition_details``
          (:attr:`definition`), ``as_of``, ``windows`` (``reference``/``incident``/``recent`` as
          ``{name, start, end}``), ``window_defaults`` (windows that took default values);
        - ``n_decisions``, ``n_affected_decisions``, ``n_affected_entities``, ``n_affected_conversations``
          (interaction logs with a conversation id, else null), ``n_undecided_decisions``,
          ``label_completeness`` (incident window; null without a label column),
          ``n_entities_without_sensitive``, ``min_cell_size``;
        - ``incident_rate``, ``baseline_rate`` and their ``_low``/``_high`` Wilson bounds;
        - ``excess_failures`` and ``excess_failures_all_decisions``:
          ``{estimate, low, high, level, n, method}`` or null;
        - ``still_happening``: :meth:`StillHappening.to_dict`;
        - ``counts``: ``{incident, reference, recent}`` as :meth:`WindowCounts.to_dict`;
        - ``labels_incomplete_from`` (:attr:`labels_incomplete_from`, or null) and
          ``complete_label_share`` (its threshold);
        - ``by_group``: rows of :attr:`by_group` plus ``n_affected`` (= ``n_failures``) and ``rate``
          (= ``failure_rate``); ``over_time``: rows of :attr:`over_time`. NaN -> null, times ISO-8601 UTC,
          counts as integers.
        """
        baseline_low, baseline_high = self.reference.failure_rate_interval
        incident_low, incident_high = self.incident.failure_rate_interval
        by_group = self.by_group.assign(
            n_affected=self.by_group["n_failures"], rate=self.by_group["failure_rate"]
        )
        return {
            "schema": IMPACT_SUMMARY_SCHEMA,
            "definition": self.definition["signal_description"],
            "definition_details": self.definition,
            "as_of": self.definition["as_of"],
            "windows": {
                w.name: w.to_dict() for w in (self.reference.window, self.incident.window, self.recent.window)
            },
            "window_defaults": list(self.definition["windows"]["defaults"]),
            "n_decisions": self.n_decisions,
            "n_affected_decisions": self.n_affected_decisions,
            "n_affected_entities": self.n_affected_entities,
            "n_affected_conversations": self.n_affected_conversations,
            "n_undecided_decisions": self.incident.n_decisions - self.incident.n_decided,
            "label_completeness": _clean(self.incident.label_completeness),
            "n_entities_without_sensitive": self.n_entities_without_sensitive,
            "min_cell_size": self.definition["min_cell_size"],
            "incident_rate": _clean(self.incident.failure_rate),
            "incident_rate_low": _clean(incident_low),
            "incident_rate_high": _clean(incident_high),
            "baseline_rate": _clean(self.reference.failure_rate),
            "baseline_rate_low": _clean(baseline_low),
            "baseline_rate_high": _clean(baseline_high),
            "excess_failures": self.excess_failures.to_dict() if self.excess_failures else None,
            "excess_failures_all_decisions": (
                self.excess_failures_all_decisions.to_dict() if self.excess_failures_all_decisions else None
            ),
            "still_happening": self.still_happening.to_dict(),
            "labels_incomplete_from": _clean(self.labels_incomplete_from),
            "complete_label_share": self.definition.get("complete_label_share"),
            "counts": {
                "incident": self.incident.to_dict(),
                "reference": self.reference.to_dict(),
                "recent": self.recent.to_dict(),
            },
            "by_group": _records(by_group),
            "over_time": _records(self.over_time),
        }


# --------------------------------------------------------------------------------------------------
# Engine queries (aggregates only)
# --------------------------------------------------------------------------------------------------


def _prepare(
    table: LogTable | ir.Table | pd.DataFrame, card: DataCard, signal: FailureSignal, as_of: datetime
) -> ir.Table:
    expr = _as_table_only(table)
    # a LogTable is passed on: its table is ``expr``, and it says as of when its evaluation scores were joined
    failed = failure_expression(table if isinstance(table, LogTable) else expr, card, signal, as_of=as_of)
    columns: dict[str, ir.Value] = {_FAILED: failed}
    if card.columns.label is not None and card.columns.label in expr.columns:
        columns[_LABELLED] = label_known(expr, card, as_of=as_of)
    return expr.mutate(**columns)


def _int_sum(condition: ir.BooleanValue) -> ir.IntegerScalar:
    return condition.fill_null(False).cast("int64").sum()


def _count_metrics(
    prepared: ir.Table, card: DataCard, inside: ir.BooleanValue | None
) -> dict[str, ir.Scalar]:
    """Aggregates of one window; ``inside`` None means every row of ``prepared``."""
    failed = prepared[_FAILED]
    entity = prepared[card.columns.entity_id]

    def within(condition: ir.BooleanValue) -> ir.BooleanValue:
        return condition if inside is None else inside & condition

    metrics: dict[str, ir.Scalar] = {
        "n_decisions": prepared.count() if inside is None else _int_sum(inside),
        "n_decided": _int_sum(within(failed.notnull())),
        "n_failures": _int_sum(within(failed)),
        "n_entities": entity.nunique() if inside is None else entity.nunique(where=inside),
        "n_affected_entities": entity.nunique(where=within(failed.fill_null(False))),
    }
    if _LABELLED in prepared.columns:
        metrics["n_labelled"] = _int_sum(within(prepared[_LABELLED]))
    conversation = _conversation_column(prepared, card)
    if conversation is not None:
        metrics["n_affected_conversations"] = prepared[conversation].nunique(
            where=within(failed.fill_null(False))
        )
    return metrics


def _conversation_column(table: ir.Table, card: DataCard) -> str | None:
    """An interaction log's conversation-id column, when the table has it."""
    name = card.interaction.conversation_id if card.interaction is not None else None
    return name if name is not None and name in table.columns else None


def _window_counts(
    prepared: ir.Table, card: DataCard, windows: list[Window], confidence: float
) -> dict[str, WindowCounts]:
    event_time = prepared[card.columns.event_time]
    parts = []
    for index, window in enumerate(windows):
        subset = prepared.filter(window.contains(event_time))
        metrics = _count_metrics(subset, card, None)
        parts.append(subset.aggregate(**metrics).mutate(window_index=ibis.literal(index, type="int64")))
    frame = ibis.union(*parts).execute() if len(parts) > 1 else parts[0].execute()
    frame = frame.set_index("window_index")
    counts: dict[str, WindowCounts] = {}
    for index, window in enumerate(windows):
        row = frame.loc[index] if index in frame.index else pd.Series(dtype=object)

        def get(name: str, row: pd.Series = row) -> int:
            value = row.get(name)
            return 0 if value is None or pd.isna(value) else int(value)

        counts[window.name] = WindowCounts(
            window=window,
            n_decisions=get("n_decisions"),
            n_decided=get("n_decided"),
            n_failures=get("n_failures"),
            n_entities=get("n_entities"),
            n_affected_entities=get("n_affected_entities"),
            n_labelled=get("n_labelled") if _LABELLED in prepared.columns else None,
            confidence=confidence,
            n_affected_conversations=(
                get("n_affected_conversations") if _conversation_column(prepared, card) is not None else None
            ),
        )
    return counts


def _span(windows: IncidentWindows) -> Window:
    start = min(w.start for w in windows)
    end = max(max(w.end for w in windows), windows.as_of)
    return Window(start, end, "span")


_BY_GROUP_COLUMNS = [
    "attribute",
    "group",
    "n_decisions",
    "n_decided",
    "n_failures",
    "n_affected_entities",
    "n_labelled",
    "label_completeness",
    "failure_rate",
    "failure_rate_lower",
    "failure_rate_upper",
    "reference_n_decided",
    "reference_n_failures",
    "reference_failure_rate",
    "excess_failures",
    "excess_failures_lower",
    "excess_failures_upper",
    "suppressed",
]
"""Columns of :attr:`ImpactResult.by_group`, in order."""


def _by_group(
    prepared: ir.Table,
    card: DataCard,
    windows: IncidentWindows,
    *,
    min_cell_size: int,
    confidence: float,
) -> pd.DataFrame:
    """Incident- and reference-window counts per group of each sensitive attribute, rates and excess.

    One row per (attribute, group) in :data:`_BY_GROUP_COLUMNS`; groups with fewer than ``min_cell_size``
    decisions in the incident window are kept with ``suppressed`` true and every number NaN.
    """
    attributes = [a for a in card.sensitive_attributes if a in prepared.columns]
    if not attributes:
        return pd.DataFrame(columns=_BY_GROUP_COLUMNS)
    frame = _group_counts(prepared, card, windows, attributes)
    return _group_rates(
        frame,
        has_labels=_LABELLED in prepared.columns,
        min_cell_size=min_cell_size,
        confidence=confidence,
    )


def _group_counts(
    prepared: ir.Table, card: DataCard, windows: IncidentWindows, attributes: list[str]
) -> pd.DataFrame:
    """One engine query: counts per (attribute, group), ordered by attribute then group.

    Incident-window counts as :func:`_count_metrics`, plus ``reference_n_decided`` and
    ``reference_n_failures``; NULL attribute values form the group ``(missing)``. Counts are int64;
    ``n_labelled`` is NaN when the log has no label column.
    """
    event_time = prepared[card.columns.event_time]
    span = _span(windows)
    scoped = prepared.filter(span.contains(event_time))
    in_incident = windows.incident.contains(scoped[card.columns.event_time])
    in_reference = windows.reference.contains(scoped[card.columns.event_time])
    parts = []
    for attribute in attributes:
        group = scoped[attribute].cast("string").fill_null(_MISSING_GROUP)
        grouped = scoped.mutate(_wb_group=group, _wb_inc=in_incident, _wb_ref=in_reference)
        g_failed = grouped[_FAILED]
        g_inc, g_ref = grouped["_wb_inc"], grouped["_wb_ref"]
        metrics = _count_metrics(grouped, card, g_inc)
        metrics["reference_n_decided"] = _int_sum(g_ref & g_failed.notnull())
        metrics["reference_n_failures"] = _int_sum(g_ref & g_failed)
        aggregated = grouped.group_by(group=grouped["_wb_group"]).aggregate(**metrics)
        parts.append(aggregated.mutate(attribute=ibis.literal(attribute, type="string")))
    frame = (ibis.union(*parts) if len(parts) > 1 else parts[0]).execute()
    count_columns = ["n_decisions", "n_decided", "n_failures", "n_affected_entities", "n_entities"]
    count_columns += ["reference_n_decided", "reference_n_failures"]
    if "n_labelled" in frame.columns:
        count_columns.append("n_labelled")
    else:
        frame["n_labelled"] = np.nan
    for name in count_columns:
        frame[name] = pd.to_numeric(frame[name]).fillna(0).astype("int64")
    frame["group"] = frame["group"].astype(object)
    order = {name: i for i, name in enumerate(attributes)}
    frame = frame.assign(_order=frame["attribute"].map(order)).sort_values(["_order", "group"])
    return frame.drop(columns="_order").reset_index(drop=True)


def _group_rates(
    frame: pd.DataFrame, *, has_labels: bool, min_cell_size: int, confidence: float
) -> pd.DataFrame:
    """Rates, Wilson intervals, excess failures (Newcombe) and suppression on :func:`_group_counts`."""
    n_decided = frame["n_decided"].to_numpy(float)
    n_failures = frame["n_failures"].to_numpy(float)
    ref_decided = frame["reference_n_decided"].to_numpy(float)
    ref_failures = frame["reference_n_failures"].to_numpy(float)
    frame["failure_rate"] = rate(n_failures, n_decided)
    frame["reference_failure_rate"] = rate(ref_failures, ref_decided)
    frame["label_completeness"] = (
        rate(frame["n_labelled"].to_numpy(float), frame["n_decisions"].to_numpy(float))
        if has_labels
        else np.nan
    )
    lower, upper = wilson_interval(n_failures, n_decided, confidence=confidence)
    frame["failure_rate_lower"], frame["failure_rate_upper"] = lower, upper
    difference, diff_lower, diff_upper = newcombe_interval(
        n_failures, n_decided, ref_failures, ref_decided, confidence=confidence
    )
    frame["excess_failures"] = n_decided * np.asarray(difference)
    frame["excess_failures_lower"] = n_decided * np.asarray(diff_lower)
    frame["excess_failures_upper"] = n_decided * np.asarray(diff_upper)
    frame["suppressed"] = frame["n_decisions"] < min_cell_size
    numeric = [c for c in _BY_GROUP_COLUMNS if c not in ("attribute", "group", "suppressed")]
    frame[numeric] = frame[numeric].astype("float64")
    frame.loc[frame["suppressed"], numeric] = np.nan
    if not has_labels:
        frame["n_labelled"] = np.nan
    return frame[_BY_GROUP_COLUMNS]


def _to_utc(values: pd.Series) -> pd.Series:
    values = pd.to_datetime(values)
    values = values.dt.tz_localize("UTC") if values.dt.tz is None else values.dt.tz_convert("UTC")
    return values.astype("datetime64[us, UTC]")


def _floor(value: datetime, chunk: Chunk) -> pd.Timestamp:
    stamp = pd.Timestamp(value).tz_convert("UTC")
    if chunk == "week":
        day = stamp.floor("D")
        return day - pd.Timedelta(days=day.weekday())
    return stamp.floor(CHUNKS[chunk])


def _over_time(
    prepared: ir.Table, card: DataCard, windows: IncidentWindows, *, chunk: Chunk, confidence: float
) -> pd.DataFrame:
    event_time = prepared[card.columns.event_time]
    span = _span(windows)
    scoped = prepared.filter(span.contains(event_time))
    chunked = scoped.mutate(_wb_chunk=scoped[card.columns.event_time].truncate(CHUNKS[chunk]))
    metrics = _count_metrics(chunked, card, None)
    frame = chunked.group_by(chunk_start=chunked["_wb_chunk"]).aggregate(**metrics).execute()
    frame["chunk_start"] = _to_utc(frame["chunk_start"])
    step = {"hour": pd.Timedelta(hours=1), "day": pd.Timedelta(days=1), "week": pd.Timedelta(weeks=1)}[chunk]
    first, last = _floor(span.start, chunk), _floor(span.end - pd.Timedelta(microseconds=1), chunk)
    starts = pd.Series(pd.date_range(first, last, freq=step)).astype("datetime64[us, UTC]")
    full = pd.DataFrame({"chunk_start": starts})
    frame = full.merge(frame, on="chunk_start", how="left")
    count_columns = ["n_decisions", "n_decided", "n_failures", "n_entities", "n_affected_entities"]
    has_labels = "n_labelled" in frame.columns
    if has_labels:
        count_columns.append("n_labelled")
    for name in count_columns:
        frame[name] = pd.to_numeric(frame[name]).fillna(0).astype("int64")
    frame["chunk_end"] = (frame["chunk_start"] + step).astype("datetime64[us, UTC]")
    n_decided = frame["n_decided"].to_numpy(float)
    n_decisions = frame["n_decisions"].to_numpy(float)
    frame["failure_rate"] = rate(frame["n_failures"].to_numpy(float), n_decided)
    frame["label_completeness"] = (
        rate(frame["n_labelled"].to_numpy(float), n_decisions) if has_labels else np.nan
    )
    lower, upper = wilson_interval(frame["n_failures"].to_numpy(float), n_decided, confidence=confidence)
    frame["failure_rate_lower"], frame["failure_rate_upper"] = lower, upper
    if not has_labels:
        frame["n_labelled"] = np.nan
    for window in windows:
        start = pd.Timestamp(window.start)
        end = pd.Timestamp(window.end)
        frame[f"in_{window.name}"] = (frame["chunk_end"] > start) & (frame["chunk_start"] < end)
    columns = [
        "chunk_start",
        "chunk_end",
        "n_decisions",
        "n_decided",
        "n_failures",
        "n_entities",
        "n_affected_entities",
        "n_labelled",
        "label_completeness",
        "failure_rate",
        "failure_rate_lower",
        "failure_rate_upper",
    ] + [f"in_{w.name}" for w in windows]
    return frame[columns]


# --------------------------------------------------------------------------------------------------
# Public functions
# --------------------------------------------------------------------------------------------------


def _check_common(confidence: float, **counts: int) -> None:
    if isinstance(confidence, bool) or not isinstance(confidence, int | float) or not 0 < confidence < 1:
        raise InvalidParameterError(
            f"confidence must be strictly between 0 and 1. Got {confidence!r} instead."
        )
    for name, value in counts.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise InvalidParameterError(f"{name} must be a non-negative integer. Got {value!r} instead.")


def _check_share(value: float, name: str = "min_label_completeness") -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise InvalidParameterError(f"{name} must be between 0 and 1. Got {value!r} instead.")


def _check_windows(windows: IncidentWindows | Sequence[Window]) -> IncidentWindows:
    """``windows`` if they are :class:`IncidentWindows`; a list of windows (as drift takes) is an error."""
    if not isinstance(windows, IncidentWindows):
        raise InvalidParameterError(
            f"windows must be IncidentWindows (see incident_windows). Got {type(windows).__name__} instead."
        )
    return windows


def _still_happening(
    counts: dict[str, WindowCounts],
    *,
    labels_used: bool,
    confidence: float,
    min_decisions: int,
    min_label_completeness: float,
    margin: float | None,
) -> StillHappening:
    recent, baseline, incident = counts["recent"], counts["reference"], counts["incident"]
    difference, lower, upper = newcombe_interval(
        recent.n_failures, recent.n_decided, baseline.n_failures, baseline.n_decided, confidence=confidence
    )
    if margin is None and incident.n_decided and baseline.n_decided:
        incident_excess = incident.failure_rate - baseline.failure_rate
        margin = incident_excess / 2 if incident_excess > 0 else None
    rule = (
        f"inconclusive when the recent window has no decisions, fewer than {min_decisions} decided decisions "
        f"(or the baseline has), or labels for less than {min_label_completeness:.0%} of its decisions "
        f"(label-error signals); otherwise ongoing when the lower bound of the {confidence:.0%} Newcombe "
        "interval of (recent rate - baseline rate) is above 0, subsided when its upper bound is below the "
        "margin (default: half the incident window's excess rate), inconclusive otherwise"
    )

    def verdict(kind: str, reason: str) -> StillHappening:
        return StillHappening(
            verdict=kind,
            reason=reason,
            difference=float(difference),
            lower=float(lower),
            upper=float(upper),
            margin=margin,
            recent=recent,
            baseline=baseline,
            confidence=confidence,
            rule=rule,
        )

    if recent.n_decisions == 0:
        return verdict("inconclusive", "no decisions in the recent window")
    completeness = recent.label_completeness
    if labels_used and completeness is not None and completeness < min_label_completeness:
        return verdict(
            "inconclusive",
            f"labels observed for only {completeness:.0%} of the recent window's decisions "
            f"(at least {min_label_completeness:.0%} needed); judge again when more labels arrive or use a "
            "label-free failure signal",
        )
    if recent.n_decided < min_decisions:
        return verdict(
            "inconclusive",
            f"only {recent.n_decided} decided decisions in the recent window "
            f"(at least {min_decisions} needed)",
        )
    if baseline.n_decided < min_decisions:
        return verdict(
            "inconclusive",
            f"only {baseline.n_decided} decided decisions in the reference window "
            f"(at least {min_decisions} needed)",
        )
    described = (
        f"recent failure rate {recent.failure_rate:.2%} vs baseline {baseline.failure_rate:.2%}: "
        f"difference {difference:+.2%} ({confidence:.0%} interval {lower:+.2%} to {upper:+.2%})"
    )
    if lower > 0:
        return verdict("ongoing", described + "; the recent rate is above the baseline")
    if margin is not None and upper < margin:
        return verdict(
            "subsided",
            described + f"; the recent excess is below the margin {margin:+.2%} (half the incident's)",
        )
    if margin is None:
        return verdict("inconclusive", described + "; no excess in the incident window to compare with")
    return verdict("inconclusive", described + f"; the interval reaches past the margin {margin:+.2%}")


def is_still_happening(
    table: LogTable | ir.Table | pd.DataFrame,
    card: DataCard,
    windows: IncidentWindows,
    *,
    as_of: datetime | None = None,
    signal: FailureSignal | None = None,
    confidence: float = 0.95,
    min_decisions: int = 10,
    min_label_completeness: float = 0.5,
    margin: float | None = None,
) -> StillHappening:
    """Is the failure still happening? The recent window's failure rate against the baseline.

    Parameters
    ----------
    table : LogTable, Ibis table or pandas DataFrame
        The prediction log.
    card : DataCard
        Column roles (and the default failure signal).
    windows : IncidentWindows
        Reference (baseline), incident and recent windows.
    as_of : datetime, optional
        Labels observed after it are unknown; defaults to ``windows.as_of``.
    signal : FailureSignal, optional
        Defaults to ``card.failure_signal``.
    confidence : float, default 0.95
        Level of the Newcombe interval.
    min_decisions : int, default 10
        Fewest decided decisions in the recent (and reference) window for a verdict.
    min_label_completeness : float, default 0.5
        Smallest share of recent decisions with an observed label for a verdict (label-error signals).
    margin : float, optional
        Rate difference below which the failure counts as subsided; defaults to half the incident
        window's excess rate.

    Returns
    -------
    StillHappening
        Verdict, reason, difference with interval and the rule applied (see :class:`StillHappening`).

    Examples
    --------
    >>> import pandas as pd
    >>> from datetime import datetime
    >>> from register.schema import ColumnRoles, DataCard, DataSource, DataQualitySignal
    >>> times = pd.date_range("2026-03-01", "2026-04-10", freq="30min", tz="UTC", inclusive="left")
    >>> broken = (times >= "2026-04-01") & (times < "2026-04-05")      # fixed on April 5th
    >>> frame = pd.DataFrame({"ts": times, "id": "x", "income": [None if b else 1.0 for b in broken]})
    >>> card = DataCard(source=DataSource(location="unused"), task="regression",
    ...                 columns=ColumnRoles(event_time="ts", entity_id="id", features=["income"]),
    ...                 failure_signal=DataQualitySignal(column="income", condition="null"))
    >>> windows = incident_windows(datetime(2026, 4, 1), as_of=datetime(2026, 4, 10))
    >>> is_still_happening(frame, card, windows).verdict
    'subsided'
    """
    windows = _check_windows(windows)
    _check_common(confidence, min_decisions=min_decisions)
    _check_share(min_label_completeness)
    as_of = windows.as_of if as_of is None else as_of
    signal = card.failure_signal if signal is None else signal
    prepared = _prepare(table, card, signal, as_of)
    counts = _window_counts(prepared, card, list(windows), confidence)
    return _still_happening(
        counts,
        labels_used=uses_labels(signal),
        confidence=confidence,
        min_decisions=min_decisions,
        min_label_completeness=min_label_completeness,
        margin=margin,
    )


def open_impact_log(
    context: InvestigationContext,
    *,
    signal: FailureSignal | None = None,
    rules: Sequence[Any] = (),
    known_names: Sequence[str] = (),
    data: Any = None,
    con: Any = None,
) -> LogTable:
    """The decisions of an investigation, with what its failure signal needs: the table to give assess_impact.

    A prediction log as read; an interaction log's model calls with their evaluation scores as of the
    context's ``as_of`` (:meth:`InvestigationContext.open_logs`). For an exposure-finding signal the
    exposure scan (:func:`analysis.llm_exposure.scan_exposure`) reads the calls' content in the signal's
    locations, and for an injection-success signal the injection analysis
    (:func:`analysis.llm_injection.analyse_injection`) reads every span, both from the start of the
    earliest window to ``as_of`` (the baseline, incident, recent windows and every chunk of the series);
    what they found is attached to the calls (:func:`analysis.data.attach_findings`), so
    :func:`assess_impact` counts affected calls, users and conversations and judges "still happening"
    exactly as for any other signal.

    Parameters
    ----------
    context : InvestigationContext
        The investigation (card, windows, ``as_of``, failure signal).
    signal : FailureSignal, optional
        Defaults to the context's signal (the incident's, else the card's).
    rules, known_names
        The policy's own redaction rules and the people the register knows, for the exposure scan
        (:func:`register.pii.find_pii`).
    data, con : optional
        The log itself or a connection, as :meth:`InvestigationContext.open_logs`.

    Returns
    -------
    LogTable
    """
    signal = signal or context.signal or context.card.failure_signal
    logs = context.open_logs(data=data, con=con)
    if signal.kind not in FINDING_COLUMNS:
        return logs
    start = min(window.start for window in context.windows)
    if isinstance(signal, ExposureFindingSignal):
        from analysis.llm_exposure import scan_exposure

        scan = scan_exposure(
            logs.table,
            context.card,
            as_of=context.as_of,
            window=(start, context.as_of),
            rules=rules,
            known_names=known_names,
            columns=signal.locations,
        )
        spans = scan.spans
        found = pd.concat(
            [
                spans[["span_id"]].assign(finding=spans["location"].astype(str)),
                spans[["span_id"]].assign(
                    finding=spans["location"].astype(str) + ":" + spans["entity"].astype(str)
                ),
            ],
            ignore_index=True,
        )
        return attach_findings(logs, "exposure_finding", found)
    from analysis.llm_injection import analyse_injection

    injection = analyse_injection(context.card, start=start, end=context.as_of, data=logs.spans)
    successes = injection.attempts.loc[injection.attempts["success"], ["span_id", "indicators"]]
    found = successes.assign(finding=successes["indicators"].str.split(",")).explode("finding")
    return attach_findings(logs, "injection_success", found[["span_id", "finding"]])


def assess_impact(
    table: LogTable | ir.Table | pd.DataFrame,
    card: DataCard,
    windows: IncidentWindows,
    *,
    as_of: datetime | None = None,
    signal: FailureSignal | None = None,
    chunk: Chunk = "day",
    min_cell_size: int = 10,
    confidence: float = 0.95,
    min_decisions: int = 10,
    min_label_completeness: float = 0.5,
    margin: float | None = None,
    complete_label_share: float = COMPLETE_LABEL_SHARE,
    validate: bool = True,
) -> ImpactResult:
    """How many decisions and entities were affected, by group and over time, and is it still happening.

    Parameters
    ----------
    table : LogTable, Ibis table or pandas DataFrame
        The prediction log (sensitive attributes joined: use :func:`~analysis.data.open_logs`).
    card : DataCard
        Column roles, sensitive attributes and the default failure signal.
    windows : IncidentWindows
        Reference (baseline), incident and recent windows (:func:`~analysis.data.incident_windows`).
    as_of : datetime, optional
        The analysis time: labels observed later are unknown. Defaults to ``windows.as_of``.
    signal : FailureSignal, optional
        What counts as a failed decision; defaults to ``card.failure_signal``.
    chunk : {"hour", "day", "week"}, default "day"
        Time chunk of the ``over_time`` table.
    min_cell_size : int, default 10
        Groups with fewer decisions in the incident window are suppressed (marked, values null).
    confidence : float, default 0.95
        Level of every interval.
    min_decisions, min_label_completeness, margin
        Verdict settings, see :func:`is_still_happening`.
    complete_label_share : float, default ``COMPLETE_LABEL_SHARE`` (0.8)
        A chunk whose decisions have labels observed by ``as_of`` for less than this share has incomplete
        labels; the latest such chunks give :attr:`ImpactResult.labels_incomplete_from` (label-error
        signals only).
    validate : bool, default True
        Run :func:`~analysis.data.validate_logs` first (raises one ``DataValidationError`` listing all
        problems).

    Returns
    -------
    ImpactResult
        Counts, excess failures with interval, by-group and over-time tables, the still-happening
        verdict, and the definition used; ``to_summary()`` gives the JSON form.

    Notes
    -----
    Excess failures = ``n * (p_incident - p_baseline)`` with ``n`` the decided decisions of the incident
    window; the interval is ``n`` times the Newcombe (1998, method 10) interval of the rate difference,
    which combines the binomial uncertainty of both rates. ``excess_failures_all_decisions`` scales to all
    decisions of the window (assumes undecided decisions fail at the same rate).

    Examples
    --------
    See the module docstring.
    """
    windows = _check_windows(windows)
    _check_common(confidence, min_cell_size=min_cell_size, min_decisions=min_decisions)
    _check_share(min_label_completeness)
    _check_share(complete_label_share, "complete_label_share")
    if chunk not in CHUNKS:
        raise InvalidParameterError(f"chunk must be one of {sorted(CHUNKS)}. Got {chunk!r} instead.")
    as_of = windows.as_of if as_of is None else as_of
    signal = card.failure_signal if signal is None else signal
    if validate:
        report = validate_logs(table, card, windows=windows, signal=signal, as_of=as_of)
        n_missing = report.n_entities_without_sensitive
    else:
        n_missing = table.entities_without_sensitive() if isinstance(table, LogTable) else 0
    prepared = _prepare(table, card, signal, as_of)
    counts = _window_counts(prepared, card, list(windows), confidence)
    incident, reference = counts["incident"], counts["reference"]
    excess, excess_all = _excess_failures(incident, reference, confidence=confidence)
    still = _still_happening(
        counts,
        labels_used=uses_labels(signal),
        confidence=confidence,
        min_decisions=min_decisions,
        min_label_completeness=min_label_completeness,
        margin=margin,
    )
    by_group = _by_group(prepared, card, windows, min_cell_size=min_cell_size, confidence=confidence)
    over_time = _over_time(prepared, card, windows, chunk=chunk, confidence=confidence)
    incomplete_from = (
        _labels_incomplete_from(over_time, complete_label_share=complete_label_share)
        if uses_labels(signal)
        else None
    )
    still = _provisional_if_labels_incomplete(still, incomplete_from, windows, complete_label_share)
    definition = _definition(
        table,
        card,
        signal,
        windows,
        as_of=as_of,
        chunk=chunk,
        confidence=confidence,
        min_cell_size=min_cell_size,
        excess=excess,
        complete_label_share=complete_label_share,
    )
    return ImpactResult(
        definition=definition,
        incident=incident,
        reference=reference,
        recent=counts["recent"],
        excess_failures=excess,
        excess_failures_all_decisions=excess_all,
        still_happening=still,
        by_group=by_group,
        over_time=over_time,
        n_entities_without_sensitive=n_missing,
        labels_incomplete_from=incomplete_from,
    )


def _provisional_if_labels_incomplete(
    still: StillHappening,
    incomplete_from: pd.Timestamp | None,
    windows: IncidentWindows,
    complete_label_share: float,
) -> StillHappening:
    """A "subsided" verdict on a recent window whose chunks all lack labels is inconclusive, not subsided.

    Failures are often labelled later than successes (a default shows up after a repayment would): the
    labels observed so far in a thinly labelled window under-count failures, so a low recent rate there
    does not show the failure has stopped. An "ongoing" verdict stands (failures were seen anyway).
    """
    if incomplete_from is None or still.verdict != "subsided":
        return still
    if pd.Timestamp(incomplete_from) > pd.Timestamp(windows.recent.start):
        return still
    reason = (
        f"the recent window's labels are incomplete (from {pd.Timestamp(incomplete_from):%Y-%m-%d}, "
        f"fewer than {complete_label_share:.0%} of decisions per chunk had a label by as_of), so its low "
        "failure rate may only mean that failures are labelled late; judge again when more labels arrive "
        "or use a label-free failure signal"
    )
    return replace(still, verdict="inconclusive", reason=reason)


def _labels_incomplete_from(over_time: pd.DataFrame, *, complete_label_share: float) -> pd.Timestamp | None:
    """Start of the trailing run of chunks with decisions whose label completeness is below the share.

    Chunks without decisions neither start nor break the run; None when the latest chunk with decisions
    has complete labels, or the log has no label column.
    """
    with_decisions = over_time[over_time["n_decisions"] > 0]
    completeness = with_decisions["label_completeness"].to_numpy(float)
    if completeness.size == 0 or np.isnan(completeness).all():
        return None
    complete = ~(completeness < complete_label_share)
    if complete[-1]:
        return None
    last_complete = np.flatnonzero(complete)
    first = int(last_complete[-1]) + 1 if last_complete.size else 0
    return pd.Timestamp(with_decisions["chunk_start"].iloc[first])


def _excess_failures(
    incident: WindowCounts, reference: WindowCounts, *, confidence: float
) -> tuple[ExcessEstimate | None, ExcessEstimate | None]:
    """Excess failures over the baseline among decided decisions, and scaled to all decisions.

    Both None when the incident or the reference window has no decided decision.
    """
    if not (incident.n_decided and reference.n_decided):
        return None, None
    excess = excess_interval(
        incident.n_failures,
        incident.n_decided,
        reference.n_failures,
        reference.n_decided,
        confidence=confidence,
    )
    excess_all = excess_interval(
        incident.n_failures,
        incident.n_decided,
        reference.n_failures,
        reference.n_decided,
        n=incident.n_decisions,
        confidence=confidence,
    )
    return excess, excess_all


def _definition(
    table: LogTable | ir.Table | pd.DataFrame,
    card: DataCard,
    signal: FailureSignal,
    windows: IncidentWindows,
    *,
    as_of: datetime,
    chunk: Chunk,
    confidence: float,
    min_cell_size: int,
    excess: ExcessEstimate | None,
    complete_label_share: float,
) -> dict[str, Any]:
    """What :func:`assess_impact` measured, in JSON-serialisable form (:attr:`ImpactResult.definition`)."""
    stamp = pd.Timestamp(as_of)
    return {
        "signal": signal.model_dump(mode="json"),
        "signal_description": describe_signal(signal, card),
        "uses_labels": uses_labels(signal),
        "windows": windows.to_dict(),
        "as_of": (stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")).isoformat(),
        "chunk": chunk,
        "confidence": confidence,
        "min_cell_size": min_cell_size,
        "label_rule": LABEL_RULE,
        "complete_label_share": complete_label_share,
        "suppression_rule": SUPPRESSION_RULE,
        "excess_method": (excess.method if excess else None),
        "affected_entities": f"distinct {card.columns.entity_id!r} with at least one failed decision",
        "sensitive_attributes": list(card.sensitive_attributes),
        "backend": table.backend if isinstance(table, LogTable) else None,
        "source": table.source if isinstance(table, LogTable) else None,
    }
