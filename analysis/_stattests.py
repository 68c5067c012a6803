"""The statistical tests of the per-column drift, declared once each (private; see :mod:`analysis.drift`).

As Evidently's ``calculations/stattests`` registry: each test is a :class:`StatTest` with its name, the
display name Evidently gives it, the column kinds it applies to, whether it gives a p-value or a distance,
its default threshold and drift rule, the inputs it reads and the function computing it from those
inputs. :func:`evidently_default_test`, the threshold resolution, the drift verdict and the statistic all
read :data:`STATTESTS`; nothing else lists the tests.

Evidently's default selection (``registry._get_default_stattest``) is expressed by each test's
``default_when``: the conditions are disjoint, so exactly one test is the default for a column.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal

from analysis import _drift_stats as st
from analysis._drift_engine import ColumnCounts, ExactNumeric
from analysis._drift_results import ColumnKind
from analysis.errors import AnalysisError, InvalidParameterError

__all__ = [
    "DEFAULT_THRESHOLDS",
    "EVIDENTLY_BINNING_MIN_VALUES",
    "LOW_CARDINALITY",
    "SMALL_REFERENCE_ROWS",
    "STATTESTS",
    "StatInput",
    "StatTest",
    "evidently_default_test",
    "get_stattest",
    "ks_pvalue",
    "resolve_test",
    "resolve_threshold",
]

#: Reference rows up to which Evidently picks KS / chi-square / z (``registry._get_default_stattest``).
SMALL_REFERENCE_ROWS = 1000
#: Numeric columns with more distinct values than this use KS / Wasserstein.
LOW_CARDINALITY = 5
#: Evidently bins numeric columns with more reference values than this (``utils.get_binned_data``).
EVIDENTLY_BINNING_MIN_VALUES = 20


@dataclass(frozen=True)
class StatInput:
    """What a test's function reads.

    ``counts`` are the per-value counts (sorted distinct values with reference and current counts);
    ``binned`` the counts as Evidently's ``get_binned_data`` groups them (per value, or per Sturges bin for
    a numeric column with many values); ``exact`` the exact numeric statistics (KS ``D``, Wasserstein-1);
    ``ref_std`` the reference standard deviation (``np.std``, ddof 0).
    """

    n_ref: int
    n_cur: int
    counts: ColumnCounts | None = None
    binned: ColumnCounts | None = None
    exact: ExactNumeric | None = None
    ref_std: float | None = None

    def require_counts(self) -> ColumnCounts:
        """The per-value counts; an internal error when the caller did not fetch them."""
        if self.counts is None:
            raise AnalysisError("internal: this test needs the per-value counts, which were not fetched.")
        return self.counts

    def require_binned(self) -> ColumnCounts:
        """Evidently's binned counts; an internal error when the caller did not bin them."""
        if self.binned is None:
            raise AnalysisError("internal: this test needs Evidently's binned counts, which were not made.")
        return self.binned

    def require_exact(self) -> ExactNumeric:
        """The exact numeric statistics; an internal error for a column without them."""
        if self.exact is None:
            raise AnalysisError("internal: this test needs the exact numeric statistics of the column.")
        return self.exact


@dataclass(frozen=True)
class StatTest:
    """One statistical test of the per-column drift.

    ``drift_when``: ``"p <= t"`` (KS, as Evidently), ``"p < t"`` (chi-square, z), ``"d >= t"``
    (distances). ``inputs``: ``"exact"`` (exact numeric statistics, per-value counts optional),
    ``"counts"`` (per-value counts) or ``"binned"`` (Evidently's binned counts).
    ``default_when(kind, n_ref, n_values)`` says whether Evidently picks this test by default.
    """

    name: str
    display_name: str
    column_kinds: frozenset[ColumnKind]
    result: Literal["p_value", "distance"]
    default_threshold: float
    drift_when: Literal["p <= t", "p < t", "d >= t"]
    inputs: Literal["exact", "counts", "binned"]
    compute: Callable[[StatInput], float]
    default_when: Callable[[str, int, int], bool] | None = None

    @property
    def needs_counts(self) -> bool:
        """Whether the test reads the per-value counts (directly or binned)."""
        return self.inputs in ("counts", "binned")

    def drifted(self, statistic: float, threshold: float) -> bool:
        """Evidently's verdict: ks p <= t; chisquare and z p < t; distances >= t; NaN is no drift.

        Examples
        --------
        >>> STATTESTS["ks"].drifted(0.05, 0.05), STATTESTS["z"].drifted(0.05, 0.05)
        (True, False)
        >>> STATTESTS["psi"].drifted(float("nan"), 0.1)
        False
        """
        if statistic != statistic:  # NaN
            return False
        if self.drift_when == "p <= t":
            return statistic <= threshold
        if self.drift_when == "p < t":
            return statistic < threshold
        return statistic >= threshold


