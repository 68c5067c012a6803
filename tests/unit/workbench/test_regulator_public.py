"""Public-database exports: the OECD criteria, the AIID submission and the AVID report."""

from __future__ import annotations

import copy
import importlib.util
import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from register.policy import load_policy
from register.redact import redact
from register.schema import ActionItem, AiSystem, Incident
from workbench.errors import WorkbenchError
from workbench.regulator import DraftInputs, gather_inputs
from workbench.regulator._public import (
    OECD_MANDATORY,
    aiid_submission,
    avid_report,
    oecd_export,
    oecd_sections,
    validate_export,
)

_SPEC = importlib.util.spec_from_file_location(
    "regulator_fixture", Path(__file__).parent / "fixtures" / "regulator_fixture.py"
)
assert _SPEC is not None and _SPEC.loader is not None
rf = importlib.util.module_from_spec(_SPEC)
sys.modules.setdefault("regulator_fixture", rf)
_SPEC.loader.exec_module(rf)

AS_OF = datetime(2026, 1, 31, tzinfo=UTC)
DEV_AS_OF = rf.AWARE + timedelta(days=1)
EXPORTS = {"oecd": oecd_export, "aiid": aiid_submission, "avid": avid_report}
MANDATORY_KEYS = [
    "title",
    "description",
    "ai_relation",
    "submitter",
    "supporting_materials",
    "severity",
    "harm_type",
]

EMAIL, PHONE, CARD = "jane.doe@example.com", "+44 20 7946 0958", "4111 1111 1111 1111"
NAMES = ("Amelia Stroud", "Bartholomew Quince")


@pytest.fixture(scope="module")
def dev(tmp_path_factory: pytest.TempPathFactory) -> dict[str, DraftInputs]:
    """The regulator fixture's two incidents (a fairness incident, an LLM breach) with their runs."""
    from register.api import open_register

    folder = tmp_path_factory.mktemp("regulator")
    with open_register(folder / "register.sqlite", create=True) as register:
        rf.populate(register)
        register.add_evidence(
            {
                "incident_id": rf.FAIRNESS,
                "kind": "report_html",
                "uri": str(folder / "postmortem.html"),
                "sha256": "ab" * 32,
                "captured_at": rf.AWARE,
            }
        )
        runs = rf.write_runs(folder / "reports")
        return {
            incident_id: gather_inputs(
                register, incident_id, policy=load_policy(), as_of=DEV_AS_OF, run_dir=runs[incident_id]
            )
            for incident_id in (rf.FAIRNESS, rf.BREACH)
        }


def _inputs(**changes) -> DraftInputs:
    """An incident with no run, no system and few fields (or with ``changes``)."""
    fields = {
        "id": "INC-2026-0042",
        "title": "Scoring outage",
        "category": "performance_degradation",
        "severity": "SEV-3",
        "aware_at": datetime(2026, 1, 10, tzinfo=UTC),
    }
    fields.update(changes.pop("incident", {}))
    return DraftInputs(
        incident=Incident(**fields),
        system=changes.pop("system", None),
        policy=load_policy(),
        as_of=AS_OF,
        **changes,
    )


def _criterion(data: dict, key: str) -> dict:
    return next(item for item in data["criteria"] if item["key"] == key)


@pytest.mark.parametrize("incident_id", [rf.FAIRNESS, rf.BREACH])
@pytest.mark.parametrize("kind", sorted(EXPORTS))
def test_dev_incident_exports_validate(dev, incident_id: str, kind: str) -> None:
    data = EXPORTS[kind](dev[incident_id])
    validate_export(kind, data)  # type: ignore[arg-type]
    text = json.dumps(data)
    for secret in rf.PII:
        assert secret not in text


