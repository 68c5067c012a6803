"""Report blocks: the data model of each fixed part of the post-mortem, and the raw block a caller builds.

A **block** is one part of the report (summary, severity, timeline, each analysis section, root cause,
response, notifications, lessons, action items, sign-off, blameless review). A caller builds raw blocks
with :func:`report_block` (structured data, never HTML); :func:`workbench.report.assemble_report`
validates each one once into its model (a section block into its section's ``summary_model``, a fixed
part into :data:`PART_MODELS`). Free-text fields are typed :data:`RedactedText` or :data:`NarrativeText`:
their validators redact the text with the policy's rules and, for narrative text, check it for blame
phrasing; they run once per value because each block is validated once.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal

import plotly.io as pio
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo

from register.blameless import BlamelessFlag, check_blameless
from register.redact import DEFAULT_REDACTION_RULES, RedactionRule, redact
from workbench.errors import WorkbenchError

__all__ = [
    "PART_MODELS",
    "BlamelessFlagsError",
    "NarrativeText",
    "RedactedText",
    "ReportBlock",
    "figure_payload",
    "redact_uri",
    "report_block",
]


class BlamelessFlagsError(WorkbenchError):
    """``--strict`` render of a report whose narrative holds blame phrasing; ``flags`` lists them."""

    def __init__(self, message: str, flags: Sequence[BlamelessFlag]) -> None:
        super().__init__(message)
        self.flags = list(flags)
        self.failures = [
            {"field": flag.field, "phrase": flag.phrase, "reason": flag.reason, "suggestion": flag.suggestion}
            for flag in self.flags
        ]


# --------------------------------------------------------------------------------------------------
# Free text: redacted, and checked for blame phrasing, while its block is validated
# --------------------------------------------------------------------------------------------------


def _redacted(value: str | None, info: ValidationInfo) -> str | None:
    if value is None:
        return None
    context = info.context or {}
    rules = context.get("redaction_rules", DEFAULT_REDACTION_RULES)
    result = redact(value, rules, known_names=context.get("known_names", ()))
    counts = context.get("redaction_counts")
    if counts is not None:
        for name, count in result.counts.items():
            counts[name] = counts.get(name, 0) + count
    return result.text


def _narrative(value: str | None, info: ValidationInfo) -> str | None:
    text = _redacted(value, info)
    context = info.context or {}
    flags = context.get("flags")
    if text is not None and flags is not None:
        where = f"{context.get('block', '?')}.{info.field_name}"
        flags.extend(check_blameless(text, field=where, rules=context.get("blameless_rules")))
    return text


_GENERIC_TOKEN_RULES = frozenset({"hex_token", "base64_token"})


def redact_uri(uri: str | None, rules: Sequence[RedactionRule] = DEFAULT_REDACTION_RULES) -> str | None:
    """Redact an artefact URI: its query string goes, and the non-generic rules apply.

    Run folders and file hashes look like random tokens to the generic token rules, so those are not
    applied to URIs; the secrets of signed URLs live in the query string, which is dropped.

    Examples
    --------
    >>> redact_uri("reports/INC-2026-0001/20261123T163605125Z-a39cd2/impact/impact.ipynb")
    'reports/INC-2026-0001/20261123T163605125Z-a39cd2/impact/impact.ipynb'
    >>> redact_uri("https://bucket.example/x.parquet?X-Amz-Signature=abc123&X-Amz-Credential=AKIA")
    'https://bucket.example/x.parquet?[redacted query]'
    """
    if uri is None:
        return None
    base, separator, _ = uri.partition("?")
    kept = [rule for rule in rules if rule.name not in _GENERIC_TOKEN_RULES]
    text = redact(base, kept).text or ""
    return text + ("?[redacted query]" if separator else "")


def _redacted_uri(value: str | None, info: ValidationInfo) -> str | None:
    context = info.context or {}
    return redact_uri(value, context.get("redaction_rules", DEFAULT_REDACTION_RULES))


RedactedText = Annotated[str, AfterValidator(_redacted)]
"""Register text that is redacted (names, references): emails, phones, cards and keys removed."""
NarrativeText = Annotated[str, AfterValidator(_narrative)]
"""Narrative register text: redacted and checked for blame phrasing (flags go to the review box)."""


# --------------------------------------------------------------------------------------------------
# Models of the fixed parts (the keys their templates read)
# --------------------------------------------------------------------------------------------------


class _Block(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)


class SummaryBlock(_Block):
    """``summary``: what happened, in brief."""

    incident_id: str
    title: NarrativeText
    summary: NarrativeText | None = None
    system: RedactedText | None = None
    category: str | None = None
    kind: str | None = None
    severity: str
    status: str | None = None
    occurred_at: datetime | None = None
    aware_at: datetime | None = None
    contained_at: datetime | None = None
    resolved_at: datetime | None = None
    affected_count: int | None = Field(default=None, ge=0)
    ongoing: bool | None = None
    postmortem_status: str | None = None
    still_happening: str | None = Field(
        default=None, description="the register's status and the data's recent window, in one sentence"
    )
    facilitator: RedactedText | None = None
    run_id: str | None = None
    as_of: datetime | None = None


class SeverityBlock(_Block):
    """``severity``: the level and what the policy requires for it."""

    severity: str
    label: str | None = None
    response_sla: str | None = None
    team: list[RedactedText] = Field(default_factory=list)
    communication: RedactedText | None = None
    postmortem_requirement: RedactedText | None = None
    postmortem_deadline: datetime | None = None
    rationale: RedactedText | None = None


class TimelineEntry(_Block):
    """One row of the timeline; ``source`` says whether the register or an analysis contributed it."""

    at: datetime
    until: datetime | None = Field(default=None, description="end of the chunk an analysis event covers")
    kind: str
    description: NarrativeText
    role: str | None = None
    source: Literal["register", "analysis"] = "register"


class TimelineBlock(_Block):
    """``timeline``: register events plus the onset the analysis saw, and the detection delay."""

    events: list[TimelineEntry] = Field(default_factory=list)
    later_events: list[TimelineEntry] = Field(
        default_factory=list, description="recorded after the report's as_of (not known at that time)"
    )
    as_of: datetime | None = None
    drift_onset: datetime | None = None
    occurred_at: datetime | None = None
    aware_at: datetime | None = None
    detection_delay_hours: float | None = None
    detection_delay_basis: str | None = Field(default=None, description="e.g. 'drift onset to awareness'")


class EvidenceItem(_Block):
    """An artefact kept as evidence (``uri`` relative to the run folder when it lies inside it)."""

    kind: str
    uri: Annotated[str, AfterValidator(_redacted_uri)]
    sha256: str | None = None
    run_id: str | None = None
    captured_at: datetime | None = None


class AnalysedCause(_Block):
    """A ranked candidate cause of the root-cause section, shown beside the recorded root cause."""

    rank: int
    title: RedactedText
    strength: str
    evidence: list[RedactedText] = Field(default_factory=list)
    refuted_if: RedactedText | None = None


class RootCauseBlock(_Block):
    """``contributing_factors``: the recorded root cause and factors, the analysis' causes beside them.

    ``analysed`` is false when the run has no root-cause section; ``agreement`` (agrees, disagrees, not
    recorded, not comparable, no analysed cause) compares the register's category, as it is now, with
    the analysis' first cause.
    """

    root_cause_category: str | None = None
    trigger: NarrativeText | None = None
    contributing_factors: list[NarrativeText] = Field(default_factory=list)
    resolution: NarrativeText | None = None
    evidence: list[EvidenceItem] = Field(default_factory=list)
    analysed: bool = False
    causes: list[AnalysedCause] = Field(default_factory=list)
    agreement: str | None = None
    agreement_sentence: RedactedText | None = None


class ResponseRow(_Block):
    """One response milestone against the severity's SLA (hours; ``margin_hours`` > 0 means within)."""

    milestone: str
    target: str | None = None
    target_hours: float | None = None
    actual_hours: float | None = None
    met: bool | None = None
    margin_hours: float | None = None


