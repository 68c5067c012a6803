"""Compose the post-mortem's report blocks from the register, the policy and a run's section summaries.

``notebooks/postmortem.ipynb`` is a thin layer over :func:`postmortem_blocks`: it opens the register,
loads the policy, builds the blocks and displays them in outline order; :func:`workbench.render`
turns the executed notebook into HTML, Markdown and PDF. :func:`run_postmortem` does both for a run
folder (what ``workbench postmortem`` calls).

Register text is redacted (the policy's rules) before it is put into a block, so the executed notebook
kept as evidence holds no personal data or secrets either; the renderer redacts again and escapes.
Numbers of the analysis sections come from their ``summary.json`` only.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import papermill
from pydantic import BaseModel, ConfigDict, Field, field_validator

from register.blameless import NARRATIVE_FIELDS, check_fields
from register.policy import Policy, load_policy
from register.redact import DEFAULT_REDACTION_RULES, RedactionRule, redact
from register.schema import INCIDENT_ID_PATTERN, Evidence, Incident, Role, as_utc
from workbench.errors import WorkbenchError
from workbench.render import (
    RenderedReport,
    ReportBlock,
    figure_payload,
    redact_uri,
    render_report,
    report_block,
)
from workbench.runner import KERNEL_ARGUMENTS, artefact_evidence, check_parameters, sha256_file
from workbench.sections import SECTIONS, Section, SummaryValidationError, report_outline

__all__ = ["PostmortemParameters", "PostmortemRun", "postmortem_blocks", "run_postmortem"]


class PostmortemParameters(BaseModel):
    """The validated parameters of ``notebooks/postmortem.ipynb``.

    Examples
    --------
    >>> params = PostmortemParameters(
    ...     incident_id="INC-2026-0001", register_url="r.sqlite", as_of="2026-11-20T00:00Z"
    ... )
    >>> params.as_of
    datetime.datetime(2026, 11, 20, 0, 0, tzinfo=datetime.timezone.utc)
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    incident_id: str = Field(pattern=INCIDENT_ID_PATTERN)
    register_url: str = Field(min_length=1)
    run_dir: Path | None = None
    policy_path: Path | None = None
    as_of: datetime | None = None

    @field_validator("as_of")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        return as_utc(value) if value is not None else None

    @field_validator("run_dir")
    @classmethod
    def _run_exists(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_dir():
            raise ValueError(f"run_dir must be an existing run folder. Got {value} instead.")
        return value


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


def postmortem_blocks(
    register: Any,
    incident_id: str,
    *,
    run_dir: str | Path | None = None,
    policy: Policy | None = None,
    as_of: datetime | None = None,
    sections: Sequence[Section] | None = None,
) -> dict[str, ReportBlock]:
    """Build every report block of an incident's post-mortem, in outline order.

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
        The analysis sections (default :data:`~workbench.sections.SECTIONS`).

    Returns
    -------
    dict
        Outline key to :class:`~workbench.render.ReportBlock`, in outline order.
    """
    policy = policy or load_policy()
    when = as_utc(as_of) if as_of is not None else datetime.now(UTC)
    placed_sections = tuple(sections) if sections is not None else SECTIONS
    rules: Sequence[RedactionRule] = policy.reports.redaction or DEFAULT_REDACTION_RULES

    def clean(text: str | None) -> str | None:
        return redact(text, rules).text

    incident: Incident = register.get_incident(incident_id)
    system = register.get_system(incident.system_id) if incident.system_id else None
    level = policy.level(incident.severity)
    metrics = register.metrics_frame(as_of=when, policy=policy, incident_ids=[incident_id]).iloc[0]
    events = register.timeline(incident_id)
    actions = register.action_items(incident_id)
    evidence = register.evidence(incident_id)
    run = Path(run_dir) if run_dir is not None else None
    manifest = _manifest(run)

    section_blocks: dict[str, ReportBlock] = {}
    summaries: dict[str, dict[str, Any]] = {}
    for section in placed_sections:
        block, summary = _section_block(section, run)
        section_blocks[section.key] = block
        if summary is not None:
            summaries[section.key] = summary

    drift = summaries.get("drift", {})
    onset = _time(pd.Timestamp(drift["onset"])) if drift.get("onset") else None
    aware = incident.aware_at
    if onset is not None and onset <= aware:
        delay, basis = (aware - onset).total_seconds() / 3600, "drift onset seen by the analysis to awareness"
    elif incident.occurred_at is not None:
        delay, basis = (aware - incident.occurred_at).total_seconds() / 3600, "occurrence to awareness"
    else:
        delay, basis = None, None

    timeline_rows = [
        {
            "at": event.at,
            "kind": _label(event.kind),
            "description": clean(event.description),
            "role": _label(event.role),
            "source": "register",
        }
        for event in events
    ]
    if onset is not None:
        features = ", ".join(drift.get("drifted_features") or [])
        timeline_rows.append(
            {
                "at": onset,
                "kind": "Detection",
                "description": "Drift onset seen by the analysis" + (f": {features}" if features else ""),
                "source": "analysis",
            }
        )
    timeline_rows.sort(key=lambda row: row["at"])

    notifications = _notification_rows(register, incident, policy, when, rules)
    flags = check_fields(
        [(name, _field_text(incident, name)) for name in NARRATIVE_FIELDS]
        + [
            ("timeline", [event.description for event in events]),
            ("action_items", [a.title for a in actions]),
        ]
    )
    sign_off = level.postmortem.sign_off
    blocks: dict[str, ReportBlock] = {
        "summary": report_block(
            "summary",
            {
                "incident_id": incident.id,
                "title": clean(incident.title),
                "summary": clean(incident.summary),
                "system": clean(system.name) if system is not None else incident.system_id,
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
                "postmortem_status": _label(incident.postmortem_status),
                "facilitator": clean(incident.postmortem_facilitator),
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
            {
                "events": timeline_rows,
                "drift_onset": onset,
                "occurred_at": incident.occurred_at,
                "aware_at": incident.aware_at,
                "detection_delay_hours": delay,
                "detection_delay_basis": basis,
            },
        ),
        **section_blocks,
        "root_cause": report_block(
            "root_cause",
            {
                "root_cause_category": incident.root_cause_category,
                "trigger": clean(incident.trigger),
                "contributing_factors": [clean(factor) for factor in incident.contributing_factors],
                "resolution": clean(incident.resolution),
                "evidence": [
                    {
                        "kind": item.kind,
                        "uri": redact_uri(item.uri, rules),
                        "sha256": item.sha256,
                        "run_id": item.run_id,
                        "captured_at": item.captured_at,
                    }
                    for item in _latest_per_uri(evidence)
                    if run is None or item.run_id in (None, manifest.get("run_id"))
                ],
            },
        ),
        "response": report_block("response", _response(incident, level, metrics)),
        "notifications": report_block("notifications", {"rows": notifications}),
        "lessons": report_block("lessons", {"items": _lessons(clean(incident.lessons_learned))}),
        "actions": report_block(
            "actions",
            {
                "items": [
                    {
                        "id": item.id,
                        "title": clean(item.title),
                        "owner": clean(item.owner),
                        "team": clean(item.team),
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
                        "role": Role.POSTMORTEM_FACILITATOR.label,
                        "name": clean(incident.postmortem_facilitator),
                    }
                ]
                + ([{"role": sign_off}] if sign_off else []),
            },
        ),
        "blameless_review": report_block(
            "blameless_review",
            {
                "flags": [
                    {
                        "field": flag.field,
                        "phrase": clean(flag.phrase),
                        "reason": flag.reason,
                        "suggestion": flag.suggestion,
                        "rule": flag.rule,
                    }
                    for flag in flags
                ],
                "checked_fields": [*NARRATIVE_FIELDS, "timeline", "action_items"],
            },
        ),
    }
    return {entry.key: blocks[entry.key] for entry in report_outline(placed_sections)}


def _field_text(incident: Incident, name: str) -> str | list[str] | None:
    value = getattr(incident, name, None)
    if isinstance(value, list):
        return [str(item) for item in value]
    return None if value is None else str(value)


def _latest_per_uri(evidence: Sequence[Evidence]) -> list[Evidence]:
    """Return the newest evidence record per artefact.

    A re-rendered report replaces its file; the register keeps every earlier record (with the hash of
    the time) as history, and the report lists the current one.
    """
    latest: dict[str, Evidence] = {}
    for item in evidence:
        current = latest.get(item.uri)
        if current is None or item.captured_at >= current.captured_at:
            latest[item.uri] = item
    return list(latest.values())


def _lessons(text: str | None) -> list[str]:
    if not text:
        return []
    lines = [line.strip().lstrip("-*• ").strip() for line in text.splitlines()]
    return [line for line in lines if line]


def _manifest(run: Path | None) -> dict[str, Any]:
    if run is None or not (run / "manifest.json").is_file():
        return {}
    return json.loads((run / "manifest.json").read_text(encoding="utf-8"))


def _section_block(section: Section, run: Path | None) -> tuple[ReportBlock, dict[str, Any] | None]:
    not_run = (
        f"the {section.title.lower()} analysis has not run for this incident "
        "(run `workbench investigate` first)"
    )
    if run is None:
        return report_block(section.key, None, unavailable=not_run), None
    path = run / section.key / "summary.json"
    if not path.is_file():
        return report_block(section.key, None, unavailable=not_run), None
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))
        section.validate_summary(summary, source=str(path))
    except (json.JSONDecodeError, SummaryValidationError) as exc:
        return report_block(section.key, None, unavailable=f"its summary could not be read: {exc}"), None
    figures = []
    for spec in section.figures:
        figure_path = run / section.key / "figures" / f"{spec.id}.json"
        if not figure_path.is_file():
            return report_block(
                section.key, None, unavailable=f"figure {spec.id} is missing from the run"
            ), None
        figures.append(figure_payload(figure_path, id=spec.id, title=spec.title))
    return report_block(section.key, summary, figures=figures), summary


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


