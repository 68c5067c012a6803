"""What a draft is filled from: the register's records of the incident and the latest run's summaries.

:func:`gather_inputs` reads everything once -- the incident, its system, notifications, action items,
evidence, timeline, the regimes the policy applies, and each section summary of the analysis run
(validated by its section's model, exactly as the post-mortem reads them). Drafts only read these
inputs: they never recompute an analysis, so a draft's number is always the report's number.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from register.policy import Policy, RegimeCheck, check_regimes
from register.schema import (
    ActionItem,
    AiSystem,
    Evidence,
    Incident,
    Notification,
    TimelineEvent,
    as_utc,
)
from workbench.errors import WorkbenchError

if TYPE_CHECKING:
    from register.api import Register

__all__ = ["DraftInputs", "Redactor", "gather_inputs", "run_folder"]

Redactor = Callable[[str | None], str | None]
"""Redacts one free text (``None`` stays ``None``)."""


@dataclass(frozen=True)
class DraftInputs:
    """The register's records of one incident and the run's section summaries, read once."""

    incident: Incident
    system: AiSystem | None
    policy: Policy
    as_of: datetime
    notifications: list[Notification] = field(default_factory=list)
    actions: list[ActionItem] = field(default_factory=list)
    evidence: list[Evidence] = field(default_factory=list)
    timeline: list[TimelineEvent] = field(default_factory=list)
    regimes: list[RegimeCheck] = field(default_factory=list)
    summaries: Mapping[str, BaseModel] = field(default_factory=dict)
    unavailable: Mapping[str, str] = field(default_factory=dict)
    run_id: str | None = None
    run_dir: Path | None = None

    def summary(self, key: str) -> Any:
        """The summary of section ``key`` (a typed model), or ``None`` when the run has none."""
        return self.summaries.get(key)

    def regime_check(self, regime_id: str) -> RegimeCheck | None:
        """The policy's check of one regime for this incident (``None``: no such active regime)."""
        return next((check for check in self.regimes if check.regime == regime_id), None)

    def known_names(self) -> tuple[str, ...]:
        """Names of the responders and action-item owners (for the policy's name redaction)."""
        names = [
            self.incident.incident_commander,
            self.incident.technical_lead,
            self.incident.communications_lead,
            self.incident.legal_compliance,
            self.incident.data_lead,
            self.incident.postmortem_facilitator,
            *(item.owner for item in self.actions),
        ]
        return tuple(dict.fromkeys(name.strip() for name in names if name and name.strip()))


    def redactor(self, *, always_names: bool = False) -> Redactor:
        """Redact free text with the policy's rules, and the names the register knows.

        Names are replaced when the policy's ``reports.redact_known_names`` says so, or always with
        ``always_names`` (public-database exports name an organisation or a role, never a person).
        """
        from register.redact import DEFAULT_REDACTION_RULES, redact

        rules = tuple(self.policy.reports.redaction or DEFAULT_REDACTION_RULES)
        names = self.known_names() if always_names or self.policy.reports.redact_known_names else ()

        def apply(text: str | None) -> str | None:
            return None if text is None else redact(text, rules, known_names=names).text

        return apply


def run_folder(reports_dir: str | Path, incident_id: str, run_id: str | None = None) -> Path | None:
    """The incident's named run, else its latest, else ``None`` (no analysis has run).

    Raises
    ------
    WorkbenchError
        When ``run_id`` names a run that does not exist.
    """
    from workbench.runner import checked_incident_id, checked_run_id, latest_run

    root = Path(reports_dir)
    if run_id is not None:
        folder = root / checked_incident_id(incident_id) / checked_run_id(run_id, option="--run")
        if not folder.is_dir():
            raise WorkbenchError(
                f"--run must name a run of {incident_id} in {root / incident_id}. "
                f"Got {run_id!r}, which does not exist."
            )
        return folder
    try:
        return latest_run(root, incident_id)
    except WorkbenchError:
        return None


def gather_inputs(
    register: Register,
    incident_id: str,
    *,
    policy: Policy,
    as_of: datetime,
    run_dir: str | Path | None = None,
) -> DraftInputs:
    """Read what a draft needs about ``incident_id`` from the register and the analysis run.

    Parameters
    ----------
    register : register.api.Register
        The open register (unknown incident: its ``NotFoundError``).
    incident_id : str
        The incident.
    policy : Policy
        The notification regimes and redaction rules.
    as_of : datetime
        When deadlines are judged and which register facts count.
    run_dir : str or Path or None
        The analysis run folder (``reports/<incident>/<run id>/``); ``None``: no analysis summaries.

    Returns
    -------
    DraftInputs
    """
    from workbench.report import report_sections, run_card, section_block

    when = as_utc(as_of)
    incident = register.get_incident(incident_id)
    system = register.get_system(incident.system_id) if incident.system_id else None
    run = Path(run_dir).resolve() if run_dir is not None else None
    summaries: dict[str, BaseModel] = {}
    unavailable: dict[str, str] = {}
    if run is not None:
        card = run_card(run)
        for section in report_sections(register, incident_id, run_dir=run):
            block = section_block(section, run, card=card)
            if isinstance(block.data, BaseModel):
                summaries[section.key] = block.data
            elif block.unavailable:
                unavailable[section.key] = block.unavailable
    return DraftInputs(
        incident=incident,
        system=system,
        policy=policy,
        as_of=when,
        notifications=register.notifications(incident_id),
        actions=register.action_items(incident_id),
        evidence=register.evidence(incident_id),
        timeline=register.timeline(incident_id),
        regimes=check_regimes(incident, system, policy=policy, as_of=when),
        summaries=summaries,
        unavailable=unavailable,
        run_id=run.name if run is not None else None,
        run_dir=run,
    )