def test_dev_values_equal_their_sources(dev) -> None:
    inputs = dev[rf.FAIRNESS]
    impact = inputs.summary("impact")
    title = redact(inputs.incident.title).text
    oecd, aiid, avid = oecd_export(inputs), aiid_submission(inputs), avid_report(inputs)

    assert _criterion(oecd, "title")["value"] == title
    assert aiid["submission"]["title"] == aiid["submission"]["incident_title"] == title
    assert avid["report"]["problemtype"]["description"]["value"] == title
    assert aiid["submission"]["incident_date"] == inputs.incident.occurred_at.date().isoformat()
    assert _criterion(oecd, "first_occurrence")["value"] == inputs.incident.occurred_at.date().isoformat()
    assert _criterion(oecd, "harm_quantification")["value"] == {"people_affected": impact.n_affected_entities}
    assert f"{impact.n_affected_entities:,} people" in _criterion(oecd, "description")["value"]
    metric = avid["report"]["metrics"][0]["results"]
    assert metric["n_affected_entities"] == impact.n_affected_entities
    assert metric["excess_estimate"] == impact.excess_failures.estimate
    # realised harm with a fundamental-rights fact recorded
    assert _criterion(oecd, "severity")["value"] == "serious incident"
    materials = _criterion(oecd, "supporting_materials")["value"]
    assert [(m["kind"], m["sha256"]) for m in materials] == [(e.kind, e.sha256) for e in inputs.evidence]
    assert aiid["submission"]["deployers"] == [inputs.system.deployer]


def test_dev_exports_name_no_responder(dev) -> None:
    for inputs in dev.values():
        assert inputs.known_names()
        text = json.dumps([export(inputs) for export in EXPORTS.values()])
        for name in inputs.known_names():
            assert name not in text


def test_oecd_mandatory_criteria_come_first_in_order() -> None:
    sections = oecd_sections(_inputs())
    assert [field.key.split(".")[-1] for field in sections[0].fields] == MANDATORY_KEYS
    assert len(sections[0].fields) + len(sections[1].fields) == 29
    criteria = oecd_export(_inputs())["criteria"]
    assert [c["number"] for c in criteria[:7]] == list(OECD_MANDATORY)
    assert all(c["mandatory"] for c in criteria[:7]) and not any(c["mandatory"] for c in criteria[7:])
    assert [c["number"] for c in criteria[7:]] == sorted(set(range(1, 30)) - set(OECD_MANDATORY))


@pytest.mark.parametrize("kind", sorted(EXPORTS))
def test_sparse_incident_lists_unknowns_and_invents_nothing(kind: str) -> None:
    data = EXPORTS[kind](_inputs())
    validate_export(kind, data)  # type: ignore[arg-type]
    paths = {item["path"] for item in data["to_complete"]}
    assert all(item["complete_by"] for item in data["to_complete"])
    if kind == "aiid":
        sub = data["submission"]
        assert sub["description"] is None and "submission.description" in paths  # no summary
        assert sub["developers"] is None and sub["deployers"] is None and sub["incident_date"] is None
        assert {"submission.developers", "submission.url", "submission.incident_date"} <= paths
        assert sub["text"] is None  # the title alone is shorter than AIID's 80 characters
    elif kind == "avid":
        assert data["report"]["affects"] == {"developer": [], "deployer": [], "artifacts": []}
        assert data["report"]["metrics"] == []  # no run: no metric
        assert {"report.affects.developer", "report.credit", "report.reported_date"} <= paths
    else:
        unknown = {c["key"] for c in data["criteria"] if c["to_complete"]}
        assert {
            "description",
            "ai_relation",
            "submitter",
            "supporting_materials",
            "harm_quantification",
        } <= unknown
        assert all(c["value"] is None for c in data["criteria"] if c["to_complete"])


@pytest.mark.parametrize(
    ("kind", "tags", "expected"),
    [
        ("incident", [], "incident"),
        ("incident", ["fundamental_rights"], "serious incident"),
        ("incident", ["death"], "serious incident"),
        ("near_miss", [], "hazard"),
        ("near_miss", ["serious_harm"], "serious hazard"),
    ],
)
def test_severity_mapping_states_its_rule(kind: str, tags: list[str], expected: str) -> None:
    field = oecd_sections(_inputs(incident={"kind": kind, "tags": tags}))[0].fields[5]
    assert field.value == expected
    assert field.note is not None and field.note.startswith("rule: ")


def test_harm_type_from_category_else_to_complete() -> None:
    fairness = oecd_sections(_inputs(incident={"category": "fairness_bias"}))[0].fields[6]
    assert not fairness.to_complete and "human rights" in fairness.value[0]
    outage = oecd_sections(_inputs())[0].fields[6]
    assert outage.to_complete and outage.complete_by == "Legal / compliance"


