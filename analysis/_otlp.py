r"""Read and write interaction logs as OTLP JSON: what an OpenTelemetry Collector's file exporter writes.

The format, as relied on here:

- The collector's ``file`` exporter (opentelemetry-collector-contrib ``exporter/fileexporter/README.md``)
  writes the data "in Protobuf JSON encoding using the OpenTelemetry protocol", one
  ``ExportTraceServiceRequest`` per line; the OTLP file-exporter specification
  (opentelemetry-specification ``protocol/file-exporter.md``) makes such a file a JSON-lines file (UTF-8,
  one JSON value a line, ``\n`` separated, no ordering guarantee) of ``TracesData`` objects
  ``{"resourceSpans": [{"resource": {"attributes": [...]}, "scopeSpans": [{"scope": {...},
  "spans": [...]}]}]}``.
- The OTLP JSON encoding (opentelemetry-proto ``docs/specification.md``, "JSON Protobuf Encoding"): keys in
  lowerCamelCase; ``traceId``/``spanId``/``parentSpanId`` as case-insensitive hex strings (16 and 8 bytes),
  not base64; enum fields (``kind``, ``status.code``) as integers; 64-bit integers (``startTimeUnixNano``,
  ``intValue``) as decimal strings, numbers accepted when decoding; unknown fields ignored. An attribute is
  ``{"key": k, "value": AnyValue}`` with exactly one of ``stringValue``, ``boolValue``, ``intValue``,
  ``doubleValue``, ``arrayValue`` (``{"values": [AnyValue...]}``), ``kvlistValue`` (``{"values":
  [{"key", "value"}...]}``) or ``bytesValue`` (base64, the protobuf JSON mapping of ``bytes``).
- GenAI content (semantic-conventions ``docs/gen-ai/gen-ai-spans.md``, v1.37 and later): the opt-in
  ``gen_ai.input.messages`` / ``gen_ai.output.messages`` / ``gen_ai.system_instructions`` are span
  attributes holding JSON strings. Before v1.37 (up to v1.36) instrumentations put them in span events:
  ``gen_ai.content.prompt`` with the attribute ``gen_ai.prompt`` and ``gen_ai.content.completion`` with
  ``gen_ai.completion`` (:data:`LEGACY_CONTENT_EVENTS`); those two attributes are lifted onto the span's
  row under their own names (name them in the card's ``interaction`` roles). Other span events, links,
  dropped counts and trace state are not read.

:func:`read_otlp_json` flattens the spans to one row each: the span fields (trace and span ids, parent id,
start time as a UTC timestamp in microseconds — DuckDB's ``TIMESTAMP WITH TIME ZONE`` precision — duration
in milliseconds from the nanosecond times, ``span_name``, ``span_kind``, ``status_code``,
``status_message``, ``scope_name``), then every resource and span attribute under its key (a span attribute
wins over a resource attribute of the same key; a span field over both). Arrays become list columns,
``intValue`` int64, ``doubleValue`` float64, ``bytesValue`` binary, ``kvlistValue`` a JSON string. An
attribute whose values mix int and double is float64; any other mix of types is an error.

Reading is all or nothing: every malformed line or span is listed (file, line, span index, field, check,
failure case) in one :class:`~analysis.errors.DataValidationError` and no table is returned. The reader
streams: it parses one line at a time and keeps only Arrow batches of the spans read so far (the JSON text
is never held whole; ``.gz`` files are decompressed on the fly).

:func:`write_otlp_json` is the way back (Parquet spans -> OTLP JSON lines, spans grouped by resource), for
tests and for users who need an export to try the reader on.

Examples
--------
>>> import json, os, tempfile
>>> line = {"resourceSpans": [{"resource": {"attributes": [
...     {"key": "cloud.region", "value": {"stringValue": "eu-west-1"}}]},
...     "scopeSpans": [{"scope": {"name": "app"}, "spans": [{
...         "traceId": "5b8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b174",
...         "name": "chat m", "kind": 3, "startTimeUnixNano": "1700000000000000000",
...         "endTimeUnixNano": "1700000001500000000",
...         "attributes": [{"key": "gen_ai.usage.input_tokens", "value": {"intValue": "42"}},
...                        {"key": "gen_ai.response.finish_reasons",
...                         "value": {"arrayValue": {"values": [{"stringValue": "stop"}]}}}]}]}]}]}
>>> path = os.path.join(tempfile.mkdtemp(), "spans.json")
>>> with open(path, "w") as handle:
...     _ = handle.write(json.dumps(line) + "\n")
>>> row = read_otlp_json(path).to_pylist()[0]
>>> row["span_id"], row["duration_ms"], row["span_kind"], row["cloud.region"]
('eee19b7ec3c1b174', 1500.0, 'CLIENT', 'eu-west-1')
>>> row["gen_ai.usage.input_tokens"], row["gen_ai.response.finish_reasons"]
(42, ['stop'])
"""

