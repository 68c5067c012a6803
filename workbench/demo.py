"""``workbench demo``: every stage that exists, end to end, on the embedded tabletop scenarios.

Stages: generate the scenarios (seeded, anchored to a date derived from the seed); import the scenario's
register into a fresh SQLite register; for every planted scenario incident, run the analysis notebooks
(``investigate``) and render the blameless post-mortem; then the cross-incident trend dashboard and
governance digest over the whole register (``trends``), linking each planted incident's post-mortem;
then regulator drafts from those runs (the EU AI Act Art. 73 final report of the fairness incident, the
GDPR Art. 33 follow-up of the personal-data exposure, the OECD report and the AIID/AVID exports); last,
a tabletop exercise (a fresh generated incident, a scripted findings file, its scoring report).
Every stage judges time as of the scenario's own ``as_of``, so the output does not depend on the day
the demo runs.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

__all__ = ["DemoResult", "run_demo"]


@dataclass
class DemoResult:
    """What the demo produced, for the summary the CLI prints."""

    out: Path
    as_of: datetime
    register_url: str
    stages: list[tuple[str, float]] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    reports: dict[str, dict[str, Path]] = field(default_factory=dict)
    trends: dict[str, Path] = field(default_factory=dict)
    regulator: dict[str, Path] = field(default_factory=dict)
    exercise: dict[str, Path] = field(default_factory=dict)

    def describe(self) -> str:
        """A human summary: what was produced, where, and how long each stage took."""
        timing = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in self.stages)
        return "\n".join([*self.lines, f"Stages: {timing}.", f"Demo output in {self.out}"])


@contextmanager
def _timed(stages: list[tuple[str, float]], name: str) -> Iterator[None]:
    """Append ``(name, seconds)`` to ``stages`` when the block completes."""
    start = time.perf_counter()
    yield
    stages.append((name, time.perf_counter() - start))


def run_demo(
    out: Path | str,
    *,
    seed: int = 7,
    rows_per_day: int | None = None,
    progress: Callable[[str], None] | None = None,
    postmortem_formats: tuple[str, ...] = ("html", "md"),
) -> DemoResult:
    """Generate the scenarios into ``out`` and run every stage that exists.

    Parameters
    ----------
    out : path
        Folder for the scenario data, the register and the reports.
    seed : int
        Scenario seed (same seed, byte-identical data).
    rows_per_day : int or None
        Prediction-log rows per logged system and day (default:
        ``workbench.scenarios.DEFAULT_ROWS_PER_DAY``).
    progress : callable, optional
        Receives one line per step.
    postmortem_formats : tuple of str
        Formats of the post-mortem reports.

    Returns
    -------
    DemoResult
    """
    from register import open_register
    from register.io import read_bundle
    from workbench.investigate import investigate
    from workbench.postmortem_cli import render_postmortem
    from workbench.scenarios import generate
    from workbench.trends import run_trends

    say = progress or (lambda message: None)
    out = Path(out).resolve()
    started = time.perf_counter()
    stages: list[tuple[str, float]] = []

    if rows_per_day is None:
        from workbench.scenarios import DEFAULT_ROWS_PER_DAY

        rows_per_day = DEFAULT_ROWS_PER_DAY
    say(f"generating tabletop scenarios into {out} (seed {seed}, {rows_per_day} rows per system and day)")
    with _timed(stages, "scenario"):
        scenario = generate(out, seed=seed, rows_per_day=rows_per_day, progress=say)
    register_path = out / "register.sqlite"
    result = DemoResult(out=out, as_of=scenario.as_of, register_url=str(register_path), stages=stages)
    result.lines.append(scenario.describe())

    say("importing the scenario register")
    with _timed(stages, "register import"):
        for stale in (register_path, Path(f"{register_path}-wal"), Path(f"{register_path}-shm")):
            stale.unlink(missing_ok=True)
        with open_register(register_path, create=True) as register:
            counts = register.import_bundle(read_bundle(scenario.register_dir), by="workbench demo")
    imported = ", ".join(f"{count} {name}" for name, count in counts.items() if count)
    result.lines.append(f"Register: {register_path} ({imported})")

    truth = json.loads(scenario.ground_truth_path.read_text(encoding="utf-8"))
    # the prediction-log scenarios, then the support chatbot's (LLM incidents: exposure, injection,
    # hallucination, provider outage; the control has no incident)
    planted = [s for s in [*truth["scenarios"], *truth.get("llm_scenarios", [])] if s.get("incident_id")]
    reports_dir = out / "reports"
    result.lines.append(
        f"Planted scenario incidents ({len(planted)}), analysed as of {scenario.as_of.isoformat()}:"
    )
    for entry in planted:
        incident_id = entry["incident_id"]
        say(f"investigating {incident_id} ({entry['kind']}, {entry['system_id']})")
        with _timed(stages, f"investigate {incident_id}"):
            run = investigate(
                str(register_path),
                incident_id,
                as_of=scenario.as_of,
                reports_dir=reports_dir,
                by="workbench demo",
            )
        say(f"rendering the post-mortem of {incident_id}")
        with _timed(stages, f"postmortem {incident_id}"):
            rendered = render_postmortem(
                str(register_path),
                incident_id,
                run_dir=run.run_dir,
                formats=postmortem_formats,
                as_of=scenario.as_of,
                by="workbench demo",
            )
        result.reports[incident_id] = rendered
        where = rendered.get("html") or run.run_dir
        result.lines.append(f"  {incident_id} ({entry['kind']}, {entry['system_id']}) -> {where}")
    say("building the trend dashboard and the governance digest over the scenario register")
    with _timed(stages, "trends"):
        trends = run_trends(str(register_path), as_of=scenario.as_of, reports_dir=reports_dir)
    result.trends = dict(trends.outputs)
    result.lines.append(f"Trend dashboard: {trends.outputs['html']}")
    result.lines.append(f"Governance digest: {trends.outputs['md']}")
    result.lines.extend(f"  {line}" for line in trends.headlines)
    say("drafting regulator reports and public-database exports from the runs")
    with _timed(stages, "regulator drafts"):
        _regulator_stage(result, planted, reports_dir)
    say("running a tabletop exercise with a scripted findings file")
    with _timed(stages, "exercise"):
        from workbench.exercise import run_exercise_demo

        result.exercise = run_exercise_demo(out / "exercise", seed=seed)
    result.lines.append(f"Tabletop exercise: briefing {result.exercise['briefing']}")
    result.lines.append(f"  exercise report (scripted answers): {result.exercise['html']}")
    stages.append(("total", time.perf_counter() - started))
    return result


_DRAFTS: tuple[tuple[str, str, str], ...] = (
    ("fairness_regression", "eu_ai_act_art73", "final"),
    ("pii_exposure", "gdpr_art33", "follow-up"),
    ("pii_exposure", "oecd", "initial"),
    ("pii_exposure", "aiid", "initial"),
    ("prompt_injection", "avid", "initial"),
)
"""Demo drafts: (planted scenario kind, regime or export, report type)."""


def _regulator_stage(result: DemoResult, planted: list[dict[str, object]], reports_dir: Path) -> None:
    """Write the demo's regulator drafts and exports, as of the scenario's ``as_of``."""
    from workbench.regulator import write_public_export, write_regulator_draft

    by_kind = {str(entry["kind"]): str(entry["incident_id"]) for entry in planted}
    result.lines.append("Regulator drafts (fields marked TO COMPLETE before sending):")
    for kind, regime, report_type in _DRAFTS:
        incident_id = by_kind.get(kind)
        if incident_id is None:
            continue
        common = {"reports_dir": reports_dir, "as_of": result.as_of, "by": "workbench demo"}
        if regime in ("aiid", "avid"):
            path = write_public_export(result.register_url, incident_id, kind=regime, **common)  # type: ignore[arg-type]
            result.regulator[f"{incident_id} {regime}"] = path
            result.lines.append(f"  {incident_id} {regime} export -> {path}")
            continue
        written = write_regulator_draft(
            result.register_url,
            incident_id,
            regime=regime,
            report_type=report_type,
            **common,  # type: ignore[arg-type]
        )
        result.regulator[f"{incident_id} {regime} {report_type}"] = written.paths["html"]
        deadline = f"; {written.draft.deadline.text}" if written.draft.deadline is not None else ""
        result.lines.append(
            f"  {incident_id} {regime} {report_type}: {len(written.draft.to_complete)} to complete"
            f"{deadline} -> {written.paths['html']}"
        )
