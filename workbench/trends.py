"""``workbench trends``: the cross-incident run — dashboard and governance digest.

A trends run is the second kind of run beside ``investigate``: papermill executes
``notebooks/trends.ipynb`` (parametrised: as of, period, filters, recurrence horizon) into
``reports/trends/<run id>/trends/``, where it writes ``summary.json`` (:class:`analysis.trends.TrendSummary`),
``figures/<id>.json`` and the full tables as CSV; the run then renders, in-process and from that one
summary, ``dashboard.html`` (nbconvert, the report's offline template: plotly.js embedded once, no CDN)
and ``digest.md`` (the governance meeting's Markdown), so the digest's numbers are the dashboard's.
Incident ids link to each incident's latest post-mortem where one exists under the reports folder.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from workbench.errors import WorkbenchError
from workbench.resources import notebooks_dir
from workbench.runner import TRENDS_FOLDER, NotebookJob, RunHooks, checked_reports_dir, execute_notebooks

__all__ = ["TrendRun", "check_filters", "postmortem_links", "render_trends", "run_trends"]

TRENDS_NOTEBOOK = "trends.ipynb"
FORMATS = ("html", "md")


@dataclass
class TrendRun:
    """Where a trends run put its outputs."""

    run_id: str
    run_dir: Path
    summary_path: Path
    outputs: dict[str, Path] = field(default_factory=dict)
    headlines: list[str] = field(default_factory=list)


def check_filters(*, severities: Sequence[str] = (), categories: Sequence[str] = ()) -> None:
    """Refuse a severity or category outside the register's vocabularies (a typo would match nothing)."""
    from register.schema import IncidentCategory, Severity

    for name, values, vocabulary in (
        ("severity", severities, [level.value for level in Severity]),
        ("category", categories, [item.value for item in IncidentCategory]),
    ):
        unknown = sorted(set(values) - set(vocabulary))
        if unknown:
            raise WorkbenchError(
                f"--{name} must be one of {', '.join(vocabulary)}. Got {', '.join(unknown)} instead."
            )


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC).isoformat()


def run_trends(
    register_url: str,
    *,
    as_of: datetime,
    reports_dir: str | Path = "reports",
    start: datetime | None = None,
    end: datetime | None = None,
    systems: Sequence[str] = (),
    severities: Sequence[str] = (),
    categories: Sequence[str] = (),
    recurrence_days: float = 90.0,
    new_since: datetime | None = None,
    policy_path: str | Path | None = None,
    formats: Sequence[str] = FORMATS,
    notebooks: str | Path | None = None,
    templates_dir: str | Path | None = None,
    run_id: str | None = None,
    on_stage: Callable[[str, float], None] | None = None,
) -> TrendRun:
    """Execute the trends notebook and render the dashboard and the digest.

    Parameters
    ----------
    register_url : str
        Register file or database URL.
    as_of : datetime
        The time everything is judged at.
    reports_dir : str or Path
        Root of the reports; the run goes to ``<reports_dir>/trends/<run id>/``.
    start, end : datetime, optional
        The period (by the time incidents became known; end exclusive).
    systems, severities, categories : sequence of str
        Filters (empty: all).
    recurrence_days : float
        Recurrence horizon.
    new_since : datetime, optional
        Start of the digest's "what is new".
    policy_path : str or Path, optional
        A policy file over the shipped default.
    formats : sequence of str
        ``html`` (dashboard) and/or ``md`` (digest).
    notebooks, templates_dir : str or Path, optional
        Where ``trends.ipynb`` and the report templates are (default: the packaged ones).
    run_id : str, optional
    on_stage : callable, optional
        Receives ``(stage, seconds)`` as each stage ends.

    Returns
    -------
    TrendRun
    """
    unknown = sorted(set(formats) - set(FORMATS))
    if unknown or not formats:
        raise WorkbenchError(f"formats must list html and/or md. Got {list(formats)!r} instead.")
    from register import open_register

    with open_register(register_url):  # a missing or unreadable register is a clear error before any run
        pass
    reports = checked_reports_dir(reports_dir)
    folder = Path(notebooks) if notebooks is not None else notebooks_dir()
    parameters: dict[str, Any] = {
        "register_url": register_url if "://" in register_url else str(Path(register_url).resolve()),
        "as_of": _iso(as_of),
        "start": _iso(start),
        "end": _iso(end),
        "systems": list(systems),
        "severities": list(severities),
        "categories": list(categories),
        "recurrence_days": float(recurrence_days),
        "new_since": _iso(new_since),
        "policy_path": str(Path(policy_path).resolve()) if policy_path is not None else None,
        "output_dir": ".",
    }
    hooks = RunHooks(on_stage=on_stage) if on_stage is not None else None
    result = execute_notebooks(
        TRENDS_FOLDER,
        [NotebookJob(key="trends", notebook=folder / TRENDS_NOTEBOOK, parameters=parameters)],
        reports_dir=reports,
        run_id=run_id,
        max_workers=1,
        hooks=hooks,
        git_dir=folder,
        context={"kind": "trends", **{k: v for k, v in parameters.items() if k != "output_dir"}},
    )
    workdir = result.outcomes["trends"].workdir
    run = render_trends(
        result.run_dir,
        workdir,
        reports_dir=reports,
        formats=formats,
        templates_dir=templates_dir,
        policy_path=policy_path,
    )
    return run


def postmortem_links(reports_dir: Path, run_dir: Path) -> dict[str, str]:
    """Incident id -> the path (relative to ``run_dir``) of its latest rendered post-mortem."""
    links: dict[str, str] = {}
    if not reports_dir.is_dir():
        return links
    for incident_dir in reports_dir.iterdir():
        if not incident_dir.is_dir() or incident_dir.name == TRENDS_FOLDER:
            continue
        reports = sorted(incident_dir.glob("*/postmortem.html"))
        if reports:
            target = reports[-1].resolve()
            links[incident_dir.name] = Path(_relative(target, run_dir.resolve())).as_posix()
    return links


