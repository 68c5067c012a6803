"""Concurrent writers never lose an update, and each field's history stays an unbroken chain.

TRAPS.md: with SQLite's default (deferred) transactions two processes x 500 read-modify-write updates
ended 277 short while the history still had 1,000 rows -- so these tests check the final value AND
walk the chain (every old value equals the previous new value), never just count rows.
"""

from __future__ import annotations

import json
import multiprocessing

import pytest

from register import Register, open_register

N_WORKERS = 2
N_UPDATES = 500
N_IDS = 200


def _increment(url: str, incident_id: str, n_updates: int, worker: int, start, errors) -> None:
    try:
        reg = open_register(url)
        start.wait(timeout=60)
        for _ in range(n_updates):
            reg.update_incident(
                incident_id,
                lambda current: {
                    "affected_count": current.affected_count + 1,
                    "tags": [*current.tags[-2:], f"w{worker}"],
                },
                by=f"worker-{worker}",
            )
        reg.close()
    except BaseException as exc:  # pragma: no cover - reported to the parent
        errors.put(f"{type(exc).__name__}: {exc}")


def _allocate(url: str, n_ids: int, worker: int, start, results, errors) -> None:
    try:
        reg = open_register(url)
        start.wait(timeout=60)
        ids = [
            reg.add_incident(
                {
                    "title": f"race {worker}",
                    "category": "data_quality",
                    "severity": "SEV-4",
                    "aware_at": "2026-05-01T00:00:00Z",
                }
            ).id
            for _ in range(n_ids)
        ]
        results.put(ids)
        reg.close()
    except BaseException as exc:  # pragma: no cover - reported to the parent
        errors.put(f"{type(exc).__name__}: {exc}")


def _run(target, args_per_worker) -> tuple[list, list]:
    context = multiprocessing.get_context("fork")
    start = context.Barrier(len(args_per_worker))
    results, errors = context.Queue(), context.Queue()
    processes = []
    for args in args_per_worker:
        extra = (start, results, errors) if target is _allocate else (start, errors)
        process = context.Process(target=target, args=(*args, *extra))
        process.start()
        processes.append(process)
    collected = [results.get(timeout=600) for _ in processes] if target is _allocate else []
    for process in processes:
        process.join(timeout=600)
    problems = []
    while not errors.empty():
        problems.append(errors.get())
    assert all(p.exitcode == 0 for p in processes), problems
    return collected, problems


def assert_unbroken_chain(reg: Register, entity: str, entity_id: str, field: str, initial: str | None) -> int:
    """Walk a field's history: first old value == initial, each old == previous new; return its length."""
    entries = reg.history(entity, entity_id, field=field)
    previous = initial
    for position, entry in enumerate(entries):
        assert entry.old_value == previous, f"{field}: entry {position} breaks the chain"
        previous = entry.new_value
    return len(entries)


@pytest.mark.slow
def test_two_processes_x_500_read_modify_write_updates(
    reg: Register, register_url: str, incident_data
) -> None:
    incident = reg.add_incident(incident_data(affected_count=0))
    _, problems = _run(
        _increment, [(register_url, incident.id, N_UPDATES, worker) for worker in range(N_WORKERS)]
    )
    assert problems == []
    final = reg.get_incident(incident.id)
    assert final.affected_count == N_WORKERS * N_UPDATES
    created = json.loads(reg.history("incidents", incident.id, field="(created)")[0].new_value or "{}")
    assert created["affected_count"] == 0
    assert (
        assert_unbroken_chain(reg, "incidents", incident.id, "affected_count", "0") == N_WORKERS * N_UPDATES
    )
    entries = reg.history("incidents", incident.id, field="affected_count")
    assert [int(e.new_value or 0) for e in entries] == list(range(1, N_WORKERS * N_UPDATES + 1))
    assert entries[-1].new_value == str(final.affected_count)
    assert {e.changed_by for e in entries} == {f"worker-{w}" for w in range(N_WORKERS)}
    n_tags = assert_unbroken_chain(reg, "incidents", incident.id, "tags", "[]")
    assert 0 < n_tags <= N_WORKERS * N_UPDATES
    assert reg.history("incidents", incident.id, field="tags")[-1].new_value == json.dumps(
        final.tags, separators=(",", ":")
    )


def test_two_processes_allocate_distinct_incident_ids(reg: Register, register_url: str) -> None:
    allocated, problems = _run(_allocate, [(register_url, N_IDS, worker) for worker in range(N_WORKERS)])
    assert problems == []
    ids = [incident_id for batch in allocated for incident_id in batch]
    assert len(ids) == len(set(ids)) == N_WORKERS * N_IDS
    assert sorted(int(i.rsplit("-", 1)[1]) for i in ids) == list(range(1, N_WORKERS * N_IDS + 1))
    assert len(reg.list_incidents()) == N_WORKERS * N_IDS


def test_ids_grow_past_9999_and_respect_given_ids(reg: Register, incident_data) -> None:
    assert reg.add_incident(incident_data()).id == "INC-2026-0001"
    reg.seed_incident_counter(2026, 9998)
    assert [reg.add_incident(incident_data()).id for _ in range(2)] == ["INC-2026-9999", "INC-2026-10000"]
    assert reg.add_incident(incident_data()).id == "INC-2026-10001"
    reg.add_incident(incident_data(id="INC-2026-20000"))
    assert reg.add_incident(incident_data()).id == "INC-2026-20001"
    # another year has its own counter (the year of aware_at)
    assert reg.add_incident(incident_data(aware_at="2025-12-31T23:00:00-02:00")).id == "INC-2026-20002"
    assert reg.add_incident(incident_data(aware_at="2025-12-31T12:00:00Z")).id == "INC-2025-0001"
    ids = [i.id for i in reg.list_incidents()]
    assert len(ids) == len(set(ids))
