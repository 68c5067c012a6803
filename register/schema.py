"""Records and vocabularies of the incident register.

This module is the single definition of the domain vocabularies (incident categories, severities,
lifecycle statuses, detection sources, roles) and of the records that analyses take without touching
storage: the :class:`DataCard` of an AI system and its :class:`FailureSignal`.

Everything else -- the register, the analyses, the scenario generator, the reports -- imports the
vocabularies from here.

Examples
--------
>>> Severity("SEV-2").rank
2
>>> IncidentCategory.DATA_QUALITY.label
'Data quality'
>>> card = DataCard(
...     source=DataSource(location="logs/*.parquet"),
...     task="binary_classification",
...     columns=ColumnRoles(event_time="ts", entity_id="customer_id", features=["income"],
...                         prediction="y_pred", label="y_true"),
... )
>>> card.failure_signal.kind
'label_error'
"""

from __future__ import annotations

import enum
import os
import re
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

__all__ = [
    "INCIDENT_TIME_FIELDS",
    "AiSystem",
    "ActionItem",
    "Classification",
    "Evidence",
    "HistoryEntry",
    "INCIDENT_ID_PATTERN",
    "MAX_INCIDENT_ID_LENGTH",
    "MAX_INCIDENT_NUMBER",
    "MAX_INTEGER",
    "MAX_ITEM_LENGTH",
    "MAX_KEY_LENGTH",
    "MAX_NAME_LENGTH",
    "MAX_TEXT_LENGTH",
    "MAX_TITLE_LENGTH",
    "SOURCE_PATTERN",
    "STORED",
    "TEXT_LIMITS",
    "Incident",
    "Notification",
    "TimelineEvent",
    "ActionItemKind",
    "ActionItemStatus",
    "AiTask",
    "ColumnRoles",
    "DataCard",
    "DataQualitySignal",
    "DataSource",
    "ErrorTypeSignal",
    "EvaluationScoreSignal",
    "EvaluationSource",
    "FinishReasonSignal",
    "INTERACTION_SIGNAL_KINDS",
    "InteractionRoles",
    "LogKind",
    "DetectionSource",
    "FailureSignal",
    "ExposureFindingSignal",
    "InjectionSuccessSignal",
    "EXPOSURE_SIGNAL_LOCATIONS",
    "IncidentCategory",
    "IncidentStatus",
    "LabelErrorSignal",
    "NotificationAudience",
    "PostmortemStatus",
    "PredictionConditionSignal",
    "ReportType",
    "Role",
    "SensitiveSource",
    "Severity",
    "TimelineEventKind",
    "as_utc",
    "check_control_characters",
    "utc_now",
]


class _Vocabulary(enum.StrEnum):
    """A closed vocabulary: the stored value is a stable slug, ``label`` is what people read."""

    label: str
    """What people read (the stored value is the slug)."""

    # `label` has a default only for type checkers, which read `Severity("SEV-1")` as a call of
    # __new__; at run time that call looks the member up and every member is declared with its label.
    def __new__(cls, value: str, label: str = "") -> _Vocabulary:
        member = str.__new__(cls, value)
        member._value_ = value
        member.label = label or value
        return member

    def __str__(self) -> str:
        return self.value

    @classmethod
    def values(cls) -> list[str]:
        """Return the stored values, in declaration order."""
        return [member.value for member in cls]


class IncidentCategory(_Vocabulary):
    """What kind of failure an incident is (seeds 001/002, extended with LLM-specific kinds)."""

    PERFORMANCE_DEGRADATION = ("performance_degradation", "Performance degradation")
    FAIRNESS_BIAS = ("fairness_bias", "Fairness / bias")
    SAFETY = ("safety", "Safety")
    SECURITY = ("security", "Security")
    PROMPT_INJECTION = ("prompt_injection", "Prompt injection")
    DATA_EXPOSURE_PRIVACY = ("data_exposure_privacy", "Data exposure / privacy")
    DATA_QUALITY = ("data_quality", "Data quality")
    HALLUCINATION = ("hallucination", "Hallucination")
    HARMFUL_CONTENT = ("harmful_content", "Harmful or prohibited content")
    VENDOR_OUTAGE = ("vendor_outage", "Vendor outage")
    UNAUTHORIZED_USE = ("unauthorized_use", "Unauthorized use")
    HUMAN_OVERSIGHT_FAILURE = ("human_oversight_failure", "Human-oversight failure")
    REPUTATIONAL = ("reputational", "Reputational")


class Severity(_Vocabulary):
    """Severity levels of the default matrix (seed 000): SEV-1 is the most severe."""

    SEV1 = ("SEV-1", "Critical")
    SEV2 = ("SEV-2", "High")
    SEV3 = ("SEV-3", "Medium")
    SEV4 = ("SEV-4", "Low")

    @property
    def rank(self) -> int:
        """Return 1 for SEV-1 ... 4 for SEV-4."""
        return int(self.value.split("-")[1])


class IncidentStatus(_Vocabulary):
    """Lifecycle statuses, in their normal order (DESIGN.md section 5)."""

    DETECTED = ("detected", "Detected")
    TRIAGED = ("triaged", "Triaged")
    CONTAINED = ("contained", "Contained")
    INVESTIGATING = ("investigating", "Investigating")
    RECOVERED = ("recovered", "Recovered")
    CLOSED = ("closed", "Closed")


class DetectionSource(_Vocabulary):
    """How the organisation became aware of an incident."""

    MONITORING_ALERT = ("monitoring_alert", "Monitoring alert")
    USER_REPORT = ("user_report", "User report")
    AUDIT = ("audit", "Audit")
    VENDOR_ALERT = ("vendor_alert", "Vendor alert")
    REGULATOR = ("regulator", "Regulator")
    MEDIA = ("media", "Media")
    INTERNAL_FLAG = ("internal_flag", "Internal flag")


