from __future__ import annotations

import asyncio
import hashlib
import json
import shutil
import signal
import threading
from pathlib import Path
from typing import Any

import nbformat
import pytest
from pydantic import ConfigDict

from analysis.contract import FigureSpec, Section, SummaryValidationError
from analysis.contract import SectionSummary as SummaryBase
from register.schema import Evidence, TimelineEvent
from workbench.errors import WorkbenchError
from workbench.runner import (
    MANDATED_PACKAGES,
    NotebookExecutionError,
    NotebookJob,
    RunHooks,
    UnknownParameterError,
    _GracefulKernelManager,
    check_parameters,
    check_section_notebook,
    execute_notebooks,
    latest_run,
    new_run_id,
    run_sections,
)

FIXTURES = Path(__file__).parent / "fixtures"
ECHO = FIXTURES / "echo.ipynb"
INCIDENT = "INC-2026-0001"


class EchoSummary(SummaryBase):
    model_config = ConfigDict(extra="allow", frozen=True)
    section: str = "echo"
    value: int


class StrictEchoSummary(EchoSummary):
    not_written_by_the_notebook: float


def _section(model: type[SummaryBase] = EchoSummary) -> Section:
    return Section(
        key="echo",
        title="Echo",
        description="echoes its parameters",
        summary_model=model,
        figures=(FigureSpec("echo_figure", "Echo"),),
        notebook="echo.ipynb",
    )


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# ---------------------------------------------------------------- fast checks (no kernel) -----------


def test_check_parameters_accepts_declared() -> None:
    declared = check_parameters(ECHO, {"value": 3, "fail": False})
    assert set(declared) == {"context_path", "register_url", "incident_id", "value", "fail", "write_figure"}
    assert declared["value"]["help"] == "number echoed into summary.json"


def test_unknown_parameter_is_an_error_naming_it() -> None:
    with pytest.raises(UnknownParameterError, match="Got unknown colour, valeu instead") as excinfo:
        check_parameters(ECHO, {"value": 3, "valeu": 4, "colour": "red"})
    declared = "context_path, fail, incident_id, register_url, value, write_figure"
    assert f"it declares: {declared}" in str(excinfo.value)
    assert [row["parameter"] for row in excinfo.value.failures] == ["colour", "valeu"]


def test_notebook_without_parameters_cell_refuses_any_parameter() -> None:
    with pytest.raises(UnknownParameterError, match="no cell tagged 'parameters'"):
        check_parameters(FIXTURES / "no_parameters.ipynb", {"answer": 1})
    assert check_parameters(FIXTURES / "no_parameters.ipynb", {}) == {}


def test_unknown_parameter_refused_before_anything_runs(tmp_path: Path) -> None:
    with pytest.raises(UnknownParameterError):
        execute_notebooks(
            INCIDENT,
            [NotebookJob("echo", ECHO, {"value": 1}), NotebookJob("other", ECHO, {"nope": 1})],
            reports_dir=tmp_path,
        )
    assert not (tmp_path / INCIDENT).exists()


def test_missing_notebook_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(WorkbenchError, match="must be an existing .ipynb file"):
        execute_notebooks(INCIDENT, [NotebookJob("echo", tmp_path / "nope.ipynb")], reports_dir=tmp_path)


@pytest.mark.parametrize("incident_id", ["../etc", "INC-26-1", "INC-2026-0001/.."])
def test_incident_id_cannot_escape_reports_dir(tmp_path: Path, incident_id: str) -> None:
    with pytest.raises(WorkbenchError, match="incident id must look like"):
        execute_notebooks(incident_id, [NotebookJob("echo", ECHO)], reports_dir=tmp_path)


def test_run_ids_sort_by_time() -> None:
    from datetime import UTC, datetime

    earlier = new_run_id(now=datetime(2026, 11, 23, 16, 5, 1, 999000, tzinfo=UTC))
    later = new_run_id(now=datetime(2026, 11, 23, 16, 5, 2, 0, tzinfo=UTC))
    assert earlier < later
    assert new_run_id() != new_run_id()


def test_latest_run_picks_newest_and_explains_when_none(tmp_path: Path) -> None:
    with pytest.raises(WorkbenchError, match="has no run"):
        latest_run(tmp_path, INCIDENT)
    for run_id in ["20261101T000000000Z-aaaaaa", "20261102T000000000Z-000000", "not-a-run"]:
        (tmp_path / INCIDENT / run_id).mkdir(parents=True)
    assert latest_run(tmp_path, INCIDENT).name == "20261102T000000000Z-000000"


