"""Severity and notification policy: SLAs, response teams, post-mortem rules and regulatory clocks.

The policy is data (``register/data/policy.yaml``, overridable by a user file): nothing about a severity
level or a notification regime is hard-coded here. This module loads and validates it, and interprets it
generically:

- :func:`classify` suggests a severity and the applicable regimes from triage answers, with reasons;
- :func:`applicable_regimes` and :func:`notification_deadlines` do the same for a registered incident;
- :func:`incident_facts` and :func:`evaluate_condition` are the vectorised core that
  :mod:`register.metrics` reuses for whole DataFrames of incidents.

Conditions are mappings of *fact -> test* that must all hold; ``any: [...]``, ``all: [...]`` and
``not: {...}`` combine them. A test is a plain value (equality) or one operator mapping (``eq``, ``ne``,
``in``, ``not_in``, ``gt``, ``gte``, ``lt``, ``lte``, ``is_null``, ``contains``). An unknown fact (a null)
never satisfies a test other than ``is_null: true``. The facts are the fields of :class:`TriageAnswers`.

Examples
--------
>>> from datetime import UTC, datetime
>>> policy = load_policy()
>>> policy.level("SEV-1").response_sla
datetime.timedelta(seconds=900)
>>> answers = TriageAnswers(harm_ongoing=True, reversible=False, category="safety")
>>> suggestion = classify(answers, policy=policy, as_of=datetime(2026, 9, 1, tzinfo=UTC))
>>> suggestion.severity.value, suggestion.reasons[0]
('SEV-1', 'SEV-1 because harm is ongoing and irreversible')
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from register._parsing import check_size, load_yaml
from register.errors import ValidationFailed
from register.redact import RedactionRule
from register.schema import (
    INCIDENT_TIME_FIELDS,
    MAX_INTEGER,
    AiSystem,
    Incident,
    IncidentCategory,
    NotificationAudience,
    ReportType,
    Role,
    Severity,
    as_utc,
)

if TYPE_CHECKING:  # pandas is imported by the functions that build or read DataFrames
    import pandas as pd

__all__ = [
    "ClassificationSuggestion",
    "Deadline",
    "NotificationDeadline",
    "Policy",
    "PostmortemRule",
    "Regime",
    "RegimeCheck",
    "RegimeSuggestion",
    "ReportsPolicy",
    "SeverityLevel",
    "SeverityRule",
    "TIME_FACTS",
    "TriageAnswers",
    "applicable_regimes",
    "check_regimes",
    "classify",
    "default_policy_text",
    "evaluate_condition",
    "incident_fact_row",
    "incident_facts",
    "load_policy",
    "notification_deadlines",
    "regime_applicability",
]

TIME_FACTS: tuple[str, ...] = INCIDENT_TIME_FIELDS
"""Incident times a regime clock may start from (``clock_start``) or be judged at."""

_OPERATORS = frozenset({"eq", "ne", "in", "not_in", "gt", "gte", "lt", "lte", "is_null", "contains"})
_COMBINATORS = frozenset({"all", "any", "not"})
_MAX_REPEATS = 60


class _PolicyModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --------------------------------------------------------------------------------------------------
# Triage answers: the facts that conditions test.
# --------------------------------------------------------------------------------------------------


class TriageAnswers(BaseModel):
    """Answers to the triage questions; every field is a *fact* that policy conditions can test.

    ``None`` means "not known yet": it matches no test except ``is_null: true``, and
    :func:`classify` lists it under ``unanswered``. Times are the incident's clock starts; where
    ``aware_at`` is missing, :func:`classify` takes ``as_of`` as the time of awareness.
    """

    model_config = ConfigDict(extra="forbid")

    category: IncidentCategory | None = None
    kind: Literal["incident", "near_miss"] = "incident"
    harm_ongoing: bool | None = Field(default=None, description="is anyone harmed now?")
    reversible: bool | None = Field(default=None, description="can the harm be reversed?")
    affected_count: int | None = Field(
        default=None, ge=0, le=MAX_INTEGER, description="how many people are affected?"
    )
    regulatory_obligation: bool | None = Field(
        default=None, description="does a regulatory obligation apply?"
    )
    personal_data: bool = Field(default=False, description="is personal data exposed?")
    discrimination: bool = Field(default=False, description="do decisions discriminate against a group?")
    publicly_visible: bool = Field(default=False, description="is the incident publicly visible?")
    safe_rollback: bool | None = Field(default=None, description="is a safe rollback available?")
    risk_tier: str | None = Field(default=None, description="the AI system's risk tier")
    death: bool = False
    serious_harm: bool = Field(default=False, description="serious harm to a person's health or safety")
    critical_infrastructure: bool = Field(
        default=False, description="serious disruption of critical infrastructure"
    )
    widespread_infringement: bool = Field(
        default=False, description="widespread infringement (AI Act Art. 3(61))"
    )
    fundamental_rights: bool = Field(default=False, description="infringement of fundamental rights law")
    property_or_environment: bool = Field(
        default=False, description="serious harm to property or environment"
    )
    cybersecurity_breach: bool = Field(
        default=False, description="serious cybersecurity breach (e.g. weights)"
    )
    gpai_systemic_risk: bool = Field(default=False, description="a general-purpose model with systemic risk")
    adverse_decisions: bool = Field(default=False, description="adverse consequential decisions on consumers")
    operator_role: Literal["provider", "deployer", "developer"] | None = None
    jurisdictions: list[str] = Field(default_factory=list, description="e.g. ['EU', 'US-CO']")
    tags: list[str] = Field(default_factory=list, description="free tags; test them with `contains`")
    occurred_at: datetime | None = None
    aware_at: datetime | None = None
    acknowledged_at: datetime | None = None
    triaged_at: datetime | None = None
    causal_link_at: datetime | None = None
    contained_at: datetime | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None

    @field_validator(*TIME_FACTS, mode="after")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        return None if value is None else as_utc(value)


_FACT_NAMES = frozenset(TriageAnswers.model_fields)
_QUESTION_FACTS = (
    "harm_ongoing",
    "reversible",
    "affected_count",
    "regulatory_obligation",
    "safe_rollback",
    "category",
    "risk_tier",
)
# Facts that a registered incident does not hold as a column: yes/no facts come from a tag with the
# fact's name, string/list facts from tags "<prefix>:<value>".
_TAG_FLAG_FACTS = (
    "personal_data",
    "discrimination",
    "death",
    "serious_harm",
    "critical_infrastructure",
    "widespread_infringement",
    "fundamental_rights",
    "property_or_environment",
    "cybersecurity_breach",
    "gpai_systemic_risk",
    "adverse_decisions",
)
_TAG_VALUE_FACTS = {"operator_role": "operator_role:"}
_TAG_LIST_FACTS = {"jurisdictions": "jurisdiction:"}
_INCIDENT_RENAMES = {"ongoing": "harm_ongoing", "regulatory_notifiable": "regulatory_obligation"}


# --------------------------------------------------------------------------------------------------
# Conditions
# --------------------------------------------------------------------------------------------------


def _condition_problems(condition: object, where: str) -> list[str]:
    if not isinstance(condition, Mapping):
        return [f"{where} must be a mapping of fact -> test. Got {condition!r} instead."]
    problems: list[str] = []
    for key, test in condition.items():
        here = f"{where}.{key}"
        if key in ("all", "any"):
            if not isinstance(test, list) or not test:
                problems.append(f"{here} must be a non-empty list of conditions. Got {test!r} instead.")
                continue
            for position, sub in enumerate(test):
                problems += _condition_problems(sub, f"{here}[{position}]")
        elif key == "not":
            problems += _condition_problems(test, here)
        elif key not in _FACT_NAMES:
            problems.append(f"{where} tests an unknown fact {key!r}; known facts: {sorted(_FACT_NAMES)}.")
        elif isinstance(test, Mapping):
            if len(test) != 1 or next(iter(test)) not in _OPERATORS:
                problems.append(
                    f"{here} must be a value or one operator of {sorted(_OPERATORS)}. Got {dict(test)!r}."
                )
            elif next(iter(test)) in ("in", "not_in") and not isinstance(next(iter(test.values())), list):
                problems.append(f"{here} needs a list. Got {test!r} instead.")
    return problems


def _checked_condition(condition: dict[str, Any], where: str) -> dict[str, Any]:
    """Return ``condition`` as is, or raise one ValueError listing all its problems (for validators)."""
    problems = _condition_problems(condition, where)
    if problems:
        raise ValueError(" ".join(problems))
    return condition


def _checked_time_fact(value: str, field: str) -> str:
    """Return ``value`` if it names an incident time (:data:`TIME_FACTS`), else raise ValueError."""
    if value not in TIME_FACTS:
        raise ValueError(f"{field} must be one of {list(TIME_FACTS)}. Got {value!r} instead.")
    return value


def _true(index: pd.Index) -> pd.Series:
    import pandas as pd

    return pd.Series(True, index=index, dtype=bool)


def _plain(value: object) -> object:
    return value.value if isinstance(value, Severity | IncidentCategory) else value


def _test(column: pd.Series, test: object) -> pd.Series:
    import numpy as np
    import pandas as pd

    operator, operand = next(iter(test.items())) if isinstance(test, Mapping) else ("eq", test)
    operand = [_plain(v) for v in operand] if isinstance(operand, list) else _plain(operand)
    present = column.notna()
    if operator == "is_null":
        return ~present if operand else present
    if operator == "contains":
        holds = np.fromiter(
            (isinstance(v, list | tuple | set | frozenset) and operand in v for v in column.to_numpy()),
            dtype=bool,
            count=len(column),
        )
        return pd.Series(holds, index=column.index, dtype=bool)
    if operator in ("in", "not_in"):
        hit = column.isin(operand)
        return (hit if operator == "in" else ~hit & present).astype(bool)
    if operator in ("eq", "ne") and isinstance(operand, bool):
        # yes/no facts live in bool, boolean or object columns; nulls never match
        hit = column.isin([operand]).astype(bool)
        return (hit if operator == "eq" else ~hit & present).astype(bool)
    comparisons = {
        "eq": lambda c: c == operand,
        "ne": lambda c: c != operand,
        "gt": lambda c: c > operand,
        "gte": lambda c: c >= operand,
        "lt": lambda c: c < operand,
        "lte": lambda c: c <= operand,
    }
    outcome = comparisons[operator](column)
    return (outcome.fillna(False).astype(bool) & present).astype(bool)


def evaluate_condition(condition: Mapping[str, Any] | None, facts: pd.DataFrame) -> pd.Series:
    """Evaluate a policy condition on every row of a facts frame.

    Parameters
    ----------
    condition : mapping or None
        A condition as written in the policy file; ``None`` or ``{}`` always holds.
    facts : pandas.DataFrame
        One row per incident, one column per fact (see :func:`incident_facts`).

    Returns
    -------
    pandas.Series
        Boolean, aligned with ``facts``; nulls never satisfy a test other than ``is_null: true``.

    Examples
    --------
    >>> import pandas as pd
    >>> facts = pd.DataFrame({"harm_ongoing": [True, False, None], "affected_count": [5, 50_000, None]})
    >>> condition = {"any": [{"harm_ongoing": True}, {"affected_count": {"gte": 1000}}]}
    >>> evaluate_condition(condition, facts).tolist()
    [True, True, False]
    """
    import pandas as pd

    result = _true(facts.index)
    for key, test in (condition or {}).items():
        if key == "all":
            for sub in test:
                result &= evaluate_condition(sub, facts)
        elif key == "any":
            either = pd.Series(False, index=facts.index, dtype=bool)
            for sub in test:
                either |= evaluate_condition(sub, facts)
            result &= either
        elif key == "not":
            result &= ~evaluate_condition(test, facts)
        else:
            column = facts[key] if key in facts.columns else pd.Series(None, index=facts.index, dtype=object)
            result &= _test(column, test)
    return result


def _describe(condition: Mapping[str, Any] | None, facts: Mapping[str, object]) -> list[str]:
    """Words for the leaves of a condition that hold for one row of facts."""
    import pandas as pd

    words: list[str] = []
    frame = pd.DataFrame([facts])
    for key, test in (condition or {}).items():
        if key == "all":
            for sub in test:
                words += _describe(sub, facts)
        elif key == "any":
            for sub in test:
                if bool(evaluate_condition(sub, frame).iloc[0]):
                    words += _describe(sub, facts)
                    break
        elif key == "not":
            words.append(f"not ({'; '.join(_describe_test(k, t) for k, t in test.items())})")
        else:
            words.append(_describe_test(key, test))
    return words


def _describe_test(fact: str, test: object) -> str:
    if isinstance(test, Mapping):
        operator, operand = next(iter(test.items()))
        symbols = {"eq": "=", "ne": "!=", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}
        if operator in symbols:
            return f"{fact} {symbols[operator]} {_json(operand)}"
        if operator == "is_null":
            return f"{fact} is {'unknown' if operand else 'known'}"
        return f"{fact} {operator.replace('_', ' ')} {_json(operand)}"
    return f"{fact} = {_json(test)}"


def _json(value: object) -> str:
    return json.dumps(_plain(value), default=str)


# --------------------------------------------------------------------------------------------------
# Policy model
# --------------------------------------------------------------------------------------------------


class PostmortemRule(_PolicyModel):
    """What a post-mortem must be for one severity level, and when it is due."""

    requirement: str = Field(min_length=1)
    formal: bool = Field(description="whether a formal analysis is required")
    deadline: timedelta | None = Field(default=None, description="after resolution; None = no deadline")
    sign_off: str | None = Field(default=None, description="who signs the post-mortem off")


class SeverityLevel(_PolicyModel):
    """Response rules for one severity level (the severity matrix, one column)."""

    label: str
    primary_impact: str | None = None
    example: str | None = None
    response_sla: timedelta = Field(description="from becoming aware to acknowledging")
    contain_target: timedelta | None = Field(default=None, description="aware -> contained; None = no target")
    resolve_target: timedelta | None = Field(default=None, description="aware -> resolved; None = no target")
    activation_trigger: str
    response_team: list[Role]
    response_team_note: str | None = None
    communication_mandate: str
    notify_audiences: list[NotificationAudience] = Field(default_factory=list)
    postmortem: PostmortemRule


class SeverityRule(_PolicyModel):
    """One rule of the classification helper: when ``when`` holds, suggest at least ``severity``."""

    severity: Severity
    when: dict[str, Any]
    reason: str = Field(min_length=1)

    @field_validator("when")
    @classmethod
    def _valid_condition(cls, value: dict[str, Any]) -> dict[str, Any]:
        return _checked_condition(value, "when")


class Deadline(_PolicyModel):
    """One clock of a regime: report type, what starts it, how long it runs, and when it applies."""

    report_type: ReportType
    clock_start: str = "aware_at"
    due: timedelta | None = Field(default=None, description="None = no fixed clock (without undue delay)")
    repeat_every: timedelta | None = Field(default=None, description="periodic updates until resolved")
    when: dict[str, Any] | None = None
    reason: str = Field(min_length=1)

    @field_validator("clock_start")
    @classmethod
    def _known_time(cls, value: str) -> str:
        return _checked_time_fact(value, "clock_start")

    @field_validator("when")
    @classmethod
    def _valid_condition(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        return None if value is None else _checked_condition(value, "when")

    @model_validator(mode="after")
    def _repeat_needs_due(self) -> Deadline:
        if self.repeat_every is not None and (self.repeat_every <= timedelta(0) or self.due is None):
            raise ValueError(
                "repeat_every must be a positive duration on a deadline with `due`. "
                f"Got repeat_every={self.repeat_every} and due={self.due} instead."
            )
        return self


class Regime(_PolicyModel):
    """A notification regime as data: audience, applicability window and conditions, clocks."""

    id: str = Field(pattern=r"^[a-z0-9_]+$")
    name: str
    jurisdiction: str
    audience: NotificationAudience
    recipient: str | None = None
    enabled: bool = True
    applies_from: date | None = None
    applies_until: date | None = Field(default=None, description="last day the regime applies (inclusive)")
    applicability_time: str = "aware_at"
    applies_when: dict[str, Any] = Field(default_factory=dict)
    why: str | None = None
    deadlines: list[Deadline] = Field(default_factory=list)
    evidence_hold: bool = False
    notes: str | None = None

    @field_validator("applicability_time")
    @classmethod
    def _known_time(cls, value: str) -> str:
        return _checked_time_fact(value, "applicability_time")

    @field_validator("applies_when")
    @classmethod
    def _valid_condition(cls, value: dict[str, Any]) -> dict[str, Any]:
        return _checked_condition(value, "applies_when")

    @model_validator(mode="after")
    def _window(self) -> Regime:
        if self.applies_from and self.applies_until and self.applies_until < self.applies_from:
            raise ValueError(
                "applies_until must not be before applies_from. "
                f"Got {self.applies_from} .. {self.applies_until} instead."
            )
        return self

    @property
    def report_types(self) -> list[ReportType]:
        """Report types of this regime's chain, in order of first appearance."""
        return list(dict.fromkeys(deadline.report_type for deadline in self.deadlines))

    def in_force(self, on: date) -> bool:
        """Return whether the regime applies on day ``on`` (both window ends inclusive)."""
        return (self.applies_from is None or on >= self.applies_from) and (
            self.applies_until is None or on <= self.applies_until
        )


