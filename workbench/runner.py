"""Execute the analysis notebooks with papermill into a run folder, with a manifest as evidence.

A run writes ``<reports_dir>/<incident id>/<run id>/``::

    manifest.json                 parameters, data fingerprint, package versions, git commit, timings,
                                  sha256 of every artefact
    <section>/<section>.ipynb     the executed notebook (kept when it fails, with the error in it)
    <section>/summary.json        the section's numbers, validated against its schema
    <section>/figures/<id>.json   the promised plotly figures

Each section notebook runs with its kernel's working directory set to ``<run>/<section>/`` (given to
nbclient, not through papermill's ``cwd``, which changes the whole process's directory and races
between threads). Parameters are checked
against the notebook's ``parameters`` cell before anything runs: an unknown parameter is an error, not a
warning. Notebooks run in parallel (threads, each driving its own kernel process) up to the machine's
cores. Recording artefacts as evidence in the register and noting the run on the incident's timeline are
done by the caller through :class:`RunHooks`, so this module needs no register connection.

Examples
--------
>>> run_id = new_run_id()
>>> len(run_id.split("-")[-1])
6
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import re
import secrets
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import nbformat
import papermill
from jupyter_client.manager import AsyncKernelManager
from papermill.exceptions import PapermillExecutionError

from analysis.contract import Section, SectionSummary, SummaryValidationError
from register.schema import INCIDENT_ID_PATTERN, Evidence, TimelineEvent, TimelineEventKind
from workbench.errors import WorkbenchError

if TYPE_CHECKING:
    from analysis.context import InvestigationContext

__all__ = [
    "KERNEL_ARGUMENTS",
    "MANDATED_PACKAGES",
    "NotebookExecutionError",
    "NotebookJob",
    "NotebookOutcome",
    "RunHooks",
    "RunResult",
    "UnknownParameterError",
    "artefact_evidence",
    "artefact_kind",
    "artefact_row",
    "check_parameters",
    "check_section_notebook",
    "checked_incident_id",
    "checked_reports_dir",
    "checked_run_id",
    "execute_notebooks",
    "inspect_parameters",
    "latest_run",
    "new_run_id",
    "package_versions",
    "run_sections",
    "sha256_file",
]

MANDATED_PACKAGES: tuple[str, ...] = (
    "ai-incident-workbench",
    "pandas",
    "numpy",
    "scipy",
    "scikit-learn",
    "fairlearn",
    "ibis-framework",
    "sqlglot",
    "duckdb",
    "pyarrow",
    "sqlalchemy",
    "alembic",
    "pydantic",
    "papermill",
    "nbclient",
    "nbformat",
    "nbconvert",
    "ipykernel",
    "plotly",
    "jinja2",
    "typer",
    "rich",
    "pyyaml",
)
"""Packages whose versions every manifest records."""

MANIFEST_VERSION = 2
TRENDS_FOLDER = "trends"
"""The run folder of cross-incident runs (``reports/trends/<run id>/``): not an incident id."""
SECTION_NOTEBOOK_PARAMETERS: tuple[str, ...] = ("context_path", "incident_id", "register_url")
"""Parameters every section notebook declares: the run's context file, or an incident for stand-alone use."""
_RUN_ID_PATTERN = re.compile(r"^\d{8}T\d{9}Z-[0-9a-f]{6}$")


KERNEL_ARGUMENTS: tuple[str, ...] = ("--IPKernelApp.log_level=CRITICAL",)
"""Arguments of every kernel the workbench starts. The kernel's own log goes to the user's terminal, and
ipykernel warns there on each start that a local kernel talks over TCP without encryption (the kernel and
the runner share this machine). Errors raised in cells are outputs of the executed notebook, not kernel log
lines: they are kept there and reported by the runner. The "ERROR | KeyboardInterrupt caught in kernel"
once seen in `make demo` is not hidden by this level but prevented at its cause
(:class:`_GracefulKernelManager`)."""


class _GracefulKernelManager(AsyncKernelManager):
    """jupyter_client's kernel manager, shutting a kernel down without first interrupting it.

    ``KernelManager.shutdown_kernel`` (jupyter_client 8) sends SIGINT to the kernel's process group before
    its shutdown request, to stop code still running. After a notebook has finished the kernel runs no
    cell, but the signal can still land while ipykernel handles a shell message, whose SIGINT handler
    raises ``KeyboardInterrupt`` there: ipykernel logs "ERROR | KeyboardInterrupt caught in kernel." on the
    terminal (1 to 2 kernels in 8, measured with two notebooks in parallel; none in 32 with this class).
    The kernel is then shut down by its shutdown request alone. A cell still running (after a cell
    timeout) keeps running until jupyter_client's shutdown wait ends and it kills the kernel, a few
    seconds later. Explicit interrupts (``interrupt_kernel``) are unchanged.
    """

    async def _async_interrupt_kernel(self) -> None:
        if self.shutting_down:
            return
        await super()._async_interrupt_kernel()