from __future__ import annotations

import base64
import binascii
import glob
import gzip
import json
import math
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO, Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from analysis.errors import DataValidationError, InvalidParameterError
from register.schema import InteractionRoles

__all__ = [
    "DEFAULT_RESOURCE_ATTRIBUTES",
    "LEGACY_CONTENT_EVENTS",
    "SPAN_FIELDS",
    "otlp_files",
    "read_otlp_json",
    "write_otlp_json",
]

SPAN_KINDS = {0: "UNSPECIFIED", 1: "INTERNAL", 2: "SERVER", 3: "CLIENT", 4: "PRODUCER", 5: "CONSUMER"}
"""``Span.SpanKind`` values (opentelemetry-proto ``trace/v1/trace.proto``) without ``SPAN_KIND_``."""
STATUS_CODES = {0: "UNSET", 1: "OK", 2: "ERROR"}
"""``Status.StatusCode`` values, without the ``STATUS_CODE_`` prefix."""

SPAN_FIELDS = ("span_name", "span_kind", "status_code", "status_message", "scope_name")
"""Columns of span fields that no interaction role names (the ids, start time and duration are roles)."""

LEGACY_CONTENT_EVENTS: Mapping[str, tuple[str, ...]] = {
    "gen_ai.content.prompt": ("gen_ai.prompt",),
    "gen_ai.content.completion": ("gen_ai.completion",),
}
"""Span events of the GenAI conventions up to v1.36 whose attributes are lifted onto the span's row."""

DEFAULT_RESOURCE_ATTRIBUTES = (
    "service.name",
    "service.version",
    "deployment.environment",
    "cloud.provider",
    "cloud.region",
)
"""Columns :func:`write_otlp_json` writes as resource attributes (when the frame has them)."""

OTLP_SUFFIXES = (".json", ".jsonl", ".json.gz", ".jsonl.gz")
"""File names a directory location is searched for."""

BATCH_SPANS = 50_000
MAX_LISTED = 1_000  # failures kept in the error (all are counted)
_SHOWN = 20  # failures written into the error message
_OTHER_SIGNALS = ("resourceLogs", "resourceMetrics", "resourceProfiles")
_LIST_ROLES = ("finish_reasons", "retrieval_document_ids")
_INT_ROLES = ("input_tokens", "output_tokens")


# --------------------------------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------------------------------


def otlp_files(location: str | os.PathLike[str]) -> list[str]:
    """Return the OTLP JSON files a location names, sorted.

    The location is a file, a glob, or a directory searched recursively for ``*.json``, ``*.jsonl`` and
    their ``.gz``.

    Raises
    ------
    DataValidationError
        When nothing matches (one failure row, check ``source_exists``).
    """
    location = os.fspath(location)
    if os.path.isdir(location):
        files = [
            path
            for path in glob.glob(os.path.join(location, "**", "*"), recursive=True)
            if path.endswith(OTLP_SUFFIXES) and os.path.isfile(path)
        ]
    elif any(ch in location for ch in "*?["):
        files = [path for path in glob.glob(location, recursive=True) if os.path.isfile(path)]
    else:
        files = [location] if os.path.isfile(location) else []
    if not files:
        raise DataValidationError(
            f"No OTLP JSON file matches the location {location!r}. Check the path in the data card (a file, "
            "a glob, or a directory holding *.json, *.jsonl or their .gz).",
            [{"column": None, "check": "source_exists", "failure_case": location, "count": 0}],
        )
    return sorted(files)


def _open_text(path: str, mode: str = "r") -> IO[str]:
    if path.endswith(".gz"):
        return gzip.open(path, mode + "t", encoding="utf-8", newline="\n")  # type: ignore[return-value]
    return open(path, mode, encoding="utf-8", newline="\n")  # noqa: SIM115 - the caller closes it


# --------------------------------------------------------------------------------------------------
# Values
# --------------------------------------------------------------------------------------------------


class _Problem(Exception):
    """One malformed field of a span: where (field), which check, and the failure case."""

    def __init__(self, field_name: str, check: str, failure_case: object) -> None:
        super().__init__(field_name)
        self.field = field_name
        self.check = check
        self.failure_case = _short(failure_case)


