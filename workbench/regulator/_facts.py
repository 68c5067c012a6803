"""Field builders every draft shares: who was affected, the likely cause, the actions, the harm, the dates.

Each builder reads :class:`~workbench.regulator.DraftInputs` -- register records and section summaries --
and returns a :class:`~workbench.regulator.DraftField`: filled with its value and source, or marked
``to_complete`` with the role that should complete it. Nothing here computes a statistic: numbers are the
summaries' numbers, so a draft never contradicts the post-mortem of the same run.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from register.policy import incident_fact_row
from register.schema import ActionItemKind, ActionItemStatus, IncidentCategory, Role
from workbench.regulator._inputs import DraftInputs
from workbench.regulator._model import DraftField

__all__ = [
    "HARM_FACTS",
    "affected_people",
    "filled",
    "fmt_time",
    "harm_classification",
    "likely_causality",
    "missing",
    "personal_data_facts",
    "preventive_actions",
    "remedial_actions",
    "role_label",
]

HARM_FACTS: dict[str, str] = {
    "death": "death of a person",
    "serious_harm": "serious harm to a person's health",
    "critical_infrastructure": "serious and irreversible disruption of critical infrastructure",
    "fundamental_rights": (
        "infringement of obligations under Union law intended to protect fundamental rights"
    ),
    "widespread_infringement": "widespread infringement (Art. 3(61))",
    "property_or_environment": "serious harm to property or the environment",
}
"""The Art. 3(49) serious-incident facts (register tags) and their words."""

_PREVENTIVE = (ActionItemKind.PREVENT, ActionItemKind.DETECT, ActionItemKind.PROCESS)


def role_label(role: Role) -> str:
    """The label of a response role (``Role.LEGAL_COMPLIANCE`` -> ``'Legal / compliance'``)."""
    return role.label


def fmt_time(value: datetime | None) -> str | None:
    """A UTC time as the drafts show it (``2025-11-07 10:00 UTC``), ``None`` for ``None``."""
    if value is None:
        return None
    return value.strftime("%Y-%m-%d %H:%M UTC")


def filled(
    key: str,
    label: str,
    value: Any,
    *,
    source: str,
    text: str | None = None,
    note: str | None = None,
) -> DraftField:
    """A field the workbench knows; ``text`` defaults to the value as text."""
    if text is None:
        if isinstance(value, datetime):
            text = fmt_time(value)
        elif isinstance(value, list | tuple):
            text = "; ".join(str(item) for item in value) or "none"
        elif isinstance(value, bool):
            text = "yes" if value else "no"
        else:
            text = str(value)
    shown = value.isoformat() if isinstance(value, datetime) else value
    return DraftField(key=key, label=label, value=shown, text=text, source=source, note=note)


def missing(key: str, label: str, *, complete_by: Role | str, note: str | None = None) -> DraftField:
    """A field the workbench does not know: "to complete" by a role, never a guess."""
    who = complete_by.label if isinstance(complete_by, Role) else complete_by
    return DraftField(key=key, label=label, to_complete=True, complete_by=who, note=note)


def _time_field(key: str, label: str, value: datetime | None, *, field: str, who: Role) -> DraftField:
    if value is None:
        return missing(key, label, complete_by=who, note=f"the register has no {field}")
    return filled(key, label, value, source=f"register: incident.{field}")


def incident_time(inputs: DraftInputs, key: str, label: str, field: str, who: Role) -> DraftField:
    """A time of the incident record (``occurred_at``, ``aware_at``...), or to complete."""
    return _time_field(key, label, getattr(inputs.incident, field), field=field, who=who)


def harm_classification(inputs: DraftInputs, key: str = "classification") -> DraftField:
    """The Art. 3(49) classes the register's facts (tags) record, or to complete when none is recorded."""
    facts = incident_fact_row(inputs.incident, inputs.system)
    classes = [words for fact, words in HARM_FACTS.items() if facts.get(fact) is True]
    if not classes:
        return missing(
            key,
            "Classification of the serious incident",
            complete_by=Role.LEGAL_COMPLIANCE,
            note=(
                "no Art. 3(49) fact is recorded (tags death, serious_harm, critical_infrastructure, "
                "fundamental_rights, widespread_infringement, property_or_environment)"
            ),
        )
    return filled(
        key,
        "Classification of the serious incident",
        classes,
        source="register: incident tags (policy facts)",
    )


