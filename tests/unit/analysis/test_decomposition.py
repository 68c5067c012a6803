"""analysis._decomposition: the change in failure rate split into mix, conditional and unseen parts."""

from __future__ import annotations

from datetime import datetime

import ibis
import numpy as np
import pandas as pd
import pytest

from analysis._decomposition import decompose_change, decomposition_cells
from analysis.data import Window
from analysis.errors import InvalidParameterError


def _cells(reference: dict, incident: dict, key: str = "cell") -> pd.DataFrame:
    """Cells from ``{value: (n, failures)}`` per window."""
    rows = [
        {"window": window, key: value, "n": n, "failures": f}
        for window, counts in (("reference", reference), ("incident", incident))
        for value, (n, f) in counts.items()
    ]
    return pd.DataFrame(rows)


def _random_cells(rng: np.random.Generator) -> tuple[pd.DataFrame, list[str]]:
    n_keys = int(rng.integers(1, 3))
    keys = [f"k{i}" for i in range(n_keys)]
    rows = []
    for window in ("reference", "incident"):
        for _ in range(int(rng.integers(1, 25))):
            n = int(rng.integers(0, 200))
            row = {"window": window, "n": n, "failures": int(rng.integers(0, n + 1))}
            row |= {key: f"v{rng.integers(0, 5)}" for key in keys}
            rows.append(row)
    frame = pd.DataFrame(rows)
    # both windows need decisions for a rate
    for window in ("reference", "incident"):
        frame.loc[frame.index[frame["window"] == window][0], "n"] += 1
    return frame, keys


# ------------------------------------------------------------------------------------------------ identity
def test_parts_add_up_to_the_observed_change_on_random_cell_tables() -> None:
    rng = np.random.default_rng(20260311)
    for _ in range(300):
        cells, keys = _random_cells(rng)
        result = decompose_change(cells, keys, n_resamples=20, seed=1)
        total = result.mix.estimate + result.conditional.estimate + result.unseen.estimate
        assert total == pytest.approx(result.observed_change, abs=1e-12)
        # the per-cell contributions add up to the parts, with mix written out explicitly per cell
        assert result.cells["mix"].sum() == pytest.approx(result.mix.estimate, abs=1e-12)
        assert result.cells["conditional"].sum() == pytest.approx(result.conditional.estimate, abs=1e-15)
        assert result.cells["unseen"].sum() == pytest.approx(result.unseen.estimate, abs=1e-15)
        # the overall rates are the pooled rates of the raw rows
        by_window = cells.groupby("window")[["n", "failures"]].sum()
        expected = (by_window["failures"] / by_window["n"]).to_dict()
        assert result.reference_rate == pytest.approx(expected["reference"], abs=1e-15)
        assert result.incident_rate == pytest.approx(expected["incident"], abs=1e-15)


# ------------------------------------------------------------------------------------------- hand-computed
def test_pure_mix_same_conditional_rates_gives_no_conditional_part() -> None:
    cells = _cells({"a": (900, 9), "b": (100, 10)}, {"a": (500, 5), "b": (500, 50)})
    result = decompose_change(cells, ["cell"], n_resamples=200)
    # R0 = 19/1000, R1 = 55/1000; mix = (0.5-0.9)(0.01-0.019) + (0.5-0.1)(0.1-0.019) = 0.0036 + 0.0324
    assert result.observed_change == pytest.approx(0.036)
    assert result.mix.estimate == pytest.approx(0.036)
    assert result.conditional.estimate == 0.0
    assert result.unseen.estimate == 0.0
    assert result.mix.low <= 0.036 <= result.mix.high
    assert result.conditional.low <= 0.0 <= result.conditional.high


def test_pure_conditional_same_weights_gives_no_mix() -> None:
    cells = _cells({"a": (600, 6), "b": (400, 8)}, {"a": (300, 30), "b": (200, 4)})
    result = decompose_change(cells, ["cell"], n_resamples=200)
    # weights 0.6/0.4 in both; conditional = 0.6 * (0.10 - 0.01) + 0.4 * (0.02 - 0.02) = 0.054
    assert result.conditional.estimate == pytest.approx(0.054)
    assert result.mix.estimate == pytest.approx(0.0, abs=1e-15)
    assert result.unseen.estimate == 0.0
    assert result.observed_change == pytest.approx(34 / 500 - 14 / 1000)


