"""Exposure scan of an interaction log: personal data and secrets in answers, inputs, retrieved text, tools.

The scan runs in two steps with the result of a full detector scan:

1. **in the engine**: :func:`register.pii.prefilter_pattern` (one RE2 expression matching a superset of
   what :func:`register.pii.find_pii` can find) filters each scanned content column with
   ``re_search`` (DuckDB ``regexp_matches``; on Spark, ``RLIKE`` with the Java spelling of the same
   expression, ``dialect="java"``); only candidate rows come back, with their ids, their text
   and which detector terms (:func:`register.pii.detector_terms`) match them, evaluated there too;
2. **in Python**: :func:`register.pii.find_pii` runs the matching detectors on each distinct candidate
   text once.

Where a value is found is a *location*: ``output`` (answers: output messages of model calls), ``input``
(the user's messages to model calls), ``system`` (system instructions), ``retrieved`` (the output of
retrieval steps), ``tool_arguments`` / ``tool_results`` (tool calls). A span is a model call unless its
operation name is a tool call (:data:`TOOL_OPERATIONS`) or a retrieval step
(:data:`RETRIEVAL_OPERATIONS`). Leaks to users are findings in ``output``; a user's own e-mail in their
own message is a finding in ``input``, not a leak.

For each location and entity type the result gives rows (spans), distinct conversations and users,
first and last seen, whether it is still happening (:data:`STILL_HAPPENING_RULE`) and where it came from:
the retrieval documents, tools, prompt versions and attributes over-represented in the turns (traces)
with a finding against all turns in the window (lift, with counts). Only masked examples are kept
(:func:`mask_value`); no raw value is ever in the result.

Examples
--------
>>> import pandas as pd
>>> from register.schema import DataCard, DataSource, InteractionRoles
>>> roles = InteractionRoles(trace_id="trace_id", span_id="span_id", start_time="start_time",
...     user_id="enduser.id", conversation_id="gen_ai.conversation.id",
...     output_messages="gen_ai.output.messages")
>>> card = DataCard.interaction_log(DataSource(location="unused"), roles)
>>> t0 = pd.Timestamp("2026-01-01", tz="UTC")
>>> log = pd.DataFrame({"trace_id": ["t1", "t2"], "span_id": ["s1", "s2"], "start_time": [t0, t0],
...     "gen_ai.conversation.id": ["c1", "c2"], "enduser.id": ["u1", "u2"],
...     "gen_ai.output.messages": ["Mail jane.doe@example.com", "Your order ships."]})
>>> result = scan_exposure(log, card, as_of=pd.Timestamp("2026-01-02", tz="UTC").to_pydatetime())
>>> [(e.location, e.entity, e.rows, e.examples) for e in result.entities]
[('output', 'email', 1, ('j***@e***.com',))]
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd

from analysis._llm_data import check_interaction_columns, interaction_roles
from analysis.data import _as_table
from analysis.errors import InvalidParameterError
from register.pii import Finding, detector_terms, find_pii
from register.schema import DataCard, InteractionRoles

__all__ = [
    "LOCATIONS",
    "RETRIEVAL_OPERATIONS",
    "STILL_HAPPENING_RULE",
    "TOOL_OPERATIONS",
    "EntityExposure",
    "ExposureResult",
    "SkippedLocation",
    "SourceLift",
    "exposure_failure_expression",
    "mask_value",
    "scan_exposure",
]

TOOL_OPERATIONS = frozenset({"execute_tool"})
"""Operation names of tool-call spans (OpenTelemetry GenAI ``gen_ai.operation.name``)."""
RETRIEVAL_OPERATIONS = frozenset({"retrieval", "retrieve"})
"""Operation names of retrieval-step spans."""

# location -> (content role, kind of span: "model", "retrieval", "tool" or None for any span)
LOCATIONS: dict[str, tuple[str, str | None]] = {
    "output": ("output_messages", "model"),
    "input": ("input_messages", "model"),
    "system": ("system_instructions", None),
    "retrieved": ("output_messages", "retrieval"),
    "tool_arguments": ("input_messages", "tool"),
    "tool_results": ("output_messages", "tool"),
}
"""Where a finding can be: the content role read and the spans it is read on."""

STILL_HAPPENING_WINDOW = timedelta(hours=24)
STILL_HAPPENING_RULE = (
    "still happening when a finding's span started in the 24 hours before as_of (start_time >= as_of - "
    "24 h); the scan sees no span at or after as_of"
)

_MAX_EXAMPLES = 3


@dataclass(frozen=True, slots=True)
class SourceLift:
    """A retrieval document, tool, prompt version or attribute value over-represented in leaking turns.

    ``lift = (leaking / leaking_total) / (calls / calls_total)``: the share of leaking turns (traces)
    that hold the value over the share of all turns in the window that do. ``excess = leaking - calls *
    leaking_total / calls_total``: the leaking turns above what the window's leak rate predicts for the
    value's turns (the root-cause slice table's excess failures). Sources are ranked by excess, so the
    value that explains most of the leak (a retrieval index behind every leaking turn) comes before a
    document seen in a handful of turns, however high the document's lift.
    """

    kind: str  # "retrieval_document", "tool", "prompt_version" or an attribute column
    value: str
    leaking: int
    leaking_total: int
    calls: int
    calls_total: int
    lift: float
    excess: float = 0.0


@dataclass(frozen=True, slots=True)
class EntityExposure:
    """Findings of one entity type in one location (or all types: ``entity == "any"``)."""

    location: str
    entity: str
    rows: int
    conversations: int
    users: int
    first_seen: datetime
    last_seen: datetime
    still_happening: bool
    examples: tuple[str, ...]  # masked (mask_value), never raw
    sources: tuple[SourceLift, ...]
    distinct_values: int = 0  # distinct values found (a lower bound of the people whose data it is)


@dataclass(frozen=True, slots=True)
class SkippedLocation:
    """A requested location that was not scanned, and why."""

    location: str
    reason: str


@dataclass(frozen=True)
class ExposureResult:
    """What :func:`scan_exposure` found (counts, masked examples and sources; never a raw value).

    Attributes
    ----------
    entities : tuple of EntityExposure
        Per (location, entity type), in location order then by rows (descending).
    totals : tuple of EntityExposure
        Per location, all entity types together (``entity == "any"``).
    scanned, skipped
        The locations scanned; the requested ones that were not (content opted out, no such role).
    rows_scanned, candidate_rows : dict
        Per location: spans in the window with content; spans the engine's prefilter kept.
    spans : pandas.DataFrame
        One row per finding: location, trace/span/conversation/user ids, start_time, entity, start,
        end, recognizer (offsets into the content; no text). Not in the repr nor in :meth:`to_dict`.
    """

    as_of: datetime
    window: tuple[datetime, datetime] | None
    scanned: tuple[str, ...]
    skipped: tuple[SkippedLocation, ...]
    rows_scanned: dict[str, int]
    candidate_rows: dict[str, int]
    entities: tuple[EntityExposure, ...]
    totals: tuple[EntityExposure, ...]
    still_happening_rule: str = STILL_HAPPENING_RULE
    spans: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False, compare=False)

    def total(self, location: str = "output") -> EntityExposure | None:
        """All entity types of one location together (None when nothing was found there)."""
        return next((item for item in self.totals if item.location == location), None)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary (ISO times; the per-finding ``spans`` table is left out)."""

        def plain(value: Any) -> Any:
            if isinstance(value, datetime):
                return value.isoformat()
            if isinstance(value, dict):
                return {key: plain(item) for key, item in value.items()}
            if isinstance(value, list | tuple):
                return [plain(item) for item in value]
            return value

        return {
            "as_of": plain(self.as_of),
            "window": plain(self.window),
            "scanned": list(self.scanned),
            "skipped": [asdict(item) for item in self.skipped],
            "rows_scanned": dict(self.rows_scanned),
            "candidate_rows": dict(self.candidate_rows),
            "entities": [plain(asdict(item)) for item in self.entities],
            "totals": [plain(asdict(item)) for item in self.totals],
            "still_happening_rule": self.still_happening_rule,
        }


