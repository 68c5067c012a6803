"""The README's "typical investigation" runs as written, on a fresh folder holding a small ``demo/``."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = [pytest.mark.slow, pytest.mark.notebooks]


def readme_walkthrough() -> list[str]:
    """The commands of the README's block after "A typical investigation:" (comments dropped)."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"A typical investigation:\s*```bash\n(.*?)```", text, flags=re.S)
    assert block, "the README lost its typical investigation"
    commands = [line.split("#", 1)[0].strip() for line in block.group(1).splitlines()]
    return [command for command in commands if command]


def test_the_walkthrough_names_only_workbench_commands() -> None:
    commands = readme_walkthrough()
    assert len(commands) >= 3
    assert all(command.startswith("workbench ") for command in commands)


def test_readme_walkthrough_runs_verbatim(tmp_path: Path) -> None:
    from workbench.scenarios import generate

    chromium = Path("/usr/bin/chromium")
    if not chromium.exists():
        pytest.skip("the walkthrough renders a PDF: headless Chromium is needed (apt-get install chromium)")
    generate(tmp_path / "demo", seed=7, rows_per_day=150)  # `make demo`'s seed, fewer rows
    workbench = Path(sys.executable).with_name("workbench")
    env = {key: value for key, value in os.environ.items() if key != "WORKBENCH_REGISTER_URL"}
    for command in readme_walkthrough():
        argv = shlex.split(command)
        done = subprocess.run(
            [str(workbench), *argv[1:]], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600
        )
        assert done.returncode == 0, f"{command}\n{done.stdout}\n{done.stderr}"
        assert "Traceback" not in done.stderr, command
    reports = list((tmp_path / "reports" / "INC-2025-0071").glob("*/postmortem.*"))
    assert {path.suffix for path in reports} >= {".html", ".md", ".pdf", ".json"}
    oecd = tmp_path / "reports" / "INC-2025-0071" / "regulator" / "oecd" / "initial"
    written = {path.name for path in oecd.iterdir()}
    assert written >= {"draft.html", "draft.md", "draft.json", "oecd_criteria.json"}
    (dashboard,) = (tmp_path / "reports" / "trends").glob("*/dashboard.html")
    assert (dashboard.parent / "digest.md").is_file()
    # the walkthrough's own post-mortem is linked from the dashboard wherever the incident is listed
    assert "INC-2025-0071" in (dashboard.parent / "trends" / "incidents.csv").read_text(encoding="utf-8")
