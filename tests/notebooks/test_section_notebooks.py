"""The section notebooks run under papermill on small scenario data and record the library's numbers."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import nbformat
import pytest

from analysis import assess_impact, open_logs
from analysis.context import InvestigationContext
from analysis.investigation import drift_for_card
from register import open_register
from register.io import read_bundle
from workbench.cli import main
from workbench.investigate import NOTEBOOKS_DIR, investigate
from workbench.runner import check_section_notebook
from workbench.sections import available_sections

SECTIONS = available_sections()

pytestmark = [pytest.mark.notebooks, pytest.mark.slow]


@pytest.fixture(scope="module")
def scenario_register(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, dict]:
    from workbench.scenarios import generate

    out = tmp_path_factory.mktemp("notebook_scenario")
    generate(out, seed=5, rows_per_day=300)
    truth = json.loads((out / "ground_truth.json").read_text())
    url = str(out / "register.sqlite")
    with open_register(url, create=True) as register:
        register.import_bundle(read_bundle(out / "register"), by="test")
    return out, url, truth


def _as_of(truth: dict) -> datetime:
    return datetime.fromisoformat(truth["as_of"].replace("Z", "+00:00"))


def _incident(truth: dict, prefix: str) -> str:
    return next(s["incident_id"] for s in truth["scenarios"] if s["id"].startswith(prefix))


@pytest.mark.parametrize("section", SECTIONS, ids=lambda section: section.key)
def test_committed_notebooks_keep_the_contract(section) -> None:
    assert check_section_notebook(section, NOTEBOOKS_DIR) == []


def test_investigate_records_the_library_numbers(
    scenario_register, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import analysis.data
    import workbench.investigate

    out, url, truth = scenario_register
    incident_id = _incident(truth, "b_")
    as_of = _as_of(truth)
    calls = {"open_register": 0, "validate_logs": 0}

    def counted(name, function):
        def wrapper(*args, **kwargs):
            calls[name] += 1
            return function(*args, **kwargs)

        return wrapper

    monkeypatch.setattr(workbench.investigate, "open_register", counted("open_register", open_register))
    monkeypatch.setattr(analysis.data, "validate_logs", counted("validate_logs", analysis.data.validate_logs))
    result = investigate(url, incident_id, as_of=as_of, reports_dir=tmp_path / "reports")
    monkeypatch.undo()
    # One register connection and one log check for the whole run; every notebook got only the context.
    assert calls == {"open_register": 1, "validate_logs": 1}
    assert set(result.manifest["parameters"]) == {"impact", "root_cause", "fairness", "drift"}
    for parameters in result.manifest["parameters"].values():
        assert parameters == {"context_path": "context.json"}

    # No error output in any executed notebook.
    for outcome in result.outcomes.values():
        executed = nbformat.read(outcome.output_path, as_version=4)
        errors = [o for c in executed.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
        assert errors == [], outcome.key

    # The numbers in summary.json are the library's, called directly.
    context = InvestigationContext.load(result.run_dir / "context.json")
    with open_register(url) as register:
        incident = register.get_incident(incident_id)
        card = register.get_data_card(incident.system_id)
        evidence = register.evidence(incident_id)
        timeline = register.timeline(incident_id)
    assert context.incident == incident and context.card == card
    windows = context.windows
    log = open_logs(card)
    impact = assess_impact(
        log, card, windows, as_of=as_of, signal=incident.failure_signal or card.failure_signal
    )
    summary = result.summaries["impact"]
    assert summary["n_decisions"] == impact.n_decisions
    assert summary["n_affected_decisions"] == impact.n_affected_decisions
    assert summary["n_affected_entities"] == impact.n_affected_entities
    assert summary["baseline_rate"] == pytest.approx(impact.reference.failure_rate)

    drift = drift_for_card(log, card, windows, as_of=as_of, sample_size=10_000, random_state=0)
    direct = drift.to_summary(incident_id=incident_id)
    recorded = result.summaries["drift"]
    assert recorded["drifted_features"] == direct["drifted_features"]
    by_column = {c["column"]: c for c in direct["columns"]}
    for column in recorded["columns"]:
        assert column["statistic"] == pytest.approx(by_column[column["column"]]["statistic"])
    assert recorded["multivariate_auc"]["estimate"] == pytest.approx(direct["multivariate_auc"]["estimate"])

    from analysis.fairness import assess_fairness

    fairness = assess_fairness(
        log, card, windows, as_of=as_of, min_cell_size=context.min_cell_size, chunk=context.chunk
    ).to_summary()
    recorded = result.summaries["fairness"]
    for key in ("references", "n_compared", "n_significant", "n_opened", "label_note"):
        assert recorded[key] == fairness[key], key
    assert recorded["headline_gap"] == fairness["headline_gap"]

    from analysis.root_cause import analyse_root_cause

    direct = analyse_root_cause(
        log, card, windows, as_of=as_of, signal=context.signal, events=context.events, incident=context.incident
    ).to_summary()
    recorded = result.summaries["root_cause"]
    assert [cause["kind"] for cause in recorded["causes"]] == [cause["kind"] for cause in direct["causes"]]
    assert recorded["failure"]["significant"] == direct["failure"]["significant"]
    assert recorded["verdict"] == direct["verdict"]
    # the change events came from the register's timeline through the context, redacted
    assert [event.description for event in context.events] == [
        event.description for event in timeline if event.at <= as_of
    ][: len(context.events)]

    # Every artefact is evidence with its sha256 and the run id; a timeline event notes the run.
    run_evidence = [item for item in evidence if item.run_id == result.run_id]
    assert len(run_evidence) == len(result.manifest["artefacts"]) + 1
    assert all(item.sha256 and len(item.sha256) == 64 for item in run_evidence)
    assert any(result.run_id in event.description for event in timeline)
    manifest = json.loads(result.manifest_path.read_text())
    assert manifest["data_fingerprint"]["rows"]["incident"] == impact.n_decisions
    assert len(manifest["data_fingerprint"]["sha256"]) == 64


def test_investigate_cli_user_errors_exit_2(
    scenario_register, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, url, truth = scenario_register
    code = main(["investigate", "INC-2025-9999", "--register", url, "--reports-dir", str(tmp_path)])
    captured = capsys.readouterr()
    assert code == 2
    assert "no incident INC-2025-9999" in captured.err
    assert "Traceback" not in captured.err
    code = main(["investigate", _incident(truth, "b_"), "--register", url, "--section", "nonsense"])
    assert code == 2
    assert "--section must be among" in capsys.readouterr().err


def test_data_failing_its_card_stops_before_any_notebook(
    scenario_register, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out, url, truth = scenario_register
    incident_id = _incident(truth, "b_")
    with open_register(url) as register:
        system_id = register.get_incident(incident_id).system_id
        card = register.get_data_card(system_id)
        broken = card.model_copy(
            update={
                "columns": card.columns.model_copy(update={"features": [*card.columns.features, "no_such"]})
            }
        )
        register.update_system(system_id, {"data_card": broken}, by="test")
    try:
        reports = tmp_path / "reports"
        code = main(
            [
                "investigate",
                incident_id,
                "--register",
                url,
                "--reports-dir",
                str(reports),
                "--as-of",
                truth["as_of"],
            ]
        )
        captured = capsys.readouterr()
        assert code == 2
        assert "no_such" in captured.err
        assert not reports.exists()
    finally:
        with open_register(url) as register:
            register.update_system(system_id, {"data_card": card}, by="test")


def test_investigate_notebook_runs_as_committed(scenario_register, tmp_path: Path) -> None:
    import papermill

    _, url, truth = scenario_register
    output = tmp_path / "investigate.ipynb"
    papermill.execute_notebook(
        str(NOTEBOOKS_DIR / "investigate.ipynb"),
        str(output),
        parameters={"incident_id": _incident(truth, "a_"), "register_url": url, "as_of": truth["as_of"]},
        kernel_name="python3",
        progress_bar=False,
        cwd=str(tmp_path),
    )
    executed = nbformat.read(output, as_version=4)
    errors = [o for c in executed.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert errors == []
    text = "\n".join(
        o.get("text", "")
        for c in executed.cells
        for o in c.get("outputs", [])
        if o.get("output_type") == "stream"
    )
    assert "stale inputs inventory_level" in text
    # the slice explorer (analysis.root_cause.SliceExplorer) showed the default search: a table and a figure
    (explorer,) = [c for c in executed.cells if "SliceExplorer(" in c.source]
    kinds = {kind for o in explorer.get("outputs", []) for kind in o.get("data", {})}
    assert {"text/html", "application/vnd.plotly.v1+json"} <= kinds, kinds


def test_postmortem_cli_renders_latest_run_and_strict_refuses_blame(
    scenario_register, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, url, truth = scenario_register
    reports = tmp_path / "reports"
    incident_id = _incident(truth, "a_")
    investigate(url, incident_id, as_of=_as_of(truth), reports_dir=reports)
    code = main(["postmortem", incident_id, "--register", url, "--reports-dir", str(reports)])
    out = capsys.readouterr().out
    assert code == 0
    html = Path(out.split("html: ")[1].split()[0])
    assert html.is_file() and html.parent.parent.name == incident_id
    page = html.read_text()
    assert "inventory_level" in page  # the frozen input is named in the drift findings
    with open_register(url) as register:
        kinds = {item.kind for item in register.evidence(incident_id)}
    assert {"report_html", "report_markdown", "executed_notebook"} <= kinds

    # An incident with blame phrasing and no analysis run: the report is still produced (sections say
    # they have not run); --strict refuses it with exit 2 and the flags listed.
    blamed = truth["blame_phrasing_incidents"][0]
    assert main(["postmortem", blamed, "--register", url, "--reports-dir", str(reports)]) == 0
    captured = capsys.readouterr()
    assert "blameless review" in captured.err
    code = main(["postmortem", blamed, "--register", url, "--reports-dir", str(reports), "--strict"])
    assert code == 2
    assert main(["postmortem", incident_id, "--register", url, "--format", "docx"]) == 2


def _named(markdown: str, label: str) -> set[str]:
    line = next(line for line in markdown.splitlines() if f"{label}: " in line)
    listed = line.split(f"{label}: ", 1)[1].split(".", 1)[0].replace("\\", "")
    return set() if listed.strip() == "none" else {name.strip() for name in listed.split(",")}


@pytest.mark.parametrize("prefix", ["a_", "b_"], ids=["stale_input", "covariate_drift"])
def test_report_names_the_planted_features_and_onset_day(
    scenario_register, tmp_path: Path, prefix: str
) -> None:
    from workbench.postmortem_cli import render_postmortem

    _, url, truth = scenario_register
    planted = next(s for s in truth["scenarios"] if s["id"].startswith(prefix))
    incident_id = planted["incident_id"]
    with open_register(url) as register:
        features = set(register.get_data_card(register.get_incident(incident_id).system_id).columns.features)
    run = investigate(url, incident_id, as_of=_as_of(truth), reports_dir=tmp_path / "reports")
    reports = render_postmortem(url, incident_id, run_dir=run.run_dir, formats=("md",))
    markdown = reports["md"].read_text()
    named = _named(markdown, "Drifted features") | _named(markdown, "Stale inputs")
    expected = set(planted["features"]) & features
    assert expected <= named
    assert len(named - expected) <= 1
    onset_day = planted["onset"][:10]
    assert f"The earliest drift onset seen is **{onset_day}" in markdown.replace("\\", "")


@pytest.mark.parametrize("prefix", ["a_", "b_"], ids=["stale_input", "covariate_drift"])
def test_one_onset_per_column_in_table_figure_and_timeline(
    scenario_register, tmp_path: Path, prefix: str
) -> None:
    """The drift table, the drift-over-time figure and the report's timeline give each column one onset."""
    from workbench.report import postmortem_content

    _, url, truth = scenario_register
    incident_id = _incident(truth, prefix)
    run = investigate(url, incident_id, as_of=_as_of(truth), reports_dir=tmp_path / "reports")
    summary = run.typed_summaries["drift"]
    table = {c.column: c.onset for c in summary.columns if c.drifted and c.onset is not None}
    stale = {s.feature: s.onset for s in summary.stale_inputs if s.stale and s.onset is not None}
    assert table or stale, "the planted scenario must show at least one onset"

    # the figure marks exactly the table's onsets
    figure = json.loads((run.run_dir / "drift" / "figures" / "drift_over_time.json").read_text())
    markers = {
        trace["name"].removesuffix(" onset"): datetime.fromisoformat(trace["x"][0]).astimezone(UTC)
        for trace in figure["data"]
        if str(trace.get("name", "")).endswith(" onset")
    }
    assert markers, "the figure marks the onsets"
    for column, at in markers.items():
        assert table[column] == at, column

    # the timeline lists every named column's onset at the table's time, covering its chunk
    with open_register(url) as register:
        content = postmortem_content(register, incident_id, run_dir=run.run_dir, as_of=_as_of(truth))
    events = [
        e
        for e in content.blocks["timeline"].data["events"]
        if e["source"] == "analysis" and not e["description"].startswith("Failures began")  # root cause: hourly
    ]
    listed: dict[str, datetime] = {}
    for event in events:
        assert event["until"] - event["at"] == timedelta(days=1)  # a daily chunk is the day
        names = event["description"].split(": ", 1)[1] if ": " in event["description"] else ""
        for name in names.split(", "):
            listed[name.split(" (")[0]] = event["at"]
        for feature in stale:
            if feature in event["description"]:
                listed[feature] = event["at"]
    for column in summary.drifted_features:
        assert listed[column] == table[column], column
    for feature, at in stale.items():
        assert listed[feature] == at, feature
    earliest = min([*table.values(), *stale.values()])
    assert content.blocks["timeline"].data["drift_onset"] == min([earliest, *listed.values()])


