"""Exposure scan of interaction logs: equal to a full detector scan, and exact on planted scenario k."""

from __future__ import annotations

import json
import string
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis._llm_data import open_interaction_log
from analysis.errors import DataValidationError
from analysis.llm_exposure import exposure_failure_expression, mask_value, scan_exposure
from register.pii import PRESIDIO_ENTITIES, find_pii
from register.schema import DataCard, DataSource, InteractionRoles

AS_OF = datetime(2026, 1, 31, tzinfo=UTC)
LOCATIONS = ("output", "input", "retrieved", "system", "tool_arguments", "tool_results")


def _ts(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, DataCard, dict]:
    from workbench.scenarios import generate

    out: Path = tmp_path_factory.mktemp("exposure_scenario")
    generate(out, seed=7, rows_per_day=300)
    card = DataCard.model_validate(yaml.safe_load((out / "datacards" / "support_chatbot.yaml").read_text()))
    truth = json.loads((out / "ground_truth.json").read_text())
    scenarios = {s["id"][0]: s for s in truth["llm_scenarios"]}
    return out, card, scenarios


@pytest.fixture(scope="module")
def spans(scenario):
    out, card, _ = scenario
    return open_interaction_log(card, base_dir=out / "datacards", threads=1)


@pytest.fixture(scope="module")
def k_result(scenario, spans):
    _, card, scenarios = scenario
    window = scenarios["k"]["incident_window"]
    return scan_exposure(
        spans, card, as_of=AS_OF, window=(_ts(window["start"]), _ts(window["end"])), columns=LOCATIONS
    )


# ------------------------------------------------------------------------------- planted scenario k ---


def test_output_findings_equal_the_ground_truth_of_k(scenario, k_result) -> None:
    _, _, scenarios = scenario
    exposure = scenarios["k"]["exposure"]
    total = k_result.total("output")
    assert total is not None
    assert (total.rows, total.conversations, total.users) == (
        exposure["rows"],
        exposure["conversations"],
        exposure["users"],
    )
    assert (total.first_seen, total.last_seen) == (_ts(exposure["first_seen"]), _ts(exposure["last_seen"]))
    assert total.still_happening is exposure["still_happening"]
    got = {
        e.entity: {"rows": e.rows, "conversations": e.conversations, "users": e.users}
        for e in k_result.entities
        if e.location == "output"
    }
    assert got == {PRESIDIO_ENTITIES[kind]: counts for kind, counts in exposure["entity_types"].items()}


def test_the_leaking_retrieval_source_is_named_first(scenario, k_result) -> None:
    _, _, scenarios = scenario
    index = scenarios["k"]["cause"]["data_source"]["after"]
    documents = set(scenarios["k"]["exposure"]["retrieval_document_ids"])
    for item in (k_result.total("output"), *[e for e in k_result.entities if e.location == "output"]):
        assert item is not None and item.sources
        top = item.sources[0]
        # the rebuilt index holds every leaking turn: the most excess leaking turns, ranked first
        assert (top.kind, top.value) == ("gen_ai.data_source.id", index)
        assert top.leaking == top.leaking_total and top.lift > 1 and top.excess > 0
        expected = top.leaking - top.calls * top.leaking_total / top.calls_total
        assert top.excess == pytest.approx(expected, abs=1e-6)
        excess = [source.excess for source in item.sources]
        assert excess == sorted(excess, reverse=True)
    # ticket documents it returned follow, over-represented in the leaking turns (at 300 rows a day a
    # policy document can be too, by chance: the test asks for the tickets among them)
    named = [s for s in k_result.total("output").sources if s.kind == "retrieval_document"]
    assert all(s.lift > 1 and s.leaking >= 2 for s in named)
    assert sum(s.value in documents for s in named) >= 2


def test_the_tickets_text_is_a_retrieved_finding_not_an_output_one(scenario, k_result) -> None:
    _, _, scenarios = scenario
    retrieved = k_result.total("retrieved")
    assert retrieved is not None and retrieved.rows == scenarios["k"]["exposure"]["ticket_retrievals"]
    assert k_result.total("system") is None and k_result.total("tool_results") is None