# --------------------------------------------------------------------------------------------------
# Masking
# --------------------------------------------------------------------------------------------------


def mask_value(entity: str, value: str) -> str:
    """Mask a found value for a report: enough to recognise the kind, never the value.

    E-mail: first letter of the local part and of the domain, and the top-level domain; card numbers:
    the last 4 digits; phones: the last 2 digits; anything else: its entity name and length.

    Examples
    --------
    >>> mask_value("email", "jane.doe@example.com")
    'j***@e***.com'
    >>> mask_value("card_number", "4111 1111 1111 1234")
    '**** **** **** 1234'
    >>> mask_value("phone", "+44 20 7946 0958")
    '+** ** **** **58'
    >>> mask_value("iban", "GB82 WEST 1234 5698 7654 32")
    '[iban, 27 characters]'
    """
    if entity == "email" and "@" in value:
        local, _, domain = value.rpartition("@")
        head, _, tld = domain.rpartition(".")
        return f"{local[:1]}***@{head[:1]}***.{tld}" if head else f"{local[:1]}***@***"
    if entity in ("card_number", "phone"):
        keep = 4 if entity == "card_number" else 2
        digits = [i for i, char in enumerate(value) if char.isdigit()]
        shown = set(digits[-keep:]) if len(digits) > 2 * keep else set()
        return "".join(char if i in shown or not char.isdigit() else "*" for i, char in enumerate(value))
    return f"[{entity}, {len(value)} characters]"


