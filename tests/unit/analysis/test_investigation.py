"""analysis.investigation: notebook parameters, input freshness, labels at equal maturity, card drift."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import ibis
import numpy as np
import pandas as pd
import pytest
import yaml

from analysis.context import window_overrides
from analysis.data import Window, incident_windows, labels_at_equal_maturity, open_logs
from analysis.data_quality import input_freshness
from analysis.errors import InvalidParameterError
from analysis.investigation import drift_for_card
from register.schema import ColumnRoles, DataCard, DataSource, Incident

T0 = datetime(2026, 1, 1, tzinfo=UTC)


# ------------------------------------------------------------------------------------------ parameters
def test_window_overrides_validate_pairs() -> None:
    with pytest.raises(
        InvalidParameterError, match="reference_start and reference_end must be given together"
    ):
        window_overrides(reference=(T0, None))
    with pytest.raises(InvalidParameterError, match="must be before"):
        window_overrides(incident=(T0, T0))
    with pytest.raises(InvalidParameterError, match="window must be one of"):
        window_overrides(unknown_window=(T0, T0 + timedelta(days=1)))
    with pytest.raises(InvalidParameterError, match="must be a datetime"):
        window_overrides(recent=("yesterday", "today"))


def test_parameters_override_only_the_windows_given() -> None:
    from analysis.data import windows_for_incident

    incident = Incident(
        id="INC-2026-0001",
        title="t",
        category="data_quality",
        severity="SEV-2",
        occurred_at=T0 + timedelta(days=40),
        aware_at=T0 + timedelta(days=41),
        contained_at=T0 + timedelta(days=43),
    )
    overrides = window_overrides(reference=("2026-01-01T00:00:00Z", "2026-01-15T00:00:00Z"))
    windows = windows_for_incident(incident, as_of=datetime(2026, 2, 28, 23, tzinfo=UTC), **overrides)
    assert (windows.reference.start, windows.reference.end) == (T0, T0 + timedelta(days=14))
    assert windows.incident.start == incident.occurred_at
    assert windows.incident.end == incident.contained_at
    assert "reference" not in windows.defaults and "incident" in windows.defaults
    # an incident window override does not collide with the incident record (positional-only)
    moved = windows_for_incident(
        incident,
        as_of=datetime(2026, 2, 28, 23, tzinfo=UTC),
        **window_overrides(incident=("2026-02-10T00:00Z", "2026-02-12T00:00Z")),
    )
    assert moved.incident.start == datetime(2026, 2, 10, tzinfo=UTC)


# ---------------------------------------------------------------------------------------------- freshness
def _freshness_card() -> DataCard:
    return DataCard(
        source=DataSource(location="unused"),
        task="regression",
        columns=ColumnRoles(
            event_time="ts",
            entity_id="product",
            features=["stock"],
            input_as_of={"stock": "stock_as_of"},
        ),
    )


def _freshness_log(freeze_at: datetime | None, *, n_days: int = 30, seed: int = 0) -> pd.DataFrame:
    """Hourly decisions for 5 products; after ``freeze_at`` the stock input stops updating."""
    rng = np.random.default_rng(seed)
    times = pd.date_range(T0, periods=n_days * 24, freq="h", tz="UTC")
    rows = []
    for product in range(5):
        last_value, last_as_of = None, None
        for ts in times:
            if freeze_at is not None and ts >= freeze_at and last_value is not None:
                value, as_of = last_value, last_as_of
            else:
                value = float(rng.integers(0, 50))
                as_of = (ts - pd.Timedelta(minutes=float(rng.uniform(5, 90)))).floor("us")
            rows.append({"ts": ts, "product": f"p{product}", "stock": value, "stock_as_of": as_of})
            last_value, last_as_of = value, as_of
    return pd.DataFrame(rows)


def test_freshness_finds_the_day_an_input_froze_and_matches_pandas() -> None:
    freeze_at = pd.Timestamp(T0 + timedelta(days=24, hours=9))
    frame = _freshness_log(freeze_at)
    reference = Window(T0, T0 + timedelta(days=20), "reference")
    current = Window(T0 + timedelta(days=20), T0 + timedelta(days=30), "current")
    (result,) = input_freshness(ibis.memtable(frame), _freshness_card(), reference=reference, current=current)

    assert result.stale
    assert result.onset == T0 + timedelta(days=24)
    assert result.threshold_kind == "adaptive"
    # Independent computation of the per-day maximum lag and the repeated share with pandas.
    frame["lag"] = (frame["ts"] - frame["stock_as_of"]).dt.total_seconds() / 3600
    frame["day"] = frame["ts"].dt.floor("D")
    expected_max = frame.groupby("day")["lag"].max()
    got_max = result.chunks.set_index("chunk_start")["max_lag_hours"]
    pd.testing.assert_series_equal(
        got_max.sort_index(), expected_max.sort_index(), check_names=False, check_index_type=False, rtol=1e-9
    )
    frame = frame.sort_values(["product", "ts"])
    frame["previous"] = frame.groupby("product")["stock"].shift()
    after = frame[frame["ts"] >= freeze_at + pd.Timedelta(days=1)]
    assert (after["stock"] == after["previous"]).mean() == 1.0
    assert result.current_repeated_share > result.reference_repeated_share
    assert result.threshold_hours >= result.reference_max_lag_hours


def test_freshness_stays_quiet_on_a_healthy_input() -> None:
    frame = _freshness_log(None, seed=1)
    (result,) = input_freshness(
        ibis.memtable(frame),
        _freshness_card(),
        reference=Window(T0, T0 + timedelta(days=20), "reference"),
        current=Window(T0 + timedelta(days=20), T0 + timedelta(days=30), "current"),
    )
    assert not result.stale and result.onset is None


# ------------------------------------------------------------------------------- labels at equal maturity
def test_equal_maturity_removes_label_drift_that_is_only_a_reporting_delay() -> None:
    """Positives are reported after 2 days, negatives after 30: a young window looks all positive."""
    rng = np.random.default_rng(3)
    times = pd.date_range(T0, T0 + timedelta(days=60), freq="30min", tz="UTC", inclusive="left")
    label = rng.random(len(times)) < 0.2
    delay = np.where(label, 2, 30)
    frame = pd.DataFrame(
        {
            "ts": times,
            "id": [f"e{i % 500}" for i in range(len(times))],
            "y": label.astype("int64"),
            "y_pred": label.astype("int64"),
            "seen": times + pd.to_timedelta(delay, unit="D"),
        }
    )
    card = DataCard(
        source=DataSource(location="unused"),
        task="binary_classification",
        columns=ColumnRoles(
            event_time="ts", entity_id="id", prediction="y_pred", label="y", label_observed_at="seen"
        ),
    )
    as_of = T0 + timedelta(days=60)
    reference = Window(T0, T0 + timedelta(days=28), "reference")
    current = Window(T0 + timedelta(days=40), as_of, "current")
    table = ibis.memtable(frame)
    result = labels_at_equal_maturity(table, card, reference, current, as_of)
    matured, note = result.table, result.note
    assert note.startswith("label compared at an equal maturity of 10.0 days")
    result = matured.execute()

    def positive_share(window: Window) -> float:
        inside = result[(result["ts"] >= window.start) & (result["ts"] < window.end)]["y"].dropna()
        return float(inside.mean())

    # At 10 days of maturity only positives are ever observed, in both windows alike.
    assert positive_share(reference) == pytest.approx(1.0)
    assert positive_share(current) == pytest.approx(1.0)
    naive = frame[(frame["seen"] <= as_of)]
    naive_current = naive[(naive["ts"] >= current.start)]["y"].mean()
    naive_reference = naive[(naive["ts"] < reference.end)]["y"].mean()
    assert naive_current - naive_reference > 0.3  # what the naive comparison would call label drift


def test_too_few_matured_labels_leaves_the_label_out() -> None:
    times = pd.date_range(T0, T0 + timedelta(days=40), freq="h", tz="UTC", inclusive="left")
    frame = pd.DataFrame(
        {
            "ts": times,
            "id": "e",
            "y": 1,
            "y_pred": 1,
            "seen": times + pd.Timedelta(days=90),
        }
    )
    card = DataCard(
        source=DataSource(location="unused"),
        task="binary_classification",
        columns=ColumnRoles(
            event_time="ts", entity_id="id", prediction="y_pred", label="y", label_observed_at="seen"
        ),
    )
    as_of = T0 + timedelta(days=40)
    note = labels_at_equal_maturity(
        ibis.memtable(frame),
        card,
        Window(T0, T0 + timedelta(days=20), "reference"),
        Window(T0 + timedelta(days=30), as_of, "current"),
        as_of,
    ).note
    assert note.startswith("label left out of the drift analysis")


# ------------------------------------------------------------------------------- planted tabletop scenarios
@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    from workbench.scenarios import generate

    out = tmp_path_factory.mktemp("investigation_scenario")
    generate(out, seed=5, rows_per_day=400)
    return out, json.loads((out / "ground_truth.json").read_text())


def _planted(truth: dict, scenario_id: str) -> dict:
    return next(s for s in truth["scenarios"] if s["id"].startswith(scenario_id))


def _run(out: Path, truth: dict, planted: dict):
    card_file = out / "datacards" / f"{planted['system_id']}.yaml"
    card = DataCard.model_validate(yaml.safe_load(card_file.read_text())).with_base(card_file.parent)
    as_of = datetime.fromisoformat(truth["as_of"].replace("Z", "+00:00"))
    window = planted["incident_window"]
    windows = incident_windows(
        datetime.fromisoformat(window["start"].replace("Z", "+00:00")),
        datetime.fromisoformat(window["end"].replace("Z", "+00:00")) if planted["end"] else None,
        as_of=as_of,
    )
    result = drift_for_card(open_logs(card), card, windows, as_of=as_of, sample_size=2000)
    return card, result, result.to_summary(incident_id=planted["incident_id"] or "INC-2000-0000")


def _onset_day(value: str) -> str:
    return value[:10]


@pytest.mark.slow
def test_stale_input_is_named_with_its_onset_day(scenario: tuple[Path, dict]) -> None:
    out, truth = scenario
    planted = _planted(truth, "a_")
    card, _, summary = _run(out, truth, planted)
    frozen = set(planted["features"]) & set(card.columns.features)
    assert set(summary["stale_features"]) == frozen
    stale = next(entry for entry in summary["stale_inputs"] if entry["stale"])
    assert _onset_day(stale["onset"]) == _onset_day(planted["onset"])
    extra = set(summary["drifted_features"]) - frozen
    assert len(extra) <= 1


@pytest.mark.slow
def test_covariate_drift_names_the_planted_features_and_onset(scenario: tuple[Path, dict]) -> None:
    from workbench.sections import get_section

    out, truth = scenario
    planted = _planted(truth, "b_")
    _, _, summary = _run(out, truth, planted)
    get_section("drift").validate_summary(summary)
    named = set(summary["drifted_features"])
    assert set(planted["features"]) <= named
    assert len(named - set(planted["features"])) <= 1
    onset = datetime.fromisoformat(summary["onset"])
    truth_onset = datetime.fromisoformat(planted["onset"].replace("Z", "+00:00"))
    assert abs(onset - truth_onset.replace(hour=0, minute=0)) <= timedelta(days=1)


@pytest.mark.slow
def test_control_window_names_at_most_one_feature(scenario: tuple[Path, dict]) -> None:
    out, truth = scenario
    planted = _planted(truth, "f_")
    _, _, summary = _run(out, truth, planted)
    assert len(summary["drifted_features"]) <= 1
    assert summary["stale_features"] == []


def test_freshness_weekly_chunk_that_ends_after_the_reference_is_not_reference() -> None:
    # weeks start on Monday and last 7 days: the week of Monday 2026-01-26 ends on 2026-02-02, after a
    # reference ending Sunday 2026-02-01, so its large lags belong to the checked window, not the reference
    ts = pd.date_range("2026-01-05", "2026-02-09", freq="h", tz="UTC", inclusive="left")
    lag = np.where(ts >= pd.Timestamp("2026-01-26", tz="UTC"), 50.0, 1.0)
    frame = pd.DataFrame({"ts": ts, "product": "p1", "stock": np.arange(ts.size)})
    frame["stock_as_of"] = frame["ts"] - pd.to_timedelta(lag, unit="h")
    (result,) = input_freshness(
        ibis.memtable(frame),
        _freshness_card(),
        reference=Window(datetime(2026, 1, 5, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC), "reference"),
        current=Window(datetime(2026, 2, 1, tzinfo=UTC), datetime(2026, 2, 9, tzinfo=UTC), "current"),
        chunk="week",
    )
    chunks = result.chunks.set_index("chunk_start")
    assert chunks["is_reference"].tolist() == [True, True, True, False, False]
    assert result.reference_max_lag_hours == pytest.approx(1.0)
    assert result.current_max_lag_hours == pytest.approx(50.0)
    assert result.stale
