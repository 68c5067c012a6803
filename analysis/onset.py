"""Onsets: when a change began. Two rules, each for its question, each decided only here.

A *change point* (where did the level of a series move?) for failures, fairness gaps and input shifts; a
*confirmed crossing* (from when is a statistic past its normal range?) for drift and data-quality runs.
Every onset the drift analysis reports -- a column's onset in the drift summary and timeline, the onset the
drift-over-time figure marks, the windowed drift's onset and an upstream input's staleness onset -- is
decided here, so that a table and a figure never disagree about the day a change began.

- :func:`normal_upper_bound` -- the top of a per-chunk statistic's normal range: the median of the
  reference chunks plus 3 scaled median absolute deviations (``1.4826 * MAD`` estimates the standard
  deviation of normal data), or the largest reference value when the deviation is 0. Unlike mean + 3 sd
  it is not inflated by one unusual reference chunk.
- :func:`confirmed_onset` -- the first chunk past a bound that the next chunk confirms; a run that
  reaches the last chunk counts, unless that chunk is cut by the window's end.
- :func:`column_onset` / :func:`column_onsets` -- per column of a windowed chunks frame (see
  :class:`analysis.drift.WindowedDriftResult`): the bound, whether the shift is sustained (the median of
  the current chunks past the bound), and the onset -- the first current chunk past the bound that the next
  one confirms. A drift can come in stages (a small shift, then a large one): the crossing marks the first
  departure, where a single change point marks the largest step (measured: the same day on the planted
  covariate drift's features; the change point is 1-4 days closer for a score that drifts slowly).
- :func:`binomial_onset`, :func:`gaussian_onset`, :func:`binomial_change_points` -- the change-point rule
  shared by the root-cause analysis (failures, input shifts) and the fairness gap: the most likely change
  with a credible interval and the evidence for it; several changes by PELT.
- :func:`confirmed_onset` also decides where a *run of findings* starts in data quality checks and the
  input-freshness lag, which compare a chunk with a threshold rather than locate a change.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd

from analysis.errors import InvalidParameterError

__all__ = [
    "CONFIRM_CHUNKS",
    "MAD_SCALE",
    "N_DEVIATIONS",
    "ColumnOnset",
    "column_onset",
    "column_onsets",
    "confirmed_onset",
    "normal_upper_bound",
    "onset_in_chunks",
    "reference_statistics",
    "statistic_errors",
    "JEFFREYS",
    "Onset",
    "binomial_change_points",
    "binomial_onset",
    "gaussian_onset",
]

#: Scale that turns a median absolute deviation into an estimate of the standard deviation (normal data).
MAD_SCALE = 1.4826
#: Scaled deviations above the reference median where the normal range ends.
N_DEVIATIONS = 3
#: Consecutive chunks past the bound that make an onset (one noisy chunk is not an onset).
CONFIRM_CHUNKS = 2


def normal_upper_bound(reference_values: Iterable[float]) -> float | None:
    """Top of the normal range of a per-chunk statistic: median + 3 * 1.4826 * MAD, or the max if MAD is 0.

    Parameters
    ----------
    reference_values : iterable of float
        The statistic of the reference chunks (NaN values are ignored).

    Returns
    -------
    float or None
        The bound; None when there is no reference value.

    Examples
    --------
    >>> round(normal_upper_bound([0.10, 0.11, 0.09, 0.10, 0.12, 0.60]), 4)  # one odd day barely moves it
    0.1495
    >>> normal_upper_bound([0.2, 0.2, 0.2, 0.3])  # MAD 0: the largest reference value
    0.3
    >>> normal_upper_bound([float("nan")]) is None
    True
    """
    values = np.asarray(list(reference_values), dtype=float)
    values = values[~np.isnan(values)]
    if values.size == 0:
        return None
    median = float(np.median(values))
    spread = MAD_SCALE * float(np.median(np.abs(values - median)))
    return median + N_DEVIATIONS * spread if spread > 0 else float(values.max())


def confirmed_onset(
    starts: Sequence[object],
    statistics: Sequence[float],
    threshold: float,
    confirm_chunks: int = CONFIRM_CHUNKS,
    *,
    last_complete: bool = True,
) -> pd.Timestamp:
    """First chunk of the first run of ``confirm_chunks`` chunks past ``threshold``; ``NaT`` when none.

    ``starts``/``statistics`` are the current chunks in time order. Chunks without a statistic (NaN: no
    values that day) are skipped, not counted as below the threshold; a run may span such a gap. A run
    that reaches the last chunk counts however short -- the latest data cannot be confirmed yet -- unless
    that chunk is cut by the window's end (``last_complete=False``): part of a day is not comparable.

    Examples
    --------
    >>> days = pd.date_range("2026-01-01", periods=6, freq="D", tz="UTC")
    >>> confirmed_onset(days, [0.0, 0.9, 0.0, 0.9, 0.9, 0.0], 0.5, 2).day
    4
    >>> confirmed_onset(days, [0.0, 0.9, float("nan"), 0.9, 0.0, 0.0], 0.5, 2).day
    2
    >>> confirmed_onset(days, [0.0] * 5 + [0.9], 0.5, 2).day
    6
    >>> confirmed_onset(days, [0.0] * 5 + [0.9], 0.5, 2, last_complete=False)
    NaT
    """
    values = np.asarray(statistics, dtype=float)
    keep = ~np.isnan(values)
    kept_starts = [start for start, kept in zip(starts, keep, strict=True) if kept]
    past = values[keep] > threshold
    run = 0
    for index, is_past in enumerate(past):
        run = run + 1 if is_past else 0
        last = index + 1 == len(past)
        if run and (run >= confirm_chunks or (last and last_complete)):
            return pd.Timestamp(kept_starts[index - run + 1])
    return pd.NaT


def onset_in_chunks(
    chunks: pd.DataFrame,
    bound: float,
    *,
    value: str = "statistic",
    confirm_chunks: int = CONFIRM_CHUNKS,
) -> datetime | None:
    """:func:`confirmed_onset` over the rows of a chunks frame (``chunk_start``, ``value``, ``complete``).

    Rows without a value are dropped first; the rows are put in time order; whether the last chunk is cut
    by the window's end is read from its ``complete`` column (a frame without one counts as complete).

    Examples
    --------
    >>> days = pd.date_range("2026-01-01", periods=4, freq="D", tz="UTC")
    >>> frame = pd.DataFrame({"chunk_start": days, "statistic": [0.1, 0.1, 0.1, 0.9],
    ...                       "complete": [True, True, True, False]})
    >>> onset_in_chunks(frame, 0.5) is None, onset_in_chunks(frame.iloc[:3], 0.05).day
    (True, 1)
    """
    rows = chunks.dropna(subset=[value]).sort_values("chunk_start", kind="stable")
    if rows.empty:
        return None
    last_complete = bool(rows["complete"].iloc[-1]) if "complete" in rows else True
    onset = confirmed_onset(
        pd.to_datetime(rows["chunk_start"], utc=True).to_list(),
        rows[value].astype(float).to_list(),
        bound,
        confirm_chunks,
        last_complete=last_complete,
    )
    return None if pd.isna(onset) else onset.to_pydatetime()


def reference_statistics(chunks: pd.DataFrame, *, value: str = "statistic") -> pd.Series:
    """The statistic of the reference chunks that define the normal range.

    Complete reference chunks only: a chunk cut by a window edge holds part of a cycle, and its statistic
    is not comparable. With no complete reference chunk at all, every reference chunk is used.
    """
    rows = chunks.loc[chunks["is_reference"].astype(bool)]
    if "complete" in rows and rows["complete"].any():
        rows = rows.loc[rows["complete"].astype(bool)]
    return rows[value].dropna().astype(float)


@dataclass(frozen=True)
class ColumnOnset:
    """Normal range, sustained shift and onset of one column's per-chunk statistic.

    ``upper`` is :func:`normal_upper_bound` of the reference chunks (None without reference chunks);
    ``sustained`` whether the median statistic of the current window's chunks lies past it; ``onset`` the
    first current chunk past it that the next one confirms, given only for a sustained shift.
    """

    column: str
    upper: float | None
    sustained: bool
    onset: datetime | None


def column_onset(
    chunks: pd.DataFrame,
    column: str,
    *,
    current_start: datetime | None = None,
    confirm_chunks: int = CONFIRM_CHUNKS,
) -> ColumnOnset:
    """Bound, sustained shift and onset of one column of a windowed chunks frame.

    Parameters
    ----------
    chunks : pandas.DataFrame
        Per-chunk statistics (``column``, ``chunk_start``, ``is_reference``, ``complete``, ``statistic``),
        as :attr:`analysis.drift.WindowedDriftResult.chunks`.
    column : str
        The column.
    current_start : datetime, optional
        Start of the window whose chunks decide whether the shift is sustained (floored to the day); the
        chunks before it (between the reference and that window) still count for the onset, which may
        precede the window. Default: every current chunk.
    confirm_chunks : int
        Consecutive chunks past the bound that make an onset.

    Returns
    -------
    ColumnOnset

    Examples
    --------
    >>> days = pd.date_range("2026-01-01", periods=14, freq="D", tz="UTC")
    >>> statistic = [0.10, 0.12, 0.11, 0.60, 0.10, 0.11, 0.12, 0.10, 0.11, 0.12, 0.30, 0.30, 0.30, 0.31]
    >>> frame = pd.DataFrame({"column": "x", "chunk_start": days, "statistic": statistic,
    ...                       "is_reference": [True] * 8 + [False] * 6, "complete": True})
    >>> result = column_onset(frame, "x")
    >>> round(result.upper, 3), result.sustained, result.onset.day
    (0.154, True, 11)
    """
    mine = chunks.loc[chunks["column"] == column]
    upper = normal_upper_bound(reference_statistics(mine))
    current_rows = mine.loc[~mine["is_reference"].astype(bool)].dropna(subset=["statistic"])
    if upper is None or current_rows.empty:
        return ColumnOnset(column, upper, False, None)
    inside = current_rows
    if current_start is not None:
        starts = pd.to_datetime(current_rows["chunk_start"], utc=True)
        inside = current_rows.loc[starts >= pd.Timestamp(current_start).floor("D")]
        if inside.empty:
            inside = current_rows
    sustained = float(inside["statistic"].median()) > upper
    if not sustained:
        return ColumnOnset(column, upper, False, None)
    return ColumnOnset(
        column, upper, True, onset_in_chunks(current_rows, upper, confirm_chunks=confirm_chunks)
    )


def statistic_errors(values: np.ndarray, reference: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Standard errors of a per-chunk statistic (a divergence, a drift statistic) for :func:`gaussian_onset`.

    The statistic has no closed-form error: the reference chunks show how much it moves by chance, so each
    chunk's error is their robust spread (1.4826 MAD, else their standard deviation) scaled by
    ``sqrt(median reference n / n)``.

    Examples
    --------
    >>> statistic_errors(np.array([0.1, 0.12, 0.11, 0.5]), np.array([True, True, True, False]),
    ...                  np.array([100.0, 100.0, 100.0, 400.0])).round(4).tolist()
    [0.0148, 0.0148, 0.0148, 0.0074]
    """
    base = values[reference]
    spread = MAD_SCALE * float(np.median(np.abs(base - np.median(base)))) or float(np.std(base))
    if not spread:
        spread = float(np.abs(base).max()) * 0.01 or 1e-9
    return spread * np.sqrt(float(np.median(n[reference])) / np.maximum(n, 1.0))


