"""Root cause on small planted logs: the ranking rule, the verdict, the recorded cause, every bad input."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from analysis import Window, incident_windows
from analysis._root_cause_rank import Candidate, OnsetWindow, Share, rank_candidates, strength_of, timing_of
from analysis.root_cause import analyse_root_cause, compare_with_recorded
from analysis.sections.root_cause import SECTION, RootCauseSummary, headline, timeline_events
from register.schema import ColumnRoles, DataCard, DataSource, Incident, TimelineEvent

START = datetime(2026, 1, 1, tzinfo=UTC)
ONSET = datetime(2026, 2, 10, 14, tzinfo=UTC)


def _card(features: list[str] | None = None) -> DataCard:
    return DataCard(
        source=DataSource(location="unused.parquet"),
        task="binary_classification",
        columns=ColumnRoles(
            event_time="ts",
            entity_id="id",
            model_version="version",
            features=features if features is not None else ["region", "channel", "income"],
            score="score",
            prediction="y_pred",
            label="y_true",
        ),
    )


def _log(
    *,
    seed: int = 0,
    days: int = 50,
    per_hour: int = 60,
    slice_rate: float | None = 0.6,
    null_income: bool = True,
    version_switch: bool = False,
) -> pd.DataFrame:
    """Hourly traffic; from ONSET, region=r3 & channel=web errs at ``slice_rate`` with income NULL there."""
    rng = np.random.default_rng(seed)
    n = days * 24 * per_hour
    ts = START + pd.to_timedelta(np.sort(rng.uniform(0, days * 86_400, n)), unit="s")
    ts = pd.Series(pd.DatetimeIndex(ts)).dt.tz_convert("UTC").dt.floor("s").astype("datetime64[us, UTC]")
    region = rng.choice(["r1", "r2", "r3", "r4"], n)
    channel = rng.choice(["web", "app", "branch"], n, p=[0.3, 0.5, 0.2])
    income = rng.lognormal(10, 0.4, n)
    after = (ts >= pd.Timestamp(ONSET)).to_numpy()
    in_slice = (region == "r3") & (channel == "web")
    error = np.full(n, 0.04)
    if slice_rate is not None:
        error = np.where(after & in_slice, slice_rate, error)
    failed = rng.random(n) < error
    y_true = rng.integers(0, 2, n)
    y_pred = np.where(failed, 1 - y_true, y_true)
    if null_income and slice_rate is not None:
        income = np.where(after & in_slice, np.nan, income)
    version = np.where(after & version_switch, "2.0", "1.0")
    return pd.DataFrame(
        {
            "ts": ts,
            "id": [f"e{i % 5000}" for i in range(n)],
            "version": version,
            "region": region,
            "channel": channel,
            "income": income,
            "score": rng.random(n),
            "y_pred": y_pred,
            "y_true": y_true,
        }
    )


def _windows(incident_end: datetime | None = None):
    end = incident_end or datetime(2026, 2, 19, tzinfo=UTC)
    return incident_windows(
        ONSET,
        as_of=datetime(2026, 6, 1, tzinfo=UTC),
        reference=Window(START, datetime(2026, 2, 1, tzinfo=UTC), "reference"),
        incident=Window(datetime(2026, 2, 10, tzinfo=UTC), end, "incident"),
    )


def _incident(category: str | None = None) -> Incident:
    return Incident(
        id="INC-2026-0001",
        title="t",
        category="data_quality",
        severity="SEV-2",
        occurred_at=datetime(2026, 2, 10, tzinfo=UTC),
        aware_at=datetime(2026, 2, 11, 9, tzinfo=UTC),
        root_cause_category=category,
    )


# --------------------------------------------------------------------------------------------------
# The rule


def test_strength_rule_cases() -> None:
    assert strength_of(Share(0.8, 0.6, 0.9), "inside") == "strong"
    assert strength_of(Share(0.8, 0.6, 0.9), "before") == "moderate"
    assert strength_of(Share(0.8, 0.6, 0.9), "after") == "weak"
    assert strength_of(Share(0.8, -0.1, 0.9), "inside") == "weak"
    assert strength_of(Share(0.6, 0.4, 0.8), "n/a", timed=False) == "strong"
    assert strength_of(None, "n/a") == "weak"


def test_timing_counts_one_chunk_before_the_interval_as_inside() -> None:
    onset = OnsetWindow(ONSET, ONSET, ONSET + timedelta(hours=2), timedelta(hours=1))
    assert timing_of(ONSET - timedelta(minutes=40), onset) == "inside"
    assert timing_of(ONSET - timedelta(hours=3), onset) == "before"
    assert timing_of(ONSET + timedelta(hours=2), onset) == "after"
    assert "40 min before the onset" in onset.describe(ONSET - timedelta(minutes=40))


def test_concept_change_is_demoted_behind_a_strong_specific_cause() -> None:
    onset = OnsetWindow(ONSET, ONSET, ONSET + timedelta(days=1), timedelta(days=1))
    concept = Candidate.build(
        "concept_change", "x", "t", [], share=Share(0.9, 0.8, 1.0), started=None, onset=onset, timed=False
    )
    null = Candidate.build(
        "null_input", "income", "t", [], share=Share(0.7, 0.6, 0.8), started=ONSET, onset=onset
    )
    ranked = rank_candidates([concept, null], onset)
    assert [(c.kind, c.strength) for c in ranked] == [
        ("null_input", "strong"),
        ("concept_change", "moderate"),
    ]


@pytest.mark.parametrize(
    ("category", "agreement"),
    [
        ("pipeline_change", "agrees"),
        ("model degradation", "disagrees"),
        (None, "not recorded"),
        ("xyz", "not comparable"),
    ],
)
def test_recorded_cause_is_compared_by_family(category: str | None, agreement: str) -> None:
    top = Candidate(
        "null_input",
        "income",
        "an input arrived empty (NULL): income",
        ("e",),
        Share(0.9, 0.8, 1.0),
        "inside",
        "strong",
        "r",
    )
    assert compare_with_recorded(_incident(category), [top])["agreement"] == agreement


# --------------------------------------------------------------------------------------------------
# A planted slice with a NULL input and a pipeline change


@pytest.fixture(scope="module")
def planted() -> tuple[pd.DataFrame, object]:
    frame = _log()
    events = [
        TimelineEvent(
            incident_id="INC-2026-0001",
            at=ONSET - timedelta(minutes=40),
            kind="config_or_pipeline_change",
            description="Pipeline change P-118: income join rewritten",
        ),
        TimelineEvent(
            incident_id="INC-2026-0001",
            at=datetime(2026, 2, 11, 9, tzinfo=UTC),
            kind="detection",
            description="Alert",
        ),
    ]
    result = analyse_root_cause(
        frame,
        _card(),
        _windows(),
        as_of=datetime(2026, 6, 1, tzinfo=UTC),
        events=events,
        incident=_incident("pipeline_change"),
    )
    return frame, result


def test_planted_null_slice_is_first_with_onset_slice_and_event(planted) -> None:
    _, result = planted
    top = result.causes[0]
    assert (top.kind, top.subject, top.strength) == ("null_input", "income", "strong")
    window = result.failure.window
    assert window is not None and window.low <= ONSET < window.high
    assert result.failure.onset.resolution == "hour"
    descriptions = list(result.slices.slices["description"])
    assert any("region = r3" in d and "channel = web" in d for d in descriptions), descriptions
    assert result.verdict == "isolated"
    # the first sentence and the verdict name the same slice (never two different "all of the excess")
    named = result.verdict_sentence.split(" of the excess failures are in ")[1].split(", which holds")[0]
    assert f"excess is in {named}" in top.sentence
    assert any("P-118" in event for event in top.events)
    assert "P-118" in top.sentence and "40 min before the onset" in top.sentence
    assert result.recorded["agreement"] == "agrees"


def test_summary_validates_and_the_onset_is_the_timeline_event(planted) -> None:
    _, result = planted
    summary = SECTION.validate_summary(
        {**result.to_summary(), "section": "root_cause", "incident_id": "INC-2026-0001"}
    )
    assert isinstance(summary, RootCauseSummary)
    (item,) = timeline_events(summary)
    assert item.at == summary.onset.onset and item.until == summary.onset.high
    assert headline(summary) == summary.causes[0].sentence
    parts = summary.decomposition
    assert parts is not None
    assert parts.mix.estimate + parts.conditional.estimate + parts.unseen.estimate == pytest.approx(
        parts.observed_change, abs=1e-12
    )


def test_clean_log_gives_no_cause_above_weak() -> None:
    result = analyse_root_cause(
        _log(slice_rate=None, seed=3), _card(), _windows(), as_of=datetime(2026, 6, 1, tzinfo=UTC)
    )
    assert result.top_cause is None
    assert result.verdict is None
    assert not result.failure.significant


def test_model_switch_at_the_onset_is_the_first_cause() -> None:
    frame = _log(null_income=False, version_switch=True, seed=5)
    result = analyse_root_cause(frame, _card(), _windows(), as_of=datetime(2026, 6, 1, tzinfo=UTC))
    top = result.causes[0]
    assert (top.kind, top.model_version, top.strength) == ("model_change", "2.0", "strong")
    assert result.decomposition is not None and result.decomposition.by_version is not None


# --------------------------------------------------------------------------------------------------
# Bad input: a stated limitation, never a traceback


def _run(frame: pd.DataFrame, card: DataCard | None = None, windows=None):
    return analyse_root_cause(
        frame, card or _card(), windows or _windows(), as_of=datetime(2026, 6, 1, tzinfo=UTC)
    )


def test_no_features_to_slice() -> None:
    result = _run(_log(), _card(features=[]))
    assert any("no features to slice" in item for item in result.limitations)
    assert result.slices.slices.empty


def test_all_null_features() -> None:
    frame = _log().assign(region=None, channel=None, income=np.nan)
    result = _run(frame)
    assert result.slices.slices.empty or result.slices.limitation


def test_one_chunk_only() -> None:
    frame = _log(days=1, slice_rate=None)
    windows = incident_windows(
        START,
        as_of=datetime(2026, 6, 1, tzinfo=UTC),
        reference=Window(START, START + timedelta(hours=12), "reference"),
        incident=Window(START + timedelta(hours=12), START + timedelta(days=1), "incident"),
    )
    result = _run(frame, windows=windows)
    assert result.top_cause is None


def test_incident_window_shorter_than_a_chunk() -> None:
    result = _run(_log(), windows=_windows(incident_end=datetime(2026, 2, 10, 18, tzinfo=UTC)))
    assert result.failure.onset.resolution == "hour"


def test_window_with_no_failures() -> None:
    frame = _log(slice_rate=None)
    frame["y_pred"] = frame["y_true"]
    result = _run(frame)
    assert result.top_cause is None
    assert result.slices.limitation is not None


def test_boolean_decision_column_compared_with_a_number() -> None:
    """Real logs store decisions as booleans while a signal says ``== 1``: compared as 1/0, not refused."""
    from register.schema import PredictionConditionSignal

    frame = _log(slice_rate=None).assign(declined=lambda f: f["y_pred"] == 1)
    card = _card()
    signal = PredictionConditionSignal(column="declined", op="==", value=1)
    result = analyse_root_cause(
        frame, card, _windows(), as_of=datetime(2026, 6, 1, tzinfo=UTC), signal=signal
    )
    assert result.failure.n_incident > 0
    assert result.failure.reference_rate == pytest.approx(float(frame["declined"].mean()), abs=0.02)
