"""Render an executed ``postmortem.ipynb`` into a blameless post-mortem: HTML, Markdown and PDF.

How the report is put together
------------------------------
The post-mortem notebook displays **report blocks**: one output per part of the report (summary,
severity, timeline, each analysis section, root cause, response, notifications, lessons, action items,
sign-off, blameless review), made with :func:`report_block`. A block is structured data (mime type
:data:`BLOCK_MIMETYPE`), never HTML: the renderer validates it (section blocks against the section's
summary schema, fixed parts against the models below), passes every free-text field through
:func:`register.redact.redact` and the blameless check, and renders it with an **autoescaping** Jinja
template (``report_templates/parts/<key>.html.j2`` or ``sections/<key>.html.j2``, and ``.md.j2`` for
Markdown). Register text therefore never reaches the page unescaped, whatever it holds.

Blocks must appear in the order of :func:`workbench.sections.report_outline` (the TOC is built from that
outline, so a new section appears in the TOC without editing any template but its own block). A section
that did not run is still placed, with ``unavailable`` saying why.

The HTML is **self-contained and offline**: ``report_templates/postmortem/index.html.j2`` extends
nbconvert's ``lab`` template and empties the blocks that link require.js, MathJax, Mermaid and widget
scripts from a CDN; plotly.js (from the installed plotly package) is embedded exactly once, and each
figure is a JSON payload drawn by ``Plotly.newPlot``. Plotly's own notebook outputs are converted to the
same form. Nothing else of the notebook reaches the page: markdown and raw cells, prints, tables and
script outputs stay in the executed notebook (the evidence) but not in the report.

Examples
--------
>>> block = report_block("lessons", {"items": ["Add a freshness check to the feature pipeline."]})
>>> sorted(block._repr_mimebundle_())
['application/vnd.workbench.report-block+json', 'text/plain']
"""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

import jinja2
import nbformat
import plotly.io as pio
import plotly.offline
from markupsafe import Markup
from nbconvert.exporters import HTMLExporter
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, ValidationInfo

from register.blameless import BlamelessFlag, BlamelessRules, check_blameless
from register.redact import DEFAULT_REDACTION_RULES, RedactionRule, redact
from workbench.errors import WorkbenchError
from workbench.resources import templates_dir
from workbench.sections import SECTIONS, OutlineEntry, Section, report_outline

__all__ = [
    "BLOCK_MIMETYPE",
    "BlamelessFlagsError",
    "DEFAULT_TEMPLATES_DIR",
    "PART_MODELS",
    "PLOTLY_MIMETYPE",
    "ChromiumNotFound",
    "RenderedReport",
    "ReportBlock",
    "ReportContent",
    "collect_report",
    "find_chromium",
    "figure_payload",
    "render_html",
    "render_markdown",
    "render_pdf",
    "redact_uri",
    "render_report",
    "report_block",
]

BLOCK_MIMETYPE = "application/vnd.workbench.report-block+json"
PLOTLY_MIMETYPE = "application/vnd.plotly.v1+json"
DEFAULT_TEMPLATES_DIR = templates_dir()
CHROMIUM_FLAGS: tuple[str, ...] = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
"""Flags for headless Chromium: without the background-networking ones it keeps reaching the network."""

_TRUSTED = "workbench_trusted"
_FIGURE_ID = re.compile(r"[^A-Za-z0-9_-]+")


class BlamelessFlagsError(WorkbenchError):
    """``--strict`` render of a report whose narrative holds blame phrasing; ``flags`` lists them."""

    def __init__(self, message: str, flags: Sequence[BlamelessFlag]) -> None:
        super().__init__(message)
        self.flags = list(flags)
        self.failures = [
            {"field": flag.field, "phrase": flag.phrase, "reason": flag.reason, "suggestion": flag.suggestion}
            for flag in self.flags
        ]


class ChromiumNotFound(WorkbenchError):
    """No headless Chromium to print the PDF with."""


# --------------------------------------------------------------------------------------------------
# Free text: redacted, and checked for blame phrasing, on its way into the report
# --------------------------------------------------------------------------------------------------


def _redacted(value: str | None, info: ValidationInfo) -> str | None:
    if value is None:
        return None
    context = info.context or {}
    result = redact(value, context.get("redaction_rules", DEFAULT_REDACTION_RULES))
    counts = context.get("redaction_counts")
    if counts is not None:
        for name, count in result.counts.items():
            counts[name] = counts.get(name, 0) + count
    return result.text


def _narrative(value: str | None, info: ValidationInfo) -> str | None:
    text = _redacted(value, info)
    context = info.context or {}
    flags = context.get("flags")
    if text is not None and flags is not None:
        where = f"{context.get('block', '?')}.{info.field_name}"
        flags.extend(check_blameless(text, field=where, rules=context.get("blameless_rules")))
    return text


_GENERIC_TOKEN_RULES = frozenset({"hex_token", "base64_token"})