class Role(_Vocabulary):
    """Roles of the cross-functional response team (seeds 000 and 002)."""

    INCIDENT_COMMANDER = ("incident_commander", "Incident commander")
    TECHNICAL_LEAD = ("technical_lead", "Technical lead")
    COMMUNICATIONS_LEAD = ("communications_lead", "Communications lead")
    LEGAL_COMPLIANCE = ("legal_compliance", "Legal / compliance")
    DATA_LEAD = ("data_lead", "Data lead")
    AI_ETHICS_OFFICER = ("ai_ethics_officer", "AI ethics officer")
    PRODUCT_OWNER = ("product_owner", "Product owner")
    POSTMORTEM_FACILITATOR = ("postmortem_facilitator", "Post-mortem facilitator")


class TimelineEventKind(_Vocabulary):
    """Kinds of timeline events."""

    DETECTION = ("detection", "Detection")
    ESCALATION = ("escalation", "Escalation")
    DECISION = ("decision", "Decision")
    CONTAINMENT = ("containment", "Containment")
    COMMUNICATION = ("communication", "Communication")
    DEPLOY = ("deploy", "Deploy")
    CONFIG_OR_PIPELINE_CHANGE = ("config_or_pipeline_change", "Config or pipeline change")
    EVIDENCE = ("evidence", "Evidence")
    NOTE = ("note", "Note")


class ActionItemKind(_Vocabulary):
    """What an action item is for."""

    MITIGATE = ("mitigate", "Mitigate")
    PREVENT = ("prevent", "Prevent")
    DETECT = ("detect", "Detect")
    PROCESS = ("process", "Process")


class ActionItemStatus(_Vocabulary):
    """Status of an action item."""

    OPEN = ("open", "Open")
    IN_PROGRESS = ("in_progress", "In progress")
    DONE = ("done", "Done")
    WONT_DO = ("wont_do", "Won't do")


class NotificationAudience(_Vocabulary):
    """Who a notification goes to."""

    REGULATOR = ("regulator", "Regulator")
    CUSTOMERS = ("customers", "Customers")
    CLIENT = ("client", "Client")
    EXECUTIVE = ("executive", "Executive")
    BOARD = ("board", "Board")
    PUBLIC = ("public", "Public")
    PROVIDER = ("provider", "Provider")


class ReportType(_Vocabulary):
    """Report types in a notification chain (EU AI Act draft template)."""

    INITIAL = ("initial", "Initial")
    FOLLOW_UP = ("follow_up", "Follow-up")
    COMBINED = ("combined", "Combined initial and final")
    FINAL = ("final", "Final")


class PostmortemStatus(_Vocabulary):
    """Status of an incident's post-mortem document."""

    NOT_STARTED = ("not_started", "Not started")
    DRAFT = ("draft", "Draft")
    IN_REVIEW = ("in_review", "In review")
    REVIEWED = ("reviewed", "Reviewed")
    PUBLISHED = ("published", "Published")


AiTask = Literal[
    "binary_classification",
    "multiclass_classification",
    "regression",
    "ranking",
    "generation",
]


def as_utc(value: datetime) -> datetime:
    """Return ``value`` as an aware UTC datetime; naive values are taken to be UTC already.

    Examples
    --------
    >>> from datetime import timezone, timedelta
    >>> as_utc(datetime(2026, 1, 1, 14, tzinfo=timezone(timedelta(hours=2)))).isoformat()
    '2026-01-01T12:00:00+00:00'
    """
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


STORED = "stored"
"""Validation-context key marking a row read back from the register: ``model_validate(row,
context={STORED: True})`` skips the input-only checks (control characters), so rows written before a
check existed stay readable."""

_CONTROL_CHARACTERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")


def check_control_characters(value: object) -> object:
    r"""Return ``value`` unless a text in it holds NUL or another C0 control character (see TEXT_LIMITS).

    Tab, line feed and carriage return are allowed; ``value`` may be a text, a list of texts or a
    mapping of texts (other values pass unchanged).

    Examples
    --------
    >>> check_control_characters(["line one\nline two", "a\tb"])
    ['line one\nline two', 'a\tb']
    >>> check_control_characters("a\x00b")
    Traceback (most recent call last):
    ...
    ValueError: text must not contain control characters. Got U+0000 at position 1; remove it ...
    """
    if isinstance(value, str):
        texts: list[object] = [value]
    elif isinstance(value, list | tuple):
        texts = list(value)
    elif isinstance(value, dict):
        texts = [*value.keys(), *value.values()]
    else:
        return value
    for text in texts:
        match = _CONTROL_CHARACTERS.search(text) if isinstance(text, str) else None
        if match is not None:
            raise ValueError(
                f"text must not contain control characters. Got U+{ord(match.group()):04X} at position "
                f"{match.start()}; remove it (tab, line feed and carriage return are allowed)"
            )
    return value


def _checked_text(value: object, info: ValidationInfo) -> object:
    if isinstance(info.context, dict) and info.context.get(STORED):
        return value
    return check_control_characters(value)


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_enum_values=False)

    @field_validator("*", mode="after")
    @classmethod
    def _no_control_characters(cls, value: object, info: ValidationInfo) -> object:
        return _checked_text(value, info)


# --------------------------------------------------------------------------------------------------
# Data card: where an AI system's prediction logs live and what each column means.
# --------------------------------------------------------------------------------------------------


