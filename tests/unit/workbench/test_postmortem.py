from __future__ import annotations

import importlib.util
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import nbformat
import pytest

from register.api import open_register
from workbench.postmortem import postmortem_blocks, run_postmortem
from workbench.render import BLOCK_MIMETYPE, collect_report, render_html
from workbench.runner import UnknownParameterError, sha256_file
from workbench.sections import report_outline

ROOT = Path(__file__).resolve().parents[3]
FIXTURES = Path(__file__).parent / "fixtures"
AS_OF = datetime(2026, 11, 20, tzinfo=UTC)


def _fixture_module() -> Any:
    spec = importlib.util.spec_from_file_location("report_fixture", FIXTURES / "report_fixture.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("report_fixture", module)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def register_path(tmp_path: Path) -> Path:
    path = tmp_path / "register.sqlite"
    register = open_register(path, create=True)
    register.add_system({"id": "credit-scoring", "name": "Credit scoring"})
    register.add_incident(
        {
            "title": "Credit model declined applicants",
            "summary": "Stale bureau features reached the model; contact ops@example.com for the raw export.",
            "system_id": "credit-scoring",
            "category": "data_quality",
            "severity": "SEV-2",
            "occurred_at": datetime(2026, 11, 3, tzinfo=UTC),
            "aware_at": datetime(2026, 11, 5, 9, 30, tzinfo=UTC),
            "acknowledged_at": datetime(2026, 11, 5, 10, 0, tzinfo=UTC),
            "contained_at": datetime(2026, 11, 5, 11, 0, tzinfo=UTC),
            "trigger": "Bureau feed switched vendor endpoint",
            "contributing_factors": [
                "No freshness check on the feed",
                "The incident was caused by human error",
            ],
            "lessons_learned": "- Freshness checks belong in the pipeline\n- Drift alerts need an owner",
            "postmortem_facilitator": "Sam Rivera",
        }
    )
    register.add_timeline_event(
        {
            "incident_id": "INC-2026-0001",
            "at": datetime(2026, 11, 5, 9, 30, tzinfo=UTC),
            "kind": "detection",
            "description": "The on-call engineer failed to notice the first alert",
        }
    )
    register.add_action_item(
        {
            "incident_id": "INC-2026-0001",
            "title": "Add a freshness check",
            "kind": "prevent",
            "owner": "Data platform",
        }
    )
    register.close()
    return path


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    """A run folder with the fixture's impact and drift summaries and figures."""
    fx = _fixture_module()
    run = tmp_path / "reports" / "INC-2026-0001" / "20261120T000000000Z-abcdef"
    for cell in fx.fixture_notebook().cells:
        for output in cell.get("outputs", []):
            payload = output.get("data", {}).get(BLOCK_MIMETYPE)
            if payload and payload["key"] in {"impact", "drift"}:
                folder = run / payload["key"]
                (folder / "figures").mkdir(parents=True)
                summary = dict(payload["data"], incident_id="INC-2026-0001")
                (folder / "summary.json").write_text(json.dumps(summary))
                for figure in payload["figures"]:
                    (folder / "figures" / f"{figure['id']}.json").write_text(json.dumps(figure["figure"]))
    (run / "manifest.json").write_text(json.dumps({"run_id": run.name}))
    return run


def _blocks(register_path: Path, run_dir: Path | None) -> dict[str, Any]:
    with open_register(register_path) as register:
        return postmortem_blocks(register, "INC-2026-0001", run_dir=run_dir, as_of=AS_OF)


def test_blocks_follow_the_outline_and_render(register_path: Path, run_dir: Path, tmp_path: Path) -> None:
    blocks = _blocks(register_path, run_dir)
    assert list(blocks) == [entry.key for entry in report_outline()]
    notebook = nbformat.v4.new_notebook()
    for block in blocks.values():
        cell = nbformat.v4.new_code_cell("display(block)")
        cell.outputs = [nbformat.v4.new_output("display_data", data=block._repr_mimebundle_())]
        notebook.cells.append(cell)
    content, _ = collect_report(notebook)
    assert content.blocks["impact"].unavailable is None
    timeline = content.blocks["timeline"].data
    # the drift onset the analysis saw is on the timeline, and the detection delay is measured from it
    assert any(event["source"] == "analysis" for event in timeline["events"])
    assert timeline["detection_delay_hours"] == pytest.approx(57.5)
    response = {row["milestone"]: row for row in content.blocks["response"].data["rows"]}
    assert response["acknowledge"]["actual_hours"] == pytest.approx(0.5)
    assert response["acknowledge"]["met"] is True
    assert response["acknowledge"]["margin_hours"] == pytest.approx(0.5)
    assert content.blocks["lessons"].data["items"] == [
        "Freshness checks belong in the pipeline",
        "Drift alerts need an owner",
    ]
    # the executed notebook would hold no personal data: redacted at composition already
    assert "ops@example.com" not in json.dumps(blocks["summary"].payload())
    flags = {flag.rule for flag in content.flags}
    assert {"human_error", "failed_to"} <= flags
    html = render_html(notebook, tmp_path / "postmortem.html").path.read_text()
    assert "<strong>4,321</strong>" in html
    assert "Credit scoring" in html


def test_without_a_run_the_sections_say_they_did_not_run(register_path: Path) -> None:
    blocks = _blocks(register_path, None)
    assert "has not run" in blocks["impact"].unavailable
    assert "has not run" in blocks["drift"].unavailable


def test_committed_notebook_shape() -> None:
    notebook = nbformat.read(ROOT / "notebooks" / "postmortem.ipynb", as_version=4)
    assert notebook.metadata["kernelspec"]["language"] == "python"
    assert any("parameters" in cell.metadata.get("tags", []) for cell in notebook.cells)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert not cell.outputs
            assert "def " not in cell.source and "class " not in cell.source


def test_unknown_parameter_refused(run_dir: Path) -> None:
    with pytest.raises(UnknownParameterError, match="colour"):
        run_postmortem(run_dir, parameters={"colour": "red"}, notebooks_dir=ROOT / "notebooks")


@pytest.mark.notebooks
def test_run_postmortem_executes_and_renders(register_path: Path, run_dir: Path) -> None:
    result = run_postmortem(
        run_dir,
        parameters={
            "incident_id": "INC-2026-0001",
            "register_url": str(register_path),
            "as_of": AS_OF.isoformat(),
        },
        notebooks_dir=ROOT / "notebooks",
        formats=["html", "md"],
    )
    executed = nbformat.read(result.notebook, as_version=4)
    errors = [
        o for cell in executed.cells for o in cell.get("outputs", []) if o.get("output_type") == "error"
    ]
    assert errors == []
    html = result.reports["html"].path.read_text()
    assert "<strong>4,321</strong>" in html
    assert {row["kind"] for row in result.artefacts} == {
        "executed_notebook",
        "report_html",
        "report_markdown",
    }
    summary = json.loads((run_dir / "postmortem_summary.json").read_text())
    assert summary["unavailable"] == {}
    assert summary["blameless_flags"] >= 2
    manifest = json.loads((run_dir / "manifest.json").read_text())
    recorded = {row["path"]: row["sha256"] for row in manifest["postmortem"]["artefacts"]}
    assert set(recorded) == {"postmortem.ipynb", "postmortem.html", "postmortem.md"}
    assert recorded["postmortem.html"] == sha256_file(run_dir / "postmortem.html")
    records = result.evidence("INC-2026-0001")
    assert {record.kind for record in records} == {"executed_notebook", "report_html", "report_markdown"}
    assert all(
        record.run_id == run_dir.name and record.sha256 == sha256_file(record.uri) for record in records
    )


def test_a_changed_summary_number_reaches_the_report(
    register_path: Path, run_dir: Path, tmp_path: Path
) -> None:
    def render(name: str) -> str:
        blocks = _blocks(register_path, run_dir)
        notebook = nbformat.v4.new_notebook()
        for block in blocks.values():
            cell = nbformat.v4.new_code_cell("display(block)")
            cell.outputs = [nbformat.v4.new_output("display_data", data=block._repr_mimebundle_())]
            notebook.cells.append(cell)
        return render_html(notebook, tmp_path / name).path.read_text()

    assert "<strong>4,321</strong>" in render("before.html")
    path = run_dir / "impact" / "summary.json"
    summary = json.loads(path.read_text())
    summary["n_affected_decisions"] = 5555
    path.write_text(json.dumps(summary))
    after = render("after.html")
    assert "<strong>5,555</strong>" in after
    assert "4,321" not in after