# --------------------------------------------------------------------------------------------------
# The scan
# --------------------------------------------------------------------------------------------------


def _utc(value: datetime, name: str) -> datetime:
    if not isinstance(value, datetime):
        raise InvalidParameterError(f"{name} must be a datetime. Got {value!r} instead.")
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _span_kind(table: ir.Table, roles: InteractionRoles, kind: str | None) -> ir.BooleanValue | None:
    if kind is None or roles.operation_name is None:
        return None if kind in (None, "model") else ibis.literal(False)
    operation = table[roles.operation_name]
    if kind == "tool":
        return operation.isin(sorted(TOOL_OPERATIONS))
    if kind == "retrieval":
        return operation.isin(sorted(RETRIEVAL_OPERATIONS))
    return operation.isnull() | ~operation.isin(sorted(TOOL_OPERATIONS | RETRIEVAL_OPERATIONS))


def _plan(
    roles: InteractionRoles, columns: Sequence[str], present: set[str]
) -> tuple[list[str], list[SkippedLocation]]:
    scanned: list[str] = []
    skipped: list[SkippedLocation] = []
    for location in columns:
        if location not in LOCATIONS:
            raise InvalidParameterError(
                f"columns must name locations among {sorted(LOCATIONS)}. Got {location!r} instead."
            )
        role, kind = LOCATIONS[location]
        column = getattr(roles, role)
        if column is None:
            skipped.append(SkippedLocation(location, f"the card has no {role} role (content not recorded)"))
        elif column not in present:
            skipped.append(SkippedLocation(location, f"the log has no column {column!r} ({role})"))
        elif kind in ("tool", "retrieval") and roles.operation_name is None:
            skipped.append(SkippedLocation(location, f"the card has no operation_name role: {kind} spans "
                                                     "cannot be told from model calls"))  # fmt: skip
        else:
            scanned.append(location)
    return scanned, skipped


