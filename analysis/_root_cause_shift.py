"""Root cause, the inputs: how far each input moved (PSI over the slice bins) and since when.

One engine aggregate counts decisions per (hour, feature, bin) over the analysed span, with the features
stacked into one column (``pivot_longer``: one scan, not one per feature). From it, per feature:

- **PSI** of the incident window against the reference window, ``sum((p1 - p0) * ln(p1 / p0))`` over the
  bins (the slice finder's bins: reference-window quantiles, NULL its own bin), each share floored at
  1e-4 so a new value does not divide by zero. The usual reading: < 0.1 no real change, 0.1-0.25 moderate,
  >= 0.25 large.
- the per-chunk **Jensen-Shannon distance** of the chunk's bin shares to the reference window's, whose
  onset is :func:`analysis.onset.gaussian_onset` with the standard errors of
  :func:`analysis.onset.statistic_errors` (the reference chunks' own spread, scaled by traffic) -- the same
  rule as the drift section's onset.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from analysis._root_cause_onset import SeriesOnset, series_onsets
from analysis.data import Chunk, IncidentWindows, time_literal
from analysis.onset import statistic_errors
from register.schema import DataCard, as_utc

__all__ = ["LARGE_PSI", "MODERATE_PSI", "FeatureShift", "feature_shifts", "psi"]

MODERATE_PSI = 0.1
LARGE_PSI = 0.25
_FLOOR = 1e-4


@dataclass(frozen=True)
class FeatureShift:
    """How one input moved between the reference and the incident window."""

    feature: str
    psi: float
    moves: tuple[tuple[str, float, float], ...]  # (bin, reference share, incident share), largest first
    onset: SeriesOnset | None

    @property
    def level(self) -> str:
        """``large``, ``moderate`` or ``none`` by the usual PSI reading."""
        return "large" if self.psi >= LARGE_PSI else "moderate" if self.psi >= MODERATE_PSI else "none"

    def describe(self, count: int = 2) -> str:
        """``channel (PSI 0.62: partner_api 0 % -> 15 %; web 40 % -> 33 %)``."""
        moves = "; ".join(
            f"{label} {100 * before:.0f} % -> {100 * after:.0f} %"
            for label, before, after in self.moves[:count]
        )
        return (
            f"{self.feature} (PSI {self.psi:.2f}: {moves})"
            if moves
            else f"{self.feature} (PSI {self.psi:.2f})"
        )


def psi(reference: np.ndarray, incident: np.ndarray) -> float:
    """Population stability index of two count vectors over the same bins (shares floored at 1e-4).

    Examples
    --------
    >>> round(psi(np.array([50, 50]), np.array([50, 50])), 6)
    0.0
    >>> round(psi(np.array([90, 10]), np.array([50, 50])), 3)
    0.879
    """
    p0 = np.maximum(reference / max(reference.sum(), 1), _FLOOR)
    p1 = np.maximum(incident / max(incident.sum(), 1), _FLOOR)
    return float(((p1 - p0) * np.log(p1 / p0)).sum())


def _js(p: np.ndarray, q: np.ndarray) -> float:
    p = p / p.sum() if p.sum() else p
    q = q / q.sum() if q.sum() else q
    m = (p + q) / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        kl_p = np.where(p > 0, p * np.log2(p / m), 0.0).sum()
        kl_q = np.where(q > 0, q * np.log2(q / m), 0.0).sum()
    return float(np.sqrt(max((kl_p + kl_q) / 2, 0.0)))


def _label(bins: Any, code: object) -> str:
    """The bin's label without the ``column = `` prefix (``partner_api``, ``10 <= income < 20``)."""
    try:
        label = str(bins.labels[int(str(code))])
    except (ValueError, IndexError):
        return str(code)
    prefix = f"{bins.column} = "
    return label[len(prefix) :] if label.startswith(prefix) else label


