"""One detector of personal data and secrets for the whole product: report redaction and log scans.

:func:`find_pii` runs, on one text,

- Presidio's predefined **pattern** recognizers, called directly with no NLP engine (no spaCy model is
  loaded or downloaded): credit card (Luhn checksum), IBAN (its checksum), e-mail, phone number
  (python-phonenumbers, :data:`PHONE_REGIONS`, at least :data:`MIN_PHONE_DIGITS` digits), US SSN
  (formatted ones: Presidio's "very weak" patterns score below :data:`MIN_SCORE`), UK national
  insurance number, IPv4/IPv6 address. Presidio's URL recognizer is not used: links and artefact URIs
  belong in reports. The e-mail recognizer's ``tldextract`` runs with its bundled public suffix list
  and no cache or download.
- detect-secrets' regex plugins for keys and tokens (:data:`SECRET_PLUGINS`), line by line as
  detect-secrets scans, with offsets kept. Its high-entropy plugins only look at quoted strings and flag
  hashes and ids as readily as keys, so they are not used: the register's own ``hex_token`` and
  ``base64_token`` rules (:mod:`register.redact`) handle random-looking tokens instead. Its keyword
  plugin flags prose ("password reset") and is not used either. Nothing is ever verified online.
- the policy's own regular-expression rules (:class:`~register.redact.RedactionRule`), and
- **known names**: people the register knows (responders, owners, reporters), matched as whole words,
  case-insensitively, with any white space between the parts of a name.

Overlapping findings become one: the longest (then the highest score, then the first detector: the
policy's rules, known names, Presidio, detect-secrets) names it and it covers the union of the
overlapping spans, so no part of a value is left visible.

:func:`prefilter_pattern` is one regular expression in RE2 syntax (DuckDB's ``regexp_matches``; or in
Java's, for Spark's ``RLIKE``: :func:`java_regex` translates it, the same texts matched) that matches every
text in which :func:`find_pii` can find anything: each detector's own expression with its zero-width
assertions removed, its character classes widened and its large counts made open-ended
(:func:`re2_superset`). An engine keeps the rows it matches
and runs :func:`find_pii` on those, with the same result as on every row; :func:`find_pii` itself runs
a detector only where its part of the prefilter matches. Measured on DuckDB, one thread: 0.2 s for
100,000 rows of 530 characters.

Layering (DESIGN.md section 2): the register owns redaction, so this module is in ``register``;
``analysis`` may import ``register.pii`` (besides ``register.schema``) for its interaction-log scans.
Presidio and detect-secrets are imported when a text is first scanned, never by ``import register``
(importing ``presidio_analyzer`` imports spaCy: about 1.4 s, once per process).

Examples
--------
>>> [(f.entity, f.start, f.end) for f in find_pii("IBAN GB82 WEST 1234 5698 7654 32, ip 10.1.2.3")]
[('iban', 5, 32), ('ip_address', 37, 45)]
>>> [f.entity for f in find_pii("Ask Sam Rivera", known_names=["sam rivera"])]
['person']
>>> find_pii("order 1234 5678 9012 3456 shipped")
[]
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from register._rules import CHECKS as _CHECKS
from register._rules import RedactionRule

__all__ = [
    "DIALECTS",
    "MIN_PHONE_DIGITS",
    "MIN_SCORE",
    "PHONE_REGIONS",
    "PRESIDIO_ENTITIES",
    "REPLACEMENTS",
    "SECRET_PLUGINS",
    "Finding",
    "detector_terms",
    "find_pii",
    "java_regex",
    "prefilter_matches",
    "prefilter_pattern",
    "re2_superset",
]

PRESIDIO_ENTITIES: dict[str, str] = {
    "CREDIT_CARD": "card_number",
    "IBAN_CODE": "iban",
    "EMAIL_ADDRESS": "email",
    "PHONE_NUMBER": "phone",
    "US_SSN": "us_ssn",
    "UK_NINO": "uk_nino",
    "IP_ADDRESS": "ip_address",
}
"""Presidio entity -> the finding's entity (the same names as the register's default rules)."""

SECRET_PLUGINS: dict[str, str] = {
    "AWSKeyDetector": "api_key_aws",
    "AzureStorageKeyDetector": "api_key_azure_storage",
    "BasicAuthDetector": "password_in_url",
    "DiscordBotTokenDetector": "api_key_discord",
    "GitHubTokenDetector": "api_key_github",
    "GitLabTokenDetector": "api_key_gitlab",
    "JwtTokenDetector": "jwt",
    "MailchimpDetector": "api_key_mailchimp",
    "NpmDetector": "api_key_npm",
    "OpenAIDetector": "api_key_openai",
    "PrivateKeyDetector": "private_key",
    "PypiTokenDetector": "api_key_pypi",
    "SendGridDetector": "api_key_sendgrid",
    "SlackDetector": "api_key_slack",
    "SquareOAuthDetector": "api_key_square",
    "StripeDetector": "api_key_stripe",
    "TelegramBotTokenDetector": "api_key_telegram",
    "TwilioKeyDetector": "api_key_twilio",
}
"""detect-secrets plugin class -> the finding's entity."""

PERSON = "person"

REPLACEMENTS: dict[str, str] = {
    "card_number": "[redacted card number]",
    "iban": "[redacted IBAN]",
    "email": "[redacted email]",
    "phone": "[redacted phone]",
    "us_ssn": "[redacted SSN]",
    "uk_nino": "[redacted NI number]",
    "ip_address": "[redacted IP address]",
    "password_in_url": "[redacted password]",
    "jwt": "[redacted token]",
    "private_key": "[redacted private key]",
    PERSON: "[redacted name]",
    **{kind: "[redacted API key]" for kind in SECRET_PLUGINS.values() if kind.startswith("api_key_")},
}
"""What replaces a detector's finding in redacted text (a rule brings its own replacement)."""

MIN_SCORE = 0.3
"""Presidio findings below this score are dropped: its "very weak" SSN patterns (any 9 digits, 0.05)
and the unspecified IPv6 address ``::`` (0.1)."""

