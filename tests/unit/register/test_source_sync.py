"""Re-import of a public database: ``Register.sync_source`` updates the records the source owns."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from register import Register
from register.errors import ValidationFailed
from register.io import read_aiid_incidents

FIXTURES = Path(__file__).parent / "fixtures" / "aiid"


@pytest.fixture
def export(tmp_path: Path) -> Path:
    folder = tmp_path / "aiid"
    shutil.copytree(FIXTURES, folder)
    return folder


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


def _sync(reg: Register, folder: Path, *, by: str = "ana", dry_run: bool = False):
    return reg.sync_source(read_aiid_incidents(folder).bundle, source="aiid", by=by, dry_run=dry_run)


def test_first_import_adds_every_record_with_its_provenance(reg: Register, export: Path) -> None:
    sync = _sync(reg, export)
    assert sync.new == ["INC-2015-0001", "INC-2016-0006", "INC-2016-0012", "INC-2024-10423"]
    assert sync.changed == {} and sync.unchanged == []
    tay = reg.get_incident("INC-2016-0006")
    assert (tay.source, tay.source_id, tay.category.value) == ("aiid", "6", "harmful_content")
    assert reg.history("incidents", "INC-2016-0006")[0].changed_by == "ana (import:aiid)"
    again = _sync(reg, export)
    assert again.new == [] and again.changed == {} and len(again.unchanged) == 4
    assert again.counts == {"incidents": 0, "classifications": 0}


def test_reimport_updates_a_changed_title_with_history_and_dry_run_writes_nothing(
    reg: Register, export: Path
) -> None:
    _sync(reg, export)
    history_before = len(reg.history_frame())
    _edit(export / "incidents.csv", ",TayBot\n", ",Tay chatbot posts offensive tweets\n")
    with (export / "incidents.csv").open("a", encoding="utf-8") as handle:
        handle.write("newid,99,2020-02-02,[7],[],[],[],A new one.,New incident\n")
    preview = _sync(reg, export, by="bo", dry_run=True)
    assert preview.dry_run is True
    assert preview.new == ["INC-2020-0099"]
    assert preview.changed == {"INC-2016-0006": {"title": ("TayBot", "Tay chatbot posts offensive tweets")}}
    assert len(preview.unchanged) == 3
    assert reg.get_incident("INC-2016-0006").title == "TayBot"  # nothing written
    assert [i.id for i in reg.list_incidents() if i.id == "INC-2020-0099"] == []
    assert len(reg.history_frame()) == history_before

    done = _sync(reg, export, by="bo")
    assert done.changed == preview.changed and done.new == preview.new
    assert reg.get_incident("INC-2016-0006").title == "Tay chatbot posts offensive tweets"
    (entry,) = reg.history("incidents", "INC-2016-0006", field="title")
    assert (entry.old_value, entry.new_value, entry.changed_by) == (
        "TayBot",
        "Tay chatbot posts offensive tweets",
        "bo (import:aiid)",
    )


def test_reimport_replaces_the_source_classifications_and_remaps_the_category(
    reg: Register, export: Path
) -> None:
    _sync(reg, export)
    _edit(
        export / "classifications_MIT.csv",
        "1. Discrimination and Toxicity,1.2. Exposure to toxic content",
        "7. AI System Safety & Failures & Limitations,7.3. Lack of capability or robustness",
    )
    sync = _sync(reg, export)
    assert sync.changed["INC-2016-0006"]["category"] == ("harmful_content", "performance_degradation")
    # AIID 7 (2 ids, 2 reports, 3 parties) + CSETv1 5 + MIT 5 + workbench suggestion 2 = 19
    assert sync.changed["INC-2016-0006"]["classifications"] == ("19 labels", "19 labels")
    mit = {c.attribute: c.value for c in reg.classifications("INC-2016-0006") if c.namespace == "MIT"}
    assert mit["Risk Subdomain"] == "7.3. Lack of capability or robustness"
    deleted = reg.history_frame(entity="classifications").query("field == '(deleted)'")
    # only the two MIT labels that changed are replaced; the other 17 keep their rows
    assert sorted(deleted["old_value"].str.extract(r'"attribute":"([^"]+)"')[0]) == [
        "Risk Domain",
        "Risk Subdomain",
    ]
    assert set(deleted["changed_by"]) == {"ana (import:aiid)"}
    assert len(reg.classifications("INC-2016-0006")) == 19


def test_a_category_a_person_set_is_kept(reg: Register, export: Path) -> None:
    _sync(reg, export)
    reg.update_incident("INC-2016-0006", {"category": "safety"}, by="carol")
    _edit(export / "incidents.csv", ",TayBot\n", ",Tay\n")
    sync = _sync(reg, export)
    assert "category" not in sync.changed["INC-2016-0006"]
    tay = reg.get_incident("INC-2016-0006")
    assert (tay.title, tay.category.value) == ("Tay", "safety")


def test_own_records_are_never_touched_and_a_clash_writes_nothing(reg: Register, export: Path) -> None:
    _sync(reg, export)
    own = reg.add_incident(
        {"id": "INC-2020-0099", "title": "Our own", "category": "safety", "severity": "SEV-2",
         "aware_at": "2020-02-02T00:00:00Z"}
    )  # fmt: skip
    _edit(export / "incidents.csv", ",TayBot\n", ",Tay\n")
    with (export / "incidents.csv").open("a", encoding="utf-8") as handle:
        handle.write("newid,99,2020-02-02,[7],[],[],[],A new one.,New incident\n")
    with pytest.raises(ValidationFailed) as caught:
        _sync(reg, export)
    assert [(f["problem"], f["value"]) for f in caught.value.failures] == [
        ("id_in_register", "INC-2020-0099")
    ]
    assert reg.get_incident("INC-2020-0099") == own
    assert reg.get_incident("INC-2016-0006").title == "TayBot"  # all or nothing


def test_every_record_must_carry_the_source(reg: Register) -> None:
    bundle = read_aiid_incidents(FIXTURES).bundle
    with pytest.raises(ValidationFailed) as caught:
        reg.sync_source(bundle, source="aiaaic", by="ana")
    assert {f["problem"] for f in caught.value.failures} == {"invalid_value"}
    assert reg.list_incidents() == []


def test_imported_numbers_do_not_move_the_counter_and_allocation_skips_them(
    reg: Register, export: Path
) -> None:
    _sync(reg, export)  # holds INC-2016-0006 and INC-2016-0012
    data = {"title": "Own", "category": "safety", "severity": "SEV-3", "aware_at": "2016-05-01T00:00:00Z"}
    ids = [reg.add_incident(data).id for _ in range(7)]
    assert ids == [f"INC-2016-{n:04d}" for n in (1, 2, 3, 4, 5, 7, 8)]
    assert reg.add_incident({**data, "aware_at": "2024-01-01T00:00:00Z"}).id == "INC-2024-0001"  # not 10424
