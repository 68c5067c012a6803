"""The HTML report: nbconvert's ``HTMLExporter``, ``report_templates/postmortem``, self-contained, offline.

The blocks are rendered to HTML by their autoescaping templates (``parts/<key>.html.j2``,
``sections/<key>.html.j2``) and put, as trusted outputs, into an in-memory notebook that holds nothing
else; ``report_templates/postmortem/index.html.j2`` extends nbconvert's ``lab`` template, empties the
blocks that would load require.js, MathJax, Mermaid and widgets from a CDN, embeds plotly.js (from the
installed plotly package) exactly once and draws each figure from its JSON payload.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path

import jinja2
import nbformat
import plotly.offline
from nbconvert.exporters import HTMLExporter

from workbench.report._content import PlacedBlock, RenderedReport, ReportContent
from workbench.report._filters import checked_templates_dir, fmt_dt, html_env

__all__ = ["plotly_js_once", "render_html", "report_notebook", "trusted_output"]

_TRUSTED = "workbench_trusted"


@lru_cache(maxsize=1)
def plotly_js_once() -> str:
    """The installed plotly.js, safe inside one ``<script>`` element (read once per process)."""
    script = plotly.offline.get_plotlyjs()
    return script.replace("</script", "<\\/script").replace("<!--", "<\\!--")


def render_html(
    content: ReportContent,
    output_path: str | Path,
    *,
    templates_dir: str | Path | None = None,
    strict: bool = False,
) -> RenderedReport:
    """Render the assembled post-mortem to a self-contained HTML report.

    Parameters
    ----------
    content : ReportContent
        The assembled post-mortem (:func:`~workbench.report.assemble_report`); rendered as is.
    output_path : str or Path
        Where to write the HTML file.
    templates_dir : str or Path or None
        The ``report_templates`` folder (default: the repository's).
    strict : bool
        Raise :class:`~workbench.report.BlamelessFlagsError` (and write nothing) when the blameless
        check flagged the narrative.

    Returns
    -------
    RenderedReport
    """
    if strict:
        content.refuse_flags()
    root = checked_templates_dir(templates_dir)
    node = report_notebook(content, html_env(str(root), content.section_templates))
    exporter = HTMLExporter(
        template_name="postmortem",
        extra_template_basedirs=[str(root)],
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
    )
    css = (root / "postmortem" / "report.css").read_text(encoding="utf-8")
    resources = {
        "metadata": {"name": content.title},
        "workbench": {
            "title": content.title,
            "outline": [block.entry for block in content.placed],
            "css": css,
            "plotly_js": plotly_js_once(),
            "generated_at": fmt_dt(datetime.now(UTC)),
            "n_figures": content.figure_count,
            "redaction_note": content.redaction_note,
        },
    }
    body, _ = exporter.from_notebook_node(node, resources=resources)
    path = Path(output_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(body, encoding="utf-8")
    return RenderedReport(
        path=path,
        format="html",
        figure_ids=content.figure_ids,
        block_keys=tuple(content.blocks),
        flags=content.flags,
    )


def report_notebook(content: ReportContent, env: jinja2.Environment) -> nbformat.NotebookNode:
    """An in-memory notebook with one cell per block, whose only output is the block's trusted HTML.

    Only the blocks' autoescaped templates produce the page's HTML: the notebook holds nothing else.
    """
    cells = []
    for number, block in enumerate(content.placed, start=1):
        cell = nbformat.v4.new_code_cell("", execution_count=number)
        cell.id = f"block-{block.entry.key}"
        cell.outputs = [trusted_output(_render_block(env, block, content.min_cell_size))]
        cells.append(cell)
    notebook = nbformat.v4.new_notebook(cells=cells)
    notebook.metadata = {
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python"},
    }
    return notebook


def _render_block(env: jinja2.Environment, block: PlacedBlock, min_cell_size: int) -> str:
    return env.get_template(block.entry.html_block).render(
        entry=block.entry,
        data=block.data,
        figures=block.figures,
        unavailable=block.unavailable,
        min_cell_size=min_cell_size,
    )


def trusted_output(html: str) -> nbformat.NotebookNode:
    """A notebook output the report templates show as is (HTML already rendered with autoescaping)."""
    return nbformat.v4.new_output("display_data", data={"text/html": html}, metadata={_TRUSTED: True})