def column_onsets(
    chunks: pd.DataFrame,
    *,
    current_start: datetime | None = None,
    confirm_chunks: int = CONFIRM_CHUNKS,
) -> dict[str, ColumnOnset]:
    """:func:`column_onset` of every column of a windowed chunks frame, in order of appearance."""
    return {
        str(column): column_onset(
            chunks, str(column), current_start=current_start, confirm_chunks=confirm_chunks
        )
        for column in pd.unique(chunks["column"])
    }


# --------------------------------------------------------------------------------------------------
# Change points: the onset with a credible interval (binomial counts, or a statistic with its error)
# --------------------------------------------------------------------------------------------------

#: Jeffreys prior of a segment's rate in :func:`binomial_onset` (Beta(1/2, 1/2)).
JEFFREYS = 0.5


@dataclass(frozen=True)
class Onset:
    """The most likely single change in a series, with a credible interval and the evidence for it.

    ``index`` is the first chunk after the change (an index into the arrays given); ``low``/``high`` the
    credible interval of that index at ``level`` (inclusive); ``posterior`` the posterior probability of
    each chunk being the first after the change (0 where it cannot be); ``before``/``after`` the rate (or
    mean) on each side of ``index``; ``log_bayes_factor`` the log marginal-likelihood ratio of one change
    (anywhere allowed) against none -- above 3 (about 20 to 1) is strong evidence that a change happened.
    """

    index: int
    low: int
    high: int
    level: float
    posterior: np.ndarray
    before: float
    after: float
    log_bayes_factor: float

    @property
    def direction(self) -> str:
        """``up`` when the series is higher after the change, else ``down``."""
        return "up" if self.after > self.before else "down"