MIN_PHONE_DIGITS = 7
"""A phone finding needs this many digits with at most 4 characters between two of them (python-
phonenumbers accepts 4-digit German numbers, which are mostly years and ids in free text)."""

PHONE_REGIONS = ("US", "GB", "DE", "FR")
"""Regions whose national formats python-phonenumbers reads (international ``+CC`` numbers are found
whatever the region). Presidio's default adds IL, IN, CA and BR; each region costs about 85 µs per
text with digits, CA numbers share the US plan (NANP) and are found through US, and the register's
regimes are EU, UK and US ones: the national formats of Israel, India and Brazil are not read."""

# Every IPv4 address has a digit, a dot and a digit; every IPv6 one two colons in a row or a hex digit
# followed by a colon and a hex digit or colon. The derived term (Presidio's IPv6 expression without its
# look-arounds) cost 40-50 µs per text, this one 2 µs; the prefilter tests check it on planted addresses.
_IP_TERM = r"(?is:\p{Nd}\x{2E}\p{Nd}|::|[0-9a-f]:[0-9a-f:])"

_PHONE_SHAPE = rf"\d(?:\D{{0,4}}\d){{{MIN_PHONE_DIGITS - 1}}}"


@dataclass(frozen=True, slots=True)
class Finding:
    """One value found in a text: what it is, where it is, how sure, and which detector found it.

    Attributes
    ----------
    entity : str
        ``"email"``, ``"iban"``, ``"api_key_aws"``, ... (:data:`PRESIDIO_ENTITIES`,
        :data:`SECRET_PLUGINS`), ``"person"`` for a known name, or the name of the policy rule.
    start, end : int
        The span ``text[start:end]`` (Python string offsets).
    score : float
        Presidio's score (1.0 after a passed checksum); 1.0 for secrets, rules and known names.
    recognizer : str
        ``"presidio:<Recognizer>"``, ``"detect-secrets:<Plugin>"``, ``"rule:<name>"`` or ``"known_names"``.
    """

    entity: str
    start: int
    end: int
    score: float
    recognizer: str


# --------------------------------------------------------------------------------------------------
# Detectors (built once, lazily: importing the register never imports Presidio or detect-secrets)
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Detector:
    name: str
    term: str  # a Python (``regex`` module) pattern whose RE2-superset gates the detector
    run: Any  # callable(text) -> list[Finding]


@lru_cache(maxsize=1)
def _presidio_recognizers() -> tuple[tuple[Any, ...], Any, Any]:
    """Presidio's pattern recognizers, its phone recognizer and its lenient (*possible*) twin, built once."""
    import tldextract
    from presidio_analyzer.predefined_recognizers import (
        CreditCardRecognizer,
        EmailRecognizer,
        IbanRecognizer,
        IpRecognizer,
        PhoneRecognizer,
        UkNinoRecognizer,
        UsSsnRecognizer,
    )

    # the bundled public suffix list, no cache on disk, never a download (TRAPS.md)
    offline = tldextract.TLDExtract(cache_dir=None, suffix_list_urls=(), fallback_to_snapshot=True)

    class OfflineEmailRecognizer(EmailRecognizer):
        def validate_result(self, pattern_text: str) -> bool:
            return offline(pattern_text).fqdn != ""

    class DigitSafeCreditCardRecognizer(CreditCardRecognizer):
        def validate_result(self, pattern_text: str) -> bool:
            # Presidio's expression (the `regex` module, Unicode 15) reads digits that this Python's
            # int() does not (Kawi, Nag Mundari under Python 3.11): no Luhn checksum, so no card number
            try:
                return super().validate_result(pattern_text)
            except ValueError:
                return False

    recognizers: tuple[Any, ...] = (
        DigitSafeCreditCardRecognizer(name="CreditCardRecognizer"),
        IbanRecognizer(),
        OfflineEmailRecognizer(name="EmailRecognizer"),
        UsSsnRecognizer(),
        UkNinoRecognizer(),
        IpRecognizer(),
    )
    phone: Any = PhoneRecognizer(supported_regions=PHONE_REGIONS)
    possible: Any = PhoneRecognizer(
        supported_regions=PHONE_REGIONS, leniency=0, name="PossiblePhoneRecognizer"
    )
    return recognizers, phone, possible


@lru_cache(maxsize=1)
def _presidio_detectors() -> tuple[_Detector, ...]:
    recognizers, phone, possible = _presidio_recognizers()
    detectors = []
    for recognizer in recognizers:
        flags = recognizer.global_regex_flags or 0
        terms = [re2_superset(pattern.regex, flags) for pattern in recognizer.patterns]
        term = _IP_TERM if recognizer.name == "IpRecognizer" else "|".join(terms)
        detectors.append(_Detector(recognizer.name, term, _presidio_runner(recognizer)))
    detectors.append(_Detector(phone.name, re2_superset(_PHONE_SHAPE), _phone_runner(phone, possible)))
    return tuple(detectors)


def _presidio_runner(recognizer: Any, shape: str | None = None) -> Any:
    entity = recognizer.supported_entities[0]
    kind = PRESIDIO_ENTITIES[entity]
    shape_re = re.compile(shape) if shape else None

    def run(text: str) -> list[Finding]:
        return [
            Finding(kind, result.start, result.end, float(result.score), f"presidio:{recognizer.name}")
            for result in recognizer.analyze(text, [entity], None)
            if shape_re is None or shape_re.search(text, result.start, result.end)
        ]

    return run


_IDENTIFIER_JOINERS = "-_/#"
_MAX_PHONE_DIGITS = 15  # E.164
_PLUS_DIGIT = re.compile(r"[+\uff0b]\W{0,3}\d")
_GROUPS_BEFORE = re.compile(r"(?:\d+[ .\-])+$")  # digit groups right before a match, each then one separator
_GROUPS_AFTER = re.compile(r"(?:[ .\-]\d+)+")  # one separator then digits, repeated, right after a match


