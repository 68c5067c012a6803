"""Deadlines and the report chain of a regime: when this report is due, and what came before it.

A regime's reports form a chain per incident (EU AI Act Art. 73(5): an initial, incomplete report, then
follow-ups and a final one; GDPR Art. 33(4): information in phases). :func:`deadline_status` judges this
report's clock as of ``as_of`` -- from the policy's deadlines and the register's notification records --
and says it in words ("due in 3 d 4 h", "sent 2 h late"). :func:`report_chain` lists the chain with the
drafts recorded as evidence, and :func:`previous_reference` finds the reference a follow-up must carry.
A notification sent after ``as_of`` counts as not sent yet: a draft as of a past time shows that time.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from register.policy import notification_deadlines
from register.schema import Notification, ReportType, as_utc
from workbench.regulator._inputs import DraftInputs
from workbench.regulator._model import ChainLink, DeadlineStatus

__all__ = [
    "CHAIN_ORDER",
    "DRAFT_EVIDENCE_KIND",
    "deadline_status",
    "draft_evidence_kind",
    "draft_folder_name",
    "draft_reference",
    "fmt_duration",
    "previous_reference",
    "recorded_notification",
    "report_chain",
    "report_sequence",
]

CHAIN_ORDER: tuple[str, ...] = ("initial", "combined", "follow_up", "final")
"""Report types in chain order."""

DRAFT_EVIDENCE_KIND = "regulator_draft"
"""Evidence kind prefix of a recorded draft: ``regulator_draft:<regime>:<report type>[-<n>]``."""


def draft_evidence_kind(regime: str, report_type: str, sequence: int = 1) -> str:
    """The evidence kind of a draft's files, which links them to their place in the chain.

    Examples
    --------
    >>> draft_evidence_kind("gdpr_art33", "follow_up", 2)
    'regulator_draft:gdpr_art33:follow_up-2'
    """
    return f"{DRAFT_EVIDENCE_KIND}:{regime}:{draft_folder_name(report_type, sequence)}"


def fmt_duration(seconds: float) -> str:
    """A duration in its two largest units.

    Examples
    --------
    >>> fmt_duration(3 * 86400 + 4 * 3600 + 59), fmt_duration(7200), fmt_duration(1), fmt_duration(0)
    ('3 d 4 h', '2 h', '1 s', '0 s')
    >>> fmt_duration(15 * 86400), fmt_duration(3 * 3600 + 5 * 60 + 9)
    ('15 d', '3 h 5 min')
    """
    remaining = int(abs(seconds))
    amounts = []
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60), ("s", 1)):
        amount, remaining = divmod(remaining, size)
        amounts.append((amount, unit))
    first = next((index for index, (amount, _) in enumerate(amounts) if amount), None)
    if first is None:
        return "0 s"
    picked = amounts[first : first + 2]
    return " ".join(f"{amount} {unit}" for amount, unit in picked if amount)


def _sent(notification: Notification, as_of: datetime) -> datetime | None:
    """The record's ``sent_at`` when it was sent by ``as_of``."""
    if notification.sent_at is None or as_utc(notification.sent_at) > as_of:
        return None
    return as_utc(notification.sent_at)


def _records(inputs: DraftInputs, regime: str, report_type: str) -> list[Notification]:
    return [
        item
        for item in inputs.notifications
        if item.regime == regime and ReportType(item.report_type).value == report_type
    ]


def recorded_notification(inputs: DraftInputs, regime: str, report_type: str) -> Notification | None:
    """The register's notification of this report: the first not sent by ``as_of``, else the last."""
    records = _records(inputs, regime, report_type)
    unsent = [item for item in records if _sent(item, inputs.as_of) is None]
    if unsent:
        return unsent[0]
    return records[-1] if records else None