class ReportsPolicy(_PolicyModel):
    """What reports must respect: small-cell suppression and redaction of free text."""

    min_cell_size: int = Field(default=10, ge=1)
    redaction: list[RedactionRule] = Field(default_factory=list)
    redact_known_names: bool = Field(
        default=False,
        description=(
            "replace the names of the people the register knows (the incident's responders and its "
            "action items' owners) in report text with [redacted name]; names it does not know are not "
            "caught (no name-recognition model)"
        ),
    )


class Policy(_PolicyModel):
    """The whole policy: severity levels, classification rules, report rules, notification regimes."""

    version: Literal[1] = 1
    severities: dict[Severity, SeverityLevel]
    severity_rules: list[SeverityRule] = Field(default_factory=list)
    default_severity: Severity = Severity.SEV4
    default_reason: str = "no rule for a higher level matched"
    reports: ReportsPolicy = Field(default_factory=ReportsPolicy)
    regimes: list[Regime] = Field(default_factory=list)

    @model_validator(mode="after")
    def _complete(self) -> Policy:
        missing = [level.value for level in Severity if level not in self.severities]
        if missing:
            raise ValueError(f"severities must define every level. Got no entry for {missing}.")
        ids = [regime.id for regime in self.regimes]
        duplicated = sorted({i for i in ids if ids.count(i) > 1})
        if duplicated:
            raise ValueError(f"regime ids must be unique. Got {duplicated} more than once.")
        return self

    def level(self, severity: Severity | str) -> SeverityLevel:
        """Return the rules of one severity level (``"SEV-1"`` ... ``"SEV-4"``)."""
        return self.severities[Severity(severity)]

    def regime(self, regime_id: str) -> Regime:
        """Return the regime with this id (enabled or not); raise ``KeyError`` if there is none."""
        for regime in self.regimes:
            if regime.id == regime_id:
                return regime
        raise KeyError(f"regime must be one of {[r.id for r in self.regimes]}. Got {regime_id!r} instead.")

    @property
    def active_regimes(self) -> list[Regime]:
        """Regimes that are enabled, in file order."""
        return [regime for regime in self.regimes if regime.enabled]


