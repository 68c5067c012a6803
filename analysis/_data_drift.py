"""Per-column drift between a reference and a current window (private; see :mod:`analysis.drift`).

:func:`data_drift` runs in named steps: check the parameters and the tests asked for, count the rows,
compute the exact numeric statistics on the path the method and the memory budget choose, fetch the
categorical counts, test each column (the test and its threshold from the registry in
:mod:`analysis._stattests`), add the frozen-edge PSI, then Benjamini-Hochberg and the dataset verdict.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

import ibis.expr.types as ir
import numpy as np
import pandas as pd

from analysis import _drift_engine as eng
from analysis import _drift_stats as st
from analysis import _stattests as tests
from analysis._drift_inputs import column_kinds, prepare
from analysis._drift_results import ColumnDrift, ColumnKind, DriftResult
from analysis.errors import AnalysisError, EmptyWindowError, InvalidParameterError

__all__ = ["DEFAULT_MEMORY_BUDGET", "Method", "data_drift"]

Method = Literal["auto", "engine", "columnar"]
DEFAULT_MEMORY_BUDGET = 512 * 1024**2
#: Columnar path: a column with more (approximate) distinct values than this share of its rows is streamed
#: as rows and sorted in numpy; below it, the engine groups it into per-value counts first.
RAW_STREAM_DISTINCT_SHARE = 0.25


@dataclass(frozen=True)
class _ColumnData:
    """What one column's test reads: rows per window, valid values per side, counts, exact statistics."""

    n_ref_rows: int
    n_cur_rows: int
    n_ref: int
    n_cur: int
    counts: eng.ColumnCounts | None
    exact: eng.ExactNumeric | None

    def require_exact(self) -> eng.ExactNumeric:
        """The exact statistics of a numeric column."""
        if self.exact is None:
            raise AnalysisError("internal: a numeric column has no exact statistics.")
        return self.exact

    def require_counts(self) -> eng.ColumnCounts:
        """The per-value counts, fetched before the column's test when it needs them."""
        if self.counts is None:
            raise AnalysisError("internal: the column's per-value counts were not fetched.")
        return self.counts


