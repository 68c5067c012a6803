"""Trends across incidents: what keeps happening, how fast the response is, what is overdue.

The governance lead's analysis, over register DataFrames (pure: nothing is read that the caller did
not pass). :func:`trend_summary` takes the incidents, their derived metrics
(:func:`register.metrics.incident_metrics`), the notification clocks
(:func:`register.metrics.notification_status`) and the action items, filters them, and returns one
:class:`TrendSummary` (the ``summary.json`` of a trends run, which the dashboard and the digest both
render, so their numbers are the same numbers):

- **volume** per quarter (or month) by severity, category, AI system, detection source, root-cause
  category and origin (own register or a public database), incidents and near-misses apart; a burn-up of
  opened and closed incidents (of the register's own records: a public record has no lifecycle of ours);
- **speed**: time to detect, acknowledge, contain, resolve and close, median and p90 with
  distribution-free intervals per severity, medians per quarter and a Kendall-tau trend test
  (:mod:`analysis._trends_speed`);
- **SLA compliance** per severity and quarter (acknowledged within the policy's response SLA) with the
  breaches listed;
- **recurrence** of the same AI system and root-cause category within a horizon (default 90 days), and
  of the same AI system and incident category (the taxonomy class: recorded for every incident, so it
  also covers incidents whose root cause is not recorded yet);
- **action items** (:mod:`analysis._trends_actions`), **post-mortems** due and overdue and
  **regulatory clocks** per regime, all as of the analysis time.

Missing times are counted as "not recorded", never imputed. An incident whose response this register
did not record (a public or imported record, ``response_recorded`` false in the metrics) is counted in
volume and taxonomy tables and as "not recorded" in every response measure: never a breach.

Examples
--------
>>> import pandas as pd
>>> from datetime import UTC, datetime
>>> incidents = pd.DataFrame({
...     "id": ["INC-2026-0001", "INC-2026-0002"], "severity": ["SEV-2", "SEV-3"],
...     "category": ["data_quality", "fairness_bias"], "system_id": ["fraud", "fraud"],
...     "kind": ["incident", "near_miss"], "status": ["closed", "detected"],
...     "aware_at": pd.to_datetime(["2026-01-05 10:00", "2026-02-01 09:00"], utc=True),
...     "acknowledged_at": pd.to_datetime(["2026-01-05 10:30", None], utc=True)})
>>> prepared = prepare_incidents(incidents, as_of=datetime(2026, 3, 1, tzinfo=UTC))
>>> [(row["period"], row["incidents"], row["near_misses"]) for row in volume(prepared)["total"]]
[('2026Q1', 1, 1)]
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
from pydantic import ValidationError

from analysis._trends_model import TrendError, TrendFilters, TrendSummary, TrendTables
from analysis._trends_register import (
    NOT_RECORDED,
    _records,
    among,
    burn_up,
    period_labels,
    postmortem_status,
    recurrence,
    regulatory_clocks,
    sla_compliance,
    volume,
)
from analysis._trends_speed import MEASURES, duration_hours, quarterly_medians, speed_table, speed_trends
from register.schema import INCIDENT_TIME_FIELDS, as_utc

__all__ = [
    "MEASURES",
    "NOT_RECORDED",
    "TrendError",
    "TrendFilters",
    "TrendSummary",
    "TrendTables",
    "load_trend_summary",
    "prepare_incidents",
    "trend_summary",
    "volume",
    "write_trend_outputs",
]

TIME_COLUMNS = INCIDENT_TIME_FIELDS
_RESPONSE_TIMES = ("acknowledged_at", "contained_at", "resolved_at", "closed_at")
_OVERDUE_COLUMNS = (
    "id", "incident_id", "title", "owner", "team", "kind", "priority", "due_at", "days_overdue", "system_id",
)  # fmt: skip


def _utc(value: datetime | None) -> pd.Timestamp | None:
    return None if value is None else pd.Timestamp(as_utc(value))


def prepare_incidents(
    incidents: pd.DataFrame,
    *,
    as_of: datetime,
    filters: TrendFilters | None = None,
    metrics: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Filter incidents and mask their times as of ``as_of``.

    Incidents that became known after ``as_of`` are left out; any other time after ``as_of`` is
    treated as not yet happened (NaT). Adds ``origin`` (``own`` or the public source) and
    ``response_recorded`` (from ``metrics`` when given; otherwise: an own record, or one with any
    response time).

    Parameters
    ----------
    incidents : pandas.DataFrame
        Register incidents (``id`` and ``aware_at`` at least).
    as_of : datetime
    filters : TrendFilters, optional
    metrics : pandas.DataFrame, optional
        :func:`register.metrics.incident_metrics` of the same incidents (aligned by ``id``).

    Returns
    -------
    pandas.DataFrame
        The matching incidents, index reset.
    """
    missing = [name for name in ("id", "aware_at") if name not in incidents]
    if missing:
        raise TrendError(
            f"incidents must have the columns id and aware_at. Got {sorted(incidents.columns)} instead "
            "(read them with Register.incidents_frame())."
        )
    as_of_ts = pd.Timestamp(as_utc(as_of))
    filters = filters or TrendFilters()
    frame = incidents.copy()
    for column in TIME_COLUMNS:
        if column in frame:
            values = pd.to_datetime(frame[column], utc=True, format="ISO8601")
            frame[column] = values.where(values <= as_of_ts)
        else:
            frame[column] = pd.Series(pd.NaT, index=frame.index, dtype="datetime64[us, UTC]")
    keep = frame["aware_at"].notna().to_numpy(dtype=bool, copy=True)
    start, end = _utc(filters.start), _utc(filters.end)
    if start is not None and end is not None and end <= start:
        raise TrendError(f"the period's end must be after its start. Got {start} to {end} instead.")
    if start is not None:
        keep &= (frame["aware_at"] >= start).to_numpy(dtype=bool)
    if end is not None:
        keep &= (frame["aware_at"] < end).to_numpy(dtype=bool)
    for column, values in (
        ("system_id", filters.systems),
        ("severity", filters.severities),
        ("category", filters.categories),
    ):
        if values:
            if column not in frame:
                keep &= False
            else:
                keep &= frame[column].astype(object).isin(list(values)).to_numpy(dtype=bool)
    for column in ("severity", "category", "status", "kind", "detection_source", "postmortem_status"):
        if column in frame:
            frame[column] = frame[column].astype(object).map(lambda v: v if v is None or v != v else str(v))
    source = frame["source"] if "source" in frame else pd.Series(None, index=frame.index, dtype=object)
    frame["origin"] = source.astype(object).where(source.notna(), "own")
    if metrics is not None and "response_recorded" in metrics:
        recorded = metrics.set_index("id")["response_recorded"].reindex(frame["id"]).fillna(True)
        frame["response_recorded"] = recorded.to_numpy(dtype=bool)
    else:
        any_response = frame[list(_RESPONSE_TIMES)].notna().any(axis=1)
        frame["response_recorded"] = (source.isna() | any_response).to_numpy(dtype=bool)
    return frame[keep].reset_index(drop=True)