def _credible_span(posterior: np.ndarray, level: float) -> tuple[int, int]:
    """The span (first to last index) of the highest-posterior set holding ``level`` of the mass.

    The highest-posterior set can have holes (two separated likely places); its span is reported, which
    only widens the interval.
    """
    order = np.argsort(posterior, kind="stable")[::-1]
    mass = np.cumsum(posterior[order])
    kept = order[: int(np.searchsorted(mass, level * mass[-1])) + 1]
    return int(kept.min()), int(kept.max())


def _check_level(level: float) -> None:
    if not 0 < level < 1:
        raise InvalidParameterError(f"level must be between 0 and 1. Got {level!r} instead.")


def _splits(keep: np.ndarray, first: int, min_segment: int) -> np.ndarray:
    """Candidate first-after-change indices: >= ``first``, >= ``min_segment`` usable chunks each side."""
    usable = np.cumsum(keep)
    total = usable[-1] if usable.size else 0
    index = np.arange(1, keep.size)
    before = usable[index - 1]
    return index[(index >= first) & (before >= min_segment) & (total - before >= min_segment) & keep[index]]


def _posterior_onset(
    index: np.ndarray, log_marginal: np.ndarray, log_null: float, profile: np.ndarray, size: int, level: float
) -> tuple[int, int, int, np.ndarray, float]:
    top = float(log_marginal.max())
    weights = np.exp(log_marginal - top)
    posterior = np.zeros(size)
    posterior[index] = weights / weights.sum()
    log_bayes_factor = top + float(np.log(weights.mean())) - log_null
    best = int(index[int(np.argmax(profile))])
    low, high = _credible_span(posterior, level)
    return best, min(low, best), max(high, best), posterior, log_bayes_factor


