"""Root cause, the candidates: each piece of evidence as a candidate cause with its share and start.

Shares (see :mod:`analysis._root_cause_rank` for how they become a strength):

- a **data-quality problem** of one input: the excess failures among the incident window's decisions that
  have the problem (NULL, outside the reference range, a value never seen in the reference), over the
  window's excess; the excess of a group is its failures minus its decisions times the overall reference
  rate, its interval the binomial one of its failures. When the failure signal *is* that problem (a NULL
  or stale-input signal on the column), the share is that of the signal itself;
- a **model version**: the excess failures among the decisions the version made in the incident window,
  over the window's excess (the decomposition's conditional part per version is shown beside it);
- **concept change** and **change in mix**: the conditional and the mix part of the decomposition over the
  observed change in failure rate, with their resampling intervals;
- **covariate shift** (only when failures did not change): no share; strong when an input's PSI is at least
  0.25 and its shift began after the reference window.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import ibis.expr.types as ir
import numpy as np
import pandas as pd

from analysis._root_cause_onset import FailureChange, SeriesOnset
from analysis._root_cause_rank import CAUSE_KINDS, Candidate, ChangeEvent, OnsetWindow, Share
from analysis._root_cause_shift import LARGE_PSI, MODERATE_PSI, FeatureShift
from analysis.data import CHUNK_LENGTHS, IncidentWindows, time_literal
from register.schema import DataCard, DataQualitySignal, FailureSignal, as_utc

__all__ = ["QUALITY_KINDS", "build_candidates"]

QUALITY_KINDS: dict[str, str] = {
    "null_spike": "null_input",
    "stale_input": "stale_input",
    "frozen_input": "stale_input",
    "out_of_range": "out_of_range_input",
    "new_category": "new_category",
    "vanished_category": "new_category",
    "volume_drop": "volume_anomaly",
    "volume_spike": "volume_anomaly",
    "duplicate_ids": "duplicate_ids",
}
"""Data-quality checks and the kind of cause each finding is."""
_Z = 1.959963984540054


def _pct(value: float | None) -> str:
    if value is None or not np.isfinite(value):
        return "n/a"
    return f"{100 * value:.1f} %" if abs(value) < 0.1 else f"{100 * value:.0f} %"


def _when(value: Any) -> pd.Timestamp | None:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    return (
        pd.Timestamp(value).tz_convert("UTC") if pd.Timestamp(value).tzinfo else pd.Timestamp(value, tz="UTC")
    )


class _Shares:
    """Excess failures among the incident window's decisions that meet a condition (one query each)."""

    def __init__(
        self,
        table: ir.Table,
        card: DataCard,
        failed: ir.BooleanValue,
        windows: IncidentWindows,
        change: FailureChange,
    ) -> None:
        ts = table[card.columns.event_time]
        incident = windows.incident
        self._inside = (ts >= time_literal(ts, incident.start)) & (ts < time_literal(ts, incident.end))
        self._table, self._failed, self._change = table, failed, change
        self._as_of = dict(card.columns.input_as_of)

    def last_fresh(self, column: str, condition: ir.BooleanValue) -> pd.Timestamp | None:
        """The newest as-of time of ``column`` among the incident window's decisions meeting ``condition``."""
        as_of = self._as_of.get(column)
        if as_of is None or as_of not in self._table.columns:
            return None
        value = (
            self._table.aggregate(
                last=self._table[as_of].max(where=self._inside & condition.fill_null(False))
            )
            .execute()
            .iloc[0]["last"]
        )
        return _when(value)

    def share(self, condition: ir.BooleanValue) -> tuple[Share | None, int]:
        """The condition's share of the window's excess failures, and its decisions in the window."""
        change = self._change
        if not change.significant or change.excess is None or change.reference_rate is None:
            return None, 0
        judged = self._inside & self._failed.notnull() & condition.fill_null(False)
        row = (
            self._table.aggregate(
                n=judged.cast("int64").sum(),
                failures=(judged & self._failed.fill_null(False)).cast("int64").sum(),
            )
            .execute()
            .iloc[0]
        )
        n, failures = int(row["n"] or 0), int(row["failures"] or 0)
        total = change.excess.estimate
        if n == 0 or total <= 0:
            return None, n
        excess = failures - n * change.reference_rate
        rate = failures / n
        spread = _Z * np.sqrt(n * rate * (1 - rate))
        return Share(excess / total, (excess - spread) / total, (excess + spread) / total), n