def test_a_new_cell_is_the_unseen_part() -> None:
    cells = _cells({"a": (1000, 20)}, {"a": (800, 16), "partner_api": (200, 40)})
    result = decompose_change(cells, ["cell"], n_resamples=200)
    # R0 = 0.02; unseen = 0.2 * (0.2 - 0.02) = 0.036; a keeps its rate: conditional 0;
    # mix = (0.8 - 1.0) * (0.02 - 0.02) = 0
    assert result.unseen.estimate == pytest.approx(0.036)
    assert result.conditional.estimate == pytest.approx(0.0)
    assert result.mix.estimate == pytest.approx(0.0, abs=1e-15)
    new = result.cells.set_index("cell").loc["partner_api"]
    assert new["kind"] == "new" and new["reference_n"] == 0


def test_a_vanished_cell_counts_in_the_mix() -> None:
    cells = _cells({"a": (500, 5), "b": (500, 50)}, {"a": (1000, 10)})
    result = decompose_change(cells, ["cell"], n_resamples=50)
    # R0 = 0.055, R1 = 0.01: the risky cell b vanished. mix = (1 - 0.5)(0.01 - 0.055) - 0.5 (0.1 - 0.055)
    assert result.mix.estimate == pytest.approx(-0.045)
    assert result.conditional.estimate == 0.0 and result.unseen.estimate == 0.0
    assert result.cells.set_index("cell").loc["b", "kind"] == "vanished"
    assert result.cells.set_index("cell").loc["b", "mix"] == pytest.approx(-0.0225)


# ------------------------------------------------------------------------------------------------ versions
def test_conditional_part_per_model_version() -> None:
    rows = [
        ("reference", "a", "1.0", 1000, 20),
        ("reference", "b", "1.0", 1000, 20),
        ("incident", "a", "1.0", 500, 10),  # the old version keeps its rate
        ("incident", "a", "2.0", 500, 60),  # the new version fails 12 % in cell a
        ("incident", "b", "2.0", 1000, 20),
    ]
    cells = pd.DataFrame(rows, columns=["window", "region", "model_version", "n", "failures"])
    result = decompose_change(cells, ["region", "model_version"], n_resamples=400, seed=3)
    assert result.keys == ("region",)  # the version is never a matching key: 2.0's cells are not unseen
    assert result.unseen.estimate == 0.0
    versions = result.by_version.set_index("model_version")
    # 2.0 in cell a: 500/2000 * (0.12 - 0.02) = 0.025; in cell b: 0; 1.0: 0
    assert versions.loc["2.0", "conditional"] == pytest.approx(0.025)
    assert versions.loc["1.0", "conditional"] == pytest.approx(0.0)
    assert versions["conditional"].sum() == pytest.approx(result.conditional.estimate)
    assert versions.loc["2.0", "conditional_low"] > 0 > versions.loc["1.0", "conditional_low"]
    assert versions.loc["2.0", "share"] == pytest.approx(0.75)
    assert result.by_version.columns[0] == "model_version"


def test_no_version_column_gives_no_by_version() -> None:
    cells = _cells({"a": (10, 1)}, {"a": (10, 2)})
    assert decompose_change(cells, ["cell"], n_resamples=10).by_version is None


