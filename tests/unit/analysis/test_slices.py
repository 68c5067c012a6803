"""Slice discovery (analysis._slices): SliceLine's scores and top k, planted slices, engine counts, bad input.

The reference is the ``sliceline`` package (0.3.0, the ``test`` extra), fitted on the incident window's
judged rows binned here with numpy (categorical values as they are, numeric features cut at the result's
reference-quantile edges with ``np.searchsorted``, NULL as a value of its own).
"""

from __future__ import annotations

from datetime import datetime

import ibis
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis._slices import (
    SLICE_COLUMNS,
    FeatureBins,
    SliceResult,
    find_slices,
    slice_score,
)
from analysis.data import Window
from analysis.errors import InvalidParameterError

REFERENCE = Window(datetime(2026, 3, 1), datetime(2026, 3, 11), "reference")
INCIDENT = Window(datetime(2026, 3, 11), datetime(2026, 3, 21), "incident")
FEATURES = ["region", "channel", "segment", "income", "age"]


def planted_log(n: int = 20_000, seed: int = 1, *, plant: str = "pair") -> pd.DataFrame:
    """A seeded log over 20 days; failures (5 % NULL = not judged) raised in a planted slice from day 10."""
    rng = np.random.default_rng(seed)
    seconds = np.sort(rng.integers(0, 20 * 86_400, n))
    frame = pd.DataFrame(
        {
            "ts": pd.Timestamp("2026-03-01") + pd.to_timedelta(seconds, unit="s"),
            "region": rng.choice(["east", "west", "north", "south", "central"], n),
            "channel": rng.choice(["web", "app", "branch"], n, p=[0.4, 0.4, 0.2]),
            "segment": pd.array(
                rng.choice(["retail", "business", "premium", None], n, p=[0.5, 0.3, 0.15, 0.05]),
                dtype="string",
            ),
            "income": np.round(rng.lognormal(3, 0.5, n), 2),
            "age": rng.integers(18, 80, n).astype(float),
        }
    )
    frame.loc[rng.random(n) < 0.03, "income"] = np.nan
    incident = (frame["ts"] >= pd.Timestamp(INCIDENT.start.replace(tzinfo=None))).to_numpy()
    east_web = (frame["region"] == "east").to_numpy() & (frame["channel"] == "web").to_numpy()
    if plant == "pair":
        planted = east_web
        rate = 0.35
    elif plant == "triple":
        planted = east_web & (frame["segment"] == "business").fillna(False).to_numpy()
        rate = 0.6
    elif plant == "numeric":
        planted = (frame["income"] < 15).to_numpy() & (frame["channel"] == "app").to_numpy()
        rate = 0.4
    else:  # "null": the segment is missing
        planted = frame["segment"].isna().to_numpy()
        rate = 0.5
    base = 0.05 + 0.03 * (frame["age"] > 60).to_numpy()
    failed = pd.array(rng.random(n) < np.where(planted & incident, rate, base), dtype="boolean")
    failed[rng.random(n) < 0.05] = pd.NA
    frame["failed"] = failed
    return frame


def run(frame: pd.DataFrame, **options) -> SliceResult:
    features = options.pop("features", FEATURES)
    return find_slices(
        ibis.memtable(frame),
        features,
        "failed",
        event_time="ts",
        reference=REFERENCE,
        incident=INCIDENT,
        **options,
    )


def judged(frame: pd.DataFrame, window: Window) -> pd.DataFrame:
    start, end = (pd.Timestamp(t.replace(tzinfo=None)) for t in (window.start, window.end))
    rows = frame[(frame["ts"] >= start) & (frame["ts"] < end) & frame["failed"].notna()]
    return rows.reset_index(drop=True)


def binned_labels(rows: pd.DataFrame, result: SliceResult, features: list[str]) -> np.ndarray:
    """The rows binned with numpy, each cell the label of its value (what a predicate's label says)."""
    out = np.empty((len(rows), len(features)), dtype=object)
    for j, name in enumerate(features):
        bins = result.bins[name]
        values = rows[name]
        if bins.kind == "numeric":
            numbers = values.to_numpy(dtype=np.float64, na_value=np.nan)
            codes = 1 + np.searchsorted(np.asarray(bins.edges), numbers, side="right")
            codes = np.where(np.isnan(numbers), 0, codes)
        else:
            codes = np.array([0 if pd.isna(x) else 1 + bins.values.index(str(x)) for x in values])
        out[:, j] = [bins.labels[code] for code in codes]
    return out


