"""The governance trend dashboard in a real browser, offline: headless Chromium with every request blocked.

``workbench trends`` runs on a small register built here: twelve incidents over four quarters on three AI
systems, acknowledged (some past the response SLA), with recurring root causes (so the recurrence chart
has chains), overdue action items, a post-mortem past its deadline and an unsent GDPR Art. 33
notification. Every free text that can reach the dashboard (root-cause category, action-item title,
owner and team, incident title) holds the XSS battery of the report tests, cut to each field's length
limit. The page must: attempt no request, log no console error, draw every promised figure
(:data:`analysis._trends_figures.TREND_FIGURES`), run no payload, resolve every TOC link and show the
summary's numbers in its tiles. The "no incidents match" page opens cleanly too. A screenshot goes to
the git-ignored ``test-artifacts/`` folder.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from analysis._trends_figures import TREND_FIGURES
from register import open_register
from register.schema import MAX_NAME_LENGTH, MAX_TITLE_LENGTH
from workbench.trends import TrendRun, run_trends

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
AS_OF = datetime(2026, 6, 30, tzinfo=UTC)


def _packed(payloads: list[str], limit: int) -> list[str]:
    """The payloads joined by spaces into as few strings of at most ``limit`` characters as they fit."""
    chunks: list[str] = []
    for payload in payloads:
        if chunks and len(chunks[-1]) + 1 + len(payload) <= limit:
            chunks[-1] += " " + payload
        else:
            chunks.append(payload)
    assert all(len(chunk) <= limit for chunk in chunks)
    return chunks


def _build(path: Path, payloads: list[str]) -> str:
    """A register of 12 incidents (2025-07 to 2026-06) whose free texts hold the payloads."""
    causes = _packed(payloads, MAX_NAME_LENGTH)  # a root-cause category is a name (<= 200 characters)
    assert len(causes) == 3, causes
    title = _packed(payloads, MAX_TITLE_LENGTH)
    assert len(title) == 1  # one action-item title holds the whole battery
    day = timedelta(days=1)
    # (aware, system, severity, category, cause, minutes to acknowledge, resolved after days, post-mortem)
    incidents: list[tuple[str, str, str, str, str | None, int | None, int | None, str]] = [
        ("2025-07-10", "fraud", "SEV-2", "data_quality", causes[0], 30, 2, "published"),
        ("2025-08-20", "fraud", "SEV-2", "data_quality", causes[0], 120, 5, "reviewed"),  # SLA 1 h: breach
        ("2025-10-05", "fraud", "SEV-3", "data_quality", causes[0], 60, 3, "not_started"),
        ("2025-11-15", "pricing", "SEV-3", "performance_degradation", causes[1], 300, None, "not_started"),
        ("2025-12-20", "pricing", "SEV-2", "performance_degradation", causes[1], 45, 16, "not_started"),
        ("2026-01-25", "chat.bot-1", "SEV-1", "data_exposure_privacy", causes[2], 10, 4, "draft"),
        ("2026-02-28", "chat.bot-1", "SEV-2", "hallucination", causes[2], 180, None, "not_started"),
        ("2026-03-15", "fraud", "SEV-4", "data_quality", causes[0], 120, 2, "not_started"),
        ("2026-04-20", "pricing", "SEV-3", "performance_degradation", causes[1], 20, None, "not_started"),
        ("2026-05-10", "chat.bot-1", "SEV-2", "hallucination", causes[2], 40, None, "not_started"),
        ("2026-06-01", "fraud", "SEV-3", "data_quality", "schema change", 30, None, "not_started"),
        ("2026-06-25", "pricing", "SEV-2", "performance_degradation", None, 240, None, "not_started"),
    ]
    url = str(path)
    with open_register(url, create=True) as reg:
        for system in ("fraud", "pricing", "chat.bot-1"):
            reg.add_system({"id": system, "name": f"{system} model"})
        ids = []
        for number, (aware_day, system, severity, category, cause, ack, resolved, pm) in enumerate(incidents):
            aware = datetime.fromisoformat(aware_day).replace(hour=9, tzinfo=UTC)
            record: dict[str, Any] = {
                "title": f"Incident {number} {payloads[number % len(payloads)]}",
                "category": category,
                "severity": severity,
                "system_id": system,
                "aware_at": aware,
                "acknowledged_at": aware + timedelta(minutes=ack) if ack is not None else None,
                "root_cause_category": cause,
                "postmortem_status": pm,
            }
            if resolved is not None:
                record |= {
                    "status": "closed" if pm in ("published", "reviewed") else "recovered",
                    "contained_at": aware + day,
                    "resolved_at": aware + resolved * day,
                }
                if pm in ("published", "reviewed"):
                    record["closed_at"] = aware + (resolved + 10) * day
            ids.append(reg.add_incident(record).id)
        owners = _packed(payloads, MAX_NAME_LENGTH)
        teams = _packed(list(reversed(payloads)), MAX_NAME_LENGTH)
        items = [
            (ids[0], title[0], "prevent", "2025-09-01", "open"),  # overdue
            (ids[4], "Add a schema check on the price feed", "detect", "2026-02-01", "open"),  # overdue
            (ids[5], "Mask e-mail addresses in prompts", "prevent", "2026-12-01", "open"),
        ]
        for (incident_id, item_title, kind, due, status), owner, team in zip(
            items, owners, teams, strict=True
        ):
            reg.add_action_item(
                {
                    "incident_id": incident_id,
                    "title": item_title,
                    "kind": kind,
                    "owner": owner,
                    "team": team,
                    "due_at": datetime.fromisoformat(due).replace(tzinfo=UTC),
                    "status": status,
                }
            )
        reg.add_action_item(
            {
                "incident_id": ids[1],
                "title": "Alert on feed lag",
                "kind": "detect",
                "owner": "Bo",
                "team": "data platform",
                "due_at": datetime(2025, 10, 1, tzinfo=UTC),
                "status": "done",
                "completed_at": datetime(2025, 9, 20, tzinfo=UTC),
            }
        )
        # the privacy incident's GDPR Art. 33 notice to the regulator: due 72 h after awareness, never sent
        reg.add_notification(
            {
                "incident_id": ids[5],
                "audience": "regulator",
                "regime": "gdpr_art33",
                "report_type": "initial",
                "due_at": datetime(2026, 1, 28, 9, tzinfo=UTC),
            }
        )
    return url


@pytest.fixture(scope="module")
def trends(tmp_path_factory: pytest.TempPathFactory, report_fixture: Any) -> tuple[TrendRun, str, Path]:
    root = tmp_path_factory.mktemp("browser-trends")
    url = _build(root / "register.sqlite", list(report_fixture.XSS_PAYLOADS.values()))
    earlier = root / "reports" / "INC-2025-0001" / "20250801T000000000Z-abcdef"
    earlier.mkdir(parents=True)
    (earlier / "postmortem.html").write_text("<html><body>post-mortem</body></html>")  # rendered before
    return run_trends(url, as_of=AS_OF, reports_dir=root / "reports"), url, root


@pytest.fixture(scope="module")
def summary(trends: tuple[TrendRun, str, Path]) -> dict[str, Any]:
    return json.loads(trends[0].summary_path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def opened(open_offline: Any, trends: tuple[TrendRun, str, Path]) -> Iterator[Any]:
    with open_offline(trends[0].outputs["html"]) as opened:
        yield opened


def test_the_register_exercises_every_block(summary: dict[str, Any]) -> None:
    """The fixture is not vacuous: breaches, overdue items, chains and an overdue notice exist."""
    assert summary["n_incidents"] == 12 and summary["n_open"] == 10  # the two reviewed ones are closed
    assert summary["sla"]["n_breaches"] >= 3
    assert summary["actions"]["overdue"] == 2
    assert summary["postmortems"]["overdue"] >= 1
    # fraud: Jul 10, Aug 20, Oct 5 (Mar 15 is past 90 days); pricing: Nov 15, Dec 20; chat.bot-1: Jan 25,
    # Feb 28, May 10 -> five repeats in three chains
    assert summary["recurrence"]["n_chains"] == 3 and summary["recurrence"]["recurrences"] == 5
    gdpr = {row["regime"]: row for row in summary["regulatory"]["by_regime"]}["gdpr_art33"]
    assert gdpr["overdue"] >= 1


def test_no_network_request_is_attempted(opened: Any) -> None:
    assert opened.blocked == []


def test_no_console_errors_or_warnings(opened: Any) -> None:
    assert opened.problems() == []


def test_every_promised_figure_is_drawn(opened: Any) -> None:
    figures = opened.page.evaluate(
        """(ids) => ids.map(id => {
            const div = document.querySelector(`figure#fig-${id} .wb-plotly`);
            return div === null ? {id, found: false} : {
                id,
                found: true,
                rendered: div.getAttribute('data-rendered'),
                error: div.getAttribute('data-error'),
                svgs: div.querySelectorAll('svg.main-svg').length,
                traces: div.querySelectorAll('g.trace, g.slice').length,
                data: (div._fullData || []).length,
            };
        })""",
        list(TREND_FIGURES),
    )
    assert len(figures) == 6
    for figure in figures:
        assert figure["found"], figure
        assert figure["rendered"] == "true", figure
        assert figure["error"] is None, figure
        assert figure["svgs"] >= 1, figure
        assert figure["traces"] >= 1, figure
        assert figure["data"] >= 1, figure
    assert opened.page.evaluate("() => document.querySelectorAll('.wb-plotly').length") == len(TREND_FIGURES)


def test_xss_battery_does_not_execute_or_break_the_page(opened: Any, report_fixture: Any) -> None:
    page = opened.page
    assert page.evaluate("() => typeof window.__xss") == "undefined"
    assert page.evaluate("() => getComputedStyle(document.body).display") != "none"
    assert page.evaluate("() => document.querySelectorAll('iframe, img, object, embed').length") == 0
    links = page.evaluate(
        """() => Array.from(document.querySelectorAll('a'))
            .map(a => a.getAttribute('href') || a.getAttribute('xlink:href'))
            .filter(href => href !== null && !href.startsWith('#'))"""
    )
    # the only links that leave the page: INC-2025-0001 (in the SLA, recurrence and action tables) to its
    # post-mortem, a relative file path
    assert links and set(links) == {"../../INC-2025-0001/20250801T000000000Z-abcdef/postmortem.html"}
    text = page.inner_text("body")
    for name in ("script", "img_onerror", "attribute_break", "jinja_expression", "iframe"):
        assert report_fixture.XSS_PAYLOADS[name] in text, name  # shown as text, not run
    assert "LOOP" not in text.replace(report_fixture.XSS_PAYLOADS["jinja_statement"], "")
    blocks = ("overview", "volume", "speed", "sla", "recurrence", "actions", "postmortems", "regulatory")
    for anchor in blocks:
        assert page.is_visible(f"#{anchor}"), anchor


def test_the_incident_link_opens_its_post_mortem(
    open_offline: Any, trends: tuple[TrendRun, str, Path]
) -> None:
    with open_offline(trends[0].outputs["html"]) as fresh:  # its own page: this one navigates away
        page = fresh.page
        link = page.locator("#recurrence a", has_text="INC-2025-0001").first
        with page.expect_navigation():
            link.click()
        assert page.url.startswith("file://") and page.url.endswith("/postmortem.html")
        assert page.inner_text("body") == "post-mortem"
        assert fresh.blocked == [] and fresh.problems() == []


def test_toc_links_resolve(opened: Any) -> None:
    page = opened.page
    targets = page.evaluate(
        """() => Array.from(document.querySelectorAll('nav.wb-toc a')).map(a => ({
            href: a.getAttribute('href'),
            found: !!document.getElementById(a.getAttribute('href').slice(1)),
        }))"""
    )
    assert len(targets) == 8
    assert all(target["found"] for target in targets), targets
    page.click("nav.wb-toc a[href='#regulatory']")
    assert page.evaluate("() => window.location.hash") == "#regulatory"


def _tiles(page: Any) -> dict[str, int]:
    """Tile label (the text after the number, up to a bracket) -> its number."""
    rows = page.evaluate(
        """() => Array.from(document.querySelectorAll('#overview .wb-tile')).map(tile => ({
            n: tile.querySelector('.wb-tile-n').textContent,
            text: tile.textContent,
        }))"""
    )
    tiles = {}
    for row in rows:
        label = row["text"].replace(row["n"], "", 1).split("(")[0].strip()
        tiles[" ".join(label.split())] = int(row["n"].replace(",", ""))
    return tiles


def test_the_tiles_show_the_summarys_numbers(opened: Any, summary: dict[str, Any]) -> None:
    tiles = _tiles(opened.page)
    assert tiles["incidents"] == summary["n_incidents"]
    assert tiles["open"] == summary["n_open"]
    assert tiles["response-SLA breaches"] == summary["sla"]["n_breaches"]
    assert tiles["action items overdue"] == summary["actions"]["overdue"]
    assert tiles["post-mortems overdue"] == summary["postmortems"]["overdue"]
    overdue_notices = sum(row["overdue"] for row in summary["regulatory"]["by_regime"])
    assert tiles["notifications overdue"] == overdue_notices


def test_screenshot_is_kept(opened: Any) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    target = ARTIFACTS / "dashboard.png"
    page = opened.page
    page.goto(page.url.split("#")[0])
    page.wait_for_function(
        "() => Array.from(document.querySelectorAll('.wb-plotly'))"
        ".every(d => d.getAttribute('data-rendered'))"
    )
    page.screenshot(path=str(target), full_page=True)
    assert target.stat().st_size > 10_000


@pytest.fixture(scope="module")
def no_match(open_offline: Any, trends: tuple[TrendRun, str, Path]) -> Iterator[Any]:
    _, url, root = trends
    run = run_trends(url, as_of=AS_OF, reports_dir=root / "empty", systems=["nothing"], formats=["html"])
    with open_offline(run.outputs["html"]) as opened:
        yield opened


def test_the_no_match_page_opens_cleanly_and_says_so(no_match: Any) -> None:
    page = no_match.page
    assert no_match.blocked == [] and no_match.problems() == []
    assert page.evaluate("() => document.querySelectorAll('.wb-plotly').length") == 0
    assert page.is_visible("#no-match")
    assert "No incidents match" in page.inner_text("#no-match h2")
    assert "Widen the period or the filters." in page.inner_text("#no-match")
    targets = page.evaluate(
        "() => Array.from(document.querySelectorAll('nav.wb-toc a'))"
        ".map(a => !!document.getElementById(a.getAttribute('href').slice(1)))"
    )
    assert targets == [True]


def test_a_link_in_a_root_cause_is_not_live_in_the_recurrence_chart(
    open_offline: Any, tmp_path: Path
) -> None:
    cause = '<a href="https://evil.example/phish">runbook</a>'
    url = str(tmp_path / "register.sqlite")
    with open_register(url, create=True) as reg:
        reg.add_system({"id": "fraud", "name": "Fraud model"})
        for aware in (datetime(2026, 3, 1, 9, tzinfo=UTC), datetime(2026, 4, 1, 9, tzinfo=UTC)):
            reg.add_incident(
                {"title": "Feed", "category": "data_quality", "severity": "SEV-3", "system_id": "fraud",
                 "aware_at": aware, "acknowledged_at": aware, "root_cause_category": cause}
            )  # fmt: skip
    run = run_trends(url, as_of=AS_OF, reports_dir=tmp_path / "reports", formats=["html"])
    with open_offline(run.outputs["html"]) as opened:
        links = opened.page.evaluate(
            """() => Array.from(document.querySelectorAll('.wb-plotly a'))
                .map(a => a.getAttribute('href') || a.getAttribute('xlink:href'))"""
        )
        assert opened.page.inner_text("#fig-recurrence")  # the chart is there
        assert links == [], links
