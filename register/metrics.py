"""Derived metrics per incident: response times, SLA compliance, post-mortem and notification clocks.

Everything is computed column-wise with pandas (no Python loop over incidents), from DataFrames that
use the register's field names (:mod:`register.schema`). Times are tz-aware UTC.

As-of semantics: a time recorded after ``as_of`` (an incident time, a notification's ``sent_at``, an
action item's ``completed_at``) is treated as not having happened yet, so the frame for a past
``as_of`` shows what was overdue then. Statuses that have no time of their own (post-mortem status,
action-item status other than completion) are taken as they are now.

Examples
--------
>>> from datetime import UTC, datetime
>>> from register.policy import load_policy
>>> incidents = pd.DataFrame({
...     "id": ["INC-2026-0001"], "severity": ["SEV-2"], "status": ["recovered"],
...     "occurred_at": [pd.Timestamp("2026-03-01 06:00", tz="UTC")],
...     "aware_at": [pd.Timestamp("2026-03-01 08:00", tz="UTC")],
...     "acknowledged_at": [pd.Timestamp("2026-03-01 08:40", tz="UTC")],
...     "resolved_at": [pd.Timestamp("2026-03-02 08:00", tz="UTC")]})
>>> row = incident_metrics(incidents, policy=load_policy(), as_of=datetime(2026, 3, 20, tzinfo=UTC)).iloc[0]
>>> float(row["time_to_detect_hours"]), bool(row["response_sla_met"])
(2.0, True)
>>> round(float(row["response_sla_margin_hours"]), 3)
0.333
>>> str(row["postmortem_due_at"]), bool(row["postmortem_overdue"])
('2026-03-16 08:00:00+00:00', True)
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd

from register.policy import TIME_FACTS, Policy, evaluate_condition, incident_facts, regime_applicability
from register.schema import ActionItemStatus, PostmortemStatus, as_utc

__all__ = ["incident_metrics", "notification_status"]

_DONE_POSTMORTEM = (PostmortemStatus.REVIEWED.value, PostmortemStatus.PUBLISHED.value)
_OPEN_ACTIONS = (ActionItemStatus.OPEN.value, ActionItemStatus.IN_PROGRESS.value)
_HOUR = pd.Timedelta(hours=1)


def _plain_strings(column: pd.Series) -> pd.Series:
    return column.map(lambda v: getattr(v, "value", v), na_action="ignore")


def _times(frame: pd.DataFrame, column: str, as_of: pd.Timestamp) -> pd.Series:
    """A UTC datetime column (NaT where missing or after ``as_of``)."""
    if column not in frame.columns:
        return pd.Series(pd.NaT, index=frame.index, dtype="datetime64[us, UTC]")
    values = pd.to_datetime(frame[column], utc=True, format="ISO8601")
    return values.where(values <= as_of)


def _hours(delta: pd.Series) -> pd.Series:
    return delta / _HOUR


def _met(elapsed: pd.Series, running: pd.Series, target: pd.Series) -> pd.Series:
    """True/False where a target exists and is decided; NA without a target or while the clock runs."""
    met = pd.Series(pd.NA, index=elapsed.index, dtype="boolean")
    has_target = target.notna()
    done = has_target & elapsed.notna()
    met[done] = (elapsed[done] <= target[done]).to_numpy()
    breached = has_target & elapsed.isna() & running.notna() & (running > target)
    met[breached] = False
    return met


def _notification_table(
    frame: pd.DataFrame,
    policy: Policy,
    as_of_ts: pd.Timestamp,
    notifications: pd.DataFrame | None,
    systems: pd.DataFrame | None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    facts = incident_facts(frame, systems)
    for column in TIME_FACTS:
        facts[column] = facts[column].where(facts[column] <= as_of_ts)
    applicable = regime_applicability(facts, policy, as_of_ts.to_pydatetime())

    expected_parts: list[pd.DataFrame] = []
    for regime in policy.active_regimes:
        holds = applicable[regime.id]
        if not holds.any():
            continue
        subset = facts[holds.to_numpy()]
        for report_type in regime.report_types:
            due = pd.Series(pd.NaT, index=subset.index, dtype="datetime64[us, UTC]")
            for spec in regime.deadlines:
                if spec.report_type != report_type or spec.due is None:
                    continue
                when = evaluate_condition(spec.when, subset)
                candidate = (subset[spec.clock_start] + pd.Timedelta(spec.due)).where(when)
                due = due.where(due.notna() & ~(candidate < due), candidate)
            keep = due.notna()
            if keep.any():
                expected_parts.append(
                    pd.DataFrame(
                        {
                            "incident_id": frame.loc[keep[keep].index, "id"].to_numpy(),
                            "regime": regime.id,
                            "report_type": report_type.value,
                            "expected_due_at": due[keep].to_numpy(),
                        }
                    )
                )
    columns = ["incident_id", "regime", "report_type", "expected_due_at"]
    expected = (
        pd.concat(expected_parts, ignore_index=True) if expected_parts else pd.DataFrame(columns=columns)
    )
    expected["expected_due_at"] = pd.to_datetime(expected["expected_due_at"], utc=True)
    if notifications is not None and len(notifications):
        recorded = pd.DataFrame(
            {
                "incident_id": notifications["incident_id"].to_numpy(),
                "regime": _plain_strings(
                    notifications.get("regime", pd.Series(None, index=notifications.index))
                )
                .astype(object)
                .to_numpy(),
                "report_type": _plain_strings(
                    notifications.get("report_type", pd.Series("initial", index=notifications.index))
                ).to_numpy(),
                "due_at": _times(notifications, "due_at", pd.Timestamp.max.tz_localize("UTC")).to_numpy(),
                "sent_at": _times(notifications, "sent_at", as_of_ts).to_numpy(),
                "recorded": True,
            }
        )
    else:
        recorded = pd.DataFrame(
            {
                "incident_id": pd.Series(dtype=object),
                "regime": pd.Series(dtype=object),
                "report_type": pd.Series(dtype=object),
                "due_at": pd.Series(dtype="datetime64[us, UTC]"),
                "sent_at": pd.Series(dtype="datetime64[us, UTC]"),
                "recorded": pd.Series(dtype=bool),
            }
        )
    keys = ["incident_id", "regime", "report_type"]
    merged = recorded.merge(expected, on=keys, how="outer", sort=False)
    merged["recorded"] = merged["recorded"].fillna(False).astype(bool)
    merged["due_at"] = pd.to_datetime(merged["due_at"], utc=True).fillna(merged["expected_due_at"])
    merged["sent_at"] = pd.to_datetime(merged["sent_at"], utc=True)
    merged = merged.drop(columns="expected_due_at")
    unsent = merged["sent_at"].isna()
    merged["pending"] = unsent
    merged["overdue"] = unsent & (merged["due_at"] < as_of_ts)
    merged["late"] = ~unsent & merged["due_at"].notna() & (merged["sent_at"] > merged["due_at"])
    return merged.sort_values(keys, kind="stable").reset_index(drop=True), applicable


def notification_status(
    incidents: pd.DataFrame,
    *,
    policy: Policy,
    as_of: datetime,
    notifications: pd.DataFrame | None = None,
    systems: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row per notification owed or made: recorded ones plus reports the policy requires.

    Reports the policy requires (applicable regime, fixed clock started) but that the register does
    not hold yet are added with ``recorded=False`` and the policy's due time (the earliest of the
    report type's deadlines that apply; for periodic updates, the first one). Recorded notifications
    without ``due_at`` take the policy's due time of their (regime, report type).

    Parameters
    ----------
    incidents : pandas.DataFrame
        Register incidents (``id`` and the facts used by regime conditions).
    policy : Policy
    as_of : datetime
    notifications : pandas.DataFrame or None
        Register notifications (``incident_id, regime, report_type, due_at, sent_at``...).
    systems : pandas.DataFrame or None
        AI systems (``id``, ``risk_tier``) for regimes that test the risk tier.

    Returns
    -------
    pandas.DataFrame
        Columns ``incident_id, regime, report_type, recorded, due_at, sent_at, pending, overdue, late``.

    Examples
    --------
    >>> from datetime import UTC, datetime
    >>> from register.policy import load_policy
    >>> incidents = pd.DataFrame({"id": ["INC-2026-0001"], "category": ["data_exposure_privacy"],
    ...                           "aware_at": [pd.Timestamp("2026-03-01 08:00", tz="UTC")]})
    >>> table = notification_status(incidents, policy=load_policy(), as_of=datetime(2026, 3, 5, tzinfo=UTC))
    >>> table[["regime", "report_type", "recorded", "overdue"]].to_dict("records")
    [{'regime': 'gdpr_art33', 'report_type': 'initial', 'recorded': False, 'overdue': True}]
    """
    frame = incidents.reset_index(drop=True)
    table, _ = _notification_table(frame, policy, pd.Timestamp(as_utc(as_of)), notifications, systems)
    return table


