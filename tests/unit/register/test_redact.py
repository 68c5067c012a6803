from __future__ import annotations

import pytest
from pydantic import ValidationError

from register.redact import DEFAULT_REDACTION_RULES, RedactionRule, luhn_valid, redact


@pytest.mark.parametrize(
    ("text", "rule", "secret"),
    [
        ("write to jane.doe+ops@example.co.uk today", "email", "jane.doe+ops@example.co.uk"),
        ("call +44 20 7946 0958 now", "phone", "+44 20 7946 0958"),
        ("call (555) 123-4567 now", "phone", "(555) 123-4567"),
        ("call 555.123.4567 now", "phone", "555.123.4567"),
        ("call 020 7946 0958 now", "phone", "020 7946 0958"),
        ("card 4111 1111 1111 1111 seen", "card_number", "4111 1111 1111 1111"),
        ("card 5500-0000-0000-0004 seen", "card_number", "5500-0000-0000-0004"),
        ("card 378282246310005 seen", "card_number", "378282246310005"),
        (
            "key sk-proj-abcdefghijklmnopqrstuv123 leaked",
            "api_key_openai",
            "sk-proj-abcdefghijklmnopqrstuv123",
        ),
        ("key AKIAIOSFODNN7EXAMPLE leaked", "api_key_aws", "AKIAIOSFODNN7EXAMPLE"),
        (
            "token ghp_abcdefghijklmnopqrstuvwxyz0123456789 leaked",
            "api_key_github",
            "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
        ),
        (
            "secret 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b leaked",
            "hex_token",
            "9f86d081884c7d659a2feaa0c55ad015",
        ),
        (
            "jwt eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9xyz leaked",
            "base64_token",
            "eyJhbGciOiJIUzI1NiIsInR5cCI6",
        ),
        (
            "Authorization: Bearer abcdefghijklmnopqrstuvwxyz.0123",
            "bearer_token",
            "abcdefghijklmnopqrstuvwxyz",
        ),
    ],
)
def test_secret_is_replaced_and_counted(text: str, rule: str, secret: str) -> None:
    result = redact(text)
    assert secret not in result.text
    assert result.counts[rule] == 1
    assert result.n_redacted == 1


@pytest.mark.parametrize(
    "text",
    [
        "Deployed at 2026-11-23T14:05:01Z; 1,234 decisions affected between 2026-11-01 and 2026-11-05.",
        "Model v1.2.3 threshold 0.85; PSI 0.31 on income_bucket_normalised_value_version_two.",
        "Order 1234 5678 9012 3456 failed (not a valid card number).",
        "INC-2026-0001 affected 12345 customers in group 18-25.",
        "Evidence kept at reports/INC-2026-0042/20261120T000000000Z-abcdef/impact/impact.ipynb.",
        "Column feature_income_bucket_normalised_value_V2 and /home/user/projects/WorkbenchData2024/models.",
        "The pipeline failed to refresh the feature store for 36 hours.",
    ],
)
def test_ordinary_incident_text_is_kept(text: str) -> None:
    result = redact(text)
    assert result.text == text
    assert result.n_redacted == 0


def test_none_passes_through() -> None:
    result = redact(None)
    assert result.text is None
    assert result.n_redacted == 0


def test_several_matches_are_counted() -> None:
    result = redact("a@example.com, b@example.org and c@example.net")
    assert result.counts["email"] == 3
    assert result.text == "[redacted email], [redacted email] and [redacted email]"


def test_custom_rules_replace_the_default_rules_but_not_the_detectors() -> None:
    rules = [RedactionRule(name="employee", pattern=r"\bEMP-\d{5}\b", replacement="[employee]")]
    # the detectors (register.pii) run whatever the rules: the e-mail is caught without an email rule
    result = redact("EMP-12345 emailed a@example.com", rules=rules)
    assert result.text == "[employee] emailed [redacted email]"
    assert result.counts["employee"] == 1 and result.counts["email"] == 1 and result.n_redacted == 2
    assert "hex_token" not in result.counts  # the default rules were replaced
    # without the detectors, the rules alone apply, in order (the register's former behaviour)
    alone = redact("EMP-12345 emailed a@example.com", rules=rules, detectors=False)
    assert alone.text == "[employee] emailed a@example.com"
    assert alone.counts == {"employee": 1}


def test_invalid_pattern_is_refused() -> None:
    with pytest.raises(ValidationError, match="valid regular expression"):
        RedactionRule(name="broken", pattern="(unclosed", replacement="x")


def test_non_string_is_refused() -> None:
    with pytest.raises(TypeError, match="must be a str or None"):
        redact(12345)  # type: ignore[arg-type]


def test_luhn_against_known_numbers() -> None:
    assert luhn_valid("79927398713") is False  # 11 digits: too short for a card
    assert luhn_valid("4012888888881881")
    assert not luhn_valid("4012888888881882")


def test_default_rule_names_are_unique() -> None:
    names = [rule.name for rule in DEFAULT_REDACTION_RULES]
    assert len(names) == len(set(names))


def test_random_tokens_are_redacted_for_many_seeds() -> None:
    import base64
    import random

    rng = random.Random(20261123)
    tokens = [base64.b64encode(rng.randbytes(30)).decode() for _ in range(200)]
    tokens += [base64.urlsafe_b64encode(rng.randbytes(30)).decode().rstrip("=") for _ in range(200)]
    missed = [token for token in tokens if token in redact(f"token {token} leaked").text]
    # a random key that happens to look like a word is possible but rare: at most 1 in 100 slips
    assert len(missed) <= 4, missed