def _notification_rows(
    register: Any, incident: Incident, policy: Policy, when: datetime, rules: Sequence[RedactionRule]
) -> list[dict[str, Any]]:
    from register.metrics import notification_status

    incidents = register.incidents_frame(incident_ids=[incident.id])
    recorded = register.notifications_frame(incident.id)
    table = notification_status(incidents, policy=policy, as_of=when, notifications=recorded)
    audience_by_regime = {regime.id: _label(regime.audience) for regime in policy.regimes}
    references = {
        (item.regime, str(item.report_type)): (item.reference, _label(item.audience))
        for item in register.notifications(incident.id)
    }
    rows = []
    for record in table.to_dict("records"):
        # A notification outside any regime (e.g. to the executive) has no regime: NaN in the frame.
        regime = None if pd.isna(record.get("regime")) else record.get("regime")
        report_type = None if pd.isna(record.get("report_type")) else str(record.get("report_type"))
        reference, audience = references.get((regime, report_type), (None, None))
        sent = _time(record.get("sent_at"))
        if sent is not None:
            status = "sent late" if _boolean(record.get("late")) else "sent"
        else:
            status = "overdue" if _boolean(record.get("overdue")) else "due"
        rows.append(
            {
                "regime": regime,
                "audience": audience or audience_by_regime.get(regime) or "—",
                "report_type": report_type,
                "due_at": _time(record.get("due_at")),
                "sent_at": sent,
                "status": status,
                "reference": redact(reference, rules).text if reference else None,
            }
        )
    return rows