def _phone_runner(valid: Any, possible: Any) -> Any:
    """Presidio's phone recognizer, with the register's limits on what counts as a phone number.

    A finding needs :data:`MIN_PHONE_DIGITS` digits close together and at most 15 in the whole number
    it is part of -- the digit groups joined to it by one space, dot or hyphen count (E.164: a 16-digit
    card-like tracking reference is no phone number, nor are its last 12 digits) -- and must not be part
    of an identifier (``ORD-49306609``, ``ab12345678``: a letter or digit, or a letter or digit then
    ``-_/#``, right before it,
    or a letter or digit right after it). International numbers (``+CC ...``) count when python-
    phonenumbers finds them *possible* (Ofcom's drama range ``+44 7700 900xxx`` is not *valid*);
    national formats must be valid in one of :data:`PHONE_REGIONS`.
    """

    def run(text: str) -> list[Finding]:
        return [
            Finding("phone", start, end, score, f"presidio:{valid.name}")
            for (start, end), score in sorted(_phone_results(text, valid, possible).items())
            if _phone_keep(text, start, end)
        ]

    return run


_PHONE_SHAPE_RE = re.compile(_PHONE_SHAPE)


def _phone_keep(text: str, start: int, end: int) -> bool:
    """Whether a phone match ``text[start:end]`` is a finding (the limits of :func:`_phone_runner`)."""
    # the digits of the whole number the match is part of: adjacent digit groups joined by one space,
    # dot or hyphen count (phonenumbers may match the last 12 digits of a 16-digit reference)
    head = _GROUPS_BEFORE.search(text, 0, start)
    tail = _GROUPS_AFTER.match(text, end)
    whole = (head.group(0) if head else "") + text[start:end] + (tail.group(0) if tail else "")
    digits = sum(char.isdigit() for char in whole)
    if digits > _MAX_PHONE_DIGITS or not _PHONE_SHAPE_RE.search(text, start, end):
        return False
    before = text[start - 1] if start else ""
    if before.isalnum() or (end < len(text) and text[end].isalnum()):
        return False
    return not (before in _IDENTIFIER_JOINERS and start > 1 and text[start - 2].isalnum())


_DIGIT_RUN = re.compile(r"\d+")  # python-phonenumbers' digits: Unicode Nd, as here
_PHONE_CONTEXT = 12
_LABEL_SPAN = 10
_SOFT_LETTERS = frozenset("xX\uff58\uff38\u30fc")  # letters python-phonenumbers' punctuation holds
_MAX_WINDOWED_DIGITS = 200


def _phone_windows(text: str) -> list[tuple[int, int]]:
    """Parts of ``text`` on which python-phonenumbers finds what it finds on the whole text.

    Its matcher's candidates (``phonenumbermatcher._PATTERN``) start at most 10 characters before their
    first digit (two leading ``+``/``(`` with 4 punctuation characters each), end with a digit or ``#``,
    and hold no letter other than ``x``/``ー`` outside one extension label ("extensión", "anexo",
    "доб"...: all letters within 10 characters). It reads one character before a candidate and three
    after it. So a candidate never crosses a digit-free gap that holds two such letters 10 or more
    characters apart, and the text splits there, keeping 12 characters of the gap on each side: each
    part gives the same candidates, checks and matches as the whole text. Benign prose around a few
    numbers is then not scanned by each region's matcher (about 80 µs per 500 characters). A text
    with more than 200 digits is not split (the matcher's limit of 65,535 tries is counted per text).
    """
    runs = [match.span() for match in _DIGIT_RUN.finditer(text)]
    if not runs:
        return []
    if sum(end - start for start, end in runs) > _MAX_WINDOWED_DIGITS:
        return [(0, len(text))]
    windows: list[tuple[int, int]] = []
    start = max(0, runs[0][0] - _PHONE_CONTEXT)
    for (_, gap_start), (gap_end, _) in zip(runs, runs[1:], strict=False):
        if gap_end - gap_start >= 2 * _PHONE_CONTEXT and _letters_apart(text, gap_start, gap_end):
            windows.append((start, gap_start + _PHONE_CONTEXT))
            start = gap_end - _PHONE_CONTEXT
    windows.append((start, min(len(text), runs[-1][1] + _PHONE_CONTEXT)))
    return windows


def _letters_apart(text: str, start: int, end: int) -> bool:
    """Whether ``text[start:end]`` holds two letters (not ``x``/``ー``) at least 10 characters apart."""
    first = next((i for i in range(start, end) if text[i].isalpha() and text[i] not in _SOFT_LETTERS), None)
    if first is None:
        return False
    last = range(end - 1, first + _LABEL_SPAN - 1, -1)
    return any(text[i].isalpha() and text[i] not in _SOFT_LETTERS for i in last)


def _phone_results(
    text: str, valid: Any, possible: Any, *, windowed: bool = True
) -> dict[tuple[int, int], float]:
    """Presidio's phone matches, ``(start, end) -> score``, on :func:`_phone_windows` or the whole text."""
    entity = valid.supported_entities[0]
    # the second pass only where an international number can be (it costs as much as the first)
    plus = _PLUS_DIGIT.search(text) is not None
    results: dict[tuple[int, int], float] = {}
    for start, end in _phone_windows(text) if windowed else [(0, len(text))]:
        window = text[start:end]
        for result in valid.analyze(window, [entity], None):
            results[(start + result.start, start + result.end)] = float(result.score)
        for result in possible.analyze(window, [entity], None) if plus else ():
            if window[result.start] in "+\uff0b":
                results.setdefault((start + result.start, start + result.end), float(result.score))
    return results


