"""Public-database reports of an incident: the OECD common reporting framework, AIID and AVID.

:func:`oecd_sections` fills the criteria of the OECD common reporting framework for AI incidents (the 7
mandatory first) as :class:`~workbench.regulator.DraftSection` for the shared renderer;
:func:`oecd_export`, :func:`aiid_submission` and :func:`avid_report` give the JSON to share with public
databases. Each JSON export is an envelope: the payload in the database's own shape (``criteria``,
``submission``, ``report``), ``to_complete`` -- every field the workbench does not know, with the role
that should complete it (its value is ``null`` or an empty list, never a guess) -- and ``notes``.
:func:`validate_export` checks an export against its JSON Schema (``schemas/*.schema.json``, each
citing the sources it was written from) and checks that every unknown value is listed to complete.

Everything is read from :class:`~workbench.regulator.DraftInputs` (register records and the run's section
summaries); nothing is recomputed. Every free text is redacted with the policy's rules, and the names of
the people the register knows are always removed: a public export names an organisation or a role,
never a person. Evidence is listed by kind, file name and SHA-256, never by content.

Sources (see each schema's ``description``):

- OECD (2025), *Towards a common reporting framework for AI incidents*, OECD Artificial Intelligence
  Papers No. 34, doi:10.1787/f326d4ac-en. The PDF itself could not be read here; the 29 criteria, their
  numbers and the 7 mandatory ones (1, 2, 3, 4, 7, 10, 11) come from a third-party mapping of the
  framework found in public code search, and the severity words from the project's REGULATIONS.md.
  The harm categories are those of OECD (2024), *Defining AI incidents and related terms*.
- AVID: ``avidml/avidtools`` 0.3.2, ``avidtools/datamodels/report.py``, ``components.py``,
  ``enums.py``, and reports of ``avidml/avid-db`` (``reports/2026/AVID-2026-R0001.json``).
- AIID: ``responsible-ai-collaborative/aiid``, ``site/gatsby-site/server/types/submission.ts``
  (GraphQL ``Submission``) and ``site/gatsby-site/src/components/submissions/schemas.js`` (form rules,
  ``incidentSchema`` for a new incident).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from functools import cache
from importlib import resources
from pathlib import PurePath
from typing import Any, Literal

from register.policy import incident_fact_row
from register.schema import ActionItemKind, ActionItemStatus, IncidentCategory, Role
from workbench.errors import WorkbenchError
from workbench.regulator._facts import affected_people, filled, likely_causality, missing
from workbench.regulator._inputs import DraftInputs, Redactor
from workbench.regulator._model import DraftField, DraftSection

__all__ = [
    "ExportKind",
    "OECD_CRITERIA",
    "OECD_MANDATORY",
    "OECD_SEVERITIES",
    "OECD_SOURCE",
    "aiid_submission",
    "avid_report",
    "oecd_export",
    "oecd_sections",
    "oecd_severity",
    "validate_export",
]

ExportKind = Literal["oecd", "aiid", "avid"]

OECD_CRITERIA: dict[int, tuple[str, str]] = {
    1: ("title", "Title"),
    2: ("description", "Description of the incident"),
    3: ("ai_relation", "How the AI system relates to the incident"),
    4: ("submitter", "Submitter information"),
    5: ("first_occurrence", "Date of first known occurrence"),
    6: ("countries", "Country(ies) where the incident occurred"),
    7: ("supporting_materials", "Supporting materials"),
    8: ("ai_system", "AI system / product name and version"),
    9: ("organisations", "Developer and deployer organisations"),
    10: ("severity", "Severity"),
    11: ("harm_type", "Harm type"),
    12: ("harm_quantification", "Quantification of harm"),
    13: ("wrongful_use", "Unintended or wrongful use"),
    14: ("affected_stakeholders", "Affected stakeholders"),
    15: ("rights_impacts", "Impacts on human rights and fundamental rights"),
    16: ("ai_principles", "Associated OECD AI Principles"),
    17: ("industries", "Industries"),
    18: ("business_functions", "Business functions"),
    19: ("critical_functions", "Critical functions or infrastructure"),
    20: ("deployment_breadth", "Breadth of deployment"),
    21: ("training_data", "Link to training data"),
    22: ("ai_model", "Link to the AI model"),
    23: ("usage_rights", "Usage rights"),
    24: ("multiple_systems", "Interaction of multiple AI systems"),
    25: ("ai_tasks", "AI system tasks"),
    26: ("autonomy_level", "Maximum autonomy level"),
    27: ("actions_taken", "Actions taken"),
    28: ("reproduction", "Steps to reproduce"),
    29: ("additional_information", "Additional information"),
}
"""The 29 criteria of the OECD common reporting framework, by number: (key, label)."""

OECD_SOURCE = (
    "OECD (2025), Towards a common reporting framework for AI incidents, OECD Artificial Intelligence Papers "
    "No. 34, doi:10.1787/f326d4ac-en: 29 criteria, 7 mandatory (the criteria list was read from a "
    "third-party mapping; "
    "the paper itself was not read)"
)
"""The text the OECD draft's structure follows (``RegulatorDraft.template_source``)."""

