"""Fairness of an AI system's decisions across groups: who was treated unfairly, since when, how sure we are.

The engine does one aggregate over the log (:func:`fairness_cells`): cells
``(window, chunk, model_version, sensitive attributes..., y_true as of, y_pred) -> count``, plus score-bin
cells where the card names a score. Everything after that runs on the cells in pandas
(:mod:`analysis._fairness_stats`), so 10M rows never leave the engine and every count-based metric is exact
(fairlearn's ``MetricFrame`` on the raw rows gives the same numbers: the tests check it, and
:func:`metric_frame` builds a ``MetricFrame`` on the cells with the counts as sample weights).

:func:`assess_fairness` gives, for each sensitive attribute and each pairwise intersection (or the
combinations asked for):

- every metric of :data:`METRICS` by group with Wilson intervals, in the reference and incident windows and
  per model version;
- each group against a reference group (the largest by default, the best-off, or a named one):
  difference (Newcombe) and ratio (Katz), Benjamini-Hochberg across groups and metrics, and a verdict;
- the change of each gap from the reference to the incident window (difference in differences, MOVER);
- demographic-parity and equalized-odds differences and ratios with a multinomial resampling interval;
- the four-fifths (adverse impact) rule against the group with the highest selection rate, with its
  interval;
- the largest significant gap's series over time with its band and onset (the shared onset rule,
  :mod:`analysis.onset`) and the model version it opened with;
- calibration by group (observed positive rate per score bin) where a score exists.

Labels are compared at an equal maturity between the two windows
(:func:`analysis.data.labels_at_equal_maturity`); when too few matured, the label metrics are reported
as unavailable with the reason and the selection rate still runs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import ibis.expr.types as ir
import numpy as np
import pandas as pd

from analysis._fairness_assess import assess
from analysis._fairness_cells import (
    INTERSECTION,
    NO_VERSION,
    NOT_RECORDED,
    WINDOW_NAMES,
    FairnessCells,
    fairness_cells,
    fairness_not_applicable,
    grouping_name,
    groupings_for,
)
from analysis._fairness_stats import METRICS, MetricSpec, Thresholds
from analysis._fairness_summary import FairnessResult
from analysis.data import Chunk, IncidentWindows, LogTable
from analysis.errors import InvalidParameterError
from register.schema import DataCard

__all__ = [
    "INTERSECTION",
    "METRICS",
    "NOT_RECORDED",
    "NO_VERSION",
    "WINDOW_NAMES",
    "MetricSpec",
    "grouping_name",
    "groupings_for",
    "FairnessCells",
    "FairnessResult",
    "Thresholds",
    "assess_fairness",
    "fairness_cells",
    "fairness_not_applicable",
    "metric_frame",
]


def metric_frame(
    cells: FairnessCells | pd.DataFrame, grouping: Sequence[str], *, window: str = "incident"
) -> Any:
    """A fairlearn ``MetricFrame`` on the cells (counts as sample weights) of one window, labelled cells only.

    For exploring in a notebook with fairlearn's own API (``by_group``, ``difference()``, ``ratio()``).
    Only decisions with a label and a prediction are in it, so its selection rate is among labelled
    decisions; :func:`assess_fairness` counts the selection rate over every decision.
    """
    from fairlearn.metrics import (
        MetricFrame,
        false_negative_rate,
        false_positive_rate,
        selection_rate,
        true_positive_rate,
    )
    from sklearn.metrics import accuracy_score, precision_score

    frame = cells.cells if isinstance(cells, FairnessCells) else cells
    part = frame[(frame["window"] == window) & frame["y_true"].notna() & frame["y_pred"].notna()]
    part = part[part["count"] > 0]
    if part.empty:
        raise InvalidParameterError(
            f"There are no labelled decisions in the {window} window to build a MetricFrame."
        )

    def npv(y_true: Any, y_pred: Any, sample_weight: Any = None) -> float:
        return float(
            precision_score(
                1 - np.asarray(y_true),
                1 - np.asarray(y_pred),
                sample_weight=sample_weight,
                zero_division=np.nan,
            )
        )

    def precision(y_true: Any, y_pred: Any, sample_weight: Any = None) -> float:
        return float(precision_score(y_true, y_pred, sample_weight=sample_weight, zero_division=np.nan))

    metrics = {
        "selection_rate": selection_rate,
        "tpr": true_positive_rate,
        "fpr": false_positive_rate,
        "fnr": false_negative_rate,
        "precision": precision,
        "npv": npv,
        "accuracy": accuracy_score,
    }
    weights = part["count"].to_numpy(float)
    return MetricFrame(
        metrics=metrics,
        y_true=part["y_true"].astype(int).to_numpy(),
        y_pred=part["y_pred"].astype(int).to_numpy(),
        sensitive_features=part[list(grouping)].reset_index(drop=True),
        sample_params={name: {"sample_weight": weights} for name in metrics},
    )


# --------------------------------------------------------------------------------------------------
# The assessment
# --------------------------------------------------------------------------------------------------


def assess_fairness(
    log: LogTable | ir.Table | FairnessCells,
    card: DataCard,
    windows: IncidentWindows,
    *,
    as_of: datetime | None = None,
    attributes: Sequence[str] | None = None,
    intersections: bool | Sequence[Sequence[str]] = True,
    reference: str | Mapping[str, str] = "largest",
    min_cell_size: int = 10,
    chunk: Chunk = "day",
    confidence: float = 0.95,
    difference_threshold: float = 0.05,
    ratio_threshold: float = 0.8,
    alpha: float = 0.05,
    opened_alpha: float = 0.01,
    n_resamples: int = 1000,
    seed: int = 0,
) -> FairnessResult:
    """Assess the fairness of the decisions by sensitive attribute and intersection, before vs during.

    Parameters
    ----------
    log : LogTable, ibis Table or FairnessCells
        The log (aggregated here with :func:`fairness_cells`) or cells aggregated already.
    card, windows, as_of, attributes, chunk
        As :func:`fairness_cells`.
    intersections : bool or sequence of sequences
        Pairwise intersections of the attributes (``True``), none, or the combinations given.
    reference : str or mapping
        The reference group rule for every grouping (``"largest"``, ``"best"``: the highest selection
        rate) or a mapping ``grouping name -> rule or group value``.
    min_cell_size : int
        Groups with fewer decisions are suppressed in reports and never drive a verdict.
    difference_threshold, ratio_threshold, alpha
        A gap is ``significant`` when its interval excludes no-gap, its Benjamini-Hochberg adjusted p-value
        is below ``alpha`` and it passes a practical threshold
        (see :func:`analysis._fairness_stats.disparity_table`).
    n_resamples, seed
        The multinomial resampling of composite metrics (reproducible for one seed).
    """
    if min_cell_size < 1:
        raise InvalidParameterError(
            f"min_cell_size must be a positive integer. Got {min_cell_size!r} instead."
        )
    if not 0 < confidence < 1:
        raise InvalidParameterError(f"confidence must be between 0 and 1. Got {confidence!r} instead.")
    thresholds = Thresholds(difference_threshold, ratio_threshold, alpha, opened_alpha)
    cells = (
        log
        if isinstance(log, FairnessCells)
        else fairness_cells(log, card, windows, as_of=as_of, attributes=attributes, chunk=chunk)
    )
    return assess(
        cells,
        groupings_for(cells.attributes, intersections),
        reference=reference,
        min_cell_size=int(min_cell_size),
        confidence=confidence,
        thresholds=thresholds,
        n_resamples=n_resamples,
        seed=seed,
    )