class ResponseBlock(_Block):
    """``response``: detect / acknowledge / contain / resolve against the policy."""

    severity: str | None = None
    rows: list[ResponseRow] = Field(default_factory=list)
    note: NarrativeText | None = None


class NotificationRow(_Block):
    """A notification made or due under a regime."""

    regime: str | None = None
    audience: str
    report_type: str | None = None
    due_at: datetime | None = None
    sent_at: datetime | None = None
    status: str
    reference: RedactedText | None = None


class NotificationFacts(_Block):
    """What a personal-data breach notification must state (GDPR Art. 33(3)(a)), from the analysis."""

    source: str = Field(description="the analysis the facts come from")
    categories: list[str] = Field(default_factory=list, description="categories of personal data")
    people_at_least: int | None = Field(default=None, ge=0, description="data subjects: a lower bound")
    records: int | None = Field(default=None, ge=0, description="records concerned (answers that showed it)")
    recipients: int | None = Field(default=None, ge=0, description="users who received it")
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    still_happening: bool | None = None


class NotificationsBlock(_Block):
    """``notifications``: per regime, made and due; ``facts`` what a breach notification must state."""

    rows: list[NotificationRow] = Field(default_factory=list)
    facts: NotificationFacts | None = None


class LessonsBlock(_Block):
    """``lessons``: lessons learned."""

    items: list[NarrativeText] = Field(default_factory=list)


class ActionRow(_Block):
    """An action item with its owner, due date and status."""

    id: str | None = None
    title: NarrativeText
    owner: RedactedText | None = None
    team: RedactedText | None = None
    kind: str | None = None
    priority: str | None = None
    due_at: datetime | None = None
    status: str | None = None


class ActionsBlock(_Block):
    """``actions``: action items."""

    items: list[ActionRow] = Field(default_factory=list)