def _aligned_metrics(metrics: pd.DataFrame | None, incidents: pd.DataFrame) -> pd.DataFrame:
    """The metrics rows of the prepared incidents, in their order (response columns masked)."""
    if metrics is None:
        raise TrendError("trend_summary needs the incidents' metrics (register.metrics.incident_metrics).")
    needed = {"id", "response_sla_met", "response_sla", "response_sla_margin_hours",
              "time_to_acknowledge_hours",
              "postmortem_required", "postmortem_due_at", "postmortem_overdue"}  # fmt: skip
    missing = sorted(needed - set(metrics.columns))
    if missing:
        raise TrendError(f"metrics must have the columns of incident_metrics. Missing {missing}.")
    aligned = metrics.drop_duplicates("id").set_index("id").reindex(incidents["id"]).reset_index()
    aligned["response_recorded"] = incidents["response_recorded"].to_numpy(dtype=bool)
    return aligned


def _sla_hours(metrics: pd.DataFrame, incidents: pd.DataFrame) -> dict[str, float]:
    hours = (metrics["response_sla"] / pd.Timedelta(hours=1)).to_numpy(dtype=float)
    table = pd.DataFrame({"severity": incidents["severity"].to_numpy(), "hours": hours}).dropna()
    return {str(k): float(v) for k, v in table.groupby("severity")["hours"].first().items()}


