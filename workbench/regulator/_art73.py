"""EU AI Act Art. 73 serious-incident report, in the structure of the Commission's draft template.

Sections follow the Commission's draft reporting template (September 2025, v1.0.0, as summarised in
``../shared/REGULATIONS.md``): S1 administrative information, S2 the AI system, S3 the incident, S4 the
provider's analysis, S5 comments. Each field is filled from the register or a section summary, or listed
"to complete" with the role that should complete it.
"""

from __future__ import annotations

from typing import Any

from register.schema import Role
from workbench.regulator._facts import (
    affected_people,
    category_label,
    filled,
    harm_classification,
    incident_time,
    likely_causality,
    missing,
    preventive_actions,
    remedial_actions,
)
from workbench.regulator._inputs import DraftInputs
from workbench.regulator._model import DraftField, DraftSection

__all__ = ["ART73_SOURCE", "art73_sections", "effects_field", "other_regimes_field", "preliminary_results"]

ART73_SOURCE = (
    "Regulation (EU) 2024/1689 (AI Act) Art. 73 and Art. 3(49); structure of the Commission's draft "
    "serious-incident reporting template (September 2025, v1.0.0)"
)

_REPORT_TYPE_WORDS = {
    "initial": "Initial report (may be incomplete, Art. 73(5))",
    "follow_up": "Follow-up report",
    "combined": "Combined initial and final report",
    "final": "Final report",
}


def art73_sections(
    inputs: DraftInputs, *, report_type: str, previous_reference: str | None
) -> list[DraftSection]:
    """The five sections of the Art. 73 draft template, filled from the register and the summaries."""
    return [
        _administrative(inputs, report_type, previous_reference),
        _system(inputs),
        _incident(inputs),
        _analysis(inputs),
        DraftSection(
            key="s5",
            title="S5 Comments",
            fields=[
                missing(
                    "s5.comments",
                    "Comments",
                    complete_by=Role.LEGAL_COMPLIANCE,
                    note="anything the authority should know that the fields above do not say (optional)",
                )
            ],
        ),
    ]


def _administrative(inputs: DraftInputs, report_type: str, previous_reference: str | None) -> DraftSection:
    regime = _regime(inputs)
    fields = [
        filled(
            "s1.authority",
            "Competent authority",
            regime.recipient if regime is not None else None,
            source="policy: regime recipient",
        )
        if regime is not None and regime.recipient
        else missing("s1.authority", "Competent authority", complete_by=Role.LEGAL_COMPLIANCE),
        missing(
            "s1.member_state",
            "Member State where the serious incident occurred",
            complete_by=Role.LEGAL_COMPLIANCE,
            note="the register does not record where the incident occurred",
        ),
        filled("s1.report_date", "Date of this report", inputs.as_of, source="the draft's as-of time"),
        filled(
            "s1.report_type",
            "Report type",
            report_type,
            text=_REPORT_TYPE_WORDS.get(report_type, report_type),
            source="the draft's --type",
        ),
        filled(
            "s1.previous_reference",
            "Reference of the previous report",
            previous_reference,
            source="register: the regime's last notification sent",
        )
        if previous_reference
        else (
            missing(
                "s1.previous_reference",
                "Reference of the previous report",
                complete_by=Role.LEGAL_COMPLIANCE,
                note="no earlier report of this chain is recorded as sent",
            )
            if report_type in ("follow_up", "final")
            else filled(
                "s1.previous_reference",
                "Reference of the previous report",
                None,
                text="none (first report of the chain)",
                source="report type",
            )
        ),
        harm_classification(inputs, "s1.classification"),
        _submitter(inputs),
        missing(
            "s1.contact",
            "Contact point (name, function, e-mail, telephone)",
            complete_by=Role.LEGAL_COMPLIANCE,
            note="contact details are not kept in the register (reports never carry them)",
        ),
        other_regimes_field(inputs, "s1.other_regimes", exclude=regime.id if regime is not None else None),
        incident_time(
            inputs, "s1.aware_at", "Date the provider became aware", "aware_at", Role.INCIDENT_COMMANDER
        ),
        incident_time(
            inputs, "s1.occurred_at", "Date the incident occurred", "occurred_at", Role.TECHNICAL_LEAD
        ),
        incident_time(
            inputs,
            "s1.causal_link_at",
            "Date a causal link (or its reasonable likelihood) was established",
            "causal_link_at",
            Role.TECHNICAL_LEAD,
        ),
    ]
    return DraftSection(key="s1", title="S1 Administrative information", fields=fields)


def _regime(inputs: DraftInputs) -> Any:
    try:
        return inputs.policy.regime("eu_ai_act_art73")
    except KeyError:
        return None


