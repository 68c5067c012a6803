"""Headless Chromium for the report tests (post-mortem and trend dashboard): one browser per module.

Pages are opened offline by ``browser_harness.open_offline`` (every request that is not a ``file://`` URL
is aborted and recorded; console messages and page errors are collected).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from typing import Any

import pytest
from browser_harness import CHROMIUM

from workbench.report import CHROMIUM_FLAGS


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
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