def _short(value: object, limit: int = 80) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _hex_id(span: Mapping[str, Any], name: str, n_bytes: int, *, required: bool) -> str | None:
    value = span.get(name)
    if value is None or value == "":
        if required:
            raise _Problem(name, "required", "missing")
        return None
    if not isinstance(value, str) or len(value) != 2 * n_bytes:
        raise _Problem(name, "hex_id", value)
    try:
        bytes.fromhex(value)
    except ValueError:
        raise _Problem(name, "hex_id", value) from None
    return value.lower()


def _integer(value: object, name: str) -> int:
    """A 64-bit integer as OTLP JSON writes it: a decimal string, or a JSON number when decoding."""
    if isinstance(value, bool):
        raise _Problem(name, "integer", value)
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit() and value.isascii():
        return int(value)
    raise _Problem(name, "integer", value)


def _nanos(span: Mapping[str, Any], name: str, *, required: bool) -> int | None:
    value = span.get(name)
    if value is None:
        if required:
            raise _Problem(name, "required", "missing")
        return None
    nanos = _integer(value, name)
    if not 0 <= nanos < 2**63:
        raise _Problem(name, "unix_nanos", value)
    return nanos


def _enum(value: object, names: Mapping[int, str], prefix: str, name: str) -> str:
    if value is None:
        return names[0]
    if isinstance(value, str) and value.startswith(prefix) and value[len(prefix) :] in names.values():
        return value[len(prefix) :]  # protobuf JSON's name form: OTLP forbids it, some write it
    if isinstance(value, int) and not isinstance(value, bool) and value in names:
        return names[value]
    raise _Problem(name, "enum", value)


def _double(value: object, name: str) -> float:
    if isinstance(value, bool):
        raise _Problem(name, "double", value)
    if isinstance(value, int | float):
        return float(value)
    if value in ("NaN", "Infinity", "-Infinity"):  # the protobuf JSON mapping of non-finite doubles
        return float(str(value).replace("Infinity", "inf"))
    raise _Problem(name, "double", value)


def _any_value(value: object, name: str) -> tuple[str, object]:
    """Decode one ``AnyValue``: return (kind, Python value); kind is the column type (see ``_ARROW``)."""
    if not isinstance(value, dict) or len(value) != 1:
        if value == {}:
            return "null", None  # an empty AnyValue: no value set
        raise _Problem(name, "any_value", value)
    ((kind, payload),) = value.items()
    if kind == "stringValue":
        if not isinstance(payload, str):
            raise _Problem(name, "string", payload)
        return "string", payload
    if kind == "boolValue":
        if not isinstance(payload, bool):
            raise _Problem(name, "bool", payload)
        return "bool", payload
    if kind == "intValue":
        number = _integer(payload, name)
        if not -(2**63) <= number < 2**63:
            raise _Problem(name, "integer", payload)
        return "int", number
    if kind == "doubleValue":
        return "double", _double(payload, name)
    if kind == "bytesValue":
        try:
            return "bytes", base64.b64decode(str(payload), validate=True)
        except (binascii.Error, ValueError):
            raise _Problem(name, "base64", payload) from None
    if kind == "arrayValue":
        items = payload.get("values", []) if isinstance(payload, dict) else None
        if not isinstance(items, list):
            raise _Problem(name, "array", payload)
        decoded = [_any_value(item, name) for item in items]
        kinds = {item_kind for item_kind, _ in decoded if item_kind != "null"}
        element = _unify(kinds)
        if element is None or element.startswith(("list<", "json")):
            raise _Problem(name, "array", f"elements of mixed or nested types {sorted(kinds)}")
        return f"list<{element}>", [item for _, item in decoded]
    if kind == "kvlistValue":
        pairs = payload.get("values", []) if isinstance(payload, dict) else None
        if not isinstance(pairs, list):
            raise _Problem(name, "kvlist", payload)
        return "json", json.dumps(_kvlist(pairs, name), default=_bytes_text)
    raise _Problem(name, "any_value", value)


def _kvlist(pairs: list[Any], name: str) -> dict[str, object]:
    document: dict[str, object] = {}
    for pair in pairs:
        if not isinstance(pair, dict) or not isinstance(pair.get("key"), str):
            raise _Problem(name, "kvlist", pair)
        kind, item = _any_value(pair.get("value", {}), f"{name}.{pair['key']}")
        document[pair["key"]] = json.loads(str(item)) if kind == "json" else item
    return document