def _counts(
    table: ir.Table, card: DataCard, binned: Mapping[str, ir.Value], windows: IncidentWindows
) -> pd.DataFrame:
    ts = table[card.columns.event_time]
    start, end = as_utc(windows.reference.start), as_utc(windows.incident.end)
    inside = (ts >= time_literal(ts, start)) & (ts < time_literal(ts, end))
    names = list(binned)
    stacked = (
        table.filter(inside)
        .select(hour=ts.truncate("h"), **{name: expr.cast("string") for name, expr in binned.items()})
        .pivot_longer(names, names_to="feature", values_to="bin")
    )
    frame = stacked.group_by(["hour", "feature", "bin"]).aggregate(n=ibis._.count()).execute()
    frame["hour"] = pd.to_datetime(frame["hour"], utc=True)
    frame["bin"] = frame["bin"].fillna("(null)").astype(str)
    return frame


def feature_shifts(
    table: ir.Table,
    card: DataCard,
    features: Sequence[str],
    bins: Mapping[str, Any],
    windows: IncidentWindows,
    *,
    chunk: Chunk = "day",
) -> list[FeatureShift]:
    """PSI and onset of each feature's shift (see the module docstring), largest PSI first."""
    from analysis._slices import bin_expression

    usable = [name for name in features if name in bins]
    if not usable:
        return []
    counts = _counts(table, card, {name: bin_expression(table[name], bins[name]) for name in usable}, windows)
    counts["bin"] = [
        _label(bins[name], code) for name, code in zip(counts["feature"], counts["bin"], strict=True)
    ]
    hours = counts["hour"]
    in_reference = (hours >= pd.Timestamp(as_utc(windows.reference.start))) & (
        hours < pd.Timestamp(as_utc(windows.reference.end))
    )
    in_incident = (
        hours >= pd.Timestamp(as_utc(windows.incident.start).replace(minute=0, second=0, microsecond=0))
    ) & (hours < pd.Timestamp(as_utc(windows.incident.end)))
    out = []
    for name in usable:
        mine = counts["feature"] == name
        reference = counts.loc[mine & in_reference].groupby("bin")["n"].sum()
        incident = counts.loc[mine & in_incident].groupby("bin")["n"].sum()
        labels = reference.index.union(incident.index)
        r = reference.reindex(labels, fill_value=0).to_numpy(float)
        i = incident.reindex(labels, fill_value=0).to_numpy(float)
        if r.sum() == 0 or i.sum() == 0:
            continue
        shares = pd.DataFrame({"bin": labels, "before": r / r.sum(), "after": i / i.sum()})
        shares = shares.assign(move=(shares["after"] - shares["before"]).abs()).sort_values(
            "move", ascending=False
        )
        moves = tuple((str(row.bin), float(row.before), float(row.after)) for row in shares.itertuples())
        value = psi(r, i)
        onset = _shift_onset(counts.loc[mine], r, windows, chunk, name) if value >= MODERATE_PSI else None
        out.append(FeatureShift(name, value, moves, onset))
    return sorted(out, key=lambda shift: -shift.psi)


def _shift_onset(
    counts: pd.DataFrame, reference: np.ndarray, windows: IncidentWindows, chunk: Chunk, name: str
) -> SeriesOnset | None:
    frame = counts.assign(chunk_start=counts["hour"].dt.floor("h" if chunk == "hour" else "D"))
    table = frame.pivot_table(index="chunk_start", columns="bin", values="n", aggfunc="sum", fill_value=0)
    if table.empty:
        return None
    reference_end = pd.Timestamp(as_utc(windows.reference.end))
    is_reference = table.index < reference_end
    base = table.loc[is_reference].sum(axis=0).to_numpy(float)
    if base.sum() == 0:
        return None
    values = np.array([_js(row.to_numpy(float), base) for _, row in table.iterrows()])
    n = table.sum(axis=1).to_numpy(float)
    if int(is_reference.sum()) < 3:
        return None
    errors = statistic_errors(values, np.asarray(is_reference), n)  # the drift onset's errors: one rule
    series = pd.DataFrame({"chunk_start": table.index, "value": values, "error": errors})
    found = series_onsets(series, windows, chunk, gaussian={f"shift of {name}": ("value", "error")})
    return found[0] if found else None
