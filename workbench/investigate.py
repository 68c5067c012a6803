"""``workbench investigate``: look an incident up, check its data once, run the sections, keep evidence.

One register connection and one investigation context per run: the register gives the incident and its AI
system's data card; :func:`analysis.context.build_context` derives the windows (each overridable), checks the
prediction logs against the data card *before* any notebook runs (a data problem is one clear error rather
than a failed notebook) and fingerprints the input; the context is written as ``context.json`` into the run
folder, the declared sections run under papermill on it into ``reports/<incident>/<run id>/``, and every
artefact is recorded in the register as evidence, with a timeline event noting the run.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from register import open_register
from register.errors import NotFoundError
from workbench.errors import WorkbenchError
from workbench.resources import notebooks_dir
from workbench.runner import RunHooks, RunResult, checked_reports_dir, run_sections
from workbench.sections import resolve_sections

if TYPE_CHECKING:
    from register.policy import Policy
    from register.schema import TimelineEvent

__all__ = [
    "NOTEBOOKS_DIR",
    "investigate",
    "section_parameters",
]

NOTEBOOKS_DIR = notebooks_dir()
"""The project's notebooks (the repository's ``notebooks/`` folder)."""


def section_parameters(
    sections: Sequence[Any], given: Mapping[str, Mapping[str, Any]] | None = None
) -> dict[str, dict[str, Any]]:
    """Each section's own parameters: its declared defaults updated with what the caller gave, validated.

    Examples
    --------
    >>> from workbench.sections import resolve_sections
    >>> section_parameters(resolve_sections(["drift"]), {"drift": {"random_state": 7}})
    {'drift': {'sample_size': 10000, 'random_state': 7}}
    """
    chosen = {section.key: section for section in sections}
    unknown = sorted(set(given or {}) - set(chosen))
    if unknown:
        raise WorkbenchError(
            f"section parameters must be for the sections that run ({', '.join(chosen)}). "
            f"Got parameters for {', '.join(unknown)} instead."
        )
    return {
        key: section.parameters_from({**section.parameter_defaults(), **dict((given or {}).get(key, {}))})
        .model_dump(mode="json")
        for key, section in chosen.items()
    }


def investigate(
    register_url: str,
    incident_id: str,
    *,
    as_of: datetime,
    reports_dir: str | Path = "reports",
    windows: Mapping[str, tuple[datetime, datetime]] | None = None,
    chunk: str = "day",
    sections: Sequence[str] | None = None,
    min_cell_size: int | None = None,
    parameters_by_section: Mapping[str, Mapping[str, Any]] | None = None,
    notebooks_dir: str | Path = NOTEBOOKS_DIR,
    max_workers: int | None = None,
    on_notebook_start: Callable[[str], None] | None = None,
    on_notebook_done: Callable[[Any], None] | None = None,
    by: str = "workbench investigate",
) -> RunResult:
    """Run the declared analysis sections for an incident and record the run in the register.

    Parameters
    ----------
    register_url : str
        Register file path or database URL.
    incident_id : str
        The incident (``INC-YYYY-NNNN``).
    as_of : datetime
        The time the analyses run as of (labels observed by then).
    reports_dir : str or Path
        Root of the run folders.
    windows : mapping, optional
        Explicit ``reference``/``incident``/``recent`` windows as ``(start, end)``.
    chunk : str
        Time chunk of the series.
    sections : sequence of str, optional
        Section keys to run (default: every declared section).
    min_cell_size : int, optional
        Groups smaller than this are suppressed (default: the policy's).
    parameters_by_section : mapping, optional
        Section key to that section's own parameters (default: each section's declared defaults).
    notebooks_dir : str or Path
        Where the section notebooks are.
    max_workers : int, optional
        Notebooks run in parallel (default: the machine's cores).
    on_notebook_start, on_notebook_done : callable, optional
        Progress callbacks.
    by : str
        Who the register records as the author of the evidence.

    Returns
    -------
    workbench.runner.RunResult
    """
    from analysis.context import build_context
    from register.policy import load_policy

    checked_reports_dir(reports_dir)
    chosen = resolve_sections(sections)
    parameters = section_parameters(chosen, given=parameters_by_section)
    policy = load_policy()
    cell_size = min_cell_size if min_cell_size is not None else policy.reports.min_cell_size
    with open_register(register_url) as register:
        incident, card = register.incident_with_card(incident_id)
        skipped = {section.key: section.skip_reason(card) for section in chosen}
        runnable = [section for section in chosen if skipped[section.key] is None]
        if not runnable:
            reasons = "; ".join(f"{key}: {reason}" for key, reason in skipped.items())
            raise NotFoundError(f"no section applies to incident {incident_id}'s AI system ({reasons}).")
        context = build_context(
            incident,
            card,
            as_of=as_of,
            chunk=chunk,  # type: ignore[arg-type]  # checked by build_context
            windows=windows,
            min_cell_size=cell_size,
            section_parameters=parameters,
            events=_redacted_events(register.timeline(incident_id), policy),
        )
        hooks = RunHooks(
            on_notebook_start=on_notebook_start,
            on_notebook_done=on_notebook_done,
            record_evidence=lambda evidence: register.add_evidence(evidence, by=by),
            record_timeline_event=lambda event: register.add_timeline_event(event, by=by),
        )
        return run_sections(
            context,
            reports_dir=reports_dir,
            notebooks_dir=notebooks_dir,
            sections=runnable,
            max_workers=max_workers,
            hooks=hooks,
        )


def _redacted_events(events: list[TimelineEvent], policy: Policy) -> list[TimelineEvent]:
    """The timeline with descriptions redacted by the policy's rules.

    The context is kept as evidence and the root-cause analysis quotes change events in the report.
    """
    from register.redact import DEFAULT_REDACTION_RULES, redact

    rules = tuple(policy.reports.redaction or DEFAULT_REDACTION_RULES)
    return [
        event.model_copy(update={"description": redact(event.description, rules).text or ""})
        for event in events
    ]
