"""Impact analysis on synthetic logs whose truth is computed independently with pandas."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from analysis import (
    Window,
    assess_impact,
    impact_by_group_figure,
    impact_over_time_figure,
    incident_windows,
    is_still_happening,
    open_logs,
)
from analysis.errors import DataValidationError, InvalidParameterError
from analysis.stats import newcombe_interval, wilson_interval
from register.schema import (
    ColumnRoles,
    DataCard,
    DataQualitySignal,
    DataSource,
    LabelErrorSignal,
    PredictionConditionSignal,
)
from tests.unit.analysis.conftest import LATE_LABELS_AS_OF, START, make_late_label_log, make_synthetic_log


def _windows(log, **kwargs):
    return incident_windows(log.onset, log.end, as_of=log.as_of, **kwargs)


def _pandas_truth(log, window, as_of, *, signal=None):
    """Counts of one window computed from the raw frame with pandas (the independent reference)."""
    frame = log.frame.merge(log.sensitive, on="customer_id", how="left")
    inside = (frame["ts"] >= pd.Timestamp(window.start)) & (frame["ts"] < pd.Timestamp(window.end))
    frame = frame[inside]
    if signal is None:
        known = (
            frame["y_true"].notna()
            & frame["label_observed_at"].notna()
            & (frame["label_observed_at"] <= pd.Timestamp(as_of))
        )
        failed = known & (frame["y_true"] != frame["y_pred"]).fillna(False)
        decided = known
    else:
        failed = signal(frame)
        decided = pd.Series(True, index=frame.index)
    return frame, failed.astype(bool), decided.astype(bool)


@pytest.fixture(scope="module")
def logs(synthetic_log):
    return open_logs(synthetic_log.card, data=synthetic_log.frame, sensitive_data=synthetic_log.sensitive)


@pytest.fixture(scope="module")
def result(logs, synthetic_log):
    return assess_impact(logs, synthetic_log.card, _windows(synthetic_log))


def test_counts_equal_the_pandas_truth(result, synthetic_log):
    windows = _windows(synthetic_log)
    for name in ("incident", "reference", "recent"):
        window = getattr(windows, name)
        frame, failed, decided = _pandas_truth(synthetic_log, window, windows.as_of)
        counts = getattr(result, name)
        assert counts.n_decisions == len(frame)
        assert counts.n_decided == int(decided.sum())
        assert counts.n_failures == int(failed.sum())
        assert counts.n_affected_entities == frame.loc[failed, "customer_id"].nunique()
        assert counts.n_entities == frame["customer_id"].nunique()
        assert counts.label_completeness == pytest.approx(decided.mean())
    assert result.n_affected_decisions == result.incident.n_failures > 0
    assert result.n_entities_without_sensitive == 5


def test_excess_failures_and_interval(result):
    incident, reference = result.incident, result.reference
    p1 = incident.n_failures / incident.n_decided
    p0 = reference.n_failures / reference.n_decided
    difference, lower, upper = newcombe_interval(
        incident.n_failures, incident.n_decided, reference.n_failures, reference.n_decided
    )
    excess = result.excess_failures
    assert excess.estimate == pytest.approx(incident.n_decided * (p1 - p0))
    assert excess.lower == pytest.approx(incident.n_decided * lower)
    assert excess.upper == pytest.approx(incident.n_decided * upper)
    assert excess.lower < excess.estimate < excess.upper
    assert result.excess_failures_all_decisions.estimate == pytest.approx(incident.n_decisions * difference)
    assert "Newcombe" in excess.method


def test_by_group_counts_suppression_and_empty_group(result, synthetic_log):
    windows = _windows(synthetic_log)
    frame, failed, decided = _pandas_truth(synthetic_log, windows.incident, windows.as_of)
    ref_frame, ref_failed, ref_decided = _pandas_truth(synthetic_log, windows.reference, windows.as_of)
    table = result.by_group.set_index("group")
    assert set(table["attribute"]) == {"region"}
    assert {"north", "south", "east", "island", "legacy", "(missing)"} <= set(table.index)
    region = frame["region"].fillna("(missing)")
    ref_region = ref_frame["region"].fillna("(missing)")
    for group, row in table.iterrows():
        in_group = region == group
        n = int(in_group.sum())
        assert bool(row["suppressed"]) == (n < 10), group
        if row["suppressed"]:
            assert np.isnan(row["n_decisions"]) and np.isnan(row["failure_rate"])
            continue
        assert row["n_decisions"] == n
        assert row["n_decided"] == int(decided[in_group].sum())
        assert row["n_failures"] == int(failed[in_group].sum())
        assert row["n_affected_entities"] == frame.loc[failed & in_group, "customer_id"].nunique()
        assert row["reference_n_failures"] == int(ref_failed[ref_region == group].sum())
        lower, upper = wilson_interval(row["n_failures"], row["n_decided"])
        assert (row["failure_rate_lower"], row["failure_rate_upper"]) == pytest.approx((lower, upper))
    # the legacy group has decisions only long before the incident: empty in the incident window
    assert bool(table.loc["legacy", "suppressed"])
    assert int((region == "legacy").sum()) == 0
    # the planted region has the highest failure rate
    visible = table[~table["suppressed"].astype(bool)]
    assert visible["failure_rate"].idxmax() == synthetic_log.affected_region


def test_suppression_threshold_is_a_parameter(logs, synthetic_log):
    none_suppressed = assess_impact(logs, synthetic_log.card, _windows(synthetic_log), min_cell_size=0)
    table = none_suppressed.by_group.set_index("group")
    assert not table["suppressed"].astype(bool).any()
    assert table.loc["legacy", "n_decisions"] == 0
    assert np.isnan(table.loc["legacy", "failure_rate"])  # no division by zero, no exception


def test_over_time_counts(result, synthetic_log):
    windows = _windows(synthetic_log)
    over_time = result.over_time
    assert over_time["chunk_start"].is_monotonic_increasing
    assert (over_time["chunk_end"] - over_time["chunk_start"] == pd.Timedelta(days=1)).all()
    span_start = min(w.start for w in windows)
    frame = synthetic_log.frame
    inside = (frame["ts"] >= pd.Timestamp(span_start)) & (frame["ts"] < pd.Timestamp(windows.as_of))
    per_day = frame[inside].groupby(frame["ts"].dt.floor("D")).size()
    counted = over_time.set_index("chunk_start")["n_decisions"]
    assert counted[counted > 0].to_dict() == per_day.to_dict()
    # chunks with no data are present with zero counts (the reference starts before the log)
    assert (counted == 0).sum() == len(counted) - len(per_day)
    assert (
        over_time.loc[over_time["in_incident"], "failure_rate"].mean()
        > over_time.loc[over_time["in_reference"], "failure_rate"].mean()
    )


@pytest.mark.parametrize("chunk", ["hour", "week"])
def test_other_chunks(logs, synthetic_log, chunk):
    result = assess_impact(logs, synthetic_log.card, _windows(synthetic_log), chunk=chunk, validate=False)
    assert result.over_time["n_decisions"].sum() == len(
        synthetic_log.frame[
            synthetic_log.frame["ts"] >= pd.Timestamp(min(w.start for w in _windows(synthetic_log)))
        ]
    )
    if chunk == "week":
        assert (result.over_time["chunk_start"].dt.day_of_week == 0).all()


def test_labels_as_of_filtering(logs, synthetic_log):
    """An earlier as_of sees fewer labels: counts follow label_observed_at <= as_of exactly."""
    as_of = synthetic_log.as_of - timedelta(days=2)
    windows = incident_windows(synthetic_log.onset, as_of=as_of)
    early = assess_impact(logs, synthetic_log.card, windows)
    late = assess_impact(logs, synthetic_log.card, _windows(synthetic_log))
    frame, failed, decided = _pandas_truth(synthetic_log, windows.incident, as_of)
    assert early.incident.n_decided == int(decided.sum())
    assert early.incident.n_failures == int(failed.sum())
    # same decisions seen later: more labels
    same_window = assess_impact(
        logs,
        synthetic_log.card,
        incident_windows(synthetic_log.onset, as_of=synthetic_log.as_of, incident=windows.incident),
    )
    assert same_window.incident.n_decisions == early.incident.n_decisions
    assert same_window.incident.n_decided > early.incident.n_decided
    assert early.incident.label_completeness < same_window.incident.label_completeness
    assert late.definition["label_rule"].startswith("a label counts only")


def test_verdict_ongoing_with_prompt_labels():
    prompt = make_synthetic_log(label_delay_hours=(0.1, 2.0))
    logs = open_logs(prompt.card, data=prompt.frame, sensitive_data=prompt.sensitive)
    verdict = is_still_happening(logs, prompt.card, _windows(prompt))
    assert verdict.verdict == "ongoing", verdict.reason
    assert verdict.lower > 0
    assert verdict.recent.label_completeness > 0.8


def test_verdict_subsided_with_labels():
    fixed = make_synthetic_log(label_delay_hours=(0.1, 2.0), end_day=50, incident_error=0.6)
    logs = open_logs(fixed.card, data=fixed.frame, sensitive_data=fixed.sensitive)
    verdict = is_still_happening(logs, fixed.card, _windows(fixed))
    assert verdict.verdict == "subsided", verdict.reason
    assert verdict.upper < verdict.margin


def test_default_result_is_honest_about_late_labels(result):
    verdict = result.still_happening
    assert verdict.verdict == "inconclusive"
    assert "labels observed for only" in verdict.reason


def test_verdict_inconclusive_when_labels_are_late(synthetic_log):
    late = make_synthetic_log(label_delay_hours=(30.0, 200.0))
    logs = open_logs(late.card, data=late.frame, sensitive_data=late.sensitive)
    verdict = is_still_happening(logs, late.card, _windows(late))
    assert verdict.verdict == "inconclusive"
    assert "labels observed for only" in verdict.reason
    assert verdict.recent.label_completeness < 0.5


def test_verdict_subsided_and_ongoing_on_label_free_signal():
    """A data-quality signal needs no labels: a fault that stopped is 'subsided', one still on 'ongoing'."""
    times = pd.date_range("2026-03-01", "2026-04-10", freq="15min", tz="UTC", inclusive="left")
    card = DataCard(
        source=DataSource(location="unused"),
        task="regression",
        columns=ColumnRoles(event_time="ts", entity_id="id", features=["x"]),
        failure_signal=DataQualitySignal(column="x", condition="null"),
    )
    onset = datetime(2026, 4, 1, tzinfo=UTC)
    for stop, expected in ((datetime(2026, 4, 5, tzinfo=UTC), "subsided"), (None, "ongoing")):
        broken = (times >= onset) & ((times < stop) if stop else True) & (np.arange(len(times)) % 3 == 0)
        frame = pd.DataFrame(
            {"ts": times, "id": [f"e{i % 40}" for i in range(len(times))], "x": np.where(broken, np.nan, 1.0)}
        )
        windows = incident_windows(onset, stop, as_of=datetime(2026, 4, 10, tzinfo=UTC))
        result = assess_impact(frame, card, windows)
        assert result.still_happening.verdict == expected, result.still_happening.reason
        # exact counts: every third decision of the broken period
        in_incident = (times >= onset) & ((times < stop) if stop else True)
        assert result.n_affected_decisions == int(broken[in_incident].sum())
        assert result.incident.label_completeness is None  # no label column: nothing to be complete


def test_planted_excess_is_exact_on_deterministic_data():
    """Baseline exactly 1 in 20 fails, incident exactly 1 in 4: the excess is known exactly."""
    times = pd.date_range("2026-03-01", "2026-04-10", freq="30min", tz="UTC", inclusive="left")
    index = np.arange(len(times))
    onset = pd.Timestamp("2026-04-01", tz="UTC")
    fails = np.where(times >= onset, index % 4 == 0, index % 20 == 0)
    frame = pd.DataFrame(
        {"ts": times, "id": [f"e{i % 7}" for i in index], "p": 1, "y": np.where(fails, 0, 1)}
    )
    card = DataCard(
        source=DataSource(location="unused"),
        task="binary_classification",
        columns=ColumnRoles(event_time="ts", entity_id="id", prediction="p", label="y"),
    )
    reference = Window(datetime(2026, 3, 1), datetime(2026, 3, 21), "reference")  # 960 rows, 48 fail
    windows = incident_windows(
        onset.to_pydatetime(), as_of=datetime(2026, 4, 10, tzinfo=UTC), reference=reference
    )
    result = assess_impact(frame, card, windows)
    assert windows.defaults == ("incident", "recent")
    assert result.reference.n_failures == 48
    n = result.n_decisions
    assert n == 9 * 48
    assert result.n_affected_decisions == n // 4
    assert result.reference.failure_rate == pytest.approx(1 / 20)
    assert result.excess_failures.estimate == pytest.approx(n / 4 - n / 20)


def test_signals_data_quality_stale_and_prediction_condition(logs, synthetic_log):
    windows = _windows(synthetic_log)
    frame = synthetic_log.frame
    inside = (frame["ts"] >= pd.Timestamp(windows.incident.start)) & (
        frame["ts"] < pd.Timestamp(windows.incident.end)
    )
    stale = DataQualitySignal(column="income", condition="stale", max_lag=timedelta(hours=3))
    result = assess_impact(logs, synthetic_log.card, windows, signal=stale)
    expected = ((frame["ts"] - frame["income_as_of"]) > pd.Timedelta(hours=3)) & inside
    assert result.n_affected_decisions == int(expected.sum())
    assert result.n_affected_entities == frame.loc[expected, "customer_id"].nunique()
    assert result.definition["uses_labels"] is False
    null = DataQualitySignal(column="income", condition="null")
    assert assess_impact(logs, synthetic_log.card, windows, signal=null).n_affected_decisions == int(
        (frame["income"].isna() & inside).sum()
    )
    high = PredictionConditionSignal(column="score", op=">", value=0.6)
    assert assess_impact(logs, synthetic_log.card, windows, signal=high).n_affected_decisions == int(
        ((frame["score"] > 0.6) & inside).sum()
    )


def test_regression_tolerance_absolute_and_relative():
    frame = pd.DataFrame(
        {
            "ts": pd.date_range("2026-01-01", periods=8, freq="D", tz="UTC"),
            "id": list("abcdefgh"),
            "price": [10.0, 10.0, 10.0, 0.0, 5.0, 5.0, 10.0, 0.0],
            "true_price": [10.5, 12.0, 9.0, 0.0, 0.0, 4.0, None, 1.0],
        }
    )
    card = DataCard(
        source=DataSource(location="unused"),
        task="regression",
        columns=ColumnRoles(event_time="ts", entity_id="id", prediction="price", label="true_price"),
    )
    from analysis import failure_expression

    as_of = datetime(2026, 2, 1, tzinfo=UTC)
    absolute = failure_expression(frame, card, LabelErrorSignal(tolerance=1.0), as_of=as_of).execute()
    assert absolute.tolist() == [False, True, False, False, True, False, None, False]
    relative = failure_expression(frame, card, LabelErrorSignal(tolerance=0.1, relative=True), as_of=as_of)
    # |p - y| > 0.1 |y| ; y = 0 and p != 0 fails (infinite relative error), no division anywhere
    assert relative.execute().tolist() == [False, True, True, False, True, True, None, True]


def test_summary_is_json_and_matches_the_section_schema(result):
    from workbench.sections import get_section

    summary = result.to_summary()
    text = json.dumps(summary, allow_nan=False)
    assert json.loads(text) == summary
    validated = get_section("impact").validate_summary({**summary, "incident_id": "INC-2026-0001"})
    assert validated.n_affected_decisions == result.n_affected_decisions
    assert summary["schema"] == "impact/1"
    assert summary["definition"].startswith("label error")
    assert summary["still_happening"]["verdict"] in ("ongoing", "subsided", "inconclusive")
    assert set(summary["windows"]) == {"reference", "incident", "recent"}
    assert summary["window_defaults"] == ["reference", "incident", "recent"]
    rows = {row["group"]: row for row in summary["by_group"]}
    assert rows["legacy"]["suppressed"] is True and rows["legacy"]["n_decisions"] is None
    assert isinstance(rows["north"]["n_decisions"], int)
    assert summary["excess_failures"]["level"] == 0.95


def test_figures(result):
    over_time = impact_over_time_figure(result)
    by_group = impact_by_group_figure(result)
    # band (2), rate, failed decisions, sparse chunks (the last day: labels arriving), label completeness
    assert len(over_time.data) == 6
    sparse = result.over_time["n_decided"].between(1, 29)
    assert sparse.sum() == 1 and len(over_time.data[4].y) == 1
    assert len(over_time.layout.shapes) >= 3  # the three windows shaded (+ baseline line)
    bar = by_group.data[0]
    assert len(bar.y) == len(result.by_group)
    suppressed_labels = [t for t in bar.text if t.startswith("suppressed")]
    assert len(suppressed_labels) == int(result.by_group["suppressed"].sum()) >= 1


def test_bad_parameters(logs, synthetic_log):
    windows = _windows(synthetic_log)
    with pytest.raises(InvalidParameterError, match="chunk must be one of"):
        assess_impact(logs, synthetic_log.card, windows, chunk="month")
    with pytest.raises(InvalidParameterError, match="confidence"):
        assess_impact(logs, synthetic_log.card, windows, confidence=1.5)
    with pytest.raises(InvalidParameterError, match="windows must be IncidentWindows"):
        assess_impact(logs, synthetic_log.card, (windows.reference, windows.incident))


def test_validation_runs_before_impact(synthetic_log):
    frame = synthetic_log.frame.drop(columns=["y_pred", "score"])
    logs = open_logs(synthetic_log.card, data=frame, sensitive_data=synthetic_log.sensitive)
    with pytest.raises(DataValidationError) as error:
        assess_impact(logs, synthetic_log.card, _windows(synthetic_log))
    assert {(f["column"], f["check"]) for f in error.value.failures} >= {
        ("y_pred", "column_present"),
        ("score", "column_present"),
    }


def test_by_group_figure_shows_the_data_cards_labels_beside_the_codes(result):
    groups = result.by_group["group"].astype(str).tolist()
    attribute = str(result.by_group["attribute"].iloc[0])
    coded, uncoded = groups[0], groups[1]
    value_labels = {attribute: {coded: "Asian & <Pacific>"}}
    figure = impact_by_group_figure(result, value_labels=value_labels)
    ticks = [label.split("<br>")[0] for label in figure.data[0].y]
    # the label before its code (escaped: plotly reads tick text as HTML); unlabelled groups keep the code
    assert ticks[0] == f"{attribute} = Asian &amp; &lt;Pacific&gt; ({coded})"
    assert ticks[1].endswith(f"= {uncoded}")
    assert list(figure.data[1].y) == list(figure.data[0].y)  # both bars of a group on one row
    # without labels every row shows the raw code, as before
    plain = [label.split("<br>")[0] for label in impact_by_group_figure(result).data[0].y]
    assert plain[0] == f"{attribute} = {coded}"


def _late_label_impact(*, late: bool, signal=None):
    frame, card = make_late_label_log(late=late)
    windows = incident_windows(START + timedelta(days=30), as_of=LATE_LABELS_AS_OF)
    return assess_impact(frame, card, windows, signal=signal)


def test_late_labels_mark_the_latest_chunks_as_provisional():
    result = _late_label_impact(late=True)
    last_days = result.over_time.tail(3)
    # the shape that misleads: the last two days look failure-free because their failures are unlabelled
    assert last_days["failure_rate"].tolist()[1:] == [0.0, 0.0]
    assert last_days["label_completeness"].round(2).tolist() == [0.85, 0.70, 0.67]
    assert result.labels_incomplete_from == pd.Timestamp(START + timedelta(days=38))
    summary = result.to_summary()
    assert summary["labels_incomplete_from"] == "2026-02-12T00:00:00+00:00"
    assert summary["complete_label_share"] == 0.8
    # a stricter threshold reaches back to day 37 (85 %)
    strict = assess_impact(
        *make_late_label_log(late=True),
        incident_windows(START + timedelta(days=30), as_of=LATE_LABELS_AS_OF),
        complete_label_share=0.9,
    )
    assert strict.labels_incomplete_from == pd.Timestamp(START + timedelta(days=37))
    # the figure: the chunks greyed out from that day to the end, named, and every hover gives completeness
    figure = impact_over_time_figure(result)
    band = next(s for s in figure.layout.shapes if s.name == "labels incomplete")
    assert pd.Timestamp(band.x0) == pd.Timestamp("2026-02-12")
    assert pd.Timestamp(band.x1) == pd.Timestamp(LATE_LABELS_AS_OF).tz_localize(None)
    note = next(a for a in figure.layout.annotations if a.name == "labels incomplete")
    assert note.text == "labels incomplete from 2026-02-12 00:00 (< 80% of decisions labelled)"
    rate = next(t for t in figure.data if (t.name or "").startswith("failure rate"))
    assert "%{customdata[4]}" in rate.hovertemplate
    assert rate.customdata[-2][4] == "<br>labels observed for 70% of decisions"


def test_prompt_labels_or_a_label_free_signal_mark_nothing():
    prompt = _late_label_impact(late=False)
    label_free = _late_label_impact(late=True, signal=DataQualitySignal(column="x", condition="null"))
    for result in (prompt, label_free):
        assert result.labels_incomplete_from is None
        assert result.to_summary()["labels_incomplete_from"] is None
        figure = impact_over_time_figure(result)
        assert not [s for s in figure.layout.shapes if s.name == "labels incomplete"]
        assert not [a for a in figure.layout.annotations if a.name == "labels incomplete"]
    # the last day's labels are not all in (the last hour's come after as_of), but enough are
    assert prompt.over_time["label_completeness"].iloc[-1] < 1


def test_complete_label_share_must_be_a_share(logs, synthetic_log):
    with pytest.raises(InvalidParameterError, match="complete_label_share must be between 0 and 1"):
        assess_impact(logs, synthetic_log.card, _windows(synthetic_log), complete_label_share=80)


def test_late_labels_make_a_low_recent_rate_inconclusive_not_subsided():
    result = _late_label_impact(late=True)
    # the recent window's chunks all lack labels: its 0 % failure rate only shows failures arrive late
    assert result.labels_incomplete_from <= pd.Timestamp(result.recent.window.start)
    assert result.still_happening.verdict == "inconclusive"
    assert "labelled late" in result.still_happening.reason
    # with prompt labels the same log's verdict is not turned into "inconclusive" by this rule
    prompt = _late_label_impact(late=False)
    assert prompt.labels_incomplete_from is None
    assert "labelled late" not in prompt.still_happening.reason