def trend_summary(
    incidents: pd.DataFrame,
    *,
    metrics: pd.DataFrame,
    as_of: datetime,
    filters: TrendFilters | None = None,
    notifications: pd.DataFrame | None = None,
    action_items: pd.DataFrame | None = None,
    recurrence_days: float = 90.0,
    new_since: datetime | None = None,
    freq: str = "Q",
    limit: int = 50,
) -> tuple[TrendSummary, TrendTables]:
    """Everything the trend dashboard and the governance digest show, as of one time.

    Parameters
    ----------
    incidents : pandas.DataFrame
        Register incidents (:meth:`register.Register.incidents_frame`).
    metrics : pandas.DataFrame
        :func:`register.metrics.incident_metrics` of (at least) the same incidents, same ``as_of``.
    as_of : datetime
        The time everything is judged at (times after it have not happened yet).
    filters : TrendFilters, optional
        Period (by ``aware_at``), systems, severities, categories.
    notifications : pandas.DataFrame, optional
        :func:`register.metrics.notification_status` (same ``as_of``); filtered to the incidents here.
    action_items : pandas.DataFrame, optional
        Register action items (:meth:`register.Register.action_items_frame`).
    recurrence_days : float
        The recurrence horizon.
    new_since : datetime, optional
        Start of "what is new" in the digest (default: the filter's start, else 30 days before
        ``as_of``).
    freq : str
        ``"Q"`` or ``"M"``: the period of volume and SLA tables.
    limit : int
        How many rows every listing keeps (the full tables are in the returned :class:`TrendTables`).

    Returns
    -------
    tuple
        ``(TrendSummary, TrendTables)``.
    """
    if freq not in ("Q", "M"):
        raise TrendError(f"freq must be 'Q' (quarters) or 'M' (months). Got {freq!r} instead.")
    if recurrence_days <= 0:
        raise TrendError(f"the recurrence horizon must be positive. Got {recurrence_days} days instead.")
    filters = filters or TrendFilters()
    as_of_ts = pd.Timestamp(as_utc(as_of))
    prepared = prepare_incidents(incidents, as_of=as_of, filters=filters, metrics=metrics)
    aligned = _aligned_metrics(metrics, prepared)
    recorded = prepared["response_recorded"]
    hours = duration_hours(prepared, recorded)
    severity = prepared.get("severity", pd.Series(None, index=prepared.index)).astype(object)

    if notifications is not None and len(notifications):
        notes = notifications[among(notifications["incident_id"], prepared["id"])]
    else:
        notes = notifications
    regulatory = regulatory_clocks(notes, prepared.loc[recorded, "id"], as_of_ts, limit=limit)

    actions, action_table = _actions_part(action_items, prepared, aligned, as_of_ts, limit)
    since = _utc(new_since) or _utc(filters.start) or (as_of_ts - pd.Timedelta(days=30))
    fresh = prepared[prepared["aware_at"] >= since].sort_values(["aware_at", "id"], ascending=[False, True])
    # open / closed is our lifecycle: a public record (response not recorded) is neither
    open_now = (
        prepared["closed_at"].isna()
        & ~prepared.get("status", pd.Series(None, index=prepared.index)).eq("closed")
        & recorded
    )
    summary = TrendSummary(
        as_of=as_of_ts.to_pydatetime(),
        filters=filters.as_dict(),
        filters_text=filters.describe(),
        new_since=since.to_pydatetime(),
        n_incidents=len(prepared),
        n_near_misses=int(prepared.get("kind", pd.Series(dtype=object)).eq("near_miss").sum()),
        n_open=int(open_now.sum()),
        n_response_not_recorded=int((~recorded).sum()),
        origins={str(k): int(v) for k, v in prepared["origin"].value_counts().sort_index().items()},
        volume=volume(prepared, freq=freq),
        burn_up=burn_up(prepared[recorded.to_numpy(dtype=bool)], as_of_ts, freq="M"),
        speed=speed_table(hours, severity, _sla_hours(aligned, prepared)),
        speed_by_quarter=quarterly_medians(hours, prepared["aware_at"], severity),
        speed_trends=speed_trends(hours, prepared["aware_at"], severity),
        actions=actions,
        regulatory=regulatory,
        new_incidents=_new_rows(fresh.head(limit)),
        n_new=len(fresh),
        headlines=[],
        sla=sla_compliance(prepared, aligned, freq=freq, limit=limit),
        recurrence=recurrence(prepared, horizon_days=recurrence_days, limit=limit),
        recurrence_by_category=recurrence(
            prepared, keys=_system_category(prepared), horizon_days=recurrence_days, limit=limit
        ),
        postmortems=postmortem_status(prepared, aligned, limit=limit),
    )
    summary = summary.model_copy(update={"headlines": headlines(summary)})
    tables = TrendTables(incidents=prepared.join(hours.add_prefix("hours_to_")), actions=action_table)
    return summary, tables


