"""analysis.onset: one rule for every drift onset (summary, timeline, figure, windowed drift, freshness)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import ibis
import numpy as np
import pandas as pd
import pytest

from analysis.data import Window, incident_windows
from analysis.data_quality import input_freshness
from analysis.drift import drift_over_time_figure
from analysis.investigation import CardDrift, drift_for_card
from analysis.onset import (
    MAD_SCALE,
    column_onset,
    confirmed_onset,
    normal_upper_bound,
    onset_in_chunks,
    reference_statistics,
)
from register.schema import ColumnRoles, DataCard, DataSource

T0 = datetime(2026, 1, 1, tzinfo=UTC)
AS_OF = T0 + timedelta(days=46)
REFERENCE = Window(T0, T0 + timedelta(days=28), "reference")


def _day(n: int) -> datetime:
    return T0 + timedelta(days=n)


# ------------------------------------------------------------------------------------------- the rule itself
def test_normal_upper_bound_is_median_plus_three_scaled_mads() -> None:
    rng = np.random.default_rng(0)
    values = rng.gamma(2.0, 0.05, size=40)
    median = np.median(values)
    expected = median + 3 * MAD_SCALE * np.median(np.abs(values - median))
    assert normal_upper_bound(values) == pytest.approx(expected, rel=1e-12)
    # one unusual chunk barely moves it, while it inflates mean + 3 sd
    odd = np.append(values, 5.0)
    assert normal_upper_bound(odd) < values.mean() + 3 * values.std(ddof=1) < odd.mean() + 3 * odd.std(ddof=1)
    assert normal_upper_bound(odd) == pytest.approx(expected, rel=0.1)
    assert normal_upper_bound([0.2, 0.2, 0.2, 0.7]) == 0.7  # MAD 0: the reference maximum
    assert normal_upper_bound([]) is None


def test_onset_in_chunks_drops_missing_values_and_reads_the_last_chunks_completeness() -> None:
    days = pd.date_range(T0, periods=5, freq="D")
    frame = pd.DataFrame(
        {
            "chunk_start": days[::-1],  # any order
            "statistic": [0.0, 0.0, 0.0, 0.9, np.nan][::-1],
            "complete": [True, True, True, True, False][::-1],
        }
    )
    # the last chunk without a value (cut by the window's end) is dropped; the last chunk with one is
    # complete, so alone past the bound at the end it is the onset
    assert onset_in_chunks(frame, 0.5) == days[3].to_pydatetime()
    frame.loc[frame["chunk_start"] == days[3], "complete"] = False
    assert onset_in_chunks(frame, 0.5) is None
    assert pd.isna(confirmed_onset(list(days), [0.0, 0.9, 0.0, 0.0, 0.0], 0.5))


# ----------------------------------------------------------------------------- one onset: table and figure
def _card(**roles: object) -> DataCard:
    return DataCard(
        source=DataSource(location="unused"),
        task=roles.pop("task", "regression"),
        columns=ColumnRoles(event_time="ts", entity_id="id", **roles),
    )


def _outlier_reference_day_log() -> pd.DataFrame:
    """x: one unusual reference day (day 10), a moderate shift on days 36-37, a large one from day 38.

    The normal range (median + 3 MAD) puts the onset on day 36; mean + 3 sd, inflated by day 10, on day 38.
    """
    rng = np.random.default_rng(7)
    times = pd.date_range(T0, AS_OF, freq="10min", tz="UTC", inclusive="left")
    day = ((times - pd.Timestamp(T0)) // pd.Timedelta(days=1)).to_numpy()
    x = rng.normal(size=times.size)
    x[day == 10] += 3.0
    x[(day >= 36) & (day < 38)] += 0.5
    x[day >= 38] += 2.0
    return pd.DataFrame({"ts": times, "id": "e", "x": x, "score": rng.normal(size=times.size)})


@pytest.fixture(scope="module")
def outlier_drift() -> CardDrift:
    windows = incident_windows(_day(38), AS_OF, as_of=AS_OF, reference=REFERENCE)
    card = _card(features=["x"], score="score")
    return drift_for_card(ibis.memtable(_outlier_reference_day_log()), card, windows, sample_size=500)


def _trace(figure, name: str):
    return next(trace for trace in figure.data if trace.name == name)


def test_figure_marks_the_summary_onset_against_the_same_bound(outlier_drift: CardDrift) -> None:
    result = outlier_drift
    chunks = result.windowed.chunks
    x_chunks = chunks[chunks["column"] == "x"]
    current = x_chunks[~x_chunks["is_reference"]].sort_values("chunk_start")
    # the series discriminates: mean + 3 sd of the reference chunks would put the onset two days later
    reference = reference_statistics(x_chunks)
    adaptive = reference.mean() + 3 * reference.std(ddof=1)
    adaptive_onset = confirmed_onset(
        current["chunk_start"].to_list(), current["statistic"].to_list(), adaptive
    )
    assert adaptive_onset == pd.Timestamp(_day(38))

    summary = result.to_summary(incident_id="INC-2026-0001")
    entry = next(c for c in summary["columns"] if c["column"] == "x")
    assert entry["drifted"] and entry["onset"] == _day(36).isoformat()
    assert result.onset_of("x") == _day(36)

    figure = result.figures()["drift_over_time"]
    marker = _trace(figure, "x onset")
    assert pd.Timestamp(marker.x[0]) == pd.Timestamp(result.onset_of("x"))
    assert pd.Timestamp(marker.x[0]).isoformat() == entry["onset"]
    bound = _trace(figure, "x normal range (median + 3 MAD)")
    expected = column_onset(chunks, "x", current_start=result.current.start).upper
    assert expected == normal_upper_bound(reference)
    assert set(bound.y) == {expected}
    assert expected < adaptive
    # no trace draws the mean + 3 sd bound that decides nothing
    drawn = [list(trace.y) for trace in figure.data if trace.y is not None]
    assert not any(adaptive in values for values in drawn)

    # the windowed drift alone decides its onset by the same rule, and its figure shows that
    assert result.windowed.onset("x") == _day(36)
    alone = drift_over_time_figure(result.windowed, columns=["x"])
    assert pd.Timestamp(_trace(alone, "x onset").x[0]) == pd.Timestamp(_day(36))
    assert set(_trace(alone, "x normal range (median + 3 MAD)").y) == {expected}


def test_a_column_without_drift_has_no_onset_marker(outlier_drift: CardDrift) -> None:
    summary = outlier_drift.to_summary(incident_id="INC-2026-0001")
    entry = next(c for c in summary["columns"] if c["column"] == "score")
    assert entry["onset"] is None
    figure = outlier_drift.figures()["drift_over_time"]
    names = {trace.name for trace in figure.data}
    assert "score onset" not in names


# ------------------------------------------------------------------------ score and prediction onsets
def test_a_model_swap_gives_score_and_prediction_their_onsets() -> None:
    """Only the score moves (a new model from day 38); the features stay as they were."""
    rng = np.random.default_rng(11)
    times = pd.date_range(T0, AS_OF, freq="10min", tz="UTC", inclusive="left")
    swapped = np.asarray(times >= pd.Timestamp(_day(38)))
    x = rng.normal(size=times.size)
    score = 1 / (1 + np.exp(-(x + rng.normal(scale=0.5, size=times.size))))
    score = np.where(swapped, score**0.5, score)  # the new model scores everybody higher
    frame = pd.DataFrame(
        {"ts": times, "id": "e", "x": x, "score": score, "approved": (score > 0.6).astype("int64")}
    )
    card = _card(task="binary_classification", features=["x"], score="score", prediction="approved")
    windows = incident_windows(_day(38), AS_OF, as_of=AS_OF, reference=REFERENCE)
    result = drift_for_card(ibis.memtable(frame), card, windows, sample_size=500)
    summary = result.to_summary(incident_id="INC-2026-0001")
    by_column = {entry["column"]: entry for entry in summary["columns"]}
    assert not by_column["x"]["drifted"] and by_column["x"]["onset"] is None
    for column, role in (("score", "score"), ("approved", "prediction")):
        entry = by_column[column]
        assert entry["role"] == role and entry["drifted"] and entry["confirmed"]
        assert entry["onset"] == _day(38).isoformat(), (column, entry["onset"])
        assert result.onset_of(column) == _day(38)
    assert summary["drifted_features"] == []


# ------------------------------------------------------------------------------------------ input freshness
def test_freshness_onset_needs_a_confirming_chunk() -> None:
    """One late upstream day that recovers the next day is no stale input; a lag that stays is."""
    ts = pd.date_range(T0, _day(30), freq="h", tz="UTC", inclusive="left")
    day = ((ts - pd.Timestamp(T0)) // pd.Timedelta(days=1)).to_numpy()
    card = _card(features=["stock"], input_as_of={"stock": "stock_as_of"})
    reference, current = Window(T0, _day(20), "reference"), Window(_day(20), _day(30), "current")

    def freshness(lag_hours: np.ndarray):
        frame = pd.DataFrame({"ts": ts, "id": "p1", "stock": np.arange(ts.size)})
        frame["stock_as_of"] = frame["ts"] - pd.to_timedelta(lag_hours, unit="h")
        (result,) = input_freshness(ibis.memtable(frame), card, reference=reference, current=current)
        return result

    one_day = freshness(np.where(day == 23, 30.0, 1.0))
    assert one_day.chunks["max_lag_hours"].max() == pytest.approx(30.0)
    assert not one_day.stale and one_day.onset is None
    stays = freshness(np.where(day >= 23, 30.0, 1.0))
    assert stays.stale and stays.onset == _day(23)
    assert stays.threshold_kind == "adaptive" and stays.threshold_hours == pytest.approx(1.0)