OECD_MANDATORY: tuple[int, ...] = (1, 2, 3, 4, 7, 10, 11)
"""The mandatory criteria, in the order they are reported."""

OECD_SEVERITIES: tuple[str, ...] = ("hazard", "serious hazard", "incident", "serious incident", "disaster")
"""The framework's severity words, least to most severe."""

SERIOUS_FACTS: dict[str, str] = {
    "death": "death of a person",
    "serious_harm": "serious harm to a person's health",
    "critical_infrastructure": "serious and irreversible disruption of critical infrastructure",
    "fundamental_rights": "serious violation of human rights or fundamental rights",
    "widespread_infringement": "widespread infringement",
    "property_or_environment": "serious harm to property, communities or the environment",
}
"""Register facts (incident tags) that make harm serious in the OECD's sense."""

HARM_HEALTH = "injury or harm to the health of a person or groups of people"
HARM_INFRASTRUCTURE = "disruption of the management and operation of critical infrastructure"
HARM_RIGHTS = (
    "violation of human rights or breach of obligations under applicable law intended to protect "
    "fundamental, labour and intellectual property rights"
)
HARM_PROPERTY = "harm to property, communities or the environment"

_FACT_HARMS = {
    "death": HARM_HEALTH,
    "serious_harm": HARM_HEALTH,
    "critical_infrastructure": HARM_INFRASTRUCTURE,
    "fundamental_rights": HARM_RIGHTS,
    "widespread_infringement": HARM_RIGHTS,
    "property_or_environment": HARM_PROPERTY,
}
_CATEGORY_HARMS = {
    IncidentCategory.FAIRNESS_BIAS: HARM_RIGHTS,  # discrimination
    IncidentCategory.DATA_EXPOSURE_PRIVACY: HARM_RIGHTS,  # privacy
    IncidentCategory.SAFETY: HARM_HEALTH,
}

# AVID taxonomy v0.2 (avidtools enums.SepEnum): the SEP subcategories a register category maps to.
_AVID_SEP = {
    IncidentCategory.FAIRNESS_BIAS: ("E0100: Bias/ Discrimination",),
    IncidentCategory.DATA_EXPOSURE_PRIVACY: ("P0300: Privacy", "S0301: Information Leak"),
    IncidentCategory.PERFORMANCE_DEGRADATION: ("P0200: Model issues",),
    IncidentCategory.DATA_QUALITY: ("P0104: Data quality issues",),
    IncidentCategory.HALLUCINATION: ("E0402: Generative Misinformation",),
    IncidentCategory.HARMFUL_CONTENT: ("E0301: Toxicity",),
    IncidentCategory.PROMPT_INJECTION: ("S0400: Model Bypass",),
    IncidentCategory.SECURITY: ("S0100: Software Vulnerability",),
    IncidentCategory.SAFETY: ("P0400: Safety",),
    IncidentCategory.VENDOR_OUTAGE: ("P0201: Resilience/ Stability",),
}
_AVID_DOMAINS = {"S": "Security", "E": "Ethics", "P": "Performance"}
AVID_DATA_VERSION = "0.3.2"
AVID_TAXONOMY_VERSION = "0.2"

_SCHEMA_FILES = {"oecd": "oecd_report", "aiid": "aiid_submission", "avid": "avid_report"}
_NOT_TEXT = frozenset({"sha256", "schema"})  # keys whose strings are not free text (hashes, ids)


# --------------------------------------------------------------------------------------------------
# Small builders (private: the lead's _facts module may replace them once merged)
# --------------------------------------------------------------------------------------------------


def _day(value: datetime | None) -> str | None:
    return value.date().isoformat() if value is not None else None


def _tags(inputs: DraftInputs) -> set[str]:
    return {tag.strip() for tag in inputs.incident.tags}


def _serious_facts(inputs: DraftInputs) -> list[str]:
    """The serious-harm facts the register records (the policy's facts: tags such as ``death``)."""
    facts = incident_fact_row(inputs.incident, inputs.system)
    return [fact for fact in SERIOUS_FACTS if facts.get(fact) is True]


def oecd_severity(inputs: DraftInputs) -> tuple[str, str]:
    """The OECD severity word for the incident, and the rule that chose it.

    A near miss is a *hazard* (harm was plausible, not realised), a *serious hazard* when a serious-harm
    fact is recorded (the plausible harm would be serious); an incident is an *incident*, a *serious
    incident* when a serious-harm fact is recorded. *Disaster* is never chosen by the workbench.

    Examples
    --------
    >>> OECD_SEVERITIES.index("serious incident") > OECD_SEVERITIES.index("incident")
    True
    """
    serious = _serious_facts(inputs)
    facts = ", ".join(serious)
    if inputs.incident.kind == "near_miss":
        if serious:
            return "serious hazard", f"near miss (no realised harm) with serious-harm facts recorded: {facts}"
        return "hazard", "near miss: harm was plausible, not realised, and no serious-harm fact is recorded"
    if serious:
        return "serious incident", f"realised harm with serious-harm facts recorded: {facts}"
    return "incident", (
        "realised harm (kind 'incident') and none of the serious-harm facts recorded "
        f"({', '.join(SERIOUS_FACTS)})"
    )