class DataSource(_Record):
    """Where prediction logs (or a join table) live.

    ``location`` is a file path or glob (Parquet, CSV), a DuckDB database file, or a connection URL that
    Ibis understands (``duckdb://``, ``postgres://``, ``pyspark://``...). ``table`` names the table for
    database sources. Relative paths are resolved against the directory of the file that declared them.
    ``otlp_json``: the OTLP JSON lines an OpenTelemetry Collector's file exporter writes (a file, glob or
    directory of ``.json``/``.jsonl``, optionally ``.gz``); only an interaction log's spans are read from it.

    Examples
    --------
    >>> DataSource(location="exports/traces-*.jsonl", format="otlp_json").format
    'otlp_json'
    >>> DataSource(location="exports/traces.jsonl", format="otlp_json", table="spans")
    Traceback (most recent call last):
    ...
    pydantic_core._pydantic_core.ValidationError: 1 validation error for DataSource
      Value error, an otlp_json source takes no `table`. Got 'spans'; ... [type=value_error, ...]
    ...
    """

    location: str = Field(min_length=1)
    format: Literal["parquet", "csv", "duckdb", "connection", "otlp_json"] = "parquet"
    table: str | None = None

    @model_validator(mode="after")
    def _table_for_databases(self) -> DataSource:
        if self.format in ("duckdb", "connection") and not self.table:
            raise ValueError(f"a {self.format} source needs `table`. Got none; name the table to read.")
        if self.format == "otlp_json" and self.table:
            raise ValueError(
                f"an otlp_json source takes no `table`. Got {self.table!r}; an OTLP export holds only spans."
            )
        return self


class SensitiveSource(_Record):
    """A separate table of sensitive attributes, joined to the log by ``keys``."""

    source: DataSource
    keys: list[str] = Field(min_length=1)
    attributes: list[str] = Field(min_length=1)


class ColumnRoles(_Record):
    """The mapping from analysis roles to column names in a prediction log."""

    event_time: str
    entity_id: str
    request_id: str | None = None
    model_version: str | None = None
    features: list[str] = Field(default_factory=list)
    categorical_features: list[str] = Field(
        default_factory=list, description="subset of `features` that are categorical"
    )
    score: str | None = None
    prediction: str | None = None
    label: str | None = None
    label_observed_at: str | None = None
    input_as_of: dict[str, str] = Field(
        default_factory=dict, description="feature -> column holding the as-of time of its upstream value"
    )
    sensitive: list[str] = Field(
        default_factory=list, description="sensitive attributes present in the log itself"
    )

    @model_validator(mode="after")
    def _consistent(self) -> ColumnRoles:
        unknown = sorted(set(self.categorical_features) - set(self.features))
        if unknown:
            raise ValueError(
                f"categorical_features must be a subset of features. Got {unknown} that are not features."
            )
        unknown_as_of = sorted(set(self.input_as_of) - set(self.features))
        if unknown_as_of:
            raise ValueError(f"input_as_of keys must be features. Got {unknown_as_of} that are not features.")
        return self

    @property
    def numeric_features(self) -> list[str]:
        """Features that are not declared categorical."""
        return [f for f in self.features if f not in self.categorical_features]


class LabelErrorSignal(_Record):
    """A decision failed when its prediction disagrees with the true label.

    For regression, ``tolerance`` is the largest acceptable absolute error (or relative error when
    ``relative`` is true).
    """

    kind: Literal["label_error"] = "label_error"
    tolerance: float | None = Field(default=None, ge=0)
    relative: bool = False


class DataQualitySignal(_Record):
    """A decision failed when one of its inputs was null or stale.

    ``condition="null"``: ``column`` is null. ``condition="stale"``: the as-of time of ``column``
    (``ColumnRoles.input_as_of``) lags the event time by more than ``max_lag``.
    """

    kind: Literal["data_quality"] = "data_quality"
    column: str
    condition: Literal["null", "stale"]
    max_lag: timedelta | None = None

    @model_validator(mode="after")
    def _lag_for_stale(self) -> DataQualitySignal:
        if self.condition == "stale" and self.max_lag is None:
            raise ValueError("a stale-input failure signal needs `max_lag`. Got none; e.g. max_lag: PT6H.")
        return self


class PredictionConditionSignal(_Record):
    """A decision failed when its score or prediction meets a condition (e.g. ``score > 0.9``)."""

    kind: Literal["prediction_condition"] = "prediction_condition"
    column: str
    op: Literal["<", "<=", ">", ">=", "==", "!="]
    value: float | int | str


class EvaluationScoreSignal(_Record):
    """A model call failed when its score of evaluation ``evaluation`` is below ``below`` (interaction logs).

    The scores come from the card's evaluation table (``gen_ai.evaluation.result`` rows), joined to the
    call by span id (or conversation id). A call without a score of that evaluation is not judged.
    ``inclusive=True`` also fails a score equal to ``below``.

    Examples
    --------
    >>> EvaluationScoreSignal(evaluation="groundedness", below=0.5).kind
    'evaluation_score'
    """

    kind: Literal["evaluation_score"] = "evaluation_score"
    evaluation: str = Field(min_length=1, description="the evaluation name (gen_ai.evaluation.name)")
    below: float = Field(description="the threshold: a score below it is a failure")
    inclusive: bool = False


class ErrorTypeSignal(_Record):
    """A model call failed when its ``error.type`` is set (interaction logs).

    ``error_types`` limits the signal to those values (e.g. ``["timeout", "503"]``); empty means any
    error type.
    """

    kind: Literal["error_type"] = "error_type"
    error_types: list[str] = Field(default_factory=list)

    @field_validator("error_types")
    @classmethod
    def _distinct(cls, value: list[str]) -> list[str]:
        if any(not item for item in value) or len(set(value)) != len(value):
            raise ValueError(
                f"error_types must be distinct non-empty values. Got {value} instead; list each once."
            )
        return value


