"""Blameless-language check for the narrative fields of the register.

Post-mortems look at systems, not at who to blame. :func:`check_blameless` flags blame phrasing ("human
error", "should have", "careless", a person or role as the subject of "failed to" or "forgot", a person
named as the cause) and suggests a systems-focused reframing. The phrase list lives in data
(``register/data/blameless.yaml``), not in code; :func:`load_blameless_rules` reads it or another file
of the same shape.

Examples
--------
>>> flags = check_blameless("The on-call engineer failed to notice the alert.", field="summary")
>>> [(flag.field, flag.phrase, flag.rule) for flag in flags]
[('summary', 'failed to', 'failed_to')]
>>> check_blameless("The pipeline failed to refresh the feature store.")
[]
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from register.errors import ValidationFailed

__all__ = [
    "BlamelessFlag",
    "BlamelessRule",
    "BlamelessRules",
    "NARRATIVE_FIELDS",
    "check_blameless",
    "check_fields",
    "load_blameless_rules",
]

NARRATIVE_FIELDS: tuple[str, ...] = (
    "title",
    "summary",
    "trigger",
    "contributing_factors",
    "resolution",
    "lessons_learned",
)
"""Incident fields that hold narrative text and are checked before a report is rendered."""

_WORD = re.compile(r"[A-Za-z][A-Za-z'’\-]*")
_CLAUSE_BREAK = re.compile(r"[.;:!?,()\[\]\"“”\n]")


class BlamelessRule(BaseModel):
    """One entry of the phrase list.

    Parameters
    ----------
    id : str
        Stable rule identifier (reported on each flag).
    kind : {"phrase", "person_subject", "person_after", "person_possessive"}
        When a match is flagged (see ``register/data/blameless.yaml``).
    pattern : str
        Regular expression, matched case-insensitively.
    reason : str
        Why the phrasing is flagged.
    suggestion : str
        A systems-focused reframing.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1)
    kind: Literal["phrase", "person_subject", "person_after", "person_possessive"]
    pattern: str = Field(min_length=1)
    reason: str = Field(min_length=1)
    suggestion: str = Field(min_length=1)

    @field_validator("pattern")
    @classmethod
    def _pattern_compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"pattern must be a valid regular expression. Got {value!r} ({exc}).") from exc
        return value

    @model_validator(mode="after")
    def _possessive_names_who(self) -> BlamelessRule:
        if self.kind == "person_possessive" and "(?P<who>" not in self.pattern:
            raise ValueError(
                "a person_possessive rule must have a named group (?P<who>...). "
                f"Got {self.pattern!r} instead."
            )
        return self


class BlamelessRules(BaseModel):
    """The phrase list and the word lists that tell a person or role from a system."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: int = 1
    person_words: frozenset[str]
    skip_words: frozenset[str] = frozenset()
    not_names: frozenset[str] = frozenset()
    non_name_suffixes: tuple[str, ...] = ()
    rules: tuple[BlamelessRule, ...] = Field(min_length=1)

    @field_validator("person_words", "skip_words")
    @classmethod
    def _lower(cls, value: frozenset[str]) -> frozenset[str]:
        return frozenset(word.lower() for word in value)

    @model_validator(mode="after")
    def _unique_ids(self) -> BlamelessRules:
        ids = [rule.id for rule in self.rules]
        duplicates = sorted({rule_id for rule_id in ids if ids.count(rule_id) > 1})
        if duplicates:
            raise ValueError(f"rule ids must be unique. Got duplicates {duplicates} instead.")
        return self


class BlamelessFlag(BaseModel):
    """One flagged span of narrative text.

    ``start``/``end`` index into the text that was checked; ``phrase`` is ``text[start:end]``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    field: str | None
    phrase: str
    start: int = Field(ge=0)
    end: int = Field(ge=0)
    reason: str
    suggestion: str
    rule: str


