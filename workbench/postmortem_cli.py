"""``workbench postmortem``: render the post-mortem of a run and record it in the register."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path

from register import Register, open_register
from register.policy import load_policy
from workbench.errors import WorkbenchError
from workbench.report import run_postmortem
from workbench.runner import (
    checked_incident_id,
    checked_reports_dir,
    checked_run_id,
    latest_run,
    new_run_id,
)

__all__ = ["render_postmortem"]


def render_postmortem(
    register_url: str,
    incident_id: str,
    *,
    reports_dir: str | Path = "reports",
    run_id: str | None = None,
    run_dir: str | Path | None = None,
    formats: Sequence[str] = ("html", "md"),
    strict: bool = False,
    as_of: datetime | None = None,
    on_flag: Callable[[str], None] | None = None,
    by: str = "workbench postmortem",
) -> dict[str, Path]:
    """Render the post-mortem of an incident's run (latest, or named) and record it as evidence.

    Parameters
    ----------
    register_url : str
        Register file path or database URL.
    incident_id : str
        The incident.
    reports_dir : str or Path
        Root of the run folders (relative: from the working directory).
    run_id : str, optional
        The run to render (default: the latest; when the incident has no run, a new run folder whose
        analysis sections say they have not run).
    run_dir : str or Path, optional
        The run folder itself (overrides ``reports_dir``/``run_id``).
    formats : sequence of {"html", "md", "pdf"}
        Reports to write.
    strict : bool
        Fail when the blameless check flags narrative phrasing.
    as_of : datetime, optional
        Judge SLAs and deadlines as of this time (default: the run's ``as_of``, else now).
    on_flag : callable, optional
        Receives one line per blameless-language flag, for the facilitator.
    by : str
        Author recorded with the evidence.

    Returns
    -------
    dict
        Format -> absolute path of the report written.
    """
    with open_register(register_url) as register:
        register.get_incident(incident_id)  # unknown incident: NotFoundError before any folder is made
        recorded = _recorded_runs(register, incident_id) if run_id is None and run_dir is None else []
        folder = _run_folder(
            reports_dir, incident_id, run_id=run_id, run_dir=run_dir, recorded_runs=recorded
        )
        if as_of is None:
            as_of = _run_as_of(folder)
        result = run_postmortem(
            folder, register, incident_id, policy=load_policy(), as_of=as_of, formats=formats, strict=strict
        )
        if on_flag is not None:
            for flag in sorted(result.content.flags, key=lambda flag: (str(flag.field), flag.phrase)):
                on_flag(f'{flag.field}: "{flag.phrase}" -> {flag.suggestion}')
        for evidence in result.evidence(incident_id):
            register.add_evidence(evidence, by=by)
    return {fmt: result.run_dir / report.path.name for fmt, report in result.reports.items()}


def _recorded_runs(register: Register, incident_id: str) -> list[Path]:
    """Run folders the register's evidence records for the incident (manifests), newest first."""
    manifests = [item for item in register.evidence(incident_id) if item.kind == "run_manifest"]
    manifests.sort(key=lambda item: item.captured_at, reverse=True)
    return [Path(item.uri).parent for item in manifests]


def _run_folder(
    reports_dir: str | Path,
    incident_id: str,
    *,
    run_id: str | None,
    run_dir: str | Path | None,
    recorded_runs: Sequence[Path] = (),
) -> Path:
    """The run folder to report on: given, named, the latest in ``reports_dir``, or recorded.

    When ``reports_dir`` holds no run (e.g. the command runs from another folder), the latest run the
    register's evidence records is used; a new folder only when no analysis has run.
    """
    root = checked_reports_dir(reports_dir)
    if run_dir is not None:
        folder = Path(run_dir)
    elif run_id is not None:
        # a run id is a name, never a path: nothing is written outside --reports-dir
        folder = root / checked_incident_id(incident_id) / checked_run_id(run_id, option="--run")
        if not folder.is_dir():
            raise WorkbenchError(
                f"--run must name a run of {incident_id} in {Path(reports_dir) / incident_id}. "
                f"Got {run_id!r}, which does not exist."
            )
    else:
        try:
            folder = latest_run(root, incident_id)
        except WorkbenchError:
            existing = [path for path in recorded_runs if (path / "manifest.json").is_file()]
            if existing:
                return existing[0]
            if recorded_runs:
                raise WorkbenchError(
                    f"incident {incident_id} has no run in {root.resolve() / incident_id}, and the runs the "
                    f"register records are not on this machine ({recorded_runs[0]}); give --reports-dir "
                    "(the folder `workbench investigate` wrote into) or --run."
                ) from None
            # No analysis has run (e.g. a system without prediction logs): the post-mortem is still owed.
            # It gets a run folder of its own, and its analysis sections say they have not run.
            folder = root / checked_incident_id(incident_id) / new_run_id()
            folder.mkdir(parents=True)
    return folder


def _run_as_of(folder: Path) -> datetime | None:
    """The ``as_of`` the run's analyses used (from its manifest), so the report judges the same time."""
    manifest = folder / "manifest.json"
    if not manifest.is_file():
        return None
    data = json.loads(manifest.read_text(encoding="utf-8"))
    recorded = (data.get("context") or {}).get("as_of")
    if recorded:
        return datetime.fromisoformat(str(recorded).replace("Z", "+00:00"))
    for parameters in (data.get("parameters") or {}).values():
        if isinstance(parameters, dict) and parameters.get("as_of"):
            return datetime.fromisoformat(str(parameters["as_of"]).replace("Z", "+00:00"))
    return None
