"""Regulator report drafts: fields equal their sources, "to complete" exactly for the unknown, deadlines at
their edges, the chain initial -> follow-up -> final, no raw personal data, escaping, the CLI.

The register and runs come from ``fixtures/regulator_fixture.py`` (a fairness incident under EU AI Act
Art. 73 and an LLM personal-data breach under GDPR Art. 33); the same field checks run on PostgreSQL in
``tests/unit/register/test_regulator_databases.py``.
"""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from register import open_register
from register.policy import load_policy
from workbench.cli import main
from workbench.errors import WorkbenchError
from workbench.regulator import (
    build_draft,
    fmt_duration,
    gather_inputs,
    render_draft,
    write_regulator_draft,
)

_SPEC = importlib.util.spec_from_file_location(
    "regulator_fixture", Path(__file__).parent / "fixtures" / "regulator_fixture.py"
)
assert _SPEC is not None and _SPEC.loader is not None
rf = importlib.util.module_from_spec(_SPEC)
sys.modules.setdefault("regulator_fixture", rf)
_SPEC.loader.exec_module(rf)

AWARE = rf.AWARE


@pytest.fixture
def world(tmp_path: Path) -> dict[str, Any]:
    """A populated SQLite register and one run per incident."""
    url = str(tmp_path / "register.sqlite")
    with open_register(url, create=True) as register:
        rf.populate(register)
    runs = rf.write_runs(tmp_path / "reports")
    return {"url": url, "reports": tmp_path / "reports", "runs": runs, "tmp": tmp_path}


def _draft(world: dict[str, Any], incident: str, regime: str, kind: str = "initial", **options: Any) -> Any:
    as_of = options.pop("as_of", AWARE + timedelta(days=1))
    policy = options.pop("policy", load_policy())
    with open_register(world["url"]) as register:
        inputs = gather_inputs(
            register, incident, policy=policy, as_of=as_of, run_dir=world["runs"][incident]
        )
    return build_draft(inputs, regime, kind, **options), inputs


def _summary(world: dict[str, Any], incident: str, key: str) -> dict[str, Any]:
    return json.loads((world["runs"][incident] / key / "summary.json").read_text())


# --------------------------------------------------------------------------------------------------
# Fields equal their sources; "to complete" exactly for the unknown
# --------------------------------------------------------------------------------------------------


def test_art73_fields_equal_the_register_and_the_summaries(world: dict[str, Any]) -> None:
    draft, inputs = _draft(world, rf.FAIRNESS, "eu_ai_act_art73")
    incident = inputs.incident
    impact = _summary(world, rf.FAIRNESS, "impact")
    root = _summary(world, rf.FAIRNESS, "root_cause")
    assert draft.field("s1.aware_at").value == incident.aware_at.isoformat()
    assert draft.field("s1.occurred_at").value == incident.occurred_at.isoformat()
    assert draft.field("s1.causal_link_at").value == incident.causal_link_at.isoformat()
    assert draft.field("s1.report_type").value == "initial"
    assert draft.field("s1.authority").value == load_policy().regime("eu_ai_act_art73").recipient
    assert draft.field("s1.submitter").value == "Example Bank"
    assert draft.field("s2.name").value == "Consumer credit scoring (credit)"
    assert draft.field("s2.risk_tier").value == "eu_ai_act_high_risk"
    assert draft.field("s2.versions").value == ["2.0.0", "1.4.0"]
    assert draft.field("s3.operator").value == "provider"
    # the number of people affected is the impact summary's, with what counts and its interval
    affected = draft.field("s3.affected")
    assert affected.value == impact["n_affected_entities"]
    assert f"{impact['n_affected_decisions']:,} of {impact['n_decisions']:,}" in affected.text
    excess = impact["excess_failures"]
    assert f"{excess['low']:,.0f} to {excess['high']:,.0f}" in affected.text
    # the likely cause is the root-cause section's first cause
    assert draft.field("s3.causality").value == root["causes"][0]["title"]
    # the classification comes from the recorded fact, in the regulation's words
    assert draft.field("s1.classification").value == [
        "infringement of obligations under Union law intended to protect fundamental rights"
    ]
    # the effects of a fairness incident are stated between groups, never by overall rates alone
    effects = draft.field("s3.effects")
    assert effects.text.startswith("Between groups: ")
    assert "fairness summary: headline_gap" in effects.source
    # actions: mitigation vs prevention
    assert any("Roll back the change" in row for row in draft.field("s3.remedial_actions").value)
    assert draft.field("s4.preventive_actions").value[0].startswith("Gate releases on disaggregated rates")
    assert draft.field("s4.evidence_hold").value is True
    assert {item.key for item in draft.to_complete} == {
        "s1.member_state",
        "s1.contact",
        "s2.eu_database_id",
        "s4.risk_assessment",
        "s5.comments",
    }
    assert all(item.complete_by for item in draft.to_complete)