_SECRET_MODULES = {
    "AWSKeyDetector": "aws",
    "AzureStorageKeyDetector": "azure_storage_key",
    "BasicAuthDetector": "basic_auth",
    "DiscordBotTokenDetector": "discord",
    "GitHubTokenDetector": "github_token",
    "GitLabTokenDetector": "gitlab_token",
    "JwtTokenDetector": "jwt",
    "MailchimpDetector": "mailchimp",
    "NpmDetector": "npm",
    "OpenAIDetector": "openai",
    "PrivateKeyDetector": "private_key",
    "PypiTokenDetector": "pypi_token",
    "SendGridDetector": "sendgrid",
    "SlackDetector": "slack",
    "SquareOAuthDetector": "square_oauth",
    "StripeDetector": "stripe",
    "TelegramBotTokenDetector": "telegram_token",
    "TwilioKeyDetector": "twilio",
}


@lru_cache(maxsize=1)
def _secret_detectors() -> tuple[_Detector, ...]:
    import importlib

    detectors = []
    for class_name, kind in SECRET_PLUGINS.items():
        module = importlib.import_module(f"detect_secrets.plugins.{_SECRET_MODULES[class_name]}")
        plugin = getattr(module, class_name)()
        terms = [re2_superset(regex.pattern, regex.flags) for regex in plugin.denylist]
        detectors.append(_Detector(class_name, "|".join(terms), _secret_runner(plugin, kind)))
    return tuple(detectors)


_JWT_TAIL = re.compile(r"[A-Za-z0-9\-_.+/=]*")
_PRIVATE_KEY_END = re.compile(
    r"-----END [A-Z0-9 ]*PRIVATE KEY[A-Z ]*-----|---- END SSH2 ENCRYPTED PRIVATE KEY ----"
)


# plugins whose expression captures the secret inside context words ("aws ... key = '...'", "://user:pw@")
_GROUP_IS_SECRET = frozenset({"AWSKeyDetector", "BasicAuthDetector", "NpmDetector"})


def _secret_runner(plugin: Any, kind: str) -> Any:
    name = type(plugin).__name__

    def run(text: str) -> list[Finding]:
        found: list[Finding] = []
        for offset, line in _lines(text):
            values = set(plugin.analyze_string(line))  # the plugin's own checks (a JWT must decode)
            if not values:
                continue
            for regex in plugin.denylist:
                for match in regex.finditer(line):
                    groups = [g for g in range(1, regex.groups + 1) if match.group(g)]
                    if not {match.group(g) for g in groups or [0]} & values:
                        continue
                    # the whole match, except where a group is the secret and the rest is context
                    spans = (
                        [match.span(g) for g in groups]
                        if groups and name in _GROUP_IS_SECRET
                        else [match.span()]
                    )
                    for start, end in spans:
                        start, end = start + offset, end + offset
                        if kind == "private_key":  # the header names the key: redact to its END line
                            tail = _PRIVATE_KEY_END.search(text, end)
                            end = tail.end() if tail else len(text)
                        elif kind == "jwt":  # the plugin's lazy expression stops before the signature
                            end = _JWT_TAIL.match(text, end).end()  # type: ignore[union-attr]
                        found.append(Finding(kind, start, end, 1.0, f"detect-secrets:{name}"))
        return found

    return run


def _lines(text: str) -> Iterator[tuple[int, str]]:
    offset = 0
    for line in text.splitlines(keepends=True):
        yield offset, line
        offset += len(line)


@lru_cache(maxsize=64)
def _rule_detectors(rules: tuple[RedactionRule, ...]) -> tuple[_Detector, ...]:
    detectors = []
    for rule in rules:
        compiled = re.compile(rule.pattern)
        check = _CHECKS[rule.check] if rule.check else None

        def run(
            text: str, rule: RedactionRule = rule, compiled: re.Pattern[str] = compiled, check: Any = check
        ):
            return [
                Finding(rule.name, match.start(), match.end(), 1.0, f"rule:{rule.name}")
                for match in compiled.finditer(text)
                if match.end() > match.start() and (check is None or check(match.group(0)))
            ]

        detectors.append(_Detector(f"rule:{rule.name}", re2_superset(rule.pattern), run))
    return tuple(detectors)


def _names_pattern(names: tuple[str, ...]) -> str | None:
    parts = sorted({" ".join(name.split()) for name in names if name and name.strip()}, key=len, reverse=True)
    if not parts:
        return None
    alternatives = "|".join(r"\s+".join(re.escape(word) for word in name.split(" ")) for name in parts)
    return rf"(?<!\w)(?:{alternatives})(?!\w)"


@lru_cache(maxsize=64)
def _name_detector(names: tuple[str, ...]) -> tuple[_Detector, ...]:
    pattern = _names_pattern(names)
    if pattern is None:
        return ()
    compiled = re.compile(pattern, re.IGNORECASE)

    def run(text: str) -> list[Finding]:
        return [Finding(PERSON, m.start(), m.end(), 1.0, "known_names") for m in compiled.finditer(text)]

    return (_Detector("known_names", re2_superset(pattern, re.IGNORECASE), run),)


def _detectors(rules: tuple[RedactionRule, ...], names: tuple[str, ...]) -> tuple[_Detector, ...]:
    # the order breaks ties between equally long findings: the policy's own rules (their wording) first
    return _rule_detectors(rules) + _name_detector(names) + _presidio_detectors() + _secret_detectors()


_RE2_HEX = re.compile(r"\\x\{([0-9A-F]+)\}")


@lru_cache(maxsize=256)
def _gate(term: str) -> Any:
    r"""The RE2 term compiled by the ``regex`` module (which spells ``\x{HHHH}`` as ``\UHHHHHHHH``)."""
    import regex

    return regex.compile(_RE2_HEX.sub(lambda match: f"\\U{int(match.group(1), 16):08X}", term))


# --------------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------------


