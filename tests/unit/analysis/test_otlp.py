"""OTLP JSON interaction logs: the reader, its row-level error report, the writer, reading through a card."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

from analysis._llm_data import open_interaction_log
from analysis._otlp import read_otlp_json, write_otlp_json
from analysis.errors import DataValidationError, InvalidParameterError
from analysis.llm_exposure import scan_exposure
from register.schema import DataCard, DataSource, InteractionRoles

TRACE = "5b8efff798038103d269b633813fc60c"
SPAN_A, SPAN_B, SPAN_C = "eee19b7ec3c1b174", "eee19b7ec3c1b173", "0102030405060708"
T0 = 1_765_000_000_000_000_000  # 2025-12-06T05:46:40Z in nanoseconds
AS_OF = datetime(2026, 1, 31, tzinfo=UTC)
ATTRIBUTES = ["cloud.region", "support.intent", "gen_ai.data_source.id"]


def _kv(key: str, value: dict) -> dict:
    return {"key": key, "value": value}


def _span(span_id: str = SPAN_A, **fields: object) -> dict:
    span: dict = {"traceId": TRACE, "spanId": span_id, "startTimeUnixNano": str(T0)}
    span.update(fields)
    return span


def _line(*spans: dict, resource: list | None = None) -> str:
    scope = {"scope": {"name": "app"}, "spans": list(spans)}
    document = {"resourceSpans": [{"resource": {"attributes": resource or []}, "scopeSpans": [scope]}]}
    return json.dumps(document)


def _write(path: Path, *lines: str) -> Path:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def _every_type_line() -> str:
    """Two resources: one span with a value of every type, one with the optional fields left out."""
    full = _span(
        SPAN_A,
        parentSpanId=SPAN_C.upper(),  # hex is case-insensitive; read as lower case
        name="chat m1",
        kind=3,
        endTimeUnixNano=str(T0 + 1_234_567_000),
        status={"code": 2, "message": "rate limited"},
        attributes=[
            _kv("gen_ai.operation.name", {"stringValue": "chat"}),
            _kv("gen_ai.usage.input_tokens", {"intValue": "9007199254740993"}),  # > 2**53: kept exact
            _kv("gen_ai.usage.output_tokens", {"intValue": 7}),  # a JSON number is accepted too
            _kv("gen_ai.request.temperature", {"doubleValue": 0.25}),
            _kv("gen_ai.request.stream", {"boolValue": True}),
            _kv("blob", {"bytesValue": "AAEC"}),
            _kv("gen_ai.response.finish_reasons", {"arrayValue": {"values": [{"stringValue": "stop"}]}}),
            _kv("scores", {"arrayValue": {"values": [{"intValue": "1"}, {"doubleValue": 2.5}]}}),
            _kv(
                "meta",
                {"kvlistValue": {"values": [_kv("a", {"intValue": "1"}), _kv("b", {"stringValue": "x"})]}},
            ),
            _kv("cloud.region", {"stringValue": "eu-west-1"}),  # the span's value wins over the resource's
            _kv("enduser.id", {"stringValue": "u1"}),
        ],
    )
    bare = _span(SPAN_B, attributes=[_kv("enduser.id", {"stringValue": "u2"}),
                                     _kv("gen_ai.usage.output_tokens", {"intValue": "3"})])  # fmt: skip
    resource = [
        _kv("service.name", {"stringValue": "chatbot"}),
        _kv("cloud.region", {"stringValue": "us-east-1"}),
    ]
    document = json.loads(_line(full, resource=resource))
    other = {"attributes": [_kv("cloud.region", {"stringValue": "ap-1"})]}
    document["resourceSpans"].append({"resource": other, "scopeSpans": [{"spans": [bare]}]})
    return json.dumps(document)


# ------------------------------------------------------------------------------------- reader ---


def test_every_value_type_and_field(tmp_path: Path) -> None:
    table = read_otlp_json(_write(tmp_path / "spans.json", _every_type_line()))
    rows = {row["span_id"]: row for row in table.to_pylist()}
    full, bare = rows[SPAN_A], rows[SPAN_B]
    assert full["trace_id"] == TRACE and full["parent_span_id"] == SPAN_C
    assert full["start_time"] == datetime.fromtimestamp(T0 / 1e9, tz=UTC)
    assert full["duration_ms"] == pytest.approx(1234.567)
    assert (full["span_name"], full["span_kind"], full["status_code"], full["status_message"]) == (
        "chat m1", "CLIENT", "ERROR", "rate limited"
    )  # fmt: skip
    assert full["scope_name"] == "app"
    assert full["gen_ai.usage.input_tokens"] == 9007199254740993
    assert full["gen_ai.usage.output_tokens"] == 7
    assert full["gen_ai.request.temperature"] == 0.25 and full["gen_ai.request.stream"] is True
    assert full["blob"] == b"\x00\x01\x02"
    assert full["gen_ai.response.finish_reasons"] == ["stop"]
    assert full["scores"] == [1.0, 2.5]  # int and double elements: a list of doubles
    assert json.loads(full["meta"]) == {"a": 1, "b": "x"}
    assert full["cloud.region"] == "eu-west-1" and full["service.name"] == "chatbot"
    # the optional fields left out: nulls, and the defaults of the enums
    assert bare["parent_span_id"] is None and bare["duration_ms"] is None and bare["span_name"] is None
    assert (bare["span_kind"], bare["status_code"], bare["scope_name"]) == ("UNSPECIFIED", "UNSET", None)
    assert bare["cloud.region"] == "ap-1" and bare["service.name"] is None
    assert bare["gen_ai.response.finish_reasons"] is None and bare["gen_ai.usage.input_tokens"] is None
    schema = table.schema
    assert schema.field("start_time").type == pa.timestamp("us", tz="UTC")
    assert schema.field("gen_ai.usage.input_tokens").type == pa.int64()
    assert schema.field("gen_ai.response.finish_reasons").type == pa.list_(pa.string())
    assert schema.field("blob").type == pa.binary()


def test_roles_name_the_span_columns_and_add_absent_attributes(tmp_path: Path) -> None:
    roles = InteractionRoles.otel().model_copy(update={"trace_id": "tid", "start_time": "ts"})
    table = read_otlp_json(_write(tmp_path / "spans.json", _every_type_line()), roles=roles)
    assert {"tid", "ts"} <= set(table.column_names) and "trace_id" not in table.column_names
    # error.type and the document ids were on no span: OTLP has no null, so they are all-null columns
    assert table.schema.field("error.type").type == pa.string()
    assert table.schema.field("gen_ai.retrieval.document_ids").type == pa.list_(pa.string())
    assert table["error.type"].null_count == table.num_rows


def test_legacy_content_events_are_lifted(tmp_path: Path) -> None:
    events = [
        {
            "name": "gen_ai.content.prompt",
            "attributes": [_kv("gen_ai.prompt", {"stringValue": "[user asks]"})],
        },
        {
            "name": "gen_ai.content.completion",
            "attributes": [_kv("gen_ai.completion", {"stringValue": "[ok]"})],
        },
        {"name": "exception", "attributes": [_kv("exception.type", {"stringValue": "E"})]},
    ]
    table = read_otlp_json(_write(tmp_path / "spans.json", _line(_span(events=events))))
    row = table.to_pylist()[0]
    assert (row["gen_ai.prompt"], row["gen_ai.completion"]) == ("[user asks]", "[ok]")
    assert "exception.type" not in table.column_names


def test_gzip_directory_and_glob(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    _write(tmp_path / "a" / "one.jsonl", _line(_span(SPAN_A)))
    with gzip.open(tmp_path / "a" / "two.json.gz", "wt", encoding="utf-8") as handle:
        handle.write(_line(_span(SPAN_B)) + "\n\n")  # a blank line is skipped
    (tmp_path / "a" / "notes.txt").write_text("not a span")
    assert sorted(read_otlp_json(tmp_path)["span_id"].to_pylist()) == [SPAN_B, SPAN_A]
    assert read_otlp_json(tmp_path / "a" / "*.gz")["span_id"].to_pylist() == [SPAN_B]
    with pytest.raises(DataValidationError, match="No OTLP JSON file matches") as raised:
        read_otlp_json(tmp_path / "nothing*.json")
    assert raised.value.failures[0]["check"] == "source_exists"


def test_a_line_with_no_spans_gives_the_span_columns(tmp_path: Path) -> None:
    table = read_otlp_json(_write(tmp_path / "empty.json", '{"resourceSpans": []}'))
    assert table.num_rows == 0 and table.column_names[:4] == [
        "trace_id",
        "span_id",
        "parent_span_id",
        "start_time",
    ]


# ------------------------------------------------------------------------ malformed: the report ---

MALFORMED = [
    ("bad_json", '{"resourceSpans": [', None, None, "json"),
    ("not_traces", '{"resourceLogs": []}', None, "resourceSpans", "traces_data"),
    ("missing_trace_id", _line({"spanId": SPAN_A, "startTimeUnixNano": str(T0)}), 0, "traceId", "required"),
    ("missing_span_id", _line({"traceId": TRACE, "startTimeUnixNano": str(T0)}), 0, "spanId", "required"),
    ("missing_start", _line({"traceId": TRACE, "spanId": SPAN_A}), 0, "startTimeUnixNano", "required"),
    ("bad_hex", _line(_span(traceId="zz" * 16)), 0, "traceId", "hex_id"),
    ("short_span_id", _line(_span(spanId="abcd")), 0, "spanId", "hex_id"),
    ("base64_parent", _line(_span(parentSpanId="7t3hfsPBsXQ=")), 0, "parentSpanId", "hex_id"),
    ("non_numeric_nanos", _line(_span(startTimeUnixNano="yesterday")), 0, "startTimeUnixNano", "integer"),
    ("end_before_start", _line(_span(endTimeUnixNano=str(T0 - 1))), 0, "endTimeUnixNano", "end_after_start"),
    (
        "bad_int_value",
        _line(_span(attributes=[_kv("n", {"intValue": "1.5e3"})])),
        0,
        "attributes.n",
        "integer",
    ),
    ("unknown_value", _line(_span(attributes=[_kv("n", {"mapValue": {}})])), 0, "attributes.n", "any_value"),
    ("bad_kind", _line(_span(kind=9)), 0, "kind", "enum"),
]


@pytest.mark.parametrize(
    ("text", "span", "column", "check"), [m[1:] for m in MALFORMED], ids=[m[0] for m in MALFORMED]
)
def test_each_malformed_case_is_reported_with_its_place_and_nothing_is_read(
    tmp_path: Path, text: str, span: int | None, column: str | None, check: str
) -> None:
    good = _line(_span(SPAN_B), _span(SPAN_C))
    path = _write(tmp_path / "spans.json", good, text, good)
    with pytest.raises(DataValidationError, match="nothing was read") as raised:
        read_otlp_json(path)
    (failure,) = raised.value.failures
    assert failure["file"] == str(path) and failure["line"] == 2
    assert (failure["span"], failure["column"], failure["check"]) == (span, column, check)
    assert f"spans.json:2 span {'-' if span is None else span}" in str(raised.value)


def test_every_failure_is_listed_across_files_and_spans(tmp_path: Path) -> None:
    _write(tmp_path / "a.json", _line(_span(SPAN_A), _span(SPAN_B, traceId="x")), "not json")
    _write(tmp_path / "b.json", _line(_span(SPAN_A, spanId=None, startTimeUnixNano=None)))
    with pytest.raises(DataValidationError) as raised:
        read_otlp_json(tmp_path)
    places = [(Path(str(f["file"])).name, f["line"], f["span"], f["column"]) for f in raised.value.failures]
    assert places == [
        ("a.json", 1, 1, "traceId"),
        ("a.json", 2, None, None),
        ("b.json", 1, 0, "spanId"),
        ("b.json", 1, 0, "startTimeUnixNano"),
    ]
    assert "4 problem(s) in 3 span(s)" in str(raised.value)


def test_an_attribute_of_mixed_types_is_an_error(tmp_path: Path) -> None:
    first = _span(SPAN_A, attributes=[_kv("x", {"stringValue": "a"})])
    second = _span(SPAN_B, attributes=[_kv("x", {"boolValue": False})])
    with pytest.raises(DataValidationError) as raised:
        read_otlp_json(_write(tmp_path / "spans.json", _line(first), _line(second)))
    (failure,) = raised.value.failures
    assert (failure["column"], failure["check"], failure["line"]) == ("x", "attribute_type", 1)
    assert "bool" in str(failure["failure_case"]) and "string" in str(failure["failure_case"])


# -------------------------------------------------------------------------- writer, round trip ---


@pytest.fixture(scope="module")
def chatbot_days() -> pa.Table:
    """Three days of the scenario's chatbot spans (the PII-exposure incident starts on the first)."""
    from workbench.scenarios._chatbot import build_chat_context, generate_chat_day
    from workbench.scenarios._plan import make_plan

    context = build_chat_context(7, 300, make_plan(7))
    return pa.concat_tables([generate_chat_day(context, day).spans for day in (120, 121, 122)])


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values("span_id").reset_index(drop=True)


