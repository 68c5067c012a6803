"""The post-mortem's timeline: the register's events plus the events the analysis sections contribute.

:func:`section_events` is the one place that knows which section contributes which timeline rows (today
the drift section: its onset). :func:`timeline_data` builds the timeline block from both, with the
detection delay measured from the earliest onset the analysis saw when it precedes awareness.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from register.schema import Incident, TimelineEvent, as_utc
from workbench.sections import DriftSummary

__all__ = ["section_events", "timeline_data"]


def section_events(section_key: str, summary: BaseModel) -> list[dict[str, Any]]:
    """Timeline rows a section's validated summary contributes (``source`` is ``"analysis"``).

    Parameters
    ----------
    section_key : str
        The section's key.
    summary : pydantic.BaseModel
        Its summary, validated against the section's ``summary_model``.

    Returns
    -------
    list of dict
        Rows with ``at``, ``kind``, ``description`` and ``source``; empty when the section contributes
        none.

    Examples
    --------
    >>> from workbench.sections import get_section
    >>> drift = get_section("drift").validate_summary({
    ...     "incident_id": "INC-2026-0001", "method": "defaults", "n_columns": 2, "n_drifted": 1,
    ...     "share_drifted": 0.5, "dataset_drift": False, "drifted_features": ["income"],
    ...     "onset": "2026-11-03T00:00:00Z",
    ...     "reference_window": {"start": "2026-10-01T00:00Z", "end": "2026-10-29T00:00Z"},
    ...     "current_window": {"start": "2026-11-01T00:00Z", "end": "2026-11-06T00:00Z"}})
    >>> [row["description"] for row in section_events("drift", drift)]
    ['Drift onset seen by the analysis: income']
    >>> section_events("impact", drift)
    []
    """
    if section_key == "drift" and isinstance(summary, DriftSummary) and summary.onset is not None:
        features = ", ".join(summary.drifted_features)
        return [
            {
                "at": as_utc(summary.onset),
                "kind": "Detection",
                "description": "Drift onset seen by the analysis" + (f": {features}" if features else ""),
                "source": "analysis",
            }
        ]
    return []


def timeline_data(
    incident: Incident, events: Sequence[TimelineEvent], summaries: Mapping[str, BaseModel]
) -> dict[str, Any]:
    """The timeline block's data: register events and section events by time, and the detection delay.

    Parameters
    ----------
    incident : Incident
        The incident (its occurrence and awareness times).
    events : sequence of TimelineEvent
        The register's timeline events (their descriptions as recorded; the block's validation redacts).
    summaries : mapping
        Section key to its validated summary, for the sections that ran.

    Returns
    -------
    dict
        The fields of :class:`~workbench.report._blocks.TimelineBlock`.
    """
    rows: list[dict[str, Any]] = [
        {
            "at": event.at,
            "kind": _label(event.kind),
            "description": event.description,
            "role": _label(event.role),
            "source": "register",
        }
        for event in events
    ]
    contributed = [row for key, summary in summaries.items() for row in section_events(key, summary)]
    rows.extend(contributed)
    rows.sort(key=lambda row: row["at"])
    onset: datetime | None = min((row["at"] for row in contributed), default=None)
    aware = incident.aware_at
    if onset is not None and onset <= aware:
        delay, basis = (aware - onset).total_seconds() / 3600, "drift onset seen by the analysis to awareness"
    elif incident.occurred_at is not None:
        delay, basis = (aware - incident.occurred_at).total_seconds() / 3600, "occurrence to awareness"
    else:
        delay, basis = None, None
    return {
        "events": rows,
        "drift_onset": onset,
        "occurred_at": incident.occurred_at,
        "aware_at": incident.aware_at,
        "detection_delay_hours": delay,
        "detection_delay_basis": basis,
    }


def _label(value: Any) -> str | None:
    if value is None:
        return None
    return getattr(value, "label", None) or str(value)
