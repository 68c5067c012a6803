"""``workbench investigate``: look an incident up, check its data, run the section notebooks, keep evidence.

The register gives the incident and its AI system's data card; the windows are derived from the incident's
timestamps (each overridable); the prediction logs are checked against the data card *before* any notebook
runs, so a data problem is one clear error rather than a failed notebook; then the declared sections run
under papermill into ``reports/<incident>/<run id>/`` and every artefact is recorded in the register as
evidence, with a timeline event noting the run.
"""

from __future__ import annotations

import glob
import hashlib
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from analysis.data import open_logs, validate_logs
from analysis.investigation import AnalysisParameters
from register import open_register
from register.errors import NotFoundError
from register.schema import DataCard, Incident
from workbench.errors import WorkbenchError
from workbench.resources import notebooks_dir
from workbench.runner import RunHooks, RunResult, run_sections
from workbench.sections import SECTIONS

__all__ = [
    "NOTEBOOKS_DIR",
    "Investigation",
    "absolute_register_url",
    "data_fingerprint",
    "investigate",
    "prepare_investigation",
]

NOTEBOOKS_DIR = notebooks_dir()
"""The project's notebooks (the repository's ``notebooks/`` folder)."""

_SECTION_DEFAULTS: dict[str, dict[str, Any]] = {
    "impact": {"min_cell_size": None},  # None: the policy's minimum cell size
    "drift": {"sample_size": 10_000, "random_state": 0},
}


def absolute_register_url(register_url: str) -> str:
    """Return the register as the notebooks must see it.

    The notebooks run inside the run folder, so a relative SQLite path becomes absolute; URLs are left as
    they are.

    Examples
    --------
    >>> absolute_register_url("postgresql+psycopg://db/register")
    'postgresql+psycopg://db/register'
    >>> os.path.isabs(absolute_register_url("register.sqlite"))
    True
    """
    if "://" in register_url:
        return register_url
    return os.path.abspath(register_url)


@dataclass(frozen=True)
class Investigation:
    """Everything looked up and checked before the notebooks run."""

    incident: Incident
    card: DataCard
    parameters: AnalysisParameters
    fingerprint: dict[str, Any]