def _bytes_text(value: object) -> str:
    return base64.b64encode(value).decode() if isinstance(value, bytes) else str(value)


def _unify(kinds: set[str]) -> str | None:
    """The one column kind values of these kinds fit in ("null" when none), or None when they do not mix."""
    kinds = {kind for kind in kinds if kind not in ("null", "list<null>")} or (kinds & {"list<null>"})
    if not kinds:
        return "null"
    if len(kinds) == 1:
        return next(iter(kinds))
    if kinds == {"int", "double"}:
        return "double"
    if kinds == {"list<int>", "list<double>"}:
        return "list<double>"
    return None


_ARROW: dict[str, pa.DataType] = {
    "null": pa.null(),
    "string": pa.string(),
    "json": pa.string(),
    "bool": pa.bool_(),
    "int": pa.int64(),
    "double": pa.float64(),
    "bytes": pa.binary(),
}


def _arrow_type(kind: str) -> pa.DataType:
    if kind.startswith("list<"):
        return pa.list_(_ARROW[kind[5:-1]])
    return _ARROW[kind]


def _attributes(items: object, name: str) -> dict[str, tuple[str, object]]:
    if items is None:
        return {}
    if not isinstance(items, list):
        raise _Problem(name, "attributes", items)
    decoded: dict[str, tuple[str, object]] = {}
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("key"), str):
            raise _Problem(name, "attribute_key", item)
        decoded[item["key"]] = _any_value(item.get("value", {}), f"{name}.{item['key']}")
    return decoded


# --------------------------------------------------------------------------------------------------
# Reader
# --------------------------------------------------------------------------------------------------