def redact_uri(uri: str | None, rules: Sequence[RedactionRule] = DEFAULT_REDACTION_RULES) -> str | None:
    """Redact an artefact URI: its query string goes, and the non-generic rules apply.

    Run folders and file hashes look like random tokens to the generic token rules, so those are not
    applied to URIs; the secrets of signed URLs live in the query string, which is dropped.

    Examples
    --------
    >>> redact_uri("reports/INC-2026-0001/20261123T163605125Z-a39cd2/impact/impact.ipynb")
    'reports/INC-2026-0001/20261123T163605125Z-a39cd2/impact/impact.ipynb'
    >>> redact_uri("https://bucket.example/x.parquet?X-Amz-Signature=abc123&X-Amz-Credential=AKIA")
    'https://bucket.example/x.parquet?[redacted query]'
    """
    if uri is None:
        return None
    base, separator, _ = uri.partition("?")
    kept = [rule for rule in rules if rule.name not in _GENERIC_TOKEN_RULES]
    text = redact(base, kept).text or ""
    return text + ("?[redacted query]" if separator else "")


def _redacted_uri(value: str | None, info: ValidationInfo) -> str | None:
    context = info.context or {}
    return redact_uri(value, context.get("redaction_rules", DEFAULT_REDACTION_RULES))


RedactedText = Annotated[str, AfterValidator(_redacted)]
"""Register text that is redacted (names, references): emails, phones, cards and keys removed."""
NarrativeText = Annotated[str, AfterValidator(_narrative)]
"""Narrative register text: redacted and checked for blame phrasing (flags go to the review box)."""


class _Block(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)


class SummaryBlock(_Block):
    """``summary``: what happened, in brief."""

    incident_id: str
    title: NarrativeText
    summary: NarrativeText | None = None
    system: RedactedText | None = None
    category: str | None = None
    kind: str | None = None
    severity: str
    status: str | None = None
    occurred_at: datetime | None = None
    aware_at: datetime | None = None
    contained_at: datetime | None = None
    resolved_at: datetime | None = None
    affected_count: int | None = Field(default=None, ge=0)
    ongoing: bool | None = None
    postmortem_status: str | None = None
    facilitator: RedactedText | None = None
    run_id: str | None = None
    as_of: datetime | None = None


class SeverityBlock(_Block):
    """``severity``: the level and what the policy requires for it."""

    severity: str
    label: str | None = None
    response_sla: str | None = None
    team: list[RedactedText] = Field(default_factory=list)
    communication: RedactedText | None = None
    postmortem_requirement: RedactedText | None = None
    postmortem_deadline: datetime | None = None
    rationale: RedactedText | None = None


class TimelineEntry(_Block):
    """One row of the timeline; ``source`` says whether the register or an analysis contributed it."""

    at: datetime
    kind: str
    description: NarrativeText
    role: str | None = None
    source: Literal["register", "analysis"] = "register"


class TimelineBlock(_Block):
    """``timeline``: register events plus the onset the analysis saw, and the detection delay."""

    events: list[TimelineEntry] = Field(default_factory=list)
    drift_onset: datetime | None = None
    occurred_at: datetime | None = None
    aware_at: datetime | None = None
    detection_delay_hours: float | None = None
    detection_delay_basis: str | None = Field(default=None, description="e.g. 'drift onset to awareness'")


class EvidenceItem(_Block):
    """An artefact kept as evidence."""

    kind: str
    uri: Annotated[str, AfterValidator(_redacted_uri)]
    sha256: str | None = None
    run_id: str | None = None
    captured_at: datetime | None = None


class RootCauseBlock(_Block):
    """``root_cause``: root cause and contributing factors as recorded in the register, with evidence."""

    root_cause_category: str | None = None
    trigger: NarrativeText | None = None
    contributing_factors: list[NarrativeText] = Field(default_factory=list)
    resolution: NarrativeText | None = None
    evidence: list[EvidenceItem] = Field(default_factory=list)


class ResponseRow(_Block):
    """One response milestone against the severity's SLA (hours; ``margin_hours`` > 0 means within)."""

    milestone: str
    target: str | None = None
    target_hours: float | None = None
    actual_hours: float | None = None
    met: bool | None = None
    margin_hours: float | None = None


class ResponseBlock(_Block):
    """``response``: detect / acknowledge / contain / resolve against the policy."""

    severity: str | None = None
    rows: list[ResponseRow] = Field(default_factory=list)
    note: NarrativeText | None = None


class NotificationRow(_Block):
    """A notification made or due under a regime."""

    regime: str | None = None
    audience: str
    report_type: str | None = None
    due_at: datetime | None = None
    sent_at: datetime | None = None
    status: str
    reference: RedactedText | None = None


class NotificationsBlock(_Block):
    """``notifications``: per regime, made and due."""

    rows: list[NotificationRow] = Field(default_factory=list)


class LessonsBlock(_Block):
    """``lessons``: lessons learned."""

    items: list[NarrativeText] = Field(default_factory=list)


class ActionRow(_Block):
    """An action item with its owner, due date and status."""

    id: str | None = None
    title: NarrativeText
    owner: RedactedText | None = None
    team: RedactedText | None = None
    kind: str | None = None
    priority: str | None = None
    due_at: datetime | None = None
    status: str | None = None


class ActionsBlock(_Block):
    """``actions``: action items."""

    items: list[ActionRow] = Field(default_factory=list)


class SignoffRow(_Block):
    """A role that signs the post-mortem off."""

    role: str
    name: RedactedText | None = None
    signed_at: datetime | None = None


class SignoffBlock(_Block):
    """``signoff``: who must sign per the severity's requirement."""

    requirement: RedactedText | None = None
    rows: list[SignoffRow] = Field(default_factory=list)


class FlagRow(_Block):
    """A blameless-language flag shown to the facilitator."""

    field: str | None = None
    phrase: RedactedText
    reason: str
    suggestion: str
    rule: str | None = None


