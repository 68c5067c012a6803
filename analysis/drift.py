"""Drift between a reference and a current window: per column, over time, and multivariate.

Public functions
----------------
- :func:`data_drift` -- per-column drift with Evidently-compatible default test selection, plus
  Benjamini-Hochberg, PSI on frozen reference bins, new/vanished categories, null-rate change and a
  dataset-level verdict. Exact statistics run in the engine or on a columnar path (same numbers).
- :func:`windowed_drift` -- the statistic per time chunk against frozen reference quantile bins, with
  fixed and adaptive (mean +/- 3 sd over reference chunks) thresholds and the drift onset per column.
- :func:`domain_classifier_drift` -- multivariate drift: a classifier told to separate reference from
  current on a seeded, recorded sample; ROC AUC with a DeLong interval and permutation importances.

Evidently compatibility (checked against Evidently 0.7.21-0.7.23 source, ``src/evidently/legacy``)
-----------------------------------------------------------------------------------------------------
Default test selection mirrors ``calculations/stattests/registry.py::_get_default_stattest`` as called by
``calculations/data_drift.py::get_one_column_drift``:

1. the column is cleaned first: +/-inf become NaN and NaN/NULL rows are dropped, separately in reference
   and current (``get_one_column_drift``); "reference rows" are the remaining reference rows;
2. ``n_values`` = distinct values of reference and current together (``pd.concat(...).nunique()``);
3. reference rows <= 1000: numeric with ``n_values > 5`` -> ``ks`` (``ks_stattest.py``, drift when
   p <= 0.05); numeric with 3-5 values or categorical with > 2 -> ``chisquare`` (``chisquare_stattest.py``,
   goodness of fit, expected = reference count x n_cur / n_ref, drift when p < 0.05); 1-2 values -> ``z``
   (``z_stattest.py``, two proportions, drift when p < 0.05);
4. reference rows > 1000: numeric with ``n_values > 5`` -> ``wasserstein`` (``wasserstein_distance_norm.py``:
   ``wasserstein_distance / max(np.std(reference), 0.001)``, drift when >= 0.1); otherwise
   ``jensenshannon`` (``jensenshannon.py`` with ``utils.get_binned_data(..., feel_zeroes=False)``: shares per
   value, or per Sturges bin of reference and current together for numeric with > 20 reference values;
   natural log; drift when >= 0.1);
5. dataset drift when the share of drifted columns >= 0.5 (``data_drift.py::get_dataset_drift``).

``psi`` selected by name is Evidently's ``psi.py`` (bins of reference and current together, Evidently's
zero filling). The ``psi`` field reported for every column is different: it uses bins frozen from the
reference alone (deciles; categories plus an "unseen" bin), so it is comparable across windows.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from typing import Any, Literal

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from analysis import _drift_engine as eng
from analysis import _drift_stats as st
from analysis._drift_figures import distribution_figure, drift_over_time_figure, drift_table_figure
from analysis.data import CHUNK_LENGTHS, CHUNKS
from analysis.errors import DataValidationError, EmptyWindowError, InvalidParameterError

__all__ = [
    "DEFAULT_THRESHOLDS",
    "ColumnDrift",
    "DomainClassifierResult",
    "DriftResult",
    "WindowedDriftResult",
    "confirmed_onset",
    "data_drift",
    "distribution_figure",
    "domain_classifier_drift",
    "drift_over_time_figure",
    "drift_table_figure",
    "windowed_drift",
]

TestName = Literal["ks", "chisquare", "z", "wasserstein", "jensenshannon", "psi"]
Method = Literal["auto", "engine", "columnar"]

#: Default threshold per test (Evidently's defaults). p-value tests flag drift when p is below it
#: (``ks``: p <= threshold, as Evidently), distances when the statistic is at or above it.
DEFAULT_THRESHOLDS: dict[str, float] = {
    "ks": 0.05,
    "chisquare": 0.05,
    "z": 0.05,
    "wasserstein": 0.1,
    "jensenshannon": 0.1,
    "psi": 0.1,
}
P_VALUE_TESTS = frozenset({"ks", "chisquare", "z"})
NUMERIC_ONLY_TESTS = frozenset({"ks", "wasserstein"})
EVIDENTLY_DISPLAY_NAMES = {
    "ks": "K-S p_value",
    "chisquare": "chi-square p_value",
    "z": "Z-test p_value",
    "wasserstein": "Wasserstein distance (normed)",
    "jensenshannon": "Jensen-Shannon distance",
    "psi": "PSI",
}
#: Reference rows up to which Evidently picks KS / chi-square / z (``registry._get_default_stattest``).
SMALL_REFERENCE_ROWS = 1000
#: Numeric columns with more distinct values than this use KS / Wasserstein.
LOW_CARDINALITY = 5
#: Evidently bins numeric columns with more reference values than this (``utils.get_binned_data``).
EVIDENTLY_BINNING_MIN_VALUES = 20
DEFAULT_MEMORY_BUDGET = 512 * 1024**2
#: Columnar path: a column with more (approximate) distinct values than this share of its rows is streamed
#: as rows and sorted in numpy; below it, the engine groups it into per-value counts first.
RAW_STREAM_DISTINCT_SHARE = 0.25
_MAX_LISTED_CATEGORIES = 50

_WINDOW_MESSAGE = (
    "{name} must be a (start, end) pair or an object with .start and .end. Got {value!r} instead."
)


# ------------------------------------------------------------------------------------------------- results
@dataclass(frozen=True)
class ColumnDrift:
    """Drift of one column between reference and current.

    ``statistic``/``drifted`` are the Evidently-compatible test's; ``p_value`` is that test's p-value, or for
    a distance test the two-sample p-value of the same data (``p_value_test``: KS for numeric with more
    than 5 values, chi-square homogeneity otherwise), which Benjamini-Hochberg adjusts across columns.
    """

    column: str
    kind: Literal["numeric", "categorical"]
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
            "statistic": eng.finite_or_none(self.statistic),
            "p_value": eng.finite_or_none(self.p_value),
            "p_value_test": self.p_value_test,
            "threshold": self.threshold,
            "drifted": bool(self.drifted),
            "bh_q": eng.finite_or_none(self.bh_q),
            "bh_rejected": bool(self.bh_rejected),
            "psi": eng.finite_or_none(self.psi),
            "null_rate_ref": eng.finite_or_none(self.null_rate_ref),
            "null_rate_cur": eng.finite_or_none(self.null_rate_cur),
            "new_categories": list(self.new_categories[:_MAX_LISTED_CATEGORIES]),
            "vanished_categories": list(self.vanished_categories[:_MAX_LISTED_CATEGORIES]),
            "method_path": self.method_path,
            "n_ref": self.n_ref,
            "n_cur": self.n_cur,
            "n_distinct": self.n_distinct,
            "note": self.note,
        }


@dataclass(frozen=True)
class DriftResult:
    """Per-column drift and the dataset-level verdict (see :func:`data_drift`)."""

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


# ----------------------------------------------------------------------------------------------- helpers
def _window_bounds(window: object, name: str) -> tuple[object, object]:
    if window is None:
        raise InvalidParameterError(_WINDOW_MESSAGE.format(name=name, value=window))
    if hasattr(window, "start") and hasattr(window, "end"):
        return window.start, window.end
    if isinstance(window, Sequence) and len(window) == 2:
        return window[0], window[1]
    raise InvalidParameterError(_WINDOW_MESSAGE.format(name=name, value=window))


def _as_table(data: object, name: str) -> ir.Table:
    if isinstance(data, ir.Table):
        return data
    if isinstance(data, pd.DataFrame):
        return ibis.memtable(data)
    raise InvalidParameterError(
        f"{name} must be an Ibis table or a pandas DataFrame. Got {type(data).__name__} instead."
    )


def _check_columns(tables: Mapping[str, ir.Table], columns: Sequence[str]) -> None:
    failures = []
    for name, table in tables.items():
        schema = table.schema()
        for column in columns:
            if column not in schema:
                failures.append(
                    {"column": column, "check": "column_present", "failure_case": name, "row": None}
                )
    if failures:
        missing = sorted({f["column"] for f in failures})
        raise DataValidationError(
            f"columns must exist in the data. Missing: {', '.join(missing)}. "
            "Check the column list or the data card.",
            failures,
        )


def _prepare(
    reference: object,
    current: object,
    *,
    columns: Sequence[str],
    time_column: str | None,
    reference_window: object,
    current_window: object,
    keep_time: bool = False,
) -> tuple[ir.Table, ir.Table]:
    """Labelled table and one source table (for schema)."""
    if current is None:
        table = _as_table(reference, "reference")
        if time_column is None:
            raise InvalidParameterError(
                "time_column must be given when current is None (one table split by windows). "
                "Got None instead."
            )
        _check_columns({"table": table}, [*columns, time_column])
        ref_bounds = _window_bounds(reference_window, "reference_window")
        cur_bounds = _window_bounds(current_window, "current_window")
        if ref_bounds[0] < cur_bounds[1] and cur_bounds[0] < ref_bounds[1]:
            raise InvalidParameterError(
                "reference_window and current_window must not overlap. "
                f"Got {ref_bounds} and {cur_bounds} instead."
            )
        labelled = eng.labelled_table(
            None,
            None,
            columns=columns,
            table=table,
            time_column=time_column,
            reference_window=ref_bounds,
            current_window=cur_bounds,
            keep_time=keep_time,
        )
        return labelled, table
    ref_table = _as_table(reference, "reference")
    cur_table = _as_table(current, "current")
    _check_columns({"reference": ref_table, "current": cur_table}, columns)
    return eng.labelled_table(ref_table, cur_table, columns=columns), ref_table


def _column_kinds(
    schema: Any, columns: Sequence[str], categorical: Sequence[str] | None
) -> dict[str, Literal["numeric", "categorical"]]:
    declared = set(categorical or ())
    kinds: dict[str, Literal["numeric", "categorical"]] = {}
    for column in columns:
        dtype = schema[column]
        numeric = (dtype.is_numeric() and not dtype.is_boolean()) and column not in declared
        kinds[column] = "numeric" if numeric else "categorical"
    return kinds


def evidently_default_test(kind: str, n_ref: int, n_values: int) -> str:
    """The test Evidently 0.7 picks by default (``registry._get_default_stattest``).

    Parameters
    ----------
    kind : {"numeric", "categorical"}
        Column type as declared.
    n_ref : int
        Non-missing reference rows.
    n_values : int
        Distinct non-missing values of reference and current together.

    Returns
    -------
    str
        One of ``ks``, ``chisquare``, ``z``, ``wasserstein``, ``jensenshannon``.

    Examples
    --------
    >>> evidently_default_test("numeric", 500, 40), evidently_default_test("numeric", 500, 2)
    ('ks', 'z')
    >>> evidently_default_test("categorical", 5000, 3)
    'jensenshannon'
    """
    if n_ref <= SMALL_REFERENCE_ROWS:
        if kind == "numeric" and n_values > LOW_CARDINALITY:
            return "ks"
        return "chisquare" if n_values > 2 else "z"
    if kind == "numeric" and n_values > LOW_CARDINALITY:
        return "wasserstein"
    return "jensenshannon"


def _label(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _is_drifted(test: str, statistic: float, threshold: float) -> bool:
    # Evidently: ks p <= t; chisquare and z p < t; distances >= t.
    if math.isnan(statistic):
        return False
    if test == "ks":
        return statistic <= threshold
    if test in P_VALUE_TESTS:
        return statistic < threshold
    return statistic >= threshold


def _resolve_test(test: object, column: str) -> str | None:
    if test is None or test == "auto":
        return None
    if isinstance(test, Mapping):
        return _resolve_test(test.get(column), column)
    if test not in DEFAULT_THRESHOLDS:
        raise InvalidParameterError(
            f"test must be 'auto', one of {sorted(DEFAULT_THRESHOLDS)} or a mapping column -> name. "
            f"Got {test!r} instead."
        )
    return str(test)


def _resolve_threshold(thresholds: float | Mapping[str, float] | None, column: str, test: str) -> float:
    if thresholds is None:
        return DEFAULT_THRESHOLDS[test]
    if isinstance(thresholds, Mapping):
        value = thresholds.get(column, thresholds.get(test, DEFAULT_THRESHOLDS[test]))
        return float(value)
    return float(thresholds)


def _ks_pvalue(d: float, n_ref: int, n_cur: int, counts: eng.ColumnCounts | None) -> float:
    """KS p-value of ``D`` as scipy gives it; the exact distribution uses the per-value counts when known."""
    if counts is None:
        return st.ks_pvalue(d, n_ref, n_cur)
    return st.ks_pvalue(
        d, n_ref, n_cur, values=counts.values, ref_counts=counts.ref_counts, cur_counts=counts.cur_counts
    )


def _test_statistic(
    test: str,
    kind: str,
    counts: eng.ColumnCounts | None,
    *,
    exact: eng.ExactNumeric | None,
    summary: Mapping[str, Any],
    labelled: ir.Table,
    column: str,
) -> float:
    n_ref, n_cur = summary["n_ref"], summary["n_cur"]
    if test == "ks":
        return _ks_pvalue(exact.ks_d, n_ref, n_cur, counts)
    if test == "wasserstein":
        norm = max(float(summary["refstd"] or 0.0), 0.001)
        return exact.wasserstein / norm
    if test == "chisquare":
        return st.chisquare_gof(counts.ref_counts, counts.cur_counts)[1]
    if test == "z":
        return st.z_test_two_proportions(list(counts.values), counts.ref_counts, counts.cur_counts)[1]
    # jensenshannon / psi: Evidently's get_binned_data
    binned = counts
    if kind == "numeric" and int(np.count_nonzero(counts.ref_counts)) > EVIDENTLY_BINNING_MIN_VALUES:
        binned = eng.sturges_counts(labelled, column, summary["min"], summary["max"], n_ref + n_cur)
    if test == "jensenshannon":
        ref_shares, cur_shares = st.evidently_binned_shares(
            binned.ref_counts, binned.cur_counts, fill_zeroes=False
        )
        return st.jensenshannon_distance(ref_shares, cur_shares)
    return st.psi_evidently(binned.ref_counts, binned.cur_counts)


# ------------------------------------------------------------------------------------------------ data_drift
def data_drift(
    reference: ir.Table | pd.DataFrame,
    current: ir.Table | pd.DataFrame | None = None,
    *,
    columns: Sequence[str],
    categorical: Sequence[str] | None = None,
    time_column: str | None = None,
    reference_window: object = None,
    current_window: object = None,
    test: str | Mapping[str, str] = "auto",
    thresholds: float | Mapping[str, float] | None = None,
    drift_share: float = 0.5,
    fdr_q: float = 0.05,
    psi_bins: int = 10,
    method: Method = "auto",
    memory_budget_bytes: int = DEFAULT_MEMORY_BUDGET,
    memory_limit: str | None = None,
    companion_p_value: Literal["kolmogorov", "scipy"] = "kolmogorov",
) -> DriftResult:
    """Per-column drift between a reference and a current window, Evidently-compatible by default.

    Parameters
    ----------
    reference, current : ibis.Table or pandas.DataFrame
        The two windows (already filtered). With ``current=None``, ``reference`` is one table split by
        ``time_column`` into ``reference_window`` and ``current_window`` (half-open ``[start, end)``).
    columns : sequence of str
        Columns to test (features, score, prediction, label).
    categorical : sequence of str, optional
        Numeric columns to treat as categorical. Strings and booleans are always categorical.
    time_column, reference_window, current_window : optional
        See ``current``. A window is a ``(start, end)`` pair or any object with ``.start``/``.end``.
    test : "auto", a test name, or a mapping column -> name
        ``auto`` is Evidently 0.7's default selection (module docstring); names: ``ks``, ``chisquare``,
        ``z``, ``wasserstein``, ``jensenshannon``, ``psi``.
    thresholds : float or mapping, optional
        One threshold for all, or per column name / per test name; defaults in ``DEFAULT_THRESHOLDS``.
    drift_share : float, default 0.5
        Dataset drift when the share of drifted columns is at least this.
    fdr_q : float, default 0.05
        Benjamini-Hochberg level across the columns' p-values.
    psi_bins : int, default 10
        Reference quantile bins of the frozen-edge PSI.
    method : {"auto", "engine", "columnar"}
        Path for the exact per-value statistics (KS, Wasserstein). ``auto`` streams a column to numpy when
        its estimated peak (``_drift_engine.columnar_bytes``) fits ``memory_budget_bytes``, else stays in
        the engine. Both give the same numbers; ``method_path`` says which ran.
    memory_budget_bytes : int
        Budget of the columnar path for one column.
    memory_limit : str, optional
        DuckDB ``SET memory_limit`` (e.g. ``"1GB"``) applied during the computation, then restored.
    companion_p_value : {"kolmogorov", "scipy"}
        The p-value reported beside a distance test (Wasserstein) for Benjamini-Hochberg. Up to 10,000 rows
        per side both give scipy's exact ``ks_2samp`` p-value. Above, ``"scipy"`` gives scipy's
        ``kstwo.sf(D, round(n1 n2 / (n1 + n2)))`` -- which took about 0.6 s per column at 500k rows per
        side here -- and ``"kolmogorov"`` (default) the limiting Kolmogorov distribution
        ``scipy.special.kolmogorov(D sqrt(n1 n2 / (n1 + n2)))``, 0.1-0.5 % larger (conservative) at those
        sizes; ``p_value_test`` says ``ks_asymptotic``. The KS *test* (chosen by default or by name) always
        uses scipy's method.

    Returns
    -------
    DriftResult

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> reference = pd.DataFrame({"x": rng.normal(size=300), "c": rng.choice(["a", "b", "c"], 300)})
    >>> current = pd.DataFrame({"x": rng.normal(1.0, size=300), "c": rng.choice(["a", "b", "c"], 300)})
    >>> result = data_drift(reference, current, columns=["x", "c"])
    >>> [(c.column, c.test, c.drifted) for c in result.columns]
    [('x', 'ks', True), ('c', 'chisquare', False)]
    """
    if method not in ("auto", "engine", "columnar"):
        raise InvalidParameterError(f"method must be 'auto', 'engine' or 'columnar'. Got {method!r} instead.")
    if companion_p_value not in ("kolmogorov", "scipy"):
        raise InvalidParameterError(
            f"companion_p_value must be 'kolmogorov' or 'scipy'. Got {companion_p_value!r} instead."
        )
    if not 0 < fdr_q < 1:
        raise InvalidParameterError(f"fdr_q must be strictly between 0 and 1. Got {fdr_q!r} instead.")
    if not 0 < drift_share <= 1:
        raise InvalidParameterError(f"drift_share must be in (0, 1]. Got {drift_share!r} instead.")
    if isinstance(psi_bins, bool) or not isinstance(psi_bins, int) or psi_bins < 2:
        raise InvalidParameterError(f"psi_bins must be an integer >= 2. Got {psi_bins!r} instead.")
    columns = list(columns)
    if not columns:
        raise InvalidParameterError("columns must name at least one column. Got an empty list instead.")
    labelled, source = _prepare(
        reference,
        current,
        columns=columns,
        time_column=time_column,
        reference_window=reference_window,
        current_window=current_window,
    )
    kinds = _column_kinds(source.schema(), columns, categorical)
    for column in columns:
        chosen = _resolve_test(test, column)
        if chosen in NUMERIC_ONLY_TESTS and kinds[column] != "numeric":
            raise InvalidParameterError(
                f"test {chosen!r} needs a numeric column; {column!r} is categorical. Choose chisquare, z, "
                "jensenshannon or psi."
            )
    numeric = [c for c in columns if kinds[c] == "numeric"]
    restore = eng.set_duckdb_memory_limit(labelled, memory_limit)
    try:
        # the distinct counts only choose how the columnar path streams a column
        n_ref_rows, n_cur_rows, distinct = eng.row_counts_and_distinct(
            labelled, [] if method == "engine" else numeric
        )
        if n_ref_rows == 0:
            raise EmptyWindowError("the reference window must hold rows. Got 0 rows; widen the window.")
        if n_cur_rows == 0:
            raise EmptyWindowError("the current window must hold rows. Got 0 rows; widen the window.")
        exact_by_column = _exact_statistics(
            labelled,
            numeric,
            n_rows=n_ref_rows + n_cur_rows,
            method=method,
            memory_budget_bytes=memory_budget_bytes,
            n_bins=psi_bins,
            distinct=distinct,
        )
        categorical_counts = eng.fetch_value_counts_many(
            labelled, [c for c in columns if kinds[c] != "numeric"]
        )
        summaries = {}
        for column in columns:
            exact = exact_by_column.get(column)
            summary = {"n_ref_rows": n_ref_rows, "n_cur_rows": n_cur_rows}
            if exact is not None:
                summary.update(
                    n_ref=exact.n_ref,
                    n_cur=exact.n_cur,
                    min=exact.minimum,
                    max=exact.maximum,
                    refstd=exact.ref_std,
                )
            summaries[column] = summary
        partial: dict[str, dict[str, Any]] = {}
        for column in columns:
            partial[column] = _column_drift_part(
                labelled,
                column,
                kinds[column],
                summaries[column],
                test,
                thresholds,
                exact_by_column.get(column),
                companion_p_value,
                categorical_counts.get(column),
            )
        engine_edges = {
            c: exact_by_column[c].edges
            for c in columns
            if partial[c].get("needs_edges") and exact_by_column[c].ref_bins is None
        }
        engine_bins = {}
        if engine_edges:
            histogram = eng.histogram_counts(labelled, engine_edges, {})[0]
            engine_bins = eng.unpack_histograms(histogram, engine_edges, {})
        for column in columns:
            if not partial[column].get("needs_edges"):
                continue
            exact = exact_by_column[column]
            ref_bins, cur_bins = engine_bins.get(column, (exact.ref_bins, exact.cur_bins))
            edges = exact.edges
            labels = [f"< {edges[0]:.4g}"] if edges.size else ["all"]
            labels += [f"[{a:.4g}, {b:.4g})" for a, b in zip(edges[:-1], edges[1:], strict=True)]
            labels += [f">= {edges[-1]:.4g}"] if edges.size else []
            partial[column].update(_psi_fields(ref_bins, cur_bins, labels))
    finally:
        restore()
    q_values = st.benjamini_hochberg([partial[c]["p_value"] for c in columns])
    results = []
    for column, q_value in zip(columns, q_values, strict=True):
        fields = dict(partial[column])
        fields.pop("needs_edges", None)
        fields["bh_q"] = q_value
        fields["bh_rejected"] = q_value is not None and q_value <= fdr_q
        results.append(ColumnDrift(**fields))
    tested = [r for r in results if r.test is not None]
    n_drifted = sum(r.drifted for r in tested)
    share = n_drifted / len(tested) if tested else 0.0
    return DriftResult(
        columns=tuple(results),
        n_columns=len(tested),
        n_drifted=n_drifted,
        share=share,
        dataset_drift=bool(tested) and share >= drift_share,
        drift_share=drift_share,
        fdr_q=fdr_q,
        n_bh_rejected=sum(r.bh_rejected for r in results),
        method=method,
        memory_budget_bytes=memory_budget_bytes,
        n_ref_rows=n_ref_rows,
        n_cur_rows=n_cur_rows,
    )


def _psi_fields(ref_bins: np.ndarray, cur_bins: np.ndarray, labels: Sequence[str]) -> dict[str, Any]:
    ref_total, cur_total = max(int(ref_bins.sum()), 1), max(int(cur_bins.sum()), 1)
    return {
        "psi": st.psi_from_counts(ref_bins, cur_bins),
        "bin_labels": tuple(labels),
        "reference_shares": tuple(float(x) for x in ref_bins / ref_total),
        "current_shares": tuple(float(x) for x in cur_bins / cur_total),
    }


def _exact_statistics(
    labelled: ir.Table,
    numeric: Sequence[str],
    *,
    n_rows: int,
    method: str,
    memory_budget_bytes: int,
    n_bins: int,
    distinct: Mapping[str, int] | None = None,
) -> dict[str, eng.ExactNumeric]:
    """Exact statistics of every numeric column, on the path the method and the budget choose.

    Columnar when ``method="columnar"``, or ``"auto"`` and one column's estimated peak
    (``columnar_bytes``) fits the budget; columns are then fetched in batches that fit it (mostly-distinct
    columns as rows, sized by the row count; the others as per-value counts, sized by their approximate
    distinct count). Otherwise the engine path, one column per query (keeps the engine's memory bounded).
    """
    out: dict[str, eng.ExactNumeric] = {}
    use_columnar = method == "columnar" or (
        method == "auto" and eng.columnar_bytes(n_rows) <= memory_budget_bytes
    )
    if use_columnar and numeric:
        small = n_rows <= st.KS_EXACT_MAX_N * 2
        keep = dict.fromkeys(numeric, 10**9 if small else EVIDENTLY_BINNING_MIN_VALUES)
        distinct = dict(distinct or {})
        if n_rows <= 100_000:
            distinct = {}
        raw = [c for c in numeric if distinct.get(c, 0) > RAW_STREAM_DISTINCT_SHARE * n_rows]
        cost = {
            c: eng.columnar_bytes(n_rows if c in raw or c not in distinct else distinct[c]) for c in numeric
        }
        batches: list[list[str]] = []
        for group in (raw, [c for c in numeric if c not in raw]):
            batch: list[str] = []
            used = 0
            for column in group:
                if batch and used + cost[column] > memory_budget_bytes:
                    batches.append(batch)
                    batch, used = [], 0
                batch.append(column)
                used += cost[column]
            if batch:
                batches.append(batch)
        for batch in batches:
            out.update(
                eng.exact_numeric_columnar(
                    labelled, batch, fetch_counts_below=keep, n_bins=n_bins, raw_columns=raw
                )
            )
        # scipy's exact KS needs the per-value counts whenever both sides are small
        for column, exact in list(out.items()):
            if exact.counts is None and 0 < max(exact.n_ref, exact.n_cur) <= st.KS_EXACT_MAX_N:
                out[column] = replace(exact, counts=eng.fetch_value_counts(labelled, column))
        return out
    if not numeric:
        return out
    summaries = eng.column_summaries(labelled, numeric, [])
    for column in numeric:
        summary = summaries[column]
        n_ref, n_cur = summary["n_ref"], summary["n_cur"]
        if n_ref == 0 or n_cur == 0:
            out[column] = eng.ExactNumeric(
                0, float("nan"), float("nan"), None, "engine", n_ref=n_ref, n_cur=n_cur
            )
            continue
        keep = 10**9 if max(n_ref, n_cur) <= st.KS_EXACT_MAX_N else EVIDENTLY_BINNING_MIN_VALUES
        exact = eng.exact_numeric_engine(
            labelled, column, n_ref=n_ref, n_cur=n_cur, fetch_counts_below=keep, n_bins=n_bins
        )
        out[column] = replace(
            exact, ref_std=summary["refstd"], minimum=summary["min"], maximum=summary["max"]
        )
    return out


def _column_drift_part(
    labelled: ir.Table,
    column: str,
    kind: str,
    summary: Mapping[str, Any],
    test: object,
    thresholds: object,
    exact: eng.ExactNumeric | None,
    companion_p_value: str = "kolmogorov",
    categorical_counts: eng.ColumnCounts | None = None,
) -> dict[str, Any]:
    if kind == "categorical":
        counts = (
            categorical_counts if categorical_counts is not None else eng.fetch_value_counts(labelled, column)
        )
        summary = {**summary, "n_ref": int(counts.ref_counts.sum()), "n_cur": int(counts.cur_counts.sum())}
    else:
        counts = exact.counts
    n_ref, n_cur = summary["n_ref"], summary["n_cur"]
    base: dict[str, Any] = {
        "column": column,
        "kind": kind,
        "null_rate_ref": (summary["n_ref_rows"] - n_ref) / summary["n_ref_rows"],
        "null_rate_cur": (summary["n_cur_rows"] - n_cur) / summary["n_cur_rows"],
        "n_ref": n_ref,
        "n_cur": n_cur,
        "new_categories": (),
        "vanished_categories": (),
        "psi": None,
    }
    if n_ref == 0 or n_cur == 0:
        side = "reference" if n_ref == 0 else "current"
        return {
            **base,
            "test": None,
            "statistic": None,
            "p_value": None,
            "p_value_test": None,
            "threshold": None,
            "drifted": False,
            "method_path": "none",
            "n_distinct": 0,
            "note": f"no non-missing values in the {side} window; not tested",
        }
    if kind == "numeric":
        n_distinct = exact.n_distinct
        method_path = exact.method_path
    else:
        n_distinct = int(counts.values.size)
        method_path = "engine"
    chosen = _resolve_test(test, column) or evidently_default_test(kind, n_ref, n_distinct)
    if counts is None and chosen in ("chisquare", "z", "jensenshannon", "psi"):
        counts = eng.fetch_value_counts(labelled, column)
    threshold = _resolve_threshold(thresholds, column, chosen)
    statistic = _test_statistic(
        chosen, kind, counts, exact=exact, summary=summary, labelled=labelled, column=column
    )
    # two-sample p-value beside the test (for BH)
    if chosen in P_VALUE_TESTS:
        p_value, p_value_test = statistic, chosen
    elif kind == "numeric" and n_distinct > LOW_CARDINALITY:
        if companion_p_value == "kolmogorov" and max(n_ref, n_cur) > st.KS_EXACT_MAX_N:
            p_value, p_value_test = st.ks_pvalue_kolmogorov(exact.ks_d, n_ref, n_cur), "ks_asymptotic"
        else:
            p_value = _ks_pvalue(exact.ks_d, n_ref, n_cur, counts)
            p_value_test = "ks"
    else:
        p_value, p_value_test = (
            st.chisquare_homogeneity(counts.ref_counts, counts.cur_counts),
            "chi2_contingency",
        )
    fields = {
        **base,
        "test": chosen,
        "statistic": statistic,
        "p_value": p_value,
        "p_value_test": p_value_test,
        "threshold": threshold,
        "drifted": _is_drifted(chosen, statistic, threshold),
        "method_path": method_path,
        "n_distinct": n_distinct,
        "ks_d": None if exact is None else exact.ks_d,
        "wasserstein": None if exact is None else exact.wasserstein,
        "note": None,
    }
    if counts is not None and (kind == "categorical" or n_distinct <= EVIDENTLY_BINNING_MIN_VALUES):
        in_ref = counts.ref_counts > 0
        in_cur = counts.cur_counts > 0
        labels = [_label(v) for v in counts.values.tolist()]
        fields["new_categories"] = tuple(
            lab for lab, r, c in zip(labels, in_ref, in_cur, strict=True) if c and not r
        )
        fields["vanished_categories"] = tuple(
            lab for lab, r, c in zip(labels, in_ref, in_cur, strict=True) if r and not c
        )
        # frozen reference categories + one "unseen" bin
        ref_bins = np.append(counts.ref_counts[in_ref], 0)
        cur_bins = np.append(counts.cur_counts[in_ref], counts.cur_counts[~in_ref].sum())
        bin_labels = [lab for lab, r in zip(labels, in_ref, strict=True) if r] + ["(unseen)"]
        fields.update(_psi_fields(ref_bins, cur_bins, bin_labels))
    else:
        fields["needs_edges"] = True
    return fields


# --------------------------------------------------------------------------------------------- windowed drift
@dataclass(frozen=True)
class WindowedDriftResult:
    """Per-chunk drift statistics against frozen reference bins (see :func:`windowed_drift`).

    ``chunks`` has one row per (column, chunk): ``column``, ``chunk_start``, ``is_reference``, ``complete``
    (the whole chunk lies inside its window), ``n``, ``null_rate``, ``statistic`` (the chosen one), ``psi``,
    ``jensenshannon``, ``p_value_naive`` (chi-square homogeneity of the chunk against the reference,
    uncorrected). ``thresholds`` has one row per column: fixed threshold, adaptive lower/upper (or NaN),
    ``n_reference_chunks`` (complete ones), ``onset`` (first current chunk past the threshold in use that the
    next one confirms: :func:`confirmed_onset`), ``onset_fixed`` (the same against the fixed threshold),
    ``first_past`` (first current chunk past the threshold in use, confirmed or not), ``threshold_used`` and
    a ``note``.
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
                    key: (
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


_CHUNK_COLUMNS = [
    "column",
    "chunk_start",
    "is_reference",
    "complete",
    "n",
    "null_rate",
    "jensenshannon",
    "psi",
    "statistic",
    "p_value_naive",
]


def _utc_timestamp(value: object) -> pd.Timestamp:
    stamp = pd.Timestamp(value)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def windowed_drift(
    table: ir.Table | pd.DataFrame,
    *,
    columns: Sequence[str],
    time_column: str,
    reference_window: object,
    current_window: object,
    categorical: Sequence[str] | None = None,
    chunk: Literal["hour", "day", "week"] = "day",
    n_bins: int = 10,
    statistic: Literal["jensenshannon", "psi"] = "jensenshannon",
    fixed_threshold: float | None = None,
    min_reference_chunks: int = 10,
    max_categories: int = 20,
    memory_limit: str | None = None,
    confirm_chunks: int = 2,
) -> WindowedDriftResult:
    """Drift statistic per time chunk against frozen reference quantile bins, with adaptive thresholds.

    Numeric columns are binned on ``n_bins`` reference quantiles (frozen; open outer bins); categorical
    columns on the ``max_categories`` most frequent reference categories plus one bin for the rest. All
    columns' counts per chunk come from ONE aggregate query. Each chunk (reference and current) is compared
    with the whole reference histogram. Adaptive threshold: mean +/- 3 sd (ddof=1) of the statistic over
    the complete reference chunks, used when there are at least ``min_reference_chunks`` of them (else the
    fixed threshold is used and the note says so). A chunk cut by a window's edge (a day that starts at
    07:40) holds part of the day's cycle only -- its statistic is not comparable, so it is kept in
    ``chunks`` (``complete=False``) but left out of the adaptive threshold. The onset is the first current
    chunk above the threshold used that the following chunk confirms (``confirm_chunks``; a run past the
    threshold that reaches the last chunk counts): at a 3-sd threshold over a few dozen reference days a
    single noisy day crosses now and then, and it is not an onset. ``first_past`` keeps the first chunk
    above the threshold, confirmed or not; ``confirm_chunks=1`` makes it the onset.

    Parameters
    ----------
    table : ibis.Table or pandas.DataFrame
        Log table holding both windows.
    columns, time_column, reference_window, current_window, categorical
        As in :func:`data_drift`.
    chunk : {"hour", "day", "week"}
        Chunk size (``time_column`` truncated to it, UTC).
    n_bins : int
        Reference quantile bins for numeric columns.
    statistic : {"jensenshannon", "psi"}
        Statistic per chunk (both are computed; this one drives thresholds and onset).
    fixed_threshold : float, optional
        Default 0.1 for both statistics.
    min_reference_chunks : int
        Fewest reference chunks for an adaptive threshold (default 10).
    max_categories : int
        Reference categories kept as their own bin.
    memory_limit : str, optional
        DuckDB ``SET memory_limit`` during the computation.
    confirm_chunks : int
        Consecutive chunks past the threshold that make an onset (default 2).

    Returns
    -------
    WindowedDriftResult

    Examples
    --------
    >>> times = pd.date_range("2026-01-01", periods=24 * 20, freq="h", tz="UTC")
    >>> rng = np.random.default_rng(1)
    >>> x = rng.normal(size=times.size)
    >>> x[24 * 17 :] += 2.0
    >>> logs = pd.DataFrame({"ts": times, "x": x})
    >>> result = windowed_drift(
    ...     logs, columns=["x"], time_column="ts",
    ...     reference_window=(times[0], times[24 * 14]),
    ...     current_window=(times[24 * 14], times[-1] + pd.Timedelta("1h")),
    ... )
    >>> result.onset("x").date().isoformat()
    '2026-01-18'
    """
    if chunk not in CHUNKS:
        raise InvalidParameterError(f"chunk must be 'hour', 'day' or 'week'. Got {chunk!r} instead.")
    if statistic not in ("jensenshannon", "psi"):
        raise InvalidParameterError(f"statistic must be 'jensenshannon' or 'psi'. Got {statistic!r} instead.")
    if (
        isinstance(min_reference_chunks, bool)
        or not isinstance(min_reference_chunks, numbers.Integral)
        or min_reference_chunks < 2
    ):
        raise InvalidParameterError(
            "min_reference_chunks must be an integer >= 2 (a standard deviation needs two chunks). "
            f"Got {min_reference_chunks!r} instead."
        )
    if (
        isinstance(confirm_chunks, bool)
        or not isinstance(confirm_chunks, numbers.Integral)
        or confirm_chunks < 1
    ):
        raise InvalidParameterError(
            f"confirm_chunks must be an integer >= 1. Got {confirm_chunks!r} instead."
        )
    threshold = 0.1 if fixed_threshold is None else float(fixed_threshold)
    columns = list(columns)
    labelled, source = _prepare(
        table,
        None,
        columns=columns,
        time_column=time_column,
        reference_window=reference_window,
        current_window=current_window,
        keep_time=True,
    )
    kinds = _column_kinds(source.schema(), columns, categorical)
    restore = eng.set_duckdb_memory_limit(labelled, memory_limit)
    try:
        edges: dict[str, np.ndarray] = {}
        categories: dict[str, list[object]] = {}
        numeric_columns = [c for c in columns if kinds[c] == "numeric"]
        if numeric_columns:
            edges.update(eng.reference_quantile_edges(labelled, numeric_columns, n_bins))
        for column in columns:
            if kinds[column] != "numeric":
                ref_only = labelled.filter(~labelled[eng.IS_CURRENT] & eng.valid_expr(labelled, column))
                top = (
                    ref_only.group_by(column)
                    .aggregate(n=ref_only.count())
                    .order_by([ibis.desc("n"), column])
                    .limit(max_categories)
                    .to_pyarrow()
                )
                categories[column] = top[column].to_pylist()
        chunk_expr = labelled[time_column].truncate(CHUNKS[chunk])
        per_chunk = eng.histogram_counts(labelled, edges, categories, group_by=chunk_expr)
    finally:
        restore()
    if not any(int(row["n_rows_ref"] or 0) for row in per_chunk):
        raise EmptyWindowError("the reference window must hold rows. Got 0 rows; widen the window.")
    ref_start, ref_end = (_utc_timestamp(b) for b in _window_bounds(reference_window, "reference_window"))
    cur_start, cur_end = (_utc_timestamp(b) for b in _window_bounds(current_window, "current_window"))
    chunk_length = CHUNK_LENGTHS[chunk]

    rows = []
    # (start, is_reference, complete, rows, histograms) per chunk and window: a chunk that both windows cut
    # (adjacent windows, a boundary inside a day) gives one entry per window
    chunk_hist = []
    for row in per_chunk:
        hist = eng.unpack_histograms(row, edges, categories)
        start = _utc_timestamp(row["__chunk"])
        for is_reference, n_rows, (low, high) in (
            (True, int(row["n_rows_ref"] or 0), (ref_start, ref_end)),
            (False, int(row["n_rows_cur"] or 0), (cur_start, cur_end)),
        ):
            if n_rows > 0:
                complete = bool(start >= low and start + chunk_length <= high)
                chunk_hist.append((start, is_reference, complete, n_rows, hist))
    reference_total = {
        column: np.sum([h[column][0] for _, is_ref, _, _, h in chunk_hist if is_ref], axis=0)
        for column in columns
    }
    for column in columns:
        ref_hist = reference_total[column]
        for start, is_reference, complete, n_rows, hist in chunk_hist:
            bins = hist[column][0] if is_reference else hist[column][1]
            n = int(bins.sum())
            if n == 0 or ref_hist.sum() == 0:
                js = psi = p_naive = float("nan")
            else:
                js = st.jensenshannon_distance(ref_hist / ref_hist.sum(), bins / n)
                psi = st.psi_from_counts(ref_hist, bins)
                p_naive = st.chisquare_homogeneity(ref_hist, bins)
            rows.append(
                {
                    "column": column,
                    "chunk_start": start,
                    "is_reference": is_reference,
                    "complete": complete,
                    "n": n,
                    "null_rate": (n_rows - n) / n_rows if n_rows else float("nan"),
                    "jensenshannon": js,
                    "psi": psi,
                    "statistic": js if statistic == "jensenshannon" else psi,
                    "p_value_naive": p_naive,
                }
            )
    chunks = pd.DataFrame(rows, columns=_CHUNK_COLUMNS)
    threshold_rows = []
    for column in columns:
        mine = chunks[chunks["column"] == column]
        ref_stats = mine.loc[mine["is_reference"] & mine["complete"], "statistic"].dropna().to_numpy()
        current = mine.loc[~mine["is_reference"]]
        n_reference_chunks = int(ref_stats.size)
        if n_reference_chunks >= min_reference_chunks:
            mean, sd = float(np.mean(ref_stats)), float(np.std(ref_stats, ddof=1))
            lower, upper = mean - 3 * sd, mean + 3 * sd
            used, threshold_used = upper, "adaptive"
            note = None
        else:
            lower = upper = float("nan")
            used, threshold_used = threshold, "fixed"
            note = (
                f"only {n_reference_chunks} complete reference chunks (< {min_reference_chunks}): no "
                "adaptive threshold; the fixed threshold is used"
            )
        current = current.sort_values("chunk_start", kind="stable")
        starts, statistics = current["chunk_start"].to_list(), current["statistic"].astype(float).to_list()
        last_complete = bool(current["complete"].iloc[-1]) if not current.empty else True
        past_used = current[current["statistic"] > used]
        threshold_rows.append(
            {
                "column": column,
                "fixed_threshold": threshold,
                "adaptive_lower": lower,
                "adaptive_upper": upper,
                "n_reference_chunks": n_reference_chunks,
                "threshold_used": threshold_used,
                "onset": confirmed_onset(
                    starts, statistics, used, confirm_chunks, last_complete=last_complete
                ),
                "onset_fixed": confirmed_onset(
                    starts, statistics, threshold, confirm_chunks, last_complete=last_complete
                ),
                "first_past": past_used["chunk_start"].iloc[0] if not past_used.empty else pd.NaT,
                "n_current_chunks": int(current.shape[0]),
                "n_flagged_chunks": int(past_used.shape[0]),
                "n_naive_flags": int((mine["p_value_naive"] < 0.05).sum()),
                "note": note,
            }
        )
    return WindowedDriftResult(
        statistic=statistic,
        chunk=chunk,
        fixed_threshold=threshold,
        min_reference_chunks=min_reference_chunks,
        chunks=chunks,
        thresholds=pd.DataFrame(threshold_rows),
        bin_edges={column: tuple(float(e) for e in values) for column, values in edges.items()},
        confirm_chunks=confirm_chunks,
    )


def confirmed_onset(
    starts: Sequence[object],
    statistics: Sequence[float],
    threshold: float,
    confirm_chunks: int,
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


# ------------------------------------------------------------------------------------------ domain classifier
@dataclass(frozen=True)
class DomainClassifierResult:
    """Multivariate drift by a domain classifier (see :func:`domain_classifier_drift`)."""

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

    def to_summary(self) -> dict[str, Any]:
        """JSON-serialisable summary (AUC, interval, sample record, top features)."""
        summary = {k: v for k, v in asdict(self).items() if k != "importances"}
        summary["importances"] = [
            {"feature": str(r["feature"]), "importance": float(r["importance"]), "std": float(r["std"])}
            for r in self.importances.to_dict("records")
        ]
        return summary


def _delong_interval(y_true: np.ndarray, scores: np.ndarray, confidence: float) -> tuple[float, float, float]:
    """AUC with DeLong's variance (DeLong, DeLong & Clarke-Pearson 1988; midrank form of Sun & Xu 2014)."""
    from scipy import stats as sps

    positives = scores[y_true == 1]
    negatives = scores[y_true == 0]
    m, n = positives.size, negatives.size
    all_ranks = sps.rankdata(np.concatenate([positives, negatives]))
    pos_ranks = sps.rankdata(positives)
    neg_ranks = sps.rankdata(negatives)
    auc = (all_ranks[:m].sum() - m * (m + 1) / 2) / (m * n)
    v10 = (all_ranks[:m] - pos_ranks) / n
    v01 = 1.0 - (all_ranks[m:] - neg_ranks) / m
    variance = np.var(v10, ddof=1) / m + np.var(v01, ddof=1) / n
    half = sps.norm.ppf(0.5 + confidence / 2) * math.sqrt(max(variance, 0.0))
    return float(auc), float(max(0.0, auc - half)), float(min(1.0, auc + half))


_SAMPLE_BUCKETS = 1_000_003
"""Hash buckets of the domain classifier's sampling (a prime, so the hash's low bits do not bias it)."""


def domain_classifier_drift(
    reference: ir.Table | pd.DataFrame,
    current: ir.Table | pd.DataFrame | None = None,
    *,
    columns: Sequence[str],
    categorical: Sequence[str] | None = None,
    time_column: str | None = None,
    reference_window: object = None,
    current_window: object = None,
    sample_size: int = 20_000,
    test_size: float = 0.3,
    random_state: int = 0,
    confidence: float = 0.95,
    auc_threshold: float = 0.55,
    n_repeats: int = 5,
    n_threads: int | None = 1,
) -> DomainClassifierResult:
    """Multivariate drift: how well a classifier tells reference rows from current rows.

    Up to ``sample_size`` rows per side are drawn in the engine (``Table.sample`` with ``seed=random_state``,
    then trimmed with a seeded numpy permutation; both recorded), split stratified into train/test
    (``test_size``), and a ``HistGradientBoostingClassifier`` (native categorical support, missing values
    allowed, early stopping on a seeded fifth of the training part so that small samples do not overfit)
    is fitted. Reported: ROC AUC on the held-out part with a DeLong interval, drift when the
    interval's lower end exceeds ``auc_threshold``, and permutation importances (drop in AUC) on the
    held-out part. ``n_threads`` caps the classifier's OpenMP threads during the call (default 1: on a
    sample this size extra threads gain little and, on a shared machine, oversubscription made a fit 20x
    slower here); ``None`` leaves the library's default.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> ref = pd.DataFrame({"x": rng.normal(size=2000), "y": rng.normal(size=2000)})
    >>> cur = pd.DataFrame({"x": rng.normal(1.0, size=2000), "y": rng.normal(size=2000)})
    >>> result = domain_classifier_drift(ref, cur, columns=["x", "y"], sample_size=2000)
    >>> result.drifted, result.importances["feature"].iloc[0]
    (True, 'x')
    """
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.inspection import permutation_importance
    from sklearn.model_selection import train_test_split
    from threadpoolctl import threadpool_limits

    if not 0 < confidence < 1:
        raise InvalidParameterError(
            f"confidence must be strictly between 0 and 1. Got {confidence!r} instead."
        )
    columns = list(columns)
    labelled, source = _prepare(
        reference,
        current,
        columns=columns,
        time_column=time_column,
        reference_window=reference_window,
        current_window=current_window,
    )
    kinds = _column_kinds(source.schema(), columns, categorical)
    counts = labelled.group_by(eng.IS_CURRENT).aggregate(n=labelled.count()).to_pyarrow().to_pylist()
    n_side = {bool(r[eng.IS_CURRENT]): int(r["n"]) for r in counts}
    frames = []
    rng = np.random.default_rng(random_state)
    for is_current in (False, True):
        total = n_side.get(is_current, 0)
        if total == 0:
            raise EmptyWindowError(
                f"the {'current' if is_current else 'reference'} window must hold rows. Got 0 rows instead."
            )
        side = labelled.filter(labelled[eng.IS_CURRENT] == is_current)
        if total > sample_size:
            # A hash of the row's values (salted with the seed) picks the rows: unlike the engine's own
            # sampling, it does not depend on how many threads scanned the files in which order.
            fraction = min(1.0, 1.5 * sample_size / total)
            key = ibis.literal(str(random_state))
            for column in columns:
                key = key.concat("|", side[column].cast("string").fill_null("<null>"))
            side = side.filter((key.hash() % _SAMPLE_BUCKETS).abs() < int(fraction * _SAMPLE_BUCKETS))
        frame = side.select(*columns).to_pandas()
        # Rows arrive in scan order, which varies between runs: sort before the seeded trim.
        frame = frame.sort_values(columns, kind="stable", na_position="last").reset_index(drop=True)
        frame[eng.IS_CURRENT] = is_current
        if len(frame) > sample_size:
            frame = frame.iloc[np.sort(rng.permutation(len(frame))[:sample_size])]
        frames.append(frame)
    data = pd.concat(frames, ignore_index=True)
    target = data[eng.IS_CURRENT].astype(int).to_numpy()
    features = data[columns].copy()
    categorical_mask = []
    for column in columns:
        if kinds[column] == "categorical":
            features[column] = features[column].astype("string").astype("category")
            categorical_mask.append(True)
        else:
            features[column] = pd.to_numeric(features[column], errors="coerce").astype("float64")
            categorical_mask.append(False)
    x_train, x_test, y_train, y_test = train_test_split(
        features, target, test_size=test_size, random_state=random_state, stratify=target
    )
    model = HistGradientBoostingClassifier(
        categorical_features=np.asarray(categorical_mask) if any(categorical_mask) else None,
        random_state=random_state,
        max_iter=200,
        early_stopping=True,
        validation_fraction=0.2,
        n_iter_no_change=10,
        min_samples_leaf=40,
    )
    with threadpool_limits(limits=n_threads, user_api="openmp"):
        model.fit(x_train, y_train)
        scores = model.predict_proba(x_test)[:, 1]
        importance = permutation_importance(
            model, x_test, y_test, scoring="roc_auc", n_repeats=n_repeats, random_state=random_state
        )
    auc, lower, upper = _delong_interval(np.asarray(y_test), scores, confidence)
    importances = (
        pd.DataFrame(
            {"feature": columns, "importance": importance.importances_mean, "std": importance.importances_std}
        )
        .sort_values("importance", ascending=False, kind="stable")
        .reset_index(drop=True)
    )
    return DomainClassifierResult(
        auc=auc,
        auc_lower=lower,
        auc_upper=upper,
        confidence=confidence,
        interval_method="DeLong",
        drifted=lower > auc_threshold,
        auc_threshold=auc_threshold,
        n_sample_ref=int((target == 0).sum()),
        n_sample_cur=int((target == 1).sum()),
        n_test=len(y_test),
        random_state=random_state,
        sample_size=sample_size,
        model="HistGradientBoostingClassifier(max_iter=200, early stopping on 20 % of the training part)",
        importances=importances,
    )