def _impact_text(inputs: DraftInputs) -> tuple[int, str] | None:
    """The impact section's count of people and its sentence (the drafts' own wording), or ``None``."""
    if inputs.summary("impact") is None:
        return None
    field = affected_people(inputs)
    if field.to_complete or not isinstance(field.value, int) or field.text is None:
        return None
    return field.value, field.text


def _cause_sentence(inputs: DraftInputs) -> tuple[str, str] | None:
    """The likely cause in the drafts' own words and its source, or ``None`` while under investigation."""
    field = likely_causality(inputs)
    if field.value == "under investigation" or field.text is None:
        return None
    return field.text, field.source or "analysis"


def _action_rows(inputs: DraftInputs, redactor: Redactor) -> list[str]:
    rows = []
    if inputs.incident.resolution:
        rows.append(f"Resolution: {(redactor(inputs.incident.resolution) or '').rstrip('. ')}")
    for item in inputs.actions:
        if item.status == ActionItemStatus.WONT_DO:
            continue
        kind = ActionItemKind(item.kind).label.lower()
        rows.append(f"{redactor(item.title)} ({kind}, {ActionItemStatus(item.status).label.lower()})")
    return rows


def _harm_types(inputs: DraftInputs) -> list[str]:
    harms = [_FACT_HARMS[fact] for fact in _serious_facts(inputs)]
    category = _CATEGORY_HARMS.get(IncidentCategory(inputs.incident.category))
    if category is not None:
        harms.append(category)
    return list(dict.fromkeys(harms))


# --------------------------------------------------------------------------------------------------
# OECD criteria
# --------------------------------------------------------------------------------------------------