class BlamelessReviewBlock(_Block):
    """``blameless_review``: flags of the blameless check (the renderer adds those it finds itself)."""

    flags: list[FlagRow] = Field(default_factory=list)
    checked_fields: list[str] = Field(default_factory=list)


PART_MODELS: dict[str, type[_Block]] = {
    "summary": SummaryBlock,
    "severity": SeverityBlock,
    "timeline": TimelineBlock,
    "root_cause": RootCauseBlock,
    "response": ResponseBlock,
    "notifications": NotificationsBlock,
    "lessons": LessonsBlock,
    "actions": ActionsBlock,
    "signoff": SignoffBlock,
    "blameless_review": BlamelessReviewBlock,
}
"""Data model of each fixed report part (the keys its template reads)."""


# --------------------------------------------------------------------------------------------------
# Helpers for the post-mortem notebook
# --------------------------------------------------------------------------------------------------


def figure_payload(figure: Any, *, id: str, title: str | None = None) -> dict[str, Any]:  # noqa: A002
    """A figure for a report block: plotly JSON plus an id and a title.

    Parameters
    ----------
    figure : plotly Figure, dict, str or Path
        A figure object, its JSON dict, its JSON text, or a ``figures/<id>.json`` file a section wrote.
    id : str
        The figure id (for section blocks, one the section promises).
    title : str or None
        Caption shown under the figure.

    Returns
    -------
    dict
        ``{"id", "title", "figure"}`` with the figure as JSON-compatible data.

    Examples
    --------
    >>> payload = figure_payload({"data": [{"type": "bar", "y": [1, 2]}]}, id="demo", title="Demo")
    >>> payload["figure"]["data"][0]["type"]
    'bar'
    """
    if isinstance(figure, Path) or (isinstance(figure, str) and not figure.lstrip().startswith("{")):
        figure = Path(figure).read_text(encoding="utf-8")
    if isinstance(figure, str):
        data = json.loads(figure)
    elif isinstance(figure, Mapping):
        data = json.loads(json.dumps(figure, default=str))
    elif hasattr(figure, "to_plotly_json"):
        data = json.loads(pio.to_json(figure, validate=False))
    else:
        raise WorkbenchError(
            "figure must be a plotly figure, a dict, JSON text or a path. "
            f"Got {type(figure).__name__} instead."
        )
    if not isinstance(data, dict):
        raise WorkbenchError(f"figure must be plotly JSON (an object). Got {type(data).__name__} instead.")
    if not isinstance(data.get("data", []), list):
        raise WorkbenchError(
            "figure must be plotly JSON with a 'data' list. "
            f"Got 'data' as {type(data['data']).__name__} instead."
        )
    return {"id": str(id), "title": title, "figure": data}


@dataclass(frozen=True)
class ReportBlock:
    """A report block as displayed by the post-mortem notebook (see :func:`report_block`)."""

    key: str
    data: Mapping[str, Any] | None
    figures: tuple[dict[str, Any], ...] = ()
    unavailable: str | None = None

    def payload(self) -> dict[str, Any]:
        """The JSON payload stored in the notebook output."""
        return {
            "key": self.key,
            "data": json.loads(json.dumps(self.data, default=_json_default))
            if self.data is not None
            else None,
            "figures": list(self.figures),
            "unavailable": self.unavailable,
        }

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        state = f"unavailable: {self.unavailable}" if self.unavailable else f"{len(self.figures)} figure(s)"
        return {BLOCK_MIMETYPE: self.payload(), "text/plain": f"[report block {self.key}: {state}]"}


def report_block(
    key: str,
    data: Mapping[str, Any] | BaseModel | None,
    *,
    figures: Iterable[Mapping[str, Any]] = (),
    unavailable: str | None = None,
) -> ReportBlock:
    """Make a report block for the post-mortem notebook to display.

    Parameters
    ----------
    key : str
        A key of :func:`workbench.sections.report_outline` (a fixed part or a section).
    data : mapping, pydantic model or None
        The block's data: a section's ``summary.json``, or the fields of the part's model in
        :data:`PART_MODELS`. ``None`` only together with ``unavailable``.
    figures : iterable of dict
        Figures from :func:`figure_payload`; a section block carries exactly the figures it promises.
    unavailable : str or None
        Why the part could not be produced (e.g. a section that did not run); shown in its place.

    Returns
    -------
    ReportBlock
        Display it (last expression of a cell, or ``IPython.display.display``).

    Examples
    --------
    >>> report_block("drift", None, unavailable="the system has no data card").payload()["unavailable"]
    'the system has no data card'
    """
    if isinstance(data, BaseModel):
        data = data.model_dump(mode="json")
    if data is None and unavailable is None:
        raise WorkbenchError(
            f"report block {key!r} must have data or say why it is unavailable. Got neither."
        )
    return ReportBlock(
        key=key, data=data, figures=tuple(dict(figure) for figure in figures), unavailable=unavailable
    )


# --------------------------------------------------------------------------------------------------
# Collecting and validating the blocks of an executed notebook
# --------------------------------------------------------------------------------------------------


@dataclass
class _Figure:
    anchor: str
    id: str
    title: str | None
    figure: dict[str, Any]


@dataclass
class _Placed:
    entry: OutlineEntry
    data: dict[str, Any] | None
    figures: list[_Figure]
    unavailable: str | None


