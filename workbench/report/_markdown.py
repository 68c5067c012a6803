"""The Markdown report (wikis, tickets): ``report_templates/postmortem.md.j2`` with Markdown escaping."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from workbench.report._content import RenderedReport, ReportContent
from workbench.report._filters import checked_templates_dir, fmt_dt, markdown_env

__all__ = ["render_markdown"]


def render_markdown(
    content: ReportContent,
    output_path: str | Path,
    *,
    html_name: str | None = "postmortem.html",
    templates_dir: str | Path | None = None,
    strict: bool = False,
) -> RenderedReport:
    """Render the assembled post-mortem as Markdown with ``report_templates/postmortem.md.j2``.

    Register text is escaped for Markdown (metacharacters backslash-escaped, ``<``/``>``/``&`` as
    entities, braces escaped so wiki template engines see no ``{{ }}``). Figures appear as their title
    and a link to the HTML report (no static image engine is installed offline).

    Parameters
    ----------
    content : ReportContent
        The assembled post-mortem; rendered as is.
    output_path : str or Path
        Where to write the Markdown file.
    html_name : str or None
        Relative link to the HTML report for the figures (``None``: no link).
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
    env = markdown_env(str(checked_templates_dir(templates_dir)), content.section_templates)
    blocks = content.placed
    text = env.get_template("postmortem.md.j2").render(
        title=content.title,
        outline=[block.entry for block in blocks],
        blocks=blocks,
        html_name=html_name,
        generated_at=fmt_dt(datetime.now(UTC)),
        min_cell_size=content.min_cell_size,
        redaction_note=content.redaction_note,
    )
    path = Path(output_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return RenderedReport(path=path, format="markdown", block_keys=tuple(content.blocks), flags=content.flags)