def test_unknown_register_facts_become_to_complete_never_invented(world: dict[str, Any]) -> None:
    with open_register(world["url"]) as register:
        register.update_incident(
            rf.FAIRNESS,
            {"tags": [], "model_versions": [], "causal_link_at": None, "root_cause_category": None,
             "contributing_factors": []},
        )  # fmt: skip
        register.update_system("credit", {"deployer": None, "use_case": None})
    shutil_rmtree(world["runs"][rf.FAIRNESS] / "root_cause")
    draft, _ = _draft(world, rf.FAIRNESS, "eu_ai_act_art73")
    unknown = {item.key for item in draft.to_complete}
    assert {
        "s1.classification",
        "s1.submitter",
        "s1.causal_link_at",
        "s2.description",
        "s2.versions",
        "s3.operator",
        "s4.root_cause",
    } <= unknown
    # no root-cause summary and no recorded cause: "under investigation", never a guessed cause
    causality = draft.field("s3.causality")
    assert causality.text.startswith("The gap opened with model version") or causality.value == (
        "under investigation"
    )


def shutil_rmtree(path: Path) -> None:
    import shutil

    shutil.rmtree(path)


def test_without_a_run_the_numbers_come_from_the_register_or_are_to_complete(world: dict[str, Any]) -> None:
    with open_register(world["url"]) as register:
        inputs = gather_inputs(register, rf.FAIRNESS, policy=load_policy(), as_of=AWARE, run_dir=None)
        draft = build_draft(inputs, "eu_ai_act_art73")
        assert draft.field("s3.affected").to_complete
        assert draft.field("s3.causality").value == "under investigation"
        assert draft.field("s4.preliminary_results").to_complete
        assert any("No analysis run" in note for note in draft.notes)
        register.update_incident(rf.FAIRNESS, {"affected_count": 77})
        inputs = gather_inputs(register, rf.FAIRNESS, policy=load_policy(), as_of=AWARE, run_dir=None)
    draft = build_draft(inputs, "eu_ai_act_art73")
    assert draft.field("s3.affected").value == 77
    assert draft.field("s3.affected").source == "register: incident.affected_count"


def test_fairness_incident_without_a_gap_states_effects_to_complete(world: dict[str, Any]) -> None:
    shutil_rmtree(world["runs"][rf.FAIRNESS] / "fairness")
    draft, _ = _draft(world, rf.FAIRNESS, "eu_ai_act_art73")
    effects = draft.field("s3.effects")
    assert effects.to_complete
    assert "per group" in (effects.note or "")


def test_gdpr_fields_equal_the_llm_exposure_summary(world: dict[str, Any]) -> None:
    draft, _ = _draft(world, rf.BREACH, "gdpr_art33")
    exposure = _summary(world, rf.BREACH, "llm")["exposure"]
    assert draft.field("a.categories").value == exposure["categories"]
    assert draft.field("a.data_subjects").value == exposure["people_at_least"]
    assert draft.field("a.records").value == exposure["total"]["rows"]
    assert draft.field("a.recipients").value == exposure["total"]["users"]
    assert {item.key for item in draft.to_complete} == {
        "n.authority_name",
        "b.contact",
        "c.consequences",
        "d.contained_at",
    }
    art34 = draft.field("e.art34")
    assert "required by the policy" in art34.text


# --------------------------------------------------------------------------------------------------
# Deadlines at their edges
# --------------------------------------------------------------------------------------------------


def test_art73_exactly_15_days_is_due_and_one_second_later_overdue(world: dict[str, Any]) -> None:
    draft, _ = _draft(world, rf.FAIRNESS, "eu_ai_act_art73", as_of=AWARE + timedelta(days=15))
    assert draft.deadline.state == "due"
    assert draft.deadline.due_at == AWARE + timedelta(days=15)
    assert draft.deadline.text.startswith("due in 0 s")
    draft, _ = _draft(world, rf.FAIRNESS, "eu_ai_act_art73", as_of=AWARE + timedelta(days=15, seconds=1))
    assert draft.deadline.state == "overdue"
    assert draft.deadline.text.startswith("overdue by 1 s")
    draft, _ = _draft(world, rf.FAIRNESS, "eu_ai_act_art73", as_of=AWARE + timedelta(days=11, hours=20))
    assert draft.deadline.text.startswith("due in 3 d 4 h")


