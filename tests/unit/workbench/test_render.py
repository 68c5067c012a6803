from __future__ import annotations

import importlib.util
import json
import re
import sys
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from register.policy import load_policy
from register.redact import RedactionRule
from workbench.errors import WorkbenchError
from workbench.report import (
    BlamelessFlagsError,
    ChromiumNotFound,
    ReportBlock,
    assemble_report,
    figure_payload,
    render_html,
    render_markdown,
    render_pdf,
    render_report,
    report_block,
)
from workbench.report._filters import html_env
from workbench.report._html import report_notebook
from workbench.sections import available_sections, get_section

FIXTURES = Path(__file__).parent / "fixtures"


def _load_fixture_module() -> Any:
    spec = importlib.util.spec_from_file_location("report_fixture", FIXTURES / "report_fixture.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("report_fixture", module)
    spec.loader.exec_module(module)
    return module


fx = _load_fixture_module()


class _Elements(HTMLParser):
    """Every start tag with its attributes, and the text of each script element."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[tuple[dict[str, str | None], str]] = []
        self._in_script: dict[str, str | None] | None = None
        self._script_text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))
        if tag == "script":
            self._in_script = dict(attrs)
            self._script_text = []

    def handle_data(self, data: str) -> None:
        if self._in_script is not None:
            self._script_text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self._in_script is not None:
            self.scripts.append((self._in_script, "".join(self._script_text)))
            self._in_script = None


def _parse(html: str) -> _Elements:
    parser = _Elements()
    parser.feed(html)
    return parser


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Any]:
    path = tmp_path_factory.mktemp("report") / "postmortem.html"
    report = render_html(fx.fixture_content(), path)
    return path.read_text(encoding="utf-8"), report


@pytest.fixture(scope="module")
def markdown(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("report") / "postmortem.md"
    render_markdown(fx.fixture_content(), path)
    return path.read_text(encoding="utf-8")


def _replaced(key: str, block: ReportBlock | None) -> list[ReportBlock]:
    """The fixture's blocks with the block ``key`` replaced (``None``: left out)."""
    blocks = [other if other.key != key else block for other in fx.fixture_blocks()]
    return [other for other in blocks if other is not None]


# ---------------------------------------------------------------- offline and self-contained --------


def test_nothing_would_be_loaded_from_the_network(rendered: tuple[str, Any]) -> None:
    html, _ = rendered
    parsed = _parse(html)
    loading = {"src", "srcset", "data", "poster", "background", "action", "formaction", "xlink:href"}
    for tag, attrs in parsed.elements:
        for name, value in attrs.items():
            if name in loading:
                pytest.fail(f"<{tag} {name}={value!r}> would load something")
            if name == "href":
                assert tag == "a" and (value or "").startswith("#"), (tag, value)
    # outside the embedded plotly.js bundle (whose source names CDNs it never calls here)
    bundle = max((text for attrs, text in parsed.scripts), key=len)
    page = html.replace(bundle, "")
    assert "@import" not in page
    assert not re.search(r"url\(\s*['\"]?(https?:)?//", page)
    # the stock lab template's CDN scripts are gone
    cdns = (
        "require.min.js",
        "MathJax.js",
        "mathjax@",
        "mermaid",
        "cdn.jsdelivr",
        "cdnjs.cloudflare",
        "unpkg",
    )
    for cdn in cdns:
        assert cdn not in page.replace("wb-mermaid", ""), cdn


def test_plotly_js_embedded_exactly_once(rendered: tuple[str, Any]) -> None:
    html, _ = rendered
    assert len(re.findall(r"\* plotly\.js v\d+\.\d+\.\d+", html)) == 1
    executable = [text for attrs, text in _parse(html).scripts if attrs.get("type") != "application/json"]
    assert len(executable) == 2  # plotly.js and the bootstrap that draws the figures
    assert sum(len(text) > 1_000_000 for text in executable) == 1


def test_content_security_policy_forbids_network(rendered: tuple[str, Any]) -> None:
    html, _ = rendered
    metas = [attrs for tag, attrs in _parse(html).elements if tag == "meta" and attrs.get("http-equiv")]
    policy = metas[0]["content"]
    assert "default-src 'none'" in policy
    assert "http" not in policy


def test_figures_match_the_declared_sections(rendered: tuple[str, Any]) -> None:
    html, report = rendered
    divs = [
        attrs
        for tag, attrs in _parse(html).elements
        if tag == "div" and "wb-plotly" in (attrs.get("class") or "")
    ]
    promised = sum(len(section.figures) for section in available_sections() if section.key != "llm")
    assert len(divs) == promised
    assert len(report.figure_ids) == len(divs)
    figure_ids = [attrs["data-figure-id"] for tag, attrs in _parse(html).elements if tag == "figure"]
    for section in available_sections():  # the fixture is a prediction-log incident: no LLM figures
        expected = [] if section.key == "llm" else list(section.figure_ids)
        assert [fid for fid in figure_ids if fid in section.figure_ids] == expected
    # each figure's data is valid JSON with at least one trace
    data_scripts = [text for attrs, text in _parse(html).scripts if attrs.get("type") == "application/json"]
    assert len(data_scripts) == len(divs)
    for text in data_scripts:
        assert json.loads(text)["data"]


def test_toc_lists_the_outline_and_links_resolve(rendered: tuple[str, Any]) -> None:
    html, report = rendered
    elements = _parse(html).elements
    ids = {attrs["id"] for _, attrs in elements if attrs.get("id")}
    hrefs = [attrs["href"] for tag, attrs in elements if tag == "a" and attrs.get("href")]
    assert hrefs, "no TOC"
    for href in hrefs:
        assert href[1:] in ids, href
    assert report.block_keys[:3] == ("summary", "severity", "timeline")
    assert "#section-impact" in hrefs and "#section-drift" in hrefs


# ---------------------------------------------------------------- escaping, redaction, suppression ---


def test_xss_payloads_are_escaped_in_html(rendered: tuple[str, Any]) -> None:
    html, _ = rendered
    parsed = _parse(html)
    for tag, attrs in parsed.elements:
        assert tag not in {"img", "iframe", "svg", "object", "embed"}, (tag, attrs)
        for name, value in attrs.items():
            assert not name.startswith("on"), (tag, name)
            assert "javascript:" not in (value or "").lower(), (tag, name, value)
    for attrs, text in parsed.scripts:
        if attrs.get("type") == "application/json":
            assert "</script" not in text.lower()
            assert "<" not in text
        else:
            assert "__xss" not in text
    styles = html.count("<style")
    assert "display: none }" not in html.replace("&lt;style&gt;body { display: none }", "")
    assert styles == len(re.findall(r"<style[ >]", html))
    assert "&lt;script&gt;window.__xss = 1&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=" in html


def test_template_syntax_is_shown_not_evaluated(rendered: tuple[str, Any], markdown: str) -> None:
    html, _ = rendered
    assert "{{ 7 * 7 }}" in html
    assert "LOOPLOOP" not in html
    assert "LOOPLOOP" not in markdown
    assert "{{" not in markdown  # braces are escaped for wiki template engines too


def test_free_text_is_redacted(rendered: tuple[str, Any], markdown: str) -> None:
    html, _ = rendered
    for text in (html, markdown):
        assert fx.SECRET_EMAIL not in text
        assert fx.SECRET_KEY not in text
        assert "redacted email" in text
        assert "redacted API key" in text
    # paths of evidence are not mistaken for tokens
    assert "reports/INC-2026-0042/run/impact/impact.ipynb" in html


def _impact_block(html: str) -> str:
    return html.split('id="section-impact"', 1)[1].split("</section>", 1)[0]


def test_small_groups_are_suppressed_and_marked(rendered: tuple[str, Any], markdown: str) -> None:
    html, _ = rendered
    rows = re.findall(r'<tr class="wb-suppressed">(.*?)</tr>', _impact_block(html), flags=re.S)
    assert len(rows) == 2
    assert "85+" in rows[0] and "tiny-region" in rows[1]
    assert "fewer than 10 decisions" in rows[1]
    assert ">4<" not in rows[1]
    assert "| region | tiny-region | suppressed (fewer than 10) | | |" in markdown


def test_markdown_escapes_payloads(markdown: str) -> None:
    assert "<script" not in markdown.lower()
    assert "<img" not in markdown.lower()
    assert "](javascript:" not in markdown
    assert "![tracking](" not in markdown
    assert "[docs](https://evil" not in markdown
    assert "&lt;script&gt;window.\\_\\_xss = 1&lt;/script&gt;" in markdown
    # our own figure links survive
    assert re.search(r"\[postmortem\.html\]\(postmortem\.html#fig-1-impact\\?_over\\?_time\)", markdown)


def test_markdown_has_every_part_in_order(markdown: str) -> None:
    headings = re.findall(r"^## (.+)$", markdown, flags=re.M)
    assert headings[0] == "Contents"
    from workbench.sections import report_outline

    assert headings[1:] == [entry.title for entry in report_outline()]


# ---------------------------------------------------------------- numbers come from summary.json -----


def test_changed_summary_value_shows_up_and_old_value_is_gone(tmp_path: Path) -> None:
    first = render_html(fx.fixture_content(n_affected=4321), tmp_path / "a.html").path.read_text()
    second = render_html(fx.fixture_content(n_affected=9876), tmp_path / "b.html").path.read_text()
    assert "Observed: 4,321 of" in first
    assert "Observed: 9,876 of" in second
    assert "4,321" not in second
    md = render_markdown(fx.fixture_content(n_affected=9876), tmp_path / "b.md").path.read_text()
    assert "Observed: 9,876 of" in md and "4,321" not in md


# ---------------------------------------------------------------- blameless review and strict --------


def test_blameless_flags_reach_the_review_box(rendered: tuple[str, Any]) -> None:
    html, report = rendered
    rules = sorted(flag.rule for flag in report.flags)
    assert rules == ["failed_to", "human_error"]
    review = html[html.index('id="part-blameless_review"') :]
    assert "2 phrase(s) for the facilitator to review" in review
    assert "timeline.description" in review
    assert "Make the system the subject" in review


def test_strict_refuses_to_render_with_flags(tmp_path: Path) -> None:
    with pytest.raises(BlamelessFlagsError) as excinfo:
        render_html(fx.fixture_content(), tmp_path / "x.html", strict=True)
    assert {row["phrase"] for row in excinfo.value.failures} == {"failed to", "human error"}
    assert not (tmp_path / "x.html").exists()
    with pytest.raises(BlamelessFlagsError, match="render without --strict") as excinfo:
        render_markdown(fx.fixture_content(), tmp_path / "x.md", strict=True)
    assert {row["phrase"] for row in excinfo.value.failures} == {"failed to", "human error"}
    assert not (tmp_path / "x.md").exists()


# ---------------------------------------------------------------- block contract ---------------------


def test_unknown_block_key_is_refused() -> None:
    with pytest.raises(WorkbenchError, match="report block key must be one of"):
        assemble_report([report_block("trends", {"x": 1})], require_complete=False)


def test_blocks_out_of_outline_order_are_refused() -> None:
    blocks = [
        report_block("lessons", {"items": []}),
        report_block("summary", {"incident_id": "INC-2026-0001", "title": "t", "severity": "SEV-3"}),
    ]
    with pytest.raises(WorkbenchError, match="must follow the report outline"):
        assemble_report(blocks, require_complete=False)


def test_missing_parts_are_named() -> None:
    with pytest.raises(WorkbenchError, match="Got none for summary, severity"):
        assemble_report([report_block("lessons", {"items": []})])


def test_duplicate_block_is_refused() -> None:
    block = report_block("lessons", {"items": []})
    with pytest.raises(WorkbenchError, match="must appear once"):
        assemble_report([block, block], require_complete=False)


def test_section_block_must_match_schema_and_carry_promised_figures() -> None:
    with pytest.raises(WorkbenchError, match="impact.n_decisions") as excinfo:
        assemble_report([report_block("impact", {"incident_id": "INC-2026-0001"})], require_complete=False)
    assert any(row["location"] == "n_decisions" for row in excinfo.value.failures)
    drift = next(block for block in fx.fixture_blocks() if block.key == "drift")
    no_figure = report_block("drift", drift.data, figures=())
    with pytest.raises(WorkbenchError, match="drift.figures: must be exactly"):
        assemble_report(_replaced("drift", no_figure))


def test_unavailable_section_is_placed_with_its_reason(tmp_path: Path) -> None:
    blocks = _replaced("drift", report_block("drift", None, unavailable="no data card <b>x</b>"))
    html = render_html(assemble_report(blocks), tmp_path / "r.html").path.read_text()
    section = html[html.index('id="section-drift"') : html.index('id="part-contributing_factors"')]
    assert "Not available: no data card &lt;b&gt;x&lt;/b&gt;" in section
    assert "wb-plotly" not in section


def test_report_block_requires_data_or_reason() -> None:
    with pytest.raises(WorkbenchError, match="must have data or say why"):
        report_block("summary", None)


def test_section_list_drives_the_outline(tmp_path: Path) -> None:
    blocks = [
        block for block in _replaced("drift", None) if block.key not in {"fairness", "root_cause", "llm"}
    ]
    content = assemble_report(blocks, sections=[get_section("impact")])
    html = render_html(content, tmp_path / "r.html").path.read_text()
    assert 'href="#section-impact"' in html
    assert "section-drift" not in html


# ---------------------------------------------------------------- PDF and the bundle of formats -----


def test_pdf_without_chromium_says_how_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import workbench.report._pdf as pdf_module

    monkeypatch.setattr(pdf_module, "find_chromium", lambda *args, **kwargs: None)
    html = tmp_path / "r.html"
    html.write_text("<html></html>")
    with pytest.raises(ChromiumNotFound, match="apt-get install chromium"):
        render_pdf(html, tmp_path / "r.pdf")


def test_render_report_refuses_unknown_format(tmp_path: Path) -> None:
    with pytest.raises(WorkbenchError, match="formats must be among html, md, pdf. Got docx"):
        render_report(fx.fixture_content(), tmp_path, formats=["docx"])
    assert list(tmp_path.iterdir()) == []


def test_render_report_html_and_markdown(tmp_path: Path) -> None:
    written = render_report(fx.fixture_content(), tmp_path, formats=["html", "md"])
    assert written["html"].path == tmp_path / "postmortem.html"
    assert written["md"].path.read_text().startswith("# Post-incident review INC-2026-0042")


@pytest.mark.browser
def test_pdf_is_printed_with_chromium(tmp_path: Path) -> None:
    from workbench.report import find_chromium

    if find_chromium() is None:
        pytest.skip("headless Chromium is not installed (apt-get install chromium)")
    written = render_report(fx.fixture_content(), tmp_path, formats=["pdf"])
    pdf = written["pdf"].path.read_bytes()
    assert pdf.startswith(b"%PDF")
    assert len(pdf) > 50_000


def test_markdown_renders_to_html_without_payload_markup(markdown: str) -> None:
    """Render the Markdown as a wiki would (mistune, which passes raw HTML through): nothing active."""
    from nbconvert.filters.markdown_mistune import markdown2html_mistune

    html = markdown2html_mistune(markdown)
    parsed = _parse(html)
    tags = {tag for tag, _ in parsed.elements}
    assert not tags & {"script", "img", "iframe", "svg", "style", "object", "embed"}
    links = [attrs.get("href") for tag, attrs in parsed.elements if tag == "a"]
    assert links, "the figure links are missing"
    # only our figure links and the renderer's own heading anchors
    assert all(link.startswith(("postmortem.html#fig-", "#")) for link in links), links
    assert sum(link.startswith("postmortem.html#fig-") for link in links) == sum(
        len(section.figures) for section in available_sections() if section.key != "llm"
    )
    assert "evil.example" not in " ".join(links)
    for _, attrs in parsed.elements:
        assert not any(name.startswith("on") for name in attrs)
    assert "LOOPLOOP" not in html


def test_evidence_uris_keep_run_paths_but_lose_query_strings(tmp_path: Path) -> None:
    root_cause = next(block for block in fx.fixture_blocks() if block.key == "contributing_factors")
    data = dict(root_cause.data)
    data["evidence"] = [
        {
            "kind": "executed_notebook",
            "sha256": "b" * 64,
            "uri": "/srv/reports/INC-2026-0042/20261123T163605125Z-a39cd2/impact/impact.ipynb",
        },
        {"kind": "data", "uri": "https://bucket.example/log.parquet?X-Amz-Signature=deadbeef1234"},
        {"kind": "note", "uri": "mailto:jane.doe@example.com"},
    ]
    content = assemble_report(_replaced("contributing_factors", report_block("contributing_factors", data)))
    html = render_html(content, tmp_path / "r.html").path.read_text()
    assert "/srv/reports/INC-2026-0042/20261123T163605125Z-a39cd2/impact/impact.ipynb" in html
    assert "X-Amz-Signature" not in html
    assert "https://bucket.example/log.parquet?[redacted query]" in html
    assert "jane.doe@example.com" not in html


def test_figure_that_is_not_plotly_json_says_what_was_found(tmp_path: Path) -> None:
    listed = tmp_path / "figure.json"
    listed.write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(WorkbenchError, match=r"plotly JSON \(an object\)\. Got list instead"):
        figure_payload(listed, id="f")
    with pytest.raises(WorkbenchError, match="with a 'data' list. Got 'data' as int instead"):
        figure_payload({"data": 3}, id="f")


# ---------------------------------------------------------------- the policy decides -----------------


def test_min_cell_size_comes_from_the_policy_not_the_impact_block(tmp_path: Path) -> None:
    policy = load_policy()
    strict_policy = policy.model_copy(
        update={"reports": policy.reports.model_copy(update={"min_cell_size": 5500})}
    )
    content = fx.fixture_content(policy=strict_policy)
    assert content.min_cell_size == 5500
    assert content.blocks["impact"].data["min_cell_size"] == 10  # what the impact summary says
    html = render_html(content, tmp_path / "r.html").path.read_text()
    rows = re.findall(r'<tr class="wb-suppressed">(.*?)</tr>', _impact_block(html), flags=re.S)
    assert len(rows) == 3  # the 5,000-decision group is now suppressed too
    assert all("fewer than 5500 decisions" in row for row in rows)
    assert ">5,000<" not in html
    markdown = render_markdown(content, tmp_path / "r.md").path.read_text()
    impact_md = markdown.split("## Impact assessment", 1)[1].split("\n## ", 1)[0]
    assert impact_md.count("suppressed (fewer than 5,500)") == 3
    # the fairness block applies the report's minimum too: its 5,000-decision group is not compared
    fairness_md = markdown.split("## Fairness findings", 1)[1].split("\n## ", 1)[0]
    assert "0.69" not in fairness_md and fairness_md.count("suppressed (fewer than 5,500)") == 2


def test_free_text_is_redacted_with_the_policys_rules(tmp_path: Path) -> None:
    policy = load_policy()
    rule = RedactionRule(name="vendor", pattern=r"(?i)vendor endpoint", replacement="[redacted vendor]")
    custom = policy.model_copy(update={"reports": policy.reports.model_copy(update={"redaction": [rule]})})
    content = fx.fixture_content(policy=custom)
    assert content.redaction_counts["vendor"] == 2  # the trigger and the first timeline event
    html = render_html(content, tmp_path / "r.html").path.read_text()
    assert "vendor endpoint" not in html.lower()
    assert "[redacted vendor]" in html


def test_the_page_is_made_of_the_blocks_only() -> None:
    """The notebook given to nbconvert holds one cell per block whose only output is its trusted HTML."""
    content = fx.fixture_content()
    from workbench.report._filters import DEFAULT_TEMPLATES_DIR

    node = report_notebook(content, html_env(str(DEFAULT_TEMPLATES_DIR)))
    assert [cell.id for cell in node.cells] == [f"block-{key}" for key in content.blocks]
    assert all(cell.source == "" and len(cell.outputs) == 1 for cell in node.cells)
    assert all(cell.outputs[0].metadata == {"workbench_trusted": True} for cell in node.cells)


def test_bidi_overrides_are_neutralised_in_html_and_markdown(tmp_path: Path) -> None:
    from workbench.report import assemble_report, render_html, render_markdown, report_block

    content = assemble_report(
        [report_block("lessons", {"items": ["see invoice\u202efdp.exe and \u2067x\u2069"]})],
        require_complete=False,
    )
    html = render_html(content, tmp_path / "r.html").path.read_text(encoding="utf-8")
    markdown = render_markdown(content, tmp_path / "r.md").path.read_text(encoding="utf-8")
    for text in (html, markdown):
        assert "\u202e" not in text and "\u2067" not in text and "\u2069" not in text
        assert "U+202E" in text


def test_coded_groups_show_the_data_cards_labels(tmp_path: Path) -> None:
    impact = next(block for block in fx.fixture_blocks() if block.key == "impact")
    data = dict(impact.data)
    data["by_group"] = [
        {**row, "group_label": "Asian" if index == 0 else None} for index, row in enumerate(data["by_group"])
    ]
    first = data["by_group"][0]
    labelled = report_block("impact", data, figures=impact.figures)
    content = assemble_report(_replaced("impact", labelled))
    html = render_html(content, tmp_path / "r.html").path.read_text(encoding="utf-8")
    markdown = render_markdown(content, tmp_path / "r.md").path.read_text(encoding="utf-8")
    assert f'Asian <span class="wb-muted">({first["group"]})</span>' in html
    assert f"Asian \\({first['group']}\\)" in markdown or f"Asian ({first['group']})" in markdown


@pytest.mark.parametrize("late", [True, False])
def test_incomplete_recent_labels_are_stated_in_words(tmp_path: Path, late: bool) -> None:
    """The impact summary of a log whose failures are labelled late says so in both formats, from its own
    numbers; a log whose labels come promptly says nothing of the kind."""
    from datetime import timedelta

    from analysis import assess_impact, impact_by_group_figure, impact_over_time_figure
    from analysis.context import build_context
    from analysis.sections.impact import summarise
    from register.schema import Incident
    from tests.unit.analysis.conftest import LATE_LABELS_AS_OF, START, make_late_label_log

    frame, card = make_late_label_log(late=late)
    incident = Incident(
        id="INC-2026-0001",
        title="late labels",
        category="data_quality",
        severity="SEV-3",
        occurred_at=START + timedelta(days=30),
        aware_at=START + timedelta(days=31),
    )
    context = build_context(incident, card, as_of=LATE_LABELS_AS_OF, data=frame)
    impact = assess_impact(
        context.open_logs(data=frame), card, context.windows, as_of=context.as_of, signal=context.signal
    )
    summary = summarise(impact, context)
    figures = [
        figure_payload(impact_over_time_figure(impact), id="impact_over_time"),
        figure_payload(impact_by_group_figure(impact), id="impact_by_group"),
    ]
    content = assemble_report(_replaced("impact", report_block("impact", summary, figures=figures)))
    html = render_html(content, tmp_path / "r.html").path.read_text(encoding="utf-8")
    markdown = render_markdown(content, tmp_path / "r.md").path.read_text(encoding="utf-8")
    sentence = (
        "Labels are incomplete from 2026-02-12 00:00 UTC: in every time chunk from then on, fewer than 80 % "
        "of decisions had a label by as_of (2026-02-14 00:00 UTC), so the failure rate there is provisional."
    )
    if late:
        assert summary.labels_incomplete_from == START + timedelta(days=38)
        assert summary.complete_label_share == 0.8
        assert sentence in html
        assert sentence in markdown
    else:
        assert summary.labels_incomplete_from is None
        assert "Labels are incomplete" not in html
        assert "Labels are incomplete" not in markdown