def _oecd_fields(inputs: DraftInputs) -> dict[int, DraftField]:
    """Every criterion's field, by number. Long because it is one flat list of 29 criteria."""
    incident, system, red = inputs.incident, inputs.system, inputs.redactor(always_names=True)

    def key(number: int) -> str:
        return f"oecd.c{number:02d}.{OECD_CRITERIA[number][0]}"

    def label(number: int) -> str:
        return f"{number}. {OECD_CRITERIA[number][1]}"

    def ask(number: int, who: Role | str, note: str) -> DraftField:
        return missing(key(number), label(number), complete_by=who, note=note)

    fields: dict[int, DraftField] = {}
    title = red(incident.title) or ""
    fields[1] = filled(key(1), label(1), title, source="register: incident.title (redacted)", text=title)

    if incident.summary:
        impact = _impact_text(inputs)
        text = " ".join(part for part in (red(incident.summary), impact[1] if impact else None) if part)
        source = "register: incident.summary (redacted)" + (
            f"; impact summary (run {inputs.run_id})" if impact else ""
        )
        fields[2] = filled(key(2), label(2), text, source=source, text=text)
    else:
        fields[2] = ask(2, Role.INCIDENT_COMMANDER, "the register has no summary of the incident")

    cause = _cause_sentence(inputs)
    if system is not None and cause is not None:
        text = f"{red(system.name)} ({red(system.use_case) or 'use case not recorded'}). {red(cause[0])}"
        fields[3] = filled(key(3), label(3), text, source=f"register: ai_systems; {cause[1]}", text=text)
    else:
        fields[3] = ask(
            3, Role.TECHNICAL_LEAD, "no AI system or no analysed cause in the register and the run"
        )

    fields[4] = ask(
        4,
        Role.LEGAL_COMPLIANCE,
        "the submitting organisation and a contact role (never a person's name from the register)",
    )
    if incident.occurred_at is not None:
        day = _day(incident.occurred_at)
        fields[5] = filled(key(5), label(5), day, source="register: incident.occurred_at", text=str(day))
    else:
        fields[5] = ask(5, Role.INCIDENT_COMMANDER, "the register has no occurred_at")
    countries = sorted(tag.split(":", 1)[1] for tag in _tags(inputs) if tag.startswith("jurisdiction:"))
    if countries:
        fields[6] = filled(
            key(6), label(6), countries, source="register: jurisdiction tags", text="; ".join(countries)
        )
    else:
        fields[6] = ask(6, Role.LEGAL_COMPLIANCE, "no jurisdiction:<code> tag is recorded")

    materials = [
        {
            "kind": item.kind,
            "name": PurePath(item.uri).name,
            "sha256": item.sha256,
            "captured_at": _day(item.captured_at),
        }
        for item in inputs.evidence
    ]
    if materials:
        text = f"{len(materials)} evidence records (kind, file name, SHA-256); contents are not included"
        fields[7] = filled(key(7), label(7), materials, source="register: evidence", text=text)
    else:
        fields[7] = ask(7, Role.TECHNICAL_LEAD, "no evidence is recorded for the incident")

    if system is not None:
        versions = [red(v) or "" for v in incident.model_versions]
        text = (red(system.name) or "") + (f", model versions {', '.join(versions)}" if versions else "")
        fields[8] = filled(
            key(8),
            label(8),
            {"name": red(system.name), "versions": versions},
            source="register: ai_systems.name, incident.model_versions",
            text=text,
        )
        orgs = {"developer": red(system.developer), "deployer": red(system.deployer)}
        if all(orgs.values()):
            text = f"developer: {orgs['developer']}; deployer: {orgs['deployer']}"
            fields[9] = filled(
                key(9), label(9), orgs, source="register: ai_systems.developer/deployer", text=text
            )
        else:
            fields[9] = ask(9, Role.PRODUCT_OWNER, "the system record lacks its developer or deployer")
    else:
        fields[8] = ask(8, Role.TECHNICAL_LEAD, "the incident names no AI system")
        fields[9] = ask(9, Role.PRODUCT_OWNER, "the incident names no AI system")

    word, rule = oecd_severity(inputs)
    fields[10] = filled(
        key(10),
        label(10),
        word,
        source=f"register: incident.kind, severity {incident.severity}, tags",
        text=word,
        note=f"rule: {rule}; 'disaster' is never chosen automatically",
    )
    harms = _harm_types(inputs)
    if harms:
        fields[11] = filled(
            key(11),
            label(11),
            harms,
            source="register: incident.category and serious-harm tags",
            text="; ".join(harms),
            note=f"category: {IncidentCategory(incident.category).label}",
        )
    else:
        fields[11] = ask(
            11,
            Role.LEGAL_COMPLIANCE,
            f"category {IncidentCategory(incident.category).label!r} has no harm type of its own",
        )

    impact = _impact_text(inputs)
    if impact is not None:
        fields[12] = filled(
            key(12),
            label(12),
            {"people_affected": impact[0]},
            source=f"impact summary (run {inputs.run_id}): n_affected_entities",
            text=impact[1],
        )
    elif incident.affected_count is not None:
        fields[12] = filled(
            key(12),
            label(12),
            {"people_affected": incident.affected_count},
            source="register: incident.affected_count",
            text=f"{incident.affected_count:,} people affected",
        )
    else:
        fields[12] = ask(
            12, Role.DATA_LEAD, inputs.unavailable.get("impact", "the run has no impact analysis")
        )
    fields[13] = ask(13, Role.TECHNICAL_LEAD, "whether the system was used as intended")
    if incident.affected_groups:
        groups = [red(group) or "" for group in incident.affected_groups]
        fields[14] = filled(
            key(14), label(14), groups, source="register: incident.affected_groups", text="; ".join(groups)
        )
    else:
        fields[14] = ask(14, Role.INCIDENT_COMMANDER, "the register records no affected groups")
    if HARM_RIGHTS in harms:
        fields[15] = filled(
            key(15), label(15), HARM_RIGHTS, source="register: incident.category and tags", text=HARM_RIGHTS
        )
    else:
        fields[15] = ask(15, Role.LEGAL_COMPLIANCE, "no rights impact is recorded (absence is not a 'no')")
    fields[16] = ask(16, Role.AI_ETHICS_OFFICER, "the OECD AI Principles the incident touches")
    fields[17] = ask(17, Role.PRODUCT_OWNER, "the register records no industry")
    if system is not None and system.use_case:
        use = red(system.use_case) or ""
        fields[18] = filled(key(18), label(18), use, source="register: ai_systems.use_case", text=use)
    else:
        fields[18] = ask(18, Role.PRODUCT_OWNER, "the system record has no use case")
    if "critical_infrastructure" in _tags(inputs):
        fields[19] = filled(
            key(19), label(19), True, source="register: critical_infrastructure tag", text=HARM_INFRASTRUCTURE
        )
    else:
        fields[19] = ask(19, Role.LEGAL_COMPLIANCE, "no critical_infrastructure tag (absence is not a 'no')")
    fields[20] = ask(20, Role.PRODUCT_OWNER, "how widely the system is deployed")
    fields[21] = ask(21, Role.DATA_LEAD, "public link to the training data, if any")
    fields[22] = ask(22, Role.TECHNICAL_LEAD, "public link to the model, if any")
    fields[23] = ask(23, Role.LEGAL_COMPLIANCE, "licence or usage rights of the system")
    fields[24] = ask(24, Role.TECHNICAL_LEAD, "whether several AI systems interacted")
    task = system.data_card.task if system is not None and system.data_card is not None else None
    if task is not None:
        fields[25] = filled(
            key(25), label(25), task, source="register: ai_systems.data_card.task", text=task
        )
    else:
        fields[25] = ask(25, Role.TECHNICAL_LEAD, "the system has no data card")
    fields[26] = ask(26, Role.TECHNICAL_LEAD, "the system's maximum autonomy level")
    rows = _action_rows(inputs, red)
    if rows:
        fields[27] = filled(
            key(27),
            label(27),
            rows,
            source="register: incident.resolution and action items (titles only)",
            text="; ".join(rows),
        )
    else:
        fields[27] = ask(27, Role.INCIDENT_COMMANDER, "no resolution or action item is recorded")
    fields[28] = ask(28, Role.TECHNICAL_LEAD, "only what is safe to publish (no exploit details)")
    extra = [red(item) or "" for item in incident.contributing_factors]
    if incident.lessons_learned:
        extra.append(f"Lessons learned: {red(incident.lessons_learned)}")
    if extra:
        fields[29] = filled(
            key(29),
            label(29),
            extra,
            source="register: contributing_factors, lessons_learned",
            text="; ".join(extra),
        )
    else:
        fields[29] = ask(29, Role.POSTMORTEM_FACILITATOR, "no contributing factors or lessons recorded")
    return fields


