"""Computation paths of the drift analysis (private; see :mod:`analysis.drift`).

Everything here works on one *labelled* Ibis table: the rows of the reference and the current window with a
boolean column ``__is_current``. Two paths give the same exact per-value statistics:

* ``engine``: per-value counts and their cumulative sums are computed by the backend with window functions
  (``SUM(..) OVER (ORDER BY value)``, ``LEAD(value)``) and reduced there to ``D`` and the Wasserstein sum;
  only scalars come back (per-value counts are fetched only when they are small: low-cardinality columns,
  or at most 10,000 rows per side where scipy's exact KS distribution needs them).
* ``columnar``: one column at a time is streamed as Arrow and reduced with a sort-based numpy pass.

Histogram counts for all columns against frozen edges run in one aggregate query.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import ibis
import ibis.expr.types as ir
import numpy as np
import pyarrow as pa

from analysis import _drift_stats as st

IS_CURRENT = "__is_current"
VALUE = "__value"


@dataclass(frozen=True)
class ColumnCounts:
    """Per-value counts of one column: sorted distinct values with reference and current counts."""

    values: np.ndarray
    ref_counts: np.ndarray
    cur_counts: np.ndarray


@dataclass(frozen=True)
class ExactNumeric:
    """Exact per-value statistics of one numeric column (both paths return this)."""

    n_distinct: int
    ks_d: float
    wasserstein: float
    counts: ColumnCounts | None
    method_path: str


def is_float(table: ir.Table, column: str) -> bool:
    """Whether a column is floating point (so NaN/inf must be treated as missing)."""
    dtype = table.schema()[column]
    return dtype.is_floating() or dtype.is_decimal()


def valid_expr(table: ir.Table, column: str) -> ir.BooleanValue:
    """Non-missing rows of a column: not NULL and, for floats, neither NaN nor +/-inf (as Evidently drops)."""
    col = table[column]
    cond = col.notnull()
    if is_float(table, column):
        cond = cond & ~col.isnan() & ~col.isinf()
    return cond


def labelled_table(
    reference: ir.Table | None,
    current: ir.Table | None,
    *,
    columns: Sequence[str],
    table: ir.Table | None = None,
    time_column: str | None = None,
    reference_window: tuple[object, object] | None = None,
    current_window: tuple[object, object] | None = None,
    keep_time: bool = False,
) -> ir.Table:
    """Build the labelled table (selected columns plus ``__is_current``)."""
    if table is not None:
        time = table[time_column]
        ref_start, ref_end = reference_window
        cur_start, cur_end = current_window
        in_ref = (time >= ref_start) & (time < ref_end)
        in_cur = (time >= cur_start) & (time < cur_end)
        selected = [table[c] for c in columns]
        if keep_time and time_column not in columns:
            selected.append(table[time_column])
        # A row in both windows (overlapping windows) counts as current only once; the windows are checked
        # to not overlap by the caller.
        return table.filter(in_ref | in_cur).select(*selected, **{IS_CURRENT: in_cur})
    ref_schema = reference.schema()
    ref_part = reference.select(*[reference[c] for c in columns], **{IS_CURRENT: ibis.literal(False)})
    cur_part = current.select(
        *[current[c].cast(ref_schema[c]).name(c) for c in columns], **{IS_CURRENT: ibis.literal(True)}
    )
    return ref_part.union(cur_part, distinct=False)


# --------------------------------------------------------------------------------------------- summary query
def column_summaries(
    labelled: ir.Table, numeric: Sequence[str], categorical: Sequence[str]
) -> dict[str, dict[str, float]]:
    """One aggregate query: row counts, valid counts, min/max and reference population std per column."""
    cur = labelled[IS_CURRENT]
    aggs: dict[str, ir.Value] = {
        "n_ref_rows": (~cur).cast("int64").sum(),
        "n_cur_rows": cur.cast("int64").sum(),
    }
    for i, column in enumerate([*numeric, *categorical]):
        valid = valid_expr(labelled, column)
        aggs[f"c{i}_nref"] = (valid & ~cur).cast("int64").sum()
        aggs[f"c{i}_ncur"] = (valid & cur).cast("int64").sum()
        if column in numeric:
            col = labelled[column].cast("float64")
            aggs[f"c{i}_min"] = col.min(where=valid)
            aggs[f"c{i}_max"] = col.max(where=valid)
            aggs[f"c{i}_refmin"] = col.min(where=valid & ~cur)
            aggs[f"c{i}_refmax"] = col.max(where=valid & ~cur)
            aggs[f"c{i}_refstd"] = col.std(how="pop", where=valid & ~cur)
    row = labelled.aggregate(**aggs).to_pyarrow().to_pylist()[0]
    out: dict[str, dict[str, float]] = {}
    for i, column in enumerate([*numeric, *categorical]):
        entry = {
            "n_ref_rows": int(row["n_ref_rows"] or 0),
            "n_cur_rows": int(row["n_cur_rows"] or 0),
            "n_ref": int(row[f"c{i}_nref"] or 0),
            "n_cur": int(row[f"c{i}_ncur"] or 0),
        }
        if column in numeric:
            for key in ("min", "max", "refmin", "refmax", "refstd"):
                entry[key] = row[f"c{i}_{key}"]
        out[column] = entry
    return out


# ---------------------------------------------------------------------------------------- per-value counts
def _value_counts_expr(labelled: ir.Table, column: str) -> ir.Table:
    cur = labelled[IS_CURRENT]
    valid = valid_expr(labelled, column)
    sub = labelled.filter(valid).select(**{VALUE: labelled[column], IS_CURRENT: cur})
    return sub.group_by(VALUE).aggregate(
        n_ref=(~sub[IS_CURRENT]).cast("int64").sum(), n_cur=sub[IS_CURRENT].cast("int64").sum()
    )


def fetch_value_counts(labelled: ir.Table, column: str) -> ColumnCounts:
    """Per-value counts of a column computed in the engine, sorted by value (small aggregates only)."""
    counts = _value_counts_expr(labelled, column).order_by(VALUE).to_pyarrow()
    values = counts[VALUE].to_numpy(zero_copy_only=False)
    return ColumnCounts(
        values=values,
        ref_counts=counts["n_ref"].to_numpy(zero_copy_only=False).astype(np.int64),
        cur_counts=counts["n_cur"].to_numpy(zero_copy_only=False).astype(np.int64),
    )


def exact_numeric_engine(
    labelled: ir.Table, column: str, *, n_ref: int, n_cur: int, fetch_counts_below: int
) -> ExactNumeric:
    """KS ``D`` and Wasserstein-1 by cumulative sums over per-value counts inside the engine."""
    counts = _value_counts_expr(labelled, column)
    order = ibis.window(order_by=counts[VALUE])
    value = counts[VALUE].cast("float64")
    cdf_diff = counts.n_ref.cumsum().over(order) / float(n_ref) - counts.n_cur.cumsum().over(order) / float(
        n_cur
    )
    gap = counts[VALUE].lead().over(order).cast("float64") - value
    steps = counts.select(diff=cdf_diff, gap=gap)
    reduced = (
        steps.aggregate(
            n_distinct=steps.diff.count(),
            d_max=steps.diff.max(),
            d_min=steps.diff.min(),
            w_sum=(steps.diff.abs() * steps.gap).sum(),
        )
        .to_pyarrow()
        .to_pylist()[0]
    )
    n_distinct = int(reduced["n_distinct"] or 0)
    d = max(float(np.clip(-reduced["d_min"], 0, 1)), float(reduced["d_max"]))
    wasserstein = float(reduced["w_sum"] or 0.0)
    column_counts = fetch_value_counts(labelled, column) if n_distinct <= fetch_counts_below else None
    return ExactNumeric(n_distinct, d, wasserstein, column_counts, "engine")


def _merge_sorted_counts(ref_sorted: np.ndarray, cur_sorted: np.ndarray) -> ColumnCounts:
    ref_values, ref_counts = np.unique(ref_sorted, return_counts=True)
    cur_values, cur_counts = np.unique(cur_sorted, return_counts=True)
    values = np.union1d(ref_values, cur_values)
    ref_all = np.zeros(values.size, dtype=np.int64)
    cur_all = np.zeros(values.size, dtype=np.int64)
    ref_all[np.searchsorted(values, ref_values)] = ref_counts
    cur_all[np.searchsorted(values, cur_values)] = cur_counts
    return ColumnCounts(values, ref_all, cur_all)


def exact_numeric_columnar(labelled: ir.Table, column: str, *, fetch_counts_below: int) -> ExactNumeric:
    """KS ``D`` and Wasserstein-1 from one column streamed as Arrow into a sort-based numpy pass."""
    valid = valid_expr(labelled, column)
    arrow = labelled.filter(valid).select(labelled[column].cast("float64").name(VALUE), labelled[IS_CURRENT])
    table: pa.Table = arrow.to_pyarrow()
    values = table[VALUE].to_numpy(zero_copy_only=False)
    is_current = table[IS_CURRENT].to_numpy(zero_copy_only=False).astype(bool)
    del table
    counts = _merge_sorted_counts(values[~is_current], values[is_current])
    del values, is_current
    d = st.ks_from_counts(counts.ref_counts, counts.cur_counts)
    wasserstein = st.wasserstein_from_counts(counts.values, counts.ref_counts, counts.cur_counts)
    n_distinct = int(counts.values.size)
    return ExactNumeric(
        n_distinct, d, wasserstein, counts if n_distinct <= fetch_counts_below else None, "columnar"
    )


# ------------------------------------------------------------------------------------ frozen-edge histograms
def reference_quantile_edges(labelled: ir.Table, column: str, n_bins: int) -> np.ndarray:
    """Interior reference quantile edges (``QUANTILE_CONT``), deduplicated; computed once, then frozen."""
    probs = [k / n_bins for k in range(1, n_bins)]
    valid = valid_expr(labelled, column)
    col = labelled[column].cast("float64")
    row = labelled.aggregate(q=col.quantile(probs, where=valid & ~labelled[IS_CURRENT])).to_pyarrow()
    quantiles = row["q"].to_pylist()[0] or []
    return np.unique(np.asarray([q for q in quantiles if q is not None], dtype=np.float64))


def histogram_counts(
    labelled: ir.Table,
    edges: dict[str, np.ndarray],
    categories: dict[str, list[object]],
    *,
    group_by: ir.Value | None = None,
) -> dict[str, object]:
    """Counts per frozen bin for every column in ONE aggregate query (optionally per time chunk).

    Numeric: bins ``(-inf, e1), [e1, e2), ..., [e_k, inf)`` from ``count(x >= e_j)`` sums. Categorical:
    one count per listed category plus one for every other (unseen) value.
    Returns a pyarrow table (one row, or one row per group) of named counts.
    """
    cur = labelled[IS_CURRENT]
    aggs: dict[str, ir.Value] = {
        "n_rows_ref": (~cur).cast("int64").sum(),
        "n_rows_cur": cur.cast("int64").sum(),
    }
    for i, (column, column_edges) in enumerate(edges.items()):
        valid = valid_expr(labelled, column)
        col = labelled[column].cast("float64")
        for side, flag in (("ref", ~cur), ("cur", cur)):
            aggs[f"h{i}_{side}_n"] = (valid & flag).cast("int64").sum()
            for j, edge in enumerate(column_edges):
                aggs[f"h{i}_{side}_ge{j}"] = (valid & flag & (col >= float(edge))).cast("int64").sum()
    for i, (column, cats) in enumerate(categories.items()):
        valid = valid_expr(labelled, column)
        col = labelled[column]
        for side, flag in (("ref", ~cur), ("cur", cur)):
            aggs[f"k{i}_{side}_n"] = (valid & flag).cast("int64").sum()
            for j, cat in enumerate(cats):
                aggs[f"k{i}_{side}_eq{j}"] = (valid & flag & (col == ibis.literal(cat))).cast("int64").sum()
    if group_by is not None:
        return labelled.group_by(__chunk=group_by).aggregate(**aggs).order_by("__chunk").to_pyarrow()
    return labelled.aggregate(**aggs).to_pyarrow()


def unpack_histograms(
    row: dict[str, object], edges: dict[str, np.ndarray], categories: dict[str, list[object]]
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Turn one row of :func:`histogram_counts` into (reference, current) bin counts per column."""
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for i, (column, column_edges) in enumerate(edges.items()):
        pair = []
        for side in ("ref", "cur"):
            total = int(row[f"h{i}_{side}_n"] or 0)
            ge = [total] + [int(row[f"h{i}_{side}_ge{j}"] or 0) for j in range(len(column_edges))] + [0]
            pair.append(np.diff(-np.asarray(ge, dtype=np.int64)))
        out[column] = (pair[0], pair[1])
    for i, (column, cats) in enumerate(categories.items()):
        pair = []
        for side in ("ref", "cur"):
            total = int(row[f"k{i}_{side}_n"] or 0)
            per_cat = [int(row[f"k{i}_{side}_eq{j}"] or 0) for j in range(len(cats))]
            pair.append(np.asarray([*per_cat, total - sum(per_cat)], dtype=np.int64))
        out[column] = (pair[0], pair[1])
    return out