@dataclass
class ReportContent:
    """What the notebook's blocks hold after validation, redaction and the blameless check."""

    outline: tuple[OutlineEntry, ...]
    blocks: dict[str, _Placed]
    loose_figures: list[_Figure]
    flags: list[BlamelessFlag]
    redaction_counts: dict[str, int]
    title: str

    @property
    def figure_count(self) -> int:
        """Figures in the report (in blocks and standalone)."""
        return sum(len(block.figures) for block in self.blocks.values()) + len(self.loose_figures)


@dataclass(frozen=True)
class RenderedReport:
    """A rendered report file and what it holds."""

    path: Path
    format: Literal["html", "markdown", "pdf"]
    figure_ids: tuple[str, ...] = ()
    block_keys: tuple[str, ...] = ()
    flags: tuple[BlamelessFlag, ...] = field(default_factory=tuple)


def collect_report(
    notebook: str | Path | nbformat.NotebookNode,
    *,
    sections: Sequence[Section] | None = None,
    redaction_rules: Sequence[RedactionRule] | None = None,
    blameless_rules: BlamelessRules | None = None,
    require_complete: bool = True,
) -> tuple[ReportContent, nbformat.NotebookNode]:
    """Read the report blocks of an executed post-mortem notebook and validate them.

    Parameters
    ----------
    notebook : path or NotebookNode
        The executed notebook.
    sections : sequence of Section or None
        The analysis sections of the outline (default :data:`~workbench.sections.SECTIONS`).
    redaction_rules : sequence of RedactionRule or None
        The policy's redaction rules (default :data:`~register.redact.DEFAULT_REDACTION_RULES`).
    blameless_rules : BlamelessRules or None
        The blameless phrase list (default: the packaged one).
    require_complete : bool
        Whether every outline entry must have a block.

    Returns
    -------
    (ReportContent, NotebookNode)
        The validated content, and a copy of the notebook whose block and figure outputs are replaced
        by trusted HTML, ready for nbconvert.

    Raises
    ------
    WorkbenchError
        Unknown, duplicated, misplaced or missing blocks; block data that does not match its model;
        section blocks without their promised figures.
    """
    node = _read_notebook(notebook)
    outline = report_outline(tuple(sections) if sections is not None else SECTIONS)
    by_key = {entry.key: entry for entry in outline}
    section_by_key = {section.key: section for section in (sections if sections is not None else SECTIONS)}
    context: dict[str, Any] = {
        "redaction_rules": tuple(redaction_rules) if redaction_rules is not None else DEFAULT_REDACTION_RULES,
        "redaction_counts": {},
        "flags": [],
        "blameless_rules": blameless_rules,
    }
    blocks: dict[str, _Placed] = {}
    loose: list[_Figure] = []
    order: list[str] = []
    problems: list[dict[str, object]] = []
    figure_counter = 0

    for cell in node.cells:
        if cell.get("cell_type") != "code":
            continue
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if BLOCK_MIMETYPE in data:
                payload = data[BLOCK_MIMETYPE]
                key = payload.get("key") if isinstance(payload, Mapping) else None
                if key not in by_key:
                    known = ", ".join(by_key)
                    raise WorkbenchError(f"report block key must be one of {known}. Got {key!r} instead.")
                if key in blocks:
                    raise WorkbenchError(f"report block {key!r} must appear once. Got it twice instead.")
                figures = []
                for figure in payload.get("figures") or []:
                    figure_counter += 1
                    figures.append(_make_figure(figure, figure_counter))
                placed = _validate_block(by_key[key], payload, figures, section_by_key, context, problems)
                blocks[key] = placed
                order.append(key)
                output["__workbench_block__"] = key
            elif PLOTLY_MIMETYPE in data:
                figure_counter += 1
                figure = _make_figure({"id": "figure", "figure": data[PLOTLY_MIMETYPE]}, figure_counter)
                loose.append(figure)
                output["__workbench_figure__"] = figure

    if problems:
        listed = "; ".join(f"{row['block']}.{row['location']}: {row['problem']}" for row in problems[:6])
        error = WorkbenchError(f"report blocks do not match their schema: {listed}")
        error.failures = problems  # type: ignore[attr-defined]
        raise error
    expected_order = [entry.key for entry in outline if entry.key in blocks]
    if order != expected_order:
        raise WorkbenchError(
            f"report blocks must follow the report outline ({', '.join(expected_order)}). "
            f"Got {', '.join(order)} instead."
        )
    missing = [entry.key for entry in outline if entry.key not in blocks]
    if require_complete and missing:
        raise WorkbenchError(
            f"the post-mortem notebook must display a report block for every part of the outline. "
            f"Got none for {', '.join(missing)}."
        )

    flags = _merge_flags(blocks, context["flags"])
    summary = blocks.get("summary")
    title = "Post-incident review"
    if summary is not None and summary.data is not None:
        title = f"Post-incident review {summary.data['incident_id']}: {summary.data['title']}"
    content = ReportContent(
        outline=outline,
        blocks=blocks,
        loose_figures=loose,
        flags=flags,
        redaction_counts=context["redaction_counts"],
        title=title,
    )
    return content, node


def _read_notebook(notebook: str | Path | nbformat.NotebookNode) -> nbformat.NotebookNode:
    if isinstance(notebook, nbformat.NotebookNode):
        return copy.deepcopy(notebook)
    path = Path(notebook)
    if not path.is_file():
        raise WorkbenchError(f"notebook must be an existing executed .ipynb file. Got {path} instead.")
    try:
        return nbformat.read(str(path), as_version=4)
    except Exception as exc:
        raise WorkbenchError(f"notebook {path} could not be read: {exc}") from exc


