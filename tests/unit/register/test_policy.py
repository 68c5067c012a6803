from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from register.errors import ValidationFailed
from register.policy import (
    TriageAnswers,
    applicable_regimes,
    check_regimes,
    classify,
    evaluate_condition,
    load_policy,
    notification_deadlines,
)
from register.redact import RedactionRule, redact
from register.schema import AiSystem, Incident, Role, Severity


@pytest.fixture(scope="module")
def policy():
    return load_policy()


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_default_policy_follows_the_severity_matrix(policy) -> None:
    expected_sla = {"SEV-1": timedelta(minutes=15), "SEV-2": timedelta(hours=1), "SEV-3": timedelta(hours=4)}
    expected_sla["SEV-4"] = timedelta(hours=24)
    assert {level.value: rules.response_sla for level, rules in policy.severities.items()} == expected_sla
    assert all(
        rules.contain_target is None and rules.resolve_target is None for rules in policy.severities.values()
    )
    assert [policy.level(s).postmortem.formal for s in Severity] == [True, True, False, False]
    assert [policy.level(s).postmortem.deadline for s in Severity] == [timedelta(days=14)] * 2 + [None] * 2
    assert "executive" in policy.level("SEV-1").postmortem.sign_off.lower()
    assert policy.level("SEV-4").postmortem.requirement == "Root cause noted in ticket"
    assert policy.level("SEV-1").communication_mandate.startswith("External disclosure")
    assert all(isinstance(role, Role) for rules in policy.severities.values() for role in rules.response_team)
    assert Role.LEGAL_COMPLIANCE in policy.level("SEV-1").response_team
    assert policy.reports.min_cell_size == 10


def test_policy_redaction_rules_work_with_register_redact(policy) -> None:
    rules = policy.reports.redaction
    assert all(isinstance(rule, RedactionRule) for rule in rules)
    text = (
        "mail a.b@example.org, card 4111 1111 1111 1111, key AKIAIOSFODNN7EXAMPLE, order 1234 5678 9012 3456"
    )
    assert redact(text, rules).text == (
        "mail [redacted email], card [redacted card number], key [redacted API key], "
        "order 1234 5678 9012 3456"
    )


def test_regimes_are_data_with_windows(policy) -> None:
    ids = [regime.id for regime in policy.regimes]
    assert {
        "eu_ai_act_art73",
        "eu_gpai_code_of_practice",
        "gdpr_art33",
        "colorado_sb24_205",
        "colorado_sb26_189",
    } <= set(ids)
    assert policy.regime("colorado_sb24_205").applies_until.isoformat() == "2026-12-31"
    assert policy.regime("colorado_sb26_189").applies_from.isoformat() == "2027-01-01"
    assert "uncertain" in policy.regime("colorado_sb26_189").notes.lower()
    gdpr = policy.regime("gdpr_art33")
    assert gdpr.deadlines[0].due == timedelta(hours=72) and gdpr.deadlines[0].clock_start == "aware_at"