def _lag(signal: FailureSignal, finding: pd.Series) -> pd.Timedelta:
    """How long after a feed stops its decisions count as stale: the signal's lag, else the finding's."""
    if isinstance(signal, DataQualitySignal) and signal.max_lag is not None:
        return pd.Timedelta(signal.max_lag)
    threshold = finding.get("threshold")
    hours = float(threshold) if threshold is not None and not pd.isna(threshold) else 0.0
    return pd.Timedelta(hours=hours)


def _quality_condition(
    table: ir.Table,
    finding: pd.Series,
    signal: FailureSignal,
    failed: ir.BooleanValue,
    ranges: pd.DataFrame | None,
) -> ir.BooleanValue | None:
    column, check = finding.get("column"), finding["check"]
    if (
        isinstance(signal, DataQualitySignal)
        and signal.column == column
        and (
            (signal.condition == "null" and check == "null_spike")
            or (signal.condition == "stale" and check in ("stale_input", "frozen_input"))
        )
    ):
        return failed.fill_null(False)
    if column is None or column not in table.columns:
        return None
    if check == "null_spike":
        return table[column].isnull()
    values = finding.get("values")
    if check == "new_category" and isinstance(values, (list, tuple)) and values:
        return table[column].cast("string").isin([str(value) for value in values])
    if check == "out_of_range" and ranges is not None and column in set(ranges["column"]):
        bounds = ranges.loc[ranges["column"] == column].iloc[0]
        value = table[column].cast("float64")
        return (value < float(bounds["low"])) | (value > float(bounds["high"]))
    return None


def _quality_candidates(
    findings: pd.DataFrame,
    shares: _Shares,
    table: ir.Table,
    signal: FailureSignal,
    failed: ir.BooleanValue,
    onset: OnsetWindow | None,
    ranges: pd.DataFrame | None,
    chunk: pd.Timedelta,
) -> list[Candidate]:
    """One candidate per data-quality finding; its start is the finding's first chunk (a span)."""
    out = []
    for _, finding in findings.iterrows():
        kind = QUALITY_KINDS.get(str(finding["check"]))
        if kind is None:
            continue
        column = finding.get("column")
        condition = _quality_condition(table, finding, signal, failed, ranges)
        share, n = shares.share(condition) if condition is not None else (None, 0)
        started = _when(finding.get("onset"))
        until = started + chunk if started is not None else None
        detail = finding.get("detail")
        evidence = (
            [str(detail)]
            if isinstance(detail, str) and detail
            else [f"{str(finding['check']).replace('_', ' ')} of {column or 'the log'}: {_value(finding)}"]
        )
        if share is not None:
            held = (
                "all of the excess failures"
                if share.estimate >= 1
                else f"{_pct(share.estimate)} of the excess failures"
            )
            evidence.append(
                f"decisions with this problem hold {held} ({n:,} decisions in the incident window)"
            )
        if kind == "stale_input" and condition is not None:
            frozen = shares.last_fresh(column, condition)
            if frozen is not None:  # the feed stopped at its last as-of time; staleness shows only later
                started, until = frozen, frozen + _lag(signal, finding) + chunk
                evidence.insert(
                    0,
                    f"{column} has not been updated since {frozen:%Y-%m-%d %H:%M} UTC (the "
                    "newest as-of time among its stale decisions)",
                )
        out.append(
            Candidate.build(
                kind,
                str(column or "volume"),
                f"{CAUSE_KINDS[kind]}: {column or 'decisions'}",
                evidence,
                share=share,
                started=started.to_pydatetime() if started is not None else None,
                onset=onset,
                started_until=until.to_pydatetime() if until is not None else None,
                columns=(str(column),) if column else (),
            )
        )
    return out


def _value(finding: pd.Series) -> str:
    value, reference = finding.get("value"), finding.get("reference_value")
    text = ""
    if value is not None and not pd.isna(value):
        text = f"{_pct(float(value))}" if abs(float(value)) <= 1 else f"{float(value):,.0f}"
        if reference is not None and not pd.isna(reference):
            ref = f"{_pct(float(reference))}" if abs(float(reference)) <= 1 else f"{float(reference):,.0f}"
            text += f" (reference {ref})"
    rows = finding.get("rows_affected")
    if rows is not None and not pd.isna(rows):
        text += f"; {int(rows):,} decisions affected"
    return text or "see the data-quality table"


