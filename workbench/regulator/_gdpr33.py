"""GDPR Art. 33 notification of a personal-data breach to the supervisory authority.

Fields follow Art. 33(3) (a) nature, categories and approximate numbers of data subjects and records,
(b) contact point, (c) likely consequences, (d) measures; Art. 33(1) asks for the reasons for the delay
when the notification is not made within 72 hours of awareness, and Art. 33(4) lets the information come
in phases (initial, follow-up). Numbers come from the LLM section's exposure scan (the post-mortem's
notification facts) or the impact summary; what neither knows is "to complete".
"""

from __future__ import annotations

from register.schema import Role
from workbench.regulator._art73 import other_regimes_field
from workbench.regulator._facts import (
    affected_people,
    fmt_time,
    incident_time,
    missing,
    personal_data_facts,
    preventive_actions,
    remedial_actions,
)
from workbench.regulator._facts import filled as _filled
from workbench.regulator._inputs import DraftInputs
from workbench.regulator._model import DeadlineStatus, DraftField, DraftSection

__all__ = ["GDPR33_SOURCE", "gdpr33_sections"]

GDPR33_SOURCE = "Regulation (EU) 2016/679 (GDPR) Art. 33(1), 33(3), 33(4) and 34"

_DPO = "Data protection officer"


def gdpr33_sections(
    inputs: DraftInputs, *, report_type: str, previous_reference: str | None, deadline: DeadlineStatus
) -> list[DraftSection]:
    """The Art. 33 notification's sections, filled from the register and the summaries."""
    return [
        _notification(inputs, report_type, previous_reference, deadline),
        _nature(inputs),
        DraftSection(
            key="b",
            title="Contact point (Art. 33(3)(b))",
            fields=[
                missing(
                    "b.contact",
                    "Name and contact details of the data protection officer or other contact point",
                    complete_by=_DPO,
                    note="contact details are not kept in the register (reports never carry them)",
                )
            ],
        ),
        _consequences(inputs),
        DraftSection(
            key="d",
            title="Measures taken or proposed (Art. 33(3)(d))",
            fields=[
                remedial_actions(inputs, "d.remedial_actions"),
                preventive_actions(inputs, "d.preventive_actions"),
                incident_time(
                    inputs, "d.contained_at", "Contained at", "contained_at", Role.INCIDENT_COMMANDER
                ),
            ],
        ),
        _data_subjects(inputs),
    ]


def _notification(
    inputs: DraftInputs, report_type: str, previous_reference: str | None, deadline: DeadlineStatus
) -> DraftSection:
    regime = inputs.policy.regime("gdpr_art33") if _has(inputs, "gdpr_art33") else None
    system = inputs.system
    fields = [
        _filled("n.controller", "Controller", system.deployer, source="register: ai_system.deployer")
        if system is not None and system.deployer
        else missing("n.controller", "Controller", complete_by=Role.LEGAL_COMPLIANCE),
        _filled("n.authority", "Supervisory authority", regime.recipient, source="policy: regime recipient")
        if regime is not None and regime.recipient
        else missing("n.authority", "Supervisory authority", complete_by=_DPO),
        missing(
            "n.authority_name",
            "Which supervisory authority (lead authority for cross-border processing)",
            complete_by=_DPO,
        ),
        _filled("n.report_date", "Date of this notification", inputs.as_of, source="the draft's as-of time"),
        _filled(
            "n.report_type",
            "Phase",
            report_type,
            text={"initial": "Initial notification", "follow_up": "Further information (Art. 33(4))"}.get(
                report_type, report_type.replace("_", " ")
            ),
            source="the draft's --type",
        ),
    ]
    if report_type != "initial":
        fields.append(
            _filled(
                "n.previous_reference",
                "Reference of the earlier notification",
                previous_reference,
                source="register: the regime's last notification sent",
            )
            if previous_reference
            else missing(
                "n.previous_reference",
                "Reference of the earlier notification",
                complete_by=_DPO,
                note="no earlier notification under Art. 33 is recorded as sent",
            )
        )
    fields += [
        incident_time(
            inputs, "n.aware_at", "Became aware of the breach", "aware_at", Role.INCIDENT_COMMANDER
        ),
        incident_time(inputs, "n.occurred_at", "Breach began", "occurred_at", Role.TECHNICAL_LEAD),
        _delay(inputs, report_type, deadline),
        other_regimes_field(inputs, "n.other_regimes", exclude="gdpr_art33"),
    ]
    return DraftSection(key="n", title="Notification", fields=fields)


def _has(inputs: DraftInputs, regime_id: str) -> bool:
    return any(regime.id == regime_id for regime in inputs.policy.regimes)


