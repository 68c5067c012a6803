"""Slice discovery: where in the incident window the failures concentrate (SliceLine, engine-side counts).

SliceLine (Sagadeeva & Boehm, SIGMOD 2021) searches conjunctions of up to three predicates
``feature = value`` over categorical features and binned numeric features for slices ``S`` of the incident
window whose score

    ``sc = alpha * ((se / |S|) / e_mean - 1) - (1 - alpha) * (n / |S| - 1)``

is high (``|S|`` the slice's judged rows, ``se`` its failures, ``n`` the window's judged rows, ``e_mean`` the
window's failure rate). The search is level-wise: level 1 scores every value; level ``l`` joins the valid
slices of level ``l - 1`` (support ``>= min_support`` and at least one failure), keeps a candidate only when
all its ``l`` parents are valid (missing-parent pruning) and when the upper bound of its score -- from the
smallest size and failure count among its parents -- beats both 0 and the current k-th best score (size and
score pruning). Only slices with a positive score and enough support enter the top ``k``.

The counts come from the engine. The log is narrowed to the two windows' judged rows (failure not NULL) and
binned there (:func:`bin_expression`): numeric features by interior quantiles of the REFERENCE window
(``n_bins`` bins, duplicate edges merged), other features by their values (the ``max_categories`` most
frequent over both windows, the rest as ``"(other)"``); NULL (and NaN) is a value of its own, ``"(null)"``.
The binned codes are cached once; levels 1 and 2 are ONE ``GROUP BY GROUPING SETS`` aggregate with the window
as a grouping column (every feature and every pair: exact counts in both windows); level 3 is a second
grouping-sets aggregate over the feature triples of the surviving candidates only, its rows filtered to their
values. Ibis 12 has no grouping-sets API, so the query is SQL over the compiled cached table, run through the
backend's ``sql`` (DuckDB and Spark SQL both support it).

Per top slice: size, failures, error rate with its Wilson 95 % interval, lift over the window's rate, the
same slice's counts in the reference window, the excess failures (``failures - n * reference rate``, the
slice's own reference rate where it has ``min_support`` reference rows, else the window's) and the share of
the window's total excess it explains, a p-value -- one-sided Fisher exact test (hypergeometric) of the
slice's failures against the rest of the incident window -- and the Benjamini-Hochberg q-value over every
candidate whose counts were scored (all values at level 1, the candidates left after pruning at levels 2
and 3; slices without rows are not counted).

The upper bound here uses the window's rows ``n`` (the paper's bound) and the smallest counts among ALL
parents; the ``sliceline`` package (0.3.0) uses the number of one-hot columns in place of ``n`` and two
parents -- looser bounds, so it evaluates more candidates, for the same top ``k``. One difference: while the
top ``k`` is not yet full the package prunes below the worst slice found so far, which can drop a positive
slice; here the bar is 0 until ``k`` slices are held (exact).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
from ibis.backends import BaseBackend
from ibis.common.exceptions import IbisError
from scipy import stats

from analysis._fairness_stats import benjamini_hochberg
from analysis.data import Window
from analysis.errors import InvalidParameterError
from analysis.stats import wilson_interval

__all__ = [
    "NULL_LABEL",
    "OTHER_LABEL",
    "FeatureBins",
    "SliceResult",
    "bin_expression",
    "feature_bins",
    "find_slices",
    "slice_score",
]

NULL_LABEL = "(null)"
"""The value of a feature that is NULL (or NaN): a value of its own, never dropped."""
OTHER_LABEL = "(other)"
"""The value of a categorical feature outside its ``max_categories`` most frequent values."""
MAX_LEVEL = 3
#: columns of the cached, binned table (short names: feature names never reach the SQL text)
_WINDOW, _FAILED = "w", "f"
_REFERENCE, _INCIDENT = 0, 1
SLICE_COLUMNS = (
    "predicates",
    "description",
    "level",
    "n",
    "failures",
    "error_rate",
    "error_low",
    "error_high",
    "lift",
    "score",
    "reference_n",
    "reference_failures",
    "reference_rate",
    "excess",
    "excess_share",
    "p_value",
    "q_value",
)

Predicate = tuple[str, str, Any, str]
"""``(column, op, value, label)``; op is ``==``, ``<``, ``>=``, ``between`` (``[lo, hi)``), ``is_null``,
``not_null`` or ``not_in`` (the ``"(other)"`` value: none of the kept values)."""
SliceKey = tuple[tuple[int, int], ...]
"""A slice as sorted ``(feature index, code)`` pairs."""


# --------------------------------------------------------------------------------------------------
# Bins
# --------------------------------------------------------------------------------------------------


def _number(value: float) -> str:
    return f"{value:.4g}"


@dataclass(frozen=True)
class FeatureBins:
    """How one feature is cut into values: code 0 is NULL, codes 1.. the bins or kept values.

    Attributes
    ----------
    column : str
        The feature.
    kind : {"numeric", "categorical"}
        Numeric features are cut at ``edges``; the others take their (string) values.
    edges : tuple of float
        Interior edges (numeric), from reference-window quantiles, distinct and increasing. Code ``i``
        (1-based) is ``[edges[i-2], edges[i-1])``, the first bin below ``edges[0]``, the last from
        ``edges[-1]`` on.
    values : tuple of str
        Kept values (categorical), most frequent first; code ``i`` is ``values[i-1]``.
    has_other : bool
        Whether more values exist than were kept: code ``len(values) + 1`` is ``"(other)"``.
    labels : tuple of str
        The label of each code (``labels[0]`` is ``"<column> = (null)"``).

    Examples
    --------
    >>> bins = FeatureBins.numeric("income", [10.0, 20.0])
    >>> bins.labels
    ('income = (null)', 'income < 10', '10 <= income < 20', 'income >= 20')
    >>> bins.predicate(2)
    ('income', 'between', (10.0, 20.0), '10 <= income < 20')
    >>> FeatureBins.categorical("region", ["east", "west"], has_other=True).labels
    ('region = (null)', 'region = east', 'region = west', 'region = (other)')
    """

    column: str
    kind: Literal["numeric", "categorical"]
    edges: tuple[float, ...] = ()
    values: tuple[str, ...] = ()
    has_other: bool = False
    labels: tuple[str, ...] = field(default=(), compare=False)

    @classmethod
    def numeric(cls, column: str, edges: Iterable[float]) -> FeatureBins:
        """Bins of a numeric feature cut at ``edges`` (deduplicated and sorted)."""
        cut = tuple(float(x) for x in np.unique(np.asarray(list(edges), dtype=np.float64)))
        bins = cls(column, "numeric", edges=cut)
        labels = [bins.predicate(code)[3] for code in range(bins.n_codes)]
        return cls(column, "numeric", edges=cut, labels=tuple(labels))

    @classmethod
    def categorical(cls, column: str, values: Iterable[object], *, has_other: bool = False) -> FeatureBins:
        """Values of a categorical feature (the kept ones; the rest ``"(other)"`` when ``has_other``)."""
        kept = tuple(str(value) for value in values)
        bins = cls(column, "categorical", values=kept, has_other=has_other)
        labels = [bins.predicate(code)[3] for code in range(bins.n_codes)]
        return cls(column, "categorical", values=kept, has_other=has_other, labels=tuple(labels))

    @property
    def n_codes(self) -> int:
        """Number of codes, the NULL code included."""
        if self.kind == "numeric":
            return len(self.edges) + 2
        return len(self.values) + 1 + int(self.has_other)

    def predicate(self, code: int) -> Predicate:
        """The predicate ``(column, op, value, label)`` of one code."""
        name = self.column
        if not 0 <= code < self.n_codes:
            raise InvalidParameterError(
                f"A code of feature {name!r} must be in [0, {self.n_codes}). Got {code} instead."
            )
        if code == 0:
            return (name, "is_null", None, f"{name} = {NULL_LABEL}")
        if self.kind == "categorical":
            if code <= len(self.values):
                value = self.values[code - 1]
                return (name, "==", value, f"{name} = {value}")
            return (name, "not_in", self.values, f"{name} = {OTHER_LABEL}")
        edges = self.edges
        if not edges:
            return (name, "not_null", None, f"{name} is not null")
        if code == 1:
            return (name, "<", edges[0], f"{name} < {_number(edges[0])}")
        if code == len(edges) + 1:
            return (name, ">=", edges[-1], f"{name} >= {_number(edges[-1])}")
        low, high = edges[code - 2], edges[code - 1]
        return (name, "between", (low, high), f"{_number(low)} <= {name} < {_number(high)}")


def bin_expression(column: ir.Value, bins: FeatureBins) -> ir.IntegerValue:
    """The code of each row's value of ``column`` under ``bins``, computed in the engine (int16).

    Examples
    --------
    >>> t = ibis.memtable({"x": [1.0, 15.0, None, 30.0]})
    >>> code = bin_expression(t.x, FeatureBins.numeric("x", [10.0, 20.0]))
    >>> t.select(code=code).to_pandas()["code"].tolist()
    [1, 2, 0, 3]
    """
    kind = column.type()
    missing = column.isnull()
    if bins.kind == "numeric":
        value = column.cast("float64")
        if kind.is_floating():
            missing = missing | value.isnan()
        code: ir.IntegerValue = ibis.literal(1, type="int16")
        for edge in bins.edges:
            code = code + (value >= ibis.literal(edge, type="float64")).cast("int16")
        return ibis.ifelse(missing, ibis.literal(0, type="int16"), code).cast("int16")
    text = column.cast("string")
    other = len(bins.values) + 1
    if not bins.values:
        return ibis.ifelse(missing, 0, other).cast("int16")
    branches = [(text == ibis.literal(value), position + 1) for position, value in enumerate(bins.values)]
    return ibis.cases((missing, 0), *branches, else_=other).cast("int16")


def _is_numeric(kind: Any) -> bool:
    return bool(kind.is_numeric() and not kind.is_boolean())


def feature_bins(
    table: ir.Table,
    features: Sequence[str],
    *,
    n_bins: int = 5,
    max_categories: int = 20,
) -> tuple[dict[str, FeatureBins], dict[str, int]]:
    """Bins of each feature and its non-NULL count, from ``table`` (window code ``w``: 0 = reference).

    ``table`` holds the judged rows of both windows, a column ``w`` (0 reference, 1 incident) and the
    features. Numeric edges are the reference window's interior quantiles (``k / n_bins``, linear
    interpolation) to 12 significant digits, deduplicated; one aggregate for all features. Categorical
    values are the ``max_categories`` most frequent over both windows, one grouped query per feature.
    """
    kinds = {name: table[name].type() for name in features}
    numeric = [name for name in features if _is_numeric(kinds[name])]
    probs = [j / n_bins for j in range(1, n_bins)]
    in_reference = table[_WINDOW] == _REFERENCE
    aggs: dict[str, ir.Value] = {}
    for i, name in enumerate(features):
        value = table[name]
        valid = value.notnull()
        if kinds[name].is_floating():
            valid = valid & ~value.isnan()
        aggs[f"n{i}"] = valid.cast("int64").sum()
        if name in numeric:
            aggs[f"q{i}"] = value.cast("float64").quantile(probs, where=in_reference & valid)
    row = table.aggregate(**aggs).to_pyarrow().to_pylist()[0]
    non_null = {name: int(row[f"n{i}"] or 0) for i, name in enumerate(features)}
    bins: dict[str, FeatureBins] = {}
    for i, name in enumerate(features):
        if name in numeric:
            quantiles = row[f"q{i}"] or []
            # 12 significant digits: engines' interpolations differ in the last bit (DuckDB vs Spark)
            edges = [float(f"{q:.12g}") for q in quantiles if q is not None]
            bins[name] = FeatureBins.numeric(name, edges)
            continue
        text = table[name].cast("string")
        valued = table.filter(table[name].notnull()).mutate(_value=text)
        top = (
            valued.group_by("_value")
            .aggregate(_n=valued.count())
            .order_by([ibis.desc("_n"), "_value"])
            .limit(max_categories + 1)
            .to_pyarrow()
            .to_pylist()
        )
        kept = [entry["_value"] for entry in top[:max_categories]]
        bins[name] = FeatureBins.categorical(name, kept, has_other=len(top) > max_categories)
    return bins, non_null


# --------------------------------------------------------------------------------------------------
# Engine counts (grouping sets)
# --------------------------------------------------------------------------------------------------


def _backend_of(table: ir.Table, con: BaseBackend | None) -> BaseBackend | None:
    try:
        return table._find_backend()
    except IbisError:
        return con


def _grouping_counts(
    coded: ir.Table,
    backend: BaseBackend,
    feature_sets: Sequence[tuple[int, ...]],
    n_features: int,
    where: str | None = None,
) -> pd.DataFrame:
    """One ``GROUP BY GROUPING SETS`` aggregate: ``(w)`` and ``(w, c_i, ...)`` per set; NULL = not grouped."""
    codes = [f"c{i}" for i in range(n_features)]
    sets = [f"({_WINDOW})"] + [f"({', '.join([_WINDOW, *(codes[i] for i in s)])})" for s in feature_sets]
    inner = backend.compile(coded)  # type: ignore[attr-defined]
    # a code in no grouping set cannot be selected as a column (the engines refuse it): NULL, as ungrouped
    used = {i for feature_set in feature_sets for i in feature_set}
    selected = [code if i in used else f"CAST(NULL AS SMALLINT) AS {code}" for i, code in enumerate(codes)]
    query = (
        f"SELECT {_WINDOW}, {', '.join(selected)}, COUNT(*) AS n, CAST(SUM({_FAILED}) AS BIGINT) AS failures "
        f"FROM ({inner}) AS slice_codes {'WHERE ' + where if where else ''} "
        f"GROUP BY GROUPING SETS ({', '.join(sets)})"
    )
    schema = {_WINDOW: "int8", **dict.fromkeys(codes, "int16"), "n": "int64", "failures": "int64"}
    # the schema is given: Ibis 12 cannot infer one through DuckDB 2.0 (no ``fetch_arrow_table``)
    frame = backend.sql(query, schema=schema).to_pyarrow().to_pandas()  # type: ignore[attr-defined]
    frame["n"] = pd.to_numeric(frame["n"]).astype("int64")
    frame["failures"] = pd.to_numeric(frame["failures"]).fillna(0).astype("int64")
    return frame


def _keyed_counts(frame: pd.DataFrame, n_features: int) -> dict[int, dict[SliceKey, tuple[int, int]]]:
    """``{window: {slice key: (n, failures)}}`` from a grouping-sets result (the empty key = the window)."""
    out: dict[int, dict[SliceKey, tuple[int, int]]] = {_REFERENCE: {}, _INCIDENT: {}}
    codes = frame[[f"c{i}" for i in range(n_features)]].to_numpy(dtype=np.float64, na_value=np.nan)
    windows = frame[_WINDOW].to_numpy()
    sizes, failures = frame["n"].to_numpy(), frame["failures"].to_numpy()
    for row in range(len(frame)):
        grouped = np.flatnonzero(~np.isnan(codes[row]))
        key = tuple((int(i), int(codes[row, i])) for i in grouped)
        out[int(windows[row])][key] = (int(sizes[row]), int(failures[row]))
    return out


# --------------------------------------------------------------------------------------------------
# SliceLine
# --------------------------------------------------------------------------------------------------


def slice_score(
    size: np.ndarray | float, errors: np.ndarray | float, *, n: int, e_mean: float, alpha: float
) -> np.ndarray:
    """SliceLine's score ``alpha*((se/|S|)/e_mean - 1) - (1-alpha)*(n/|S| - 1)`` (``-inf`` for empty slices).

    Examples
    --------
    >>> float(slice_score(100, 30, n=1000, e_mean=0.1, alpha=0.95).round(4))
    1.45
    """
    size_arr, errors_arr = np.asarray(size, dtype=np.float64), np.asarray(errors, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        score = alpha * ((errors_arr / size_arr) / e_mean - 1) - (1 - alpha) * (n / size_arr - 1)
    return np.where(size_arr > 0, score, -np.inf)


def _upper_bound(
    size: np.ndarray, errors: np.ndarray, *, n: int, e_mean: float, alpha: float, min_support: int
) -> np.ndarray:
    """The best score a sub-slice of a slice with ``size`` rows and ``errors`` failures can reach.

    A sub-slice has ``s`` rows in ``[min_support, size]`` and at most ``min(s, errors)`` failures; the
    bound of the score over ``s`` is monotone between ``min_support``, ``max(errors, min_support)`` and
    ``size``, so its maximum is at one of those three points (the paper's ``score_ub``, failures 0/1).
    """
    probes = np.stack([np.full(size.shape, float(min_support)), np.maximum(errors, min_support), size])
    probes = np.maximum(probes, 1.0)
    bounded = np.minimum(probes, errors)
    scores = (alpha * (bounded / e_mean - probes) - (1 - alpha) * (n - probes)) / probes
    return scores.max(axis=0)


@dataclass
class _Search:
    """State of one level-wise search: counts of the incident window, the top k, what was evaluated."""

    n: int
    e_mean: float
    alpha: float
    k: int
    min_support: int
    top: dict[SliceKey, float] = field(default_factory=dict)
    evaluated: dict[SliceKey, tuple[int, int]] = field(default_factory=dict)

    def threshold(self) -> float:
        """Score to beat: the k-th best once ``k`` slices are held, else 0 (only positive slices count)."""
        if len(self.top) < self.k:
            return 0.0
        return max(0.0, sorted(self.top.values(), reverse=True)[self.k - 1])

    def evaluate(self, counts: dict[SliceKey, tuple[int, int]]) -> list[SliceKey]:
        """Score the candidates, update the top k; return the valid ones (support, >= 1 failure)."""
        keys = [key for key, (size, _) in counts.items() if size > 0]
        self.evaluated.update({key: counts[key] for key in keys})
        if not keys:
            return []
        size = np.array([counts[key][0] for key in keys], dtype=np.float64)
        errors = np.array([counts[key][1] for key in keys], dtype=np.float64)
        scores = slice_score(size, errors, n=self.n, e_mean=self.e_mean, alpha=self.alpha)
        valid = (size >= self.min_support) & (errors > 0)
        for key, score, ok in zip(keys, scores, valid, strict=True):
            if ok and score > 0:
                self.top[key] = float(score)
        if len(self.top) > self.k:
            ranked = sorted(self.top.items(), key=lambda item: (-item[1], len(item[0]), item[0]))
            self.top = dict(ranked[: self.k])
        return [key for key, ok in zip(keys, valid, strict=True) if ok]

    def prune(self, candidates: dict[SliceKey, tuple[float, float]]) -> list[SliceKey]:
        """Keep the candidates whose score bound (from their parents' smallest counts) beats the bar."""
        if not candidates:
            return []
        keys = list(candidates)
        bounds = np.array([candidates[key] for key in keys], dtype=np.float64)
        upper = _upper_bound(
            bounds[:, 0],
            bounds[:, 1],
            n=self.n,
            e_mean=self.e_mean,
            alpha=self.alpha,
            min_support=self.min_support,
        )
        keep = (bounds[:, 0] >= self.min_support) & (upper > self.threshold())
        return [key for key, ok in zip(keys, keep, strict=True) if ok]


def _children(parents: dict[SliceKey, tuple[int, int]], level: int) -> dict[SliceKey, tuple[float, float]]:
    """Candidates of ``level`` whose every parent (sub-slice one predicate shorter) is valid.

    Returns each candidate with the smallest size and failure count among its parents (its bound).
    """
    out: dict[SliceKey, tuple[float, float]] = {}
    keys = sorted(parents)
    by_prefix: dict[SliceKey, list[SliceKey]] = {}
    for key in keys:
        by_prefix.setdefault(key[:-1], []).append(key)
    for group in by_prefix.values():  # joins of two parents sharing their first level-2 predicates
        for left, right in itertools.combinations(group, 2):
            if left[-1][0] == right[-1][0]:
                continue  # two values of one feature
            child = (*left, right[-1]) if left[-1][0] < right[-1][0] else (*right, left[-1])
            subsets = [child[:i] + child[i + 1 :] for i in range(level)]
            if all(subset in parents for subset in subsets):
                sizes = [parents[subset][0] for subset in subsets]
                errors = [parents[subset][1] for subset in subsets]
                out[child] = (float(min(sizes)), float(min(errors)))
    return out


# --------------------------------------------------------------------------------------------------
# Result
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SliceResult:
    """The top slices of the incident window and the totals they are measured against.

    Attributes
    ----------
    slices : DataFrame
        Top ``k``, best first; columns :data:`SLICE_COLUMNS` (see the module docstring). Empty when no
        slice scores above 0 or when ``limitation`` is set.
    n, failures, error_rate : int, int, float
        Incident-window judged rows (failure not NULL), failures, and their rate.
    reference_n, reference_failures : int
        The same in the reference window.
    total_excess : float
        ``failures - n * reference rate`` (NaN without reference rows).
    bins : dict of str to FeatureBins
        How each feature was cut.
    candidates_evaluated : int
        Slices whose counts were scored (the BH family).
    levels : int
        Deepest level evaluated.
    alpha, min_support : float, int
        The search's parameters (``min_support`` as used).
    limitation : str or None
        Why no search ran (no features, all-NULL features, an empty window, no failures); never raised.
    notes : tuple of str
        What else the reader should know (features dropped, values grouped, no reference rows).
    """

    slices: pd.DataFrame
    n: int
    failures: int
    error_rate: float
    reference_n: int
    reference_failures: int
    total_excess: float
    bins: dict[str, FeatureBins]
    candidates_evaluated: int
    levels: int
    alpha: float
    min_support: int
    limitation: str | None = None
    notes: tuple[str, ...] = ()

    @property
    def reference_rate(self) -> float:
        """The reference window's failure rate (NaN without rows)."""
        return self.reference_failures / self.reference_n if self.reference_n else math.nan


def _empty_slices() -> pd.DataFrame:
    return pd.DataFrame({name: pd.Series(dtype=object) for name in SLICE_COLUMNS})


def _check_parameters(alpha: float, k: int, max_level: int, min_support: int | None, n_bins: int) -> None:
    if not 0 < alpha <= 1:
        raise InvalidParameterError(f"alpha must be in (0, 1]. Got {alpha!r} instead.")
    if not isinstance(k, int) or k < 1:
        raise InvalidParameterError(f"k must be an integer >= 1. Got {k!r} instead.")
    if not isinstance(max_level, int) or not 1 <= max_level <= MAX_LEVEL:
        raise InvalidParameterError(
            f"max_level must be an integer from 1 to {MAX_LEVEL}. Got {max_level!r} instead."
        )
    if min_support is not None and (not isinstance(min_support, int) or min_support < 1):
        raise InvalidParameterError(
            f"min_support must be an integer >= 1 or None. Got {min_support!r} instead."
        )
    if not isinstance(n_bins, int) or n_bins < 2:
        raise InvalidParameterError(f"n_bins must be an integer >= 2. Got {n_bins!r} instead.")


def _narrowed(
    table: ir.Table,
    features: Sequence[str],
    failed: ir.BooleanValue | str,
    event_time: str,
    reference: Window,
    incident: Window,
) -> ir.Table:
    """Judged rows of the two windows: ``w`` (0 reference, 1 incident), ``f`` (0/1) and the features."""
    if event_time not in table.columns:
        raise InvalidParameterError(
            f"event_time must be a column of the table. Got {event_time!r}; columns: {sorted(table.columns)}."
        )
    missing = [name for name in features if name not in table.columns]
    if missing:
        raise InvalidParameterError(
            f"Every feature must be a column of the table. Got {missing}, which are not; columns: "
            f"{sorted(table.columns)}."
        )
    if isinstance(failed, str):
        if failed not in table.columns:
            raise InvalidParameterError(
                f"failed must be a boolean column of the table. Got {failed!r}, which is not a column."
            )
        failed = table[failed]
    if not failed.type().is_boolean():
        raise InvalidParameterError(
            "failed must be a boolean column or expression (True = failed, NULL = not judged). "
            f"Got type {failed.type()} instead; compare it, e.g. `table.y != table.y_pred`."
        )
    time = table[event_time]
    window = ibis.cases((incident.contains(time), _INCIDENT), (reference.contains(time), _REFERENCE))
    narrow = table.mutate(**{_WINDOW: window.cast("int8"), _FAILED: failed.cast("int8")})
    narrow = narrow.filter(narrow[_WINDOW].notnull() & narrow[_FAILED].notnull())
    return narrow.select(_WINDOW, _FAILED, *features)


def find_slices(
    table: ir.Table,
    features: Sequence[str],
    failed: ir.BooleanValue | str,
    *,
    event_time: str,
    reference: Window,
    incident: Window,
    alpha: float = 0.95,
    k: int = 5,
    max_level: int = 3,
    min_support: int | None = None,
    n_bins: int = 5,
    max_categories: int = 20,
    con: BaseBackend | None = None,
) -> SliceResult:
    """The ``k`` slices of the incident window where failures concentrate most (SliceLine), engine-side.

    Parameters
    ----------
    table : ibis Table
        The log (DuckDB, PySpark or another SQL backend with ``GROUPING SETS``).
    features : sequence of str
        Columns to slice by: numeric ones are binned, the others taken as values.
    failed : boolean expression or column name
        True where a decision failed, False where it did not, NULL where it was not judged (excluded).
    event_time : str
        The time column the windows apply to.
    reference, incident : Window
        The windows: bins and reference rates from the reference, the search in the incident.
    alpha : float
        SliceLine's weight of the error term against the size term, in (0, 1].
    k : int
        Number of slices returned.
    max_level : int
        Most predicates in a slice (1 to 3).
    min_support : int, optional
        Fewest incident rows in a slice; default ``max(32, ceil(0.001 * n))``.
    n_bins : int
        Quantile bins of each numeric feature (fewer where reference edges coincide).
    max_categories : int
        Most values kept per categorical feature; the rest are ``"(other)"``.
    con : ibis backend, optional
        The backend for a table bound to none (an ``ibis.memtable``); default Ibis' default backend.

    Returns
    -------
    SliceResult
        With ``limitation`` set (and no slices) when there is nothing to search.

    Examples
    --------
    >>> from datetime import datetime
    >>> rng = np.random.default_rng(0)
    >>> n = 4000
    >>> frame = pd.DataFrame({"ts": pd.date_range("2026-03-01", periods=n, freq="min"),
    ...                       "region": rng.choice(["east", "west", "north"], n),
    ...                       "channel": rng.choice(["web", "app"], n)})
    >>> planted = (frame.region == "east") & (frame.channel == "web") & (frame.index >= n // 2)
    >>> frame["failed"] = rng.random(n) < np.where(planted, 0.5, 0.05)
    >>> result = find_slices(ibis.memtable(frame), ["region", "channel"], "failed", event_time="ts",
    ...                      reference=Window(datetime(2026, 3, 1), frame.ts[n // 2]),
    ...                      incident=Window(frame.ts[n // 2], datetime(2026, 3, 4)), k=1)
    >>> result.slices["description"].tolist()
    ['region = east & channel = web']
    """
    _check_parameters(alpha, k, max_level, min_support, n_bins)
    features = list(dict.fromkeys(features))
    narrow = _narrowed(table, features, failed, event_time, reference, incident)
    backend = _backend_of(narrow, con)
    totals = narrow.group_by(_WINDOW).aggregate(n=narrow.count(), failures=narrow[_FAILED].sum())
    total = {
        int(row[_WINDOW]): (int(row["n"]), int(row["failures"] or 0))
        for row in totals.to_pyarrow().to_pylist()
    }
    n_inc, f_inc = total.get(_INCIDENT, (0, 0))
    n_ref, f_ref = total.get(_REFERENCE, (0, 0))
    support = min_support if min_support is not None else max(32, math.ceil(0.001 * n_inc))

    def limited(
        reason: str, bins: dict[str, FeatureBins] | None = None, notes: Sequence[str] = ()
    ) -> SliceResult:
        return _result(
            _empty_slices(), n_inc, f_inc, n_ref, f_ref, bins or {}, 0, 0, alpha, support, reason, notes
        )

    if not features:
        return limited("no features to slice")
    if n_inc == 0:
        return limited("no judged decisions in the incident window (empty window, or no failure judged)")
    if f_inc == 0:
        return limited("no failures in the incident window: nothing to concentrate")
    bins, non_null = feature_bins(narrow, features, n_bins=n_bins, max_categories=max_categories)
    notes = [
        f"{name} is NULL in every row of both windows: not sliced" for name in features if not non_null[name]
    ]
    used = [name for name in features if non_null[name]]
    notes += [
        f"{name}: the {len(b.values)} most frequent values kept, the others grouped as {OTHER_LABEL!r}"
        for name, b in bins.items()
        if b.has_other
    ]
    if n_ref == 0:
        notes.append("the reference window has no judged decisions: no reference rates, excess or share")
    if not used:
        return limited("every feature is NULL in both windows: nothing to slice", bins, notes)
    coded = narrow.select(
        _WINDOW, _FAILED, **{f"c{i}": bin_expression(narrow[name], bins[name]) for i, name in enumerate(used)}
    )
    cached, release = _cache(coded, backend)
    try:
        run_on = _backend_of(cached, backend)
        search, counts, levels = _search(
            cached, run_on, len(used), n_inc, f_inc, alpha, k, max_level, support
        )
    finally:
        release()
    slices = _slice_table(search, counts, [bins[name] for name in used], n_inc, f_inc, n_ref, f_ref)
    return _result(
        slices, n_inc, f_inc, n_ref, f_ref, bins, len(search.evaluated), levels, alpha, support, None, notes
    )


def _cache(coded: ir.Table, backend: BaseBackend | None) -> tuple[ir.Table, Callable[[], None]]:
    """The binned codes cached in the engine (one scan of the log; every aggregate reads the copy).

    Returns the cached table and the function that releases it.
    """
    try:
        coded._find_backend()
    except IbisError:
        if backend is not None:  # an in-memory table and an explicit backend: a temporary table there
            name = ibis.util.gen_name("slice_codes")
            created = backend.create_table(name, coded, temp=True)  # type: ignore[attr-defined]
            return created, lambda: backend.drop_table(name, force=True)  # type: ignore[attr-defined]
    cached = coded.cache()
    return cached, cached.release


def _result(
    slices: pd.DataFrame,
    n_inc: int,
    f_inc: int,
    n_ref: int,
    f_ref: int,
    bins: dict[str, FeatureBins],
    evaluated: int,
    levels: int,
    alpha: float,
    support: int,
    limitation: str | None,
    notes: Sequence[str],
) -> SliceResult:
    reference_rate = f_ref / n_ref if n_ref else math.nan
    return SliceResult(
        slices=slices,
        n=n_inc,
        failures=f_inc,
        error_rate=f_inc / n_inc if n_inc else math.nan,
        reference_n=n_ref,
        reference_failures=f_ref,
        total_excess=f_inc - n_inc * reference_rate if n_ref else math.nan,
        bins=bins,
        candidates_evaluated=evaluated,
        levels=levels,
        alpha=alpha,
        min_support=support,
        limitation=limitation,
        notes=tuple(notes),
    )


def _search(
    cached: ir.Table,
    backend: BaseBackend,
    n_features: int,
    n_inc: int,
    f_inc: int,
    alpha: float,
    k: int,
    max_level: int,
    support: int,
) -> tuple[_Search, dict[int, dict[SliceKey, tuple[int, int]]], int]:
    """The level-wise search; returns its state, the counts of every slice read, the deepest level."""
    search = _Search(n=n_inc, e_mean=f_inc / n_inc, alpha=alpha, k=k, min_support=support)
    sets: list[tuple[int, ...]] = [(i,) for i in range(n_features)]
    if max_level >= 2:
        sets += list(itertools.combinations(range(n_features), 2))
    counts = _keyed_counts(_grouping_counts(cached, backend, sets, n_features), n_features)
    incident = counts[_INCIDENT]
    level_1: dict[SliceKey, tuple[int, int]] = {
        key: value for key, value in incident.items() if len(key) == 1
    }
    parents = {key: incident[key] for key in search.evaluate(level_1)}
    levels = 1
    for level in range(2, min(max_level, n_features) + 1):
        candidates = search.prune(_children(parents, level))
        if not candidates:
            break
        if level == 3:
            extra = _keyed_counts(_level_counts(cached, backend, candidates, n_features), n_features)
            for window, found in extra.items():
                counts[window].update({key: value for key, value in found.items() if len(key) == 3})
        levels = level
        found = {key: counts[_INCIDENT].get(key, (0, 0)) for key in candidates}
        parents = {key: found[key] for key in search.evaluate(found)}
        if not parents:
            break
    return search, counts, levels


def _level_counts(
    cached: ir.Table, backend: BaseBackend, candidates: Sequence[SliceKey], n_features: int
) -> pd.DataFrame:
    """Counts of level-3 candidates: grouping sets of their feature triples, rows filtered to their values."""
    values: dict[tuple[int, ...], list[set[int]]] = {}
    for key in candidates:
        features = tuple(i for i, _ in key)
        slots = values.setdefault(features, [set() for _ in features])
        for slot, (_, code) in zip(slots, key, strict=True):
            slot.add(code)
    clauses = [
        "("
        + " AND ".join(
            f"c{i} IN ({', '.join(map(str, sorted(slot)))})" for i, slot in zip(features, slots, strict=True)
        )
        + ")"
        for features, slots in values.items()
    ]
    return _grouping_counts(cached, backend, list(values), n_features, where=" OR ".join(clauses))


def _slice_table(
    search: _Search,
    counts: dict[int, dict[SliceKey, tuple[int, int]]],
    bins: Sequence[FeatureBins],
    n_inc: int,
    f_inc: int,
    n_ref: int,
    f_ref: int,
) -> pd.DataFrame:
    """The top slices with their statistics; p-values of every evaluated candidate feed BH."""
    evaluated = list(search.evaluated)
    size = np.array([search.evaluated[key][0] for key in evaluated], dtype=np.int64)
    errors = np.array([search.evaluated[key][1] for key in evaluated], dtype=np.int64)
    # one-sided Fisher exact test: P(X >= se) for X hypergeometric(n_inc, f_inc, |S|)
    p_values = stats.hypergeom.sf(errors - 1, n_inc, f_inc, size) if evaluated else np.array([])
    q_values = benjamini_hochberg(p_values)
    position = {key: i for i, key in enumerate(evaluated)}
    ranked = sorted(search.top.items(), key=lambda item: (-item[1], len(item[0]), item[0]))
    if not ranked:
        return _empty_slices()
    overall_reference = f_ref / n_ref if n_ref else math.nan
    rows = []
    for key, score in ranked:
        n, failures = search.evaluated[key]
        ref_n, ref_failures = counts[_REFERENCE].get(key, (0, 0))
        ref_rate = ref_failures / ref_n if ref_n else math.nan
        expected_rate = ref_rate if ref_n >= search.min_support else overall_reference
        predicates = [bins[feature].predicate(code) for feature, code in key]
        rows.append(
            {
                "predicates": predicates,
                "description": " & ".join(p[3] for p in predicates),
                "level": len(key),
                "n": n,
                "failures": failures,
                "score": score,
                "reference_n": ref_n,
                "reference_failures": ref_failures,
                "reference_rate": ref_rate,
                "excess": failures - n * expected_rate,
                "p_value": float(p_values[position[key]]),
                "q_value": float(q_values[position[key]]),
            }
        )
    frame = pd.DataFrame(rows)
    low, high = wilson_interval(frame["failures"].to_numpy(), frame["n"].to_numpy())
    frame["error_rate"] = frame["failures"] / frame["n"]
    frame["error_low"], frame["error_high"] = low, high
    frame["lift"] = frame["error_rate"] / (f_inc / n_inc)
    total_excess = f_inc - n_inc * overall_reference
    frame["excess_share"] = frame["excess"] / total_excess if total_excess > 0 else math.nan
    frame["n"] = frame["n"].astype("int64")
    return frame[list(SLICE_COLUMNS)]
