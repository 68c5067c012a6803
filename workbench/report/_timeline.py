"""The post-mortem's one timeline: the register's events plus the events the analysis sections contribute.

Each section contributes its events through its contract (:attr:`analysis.contract.Section.timeline_events`,
e.g. the drift section: one event per onset of a named column or stale input, covering its chunk), so the
timeline shows exactly the onsets the sections' tables show. :func:`timeline_data` builds the timeline
block from both, with the detection delay measured from the earliest onset the analysis saw when it
precedes awareness.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from register.schema import Incident, TimelineEvent, as_utc

if TYPE_CHECKING:
    from analysis.contract import Section

__all__ = ["section_events", "timeline_data"]


def section_events(section: Section, summary: BaseModel) -> list[dict[str, Any]]:
    """Timeline rows a section's validated summary contributes (``source`` is ``"analysis"``).

    Parameters
    ----------
    section : analysis.contract.Section
        The section (its ``timeline_events`` hook).
    summary : pydantic.BaseModel
        Its summary, validated against the section's ``summary_model``.

    Returns
    -------
    list of dict
        Rows with ``at``, ``until`` (the end of the chunk an onset covers), ``kind``, ``description``
        and ``source``; empty when the section contributes none.

    Examples
    --------
    >>> from workbench.sections import get_section
    >>> drift = get_section("drift")
    >>> summary = drift.validate_summary({
    ...     "incident_id": "INC-2026-0001", "method": "defaults", "n_columns": 2, "n_drifted": 1,
    ...     "share_drifted": 0.5, "dataset_drift": False, "drifted_features": ["income"],
    ...     "columns": [{"column": "income", "test": "wasserstein", "drifted": True,
    ...                  "onset": "2026-11-03T00:00:00Z"}],
    ...     "onset": "2026-11-03T00:00:00Z",
    ...     "reference_window": {"start": "2026-10-01T00:00Z", "end": "2026-10-29T00:00Z"},
    ...     "current_window": {"start": "2026-11-01T00:00Z", "end": "2026-11-06T00:00Z"}})
    >>> [(row["description"], row["until"].day) for row in section_events(drift, summary)]
    [('Drift onset seen by the analysis: income', 4)]
    >>> section_events(get_section("impact"), summary)
    []
    """
    return [
        {
            "at": as_utc(item.at),
            "until": as_utc(item.until) if item.until is not None else None,
            "kind": item.kind,
            "description": item.description,
            "source": "analysis",
        }
        for item in section.timeline_events(summary)
    ]


def timeline_data(
    incident: Incident,
    events: Sequence[TimelineEvent],
    summaries: Mapping[str, BaseModel],
    sections: Mapping[str, Section],
    as_of: datetime | None = None,
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
    sections : mapping
        Section key to the section (whose contract gives its timeline events).
    as_of : datetime or None
        The time the report judges as of: events recorded after it (e.g. the analysis run itself, done
        later) are listed apart, as not known at that time.

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
    contributed = [
        row for key, summary in summaries.items() for row in section_events(sections[key], summary)
    ]
    rows.extend(contributed)
    rows.sort(key=lambda row: row["at"])
    # rows are in time order: what was recorded after as_of is the tail
    cut = next(
        (index for index, row in enumerate(rows) if as_of is not None and as_utc(row["at"]) > as_utc(as_of)),
        len(rows),
    )
    rows, later = rows[:cut], rows[cut:]
    onset: datetime | None = min((row["at"] for row in contributed), default=None)
    aware = incident.aware_at
    if onset is not None and onset <= aware:
        delay = (aware - onset).total_seconds() / 3600
        basis = "earliest onset seen by the analysis to awareness"
    elif incident.occurred_at is not None:
        delay, basis = (aware - incident.occurred_at).total_seconds() / 3600, "occurrence to awareness"
    else:
        delay, basis = None, None
    return {
        "events": rows,
        "later_events": later,
        "as_of": as_of,
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