def _actions_part(
    action_items: pd.DataFrame | None,
    prepared: pd.DataFrame,
    aligned: pd.DataFrame,
    as_of_ts: pd.Timestamp,
    limit: int,
) -> tuple[dict[str, Any], pd.DataFrame | None]:
    """The action-item summary of the incidents shown (with the most overdue listed) and its full table."""
    if action_items is None:
        return {"available": False}, None
    from analysis._trends_actions import action_item_summary, action_item_table

    items = action_items
    if len(items):
        items = items[among(items["incident_id"], prepared["id"])]
    scoped = prepared.assign(postmortem_required=aligned["postmortem_required"].to_numpy())
    when = as_of_ts.to_pydatetime()
    table = action_item_table(items, scoped, as_of=when)
    actions = {"available": True, **action_item_summary(table, scoped, as_of=when)}
    overdue = table[table["overdue"].to_numpy(dtype=bool)]
    columns = [c for c in _OVERDUE_COLUMNS if c in overdue.columns]
    actions["overdue_list"] = _records(overdue.head(limit)[columns])
    return actions, table


def _new_rows(fresh: pd.DataFrame) -> list[dict[str, Any]]:
    """The digest's "new since" rows (facts only, no narrative text)."""
    return [
        {
            "id": str(row.id),
            "severity": _text(getattr(row, "severity", None)),
            "category": _text(getattr(row, "category", None)),
            "system_id": _text(getattr(row, "system_id", None)),
            "kind": _text(getattr(row, "kind", None)) or "incident",
            "status": _text(getattr(row, "status", None)),
            "origin": str(row.origin),
            "aware_at": row.aware_at.isoformat(),
        }
        for row in fresh.itertuples(index=False)
    ]


def _system_category(incidents: pd.DataFrame) -> pd.Series:
    """``system / category`` per incident (NA without a system: a public record is not one of ours)."""
    system = incidents.get("system_id", pd.Series(None, index=incidents.index)).astype("string")
    category = incidents.get("category", pd.Series(None, index=incidents.index)).astype("string")
    return (system + " / " + category).where(system.notna() & category.notna())


def _text(value: object) -> str | None:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return None
    return str(value)


def headlines(summary: TrendSummary) -> list[str]:
    """The dashboard's and digest's opening sentences: what keeps happening, how fast, what is overdue."""
    if summary.n_incidents == 0:
        return [f"No incidents match ({summary.filters_text})."]
    lines = [
        f"{summary.n_incidents:,} incidents match ({summary.filters_text}), "
        f"{summary.n_near_misses:,} of them "
        f"near-misses; {summary.n_open:,} open as of {summary.as_of:%Y-%m-%d %H:%M} UTC; "
        f"{summary.n_new:,} new since {summary.new_since:%Y-%m-%d}."
    ]
    rec = summary.recurrence
    if rec["with_key"]:
        top = rec["top_causes"][0]["label"] if rec["top_causes"] else None
        lines.append(
            f"{rec['recurrences']:,} of {rec['with_key']:,} incidents with a recorded system and root cause "
            f"recurred within {rec['horizon_days']:g} days" + (f"; most often {top}." if top else ".")
        )
    ack = next(
        (row for row in summary.speed if row["measure"] == "acknowledge" and row["severity"] == "all"), None
    )
    decided = [row for row in summary.sla["by_severity"] if row["rate"] is not None]
    if ack and ack["n"]:
        met = sum(row["met"] for row in decided)
        total = sum(row["met"] + row["breached"] for row in decided)
        lines.append(
            f"Median time to acknowledge {ack['median_hours']:.2f} h (p90 {ack['p90_hours']:.2f} h) over "
            f"{ack['n']:,} incidents; response SLA met for {met:,} of {total:,} decided "
            f"({summary.sla['n_breaches']:,} breaches)."
        )
    if summary.n_response_not_recorded:
        lines.append(
            f"{summary.n_response_not_recorded:,} public or imported records carry no response times "
            "of ours: "
            "their response measures are 'not recorded', never breaches."
        )
    overdue = []
    if summary.actions.get("available"):
        overdue.append(f"{summary.actions.get('overdue', 0):,} action items")
    overdue.append(f"{summary.postmortems['overdue']:,} post-mortems")
    overdue.append(
        f"{sum(row['overdue'] for row in summary.regulatory['by_regime']):,} regulatory notifications"
    )
    lines.append("Overdue: " + ", ".join(overdue) + ".")
    return lines