# ------------------------------------------------------------------------------------------- vs sliceline


@pytest.mark.parametrize(
    ("seed", "plant", "alpha", "k", "max_level", "min_support"),
    [
        (1, "pair", 0.95, 5, 3, 50),
        (2, "triple", 0.99, 4, 3, 30),
        (3, "numeric", 0.9, 3, 2, 40),
        (4, "pair", 0.98, 6, 3, 100),
    ],
)
def test_scores_and_top_k_equal_the_sliceline_package(seed, plant, alpha, k, max_level, min_support):
    sliceline = pytest.importorskip(
        "sliceline.slicefinder", reason="sliceline is not installed (the `test` extra)"
    )
    frame = planted_log(seed=seed, plant=plant)
    result = run(frame, alpha=alpha, k=k, max_level=max_level, min_support=min_support)
    assert result.limitation is None
    assert len(result.slices) == k  # the top k is full: both searches are exact then (module docstring)
    rows = judged(frame, INCIDENT)
    finder = sliceline.Slicefinder(alpha=alpha, k=k, max_l=max_level, min_sup=min_support, verbose=False)
    finder.fit(binned_labels(rows, result, FEATURES), rows["failed"].astype(int).to_numpy())
    theirs = [
        (
            frozenset(x for x in top if x is not None),
            stats_["slice_score"],
            stats_["slice_size"],
            stats_["sum_slice_error"],
        )
        for top, stats_ in zip(finder.top_slices_, finder.top_slices_statistics_, strict=True)
    ]
    ours = [
        (frozenset(p[3] for p in row.predicates), row.score, row.n, row.failures)
        for row in result.slices.itertuples()
    ]
    assert [entry[0] for entry in ours] == [entry[0] for entry in theirs]
    for mine, reference in zip(ours, theirs, strict=True):
        assert mine[1] == pytest.approx(reference[1], rel=1e-12)
        assert (mine[2], mine[3]) == (reference[2], reference[3])
    assert finder.average_error_ == pytest.approx(result.error_rate, rel=1e-12)


def test_slice_score_is_sliceline_formula():
    size, errors, n, e_mean, alpha = np.array([100.0, 0.0]), np.array([30.0, 0.0]), 1000, 0.1, 0.95
    expected = alpha * ((30 / 100) / e_mean - 1) - (1 - alpha) * (n / 100 - 1)
    scores = slice_score(size, errors, n=n, e_mean=e_mean, alpha=alpha)
    assert scores[0] == pytest.approx(expected, rel=1e-15)
    assert scores[1] == -np.inf


# ------------------------------------------------------------------------------------------- planted slices


def test_planted_pair_found_with_exact_predicates_and_statistics():
    frame = planted_log(seed=5, plant="pair")
    result = run(frame, min_support=50)
    top = result.slices.iloc[0]
    assert [(p[0], p[1], p[2]) for p in top["predicates"]] == [
        ("region", "==", "east"),
        ("channel", "==", "web"),
    ]
    assert top["description"] == "region = east & channel = web"
    incident, reference = judged(frame, INCIDENT), judged(frame, REFERENCE)
    assert (result.n, result.failures) == (len(incident), int(incident["failed"].sum()))
    assert (result.reference_n, result.reference_failures) == (len(reference), int(reference["failed"].sum()))
    inside = (incident["region"] == "east") & (incident["channel"] == "web")
    ref_inside = (reference["region"] == "east") & (reference["channel"] == "web")
    n, failures = int(inside.sum()), int(incident.loc[inside, "failed"].sum())
    ref_n, ref_failures = int(ref_inside.sum()), int(reference.loc[ref_inside, "failed"].sum())
    assert (top["n"], top["failures"], top["reference_n"], top["reference_failures"]) == (
        n,
        failures,
        ref_n,
        ref_failures,
    )
    assert top["error_rate"] == pytest.approx(failures / n, rel=1e-12)
    assert top["lift"] == pytest.approx((failures / n) / result.error_rate, rel=1e-12)
    assert top["excess"] == pytest.approx(failures - n * ref_failures / ref_n, rel=1e-12)
    total_excess = result.failures - result.n * result.reference_rate
    assert result.total_excess == pytest.approx(total_excess, rel=1e-12)
    assert top["excess_share"] == pytest.approx(top["excess"] / total_excess, rel=1e-12)
    assert 0.6 < top["excess_share"] <= 1.2  # the planted slice holds most of the excess
    assert top["error_low"] < failures / n < top["error_high"]
    # one-sided Fisher exact test of the slice against the rest of the incident window
    table = [
        [failures, n - failures],
        [result.failures - failures, result.n - n - (result.failures - failures)],
    ]
    assert top["p_value"] == pytest.approx(stats.fisher_exact(table, alternative="greater")[1], rel=1e-9)
    assert top["p_value"] <= top["q_value"] < 1e-20
    assert list(result.slices.columns) == list(SLICE_COLUMNS)
    assert result.levels == 3 and result.candidates_evaluated > len(result.slices)