def oecd_sections(inputs: DraftInputs) -> list[DraftSection]:
    """The OECD common reporting framework's criteria as draft sections: the 7 mandatory, then the rest.

    Parameters
    ----------
    inputs : DraftInputs
        The register's records of the incident and the run's summaries.

    Returns
    -------
    list of DraftSection
        ``oecd.mandatory`` (criteria 1, 2, 3, 4, 7, 10, 11 in that order) and ``oecd.other`` (the 22
        others by number). Every field is filled from a named source or ``to_complete`` with a role.
    """
    fields = _oecd_fields(inputs)
    others = [number for number in OECD_CRITERIA if number not in OECD_MANDATORY]
    return [
        DraftSection(
            key="oecd.mandatory",
            title="Mandatory criteria",
            fields=[fields[number] for number in OECD_MANDATORY],
            note="The 7 criteria the framework makes mandatory.",
        ),
        DraftSection(
            key="oecd.other",
            title="Other criteria",
            fields=[fields[number] for number in others],
            note="Optional criteria: filled where the register or the run knows them.",
        ),
    ]


def oecd_export(inputs: DraftInputs) -> dict[str, Any]:
    """The OECD criteria as JSON (validated by ``schemas/oecd_report.schema.json``).

    Parameters
    ----------
    inputs : DraftInputs
        The register's records of the incident and the run's summaries.

    Returns
    -------
    dict
        ``criteria`` in the order of :func:`oecd_sections`, each with its number, key, whether it is
        mandatory, its value and text (or ``null`` and ``to_complete``), and the list ``to_complete``.
    """
    criteria = []
    numbers = [*OECD_MANDATORY, *(n for n in OECD_CRITERIA if n not in OECD_MANDATORY)]
    fields = [item for section in oecd_sections(inputs) for item in section.fields]
    for number, item in zip(numbers, fields, strict=True):
        criteria.append(
            {
                "number": number,
                "key": OECD_CRITERIA[number][0],
                "label": OECD_CRITERIA[number][1],
                "mandatory": number in OECD_MANDATORY,
                "value": item.value,
                "text": item.text,
                "source": item.source,
                "note": item.note,
                "to_complete": item.to_complete,
                "complete_by": item.complete_by,
            }
        )
    data = {
        "schema": "workbench-oecd-report/1",
        "framework": "OECD common reporting framework for AI incidents (OECD AI Papers No. 34, 2025)",
        "incident_id": inputs.incident.id,
        "as_of": inputs.as_of.isoformat(),
        "run_id": inputs.run_id,
        "criteria": criteria,
        "to_complete": [
            {"path": f"criteria[{i}].value", "label": c["label"], "complete_by": c["complete_by"]}
            for i, c in enumerate(criteria)
            if c["to_complete"]
        ],
        "notes": [],
    }
    _scan(data, inputs)
    return data


# --------------------------------------------------------------------------------------------------
# AIID submission and AVID report
# --------------------------------------------------------------------------------------------------


class _Envelope:
    """Collects a payload's unknown values: each is ``None`` (or ``[]``) and listed with its role."""

    def __init__(self, root: str) -> None:
        self.root = root
        self.to_complete: list[dict[str, str]] = []

    def ask(self, path: str, who: Role | str, note: str, empty: Any = None) -> Any:
        role = who.label if isinstance(who, Role) else who
        self.to_complete.append({"path": f"{self.root}.{path}", "complete_by": role, "note": note})
        return empty


def _long_text(inputs: DraftInputs, red: Redactor) -> str:
    parts = [red(inputs.incident.summary)]
    impact = _impact_text(inputs)
    if impact is not None:
        parts.append(impact[1])
    cause = _cause_sentence(inputs)
    if cause is not None:
        parts.append(f"Likely cause: {red(cause[0])}")
    rows = _action_rows(inputs, red)
    if rows:
        parts.append("Actions: " + "; ".join(rows) + ".")
    return " ".join(part for part in parts if part)


