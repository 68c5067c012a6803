"""Fairness metrics, disparities and their uncertainty, computed exactly from aggregated cells.

Everything here works on *cells*: rows of ``(keys..., y_true, y_pred, count)`` where ``y_true`` and
``y_pred`` are 1, 0 or NaN (label not known by ``as_of`` / no prediction). A count-based metric of a group
is a ratio of two sums of counts, so it is exact however many raw rows the cells stand for (fairlearn's
``MetricFrame`` on the raw rows gives the same numbers; the tests check it).

- :func:`confusion_counts` -- the confusion counts per group (one ``groupby`` over the cells).
- :func:`metric_table` -- every metric of :data:`METRICS` per group with its Wilson interval.
- :func:`disparity_table` -- each group against a reference group: difference (Newcombe), ratio (Katz
  log), a pooled two-proportion z test, Benjamini-Hochberg across the family, and a verdict.
- :func:`gap_change` -- the change of a gap between two independent windows (difference in differences)
  with the MOVER interval built from the two Newcombe intervals (the same construction as Newcombe's).
- :func:`composite_intervals` -- demographic-parity and equalized-odds differences and ratios over many
  groups, with a seeded multinomial resampling of the cell counts (the cells are the sample).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import stats

from analysis.errors import InvalidParameterError
from analysis.stats import Bound, _out, katz_interval, newcombe_interval, rate, wilson_interval

__all__ = [
    "COUNT_COLUMNS",
    "METRICS",
    "MetricSpec",
    "Verdict",
    "benjamini_hochberg",
    "composite_intervals",
    "confusion_counts",
    "disparity_table",
    "gap_change",
    "judge",
    "metric_table",
]

Verdict = Literal[
    "significant", "below practical threshold", "not distinguishable from noise", "not enough data"
]
"""The verdict on one disparity (see :func:`disparity_table`)."""


@dataclass(frozen=True)
class MetricSpec:
    """A count-based metric: ``numerator / denominator`` of the confusion counts."""

    name: str
    title: str
    numerator: str
    denominator: str
    needs_labels: bool
    higher_is_favourable: bool


METRICS: dict[str, MetricSpec] = {
    spec.name: spec
    for spec in (
        MetricSpec("selection_rate", "selection rate", "pp", "n_predicted", False, True),
        MetricSpec("tpr", "true-positive rate", "tp", "positives", True, True),
        MetricSpec("fpr", "false-positive rate", "fp", "negatives", True, False),
        MetricSpec("fnr", "false-negative rate", "fn", "positives", True, False),
        MetricSpec("precision", "precision (PPV)", "tp", "predicted_positive_labelled", True, True),
        MetricSpec("npv", "negative predictive value", "tn", "predicted_negative_labelled", True, True),
        MetricSpec("accuracy", "accuracy", "correct", "labelled", True, True),
    )
}
"""The metrics by group, in report order. ``higher_is_favourable`` is from the point of view of a decision
subject when the positive prediction is the favourable decision (an approval); it only orients the
"best-off" reference group and the wording of a gap, never a number."""

COUNT_COLUMNS = ("n", "n_predicted", "pp", "labelled", "tp", "fp", "fn", "tn")
"""The confusion counts :func:`confusion_counts` sums per group."""


def confusion_counts(cells: pd.DataFrame, keys: Sequence[str]) -> pd.DataFrame:
    """Sum the cells' counts per ``keys`` into confusion counts (and the metrics' denominators).

    Parameters
    ----------
    cells : DataFrame
        Columns ``keys``, ``y_true``, ``y_pred`` (1, 0 or NaN) and ``count``.
    keys : sequence of str
        Columns that define a group (e.g. ``["window", "ethnic_group"]``); NaN keys are kept as a group.

    Returns
    -------
    DataFrame
        One row per group: ``keys``, :data:`COUNT_COLUMNS` and the derived denominators ``positives``,
        ``negatives``, ``predicted_positive_labelled``, ``predicted_negative_labelled`` and ``correct``
        (all int64), sorted by ``keys``.

    Examples
    --------
    >>> cells = pd.DataFrame({"g": ["a", "a", "a", "b"], "y_true": [1, 0, np.nan, 1],
    ...                       "y_pred": [1, 1, 0, 0], "count": [3, 2, 5, 4]})
    >>> confusion_counts(cells, ["g"])[["g", "n", "pp", "labelled", "tp", "fn"]].to_dict("list")
    {'g': ['a', 'b'], 'n': [10, 4], 'pp': [5, 0], 'labelled': [5, 4], 'tp': [3, 0], 'fn': [0, 4]}
    """
    keys = list(keys)
    y = pd.to_numeric(cells["y_true"], errors="coerce").to_numpy(float)
    p = pd.to_numeric(cells["y_pred"], errors="coerce").to_numpy(float)
    count = pd.to_numeric(cells["count"]).to_numpy(np.int64)
    predicted = ~np.isnan(p)
    labelled = predicted & ~np.isnan(y)
    parts = {
        "n": count,
        "n_predicted": count * predicted,
        "pp": count * (p == 1),
        "labelled": count * labelled,
        "tp": count * (labelled & (y == 1) & (p == 1)),
        "fp": count * (labelled & (y == 0) & (p == 1)),
        "fn": count * (labelled & (y == 1) & (p == 0)),
        "tn": count * (labelled & (y == 0) & (p == 0)),
    }
    frame = pd.DataFrame({key: cells[key].to_numpy() for key in keys} | parts)
    grouped = frame.groupby(keys, dropna=False, sort=True, observed=True)[list(COUNT_COLUMNS)].sum()
    out = grouped.reset_index()
    out["positives"] = out["tp"] + out["fn"]
    out["negatives"] = out["fp"] + out["tn"]
    out["predicted_positive_labelled"] = out["tp"] + out["fp"]
    out["predicted_negative_labelled"] = out["tn"] + out["fn"]
    out["correct"] = out["tp"] + out["tn"]
    count_columns = [*COUNT_COLUMNS, "positives", "negatives", "predicted_positive_labelled"]
    count_columns += ["predicted_negative_labelled", "correct"]
    out[count_columns] = out[count_columns].astype("int64")
    return out


def metric_table(
    counts: pd.DataFrame,
    *,
    min_cell_size: int,
    confidence: float = 0.95,
    labels_used: bool = True,
) -> pd.DataFrame:
    """Add each metric's value and Wilson interval to :func:`confusion_counts` output.

    A metric whose denominator is 0 is NaN (undefined), never 0. ``suppressed`` marks groups with fewer
    than ``min_cell_size`` decisions; their values stay in this table (analysis) and are blanked only in
    what a report shows. Without usable labels (``labels_used=False``) every label metric is NaN.

    Columns added per metric ``m``: ``m``, ``m_low``, ``m_high``.
    """
    out = counts.copy()
    for spec in METRICS.values():
        k = out[spec.numerator].to_numpy(float)
        n = out[spec.denominator].to_numpy(float)
        if spec.needs_labels and not labels_used:
            k, n = np.zeros_like(k), np.zeros_like(n)
        low, high = wilson_interval(k, n, confidence=confidence)
        out[spec.name] = rate(k, n)
        out[f"{spec.name}_low"] = np.asarray(low, dtype=float)
        out[f"{spec.name}_high"] = np.asarray(high, dtype=float)
    out["suppressed"] = out["n"] < int(min_cell_size)
    return out


def benjamini_hochberg(p_values: Sequence[float] | np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (NaN stays NaN and is not counted in the family).

    Examples
    --------
    >>> benjamini_hochberg([0.01, 0.04, 0.03, float("nan")]).round(4).tolist()
    [0.03, 0.04, 0.04, nan]
    """
    values = np.asarray(p_values, dtype=float)
    adjusted = np.full(values.shape, np.nan)
    valid = ~np.isnan(values)
    m = int(valid.sum())
    if m == 0:
        return adjusted
    p = values[valid]
    order = np.argsort(p, kind="stable")
    ranked = p[order] * m / np.arange(1, m + 1)
    ranked = np.minimum.accumulate(ranked[::-1])[::-1]
    result = np.empty(m)
    result[order] = np.minimum(ranked, 1.0)
    adjusted[valid] = result
    return adjusted