def ks_pvalue(d: float, n_ref: int, n_cur: int, counts: ColumnCounts | None) -> float:
    """KS p-value of ``D`` as scipy gives it; the exact distribution uses the per-value counts when known."""
    if counts is None:
        return st.ks_pvalue(d, n_ref, n_cur)
    return st.ks_pvalue(
        d, n_ref, n_cur, values=counts.values, ref_counts=counts.ref_counts, cur_counts=counts.cur_counts
    )


def _ks(inputs: StatInput) -> float:
    return ks_pvalue(inputs.require_exact().ks_d, inputs.n_ref, inputs.n_cur, inputs.counts)


def _wasserstein_normed(inputs: StatInput) -> float:
    # Evidently's wasserstein_distance_norm: W1 / max(np.std(reference), 0.001)
    return inputs.require_exact().wasserstein / max(float(inputs.ref_std or 0.0), 0.001)


def _chisquare(inputs: StatInput) -> float:
    counts = inputs.require_counts()
    return st.chisquare_gof(counts.ref_counts, counts.cur_counts)[1]


def _z(inputs: StatInput) -> float:
    counts = inputs.require_counts()
    return st.z_test_two_proportions(list(counts.values), counts.ref_counts, counts.cur_counts)[1]


def _jensenshannon(inputs: StatInput) -> float:
    binned = inputs.require_binned()
    ref_shares, cur_shares = st.evidently_binned_shares(
        binned.ref_counts, binned.cur_counts, fill_zeroes=False
    )
    return st.jensenshannon_distance(ref_shares, cur_shares)


def _psi(inputs: StatInput) -> float:
    binned = inputs.require_binned()
    return st.psi_evidently(binned.ref_counts, binned.cur_counts)


def _many_numeric_values(kind: str, n_values: int) -> bool:
    return kind == "numeric" and n_values > LOW_CARDINALITY


# Evidently's default selection, one disjoint condition per test (kind, reference rows, distinct values)
def _default_ks(kind: str, n_ref: int, n_values: int) -> bool:
    return n_ref <= SMALL_REFERENCE_ROWS and _many_numeric_values(kind, n_values)


def _default_chisquare(kind: str, n_ref: int, n_values: int) -> bool:
    return n_ref <= SMALL_REFERENCE_ROWS and not _many_numeric_values(kind, n_values) and n_values > 2


def _default_z(kind: str, n_ref: int, n_values: int) -> bool:
    return n_ref <= SMALL_REFERENCE_ROWS and not _many_numeric_values(kind, n_values) and n_values <= 2


def _default_wasserstein(kind: str, n_ref: int, n_values: int) -> bool:
    return n_ref > SMALL_REFERENCE_ROWS and _many_numeric_values(kind, n_values)


def _default_jensenshannon(kind: str, n_ref: int, n_values: int) -> bool:
    return n_ref > SMALL_REFERENCE_ROWS and not _many_numeric_values(kind, n_values)


_BOTH: frozenset[ColumnKind] = frozenset({"numeric", "categorical"})
_NUMERIC: frozenset[ColumnKind] = frozenset({"numeric"})