def test_gdpr_72_hours_plus_one_second_asks_for_the_reasons_for_the_delay(world: dict[str, Any]) -> None:
    on_time, _ = _draft(world, rf.BREACH, "gdpr_art33", as_of=AWARE + timedelta(hours=72))
    assert on_time.deadline.state == "due"
    assert not on_time.field("n.delay").to_complete
    late, _ = _draft(world, rf.BREACH, "gdpr_art33", as_of=AWARE + timedelta(hours=72, seconds=1))
    assert late.deadline.state == "overdue"
    assert late.field("n.delay").to_complete
    assert "past 72 hours" in late.field("n.delay").note
    with open_register(world["url"]) as register:
        register.add_notification(
            {
                "incident_id": rf.BREACH,
                "audience": "regulator",
                "regime": "gdpr_art33",
                "report_type": "initial",
                "sent_at": AWARE + timedelta(hours=74),
                "reference": "DPA-2026-77",
            }
        )
    sent, _ = _draft(world, rf.BREACH, "gdpr_art33", as_of=AWARE + timedelta(days=5))
    assert sent.deadline.state == "sent_late"
    assert sent.deadline.text.startswith("sent 2 h late")
    assert sent.field("n.delay").to_complete


def test_a_regime_not_yet_in_force_is_said_so(world: dict[str, Any], tmp_path: Path) -> None:
    day_before = datetime(2026, 8, 1, 12, tzinfo=AWARE.tzinfo)
    url = str(tmp_path / "early.sqlite")
    with open_register(url, create=True) as register:
        rf.populate(register, aware_at=day_before)
    world = dict(world, url=url)
    draft, _ = _draft(world, rf.FAIRNESS, "eu_ai_act_art73", as_of=day_before + timedelta(days=1))
    assert draft.deadline.state == "not_applicable"
    assert "not in force on 2026-08-01: applies from 2026-08-02" in draft.deadline.text
    assert any("does not apply this regime" in note for note in draft.notes)
    # the day it enters into force, it applies
    url2 = str(tmp_path / "first-day.sqlite")
    with open_register(url2, create=True) as register:
        rf.populate(register, aware_at=day_before + timedelta(days=1))
    draft, _ = _draft(
        dict(world, url=url2), rf.FAIRNESS, "eu_ai_act_art73", as_of=day_before + timedelta(days=2)
    )
    assert draft.deadline.state == "due"


def test_fmt_duration_by_hand() -> None:
    assert fmt_duration(0) == "0 s"
    assert fmt_duration(59) == "59 s"
    assert fmt_duration(3600 + 61) == "1 h 1 min"
    assert fmt_duration(2 * 86400 + 59) == "2 d"


# --------------------------------------------------------------------------------------------------
# The chain: initial -> follow-up -> final, evidence and notification records
# --------------------------------------------------------------------------------------------------


def test_chain_initial_follow_up_final_carries_each_previous_reference(world: dict[str, Any]) -> None:
    as_of = AWARE + timedelta(days=1)
    first = write_regulator_draft(
        world["url"], rf.FAIRNESS, regime="eu_ai_act_art73", reports_dir=world["reports"], as_of=as_of
    )
    assert first.notification_created
    assert first.paths["html"].parent == (
        world["reports"] / rf.FAIRNESS / "regulator/eu_ai_act_art73/initial"
    )
    again = write_regulator_draft(
        world["url"], rf.FAIRNESS, regime="eu_ai_act_art73", reports_dir=world["reports"], as_of=as_of
    )
    assert again.notification_id == first.notification_id and not again.notification_created
    with open_register(world["url"]) as register:
        notification = register.get_notification(first.notification_id)
        assert notification.due_at == AWARE + timedelta(days=15)
        assert notification.reference == first.draft.reference
        kinds = [item.kind for item in register.evidence(rf.FAIRNESS)]
        assert kinds.count("regulator_draft:eu_ai_act_art73:initial") == 6  # 3 files, drafted twice
        # a follow-up before the initial is sent: the chain has a gap, said in a note
        early = write_regulator_draft(
            world["url"], rf.FAIRNESS, regime="eu_ai_act_art73", report_type="follow-up",
            reports_dir=world["reports"], as_of=as_of, record=False,
        )  # fmt: skip
        assert early.draft.previous_reference is None
        assert early.draft.field("s1.previous_reference").to_complete
        assert any("No earlier report" in note for note in early.draft.notes)
        register.update_notification(
            first.notification_id, {"sent_at": AWARE + timedelta(days=3), "reference": "MSA-2026-0042"}
        )
    follow = write_regulator_draft(
        world["url"], rf.FAIRNESS, regime="eu_ai_act_art73", report_type="follow-up",
        reports_dir=world["reports"], as_of=AWARE + timedelta(days=10),
    )  # fmt: skip
    assert follow.draft.previous_reference == "MSA-2026-0042"
    assert follow.draft.field("s1.previous_reference").value == "MSA-2026-0042"
    assert [link.report_type for link in follow.draft.chain] == ["initial", "follow_up"]
    assert follow.draft.chain[0].drafts  # the initial's files, recorded as evidence
    with open_register(world["url"]) as register:
        register.update_notification(
            follow.notification_id, {"sent_at": AWARE + timedelta(days=11), "reference": "MSA-2026-0042-F1"}
        )
    second = write_regulator_draft(
        world["url"], rf.FAIRNESS, regime="eu_ai_act_art73", report_type="follow-up",
        reports_dir=world["reports"], as_of=AWARE + timedelta(days=20),
    )  # fmt: skip
    assert second.draft.reference.endswith("/follow_up-2")
    assert second.draft.previous_reference == "MSA-2026-0042-F1"
    final = write_regulator_draft(
        world["url"], rf.FAIRNESS, regime="eu_ai_act_art73", report_type="final",
        reports_dir=world["reports"], as_of=AWARE + timedelta(days=30),
    )  # fmt: skip
    assert final.draft.previous_reference == "MSA-2026-0042-F1"
    assert [link.report_type for link in final.draft.chain] == ["initial", "follow_up", "follow_up", "final"]
    assert json.loads(final.paths["json"].read_text())["previous_reference"] == "MSA-2026-0042-F1"


