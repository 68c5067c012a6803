"""Response speed across incidents: time to detect, acknowledge, contain, resolve and close.

Durations come from the incidents' own times (as of a given time: a time recorded after ``as_of`` has not
happened yet). A duration whose end (or start) is not recorded is counted as *not recorded*, never
imputed; an incident whose response was not recorded by this register at all (a public or imported
record without response times: ``response_recorded`` false) counts as not recorded for every measure.

Quantile intervals are distribution-free: for the ``q`` quantile of ``n`` durations, the order
statistics ``x(l)`` and ``x(u)`` with ``l``, ``u`` from the Binomial(n, q) distribution cover the true
quantile with probability at least the confidence level (Hahn & Meeker, *Statistical Intervals*, §5.2).
Where the sample is too small for a two-sided bound, the interval is open (``None``).

The trend over time is Kendall's tau between the time an incident became known and its duration (the
Mann-Kendall test applied to the incidents in time order, ties handled by tau-b): a negative tau with
``p < alpha`` says responses are getting faster, a positive one slower. Severities are tested apart
(a changing severity mix would otherwise look like a trend) and together.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

__all__ = ["MEASURES", "duration_hours", "quantile_interval", "speed_table", "speed_trends"]

MEASURES: dict[str, tuple[str, str]] = {
    "detect": ("occurred_at", "aware_at"),
    "acknowledge": ("aware_at", "acknowledged_at"),
    "contain": ("aware_at", "contained_at"),
    "resolve": ("aware_at", "resolved_at"),
    "close": ("aware_at", "closed_at"),
}
"""Each measure: the time it starts from and the time it ends at (register field names)."""

_MIN_TREND = 8
"""Fewest recorded durations (over at least two quarters) for the trend test to run."""


def duration_hours(incidents: pd.DataFrame, recorded: pd.Series) -> pd.DataFrame:
    """Hours of each measure per incident (NaN where not recorded), in the order of ``incidents``.

    Parameters
    ----------
    incidents : pandas.DataFrame
        The incidents, with their times already masked as of the analysis time.
    recorded : pandas.Series of bool
        Whether the incident's response was recorded by this register (False: every measure is NaN).

    Returns
    -------
    pandas.DataFrame
        One float column per measure (``detect``, ``acknowledge``...).
    """
    hours = pd.DataFrame(index=incidents.index)
    for name, (start, end) in MEASURES.items():
        if start in incidents and end in incidents:
            span = (incidents[end] - incidents[start]) / pd.Timedelta(hours=1)
            hours[name] = span.astype(float).where(recorded.to_numpy(dtype=bool))
        else:
            hours[name] = np.nan
    return hours


def quantile_interval(
    values: np.ndarray, q: float, *, confidence: float = 0.95
) -> tuple[float | None, float | None, float | None]:
    """The ``q`` sample quantile and its distribution-free interval from order statistics.

    Parameters
    ----------
    values : numpy.ndarray
        Finite values (NaN are dropped).
    q : float
        The quantile, in (0, 1).
    confidence : float
        Coverage of the interval (at least this, by the binomial order-statistic argument).

    Returns
    -------
    tuple
        ``(estimate, low, high)``; the estimate is numpy's linear-interpolation quantile; a bound is
        ``None`` where ``n`` is too small for it.

    Examples
    --------
    >>> quantile_interval(np.arange(1.0, 101.0), 0.5)
    (50.5, 40.0, 61.0)
    >>> quantile_interval(np.array([1.0, 2.0, 3.0]), 0.5)
    (2.0, None, None)
    """
    data = np.sort(values[np.isfinite(values)])
    n = len(data)
    if n == 0:
        return None, None, None
    from scipy import stats  # imported when used: rendering a run's summary needs no SciPy (1 s)

    estimate = float(np.quantile(data, q))
    alpha = 1.0 - confidence
    # 1-based ranks l = ppf(alpha/2), u = ppf(1-alpha/2) + 1: P(Bin <= l-1) < alpha/2 and
    # P(Bin >= u) <= alpha/2, so P(X(l) <= x_q <= X(u)) = P(l <= Bin <= u-1) >= 1 - alpha
    low_rank = int(stats.binom.ppf(alpha / 2, n, q))
    high_rank = int(stats.binom.ppf(1 - alpha / 2, n, q)) + 1
    low = float(data[low_rank - 1]) if low_rank >= 1 else None
    high = float(data[high_rank - 1]) if high_rank <= n else None
    return estimate, low, high


def _row(measure: str, severity: str, hours: pd.Series, sla_hours: float | None) -> dict[str, Any]:
    values = hours.to_numpy(dtype=float)
    finite = values[np.isfinite(values)]
    median, median_low, median_high = quantile_interval(finite, 0.5)
    p90, p90_low, p90_high = quantile_interval(finite, 0.9)
    q10, q25, q75 = (float(np.quantile(finite, q)) if len(finite) else None for q in (0.1, 0.25, 0.75))
    return {
        "measure": measure,
        "severity": severity,
        "n": int(len(finite)),
        "not_recorded": int(len(values) - len(finite)),
        "median_hours": median,
        "median_low": median_low,
        "median_high": median_high,
        "p90_hours": p90,
        "p90_low": p90_low,
        "p90_high": p90_high,
        "p10_hours": q10,
        "q1_hours": q25,
        "q3_hours": q75,
        "sla_hours": sla_hours,
    }


def speed_table(
    hours: pd.DataFrame, severity: pd.Series, sla_hours: dict[str, float] | None = None
) -> list[dict[str, Any]]:
    """Median and p90 (with intervals) of each measure, per severity and for all incidents.

    Parameters
    ----------
    hours : pandas.DataFrame
        :func:`duration_hours`.
    severity : pandas.Series
        Each incident's severity (same index).
    sla_hours : dict, optional
        The response SLA per severity in hours (shown beside the acknowledge measure).

    Returns
    -------
    list of dict
        One row per (measure, severity), severities in sorted order then ``"all"``.
    """
    sla_hours = sla_hours or {}
    levels = sorted(str(value) for value in severity.dropna().unique())
    rows: list[dict[str, Any]] = []
    for measure in MEASURES:
        column = hours[measure]
        for level in levels:
            sla = sla_hours.get(level) if measure == "acknowledge" else None
            rows.append(_row(measure, level, column[severity.eq(level).to_numpy()], sla))
        rows.append(_row(measure, "all", column, None))
    return rows


def speed_trends(
    hours: pd.DataFrame,
    aware_at: pd.Series,
    severity: pd.Series,
    *,
    alpha: float = 0.05,
) -> list[dict[str, Any]]:
    """Kendall's tau between the time of awareness and each duration, per severity and overall.

    Parameters
    ----------
    hours : pandas.DataFrame
        :func:`duration_hours`.
    aware_at : pandas.Series
        When each incident became known (UTC).
    severity : pandas.Series
        Each incident's severity.
    alpha : float
        Significance level of the verdict.

    Returns
    -------
    list of dict
        ``measure, severity, n, quarters, tau, p_value, verdict`` where the verdict is ``faster``,
        ``slower``, ``no clear trend`` or ``too few`` (fewer than 8 recorded durations or one quarter).
    """
    moments = pd.to_datetime(aware_at, utc=True)
    seconds = (moments - pd.Timestamp("1970-01-01", tz="UTC")) / pd.Timedelta(seconds=1)
    quarter = moments.dt.tz_convert(None).dt.to_period("Q")
    levels = [*sorted(str(value) for value in severity.dropna().unique()), "all"]
    rows: list[dict[str, Any]] = []
    for measure in MEASURES:
        for level in levels:
            mask = np.ones(len(hours), dtype=bool) if level == "all" else severity.eq(level).to_numpy()
            values = hours[measure].to_numpy(dtype=float)[mask]
            keep = np.isfinite(values)
            x = seconds.to_numpy(dtype=float)[mask][keep]
            y = values[keep]
            n_quarters = int(quarter[mask][keep].nunique()) if keep.any() else 0
            row: dict[str, Any] = {
                "measure": measure,
                "severity": level,
                "n": int(keep.sum()),
                "quarters": n_quarters,
                "tau": None,
                "p_value": None,
                "verdict": "too few",
            }
            if keep.sum() >= _MIN_TREND and n_quarters >= 2 and np.ptp(y) > 0:
                from scipy import stats

                result = stats.kendalltau(x, y)
                tau, p_value = float(result.statistic), float(result.pvalue)
                row["tau"], row["p_value"] = tau, p_value
                if p_value < alpha:
                    row["verdict"] = "faster" if tau < 0 else "slower"
                else:
                    row["verdict"] = "no clear trend"
            rows.append(row)
    return rows


def quarterly_medians(hours: pd.DataFrame, aware_at: pd.Series, severity: pd.Series) -> list[dict[str, Any]]:
    """Median of each measure per quarter and severity (the points of the trend figure)."""
    quarter = pd.to_datetime(aware_at, utc=True).dt.tz_convert(None).dt.to_period("Q").astype(str)
    long = hours.assign(quarter=quarter.to_numpy(), severity=severity.astype(object).to_numpy()).melt(
        id_vars=["quarter", "severity"], var_name="measure", value_name="hours"
    )
    long = long[np.isfinite(long["hours"].to_numpy(dtype=float))]
    if long.empty:
        return []
    grouped = long.groupby(["measure", "severity", "quarter"], sort=True)["hours"].agg(["median", "size"])
    return [
        {"measure": m, "severity": s, "quarter": q, "median_hours": float(med), "n": int(size)}
        for (m, s, q), med, size in zip(grouped.index, grouped["median"], grouped["size"], strict=True)
    ]