def test_user_file_overrides_by_merge(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(
        """
severities:
  SEV-2:
    response_sla: PT30M
    contain_target: PT4H
    postmortem: {deadline: P7D}
reports: {min_cell_size: 20}
regimes:
  - {id: gdpr_art34, enabled: false}
  - id: nyc_ll144
    name: Example internal regime
    jurisdiction: US-NY
    audience: executive
    applies_when: {category: fairness_bias}
    deadlines:
      - {report_type: initial, clock_start: aware_at, due: P5D, reason: five days}
""",
        encoding="utf-8",
    )
    custom = load_policy(path)
    sev2 = custom.level("SEV-2")
    assert sev2.response_sla == timedelta(minutes=30) and sev2.contain_target == timedelta(hours=4)
    assert sev2.postmortem.deadline == timedelta(days=7) and sev2.postmortem.formal is True  # merged, kept
    assert sev2.activation_trigger == load_policy().level("SEV-2").activation_trigger
    assert custom.reports.min_cell_size == 20 and custom.reports.redaction == load_policy().reports.redaction
    assert not custom.regime("gdpr_art34").enabled
    assert "gdpr_art34" not in [r.id for r in custom.active_regimes]
    # a regime that exists only in the user's file works without any code
    suggestion = classify(TriageAnswers(category="fairness_bias"), policy=custom, as_of=at(2026, 5, 1, 12))
    nyc = next(r for r in suggestion.regimes if r.regime == "nyc_ll144")
    assert nyc.deadlines[0].due_at == at(2026, 5, 6, 12)


@pytest.mark.parametrize(
    ("text", "column"),
    [
        (
            "severity_rules:\n  - {severity: SEV-1, when: {moon_phase: full}, reason: x}\n",
            "severity_rules.0.when",
        ),
        (
            "regimes:\n  - {id: gdpr_art33, deadlines: "
            "[{report_type: initial, clock_start: noon, reason: x}]}\n",
            None,
        ),
        ("severities:\n  SEV-1: {response_sla: soon}\n", "severities.SEV-1.response_sla"),
        ("reports: {redaction: [{name: x, pattern: '(', replacement: y}]}\n", None),
    ],
)
def test_invalid_user_policy_is_refused_with_failures(tmp_path: Path, text: str, column: str | None) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValidationFailed) as caught:
        load_policy(path)
    assert caught.value.failures and all(row["problem"] == "invalid_value" for row in caught.value.failures)
    if column:
        assert column in [row["column"] for row in caught.value.failures]


def test_unreadable_and_malformed_policy_files(tmp_path: Path) -> None:
    with pytest.raises(ValidationFailed) as caught:
        load_policy(tmp_path / "missing.yaml")
    assert caught.value.failures[0]["problem"] == "unreadable_file"
    (tmp_path / "bad.yaml").write_text("severities: [unclosed", encoding="utf-8")
    with pytest.raises(ValidationFailed) as caught:
        load_policy(tmp_path / "bad.yaml")
    assert caught.value.failures[0]["problem"] == "malformed_file"


def test_conditions_treat_unknowns_as_not_matching() -> None:
    facts = pd.DataFrame(
        {
            "reversible": [False, True, None],
            "affected_count": [5, 5000, None],
            "category": ["safety", "fairness_bias", None],
            "jurisdictions": [["EU"], [], ["US-CO", "EU"]],
        }
    )
    assert evaluate_condition({"reversible": False}, facts).tolist() == [True, False, False]
    assert evaluate_condition({"reversible": {"ne": False}}, facts).tolist() == [False, True, False]
    assert evaluate_condition({"reversible": {"is_null": True}}, facts).tolist() == [False, False, True]
    assert evaluate_condition({"not": {"reversible": True}}, facts).tolist() == [True, False, True]
    assert evaluate_condition({"affected_count": {"gte": 1000}}, facts).tolist() == [False, True, False]
    assert evaluate_condition({"category": {"not_in": ["safety"]}}, facts).tolist() == [False, True, False]
    assert evaluate_condition({"jurisdictions": {"contains": "EU"}}, facts).tolist() == [True, False, True]
    both = {
        "any": [{"category": "safety"}, {"affected_count": {"gt": 100}}],
        "jurisdictions": {"contains": "EU"},
    }
    assert evaluate_condition(both, facts).tolist() == [True, False, False]
    assert evaluate_condition({}, facts).tolist() == [True, True, True]


def test_classify_ongoing_irreversible_harm_is_sev1(policy) -> None:
    suggestion = classify(
        TriageAnswers(
            harm_ongoing=True, reversible=False, affected_count=50, safe_rollback=True, category="safety"
        ),
        policy=policy,
        as_of=at(2026, 9, 1),
    )
    assert suggestion.severity == Severity.SEV1
    assert suggestion.reasons == ["SEV-1 because harm is ongoing and irreversible"]
    assert "SEV-2: the harm is irreversible" in suggestion.also_matched
    assert "SEV-3: harm is ongoing" in suggestion.also_matched
    assert suggestion.level.response_sla == timedelta(minutes=15)
    assert suggestion.unanswered == ["regulatory_obligation", "risk_tier"]
    assert suggestion.regimes == []