@dataclass
class _Reader:
    """Flattens spans into Arrow batches; collects every problem with its place."""

    names: dict[str, str]  # span field -> column name
    events: Mapping[str, tuple[str, ...]]
    batches: list[tuple[int, dict[str, list[object]]]] = field(default_factory=list)
    rows: list[dict[str, tuple[str, object]]] = field(default_factory=list)
    kinds: dict[str, dict[str, tuple[str, int, int]]] = field(default_factory=dict)  # key -> kind -> place
    failures: list[dict[str, object]] = field(default_factory=list)
    n_failures: int = 0
    n_spans: int = 0

    def fail(
        self, path: str, line: int, span: int | None, column: str | None, check: str, case: object
    ) -> None:
        self.n_failures += 1
        self.rows.clear()  # all or nothing: stop keeping rows once one failed
        self.batches.clear()
        if len(self.failures) < MAX_LISTED:
            self.failures.append(
                {"file": path, "line": line, "span": span, "column": column, "check": check,
                 "failure_case": _short(case), "count": 1}
            )  # fmt: skip

    def read_file(self, path: str) -> None:
        try:
            with _open_text(path) as handle:
                for number, text in enumerate(handle, start=1):
                    if text.strip():
                        self.read_line(path, number, text)
        except (OSError, UnicodeDecodeError, EOFError) as error:
            self.fail(path, 0, None, None, "readable", f"{type(error).__name__}: {error}")

    def read_line(self, path: str, number: int, text: str) -> None:
        try:
            document = json.loads(text)
        except json.JSONDecodeError as error:
            self.fail(path, number, None, None, "json", f"{error.msg} at column {error.colno}")
            return
        if not isinstance(document, dict) or not isinstance(document.get("resourceSpans", []), list):
            self.fail(path, number, None, "resourceSpans", "traces_data", document)
            return
        if "resourceSpans" not in document:
            other = next((key for key in _OTHER_SIGNALS if key in document), None)
            if other is not None or not document:
                self.fail(path, number, None, "resourceSpans", "traces_data", other or "empty object")
            return  # an object with only unknown fields: ignored, as OTLP receivers must
        index = 0
        for r, resource_spans in enumerate(document["resourceSpans"]):
            where = f"resourceSpans[{r}]"
            try:
                if not isinstance(resource_spans, dict):
                    raise _Problem(where, "resource_spans", resource_spans)
                resource = resource_spans.get("resource") or {}
                resource_attributes = _attributes(resource.get("attributes"), f"{where}.resource.attributes")
                scopes = resource_spans.get("scopeSpans", [])
                if not isinstance(scopes, list):
                    raise _Problem(f"{where}.scopeSpans", "scope_spans", scopes)
            except _Problem as problem:
                self.fail(path, number, None, problem.field, problem.check, problem.failure_case)
                continue
            for s, scope_spans in enumerate(scopes):
                spans = scope_spans.get("spans", []) if isinstance(scope_spans, dict) else None
                if not isinstance(spans, list):
                    self.fail(path, number, None, f"{where}.scopeSpans[{s}]", "scope_spans", scope_spans)
                    continue
                scope = scope_spans.get("scope") or {}
                scope_name = scope.get("name") if isinstance(scope, dict) else None
                for span in spans:
                    self.read_span(path, number, index, span, resource_attributes, scope_name)
                    index += 1

    def read_span(
        self,
        path: str,
        number: int,
        index: int,
        span: object,
        resource_attributes: dict[str, tuple[str, object]],
        scope_name: object,
    ) -> None:
        self.n_spans += 1
        problems: list[_Problem] = []

        def checked(function: Any, *args: Any, **kwargs: Any) -> Any:
            try:
                return function(*args, **kwargs)
            except _Problem as problem:
                problems.append(problem)
                return None

        if not isinstance(span, dict):
            self.fail(path, number, index, None, "span", span)
            return
        trace_id = checked(_hex_id, span, "traceId", 16, required=True)
        span_id = checked(_hex_id, span, "spanId", 8, required=True)
        parent_id = checked(_hex_id, span, "parentSpanId", 8, required=False)
        start = checked(_nanos, span, "startTimeUnixNano", required=True)
        end = checked(_nanos, span, "endTimeUnixNano", required=False)
        if start is not None and end is not None and end < start:
            problems.append(_Problem("endTimeUnixNano", "end_after_start", span.get("endTimeUnixNano")))
        kind = checked(_enum, span.get("kind"), SPAN_KINDS, "SPAN_KIND_", "kind")
        status = span.get("status") or {}
        code = checked(_enum, status.get("code") if isinstance(status, dict) else status, STATUS_CODES,
                       "STATUS_CODE_", "status.code")  # fmt: skip
        attributes = checked(_attributes, span.get("attributes"), "attributes") or {}
        lifted = checked(self.lifted, span.get("events"))
        name = span.get("name")
        if name is not None and not isinstance(name, str):
            problems.append(_Problem("name", "string", name))
        for problem in problems:
            self.fail(path, number, index, problem.field, problem.check, problem.failure_case)
        if problems or self.n_failures:
            return
        row = {**resource_attributes, **(lifted or {}), **attributes}
        message = status.get("message") if isinstance(status, dict) else None
        fields: dict[str, tuple[str, object]] = {
            self.names["trace_id"]: ("string", trace_id),
            self.names["span_id"]: ("string", span_id),
            self.names["parent_span_id"]: ("string", parent_id),
            self.names["start_time"]: ("time", start),
            self.names["duration_ms"]: ("double", None if end is None else (end - start) / 1e6),
            "span_name": ("string", name or None),
            "span_kind": ("string", kind),
            "status_code": ("string", code),
            "status_message": ("string", message or None),
            "scope_name": ("string", scope_name if isinstance(scope_name, str) and scope_name else None),
        }
        for key in fields:
            row.pop(key, None)
        self.note_kinds(row, path, number, index)
        self.rows.append({**fields, **row})
        if len(self.rows) >= BATCH_SPANS:
            self.flush()

    def lifted(self, events: object) -> dict[str, tuple[str, object]]:
        if not events:
            return {}
        if not isinstance(events, list):
            raise _Problem("events", "events", events)
        found: dict[str, tuple[str, object]] = {}
        for e, event in enumerate(events):
            keys = self.events.get(str(event.get("name"))) if isinstance(event, dict) else None
            if keys:
                attributes = _attributes(event.get("attributes"), f"events[{e}].attributes")
                for key in keys:
                    if key in attributes and key not in found:  # the first such event's value
                        found[key] = attributes[key]
        return found

    def note_kinds(self, row: Mapping[str, tuple[str, object]], path: str, number: int, index: int) -> None:
        for key, (kind, _) in row.items():
            seen = self.kinds.setdefault(key, {})
            if kind not in seen:
                seen[kind] = (path, number, index)

    def flush(self) -> None:
        if not self.rows:
            return
        columns: dict[str, list[object]] = {}
        for position, row in enumerate(self.rows):
            for key, (_, value) in row.items():
                column = columns.get(key)
                if column is None:
                    column = columns[key] = [None] * position
                column.append(value)
            for column in columns.values():
                if len(column) == position:
                    column.append(None)
        self.batches.append((len(self.rows), columns))
        self.rows.clear()

    def table(self, roles: InteractionRoles | None) -> pa.Table:
        self.flush()
        span_columns = [self.names[name] for name in ("trace_id", "span_id", "parent_span_id", "start_time",
                                                      "duration_ms")] + list(SPAN_FIELDS)  # fmt: skip
        types: dict[str, pa.DataType] = {}
        for key, seen in self.kinds.items():
            unified = _unify(set(seen))
            if unified is None:
                places = " and ".join(
                    f"{kind} ({os.path.basename(p)}:{n} span {s})" for kind, (p, n, s) in seen.items()
                )
                first = next(iter(seen.values()))
                self.fail(first[0], first[1], first[2], key, "attribute_type", places)
                continue
            types[key] = _arrow_type(unified)
        for name in span_columns:
            types[name] = pa.string()
        types[self.names["start_time"]] = pa.timestamp("us", tz="UTC")
        types[self.names["duration_ms"]] = pa.float64()
        if roles is not None:
            for role, column in roles.columns.items():
                if column not in types and role != "user_id":
                    types[column] = _role_type(role)
        if self.n_failures:
            return pa.table({})
        order = span_columns + [key for key in types if key not in span_columns]
        schema = pa.schema([(name, types[name]) for name in order])
        start = self.names["start_time"]
        tables = [_batch_table(n_rows, columns, schema, start) for n_rows, columns in self.batches]
        self.batches.clear()
        return pa.concat_tables(tables) if tables else schema.empty_table()


