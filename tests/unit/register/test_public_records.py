"""Imported public records (``Incident.source``): their response is "not recorded", never a breach."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import pytest

from register.metrics import incident_metrics
from register.policy import load_policy

AS_OF = datetime(2026, 12, 1, tzinfo=UTC)


def _frame(source: list[str | None], acknowledged: list[str | None]) -> pd.DataFrame:
    n = len(source)
    return pd.DataFrame(
        {
            "id": [f"INC-2016-{k + 1:04d}" for k in range(n)],
            "severity": ["SEV-2"] * n,
            "status": ["detected"] * n,
            "category": ["data_exposure_privacy"] * n,
            "occurred_at": pd.to_datetime(["2026-03-01"] * n, utc=True),
            "aware_at": pd.to_datetime(["2026-03-01"] * n, utc=True),
            "acknowledged_at": pd.to_datetime(acknowledged, utc=True),
            "source": source,
            "tags": [[] for _ in range(n)],
        }
    )


@pytest.fixture(scope="module")
def metrics() -> pd.DataFrame:
    frame = _frame(["aiid", None, "aiid"], [None, None, "2026-03-01 03:00"])
    return incident_metrics(frame, policy=load_policy(), as_of=AS_OF).set_index("id")


def test_a_public_record_without_response_times_is_not_judged(metrics: pd.DataFrame) -> None:
    public = metrics.loc["INC-2016-0001"]
    assert bool(public["response_recorded"]) is False
    for column in ("response_sla_met", "contain_target_met", "resolve_target_met"):
        assert public[column] is pd.NA, column
    for column in ("response_sla_margin_hours", "time_to_detect_hours", "time_to_acknowledge_hours"):
        assert pd.isna(public[column]), column
    assert pd.isna(public["acknowledge_due_at"]) and pd.isna(public["response_sla_margin"])
    assert not bool(public["postmortem_overdue"])
    assert public["notifications_overdue"] == 0 and public["gdpr_art33_overdue"] == 0
    assert metrics["response_sla_met"].dtype == "boolean"  # the column keeps its dtype


def test_an_own_incident_without_acknowledgement_past_its_sla_is_still_a_breach(
    metrics: pd.DataFrame,
) -> None:
    own = metrics.loc["INC-2016-0002"]
    assert bool(own["response_recorded"]) is True
    assert bool(own["response_sla_met"]) is False
    assert own["response_sla_margin_hours"] < -6_000  # nine months over the SLA
    assert own["gdpr_art33_overdue"] == 1 and own["notifications_overdue"] >= 1


def test_a_public_record_with_a_recorded_response_is_judged(metrics: pd.DataFrame) -> None:
    answered = metrics.loc["INC-2016-0003"]
    assert bool(answered["response_recorded"]) is True
    assert answered["time_to_acknowledge_hours"] == pytest.approx(3.0)
    assert not pd.isna(answered["response_sla_met"])


def test_without_a_source_column_every_incident_is_own() -> None:
    frame = _frame([None], [None]).drop(columns="source")
    result = incident_metrics(frame, policy=load_policy(), as_of=AS_OF)
    assert result["response_recorded"].tolist() == [True]
    assert result["response_sla_met"].tolist() == [False]