def sturges_counts(labelled: ir.Table, column: str, minimum: float, maximum: float, n: int) -> ColumnCounts:
    """Counts per bin of ``np.histogram(data, bins="sturges")`` over reference and current together."""
    edges = st.sturges_edges(minimum, maximum, n)
    interior = edges[1:-1]
    table = histogram_counts(labelled, {column: interior}, {})
    ref, cur = unpack_histograms(table.to_pylist()[0], {column: interior}, {})[column]
    return ColumnCounts(edges[:-1], ref, cur)


# ----------------------------------------------------------------------------------------- memory planning
def columnar_bytes(n_rows: int) -> int:
    """Stated peak estimate (bytes) of the columnar path for one column.

    Arrow buffer, numpy copy, two sorted halves and the unique/merge arrays: about 5 float64 copies per row
    plus the flag.
    """
    return int(n_rows) * (5 * 8 + 2)


def set_duckdb_memory_limit(table: ir.Table, memory_limit: str | None) -> object:
    """Apply ``SET memory_limit`` on a DuckDB backend; return a callable that restores the old value."""
    if memory_limit is None:
        return lambda: None
    try:
        backend = table.get_backend()
    except Exception:  # noqa: BLE001 - a table without a single backend simply gets no limit
        return lambda: None
    if getattr(backend, "name", "") != "duckdb":
        return lambda: None
    con = backend.con
    previous = con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0]
    con.execute(f"SET memory_limit = '{memory_limit}'")

    def restore() -> None:
        con.execute(f"SET memory_limit = '{previous}'")

    return restore


def finite_or_none(value: float | None) -> float | None:
    """JSON-friendly float: NaN/inf become None."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None