def test_section_parameters_refuse_sections_not_run_and_unknown_names() -> None:
    from analysis.errors import InvalidParameterError
    from workbench.investigate import section_parameters
    from workbench.sections import resolve_sections

    with pytest.raises(WorkbenchError, match="Got parameters for impact instead"):
        section_parameters(resolve_sections(["drift"]), {"impact": {}})
    with pytest.raises(InvalidParameterError, match="drift parameters are invalid: sample_sise"):
        section_parameters(resolve_sections(["drift"]), {"drift": {"sample_sise": 10}})
    assert section_parameters(resolve_sections(["impact"])) == {"impact": {"min_cell_size": None}}


def _context(as_of: str = "2026-11-03T00:00:00Z") -> Any:
    from datetime import datetime

    from analysis.context import InvestigationContext
    from analysis.data import incident_windows
    from register.schema import ColumnRoles, DataCard, DataSource, Incident

    incident = Incident(
        id=INCIDENT, title="t", category="data_quality", severity="SEV-2", aware_at="2026-11-01T12:00:00Z"
    )
    card = DataCard(
        source=DataSource(location="unused.parquet"),
        task="binary_classification",
        columns=ColumnRoles(event_time="ts", entity_id="id", features=["x"], prediction="p", label="y"),
    )
    when = datetime.fromisoformat(as_of)
    windows = incident_windows(datetime(2026, 11, 1), datetime(2026, 11, 2), as_of=when)
    return InvestigationContext(incident=incident, card=card, windows=windows, min_cell_size=5)


# ---------------------------------------------------------------- executing notebooks ---------------


@pytest.mark.notebooks
def test_run_writes_manifest_with_correct_hashes(tmp_path: Path) -> None:
    evidence: list[Evidence] = []
    events: list[TimelineEvent] = []
    result = execute_notebooks(
        INCIDENT,
        [NotebookJob("echo", ECHO, {"value": 7, "incident_id": INCIDENT}, section=_section())],
        reports_dir=tmp_path / "reports",
        data_fingerprint={"prediction_log": {"rows": 1234, "sha256": "0" * 64}},
        hooks=RunHooks(record_evidence=evidence.append, record_timeline_event=events.append),
        git_dir=Path(__file__).parent,
    )
    run_dir = tmp_path / "reports" / INCIDENT / result.run_id
    assert result.run_dir == run_dir
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest == result.manifest
    assert {
        "run_id",
        "incident_id",
        "status",
        "parameters",
        "data_fingerprint",
        "packages",
        "git",
        "durations",
        "notebooks",
        "artefacts",
        "summaries",
        "started_at",
        "finished_at",
    } <= set(manifest)
    assert manifest["status"] == "succeeded"
    assert manifest["parameters"] == {"echo": {"value": 7, "incident_id": INCIDENT}}
    assert manifest["data_fingerprint"]["prediction_log"]["rows"] == 1234
    assert set(MANDATED_PACKAGES) == set(manifest["packages"])
    assert manifest["packages"]["papermill"]
    assert manifest["git"] is None or len(manifest["git"]["commit"]) == 40
    assert set(manifest["durations"]["notebooks"]) == {"echo"}
    assert {"check_parameters", "execute", "validate_outputs", "hash_artefacts", "total"} <= set(
        manifest["durations"]["stages"]
    )
    paths = {artefact["path"]: artefact for artefact in manifest["artefacts"]}
    assert set(paths) == {"echo/echo.ipynb", "echo/summary.json", "echo/figures/echo_figure.json"}
    for relative, artefact in paths.items():
        assert artefact["sha256"] == _sha256(run_dir / relative)
        assert artefact["bytes"] == (run_dir / relative).stat().st_size
    assert paths["echo/echo.ipynb"]["kind"] == "executed_notebook"
    assert manifest["notebooks"]["echo"]["input_sha256"] == _sha256(ECHO)
    # the notebook ran in its own folder and the summary was validated and returned
    assert result.summaries["echo"]["value"] == 7
    assert Path(result.summaries["echo"]["workdir"]).resolve() == (run_dir / "echo").resolve()
    # the injected parameters are kept in the executed notebook
    executed = nbformat.read(run_dir / "echo" / "echo.ipynb", as_version=4)
    assert executed.metadata.papermill.parameters["value"] == 7
    # evidence: one per artefact plus the manifest, with matching hashes; one timeline event
    assert len(evidence) == len(paths) + 1
    for record in evidence:
        assert record.run_id == result.run_id
        assert record.sha256 == _sha256(Path(record.uri))
    assert {record.kind for record in evidence} >= {"executed_notebook", "summary", "figure", "run_manifest"}
    assert len(events) == 1
    assert result.run_id in events[0].description
    assert latest_run(tmp_path / "reports", INCIDENT) == run_dir


