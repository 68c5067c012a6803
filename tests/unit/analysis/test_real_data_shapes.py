"""The analyses on data shaped like real model outputs (issue 20, "tried on real model outputs").

Each test generates, seeded and offline, the shape that broke or misled an analysis on a public log: an
occupation code with 500 values, two windows of one distribution at unequal sizes (25 days against 6),
labels that arrive two years after the decision, sparse days.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import ibis
import numpy as np
import pandas as pd
import pytest

from analysis import assess_impact, data_drift, domain_classifier_drift, impact_over_time_figure
from analysis._drift_domain import MAX_CLASSIFIER_CATEGORIES
from analysis._impact_figures import _LABEL_CHAR_WIDTH
from analysis.data import Window, incident_windows
from analysis.investigation import drift_for_card
from register.schema import ColumnRoles, DataCard, DataSource

T0 = datetime(2026, 1, 1, tzinfo=UTC)
FEATURES = ["AGEP", "SCHL", "SEX", "OCCP", "WKHP"]
CATEGORICAL = ["SCHL", "SEX", "OCCP"]


def _census_log(days: int, rows_per_day: int, *, seed: int, n_occupations: int = 500) -> pd.DataFrame:
    """Census-like decisions of one distribution: age, schooling, sex, an occupation code, hours, a score.

    Occupation codes follow a Zipf-like law (a few common, many rare), as in the public census data.
    """
    rng = np.random.default_rng(seed)
    n = days * rows_per_day
    seconds = np.sort(rng.uniform(0, days * 86400, n)).round()
    weights = 1 / np.arange(1, n_occupations + 1) ** 0.8
    return pd.DataFrame(
        {
            "ts": pd.Timestamp(T0) + pd.to_timedelta(seconds, unit="s"),
            "id": [f"p{i}" for i in range(n)],
            "AGEP": rng.integers(17, 91, n),
            "SCHL": rng.integers(1, 25, n),
            "SEX": rng.integers(1, 3, n),
            "OCCP": rng.choice(np.arange(10, 10 + n_occupations) * 10, n, p=weights / weights.sum()),
            "WKHP": rng.integers(1, 80, n),
            "score": rng.uniform(size=n),
        }
    )


def _census_card() -> DataCard:
    return DataCard(
        source=DataSource(location="unused"),
        task="regression",
        columns=ColumnRoles(
            event_time="ts",
            entity_id="id",
            features=FEATURES,
            categorical_features=CATEGORICAL,
            score="score",
        ),
    )


def _utc(value: object) -> pd.Timestamp:
    """A time as plotly returns it (naive UTC or aware) as an aware UTC timestamp."""
    stamp = pd.Timestamp(value)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def _windows(reference_days: int, current_days: int, *, incident_start: int | None = None):
    current_start = T0 + timedelta(days=incident_start if incident_start is not None else reference_days)
    as_of = current_start + timedelta(days=current_days)
    reference = Window(T0, T0 + timedelta(days=reference_days), "reference")
    return incident_windows(current_start, as_of, as_of=as_of, reference=reference)


# ------------------------------------------------------------------------------ 1. a 500-value category
def test_a_500_value_category_runs_end_to_end_with_exact_counts() -> None:
    frame = _census_log(31, 400, seed=2)
    windows = _windows(25, 6)
    result = drift_for_card(ibis.memtable(frame), _census_card(), windows)

    # the domain classifier ran (it used to die: "cardinality <= 255") and says how it grouped the codes
    domain = result.domain
    assert domain is not None, result.notes
    assert any(note.startswith("OCCP: ") and "'(other)'" in note for note in domain.notes)
    assert not domain.drifted and domain.auc < 0.55
    # the per-column test keeps the exact count of every value
    occupation = result.drift["OCCP"]
    inside = frame[(frame["ts"] >= windows.reference.start) & (frame["ts"] < windows.incident.end)]
    assert occupation.n_distinct == inside["OCCP"].nunique() > MAX_CLASSIFIER_CATEGORIES
    assert occupation.test == "jensenshannon" and occupation.p_value_test == "chi2_contingency"
    assert not occupation.bh_rejected
    # one distribution: no feature's drift is confirmed, and the summary is JSON-ready
    summary = result.to_summary(incident_id="INC-2026-0001")
    assert summary["drifted_features"] == []
    assert summary["domain_classifier"]["notes"] == list(domain.notes)
    assert set(result.figures()) == {"drift_table", "drift_over_time"}

    # data_drift and the domain classifier called alone take the category as well
    reference = frame[frame["ts"] < windows.reference.end]
    current = frame[frame["ts"] >= windows.incident.start]
    alone = data_drift(reference, current, columns=["OCCP"], categorical=["OCCP"])
    assert alone["OCCP"].n_distinct == occupation.n_distinct
    classifier = domain_classifier_drift(
        reference, current, columns=["OCCP", "AGEP"], categorical=["OCCP"], sample_size=2000
    )
    assert not classifier.drifted and len(classifier.notes) == 1


# ------------------------------------------------------------------- 2. unequal windows, one distribution
@pytest.fixture(scope="module")
def unequal_log() -> pd.DataFrame:
    """31 days of 2,000 decisions a day, one distribution; a 25-day reference, a 6-day current window."""
    return _census_log(31, 2000, seed=1)


def test_unequal_windows_of_one_distribution_show_no_multivariate_drift(unequal_log: pd.DataFrame) -> None:
    """Before the fix: AUC 0.756 (0.744-0.769, drifted) on this log; 15 days against 15 gave 0.500."""
    table = ibis.memtable(unequal_log)
    result = domain_classifier_drift(
        table,
        columns=["AGEP", "SCHL", "SEX"],
        categorical=["SCHL", "SEX"],
        time_column="ts",
        reference_window=(T0, T0 + timedelta(days=25)),
        current_window=(T0 + timedelta(days=25), T0 + timedelta(days=31)),
        sample_size=10_000,
        n_repeats=2,
    )
    assert result.n_sample_ref == result.n_sample_cur == 10_000  # balanced classes
    assert abs(result.auc - 0.5) < 0.03 and result.auc_lower < 0.5
    assert not result.drifted


def test_a_planted_shift_between_unequal_windows_is_still_found(unequal_log: pd.DataFrame) -> None:
    shifted = unequal_log.copy()
    later = shifted["ts"] >= pd.Timestamp(T0 + timedelta(days=25))
    shifted.loc[later, "AGEP"] += 10
    result = domain_classifier_drift(
        ibis.memtable(shifted),
        columns=["AGEP", "SCHL", "SEX"],
        categorical=["SCHL", "SEX"],
        time_column="ts",
        reference_window=(T0, T0 + timedelta(days=25)),
        current_window=(T0 + timedelta(days=25), T0 + timedelta(days=31)),
        sample_size=10_000,
        n_repeats=2,
    )
    assert result.drifted and result.auc_lower > 0.55
    assert result.importances["feature"].iloc[0] == "AGEP"


# --------------------------------------------------------------------------- 3. labels two years late
def _late_label_log() -> tuple[pd.DataFrame, DataCard]:
    rng = np.random.default_rng(4)
    n = 31 * 200
    seconds = np.sort(rng.uniform(0, 31 * 86400, n)).round()
    ts = pd.Timestamp(T0) + pd.to_timedelta(seconds, unit="s")
    score = rng.uniform(size=n)
    delay = pd.to_timedelta(730 * 86400 + rng.uniform(0, 20 * 86400, n).round(), unit="s")
    frame = pd.DataFrame(
        {
            "ts": ts,
            "id": [f"p{i}" for i in range(n)],
            "AGEP": rng.integers(17, 91, n),
            "score": score,
            "pred": (score > 0.5).astype("int64"),
            "y": (rng.uniform(size=n) < score).astype("int64"),
            "seen": ts + delay,
        }
    )
    card = DataCard(
        source=DataSource(location="unused"),
        task="binary_classification",
        columns=ColumnRoles(
            event_time="ts",
            entity_id="id",
            features=["AGEP"],
            score="score",
            prediction="pred",
            label="y",
            label_observed_at="seen",
        ),
    )
    return frame, card


@pytest.mark.parametrize(
    ("as_of_days", "label_used"),
    [
        (31 + 800, True),  # after every label: impact sees 100 %, label drift compares them all
        (25 + 729, False),  # the reference's labels are in, the current window's are not
    ],
)
def test_labels_two_years_late_agree_with_impact(as_of_days: int, label_used: bool) -> None:
    frame, card = _late_label_log()
    as_of = T0 + timedelta(days=as_of_days)
    windows = incident_windows(
        T0 + timedelta(days=25),
        T0 + timedelta(days=31),
        as_of=as_of,
        reference=Window(T0, T0 + timedelta(days=25), "reference"),
    )
    impact = assess_impact(frame, card, windows)
    drift = drift_for_card(ibis.memtable(frame), card, windows, sample_size=1000)
    note = next(note for note in drift.notes if note.startswith("label"))
    assert ("y" in drift.roles) is label_used, note
    if label_used:
        assert impact.incident.label_completeness == impact.reference.label_completeness == 1.0
        # the very labels impact counts: observed by as_of, in each window
        assert drift.drift["y"].n_ref == impact.reference.n_labelled
        assert drift.drift["y"].n_cur == impact.incident.n_labelled
        assert note.startswith("label compared on the labels observed by as_of, as impact counts them")
    else:
        assert impact.reference.n_labelled > 0 and impact.incident.n_labelled == 0
        assert note.startswith("label left out of the drift analysis")
        # the note gives the counts of impact's definition beside the ones at equal maturity
        assert (
            f"{impact.reference.n_labelled} reference and {impact.incident.n_labelled} current labels were "
            "observed by as_of (label_observed_at <= as_of, as impact counts them)"
        ) in note


def test_equal_maturity_is_stated_when_it_drops_labels_impact_counts() -> None:
    """Labels 2 to 40 days late, as_of 10 days after the window: old reference labels are not compared."""
    frame, card = _late_label_log()
    rng = np.random.default_rng(5)
    frame["seen"] = frame["ts"] + pd.to_timedelta(rng.uniform(2, 40, len(frame)).round(), unit="D")
    as_of = T0 + timedelta(days=41)
    windows = incident_windows(
        T0 + timedelta(days=25),
        T0 + timedelta(days=31),
        as_of=as_of,
        reference=Window(T0, T0 + timedelta(days=25), "reference"),
    )
    impact = assess_impact(frame, card, windows)
    drift = drift_for_card(ibis.memtable(frame), card, windows, sample_size=1000)
    note = next(note for note in drift.notes if note.startswith("label"))
    assert note.startswith("label compared at an equal maturity of 10.0 days"), note
    assert f"{impact.reference.n_labelled} reference and {impact.incident.n_labelled} current labels" in note
    assert drift.drift["y"].n_ref < impact.reference.n_labelled


# ------------------------------------------------------------------------------------- 4. sparse days
def _sparse_impact():
    rng = np.random.default_rng(0)
    per_day = rng.choice([2, 5, 300], size=40, p=[0.3, 0.3, 0.4])
    seconds = np.concatenate(
        [day * 86400 + rng.uniform(0, 86400, k).round() for day, k in enumerate(per_day)]
    )
    n = seconds.size
    prediction = (rng.uniform(size=n) < 0.3).astype("int64")
    frame = pd.DataFrame(
        {
            "ts": pd.Timestamp(T0) + pd.to_timedelta(np.sort(seconds), unit="s"),
            "id": [f"e{i}" for i in range(n)],
            "p": prediction,
            "y": np.where(rng.uniform(size=n) < 0.2, 1 - prediction, prediction),
        }
    )
    card = DataCard(
        source=DataSource(location="unused"),
        task="binary_classification",
        columns=ColumnRoles(event_time="ts", entity_id="id", prediction="p", label="y"),
    )
    # adjacent, short windows: a one-day incident right after the reference, the recent day right after it
    windows = incident_windows(
        T0 + timedelta(days=30),
        T0 + timedelta(days=31),
        as_of=T0 + timedelta(days=32),
        reference=Window(T0, T0 + timedelta(days=30), "reference"),
    )
    return assess_impact(frame, card, windows)


def test_sparse_days_are_drawn_with_their_counts_and_intervals() -> None:
    result = _sparse_impact()
    figure = impact_over_time_figure(result)
    frame = result.over_time
    decided = frame["n_decided"].to_numpy()
    sparse = (decided > 0) & (decided < 30)
    assert sparse.sum() >= 10  # the shape that swung 0-100 %
    rate = next(t for t in figure.data if (t.name or "").startswith("failure rate"))
    apart = next(t for t in figure.data if (t.name or "").startswith("chunks with < 30 decided"))
    # the line joins only chunks with enough decisions; the sparse ones stand apart with their interval
    assert np.isnan(np.asarray(rate.y, float)[sparse]).all()
    assert not np.isnan(np.asarray(rate.y, float)[decided >= 30]).any()
    assert len(apart.y) == sparse.sum()
    upper, lower = (
        frame["failure_rate_upper"].to_numpy()[sparse],
        frame["failure_rate_lower"].to_numpy()[sparse],
    )
    np.testing.assert_allclose(np.asarray(apart.error_y.array) + np.asarray(apart.y), upper)
    np.testing.assert_allclose(np.asarray(apart.y) - np.asarray(apart.error_y.arrayminus), lower)
    # every chunk carries its counts; the marker grows with the decided decisions
    assert [int(row[1]) for row in apart.customdata] == decided[sparse].tolist()
    assert [int(row[1]) for row in rate.customdata] == decided.tolist()
    sizes = np.asarray(rate.marker.size, float)
    assert sizes[decided.argmax()] > sizes[np.flatnonzero(sparse)[0]]
    # each chunk sits at its middle, and its hover names the interval it covers
    middle = pd.Timestamp(rate.x[0])
    assert middle == (frame["chunk_start"].iloc[0] + pd.Timedelta(hours=12)).tz_localize(None)
    assert rate.customdata[0][3].endswith(f"{frame['chunk_end'].iloc[0]:%Y-%m-%d %H:%M}")


def test_window_names_do_not_collide_when_windows_are_adjacent_and_short() -> None:
    result = _sparse_impact()
    figure = impact_over_time_figure(result)
    labels = [a for a in figure.layout.annotations if a.name == "window label"]
    assert sorted(a.text for a in labels) == ["incident", "recent", "reference"]
    positions = [(pd.Timestamp(a.x), a.y) for a in labels]
    assert len(set(positions)) == len(positions)
    # on one row, a name ends (at its estimated width) before the next one starts
    low = pd.Timestamp(result.over_time["chunk_start"].min()).tz_localize(None)
    high = pd.Timestamp(result.over_time["chunk_end"].max()).tz_localize(None)
    width = (high - low).total_seconds()
    for row in {a.y for a in labels}:
        on_row = sorted((pd.Timestamp(a.x), a.text) for a in labels if a.y == row)
        for (x0, text), (x1, _) in zip(on_row, on_row[1:], strict=False):
            assert (x1 - x0).total_seconds() / width >= _LABEL_CHAR_WIDTH * len(text)
    # the incident (one day) and the recent day after it are too close for one row
    rows = {a.text: a.y for a in labels}
    assert rows["incident"] != rows["recent"]
    # the shading still spans each window exactly
    spans = {(pd.Timestamp(s.x0), pd.Timestamp(s.x1)) for s in figure.layout.shapes if s.type == "rect"}
    for window in (result.reference.window, result.incident.window, result.recent.window):
        assert (
            pd.Timestamp(window.start).tz_localize(None),
            pd.Timestamp(window.end).tz_localize(None),
        ) in spans


# --------------------------------------------------------------------------- 5. drift over time figure
def test_drift_over_time_names_its_statistic_and_draws_chunks_as_intervals() -> None:
    frame = _census_log(31, 400, seed=3)
    frame.loc[frame["ts"] >= pd.Timestamp(T0 + timedelta(days=27, hours=6)), "AGEP"] += 8
    windows = _windows(24, 4, incident_start=27)
    result = drift_for_card(ibis.memtable(frame), _census_card(), windows, sample_size=2000)
    summary = result.to_summary(incident_id="INC-2026-0001")
    assert result.drift["AGEP"].test == "wasserstein" and summary["drifted_features"] == ["AGEP"]
    figure = result.figures()["drift_over_time"]
    # the axis names the statistic drawn; a caption names the table's test where it differs
    assert figure.layout.yaxis.title.text == "Jensen-Shannon distance per day"
    captions = [a.text for a in figure.layout.annotations if "drift table" in (a.text or "")]
    assert len(captions) == 1 and "AGEP with the normed Wasserstein distance" in captions[0]
    # each chunk: a marker at its middle, a segment over the day it covers
    chunks = result.windowed.chunks
    starts = pd.to_datetime(chunks.loc[chunks["column"] == "AGEP", "chunk_start"], utc=True).tolist()
    markers = next(t for t in figure.data if t.name == "AGEP")
    assert [_utc(x) for x in markers.x] == [s + pd.Timedelta(hours=12) for s in starts]
    assert "wasserstein" in markers.hovertemplate.lower()
    segments = next(t for t in figure.data if t.name == "AGEP chunk spans")
    ends = [_utc(x) for x in segments.x if x is not None]
    assert ends[0::2] == starts and ends[1::2] == [s + pd.Timedelta(days=1) for s in starts]
    # the onset marker stays the summary's onset (the start of its chunk); the band is the summary's window
    entry = next(c for c in summary["columns"] if c["column"] == "AGEP")
    onset = next(t for t in figure.data if t.name == "AGEP onset")
    assert _utc(onset.x[0]).isoformat() == entry["onset"] == (T0 + timedelta(days=27)).isoformat()
    band = next(s for s in figure.layout.shapes if s.type == "rect")
    assert _utc(band.x0).isoformat() == summary["current_window"]["start"]
    assert _utc(band.x1).isoformat() == summary["current_window"]["end"]
