"""Failure rates of an LLM system: what rose, where, since when -- reference window against incident window.

Per model call (:func:`analysis.data.open_calls`: the model-call spans, each evaluation's lowest score by
``as_of`` joined in the engine) the rates of:

- ``error`` -- the call has an ``error.type``;
- ``refusal`` -- a finish reason is a refusal or a content filter (:data:`REFUSAL_REASONS`), over the
  calls that recorded finish reasons;
- ``evaluation:<name>`` -- the call's score of that evaluation is below its threshold (``thresholds``;
  else the card's ``evaluation_score`` failure signal; else :data:`DEFAULT_THRESHOLD`), over the scored
  calls; user feedback (the evaluation source's ``feedback_name``) is the **thumbs-down** rate (score
  below 0.5);

overall and by each dimension the log has -- provider, response model, prompt version, agent version,
the tools called in the call's trace, and the card's ``attributes`` (intent, region, data source...).
Latency (p95 of the span duration) and output tokens (mean) are compared overall.

**A rise** of a rate in a slice is significant when (:data:`RULE`) the one-sided Fisher exact test of
incident against reference has a Benjamini-Hochberg q-value below 0.05 over every slice and metric
tested, the incident rate is at least 1.5 times the reference rate, and the excess failures
(``k_incident - n_incident * p_reference``) are at least 5. For each metric with a significant rise, the
**finding** names the narrowest description of the failures: among all calls, the significant single values
and the significant conjunctions of two values of different dimensions that hold at least 90 % of the
largest excess, the one with the highest incident rate ("model X *and* intent Y"); a slice holding 90 %
of the calls is "all calls" -- with Wilson intervals of both rates, the Newcombe interval of their
difference, the onset of the slice's hourly failure rate (:func:`analysis.onset.binomial_onset`, the
shared rule, with its credible interval) and the first and last hour in the incident window whose rate is
above the reference rate beyond its 95 % Wilson interval (an outage's hours).

Nothing here reads message content.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import combinations
from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
from scipy import stats

from analysis._llm_data import interaction_roles
from analysis.data import EVALUATION_COLUMN_PREFIX, LogTable, Window, evaluation_column
from analysis.errors import InvalidParameterError
from analysis.onset import binomial_onset
from analysis.stats import newcombe_interval, wilson_interval
from register.schema import DataCard, EvaluationScoreSignal

__all__ = [
    "DEFAULT_THRESHOLD",
    "REFUSAL_REASONS",
    "RULE",
    "FailureRates",
    "failure_rates",
]

REFUSAL_REASONS = ("content_filter", "refusal")
"""Finish reasons that mean the model refused or a filter stopped the answer."""

DEFAULT_THRESHOLD = 0.5
"""Score below which an evaluation fails when neither ``thresholds`` nor the card name one."""

Q_LEVEL, MIN_RATIO, MIN_EXCESS, CONJUNCTION_SHARE, MIN_REFERENCE, ALL_CALLS_SHARE = (
    0.05,
    1.5,
    5.0,
    0.9,
    30,
    0.9,
)
RULE = (
    "a rise is significant when its one-sided Fisher exact test has a Benjamini-Hochberg q below 0.05 "
    "over every slice and metric tested, the incident rate is at least 1.5 times the reference rate and "
    "the excess failures are at least 5; a finding names, among the slices (one value or two together) "
    "holding at least 90 % of the largest excess, the one with the highest rate"
)
"""The significance and attribution rule, stated in the report."""

_REFERENCE, _INCIDENT = "reference", "incident"


@dataclass(frozen=True)
class FailureRates:
    """What :func:`failure_rates` found.

    ``overall`` has one row per metric (reference and incident rates, intervals, q-value); ``slices`` one
    row per (metric, dimension, value) tested; ``findings`` the significant rises, most excess first (see
    :meth:`to_dict` for their keys); ``series`` the hourly (or daily) rate of the top finding's slice and
    of the other calls; ``continuous`` latency p95 and mean output tokens per window; ``skipped`` the
    metrics or dimensions the log lacks.
    """

    reference: Window
    incident: Window
    overall: pd.DataFrame
    slices: pd.DataFrame
    findings: list[dict[str, Any]]
    series: pd.DataFrame
    continuous: dict[str, dict[str, float | None]]
    dimensions: tuple[str, ...]
    metrics: dict[str, str]
    skipped: tuple[str, ...] = field(default=())
    rule: str = RULE

    def headline(self) -> str | None:
        """The top finding in a few words, or ``None`` when no rate rose."""
        if not self.findings:
            return None
        top = self.findings[0]
        return (
            f"{top['metric_label']} rose from {100 * top['reference_rate']:.1f} % to "
            f"{100 * top['incident_rate']:.1f} % {_place(top)}"
        )

    def sentence(self) -> str:
        """One plain sentence: the findings, or that no failure rate rose."""
        if not self.findings:
            return (
                "No failure rate (errors, refusals, evaluations, thumbs-down) rose significantly in the "
                "incident window, overall or in any slice."
            )
        parts = []
        for finding in self.findings[:3]:
            onset = f", from about {_when(finding['onset'])}" if finding.get("onset") else ""
            parts.append(
                f"{finding['metric_label']} rose from {100 * finding['reference_rate']:.1f} % to "
                f"{100 * finding['incident_rate']:.1f} % {_place(finding)} "
                f"({finding['excess']:,.0f} excess failures{onset})"
            )
        return "; ".join(parts) + "."

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready summary the LLM section keeps.

        Keys: ``findings`` (``metric``, ``metric_label``, ``where``, ``predicates``, ``reference_*``,
        ``incident_*``, ``difference*``, ``excess``, ``q_value``, ``onset*``, ``first_hour``/``last_hour``),
        ``overall``, ``series``, ``continuous``, ``rule``, ``skipped``, ``sentence``, ``headline``,
        ``timeline`` and ``figure_title``.
        """
        top = self.findings[0] if self.findings else None
        timeline = []
        for finding in self.findings[:3]:
            if finding.get("onset"):
                timeline.append(
                    {
                        "at": finding["onset"],
                        "until": finding.get("last_hour"),
                        "description": f"{finding['metric_label']} rises {_place(finding)}",
                        "subject": finding["metric"],
                    }
                )
        return _plain(
            {
                "reference": self.reference.to_dict(),
                "incident": self.incident.to_dict(),
                "dimensions": list(self.dimensions),
                "metrics": dict(self.metrics),
                "overall": _records(self.overall),
                "findings": self.findings,
                "series": _records(self.series),
                "continuous": self.continuous,
                "rule": self.rule,
                "skipped": list(self.skipped),
                "sentence": self.sentence(),
                "headline": self.headline(),
                "timeline": timeline,
                "figure_title": None
                if top is None
                else f"{top['metric_label']} {_place(top)}, against the other calls",
            }
        )


