"""The support chatbot's interaction logs (OpenTelemetry GenAI spans) and planted scenarios k-o.

Every ground-truth number is recomputed here from the written Parquet (DuckDB and Python regular
expressions), never from the generator's counters.
"""

from __future__ import annotations

import csv
import glob
import json
import re
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

import workbench.scenarios._generate as generator
from register.schema import AiSystem, DataCard
from workbench.scenarios import LLM_SYSTEM
from workbench.scenarios._chatbot import build_chat_context, generate_chat_day, luhn_valid
from workbench.scenarios._plan import from_us, make_plan

EMAIL = re.compile(r"[a-z0-9._%+-]+@[a-z0-9.-]+\.[a-z]{2,}")
PHONE = re.compile(r"\+44 (?:7700 900\d{3}|20 7946 0\d{3})")
CARD = re.compile(r"\b\d{4} \d{4} \d{4} \d{4}\b")
DIRECT = re.compile(r"(?i)\b(ignore|disregard|reveal)\b.{0,60}\binstructions\b")


@pytest.fixture(scope="module")
def truth(small_scenario) -> dict:
    return json.loads(small_scenario.ground_truth_path.read_text())


@pytest.fixture(scope="module")
def llm(truth) -> dict:
    return {s["id"][0]: s for s in truth["llm_scenarios"]}


@pytest.fixture(scope="module")
def con(small_scenario):
    connection = duckdb.connect()
    connection.execute("SET TimeZone = 'UTC'")
    out = small_scenario.out
    for view, folder in (("spans", "logs"), ("evaluations", "evaluations")):
        connection.execute(
            f"CREATE VIEW {view} AS SELECT * FROM read_parquet('{out}/{folder}/{LLM_SYSTEM}/**/*.parquet', "
            "hive_partitioning = false)"
        )
    text = "json_extract_string(\"gen_ai.{}.messages\", '$[0].parts[0].content')"
    connection.execute(
        f"CREATE VIEW chat AS SELECT *, {text.format('input')} AS input_text, "
        f"{text.format('output')} AS output_text FROM spans WHERE \"gen_ai.operation.name\" = 'chat'"
    )
    yield connection
    connection.close()