def _label(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _check_parameters(
    *, method: str, companion_p_value: str, fdr_q: float, drift_share: float, psi_bins: object
) -> None:
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
        ``auto`` is Evidently 0.7's default selection (:mod:`analysis.drift` docstring); names: ``ks``,
        ``chisquare``, ``z``, ``wasserstein``, ``jensenshannon``, ``psi`` (the registry
        ``analysis._stattests.STATTESTS``).
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
    _check_parameters(
        method=method,
        companion_p_value=companion_p_value,
        fdr_q=fdr_q,
        drift_share=drift_share,
        psi_bins=psi_bins,
    )
    columns = list(columns)
    if not columns:
        raise InvalidParameterError("columns must name at least one column. Got an empty list instead.")
    labelled, source = prepare(
        reference,
        current,
        columns=columns,
        time_column=time_column,
        reference_window=reference_window,
        current_window=current_window,
    )
    kinds = column_kinds(source.schema(), columns, categorical)
    for column in columns:
        chosen = tests.resolve_test(test, column)
        if chosen is not None:
            tests.check_test_applies(chosen, kinds[column], column)
    restore = eng.set_duckdb_memory_limit(labelled, memory_limit)
    try:
        fields, n_ref_rows, n_cur_rows = _test_columns(
            labelled,
            columns,
            kinds,
            test=test,
            thresholds=thresholds,
            method=method,
            memory_budget_bytes=memory_budget_bytes,
            psi_bins=psi_bins,
            companion_p_value=companion_p_value,
        )
    finally:
        restore()
    return _drift_result(
        columns,
        fields,
        fdr_q=fdr_q,
        drift_share=drift_share,
        method=method,
        memory_budget_bytes=memory_budget_bytes,
        n_ref_rows=n_ref_rows,
        n_cur_rows=n_cur_rows,
    )


def _test_columns(
    labelled: ir.Table,
    columns: Sequence[str],
    kinds: Mapping[str, ColumnKind],
    *,
    test: object,
    thresholds: float | Mapping[str, float] | None,
    method: str,
    memory_budget_bytes: int,
    psi_bins: int,
    companion_p_value: str,
) -> tuple[dict[str, dict[str, Any]], int, int]:
    """The engine part: row counts, exact and categorical counts, each column's test and frozen-edge PSI.

    Returns the fields of each column's :class:`ColumnDrift` (without the Benjamini-Hochberg ones) and the
    rows per window.
    """
    numeric = [c for c in columns if kinds[c] == "numeric"]
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
    categorical_counts = eng.fetch_value_counts_many(labelled, [c for c in columns if kinds[c] != "numeric"])
    fields: dict[str, dict[str, Any]] = {}
    for column in columns:
        exact = exact_by_column.get(column)
        counts: eng.ColumnCounts | None
        if kinds[column] == "categorical":
            fetched = categorical_counts.get(column)
            counts = fetched if fetched is not None else eng.fetch_value_counts(labelled, column)
            n_ref, n_cur = int(counts.ref_counts.sum()), int(counts.cur_counts.sum())
        elif exact is None:
            raise AnalysisError(f"internal: no exact statistics for the numeric column {column!r}.")
        else:
            counts, n_ref, n_cur = exact.counts, exact.n_ref, exact.n_cur
        data = _ColumnData(n_ref_rows, n_cur_rows, n_ref, n_cur, counts, exact)
        fields[column] = _column_fields(
            labelled,
            column,
            kinds[column],
            data,
            test=test,
            thresholds=thresholds,
            companion_p_value=companion_p_value,
        )
    _add_frozen_edge_psi(labelled, fields, exact_by_column)
    return fields, n_ref_rows, n_cur_rows


def _add_frozen_edge_psi(
    labelled: ir.Table, fields: Mapping[str, dict[str, Any]], exact_by_column: Mapping[str, eng.ExactNumeric]
) -> None:
    """PSI on the frozen reference decile edges of the numeric columns not binned per value.

    The columnar path counted the bins already; the engine path counts all such columns in one query.
    """
    needing = [column for column, entry in fields.items() if entry.get("needs_edges")]
    engine_edges = {
        column: edges
        for column in needing
        if exact_by_column[column].ref_bins is None and (edges := exact_by_column[column].edges) is not None
    }
    engine_bins: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    if engine_edges:
        histogram = eng.histogram_counts(labelled, engine_edges, {})[0]
        engine_bins = eng.unpack_histograms(histogram, engine_edges, {})
    for column in needing:
        exact = exact_by_column[column]
        edges = exact.edges if exact.edges is not None else np.empty(0)
        if column in engine_bins:
            ref_bins, cur_bins = engine_bins[column]
        elif exact.ref_bins is not None and exact.cur_bins is not None:
            ref_bins, cur_bins = exact.ref_bins, exact.cur_bins
        else:
            raise AnalysisError(f"internal: no frozen-edge bins for the numeric column {column!r}.")
        labels = [f"< {edges[0]:.4g}"] if edges.size else ["all"]
        labels += [f"[{a:.4g}, {b:.4g})" for a, b in zip(edges[:-1], edges[1:], strict=True)]
        labels += [f">= {edges[-1]:.4g}"] if edges.size else []
        fields[column].update(_psi_fields(ref_bins, cur_bins, labels))


def _drift_result(
    columns: Sequence[str],
    fields: Mapping[str, dict[str, Any]],
    *,
    fdr_q: float,
    drift_share: float,
    method: str,
    memory_budget_bytes: int,
    n_ref_rows: int,
    n_cur_rows: int,
) -> DriftResult:
    """Benjamini-Hochberg across the columns' p-values, then the dataset verdict."""
    q_values = st.benjamini_hochberg([fields[c]["p_value"] for c in columns])
    results = []
    for column, q_value in zip(columns, q_values, strict=True):
        entry = dict(fields[column])
        entry.pop("needs_edges", None)
        entry["bh_q"] = q_value
        entry["bh_rejected"] = q_value is not None and q_value <= fdr_q
        results.append(ColumnDrift(**entry))
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


# ------------------------------------------------------------------------------------- exact statistics
def _columnar_batches(
    numeric: Sequence[str], *, n_rows: int, memory_budget_bytes: int, distinct: Mapping[str, int]
) -> tuple[list[list[str]], list[str]]:
    """Batches of columns that fit the budget, and the columns streamed as rows (mostly distinct).

    Mostly-distinct columns are sized by the row count; the others, fetched as per-value counts, by their
    approximate distinct count (unknown at or below 100,000 rows, where every column is sized by rows).
    """
    known = dict(distinct) if n_rows > 100_000 else {}
    raw = [c for c in numeric if known.get(c, 0) > RAW_STREAM_DISTINCT_SHARE * n_rows]
    cost = {c: eng.columnar_bytes(n_rows if c in raw or c not in known else known[c]) for c in numeric}
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
    return batches, raw


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
    (``columnar_bytes``) fits the budget; columns are then fetched in batches that fit it
    (:func:`_columnar_batches`). Otherwise the engine path, one column per query (keeps the engine's memory
    bounded).
    """
    use_columnar = method == "columnar" or (
        method == "auto" and eng.columnar_bytes(n_rows) <= memory_budget_bytes
    )
    if not numeric:
        return {}
    if not use_columnar:
        return _exact_statistics_engine(labelled, numeric, n_bins=n_bins)
    out: dict[str, eng.ExactNumeric] = {}
    small = n_rows <= st.KS_EXACT_MAX_N * 2
    keep = dict.fromkeys(numeric, 10**9 if small else tests.EVIDENTLY_BINNING_MIN_VALUES)
    batches, raw = _columnar_batches(
        numeric, n_rows=n_rows, memory_budget_bytes=memory_budget_bytes, distinct=distinct or {}
    )
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


def _exact_statistics_engine(
    labelled: ir.Table, numeric: Sequence[str], *, n_bins: int
) -> dict[str, eng.ExactNumeric]:
    """The engine path of :func:`_exact_statistics`: one query for the summaries, then one per column."""
    out: dict[str, eng.ExactNumeric] = {}
    summaries = eng.column_summaries(labelled, numeric, [])
    for column in numeric:
        summary = summaries[column]
        n_ref, n_cur = int(summary["n_ref"]), int(summary["n_cur"])
        if n_ref == 0 or n_cur == 0:
            out[column] = eng.ExactNumeric(
                0, float("nan"), float("nan"), None, "engine", n_ref=n_ref, n_cur=n_cur
            )
            continue
        keep = 10**9 if max(n_ref, n_cur) <= st.KS_EXACT_MAX_N else tests.EVIDENTLY_BINNING_MIN_VALUES
        exact = eng.exact_numeric_engine(
            labelled, column, n_ref=n_ref, n_cur=n_cur, fetch_counts_below=keep, n_bins=n_bins
        )
        out[column] = replace(
            exact, ref_std=summary["refstd"], minimum=summary["min"], maximum=summary["max"]
        )
    return out


# ---------------------------------------------------------------------------------------- one column's test
def _column_fields(
    labelled: ir.Table,
    column: str,
    kind: ColumnKind,
    data: _ColumnData,
    *,
    test: object,
    thresholds: float | Mapping[str, float] | None,
    companion_p_value: str,
) -> dict[str, Any]:
    """The fields of one column's :class:`ColumnDrift`: its test, verdict, companion p-value, categories."""
    base: dict[str, Any] = {
        "column": column,
        "kind": kind,
        "null_rate_ref": (data.n_ref_rows - data.n_ref) / data.n_ref_rows,
        "null_rate_cur": (data.n_cur_rows - data.n_cur) / data.n_cur_rows,
        "n_ref": data.n_ref,
        "n_cur": data.n_cur,
        "new_categories": (),
        "vanished_categories": (),
        "psi": None,
    }
    if data.n_ref == 0 or data.n_cur == 0:
        return {**base, **_untested_fields("reference" if data.n_ref == 0 else "current")}
    if kind == "numeric":
        n_distinct, method_path = data.require_exact().n_distinct, data.require_exact().method_path
    else:
        n_distinct, method_path = int(data.require_counts().values.size), "engine"
    chosen = tests.get_stattest(
        tests.resolve_test(test, column) or tests.evidently_default_test(kind, data.n_ref, n_distinct)
    )
    if data.counts is None and chosen.needs_counts:
        data = replace(data, counts=eng.fetch_value_counts(labelled, column))
    threshold = tests.resolve_threshold(thresholds, column, chosen.name)
    statistic = chosen.compute(_stat_input(labelled, column, kind, chosen, data))
    if chosen.result == "p_value":
        p_value, p_value_test = statistic, chosen.name
    else:
        p_value, p_value_test = _companion_p_value(kind, n_distinct, data, companion_p_value)
    fields = {
        **base,
        "test": chosen.name,
        "statistic": statistic,
        "p_value": p_value,
        "p_value_test": p_value_test,
        "threshold": threshold,
        "drifted": chosen.drifted(statistic, threshold),
        "method_path": method_path,
        "n_distinct": n_distinct,
        "ks_d": None if data.exact is None else data.exact.ks_d,
        "wasserstein": None if data.exact is None else data.exact.wasserstein,
        "note": None,
    }
    if data.counts is not None and (
        kind == "categorical" or n_distinct <= tests.EVIDENTLY_BINNING_MIN_VALUES
    ):
        fields.update(_category_fields(data.counts))
    else:
        fields["needs_edges"] = True
    return fields


def _untested_fields(side: str) -> dict[str, Any]:
    return {
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


def _stat_input(
    labelled: ir.Table, column: str, kind: str, chosen: tests.StatTest, data: _ColumnData
) -> tests.StatInput:
    """The inputs of the chosen test; Evidently's ``get_binned_data`` for the binned (JS, PSI) tests."""
    binned = None
    if chosen.inputs == "binned":
        counts = data.require_counts()
        binned = counts
        if (
            kind == "numeric"
            and int(np.count_nonzero(counts.ref_counts)) > tests.EVIDENTLY_BINNING_MIN_VALUES
        ):
            exact = data.require_exact()
            minimum, maximum = exact.minimum, exact.maximum
            if minimum is None or maximum is None:
                raise AnalysisError(f"internal: no minimum/maximum for the numeric column {column!r}.")
            binned = eng.sturges_counts(labelled, column, minimum, maximum, data.n_ref + data.n_cur)
    return tests.StatInput(
        n_ref=data.n_ref,
        n_cur=data.n_cur,
        counts=data.counts,
        binned=binned,
        exact=data.exact,
        ref_std=None if data.exact is None else data.exact.ref_std,
    )


def _companion_p_value(
    kind: str, n_distinct: int, data: _ColumnData, companion_p_value: str
) -> tuple[float, str]:
    """The two-sample p-value beside a distance test (for Benjamini-Hochberg), and its name."""
    if kind == "numeric" and n_distinct > tests.LOW_CARDINALITY:
        ks_d = data.require_exact().ks_d
        if companion_p_value == "kolmogorov" and max(data.n_ref, data.n_cur) > st.KS_EXACT_MAX_N:
            return st.ks_pvalue_kolmogorov(ks_d, data.n_ref, data.n_cur), "ks_asymptotic"
        return tests.ks_pvalue(ks_d, data.n_ref, data.n_cur, data.counts), "ks"
    counts = data.require_counts()
    return st.chisquare_homogeneity(counts.ref_counts, counts.cur_counts), "chi2_contingency"


def _category_fields(counts: eng.ColumnCounts) -> dict[str, Any]:
    """New and vanished categories, and the PSI on the frozen reference categories plus one "unseen" bin."""
    in_ref = counts.ref_counts > 0
    in_cur = counts.cur_counts > 0
    labels = [_label(v) for v in counts.values.tolist()]
    ref_bins = np.append(counts.ref_counts[in_ref], 0)
    cur_bins = np.append(counts.cur_counts[in_ref], counts.cur_counts[~in_ref].sum())
    bin_labels = [lab for lab, r in zip(labels, in_ref, strict=True) if r] + ["(unseen)"]
    return {
        "new_categories": tuple(lab for lab, r, c in zip(labels, in_ref, in_cur, strict=True) if c and not r),
        "vanished_categories": tuple(
            lab for lab, r, c in zip(labels, in_ref, in_cur, strict=True) if r and not c
        ),
        **_psi_fields(ref_bins, cur_bins, bin_labels),
    }
