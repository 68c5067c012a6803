"""The LLM section: personal data exposed in answers, prompt injection, and failure rates of an LLM system.

Runs for systems whose data card is an interaction log (``log_kinds``). Declares :data:`SECTION`, its
summary schema (:class:`LlmSummary`) and parameters (:class:`LlmParameters`); ``notebooks/llm.ipynb``
calls :func:`analysis.llm.analyse_llm` and :func:`summarise`. The summary holds counts, times,
pseudonymous user ids, document ids and masked examples -- never message content.

Examples
--------
>>> SECTION.key, SECTION.log_kinds
('llm', ('interaction_log',))
>>> entity_label("card_number"), entity_label("api_key_aws"), entity_label("my_rule")
('payment card numbers', 'secrets (api key aws)', 'my rule')
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from analysis.contract import FigureSpec, Section, SectionParameters, SectionSummary, TimelineItem
from analysis.data import Window

if TYPE_CHECKING:
    from analysis.context import InvestigationContext
    from analysis.llm import LlmAnalysis
    from analysis.llm_exposure import EntityExposure, ExposureResult
    from analysis.llm_injection import InjectionResult

__all__ = [
    "ExposureEntity",
    "ExposureSummary",
    "InjectionSummary",
    "LlmParameters",
    "LlmSummary",
    "SECTION",
    "entity_label",
    "headline",
    "summarise",
    "timeline_events",
]

ENTITY_LABELS: dict[str, str] = {
    "email": "e-mail addresses",
    "phone": "phone numbers",
    "card_number": "payment card numbers",
    "iban": "bank account numbers (IBAN)",
    "us_ssn": "US social security numbers",
    "uk_nino": "UK national insurance numbers",
    "ip_address": "IP addresses",
    "person": "names of people the register knows",
    "any": "personal data or secrets",
}
"""Plain names of the entity types (the GDPR Art. 33 'categories of personal data')."""

LOCATION_LABELS: dict[str, str] = {
    "output": "answers to users",
    "input": "users' own messages",
    "retrieved": "retrieved documents",
    "system": "system instructions",
    "tool_arguments": "tool-call arguments",
    "tool_results": "tool results",
}
"""Plain names of where a value was found."""

_SOURCE_KINDS = {
    "retrieval_document": "retrieval document",
    "tool": "tool",
    "prompt_version": "prompt version",
}

NOT_CAUGHT = (
    "Names of people are found only where the register knows them (responders, owners, reporters): no "
    "language model for names runs here, so other names in messages are not caught. Postal addresses, "
    "dates of birth and free-text health or financial details have no detector."
)
"""What the exposure scan does not catch (stated in the report)."""


def entity_label(entity: str) -> str:
    """The plain name of an entity type (secrets and policy rules get a readable form)."""
    if entity in ENTITY_LABELS:
        return ENTITY_LABELS[entity]
    if entity.startswith(("api_key", "jwt", "private_key", "password")):
        return f"secrets ({entity.replace('_', ' ')})"
    return entity.replace("_", " ")


class _Part(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)


class ExposureSource(_Part):
    """A value over-represented in the turns with a finding (:class:`analysis.llm_exposure.SourceLift`)."""

    kind: str = Field(description="retrieval_document, tool, prompt_version or an attribute column")
    kind_label: str = Field(default="", description="the kind in words (an attribute column keeps its name)")
    value: str
    leaking: int = Field(ge=0, description="turns with a finding that hold the value")
    calls: int = Field(ge=0, description="all turns in the window that hold it")
    lift: float
    excess: float = Field(
        description="leaking turns above what the window's leak rate predicts (ranks sources)"
    )


class ExposureEntity(_Part):
    """Findings of one entity type (or all: ``entity == "any"``) in one location."""

    location: str
    location_label: str
    entity: str
    label: str
    rows: int = Field(ge=0, description="spans with a finding")
    conversations: int = Field(ge=0)
    users: int = Field(ge=0, description="distinct pseudonymous users who received (or sent) them")
    distinct_values: int = Field(ge=0, description="distinct values: a lower bound of the people concerned")
    first_seen: datetime
    last_seen: datetime
    still_happening: bool
    in_incident_window: int = Field(ge=0, description="of the rows, those inside the incident window")
    examples: list[str] = Field(default_factory=list, description="masked, never raw")
    sources: list[ExposureSource] = Field(default_factory=list)


class ExposureSummary(_Part):
    """The exposure scan: what reached users, where it came from, and what the notification needs."""

    window: Window = Field(description="answers scanned: start of the incident window to as_of")
    scanned: list[str]
    skipped: list[dict[str, str]] = Field(default_factory=list)
    rows_scanned: dict[str, int] = Field(default_factory=dict)
    total: ExposureEntity | None = Field(default=None, description="answers to users, all types together")
    entities: list[ExposureEntity] = Field(default_factory=list, description="answers to users, per type")
    other_locations: list[ExposureEntity] = Field(
        default_factory=list, description="the other locations in the incident window, all types together"
    )
    reference_rows: int | None = Field(
        default=None, ge=0, description="answers with a finding, reference window"
    )
    categories: list[str] = Field(default_factory=list, description="categories of personal data exposed")
    people_at_least: int = Field(default=0, ge=0, description="largest number of distinct values of one type")
    still_happening_rule: str
    not_caught: str = NOT_CAUGHT
    sentence: str


class InjectionSummary(_Part):
    """Prompt-injection attempts and successes, the campaign and its users (pseudonymous ids)."""

    window: Window
    totals: dict[str, int]
    in_incident_window: dict[str, int] = Field(
        default_factory=dict, description="attempts and successes inside the incident window"
    )
    campaign: bool
    onset: datetime | None = Field(default=None, description="start of the hourly chunk of the onset")
    onset_low: datetime | None = Field(
        default=None, description="95 % credible interval: first chunk's start"
    )
    onset_high: datetime | None = Field(default=None, description="95 % credible interval: last chunk's end")
    first_attempt: datetime | None = None
    main_attackers: list[str] = Field(default_factory=list, description="pseudonymous user ids")
    poisoned_documents: list[dict[str, Any]] = Field(default_factory=list)
    by_prompt_version: list[dict[str, Any]] = Field(default_factory=list)
    by_agent_version: list[dict[str, Any]] = Field(default_factory=list)
    by_tool: list[dict[str, Any]] = Field(default_factory=list)
    by_day: list[dict[str, Any]] = Field(default_factory=list)
    hourly: list[dict[str, Any]] = Field(default_factory=list)
    thresholds: dict[str, float] = Field(default_factory=dict)
    skipped: list[str] = Field(default_factory=list)
    sentence: str


class LlmSummary(SectionSummary):
    """``summary.json`` of the LLM section.

    Keys the report reads: ``windows``, ``exposure``, ``exposure_by_day``, ``injection``, ``failures``,
    ``skipped`` and ``sentences`` (one plain sentence per analysis, in report order).
    """

    section: Literal["llm"] = "llm"
    windows: dict[str, Window]
    exposure: ExposureSummary | None = None
    exposure_by_day: list[dict[str, Any]] = Field(default_factory=list, description="answers with a finding")
    injection: InjectionSummary | None = None
    failures: dict[str, Any] | None = Field(default=None, description="analysis.llm_failures to_dict()")
    skipped: list[str] = Field(default_factory=list, description="analyses that did not run, and why")
    sentences: list[str] = Field(default_factory=list)


class LlmParameters(SectionParameters):
    """Parameters of the LLM section (windows and ``as_of`` come from the context)."""

    thresholds: dict[str, float] = Field(
        default_factory=dict, description="evaluation name -> the score below which a call fails"
    )
    tools: list[str] | None = Field(default=None, description="tools whose call counts as injection success")


# --------------------------------------------------------------------------------------------------
# Summary
# --------------------------------------------------------------------------------------------------


def _window(start: datetime, end: datetime) -> Window:
    return Window(start=start, end=end)


def _day(value: datetime) -> str:
    return pd.Timestamp(value).strftime("%d %b %Y").lstrip("0")


def _entity(item: EntityExposure, spans: pd.DataFrame, incident: Window) -> ExposureEntity:
    at = spans[spans["location"] == item.location]
    if item.entity != "any":
        at = at[at["entity"] == item.entity]
    times = pd.to_datetime(at["start_time"], utc=True)
    inside = at[(times >= pd.Timestamp(incident.start)) & (times < pd.Timestamp(incident.end))]
    return ExposureEntity(
        location=item.location,
        location_label=LOCATION_LABELS.get(item.location, item.location),
        entity=item.entity,
        label=entity_label(item.entity),
        rows=item.rows,
        conversations=item.conversations,
        users=item.users,
        distinct_values=item.distinct_values,
        first_seen=item.first_seen,
        last_seen=item.last_seen,
        still_happening=item.still_happening,
        in_incident_window=int(inside["span_id"].nunique()),
        examples=list(item.examples),
        sources=[
            ExposureSource(
                kind=s.kind,
                kind_label=_SOURCE_KINDS.get(s.kind, s.kind),
                value=s.value,
                leaking=s.leaking,
                calls=s.calls,
                lift=s.lift,
                excess=s.excess,
            )
            for s in item.sources
        ],
    )


def _exposure_sentence(
    total: ExposureEntity | None, entities: list[ExposureEntity], reference: int | None
) -> str:
    before = "none in the reference window" if not reference else f"{reference:,} in the reference window"
    if total is None:
        return f"No answer to a user contained personal data or a secret since the incident began ({before})."
    kinds = ", ".join(item.label for item in entities)
    when = f"from {_day(total.first_seen)} to {_day(total.last_seen)}"
    still = "still happening" if total.still_happening else "not seen in the last 24 hours"
    if total.in_incident_window == 0:
        return (
            f"No answer in the incident window showed personal data or a secret; {total.rows:,} answers did "
            f"after it ({kinds}, {when}; {still}): look for an incident of their own."
        )
    source = (
        f"; every leaking turn used {total.sources[0].kind_label} {total.sources[0].value}"
        if total.sources and total.sources[0].leaking == total.rows
        else f"; most leaking turns used {total.sources[0].kind_label} {total.sources[0].value}"
        if total.sources
        else ""
    )
    later = total.rows - total.in_incident_window
    inside = (
        ""
        if later == 0
        else f" ({total.in_incident_window:,} inside the incident window, {later:,} after it)"
    )
    return (
        f"{total.rows:,} answers in {total.conversations:,} conversations showed {kinds} to "
        f"{total.users:,} users {when}{inside} ({still}; {before}){source}."
    )


def _exposure(
    result: ExposureResult,
    elsewhere: ExposureResult | None,
    reference: ExposureResult | None,
    incident: Window,
) -> ExposureSummary:
    spans = result.spans
    total = result.total("output")
    summary_total = None if total is None else _entity(total, spans, incident)
    entities = [_entity(item, spans, incident) for item in result.entities if item.location == "output"]
    others = (
        []
        if elsewhere is None
        else [
            _entity(item, elsewhere.spans, incident) for item in elsewhere.totals if item.location != "output"
        ]
    )
    scanned = [*result.scanned, *(elsewhere.scanned if elsewhere is not None else ())]
    rows_scanned = {**result.rows_scanned, **(elsewhere.rows_scanned if elsewhere is not None else {})}
    skipped = [*result.skipped, *(elsewhere.skipped if elsewhere is not None else ())]
    reference_total = None if reference is None else reference.total("output")
    reference_rows = None if reference is None else (0 if reference_total is None else reference_total.rows)
    return ExposureSummary(
        window=_window(*result.window) if result.window else _window(result.as_of, result.as_of),
        scanned=scanned,
        skipped=[{"location": s.location, "reason": s.reason} for s in skipped],
        rows_scanned=rows_scanned,
        total=summary_total,
        entities=entities,
        other_locations=others,
        reference_rows=reference_rows,
        categories=[item.label for item in entities],
        people_at_least=max((item.distinct_values for item in entities), default=0),
        still_happening_rule=result.still_happening_rule,
        sentence=_exposure_sentence(summary_total, entities, reference_rows),
    )


def _exposure_by_day(result: ExposureResult) -> list[dict[str, Any]]:
    spans = result.spans
    output = spans[spans["location"] == "output"]
    if output.empty:
        return []
    frame = output.assign(day=pd.to_datetime(output["start_time"], utc=True).dt.floor("D"))
    counted = frame.groupby(["day", "entity"])["span_id"].nunique().reset_index(name="rows")
    return [
        {
            "day": row.day.isoformat(),
            "entity": row.entity,
            "label": entity_label(str(row.entity)),
            "rows": int(row.rows),
        }
        for row in counted.itertuples()
    ]


def _records(frame: pd.DataFrame, limit: int | None = None) -> list[dict[str, Any]]:
    if frame is None or frame.empty:
        return []
    part = frame if limit is None else frame.head(limit)
    out = []
    for row in part.to_dict(orient="records"):
        clean: dict[str, Any] = {}
        for key, value in row.items():
            if isinstance(value, pd.Timestamp):
                clean[str(key)] = value.isoformat()
            elif hasattr(value, "item"):
                clean[str(key)] = value.item()
            else:
                clean[str(key)] = (
                    None if value is None or (isinstance(value, float) and value != value) else value
                )
        out.append(clean)
    return out


def _when(value: datetime | None) -> str:
    return "" if value is None else pd.Timestamp(value).strftime("%d %b %Y %H:%M").lstrip("0") + " UTC"


def _injection_sentence(result: InjectionResult, inside: dict[str, int], incident: Window) -> str:
    totals = result.totals
    attempts, successes = totals.get("attempts", 0), totals.get("successes", 0)
    if attempts == 0:
        return "No prompt-injection attempt was found in user messages or retrieved documents."
    onset_inside = (
        result.campaign
        and result.onset is not None
        and pd.Timestamp(incident.start) - pd.Timedelta(hours=1)
        <= pd.Timestamp(result.onset)
        < pd.Timestamp(incident.end)
    )
    if inside["attempts"] == 0:
        first = _when(result.first_attempt)
        return (
            f"No prompt-injection attempt in the incident window; {attempts:,} attempts outside it "
            f"(the first {first}), {successes:,} of them succeeded."
        )
    direct, indirect = totals.get("attempts_direct", 0), totals.get("attempts_indirect", 0)
    kinds = f"{direct:,} direct, {indirect:,} through retrieved documents"
    if onset_inside:
        campaign = f"; a campaign started around {_when(result.onset)}"
    elif result.campaign:
        campaign = f"; the campaign's onset ({_when(result.onset)}) is outside the incident window"
    else:
        campaign = "; no campaign onset (too few attempts or no clear change in their share of calls)"
    users = (
        f", {len(result.main_attackers)} users behind most direct attempts" if result.main_attackers else ""
    )
    outside = (
        f" ({inside['attempts']:,} attempts and {inside['successes']:,} successes inside the incident window)"
        if inside["attempts"] != attempts
        else ""
    )
    return (
        f"{attempts:,} prompt-injection attempts ({kinds}); {successes:,} succeeded "
        f"({totals.get('successes_system_echo', 0):,} echoed the system instructions, "
        f"{totals.get('successes_tool_call', 0):,} led to a tool call), "
        f"{totals.get('stopped', 0):,} were stopped by a guardrail{outside}{campaign}{users}."
    )


def _inside(frame: pd.DataFrame, incident: Window) -> pd.DataFrame:
    if frame.empty:
        return frame
    times = pd.to_datetime(frame["start_time"], utc=True)
    return frame[(times >= pd.Timestamp(incident.start)) & (times < pd.Timestamp(incident.end))]


def _injection(result: InjectionResult, incident: Window) -> InjectionSummary:
    low, high = result.onset_interval if result.onset_interval else (None, None)
    hourly = result.hourly
    attempts = _inside(result.attempts, incident)
    inside = {
        "attempts": len(attempts),
        "successes": int(attempts["success"].sum()) if not attempts.empty else 0,
    }
    return InjectionSummary(
        window=_window(result.start, result.end),
        totals={key: int(value) for key, value in result.totals.items()},
        in_incident_window=inside,
        campaign=result.campaign,
        onset=result.onset,
        onset_low=low,
        # the end of the last hourly chunk of the interval (the onset is a chunk's start)
        onset_high=None if high is None else pd.Timestamp(high).to_pydatetime() + timedelta(hours=1),
        first_attempt=result.first_attempt,
        main_attackers=list(result.main_attackers),
        poisoned_documents=_records(result.documents),
        by_prompt_version=_records(result.by_prompt_version),
        by_agent_version=_records(result.by_agent_version),
        by_tool=_records(result.by_tool),
        by_day=_records(result.by_day),
        hourly=_records(hourly[hourly["attempts"] > 0]) if not hourly.empty else [],
        thresholds=dict(result.thresholds),
        skipped=list(result.skipped),
        sentence=_injection_sentence(result, inside, incident),
    )


def summarise(analysis: LlmAnalysis, context: InvestigationContext) -> LlmSummary:
    """The section's summary of :func:`analysis.llm.analyse_llm` (validated)."""
    windows = context.windows
    exposure = None
    by_day: list[dict[str, Any]] = []
    if analysis.exposure is not None:
        exposure = _exposure(
            analysis.exposure, analysis.exposure_elsewhere, analysis.reference_exposure, windows.incident
        )
        by_day = _exposure_by_day(analysis.exposure)
    injection = None if analysis.injection is None else _injection(analysis.injection, windows.incident)
    failures = None if analysis.failures is None else analysis.failures.to_dict()
    # what the incident window holds first, then the rest (nothing found, or findings outside it)
    parts: list[tuple[bool, str]] = []
    if exposure is not None:
        parts.append(
            (exposure.total is not None and exposure.total.in_incident_window > 0, exposure.sentence)
        )
    if injection is not None:
        parts.append((injection.in_incident_window.get("attempts", 0) > 0, injection.sentence))
    if failures and failures.get("sentence"):
        parts.append((bool(failures.get("findings")), str(failures["sentence"])))
    sentences = [sentence for own, sentence in parts if own] + [
        sentence for own, sentence in parts if not own
    ]
    return LlmSummary(
        incident_id=context.incident.id,
        as_of=context.as_of,
        windows={"reference": windows.reference, "incident": windows.incident, "recent": windows.recent},
        exposure=exposure,
        exposure_by_day=by_day,
        injection=injection,
        failures=failures,
        skipped=list(analysis.skipped),
        sentences=sentences,
    )


