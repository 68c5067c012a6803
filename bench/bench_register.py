"""Register benchmark: import, filtered list, derived-metrics frame at 100k incidents (issue 11).

Builds a synthetic bundle (default: 100,000 incidents, 1,000,000 timeline events, 300,000 action items,
plus one notification per 10 incidents), imports it in ONE transaction, then times

- ``list_incidents`` with filters (system + severity + period, open only),
- ``incidents_frame()`` for all incidents,
- ``metrics_frame()``: derived metrics for every incident (target: under 2 s on 2 cores), and the same
  with the frame readers' fast path switched off (the reference per-value conversion, SQL ``ORDER BY``),
  after checking both give identical frames.

Every read step runs ``--repeat`` times (default 3); the table gives the median wall and CPU time.
Prints a markdown table. Usage::

    .venv/bin/python bench/bench_register.py [--scale 0.1] [--repeat 3] [--register URL_OR_PATH [--reuse]]

Not a test: timings depend on the machine.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd

from register import open_register
from register.io import Bundle
from register.schema import (
    ActionItem,
    ActionItemKind,
    ActionItemStatus,
    AiSystem,
    Incident,
    IncidentCategory,
    IncidentStatus,
    Notification,
    NotificationAudience,
    PostmortemStatus,
    ReportType,
    Severity,
    TimelineEvent,
    TimelineEventKind,
)

START = datetime(2024, 1, 1, tzinfo=UTC)


def build_bundle(n_incidents: int, n_events: int, n_actions: int, *, seed: int = 7) -> Bundle:
    """A synthetic, consistent bundle (records built without re-validation, as a reader would hand over)."""
    rng = np.random.default_rng(seed)
    systems = [AiSystem(id=f"sys-{k:02d}", name=f"System {k}") for k in range(20)]
    categories = list(IncidentCategory)
    severities = list(Severity)
    statuses = list(IncidentStatus)
    aware_minutes = np.sort(rng.integers(0, 2 * 365 * 24 * 60, n_incidents))
    incidents = []
    for n in range(n_incidents):
        aware = START + timedelta(minutes=int(aware_minutes[n]))
        year_number = n + 1
        status = statuses[int(rng.integers(0, len(statuses)))]
        stage = statuses.index(status)
        ack = aware + timedelta(minutes=int(rng.integers(1, 600)))
        contained = ack + timedelta(hours=int(rng.integers(1, 48))) if stage >= 2 else None
        resolved = contained + timedelta(hours=int(rng.integers(1, 96))) if stage >= 4 and contained else None
        closed = resolved + timedelta(days=int(rng.integers(1, 20))) if stage >= 5 and resolved else None
        incidents.append(
            Incident.model_construct(
                id=f"INC-{aware.year}-{year_number:06d}",
                title=f"Synthetic incident {n}",
                summary=None,
                system_id=systems[n % len(systems)].id,
                category=categories[n % len(categories)],
                kind="incident",
                severity=severities[int(rng.integers(0, 4))],
                status=status,
                detection_source=None,
                occurred_at=aware - timedelta(hours=int(rng.integers(0, 72))),
                aware_at=aware,
                acknowledged_at=ack,
                triaged_at=ack if stage >= 1 else None,
                causal_link_at=None,
                contained_at=contained,
                resolved_at=resolved,
                closed_at=closed,
                affected_count=int(rng.integers(0, 10_000)),
                affected_groups=[],
                ongoing=False,
                reversible=None,
                regulatory_notifiable=bool(n % 7 == 0),
                publicly_visible=False,
                evidence_hold=False,
                incident_commander="ic",
                technical_lead=None,
                communications_lead=None,
                legal_compliance=None,
                data_lead=None,
                postmortem_facilitator=None,
                trigger=None,
                root_cause_category=None,
                contributing_factors=[],
                resolution=None,
                lessons_learned=None,
                model_versions=["v1"],
                tags=["synthetic"],
                postmortem_status=PostmortemStatus.DRAFT,
                failure_signal=None,
            )
        )
    kinds = list(TimelineEventKind)
    owners = rng.integers(0, n_incidents, n_events)
    events = [
        TimelineEvent.model_construct(
            id=None,
            incident_id=incidents[int(i)].id,
            at=incidents[int(i)].aware_at + timedelta(minutes=k % 5000),
            kind=kinds[k % len(kinds)],
            description="synthetic event",
            role=None,
            source_link=None,
        )
        for k, i in enumerate(owners)
    ]
    action_owners = rng.integers(0, n_incidents, n_actions)
    action_statuses = list(ActionItemStatus)
    action_kinds = list(ActionItemKind)
    actions = [
        ActionItem.model_construct(
            id=f"{incidents[int(i)].id}-A{k}",
            incident_id=incidents[int(i)].id,
            title="synthetic action",
            owner="owner",
            team=None,
            kind=action_kinds[k % 4],
            priority="P2",
            due_at=incidents[int(i)].aware_at + timedelta(days=14),
            status=action_statuses[k % 4],
            completed_at=None,
            verification_note=None,
        )
        for k, i in enumerate(action_owners)
    ]
    notifications = [
        Notification.model_construct(
            id=f"{incidents[n].id}-N1",
            incident_id=incidents[n].id,
            audience=NotificationAudience.REGULATOR,
            regime="gdpr_art33",
            report_type=ReportType.INITIAL,
            due_at=incidents[n].aware_at + timedelta(hours=72),
            sent_at=None,
            reference=None,
        )
        for n in range(0, n_incidents, 10)
    ]
    return Bundle(
        ai_systems=systems,
        incidents=incidents,
        timeline_events=events,
        action_items=actions,
        notifications=notifications,
    )


def _timed(label: str, rows: list[tuple[str, str, str, str]], detail: str, func, *, repeat: int = 1):
    """Run ``func`` ``repeat`` times; record the median wall and CPU seconds; return the last result."""
    walls, cpus = [], []
    for _ in range(repeat):
        start, cpu = time.perf_counter(), time.process_time()
        result = func()
        walls.append(time.perf_counter() - start)
        cpus.append(time.process_time() - cpu)
    elapsed, used = statistics.median(walls), statistics.median(cpus)
    runs = f" (median of {repeat})" if repeat > 1 else ""
    rows.append((label, f"{elapsed:.2f}", f"{used:.2f}", detail))
    print(f"  {label}: {elapsed:.2f} s wall, {used:.2f} s CPU{runs}", flush=True)
    return result


def _with_reference_readers(func):
    """Run ``func`` with the frame readers' fast path off (what ``_frame`` did before it existed)."""
    import register._frame_read as frame_read

    frame_read._FAST_READS = False
    try:
        return func()
    finally:
        frame_read._FAST_READS = True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--scale", type=float, default=1.0, help="fraction of the full size (1.0 = 100k incidents)"
    )
    parser.add_argument(
        "--register", default=None, help="register path or URL (default: a temporary SQLite file)"
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs of each read step (the median is shown)")
    parser.add_argument(
        "--reuse", action="store_true", help="read the --register an earlier run filled (no build, no import)"
    )
    args = parser.parse_args()
    repeat = max(1, args.repeat)
    n_incidents = int(100_000 * args.scale)
    n_events = int(1_000_000 * args.scale)
    n_actions = int(300_000 * args.scale)
    location = args.register or os.path.join(tempfile.mkdtemp(prefix="bench-register-"), "register.sqlite")

    rows: list[tuple[str, str, str, str]] = []
    if args.reuse:
        if args.register is None:
            parser.error("--reuse needs --register (a register an earlier run of this script filled)")
        reg = open_register(location)
    else:
        bundle = _timed(
            "build bundle in memory (not the register)",
            rows,
            f"{n_incidents:,} incidents, {n_events:,} events, {n_actions:,} actions",
            lambda: build_bundle(n_incidents, n_events, n_actions),
        )
        reg = open_register(location, create=True)
        _timed(
            "import_bundle (one transaction, with history)",
            rows,
            ", ".join(f"{v:,} {k}" for k, v in bundle.counts().items() if v),
            lambda: reg.import_bundle(bundle, by="bench"),
        )
        bundle = None  # free the records before reading back
    period = (START + timedelta(days=100), START + timedelta(days=400))
    found = _timed(
        "list_incidents(system, severity, period, open only)",
        rows,
        "records",
        lambda: reg.list_incidents(
            system="sys-03", severity=["SEV-1", "SEV-2"], since=period[0], until=period[1], open_only=True
        ),
        repeat=repeat,
    )
    rows[-1] = (*rows[-1][:3], f"{len(found):,} incidents")
    found = _timed(
        "list_incidents(severity=SEV-1) (records)",
        rows,
        "",
        lambda: reg.list_incidents(severity="SEV-1"),
        repeat=repeat,
    )
    rows[-1] = (*rows[-1][:3], f"{len(found):,} incidents")
    frame = _timed("incidents_frame() all", rows, "", reg.incidents_frame, repeat=repeat)
    rows[-1] = (*rows[-1][:3], f"{len(frame):,} rows")
    as_of = START + timedelta(days=800)
    metrics = _timed(
        "metrics_frame() all incidents", rows, "", lambda: reg.metrics_frame(as_of=as_of), repeat=repeat
    )
    rows[-1] = (*rows[-1][:3], f"{len(metrics):,} rows x {metrics.shape[1]} columns")
    reference = _timed(
        "  the same, frame readers' fast path off",
        rows,
        "reference per-value conversion, SQL ORDER BY",
        lambda: _with_reference_readers(lambda: reg.metrics_frame(as_of=as_of)),
        repeat=repeat,
    )
    pd.testing.assert_frame_equal(metrics, reference, check_exact=True)
    rows[-1] = (*rows[-1][:3], rows[-1][3] + "; frame identical")
    from register.metrics import incident_metrics
    from register.policy import load_policy

    notifications, actions, systems = reg.notifications_frame(), reg.action_items_frame(), reg.systems_frame()
    policy = load_policy()
    _timed(
        "  of which incident_metrics() on frames",
        rows,
        "pandas, no I/O",
        lambda: incident_metrics(
            frame,
            policy=policy,
            as_of=as_of,
            notifications=notifications,
            action_items=actions,
            systems=systems,
        ),
        repeat=repeat,
    )
    _timed("timeline_frame() all", rows, f"{n_events:,} events", reg.timeline_frame, repeat=repeat)
    reg.close()

    print()
    print(
        f"Register benchmark ({reg.dialect}, Python {platform.python_version()}, "
        f"{os.cpu_count()} cores, scale {args.scale})"
    )
    print()
    print(f"| step | median wall s ({repeat} runs) | CPU s (this process) | size |")
    print("| --- | ---: | ---: | --- |")
    for label, seconds, cpu, detail in rows:
        print(f"| {label} | {seconds} | {cpu} | {detail} |")


if __name__ == "__main__":
    main()