# --------------------------------------------------------------------------------------------------
# Executing and rendering the post-mortem of a run
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PostmortemRun:
    """The executed post-mortem notebook of a run and the reports rendered from it."""

    run_dir: Path
    notebook: Path
    reports: dict[str, RenderedReport]
    artefacts: list[dict[str, Any]]

    def evidence(self, incident_id: str, *, captured_at: datetime | None = None) -> list[Evidence]:
        """One register :class:`~register.schema.Evidence` per file written (notebook and reports)."""
        when = captured_at or datetime.now(UTC)
        return artefact_evidence(
            incident_id, self.run_dir, self.artefacts, captured_at=when, run_id=self.run_dir.name
        )


def run_postmortem(
    run_dir: str | Path,
    *,
    parameters: Mapping[str, Any],
    notebooks_dir: str | Path = "notebooks",
    formats: Sequence[str] = ("html", "md"),
    strict: bool = False,
    kernel_name: str = "python3",
    cell_timeout: float | None = None,
    **render_options: Any,
) -> PostmortemRun:
    """Execute ``postmortem.ipynb`` into a run folder and render it.

    Parameters
    ----------
    run_dir : str or Path
        The run folder (``reports/<incident>/<run id>/``); the executed notebook and the reports go there.
    parameters : mapping
        Parameters of ``postmortem.ipynb`` (``incident_id``, ``register_url``...; ``run_dir`` is set
        to this run folder when the notebook declares it and it is not given). Unknown ones are refused.
    notebooks_dir : str or Path
        Where ``postmortem.ipynb`` is.
    formats : sequence of {"html", "md", "pdf"}
        Reports to render.
    strict : bool
        Refuse to render when the blameless check flags anything (the executed notebook is kept).
    kernel_name : str
        Jupyter kernel.
    cell_timeout : float or None
        Seconds a cell may run.
    **render_options
        Passed to :func:`workbench.render.render_report`.

    Returns
    -------
    PostmortemRun
        Including one artefact row (path, kind, sha256) per file written, for the caller to record as
        evidence.
    """
    folder = Path(run_dir)
    if not folder.is_dir():
        raise WorkbenchError(f"run_dir must be an existing run folder. Got {folder} instead.")
    source = Path(notebooks_dir) / "postmortem.ipynb"
    declared = check_parameters(source, parameters)
    values = dict(parameters)
    if "run_dir" in declared and "run_dir" not in values:
        values["run_dir"] = str(folder.resolve())
    output = folder / "postmortem.ipynb"
    started = time.perf_counter()
    try:
        papermill.execute_notebook(
            str(source.resolve()),
            str(output.resolve()),
            parameters=values,
            kernel_name=kernel_name,
            log_output=False,
            progress_bar=False,
            execution_timeout=cell_timeout,
            extra_arguments=list(KERNEL_ARGUMENTS),
            resources={"metadata": {"path": str(folder.resolve())}},  # not papermill's cwd (process chdir)
        )
    except papermill.PapermillExecutionError as exc:
        evalue = str(exc.evalue).strip().splitlines()[0] if str(exc.evalue).strip() else ""
        raise WorkbenchError(
            f"notebook postmortem.ipynb failed (In [{exc.exec_count}]): {exc.ename}: {evalue}. "
            f"The executed copy with the error is kept at {output}"
        ) from exc
    executed_s = time.perf_counter() - started
    reports = render_report(output, folder, formats=formats, strict=strict, **render_options)  # type: ignore[arg-type]
    rendered_s = time.perf_counter() - started - executed_s
    written = [output, *(report.path for report in reports.values())]
    kinds = {
        ".ipynb": "executed_notebook",
        ".html": "report_html",
        ".md": "report_markdown",
        ".pdf": "report_pdf",
    }
    artefacts = [
        {
            "path": path.relative_to(folder).as_posix(),
            "kind": kinds.get(path.suffix, "artefact"),
            "bytes": path.stat().st_size,
            "sha256": sha256_file(path),
        }
        for path in written
    ]
    _record_in_manifest(folder, values, artefacts, {"execute": executed_s, "render": rendered_s})
    return PostmortemRun(run_dir=folder, notebook=output, reports=reports, artefacts=artefacts)


def _record_in_manifest(
    folder: Path,
    parameters: Mapping[str, Any],
    artefacts: list[dict[str, Any]],
    durations: Mapping[str, float],
) -> None:
    """Add the post-mortem's parameters, timings and artefact hashes to the run's ``manifest.json``."""
    path = folder / "manifest.json"
    if not path.is_file():
        return
    manifest = json.loads(path.read_text(encoding="utf-8"))
    manifest["postmortem"] = {
        "rendered_at": datetime.now(UTC).isoformat(),
        "parameters": json.loads(json.dumps(dict(parameters), default=str)),
        "durations": {name: round(seconds, 6) for name, seconds in durations.items()},
        "artefacts": artefacts,
    }
    path.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