def _place(finding: Mapping[str, Any]) -> str:
    return f"where {finding['where']}" if finding.get("predicates") else "across all calls"


def _when(value: Any) -> str:
    return pd.Timestamp(value).strftime("%d %b %Y %H:%M").lstrip("0") + " UTC"


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, pd.Timestamp | datetime):
        return pd.Timestamp(value).isoformat()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and value != value:
        return None
    return value


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [] if frame.empty else [_plain(row) for row in frame.to_dict(orient="records")]


# --------------------------------------------------------------------------------------------------
# Metrics and dimensions
# --------------------------------------------------------------------------------------------------


def _metrics(
    calls: ir.Table, card: DataCard, thresholds: Mapping[str, float] | None, skipped: list[str]
) -> dict[str, tuple[str, ir.BooleanValue]]:
    """Metric name -> (label, failed expression; NULL where the call is not judged on it)."""
    roles = card.interaction
    assert roles is not None
    metrics: dict[str, tuple[str, ir.BooleanValue]] = {}
    if roles.error_type:
        metrics["error"] = ("error rate", calls[roles.error_type].notnull())
    else:
        skipped.append("error rate: the log has no error.type column")
    if roles.finish_reasons:
        reasons = calls[roles.finish_reasons]
        refused = ibis.literal(False)
        for reason in REFUSAL_REASONS:
            refused = refused | reasons.contains(reason).fill_null(False)
        metrics["refusal"] = ("refusal / content-filter rate", ibis.ifelse(reasons.isnull(), None, refused))
    else:
        skipped.append("refusal rate: the log has no finish reasons")
    signal = card.failure_signal
    feedback = card.evaluations.feedback_name if card.evaluations is not None else None
    evaluations = [
        c[len(EVALUATION_COLUMN_PREFIX) :] for c in calls.columns if c.startswith(EVALUATION_COLUMN_PREFIX)
    ]
    if not evaluations:
        skipped.append("evaluation and feedback rates: the card has no evaluation table")
    for name in evaluations:
        score = calls[evaluation_column(name)]
        if name == feedback:
            metrics["thumbs_down"] = ("thumbs-down rate", score < 0.5)
            continue
        below = (thresholds or {}).get(name)
        if below is None and isinstance(signal, EvaluationScoreSignal) and signal.evaluation == name:
            below = signal.below
        below = DEFAULT_THRESHOLD if below is None else float(below)
        metrics[f"evaluation:{name}"] = (f"{name} below {below:g}", score < below)
    return metrics