def load_blameless_rules(path: str | Path | None = None) -> BlamelessRules:
    """Read a phrase list from YAML.

    Parameters
    ----------
    path : str or Path or None
        A YAML file shaped like ``register/data/blameless.yaml``; ``None`` reads that packaged file.

    Returns
    -------
    BlamelessRules
        The validated rules.

    Raises
    ------
    ValidationFailed
        When the file cannot be read or does not have the expected shape.

    Examples
    --------
    >>> rules = load_blameless_rules()
    >>> "failed_to" in {rule.id for rule in rules.rules}
    True
    """
    if path is None:
        return _default_rules()
    file_path = Path(path)
    try:
        raw = yaml.safe_load(file_path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ValidationFailed(f"blameless rules file {file_path} could not be read: {exc}") from exc
    return _parse(raw, str(file_path))


@lru_cache(maxsize=1)
def _default_rules() -> BlamelessRules:
    text = resources.files("register").joinpath("data/blameless.yaml").read_text(encoding="utf-8")
    return _parse(yaml.safe_load(text), "register/data/blameless.yaml")


def _parse(raw: object, source: str) -> BlamelessRules:
    from pydantic import ValidationError

    if not isinstance(raw, dict):
        raise ValidationFailed(
            f"blameless rules in {source} must be a mapping. Got {type(raw).__name__} instead."
        )
    try:
        return BlamelessRules.model_validate(raw)
    except ValidationError as exc:
        failures: list[dict[str, object]] = [
            {
                "file": source,
                "location": ".".join(str(part) for part in error["loc"]),
                "problem": error["msg"],
            }
            for error in exc.errors()
        ]
        raise ValidationFailed(f"blameless rules in {source} are not valid.", failures) from exc


@lru_cache(maxsize=512)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


def _is_person_word(word: str, rules: BlamelessRules, *, sentence_start: bool) -> bool:
    bare = re.sub(r"['’]s?$", "", word)
    if bare.lower() in rules.person_words:
        return True
    return _is_name(bare, rules, sentence_start=sentence_start)


def _is_name(word: str, rules: BlamelessRules, *, sentence_start: bool) -> bool:
    if len(word) < 2 or not word[0].isupper() or not word[1:].replace("-", "").islower():
        return False
    if word in rules.not_names:
        return False
    return not (sentence_start and word.lower().endswith(rules.non_name_suffixes))


def _subject_is_person(text: str, start: int, rules: BlamelessRules) -> bool:
    before = text[:start]
    clause_break = max((match.end() for match in _CLAUSE_BREAK.finditer(before)), default=0)
    clause = before[clause_break:]
    words = list(_WORD.finditer(clause))
    while words and (
        words[-1].group(0).lower() in rules.skip_words
        or (
            words[-1].group(0).lower().endswith("ly") and words[-1].group(0).lower() not in rules.person_words
        )
    ):
        words.pop()
    if not words:
        return False
    head = words[-1]
    sentence_start = len(words) == 1 and not before[clause_break:].strip()[: head.start()].strip()
    return _is_person_word(head.group(0), rules, sentence_start=sentence_start)


def _person_after(text: str, end: int, rules: BlamelessRules) -> int | None:
    """End offset of the person/role named in the first words after ``end``, or None.

    A role word counts within the first three words of the clause ("caused by the release manager"); a
    capitalised name only right after the trigger ("caused by Alice"), since "due to the Spark job" names
    a product, not a person.
    """
    after = text[end:]
    clause_break = _CLAUSE_BREAK.search(after)
    clause = after[: clause_break.start()] if clause_break else after
    person_end: int | None = None
    for position, match in enumerate(_WORD.finditer(clause)):
        if position >= 3:
            break
        word = match.group(0)
        bare = re.sub(r"['’]s?$", "", word)
        if bare.lower() in rules.person_words:
            person_end = end + match.end()
        elif position == 0 and _is_name(bare, rules, sentence_start=False):
            return end + match.end()
        elif person_end is not None:
            break
    return person_end


def check_blameless(
    text: str | None, *, field: str | None = None, rules: BlamelessRules | None = None
) -> list[BlamelessFlag]:
    """Flag blame phrasing in a narrative text.

    Parameters
    ----------
    text : str or None
        The text to check (``None`` and empty texts give no flags).
    field : str or None
        Name of the field the text came from, copied onto each flag.
    rules : BlamelessRules or None
        The phrase list; ``None`` uses the packaged ``register/data/blameless.yaml``.

    Returns
    -------
    list of BlamelessFlag
        Flags in text order; overlapping spans are reported once, by the rule listed first.

    Examples
    --------
    >>> [flag.phrase for flag in check_blameless("Dave forgot to rotate the reference window.")]
    ['forgot']
    >>> [flag.rule for flag in check_blameless("The incident was caused by Alice.")]
    ['caused_by_person']
    >>> check_blameless("The retraining job neglected rows with late labels.")
    []
    """
    if text is not None and not isinstance(text, str):
        raise TypeError(f"text must be a str or None. Got {type(text).__name__} instead.")
    if text is None or not text.strip():
        return []
    active = rules if rules is not None else _default_rules()
    found: list[BlamelessFlag] = []
    for rule in active.rules:
        for match in _compiled(rule.pattern).finditer(text):
            start, end = match.span()
            if rule.kind == "person_subject" and not _subject_is_person(text, start, active):
                continue
            if rule.kind == "person_after":
                person_end = _person_after(text, end, active)
                if person_end is None:
                    continue
                end = person_end
            if rule.kind == "person_possessive":
                who = match.group("who")
                who_start = match.start("who")
                sentence_start = not text[:who_start].strip() or text[:who_start].rstrip()[-1:] in ".!?"
                if not _is_person_word(who, active, sentence_start=sentence_start):
                    continue
            found.append(
                BlamelessFlag(
                    field=field,
                    phrase=text[start:end],
                    start=start,
                    end=end,
                    reason=rule.reason,
                    suggestion=rule.suggestion,
                    rule=rule.id,
                )
            )
    # overlapping spans are reported once, by the rule listed first (plain phrases before person rules)
    kept: list[BlamelessFlag] = []
    for flag in found:
        if any(flag.start < other.end and other.start < flag.end for other in kept):
            continue
        kept.append(flag)
    return sorted(kept, key=lambda flag: flag.start)


def check_fields(
    fields: Mapping[str, str | Sequence[str] | None] | Iterable[tuple[str, str | Sequence[str] | None]],
    *,
    rules: BlamelessRules | None = None,
) -> list[BlamelessFlag]:
    """Check several narrative fields at once.

    Parameters
    ----------
    fields : mapping or iterable of (name, value)
        Field name to text; a list of texts (e.g. ``contributing_factors``) is checked item by item
        and flagged as ``name[i]``.
    rules : BlamelessRules or None
        The phrase list; ``None`` uses the packaged one.

    Returns
    -------
    list of BlamelessFlag
        Flags of every field, in the order the fields were given.

    Examples
    --------
    >>> flags = check_fields({"summary": "A clean summary.", "contributing_factors": ["ok", "human error"]})
    >>> [(flag.field, flag.rule) for flag in flags]
    [('contributing_factors[1]', 'human_error')]
    """
    items = fields.items() if isinstance(fields, Mapping) else fields
    flags: list[BlamelessFlag] = []
    for name, value in items:
        if value is None:
            continue
        if isinstance(value, str):
            flags.extend(check_blameless(value, field=name, rules=rules))
        else:
            for index, item in enumerate(value):
                flags.extend(check_blameless(item, field=f"{name}[{index}]", rules=rules))
    return flags