# --------------------------------------------------------------------------------------------------
# Loading and merging
# --------------------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _default_document() -> str:
    return resources.files("register").joinpath("data/policy.yaml").read_text(encoding="utf-8")


def default_policy_text() -> str:
    """Return the shipped default policy file (YAML with comments), e.g. to start a user policy from.

    Examples
    --------
    >>> default_policy_text().splitlines()[0]
    '# Default incident policy of the AI Incident Workbench.'
    """
    return _default_document()


def _merge(base: object, override: object, path: str = "") -> object:
    if path == "regimes" and isinstance(base, list) and isinstance(override, list):
        merged = [dict(entry) for entry in base]
        position = {entry.get("id"): n for n, entry in enumerate(merged) if isinstance(entry, Mapping)}
        for entry in override:
            if isinstance(entry, Mapping) and entry.get("id") in position:
                merged[position[entry["id"]]].update(entry)
            else:
                merged.append(entry)
        return merged
    if isinstance(base, Mapping) and isinstance(override, Mapping):
        merged_map = dict(base)
        for key, value in override.items():
            child = f"{path}.{key}" if path else str(key)
            merged_map[key] = _merge(base[key], value, child) if key in base else value
        return merged_map
    return copy.deepcopy(override)


def _failure(source: str, problem: str, value: object) -> dict[str, object]:
    return {"file": source, "row": None, "column": None, "problem": problem, "value": value}


