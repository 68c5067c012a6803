"""Trends across incidents (analysis.trends): every number against a hand-computed small register.

The incidents are built here, with their metrics from :func:`register.metrics.incident_metrics` (the
register's own derivation) and the shipped policy: SEV-1 response SLA 15 min, SEV-2 1 h, SEV-3 4 h,
SEV-4 24 h.
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis._trends_speed import quantile_interval
from analysis.trends import TrendError, TrendFilters, prepare_incidents, trend_summary
from register.metrics import incident_metrics, notification_status
from register.policy import load_policy

AS_OF = datetime(2026, 6, 30, tzinfo=UTC)
POLICY = load_policy()


def ts(text: str | None) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC") if text else pd.NaT


def incident(
    id_: str,
    aware: str,
    *,
    severity: str = "SEV-3",
    system: str | None = "fraud",
    cause: str | None = None,
    ack: str | None = None,
    contained: str | None = None,
    resolved: str | None = None,
    closed: str | None = None,
    occurred: str | None = None,
    kind: str = "incident",
    status: str = "detected",
    category: str = "data_quality",
    source: str | None = None,
    postmortem_status: str = "not_started",
) -> dict[str, object]:
    return {
        "id": id_,
        "severity": severity,
        "system_id": system,
        "root_cause_category": cause,
        "category": category,
        "kind": kind,
        "status": status,
        "source": source,
        "postmortem_status": postmortem_status,
        "occurred_at": ts(occurred),
        "aware_at": ts(aware),
        "acknowledged_at": ts(ack),
        "contained_at": ts(contained),
        "resolved_at": ts(resolved),
        "closed_at": ts(closed),
    }


def frames(rows: list[dict[str, object]], notifications: pd.DataFrame | None = None):
    incidents = pd.DataFrame(rows)
    for column in ("occurred_at", "aware_at", "acknowledged_at", "contained_at", "resolved_at", "closed_at"):
        incidents[column] = pd.to_datetime(incidents[column], utc=True)
    metrics = incident_metrics(incidents, policy=POLICY, as_of=AS_OF, notifications=notifications)
    clocks = notification_status(incidents, policy=POLICY, as_of=AS_OF, notifications=notifications)
    return incidents, metrics, clocks


def summarise(rows, notifications=None, **kwargs):
    incidents, metrics, clocks = frames(rows, notifications)
    summary, _ = trend_summary(incidents, metrics=metrics, as_of=AS_OF, notifications=clocks, **kwargs)
    return summary


def by(rows: list[dict], **keys) -> dict:
    found = [row for row in rows if all(row[k] == v for k, v in keys.items())]
    assert len(found) == 1, (keys, rows)
    return found[0]


# --- SLA edges ------------------------------------------------------------------------------------


def test_sla_exactly_at_deadline_is_met_one_second_over_is_a_breach_and_a_running_clock_is_neither():
    rows = [
        incident(
            "INC-2026-0001", "2026-03-01 10:00", severity="SEV-2", ack="2026-03-01 11:00:00"
        ),  # exactly 1 h
        incident(
            "INC-2026-0002", "2026-03-02 10:00", severity="SEV-2", ack="2026-03-02 11:00:01"
        ),  # 1 s over
        incident("INC-2026-0003", "2026-06-29 23:30", severity="SEV-2"),  # unacknowledged, 30 min in: running
        incident("INC-2026-0004", "2026-04-01 10:00", severity="SEV-2"),  # unacknowledged for months: breach
        incident("INC-2026-0005", "2026-04-02 10:00", severity="SEV-1", ack="2026-04-02 10:15"),
    ]
    summary = summarise(rows)
    sev2 = by(summary.sla["by_severity"], severity="SEV-2")
    assert (sev2["met"], sev2["breached"], sev2["running"], sev2["not_recorded"]) == (1, 2, 1, 0)
    assert sev2["rate"] == pytest.approx(1 / 3)
    low, high = stats.binomtest(1, 3).proportion_ci(method="wilson")
    assert (sev2["rate_low"], sev2["rate_high"]) == pytest.approx((low, high))
    assert summary.sla["n_breaches"] == 2
    breaches = {row["id"]: row for row in summary.sla["breaches"]}
    assert set(breaches) == {"INC-2026-0002", "INC-2026-0004"}
    assert breaches["INC-2026-0002"]["over_by_hours"] == pytest.approx(1 / 3600)
    assert breaches["INC-2026-0004"]["acknowledge_hours"] is None  # never acknowledged
    # most overdue first
    assert [row["id"] for row in summary.sla["breaches"]] == ["INC-2026-0004", "INC-2026-0002"]
    assert by(summary.sla["by_severity"], severity="SEV-1")["met"] == 1


def test_public_records_without_response_times_are_not_recorded_never_breaches():
    rows = [
        incident("INC-2016-0023", "2016-03-24", severity="SEV-3", source="aiid", system=None),
        incident("INC-2026-0001", "2026-03-01 10:00", severity="SEV-3", ack="2026-03-01 11:00"),
    ]
    summary = summarise(rows)
    sev3 = by(summary.sla["by_severity"], severity="SEV-3")
    assert (sev3["met"], sev3["breached"], sev3["not_recorded"]) == (1, 0, 1)
    assert summary.n_response_not_recorded == 1
    assert summary.origins == {"aiid": 1, "own": 1}
    ack = by(summary.speed, measure="acknowledge", severity="SEV-3")
    assert (ack["n"], ack["not_recorded"]) == (1, 1)
    # volume still counts it; open/closed is our lifecycle, not the public record's
    assert by(summary.volume["origin"], period="2016Q1", value="aiid")["incidents"] == 1
    assert summary.n_open == 1 and summary.burn_up[0]["period"] == "2026-03"
    # the volume figure shows every quarter between (a gap is a zero bar, not a missing category)
    from analysis._trends_figures import volume_figure

    x = list(volume_figure(summary).data[0].x)
    assert x[0] == "2016Q1" and x[-1] == "2026Q1" and len(x) == 41


# --- speed ----------------------------------------------------------------------------------------


def test_durations_are_hand_computed_and_missing_times_are_counted_not_imputed():
    rows = [
        incident("INC-2026-0001", "2026-01-10 10:00", occurred="2026-01-10 08:00", ack="2026-01-10 10:30",
                 contained="2026-01-10 14:00", resolved="2026-01-11 10:00", closed="2026-01-20 10:00",
                 status="closed"),
        incident("INC-2026-0002", "2026-02-10 10:00", occurred="2026-02-10 04:00", ack="2026-02-10 11:00",
                 contained="2026-02-10 12:00"),
        incident("INC-2026-0003", "2026-03-10 10:00", ack="2026-03-10 13:00"),
    ]  # fmt: skip
    summary = summarise(rows)
    detect = by(summary.speed, measure="detect", severity="all")
    assert (detect["n"], detect["not_recorded"]) == (2, 1)
    assert detect["median_hours"] == pytest.approx(4.0)  # median of 2 h and 6 h
    ack = by(summary.speed, measure="acknowledge", severity="SEV-3")
    assert ack["median_hours"] == pytest.approx(1.0) and ack["sla_hours"] == pytest.approx(4.0)
    resolve = by(summary.speed, measure="resolve", severity="all")
    assert (resolve["n"], resolve["not_recorded"], resolve["median_hours"]) == (1, 2, pytest.approx(24.0))
    close = by(summary.speed, measure="close", severity="all")
    assert close["median_hours"] == pytest.approx(240.0)


def test_times_after_as_of_have_not_happened():
    rows = [
        incident("INC-2026-0001", "2026-06-01 10:00", ack="2026-06-01 10:30", resolved="2026-07-05 10:00")
    ]
    summary = summarise(rows)
    assert by(summary.speed, measure="resolve", severity="all")["n"] == 0
    later = [incident("INC-2026-0002", "2026-07-02 10:00")]  # became known after as_of: not shown at all
    assert summarise(rows + later).n_incidents == 1


def test_quantile_interval_order_statistics_by_hand_and_coverage():
    values = np.arange(1.0, 101.0)
    # Binomial(100, 0.5): ppf(0.025) = 40, ppf(0.975) = 60 -> ranks 40 and 61
    assert quantile_interval(values, 0.5) == (50.5, 40.0, 61.0)
    assert stats.binom.ppf(0.025, 100, 0.5) == 40 and stats.binom.ppf(0.975, 100, 0.5) == 60
    rng = np.random.default_rng(3)
    for q, truth in ((0.5, np.log(2)), (0.9, np.log(10))):  # exponential(1) quantiles
        hits = 0
        for _ in range(1000):
            _, low, high = quantile_interval(rng.exponential(size=60), q)
            hits += low is not None and high is not None and low <= truth <= high
        assert hits / 1000 >= 0.93, (q, hits)


def test_trend_test_finds_a_planted_speed_up_and_matches_scipy():
    rng = np.random.default_rng(11)
    rows = []
    start = pd.Timestamp("2025-01-01", tz="UTC")
    for i in range(60):
        aware = start + pd.Timedelta(days=6 * i)
        hours = float(np.exp(3.0 - 0.04 * i + rng.normal(0, 0.3)))  # planted: faster every incident
        rows.append(
            incident(
                f"INC-2025-{i + 1:04d}",
                aware.isoformat(),
                ack=(aware + pd.Timedelta(hours=hours)).isoformat(),
            )
        )
    summary = summarise(rows)
    trend = by(summary.speed_trends, measure="acknowledge", severity="SEV-3")
    assert trend["verdict"] == "faster" and trend["tau"] < 0
    incidents, _, _ = frames(rows)
    expected = stats.kendalltau(
        incidents["aware_at"].astype("int64"),
        (incidents["acknowledged_at"] - incidents["aware_at"]).dt.total_seconds(),
    )
    assert trend["tau"] == pytest.approx(expected.statistic) and trend["p_value"] == pytest.approx(
        expected.pvalue
    )
    assert by(summary.speed_trends, measure="detect", severity="SEV-3")["verdict"] == "too few"


# --- volume, burn-up, recurrence -------------------------------------------------------------------


def test_volume_and_burn_up_by_hand_with_time_zones_and_a_reopened_incident():
    rows = [
        # 2026-03-31 23:30 at +00:00 is Q1; 2026-04-01 00:30 at +02:00 is 2026-03-31 22:30 UTC: Q1 too
        incident("INC-2026-0001", "2026-03-31 23:30", severity="SEV-1", closed="2026-04-10", status="closed"),
        incident(
            "INC-2026-0002",
            pd.Timestamp("2026-04-01 00:30", tz="Europe/Berlin").isoformat(),
            kind="near_miss",
        ),
        incident(
            "INC-2026-0003", "2026-05-05", severity="SEV-1", status="investigating"
        ),  # reopened: no closed_at
    ]
    summary = summarise(rows)
    assert [(r["period"], r["incidents"], r["near_misses"]) for r in summary.volume["total"]] == [
        ("2026Q1", 1, 1),
        ("2026Q2", 1, 0),
    ]
    assert by(summary.volume["severity"], period="2026Q2", value="SEV-1")["incidents"] == 1
    assert summary.n_near_misses == 1 and summary.n_open == 2
    burn = {row["period"]: row for row in summary.burn_up}
    assert (burn["2026-03"]["opened"], burn["2026-03"]["closed"]) == (2, 0)
    assert (burn["2026-04"]["opened"], burn["2026-04"]["closed"], burn["2026-04"]["open"]) == (2, 1, 1)
    assert (burn["2026-06"]["opened"], burn["2026-06"]["closed"]) == (3, 1)


def test_recurrence_same_system_and_cause_within_the_horizon():
    rows = [
        incident("INC-2026-0001", "2026-01-01", system="fraud", cause="Upstream contract"),
        incident("INC-2026-0002", "2026-01-31", system="fraud", cause="upstream_contract"),  # +30 d: recurs
        incident("INC-2026-0003", "2026-02-10", system="pricing", cause="upstream contract"),  # other system
        incident(
            "INC-2026-0004", "2026-05-11", system="fraud", cause="upstream contract"
        ),  # +100 d: new chain
        incident("INC-2026-0005", "2026-06-20", system="fraud", cause="upstream contract"),  # +40 d: recurs
        incident("INC-2026-0006", "2026-06-21", system="fraud", cause=None),  # no cause: no key
    ]
    rec = summarise(rows).recurrence
    assert (rec["with_key"], rec["without_key"], rec["recurrences"]) == (5, 1, 2)
    assert rec["rate"] == pytest.approx(2 / 5)
    assert [chain["ids"] for chain in rec["chains"]] == [
        ["INC-2026-0004", "INC-2026-0005"],
        ["INC-2026-0001", "INC-2026-0002"],
    ]
    # matched case- and separator-insensitively, shown as the first incident recorded it
    assert rec["top_causes"] == [
        {
            "key": "fraud / upstream contract",
            "label": "fraud / Upstream contract",
            "incidents": 4,
            "recurrences": 2,
        }
    ]
    assert [chain["label"] for chain in rec["chains"]] == [
        "fraud / upstream contract",
        "fraud / Upstream contract",
    ]
    # by system and incident category (all data_quality): the cause-less 0006 recurs too (a day after 0005)
    by_category = summarise(rows).recurrence_by_category
    assert (by_category["with_key"], by_category["recurrences"]) == (6, 3)
    assert by_category["top_causes"][0] == {
        "key": "fraud / data_quality",
        "label": "fraud / data_quality",
        "incidents": 5,
        "recurrences": 3,
    }
    assert summarise(rows, recurrence_days=120).recurrence["recurrences"] == 3


# --- post-mortems and regulatory clocks --------------------------------------------------------------


def test_postmortems_due_overdue_and_awaiting_resolution():
    rows = [
        # SEV-2 needs a formal post-mortem; the deadline runs from resolution
        incident("INC-2026-0001", "2026-03-01", severity="SEV-2", ack="2026-03-01 00:30",
                 resolved="2026-03-02"),
        incident("INC-2026-0002", "2026-06-25", severity="SEV-2", ack="2026-06-25 00:30",
                 resolved="2026-06-26"),
        incident("INC-2026-0003", "2026-06-01", severity="SEV-2", ack="2026-06-01 00:30"),
        incident("INC-2026-0004", "2026-03-01", severity="SEV-2", ack="2026-03-01 00:30",
                 resolved="2026-03-02", postmortem_status="published"),
        incident("INC-2026-0005", "2026-03-01", severity="SEV-4", ack="2026-03-01 00:30",
                 resolved="2026-03-02"),
    ]  # fmt: skip
    pm = summarise(rows).postmortems
    incidents, metrics, _ = frames(rows)
    assert pm["required"] == int(metrics["postmortem_required"].fillna(False).sum())
    assert (pm["done"], pm["overdue"], pm["due"], pm["awaiting_resolution"]) == (1, 1, 1, 1)
    assert [row["id"] for row in pm["overdue_list"]] == ["INC-2026-0001"]
    assert [row["id"] for row in pm["due_list"]] == ["INC-2026-0002"]


def test_regulatory_clock_sent_one_second_late_and_time_left():
    rows = [
        incident(
            "INC-2026-0001", "2026-06-01 10:00", category="data_exposure_privacy", ack="2026-06-01 10:10"
        ),
        incident(
            "INC-2026-0002", "2026-06-29 12:00", category="data_exposure_privacy", ack="2026-06-29 12:10"
        ),
    ]
    notifications = pd.DataFrame(
        {
            "incident_id": ["INC-2026-0001"],
            "regime": ["gdpr_art33"],
            "report_type": ["initial"],
            "due_at": [pd.Timestamp("2026-06-04 10:00", tz="UTC")],
            "sent_at": [pd.Timestamp("2026-06-04 10:00:01", tz="UTC")],
        }
    )
    reg = summarise(rows, notifications=notifications).regulatory
    gdpr = by(reg["by_regime"], regime="gdpr_art33")
    assert (gdpr["owed"], gdpr["sent_late"], gdpr["sent_on_time"], gdpr["pending"], gdpr["overdue"]) == (
        2,
        1,
        0,
        1,
        0,
    )
    (pending,) = reg["open"]
    assert pending["incident_id"] == "INC-2026-0002"
    assert pending["hours_left"] == pytest.approx(72 - 12)  # GDPR 72 h from awareness, 12 h elapsed


# --- filters and edges ------------------------------------------------------------------------------


def test_filters_and_an_empty_result():
    rows = [
        incident("INC-2026-0001", "2026-01-10", severity="SEV-1", system="fraud"),
        incident("INC-2026-0002", "2026-02-10", severity="SEV-3", system="pricing", category="fairness_bias"),
        incident("INC-2026-0003", "2026-03-10", severity="SEV-3", system="fraud"),
    ]
    assert summarise(rows, filters=TrendFilters(systems=("fraud",))).n_incidents == 2
    assert summarise(rows, filters=TrendFilters(severities=("SEV-3",), systems=("fraud",))).n_incidents == 1
    assert summarise(rows, filters=TrendFilters(categories=("fairness_bias",))).n_incidents == 1
    period = TrendFilters(start=datetime(2026, 2, 1, tzinfo=UTC), end=datetime(2026, 3, 10, tzinfo=UTC))
    assert summarise(rows, filters=period).n_incidents == 1  # end exclusive
    empty = summarise(rows, filters=TrendFilters(systems=("nothing",)))
    assert empty.n_incidents == 0 and empty.headlines == ["No incidents match (system nothing)."]
    assert empty.volume["total"] == [] and empty.sla["by_severity"] == [] and empty.recurrence["chains"] == []
    with pytest.raises(TrendError, match="end must be after its start"):
        summarise(
            rows,
            filters=TrendFilters(
                start=datetime(2026, 3, 1, tzinfo=UTC), end=datetime(2026, 2, 1, tzinfo=UTC)
            ),
        )


def test_a_register_with_one_incident():
    summary = summarise([incident("INC-2026-0001", "2026-06-01", ack="2026-06-01 01:00")])
    assert summary.n_incidents == 1
    ack = by(summary.speed, measure="acknowledge", severity="all")
    assert ack["median_hours"] == pytest.approx(1.0) and ack["median_low"] is None
    assert summary.recurrence["recurrences"] == 0 and summary.recurrence["rate"] is None
    assert summary.n_new == 1  # within the 30 days before as_of


def test_missing_columns_are_a_clear_error():
    with pytest.raises(TrendError, match="id and aware_at"):
        prepare_incidents(pd.DataFrame({"id": ["x"]}), as_of=AS_OF)
