"""``workbench register ...``: the incident register from the command line.

The register is chosen by ``--register PATH_OR_URL``, else the environment variable
``WORKBENCH_REGISTER_URL`` (read when a command runs), else ``./register.sqlite``. Tables for people,
``--json`` for scripts. Parsing and writing import files is :mod:`register.io`'s job; the policy
(severity suggestion, regimes) is :mod:`register.policy`'s.
"""

from __future__ import annotations

import getpass
import json
import math
import os
import sys
import typing
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from workbench.errors import WorkbenchError

if TYPE_CHECKING:  # pydantic, register (and pandas behind it) load when a command runs, not on --help
    from pydantic import BaseModel

__all__ = ["DEFAULT_REGISTER", "REGISTER_ENV", "register_app", "register_location"]

REGISTER_ENV = "WORKBENCH_REGISTER_URL"
DEFAULT_REGISTER = "register.sqlite"

register_app = typer.Typer(
    help="The incident register: create it, record incidents and their follow-up, import and export.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

RegisterOption = Annotated[
    str | None,
    typer.Option(
        "--register",
        "-r",
        help=f"Register file path or database URL (default: ${REGISTER_ENV}, else ./{DEFAULT_REGISTER}).",
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON (for scripts) instead of tables.")]
ByOption = Annotated[str | None, typer.Option("--by", help="Who makes the change (default: your user name).")]
AsOfOption = Annotated[
    str | None, typer.Option("--as-of", help="Judge time as of this ISO-8601 instant (default: now, UTC).")
]


# ----------------------------------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------------------------------


def register_location(option: str | None) -> str:
    """Return the register to use: the option, else ``$WORKBENCH_REGISTER_URL``, else ``./register.sqlite``.

    Examples
    --------
    >>> register_location("/tmp/r.sqlite")
    '/tmp/r.sqlite'
    """
    if option:
        return option
    return os.environ.get(REGISTER_ENV, "").strip() or DEFAULT_REGISTER


def _open(option: str | None):  # -> register.Register
    from register import open_register

    return open_register(register_location(option))


def _by(option: str | None) -> str:
    if option:
        return option
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # pragma: no cover - no user name on this system
        return "unknown"


def _time(value: str | None, option: str) -> datetime | None:
    from register.schema import as_utc

    if value is None:
        return None
    try:
        return as_utc(datetime.fromisoformat(value.strip().replace("Z", "+00:00")))
    except ValueError as exc:
        raise WorkbenchError(
            f"{option} must be an ISO-8601 time such as 2026-03-01T12:00:00Z. Got {value!r} instead."
        ) from exc


def _as_of(value: str | None) -> datetime:
    from register.schema import utc_now

    return _time(value, "--as-of") or utc_now()


def _out() -> Console:
    return Console(highlight=False)


def _echo_json(payload: object) -> None:
    typer.echo(json.dumps(payload, indent=2, sort_keys=False, default=_json_default))


def _json_default(value: object) -> object:
    if _is_model(value):
        return value.model_dump(mode="json")  # type: ignore[attr-defined]
    if isinstance(value, datetime):
        return value.isoformat()
    if hasattr(value, "total_seconds"):  # durations as seconds
        return value.total_seconds()  # type: ignore[no-any-return]
    if hasattr(value, "isoformat"):
        return value.isoformat()  # type: ignore[no-any-return]
    if hasattr(value, "item"):  # numpy scalars
        return value.item()  # type: ignore[no-any-return]
    return str(value)


def _record(record: BaseModel) -> dict[str, Any]:
    return record.model_dump(mode="json")


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M UTC")
    if isinstance(value, list):
        return ", ".join(str(item) for item in value) or "-"
    if _is_model(value):
        return json.dumps(value.model_dump(mode="json"), sort_keys=True)  # type: ignore[attr-defined]
    return str(value)


def _is_model(value: object) -> bool:
    """Whether ``value`` is a pydantic model (pydantic is loaded by then if it is one)."""
    pydantic = sys.modules.get("pydantic")
    return pydantic is not None and isinstance(value, pydantic.BaseModel)


def _table(
    title: str | None, columns: Sequence[str], rows: Iterable[Sequence[object]], *, keep_first: bool = True
) -> Table:
    table = Table(title=title, title_justify="left", show_lines=False)
    for position, column in enumerate(columns):
        table.add_column(column, no_wrap=keep_first and position == 0)
    for row in rows:
        table.add_row(*(escape(_cell(value)) for value in row))
    return table


def _field_type(model: type[BaseModel], name: str) -> object:
    field = model.model_fields.get(name)
    if field is None:
        known = ", ".join(model.model_fields)
        raise WorkbenchError(f"--set field must be one of {known}. Got {name!r} instead.")
    return field.annotation


def _value_kind(annotation: object) -> str:
    """How a ``--set`` value is read for a field of this type: ``list``, ``json`` or ``text``.

    Lists take a JSON array or comma-separated items; mappings and nested records (the failure signal)
    take JSON; every other field takes the text as given, which pydantic converts to the field's type
    (numbers, booleans, times, vocabularies), so free text starting with ``{`` or ``[`` stays text.
    """
    pending = [annotation]
    kinds: set[str] = set()
    while pending:
        current = pending.pop()
        origin = typing.get_origin(current)
        if origin is list:
            kinds.add("list")
        elif origin is dict or current is dict or (isinstance(current, type) and _is_model_class(current)):
            kinds.add("json")
        else:
            pending.extend(typing.get_args(current))
    if "list" in kinds:
        return "list"
    return "json" if "json" in kinds else "text"


def _is_model_class(candidate: type) -> bool:
    pydantic = sys.modules.get("pydantic")
    return pydantic is not None and issubclass(candidate, pydantic.BaseModel)


def _json_value(raw: str, *, option: str, name: str) -> Any:
    """Parse a ``--set`` value as JSON (nesting bounded); a bad value is a WorkbenchError naming the field."""
    from register._parsing import load_json

    try:
        return load_json(raw, what=f"{option} {name}")
    except json.JSONDecodeError as exc:
        raise WorkbenchError(
            f"{option} {name} must be valid JSON. Got {raw[:80]!r}: {exc.msg} (column {exc.colno})."
        ) from exc
    except ValueError as exc:  # too deep (ValidationFailed), or an integer of too many digits
        raise WorkbenchError(str(exc) if option in str(exc) else f"{option} {name}: {exc}") from exc


def _assignments(model: type[BaseModel], pairs: Sequence[str], option: str) -> dict[str, Any]:
    """Parse ``field=value`` pairs; ``null`` (or nothing) clears a field, lists take JSON or commas."""
    changes: dict[str, Any] = {}
    for pair in pairs:
        if "=" not in pair:
            raise WorkbenchError(f"{option} must look like field=value. Got {pair[:80]!r} instead.")
        name, raw = (part.strip() for part in pair.split("=", 1))
        kind = _value_kind(_field_type(model, name))
        value: Any = raw
        if raw in ("", "null", "none", "None"):
            value = None
        elif kind == "list":
            value = (
                _json_value(raw, option=option, name=name)
                if raw.startswith("[")
                else [item.strip() for item in raw.split(",") if item]
            )
        elif kind == "json":
            value = _json_value(raw, option=option, name=name)
        changes[name] = value
    return changes


def _drop_none(values: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not None}


def _add_or_update(
    incident_id: str,
    item: str | None,
    fields: dict[str, Any],
    *,
    noun: str,
    add: Callable[..., Any],
    get: Callable[[str], Any],
    update: Callable[..., Any],
    by: str,
) -> tuple[Any, str]:
    """Add a child record of ``incident_id`` (``item`` is None), or update ``item`` if it belongs to it."""
    if item is None:
        return add({"incident_id": incident_id, **fields}, by=by), "Added"
    current = get(item)
    if current.incident_id != incident_id:
        raise WorkbenchError(
            f"{noun} {item} belongs to {current.incident_id}, not {incident_id}; check the ids."
        )
    return update(item, fields, by=by), "Updated"


# ----------------------------------------------------------------------------------------------------
# commands
# ----------------------------------------------------------------------------------------------------


@register_app.command("init")
def init_command(register: RegisterOption = None, as_json: JsonOption = False) -> None:
    """Create the register, or upgrade an existing one to the newest schema (every row is kept)."""
    from register import Register

    location = register_location(register)
    with Register.init(location) as reg:
        if as_json:
            _echo_json({"register": reg.display_url, "schema": reg.revision})
        else:
            _out().print(f"Register ready at {escape(reg.display_url)} (schema {reg.revision}).")


@register_app.command("add")
def add_command(
    title: Annotated[str, typer.Option("--title", help="Short title of the incident.")],
    category: Annotated[str, typer.Option("--category", help="Category, e.g. data_quality, fairness_bias.")],
    severity: Annotated[str, typer.Option("--severity", help="SEV-1 (critical) ... SEV-4 (low).")],
    aware_at: Annotated[
        str | None, typer.Option("--aware-at", help="When the organisation became aware (default: now).")
    ] = None,
    system: Annotated[str | None, typer.Option("--system", help="AI system id.")] = None,
    summary: Annotated[
        str | None, typer.Option("--summary", help="What happened, in a few sentences.")
    ] = None,
    kind: Annotated[str, typer.Option("--kind", help="incident or near_miss.")] = "incident",
    occurred_at: Annotated[str | None, typer.Option("--occurred-at", help="When it started.")] = None,
    detection_source: Annotated[
        str | None, typer.Option("--detection-source", help="e.g. monitoring_alert, user_report.")
    ] = None,
    incident_id: Annotated[
        str | None, typer.Option("--id", help="Use this id (default: the next INC-<year>-NNNN).")
    ] = None,
    set_: Annotated[
        list[str] | None, typer.Option("--set", help="Any other field as field=value (repeatable).")
    ] = None,
    register: RegisterOption = None,
    by: ByOption = None,
    as_json: JsonOption = False,
) -> None:
    """Record a new incident (or near-miss); prints its id."""
    from register.schema import Incident, utc_now

    fields: dict[str, Any] = {
        "id": incident_id,
        "title": title,
        "category": category,
        "severity": severity,
        "kind": kind,
        "aware_at": _time(aware_at, "--aware-at") or utc_now(),
        "system_id": system,
        "summary": summary,
        "occurred_at": _time(occurred_at, "--occurred-at"),
        "detection_source": detection_source,
    }
    fields = _drop_none(fields) | _assignments(Incident, set_ or [], "--set")
    with _open(register) as reg:
        incident = reg.add_incident(fields, by=_by(by))
    if as_json:
        _echo_json(_record(incident))
    else:
        _out().print(
            f"Added {incident.id}: {escape(incident.title)} ({incident.severity}, {incident.status})."
        )


@register_app.command("update")
def update_command(
    incident_id: Annotated[str, typer.Argument(help="Incident id, e.g. INC-2026-0001.")],
    set_: Annotated[
        list[str],
        typer.Option(
            "--set",
            help="field=value to change (repeatable); null clears. Lists take a JSON array or commas, the "
            "failure signal takes JSON, every other field the text as given.",
        ),
    ],
    expect: Annotated[
        list[str] | None,
        typer.Option(
            "--expect", help="field=value you last saw; refuse if the register holds something else."
        ),
    ] = None,
    register: RegisterOption = None,
    by: ByOption = None,
    as_json: JsonOption = False,
) -> None:
    """Change fields of an incident (the status moves with `transition`); every change is audited."""
    from register.schema import Incident

    changes = _assignments(Incident, set_, "--set")
    expected = _assignments(Incident, expect or [], "--expect") or None
    with _open(register) as reg:
        incident = reg.update_incident(incident_id, changes, by=_by(by), expected=expected)
    if as_json:
        _echo_json(_record(incident))
    else:
        _out().print(f"Updated {incident.id}: {', '.join(changes) or 'nothing'}.")


@register_app.command("transition")
def transition_command(
    incident_id: Annotated[str, typer.Argument(help="Incident id.")],
    status: Annotated[
        str, typer.Argument(help="New status: triaged, contained, investigating, recovered, closed.")
    ],
    at: Annotated[str | None, typer.Option("--at", help="When it happened (default: now).")] = None,
    reason: Annotated[
        str | None, typer.Option("--reason", help="Required to reopen a closed incident.")
    ] = None,
    register: RegisterOption = None,
    by: ByOption = None,
    as_json: JsonOption = False,
) -> None:
    """Move an incident along its lifecycle; the move's time is stamped (triaged_at, contained_at...)."""
    with _open(register) as reg:
        before = reg.get_incident(incident_id).status
        incident = reg.transition(incident_id, status, at=_time(at, "--at"), reason=reason, by=_by(by))
    if as_json:
        _echo_json(_record(incident))
    else:
        _out().print(f"{incident.id}: {before} -> {incident.status}.")


@register_app.command("event")
def event_command(
    incident_id: Annotated[str, typer.Argument(help="Incident id.")],
    kind: Annotated[str, typer.Option("--kind", help="detection, escalation, decision, deploy, note, ...")],
    description: Annotated[str, typer.Option("--description", "-d", help="What happened.")],
    at: Annotated[str | None, typer.Option("--at", help="When (default: now).")] = None,
    role: Annotated[
        str | None, typer.Option("--role", help="Role of who acted, e.g. incident_commander.")
    ] = None,
    source_link: Annotated[str | None, typer.Option("--source-link", help="Link to the source.")] = None,
    register: RegisterOption = None,
    by: ByOption = None,
    as_json: JsonOption = False,
) -> None:
    """Add an event to an incident's timeline."""
    from register.schema import utc_now

    fields = {
        "incident_id": incident_id,
        "kind": kind,
        "description": description,
        "at": _time(at, "--at") or utc_now(),
        "role": role,
        "source_link": source_link,
    }
    with _open(register) as reg:
        event = reg.add_timeline_event(_drop_none(fields), by=_by(by))
    if as_json:
        _echo_json(_record(event))
    else:
        _out().print(f"Added event {event.id} to {incident_id}.")


@register_app.command("action")
def action_command(
    incident_id: Annotated[str, typer.Argument(help="Incident id.")],
    item: Annotated[
        str | None, typer.Option("--item", help="Action item id to update (omit to add a new one).")
    ] = None,
    title: Annotated[str | None, typer.Option("--title", help="What must be done.")] = None,
    kind: Annotated[str | None, typer.Option("--kind", help="mitigate, prevent, detect or process.")] = None,
    owner: Annotated[str | None, typer.Option("--owner", help="Who owns it.")] = None,
    team: Annotated[str | None, typer.Option("--team", help="Owning team.")] = None,
    priority: Annotated[str | None, typer.Option("--priority", help="P1 ... P4.")] = None,
    due: Annotated[str | None, typer.Option("--due", help="Due time (ISO-8601).")] = None,
    status: Annotated[str | None, typer.Option("--status", help="open, in_progress, done, wont_do.")] = None,
    completed_at: Annotated[str | None, typer.Option("--completed-at", help="When it was done.")] = None,
    note: Annotated[str | None, typer.Option("--note", help="Verification note.")] = None,
    register: RegisterOption = None,
    by: ByOption = None,
    as_json: JsonOption = False,
) -> None:
    """Add an action item to an incident, or update one (--item)."""
    fields = _drop_none(
        {
            "title": title,
            "kind": kind,
            "owner": owner,
            "team": team,
            "priority": priority,
            "due_at": _time(due, "--due"),
            "status": status,
            "completed_at": _time(completed_at, "--completed-at"),
            "verification_note": note,
        }
    )
    with _open(register) as reg:
        saved, verb = _add_or_update(
            incident_id,
            item,
            fields,
            noun="action item",
            add=reg.add_action_item,
            get=reg.get_action_item,
            update=reg.update_action_item,
            by=_by(by),
        )
    if as_json:
        _echo_json(_record(saved))
    else:
        _out().print(f"{verb} action item {saved.id} ({saved.status}).")


@register_app.command("notify")
def notify_command(
    incident_id: Annotated[str, typer.Argument(help="Incident id.")],
    item: Annotated[
        str | None, typer.Option("--item", help="Notification id to update (omit to add a new one).")
    ] = None,
    audience: Annotated[
        str | None,
        typer.Option("--audience", help="regulator, customers, client, executive, board, public..."),
    ] = None,
    regime: Annotated[str | None, typer.Option("--regime", help="Policy regime id, e.g. gdpr_art33.")] = None,
    report_type: Annotated[
        str | None, typer.Option("--report-type", help="initial, follow_up, combined or final.")
    ] = None,
    due: Annotated[str | None, typer.Option("--due", help="When it is due (ISO-8601).")] = None,
    sent: Annotated[str | None, typer.Option("--sent", help="When it was sent (ISO-8601).")] = None,
    reference: Annotated[str | None, typer.Option("--reference", help="The recipient's reference.")] = None,
    register: RegisterOption = None,
    by: ByOption = None,
    as_json: JsonOption = False,
) -> None:
    """Record a notification owed or made (a regime may need a chain of reports), or update one (--item)."""
    fields = _drop_none(
        {
            "audience": audience,
            "regime": regime,
            "report_type": report_type,
            "due_at": _time(due, "--due"),
            "sent_at": _time(sent, "--sent"),
            "reference": reference,
        }
    )
    with _open(register) as reg:
        saved, verb = _add_or_update(
            incident_id,
            item,
            fields,
            noun="notification",
            add=reg.add_notification,
            get=reg.get_notification,
            update=reg.update_notification,
            by=_by(by),
        )
    if as_json:
        _echo_json(_record(saved))
    else:
        _out().print(f"{verb} notification {saved.id} ({saved.audience}, {saved.report_type}).")


def _metrics(reg: Any, incident_id: str, as_of: datetime, policy_path: Path | None) -> dict[str, Any]:
    """Derived metrics of one incident (register.metrics), with missing values as None."""
    from register.policy import load_policy

    frame = reg.metrics_frame(as_of=as_of, policy=load_policy(policy_path), incident_ids=[incident_id])
    if len(frame) == 0:
        return {}
    row = frame.iloc[0].to_dict()
    return {key: (None if _is_missing(value) else value) for key, value in row.items() if key != "id"}


NOT_RECORDED = "not recorded"
"""What ``register show`` prints for a response metric of an imported public record without one."""
_RESPONSE_METRICS = (
    "time_to_detect_hours",
    "time_to_acknowledge_hours",
    "time_to_contain_hours",
    "time_to_resolve_hours",
    "response_sla_met",
    "response_sla_margin_hours",
    "contain_target_met",
    "resolve_target_met",
    "postmortem_overdue",
    "notifications_overdue",
    "notifications_late",
)


def _metrics_to_show(metrics: Mapping[str, Any]) -> list[tuple[str, object]]:
    """The metrics worth a person's attention: known values, regimes that apply or have reports.

    For an imported public record without response times (``response_recorded`` False, see
    :func:`register.metrics.incident_metrics`) the response metrics read "not recorded".

    Examples
    --------
    >>> _metrics_to_show({"response_recorded": False, "response_sla_met": None})
    [('response_recorded', False), ('response_sla_met', 'not recorded')]
    """
    recorded = metrics.get("response_recorded")
    if recorded is not None and not recorded:
        metrics = {key: NOT_RECORDED if key in _RESPONSE_METRICS else value for key, value in metrics.items()}
    regimes = {key[: -len("_applicable")] for key in metrics if key.endswith("_applicable")}
    quiet = {
        regime
        for regime in regimes
        if not metrics.get(f"{regime}_applicable")
        and not any(metrics.get(f"{regime}_{part}") for part in ("pending", "overdue", "late"))
    }
    rows = []
    for key, value in metrics.items():
        if value is None or key in ("severity", "status") or f"{key}_hours" in metrics:
            continue
        if any(key.startswith(f"{regime}_") for regime in quiet):
            continue
        rows.append((key, round(value, 2) if isinstance(value, float) else value))
    return rows


def _is_missing(value: object) -> bool:
    """Whether a metric value is missing: None, NaN, or pandas' NA/NaT (if pandas is loaded at all).

    Examples
    --------
    >>> [_is_missing(v) for v in (None, float("nan"), 0.0, [1], "x")]
    [True, True, False, False, False]
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return True
    pandas = sys.modules.get("pandas")  # a value can only be pandas' NA or NaT if pandas is loaded
    if pandas is None or isinstance(value, list | dict | tuple):
        return False
    try:
        return bool(pandas.isna(value))
    except (TypeError, ValueError):
        return False


@register_app.command("show")
def show_command(
    incident_id: Annotated[str, typer.Argument(help="Incident id.")],
    as_of: AsOfOption = None,
    policy: Annotated[
        Path | None, typer.Option("--policy", help="Policy YAML overriding the shipped default.")
    ] = None,
    register: RegisterOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show an incident: its fields, derived metrics, timeline, action items and notifications."""
    when = _as_of(as_of)
    with _open(register) as reg:
        incident = reg.get_incident(incident_id)
        timeline = reg.timeline(incident_id)
        actions = reg.action_items(incident_id)
        notifications = reg.notifications(incident_id)
        evidence = reg.evidence(incident_id)
        classifications = reg.classifications(incident_id)
        metrics = _metrics(reg, incident_id, when, policy)
    if as_json:
        _echo_json(
            {
                "incident": _record(incident),
                "as_of": when.isoformat(),
                "metrics": metrics,
                "timeline": [_record(e) for e in timeline],
                "action_items": [_record(a) for a in actions],
                "notifications": [_record(n) for n in notifications],
                "evidence": [_record(e) for e in evidence],
                "classifications": [_record(c) for c in classifications],
            }
        )
        return
    out = _out()
    fields = [(name, value) for name, value in incident if value not in (None, [], False)]
    out.print(_table(f"{incident.id} — {incident.title}", ["field", "value"], fields))
    out.print(
        _table(
            f"Derived metrics as of {when:%Y-%m-%d %H:%M} UTC",
            ["metric", "value"],
            _metrics_to_show(metrics),
        )
    )
    out.print(
        _table(
            "Timeline",
            ["at", "kind", "description", "role"],
            [(e.at, e.kind, e.description, e.role) for e in timeline],
        )
    )
    out.print(
        _table(
            "Action items",
            ["id", "title", "kind", "owner", "priority", "due", "status"],
            [(a.id, a.title, a.kind, a.owner, a.priority, a.due_at, a.status) for a in actions],
        )
    )
    out.print(
        _table(
            "Notifications",
            ["id", "audience", "regime", "report", "due", "sent", "reference"],
            [
                (n.id, n.audience, n.regime, n.report_type, n.due_at, n.sent_at, n.reference)
                for n in notifications
            ],
        )
    )
    if evidence:
        out.print(
            _table(
                "Evidence", ["kind", "uri", "captured"], [(e.kind, e.uri, e.captured_at) for e in evidence]
            )
        )
    if classifications:
        out.print(
            _table(
                "Classifications",
                ["namespace", "attribute", "value"],
                [(c.namespace, c.attribute, c.value) for c in classifications],
            )
        )


@register_app.command("list")
def list_command(
    system: Annotated[list[str] | None, typer.Option("--system", help="AI system id (repeatable).")] = None,
    severity: Annotated[
        list[str] | None, typer.Option("--severity", help="SEV-1 ... SEV-4 (repeatable).")
    ] = None,
    status: Annotated[
        list[str] | None, typer.Option("--status", help="Lifecycle status (repeatable).")
    ] = None,
    category: Annotated[list[str] | None, typer.Option("--category", help="Category (repeatable).")] = None,
    since: Annotated[str | None, typer.Option("--since", help="Became aware at or after this time.")] = None,
    until: Annotated[str | None, typer.Option("--until", help="Became aware before this time.")] = None,
    open_only: Annotated[bool, typer.Option("--open", help="Only incidents that are not closed.")] = False,
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="At most this many.")] = None,
    register: RegisterOption = None,
    as_json: JsonOption = False,
) -> None:
    """List incidents, oldest first, with filters."""
    with _open(register) as reg:
        incidents = reg.list_incidents(
            system=system or None,
            severity=severity or None,
            status=status or None,
            category=category or None,
            since=_time(since, "--since"),
            until=_time(until, "--until"),
            open_only=open_only,
            limit=limit,
        )
    if as_json:
        _echo_json([_record(i) for i in incidents])
        return
    rows = [(i.id, i.severity, i.status, i.category, i.system_id, i.aware_at, i.title) for i in incidents]
    _out().print(
        _table(
            f"{len(incidents)} incident(s)",
            ["id", "sev", "status", "category", "system", "aware", "title"],
            rows,
        )
    )


def _read_import(path: Path, allow_empty: bool = False):  # -> register.io.Bundle
    from register.io import read_bundle

    return read_bundle(path, allow_external=True, allow_empty=allow_empty)


def _read_source(
    path: Path, aiid: bool, aiaaic: bool, taxonomy: Sequence[Path] | None, allow_empty: bool
):  # -> tuple[str, register.io.Bundle] | None
    """The bundle of a public database's export and its source slug; None for a register bundle."""
    if aiid and aiaaic:
        raise WorkbenchError(
            "--aiid and --aiaaic must not be combined. Got both; import one export at a time."
        )
    if taxonomy and not aiid:
        raise WorkbenchError(
            "--taxonomy must come with --aiid (AIID taxonomy files). Got --taxonomy without it; add --aiid."
        )
    if aiid:
        from register.io import read_aiid_incidents
        from register.io._aiid import AIID_SOURCE

        result = read_aiid_incidents(
            path, taxonomy_files=list(taxonomy) if taxonomy else None, allow_empty=allow_empty
        )
        return AIID_SOURCE, result.bundle
    if aiaaic:
        from register.io import read_aiaaic_incidents
        from register.io._aiaaic import AIAAIC_SOURCE

        return AIAAIC_SOURCE, read_aiaaic_incidents(path, allow_empty=allow_empty).bundle
    return None


def _counts_text(counts: Mapping[str, int]) -> str:
    """``"3 incidents, 5 timeline_events"``: the non-zero counts per entity."""
    return ", ".join(f"{n} {name}" for name, n in counts.items() if n)


def _sync_payload(sync: Any) -> dict[str, Any]:
    return {
        "dry_run": sync.dry_run,
        "source": sync.source,
        "new": sync.new,
        "changed": {key: {f: list(pair) for f, pair in diff.items()} for key, diff in sync.changed.items()},
        "unchanged": len(sync.unchanged),
        "category_kept": sync.category_kept,
        "counts": sync.counts,
    }


def _print_sync(sync: Any) -> None:
    """The diff of a source import: per incident new / changed fields (old -> new), unchanged count."""
    out = _out()
    done = "Checked (nothing written)" if sync.dry_run else "Imported"
    out.print(
        f"{done}: {escape(sync.source)}: {len(sync.new)} new, {len(sync.changed)} changed, "
        f"{len(sync.unchanged)} unchanged incident(s)."
    )
    for incident_id in sync.new:
        out.print(f"  new {incident_id}")
    for incident_id, diff in sync.changed.items():
        out.print(f"  changed {incident_id}:")
        for name, (old, new) in diff.items():
            out.print(f"    {name}: {escape(_short_text(old))} -> {escape(_short_text(new))}")
    for incident_id in sync.category_kept:
        out.print(f"  {incident_id}: category kept (a person changed it after the import)")


def _short_text(value: str | None, limit: int = 80) -> str:
    if value is None:
        return "(none)"
    text = value.replace("\n", " ")
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")


AiidOption = Annotated[
    bool, typer.Option("--aiid", help="PATH is the AI Incident Database's incidents.csv (or its folder).")
]
AiaaicOption = Annotated[
    bool, typer.Option("--aiaaic", help="PATH is the AIAAIC repository's CSV export (incidents sheet).")
]
TaxonomyOption = Annotated[
    list[Path] | None,
    typer.Option(
        "--taxonomy",
        help="With --aiid: an AIID taxonomy file (classifications_MIT.csv...; repeatable). "
        "Without it, a folder PATH reads the classifications_*.csv beside incidents.csv.",
    ),
]
AllowEmptyOption = Annotated[
    bool,
    typer.Option(
        "--allow-empty",
        help="Accept a file that holds no records (an empty import is otherwise an error, exit 2).",
    ),
]


@register_app.command("import")
def import_command(
    path: Annotated[
        Path, typer.Argument(help="A bundle: JSON/YAML/XLSX document, or a folder with manifest.json.")
    ],
    aiid: AiidOption = False,
    aiaaic: AiaaicOption = False,
    taxonomy: TaxonomyOption = None,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Check everything, write nothing (a source import shows its diff)."),
    ] = False,
    allow_empty: AllowEmptyOption = False,
    register: RegisterOption = None,
    by: ByOption = None,
    as_json: JsonOption = False,
) -> None:
    """Import a bundle in one transaction: every record, or nothing (problems listed row by row).

    A public database's export (--aiid, --aiaaic) adds its new records and updates the ones an earlier
    import of the same database added (never your own records).
    """
    source = _read_source(path, aiid, aiaaic, taxonomy, allow_empty)
    if source is not None:
        with _open(register) as reg:
            sync = reg.sync_source(
                source[1], source=source[0], by=_by(by), dry_run=dry_run, allow_empty=allow_empty
            )
        if as_json:
            _echo_json(_sync_payload(sync))
        else:
            _print_sync(sync)
        return
    bundle = _read_import(path, allow_empty)
    with _open(register) as reg:
        counts = reg.import_bundle(bundle, by=_by(by), dry_run=dry_run, allow_empty=allow_empty)
    if as_json:
        _echo_json({"dry_run": dry_run, "counts": counts})
    else:
        done = "Checked (nothing written)" if dry_run else "Imported"
        _out().print(f"{done}: {_counts_text(counts) or 'nothing (the file holds no records)'}.")


