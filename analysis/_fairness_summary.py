"""A fairness result and the JSON summary a report reads: suppressed cells blanked, intervals as objects."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from analysis._fairness_cells import FairnessCells
from analysis._fairness_stats import METRICS
from analysis.data import CHUNK_LENGTHS

__all__ = ["FairnessResult", "summary_of"]


@dataclass
class FairnessResult:
    """Everything :func:`assess_fairness` found (tables as DataFrames; :meth:`to_summary` for the report)."""

    cells: FairnessCells
    metrics: pd.DataFrame
    disparities: pd.DataFrame
    by_version: pd.DataFrame
    versions: pd.DataFrame
    composites: pd.DataFrame
    four_fifths: pd.DataFrame
    calibration: pd.DataFrame
    references: dict[str, str]
    headline: dict[str, Any] | None
    persistent: dict[str, Any] | None
    gap_over_time: pd.DataFrame
    limitations: list[str]
    parameters: dict[str, Any] = field(default_factory=dict)

    def to_summary(self) -> dict[str, Any]:
        """A JSON-compatible summary (the section's ``FairnessSummary`` validates it)."""
        return summary_of(self)


def _number(value: Any) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number


def _interval(estimate: Any, low: Any, high: Any, level: float) -> dict[str, Any] | None:
    value = _number(estimate)
    if value is None:
        return None
    return {"estimate": value, "low": _number(low), "high": _number(high), "level": level}


def _time(value: Any) -> str | None:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    return pd.Timestamp(value).isoformat()


def _metrics(result: FairnessResult, level: float) -> list[dict[str, Any]]:
    rows = []
    for row in result.metrics.to_dict("records"):
        suppressed = bool(row["suppressed"])
        metrics = {
            name: None if suppressed else _interval(row[name], row[f"{name}_low"], row[f"{name}_high"], level)
            for name in METRICS
        }
        rows.append(
            {
                "grouping": row["grouping"],
                "group": str(row["group"]),
                "window": row["window"],
                "n": None if suppressed else int(row["n"]),
                "n_labelled": None if suppressed else int(row["labelled"]),
                "suppressed": suppressed,
                "metrics": metrics,
            }
        )
    return rows


def _disparities(frame: pd.DataFrame, level: float, *, window: bool = True) -> list[dict[str, Any]]:
    rows = []
    for row in frame.to_dict("records"):
        hidden = row["verdict"] == "not enough data"
        item: dict[str, Any] = {
            "grouping": row["grouping"],
            "group": str(row["group"]),
            "reference_group": str(row["reference_group"]),
            "metric": row["metric"],
            "verdict": row["verdict"],
            "value": None if row["suppressed"] else _number(row["value"]),
            "reference_value": None if row.get("reference_suppressed") else _number(row["reference_value"]),
            "difference": None
            if hidden
            else _interval(row["difference"], row["difference_low"], row["difference_high"], level),
            "ratio": None if hidden else _interval(row["ratio"], row["ratio_low"], row["ratio_high"], level),
            "p_adjusted": None if hidden else _number(row["p_adjusted"]),
        }
        if window:
            item["window"] = row["window"]
            if "change" in row and not hidden:
                item["before"] = _interval(row["before"], row["before_low"], row["before_high"], level)
                item["change"] = _interval(row["change"], row["change_low"], row["change_high"], level)
                item["opened"] = bool(row["opened"])
        else:
            item["model_version"] = str(row["model_version"])
        rows.append(item)
    return rows


def _gap(h: dict[str, Any] | None, level: float, chunk: str) -> dict[str, Any] | None:
    if h is None:
        return None
    onset = h.get("onset")
    return {
        "grouping": h["grouping"],
        "group": h["group"],
        "reference_group": h["reference_group"],
        "metric": h["metric"],
        "value": _number(h["value"]),
        "reference_value": _number(h["reference_value"]),
        "difference": _interval(h["difference"], h["difference_low"], h["difference_high"], level),
        "ratio": _interval(h["ratio"], h["ratio_low"], h["ratio_high"], level),
        "before": _interval(h["before"], h["before_low"], h["before_high"], level),
        "change": _interval(h["change"], h["change_low"], h["change_high"], level),
        "opened": bool(h["opened"]),
        "onset": _time(onset),
        "onset_until": _time(pd.Timestamp(onset) + CHUNK_LENGTHS[chunk]) if onset is not None else None,
        "model_version": h.get("model_version"),
        "deployed_at": _time(h.get("deployed_at")),
    }


def _gap_point(row: dict[str, Any], min_cell_size: int) -> dict[str, Any]:
    """One chunk of the headline gap; a chunk where either group has fewer than ``min_cell_size`` is blank."""
    small = min(int(row["n_group"]), int(row["n_reference"])) < min_cell_size
    return {
        "chunk_start": _time(row["chunk_start"]),
        "gap": None if small else _number(row["gap"]),
        "low": None if small else _number(row["low"]),
        "high": None if small else _number(row["high"]),
        "n_group": None if small else int(row["n_group"]),
        "n_reference": None if small else int(row["n_reference"]),
        "suppressed": small,
    }


def summary_of(result: FairnessResult) -> dict[str, Any]:
    """The JSON-compatible summary of a :class:`analysis.fairness.FairnessResult`."""
    params = result.parameters
    level = float(params["confidence"])
    cells = result.cells
    disparities = result.disparities
    incident = disparities[disparities["window"] == "incident"] if not disparities.empty else disparities
    headline = _gap(result.headline, level, cells.chunk)
    persistent = _gap(result.persistent, level, cells.chunk)
    singles = result.by_version
    if not singles.empty:
        singles = singles[~singles["grouping"].str.contains(" × ", regex=False)]
    return {
        "attributes": list(cells.attributes),
        "groupings": sorted(set(result.metrics["grouping"]), key=list(result.metrics["grouping"]).index)
        if not result.metrics.empty
        else [],
        "references": dict(result.references),
        "reference_rule": params["reference_rule"],
        "windows": {"reference": cells.windows.reference, "incident": cells.windows.incident},
        "chunk": cells.chunk,
        "labels_used": cells.labels_used,
        "label_note": cells.label_note,
        "min_cell_size": int(params["min_cell_size"]),
        "confidence": level,
        "difference_threshold": float(params["difference_threshold"]),
        "ratio_threshold": float(params["ratio_threshold"]),
        "alpha": float(params["alpha"]),
        "opened_alpha": float(params["opened_alpha"]),
        "metrics": _metrics(result, level),
        "disparities": _disparities(incident, level) if not incident.empty else [],
        "by_version": _disparities(singles, level, window=False) if not singles.empty else [],
        "versions": [
            {**row, "first_seen": _time(row["first_seen"]), "last_seen": _time(row["last_seen"])}
            for row in result.versions.to_dict("records")
        ],
        "composites": [
            {
                "grouping": row["grouping"],
                "window": row["window"],
                "metric": row["metric"],
                "value": _interval(row["estimate"], row["low"], row["high"], level),
            }
            for row in result.composites.to_dict("records")
        ],
        "four_fifths": [
            {
                "grouping": row["grouping"],
                "window": row["window"],
                "group": str(row["group"]),
                "highest_group": str(row["highest_group"]),
                "ratio": _interval(row["ratio"], row["ratio_low"], row["ratio_high"], level),
                "flagged": bool(row["flagged"]),
                "confirmed": bool(row["confirmed"]),
            }
            for row in result.four_fifths.to_dict("records")
        ],
        "headline_gap": headline,
        "persistent_gap": persistent,
        "gap_over_time": [
            _gap_point(row, int(params["min_cell_size"])) for row in result.gap_over_time.to_dict("records")
        ],
        "n_compared": int((incident["verdict"] != "not enough data").sum()) if not incident.empty else 0,
        "n_significant": int((incident["verdict"] == "significant").sum()) if not incident.empty else 0,
        "n_opened": int(incident["opened"].astype(bool).sum()) if not incident.empty else 0,
        "limitations": list(result.limitations),
    }
