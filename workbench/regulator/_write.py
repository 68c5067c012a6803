"""Write a draft as Markdown, self-contained HTML and JSON; link it to its notification; keep it as evidence.

``workbench report regulator`` calls :func:`write_regulator_draft`: it gathers the inputs, builds the
draft, finds (or, for an applicable regime, records) the register notification the report belongs to --
so each draft sits in its chain initial -> follow-up -> final -- renders the three files from the one
draft object, and records every file as evidence (kind ``regulator_draft``, with its sha256).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from register import open_register
from register.policy import Policy, load_policy
from register.schema import Evidence, Notification, ReportType, as_utc
from workbench.errors import WorkbenchError
from workbench.regulator._chain import draft_evidence_kind, report_sequence
from workbench.regulator._draft import build_draft, draft_folder
from workbench.regulator._inputs import gather_inputs, run_folder
from workbench.regulator._model import RegulatorDraft

__all__ = [
    "EXPORT_KINDS",
    "FORMATS",
    "DraftFiles",
    "render_draft",
    "write_public_export",
    "write_regulator_draft",
]

EXPORT_KINDS: tuple[str, ...] = ("aiid", "avid")
"""Public-database exports written as JSON alone (``--regime aiid`` / ``--regime avid``)."""

FORMATS: tuple[str, ...] = ("md", "html", "json")
"""Formats of a draft."""


@dataclass(frozen=True)
class DraftFiles:
    """A written draft: the draft object, its files by format, and the notification it belongs to."""

    draft: RegulatorDraft
    paths: dict[str, Path]
    notification_id: str | None
    notification_created: bool


def render_draft(
    draft: RegulatorDraft, folder: str | Path, formats: Sequence[str] = FORMATS
) -> dict[str, Path]:
    """Write ``draft.md``, ``draft.html`` and ``draft.json`` of one draft into ``folder``.

    The HTML is self-contained (inline style, no script, no external resource) and autoescaped; the
    Markdown escapes every value; the JSON is :meth:`RegulatorDraft.to_json`.
    """
    from workbench.report._filters import html_env, markdown_env
    from workbench.resources import templates_dir

    unknown = sorted(set(formats) - set(FORMATS))
    if unknown or not formats:
        raise WorkbenchError(
            f"--format must list md, html and/or json. Got {', '.join(formats) or 'nothing'} instead."
        )
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    templates = str(templates_dir() / "regulator")
    paths: dict[str, Path] = {}
    if "md" in formats:
        text = markdown_env(templates).get_template("draft.md.j2").render(draft=draft)
        paths["md"] = _write(out / "draft.md", text)
    if "html" in formats:
        text = html_env(templates).get_template("draft.html.j2").render(draft=draft)
        paths["html"] = _write(out / "draft.html", text)
    if "json" in formats:
        paths["json"] = _write(
            out / "draft.json", json.dumps(draft.to_json(), indent=2, ensure_ascii=False) + "\n"
        )
    return paths


def _json(data: object) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path.resolve()


def write_regulator_draft(
    register_url: str,
    incident_id: str,
    *,
    regime: str,
    report_type: str = "initial",
    reports_dir: str | Path = "reports",
    run_id: str | None = None,
    out: str | Path | None = None,
    as_of: datetime | None = None,
    formats: Sequence[str] = FORMATS,
    policy: Policy | None = None,
    record: bool = True,
    strict: bool = False,
    by: str = "workbench report regulator",
) -> DraftFiles:
    """Draft one report of an incident under a regime, write it, and record it in the register.

    Parameters
    ----------
    register_url : str
        Register file path or database URL.
    incident_id : str
        The incident (unknown: the register's ``NotFoundError``, before anything is written).
    regime : {"eu_ai_act_art73", "gdpr_art33", "oecd"}
        The template.
    report_type : str
        ``initial``, ``follow-up``, ``combined`` or ``final``.
    reports_dir : str or Path
        Root of the run folders: the incident's latest (or ``run_id``) run is read, and the draft goes to
        ``<reports_dir>/<incident>/regulator/<regime>/<report type>/`` unless ``out`` is given.
    run_id : str or None
        The run whose summaries fill the draft (default: the latest; none: register facts only).
    out : str or Path or None
        Folder for the files (default: see ``reports_dir``).
    as_of : datetime or None
        The date the draft speaks of and judges deadlines at (default: now).
    formats : sequence of {"md", "html", "json"}
    policy : Policy or None
        Default: the shipped policy.
    record : bool
        Record the files as evidence and link the notification (default). ``False`` writes only.
    strict : bool
        Refuse (write and record nothing) when the blameless check flags the draft's narrative.
    by : str
        Author recorded in the register's history.

    Returns
    -------
    DraftFiles
    """
    policy = policy if policy is not None else load_policy()
    when = as_utc(as_of) if as_of is not None else datetime.now(UTC)
    with open_register(register_url) as register:
        register.get_incident(incident_id)  # unknown incident: NotFoundError before any folder is made
        run = run_folder(reports_dir, incident_id, run_id)
        inputs = gather_inputs(register, incident_id, policy=policy, as_of=when, run_dir=run)
        draft = build_draft(inputs, regime, report_type)
        if strict and draft.blameless_flags:
            flags = "; ".join(
                f'{flag["field"]}: "{flag["phrase"]}" -> {flag["suggestion"]}'
                for flag in draft.blameless_flags
            )
            raise WorkbenchError(
                "--strict: the draft's narrative must pass the blameless check. Got "
                f"{len(draft.blameless_flags)} flag(s) instead: {flags}. Rephrase the register's text, or "
                "draft without --strict."
            )
        created = False
        notification_id = draft.notification_id
        applicable = draft.deadline is not None and draft.deadline.applicable
        if record and draft.regime is not None and notification_id is None and applicable:
            notification = register.add_notification(
                Notification(
                    incident_id=incident_id,
                    audience=policy.regime(draft.regime).audience,
                    regime=draft.regime,
                    report_type=ReportType(draft.report_type),
                    due_at=draft.deadline.due_at if draft.deadline is not None else None,
                    reference=draft.reference,
                ),
                by=by,
            )
            notification_id, created = notification.id, True
            draft = draft.model_copy(update={"notification_id": notification_id})
        sequence = 1 if draft.regime is None else report_sequence(inputs, draft.regime, draft.report_type)
        folder = (
            Path(out)
            if out is not None
            else Path(reports_dir) / incident_id / draft_folder(regime, draft.report_type, sequence)
        )
        paths = render_draft(draft, folder, formats)
        if regime == "oecd":
            from workbench.regulator._public import oecd_export, validate_export

            criteria = oecd_export(inputs)
            validate_export("oecd", criteria)
            paths["oecd_json"] = _write(folder / "oecd_criteria.json", _json(criteria))
        if record:
            from workbench.runner import sha256_file

            for path in paths.values():
                register.add_evidence(
                    Evidence(
                        incident_id=incident_id,
                        kind=draft_evidence_kind(regime, draft.report_type, sequence),
                        uri=str(path),
                        sha256=sha256_file(path),
                        captured_at=datetime.now(UTC),
                        run_id=inputs.run_id,
                    ),
                    by=by,
                )
    return DraftFiles(draft=draft, paths=paths, notification_id=notification_id, notification_created=created)


def write_public_export(
    register_url: str,
    incident_id: str,
    *,
    kind: str,
    reports_dir: str | Path = "reports",
    run_id: str | None = None,
    out: str | Path | None = None,
    as_of: datetime | None = None,
    policy: Policy | None = None,
    record: bool = True,
    by: str = "workbench report regulator",
) -> Path:
    """Write an incident's AIID submission or AVID report (JSON, schema-validated) and keep it as evidence.

    Parameters are those of :func:`write_regulator_draft`; ``kind`` is ``aiid`` or ``avid``. The file
    goes to ``<reports_dir>/<incident>/regulator/<kind>/<kind>.json`` unless ``out`` is given.

    Returns
    -------
    Path
        The JSON file written.
    """
    from workbench.regulator._public import aiid_submission, avid_report, validate_export

    if kind not in EXPORT_KINDS:
        raise WorkbenchError(f"kind must be one of {', '.join(EXPORT_KINDS)}. Got {kind!r} instead.")
    policy = policy if policy is not None else load_policy()
    when = as_utc(as_of) if as_of is not None else datetime.now(UTC)
    with open_register(register_url) as register:
        register.get_incident(incident_id)
        run = run_folder(reports_dir, incident_id, run_id)
        inputs = gather_inputs(register, incident_id, policy=policy, as_of=when, run_dir=run)
        data = aiid_submission(inputs) if kind == "aiid" else avid_report(inputs)
        validate_export(kind, data)  # type: ignore[arg-type]  # kind checked above
        folder = Path(out) if out is not None else Path(reports_dir) / incident_id / "regulator" / kind
        folder.mkdir(parents=True, exist_ok=True)
        path = _write(folder / f"{kind}.json", _json(data))
        if record:
            from workbench.runner import sha256_file

            register.add_evidence(
                Evidence(
                    incident_id=incident_id,
                    kind=f"public_export:{kind}",
                    uri=str(path),
                    sha256=sha256_file(path),
                    captured_at=datetime.now(UTC),
                    run_id=inputs.run_id,
                ),
                by=by,
            )
    return path
