"""The register as DataFrames: the ``*_frame`` methods of :class:`register.api.Register`.

:class:`FrameReaders` is a base class of ``Register``. It needs pandas only when a frame is read:
the conversion from rows to columns lives in :mod:`register._frame_read` (pandas and numpy), imported
on the first read, so ``import register`` and the register's commands that do not read frames never
import pandas.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from register import _tables as t
from register._entities import incident_query
from register._history import history_query
from register.errors import ValidationFailed
from register.schema import ActionItemStatus, as_utc, utc_now
from register.store import read_transaction

if TYPE_CHECKING:
    import pandas as pd

    from register.policy import Policy

__all__ = ["FrameReaders"]

_NARRATIVE_COLUMNS = frozenset(
    {
        "title",
        "summary",
        "incident_commander",
        "technical_lead",
        "communications_lead",
        "legal_compliance",
        "data_lead",
        "postmortem_facilitator",
        "trigger",
        "root_cause_category",
        "contributing_factors",
        "resolution",
        "lessons_learned",
        "model_versions",
        "failure_signal",
        "affected_groups",
        "updated_at",
        "updated_by",
        "source_id",
    }
)
"""Free-text, descriptive and bookkeeping incident columns that derived metrics never read (left out
for speed; ``tests/unit/register/test_api.py`` compares with the metrics of the full frames)."""
_METRICS_UNREAD_COLUMNS = _NARRATIVE_COLUMNS | {"detection_source", "evidence_hold"}
"""Incident columns :func:`register.metrics.incident_metrics` never reads (neither a metric input nor a
policy fact), left out of :meth:`FrameReaders.metrics_frame`'s read."""


_SHIPPED_POLICY: dict[str, Policy] = {}


def _shipped_policy() -> Policy:
    """The shipped default policy, parsed once per content of the packaged file (read-only use)."""
    from importlib import resources

    from register.policy import load_policy

    text = resources.files("register").joinpath("data/policy.yaml").read_text(encoding="utf-8")
    if text not in _SHIPPED_POLICY:
        _SHIPPED_POLICY.clear()
        _SHIPPED_POLICY[text] = load_policy()
    return _SHIPPED_POLICY[text]


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector: many small objects at once, holding no cycles."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


