"""Fairness cells: the log aggregated in the engine, the groupings, the reference group."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
from ibis.common.exceptions import IbisTypeError

from analysis.data import (
    Chunk,
    IncidentWindows,
    LogTable,
    chunk_expression,
    labels_at_equal_maturity,
)
from analysis.errors import InvalidParameterError
from register.schema import DataCard, as_utc

__all__ = [
    "INTERSECTION",
    "NOT_RECORDED",
    "FairnessCells",
    "fairness_cells",
    "fairness_not_applicable",
    "grouping_name",
    "groupings_for",
]

NOT_RECORDED = "(not recorded)"
"""The group of decisions whose sensitive attribute is NULL: kept and shown, never dropped."""
NO_VERSION = "(no version)"
"""The model version of a log whose data card names no ``model_version`` column."""
WINDOW_NAMES = ("reference", "incident")


def fairness_not_applicable(card: DataCard) -> str | None:
    """Why a system's decisions cannot be analysed for fairness, or ``None`` when they can.

    Examples
    --------
    >>> from register.schema import ColumnRoles, DataSource
    >>> card = DataCard(source=DataSource(location="x"), task="binary_classification",
    ...                 columns=ColumnRoles(event_time="ts", entity_id="id", prediction="p"))
    >>> fairness_not_applicable(card)
    'the data card names no sensitive attributes (columns.sensitive or a sensitive_source)'
    """
    if not card.sensitive_attributes:
        return "the data card names no sensitive attributes (columns.sensitive or a sensitive_source)"
    if card.task != "binary_classification":
        return f"fairness metrics need binary decisions; the system's task is {card.task}"
    if card.columns.prediction is None:
        return "the data card names no prediction column (the decision whose fairness is assessed)"
    return None


# --------------------------------------------------------------------------------------------------
# Cells (the one engine aggregate)
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FairnessCells:
    """The log aggregated to cells; nothing else about the rows is kept.

    Attributes
    ----------
    cells : DataFrame
        ``window`` (``reference``, ``incident`` or ``other``), ``chunk`` (start, UTC), ``model_version``,
        one column per attribute (string; NULL as :data:`NOT_RECORDED`), ``y_true`` and ``y_pred``
        (1, 0 or NaN) and ``count``.
    scores : DataFrame or None
        Reference and incident windows only: ``window``, attributes, ``score_bin`` (0-based), ``y_true``,
        ``count`` and ``score_sum``; ``None`` without a score column.
    score_edges : tuple of float
        The score bins' edges (empty without a score).
    label_note : str
        How labels were counted (equal maturity) in one sentence.
    labels_used : bool
        Whether enough labels matured for the label metrics.
    """

    cells: pd.DataFrame
    scores: pd.DataFrame | None
    attributes: tuple[str, ...]
    windows: IncidentWindows
    chunk: Chunk
    label_note: str
    labels_used: bool
    score_edges: tuple[float, ...] = ()


def _positive(column: ir.Value, positive: Any, role: str) -> ir.Value:
    """1 where ``column`` is the card's positive label, 0 where it is another value, NULL where NULL."""
    kind = column.type()
    if kind.is_boolean():
        target: Any = (
            positive if isinstance(positive, bool) else str(positive).lower() in ("1", "true", "yes")
        )
        hit = column == ibis.literal(bool(target))
    elif kind.is_string():
        hit = column == ibis.literal(str(positive).lower() if isinstance(positive, bool) else str(positive))
    elif kind.is_numeric():
        try:
            number = float(positive)
        except (TypeError, ValueError):
            raise InvalidParameterError(
                f"The data card's positive_label must be a number for the numeric {role} column. "
                f"Got {positive!r} instead."
            ) from None
        hit = column == ibis.literal(number)
    else:
        raise InvalidParameterError(
            f"The {role} column must hold binary decisions (boolean, number or text). "
            f"Got type {kind} instead."
        )
    return ibis.ifelse(column.isnull(), ibis.null().cast("int8"), hit.cast("int8"))


def _check_attributes(table: ir.Table, card: DataCard, attributes: Sequence[str] | None) -> tuple[str, ...]:
    chosen = list(card.sensitive_attributes if attributes is None else attributes)
    if not chosen:
        raise InvalidParameterError(
            "A fairness analysis needs sensitive attributes. Got none; name them in the data "
            "card (columns.sensitive or sensitive_source.attributes) or pass attributes=[...]."
        )
    missing = [name for name in chosen if name not in table.columns]
    if missing:
        raise InvalidParameterError(
            f"Every sensitive attribute must be a column of the log or of its sensitive join table. Got "
            f"{missing}, which are not; columns available: {sorted(table.columns)}."
        )
    if len(set(chosen)) != len(chosen):
        raise InvalidParameterError(f"Sensitive attributes must be distinct. Got {chosen} instead.")
    return tuple(chosen)


