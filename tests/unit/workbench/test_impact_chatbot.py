"""Impact on the support chatbot's planted incidents: the register's failure signals give the ground truth.

For each of k (exposure finding), l (injection success), m (groundedness below 0.5) and n (error type) the
affected calls, users and conversations in the incident window equal ``signal_affected`` of the ground truth
(every call the signal fails there, planted or background), and ``workbench investigate`` runs the impact
section on the outage incident.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from analysis.context import build_context
from analysis.impact import assess_impact, open_impact_log
from register import open_register
from register.io import read_bundle


@pytest.fixture(scope="module")
def chatbot(small_scenario, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict]:
    truth = json.loads(small_scenario.ground_truth_path.read_text())
    url = str(tmp_path_factory.mktemp("impact_chatbot") / "register.sqlite")
    with open_register(url, create=True) as register:
        register.import_bundle(read_bundle(small_scenario.register_dir), by="test")
    return url, {s["id"][0]: s for s in truth["llm_scenarios"]}


@pytest.mark.parametrize("key", ["k", "l", "m", "n"])
def test_affected_calls_users_and_conversations_equal_the_ground_truth(small_scenario, chatbot, key) -> None:
    url, llm = chatbot
    with open_register(url) as register:
        incident, card = register.incident_with_card(llm[key]["incident_id"])
    context = build_context(incident, card, as_of=small_scenario.as_of)
    assert context.signal is not None and context.signal.model_dump(mode="json") == llm[key]["failure_signal"]
    result = assess_impact(open_impact_log(context), context.card, context.windows, signal=context.signal)
    expected = llm[key]["signal_affected"]
    assert expected["calls"] > 0
    measured = (result.n_affected_decisions, result.n_affected_entities, result.n_affected_conversations)
    assert measured == (expected["calls"], expected["users"], expected["conversations"])
    if key in "kl":  # nothing of the kind before the incident: every affected call is excess
        assert result.reference.n_failures == 0
        assert (
            result.excess_failures is not None and round(result.excess_failures.estimate) == expected["calls"]
        )
    if key == "k":
        assert expected["calls"] == llm[key]["exposure"]["rows"]
    if key == "m":  # the planted answers are part of it, and the excess covers them
        planted = llm[key]["affected"]["calls"]
        assert planted <= expected["calls"]
        assert result.excess_failures.lower <= planted <= result.excess_failures.upper
    # every incident ended long before as_of: the recent day is not above the baseline
    assert result.still_happening.verdict in ("subsided", "inconclusive")


def test_investigate_runs_the_impact_section_on_the_outage(small_scenario, chatbot, tmp_path: Path) -> None:
    from workbench.investigate import investigate

    url, llm = chatbot
    truth = llm["n"]
    run = investigate(
        url, truth["incident_id"], as_of=small_scenario.as_of, reports_dir=tmp_path / "reports",
        sections=["impact"], max_workers=1, by="test",
    )  # fmt: skip
    summary = json.loads((run.run_dir / "impact" / "summary.json").read_text())
    expected = truth["signal_affected"]
    assert summary["section"] == "impact" and summary["incident_id"] == truth["incident_id"]
    assert (summary["n_affected_decisions"], summary["n_affected_entities"]) == (
        expected["calls"],
        expected["users"],
    )
    assert summary["n_affected_conversations"] == expected["conversations"]
    assert summary["definition"].startswith("error:")