@pytest.mark.parametrize("key", ["o", "k_reference"])
def test_clean_windows_have_no_output_findings(scenario, spans, key) -> None:
    _, card, scenarios = scenario
    window = scenarios["o"]["incident_window"] if key == "o" else scenarios["k"]["reference_window"]
    result = scan_exposure(spans, card, as_of=AS_OF, window=(_ts(window["start"]), _ts(window["end"])),
                           columns=("output", "input"))  # fmt: skip
    assert result.total("output") is None
    assert result.rows_scanned["output"] > 500
    # users typing their own e-mail address are input findings (benign look-alikes), never output ones
    own = result.total("input")
    assert own is not None and {e.entity for e in result.entities} <= {"email", "phone"}


def test_no_raw_value_reaches_the_result(scenario, k_result) -> None:
    _, _, scenarios = scenario
    values = scenarios["k"]["exposure"]["values"]
    assert len(values) > 50
    text = repr(k_result) + json.dumps(k_result.to_dict())
    assert [value for value in values if value in text] == []
    digits = {"".join(c for c in value if c.isdigit()) for value in values}
    assert [
        d for d in digits if len(d) >= 10 and d in "".join(c for c in text if c.isdigit() or c == " ")
    ] == []
    assert "value" not in k_result.spans.columns and "text" not in k_result.spans.columns


def test_prefilter_and_detectors_equal_find_pii_on_every_row(scenario, spans, k_result) -> None:
    """Every span of the window, every location: the scan's findings == find_pii without any gate."""
    _, card, scenarios = scenario
    window = scenarios["k"]["incident_window"]
    rows = spans.filter(
        (spans.start_time >= _ts(window["start"])) & (spans.start_time < _ts(window["end"]))
    ).to_pandas()
    operation = rows["gen_ai.operation.name"]
    expected = set()
    for location, column, mask in (
        ("output", "gen_ai.output.messages", operation == "chat"),
        ("input", "gen_ai.input.messages", operation == "chat"),
        ("retrieved", "gen_ai.output.messages", operation == "retrieval"),
        ("system", "gen_ai.system_instructions", pd.Series(True, index=rows.index)),
        ("tool_arguments", "gen_ai.input.messages", operation == "execute_tool"),
        ("tool_results", "gen_ai.output.messages", operation == "execute_tool"),
    ):
        for span_id, text in zip(rows.loc[mask, "span_id"], rows.loc[mask, column], strict=True):
            if isinstance(text, str):
                expected |= {
                    (location, span_id, f.entity, f.start, f.end) for f in find_pii(text, gated=False)
                }
    got = set(
        k_result.spans[["location", "span_id", "entity", "start", "end"]].itertuples(index=False, name=None)
    )
    assert got == expected and len(got) > 500


def test_the_failure_signal_marks_the_leaking_spans(scenario, spans, k_result) -> None:
    _, card, scenarios = scenario
    flagged = spans.filter(exposure_failure_expression(spans, card, k_result))
    counts = flagged.aggregate(
        n=flagged.count(), conversations=flagged["gen_ai.conversation.id"].nunique()
    ).to_pandas()
    exposure = scenarios["k"]["exposure"]
    assert (int(counts.n[0]), int(counts.conversations[0])) == (exposure["rows"], exposure["conversations"])


# ------------------------------------------------------------------- missing content, bad input ---


def _log(texts: list[str], *, output: bool = True) -> pd.DataFrame:
    t0 = pd.Timestamp("2026-01-10", tz="UTC")
    frame = pd.DataFrame(
        {
            "trace_id": [f"t{i}" for i in range(len(texts))],
            "span_id": [f"s{i}" for i in range(len(texts))],
            "start_time": [t0 + pd.Timedelta(minutes=i) for i in range(len(texts))],
            "gen_ai.conversation.id": [f"c{i % 7}" for i in range(len(texts))],
            "enduser.id": [f"u{i % 5}" for i in range(len(texts))],
        }
    )
    if output:
        frame["gen_ai.output.messages"] = texts
    return frame


def _card(*, content: bool = True) -> DataCard:
    roles = InteractionRoles(
        trace_id="trace_id", span_id="span_id", start_time="start_time", user_id="enduser.id",
        conversation_id="gen_ai.conversation.id",
        output_messages="gen_ai.output.messages" if content else None,
    )  # fmt: skip
    return DataCard.interaction_log(DataSource(location="unused"), roles)


