"""The fairness assessment on cells: tables per grouping, window and model version; the headline gap.

Called by :func:`analysis.fairness.assess_fairness`; everything here is pandas on the cells.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from analysis._fairness_cells import (
    WINDOW_NAMES,
    FairnessCells,
    _reference_group,
    _with_group,
    grouping_name,
)
from analysis._fairness_stats import (
    METRICS,
    Thresholds,
    benjamini_hochberg,
    composite_intervals,
    confusion_counts,
    disparity_table,
    gap_change,
    judge,
    metric_table,
)
from analysis._fairness_summary import FairnessResult
from analysis.data import CHUNK_LENGTHS
from analysis.onset import gaussian_onset
from analysis.stats import katz_interval, newcombe_interval, wilson_interval

__all__ = ["assess"]


def _rule_for(reference: str | Mapping[str, str], name: str) -> str:
    if isinstance(reference, Mapping):
        return str(reference.get(name, "largest"))
    return str(reference)


def _grouped_counts(cells: pd.DataFrame, grouping: Sequence[str], by: Sequence[str]) -> pd.DataFrame:
    """Confusion counts per ``by`` and group of ``grouping`` (summed first, named after: fewer strings)."""
    counts = confusion_counts(cells, [*by, *grouping])
    named = _with_group(counts, grouping)
    return named.drop(columns=[name for name in grouping if name not in by])


def assess(
    cells: FairnessCells,
    groupings: list[tuple[str, ...]],
    *,
    reference: str | Mapping[str, str],
    min_cell_size: int,
    confidence: float,
    thresholds: Thresholds,
    n_resamples: int,
    seed: int,
) -> FairnessResult:
    """Every table of a :class:`FairnessResult` from the cells (:func:`analysis.fairness.assess_fairness`)."""
    frame = cells.cells
    windowed = frame[frame["window"].isin(WINDOW_NAMES)]
    metrics_parts, disparity_parts, version_parts, composite_rows, four_fifths_parts = [], [], [], [], []
    references: dict[str, str] = {}
    limitations: list[str] = []
    if not cells.labels_used:
        limitations.append(
            "Label metrics (TPR, FPR, FNR, precision, NPV, accuracy) are unavailable: "
            + cells.label_note
            + "."
        )
    for grouping in groupings:
        name = grouping_name(grouping)
        counts = _grouped_counts(windowed, grouping, ["window"])
        if counts.empty:
            continue
        ref = _reference_group(counts, _rule_for(reference, name), min_cell_size, name)
        references[name] = ref
        table = metric_table(
            counts, min_cell_size=min_cell_size, confidence=confidence, labels_used=cells.labels_used
        )
        table.insert(0, "grouping", name)
        metrics_parts.append(table)
        if counts["group"].nunique() < 2:
            limitations.append(f"{name}: only one group ({ref}) in the windows, so no gap can be measured.")
            continue
        gaps = disparity_table(
            table,
            group_column="group",
            reference=ref,
            by=["window"],
            min_cell_size=min_cell_size,
            thresholds=thresholds,
            confidence=confidence,
            labels_used=cells.labels_used,
        )
        if gaps.empty:
            limitations.append(
                f"{name}: no window holds the reference group ({ref}) and another group, so no gap can be "
                "measured."
            )
            continue
        gaps.insert(0, "grouping", name)
        disparity_parts.append(gaps)
        if len(grouping) == 1:  # per model version: single attributes (what the report shows)
            version_parts.append(
                _by_version(windowed, grouping, name, ref, min_cell_size, confidence, thresholds, cells)
            )
        for window_name, part in counts.groupby("window", sort=True):
            kept = part[part["n"] >= min_cell_size]
            if len(kept) < 2:  # a gap needs two groups above the minimum cell size (a six-hour window...)
                continue
            for metric_name, values in composite_intervals(
                kept, n_resamples=n_resamples, seed=seed, confidence=confidence
            ).items():
                composite_rows.append(
                    {"grouping": name, "window": window_name, "metric": metric_name, **values}
                )
            four_fifths_parts.append(_four_fifths(kept, name, str(window_name), confidence, thresholds))
    metrics = pd.concat(metrics_parts, ignore_index=True) if metrics_parts else pd.DataFrame()
    disparities = pd.DataFrame()
    if disparity_parts:
        # one false-discovery family per window over every grouping (intersections multiply the tests)
        joined = pd.concat(disparity_parts, ignore_index=True)
        judged = [judge(part, thresholds) for _, part in joined.groupby("window", sort=False)]
        disparities = _with_change(pd.concat(judged).sort_index(), thresholds, confidence)
    by_version = pd.concat(version_parts, ignore_index=True) if version_parts else pd.DataFrame()
    four_fifths = pd.concat(four_fifths_parts, ignore_index=True) if four_fifths_parts else pd.DataFrame()
    suppressed = _suppressed_groups(metrics)
    if suppressed:
        limitations.append(
            f"{len(suppressed)} group(s) have fewer than {min_cell_size} decisions in a window and are "
            "suppressed "
            "(shown, never compared): "
            + ", ".join(suppressed[:8])
            + (" ..." if len(suppressed) > 8 else "")
            + "."
        )
    versions = _versions(frame)
    headline = _headline(disparities, thresholds, opened=True)
    persistent = _headline(disparities, thresholds, opened=False)
    over_time = pd.DataFrame()
    if headline is not None:
        over_time, onset = _gap_over_time(cells, headline, confidence)
        headline["onset"] = onset
        headline.update(_opened_with(headline, by_version, versions))
    return FairnessResult(
        cells=cells,
        metrics=metrics,
        disparities=disparities,
        by_version=by_version,
        versions=versions,
        composites=pd.DataFrame(composite_rows),
        four_fifths=four_fifths,
        calibration=_calibration(cells, groupings, min_cell_size, confidence),
        references=references,
        headline=headline,
        persistent=persistent,
        gap_over_time=over_time,
        limitations=limitations,
        parameters={
            "min_cell_size": min_cell_size,
            "confidence": confidence,
            "difference_threshold": thresholds.difference,
            "ratio_threshold": thresholds.ratio,
            "alpha": thresholds.alpha,
            "opened_alpha": thresholds.opened_alpha,
            "n_resamples": n_resamples,
            "seed": seed,
            "reference_rule": reference if isinstance(reference, str) else dict(reference),
        },
    )


def _with_change(gaps: pd.DataFrame, thresholds: Thresholds, confidence: float) -> pd.DataFrame:
    """Incident-window rows get the reference window's gap, the change and whether the gap *opened*.

    The change is the difference in differences with its MOVER interval (:func:`gap_change`); its p-value
    is the normal one implied by that interval, adjusted by Benjamini-Hochberg over the incident-window
    rows of every grouping. A gap ``opened`` when it is significant during the incident, its change is
    significant after the adjustment (at ``thresholds.opened_alpha``, 1 % by default), at least the
    practical difference threshold, and in the direction of the gap (it widened, not narrowed).
    """
    key = ["grouping", "group", "metric"]
    before = gaps[gaps["window"] == "reference"].set_index(key)
    during = gaps[(gaps["window"] == "incident") & (gaps["verdict"] != "not enough data")]
    prior = before[["difference", "difference_low", "difference_high", "verdict"]].add_suffix("_before")
    joined = during.join(prior, on=key)
    usable = joined["verdict_before"].notna() & (joined["verdict_before"] != "not enough data")
    d1, l1, u1 = (joined[c].to_numpy(float) for c in ("difference", "difference_low", "difference_high"))
    d0, l0, u0 = (
        joined[f"{c}_before"].to_numpy(float) for c in ("difference", "difference_low", "difference_high")
    )
    change, low, high = (np.asarray(x, dtype=float) for x in gap_change(d1, l1, u1, d0, l0, u0))
    z = stats.norm.ppf(0.5 + confidence / 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        se = np.where(change >= 0, change - low, high - change) / z
        p = np.where(se > 0, 2 * stats.norm.sf(np.abs(change) / np.where(se > 0, se, 1)), np.nan)
    p = np.where(usable.to_numpy(), p, np.nan)
    change = np.where(usable, change, np.nan)
    adjusted = benjamini_hochberg(p)
    opened = (
        (joined["verdict"].to_numpy() == "significant")
        & (adjusted < thresholds.opened_alpha)
        & (np.abs(change) >= thresholds.difference)
        & (np.sign(change) == np.sign(d1))
    )
    out = gaps.copy()
    columns = {
        "before": np.where(usable, d0, np.nan),
        "before_low": np.where(usable, l0, np.nan),
        "before_high": np.where(usable, u0, np.nan),
        "change": change,
        "change_low": np.where(usable, low, np.nan),
        "change_high": np.where(usable, high, np.nan),
        "change_p_adjusted": adjusted,
    }
    for column, values in columns.items():
        out[column] = np.nan
        out.loc[joined.index, column] = values
    out["opened"] = False
    out.loc[joined.index, "opened"] = opened
    return out


def _by_version(
    windowed: pd.DataFrame,
    grouping: Sequence[str],
    name: str,
    ref: str,
    min_cell_size: int,
    confidence: float,
    thresholds: Thresholds,
    cells: FairnessCells,
) -> pd.DataFrame:
    """Gaps per model version over both windows together."""
    counts = _grouped_counts(windowed, grouping, ["model_version"])
    table = metric_table(
        counts, min_cell_size=min_cell_size, confidence=confidence, labels_used=cells.labels_used
    )
    gaps = disparity_table(
        table,
        group_column="group",
        reference=ref,
        by=["model_version"],
        min_cell_size=min_cell_size,
        thresholds=thresholds,
        confidence=confidence,
        labels_used=cells.labels_used,
    )
    if gaps.empty:
        return gaps
    gaps.insert(0, "grouping", name)
    return gaps


def _versions(frame: pd.DataFrame) -> pd.DataFrame:
    """Each model version: decisions, first and last chunk seen, decisions per window."""
    if frame.empty:
        return pd.DataFrame(columns=["model_version", "n", "first_seen", "last_seen"])
    grouped = frame.groupby("model_version")
    out = grouped.agg(
        n=("count", "sum"), first_seen=("chunk", "min"), last_seen=("chunk", "max")
    ).reset_index()
    per_window = frame.pivot_table(
        index="model_version", columns="window", values="count", aggfunc="sum", fill_value=0
    )
    for window_name in WINDOW_NAMES:
        out[f"n_{window_name}"] = (
            out["model_version"]
            .map(per_window.get(window_name, pd.Series(dtype=float)))
            .fillna(0)
            .astype("int64")
        )
    return out.sort_values("first_seen", kind="stable").reset_index(drop=True)


def _four_fifths(
    kept: pd.DataFrame, name: str, window_name: str, confidence: float, thresholds: Thresholds
) -> pd.DataFrame:
    """Adverse impact: each group's selection rate over the highest group's, with its Katz interval."""
    if len(kept) < 2:
        return pd.DataFrame()
    rate = kept["pp"] / kept["n_predicted"].where(kept["n_predicted"] > 0)
    top = kept.loc[rate.idxmax()]
    others = kept[kept["group"] != top["group"]]
    ratio, low, high = (
        np.asarray(x, float)
        for x in katz_interval(
            others["pp"].to_numpy(float),
            others["n_predicted"].to_numpy(float),
            float(top["pp"]),
            float(top["n_predicted"]),
            confidence=confidence,
        )
    )
    return pd.DataFrame(
        {
            "grouping": name,
            "window": window_name,
            "group": others["group"].to_numpy(),
            "highest_group": str(top["group"]),
            "ratio": ratio,
            "ratio_low": low,
            "ratio_high": high,
            "flagged": ratio < thresholds.ratio,
            "confirmed": high < thresholds.ratio,
            "excludes_parity": high < 1,
        }
    )


def _suppressed_groups(metrics: pd.DataFrame) -> list[str]:
    if metrics.empty:
        return []
    rows = metrics[metrics["suppressed"]]
    return sorted({f"{row.grouping}={row.group} ({row.window})" for row in rows.itertuples()})


def _strength(row: pd.Series, thresholds: Thresholds) -> float:
    """How far past the practical thresholds a gap is, taking the interval bound nearest no-gap."""
    low, high = row["difference_low"], row["difference_high"]
    conservative = min(abs(low), abs(high)) if (low > 0 or high < 0) else 0.0
    r_low, r_high = row["ratio_low"], row["ratio_high"]
    ratio_bound = r_high if r_high < 1 else (r_low if r_low > 1 else 1.0)
    ratio_strength = abs(np.log(ratio_bound)) / abs(np.log(thresholds.ratio)) if ratio_bound > 0 else 0.0
    return float(max(conservative / thresholds.difference, ratio_strength))


def _headline(disparities: pd.DataFrame, thresholds: Thresholds, *, opened: bool) -> dict[str, Any] | None:
    """The largest significant gap of the incident window that opened (``opened=True``) or that did not.

    Among incident-window gaps with the verdict ``significant`` (and ``opened`` as asked), single
    attributes come before intersections, then the strength past the practical thresholds
    (:func:`_strength`: the interval bound nearest no-gap, so a large but uncertain gap does not win),
    then the metric listed first in ``METRICS`` (TPR before its mirror image FNR).
    """
    if disparities.empty:
        return None
    during = disparities[
        (disparities["window"] == "incident")
        & (disparities["verdict"] == "significant")
        & (disparities["opened"].astype(bool) == opened)
    ]
    if during.empty:
        return None
    ranked = during.assign(
        _single=~during["grouping"].str.contains(" × ", regex=False),
        # rounded: mirror-image metrics (TPR and FNR) tie exactly but for float noise
        _strength=during.apply(_strength, axis=1, thresholds=thresholds).round(9),
        _order=-during["metric"].map({name: i for i, name in enumerate(METRICS)}),
    ).sort_values(["_single", "_strength", "_order"], ascending=False, kind="stable")
    row = ranked.iloc[0]
    keys = [
        "grouping",
        "group",
        "reference_group",
        "metric",
        "value",
        "reference_value",
        "difference",
        "difference_low",
        "difference_high",
        "ratio",
        "ratio_low",
        "ratio_high",
        "p_adjusted",
        "before",
        "before_low",
        "before_high",
        "change",
        "change_low",
        "change_high",
        "opened",
    ]
    return {key: _plain(row[key]) for key in keys}


def _plain(value: Any) -> Any:
    if isinstance(value, (np.floating, float)):
        return None if np.isnan(value) else float(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value


def _gap_over_time(
    cells: FairnessCells, headline: dict[str, Any], confidence: float
) -> tuple[pd.DataFrame, Any]:
    """The headline gap per chunk with its Newcombe band, and its onset (a step change).

    The onset is the most likely single step of the per-chunk gap (:func:`analysis.onset.gaussian_onset`,
    each chunk weighted by its precision) between the reference start and the incident end, kept when it
    falls after the reference window and the gap widened there. A threshold crossing (the drift rule)
    places a small group's onset days late: one chunk of a small group is too noisy to cross a normal
    range on its own, while the step uses every chunk on both sides.
    """
    grouping = headline["grouping"].split(" × ")
    spec = METRICS[headline["metric"]]
    frame = _with_group(cells.cells, grouping)
    frame = frame[frame["group"].isin([headline["group"], headline["reference_group"]])]
    counts = confusion_counts(frame, ["chunk", "group"])
    pivot = counts.pivot_table(
        index="chunk", columns="group", values=[spec.numerator, spec.denominator], aggfunc="sum", fill_value=0
    )
    chunks = pivot.index

    def column(kind: str, group: str) -> np.ndarray:
        key = (kind, group)
        return pivot[key].to_numpy(float) if key in pivot.columns else np.zeros(len(chunks))

    k1, n1 = column(spec.numerator, headline["group"]), column(spec.denominator, headline["group"])
    k0, n0 = (
        column(spec.numerator, headline["reference_group"]),
        column(spec.denominator, headline["reference_group"]),
    )
    gap, low, high = (np.asarray(x, float) for x in newcombe_interval(k1, n1, k0, n0, confidence=confidence))
    series = pd.DataFrame(
        {"chunk_start": chunks, "gap": gap, "low": low, "high": high, "n_group": n1, "n_reference": n0}
    )
    windows = cells.windows
    length = CHUNK_LENGTHS[cells.chunk]
    reference_end = pd.Timestamp(windows.reference.end)
    series["in_reference"] = (series["chunk_start"] >= pd.Timestamp(windows.reference.start)) & (
        series["chunk_start"] + length <= reference_end
    )
    direction = 1.0 if (headline["difference"] or 0) >= 0 else -1.0
    z = stats.norm.ppf(0.5 + confidence / 2)
    se = (series["high"] - series["low"]) / (2 * z)
    # the most likely single step of the gap from the reference start to the incident end, every chunk
    # weighted by its precision (a thin chunk counts little); kept when it lies after the reference window
    # and the gap moved the way it did in the incident window
    span = series[
        (series["chunk_start"] >= pd.Timestamp(windows.reference.start))
        & (series["chunk_start"] < pd.Timestamp(windows.incident.end))
    ]
    onset = None
    found = gaussian_onset(span["gap"].to_numpy(float), se.loc[span.index].to_numpy(float))
    if found is not None:
        at = span["chunk_start"].iloc[found.index]
        widened = direction * (found.after - found.before) > 0
        if at >= reference_end - length and widened:
            onset = at.to_pydatetime()
    return series.reset_index(drop=True), onset


def _opened_with(
    headline: dict[str, Any], by_version: pd.DataFrame, versions: pd.DataFrame
) -> dict[str, Any]:
    """The model version a gap opened with: new in the incident window, gap significant there, not before.

    Returns ``{"model_version": ..., "deployed_at": ...}`` or ``{}`` when no version explains it.
    """
    if by_version.empty or versions.empty:
        return {}
    rows = by_version[
        (by_version["grouping"] == headline["grouping"])
        & (by_version["group"] == headline["group"])
        & (by_version["metric"] == headline["metric"])
    ]
    known = versions.set_index("model_version")
    older = [v for v in known.index if known.loc[v, "n_reference"] > 0]
    newer = [v for v in known.index if known.loc[v, "n_reference"] == 0 and known.loc[v, "n_incident"] > 0]
    if not newer:
        return {}
    verdict = rows.set_index("model_version")["verdict"].to_dict()
    significant_new = [v for v in newer if verdict.get(v) == "significant"]
    if not significant_new or any(verdict.get(v) == "significant" for v in older):
        return {}
    version = significant_new[0]
    return {"model_version": version, "deployed_at": known.loc[version, "first_seen"]}


def _calibration(
    cells: FairnessCells, groupings: list[tuple[str, ...]], min_cell_size: int, confidence: float
) -> pd.DataFrame:
    """Observed positive rate per score bin and group (single attributes), with Wilson intervals."""
    if cells.scores is None or cells.scores.empty:
        return pd.DataFrame()
    parts = []
    for grouping in groupings:
        if len(grouping) != 1:
            continue
        frame = cells.scores.assign(
            group=cells.scores[grouping[0]].astype(str),
            positive=cells.scores["count"] * (cells.scores["y_true"] == 1),
        )
        agg = (
            frame.groupby(["window", "group", "score_bin"], sort=True)
            .agg(n=("count", "sum"), positives=("positive", "sum"), score_sum=("score_sum", "sum"))
            .reset_index()
        )
        low, high = wilson_interval(
            agg["positives"].to_numpy(float), agg["n"].to_numpy(float), confidence=confidence
        )
        agg["observed_rate"] = agg["positives"] / agg["n"]
        agg["observed_low"], agg["observed_high"] = low, high
        agg["mean_score"] = agg["score_sum"] / agg["n"]
        agg["suppressed"] = agg["n"] < min_cell_size
        agg.insert(0, "grouping", grouping[0])
        parts.append(agg.drop(columns="score_sum"))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
