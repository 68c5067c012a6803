"""Multivariate drift by a domain classifier (private; re-exported from :mod:`analysis.drift`)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from analysis import _drift_engine as eng
from analysis._drift_inputs import column_kinds, prepare
from analysis._drift_results import ColumnKind, DomainClassifierResult
from analysis.errors import EmptyWindowError, InvalidParameterError

__all__ = ["domain_classifier_drift"]

_SAMPLE_BUCKETS = 1_000_003
"""Hash buckets of the domain classifier's sampling (a prime, so the hash's low bits do not bias it)."""


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


def _sample_windows(
    labelled: ir.Table, columns: Sequence[str], *, sample_size: int, random_state: int
) -> pd.DataFrame:
    """The same number of rows from each window, with ``__is_current``; repeatable for a ``random_state``.

    Both windows are sampled alike: ``n = min(sample_size, rows of the smaller window)`` rows each, so the
    classes are balanced whatever the windows' sizes. In the engine, a window larger than ``n`` keeps the
    rows whose seeded hash falls under a cut-off that leaves about ``1.5 n`` of them; unlike the engine's
    own sampling this does not depend on how many threads scanned the files in which order. The hash
    covers the row's values *and its occurrence number among identical rows*, so it draws rows, not value
    combinations: hashing the values alone keeps all copies of a combination or none, and with a different
    cut-off per window (25 days against 6) whole combinations of low-cardinality features (age, schooling)
    appeared in one window only, which a classifier told apart (AUC 0.82 on one distribution). The rows are
    sorted (they arrive in scan order) and trimmed to ``n`` by a seeded permutation.
    """
    counts = labelled.group_by(eng.IS_CURRENT).aggregate(n=labelled.count()).to_pyarrow().to_pylist()
    n_side = {bool(r[eng.IS_CURRENT]): int(r["n"]) for r in counts}
    for is_current in (False, True):
        if n_side.get(is_current, 0) == 0:
            raise EmptyWindowError(
                f"the {'current' if is_current else 'reference'} window must hold rows. Got 0 rows instead."
            )
    n_rows = min(sample_size, n_side[False], n_side[True])
    fetched = {}
    for is_current in (False, True):
        side = labelled.filter(labelled[eng.IS_CURRENT] == is_current)
        if n_side[is_current] > n_rows:
            side = _hash_sample(side, columns, fraction=1.5 * n_rows / n_side[is_current], seed=random_state)
        frame = side.select(*columns).to_pandas()
        fetched[is_current] = frame.sort_values(list(columns), kind="stable", na_position="last")
    n_rows = min(n_rows, *(len(frame) for frame in fetched.values()))
    rng = np.random.default_rng(random_state)
    frames = []
    for is_current, frame in fetched.items():
        frame = frame.reset_index(drop=True)
        if len(frame) > n_rows:
            frame = frame.iloc[np.sort(rng.permutation(len(frame))[:n_rows])]
        frames.append(frame.assign(**{eng.IS_CURRENT: is_current}))
    return pd.concat(frames, ignore_index=True)


def _hash_sample(side: ir.Table, columns: Sequence[str], *, fraction: float, seed: int) -> ir.Table:
    """The rows whose seeded hash of (values, occurrence number among identical rows) is under ``fraction``.

    Identical rows are interchangeable, so which copy gets which occurrence number does not change what
    is drawn; each row is then kept with probability ``fraction``, independently of its values.
    """
    if fraction >= 1:
        return side
    keys = [side[column] for column in columns]
    occurrence = ibis.row_number().over(ibis.window(group_by=keys, order_by=keys))
    key = ibis.literal(str(seed))
    for column in columns:
        key = key.concat("|", side[column].cast("string").fill_null("<null>"))
    key = key.concat("#", occurrence.cast("string"))
    return side.filter((key.hash() % _SAMPLE_BUCKETS).abs() < int(fraction * _SAMPLE_BUCKETS))


MAX_CLASSIFIER_CATEGORIES = 255
"""Most categories one feature may take in the classifier (scikit-learn's histogram boosting ``max_bins``)."""


def _features(
    data: pd.DataFrame, columns: Sequence[str], kinds: Mapping[str, ColumnKind]
) -> tuple[pd.DataFrame, list[bool], list[str]]:
    """The classifier's features, the category mask and notes on grouped categories.

    Categories become pandas categories, numbers floats. A categorical feature with more than
    ``MAX_CLASSIFIER_CATEGORIES`` values in the sample (an occupation code with 504) keeps its
    ``MAX_CLASSIFIER_CATEGORIES - 1`` most frequent values of both windows together (ties by value) and
    groups the rest as ``"(other)"``: the classifier takes at most that many, and the per-column tests keep
    the exact counts of every value.
    """
    features = data[list(columns)].copy()
    categorical_mask = []
    notes = []
    for column in columns:
        if kinds[column] == "categorical":
            values = features[column].astype("string")
            frequency = values.value_counts(dropna=True)
            if len(frequency) > MAX_CLASSIFIER_CATEGORIES:
                ranked = frequency.rename("n").rename_axis("value").reset_index()
                ranked = ranked.sort_values(["n", "value"], ascending=[False, True], kind="stable")
                kept = set(ranked["value"].iloc[: MAX_CLASSIFIER_CATEGORIES - 1])
                values = values.where(~values.notna() | values.isin(kept), "(other)")
                notes.append(
                    f"{column}: {len(frequency)} values in the sample; the classifier keeps the "
                    f"{MAX_CLASSIFIER_CATEGORIES - 1} most frequent and groups the other "
                    f"{len(frequency) - MAX_CLASSIFIER_CATEGORIES + 1} as '(other)' (the per-column tests "
                    "count every value)"
                )
            features[column] = values.astype("category")
            categorical_mask.append(True)
        else:
            features[column] = pd.to_numeric(features[column], errors="coerce").astype("float64")
            categorical_mask.append(False)
    return features, categorical_mask, notes


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

    The same number of rows, up to ``sample_size``, is drawn from each window in the engine (a seeded hash
    of the row's values and occurrence number, then trimmed with a seeded numpy permutation; both recorded:
    :func:`_sample_windows`), so the classes are balanced whatever the windows' sizes. The sample is split
    stratified into train/test (``test_size``), and a ``HistGradientBoostingClassifier`` (native
    categorical support, missing values allowed, early stopping on a seeded fifth of the training part so
    that small samples do not overfit, balanced class weights) is fitted. A categorical feature with more
    than ``MAX_CLASSIFIER_CATEGORIES`` values keeps its most frequent ones and groups the rest as
    ``"(other)"`` (``notes`` says so). Reported: ROC AUC on the held-out part with a DeLong interval, drift
    when the interval's lower end exceeds ``auc_threshold``, and permutation importances (drop in AUC) on
    the held-out part. ``n_threads`` caps the classifier's OpenMP threads during the call (default 1: on a
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
    labelled, source = prepare(
        reference,
        current,
        columns=columns,
        time_column=time_column,
        reference_window=reference_window,
        current_window=current_window,
    )
    kinds = column_kinds(source.schema(), columns, categorical)
    data = _sample_windows(labelled, columns, sample_size=sample_size, random_state=random_state)
    target = data[eng.IS_CURRENT].astype(int).to_numpy()
    features, categorical_mask, notes = _features(data, columns, kinds)
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
        class_weight="balanced",
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
        notes=tuple(notes),
    )
