"""Result types of the drift analysis (private; re-exported from :mod:`analysis.drift`).

Plain frozen dataclasses with their JSON summaries; they import nothing of the computation, so the figures
(:mod:`analysis._drift_figures`) can import them without importing the drift functions.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Literal

import pandas as pd

__all__ = [
    "ColumnDrift",
    "ColumnKind",
    "DomainClassifierResult",
    "DriftResult",
    "WindowedDriftResult",
    "finite_or_none",
]

ColumnKind = Literal["numeric", "categorical"]
#: New/vanished categories listed per column in a summary.
MAX_LISTED_CATEGORIES = 50


def finite_or_none(value: float | None) -> float | None:
    """JSON-friendly float: NaN/inf become None.

    Examples
    --------
    >>> finite_or_none(float("nan")), finite_or_none(2), finite_or_none(None)
    (None, 2.0, None)
    """
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


@dataclass(frozen=True)
class ColumnDrift:
    """Drift of one column between reference and current.

    ``statistic``/``drifted`` are the Evidently-compatible test's; ``p_value`` is that test's p-value, or for
    a distance test the two-sample p-value of the same data (``p_value_test``: KS for numeric with more
    than 5 values, chi-square homogeneity otherwise), which Benjamini-Hochberg adjusts across columns.
    """

    column: str
    kind: ColumnKind
    test: str | None
    statistic: float | None
    p_value: float | None
    p_value_test: str | None
    threshold: float | None
    drifted: bool
    bh_q: float | None
    bh_rejected: bool
    psi: float | None
    null_rate_ref: float | None
    null_rate_cur: float | None
    new_categories: tuple[str, ...]
    vanished_categories: tuple[str, ...]
    method_path: str
    n_ref: int
    n_cur: int
    n_distinct: int
    ks_d: float | None = None
    wasserstein: float | None = None
    note: str | None = None
    bin_labels: tuple[str, ...] = ()
    reference_shares: tuple[float, ...] = ()
    current_shares: tuple[float, ...] = ()

    def to_summary(self) -> dict[str, Any]:
        """JSON-serialisable summary with stable keys."""
        return {
            "column": self.column,
            "kind": self.kind,
            "test": self.test,
            "statistic": finite_or_none(self.statistic),
            "p_value": finite_or_none(self.p_value),
            "p_value_test": self.p_value_test,
            "threshold": self.threshold,
            "drifted": bool(self.drifted),
            "bh_q": finite_or_none(self.bh_q),
            "bh_rejected": bool(self.bh_rejected),
            "psi": finite_or_none(self.psi),
            "null_rate_ref": finite_or_none(self.null_rate_ref),
            "null_rate_cur": finite_or_none(self.null_rate_cur),
            "new_categories": list(self.new_categories[:MAX_LISTED_CATEGORIES]),
            "vanished_categories": list(self.vanished_categories[:MAX_LISTED_CATEGORIES]),
            "method_path": self.method_path,
            "n_ref": self.n_ref,
            "n_cur": self.n_cur,
            "n_distinct": self.n_distinct,
            "note": self.note,
        }


@dataclass(frozen=True)
class DriftResult:
    """Per-column drift and the dataset-level verdict (see :func:`analysis.drift.data_drift`)."""

    columns: tuple[ColumnDrift, ...]
    n_columns: int
    n_drifted: int
    share: float
    dataset_drift: bool
    drift_share: float
    fdr_q: float
    n_bh_rejected: int
    method: str
    memory_budget_bytes: int
    n_ref_rows: int
    n_cur_rows: int

    def to_summary(self) -> dict[str, Any]:
        """JSON-serialisable summary: ``dataset`` verdict, ``columns`` list, ``parameters``."""
        return {
            "dataset": {
                "n_columns": self.n_columns,
                "n_drifted": self.n_drifted,
                "share": self.share,
                "dataset_drift": bool(self.dataset_drift),
                "drift_share": self.drift_share,
                "n_bh_rejected": self.n_bh_rejected,
                "fdr_q": self.fdr_q,
                "n_ref_rows": self.n_ref_rows,
                "n_cur_rows": self.n_cur_rows,
            },
            "columns": [column.to_summary() for column in self.columns],
            "parameters": {"method": self.method, "memory_budget_bytes": self.memory_budget_bytes},
        }

    def to_frame(self) -> pd.DataFrame:
        """One row per column, for display."""
        return pd.DataFrame([column.to_summary() for column in self.columns])

    def __getitem__(self, column: str) -> ColumnDrift:
        """The drift of one column by name."""
        for entry in self.columns:
            if entry.column == column:
                return entry
        raise KeyError(column)


@dataclass(frozen=True)
class WindowedDriftResult:
    """Per-chunk drift statistics against frozen reference bins (see :func:`analysis.drift.windowed_drift`).

    ``chunks`` has one row per (column, chunk): ``column``, ``chunk_start``, ``is_reference``, ``complete``
    (the whole chunk lies inside its window), ``n``, ``null_rate``, ``statistic`` (the chosen one), ``psi``,
    ``jensenshannon``, ``p_value_naive`` (chi-square homogeneity of the chunk against the reference,
    uncorrected). ``thresholds`` has one row per column: ``fixed_threshold``; ``normal_upper``, the normal
    range of the complete reference chunks (:func:`analysis.onset.normal_upper_bound`: median + 3 * 1.4826
    MAD, or the reference maximum when MAD is 0); ``adaptive_lower``/``adaptive_upper``, mean -/+ 3 sd of
    the same chunks (information only: one unusual reference chunk inflates it, so it decides no onset);
    ``n_reference_chunks`` (complete ones); ``threshold_used`` (``adaptive``: the normal range, with at
    least ``min_reference_chunks`` reference chunks; else ``fixed``) and ``upper_bound``, its value;
    ``onset`` (first current chunk past ``upper_bound`` that the next one confirms:
    :func:`analysis.onset.onset_in_chunks`), ``onset_fixed`` (the same against the fixed threshold),
    ``first_past`` (first current chunk past ``upper_bound``, confirmed or not) and a ``note``.
    """

    statistic: str
    chunk: str
    fixed_threshold: float
    min_reference_chunks: int
    chunks: pd.DataFrame
    thresholds: pd.DataFrame
    bin_edges: dict[str, tuple[float, ...]] = field(default_factory=dict)
    confirm_chunks: int = 2

    def onset(self, column: str) -> datetime | None:
        """Drift onset of one column (first current chunk past the threshold, confirmed), or None."""
        row = self.thresholds.loc[self.thresholds["column"] == column]
        if row.empty or pd.isna(row["onset"].iloc[0]):
            return None
        return pd.Timestamp(row["onset"].iloc[0]).to_pydatetime()

    def to_summary(self) -> dict[str, Any]:
        """JSON-serialisable summary (per column: thresholds, onset, naive and flagged chunk counts)."""
        per_column = []
        for record in self.thresholds.to_dict("records"):
            per_column.append(
                {
                    str(key): (
                        None
                        if (isinstance(value, float) and not math.isfinite(value)) or value is pd.NaT
                        else (value.isoformat() if isinstance(value, pd.Timestamp | datetime) else value)
                    )
                    for key, value in record.items()
                }
            )
        return {
            "statistic": self.statistic,
            "chunk": self.chunk,
            "fixed_threshold": self.fixed_threshold,
            "min_reference_chunks": self.min_reference_chunks,
            "confirm_chunks": self.confirm_chunks,
            "columns": per_column,
        }


@dataclass(frozen=True)
class DomainClassifierResult:
    """Multivariate drift by a domain classifier (see :func:`analysis.drift.domain_classifier_drift`)."""

    auc: float
    auc_lower: float
    auc_upper: float
    confidence: float
    interval_method: str
    drifted: bool
    auc_threshold: float
    n_sample_ref: int
    n_sample_cur: int
    n_test: int
    random_state: int
    sample_size: int
    model: str
    importances: pd.DataFrame
    notes: tuple[str, ...] = ()

    def to_summary(self) -> dict[str, Any]:
        """JSON-serialisable summary (AUC, interval, sample record, top features, notes)."""
        summary = {k: v for k, v in asdict(self).items() if k not in ("importances", "notes")}
        summary["notes"] = list(self.notes)
        summary["importances"] = [
            {"feature": str(r["feature"]), "importance": float(r["importance"]), "std": float(r["std"])}
            for r in self.importances.to_dict("records")
        ]
        return summary