def test_section_notebook_runs_stand_alone_from_an_incident_id(scenario_register, tmp_path: Path) -> None:
    """In JupyterLab a section notebook builds the same context from an incident id (no run folder)."""
    import papermill

    _, url, truth = scenario_register
    output = tmp_path / "impact.ipynb"
    papermill.execute_notebook(
        str(NOTEBOOKS_DIR / "impact.ipynb"),
        str(output),
        parameters={"incident_id": _incident(truth, "b_"), "register_url": url, "as_of": truth["as_of"]},
        kernel_name="python3",
        progress_bar=False,
        resources={"metadata": {"path": str(tmp_path)}},
    )
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["incident_id"] == _incident(truth, "b_")
    assert summary["n_decisions"] > 0
    assert (tmp_path / "figures" / "impact_by_group.json").is_file()


@pytest.mark.browser
def test_real_report_draws_without_console_warnings(scenario_register, tmp_path: Path) -> None:
    """A post-mortem of a real run (the library's own figures) opens offline with a clean console."""
    import tempfile

    playwright_api = pytest.importorskip("playwright.sync_api")
    from workbench.postmortem_cli import render_postmortem
    from workbench.report import CHROMIUM_FLAGS

    chromium = Path("/usr/bin/chromium")
    if not chromium.exists():
        pytest.skip("headless Chromium is not installed at /usr/bin/chromium (apt-get install chromium)")
    _, url, truth = scenario_register
    incident_id = _incident(truth, "b_")
    run = investigate(url, incident_id, as_of=_as_of(truth), reports_dir=tmp_path / "reports")
    html = render_postmortem(url, incident_id, run_dir=run.run_dir, formats=("html",))["html"]
    console: list[str] = []
    with tempfile.TemporaryDirectory() as profile, playwright_api.sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            profile, executable_path=str(chromium), args=list(CHROMIUM_FLAGS), headless=True
        )
        page = context.new_page()
        page.route(
            "**/*",
            lambda route: route.continue_() if route.request.url.startswith("file:") else route.abort(),
        )
        page.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
        page.on("pageerror", lambda error: console.append(f"pageerror: {error}"))
        page.goto(Path(html).resolve().as_uri())
        page.wait_for_function(
            "() => Array.from(document.querySelectorAll('.wb-plotly')).every("
            "d => d.getAttribute('data-rendered') || d.getAttribute('data-error'))",
            timeout=60_000,
        )
        drawn = page.evaluate("() => document.querySelectorAll('.wb-plotly[data-rendered]').length")
        context.close()
    assert drawn >= 3  # impact over time, impact by group, drift over time
    problems = [
        line for line in console if line.startswith(("error", "pageerror", "warning")) or "WARN" in line
    ]
    assert problems == []


