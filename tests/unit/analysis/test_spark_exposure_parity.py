"""The exposure scan's and the injection reader's engine-side parts give DuckDB's result on PySpark.

Spark's ``RLIKE`` reads Java regular expressions; the prefilter is written in RE2 for DuckDB.
:func:`register.pii.java_regex` translates it, and these tests check that both engines keep the same rows:
per character (every code point below U+20000 and some beyond, for each character class the detector
terms hold), per term and for the whole scan on a few thousand generated interaction-log rows with
planted values, benign look-alikes and the characters the dialects fold or classify differently (the
Kelvin sign, the long s, the Turkish i's, digits Java 17 does not know, the vertical tab).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import ibis
import numpy as np
import pandas as pd
import pytest

from analysis._injection_log import read_injection_spans
from analysis.llm_exposure import scan_exposure
from register.pii import detector_terms, java_regex, prefilter_pattern
from register.schema import DataCard, DataSource, InteractionRoles
from tests.unit.analysis.conftest import assert_same_engine_frames

pytestmark = [pytest.mark.spark, pytest.mark.slow]

AS_OF = datetime(2026, 2, 1, tzinfo=UTC)
KNOWN_NAMES = ("Ana Berg", "José Ñúñez", "Σοφία Kim")

PLANTED = [
    "dana.whitfield@northwind-mail.com", "ana.berg@example.org", "\u212aate@example.com",  # Kelvin sign
    "+44 20 7946 0958", "+44 7700 900123", "(415) 555-0132", "+49 30 901820", "+33 1 42 68 53 00",
    "＋４４ ２０ ７９４６ ０９５８", "020 7946 0958",
    "4111 1111 1111 1111", "5500-0000-0000-0004", "4111 1111 1111 1112", "٤١١١١١١١١١١١١١١١",
    "GB82 WEST 1234 5698 7654 32", "DE89 3704 0044 0532 0130 00", "GB82 WEST 1234 5698 7654 33",
    "536-22-8145", "123-45-6789", "AB 12 34 56 C", "10.12.0.5", "2001:db8:85a3::8a2e:370:7334",
    "AKIAIOSFODNN7EXAMPLE", "A\u212aIAIOSFODNN7EXAMPLE", "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
    "-----BEGIN RSA PRIVATE KEY-----", "-----BEGIN OPENSSH PRIVATE \u212aEY-----",
    "https://ops:s3cr3tPass@db.internal.example", "sk_live_4eC39HqLyjWDarjtT1zdp7dc",
    "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx", "ana berg", "JOSÉ ÑÚÑEZ", "σοφία kim",
]  # fmt: skip
LOOK_ALIKES = [
    "ORD-49306609", "order 1234 5678 9012 3456 shipped", "v1.2.3", "2026-01-15", "ab12345678",
    "tracking 1Z999AA10123456784", "user@localhost", "ip 999.1.1", "::", "ſſſſſſ", "\u0130stanbul ı",
    "𖫀𖫁𖫂𖫃𖫄𖫅𖫆𖫇", "𑽐𑽑𑽒𑽓𑽔𑽕𑽖𑽗", "𞓰𞓱𞓲𞓳𞓴𞓵𞓶𞓷", "1\x0b2\x0b3\x0b4\x0b5\x0b6\x0b7", "12\u00a034\u00a056\u00a078",
    "Your order ships tomorrow.", "Thanks!", "é漢字🙂", "aws key 'AbCdEfGhIjKlMnOpQr'", "x" * 300,
]  # fmt: skip
WORDS = ["the", "refund", "account", "Ihr", "Konto", "ſtatus", "\u212aelvin", "İ", "ı", "\n", "\t", "ok"]
OPERATIONS = ["chat", "chat", "chat", "retrieval", "execute_tool"]


def _text(rng: np.random.Generator) -> str | None:
    if rng.random() < 0.05:
        return None
    parts = []
    for _ in range(int(rng.integers(1, 9))):
        pick = rng.random()
        pool = PLANTED if pick < 0.15 else LOOK_ALIKES if pick < 0.45 else WORDS
        parts.append(pool[int(rng.integers(len(pool)))])
    return " ".join(parts)


def make_interaction_log(n: int = 3000, seed: int = 25) -> pd.DataFrame:
    """``n`` spans over January 2026 (microsecond UTC times), every content column with generated text."""
    rng = np.random.default_rng(seed)
    t0 = pd.Timestamp("2026-01-01", tz="UTC")
    operation = [OPERATIONS[i % len(OPERATIONS)] for i in range(n)]
    return pd.DataFrame(
        {
            "trace_id": [f"t{i // 5}" for i in range(n)],
            "span_id": [f"s{i:05d}" for i in range(n)],
            "start_time": (t0 + pd.to_timedelta(np.arange(n) * 800, unit="s")).astype("datetime64[us, UTC]"),
            "gen_ai.operation.name": operation,
            "gen_ai.conversation.id": [f"c{i // 10}" for i in range(n)],
            "enduser.id": [f"u{i % 97}" for i in range(n)],
            "gen_ai.prompt.version": [f"v{i % 3}" for i in range(n)],
            "gen_ai.tool.name": [("lookup" if op == "execute_tool" else None) for op in operation],
            "gen_ai.input.messages": [_text(rng) for _ in range(n)],
            "gen_ai.output.messages": [_text(rng) for _ in range(n)],
            "gen_ai.system_instructions": [_text(rng) if i % 7 == 0 else None for i in range(n)],
        }
    )


def _card() -> DataCard:
    roles = InteractionRoles(
        trace_id="trace_id", span_id="span_id", start_time="start_time", user_id="enduser.id",
        operation_name="gen_ai.operation.name", conversation_id="gen_ai.conversation.id",
        prompt_version="gen_ai.prompt.version", tool_name="gen_ai.tool.name",
        input_messages="gen_ai.input.messages", output_messages="gen_ai.output.messages",
        system_instructions="gen_ai.system_instructions",
    )  # fmt: skip
    return DataCard.interaction_log(DataSource(location="unused"), roles)


def _spark_table(spark_session, spark_con, frame: pd.DataFrame, name: str):
    """``frame`` as a Spark temporary view (nothing written to a warehouse), as an Ibis table."""
    spark_session.createDataFrame(frame).createOrReplaceTempView(name)
    return spark_con.table(name)


@pytest.fixture(scope="module")
def log() -> pd.DataFrame:
    return make_interaction_log()


@pytest.fixture(scope="module")
def tables(log, spark_session, spark_con):
    duck = ibis.duckdb.connect().create_table("spans", ibis.memtable(log).to_pyarrow())
    spark = _spark_table(spark_session, spark_con, log, "exposure_spans")
    assert duck._find_backend().name == "duckdb" and spark._find_backend().name == "pyspark"
    return duck, spark


LOCATIONS = ("output", "input", "retrieved", "system", "tool_arguments", "tool_results")


# ------------------------------------------------------------------------- character by character ---

_ATOM = re.compile(
    r"\[\^?(?:\\x\{[0-9A-F]+\}|\\p\{\w+\}|\\[A-Za-z]|[^\]\\])*\]|\\p\{\w+\}|\\[DWS]|\\x\{[0-9A-F]+\}|[^()|.*+?{}\\]"
)


def test_every_character_class_of_the_terms_matches_the_same_characters(spark_session, spark_con) -> None:
    """Each class, property, perl class and literal of the terms (and a few more) on single characters."""
    terms = detector_terms(known_names=KNOWN_NAMES)
    atoms = {match.group(0) for term in terms for match in _ATOM.finditer(term[len("(?is:") : -1])}
    atoms |= {chr(c) for c in range(ord("a"), ord("z") + 1)} | {r"[^a-z]", r"\W", r"\S", r"\D", r"[a\S]"}
    atoms = sorted(atoms)
    universe = [*range(1, 0x20000), *range(0xE0000, 0xE0080), 0x10FFFF]
    codes = [c for c in universe if not 0xD800 <= c <= 0xDFFF]
    frame = pd.DataFrame({"code": codes, "t": [chr(c) for c in codes]})
    duck = ibis.memtable(frame)
    spark = _spark_table(spark_session, spark_con, frame, "code_points")
    got_duck = duck.select("code", **{f"a{i}": duck.t.re_search(f"(?is:{a})") for i, a in enumerate(atoms)})
    got_spark = spark.select(
        "code", **{f"a{i}": spark.t.re_search(java_regex(f"(?is:{a})")) for i, a in enumerate(atoms)}
    )
    left = got_duck.to_pandas().sort_values("code", ignore_index=True)
    right = got_spark.to_pandas().sort_values("code", ignore_index=True)
    assert len(atoms) > 80 and len(left) == len(right) == len(codes)
    differing = {
        atom: [hex(c) for c in left["code"][left[f"a{i}"].astype(bool) != right[f"a{i}"].astype(bool)][:5]]
        for i, atom in enumerate(atoms)
    }
    assert {atom: codes for atom, codes in differing.items() if codes} == {}
    kelvin = atoms.index("[A-Z]") if "[A-Z]" in atoms else None
    if kelvin is not None:  # RE2 folds the Kelvin sign into [A-Z]; the translation must too
        assert bool(right.loc[right["code"] == 0x212A, f"a{kelvin}"].iloc[0])


# ------------------------------------------------------------------------------------ the prefilter ---


def test_the_prefilter_and_each_term_keep_the_same_rows(tables) -> None:
    duck, spark = tables
    columns = ("gen_ai.input.messages", "gen_ai.output.messages", "gen_ai.system_instructions")
    re2_terms = detector_terms(known_names=KNOWN_NAMES)
    java_terms = detector_terms(known_names=KNOWN_NAMES, dialect="java")
    assert "|".join(java_terms) == prefilter_pattern(known_names=KNOWN_NAMES, dialect="java")

    def flags(table, pattern: str, terms: tuple[str, ...]) -> pd.DataFrame:
        out = {}
        for j, column in enumerate(columns):
            out[f"p{j}"] = table[column].re_search(pattern).fill_null(False)
            for i, term in enumerate(terms):
                out[f"c{j}_t{i}"] = table[column].re_search(term).fill_null(False)
        return table.select("span_id", **out).to_pandas()

    left = flags(duck, "|".join(re2_terms), re2_terms)
    right = flags(spark, "|".join(java_terms), java_terms)
    assert_same_engine_frames(left, right, ["span_id"])
    kept = int(left[["p0", "p1", "p2"]].to_numpy().sum())
    assert 0 < kept < left[["p0", "p1", "p2"]].size  # candidates and non-candidates on both engines


# ---------------------------------------------------------------------------------------- the scan ---


@pytest.fixture(scope="module")
def results(tables):
    duck, spark = tables
    card = _card()
    kwargs = {"as_of": AS_OF, "columns": LOCATIONS, "known_names": KNOWN_NAMES}
    return scan_exposure(duck, card, **kwargs), scan_exposure(spark, card, **kwargs)


def test_the_scan_gives_duckdbs_counts_and_candidates(results) -> None:
    duck, spark = results
    assert duck.scanned == spark.scanned == LOCATIONS
    assert duck.rows_scanned == spark.rows_scanned
    assert duck.candidate_rows == spark.candidate_rows
    assert all(n > 0 for n in duck.candidate_rows.values())
    assert duck.totals == spark.totals
    assert duck.entities == spark.entities


def test_the_scan_gives_duckdbs_findings(results) -> None:
    duck, spark = results
    keys = ["location", "span_id", "start", "end"]
    assert_same_engine_frames(duck.spans, spark.spans, keys)
    entities = set(duck.spans["entity"])
    assert len(duck.spans) > 1000
    assert {"email", "phone", "card_number", "iban", "us_ssn", "ip_address", "person"} <= entities
    assert {"api_key_aws", "jwt", "private_key", "api_key_github"} <= entities
    assert duck.to_dict() == spark.to_dict()


# ------------------------------------------------------------------------ the injection reader ---


def test_the_injection_reader_gives_duckdbs_spans(tables) -> None:
    duck, spark = tables
    card = _card()
    start, end = datetime(2026, 1, 3, tzinfo=UTC), datetime(2026, 1, 20, tzinfo=UTC)
    left = read_injection_spans(card, start, end, data=duck)
    right = read_injection_spans(card, start, end, data=spark)
    assert left.skipped == right.skipped
    assert len(left.calls) > 500 and len(left.retrievals) > 100 and len(left.tools) > 100
    assert_same_engine_frames(left.calls, right.calls, ["start_time", "span_id"])
    assert_same_engine_frames(left.retrievals, right.retrievals, ["trace_id", "output"])
    assert_same_engine_frames(left.tools, right.tools, ["trace_id", "start_time"])
