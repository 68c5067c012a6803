"""The in-memory form of a register bundle: incidents with their children and AI systems."""

from __future__ import annotations

from dataclasses import dataclass, field

from register.schema import (
    ActionItem,
    AiSystem,
    Classification,
    Evidence,
    Incident,
    Notification,
    TimelineEvent,
)

__all__ = ["Bundle", "ENTITY_ORDER"]

ENTITY_ORDER: tuple[str, ...] = (
    "ai_systems",
    "incidents",
    "timeline_events",
    "action_items",
    "notifications",
    "evidence",
    "classifications",
)
"""Entities of a bundle, parents first: the order in which they are written and read."""


@dataclass
class Bundle:
    """Validated register records, ready to be written in one all-or-nothing transaction."""

    ai_systems: list[AiSystem] = field(default_factory=list)
    incidents: list[Incident] = field(default_factory=list)
    timeline_events: list[TimelineEvent] = field(default_factory=list)
    action_items: list[ActionItem] = field(default_factory=list)
    notifications: list[Notification] = field(default_factory=list)
    evidence: list[Evidence] = field(default_factory=list)
    classifications: list[Classification] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        """Return the number of records per entity, in :data:`ENTITY_ORDER`."""
        return {name: len(getattr(self, name)) for name in ENTITY_ORDER}

    def external_references(self) -> dict[str, set[str]]:
        """Ids this bundle points at but does not hold: ``{"incidents": {...}, "ai_systems": {...}}``.

        The register checks these against its own tables when a bundle read with
        ``allow_external=True`` is imported.
        """
        incident_ids = {incident.id for incident in self.incidents}
        system_ids = {system.id for system in self.ai_systems}
        children: list[TimelineEvent | ActionItem | Notification | Evidence | Classification] = [
            *self.timeline_events,
            *self.action_items,
            *self.notifications,
            *self.evidence,
            *self.classifications,
        ]
        return {
            "incidents": {child.incident_id for child in children} - incident_ids,
            "ai_systems": {
                incident.system_id for incident in self.incidents if incident.system_id is not None
            }
            - system_ids,
        }