class UnknownParameterError(WorkbenchError, ValueError):
    """Parameters passed to a notebook that its ``parameters`` cell does not declare."""

    def __init__(self, message: str, failures: list[dict[str, object]] | None = None) -> None:
        super().__init__(message)
        self.failures = list(failures or [])


class NotebookExecutionError(WorkbenchError):
    """A notebook that raised while executing; its executed copy is kept at :attr:`output_path`.

    ``cell_index`` is the failing cell's position in the executed copy, ``input_cell_index`` its
    position in the input notebook (0-based), ``cell_id`` its id, ``ename``/``evalue`` the exception.
    """

    def __init__(
        self,
        message: str,
        *,
        notebook: str,
        output_path: Path,
        cell_index: int | None = None,
        input_cell_index: int | None = None,
        cell_id: str | None = None,
        execution_count: int | None = None,
        ename: str | None = None,
        evalue: str | None = None,
        run_dir: Path | None = None,
    ) -> None:
        super().__init__(message)
        self.notebook = notebook
        self.output_path = output_path
        self.cell_index = cell_index
        self.input_cell_index = input_cell_index
        self.cell_id = cell_id
        self.execution_count = execution_count
        self.ename = ename
        self.evalue = evalue
        self.run_dir = run_dir


@dataclass(frozen=True)
class NotebookJob:
    """One notebook to execute.

    Parameters
    ----------
    key : str
        Name of the job and of its sub-folder in the run (the section key for sections).
    notebook : Path
        The input notebook (committed without outputs).
    parameters : mapping
        Values injected by papermill; each must be declared in the notebook's ``parameters`` cell.
    section : Section or None
        The declared section, when the notebook is one: its summary and figures are then checked.
    """

    key: str
    notebook: Path
    parameters: Mapping[str, Any] = field(default_factory=dict)
    section: Section | None = None


@dataclass(frozen=True)
class NotebookOutcome:
    """What one notebook produced."""

    key: str
    input_path: Path
    output_path: Path
    workdir: Path
    status: Literal["succeeded", "failed"]
    duration_s: float
    summary: dict[str, Any] | None = None
    error: str | None = None
    exception: Exception | None = field(default=None, repr=False, compare=False)
    typed_summary: SectionSummary | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class RunResult:
    """The outcome of a run: where it is, what each notebook produced, and the manifest written."""

    incident_id: str
    run_id: str
    run_dir: Path
    manifest_path: Path
    manifest: dict[str, Any]
    outcomes: dict[str, NotebookOutcome]

    @property
    def summaries(self) -> dict[str, dict[str, Any]]:
        """Validated ``summary.json`` per section key."""
        return {key: outcome.summary for key, outcome in self.outcomes.items() if outcome.summary is not None}

    @property
    def typed_summaries(self) -> dict[str, SectionSummary]:
        """Each section's summary as its typed model (validated once, when the run checked its outputs)."""
        return {
            key: outcome.typed_summary
            for key, outcome in self.outcomes.items()
            if outcome.typed_summary is not None
        }

    def evidence(self, *, captured_at: datetime | None = None) -> list[Evidence]:
        """One register :class:`~register.schema.Evidence` record per artefact, plus the manifest."""
        when = captured_at or datetime.fromisoformat(self.manifest["finished_at"])
        records = artefact_evidence(
            self.incident_id, self.run_dir, self.manifest["artefacts"], captured_at=when, run_id=self.run_id
        )
        records.append(
            Evidence(
                incident_id=self.incident_id,
                kind="run_manifest",
                uri=str(self.manifest_path.resolve()),
                sha256=sha256_file(self.manifest_path),
                captured_at=when,
                run_id=self.run_id,
            )
        )
        return records

    def timeline_event(self) -> TimelineEvent:
        """A timeline event noting the run (kind ``evidence``)."""
        keys = ", ".join(self.outcomes)
        return TimelineEvent(
            incident_id=self.incident_id,
            at=datetime.fromisoformat(self.manifest["finished_at"]),
            kind=TimelineEventKind.EVIDENCE,
            description=f"Analysis run {self.run_id} ({keys}) {self.manifest['status']}; "
            f"{len(self.manifest['artefacts'])} artefacts kept as evidence.",
            source_link=str(self.run_dir),
        )


@dataclass(frozen=True)
class RunHooks:
    """Callbacks the caller passes to see progress and to record the run in the register.

    Every hook is optional. ``record_evidence`` receives one :class:`~register.schema.Evidence` per
    artefact and one for the manifest (the CLI passes the register's ``add_evidence``);
    ``record_timeline_event`` receives one :class:`~register.schema.TimelineEvent` noting the run. Both are
    called for failed runs too, before the error is raised: a failed run is evidence as well.
    """

    on_notebook_start: Callable[[str], None] | None = None
    on_notebook_done: Callable[[NotebookOutcome], None] | None = None
    on_stage: Callable[[str, float], None] | None = None
    record_evidence: Callable[[Evidence], object] | None = None
    record_timeline_event: Callable[[TimelineEvent], object] | None = None