def affected_people(
    inputs: DraftInputs, key: str = "affected", label: str = "Number of people affected"
) -> DraftField:
    """The number of people affected, from the impact summary, with what counts and its interval.

    The number of people is a count of distinct entity ids with at least one affected decision in the
    incident window; the interval the impact section gives is that of the affected decisions above the
    baseline rate, stated beside it. Without an impact summary, the register's ``affected_count`` is
    used when recorded, else the field is to complete.
    """
    impact = inputs.summary("impact")
    recorded = inputs.incident.affected_count
    if impact is None or impact.n_affected_entities is None:
        reason = inputs.unavailable.get("impact", "the run has no impact analysis")
        if recorded is not None:
            return filled(
                key,
                label,
                recorded,
                source="register: incident.affected_count",
                note=f"no analysis: {reason}",
            )
        return missing(key, label, complete_by=Role.DATA_LEAD, note=f"no analysis: {reason}")
    window = impact.windows.get("incident")
    span = (
        f"between {fmt_time(window.start)} and {fmt_time(window.end)}"
        if window is not None
        else "in the incident window"
    )
    details = getattr(impact, "definition_details", None) or {}
    who = details.get("affected_entities") if isinstance(details, dict) else None
    parts = [
        f"{impact.n_affected_entities:,} people ({who or 'distinct entity ids'}) had at least one affected "
        f"{_singular(impact.unit)} {span}",
        _affected_share(impact),
    ]
    excess = impact.excess_failures
    if excess is not None and excess.low is not None and excess.high is not None:
        parts.append(
            f"of these, an estimated {excess.estimate:,.0f} ({excess.level:.0%} interval "
            f"{excess.low:,.0f} to {excess.high:,.0f}) are above the baseline rate"
        )
    note = None
    if recorded is not None and recorded != impact.n_affected_entities:
        note = (
            f"the register records affected_count = {recorded:,}; the analysis counts "
            f"{impact.n_affected_entities:,} (the analysis' number is the one reported)"
        )
    return filled(
        key,
        label,
        impact.n_affected_entities,
        source=f"impact summary (run {inputs.run_id}): n_affected_entities",
        text="; ".join(parts) + ".",
        note=note,
    )


def _affected_share(impact: Any) -> str:
    """How many decisions failed, of those that could be judged (labels not yet observed are not)."""
    undecided = impact.n_undecided_decisions or 0
    judged = impact.n_decisions - undecided
    if undecided:
        return (
            f"{impact.n_affected_decisions:,} of the {judged:,} {impact.unit} that could be judged by the "
            f"report date (of {impact.n_decisions:,}) were affected ({impact.definition})"
        )
    return (
        f"{impact.n_affected_decisions:,} of {impact.n_decisions:,} {impact.unit} were affected "
        f"({impact.definition})"
    )


def _singular(unit: str) -> str:
    return {"decisions": "decision", "model calls": "model call"}.get(unit, unit)