def _submitter(inputs: DraftInputs) -> DraftField:
    system = inputs.system
    organisation = system.deployer if system is not None else None
    if not organisation:
        return missing("s1.submitter", "Submitter (organisation)", complete_by=Role.LEGAL_COMPLIANCE)
    return filled(
        "s1.submitter",
        "Submitter (organisation)",
        organisation,
        source="register: ai_system.deployer",
        note="check that the submitter is the provider of the high-risk AI system (Art. 73(1))",
    )


def other_regimes_field(inputs: DraftInputs, key: str, *, exclude: str | None) -> DraftField:
    """Other regimes the incident was already reported under by the draft's date (regime, sent, reference)."""
    rows = []
    for item in inputs.notifications:
        if item.regime in (None, exclude) or item.sent_at is None or item.sent_at > inputs.as_of:
            continue
        reference = f", reference {item.reference}" if item.reference else ""
        name = _regime_name(inputs, item.regime)
        rows.append(
            f"{name}: {item.report_type.label.lower()} report sent "
            f"{item.sent_at:%Y-%m-%d %H:%M} UTC{reference}"
        )
    return filled(
        key,
        "Other regimes already reported to",
        rows,
        text="; ".join(rows) if rows else "none recorded by the report date",
        source="register: notifications sent under other regimes",
    )


def _regime_name(inputs: DraftInputs, regime_id: str) -> str:
    try:
        return inputs.policy.regime(regime_id).name
    except KeyError:
        return regime_id


def _system(inputs: DraftInputs) -> DraftSection:
    system = inputs.system
    fields = [
        missing(
            "s2.eu_database_id",
            "EU database registration number (Art. 49/71)",
            complete_by=Role.LEGAL_COMPLIANCE,
            note="the register does not hold the EU database registration",
        )
    ]
    if system is None:
        fields.append(
            missing("s2.name", "AI system", complete_by=Role.TECHNICAL_LEAD, note="no AI system recorded")
        )
    else:
        fields += [
            filled(
                "s2.name",
                "AI system (name and register id)",
                f"{system.name} ({system.id})",
                source="register: ai_system",
            ),
            filled(
                "s2.description",
                "Description and intended purpose",
                system.use_case,
                source="register: ai_system.use_case",
            )
            if system.use_case
            else missing(
                "s2.description", "Description and intended purpose", complete_by=Role.PRODUCT_OWNER
            ),
            filled("s2.risk_tier", "Risk tier", system.risk_tier, source="register: ai_system.risk_tier")
            if system.risk_tier
            else missing("s2.risk_tier", "Risk tier", complete_by=Role.LEGAL_COMPLIANCE),
            filled(
                "s2.developer",
                "Developer / model provenance",
                system.developer,
                source="register: ai_system.developer",
            )
            if system.developer
            else missing("s2.developer", "Developer / model provenance", complete_by=Role.TECHNICAL_LEAD),
        ]
    versions = list(inputs.incident.model_versions)
    fields.append(
        filled("s2.versions", "Model versions involved", versions, source="register: incident.model_versions")
        if versions
        else missing("s2.versions", "Model versions involved", complete_by=Role.TECHNICAL_LEAD)
    )
    return DraftSection(key="s2", title="S2 The AI system", fields=fields)


def effects_field(inputs: DraftInputs, key: str) -> DraftField:
    """The effects, disaggregated: the fairness gap between groups, the impact by group, exposure facts.

    A fairness incident is never described by overall rates alone: without a fairness summary its
    effects on groups are to complete.
    """
    label = "Effects (disaggregated by group where the harm is to groups)"
    parts: list[str] = []
    sources: list[str] = []
    fairness = inputs.summary("fairness")
    gap = getattr(fairness, "headline_gap", None)
    if fairness is not None:
        from analysis.sections.fairness import headline

        parts.append("Between groups: " + headline(fairness) + ".")
        sources.append("fairness summary: headline_gap")
    impact = inputs.summary("impact")
    if impact is not None:
        shown = [group for group in impact.by_group if not group.suppressed and group.rate is not None]
        if shown:
            rows = ", ".join(
                f"{group.attribute}={group.group_label or group.group}: "
                f"{group.rate:.1%} of {group.n_decided:,}"
                for group in sorted(shown, key=lambda g: -(g.rate or 0))[:6]
            )
            parts.append(
                f"Share of {impact.unit} affected by group (groups under {impact.min_cell_size} "
                f"suppressed): {rows}."
            )
            sources.append("impact summary: by_group")
        parts.append(
            impact.still_happening.explanation or f"Still happening: {impact.still_happening.verdict}."
        )
        sources.append("impact summary: still_happening")
    llm = inputs.summary("llm")
    exposure = getattr(llm, "exposure", None)
    if exposure is not None and exposure.total is not None and exposure.total.in_incident_window:
        parts.append(exposure.sentence)
        sources.append("LLM summary: exposure")
    if inputs.incident.category == "fairness_bias" and gap is None:
        return missing(
            key,
            label,
            complete_by=Role.DATA_LEAD,
            note=(
                "a fairness incident's effects must be stated per group; the run has no significant gap "
                "between groups (or no fairness analysis): run the fairness section or describe the effects"
            ),
        )
    if not parts:
        return missing(key, label, complete_by=Role.DATA_LEAD, note="no analysis of the effects in the run")
    return filled(key, label, " ".join(parts), source="; ".join(sources))