@register_app.command("validate")
def validate_command(
    path: Annotated[Path, typer.Argument(help="A bundle file or folder to check against the register.")],
    aiid: AiidOption = False,
    aiaaic: AiaaicOption = False,
    taxonomy: TaxonomyOption = None,
    allow_empty: AllowEmptyOption = False,
    register: RegisterOption = None,
    as_json: JsonOption = False,
) -> None:
    """Check an import file against its schema and the register without writing anything."""
    source = _read_source(path, aiid, aiaaic, taxonomy, allow_empty)
    if source is not None:
        with _open(register) as reg:
            sync = reg.sync_source(
                source[1], source=source[0], by=None, dry_run=True, allow_empty=allow_empty
            )
        if as_json:
            _echo_json({"valid": True, **_sync_payload(sync)})
        else:
            _print_sync(sync)
        return
    bundle = _read_import(path, allow_empty)
    with _open(register) as reg:
        counts = reg.import_bundle(bundle, by=None, dry_run=True, allow_empty=allow_empty)
    if as_json:
        _echo_json({"valid": True, "counts": counts})
    else:
        _out().print(f"Valid: {_counts_text(counts)}.")


@register_app.command("export")
def export_command(
    path: Annotated[Path, typer.Argument(help="Where to write: a .json/.yaml/.xlsx file or a folder (CSV).")],
    fmt: Annotated[
        str | None, typer.Option("--format", help="csv, json, yaml or xlsx (default: from PATH).")
    ] = None,
    incident: Annotated[
        list[str] | None, typer.Option("--incident", help="Only this incident (repeatable).")
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Overwrite PATH if it exists (a file, or a folder with files).")
    ] = False,
    register: RegisterOption = None,
    as_json: JsonOption = False,
) -> None:
    """Export the register (or some incidents with their children) as a bundle."""
    from register.io import write_bundle

    _refuse_to_overwrite(path, force)
    with _open(register) as reg:
        bundle = reg.export_bundle(incident_ids=incident or None)
    try:
        written = write_bundle(bundle, path, fmt)  # type: ignore[arg-type]
    except OSError as exc:
        raise WorkbenchError(
            f"PATH must be a location you may write to. Got {str(path)!r}: {exc.strerror or exc}; "
            "choose another path."
        ) from exc
    if as_json:
        _echo_json({"path": str(written), "counts": bundle.counts()})
    else:
        _out().print(f"Exported to {escape(str(written))}: {_counts_text(bundle.counts())}.")