def binomial_onset(
    n: Sequence[float] | np.ndarray,
    failures: Sequence[float] | np.ndarray,
    *,
    level: float = 0.95,
    min_segment: int = 1,
    first: int = 0,
) -> Onset | None:
    """The single most likely change of a binomial rate, with its credible interval, or ``None``.

    The estimate maximises the profile likelihood ``sum k log p + (n - k) log(1 - p)`` of a rate before
    and a rate after, exactly over every split, from cumulative sums. The interval comes from the
    posterior over the split (uniform prior over the allowed splits), each split weighted by the
    Beta-Binomial marginal likelihood of its two segments under Jeffreys priors,
    ``B(k + 1/2, n - k + 1/2) / B(1/2, 1/2)`` per segment. ``log_bayes_factor`` compares one change with a
    single rate throughout. Chunks with ``n == 0`` carry no evidence and cannot be the first after the
    change; counts need not be integers (divide both by an overdispersion factor for a quasi-likelihood).

    Parameters
    ----------
    n, failures : array-like
        Trials and failures per chunk, in time order.
    level : float
        Credible level of the interval.
    min_segment : int
        Chunks with data each side of the change at least.
    first : int
        Earliest index the change may fall at (the chunks before it can only be "before").

    Returns
    -------
    Onset or None
        ``None`` with no allowed split (fewer than two chunks with data).

    Examples
    --------
    >>> onset = binomial_onset([100] * 10, [5, 4, 6, 5, 5, 15, 14, 16, 15, 15])
    >>> onset.index, (onset.low, onset.high), onset.direction, round(onset.before, 3)
    (5, (5, 5), 'up', 0.05)
    >>> round(onset.log_bayes_factor, 1), round(binomial_onset([100] * 10, [5] * 10).log_bayes_factor, 1)
    (9.3, -2.8)
    >>> binomial_onset([0, 10], [0, 1]) is None
    True
    """
    from scipy.special import betaln, xlogy

    _check_level(level)
    trials, hits = np.asarray(n, dtype=float), np.asarray(failures, dtype=float)
    if trials.shape != hits.shape or trials.ndim != 1:
        raise InvalidParameterError(
            f"n and failures must be 1-d and of one length. Got shapes {trials.shape} and {hits.shape}."
        )
    invalid = np.isnan(trials) | np.isnan(hits) | (trials < 0) | (hits < 0) | (hits > trials)
    if invalid.any():
        raise InvalidParameterError(
            "failures must lie between 0 and n in every chunk (no NaN). "
            f"Got n={trials[invalid][0]!r}, failures={hits[invalid][0]!r} instead."
        )
    keep = trials > 0
    index = _splits(keep, first, max(min_segment, 1))
    if index.size == 0:
        return None
    cn, ck = np.cumsum(trials), np.cumsum(hits)
    left_n, left_k = cn[index - 1], ck[index - 1]
    right_n, right_k = cn[-1] - left_n, ck[-1] - left_k

    def loglik(k: np.ndarray, m: np.ndarray) -> np.ndarray:
        return xlogy(k, k / m) + xlogy(m - k, (m - k) / m)

    profile = loglik(left_k, left_n) + loglik(right_k, right_n)
    prior = betaln(JEFFREYS, JEFFREYS)
    log_marginal = (
        betaln(left_k + JEFFREYS, left_n - left_k + JEFFREYS)
        + betaln(right_k + JEFFREYS, right_n - right_k + JEFFREYS)
        - 2 * prior
    )
    log_null = float(betaln(ck[-1] + JEFFREYS, cn[-1] - ck[-1] + JEFFREYS) - prior)
    best, low, high, posterior, log_bayes_factor = _posterior_onset(
        index, log_marginal, log_null, profile, trials.size, level
    )
    before = ck[best - 1] / cn[best - 1]
    after = (ck[-1] - ck[best - 1]) / (cn[-1] - cn[best - 1])
    return Onset(best, low, high, level, posterior, float(before), float(after), float(log_bayes_factor))


