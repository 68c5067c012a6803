"""The register frames a cross-incident (governance) analysis reads, each read once.

:func:`trend_frames` reads the incidents, action items, notifications and AI systems once and derives
the incidents' metrics (:func:`register.metrics.incident_metrics`) and notification clocks
(:func:`register.metrics.notification_status`) from those frames, so a dashboard over 100k incidents
does not read the incidents table twice.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from register.schema import INCIDENT_TIME_FIELDS, as_utc

if TYPE_CHECKING:
    import pandas as pd

    from register.api import Register
    from register.policy import Policy

__all__ = ["ACTION_ITEM_COLUMNS", "TREND_INCIDENT_COLUMNS", "trend_frames"]

ACTION_ITEM_COLUMNS = (
    "incident_id", "title", "owner", "team", "kind", "priority", "status", "due_at", "completed_at",
)  # fmt: skip
"""Action-item columns a trend analysis reads (the verification note stays out)."""

TREND_INCIDENT_COLUMNS = (
    "system_id",
    "category",
    "kind",
    "severity",
    "status",
    "detection_source",
    *INCIDENT_TIME_FIELDS,
    "regulatory_notifiable",
    "publicly_visible",
    "ongoing",
    "reversible",
    "affected_count",
    "root_cause_category",
    "postmortem_status",
    "tags",
)
"""Incident columns a trend analysis reads (no narrative text: titles and summaries stay out)."""


def trend_frames(register: Register, *, as_of: datetime, policy: Policy) -> dict[str, pd.DataFrame]:
    """Incidents, their metrics and notification clocks, and action items, as of ``as_of``.

    Parameters
    ----------
    register : register.api.Register
    as_of : datetime
        The time clocks are judged at.
    policy : register.policy.Policy
        SLAs, post-mortem rules and notification regimes.

    Returns
    -------
    dict of pandas.DataFrame
        ``incidents``, ``metrics`` (one row per incident, same order), ``notifications`` (the
        :func:`~register.metrics.notification_status` table) and ``action_items``.
    """
    from register import _tables as t
    from register.metrics import incident_metrics, notification_status

    available = {column.name for column in t.incidents.columns}
    columns = [name for name in (*TREND_INCIDENT_COLUMNS, "source", "source_id") if name in available]
    incidents = register.incidents_frame(columns=columns)
    notifications = register.notifications_frame()
    action_items = register.action_items_frame(columns=list(ACTION_ITEM_COLUMNS))
    systems = register.systems_frame()
    when = as_utc(as_of)
    metrics = incident_metrics(
        incidents,
        policy=policy,
        as_of=when,
        notifications=notifications,
        action_items=action_items,
        systems=systems,
    )
    clocks = notification_status(
        incidents, policy=policy, as_of=when, notifications=notifications, systems=systems
    )
    return {"incidents": incidents, "metrics": metrics, "notifications": clocks, "action_items": action_items}