def _make_figure(payload: Mapping[str, Any], number: int) -> _Figure:
    figure = payload.get("figure")
    if not isinstance(figure, Mapping):
        raise WorkbenchError(
            f"figure {payload.get('id')!r} must hold plotly JSON. Got {type(figure).__name__}."
        )
    figure_id = str(payload.get("id") or "figure")
    anchor = f"fig-{number}-{_FIGURE_ID.sub('-', figure_id)[:60]}"
    title = payload.get("title")
    return _Figure(
        anchor=anchor, id=figure_id, title=str(title) if title is not None else None, figure=dict(figure)
    )


def _validate_block(
    entry: OutlineEntry,
    payload: Mapping[str, Any],
    figures: list[_Figure],
    sections: Mapping[str, Section],
    context: dict[str, Any],
    problems: list[dict[str, object]],
) -> _Placed:
    unavailable = payload.get("unavailable")
    raw = payload.get("data")
    if raw is None:
        if not unavailable:
            problems.append({"block": entry.key, "location": "data", "problem": "no data and no reason"})
        return _Placed(entry=entry, data=None, figures=figures, unavailable=str(unavailable or "no data"))
    block_context = {**context, "block": entry.key}
    if entry.kind == "section":
        section = sections[entry.key]
        try:
            model = section.summary_model.model_validate(raw, context=block_context)
        except ValidationError as exc:
            problems.extend(_failures(entry.key, exc))
            return _Placed(entry=entry, data=None, figures=figures, unavailable=None)
        promised = set(section.figure_ids)
        got = {figure.id for figure in figures}
        if got != promised and not unavailable:
            problems.append(
                {
                    "block": entry.key,
                    "location": "figures",
                    "problem": f"must be exactly {sorted(promised)}, got {sorted(got)}",
                }
            )
        data = _as_python(model)
    else:
        try:
            model = PART_MODELS[entry.key].model_validate(raw, context=block_context)
        except ValidationError as exc:
            problems.extend(_failures(entry.key, exc))
            return _Placed(entry=entry, data=None, figures=figures, unavailable=None)
        data = _as_python(model)
    return _Placed(
        entry=entry, data=data, figures=figures, unavailable=str(unavailable) if unavailable else None
    )


def _as_python(model: BaseModel) -> dict[str, Any]:
    data = model.model_dump(mode="python")
    return data


def _failures(key: str, exc: ValidationError) -> list[dict[str, object]]:
    return [
        {
            "block": key,
            "location": ".".join(str(part) for part in error["loc"]) or "(root)",
            "problem": error["msg"],
        }
        for error in exc.errors()
    ]


def _merge_flags(blocks: Mapping[str, _Placed], found: list[BlamelessFlag]) -> list[BlamelessFlag]:
    merged: list[BlamelessFlag] = []
    seen: set[tuple[str | None, str]] = set()
    review = blocks.get("blameless_review")
    given = list(review.data["flags"]) if review is not None and review.data is not None else []
    for row in given:
        flag = BlamelessFlag(
            field=row.get("field"),
            phrase=row["phrase"],
            start=0,
            end=len(row["phrase"]),
            reason=row["reason"],
            suggestion=row["suggestion"],
            rule=row.get("rule") or "",
        )
        merged.append(flag)
        seen.add((flag.rule, flag.phrase.lower()))
    for flag in found:
        if (flag.rule, flag.phrase.lower()) in seen:
            continue
        seen.add((flag.rule, flag.phrase.lower()))
        merged.append(flag)
    return merged


# --------------------------------------------------------------------------------------------------
# Jinja environments for the blocks (HTML autoescaped; Markdown escaped through `finalize`)
# --------------------------------------------------------------------------------------------------


def _fmt_dt(value: Any) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
    if isinstance(value, datetime):
        value = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
        return value.strftime("%Y-%m-%d %H:%M UTC")
    return str(value)


def _fmt_num(value: Any, digits: int = 3) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if value != value:  # NaN
            return "—"
        if value == int(value) and abs(value) >= 1000:
            return f"{int(value):,}"
        return f"{value:.{digits}g}" if abs(value) < 1000 else f"{value:,.0f}"
    return str(value)


def _fmt_pct(value: Any, digits: int = 1) -> str:
    if value is None:
        return "—"
    return f"{100 * float(value):.{digits}f} %"


def _fmt_hours(value: Any) -> str:
    if value is None:
        return "—"
    minutes = round(abs(float(value)) * 60)
    sign = "-" if float(value) < 0 else ""
    if minutes < 60:
        return f"{sign}{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{sign}{hours} h {minutes:02d} min" if minutes else f"{sign}{hours} h"
    days, hours = divmod(hours, 24)
    return f"{sign}{days} d {hours} h"


def _fmt_interval(value: Any, kind: Literal["num", "pct"] = "num") -> str:
    if not value:
        return "—"
    fmt = _fmt_pct if kind == "pct" else _fmt_num
    estimate = fmt(value.get("estimate"))
    if value.get("low") is None or value.get("high") is None:
        return estimate
    level = round(100 * float(value.get("level", 0.95)))
    return f"{estimate} ({level} % interval {fmt(value['low'])} to {fmt(value['high'])})"


