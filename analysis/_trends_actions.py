"""Action items across incidents: one table as of a time, and its summary (the governance lead's view).

Pure pandas over the register's DataFrames (``Register.action_items_frame()`` and
``Register.incidents_frame()``); no I/O, no Python loop over rows.

As-of semantics are those of :mod:`register.metrics`: a time after ``as_of`` has not happened yet. An
item is **open** when its status is ``open`` or ``in_progress``, or when it is ``done`` with a
``completed_at`` after ``as_of``; it is **done** when its status is ``done`` and it was completed at or
before ``as_of`` (or has no completion time); ``wont_do`` is neither. An open item is **overdue** when its
``due_at`` is strictly before ``as_of`` (due exactly at ``as_of`` is not overdue yet).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from analysis.errors import InvalidParameterError
from register.schema import ActionItemKind, ActionItemStatus, as_utc

__all__ = [
    "AGE_BUCKETS",
    "CLOSURE_RATE_DEFINITION",
    "ON_TIME_RATE_DEFINITION",
    "PREVENTIVE_KINDS",
    "PREVENTIVE_SCOPE",
    "UNASSIGNED",
    "action_item_summary",
    "action_item_table",
]

UNASSIGNED = "unassigned"
"""How a missing owner or team is shown in groupings and matched by the ``owners``/``teams`` filters."""

AGE_BUCKETS: tuple[str, ...] = ("not due", "0-7 d", "8-30 d", "31-90 d", "> 90 d", "no due date")
"""Ageing buckets of open items, by whole days past due (``days_overdue``): not due yet (due at or after
``as_of``), 0-7, 8-30, 31-90 and more than 90 days past due, and open items with no due date. Items that
are not open have no bucket (missing)."""

_BUCKET_UPPER_DAYS = (7, 30, 90)  # inclusive upper edges of "0-7 d", "8-30 d", "31-90 d"

PREVENTIVE_KINDS: tuple[str, ...] = (ActionItemKind.PREVENT.value, ActionItemKind.DETECT.value)
"""Kinds of action item that count as preventive: ``prevent`` (stops a recurrence) and ``detect`` (catches
it sooner). ``mitigate`` repairs this incident and ``process`` changes the response, so neither does."""

PREVENTIVE_SCOPE = (
    "incidents closed at or before as_of, or marked postmortem_required where the incidents frame has that "
    "column (register metrics_frame), with no preventive action item (kind in PREVENTIVE_KINDS, status not "
    "wont_do) in the table"
)
"""Which incidents the "no preventive item" check lists: open incidents may still get their items."""

CLOSURE_RATE_DEFINITION = "done as of as_of / all action items in the table (wont_do included)"
"""What ``closure_rate`` divides."""

ON_TIME_RATE_DEFINITION = (
    "done with completed_at <= due_at / done items that have both a due date and a completion time"
)
"""What ``on_time_rate`` divides (``closed_on_time`` is the numerator)."""

_OPEN_STATUSES = (ActionItemStatus.OPEN.value, ActionItemStatus.IN_PROGRESS.value)
_ITEM_COLUMNS = ("owner", "team", "kind", "priority", "status", "due_at", "completed_at")
_INCIDENT_COLUMNS = {
    "system_id": "system_id",
    "severity": "severity",
    "status": "incident_status",
    "closed_at": "incident_closed_at",
}
_TIME_DTYPE = "datetime64[us, UTC]"
_DAY = pd.Timedelta(days=1)


def action_item_table(
    action_items: pd.DataFrame,
    incidents: pd.DataFrame,
    *,
    as_of: datetime,
    overdue_only: bool = False,
    owners: Sequence[str] | None = None,
    teams: Sequence[str] | None = None,
    systems: Sequence[str] | None = None,
) -> pd.DataFrame:
    """One row per action item, with its incident's facts and its state as of ``as_of``, overdue first.

    Parameters
    ----------
    action_items : pandas.DataFrame
        ``Register.action_items_frame()`` (``id`` and ``incident_id`` required; ``owner``, ``team``,
        ``kind``, ``priority``, ``status``, ``due_at``, ``completed_at`` are missing-tolerant: an absent
        ``status`` reads as ``open``, absent times as unknown).
    incidents : pandas.DataFrame
        ``Register.incidents_frame()`` or a subset of its columns (``id`` required; ``system_id``,
        ``severity``, ``status`` and ``closed_at`` are used when present). An item whose incident is not
        in this frame keeps missing incident facts.
    as_of : datetime
        When the state is judged (naive means UTC). Times after it have not happened.
    overdue_only : bool, default False
        Keep only overdue items.
    owners, teams : sequence of str, optional
        Keep items of these owners / teams; :data:`UNASSIGNED` matches items without one.
    systems : sequence of str, optional
        Keep items whose incident is on one of these AI systems.

    Returns
    -------
    pandas.DataFrame
        The item's columns as given, then ``system_id``, ``severity``, ``incident_status``,
        ``incident_closed_at`` (the incident's), and ``is_open``, ``is_done``, ``overdue`` (bool),
        ``days_overdue`` (``Int64``: whole days past due of overdue items, else missing), ``age_bucket``
        (one of :data:`AGE_BUCKETS` for open items, else missing), ``closed_on_time`` (bool: done with
        ``completed_at <= due_at``) and ``incident_closed_while_open`` (bool: the item is open and its
        incident was closed at or before ``as_of``). Times are ``datetime64[us, UTC]``. Sorted overdue
        first (most overdue first), then by due date (undated last), then by id.

    Raises
    ------
    InvalidParameterError
        When a frame lacks its ``id`` column, or ``action_items`` its ``incident_id``.

    Examples
    --------
    >>> import pandas as pd
    >>> from datetime import datetime, UTC
    >>> items = pd.DataFrame({
    ...     "id": ["A1", "A2", "A3"], "incident_id": ["INC-2026-0001"] * 3,
    ...     "owner": ["ann", None, "bo"], "kind": ["prevent", "mitigate", "detect"],
    ...     "status": ["open", "in_progress", "done"],
    ...     "due_at": pd.to_datetime(["2026-03-01", "2026-01-01", None], utc=True),
    ...     "completed_at": pd.to_datetime([None, None, "2026-02-01"], utc=True)})
    >>> incidents = pd.DataFrame({"id": ["INC-2026-0001"], "system_id": ["credit-scoring"],
    ...     "closed_at": pd.to_datetime(["2026-02-15"], utc=True)})
    >>> table = action_item_table(items, incidents, as_of=datetime(2026, 2, 20, tzinfo=UTC))
    >>> table[["id", "overdue", "days_overdue", "age_bucket", "incident_closed_while_open"]]
       id  overdue  days_overdue age_bucket  incident_closed_while_open
    0  A2     True            50    31-90 d                        True
    1  A1    False          <NA>    not due                        True
    2  A3    False          <NA>        NaN                       False
    """
    for name, frame, required in (("action_items", action_items, ("id", "incident_id")),
                                  ("incidents", incidents, ("id",))):  # fmt: skip
        missing = [column for column in required if column not in frame.columns]
        if missing:
            raise InvalidParameterError(
                f"{name} must have the columns {list(required)} (a register frame). "
                f"Got {list(frame.columns)} instead: pass Register.action_items_frame() / incidents_frame()."
            )
    as_of_ts = pd.Timestamp(as_utc(as_of))
    table = _with_incident_facts(_normalised_items(action_items), incidents)
    _add_state_columns(table, as_of_ts)
    keep = np.ones(len(table), dtype=bool)
    if overdue_only:
        keep &= table["overdue"].to_numpy(dtype=bool)
    for column, wanted in (("owner", owners), ("team", teams)):
        if wanted is not None:
            keep &= _grouping_labels(table[column]).isin(list(wanted)).to_numpy(dtype=bool)
    if systems is not None:
        keep &= table["system_id"].isin(list(systems)).to_numpy(dtype=bool)
    table = table[keep]
    order_key = pd.DataFrame(
        {"not_overdue": ~table["overdue"], "due_at": table["due_at"], "id": table["id"]}, index=table.index
    )
    order = order_key.sort_values(["not_overdue", "due_at", "id"], kind="stable", na_position="last").index
    return table.loc[order].reset_index(drop=True)


def _normalised_items(action_items: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``action_items`` with every used column present and times as UTC datetimes."""
    items = action_items.copy()
    for column in _ITEM_COLUMNS:
        if column not in items.columns:
            default: object = ActionItemStatus.OPEN.value if column == "status" else None
            items[column] = pd.Series(default, index=items.index, dtype=object)
    for column in ("due_at", "completed_at"):
        items[column] = _utc_times(items[column])
    # vocabulary members are str subclasses: plain values compare and export alike
    items["status"] = items["status"].fillna(ActionItemStatus.OPEN.value).astype(str)
    return items


def _utc_times(values: pd.Series) -> pd.Series:
    if values.dtype == object and values.isna().all():
        return pd.Series(pd.NaT, index=values.index, dtype=_TIME_DTYPE)
    return pd.to_datetime(values, utc=True, format="ISO8601").astype(_TIME_DTYPE)


def _with_incident_facts(items: pd.DataFrame, incidents: pd.DataFrame) -> pd.DataFrame:
    """``items`` with its incident's system, severity, status and closing time (missing if not found)."""
    facts = pd.DataFrame({"id": incidents["id"]})
    for source, target in _INCIDENT_COLUMNS.items():
        facts[target] = incidents[source] if source in incidents.columns else None
    facts["incident_closed_at"] = _utc_times(facts["incident_closed_at"])
    facts = facts.drop_duplicates("id")
    # positions by one factorisation of both key columns (faster than a merge on Arrow strings)
    codes, _ = pd.factorize(pd.concat([facts["id"].astype(object), items["incident_id"].astype(object)]))
    fact_codes, item_codes = codes[: len(facts)], codes[len(facts) :]
    position_of_code = np.full(len(codes) + 1, -1, dtype=np.int64)
    position_of_code[fact_codes] = np.arange(len(facts))
    positions = position_of_code[item_codes]
    found = positions >= 0
    for target in _INCIDENT_COLUMNS.values():
        column = facts[target].reset_index(drop=True)
        if len(column):
            picked = column.take(np.where(found, positions, 0)).set_axis(items.index)
            items[target] = picked.where(found)
        else:
            items[target] = pd.Series(None, index=items.index, dtype=object)
    items["incident_closed_at"] = _utc_times(items["incident_closed_at"])
    return items


def _add_state_columns(table: pd.DataFrame, as_of_ts: pd.Timestamp) -> None:
    status, due, completed = table["status"], table["due_at"], table["completed_at"]
    is_done_status = status.eq(ActionItemStatus.DONE.value)
    done_later = is_done_status & completed.notna() & (completed > as_of_ts)
    is_open = (status.isin(_OPEN_STATUSES) | done_later).to_numpy(dtype=bool)
    has_due = due.notna().to_numpy(dtype=bool)
    past_due = has_due & (due < as_of_ts).fillna(False).to_numpy(dtype=bool)
    overdue = is_open & past_due
    days = ((as_of_ts - due) // _DAY).astype("Int64")
    table["is_open"] = is_open
    table["is_done"] = (is_done_status & ~done_later).to_numpy(dtype=bool)
    table["overdue"] = overdue
    table["days_overdue"] = days.where(overdue)
    bucket_index = np.where(
        ~has_due,
        len(AGE_BUCKETS) - 1,
        np.where(~past_due, 0, 1 + np.searchsorted(_BUCKET_UPPER_DAYS, days.fillna(0).to_numpy(), "left")),
    )
    buckets = pd.Series(np.array(AGE_BUCKETS, dtype=object)[bucket_index], index=table.index, dtype=object)
    table["age_bucket"] = buckets.where(is_open)
    on_time = (completed <= due).fillna(False).to_numpy(dtype=bool)
    table["closed_on_time"] = table["is_done"].to_numpy(dtype=bool) & on_time
    closed = table["incident_closed_at"]
    table["incident_closed_while_open"] = is_open & (closed <= as_of_ts).fillna(False).to_numpy(dtype=bool)


def _grouping_labels(values: pd.Series) -> pd.Series:
    """Values as plain strings for grouping, :data:`UNASSIGNED` where missing or blank."""
    labels = values.astype(object).where(values.notna(), UNASSIGNED).astype(str).str.strip()
    return labels.where(labels != "", UNASSIGNED)


def action_item_summary(table: pd.DataFrame, incidents: pd.DataFrame, *, as_of: datetime) -> dict[str, Any]:
    """Counts of an :func:`action_item_table`: open, overdue, done, closure, ageing and who holds what.

    Parameters
    ----------
    table : pandas.DataFrame
        The result of :func:`action_item_table` with the same ``as_of`` (every count is over its rows:
        pass the table without ``overdue_only`` for closure figures).
    incidents : pandas.DataFrame
        The incidents in scope (``id``; ``closed_at`` and, when present, ``postmortem_required`` choose
        the incidents checked for a preventive item, :data:`PREVENTIVE_SCOPE`).
    as_of : datetime
        When the state is judged (naive means UTC).

    Returns
    -------
    dict
        JSON-serialisable (plain ``int``, ``float``, ``str``, ``None``, lists and dicts):

        - ``as_of`` (ISO-8601 UTC), ``items`` (rows), ``open``, ``overdue``, ``done``, ``wont_do``,
          ``open_on_closed_incidents`` (open items whose incident is closed);
        - ``closure_rate`` (:data:`CLOSURE_RATE_DEFINITION`, ``None`` without items),
          ``closure_rate_definition``; ``closed_on_time``, ``on_time_rate``
          (:data:`ON_TIME_RATE_DEFINITION`, ``None`` when no done item has both times),
          ``on_time_rate_definition``;
        - ``ageing``: open items per bucket of :data:`AGE_BUCKETS` (every bucket, in that order);
        - ``by_owner``, ``by_team``, ``by_kind``, ``by_priority``: name -> ``{"items", "open",
          "overdue", "done"}``; a missing owner/team/kind/priority is :data:`UNASSIGNED`; owners and
          teams by most overdue, then most open, then name; kinds and priorities in vocabulary order;
        - ``incidents_without_preventive``: ``{"scope", "preventive_kinds", "checked", "count",
          "incident_ids"}`` (ids sorted; ``checked`` = incidents in scope).

    Examples
    --------
    >>> import pandas as pd
    >>> from datetime import datetime, UTC
    >>> items = pd.DataFrame({"id": ["A1", "A2"], "incident_id": ["INC-2026-0001", "INC-2026-0002"],
    ...     "kind": ["mitigate", "prevent"], "status": ["open", "done"],
    ...     "due_at": pd.to_datetime(["2026-01-01", "2026-03-01"], utc=True),
    ...     "completed_at": pd.to_datetime([None, "2026-02-01"], utc=True)})
    >>> incidents = pd.DataFrame({"id": ["INC-2026-0001", "INC-2026-0002"],
    ...     "closed_at": pd.to_datetime(["2026-01-20", "2026-02-10"], utc=True)})
    >>> as_of = datetime(2026, 2, 20, tzinfo=UTC)
    >>> table = action_item_table(items, incidents, as_of=as_of)
    >>> summary = action_item_summary(table, incidents, as_of=as_of)
    >>> [summary[key] for key in ("open", "overdue", "done", "closure_rate", "closed_on_time")]
    [1, 1, 1, 0.5, 1]
    >>> summary["incidents_without_preventive"]["incident_ids"]
    ['INC-2026-0001']
    """
    as_of_ts = pd.Timestamp(as_utc(as_of))
    n_items = len(table)
    is_open = table["is_open"].to_numpy(dtype=bool)
    done = table["is_done"].to_numpy(dtype=bool)
    completed, due = table["completed_at"], table["due_at"]
    judged_on_time = done & (completed.notna() & due.notna()).to_numpy(dtype=bool)
    closed_on_time = int(table["closed_on_time"].sum())
    ageing = table["age_bucket"][is_open].value_counts()
    return {
        "as_of": as_of_ts.isoformat(),
        "items": n_items,
        "open": int(is_open.sum()),
        "overdue": int(table["overdue"].sum()),
        "done": int(done.sum()),
        "wont_do": int(table["status"].eq(ActionItemStatus.WONT_DO.value).sum()),
        "open_on_closed_incidents": int(table["incident_closed_while_open"].sum()),
        "closure_rate": float(done.sum() / n_items) if n_items else None,
        "closure_rate_definition": CLOSURE_RATE_DEFINITION,
        "closed_on_time": closed_on_time,
        "on_time_rate": float(closed_on_time / judged_on_time.sum()) if judged_on_time.any() else None,
        "on_time_rate_definition": ON_TIME_RATE_DEFINITION,
        "ageing": {bucket: int(ageing.get(bucket, 0)) for bucket in AGE_BUCKETS},
        "by_owner": _counts_by(table, "owner"),
        "by_team": _counts_by(table, "team"),
        "by_kind": _counts_by(table, "kind", order=ActionItemKind.values()),
        "by_priority": _counts_by(table, "priority", order=["P1", "P2", "P3", "P4"]),
        "incidents_without_preventive": _without_preventive(table, incidents, as_of_ts),
    }


def _counts_by(
    table: pd.DataFrame, column: str, *, order: Sequence[str] | None = None
) -> dict[str, dict[str, int]]:
    """Per value of ``column``: items, open, overdue and done (all plain ints)."""
    flags = pd.DataFrame(
        {
            "key": _grouping_labels(table[column]).to_numpy(dtype=object),
            "items": 1,
            "open": table["is_open"].to_numpy(dtype="int64"),
            "overdue": table["overdue"].to_numpy(dtype="int64"),
            "done": table["is_done"].to_numpy(dtype="int64"),
        }
    )
    counts = flags.groupby("key", sort=True).sum()
    if order is not None:
        known = [name for name in order if name in counts.index]
        counts = counts.loc[known + sorted(set(counts.index) - set(known))]
    else:
        counts = counts.sort_values(["overdue", "open"], ascending=False, kind="stable")
    records = counts.astype("int64").to_dict(orient="index")
    return {str(key): {name: int(value) for name, value in row.items()} for key, row in records.items()}


def _without_preventive(
    table: pd.DataFrame, incidents: pd.DataFrame, as_of_ts: pd.Timestamp
) -> dict[str, Any]:
    closed_at = _utc_times(incidents["closed_at"]) if "closed_at" in incidents.columns else None
    in_scope = (
        (closed_at <= as_of_ts).fillna(False).to_numpy(dtype=bool, copy=True)
        if closed_at is not None
        else np.zeros(len(incidents), dtype=bool)
    )
    if "postmortem_required" in incidents.columns:
        required = incidents["postmortem_required"].astype("boolean").fillna(False)
        in_scope = in_scope | required.to_numpy(dtype=bool)
    preventive = table["kind"].astype(object).isin(PREVENTIVE_KINDS) & table["status"].ne(
        ActionItemStatus.WONT_DO.value
    )
    covered = pd.unique(table.loc[preventive, "incident_id"].astype(object))
    scoped_ids = incidents["id"][in_scope].astype(object)
    missing = scoped_ids[~scoped_ids.isin(covered)]
    return {
        "scope": PREVENTIVE_SCOPE,
        "preventive_kinds": list(PREVENTIVE_KINDS),
        "checked": int(in_scope.sum()),
        "count": len(missing),
        "incident_ids": sorted(str(value) for value in missing),
    }