def _signal_candidate(
    signal: FailureSignal, change: FailureChange, findings: pd.DataFrame
) -> list[Candidate]:
    """When the failure signal is a data-quality condition and no finding names its column: the signal."""
    if not isinstance(signal, DataQualitySignal) or not change.significant or change.window is None:
        return []
    if not findings.empty and (findings.get("column") == signal.column).any():
        return []
    kind = "null_input" if signal.condition == "null" else "stale_input"
    evidence = [
        f"the failure signal is this problem: {signal.column} {signal.condition}, "
        f"{_pct(change.reference_rate)} of decisions before, {_pct(change.incident_rate)} during"
    ]
    return [
        Candidate.build(
            kind,
            signal.column,
            f"{CAUSE_KINDS[kind]}: {signal.column}",
            evidence,
            share=Share(1.0, 1.0, 1.0),
            started=change.window.at,
            onset=change.window,
            columns=(signal.column,),
        )
    ]


def _model_candidates(
    events: Sequence[ChangeEvent],
    shares: _Shares,
    table: ir.Table,
    card: DataCard,
    decomposition: Any,
    onset: OnsetWindow | None,
) -> list[Candidate]:
    out: list[Candidate] = []
    seen: set[str] = set()
    version_column = card.columns.model_version
    by_version = _by_version(decomposition)
    for event in sorted(events, key=lambda e: (e.source != "logs", e.at)):
        version = event.model_version
        if event.kind not in ("model version switch", "deploy") or (version and version in seen):
            continue
        if version:
            seen.add(version)
        share, n = (None, 0)
        if version and version_column:
            share, n = shares.share(table[version_column].cast("string") == version)
        evidence = [f"{event.description} ({event.source}, {event.at:%Y-%m-%d %H:%M} UTC)"]
        if share is not None:
            evidence.append(
                f"decisions of model {version} hold {_pct(share.estimate)} of the excess failures "
                f"({n:,} decisions in the incident window)"
            )
        if version in by_version:
            part = by_version[version]
            evidence.append(f"on the same kind of input, model {version} changed the failure rate by {part}")
        candidate = Candidate.build(
            "model_change",
            version or event.description[:40],
            f"{CAUSE_KINDS['model_change']}: {version or event.description}",
            evidence,
            share=share,
            started=event.at,
            onset=onset,
            model_version=version,
        )
        if candidate.timing == "before":  # it served before failures rose: its own decisions refute it
            candidate = replace(
                candidate,
                strength="weak",
                evidence=(
                    *candidate.evidence,
                    (
                        f"model {version or ''} was already serving {_ago(event.at, onset)} before failures "
                        "rose, and the failure rate stayed at its reference level meanwhile"
                    ),
                ),
            )
        out.append(candidate)
    return out


def _ago(when: Any, onset: OnsetWindow | None) -> str:
    if onset is None:
        return "well"
    days = (onset.low - when).total_seconds() / 86_400
    return f"{days:.1f} days" if days >= 1 else f"{24 * days:.0f} hours"


def _by_version(decomposition: Any) -> dict[str, str]:
    frame = getattr(decomposition, "by_version", None)
    if frame is None or not isinstance(frame, pd.DataFrame) or frame.empty:
        return {}
    out = {}
    for _, row in frame.iterrows():
        estimate = row.get("conditional", row.get("estimate"))
        if estimate is None or pd.isna(estimate):
            continue
        low, high = row.get("low", row.get("conditional_low")), row.get("high", row.get("conditional_high"))
        interval = (
            f" (95 % interval {100 * low:+.1f} to {100 * high:+.1f} points)"
            if low is not None and high is not None and not pd.isna(low)
            else ""
        )
        out[str(row["model_version"])] = f"{100 * float(estimate):+.1f} points{interval}"
    return out


def _part(decomposition: Any, name: str) -> tuple[float, float | None, float | None]:
    part = getattr(decomposition, name)
    if isinstance(part, dict):
        return float(part["estimate"]), part.get("low"), part.get("high")
    return float(part.estimate), getattr(part, "low", None), getattr(part, "high", None)


