"""Computation paths of the drift analysis (private; see :mod:`analysis.drift`).

Everything here works on one *labelled* Ibis table: the rows of the reference and the current window with a
boolean column ``__is_current``. Two paths give the same exact per-value statistics (KS ``D``, Wasserstein-1,
frozen reference quantile edges and the counts in their bins):

* ``engine``: per-value counts and their cumulative sums are computed by the backend with window functions
  (``SUM(..) OVER (ORDER BY value)``, ``LEAD(value)``) and reduced there to ``D``, the Wasserstein sum and
  the edges (smallest value whose cumulative reference count reaches the edge's rank); only scalars come
  back (per-value counts are fetched only when small: low-cardinality columns, or at most 10,000 rows per
  side where scipy's exact KS distribution needs them). Bin counts for all columns: one aggregate query.
  Works on any backend with window functions; one column per query keeps the engine's memory bounded.
* ``columnar``: a batch of columns that fits the memory budget is streamed as Arrow -- as rows (value,
  window flag) for mostly-distinct columns, as engine-grouped per-value counts for the others -- and
  reduced by a sort-based numpy pass (:func:`stats_from_counts`).

Both paths use the same arithmetic (``cumulative count / n`` as scipy does) and the same edge rule
(reference value of rank ``ceil(n k / bins)``, a data value), so their numbers are identical; the tests
check it on hypothesis-generated data.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pyarrow as pa

from analysis import _drift_stats as st

IS_CURRENT = "__is_current"
VALUE = "__value"
COLUMN_ID = "__column"


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
    n_ref: int = 0
    n_cur: int = 0
    ref_std: float | None = None
    minimum: float | None = None
    maximum: float | None = None
    edges: np.ndarray | None = None
    ref_bins: np.ndarray | None = None
    cur_bins: np.ndarray | None = None


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


def labelled_table(reference: ir.Table, current: ir.Table, *, columns: Sequence[str]) -> ir.Table:
    """The labelled table of two tables: the selected columns plus ``__is_current``.

    The current columns are cast to the reference's types, so that the union has one schema.
    """
    ref_schema = reference.schema()
    ref_part = reference.select(*[reference[c] for c in columns], **{IS_CURRENT: ibis.literal(False)})
    cur_part = current.select(
        *[current[c].cast(ref_schema[c]).name(c) for c in columns], **{IS_CURRENT: ibis.literal(True)}
    )
    return ref_part.union(cur_part, distinct=False)


def split_table(
    table: ir.Table,
    *,
    columns: Sequence[str],
    time_column: str,
    reference_window: tuple[object, object],
    current_window: tuple[object, object],
    keep_time: bool = False,
) -> ir.Table:
    """The labelled table of one table split by ``time_column`` into two half-open windows ``[start, end)``.

    The caller checks that the windows do not overlap (a row in both would count as current only).
    """
    time = table[time_column]
    ref_start, ref_end = reference_window
    cur_start, cur_end = current_window
    in_ref = (time >= ref_start) & (time < ref_end)
    in_cur = (time >= cur_start) & (time < cur_end)
    selected = [table[c] for c in columns]
    if keep_time and time_column not in columns:
        selected.append(table[time_column])
    return table.filter(in_ref | in_cur).select(*selected, **{IS_CURRENT: in_cur})


# --------------------------------------------------------------------------------------------- summary query
def _clean_value(labelled: ir.Table, column: str, *, as_float: bool) -> ir.Value:
    """The column with missing values (NULL, and NaN/inf for floats) as NULL."""
    col = labelled[column]
    if as_float:
        col = col.cast("float64")
    if is_float(labelled, column):
        return valid_expr(labelled, column).ifelse(col, ibis.null(col.type()))
    return col


def projected(
    labelled: ir.Table,
    numeric: Sequence[str],
    categorical: Sequence[str] = (),
    extra: Mapping[str, ir.Value] | None = None,
) -> ir.Table:
    """``__is_current`` plus cleaned columns ``v0, v1, ...`` (numeric as float64, then categorical)."""
    values = dict(extra or {})
    values |= {f"v{i}": _clean_value(labelled, c, as_float=True) for i, c in enumerate(numeric)}
    values.update(
        {f"v{len(numeric) + j}": _clean_value(labelled, c, as_float=False) for j, c in enumerate(categorical)}
    )
    return labelled.select(labelled[IS_CURRENT], **values)


def row_counts_and_distinct(labelled: ir.Table, columns: Sequence[str]) -> tuple[int, int, dict[str, int]]:
    """Rows per window and approximate distinct values per column (HyperLogLog), in one scan.

    With no columns, the row counts alone.
    """
    proj = projected(labelled, columns)
    aggs = {f"d{i}": proj[f"v{i}"].approx_nunique() for i in range(len(columns))}
    rows = proj.group_by(IS_CURRENT).aggregate(n=proj.count(), **aggs).to_pyarrow().to_pylist()
    by_side = {bool(r[IS_CURRENT]): r for r in rows}
    ref, cur = by_side.get(False, {}), by_side.get(True, {})
    # distinct over both windows is at least the larger side's and at most the sum
    distinct = {
        column: int((ref.get(f"d{i}") or 0) + (cur.get(f"d{i}") or 0)) for i, column in enumerate(columns)
    }
    return int(ref.get("n") or 0), int(cur.get("n") or 0), distinct


def column_summaries(
    labelled: ir.Table, numeric: Sequence[str], categorical: Sequence[str]
) -> dict[str, dict[str, Any]]:
    """One aggregate query: row counts, valid counts, min/max and reference population std per column."""
    proj = projected(labelled, numeric, categorical)
    aggs: dict[str, ir.Value] = {"n_rows": proj.count()}
    for i, column in enumerate([*numeric, *categorical]):
        value = proj[f"v{i}"]
        aggs[f"c{i}_n"] = value.count()
        if column in numeric:
            aggs[f"c{i}_min"] = value.min()
            aggs[f"c{i}_max"] = value.max()
            aggs[f"c{i}_std"] = value.std(how="pop")
    rows = proj.group_by(IS_CURRENT).aggregate(**aggs).to_pyarrow().to_pylist()
    by_side = {bool(r[IS_CURRENT]): r for r in rows}
    ref, cur = by_side.get(False, {}), by_side.get(True, {})
    out: dict[str, dict[str, Any]] = {}
    for i, column in enumerate([*numeric, *categorical]):
        entry: dict[str, Any] = {
            "n_ref_rows": int(ref.get("n_rows") or 0),
            "n_cur_rows": int(cur.get("n_rows") or 0),
            "n_ref": int(ref.get(f"c{i}_n") or 0),
            "n_cur": int(cur.get(f"c{i}_n") or 0),
        }
        if column in numeric:
            mins = [r.get(f"c{i}_min") for r in (ref, cur) if r.get(f"c{i}_min") is not None]
            maxs = [r.get(f"c{i}_max") for r in (ref, cur) if r.get(f"c{i}_max") is not None]
            entry["min"] = min(mins) if mins else None
            entry["max"] = max(maxs) if maxs else None
            entry["refstd"] = ref.get(f"c{i}_std")
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


def quantile_ranks(n_ref: int, n_bins: int) -> list[int]:
    """1-based ranks of the frozen reference edges: ``ceil(n * k / n_bins)`` for k = 1..n_bins-1.

    The edge is the reference value of that rank (the inverted-CDF quantile, DuckDB's ``QUANTILE_DISC``):
    a data value, so the engine and the columnar path find the very same edges.
    """
    return [max(1, math.ceil(n_ref * (k / n_bins))) for k in range(1, n_bins)]


def stacked_value_counts(labelled: ir.Table, columns: Sequence[str], *, as_float: bool = False) -> ir.Table:
    """Per-value counts of several columns of one type in **one scan**: ``(__column, __value, n_ref, n_cur)``.

    The columns are stacked (``pivot_longer``: an array of structs, unnested) into (column number, value)
    and grouped once -- a ``UNION ALL`` of one aggregate per column reads the data once per column, which
    costs a Spark job (and a Parquet scan) each. Missing values are dropped as :func:`valid_expr` does.
    """
    values = {
        f"v{i}": labelled[c].cast("float64") if as_float else labelled[c] for i, c in enumerate(columns)
    }
    wide = labelled.select(**values, **{IS_CURRENT: labelled[IS_CURRENT]})
    long = wide.pivot_longer(
        list(values),
        names_to=COLUMN_ID,
        names_pattern=r"v(\d+)",
        names_transform=lambda number: ibis.literal(int(number), type="int32"),
        values_to=VALUE,
    )
    valid = long[VALUE].notnull()
    if as_float or any(is_float(labelled, c) for c in columns):
        valid = valid & ~long[VALUE].isnan() & ~long[VALUE].isinf()
    long = long.filter(valid)
    return long.group_by([COLUMN_ID, VALUE]).aggregate(
        n_ref=(~long[IS_CURRENT]).cast("int64").sum(), n_cur=long[IS_CURRENT].cast("int64").sum()
    )


def _split_counts(table: pa.Table, columns: Sequence[str], *, sort: bool) -> dict[str, ColumnCounts]:
    ids = table[COLUMN_ID].to_numpy(zero_copy_only=False)
    values = table[VALUE].to_numpy(zero_copy_only=False)
    ref = table["n_ref"].to_numpy(zero_copy_only=False).astype(np.int64)
    cur = table["n_cur"].to_numpy(zero_copy_only=False).astype(np.int64)
    out: dict[str, ColumnCounts] = {}
    for i, column in enumerate(columns):
        mine = ids == i
        order = np.argsort(values[mine], kind="stable") if sort else slice(None)
        out[column] = ColumnCounts(values[mine][order], ref[mine][order], cur[mine][order])
    return out


def fetch_value_counts_many(labelled: ir.Table, columns: Sequence[str]) -> dict[str, ColumnCounts]:
    """Per-value counts of several columns sorted by value: one scan per column type."""
    schema = labelled.schema()
    by_type: dict[object, list[str]] = {}
    for column in columns:
        by_type.setdefault(schema[column], []).append(column)
    out: dict[str, ColumnCounts] = {}
    for group in by_type.values():
        query = stacked_value_counts(labelled, group).order_by([COLUMN_ID, VALUE])
        out.update(_split_counts(query.to_pyarrow(), group, sort=False))
    return out


def exact_numeric_engine(
    labelled: ir.Table,
    column: str,
    *,
    n_ref: int,
    n_cur: int,
    fetch_counts_below: int,
    n_bins: int,
) -> ExactNumeric:
    """KS ``D``, Wasserstein-1 and the frozen quantile edges by cumulative sums inside the engine.

    Per-value counts are grouped, cumulated with ``SUM() OVER (ORDER BY value)``, and reduced in the same
    query to ``max``/``min`` of the CDF difference, ``sum(|diff| * (next value - value))`` and, per edge, the
    smallest value whose cumulative reference count reaches the edge's rank. Only scalars come back.
    """
    counts = _value_counts_expr(labelled, column)
    order = ibis.window(order_by=counts[VALUE])
    value = counts[VALUE].cast("float64")
    cum_ref = counts.n_ref.cumsum().over(order)
    # Cast before dividing: Spark SQL reads the literal ``2962.0`` as a DECIMAL, and BIGINT / DECIMAL keeps
    # only 6 decimals (the Wasserstein sum came out 8e-6 relative off); DOUBLE / DOUBLE is exact-rounded.
    cum_cur = counts.n_cur.cumsum().over(order)
    cdf_diff = cum_ref.cast("float64") / float(n_ref) - cum_cur.cast("float64") / float(n_cur)
    gap = counts[VALUE].lead().over(order).cast("float64") - value
    steps = counts.select(diff=cdf_diff, gap=gap, cum_ref=cum_ref, value=value)
    ranks = quantile_ranks(n_ref, n_bins)
    edge_aggs = {f"e{k}": steps.value.min(where=steps.cum_ref >= rank) for k, rank in enumerate(ranks)}
    reduced = (
        steps.aggregate(
            n_distinct=steps.diff.count(),
            d_max=steps.diff.max(),
            d_min=steps.diff.min(),
            w_sum=(steps.diff.abs() * steps.gap).sum(),
            **edge_aggs,
        )
        .to_pyarrow()
        .to_pylist()[0]
    )
    n_distinct = int(reduced["n_distinct"] or 0)
    d = max(float(np.clip(-reduced["d_min"], 0, 1)), float(reduced["d_max"]))
    wasserstein = float(reduced["w_sum"] or 0.0)
    edges = np.unique(np.asarray([reduced[f"e{k}"] for k in range(len(ranks))], dtype=np.float64))
    column_counts = fetch_value_counts(labelled, column) if n_distinct <= fetch_counts_below else None
    return ExactNumeric(
        n_distinct, d, wasserstein, column_counts, "engine", n_ref=n_ref, n_cur=n_cur, edges=edges
    )


def stats_from_counts(
    counts: ColumnCounts, *, n_bins: int, keep_counts: int, method_path: str
) -> ExactNumeric:
    """All exact statistics of one numeric column from its per-value counts (values sorted ascending).

    ``D`` and the Wasserstein sum use the same arithmetic as the engine path and as scipy (``cumsum / n``);
    the frozen edges are the reference values of rank ``quantile_ranks`` (inverted-CDF quantiles); the
    reference standard deviation is the population one (``np.std``), from the weighted values.
    """
    values = counts.values.astype(np.float64, copy=False)
    ref_counts, cur_counts = counts.ref_counts, counts.cur_counts
    cum_ref = np.cumsum(ref_counts)
    cum_cur = np.cumsum(cur_counts)
    n_ref, n_cur = int(cum_ref[-1]), int(cum_cur[-1])
    cdf_diff = cum_ref / n_ref - cum_cur / n_cur
    d = max(float(np.clip(-np.min(cdf_diff), 0, 1)), float(np.max(cdf_diff)))
    wasserstein = float(np.sum(np.abs(cdf_diff[:-1]) * np.diff(values))) if values.size > 1 else 0.0
    mean = float(np.sum(values * ref_counts) / n_ref)
    ref_std = float(np.sqrt(np.sum(ref_counts * (values - mean) ** 2) / n_ref))
    ranks = np.asarray(quantile_ranks(n_ref, n_bins))
    edges = np.unique(values[np.searchsorted(cum_ref, ranks, side="left")])
    # rows >= edge = n - (cumulative count just below the edge)
    below = np.searchsorted(values, edges, side="left")
    ref_below = np.where(below > 0, cum_ref[np.maximum(below - 1, 0)], 0)
    cur_below = np.where(below > 0, cum_cur[np.maximum(below - 1, 0)], 0)
    ref_bins = np.diff(np.concatenate([[0], ref_below, [n_ref]]))
    cur_bins = np.diff(np.concatenate([[0], cur_below, [n_cur]]))
    return ExactNumeric(
        int(values.size),
        d,
        wasserstein,
        counts if values.size <= keep_counts else None,
        method_path,
        n_ref=n_ref,
        n_cur=n_cur,
        ref_std=ref_std,
        minimum=float(values[0]),
        maximum=float(values[-1]),
        edges=edges,
        ref_bins=ref_bins.astype(np.int64),
        cur_bins=cur_bins.astype(np.int64),
    )


def _distinct_counts(sorted_values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct values and their counts of an ascending array."""
    if sorted_values.size == 0:
        return sorted_values, np.zeros(0, dtype=np.int64)
    last = np.empty(sorted_values.size, dtype=bool)
    last[-1] = True
    np.not_equal(sorted_values[1:], sorted_values[:-1], out=last[:-1])
    ends = np.flatnonzero(last)
    return sorted_values[ends], np.diff(ends, prepend=-1).astype(np.int64)


def _counts_from_rows(values: np.ndarray, is_current: np.ndarray) -> ColumnCounts:
    """Per-value counts from raw rows: each window sorted on its own, then merged.

    ``np.sort`` (SIMD) is about three times faster than the ``argsort`` a joint sort would need to carry the
    window flag along; the merge inserts the current window's new values into the reference's distinct
    values at their ``searchsorted`` positions (linear in the number of distinct values). Sorted in place
    and freed as soon as possible (the peak is stated in ``columnar_bytes``).
    """
    sides = []
    for mask in (~is_current, is_current):
        side = values[mask]
        side.sort()
        sides.append(_distinct_counts(side))
        del side
    (ref_values, ref_counts), (cur_values, cur_counts) = sides
    del sides
    pos = np.searchsorted(ref_values, cur_values)
    found = np.zeros(cur_values.size, dtype=bool)
    inside = pos < ref_values.size
    found[inside] = ref_values[pos[inside]] == cur_values[inside]
    del inside
    new = ~found
    del found
    at = pos[new]
    merged_values = np.insert(ref_values, at, cur_values[new])
    del ref_values
    merged_ref = np.insert(ref_counts, at, 0)
    del ref_counts, at
    # a current value's place in the merged array: its reference position plus the new values before it
    pos += np.cumsum(new) - new
    merged_cur = np.zeros(merged_values.size, dtype=np.int64)
    merged_cur[pos] = cur_counts
    return ColumnCounts(merged_values, merged_ref, merged_cur)


def exact_numeric_columnar(
    labelled: ir.Table,
    columns: Sequence[str],
    *,
    fetch_counts_below: Mapping[str, int],
    n_bins: int,
    raw_columns: Sequence[str] = (),
) -> dict[str, ExactNumeric]:
    """Exact statistics of a batch of columns, streamed as Arrow into a sort-based numpy pass.

    Two ways to stream, same numbers: columns in ``raw_columns`` (mostly distinct values) come as rows
    (value, window flag) and are sorted in numpy; the others come as per-value counts grouped by the
    engine's hash aggregate (one stacked query for the batch), far fewer rows when values repeat.
    Either way numpy sorts and :func:`stats_from_counts` computes every statistic. The caller sizes the
    batch to the memory budget (worst case: every value distinct).
    """
    per_column: dict[str, ColumnCounts | None] = {}
    raw = [c for c in columns if c in set(raw_columns)]
    grouped = [c for c in columns if c not in set(raw_columns)]
    # numpy's sorts and ufuncs release the GIL: columns are reduced in parallel threads, at most one per
    # column, so the batch's peak stays within its budget (see ``columnar_bytes``).
    workers = max(1, min(usable_cpus(), len(columns)))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        if raw:
            table: pa.Table = projected(labelled, raw).to_pyarrow()
            is_current = table[IS_CURRENT].to_numpy(zero_copy_only=False).astype(bool)

            def raw_counts(i: int) -> ColumnCounts | None:
                chunked = table[f"v{i}"]
                valid = ~chunked.is_null().to_numpy(zero_copy_only=False)
                values = chunked.to_numpy(zero_copy_only=False)[valid]
                return _counts_from_rows(values, is_current[valid]) if values.size else None

            per_column.update(zip(raw, pool.map(raw_counts, range(len(raw))), strict=True))
            del table, is_current
        if grouped:
            per_column.update(_grouped_counts(labelled, grouped))

        def statistics(column: str) -> ExactNumeric:
            counts = per_column.get(column)
            n_ref = 0 if counts is None else int(counts.ref_counts.sum())
            n_cur = 0 if counts is None else int(counts.cur_counts.sum())
            if counts is None or n_ref == 0 or n_cur == 0:
                return ExactNumeric(0, float("nan"), float("nan"), None, "columnar", n_ref=n_ref, n_cur=n_cur)
            return stats_from_counts(
                counts, n_bins=n_bins, keep_counts=fetch_counts_below[column], method_path="columnar"
            )

        return dict(zip(columns, pool.map(statistics, columns), strict=True))


def _grouped_counts(labelled: ir.Table, columns: Sequence[str]) -> dict[str, ColumnCounts | None]:
    """Per-value counts of a batch of numeric columns grouped by the engine in one scan, sorted by value."""
    table = stacked_value_counts(labelled, columns, as_float=True).to_pyarrow()
    counts = _split_counts(table, columns, sort=True)
    return {c: counts[c] if counts[c].values.size else None for c in columns}


# ------------------------------------------------------------------------------------ frozen-edge histograms
def reference_quantile_edges(
    labelled: ir.Table, columns: Sequence[str], n_bins: int
) -> dict[str, np.ndarray]:
    """Interior reference quantile edges (``QUANTILE_CONT``) of a batch of columns, deduplicated; frozen."""
    probs = [k / n_bins for k in range(1, n_bins)]
    proj = projected(labelled, columns)
    ref = proj.filter(~proj[IS_CURRENT])
    row = ref.aggregate(**{f"q{i}": ref[f"v{i}"].quantile(probs) for i in range(len(columns))}).to_pyarrow()
    out = {}
    for i, column in enumerate(columns):
        quantiles = row[f"q{i}"].to_pylist()[0] or []
        out[column] = np.unique(np.asarray([q for q in quantiles if q is not None], dtype=np.float64))
    return out


def histogram_counts(
    labelled: ir.Table,
    edges: Mapping[str, np.ndarray],
    categories: Mapping[str, list[object]],
    *,
    group_by: ir.Value | None = None,
) -> list[dict[str, Any]]:
    """Counts per frozen bin for every column in ONE aggregate query (optionally per time chunk).

    Numeric: bins ``(-inf, e1), [e1, e2), ..., [e_k, inf)`` from ``count(x >= e_j)`` sums. Categorical:
    one count per listed category plus one for every other (unseen) value. Returns one dict per chunk
    (``__chunk``) with ``n_rows_ref``/``n_rows_cur`` and ``h{i}_{side}_n``, ``h{i}_{side}_ge{j}``,
    ``k{i}_{side}_n``, ``k{i}_{side}_eq{j}`` counts.
    """
    numeric, cats = list(edges), list(categories)
    proj = projected(labelled, numeric, cats, extra=None if group_by is None else {"__chunk": group_by})
    aggs: dict[str, ir.Value] = {"n_rows": proj.count()}
    for i, column in enumerate(numeric):
        value = proj[f"v{i}"]
        aggs[f"h{i}_n"] = value.count()
        for j, edge in enumerate(edges[column]):
            aggs[f"h{i}_ge{j}"] = (value >= float(edge)).cast("int64").sum()
    for i, column in enumerate(cats):
        value = proj[f"v{len(numeric) + i}"]
        aggs[f"k{i}_n"] = value.count()
        for j, cat in enumerate(categories[column]):
            aggs[f"k{i}_eq{j}"] = (value == ibis.literal(cat)).cast("int64").sum()
    keys = [IS_CURRENT] if group_by is None else ["__chunk", IS_CURRENT]
    rows = proj.group_by(keys).aggregate(**aggs).to_pyarrow().to_pylist()
    merged: dict[object, dict[str, Any]] = {}
    for row in rows:
        chunk = row.get("__chunk")
        side = "cur" if row[IS_CURRENT] else "ref"
        target = merged.setdefault(chunk, {"__chunk": chunk, "n_rows_ref": 0, "n_rows_cur": 0})
        for key, value in row.items():
            if key in ("__chunk", IS_CURRENT):
                continue
            if key == "n_rows":
                target[f"n_rows_{side}"] = value
            else:
                prefix, _, rest = key.partition("_")
                target[f"{prefix}_{side}_{rest}"] = value
    if not merged:
        merged[None] = {"__chunk": None, "n_rows_ref": 0, "n_rows_cur": 0}
    return [merged[k] for k in sorted(merged, key=lambda c: (c is None, c))]


def unpack_histograms(
    row: Mapping[str, Any], edges: Mapping[str, np.ndarray], categories: Mapping[str, list[object]]
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Turn one row of :func:`histogram_counts` into (reference, current) bin counts per column."""
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for i, (column, column_edges) in enumerate(edges.items()):
        pair = []
        for side in ("ref", "cur"):
            total = int(row.get(f"h{i}_{side}_n") or 0)
            ge = [total] + [int(row.get(f"h{i}_{side}_ge{j}") or 0) for j in range(len(column_edges))] + [0]
            pair.append(np.diff(-np.asarray(ge, dtype=np.int64)))
        out[column] = (pair[0], pair[1])
    for i, (column, cats) in enumerate(categories.items()):
        pair = []
        for side in ("ref", "cur"):
            total = int(row.get(f"k{i}_{side}_n") or 0)
            per_cat = [int(row.get(f"k{i}_{side}_eq{j}") or 0) for j in range(len(cats))]
            pair.append(np.asarray([*per_cat, total - sum(per_cat)], dtype=np.int64))
        out[column] = (pair[0], pair[1])
    return out


def sturges_counts(labelled: ir.Table, column: str, minimum: float, maximum: float, n: int) -> ColumnCounts:
    """Counts per bin of ``np.histogram(data, bins="sturges")`` over reference and current together."""
    edges = st.sturges_edges(minimum, maximum, n)
    interior = edges[1:-1]
    row = histogram_counts(labelled, {column: interior}, {})[0]
    ref, cur = unpack_histograms(row, {column: interior}, {})[column]
    return ColumnCounts(edges[:-1], ref, cur)


# ----------------------------------------------------------------------------------------- memory planning
def columnar_bytes(n_rows: int) -> int:
    """Stated peak estimate (bytes) of the columnar path for one column.

    The column's Arrow buffer (8 bytes per row) and its counts kept until the statistics are done (values,
    reference and current counts: 24) plus the transients of :func:`_counts_from_rows` (the valid values,
    one window's sorted copy, distinct values, positions, merged arrays; measured with ``tracemalloc`` at
    about 32 bytes per row on two million distinct values) and three flag arrays. As a batch runs at most
    one thread per column, a batch of ``k`` columns with ``w <= k`` threads peaks at about
    ``(32 k + 32 w) n`` bytes, within the ``67 k n`` this states.
    """
    return int(n_rows) * (8 * 8 + 3)


def usable_cpus() -> int:
    """CPUs this process may run on (its affinity mask, e.g. a container's limit), else the CPU count."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # pragma: no cover - macOS, Windows
        return os.cpu_count() or 1


def set_duckdb_memory_limit(table: ir.Table, memory_limit: str | None) -> Callable[[], None]:
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
