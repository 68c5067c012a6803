"""Incidents of LLM systems: one call runs the exposure scan, the injection analysis and the failure rates.

The three analyses read one interaction log (:func:`analysis._llm_data.open_interaction_log`) over the
windows of one investigation:

- **exposure** (:func:`analysis.llm_exposure.scan_exposure`): personal data and secrets in answers to
  users from the start of the incident window to ``as_of`` -- so first seen, last seen and "still
  happening" describe everything logged since the incident began --, the other content locations (users'
  messages, retrieved text, system instructions, tool calls) in the incident window, and answers in the
  reference window, which says whether answers exposed data before the incident;
- **injection** (:func:`analysis.llm_injection.analyse_injection`): attempts, successes, the campaign's
  onset and its users from the start of the reference window to ``as_of`` (the weeks before the incident
  are the background the onset is measured against);
- **failures** (:func:`analysis.llm_failures.failure_rates`): error, refusal, evaluation and feedback
  rates by provider, model, prompt and agent version, tool and the card's attributes, reference window
  against incident window, with the onset of what rose.

An analysis whose inputs the log lacks (content opted out, no evaluation table) is skipped and the reason
kept in :attr:`LlmAnalysis.skipped`; the others still run. Nothing here returns raw content: counts,
pseudonymous ids, document ids and masked examples only.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import ibis.expr.types as ir
import pandas as pd

from analysis._llm_data import interaction_roles, open_interaction_log
from analysis.errors import InvalidParameterError
from analysis.llm_exposure import ExposureResult, scan_exposure
from analysis.llm_failures import FailureRates, failure_rates
from analysis.llm_injection import InjectionResult, analyse_injection

if TYPE_CHECKING:
    from analysis.data import IncidentWindows
    from register.schema import DataCard

__all__ = ["EXPOSURE_LOCATIONS", "LlmAnalysis", "analyse_llm"]

EXPOSURE_LOCATIONS: tuple[str, ...] = (
    "output",
    "input",
    "retrieved",
    "system",
    "tool_arguments",
    "tool_results",
)
"""Where the scan looks (leaks to users are findings in ``output``; the others show where data came from)."""


@dataclass(frozen=True)
class LlmAnalysis:
    """What :func:`analyse_llm` found: the three analyses (``None`` when skipped) and what was skipped.

    ``exposure`` scans answers (``output``) from the incident's start to ``as_of``; ``exposure_elsewhere``
    the other locations in the incident window; ``reference_exposure`` answers in the reference window.
    """

    exposure: ExposureResult | None
    exposure_elsewhere: ExposureResult | None
    reference_exposure: ExposureResult | None
    injection: InjectionResult | None
    failures: FailureRates | None
    scan_window: tuple[datetime, datetime]
    injection_window: tuple[datetime, datetime]
    skipped: tuple[str, ...] = field(default=())


def _utc(value: datetime) -> datetime:
    return pd.Timestamp(value).tz_convert("UTC").to_pydatetime()


def analyse_llm(
    card: DataCard,
    windows: IncidentWindows,
    *,
    as_of: datetime | None = None,
    table: ir.Table | pd.DataFrame | None = None,
    base_dir: str | os.PathLike[str] | None = None,
    rules: Sequence[Any] = (),
    known_names: Iterable[str] = (),
    locations: Sequence[str] = EXPOSURE_LOCATIONS,
    thresholds: dict[str, float] | None = None,
    tools: Sequence[str] | None = None,
) -> LlmAnalysis:
    """Run the exposure scan, the injection analysis and the failure rates of one LLM incident.

    Parameters
    ----------
    card : DataCard
        The system's ``interaction_log`` card.
    windows : IncidentWindows
        The investigation's reference and incident windows and ``as_of``.
    as_of : datetime, optional
        The analysis time (default ``windows.as_of``); nothing logged after it is read.
    table : Ibis table or pandas DataFrame, optional
        The spans (default: the card's source, opened once).
    base_dir : path, optional
        Directory relative locations in the card are resolved against.
    rules, known_names
        The policy's extra detection rules and the person names to detect (:func:`register.pii.find_pii`).
    locations : sequence of str
        Content locations to scan (default every one the log has).
    thresholds : dict, optional
        Evaluation name -> the score below which a call fails (failure rates).
    tools : sequence of str, optional
        The tools whose call after an injection counts as a success (default: any tool).

    Returns
    -------
    LlmAnalysis
    """
    roles = interaction_roles(card)
    when = _utc(as_of if as_of is not None else windows.as_of)
    reference, incident = windows.reference, windows.incident
    if _utc(incident.start) >= when:
        raise InvalidParameterError(
            f"as_of must be after the start of the incident window. Got as_of {when.isoformat()} and an "
            f"incident window starting {incident.start.isoformat()}."
        )
    spans = table if table is not None else open_interaction_log(card, base_dir=base_dir)
    skipped: list[str] = []
    scan_window = (_utc(incident.start), when)
    incident_end = min(_utc(incident.end), when)
    exposure = reference_exposure = elsewhere = None
    content = [role for role in ("output_messages", "input_messages") if getattr(roles, role)]
    if content:
        # answers from the incident's start to as_of: first/last seen and "still happening" are true
        exposure = scan_exposure(
            spans, card, as_of=when, window=scan_window, rules=rules, known_names=known_names,
            columns=("output",),
        )  # fmt: skip
        others = tuple(location for location in locations if location != "output")
        if others:
            elsewhere = scan_exposure(
                spans, card, as_of=when, window=(_utc(incident.start), incident_end), rules=rules,
                known_names=known_names, columns=others,
            )  # fmt: skip
        reference_exposure = scan_exposure(
            spans, card, as_of=when, window=(_utc(reference.start), min(_utc(reference.end), when)),
            rules=rules, known_names=known_names, columns=("output",),
        )  # fmt: skip
    else:
        skipped.append(
            "exposure scan: the log has no message content (gen_ai.input.messages / gen_ai.output.messages "
            "are opt-in and were not recorded)"
        )
    injection_window = (_utc(reference.start), when)
    injection = None
    if roles.input_messages:
        injection = analyse_injection(
            card,
            start=injection_window[0],
            end=injection_window[1],
            data=spans,
            base_dir=base_dir,
            tools=tools,
        )
    else:
        skipped.append("prompt injection: the log has no user input content (gen_ai.input.messages)")
    failures = _failures(spans, card, windows, when, base_dir=base_dir, thresholds=thresholds)
    return LlmAnalysis(
        exposure=exposure,
        exposure_elsewhere=elsewhere,
        reference_exposure=reference_exposure,
        injection=injection,
        failures=failures,
        scan_window=scan_window,
        injection_window=injection_window,
        skipped=tuple(skipped),
    )


def _failures(
    spans: ir.Table | pd.DataFrame,
    card: DataCard,
    windows: IncidentWindows,
    as_of: datetime,
    *,
    base_dir: str | os.PathLike[str] | None,
    thresholds: dict[str, float] | None,
) -> FailureRates:
    """The failure rates of the model calls, each evaluation's score joined (:mod:`analysis.llm_failures`)."""
    from analysis.data import open_calls

    calls = open_calls(card, as_of=as_of, data=spans, base_dir=base_dir)
    return failure_rates(
        calls,
        card,
        reference=windows.reference,
        incident=windows.incident,
        as_of=as_of,
        thresholds=thresholds,
    )