def _refuse_to_overwrite(path: Path, force: bool) -> None:
    """Refuse an export onto an existing file or a folder holding files, unless ``--force``."""
    if force or not path.exists():
        return
    try:
        occupied = any(path.iterdir()) if path.is_dir() else True
    except OSError as exc:
        raise WorkbenchError(f"PATH must be readable. Got {str(path)!r}: {exc.strerror or exc}.") from exc
    if occupied:
        raise WorkbenchError(
            f"PATH must not exist yet. Got {str(path)!r}, which exists; pass --force to overwrite it, "
            "or choose another path."
        )


def _tri(help_text: str, name: str) -> Any:
    return typer.Option(f"--{name}/--no-{name}", help=help_text)


@register_app.command("classify")
def classify_command(
    incident_id: Annotated[
        str | None, typer.Argument(help="A registered incident: show its applicable regimes and deadlines.")
    ] = None,
    answers: Annotated[
        Path | None,
        typer.Option("--answers", help="YAML/JSON file of triage answers (any TriageAnswers field)."),
    ] = None,
    category: Annotated[str | None, typer.Option("--category", help="Incident category.")] = None,
    harm_ongoing: Annotated[bool | None, _tri("Is anyone harmed now?", "harm-ongoing")] = None,
    reversible: Annotated[bool | None, _tri("Can the harm be reversed?", "reversible")] = None,
    affected_count: Annotated[
        int | None, typer.Option("--affected", min=0, help="How many are affected?")
    ] = None,
    regulatory: Annotated[bool | None, _tri("Does a regulatory obligation apply?", "regulatory")] = None,
    public: Annotated[bool | None, _tri("Is it publicly visible?", "public")] = None,
    rollback: Annotated[bool | None, _tri("Is a safe rollback available?", "rollback")] = None,
    personal_data: Annotated[bool | None, _tri("Is personal data exposed?", "personal-data")] = None,
    policy: Annotated[
        Path | None, typer.Option("--policy", help="Policy YAML overriding the default.")
    ] = None,
    as_of: AsOfOption = None,
    register: RegisterOption = None,
    as_json: JsonOption = False,
) -> None:
    """Suggest a severity and the notification regimes from triage answers, and say why."""
    from register.policy import TriageAnswers, classify, load_policy

    when = _as_of(as_of)
    loaded = load_policy(policy)
    if incident_id is not None:
        _classify_incident(incident_id, loaded, when, register, as_json)
        return
    data: dict[str, Any] = {}
    if answers is not None:
        data.update(_read_answers(answers))
    data.update(
        _drop_none(
            {
                "category": category,
                "harm_ongoing": harm_ongoing,
                "reversible": reversible,
                "affected_count": affected_count,
                "regulatory_obligation": regulatory,
                "publicly_visible": public,
                "safe_rollback": rollback,
                "personal_data": personal_data,
            }
        )
    )
    suggestion = classify(TriageAnswers.model_validate(data), policy=loaded, as_of=when)
    if as_json:
        _echo_json(suggestion.model_dump(mode="json"))
        return
    out = _out()
    out.print(f"Suggested severity: [bold]{suggestion.severity}[/bold] ({suggestion.severity.label})")  # type: ignore[attr-defined]
    for reason in suggestion.reasons:
        out.print(f"  - {escape(reason)}")
    for also in suggestion.also_matched:
        out.print(f"  (also: {escape(also)})")
    out.print(
        _table("Applicable regimes", ["regime", "audience", "report", "due", "why"], _regime_rows(suggestion))
    )
    if suggestion.unanswered:
        out.print("Unanswered (treated as unknown): " + ", ".join(suggestion.unanswered))


