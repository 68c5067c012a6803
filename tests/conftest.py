"""Suite-wide pytest configuration.

Under ``CI=true`` a skipped test that needs a system service (PostgreSQL, Chromium, Spark) is a failure:
CI must prove those paths, never pass by skipping them.
"""

from __future__ import annotations

import os

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