def test_a_sent_notification_after_as_of_is_not_sent_yet(world: dict[str, Any]) -> None:
    with open_register(world["url"]) as register:
        register.add_notification(
            {
                "incident_id": rf.BREACH,
                "audience": "regulator",
                "regime": "gdpr_art33",
                "report_type": "initial",
                "sent_at": AWARE + timedelta(hours=30),
            }
        )
    draft, _ = _draft(world, rf.BREACH, "gdpr_art33", as_of=AWARE + timedelta(hours=20))
    assert draft.deadline.state == "due"
    assert draft.deadline.sent_at is None


# --------------------------------------------------------------------------------------------------
# What a reader sees: no raw personal data, escaping, formats, the CLI
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("regime", ["eu_ai_act_art73", "gdpr_art33"])
def test_no_raw_personal_data_in_any_output(world: dict[str, Any], regime: str) -> None:
    incident = rf.FAIRNESS if regime == "eu_ai_act_art73" else rf.BREACH
    result = write_regulator_draft(
        world["url"], incident, regime=regime, reports_dir=world["reports"], as_of=AWARE + timedelta(days=1)
    )
    for path in result.paths.values():
        text = path.read_text(encoding="utf-8")
        for secret in rf.PII:
            assert secret not in text, (path.name, secret)
        assert not re.search(r"\b4111[ -]?1111[ -]?1111[ -]?1111\b", text)


def test_known_names_are_redacted_when_the_policy_says_so(world: dict[str, Any], tmp_path: Path) -> None:
    override = tmp_path / "policy.yaml"
    override.write_text("reports:\n  redact_known_names: true\n")
    draft, _ = _draft(world, rf.FAIRNESS, "eu_ai_act_art73", policy=load_policy(override))
    text = json.dumps(draft.to_json())
    for name in rf.NAMES:
        assert name not in text


def test_html_escapes_register_and_summary_text(world: dict[str, Any]) -> None:
    with open_register(world["url"]) as register:
        register.update_incident(rf.FAIRNESS, {"title": "<script>window.__xss = 1</script> | pipes"})
    result = write_regulator_draft(
        world["url"], rf.FAIRNESS, regime="eu_ai_act_art73", reports_dir=world["reports"], as_of=AWARE
    )
    html = result.paths["html"].read_text()
    assert "<script>" not in html
    assert "&lt;script&gt;window.__xss" in html
    assert "<img src=x" not in html  # the fixture's summaries carry payloads too
    assert not re.search(r"<[a-z]+[^>]*\s(src|href)\s*=", html)  # nothing to fetch or follow
    markdown = result.paths["md"].read_text()
    table_rows = [
        line for line in markdown.splitlines() if line.startswith("| Nature of the serious incident")
    ]
    assert len(table_rows) == 1 and table_rows[0].count(" | ") == 2  # the pipe is escaped in its cell