def scan_exposure(
    table: ir.Table | pd.DataFrame,
    card: DataCard,
    *,
    as_of: datetime,
    window: tuple[datetime, datetime] | None = None,
    rules: Sequence[Any] = (),
    known_names: Iterable[str] = (),
    columns: Sequence[str] = ("output",),
    min_leaking: int = 2,
    max_sources: int = 10,
) -> ExposureResult:
    """Scan an interaction log's content for personal data and secrets (prefilter in the engine).

    Parameters
    ----------
    table : Ibis table or pandas DataFrame
        The spans (:func:`analysis._llm_data.open_interaction_log`; a DataFrame is wrapped as a memtable).
    card : DataCard
        An ``interaction_log`` card: the role columns.
    as_of : datetime
        The time of the analysis: spans starting at or after it are not seen.
    window : (start, end), optional
        Only spans with ``start <= start_time < end`` (before ``as_of``); all before ``as_of`` if None.
    rules, known_names
        The policy's own :class:`~register.redact.RedactionRule` rules and the people the register knows,
        as for :func:`register.pii.find_pii`.
    columns : sequence of str, default ("output",)
        Locations to scan (:data:`LOCATIONS`). A location whose content the log does not hold is
        skipped, with the reason in ``skipped``.
    min_leaking : int, default 2
        Fewest leaking turns holding a value for it to be named as a source.
    max_sources : int, default 10
        Most sources kept per (location, entity), by excess leaking turns (then lift).

    Returns
    -------
    ExposureResult
        Counts, masked examples, sources per location and entity type; the findings per span.
    """
    roles = interaction_roles(card)
    table = _as_table(table, "table")
    check_interaction_columns(table, card)
    as_of = _utc(as_of, "as_of")
    if window is not None:
        window = (_utc(window[0], "window start"), _utc(window[1], "window end"))
        if not window[0] < window[1]:
            raise InvalidParameterError(
                f"window must be (start, end) with start before end. Got {window[0]} and {window[1]} instead."
            )
    time = table[roles.start_time]
    in_window = time < as_of
    if window is not None:
        in_window &= (time >= window[0]) & (time < min(window[1], as_of))
    spans = table.filter(in_window)
    scanned, skipped = _plan(roles, columns, set(table.columns))
    rules, known_names = tuple(rules), tuple(known_names)
    dialect = "java" if spans._find_backend(use_default=True).name == "pyspark" else "re2"
    terms = detector_terms(rules, known_names, dialect=dialect)
    counts, candidates = _candidates(spans, roles, scanned, terms)
    findings = _detect(candidates, rules, known_names)
    lifts = _sources(spans, roles, findings, min_leaking=min_leaking, max_sources=max_sources)
    entities, totals = _aggregate(findings, lifts, as_of, scanned)
    return ExposureResult(
        as_of=as_of,
        window=window,
        scanned=tuple(scanned),
        skipped=tuple(skipped),
        rows_scanned={location: counts.get(location, 0) for location in scanned},
        candidate_rows={location: int((candidates["location"] == location).sum()) for location in scanned},
        entities=entities,
        totals=totals,
        spans=findings.drop(columns=["value"]),
    )


_IDS = ("trace_id", "span_id", "conversation_id", "user_id", "start_time")


def _candidates(
    spans: ir.Table, roles: InteractionRoles, scanned: list[str], terms: Sequence[str]
) -> tuple[dict[str, int], pd.DataFrame]:
    """Rows with content per location, and the candidate rows the prefilter keeps.

    A candidate row has its ids, its text and, per detector term (:func:`register.pii.detector_terms`),
    whether the term matches (``_term0``, ``_term1``...), computed by the engine on the kept rows only.
    """
    pattern = "|".join(terms)
    parts: list[ir.Table] = []
    totals: list[ir.Table] = []
    for location in scanned:
        role, kind = LOCATIONS[location]
        content = spans[getattr(roles, role)]
        condition = content.notnull()
        of_kind = _span_kind(spans, roles, kind)
        if of_kind is not None:
            condition &= of_kind
        rows = spans.filter(condition)
        totals.append(rows.aggregate(n=rows.count()).mutate(location=ibis.literal(location)))
        kept = rows.filter(content.re_search(pattern))
        ids = {
            name: (kept[getattr(roles, name)] if getattr(roles, name) else ibis.null()).cast(
                "timestamp('UTC')" if name == "start_time" else "string"
            )
            for name in _IDS
        }
        kept_text = kept[content.get_name()]
        gates = {f"_term{i}": kept_text.re_search(term) for i, term in enumerate(terms)}
        parts.append(kept.select(location=ibis.literal(location), **ids, text=kept_text, **gates))
    empty = pd.DataFrame(columns=["location", *_IDS, "text", *(f"_term{i}" for i in range(len(terms)))])
    if not parts:
        return {}, empty
    count_frame = ibis.union(*totals).to_pandas() if len(totals) > 1 else totals[0].to_pandas()
    frame = ibis.union(*parts).to_pandas() if len(parts) > 1 else parts[0].to_pandas()
    counts = {str(row.location): int(row.n) for row in count_frame.itertuples()}
    return counts, frame.sort_values(["location", "start_time", "span_id"], kind="stable").reset_index(
        drop=True
    )


