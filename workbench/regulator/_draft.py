"""Build a regulator draft: choose the template, judge the deadline, link the chain, redact, check blame.

:func:`build_draft` is the one entry point every format and the CLI use. After the template's builder
filled its fields, every text of the draft (values, shown texts, notes) is redacted with the policy's
rules -- and the names of the people the register knows when the policy says so -- and the narrative
fields are checked for blame phrasing, exactly as the post-mortem is.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from register.blameless import BlamelessRules, check_blameless
from register.schema import ReportType
from workbench.errors import WorkbenchError
from workbench.regulator._art73 import ART73_SOURCE, art73_sections
from workbench.regulator._chain import (
    deadline_status,
    draft_folder_name,
    draft_reference,
    previous_reference,
    recorded_notification,
    report_chain,
    report_sequence,
)
from workbench.regulator._gdpr33 import GDPR33_SOURCE, gdpr33_sections
from workbench.regulator._inputs import DraftInputs, Redactor
from workbench.regulator._model import DraftField, DraftSection, RegulatorDraft

__all__ = ["TEMPLATES", "build_draft", "draft_folder"]

TEMPLATES: dict[str, str] = {
    "eu_ai_act_art73": "EU AI Act Art. 73 serious incident report",
    "gdpr_art33": "GDPR Art. 33 personal-data breach notification",
    "oecd": "OECD common reporting framework for AI incidents",
}
"""The drafts the workbench writes, by ``--regime``."""

_NARRATIVE_KEYS = ("nature", "effects", "causality", "description", "comments", "consequences")


def draft_folder(regime: str, report_type: str, sequence: int = 1) -> str:
    """The folder of a draft under the incident's reports folder (``regulator/<regime>/<type>``)."""
    return f"regulator/{regime}/{draft_folder_name(report_type, sequence)}"


def _checked(regime: str, report_type: str) -> str:
    if regime not in TEMPLATES:
        raise WorkbenchError(
            f"--regime must be one of {', '.join(TEMPLATES)}, aiid, avid. Got {regime!r} instead "
            "(other regimes of the policy have deadlines in the register but no draft template yet)."
        )
    kind = report_type.replace("-", "_").lower()
    allowed = [item.value for item in ReportType]
    if kind not in allowed:
        raise WorkbenchError(
            f"--type must be one of initial, follow-up, combined, final. Got {report_type!r} instead."
        )
    return kind


