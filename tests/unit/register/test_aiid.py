from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from register.errors import ValidationFailed
from register.io import Bundle, aiid_incident_id, read_aiid_incidents, read_bundle, write_bundle

FIXTURES = Path(__file__).parent / "fixtures" / "aiid"
HEADER = (
    "_id,incident_id,date,reports,Alleged deployer of AI system,Alleged developer of AI system,"
    "Alleged harmed or nearly harmed parties,description,title\n"
)


def _labels(bundle: Bundle, incident_id: str, namespace: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for label in bundle.classifications:
        if label.incident_id == incident_id and label.namespace == namespace:
            found.setdefault(label.attribute, []).append(label.value)
    return found


def test_sample_export_maps_incidents_and_keeps_source_fields() -> None:
    result = read_aiid_incidents(FIXTURES)
    ids = [incident.id for incident in result.bundle.incidents]
    assert ids == ["INC-2015-0001", "INC-2016-0006", "INC-2016-0012", "INC-2024-10423"]
    assert result.id_map == {
        1: "INC-2015-0001",
        6: "INC-2016-0006",
        12: "INC-2016-0012",
        10423: "INC-2024-10423",
    }
    tay = result.bundle.incidents[1]
    assert tay.title == "TayBot"
    assert tay.summary.endswith("within a day of its release.")  # multi-line quoted cell
    assert tay.occurred_at == datetime(2016, 3, 24, tzinfo=UTC) == tay.aware_at
    assert tay.publicly_visible is True
    # MIT 1.2 "Exposure to toxic content" -> harmful content; the severity stays the default
    assert tay.category.value == "harmful_content" and tay.severity.value == "SEV-3"
    assert "aiid:unmapped-severity" in tay.tags and "aiid:category-from-mit" in tay.tags
    assert "aiid:unmapped-category" not in tay.tags
    assert (tay.source, tay.source_id) == ("aiid", "6")
    source = _labels(result.bundle, "INC-2016-0006", "AIID")
    assert source["report"] == ["906", "907"]
    assert source["alleged_deployer"] == ["microsoft"]
    assert source["alleged_harmed_party"] == ["twitter-users"]
    assert source["aiid_record_id"] == ["5d34b8c29ced494f010ed46a"]
    # Python-style list and empty lists
    embeddings = _labels(result.bundle, "INC-2016-0012", "AIID")
    assert embeddings["alleged_deployer"] == ["amazon", "uber"]
    assert "alleged_developer" not in embeddings
    assert result.bundle.incidents[2].summary is None


def test_taxonomies_become_classifications_and_unpublished_rows_are_skipped() -> None:
    result = read_aiid_incidents(FIXTURES)
    assert result.namespaces == ["AIID", "CSETv1", "MIT", "workbench"]
    assert result.skipped_unpublished == 1
    cset = _labels(result.bundle, "INC-2016-0006", "CSETv1")
    assert cset["Sector of Deployment"] == [
        "arts, entertainment and recreation",
        "information and communication",
    ]
    assert cset["Tangible Harm"] == ["no tangible harm"]
    assert _labels(result.bundle, "INC-2016-0012", "CSETv1") == {}
    mit = _labels(result.bundle, "INC-2024-10423", "MIT")
    assert mit["Risk Subdomain"] == ["1.1. Unfair discrimination and misrepresentation"]


def test_defaults_are_overridable() -> None:
    result = read_aiid_incidents(
        FIXTURES / "incidents.csv", default_category="safety", default_severity="SEV-2"
    )
    assert {i.category.value for i in result.bundle.incidents} == {"safety"}
    assert {i.severity.value for i in result.bundle.incidents} == {"SEV-2"}
    assert not [c for c in result.bundle.classifications if c.namespace != "AIID"]  # file given: no discovery


def test_imported_bundle_round_trips(tmp_path: Path) -> None:
    result = read_aiid_incidents(FIXTURES)
    folder = write_bundle(result.bundle, tmp_path / "aiid_bundle", "csv")
    assert read_bundle(folder) == result.bundle


def test_id_mapping() -> None:
    assert aiid_incident_id(7, datetime(2019, 1, 1)) == "INC-2019-0007"


def test_every_problem_is_reported(tmp_path: Path) -> None:
    (tmp_path / "incidents.csv").write_text(
        HEADER
        + "a,1,2020-01-01,[1],[],[],[],ok,Fine\n"
        + "b,x,2020-01-01,[1],[],[],[],bad id,Bad id\n"
        + "c,3,01/02/2020,[1],[],[],[],bad date,Bad date\n"
        + 'd,4,2020-01-01,"[1,",[],[],[],bad list,Bad list\n'
        + "e,1,2020-02-02,[],[],[],[],dup,Duplicate\n",
        encoding="utf-8",
    )
    (tmp_path / "classifications_X.csv").write_text(
        "Namespace,Incident ID,Published,Field\nX,99,true,v\n", encoding="utf-8"
    )
    with pytest.raises(ValidationFailed) as caught:
        read_aiid_incidents(tmp_path)
    found = {(row["file"], row["row"], row["column"], row["problem"]) for row in caught.value.failures}
    assert found == {
        ("incidents.csv", 3, "incident_id", "invalid_value"),
        ("incidents.csv", 4, "date", "invalid_time"),
        ("incidents.csv", 5, "reports", "invalid_value"),
        ("incidents.csv", 6, "incident_id", "duplicate_id"),
        ("classifications_X.csv", 2, "Incident ID", "unknown_reference"),
    }


def test_missing_columns_and_malformed_files(tmp_path: Path) -> None:
    (tmp_path / "incidents.csv").write_text("_id,date\na,2020-01-01\n", encoding="utf-8")
    with pytest.raises(ValidationFailed) as caught:
        read_aiid_incidents(tmp_path / "incidents.csv")
    assert {(r["column"], r["problem"]) for r in caught.value.failures} == {
        ("incident_id", "missing_column"),
        ("title", "missing_column"),
    }
    (tmp_path / "incidents.csv").write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ValidationFailed) as caught:
        read_aiid_incidents(tmp_path / "incidents.csv")
    assert caught.value.failures[0]["problem"] == "malformed_file"
    with pytest.raises(ValidationFailed) as caught:
        read_aiid_incidents(tmp_path / "nowhere.csv")
    assert caught.value.failures[0]["problem"] == "missing_file"