def test_render_refuses_unknown_formats(world: dict[str, Any], tmp_path: Path) -> None:
    draft, _ = _draft(world, rf.FAIRNESS, "eu_ai_act_art73")
    with pytest.raises(WorkbenchError, match="--format must list md, html and/or json"):
        render_draft(draft, tmp_path, ["pdf"])


def test_build_refuses_unknown_regime_and_type(world: dict[str, Any]) -> None:
    with pytest.raises(WorkbenchError, match="--regime must be one of"):
        _draft(world, rf.FAIRNESS, "colorado_sb24_205")
    with pytest.raises(WorkbenchError, match="--type must be one of"):
        _draft(world, rf.FAIRNESS, "eu_ai_act_art73", kind="preliminary")


def test_cli_writes_the_draft_and_reports_user_errors(
    world: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    base = ["report", "regulator", "--register", world["url"], "--reports-dir", str(world["reports"])]
    code = main([*base, rf.BREACH, "--regime", "gdpr_art33", "--as-of", "2026-09-04T09:00:01Z"])
    out = capsys.readouterr().out
    assert code == 0
    assert "deadline: overdue by 1 s" in out
    assert "to complete: 5 field(s)" in out  # the reasons for the delay are asked for
    folder = world["reports"] / rf.BREACH / "regulator" / "gdpr_art33" / "initial"
    assert sorted(path.name for path in folder.iterdir()) == ["draft.html", "draft.json", "draft.md"]
    for args, message in [
        ([rf.BREACH, "--regime", "hipaa"], "--regime must be one of"),
        ([rf.BREACH, "--regime", "gdpr_art33", "--type", "interim"], "--type must be one of"),
        (["INC-2026-0999", "--regime", "gdpr_art33"], "INC-2026-0999"),
        ([rf.BREACH, "--regime", "gdpr_art33", "--format", "docx"], "--format must list"),
    ]:
        assert main([*base, *args]) == 2
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err


def test_cli_writes_the_oecd_draft_and_the_public_exports(
    world: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    from workbench.regulator._public import validate_export

    base = ["report", "regulator", "--register", world["url"], "--reports-dir", str(world["reports"])]
    assert main([*base, rf.FAIRNESS, "--regime", "oecd", "--as-of", "2026-09-02T09:00:00Z"]) == 0
    folder = world["reports"] / rf.FAIRNESS / "regulator" / "oecd" / "initial"
    criteria = json.loads((folder / "oecd_criteria.json").read_text())
    validate_export("oecd", criteria)
    draft = json.loads((folder / "draft.json").read_text())
    assert draft["template"] == "oecd" and draft["deadline"] is None
    for kind in ("aiid", "avid"):
        assert main([*base, rf.BREACH, "--regime", kind]) == 0
        path = world["reports"] / rf.BREACH / "regulator" / kind / f"{kind}.json"
        data = json.loads(path.read_text())
        validate_export(kind, data)  # type: ignore[arg-type]
        assert all(secret not in path.read_text() for secret in rf.PII)
    capsys.readouterr()
    with open_register(world["url"]) as register:
        kinds = {item.kind for item in register.evidence(rf.BREACH)}
    assert {"public_export:aiid", "public_export:avid"} <= kinds


def test_findings_outside_the_incident_window_are_not_its_cause(world: dict[str, Any]) -> None:
    """The LLM fixture's injection campaign lies outside the breach's window: no draft names it."""
    summary = _summary(world, rf.BREACH, "llm")
    assert summary["injection"]["campaign"] and summary["injection"]["in_incident_window"]["attempts"] == 0
    draft, _ = _draft(world, rf.BREACH, "oecd")
    assert "injection" not in (draft.field("oecd.c03.ai_relation").text or "").lower()
    assert "injection" not in json.dumps(draft.to_json()).lower()


def test_strict_refuses_a_draft_with_blame_phrasing(world: dict[str, Any]) -> None:
    with open_register(world["url"]) as register:
        register.update_incident(rf.FAIRNESS, {"summary": "The incident was caused by human error."})
    draft, _ = _draft(world, rf.FAIRNESS, "eu_ai_act_art73")
    assert [flag["field"] for flag in draft.blameless_flags] == ["s3.nature"]
    with pytest.raises(WorkbenchError, match="--strict: the draft's narrative must pass the blameless check"):
        write_regulator_draft(
            world["url"], rf.FAIRNESS, regime="eu_ai_act_art73", reports_dir=world["reports"], strict=True
        )
    assert not (world["reports"] / rf.FAIRNESS / "regulator").exists()  # nothing written
    with open_register(world["url"]) as register:
        assert register.notifications(rf.FAIRNESS) == []  # nothing recorded
