"""A section from a test-only package, added with no edit under `workbench/`: found, run, rendered.

``tests/toy_section`` holds one module (``section.py``), its notebook and its two templates; this test
declares it through a ``workbench.sections`` entry point (a dist-info folder on ``sys.path``, as an
installed package would have) and drives it like a user: ``workbench investigate --section toy``, then
``workbench postmortem``.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from register import open_register
from register.schema import AiSystem, ColumnRoles, DataCard, DataSource, Incident
from workbench.cli import main
from workbench.sections import available_sections, reload_sections, report_outline

pytestmark = [pytest.mark.notebooks]

TESTS_DIR = Path(__file__).resolve().parents[1]
INCIDENT = "INC-2026-0007"
AS_OF = datetime(2026, 3, 31, tzinfo=UTC)


@pytest.fixture
def toy_installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The toy package importable (here and in kernels) and declared by an entry point."""
    site = tmp_path / "site"
    dist = site / "toy_section-0.1.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: toy-section\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[workbench.sections]\ntoy = toy_section.section:SECTION\n")
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.syspath_prepend(str(TESTS_DIR))
    path = os.environ.get("PYTHONPATH")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(TESTS_DIR), *([path] if path else [])]))
    reload_sections()
    yield
    reload_sections()


@pytest.fixture
def tiny_register(tmp_path: Path) -> str:
    """A register with one system whose log is a small Parquet file, and one incident."""
    start = AS_OF - timedelta(days=60)
    n = 60 * 24
    times = [start + timedelta(hours=i) for i in range(n)]
    frame = pd.DataFrame(
        {
            "ts": pd.to_datetime(times, utc=True).astype("datetime64[us, UTC]"),
            "customer": [f"c{i % 97}" for i in range(n)],
            "x": [float(i % 13) for i in range(n)],
            "p": [i % 2 for i in range(n)],
            "y": [(i // 3) % 2 for i in range(n)],
        }
    )
    log = tmp_path / "log.parquet"
    frame.to_parquet(log)
    card = DataCard(
        source=DataSource(location=str(log)),
        task="binary_classification",
        columns=ColumnRoles(event_time="ts", entity_id="customer", features=["x"], prediction="p", label="y"),
    )
    url = str(tmp_path / "register.sqlite")
    with open_register(url, create=True) as register:
        register.add_system(AiSystem(id="toy-model", name="Toy model", data_card=card), by="test")
        register.add_incident(
            Incident(
                id=INCIDENT,
                title="Toy incident",
                system_id="toy-model",
                category="data_quality",
                severity="SEV-3",
                occurred_at=AS_OF - timedelta(days=10),
                aware_at=AS_OF - timedelta(days=9),
            ),
            by="test",
        )
    return url


def test_toy_section_is_found_run_validated_rendered_and_listed(
    toy_installed, tiny_register: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from workbench.runner import check_section_notebook

    sections = {section.key: section for section in available_sections()}
    assert list(sections)[-1] == "toy"  # after the built-in ones (its declared order)
    assert check_section_notebook(sections["toy"], tmp_path) == []  # its notebook keeps the contract
    outline = [entry.key for entry in report_outline()]
    assert outline.index("drift") < outline.index("toy") < outline.index("contributing_factors")

    reports = tmp_path / "reports"
    argv = ["--register", tiny_register, "--reports-dir", str(reports), "--as-of", AS_OF.isoformat()]
    code = main(["investigate", INCIDENT, *argv, "--section", "toy"])
    out = capsys.readouterr().out
    assert code == 0, out
    # the CLI's run summary is the section's own headline
    assert "toy: toy counted 240 incident-window rows (toy rows)" in out
    (run_dir,) = (reports / INCIDENT).iterdir()
    assert (run_dir / "toy" / "summary.json").is_file()
    assert (run_dir / "toy" / "figures" / "toy_rows.json").is_file()

    code = main(["postmortem", INCIDENT, "--register", tiny_register, "--reports-dir", str(reports)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    html = (run_dir / "postmortem.html").read_text(encoding="utf-8")
    markdown = (run_dir / "postmortem.md").read_text(encoding="utf-8")
    # rendered from the toy's own templates, listed in the table of contents, its event in the timeline
    assert 'class="toy-finding"' in html and "<strong>240</strong>" in html
    assert 'href="#section-toy"' in html and "Toy rows per window" in html
    assert "Toy section looked at the log" in html
    assert "The toy section counted **240** decisions" in markdown.replace("\\", "")