def _parse_yaml(text: str, source: str) -> dict[str, Any]:
    try:
        document = load_yaml(text, what=source)
    except ValidationFailed as exc:  # nested too deeply, aliases expanding too far
        raise ValidationFailed(str(exc), [_failure(source, "malformed_file", str(exc))]) from exc
    except yaml.YAMLError as exc:
        raise ValidationFailed(
            f"{source} must be valid YAML. Got a parse error: {exc}",
            [_failure(source, "malformed_file", str(exc))],
        ) from exc
    if document is None:
        return {}
    if not isinstance(document, dict):
        raise ValidationFailed(
            f"{source} must hold a YAML mapping. Got {type(document).__name__} instead.",
            [_failure(source, "malformed_file", None)],
        )
    return document


def load_policy(path: str | Path | None = None) -> Policy:
    """Load the shipped default policy, optionally overridden by a user policy file.

    Merge rule: the user file is merged over the default. Mappings merge key by key (so a file holding
    only ``severities: {SEV-2: {response_sla: PT30M}}`` changes one value); lists and scalars replace
    the default's (``severity_rules``, ``response_team``, ``reports.redaction`` are replaced whole);
    ``regimes`` merge by ``id``: an entry with a known id replaces the keys it names in that regime
    (``{id: gdpr_art33, enabled: false}`` switches it off), an entry with a new id is appended.

    Parameters
    ----------
    path : str or Path or None
        A YAML policy file; ``None`` loads the shipped default alone.

    Returns
    -------
    Policy

    Raises
    ------
    ValidationFailed
        When the file is missing, is not YAML, or the merged policy is invalid (one failure row per
        problem, ``column`` holding the dotted location).

    Examples
    --------
    >>> policy = load_policy()
    >>> [level.value for level in policy.severities]
    ['SEV-1', 'SEV-2', 'SEV-3', 'SEV-4']
    >>> policy.reports.min_cell_size
    10
    """
    document: object = _parse_yaml(_default_document(), "policy.yaml (default)")
    source = "policy.yaml (default)"
    if path is not None:
        source = str(path)
        check_size(path, what="a policy file")
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ValidationFailed(
                f"policy file must be a readable UTF-8 file. Got {path!s}: {exc}",
                [
                    {
                        "file": source,
                        "row": None,
                        "column": None,
                        "problem": "unreadable_file",
                        "value": str(exc),
                    }
                ],
            ) from exc
        document = _merge(document, _parse_yaml(text, source))
    try:
        return Policy.model_validate(document)
    except ValidationError as exc:
        failures = [
            {
                "file": source,
                "row": None,
                "column": ".".join(str(part) for part in error["loc"]),
                "problem": "invalid_value",
                "value": error["msg"],
            }
            for error in exc.errors()
        ]
        raise ValidationFailed(
            f"policy must satisfy the policy schema. Got {len(failures)} problem(s) in {source}.", failures
        ) from exc


