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
    """Vocabulary values as plain strings (StrEnum members become their value; nulls stay null)."""
    if column.dtype != object:
        return column
    return column.astype("string").astype(object).where(column.notna(), None)


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
                            "expected_due_at": due[keep].array,
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
                "due_at": _times(notifications, "due_at", pd.Timestamp.max.tz_localize("UTC")).array,
                "sent_at": _times(notifications, "sent_at", as_of_ts).array,
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
          ``as_of``);
        - ``response_recorded`` (bool): False for an imported public record -- an incident with a
          ``source`` (e.g. ``aiid``) that holds none of ``acknowledged_at``, ``contained_at``,
          ``resolved_at``, ``closed_at``. Such a record says nothing about a response (the public
          database never held one), so none of its response metrics is judged: ``time_to_*`` and
          ``*_hours``, ``acknowledge_due_at``, the SLA margin are NaT/NaN; ``response_sla_met``,
          ``contain_target_met``, ``resolve_target_met`` are NA ("not recorded", never a breach);
          ``postmortem_overdue`` is False and the ``notifications_overdue``/``_late`` and
          ``<regime>_overdue``/``_late`` counts are 0. The register's own incidents (``source``
          null or the column absent) are always True and judged as before: a missing acknowledgement
          past the SLA is a breach.

    Examples
    --------
    >>> from datetime import UTC, datetime
    >>> from register.policy import load_policy
    >>> public = pd.DataFrame({"id": ["INC-2016-0006", "INC-2026-0001"], "severity": ["SEV-3", "SEV-3"],
    ...     "source": ["aiid", None],
    ...     "aware_at": [pd.Timestamp("2016-03-24", tz="UTC"), pd.Timestamp("2026-03-01", tz="UTC")]})
    >>> rows = incident_metrics(public, policy=load_policy(), as_of=datetime(2026, 12, 1, tzinfo=UTC))
    >>> rows["response_recorded"].tolist(), rows["response_sla_met"].tolist()
    ([False, True], [<NA>, False])
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
        result[name] = span.array
        result[f"{name}_hours"] = _hours(span).to_numpy()

    levels = {level.value: rules for level, rules in policy.severities.items()}

    level_names = list(levels)
    level_codes = _positions(pd.Series(level_names, dtype=object), severity, check_unique=False)

    def per_level(getter: object) -> pd.Series:
        values = [getter(levels[name]) for name in level_names]  # type: ignore[operator]
        table = np.array(
            [np.timedelta64("NaT", "us") if v is None else np.timedelta64(pd.Timedelta(v).value // 1000, "us")
             for v in [*values, None]]
        )  # fmt: skip
        return pd.Series(table[level_codes], index=severity.index)

    sla = per_level(lambda rules: rules.response_sla)
    result["response_sla"] = sla.array
    result["acknowledge_due_at"] = (aware + sla).array
    result["response_sla_met"] = _met(spans["time_to_acknowledge"], running, sla).array
    elapsed = spans["time_to_acknowledge"].fillna(running)
    margin = sla - elapsed
    result["response_sla_margin"] = margin.array
    result["response_sla_margin_hours"] = _hours(margin).to_numpy()
    for name, getter in (
        ("contain", lambda rules: rules.contain_target),
        ("resolve", lambda rules: rules.resolve_target),
    ):
        target = per_level(getter)
        result[f"{name}_target"] = target.array
        result[f"{name}_target_met"] = _met(spans[f"time_to_{name}"], running, target).array

    formal = np.array([levels[name].postmortem.formal for name in level_names] + [None], dtype=object)
    required = pd.Series(formal[level_codes], index=severity.index)
    result["postmortem_required"] = required.astype("boolean").array
    deadline = per_level(lambda rules: rules.postmortem.deadline)
    due = (times["resolved_at"] + deadline).where(required.fillna(False).astype(bool))
    result["postmortem_due_at"] = due.array
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
    _blank_unrecorded_responses(result, frame, policy)
    if len(result) != n_rows:  # pragma: no cover - a merge must never change the row count
        raise RuntimeError(f"metrics must have one row per incident. Got {len(result)} for {n_rows}.")
    return result


_RESPONSE_TIMES = ("acknowledged_at", "contained_at", "resolved_at", "closed_at")
"""A record holding any of these times has a recorded response (see ``response_recorded``)."""
_UNJUDGED_TIMES = ("acknowledge_due_at", "response_sla_margin", "time_to_detect", "time_to_acknowledge",
                   "time_to_contain", "time_to_resolve", "postmortem_due_at")  # fmt: skip
_UNJUDGED_BOOLEANS = ("response_sla_met", "contain_target_met", "resolve_target_met")


def _blank_unrecorded_responses(result: pd.DataFrame, frame: pd.DataFrame, policy: Policy) -> None:
    """Add ``response_recorded``; blank the response metrics of public records without one (column-wise)."""
    if "source" in frame.columns:
        imported = frame["source"].notna().to_numpy(dtype=bool)
    else:
        imported = np.zeros(len(frame), dtype=bool)
    responded = np.zeros(len(frame), dtype=bool)
    for column in _RESPONSE_TIMES:
        if column in frame.columns:
            responded |= frame[column].notna().to_numpy(dtype=bool)
    unrecorded = imported & ~responded
    result["response_recorded"] = ~unrecorded
    if not unrecorded.any():
        return
    for column in _UNJUDGED_TIMES:
        result.loc[unrecorded, column] = pd.NaT
    for column in [name for name in result.columns if name.endswith("_hours")]:
        result.loc[unrecorded, column] = np.nan
    for column in _UNJUDGED_BOOLEANS:
        result.loc[unrecorded, column] = pd.NA
    result.loc[unrecorded, "postmortem_overdue"] = False
    counts = ["notifications_overdue", "notifications_late"]
    counts += [f"{regime.id}_{part}" for regime in policy.active_regimes for part in ("overdue", "late")]
    for column in counts:
        result.loc[unrecorded, column] = 0


def _positions(keys: pd.Series, lookups: pd.Series, *, check_unique: bool = True) -> np.ndarray:
    """Position of each lookup value in ``keys`` (-1 where absent), by one factorisation of both.

    ``pd.factorize`` hashes Arrow-backed strings natively, which is several times faster than an
    object ``Index.get_indexer`` on the same strings.
    """
    n_keys = len(keys)
    combined = pd.concat(
        [pd.Series(keys.to_numpy(dtype=object) if keys.dtype != lookups.dtype else keys.array),
         pd.Series(lookups.to_numpy(dtype=object) if keys.dtype != lookups.dtype else lookups.array)],
        ignore_index=True,
    )  # fmt: skip
    codes, _ = pd.factorize(combined)
    key_codes, lookup_codes = codes[:n_keys], codes[n_keys:]
    if check_unique and not np.array_equal(key_codes, np.arange(n_keys)):
        duplicated = keys[keys.duplicated()].unique()[:5].tolist()
        raise ValueError(f"incident ids must be unique. Got duplicates such as {duplicated}.")
    position_of_code = np.full(len(codes) + 1, -1, dtype=np.int64)
    position_of_code[key_codes[::-1]] = np.arange(n_keys)[::-1]  # first occurrence wins
    return position_of_code[lookup_codes]


def _count_by(positions: np.ndarray, mask: np.ndarray, n_incidents: int) -> np.ndarray:
    keep = (positions >= 0) & mask
    return np.bincount(positions[keep], minlength=n_incidents).astype("int64")


def _earliest_by(
    positions: np.ndarray, moments: pd.Series, mask: np.ndarray, n_incidents: int
) -> pd.api.extensions.ExtensionArray:
    """Per incident, the earliest of ``moments`` where ``mask`` holds (NaT where none)."""
    array = pd.DatetimeIndex(moments)
    ticks = array.asi8
    never = np.iinfo(np.int64).max
    keep = (positions >= 0) & mask & ~array.isna()
    earliest = np.full(n_incidents, never, dtype=np.int64)
    np.minimum.at(earliest, positions[keep], ticks[keep])
    unit = np.datetime_data(array.tz_convert(None).to_numpy().dtype)[0]
    dtype = f"datetime64[{unit}]"
    values = np.where(earliest == never, np.array("NaT", dtype=dtype), earliest.view(dtype))
    return pd.DatetimeIndex(values).tz_localize("UTC").array


def _add_notification_columns(
    result: pd.DataFrame, table: pd.DataFrame, applicable: pd.DataFrame, policy: Policy
) -> None:
    n_incidents = len(result)
    positions = _positions(result["id"], table["incident_id"])
    everything = np.ones(len(table), dtype=bool)
    pending = table["pending"].to_numpy(dtype=bool)
    due = pd.to_datetime(table["due_at"], utc=True)
    result["notifications_required"] = _count_by(positions, everything, n_incidents)
    for column in ("pending", "overdue", "late"):
        result[f"notifications_{column}"] = _count_by(
            positions, table[column].to_numpy(dtype=bool), n_incidents
        )
    result["next_notification_due_at"] = _earliest_by(positions, due, pending, n_incidents)
    regimes = table["regime"].to_numpy(dtype=object)
    for regime in policy.active_regimes:
        result[f"{regime.id}_applicable"] = applicable[regime.id].to_numpy()
        of_regime = regimes == regime.id
        for column in ("pending", "overdue", "late"):
            mask = of_regime & table[column].to_numpy(dtype=bool)
            result[f"{regime.id}_{column}"] = _count_by(positions, mask, n_incidents)
        result[f"{regime.id}_next_due_at"] = _earliest_by(positions, due, of_regime & pending, n_incidents)


def _add_action_columns(
    result: pd.DataFrame, action_items: pd.DataFrame | None, as_of_ts: pd.Timestamp
) -> None:
    if action_items is None or not len(action_items):
        result["action_items_open"] = np.zeros(len(result), dtype="int64")
        result["action_items_overdue"] = np.zeros(len(result), dtype="int64")
        return
    n_incidents = len(result)
    positions = _positions(result["id"], action_items["incident_id"])
    # vocabulary members are str subclasses: isin/eq work on members and plain values alike
    status = (
        action_items["status"] if "status" in action_items else pd.Series("open", index=action_items.index)
    )
    completed = _times(action_items, "completed_at", pd.Timestamp.max.tz_localize("UTC"))
    reopened = status.eq(ActionItemStatus.DONE.value) & completed.notna() & (completed > as_of_ts)
    is_open = status.isin(_OPEN_ACTIONS) | reopened
    due = _times(action_items, "due_at", pd.Timestamp.max.tz_localize("UTC"))
    overdue = is_open & due.notna() & (due < as_of_ts)
    result["action_items_open"] = _count_by(positions, is_open.to_numpy(dtype=bool), n_incidents)
    result["action_items_overdue"] = _count_by(positions, overdue.to_numpy(dtype=bool), n_incidents)
