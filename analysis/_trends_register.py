"""Cross-incident tables: volume, burn-up, SLA compliance, recurrence, post-mortems, regulatory clocks.

Pure pandas over register DataFrames (field names of :mod:`register.schema`); every function takes the
incidents already filtered and their times already masked as of the analysis time
(:func:`analysis.trends.prepare_incidents`). Periods are calendar months/quarters in UTC of the time an
incident became known (``aware_at``: the one time every record has).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "burn_up",
    "postmortem_status",
    "recurrence",
    "regulatory_clocks",
    "sla_compliance",
    "volume",
]

VOLUME_DIMENSIONS = ("severity", "category", "system_id", "detection_source", "root_cause_category", "origin")
"""The columns incidents are counted by (besides kind: incident or near-miss)."""

NOT_RECORDED = "not recorded"
"""The label of a missing value in every count (never imputed, never dropped)."""


def among(values: pd.Series, keys: pd.Series) -> np.ndarray:
    """Whether each value is one of ``keys``, by hashing both as Python strings once.

    ``Series.isin`` on Arrow-backed strings builds its value set with a Python loop (about a second per
    call for 100k ids); an object ``Index`` lookup is a C hash table.

    Examples
    --------
    >>> among(pd.Series(["a", "b", None]), pd.Series(["b", "c"])).tolist()
    [False, True, False]
    """
    index = pd.Index(keys.to_numpy(dtype=object)).unique()
    return np.asarray(index.get_indexer(values.to_numpy(dtype=object)) >= 0)


def period_labels(moments: pd.Series, freq: str) -> pd.Series:
    """``2026-03`` (month) or ``2026Q1`` (quarter) of each UTC time."""
    return pd.to_datetime(moments, utc=True).dt.tz_convert(None).dt.to_period(freq).astype(str)


def _labelled(column: pd.Series) -> pd.Series:
    text = column.astype("string").str.strip()
    return text.where(text.notna() & text.ne(""), NOT_RECORDED).astype(object)


def volume(incidents: pd.DataFrame, *, freq: str = "Q") -> dict[str, list[dict[str, Any]]]:
    """Incidents per period and per value of each dimension, split by kind (incident / near-miss).

    Parameters
    ----------
    incidents : pandas.DataFrame
        Prepared incidents (``aware_at``, ``kind`` and the dimension columns that exist).
    freq : str
        ``"Q"`` (quarters) or ``"M"`` (months).

    Returns
    -------
    dict
        Per dimension, rows ``{"period", "value", "incidents", "near_misses"}`` sorted by period then
        value; ``"total"`` counts per period only.
    """
    if incidents.empty:
        return {"total": [], **{dimension: [] for dimension in VOLUME_DIMENSIONS}}
    period = period_labels(incidents["aware_at"], freq)
    near = incidents.get("kind", pd.Series("incident", index=incidents.index)).eq("near_miss")
    base = pd.DataFrame({"period": period.to_numpy(), "near": near.to_numpy(dtype=bool)})
    result: dict[str, list[dict[str, Any]]] = {}
    for dimension in ("total", *VOLUME_DIMENSIONS):
        frame = base.copy()
        if dimension == "total":
            frame["value"] = "all"
        elif dimension in incidents:
            frame["value"] = _labelled(incidents[dimension]).to_numpy()
        else:
            frame["value"] = NOT_RECORDED
        counts = frame.groupby(["period", "value", "near"]).size().unstack("near", fill_value=0)
        counts = counts.reindex(columns=[False, True], fill_value=0)
        result[dimension] = [
            {"period": p, "value": v, "incidents": int(a), "near_misses": int(b)}
            for (p, v), a, b in zip(counts.index, counts[False], counts[True], strict=True)
        ]
    return result


def burn_up(incidents: pd.DataFrame, as_of: pd.Timestamp, *, freq: str = "M") -> list[dict[str, Any]]:
    """Cumulative incidents opened and closed by the end of each period up to ``as_of`` (a burn-up).

    An incident counts as closed while its ``closed_at`` (masked as of ``as_of``) is set; a reopened
    incident has no ``closed_at`` (the lifecycle clears it) and counts as open again.
    """
    if incidents.empty:
        return []
    aware = pd.to_datetime(incidents["aware_at"], utc=True)
    closed = pd.to_datetime(incidents.get("closed_at", pd.Series(pd.NaT, index=incidents.index)), utc=True)
    start = aware.min().tz_convert(None).to_period(freq)
    end = as_of.tz_convert(None).to_period(freq)
    periods = pd.period_range(start, end, freq=freq)
    ends = periods.end_time.to_numpy(dtype="datetime64[ns]")
    ends = np.minimum(ends, as_of.tz_convert(None).to_datetime64().astype("datetime64[ns]"))
    opened_sorted = np.sort(aware.dt.tz_convert(None).to_numpy(dtype="datetime64[ns]"))
    closed_sorted = np.sort(closed.dropna().dt.tz_convert(None).to_numpy(dtype="datetime64[ns]"))
    opened = np.searchsorted(opened_sorted, ends, side="right")
    done = np.searchsorted(closed_sorted, ends, side="right")
    return [
        {"period": str(p), "opened": int(o), "closed": int(c), "open": int(o - c)}
        for p, o, c in zip(periods, opened, done, strict=True)
    ]


def sla_compliance(
    incidents: pd.DataFrame, metrics: pd.DataFrame, *, freq: str = "Q", limit: int = 50
) -> dict[str, Any]:
    """Acknowledged within the response SLA, per severity and per (period, severity), with breaches.

    ``response_sla_met`` (:func:`register.metrics.incident_metrics`) is true, false (a breach: late, or
    unacknowledged past the SLA) or NA (the clock still runs, or the severity has no SLA); incidents
    whose response was not recorded by this register are counted apart, never as breaches.

    Returns
    -------
    dict
        ``by_severity`` and ``by_period`` rows (``met, breached, running, not_recorded, rate`` with a
        Wilson 95 % interval over the decided ones), ``breaches`` (the first ``limit``, most overdue
        first) and ``n_breaches``.
    """
    met = metrics["response_sla_met"].astype("boolean")
    recorded = metrics["response_recorded"].to_numpy(dtype=bool)
    frame = pd.DataFrame(
        {
            "severity": incidents["severity"].astype(object).to_numpy(),
            "period": period_labels(incidents["aware_at"], freq).to_numpy() if len(incidents) else [],
            "met": (met.fillna(False) & recorded).to_numpy(dtype=bool),
            "breached": ((~met.fillna(True)) & recorded).to_numpy(dtype=bool),
            "running": (met.isna() & recorded).to_numpy(dtype=bool),
            "not_recorded": ~recorded,
        }
    )

    def rows(keys: list[str]) -> list[dict[str, Any]]:
        if frame.empty:
            return []
        sums = frame.groupby(keys, sort=True)[["met", "breached", "running", "not_recorded"]].sum()
        decided = (sums["met"] + sums["breached"]).to_numpy(dtype=float)
        from analysis.stats import wilson_interval  # SciPy, imported when used

        low, high = wilson_interval(sums["met"].to_numpy(dtype=float), decided)
        out = []
        for i, key in enumerate(sums.index):
            key_values = key if isinstance(key, tuple) else (key,)
            row = dict(zip(keys, key_values, strict=True))
            row.update({name: int(sums[name].iloc[i]) for name in sums.columns})
            row["rate"] = float(sums["met"].iloc[i] / decided[i]) if decided[i] else None
            row["rate_low"] = float(low[i]) if decided[i] else None
            row["rate_high"] = float(high[i]) if decided[i] else None
            out.append(row)
        return out

    breached = frame["breached"].to_numpy()
    late = pd.DataFrame(
        {
            "id": incidents["id"].to_numpy()[breached],
            "severity": frame["severity"].to_numpy()[breached],
            "system_id": incidents.get("system_id", pd.Series(None, index=incidents.index)).to_numpy()[
                breached
            ],
            "aware_at": pd.to_datetime(incidents["aware_at"], utc=True).to_numpy()[breached],
            "acknowledge_hours": metrics["time_to_acknowledge_hours"].to_numpy(dtype=float)[breached],
            "sla_hours": (metrics["response_sla"] / pd.Timedelta(hours=1)).to_numpy(dtype=float)[breached],
            "over_by_hours": -metrics["response_sla_margin_hours"].to_numpy(dtype=float)[breached],
        }
    ).sort_values(["over_by_hours", "id"], ascending=[False, True], kind="stable")
    return {
        "by_severity": rows(["severity"]),
        "by_period": rows(["period", "severity"]),
        "n_breaches": int(breached.sum()),
        "breaches": _records(late.head(limit)),
    }


def recurrence(
    incidents: pd.DataFrame,
    *,
    keys: pd.Series | None = None,
    horizon_days: float = 90.0,
    limit: int = 50,
) -> dict[str, Any]:
    """Incidents that recur: the same key within ``horizon_days`` of the previous one with that key.

    Parameters
    ----------
    incidents : pandas.DataFrame
        Prepared incidents (``id``, ``aware_at``, ``system_id``, ``root_cause_category``).
    keys : pandas.Series, optional
        The recurrence key per incident (NA = no key); default: the AI system and the root-cause
        category together, compared case- and space-insensitively (both must be recorded); each group
        is shown (``label``) as its first incident recorded it.
    horizon_days : float
        How close (in days, by ``aware_at``) a repeat must follow its predecessor to count.
    limit : int
        How many chains to list.

    Returns
    -------
    dict
        ``with_key`` (incidents that have a key), ``recurrences`` (incidents that repeat an earlier
        one within the horizon), ``rate`` (recurrences / with_key), ``chains`` (runs of two or more
        incidents, each within the horizon of the previous: key, ids, their times, first and last; longest
        first), ``n_chains`` and ``top_causes`` (per key: incidents, recurrences).
    """
    if keys is None:
        system = incidents.get("system_id", pd.Series(None, index=incidents.index)).astype("string")
        cause = incidents.get("root_cause_category", pd.Series(None, index=incidents.index))
        text = cause.astype("string").str.strip()
        norm = text.str.lower().str.replace(r"[\s_-]+", " ", regex=True)
        keys = (system + " / " + norm).where(system.notna() & norm.notna() & norm.ne(""))
        labels = system + " / " + text
    else:
        labels = keys
    frame = pd.DataFrame(
        {
            "id": incidents["id"].to_numpy(),
            "key": keys.astype(object).to_numpy(),
            "label": labels.astype(object).to_numpy(),
            # naive UTC datetime64 (a tz-aware column would become an object array of Timestamps)
            "aware_at": pd.to_datetime(incidents["aware_at"], utc=True).dt.tz_convert(None).to_numpy(),
        }
    )
    frame = frame[frame["key"].notna()].sort_values(["key", "aware_at", "id"], kind="stable")
    horizon = pd.Timedelta(days=horizon_days)
    same = frame["key"].eq(frame["key"].shift())
    gap = frame["aware_at"] - frame["aware_at"].shift()
    repeat = (same & (gap <= horizon)).to_numpy(dtype=bool)
    frame["repeat"] = repeat
    frame["chain"] = np.cumsum(~repeat)
    spans = frame.groupby("chain", sort=False).agg(
        key=("key", "first"),
        label=("label", "first"),
        length=("id", "size"),
        first=("aware_at", "min"),
        last=("aware_at", "max"),
    )
    spans = spans[spans["length"] >= 2].sort_values(
        ["length", "last"], ascending=[False, False], kind="stable"
    )
    shown = spans.head(limit)
    members = frame[frame["chain"].isin(shown.index)].groupby("chain", sort=False)
    ids = members["id"].agg(list)
    times = members["aware_at"].agg(list)
    causes = frame.groupby("key").agg(
        label=("label", "first"), incidents=("id", "size"), recurrences=("repeat", "sum")
    )
    causes = causes[causes["recurrences"] > 0].sort_values(
        ["recurrences", "incidents"], ascending=False, kind="stable"
    )
    with_key = len(frame)
    return {
        "horizon_days": float(horizon_days),
        "with_key": int(with_key),
        "without_key": int(len(incidents) - with_key),
        "recurrences": int(repeat.sum()),
        "rate": float(repeat.sum() / with_key) if with_key else None,
        "n_chains": int(len(spans)),
        "chains": [
            {
                "key": str(row.key),
                "label": str(row.label),
                "ids": [str(i) for i in ids[chain]],
                "times": [_iso_utc(moment) for moment in times[chain]],
                "first": _iso_utc(row.first),
                "last": _iso_utc(row.last),
                "length": int(row.length),
            }
            for chain, row in zip(shown.index, shown.itertuples(index=False), strict=True)
        ],
        "top_causes": [
            {"key": str(key), "label": str(label), "incidents": int(n), "recurrences": int(r)}
            for key, label, n, r in zip(
                causes.index, causes["label"], causes["incidents"], causes["recurrences"], strict=True
            )
        ][:limit],
    }


def postmortem_status(incidents: pd.DataFrame, metrics: pd.DataFrame, *, limit: int = 50) -> dict[str, Any]:
    """Post-mortems the policy requires: done, due (deadline running), overdue, awaiting resolution.

    A post-mortem is *done* when reviewed or published; its deadline runs from resolution, so a required
    one of an unresolved incident is *awaiting resolution* (no due date yet).
    """
    required = metrics["postmortem_required"].fillna(False).to_numpy(dtype=bool)
    recorded = metrics["response_recorded"].to_numpy(dtype=bool)
    required &= recorded
    status = incidents.get("postmortem_status", pd.Series(None, index=incidents.index)).astype(object)
    done = status.isin(["reviewed", "published"]).to_numpy(dtype=bool) & required
    due_at = pd.to_datetime(metrics["postmortem_due_at"], utc=True)
    overdue = metrics["postmortem_overdue"].to_numpy(dtype=bool) & required
    running = required & ~done & ~overdue & due_at.notna().to_numpy()
    waiting = required & ~done & due_at.isna().to_numpy()
    listing = pd.DataFrame(
        {
            "id": incidents["id"].to_numpy(),
            "severity": incidents["severity"].astype(object).to_numpy(),
            "system_id": incidents.get("system_id", pd.Series(None, index=incidents.index)).to_numpy(),
            "postmortem_status": status.to_numpy(),
            "due_at": due_at.to_numpy(),
        }
    )
    late = listing[overdue].sort_values(["due_at", "id"], kind="stable")
    upcoming = listing[running].sort_values(["due_at", "id"], kind="stable")
    return {
        "required": int(required.sum()),
        "done": int(done.sum()),
        "due": int(running.sum()),
        "overdue": int(overdue.sum()),
        "awaiting_resolution": int(waiting.sum()),
        "overdue_list": _records(late.head(limit)),
        "due_list": _records(upcoming.head(limit)),
    }


def regulatory_clocks(
    notifications: pd.DataFrame | None,
    recorded_ids: pd.Series | None,
    as_of: pd.Timestamp,
    *,
    limit: int = 50,
) -> dict[str, Any]:
    """Notifications owed per regime: sent on time, sent late, pending (clock running), overdue.

    Parameters
    ----------
    notifications : pandas.DataFrame
        :func:`register.metrics.notification_status` of the incidents shown.
    recorded_ids : pandas.Series or None
        Incidents whose response this register recorded; notifications of the others are counted as
        ``not_recorded`` (a public record's clocks are not ours to judge). None: all recorded.
    as_of : pandas.Timestamp
        The time clocks are judged at.
    limit : int
        How many open notifications to list (most urgent first).

    Returns
    -------
    dict
        ``by_regime`` rows (``regime, owed, sent_on_time, sent_late, pending, overdue, not_recorded``)
        and ``open`` (unsent ones: incident, regime, report type, due time and hours left, negative
        when overdue), ``n_open``.
    """
    if notifications is None or notifications.empty:
        return {"by_regime": [], "open": [], "n_open": 0}
    table = notifications.copy()
    table["regime"] = table["regime"].astype(object).where(table["regime"].notna(), "other (no regime)")
    ours = (
        among(table["incident_id"], recorded_ids)
        if recorded_ids is not None
        else np.ones(len(table), dtype=bool)
    )
    pending = table["pending"].to_numpy(dtype=bool)
    overdue = table["overdue"].to_numpy(dtype=bool)
    late = table["late"].to_numpy(dtype=bool)
    counts = pd.DataFrame(
        {
            "regime": table["regime"].to_numpy(),
            "owed": ours,
            "sent_on_time": ours & ~pending & ~late,
            "sent_late": ours & late,
            "pending": ours & pending & ~overdue,
            "overdue": ours & overdue,
            "not_recorded": ~ours,
        }
    )
    sums = counts.groupby("regime", sort=True).sum()
    due = pd.to_datetime(table["due_at"], utc=True)
    still = ours & pending
    opened = pd.DataFrame(
        {
            "incident_id": table["incident_id"].to_numpy()[still],
            "regime": table["regime"].to_numpy()[still],
            "report_type": table["report_type"].astype(object).to_numpy()[still],
            "due_at": due.to_numpy()[still],
            "hours_left": ((due - as_of) / pd.Timedelta(hours=1)).to_numpy(dtype=float)[still],
            "overdue": overdue[still],
        }
    ).sort_values(["hours_left", "incident_id"], kind="stable", na_position="last")
    return {
        "by_regime": [
            {"regime": str(regime), **{k: int(v) for k, v in row.items()}} for regime, row in sums.iterrows()
        ],
        "open": _records(opened.head(limit)),
        "n_open": int(still.sum()),
    }


def _iso_utc(moment: Any) -> str:
    """ISO-8601 of a naive-UTC or aware time, always with its UTC offset."""
    stamp = pd.Timestamp(moment)
    return (stamp if stamp.tzinfo else stamp.tz_localize("UTC")).isoformat()


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """JSON-able rows: times as ISO-8601 UTC, NaN/NaT as None, numpy scalars as Python ones."""
    out: list[dict[str, Any]] = []
    for row in frame.to_dict("records"):
        clean: dict[str, Any] = {}
        for key, value in row.items():
            if value is None or value is pd.NaT or value is pd.NA:
                clean[key] = None
            elif isinstance(value, (pd.Timestamp, np.datetime64)):
                stamp = pd.Timestamp(value)
                if pd.isna(stamp):
                    clean[key] = None
                else:
                    clean[key] = (stamp if stamp.tzinfo else stamp.tz_localize("UTC")).isoformat()
            elif isinstance(value, float) and np.isnan(value):
                clean[key] = None
            elif isinstance(value, np.generic):
                clean[key] = value.item()
            else:
                clean[key] = value
        out.append(clean)
    return out