class FrameReaders:
    """The DataFrame readers of the register (a base class of :class:`register.api.Register`)."""

    _engine: Engine

    def history_frame(self, *, entity: str | None = None) -> pd.DataFrame:
        """Return the whole audit trail (or one entity type's) as a DataFrame, oldest first."""
        return self._frame(t.history, history_query(entity))

    def _frame(
        self,
        table: sa.Table,
        query: sa.Select[Any],
        *,
        columns: Sequence[str] | None = None,
        text_order: Sequence[str] = (),
        with_id: bool = True,
    ) -> pd.DataFrame:
        """Read ``query`` (only ``columns`` of ``table``, ``id`` first unless not ``with_id``)."""
        from register._frame_read import read_frame

        selected: list[Any] = list(query.selected_columns)
        if columns is not None:
            unknown = sorted(set(columns) - set(table.c.keys()))
            if unknown:
                raise ValidationFailed(
                    f"columns must be columns of {table.name} ({', '.join(table.c.keys())}). "
                    f"Got {unknown} instead."
                )
            wanted = ["id", *(name for name in columns if name != "id")] if with_id else list(columns)
            selected = [table.c[name] for name in wanted]
        # Many small objects are created at once: the cyclic garbage collector would rescan them
        # over and over (a third of the time at 100k incidents), and they hold no cycles.
        with _collector_paused(), read_transaction(self._engine) as connection:
            return read_frame(connection, table, query, selected, text_order=text_order)

    def incidents_frame(
        self,
        *,
        system: str | Sequence[str] | None = None,
        severity: str | Sequence[str] | None = None,
        status: str | Sequence[str] | None = None,
        category: str | Sequence[str] | None = None,
        kind: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        open_only: bool = False,
        incident_ids: Sequence[str] | None = None,
        columns: Sequence[str] | None = None,
    ) -> pd.DataFrame:
        """Return incidents as a DataFrame (one row each, the same filters as :meth:`list_incidents`).

        Times are ``datetime64[us, UTC]``; lists (tags, affected groups...) are Python lists; booleans
        are the nullable ``boolean`` dtype; ``affected_count`` is ``Int64``. ``columns`` limits the
        columns read (``id`` always comes first): reading less is faster.

        Examples
        --------
        >>> import tempfile, os
        >>> from register import open_register
        >>> reg = open_register(os.path.join(tempfile.mkdtemp(), "r.sqlite"), create=True)
        >>> _ = reg.add_incident({"title": "Drift", "category": "performance_degradation",
        ...                       "severity": "SEV-3", "aware_at": "2026-05-04T10:00:00+02:00"})
        >>> frame = reg.incidents_frame(columns=["severity", "aware_at"])
        >>> frame.columns.tolist(), str(frame["aware_at"].dtype), str(frame.loc[0, "aware_at"])
        (['id', 'severity', 'aware_at'], 'datetime64[us, UTC]', '2026-05-04 08:00:00+00:00')
        """
        query = incident_query(
            system=system,
            severity=severity,
            status=status,
            category=category,
            kind=kind,
            since=since,
            until=until,
            open_only=open_only,
            incident_ids=incident_ids,
        )
        return self._frame(t.incidents, query, columns=columns, text_order=("aware_at", "id"))

    def timeline_frame(
        self, incident_id: str | None = None, *, columns: Sequence[str] | None = None
    ) -> pd.DataFrame:
        """Return timeline events (of one incident, or all) as a DataFrame, by incident then time."""
        return self._child_frame(
            t.timeline_events, incident_id, order=("incident_id", "at", "id"), columns=columns
        )

    def action_items_frame(
        self, incident_id: str | None = None, *, columns: Sequence[str] | None = None
    ) -> pd.DataFrame:
        """Return action items (of one incident, or all) as a DataFrame."""
        return self._child_frame(t.action_items, incident_id, order=("incident_id", "id"), columns=columns)

    def notifications_frame(
        self, incident_id: str | None = None, *, columns: Sequence[str] | None = None
    ) -> pd.DataFrame:
        """Return notifications (of one incident, or all) as a DataFrame."""
        return self._child_frame(t.notifications, incident_id, order=("incident_id", "id"), columns=columns)

    def evidence_frame(self, incident_id: str | None = None) -> pd.DataFrame:
        """Return evidence records (of one incident, or all) as a DataFrame."""
        return self._child_frame(t.evidence, incident_id, order=("incident_id", "id"))

    def classifications_frame(self, incident_id: str | None = None) -> pd.DataFrame:
        """Return taxonomy labels (of one incident, or all) as a DataFrame."""
        return self._child_frame(t.classifications, incident_id, order=("incident_id", "id"))

    def systems_frame(self) -> pd.DataFrame:
        """Return the AI systems as a DataFrame (the data card as parsed JSON)."""
        return self._frame(t.ai_systems, sa.select(t.ai_systems).order_by(t.ai_systems.c.id))

    def metrics_frame(
        self,
        *,
        as_of: datetime | None = None,
        policy: Policy | None = None,
        incident_ids: Sequence[str] | None = None,
        **filters: Any,
    ) -> pd.DataFrame:
        """Return the derived metrics of incidents (:func:`register.metrics.incident_metrics`).

        Parameters
        ----------
        as_of : datetime, optional
            When the clocks are judged (default: now).
        policy : register.policy.Policy, optional
            Default: the shipped policy.
        incident_ids : sequence of str, optional
            Only these incidents.
        **filters
            The filters of :meth:`incidents_frame` (system, severity, status, ...).
        """
        from register.metrics import incident_metrics

        with _collector_paused():  # many small objects, no cycles: see _frame
            columns = [c.name for c in t.incidents.columns if c.name not in _METRICS_UNREAD_COLUMNS]
            incidents = self.incidents_frame(incident_ids=incident_ids, columns=columns, **filters)
            when = as_utc(as_of) if as_of is not None else utc_now()
            return incident_metrics(
                incidents,
                policy=policy if policy is not None else _shipped_policy(),
                as_of=when,
                notifications=self.notifications_frame(
                    incident_ids[0] if incident_ids is not None and len(incident_ids) == 1 else None
                ),
                action_items=self._open_action_items(when, incident_ids),
                systems=self.systems_frame(),
            )

    def open_action_items_frame(
        self, *, as_of: datetime, columns: Sequence[str] | None = None
    ) -> pd.DataFrame:
        """Return the action items that are open as of ``as_of``, by incident then id.

        Open = open or in progress, or done with a completion time after ``as_of`` (it had not been
        completed yet then). Reading only these is much faster than :meth:`action_items_frame` on a
        register whose items are mostly done.
        """
        when = as_utc(as_of)
        c = t.action_items.c
        query = sa.select(t.action_items).where(
            sa.or_(
                c.status.in_([ActionItemStatus.OPEN.value, ActionItemStatus.IN_PROGRESS.value]),
                sa.and_(c.status == ActionItemStatus.DONE.value, c.completed_at > when),
            )
        )
        order = ("incident_id", "id")
        wanted = sorted(set(columns) | set(order)) if columns else None
        frame = self._frame(t.action_items, query, columns=wanted)
        frame = frame.sort_values(list(order), kind="stable", na_position="last", ignore_index=True)
        if columns is not None:
            frame = frame[["id", *(name for name in columns if name != "id")]]
        return frame

    def _open_action_items(self, when: datetime, incident_ids: Sequence[str] | None) -> pd.DataFrame:
        # Only action items that can be open at `when` change the counts (open or in progress, or done
        # after `when`); reading only those, and only the columns the counts use, is much faster.
        # Tests compare with the metrics of the full frames.
        one = incident_ids[0] if incident_ids is not None and len(incident_ids) == 1 else None
        c = t.action_items.c
        query = sa.select(t.action_items).where(
            sa.or_(
                c.status.in_([ActionItemStatus.OPEN.value, ActionItemStatus.IN_PROGRESS.value]),
                sa.and_(c.status == ActionItemStatus.DONE.value, c.completed_at > when),
            )
        )
        if one is not None:
            query = query.where(c.incident_id == one)
        return self._frame(
            t.action_items, query, columns=("incident_id", "status", "due_at", "completed_at"), with_id=False
        )

    def _child_frame(
        self,
        table: sa.Table,
        incident_id: str | None,
        *,
        order: tuple[str, ...],
        columns: Sequence[str] | None = None,
    ) -> pd.DataFrame:
        # sorted in pandas: SQLite would sort a million rows in a temporary B-tree, several times slower
        query = sa.select(table)
        if incident_id is not None:
            query = query.where(table.c.incident_id == incident_id)
        frame = self._frame(table, query, columns=sorted(set(columns) | set(order)) if columns else None)
        frame = frame.sort_values(list(order), kind="stable", na_position="last", ignore_index=True)
        if columns is not None:
            frame = frame[["id", *(name for name in columns if name != "id")]]
        return frame
