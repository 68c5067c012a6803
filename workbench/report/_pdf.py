"""The PDF report: the HTML report printed by headless Chromium."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

from workbench.errors import WorkbenchError
from workbench.report._content import RenderedReport

__all__ = ["CHROMIUM_FLAGS", "ChromiumNotFound", "find_chromium", "render_pdf"]

CHROMIUM_FLAGS: tuple[str, ...] = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
"""Flags for headless Chromium: without the background-networking ones it keeps reaching the network."""


class ChromiumNotFound(WorkbenchError):
    """No headless Chromium to print the PDF with."""


def find_chromium(
    candidates: Sequence[str] = ("/usr/bin/chromium", "chromium", "chromium-browser"),
) -> str | None:
    """Path of a Chromium executable, or ``None``.

    Examples
    --------
    >>> find_chromium(["/surely/not/here/chromium"]) is None
    True
    """
    for candidate in candidates:
        found = (
            candidate
            if os.path.isabs(candidate) and os.access(candidate, os.X_OK)
            else shutil.which(candidate)
        )
        if found:
            return found
    return None


def render_pdf(
    html_path: str | Path,
    output_path: str | Path,
    *,
    chromium: str | None = None,
    timeout_s: float = 120.0,
    virtual_time_budget_ms: int = 15000,
) -> RenderedReport:
    """Print the HTML report to PDF with headless Chromium.

    Parameters
    ----------
    html_path : str or Path
        The rendered HTML report.
    output_path : str or Path
        Where to write the PDF (a relative path is taken from the working directory).
    chromium : str or None
        The Chromium executable (default: :func:`find_chromium`).
    timeout_s : float
        Seconds Chromium may take.
    virtual_time_budget_ms : int
        Virtual time Chromium gives scripts (plotly drawing) before printing.

    Returns
    -------
    RenderedReport
        Its ``path`` is ``output_path`` as given.

    Raises
    ------
    ChromiumNotFound
        No Chromium is installed; the message says how to install one.
    WorkbenchError
        Chromium failed or wrote no PDF.
    """
    executable = chromium or find_chromium()
    if executable is None:
        raise ChromiumNotFound(
            "PDF output needs headless Chromium, which is not installed. Install it with "
            "`apt-get install chromium` (Debian/Ubuntu), or render --format html,md."
        )
    source = Path(html_path).resolve()
    if not source.is_file():
        raise WorkbenchError(f"html_path must be an existing HTML report. Got {source} instead.")
    target = Path(output_path).resolve()  # Chromium runs elsewhere: it is given absolute paths
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="workbench-chromium-") as profile:
        command = [
            executable,
            *CHROMIUM_FLAGS,
            f"--user-data-dir={profile}",
            "--run-all-compositor-stages-before-draw",
            f"--virtual-time-budget={virtual_time_budget_ms}",
            "--no-pdf-header-footer",
            f"--print-to-pdf={target}",
            source.as_uri(),
        ]
        try:
            completed = subprocess.run(
                command, capture_output=True, text=True, timeout=timeout_s, check=False
            )
        except subprocess.TimeoutExpired as exc:
            raise WorkbenchError(f"Chromium did not print {source} within {timeout_s:.0f} s.") from exc
    if completed.returncode != 0 or not target.is_file() or target.stat().st_size == 0:
        tail = (completed.stderr or "").strip().splitlines()[-3:]
        raise WorkbenchError(f"Chromium could not print {source} to PDF: {' | '.join(tail) or 'no output'}")
    return RenderedReport(path=Path(output_path), format="pdf")