def _dimensions(card: DataCard, calls: ir.Table, wanted: Sequence[str] | None) -> list[str]:
    roles = card.interaction
    assert roles is not None
    named = [
        roles.provider,
        roles.response_model,
        roles.prompt_version,
        roles.agent_version,
        *roles.attributes,
    ]
    available = [column for column in named if column and column in calls.columns]
    if roles.tool_name:
        available.append("tool")
    if wanted is None:
        return available
    unknown = [name for name in wanted if name not in available]
    if unknown:
        raise InvalidParameterError(
            f"dimensions must be among {', '.join(available)}. Got {', '.join(unknown)} instead."
        )
    return list(wanted)


# --------------------------------------------------------------------------------------------------
# Counting in the engine
# --------------------------------------------------------------------------------------------------


def _counts(table: ir.Table, keys: list[str], metrics: Sequence[str]) -> pd.DataFrame:
    """Per window and key values: judged calls ``n:<metric>`` and failures ``k:<metric>`` (engine-side)."""
    aggregates: dict[str, ir.Value] = {}
    for name in metrics:
        column = table[f"m:{name}"]
        aggregates[f"n:{name}"] = column.notnull().cast("int64").sum()
        aggregates[f"k:{name}"] = column.fill_null(False).cast("int64").sum()
    return table.group_by(["_window", *keys]).aggregate(**aggregates).to_pandas()


def _exact_test(n_r: np.ndarray, k_r: np.ndarray, n_i: np.ndarray, k_i: np.ndarray) -> np.ndarray:
    """One-sided p-value of Fisher's exact test: incident failures at least ``k_i`` given the margins.

    Under no change, the incident window's failures are hypergeometric: ``k_r + k_i`` failures among
    ``n_r + n_i`` calls, ``n_i`` of them drawn. Exact at small counts, where a z-test is not.
    """
    p = stats.hypergeom.sf(k_i - 1, n_r + n_i, k_r + k_i, n_i)
    return np.where(np.isfinite(p), np.clip(p, 0.0, 1.0), 1.0)


