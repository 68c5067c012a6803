"""Blameless-language check for the narrative fields of the register.

Post-mortems look at systems, not at who to blame. :func:`check_blameless` flags blame phrasing and
suggests a systems-focused reframing. It flags PEOPLE, not systems: "human error", "careless" or
"negligent" are flagged wherever they are not negated, but "should have", "mistakenly", "failed to",
"forgot", "caused by", "due to", "performed by" and the like only when their subject or agent is a
person or role (a pronoun, a role noun such as engineer, technician or on-call, a given name).

The check is a small rule engine over clauses, with no language model: it finds the trigger phrase,
then reads the noun phrase before it (its subject, looking through "the engineer on call" or "the
technician who replaced the disk") or after it (its agent: "caused by a developer executing a test
suite", not "caused by Postgres", "due to I/O issues" or "a page to the on-call engineer"), and judges
the head word against the role, name and system word lists. The phrase list and the word lists live
in data (``register/data/blameless.yaml``), not in code; :func:`load_blameless_rules` reads it or
another file of the same shape. Measured on hand-labelled sentences in
``tests/unit/register/fixtures/blameless_labelled.yaml``.

Examples
--------
>>> flags = check_blameless("The on-call engineer failed to notice the alert.", field="summary")
>>> [(flag.field, flag.phrase, flag.rule) for flag in flags]
[('summary', 'failed to', 'failed_to')]
>>> check_blameless("The pipeline failed to refresh the feature store.")
[]
>>> [flag.phrase for flag in check_blameless("The outage was caused by a developer executing a test suite.")]
['caused by a developer']
>>> check_blameless("Requests timed out due to I/O issues; Auto Scaling Groups failed to come online.")
[]
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Literal, NamedTuple

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

# A word: letters, digits, hyphens and apostrophes; "I/O" and "TCP/IP" stay one word (so "I/O" is not "I").
_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9'’\-]*(?:/[A-Za-z0-9][A-Za-z0-9'’\-]*)*|[.;:!?,()\[\]\"“”\n]")
_SENTENCE_ENDS = frozenset(".!?\n")


def _words(spaced: str) -> frozenset[str]:
    return frozenset(spaced.split())


# English grammar words the clause reading needs (policy lexicons live in register/data/blameless.yaml).
_DETERMINERS = _words(
    "the a an this that these those our their his her my your its one another some any each every no "
    "two three four five several many both all either neither"
)
_QUANTIFIERS = _words("one some none several many all each any two three four few most both either neither")
_PREPOSITIONS = _words(
    "to for from on in at into onto about toward towards against than via through over under across "
    "within between among per like including without during with by of off behind around near upon "
    "inside outside"
)
# object-of-preposition persons that are not agents ("a page to the on-call engineer")
_NON_AGENT_PREPOSITIONS = _PREPOSITIONS - {"by", "of", "with"}
_CLAUSE_WORDS = _words(
    "and but or so because when while after before since although though if that which who whom "
    "whereas once until unless where"
)
_AGENT_STOPS = _words(
    "which that who whom when while after before until once where so although though whereas since "
    "because but if unless"
)
_BE = _words("am is are was were be been being get gets got")
_PRONOUNS = _words("i we he she they you me us him them")
_MODALS = _words("should could would will can may might must shall")
_AUXILIARIES = _BE | _MODALS | _words("had has have did does do")
_IRREGULAR_VERBS = _words(
    "ran run runs wrote writes put puts set sets made makes took takes did does had has forgot forgets "
    "left sent kept let lets hit chose began broke went thought knew gave saw told built bought brought "
    "overrode undid"
)
_ING_NOUNS = _words(
    "tooling onboarding offboarding training testing tracking engineering logging provisioning setting "
    "settings pairing staffing scheduling paging meeting meetings building thing things something "
    "nothing anything everything string morning evening handling rating ratings"
)
_POST_MODIFIERS = ("ible", "able", "ful", "ed", "en", "ing")


class _Token(NamedTuple):
    """A word or a punctuation mark of the checked text."""

    text: str
    start: int
    end: int

    @property
    def low(self) -> str:
        return self.text.lower()

    @property
    def bare(self) -> str:
        """The word without a possessive ending ("engineer's" -> "engineer")."""
        return re.sub(r"['’]s?$", "", self.text)

    @property
    def possessive(self) -> bool:
        return bool(re.search(r"\w['’]s?$", self.text)) and not self.low.endswith(("n't", "n’t"))

    @property
    def is_break(self) -> bool:
        return not self.text[0].isalnum()


class BlamelessRule(BaseModel):
    """One entry of the phrase list.

    Parameters
    ----------
    id : str
        Stable rule identifier (reported on each flag).
    kind : {"phrase", "person_subject", "person_after", "person_clause", "person_possessive"}
        When a match is flagged (see ``register/data/blameless.yaml``).
    pattern : str
        Regular expression, matched case-insensitively.
    reason : str
        Why the phrasing is flagged.
    suggestion : str
        A systems-focused reframing.
    context : str or None
        Regular expression that must also match earlier in the same sentence (``None``: no condition).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1)
    kind: Literal["phrase", "person_subject", "person_after", "person_clause", "person_possessive"]
    pattern: str = Field(min_length=1)
    reason: str = Field(min_length=1)
    suggestion: str = Field(min_length=1)
    context: str | None = None

    @field_validator("pattern", "context")
    @classmethod
    def _pattern_compiles(cls, value: str | None) -> str | None:
        if value is None:
            return value
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
    """The phrase list and the word lists that tell a person or role from a system.

    ``person_words``, ``ambiguous_person_words``, ``modified_person_words``, ``person_modifiers``,
    ``skip_words`` and ``system_words`` are compared in lower case; ``person_names`` and ``not_names``
    as written (Title Case). With ``guess_names`` (the version-1 behaviour) any capitalised word that is
    not in ``not_names`` or ``system_words`` (and, at the start of a sentence, does not end in one of
    ``non_name_suffixes``) counts as a name; the packaged list leaves it off and knows names from
    ``person_names`` only, so product names (Postgres, Riak) are not taken for people.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: int = 1
    person_words: frozenset[str]
    ambiguous_person_words: frozenset[str] = frozenset()
    modified_person_words: frozenset[str] = frozenset()
    person_modifiers: frozenset[str] = frozenset()
    person_names: frozenset[str] = frozenset()
    system_words: frozenset[str] = frozenset()
    skip_words: frozenset[str] = frozenset()
    not_names: frozenset[str] = frozenset()
    non_name_suffixes: tuple[str, ...] = ()
    guess_names: bool = False
    rules: tuple[BlamelessRule, ...] = Field(min_length=1)

    @field_validator(
        "person_words",
        "ambiguous_person_words",
        "modified_person_words",
        "person_modifiers",
        "system_words",
        "skip_words",
    )
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


def _tokenize(text: str) -> list[_Token]:
    return [_Token(match.group(0), match.start(), match.end()) for match in _TOKEN.finditer(text)]


def _word(tokens: Sequence[_Token], index: int) -> _Token | None:
    """The word at ``index``, or None when out of range or a punctuation mark."""
    if 0 <= index < len(tokens) and not tokens[index].is_break:
        return tokens[index]
    return None


def _is_name(tokens: Sequence[_Token], index: int, rules: BlamelessRules) -> bool:
    word = tokens[index].bare
    if word in rules.person_names:
        return True
    if not rules.guess_names or word.lower() in rules.system_words or word in rules.not_names:
        return False
    if len(word) < 2 or not word[0].isupper() or not word[1:].replace("-", "").islower():
        return False
    sentence_start = index == 0 or tokens[index - 1].text in _SENTENCE_ENDS
    return not (sentence_start and word.lower().endswith(rules.non_name_suffixes))


def _is_person(tokens: Sequence[_Token], index: int, rules: BlamelessRules, *, pronouns: bool) -> bool:
    """Whether the word at ``index`` names a person or a role (a possessive form counts too)."""
    token = _word(tokens, index)
    if token is None:
        return False
    low = token.bare.lower()
    if low in _PRONOUNS:
        # "I" only as a capital letter of its own ("I/O" is one token); "US" is a country
        if not pronouns or (token.bare != "I" if low == "i" else token.bare.isupper()):
            return False
        return low not in {"they", "them"} or not _refers_to_system(tokens, index, rules)
    if low in rules.system_words:
        return False
    previous = _word(tokens, index - 1)
    if previous is not None and token.text[:1].isupper() and previous.text in rules.person_names:
        return True  # a surname after a given name: "John Smith"
    if _in_product_name(tokens, index):
        return False
    if low in rules.person_words:
        return True
    modifier = previous.bare.lower() if previous is not None else None
    if low in rules.ambiguous_person_words:
        return (
            modifier is None
            or modifier in _DETERMINERS
            or modifier in rules.person_modifiers
            or modifier in rules.person_words
        )
    if low in rules.modified_person_words:
        return modifier in rules.person_modifiers
    return _is_name(tokens, index, rules)


def _in_product_name(tokens: Sequence[_Token], index: int) -> bool:
    """Whether a Title Case word follows a Title Case word ("Microsoft Teams", "Auto Scaling Groups")."""
    token, previous = tokens[index], _word(tokens, index - 1)
    if previous is None or not token.text[:1].isupper() or not previous.text[:1].isupper():
        return False
    return previous.low not in _DETERMINERS


def _refers_to_system(tokens: Sequence[_Token], index: int, rules: BlamelessRules) -> bool:
    """Whether "they"/"them" follows a system noun more closely than a person in its sentence."""
    for position in range(index - 1, -1, -1):
        token = tokens[position]
        if token.text in _SENTENCE_ENDS:
            return False
        low = token.bare.lower()
        if low in rules.system_words:
            return True
        if low in rules.person_words or low in rules.ambiguous_person_words:
            return False
    return False


def _phrase_start(tokens: Sequence[_Token], head: int, low_bound: int) -> int:
    """Index of the first word of the noun phrase ending at ``head`` (back to its determiner, <= 3 words)."""
    first = head
    while first - 1 >= low_bound and head - first < 3:
        previous = tokens[first - 1]
        if previous.is_break or previous.low in _PREPOSITIONS | _CLAUSE_WORDS | _AUXILIARIES:
            break
        first -= 1
        if previous.low in _DETERMINERS:
            break
    return first


def _governing_preposition(tokens: Sequence[_Token], head: int, low_bound: int) -> _Token | None:
    """The preposition whose object is the noun phrase ending at ``head``, if any."""
    first = _phrase_start(tokens, head, low_bound)
    before = _word(tokens, first - 1) if first - 1 >= low_bound else None
    return before if before is not None and before.low in _PREPOSITIONS else None


def _is_verb(token: _Token | None) -> bool:
    if token is None or token.is_break:
        return False
    low = token.low
    return (
        low in _IRREGULAR_VERBS
        or (low.endswith("ed") and len(low) > 4)
        or (low.endswith("ing") and len(low) > 4 and low not in _ING_NOUNS)
    )


def _ends_phrase(tokens: Sequence[_Token], index: int) -> bool:
    """Whether the word before ``index`` is the head of its noun phrase (not a modifier of the next word)."""
    token = tokens[index] if index < len(tokens) else None
    if token is None or token.is_break or _is_verb(token):
        return True
    low = token.low
    return (
        low in _PREPOSITIONS | _CLAUSE_WORDS | _AUXILIARIES
        or low.endswith("ly")
        or (len(token.text) == 1 and token.text.isupper())
    )


def _verb_follows(tokens: Sequence[_Token], index: int) -> bool:
    """Whether a main verb (after optional adverbs) follows ``index``: "an operator (quickly) mistyped"."""
    position = index + 1
    while (token := _word(tokens, position)) is not None and token.low.endswith("ly"):
        position += 1
    return _is_verb(_word(tokens, position))


def _clause_start(tokens: Sequence[_Token], index: int) -> tuple[int, _Token | None]:
    """First index of the clause holding ``index`` and the break (punctuation or clause word) before it."""
    position = index - 1
    while position >= 0:
        token = tokens[position]
        if token.is_break or token.low in _CLAUSE_WORDS:
            return position + 1, token
        position -= 1
    return 0, None


def _phrase_is_person(tokens: Sequence[_Token], head: int, low_bound: int, rules: BlamelessRules) -> bool:
    """Whether the subject noun phrase ending at ``head`` is a person.

    A phrase that is the object of a preposition is a post-modifier ("the engineer on call", "the script
    written by an engineer"), so the phrase before it decides; "one of our engineers" and "a member of
    the team" are persons.
    """
    index = head
    for _ in range(6):
        if index < low_bound:
            return False
        token = tokens[index]
        if index > low_bound and (len(token.text) == 1 and token.text.isupper() or token.text.isdigit()):
            # an anonymising label after a role: "Engineer A", "Developer 2"
            return _is_person(tokens, index - 1, rules, pronouns=False)
        person = not token.possessive and _is_person(tokens, index, rules, pronouns=True)
        preposition = _governing_preposition(tokens, index, low_bound)
        if preposition is None:
            # "no single person was at fault" names nobody
            return person and tokens[_phrase_start(tokens, index, low_bound)].low != "no"
        first = _phrase_start(tokens, index, low_bound)
        if preposition.low == "of" and first - 2 >= low_bound:
            owner = tokens[first - 2]
            if owner.low in _QUANTIFIERS or _is_person(tokens, first - 2, rules, pronouns=False):
                return person or _is_person(tokens, first - 2, rules, pronouns=False)
        index = first - 2
        while index > low_bound and tokens[index].low.endswith(_POST_MODIFIERS):
            index -= 1
    return False


def _agent_after(
    tokens: Sequence[_Token], first: int, rules: BlamelessRules, *, need_verb: bool = False
) -> _Token | None:
    """The first person or role heading a noun phrase from ``first`` up to a comma or a subordinate clause.

    Pronouns do not count; nor does a person after a preposition like "to" or "for" ("a page to the
    on-call engineer"), a possessive ("the engineer's change") or a modifier ("developer tooling").
    With ``need_verb`` the person must be followed by a main verb ("an operator mistyped").
    """
    index = first
    while index < len(tokens):
        token = tokens[index]
        if token.is_break or token.low in _AGENT_STOPS:
            return None
        if (
            not token.possessive
            and _is_person(tokens, index, rules, pronouns=False)
            and _ends_phrase(tokens, index + 1)
            and (need_verb is False or _verb_follows(tokens, index))
        ):
            preposition = _governing_preposition(tokens, index, first)
            if preposition is None or preposition.low not in _NON_AGENT_PREPOSITIONS:
                return token
        index += 1
    return None


def _subject_is_person(tokens: Sequence[_Token], first: int, last: int, rules: BlamelessRules) -> bool:
    """Whether the phrase spanning tokens ``first..last`` has a person or role as subject or agent.

    The subject is the noun phrase before the phrase in its clause (skipping adverbs and auxiliaries);
    after the relative "who" it is a person, after "which" a thing. An empty clause after a comma looks
    past the comma ("The engineer, who was paged twice, failed to"). A passive phrase ("was mistakenly
    deleted by an engineer") is judged by its "by" agent.
    """
    position = first
    for _ in range(3):
        low_bound, before = _clause_start(tokens, position)
        if before is not None and before.low in {"who", "whom"}:
            return True
        end = position
        passive = False
        while end > low_bound and (
            tokens[end - 1].low in rules.skip_words
            or tokens[end - 1].low in _AUXILIARIES
            or tokens[end - 1].low.endswith(("ly", "n't", "n’t"))
        ):
            passive = passive or tokens[end - 1].low in _BE
            end -= 1
        if end > low_bound:
            if _phrase_is_person(tokens, end - 1, low_bound, rules):
                return True
            break
        if before is not None and before.low in {"and", "but", "or"}:
            # a coordinated verb shares the subject of the clause before: "X restarted the node and failed to"
            previous_start, _ = _clause_start(tokens, low_bound - 1)
            head = _first_phrase_head(tokens, previous_start, low_bound - 1, rules)
            if head is not None and _phrase_is_person(tokens, head, previous_start, rules):
                return True
            break
        if before is None or before.text != ",":
            break
        position = low_bound - 1
    following = _word(tokens, last + 1)
    if not (passive or (following is not None and following.low == "been")):
        return False
    for index in range(last + 1, min(last + 8, len(tokens))):
        token = tokens[index]
        if token.is_break or token.low in _AGENT_STOPS:
            break
        if token.low == "by":
            return _agent_after(tokens, index + 1, rules) is not None
    return False


def _first_phrase_head(tokens: Sequence[_Token], first: int, stop: int, rules: BlamelessRules) -> int | None:
    """Head of the first noun phrase in ``first..stop`` (the word before the first verb), or None."""
    position = first
    while position < stop:
        token = tokens[position]
        if token.is_break or token.low in _PREPOSITIONS | _AUXILIARIES | rules.skip_words or _is_verb(token):
            break
        position += 1
    return position - 1 if position > first else None


def _negated(tokens: Sequence[_Token], first: int) -> bool:
    """Whether one of the three words before ``first`` in its clause negates it ("not human error")."""
    low_bound, _ = _clause_start(tokens, first)
    words = [token.low for token in tokens[max(low_bound, first - 3) : first]]
    if any(word in {"not", "no", "never", "without"} or word.endswith(("n't", "n’t")) for word in words):
        return True
    return words[-2:] in (["rather", "than"], ["instead", "of"])


def _token_index(tokens: Sequence[_Token], offset: int) -> int:
    """Index of the first token starting at or after the character ``offset``."""
    return bisect_left([token.start for token in tokens], offset)


def _sentence_start(text: str, offset: int) -> int:
    return max((text.rfind(mark, 0, offset) + 1 for mark in _SENTENCE_ENDS), default=0)


def _flag_span(
    text: str, tokens: Sequence[_Token], match: re.Match[str], rule: BlamelessRule, rules: BlamelessRules
) -> tuple[int, int] | None:
    """The span to flag for one match of ``rule``, or None when the match is not blame."""
    start, end = match.span()
    context = None if rule.context is None else _compiled(rule.context)
    if context is not None and not context.search(text, _sentence_start(text, start), start):
        return None
    first = _token_index(tokens, start)
    last = _token_index(tokens, end) - 1
    if _negated(tokens, first):
        return None
    if rule.kind == "phrase":
        return (start, end)
    if rule.kind == "person_subject":
        return (start, end) if _subject_is_person(tokens, first, last, rules) else None
    if rule.kind in {"person_after", "person_clause"}:
        agent = _agent_after(tokens, last + 1, rules, need_verb=rule.kind == "person_clause")
        return None if agent is None else (start, agent.end)
    who = _token_index(tokens, match.start("who"))
    return (start, end) if _is_person(tokens, who, rules, pronouns=False) else None


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
    tokens = _tokenize(text)
    found: list[BlamelessFlag] = []
    for rule in active.rules:
        for match in _compiled(rule.pattern).finditer(text):
            span = _flag_span(text, tokens, match, rule, active)
            if span is None:
                continue
            start, end = span
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