def _regime_rows(suggestion: Any) -> list[tuple[object, ...]]:
    rows: list[tuple[object, ...]] = []
    for regime in suggestion.regimes:
        if not regime.deadlines:
            rows.append((regime.name, regime.audience, None, None, "; ".join(regime.reasons)))
        for deadline in regime.deadlines:
            rows.append(
                (
                    regime.name,
                    regime.audience,
                    deadline.report_type,
                    deadline.due_at,
                    "; ".join(regime.reasons),
                )
            )
    return rows


def _read_answers(path: Path) -> dict[str, Any]:
    import yaml

    from register._parsing import check_size, load_yaml

    check_size(path, what="--answers")
    try:
        loaded = load_yaml(path.read_text(encoding="utf-8"), what=f"--answers {path}")
    except FileNotFoundError as exc:
        raise WorkbenchError(
            f"--answers must be an existing YAML/JSON file. Got {str(path)!r}, which does not exist."
        ) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise WorkbenchError(f"--answers must be a readable UTF-8 file. Got {str(path)!r}: {exc}.") from exc
    except yaml.YAMLError as exc:
        raise WorkbenchError(f"--answers {path} is not valid YAML/JSON: {exc}") from exc
    if not isinstance(loaded, dict):
        raise WorkbenchError(
            f"--answers must hold a mapping of question: answer. Got {type(loaded).__name__} instead."
        )
    return loaded