def build_draft(
    inputs: DraftInputs,
    regime: str,
    report_type: str = "initial",
    *,
    generated_at: datetime | None = None,
    blameless_rules: BlamelessRules | None = None,
) -> RegulatorDraft:
    """The draft of one report of an incident under a regime (or the OECD framework).

    Parameters
    ----------
    inputs : DraftInputs
        The register's records and the run's summaries (:func:`~workbench.regulator.gather_inputs`).
    regime : {"eu_ai_act_art73", "gdpr_art33", "oecd"}
        The template.
    report_type : str
        ``initial``, ``follow-up`` (or ``follow_up``), ``combined`` or ``final``.
    generated_at : datetime or None
        When the draft is written (default: now); ``inputs.as_of`` is the date the draft speaks of.
    blameless_rules : BlamelessRules or None
        The blameless phrase list (default: the packaged one).

    Returns
    -------
    RegulatorDraft
        Redacted, with the blameless flags of its narrative fields.
    """
    kind = _checked(regime, report_type)
    notes: list[str] = []
    previous, gap = (None, None) if regime == "oecd" else previous_reference(inputs, regime, kind)
    if gap:
        notes.append(gap)
    deadline = None if regime == "oecd" else deadline_status(inputs, regime, kind)
    if deadline is not None and not deadline.applicable:
        notes.append(
            "The policy does not apply this regime to the incident as of the report date ("
            + "; ".join(deadline.reasons)
            + "): check with counsel before sending; the draft is written all the same."
        )
    sections: list[DraftSection]
    if regime == "eu_ai_act_art73":
        sections, source = art73_sections(inputs, report_type=kind, previous_reference=previous), ART73_SOURCE
    elif regime == "gdpr_art33":
        assert deadline is not None
        sections = gdpr33_sections(inputs, report_type=kind, previous_reference=previous, deadline=deadline)
        source = GDPR33_SOURCE
    else:
        from workbench.regulator._public import OECD_SOURCE, oecd_sections

        sections, source = oecd_sections(inputs), OECD_SOURCE
    for key, reason in sorted(inputs.unavailable.items()):
        if "has not run" not in reason and not reason.startswith("not applicable"):
            notes.append(f"The {key} analysis could not be read: {reason}.")
    if inputs.run_id is None:
        notes.append("No analysis run was found for this incident: numbers come from the register only.")
    record = None if regime == "oecd" else recorded_notification(inputs, regime, kind)
    if (
        record is not None
        and kind == "follow_up"
        and record.sent_at is not None
        and record.sent_at <= inputs.as_of
    ):
        record = None  # every follow-up already sent: this one is the next, a report of its own
    if (
        record is not None
        and kind != "follow_up"
        and record.sent_at is not None
        and record.sent_at <= inputs.as_of
    ):
        notes.append(
            f"The {kind.replace('_', '-')} report is recorded as sent on {record.sent_at:%Y-%m-%d %H:%M} UTC"
            + (f" (reference {record.reference})" if record.reference else "")
            + ": this draft repeats it; send new information as a follow-up report."
        )
    sequence = 1 if regime == "oecd" else report_sequence(inputs, regime, kind)
    redactor = inputs.redactor()
    flags: list[dict[str, str]] = []
    sections = [_clean_section(section, redactor, flags, blameless_rules) for section in sections]
    regime_name = None
    recipient = None
    if regime != "oecd":
        try:
            policy_regime = inputs.policy.regime(regime)
            regime_name, recipient = policy_regime.name, policy_regime.recipient
        except KeyError:
            notes.append(f"The policy has no regime {regime!r}: no deadline or recipient is known.")
    return RegulatorDraft(
        template=regime,  # type: ignore[arg-type]  # checked against TEMPLATES above
        template_title=TEMPLATES[regime],
        template_source=source,
        regime=None if regime == "oecd" else regime,
        regime_name=regime_name,
        recipient=recipient,
        incident_id=inputs.incident.id,
        report_type=kind,
        reference=draft_reference(inputs.incident.id, regime, kind, sequence),
        previous_reference=redactor(previous) if previous else None,
        as_of=inputs.as_of,
        generated_at=generated_at or datetime.now(UTC),
        run_id=inputs.run_id,
        summaries_used=sorted(inputs.summaries),
        deadline=deadline,
        chain=[] if regime == "oecd" else report_chain(inputs, regime, kind),
        sections=sections,
        notes=[redactor(note) or "" for note in notes],
        blameless_flags=flags,
        notification_id=record.id if record is not None else None,
    )


def _clean_value(value: Any, redactor: Redactor) -> Any:
    if isinstance(value, str):
        return redactor(value)
    if isinstance(value, list):
        return [_clean_value(item, redactor) for item in value]
    return value


def _clean_section(
    section: DraftSection,
    redactor: Redactor,
    flags: list[dict[str, str]],
    rules: BlamelessRules | None,
) -> DraftSection:
    cleaned: list[DraftField] = []
    for item in section.fields:
        text = redactor(item.text)
        if text and any(item.key.endswith(key) for key in _NARRATIVE_KEYS):
            for flag in check_blameless(text, field=item.key, rules=rules):
                flags.append({"field": item.key, "phrase": flag.phrase, "suggestion": flag.suggestion})
        cleaned.append(
            item.model_copy(
                update={
                    "value": _clean_value(item.value, redactor),
                    "text": text,
                    "note": redactor(item.note),
                }
            )
        )
    return section.model_copy(update={"fields": cleaned})
