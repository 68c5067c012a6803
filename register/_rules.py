"""Redaction rules: a regular expression, its replacement and an optional check (Luhn, randomness).

Shared by :mod:`register.redact` (report redaction) and :mod:`register.pii` (the detectors, which also run
the policy's own rules), so neither imports the other's internals.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = ["CHECKS", "RedactionRule", "looks_random", "luhn_valid"]


def luhn_valid(digits: str) -> bool:
    """Return whether a string of digits (separators ignored) passes the Luhn checksum.

    Parameters
    ----------
    digits : str
        Digits, possibly with spaces or dashes between them.

    Returns
    -------
    bool
        ``True`` when the checksum holds and there are at least 13 digits.

    Examples
    --------
    >>> luhn_valid("4111 1111 1111 1111")
    True
    >>> luhn_valid("4111-1111-1111-1112")
    False
    """
    numbers = [int(char) for char in digits if char.isdigit()]
    if len(numbers) < 13:
        return False
    total = 0
    for position, number in enumerate(reversed(numbers)):
        if position % 2 == 1:
            number *= 2
            if number > 9:
                number -= 9
        total += number
    return total % 10 == 0


def looks_random(token: str) -> bool:
    """Return whether a token switches between lower case, upper case and digits like a random key.

    Random base64 keys switch class at about 0.6 of their characters (0.28 at the lowest in 20,000
    draws of 32 characters); paths, snake_case and ordinary identifiers stay below 0.2.

    Examples
    --------
    >>> looks_random("praO7TAEdxq1Bzi6wesmxJmMUu1Uc0c1")
    True
    >>> looks_random("reports/INC-2026-0042/run/impact/impact")
    False
    """
    classes = [
        "l" if char.islower() else "u" if char.isupper() else "d"
        for char in token
        if char.isalnum() and char.isascii()
    ]
    if len(classes) < 2:
        return False
    switches = sum(first != second for first, second in zip(classes, classes[1:], strict=False))
    return switches / (len(classes) - 1) >= 0.3


CHECKS = {"luhn": luhn_valid, "random": looks_random}
"""The checks a rule may name (``RedactionRule.check``)."""


class RedactionRule(BaseModel):
    """One redaction rule: a regular expression and what replaces each match.

    Parameters
    ----------
    name : str
        Stable identifier used as the key of :attr:`RedactionResult.counts`.
    pattern : str
        Regular expression (Python ``re`` syntax); it must compile.
    replacement : str
        Text that replaces each match (``re`` group references are not expanded).
    check : {"luhn", "random"} or None
        A validator a match must also pass to be replaced: ``"luhn"`` for card numbers, ``"random"``
        for generic tokens (see :func:`looks_random`).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    pattern: str = Field(min_length=1)
    replacement: str
    check: Literal["luhn", "random"] | None = None

    @field_validator("pattern")
    @classmethod
    def _pattern_compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"pattern must be a valid regular expression. Got {value!r} ({exc}).") from exc
        return value