# --------------------------------------------------------------------------------------------------
# Facts of incidents
# --------------------------------------------------------------------------------------------------


def _as_tag_list(value: object) -> list[str]:
    if isinstance(value, str):
        text = value
        try:
            value = json.loads(text)
        except ValueError:
            return [text]
    if hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, list | tuple | set):
        return [str(v) for v in value]
    return []


def _tag_lists(tags: pd.Series) -> list[list[str]]:
    return [value if type(value) is list else _as_tag_list(value) for value in tags.to_numpy()]


def incident_facts(incidents: pd.DataFrame, systems: pd.DataFrame | None = None) -> pd.DataFrame:
    """Turn an incidents frame (register field names) into a facts frame for policy conditions.

    ``ongoing`` and ``regulatory_notifiable`` become ``harm_ongoing`` and ``regulatory_obligation``;
    ``risk_tier`` comes from ``systems`` (joined on ``system_id``) unless the incidents frame has it;
    facts the register keeps no column for come from tags: a tag named like a yes/no fact sets it
    (``death``, ``personal_data``, ``gpai_systemic_risk``...), ``operator_role:<role>`` and
    ``jurisdiction:<code>`` set those facts. A category of ``data_exposure_privacy`` or
    ``fairness_bias`` does not set ``personal_data``/``discrimination`` here: regimes test the category.

    Parameters
    ----------
    incidents : pandas.DataFrame
        Register incidents (any subset of the :class:`~register.schema.Incident` fields).
    systems : pandas.DataFrame or None
        AI systems with ``id`` and ``risk_tier``.

    Returns
    -------
    pandas.DataFrame
        Same index as ``incidents``, one column per fact of :class:`TriageAnswers`.

    Examples
    --------
    >>> import pandas as pd
    >>> incidents = pd.DataFrame({"id": ["INC-2026-0001"], "ongoing": [True],
    ...                           "tags": [["death", "jurisdiction:EU"]]})
    >>> facts = incident_facts(incidents)
    >>> bool(facts.loc[0, "harm_ongoing"]), bool(facts.loc[0, "death"]), facts.loc[0, "jurisdictions"]
    (True, True, ['EU'])
    """
    import numpy as np
    import pandas as pd

    facts = pd.DataFrame(index=incidents.index)
    for field in _FACT_NAMES:
        source = next((old for old, new in _INCIDENT_RENAMES.items() if new == field), field)
        if source in incidents.columns:
            facts[field] = incidents[source]
        elif field in incidents.columns:
            facts[field] = incidents[field]
        elif source in Incident.model_fields and not Incident.model_fields[source].is_required():
            default = Incident.model_fields[source].default
            if isinstance(default, bool | str):  # a column left out takes the record's default
                facts[field] = pd.Series(default, index=incidents.index, dtype=object)
    if "risk_tier" not in facts.columns:
        facts["risk_tier"] = None
        if systems is not None and len(systems) and "system_id" in incidents.columns:
            tiers = systems.set_index("id")["risk_tier"]
            facts["risk_tier"] = incidents["system_id"].map(tiers).astype(object)
    exploded = None
    if "tags" in incidents.columns:
        lists = _tag_lists(incidents["tags"])
        lengths = np.fromiter((len(values) for values in lists), dtype=np.int64, count=len(lists))
        flat = [str(tag) for values in lists for tag in values]
        exploded = pd.Series(flat, index=np.repeat(np.arange(len(lists)), lengths), dtype="str")
        facts["tags"] = pd.Series(lists, index=facts.index, dtype=object)
    for flag in _TAG_FLAG_FACTS:
        if flag not in facts.columns:
            hit = exploded.index[exploded.to_numpy() == flag] if exploded is not None else []
            facts[flag] = pd.RangeIndex(len(incidents)).isin(hit)
    for fact, prefix in {**_TAG_VALUE_FACTS, **_TAG_LIST_FACTS}.items():
        if fact in facts.columns:
            continue
        found: dict[int, list[str]] = {}
        if exploded is not None and len(exploded):
            matching = exploded[exploded.str.startswith(prefix)]
            for position, tag in zip(matching.index, matching.to_numpy(), strict=True):
                found.setdefault(int(position), []).append(tag[len(prefix) :])
        cells = np.empty(len(facts), dtype=object)
        if fact in _TAG_VALUE_FACTS:
            cells.fill(None)
            for position, values in found.items():
                cells[position] = values[0]
        else:
            cells.fill(())
            for position, values in found.items():
                cells[position] = values
        column = pd.Series(cells, index=facts.index, dtype=object)
        facts[fact] = column
    for field in _FACT_NAMES - set(facts.columns):
        facts[field] = None
    for column in ("category", "kind", "severity"):
        if column in facts.columns and facts[column].dtype == object:
            facts[column] = facts[column].astype("string").astype(object).where(facts[column].notna(), None)
    for column in TIME_FACTS:
        facts[column] = pd.to_datetime(facts[column], utc=True, format="ISO8601")
    return facts