def _pii_inputs() -> DraftInputs:
    summary = (
        f"Customer {EMAIL} (phone {PHONE}, card {CARD}) saw another account; {NAMES[0]} paged {NAMES[1]}. "
        "The assistant quoted the ticket archive for refund questions."
    )
    incident = {
        "title": f"Chatbot leaked {EMAIL}",
        "summary": summary,
        "trigger": f"call from {PHONE}",
        "resolution": f"Index rolled back by {NAMES[0]}; card {CARD} blocked",
        "category": "data_exposure_privacy",
        "occurred_at": datetime(2026, 1, 5, tzinfo=UTC),
        "incident_commander": NAMES[0],
        "technical_lead": NAMES[1],
        "affected_groups": [f"customers such as {EMAIL}"],
        "contributing_factors": [f"archive holding {CARD}"],
    }
    actions = [
        ActionItem(
            incident_id="INC-2026-0042", title=f"Tell {EMAIL} and {PHONE}", owner=NAMES[1], kind="mitigate"
        )
    ]
    system = AiSystem(id="bot", name="Support bot", developer="in-house", deployer=f"Bank ({EMAIL})")
    return _inputs(incident=incident, actions=actions, system=system)


@pytest.mark.parametrize("kind", sorted(EXPORTS))
def test_no_raw_personal_data_or_names_in_any_export(kind: str) -> None:
    data = EXPORTS[kind](_pii_inputs())
    validate_export(kind, data)  # type: ignore[arg-type]
    text = json.dumps(data)
    for secret in (EMAIL, PHONE, CARD, "4111111111111111", *NAMES, "Amelia", "Quince"):
        assert secret not in text
    assert "[redacted email]" in text


def test_aiid_schema_rejects_missing_field_and_wrong_type() -> None:
    data = aiid_submission(_pii_inputs())
    broken = copy.deepcopy(data)
    del broken["submission"]["title"]
    broken["submission"]["developers"] = "in-house"  # a list in AIID's shape
    with pytest.raises(WorkbenchError) as caught:
        validate_export("aiid", broken)
    message = str(caught.value)
    assert "'title' is a required property" in message and "$.submission.developers" in message


def test_avid_schema_rejects_unknown_enum_and_type() -> None:
    broken = avid_report(_pii_inputs())
    broken["report"]["problemtype"]["classof"] = "Incident"
    broken["report"]["affects"]["artifacts"][0]["type"] = "Robot"
    broken["report"]["data_version"] = 3
    with pytest.raises(WorkbenchError) as caught:
        validate_export("avid", broken)
    assert str(caught.value).count("\n- ") == 3  # every problem listed, not the first


def test_oecd_schema_rejects_reordered_or_filled_unknown() -> None:
    data = oecd_export(_inputs())
    reordered = copy.deepcopy(data)
    reordered["criteria"][0], reordered["criteria"][1] = reordered["criteria"][1], reordered["criteria"][0]
    with pytest.raises(WorkbenchError):
        validate_export("oecd", reordered)
    invented = copy.deepcopy(data)
    submitter = _criterion(invented, "submitter")
    submitter["value"] = "Somebody"  # still marked to complete: a guess is not allowed
    with pytest.raises(WorkbenchError, match="criteria"):
        validate_export("oecd", invented)
    severity = copy.deepcopy(data)
    _criterion(severity, "severity")["value"] = "catastrophe"
    with pytest.raises(WorkbenchError, match="severity|criteria"):
        validate_export("oecd", severity)


def test_null_not_listed_to_complete_is_rejected() -> None:
    data = aiid_submission(_pii_inputs())
    data["to_complete"] = [item for item in data["to_complete"] if item["path"] != "submission.url"]
    with pytest.raises(WorkbenchError, match=r"submission\.url: is null but not listed"):
        validate_export("aiid", data)
    listed_but_filled = avid_report(_pii_inputs())
    listed_but_filled["report"]["credit"] = [{"lang": "eng", "value": "Example Bank"}]
    with pytest.raises(WorkbenchError, match=r"report\.credit: is listed in to_complete"):
        validate_export("avid", listed_but_filled)


def test_unknown_kind_is_an_error() -> None:
    with pytest.raises(WorkbenchError, match="kind must be one of"):
        validate_export("cve", {})  # type: ignore[arg-type]
