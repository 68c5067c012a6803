from __future__ import annotations

from pathlib import Path

import pytest

from analysis.contract import FigureSpec, Section, SectionSummary, SummaryValidationError
from analysis.sections.drift import DriftSummary
from analysis.sections.impact import ImpactSummary
from workbench.errors import WorkbenchError
from workbench.sections import (
    SectionClashError,
    available_sections,
    get_section,
    report_outline,
)

SECTIONS = available_sections()

ROOT = Path(__file__).resolve().parents[3]


def _impact_summary(**changes: object) -> dict[str, object]:
    summary: dict[str, object] = {
        "section": "impact",
        "incident_id": "INC-2026-0001",
        "as_of": "2026-11-20T00:00:00Z",
        "definition": "label error: predicted label differs from the true label",
        "windows": {
            "reference": {"start": "2026-10-01T00:00:00Z", "end": "2026-10-29T00:00:00Z"},
            "incident": {"start": "2026-11-05T00:00:00Z", "end": "2026-11-12T00:00:00Z"},
            "recent": {"start": "2026-11-19T00:00:00Z", "end": "2026-11-20T00:00:00Z"},
        },
        "n_decisions": 1200,
        "n_affected_decisions": 180,
        "n_affected_entities": 150,
        "incident_rate": 0.15,
        "baseline_rate": 0.05,
        "excess_failures": {"estimate": 120.0, "low": 98.0, "high": 142.0},
        "by_group": [
            {"attribute": "age_band", "group": "18-25", "n_decisions": 300, "n_affected": 90, "rate": 0.3},
            {"attribute": "age_band", "group": "85+", "suppressed": True},
        ],
        "still_happening": {
            "verdict": "ongoing",
            "recent_rate": {"estimate": 0.14, "low": 0.1, "high": 0.18},
        },
        "an_extra_number": 3.5,
    }
    summary.update(changes)
    return summary


def test_sections_keys_unique_and_notebooks_named_by_key() -> None:
    keys = [section.key for section in SECTIONS]
    assert keys == ["impact", "llm", "root_cause", "fairness", "drift"]
    assert len(set(keys)) == len(keys)
    for section in SECTIONS:
        assert section.notebook == f"{section.key}.ipynb"
        assert section.notebook_path(ROOT / "notebooks") == ROOT / "notebooks" / f"{section.key}.ipynb"
        assert section.figures, section.key
        assert len(set(section.figure_ids)) == len(section.figure_ids)
        # defaults are declared once, on the section's parameter model
        assert section.parameters_from(section.parameter_defaults()).model_dump(mode="json") == (
            section.parameter_defaults()
        )


def _toy(key: str) -> Section:
    return Section(
        key=key,
        title="Toy",
        description="d",
        summary_model=SectionSummary,
        figures=(FigureSpec("f", "F"),),
        notebook="toy.ipynb",
    )


@pytest.mark.parametrize("key", ["contributing_factors", "timeline", "summary"])
def test_a_section_keyed_like_a_report_part_is_refused(key: str) -> None:
    with pytest.raises(SectionClashError, match=f"section key '{key}' must differ from the report's fixed"):
        report_outline((*SECTIONS, _toy(key)))


def test_two_sections_with_one_key_are_refused() -> None:
    with pytest.raises(SectionClashError, match="must be unique"):
        report_outline((*SECTIONS, _toy("impact")))


@pytest.mark.parametrize("key", ["Impact", "../x", "", "a b"])
def test_section_keys_are_identifiers(key: str) -> None:
    from analysis.errors import InvalidParameterError

    with pytest.raises(InvalidParameterError, match="section key must be a lower-case identifier"):
        _toy(key)


def test_every_section_has_its_report_blocks() -> None:
    for entry in report_outline():
        for block in (entry.html_block, entry.markdown_block):
            assert (ROOT / "report_templates" / block).is_file(), block


def test_outline_places_sections_between_timeline_and_root_cause() -> None:
    keys = [entry.key for entry in report_outline()]
    order = ["timeline", "impact", "drift", "contributing_factors"]
    assert [keys.index(key) for key in order] == sorted(keys.index(key) for key in order)
    assert keys[0] == "summary"
    assert keys[-1] == "blameless_review"
    anchors = [entry.anchor for entry in report_outline()]
    assert len(set(anchors)) == len(anchors)


def test_outline_follows_the_sections_given() -> None:
    keys = [entry.key for entry in report_outline((get_section("drift"),))]
    assert "impact" not in keys
    assert "drift" in keys


def test_get_section_unknown_key() -> None:
    expected = "must be one of impact, llm, root_cause, fairness, drift. Got 'trends'"
    with pytest.raises(WorkbenchError, match=expected):
        get_section("trends")


def test_valid_impact_summary_keeps_extra_keys() -> None:
    summary = get_section("impact").validate_summary(_impact_summary())
    assert isinstance(summary, ImpactSummary)
    assert summary.n_affected_decisions == 180
    assert summary.by_group[1].suppressed is True
    assert summary.model_extra == {"an_extra_number": 3.5}


def test_impact_summary_missing_and_wrong_keys_listed() -> None:
    broken = _impact_summary(n_decisions=-1)
    del broken["still_happening"]
    with pytest.raises(SummaryValidationError, match="impact summary") as excinfo:
        get_section("impact").validate_summary(broken, source="run/impact/summary.json")
    locations = {row["location"] for row in excinfo.value.failures}
    assert locations == {"n_decisions", "still_happening"}
    assert "run/impact/summary.json" in str(excinfo.value)


def test_impact_summary_verdict_vocabulary() -> None:
    bad = _impact_summary(still_happening={"verdict": "maybe"})
    with pytest.raises(SummaryValidationError) as excinfo:
        get_section("impact").validate_summary(bad)
    assert excinfo.value.failures[0]["location"] == "still_happening.verdict"


def test_drift_summary_schema() -> None:
    data = {
        "section": "drift",
        "incident_id": "INC-2026-0001",
        "reference_window": {"start": "2026-10-01T00:00:00Z", "end": "2026-10-29T00:00:00Z"},
        "current_window": {"start": "2026-11-05T00:00:00Z", "end": "2026-11-12T00:00:00Z"},
        "method": "evidently-compatible defaults",
        "n_columns": 3,
        "n_drifted": 1,
        "share_drifted": 1 / 3,
        "dataset_drift": False,
        "columns": [
            {
                "column": "income",
                "test": "wasserstein",
                "statistic": 0.31,
                "threshold": 0.1,
                "drifted": True,
                "onset": "2026-11-03T00:00:00Z",
            },
        ],
        "drifted_features": ["income"],
    }
    summary = get_section("drift").validate_summary(data)
    assert isinstance(summary, DriftSummary)
    assert summary.columns[0].onset is not None
    with pytest.raises(SummaryValidationError):
        get_section("drift").validate_summary({**data, "share_drifted": 1.5})


def test_wrong_section_key_in_summary_is_refused() -> None:
    with pytest.raises(SummaryValidationError) as excinfo:
        get_section("impact").validate_summary(_impact_summary(section="drift"))
    assert excinfo.value.failures[0]["location"] == "section"


def test_json_schema_is_exposed() -> None:
    schema = get_section("impact").summary_model.model_json_schema()
    assert "n_affected_decisions" in schema["properties"]
    assert "still_happening" in schema["required"]


@pytest.mark.parametrize("section", SECTIONS, ids=lambda section: section.key)
def test_section_notebooks_keep_the_contract(section) -> None:
    from workbench.runner import check_section_notebook

    assert check_section_notebook(section, ROOT / "notebooks") == []
