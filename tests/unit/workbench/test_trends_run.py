"""``workbench trends``: the notebook run, the dashboard and the digest on a small register built here.

Register texts that reach the dashboard (root-cause category, action-item titles and owners, team) hold
the XSS battery and a planted e-mail address: the HTML escapes them, the Markdown escapes them, the
policy's redaction removes the address. The digest's numbers are the summary's.
"""

from __future__ import annotations

import html
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from register import open_register
from workbench.cli import main
from workbench.trends import run_trends

AS_OF = datetime(2026, 6, 30, tzinfo=UTC)
PAYLOAD = '<script>window.__xss = 1</script><img src=x onerror="window.__xss=1">'
EMAIL = "jane.doe@example.com"


def _build(path: Path) -> str:
    url = str(path)
    with open_register(url, create=True) as reg:
        reg.add_system({"id": "fraud", "name": "Fraud model"})
        reg.add_system({"id": "pricing", "name": "Pricing model"})
        start = datetime(2026, 1, 5, 9, tzinfo=UTC)
        for i in range(6):
            aware = start + timedelta(days=20 * i)
            reg.add_incident(
                {
                    "title": f"Incident {i}",
                    "category": "data_quality",
                    "severity": "SEV-2" if i % 2 else "SEV-3",
                    "system_id": "fraud" if i < 4 else "pricing",
                    "aware_at": aware,
                    "acknowledged_at": aware + timedelta(minutes=30 + 60 * i),
                    "root_cause_category": f"feed {PAYLOAD}" if i < 3 else "schema change",
                }
            )
        ids = [incident.id for incident in reg.list_incidents()]
        reg.add_action_item(
            {
                "incident_id": ids[0],
                "title": f"Fix the feed {PAYLOAD} ask {EMAIL}",
                "kind": "prevent",
                "owner": f"Ann {PAYLOAD}",
                "team": "[team](javascript:alert(1))",
                "due_at": datetime(2026, 2, 1, tzinfo=UTC),
            }
        )
        reg.add_action_item(
            {
                "incident_id": ids[1],
                "title": "Add a check",
                "kind": "detect",
                "due_at": datetime(2026, 12, 1, tzinfo=UTC),
            }
        )
    return url


