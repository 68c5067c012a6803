"""Re-import of a public incident database: the plan and writes behind ``Register.sync_source``.

A source (``Incident.source``, e.g. ``aiid``) owns the records it imported, found by
``(source, source_id)``. A newer export of the same source:

- adds the incidents the register does not hold yet (as :meth:`Register.import_bundle` would);
- updates the ones it holds, field by field through the register's audited update (one history row
  per changed field): :data:`SOURCE_FIELDS`, the category unless a person changed it after the import
  (a ``category`` history row not written by an import of the source: see :func:`import_marker`),
  and the tags (the source's own tags -- ``<source>`` and ``<source>:...`` -- replaced, others kept);
- replaces the classifications of that source on them (the namespaces the export holds, plus the
  register's own suggestions :data:`SUGGESTION_ATTRIBUTES`): labels no longer in the export are
  deleted (each recorded in the history as a ``(deleted)`` row holding the record), new ones added
  (``(created)`` rows), identical ones kept as they are.

Records with another source, and the register's own records (``source`` null), are never touched: a
new record whose id one of them holds is refused (``id_in_register``). Everything happens inside the
caller's one write transaction.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from register import _tables as t
from register._bundles import Failure, _failure
from register._entities import CHUNK, canonical_text, from_db, incident_times, validate
from register.lifecycle import time_problems
from register.schema import Classification, Incident

if TYPE_CHECKING:
    from register.io import Bundle

__all__ = [
    "SOURCE_FIELDS",
    "SUGGESTION_ATTRIBUTES",
    "SourcePlan",
    "SourceSync",
    "delete_classifications",
    "import_marker",
    "plan_source_sync",
]

SOURCE_FIELDS = ("title", "summary", "occurred_at", "aware_at", "publicly_visible")
"""Incident fields a re-import takes from the source (besides the category and the source's tags)."""
SUGGESTION_NAMESPACE = "workbench"
SUGGESTION_ATTRIBUTES = ("suggested_severity", "suggested_severity_basis")
"""The register's own classifications an import writes (replaced by a re-import of the source)."""
DELETED_FIELD = "(deleted)"
"""``history.field`` of the row recording a deleted record (``old_value`` is the record as JSON)."""


def import_marker(source: str) -> str:
    """Return the suffix of ``history.changed_by`` for writes of an import of ``source``.

    Examples
    --------
    >>> "ana" + import_marker("aiid")
    'ana (import:aiid)'
    """
    return f" (import:{source})"


@dataclass
class SourceSync:
    """What a (re-)import of a source did, or would do with ``dry_run``."""

    source: str
    dry_run: bool = False
    new: list[str] = field(default_factory=list)
    """Incident ids added."""
    changed: dict[str, dict[str, tuple[str | None, str | None]]] = field(default_factory=dict)
    """Incident id -> field -> (old, new) as canonical texts (``classifications``: label counts)."""
    unchanged: list[str] = field(default_factory=list)
    category_kept: list[str] = field(default_factory=list)
    """Incidents whose category a person changed after the import: left as the person set it."""
    counts: dict[str, int] = field(default_factory=dict)
    """Records added per entity (new incidents, classifications written)."""


@dataclass
class SourcePlan:
    """The writes of a re-import, decided before anything is written."""

    new_records: Bundle
    updates: list[tuple[Incident, Incident]]
    replaced: dict[str, tuple[list[Classification], list[Classification]]]
    failures: list[Failure]
    sync: SourceSync


def _owned(label: Classification, namespaces: set[str]) -> bool:
    if label.namespace == SUGGESTION_NAMESPACE:
        return label.attribute in SUGGESTION_ATTRIBUTES
    return label.namespace in namespaces


def _is_source_tag(tag: str, source: str) -> bool:
    return tag == source or tag.startswith(f"{source}:")


def _existing(connection: Connection, source: str, source_ids: Sequence[str]) -> dict[str, Incident]:
    found: dict[str, Incident] = {}
    for start in range(0, len(source_ids), CHUNK):
        chunk = list(source_ids[start : start + CHUNK])
        query = sa.select(t.incidents).where(
            t.incidents.c.source == source, t.incidents.c.source_id.in_(chunk)
        )
        for row in connection.execute(query).mappings():
            incident = from_db(row, t.incidents, Incident)
            found[str(incident.source_id)] = incident
    return found


def _person_set_category(connection: Connection, source: str, incident_ids: Sequence[str]) -> set[str]:
    """Incidents with a ``category`` history row that no import of ``source`` wrote."""
    marker = import_marker(source)
    h = t.history.c
    found: set[str] = set()
    for start in range(0, len(incident_ids), CHUNK):
        query = sa.select(h.entity_id, h.changed_by).where(
            h.entity == "incidents",
            h.field == "category",
            h.entity_id.in_(incident_ids[start : start + CHUNK]),
        )
        found.update(eid for eid, by in connection.execute(query) if not (by or "").endswith(marker))
    return found


def _labels_of(connection: Connection, incident_ids: Sequence[str]) -> dict[str, list[Classification]]:
    labels: dict[str, list[Classification]] = {}
    c = t.classifications.c
    for start in range(0, len(incident_ids), CHUNK):
        query = (
            sa.select(t.classifications)
            .where(c.incident_id.in_(incident_ids[start : start + CHUNK]))
            .order_by(c.incident_id, c.id)
        )
        for row in connection.execute(query).mappings():
            label = from_db(row, t.classifications, Classification)
            labels.setdefault(label.incident_id, []).append(label)
    return labels


def _key(label: Classification) -> tuple[str, str, str]:
    return (label.namespace, label.attribute, label.value)


def _label_changes(
    old: list[Classification], new: list[Classification]
) -> tuple[list[Classification], list[Classification]]:
    """The labels to delete and to add so that ``old`` becomes ``new`` (as multisets; the rest stay)."""
    surplus = Counter(map(_key, old)) - Counter(map(_key, new))
    missing = Counter(map(_key, new)) - Counter(map(_key, old))
    removed = []
    for label in old:
        if surplus[_key(label)] > 0:
            surplus[_key(label)] -= 1
            removed.append(label)
    added = []
    for label in new:
        if missing[_key(label)] > 0:
            missing[_key(label)] -= 1
            added.append(label)
    return removed, added


def _updated(current: Incident, imported: Incident, source: str, keep_category: bool) -> Incident:
    changes: dict[str, object] = {name: getattr(imported, name) for name in SOURCE_FIELDS}
    if not keep_category:
        changes["category"] = imported.category
    kept = [tag for tag in current.tags if not _is_source_tag(tag, source)]
    changes["tags"] = list(dict.fromkeys([*imported.tags, *kept]))
    return validate(Incident, {**current.model_dump(), **changes}, what="incident")


def plan_source_sync(connection: Connection, bundle: Bundle, source: str) -> SourcePlan:
    """Split a source's export into new records, updates and replaced classifications (no writes).

    Long because it is one pass over the export that decides, per incident, new / changed /
    unchanged and the classification replacement; every query is chunked and column-wise.
    """
    from register.io import Bundle

    failures: list[Failure] = []
    sync = SourceSync(source=source)
    for position, incident in enumerate(bundle.incidents, start=1):
        if incident.source != source or incident.source_id is None:
            message = (
                f"every record of this import must have source {source!r} and a source_id; got "
                f"source {incident.source!r}, source_id {incident.source_id!r}"
            )
            failures.append(
                _failure("incidents", position, "source", "invalid_value", incident.source, message)
            )
    counts = Counter(i.source_id for i in bundle.incidents)
    for position, incident in enumerate(bundle.incidents, start=1):
        if incident.source_id is not None and counts[incident.source_id] > 1:
            message = "the source id appears twice in the import"
            failures.append(
                _failure("incidents", position, "source_id", "duplicate_id", incident.source_id, message)
            )
    existing = _existing(
        connection, source, sorted({str(i.source_id) for i in bundle.incidents if i.source_id})
    )
    id_of = {i.id: existing[str(i.source_id)].id for i in bundle.incidents if str(i.source_id) in existing}
    person_set = _person_set_category(connection, source, sorted(id_of.values()))
    current_labels = _labels_of(connection, sorted(id_of.values()))
    namespaces = {label.namespace for label in bundle.classifications}
    imported_labels: dict[str, list[Classification]] = {}
    new_records = Bundle(ai_systems=list(bundle.ai_systems))
    for label in bundle.classifications:
        if label.incident_id in id_of:
            target = id_of[label.incident_id]
            imported_labels.setdefault(target, []).append(label.model_copy(update={"incident_id": target}))
        else:
            new_records.classifications.append(label)
    updates: list[tuple[Incident, Incident]] = []
    replaced: dict[str, tuple[list[Classification], list[Classification]]] = {}
    for position, imported in enumerate(bundle.incidents, start=1):
        current = existing.get(str(imported.source_id))
        if current is None:
            new_records.incidents.append(imported)
            sync.new.append(imported.id)
            continue
        keep_category = current.id in person_set and current.category != imported.category
        if keep_category:
            sync.category_kept.append(current.id)
        new = _updated(current, imported, source, current.id in person_set)
        for problem in time_problems(incident_times(new)):
            column, value, message = str(problem["column"]), problem["value"], str(problem["problem"])
            failures.append(_failure("incidents", position, column, "inconsistent_times", value, message))
        diff = {
            name: (canonical_text(getattr(current, name)), canonical_text(getattr(new, name)))
            for name in type(new).model_fields
            if canonical_text(getattr(current, name)) != canonical_text(getattr(new, name))
        }
        old_labels = [label for label in current_labels.get(current.id, []) if _owned(label, namespaces)]
        new_labels = imported_labels.get(current.id, [])
        removed, added = _label_changes(old_labels, new_labels)
        if removed or added:
            diff["classifications"] = (f"{len(old_labels)} labels", f"{len(new_labels)} labels")
            replaced[current.id] = (removed, added)
        if diff:
            sync.changed[current.id] = diff
            updates.append((current, new))
        else:
            sync.unchanged.append(current.id)
    return SourcePlan(new_records, updates, replaced, failures, sync)


def delete_classifications(
    connection: Connection, labels: Sequence[Classification], *, by: str | None, at: datetime
) -> None:
    """Delete classifications, each with a ``(deleted)`` history row holding the record as JSON."""
    if not labels:
        return
    ids = [label.id for label in labels if label.id is not None]
    for start in range(0, len(ids), CHUNK):
        connection.execute(
            sa.delete(t.classifications).where(t.classifications.c.id.in_(ids[start : start + CHUNK]))
        )
    rows = [
        {"entity": "classifications", "entity_id": str(label.id), "field": DELETED_FIELD,
         "old_value": label.model_dump_json(), "new_value": None, "changed_at": at, "changed_by": by}
        for label in labels
    ]  # fmt: skip
    connection.execute(t.history.insert(), rows)
