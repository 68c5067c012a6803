from __future__ import annotations

import importlib.util
import json
import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from register.api import open_register
from register.policy import load_policy
from register.redact import RedactionRule
from workbench.errors import WorkbenchError
from workbench.postmortem_cli import render_postmortem
from workbench.report import (
    postmortem_blocks,
    postmortem_content,
    render_html,
    report_path,
    run_postmortem,
)
from workbench.runner import artefact_evidence, sha256_file
from workbench.sections import available_sections, report_outline

ROOT = Path(__file__).resolve().parents[3]
FIXTURES = Path(__file__).parent / "fixtures"
AS_OF = datetime(2026, 11, 20, tzinfo=UTC)
RUN_ID = "20261120T000000000Z-abcdef"


def _fixture_module() -> Any:
    spec = importlib.util.spec_from_file_location("report_fixture", FIXTURES / "report_fixture.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("report_fixture", module)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def register_path(tmp_path: Path) -> Path:
    path = tmp_path / "register.sqlite"
    register = open_register(path, create=True)
    register.add_system({"id": "credit-scoring", "name": "Credit scoring"})
    register.add_incident(
        {
            "title": "Credit model declined applicants",
            "summary": "Stale bureau features reached the model; contact ops@example.com for the raw export.",
            "system_id": "credit-scoring",
            "category": "data_quality",
            "severity": "SEV-2",
            "occurred_at": datetime(2026, 11, 3, tzinfo=UTC),
            "aware_at": datetime(2026, 11, 5, 9, 30, tzinfo=UTC),
            "acknowledged_at": datetime(2026, 11, 5, 10, 0, tzinfo=UTC),
            "contained_at": datetime(2026, 11, 5, 11, 0, tzinfo=UTC),
            "trigger": "Bureau feed switched vendor endpoint",
            "contributing_factors": [
                "No freshness check on the feed",
                "The incident was caused by human error",
            ],
            "lessons_learned": "- Freshness checks belong in the pipeline\n- Drift alerts need an owner",
            "postmortem_facilitator": "Sam Rivera",
        }
    )
    register.add_timeline_event(
        {
            "incident_id": "INC-2026-0001",
            "at": datetime(2026, 11, 5, 9, 30, tzinfo=UTC),
            "kind": "detection",
            "description": "The on-call engineer failed to notice the first alert",
        }
    )
    register.add_action_item(
        {
            "incident_id": "INC-2026-0001",
            "title": "Add a freshness check",
            "kind": "prevent",
            "owner": "Data platform",
        }
    )
    register.close()
    return path


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    """A run folder with the fixture's impact, root-cause, fairness and drift summaries and figures."""
    fx = _fixture_module()
    run = tmp_path / "reports" / "INC-2026-0001" / RUN_ID
    for block in fx.fixture_blocks():
        if block.key in {"impact", "root_cause", "fairness", "drift"}:
            folder = run / block.key
            (folder / "figures").mkdir(parents=True)
            summary = dict(block.data, incident_id="INC-2026-0001")
            (folder / "summary.json").write_text(json.dumps(summary))
            for figure in block.figures:
                (folder / "figures" / f"{figure['id']}.json").write_text(json.dumps(figure["figure"]))
    (run / "manifest.json").write_text(json.dumps({"run_id": run.name}))
    return run


def _content(register_path: Path, run_dir: Path | None, **options: Any) -> Any:
    with open_register(register_path) as register:
        return postmortem_content(register, "INC-2026-0001", run_dir=run_dir, as_of=AS_OF, **options)


def test_blocks_follow_the_outline_and_render(register_path: Path, run_dir: Path, tmp_path: Path) -> None:
    with open_register(register_path) as register:
        blocks = postmortem_blocks(register, "INC-2026-0001", run_dir=run_dir, as_of=AS_OF)
    assert list(blocks) == [entry.key for entry in report_outline()]
    content = _content(register_path, run_dir)
    assert content.blocks["impact"].unavailable is None
    timeline = content.blocks["timeline"].data
    # the drift onset the analysis saw is on the timeline, and the detection delay is measured from it
    assert any(event["source"] == "analysis" for event in timeline["events"])
    assert timeline["detection_delay_hours"] == pytest.approx(57.5)
    response = {row["milestone"]: row for row in content.blocks["response"].data["rows"]}
    assert response["acknowledge"]["actual_hours"] == pytest.approx(0.5)
    assert response["acknowledge"]["met"] is True
    assert response["acknowledge"]["margin_hours"] == pytest.approx(0.5)
    assert content.blocks["lessons"].data["items"] == [
        "Freshness checks belong in the pipeline",
        "Drift alerts need an owner",
    ]
    # the content (what postmortem.json records) holds no personal data
    assert "ops@example.com" not in json.dumps(content.to_json())
    flags = {flag.rule for flag in content.flags}
    assert {"human_error", "failed_to"} <= flags
    html = render_html(content, tmp_path / "postmortem.html").path.read_text()
    assert "Observed: 4,321 of" in html
    assert "Credit scoring" in html


def test_without_a_run_the_sections_say_they_did_not_run(register_path: Path) -> None:
    content = _content(register_path, None)
    assert "has not run" in content.blocks["impact"].unavailable
    assert "has not run" in content.blocks["drift"].unavailable


def test_an_unreadable_summary_marks_its_section_unavailable(register_path: Path, run_dir: Path) -> None:
    (run_dir / "impact" / "summary.json").write_text(json.dumps({"section": "impact", "incident_id": "x"}))
    content = _content(register_path, run_dir)
    assert content.blocks["impact"].unavailable.startswith("its summary could not be read")
    assert content.blocks["drift"].unavailable is None


def test_redaction_once_per_value_and_one_validation_per_summary(
    register_path: Path, run_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import workbench.report._blocks as blocks_module

    redacted: list[str] = []
    original_redact = blocks_module.redact

    def counting_redact(text: Any, *args: Any, **kwargs: Any) -> Any:
        redacted.append(text)
        return original_redact(text, *args, **kwargs)

    monkeypatch.setattr(blocks_module, "redact", counting_redact)
    validations: Counter[str] = Counter()
    for section in available_sections():
        original = section.summary_model.model_validate

        def counting_validate(cls: Any, *args: Any, _original: Any = original, **kwargs: Any) -> Any:
            validations[cls.__name__] += 1
            return _original(*args, **kwargs)

        monkeypatch.setattr(section.summary_model, "model_validate", classmethod(counting_validate))
    checked: list[str] = []
    original_check = blocks_module.check_blameless

    def counting_check(text: Any, *args: Any, **kwargs: Any) -> Any:
        checked.append(text)
        return original_check(text, *args, **kwargs)

    monkeypatch.setattr(blocks_module, "check_blameless", counting_check)

    with open_register(register_path) as register:
        result = run_postmortem(run_dir, register, "INC-2026-0001", as_of=AS_OF, formats=("html", "md"))

    # the incident's system logs predictions: the LLM section is not in its report (never validated)
    assert validations == {
        section.summary_model.__name__: 1
        for section in available_sections()
        if "prediction_log" in section.log_kinds
    }
    counts = Counter(redacted)
    # every register text went through redaction exactly once for html, md and postmortem.json together
    for text in (
        "Credit model declined applicants",
        "Bureau feed switched vendor endpoint",
        "No freshness check on the feed",
        "The incident was caused by human error",
        "Freshness checks belong in the pipeline",
        "The on-call engineer failed to notice the first alert",
        "Add a freshness check",
        "Data platform",
        "Credit scoring",
    ):
        assert counts[text] == 1, text
    assert counts["Sam Rivera"] == 2  # the facilitator is in two places: the summary and the sign-off
    assert sum(1 for text in redacted if text.startswith("Stale bureau features")) == 1
    # narrative text is checked for blame phrasing once, after redaction
    assert Counter(checked)["The on-call engineer failed to notice the first alert"] == 1
    assert all(text in redacted or "[redacted" in text for text in checked)
    assert set(result.reports) == {"html", "md"}


def test_run_postmortem_writes_content_and_reports(register_path: Path, run_dir: Path) -> None:
    with open_register(register_path) as register:
        result = run_postmortem(run_dir, register, "INC-2026-0001", as_of=AS_OF, formats=["html", "md"])
    html = result.reports["html"].path.read_text()
    assert "Observed: 4,321 of" in html
    assert {row["kind"] for row in result.artefacts} == {"report_content", "report_html", "report_markdown"}
    content = json.loads((run_dir / "postmortem.json").read_text())
    assert content["unavailable"] == {}
    assert len(content["blameless_flags"]) >= 2
    assert content["min_cell_size"] == 10
    assert content["blocks"]["impact"]["data"]["n_affected_decisions"] == 4321
    assert "ops@example.com" not in json.dumps(content)
    assert "[redacted email]" in content["blocks"]["summary"]["data"]["summary"]
    manifest = json.loads((run_dir / "manifest.json").read_text())
    recorded = {row["path"]: row["sha256"] for row in manifest["postmortem"]["artefacts"]}
    assert set(recorded) == {"postmortem.json", "postmortem.html", "postmortem.md"}
    assert recorded["postmortem.html"] == sha256_file(run_dir / "postmortem.html")
    assert manifest["postmortem"]["parameters"]["as_of"] == AS_OF.isoformat()
    records = result.evidence("INC-2026-0001")
    assert {record.kind for record in records} == {"report_content", "report_html", "report_markdown"}
    assert all(
        record.run_id == run_dir.name and record.sha256 == sha256_file(record.uri) for record in records
    )
    assert not list(Path(run_dir).glob("*.ipynb"))  # no notebook is executed for the post-mortem


def test_run_postmortem_refuses_unknown_formats_and_strict_flags(register_path: Path, run_dir: Path) -> None:
    from workbench.report import BlamelessFlagsError

    with open_register(register_path) as register:
        with pytest.raises(WorkbenchError, match="formats must be among html, md, pdf. Got docx"):
            run_postmortem(run_dir, register, "INC-2026-0001", as_of=AS_OF, formats=["docx"])
        with pytest.raises(BlamelessFlagsError):
            run_postmortem(run_dir, register, "INC-2026-0001", as_of=AS_OF, strict=True)
    assert not (run_dir / "postmortem.json").exists()
    assert not (run_dir / "postmortem.html").exists()


def test_the_policys_redaction_rules_apply(register_path: Path, run_dir: Path) -> None:
    policy = load_policy()
    rule = RedactionRule(name="people", pattern="Sam Rivera", replacement="[redacted name]")
    custom = policy.model_copy(update={"reports": policy.reports.model_copy(update={"redaction": [rule]})})
    content = _content(register_path, run_dir, policy=custom)
    assert content.blocks["summary"].data["facilitator"] == "[redacted name]"
    assert content.redaction_counts["people"] == 2
    # the policy's rules replace the default rules, not the detectors (register.pii): the e-mail address
    # is not a rule of this policy and is redacted all the same
    assert "ops@example.com" not in content.blocks["summary"].data["summary"]
    assert content.redaction_counts["email"] >= 1 and "hex_token" not in content.redaction_counts


def test_a_changed_summary_number_reaches_the_report(
    register_path: Path, run_dir: Path, tmp_path: Path
) -> None:
    def render(name: str) -> str:
        return render_html(_content(register_path, run_dir), tmp_path / name).path.read_text()

    assert "Observed: 4,321 of" in render("before.html")
    path = run_dir / "impact" / "summary.json"
    summary = json.loads(path.read_text())
    summary["n_affected_decisions"] = 5555
    path.write_text(json.dumps(summary))
    after = render("after.html")
    assert "Observed: 5,555 of" in after
    assert "4,321" not in after


# ---------------------------------------------------------------- paths relative to the run folder ---


def test_evidence_paths_are_relative_to_the_run_folder(register_path: Path, run_dir: Path) -> None:
    rows = [
        {"path": "impact/summary.json", "kind": "summary", "sha256": "a" * 64},
        {"path": "impact/figures/impact_over_time.json", "kind": "figure", "sha256": "b" * 64},
    ]
    when = datetime(2026, 11, 20, tzinfo=UTC)
    with open_register(register_path) as register:
        for record in artefact_evidence("INC-2026-0001", run_dir, rows, captured_at=when, run_id=RUN_ID):
            register.add_evidence(record)  # absolute paths, as this machine recorded them
        register.add_evidence(  # a relative path recorded from another working directory
            {
                "incident_id": "INC-2026-0001",
                "kind": "manifest",
                "uri": f"elsewhere/reports/INC-2026-0001/{RUN_ID}/manifest.json",
                "captured_at": when,
                "run_id": RUN_ID,
            }
        )
        register.add_evidence(  # outside any run folder
            {
                "incident_id": "INC-2026-0001",
                "kind": "data",
                "uri": "/home/analyst/exports/prediction_logs.parquet",
                "captured_at": when,
            }
        )
    content = _content(register_path, run_dir)
    uris = [item["uri"] for item in content.blocks["contributing_factors"].data["evidence"]]
    assert uris == [
        "impact/summary.json",
        "impact/figures/impact_over_time.json",
        "manifest.json",
        "prediction_logs.parquet",
    ]
    html = render_html(content, run_dir / "postmortem.html").path.read_text()
    assert str(run_dir) not in html
    assert "/home/analyst" not in html
    assert "<code>impact/summary.json</code>" in html


def test_report_path_keeps_urls_and_names_outside_files(tmp_path: Path) -> None:
    run = tmp_path / "reports" / "INC-2026-0001" / RUN_ID
    assert report_path(str(run / "drift" / "drift.ipynb"), run) == "drift/drift.ipynb"
    assert report_path((run / "manifest.json").as_uri(), run) == "manifest.json"
    assert report_path("s3://bucket/logs/part-0.parquet", run) == "s3://bucket/logs/part-0.parquet"
    assert report_path(str(tmp_path / "other" / "notes.txt"), run) == "notes.txt"
    assert report_path(str(run / "impact" / "summary.json"), None) == "summary.json"


# ---------------------------------------------------------------- notifications by record id ---------


def test_notifications_sharing_regime_and_type_keep_their_own_reference(register_path: Path) -> None:
    with open_register(register_path) as register:
        for audience, reference in (
            ("executive", "EXEC-REF-1"),
            ("customers", "CUST-REF-2"),
            ("board", "BOARD-REF-3"),
        ):
            register.add_notification(
                {
                    "incident_id": "INC-2026-0001",
                    "audience": audience,
                    "reference": reference,
                    "sent_at": datetime(2026, 11, 6, tzinfo=UTC),
                }
            )
    content = _content(register_path, None)
    rows = [row for row in content.blocks["notifications"].data["rows"] if row["reference"]]
    assert [(row["audience"], row["reference"]) for row in rows] == [
        ("Executive", "EXEC-REF-1"),
        ("Customers", "CUST-REF-2"),
        ("Board", "BOARD-REF-3"),
    ]
    assert {row["regime"] for row in rows} == {None}
    assert {row["report_type"] for row in rows} == {"initial"}
    assert {row["status"] for row in rows} == {"sent"}


# ---------------------------------------------------------------- the CLI path, from any directory ---


@pytest.mark.parametrize("formats", [("html", "md"), ("pdf",)], ids=["html_md", "pdf"])
def test_relative_reports_dir_from_another_working_directory(
    register_path: Path, run_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, formats: tuple
) -> None:
    if "pdf" in formats:
        from workbench.report import find_chromium

        if find_chromium() is None:
            pytest.skip("headless Chromium is not installed (apt-get install chromium)")
    monkeypatch.chdir(tmp_path)
    written = render_postmortem(
        "register.sqlite", "INC-2026-0001", reports_dir="reports", formats=formats, as_of=AS_OF
    )
    expected = {"html", "md"} if "md" in formats else {"html", "pdf"}
    assert set(written) == expected
    for path in written.values():
        assert path.is_absolute() and path.is_file() and path.parent == run_dir.resolve()
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert {row["path"] for row in manifest["postmortem"]["artefacts"]} == {"postmortem.json"} | {
        f"postmortem.{'md' if fmt == 'md' else fmt}" for fmt in expected
    }
    if "pdf" in formats:
        assert written["pdf"].read_bytes().startswith(b"%PDF")
    with open_register(register_path) as register:
        kinds = {item.kind for item in register.evidence("INC-2026-0001")}
    assert "report_content" in kinds
    # the report renders the evidence just recorded by an earlier run relative to the run folder
    render_postmortem("register.sqlite", "INC-2026-0001", reports_dir="reports", formats=("md",), as_of=AS_OF)
    markdown = (run_dir / "postmortem.md").read_text()
    assert "| report_content | postmortem.json |" in markdown.replace("\\", "")
    assert str(tmp_path) not in markdown


@pytest.mark.parametrize(
    "run", ["../../outside", "", ".", "INC-2025-0001", "20261123T160501250Z-a1b2c3/../x"]
)
def test_run_option_is_a_run_id_never_a_path(tmp_path: Path, run: str) -> None:
    from workbench.errors import WorkbenchError
    from workbench.postmortem_cli import _run_folder

    with pytest.raises(WorkbenchError, match="--run must be a run id"):
        _run_folder(tmp_path / "reports", "INC-2026-0001", run_id=run, run_dir=None)
    assert not (tmp_path / "outside").exists()
    assert list(tmp_path.iterdir()) == []


def test_reports_dir_that_is_a_file_is_a_clear_error(tmp_path: Path) -> None:
    from workbench.errors import WorkbenchError
    from workbench.postmortem_cli import _run_folder

    file = tmp_path / "reports"
    file.write_text("not a folder")
    with pytest.raises(WorkbenchError, match="--reports-dir must be a folder"):
        _run_folder(file, "INC-2026-0001", run_id=None, run_dir=None)


def test_run_is_found_through_the_register_when_the_reports_dir_holds_none(tmp_path: Path) -> None:
    from workbench.errors import WorkbenchError
    from workbench.postmortem_cli import _run_folder

    run = tmp_path / "elsewhere" / "INC-2026-0001" / "20261123T160501250Z-a1b2c3"
    run.mkdir(parents=True)
    (run / "manifest.json").write_text("{}")
    here = tmp_path / "reports"
    assert _run_folder(here, "INC-2026-0001", run_id=None, run_dir=None, recorded_runs=[run]) == run
    gone = tmp_path / "gone" / "INC-2026-0001" / "20261123T160501250Z-000000"
    with pytest.raises(WorkbenchError, match="not on this machine"):
        _run_folder(here, "INC-2026-0001", run_id=None, run_dir=None, recorded_runs=[gone])
    assert not here.exists()


def test_timeline_lists_events_after_as_of_apart() -> None:
    from datetime import UTC, datetime

    from register.schema import Incident, TimelineEvent
    from workbench.report import timeline_data

    incident = Incident(
        id="INC-2026-0001", title="t", category="data_quality", severity="SEV-2",
        occurred_at="2026-01-01T06:00:00Z", aware_at="2026-01-02T00:00:00Z",
    )
    events = [
        TimelineEvent(
            incident_id=incident.id, at="2026-01-02T00:00:00Z", kind="detection", description="seen"
        ),
        TimelineEvent(incident_id=incident.id, at="2026-12-04T06:00:00Z", kind="evidence", description="run"),
    ]
    data = timeline_data(incident, events, {}, {}, as_of=datetime(2026, 1, 31, tzinfo=UTC))
    assert [row["description"] for row in data["events"]] == ["seen"]
    assert [row["description"] for row in data["later_events"]] == ["run"]


def test_signoff_states_follow_the_post_mortem_status() -> None:
    from register.schema import Incident
    from workbench.report._assembly import _signoff_state

    published = Incident(
        id="INC-2026-0001", title="t", category="data_quality", severity="SEV-2",
        aware_at="2026-01-02T00:00:00Z", postmortem_status="published",
    )
    assert _signoff_state(published, facilitator=False).startswith("signed off")
    draft = published.model_copy(update={"postmortem_status": "draft"})
    assert _signoff_state(draft, facilitator=False).startswith("pending")


def test_a_section_that_does_not_fit_the_system_says_not_applicable_not_not_run(tmp_path: Path) -> None:
    from register.schema import ColumnRoles, DataCard, DataSource
    from workbench.report._assembly import run_card, section_block
    from workbench.sections import get_section

    card = DataCard(
        source=DataSource(location="logs.parquet"),
        task="regression",
        columns=ColumnRoles(event_time="ts", entity_id="id", prediction="price"),
    )
    run = tmp_path / "run"
    run.mkdir()
    (run / "context.json").write_text(json.dumps({"card": card.model_dump(mode="json")}))
    block = section_block(get_section("fairness"), run, card=run_card(run))
    assert block.unavailable == (
        "not applicable to this AI system: the data card names no sensitive attributes "
        "(columns.sensitive or a sensitive_source)"
    )
    # a section that fits but has no summary in the run has not run
    assert "has not run" in str(section_block(get_section("impact"), run, card=run_card(run)).unavailable)


def _names_register(tmp_path: Path) -> Path:
    path = tmp_path / "names.sqlite"
    register = open_register(path, create=True)
    register.add_system({"id": "support-bot", "name": "Support chatbot"})
    register.add_incident(
        {
            "title": "Chatbot quoted other customers' e-mails",
            "summary": "Sam Rivera paged the on-call; Priya Natarajan from the vendor confirmed the index.",
            "system_id": "support-bot",
            "category": "data_exposure_privacy",
            "severity": "SEV-2",
            "aware_at": datetime(2026, 11, 5, 9, 30, tzinfo=UTC),
            "lessons_learned": "Ask sam  rivera or Lee Okafor before an index change.",
            "incident_commander": "Sam Rivera",
        }
    )
    register.add_action_item(
        {"incident_id": "INC-2026-0001", "title": "Gate index changes", "kind": "prevent",
         "owner": "Lee Okafor"}  # fmt: skip
    )
    register.close()
    return path


@pytest.mark.parametrize("redact_names", [True, False])
def test_known_names_are_redacted_where_the_policy_asks_and_the_report_says_what_is_not_caught(
    tmp_path: Path, redact_names: bool
) -> None:
    from workbench.report import render_markdown

    policy = load_policy()
    reports = policy.reports.model_copy(update={"redact_known_names": redact_names})
    with open_register(_names_register(tmp_path)) as register:
        content = postmortem_content(
            register, "INC-2026-0001", as_of=AS_OF, policy=policy.model_copy(update={"reports": reports})
        )
    html = render_html(content, tmp_path / "postmortem.html").path.read_text()
    markdown = render_markdown(content, tmp_path / "postmortem.md").path.read_text()
    for text in (html, markdown):
        # the responder and the action item's owner (any case, any spacing) only where the policy asks
        for name in ("Sam Rivera", "sam  rivera", "Lee Okafor"):
            assert (name in text) is not redact_names, name
        assert "Priya Natarajan" in text  # a name the register does not know is not caught
        assert "no name-recognition model" in text
        assert ("redacted name" in text) is redact_names  # Markdown escapes the brackets
    assert content.redaction_counts["person"] == (4 if redact_names else 0)