def _relative(target: Path, start: Path) -> str:
    import os

    return os.path.relpath(target, start)


def render_trends(
    run_dir: Path,
    workdir: Path,
    *,
    reports_dir: Path,
    formats: Sequence[str] = FORMATS,
    templates_dir: str | Path | None = None,
    policy_path: str | Path | None = None,
) -> TrendRun:
    """Render ``dashboard.html`` and ``digest.md`` of a trends run from its ``summary.json`` and figures."""
    from analysis.trends import load_trend_summary
    from register.policy import load_policy
    from register.redact import redact

    summary = load_trend_summary(workdir)
    policy = load_policy(policy_path)
    rules = policy.reports.redaction
    actions = dict(summary.actions)
    if actions.get("overdue_list"):
        actions["overdue_list"] = [
            {**row, "title": redact(row.get("title"), rules).text} for row in actions["overdue_list"]
        ]
        summary = summary.model_copy(update={"actions": actions})
    figures = {
        path.stem: json.loads(path.read_text(encoding="utf-8"))
        for path in sorted((workdir / "figures").glob("*.json"))
    }
    links = postmortem_links(reports_dir, run_dir)
    run = TrendRun(
        run_id=run_dir.name,
        run_dir=run_dir,
        summary_path=workdir / "summary.json",
        headlines=list(summary.headlines),
    )
    if "html" in formats:
        run.outputs["html"] = _render_dashboard(
            summary, figures, links, run_dir / "dashboard.html", templates_dir
        )
    if "md" in formats:
        run.outputs["md"] = _render_digest(summary, links, run_dir / "digest.md", templates_dir)
    return run


_BLOCKS = (
    ("overview", "At a glance"),
    ("volume", "What keeps happening"),
    ("speed", "How fast we respond"),
    ("sla", "Response SLA"),
    ("recurrence", "What recurred"),
    ("actions", "Action items"),
    ("postmortems", "Post-mortems"),
    ("regulatory", "Regulatory clocks"),
)


def _render_dashboard(
    summary: Any,
    figures: Mapping[str, Any],
    links: Mapping[str, str],
    path: Path,
    templates_dir: str | Path | None,
) -> Path:
    import nbformat
    from nbconvert.exporters import HTMLExporter

    from analysis._trends_figures import TREND_FIGURES
    from workbench.report._filters import checked_templates_dir, fmt_dt, html_env
    from workbench.report._html import plotly_js_once, trusted_output

    root = checked_templates_dir(templates_dir)
    env = html_env(str(root))
    macros = env.get_template("dashboard/blocks.html.j2").module
    figs = {
        key: {"id": key, "anchor": f"fig-{key}", "title": TREND_FIGURES.get(key, key), "figure": figure}
        for key, figure in figures.items()
    }
    data = summary.model_dump(mode="json")
    blocks = [("no-match", "No incidents match")] if summary.n_incidents == 0 else list(_BLOCKS)
    cells = []
    for number, (key, _title) in enumerate(blocks, start=1):
        macro = getattr(macros, "empty" if key == "no-match" else key)
        html = str(macro(data) if key == "no-match" else macro(data, figs, dict(links)))
        cell = nbformat.v4.new_code_cell("", execution_count=number)
        cell.id = f"block-{key}"
        cell.outputs = [trusted_output(html)]
        cells.append(cell)
    notebook = nbformat.v4.new_notebook(cells=cells)
    notebook.metadata = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}
    exporter = HTMLExporter(
        template_name="postmortem",
        extra_template_basedirs=[str(root)],
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
    )
    css = (root / "postmortem" / "report.css").read_text(encoding="utf-8")
    css += (root / "dashboard" / "dashboard.css").read_text(encoding="utf-8")
    title = f"Incident trends as of {fmt_dt(summary.as_of)}"
    resources = {
        "metadata": {"name": title},
        "workbench": {
            "title": title,
            "kicker": "Governance trend dashboard",
            "lead": f"Scope: {summary.filters_text}. "
            "What keeps happening, how fast we respond, what is overdue.",
            "footer": "Every number comes from this run's summary.json (the digest shows the same numbers); "
            "incident narratives are not shown, and public records are never judged against our SLA.",
            "outline": [_Entry(key, title) for key, title in blocks],
            "css": css,
            "plotly_js": plotly_js_once(),
            "generated_at": fmt_dt(datetime.now(UTC)),
            "n_figures": len(figs) if summary.n_incidents else 0,
        },
    }
    body, _ = exporter.from_notebook_node(notebook, resources=resources)
    path.write_text(body, encoding="utf-8")
    return path


@dataclass(frozen=True)
class _Entry:
    """A table-of-contents entry as the report template reads it."""

    anchor: str
    title: str
    kind: str = "part"


def _render_digest(
    summary: Any, links: Mapping[str, str], path: Path, templates_dir: str | Path | None
) -> Path:
    from markupsafe import Markup

    from workbench.report._filters import checked_templates_dir, markdown_env, md_escape

    root = checked_templates_dir(templates_dir)
    env = markdown_env(str(root))

    def link(incident_id: str) -> Markup:
        text = md_escape(incident_id)
        if incident_id in links:
            return Markup(f"[{text}](<{links[incident_id]}>)")  # noqa: S704 - both parts escaped/ours
        return Markup(text)  # noqa: S704 - escaped for Markdown

    data = summary.model_dump(mode="json")
    text = env.get_template("dashboard/digest.md.j2").render(s=data, link=link, run_id=path.parent.name)
    path.write_text(text, encoding="utf-8")
    return path
