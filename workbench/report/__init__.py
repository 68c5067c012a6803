"""The blameless post-mortem, assembled in-process from the register and a run's section summaries.

How the report is put together
------------------------------
1. **Blocks** (:mod:`._blocks`): one raw block per part of the report (summary, severity, timeline,
   each analysis section, root cause, response, notifications, lessons, action items, sign-off,
   blameless review), structured data, never HTML. :func:`postmortem_blocks` builds them from the
   register, the policy and the run folder (:mod:`._assembly`; the timeline, with the events the
   sections contribute, in :mod:`._timeline`).
2. **Assembly** (:func:`assemble_report`): every block is validated once into its typed model (section
   blocks against their section's ``summary_model``); each free-text value is redacted once with the
   policy's rules and narrative text checked once for blame phrasing. The result, one
   :class:`ReportContent`, is what every format renders and what ``postmortem.json`` records.
3. **Formats**: HTML (nbconvert's ``HTMLExporter`` with ``report_templates/postmortem``, self-contained
   and offline: plotly.js embedded once, no CDN), Markdown (Jinja, escaped for Markdown), PDF (the HTML
   printed by headless Chromium). Block templates autoescape: register text never reaches the page
   unescaped, whatever it holds.

:func:`run_postmortem` does all of this for a run folder (what ``workbench postmortem`` calls).

Examples
--------
>>> content = assemble_report(
...     [report_block("lessons", {"items": ["Add a freshness check to the feature pipeline."]})],
...     require_complete=False,
... )
>>> list(content.blocks), content.flags
(['lessons'], ())
"""

from __future__ import annotations

from workbench.report._assembly import (
    breach_facts,
    postmortem_blocks,
    postmortem_content,
    report_path,
    report_sections,
    run_card,
    section_block,
)
from workbench.report._blocks import (
    PART_MODELS,
    BlamelessFlagsError,
    ReportBlock,
    figure_payload,
    redact_uri,
    report_block,
)
from workbench.report._content import (
    PlacedBlock,
    RenderedReport,
    ReportContent,
    ReportFigure,
    assemble_report,
)
from workbench.report._filters import DEFAULT_TEMPLATES_DIR
from workbench.report._html import render_html
from workbench.report._markdown import render_markdown
from workbench.report._pdf import CHROMIUM_FLAGS, ChromiumNotFound, find_chromium, render_pdf
from workbench.report._run import FORMATS, PostmortemRun, render_report, run_postmortem
from workbench.report._timeline import section_events, timeline_data

__all__ = [
    "CHROMIUM_FLAGS",
    "DEFAULT_TEMPLATES_DIR",
    "FORMATS",
    "PART_MODELS",
    "BlamelessFlagsError",
    "ChromiumNotFound",
    "PlacedBlock",
    "PostmortemRun",
    "RenderedReport",
    "ReportBlock",
    "ReportContent",
    "ReportFigure",
    "assemble_report",
    "breach_facts",
    "figure_payload",
    "find_chromium",
    "postmortem_blocks",
    "postmortem_content",
    "redact_uri",
    "render_html",
    "render_markdown",
    "render_pdf",
    "render_report",
    "report_block",
    "report_path",
    "report_sections",
    "run_card",
    "run_postmortem",
    "section_block",
    "section_events",
    "timeline_data",
]