@pytest.mark.notebooks
def test_failing_notebook_keeps_executed_copy_and_names_cell(tmp_path: Path) -> None:
    evidence: list[Evidence] = []
    with pytest.raises(NotebookExecutionError) as excinfo:
        execute_notebooks(
            INCIDENT,
            [NotebookJob("echo", ECHO, {"value": 5, "fail": True}, section=_section())],
            reports_dir=tmp_path,
            hooks=RunHooks(record_evidence=evidence.append),
        )
    error = excinfo.value
    message = str(error)
    assert "notebook echo.ipynb failed in cell 3 (id 'cell-3'" in message
    assert error.input_cell_index == 3
    assert "ValueError: planted failure for value 5" in message
    assert "if fail:" in message
    assert error.ename == "ValueError"
    assert error.output_path.is_file()
    executed = nbformat.read(error.output_path, as_version=4)
    failing_cell = executed.cells[error.cell_index]
    assert "raise ValueError" in "".join(failing_cell.source)
    assert any(output.get("output_type") == "error" for output in failing_cell.outputs)
    manifest = json.loads((error.run_dir / "manifest.json").read_text())
    assert manifest["status"] == "failed"
    assert manifest["notebooks"]["echo"]["status"] == "failed"
    assert "planted failure" in manifest["notebooks"]["echo"]["error"]
    assert any(record.kind == "executed_notebook" for record in evidence)


@pytest.mark.notebooks
def test_summary_not_matching_schema_fails_the_run(tmp_path: Path) -> None:
    with pytest.raises(SummaryValidationError, match="not_written_by_the_notebook"):
        execute_notebooks(
            INCIDENT,
            [NotebookJob("echo", ECHO, {"value": 2}, section=_section(StrictEchoSummary))],
            reports_dir=tmp_path,
        )


@pytest.mark.notebooks
def test_missing_promised_figure_fails_the_run(tmp_path: Path) -> None:
    with pytest.raises(WorkbenchError, match="figures/echo_figure.json"):
        execute_notebooks(
            INCIDENT,
            [NotebookJob("echo", ECHO, {"write_figure": False}, section=_section())],
            reports_dir=tmp_path,
        )


@pytest.mark.notebooks
def test_notebooks_run_in_parallel_each_in_its_folder(tmp_path: Path) -> None:
    lock = threading.Lock()
    running = 0
    peak = 0
    starts: list[str] = []

    def started(key: str) -> None:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
            starts.append(key)

    def done(outcome: Any) -> None:
        nonlocal running
        with lock:
            running -= 1

    cwd_before = Path.cwd()
    jobs = [
        NotebookJob(key, ECHO, {"value": index}, section=None)
        for index, key in enumerate(["first", "second"])
    ]
    result = execute_notebooks(
        INCIDENT,
        jobs,
        reports_dir=tmp_path,
        max_workers=2,
        hooks=RunHooks(on_notebook_start=started, on_notebook_done=done),
    )
    assert peak == 2
    assert sorted(starts) == ["first", "second"]
    assert result.manifest["max_workers"] == 2
    for index, key in enumerate(["first", "second"]):
        summary = json.loads((result.run_dir / key / "summary.json").read_text())
        assert summary["value"] == index
        # each kernel ran in its own folder (papermill's `cwd` would chdir the process and race)
        assert Path(summary["workdir"]).resolve() == (result.run_dir / key).resolve()
    assert Path.cwd() == cwd_before


def _record_signals(monkeypatch: pytest.MonkeyPatch) -> tuple[list[int], list[str]]:
    """Signals sent to kernels, and shutdown requests, by the runner's kernel manager (still sent)."""
    signals: list[int] = []
    shutdowns: list[str] = []
    send_signal = _GracefulKernelManager._async_signal_kernel
    request_shutdown = _GracefulKernelManager._async_request_shutdown

    async def recorded_signal(self: Any, signum: int) -> None:
        signals.append(signum)
        await send_signal(self, signum)

    async def recorded_shutdown(self: Any, restart: bool = False) -> None:
        shutdowns.append(self.kernel_name)
        await request_shutdown(self, restart=restart)

    monkeypatch.setattr(_GracefulKernelManager, "_async_signal_kernel", recorded_signal)
    monkeypatch.setattr(_GracefulKernelManager, "_async_request_shutdown", recorded_shutdown)
    return signals, shutdowns


@pytest.mark.notebooks
def test_kernels_are_shut_down_without_an_interrupt(monkeypatch: pytest.MonkeyPatch) -> None:
    """jupyter_client interrupts (SIGINT) a kernel before shutting it down; the runner's manager does not.

    That SIGINT, landing while ipykernel handled a message, printed "KeyboardInterrupt caught in kernel".
    """
    signals, shutdowns = _record_signals(monkeypatch)

    async def start_interrupt_shut_down() -> bool:
        manager = _GracefulKernelManager(kernel_name="python3")
        await manager.start_kernel(extra_arguments=["--IPKernelApp.log_level=CRITICAL"])
        client = manager.client()
        client.start_channels()
        try:
            await client.wait_for_ready(timeout=60)
            await manager.interrupt_kernel()  # an explicit interrupt is still sent
            # and the kernel lives on
            reply = await client.execute_interactive("1 + 1", timeout=60, output_hook=lambda msg: None)
            assert reply["content"]["status"] == "ok"
        finally:
            client.stop_channels()
        await manager.shutdown_kernel()
        return bool(await manager.is_alive())

    assert asyncio.run(start_interrupt_shut_down()) is False
    assert signals == [signal.SIGINT]  # the explicit one only; the shutdown sent none (nor a kill)
    assert shutdowns == ["python3"]  # shut down by its shutdown request