def aiid_submission(inputs: DraftInputs) -> dict[str, Any]:
    """A submission to the AI Incident Database, as a new incident (``incident_ids`` empty).

    The fields are those of AIID's GraphQL ``Submission`` type that a submitter gives, with the form's
    rules for a new incident (``incidentSchema``): a title of 6 to 500 characters, a text of at least 80,
    a description of at most 500, alleged developers, deployers and harmed parties, an incident date.
    The report's own URL, authors, submitters and dates are the organisation's to complete.

    Parameters
    ----------
    inputs : DraftInputs
        The register's records of the incident and the run's summaries.

    Returns
    -------
    dict
        ``{"schema", "incident_id", "submission", "to_complete", "notes"}``.
    """
    incident, system, red = inputs.incident, inputs.system, inputs.redactor(always_names=True)
    env = _Envelope("submission")
    title = red(incident.title) or ""
    text = _long_text(inputs, red)
    summary = red(incident.summary)
    submission: dict[str, Any] = {
        "title": title
        if len(title) >= 6
        else env.ask("title", Role.COMMUNICATIONS_LEAD, "AIID needs 6+ characters"),
        "text": text
        if len(text) >= 80
        else env.ask("text", Role.COMMUNICATIONS_LEAD, "AIID needs 80+ characters"),
        "url": env.ask(
            "url", Role.COMMUNICATIONS_LEAD, "the public URL of the report (e.g. the published post-mortem)"
        ),
        "source_domain": env.ask("source_domain", Role.COMMUNICATIONS_LEAD, "the domain of the report's URL"),
        "authors": env.ask(
            "authors",
            Role.COMMUNICATIONS_LEAD,
            "the publishing organisation (never a person from the register)",
        ),
        "submitters": env.ask("submitters", Role.LEGAL_COMPLIANCE, "the submitting organisation or a role"),
        "date_published": env.ask(
            "date_published", Role.COMMUNICATIONS_LEAD, "the day the report is published"
        ),
        "date_downloaded": env.ask(
            "date_downloaded", Role.COMMUNICATIONS_LEAD, "the day the report is retrieved"
        ),
        "date_submitted": env.ask(
            "date_submitted", Role.COMMUNICATIONS_LEAD, "the day the submission is made"
        ),
        "date_modified": env.ask("date_modified", Role.COMMUNICATIONS_LEAD, "the day the submission is made"),
        "image_url": env.ask(
            "image_url", Role.COMMUNICATIONS_LEAD, "an image for the report (optional in AIID's form)"
        ),
        "language": "en",
        "tags": [],
        "incident_ids": [],
        "incident_title": title
        if len(title) >= 6
        else env.ask("incident_title", Role.COMMUNICATIONS_LEAD, "6+ characters"),
        "description": summary
        if summary and 3 <= len(summary) <= 500
        else env.ask("description", Role.COMMUNICATIONS_LEAD, "a description of 3 to 500 characters"),
        "incident_date": _day(incident.occurred_at)
        or env.ask("incident_date", Role.INCIDENT_COMMANDER, "the register has no occurred_at"),
        "developers": _parties(system.developer if system else None, red)
        or env.ask("developers", Role.PRODUCT_OWNER, "the alleged developer of the AI system"),
        "deployers": _parties(system.deployer if system else None, red)
        or env.ask("deployers", Role.PRODUCT_OWNER, "the alleged deployer of the AI system"),
        "harmed_parties": [red(group) or "" for group in incident.affected_groups if len(group) >= 3]
        or env.ask("harmed_parties", Role.INCIDENT_COMMANDER, "the harmed or nearly harmed parties (groups)"),
        "implicated_systems": _parties(system.name if system else None, red)
        or env.ask("implicated_systems", Role.TECHNICAL_LEAD, "the AI system involved"),
        "editor_notes": f"Draft prepared by the AI incident workbench from register incident {incident.id}.",
    }
    data = {
        "schema": "workbench-aiid-submission/1",
        "incident_id": incident.id,
        "as_of": inputs.as_of.isoformat(),
        "submission": submission,
        "to_complete": env.to_complete,
        "notes": ["A new AIID incident: incident_ids is empty; AIID's editors decide the incident it joins."],
    }
    _scan(data, inputs)
    return data


def _parties(value: str | None, red: Redactor) -> list[str]:
    text = red(value)
    return [text] if text and 3 <= len(text) <= 200 else []