def _role_type(role: str) -> pa.DataType:
    """Type of a role column no span carried (OTLP has no null: an absent attribute is a null)."""
    if role in _LIST_ROLES:
        return pa.list_(pa.string())
    if role in _INT_ROLES:
        return pa.int64()
    return pa.string()


def _batch_table(n_rows: int, columns: dict[str, list[object]], schema: pa.Schema, start: str) -> pa.Table:
    arrays = []
    for schema_field in schema:
        values = columns.get(schema_field.name)
        if values is None:
            arrays.append(pa.nulls(n_rows, schema_field.type))
        elif schema_field.name == start:
            nanos = pa.array(values, type=pa.int64())
            arrays.append(pc.divide(nanos, 1000).cast(pa.timestamp("us", tz="UTC")))
        else:
            arrays.append(pa.array(values, type=schema_field.type))
    return pa.Table.from_arrays(arrays, schema=schema)


def _span_names(roles: InteractionRoles | None) -> dict[str, str]:
    defaults = InteractionRoles.OTEL_ATTRIBUTES
    names = {}
    for role in ("trace_id", "span_id", "parent_span_id", "start_time", "duration_ms"):
        given = getattr(roles, role, None) if roles is not None else None
        names[role] = given or defaults[role]
    return names


def read_otlp_json(
    path_or_glob: str | os.PathLike[str],
    *,
    roles: InteractionRoles | None = None,
    events: Mapping[str, Sequence[str]] | None = None,
) -> pa.Table:
    r"""Read OTLP JSON lines of spans (a collector's file export) into one row per span.

    Parameters
    ----------
    path_or_glob : path or str
        A file (``.json``/``.jsonl``, optionally gzip-compressed as ``.gz``), a glob, or a directory searched
        recursively for such files.
    roles : InteractionRoles, optional
        The card's roles: the span ids, start time and duration go under the role's column names (the
        OpenTelemetry names of ``InteractionRoles.OTEL_ATTRIBUTES`` when None), and a role column no span
        carries is added as nulls (OTLP writes no null: an absent attribute is a null).
        The ``user_id`` column is never added: a log without users fails the card's column check.
    events : mapping, optional
        Span event name -> attribute keys lifted onto the span's row (the first such event's value; a span
        attribute of the same key wins). Default :data:`LEGACY_CONTENT_EVENTS`.

    Returns
    -------
    pyarrow.Table
        The span fields (see the module docstring), then the attributes, in order of first appearance.

    Raises
    ------
    DataValidationError
        When no file matches, or listing every malformed line and span (``failures``: file, line, span index
        in the line, column (the field), check, failure_case); nothing is returned then.

    Examples
    --------
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "bad.json")
    >>> with open(path, "w") as handle:
    ...     _ = handle.write('{"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "xyz", '
    ...                      '"spanId": "eee19b7ec3c1b174"}]}]}]}\n')
    >>> try:
    ...     read_otlp_json(path)
    ... except DataValidationError as error:
    ...     [(f["line"], f["span"], f["column"], f["check"]) for f in error.failures]
    [(1, 0, 'traceId', 'hex_id'), (1, 0, 'startTimeUnixNano', 'required')]
    """
    if roles is not None and not isinstance(roles, InteractionRoles):
        raise InvalidParameterError(
            f"roles must be InteractionRoles or None. Got {type(roles).__name__} instead."
        )
    chosen = LEGACY_CONTENT_EVENTS if events is None else events
    lifted = {name: tuple(keys) for name, keys in chosen.items()}
    reader = _Reader(names=_span_names(roles), events=lifted)
    for path in otlp_files(path_or_glob):
        reader.read_file(path)
    table = reader.table(roles)
    if reader.n_failures:
        raise DataValidationError(_failure_message(reader), reader.failures)
    return table