def _normal_segment(w: np.ndarray, wx: np.ndarray, wxx: np.ndarray, mean: float, spread: float) -> np.ndarray:
    """Log marginal likelihood of segments with a mean ~ N(mean, spread**2), up to a shared constant."""
    centre = wx / w
    rss = wxx - wx * centre
    shrink = 1 + spread**2 * w
    return -0.5 * rss - 0.5 * np.log(shrink) - 0.5 * w * (centre - mean) ** 2 / shrink


def gaussian_onset(
    values: Sequence[float] | np.ndarray,
    standard_errors: Sequence[float] | np.ndarray,
    *,
    level: float = 0.95,
    first: int = 0,
    min_segment: int = 1,
) -> Onset | None:
    """The single most likely change of a statistic with known standard errors, or ``None``.

    The estimate minimises the precision-weighted squared error of a level before and a level after,
    exactly over every split (the Gaussian profile likelihood). The interval comes from the posterior over
    the split (uniform prior), each segment's level integrated out under a normal prior centred on the
    series' weighted mean with the series' weighted spread as its standard deviation (a broad, proper
    prior, so that ``log_bayes_factor`` against a single level is defined). Chunks with a NaN value or a
    standard error that is NaN or not positive are skipped.

    Examples
    --------
    >>> onset = gaussian_onset([0.0, 0.1, -0.1, 0.0, -0.2, -0.3, -0.2, -0.25], [0.05] * 8)
    >>> onset.index, onset.direction
    (4, 'down')
    >>> gaussian_onset([float("nan"), 1.0], [1.0, 1.0]) is None
    True
    """
    _check_level(level)
    x, se = np.asarray(values, dtype=float), np.asarray(standard_errors, dtype=float)
    if x.shape != se.shape or x.ndim != 1:
        raise InvalidParameterError(
            f"values and standard_errors must be 1-d and of one length. Got shapes {x.shape} and {se.shape}."
        )
    keep = ~np.isnan(x) & ~np.isnan(se) & (se > 0)
    index = _splits(keep, first, max(min_segment, 1))
    if index.size == 0:
        return None
    w = np.where(keep, 1 / np.where(keep, se, 1.0) ** 2, 0.0)
    xs = np.where(keep, x, 0.0)
    cw, cwx, cwxx = np.cumsum(w), np.cumsum(w * xs), np.cumsum(w * xs * xs)
    mean = cwx[-1] / cw[-1]
    spread = float(np.sqrt(max(cwxx[-1] / cw[-1] - mean**2, 0.0))) or float(np.median(se[keep]))
    left = (cw[index - 1], cwx[index - 1], cwxx[index - 1])
    right = (cw[-1] - left[0], cwx[-1] - left[1], cwxx[-1] - left[2])
    profile = -((left[2] - left[1] ** 2 / left[0]) + (right[2] - right[1] ** 2 / right[0]))
    log_marginal = _normal_segment(*left, mean, spread) + _normal_segment(*right, mean, spread)
    log_null = float(_normal_segment(cw[-1:], cwx[-1:], cwxx[-1:], mean, spread)[0])
    best, low, high, posterior, log_bayes_factor = _posterior_onset(
        index, log_marginal, log_null, profile, x.size, level
    )
    before = cwx[best - 1] / cw[best - 1]
    after = (cwx[-1] - cwx[best - 1]) / (cw[-1] - cw[best - 1])
    return Onset(best, low, high, level, posterior, float(before), float(after), float(log_bayes_factor))