def headline(summary: LlmSummary) -> str:
    """One sentence per analysis that found something, else that nothing was found.

    Examples
    --------
    >>> from datetime import UTC, datetime
    >>> w = Window(start=datetime(2026, 1, 1, tzinfo=UTC), end=datetime(2026, 1, 2, tzinfo=UTC))
    >>> headline(LlmSummary(incident_id="INC-2026-0001", windows={"incident": w}))
    'No exposure, injection or failure-rate finding.'
    """
    found: list[str] = []
    exposure, injection = summary.exposure, summary.injection
    if exposure is not None and exposure.total is not None and exposure.total.in_incident_window:
        found.append(
            f"personal data in {exposure.total.in_incident_window:,} answers in the incident window "
            f"({', '.join(exposure.categories)}; {exposure.total.users:,} users received them)"
        )
    if injection is not None and injection.in_incident_window.get("attempts", 0):
        found.append(
            f"{injection.in_incident_window['attempts']:,} injection attempts in the incident window, "
            f"{injection.in_incident_window.get('successes', 0):,} succeeded"
        )
    failures = summary.failures or {}
    if failures.get("headline"):
        found.append(str(failures["headline"]))
    return "; ".join(found) if found else "No exposure, injection or failure-rate finding."


def timeline_events(summary: LlmSummary) -> list[TimelineItem]:
    """First answer with personal data, the injection campaign's onset, the failure onset (incident's own).

    Findings outside the incident window (another incident of the same system) stay out of its timeline.
    """
    items: list[TimelineItem] = []
    exposure = summary.exposure
    if exposure is not None and exposure.total is not None and exposure.total.in_incident_window:
        total = exposure.total
        items.append(
            TimelineItem(
                at=total.first_seen,
                until=total.last_seen,
                description=f"First answer showing {', '.join(exposure.categories)} to a user "
                f"({total.rows:,} answers until {_day(total.last_seen)})",
                kind="Onset",
                subject="exposure",
            )
        )
    injection = summary.injection
    if injection is not None and injection.campaign and injection.onset is not None:
        incident = summary.windows.get("incident")
        inside = incident is None or (incident.start - timedelta(hours=1) <= injection.onset < incident.end)
        if inside:
            items.append(
                TimelineItem(
                    at=injection.onset,
                    description="Prompt-injection campaign begins "
                    f"({injection.totals.get('attempts', 0):,} attempts, "
                    f"{injection.totals.get('successes', 0):,} succeeded)",
                    kind="Onset",
                    subject="prompt injection",
                )
            )
    failures = summary.failures or {}
    for event in failures.get("timeline", []) or []:
        items.append(
            TimelineItem(
                at=pd.Timestamp(event["at"]).to_pydatetime(),
                until=pd.Timestamp(event["until"]).to_pydatetime() if event.get("until") else None,
                description=str(event["description"]),
                kind="Onset",
                subject=event.get("subject"),
            )
        )
    return items


SECTION = Section(
    key="llm",
    title="LLM findings: exposure, injection, failures",
    description="Personal data and secrets in answers, prompt injection, and failure rates of an LLM system.",
    summary_model=LlmSummary,
    parameters_model=LlmParameters,
    figures=(
        FigureSpec("llm_exposure", "Answers showing personal data per day, by type"),
        FigureSpec("llm_injection", "Prompt-injection attempts and successes per day"),
        FigureSpec("llm_failures", "Failure rate of the top finding over time"),
    ),
    notebook="llm.ipynb",
    headline=headline,
    timeline_events=timeline_events,
    log_kinds=("interaction_log",),
    order=11,
)
"""The LLM section."""