def preliminary_results(inputs: DraftInputs, key: str) -> DraftField:
    """Each analysed section's headline, in report order (the post-mortem's own sentences)."""
    from workbench.sections import available_sections

    rows = []
    for section in available_sections():
        summary = inputs.summary(section.key)
        if summary is None:
            continue
        sentence = section.headline(summary)
        if sentence:
            rows.append(f"{section.title}: {sentence}")
    label = "Preliminary results of the investigation"
    if not rows:
        return missing(
            key, label, complete_by=Role.TECHNICAL_LEAD, note="no analysis has run for this incident"
        )
    return filled(key, label, rows, source=f"section headlines of run {inputs.run_id}")


def _incident(inputs: DraftInputs) -> DraftSection:
    incident = inputs.incident
    nature = f"{category_label(inputs)}: {incident.title}" + (
        f". {incident.summary}" if incident.summary else ""
    )
    operator = _operator(inputs)
    fields = [
        filled(
            "s3.nature",
            "Nature of the serious incident",
            nature,
            source="register: incident category, title, summary",
        ),
        effects_field(inputs, "s3.effects"),
        likely_causality(inputs, "s3.causality"),
        affected_people(inputs, "s3.affected"),
        operator,
        remedial_actions(inputs, "s3.remedial_actions"),
        filled(
            "s3.ongoing",
            "Is the incident ongoing?",
            incident.ongoing,
            source="register: incident.ongoing",
            note=_still_happening_note(inputs),
        ),
    ]
    return DraftSection(key="s3", title="S3 The incident", fields=fields)


def _still_happening_note(inputs: DraftInputs) -> str | None:
    impact = inputs.summary("impact")
    if impact is None:
        return None
    return f"the data's recent window: {impact.still_happening.verdict}"


def _operator(inputs: DraftInputs) -> DraftField:
    roles = [tag.split(":", 1)[1] for tag in inputs.incident.tags if tag.startswith("operator_role:")]
    if roles:
        return filled("s3.operator", "Operator type", roles[0], source="register: incident tag operator_role")
    return missing(
        "s3.operator",
        "Operator type (provider, deployer, importer, distributor)",
        complete_by=Role.LEGAL_COMPLIANCE,
        note="record it as the tag operator_role:<role>",
    )


def _analysis(inputs: DraftInputs) -> DraftSection:
    incident = inputs.incident
    regime = _regime(inputs)
    root = [incident.root_cause_category] if incident.root_cause_category else []
    root += list(incident.contributing_factors)
    hold_required = bool(regime.evidence_hold) if regime is not None else False
    held = inputs.evidence
    hold_text = (
        f"evidence hold {'on' if incident.evidence_hold else 'NOT recorded'}"
        + (
            " (required by Art. 73(6): do not alter the system in a way that affects the evaluation "
            "of causes before informing the authority)"
            if hold_required
            else ""
        )
        + f"; {len(held)} evidence records kept in the register"
        + (f", the latest analysis run {inputs.run_id}" if inputs.run_id else "")
    )
    fields = [
        preliminary_results(inputs, "s4.preliminary_results"),
        filled(
            "s4.root_cause",
            "Root cause (recorded)",
            root,
            source="register: incident.root_cause_category, contributing_factors",
        )
        if root
        else missing(
            "s4.root_cause",
            "Root cause",
            complete_by=Role.TECHNICAL_LEAD,
            note="not recorded yet: under investigation",
        ),
        preventive_actions(inputs, "s4.preventive_actions"),
        missing(
            "s4.risk_assessment",
            "Was the risk assessment (risk management system, Art. 9) reviewed?",
            complete_by=Role.LEGAL_COMPLIANCE,
            note="the register does not record risk-assessment reviews",
        ),
        filled(
            "s4.evidence_hold",
            "Evidence hold",
            incident.evidence_hold,
            text=hold_text,
            source="register: incident.evidence_hold, evidence",
        ),
    ]
    return DraftSection(key="s4", title="S4 The provider's analysis", fields=fields)