def draft_reference(incident_id: str, regime: str, report_type: str, sequence: int = 1) -> str:
    """Return a draft's own reference.

    Examples
    --------
    >>> draft_reference("INC-2025-0096", "gdpr_art33", "follow_up", 2)
    'INC-2025-0096/gdpr_art33/follow_up-2'
    """
    return f"{incident_id}/{regime}/{draft_folder_name(report_type, sequence)}"


def draft_folder_name(report_type: str, sequence: int = 1) -> str:
    """The folder of a draft under ``regulator/<regime>/`` (``initial``, ``follow_up-2``...)."""
    return report_type if sequence <= 1 else f"{report_type}-{sequence}"


def report_sequence(inputs: DraftInputs, regime: str, report_type: str) -> int:
    """Which report of its type this draft is: its unsent record's position, else 1 + those sent.

    Only follow-ups repeat; every other type is report 1 of its kind.
    """
    records = _records(inputs, regime, report_type)
    this = recorded_notification(inputs, regime, report_type)
    if this is not None and _sent(this, inputs.as_of) is None:
        return records.index(this) + 1
    return _sequence(inputs, regime, report_type)


def _sequence(inputs: DraftInputs, regime: str, report_type: str) -> int:
    """1 + the reports of this type already sent by ``as_of`` (a second follow-up is number 2)."""
    if report_type not in ("follow_up",):
        return 1
    return 1 + sum(1 for item in _records(inputs, regime, report_type) if _sent(item, inputs.as_of))


def deadline_status(inputs: DraftInputs, regime: str, report_type: str) -> DeadlineStatus:
    """Judge a report's clock as of ``inputs.as_of``: due, overdue, sent (late), no clock, not applicable."""
    check = inputs.regime_check(regime)
    record = recorded_notification(inputs, regime, report_type)
    sent = _sent(record, inputs.as_of) if record is not None else None
    recorded_due = as_utc(record.due_at) if record is not None and record.due_at else None
    base: dict[str, Any] = {"regime": regime, "report_type": report_type}
    if check is None or not check.applicable:
        reasons = (
            list(check.reasons) if check is not None else [f"{regime} is not an active regime of the policy"]
        )
        text = "not applicable to this incident by the policy: " + reasons[0]
        if record is not None:
            text += (
                f". A notification is recorded nonetheless ({'sent ' + _at(sent) if sent else 'not sent'})"
            )
        return DeadlineStatus(
            **base,
            applicable=False,
            reasons=reasons,
            due_at=recorded_due,
            sent_at=sent,
            state="not_applicable",
            text=text,
        )
    sequence = (
        _sequence(inputs, regime, report_type)
        if sent is None
        else max(1, _sequence(inputs, regime, report_type) - 1)
    )
    owed = [
        item
        for item in notification_deadlines(
            inputs.incident, inputs.system, policy=inputs.policy, as_of=inputs.as_of, regimes=[regime]
        )
        if item.report_type.value == report_type
    ]
    deadline = next((item for item in owed if item.sequence == sequence), owed[-1] if owed else None)
    due_at = deadline.due_at if deadline is not None and deadline.due_at is not None else recorded_due
    common: dict[str, Any] = {
        **base,
        "applicable": True,
        "reasons": list(check.reasons),
        "clock_started_at": deadline.clock_started_at if deadline is not None else None,
        "due_at": due_at,
        "sent_at": sent,
        "basis": deadline.reason if deadline is not None else None,
    }
    if sent is not None:
        if due_at is None:
            return DeadlineStatus(**common, state="sent", text=f"sent {_at(sent)} (no fixed clock)")
        late = (sent - due_at).total_seconds()
        if late > 0:
            return DeadlineStatus(
                **common,
                state="sent_late",
                late_seconds=late,
                text=f"sent {fmt_duration(late)} late ({_at(sent)})",
            )
        return DeadlineStatus(
            **common,
            state="sent",
            late_seconds=late,
            text=f"sent {_at(sent)}, {fmt_duration(-late)} before the deadline",
        )
    if due_at is None:
        if deadline is not None and deadline.status == "clock_not_started":
            return DeadlineStatus(**common, state="clock_not_started", text=deadline.reason)
        basis = (
            deadline.reason if deadline is not None else "the policy sets no deadline for this report type"
        )
        return DeadlineStatus(**common, state="no_fixed_clock", text=f"no fixed clock: {basis}")
    late = (inputs.as_of - due_at).total_seconds()
    if late > 0:
        return DeadlineStatus(
            **common,
            state="overdue",
            late_seconds=late,
            text=f"overdue by {fmt_duration(late)} (due {_at(due_at)})",
        )
    return DeadlineStatus(
        **common, state="due", late_seconds=late, text=f"due in {fmt_duration(-late)} ({_at(due_at)})"
    )