def _failure_message(reader: _Reader) -> str:
    lines = [
        f"  - {f['file']}:{f['line']} span {f['span'] if f['span'] is not None else '-'} "
        f"{f['column'] or '(line)'} [{f['check']}]: {f['failure_case']}"
        for f in reader.failures[:_SHOWN]
    ]
    more = reader.n_failures - len(lines)
    if more > 0:
        lines.append(f"  ... and {more} more (the first {len(reader.failures)} are in .failures)")
    return (
        f"The OTLP JSON export is malformed: {reader.n_failures} problem(s) in {reader.n_spans} span(s); "
        "nothing was read.\n"
        + "\n".join(lines)
        + "\nFix or drop those lines (each line must be an OTLP/JSON TracesData object), then read again."
    )


# --------------------------------------------------------------------------------------------------
# Writer
# --------------------------------------------------------------------------------------------------


def _any_json(value: object, column: str) -> dict[str, object] | None:
    """Encode one Python value as an OTLP ``AnyValue`` (None for a null, which OTLP leaves out)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": str(value)}
    if isinstance(value, float):
        return {"doubleValue": value if math.isfinite(value) else ("Infinity" if value > 0 else "-Infinity")}
    if isinstance(value, str):
        return {"stringValue": value}
    if isinstance(value, bytes):
        return {"bytesValue": base64.b64encode(value).decode()}
    if isinstance(value, list | tuple):
        return {"arrayValue": {"values": [_any_json(item, column) or {} for item in value]}}
    if isinstance(value, dict):
        pairs = [{"key": str(k), "value": _any_json(v, column) or {}} for k, v in value.items()]
        return {"kvlistValue": {"values": pairs}}
    raise InvalidParameterError(
        f"column {column!r} must hold strings, numbers, booleans, bytes, lists or mappings to be written as "
        f"OTLP attributes. Got a {type(value).__name__} instead; convert it (e.g. to an ISO string) first."
    )


def _key_values(row: Mapping[str, object], columns: Sequence[str]) -> list[dict[str, object]]:
    pairs: list[dict[str, object]] = []
    for column in columns:
        encoded = _any_json(row[column], column)
        if encoded is not None:
            pairs.append({"key": column, "value": encoded})
    return pairs


def _derived_span_fields(row: Mapping[str, object], roles: InteractionRoles) -> tuple[str, int, int]:
    """Span name, kind and status code for a row without them: the GenAI conventions' choices."""
    operation = row.get(roles.operation_name) if roles.operation_name else None
    target = None
    for role in ("request_model", "tool_name"):
        column = getattr(roles, role)
        if column and row.get(column):
            target = row[column]
            break
    name = " ".join(str(part) for part in (operation, target) if part) or "span"
    kind = 3 if roles.provider and row.get(roles.provider) else 1  # CLIENT for a model call, else INTERNAL
    code = 2 if roles.error_type and row.get(roles.error_type) else 0  # ERROR when error.type is set
    return name, kind, code