def find_pii(
    text: str,
    rules: Sequence[RedactionRule] = (),
    known_names: Iterable[str] = (),
    *,
    min_score: float = MIN_SCORE,
    gated: bool = True,
    matched: Sequence[bool] | None = None,
) -> list[Finding]:
    """Find personal data and secrets in a text: Presidio, detect-secrets, the policy's rules, known names.

    Parameters
    ----------
    text : str
        Any free text (a report field, a model answer, a retrieved document).
    rules : sequence of RedactionRule
        The policy's own rules, run besides the detectors (their ``check`` applies).
    known_names : iterable of str
        People the register knows; each is found as a whole word, in any case.
    min_score : float
        Presidio findings scored below this are dropped (:data:`MIN_SCORE`).
    gated : bool
        Run a detector only when its part of :func:`prefilter_pattern` matches the text (the same
        findings, faster). ``False`` runs every detector (what the prefilter tests compare against).
    matched : sequence of bool, optional
        Whether each of :func:`detector_terms` matches ``text``, when an engine has computed it
        (``regexp_matches(content, term)`` per term on the candidate rows): the gates are then not
        computed again here. Ignored when ``gated`` is False.

    Returns
    -------
    list of Finding
        Non-overlapping findings in text order.

    Examples
    --------
    >>> [f.entity for f in find_pii("card 4111 1111 1111 1111 and SSN 536-22-8145")]
    ['card_number', 'us_ssn']
    >>> find_pii("SSN 123-45-6789 (Presidio rejects known sample numbers)")
    []
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str. Got {type(text).__name__} instead.")
    if not text:
        return []
    findings: list[Finding] = []
    detectors = _detectors(tuple(rules), tuple(known_names))
    if matched is not None and len(matched) != len(detectors):
        raise ValueError(
            f"matched must have one flag per detector term ({len(detectors)}). Got {len(matched)} instead; "
            "compute it with detector_terms() and the same rules and known names."
        )
    for i, detector in enumerate(detectors):
        if gated and not (_gate(detector.term).search(text) if matched is None else matched[i]):
            continue
        findings.extend(f for f in detector.run(text) if f.score >= min_score)
    return _resolve(findings)


def _resolve(findings: list[Finding]) -> list[Finding]:
    """Merge overlapping findings: the longest, then highest-scored, then first found names the union."""
    order = {id(finding): rank for rank, finding in enumerate(findings)}
    resolved: list[Finding] = []
    cluster: list[Finding] = []
    for finding in sorted(findings, key=lambda f: (f.start, f.end)):
        if cluster and finding.start >= max(f.end for f in cluster):
            resolved.append(_merge(cluster, order))
            cluster = []
        cluster.append(finding)
    if cluster:
        resolved.append(_merge(cluster, order))
    return resolved


def _merge(cluster: list[Finding], order: dict[int, int]) -> Finding:
    best = min(cluster, key=lambda f: (-(f.end - f.start), -f.score, order[id(f)]))
    start, end = min(f.start for f in cluster), max(f.end for f in cluster)
    return Finding(best.entity, start, end, best.score, best.recognizer)


def prefilter_pattern(
    rules: Sequence[RedactionRule] = (), known_names: Iterable[str] = (), *, dialect: str = "re2"
) -> str:
    """One regular expression that matches every text in which :func:`find_pii` can find something.

    Parameters
    ----------
    rules, known_names
        As given to :func:`find_pii`.
    dialect : {"re2", "java"}
        ``"re2"``: DuckDB's ``regexp_matches`` (the ``regex`` module reads it the same way); ``"java"``:
        Spark's ``RLIKE``, the same texts matched (:func:`java_regex`).

    Returns
    -------
    str
        The pattern. Rows it does not match hold nothing :func:`find_pii` would find; rows it matches are
        candidates (most benign text with a 7-digit number, an ``@`` between words or a long token
        matches).

    Examples
    --------
    >>> len(prefilter_pattern()) > 1000
    True
    >>> prefilter_matches("Your order ships tomorrow."), prefilter_matches("mail a@b.example")
    (False, True)
    """
    return "|".join(detector_terms(rules, known_names, dialect=dialect))


def detector_terms(
    rules: Sequence[RedactionRule] = (), known_names: Iterable[str] = (), *, dialect: str = "re2"
) -> tuple[str, ...]:
    """The term of each detector, in the order :func:`find_pii`'s ``matched`` flags follow.

    :func:`prefilter_pattern` is their alternation. An engine that filters rows with the prefilter can
    evaluate each term on the rows it keeps and hand the flags to :func:`find_pii`. ``dialect`` is
    ``"re2"`` (DuckDB) or ``"java"`` (Spark): see :func:`prefilter_pattern`.

    Examples
    --------
    >>> "|".join(detector_terms()) == prefilter_pattern()
    True
    """
    if dialect not in DIALECTS:
        raise ValueError(f"dialect must be one of {DIALECTS}. Got {dialect!r} instead.")
    terms = tuple(detector.term for detector in _detectors(tuple(rules), tuple(known_names)))
    return terms if dialect == "re2" else tuple(java_regex(term) for term in terms)


def prefilter_matches(
    text: str, rules: Sequence[RedactionRule] = (), known_names: Iterable[str] = ()
) -> bool:
    """Return whether :func:`prefilter_pattern` matches ``text`` (in Python, with the ``regex`` module).

    Examples
    --------
    >>> prefilter_matches("call 020 7946 0958"), prefilter_matches("call me tomorrow")
    (True, False)
    """
    return _gate(prefilter_pattern(rules, known_names)).search(text) is not None


# --------------------------------------------------------------------------------------------------
# A Python regular expression -> an RE2 expression matching a superset of the texts it matches
# --------------------------------------------------------------------------------------------------

_WIDE = {
    "d": r"\p{Nd}",
    "w": r"0-9A-Za-z_\x{80}-\x{10FFFF}",
    "s": r"\x{9}-\x{D}\x{1C}-\x{20}\x{80}-\x{10FFFF}",
}
_NARROW = {"d": "0-9", "w": "0-9A-Za-z_", "s": r"\x{9}-\x{D}\x{20}"}
_CONTROL = {"a": 7, "b": 8, "f": 12, "n": 10, "r": 13, "t": 9, "v": 11}
_HEX = re.compile(r"x([0-9a-fA-F]{2})|u([0-9a-fA-F]{4})|U([0-9a-fA-F]{8})|x\{([0-9a-fA-F]{1,6})\}")
_REPEAT = re.compile(r"\{(\d*)(,?)(\d*)\}")
# Counted repetitions above this become open-ended from at most this count: with Presidio's, detect-
# secrets' and the default rules' counts ({36}, {20,50}, {70,}...) in one alternation RE2's DFA ran out
# of memory and fell back to a slower engine (DuckDB: 30 s for 100k rows of 500 characters, against
# 0.4 s with this cap, one thread); 16 still keeps ordinary words out of the token rules' terms.
_MAX_COUNT = 16


class _Unsupported(ValueError):
    pass


def re2_superset(pattern: str, flags: int = 0) -> str:
    r"""Translate a Python regular expression into an RE2 one that matches at least the same texts.

    Zero-width assertions (look-arounds, ``\b``, ``^``, ``$``) are dropped, ``\d``/``\w``/``\s``
    are widened (every decimal digit, every non-ASCII character), counts above 16 become open-ended
    (``x{36}`` -> ``x{16,}``: RE2 keeps a small automaton for the whole prefilter), the match is
    case-insensitive and ``.`` matches new lines; the result is wrapped in ``(?is:...)``. Literal
    punctuation is written ``\x{..}``, so that RE2 and Python read it alike. Used by
    :func:`prefilter_pattern`.

    Parameters
    ----------
    pattern : str
        A pattern for Python's ``re`` (or the ``regex`` module's common syntax).
    flags : int
        The flags it is compiled with (only ``re.VERBOSE`` matters: it is refused when the pattern has
        white space or ``#``).

    Returns
    -------
    str
        The RE2 pattern.

    Raises
    ------
    ValueError
        For constructs with no RE2 superset here (conditionals, ``\g<...>``, verbose patterns...).

    Examples
    --------
    >>> re2_superset(r"(?<!\d)\b[A-Z]{2}\d{2}$")
    '(?is:[A-Z]{2}\\p{Nd}{2})'
    """
    if flags & re.VERBOSE and re.search(r"\s|#", pattern):
        raise ValueError(f"pattern must not be a verbose pattern with spaces or comments. Got {pattern!r}.")
    parser = _Translator(pattern)
    try:
        body = parser.sequence()
        if parser.i < len(pattern):
            raise _Unsupported("unbalanced ')'")
    except _Unsupported as exc:
        raise ValueError(
            f"pattern must use constructs with an RE2 equivalent for the prefilter. Got {pattern!r} ({exc})."
        ) from None
    return f"(?is:{body})"


class _Translator:
    """A recursive-descent reader of Python regular-expression syntax, emitting the RE2 superset."""

    def __init__(self, pattern: str) -> None:
        self.p = pattern
        self.i = 0

    def peek(self, k: int = 0) -> str:
        j = self.i + k
        return self.p[j] if j < len(self.p) else ""

    def sequence(self) -> str:
        out: list[str] = []
        while self.i < len(self.p) and self.p[self.i] != ")":
            if self.p[self.i] == "|":
                out.append("|")
                self.i += 1
                continue
            atom = self.atom()
            quantifier = self.quantifier()
            if atom is not None:
                out.append(atom + quantifier)
        return "".join(out)

    def atom(self) -> str | None:
        char = self.p[self.i]
        if char == "(":
            return self.group()
        if char == "[":
            return self.char_class()
        if char == "\\":
            return self.escape(in_class=None)
        self.i += 1
        if char in "^$":
            return None
        if char == ".":
            return "."
        if char in "*+?":
            raise _Unsupported(f"nothing to repeat at {self.i - 1}")
        return _literal(char)

    def quantifier(self) -> str:
        char = self.peek()
        if char in ("*", "+", "?") and char:
            self.i += 1
            quantifier = char
        elif char == "{" and (match := _REPEAT.match(self.p, self.i)) and (match.group(1) or match.group(3)):
            self.i = match.end()
            low = int(match.group(1) or "0")
            high = low if not match.group(2) else int(match.group(3)) if match.group(3) else None
            if high is None or high > _MAX_COUNT:  # x{m,n} is within x{min(m, 16),}
                quantifier = f"{{{min(low, _MAX_COUNT)},}}"
            elif high == low:
                quantifier = f"{{{low}}}"
            else:
                quantifier = f"{{{low},{high}}}"
        else:
            return ""
        if self.peek() == "?":
            self.i += 1
            quantifier += "?"
        elif self.peek() == "+":  # possessive: the greedy form matches at least as much
            self.i += 1
        return quantifier

    def group(self) -> str | None:
        self.i += 1  # "("
        drop = False
        if self.peek() == "?":
            head = self.p[self.i : self.i + 4]
            if head.startswith(("?=", "?!", "?<=", "?<!", "?#")):
                drop = True
                self.i += 3 if head.startswith(("?<=", "?<!")) else 2
                if head.startswith("?#"):
                    self.i = self.p.index(")", self.i) + 1
                    return None
            elif head.startswith("?P<"):
                self.i = self.p.index(">", self.i) + 1
            elif head.startswith("?P="):
                self.i = self.p.index(")", self.i) + 1
                return ".*"  # a back-reference: anything
            elif head.startswith(("?:", "?>")):
                self.i += 2
            elif flags := re.match(r"\?([aiLmsux]*)(?:-([imsx]*))?([:)])", self.p[self.i :]):
                if "x" in flags.group(1) + (flags.group(2) or ""):
                    raise _Unsupported("verbose flag")
                self.i += flags.end()
                if flags.group(3) == ")":
                    return None  # global flags: the wrapper sets i and s
            else:
                raise _Unsupported(f"group syntax {head!r}")
        body = self.sequence()
        if self.peek() != ")":
            raise _Unsupported("missing ')'")
        self.i += 1
        return None if drop else f"(?:{body})"

    def char_class(self) -> str:
        self.i += 1  # "["
        negated = self.peek() == "^"
        if negated:
            self.i += 1
        items: list[str] = []
        # "single": the last item may start a range; "operator": a range's "-" was just written;
        # "closed": a set (\d, \p{..}) or a range's end, after which "-" is a literal
        state = "closed"
        while True:
            if self.i >= len(self.p):
                raise _Unsupported("missing ']'")
            char = self.p[self.i]
            if char == "]" and items:
                self.i += 1
                break
            if char == "\\":
                item = self.escape(in_class="negated" if negated else "positive")
                if item is None:  # pragma: no cover - escape() drops assertions outside classes only
                    raise _Unsupported("an assertion inside a class")
                is_set = self.p[self.i - 1] in "dwsDWS" or item.startswith(("\\p", "\\P"))
                if is_set and state == "operator":
                    raise _Unsupported("a range ending in a set")
                state = "closed" if is_set or state == "operator" else "single"
                items.append(item)
                continue
            self.i += 1
            if char == "-" and state == "single" and self.peek() != "]":
                items.append("-")
                state = "operator"
            else:
                items.append(_literal(char))
                state = "closed" if state == "operator" else "single"
        return ("[^" if negated else "[") + "".join(items) + "]"

    def escape(self, in_class: str | None) -> str | None:
        self.i += 1  # "\\"
        char = self.peek()
        if not char:
            raise _Unsupported("trailing backslash")
        self.i += 1
        if char in "dws":
            if in_class == "negated":
                return _NARROW[char]
            return _WIDE[char] if in_class or char == "d" else f"[{_WIDE[char]}]"
        if char in "DWS":
            if in_class == "negated":
                raise _Unsupported(f"\\{char} inside a negated class")
            return "\\" + char
        if char in "pP":
            end = self.p.index("}", self.i) + 1 if self.peek() == "{" else self.i + 1
            name = self.p[self.i : end]
            self.i = end
            return f"\\{char}{name}"
        if char == "b" and in_class:
            return r"\x{8}"
        if char in "bBAZz" and not in_class:
            return None
        if char in _CONTROL:
            return f"\\x{{{_CONTROL[char]:X}}}"
        if char in "xuU":
            match = _HEX.match(self.p, self.i - 1)
            if not match:
                raise _Unsupported(f"bad \\{char} escape")
            self.i = match.end()
            return f"\\x{{{next(g for g in match.groups() if g).upper()}}}"
        if char.isdigit() and char != "0" and not in_class:
            while self.peek().isdigit():
                self.i += 1
            return ".*"  # a back-reference: anything
        if char.isalnum():
            raise _Unsupported(f"escape \\{char}")
        return _literal(char)


def _literal(char: str) -> str:
    """One literal character, escaped so that RE2 and Python read it the same way."""
    if char.isalnum() or char in " _":
        return char
    return f"\\x{{{ord(char):X}}}"


# --------------------------------------------------------------------------------------------------
# An RE2 term -> the Java (Spark ``RLIKE``) expression matching exactly the same texts
# --------------------------------------------------------------------------------------------------

DIALECTS = ("re2", "java")
"""Regular-expression dialects :func:`prefilter_pattern` and :func:`detector_terms` write: RE2 (DuckDB's
``regexp_matches``, the ``regex`` module) and Java's ``java.util.regex`` (Spark's ``RLIKE``/``regexp``)."""

# Decimal digits Unicode 14 and 15 added (Tangsa, Kawi, Nag Mundari): RE2 knows them, Java 17's tables
# (Unicode 13) do not. A Java with newer tables sees them anyway (the ranges then repeat its own).
_NEW_DIGITS = ((0x16AC0, 0x16AC9), (0x11F50, 0x11F59), (0x1E4F0, 0x1E4F9))
_JAVA_ND = r"\p{Nd}" + "".join(rf"\x{{{lo:X}}}-\x{{{hi:X}}}" for lo, hi in _NEW_DIGITS)
_RE2_SPACE = ((0x9, 0xA), (0xC, 0xD), (0x20, 0x20))  # RE2's \s: no \v, unlike Java's
_RE2_WORD = ((0x30, 0x39), (0x41, 0x5A), (0x5F, 0x5F), (0x61, 0x7A))
_RE2_DIGIT = ((0x30, 0x39),)
_RE2_TOKEN = re.compile(
    r"\(\?is:|\(\?:|[()|.*+?]|\{\d*,?\d*\}|\\x\{([0-9A-F]{1,6})\}|\\([pP])(\{\w+\}|\w)|\\([DWS])|\[\^?|([^()\[\]{}|.*+?\\^$])"
)
_CLASS_ITEM = re.compile(r"\\x\{([0-9A-F]{1,6})\}|\\([pP])(\{\w+\}|\w)|\\([DWS])|(-)|([^\]\\\-])|(\])")


@lru_cache(maxsize=256)
def java_regex(term: str) -> str:
    r"""Translate an RE2 term of :func:`re2_superset` into a Java expression that matches the same texts.

    The two dialects read ``(?i)`` differently: RE2 folds case by Unicode's simple case folding (``k``
    also matches the Kelvin sign U+212A, ``[\x{80}-\x{10FFFF}]`` also matches ``k`` and ``s``), Java
    folds ASCII only or, with ``(?u)``, by its own rules (``i`` then matches the Turkish dotted and
    dotless i, which RE2 does not). So the Java text has no ``i`` flag: every literal and class is
    written with its case-folding orbit spelt out. ``\p{Nd}`` gets the digits of Unicode 14 and 15
    that Java 17 lacks, and ``\D``/``\W``/``\S`` RE2's (ASCII) meaning: Java's ``\s`` has ``\v``.
    Only the vocabulary :func:`re2_superset` writes is read.

    Parameters
    ----------
    term : str
        An RE2 pattern written by :func:`re2_superset` (or :data:`_IP_TERM`).

    Returns
    -------
    str
        The Java pattern.

    Raises
    ------
    ValueError
        For syntax :func:`re2_superset` does not write.

    Examples
    --------
    >>> java_regex(r"(?is:ak\x{2E}\p{Nd})")
    '(?s:(?:[Aa][Kk\\x{212A}]\\x{2E}[\\p{Nd}\\x{16AC0}-\\x{16AC9}\\x{11F50}-\\x{11F59}\\x{1E4F0}-\\x{1E4F9}]))'
    """
    out: list[str] = []
    i = 0
    while i < len(term):
        match = _RE2_TOKEN.match(term, i)
        if match is None:
            raise ValueError(f"term must be an RE2 pattern written by re2_superset. Got {term[i:i + 20]!r}.")
        i = match.end()
        token = match.group(0)
        if token == "(?is:":
            out.append("(?s:(?:")
            out.append("\x00")  # a marker: the wrapper's closing parenthesis gets one more
        elif match.group(1) or match.group(5):
            code = int(match.group(1), 16) if match.group(1) else ord(match.group(5))
            out.append(_java_class(_fold([(code, code)]), [], negated=False, single=True))
        elif match.group(2):
            out.append(f"[{_java_property(match.group(2), match.group(3))}]")
        elif match.group(4):
            out.append(_java_class(_fold(_perl_class(match.group(4))), [], negated=True))
        elif token.startswith("["):
            ranges, sets, i = _read_class(term, i)
            out.append(_java_class(_fold(ranges), sets, negated=token == "[^"))
        else:
            out.append(token)
    return _close_wrappers(out)


def _close_wrappers(out: list[str]) -> str:
    """Join the tokens; each ``(?is:`` became ``(?s:(?:``, so its ``)`` becomes ``))``."""
    text: list[str] = []
    depth: list[bool] = []  # per open group: whether it is a translated wrapper
    for token in out:
        if token == "\x00":
            depth[-1] = True
            continue
        if token.startswith("("):
            depth.append(False)
        elif token == ")":
            token = "))" if depth.pop() else ")"
        text.append(token)
    return "".join(text)


def _read_class(term: str, i: int) -> tuple[list[tuple[int, int]], list[str], int]:
    """The ranges and Java sets of the RE2 class whose items start at ``term[i]``; the index after it."""
    ranges: list[tuple[int, int]] = []
    sets: list[str] = []
    pending_range = False
    while True:
        match = _CLASS_ITEM.match(term, i)
        if match is None:
            raise ValueError(f"term must be an RE2 pattern written by re2_superset. Got {term[i:i + 20]!r}.")
        i = match.end()
        if match.group(7):
            return ranges, sets, i
        if match.group(5):
            pending_range = True
            continue
        if match.group(2):
            sets.append(_java_property(match.group(2), match.group(3)))
            continue
        if match.group(4):
            sets.append(_java_class(_fold(_perl_class(match.group(4))), [], negated=True))
            continue
        code = int(match.group(1), 16) if match.group(1) else ord(match.group(6))
        if pending_range:
            ranges[-1] = (ranges[-1][0], code)
            pending_range = False
        else:
            ranges.append((code, code))


def _java_property(sign: str, name: str) -> str:
    if name.strip("{}") == "Nd":
        if sign == "P":
            raise ValueError(r"term must not use \P{Nd}: re2_superset never writes it.")
        return _JAVA_ND
    return f"\\{sign}{name}"


def _perl_class(letter: str) -> list[tuple[int, int]]:
    r"""The positive set whose complement RE2's ``\D``, ``\W`` or ``\S`` is."""
    return list({"D": _RE2_DIGIT, "W": _RE2_WORD, "S": _RE2_SPACE}[letter])


