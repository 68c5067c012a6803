"""The fast frame readers give exactly the frames of the reference, value-by-value conversion.

``Register._frame`` (:func:`register._frame_read.read_frame`) reads rows into one 2-D object array,
converts whole columns (declining to the reference conversion ``register._frame_read._column``
whenever the Python types are not the expected ones) and, on SQLite, sorts incidents itself instead
of asking SQLite to. Here every frame of a register holding a few hundred incidents with every column
type, nulls, all-null columns, times given with offsets and microseconds, is compared with the frame
the reference path builds (the reader with the fast parts switched off) and with the typed records,
on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

import register._frame_read as frame_read_module
from register import Register, open_register
from register.io import Bundle
from register.schema import (
    ActionItem,
    ActionItemStatus,
    AiSystem,
    Classification,
    ColumnRoles,
    DataCard,
    DataSource,
    DetectionSource,
    Evidence,
    Incident,
    IncidentCategory,
    IncidentStatus,
    Notification,
    NotificationAudience,
    PostmortemStatus,
    PredictionConditionSignal,
    ReportType,
    Severity,
    TimelineEvent,
    TimelineEventKind,
)

T0 = datetime(2025, 1, 1, tzinfo=UTC)
N_INCIDENTS = 240
CARD = DataCard(
    source=DataSource(location="logs/credit/*.parquet"),
    task="binary_classification",
    columns=ColumnRoles(event_time="ts", entity_id="applicant", features=["income"], prediction="y_pred"),
)


def _maybe(rng: np.random.Generator, value: object, p_null: float = 0.3) -> object:
    return None if rng.random() < p_null else value


def _bundle(seed: int = 3) -> Bundle:
    """A small register with every column type: nulls, offsets, microseconds, lists, JSON records."""
    rng = np.random.default_rng(seed)
    systems = [
        AiSystem(id="credit", name="Credit", risk_tier="eu_ai_act_high_risk", data_card=CARD),
        AiSystem(id="chat", name="Chat", owner_team="support"),
        AiSystem(id="ranker", name="Ranker", risk_tier="minimal"),
    ]
    bundle = Bundle(ai_systems=systems)
    zones = [UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-5, minutes=-30))]
    for n in range(N_INCIDENTS):
        # several incidents share an awareness time, so the id breaks ties in the order
        aware = (T0 + timedelta(minutes=int(rng.integers(0, 200)) * 97)).astimezone(zones[n % 3])
        aware += timedelta(microseconds=int(rng.integers(0, 3)) * 123_457)
        later = [aware + timedelta(minutes=int(m)) for m in np.sort(rng.integers(1, 10_000, 5))]
        incident_id = f"INC-2025-{int(rng.permutation(N_INCIDENTS)[0]) * 1000 + n:05d}"
        bundle.incidents.append(
            Incident(
                id=incident_id,
                title=f"incident {n}",
                summary=_maybe(rng, f"summary {n}"),
                system_id=_maybe(rng, ["credit", "chat", "ranker"][n % 3], 0.2),
                category=list(IncidentCategory)[n % len(IncidentCategory)],
                kind="near_miss" if n % 5 == 0 else "incident",
                severity=list(Severity)[int(rng.integers(0, 4))],
                status=list(IncidentStatus)[n % len(IncidentStatus)],
                detection_source=_maybe(rng, list(DetectionSource)[n % len(DetectionSource)], 0.5),
                occurred_at=_maybe(rng, aware - timedelta(hours=int(rng.integers(0, 48)))),
                aware_at=aware,
                acknowledged_at=_maybe(rng, later[0]),
                triaged_at=_maybe(rng, later[1]),
                causal_link_at=None,  # a time column null in every row
                contained_at=_maybe(rng, later[2]),
                resolved_at=_maybe(rng, later[3], 0.5),
                closed_at=_maybe(rng, later[4], 0.6),
                affected_count=_maybe(rng, int(rng.integers(0, 2**40))),
                affected_groups=["age 65+"] if n % 4 == 0 else [],
                ongoing=bool(n % 2),
                reversible=_maybe(rng, bool(n % 3), 0.4),
                regulatory_notifiable=bool(n % 7 == 0),
                publicly_visible=bool(n % 11 == 0),
                evidence_hold=False,
                incident_commander=_maybe(rng, "ana"),
                technical_lead=None,  # a text column null in every row
                tags=[["personal_data", "jurisdiction:EU"], [], ["death"], ["x", "y, z", "é"]][n % 4],
                model_versions=["v1", "v2"] if n % 2 else [],
                postmortem_status=list(PostmortemStatus)[n % len(PostmortemStatus)],
                failure_signal=PredictionConditionSignal(column="score", op=">", value=0.9)
                if n % 6 == 0
                else None,
            )
        )
        for k in range(int(rng.integers(0, 4))):
            bundle.timeline_events.append(
                TimelineEvent(
                    incident_id=incident_id,
                    at=later[k],
                    kind=list(TimelineEventKind)[k],
                    description=f"event {k}",
                    source_link=_maybe(rng, "https://example.org/x"),
                )
            )
            status = list(ActionItemStatus)[int(rng.integers(0, 4))]
            bundle.action_items.append(
                ActionItem(
                    id=f"{incident_id}-A{k}",
                    incident_id=incident_id,
                    title="fix",
                    kind="prevent",
                    due_at=_maybe(rng, later[k] + timedelta(days=3)),
                    status=status,
                    completed_at=_maybe(rng, later[k] + timedelta(days=int(rng.integers(1, 400))), 0.5)
                    if status == ActionItemStatus.DONE
                    else None,
                )
            )
        if n % 3 == 0:
            bundle.notifications.append(
                Notification(
                    id=f"{incident_id}-N1",
                    incident_id=incident_id,
                    audience=NotificationAudience.REGULATOR,
                    regime=_maybe(rng, "gdpr_art33", 0.2),
                    report_type=ReportType.INITIAL,
                    due_at=_maybe(rng, aware + timedelta(hours=72)),
                    sent_at=_maybe(rng, aware + timedelta(hours=int(rng.integers(1, 100))), 0.5),
                )
            )
        if n % 10 == 0:
            bundle.evidence.append(
                Evidence(incident_id=incident_id, kind="log", uri=f"s3://x/{n}", captured_at=later[0])
            )
            bundle.classifications.append(
                Classification(incident_id=incident_id, namespace="CSET", attribute="harm", value="none")
            )
    return bundle


@pytest.fixture
def filled(reg: Register) -> Register:
    reg.import_bundle(_bundle(), by="test")
    return reg


def _reference(monkeypatch: pytest.MonkeyPatch) -> None:
    """Switch the fast parts off: SQL ORDER BY, ``zip`` and ``_column`` (the previous implementation)."""
    monkeypatch.setattr(frame_read_module, "_FAST_READS", False)


AS_OF = T0 + timedelta(days=9)

FRAMES = {
    "incidents": lambda reg: reg.incidents_frame(),
    "incidents, filtered, some columns": lambda reg: reg.incidents_frame(
        severity=["SEV-1", "SEV-3"],
        since=T0 + timedelta(days=2),
        open_only=True,
        columns=["tags", "closed_at", "reversible", "affected_count", "system_id"],
    ),
    "incidents, one column not in the order": lambda reg: reg.incidents_frame(columns=["status"]),
    "incidents, none match": lambda reg: reg.incidents_frame(system="nobody"),
    "timeline": lambda reg: reg.timeline_frame(),
    "action items": lambda reg: reg.action_items_frame(),
    "notifications": lambda reg: reg.notifications_frame(),
    "evidence": lambda reg: reg.evidence_frame(),
    "classifications": lambda reg: reg.classifications_frame(),
    "systems": lambda reg: reg.systems_frame(),
    "metrics": lambda reg: reg.metrics_frame(as_of=AS_OF),
    "metrics, filtered": lambda reg: reg.metrics_frame(as_of=AS_OF, severity="SEV-2", open_only=True),
}


def _all_frames(reg: Register) -> dict[str, pd.DataFrame]:
    return {name: build(reg) for name, build in FRAMES.items()}


def _assert_fast_equals_reference(reg: Register, monkeypatch: pytest.MonkeyPatch) -> dict[str, pd.DataFrame]:
    """Every frame built by the fast reads equals the reference conversion's, exactly; the fast frames."""
    fast = _all_frames(reg)
    with monkeypatch.context() as patch:
        _reference(patch)
        reference = _all_frames(reg)
    for name in FRAMES:
        pd.testing.assert_frame_equal(fast[name], reference[name], check_exact=True, obj=name)
    return fast


