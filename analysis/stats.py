"""Shared statistical intervals for counts and proportions.

Every function is vectorised: counts may be Python numbers or numpy arrays (broadcast together), and the
result is a float or an array of floats. Cells where an interval is undefined (no trials) give NaN, never
an exception, so a table of groups can be processed in one call.

Methods (``confidence`` is two-sided, default 0.95):

- :func:`wilson_interval` -- Wilson score interval for one proportion (Wilson 1927; Newcombe 1998 method 3).
- :func:`clopper_pearson_interval` -- exact binomial interval for one proportion (beta quantiles).
- :func:`newcombe_interval` -- difference of two independent proportions, the hybrid score interval
  built from the two Wilson intervals without continuity correction (Newcombe 1998, method 10).
- :func:`katz_interval` -- ratio of two independent proportions, the Katz log interval
  (Katz et al. 1978), with the Haldane-Anscombe correction (add 0.5 to each count, 1 to each total)
  when a count is zero.
- :func:`poisson_interval` -- exact (Garwood) interval for a Poisson count.
- :func:`excess_interval` -- excess failures over a baseline rate: ``n * (p1 - p0)`` with the Newcombe
  interval of ``p1 - p0`` scaled by ``n``.

Examples
--------
>>> lower, upper = wilson_interval(56, 70)
>>> round(lower, 4), round(upper, 4)
(0.6918, 0.877)
>>> difference, lower, upper = newcombe_interval(56, 70, 48, 80)
>>> round(difference, 4), round(lower, 4), round(upper, 4)
(0.2, 0.0524, 0.3339)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import overload

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special, stats

from analysis.errors import InvalidParameterError

__all__ = [
    "ExcessEstimate",
    "clopper_pearson_interval",
    "excess_interval",
    "katz_interval",
    "newcombe_interval",
    "poisson_interval",
    "rate",
    "wilson_interval",
]

FloatArray = NDArray[np.float64]
"""An array of floats (counts broadcast together, one interval bound per cell)."""
Bound = float | FloatArray
"""An interval bound: a float for scalar counts (or 0-d arrays), an array otherwise."""

_CONFIDENCE_MESSAGE = "confidence must be a number strictly between 0 and 1. Got {!r} instead."
_COUNTS_MESSAGE = "{} must be non-negative counts no larger than their totals. Got {!r} of {!r} instead."


def _z(confidence: float) -> float:
    if isinstance(confidence, bool) or not isinstance(confidence, int | float) or not 0 < confidence < 1:
        raise InvalidParameterError(_CONFIDENCE_MESSAGE.format(confidence))
    return float(special.ndtri(1 - (1 - confidence) / 2))


def _counts(k: ArrayLike, n: ArrayLike, name: str) -> tuple[FloatArray, FloatArray]:
    k_arr = np.asarray(k, dtype=float)
    n_arr = np.asarray(n, dtype=float)
    with np.errstate(invalid="ignore"):
        bad = (k_arr < 0) | (n_arr < 0) | (k_arr > n_arr)
    if np.any(bad) or np.any(np.isnan(k_arr)) or np.any(np.isnan(n_arr)):
        raise InvalidParameterError(_COUNTS_MESSAGE.format(name, k, n))
    return k_arr, n_arr


def _out(value: FloatArray) -> Bound:
    return float(value) if np.ndim(value) == 0 else value


def rate(numerator: ArrayLike, denominator: ArrayLike) -> FloatArray:
    """``numerator / denominator`` where the denominator is positive, NaN elsewhere (no warning).

    Examples
    --------
    >>> rate(np.array([1.0, 2.0]), np.array([4.0, 0.0])).tolist()
    [0.25, nan]
    """
    num = np.asarray(numerator, dtype=float)
    den = np.asarray(denominator, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1), np.nan)


@overload
def wilson_interval(k: float, n: float, *, confidence: float = ...) -> tuple[float, float]: ...
@overload
def wilson_interval(k: ArrayLike, n: ArrayLike, *, confidence: float = ...) -> tuple[Bound, Bound]: ...
def wilson_interval(k: ArrayLike, n: ArrayLike, *, confidence: float = 0.95) -> tuple[Bound, Bound]:
    """Wilson score interval for a binomial proportion ``k / n``.

    Parameters
    ----------
    k : int or array-like
        Number of successes (e.g. failed decisions).
    n : int or array-like
        Number of trials. Where ``n`` is 0 both bounds are NaN.
    confidence : float, default 0.95
        Two-sided confidence level.

    Returns
    -------
    lower, upper : float or ndarray
        The interval bounds, within [0, 1].

    Examples
    --------
    >>> wilson_interval(0, 10)[1].__round__(4)
    0.2775
    >>> lower, upper = wilson_interval([56, 0], [70, 0])
    >>> [round(x, 4) for x in lower.tolist()[:1]], bool(np.isnan(upper[1]))
    ([0.6918], True)
    """
    z = _z(confidence)
    k_arr, n_arr = _counts(k, n, "k")
    with np.errstate(invalid="ignore", divide="ignore"):
        p = np.where(n_arr > 0, k_arr / np.where(n_arr > 0, n_arr, 1), np.nan)
        denominator = 1 + z * z / n_arr
        centre = (p + z * z / (2 * n_arr)) / denominator
        half = z * np.sqrt(p * (1 - p) / n_arr + z * z / (4 * n_arr * n_arr)) / denominator
        lower = np.where(n_arr > 0, np.clip(centre - half, 0.0, 1.0), np.nan)
        upper = np.where(n_arr > 0, np.clip(centre + half, 0.0, 1.0), np.nan)
    # Exact bounds at the edges (the formula gives them up to rounding).
    lower = np.where((n_arr > 0) & (k_arr == 0), 0.0, lower)
    upper = np.where((n_arr > 0) & (k_arr == n_arr), 1.0, upper)
    return _out(lower), _out(upper)


@overload
def clopper_pearson_interval(k: float, n: float, *, confidence: float = ...) -> tuple[float, float]: ...
@overload
def clopper_pearson_interval(
    k: ArrayLike, n: ArrayLike, *, confidence: float = ...
) -> tuple[Bound, Bound]: ...
def clopper_pearson_interval(k: ArrayLike, n: ArrayLike, *, confidence: float = 0.95) -> tuple[Bound, Bound]:
    """Exact (Clopper-Pearson) interval for a binomial proportion ``k / n``.

    Parameters
    ----------
    k : int or array-like
        Number of successes.
    n : int or array-like
        Number of trials. Where ``n`` is 0 both bounds are NaN.
    confidence : float, default 0.95
        Two-sided confidence level.

    Returns
    -------
    lower, upper : float or ndarray
        The interval bounds.

    Examples
    --------
    >>> lower, upper = clopper_pearson_interval(3, 10)
    >>> round(lower, 4), round(upper, 4)
    (0.0667, 0.6525)
    """
    alpha = 1 - confidence
    _z(confidence)
    k_arr, n_arr = _counts(k, n, "k")
    with np.errstate(invalid="ignore", divide="ignore"):
        lower = np.where(k_arr > 0, stats.beta.ppf(alpha / 2, k_arr, n_arr - k_arr + 1), 0.0)
        upper = np.where(k_arr < n_arr, stats.beta.ppf(1 - alpha / 2, k_arr + 1, n_arr - k_arr), 1.0)
    lower = np.where(n_arr > 0, lower, np.nan)
    upper = np.where(n_arr > 0, upper, np.nan)
    return _out(lower), _out(upper)


@overload
def newcombe_interval(
    k1: float, n1: float, k0: float, n0: float, *, confidence: float = ...
) -> tuple[float, float, float]: ...
@overload
def newcombe_interval(
    k1: ArrayLike, n1: ArrayLike, k0: ArrayLike, n0: ArrayLike, *, confidence: float = ...
) -> tuple[Bound, Bound, Bound]: ...
def newcombe_interval(
    k1: ArrayLike, n1: ArrayLike, k0: ArrayLike, n0: ArrayLike, *, confidence: float = 0.95
) -> tuple[Bound, Bound, Bound]:
    """Newcombe's hybrid score interval for the difference of two proportions ``k1/n1 - k0/n0``.

    Method 10 of Newcombe (1998), built from the Wilson intervals of each proportion, without
    continuity correction. NaN where either total is 0.

    Parameters
    ----------
    k1, n1 : int or array-like
        Successes and trials of the first group (e.g. the incident window).
    k0, n0 : int or array-like
        Successes and trials of the second group (e.g. the baseline).
    confidence : float, default 0.95
        Two-sided confidence level.

    Returns
    -------
    difference, lower, upper : float or ndarray
        The point estimate ``p1 - p0`` and its interval.

    Examples
    --------
    Newcombe (1998), table II, example (a): 56/70 vs 48/80.

    >>> [round(x, 4) for x in newcombe_interval(56, 70, 48, 80)]
    [0.2, 0.0524, 0.3339]
    """
    k1_arr, n1_arr = _counts(k1, n1, "k1")
    k0_arr, n0_arr = _counts(k0, n0, "k0")
    l1, u1 = (np.asarray(x, dtype=float) for x in wilson_interval(k1_arr, n1_arr, confidence=confidence))
    l0, u0 = (np.asarray(x, dtype=float) for x in wilson_interval(k0_arr, n0_arr, confidence=confidence))
    with np.errstate(invalid="ignore", divide="ignore"):
        p1 = np.where(n1_arr > 0, k1_arr / np.where(n1_arr > 0, n1_arr, 1), np.nan)
        p0 = np.where(n0_arr > 0, k0_arr / np.where(n0_arr > 0, n0_arr, 1), np.nan)
        difference = p1 - p0
        lower = difference - np.sqrt((p1 - l1) ** 2 + (u0 - p0) ** 2)
        upper = difference + np.sqrt((u1 - p1) ** 2 + (p0 - l0) ** 2)
    return _out(difference), _out(lower), _out(upper)


@overload
def katz_interval(
    k1: float, n1: float, k0: float, n0: float, *, confidence: float = ...
) -> tuple[float, float, float]: ...
@overload
def katz_interval(
    k1: ArrayLike, n1: ArrayLike, k0: ArrayLike, n0: ArrayLike, *, confidence: float = ...
) -> tuple[Bound, Bound, Bound]: ...
def katz_interval(
    k1: ArrayLike, n1: ArrayLike, k0: ArrayLike, n0: ArrayLike, *, confidence: float = 0.95
) -> tuple[Bound, Bound, Bound]:
    """Katz log interval for the ratio of two proportions ``(k1/n1) / (k0/n0)``.

    ``log(ratio) +/- z * sqrt(1/k1 - 1/n1 + 1/k0 - 1/n0)``. When ``k1`` or ``k0`` is 0 the
    Haldane-Anscombe correction is applied to that pair of cells (0.5 added to both counts, 1 to both
    totals) so the interval stays finite; the point estimate is then the corrected ratio too. NaN where
    either total is 0.

    Parameters
    ----------
    k1, n1 : int or array-like
        Successes and trials of the numerator group.
    k0, n0 : int or array-like
        Successes and trials of the denominator (reference) group.
    confidence : float, default 0.95
        Two-sided confidence level.

    Returns
    -------
    ratio, lower, upper : float or ndarray
        The ratio and its interval.

    Examples
    --------
    >>> [round(x, 4) for x in katz_interval(30, 100, 20, 100)]
    [1.5, 0.916, 2.4564]
    """
    z = _z(confidence)
    k1_arr, n1_arr = _counts(k1, n1, "k1")
    k0_arr, n0_arr = _counts(k0, n0, "k0")
    zero = (k1_arr == 0) | (k0_arr == 0)
    a, b = np.where(zero, k1_arr + 0.5, k1_arr), np.where(zero, k0_arr + 0.5, k0_arr)
    m1, m0 = np.where(zero, n1_arr + 1, n1_arr), np.where(zero, n0_arr + 1, n0_arr)
    valid = (n1_arr > 0) & (n0_arr > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = (a / m1) / (b / m0)
        se = np.sqrt(1 / a - 1 / m1 + 1 / b - 1 / m0)
        lower = ratio * np.exp(-z * se)
        upper = ratio * np.exp(z * se)
    nan = np.nan
    return (
        _out(np.where(valid, ratio, nan)),
        _out(np.where(valid, lower, nan)),
        _out(np.where(valid, upper, nan)),
    )


@overload
def poisson_interval(k: float, *, confidence: float = ...) -> tuple[float, float]: ...
@overload
def poisson_interval(k: ArrayLike, *, confidence: float = ...) -> tuple[Bound, Bound]: ...
def poisson_interval(k: ArrayLike, *, confidence: float = 0.95) -> tuple[Bound, Bound]:
    """Exact (Garwood) interval for the mean of a Poisson count ``k``.

    Parameters
    ----------
    k : int or array-like
        Observed count(s), non-negative.
    confidence : float, default 0.95
        Two-sided confidence level.

    Returns
    -------
    lower, upper : float or ndarray
        ``chi2.ppf(alpha/2, 2k)/2`` (0 when ``k`` is 0) and ``chi2.ppf(1-alpha/2, 2k+2)/2``.

    Examples
    --------
    >>> [round(x, 4) for x in poisson_interval(10)]
    [4.7954, 18.3904]
    """
    _z(confidence)
    alpha = 1 - confidence
    k_arr = np.asarray(k, dtype=float)
    if np.any(k_arr < 0) or np.any(np.isnan(k_arr)):
        raise InvalidParameterError(f"k must be non-negative counts. Got {k!r} instead.")
    with np.errstate(invalid="ignore"):
        lower = np.where(k_arr > 0, stats.chi2.ppf(alpha / 2, 2 * k_arr) / 2, 0.0)
    upper = stats.chi2.ppf(1 - alpha / 2, 2 * k_arr + 2) / 2
    return _out(lower), _out(upper)


@dataclass(frozen=True)
class ExcessEstimate:
    """Excess failures over a baseline, with its interval and the method that produced it."""

    estimate: float
    lower: float
    upper: float
    n: float
    confidence: float
    method: str

    def to_dict(self) -> dict[str, float | str | None]:
        """Return ``{estimate, low, high, level, n, method}``, JSON-serialisable (NaN as ``None``)."""

        def clean(value: float) -> float | None:
            return None if value is None or np.isnan(value) else float(value)

        return {
            "estimate": clean(self.estimate),
            "low": clean(self.lower),
            "high": clean(self.upper),
            "level": self.confidence,
            "n": clean(self.n),
            "method": self.method,
        }


EXCESS_METHOD = (
    "excess = n * (p1 - p0), p1 = failures / decided decisions in the window, p0 = the baseline rate; "
    "interval = n * Newcombe (1998, method 10) hybrid score interval of p1 - p0, which combines the "
    "binomial uncertainty of both rates"
)


def excess_interval(
    k1: float, n1: float, k0: float, n0: float, *, n: float | None = None, confidence: float = 0.95
) -> ExcessEstimate:
    """Excess failures over a baseline rate, with an interval.

    ``excess = n * (k1/n1 - k0/n0)``: how many more failures than the baseline rate ``k0/n0`` would have
    produced among ``n`` decisions failing at the observed rate ``k1/n1``. ``n`` defaults to ``n1`` (the
    decided decisions); pass the total number of decisions to extrapolate to those without a label, under
    the assumption that labels are missing at random. The interval is ``n`` times the Newcombe interval
    of the rate difference.

    Parameters
    ----------
    k1, n1 : float
        Failures and decided decisions in the window under study.
    k0, n0 : float
        Failures and decided decisions in the baseline.
    n : float, optional
        Number of decisions to scale to; defaults to ``n1``.
    confidence : float, default 0.95
        Two-sided confidence level.

    Returns
    -------
    ExcessEstimate
        Estimate, bounds, ``n``, confidence and a sentence stating the method.

    Examples
    --------
    >>> excess = excess_interval(56, 70, 48, 80)
    >>> round(excess.estimate, 2), round(excess.lower, 2), round(excess.upper, 2)
    (14.0, 3.67, 23.37)
    """
    scale = float(n1 if n is None else n)
    if scale < 0:
        raise InvalidParameterError(f"n must be non-negative. Got {n!r} instead.")
    difference, lower, upper = newcombe_interval(k1, n1, k0, n0, confidence=confidence)
    return ExcessEstimate(
        estimate=scale * difference,
        lower=scale * lower,
        upper=scale * upper,
        n=scale,
        confidence=confidence,
        method=EXCESS_METHOD,
    )