def _naive_utc(value: str) -> datetime:
    parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def test_every_planted_report_is_consistent_with_its_summaries(scenario_register, tmp_path: Path) -> None:
    """Report consistency over every planted scenario's post-mortem: headline numbers are summary.json's,
    window bands of the figures are the summary's windows, onsets agree between table, figure and timeline."""
    from workbench.postmortem_cli import render_postmortem
    from workbench.report import postmortem_content

    _, url, truth = scenario_register
    planted = [s for s in truth["scenarios"] if s.get("incident_id")]
    assert len(planted) >= 4
    for scenario in planted:
        incident_id = scenario["incident_id"]
        run = investigate(url, incident_id, as_of=_as_of(truth), reports_dir=tmp_path / "reports")
        impact = json.loads((run.run_dir / "impact" / "summary.json").read_text())
        drift = json.loads((run.run_dir / "drift" / "summary.json").read_text())
        html = render_postmortem(url, incident_id, run_dir=run.run_dir, formats=("html",))["html"].read_text()
        # headline numbers: the report's are summary.json's
        judged = impact["n_decisions"] - impact["n_undecided_decisions"]
        assert f"Observed: {impact['n_affected_decisions']:,} of {judged:,} judged decisions" in html
        # window bands of the figures: the summary's windows
        impact_figure = json.loads((run.run_dir / "impact" / "figures" / "impact_over_time.json").read_text())
        bands = {
            (_naive_utc(shape["x0"]), _naive_utc(shape["x1"]))
            for shape in impact_figure["layout"]["shapes"]
            if shape.get("type") == "rect"
        }
        for name in ("reference", "incident", "recent"):
            window = impact["windows"][name]
            assert (_naive_utc(window["start"]), _naive_utc(window["end"])) in bands, (incident_id, name)
        # late labels: the sentence and the figure's greyed-out chunks start where the summary says
        incomplete = [s for s in impact_figure["layout"]["shapes"] if s.get("name") == "labels incomplete"]
        if impact["labels_incomplete_from"] is None:
            assert not incomplete and "Labels are incomplete" not in html, incident_id
        else:
            since = _naive_utc(impact["labels_incomplete_from"])
            assert f"Labels are incomplete from {since:%Y-%m-%d %H:%M} UTC" in html, incident_id
            assert [_naive_utc(s["x0"]) for s in incomplete] == [since], incident_id
        drift_figure = json.loads((run.run_dir / "drift" / "figures" / "drift_over_time.json").read_text())
        current = drift["current_window"]
        assert (_naive_utc(current["start"]), _naive_utc(current["end"])) in {
            (_naive_utc(shape["x0"]), _naive_utc(shape["x1"]))
            for shape in drift_figure["layout"].get("shapes", [])
            if shape.get("type") == "rect"
        }, incident_id
        # onsets: each column's figure marker is its table onset; the timeline lists every named one
        table = {c["column"]: _naive_utc(c["onset"]) for c in drift["columns"] if c["drifted"] and c["onset"]}
        for trace in drift_figure["data"]:
            if str(trace.get("name", "")).endswith(" onset"):
                assert table[trace["name"].removesuffix(" onset")] == _naive_utc(trace["x"][0]), incident_id
        with open_register(url) as register:
            content = postmortem_content(register, incident_id, run_dir=run.run_dir, as_of=_as_of(truth))
        timeline = content.blocks["timeline"].data
        events = [*timeline["events"], *timeline["later_events"]]
        _check_fairness_block(scenario, run.run_dir, html, events)
        _check_root_cause_block(scenario, run.run_dir, html, events)
        listed = " | ".join(e["description"] for e in events if e["source"] == "analysis")
        for column in drift["drifted_features"]:
            assert column in listed, (incident_id, column)
            at = next(e["at"] for e in events if e["source"] == "analysis" and column in e["description"])
            assert at == table[column], (incident_id, column)


