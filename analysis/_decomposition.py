"""What changed: the change in failure rate split into covariate mix, conditional and unseen parts.

The reference and the incident window are cut into the same cells (binned features: the slice finder's
bins). With ``n`` decisions and ``f`` failures per cell and window, weights ``w = n / N`` and rates
``r = f / n`` per cell, overall rates ``R0`` (reference) and ``R1`` (incident), the observed change
``R1 - R0`` splits exactly into

- **conditional** ``= sum over shared cells of w1 * (r1 - r0)``: the model did worse (or better) on the
  same kind of input -- a concept change or a model change;
- **unseen** ``= sum over new cells of w1 * (r1 - R0)``: decisions in cells the reference never saw, judged
  against the reference's overall rate;
- **mix** ``= sum over shared cells of (w1 - w0) * (r0 - R0) - sum over vanished cells of w0 * (r0 - R0)``:
  who came -- more weight on cells that already failed more often (a cell that vanished takes its
  weight away).

Shared cells have decisions in both windows, new cells only in the incident window, vanished cells only in
the reference. The three parts add up to ``R1 - R0`` (algebraically exact: ``sum w0 * (r0 - R0) = 0``
over all reference cells and ``sum w1 = 1`` over the incident cells; numerically to rounding, about
1e-16).

Intervals come from a seeded Poisson resampling of the cell counts: failures and successes of every cell
and window are drawn as independent Poisson counts with the observed means, all resamples at once, and the
three parts recomputed on each (a cell may change between shared, new and vanished in a resample; the
identity holds in each one). The interval is the percentile interval at ``level``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from analysis.data import Window
from analysis.errors import InvalidParameterError

__all__ = [
    "NULL_VALUE",
    "VERSION_COLUMN",
    "Decomposition",
    "Part",
    "decompose_change",
    "decomposition_cells",
]

NULL_VALUE = "(null)"
"""The cell value of a NULL key (kept as a cell of its own, as the slice finder does)."""
VERSION_COLUMN = "model_version"
"""The cells' model-version column: never a matching key, reported per version in the incident window."""
_WINDOWS = ("reference", "incident")


@dataclass(frozen=True)
class Part:
    """One part of the change: the estimate and its resampling interval (``low``, ``high``)."""

    estimate: float
    low: float
    high: float

    def to_dict(self) -> dict[str, float | None]:
        """JSON-serialisable form (NaN as None)."""
        return {name: _finite(getattr(self, name)) for name in ("estimate", "low", "high")}


@dataclass(frozen=True)
class Decomposition:
    """The change in failure rate between the reference and the incident window, split in three parts.

    ``mix.estimate + conditional.estimate + unseen.estimate == observed_change`` (to rounding).

    Attributes
    ----------
    reference_rate, incident_rate, observed_change : float
        ``R0``, ``R1`` and ``R1 - R0``.
    mix, conditional, unseen : Part
        The parts with their intervals (see the module docstring for the formulas).
    keys : tuple of str
        The matching keys of the cells (never the model version).
    cells : DataFrame
        One row per cell: the keys, ``kind`` (shared, new, vanished), ``reference_n``,
        ``reference_failures``, ``incident_n``, ``incident_failures``, ``reference_rate``,
        ``incident_rate``, ``reference_weight``, ``incident_weight``, ``mix``, ``conditional``, ``unseen``
        (the cell's contribution to each part), sorted by the absolute total contribution.
    by_version : DataFrame or None
        When the cells carry a ``model_version`` column: per version in the incident window ``n``,
        ``failures``, ``rate``, ``share`` (of the incident's decisions), ``conditional`` and ``unseen``
        (that version's contribution; the versions' rows add up to the parts) with ``conditional_low`` /
        ``conditional_high``. None otherwise.
    n_resamples, seed, level : int, int, float
        The resampling that gave the intervals.
    limitation : str or None
        Why a part could not be estimated (an empty window), else None.
    """

    reference_rate: float
    incident_rate: float
    observed_change: float
    mix: Part
    conditional: Part
    unseen: Part
    keys: tuple[str, ...]
    cells: pd.DataFrame
    by_version: pd.DataFrame | None
    n_resamples: int
    seed: int
    level: float
    limitation: str | None = None

    def to_summary(self) -> dict[str, Any]:
        """JSON-serialisable summary (the parts, no per-cell rows)."""
        return {
            "reference_rate": _finite(self.reference_rate),
            "incident_rate": _finite(self.incident_rate),
            "observed_change": _finite(self.observed_change),
            "mix": self.mix.to_dict(),
            "conditional": self.conditional.to_dict(),
            "unseen": self.unseen.to_dict(),
            "keys": list(self.keys),
            "level": self.level,
            "n_resamples": self.n_resamples,
            "seed": self.seed,
            "limitation": self.limitation,
        }