def _bh(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg q-values."""
    if p.size == 0:
        return p
    order = np.argsort(p)
    ranked = p[order] * p.size / np.arange(1, p.size + 1)
    q = np.minimum.accumulate(ranked[::-1])[::-1]
    out = np.empty_like(q)
    out[order] = np.minimum(q, 1.0)
    return out


def _tests(
    counts: pd.DataFrame,
    keys: list[str],
    metrics: Sequence[str],
    fallback: Mapping[str, tuple[int, int]] | None = None,
) -> pd.DataFrame:
    """One row per (metric, key values): both windows' counts, rates and the test.

    A slice with fewer than :data:`MIN_REFERENCE` judged reference calls (a model or version new in the
    incident window) is compared with the metric's reference counts over all calls (``fallback``);
    ``reference_from`` says which.
    """
    rows = []
    wide = counts.pivot_table(index=keys, columns="_window", aggfunc="sum", fill_value=0) if keys else None
    for name in metrics:
        if keys:
            assert wide is not None
            frame = pd.DataFrame(
                {
                    "n_r": wide.get((f"n:{name}", _REFERENCE), 0),
                    "k_r": wide.get((f"k:{name}", _REFERENCE), 0),
                    "n_i": wide.get((f"n:{name}", _INCIDENT), 0),
                    "k_i": wide.get((f"k:{name}", _INCIDENT), 0),
                }
            ).reset_index()
        else:
            by = counts.set_index("_window")
            frame = pd.DataFrame(
                {
                    "n_r": [by[f"n:{name}"].get(_REFERENCE, 0)],
                    "k_r": [by[f"k:{name}"].get(_REFERENCE, 0)],
                    "n_i": [by[f"n:{name}"].get(_INCIDENT, 0)],
                    "k_i": [by[f"k:{name}"].get(_INCIDENT, 0)],
                }
            )
        frame.insert(0, "metric", name)
        rows.append(frame)
    tests = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()
    if tests.empty:
        return tests
    for column in ("n_r", "k_r", "n_i", "k_i"):
        tests[column] = tests[column].astype("int64")
    tests["reference_from"] = "slice"
    if fallback:
        few = tests["n_r"] < MIN_REFERENCE
        for name, (n_all, k_all) in fallback.items():
            rows = few & (tests["metric"] == name)
            tests.loc[rows, ["n_r", "k_r"]] = [n_all, k_all]
            tests.loc[rows, "reference_from"] = "all calls"
    tests = tests[(tests["n_r"] > 0) & (tests["n_i"] > 0)].reset_index(drop=True)
    n_r, k_r, n_i, k_i = (tests[c].to_numpy(dtype=float) for c in ("n_r", "k_r", "n_i", "k_i"))
    tests["reference_rate"] = k_r / n_r
    tests["incident_rate"] = k_i / n_i
    tests["excess"] = k_i - n_i * tests["reference_rate"].to_numpy()
    tests["p_value"] = _exact_test(n_r, k_r, n_i, k_i)
    return tests


def _significant(tests: pd.DataFrame) -> pd.Series:
    return (
        (tests["q_value"] < Q_LEVEL)
        & (tests["incident_rate"] >= MIN_RATIO * tests["reference_rate"])
        & (tests["excess"] >= MIN_EXCESS)
    )


# --------------------------------------------------------------------------------------------------
# The analysis
# --------------------------------------------------------------------------------------------------


def failure_rates(
    calls: LogTable | ir.Table,
    card: DataCard,
    *,
    reference: Window,
    incident: Window,
    as_of: datetime,
    thresholds: Mapping[str, float] | None = None,
    dimensions: Sequence[str] | None = None,
    chunk: str = "hour",
) -> FailureRates:
    """Failure rates by provider, model, prompt and agent version, tool and attributes; what rose, where.

    Parameters
    ----------
    calls : LogTable or Ibis table
        The model calls with the evaluation score columns (:func:`analysis.data.open_calls`); a LogTable's
        ``spans`` give the tools called in each trace.
    card : DataCard
        The ``interaction_log`` card.
    reference, incident : Window
        The windows compared; the incident window ends at ``as_of`` at the latest.
    as_of : datetime
        The analysis time.
    thresholds : mapping, optional
        Evaluation name -> the score below which a call fails.
    dimensions : sequence of str, optional
        Slice only by these (role columns, ``attributes`` columns or ``"tool"``); default every one.
    chunk : {"hour", "day"}
        Chunk of the onset series.

    Returns
    -------
    FailureRates

    Raises
    ------
    InvalidParameterError
        A reversed or empty window, an unknown dimension, a card that is not an interaction log.
    """
    roles = interaction_roles(card)
    if chunk not in ("hour", "day"):
        raise InvalidParameterError(f"chunk must be 'hour' or 'day'. Got {chunk!r} instead.")
    end = min(pd.Timestamp(incident.end), pd.Timestamp(as_of))
    if end <= pd.Timestamp(incident.start) or reference.end <= reference.start:
        raise InvalidParameterError(
            "the windows must be non-empty before as_of. Got reference "
            f"{reference.start} to {reference.end}, incident {incident.start} to {incident.end}, "
            f"as_of {as_of}."
        )
    table = calls.table if isinstance(calls, LogTable) else calls
    spans = calls.spans if isinstance(calls, LogTable) and calls.spans is not None else None
    skipped: list[str] = []
    metrics = _metrics(table, card, thresholds, skipped)
    incident_window = Window(start=incident.start, end=end.to_pydatetime(), name="incident")
    dims = _dimensions(card, table, dimensions)
    time = table[roles.start_time]
    in_reference = (time >= reference.start) & (time < reference.end)
    in_incident = (time >= incident_window.start) & (time < incident_window.end)
    base = table.filter(in_reference | in_incident).mutate(
        _window=ibis.ifelse(in_incident, _INCIDENT, _REFERENCE),
        **{f"m:{name}": expression for name, (_, expression) in metrics.items()},
    )
    columns = [column for column in dims if column != "tool"]
    base = base.select(
        "_window", roles.trace_id, roles.start_time, *columns, *[f"m:{n}" for n in metrics]
    ).cache()
    tools = None
    if "tool" in dims:
        if spans is None or roles.tool_name is None:
            skipped.append("tool: no spans with tool names were given")
            dims = [d for d in dims if d != "tool"]
        else:
            named = spans.filter(spans[roles.tool_name].notnull())
            tools = named.select(_trace=named[roles.trace_id], tool=named[roles.tool_name]).distinct()
    names = list(metrics)
    overall = _tests(_counts(base, [], names), [], names)
    fallback = {str(row.metric): (int(row.n_r), int(row.k_r)) for row in overall.itertuples()}
    parts = []
    for dimension in dims:
        if dimension == "tool":
            assert tools is not None
            joined = base.inner_join(tools, base[roles.trace_id] == tools._trace)
            frame = _tests(_counts(joined, ["tool"], names), ["tool"], names, fallback)
        else:
            frame = _tests(_counts(base, [dimension], names), [dimension], names, fallback)
        frame = frame.rename(columns={dimension: "value"})
        frame.insert(1, "dimension", dimension)
        frame["value"] = frame["value"].astype("string").fillna("(null)")
        parts.append(frame)
    slices = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    everything = pd.concat([overall.assign(dimension="(all)", value="all calls"), slices], ignore_index=True)
    everything["q_value"] = _bh(everything["p_value"].to_numpy(dtype=float)) if not everything.empty else []
    everything["significant"] = _significant(everything) if not everything.empty else []
    findings = _findings(
        base, everything, metrics, fallback, roles.start_time, reference, incident_window, chunk
    )
    series = _series(base, findings[0] if findings else None, roles.start_time, reference, incident_window)
    return FailureRates(
        reference=reference,
        incident=incident_window,
        overall=everything[everything["dimension"] == "(all)"].reset_index(drop=True),
        slices=everything[everything["dimension"] != "(all)"].reset_index(drop=True),
        findings=findings,
        series=series,
        continuous=_continuous(table, card, reference, incident_window),
        dimensions=tuple(dims),
        metrics={name: label for name, (label, _) in metrics.items()},
        skipped=tuple(skipped),
    )


def _predicate(table: ir.Table, predicates: Sequence[tuple[str, str]]) -> ir.BooleanValue:
    condition = ibis.literal(True)
    for column, value in predicates:
        condition = condition & (table[column].cast("string") == value)
    return condition


def _describe(predicates: Sequence[tuple[str, str]]) -> str:
    return " and ".join(f"{column} = {value}" for column, value in predicates) or "all calls"


def _findings(
    base: ir.Table,
    tests: pd.DataFrame,
    metrics: Mapping[str, tuple[str, Any]],
    fallback: Mapping[str, tuple[int, int]],
    start_time: str,
    reference: Window,
    incident: Window,
    chunk: str,
) -> list[dict[str, Any]]:
    """Per metric with a significant rise: its slice (or pair of values), intervals, onset and hours."""
    findings = []
    for name, (label, _) in metrics.items():
        rows = tests[(tests["metric"] == name) & tests["significant"]]
        if rows.empty:
            continue
        singles = rows[(rows["dimension"] != "(all)") & (rows["dimension"] != "tool")]
        best_excess = float(rows["excess"].max())
        candidates = rows[rows["excess"] >= CONJUNCTION_SHARE * best_excess].assign(
            dimension_2=None, value_2=None
        )
        pairs = _pairs(base, singles, name, fallback)
        if not pairs.empty:
            pairs["q_value"] = _bh(
                np.concatenate([tests["p_value"].to_numpy(), pairs["p_value"].to_numpy()])
            )[len(tests) :]
            good = pairs[_significant(pairs) & (pairs["excess"] >= CONJUNCTION_SHARE * best_excess)]
            candidates = pd.concat([candidates, good], ignore_index=True)
        # the narrowest description holding (nearly) all the excess: the highest rate among them; on a
        # tie (a region served by one provider only) the pair, which names both
        candidates = candidates.assign(_terms=candidates["dimension_2"].notna().astype(int))
        chosen = candidates.sort_values(["incident_rate", "_terms", "excess"], ascending=False).iloc[0]
        predicates: list[tuple[str, str]] = []
        if chosen["dimension"] != "(all)":
            predicates.append((str(chosen["dimension"]), str(chosen["value"])))
        if isinstance(chosen.get("dimension_2"), str):
            predicates.append((str(chosen["dimension_2"]), str(chosen["value_2"])))
        everyone = tests[(tests["metric"] == name) & (tests["dimension"] == "(all)")]
        if not everyone.empty and chosen["n_i"] >= ALL_CALLS_SHARE * everyone["n_i"].iloc[0]:
            # a slice holding (nearly) every call is no place: the rate rose across the calls
            chosen, predicates = everyone.iloc[0], []
        findings.append(
            _finding(base, name, label, chosen, predicates, start_time, reference, incident, chunk)
        )
    findings.sort(key=lambda item: -item["excess"])
    return findings


def _pairs(
    base: ir.Table, singles: pd.DataFrame, metric: str, fallback: Mapping[str, tuple[int, int]]
) -> pd.DataFrame:
    """The conjunctions of two significant values of different dimensions (engine-side counts)."""
    rows = []
    for (_, a), (_, b) in combinations(singles.iterrows(), 2):
        if a["dimension"] == b["dimension"]:
            continue
        condition = _predicate(base, [(a["dimension"], a["value"]), (b["dimension"], b["value"])])
        counts = _counts(base.filter(condition), [], [metric])
        test = _tests(counts, [], [metric], fallback)
        if test.empty:
            continue
        row = test.iloc[0].to_dict()
        row.update(dimension=a["dimension"], value=a["value"], dimension_2=b["dimension"], value_2=b["value"])
        rows.append(row)
    return pd.DataFrame(rows)


def _finding(
    base: ir.Table,
    name: str,
    label: str,
    row: pd.Series,
    predicates: list[tuple[str, str]],
    start_time: str,
    reference: Window,
    incident: Window,
    chunk: str,
) -> dict[str, Any]:
    n_r, k_r, n_i, k_i = (int(row[c]) for c in ("n_r", "k_r", "n_i", "k_i"))
    low, high = wilson_interval(k_i, n_i)
    ref_low, ref_high = wilson_interval(k_r, n_r)
    _, diff_low, diff_high = newcombe_interval(k_i, n_i, k_r, n_r)
    hourly = _hourly(base, name, predicates, start_time, reference, incident, chunk)
    onset_predicates = list(predicates)
    if _reference_calls(hourly, incident) < MIN_REFERENCE and predicates:
        # a slice new in the incident window (a model that was not serving) has no "before": date the
        # change on the values of it that were there (its intent), else on all calls
        kept = [
            predicate
            for predicate in predicates
            if _reference_calls(
                _hourly(base, name, [predicate], start_time, reference, incident, chunk), incident
            )
            >= MIN_REFERENCE
        ]
        onset_predicates = kept
        hourly = _hourly(base, name, kept, start_time, reference, incident, chunk)
    onset = binomial_onset(hourly["n"].to_numpy(dtype=float), hourly["k"].to_numpy(dtype=float))
    starts = hourly["chunk_start"]
    step = pd.Timedelta(hours=1) if chunk == "hour" else pd.Timedelta(days=1)
    up = onset is not None and onset.direction == "up" and onset.log_bayes_factor >= 3
    inside = hourly[(starts >= pd.Timestamp(incident.start)) & (hourly["n"] > 0)]
    above = inside[_wilson_low(inside["k"], inside["n"]) > row["reference_rate"]]
    return {
        "metric": name,
        "metric_label": label,
        "where": _describe(predicates),
        "predicates": [{"column": column, "value": value} for column, value in predicates],
        "reference_calls": n_r,
        "reference_failures": k_r,
        "reference_rate": float(row["reference_rate"]),
        "reference_from": str(row.get("reference_from", "slice")),
        "reference_low": ref_low,
        "reference_high": ref_high,
        "incident_calls": n_i,
        "incident_failures": k_i,
        "incident_rate": float(row["incident_rate"]),
        "incident_low": low,
        "incident_high": high,
        "difference": float(row["incident_rate"] - row["reference_rate"]),
        "difference_low": diff_low,
        "difference_high": diff_high,
        "excess": float(row["excess"]),
        "q_value": float(row["q_value"]),
        "onset": starts.iloc[onset.index] if up and onset is not None else None,
        "onset_low": starts.iloc[onset.low] if up and onset is not None else None,
        "onset_high": starts.iloc[onset.high] + step if up and onset is not None else None,
        "onset_log_bayes_factor": None if onset is None else round(float(onset.log_bayes_factor), 3),
        "onset_series": _describe(onset_predicates),
        "chunk": chunk,
        "first_hour": None if above.empty else above["chunk_start"].iloc[0],
        "last_hour": None if above.empty else above["chunk_start"].iloc[-1] + step,
        "hours_above_reference": int(len(above)),
    }


def _reference_calls(hourly: pd.DataFrame, incident: Window) -> int:
    return int(hourly.loc[hourly["chunk_start"] < pd.Timestamp(incident.start), "n"].sum())


def _wilson_low(k: pd.Series, n: pd.Series) -> np.ndarray:
    low, _ = wilson_interval(k.to_numpy(dtype=float), n.to_numpy(dtype=float))
    return np.asarray(low)


def _hourly(
    base: ir.Table,
    name: str,
    predicates: Sequence[tuple[str, str]],
    start_time: str,
    reference: Window,
    incident: Window,
    chunk: str,
) -> pd.DataFrame:
    """Judged calls and failures per chunk of the slice, reference start to incident end (gaps as 0)."""
    part = base.filter(_predicate(base, predicates))
    unit = "h" if chunk == "hour" else "D"
    column = part[f"m:{name}"]
    counted = (
        part.mutate(chunk_start=part[start_time].truncate(unit))
        .group_by("chunk_start")
        .aggregate(n=column.notnull().cast("int64").sum(), k=column.fill_null(False).cast("int64").sum())
        .to_pandas()
    )
    edges = pd.date_range(
        pd.Timestamp(reference.start).floor(unit.lower()), pd.Timestamp(incident.end), freq=unit.lower(),
        inclusive="left",
    )  # fmt: skip
    counted["chunk_start"] = pd.to_datetime(counted["chunk_start"], utc=True)
    frame = (
        counted.set_index("chunk_start").reindex(edges, fill_value=0).rename_axis("chunk_start").reset_index()
    )
    # the gap between the windows carries no evidence: keep it (n == 0 chunks cannot be the onset)
    return frame


def _series(
    base: ir.Table, top: dict[str, Any] | None, start_time: str, reference: Window, incident: Window
) -> pd.DataFrame:
    """Daily rate of the top finding's slice and of the other calls (the figure)."""
    if top is None:
        return pd.DataFrame(columns=["series", "chunk_start", "n", "k", "rate"])
    predicates = [(item["column"], item["value"]) for item in top["predicates"]]
    span = pd.Timestamp(incident.end) - pd.Timestamp(reference.start)
    unit = "h" if span <= pd.Timedelta(days=10) else "D"
    condition = _predicate(base, predicates)
    column = base[f"m:{top['metric']}"]
    counted = (
        base.mutate(
            chunk_start=base[start_time].truncate(unit),
            series=ibis.ifelse(condition, top["where"], "other calls"),
        )
        .group_by(["series", "chunk_start"])
        .aggregate(n=column.notnull().cast("int64").sum(), k=column.fill_null(False).cast("int64").sum())
        .to_pandas()
    )
    counted = counted[counted["n"] > 0].sort_values(["series", "chunk_start"]).reset_index(drop=True)
    counted["rate"] = counted["k"] / counted["n"]
    return counted


def _continuous(
    table: ir.Table, card: DataCard, reference: Window, incident: Window
) -> dict[str, dict[str, float | None]]:
    """Latency p95 (ms) and mean output tokens per window."""
    roles = card.interaction
    assert roles is not None
    out: dict[str, dict[str, float | None]] = {}
    time = table[roles.start_time]
    for window in (reference, incident):
        part = table.filter((time >= window.start) & (time < window.end))
        values: dict[str, float | None] = {}
        if roles.duration_ms:
            values["latency_p95_ms"] = _number(part[roles.duration_ms].quantile(0.95).execute())
        if roles.output_tokens:
            values["output_tokens_mean"] = _number(part[roles.output_tokens].mean().execute())
        out[window.name or ("reference" if window is reference else "incident")] = values
    return out


def _number(value: Any) -> float | None:
    return None if value is None or (isinstance(value, float) and value != value) else round(float(value), 3)