def _check_root_cause_block(scenario: dict, run_dir: Path, html: str, events: list[dict]) -> None:
    """The root-cause block: its first sentence is the summary's, the planted cause ranks first, the onset
    band of the figure and the timeline's onset are the summary's, and a wrong recorded cause is called out."""
    import html as html_module

    summary = json.loads((run_dir / "root_cause" / "summary.json").read_text())
    causes = summary["causes"]
    planted = scenario.get("cause") or {}
    top = causes[0]
    assert html_module.escape(top["sentence"], quote=False) in html, scenario["id"]
    # (that the planted cause ranks first is tested at a realistic volume in test_root_cause_scenarios.py;
    # at 300 decisions a day a six-hour outage in one region is a handful of decisions)
    onset = summary["onset"]
    if summary["failure"]["significant"]:
        figure = json.loads((run_dir / "root_cause" / "figures" / "root_cause_onset.json").read_text())
        bands = {
            (_naive_utc(shape["x0"]), _naive_utc(shape["x1"]))
            for shape in figure["layout"]["shapes"]
            if shape.get("type") == "rect"
        }
        assert (_naive_utc(onset["low"]), _naive_utc(onset["high"])) in bands, scenario["id"]
        rises = [e for e in events if e["source"] == "analysis" and e["description"].startswith("Failures began")]
        assert [_naive_utc(e["at"]) for e in rises] == [_naive_utc(onset["onset"])], scenario["id"]
    if summary["recorded"]["agreement"] == "disagrees":
        assert "The register and the analysis disagree." in html, scenario["id"]
    if planted.get("kind") == "covariate_mix" and top["kind"] == "covariate_mix":  # recorded wrongly
        assert summary["recorded"]["agreement"] == "disagrees", scenario["id"]