def _binomial_cost(cn: np.ndarray, ck: np.ndarray, start: np.ndarray, end: int) -> np.ndarray:
    """-2 x the maximised binomial log-likelihood of the segments [start, end) (vectorised over start)."""
    from scipy.special import xlogy

    n = cn[end] - cn[start]
    k = ck[end] - ck[start]
    with np.errstate(divide="ignore", invalid="ignore"):
        safe = np.where(n > 0, n, 1)
        loglik = np.where(n > 0, xlogy(k, k / safe) + xlogy(n - k, (n - k) / safe), 0.0)
    return -2 * loglik


def binomial_change_points(
    n: Sequence[float] | np.ndarray,
    failures: Sequence[float] | np.ndarray,
    *,
    penalty: float | None = None,
    min_segment: int = 2,
) -> list[int]:
    """Several changes of a binomial rate: PELT (Killick et al. 2012) with a binomial cost.

    Minimises ``sum over segments of -2 max log-likelihood + penalty x number of changes`` exactly, pruning
    split points that can never be optimal again (PELT's rule, valid because the cost of a segment never
    decreases when it is cut). The default penalty is ``3 log(total trials)`` (BIC-like: a rate and a
    location per change). Returns the first index after each change, in order.

    Examples
    --------
    >>> binomial_change_points([200] * 12, [10] * 4 + [40] * 4 + [10] * 4)
    [4, 8]
    >>> binomial_change_points([200] * 8, [10] * 8)
    []
    """
    trials, hits = np.asarray(n, dtype=float), np.asarray(failures, dtype=float)
    if trials.shape != hits.shape or trials.ndim != 1:
        raise InvalidParameterError(
            f"n and failures must be 1-d and of one length. Got shapes {trials.shape} and {hits.shape}."
        )
    if min_segment < 1:
        raise InvalidParameterError(f"min_segment must be at least 1. Got {min_segment} instead.")
    size = trials.size
    if size < 2 * min_segment or trials.sum() <= 0:
        return []
    beta = 3 * float(np.log(max(trials.sum(), 2.0))) if penalty is None else float(penalty)
    cn = np.concatenate([[0.0], np.cumsum(trials)])
    ck = np.concatenate([[0.0], np.cumsum(hits)])
    best = np.full(size + 1, np.inf)
    best[0] = -beta
    last = np.zeros(size + 1, dtype=int)
    candidates = np.array([0])
    pending: dict[int, np.ndarray] = {}
    for end in range(min_segment, size + 1):
        dropped = pending.pop(end, None)
        if dropped is not None:
            candidates = candidates[~np.isin(candidates, dropped)]
        allowed = candidates[end - candidates >= min_segment]
        if allowed.size == 0:
            continue
        totals = best[allowed] + _binomial_cost(cn, ck, allowed, end) + beta
        choice = int(np.argmin(totals))
        best[end], last[end] = totals[choice], allowed[choice]
        # PELT pruning: a start whose cost so far already exceeds the optimum at `end` can never win again
        # -- once a split at `end` is itself allowed (min_segment chunks later), so it is dropped then
        dominated = best[candidates] + _binomial_cost(cn, ck, candidates, end) > best[end]
        if dominated.any():
            pending[end + min_segment] = candidates[dominated]
        candidates = np.concatenate([candidates, [end]])
    points, end = [], size
    while end > 0:
        end = int(last[end])
        if end > 0:
            points.append(end)
    return sorted(points)