def test_classify_minor_issue_defaults_to_sev4(policy) -> None:
    suggestion = classify(
        TriageAnswers(harm_ongoing=False, reversible=True, affected_count=3, safe_rollback=True),
        policy=policy,
        as_of=at(2026, 9, 1),
    )
    assert suggestion.severity == Severity.SEV4
    assert suggestion.reasons[0].startswith("SEV-4 because no rule for a higher level matched")


def test_classify_personal_data_gives_gdpr_72_hours(policy) -> None:
    suggestion = classify(
        TriageAnswers(personal_data=True, reversible=True, aware_at=at(2026, 3, 2, 9, 30)),
        policy=policy,
        as_of=at(2026, 3, 2, 10),
    )
    assert suggestion.severity == Severity.SEV2
    (gdpr,) = suggestion.regimes
    assert gdpr.regime == "gdpr_art33"
    initial = next(d for d in gdpr.deadlines if d.report_type.value == "initial")
    assert initial.due_at == at(2026, 3, 5, 9, 30)
    follow_up = next(d for d in gdpr.deadlines if d.report_type.value == "follow_up")
    assert follow_up.status == "no_fixed_clock" and follow_up.due_at is None
    art34 = next(c for c in suggestion.not_applicable if c.regime == "gdpr_art34")
    assert art34.reasons[0].startswith("conditions not met")


def test_eu_ai_act_art73_takes_the_earliest_applicable_clock(policy) -> None:
    base = {"risk_tier": "eu_ai_act_high_risk", "aware_at": at(2026, 9, 1, 12)}
    cases = [
        ({"serious_harm": True}, at(2026, 9, 16, 12), "15 days"),
        ({"death": True}, at(2026, 9, 11, 12), "10 days"),
        ({"death": True, "critical_infrastructure": True}, at(2026, 9, 3, 12), "2 days"),
    ]
    for flags, due, words in cases:
        owed = notification_deadlines(
            TriageAnswers(**base, **flags), policy=policy, as_of=at(2026, 9, 2), regimes=["eu_ai_act_art73"]
        )
        initial = next(d for d in owed if d.report_type.value == "initial")
        assert initial.due_at == due and words in initial.reason
        final = next(d for d in owed if d.report_type.value == "final")
        assert final.status == "no_fixed_clock" and final.due_at is None
    # not a high-risk system, or before the applicability date: no Art. 73 clock
    assert not notification_deadlines(
        TriageAnswers(death=True, aware_at=at(2026, 9, 1)), policy=policy, as_of=at(2026, 9, 2)
    )
    early = check_regimes(
        TriageAnswers(**{**base, "aware_at": at(2026, 7, 1)}, death=True), policy=policy, as_of=at(2026, 7, 2)
    )
    art73 = next(c for c in early if c.regime == "eu_ai_act_art73")
    assert not art73.applicable and "not in force on 2026-07-01: applies from 2026-08-02" in art73.reasons


def test_gpai_chain_initial_updates_and_final(policy) -> None:
    answers = TriageAnswers(
        gpai_systemic_risk=True,
        serious_harm=True,
        aware_at=at(2026, 9, 1),
        resolved_at=at(2026, 11, 20),
    )
    owed = notification_deadlines(
        answers, policy=policy, as_of=at(2026, 12, 1), regimes=["eu_gpai_code_of_practice"]
    )
    got = [(d.report_type.value, d.sequence, d.due_at) for d in owed]
    assert got == [
        ("initial", 1, at(2026, 9, 16)),
        ("follow_up", 1, at(2026, 9, 29)),
        ("follow_up", 2, at(2026, 10, 27)),
        ("final", 1, at(2027, 1, 19)),  # the third update (2026-11-24) falls after resolution
    ]
    # still unresolved: updates are listed up to the first one after as_of
    open_answers = answers.model_copy(update={"resolved_at": None})
    owed = notification_deadlines(
        open_answers, policy=policy, as_of=at(2026, 10, 1), regimes=["eu_gpai_code_of_practice"]
    )
    assert [d.due_at for d in owed if d.report_type.value == "follow_up"] == [
        at(2026, 9, 29),
        at(2026, 10, 27),
    ]
    assert next(d for d in owed if d.report_type.value == "final").status == "clock_not_started"