def _detect(candidates: pd.DataFrame, rules: tuple[Any, ...], known_names: tuple[str, ...]) -> pd.DataFrame:
    """One row per finding of :func:`register.pii.find_pii` on the candidate texts.

    ``value`` is kept here for masking only; it is dropped before the result is built.
    """
    columns = ["location", *_IDS, "entity", "start", "end", "recognizer", "value"]
    if candidates.empty:
        return pd.DataFrame(columns=columns)
    term_columns = [name for name in candidates.columns if name.startswith("_term")]
    flags = candidates[term_columns].to_numpy(dtype=bool)
    texts = candidates["text"].astype(str).tolist()
    # each distinct text once (answers repeat: templates, retries, the same retrieved document)
    found: dict[str, list[Finding]] = {}
    for text, matched in zip(texts, flags, strict=True):
        if text not in found:
            found[text] = find_pii(text, rules, known_names, matched=matched.tolist())
    hits = [(i, finding) for i, text in enumerate(texts) for finding in found[text]]
    if not hits:
        return pd.DataFrame(columns=columns)
    rows = [i for i, _ in hits]
    frame = candidates.iloc[rows][["location", *_IDS]].reset_index(drop=True)
    return frame.assign(
        entity=[finding.entity for _, finding in hits],
        start=[finding.start for _, finding in hits],
        end=[finding.end for _, finding in hits],
        recognizer=[finding.recognizer for _, finding in hits],
        value=[texts[i][finding.start : finding.end] for i, finding in hits],
    )[columns]


def _features(spans: ir.Table, roles: InteractionRoles) -> ir.Table | None:
    """``(trace_id, kind, value)``: the retrieval documents, tools, prompt versions, attributes of turns."""
    trace = roles.trace_id
    parts: list[ir.Table] = []
    if roles.retrieval_document_ids:
        documents = spans.filter(spans[roles.retrieval_document_ids].notnull())
        parts.append(
            documents.select(
                trace_id=documents[trace].cast("string"),
                kind=ibis.literal("retrieval_document"),
                value=documents[roles.retrieval_document_ids].unnest().cast("string"),
            )
        )
    named = [("tool", roles.tool_name), ("prompt_version", roles.prompt_version)]
    named += [(column, column) for column in roles.attributes]
    for kind, column in named:
        if column:
            rows = spans.filter(spans[column].notnull())
            parts.append(
                rows.select(
                    trace_id=rows[trace].cast("string"),
                    kind=ibis.literal(kind),
                    value=rows[column].cast("string"),
                )
            )
    if not parts:
        return None
    return ibis.union(*parts, distinct=True) if len(parts) > 1 else parts[0].distinct()


def _sources(
    spans: ir.Table, roles: InteractionRoles, findings: pd.DataFrame, *, min_leaking: int, max_sources: int
) -> dict[tuple[str, str], tuple[SourceLift, ...]]:
    """Sources per (location, entity) and per (location, "any"): lift among leaking turns (traces)."""
    features = _features(spans, roles)
    if features is None or findings.empty:
        return {}
    model_calls = spans
    of_kind = _span_kind(spans, roles, "model")
    if of_kind is not None:
        model_calls = spans.filter(of_kind)
    calls_total = int(model_calls[roles.trace_id].nunique().to_pyarrow().as_py())
    leaking_traces = ibis.memtable(pd.DataFrame({"trace_id": sorted(set(findings["trace_id"].dropna()))}))
    leak_features = features.inner_join(leaking_traces, "trace_id").to_pandas()
    if leak_features.empty or calls_total == 0:
        return {}
    values = ibis.memtable(leak_features[["kind", "value"]].drop_duplicates().reset_index(drop=True))
    counted = features.inner_join(values, ["kind", "value"])
    calls = counted.group_by(["kind", "value"]).aggregate(calls=counted.trace_id.nunique()).to_pandas()
    calls_of = {(row.kind, row.value): int(row.calls) for row in calls.itertuples()}
    by_trace: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for row in leak_features.itertuples():
        by_trace[str(row.trace_id)].append((str(row.kind), str(row.value)))

    groups = [((str(loc), str(ent)), frame) for (loc, ent), frame in findings.groupby(["location", "entity"])]
    groups += [((str(loc), "any"), frame) for loc, frame in findings.groupby("location")]
    result: dict[tuple[str, str], tuple[SourceLift, ...]] = {}
    for key, frame in groups:
        traces = set(frame["trace_id"].dropna())
        leaking: dict[tuple[str, str], int] = defaultdict(int)
        for trace in traces:
            for feature in by_trace.get(str(trace), ()):
                leaking[feature] += 1
        lifts = [
            SourceLift(
                kind=kind,
                value=value,
                leaking=n,
                leaking_total=len(traces),
                calls=calls_of[(kind, value)],
                calls_total=calls_total,
                lift=round((n / len(traces)) / (calls_of[(kind, value)] / calls_total), 6),
                excess=round(n - calls_of[(kind, value)] * len(traces) / calls_total, 6),
            )
            for (kind, value), n in leaking.items()
            if n >= min_leaking and calls_of.get((kind, value))
        ]
        lifts = [item for item in lifts if item.lift > 1.0]
        lifts.sort(key=lambda item: (-item.excess, -item.lift, item.kind, item.value))
        result[key] = tuple(lifts[:max_sources])
    return result