def _score_edges(table: ir.Table, score: str, bins: int) -> tuple[float, ...]:
    """Equal-width bin edges over [0, 1] for probabilities, else over the score's range in the table."""
    row = table.aggregate(lo=table[score].min(), hi=table[score].max()).to_pyarrow().to_pylist()[0]
    lo, hi = row["lo"], row["hi"]
    if lo is None or hi is None:
        return ()
    lo, hi = float(lo), float(hi)
    if lo >= 0 and hi <= 1:
        lo, hi = 0.0, 1.0
    if hi <= lo:
        hi = lo + 1.0
    return tuple(float(x) for x in np.linspace(lo, hi, bins + 1))


def fairness_cells(
    log: LogTable | ir.Table,
    card: DataCard,
    windows: IncidentWindows,
    *,
    as_of: datetime | None = None,
    attributes: Sequence[str] | None = None,
    chunk: Chunk = "day",
    score_bins: int = 10,
    min_labels: int | None = None,
) -> FairnessCells:
    """Aggregate the log to fairness cells in the engine (one aggregate; a second one for score bins).

    Parameters
    ----------
    log : LogTable or ibis Table
        The prediction log, sensitive attributes joined (``analysis.data.open_logs``).
    card : DataCard
        Its data card: prediction, label, ``label_observed_at``, model version, score, positive label.
    windows : IncidentWindows
        The reference and incident windows; the cells cover the reference start to the last window's end.
    as_of : datetime, optional
        Labels observed by then count (default ``windows.as_of``), at an equal maturity in both windows.
    attributes : sequence of str, optional
        Sensitive attributes (default: the card's).
    chunk : {"hour", "day", "week"}
        Time chunk of the series.
    score_bins : int
        Number of equal-width score bins for calibration.
    min_labels : int, optional
        Fewest matured labels per window for label metrics (default ``MIN_LABELS_PER_WINDOW``).
    """
    table = log.table if isinstance(log, LogTable) else log
    attrs = _check_attributes(table, card, attributes)
    columns = card.columns
    if columns.prediction is None or columns.prediction not in table.columns:
        raise InvalidParameterError(
            "A fairness analysis needs the decision: the data card's prediction column. "
            f"Got prediction={columns.prediction!r}; name it in the card."
        )
    as_of = as_utc(as_of) if as_of is not None else windows.as_of
    start = min(as_utc(w.start) for w in windows)
    end = max(as_utc(w.end) for w in windows)
    # the rows of the span, the columns the analysis reads: read (and joined) once, then scanned in memory
    wanted = [columns.event_time, columns.label, columns.label_observed_at, columns.prediction]
    wanted += [columns.model_version, columns.score, *attrs]
    keep = list(dict.fromkeys(name for name in wanted if name and name in table.columns))
    narrow = table.select(*keep)
    narrow = narrow.filter((table[columns.event_time] >= start) & (table[columns.event_time] < end))
    try:
        cached = narrow.cache()
    except IbisTypeError:  # a column typed NULL (e.g. an empty pandas log): aggregate without the cache
        return _cells_of(narrow, card, windows, attrs, as_of, chunk, score_bins, min_labels)
    try:
        return _cells_of(cached, card, windows, attrs, as_of, chunk, score_bins, min_labels)
    finally:
        cached.release()


def _cells_of(
    table: ir.Table,
    card: DataCard,
    windows: IncidentWindows,
    attrs: tuple[str, ...],
    as_of: datetime,
    chunk: Chunk,
    score_bins: int,
    min_labels: int | None,
) -> FairnessCells:
    columns = card.columns
    reference, incident = windows.reference, windows.incident
    labels_used, label_note = False, "no label column in the data card: only the selection rate is assessed"
    if columns.label and columns.label in table.columns:
        matured = labels_at_equal_maturity(
            table, card, reference, incident, as_of, analysis="the fairness analysis", min_labels=min_labels
        )
        table, label_note, labels_used = matured.table, matured.note, matured.used
    scoped = table
    event_time = scoped[columns.event_time]
    window = ibis.cases(
        (reference.contains(event_time), "reference"),
        (incident.contains(event_time), "incident"),
        else_="other",
    )
    y_true = (
        _positive(scoped[columns.label], card.positive_label, "label")
        if labels_used and columns.label
        else ibis.null().cast("int8")
    )
    version = (
        scoped[columns.model_version].cast("string").fill_null(NO_VERSION)
        if columns.model_version and columns.model_version in scoped.columns
        else ibis.literal(NO_VERSION)
    )
    keyed = scoped.mutate(
        window=window,
        chunk=chunk_expression(scoped, card, chunk),
        model_version=version,
        y_true=y_true,
        y_pred=_positive(scoped[columns.prediction], card.positive_label, "prediction"),
        **{name: scoped[name].cast("string").fill_null(NOT_RECORDED) for name in attrs},
    )
    keys = ["window", "chunk", "model_version", *attrs, "y_true", "y_pred"]
    score = columns.score if columns.score and columns.score in scoped.columns and labels_used else None
    if score is None:
        cells = keyed.group_by(keys).aggregate(count=keyed.count()).to_pandas()
        return FairnessCells(_tidy_cells(cells, attrs), None, attrs, windows, chunk, label_note, labels_used)
    cells = keyed.group_by(keys).aggregate(count=keyed.count()).to_pandas()
    scores: pd.DataFrame | None = None
    edges = _score_edges(keyed.filter(keyed.window != "other"), score, score_bins)
    if edges:
        scores = _score_cells(keyed, score, attrs, edges)
    return FairnessCells(
        _tidy_cells(cells, attrs), scores, attrs, windows, chunk, label_note, labels_used, edges
    )


