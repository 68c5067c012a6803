"""The trend dashboard in a real browser, offline: headless Chromium with every network request blocked.

A register built here, whose every free-text field that reaches the dashboard (root-cause category,
action-item title, owner and team) holds the XSS battery, is run through ``workbench trends``. The page
must attempt no request, log no error, draw every promised figure, keep ``window.__xss`` undefined,
resolve every table-of-contents link, and show in its tiles the numbers of ``summary.json``. The "no
incidents match" page opens cleanly too. A screenshot goes to ``test-artifacts/dashboard.png``.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from browser_harness import ARTIFACTS, ROOT, console_problems, drawn_figures, open_offline

from analysis._trends_figures import TREND_FIGURES
from register import open_register
from workbench.trends import run_trends

pytestmark = pytest.mark.browser

AS_OF = datetime(2026, 6, 30, tzinfo=UTC)


def _payloads() -> dict[str, str]:
    path = ROOT / "tests" / "unit" / "workbench" / "fixtures" / "report_fixture.py"
    spec = importlib.util.spec_from_file_location("report_fixture", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("report_fixture", module)
    spec.loader.exec_module(module)
    return module.XSS_PAYLOADS


def _build(url: str) -> None:
    payloads = list(_payloads().values())
    with open_register(url, create=True) as reg:
        for system in ("fraud", "pricing"):
            reg.add_system({"id": system, "name": f"{system} model"})
        start = datetime(2025, 7, 1, 9, tzinfo=UTC)
        ids = []
        for i in range(24):
            aware = start + timedelta(days=15 * i, hours=i)
            ids.append(
                reg.add_incident(
                    {
                        "title": f"Incident {i}",
                        "category": "data_exposure_privacy" if i % 7 == 0 else "data_quality",
                        "severity": ("SEV-1", "SEV-2", "SEV-3", "SEV-4")[i % 4],
                        "system_id": "fraud" if i % 3 else "pricing",
                        "aware_at": aware,
                        "occurred_at": aware - timedelta(hours=2 + i % 5),
                        "acknowledged_at": aware + timedelta(minutes=10 + 25 * (i % 6)),
                        "contained_at": aware + timedelta(hours=3 + i % 4),
                        "resolved_at": aware + timedelta(days=1 + i % 3) if i < 20 else None,
                        "root_cause_category": payloads[i % len(payloads)] if i % 2 else "upstream contract",
                    }
                ).id
            )
        for n, incident_id in enumerate(ids[:10]):
            reg.add_action_item(
                {
                    "incident_id": incident_id,
                    "title": f"Fix {payloads[n % len(payloads)]}",
                    "owner": payloads[(n + 1) % len(payloads)],
                    "team": payloads[(n + 2) % len(payloads)],
                    "kind": ("prevent", "detect", "mitigate", "process")[n % 4],
                    "due_at": AS_OF - timedelta(days=40 - 9 * n),
                }
            )


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("dashboard-browser")
    url = str(root / "register.sqlite")
    _build(url)
    full = run_trends(url, as_of=AS_OF, reports_dir=root / "reports")
    empty = run_trends(url, as_of=AS_OF, reports_dir=root / "empty", systems=["nothing"])
    return {"full": full.outputs["html"], "empty": empty.outputs["html"]}


@pytest.fixture(scope="module")
def opened(browser: Any, runs: dict[str, Path]) -> Iterator[dict[str, Any]]:
    with open_offline(browser, runs["full"]) as found:
        yield found


def test_no_request_no_console_problem(opened: dict[str, Any]) -> None:
    assert opened["blocked"] == []
    assert console_problems(opened["console"]) == []


def test_every_promised_figure_is_drawn(opened: dict[str, Any]) -> None:
    figures = drawn_figures(opened["page"])
    assert sorted(figure["id"] for figure in figures) == sorted(TREND_FIGURES)
    for figure in figures:
        assert figure["rendered"] == "true", figure
        assert figure["error"] is None, figure
        assert figure["svgs"] >= 1 and figure["traces"] >= 1 and figure["data"] >= 1, figure


def test_xss_battery_stays_text(opened: dict[str, Any]) -> None:
    page = opened["page"]
    assert page.evaluate("() => typeof window.__xss") == "undefined"
    assert page.evaluate("() => getComputedStyle(document.body).display") != "none"
    assert page.evaluate("() => document.querySelectorAll('iframe, img, object, embed').length") == 0
    assert "<script>window.__xss = 1</script>" in page.inner_text("#actions")
    for anchor in (
        "overview",
        "volume",
        "speed",
        "sla",
        "recurrence",
        "actions",
        "postmortems",
        "regulatory",
    ):
        assert page.is_visible(f"#{anchor}"), anchor


def test_toc_links_resolve(opened: dict[str, Any]) -> None:
    targets = opened["page"].evaluate(
        """() => Array.from(document.querySelectorAll('nav.wb-toc a')).map(a => ({
            href: a.getAttribute('href'),
            found: !!document.getElementById(a.getAttribute('href').slice(1)),
        }))"""
    )
    assert len(targets) == 8 and all(target["found"] for target in targets), targets


def test_tiles_show_the_summary_numbers(opened: dict[str, Any], runs: dict[str, Path]) -> None:
    summary = json.loads((runs["full"].parent / "trends" / "summary.json").read_text())
    tiles = opened["page"].evaluate(
        """() => Object.fromEntries(Array.from(document.querySelectorAll('.wb-tile')).map(tile => [
            tile.innerText.replace(tile.querySelector('.wb-tile-n').innerText, '').trim(),
            Number(tile.querySelector('.wb-tile-n').innerText.replace(/,/g, '')),
        ]))"""
    )
    assert tiles["open"] == summary["n_open"]
    assert tiles["response-SLA breaches"] == summary["sla"]["n_breaches"] > 0
    assert tiles["action items overdue"] == summary["actions"]["overdue"] > 0
    assert tiles["post-mortems overdue"] == summary["postmortems"]["overdue"]
    assert summary["recurrence"]["n_chains"] >= 1


def test_the_no_match_page_opens_cleanly(browser: Any, runs: dict[str, Path]) -> None:
    with open_offline(browser, runs["empty"]) as found:
        assert found["blocked"] == [] and console_problems(found["console"]) == []
        assert "No incidents match" in found["page"].inner_text("#no-match")


def test_screenshot_is_kept(opened: dict[str, Any]) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    target = ARTIFACTS / "dashboard.png"
    opened["page"].screenshot(path=str(target), full_page=True)
    assert target.stat().st_size > 10_000