@pytest.mark.notebooks
def test_runner_uses_the_graceful_kernel_manager(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    signals, shutdowns = _record_signals(monkeypatch)
    execute_notebooks(INCIDENT, [NotebookJob("echo", ECHO, {"value": 1}, section=None)], reports_dir=tmp_path)
    assert len(shutdowns) == 1
    assert signals == []


@pytest.mark.notebooks
def test_run_sections_validates_declared_schemas(tmp_path: Path) -> None:
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    impact = {
        "section": "impact",
        "incident_id": INCIDENT,
        "definition": "label error",
        "windows": {"incident": {"start": "2026-11-01T00:00:00Z", "end": "2026-11-02T00:00:00Z"}},
        "n_decisions": 10,
        "n_affected_decisions": 3,
        "still_happening": {"verdict": "subsided"},
    }
    nb = nbformat.read(ECHO, as_version=4)
    nb.cells[5].source = (
        "summary = json.loads(" + repr(json.dumps(impact)) + ")\n"
        "pathlib.Path('summary.json').write_text(json.dumps(summary))\n"
        "for fid in ['impact_over_time', 'impact_by_group']:\n"
        "    pathlib.Path('figures', fid + '.json').write_text(json.dumps(figure))"
    )
    nb.cells[5].source = (
        "from analysis.context import InvestigationContext\n"
        "context = InvestigationContext.load(context_path)\n"
        "assert context.min_cell_size == 5 and context.incident.id == incident_id\n" + nb.cells[5].source
    )
    nbformat.write(nb, notebooks / "impact.ipynb")
    from workbench.sections import get_section

    result = run_sections(
        _context(),
        sections=[get_section("impact")],
        reports_dir=tmp_path / "reports",
        notebooks_dir=notebooks,
    )
    assert result.summaries["impact"]["n_affected_decisions"] == 3
    assert result.typed_summaries["impact"].n_affected_decisions == 3
    assert result.manifest["summaries"] == {"impact": "impact/summary.json"}
    # the notebook got only the context file, recorded relative to the run folder
    assert result.manifest["parameters"] == {"impact": {"context_path": "context.json"}}
    assert result.manifest["context"]["min_cell_size"] == 5
    assert (result.run_dir / "context.json").is_file()
    shutil.rmtree(result.run_dir)


def test_section_notebook_contract_on_fixtures(tmp_path: Path) -> None:
    section = _section()
    problems = check_section_notebook(section, tmp_path)
    assert problems == [f"{tmp_path / 'echo.ipynb'} does not exist"]
    shutil.copy(ECHO, tmp_path / "echo.ipynb")
    assert check_section_notebook(section, tmp_path) == []
    nb = nbformat.read(ECHO, as_version=4)
    nb.cells[1].source = "incident_id = 'x'\nvalue = 1"
    nb.cells[2].source += "\n\ndef helper():\n    return 1"
    nb.cells[3].outputs = [nbformat.v4.new_output("stream", name="stdout", text="x")]
    del nb.metadata["kernelspec"]
    del nb.metadata["language_info"]
    nbformat.write(nb, tmp_path / "echo.ipynb")
    problems = " | ".join(check_section_notebook(section, tmp_path))
    assert "kernelspec" in problems
    assert "declare the section's parameters context_path, register_url" in problems
    assert "cell 2 must not define a function" in problems
    assert "cell 3 must be committed without outputs" in problems


def test_parameter_papermill_cannot_parse_is_explained(tmp_path: Path) -> None:
    nb = nbformat.read(ECHO, as_version=4)
    nb.cells[1].source += "\nas_of: str | None = None  # ISO time"
    path = tmp_path / "echo.ipynb"
    nbformat.write(nb, path)
    with pytest.raises(UnknownParameterError, match="papermill cannot parse|cannot parse") as excinfo:
        check_parameters(path, {"as_of": "2026-01-01"})
    assert "Optional[str]" in str(excinfo.value)
    assert "as_of: str | None = None" in str(excinfo.value)
    # not passing it is fine: the notebook's default is used
    assert "as_of" not in check_parameters(path, {"value": 1})
    problems = check_section_notebook(_section(), tmp_path)
    assert any("as_of is on a line papermill cannot parse" in problem for problem in problems)
