"""Build the post-mortem's raw blocks from the register, the policy and a run's section summaries.

:func:`postmortem_blocks` gathers the record (incident, system, timeline, actions, notifications,
evidence), the policy's requirements and the run's sections (each ``summary.json`` validated once
against its section's ``summary_model``, and its figures); :func:`postmortem_content` hands those blocks
to :func:`~workbench.report.assemble_report`, which redacts their free text once with the policy's
rules and checks it once for blame phrasing. Numbers of the analysis sections come from their
``summary.json`` only.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlparse

import pandas as pd
from pydantic import BaseModel, ValidationError

from analysis.contract import Section, SummaryValidationError
from register.blameless import NARRATIVE_FIELDS, BlamelessRules
from register.errors import RegisterError
from register.policy import Policy, load_policy
from register.schema import DataCard, Evidence, Incident, PostmortemStatus, Role, as_utc
from workbench.report._blocks import ReportBlock, figure_payload, report_block
from workbench.report._content import ReportContent, assemble_report
from workbench.report._timeline import timeline_data
from workbench.sections import available_sections, report_outline

if TYPE_CHECKING:
    from register.api import Register

__all__ = [
    "breach_facts",
    "postmortem_blocks",
    "postmortem_content",
    "report_path",
    "report_sections",
    "run_card",
    "section_block",
]

_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]+:")


def postmortem_content(
    register: Register,
    incident_id: str,
    *,
    run_dir: str | Path | None = None,
    policy: Policy | None = None,
    as_of: datetime | None = None,
    sections: Sequence[Section] | None = None,
    blameless_rules: BlamelessRules | None = None,
) -> ReportContent:
    """The post-mortem of an incident, assembled in-process: validated, redacted, blameless-checked.

    Parameters
    ----------
    register, incident_id, run_dir, policy, as_of, sections
        As in :func:`postmortem_blocks`.
    blameless_rules : BlamelessRules or None
        The blameless phrase list (default: the packaged one).

    Returns
    -------
    ReportContent
        Free text redacted with ``policy.reports.redaction`` (else the default rules); every section
        block rendered with ``policy.reports.min_cell_size``.
    """
    policy = policy if policy is not None else load_policy()
    placed = report_sections(register, incident_id, run_dir=run_dir, sections=sections)
    blocks = postmortem_blocks(
        register, incident_id, run_dir=run_dir, policy=policy, as_of=as_of, sections=placed
    )
    return assemble_report(
        blocks,
        policy=policy,
        sections=placed,
        blameless_rules=blameless_rules,
        known_names=known_names(register, incident_id),
    )


_RESPONDER_FIELDS = (
    "incident_commander",
    "technical_lead",
    "communications_lead",
    "legal_compliance",
    "data_lead",
    "postmortem_facilitator",
)


def known_names(register: Register, incident_id: str) -> tuple[str, ...]:
    """The people the register knows for an incident: its responders and its action items' owners.

    Returns
    -------
    tuple of str
        Distinct names, in record order (the redaction of report text replaces them when the policy's
        ``reports.redact_known_names`` is set).
    """
    incident = register.get_incident(incident_id)
    names = [getattr(incident, field) for field in _RESPONDER_FIELDS]
    names += [item.owner for item in register.action_items(incident_id)]
    return tuple(dict.fromkeys(name.strip() for name in names if name and name.strip()))


def report_sections(
    register: Register,
    incident_id: str,
    *,
    run_dir: str | Path | None = None,
    sections: Sequence[Section] | None = None,
) -> tuple[Section, ...]:
    """The analysis sections of an incident's post-mortem: those that analyse its system's kind of log.

    A section for another kind of log (the LLM section for a credit model, drift for a chatbot) is left
    out of the report rather than shown as "not applicable"; a section that fits the kind of log but not
    the system (``Section.not_applicable``) stays, with its reason. The kind comes from the run's data
    card, else the system's card in the register, else it is a prediction log (a card's default kind).
    """
    chosen = tuple(sections) if sections is not None else available_sections()
    card = run_card(Path(run_dir)) if run_dir is not None else None
    if card is None:
        try:
            card = register.incident_with_card(incident_id)[1]
        except RegisterError:
            card = None
    kind = getattr(card, "kind", "prediction_log")
    return tuple(section for section in chosen if kind in section.log_kinds)


def postmortem_blocks(
    register: Register,
    incident_id: str,
    *,
    run_dir: str | Path | None = None,
    policy: Policy | None = None,
    as_of: datetime | None = None,
    sections: Sequence[Section] | None = None,
) -> dict[str, ReportBlock]:
    """Build every raw block of an incident's post-mortem, in outline order.

    Register text is put into the blocks as recorded: :func:`~workbench.report.assemble_report`
    redacts it (once) when it validates the blocks. Section summaries are validated here, once, and
    carried as their typed model. This function is long because it lists every part's fields in one
    place, in report order.

    Parameters
    ----------
    register : register.api.Register
        The open register.
    incident_id : str
        The incident.
    run_dir : str or Path or None
        The analysis run folder (``reports/<incident>/<run id>/``) holding ``<section>/summary.json`` and
        ``<section>/figures/<id>.json``; ``None``: the analysis sections are marked unavailable.
    policy : Policy or None
        The severity/notification policy (default: the shipped one).
    as_of : datetime or None
        When clocks are judged (default: now).
    sections : sequence of Section or None
        The analysis sections (default: every available section).

    Returns
    -------
    dict
        Outline key to :class:`~workbench.report.ReportBlock`, in outline order.

    Long because it is one literal: the raw data of every fixed part of the report, in outline order.
    """
    policy = policy if policy is not None else load_policy()
    when = as_utc(as_of) if as_of is not None else datetime.now(UTC)
    placed_sections = tuple(sections) if sections is not None else available_sections()

    incident: Incident = register.get_incident(incident_id)
    system = register.get_system(incident.system_id) if incident.system_id else None
    level = policy.level(incident.severity)
    metrics = register.metrics_frame(as_of=when, policy=policy, incident_ids=[incident_id]).iloc[0]
    events = register.timeline(incident_id)
    actions = register.action_items(incident_id)
    run = Path(run_dir) if run_dir is not None else None
    manifest = _manifest(run)

    section_blocks: dict[str, ReportBlock] = {}
    summaries: dict[str, BaseModel] = {}
    for section in placed_sections:
        block = section_block(section, run, card=run_card(run))
        section_blocks[section.key] = block
        if isinstance(block.data, BaseModel):
            summaries[section.key] = block.data

    sign_off = level.postmortem.sign_off
    blocks: dict[str, ReportBlock] = {
        "summary": report_block(
            "summary",
            {
                "incident_id": incident.id,
                "title": incident.title,
                "summary": incident.summary,
                "system": system.name if system is not None else incident.system_id,
                "category": _label(incident.category),
                "kind": incident.kind,
                "severity": str(incident.severity),
                "status": _label(incident.status),
                "occurred_at": incident.occurred_at,
                "aware_at": incident.aware_at,
                "contained_at": incident.contained_at,
                "resolved_at": incident.resolved_at,
                "affected_count": incident.affected_count,
                "ongoing": incident.ongoing,
                "still_happening": still_happening_sentence(incident, summaries.get("impact")),
                "postmortem_status": _label(incident.postmortem_status),
                "facilitator": incident.postmortem_facilitator,
                "run_id": manifest.get("run_id"),
                "as_of": when,
            },
        ),
        "severity": report_block(
            "severity",
            {
                "severity": str(incident.severity),
                "label": level.label,
                "response_sla": _span(level.response_sla),
                "team": [_label(role) for role in level.response_team],
                "communication": level.communication_mandate,
                "postmortem_requirement": level.postmortem.requirement
                + (f"; sign-off: {sign_off}" if sign_off else ""),
                "postmortem_deadline": _time(metrics.get("postmortem_due_at")),
            },
        ),
        "timeline": report_block(
            "timeline",
            timeline_data(
                incident,
                events,
                summaries,
                {section.key: section for section in placed_sections},
                as_of=when,
            ),
        ),
        **section_blocks,
        "contributing_factors": report_block(
            "contributing_factors",
            {
                "root_cause_category": incident.root_cause_category,
                "trigger": incident.trigger,
                "contributing_factors": list(incident.contributing_factors),
                "resolution": incident.resolution,
                "evidence": _evidence_rows(register.evidence(incident_id), run, manifest.get("run_id")),
                **_analysed_causes(incident, summaries.get("root_cause")),
            },
        ),
        "response": report_block("response", _response(incident, level, metrics)),
        "notifications": report_block(
            "notifications",
            {
                "rows": _notification_rows(register, incident, policy, when),
                "facts": breach_facts(summaries.get("llm")),
            },
        ),
        "lessons": report_block("lessons", {"items": _lessons(incident.lessons_learned)}),
        "actions": report_block(
            "actions",
            {
                "items": [
                    {
                        "id": item.id,
                        "title": item.title,
                        "owner": item.owner,
                        "team": item.team,
                        "kind": _label(item.kind),
                        "priority": item.priority,
                        "due_at": item.due_at,
                        "status": _label(item.status),
                    }
                    for item in actions
                ]
            },
        ),
        "signoff": report_block(
            "signoff",
            {
                "requirement": f"{incident.severity}: {level.postmortem.requirement}."
                + (f" Signed off by: {sign_off}." if sign_off else " No sign-off required."),
                "rows": [
                    {
                        "role": _label(Role.POSTMORTEM_FACILITATOR),
                        "name": incident.postmortem_facilitator,
                        "state": _signoff_state(incident, facilitator=True),
                    }
                ]
                + (
                    [{"role": sign_off, "state": _signoff_state(incident, facilitator=False)}]
                    if sign_off
                    else []
                ),
            },
        ),
        # the flags are those the validation of the narrative fields finds (assemble_report adds them)
        "blameless_review": report_block(
            "blameless_review",
            {"flags": [], "checked_fields": [*NARRATIVE_FIELDS, "timeline", "action_items"]},
        ),
    }
    return {entry.key: blocks[entry.key] for entry in report_outline(placed_sections)}


def still_happening_sentence(incident: Incident, impact: BaseModel | None) -> str:
    """One sentence reconciling the register's status with what the data's recent window says.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> from register.schema import Incident
    >>> closed = Incident(id="INC-2026-0001", title="t", category="data_quality", severity="SEV-2",
    ...                   aware_at="2026-01-02T00:00:00Z", ongoing=False, status="closed")
    >>> data = SimpleNamespace(
    ...     still_happening=SimpleNamespace(verdict="inconclusive", explanation="too few labels"))
    >>> still_happening_sentence(closed, data)
    'The register records it as over (status Closed); the data cannot tell yet: too few labels.'
    """
    status = _label(incident.status) or "unknown"
    if incident.ongoing is None:
        register_says = f"records no ongoing flag (status {status})"
        register_over: bool | None = None
    else:
        register_over = not incident.ongoing
        register_says = f"records it as {'over' if register_over else 'still happening'} (status {status})"
    verdict = getattr(getattr(impact, "still_happening", None), "verdict", None)
    explanation = getattr(getattr(impact, "still_happening", None), "explanation", None)
    if verdict is None:
        return f"The register {register_says}; no analysis of recent data was run."
    if verdict == "inconclusive":
        why = f": {explanation.rstrip('.')}" if explanation else ""
        return f"The register {register_says}; the data cannot tell yet{why}."
    data_over = verdict == "subsided"
    if register_over is None or register_over == data_over:
        agreed = "is over" if data_over else "is still happening"
        return f"The register {register_says} and the data's recent window agree: it {agreed}."
    if register_over:
        return (
            f"The register {register_says}, but the data's recent window still shows failures above the "
            "baseline: check the containment."
        )
    return (
        f"The register {register_says}, while the data's recent window is back at the baseline: "
        "update the register if it is over."
    )


def _signoff_state(incident: Incident, *, facilitator: bool) -> str:
    """What the register says of a sign-off: the post-mortem's status, never an invented signature.

    Examples
    --------
    >>> from register.schema import Incident
    >>> base = dict(id="INC-2026-0001", title="t", category="data_quality", severity="SEV-2",
    ...             aware_at="2026-01-01T00:00:00Z")
    >>> _signoff_state(Incident(**base, postmortem_status="published"), facilitator=False)
    'signed off: the post-mortem is published (the register records no date of signature)'
    >>> _signoff_state(Incident(**base, postmortem_status="in_review"), facilitator=False)
    'pending: the post-mortem is in review'
    """
    status = PostmortemStatus(incident.postmortem_status)
    if status == PostmortemStatus.PUBLISHED:
        return "signed off: the post-mortem is published (the register records no date of signature)"
    if facilitator and status != PostmortemStatus.NOT_STARTED:
        return f"facilitating: the post-mortem is {status.label.lower()}"
    return f"pending: the post-mortem is {status.label.lower()}"


# --------------------------------------------------------------------------------------------------
# Sections of the run
# --------------------------------------------------------------------------------------------------


def _manifest(run: Path | None) -> dict[str, Any]:
    if run is None or not (run / "manifest.json").is_file():
        return {}
    data = json.loads((run / "manifest.json").read_text(encoding="utf-8"))
    return data if isinstance(data, dict) else {}


def run_card(run: Path | None) -> DataCard | None:
    """The data card the run used (its ``context.json``), or ``None``."""
    if run is None or not (run / "context.json").is_file():
        return None
    try:
        card = json.loads((run / "context.json").read_text(encoding="utf-8")).get("card")
        return DataCard.model_validate(card) if card else None
    except (json.JSONDecodeError, ValidationError, AttributeError):
        return None


def section_block(section: Section, run: Path | None, *, card: DataCard | None = None) -> ReportBlock:
    """The section's block: its summary validated once (a typed model) and its figures, or why not.

    A section the run skipped because it does not fit the AI system (``Section.not_applicable`` of the
    run's data card) says so with the reason, never "has not run".
    """
    not_run = (
        f"the {section.title.lower()} analysis has not run for this incident "
        "(run `workbench investigate` first)"
    )
    if run is None or not (run / section.key / "summary.json").is_file():
        reason = section.skip_reason(card) if card is not None and run is not None else None
        if reason:
            return report_block(section.key, None, unavailable=f"not applicable to this AI system: {reason}")
        return report_block(section.key, None, unavailable=not_run)
    path = run / section.key / "summary.json"
    try:
        summary = section.validate_summary(json.loads(path.read_text(encoding="utf-8")), source=str(path))
    except (json.JSONDecodeError, SummaryValidationError) as exc:
        return report_block(section.key, None, unavailable=f"its summary could not be read: {exc}")
    figures = []
    for spec in section.figures:
        figure_path = run / section.key / "figures" / f"{spec.id}.json"
        if not figure_path.is_file():
            return report_block(section.key, None, unavailable=f"figure {spec.id} is missing from the run")
        figures.append(figure_payload(figure_path, id=spec.id, title=spec.title))
    return report_block(section.key, summary, figures=figures)


# --------------------------------------------------------------------------------------------------
# Evidence: newest record per artefact, paths relative to the run folder
# --------------------------------------------------------------------------------------------------


def report_path(uri: str, run_dir: Path | None) -> str:
    """How an evidence URI appears in the report: relative to the run folder, else its file name.

    URLs (``https://``, ``s3://``, ``mailto:``...) are kept (their query string is dropped when the block
    is validated). A local path inside the run folder is shown relative to it, whatever the working
    directory it was recorded from (the run folder's name identifies it); any other local path shows its
    file name only, so no report carries the layout of the machine that produced it.

    Examples
    --------
    >>> run = Path("/srv/reports/INC-2026-0001/20261123T163605125Z-a39cd2")
    >>> report_path("/srv/reports/INC-2026-0001/20261123T163605125Z-a39cd2/impact/summary.json", run)
    'impact/summary.json'
    >>> report_path("reports/INC-2026-0001/20261123T163605125Z-a39cd2/manifest.json", run)
    'manifest.json'
    >>> report_path("/home/ana/exports/logs.parquet", run)
    'logs.parquet'
    >>> report_path("https://bucket.example/logs.parquet", run)
    'https://bucket.example/logs.parquet'
    """
    if _URL.match(uri) and not uri.lower().startswith("file:"):
        return uri
    path = Path(unquote(urlparse(uri).path)) if uri.lower().startswith("file:") else Path(uri)
    if run_dir is not None:
        try:
            return path.resolve().relative_to(run_dir.resolve()).as_posix()
        except ValueError:
            pass
        if run_dir.name in path.parts:
            parts = path.parts
            inside = parts[len(parts) - parts[::-1].index(run_dir.name) :]
            if inside:
                return PurePosixPath(*inside).as_posix()
    return path.name or uri


def _evidence_rows(
    evidence: Sequence[Evidence], run: Path | None, run_id: str | None
) -> list[dict[str, Any]]:
    """The newest record per artefact of this run (or of no run), its path as :func:`report_path` says."""
    latest: dict[str, Evidence] = {}
    for item in evidence:
        current = latest.get(item.uri)
        if current is None or item.captured_at >= current.captured_at:
            latest[item.uri] = item
    return [
        {
            "kind": item.kind,
            "uri": report_path(item.uri, run),
            "sha256": item.sha256,
            "run_id": item.run_id,
            "captured_at": item.captured_at,
        }
        for item in latest.values()
        if run is None or item.run_id in (None, run_id)
    ]


# --------------------------------------------------------------------------------------------------
# Response and notifications
# --------------------------------------------------------------------------------------------------


def _response(incident: Incident, level: Any, metrics: Mapping[str, Any]) -> dict[str, Any]:
    def row(milestone: str, target: timedelta | None, took: Any, met: Any) -> dict[str, Any]:
        target_hours = target.total_seconds() / 3600 if target is not None else None
        actual = _hours(took)
        return {
            "milestone": milestone,
            "target": _span(target),
            "target_hours": target_hours,
            "actual_hours": actual,
            "met": _boolean(met) if target is not None else None,
            "margin_hours": (target_hours - actual)
            if target_hours is not None and actual is not None
            else None,
        }

    return {
        "severity": str(incident.severity),
        "rows": [
            row("detect (occurred to aware)", None, metrics.get("time_to_detect_hours"), None),
            row(
                "acknowledge",
                level.response_sla,
                metrics.get("time_to_acknowledge_hours"),
                metrics.get("response_sla_met"),
            ),
            row(
                "contain",
                level.contain_target,
                metrics.get("time_to_contain_hours"),
                metrics.get("contain_target_met"),
            ),
            row(
                "resolve",
                level.resolve_target,
                metrics.get("time_to_resolve_hours"),
                metrics.get("resolve_target_met"),
            ),
        ],
    }


def breach_facts(summary: BaseModel | None) -> dict[str, Any] | None:
    """The categories and approximate numbers a GDPR Art. 33 notification needs, from the LLM exposure scan.

    Only what the incident window holds: findings after it belong to another incident.
    """
    exposure = getattr(summary, "exposure", None)
    total = getattr(exposure, "total", None)
    if exposure is None or total is None or not total.in_incident_window:
        return None
    return {
        "source": "LLM section: the exposure scan of answers to users",
        "categories": list(exposure.categories),
        "people_at_least": exposure.people_at_least,
        "records": total.rows,
        "recipients": total.users,
        "first_seen": total.first_seen,
        "last_seen": total.last_seen,
        "still_happening": total.still_happening,
    }


def _notification_rows(
    register: Register, incident: Incident, policy: Policy, when: datetime
) -> list[dict[str, Any]]:
    """One row per recorded notification (keyed by its record id) and per report the policy still owes.

    ``notification_status`` returns no record id, and several notifications may share a regime and a
    report type (one to the executive, one to customers): each recorded notification's status is read
    from a table of that record alone, so its reference and audience are its own.
    """
    from register.metrics import notification_status

    incidents = register.incidents_frame(incident_ids=[incident.id])
    recorded = register.notifications_frame(incident.id)
    records = {item.id: item for item in register.notifications(incident.id)}
    audience_by_regime = {regime.id: _label(regime.audience) for regime in policy.regimes}
    owed = notification_status(incidents, policy=policy, as_of=when, notifications=recorded)
    keyed: list[tuple[dict[str, Any], str | None, str | None]] = [
        (status, None, None) for status in owed.to_dict("records") if not bool(status.get("recorded"))
    ]
    for record_id in recorded["id"] if len(recorded) else []:
        one = notification_status(
            incidents, policy=policy, as_of=when, notifications=recorded[recorded["id"] == record_id]
        )
        status = next(row for row in one.to_dict("records") if bool(row.get("recorded")))
        item = records.get(record_id)
        keyed.append((status, item.reference if item else None, _label(item.audience) if item else None))
    rows = []
    for status, reference, audience in keyed:
        # A notification outside any regime (e.g. to the executive) has no regime: NaN in the frame.
        regime = None if pd.isna(status.get("regime")) else status.get("regime")
        report_type = None if pd.isna(status.get("report_type")) else str(status.get("report_type"))
        sent = _time(status.get("sent_at"))
        if sent is not None:
            state = "sent late" if _boolean(status.get("late")) else "sent"
        else:
            state = "overdue" if _boolean(status.get("overdue")) else "due"
        rows.append(
            {
                "regime": regime,
                "audience": audience or (audience_by_regime.get(regime) if regime else None) or "—",
                "report_type": report_type,
                "due_at": _time(status.get("due_at")),
                "sent_at": sent,
                "status": state,
                "reference": reference or None,
            }
        )
    # the order of the status table: by regime (none last), then report type; records in register order
    rows.sort(key=lambda row: (row["regime"] is None, row["regime"] or "", row["report_type"] or ""))
    return rows


# --------------------------------------------------------------------------------------------------
# Small conversions
# --------------------------------------------------------------------------------------------------


def _lessons(text: str | None) -> list[str]:
    if not text:
        return []
    lines = [line.strip().lstrip("-*• ").strip() for line in text.splitlines()]
    return [line for line in lines if line]


def _hours(value: Any) -> float | None:
    if value is None or (isinstance(value, float) and value != value) or value is pd.NaT:
        return None
    if isinstance(value, (pd.Timedelta, timedelta)):
        return value.total_seconds() / 3600
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if number != number else number


def _span(value: timedelta | None) -> str | None:
    if value is None:
        return None
    minutes = round(value.total_seconds() / 60)
    if minutes < 60:
        return f"< {minutes} min"
    if minutes < 48 * 60:
        return f"< {minutes / 60:g} h"
    return f"< {minutes / 1440:g} days"


def _boolean(value: Any) -> bool | None:
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return None
    return bool(value)


def _time(value: Any) -> datetime | None:
    if value is None or value is pd.NaT or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    return as_utc(value) if isinstance(value, datetime) else None


def _label(value: Any) -> str | None:
    if value is None:
        return None
    return getattr(value, "label", None) or str(value)


def _analysed_causes(incident: Incident, summary: BaseModel | None) -> dict[str, Any]:
    """The root-cause section's ranked causes and how they compare with the register's record as it is now."""
    if summary is None:
        return {"analysed": False}
    from analysis.root_cause import compare_with_recorded

    causes = list(getattr(summary, "causes", []))
    compared = compare_with_recorded(incident, causes)
    return {
        "analysed": True,
        "causes": [
            {
                "rank": cause.rank,
                "title": cause.title,
                "strength": cause.strength,
                "evidence": list(cause.evidence[:3]),
                "refuted_if": cause.refuted_if,
            }
            for cause in causes[:3]
        ],
        "agreement": compared["agreement"],
        "agreement_sentence": compared["sentence"],
    }