def test_colorado_handover_on_2027_01_01(policy) -> None:
    answers = TriageAnswers(discrimination=True, jurisdictions=["US-CO"], occurred_at=at(2026, 8, 20))
    in_2026 = classify(
        answers.model_copy(update={"aware_at": at(2026, 9, 1)}), policy=policy, as_of=at(2026, 9, 2)
    )
    assert [r.regime for r in in_2026.regimes] == ["colorado_sb24_205"]
    assert in_2026.regimes[0].deadlines[0].due_at == at(2026, 11, 30)
    in_2027 = classify(
        answers.model_copy(update={"aware_at": at(2027, 2, 1)}), policy=policy, as_of=at(2027, 2, 2)
    )
    assert [r.regime for r in in_2027.regimes] == ["colorado_sb26_189"]
    old = next(c for c in in_2027.not_applicable if c.regime == "colorado_sb24_205")
    assert "no longer in force on 2027-02-01: applied until 2026-12-31" in old.reasons
    outside = classify(TriageAnswers(discrimination=True), policy=policy, as_of=at(2026, 9, 2))
    assert outside.severity == Severity.SEV2 and outside.regimes == []


def test_incident_facts_come_from_fields_system_and_tags(policy) -> None:
    system = AiSystem(id="triage-bot", name="Triage", risk_tier="eu_ai_act_high_risk")
    incident = Incident(
        id="INC-2026-0100",
        title="Wrong triage priority",
        category="safety",
        severity="SEV-1",
        aware_at=at(2026, 10, 1, 8),
        tags=["serious_harm", "operator_role:deployer"],
    )
    found = applicable_regimes(incident, system, policy=policy, as_of=at(2026, 10, 1, 9))
    assert [r.regime for r in found] == ["eu_ai_act_art73", "eu_ai_act_art26_deployer"]
    assert "risk_tier in" in found[0].reasons[0] and "serious_harm = true" in found[0].reasons[0]
    owed = notification_deadlines(incident, system, policy=policy, as_of=at(2026, 10, 1, 9))
    assert {(d.regime, d.due_at) for d in owed if d.report_type.value == "initial"} == {
        ("eu_ai_act_art73", at(2026, 10, 16, 8)),
        ("eu_ai_act_art26_deployer", at(2026, 10, 2, 8)),
    }
    assert applicable_regimes(incident, None, policy=policy, as_of=at(2026, 10, 1, 9)) == []


def test_user_regime_can_test_free_tags(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(
        """
regimes:
  - id: client_contract
    name: Client contract notice
    jurisdiction: contract
    audience: client
    applies_when: {tags: {contains: "client:acme"}}
    deadlines: [{report_type: initial, clock_start: aware_at, due: PT4H, reason: contract clause 9}]
""",
        encoding="utf-8",
    )
    custom = load_policy(path)
    incident = Incident(
        id="INC-2026-0200",
        title="Wrong invoices",
        category="data_quality",
        severity="SEV-3",
        aware_at=at(2026, 5, 1, 8),
        tags=["client:acme"],
    )
    owed = notification_deadlines(incident, policy=custom, as_of=at(2026, 5, 1, 9))
    assert [(d.regime, d.due_at) for d in owed] == [("client_contract", at(2026, 5, 1, 12))]
    other = incident.model_copy(update={"tags": ["client:other"]})
    assert notification_deadlines(other, policy=custom, as_of=at(2026, 5, 1, 9)) == []