def test_every_frame_equals_the_reference_conversion(
    filled: Register, monkeypatch: pytest.MonkeyPatch
) -> None:
    fast = _assert_fast_equals_reference(filled, monkeypatch)
    incidents = fast["incidents"]
    assert len(incidents) == N_INCIDENTS
    assert incidents["aware_at"].duplicated().any()  # ties, broken by id
    assert len(fast["metrics"]) == N_INCIDENTS and fast["metrics"]["action_items_open"].sum() > 0
    assert len(fast["incidents, filtered, some columns"]) > 0
    assert len(fast["incidents, none match"]) == 0


def test_incidents_frame_holds_the_records(filled: Register) -> None:
    """Compared with the typed records (a path that shares no conversion code with the frames)."""
    records = filled.list_incidents()
    frame = filled.incidents_frame()
    assert frame["id"].tolist() == [record.id for record in records]  # the SQL order: aware_at, id
    assert set(Incident.model_fields) <= set(frame.columns)
    for column in Incident.model_fields:
        expected = [getattr(record, column) for record in records]
        got = frame[column].tolist()
        if column.endswith("_at"):
            assert str(frame[column].dtype) == "datetime64[us, UTC]", column
            got = [None if pd.isna(value) else value.to_pydatetime() for value in got]
        elif column == "failure_signal":
            expected = [None if value is None else value.model_dump(mode="json") for value in expected]
        else:
            expected = [value.value if hasattr(value, "value") else value for value in expected]
            got = [None if value is pd.NA or value is None or value != value else value for value in got]
        assert got == expected, column
    assert str(frame["affected_count"].dtype) == "Int64"
    assert str(frame["reversible"].dtype) == "boolean" and frame["reversible"].isna().any()
    assert frame["technical_lead"].dtype == object and frame["technical_lead"].isna().all()
    tags = frame["tags"].tolist()
    assert all(type(value) is list for value in tags)
    assert len({id(value) for value in tags}) == len(tags)  # every row its own list