def _script_json(value: Any) -> Markup:
    """JSON safe inside ``<script type="application/json">``: no ``<``, ``>``, ``&`` or line separators."""
    text = json.dumps(value, separators=(",", ":"), default=_json_default, allow_nan=False)
    text = (
        text.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )
    return Markup(text)  # noqa: S704 - escaped above for the script-data context


_MD_INLINE = re.compile(r"([\\`*_{}\[\]()!|~])")
_MD_SCHEME = re.compile(r"(?i)\b(https?|ftp|mailto|javascript|vbscript|data|file):")
_MD_WWW = re.compile(r"(?i)\b(www)\.")
_MD_LINE_START = re.compile(r"^(\s*)([#=+\-]|\d+[.)])(?=\s|$)")


def _md_escape(value: Any) -> str:
    r"""Escape text for Markdown.

    HTML characters become entities, inline metacharacters (emphasis, code, links, images, tables,
    braces of wiki template engines) are backslash-escaped, URL schemes and ``www.`` are broken with an
    entity so nothing is autolinked, a leading heading/list marker is escaped, and line breaks become
    spaces so a value stays inside its paragraph or table cell.

    Examples
    --------
    >>> _md_escape("[click](javascript:alert(1)) <b>{{ x }}</b>")
    '\\[click\\]\\(javascript&#58;alert\\(1\\)\\) &lt;b&gt;\\{\\{ x \\}\\}&lt;/b&gt;'
    """
    if value is None:
        return ""
    if isinstance(value, Markup):
        return str(value)
    text = str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _MD_INLINE.sub(r"\\\1", text)
    # no autolinks either: "http://..." and "www." in register text stay text in GFM-style renderers
    text = _MD_SCHEME.sub(r"\1&#58;", text)
    text = _MD_WWW.sub(r"\1&#46;", text)
    text = re.sub(r"\s*\n\s*", " ", text)
    return _MD_LINE_START.sub(lambda match: match.group(1) + "\\" + match.group(2), text)