def _ts(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _rows(con, sql: str, params: list | None = None) -> list[tuple]:
    return con.execute(sql, params or []).fetchall()


# --------------------------------------------------------------------------------------------------
# Card, layout, determinism, background
# --------------------------------------------------------------------------------------------------


def test_the_chatbot_card_is_an_interaction_log_pointing_at_the_written_files(small_scenario) -> None:
    out = small_scenario.out
    systems = {
        s["id"]: AiSystem.model_validate(s)
        for s in json.loads((out / "register" / "ai_systems.json").read_text())
    }
    card = systems[LLM_SYSTEM].data_card
    assert card is not None and card.kind == "interaction_log" and card.task == "generation"
    assert (
        DataCard.model_validate(yaml.safe_load((out / "datacards" / f"{LLM_SYSTEM}.yaml").read_text()))
        == card
    )
    for base in (out / "register", out / "datacards"):
        resolved = card.with_base(base)
        assert resolved.evaluations is not None
        assert len(glob.glob(resolved.source.location, recursive=True)) == 180
        assert len(glob.glob(resolved.evaluations.source.location, recursive=True)) == 180
    roles = card.interaction
    assert roles is not None and roles.has_content
    schema = pq.read_schema(next((out / "logs" / LLM_SYSTEM).rglob("*.parquet")))
    assert not [c for c in [*roles.columns.values(), *roles.attributes] if c not in schema.names]
    assert str(schema.field("start_time").type) == "timestamp[us, tz=UTC]"
    for name in ("gen_ai.response.finish_reasons", "gen_ai.retrieval.document_ids"):
        assert pa.types.is_list(schema.field(name).type) and schema.field(name).type.value_type == pa.string()
    evaluations = card.evaluations
    assert evaluations is not None
    eval_schema = pq.read_schema(next((out / "evaluations" / LLM_SYSTEM).rglob("*.parquet")))
    named = [
        evaluations.span_id,
        evaluations.conversation_id,
        evaluations.name,
        evaluations.score,
        evaluations.label,
        evaluations.evaluated_at,
    ]
    assert not [c for c in named if c not in eval_schema.names]
    scenario = json.loads((out / "scenario.json").read_text())
    assert scenario["interaction_logged_systems"] == [LLM_SYSTEM] and scenario["generator_version"] == "1.2.0"


def test_a_day_alone_equals_the_written_day_and_is_byte_identical(small_scenario, tmp_path: Path) -> None:
    plan = make_plan(11)
    day = 121
    first = generate_chat_day(build_chat_context(11, 400, plan), day)
    second = generate_chat_day(build_chat_context(11, 400, plan), day)
    date = from_us(plan.day_start_us(day)).date().isoformat()
    partition = Path(LLM_SYSTEM) / f"date={date}" / "part-0.parquet"
    written = small_scenario.out / "logs" / partition
    assert first.spans.equals(pq.read_table(written))
    assert first.evaluations.equals(pq.read_table(small_scenario.out / "evaluations" / partition))
    for name, table in (("a", first.spans), ("b", second.spans)):
        generator._write_parquet(table, tmp_path / f"{name}.parquet", 65_536)
    assert (
        (tmp_path / "a.parquet").read_bytes() == (tmp_path / "b.parquet").read_bytes() == written.read_bytes()
    )
    other = generate_chat_day(build_chat_context(12, 400, make_plan(12)), day)
    assert not other.spans.equals(first.spans)


def test_spans_form_traces_and_the_background_is_realistic(con, truth) -> None:
    orphans = _rows(
        con,
        "SELECT count(*) FROM spans c LEFT JOIN spans p ON c.parent_span_id = p.span_id "
        "AND c.trace_id = p.trace_id WHERE c.parent_span_id IS NOT NULL AND p.span_id IS NULL",
    )
    assert orphans == [(0,)]
    kinds = dict(_rows(con, 'SELECT "gen_ai.operation.name", count(*) FROM spans GROUP BY 1'))
    assert set(kinds) == {"chat", "retrieval", "execute_tool"} and kinds["chat"] > kinds["retrieval"] / 2
    assert _rows(con, "SELECT count(*) FROM spans")[0][0] == truth["llm_background"]["rows"]
    assert _rows(con, "SELECT count(*) FROM chat WHERE parent_span_id IS NOT NULL") == [(0,)]
    turns = _rows(
        con, 'SELECT max(n), avg(n) FROM (SELECT count(*) n FROM chat GROUP BY "gen_ai.conversation.id")'
    )
    assert turns[0][0] >= 3 and 1.2 < turns[0][1] < 3
    users, conversations = _rows(
        con, 'SELECT count(DISTINCT "enduser.id"), count(DISTINCT "gen_ai.conversation.id") FROM chat'
    )[0]
    assert users < 0.5 * conversations  # customers come back
    weekday = dict(
        _rows(
            con,
            "SELECT dayofweek(start_time) d, count(*) / count(DISTINCT start_time::DATE) "
            "FROM chat GROUP BY d",
        )
    )
    assert max(weekday.values()) / min(weekday.values()) > 1.2
    hourly = dict(_rows(con, "SELECT hour(start_time), count(*) FROM chat GROUP BY 1"))
    assert hourly[11] > 5 * hourly[3]
    distinct = _rows(
        con,
        'SELECT count(DISTINCT "gen_ai.provider.name"), count(DISTINCT "gen_ai.request.model"), '
        'count(DISTINCT "gen_ai.prompt.version"), count(DISTINCT "gen_ai.agent.version"), '
        'count(DISTINCT "support.intent"), count(DISTINCT "cloud.region") FROM chat',
    )[0]
    assert distinct == (2, 4, 3, 3, 4, 4)
    finish = dict(_rows(con, 'SELECT "gen_ai.response.finish_reasons"[1], count(*) FROM chat GROUP BY 1'))
    assert {"stop", "length", "content_filter", None} <= set(finish)
    errors = dict(
        _rows(con, 'SELECT "error.type", count(*) FROM chat WHERE "error.type" IS NOT NULL GROUP BY 1')
    )
    assert {"429", "timeout", "500", "503"} <= set(errors)
    assert _rows(
        con, 'SELECT count(*) FROM chat WHERE "error.type" IS NOT NULL AND output_text IS NOT NULL'
    ) == [(0,)]
    tools = {row[0] for row in _rows(con, 'SELECT DISTINCT "gen_ai.tool.name" FROM spans')}
    assert tools == {None, "lookup_order", "issue_refund"}
    names = dict(_rows(con, 'SELECT "gen_ai.evaluation.name", count(*) FROM evaluations GROUP BY 1'))
    assert set(names) == {"groundedness", "relevance", "user_feedback"}
    assert _rows(con, "SELECT count(*) FROM evaluations e ANTI JOIN chat c USING (span_id)") == [(0,)]


def _chat_texts(con) -> list[tuple]:
    return _rows(
        con,
        'SELECT span_id, trace_id, "gen_ai.conversation.id", "enduser.id", start_time, input_text, '
        "output_text FROM chat",
    )


def test_benign_look_alikes_are_there_and_are_not_leaks(con, truth) -> None:
    background = truth["llm_background"]
    emails_by_user: dict[str, set[str]] = {}
    n_email = n_phone = n_typo = n_tracking = 0
    for _, _, _, user, _, text_in, text_out in _chat_texts(con):
        found = EMAIL.findall(text_in or "")
        emails_by_user.setdefault(user, set()).update(found)
        n_email += bool(found)
        n_phone += bool(PHONE.search(text_in or ""))
        cards_in = CARD.findall(text_in or "")
        n_typo += bool(cards_in)
        assert not [c for c in cards_in if luhn_valid(c)]  # a mistyped card fails the Luhn check
        invalid_out = [c for c in CARD.findall(text_out or "") if not luhn_valid(c)]
        n_tracking += bool(invalid_out)
    assert n_email == background["own_email_inputs"] > 0
    assert n_phone == background["own_phone_inputs"] > 0
    assert n_typo == background["typo_card_inputs"] > 0
    assert n_tracking == background["tracking_reference_outputs"] > 0
    # each customer types only their own address, and nobody else's
    owners = Counter(email for emails in emails_by_user.values() for email in emails)
    assert all(len(emails) <= 1 for emails in emails_by_user.values()) and max(owners.values()) == 1
    last4 = _rows(con, "SELECT count(*) FROM chat WHERE output_text LIKE '%card ending in%'")[0][0]
    assert last4 > 0


# --------------------------------------------------------------------------------------------------
# (k) PII exposure after a retrieval-index change
# --------------------------------------------------------------------------------------------------


def _leaks(con) -> dict[str, dict]:
    """Chat spans whose answer holds an e-mail, a phone number or a Luhn-valid card number."""
    found = {}
    for span_id, trace_id, conversation, user, at, _, text in _chat_texts(con):
        text = text or ""
        values = {
            "EMAIL_ADDRESS": EMAIL.findall(text),
            "PHONE_NUMBER": PHONE.findall(text),
            "CREDIT_CARD": [c for c in CARD.findall(text) if luhn_valid(c)],
        }
        values = {kind: v for kind, v in values.items() if v}
        if values:
            found[span_id] = {
                "trace": trace_id,
                "conversation": conversation,
                "user": user,
                "at": at,
                "values": values,
            }
    return found


def test_k_exposure_counts_equal_the_ground_truth(con, llm) -> None:
    s = llm["k"]
    exposure = s["exposure"]
    leaks = _leaks(con)
    start, end = _ts(s["incident_window"]["start"]), _ts(s["incident_window"]["end"])
    assert leaks and all(start <= leak["at"] < end for leak in leaks.values())  # only inside the window
    assert exposure["rows"] == len(leaks) == s["affected"]["calls"]
    assert exposure["conversations"] == len({leak["conversation"] for leak in leaks.values()})
    assert exposure["users"] == len({leak["user"] for leak in leaks.values()}) == s["affected"]["users"]
    for kind, numbers in exposure["entity_types"].items():
        hits = [leak for leak in leaks.values() if kind in leak["values"]]
        assert numbers == {
            "rows": len(hits),
            "conversations": len({h["conversation"] for h in hits}),
            "users": len({h["user"] for h in hits}),
        }, kind
    assert set(exposure["entity_types"]) == {"EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD"}
    values = {v for leak in leaks.values() for vs in leak["values"].values() for v in vs}
    assert values == set(exposure["values"])
    assert min(leak["at"] for leak in leaks.values()) == _ts(exposure["first_seen"])
    assert max(leak["at"] for leak in leaks.values()) == _ts(exposure["last_seen"])
    # the leaking documents: the ticket documents retrieved in the leaking traces
    traces = [leak["trace"] for leak in leaks.values()]
    docs = _rows(
        con,
        'SELECT DISTINCT unnest("gen_ai.retrieval.document_ids") d FROM spans '
        "WHERE trace_id IN (SELECT unnest(?)) AND \"gen_ai.operation.name\" = 'retrieval'",
        [traces],
    )
    tickets = sorted(d for (d,) in docs if d.startswith("kb-tickets-"))
    assert tickets == exposure["retrieval_document_ids"]
    index = _rows(
        con,
        'SELECT DISTINCT "gen_ai.data_source.id" FROM chat WHERE span_id IN (SELECT unnest(?))',
        [list(leaks)],
    )
    assert index == [(s["cause"]["data_source"]["after"],)]
    ticket_retrievals = _rows(
        con,
        "SELECT count(*) FROM spans WHERE array_to_string(\"gen_ai.retrieval.document_ids\", ',') "
        "LIKE '%kb-tickets-%'",
    )[0][0]
    assert ticket_retrievals == exposure["ticket_retrievals"] > len(leaks) * 0.9


# --------------------------------------------------------------------------------------------------
# (l) prompt-injection campaign
# --------------------------------------------------------------------------------------------------


def test_l_injection_attempts_successes_and_users_equal_the_ground_truth(con, llm) -> None:
    s = llm["l"]
    injection = s["injection"]
    poisoned = {
        row[0]
        for row in _rows(
            con,
            'SELECT trace_id FROM spans WHERE list_contains("gen_ai.retrieval.document_ids", ?)',
            [injection["poisoned_document_id"]],
        )
    }
    tool_traces = {
        row[0]
        for row in _rows(con, 'SELECT trace_id FROM spans WHERE "gen_ai.tool.name" = ?', [injection["tool"]])
    }
    direct, indirect, successes = [], [], Counter()
    for _, trace_id, _, user, at, text_in, text_out in _chat_texts(con):
        is_direct = bool(DIRECT.search(text_in or ""))
        if not is_direct and trace_id not in poisoned:
            continue
        (direct if is_direct else indirect).append((at, user))
        how = "direct" if is_direct else "indirect"
        if injection["system_echo_marker"] in (text_out or ""):
            successes[how] += 1
            successes["system_echo"] += 1
        elif trace_id in tool_traces:
            successes[how] += 1
            successes["tool_call"] += 1
    assert injection["attempts"] == {
        "total": len(direct) + len(indirect),
        "direct": len(direct),
        "indirect": len(indirect),
    }
    assert injection["successes"] == {
        "total": successes["direct"] + successes["indirect"],
        **{k: successes[k] for k in ("direct", "indirect", "system_echo", "tool_call")},
    }
    assert s["affected"]["calls"] == injection["successes"]["total"] > 0
    times = sorted(at for at, _ in direct + indirect)
    onset = _ts(s["onset"])
    assert times[0] == _ts(injection["first_attempt"]) and onset <= times[0] < onset + timedelta(hours=1)
    assert times[-1] < _ts(s["incident_window"]["end"])
    by_user = Counter(user for _, user in direct)
    expected = sorted(by_user.items(), key=lambda item: (-item[1], item[0]))
    assert injection["direct_users"] == [{"user": u, "attempts": n} for u, n in expected]
    top = {u for u, _ in expected[:4]}
    assert top == set(injection["main_attackers"])
    assert sum(by_user[u] for u in top) > 0.6 * len(direct)  # a few accounts are behind most attempts
    # the tool shipped before the campaign, and the change is in the register
    assert _ts(s["cause"]["at"]) < onset


# --------------------------------------------------------------------------------------------------
# (m) hallucination rise after a model switch, (n) provider outage, (o) clean control
# --------------------------------------------------------------------------------------------------


def _grounded(con, window: dict, intent_filter: str, model_filter: str = "true") -> dict:
    sql = f"""
        SELECT count(*) FILTER (e."gen_ai.evaluation.name" = 'groundedness'),
               count(*) FILTER (e."gen_ai.evaluation.name" = 'groundedness'
                                AND e."gen_ai.evaluation.score.value" < 0.5),
               count(*) FILTER (e."gen_ai.evaluation.name" = 'user_feedback'),
               count(*) FILTER (e."gen_ai.evaluation.score.label" = 'thumbs_down')
        FROM evaluations e JOIN chat c USING (span_id)
        WHERE c.start_time >= ? AND c.start_time < ? AND {intent_filter} AND {model_filter}"""
    n, below, feedback, down = _rows(con, sql, [_ts(window["start"]), _ts(window["end"])])[0]
    return {"evaluated": n, "below_threshold": below, "feedback": feedback, "thumbs_down": down}


def test_m_groundedness_drops_and_thumbs_down_rise_for_refunds_on_the_new_model(con, llm) -> None:
    s = llm["m"]
    effects = s["effects"]
    refund, others = "\"support.intent\" = 'refund'", "\"support.intent\" <> 'refund'"
    switched = "\"gen_ai.request.model\" = 'orion-chat-2.0'"
    cases = {
        "refund_reference": (s["reference_window"], refund, "true"),
        "refund_incident": (s["incident_window"], refund, "true"),
        "refund_incident_switched_model": (s["incident_window"], refund, switched),
        "other_intents_reference": (s["reference_window"], others, "true"),
        "other_intents_incident": (s["incident_window"], others, "true"),
    }
    for name, (window, intents, model) in cases.items():
        measured = _grounded(con, window, intents, model)
        assert {k: effects[name][k] for k in measured} == measured, name
    assert effects["refund_incident_switched_model"]["below_threshold_rate"] > 0.4
    assert effects["refund_reference"]["below_threshold_rate"] < 0.05
    assert effects["other_intents_incident"]["below_threshold_rate"] < 0.05
    assert (
        effects["refund_incident"]["thumbs_down_rate"] > 2 * effects["refund_reference"]["thumbs_down_rate"]
    )
    models = _rows(
        con,
        'SELECT DISTINCT "gen_ai.request.model" FROM chat WHERE start_time >= ? AND start_time < ? '
        "AND \"gen_ai.provider.name\" = 'azure.ai.openai'",
        [_ts(s["incident_window"]["start"]), _ts(s["incident_window"]["end"])],
    )
    assert models == [("orion-chat-2.0",)]
    affected = _rows(
        con,
        'SELECT count(*), count(DISTINCT c."gen_ai.conversation.id"), count(DISTINCT c."enduser.id") '
        "FROM evaluations e JOIN chat c USING (span_id) WHERE "
        'e."gen_ai.evaluation.name" = \'groundedness\' AND e."gen_ai.evaluation.score.value" < 0.5 '
        f"AND {refund} AND {switched}",
    )[0]
    assert affected == (s["affected"]["calls"], s["affected"]["conversations"], s["affected"]["users"])


def _errors(con, window: dict, where: str) -> dict:
    n, failed = _rows(
        con,
        f'SELECT count(*), count("error.type") FROM chat WHERE start_time >= ? '
        f"AND start_time < ? AND {where}",
        [_ts(window["start"]), _ts(window["end"])],
    )[0]
    return {"calls": n, "errors": failed}


def test_n_outage_errors_one_provider_region_for_three_hours(con, llm) -> None:
    s = llm["n"]
    inside = " AND ".join(f"\"{p['column']}\" = '{p['value']}'" for p in s["slice"])
    for name, window, where in (
        ("slice_incident", s["incident_window"], inside),
        ("rest_incident", s["incident_window"], f"NOT ({inside})"),
        ("slice_reference", s["reference_window"], inside),
        ("rest_reference", s["reference_window"], f"NOT ({inside})"),
    ):
        measured = _errors(con, window, where)
        assert {k: s["effects"][name][k] for k in measured} == measured, name
    assert _ts(s["end"]) - _ts(s["onset"]) == timedelta(hours=3)
    assert (
        s["effects"]["slice_incident"]["error_rate"]
        > 0.7
        > 0.05
        > s["effects"]["rest_incident"]["error_rate"]
    )
    errors = _rows(
        con,
        'SELECT count(*), count(DISTINCT "gen_ai.conversation.id"), count(DISTINCT "enduser.id") '
        "FROM chat WHERE \"error.type\" = '503'",
    )[0]
    assert errors == (s["affected"]["calls"], s["affected"]["conversations"], s["affected"]["users"])


def test_o_control_is_clean_and_holds_a_harmless_prompt_change(con, llm) -> None:
    s = llm["o"]
    assert s["control"] and s["incident_id"] is None and s["affected"]["calls"] == 0
    window = s["incident_window"]
    start, end = _ts(window["start"]), _ts(window["end"])
    assert not [leak for leak in _leaks(con).values() if start <= leak["at"] < end]
    attempts = [
        at for _, _, _, _, at, text, _ in _chat_texts(con) if DIRECT.search(text or "") and start <= at < end
    ]
    assert not attempts
    for name, w in (("errors_reference", s["reference_window"]), ("errors_incident", window)):
        measured = _errors(con, w, "true")
        assert {k: s["effects"][name][k] for k in measured} == measured
    rates = [s["effects"][k]["error_rate"] for k in ("errors_reference", "errors_incident")]
    assert rates[1] == pytest.approx(rates[0], abs=0.01)
    versions = _rows(
        con,
        'SELECT DISTINCT "gen_ai.prompt.version" FROM chat WHERE start_time >= ? '
        "AND start_time < ? ORDER BY 1",
        [start, end],
    )
    assert versions == [("v5",), ("v6",)] and start <= _ts(s["harmless_change"]["at"]) < end


# --------------------------------------------------------------------------------------------------
# Register
# --------------------------------------------------------------------------------------------------


def test_k_to_n_are_filed_last_in_the_register_with_their_change_events(small_scenario, truth, llm) -> None:
    out = small_scenario.out
    with (out / "register" / "incidents.csv").open(encoding="utf-8") as handle:
        incidents = list(csv.DictReader(handle))
    with (out / "register" / "timeline_events.csv").open(encoding="utf-8") as handle:
        events = list(csv.DictReader(handle))
    planted = [llm[key]["incident_id"] for key in "klmn"]
    assert [row["id"] for row in incidents[-4:]] == planted  # appended: earlier ids are unchanged
    assert not {s["incident_id"] for s in truth["scenarios"]} & set(planted)
    categories = {
        "k": "data_exposure_privacy",
        "l": "prompt_injection",
        "m": "hallucination",
        "n": "vendor_outage",
    }
    by_id = {row["id"]: row for row in incidents}
    for key in "klmn":
        s = llm[key]
        row = by_id[s["incident_id"]]
        assert row["system_id"] == LLM_SYSTEM and row["category"] == categories[key]
        assert _ts(row["occurred_at"]) == _ts(s["onset"]) and _ts(row["contained_at"]) == _ts(s["end"])
        change = s["cause"]["change_event"]
        if change is not None:
            assert [e for e in events if e["incident_id"] == row["id"] and e["description"] == change]
    kinds = ("exposure_finding", "injection_success", "evaluation_score", "error_type")
    for key, kind in zip("klmn", kinds, strict=True):
        signal = json.loads(by_id[llm[key]["incident_id"]]["failure_signal"])
        assert signal == llm[key]["failure_signal"] and signal["kind"] == kind


def test_investigating_a_chatbot_incident_skips_the_prediction_log_sections_clearly(
    small_scenario, llm, tmp_path: Path
) -> None:
    """The prediction-log sections asked for a chatbot incident: one clear error naming why, no run.

    (Impact runs on interaction logs too: see test_investigate_runs_the_impact_section_on_the_outage.)
    """
    from register import open_register
    from register.errors import NotFoundError
    from register.io import read_bundle
    from workbench.investigate import investigate

    url = str(tmp_path / "register.sqlite")
    with open_register(url, create=True) as register:
        register.import_bundle(read_bundle(small_scenario.register_dir), by="test")
    incident_id = llm["k"]["incident_id"]
    with pytest.raises(NotFoundError, match="no section applies") as raised:
        investigate(
            url,
            incident_id,
            as_of=small_scenario.as_of,
            reports_dir=tmp_path / "reports",
            sections=["root_cause", "fairness", "drift"],
        )
    assert (
        "this section analyses prediction logs; the system's data card describes an interaction log"
        in str(raised.value)
    )
    assert not (tmp_path / "reports" / incident_id).exists()