class FinishReasonSignal(_Record):
    """A model call failed when one of its finish reasons is in ``reasons`` (interaction logs).

    For example ``["content_filter"]`` (a guardrail stopped the answer) or ``["length"]`` (cut off).
    """

    kind: Literal["finish_reason"] = "finish_reason"
    reasons: list[str] = Field(min_length=1)

    @field_validator("reasons")
    @classmethod
    def _distinct(cls, value: list[str]) -> list[str]:
        if any(not item for item in value) or len(set(value)) != len(value):
            raise ValueError(
                f"reasons must be distinct non-empty values. Got {value} instead; list each once."
            )
        return value


EXPOSURE_SIGNAL_LOCATIONS: tuple[str, ...] = ("output", "input", "system")
"""Exposure-scan locations an exposure-finding signal can name: the content of the model call itself
(its answer, the user's messages, its system instructions)."""


class ExposureFindingSignal(_Record):
    """A model call failed when the exposure scan found personal data or a secret in it (interaction logs).

    ``locations``: where in the call a finding counts (default: its answer, ``output``: a leak to the
    user); ``entities``: only these entity types count (``email``, ``card_number``...; all when None). The
    findings come from the exposure scan (:func:`analysis.llm_exposure.scan_exposure`), attached to the
    opened log before the failure signal is evaluated (:func:`analysis.impact.open_impact_log`).

    Examples
    --------
    >>> ExposureFindingSignal().locations
    ['output']
    >>> ExposureFindingSignal(locations=["retrieved"])
    Traceback (most recent call last):
    ...
    pydantic_core._pydantic_core.ValidationError: 1 validation error for ExposureFindingSignal
    ...
    """

    kind: Literal["exposure_finding"] = "exposure_finding"
    locations: list[str] = Field(default_factory=lambda: ["output"], min_length=1)
    entities: list[str] | None = Field(default=None, min_length=1)

    @field_validator("locations")
    @classmethod
    def _known_locations(cls, value: list[str]) -> list[str]:
        unknown = [item for item in value if item not in EXPOSURE_SIGNAL_LOCATIONS]
        if unknown or len(set(value)) != len(value):
            raise ValueError(
                f"locations must be distinct values among {list(EXPOSURE_SIGNAL_LOCATIONS)}. Got {value} "
                "instead; findings in retrieved text or tool calls show where data came from, not which "
                "call leaked it."
            )
        return value

    @field_validator("entities")
    @classmethod
    def _distinct_entities(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and (any(not item for item in value) or len(set(value)) != len(value)):
            raise ValueError(f"entities must be distinct non-empty values. Got {value} instead.")
        return value


class InjectionSuccessSignal(_Record):
    """A model call failed when it is a successful prompt-injection attempt (interaction logs).

    ``indicators`` limits the signal to successes with one of these indicators (``system_echo``: the
    answer repeats the system instructions; ``tool_call``: a tool was called after the attempt); empty
    means any. The successes come from the injection analysis
    (:func:`analysis.llm_injection.analyse_injection`), attached to the opened log before the failure
    signal is evaluated (:func:`analysis.impact.open_impact_log`).
    """

    kind: Literal["injection_success"] = "injection_success"
    indicators: list[Literal["system_echo", "tool_call"]] = Field(default_factory=list)

    @field_validator("indicators")
    @classmethod
    def _distinct(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError(f"indicators must be distinct. Got {value} instead; list each once.")
        return value


FailureSignal = Annotated[
    LabelErrorSignal
    | DataQualitySignal
    | PredictionConditionSignal
    | EvaluationScoreSignal
    | ErrorTypeSignal
    | FinishReasonSignal
    | ExposureFindingSignal
    | InjectionSuccessSignal,
    Field(discriminator="kind"),
]
"""What counts as a failed decision (or model call)."""

INTERACTION_SIGNAL_KINDS: frozenset[str] = frozenset(
    {"evaluation_score", "error_type", "finish_reason", "exposure_finding", "injection_success"}
)
"""Failure-signal kinds that only interaction logs can evaluate."""

LogKind = Literal["prediction_log", "interaction_log"]
"""What kind of log a data card describes: one row per decision, or one row per model call / step."""


class InteractionRoles(_Record):
    """The mapping from roles to column names in an interaction log of an LLM system.

    One row per span: a model call, a tool call or a retrieval step. The roles follow the OpenTelemetry
    GenAI semantic conventions (the attribute each role holds is in :data:`OTEL_ATTRIBUTES`); the
    columns may have any names. Only the trace and span ids, the start time and the user are required;
    a role the log lacks is ``None``. The content roles (``input_messages``, ``output_messages``,
    ``system_instructions``) are opt-in in the conventions: a log without them still supports the
    attribute-only analyses.

    Examples
    --------
    >>> roles = InteractionRoles.otel()
    >>> roles.conversation_id, roles.user_id
    ('gen_ai.conversation.id', 'enduser.id')
    >>> InteractionRoles.otel(content=False).output_messages is None
    True
    """

    trace_id: str
    span_id: str
    parent_span_id: str | None = None
    start_time: str
    duration_ms: str | None = Field(default=None, description="the span's duration in milliseconds")
    operation_name: str | None = None
    conversation_id: str | None = None
    user_id: str = Field(description="a pseudonymous end-user id (enduser.id)")
    provider: str | None = None
    request_model: str | None = None
    response_model: str | None = None
    agent_name: str | None = None
    agent_version: str | None = None
    prompt_name: str | None = None
    prompt_version: str | None = None
    finish_reasons: str | None = Field(default=None, description="a list<string> column")
    input_tokens: str | None = None
    output_tokens: str | None = None
    error_type: str | None = None
    retrieval_document_ids: str | None = Field(default=None, description="a list<string> column")
    tool_name: str | None = None
    input_messages: str | None = None
    output_messages: str | None = None
    system_instructions: str | None = None
    attributes: list[str] = Field(
        default_factory=list,
        description="other categorical columns to slice by (e.g. cloud.region, an intent label)",
    )

    OTEL_ATTRIBUTES: ClassVar[dict[str, str]] = {
        "trace_id": "trace_id",
        "span_id": "span_id",
        "parent_span_id": "parent_span_id",
        "start_time": "start_time",
        "duration_ms": "duration_ms",
        "operation_name": "gen_ai.operation.name",
        "conversation_id": "gen_ai.conversation.id",
        "user_id": "enduser.id",
        "provider": "gen_ai.provider.name",
        "request_model": "gen_ai.request.model",
        "response_model": "gen_ai.response.model",
        "agent_name": "gen_ai.agent.name",
        "agent_version": "gen_ai.agent.version",
        "prompt_name": "gen_ai.prompt.name",
        "prompt_version": "gen_ai.prompt.version",
        "finish_reasons": "gen_ai.response.finish_reasons",
        "input_tokens": "gen_ai.usage.input_tokens",
        "output_tokens": "gen_ai.usage.output_tokens",
        "error_type": "error.type",
        "retrieval_document_ids": "gen_ai.retrieval.document_ids",
        "tool_name": "gen_ai.tool.name",
        "input_messages": "gen_ai.input.messages",
        "output_messages": "gen_ai.output.messages",
        "system_instructions": "gen_ai.system_instructions",
    }
    """Role -> the column name an OpenTelemetry GenAI export gives it (span fields keep their OTLP
    names in snake case; ``gen_ai.prompt.*`` and ``gen_ai.retrieval.document_ids`` are this project's
    names for what the conventions do not name yet)."""

    CONTENT_ROLES: ClassVar[tuple[str, ...]] = ("input_messages", "output_messages", "system_instructions")

    @classmethod
    def otel(cls, *, content: bool = True, attributes: list[str] | None = None) -> InteractionRoles:
        """Return the roles of a log whose columns carry the OpenTelemetry names (:data:`OTEL_ATTRIBUTES`).

        ``content=False`` leaves the opt-in content roles out.
        """
        names = dict(cls.OTEL_ATTRIBUTES)
        if not content:
            for role in cls.CONTENT_ROLES:
                names.pop(role)
        return cls(**names, attributes=list(attributes or []))

    @property
    def columns(self) -> dict[str, str]:
        """Role -> column of every role the log has (attributes not included)."""
        return {
            role: value
            for role, value in self.model_dump(exclude={"attributes"}).items()
            if isinstance(value, str)
        }

    @property
    def has_content(self) -> bool:
        """Whether the log holds any of the opt-in content columns."""
        return any(getattr(self, role) is not None for role in self.CONTENT_ROLES)


class EvaluationSource(_Record):
    """A table of evaluation results and user feedback on an interaction log.

    Joinable by span or conversation id: at least one of ``span_id`` and ``conversation_id`` names the
    join key. One row per ``gen_ai.evaluation.result``: the evaluation's name, its score and/or label.
    User feedback is a row too, under the evaluation name ``feedback_name`` (e.g. score 1 / label
    ``thumbs_up``, score 0 / label ``thumbs_down``).
    """

    source: DataSource
    span_id: str | None = None
    conversation_id: str | None = None
    name: str = Field(default="gen_ai.evaluation.name")
    score: str | None = Field(default="gen_ai.evaluation.score.value")
    label: str | None = Field(default="gen_ai.evaluation.score.label")
    explanation: str | None = None
    evaluated_at: str | None = None
    feedback_name: str | None = Field(
        default=None, description="the evaluation name under which user feedback is recorded"
    )

    @model_validator(mode="after")
    def _joinable(self) -> EvaluationSource:
        if self.span_id is None and self.conversation_id is None:
            raise ValueError(
                "an evaluation source needs a join key. Got neither span_id nor conversation_id; name the "
                "column holding the evaluated span's id or the conversation id."
            )
        if self.score is None and self.label is None:
            raise ValueError("an evaluation source needs a score or a label column. Got neither; name one.")
        return self


class DataCard(_Record):
    """Where an AI system's logs live, what each column means, and what a failure is.

    ``kind="prediction_log"`` (the default): one row per decision, the roles in ``columns``.
    ``kind="interaction_log"``: one row per model call, tool call or retrieval step of an LLM system, the
    roles in ``interaction`` (OpenTelemetry GenAI names) and, optionally, an ``evaluations`` table. Such a
    card needs no ``task`` (it is ``generation``) nor ``columns``: they are derived from ``interaction``
    (event time = span start, entity = the user, request = the span, model version = the response model),
    so analyses that read ``columns`` see the calls as decisions of users; given ``columns`` must agree.
    Its default failure signal is an error type on the call; a label-error signal does not apply to it,
    and the interaction-log signals (evaluation score, error type, finish reason, exposure finding, injection
    success) apply only to it.

    Examples
    --------
    >>> card = DataCard(kind="interaction_log", source=DataSource(location="logs/**/*.parquet"),
    ...                 interaction=InteractionRoles.otel())
    >>> card.task, card.columns.entity_id, card.failure_signal.kind
    ('generation', 'enduser.id', 'error_type')
    """

    kind: LogKind = "prediction_log"
    source: DataSource
    task: AiTask
    columns: ColumnRoles
    interaction: InteractionRoles | None = None
    evaluations: EvaluationSource | None = None
    positive_label: int | str | bool | None = 1
    sensitive_source: SensitiveSource | None = None
    failure_signal: FailureSignal = Field(default_factory=LabelErrorSignal)
    value_labels: dict[str, dict[str, str]] = Field(
        default_factory=dict,
        description=(
            "labels of coded values, column -> code -> label (e.g. {'ethnic_group': {'3': 'Asian'}}); "
            "reports show the label beside the code"
        ),
    )

    @field_validator("value_labels")
    @classmethod
    def _value_labels_fit(cls, value: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
        for column, labels in value.items():
            for code, label in labels.items():
                if max(len(column), len(code), len(label)) > 200:
                    raise ValueError(
                        "value_labels entries must be at most 200 characters. "
                        f"Got a longer one in {column!r}."
                    )
        return value

    @classmethod
    def interaction_log(
        cls,
        source: DataSource,
        interaction: InteractionRoles,
        *,
        evaluations: EvaluationSource | None = None,
        failure_signal: FailureSignal | None = None,
        value_labels: dict[str, dict[str, str]] | None = None,
    ) -> DataCard:
        """Return an interaction-log card (task, columns and default failure signal derived).

        Examples
        --------
        >>> card = DataCard.interaction_log(DataSource(location="x"), InteractionRoles.otel())
        >>> card.kind, card.columns.event_time
        ('interaction_log', 'start_time')
        """
        document: dict[str, object] = {"kind": "interaction_log", "source": source}
        document["interaction"] = interaction
        if evaluations is not None:
            document["evaluations"] = evaluations
        if failure_signal is not None:
            document["failure_signal"] = failure_signal
        if value_labels is not None:
            document["value_labels"] = value_labels
        return cls.model_validate(document)

    @model_validator(mode="before")
    @classmethod
    def _interaction_defaults(cls, data: Any) -> Any:
        """Fill what an interaction-log card leaves out: task, columns (from its roles), failure signal."""
        if not isinstance(data, dict) or data.get("kind") != "interaction_log":
            return data
        roles = data.get("interaction")
        if isinstance(roles, dict):
            roles = InteractionRoles.model_validate(roles)
        if not isinstance(roles, InteractionRoles):
            raise ValueError(
                "an interaction_log card needs `interaction`, the roles of its columns. Got "
                f"{type(roles).__name__ if roles is not None else 'none'}; e.g. InteractionRoles.otel()."
            )
        filled = dict(data)
        filled.setdefault("task", "generation")
        filled.setdefault("positive_label", None)
        filled.setdefault("failure_signal", ErrorTypeSignal())
        derived = ColumnRoles(
            event_time=roles.start_time,
            entity_id=roles.user_id,
            request_id=roles.span_id,
            model_version=roles.response_model or roles.request_model,
        )
        given = filled.get("columns")
        if given is None:
            filled["columns"] = derived
        else:
            given = given if isinstance(given, ColumnRoles) else ColumnRoles.model_validate(given)
            if given != derived:
                raise ValueError(
                    "columns of an interaction_log card are derived from `interaction` (event_time = "
                    "start_time, entity_id = user_id, request_id = span_id, model_version = response_model). "
                    f"Got {given.model_dump(exclude_defaults=True)} instead; leave columns out."
                )
        return filled

    @model_validator(mode="after")
    def _shape_fits_kind(self) -> DataCard:
        signal = self.failure_signal.kind
        others = [
            name
            for name in ("sensitive_source", "evaluations")
            if getattr(self, name) is not None and getattr(self, name).source.format == "otlp_json"
        ]
        if others or (self.kind == "prediction_log" and self.source.format == "otlp_json"):
            raise ValueError(
                "an otlp_json source holds spans: it can only be the source of an interaction_log card. "
                f"Got it for {' and '.join(others) or 'a prediction_log card'}; export that table to Parquet."
            )
        if self.kind == "prediction_log":
            extra = [name for name in ("interaction", "evaluations") if getattr(self, name) is not None]
            if extra:
                raise ValueError(
                    f"{' and '.join(extra)} belong to an interaction_log card. Got them on a prediction_log "
                    "card; set kind: interaction_log or drop them."
                )
            if signal in INTERACTION_SIGNAL_KINDS:
                raise ValueError(
                    f"a {signal} failure signal needs an interaction_log card. Got a prediction_log card; "
                    "use label_error, data_quality or prediction_condition."
                )
            return self
        if self.task != "generation":
            raise ValueError(f"an interaction_log card's task must be generation. Got {self.task!r} instead.")
        if self.sensitive_source is not None:
            raise ValueError(
                "an interaction_log card takes no sensitive_source. Got one; user attributes are out of "
                "scope of interaction logs (list categorical columns in interaction.attributes)."
            )
        if signal == "label_error":
            raise ValueError(
                "a label_error failure signal does not apply to an interaction_log card (no labels). Got "
                "one; use evaluation_score, error_type, finish_reason, exposure_finding, injection_success, "
                "data_quality or prediction_condition."
            )
        if signal == "evaluation_score" and self.evaluations is None:
            raise ValueError(
                "an evaluation_score failure signal needs the card's `evaluations` table. Got none; add "
                "evaluations or use another signal."
            )
        return self

    def with_base(self, base: str | os.PathLike[str]) -> DataCard:
        """Return a copy whose relative file locations are resolved against ``base``, made absolute.

        Connection URLs and absolute paths are left as they are. The result is absolute even for a
        relative ``base``: the card is used from other working directories (a notebook runs in its run
        folder).

        Examples
        --------
        >>> card = DataCard(source=DataSource(location="../logs/*.parquet"), task="regression",
        ...                 columns=ColumnRoles(event_time="ts", entity_id="id"))
        >>> os.path.isabs(card.with_base("demo/register").source.location)
        True
        """

        def resolve(source: DataSource) -> DataSource:
            if source.format == "connection" or "://" in source.location or os.path.isabs(source.location):
                return source
            location = os.path.abspath(os.path.join(os.fspath(base), source.location))
            return source.model_copy(update={"location": location})

        update: dict[str, object] = {"source": resolve(self.source)}
        if self.sensitive_source is not None:
            update["sensitive_source"] = self.sensitive_source.model_copy(
                update={"source": resolve(self.sensitive_source.source)}
            )
        if self.evaluations is not None:
            update["evaluations"] = self.evaluations.model_copy(
                update={"source": resolve(self.evaluations.source)}
            )
        return self.model_copy(update=update)

    @property
    def sensitive_attributes(self) -> list[str]:
        """All sensitive attributes, from the log and from the join table."""
        joined = list(self.sensitive_source.attributes) if self.sensitive_source else []
        return list(self.columns.sensitive) + joined


def utc_now() -> datetime:
    """Return the current time as an aware UTC datetime (microsecond precision)."""
    return datetime.now(UTC)


# --------------------------------------------------------------------------------------------------
# Register records. Field names are the column names of the register's tables and import files.
# Times are aware UTC datetimes (naive input is taken as UTC, offsets are converted).
# --------------------------------------------------------------------------------------------------

INCIDENT_ID_PATTERN = r"^INC-\d{4}-\d{4,18}$"
"""Incident ids: ``INC-YYYY-NNNN``, four to 18 digits (growing past 9999; the number is kept in a
64-bit counter, so it stays below :data:`MAX_INTEGER`)."""

SOURCE_PATTERN = r"^[a-z0-9][a-z0-9_.-]*$"
"""``Incident.source``: a lower-case slug naming a public incident database (``aiid``, ``aiaaic``)."""

MAX_INCIDENT_NUMBER = 10**18 - 1
"""The largest number an incident id holds (18 digits, see :data:`INCIDENT_ID_PATTERN`)."""

MAX_INTEGER = 2**63 - 1
"""The largest integer a register field holds: both backends store integers in 64 bits (SQLite
INTEGER, PostgreSQL BIGINT). ``affected_count`` lies in ``0..MAX_INTEGER``, integer ids (timeline
events, evidence, classifications) in ``0..MAX_INTEGER``; larger values are refused when a record is
validated, before any database sees them."""

# --------------------------------------------------------------------------------------------------
# Text length limits of register records.
# --------------------------------------------------------------------------------------------------

MAX_INCIDENT_ID_LENGTH = 32
MAX_KEY_LENGTH = 64
MAX_NAME_LENGTH = 200
MAX_TITLE_LENGTH = 500
MAX_ITEM_LENGTH = 2_000
MAX_TEXT_LENGTH = 20_000

TEXT_LIMITS: dict[str, int] = {
    "incident id": MAX_INCIDENT_ID_LENGTH,
    "key": MAX_KEY_LENGTH,
    "name": MAX_NAME_LENGTH,
    "title": MAX_TITLE_LENGTH,
    "item": MAX_ITEM_LENGTH,
    "text": MAX_TEXT_LENGTH,
}
"""The longest text (in characters) each kind of register field accepts; longer input is refused.

The records enforce these limits, so ``Register.add_*``/``update_*`` and every import (where each
field too long is one row of the error table) refuse a 1,000,000-character title with a message
such as "title: String should have at most 500 characters".

============  =======  ==========================================================================
kind          limit    fields
============  =======  ==========================================================================
incident id   32       ``Incident.id`` and every ``incident_id`` (the width of the id columns)
key           64       ``AiSystem.id``, ``Incident.system_id``, action item / notification ids,
                       ``Notification.regime`` (the width of their columns)
name          200      names and short labels: ``AiSystem.name``/``owner_team``/``risk_tier``/
                       ``deployer``/``developer``, the incident's role holders, ``root_cause_category``,
                       action item ``owner``/``team``, evidence ``kind``/``run_id``, classification
                       ``namespace``/``attribute``
title         500      ``Incident.title``, ``ActionItem.title``, ``AiSystem.use_case``
item          2,000    each item of a list field (``tags``, ``affected_groups``,
                       ``contributing_factors``, ``model_versions``); links and references
                       (``source_link``, ``Evidence.uri``, ``Notification.reference``)
text          20,000   narrative text: ``summary``, ``trigger``, ``resolution``, ``lessons_learned``,
                       ``TimelineEvent.description``, ``verification_note``, ``Classification.value``
============  =======  ==========================================================================

The history keeps whole records as JSON and is not limited; nor is the data card (column names and
locations are checked where the logs are read).

Control characters: no text of a record (nor of a data card or failure signal) may hold NUL or any
other C0 control character (U+0000..U+001F) except tab, line feed and carriage return. They are
refused, not stripped, with the same message on SQLite and PostgreSQL (PostgreSQL cannot store NUL in
text; SQLite could, and the two backends would disagree). Rows read back from the register are not
re-checked (see :data:`STORED`).

Integers lie within :data:`MAX_INTEGER`; JSON and YAML input is nested at most 32 lists/mappings
deep and an import file is at most 50 MB (``register._parsing``).
"""

Key = Annotated[str, Field(max_length=MAX_KEY_LENGTH)]
Name = Annotated[str, Field(max_length=MAX_NAME_LENGTH)]
Title = Annotated[str, Field(max_length=MAX_TITLE_LENGTH)]
Item = Annotated[str, Field(max_length=MAX_ITEM_LENGTH)]
Text = Annotated[str, Field(max_length=MAX_TEXT_LENGTH)]
IncidentId = Annotated[str, Field(pattern=INCIDENT_ID_PATTERN, max_length=MAX_INCIDENT_ID_LENGTH)]


class _MutableRecord(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    @field_validator("*", mode="after")
    @classmethod
    def _times_in_utc(cls, value: object) -> object:
        if isinstance(value, datetime):
            return as_utc(value)
        return value

    @field_validator("*", mode="after")
    @classmethod
    def _no_control_characters(cls, value: object, info: ValidationInfo) -> object:
        return _checked_text(value, info)


class AiSystem(_MutableRecord):
    """An AI system in the register, with the data card of its prediction logs."""

    id: str = Field(min_length=1, max_length=MAX_KEY_LENGTH, pattern=r"^[A-Za-z0-9_.-]+$")
    name: Name = Field(min_length=1)
    owner_team: Name | None = None
    use_case: Title | None = None
    risk_tier: Name | None = Field(
        default=None, description="e.g. 'eu_ai_act_high_risk', 'limited', 'minimal'"
    )
    deployer: Name | None = None
    developer: Name | None = None
    data_card: DataCard | None = None


INCIDENT_TIME_FIELDS: tuple[str, ...] = (
    "occurred_at",
    "aware_at",
    "acknowledged_at",
    "triaged_at",
    "causal_link_at",
    "contained_at",
    "resolved_at",
    "closed_at",
)
"""The time fields of an incident, in lifecycle order (every module that lists them reads this one)."""


class Incident(_MutableRecord):
    """An incident (or near-miss/hazard) in the register."""

    id: IncidentId
    title: Title = Field(min_length=1)
    summary: Text | None = None
    system_id: Key | None = None
    category: IncidentCategory
    kind: Literal["incident", "near_miss"] = "incident"
    severity: Severity
    status: IncidentStatus = IncidentStatus.DETECTED
    detection_source: DetectionSource | None = None
    occurred_at: datetime | None = None
    aware_at: datetime
    acknowledged_at: datetime | None = None
    triaged_at: datetime | None = None
    causal_link_at: datetime | None = None
    contained_at: datetime | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    affected_count: int | None = Field(default=None, ge=0, le=MAX_INTEGER)
    affected_groups: list[Item] = Field(default_factory=list)
    ongoing: bool = False
    reversible: bool | None = None
    regulatory_notifiable: bool = False
    publicly_visible: bool = False
    evidence_hold: bool = False
    incident_commander: Name | None = None
    technical_lead: Name | None = None
    communications_lead: Name | None = None
    legal_compliance: Name | None = None
    data_lead: Name | None = None
    postmortem_facilitator: Name | None = None
    trigger: Text | None = None
    root_cause_category: Name | None = None
    contributing_factors: list[Item] = Field(default_factory=list)
    resolution: Text | None = None
    lessons_learned: Text | None = None
    model_versions: list[Item] = Field(default_factory=list)
    tags: list[Item] = Field(default_factory=list)
    postmortem_status: PostmortemStatus = PostmortemStatus.NOT_STARTED
    failure_signal: FailureSignal | None = Field(
        default=None, description="overrides the system's default failure signal for this incident"
    )
    source: Key | None = Field(
        default=None,
        pattern=SOURCE_PATTERN,
        description=(
            "where the record comes from: None = recorded in this register by its own team; a public "
            "database's slug (e.g. 'aiid', 'aiaaic') for an imported public record"
        ),
    )
    source_id: Name | None = Field(default=None, description="the record's id in `source` (e.g. AIID '23')")

    @model_validator(mode="after")
    def _source_id_needs_source(self) -> Incident:
        if self.source_id is not None and self.source is None:
            raise ValueError(
                f"source_id needs a source. Got source_id {self.source_id!r} without one; set source "
                "(e.g. 'aiid') or drop source_id."
            )
        return self


class TimelineEvent(_MutableRecord):
    """One dated event in an incident's timeline."""

    id: int | None = Field(default=None, ge=0, le=MAX_INTEGER)
    incident_id: IncidentId
    at: datetime
    kind: TimelineEventKind
    description: Text = Field(min_length=1)
    role: Role | None = None
    source_link: Item | None = None


class ActionItem(_MutableRecord):
    """A follow-up action from an incident, with an owner and a due date."""

    id: Key | None = None
    incident_id: IncidentId
    title: Title = Field(min_length=1)
    owner: Name | None = None
    team: Name | None = None
    kind: ActionItemKind
    priority: Literal["P1", "P2", "P3", "P4"] = "P2"
    due_at: datetime | None = None
    status: ActionItemStatus = ActionItemStatus.OPEN
    completed_at: datetime | None = None
    verification_note: Text | None = None


class Notification(_MutableRecord):
    """A notification owed or made to an audience under a regime (a regime may need a chain)."""

    id: Key | None = None
    incident_id: IncidentId
    audience: NotificationAudience
    regime: Key | None = Field(default=None, description="policy regime id, e.g. 'gdpr_art33'")
    report_type: ReportType = ReportType.INITIAL
    due_at: datetime | None = None
    sent_at: datetime | None = None
    reference: Item | None = None


class Evidence(_MutableRecord):
    """An artefact kept as evidence for an incident (executed notebook, report, data fingerprint...)."""

    id: int | None = Field(default=None, ge=0, le=MAX_INTEGER)
    incident_id: IncidentId
    kind: Name = Field(min_length=1)
    uri: Item = Field(min_length=1)
    sha256: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")
    captured_at: datetime
    run_id: Name | None = None


class Classification(_MutableRecord):
    """A taxonomy label on an incident: (namespace, attribute, value), e.g. CSET, MIT, AVID."""

    id: int | None = Field(default=None, ge=0, le=MAX_INTEGER)
    incident_id: IncidentId
    namespace: Name = Field(min_length=1)
    attribute: Name = Field(min_length=1)
    value: Text


class HistoryEntry(_MutableRecord):
    """One append-only audit row: a field of an entity changed from ``old_value`` to ``new_value``."""

    id: int | None = Field(default=None, ge=0, le=MAX_INTEGER)
    entity: str
    entity_id: str
    field: str
    old_value: str | None = None
    new_value: str | None = None
    changed_at: datetime
    changed_by: str | None = None
