"""What the drift notebook calls: drift of a whole data card.

The section notebooks stay thin: they load the investigation context (:mod:`analysis.context`) and make
one call per section. The logic that maps a data card's roles onto the drift functions (which features,
the score, the prediction, the label as of a time) lives here, where it is tested. The staleness of inputs
fed by upstream jobs (input freshness) is a data-quality check: :mod:`analysis.data_quality`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import plotly.graph_objects as go
from ibis.expr import types as ir

from analysis.data import (
    Chunk,
    IncidentWindows,
    LogTable,
    Window,
    aligned_windows,
    labels_at_equal_maturity,
)
from analysis.data_quality import InputFreshness, freshness_figure, input_freshness
from analysis.drift import (
    DomainClassifierResult,
    DriftResult,
    WindowedDriftResult,
    data_drift,
    domain_classifier_drift,
    windowed_drift,
)
from analysis.errors import AnalysisError
from analysis.onset import ColumnOnset, column_onset, column_onsets
from register.schema import DataCard, as_utc

__all__ = [
    "CardDrift",
    "drift_for_card",
]


# --------------------------------------------------------------------------------------------------
# Drift of a whole data card
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CardDrift:
    """Drift of every role of a data card between the reference and the incident window.

    ``columns`` maps each analysed column to its role (feature, score, prediction, label). ``drift`` is
    the per-column, Evidently-compatible result; ``windowed`` the per-chunk statistics with the drift
    onset of each column; ``domain`` the multivariate domain classifier (None when it could not run);
    ``freshness`` the inputs fed by upstream jobs.
    """

    reference: Window
    current: Window
    as_of: datetime
    roles: Mapping[str, str]
    drift: DriftResult
    windowed: WindowedDriftResult | None
    domain: DomainClassifierResult | None
    freshness: tuple[InputFreshness, ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def drifted_columns(self) -> list[str]:
        """Columns whose Evidently-compatible test says drift, in analysis order."""
        return [column.column for column in self.drift.columns if column.drifted]

    @property
    def stale_features(self) -> list[str]:
        """Inputs whose as-of time fell behind past the threshold."""
        return [entry.feature for entry in self.freshness if entry.stale]

    def onset_of(self, column: str) -> datetime | None:
        """Drift onset of one column: first chunk past its threshold (freshness, then windowed drift)."""
        for entry in self.freshness:
            if entry.feature == column and entry.onset is not None:
                return entry.onset
        return self.sustained_shift(column)[1]

    def column_onsets(self) -> dict[str, ColumnOnset]:
        """Normal range, sustained shift and onset of every windowed column (:mod:`analysis.onset`).

        The rule of :meth:`sustained_shift`, for all columns at once; the chunks of the current window
        decide whether a shift is sustained.
        """
        if self.windowed is None:
            return {}
        return column_onsets(self.windowed.chunks, current_start=self.current.start)

    def sustained_shift(self, column: str) -> tuple[bool, datetime | None]:
        """Whether a column's per-chunk statistic left its normal day-to-day range, and from when.

        The range is robust to odd reference chunks: the median of the complete reference chunks' statistic
        plus 3 scaled median absolute deviations (1.4826 MAD estimates the standard deviation), or the largest
        reference value when the deviation is 0 (:func:`analysis.onset.normal_upper_bound`; the windowed
        drift's mean + 3 sd, inflated by a single unusual reference day, is information only). A shift is
        sustained when the median statistic of the chunks inside the current window is past that range, so a
        drift verdict that comes from the weekday mix of a short window is not mistaken for a change. Its
        onset is the first current chunk past the range that the next chunk confirms
        (:func:`analysis.onset.column_onset`).
        """
        if self.windowed is None or column not in set(self.windowed.chunks["column"]):
            return False, None
        result = column_onset(self.windowed.chunks, column, current_start=self.current.start)
        return result.sustained, result.onset

    def summary_onsets(self) -> dict[str, ColumnOnset]:
        """Per analysed column, the bound and the onset its summary entry reports.

        The onset is :meth:`onset_of` for a column whose test says drift, else None: what
        ``to_summary()["columns"][i]["onset"]``, the timeline and the drift-over-time figure show.
        """
        ranges = self.column_onsets()
        onsets = {}
        for entry in self.drift.columns:
            normal = ranges.get(entry.column, ColumnOnset(entry.column, None, False, None))
            onset = self.onset_of(entry.column) if entry.drifted else None
            onsets[entry.column] = ColumnOnset(entry.column, normal.upper, normal.sustained, onset)
        return onsets

    def to_summary(self, *, incident_id: str) -> dict[str, Any]:
        """The drift section's ``summary.json`` (satisfies ``workbench.sections.DriftSummary``)."""
        columns = []
        onsets = self.summary_onsets()
        for column in self.drift.columns:
            entry = column.to_summary()
            sustained, onset = onsets[column.column].sustained, onsets[column.column].onset
            entry.update(
                confirmed=bool(column.drifted and sustained),
                sustained_shift=sustained,
                role=self.roles.get(column.column, "feature"),
                p_value=_probability(entry.get("p_value")),
                p_value_bh=_probability(entry.get("bh_q")),
                onset=onset.isoformat() if onset else None,
            )
            columns.append(entry)
        drifted_features = [c["column"] for c in columns if c["confirmed"] and c["role"] == "feature"]
        stale = self.stale_features
        within_variation = [
            c["column"]
            for c in columns
            if c["drifted"] and not c["confirmed"] and c["role"] == "feature" and c["column"] not in stale
        ]
        first_onsets = [
            value for name in [*drifted_features, *stale] if (value := self.onset_of(name)) is not None
        ]
        drifted_features = sorted(
            drifted_features, key=lambda name: (self.onset_of(name) or datetime.max.replace(tzinfo=UTC), name)
        )
        domain = self.domain
        return {
            "section": "drift",
            "incident_id": incident_id,
            "as_of": self.as_of.isoformat(),
            "reference_window": {
                "start": self.reference.start.isoformat(),
                "end": self.reference.end.isoformat(),
            },
            "current_window": {"start": self.current.start.isoformat(), "end": self.current.end.isoformat()},
            "method": (
                "Evidently-compatible default tests per column (KS / chi-square / z-test up to 1,000 "
                "reference rows, normed Wasserstein / Jensen-Shannon above); Benjamini-Hochberg across "
                "p-values; "
                f"computation path: {self.drift.method}"
            ),
            "n_columns": self.drift.n_columns,
            "n_drifted": self.drift.n_drifted,
            "share_drifted": float(self.drift.share),
            "dataset_drift": bool(self.drift.dataset_drift),
            "n_bh_rejected": self.drift.n_bh_rejected,
            "columns": columns,
            "drifted_features": drifted_features,
            "drift_within_normal_variation": within_variation,
            "stale_features": stale,
            "stale_inputs": [entry.to_summary() for entry in self.freshness],
            "onset": min(first_onsets).isoformat() if first_onsets else None,
            "windowed": self.windowed.to_summary() if self.windowed is not None else None,
            "multivariate_auc": (
                {
                    "estimate": domain.auc,
                    "low": domain.auc_lower,
                    "high": domain.auc_upper,
                    "level": domain.confidence,
                    "method": domain.interval_method,
                }
                if domain is not None
                else None
            ),
            "domain_classifier": domain.to_summary() if domain is not None else None,
            "notes": list(self.notes),
        }

    def figures(self) -> dict[str, go.Figure]:
        """The drift section's figures by id (``drift_table``, ``drift_over_time``, ``input_freshness``)."""
        from analysis._drift_figures import drift_over_time_figure, drift_table_figure

        figures = {"drift_table": drift_table_figure(self.drift)}
        if self.windowed is not None:
            shown = self.drifted_columns or [c.column for c in self.drift.columns[:4]]
            shown = [c for c in shown if c in set(self.windowed.thresholds["column"])][:8]
            # the figure marks the summary's onsets against the same bound (one rule: analysis.onset)
            # the drift table's test per column is named beside the windowed statistic the figure draws;
            # the shaded window is the summary's current window
            figures["drift_over_time"] = drift_over_time_figure(
                self.windowed,
                columns=shown or None,
                onsets=self.summary_onsets(),
                table_tests={column.column: column.test for column in self.drift.columns},
                current_window=(self.current.start, self.current.end),
            )
        if self.freshness:
            figures["input_freshness"] = freshness_figure(self.freshness)
        return figures


def _probability(value: Any) -> float | None:
    if value is None:
        return None
    value = float(value)
    return min(max(value, 0.0), 1.0) if math.isfinite(value) else None


def _card_roles(card: DataCard, table: ir.Table) -> dict[str, str]:
    """The role of each column the data card names (feature, score, prediction, label), all in the log."""
    roles_cols = card.columns
    roles: dict[str, str] = dict.fromkeys(roles_cols.features, "feature")
    for role, name in (
        ("score", roles_cols.score),
        ("prediction", roles_cols.prediction),
        ("label", roles_cols.label),
    ):
        if name and name not in roles:
            roles[name] = role
    missing = [name for name in [*roles, roles_cols.event_time] if name not in table.columns]
    if missing:
        raise AnalysisError(
            f"the log lacks columns the data card names: {missing}. Fix the data card or the log."
        )
    return roles


def _domain_drift(
    table: ir.Table,
    card: DataCard,
    reference: Window,
    current: Window,
    sample_size: int,
    random_state: int,
) -> DomainClassifierResult:
    """The domain classifier on the data card's features, with 3 permutation repeats."""
    return domain_classifier_drift(
        table,
        columns=list(card.columns.features),
        categorical=list(card.columns.categorical_features),
        time_column=card.columns.event_time,
        reference_window=reference,
        current_window=current,
        sample_size=sample_size,
        random_state=random_state,
        n_repeats=3,
    )


def drift_for_card(
    log: LogTable | ir.Table,
    card: DataCard,
    windows: IncidentWindows,
    *,
    as_of: datetime | None = None,
    chunk: Chunk = "day",
    sample_size: int = 10_000,
    random_state: int = 0,
    memory_limit: str | None = None,
) -> CardDrift:
    """Drift of every role of a data card: features, score, prediction and label (as of ``as_of``).

    The current window is the incident window; the windowed statistics run from the reference start to
    the incident end so that a column's onset may precede the recorded occurrence. Labels count only when
    observed by ``as_of``.

    Parameters
    ----------
    log : LogTable or ibis Table
        The prediction log (see :func:`analysis.data.open_logs`).
    card : DataCard
        Its data card.
    windows : IncidentWindows
        Reference and incident windows.
    as_of : datetime, optional
        Analysis time; defaults to ``windows.as_of``.
    chunk : {"hour", "day", "week"}
        Size of the chunks of the windowed statistics.
    sample_size, random_state : int
        Sample of the domain classifier (recorded in the result).
    memory_limit : str, optional
        DuckDB memory limit for the exact per-value statistics.

    Returns
    -------
    CardDrift
    """
    table = log.table if isinstance(log, LogTable) else log
    as_of = as_utc(as_of) if as_of is not None else windows.as_of
    roles_cols = card.columns
    roles = _card_roles(card, table)
    reference, current = windows.reference, windows.incident
    notes: list[str] = []
    if roles_cols.label and roles_cols.label in table.columns:
        matured = labels_at_equal_maturity(table, card, reference, current, as_of)
        table = matured.table
        notes.append(matured.note)
        if not matured.used:
            roles.pop(roles_cols.label, None)
    categorical = list(roles_cols.categorical_features)
    if card.task in ("binary_classification", "multiclass_classification"):
        categorical += [name for name in (roles_cols.prediction, roles_cols.label) if name]
    drift = data_drift(
        table,
        columns=list(roles),
        categorical=categorical,
        time_column=roles_cols.event_time,
        reference_window=reference,
        current_window=current,
        memory_limit=memory_limit,
    )
    # Per-chunk statistics compare whole chunks: a chunk cut by a window edge holds only some hours of its
    # day, which alone moves features such as the hour of day. Align the windows to chunk boundaries.
    chunk_reference, span = aligned_windows(reference, current, chunk, as_of)
    windowed = None
    if span.end > span.start and chunk_reference.end > chunk_reference.start:
        windowed = windowed_drift(
            table,
            columns=list(roles),
            categorical=categorical,
            time_column=roles_cols.event_time,
            reference_window=chunk_reference,
            current_window=span,
            chunk=chunk,
            memory_limit=memory_limit,
        )
    domain = None
    if roles_cols.features:
        try:
            domain = _domain_drift(table, card, reference, current, sample_size, random_state)
        except AnalysisError as exc:
            notes.append(f"domain classifier not run: {exc}")
    freshness = tuple(
        input_freshness(table, card, reference=reference, current=span, chunk=chunk)
        if roles_cols.input_as_of
        else ()
    )
    return CardDrift(
        reference=reference,
        current=current,
        as_of=as_of,
        roles=roles,
        drift=drift,
        windowed=windowed,
        domain=domain,
        freshness=freshness,
        notes=tuple(notes),
    )