def _decomposition_candidates(
    decomposition: Any, change: FailureChange, shifts: Sequence[FeatureShift], onset: OnsetWindow | None
) -> list[Candidate]:
    if decomposition is None or not change.significant:
        return []
    observed = float(decomposition.observed_change)
    if observed <= 0:
        return []
    keys = ", ".join(decomposition.keys)
    out = []
    for name, kind in (("conditional", "concept_change"), ("mix", "covariate_mix")):
        estimate, low, high = _part(decomposition, name)
        share = Share(
            estimate / observed,
            low / observed if low is not None else None,
            high / observed if high is not None else None,
        )
        evidence = [
            f"the {name} part over {keys} is {100 * estimate:+.1f} points of the {100 * observed:+.1f}-point "
            f"change"
            + (
                f" (95 % interval {100 * low:+.1f} to {100 * high:+.1f})"
                if low is not None and high is not None
                else ""
            )
        ]
        if kind == "covariate_mix":
            moved = [shift.describe() for shift in shifts if shift.psi >= MODERATE_PSI][:2]
            if moved:
                evidence.append("who came changed: " + "; ".join(moved))
            c_est, c_low, c_high = _part(decomposition, "conditional")
            if c_low is not None and c_high is not None and c_low <= 0 <= c_high:
                evidence.append("the conditional part is indistinguishable from 0: no sign of a model fault")
        out.append(
            Candidate.build(
                kind,
                keys,
                f"{CAUSE_KINDS[kind]} (over {keys})",
                evidence,
                share=share,
                started=None,
                onset=onset,
                timed=False,
                columns=tuple(decomposition.keys),
            )
        )
    return out


def _shift_candidates(
    shifts: Sequence[FeatureShift], change: FailureChange, windows: IncidentWindows
) -> list[Candidate]:
    if change.significant:
        return []
    moved = [shift for shift in shifts if shift.psi >= MODERATE_PSI]
    if not moved:
        return []
    starts = [
        shift.onset.window.at
        for shift in moved
        if shift.onset is not None and shift.onset.significant and shift.onset.window is not None
    ]
    started = min(starts) if starts else None
    large = (
        any(shift.psi >= LARGE_PSI for shift in moved)
        and started is not None
        and (started >= as_utc(windows.reference.end))
    )
    evidence = [shift.describe() for shift in moved[:4]]
    evidence.append(
        f"failures did not change significantly ({change.onset.series}: "
        f"{_pct(change.reference_rate)} before, {_pct(change.incident_rate)} during)"
    )
    subject = ", ".join(shift.feature for shift in moved)
    return [
        Candidate.build(
            "covariate_shift",
            subject,
            f"{CAUSE_KINDS['covariate_shift']}: {subject}",
            evidence,
            share=None,
            started=started,
            onset=None,
            large_shift=large,
            columns=tuple(shift.feature for shift in moved),
        )
    ]


def build_candidates(
    *,
    change: FailureChange,
    slices: Any,
    decomposition: Any,
    quality: Any,
    shifts: Sequence[FeatureShift],
    events: Sequence[ChangeEvent],
    table: ir.Table,
    card: DataCard,
    signal: FailureSignal,
    windows: IncidentWindows,
    failed: ir.BooleanValue,
    onsets: Sequence[SeriesOnset],
) -> list[Candidate]:
    """Every candidate cause the evidence supports (unranked; see :func:`rank_candidates`)."""
    onset = change.window
    shares = _Shares(table, card, failed, windows, change)
    findings = quality.findings if quality is not None else pd.DataFrame()
    candidates: list[Candidate] = [
        *_quality_candidates(
            findings,
            shares,
            table,
            signal,
            failed,
            onset,
            getattr(quality, "ranges", None),
            CHUNK_LENGTHS.get(getattr(quality, "chunk", "day"), CHUNK_LENGTHS["day"]),
        ),
        *_signal_candidate(signal, change, findings),
        *_model_candidates(events, shares, table, card, decomposition, onset),
        *_decomposition_candidates(decomposition, change, shifts, onset),
        *_shift_candidates(shifts, change, windows),
    ]
    return _merged(candidates)


def _merged(candidates: Sequence[Candidate]) -> list[Candidate]:
    """One candidate per (kind, subject): a stale and a frozen finding of one input are one cause."""
    order = {"strong": 0, "moderate": 1, "weak": 2}
    kept: dict[tuple[str, str], Candidate] = {}
    for candidate in candidates:
        key = (candidate.kind, candidate.subject)
        if key not in kept:
            kept[key] = candidate
            continue
        first = kept[key]
        best, other = (
            (candidate, first) if order[candidate.strength] < order[first.strength] else (first, candidate)
        )
        extra = tuple(item for item in other.evidence if item not in best.evidence)
        kept[key] = replace(best, evidence=(*best.evidence, *extra))
    return list(kept.values())
