"""Imports that hold nothing are refused (EmptyImportError naming the files) unless allowed.

An empty YAML file, a JSON ``null``, a CSV/XLSX file with only its header row, an AIID export with
only its header and a bundle folder whose files hold no rows used to import as nothing and succeed
silently: a wrong or truncated file looked like a successful import.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from register import Register, RegisterError, ValidationFailed
from register.errors import EmptyImportError
from register.io import Bundle, read_aiid_incidents, read_bundle, read_entities, write_bundle, write_entities

AIID_HEADER = (
    "_id,incident_id,date,reports,Alleged deployer of AI system,Alleged developer of AI system,"
    "Alleged harmed or nearly harmed parties,description,title\n"
)

INCIDENT_HEADER = "id,title,category,severity,aware_at"


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


ENTITY_FILES: dict[str, Callable[[Path], Path]] = {
    "empty yaml": lambda folder: _write(folder / "incidents.yaml", ""),
    "yaml null": lambda folder: _write(folder / "incidents.yml", "null\n"),
    "json null": lambda folder: _write(folder / "incidents.json", "null"),
    "json empty list": lambda folder: _write(folder / "incidents.json", "[]"),
    "csv header only": lambda folder: _write(folder / "incidents.csv", f"{INCIDENT_HEADER}\n"),
    "xlsx header only": lambda folder: write_entities([], folder / "incidents.xlsx", "incidents"),
}

BUNDLE_FILES: dict[str, Callable[[Path], Path]] = {
    "empty yaml": lambda folder: _write(folder / "bundle.yaml", ""),
    "json null": lambda folder: _write(folder / "bundle.json", "null"),
    "json header only": lambda folder: _write(
        folder / "bundle.json", json.dumps({"format": "workbench-bundle", "version": 1})
    ),
    "xlsx header only": lambda folder: write_bundle(Bundle(), folder / "bundle.xlsx"),
    "csv folder, header rows only": lambda folder: write_bundle(Bundle(), folder / "bundle", "csv"),
    "folder, manifest naming no files": lambda folder: _manifest_only(folder / "bundle"),
}


def _manifest_only(folder: Path) -> Path:
    folder.mkdir()
    _write(folder / "manifest.json", json.dumps({"format": "workbench-bundle", "version": 1, "files": {}}))
    return folder


@pytest.mark.parametrize("make", ENTITY_FILES.values(), ids=ENTITY_FILES.keys())
def test_an_entity_file_without_records_is_refused_unless_allowed(tmp_path: Path, make) -> None:
    path = make(tmp_path)
    with pytest.raises(EmptyImportError) as caught:
        read_entities(path, "incidents")
    assert caught.value.files == [path.name]
    assert path.name in str(caught.value) and "--allow-empty" in str(caught.value)
    assert [row["problem"] for row in caught.value.failures] == ["empty_import"]
    assert read_entities(path, "incidents", allow_empty=True) == []


@pytest.mark.parametrize("make", BUNDLE_FILES.values(), ids=BUNDLE_FILES.keys())
def test_a_bundle_without_records_is_refused_unless_allowed(tmp_path: Path, make) -> None:
    path = make(tmp_path)
    with pytest.raises(EmptyImportError) as caught:
        read_bundle(path, allow_external=True)
    assert caught.value.files and all(path.name in name for name in caught.value.files)
    assert read_bundle(path, allow_external=True, allow_empty=True) == Bundle()


def test_a_bundle_folder_names_each_empty_file(tmp_path: Path) -> None:
    folder = write_bundle(Bundle(), tmp_path / "bundle", "csv")
    with pytest.raises(EmptyImportError) as caught:
        read_bundle(folder)
    assert "bundle/incidents.csv" in caught.value.files and len(caught.value.files) == 7


def test_an_empty_folder_is_still_a_malformed_bundle(tmp_path: Path) -> None:
    (tmp_path / "bundle").mkdir()
    with pytest.raises(ValidationFailed, match="manifest.json") as caught:
        read_bundle(tmp_path / "bundle", allow_empty=True)
    assert not isinstance(caught.value, EmptyImportError)


def test_a_bundle_with_one_record_is_not_empty(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "bundle.yaml",
        "format: workbench-bundle\nversion: 1\nai_systems:\n- {id: chat, name: Support assistant}\n",
    )
    assert read_bundle(path).counts()["ai_systems"] == 1


def test_an_aiid_export_with_only_its_header_is_refused_unless_allowed(tmp_path: Path) -> None:
    path = _write(tmp_path / "incidents.csv", AIID_HEADER)
    with pytest.raises(EmptyImportError, match="incidents.csv must hold at least one record"):
        read_aiid_incidents(path)
    assert read_aiid_incidents(path, allow_empty=True).bundle == Bundle()


def test_register_import_of_an_empty_bundle_is_refused_unless_allowed(reg: Register, incident_data) -> None:
    reg.add_incident(incident_data())
    with pytest.raises(EmptyImportError) as caught:
        reg.import_bundle(Bundle(), by="ana")
    assert isinstance(caught.value, RegisterError) and "nothing was imported" in str(caught.value)
    before = len(reg.history_frame())
    assert set(reg.import_bundle(Bundle(), by="ana", allow_empty=True).values()) == {0}
    assert set(reg.import_bundle(Bundle(), by="ana", dry_run=True, allow_empty=True).values()) == {0}
    assert len(reg.history_frame()) == before and len(reg.list_incidents()) == 1