def test_content_opted_out_is_skipped_with_a_reason() -> None:
    card = _card(content=False)
    result = scan_exposure(_log(["x"], output=False), card, as_of=AS_OF, columns=("output", "input"))
    assert result.scanned == () and result.entities == ()
    assert [s.location for s in result.skipped] == ["output", "input"]
    assert "content not recorded" in result.skipped[0].reason


def test_a_missing_role_column_is_a_clear_error() -> None:
    card = _card()
    with pytest.raises(DataValidationError, match=r"gen_ai.output.messages \(role output_messages\)"):
        scan_exposure(_log(["x"], output=False), card, as_of=AS_OF)


def test_still_happening_is_a_finding_in_the_last_24_hours() -> None:
    card = _card()
    log = _log(["mail ana.berg@example.org", "nothing"])
    last = log["start_time"].iloc[0].to_pydatetime()
    assert scan_exposure(log, card, as_of=last + timedelta(hours=23)).entities[0].still_happening
    assert not scan_exposure(log, card, as_of=last + timedelta(hours=25)).entities[0].still_happening
    assert scan_exposure(log, card, as_of=last).entities == ()  # as_of itself is not seen


@pytest.mark.parametrize(
    ("entity", "value", "masked"),
    [
        ("email", "dana.whitfield@northwind-mail.com", "d***@n***.com"),
        ("card_number", "5500-0000-0000-0004", "****-****-****-0004"),
        ("phone", "(415) 555-0132", "(***) ***-**32"),
        ("us_ssn", "536-22-8145", "[us_ssn, 11 characters]"),
    ],
)
def test_mask_value(entity: str, value: str, masked: str) -> None:
    assert mask_value(entity, value) == masked


# ------------------------------------------------------------- prefilter == detectors (property) ---

PLANTS = st.sampled_from(
    [
        "dana.whitfield@northwind-mail.com", "+44 20 7946 0958", "+44 7700 900123", "(415) 555-0132",
        "4111 1111 1111 1111", "5500-0000-0000-0004", "GB82 WEST 1234 5698 7654 32", "536-22-8145",
        "AB 12 34 56 C", "10.12.0.5", "2001:db8:85a3::8a2e:370:7334", "AKIAIOSFODNN7EXAMPLE",
        "ghp_abcdefghijklmnopqrstuvwxyz0123456789", "https://ops:s3cr3tPass@db.internal.example",
        "＋４４ ２０ ７９４６ ０９５８", "٤١١١١١١١١١١١١١١١",
    ]
)  # fmt: skip
LOOK_ALIKES = st.one_of(
    st.integers(10**11, 10**19).map(str),
    st.integers(10**15, 10**16 - 1).map(lambda n: " ".join(str(n)[i : i + 4] for i in range(0, 16, 4))),
    st.from_regex(r"ORD-[0-9]{6,10}", fullmatch=True),
    st.from_regex(r"[0-9]{3}-[0-9]{2}-[0-9]{4}", fullmatch=True),
    st.from_regex(r"[0-9]{1,3}(\.[0-9]{1,3}){3}", fullmatch=True),
    st.from_regex(r"[a-z]{1,8}@[a-z]{1,8}(\.[a-z]{2,3}){1,2}", fullmatch=True),
    st.from_regex(r"\+?[0-9 ()\-]{6,18}", fullmatch=True),
    st.text(string.ascii_letters + string.digits + "_-/+", min_size=20, max_size=60),
)
WORDS = st.one_of(
    st.text(min_size=0, max_size=30),
    st.sampled_from(["Your order ships tomorrow.", "Thanks!", "\n", " ", "é漢字🙂", "x" * 2000]),
)
TEXTS = st.lists(st.one_of(PLANTS, LOOK_ALIKES, WORDS), min_size=1, max_size=12).map(" ".join)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(TEXTS, min_size=1, max_size=20))
def test_prefilter_in_the_engine_equals_a_full_detector_scan(texts: list[str]) -> None:
    card = _card()
    texts = [text.replace("\x00", "") for text in texts]
    result = scan_exposure(_log(texts), card, as_of=AS_OF)
    got = set(result.spans[["span_id", "entity", "start", "end"]].itertuples(index=False, name=None))
    expected = {
        (f"s{i}", f.entity, f.start, f.end)
        for i, text in enumerate(texts)
        for f in find_pii(text, gated=False)
    }
    assert got == expected
