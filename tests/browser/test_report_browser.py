"""The rendered post-mortem in a real browser, offline: headless Chromium with every network request blocked.

Opens the HTML report rendered from the fixture blocks (whose register texts hold the XSS battery),
and checks: no request leaves the page, no console error, every plotly figure drawn (an SVG with at
least one trace in each figure div, as many figures as the declared sections promise), TOC links
resolve, no payload executes (``window.__xss`` stays undefined) and the page is not broken. A screenshot
goes to the git-ignored ``test-artifacts/`` folder at the repository root.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser_harness import ARTIFACTS, ROOT, console_problems, drawn_figures, open_offline

from workbench.report import render_html
from workbench.sections import available_sections

pytestmark = pytest.mark.browser

FIXTURES = ROOT / "tests" / "unit" / "workbench" / "fixtures"


def _fixture_module() -> Any:
    spec = importlib.util.spec_from_file_location("report_fixture", FIXTURES / "report_fixture.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("report_fixture", module)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def report_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    fixture = _fixture_module()
    path = tmp_path_factory.mktemp("browser-report") / "postmortem.html"
    render_html(fixture.fixture_content(), path)
    return path


@pytest.fixture(scope="module")
def opened(browser: Any, report_path: Path) -> Iterator[dict[str, Any]]:
    with open_offline(browser, report_path) as found:
        yield found


def test_no_network_request_is_attempted(opened: dict[str, Any]) -> None:
    assert opened["blocked"] == []


def test_the_harness_sees_requests_and_xss(browser: Any, tmp_path: Path) -> None:
    """Control: a page that does load from the network and does run a payload is caught."""
    page = browser.new_page()
    blocked: list[str] = []
    page.route(
        "**/*",
        lambda route: (
            route.continue_()
            if route.request.url.startswith("file://")
            else (blocked.append(route.request.url), route.abort())
        ),
    )
    leaky = tmp_path / "leaky.html"
    leaky.write_text('<img src="http://evil.example/x.png"><script>window.__xss = 1</script>')
    page.goto(leaky.as_uri())
    page.wait_for_timeout(200)
    try:
        assert blocked == ["http://evil.example/x.png"]
        assert page.evaluate("() => window.__xss") == 1
    finally:
        page.close()


def test_no_console_errors_or_warnings(opened: dict[str, Any]) -> None:
    assert console_problems(opened["console"]) == []


def test_every_figure_is_drawn(opened: dict[str, Any]) -> None:
    page = opened["page"]
    figures = drawn_figures(page)
    promised = sum(len(section.figures) for section in available_sections())
    assert len(figures) == promised
    for figure in figures:
        assert figure["rendered"] == "true", figure
        assert figure["error"] is None, figure
        assert figure["svgs"] >= 1, figure
        assert figure["traces"] >= 1, figure
        assert figure["data"] >= 1, figure


def test_toc_links_resolve(opened: dict[str, Any]) -> None:
    page = opened["page"]
    targets = page.evaluate(
        """() => Array.from(document.querySelectorAll('nav.wb-toc a')).map(a => ({
            href: a.getAttribute('href'),
            found: !!document.getElementById(a.getAttribute('href').slice(1)),
        }))"""
    )
    assert len(targets) >= 12
    assert all(target["found"] for target in targets), targets
    page.click("nav.wb-toc a[href='#section-drift']")
    assert page.evaluate("() => window.location.hash") == "#section-drift"
    top = page.evaluate("() => document.getElementById('section-drift').getBoundingClientRect().top")
    assert abs(top) < 5


def test_xss_battery_does_not_execute_or_break_the_page(opened: dict[str, Any]) -> None:
    page = opened["page"]
    assert page.evaluate("() => typeof window.__xss") == "undefined"
    assert page.evaluate("() => getComputedStyle(document.body).display") != "none"
    assert page.evaluate("() => document.querySelectorAll('iframe, img, object, embed').length") == 0
    text = page.inner_text("#section-impact")
    assert "<script>window.__xss = 1</script>" in text  # shown as text, not run
    assert "{{ 7 * 7 }}" in page.inner_text("#part-contributing_factors")
    # every block after the payloads is still there and visible
    for anchor in (
        "part-summary",
        "section-impact",
        "section-drift",
        "part-actions",
        "part-blameless_review",
    ):
        assert page.is_visible(f"#{anchor}"), anchor


def test_screenshot_is_kept(opened: dict[str, Any]) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    target = ARTIFACTS / "postmortem_report.png"
    opened["page"].goto(opened["page"].url.split("#")[0])
    opened["page"].wait_for_function(
        "() => Array.from(document.querySelectorAll('.wb-plotly'))"
        ".every(d => d.getAttribute('data-rendered'))"
    )
    opened["page"].screenshot(path=str(target), full_page=True)
    assert target.stat().st_size > 10_000