# ----------------------------------------------------------------------------------------------- intervals
def test_interval_coverage_of_the_conditional_part() -> None:
    """Binomial data with a known conditional change: the 90 % interval covers it in most replications."""
    rng = np.random.default_rng(7)
    weights0, weights1 = np.array([0.5, 0.3, 0.2]), np.array([0.3, 0.3, 0.4])
    rates0, rates1 = np.array([0.02, 0.05, 0.10]), np.array([0.02, 0.10, 0.10])
    truth = float((weights1 * (rates1 - rates0)).sum())
    covered = 0
    replications = 100
    for replication in range(replications):
        n0 = rng.multinomial(4000, weights0)
        n1 = rng.multinomial(4000, weights1)
        cells = _cells(
            {c: (n0[c], rng.binomial(n0[c], rates0[c])) for c in range(3)},
            {c: (n1[c], rng.binomial(n1[c], rates1[c])) for c in range(3)},
        )
        result = decompose_change(cells, ["cell"], n_resamples=300, seed=replication, level=0.9)
        covered += result.conditional.low <= truth <= result.conditional.high
    assert covered >= 80  # nominal 90; the resampling interval is roughly calibrated


def test_resampling_is_seeded() -> None:
    cells = _cells({"a": (100, 5), "b": (50, 9)}, {"a": (80, 9), "b": (90, 20)})
    first = decompose_change(cells, ["cell"], n_resamples=100, seed=5)
    again = decompose_change(cells, ["cell"], n_resamples=100, seed=5)
    assert first.mix == again.mix and first.conditional == again.conditional


# ----------------------------------------------------------------------------------------------- bad input
def test_an_empty_window_is_a_limitation_not_a_traceback() -> None:
    cells = _cells({"a": (0, 0)}, {"a": (10, 2)})
    result = decompose_change(cells, ["cell"], n_resamples=10)
    assert result.limitation is not None and "reference" in result.limitation
    assert np.isnan(result.observed_change)


def test_cells_without_the_counts_are_refused() -> None:
    with pytest.raises(InvalidParameterError, match="must have the columns"):
        decompose_change(pd.DataFrame({"window": ["reference"], "n": [1]}), ["cell"])
    with pytest.raises(InvalidParameterError, match="0 <= failures <= n"):
        decompose_change(_cells({"a": (1, 2)}, {"a": (1, 0)}), ["cell"])


# -------------------------------------------------------------------------------------------- engine cells
def test_decomposition_cells_aggregate_in_the_engine() -> None:
    rng = np.random.default_rng(0)
    size = 2000
    frame = pd.DataFrame(
        {
            "ts": pd.Timestamp("2026-01-01", tz="UTC")
            + pd.to_timedelta(rng.integers(0, 20 * 86400, size), unit="s"),
            "income": rng.normal(50, 10, size),
            "region": rng.choice(["east", "west", None], size),
            "version": rng.choice(["1.0", "2.0"], size),
            "failed": pd.array(rng.random(size) < 0.1, dtype="boolean"),
        }
    )
    frame.loc[::17, "failed"] = pd.NA  # not judged yet: left out
    table = ibis.memtable(frame)
    reference = Window(datetime(2026, 1, 1), datetime(2026, 1, 10), "reference")
    incident = Window(datetime(2026, 1, 12), datetime(2026, 1, 21), "incident")
    keys = {"income_bin": (table.income >= 50).cast("int64"), "region": "region"}
    cells = decomposition_cells(
        table,
        keys,
        table.failed,
        event_time="ts",
        reference=reference,
        incident=incident,
        model_version="version",
    )
    judged = frame.dropna(subset=["failed"]).copy()
    judged["window"] = np.select(
        [judged.ts < pd.Timestamp("2026-01-10", tz="UTC"), judged.ts >= pd.Timestamp("2026-01-12", tz="UTC")],
        ["reference", "incident"],
        default="",
    )
    judged = judged.loc[judged.window != ""]
    judged["income_bin"] = (judged.income >= 50).astype(int).astype(str)
    judged["region"] = judged["region"].fillna("(null)")
    expected = (
        judged.groupby(["window", "income_bin", "region", "version"])["failed"]
        .agg(n="size", failures=lambda s: int(s.astype(bool).sum()))
        .reset_index()
        .rename(columns={"version": "model_version"})
    )
    pd.testing.assert_frame_equal(cells, expected, check_dtype=False)
    result = decompose_change(cells, ["income_bin", "region"], n_resamples=50)
    assert set(result.by_version["model_version"]) == {"1.0", "2.0"}