def _record_frame(incident: Incident | TriageAnswers, system: AiSystem | None) -> pd.DataFrame:
    import pandas as pd

    if isinstance(incident, TriageAnswers):
        row = incident.model_dump()
        frame = pd.DataFrame([{k: v for k, v in row.items() if not isinstance(v, list)}])
        for key, value in row.items():
            if isinstance(value, list):
                frame[key] = pd.Series([value], dtype=object)
        return incident_facts(frame)
    row = incident.model_dump()
    frame = pd.DataFrame([{k: v for k, v in row.items() if not isinstance(v, list | dict)}])
    for key, value in row.items():
        if isinstance(value, list):
            frame[key] = pd.Series([value], dtype=object)
    if system is not None:
        frame["risk_tier"] = pd.Series([system.risk_tier], dtype=object)
    return incident_facts(frame)


def incident_fact_row(incident: Incident, system: AiSystem | None = None) -> dict[str, object]:
    """The policy facts of one incident (what regime conditions test), as a plain mapping.

    Examples
    --------
    >>> from datetime import UTC, datetime
    >>> incident = Incident(id="INC-2026-0001", title="Denials", category="fairness_bias", severity="SEV-2",
    ...                     aware_at=datetime(2026, 9, 1, tzinfo=UTC), tags=["fundamental_rights"])
    >>> row = incident_fact_row(incident)
    >>> row["fundamental_rights"], row["death"], row["category"]
    (True, False, 'fairness_bias')
    """
    import pandas as pd

    row = _record_frame(incident, system).iloc[0].to_dict()
    return {
        key: (
            value.to_pydatetime()
            if isinstance(value, pd.Timestamp)
            else value.item()
            if hasattr(value, "item")
            else value
        )
        for key, value in row.items()
    }


# --------------------------------------------------------------------------------------------------
# Regimes and deadlines
# --------------------------------------------------------------------------------------------------


class RegimeCheck(_PolicyModel):
    """Whether one regime applies to an incident, and why (or why not)."""

    regime: str
    name: str
    audience: NotificationAudience
    applicable: bool
    reasons: list[str]
    notes: str | None = None


class NotificationDeadline(_PolicyModel):
    """One report owed under a regime: when its clock started and when it is due."""

    regime: str
    regime_name: str
    audience: NotificationAudience
    report_type: ReportType
    sequence: int = Field(default=1, description="1 for one-off reports, 1, 2, ... for periodic updates")
    clock_start: str
    clock_started_at: datetime | None
    due: timedelta | None
    due_at: datetime | None
    status: Literal["scheduled", "no_fixed_clock", "clock_not_started"]
    reason: str


def _judged_at(facts: pd.DataFrame, regime: Regime, as_of: datetime) -> pd.Series:
    import pandas as pd

    return facts[regime.applicability_time].fillna(pd.Timestamp(as_utc(as_of)))


def _day_start(day: date) -> pd.Timestamp:
    import pandas as pd

    return pd.Timestamp(day.year, day.month, day.day, tz="UTC")


def _window_holds(facts: pd.DataFrame, regime: Regime, as_of: datetime) -> pd.Series:
    import pandas as pd

    moment = _judged_at(facts, regime, as_of)
    holds = _true(facts.index)
    if regime.applies_from is not None:
        holds &= moment >= _day_start(regime.applies_from)
    if regime.applies_until is not None:
        holds &= moment < _day_start(regime.applies_until) + pd.Timedelta(days=1)
    return holds.astype(bool)


def regime_applicability(facts: pd.DataFrame, policy: Policy, as_of: datetime) -> pd.DataFrame:
    """Vectorised applicability: one boolean column per active regime id (conditions and window).

    Examples
    --------
    >>> from datetime import UTC, datetime
    >>> import pandas as pd
    >>> facts = incident_facts(pd.DataFrame({"category": ["data_exposure_privacy"],
    ...                                      "aware_at": [datetime(2026, 3, 1, tzinfo=UTC)]}))
    >>> applies = regime_applicability(facts, load_policy(), datetime(2026, 3, 2, tzinfo=UTC))
    >>> bool(applies.loc[0, "gdpr_art33"])
    True
    """
    import pandas as pd

    columns = {
        regime.id: evaluate_condition(regime.applies_when, facts) & _window_holds(facts, regime, as_of)
        for regime in policy.active_regimes
    }
    return pd.DataFrame(columns, index=facts.index, dtype=bool)


def _check_one(facts: pd.DataFrame, regime: Regime, as_of: datetime) -> RegimeCheck:
    row = facts.iloc[0].to_dict()
    day = _judged_at(facts, regime, as_of).iloc[0].date()
    meets = bool(evaluate_condition(regime.applies_when, facts).iloc[0])
    reasons: list[str] = []
    if regime.applies_from is not None and day < regime.applies_from:
        reasons.append(f"not in force on {day}: applies from {regime.applies_from}")
    elif regime.applies_until is not None and day > regime.applies_until:
        reasons.append(f"no longer in force on {day}: applied until {regime.applies_until}")
    if meets:
        matched = "; ".join(_describe(regime.applies_when, row)) or "applies to every incident"
        reasons.insert(0, f"{regime.why or regime.name} ({matched})" if regime.why else matched)
    else:
        reasons.append(
            "conditions not met: " + "; ".join(_describe_test(k, t) for k, t in regime.applies_when.items())
        )
    applicable = meets and regime.in_force(day)
    if applicable:
        window = f"in force since {regime.applies_from}" if regime.applies_from else "in force"
        reasons.append(window + (f" until {regime.applies_until}" if regime.applies_until else ""))
    return RegimeCheck(
        regime=regime.id,
        name=regime.name,
        audience=regime.audience,
        applicable=applicable,
        reasons=reasons,
        notes=regime.notes,
    )


