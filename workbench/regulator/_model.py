"""The data model of a regulator report draft: fields that are filled or "to complete", in sections.

A draft is data before it is a page: :class:`RegulatorDraft` holds sections of :class:`DraftField`, each
with the value, where it came from (a register field, a section summary, the policy) or -- when nothing
the workbench holds knows it -- ``to_complete`` with the role that should complete it. Markdown, HTML
and JSON are rendered from this one object, so the three never differ.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["ChainLink", "DeadlineStatus", "DraftField", "DraftSection", "RegulatorDraft"]

DeadlineState = Literal[
    "due", "overdue", "sent", "sent_late", "no_fixed_clock", "clock_not_started", "not_applicable"
]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class DraftField(_Model):
    """One field of a draft: its value and source, or "to complete" and by whom."""

    key: str = Field(description="stable id, e.g. 's1.report_type'")
    label: str
    value: Any = Field(default=None, description="the value as data (JSON-compatible), None when unknown")
    text: str | None = Field(default=None, description="the value as shown (redacted)")
    source: str | None = Field(default=None, description="where the value comes from")
    to_complete: bool = False
    complete_by: str | None = Field(default=None, description="the role that should complete it")
    note: str | None = Field(default=None, description="what the value means or why it is unknown")


class DraftSection(_Model):
    """A section of the draft (the template's structure)."""

    key: str
    title: str
    fields: list[DraftField] = Field(default_factory=list)
    note: str | None = None


class DeadlineStatus(_Model):
    """The deadline of this report as of the draft's ``as_of``, in words and as data."""

    regime: str
    report_type: str
    applicable: bool
    reasons: list[str] = Field(default_factory=list)
    clock_started_at: datetime | None = None
    due_at: datetime | None = None
    sent_at: datetime | None = None
    state: DeadlineState
    text: str = Field(description="e.g. 'due in 3 d 4 h', 'sent 2 h late'")
    late_seconds: float | None = Field(default=None, description="how late (sent or as of now); > 0 = late")
    basis: str | None = Field(default=None, description="the policy's reason for the clock")


class ChainLink(_Model):
    """One report of the incident's chain under the regime (initial -> follow-up -> final)."""

    report_type: str
    notification_id: str | None = None
    reference: str | None = None
    due_at: datetime | None = None
    sent_at: datetime | None = None
    state: str
    drafts: list[str] = Field(default_factory=list, description="draft files recorded as evidence")
    this_report: bool = False


class RegulatorDraft(_Model):
    """A regulator report draft (or a public-database report), ready to render and to record."""

    template: Literal["eu_ai_act_art73", "gdpr_art33", "oecd"]
    template_title: str
    template_source: str = Field(description="the template or text the structure follows")
    regime: str | None = None
    regime_name: str | None = None
    recipient: str | None = None
    incident_id: str
    report_type: str
    reference: str = Field(description="this report's own reference")
    previous_reference: str | None = Field(default=None, description="the report this one follows")
    as_of: datetime
    generated_at: datetime
    run_id: str | None = Field(default=None, description="the analysis run whose summaries were read")
    summaries_used: list[str] = Field(default_factory=list)
    deadline: DeadlineStatus | None = None
    chain: list[ChainLink] = Field(default_factory=list)
    sections: list[DraftSection] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list, description="warnings the sender must read")
    blameless_flags: list[dict[str, str]] = Field(default_factory=list)
    notification_id: str | None = Field(default=None, description="the register notification it belongs to")
    disclaimer: str = (
        "Draft prepared by the AI incident workbench from the incident register and the latest analysis "
        "run. Not legal advice: the policy file and this draft are the organisation's to check. Fields "
        "marked TO COMPLETE are not known to the workbench and must be filled in before sending."
    )

    @property
    def fields(self) -> list[DraftField]:
        """Every field, in section order."""
        return [item for section in self.sections for item in section.fields]

    @property
    def to_complete(self) -> list[DraftField]:
        """The fields that must be completed before the draft is sent."""
        return [item for item in self.fields if item.to_complete]

    def field(self, key: str) -> DraftField:
        """Return the field with this key; ``KeyError`` when the draft has none."""
        for item in self.fields:
            if item.key == key:
                return item
        raise KeyError(f"draft field must be one of {[f.key for f in self.fields]}. Got {key!r} instead.")

    def to_json(self) -> dict[str, Any]:
        """The draft as JSON data, with the list of fields to complete."""
        data = self.model_dump(mode="json")
        data["to_complete"] = [
            {"key": item.key, "label": item.label, "complete_by": item.complete_by}
            for item in self.to_complete
        ]
        data["schema"] = "workbench-regulator-draft/1"
        return data
