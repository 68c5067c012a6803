"""The LLM section end to end: `workbench investigate` and the post-mortem of the chatbot's planted incidents.

On the small scenario (seed 7, 300 rows a day): the exposure counts equal the ground truth of k and the
leaking index is named first; the injection successes of l are exact and the campaign's onset is within
one hour; every artefact of both runs (summaries, figures, executed notebooks, manifests, the HTML and
Markdown reports, postmortem.json) holds none of the planted raw values.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from register import open_register
from register.io import read_bundle
from workbench.investigate import investigate
from workbench.postmortem_cli import render_postmortem

pytestmark = [pytest.mark.notebooks, pytest.mark.slow]

_NUMBER = re.compile(r"\+?\d[\d \-.()]{8,}\d")


def _ts(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


@pytest.fixture(scope="module")
def chatbot_runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, dict[str, Path], dict[str, dict]]:
    """Investigate and render k (exposure) and l (injection) once for the module."""
    from workbench.scenarios import generate

    out = tmp_path_factory.mktemp("llm_section")
    scenario = generate(out, seed=7, rows_per_day=300)
    truth = json.loads((out / "ground_truth.json").read_text())
    llm = {s["id"][0]: s for s in truth["llm_scenarios"]}
    url = str(out / "register.sqlite")
    with open_register(url, create=True) as register:
        register.import_bundle(read_bundle(out / "register"), by="test")
    runs: dict[str, Path] = {}
    reports: dict[str, dict] = {}
    for key in ("k", "l"):
        incident_id = llm[key]["incident_id"]
        run = investigate(url, incident_id, as_of=scenario.as_of, reports_dir=out / "reports", by="test")
        runs[key] = run.run_dir
        reports[key] = render_postmortem(
            url, incident_id, run_dir=run.run_dir, formats=("html", "md"), as_of=scenario.as_of, by="test"
        )
    return llm, runs, reports


@pytest.fixture(scope="module")
def register_url(chatbot_runs) -> str:
    _, runs, _ = chatbot_runs
    return str(next(iter(runs.values())).parents[2] / "register.sqlite")


def _summary(run: Path) -> dict:
    return json.loads((run / "llm" / "summary.json").read_text())


def test_only_the_llm_section_runs_for_an_interaction_log(chatbot_runs) -> None:
    _, runs, reports = chatbot_runs
    for key, run in runs.items():
        assert (run / "llm" / "summary.json").is_file()
        assert not (run / "drift").exists() and not (run / "fairness").exists()
        html = Path(reports[key]["html"]).read_text()
        assert 'id="section-llm"' in html
        assert 'id="section-drift"' not in html and 'id="section-root_cause"' not in html


def test_exposure_counts_equal_the_ground_truth_of_k(chatbot_runs) -> None:
    llm, runs, _ = chatbot_runs
    exposure, cause = llm["k"]["exposure"], llm["k"]["cause"]
    summary = _summary(runs["k"])["exposure"]
    total = summary["total"]
    assert (total["rows"], total["conversations"], total["users"]) == (
        exposure["rows"],
        exposure["conversations"],
        exposure["users"],
    )
    assert total["in_incident_window"] == exposure["rows"]
    assert _ts(total["first_seen"]) == _ts(exposure["first_seen"])
    assert summary["reference_rows"] == 0
    by_type = {row["entity"]: row["rows"] for row in summary["entities"]}
    names = {"CREDIT_CARD": "card_number", "EMAIL_ADDRESS": "email", "PHONE_NUMBER": "phone"}
    assert by_type == {names[kind]: counts["rows"] for kind, counts in exposure["entity_types"].items()}
    assert (total["sources"][0]["kind"], total["sources"][0]["value"]) == (
        "gen_ai.data_source.id",
        cause["data_source"]["after"],
    )
    # the notification's facts: categories in words, and a lower bound of the people concerned
    assert set(summary["categories"]) == {"e-mail addresses", "phone numbers", "payment card numbers"}
    assert 0 < summary["people_at_least"] <= len(exposure["values"])


def test_injection_successes_and_onset_of_l(chatbot_runs) -> None:
    llm, runs, _ = chatbot_runs
    truth = llm["l"]
    injection = _summary(runs["l"])["injection"]
    assert injection["totals"]["successes"] == truth["affected"]["calls"]
    assert injection["totals"]["attempts"] == truth["injection"]["attempts"]["total"]
    assert injection["campaign"] is True
    assert abs(_ts(injection["onset"]) - _ts(truth["cause"]["onset"])) <= timedelta(hours=1)
    assert set(injection["main_attackers"]) == set(truth["injection"]["main_attackers"])


def test_the_post_mortem_states_the_findings_in_plain_sentences(chatbot_runs) -> None:
    llm, _, reports = chatbot_runs
    markdown = Path(reports["k"]["md"]).read_text()
    rows = llm["k"]["exposure"]["rows"]
    assert f"{rows:,} answers in" in markdown and "showed" in markdown
    assert "For the notification (GDPR Art. 33)" in markdown
    # the notifications part carries the facts a breach notification must state, from the scan
    notifications = markdown.split("What a personal-data breach notification must state", 1)[1]
    assert "e-mail addresses" in notifications.split("\n- Approximate", 1)[0]
    assert f"- Records concerned: {rows:,} answers" in notifications
    markdown_l = Path(reports["l"]["md"]).read_text()
    assert "prompt-injection attempts" in markdown_l and "succeeded" in markdown_l
    assert "breach notification must state" not in markdown_l  # l exposed no personal data


def test_no_artefact_holds_a_planted_raw_value(chatbot_runs) -> None:
    llm, runs, _ = chatbot_runs
    values = llm["k"]["exposure"]["values"]
    assert len(values) > 20
    digit_runs = {"".join(c for c in value if c.isdigit()) for value in values}
    digit_runs = {run for run in digit_runs if len(run) >= 10}
    files = [path for run in runs.values() for path in run.rglob("*") if path.is_file()]
    assert {path.suffix for path in files} >= {".json", ".ipynb", ".html", ".md"}
    for path in files:
        text = path.read_text(encoding="utf-8", errors="replace")
        assert [value for value in values if value in text] == [], path
        # the value written another way (other separators): every run of digits and separators
        written = {"".join(c for c in m.group(0) if c.isdigit()) for m in _NUMBER.finditer(text)}
        assert [run for run in digit_runs if any(run in number for number in written)] == [], path


def test_without_content_the_attribute_analyses_still_run_and_say_what_was_skipped(
    chatbot_runs, register_url
) -> None:
    """Content is opt-in in the conventions: a log without it gets failure rates, and the reasons."""
    from analysis.context import build_context
    from analysis.llm import analyse_llm

    llm, runs, _ = chatbot_runs
    with open_register(register_url) as register:
        incident, card = register.incident_with_card(llm["n"]["incident_id"])
    roles = card.interaction
    assert roles is not None
    no_content = card.model_copy(
        update={
            "interaction": roles.model_copy(
                update={"input_messages": None, "output_messages": None, "system_instructions": None}
            )
        }
    )
    as_of = json.loads((runs["k"] / "context.json").read_text())["windows"]["as_of"]
    context = build_context(incident, no_content, as_of=as_of)
    analysis = analyse_llm(no_content, context.windows)
    assert analysis.exposure is None and analysis.injection is None
    assert any("opt-in" in reason for reason in analysis.skipped)
    assert any("gen_ai.input.messages" in reason for reason in analysis.skipped)
    assert analysis.failures is not None and analysis.failures.metrics
