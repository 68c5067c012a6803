"""Regulator drafts read the same values from a register on SQLite and on PostgreSQL.

Each draft field is checked against the record or summary it comes from, and writing a draft records its
notification and evidence in the database (the ``register_url`` fixture runs every test on both backends).
"""

from __future__ import annotations

import importlib.util
import json
import sys
from datetime import timedelta
from pathlib import Path

from register import open_register
from register.policy import load_policy
from workbench.regulator import build_draft, gather_inputs, write_regulator_draft

_SPEC = importlib.util.spec_from_file_location(
    "regulator_fixture", Path(__file__).parents[1] / "workbench" / "fixtures" / "regulator_fixture.py"
)
assert _SPEC is not None and _SPEC.loader is not None
rf = importlib.util.module_from_spec(_SPEC)
sys.modules.setdefault("regulator_fixture", rf)
_SPEC.loader.exec_module(rf)


def test_draft_fields_equal_their_sources_on_each_database(register_url: str, tmp_path: Path) -> None:
    with open_register(register_url, create=True) as register:
        rf.populate(register)
    runs = rf.write_runs(tmp_path / "reports")
    as_of = rf.AWARE + timedelta(hours=72, seconds=1)
    with open_register(register_url) as register:
        fairness = gather_inputs(
            register, rf.FAIRNESS, policy=load_policy(), as_of=as_of, run_dir=runs[rf.FAIRNESS]
        )
        breach = gather_inputs(
            register, rf.BREACH, policy=load_policy(), as_of=as_of, run_dir=runs[rf.BREACH]
        )
    art73 = build_draft(fairness, "eu_ai_act_art73")
    impact = json.loads((runs[rf.FAIRNESS] / "impact" / "summary.json").read_text())
    assert art73.field("s1.aware_at").value == rf.AWARE.isoformat()
    assert art73.field("s1.causal_link_at").value == (rf.AWARE + timedelta(days=2)).isoformat()
    assert art73.field("s3.affected").value == impact["n_affected_entities"]
    assert art73.field("s2.versions").value == ["2.0.0", "1.4.0"]
    assert art73.deadline is not None and art73.deadline.due_at == rf.AWARE + timedelta(days=15)
    assert {item.key for item in art73.to_complete} == {
        "s1.member_state",
        "s1.contact",
        "s2.eu_database_id",
        "s4.risk_assessment",
        "s5.comments",
    }
    gdpr = build_draft(breach, "gdpr_art33")
    exposure = json.loads((runs[rf.BREACH] / "llm" / "summary.json").read_text())["exposure"]
    assert gdpr.field("a.data_subjects").value == exposure["people_at_least"]
    assert gdpr.deadline is not None and gdpr.deadline.state == "overdue"
    assert gdpr.field("n.delay").to_complete  # 72 h plus one second: the reasons for the delay

    result = write_regulator_draft(
        register_url, rf.BREACH, regime="gdpr_art33", reports_dir=tmp_path / "reports", as_of=as_of
    )
    with open_register(register_url) as register:
        notification = register.get_notification(result.notification_id or "")
        assert notification.regime == "gdpr_art33" and notification.sent_at is None
        assert notification.due_at == rf.AWARE + timedelta(hours=72)
        drafts = [item for item in register.evidence(rf.BREACH) if item.kind.startswith("regulator_draft:")]
    assert len(drafts) == 3 and all(item.sha256 for item in drafts)