def _md_finalize(value: Any) -> Any:
    if isinstance(value, Markup):
        return str(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return _md_escape(_fmt_num(value))
    return _md_escape(value)


def _add_filters(env: jinja2.Environment) -> jinja2.Environment:
    env.filters.update(
        fmt_dt=_fmt_dt,
        fmt_num=_fmt_num,
        fmt_pct=_fmt_pct,
        fmt_hours=_fmt_hours,
        fmt_interval=_fmt_interval,
        script_json=_script_json,
    )
    return env


@lru_cache(maxsize=8)
def _html_env(templates_dir: str) -> jinja2.Environment:
    return _add_filters(
        jinja2.Environment(
            loader=jinja2.FileSystemLoader(templates_dir),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
    )


@lru_cache(maxsize=8)
def _markdown_env(templates_dir: str) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(templates_dir),
        autoescape=False,
        finalize=_md_finalize,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    _add_filters(env)
    # in Markdown, formatted values are escaped by `finalize` too (they are plain str)
    env.filters["md"] = lambda value: Markup(_md_escape(value))  # noqa: S704 - escaped for Markdown
    return env


def _templates_dir(templates_dir: str | Path | None) -> Path:
    path = Path(templates_dir) if templates_dir is not None else DEFAULT_TEMPLATES_DIR
    if not (path / "postmortem" / "index.html.j2").is_file():
        raise WorkbenchError(f"templates_dir must hold postmortem/index.html.j2. Got {path} instead.")
    return path


def _render_block_html(env: jinja2.Environment, placed: _Placed, min_cell_size: int | None) -> str:
    template = env.get_template(placed.entry.html_block)
    return template.render(
        entry=placed.entry,
        data=placed.data,
        figures=placed.figures,
        unavailable=placed.unavailable,
        min_cell_size=min_cell_size,
    )


def _render_figure_html(env: jinja2.Environment, figure: _Figure) -> str:
    return env.get_template("figure.html.j2").render(figure=figure)


# --------------------------------------------------------------------------------------------------
# HTML
# --------------------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _plotly_js() -> str:
    script = plotly.offline.get_plotlyjs()
    return script.replace("</script", "<\\/script").replace("<!--", "<\\!--")


def render_html(
    notebook: str | Path | nbformat.NotebookNode,
    output_path: str | Path,
    *,
    templates_dir: str | Path | None = None,
    sections: Sequence[Section] | None = None,
    redaction_rules: Sequence[RedactionRule] | None = None,
    blameless_rules: BlamelessRules | None = None,
    require_complete: bool = True,
    strict: bool = False,
    min_cell_size: int | None = None,
) -> RenderedReport:
    """Render an executed post-mortem notebook to a self-contained HTML report.

    Parameters
    ----------
    notebook : path or NotebookNode
        The executed ``postmortem.ipynb``.
    output_path : str or Path
        Where to write the HTML file.
    templates_dir : str or Path or None
        The ``report_templates`` folder (default: the repository's).
    sections : sequence of Section or None
        Analysis sections of the outline (default: all declared).
    redaction_rules, blameless_rules
        The policy's redaction rules and the blameless phrase list (defaults: the packaged ones).
    require_complete : bool
        Whether every part of the outline must have a block.
    strict : bool
        Raise :class:`BlamelessFlagsError` when the blameless check flags anything.
    min_cell_size : int or None
        Groups with fewer decisions are shown as suppressed even if the data did not mark them
        (default: the ``min_cell_size`` the impact summary states).

    Returns
    -------
    RenderedReport
    """
    content, node = collect_report(
        notebook,
        sections=sections,
        redaction_rules=redaction_rules,
        blameless_rules=blameless_rules,
        require_complete=require_complete,
    )
    if strict:
        _refuse_flags(content)
    root = _templates_dir(templates_dir)
    env = _html_env(str(root))
    _replace_outputs_with_html(node, content, env, min_cell_size)
    exporter = HTMLExporter(
        template_name="postmortem",
        extra_template_basedirs=[str(root)],
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
    )
    css = (root / "postmortem" / "report.css").read_text(encoding="utf-8")
    present = [entry for entry in content.outline if entry.key in content.blocks]
    resources = {
        "metadata": {"name": content.title},
        "workbench": {
            "title": content.title,
            "outline": present,
            "css": css,
            "plotly_js": _plotly_js(),
            "generated_at": _fmt_dt(datetime.now(UTC)),
            "n_figures": content.figure_count,
        },
    }
    body, _ = exporter.from_notebook_node(node, resources=resources)
    path = Path(output_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(body, encoding="utf-8")
    figure_ids = tuple(
        [figure.anchor for block in content.blocks.values() for figure in block.figures]
        + [figure.anchor for figure in content.loose_figures]
    )
    return RenderedReport(
        path=path,
        format="html",
        figure_ids=figure_ids,
        block_keys=tuple(content.blocks),
        flags=tuple(content.flags),
    )


def _refuse_flags(content: ReportContent) -> None:
    """Raise :class:`BlamelessFlagsError` when the blameless check flagged the narrative (``--strict``)."""
    if content.flags:
        raise BlamelessFlagsError(
            f"the report's narrative holds {len(content.flags)} blame phrasing flag(s); reword them "
            f"(suggestions listed) or render without --strict to see them in the review box.",
            content.flags,
        )


def _impact_min_cell_size(content: ReportContent, min_cell_size: int | None) -> int | None:
    if min_cell_size is not None:
        return min_cell_size
    impact = content.blocks.get("impact")
    if impact is not None and impact.data is not None:
        return impact.data.get("min_cell_size")
    return None


def _replace_outputs_with_html(
    node: nbformat.NotebookNode, content: ReportContent, env: jinja2.Environment, min_cell_size: int | None
) -> None:
    """Keep only report blocks and figures, as trusted HTML; drop every other cell and output.

    The executed notebook keeps everything (it is the evidence); the report shows what the blocks and
    figures say. Markdown and raw cells, prints, tables and script outputs of the notebook never reach
    the page, so nothing but autoescaped block templates produces its HTML.
    """
    cell_size = _impact_min_cell_size(content, min_cell_size)
    kept_cells = []
    for cell in node.cells:
        if cell.get("cell_type") != "code":
            continue
        kept = []
        for output in cell.get("outputs", []):
            key = output.pop("__workbench_block__", None)
            figure = output.pop("__workbench_figure__", None)
            if key is not None:
                placed = _with_review_flags(content.blocks[key], content)
                kept.append(_trusted_output(_render_block_html(env, placed, cell_size)))
            elif figure is not None:
                kept.append(_trusted_output(_render_figure_html(env, figure)))
        if kept:
            cell["outputs"] = kept
            cell["source"] = ""
            kept_cells.append(cell)
    node.cells = kept_cells


def _with_review_flags(placed: _Placed, content: ReportContent) -> _Placed:
    """The blameless review block carries the report's flags; every other block is returned as is."""
    if placed.entry.key != "blameless_review" or placed.data is None:
        return placed
    data = dict(placed.data)
    data["flags"] = [flag.model_dump() for flag in content.flags]
    return _Placed(placed.entry, data, placed.figures, placed.unavailable)


def _trusted_output(html: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_output("display_data", data={"text/html": html}, metadata={_TRUSTED: True})


# --------------------------------------------------------------------------------------------------
# Markdown
# --------------------------------------------------------------------------------------------------


def render_markdown(
    notebook: str | Path | nbformat.NotebookNode,
    output_path: str | Path,
    *,
    html_name: str | None = "postmortem.html",
    templates_dir: str | Path | None = None,
    sections: Sequence[Section] | None = None,
    redaction_rules: Sequence[RedactionRule] | None = None,
    blameless_rules: BlamelessRules | None = None,
    require_complete: bool = True,
    strict: bool = False,
    min_cell_size: int | None = None,
) -> RenderedReport:
    """Render the post-mortem as Markdown (for wikis and tickets) with ``report_templates/postmortem.md.j2``.

    Register text is escaped for Markdown (metacharacters backslash-escaped, ``<``/``>``/``&`` as
    entities, braces escaped so wiki template engines see no ``{{ }}``). Figures appear as their title
    and a link to the HTML report (no static image engine is installed offline).

    Parameters
    ----------
    notebook, templates_dir, sections, redaction_rules, blameless_rules, require_complete, strict,
    min_cell_size
        As in :func:`render_html`.
    output_path : str or Path
        Where to write the Markdown file.
    html_name : str or None
        Relative link to the HTML report for the figures (``None``: no link).

    Returns
    -------
    RenderedReport
    """
    content, _ = collect_report(
        notebook,
        sections=sections,
        redaction_rules=redaction_rules,
        blameless_rules=blameless_rules,
        require_complete=require_complete,
    )
    if strict:
        _refuse_flags(content)
    root = _templates_dir(templates_dir)
    env = _markdown_env(str(root))
    blocks = []
    for entry in content.outline:
        placed = content.blocks.get(entry.key)
        if placed is None:
            continue
        blocks.append(_with_review_flags(placed, content))
    text = env.get_template("postmortem.md.j2").render(
        title=content.title,
        outline=[block.entry for block in blocks],
        blocks=blocks,
        loose_figures=content.loose_figures,
        html_name=html_name,
        generated_at=_fmt_dt(datetime.now(UTC)),
        min_cell_size=_impact_min_cell_size(content, min_cell_size),
    )
    path = Path(output_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return RenderedReport(
        path=path, format="markdown", block_keys=tuple(content.blocks), flags=tuple(content.flags)
    )


# --------------------------------------------------------------------------------------------------
# PDF
# --------------------------------------------------------------------------------------------------


def find_chromium(
    candidates: Sequence[str] = ("/usr/bin/chromium", "chromium", "chromium-browser"),
) -> str | None:
    """Path of a Chromium executable, or ``None``.

    Examples
    --------
    >>> find_chromium(["/surely/not/here/chromium"]) is None
    True
    """
    for candidate in candidates:
        found = (
            candidate
            if os.path.isabs(candidate) and os.access(candidate, os.X_OK)
            else shutil.which(candidate)
        )
        if found:
            return found
    return None


def render_pdf(
    html_path: str | Path,
    output_path: str | Path,
    *,
    chromium: str | None = None,
    timeout_s: float = 120.0,
    virtual_time_budget_ms: int = 15000,
) -> RenderedReport:
    """Print the HTML report to PDF with headless Chromium.

    Parameters
    ----------
    html_path : str or Path
        The rendered HTML report.
    output_path : str or Path
        Where to write the PDF.
    chromium : str or None
        The Chromium executable (default: :func:`find_chromium`).
    timeout_s : float
        Seconds Chromium may take.
    virtual_time_budget_ms : int
        Virtual time Chromium gives scripts (plotly drawing) before printing.

    Returns
    -------
    RenderedReport

    Raises
    ------
    ChromiumNotFound
        No Chromium is installed; the message says how to install one.
    WorkbenchError
        Chromium failed or wrote no PDF.
    """
    executable = chromium or find_chromium()
    if executable is None:
        raise ChromiumNotFound(
            "PDF output needs headless Chromium, which is not installed. Install it with "
            "`apt-get install chromium` (Debian/Ubuntu), or render --format html,md."
        )
    source = Path(html_path).resolve()
    if not source.is_file():
        raise WorkbenchError(f"html_path must be an existing HTML report. Got {source} instead.")
    target = Path(output_path).resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="workbench-chromium-") as profile:
        command = [
            executable,
            *CHROMIUM_FLAGS,
            f"--user-data-dir={profile}",
            "--run-all-compositor-stages-before-draw",
            f"--virtual-time-budget={virtual_time_budget_ms}",
            "--no-pdf-header-footer",
            f"--print-to-pdf={target}",
            source.as_uri(),
        ]
        try:
            completed = subprocess.run(
                command, capture_output=True, text=True, timeout=timeout_s, check=False
            )
        except subprocess.TimeoutExpired as exc:
            raise WorkbenchError(f"Chromium did not print {source} within {timeout_s:.0f} s.") from exc
    if completed.returncode != 0 or not target.is_file() or target.stat().st_size == 0:
        tail = (completed.stderr or "").strip().splitlines()[-3:]
        raise WorkbenchError(f"Chromium could not print {source} to PDF: {' | '.join(tail) or 'no output'}")
    return RenderedReport(path=target, format="pdf")


def render_report(
    notebook: str | Path,
    output_dir: str | Path,
    *,
    formats: Sequence[Literal["html", "md", "pdf"]] = ("html", "md"),
    strict: bool = False,
    **options: Any,
) -> dict[str, RenderedReport]:
    """Render ``postmortem.html``/``.md``/``.pdf`` into ``output_dir`` (the run folder).

    Parameters
    ----------
    notebook : str or Path
        The executed post-mortem notebook.
    output_dir : str or Path
        Where the files go.
    formats : sequence of {"html", "md", "pdf"}
        Formats to write; ``pdf`` implies ``html``.
    strict : bool
        Refuse to render when the blameless check flags anything.
    **options
        Passed to :func:`render_html` and :func:`render_markdown`.

    Returns
    -------
    dict
        Format to :class:`RenderedReport`.
    """
    unknown = sorted(set(formats) - {"html", "md", "pdf"})
    if unknown:
        raise WorkbenchError(f"formats must be among html, md, pdf. Got {', '.join(unknown)} instead.")
    folder = Path(output_dir)
    rendered: dict[str, RenderedReport] = {}
    if "html" in formats or "pdf" in formats:
        rendered["html"] = render_html(notebook, folder / "postmortem.html", strict=strict, **options)
    if "md" in formats:
        rendered["md"] = render_markdown(notebook, folder / "postmortem.md", strict=strict, **options)
    if "pdf" in formats:
        rendered["pdf"] = render_pdf(rendered["html"].path, folder / "postmortem.pdf")
    return rendered


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "tolist"):
        return value.tolist()
    if hasattr(value, "item"):
        return value.item()
    return str(value)