def incident_metrics(
    incidents: pd.DataFrame,
    *,
    policy: Policy,
    as_of: datetime,
    notifications: pd.DataFrame | None = None,
    action_items: pd.DataFrame | None = None,
    systems: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Derived metrics, one row per incident, in the order of ``incidents``.

    Parameters
    ----------
    incidents : pandas.DataFrame
        Register incidents: ``id``, ``severity``, ``status``, the times (``occurred_at``, ``aware_at``,
        ``acknowledged_at``, ``contained_at``, ``resolved_at``, ``closed_at``...), ``postmortem_status``,
        and the facts regime conditions use (``category``, ``kind``, ``tags``, ``system_id``...).
        Missing columns are taken as null.
    policy : Policy
        SLA, targets and post-mortem rules per severity; regimes for notifications.
    as_of : datetime
        The time the metrics are judged at (times after it count as not yet happened).
    notifications, action_items : pandas.DataFrame or None
        Register notifications and action items (``incident_id`` plus their fields).
    systems : pandas.DataFrame or None
        AI systems (``id``, ``risk_tier``) for regime applicability.

    Returns
    -------
    pandas.DataFrame
        Columns:

        - ``id``, ``severity``, ``status``;
        - ``time_to_detect`` (aware - occurred), ``time_to_acknowledge`` (acknowledged - aware),
          ``time_to_contain`` (contained - aware), ``time_to_resolve`` (resolved - aware): Timedelta,
          and the same in hours as ``*_hours`` (float, NaN when unknown);
        - ``response_sla`` (Timedelta), ``acknowledge_due_at``, ``response_sla_met`` (boolean: NA while
          unacknowledged within the SLA), ``response_sla_margin`` and ``_hours`` (SLA minus elapsed
          time; negative = over; while unacknowledged, the time left or overrun as of ``as_of``);
        - ``contain_target``, ``contain_target_met``, ``resolve_target``, ``resolve_target_met``
          (NA = no target in the policy);
        - ``postmortem_required`` (formal analysis), ``postmortem_due_at`` (resolved + deadline),
          ``postmortem_overdue`` (due before ``as_of`` and not reviewed/published);
        - ``notifications_required`` (reports owed or made), ``notifications_pending``,
          ``notifications_overdue`` (unsent, due before ``as_of``), ``notifications_late`` (sent after
          due), ``next_notification_due_at``; and per policy regime ``<regime>_applicable``,
          ``<regime>_pending``, ``<regime>_overdue``, ``<regime>_late``, ``<regime>_next_due_at``
          (see :func:`notification_status`);
        - ``action_items_open`` (open or in progress), ``action_items_overdue`` (open, due before
          ``as_of``).
    """
    as_of_ts = pd.Timestamp(as_utc(as_of))
    frame = incidents.reset_index(drop=True)
    n_rows = len(frame)
    result = pd.DataFrame({"id": frame["id"].to_numpy() if "id" in frame else np.array([], dtype=object)})
    severity = (
        _plain_strings(frame["severity"]) if "severity" in frame else pd.Series(None, index=frame.index)
    )
    result["severity"] = severity.to_numpy()
    status = _plain_strings(frame["status"]) if "status" in frame else pd.Series(None, index=frame.index)
    result["status"] = status.to_numpy()
    times = {column: _times(frame, column, as_of_ts) for column in TIME_FACTS}
    aware = times["aware_at"]
    running = pd.Series(as_of_ts - aware, index=frame.index)
    spans = {
        "time_to_detect": aware - times["occurred_at"],
        "time_to_acknowledge": times["acknowledged_at"] - aware,
        "time_to_contain": times["contained_at"] - aware,
        "time_to_resolve": times["resolved_at"] - aware,
    }
    for name, span in spans.items():
        result[name] = span.to_numpy()
        result[f"{name}_hours"] = _hours(span).to_numpy()

    levels = {level.value: rules for level, rules in policy.severities.items()}

    def per_level(getter: object) -> pd.Series:
        mapping = {key: getter(rules) for key, rules in levels.items()}  # type: ignore[operator]
        mapped = severity.map(lambda s: mapping.get(s))
        return pd.to_timedelta(mapped.astype(object).where(mapped.notna(), None))

    sla = per_level(lambda rules: rules.response_sla)
    result["response_sla"] = sla.to_numpy()
    result["acknowledge_due_at"] = (aware + sla).to_numpy()
    result["response_sla_met"] = _met(spans["time_to_acknowledge"], running, sla).to_numpy()
    elapsed = spans["time_to_acknowledge"].fillna(running)
    margin = sla - elapsed
    result["response_sla_margin"] = margin.to_numpy()
    result["response_sla_margin_hours"] = _hours(margin).to_numpy()
    for name, getter in (
        ("contain", lambda rules: rules.contain_target),
        ("resolve", lambda rules: rules.resolve_target),
    ):
        target = per_level(getter)
        result[f"{name}_target"] = target.to_numpy()
        result[f"{name}_target_met"] = _met(spans[f"time_to_{name}"], running, target).to_numpy()

    required = severity.map({key: rules.postmortem.formal for key, rules in levels.items()})
    result["postmortem_required"] = required.astype("boolean").to_numpy()
    deadline = per_level(lambda rules: rules.postmortem.deadline)
    due = (times["resolved_at"] + deadline).where(required.fillna(False).astype(bool))
    result["postmortem_due_at"] = due.to_numpy()
    postmortem = (
        _plain_strings(frame["postmortem_status"])
        if "postmortem_status" in frame
        else pd.Series(None, index=frame.index)
    )
    result["postmortem_overdue"] = (
        due.notna() & (due < as_of_ts) & ~postmortem.isin(_DONE_POSTMORTEM)
    ).to_numpy()

    table, applicable = _notification_table(frame, policy, as_of_ts, notifications, systems)
    _add_notification_columns(result, table, applicable, policy)
    _add_action_columns(result, action_items, as_of_ts)
    if len(result) != n_rows:  # pragma: no cover - a merge must never change the row count
        raise RuntimeError(f"metrics must have one row per incident. Got {len(result)} for {n_rows}.")
    return result


def _counts(values: pd.Series, ids: pd.Series) -> np.ndarray:
    return values.reindex(ids.to_numpy()).fillna(0).astype("int64").to_numpy()


def _moments(values: pd.Series, ids: pd.Series) -> np.ndarray:
    return pd.to_datetime(values, utc=True).reindex(ids.to_numpy()).to_numpy()


def _add_notification_columns(
    result: pd.DataFrame, table: pd.DataFrame, applicable: pd.DataFrame, policy: Policy
) -> None:
    ids = result["id"]
    grouped = table.groupby("incident_id", sort=False)
    counts = grouped[["pending", "overdue", "late"]].sum()
    totals = grouped.size()
    next_due = table[table["pending"]].groupby("incident_id", sort=False)["due_at"].min()
    result["notifications_required"] = _counts(totals, ids)
    for column in ("pending", "overdue", "late"):
        result[f"notifications_{column}"] = _counts(counts[column], ids)
    result["next_notification_due_at"] = _moments(next_due, ids)
    by_regime = table.groupby(["regime", "incident_id"], sort=False)
    regime_counts = by_regime[["pending", "overdue", "late"]].sum()
    regime_next = table[table["pending"]].groupby(["regime", "incident_id"], sort=False)["due_at"].min()
    regimes_present = set(regime_counts.index.get_level_values(0))
    for regime in policy.active_regimes:
        result[f"{regime.id}_applicable"] = applicable[regime.id].to_numpy()
        for column in ("pending", "overdue", "late"):
            values = (
                regime_counts.loc[regime.id, column] if regime.id in regimes_present else pd.Series(dtype=int)
            )
            result[f"{regime.id}_{column}"] = _counts(values, ids)
        present = regime.id in set(regime_next.index.get_level_values(0))
        values = regime_next.loc[regime.id] if present else pd.Series(dtype="datetime64[us, UTC]")
        result[f"{regime.id}_next_due_at"] = _moments(values, ids)


def _add_action_columns(
    result: pd.DataFrame, action_items: pd.DataFrame | None, as_of_ts: pd.Timestamp
) -> None:
    ids = result["id"]
    if action_items is None or not len(action_items):
        result["action_items_open"] = np.zeros(len(result), dtype="int64")
        result["action_items_overdue"] = np.zeros(len(result), dtype="int64")
        return
    status = (
        _plain_strings(action_items["status"])
        if "status" in action_items
        else pd.Series("open", index=action_items.index)
    )
    completed = _times(action_items, "completed_at", pd.Timestamp.max.tz_localize("UTC"))
    reopened = status.eq(ActionItemStatus.DONE.value) & completed.notna() & (completed > as_of_ts)
    is_open = status.isin(_OPEN_ACTIONS) | reopened
    due = _times(action_items, "due_at", pd.Timestamp.max.tz_localize("UTC"))
    overdue = is_open & due.notna() & (due < as_of_ts)
    counts = (
        pd.DataFrame({"incident_id": action_items["incident_id"], "open": is_open, "overdue": overdue})
        .groupby("incident_id", sort=False)[["open", "overdue"]]
        .sum()
    )
    result["action_items_open"] = _counts(counts["open"], ids)
    result["action_items_overdue"] = _counts(counts["overdue"], ids)