class SignoffRow(_Block):
    """A role that signs the post-mortem off."""

    role: str
    name: RedactedText | None = None
    state: str | None = Field(default=None, description="what the register says of this sign-off")
    signed_at: datetime | None = None


class SignoffBlock(_Block):
    """``signoff``: who must sign per the severity's requirement."""

    requirement: RedactedText | None = None
    rows: list[SignoffRow] = Field(default_factory=list)


class FlagRow(_Block):
    """A blameless-language flag shown to the facilitator."""

    field: str | None = None
    phrase: RedactedText
    reason: str
    suggestion: str
    rule: str | None = None


class BlamelessReviewBlock(_Block):
    """``blameless_review``: flags of the blameless check (assembly adds those it finds itself)."""

    flags: list[FlagRow] = Field(default_factory=list)
    checked_fields: list[str] = Field(default_factory=list)


PART_MODELS: dict[str, type[BaseModel]] = {
    "summary": SummaryBlock,
    "severity": SeverityBlock,
    "timeline": TimelineBlock,
    "contributing_factors": RootCauseBlock,
    "response": ResponseBlock,
    "notifications": NotificationsBlock,
    "lessons": LessonsBlock,
    "actions": ActionsBlock,
    "signoff": SignoffBlock,
    "blameless_review": BlamelessReviewBlock,
}
"""Data model of each fixed report part (the keys its template reads)."""


# --------------------------------------------------------------------------------------------------
# Raw blocks and figures
# --------------------------------------------------------------------------------------------------


def figure_payload(figure: Any, *, id: str, title: str | None = None) -> dict[str, Any]:  # noqa: A002
    """A figure for a report block: plotly JSON plus an id and a title.

    Parameters
    ----------
    figure : plotly Figure, dict, str or Path
        A figure object, its JSON dict, its JSON text, or a ``figures/<id>.json`` file a section wrote.
    id : str
        The figure id (for section blocks, one the section promises).
    title : str or None
        Caption shown under the figure.

    Returns
    -------
    dict
        ``{"id", "title", "figure"}`` with the figure as JSON-compatible data.

    Examples
    --------
    >>> payload = figure_payload({"data": [{"type": "bar", "y": [1, 2]}]}, id="demo", title="Demo")
    >>> payload["figure"]["data"][0]["type"]
    'bar'
    """
    if isinstance(figure, Path) or (isinstance(figure, str) and not figure.lstrip().startswith("{")):
        figure = Path(figure).read_text(encoding="utf-8")
    if isinstance(figure, str):
        data = json.loads(figure)
    elif isinstance(figure, Mapping):
        data = json.loads(json.dumps(figure, default=str))
    elif hasattr(figure, "to_plotly_json"):
        data = json.loads(pio.to_json(figure, validate=False))
    else:
        raise WorkbenchError(
            "figure must be a plotly figure, a dict, JSON text or a path. "
            f"Got {type(figure).__name__} instead."
        )
    if not isinstance(data, dict):
        raise WorkbenchError(f"figure must be plotly JSON (an object). Got {type(data).__name__} instead.")
    if not isinstance(data.get("data", []), list):
        raise WorkbenchError(
            "figure must be plotly JSON with a 'data' list. "
            f"Got 'data' as {type(data['data']).__name__} instead."
        )
    return {"id": str(id), "title": title, "figure": data}


@dataclass(frozen=True)
class ReportBlock:
    """A raw report block, before validation (see :func:`report_block`).

    ``data`` is a mapping to validate, or a model that is already valid (a section summary validated
    when it was read); ``None`` together with ``unavailable``.
    """

    key: str
    data: Mapping[str, Any] | BaseModel | None
    figures: tuple[dict[str, Any], ...] = ()
    unavailable: str | None = None


def report_block(
    key: str,
    data: Mapping[str, Any] | BaseModel | None,
    *,
    figures: Iterable[Mapping[str, Any]] = (),
    unavailable: str | None = None,
) -> ReportBlock:
    """Make a raw report block.

    Parameters
    ----------
    key : str
        A key of :func:`workbench.sections.report_outline` (a fixed part or a section).
    data : mapping, pydantic model or None
        The block's data: a section's summary (a mapping, or its validated ``summary_model``), or the
        fields of the part's model in :data:`PART_MODELS`. ``None`` only together with ``unavailable``.
        Free text is given as recorded: it is redacted when the block is validated.
    figures : iterable of dict
        Figures from :func:`figure_payload`; a section block carries exactly the figures it promises.
    unavailable : str or None
        Why the part could not be produced (e.g. a section that did not run); shown in its place.

    Returns
    -------
    ReportBlock

    Examples
    --------
    >>> report_block("drift", None, unavailable="the system has no data card").unavailable
    'the system has no data card'
    """
    if data is None and unavailable is None:
        raise WorkbenchError(
            f"report block {key!r} must have data or say why it is unavailable. Got neither."
        )
    if data is not None and not isinstance(data, BaseModel):
        data = dict(data)
    return ReportBlock(
        key=key, data=data, figures=tuple(dict(figure) for figure in figures), unavailable=unavailable
    )
