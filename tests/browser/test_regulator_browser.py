"""A regulator draft and an exercise report in a real browser, offline (headless Chromium, requests blocked).

The draft is written from the regulator fixture with the XSS battery in the incident's title and summary
(and in the report fixture's summaries it reads); the exercise report scores a findings file whose team
name and notes hold a payload. Each page: no request leaves it, no console problem, no payload runs, and
what a reader needs is on the page (the to-complete list and the deadline; the score and the gaps).
"""

from __future__ import annotations

import importlib.util
import json
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from register import open_register

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
_SPEC = importlib.util.spec_from_file_location(
    "regulator_fixture", ROOT / "tests" / "unit" / "workbench" / "fixtures" / "regulator_fixture.py"
)
assert _SPEC is not None and _SPEC.loader is not None
rf = importlib.util.module_from_spec(_SPEC)
sys.modules.setdefault("regulator_fixture", rf)
_SPEC.loader.exec_module(rf)

PAYLOAD = '<img src=x onerror="window.__xss = 1"><script>window.__xss = 1</script>'


@pytest.fixture(scope="module")
def draft_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from workbench.regulator import write_regulator_draft

    folder = tmp_path_factory.mktemp("regulator-browser")
    url = str(folder / "register.sqlite")
    with open_register(url, create=True) as register:
        rf.populate(register)
        register.update_incident(rf.FAIRNESS, {"title": f"Gap {PAYLOAD}", "summary": f"Summary {PAYLOAD}"})
    rf.write_runs(folder / "reports")
    result = write_regulator_draft(
        url,
        rf.FAIRNESS,
        regime="eu_ai_act_art73",
        reports_dir=folder / "reports",
        as_of=rf.AWARE + timedelta(days=16),
    )
    return result.paths["html"]


def test_draft_offline_escaped_and_complete(open_offline: Any, draft_path: Path) -> None:
    with open_offline(draft_path) as opened:
        page = opened.page
        assert opened.blocked == []
        assert opened.problems() == []
        assert page.evaluate("() => window.__xss") is None
        todo = page.inner_text("#to-complete")
        assert "To complete before sending: 5 fields" in todo
        assert "Member State" in todo and "Legal / compliance" in todo
        assert page.inner_text("#deadline").startswith("Deadline: overdue by 1 d")
        assert "Gap <img src=x" in page.inner_text("h2#s3 + table")  # the payload shows as text
        assert page.locator("tr.to-complete").count() == 5


@pytest.fixture(scope="module")
def exercise_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from workbench.exercise import perfect_findings, score_exercise, start_exercise
    from workbench.exercise._report import render_report

    folder = tmp_path_factory.mktemp("exercise-browser") / "ex"
    start_exercise(folder, kind="control", seed=5, rows_per_day=300)
    truth = json.loads((folder / "sealed" / "truth.json").read_text())
    findings = perfect_findings(truth)
    findings["team"] = f"Team {PAYLOAD}"
    findings["notes"] = f"Notes {PAYLOAD}"
    path = folder / "findings.json"
    path.write_text(json.dumps(findings))
    return render_report(score_exercise(folder, path))["html"]


def test_exercise_report_offline_and_escaped(open_offline: Any, exercise_report: Path) -> None:
    with open_offline(exercise_report) as opened:
        page = opened.page
        assert opened.blocked == []
        assert opened.problems() == []
        assert page.evaluate("() => window.__xss") is None
        text = page.inner_text("body")
        assert "100 %" in text and "4 of 4 checks right" in text
        assert "Team <img src=x" in text
