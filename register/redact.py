"""Redaction of free text before it reaches a report: personal data, secrets and known names.

:func:`redact` replaces what :func:`register.pii.find_pii` finds (the product's one detector: Presidio's
pattern recognizers for e-mails, phones, cards, IBANs, US SSNs, UK NI numbers and IP addresses,
detect-secrets' key and token plugins, the people the register knows) together with the policy's own
rules. A :class:`RedactionRule` is a regular expression with a replacement; a rule may name a
``check`` that a match must also pass (``"luhn"`` for card numbers), so that order numbers and
timestamps that merely look like card numbers are kept. Overlapping findings are replaced once, so a
token caught whole (an API key) is not half-caught (as a phone number).

The policy file may declare its own rules (same three fields); :data:`DEFAULT_REDACTION_RULES` is what
applies when it does not. Person names are only caught when given (``known_names``): no NER model is
loaded, so the names of people the register does not know pass.

Examples
--------
>>> result = redact("Mail jane.doe@example.com or call +44 20 7946 0958, key sk-abcdefghijklmnop1234")
>>> result.text
'Mail [redacted email] or call [redacted phone], key [redacted API key]'
>>> result.counts["email"], result.counts["phone"], result.counts["api_key_openai"]
(1, 1, 1)
>>> redact(None).text is None
True
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import lru_cache

from pydantic import BaseModel, ConfigDict, Field

from register._rules import CHECKS, RedactionRule, looks_random, luhn_valid

__all__ = [
    "DEFAULT_REDACTION_RULES",
    "RedactionResult",
    "RedactionRule",
    "extra_rules",
    "looks_random",
    "luhn_valid",
    "redact",
]


_CHECKS = CHECKS


class RedactionResult(BaseModel):
    """Redacted text and the number of replacements made per rule name."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    text: str | None
    counts: dict[str, int] = Field(default_factory=dict)

    @property
    def n_redacted(self) -> int:
        """Total number of replacements made."""
        return sum(self.counts.values())


_TOKEN_CHARS = r"A-Za-z0-9+/_\-"

DEFAULT_REDACTION_RULES: tuple[RedactionRule, ...] = (
    RedactionRule(
        name="api_key_openai",
        pattern=r"\bsk-(?:[A-Za-z0-9]+-)*[A-Za-z0-9_]{16,}",
        replacement="[redacted API key]",
    ),
    RedactionRule(
        name="api_key_aws",
        pattern=r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b",
        replacement="[redacted API key]",
    ),
    RedactionRule(
        name="api_key_github",
        pattern=r"\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,})\b",
        replacement="[redacted API key]",
    ),
    RedactionRule(
        name="bearer_token",
        pattern=r"(?i)\bbearer\s+[A-Za-z0-9._~+/\-]{20,}=*",
        replacement="Bearer [redacted token]",
    ),
    RedactionRule(
        name="hex_token",
        pattern=r"\b[0-9a-fA-F]{32,}\b",
        replacement="[redacted token]",
    ),
    RedactionRule(
        name="base64_token",
        # 32+ token characters holding at least one digit, one lower- and one upper-case letter, that
        # switch character class like a random key: paths, words and snake_case identifiers are kept.
        pattern=(
            rf"(?<![{_TOKEN_CHARS}])(?=[{_TOKEN_CHARS}]*\d)(?=[{_TOKEN_CHARS}]*[a-z])(?=[{_TOKEN_CHARS}]*[A-Z])"
            rf"[{_TOKEN_CHARS}]{{32,}}={{0,2}}(?![{_TOKEN_CHARS}])"
        ),
        replacement="[redacted token]",
        check="random",
    ),
    RedactionRule(
        name="email",
        pattern=r"\b[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}\b",
        replacement="[redacted email]",
    ),
    RedactionRule(
        name="card_number",
        pattern=r"(?<![\d\-])\d(?:[ \-]?\d){12,18}(?![\d\-])",
        replacement="[redacted card number]",
        check="luhn",
    ),
    RedactionRule(
        name="phone",
        pattern=(
            # international: +CC then 6-14 more digits in groups separated by space, dot, dash or (..)
            r"(?<![\w+])\+\d{1,3}(?:[ .\-]?\(?\d{1,4}\)?){2,6}(?![\w])"
            # North American: (555) 123-4567, 555-123-4567, 555.123.4567
            r"|(?<![\w\-])\(?\d{3}\)?[ .\-]\d{3}[ .\-]\d{4}(?![\w\-])"
            # national numbers with a trunk zero: 020 7946 0958, 030 12345678, 06-12345678
            r"|(?<![\w\-.])0\d{1,4}[ /\-]\d{3,4}[ \-]?\d{3,4}(?![\w\-])"
        ),
        replacement="[redacted phone]",
    ),
)
"""The rules that apply when a policy declares none, in the order they run."""