def test_planted_triple_found_with_exact_predicates():
    result = run(planted_log(seed=6, plant="triple"), alpha=0.95, min_support=30)
    top = result.slices.iloc[0]
    assert top["level"] == 3
    assert sorted((p[0], p[1], p[2]) for p in top["predicates"]) == [
        ("channel", "==", "web"),
        ("region", "==", "east"),
        ("segment", "==", "business"),
    ]


def test_planted_numeric_slice_uses_reference_quantile_edges():
    frame = planted_log(seed=7, plant="numeric")
    result = run(frame, min_support=40)
    reference = judged(frame, REFERENCE)
    for name in ("income", "age"):
        values = reference[name].dropna().to_numpy()
        expected = np.unique(np.quantile(values, [0.2, 0.4, 0.6, 0.8]))
        assert result.bins[name].edges == pytest.approx(tuple(expected), rel=1e-12)
    top = result.slices.iloc[0]
    ops = {p[0]: (p[1], p[2]) for p in top["predicates"]}
    assert ops["channel"] == ("==", "app")
    assert ops["income"][0] == "<" and ops["income"][1] == pytest.approx(result.bins["income"].edges[0])


def test_null_is_a_value_of_its_own():
    result = run(planted_log(seed=8, plant="null"), min_support=50)
    top = result.slices.iloc[0]
    assert [(p[0], p[1], p[3]) for p in top["predicates"]] == [("segment", "is_null", "segment = (null)")]


def test_duplicate_edges_merged_and_categories_capped():
    rng = np.random.default_rng(9)
    frame = planted_log(seed=9)
    frame["flag"] = rng.choice([0.0, 1.0], len(frame), p=[0.9, 0.1])  # quantile edges coincide
    frame["city"] = rng.choice([f"city{i:02d}" for i in range(30)], len(frame))
    result = run(frame, features=["flag", "city", "region"], max_categories=5, min_support=50)
    assert result.bins["flag"].edges == (0.0,) and result.bins["flag"].n_codes == 3
    city = result.bins["city"]
    assert len(city.values) == 5 and city.has_other and city.labels[-1] == "city = (other)"
    assert any("city" in note and "(other)" in note for note in result.notes)
    rows = pd.concat([judged(frame, REFERENCE), judged(frame, INCIDENT)])
    counts = rows["city"].value_counts().rename("n").reset_index()
    expected = counts.assign(key=-counts["n"]).sort_values(["key", "city"])["city"].head(5).tolist()
    assert list(city.values) == expected  # most frequent over both windows' judged rows, ties by value


def test_levels_one_and_two_are_one_grouping_sets_query(monkeypatch):
    import analysis._slices as slices

    calls: list[tuple[list, str | None]] = []
    original = slices._grouping_counts

    def spy(coded, backend, feature_sets, n_features, where=None):
        calls.append((list(feature_sets), where))
        return original(coded, backend, feature_sets, n_features, where)

    monkeypatch.setattr(slices, "_grouping_counts", spy)
    result = run(planted_log(seed=10), min_support=50)
    assert result.levels == 3
    assert len(calls) == 2
    first, where = calls[0]
    assert where is None
    assert first[:5] == [(0,), (1,), (2,), (3,), (4,)] and len(first) == 5 + 10
    third, where = calls[1]
    assert third and all(len(s) == 3 for s in third) and where


