"""Root cause, the timing: did failures change, since when (with an interval), and what else moved then.

The failure onset is :func:`analysis.onset.binomial_onset` on the per-chunk failures of the failure signal,
from the start of the reference window to the end of the incident window (the change may only fall after
the reference window). Real logs vary more from day to day than a binomial does: the counts are divided
by the reference chunks' dispersion (Pearson chi-square over its degrees of freedom, at least 1) before
the likelihood is taken -- the quasi-binomial correction -- so a noisy but stable series does not produce
a confident "change". With daily chunks and enough traffic per hour the onset is refined hourly inside the
daily interval (widened by a day each side; the hours only place the change, the evidence that it
happened and the rates before and after stay the whole span's); an incident window shorter than two days
is analysed hourly from the start.

A change in failures is *significant* when the evidence for one change over none is strong (log Bayes
factor >= 3, about 20 to 1), the rate rose by at least 10 % of the reference rate, and the excess
failures' interval (:func:`analysis.stats.excess_interval`, the impact section's estimate) lies above 0.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal

import numpy as np
import pandas as pd

from analysis._root_cause_rank import OnsetWindow
from analysis._root_cause_series import RateSeries
from analysis.data import CHUNK_LENGTHS, Chunk, IncidentWindows
from analysis.onset import Onset, binomial_change_points, binomial_onset, gaussian_onset
from analysis.stats import ExcessEstimate, excess_interval
from register.schema import as_utc

__all__ = [
    "MIN_LOG_BAYES_FACTOR",
    "MIN_RELATIVE_RISE",
    "FailureChange",
    "SeriesOnset",
    "failure_change",
    "series_onsets",
]

MIN_LOG_BAYES_FACTOR = 3.0
"""Evidence a change needs (log Bayes factor of one change against none: about 20 to 1)."""
MIN_RELATIVE_RISE = 0.10
"""Smallest rise of the failure rate, relative to the reference rate, called a change."""
_MIN_HOURLY_N = 30
"""Median judged decisions per hour needed to refine a daily onset hourly."""


@dataclass(frozen=True)
class SeriesOnset:
    """The onset of one per-chunk series (failure rate, score mean, a null rate, an input's shift)."""

    series: str
    kind: Literal["binomial", "gaussian"]
    onset: Onset | None
    window: OnsetWindow | None
    resolution: Chunk
    significant: bool

    def as_row(self) -> dict[str, object]:
        """One row of the onsets table."""
        onset, window = self.onset, self.window
        return {
            "series": self.series,
            "resolution": self.resolution,
            "onset": window.at if window else None,
            "low": window.low if window else None,
            "high": window.high if window else None,
            "before": onset.before if onset else None,
            "after": onset.after if onset else None,
            "log_bayes_factor": onset.log_bayes_factor if onset else None,
            "significant": self.significant,
        }


@dataclass(frozen=True)
class FailureChange:
    """Whether, when and by how much failures changed."""

    series: pd.DataFrame
    onset: SeriesOnset
    change_points: tuple[datetime, ...]
    dispersion: float
    reference_rate: float | None
    incident_rate: float | None
    n_reference: int
    n_incident: int
    failures_incident: int
    excess: ExcessEstimate | None
    significant: bool

    @property
    def window(self) -> OnsetWindow | None:
        """The onset and its interval, as times (``None`` without a significant change)."""
        return self.onset.window if self.significant else None


def _dispersion(n: np.ndarray, failures: np.ndarray) -> float:
    """Pearson chi-square over degrees of freedom of binomial chunks around their pooled rate (>= 1)."""
    keep = n > 0
    n, failures = n[keep], failures[keep]
    if n.size < 3 or failures.sum() == 0 or failures.sum() == n.sum():
        return 1.0
    pooled = failures.sum() / n.sum()
    chi2 = float((((failures - n * pooled) ** 2) / (n * pooled * (1 - pooled))).sum())
    return max(1.0, chi2 / (n.size - 1))


def _window(onset: Onset, starts: pd.Series, length: timedelta) -> OnsetWindow:
    stamps = pd.to_datetime(starts, utc=True)
    return OnsetWindow(
        at=stamps.iloc[onset.index].to_pydatetime(),
        low=stamps.iloc[onset.low].to_pydatetime(),
        high=(stamps.iloc[onset.high] + length).to_pydatetime(),
        chunk=length,
    )


def _first_after(starts: pd.Series, when: datetime) -> int:
    stamps = pd.to_datetime(starts, utc=True)
    after = np.flatnonzero((stamps >= pd.Timestamp(when)).to_numpy())
    return int(after[0]) if after.size else len(stamps)


def _binomial(frame: pd.DataFrame, first: int, dispersion: float, chunk: Chunk, name: str) -> SeriesOnset:
    n = frame["n"].to_numpy(float) / dispersion
    failures = frame["failures"].to_numpy(float) / dispersion
    onset = binomial_onset(n, failures, first=first) if first < len(frame) else None
    window = _window(onset, frame["chunk_start"], CHUNK_LENGTHS[chunk]) if onset else None
    return SeriesOnset(name, "binomial", onset, window, chunk, False)


def failure_change(
    series: RateSeries, windows: IncidentWindows, *, confidence: float = 0.95
) -> FailureChange:
    """The failure onset with its interval, further change points, the excess and whether it is significant.

    See the module docstring for the rule.
    """
    chunk: Chunk = series.chunk
    if windows.incident.end - windows.incident.start < timedelta(days=2):
        chunk = "hour"
    frame = series.per_chunk(chunk)
    starts = pd.to_datetime(frame["chunk_start"], utc=True)
    reference_end = pd.Timestamp(as_utc(windows.reference.end))
    is_reference = (starts < reference_end).to_numpy()
    dispersion = _dispersion(
        frame.loc[is_reference, "n"].to_numpy(float), frame.loc[is_reference, "failures"].to_numpy(float)
    )
    first = _first_after(frame["chunk_start"], windows.reference.end)
    onset = _binomial(frame, first, dispersion, chunk, "failure rate")
    if onset.onset is not None and chunk == "day":
        refined = _refine_hourly(series, onset, windows)
        if refined is not None and refined.onset is not None:
            # the hours only place the change: the evidence that it happened is the whole span's
            evidence = replace(
                refined.onset,
                log_bayes_factor=onset.onset.log_bayes_factor,
                before=onset.onset.before,
                after=onset.onset.after,
            )
            onset = replace(refined, onset=evidence)
    reference, incident = _window_counts(series, windows)
    excess = (
        excess_interval(incident[1], incident[0], reference[1], reference[0], confidence=confidence)
        if reference[0] and incident[0]
        else None
    )
    reference_rate = reference[1] / reference[0] if reference[0] else None
    incident_rate = incident[1] / incident[0] if incident[0] else None
    significant = bool(
        onset.onset is not None
        and onset.onset.log_bayes_factor >= MIN_LOG_BAYES_FACTOR
        and onset.onset.direction == "up"
        and excess is not None
        and excess.lower > 0
        and reference_rate is not None
        and incident_rate is not None
        and incident_rate - reference_rate >= MIN_RELATIVE_RISE * max(reference_rate, 1e-9)
    )
    points = binomial_change_points(
        frame["n"].to_numpy(float) / dispersion, frame["failures"].to_numpy(float) / dispersion
    )
    return FailureChange(
        series=frame.assign(is_reference=is_reference),
        onset=SeriesOnset(onset.series, onset.kind, onset.onset, onset.window, onset.resolution, significant),
        change_points=tuple(starts.iloc[index].to_pydatetime() for index in points if 0 < index < len(frame)),
        dispersion=dispersion,
        reference_rate=reference_rate,
        incident_rate=incident_rate,
        n_reference=int(reference[0]),
        n_incident=int(incident[0]),
        failures_incident=int(incident[1]),
        excess=excess,
        significant=significant,
    )


def _window_counts(series: RateSeries, windows: IncidentWindows) -> tuple[tuple[int, int], tuple[int, int]]:
    hourly = series.hourly
    stamps = pd.to_datetime(hourly["chunk_start"], utc=True)

    def counts(start: datetime, end: datetime) -> tuple[int, int]:
        inside = (stamps >= pd.Timestamp(as_utc(start))) & (stamps < pd.Timestamp(as_utc(end)))
        return int(hourly.loc[inside, "n"].sum()), int(hourly.loc[inside, "failures"].sum())

    return (
        counts(windows.reference.start, windows.reference.end),
        counts(windows.incident.start, windows.incident.end),
    )


def _refine_hourly(series: RateSeries, daily: SeriesOnset, windows: IncidentWindows) -> SeriesOnset | None:
    """The onset hourly inside the daily interval widened by a day each side, when traffic allows it."""
    if daily.window is None:
        return None
    hourly = series.per_chunk("hour")
    stamps = pd.to_datetime(hourly["chunk_start"], utc=True)
    low = max(
        pd.Timestamp(daily.window.low) - pd.Timedelta(days=1), pd.Timestamp(as_utc(windows.reference.end))
    )
    high = pd.Timestamp(daily.window.high) + pd.Timedelta(days=1)
    # the hours before the search range are the "before" segment: include the reference window's last week
    lead = low - pd.Timedelta(days=7)
    part = hourly.loc[(stamps >= lead) & (stamps < high)].reset_index(drop=True)
    searched = part.loc[pd.to_datetime(part["chunk_start"], utc=True) >= low, "n"]
    if searched.empty or float(searched.median()) < _MIN_HOURLY_N:
        return None
    reference = hourly.loc[stamps < pd.Timestamp(as_utc(windows.reference.end))]
    dispersion = _dispersion(reference["n"].to_numpy(float), reference["failures"].to_numpy(float))
    first = _first_after(part["chunk_start"], low.to_pydatetime())
    refined = _binomial(part, first, dispersion, "hour", daily.series)
    if refined.window is None or not (
        daily.window.low - timedelta(days=1) <= refined.window.at < daily.window.high + timedelta(days=1)
    ):
        return None
    return refined


def series_onsets(
    frame: pd.DataFrame,
    windows: IncidentWindows,
    chunk: Chunk,
    *,
    binomial: dict[str, tuple[str, str]] | None = None,
    gaussian: dict[str, tuple[str, str]] | None = None,
) -> list[SeriesOnset]:
    """Onsets of further per-chunk series of ``frame`` (columns named per series).

    ``binomial`` maps a series name to its (trials, successes) columns; ``gaussian`` to its (value,
    standard error) columns. A series is significant with a log Bayes factor of at least
    :data:`MIN_LOG_BAYES_FACTOR` and a change of at least 10 % of its level before.
    """
    first = _first_after(frame["chunk_start"], windows.reference.end)
    length = CHUNK_LENGTHS[chunk]
    out: list[SeriesOnset] = []
    for name, (trials, hits) in (binomial or {}).items():
        part = pd.DataFrame(
            {"chunk_start": frame["chunk_start"], "n": frame[trials], "failures": frame[hits]}
        )
        reference = part.loc[
            pd.to_datetime(part["chunk_start"], utc=True) < pd.Timestamp(as_utc(windows.reference.end))
        ]
        dispersion = _dispersion(reference["n"].to_numpy(float), reference["failures"].to_numpy(float))
        found = _binomial(part, first, dispersion, chunk, name)
        out.append(_judged(found))
    for name, (value, error) in (gaussian or {}).items():
        values = frame[value].to_numpy(float)
        errors = frame[error].to_numpy(float)
        onset = gaussian_onset(values, errors, first=first) if first < len(frame) else None
        window = _window(onset, frame["chunk_start"], length) if onset else None
        out.append(_judged(SeriesOnset(name, "gaussian", onset, window, chunk, False)))
    return out


def _judged(found: SeriesOnset) -> SeriesOnset:
    onset = found.onset
    if onset is None:
        return found
    level = abs(onset.before) if onset.before else 0.0
    moved = (
        abs(onset.after - onset.before) >= MIN_RELATIVE_RISE * level if level else onset.after != onset.before
    )
    significant = bool(onset.log_bayes_factor >= MIN_LOG_BAYES_FACTOR and moved)
    return SeriesOnset(found.series, found.kind, onset, found.window, found.resolution, significant)
