"""Reading and writing bundles (incidents with their children and AI systems) and single-entity files.

A bundle is either ONE document -- JSON or YAML ``{"format": "workbench-bundle", "version": 1,
"ai_systems": [...], "incidents": [...], ...}``, or an XLSX workbook with one sheet per entity -- or a
FOLDER holding one file per entity (CSV, JSON, YAML or XLSX) and ``manifest.json``::

    {"format": "workbench-bundle", "version": 1,
     "files": {"ai_systems": "ai_systems.json", "incidents": "incidents.csv", ...}}

Reading validates everything and raises one :class:`~register.errors.ValidationFailed` listing every
problem (see :mod:`register.io._records` for the problem codes); nothing is returned half-read.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel

from register._parsing import MAX_DOCUMENT_BYTES
from register.errors import EmptyImportError, ValidationFailed
from register.io._bundle import ENTITY_ORDER, Bundle
from register.io._documents import dump_document, load_document, records_payload
from register.io._records import Failures, Located, check_bundle_references, records_from_rows
from register.io._tabular import read_csv_rows, read_xlsx_rows, write_csv, write_xlsx, xlsx_sheet_names
from register.schema import AiSystem

__all__ = [
    "BUNDLE_FORMAT",
    "BUNDLE_VERSION",
    "FileFormat",
    "read_bundle",
    "read_entities",
    "write_bundle",
    "write_entities",
]

BUNDLE_FORMAT = "workbench-bundle"
BUNDLE_VERSION = 1
MANIFEST = "manifest.json"

FileFormat = Literal["csv", "json", "yaml", "xlsx"]
_SUFFIXES: dict[str, FileFormat] = {
    ".csv": "csv",
    ".json": "json",
    ".yaml": "yaml",
    ".yml": "yaml",
    ".xlsx": "xlsx",
}


def _format_of(path: Path, failures: Failures, *, file: str) -> FileFormat | None:
    fmt = _SUFFIXES.get(path.suffix.lower())
    if fmt is None:
        failures.add(
            file,
            None,
            None,
            "unsupported_format",
            path.suffix,
            f"file names must end in one of {sorted(_SUFFIXES)}",
        )
    return fmt


def _read_bytes(path: Path, failures: Failures, *, file: str) -> bytes | None:
    try:
        size = path.stat().st_size
        if size > MAX_DOCUMENT_BYTES:
            failures.add(
                file,
                None,
                None,
                "too_large",
                f"{size / (1024 * 1024):.1f} MB",
                f"an import file must be at most {MAX_DOCUMENT_BYTES // (1024 * 1024)} MB; split it",
            )
            return None
        return path.read_bytes()
    except FileNotFoundError:
        failures.add(file, None, None, "missing_file", str(path), "the file does not exist")
    except OSError as exc:
        failures.add(file, None, None, "missing_file", str(path), f"the file cannot be read: {exc}")
    return None


def _document_rows(
    document: Any, entity: str, *, file: str, failures: Failures
) -> list[tuple[int, Any]] | None:
    if isinstance(document, Mapping):
        if document.get("format") == BUNDLE_FORMAT or entity in document:
            document = document.get(entity, [])
        else:
            failures.add(
                file,
                None,
                None,
                "malformed_file",
                None,
                f"the document must be a list of {entity} or a mapping with an {entity!r} key",
            )
            return None
    if document is None:
        return []
    if not isinstance(document, list):
        failures.add(
            file,
            None,
            None,
            "malformed_file",
            type(document).__name__,
            f"{entity} must be a list of objects",
        )
        return None
    return list(enumerate(document, start=1))


def _read_entity_file(
    path: Path, entity: str, failures: Failures, *, file: str, sheet: str | None = None
) -> Located | None:
    fmt = _format_of(path, failures, file=file)
    if fmt is None:
        return None
    data = _read_bytes(path, failures, file=file)
    if data is None:
        return None
    if fmt == "csv":
        rows = read_csv_rows(data, entity, file=file, failures=failures)
        return records_from_rows(entity, rows, file=file, failures=failures, cells_are_text=True)
    if fmt == "xlsx":
        rows = read_xlsx_rows(data, entity, file=file, failures=failures, sheet=sheet)
        where = f"{file} [{sheet or entity}]"
        return records_from_rows(entity, rows, file=where, failures=failures, cells_are_text=True)
    before = len(failures)
    document = load_document(data, fmt, file=file, failures=failures)
    if len(failures) > before:
        return None
    document_rows = _document_rows(document, entity, file=file, failures=failures)
    if document_rows is None:
        return None
    return records_from_rows(entity, document_rows, file=file, failures=failures, cells_are_text=False)


def _check_entity(entity: str, failures: Failures) -> bool:
    if entity not in ENTITY_ORDER:
        failures.add(
            None, None, None, "unknown_entity", entity, f"entity must be one of {list(ENTITY_ORDER)}"
        )
        return False
    return True


def read_entities(
    path: str | os.PathLike[str], entity: str, *, sheet: str | None = None, allow_empty: bool = False
) -> list[BaseModel]:
    r"""Read and validate the records of one entity from a CSV, JSON, YAML or XLSX file.

    Duplicate ids and (for incidents) inconsistent times are refused; references to other entities
    are not checked here (the register checks them on import).

    Parameters
    ----------
    path : path-like
        The file; its suffix says the format (``.csv``, ``.json``, ``.yaml``/``.yml``, ``.xlsx``).
    entity : str
        One of :data:`~register.io.ENTITY_ORDER`.
    sheet : str or None
        XLSX only: the sheet to read (default: the sheet named like the entity, or the only sheet).
    allow_empty : bool, default False
        Accept a file without records (empty, ``null``, only a header row): return ``[]``.

    Returns
    -------
    list
        Records of the entity's type (e.g. :class:`~register.schema.Incident`), in file order.

    Raises
    ------
    ValidationFailed
        With every problem as a failure row (file, row, column, problem, value, message).
    EmptyImportError
        The file holds no records and ``allow_empty`` is false.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "incidents.csv").write_text(
    ...     "id,title,category,severity,aware_at\n"
    ...     "INC-2026-0001,Scores drift,performance_degradation,SEV-3,2026-03-01T10:00:00+01:00\n")
    >>> [(i.id, i.aware_at.isoformat()) for i in read_entities(folder / "incidents.csv", "incidents")]
    [('INC-2026-0001', '2026-03-01T09:00:00+00:00')]
    """
    failures = Failures()
    path = Path(path)
    if not _check_entity(entity, failures):
        failures.raise_if_any(str(path))
    located = _read_entity_file(path, entity, failures, file=path.name, sheet=sheet)
    if located is not None:
        check_bundle_references({entity: located}, failures, allow_external=True)
    failures.raise_if_any(str(path))
    records = list(located.records) if located is not None else []
    if not records and not allow_empty:
        raise EmptyImportError([path.name])
    return records


def _manifest(folder: Path, failures: Failures) -> dict[str, str] | None:
    manifest_path = folder / MANIFEST
    if not manifest_path.exists():
        found = {
            entity: candidate.name
            for entity in ENTITY_ORDER
            for candidate in sorted(folder.glob(f"{entity}.*"))
            if candidate.suffix.lower() in _SUFFIXES
        }
        if not found:
            failures.add(
                str(folder),
                None,
                None,
                "missing_file",
                MANIFEST,
                f"a bundle folder needs {MANIFEST} (or files named <entity>.csv/.json/.yaml/.xlsx)",
            )
            return None
        return found
    data = _read_bytes(manifest_path, failures, file=MANIFEST)
    if data is None:
        return None
    document = load_document(data, "json", file=MANIFEST, failures=failures)
    if document is None:
        return None
    if not isinstance(document, Mapping) or not isinstance(document.get("files"), Mapping):
        failures.add(
            MANIFEST, None, "files", "malformed_file", None, 'the manifest must hold a "files" mapping'
        )
        return None
    _check_header(document, failures, file=MANIFEST)
    files: dict[str, str] = {}
    for entity, name in document["files"].items():
        if not _check_entity(str(entity), failures):
            failures.rows[-1]["file"] = MANIFEST
            continue
        if not isinstance(name, str) or not name or Path(name).is_absolute() or ".." in Path(name).parts:
            failures.add(
                MANIFEST, None, str(entity), "invalid_value", name, "must be a file name inside the folder"
            )
            continue
        files[str(entity)] = name
    return files


def _check_header(document: Mapping[str, Any], failures: Failures, *, file: str) -> None:
    if document.get("format") != BUNDLE_FORMAT:
        failures.add(
            file, None, "format", "invalid_value", document.get("format"), f'format must be "{BUNDLE_FORMAT}"'
        )
    if document.get("version") != BUNDLE_VERSION:
        failures.add(
            file,
            None,
            "version",
            "invalid_value",
            document.get("version"),
            f"version must be {BUNDLE_VERSION}",
        )


def read_bundle(
    path: str | os.PathLike[str],
    *,
    known_incident_ids: Iterable[str] = (),
    known_system_ids: Iterable[str] = (),
    allow_external: bool = False,
    resolve_locations: bool = True,
    allow_empty: bool = False,
) -> Bundle:
    """Read and validate a bundle: one JSON/YAML document, one XLSX workbook, or a folder.

    Every record is validated, then the bundle as a whole: duplicate ids per entity, children that
    point at incidents outside the bundle, incidents that point at AI systems outside it, and
    inconsistent incident times (the lifecycle's rules). Every problem is collected first.

    Parameters
    ----------
    path : path-like
        A ``.json``/``.yaml``/``.yml``/``.xlsx`` file or a folder with ``manifest.json``.
    known_incident_ids, known_system_ids : iterable of str
        Ids that exist already (e.g. in the register): references to them are accepted.
    allow_external : bool
        Accept every reference outside the bundle; :meth:`Bundle.external_references` lists them
        for the register to check.
    resolve_locations : bool
        Resolve relative data-card locations against the bundle's folder (``DataCard.with_base``).
    allow_empty : bool, default False
        Accept a bundle without records (empty or ``null`` document, only header rows, no entity
        files): return an empty :class:`Bundle`.

    Returns
    -------
    Bundle

    Raises
    ------
    ValidationFailed
        With one failure row per problem.
    EmptyImportError
        The bundle holds no records and ``allow_empty`` is false (names the files read).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from datetime import UTC, datetime
    >>> from register.schema import Incident, TimelineEvent
    >>> incident = Incident(id="INC-2026-0001", title="Drift", category="performance_degradation",
    ...                     severity="SEV-3", aware_at=datetime(2026, 3, 1, tzinfo=UTC))
    >>> event = TimelineEvent(incident_id="INC-2026-0001", at=datetime(2026, 3, 1, 1, tzinfo=UTC),
    ...                       kind="detection", description="alert fired")
    >>> folder = pathlib.Path(tempfile.mkdtemp()) / "bundle"
    >>> _ = write_bundle(Bundle(incidents=[incident], timeline_events=[event]), folder, "csv")
    >>> read_bundle(folder) == Bundle(incidents=[incident], timeline_events=[event])
    True
    """
    path = Path(path)
    failures = Failures()
    if path.is_dir():
        entities, files = _read_folder(path, failures)
        base = path
    else:
        entities, files = _read_document(path, failures), [path.name]
        base = path.parent
    check_bundle_references(
        entities,
        failures,
        known_incident_ids=known_incident_ids,
        known_system_ids=known_system_ids,
        allow_external=allow_external,
    )
    failures.raise_if_any(str(path))
    bundle = Bundle()
    for entity, located in entities.items():
        setattr(bundle, entity, list(located.records))
    if not allow_empty and not any(bundle.counts().values()):
        raise EmptyImportError(files)
    if resolve_locations:
        bundle.ai_systems = [_resolved(system, base) for system in bundle.ai_systems]
    return bundle


def _read_folder(folder: Path, failures: Failures) -> tuple[dict[str, Located], list[str]]:
    """Read the entity files of a bundle folder; return them and the names of the files read."""
    entities: dict[str, Located] = {}
    files = _manifest(folder, failures) or {}
    for entity, name in files.items():
        located = _read_entity_file(folder / name, entity, failures, file=name)
        if located is not None:
            entities[entity] = located
    return entities, [f"{folder.name}/{name}" for name in files.values()] or [str(folder)]


def _read_document(path: Path, failures: Failures) -> dict[str, Located]:
    """Read a bundle held in one file: a JSON/YAML document or an XLSX workbook (one sheet per entity)."""
    fmt = _format_of(path, failures, file=path.name)
    data = _read_bytes(path, failures, file=path.name) if fmt is not None else None
    if data is None:
        return {}
    if fmt == "csv":
        failures.add(
            path.name,
            None,
            None,
            "unsupported_format",
            ".csv",
            "a CSV bundle is a folder of entity files (ai_systems.csv, incidents.csv...) with "
            "manifest.json: put the CSV file in such a folder and import the folder",
        )
        return {}
    if fmt == "xlsx":
        return _read_workbook(path.name, data, failures)
    document = load_document(data, "json" if fmt == "json" else "yaml", file=path.name, failures=failures)
    if document is None:
        return {}
    if not isinstance(document, Mapping):
        failures.add(
            path.name,
            None,
            None,
            "malformed_file",
            type(document).__name__,
            f'a bundle document must be a mapping {{"format": "{BUNDLE_FORMAT}", ...}}',
        )
        return {}
    return _document_entities(path.name, document, failures)


def _read_workbook(name: str, data: bytes, failures: Failures) -> dict[str, Located]:
    """Read an XLSX bundle: one sheet per entity, named after it."""
    sheets = xlsx_sheet_names(data, file=name, failures=failures) or []
    for sheet in sheets:
        if sheet not in ENTITY_ORDER:
            failures.add(
                name, None, None, "unknown_entity", sheet, f"sheets must be named after {list(ENTITY_ORDER)}"
            )
    entities: dict[str, Located] = {}
    for entity in ENTITY_ORDER:
        if entity in sheets:
            rows = read_xlsx_rows(data, entity, file=name, failures=failures, sheet=entity)
            entities[entity] = records_from_rows(
                entity, rows, file=f"{name} [{entity}]", failures=failures, cells_are_text=True
            )
    return entities


def _document_entities(name: str, document: Mapping[str, Any], failures: Failures) -> dict[str, Located]:
    """Read the entity lists of a bundle document (after its header is checked)."""
    _check_header(document, failures, file=name)
    for key in document:
        if key not in ENTITY_ORDER and key not in ("format", "version"):
            failures.add(name, None, str(key), "unknown_entity", str(key), f"entities: {list(ENTITY_ORDER)}")
    entities: dict[str, Located] = {}
    for entity in ENTITY_ORDER:
        where = f"{name} [{entity}]"
        rows = _document_rows(document.get(entity), entity, file=where, failures=failures)
        if rows is not None:
            entities[entity] = records_from_rows(
                entity, rows, file=where, failures=failures, cells_are_text=False
            )
    return entities


def _resolved(system: AiSystem, base: Path) -> AiSystem:
    if system.data_card is None:
        return system
    return system.model_copy(update={"data_card": system.data_card.with_base(base)})


def write_entities(
    records: Iterable[BaseModel], path: str | os.PathLike[str], entity: str, fmt: FileFormat | None = None
) -> Path:
    """Write the records of one entity as one CSV, JSON (list), YAML (list) or XLSX (one sheet) file.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from register.schema import Classification
    >>> label = Classification(incident_id="INC-2026-0001", namespace="MIT", attribute="domain", value="7.3")
    >>> path = write_entities([label], pathlib.Path(tempfile.mkdtemp()) / "labels.yaml", "classifications")
    >>> read_entities(path, "classifications") == [label]
    True
    """
    path = Path(path)
    if entity not in ENTITY_ORDER:
        raise ValidationFailed(f"entity must be one of {list(ENTITY_ORDER)}. Got {entity!r} instead.")
    fmt = fmt or _SUFFIXES.get(path.suffix.lower())
    if fmt not in ("csv", "json", "yaml", "xlsx"):
        raise ValidationFailed(
            f"fmt must be one of csv, json, yaml, xlsx (or a matching suffix). Got {fmt!r} for {path}."
        )
    records = list(records)
    if fmt == "csv":
        write_csv(records, entity, path)
    elif fmt == "xlsx":
        write_xlsx({entity: records}, path)
    else:
        dump_document(records_payload(records), fmt, path)
    return path


def write_bundle(
    bundle: Bundle,
    path: str | os.PathLike[str],
    fmt: FileFormat | None = None,
    *,
    layout: Literal["document", "folder"] | None = None,
) -> Path:
    """Write a bundle as one document (JSON, YAML, XLSX) or as a folder of entity files + manifest.

    Parameters
    ----------
    bundle : Bundle
    path : path-like
        A file for ``layout="document"``, a folder (created if needed) for ``layout="folder"``.
    fmt : {"csv", "json", "yaml", "xlsx"} or None
        Default: from the suffix of ``path``; ``csv`` for a path without a known suffix.
    layout : {"document", "folder"} or None
        Default: ``document`` when ``path`` ends in ``.json``/``.yaml``/``.yml``/``.xlsx``, else
        ``folder``. CSV is always a folder.

    Returns
    -------
    Path
        The file or folder written.
    """
    path = Path(path)
    suffix_format = _SUFFIXES.get(path.suffix.lower())
    fmt = fmt or suffix_format or "csv"
    if fmt not in ("csv", "json", "yaml", "xlsx"):
        raise ValidationFailed(f"fmt must be one of csv, json, yaml, xlsx. Got {fmt!r} instead.")
    layout = layout or ("document" if suffix_format is not None and fmt != "csv" else "folder")
    if layout == "document":
        if fmt == "csv":
            raise ValidationFailed(
                "a CSV bundle must be a folder. Got layout='document'; use layout='folder'."
            )
        if fmt == "xlsx":
            write_xlsx({entity: getattr(bundle, entity) for entity in ENTITY_ORDER}, path)
        else:
            payload: dict[str, Any] = {"format": BUNDLE_FORMAT, "version": BUNDLE_VERSION}
            payload.update({entity: records_payload(getattr(bundle, entity)) for entity in ENTITY_ORDER})
            dump_document(payload, fmt, path)
        return path
    path.mkdir(parents=True, exist_ok=True)
    extension = {"csv": "csv", "json": "json", "yaml": "yaml", "xlsx": "xlsx"}[fmt]
    files = {entity: f"{entity}.{extension}" for entity in ENTITY_ORDER}
    for entity, name in files.items():
        write_entities(getattr(bundle, entity), path / name, entity, fmt)
    manifest = {"format": BUNDLE_FORMAT, "version": BUNDLE_VERSION, "files": files}
    (path / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return path
