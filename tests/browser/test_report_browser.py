"""The rendered post-mortem in a real browser, offline: headless Chromium with every network request blocked.

Opens the HTML report rendered from the fixture blocks (whose register texts hold the XSS battery),
and checks: no request leaves the page, no console error, every plotly figure drawn (an SVG with at
least one trace in each figure div, as many figures as the declared sections promise), TOC links
resolve, no payload executes (``window.__xss`` stays undefined) and the page is not broken. A screenshot
goes to the git-ignored ``test-artifacts/`` folder at the repository root.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from workbench.report import render_html
from workbench.sections import available_sections

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"


@pytest.fixture(scope="module")
def report_path(tmp_path_factory: pytest.TempPathFactory, report_fixture: Any) -> Path:
    path = tmp_path_factory.mktemp("browser-report") / "postmortem.html"
    render_html(report_fixture.fixture_content(), path)
    return path


@pytest.fixture(scope="module")
def opened(open_offline: Any, report_path: Path) -> Iterator[Any]:
    with open_offline(report_path) as opened:
        yield opened


def test_no_network_request_is_attempted(opened: Any) -> None:
    assert opened.blocked == []


def test_the_harness_sees_requests_and_xss(open_offline: Any, tmp_path: Path) -> None:
    """Control: a page that does load from the network and does run a payload is caught."""
    leaky = tmp_path / "leaky.html"
    leaky.write_text('<img src="http://evil.example/x.png"><script>window.__xss = 1</script>')
    with open_offline(leaky) as opened:
        opened.page.wait_for_timeout(200)
        assert opened.blocked == ["http://evil.example/x.png"]
        assert opened.page.evaluate("() => window.__xss") == 1


def test_no_console_errors_or_warnings(opened: Any) -> None:
    assert opened.problems() == []


def test_every_figure_is_drawn(opened: Any) -> None:
    page = opened.page
    figures = page.evaluate(
        """() => Array.from(document.querySelectorAll('.wb-plotly')).map(div => ({
            rendered: div.getAttribute('data-rendered'),
            error: div.getAttribute('data-error'),
            svgs: div.querySelectorAll('svg.main-svg').length,
            traces: div.querySelectorAll('g.trace, g.slice').length,
            data: (div._fullData || []).length,
        }))"""
    )
    promised = sum(len(section.figures) for section in available_sections() if section.key != "llm")
    assert len(figures) == promised
    for figure in figures:
        assert figure["rendered"] == "true", figure
        assert figure["error"] is None, figure
        assert figure["svgs"] >= 1, figure
        assert figure["traces"] >= 1, figure
        assert figure["data"] >= 1, figure


def test_toc_links_resolve(opened: Any) -> None:
    page = opened.page
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


def test_xss_battery_does_not_execute_or_break_the_page(opened: Any) -> None:
    page = opened.page
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


def test_screenshot_is_kept(opened: Any) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    target = ARTIFACTS / "postmortem_report.png"
    opened.page.goto(opened.page.url.split("#")[0])
    opened.page.wait_for_function(
        "() => Array.from(document.querySelectorAll('.wb-plotly'))"
        ".every(d => d.getAttribute('data-rendered'))"
    )
    opened.page.screenshot(path=str(target), full_page=True)
    assert target.stat().st_size > 10_000