def _aggregate(
    findings: pd.DataFrame,
    lifts: dict[tuple[str, str], tuple[SourceLift, ...]],
    as_of: datetime,
    scanned: list[str],
) -> tuple[tuple[EntityExposure, ...], tuple[EntityExposure, ...]]:
    """Per (location, entity) and per location: rows, conversations, users, times, masked examples."""
    recent = as_of - STILL_HAPPENING_WINDOW

    def summary(location: str, entity: str, frame: pd.DataFrame) -> EntityExposure:
        first = pd.Timestamp(frame["start_time"].min()).to_pydatetime()
        last = pd.Timestamp(frame["start_time"].max()).to_pydatetime()
        examples: list[str] = []
        for row in frame.sort_values(["start_time", "span_id", "start"], kind="stable").itertuples():
            masked = mask_value(str(row.entity), str(row.value))
            if masked not in examples:
                examples.append(masked)
            if len(examples) == _MAX_EXAMPLES:
                break
        return EntityExposure(
            location=location,
            entity=entity,
            rows=int(frame["span_id"].nunique()),
            conversations=int(frame["conversation_id"].dropna().nunique()),
            users=int(frame["user_id"].dropna().nunique()),
            first_seen=first,
            last_seen=last,
            still_happening=bool(last >= recent),
            examples=tuple(examples),
            sources=lifts.get((location, entity), ()),
            distinct_values=int(frame.drop_duplicates(["entity", "value"]).shape[0]),
        )

    entities: list[EntityExposure] = []
    totals: list[EntityExposure] = []
    for location in scanned:
        at = findings[findings["location"] == location]
        if at.empty:
            continue
        totals.append(summary(location, "any", at))
        per_entity = [summary(location, str(entity), frame) for entity, frame in at.groupby("entity")]
        entities.extend(sorted(per_entity, key=lambda item: (-item.rows, item.entity)))
    return tuple(entities), tuple(totals)


def exposure_failure_expression(
    table: ir.Table,
    card: DataCard,
    result: ExposureResult,
    *,
    locations: Sequence[str] = ("output",),
    entities: Iterable[str] | None = None,
) -> ir.BooleanValue:
    """A failure signal for impact: whether a span (row of ``table``) has a finding of the scan.

    Parameters
    ----------
    table : Ibis table
        The same spans the scan read.
    card : DataCard
        The interaction-log card (its span id role).
    result : ExposureResult
        The scan.
    locations : sequence of str, default ("output",)
        Findings in these locations count (leaks to users are in ``output``).
    entities : iterable of str, optional
        Only these entity types count (all when None).

    Returns
    -------
    ibis BooleanValue
        True for the spans with a finding (never NULL).
    """
    roles = interaction_roles(card)
    spans = result.spans
    chosen = spans[spans["location"].isin(list(locations))]
    if entities is not None:
        chosen = chosen[chosen["entity"].isin(list(entities))]
    ids = sorted(set(chosen["span_id"].dropna()))
    column = table[roles.span_id]
    return column.cast("string").isin(ids).fill_null(False) if ids else ibis.literal(False)