def test_grouping_set_counts_equal_pandas():
    frame = planted_log(seed=11)
    result = run(frame, min_support=50)
    incident = judged(frame, INCIDENT)
    for row in result.slices.itertuples():
        mask = np.ones(len(incident), dtype=bool)
        for column, op, value, _ in row.predicates:
            series = incident[column]
            if op == "==":
                mask &= (series == value).fillna(False).to_numpy()
            elif op == "is_null":
                mask &= series.isna().to_numpy()
            elif op == "<":
                mask &= (series < value).fillna(False).to_numpy()
            elif op == ">=":
                mask &= (series >= value).fillna(False).to_numpy()
            else:
                low, high = value
                mask &= ((series >= low) & (series < high)).fillna(False).to_numpy()
        assert (row.n, row.failures) == (int(mask.sum()), int(incident.loc[mask, "failed"].sum()))


def test_feature_bins_predicates():
    bins = FeatureBins.numeric("x", [3.0, 1.0, 3.0])
    assert bins.edges == (1.0, 3.0)
    assert [bins.predicate(code)[1] for code in range(bins.n_codes)] == ["is_null", "<", "between", ">="]
    with pytest.raises(InvalidParameterError, match="must be in"):
        bins.predicate(4)
    assert FeatureBins.numeric("x", []).predicate(1)[1] == "not_null"


# ------------------------------------------------------------------------------------------- bad input


def _assert_limited(result: SliceResult, text: str) -> None:
    assert result.limitation is not None and text in result.limitation
    assert result.slices.empty and list(result.slices.columns) == list(SLICE_COLUMNS)


def test_no_features_is_a_limitation():
    _assert_limited(run(planted_log(n=2000), features=[]), "no features")


def test_all_null_features_is_a_limitation():
    frame = planted_log(n=2000)
    frame["empty_text"] = pd.array([None] * len(frame), dtype="string")
    frame["empty_number"] = np.nan
    result = run(frame, features=["empty_text", "empty_number"])
    _assert_limited(result, "NULL")
    assert len(result.notes) == 2


def test_no_failures_in_the_incident_window_is_a_limitation():
    frame = planted_log(n=2000)
    incident = frame["ts"] >= pd.Timestamp("2026-03-11")
    frame.loc[incident & frame["failed"].notna(), "failed"] = False
    result = run(frame)
    _assert_limited(result, "no failures")
    assert result.n > 0 and result.failures == 0


def test_empty_incident_window_is_a_limitation():
    frame = planted_log(n=2000)
    frame = frame[frame["ts"] < pd.Timestamp("2026-03-11")]
    _assert_limited(run(frame), "incident window")


def test_empty_reference_window_still_searches():
    frame = planted_log(n=8000)
    frame = frame[frame["ts"] >= pd.Timestamp("2026-03-11")]
    result = run(frame, min_support=30)
    assert result.limitation is None and not result.slices.empty
    assert result.reference_n == 0 and np.isnan(result.total_excess)
    assert any("reference window has no judged" in note for note in result.notes)


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"alpha": 0.0}, "alpha must be"),
        ({"k": 0}, "k must be"),
        ({"max_level": 4}, "max_level must be"),
        ({"min_support": 0}, "min_support must be"),
        ({"n_bins": 1}, "n_bins must be"),
        ({"features": ["nope"]}, "Every feature must be a column"),
    ],
)
def test_bad_parameters_raise(options, match):
    with pytest.raises(InvalidParameterError, match=match):
        run(planted_log(n=500), **options)


def test_failed_must_be_boolean():
    frame = planted_log(n=500)
    frame["failed_int"] = frame["failed"].astype("Int64")
    with pytest.raises(InvalidParameterError, match="failed must be a boolean"):
        find_slices(
            ibis.memtable(frame),
            ["region"],
            "failed_int",
            event_time="ts",
            reference=REFERENCE,
            incident=INCIDENT,
        )