def _java_class(
    ranges: list[tuple[int, int]], sets: list[str], *, negated: bool, single: bool = False
) -> str:
    if single and len(ranges) == 1 and ranges[0][0] == ranges[0][1] and not sets:
        return _java_char(ranges[0][0])
    items = "".join(_java_char(lo) if lo == hi else f"{_java_char(lo)}-{_java_char(hi)}" for lo, hi in ranges)
    return ("[^" if negated else "[") + items + "".join(sets) + "]"


def _java_char(code: int) -> str:
    char = chr(code)
    return char if char.isascii() and (char.isalnum() or char == "_") else f"\\x{{{code:X}}}"


_CASED_LIMIT = 0x20000  # every cased character is below (the last are Adlam's, U+1E900-U+1E943)


@lru_cache(maxsize=1)
def _fold_orbits() -> tuple[tuple[int, ...], ...]:
    """Unicode's simple case-folding orbits with more than one member (RE2's ``(?i)`` equivalences).

    Characters are joined with their one-character upper and lower case; the Turkish dotless i
    (U+0131) is left alone, as in CaseFolding.txt (its folding to ``i`` is Turkic only).
    """
    parent = list(range(_CASED_LIMIT))

    def root(code: int) -> int:
        while parent[code] != code:
            parent[code] = parent[parent[code]]
            code = parent[code]
        return code

    for code in range(_CASED_LIMIT):
        if code in (0x130, 0x131) or 0xD800 <= code <= 0xDFFF:
            continue
        for other in (chr(code).lower(), chr(code).upper()):
            if len(other) == 1 and ord(other) not in (0x130, 0x131):
                parent[root(ord(other))] = root(code)
    orbits: dict[int, list[int]] = {}
    for code in range(_CASED_LIMIT):
        orbits.setdefault(root(code), []).append(code)
    return tuple(tuple(members) for members in orbits.values() if len(members) > 1)


@lru_cache(maxsize=1)
def _orbit_members() -> tuple[list[int], list[tuple[int, ...]]]:
    """Every character of a case-folding orbit, sorted, and the orbit of each."""
    pairs = sorted((code, orbit) for orbit in _fold_orbits() for code in orbit)
    return [code for code, _ in pairs], [orbit for _, orbit in pairs]


def _fold(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The ranges with every character of a case-folding orbit any of them holds, sorted and merged."""
    codes, orbits = _orbit_members()
    added = [
        member
        for lo, hi in ranges
        for orbit in orbits[bisect_left(codes, lo) : bisect_right(codes, hi)]
        for member in orbit
    ]
    merged: list[tuple[int, int]] = []
    for lo, hi in sorted([*ranges, *((code, code) for code in added)]):
        if merged and lo <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
        else:
            merged.append((lo, hi))
    return merged
