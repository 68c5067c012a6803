"""Root cause, the summary: the result as the JSON the report, the figures and the tests read."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from analysis._root_cause_onset import MIN_LOG_BAYES_FACTOR, MIN_RELATIVE_RISE
from analysis._root_cause_rank import STRENGTH_RULE, VERDICT_RULE
from analysis.stats import wilson_interval

__all__ = ["FAILURE_RULE", "result_summary"]

FAILURE_RULE = (
    f"Failures changed significantly when one change explains the per-chunk failures better than none by a "
    f"log Bayes factor of at least {MIN_LOG_BAYES_FACTOR:g} (binomial likelihood, counts divided by the "
    f"reference chunks' dispersion), the rate rose by at least {MIN_RELATIVE_RISE:.0%} of the reference "
    "rate, "
    "and the excess failures' 95 % interval lies above 0."
)


def _clean(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(key): _clean(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(item) for item in value]
    if isinstance(value, pd.Timestamp):
        return None if pd.isna(value) else value.to_pydatetime()
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    if value is pd.NaT:
        return None
    try:
        if value is not None and not isinstance(value, (str, bytes, list, dict)) and pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return value


def _records(frame: pd.DataFrame | None) -> list[dict[str, Any]]:
    if frame is None or frame.empty:
        return []
    return [_clean(row) for row in frame.to_dict(orient="records")]


def _interval(estimate: Any, low: Any, high: Any) -> dict[str, Any] | None:
    if estimate is None or (isinstance(estimate, float) and not np.isfinite(estimate)):
        return None
    return _clean({"estimate": float(estimate), "low": low, "high": high, "level": 0.95})


def _part(part: Any) -> dict[str, Any] | None:
    if part is None:
        return None
    if isinstance(part, dict):
        return _interval(part.get("estimate"), part.get("low"), part.get("high"))
    return _interval(part.estimate, getattr(part, "low", None), getattr(part, "high", None))


def _failure_points(result: Any) -> list[dict[str, Any]]:
    frame = result.failure.series
    low, high = wilson_interval(frame["failures"].to_numpy(float), frame["n"].to_numpy(float))
    out = []
    for index, row in enumerate(frame.itertuples(index=False)):
        out.append(
            _clean(
                {
                    "chunk_start": pd.Timestamp(row.chunk_start).to_pydatetime(),
                    "n": int(row.n),
                    "failures": int(row.failures),
                    "rate": row.rate,
                    "low": low[index] if row.n else None,
                    "high": high[index] if row.n else None,
                    "is_reference": bool(row.is_reference),
                }
            )
        )
    return out


def _slices(result: Any) -> list[dict[str, Any]]:
    frame = result.slices.slices
    out = []
    for row in _records(frame):
        out.append(
            {
                "description": row.get("description"),
                "predicates": [
                    {
                        "column": p[0],
                        "op": p[1],
                        "value": _clean(p[2]),
                        "label": _clean(p[3]) if len(p) > 3 else None,
                    }
                    if isinstance(p, (list, tuple))
                    else _clean(dict(p))
                    for p in (row.get("predicates") or [])
                ],
                "level": row.get("level") or len(row.get("predicates") or []) or 1,
                "n": row.get("n") or 0,
                "failures": row.get("failures") or 0,
                "error_rate": _interval(row.get("error_rate"), row.get("error_low"), row.get("error_high")),
                "lift": row.get("lift"),
                "score": row.get("score"),
                "reference_rate": row.get("reference_rate"),
                "excess": row.get("excess"),
                "excess_share": row.get("excess_share"),
                "q_value": row.get("q_value"),
            }
        )
    return out


def _decomposition(result: Any) -> dict[str, Any] | None:
    decomposition = result.decomposition
    if decomposition is None:
        return None
    cells = getattr(decomposition, "cells", None)
    top: list[dict[str, Any]] = []
    if isinstance(cells, pd.DataFrame) and not cells.empty:
        labelled = cells.head(8).copy()  # sorted by the absolute total contribution
        bins = result.slices.bins
        for key in decomposition.keys:
            if key in bins and key in labelled:
                labelled[key] = [_bin_label(bins[key], code) for code in labelled[key]]
        top = _records(labelled)
    by_version = getattr(decomposition, "by_version", None)
    return {
        "keys": list(decomposition.keys),
        "reference_rate": float(decomposition.reference_rate),
        "incident_rate": float(decomposition.incident_rate),
        "observed_change": float(decomposition.observed_change),
        "mix": _part(decomposition.mix),
        "conditional": _part(decomposition.conditional),
        "unseen": _part(decomposition.unseen),
        "by_version": _records(by_version) if isinstance(by_version, pd.DataFrame) else [],
        "top_cells": top,
    }


def _bin_label(bins: Any, code: object) -> str:
    from analysis._root_cause_shift import _label

    return _label(bins, code)


def _onset_row(onset: Any) -> dict[str, Any]:
    return _clean(onset.as_row())


def result_summary(result: Any) -> dict[str, Any]:
    """The summary dictionary of an :class:`analysis.root_cause.RootCauseResult`.

    The section validates it with its ``RootCauseSummary``.
    """
    change = result.failure
    excess = change.excess
    quality = result.quality.findings if result.quality is not None else None
    return {
        "as_of": result.windows.as_of,
        "windows": {window.name: window for window in result.windows},
        "chunk": result.chunk,
        "failure": {
            "signal": result.signal,
            "labels_used": result.labels_used,
            "reference_rate": _clean(change.reference_rate),
            "incident_rate": _clean(change.incident_rate),
            "n_reference": change.n_reference,
            "n_incident": change.n_incident,
            "failures_incident": change.failures_incident,
            "excess": _interval(excess.estimate, excess.lower, excess.upper) if excess is not None else None,
            "dispersion": float(change.dispersion),
            "significant": change.significant,
            "rule": FAILURE_RULE,
        },
        "onset": _onset_row(change.onset),
        "change_points": list(change.change_points),
        "detection": _clean(result.detection),
        "onsets": [_onset_row(onset) for onset in result.onsets],
        "failure_over_time": _failure_points(result),
        "slices": _slices(result),
        "slice_features": list(result.slice_features),
        "slice_note": result.slices.limitation,
        "verdict": result.verdict,
        "verdict_sentence": result.verdict_sentence,
        "verdict_rule": VERDICT_RULE,
        "decomposition": _decomposition(result),
        "quality": _records(quality),
        "shifts": [
            _clean(
                {
                    "feature": shift.feature,
                    "psi": shift.psi,
                    "level": shift.level,
                    "moves": [list(move) for move in shift.moves[:3]],
                    "onset": shift.onset.window.at if shift.onset and shift.onset.window else None,
                }
            )
            for shift in result.shifts
        ],
        "events": _records(result.events),
        "causes": [
            _clean(
                {
                    "rank": rank,
                    "kind": cause.kind,
                    "subject": cause.subject,
                    "title": cause.title,
                    "sentence": cause.sentence,
                    "evidence": list(cause.evidence),
                    "strength": cause.strength,
                    "share": _interval(cause.share.estimate, cause.share.low, cause.share.high)
                    if cause.share
                    else None,
                    "timing": cause.timing,
                    "refuted_if": cause.refuted_if,
                    "started": cause.started,
                    "columns": list(cause.columns),
                    "model_version": cause.model_version,
                    "slice": cause.slice,
                    "events": list(cause.events),
                }
            )
            for rank, cause in enumerate(result.causes, start=1)
        ],
        "strength_rule": STRENGTH_RULE,
        "recorded": _clean(result.recorded),
        "limitations": list(result.limitations),
    }