@pytest.mark.parametrize("name", ["spans.json", "spans.json.gz"])
def test_round_trip_gives_the_same_rows(tmp_path: Path, chatbot_days: pa.Table, name: str) -> None:
    roles = InteractionRoles.otel(attributes=ATTRIBUTES)
    n_lines = write_otlp_json(chatbot_days, tmp_path / name, roles, spans_per_line=300)
    assert n_lines == -(-chatbot_days.num_rows // 300)
    back = read_otlp_json(tmp_path / name, roles=roles)
    assert back.num_rows == chatbot_days.num_rows > 1000
    assert back.schema.field("gen_ai.usage.input_tokens").type == pa.int64()
    expected = _sorted(chatbot_days.to_pandas())
    pd.testing.assert_frame_equal(_sorted(back.select(chatbot_days.column_names).to_pandas()), expected)
    # the writer's span fields follow the GenAI conventions
    kinds = back.to_pandas().groupby("gen_ai.operation.name")["span_kind"].unique().to_dict()
    assert kinds["chat"].tolist() == ["CLIENT"] and kinds["retrieval"].tolist() == ["INTERNAL"]
    errors = back.to_pandas()["error.type"].notna()
    assert (back.to_pandas()["status_code"][errors] == "ERROR").all() and errors.sum() > 0


def test_the_writer_groups_spans_by_resource(tmp_path: Path, chatbot_days: pa.Table) -> None:
    write_otlp_json(
        chatbot_days.slice(0, 200), tmp_path / "s.json", InteractionRoles.otel(), spans_per_line=200
    )
    (document,) = [json.loads(line) for line in (tmp_path / "s.json").read_text().splitlines()]
    regions = [
        [a["value"]["stringValue"] for a in rs["resource"]["attributes"] if a["key"] == "cloud.region"]
        for rs in document["resourceSpans"]
    ]
    assert len(regions) == len({tuple(r) for r in regions}) > 1  # one resourceSpans per distinct region
    span = document["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    assert isinstance(span["startTimeUnixNano"], str) and len(span["traceId"]) == 32
    tokens = [a for s in document["resourceSpans"] for sc in s["scopeSpans"] for sp in sc["spans"]
              for a in sp["attributes"] if a["key"] == "gen_ai.usage.input_tokens"]  # fmt: skip
    assert tokens and all(isinstance(a["value"]["intValue"], str) for a in tokens)


def test_the_writer_refuses_what_otlp_cannot_hold(tmp_path: Path) -> None:
    when = pd.Timestamp("2026-01-01", tz="UTC")
    frame = pd.DataFrame(
        {"trace_id": [TRACE], "span_id": [SPAN_A], "enduser.id": ["u"], "start_time": [when], "when": [when]}
    )
    with pytest.raises(InvalidParameterError, match="column 'when' must hold"):
        write_otlp_json(frame, tmp_path / "s.json", InteractionRoles.otel())
    with pytest.raises(InvalidParameterError, match="frame must have the columns"):
        write_otlp_json(frame.drop(columns="span_id"), tmp_path / "s.json", InteractionRoles.otel())


# ------------------------------------------------------------------------------- through a card ---


def _card(location: Path | str, fmt: str = "otlp_json") -> DataCard:
    source = DataSource(location=str(location), format=fmt)  # type: ignore[arg-type]
    return DataCard.interaction_log(source, InteractionRoles.otel(attributes=ATTRIBUTES))


def test_an_analysis_reads_the_same_from_otlp_json_as_from_parquet(
    tmp_path: Path, chatbot_days: pa.Table
) -> None:
    import pyarrow.parquet as pq

    pq.write_table(chatbot_days, tmp_path / "spans.parquet")
    (tmp_path / "export").mkdir()
    write_otlp_json(chatbot_days, tmp_path / "export" / "spans.json", InteractionRoles.otel())
    from_parquet = open_interaction_log(_card("spans.parquet", "parquet"), base_dir=tmp_path)
    from_otlp = open_interaction_log(_card("export", "otlp_json"), base_dir=tmp_path)
    assert from_otlp.count().execute() == from_parquet.count().execute() == chatbot_days.num_rows
    by_operation = [
        table.group_by("gen_ai.operation.name")
        .aggregate(n=table.count())
        .order_by("gen_ai.operation.name")
        .execute()
        for table in (from_parquet, from_otlp)
    ]
    pd.testing.assert_frame_equal(*by_operation)
    card = _card("unused")
    found = [scan_exposure(table, card, as_of=AS_OF).entities for table in (from_parquet, from_otlp)]
    assert found[0] == found[1] and len(found[0]) > 0  # the planted leak, found the same from both


def test_a_card_whose_roles_the_export_lacks_fails_the_column_check(tmp_path: Path) -> None:
    _write(tmp_path / "spans.json", _line(_span()))  # no enduser.id on any span
    with pytest.raises(DataValidationError, match=r"enduser.id \(role user_id\)"):
        open_interaction_log(_card(tmp_path / "spans.json"))


def test_malformed_otlp_json_through_a_card_is_the_row_level_report(tmp_path: Path) -> None:
    _write(tmp_path / "spans.json", _line(_span()), "{oops")
    with pytest.raises(DataValidationError, match="malformed") as raised:
        open_interaction_log(_card(tmp_path / "spans.json"))
    assert [(f["line"], f["check"]) for f in raised.value.failures] == [(2, "json")]


def test_otlp_json_is_a_source_of_interaction_logs_only() -> None:
    from register.schema import ColumnRoles

    with pytest.raises(ValueError, match="only be the source of an interaction_log card"):
        DataCard(source=DataSource(location="x.json", format="otlp_json"), task="regression",
                 columns=ColumnRoles(event_time="ts", entity_id="id"))  # fmt: skip
    with pytest.raises(InvalidParameterError, match="Parquet or OTLP JSON"):
        open_interaction_log(_card("x.csv", "csv"))