def test_microseconds_and_offsets_survive(reg: Register) -> None:
    aware = datetime(2026, 5, 4, 10, 0, 0, 123_456, tzinfo=timezone(timedelta(hours=2)))
    reg.add_incident(
        {"title": "t", "category": "data_quality", "severity": "SEV-4", "aware_at": aware}
        | {"affected_count": 2**62}
    )
    frame = reg.incidents_frame(columns=["aware_at", "affected_count"])
    assert frame.loc[0, "aware_at"] == pd.Timestamp("2026-05-04 08:00:00.123456", tz="UTC")
    assert frame.loc[0, "affected_count"] == 2**62


# Raw SQLite storage forms: these tests run on SQLite only (not parametrised over PostgreSQL, so that no
# skip is reported, which CI=true would rightly count as a failure).
sqlite_only = pytest.mark.parametrize("register_url", ["sqlite"], indirect=True)


@sqlite_only
def test_times_written_by_another_tool_read_like_the_reference(
    filled: Register, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Time text in other ISO forms (no fraction, 'T', offsets) and odd stored types: the reference."""
    assert filled.dialect == "sqlite"
    ids = filled.incidents_frame(columns=["id"])["id"].tolist()
    with filled.engine.begin() as connection:
        run = connection.exec_driver_sql
        run("UPDATE incidents SET aware_at = '2025-01-03T04:05:06+02:00' WHERE id = ?", (ids[5],))
        run("UPDATE incidents SET aware_at = '2025-01-02 00:00:00' WHERE id = ?", (ids[7],))
        run("UPDATE incidents SET contained_at = '2025-01-04T01:02:03.5Z' WHERE id = ?", (ids[9],))
        run("UPDATE incidents SET ongoing = 'yes', affected_count = '12' WHERE id = ?", (ids[11],))
        odd = "tags = 'null', summary = x'41', evidence_hold = 2.5"
        run(f"UPDATE incidents SET {odd} WHERE id = ?", (ids[13],))
        # vocabulary columns: a value outside the vocabulary, a value of another type
        run("UPDATE incidents SET severity = 'SEV-9', category = x'42' WHERE id = ?", (ids[15],))
        run("UPDATE action_items SET status = 'paused' WHERE id IN (SELECT min(id) FROM action_items)")
    fast = _assert_fast_equals_reference(filled, monkeypatch)
    order = [row[0] for row in filled.engine.connect().exec_driver_sql(
        "SELECT id FROM incidents ORDER BY aware_at, id").fetchall()]  # fmt: skip
    assert fast["incidents"]["id"].tolist() == order


@sqlite_only
def test_sorting_here_gives_sqlites_text_order(reg: Register) -> None:
    """Ids that sort differently by code point, case and length, with equal awareness times."""
    assert reg.dialect == "sqlite"
    at = "2026-01-01 00:00:00.000000"
    with reg.engine.begin() as connection:
        for incident_id in ["INC-2026-10000", "INC-2026-9999", "INC-2026-0002", "INC-2026-00010"]:
            connection.execute(
                sa.text(
                    "INSERT INTO incidents (id, title, category, kind, severity, status, aware_at, "
                    "affected_groups, ongoing, regulatory_notifiable, publicly_visible, evidence_hold, "
                    "contributing_factors, model_versions, tags, postmortem_status) VALUES (:id, 't', "
                    "'data_quality', 'incident', 'SEV-4', 'detected', :at, '[]', 0, 0, 0, 0, '[]', '[]', "
                    "'[]', 'not_started')"
                ),
                {"id": incident_id, "at": at},
            )
    expected = [i.id for i in reg.list_incidents()]
    assert reg.incidents_frame()["id"].tolist() == expected
    assert expected == sorted(expected)


def test_empty_register_frames_keep_their_types(tmp_path) -> None:
    with open_register(tmp_path / "r.sqlite", create=True) as reg:
        frame = reg.incidents_frame()
        metrics = reg.metrics_frame(as_of=AS_OF)
    assert len(frame) == 0 and str(frame["aware_at"].dtype) == "datetime64[us, UTC]"
    assert len(metrics) == 0


@pytest.mark.parametrize(
    "text",
    [
        "2024-02-29 23:59:59.999999",  # leap day
        "2023-02-29 00:00:00.000000",  # no such day
        "2024-04-31 00:00:00.000000",
        "2024-13-01 00:00:00.000000",
        "2024-00-10 00:00:00.000000",
        "2024-01-00 00:00:00.000000",
        "2024-01-01 24:00:00.000000",
        "2024-01-01 00:00:60.000000",  # pandas rolls a leap second over; the fast path declines
        "0000-01-01 00:00:00.000000",
        "0001-01-01 00:00:00.000000",
        "9999-12-31 23:59:59.999999",
        "2024-01-01 00:00:00.000000Z",
        "2024-01-01T00:00:00.000000",
        "2024-01-01 00:00:00",
        "2024-1-01 00:00:00.0000001",
        "None",
        "１９９９-01-01 00:00:00.000000",  # non-ASCII digits
    ],
)
def test_time_text_parses_like_the_reference_or_declines(text: str) -> None:
    from register._frame_read import _sqlite_times, _utc_series

    values = np.array([None, text, "2026-05-01 10:00:00.000001", None], dtype=object)
    fast = _sqlite_times(values)
    try:
        reference = _utc_series(pd.Series(values, dtype=object))
    except ValueError:
        assert fast is None  # the reference refuses it: so must the fast path (it declines)
        return
    if fast is not None:
        pd.testing.assert_series_equal(fast, reference, check_exact=True)
    canonical = len(text) == 26 and text[:4].isascii() and text[4] == "-" and text[10] == " "
    assert (fast is not None) == (canonical and text[17:19] != "60")