def _tidy_cells(cells: pd.DataFrame, attrs: Sequence[str]) -> pd.DataFrame:
    cells["chunk"] = pd.to_datetime(cells["chunk"], utc=True)
    cells["count"] = pd.to_numeric(cells["count"]).astype("int64")
    for name in ("y_true", "y_pred"):
        cells[name] = pd.to_numeric(cells[name], errors="coerce").astype("float64")
    for name in ("window", "model_version", *attrs):
        cells[name] = cells[name].astype(str)
    return cells.sort_values(["window", "chunk", "model_version", *attrs], kind="stable").reset_index(
        drop=True
    )


def _score_cells(keyed: ir.Table, score: str, attrs: Sequence[str], edges: Sequence[float]) -> pd.DataFrame:
    lo, hi, bins = edges[0], edges[-1], len(edges) - 1
    value = keyed[score].cast("float64")
    position = ((value - lo) / (hi - lo) * bins).floor().clip(lower=0, upper=bins - 1).cast("int64")
    labelled = keyed.filter((keyed.window != "other") & keyed.y_true.notnull() & value.notnull())
    labelled = labelled.mutate(score_bin=position, _score=value)
    keys = ["window", *attrs, "score_bin", "y_true"]
    frame = (
        labelled.group_by(keys).aggregate(count=labelled.count(), score_sum=labelled._score.sum()).to_pandas()
    )
    frame["count"] = pd.to_numeric(frame["count"]).astype("int64")
    frame["score_sum"] = pd.to_numeric(frame["score_sum"]).astype("float64")
    frame["y_true"] = pd.to_numeric(frame["y_true"]).astype("float64")
    return frame.sort_values(keys, kind="stable").reset_index(drop=True)


# --------------------------------------------------------------------------------------------------
# Groupings
# --------------------------------------------------------------------------------------------------

INTERSECTION = " × "
"""Joins the attributes (and values) of an intersection: ``ethnic_group × sex`` / ``group_b × female``."""


def groupings_for(
    attributes: Sequence[str], intersections: bool | Sequence[Sequence[str]] = True
) -> list[tuple[str, ...]]:
    """Each attribute alone, then pairwise intersections (``True``), none (``False``) or the ones given.

    Examples
    --------
    >>> groupings_for(["sex", "age", "race"])
    [('sex',), ('age',), ('race',), ('sex', 'age'), ('sex', 'race'), ('age', 'race')]
    """
    singles: list[tuple[str, ...]] = [(name,) for name in attributes]
    combos: list[tuple[str, ...]] = []
    if intersections is True:
        combos = list(itertools.combinations(attributes, 2))
    elif intersections is not False:
        for given in intersections:
            combo = tuple(given)
            unknown = [name for name in combo if name not in attributes]
            if len(combo) < 2 or unknown or len(set(combo)) != len(combo):
                raise InvalidParameterError(
                    "Each intersection must name two or more distinct sensitive attributes of the analysis "
                    f"({list(attributes)}). Got {list(combo)} instead."
                )
            combos.append(combo)
    return singles + [combo for combo in combos if combo not in singles]


def grouping_name(grouping: Sequence[str]) -> str:
    """The display name of a grouping (``sex`` or ``sex × age_band``)."""
    return INTERSECTION.join(grouping)


def _with_group(cells: pd.DataFrame, grouping: Sequence[str]) -> pd.DataFrame:
    group = cells[grouping[0]].astype(str)
    for name in grouping[1:]:
        group = group + INTERSECTION + cells[name].astype(str)
    return cells.assign(group=group.to_numpy())


def _reference_group(counts: pd.DataFrame, rule: str, min_cell_size: int, grouping: str) -> str:
    """The reference group of a grouping over both windows: largest, best-off, or a named group."""
    pooled = counts.groupby("group", sort=True)[["n", "n_predicted", "pp"]].sum()
    eligible = pooled[pooled["n"] >= min_cell_size]
    if rule == "largest":
        candidates = eligible if not eligible.empty else pooled
        return str(candidates["n"].idxmax())
    if rule == "best":
        candidates = eligible if not eligible.empty else pooled
        rate = candidates["pp"] / candidates["n_predicted"].where(candidates["n_predicted"] > 0)
        return str(rate.idxmax())
    if rule not in pooled.index:
        raise InvalidParameterError(
            f"The reference group must be 'largest', 'best' or a group of {grouping}. Got {rule!r}; groups: "
            f"{sorted(map(str, pooled.index))}."
        )
    return rule
