"""The fairness analysis on PySpark (local mode) gives DuckDB's numbers.

Same log, same code, two engines: the fairness cells (and score-bin cells) must be equal, counts exactly
and floats within 1e-12 relative, and so must every table of the assessment and its JSON summary. The log
is the synthetic one of the other Spark parity tests (hive partitions, microsecond timestamps, late and
missing labels, a sensitive join table with entities missing from it: the ``(not recorded)`` group, a group
empty in the incident window, a small group) plus a sensitive column in the log itself with NULLs, so a
pairwise intersection is assessed too.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest

from analysis import incident_windows, open_logs
from analysis.fairness import NOT_RECORDED, assess_fairness, fairness_cells
from tests.unit.analysis.conftest import (
    assert_same_engine_frames,
    make_synthetic_log,
    synthetic_card,
    write_weekly_partitions,
)

pytestmark = [pytest.mark.spark, pytest.mark.slow]

RTOL = 1e-12
#: counts: equal exactly whatever dtype each engine gives them
EXACT = ("count", "n", "n_", "pp", "labelled", "tp", "fp", "fn", "tn", "positives", "negatives", "correct")


@pytest.fixture(scope="module")
def fairness_files(tmp_path_factory):
    log = make_synthetic_log(seed=11, per_hour=3)
    frame = log.frame.copy()
    position = np.arange(len(frame))
    segment = np.where(position % 3 == 0, "retail", "business").astype(object)
    segment[position % 13 == 0] = None
    frame["segment"] = pd.array(segment, dtype="string")
    root = tmp_path_factory.mktemp("fairness_parity")
    write_weekly_partitions(log, frame, root)
    return root, log


@pytest.fixture(scope="module")
def both(fairness_files, spark_con):
    root, log = fairness_files
    base = synthetic_card()
    card = base.model_copy(update={"columns": base.columns.model_copy(update={"sensitive": ["segment"]})})
    assert card.sensitive_attributes == ["segment", "region"]
    windows = incident_windows(log.onset, as_of=log.as_of)
    duck = open_logs(card, base_dir=root)
    spark = open_logs(card, base_dir=root, con=spark_con)
    assert duck.backend == "duckdb" and spark.backend == "pyspark"
    duck_cells = fairness_cells(duck, card, windows, as_of=log.as_of)
    spark_cells = fairness_cells(spark, card, windows, as_of=log.as_of)
    return card, windows, duck_cells, spark_cells


def test_cells_match(both):
    _, _, duck, spark = both
    keys = ["window", "chunk", "model_version", *duck.attributes, "y_true", "y_pred"]
    assert duck.attributes == spark.attributes == ("segment", "region")
    assert duck.labels_used and spark.labels_used
    assert duck.label_note == spark.label_note
    assert_same_engine_frames(duck.cells, spark.cells, keys, exact_prefixes=("count",))
    assert duck.cells["count"].sum() == spark.cells["count"].sum() > 0
    # NULL sensitive values (missing join rows, NULL segment) are a group on both engines
    for attribute in duck.attributes:
        assert (spark.cells[attribute] == NOT_RECORDED).any(), attribute
    assert duck.score_edges == pytest.approx(spark.score_edges, rel=RTOL, abs=0)
    assert duck.scores is not None and spark.scores is not None
    score_keys = ["window", *duck.attributes, "score_bin", "y_true"]
    assert_same_engine_frames(duck.scores, spark.scores, score_keys, exact_prefixes=("count", "score_bin"))


def _same(left: Any, right: Any, path: str = "") -> None:
    """Deep equality of JSON-like summaries: floats within 1e-12 relative, everything else exact."""
    if isinstance(left, dict):
        assert isinstance(right, dict) and list(left) == list(right), path
        for key in left:
            _same(left[key], right[key], f"{path}.{key}")
    elif isinstance(left, list | tuple):
        assert isinstance(right, list | tuple) and len(left) == len(right), path
        for i, (a, b) in enumerate(zip(left, right, strict=True)):
            _same(a, b, f"{path}[{i}]")
    elif isinstance(left, float) and not isinstance(right, bool):
        assert isinstance(right, int | float), path
        if math.isnan(left):
            assert math.isnan(right), path
        else:
            assert math.isclose(left, right, rel_tol=RTOL, abs_tol=0), (path, left, right)
    else:
        assert left == right, (path, left, right)


def test_assessment_and_summary_match(both):
    card, windows, duck_cells, spark_cells = both
    options = {"n_resamples": 200, "seed": 3}
    duck = assess_fairness(duck_cells, card, windows, **options)
    spark = assess_fairness(spark_cells, card, windows, **options)
    assert set(duck.metrics["grouping"]) == {"segment", "region", "segment × region"}
    assert duck.metrics["suppressed"].any()  # the small group (and intersections of it)
    tables = {
        "metrics": ["grouping", "window", "group"],
        "disparities": ["grouping", "window", "group", "metric"],
        "by_version": ["grouping", "model_version", "group", "metric"],
        "composites": ["grouping", "window", "metric"],
        "four_fifths": ["grouping", "window", "group"],
        "calibration": ["grouping", "window", "group", "score_bin"],
        "versions": ["model_version"],
    }
    for name, keys in tables.items():
        left, right = getattr(duck, name), getattr(spark, name)
        assert not left.empty, name
        assert_same_engine_frames(left, right, keys, exact_prefixes=EXACT)
    assert duck.references == spark.references
    assert duck.limitations == spark.limitations
    assert (duck.headline is None) == (spark.headline is None)
    if duck.headline is not None:
        _same(duck.headline, spark.headline, "headline")
        assert_same_engine_frames(
            duck.gap_over_time, spark.gap_over_time, ["chunk_start"], exact_prefixes=("n_",)
        )
    _same(duck.to_summary(), spark.to_summary())
