"""Turning raw rows (cells of a CSV/XLSX, objects of a JSON/YAML document) into register records.

Every problem is collected as a failure row ``{file, row, column, problem, value, message}`` with a
stable ``problem`` code, and the import raises one :class:`~register.errors.ValidationFailed` at the
end (pandera style). Problem codes:

``malformed_file`` (not JSON/YAML/CSV/XLSX, bad encoding, wrong shape, nested too deeply, YAML aliases
expanding too far), ``too_large`` (a file over 50 MB), ``missing_file``,
``unsupported_format``, ``unknown_entity``, ``missing_sheet``, ``missing_column``, ``unknown_column``,
``duplicate_column``, ``wrong_cell_count``, ``missing_value``, ``invalid_value``, ``invalid_time``,
``duplicate_id``, ``unknown_reference``, ``inconsistent_times``.
"""

from __future__ import annotations

import enum
import json
import types
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from typing import Annotated, Any, Literal, TypedDict

from pydantic import BaseModel, ValidationError

from register._parsing import load_json
from register.errors import ValidationFailed
from register.io._bundle import ENTITY_ORDER
from register.schema import (
    ActionItem,
    AiSystem,
    Classification,
    Evidence,
    Incident,
    Notification,
    TimelineEvent,
    as_utc,
)

__all__ = [
    "ENTITY_MODELS",
    "FieldKind",
    "Failures",
    "Located",
    "check_incident_times",
    "decode_cell",
    "encode_cell",
    "field_kinds",
    "parse_time",
    "records_from_rows",
]

ENTITY_MODELS: dict[str, type[BaseModel]] = {
    "ai_systems": AiSystem,
    "incidents": Incident,
    "timeline_events": TimelineEvent,
    "action_items": ActionItem,
    "notifications": Notification,
    "evidence": Evidence,
    "classifications": Classification,
}
"""The record type of each bundle entity (field names = column names)."""

FieldKind = Literal["text", "int", "bool", "time", "list", "json", "scalar"]


class Failures:
    """A collector of failure rows; :meth:`raise_if_any` raises them all at once."""

    def __init__(self) -> None:
        self.rows: list[dict[str, object]] = []

    def add(
        self,
        file: str | None,
        row: int | str | None,
        column: str | None,
        problem: str,
        value: object = None,
        message: str = "",
    ) -> None:
        """Record one problem."""
        if value is not None and not isinstance(value, str | int | float | bool):
            value = repr(value)
        if isinstance(value, str) and len(value) > 200:
            value = value[:197] + "..."
        self.rows.append(
            {
                "file": file,
                "row": row,
                "column": column,
                "problem": problem,
                "value": value,
                "message": message,
            }
        )

    def extend(self, rows: Iterable[Mapping[str, object]]) -> None:
        """Add rows that another check produced."""
        for row in rows:
            self.rows.append(dict(row))

    def __len__(self) -> int:
        return len(self.rows)

    def raise_if_any(self, what: str) -> None:
        """Raise :class:`ValidationFailed` holding every row, if there is any."""
        if not self.rows:
            return
        first = self.rows[0]
        where = f"{first['file']}" + (f", row {first['row']}" if first["row"] is not None else "")
        column = f", column {first['column']}" if first["column"] else ""
        raise ValidationFailed(
            f"{what} must be valid register data; nothing was imported. Got {len(self.rows)} problem(s); "
            f"first: {first['problem']} ({where}{column}): {first['message'] or first['value']}",
            self.rows,
        )


@dataclass
class Located:
    """Records of one entity with where each came from (file, row) for cross-entity failures."""

    records: list[BaseModel]
    locations: list[tuple[str, int | str | None]]


_NONE = Located([], [])
"""No records (an entity the bundle does not hold)."""


def _plain(annotation: Any) -> Any:
    """Return the type inside ``Annotated[X, ...]`` (a length limit, a pattern...), else ``annotation``."""
    if typing.get_origin(annotation) is Annotated:
        return typing.get_args(annotation)[0]
    return annotation