def data_fingerprint(card: DataCard, log: Any, windows: Any) -> dict[str, Any]:
    """Row counts per window and a hash of the input files (or of the query for a database source).

    Parameters
    ----------
    card : DataCard
        The data card (its location names the inputs).
    log : analysis.data.LogTable
        The opened log.
    windows : analysis.data.IncidentWindows
        The analysis windows.

    Returns
    -------
    dict
        ``source``, ``backend``, ``files`` (count), ``bytes``, ``sha256`` (of the files' contents in path
        order, or of the query's SQL), ``rows`` per window.
    """
    table = log.table
    event_time = table[card.columns.event_time]
    rows = {
        window.name: int(table.filter(window.contains(event_time)).count().execute()) for window in windows
    }
    digest = hashlib.sha256()
    location = card.source.location
    files: list[str] = []
    if card.source.format in ("parquet", "csv"):
        pattern = location
        if os.path.isdir(location):
            pattern = os.path.join(location, "**", f"*.{card.source.format}")
        files = sorted(glob.glob(pattern, recursive=True)) if any(c in pattern for c in "*?[") else [pattern]
    elif card.source.format == "duckdb":
        files = [location]
    total_bytes = 0
    if files:
        for path in files:
            digest.update(os.path.relpath(path, os.path.dirname(files[0])).encode())
            with open(path, "rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
                    total_bytes += len(block)
        hashed = "file contents"
    else:
        digest.update(str(table.compile()).encode())
        hashed = "query"
    return {
        "source": location,
        "table": card.source.table,
        "backend": log.backend,
        "files": len(files),
        "bytes": total_bytes,
        "sha256": digest.hexdigest(),
        "hashed": hashed,
        "rows": rows,
    }


def prepare_investigation(
    register_url: str,
    incident_id: str,
    *,
    as_of: datetime,
    windows: Mapping[str, tuple[datetime, datetime]] | None = None,
    chunk: str = "day",
) -> Investigation:
    """Look the incident and its data card up, derive the windows and check the data against the card.

    Raises
    ------
    register.errors.NotFoundError
        Unknown incident, an incident without an AI system, or a system without a data card.
    analysis.errors.DataValidationError
        The logs do not match the data card (every problem listed).
    """
    overrides: dict[str, Any] = {}
    for name, (start, end) in (windows or {}).items():
        overrides[f"{name}_start"], overrides[f"{name}_end"] = start, end
    parameters = AnalysisParameters.parse(
        incident_id=incident_id, register_url=register_url, as_of=as_of, chunk=chunk, **overrides
    )
    with open_register(register_url) as register:
        incident = register.get_incident(incident_id)
        if not incident.system_id:
            raise NotFoundError(
                f"incident {incident_id} names no AI system, so there are no prediction logs to analyse; "
                f"set it with `workbench register update {incident_id} --set system_id=...`."
            )
        card = register.get_data_card(incident.system_id)
    analysis_windows = parameters.windows_for(incident)
    log = open_logs(card)
    signal = incident.failure_signal or card.failure_signal
    validate_logs(log, card, windows=analysis_windows, signal=signal, as_of=parameters.as_of_time())
    return Investigation(
        incident=incident,
        card=card,
        parameters=parameters,
        fingerprint=data_fingerprint(card, log, analysis_windows),
    )


def investigate(
    register_url: str,
    incident_id: str,
    *,
    as_of: datetime,
    reports_dir: str | Path = "reports",
    windows: Mapping[str, tuple[datetime, datetime]] | None = None,
    chunk: str = "day",
    sections: Sequence[str] | None = None,
    min_cell_size: int | None = None,
    notebooks_dir: str | Path = NOTEBOOKS_DIR,
    max_workers: int | None = None,
    on_notebook_start: Callable[[str], None] | None = None,
    on_notebook_done: Callable[[Any], None] | None = None,
    by: str = "workbench investigate",
) -> RunResult:
    """Run the declared analysis sections for an incident and record the run in the register.

    Parameters
    ----------
    register_url : str
        Register file path or database URL.
    incident_id : str
        The incident (``INC-YYYY-NNNN``).
    as_of : datetime
        The time the analyses run as of (labels observed by then).
    reports_dir : str or Path
        Root of the run folders.
    windows : mapping, optional
        Explicit ``reference``/``incident``/``recent`` windows as ``(start, end)``.
    chunk : str
        Time chunk of the series.
    sections : sequence of str, optional
        Section keys to run (default: every declared section).
    min_cell_size : int, optional
        Groups smaller than this are suppressed (default: the policy's).
    notebooks_dir : str or Path
        Where the section notebooks are.
    max_workers : int, optional
        Notebooks run in parallel (default: the machine's cores).
    on_notebook_start, on_notebook_done : callable, optional
        Progress callbacks.
    by : str
        Who the register records as the author of the evidence.

    Returns
    -------
    workbench.runner.RunResult
    """
    from register.policy import load_policy

    register_url = absolute_register_url(register_url)
    prepared = prepare_investigation(register_url, incident_id, as_of=as_of, windows=windows, chunk=chunk)
    keys = list(sections) if sections else [section.key for section in SECTIONS]
    unknown = sorted(set(keys) - {section.key for section in SECTIONS})
    if unknown:
        known = ", ".join(section.key for section in SECTIONS)
        raise WorkbenchError(f"--section must be among {known}. Got {', '.join(unknown)} instead.")
    cell_size = min_cell_size if min_cell_size is not None else load_policy().reports.min_cell_size
    common = {
        key: value.isoformat() if isinstance(value, datetime) else value
        for key, value in prepared.parameters.model_dump(
            include={
                "incident_id",
                "register_url",
                "as_of",
                "reference_start",
                "reference_end",
                "incident_start",
                "incident_end",
                "recent_start",
                "recent_end",
                "chunk",
            }
        ).items()
    }
    common["as_of"] = prepared.parameters.as_of_time().isoformat()
    parameters: dict[str, dict[str, Any]] = {}
    for key in keys:
        extra = dict(_SECTION_DEFAULTS.get(key, {}))
        if "min_cell_size" in extra:
            extra["min_cell_size"] = cell_size
        parameters[key] = {**common, **extra}
    with open_register(register_url) as register:
        hooks = RunHooks(
            on_notebook_start=on_notebook_start,
            on_notebook_done=on_notebook_done,
            record_evidence=lambda evidence: register.add_evidence(evidence, by=by),
            record_timeline_event=lambda event: register.add_timeline_event(event, by=by),
        )
        return run_sections(
            incident_id,
            parameters,
            reports_dir=reports_dir,
            notebooks_dir=notebooks_dir,
            sections=keys,
            max_workers=max_workers,
            data_fingerprint=prepared.fingerprint,
            hooks=hooks,
        )
