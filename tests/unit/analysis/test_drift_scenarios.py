"""Drift on the tabletop scenarios with planted causes (workbench.scenarios ground truth)."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
import yaml

from analysis.data import open_logs
from analysis.drift import data_drift, windowed_drift
from register.schema import DataCard

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    from workbench.scenarios import generate

    out = tmp_path_factory.mktemp("scenario")
    generate(out, seed=7, rows_per_day=300)
    truth = json.loads((out / "ground_truth.json").read_text())
    return {"out": out, "scenarios": {s["id"][0]: s for s in truth["scenarios"]}}


def _when(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _window(window: dict[str, str]) -> tuple[datetime, datetime]:
    return _when(window["start"]), _when(window["end"])


def _logs(scenario: dict[str, object], system: str):
    out = scenario["out"]
    card = DataCard.model_validate(yaml.safe_load((out / "datacards" / f"{system}.yaml").read_text()))
    return open_logs(card, base_dir=out / "datacards"), card


def _feature_drift(scenario: dict[str, object], key: str):
    planted = scenario["scenarios"][key]
    logs, card = _logs(scenario, planted["system_id"])
    result = data_drift(
        logs.table,
        columns=list(card.columns.features),
        categorical=list(card.columns.categorical_features),
        time_column=card.columns.event_time,
        reference_window=_window(planted["reference_window"]),
        current_window=_window(planted["incident_window"]),
    )
    return planted, result, logs, card


def test_covariate_drift_flags_the_planted_features(scenario: dict[str, object]) -> None:
    planted, result, _, _ = _feature_drift(scenario, "b")
    flagged = {c.column for c in result.columns if c.drifted}
    expected = set(planted["features"])
    assert expected <= flagged and len(flagged - expected) <= 1, (flagged, expected)
    assert result["channel"].new_categories == ("partner_api",)
    assert result["debt_to_income"].test == "wasserstein"


def test_clean_control_after_benjamini_hochberg(scenario: dict[str, object]) -> None:
    planted, result, logs, card = _feature_drift(scenario, "f")
    assert planted["control"] is True
    assert result.n_bh_rejected <= 1
    assert result.n_drifted <= 1
    # a naive per-chunk test (chi-square per day against the reference bins, no correction) does fire
    windowed = windowed_drift(
        logs.table,
        columns=list(card.columns.features),
        categorical=list(card.columns.categorical_features),
        time_column=card.columns.event_time,
        reference_window=_window(planted["reference_window"]),
        current_window=_window(planted["incident_window"]),
        chunk="day",
    )
    assert windowed.thresholds["n_naive_flags"].sum() > 1


def test_stale_input_is_visible_with_onset_in_the_right_chunk(scenario: dict[str, object]) -> None:
    planted = scenario["scenarios"]["a"]
    logs, card = _logs(scenario, "dynamic_pricing")
    as_of_column = card.columns.input_as_of["inventory_level"]
    table = logs.table
    lag_hours = (table.event_time.epoch_seconds() - table[as_of_column].epoch_seconds()) / 3600.0
    table = table.mutate(inventory_lag_hours=lag_hours)
    reference = _window(planted["reference_window"])
    result = windowed_drift(
        table,
        columns=["inventory_lag_hours"],
        time_column=card.columns.event_time,
        reference_window=reference,
        current_window=(reference[1], _when(planted["incident_window"]["end"])),
        chunk="day",
    )
    onset = result.onset("inventory_lag_hours")
    truth = _when(planted["onset"])
    assert onset is not None
    assert abs((onset - truth).total_seconds()) <= 86_400, (onset, truth)
    row = result.thresholds.iloc[0]
    assert row["threshold_used"] == "adaptive"