def _finite(value: Any) -> float | None:
    value = float(value)
    return value if np.isfinite(value) else None


# --------------------------------------------------------------------------------------------------
# The arithmetic (vectorised over resamples)
# --------------------------------------------------------------------------------------------------


def _parts(
    n0: np.ndarray, f0: np.ndarray, n1: np.ndarray, f1: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per-cell mix, conditional and unseen contributions and the overall rates.

    Arrays have shape ``(..., cells)``; the rates ``R0``/``R1`` have shape ``(...)`` (NaN for an empty
    window, and then every contribution is NaN).
    """
    total0 = n0.sum(axis=-1, keepdims=True)
    total1 = n1.sum(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        rate0_all = f0.sum(axis=-1, keepdims=True) / total0
        w0, w1 = n0 / total0, n1 / total1
        r0 = np.where(n0 > 0, f0 / np.where(n0 > 0, n0, 1), 0.0)
        r1 = np.where(n1 > 0, f1 / np.where(n1 > 0, n1, 1), 0.0)
    shared, new, vanished = (n0 > 0) & (n1 > 0), (n0 == 0) & (n1 > 0), (n0 > 0) & (n1 == 0)
    conditional = np.where(shared, w1 * (r1 - r0), 0.0)
    unseen = np.where(new, w1 * (r1 - rate0_all), 0.0)
    mix = np.where(shared, (w1 - w0) * (r0 - rate0_all), 0.0) - np.where(vanished, w0 * (r0 - rate0_all), 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        rate1_all = f1.sum(axis=-1) / total1[..., 0]
    return mix, conditional, unseen, rate0_all[..., 0], rate1_all


def _percentiles(values: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    alpha = (1 - level) / 2
    with np.errstate(invalid="ignore"):
        if np.isnan(values).all(axis=0).any():
            low = np.full(values.shape[1:], np.nan)
            high = np.full(values.shape[1:], np.nan)
            ok = ~np.isnan(values).all(axis=0)
            if ok.any():
                low[ok] = np.nanquantile(values[:, ok], alpha, axis=0)
                high[ok] = np.nanquantile(values[:, ok], 1 - alpha, axis=0)
            return low, high
        return np.nanquantile(values, alpha, axis=0), np.nanquantile(values, 1 - alpha, axis=0)


def _check_cells(cells: pd.DataFrame, keys: Sequence[str]) -> list[str]:
    if not isinstance(cells, pd.DataFrame):
        raise InvalidParameterError(f"cells must be a pandas DataFrame. Got {type(cells).__name__} instead.")
    missing = [name for name in ("window", *keys, "n", "failures") if name not in cells.columns]
    if missing:
        raise InvalidParameterError(
            "cells must have the columns window, the keys, n and failures (see decomposition_cells). "
            f"Got no {missing}; columns: {list(cells.columns)}."
        )
    unknown = sorted(set(map(str, cells["window"].unique())) - set(_WINDOWS))
    if unknown:
        raise InvalidParameterError(
            f"cells' window must be 'reference' or 'incident'. Got {unknown} instead."
        )
    counts = cells[["n", "failures"]].to_numpy(dtype=float)
    if (counts < 0).any() or (cells["failures"] > cells["n"]).any() or np.isnan(counts).any():
        raise InvalidParameterError(
            "cells' n and failures must be counts with 0 <= failures <= n. Got a row that is not; "
            "aggregate the log with decomposition_cells."
        )
    return [name for name in keys if name != VERSION_COLUMN]


def _wide(cells: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """One row per cell (``by``), the counts of both windows as columns (0 where a window has none)."""
    frame = cells.assign(window=cells["window"].astype(str), _all=0)
    grouped = frame.groupby([*by, "_all", "window"], sort=True, dropna=False)[["n", "failures"]].sum()
    wide = grouped.unstack("window", fill_value=0)
    out = pd.DataFrame(index=wide.index)
    for window in _WINDOWS:
        for column in ("n", "failures"):
            out[f"{window}_{column}"] = (
                wide[(column, window)].to_numpy(dtype=float) if (column, window) in wide.columns else 0.0
            )
    return out.reset_index().drop(columns="_all")


def decompose_change(
    cells: pd.DataFrame,
    keys: Sequence[str],
    *,
    n_resamples: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> Decomposition:
    """Split the change in failure rate into covariate mix, conditional and unseen parts (exactly).

    Parameters
    ----------
    cells : DataFrame
        ``window`` (``reference`` or ``incident``), the ``keys``, ``n`` and ``failures`` (e.g. from
        :func:`decomposition_cells`); rows of the same cell and window are summed. A ``model_version``
        column (listed in ``keys`` or not) is never a matching key: the reference rate of a cell pools
        its versions, and the incident's contributions are reported per version (``by_version``).
    keys : sequence of str
        The columns that define a cell (binned features).
    n_resamples : int
        Poisson resamples of the cell counts for the intervals (0: no intervals, NaN bounds).
    seed : int
        Seed of the resampling.
    level : float
        Level of the percentile intervals.

    Returns
    -------
    Decomposition

    Examples
    --------
    Same rate per cell in both windows, more decisions from the riskier cell: all of it is mix.

    >>> cells = pd.DataFrame({"window": ["reference"] * 2 + ["incident"] * 2, "region": ["a", "b"] * 2,
    ...                       "n": [900, 100, 500, 500], "failures": [9, 10, 5, 50]})
    >>> d = decompose_change(cells, ["region"], n_resamples=200)
    >>> round(d.observed_change, 4), round(d.mix.estimate, 4), d.conditional.estimate, d.unseen.estimate
    (0.036, 0.036, 0.0, 0.0)
    """
    if isinstance(n_resamples, bool) or not isinstance(n_resamples, int) or n_resamples < 0:
        raise InvalidParameterError(
            f"n_resamples must be a non-negative integer. Got {n_resamples!r} instead."
        )
    if not 0 < level < 1:
        raise InvalidParameterError(f"level must be between 0 and 1. Got {level!r} instead.")
    match_keys = _check_cells(cells, keys)
    has_version = VERSION_COLUMN in cells.columns
    # detail: one row per (cell, version), sorted so that each cell's rows are contiguous and in the
    # order of the pooled cells (both sorted by the keys first)
    detail = _wide(cells, [*match_keys, VERSION_COLUMN] if has_version else match_keys)
    pooled = _wide(cells, match_keys) if has_version else detail
    starts = _cell_starts(detail, pooled, match_keys) if has_version else None

    counts = [detail[name].to_numpy() for name in _COUNTS]
    mix, conditional, unseen, rate0, rate1 = _parts(*_pool(counts, starts))
    observed = float(rate1 - rate0)

    # Resamples: failures and successes of every (cell, version, window) drawn at once; a cell's pooled
    # draw is the sum of its versions' draws (a sum of independent Poisson counts is Poisson).
    rng = np.random.default_rng(seed)
    shape = (n_resamples, len(detail))
    f0, n0, f1, n1 = counts[1], counts[0], counts[3], counts[2]
    rf0, rs0, rf1, rs1 = (
        rng.poisson(np.broadcast_to(mean, shape)).astype(float) for mean in (f0, n0 - f0, f1, n1 - f1)
    )
    draws = [rf0 + rs0, rf0, rf1 + rs1, rf1]
    r_mix, r_cond, r_unseen, _, _ = _parts(*_pool(draws, starts))
    resampled = np.stack([r_mix.sum(axis=1), r_cond.sum(axis=1), r_unseen.sum(axis=1)], axis=1)
    low, high = _percentiles(resampled, level) if n_resamples else (np.full(3, np.nan), np.full(3, np.nan))

    table = _cell_table(pooled, match_keys, mix, conditional, unseen)
    by_version = _by_version(detail, starts, counts, draws, level) if has_version else None
    limitation = None
    if not np.isfinite(observed):
        empty = [w for w, total in (("reference", n0.sum()), ("incident", n1.sum())) if total == 0]
        limitation = f"no judged decisions in the {' and '.join(empty)} window: nothing to decompose"
    return Decomposition(
        reference_rate=float(rate0),
        incident_rate=float(rate1),
        observed_change=observed,
        mix=Part(float(observed - conditional.sum() - unseen.sum()), float(low[0]), float(high[0])),
        conditional=Part(float(conditional.sum()), float(low[1]), float(high[1])),
        unseen=Part(float(unseen.sum()), float(low[2]), float(high[2])),
        keys=tuple(match_keys),
        cells=table,
        by_version=by_version,
        n_resamples=n_resamples,
        seed=seed,
        level=level,
        limitation=limitation,
    )


_COUNTS = ("reference_n", "reference_failures", "incident_n", "incident_failures")


def _cell_starts(detail: pd.DataFrame, pooled: pd.DataFrame, keys: list[str]) -> np.ndarray:
    """Index of the first detail row of each pooled cell (the detail rows of a cell are contiguous)."""
    if not keys:
        return np.zeros(1, dtype=np.intp)
    codes = pd.MultiIndex.from_frame(pooled[keys]).get_indexer(pd.MultiIndex.from_frame(detail[keys]))
    if (np.diff(codes) < 0).any():  # pragma: no cover - both frames are sorted by the keys
        raise AssertionError("detail rows are not grouped by cell")
    return np.searchsorted(codes, np.arange(len(pooled)))


def _pool(counts: Sequence[np.ndarray], starts: np.ndarray | None) -> list[np.ndarray]:
    """Counts per (cell, version) summed to counts per cell (along the last axis); as is without versions."""
    if starts is None:
        return list(counts)
    return [np.add.reduceat(values, starts, axis=-1) for values in counts]


def _cell_table(
    pooled: pd.DataFrame, keys: list[str], mix: np.ndarray, conditional: np.ndarray, unseen: np.ndarray
) -> pd.DataFrame:
    table = pooled.copy()
    n0, n1 = table["reference_n"], table["incident_n"]
    table.insert(
        len(keys), "kind", np.select([(n0 > 0) & (n1 > 0), n1 > 0], ["shared", "new"], default="vanished")
    )
    table["reference_rate"] = table["reference_failures"] / n0.where(n0 > 0)
    table["incident_rate"] = table["incident_failures"] / n1.where(n1 > 0)
    table["reference_weight"] = n0 / n0.sum() if n0.sum() else np.nan
    table["incident_weight"] = n1 / n1.sum() if n1.sum() else np.nan
    table["mix"], table["conditional"], table["unseen"] = mix, conditional, unseen
    order = np.argsort(-np.abs(np.nan_to_num(mix + conditional + unseen)), kind="stable")
    return table.iloc[order].reset_index(drop=True)


def _version_contributions(
    counts: Sequence[np.ndarray], starts: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """Per (cell, version) row: its conditional and unseen contribution (arrays ``(..., rows)``).

    A cell's incident weight and rate split over its versions, ``w1 * (r1 - r0) = sum over versions v of
    w1v * (r1v - r0)``, with the cell's pooled reference rate ``r0``: the versions add up to the parts.
    """
    n0, f0, n1, f1 = _pool(counts, starts)
    sizes = np.diff(np.append(starts, counts[0].shape[-1])) if starts is not None else None
    if sizes is not None:
        n0, f0 = np.repeat(n0, sizes, axis=-1), np.repeat(f0, sizes, axis=-1)
    nv, fv = counts[2], counts[3]
    with np.errstate(invalid="ignore", divide="ignore"):
        rate0 = counts[1].sum(axis=-1, keepdims=True) / counts[0].sum(axis=-1, keepdims=True)
        weight = nv / nv.sum(axis=-1, keepdims=True)
        r0 = np.where(n0 > 0, f0 / np.where(n0 > 0, n0, 1), 0.0)
        rv = np.where(nv > 0, fv / np.where(nv > 0, nv, 1), 0.0)
    conditional = np.where((n0 > 0) & (nv > 0), weight * (rv - r0), 0.0)
    unseen = np.where((n0 == 0) & (nv > 0), weight * (rv - rate0), 0.0)
    return conditional, unseen


def _by_version(
    detail: pd.DataFrame,
    starts: np.ndarray | None,
    counts: Sequence[np.ndarray],
    draws: Sequence[np.ndarray],
    level: float,
) -> pd.DataFrame:
    """Conditional and unseen contributions of each model version in the incident window."""
    conditional, unseen = _version_contributions(counts, starts)
    r_conditional, _ = _version_contributions(draws, starts)
    versions = detail[VERSION_COLUMN].astype(str).to_numpy()
    nv, fv = counts[2], counts[3]
    total = nv.sum()
    rows = []
    for version in sorted(set(versions[nv > 0])):
        mine = versions == version
        resampled = r_conditional[:, mine].sum(axis=1)
        low, high = _percentiles(resampled[:, None], level) if len(resampled) else ([np.nan], [np.nan])
        rows.append(
            {
                VERSION_COLUMN: version,
                "n": int(nv[mine].sum()),
                "failures": int(fv[mine].sum()),
                "rate": float(fv[mine].sum() / nv[mine].sum()),
                "share": float(nv[mine].sum() / total),
                "conditional": float(conditional[mine].sum()),
                "conditional_low": float(low[0]),
                "conditional_high": float(high[0]),
                "unseen": float(unseen[mine].sum()),
            }
        )
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------------------------------
# The engine aggregate
# --------------------------------------------------------------------------------------------------


def decomposition_cells(
    table: ir.Table,
    keys: Mapping[str, ir.Value | str],
    failed: ir.BooleanValue | str,
    *,
    event_time: str,
    reference: Window,
    incident: Window,
    model_version: str | None = None,
) -> pd.DataFrame:
    """Cell counts of the reference and incident windows, aggregated in the engine (one GROUP BY).

    Parameters
    ----------
    table : ibis Table
        The log (or a narrowed view of it).
    keys : mapping of str to ibis expression or column name
        The cells' keys by name, e.g. the slice finder's binned codes per feature. Values are cast to text;
        NULL is its own value ``"(null)"``.
    failed : ibis boolean expression or column name
        Whether each decision failed (:func:`analysis.data.failure_expression`); NULL rows (not judged
        yet) are left out.
    event_time : str
        The event-time column.
    reference, incident : Window
        The two windows.
    model_version : str, optional
        The model-version column: adds a ``model_version`` column (NULL as ``"(null)"``).

    Returns
    -------
    DataFrame
        ``window``, the keys, ``model_version`` (when given), ``n`` and ``failures``.

    Examples
    --------
    >>> from datetime import datetime
    >>> frame = pd.DataFrame({"ts": pd.to_datetime(["2026-01-01", "2026-01-02", "2026-01-09"], utc=True),
    ...                       "region": ["a", None, "a"], "bad": [False, True, True]})
    >>> t = ibis.memtable(frame)
    >>> cells = decomposition_cells(t, {"region": "region"}, "bad", event_time="ts",
    ...     reference=Window(datetime(2026, 1, 1), datetime(2026, 1, 8)),
    ...     incident=Window(datetime(2026, 1, 8), datetime(2026, 1, 15)))
    >>> cells.to_dict("records")  # doctest: +NORMALIZE_WHITESPACE
    [{'window': 'incident', 'region': 'a', 'n': 1, 'failures': 1},
     {'window': 'reference', 'region': '(null)', 'n': 1, 'failures': 1},
     {'window': 'reference', 'region': 'a', 'n': 1, 'failures': 0}]
    """
    reserved = {"window", "n", "failures", VERSION_COLUMN} & set(keys)
    if reserved:
        raise InvalidParameterError(
            "key names must not be window, n, failures or model_version. "
            f"Got {sorted(reserved)}; rename them."
        )
    outcome = table[failed] if isinstance(failed, str) else failed
    time = table[event_time]
    window = ibis.cases((reference.contains(time), "reference"), (incident.contains(time), "incident"))
    columns: dict[str, ir.Value] = {
        name: (table[value] if isinstance(value, str) else value).cast("string").fill_null(NULL_VALUE)
        for name, value in keys.items()
    }
    if model_version is not None:
        columns[VERSION_COLUMN] = table[model_version].cast("string").fill_null(NULL_VALUE)
    keyed = table.mutate(_window=window, _failed=outcome.cast("int64"), **columns)
    keyed = keyed.filter(keyed._window.notnull() & keyed._failed.notnull())
    grouped = keyed.group_by(window=keyed._window, **{name: keyed[name] for name in columns})
    frame = grouped.aggregate(n=keyed.count(), failures=keyed._failed.sum()).to_pandas()
    frame["n"] = pd.to_numeric(frame["n"]).astype("int64")
    frame["failures"] = pd.to_numeric(frame["failures"]).fillna(0).astype("int64")
    order = ["window", *columns]
    frame = frame[[*order, "n", "failures"]]
    return frame.sort_values(order, kind="stable").reset_index(drop=True)