def period_of(moment: datetime, freq: str = "Q") -> str:
    """The period label of one time (``2026Q1`` or ``2026-03``)."""
    return str(period_labels(pd.Series([pd.Timestamp(as_utc(moment))]), freq).iloc[0])


SUMMARY_FILE = "summary.json"
FIGURES_DIR = "figures"


def write_trend_outputs(
    summary: TrendSummary,
    tables: TrendTables,
    directory: str | Path,
    *,
    figures: dict[str, Any] | None = None,
) -> dict[str, Path]:
    """Write ``summary.json``, ``figures/<id>.json`` and the full tables into ``directory``.

    The tables hold the rows behind the summary's capped lists, for auditors: ``incidents.csv`` (ids,
    facts and durations, never narrative text) and ``action_items.parquet`` (every action item in scope
    with its state as of the analysis time: Parquet, because a register's items run to hundreds of
    thousands; ``workbench actions --format csv|xlsx`` gives the same rows as a spreadsheet).

    ``figures`` are :func:`analysis._trends_figures.trend_figures` of ``summary`` when the caller has
    them already (the notebook shows them), else they are drawn here.

    Returns
    -------
    dict
        Name -> path of every file written.
    """
    from analysis._trends_figures import trend_figures

    root = Path(directory)
    (root / FIGURES_DIR).mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    path = root / SUMMARY_FILE
    path.write_text(summary.model_dump_json(indent=1) + "\n", encoding="utf-8")
    written["summary"] = path
    for key, figure in (figures if figures is not None else trend_figures(summary)).items():
        path = root / FIGURES_DIR / f"{key}.json"
        path.write_text(figure.to_json(), encoding="utf-8")
        written[f"figure:{key}"] = path
    listing = tables.incidents.drop(columns=[c for c in ("tags",) if c in tables.incidents])
    path = root / "incidents.csv"
    # Arrow's CSV writer: ISO-8601 UTC times (2026-01-31 00:00:00.000000Z), several times faster than
    # pandas formatting every time value in Python
    pa_csv.write_csv(pa.Table.from_pandas(listing.astype(_csv_dtypes(listing)), preserve_index=False), path)
    written["incidents"] = path
    if tables.actions is not None:
        path = root / "action_items.parquet"
        tables.actions.to_parquet(path, index=False)
        written["action_items"] = path
    return written


def _csv_dtypes(frame: pd.DataFrame) -> dict[str, Any]:
    """Object columns (mixed Python values) as strings, so Arrow can type them."""
    return {name: "string" for name, dtype in frame.dtypes.items() if dtype == np.dtype(object)}


def load_trend_summary(directory: str | Path) -> TrendSummary:
    """Read and validate a trends run's ``summary.json``."""
    path = Path(directory) / SUMMARY_FILE
    try:
        return TrendSummary.model_validate_json(path.read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise TrendError(
            f"a trends run must have {SUMMARY_FILE}. Got none in {directory} instead."
        ) from error
    except ValidationError as error:
        first = error.errors()[0]
        raise TrendError(
            f"{path} must be the summary of a trends run of this version. Got {error.error_count()} "
            f"problem(s), e.g. {first['loc']}: {first['msg']}; run `workbench trends` again."
        ) from error