@lru_cache(maxsize=256)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def redact(
    text: str | None,
    rules: Sequence[RedactionRule] = DEFAULT_REDACTION_RULES,
    *,
    known_names: Iterable[str] = (),
    detectors: bool = True,
) -> RedactionResult:
    """Replace personal data and secrets in free text.

    Parameters
    ----------
    text : str or None
        Free text from the register (a summary, a timeline description, lessons learned...).
        ``None`` is returned as ``None`` with no counts.
    rules : sequence of RedactionRule
        The policy's own rules; defaults to :data:`DEFAULT_REDACTION_RULES`. They run besides the
        detectors of :func:`register.pii.find_pii`.
    known_names : iterable of str
        People the register knows (responders, owners, reporters): each is replaced by
        ``[redacted name]`` wherever it appears as a whole word, in any case.
    detectors : bool
        ``True`` (the default) finds values with :func:`register.pii.find_pii` (Presidio's pattern
        recognizers, detect-secrets' plugins, the rules, the known names) and replaces each finding,
        overlapping ones merged. ``False`` applies the rules alone, in order, each on the text the
        previous rules left (the register's behaviour before the detectors; ``known_names`` ignored).

    Returns
    -------
    RedactionResult
        The redacted text and, per rule name or detector entity (:data:`register.pii.REPLACEMENTS`),
        how many values were replaced (0 for those that replaced nothing).

    Examples
    --------
    >>> redact("card 4111 1111 1111 1111, order 1234 5678 9012 3456").text
    'card [redacted card number], order 1234 5678 9012 3456'
    >>> redact("AKIAIOSFODNN7EXAMPLE leaked").counts["api_key_aws"]
    1
    >>> text = "IBAN DE89 3704 0044 0532 0130 00, host 192.0.2.14, by Ana Ruiz"
    >>> redact(text, known_names=["Ana Ruiz"]).text
    'IBAN [redacted IBAN], host [redacted IP address], by [redacted name]'
    """
    if text is not None and not isinstance(text, str):
        raise TypeError(f"text must be a str or None. Got {type(text).__name__} instead.")
    if not detectors:
        return _redact_with_rules(text, rules)
    from register.pii import REPLACEMENTS, find_pii

    counts = dict.fromkeys([*REPLACEMENTS, *(rule.name for rule in rules)], 0)
    if text is None:
        return RedactionResult(text=None, counts=counts)
    replacements = {f"rule:{rule.name}": rule.replacement for rule in reversed(rules)}
    pieces: list[str] = []
    position = 0
    for finding in find_pii(text, rules, known_names):
        pieces.append(text[position : finding.start])
        pieces.append(replacements.get(finding.recognizer) or REPLACEMENTS[finding.entity])
        position = finding.end
        counts[finding.entity] += 1
    pieces.append(text[position:])
    return RedactionResult(text="".join(pieces), counts=counts)


def _redact_with_rules(text: str | None, rules: Sequence[RedactionRule]) -> RedactionResult:
    """The rules alone, in order, each on the text the previous rules left."""
    if text is None:
        return RedactionResult(text=None, counts={rule.name: 0 for rule in rules})
    counts: dict[str, int] = {}
    for rule in rules:
        check = _CHECKS[rule.check] if rule.check else None
        n_replaced = 0

        def _replace(match: re.Match[str], rule: RedactionRule = rule, check=check) -> str:
            nonlocal n_replaced
            if check is not None and not check(match.group(0)):
                return match.group(0)
            n_replaced += 1
            return rule.replacement

        text = _compiled(rule.pattern).sub(_replace, text)
        counts[rule.name] = counts.get(rule.name, 0) + n_replaced
    return RedactionResult(text=text, counts=counts)


def extra_rules(rules: Sequence[RedactionRule]) -> tuple[RedactionRule, ...]:
    r"""The policy's own rules beyond :data:`DEFAULT_REDACTION_RULES` (a default rule repeated is dropped).

    The detectors (:func:`register.pii.find_pii`) do what the default rules did, better (a phone regex
    also matches the last digits of a 16-digit tracking reference); a log scan adds only the rules the
    policy wrote itself. Report redaction keeps every rule: there, redacting too much is harmless.

    Examples
    --------
    >>> custom = RedactionRule(name="employee_id", pattern=r"\bEMP-\d{6}\b", replacement="[redacted id]")
    >>> [rule.name for rule in extra_rules([*DEFAULT_REDACTION_RULES, custom])]
    ['employee_id']
    """
    defaults = {(rule.name, rule.pattern) for rule in DEFAULT_REDACTION_RULES}
    return tuple(rule for rule in rules if (rule.name, rule.pattern) not in defaults)