# --------------------------------------------------------------------------------------------------
# Small public helpers
# --------------------------------------------------------------------------------------------------


def new_run_id(*, now: datetime | None = None) -> str:
    """A sortable run id: UTC timestamp to the millisecond and 6 random hex characters.

    Parameters
    ----------
    now : datetime or None
        The time to stamp (default: now, UTC).

    Returns
    -------
    str

    Examples
    --------
    >>> new_run_id(now=datetime(2026, 11, 23, 16, 5, 1, 250000, tzinfo=UTC))[:19]
    '20261123T160501250Z'
    """
    stamp = (now or datetime.now(UTC)).astimezone(UTC)
    return f"{stamp:%Y%m%dT%H%M%S}{stamp.microsecond // 1000:03d}Z-{secrets.token_hex(3)}"


def sha256_file(path: str | Path) -> str:
    """Hex sha256 of a file's bytes.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "a.txt"
    >>> _ = path.write_bytes(b"abc")
    >>> sha256_file(path)[:12]
    'ba7816bf8f01'
    """
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def artefact_evidence(
    incident_id: str,
    run_dir: Path,
    artefacts: Sequence[Mapping[str, Any]],
    *,
    captured_at: datetime,
    run_id: str,
) -> list[Evidence]:
    """One register :class:`~register.schema.Evidence` record per artefact row of a run.

    Parameters
    ----------
    incident_id : str
        The incident the run belongs to.
    run_dir : Path
        The run folder; each row's ``path`` is relative to it.
    artefacts : sequence of mapping
        Rows with ``path``, ``kind`` and ``sha256`` (as in the manifest's ``artefacts``).
    captured_at : datetime
        When the artefacts were captured.
    run_id : str
        The run id recorded with each record.

    Returns
    -------
    list of Evidence

    Examples
    --------
    >>> rows = [{"path": "impact/impact.ipynb", "kind": "executed_notebook", "sha256": "0" * 64}]
    >>> records = artefact_evidence("INC-2026-0001", Path("run"), rows,
    ...                             captured_at=datetime(2026, 11, 23, tzinfo=UTC), run_id="run")
    >>> records[0].kind, Path(records[0].uri).as_posix().endswith("/run/impact/impact.ipynb")
    ('executed_notebook', True)
    """
    return [
        Evidence(
            incident_id=incident_id,
            kind=artefact["kind"],
            uri=str((run_dir / artefact["path"]).resolve()),
            sha256=artefact["sha256"],
            captured_at=captured_at,
            run_id=run_id,
        )
        for artefact in artefacts
    ]


def package_versions(packages: Sequence[str] = MANDATED_PACKAGES) -> dict[str, str | None]:
    """Installed version of each package (``None`` when it is not installed).

    Examples
    --------
    >>> package_versions(["papermill", "surely-not-installed-xyz"])["surely-not-installed-xyz"] is None
    True
    """
    found: dict[str, str | None] = {}
    for name in packages:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = None
    return found


def inspect_parameters(notebook: str | Path) -> dict[str, dict[str, Any]]:
    """Parameters declared in a notebook's ``parameters`` cell (``papermill.inspect_notebook``).

    Parameters
    ----------
    notebook : str or Path
        The notebook file.

    Returns
    -------
    dict
        Parameter name to ``{name, inferred_type_name, default, help}``; empty when the notebook has no
        cell tagged ``parameters``.

    Raises
    ------
    WorkbenchError
        When the file does not exist or is not a notebook.
    """
    path = Path(notebook)
    if not path.is_file():
        raise WorkbenchError(f"notebook must be an existing .ipynb file. Got {path} instead.")
    try:
        return papermill.inspect_notebook(str(path))
    except Exception as exc:  # papermill raises plain exceptions for unreadable notebooks
        raise WorkbenchError(f"notebook {path} could not be inspected: {exc}") from exc