def check_regimes(
    incident: Incident | TriageAnswers, system: AiSystem | None = None, *, policy: Policy, as_of: datetime
) -> list[RegimeCheck]:
    """Check every active regime against one incident (or triage answers), with reasons either way.

    Parameters
    ----------
    incident : Incident or TriageAnswers
        The incident (its tags supply yes/no facts, see :func:`incident_facts`) or triage answers.
    system : AiSystem or None
        The incident's AI system (for its ``risk_tier``); ignored for triage answers.
    policy : Policy
        The loaded policy.
    as_of : datetime
        When the applicability time (``aware_at`` by default) is unknown, the day of ``as_of`` is used.

    Returns
    -------
    list of RegimeCheck
        One per active regime, in policy order.

    Examples
    --------
    >>> from datetime import UTC, datetime
    >>> checks = check_regimes(TriageAnswers(personal_data=True), policy=load_policy(),
    ...                        as_of=datetime(2026, 9, 1, tzinfo=UTC))
    >>> [check.regime for check in checks if check.applicable]
    ['gdpr_art33', 'gdpr_art34']
    """
    facts = _record_frame(incident, system)
    return [_check_one(facts, regime, as_of) for regime in policy.active_regimes]


def applicable_regimes(
    incident: Incident | TriageAnswers, system: AiSystem | None = None, *, policy: Policy, as_of: datetime
) -> list[RegimeCheck]:
    """Return the regimes that apply to an incident, each with the reasons why.

    Same parameters as :func:`check_regimes`; only the applicable checks are returned.

    Examples
    --------
    >>> from datetime import UTC, datetime
    >>> from register.schema import AiSystem, Incident
    >>> system = AiSystem(id="credit", name="Credit scoring", risk_tier="eu_ai_act_high_risk")
    >>> incident = Incident(id="INC-2026-0007", title="Denials", category="fairness_bias",
    ...                     severity="SEV-2", aware_at=datetime(2026, 9, 1, tzinfo=UTC),
    ...                     tags=["fundamental_rights", "jurisdiction:US-CO"])
    >>> [r.regime for r in applicable_regimes(incident, system, policy=load_policy(),
    ...                                       as_of=datetime(2026, 9, 2, tzinfo=UTC))]
    ['eu_ai_act_art73', 'colorado_sb24_205']
    """
    return [
        check for check in check_regimes(incident, system, policy=policy, as_of=as_of) if check.applicable
    ]


def _deadlines_for(
    facts: pd.DataFrame, regime: Regime, as_of: datetime, resolved_at: datetime | None
) -> list[NotificationDeadline]:
    import pandas as pd

    row = facts.iloc[0]
    result: list[NotificationDeadline] = []
    for report_type in regime.report_types:
        specs = [
            spec
            for spec in regime.deadlines
            if spec.report_type == report_type and bool(evaluate_condition(spec.when, facts).iloc[0])
        ]
        if not specs:
            continue
        timed = [s for s in specs if s.due is not None]
        candidates: list[tuple[datetime | None, Deadline]] = []
        for spec in timed:
            start = row[spec.clock_start]
            candidates.append((None if pd.isna(start) else (start + spec.due).to_pydatetime(), spec))
        base: dict[str, Any] = {
            "regime": regime.id,
            "regime_name": regime.name,
            "audience": regime.audience,
            "report_type": report_type,
        }
        if not timed:
            spec = specs[0]
            start = row[spec.clock_start]
            result.append(
                NotificationDeadline(
                    **base,
                    clock_start=spec.clock_start,
                    clock_started_at=None if pd.isna(start) else start.to_pydatetime(),
                    due=None,
                    due_at=None,
                    status="no_fixed_clock",
                    reason=spec.reason,
                )
            )
            continue
        started = [(due_at, spec) for due_at, spec in candidates if due_at is not None]
        if not started:
            spec = min(timed, key=lambda s: s.due if s.due is not None else timedelta.max)
            result.append(
                NotificationDeadline(
                    **base,
                    clock_start=spec.clock_start,
                    clock_started_at=None,
                    due=spec.due,
                    due_at=None,
                    status="clock_not_started",
                    reason=f"{spec.reason}; the clock starts at {spec.clock_start}, not recorded yet",
                )
            )
            continue
        due_at, spec = min(started, key=lambda pair: pair[0])
        start = row[spec.clock_start].to_pydatetime()
        occurrences = [due_at]
        if spec.repeat_every is not None:
            horizon = resolved_at if resolved_at is not None else as_utc(as_of)
            while occurrences[-1] < horizon and len(occurrences) < _MAX_REPEATS:
                following = occurrences[-1] + spec.repeat_every
                if resolved_at is not None and following > resolved_at:
                    break
                occurrences.append(following)
            if resolved_at is not None and occurrences[0] > resolved_at:
                occurrences = []
        for sequence, moment in enumerate(occurrences, start=1):
            result.append(
                NotificationDeadline(
                    **base,
                    sequence=sequence,
                    clock_start=spec.clock_start,
                    clock_started_at=start,
                    due=_nth_due(spec, sequence),
                    due_at=moment,
                    status="scheduled",
                    reason=spec.reason,
                )
            )
    return result


def _nth_due(spec: Deadline, sequence: int) -> timedelta | None:
    """The due time of the ``sequence``-th report of a deadline (1: the first; repeats add up)."""
    if spec.due is None or not spec.repeat_every:
        return spec.due
    return spec.due + spec.repeat_every * (sequence - 1)


