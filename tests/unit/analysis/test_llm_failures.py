"""Failure rates of interaction logs: hand-computed counts and tests, planted scenarios m, n and o."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy import stats

from analysis.data import Window, open_calls
from analysis.errors import InvalidParameterError
from analysis.llm_failures import _bh, _exact_test, failure_rates
from analysis.stats import newcombe_interval, wilson_interval
from register.schema import DataCard, DataSource, InteractionRoles

T0 = datetime(2026, 3, 1, tzinfo=UTC)
REFERENCE = Window(start=T0, end=T0 + timedelta(days=10), name="reference")
INCIDENT = Window(start=T0 + timedelta(days=10), end=T0 + timedelta(days=12), name="incident")
AS_OF = T0 + timedelta(days=20)


def _card(**extra: str | None) -> DataCard:
    roles = InteractionRoles(
        trace_id="trace_id",
        span_id="span_id",
        start_time="start_time",
        user_id="enduser.id",
        operation_name="gen_ai.operation.name",
        provider="gen_ai.provider.name",
        error_type="error.type",
        **extra,
    )
    return DataCard.interaction_log(DataSource(location="unused"), roles)


def _log(seed: int = 3) -> pd.DataFrame:
    """1,000 reference calls a provider, 200 incident calls; provider B errors 2 % -> 30 % in the incident."""
    rng = np.random.default_rng(seed)
    rows = []
    for window, n, start, hours in (
        ("reference", 1000, REFERENCE.start, 240),
        ("incident", 200, INCIDENT.start, 48),
    ):
        for provider in ("A", "B"):
            rate = 0.30 if (window == "incident" and provider == "B") else 0.02
            failed = rng.random(n) < rate
            for i in range(n):
                at = start + timedelta(hours=float(rng.uniform(0, hours)))
                rows.append(
                    {
                        "trace_id": f"{window}-{provider}-{i}",
                        "span_id": f"s-{window}-{provider}-{i}",
                        "start_time": at,
                        "enduser.id": f"u{i % 50}",
                        "gen_ai.operation.name": "chat",
                        "gen_ai.provider.name": provider,
                        "error.type": "503" if failed[i] else None,
                    }
                )
    frame = pd.DataFrame(rows)
    frame["start_time"] = pd.to_datetime(frame["start_time"], utc=True)
    return frame


@pytest.fixture(scope="module")
def planted() -> tuple[pd.DataFrame, object]:
    log = _log()
    card = _card()
    return log, failure_rates(open_calls(card, data=log, as_of=AS_OF), card, reference=REFERENCE,
                              incident=INCIDENT, as_of=AS_OF)  # fmt: skip


def test_counts_rates_and_intervals_equal_a_hand_computation(planted) -> None:
    log, result = planted
    inside = (log["start_time"] >= INCIDENT.start) & (log["start_time"] < INCIDENT.end)
    b = log[(log["gen_ai.provider.name"] == "B")]
    n_r, k_r = int((~inside[b.index]).sum()), int(b.loc[~inside[b.index], "error.type"].notna().sum())
    n_i, k_i = int(inside[b.index].sum()), int(b.loc[inside[b.index], "error.type"].notna().sum())
    row = result.slices.set_index(["metric", "dimension", "value"]).loc[
        ("error", "gen_ai.provider.name", "B")
    ]
    assert (row["n_r"], row["k_r"], row["n_i"], row["k_i"]) == (n_r, k_r, n_i, k_i)
    # the exact one-sided test is Fisher's (scipy), the excess k_i - n_i * p_r
    assert row["p_value"] == pytest.approx(
        stats.fisher_exact([[k_i, n_i - k_i], [k_r, n_r - k_r]], "greater")[1]
    )
    assert row["excess"] == pytest.approx(k_i - n_i * k_r / n_r)
    finding = result.findings[0]
    assert finding["where"] == "gen_ai.provider.name = B" and finding["metric"] == "error"
    assert (finding["incident_low"], finding["incident_high"]) == pytest.approx(wilson_interval(k_i, n_i))
    _, low, high = newcombe_interval(k_i, n_i, k_r, n_r)
    assert (finding["difference_low"], finding["difference_high"]) == pytest.approx((low, high))


def test_only_the_planted_slice_rises(planted) -> None:
    _, result = planted
    assert [f["where"] for f in result.findings] == ["gen_ai.provider.name = B"]
    significant = result.slices[result.slices["significant"]].set_index("value")
    # A's 9 of 200 against 20 of 1,000 passes the rule by chance (q 0.039, as a 5 % test will): it is
    # significant, yet the finding names B, the slice holding the excess
    assert significant.loc["B", "q_value"] < 1e-20 and significant.loc["B", "excess"] > 50
    onset = pd.Timestamp(result.findings[0]["onset"])
    assert abs(onset - pd.Timestamp(INCIDENT.start)) <= pd.Timedelta(hours=3)


def test_benjamini_hochberg_equals_scipy() -> None:
    p = np.array([0.001, 0.2, 0.03, 0.04, 0.5, 0.0001])
    assert _bh(p) == pytest.approx(stats.false_discovery_control(p, method="bh"))
    assert _exact_test(np.array([100.0]), np.array([0.0]), np.array([100.0]), np.array([0.0]))[0] == 1.0


def test_missing_roles_are_skipped_not_errors() -> None:
    log = _log()
    result = failure_rates(open_calls(_card(), data=log, as_of=AS_OF), _card(), reference=REFERENCE,
                           incident=INCIDENT, as_of=AS_OF)  # fmt: skip
    assert any("finish reasons" in reason for reason in result.skipped)
    assert any("evaluation" in reason for reason in result.skipped)
    assert list(result.metrics) == ["error"]


def test_bad_input_is_refused_clearly() -> None:
    log, card = _log(), _card()
    calls = open_calls(card, data=log, as_of=AS_OF)
    with pytest.raises(InvalidParameterError, match="dimensions must be among"):
        failure_rates(calls, card, reference=REFERENCE, incident=INCIDENT, as_of=AS_OF, dimensions=["nope"])
    with pytest.raises(InvalidParameterError, match="non-empty before as_of"):
        failure_rates(calls, card, reference=REFERENCE, incident=INCIDENT, as_of=INCIDENT.start)
    with pytest.raises(InvalidParameterError, match="chunk must be"):
        failure_rates(calls, card, reference=REFERENCE, incident=INCIDENT, as_of=AS_OF, chunk="week")


# ------------------------------------------------------------------ planted scenarios m, n, o ------


def _ts(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> tuple[DataCard, dict, object]:
    """The full-size chatbot (the outage's three hours hold ~40 failures only at the default rows a day)."""
    from workbench.scenarios import generate

    out: Path = tmp_path_factory.mktemp("failure_scenario")
    generate(out, seed=7)
    card = DataCard.model_validate(yaml.safe_load((out / "datacards" / "support_chatbot.yaml").read_text()))
    card = card.with_base(out / "datacards")
    truth = json.loads((out / "ground_truth.json").read_text())
    calls = open_calls(card, as_of=_ts(truth["as_of"]))
    return card, truth, calls


def _run(scenario, key: str):
    card, truth, calls = scenario
    entry = next(s for s in truth["llm_scenarios"] if s["id"][0] == key)
    reference = Window(
        start=_ts(entry["reference_window"]["start"]), end=_ts(entry["reference_window"]["end"])
    )
    incident = Window(start=_ts(entry["incident_window"]["start"]), end=_ts(entry["incident_window"]["end"]))
    return entry, failure_rates(
        calls, card, reference=reference, incident=incident, as_of=_ts(truth["as_of"])
    )


@pytest.mark.slow
def test_the_hallucination_rise_is_attributed_to_the_switched_model_and_intent(scenario) -> None:
    entry, result = _run(scenario, "m")
    top = result.findings[0]
    cause = entry["cause"]
    assert top["metric"] == f"evaluation:{entry['evaluation']['name']}"
    where = {item["column"]: item["value"] for item in top["predicates"]}
    assert where["support.intent"] == cause["intent"]
    assert where["gen_ai.response.model"].startswith(cause["model"]["after"])
    assert top["reference_from"] == "all calls"  # the model was not serving in the reference window
    assert pd.Timestamp(top["onset_low"]) <= pd.Timestamp(cause["onset"]) < pd.Timestamp(top["onset_high"])
    assert top["incident_failures"] == entry["affected"]["calls"]


@pytest.mark.slow
def test_the_outage_is_attributed_to_its_provider_region_and_hours(scenario) -> None:
    entry, result = _run(scenario, "n")
    assert len(result.findings) == 1
    top = result.findings[0]
    assert top["metric"] == "error"
    assert {(item["column"], item["value"]) for item in top["predicates"]} == {
        (slice_["column"], slice_["value"]) for slice_ in entry["slice"]
    }
    assert top["incident_failures"] == entry["affected"]["calls"]
    assert abs(pd.Timestamp(top["onset"]) - pd.Timestamp(entry["cause"]["onset"])) <= pd.Timedelta(hours=1)
    assert pd.Timestamp(top["first_hour"]) == pd.Timestamp(entry["incident_window"]["start"])
    assert pd.Timestamp(top["last_hour"]) == pd.Timestamp(entry["incident_window"]["end"])


@pytest.mark.slow
def test_the_clean_control_raises_nothing(scenario) -> None:
    _, result = _run(scenario, "o")
    assert result.findings == []
    assert "No failure rate" in result.sentence()
    assert not result.slices["significant"].any()