#: The tests by name, in Evidently's order.
STATTESTS: Mapping[str, StatTest] = {
    test.name: test
    for test in (
        StatTest(
            name="ks",
            display_name="K-S p_value",
            column_kinds=_NUMERIC,
            result="p_value",
            default_threshold=0.05,
            drift_when="p <= t",
            inputs="exact",
            compute=_ks,
            default_when=_default_ks,
        ),
        StatTest(
            name="chisquare",
            display_name="chi-square p_value",
            column_kinds=_BOTH,
            result="p_value",
            default_threshold=0.05,
            drift_when="p < t",
            inputs="counts",
            compute=_chisquare,
            default_when=_default_chisquare,
        ),
        StatTest(
            name="z",
            display_name="Z-test p_value",
            column_kinds=_BOTH,
            result="p_value",
            default_threshold=0.05,
            drift_when="p < t",
            inputs="counts",
            compute=_z,
            default_when=_default_z,
        ),
        StatTest(
            name="wasserstein",
            display_name="Wasserstein distance (normed)",
            column_kinds=_NUMERIC,
            result="distance",
            default_threshold=0.1,
            drift_when="d >= t",
            inputs="exact",
            compute=_wasserstein_normed,
            default_when=_default_wasserstein,
        ),
        StatTest(
            name="jensenshannon",
            display_name="Jensen-Shannon distance",
            column_kinds=_BOTH,
            result="distance",
            default_threshold=0.1,
            drift_when="d >= t",
            inputs="binned",
            compute=_jensenshannon,
            default_when=_default_jensenshannon,
        ),
        StatTest(
            name="psi",
            display_name="PSI",
            column_kinds=_BOTH,
            result="distance",
            default_threshold=0.1,
            drift_when="d >= t",
            inputs="binned",
            compute=_psi,
        ),
    )
}

#: Default threshold per test (Evidently's defaults). p-value tests flag drift when p is below it
#: (``ks``: p <= threshold, as Evidently), distances when the statistic is at or above it.
DEFAULT_THRESHOLDS: Mapping[str, float] = {name: test.default_threshold for name, test in STATTESTS.items()}


_UNKNOWN_TEST = "test must be 'auto', one of {names} or a mapping column -> name. Got {value!r} instead."


def get_stattest(name: object) -> StatTest:
    """The registered test of that name.

    Examples
    --------
    >>> get_stattest("wasserstein").display_name
    'Wasserstein distance (normed)'
    >>> get_stattest("t")
    Traceback (most recent call last):
    ...
    analysis.errors.InvalidParameterError: test must be 'auto', one of ['chisquare', 'jensenshannon', \
'ks', 'psi', 'wasserstein', 'z'] or a mapping column -> name. Got 't' instead.
    """
    if not isinstance(name, str) or name not in STATTESTS:
        raise InvalidParameterError(_UNKNOWN_TEST.format(names=sorted(STATTESTS), value=name))
    return STATTESTS[name]


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
    for test in STATTESTS.values():
        if test.default_when is not None and test.default_when(kind, n_ref, n_values):
            return test.name
    raise AnalysisError(f"internal: no default test for kind={kind!r}, n_ref={n_ref}, n_values={n_values}.")


def resolve_test(test: object, column: str) -> str | None:
    """The test asked for a column (a name, or a mapping column -> name); None for Evidently's default."""
    if test is None or test == "auto":
        return None
    if isinstance(test, Mapping):
        return resolve_test(test.get(column), column)
    return get_stattest(test).name


def resolve_threshold(thresholds: float | Mapping[str, float] | None, column: str, test: str) -> float:
    """Threshold of a column's test: per column name, else per test name, else the test's default."""
    default = get_stattest(test).default_threshold
    if thresholds is None:
        return default
    if isinstance(thresholds, Mapping):
        return float(thresholds.get(column, thresholds.get(test, default)))
    return float(thresholds)


def check_test_applies(test: str, kind: ColumnKind, column: str) -> None:
    """Refuse a test asked for a column kind it does not apply to (KS or Wasserstein on categories)."""
    entry = get_stattest(test)
    if kind not in entry.column_kinds:
        usable = [name for name, other in STATTESTS.items() if kind in other.column_kinds]
        raise InvalidParameterError(
            f"test {test!r} needs a {' or '.join(sorted(entry.column_kinds))} column; {column!r} is {kind}. "
            f"Choose {', '.join(usable[:-1])} or {usable[-1]}."
        )