def _check_fairness_block(scenario: dict, run_dir: Path, html: str, events: list[dict]) -> None:
    """The fairness block states summary.json's headline; its onset is the figure's and the timeline's."""
    path = run_dir / "fairness" / "summary.json"
    if not path.exists():  # a system without sensitive attributes: the report says why
        assert "Not available: not applicable to this AI system" in html, scenario["id"]
        return
    fairness = json.loads(path.read_text())
    gap = fairness["headline_gap"]
    if gap is None:
        assert "No fairness gap opened during the incident" in html, scenario["id"]
        assert scenario["kind"] != "fairness_regression"
        return
    assert scenario["kind"] == "fairness_regression", (scenario["id"], gap)
    assert (gap["grouping"], gap["group"]) == (scenario["group"]["attribute"], scenario["group"]["value"])
    assert gap["model_version"] == scenario["model_version"]["after"]
    assert "A fairness gap <strong>opened during the incident</strong>" in html
    assert f"was {gap['value']:.2f} against {gap['reference_value']:.2f}" in html
    figure = json.loads((run_dir / "fairness" / "figures" / "fairness_gap_over_time.json").read_text())
    marks = [
        s
        for s in figure["layout"]["shapes"]
        if s.get("type") == "rect" and s.get("line", {}).get("color") == "black"
    ]
    assert [_naive_utc(s["x0"]) for s in marks] == [_naive_utc(gap["onset"])]
    opened = [
        e for e in events if e["source"] == "analysis" and e["description"].startswith("Fairness gap opened")
    ]
    assert [_naive_utc(e["at"]) for e in opened] == [_naive_utc(gap["onset"])]