def check_parameters(notebook: str | Path, parameters: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Refuse parameters that a notebook does not declare.

    Parameters
    ----------
    notebook : str or Path
        The notebook file.
    parameters : mapping
        The values to inject.

    Returns
    -------
    dict
        The declared parameters (as :func:`inspect_parameters`).

    Raises
    ------
    UnknownParameterError
        Naming every undeclared parameter and listing the declared ones.
    """
    declared = inspect_parameters(notebook)
    unknown = sorted(set(parameters) - set(declared))
    unreadable = _unreadable_parameter_lines(notebook, declared)
    hidden = [name for name in unknown if name in unreadable]
    failures: list[dict[str, object]]
    if hidden:
        failures = [
            {
                "notebook": str(notebook),
                "parameter": name,
                "problem": f"papermill cannot parse {unreadable[name]!r}",
            }
            for name in hidden
        ]
        raise UnknownParameterError(
            f"notebook {Path(notebook).name} declares {', '.join(hidden)} on a line papermill cannot parse "
            f"({unreadable[hidden[0]]!r}): papermill reads `name: Optional[str] = None` but not `str | None` "
            "annotations. Rewrite the annotation in the parameters cell.",
            failures,
        )
    if unknown:
        listed = ", ".join(sorted(declared)) or "none (the notebook has no cell tagged 'parameters')"
        failures = [
            {"notebook": str(notebook), "parameter": name, "problem": "not declared in the parameters cell"}
            for name in unknown
        ]
        raise UnknownParameterError(
            f"parameters must be declared by notebook {Path(notebook).name}. Got unknown "
            f"{', '.join(unknown)} instead; it declares: {listed}.",
            failures,
        )
    return declared


_ASSIGNMENT = re.compile(r"^([A-Za-z_]\w*)\s*(?::[^=]*)?=(?!=)")


def _unreadable_parameter_lines(notebook: str | Path, declared: Mapping[str, Any]) -> dict[str, str]:
    """Assignments in the ``parameters`` cell that papermill did not turn into parameters."""
    try:
        node = nbformat.read(str(notebook), as_version=4)
    except Exception:
        return {}
    found: dict[str, str] = {}
    for cell in node.cells:
        if "parameters" not in cell.get("metadata", {}).get("tags", []):
            continue
        for line in cell.get("source", "").splitlines():
            match = _ASSIGNMENT.match(line)
            if match and match.group(1) not in declared:
                found[match.group(1)] = line.strip()
    return found


def check_section_notebook(section: Section, notebooks_dir: str | Path = "notebooks") -> list[str]:
    """Problems of a section notebook against the contract (STYLE.md "Shape of a notebook").

    Checks: the file exists; kernelspec and language metadata are present (papermill refuses a notebook
    without them); a cell is tagged ``parameters`` and declares :data:`SECTION_NOTEBOOK_PARAMETERS`
    (``context_path`` for a run, ``incident_id``/``register_url`` for stand-alone use); the notebook is
    committed without outputs; no cell defines a function or class.

    Parameters
    ----------
    section : Section
        The declared section.
    notebooks_dir : str or Path
        Where the notebooks of built-in sections are.

    Returns
    -------
    list of str
        One sentence per problem; empty when the notebook keeps the contract.
    """
    path = section.notebook_path(notebooks_dir)
    if not path.is_file():
        return [f"{path} does not exist"]
    try:
        notebook = nbformat.read(str(path), as_version=4)
    except Exception as exc:
        return [f"{path} is not a readable notebook: {exc}"]
    problems = []
    kernelspec = notebook.metadata.get("kernelspec", {})
    if not kernelspec.get("name") or not (
        kernelspec.get("language") or notebook.metadata.get("language_info")
    ):
        problems.append(f"{path.name} must carry kernelspec metadata with a language")
    if not any("parameters" in cell.get("metadata", {}).get("tags", []) for cell in notebook.cells):
        problems.append(f"{path.name} must have a cell tagged 'parameters'")
    try:
        declared = set(papermill.inspect_notebook(str(path), parameters={}))
    except Exception:  # papermill needs the kernelspec to read parameters
        declared = set()
    unreadable = _unreadable_parameter_lines(path, dict.fromkeys(declared))
    for name, line in unreadable.items():
        problems.append(
            f"{path.name} parameter {name} is on a line papermill cannot parse ({line!r}); "
            "write the annotation as Optional[...] instead of X | None"
        )
    missing = [
        name for name in SECTION_NOTEBOOK_PARAMETERS if name not in declared and name not in unreadable
    ]
    if missing:
        problems.append(f"{path.name} must declare the section's parameters {', '.join(missing)}")
    for index, cell in enumerate(notebook.cells):
        if cell.get("cell_type") != "code":
            continue
        if cell.get("outputs") or cell.get("execution_count") is not None:
            problems.append(f"{path.name} cell {index} must be committed without outputs")
        if re.search(r"^\s*(def|class|async\s+def)\s", cell.get("source", ""), flags=re.M):
            problems.append(
                f"{path.name} cell {index} must not define a function or class (move it to the package)"
            )
    return problems


def latest_run(reports_dir: str | Path, incident_id: str) -> Path:
    """The most recent run folder of an incident (run ids sort by time).

    Raises
    ------
    WorkbenchError
        When the incident has no run yet.
    """
    incident_dir = Path(reports_dir) / checked_incident_id(incident_id)
    runs = (
        sorted(path for path in incident_dir.iterdir() if path.is_dir() and _RUN_ID_PATTERN.match(path.name))
        if incident_dir.is_dir()
        else []
    )
    if not runs:
        raise WorkbenchError(
            f"incident {incident_id} has no run in {incident_dir}. "
            f"Run `workbench investigate {incident_id}` first."
        )
    return runs[-1]


# --------------------------------------------------------------------------------------------------
# Running
# --------------------------------------------------------------------------------------------------


def run_sections(
    context: InvestigationContext,
    *,
    reports_dir: str | Path,
    notebooks_dir: str | Path,
    sections: Sequence[Section],
    run_id: str | None = None,
    kernel_name: str = "python3",
    max_workers: int | None = None,
    cell_timeout: float | None = None,
    hooks: RunHooks | None = None,
    git_dir: str | Path | None = None,
) -> RunResult:
    """Execute section notebooks on one investigation context into a new run folder.

    The run folder gets ``context.json`` first; each notebook receives only ``context_path`` and loads
    the context in one cell (nothing is looked up or validated again). The manifest records the context
    (windows, ``as_of``, chunk, each section's parameters, the data fingerprint).

    Parameters
    ----------
    context : analysis.context.InvestigationContext
        Built once by the caller (``workbench.investigate``).
    reports_dir : str or Path
        Root of the reports (``reports/``).
    notebooks_dir : str or Path
        Where the notebooks of built-in sections are.
    sections : sequence of Section
        The sections to run, in order.
    run_id : str or None
        Run id (default :func:`new_run_id`).
    kernel_name : str
        Jupyter kernel to execute with.
    max_workers : int or None
        Notebooks run at the same time (default: the machine's cores, at most the number of notebooks).
    cell_timeout : float or None
        Seconds a cell may run (``None``: no limit).
    hooks : RunHooks or None
        Progress and register callbacks.
    git_dir : str or Path or None
        A directory inside the git work tree whose commit is recorded (default: ``notebooks_dir``).

    Returns
    -------
    RunResult

    Raises
    ------
    UnknownParameterError
        Before anything runs, when a notebook does not declare ``context_path``.
    NotebookExecutionError
        When a notebook raised; its executed copy and the manifest are kept.
    SummaryValidationError
        When a section's ``summary.json`` is missing or does not satisfy its schema.
    """
    from analysis.context import CONTEXT_FILE

    if not sections:
        raise WorkbenchError("sections must hold at least one section to run. Got none instead.")
    run_id = run_id or new_run_id()
    context_file = Path(reports_dir).resolve() / context.incident_id / run_id / CONTEXT_FILE
    jobs = [
        NotebookJob(
            key=section.key,
            notebook=section.notebook_path(notebooks_dir),
            parameters={"context_path": str(context_file)},
            section=section,
        )
        for section in sections
    ]
    recorded = {
        "file": CONTEXT_FILE,
        "as_of": context.as_of.isoformat(),
        "windows": context.windows.to_dict(),
        "chunk": context.chunk,
        "min_cell_size": context.min_cell_size,
        "section_parameters": {
            section.key: context.section_parameters.get(section.key, {}) for section in sections
        },
        "validation": {
            key: context.validation.get(key) for key in ("n_rows", "window_rows", "window_labels")
        },
    }
    return execute_notebooks(
        context.incident_id,
        jobs,
        reports_dir=reports_dir,
        run_id=run_id,
        kernel_name=kernel_name,
        max_workers=max_workers,
        cell_timeout=cell_timeout,
        data_fingerprint=context.fingerprint,
        hooks=hooks,
        git_dir=git_dir if git_dir is not None else notebooks_dir,
        prepare=lambda run_dir: context.write(run_dir / CONTEXT_FILE),
        context=recorded,
    )


def execute_notebooks(
    incident_id: str,
    jobs: Sequence[NotebookJob],
    *,
    reports_dir: str | Path,
    run_id: str | None = None,
    kernel_name: str = "python3",
    max_workers: int | None = None,
    cell_timeout: float | None = None,
    data_fingerprint: Mapping[str, Any] | None = None,
    hooks: RunHooks | None = None,
    git_dir: str | Path | None = None,
    prepare: Callable[[Path], object] | None = None,
    context: Mapping[str, Any] | None = None,
) -> RunResult:
    """Execute notebooks in parallel into ``<reports_dir>/<incident_id>/<run_id>/<key>/``.

    The lower-level form of :func:`run_sections`: jobs need not be declared sections (a job without a
    section has no summary or figure check). ``incident_id`` may be :data:`TRENDS_FOLDER` for a
    cross-incident run (``workbench trends``), which records no evidence on any incident.
    Parameters, errors and hooks are as in :func:`run_sections`; ``prepare`` receives the new run folder
    before any notebook runs (to write files the notebooks read), ``context`` is recorded in the manifest.

    Long because it is the run's sequence of timed stages (check, execute, validate, hash, manifest,
    record), each a call, kept in one place so the manifest's stage timings read as the code does.

    Returns
    -------
    RunResult
    """
    hooks = hooks or RunHooks()
    if incident_id != TRENDS_FOLDER:
        incident_id = checked_incident_id(incident_id)
    if not jobs:
        raise WorkbenchError("jobs must hold at least one notebook to run. Got none instead.")
    _check_job_keys(jobs)
    run_id = run_id or new_run_id()
    checked_run_id(run_id)

    stages: dict[str, float] = {}
    started_at = datetime.now(UTC)
    total_start = time.perf_counter()

    stage_start = time.perf_counter()
    declared = {job.key: check_parameters(job.notebook, job.parameters) for job in jobs}
    _stage(stages, hooks, "check_parameters", stage_start)

    run_dir = checked_reports_dir(reports_dir) / incident_id / run_id
    if run_dir.exists():
        raise WorkbenchError(f"run folder must not exist yet. Got existing {run_dir} instead.")
    run_dir.mkdir(parents=True)
    if prepare is not None:
        prepare(run_dir)

    stage_start = time.perf_counter()
    workers = max(1, min(max_workers or os.cpu_count() or 1, len(jobs)))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="workbench-notebook") as pool:
        futures = [pool.submit(_execute_one, job, run_dir, kernel_name, cell_timeout, hooks) for job in jobs]
        outcomes = {job.key: future.result() for job, future in zip(jobs, futures, strict=True)}
    _stage(stages, hooks, "execute", stage_start)

    stage_start = time.perf_counter()
    validated = _validated_outcomes(jobs, outcomes)
    _stage(stages, hooks, "validate_outputs", stage_start)

    stage_start = time.perf_counter()
    artefacts = _artefacts(run_dir)
    _stage(stages, hooks, "hash_artefacts", stage_start)

    status = "succeeded" if all(o.status == "succeeded" for o in validated.values()) else "failed"
    finished_at = datetime.now(UTC)
    stages["total"] = round(time.perf_counter() - total_start, 6)
    manifest = {
        "manifest_version": MANIFEST_VERSION,
        "run_id": run_id,
        "incident_id": incident_id,
        "status": status,
        "started_at": started_at.isoformat(),
        "finished_at": finished_at.isoformat(),
        "kernel_name": kernel_name,
        "max_workers": workers,
        "parameters": {job.key: _jsonable(_relative_paths(job.parameters, run_dir)) for job in jobs},
        "context": _jsonable(dict(context)) if context is not None else None,
        "declared_parameters": {key: sorted(value) for key, value in declared.items()},
        "data_fingerprint": _jsonable(dict(data_fingerprint or {})),
        "packages": package_versions(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "git": _git_state(Path(git_dir) if git_dir is not None else Path.cwd()),
        "durations": {
            "notebooks": {key: round(o.duration_s, 6) for key, o in validated.items()},
            "stages": stages,
        },
        **_outcome_entries(jobs, validated, run_dir),
        "artefacts": artefacts,
    }
    manifest_path = run_dir / "manifest.json"
    manifest_path.write_text(json.dumps(manifest, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    result = RunResult(
        incident_id=incident_id,
        run_id=run_id,
        run_dir=run_dir,
        manifest_path=manifest_path,
        manifest=manifest,
        outcomes=validated,
    )
    if hooks.record_evidence is not None:
        for record in result.evidence():
            hooks.record_evidence(record)
    if hooks.record_timeline_event is not None:
        hooks.record_timeline_event(result.timeline_event())

    failed = [o for o in validated.values() if o.status == "failed"]
    if failed:
        # a notebook that raised is reported before a summary that does not match its schema
        failed.sort(key=lambda o: not isinstance(o.exception, NotebookExecutionError))
        raise failed[0].exception or WorkbenchError(failed[0].error or f"notebook {failed[0].key} failed")
    return result


def _check_job_keys(jobs: Sequence[NotebookJob]) -> None:
    keys = [job.key for job in jobs]
    if len(set(keys)) != len(keys):
        raise WorkbenchError(f"job keys must be unique. Got {keys} instead.")
    for key in keys:
        if not re.fullmatch(r"[a-z][a-z0-9_]*", key):
            raise WorkbenchError(f"job key must be a lower-case identifier. Got {key!r} instead.")


def _validated_outcomes(
    jobs: Sequence[NotebookJob], outcomes: Mapping[str, NotebookOutcome]
) -> dict[str, NotebookOutcome]:
    """Each section's outputs checked against its contract (once); a failed check fails its notebook."""
    validated: dict[str, NotebookOutcome] = {}
    for job in jobs:
        outcome = outcomes[job.key]
        if outcome.status == "succeeded" and job.section is not None:
            try:
                outcome = _check_section_outputs(job.section, outcome)
            except (WorkbenchError, SummaryValidationError) as exc:
                outcome = replace(outcome, status="failed", error=str(exc), exception=exc)
        validated[job.key] = outcome
    return validated


def _outcome_entries(
    jobs: Sequence[NotebookJob], outcomes: Mapping[str, NotebookOutcome], run_dir: Path
) -> dict[str, Any]:
    """The manifest's ``notebooks`` (input, output, status per job) and ``summaries`` entries."""
    sections = {job.key: job.section is not None for job in jobs}
    return {
        "notebooks": {
            key: {
                "input": o.input_path.name,
                "input_sha256": sha256_file(o.input_path),
                "output": o.output_path.relative_to(run_dir).as_posix(),
                "section": key if sections[key] else None,
                "status": o.status,
                "error": o.error,
            }
            for key, o in outcomes.items()
        },
        "summaries": {
            key: (o.workdir / "summary.json").relative_to(run_dir).as_posix()
            for key, o in outcomes.items()
            if o.summary is not None
        },
    }


def _execute_one(
    job: NotebookJob, run_dir: Path, kernel_name: str, cell_timeout: float | None, hooks: RunHooks
) -> NotebookOutcome:
    workdir = run_dir / job.key
    (workdir / "figures").mkdir(parents=True, exist_ok=True)
    output_path = workdir / job.notebook.name
    if hooks.on_notebook_start is not None:
        hooks.on_notebook_start(job.key)
    start = time.perf_counter()
    error: NotebookExecutionError | None = None
    try:
        papermill.execute_notebook(
            str(job.notebook.resolve()),
            str(output_path.resolve()),
            parameters=dict(job.parameters),
            kernel_name=kernel_name,
            log_output=False,
            progress_bar=False,
            execution_timeout=cell_timeout,
            extra_arguments=list(KERNEL_ARGUMENTS),
            kernel_manager_class=_GracefulKernelManager,
            # the kernel's working directory, given to nbclient: papermill's own `cwd` argument does
            # os.chdir for the whole process, which races between notebooks run in parallel threads
            resources={"metadata": {"path": str(workdir.resolve())}},
        )
    except PapermillExecutionError as exc:
        error = _execution_error(job, output_path, run_dir, exc)
    except Exception as exc:  # kernel died, timeout, unreadable notebook...
        error = NotebookExecutionError(
            f"notebook {job.notebook.name} could not be executed: {type(exc).__name__}: {exc}. "
            f"Executed copy (if any): {output_path}",
            notebook=job.notebook.name,
            output_path=output_path,
            ename=type(exc).__name__,
            evalue=str(exc),
            run_dir=run_dir,
        )
    outcome = NotebookOutcome(
        key=job.key,
        input_path=job.notebook,
        output_path=output_path,
        workdir=workdir,
        status="failed" if error else "succeeded",
        duration_s=time.perf_counter() - start,
        error=str(error) if error else None,
        exception=error,
    )
    if hooks.on_notebook_done is not None:
        hooks.on_notebook_done(outcome)
    return outcome


def _execution_error(
    job: NotebookJob, output_path: Path, run_dir: Path, exc: PapermillExecutionError
) -> NotebookExecutionError:
    source_line = next((line.strip() for line in str(exc.source).splitlines() if line.strip()), "")
    if len(source_line) > 80:
        source_line = source_line[:77] + "..."
    evalue = str(exc.evalue).strip().splitlines()[0] if str(exc.evalue).strip() else ""
    # papermill's cell_index counts its injected cells; name the cell as the author sees it instead:
    # its position in the input notebook and its id, and point at its position in the executed copy.
    output_index, cell_id = _failing_cell(output_path)
    input_index = _cell_position(job.notebook, cell_id)
    where = f"cell {input_index}" if input_index is not None else f"cell {exc.cell_index}"
    if cell_id:
        where += f" (id {cell_id!r}, In [{exc.exec_count}])"
    message = (
        f"notebook {job.notebook.name} failed in {where}: {source_line!r} raised {exc.ename}: {evalue}. "
        f"The executed copy with the error is kept at {output_path}"
    )
    return NotebookExecutionError(
        message,
        notebook=job.notebook.name,
        output_path=output_path,
        cell_index=output_index if output_index is not None else exc.cell_index,
        input_cell_index=input_index,
        cell_id=cell_id,
        execution_count=exc.exec_count,
        ename=exc.ename,
        evalue=str(exc.evalue),
        run_dir=run_dir,
    )


def _failing_cell(output_path: Path) -> tuple[int | None, str | None]:
    try:
        executed = nbformat.read(str(output_path), as_version=4)
    except Exception:  # an unreadable copy: fall back to papermill's numbers
        return None, None
    for index, cell in enumerate(executed.cells):
        if any(output.get("output_type") == "error" for output in cell.get("outputs", [])):
            return index, cell.get("id")
    return None, None


def _cell_position(notebook: Path, cell_id: str | None) -> int | None:
    if cell_id is None:
        return None
    try:
        source = nbformat.read(str(notebook), as_version=4)
    except Exception:
        return None
    return next((index for index, cell in enumerate(source.cells) if cell.get("id") == cell_id), None)


def _check_section_outputs(section: Section, outcome: NotebookOutcome) -> NotebookOutcome:
    summary_path = outcome.workdir / "summary.json"
    if not summary_path.is_file():
        raise SummaryValidationError(
            f"notebook {outcome.input_path.name} must write summary.json into its working directory. "
            f"Got no {summary_path} instead.",
            [
                {
                    "section": section.key,
                    "location": "(file)",
                    "problem": "missing",
                    "value": str(summary_path),
                }
            ],
        )
    try:
        data = json.loads(summary_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise SummaryValidationError(f"{summary_path} must be valid JSON. Got an error: {exc}") from exc
    if not isinstance(data, dict):
        raise SummaryValidationError(
            f"{summary_path} must hold a JSON object. Got {type(data).__name__} instead."
        )
    typed = section.validate_summary(data, source=f"{section.key}/summary.json")
    missing = [
        fid for fid in section.figure_ids if not (outcome.workdir / "figures" / f"{fid}.json").is_file()
    ]
    if missing:
        raise WorkbenchError(
            f"notebook {outcome.input_path.name} must write the figures its section promises. Got no "
            f"{', '.join(f'figures/{fid}.json' for fid in missing)} in {outcome.workdir} instead."
        )
    return replace(outcome, summary=data, typed_summary=typed)


def artefact_kind(path: Path) -> str:
    """The evidence kind of a run's file (executed notebook, summary, figure, report...).

    Examples
    --------
    >>> [artefact_kind(Path(name)) for name in ("impact/impact.ipynb", "context.json", "postmortem.json")]
    ['executed_notebook', 'investigation_context', 'report_content']
    """
    if path.suffix == ".ipynb":
        return "executed_notebook"
    named = {
        "summary.json": "summary",
        "context.json": "investigation_context",
        "postmortem.json": "report_content",
    }
    if path.name in named:
        return named[path.name]
    if path.parent.name == "figures":
        return "figure"
    return {".html": "report_html", ".md": "report_markdown", ".pdf": "report_pdf"}.get(
        path.suffix, "artefact"
    )


def artefact_row(run_dir: Path, path: Path, kind: str | None = None) -> dict[str, Any]:
    r"""The manifest row of a file in a run folder: relative POSIX ``path``, ``kind``, ``bytes``, ``sha256``.

    Both paths are resolved first, so a relative run folder and an absolute file path (or the reverse)
    agree. ``kind`` defaults to :func:`artefact_kind`.

    Examples
    --------
    >>> import tempfile
    >>> run = Path(tempfile.mkdtemp())
    >>> _ = (run / "postmortem.md").write_text("# x\n")
    >>> row = artefact_row(run, run / "postmortem.md")
    >>> row["path"], row["kind"], row["bytes"], row["sha256"][:8]
    ('postmortem.md', 'report_markdown', 4, '253b610b')
    """
    resolved = path.resolve()
    return {
        "path": resolved.relative_to(run_dir.resolve()).as_posix(),
        "kind": kind or artefact_kind(resolved),
        "bytes": resolved.stat().st_size,
        "sha256": sha256_file(resolved),
    }


def _artefacts(run_dir: Path) -> list[dict[str, Any]]:
    return [
        artefact_row(run_dir, path)
        for path in sorted(p for p in run_dir.rglob("*") if p.is_file())
        if path.relative_to(run_dir).as_posix() != "manifest.json"
    ]


def _stage(stages: dict[str, float], hooks: RunHooks, name: str, start: float) -> None:
    stages[name] = round(time.perf_counter() - start, 6)
    if hooks.on_stage is not None:
        hooks.on_stage(name, stages[name])


def _git_state(directory: Path) -> dict[str, Any] | None:
    where = directory if directory.is_dir() else directory.parent
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=where, capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()
        status = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=where,
            capture_output=True,
            text=True,
            timeout=20,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return {"commit": commit, "dirty": bool(status.strip())}


def checked_incident_id(incident_id: str) -> str:
    """An incident id safe to use as a folder name (``INC-YYYY-NNNN``), or a clear error.

    Examples
    --------
    >>> checked_incident_id("../etc")
    Traceback (most recent call last):
    ...
    workbench.errors.WorkbenchError: incident id must look like INC-2026-0001. Got '../etc' instead.
    """
    if not isinstance(incident_id, str) or not re.fullmatch(INCIDENT_ID_PATTERN.rstrip("$"), incident_id):
        raise WorkbenchError(f"incident id must look like INC-2026-0001. Got {incident_id!r} instead.")
    return incident_id


def checked_reports_dir(reports_dir: str | Path) -> Path:
    """The reports folder (it may not exist yet), or a clear error when the path is a file."""
    root = Path(reports_dir)
    if root.exists() and not root.is_dir():
        raise WorkbenchError(f"--reports-dir must be a folder. Got {root}, which is a file.")
    return root


def checked_run_id(run_id: str, *, option: str = "run id") -> str:
    """A run id (a folder name such as ``20261123T160501250Z-a1b2c3``, never a path), or a clear error.

    Examples
    --------
    >>> checked_run_id("../../outside", option="--run")
    Traceback (most recent call last):
    ...
    workbench.errors.WorkbenchError: --run must be a run id such as 20261123T160501250Z-a1b2c3. Got ...
    """
    if not isinstance(run_id, str) or not _RUN_ID_PATTERN.match(run_id):
        raise WorkbenchError(
            f"{option} must be a run id such as 20261123T160501250Z-a1b2c3. Got {run_id!r} instead."
        )
    return run_id


def _relative_paths(parameters: Mapping[str, Any], run_dir: Path) -> dict[str, Any]:
    """Parameters as recorded in the manifest: paths inside the run folder relative to it."""
    recorded: dict[str, Any] = {}
    root = run_dir.resolve()
    for name, value in parameters.items():
        if isinstance(value, str) and os.path.isabs(value) and Path(value).is_relative_to(root):
            value = Path(value).relative_to(root).as_posix()
        recorded[name] = value
    return recorded


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=_json_default))


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    return repr(value)