def _avid_metrics(inputs: DraftInputs) -> list[dict[str, Any]]:
    """AVID metrics read from the summaries: impact excess, fairness headline gap, LLM exposure."""
    metrics = []
    impact = inputs.summary("impact")
    excess = getattr(impact, "excess_failures", None)
    if impact is not None and excess is not None and excess.low is not None and excess.high is not None:
        metrics.append(
            {
                "name": f"affected {impact.unit} above the baseline rate",
                "detection_method": {"type": "Significance Test", "name": "Newcombe hybrid score interval"},
                "results": {
                    "definition": impact.definition,
                    "n_affected_decisions": impact.n_affected_decisions,
                    "n_affected_entities": impact.n_affected_entities,
                    "excess_estimate": excess.estimate,
                    "excess_low": excess.low,
                    "excess_high": excess.high,
                    "level": excess.level,
                },
            }
        )
    gap = getattr(inputs.summary("fairness"), "headline_gap", None)
    if gap is not None:
        metrics.append(
            {
                "name": f"fairness gap in {gap.metric} ({gap.grouping})",
                "detection_method": {
                    "type": "Significance Test",
                    "name": "difference of rates with interval",
                },
                "results": {
                    "grouping": gap.grouping,
                    "group": gap.group,
                    "reference_group": gap.reference_group,
                    "metric": gap.metric,
                    "difference": gap.difference.estimate,
                    "difference_low": gap.difference.low,
                    "difference_high": gap.difference.high,
                    "level": gap.difference.level,
                },
            }
        )
    exposure = getattr(inputs.summary("llm"), "exposure", None)
    total = getattr(exposure, "total", None)
    if total is not None and total.in_incident_window:
        metrics.append(
            {
                "name": "answers with personal data or secrets",
                "detection_method": {"type": "Static Threshold", "name": "pattern detectors on answers"},
                "results": {
                    "categories": list(getattr(exposure, "categories", [])),
                    "answers": total.rows,
                    "conversations": total.conversations,
                    "users": total.users,
                },
            }
        )
    return metrics


def avid_report(inputs: DraftInputs) -> dict[str, Any]:
    """An AVID report (``avidtools.datamodels.report.Report``, data version 0.3.2).

    ``problemtype.classof`` is ``"Undefined"`` (none of AVID's classes is a first-party incident report),
    ``type`` is ``"Issue"``; the SEP view comes from the incident's category, the lifecycle view is the
    stage where the failure showed (deployment). ``metadata.report_id`` is AVID's to assign and is left
    out; references, credit and the reported date are to complete.

    Parameters
    ----------
    inputs : DraftInputs
        The register's records of the incident and the run's summaries.

    Returns
    -------
    dict
        ``{"schema", "incident_id", "report", "to_complete", "notes"}``.
    """
    incident, system, red = inputs.incident, inputs.system, inputs.redactor(always_names=True)
    env = _Envelope("report")
    artifacts = []
    if system is not None:
        artifacts.append({"type": "System", "name": red(system.name)})
        artifacts += [
            {"type": "Model", "name": f"{red(system.name)} {red(v)}"} for v in incident.model_versions
        ]
    sep = list(_AVID_SEP.get(IncidentCategory(incident.category), ()))
    if sep and incident.category == IncidentCategory.FAIRNESS_BIAS and inputs.summary("fairness") is not None:
        sep = ["E0101: Group fairness"]
    domains = sorted({_AVID_DOMAINS[code[0]] for code in sep})
    report: dict[str, Any] = {
        "data_type": "AVID",
        "data_version": AVID_DATA_VERSION,
        "affects": {
            "developer": _parties(system.developer if system else None, red)
            or env.ask("affects.developer", Role.PRODUCT_OWNER, "the system's developer", empty=[]),
            "deployer": _parties(system.deployer if system else None, red)
            or env.ask("affects.deployer", Role.PRODUCT_OWNER, "the system's deployer", empty=[]),
            "artifacts": artifacts
            or env.ask("affects.artifacts", Role.TECHNICAL_LEAD, "the incident names no AI system", empty=[]),
        },
        "problemtype": {
            "classof": "Undefined",
            "type": "Issue",
            "description": {"lang": "eng", "value": red(incident.title)},
        },
        "metrics": _avid_metrics(inputs),
        "references": env.ask(
            "references", Role.COMMUNICATIONS_LEAD, "public URLs (the published post-mortem)", empty=[]
        ),
        "description": {"lang": "eng", "value": _long_text(inputs, red) or red(incident.title)},
        "impact": {
            "avid": {
                "risk_domain": domains
                or env.ask("impact.avid.risk_domain", Role.TECHNICAL_LEAD, "follows the SEP view", empty=[]),
                "sep_view": sep
                or env.ask(
                    "impact.avid.sep_view",
                    Role.TECHNICAL_LEAD,
                    "no AVID SEP class for the category",
                    empty=[],
                ),
                "lifecycle_view": ["L06: Deployment"],
                "taxonomy_version": AVID_TAXONOMY_VERSION,
            }
        },
        "credit": env.ask(
            "credit", Role.COMMUNICATIONS_LEAD, "the organisation credited (never a person)", empty=[]
        ),
        "reported_date": env.ask("reported_date", Role.COMMUNICATIONS_LEAD, "the day it is reported to AVID"),
    }
    data = {
        "schema": "workbench-avid-report/1",
        "incident_id": incident.id,
        "as_of": inputs.as_of.isoformat(),
        "report": report,
        "to_complete": env.to_complete,
        "notes": [
            "metadata.report_id is assigned by AVID and left out.",
            "lifecycle_view is the stage where the failure showed; where it was introduced is not recorded.",
        ],
    }
    _scan(data, inputs)
    return data