def _pooled_z_p(k1: np.ndarray, n1: np.ndarray, k0: np.ndarray, n0: np.ndarray) -> np.ndarray:
    """Two-sided p-value of the pooled two-proportion z test (1 where both rates are 0 or 1; NaN if n=0)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        p1, p0 = k1 / n1, k0 / n0
        pooled = (k1 + k0) / (n1 + n0)
        se = np.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n0))
        z = np.where(se > 0, (p1 - p0) / np.where(se > 0, se, 1), 0.0)
        p = 2 * stats.norm.sf(np.abs(z))
    return np.where((n1 > 0) & (n0 > 0), p, np.nan)


@dataclass(frozen=True)
class Thresholds:
    """When a gap matters in practice: ``difference`` absolute, or a ratio outside ``[ratio, 1/ratio]``."""

    difference: float = 0.05
    ratio: float = 0.8
    alpha: float = 0.05
    opened_alpha: float = 0.01
    """False-discovery level of the claim that a gap *opened* with the incident (the report's headline):
    stricter than ``alpha``, because a report that names a group and a model version must not cry wolf
    (at 5 % a clean control raised an opened intersection gap on one of three seeds)."""

    def __post_init__(self) -> None:
        if not 0 < self.difference < 1:
            raise InvalidParameterError(
                f"difference_threshold must be between 0 and 1. Got {self.difference!r} instead."
            )
        if not 0 < self.ratio < 1:
            raise InvalidParameterError(
                f"ratio_threshold must be between 0 and 1. Got {self.ratio!r} instead."
            )
        if not 0 < self.opened_alpha <= self.alpha:
            raise InvalidParameterError(
                f"opened_alpha must be above 0 and at most alpha ({self.alpha}). "
                f"Got {self.opened_alpha!r} instead."
            )
        if not 0 < self.alpha < 1:
            raise InvalidParameterError(f"alpha must be between 0 and 1. Got {self.alpha!r} instead.")


def disparity_table(
    metrics: pd.DataFrame,
    *,
    group_column: str,
    reference: str,
    by: Sequence[str] = (),
    min_cell_size: int,
    thresholds: Thresholds | None = None,
    confidence: float = 0.95,
    labels_used: bool = True,
) -> pd.DataFrame:
    """Every group against ``reference`` for every metric, within each combination of ``by``.

    Parameters
    ----------
    metrics : DataFrame
        From :func:`metric_table`: one row per group (``group_column``) and ``by`` combination.
    group_column : str
        The column naming the group.
    reference : str
        The reference group's value in ``group_column``.
    by : sequence of str
        Columns that split the comparison (e.g. ``["window"]``); the reference group is looked up in each.
    min_cell_size : int
        A group (or metric denominator) smaller than this gives the verdict ``not enough data``.
    thresholds : Thresholds
        The practical thresholds and the false-discovery level.

    Returns
    -------
    DataFrame
        One row per (``by``, group, metric): the two rates and their counts, ``difference`` (group minus
        reference) with its Newcombe interval, ``ratio`` with its Katz interval, ``p_value`` (pooled z
        test), ``p_adjusted`` (Benjamini-Hochberg within each ``by`` combination, over groups and metrics)
        and ``verdict``:

        * ``not enough data`` -- either group is suppressed, a denominator is below ``min_cell_size``, or
          the metric needs labels that did not mature;
        * ``significant`` -- the difference interval excludes 0, ``p_adjusted < alpha`` and the gap passes
          a practical threshold (``|difference| >= thresholds.difference`` or the ratio is outside
          ``[thresholds.ratio, 1 / thresholds.ratio]``);
        * ``below practical threshold`` -- the first two hold but the gap is smaller than both thresholds;
        * ``not distinguishable from noise`` -- otherwise.
    """
    thresholds = thresholds or Thresholds()
    by = list(by)
    rows: list[pd.DataFrame] = []
    parts = [((), metrics)] if not by else list(metrics.groupby(by, dropna=False, sort=True, observed=True))
    for key, part in parts:
        ref_rows = part[part[group_column] == reference]
        others = part[part[group_column] != reference]
        if ref_rows.empty or others.empty:
            continue
        ref = ref_rows.iloc[0]
        specs = list(METRICS.values())
        g = len(others)
        # every metric of every group in one vectorised pass (metric-major, groups within)
        k1 = np.concatenate([others[spec.numerator].to_numpy(float) for spec in specs])
        n1 = np.concatenate([others[spec.denominator].to_numpy(float) for spec in specs])
        k0 = np.repeat([float(ref[spec.numerator]) for spec in specs], g)
        n0 = np.repeat([float(ref[spec.denominator]) for spec in specs], g)
        diff, d_low, d_high = (
            np.asarray(x, float) for x in newcombe_interval(k1, n1, k0, n0, confidence=confidence)
        )
        ratio, r_low, r_high = (
            np.asarray(x, float) for x in katz_interval(k1, n1, k0, n0, confidence=confidence)
        )
        block = pd.DataFrame(
            {
                **{column: np.tile(others[column].to_numpy(), len(specs)) for column in by},
                "group": np.tile(others[group_column].astype(str).to_numpy(), len(specs)),
                "reference_group": str(reference),
                "metric": np.repeat([spec.name for spec in specs], g),
                "value": rate(k1, n1),
                "reference_value": rate(k0, n0),
                "numerator": k1,
                "denominator": n1,
                "reference_numerator": k0,
                "reference_denominator": n0,
                "difference": diff,
                "difference_low": d_low,
                "difference_high": d_high,
                "ratio": ratio,
                "ratio_low": r_low,
                "ratio_high": r_high,
                "p_value": _pooled_z_p(k1, n1, k0, n0),
                "suppressed": np.tile(others["suppressed"].to_numpy(bool), len(specs))
                | bool(ref["suppressed"]),
                "reference_suppressed": bool(ref["suppressed"]),
                "labels_missing": np.repeat([spec.needs_labels and not labels_used for spec in specs], g),
            }
        )
        thin = (block["denominator"] < min_cell_size) | (block["reference_denominator"] < min_cell_size)
        block["no_data"] = block["suppressed"] | thin | block["labels_missing"] | block["difference"].isna()
        rows.append(judge(block.drop(columns=["labels_missing"]), thresholds))
        del key
    if not rows:
        return pd.DataFrame()
    return pd.concat(rows, ignore_index=True)


def judge(block: pd.DataFrame, thresholds: Thresholds) -> pd.DataFrame:
    """Benjamini-Hochberg over the rows of ``block`` (one family) and each row's verdict.

    ``block`` holds :func:`disparity_table` rows with their ``no_data`` flag; the family is whatever the
    caller passes: one grouping in one window (:func:`disparity_table`), or every grouping of a window
    (:func:`analysis.fairness.assess_fairness`, so that many intersections do not multiply false alarms).
    """
    block = block.copy()
    no_data = block["no_data"].to_numpy(bool)
    p = block["p_value"].to_numpy(float).copy()
    p[no_data] = np.nan
    block["p_adjusted"] = benjamini_hochberg(p)
    excludes = (block["difference_low"] > 0) | (block["difference_high"] < 0)
    detected = excludes & (block["p_adjusted"] < thresholds.alpha)
    practical = (block["difference"].abs() >= thresholds.difference) | (
        (block["ratio"] <= thresholds.ratio) | (block["ratio"] >= 1 / thresholds.ratio)
    )
    block["verdict"] = np.where(
        no_data,
        "not enough data",
        np.where(
            detected & practical,
            "significant",
            np.where(detected, "below practical threshold", "not distinguishable from noise"),
        ),
    )
    return block


def gap_change(
    during: ArrayLike,
    during_low: ArrayLike,
    during_high: ArrayLike,
    before: ArrayLike,
    before_low: ArrayLike,
    before_high: ArrayLike,
) -> tuple[Bound, Bound, Bound]:
    """Change of a gap between two independent windows, ``during - before``, with the MOVER interval.

    The method of variance estimates recovery (Zou & Donner 2008) combines the two gaps' own intervals
    (here Newcombe's, itself a MOVER interval): ``L = d - sqrt((d1 - l1)^2 + (u0 - d0)^2)``,
    ``U = d + sqrt((u1 - d1)^2 + (d0 - l0)^2)``. Vectorised like :mod:`analysis.stats` (floats in,
    floats out; arrays in, arrays out); NaN where either gap or a bound is undefined.

    Examples
    --------
    >>> [round(x, 4) for x in gap_change(0.15, 0.12, 0.18, 0.03, 0.01, 0.05)]
    [0.12, 0.0839, 0.1561]
    """
    d1, l1, u1, d0, l0, u0 = np.broadcast_arrays(
        *(
            np.asarray(x, dtype=float)
            for x in (during, during_low, during_high, before, before_low, before_high)
        )
    )
    undefined = np.isnan(d1) | np.isnan(l1) | np.isnan(u1) | np.isnan(d0) | np.isnan(l0) | np.isnan(u0)
    change = np.where(undefined, np.nan, d1 - d0)
    low = change - np.sqrt((d1 - l1) ** 2 + (u0 - d0) ** 2)
    high = change + np.sqrt((u1 - d1) ** 2 + (d0 - l0) ** 2)
    return _out(change), _out(low), _out(high)


def _category_counts(counts: pd.DataFrame) -> np.ndarray:
    """Per group the counts of the 7 mutually exclusive cell categories (a multinomial's outcomes)."""
    pp_unlabelled = counts["pp"] - counts["tp"] - counts["fp"]
    n_predicted_unlabelled = counts["n_predicted"] - counts["labelled"]
    columns = [
        counts["tp"],
        counts["fp"],
        counts["fn"],
        counts["tn"],
        pp_unlabelled,
        n_predicted_unlabelled - pp_unlabelled,
        counts["n"] - counts["n_predicted"],
    ]
    return np.column_stack([np.asarray(column, dtype=float) for column in columns])


def _composites(categories: np.ndarray) -> dict[str, np.ndarray]:
    """Demographic-parity and equalized-odds differences and ratios; ``categories`` is ``(..., G, 7)``."""
    tp, fp, fn, tn, ppu, pnu, _ = (categories[..., i] for i in range(7))
    with np.errstate(invalid="ignore", divide="ignore"):
        n_predicted = tp + fp + fn + tn + ppu + pnu
        selection = np.where(n_predicted > 0, (tp + fp + ppu) / n_predicted, np.nan)
        tpr = np.where(tp + fn > 0, tp / (tp + fn), np.nan)
        fpr = np.where(fp + tn > 0, fp / (fp + tn), np.nan)

        def spread(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            high, low = np.nanmax(values, axis=-1), np.nanmin(values, axis=-1)
            return high - low, np.where(high > 0, low / high, np.nan)

        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            dp_difference, dp_ratio = spread(selection)
            tpr_difference, tpr_ratio = spread(tpr)
            fpr_difference, fpr_ratio = spread(fpr)
    return {
        "demographic_parity_difference": dp_difference,
        "demographic_parity_ratio": dp_ratio,
        "equalized_odds_difference": np.fmax(tpr_difference, fpr_difference),
        "equalized_odds_ratio": np.fmin(tpr_ratio, fpr_ratio),
    }


def composite_intervals(
    counts: pd.DataFrame,
    *,
    n_resamples: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
) -> dict[str, dict[str, float]]:
    """Demographic-parity and equalized-odds difference/ratio over the groups of ``counts``, with intervals.

    The point estimates follow fairlearn's definitions (``demographic_parity_difference``: largest minus
    smallest selection rate; ``equalized_odds_difference``: the larger of the TPR and FPR spreads; the
    ratios: smallest over largest, the smaller of the two for equalized odds). The intervals come from a
    seeded multinomial resampling of the cell counts: the groups' cells are one multinomial sample of
    size ``N`` (the decisions), redrawn ``n_resamples`` times, which is the row bootstrap done on counts
    (fairlearn's bootstrap resamples raw rows). Percentile intervals; NaN where a metric is undefined.

    Parameters
    ----------
    counts : DataFrame
        :func:`confusion_counts` rows of the groups to compare (leave suppressed groups out).

    Returns
    -------
    dict
        ``name -> {"estimate", "low", "high"}``.
    """
    if n_resamples < 1:
        raise InvalidParameterError(f"n_resamples must be a positive integer. Got {n_resamples!r} instead.")
    categories = _category_counts(counts)
    point = _composites(categories)
    total = int(categories.sum())
    result: dict[str, dict[str, float]] = {}
    if total == 0 or categories.shape[0] < 2:
        return {name: {"estimate": float("nan"), "low": float("nan"), "high": float("nan")} for name in point}
    rng = np.random.default_rng(seed)
    probabilities = categories.ravel() / total
    draws = rng.multinomial(total, probabilities, size=n_resamples).reshape(n_resamples, *categories.shape)
    resampled = _composites(draws.astype(float))
    tail = (1 - confidence) / 2 * 100
    for name, estimate in point.items():
        values = resampled[name][~np.isnan(resampled[name])]
        low, high = np.percentile(values, [tail, 100 - tail]) if values.size else (np.nan, np.nan)
        result[name] = {"estimate": float(estimate), "low": float(low), "high": float(high)}
    return result
