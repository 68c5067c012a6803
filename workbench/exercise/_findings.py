"""The team's findings: one answer per question, each with the time it was reached.

A findings file is YAML or JSON. Each answer is ``{value: ..., at: <ISO-8601 wall-clock time>}`` or
``{value: ..., minutes: <minutes after the exercise started>}``; a bare value (``severity: SEV-2``) is an
answer with no time. ``value: null`` (or a missing field) means "not answered"; an empty list is an
answer ("no group harmed", "systemic: no slice", "no regime applies") and so is ``first_deadline: none``.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from workbench.errors import WorkbenchError
from workbench.exercise._catalogue import (
    CAUSES,
    CONTAINMENTS,
    normalise_cause,
    normalise_containment,
)

__all__ = [
    "Answer",
    "FindingsError",
    "Findings",
    "GroupAnswer",
    "SlicePredicate",
    "load_findings",
    "parse_findings",
]

T = TypeVar("T")


class FindingsError(WorkbenchError):
    """A findings file that cannot be read: each bad field named, one ``field: problem`` per line."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Answer(_Strict, Generic[T]):
    """One answer and when it was reached (``at`` wall-clock, or ``minutes`` after the start)."""

    value: T | None = None
    at: datetime | None = None
    minutes: float | None = Field(default=None, ge=0)

    @model_validator(mode="before")
    @classmethod
    def _bare_value(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return data
        return {"value": data}

    @field_validator("at", mode="before")
    @classmethod
    def _a_time_not_a_number(cls, value: Any) -> Any:
        # pydantic would read a number as a Unix timestamp: `at: 3` is far more likely meant as minutes
        if isinstance(value, int | float) and not isinstance(value, bool):
            raise ValueError(
                "`at` must be an ISO-8601 time such as 2026-12-04T10:20:00Z; for minutes after the start "
                f"give `minutes: {value}` instead"
            )
        return value

    @model_validator(mode="after")
    def _one_time(self) -> Answer[T]:
        if self.at is not None and self.minutes is not None:
            raise ValueError("give `at` or `minutes`, not both")
        return self

    @property
    def answered(self) -> bool:
        """Whether the team gave a value."""
        return self.value is not None

    def minutes_after(self, started_at: datetime) -> float | None:
        """Minutes from the start of the exercise to this answer (None when no time was given)."""
        if self.minutes is not None:
            return float(self.minutes)
        if self.at is None:
            return None
        from register.schema import as_utc

        return (as_utc(self.at) - started_at) / timedelta(minutes=1)


class GroupAnswer(_Strict):
    """A group harmed: a sensitive attribute and its value (``ethnic_group`` = ``group_b``)."""

    attribute: str = Field(min_length=1)
    group: str = Field(min_length=1)


class SlicePredicate(_Strict):
    """One predicate of the slice where the failures concentrate (predicates are ANDed)."""

    column: str = Field(min_length=1)
    op: Literal["==", "!=", "<", "<=", ">", ">="] = "=="
    value: str | int | float | bool


class Findings(_Strict):
    """What the team found, question by question (see ``findings.yaml`` written at the start)."""

    team: str | None = Field(default=None, max_length=200)
    notes: str | None = Field(default=None, max_length=10_000)
    onset: Answer[datetime] = Field(default_factory=Answer)
    still_happening: Answer[bool] = Field(default_factory=Answer)
    affected_decisions: Answer[int] = Field(default_factory=Answer)
    affected_people: Answer[int] = Field(default_factory=Answer)
    groups_harmed: Answer[list[GroupAnswer]] = Field(default_factory=Answer)
    cause: Answer[str] = Field(default_factory=Answer)
    slice: Answer[list[SlicePredicate]] = Field(default_factory=Answer)
    severity: Answer[Literal["SEV-1", "SEV-2", "SEV-3", "SEV-4"]] = Field(default_factory=Answer)
    regimes: Answer[list[str]] = Field(default_factory=Answer)
    first_deadline: Answer[datetime | Literal["none"]] = Field(default_factory=Answer)
    containment: Answer[str] = Field(default_factory=Answer)
    no_fault_found: Answer[bool] = Field(default_factory=Answer)

    @field_validator("affected_decisions", "affected_people")
    @classmethod
    def _not_negative(cls, answer: Answer[int]) -> Answer[int]:
        if answer.value is not None and answer.value < 0:
            raise ValueError(f"value must be a count (0 or more), got {answer.value}")
        return answer

    @field_validator("cause")
    @classmethod
    def _known_cause(cls, answer: Answer[str]) -> Answer[str]:
        if answer.value is None:
            return answer
        cause = normalise_cause(answer.value)
        if cause is None:
            raise ValueError(f"value must be one of {', '.join(CAUSES)}, got {answer.value!r}")
        return answer.model_copy(update={"value": cause})

    @field_validator("containment")
    @classmethod
    def _known_containment(cls, answer: Answer[str]) -> Answer[str]:
        if answer.value is None:
            return answer
        decision = normalise_containment(answer.value)
        if decision is None:
            raise ValueError(f"value must be one of {', '.join(CONTAINMENTS)}, got {answer.value!r}")
        return answer.model_copy(update={"value": decision})


def _field_problems(error: ValidationError) -> list[str]:
    """Pydantic's errors as ``field: problem`` lines (``onset.value: Input should be a valid datetime``)."""
    lines = []
    for problem in error.errors():
        location = ".".join(str(part) for part in problem["loc"] if not str(part).startswith("function-"))
        message = str(problem["msg"]).removeprefix("Value error, ")
        lines.append(f"{location or 'findings'}: {message}")
    return list(dict.fromkeys(lines))


def parse_findings(data: object, *, source: str = "findings") -> Findings:
    """Validate findings already read into Python objects.

    Raises
    ------
    FindingsError
        Naming each bad field.

    Examples
    --------
    >>> parse_findings({"severity": "SEV-2", "cause": {"value": "deploy", "minutes": 40}}).cause.value
    'model_change'
    """
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise FindingsError(
            f"{source} must be a mapping of question to answer (onset: ..., cause: ...). "
            f"Got a {type(data).__name__} instead."
        )
    try:
        return Findings.model_validate(data)
    except ValidationError as exc:
        problems = _field_problems(exc)
        raise FindingsError(
            f"{source} must answer in the findings form; {len(problems)} problem(s):\n" + ";\n".join(problems)
        ) from None


def load_findings(path: str | Path) -> Findings:
    """Read a findings file (YAML, or JSON by its ``.json`` suffix) and validate it.

    Raises
    ------
    FindingsError
        The file is not valid YAML/JSON, or a field is unknown or of the wrong type (each named).
    """
    import yaml

    where = Path(path)
    text = where.read_text(encoding="utf-8")
    try:
        data = json.loads(text) if where.suffix.lower() == ".json" else yaml.safe_load(text)
    except json.JSONDecodeError as exc:
        raise FindingsError(
            f"{where} must be valid JSON. Got a syntax error at line {exc.lineno}, column {exc.colno}: "
            f"{exc.msg}."
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        place = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise FindingsError(f"{where} must be valid YAML. Got a syntax error{place}: {problem}.") from None
    return parse_findings(data, source=str(where))