def likely_causality(inputs: DraftInputs, key: str = "causality") -> DraftField:
    """The likely cause of the incident, from the analyses, else "under investigation".

    The root-cause section's first cause, else the LLM section's exposure source or injection campaign,
    else the model version a fairness gap opened with.
    """
    label = "Likely causality"
    root = inputs.summary("root_cause")
    recorded = inputs.incident.root_cause_category
    note = f"recorded root cause category: {recorded}" if recorded else None
    if root is not None and root.causes:
        cause = root.causes[0]
        text = (
            f"{cause.sentence} (evidence strength: {cause.strength}; "
            f"it would be refuted if {cause.refuted_if})"
        )
        return filled(
            key,
            label,
            cause.title,
            source=f"root-cause summary (run {inputs.run_id}): causes[0]",
            text=text,
            note=note,
        )
    llm = inputs.summary("llm")
    sentences = _llm_cause_sentences(llm)
    if sentences:
        return filled(
            key,
            label,
            sentences[0],
            source=f"LLM summary (run {inputs.run_id})",
            text=" ".join(sentences),
            note=note,
        )
    fairness = inputs.summary("fairness")
    gap = getattr(fairness, "headline_gap", None)
    if gap is not None and gap.model_version:
        text = (
            f"The gap opened with model version {gap.model_version}"
            + (f", first seen {fmt_time(gap.deployed_at)}" if gap.deployed_at else "")
            + "; the causal mechanism is under investigation."
        )
        return filled(
            key, label, text, source=f"fairness summary (run {inputs.run_id}): headline_gap", note=note
        )
    return filled(
        key,
        label,
        "under investigation",
        source="no analysed cause in the run",
        note=note or "complete once the root-cause analysis or the investigation establishes it",
    )


def _llm_cause_sentences(llm: Any) -> list[str]:
    """What the LLM section attributes the findings to (exposure sources, injection), in its words."""
    if llm is None:
        return []
    sentences: list[str] = []
    exposure = getattr(llm, "exposure", None)
    total = getattr(exposure, "total", None)
    if total is not None and total.in_incident_window and total.sources:
        top = total.sources[0]
        sentences.append(
            f"Personal data in answers came with {top.kind_label or top.kind} {top.value}: "
            f"{top.leaking:,} of the {top.calls:,} turns that used it showed personal data."
        )
    injection = getattr(llm, "injection", None)
    inside = getattr(injection, "in_incident_window", None) or {}
    if injection is not None and getattr(injection, "campaign", False) and inside.get("attempts", 0) > 0:
        sentences.append(injection.sentence)  # a campaign outside the window is another incident's
    return sentences


def _actions(inputs: DraftInputs, kinds: Sequence[ActionItemKind]) -> list[str]:
    rows = []
    for item in inputs.actions:
        if item.kind not in kinds or item.status == ActionItemStatus.WONT_DO:
            continue
        due = f", due {item.due_at:%Y-%m-%d}" if item.due_at else ""
        rows.append(f"{item.title} ({item.status.label.lower()}{due})")
    return rows


def remedial_actions(inputs: DraftInputs, key: str = "remedial_actions") -> DraftField:
    """Remedial (mitigating) actions from the action items, plus the recorded resolution."""
    label = "Remedial actions taken or planned"
    rows = _actions(inputs, (ActionItemKind.MITIGATE,))
    if inputs.incident.resolution:
        rows.insert(0, f"Resolution: {inputs.incident.resolution}")
    if not rows:
        return missing(key, label, complete_by=Role.INCIDENT_COMMANDER, note="no mitigation recorded")
    return filled(key, label, rows, source="register: incident.resolution and action items (kind mitigate)")


def preventive_actions(inputs: DraftInputs, key: str = "preventive_actions") -> DraftField:
    """Corrective and preventive actions (kinds prevent, detect, process) from the action items."""
    label = "Corrective and preventive actions"
    rows = _actions(inputs, _PREVENTIVE)
    if not rows:
        return missing(
            key, label, complete_by=Role.INCIDENT_COMMANDER, note="no preventive action item recorded"
        )
    return filled(key, label, rows, source="register: action items (kinds prevent, detect, process)")


def personal_data_facts(inputs: DraftInputs) -> dict[str, Any] | None:
    """Categories and approximate numbers of a personal-data breach, from the LLM exposure summary.

    Only what the incident window holds (the post-mortem's notification facts use the same rule).
    """
    from workbench.report import breach_facts

    return breach_facts(inputs.summary("llm"))


def category_label(inputs: DraftInputs) -> str:
    """The incident's category in words."""
    return IncidentCategory(inputs.incident.category).label
