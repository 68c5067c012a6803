"""analysis.data_quality: each check on a small planted log, a clean log, and the generated scenarios."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import ibis
import numpy as np
import pandas as pd
import pytest
import yaml

from analysis.data import Window, incident_windows, open_logs
from analysis.data_quality import CHECKS, DataQualityResult, data_quality
from register.schema import ColumnRoles, DataCard, DataSource

START = datetime(2026, 1, 5, tzinfo=UTC)  # a Monday
ONSET = START + timedelta(days=24)
AS_OF = START + timedelta(days=31)


def _card(request_id: str | None = "request_id") -> DataCard:
    return DataCard(
        source=DataSource(location="x"),
        task="regression",
        columns=ColumnRoles(
            event_time="ts",
            entity_id="entity",
            request_id=request_id,
            features=["income", "stock", "channel"],
            categorical_features=["channel"],
            input_as_of={"stock": "stock_as_of"},
        ),
    )


def _clean(seed: int = 0, rows_per_day: int = 300) -> pd.DataFrame:
    """31 days of a healthy log: a numeric income, a channel of three values, an upstream stock feed."""
    rng = np.random.default_rng(seed)
    n = 31 * rows_per_day
    seconds = np.sort(rng.integers(0, 31 * 86400, n))
    ts = pd.Timestamp(START) + pd.to_timedelta(seconds, unit="s")
    lag = pd.to_timedelta(rng.uniform(0.2, 1.0, n), unit="h").round("s")
    return pd.DataFrame(
        {
            "ts": ts,
            "entity": rng.choice([f"e{i}" for i in range(40)], n),
            "request_id": [f"r{i}" for i in range(n)],
            "income": rng.normal(50.0, 10.0, n).round(3),
            "stock": rng.integers(0, 10_000, n).astype(float),
            "stock_as_of": ts - lag,
            "channel": rng.choice(["web", "store", "mobile"], n, p=[0.5, 0.3, 0.2]),
        }
    )


def _run(frame: pd.DataFrame, card: DataCard | None = None, **options) -> DataQualityResult:
    windows = incident_windows(
        ONSET,
        as_of=AS_OF,
        reference=Window(START, START + timedelta(days=21), "reference"),
        incident=Window(ONSET, AS_OF, "incident"),
    )
    return data_quality(ibis.memtable(frame), card or _card(), windows, as_of=AS_OF, **options)


def _after(frame: pd.DataFrame, share: float = 1.0, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return ((frame["ts"] >= pd.Timestamp(ONSET)) & (rng.random(len(frame)) < share)).to_numpy()


def _only(result: DataQualityResult, check: str) -> pd.Series:
    assert result.findings["check"].tolist() == [check], result.findings[["column", "check", "detail"]]
    return result.findings.iloc[0]


# --------------------------------------------------------------------------------------------- clean data
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_clean_log_gives_no_findings(seed: int) -> None:
    result = _run(_clean(seed))
    assert result.clean, result.findings[["column", "check", "detail"]]
    checks = set(result.chunks["check"])
    assert {"null_rate", "out_of_range_rate", "new_category_rate", "volume", "duplicate_rate"} <= checks
    assert {"max_lag_hours", "repeated_share", "distinct_values", "vanished_share"} <= checks
    assert result.to_summary()["findings"] == []
    assert set(result.figures()) == {"data_quality", "input_freshness"}


# -------------------------------------------------------------------------------------------- each check
def test_null_spike() -> None:
    frame = _clean()
    hit = _after(frame, 0.3)
    frame.loc[hit, "income"] = np.nan
    finding = _only(_run(frame), "null_spike")
    assert finding["column"] == "income" and finding["onset"] == pd.Timestamp(ONSET)
    assert finding["last"] == pd.Timestamp(AS_OF - timedelta(days=1))
    assert finding["rows_affected"] == hit.sum()  # no NULL in the reference
    assert finding["value"] == pytest.approx(hit.sum() / (frame["ts"] >= pd.Timestamp(ONSET)).sum())
    assert finding["reference_value"] == 0.0


def test_out_of_range() -> None:
    frame = _clean()
    hit = _after(frame, 0.2)
    frame.loc[hit, "income"] *= 100  # a unit change upstream
    result = _run(frame)
    finding = _only(result, "out_of_range")
    assert finding["column"] == "income" and finding["onset"] == pd.Timestamp(ONSET)
    assert finding["rows_affected"] == hit.sum()
    low, high = result.ranges.set_index("column").loc["income", ["low", "high"]]
    reference = frame.loc[frame["ts"] < pd.Timestamp(START + timedelta(days=21)), "income"]
    q_low, q_high = reference.quantile([0.001, 0.999])
    assert low == pytest.approx(q_low - 0.1 * (q_high - q_low), rel=1e-3)
    assert high == pytest.approx(q_high + 0.1 * (q_high - q_low), rel=1e-3)


def test_new_category() -> None:
    frame = _clean()
    hit = _after(frame, 0.1)
    frame.loc[hit, "channel"] = "partner_api"
    finding = _only(_run(frame), "new_category")
    assert finding["column"] == "channel" and finding["onset"] == pd.Timestamp(ONSET)
    assert finding["rows_affected"] == hit.sum()
    assert f"partner_api ({hit.sum():,} rows)" in finding["detail"]


def test_vanished_category() -> None:
    frame = _clean()
    gone = _after(frame) & (frame["channel"] == "mobile").to_numpy()
    frame.loc[gone, "channel"] = "web"
    finding = _only(_run(frame), "vanished_category")
    assert finding["column"] == "channel" and finding["onset"] == pd.Timestamp(ONSET)
    assert "mobile" in finding["detail"] and "web" not in finding["detail"]


def test_volume_drop_and_an_outage_day() -> None:
    frame = _clean()
    keep = ~(_after(frame, 0.7))
    frame = frame.loc[keep]
    finding = _only(_run(frame), "volume_drop")
    assert finding["column"] == "(all rows)" and finding["onset"] == pd.Timestamp(ONSET)
    assert finding["value"] / finding["reference_value"] == pytest.approx(0.3, abs=0.06)
    # a day with no decision at all is a chunk of the check (n = 0), not a missing row
    day = (frame["ts"] >= pd.Timestamp(ONSET)) & (frame["ts"] < pd.Timestamp(ONSET + timedelta(days=1)))
    outage = _run(frame.loc[~day.to_numpy()])
    volume = outage.chunks.loc[outage.chunks["check"] == "volume"].set_index("chunk_start")["value"]
    assert volume.loc[pd.Timestamp(ONSET)] == 0


def test_volume_spike() -> None:
    frame = _clean()
    extra = frame.loc[_after(frame)].copy()
    extra["request_id"] = "x" + extra["request_id"]
    extra["stock"] = np.random.default_rng(3).integers(0, 10_000, len(extra)).astype(float)
    finding = _only(_run(pd.concat([frame, extra], ignore_index=True)), "volume_spike")
    assert finding["onset"] == pd.Timestamp(ONSET)
    assert finding["value"] / finding["reference_value"] == pytest.approx(2.0, abs=0.3)


@pytest.mark.parametrize("request_id", ["request_id", None])
def test_duplicate_ids(request_id: str | None) -> None:
    frame = _clean()
    copies = frame.loc[_after(frame, 0.05)]
    result = _run(pd.concat([frame, copies], ignore_index=True), _card(request_id))
    duplicate = result.findings.loc[result.findings["check"] == "duplicate_ids"].iloc[0]
    assert duplicate["onset"] == pd.Timestamp(ONSET)
    assert duplicate["rows_affected"] == len(copies)
    assert (request_id or "entity + ts") in duplicate["detail"]


def test_stale_and_frozen_upstream_input() -> None:
    """The stock feed stops at the onset: its as-of time stays put and every entity repeats its value."""
    frame = _clean().sort_values("ts").reset_index(drop=True)
    hit = _after(frame)
    frozen_at = pd.Timestamp(ONSET) - pd.Timedelta(hours=1)
    frame.loc[hit, "stock_as_of"] = frozen_at
    last_value = frame.loc[~hit].groupby("entity")["stock"].last()
    frame.loc[hit, "stock"] = frame.loc[hit, "entity"].map(last_value).to_numpy()
    result = _run(frame)
    found = result.findings.set_index("check")
    assert set(found.index) == {"stale_input", "frozen_input"}, result.findings[["check", "detail"]]
    assert found.loc["stale_input", "onset"] == pd.Timestamp(ONSET)
    assert found.loc["stale_input", "onset"] == result.freshness[0].onset
    # every decision after the onset lags past the threshold (~1 h) except in the first hour
    lag = frame["ts"] - frame["stock_as_of"]
    expected = int((lag > pd.Timedelta(hours=result.freshness[0].threshold_hours)).sum())
    assert found.loc["stale_input", "rows_affected"] == expected
    assert found.loc["frozen_input", "onset"] == pd.Timestamp(ONSET)
    assert found.loc["frozen_input", "value"] > 0.9


def test_frozen_numeric_feature_without_an_upstream_clock() -> None:
    frame = _clean()
    frame.loc[_after(frame), "income"] = 42.0
    finding = _only(_run(frame), "frozen_input")
    assert finding["column"] == "income" and finding["onset"] == pd.Timestamp(ONSET)
    assert "at most one value" in finding["detail"]


def test_findings_vocabulary_and_summary_are_json() -> None:
    frame = _clean()
    frame.loc[_after(frame, 0.3), "income"] = np.nan
    result = _run(frame)
    assert set(result.findings["check"]) <= set(CHECKS)
    summary = json.loads(json.dumps(result.to_summary()))
    assert summary["findings"][0]["check"] == "null_spike"
    assert summary["findings"][0]["onset"] == ONSET.isoformat()
    assert len(result.figures()["data_quality"].data) == 1


# ---------------------------------------------------------------------------------------------- scenarios
@pytest.fixture(scope="module")
def scenarios(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    from workbench.scenarios import generate

    out = tmp_path_factory.mktemp("dq-scenarios")
    generate(out, seed=7, rows_per_day=400)
    truth = json.loads((out / "ground_truth.json").read_text())
    return {"out": out, "as_of": truth["as_of"], "scenarios": {s["id"][0]: s for s in truth["scenarios"]}}


def _when(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _scenario_quality(scenarios: dict[str, object], key: str) -> tuple[dict, DataQualityResult]:
    planted = scenarios["scenarios"][key]
    out = scenarios["out"]
    card_path = out / "datacards" / f"{planted['system_id']}.yaml"
    card = DataCard.model_validate(yaml.safe_load(card_path.read_text()))
    logs = open_logs(card, base_dir=card_path.parent)
    as_of = _when(scenarios["as_of"])
    span = planted["reference_window"]
    reference = Window(_when(span["start"]), _when(span["end"]), "reference")
    incident = Window(_when(planted["incident_window"]["start"]), _when(planted["incident_window"]["end"]))
    windows = incident_windows(incident.start, as_of=as_of, reference=reference, incident=incident)
    return planted, data_quality(logs, card, windows, as_of=as_of)


def _onset_day(planted: dict) -> pd.Timestamp:
    return pd.Timestamp(_when(planted["onset"])).floor("D")


@pytest.mark.slow
def test_scenario_d_null_spike_from_the_planted_onset(scenarios) -> None:
    planted, result = _scenario_quality(scenarios, "d")
    nulls = result.findings.loc[result.findings["check"] == "null_spike"]
    assert nulls["column"].tolist() == ["device_trust_score"]
    assert nulls["onset"].iloc[0] == _onset_day(planted)
    assert nulls["rows_affected"].iloc[0] >= planted["affected"]["decisions"]


@pytest.mark.slow
def test_scenario_a_stale_and_frozen_warehouse_feed(scenarios) -> None:
    planted, result = _scenario_quality(scenarios, "a")
    found = result.findings.set_index("check")
    assert {"stale_input", "frozen_input"} <= set(found.index)
    for check in ("stale_input", "frozen_input"):
        assert found.loc[check, "column"] == "inventory_level"
        assert found.loc[check, "onset"] == _onset_day(planted)
    assert len(result.findings) == 2, result.findings[["column", "check", "detail"]]


@pytest.mark.slow
def test_scenario_b_new_channel(scenarios) -> None:
    planted, result = _scenario_quality(scenarios, "b")
    new = result.findings.loc[result.findings["check"] == "new_category"]
    assert new["column"].tolist() == ["channel"]
    assert new["onset"].iloc[0] == _onset_day(planted)
    assert "partner_api" in new["detail"].iloc[0]


@pytest.mark.slow
@pytest.mark.parametrize("key", ["f", "c", "e"])
def test_scenarios_without_a_data_fault_give_no_findings(scenarios, key: str) -> None:
    _, result = _scenario_quality(scenarios, key)
    assert result.clean, result.findings[["column", "check", "detail"]]