def test_investigate_notebook_opens_an_otlp_json_interaction_log(scenario_register, tmp_path: Path) -> None:
    """The chatbot outage incident with its card pointed at an OTLP JSON export of its spans."""
    import glob
    import shutil

    import papermill
    import pyarrow as pa
    import pyarrow.parquet as pq

    from analysis.interaction_log import write_otlp_json

    out, url, truth = scenario_register
    incident_id = next(s["incident_id"] for s in truth["llm_scenarios"] if "provider_outage" in json.dumps(s))
    copy = tmp_path / "register.sqlite"
    shutil.copy(url, copy)
    with open_register(str(copy)) as register:
        incident, card = register.incident_with_card(incident_id)
    location = card.with_base(out / "register").source.location
    spans = pa.concat_tables([pq.read_table(path) for path in sorted(glob.glob(location, recursive=True))])
    export = tmp_path / "export" / "spans.json.gz"
    export.parent.mkdir()
    write_otlp_json(spans, export, card.interaction)
    with open_register(str(copy)) as register:
        source = card.source.model_copy(update={"location": str(export.parent), "format": "otlp_json"})
        changed = card.model_copy(update={"source": source})
        register.update_system(incident.system_id, {"data_card": changed}, by="test")
    output = tmp_path / "investigate.ipynb"
    papermill.execute_notebook(
        str(NOTEBOOKS_DIR / "investigate.ipynb"),
        str(output),
        parameters={"incident_id": incident_id, "register_url": str(copy), "as_of": truth["as_of"]},
        kernel_name="python3",
        progress_bar=False,
        cwd=str(tmp_path),
    )
    executed = nbformat.read(output, as_version=4)
    errors = [o for c in executed.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert errors == []
    outputs = [o for c in executed.cells for o in c.get("outputs", [])]
    text = "\n".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream")
    assert "with an error type" in text and "for prediction logs" in text
