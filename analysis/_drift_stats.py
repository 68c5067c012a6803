"""Exact drift statistics computed from per-value counts (private; see :mod:`analysis.drift`).

Every function here takes small aggregates -- sorted distinct values with their reference and current
counts, or bin counts -- and returns the same number scipy returns on the raw rows:

* Kolmogorov-Smirnov: ``D`` as ``scipy.stats.ks_2samp`` computes it (difference of the two empirical CDFs
  evaluated at every observed value, ``cumsum(count) / n``), and its p-value with scipy's own method choice
  (``method="auto"``: exact when ``max(n1, n2) <= 10_000`` -- rebuilt rows are passed to
  ``scipy.stats.ks_2samp`` itself, which only depends on the sorted values -- otherwise
  ``scipy.stats.kstwo.sf(D, round(n1 * n2 / (n1 + n2)))`` as in scipy's asymptotic branch).
* Wasserstein-1 (``scipy.stats.wasserstein_distance``): ``sum |F_ref(x_i) - F_cur(x_i)| * (x_{i+1} - x_i)``
  over the distinct values, the same integral scipy evaluates over all rows (ties add zero-width terms).
* Chi-square goodness of fit (``scipy.stats.chisquare``), z-test for two proportions, Jensen-Shannon
  (``scipy.spatial.distance.jensenshannon``), PSI and Benjamini-Hochberg.

Evidently 0.7 (``src/evidently/legacy/calculations/stattests/``) is mirrored function by function; each
docstring names the file it follows.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import special, stats
from scipy.spatial import distance

__all__ = [
    "KS_EXACT_MAX_N",
    "benjamini_hochberg",
    "chisquare_gof",
    "chisquare_homogeneity",
    "evidently_binned_shares",
    "jensenshannon_distance",
    "ks_from_counts",
    "ks_pvalue",
    "ks_pvalue_kolmogorov",
    "psi_from_counts",
    "psi_evidently",
    "sturges_edges",
    "wasserstein_from_counts",
    "z_test_two_proportions",
]

#: scipy's ``ks_2samp(method="auto")`` uses the exact distribution up to this sample size (``MAX_AUTO_N``).
KS_EXACT_MAX_N = 10_000

#: PSI replaces an empty bin share by this value (frozen-edge PSI; Evidently uses its own rule, see below).
PSI_EPSILON = 1e-4


def _as_counts(counts: Sequence[float] | np.ndarray) -> np.ndarray:
    return np.asarray(counts, dtype=np.float64)


def ks_from_counts(ref_counts: np.ndarray, cur_counts: np.ndarray) -> float:
    """Two-sided KS statistic ``D`` from counts per sorted distinct value.

    Parameters
    ----------
    ref_counts, cur_counts : ndarray
        Counts of each distinct value (sorted ascending, union of both samples) in reference and current.

    Returns
    -------
    float
        ``max |F_ref - F_cur|``, computed as ``scipy.stats.ks_2samp`` does (``cdf = cumsum / n``).

    Examples
    --------
    >>> ks_from_counts(np.array([2, 1, 0]), np.array([0, 1, 2]))
    0.6666666666666667
    """
    ref = np.asarray(ref_counts, dtype=np.int64)
    cur = np.asarray(cur_counts, dtype=np.int64)
    n_ref, n_cur = int(ref.sum()), int(cur.sum())
    cdf_diff = np.cumsum(ref) / n_ref - np.cumsum(cur) / n_cur
    # scipy: minS = clip(-min(cddiffs), 0, 1); maxS = max(cddiffs); d = max(minS, maxS)
    min_s = float(np.clip(-np.min(cdf_diff), 0, 1))
    max_s = float(np.max(cdf_diff))
    return max(min_s, max_s)


def ks_pvalue(
    d: float,
    n_ref: int,
    n_cur: int,
    *,
    values: np.ndarray | None = None,
    ref_counts: np.ndarray | None = None,
    cur_counts: np.ndarray | None = None,
) -> float:
    """Two-sided KS p-value with scipy's ``method="auto"`` choice.

    When ``max(n_ref, n_cur) <= 10_000`` scipy uses the exact distribution; its implementation is private,
    so the rows are rebuilt from the per-value counts (``np.repeat``; at most 20,000 values) and
    ``scipy.stats.ks_2samp`` itself is called: the result only depends on the sorted values, so it is the
    number scipy returns on the raw rows. Otherwise scipy's asymptotic branch is reproduced:
    ``kstwo.sf(D, round(n_ref * n_cur / (n_ref + n_cur)))`` clipped to [0, 1].

    Examples
    --------
    >>> round(ks_pvalue(0.5, 20_000, 20_000), 6)
    0.0
    """
    if max(n_ref, n_cur) <= KS_EXACT_MAX_N and values is not None:
        ref_rows = np.repeat(values, np.asarray(ref_counts, dtype=np.int64))
        cur_rows = np.repeat(values, np.asarray(cur_counts, dtype=np.int64))
        return float(stats.ks_2samp(ref_rows, cur_rows).pvalue)
    en = n_ref * n_cur / (n_ref + n_cur)
    return float(np.clip(stats.kstwo.sf(d, np.round(en)), 0, 1))


def ks_pvalue_kolmogorov(d: float, n_ref: int, n_cur: int) -> float:
    """Two-sided KS p-value from the limiting Kolmogorov distribution, ``kolmogorov(D sqrt(en))``.

    ``en = n_ref n_cur / (n_ref + n_cur)``. Cheap at any size; slightly conservative against scipy's
    ``kstwo.sf(D, round(en))`` (0.1-0.5 % larger p at en = 500k).

    Examples
    --------
    >>> round(ks_pvalue_kolmogorov(0.003, 974_000, 974_000), 7)
    0.0003119
    """
    en = n_ref * n_cur / (n_ref + n_cur)
    return float(np.clip(special.kolmogorov(d * np.sqrt(en)), 0, 1))


def wasserstein_from_counts(values: np.ndarray, ref_counts: np.ndarray, cur_counts: np.ndarray) -> float:
    """Wasserstein-1 distance from counts per sorted distinct value (``scipy.stats.wasserstein_distance``).

    Examples
    --------
    >>> wasserstein_from_counts(np.array([0.0, 1.0, 3.0]), np.array([1, 1, 0]), np.array([0, 1, 1]))
    1.5
    """
    vals = np.asarray(values, dtype=np.float64)
    if vals.size < 2:
        return 0.0
    ref = np.asarray(ref_counts, dtype=np.int64)
    cur = np.asarray(cur_counts, dtype=np.int64)
    cdf_ref = np.cumsum(ref)[:-1] / ref.sum()
    cdf_cur = np.cumsum(cur)[:-1] / cur.sum()
    return float(np.sum(np.multiply(np.abs(cdf_ref - cdf_cur), np.diff(vals))))


def chisquare_gof(ref_counts: np.ndarray, cur_counts: np.ndarray) -> tuple[float, float]:
    """Chi-square goodness of fit of current counts to the reference shares, as Evidently runs it.

    Mirrors ``chisquare_stattest._chi_stat_test``: expected = reference count x (n_cur / n_ref),
    ``scipy.stats.chisquare(f_obs, f_exp)``; a category absent from the reference gives an infinite
    statistic and p = 0 (scipy's own arithmetic). Returns ``(statistic, p_value)``.

    Examples
    --------
    >>> statistic, p_value = chisquare_gof(np.array([50, 50]), np.array([60, 40]))
    >>> round(statistic, 6), round(p_value, 6)
    (4.0, 0.0455)
    """
    ref = _as_counts(ref_counts)
    cur = _as_counts(cur_counts)
    k_norm = cur.sum() / ref.sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        result = stats.chisquare(cur, ref * k_norm)
    return float(result.statistic), float(result.pvalue)


def chisquare_homogeneity(ref_counts: np.ndarray, cur_counts: np.ndarray) -> float:
    """P-value of the chi-square test of homogeneity of a 2 x k table (``scipy.stats.chi2_contingency``).

    Used as the two-sample p-value reported beside a distance test (and in Benjamini-Hochberg) for
    categorical columns; categories empty in both samples are dropped first.

    Examples
    --------
    >>> round(chisquare_homogeneity(np.array([50, 50]), np.array([50, 50])), 6)
    1.0
    """
    table = np.vstack([_as_counts(ref_counts), _as_counts(cur_counts)])
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2:
        return 1.0
    return float(stats.chi2_contingency(table, correction=False).pvalue)


def z_test_two_proportions(
    values: Sequence[Any], ref_counts: np.ndarray, cur_counts: np.ndarray
) -> tuple[float, float]:
    """Z-test for two proportions as Evidently's ``z_stattest._z_stat_test`` computes it.

    The first of the sorted distinct values is coded 0, every other value 1; pooled standard error;
    two-sided p-value ``2 * (1 - norm.cdf(|z|))`` (Evidently's formula, not ``norm.sf``). When both samples
    hold the same single value the p-value is 1. Returns ``(z, p_value)``.

    Examples
    --------
    >>> z, p_value = z_test_two_proportions([0, 1], np.array([50, 50]), np.array([50, 50]))
    >>> z, p_value
    (0.0, 1.0)
    """
    ref = _as_counts(ref_counts)
    cur = _as_counts(cur_counts)
    ref_present = ref > 0
    cur_present = cur > 0
    if ref_present.sum() == 1 and cur_present.sum() == 1 and np.array_equal(ref_present, cur_present):
        return 0.0, 1.0
    order = sorted(range(len(values)), key=lambda i: values[i])
    first = order[0]
    n1, n2 = ref.sum(), cur.sum()
    p1 = float(n1 - ref[first]) / n1
    p2 = float(n2 - cur[first]) / n2
    pooled = float(p1 * n1 + p2 * n2) / (n1 + n2)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (p1 - p2) / np.sqrt(pooled * (1 - pooled) * (1.0 / n1 + 1.0 / n2))
    p_value = 2 * (1 - stats.norm.cdf(np.abs(z)))
    return float(z), float(p_value)


def jensenshannon_distance(
    ref_shares: np.ndarray, cur_shares: np.ndarray, *, base: float | None = None
) -> float:
    """Jensen-Shannon distance (``scipy.spatial.distance.jensenshannon``; natural log by default).

    Examples
    --------
    >>> jensenshannon_distance(np.array([0.5, 0.5]), np.array([0.5, 0.5]))
    0.0
    """
    return float(distance.jensenshannon(_as_counts(ref_shares), _as_counts(cur_shares), base))


def sturges_edges(minimum: float, maximum: float, n: int) -> np.ndarray:
    """Bin edges of ``np.histogram_bin_edges(data, bins="sturges")`` from the data's min, max and size.

    Examples
    --------
    >>> sturges_edges(0.0, 1.0, 8)
    array([0.  , 0.25, 0.5 , 0.75, 1.  ])
    """
    # numpy: width = ptp / (log2(n) + 1); n_bins = ceil(ptp / width); edges = linspace(first, last, n+1)
    first, last = float(minimum), float(maximum)
    if first == last:
        first, last = first - 0.5, last + 0.5
    ptp = float(maximum) - float(minimum)
    if ptp == 0:
        n_bins = 1
    else:
        width = ptp / (np.log2(n) + 1.0)
        n_bins = max(1, int(np.ceil(ptp / width)))
    return np.linspace(first, last, n_bins + 1, endpoint=True)


def _fill_zeroes(shares: np.ndarray) -> np.ndarray:
    # Evidently ``utils.get_binned_data(feel_zeroes=True)``
    out = shares.copy()
    nonzero = out[out != 0]
    smallest = float(np.min(nonzero))
    np.place(out, out == 0, smallest / 10**6 if smallest <= 0.0001 else 0.0001)
    return out


def evidently_binned_shares(
    ref_counts: np.ndarray, cur_counts: np.ndarray, *, fill_zeroes: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Shares per key/bin as Evidently's ``utils.get_binned_data`` returns them.

    ``ref_counts``/``cur_counts`` are counts per distinct value (categorical, or numeric with at most 20
    reference values) or per Sturges bin of reference and current together (numeric with more than 20
    distinct reference values). ``fill_zeroes`` replaces empty shares as Evidently does for PSI.

    Examples
    --------
    >>> evidently_binned_shares(np.array([1, 3]), np.array([2, 2]), fill_zeroes=False)
    (array([0.25, 0.75]), array([0.5, 0.5]))
    """
    ref = _as_counts(ref_counts)
    cur = _as_counts(cur_counts)
    ref_shares = ref / ref.sum()
    cur_shares = cur / cur.sum()
    if fill_zeroes:
        ref_shares, cur_shares = _fill_zeroes(ref_shares), _fill_zeroes(cur_shares)
    return ref_shares, cur_shares


def psi_evidently(ref_counts: np.ndarray, cur_counts: np.ndarray) -> float:
    """PSI as Evidently's ``psi._psi`` computes it (shares with Evidently's zero filling).

    Examples
    --------
    >>> round(psi_evidently(np.array([50, 50]), np.array([50, 50])), 6)
    0.0
    """
    ref_shares, cur_shares = evidently_binned_shares(ref_counts, cur_counts, fill_zeroes=True)
    return float(np.sum((ref_shares - cur_shares) * np.log(ref_shares / cur_shares)))


def psi_from_counts(ref_counts: np.ndarray, cur_counts: np.ndarray, *, epsilon: float = PSI_EPSILON) -> float:
    """Population stability index on frozen reference bins.

    ``PSI = sum (p_cur - p_ref) * ln(p_cur / p_ref)`` over bins fixed from the reference only (quantile
    edges with open outer bins, or reference categories plus one bin for unseen ones). An empty share is
    replaced by ``epsilon`` (default 1e-4) before the logarithm. Unlike Evidently's PSI, the bins do not
    move with the current data, so PSI values of different windows are comparable.

    Examples
    --------
    >>> p_ref = np.array([25, 25, 25, 25])
    >>> p_cur = np.array([10, 20, 30, 40])
    >>> round(psi_from_counts(p_ref, p_cur), 6)
    0.228217
    """
    ref = _as_counts(ref_counts)
    cur = _as_counts(cur_counts)
    ref_shares = np.where(ref > 0, ref / ref.sum(), epsilon)
    cur_shares = np.where(cur > 0, cur / cur.sum(), epsilon)
    return float(np.sum((cur_shares - ref_shares) * np.log(cur_shares / ref_shares)))


def benjamini_hochberg(p_values: Sequence[float | None]) -> list[float | None]:
    """Benjamini-Hochberg adjusted p-values (q-values); ``None`` entries are skipped and stay ``None``.

    Matches ``scipy.stats.false_discovery_control(p, method="bh")``.

    Examples
    --------
    >>> benjamini_hochberg([0.01, None, 0.04, 0.03])
    [0.03, None, 0.04, 0.04]
    """
    index = [i for i, p in enumerate(p_values) if p is not None and not math.isnan(p)]
    out: list[float | None] = [None] * len(p_values)
    if not index:
        return out
    p = np.array([p_values[i] for i in index], dtype=np.float64)
    m = p.size
    order = np.argsort(p)
    ranked = p[order] * m / np.arange(1, m + 1)
    adjusted_sorted = np.minimum.accumulate(ranked[::-1])[::-1]
    adjusted = np.empty(m)
    adjusted[order] = np.clip(adjusted_sorted, 0, 1)
    for position, i in enumerate(index):
        out[i] = float(adjusted[position])
    return out
