"""`workbench demo` end to end, as a user runs it: a relative --out from the working directory."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from workbench.cli import main

pytestmark = [pytest.mark.notebooks, pytest.mark.slow]


def test_demo_runs_every_stage_from_a_relative_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["demo", "--out", "demo", "--rows-per-day", "150"]) == 0
    out = capsys.readouterr().out
    truth = json.loads((tmp_path / "demo" / "ground_truth.json").read_text())
    planted = [s["incident_id"] for s in truth["scenarios"] if s["incident_id"]]
    assert len(planted) == 8  # a-e and the root-cause scenarios g, h, i
    for incident_id in planted:
        reports = sorted((tmp_path / "demo" / "reports" / incident_id).glob("*/postmortem.html"))
        assert len(reports) == 1, incident_id
        assert incident_id in out
        assert (reports[0].parent / "postmortem.md").is_file()
        manifest = json.loads((reports[0].parent / "manifest.json").read_text())
        assert manifest["status"] == "succeeded"
        assert (reports[0].parent / "root_cause" / "summary.json").is_file(), incident_id
        assert "Ranked candidate causes" in reports[0].read_text(), incident_id
    assert "Stages:" in out and "register import" in out
    # the governance stage: the dashboard and the digest over the whole register, listed in the summary
    (dashboard,) = (tmp_path / "demo" / "reports" / "trends").glob("*/dashboard.html")
    digest = dashboard.parent / "digest.md"
    assert f"Trend dashboard: {dashboard}" in out and f"Governance digest: {digest}" in out
    summary = json.loads((dashboard.parent / "trends" / "summary.json").read_text())
    from register import open_register

    with open_register(tmp_path / "demo" / "register.sqlite") as register:
        aware = register.incidents_frame(columns=["aware_at"])["aware_at"]
    assert summary["n_incidents"] == int((aware <= pd.Timestamp(truth["as_of"])).sum())
    page = dashboard.read_text()
    linked = [incident_id for incident_id in planted if f">{incident_id}</a>" in page]
    assert linked, "the dashboard links no planted incident's post-mortem"
    assert f"Action items: {summary['actions']['overdue']} overdue" in digest.read_text()
