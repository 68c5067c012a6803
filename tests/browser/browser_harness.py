"""The browser tests' helpers: a page opened offline, console problems, the figures drawn."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")


@contextmanager
def open_offline(browser: Any, path: Path) -> Iterator[dict[str, Any]]:
    """Open ``path`` with every non-file request blocked; wait until every plotly figure is drawn."""
    page = browser.new_page()
    blocked: list[str] = []
    console: list[str] = []

    def route(route: Any) -> None:
        url = route.request.url
        if url.startswith("file://"):
            route.continue_()
        else:
            blocked.append(url)
            route.abort()

    page.route("**/*", route)
    page.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
    page.on("pageerror", lambda error: console.append(f"pageerror: {error}"))
    page.on("requestfailed", lambda request: None)
    page.goto(path.as_uri())
    page.wait_for_function(
        "() => Array.from(document.querySelectorAll('.wb-plotly')).every("
        "d => d.getAttribute('data-rendered') || d.getAttribute('data-error'))",
        timeout=60_000,
    )
    try:
        yield {"page": page, "blocked": blocked, "console": console}
    finally:
        page.close()


def console_problems(lines: list[str]) -> list[str]:
    """Console lines that mean something is wrong: errors, warnings, and plotly.js's ``WARN:`` traces."""
    return [
        line
        for line in lines
        if line.startswith(("error", "pageerror", "warning")) or "WARN" in line or "Invalid" in line
    ]


def drawn_figures(page: Any) -> list[dict[str, Any]]:
    """Per ``.wb-plotly`` div: rendered flag, error, SVG and trace counts, its figure id."""
    return page.evaluate(
        """() => Array.from(document.querySelectorAll('.wb-plotly')).map(div => ({
            id: div.closest('figure') ? div.closest('figure').getAttribute('data-figure-id') : null,
            rendered: div.getAttribute('data-rendered'),
            error: div.getAttribute('data-error'),
            svgs: div.querySelectorAll('svg.main-svg').length,
            traces: div.querySelectorAll('g.trace, g.slice').length,
            data: (div._fullData || []).length,
        }))"""
    )
