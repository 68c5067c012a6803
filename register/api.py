"""The Python API of the incident register: typed records in and out, DataFrames for analyses.

Every write runs in one transaction that holds the write lock from its start (SQLite ``BEGIN
IMMEDIATE``; PostgreSQL row locks), so read-modify-write updates are never lost, and appends one
``history`` row per changed field (entity, id, field, old value, new value, when, by whom). A field's
history is an unbroken chain: each old value equals the previous new value. The creation of an entity
is one ``(created)`` history row holding the record as JSON.

Examples
--------
>>> import tempfile, os
>>> from datetime import datetime, UTC
>>> register = open_register(os.path.join(tempfile.mkdtemp(), "r.sqlite"), create=True)
>>> incident = register.add_incident({"title": "Loan model rejects more applicants",
...     "category": "performance_degradation", "severity": "SEV-2",
...     "aware_at": datetime(2026, 3, 2, 9, tzinfo=UTC)}, by="ana")
>>> incident.id
'INC-2026-0001'
>>> str(register.transition(incident.id, "triaged", by="ana").status)
'triaged'
>>> register.update_incident(incident.id, lambda current: {"affected_count": 120}, by="ana").affected_count
120
>>> [(h.field, h.old_value, h.new_value) for h in register.history("incidents", incident.id)][1:]
[('status', 'detected', 'triaged'), ('triaged_at', None, ...), ('affected_count', None, '120')]
>>> register.close()
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from register import _tables as t
from register._bundles import bundle_problems, read_bundle_from, write_bundle_records
from register._entities import (
    ENTITY_OF_MODEL,
    ENTITY_TABLES,
    INCIDENT_TIME_FIELDS,
    R,
    as_list,
    canonical_text,
    exists,
    from_db,
    incident_query,
    incident_times,
    to_db,
    validate,
)
from register._frames import FrameReaders
from register._history import read_history, record_changes, record_created
from register._ids import SENTINEL_ID, next_child_id, next_incident_number, raise_counter_to
from register._sources import SourceSync
from register.errors import ConflictError, EmptyImportError, NotFoundError, RegisterError, ValidationFailed
from register.lifecycle import check_times, find_transition
from register.schema import (
    MAX_INTEGER,
    ActionItem,
    ActionItemStatus,
    AiSystem,
    Classification,
    DataCard,
    Evidence,
    HistoryEntry,
    Incident,
    IncidentStatus,
    Notification,
    TimelineEvent,
    TimelineEventKind,
    as_utc,
    utc_now,
)
from register.store import (
    current_revision,
    head_revision,
    locked,
    make_engine,
    normalise_url,
    parse_url,
    read_transaction,
    upgrade_schema,
    write_transaction,
)

if TYPE_CHECKING:
    from register.io import Bundle

__all__ = ["INCIDENT_TIME_FIELDS", "Register", "open_register"]

_FRAME_READ_NAMES = frozenset({"_FAST_READS", "_column", "_sqlite_times", "_utc_series"})


def __getattr__(name: str) -> Any:
    """Give the frame readers' private helpers under their old names (``register.api._utc_series``...).

    They live in :mod:`register._frame_read`, which imports pandas, so they are looked up only when
    asked for. Setting ``register.api._FAST_READS`` has no effect: set
    ``register._frame_read._FAST_READS``.
    """
    if name in _FRAME_READ_NAMES:
        from register import _frame_read

        return getattr(_frame_read, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


C = TypeVar("C", ActionItem, Notification, Evidence, Classification)
"""A child record of an incident added through ``Register._add_child``."""
U = TypeVar("U", ActionItem, Notification)
"""A child record changed through ``Register._update_child``."""

_ADD_SYSTEM_HINT = (
    "AI systems enter the register in an import bundle (an `ai_systems` entry, "
    "`workbench register import BUNDLE`); `workbench register export` shows the ones it holds."
)
"""What a CLI user does about an unknown AI system (the CLI has no command that adds one alone)."""


def _no_data_card_message(system_id: str, *, incident_id: str | None = None) -> str:
    of = f" (the AI system of {incident_id})" if incident_id else ""
    return (
        f"AI system {system_id!r}{of} has no data card, so its prediction logs cannot be found; a data card "
        "comes with its AI system in an import bundle (the system's `data_card`, "
        "`workbench register import BUNDLE`)."
    )


class _DryRunDone(Exception):
    """Raised inside a dry-run import to roll the transaction back."""


# --------------------------------------------------------------------------------------------------
# the register
# --------------------------------------------------------------------------------------------------


def open_register(location: str | os.PathLike[str], *, create: bool = False) -> Register:
    """Open the register at ``location`` (a SQLite file path or a database URL).

    Parameters
    ----------
    location : str or path
        ``./register.sqlite``, ``sqlite:///abs/path.sqlite`` or ``postgresql+psycopg://user@host/db``.
    create : bool, default False
        Create the register (or upgrade its schema to the newest migration) first.

    Returns
    -------
    Register

    Examples
    --------
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "r.sqlite")
    >>> open_register(path)
    Traceback (most recent call last):
    ...
    register.errors.NotFoundError: no register at ...; create it with `workbench register init` ...
    >>> open_register(path, create=True).revision == head_revision()
    True
    """
    if create:
        upgrade_schema(location)
    return Register(location)


class Register(FrameReaders):
    """An open incident register.

    Parameters
    ----------
    location : str or path
        A SQLite file path or a database URL (see :func:`open_register`). The schema must be at the
        newest migration: create or upgrade it with :meth:`init` (``workbench register init``).
    """

    def __init__(self, location: str | os.PathLike[str]) -> None:
        url = parse_url(location)
        self.url = normalise_url(location)
        database = url.database or ""
        if (
            url.get_backend_name() == "sqlite"
            and database not in ("", ":memory:")
            and not Path(database).exists()
        ):
            raise NotFoundError(
                f"no register at {url.database}; create it with `workbench register init` "
                "(--register or WORKBENCH_REGISTER_URL names it)."
            )
        self._engine: Engine = make_engine(location)
        try:
            revision = current_revision(self._engine)
        except sa.exc.DBAPIError as exc:
            self._engine.dispose()
            raise RegisterError(f"cannot open the register at {self.display_url}: {exc.orig}") from exc
        head = head_revision()
        if revision != head:
            self._engine.dispose()
            state = "is empty" if revision is None else f"is at schema {revision}, the package needs {head}"
            raise RegisterError(
                f"the register at {self.display_url} {state}; run `workbench register init` to "
                "create or upgrade it (every row is kept)."
            )
        self.revision = revision

    # -- lifecycle of the object ---------------------------------------------------------------------

    @classmethod
    def init(cls, location: str | os.PathLike[str]) -> Register:
        """Create a register, or upgrade an existing one to the newest schema, and open it."""
        return open_register(location, create=True)

    @property
    def display_url(self) -> str:
        """The register's URL without a password."""
        return sa.engine.make_url(self.url).render_as_string(hide_password=True)

    @property
    def dialect(self) -> str:
        """``"sqlite"`` or ``"postgresql"``."""
        return self._engine.dialect.name

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine (for read-only SQL by analyses and benchmarks)."""
        return self._engine

    def close(self) -> None:
        """Release the database connections."""
        self._engine.dispose()

    def __enter__(self) -> Register:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Register({self.display_url!r})"

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        with write_transaction(self._engine) as connection:
            yield connection

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        with read_transaction(self._engine) as connection:
            yield connection

    # -- history ---------------------------------------------------------------------------------------

    def history(self, entity: str, entity_id: str | int, *, field: str | None = None) -> list[HistoryEntry]:
        """Return the audit trail of one entity, oldest first.

        Parameters
        ----------
        entity : str
            A table name (``"incidents"``, ``"action_items"``...) or its singular.
        entity_id : str or int
            The entity's id.
        field : str, optional
            Only this field's changes.
        """
        with self._read() as connection:
            return read_history(connection, entity, entity_id, field=field)

    # -- AI systems ------------------------------------------------------------------------------------

    def add_system(self, system: AiSystem | Mapping[str, Any], *, by: str | None = None) -> AiSystem:
        """Add an AI system (with its data card); its id must be new."""
        record = system if isinstance(system, AiSystem) else validate(AiSystem, system, what="AI system")
        now = utc_now()
        with self._write() as connection:
            if exists(connection, t.ai_systems, record.id):
                raise ValidationFailed(
                    f"AI system {record.id!r} is already in the register; update it instead.",
                    [{"column": "id", "problem": "id already in the register", "value": record.id}],
                )
            connection.execute(t.ai_systems.insert(), [to_db(record, t.ai_systems)])
            record_created(connection, "ai_systems", [record], by=by, at=now)
        return record

    def get_system(self, system_id: str) -> AiSystem:
        """Return an AI system, or raise :class:`NotFoundError`."""
        with self._read() as connection:
            return self._load(connection, AiSystem, system_id)

    def list_systems(self) -> list[AiSystem]:
        """Return every AI system, by id."""
        with self._read() as connection:
            rows = connection.execute(sa.select(t.ai_systems).order_by(t.ai_systems.c.id)).mappings()
            return [from_db(row, t.ai_systems, AiSystem) for row in rows]

    def update_system(
        self,
        system_id: str,
        changes: Mapping[str, Any] | Callable[[AiSystem], Mapping[str, Any]],
        *,
        by: str | None = None,
    ) -> AiSystem:
        """Change fields of an AI system (not its id); each changed field goes to the history."""
        now = utc_now()
        with self._write() as connection:
            current = self._load(connection, AiSystem, system_id, lock=True)
            wanted = dict(changes(current) if callable(changes) else changes)
            self._refuse_fields(wanted, ("id",), "an AI system's id cannot change")
            new = validate(AiSystem, {**current.model_dump(), **wanted}, what="AI system")
            changed = record_changes(connection, "ai_systems", current, new, by=by, at=now)
            if changed:
                values = {k: v for k, v in to_db(new, t.ai_systems).items() if k in changed}
                connection.execute(
                    sa.update(t.ai_systems).where(t.ai_systems.c.id == system_id).values(**values)
                )
        return new

    def get_data_card(self, system_id: str) -> DataCard:
        """Return the data card of an AI system (where its prediction logs are and what they mean)."""
        system = self.get_system(system_id)
        if system.data_card is None:
            raise NotFoundError(_no_data_card_message(system_id))
        return system.data_card

    def incident_with_card(self, incident_id: str) -> tuple[Incident, DataCard]:
        """Return an incident and the data card of its AI system (read in one transaction).

        Raises
        ------
        NotFoundError
            The incident is unknown, names no AI system, or its system has no data card; the message
            says which ``workbench`` command fixes it.

        Examples
        --------
        >>> import tempfile, os
        >>> reg = open_register(os.path.join(tempfile.mkdtemp(), "r.sqlite"), create=True)
        >>> incident = reg.add_incident({"title": "Drift", "category": "performance_degradation",
        ...                              "severity": "SEV-3", "aware_at": "2026-05-04T10:00:00Z"})
        >>> reg.incident_with_card(incident.id)
        Traceback (most recent call last):
        ...
        register.errors.NotFoundError: incident INC-2026-0001 names no AI system, ... --set system_id=...`.
        """
        with self._read() as connection:
            incident = self._load(connection, Incident, incident_id)
            if not incident.system_id:
                raise NotFoundError(
                    f"incident {incident_id} names no AI system, so there are no prediction logs to "
                    f"analyse; set it with `workbench register update {incident_id} --set system_id=...`."
                )
            system = self._load(connection, AiSystem, incident.system_id)
        if system.data_card is None:
            raise NotFoundError(_no_data_card_message(system.id, incident_id=incident_id))
        return incident, system.data_card

    # -- incidents -------------------------------------------------------------------------------------

    def add_incident(self, incident: Incident | Mapping[str, Any], *, by: str | None = None) -> Incident:
        """Add an incident; without an ``id`` one is allocated (``INC-<year of aware_at>-NNNN``).

        The id is allocated inside the write transaction, so concurrent writers never get the same one;
        numbers have at least four digits and grow past 9999. Imported public records (with a
        ``source``) keep their own numbers without moving the counter: allocation skips the ids they
        hold.

        Examples
        --------
        >>> import tempfile, os
        >>> reg = open_register(os.path.join(tempfile.mkdtemp(), "r.sqlite"), create=True)
        >>> reg.add_incident({"title": "Chatbot leaks e-mail addresses", "category": "data_exposure_privacy",
        ...                   "severity": "SEV-1", "aware_at": "2026-05-04T10:00:00+02:00"}).aware_at
        datetime.datetime(2026, 5, 4, 8, 0, tzinfo=datetime.timezone.utc)
        >>> reg.add_incident({"title": "x", "category": "safety", "severity": "SEV-9",
        ...                   "aware_at": "2026-05-04T10:00:00Z"})
        Traceback (most recent call last):
        ...
        register.errors.ValidationFailed: invalid incident: severity: Input should be ...
        """
        data = incident.model_dump() if isinstance(incident, Incident) else dict(incident)
        allocate = not data.get("id")
        if allocate:
            data["id"] = SENTINEL_ID
        record = validate(Incident, data, what="incident")
        check_times(incident_times(record), incident_id=None if allocate else record.id)
        now = utc_now()
        with self._write() as connection:
            if record.system_id is not None:
                self._require_system(connection, record.system_id)
            if allocate:
                year = record.aware_at.year
                number = next_incident_number(connection, f"incident:{year:04d}")
                while exists(connection, t.incidents, f"INC-{year:04d}-{number:04d}"):  # an imported record's
                    number = next_incident_number(connection, f"incident:{year:04d}")
                record = record.model_copy(update={"id": f"INC-{year:04d}-{number:04d}"})
            elif exists(connection, t.incidents, record.id):
                raise ValidationFailed(
                    f"incident {record.id} is already in the register; update it instead.",
                    [{"column": "id", "problem": "id already in the register", "value": record.id}],
                )
            else:
                raise_counter_to(connection, [record.id])
            row = to_db(record, t.incidents) | {"updated_at": now, "updated_by": by}
            connection.execute(t.incidents.insert(), [row])
            record_created(connection, "incidents", [record], by=by, at=now)
        return record

    def get_incident(self, incident_id: str) -> Incident:
        """Return an incident, or raise :class:`NotFoundError`."""
        with self._read() as connection:
            return self._load(connection, Incident, incident_id)

    def update_incident(
        self,
        incident_id: str,
        changes: Mapping[str, Any] | Callable[[Incident], Mapping[str, Any]],
        *,
        by: str | None = None,
        expected: Mapping[str, Any] | None = None,
    ) -> Incident:
        """Change fields of an incident in one locked transaction; return the new record.

        Parameters
        ----------
        incident_id : str
            The incident.
        changes : mapping or callable
            New field values, or a function of the current (locked) record returning them -- a safe
            read-modify-write: ``update_incident(id, lambda i: {"affected_count": i.affected_count + 1})``.
        by : str, optional
            Who made the change (recorded in the history).
        expected : mapping, optional
            Field values the caller last saw; when the register holds something else, raise
            :class:`ConflictError` and change nothing (optimistic check for interactive edits).

        Notes
        -----
        The status moves only through :meth:`transition`; the id never changes. Times are checked for
        consistency (e.g. contained before became aware is refused).
        """
        now = utc_now()
        with self._write() as connection:
            current = self._load(connection, Incident, incident_id, lock=True)
            if expected:
                stale = {
                    name: canonical_text(getattr(current, name, None))
                    for name, value in expected.items()
                    if canonical_text(getattr(current, name, None)) != canonical_text(value)
                }
                if stale:
                    raise ConflictError(
                        f"incident {incident_id} changed since you read it ({', '.join(stale)} now "
                        f"{', '.join(str(v) for v in stale.values())}); reload it and try again."
                    )
            wanted = dict(changes(current) if callable(changes) else changes)
            self._refuse_fields(wanted, ("id",), "an incident's id cannot change")
            self._refuse_fields(
                wanted,
                ("status",),
                "the status changes only through transition (`workbench register transition "
                f"{incident_id} STATUS`), which stamps its time and checks the lifecycle",
            )
            new = validate(Incident, {**current.model_dump(), **wanted}, what="incident")
            check_times(incident_times(new), incident_id=incident_id)
            if new.system_id is not None and new.system_id != current.system_id:
                self._require_system(connection, new.system_id)
            self._apply(connection, current, new, by=by, at=now)
        return new

    def _apply(
        self, connection: Connection, current: Incident, new: Incident, *, by: str | None, at: datetime
    ) -> None:
        changed = record_changes(connection, "incidents", current, new, by=by, at=at)
        if changed:
            values = {k: v for k, v in to_db(new, t.incidents).items() if k in changed}
            connection.execute(
                sa.update(t.incidents)
                .where(t.incidents.c.id == current.id)
                .values(**values, updated_at=at, updated_by=by)
            )

    def transition(
        self,
        incident_id: str,
        to: IncidentStatus | str,
        *,
        at: datetime | None = None,
        reason: str | None = None,
        by: str | None = None,
    ) -> Incident:
        """Move an incident along the lifecycle (see :mod:`register.lifecycle`); return the new record.

        Parameters
        ----------
        incident_id : str
            The incident.
        to : IncidentStatus or str
            The wanted status; invalid moves raise :class:`InvalidTransition` naming the allowed ones.
        at : datetime, optional
            When it happened (default: now). Stamps ``triaged_at``, ``contained_at``, ``resolved_at``
            (on ``recovered``) or ``closed_at``; without ``at`` a time already recorded is kept.
        reason : str, optional
            Required to reopen a closed incident; recorded as a timeline note (and so in the history).
        by : str, optional
            Who made the move.

        Examples
        --------
        >>> import tempfile, os
        >>> reg = open_register(os.path.join(tempfile.mkdtemp(), "r.sqlite"), create=True)
        >>> incident = reg.add_incident({"title": "Drift", "category": "performance_degradation",
        ...                              "severity": "SEV-3", "aware_at": "2026-05-04T10:00:00Z"})
        >>> when = datetime.fromisoformat("2026-05-04T10:30:00+00:00")
        >>> reg.transition(incident.id, "triaged", at=when).triaged_at
        datetime.datetime(2026, 5, 4, 10, 30, tzinfo=datetime.timezone.utc)
        >>> reg.transition(incident.id, "recovered")
        Traceback (most recent call last):
        ...
        register.errors.InvalidTransition: cannot move an incident from 'triaged' to 'recovered'. Allowed ...
        """
        now = utc_now()
        when = as_utc(at) if at is not None else now
        with self._write() as connection:
            current = self._load(connection, Incident, incident_id, lock=True)
            move = find_transition(current.status, to, kind=current.kind)
            if move.needs_reason and not (reason and reason.strip()):
                raise ValidationFailed(
                    f"to {move.name} {incident_id} ({current.status} -> {move.target}) a reason is required. "
                    "Got none; say why (e.g. --reason 'the fix did not hold')."
                )
            update: dict[str, Any] = {"status": move.target}
            for name in move.clears:
                update[name] = None
            if move.stamp is not None and (at is not None or getattr(current, move.stamp) is None):
                update[move.stamp] = when
            new = validate(Incident, {**current.model_dump(), **update}, what="incident")
            check_times(incident_times(new), incident_id=incident_id)
            self._apply(connection, current, new, by=by, at=now)
            if move.needs_reason:
                note = TimelineEvent(
                    incident_id=incident_id,
                    at=when,
                    kind=TimelineEventKind.NOTE,
                    description=f"{move.name.capitalize()} ({current.status} -> {move.target}): {reason}",
                )
                self._insert_timeline_events(connection, [note], by=by, at=now)
        return new

    def list_incidents(
        self,
        *,
        system: str | Sequence[str] | None = None,
        severity: str | Sequence[str] | None = None,
        status: str | Sequence[str] | None = None,
        category: str | Sequence[str] | None = None,
        kind: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        open_only: bool = False,
        limit: int | None = None,
    ) -> list[Incident]:
        """Return incidents matching every filter given, by became-aware time then id.

        ``since``/``until`` select incidents whose ``aware_at`` lies in ``[since, until)``; ``open_only``
        leaves out closed ones. A filter may be one value or a list of values. An AI system the register
        does not hold raises :class:`NotFoundError` (a misspelt id is not "no incidents"); ``limit``
        must lie in ``1..MAX_INTEGER``.
        """
        if limit is not None and not 1 <= limit <= MAX_INTEGER:
            raise ValidationFailed(f"limit must be between 1 and {MAX_INTEGER}. Got {limit} instead.")
        query = incident_query(
            system=system,
            severity=severity,
            status=status,
            category=category,
            kind=kind,
            since=since,
            until=until,
            open_only=open_only,
        )
        if limit is not None:
            query = query.limit(limit)
        with self._read() as connection:
            for system_id in as_list(system) or []:
                self._require_system(connection, system_id)
            rows = connection.execute(query).mappings()
            return [from_db(row, t.incidents, Incident) for row in rows]

    # -- children --------------------------------------------------------------------------------------

    def add_timeline_event(
        self, event: TimelineEvent | Mapping[str, Any], *, by: str | None = None
    ) -> TimelineEvent:
        """Add a dated event to an incident's timeline; return it with its id."""
        record = event if isinstance(event, TimelineEvent) else validate(TimelineEvent, event, what="event")
        now = utc_now()
        with self._write() as connection:
            self._load(connection, Incident, record.incident_id, lock=True)
            return self._insert_timeline_events(connection, [record], by=by, at=now)[0]

    def _insert_timeline_events(
        self, connection: Connection, events: Sequence[TimelineEvent], *, by: str | None, at: datetime
    ) -> list[TimelineEvent]:
        saved = []
        for event in events:
            row = to_db(event, t.timeline_events)
            if row["id"] is None:
                del row["id"]
            new_id = connection.execute(
                t.timeline_events.insert().returning(t.timeline_events.c.id), [row]
            ).scalar_one()
            saved.append(event.model_copy(update={"id": new_id}))
        record_created(connection, "timeline_events", saved, by=by, at=at)
        return saved

    def timeline(self, incident_id: str) -> list[TimelineEvent]:
        """Return an incident's timeline, in time order."""
        return self._children(t.timeline_events, TimelineEvent, incident_id, order=("at", "id"))

    def add_action_item(self, item: ActionItem | Mapping[str, Any], *, by: str | None = None) -> ActionItem:
        """Add an action item; without an id it gets ``<incident id>-A<n>``."""
        record = item if isinstance(item, ActionItem) else validate(ActionItem, item, what="action item")
        record = self._stamp_completion(None, record)
        return self._add_child(record, prefix="A", by=by)

    def update_action_item(
        self,
        item_id: str,
        changes: Mapping[str, Any] | Callable[[ActionItem], Mapping[str, Any]],
        *,
        by: str | None = None,
    ) -> ActionItem:
        """Change an action item (status, owner, due date...); ``done`` stamps ``completed_at`` if empty."""
        return self._update_child(ActionItem, item_id, changes, by=by, adjust=self._stamp_completion)

    def get_action_item(self, item_id: str) -> ActionItem:
        """Return one action item, or raise :class:`NotFoundError`."""
        with self._read() as connection:
            return self._load(connection, ActionItem, item_id)

    def get_notification(self, notification_id: str) -> Notification:
        """Return one notification, or raise :class:`NotFoundError`."""
        with self._read() as connection:
            return self._load(connection, Notification, notification_id)

    def action_items(self, incident_id: str) -> list[ActionItem]:
        """Return an incident's action items, by due date (undated last) then id."""
        return self._children(t.action_items, ActionItem, incident_id, order=("due_at", "id"))

    def add_notification(
        self, notification: Notification | Mapping[str, Any], *, by: str | None = None
    ) -> Notification:
        """Record a notification owed or made; without an id it gets ``<incident id>-N<n>``."""
        record = (
            notification
            if isinstance(notification, Notification)
            else validate(Notification, notification, what="notification")
        )
        return self._add_child(record, prefix="N", by=by)

    def update_notification(
        self,
        notification_id: str,
        changes: Mapping[str, Any] | Callable[[Notification], Mapping[str, Any]],
        *,
        by: str | None = None,
    ) -> Notification:
        """Change a notification (e.g. set ``sent_at`` and ``reference`` once sent)."""
        return self._update_child(Notification, notification_id, changes, by=by)

    def notifications(self, incident_id: str) -> list[Notification]:
        """Return an incident's notifications, by due date then id."""
        return self._children(t.notifications, Notification, incident_id, order=("due_at", "id"))

    def add_evidence(self, evidence: Evidence | Mapping[str, Any], *, by: str | None = None) -> Evidence:
        """Record an artefact kept as evidence (an executed notebook, a report, a data fingerprint)."""
        record = evidence if isinstance(evidence, Evidence) else validate(Evidence, evidence, what="evidence")
        return self._add_child(record, prefix=None, by=by)

    def evidence(self, incident_id: str) -> list[Evidence]:
        """Return an incident's evidence, by capture time."""
        return self._children(t.evidence, Evidence, incident_id, order=("captured_at", "id"))

    def add_classification(
        self, classification: Classification | Mapping[str, Any], *, by: str | None = None
    ) -> Classification:
        """Label an incident in a taxonomy (namespace, attribute, value), e.g. CSET or MIT."""
        record = (
            classification
            if isinstance(classification, Classification)
            else validate(Classification, classification, what="classification")
        )
        return self._add_child(record, prefix=None, by=by)

    def classifications(self, incident_id: str) -> list[Classification]:
        """Return an incident's taxonomy labels."""
        return self._children(t.classifications, Classification, incident_id, order=("namespace", "id"))

    def _add_child(self, record: C, *, prefix: str | None, by: str | None) -> C:
        """Insert a child of an incident; ``prefix``: ids ``<incident id>-<prefix><n>``, else integers."""
        entity = ENTITY_OF_MODEL[type(record)]
        table, _ = ENTITY_TABLES[entity]
        now = utc_now()
        incident_id = record.incident_id
        with self._write() as connection:
            self._load(connection, Incident, incident_id, lock=True)
            row = to_db(record, table)
            if prefix is not None:
                if row["id"] is None:
                    row["id"] = next_child_id(connection, table, incident_id, prefix)
                elif exists(connection, table, row["id"]):
                    raise ValidationFailed(
                        f"{entity} id {row['id']!r} is already in the register.",
                        [{"column": "id", "problem": "id already in the register", "value": row["id"]}],
                    )
                connection.execute(table.insert(), [row])
                saved = record.model_copy(update={"id": row["id"]})
            else:
                if row["id"] is None:
                    del row["id"]
                new_id = connection.execute(table.insert().returning(table.c.id), [row]).scalar_one()
                saved = record.model_copy(update={"id": new_id})
            record_created(connection, entity, [saved], by=by, at=now)
        return saved

    @staticmethod
    def _stamp_completion(current: ActionItem | None, new: ActionItem) -> ActionItem:
        finished = new.status in (ActionItemStatus.DONE, ActionItemStatus.WONT_DO)
        was_finished = current is not None and current.status in (
            ActionItemStatus.DONE,
            ActionItemStatus.WONT_DO,
        )
        if finished and not was_finished and new.completed_at is None:
            return new.model_copy(update={"completed_at": utc_now()})
        return new

    def _update_child(
        self,
        model: type[U],
        item_id: str,
        changes: Mapping[str, Any] | Callable[[U], Mapping[str, Any]],
        *,
        by: str | None,
        adjust: Callable[[U, U], U] | None = None,
    ) -> U:
        """Change an action item or a notification (not its ids); each changed field goes to the history.

        ``adjust(current, new)`` returns the record to store instead of ``new`` (e.g. stamps a time).
        """
        entity = ENTITY_OF_MODEL[model]
        table, _ = ENTITY_TABLES[entity]
        now = utc_now()
        with self._write() as connection:
            current = self._load(connection, model, item_id, lock=True)
            wanted = dict(changes(current) if callable(changes) else changes)
            self._refuse_fields(
                wanted, ("id", "incident_id"), f"an {entity[:-1].replace('_', ' ')} keeps its ids"
            )
            new = validate(model, {**current.model_dump(), **wanted}, what=entity[:-1].replace("_", " "))
            if adjust is not None:
                new = adjust(current, new)
            changed = record_changes(connection, entity, current, new, by=by, at=now)
            if changed:
                values = {k: v for k, v in to_db(new, table).items() if k in changed}
                connection.execute(sa.update(table).where(table.c.id == item_id).values(**values))
        return new

    def _children(
        self, table: sa.Table, model: type[R], incident_id: str, *, order: tuple[str, ...]
    ) -> list[R]:
        with self._read() as connection:
            self._load(connection, Incident, incident_id)
            query = sa.select(table).where(table.c.incident_id == incident_id)
            query = query.order_by(*(table.c[name].asc().nulls_last() for name in order))
            return [from_db(row, table, model) for row in connection.execute(query).mappings()]

    # -- helpers ---------------------------------------------------------------------------------------

    @staticmethod
    def _refuse_fields(changes: Mapping[str, Any], names: Iterable[str], why: str) -> None:
        for name in names:
            if name in changes:
                raise ValidationFailed(f"{why}. Got a change of {name!r}; leave it out.")

    def _require_system(self, connection: Connection, system_id: str) -> None:
        if not exists(connection, t.ai_systems, system_id):
            raise NotFoundError(f"no AI system {system_id!r}; {_ADD_SYSTEM_HINT}")

    def _load(self, connection: Connection, model: type[R], key: object, *, lock: bool = False) -> R:
        """Return the ``model`` record with id ``key`` (``lock``: for update), or raise NotFoundError."""
        entity = ENTITY_OF_MODEL[model]
        table, _ = ENTITY_TABLES[entity]
        if isinstance(key, int) and not 0 <= key <= MAX_INTEGER:  # beyond 64 bits: never stored
            raise NotFoundError(self._not_found_message(entity, key))
        query = sa.select(table).where(table.c.id == key)
        if lock:
            query = locked(query, connection)
        row = connection.execute(query).mappings().first()
        if row is None:
            raise NotFoundError(self._not_found_message(entity, key))
        return from_db(row, table, model)

    @staticmethod
    def _not_found_message(entity: str, key: object) -> str:
        if entity == "incidents":
            return f"no incident {key}; `workbench register list` shows the ids."
        if entity == "ai_systems":
            return f"no AI system {key!r}; {_ADD_SYSTEM_HINT}"
        readable = entity[:-1].replace("_", " ") if entity.endswith("s") else entity
        return f"no {readable} {key!r}; `workbench register show <incident id>` lists an incident's {entity}."

    def seed_incident_counter(self, year: int, last_value: int) -> None:
        """Set the last incident number allocated for ``year`` (for migrations from another tool)."""
        with self._write() as connection:
            raise_counter_to(connection, [f"INC-{year:04d}-{last_value:04d}"])

    # -- bundles ---------------------------------------------------------------------------------------

    def import_bundle(
        self, bundle: Bundle, *, by: str | None, dry_run: bool = False, allow_empty: bool = False
    ) -> dict[str, int]:
        """Write a whole bundle in ONE transaction: everything or nothing.

        Every problem is collected first; if there is any, :class:`ValidationFailed` is raised with one
        row per problem ``{file, row, column, problem, value, message}`` and nothing is written.
        ``file`` is the entity (``incidents``...), ``row`` the 1-based position of the record in that
        entity's list, ``problem`` a stable code (the codes of :mod:`register.io`): ``duplicate_id``
        (twice in the bundle), ``id_in_register`` (already in the register), ``unknown_reference`` (an
        incident of an unknown AI system, a child of an unknown incident), ``inconsistent_times``.

        Parameters
        ----------
        bundle : register.io.Bundle
            The validated records.
        by : str or None
            Who imports (recorded in the history).
        dry_run : bool, default False
            Check everything, including the database constraints, then roll back.
        allow_empty : bool, default False
            Accept a bundle without records (and return zero counts); otherwise raise
            :class:`~register.errors.EmptyImportError`.

        Returns
        -------
        dict
            Records written per entity.

        Examples
        --------
        >>> import tempfile, os
        >>> from register.io import Bundle
        >>> from register.schema import TimelineEvent
        >>> reg = open_register(os.path.join(tempfile.mkdtemp(), "r.sqlite"), create=True)
        >>> bundle = Bundle(timeline_events=[TimelineEvent(incident_id="INC-2026-0404", kind="note",
        ...                                                at="2026-05-04T10:00:00Z", description="x")])
        >>> try:
        ...     reg.import_bundle(bundle, by="ana")
        ... except ValidationFailed as exc:
        ...     print(exc.failures[0]["file"], exc.failures[0]["problem"], exc.failures[0]["value"])
        timeline_events unknown_reference INC-2026-0404
        """
        now = utc_now()
        counts = bundle.counts()
        if not any(counts.values()):
            if allow_empty:
                return counts
            raise EmptyImportError([])
        try:
            with self._write() as connection:
                failures = bundle_problems(connection, bundle)
                if failures:
                    raise ValidationFailed(
                        f"the bundle has {len(failures)} problem(s); nothing was written.", failures
                    )
                try:
                    write_bundle_records(connection, bundle, by=by, at=now)
                except sa.exc.IntegrityError as exc:
                    raise ValidationFailed(
                        f"the database refused the bundle ({exc.orig}); nothing was written."
                    ) from exc
                if dry_run:
                    raise _DryRunDone
        except _DryRunDone:
            pass
        return counts

    def sync_source(
        self,
        bundle: Bundle,
        *,
        source: str,
        by: str | None,
        dry_run: bool = False,
        allow_empty: bool = False,
    ) -> SourceSync:
        """Import (or re-import) a public database's export: add new records, update the ones it owns.

        ONE transaction, all or nothing, like :meth:`import_bundle`. Every incident of ``bundle`` must
        have ``source`` and a ``source_id``; the register's incidents with the same ``(source,
        source_id)`` are updated through the audited update path (rules: :mod:`register._sources`:
        title, summary, dates, visibility, the source's tags, the category unless a person changed it
        after the import, the source's classifications replaced); the others are added. Own records
        and other sources' records are never changed. History rows of these writes have ``changed_by``
        ``"<by> (import:<source>)"``.

        Parameters
        ----------
        bundle : register.io.Bundle
            Incidents and classifications read from the source (e.g. :func:`register.io.read_aiid_incidents`).
        source : str
            The source slug (``aiid``, ``aiaaic``).
        by : str or None
            Who imports.
        dry_run : bool, default False
            Decide and check everything, write nothing; the result holds the diff.
        allow_empty : bool, default False
            Accept an export without records.

        Returns
        -------
        SourceSync
            Ids new / changed (field -> (old, new)) / unchanged, and the records added per entity.

        Raises
        ------
        ValidationFailed
            One row per problem (a new record's id held by another record: ``id_in_register``; a record
            without this source; inconsistent times); nothing is written.
        """
        from register._sources import delete_classifications, import_marker, plan_source_sync
        from register.io import Bundle

        now = utc_now()
        if not any(bundle.counts().values()):
            if allow_empty:
                return SourceSync(source=source, dry_run=dry_run)
            raise EmptyImportError([])
        allowed = ("incidents", "classifications")
        others = [name for name, n in bundle.counts().items() if n and name not in allowed]
        if others:
            raise ValidationFailed(
                "a source import must hold incidents and classifications only. Got "
                f"{', '.join(others)} too; import those with `workbench register import BUNDLE`."
            )
        marked = f"{by or ''}{import_marker(source)}".strip()
        result = SourceSync(source=source)
        try:
            with self._write() as connection:
                plan = plan_source_sync(connection, bundle, source)
                failures = plan.failures + bundle_problems(connection, plan.new_records)
                if failures:
                    raise ValidationFailed(
                        f"the import has {len(failures)} problem(s); nothing was written.", failures
                    )
                replacements = Bundle(
                    classifications=[label for _, added in plan.replaced.values() for label in added]
                )
                try:
                    write_bundle_records(connection, plan.new_records, by=marked, at=now)
                    for current, new in plan.updates:
                        self._apply(connection, current, new, by=marked, at=now)
                    delete_classifications(
                        connection,
                        [label for removed, _ in plan.replaced.values() for label in removed],
                        by=marked,
                        at=now,
                    )
                    write_bundle_records(connection, replacements, by=marked, at=now)
                except sa.exc.IntegrityError as exc:
                    raise ValidationFailed(
                        f"the database refused the import ({exc.orig}); nothing was written."
                    ) from exc
                result = plan.sync
                result.counts = {
                    "incidents": len(plan.new_records.incidents),
                    "classifications": len(plan.new_records.classifications)
                    + len(replacements.classifications),
                }
                if dry_run:
                    raise _DryRunDone
        except _DryRunDone:
            pass
        result.dry_run = dry_run
        return result

    def export_bundle(self, *, incident_ids: Sequence[str] | None = None) -> Bundle:
        """Return the register (or some incidents with their children and systems) as a :class:`Bundle`.

        Raises
        ------
        NotFoundError
            One of ``incident_ids`` is not in the register (nothing is exported).
        """
        with self._read() as connection:
            for incident_id in incident_ids or []:
                if not exists(connection, t.incidents, incident_id):
                    raise NotFoundError(
                        f"unknown incident {incident_id!r}: the register holds no such incident, so "
                        "nothing was exported; `workbench register list` shows the ids."
                    )
            return read_bundle_from(connection, incident_ids=incident_ids)