@pytest.fixture(scope="module")
def trends_run(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("trends")
    url = _build(root / "register.sqlite")
    earlier = root / "reports" / "INC-2026-0001" / "20260301T000000000Z-abcdef"
    earlier.mkdir(parents=True)
    (earlier / "postmortem.html").write_text("<html></html>")  # a post-mortem rendered before
    return run_trends(url, as_of=AS_OF, reports_dir=root / "reports"), url, root


def test_the_run_writes_the_dashboard_digest_summary_figures_and_manifest(trends_run) -> None:
    run, _, root = trends_run
    assert run.run_dir.parent == root / "reports" / "trends"
    assert set(run.outputs) == {"html", "md"}
    work = run.run_dir / "trends"
    for name in ("summary.json", "incidents.csv", "action_items.parquet", "trends.ipynb"):
        assert (work / name).is_file(), name
    figures = sorted(path.stem for path in (work / "figures").glob("*.json"))
    assert figures == sorted(["volume", "burn_up", "speed", "sla", "recurrence", "action_ageing"])
    manifest = json.loads((run.run_dir / "manifest.json").read_text())
    assert manifest["status"] == "succeeded" and manifest["context"]["kind"] == "trends"


def test_incident_ids_link_to_their_latest_post_mortem(trends_run) -> None:
    run, _, _ = trends_run
    link = "../../INC-2026-0001/20260301T000000000Z-abcdef/postmortem.html"
    assert f'<a href="{link}">INC-2026-0001</a>' in run.outputs["html"].read_text(encoding="utf-8")
    assert f"[INC-2026-0001](<{link}>)" in run.outputs["md"].read_text(encoding="utf-8")
    assert (run.run_dir / link).resolve().is_file()


def test_register_text_is_escaped_and_redacted_in_the_dashboard(trends_run) -> None:
    run, _, _ = trends_run
    page = run.outputs["html"].read_text(encoding="utf-8")
    assert "<script>window.__xss" not in page and "<img src=x" not in page
    assert html.escape("<script>window.__xss = 1</script>", quote=False) in page  # shown, as text
    assert EMAIL not in page and "[redacted email]" in page
    assert "<script src=" not in page  # plotly.js is embedded, nothing is loaded (the browser test checks)


def test_the_digest_escapes_markdown_and_shows_the_summarys_numbers(trends_run) -> None:
    run, _, _ = trends_run
    digest = run.outputs["md"].read_text(encoding="utf-8")
    summary = json.loads((run.run_dir / "trends" / "summary.json").read_text())
    assert "](javascript:" not in digest and EMAIL not in digest and "<script>" not in digest
    actions = summary["actions"]
    assert f"Action items: {actions['overdue']} overdue of {actions['open']} open" in digest
    assert actions["overdue"] == 1 and actions["open"] == 2
    pm = summary["postmortems"]
    assert f"Post-mortems: {pm['overdue']} overdue, {pm['due']} due." in digest
    assert f"Response SLA: {summary['sla']['n_breaches']} breaches in scope." in digest
    # the dashboard's tiles show the same numbers
    page = run.outputs["html"].read_text(encoding="utf-8")
    tiles = {
        label.strip(): int(number.replace(",", ""))
        for number, label in re.findall(r'wb-tile-n">([\d,]+)</span>\s*([^<(]+)', page)
    }
    assert tiles["response-SLA breaches"] == summary["sla"]["n_breaches"]
    assert tiles["action items overdue"] == actions["overdue"]
    assert tiles["open"] == summary["n_open"]


def test_recurrence_and_sla_numbers_from_the_register(trends_run) -> None:
    run, _, _ = trends_run
    summary = json.loads((run.run_dir / "trends" / "summary.json").read_text())
    # fraud + the payload cause: days 0, 20, 40 -> two repeats within 90 days; pricing/schema change: 80, 100
    assert summary["recurrence"]["recurrences"] == 3 and summary["recurrence"]["n_chains"] == 3 - 1
    # acknowledged after 30, 90, 150, 210, 270, 330 min: SEV-3 (4 h) met for 30/150 min, breached at 270 min;
    # SEV-2 (1 h) breached at 90, 210 and 330 min
    sev = {row["severity"]: row for row in summary["sla"]["by_severity"]}
    assert (sev["SEV-3"]["met"], sev["SEV-3"]["breached"]) == (2, 1)
    assert (sev["SEV-2"]["met"], sev["SEV-2"]["breached"]) == (0, 3)


def test_cli_filters_to_nothing_render_a_no_match_page(
    trends_run, capsys: pytest.CaptureFixture[str]
) -> None:
    _, url, root = trends_run
    code = main(
        ["trends", "--register", url, "--as-of", "2026-06-30T00:00:00Z", "--system", "nothing",
         "--out", str(root / "empty"), "--format", "html,md"]
    )  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0, out
    assert "No incidents match (system nothing)." in out
    (page,) = (root / "empty" / "trends").glob("*/dashboard.html")
    text = page.read_text(encoding="utf-8")
    assert "No incidents match" in text and 'id="speed"' not in text


def test_cli_refuses_an_unknown_severity_and_a_reversed_period(trends_run, capsys) -> None:
    _, url, root = trends_run
    assert main(["trends", "--register", url, "--severity", "SEV-9", "--out", str(root / "x")]) == 2
    assert "--severity must be one of SEV-1" in capsys.readouterr().err
    assert main(["trends", "--register", url, "--from", "2026-05-01", "--to", "2026-04-01"]) == 2
    assert "--to must be after --from" in capsys.readouterr().err
    assert main(["trends", "--register", url, "--format", "pdf", "--out", str(root / "x")]) == 2
    assert "formats must list html and/or md" in capsys.readouterr().err


def test_a_register_of_public_incidents_renders_with_response_panels_not_recorded(tmp_path: Path) -> None:
    """The AIID fixture (as the register tests import it) and the AIAAIC fixture, through the CLI."""
    fixtures = Path(__file__).resolve().parents[1] / "register" / "fixtures"
    url = str(tmp_path / "public.sqlite")
    assert main(["register", "init", "--register", url]) == 0
    assert main(["register", "import", str(fixtures / "aiid"), "--aiid", "--register", url]) == 0
    aaic = next((fixtures / "aiaaic").glob("*.csv"))
    assert main(["register", "import", str(aaic), "--aiaaic", "--register", url]) == 0
    out = tmp_path / "reports"
    assert main(["trends", "--register", url, "--as-of", "2026-06-30T00:00:00Z", "--out", str(out)]) == 0
    (run_dir,) = (out / "trends").iterdir()
    summary = json.loads((run_dir / "trends" / "summary.json").read_text())
    n = summary["n_incidents"]
    assert n > 0 and summary["n_response_not_recorded"] == n
    assert set(summary["origins"]) == {"aiid", "aiaaic"}
    assert summary["sla"]["n_breaches"] == 0
    assert all(row["met"] == row["breached"] == 0 for row in summary["sla"]["by_severity"])
    assert sum(row["not_recorded"] for row in summary["sla"]["by_severity"]) == n
    ack = next(r for r in summary["speed"] if r["measure"] == "acknowledge" and r["severity"] == "all")
    assert (ack["n"], ack["not_recorded"]) == (0, n)
    assert summary["postmortems"]["overdue"] == 0
    assert all(row["overdue"] == 0 for row in summary["regulatory"]["by_regime"])
    # volume and taxonomy panels work: categories mapped from the taxonomy are counted
    categories = {row["value"] for row in summary["volume"]["category"]}
    assert len(categories) >= 2, categories
    page = (run_dir / "dashboard.html").read_text(encoding="utf-8")
    assert "public or imported records have no response times of ours" in page
    assert "Traceback" not in page


def test_rendering_a_run_needs_no_scipy() -> None:
    # render_trends reads summary.json through analysis.trends in the CLI process: SciPy (about 1 s of
    # import) is loaded only by the functions that compute intervals and trend tests, in the notebook
    import subprocess
    import sys

    code = "import sys, analysis.trends, workbench.trends; print('scipy' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"