def _classify_incident(
    incident_id: str, policy: Any, when: datetime, register: str | None, as_json: bool
) -> None:
    from register.policy import check_regimes, notification_deadlines

    with _open(register) as reg:
        incident = reg.get_incident(incident_id)
        system = reg.get_system(incident.system_id) if incident.system_id else None
    checks = check_regimes(incident, system, policy=policy, as_of=when)
    deadlines = notification_deadlines(incident, system, policy=policy, as_of=when)
    if as_json:
        _echo_json(
            {
                "incident": incident_id,
                "severity": str(incident.severity),
                "as_of": when.isoformat(),
                "regimes": [c.model_dump(mode="json") for c in checks],
                "deadlines": [d.model_dump(mode="json") for d in deadlines],
            }
        )
        return
    out = _out()
    out.print(
        f"{incident_id} is {incident.severity} ({incident.severity.label}); "
        f"regimes as of {when:%Y-%m-%d %H:%M} UTC:"
    )
    out.print(
        _table(
            None,
            ["regime", "applies", "why"],
            [(c.name, "yes" if c.applicable else "no", "; ".join(c.reasons)) for c in checks],
            keep_first=False,
        )
    )
    out.print(
        _table(
            "Reports owed",
            ["regime", "report", "#", "due", "status"],
            [(d.regime_name, d.report_type, d.sequence, d.due_at, d.status) for d in deadlines],
            keep_first=False,
        )
    )