def _delay(inputs: DraftInputs, report_type: str, deadline: DeadlineStatus) -> DraftField:
    """Art. 33(1): the reasons for the delay, asked for when the 72 h have passed before sending."""
    label = "Reasons for the delay (Art. 33(1))"
    if report_type != "initial":
        return _filled(
            "n.delay",
            label,
            None,
            text="not asked for further information given in phases",
            source="Art. 33(4)",
        )
    if deadline.state in ("overdue", "sent_late"):
        return missing(
            "n.delay",
            label,
            complete_by=_DPO,
            note=f"the notification is past 72 hours after awareness: {deadline.text}",
        )
    if deadline.state in ("due", "sent"):
        return _filled(
            "n.delay",
            label,
            None,
            text=f"not needed: within 72 hours ({deadline.text})",
            source="deadline status",
        )
    return _filled("n.delay", label, None, text=f"not judged: {deadline.text}", source="deadline status")


def _nature(inputs: DraftInputs) -> DraftSection:
    incident = inputs.incident
    description = incident.title + (f". {incident.summary}" if incident.summary else "")
    facts = personal_data_facts(inputs)
    fields = [
        _filled(
            "a.description", "Nature of the breach", description, source="register: incident title, summary"
        )
    ]
    if facts is not None:
        source = f"{facts['source']} (run {inputs.run_id})"
        people = facts.get("people_at_least")
        fields += [
            _filled("a.categories", "Categories of personal data", list(facts["categories"]), source=source)
            if facts["categories"]
            else missing("a.categories", "Categories of personal data", complete_by=_DPO),
            _filled(
                "a.data_subjects",
                "Approximate number of data subjects concerned",
                people,
                text=f"at least {people:,} (distinct values of the most frequent type of data exposed)",
                source=source,
                note=(
                    "a lower bound: one person may appear under several values, and values the scan "
                    "cannot see are not counted"
                ),
            )
            if people is not None
            else missing(
                "a.data_subjects", "Approximate number of data subjects concerned", complete_by=_DPO
            ),
            _filled(
                "a.records",
                "Approximate number of personal data records concerned",
                facts.get("records"),
                text=f"{facts.get('records'):,} answers that showed personal data",
                source=source,
            ),
            _filled(
                "a.recipients",
                "Recipients of the data (users who received it)",
                facts.get("recipients"),
                source=source,
            ),
            _filled(
                "a.period",
                "Period in which data was exposed",
                [fmt_time(facts.get("first_seen")), fmt_time(facts.get("last_seen"))],
                text=f"{fmt_time(facts.get('first_seen'))} to {fmt_time(facts.get('last_seen'))}"
                + ("; still happening at the report date" if facts.get("still_happening") else ""),
                source=source,
            ),
        ]
    else:
        fields += [
            missing(
                "a.categories",
                "Categories of personal data",
                complete_by=_DPO,
                note="no exposure scan in the run (the LLM section reads interaction logs)",
            ),
            affected_people(inputs, "a.data_subjects", "Approximate number of data subjects concerned"),
            missing(
                "a.records",
                "Approximate number of personal data records concerned",
                complete_by=Role.DATA_LEAD,
            ),
        ]
    return DraftSection(key="a", title="Nature of the breach (Art. 33(3)(a))", fields=fields)


def _consequences(inputs: DraftInputs) -> DraftSection:
    facts = personal_data_facts(inputs)
    hint = (
        "the categories exposed were "
        + ", ".join(facts["categories"])
        + "; assess the risks to the people concerned"
        if facts is not None and facts["categories"]
        else "assess the risks to the people concerned"
    )
    return DraftSection(
        key="c",
        title="Likely consequences (Art. 33(3)(c))",
        fields=[missing("c.consequences", "Likely consequences of the breach", complete_by=_DPO, note=hint)],
    )


def _data_subjects(inputs: DraftInputs) -> DraftSection:
    check = inputs.regime_check("gdpr_art34")
    label = "Communication to the data subjects (Art. 34)"
    if check is None:
        field = missing("e.art34", label, complete_by=_DPO, note="the policy has no Art. 34 regime")
    else:
        sent = [
            item
            for item in inputs.notifications
            if item.regime == "gdpr_art34" and item.sent_at is not None and item.sent_at <= inputs.as_of
        ]
        if sent:
            text = f"communicated {sent[0].sent_at:%Y-%m-%d %H:%M} UTC"
        elif check.applicable:
            text = (
                "required by the policy (" + "; ".join(check.reasons) + "); not recorded as communicated yet"
            )
        else:
            text = "not required by the policy: " + "; ".join(check.reasons)
        field = _filled(
            "e.art34",
            label,
            bool(sent),
            text=text,
            source="policy regime gdpr_art34 and register notifications",
        )
    return DraftSection(key="e", title="Data subjects", fields=[field])