def test_copy_of_fixture_folder_reads_the_same(tmp_path: Path) -> None:
    shutil.copytree(FIXTURES, tmp_path / "aiid")
    assert read_aiid_incidents(tmp_path / "aiid").bundle == read_aiid_incidents(FIXTURES).bundle


def test_mit_classification_sets_the_category_and_unmapped_keeps_the_default() -> None:
    incidents = {i.id: i for i in read_aiid_incidents(FIXTURES).bundle.incidents}
    assert incidents["INC-2024-10423"].category.value == "fairness_bias"  # 1.1 unfair discrimination
    assert "aiid:category-from-mit" in incidents["INC-2024-10423"].tags
    youtube = incidents["INC-2015-0001"]  # no MIT row
    assert youtube.category.value == "reputational"
    assert "aiid:unmapped-category" in youtube.tags and "aiid:category-from-mit" not in youtube.tags
    assert {i.severity.value for i in incidents.values()} == {"SEV-3"}
    assert all("aiid:unmapped-severity" in i.tags for i in incidents.values())


def test_cset_harm_gives_a_severity_suggestion_that_is_not_applied() -> None:
    result = read_aiid_incidents(FIXTURES)
    youtube = _labels(result.bundle, "INC-2015-0001", "workbench")
    assert youtube == {
        "suggested_severity": ["SEV-2"],
        "suggested_severity_basis": ["CSET Tangible Harm: tangible harm definitively occurred"],
    }
    assert _labels(result.bundle, "INC-2016-0006", "workbench")["suggested_severity"] == ["SEV-4"]
    assert _labels(result.bundle, "INC-2016-0012", "workbench") == {}  # its CSET row is unpublished
    assert result.bundle.incidents[0].severity.value == "SEV-3"


def test_taxonomy_files_can_be_named() -> None:
    result = read_aiid_incidents(
        FIXTURES / "incidents.csv", taxonomy_files=[FIXTURES / "classifications_MIT.csv"]
    )
    assert result.namespaces == ["AIID", "MIT"]
    assert {i.id: i.category.value for i in result.bundle.incidents}["INC-2016-0006"] == "harmful_content"


def test_a_named_file_that_is_not_a_taxonomy_is_a_clear_error() -> None:
    with pytest.raises(ValidationFailed) as caught:
        read_aiid_incidents(FIXTURES / "incidents.csv", taxonomy_files=[FIXTURES / "incidents.csv"])
    (failure,) = caught.value.failures
    assert failure["problem"] == "missing_column" and failure["column"] == "Namespace, Incident ID"
    assert "classifications_" in str(failure["message"]) and "incident_id" in str(failure["value"])
