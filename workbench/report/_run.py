"""Write the post-mortem of a run folder: ``postmortem.json``, HTML, Markdown and PDF, with their hashes.

:func:`run_postmortem` assembles the post-mortem in-process (:func:`~workbench.report.postmortem_content`),
writes the assembled, redacted content as ``postmortem.json`` (evidence of exactly what was reported),
renders the requested formats from that one object, and records every file written (path relative to
the run folder, kind, size, sha256) in the run's ``manifest.json``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from analysis.contract import Section
from register.blameless import BlamelessRules
from register.policy import Policy, load_policy
from register.schema import Evidence, as_utc
from workbench.errors import WorkbenchError
from workbench.report._assembly import postmortem_content
from workbench.report._content import RenderedReport, ReportContent
from workbench.report._html import render_html
from workbench.report._markdown import render_markdown
from workbench.report._pdf import render_pdf
from workbench.runner import artefact_evidence, artefact_row

if TYPE_CHECKING:
    from register.api import Register

__all__ = ["FORMATS", "PostmortemRun", "render_report", "run_postmortem"]

FORMATS: tuple[str, ...] = ("html", "md", "pdf")
"""Report formats; ``pdf`` is printed from the HTML report, so it implies ``html``."""

def render_report(
    content: ReportContent,
    output_dir: str | Path,
    *,
    formats: Sequence[str] = ("html", "md"),
    strict: bool = False,
    templates_dir: str | Path | None = None,
) -> dict[str, RenderedReport]:
    """Render ``postmortem.html``/``.md``/``.pdf`` of the assembled content into ``output_dir``.

    Parameters
    ----------
    content : ReportContent
        The assembled post-mortem.
    output_dir : str or Path
        Where the files go (relative: from the working directory).
    formats : sequence of {"html", "md", "pdf"}
        Formats to write; ``pdf`` implies ``html``.
    strict : bool
        Refuse to render (write nothing) when the blameless check flagged the narrative.
    templates_dir : str or Path or None
        The ``report_templates`` folder (default: the repository's).

    Returns
    -------
    dict
        Format to :class:`~workbench.report.RenderedReport`.
    """
    unknown = sorted(set(formats) - set(FORMATS))
    if unknown:
        raise WorkbenchError(f"formats must be among html, md, pdf. Got {', '.join(unknown)} instead.")
    if strict:
        content.refuse_flags()
    folder = Path(output_dir)
    rendered: dict[str, RenderedReport] = {}
    if "html" in formats or "pdf" in formats:
        rendered["html"] = render_html(content, folder / "postmortem.html", templates_dir=templates_dir)
    if "md" in formats:
        rendered["md"] = render_markdown(content, folder / "postmortem.md", templates_dir=templates_dir)
    if "pdf" in formats:
        rendered["pdf"] = render_pdf(rendered["html"].path, folder / "postmortem.pdf")
    return rendered


@dataclass(frozen=True)
class PostmortemRun:
    """The post-mortem written into a run folder: its content, the reports, and one row per file."""

    run_dir: Path
    content: ReportContent
    content_path: Path
    reports: dict[str, RenderedReport]
    artefacts: list[dict[str, Any]]

    def evidence(self, incident_id: str, *, captured_at: datetime | None = None) -> list[Evidence]:
        """One register :class:`~register.schema.Evidence` per file written (content and reports)."""
        when = captured_at or datetime.now(UTC)
        return artefact_evidence(
            incident_id, self.run_dir, self.artefacts, captured_at=when, run_id=self.run_dir.name
        )


def run_postmortem(
    run_dir: str | Path,
    register: Register,
    incident_id: str,
    *,
    policy: Policy | None = None,
    as_of: datetime | None = None,
    formats: Sequence[str] = ("html", "md"),
    strict: bool = False,
    sections: Sequence[Section] | None = None,
    blameless_rules: BlamelessRules | None = None,
    templates_dir: str | Path | None = None,
) -> PostmortemRun:
    """Assemble an incident's post-mortem in-process and write it into a run folder.

    Parameters
    ----------
    run_dir : str or Path
        The run folder (``reports/<incident>/<run id>/``, relative or absolute); its sections'
        summaries and figures are read, and ``postmortem.json`` and the reports are written there.
    register : register.api.Register
        The open register.
    incident_id : str
        The incident.
    policy : Policy or None
        The policy (default: the shipped one): severity requirements, notification regimes, the
        redaction rules and the minimum cell size of the report.
    as_of : datetime or None
        When clocks are judged (default: now).
    formats : sequence of {"html", "md", "pdf"}
        Reports to render.
    strict : bool
        Refuse (write nothing) when the blameless check flags the narrative.
    sections : sequence of Section or None
        The analysis sections (default: all declared).
    blameless_rules : BlamelessRules or None
        The blameless phrase list (default: the packaged one).
    templates_dir : str or Path or None
        The ``report_templates`` folder (default: the repository's).

    Returns
    -------
    PostmortemRun
        With one artefact row per file written, also added to the run's ``manifest.json``.
    """
    folder = Path(run_dir).resolve()
    if not folder.is_dir():
        raise WorkbenchError(f"run_dir must be an existing run folder. Got {folder} instead.")
    unknown = sorted(set(formats) - set(FORMATS))
    if unknown:
        raise WorkbenchError(f"formats must be among html, md, pdf. Got {', '.join(unknown)} instead.")
    policy = policy if policy is not None else load_policy()
    when = as_utc(as_of) if as_of is not None else datetime.now(UTC)
    started = time.perf_counter()
    content = postmortem_content(
        register,
        incident_id,
        run_dir=folder,
        policy=policy,
        as_of=when,
        sections=sections,
        blameless_rules=blameless_rules,
    )
    if strict:
        content.refuse_flags()
    assembled_s = time.perf_counter() - started
    content_path = content.write_json(folder / "postmortem.json")
    reports = render_report(content, folder, formats=formats, templates_dir=templates_dir)
    rendered_s = time.perf_counter() - started - assembled_s
    written = [content_path, *(report.path for report in reports.values())]
    artefacts = [artefact_row(folder, path) for path in written]
    parameters = {"incident_id": incident_id, "as_of": when.isoformat(), "formats": list(formats)}
    _record_in_manifest(folder, parameters, artefacts, {"assemble": assembled_s, "render": rendered_s})
    return PostmortemRun(
        run_dir=folder, content=content, content_path=content_path, reports=reports, artefacts=artefacts
    )


def _record_in_manifest(
    folder: Path,
    parameters: Mapping[str, Any],
    artefacts: list[dict[str, Any]],
    durations: Mapping[str, float],
) -> None:
    """Add the post-mortem's parameters, timings and artefact hashes to the run's ``manifest.json``."""
    path = folder / "manifest.json"
    if not path.is_file():
        return
    manifest = json.loads(path.read_text(encoding="utf-8"))
    manifest["postmortem"] = {
        "rendered_at": datetime.now(UTC).isoformat(),
        "parameters": dict(parameters),
        "durations": {name: round(seconds, 6) for name, seconds in durations.items()},
        "artefacts": artefacts,
    }
    path.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
