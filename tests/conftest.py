"""Suite-wide pytest configuration.

Under ``CI=true`` a skipped test that needs a system service (PostgreSQL, Chromium, Spark) is a failure:
CI must prove those paths, never pass by skipping them.

The browser tests' harness lives here too (``browser``, ``open_offline``, ``report_fixture``): a
``conftest.py`` in ``tests/browser/`` would be imported under the same module name as this one
(``--doctest-modules`` collects conftest files, and no test folder is a package), which pytest refuses.
``browser`` is one persistent Chromium context per test module (skipped when Chromium or playwright is
missing; under ``CI=true`` that skip is a failure). ``open_offline`` opens a local file with every request
that is not ``file://`` aborted and recorded, console messages and page errors collected, and waits until
every plotly div (``.wb-plotly``) says it rendered or failed. ``report_fixture`` is the unit tests' report
fixture module (its ``XSS_PAYLOADS`` battery).
"""

from __future__ import annotations

import importlib.util
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

SERVICE_MARKERS = ("postgres", "browser", "spark")


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):
    outcome = yield
    report = outcome.get_result()
    if not (_in_ci() and report.skipped):
        return
    needed = [name for name in SERVICE_MARKERS if item.get_closest_marker(name) is not None]
    if not needed or hasattr(report, "wasxfail"):
        return
    reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
    report.outcome = "failed"
    report.longrepr = f"skipped under CI=true, but this test needs {', '.join(needed)}: {reason}"


ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
FIXTURES = ROOT / "tests" / "unit" / "workbench" / "fixtures"

PLOTLY_SETTLED = (
    "() => Array.from(document.querySelectorAll('.wb-plotly')).every("
    "d => d.getAttribute('data-rendered') || d.getAttribute('data-error'))"
)
"""True once every plotly div of the page has drawn (``data-rendered``) or given up (``data-error``)."""


@dataclass
class OfflinePage:
    """A page opened offline: the playwright page, the requests it tried, what its console said."""

    page: Any
    blocked: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)

    def problems(self) -> list[str]:
        """Console lines that mean something is wrong: errors, warnings, and plotly.js's ``WARN:`` traces."""
        return [
            line
            for line in self.console
            if line.startswith(("error", "pageerror", "warning")) or "WARN" in line or "Invalid" in line
        ]


@pytest.fixture(scope="session")
def report_fixture() -> Any:
    """The report fixture module (``XSS_PAYLOADS``, ``fixture_content``) of the unit tests."""
    spec = importlib.util.spec_from_file_location("report_fixture", FIXTURES / "report_fixture.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("report_fixture", module)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One Chromium per test module: a module's scope, never the session's.

    Playwright's sync API keeps an asyncio loop running in the thread while it is open: open for the
    session, it made every later ``asyncio.run`` (the runner's kernel tests) and every other
    ``sync_playwright()`` in the same worker fail ("cannot be called from a running event loop").
    """
    from workbench.report import CHROMIUM_FLAGS

    if not CHROMIUM.exists():
        pytest.skip("headless Chromium is not installed at /usr/bin/chromium (apt-get install chromium)")
    playwright_api = pytest.importorskip("playwright.sync_api")
    with (
        tempfile.TemporaryDirectory(prefix="workbench-browser-") as profile,
        playwright_api.sync_playwright() as playwright,
    ):
        context = playwright.chromium.launch_persistent_context(
            profile,
            executable_path=str(CHROMIUM),
            args=list(CHROMIUM_FLAGS),
            headless=True,
            viewport={"width": 1200, "height": 900},
        )
        try:
            yield context
        finally:
            context.close()


@pytest.fixture(scope="module")
def open_offline(browser: Any) -> Callable[[Path], Any]:
    """``with open_offline(path) as opened:`` an :class:`OfflinePage`, closed on leaving the block."""

    @contextmanager
    def opener(path: Path) -> Iterator[OfflinePage]:
        opened = OfflinePage(page=browser.new_page())

        def route(route: Any) -> None:
            url = route.request.url
            if url.startswith("file://"):
                route.continue_()
            else:
                opened.blocked.append(url)
                route.abort()

        page = opened.page
        try:
            page.route("**/*", route)
            page.on("console", lambda message: opened.console.append(f"{message.type}: {message.text}"))
            page.on("pageerror", lambda error: opened.console.append(f"pageerror: {error}"))
            page.goto(path.as_uri())
            page.wait_for_function(PLOTLY_SETTLED, timeout=60_000)
            yield opened
        finally:
            page.close()

    return opener
