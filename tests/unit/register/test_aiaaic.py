"""AIAAIC repository import: multi-row header, odd dates, issue -> category, provenance."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from register import Register
from register.errors import ValidationFailed
from register.io import Bundle, read_aiaaic_incidents, read_aiid_incidents, read_bundle, write_bundle

FIXTURE = Path(__file__).parent / "fixtures" / "aiaaic" / "aiaaic_repository.csv"
AIID = Path(__file__).parent / "fixtures" / "aiid"


def _labels(bundle: Bundle, incident_id: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for label in bundle.classifications:
        if label.incident_id == incident_id:
            assert label.namespace == "AIAAIC"
            found.setdefault(label.attribute, []).append(label.value)
    return found


def test_the_export_maps_ids_dates_and_provenance() -> None:
    result = read_aiaaic_incidents(FIXTURE)
    incidents = {i.source_id: i for i in result.bundle.incidents}
    assert list(incidents) == ["AIAAIC1001", "AIAAIC1002", "AIAAIC1003", "AIAAIC1004", "AIAAIC1005"]
    assert result.id_map["AIAAIC1002"] == "INC-2021-1001002"
    health = incidents["AIAAIC1001"]
    assert health.title == "Health chatbot gives harmful advice, users say"  # quoted comma
    assert (health.source, health.id, health.publicly_visible) == ("aiaaic", "INC-2023-1001001", True)
    assert health.occurred_at == health.aware_at == datetime(2023, 1, 1, tzinfo=UTC)
    assert "aiaaic:date-precision-year" in health.tags
    assert incidents["AIAAIC1002"].occurred_at == datetime(2021, 3, 1, tzinfo=UTC)  # "Mar 2021"
    assert "aiaaic:date-precision-month" in incidents["AIAAIC1002"].tags
    assert incidents["AIAAIC1002"].summary.endswith("Two complaints were filed.")  # multi-line cell
    assert incidents["AIAAIC1003"].occurred_at == datetime(2021, 3, 1, tzinfo=UTC)  # "2021-03"
    assert incidents["AIAAIC1004"].occurred_at == datetime(2020, 8, 13, tzinfo=UTC)
    assert "aiaaic:date-precision-day" in incidents["AIAAIC1004"].tags
    energy = incidents["AIAAIC1005"]  # no Occurred: the Released year, tagged
    assert energy.id == "INC-2019-1001005" and "aiaaic:occurred-from-released" in energy.tags
    assert {i.severity.value for i in incidents.values()} == {"SEV-3"}


def test_issues_map_to_categories_and_unmapped_keeps_the_default() -> None:
    incidents = {i.source_id: i for i in read_aiaaic_incidents(FIXTURE).bundle.incidents}
    assert {key: i.category.value for key, i in incidents.items()} == {
        "AIAAIC1001": "safety",  # Safety listed first
        "AIAAIC1002": "fairness_bias",
        "AIAAIC1003": "harmful_content",
        "AIAAIC1004": "fairness_bias",
        "AIAAIC1005": "reputational",  # Environment: no category
    }
    assert "aiaaic:unmapped-category" in incidents["AIAAIC1005"].tags
    assert "aiaaic:category-from-issue" in incidents["AIAAIC1001"].tags


def test_taxonomy_columns_become_classifications() -> None:
    result = read_aiaaic_incidents(FIXTURE)
    health = _labels(result.bundle, "INC-2023-1001001")
    assert health["developer"] == ["OpenAI, Inc."]  # not split on its comma
    assert health["technology"] == ["Chatbot", "NLP/text analysis"]
    assert health["issue"] == ["Safety", "Accuracy/reliability"]
    assert health["external_harms_individual"] == ["Harm to health"]
    assert health["internal_impacts_strategic_reputational"] == ["Reputational damage"]
    assert health["released"] == ["2022"] and health["type"] == ["Incident"]
    shops = _labels(result.bundle, "INC-2021-1001002")
    assert shops["country"] == ["UK", "Ireland"]
    assert shops["internal_impacts_financial"] == ["Fine"]
    assert "system" not in shops  # empty cell
    assert result.ignored_columns == []


def test_round_trip_and_no_clash_with_aiid(tmp_path: Path, reg: Register) -> None:
    bundle = read_aiaaic_incidents(FIXTURE).bundle
    assert read_bundle(write_bundle(bundle, tmp_path / "b", "csv")) == bundle
    reg.sync_source(read_aiid_incidents(AIID).bundle, source="aiid", by="ana")
    sync = reg.sync_source(bundle, source="aiaaic", by="ana")
    assert len(sync.new) == 5
    assert {i.source for i in reg.list_incidents()} == {"aiid", "aiaaic"}


def test_an_unknown_layout_lists_expected_and_found_columns(tmp_path: Path) -> None:
    path = tmp_path / "other.csv"
    path.write_text("id,name,when\n1,x,2020\n", encoding="utf-8")
    with pytest.raises(ValidationFailed) as caught:
        read_aiaaic_incidents(path)
    (failure,) = caught.value.failures
    assert failure["problem"] == "missing_column" and failure["value"] == "id, name, when"
    assert "AIAAIC ID#" in str(failure["message"]) and "Occurred" in str(failure["message"])
    path.write_text("AIAAIC ID#,Title of it,Country\nAIAAIC1,x,UK\n", encoding="utf-8")
    with pytest.raises(ValidationFailed) as caught:
        read_aiaaic_incidents(path)
    (failure,) = caught.value.failures
    assert failure["column"] == "headline, occurred" and "Headline" in str(failure["message"])


def test_bad_ids_and_dates_are_reported_row_by_row(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(
        "AIAAIC ID#,Headline,Occurred\n"
        "AIAAIC1,Fine,2020\n"
        "X-2,Bad id,2020\n"
        "AIAAIC3,Bad date,13/03/2021\n"
        "AIAAIC1,Twice,2021\n",
        encoding="utf-8",
    )
    with pytest.raises(ValidationFailed) as caught:
        read_aiaaic_incidents(path)
    assert {(f["row"], f["column"], f["problem"]) for f in caught.value.failures} == {
        (3, "AIAAIC ID#", "invalid_value"),
        (4, "Occurred", "invalid_time"),
        (5, "AIAAIC ID#", "duplicate_id"),
    }
