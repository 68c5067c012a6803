"""Impact on the tabletop scenarios: affected counts equal the ground truth, intervals cover it.

The scenario generator (``workbench.scenarios.generate``) records, per planted scenario, the affected
decisions and distinct entities counted from the rows it wrote, and the failure signal that defines them.
The analysis never reads the ground truth; these tests do.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest
import yaml
from pydantic import TypeAdapter

from analysis import Window, assess_impact, incident_windows, open_logs
from register.schema import DataCard, FailureSignal, PredictionConditionSignal

pytestmark = pytest.mark.slow

_SIGNAL = TypeAdapter(FailureSignal)


def _generate(out: Path, seed: int, rows_per_day: int) -> dict:
    from workbench.scenarios import generate

    generate(out, seed=seed, rows_per_day=rows_per_day)
    return json.loads((out / "ground_truth.json").read_text())


def _window(span: dict, name: str) -> Window:
    return Window(datetime.fromisoformat(span["start"]), datetime.fromisoformat(span["end"]), name)


def _impact(out: Path, truth: dict, scenario: dict):
    """Run the impact analysis the way an investigator would for this scenario's incident."""
    card_path = out / "datacards" / f"{scenario['system_id']}.yaml"
    card = DataCard.model_validate(yaml.safe_load(card_path.read_text()))
    logs = open_logs(card, base_dir=card_path.parent)
    data = logs
    if scenario["slice"]:  # the investigator narrows the log to the slice under suspicion
        table = logs.table
        for predicate in scenario["slice"]:
            assert predicate["op"] == "=="
            table = table.filter(table[predicate["column"]] == predicate["value"])
        data = table
    if scenario["failure_signal"] is not None:
        signal = _SIGNAL.validate_python(scenario["failure_signal"])
    else:  # covariate drift: every decision in the window counts as exposed
        signal = PredictionConditionSignal(
            column=card.columns.score or card.columns.prediction, op=">=", value=-1e300
        )
    as_of = datetime.fromisoformat(truth["as_of"])
    incident = _window(scenario["incident_window"], "incident")
    windows = incident_windows(
        incident.start,
        as_of=as_of,
        reference=_window(scenario["reference_window"], "reference"),
        incident=incident,
    )
    return assess_impact(data, card, windows, signal=signal, validate=not scenario["slice"])


@pytest.fixture(scope="module")
def scenario_data(tmp_path_factory):
    out = tmp_path_factory.mktemp("scenarios")
    return out, _generate(out, seed=3, rows_per_day=60)


@pytest.mark.parametrize(
    "scenario_id",
    ["a_stale_input", "b_covariate_drift", "c_fairness_deploy", "d_pipeline_null_slice", "e_concept_drift"],
)
def test_affected_counts_equal_the_ground_truth(scenario_data, scenario_id):
    out, truth = scenario_data
    scenario = next(s for s in truth["scenarios"] if s["id"] == scenario_id)
    result = _impact(out, truth, scenario)
    affected = scenario["affected"]
    assert affected["decisions"] > 0
    if scenario["group"] is None:
        assert result.n_affected_decisions == affected["decisions"]
        assert result.n_affected_entities == affected["entities"]
    else:  # the planted harm is to one group: its row of the by-group table
        table = result.by_group.set_index(["attribute", "group"])
        row = table.loc[(scenario["group"]["attribute"], scenario["group"]["value"])]
        assert not row["suppressed"]
        assert row["n_failures"] == affected["decisions"]
        assert row["n_affected_entities"] == affected["entities"]
    summary = result.to_summary()
    json.dumps(summary, allow_nan=False)


def test_stale_input_is_still_happening(scenario_data):
    out, truth = scenario_data
    scenario = next(s for s in truth["scenarios"] if s["id"] == "a_stale_input")
    assert scenario["end"] is None  # ongoing at as_of
    result = _impact(out, truth, scenario)
    assert result.still_happening.verdict == "ongoing", result.still_happening.reason
    assert result.reference.n_failures == 0  # the feed lag never exceeds the limit before onset


def test_excess_interval_covers_the_planted_effect_across_seeds(tmp_path):
    """Concept drift raises the error rate by a planted 8 points: the 95 % interval on the excess failures
    (n_decided x planted increase) must cover that truth in at least 9 of 10 seeds."""
    covered = []
    for seed in range(10):
        out = tmp_path / f"seed{seed}"
        truth = _generate(out, seed=seed, rows_per_day=60)
        scenario = next(s for s in truth["scenarios"] if s["id"] == "e_concept_drift")
        result = _impact(out, truth, scenario)
        assert result.n_affected_decisions == scenario["affected"]["decisions"]
        planted_excess = scenario["effect"]["planted"] * result.incident.n_decided
        excess = result.excess_failures
        covered.append(excess.lower <= planted_excess <= excess.upper)
    assert sum(covered) >= 9, covered