def _spans(table: pa.Table, roles: InteractionRoles, resource: Sequence[str]) -> Iterator[tuple[tuple, dict]]:
    names = _span_names(roles)
    start = table[names["start_time"]]
    if not pa.types.is_timestamp(start.type):
        raise InvalidParameterError(
            f"column {names['start_time']!r} must be a timestamp. Got {start.type} instead."
        )
    start_ns = pc.cast(pc.cast(start, pa.timestamp("ns", tz=start.type.tz)), pa.int64()).to_pylist()
    span_fields = set(names.values()) | set(SPAN_FIELDS)
    attributes = [name for name in table.column_names if name not in span_fields and name not in resource]
    offset = 0
    for batch in table.to_batches(max_chunksize=10_000):
        for row in batch.to_pylist():
            nanos = start_ns[offset]
            offset += 1
            duration = row.get(names["duration_ms"])
            derived = _derived_span_fields(row, roles)
            span: dict[str, object] = {
                "traceId": row[names["trace_id"]],
                "spanId": row[names["span_id"]],
                "parentSpanId": row.get(names["parent_span_id"]) or "",
                "name": row.get("span_name") or derived[0],
                "kind": next((k for k, v in SPAN_KINDS.items() if v == row.get("span_kind")), derived[1]),
                "startTimeUnixNano": str(nanos),
            }
            if duration is not None and not (isinstance(duration, float) and math.isnan(duration)):
                span["endTimeUnixNano"] = str(nanos + round(duration * 1e6))
            span["attributes"] = _key_values(row, attributes)
            code = next((k for k, v in STATUS_CODES.items() if v == row.get("status_code")), derived[2])
            status: dict[str, object] = {"code": code} if code else {}
            if row.get("status_message"):
                status["message"] = row["status_message"]
            span["status"] = status
            key = (row.get("scope_name"), *(json.dumps(row[name], default=str) for name in resource))
            yield key, {"resource": _key_values(row, resource), "scope": row.get("scope_name"), "span": span}


def write_otlp_json(
    frame: pd.DataFrame | pa.Table,
    path: str | os.PathLike[str],
    roles: InteractionRoles,
    *,
    resource_attributes: Sequence[str] = DEFAULT_RESOURCE_ATTRIBUTES,
    spans_per_line: int = 1_000,
) -> int:
    """Write spans (one row each, as an interaction log holds them) as OTLP JSON lines.

    Each line is one ``TracesData`` object of up to ``spans_per_line`` spans, grouped by resource (the values
    of ``resource_attributes``) and scope, as a collector's file exporter writes them. The role columns of
    the span ids, start time and duration become span fields; every other column a span attribute (a null
    is left out). ``span_name``, ``span_kind``, ``status_code``, ``status_message`` and ``scope_name``
    columns are written as span fields when present; otherwise the name is ``{operation} {model or tool}``,
    the kind CLIENT for a call with a provider (else INTERNAL), and the status ERROR when the error type is
    set. A path ending in ``.gz`` is gzip-compressed.

    Parameters
    ----------
    frame : pandas.DataFrame or pyarrow.Table
        The spans. Pass Arrow (e.g. the Parquet as read by pyarrow) to keep integer columns with nulls
        integer: pandas holds them as floats, written as doubles.
    path : path
        The file to write (overwritten).
    roles : InteractionRoles
        The roles of the columns (the span fields' columns).
    resource_attributes : sequence of str
        Columns written as resource attributes when the frame has them.
    spans_per_line : int, default 1000
        Spans per line (per export request).

    Returns
    -------
    int
        The number of lines written.
    """
    if not isinstance(roles, InteractionRoles):
        raise InvalidParameterError(f"roles must be InteractionRoles. Got {type(roles).__name__} instead.")
    if spans_per_line < 1:
        raise InvalidParameterError(f"spans_per_line must be at least 1. Got {spans_per_line} instead.")
    table = frame if isinstance(frame, pa.Table) else pa.Table.from_pandas(frame, preserve_index=False)
    required = (roles.trace_id, roles.span_id, roles.start_time)
    missing = [column for column in required if column not in table.column_names]
    if missing:
        raise InvalidParameterError(
            f"frame must have the columns its roles name. Got no {missing}; pass the roles of its columns."
        )
    resource = [name for name in resource_attributes if name in table.column_names]
    n_lines = 0
    with _open_text(os.fspath(path), "w") as handle:
        chunk: list[tuple[tuple, dict]] = []
        for item in _spans(table, roles, resource):
            chunk.append(item)
            if len(chunk) == spans_per_line:
                handle.write(_export_request(chunk) + "\n")
                n_lines += 1
                chunk = []
        if chunk:
            handle.write(_export_request(chunk) + "\n")
            n_lines += 1
    return n_lines


def _export_request(chunk: list[tuple[tuple, dict]]) -> str:
    groups: dict[tuple, list[dict]] = {}
    for key, item in chunk:
        groups.setdefault(key, []).append(item)
    resource_spans = []
    for items in groups.values():
        scope = {"name": items[0]["scope"]} if items[0]["scope"] else {}
        resource_spans.append(
            {
                "resource": {"attributes": items[0]["resource"]},
                "scopeSpans": [{"scope": scope, "spans": [item["span"] for item in items]}],
            }
        )
    return json.dumps({"resourceSpans": resource_spans}, separators=(",", ":"), ensure_ascii=False)