def notification_deadlines(
    incident: Incident | TriageAnswers,
    system: AiSystem | None = None,
    *,
    policy: Policy,
    as_of: datetime,
    regimes: Iterable[str] | None = None,
) -> list[NotificationDeadline]:
    """Return the reports owed under every applicable regime, with their due times.

    For each report type of a regime, the deadlines whose ``when`` holds are compared and the earliest
    due time applies (EU AI Act Art. 73: 15 days, 10 where a person died, 2 for critical infrastructure).
    Periodic updates (``repeat_every``) are listed one per period until resolution, or up to the first
    one after ``as_of`` while unresolved. A deadline whose clock has not started (e.g. a final report
    counted from ``resolved_at``) is listed with ``status="clock_not_started"`` and no due time.

    Parameters
    ----------
    incident : Incident or TriageAnswers
    system : AiSystem or None
    policy : Policy
    as_of : datetime
        The time the question is asked.
    regimes : iterable of str or None
        Restrict to these regime ids (still only where they apply).

    Returns
    -------
    list of NotificationDeadline

    Examples
    --------
    >>> from datetime import UTC, datetime
    >>> answers = TriageAnswers(personal_data=True, aware_at=datetime(2026, 3, 2, 9, tzinfo=UTC))
    >>> owed = notification_deadlines(answers, policy=load_policy(), as_of=datetime(2026, 3, 2, tzinfo=UTC))
    >>> [(d.regime, d.report_type.value, d.due_at.isoformat() if d.due_at else None) for d in owed]
    ... # doctest: +NORMALIZE_WHITESPACE
    [('gdpr_art33', 'initial', '2026-03-05T09:00:00+00:00'), ('gdpr_art33', 'follow_up', None),
     ('gdpr_art34', 'initial', None)]
    """
    import pandas as pd

    facts = _record_frame(incident, system)
    wanted = set(regimes) if regimes is not None else None
    resolved = facts["resolved_at"].iloc[0]
    resolved_at = None if pd.isna(resolved) else resolved.to_pydatetime()
    applicable = regime_applicability(facts, policy, as_of).iloc[0]
    owed: list[NotificationDeadline] = []
    for regime in policy.active_regimes:
        if not applicable[regime.id] or (wanted is not None and regime.id not in wanted):
            continue
        owed += _deadlines_for(facts, regime, as_of, resolved_at)
    return owed


# --------------------------------------------------------------------------------------------------
# Classification helper
# --------------------------------------------------------------------------------------------------


class RegimeSuggestion(_PolicyModel):
    """An applicable regime in a classification suggestion, with its deadlines."""

    regime: str
    name: str
    audience: NotificationAudience
    reasons: list[str]
    deadlines: list[NotificationDeadline]
    notes: str | None = None


class ClassificationSuggestion(_PolicyModel):
    """A suggested severity and the regimes that apply, each with the reasons, for a person to confirm."""

    severity: Severity
    reasons: list[str]
    also_matched: list[str] = Field(description="rules for less severe levels that also hold")
    level: SeverityLevel
    regimes: list[RegimeSuggestion]
    not_applicable: list[RegimeCheck]
    unanswered: list[str] = Field(description="triage questions without an answer (treated as unknown)")

    def summary(self) -> str:
        """One paragraph in words: severity, why, and the clocks that run."""
        clocks = [
            f"{s.name}: {d.report_type.label.lower()} due {d.due_at:%Y-%m-%d %H:%M} UTC"
            for s in self.regimes
            for d in s.deadlines
            if d.due_at is not None
        ]
        return "; ".join([*self.reasons, *clocks])


def classify(answers: TriageAnswers, *, policy: Policy, as_of: datetime) -> ClassificationSuggestion:
    """Suggest a severity and the applicable notification regimes from triage answers.

    The policy's ``severity_rules`` are evaluated in order; the most severe level among the rules that
    hold is suggested, with one reason per rule of that level (``"SEV-1 because harm is ongoing and
    irreversible"``); rules of less severe levels that also hold are listed in ``also_matched``. When no
    rule holds, ``default_severity`` is suggested with ``default_reason``. Regimes are checked with the
    same facts; where ``aware_at`` is not given, ``as_of`` is taken as the time of awareness.

    Parameters
    ----------
    answers : TriageAnswers
        The triage questions' answers (unknowns as ``None``).
    policy : Policy
        The loaded policy.
    as_of : datetime
        When the question is asked (aware).

    Returns
    -------
    ClassificationSuggestion

    Examples
    --------
    >>> from datetime import UTC, datetime
    >>> answers = TriageAnswers(category="data_exposure_privacy", personal_data=True, harm_ongoing=False,
    ...                         reversible=True, affected_count=40)
    >>> suggestion = classify(answers, policy=load_policy(), as_of=datetime(2026, 5, 4, 8, tzinfo=UTC))
    >>> suggestion.severity.value, suggestion.reasons
    ('SEV-2', ['SEV-2 because personal data is exposed'])
    >>> [(r.regime, [str(d.due_at) for d in r.deadlines if d.due_at]) for r in suggestion.regimes]
    [('gdpr_art33', ['2026-05-07 08:00:00+00:00'])]
    """
    as_of = as_utc(as_of)
    if answers.aware_at is None:
        answers = answers.model_copy(update={"aware_at": as_of})
    facts = _record_frame(answers, None)
    matched: list[tuple[SeverityRule, bool]] = [
        (rule, bool(evaluate_condition(rule.when, facts).iloc[0])) for rule in policy.severity_rules
    ]
    hits = [rule for rule, holds in matched if holds]
    if hits:
        severity = min((rule.severity for rule in hits), key=lambda s: s.rank)
        reasons = [f"{severity.value} because {rule.reason}" for rule in hits if rule.severity == severity]
        also = [f"{rule.severity.value}: {rule.reason}" for rule in hits if rule.severity != severity]
    else:
        severity, reasons, also = (
            policy.default_severity,
            [f"{policy.default_severity.value} because {policy.default_reason}"],
            [],
        )
    checks = check_regimes(answers, policy=policy, as_of=as_of)
    deadlines = notification_deadlines(answers, policy=policy, as_of=as_of)
    suggestions = [
        RegimeSuggestion(
            regime=check.regime,
            name=check.name,
            audience=check.audience,
            reasons=check.reasons,
            deadlines=[d for d in deadlines if d.regime == check.regime],
            notes=check.notes,
        )
        for check in checks
        if check.applicable
    ]
    unanswered = [name for name in _QUESTION_FACTS if getattr(answers, name) is None]
    return ClassificationSuggestion(
        severity=severity,
        reasons=reasons,
        also_matched=also,
        level=policy.level(severity),
        regimes=suggestions,
        not_applicable=[check for check in checks if not check.applicable],
        unanswered=unanswered,
    )