# --------------------------------------------------------------------------------------------------
# Checks
# --------------------------------------------------------------------------------------------------


def _strings(data: Any, path: str = "$") -> Iterator[tuple[str, str]]:
    if isinstance(data, dict):
        for name, value in data.items():
            if name not in _NOT_TEXT:
                yield from _strings(value, f"{path}.{name}")
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from _strings(value, f"{path}[{index}]")
    elif isinstance(data, str):
        yield path, data


def _scan(data: dict[str, Any], inputs: DraftInputs) -> None:
    """Fail when any text of an export still holds personal data, a secret or a known name."""
    redactor = inputs.redactor(always_names=True)
    leaks = [path for path, text in _strings(data) if redactor(text) != text]
    if leaks:
        raise WorkbenchError(
            f"a public export must hold no personal data or names. Got some at {leaks}; this is a bug in "
            "the export: report it, and do not share the file."
        )


@cache
def _schema(kind: str) -> dict[str, Any]:
    name = f"schemas/{_SCHEMA_FILES[kind]}.schema.json"
    loaded: dict[str, Any] = json.loads(
        resources.files("workbench.regulator").joinpath(name).read_text("utf-8")
    )
    return loaded


def _lookup(data: Any, path: str) -> tuple[bool, Any]:
    """Follow a dotted path with ``[i]`` indexes; ``(False, None)`` when it does not exist."""
    current = data
    for part in path.replace("[", ".[").split("."):
        if not part:
            continue
        if part.startswith("["):
            index = int(part[1:-1])
            if not isinstance(current, list) or index >= len(current):
                return False, None
            current = current[index]
        elif isinstance(current, dict) and part in current:
            current = current[part]
        else:
            return False, None
    return True, current


def _null_paths(data: Any, path: str) -> Iterator[str]:
    if data is None:
        yield path
    elif isinstance(data, dict):
        for name, value in data.items():
            yield from _null_paths(value, f"{path}.{name}" if path else name)
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from _null_paths(value, f"{path}[{index}]")


def validate_export(kind: ExportKind, data: dict[str, Any]) -> None:
    """Check an export against its JSON Schema, and that every unknown value is listed to complete.

    Parameters
    ----------
    kind : {"oecd", "aiid", "avid"}
        Which export ``data`` is.
    data : dict
        The export (:func:`oecd_export`, :func:`aiid_submission`, :func:`avid_report`).

    Raises
    ------
    WorkbenchError
        Listing each problem as ``path: message`` (all of them, not the first).

    Examples
    --------
    >>> try:
    ...     validate_export("avid", {"schema": "workbench-avid-report/1", "as_of": "yesterday"})
    ... except WorkbenchError as error:
    ...     print(str(error).splitlines()[1])
    - $: 'incident_id' is a required property
    """
    from jsonschema import Draft202012Validator, FormatChecker

    if kind not in _SCHEMA_FILES:
        raise WorkbenchError(f"kind must be one of {sorted(_SCHEMA_FILES)}. Got {kind!r} instead.")
    validator = Draft202012Validator(_schema(kind), format_checker=FormatChecker())
    problems = [
        f"{error.json_path}: {error.message}"
        for error in sorted(
            validator.iter_errors(data), key=lambda error: list(map(str, error.absolute_path))
        )
    ]
    if not problems:
        problems = _completion_problems(kind, data)
    if problems:
        raise WorkbenchError(
            f"the {kind} export must match schemas/{_SCHEMA_FILES[kind]}.schema.json; fix each problem "
            "(path: message):\n" + "\n".join(f"- {problem}" for problem in problems)
        )


def _completion_problems(kind: str, data: dict[str, Any]) -> list[str]:
    """Every ``null`` in the payload is listed in ``to_complete``; every listed path is null or empty."""
    payload = {"oecd": "criteria", "aiid": "submission", "avid": "report"}[kind]
    listed = {item["path"] for item in data.get("to_complete", [])}
    problems = []
    for path in _null_paths(data[payload], payload):
        is_oecd_unknown = kind == "oecd" and path.endswith(".value")
        if path not in listed and (kind != "oecd" or is_oecd_unknown):
            problems.append(f"$.{path}: is null but not listed in to_complete")
    for path in sorted(listed):
        found, value = _lookup(data, path)
        if not found or value not in (None, []):
            problems.append(f"$.{path}: is listed in to_complete but holds {value!r}")
    return problems