def _unwrap(annotation: Any) -> tuple[Any, bool]:
    """Return (inner annotation, nullable) for ``X | None``, without ``Annotated`` metadata."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [_plain(a) for a in typing.get_args(annotation) if a is not type(None)]
        nullable = len(args) < len(typing.get_args(annotation))
        if len(args) == 1:
            return args[0], nullable
        return typing.Union[tuple(args)], nullable  # noqa: UP007 - rebuilt union of the remaining types
    return _plain(annotation), False


def _kind_of(annotation: Any) -> FieldKind:
    inner, _ = _unwrap(annotation)
    origin = typing.get_origin(inner)
    if inner is datetime:
        return "time"
    if inner is bool:
        return "bool"
    if inner is int:
        return "int"
    if inner is str:
        return "text"
    if origin is list:
        return "list"
    if origin is Literal or (isinstance(inner, type) and issubclass(inner, enum.Enum)):
        return "scalar"
    return "json"


@cache
def field_kinds(model: type[BaseModel]) -> dict[str, tuple[FieldKind, bool, bool]]:
    """Return ``{field: (kind, nullable, required)}`` for a record type.

    Examples
    --------
    >>> field_kinds(Incident)["aware_at"], field_kinds(Incident)["tags"]
    (('time', False, True), ('list', False, False))
    """
    kinds: dict[str, tuple[FieldKind, bool, bool]] = {}
    for name, info in model.model_fields.items():
        _, nullable = _unwrap(info.annotation)
        kinds[name] = (_kind_of(info.annotation), nullable, info.is_required())
    return kinds


def parse_time(value: object) -> datetime:
    """Parse an ISO-8601 time (offsets converted to UTC, naive taken as UTC).

    Raises ``ValueError`` for anything else (numbers, dates in other formats...).

    Examples
    --------
    >>> parse_time("2026-03-01T10:00:00+02:00").isoformat()
    '2026-03-01T08:00:00+00:00'
    >>> parse_time("2026-03-01 10:00:00.123456Z").isoformat()
    '2026-03-01T10:00:00.123456+00:00'
    """
    if isinstance(value, datetime):
        return as_utc(value)
    if isinstance(value, date):
        return as_utc(datetime(value.year, value.month, value.day))
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"a time must be an ISO-8601 string. Got {value!r} instead.")
    text = value.strip()
    if len(text) < 10 or not text[:4].isdigit():
        raise ValueError(f"a time must be ISO-8601 (e.g. 2026-03-01T10:00:00Z). Got {value!r} instead.")
    return as_utc(datetime.fromisoformat(text))


def encode_cell(value: object, kind: FieldKind) -> str | int | None:
    """Encode one field value for a CSV/XLSX cell (None -> empty cell).

    Examples
    --------
    >>> encode_cell(["a", "b"], "list"), encode_cell(True, "bool"), encode_cell(None, "text")
    ('["a", "b"]', 'true', None)
    """
    if value is None:
        return None
    if kind == "list":
        return json.dumps(_jsonable(value), ensure_ascii=False)
    if kind == "json":
        return json.dumps(_jsonable(value), ensure_ascii=False, sort_keys=False)
    if kind == "bool":
        return "true" if value else "false"
    if kind == "time":
        return as_utc(value).isoformat()  # type: ignore[arg-type]
    if kind == "int":
        return int(value)  # type: ignore[call-overload]
    if isinstance(value, enum.Enum):
        return str(value.value)
    return str(value)


def _jsonable(value: object) -> object:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, list):
        return [_jsonable(item) for item in value]
    if isinstance(value, enum.Enum):
        return value.value
    return value


def decode_cell(text: object, kind: FieldKind, *, nullable: bool, required: bool) -> object:
    """Decode one CSV/XLSX cell (a string, or an XLSX typed value) into a field value.

    Empty cells are null, except for a required text field (empty text). ``ValueError`` on bad
    JSON or times; other checks are pydantic's.

    Examples
    --------
    >>> decode_cell('["x"]', "list", nullable=False, required=False)
    ['x']
    >>> decode_cell("", "text", nullable=True, required=False) is None
    True
    """
    if isinstance(text, datetime):
        text = as_utc(text).isoformat() if kind != "time" else text
    if isinstance(text, bool):
        text = "true" if text else "false"
    if isinstance(text, float) and text.is_integer() and kind in ("int", "text", "scalar"):
        text = str(int(text))
    if isinstance(text, int | float) and not isinstance(text, bool):
        text = str(text)
    if text is None or text == "":
        if kind == "text" and required and not nullable:
            return ""
        if kind == "list" and not nullable:
            return []
        return None
    if kind in ("list", "json"):
        decoded = load_json(text, what="a JSON cell")  # type: ignore[arg-type]
        if kind == "list" and not isinstance(decoded, list):
            raise ValueError(f'must be a JSON array such as ["a", "b"]. Got {text!r} instead.')
        return decoded
    if kind == "time":
        return parse_time(text)
    return text


def records_from_rows(
    entity: str,
    rows: Iterable[tuple[int | str | None, Mapping[str, object]]],
    *,
    file: str,
    failures: Failures,
    cells_are_text: bool,
) -> Located:
    """Validate raw rows of one entity into records, adding every problem to ``failures``.

    Parameters
    ----------
    entity : str
        One of :data:`~register.io.ENTITY_ORDER`.
    rows : iterable of (row, mapping)
        The row number as the user sees it, and the raw values by column.
    file : str
        Shown in failure rows.
    failures : Failures
        Collector of problems.
    cells_are_text : bool
        ``True`` for CSV/XLSX cells (lists and nested objects as JSON text, empty = null);
        ``False`` for JSON/YAML objects (native lists and objects).

    Returns
    -------
    Located
        The valid records and their locations (invalid rows are left out).
    """
    model = ENTITY_MODELS[entity]
    kinds = field_kinds(model)
    located = Located(records=[], locations=[])
    for row_number, raw in rows:
        if not isinstance(raw, Mapping):
            failures.add(
                file, row_number, None, "invalid_value", raw, f"each {entity} entry must be an object/mapping"
            )
            continue
        values: dict[str, object] = {}
        row_ok = True
        for column, value in raw.items():
            if column not in kinds:
                if not cells_are_text:
                    failures.add(
                        file,
                        row_number,
                        str(column),
                        "unknown_column",
                        None,
                        f"{entity} has no field {column!r}; fields: {', '.join(kinds)}",
                    )
                    row_ok = False
                continue
            kind, nullable, required = kinds[column]
            try:
                if cells_are_text:
                    values[column] = decode_cell(value, kind, nullable=nullable, required=required)
                elif kind == "time" and value is not None:
                    values[column] = parse_time(value)
                else:
                    values[column] = value
            except (ValueError, TypeError, RecursionError) as exc:
                problem = "invalid_time" if kind == "time" else "invalid_value"
                failures.add(file, row_number, column, problem, value, str(exc))
                row_ok = False
        if not row_ok:
            continue
        try:
            record = model.model_validate(values)
        except ValidationError as exc:
            for error in exc.errors():
                field = str(error["loc"][0]) if error["loc"] else None
                problem = "missing_value" if error["type"] == "missing" else "invalid_value"
                if field is not None and kinds.get(field, ("",))[0] == "time":
                    problem = "invalid_time" if problem == "invalid_value" else problem
                path = ".".join(str(part) for part in error["loc"][1:])
                message = f"{path}: {error['msg']}" if path else error["msg"]
                failures.add(file, row_number, field, problem, raw.get(field) if field else None, message)
            continue
        except (ValueError, TypeError, RecursionError) as exc:
            failures.add(file, row_number, None, "invalid_value", None, str(exc))
            continue
        located.records.append(record)
        located.locations.append((file, row_number))
    return located


class IncidentTimeProblem(TypedDict):
    """A row of :func:`check_incident_times` (the columns of a failures table)."""

    column: str
    problem: str
    value: str
    message: str


def check_incident_times(incident: Incident) -> list[IncidentTimeProblem]:
    """Return the time-consistency problems of one incident (the lifecycle's rules).

    The rules are :data:`register.lifecycle.TIME_ORDER_RULES` (aware before occurred, closed before
    resolved, ... are refused); each row has ``column``, ``problem`` (``inconsistent_times``),
    ``value`` and ``message``.

    Examples
    --------
    >>> from datetime import UTC, datetime
    >>> incident = Incident(id="INC-2026-0001", title="t", category="safety", severity="SEV-3",
    ...                     occurred_at=datetime(2026, 1, 3, tzinfo=UTC),
    ...                     aware_at=datetime(2026, 1, 2, tzinfo=UTC))
    >>> [(row["column"], row["problem"]) for row in check_incident_times(incident)]
    [('aware_at', 'inconsistent_times')]
    """
    from register.lifecycle import TIME_ORDER_RULES, time_problems

    times = {name: getattr(incident, name) for pair in TIME_ORDER_RULES for name in pair}
    return [
        {
            "column": row["column"],
            "problem": "inconsistent_times",
            "value": row["value"],
            "message": row["problem"],
        }
        for row in time_problems(times)
    ]


def check_bundle_references(
    entities: Mapping[str, Located],
    failures: Failures,
    *,
    known_incident_ids: Iterable[str] = (),
    known_system_ids: Iterable[str] = (),
    allow_external: bool = False,
) -> None:
    """Cross-entity checks: duplicate ids, references to incidents/systems, incident times."""
    for entity in ENTITY_ORDER:
        seen: dict[object, tuple[str, object]] = {}
        located = entities.get(entity)
        if located is None:
            continue
        for record, (file, row) in zip(located.records, located.locations, strict=True):
            key = getattr(record, "id", None)
            if key is None:
                continue
            if key in seen:
                first_file, first_row = seen[key]
                failures.add(
                    file,
                    row,
                    "id",
                    "duplicate_id",
                    key,
                    f"{entity} id {key!r} already used at {first_file} row {first_row}",
                )
            else:
                seen[key] = (file, row)
    # (records of the "incidents"/"ai_systems" entities are Incident/AiSystem: the filters type them)
    incident_ids = {r.id for r in entities.get("incidents", _NONE).records if isinstance(r, Incident)}
    incident_ids |= set(known_incident_ids)
    system_ids = {r.id for r in entities.get("ai_systems", _NONE).records if isinstance(r, AiSystem)}
    system_ids |= set(known_system_ids)
    if "incidents" in entities:
        located = entities["incidents"]
        for incident, (file, row) in zip(located.records, located.locations, strict=True):
            for problem in check_incident_times(incident):  # type: ignore[arg-type]
                failures.add(
                    file, row, problem["column"], "inconsistent_times", problem["value"], problem["message"]
                )
            system_id = incident.system_id  # type: ignore[attr-defined]
            if system_id is not None and system_id not in system_ids and not allow_external:
                failures.add(
                    file,
                    row,
                    "system_id",
                    "unknown_reference",
                    system_id,
                    "no AI system with this id in the bundle (pass known ids or allow external references)",
                )
    if allow_external:
        return
    for entity in ENTITY_ORDER[2:]:
        located = entities.get(entity)
        if located is None:
            continue
        for record, (file, row) in zip(located.records, located.locations, strict=True):
            incident_id = record.incident_id  # type: ignore[attr-defined]
            if incident_id not in incident_ids:
                failures.add(
                    file,
                    row,
                    "incident_id",
                    "unknown_reference",
                    incident_id,
                    "no incident with this id in the bundle (pass known ids or allow external references)",
                )