def _at(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value is not None else "—"


def _drafts(inputs: DraftInputs, regime: str, folder: str) -> list[str]:
    kind = f"{DRAFT_EVIDENCE_KIND}:{regime}:{folder}"
    return sorted({item.uri for item in inputs.evidence if item.kind == kind})


def report_chain(inputs: DraftInputs, regime: str, report_type: str) -> list[ChainLink]:
    """The regime's reports of the incident in chain order (recorded ones, and this one)."""
    links: list[ChainLink] = []
    kinds = sorted(
        {ReportType(item.report_type).value for item in inputs.notifications if item.regime == regime}
        | {report_type},
        key=lambda kind: CHAIN_ORDER.index(kind) if kind in CHAIN_ORDER else len(CHAIN_ORDER),
    )
    for kind in kinds:
        records = _records(inputs, regime, kind)
        this = recorded_notification(inputs, regime, report_type) if kind == report_type else None
        for number, item in enumerate(records, start=1):
            sent = _sent(item, inputs.as_of)
            links.append(
                ChainLink(
                    report_type=kind,
                    notification_id=item.id,
                    reference=item.reference,
                    due_at=item.due_at,
                    sent_at=sent,
                    state="sent" if sent else "not sent",
                    drafts=_drafts(inputs, regime, draft_folder_name(kind, number)),
                    this_report=this is not None and item.id == this.id,
                )
            )
        repeats = kind == "follow_up" or not records
        if kind == report_type and repeats and (this is None or _sent(this, inputs.as_of) is not None):
            sequence = _sequence(inputs, regime, kind)
            links.append(
                ChainLink(
                    report_type=kind,
                    state="this draft (not recorded yet)",
                    drafts=_drafts(inputs, regime, draft_folder_name(kind, sequence)),
                    this_report=True,
                )
            )
    return links


def previous_reference(inputs: DraftInputs, regime: str, report_type: str) -> tuple[str | None, str | None]:
    """The reference of the last report sent before this one in the chain, and a note when there is none.

    Returns
    -------
    tuple
        ``(reference, note)``: the reference (the notification's recorded reference, else the draft
        reference it was drafted under), and a warning for the sender when the chain has a gap.
    """
    if report_type in ("initial", "combined"):
        return None, None
    position = CHAIN_ORDER.index(report_type)
    earlier = [
        item
        for item in inputs.notifications
        if item.regime == regime
        and ReportType(item.report_type).value
        in CHAIN_ORDER[:position] + (("follow_up",) if report_type == "follow_up" else ())
        and _sent(item, inputs.as_of) is not None
    ]
    if not earlier:
        return None, (
            "No earlier report under this regime is recorded as sent by the report date: send the initial "
            "report first (or record it with `workbench register notification ...`), or make this a combined "
            "initial-and-final report."
        )
    last = max(earlier, key=lambda item: as_utc(item.sent_at) if item.sent_at else inputs.as_of)
    if last.reference:
        return last.reference, None
    kind = ReportType(last.report_type).value
    return draft_reference(inputs.incident.id, regime, kind), (
        f"The {kind.replace('_', '-')} report is recorded as sent without a reference: the draft "
        "reference is used; replace it with the authority's reference if it gave one."
    )
