"""Property-based tests of import/export: lossless round-trips; malformed input -> ValidationFailed."""

from __future__ import annotations

import csv
import io
import json
import shutil
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from register.errors import ValidationFailed
from register.io import ENTITY_ORDER, Bundle, read_bundle, read_entities, write_bundle
from register.schema import (
    ActionItem,
    ActionItemKind,
    ActionItemStatus,
    AiSystem,
    Classification,
    ColumnRoles,
    DataCard,
    DataQualitySignal,
    DataSource,
    DetectionSource,
    Evidence,
    Incident,
    IncidentCategory,
    IncidentStatus,
    LabelErrorSignal,
    Notification,
    NotificationAudience,
    PostmortemStatus,
    PredictionConditionSignal,
    ReportType,
    Role,
    Severity,
    TimelineEvent,
    TimelineEventKind,
)

SETTINGS = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Text: any character but surrogates and the C0 control characters the records refuse (tab, line feed and
# carriage return are allowed, see register.schema.TEXT_LIMITS); XLSX cannot hold control characters, so
# its bundles use printable text.
_REFUSED_CONTROLS = "".join(chr(code) for code in range(0x20) if chr(code) not in "\t\n\r")
ANY_TEXT = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters=_REFUSED_CONTROLS),
    min_size=1,
    max_size=30,
)
PRINTABLE_TEXT = st.text(
    st.characters(blacklist_categories=("Cs", "Cc", "Cf", "Zl", "Zp", "Co", "Cn")), min_size=1, max_size=30
)
OFFSETS = st.sampled_from([UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-5, minutes=-30))])
TIMES = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2090, 1, 1), timezones=OFFSETS)
DURATIONS = st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=40))

CARDS = [
    DataCard(
        source=DataSource(location="logs/credit/*.parquet"),
        task="binary_classification",
        columns=ColumnRoles(
            event_time="ts",
            entity_id="customer_id",
            features=["income", "region"],
            categorical_features=["region"],
            prediction="y_pred",
            label="y_true",
            input_as_of={"income": "income_as_of"},
        ),
        failure_signal=DataQualitySignal(column="income", condition="stale", max_lag=timedelta(hours=6)),
    ),
    DataCard(
        source=DataSource(location="duckdb://warehouse.duckdb", format="connection", table="predictions"),
        task="regression",
        columns=ColumnRoles(event_time="t", entity_id="id", score="yhat", label="y"),
        positive_label=None,
        failure_signal=LabelErrorSignal(tolerance=0.25, relative=True),
    ),
]
SIGNALS = [None, PredictionConditionSignal(column="score", op=">=", value=0.9), LabelErrorSignal()]


def _optional(strategy: st.SearchStrategy) -> st.SearchStrategy:
    return st.none() | strategy


@st.composite
def incidents(draw: st.DrawFn, text: st.SearchStrategy, number: int, system_ids: list[str]) -> Incident:
    aware = draw(TIMES)
    occurred = aware - draw(DURATIONS)
    acknowledged = draw(_optional(st.just(aware + draw(DURATIONS))))
    contained = draw(_optional(st.just(aware + draw(DURATIONS))))
    resolved = None if contained is None else draw(_optional(st.just(contained + draw(DURATIONS))))
    closed = None if resolved is None else draw(_optional(st.just(resolved + draw(DURATIONS))))
    return Incident(
        id=f"INC-{aware.year}-{number:04d}",
        title=draw(text),
        summary=draw(_optional(text)),
        system_id=draw(_optional(st.sampled_from(system_ids))) if system_ids else None,
        category=draw(st.sampled_from(list(IncidentCategory))),
        kind=draw(st.sampled_from(["incident", "near_miss"])),
        severity=draw(st.sampled_from(list(Severity))),
        status=draw(st.sampled_from(list(IncidentStatus))),
        detection_source=draw(_optional(st.sampled_from(list(DetectionSource)))),
        occurred_at=draw(_optional(st.just(occurred))),
        aware_at=aware,
        acknowledged_at=acknowledged,
        contained_at=contained,
        resolved_at=resolved,
        closed_at=closed,
        affected_count=draw(_optional(st.integers(0, 10**9))),
        affected_groups=draw(st.lists(text, max_size=3)),
        ongoing=draw(st.booleans()),
        reversible=draw(_optional(st.booleans())),
        regulatory_notifiable=draw(st.booleans()),
        incident_commander=draw(_optional(text)),
        contributing_factors=draw(st.lists(text, max_size=2)),
        tags=draw(st.lists(text, max_size=3)),
        postmortem_status=draw(st.sampled_from(list(PostmortemStatus))),
        failure_signal=draw(st.sampled_from(SIGNALS)),
    )


@st.composite
def bundles(draw: st.DrawFn, text: st.SearchStrategy = ANY_TEXT) -> Bundle:
    n_systems = draw(st.integers(0, 2))
    systems = [
        AiSystem(
            id=f"sys-{n}",
            name=draw(text),
            owner_team=draw(_optional(text)),
            risk_tier=draw(_optional(st.sampled_from(["eu_ai_act_high_risk", "minimal"]))),
            data_card=draw(_optional(st.sampled_from(CARDS))),
        )
        for n in range(n_systems)
    ]
    records = [draw(incidents(text, n + 1, [s.id for s in systems])) for n in range(draw(st.integers(0, 3)))]
    ids = [i.id for i in records]
    if not ids:
        return Bundle(ai_systems=systems)
    pick = st.sampled_from(ids)
    events = [
        TimelineEvent(
            id=n if draw(st.booleans()) else None,
            incident_id=draw(pick),
            at=draw(TIMES),
            kind=draw(st.sampled_from(list(TimelineEventKind))),
            description=draw(text),
            role=draw(_optional(st.sampled_from(list(Role)))),
        )
        for n in range(draw(st.integers(0, 3)))
    ]
    actions = [
        ActionItem(
            id=f"A-{n}",
            incident_id=draw(pick),
            title=draw(text),
            owner=draw(_optional(text)),
            kind=draw(st.sampled_from(list(ActionItemKind))),
            priority=draw(st.sampled_from(["P1", "P2", "P3", "P4"])),
            due_at=draw(_optional(TIMES)),
            status=draw(st.sampled_from(list(ActionItemStatus))),
        )
        for n in range(draw(st.integers(0, 2)))
    ]
    notifications = [
        Notification(
            incident_id=draw(pick),
            audience=draw(st.sampled_from(list(NotificationAudience))),
            regime=draw(_optional(st.sampled_from(["gdpr_art33", "eu_ai_act_art73"]))),
            report_type=draw(st.sampled_from(list(ReportType))),
            due_at=draw(_optional(TIMES)),
            sent_at=draw(_optional(TIMES)),
        )
        for _ in range(draw(st.integers(0, 2)))
    ]
    evidence = [
        Evidence(
            incident_id=draw(pick),
            kind="notebook",
            uri=draw(text),
            sha256=draw(_optional(st.just("ab" * 32))),
            captured_at=draw(TIMES),
        )
        for _ in range(draw(st.integers(0, 1)))
    ]
    labels = [
        Classification(incident_id=draw(pick), namespace=draw(text), attribute=draw(text), value=draw(text))
        for _ in range(draw(st.integers(0, 2)))
    ]
    return Bundle(systems, records, events, actions, notifications, evidence, labels)


def _fresh(tmp_path: Path, name: str) -> Path:
    target = tmp_path / name
    if target.exists():
        shutil.rmtree(target) if target.is_dir() else target.unlink()
    return target


@pytest.mark.parametrize(
    ("fmt", "layout", "name"),
    [
        ("csv", "folder", "b"),
        ("json", "folder", "b"),
        ("json", "document", "b.json"),
        ("yaml", "document", "b.yaml"),
    ],
)
@SETTINGS
@given(bundle=bundles())
def test_round_trip_is_lossless(tmp_path: Path, fmt: str, layout: str, name: str, bundle: Bundle) -> None:
    target = _fresh(tmp_path, name)
    write_bundle(bundle, target, fmt, layout=layout)
    assert read_bundle(target, resolve_locations=False, allow_empty=True) == bundle


@pytest.mark.parametrize(("fmt", "layout", "name"), [("yaml", "folder", "b"), ("xlsx", "document", "b.xlsx")])
@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(bundle=bundles(PRINTABLE_TEXT))
def test_round_trip_other_layouts(tmp_path: Path, fmt: str, layout: str, name: str, bundle: Bundle) -> None:
    target = _fresh(tmp_path, name)
    write_bundle(bundle, target, fmt, layout=layout)
    assert read_bundle(target, resolve_locations=False, allow_empty=True) == bundle


def _valid_folder(tmp_path: Path) -> Path:
    aware = datetime(2026, 3, 1, 9, tzinfo=UTC)
    incident = Incident(
        id="INC-2026-0001",
        title="Credit scores drift",
        category="performance_degradation",
        severity="SEV-2",
        system_id="credit",
        occurred_at=aware - timedelta(hours=5),
        aware_at=aware,
        tags=["drift"],
    )
    bundle = Bundle(
        ai_systems=[AiSystem(id="credit", name="Credit scoring", data_card=CARDS[0])],
        incidents=[incident],
        timeline_events=[
            TimelineEvent(incident_id=incident.id, at=aware, kind="detection", description="alert fired")
        ],
        action_items=[
            ActionItem(id="A-1", incident_id=incident.id, title="Add freshness check", kind="detect")
        ],
    )
    return write_bundle(bundle, tmp_path / "valid", "csv")


MUTATIONS = st.sampled_from(
    [
        "drop_column",
        "garble_time",
        "bad_enum",
        "truncate",
        "random_bytes",
        "duplicate_row",
        "extra_column",
        "swap",
    ]
)


@SETTINGS
@given(mutation=MUTATIONS, position=st.integers(0, 10_000), noise=st.binary(min_size=1, max_size=200))
def test_malformed_csv_always_gives_a_failure_table(
    tmp_path: Path, mutation: str, position: int, noise: bytes
) -> None:
    folder = _fresh(tmp_path, "valid")
    folder = _valid_folder(tmp_path)
    target = folder / ("incidents.csv" if position % 2 else "timeline_events.csv")
    lines = target.read_text(encoding="utf-8").splitlines()
    header, rows = lines[0].split(","), lines[1:]
    if mutation == "drop_column":
        required = (
            ["id", "title", "category", "severity", "aware_at"]
            if target.name == "incidents.csv"
            else ["incident_id", "at", "kind", "description"]
        )
        index = header.index(required[position % len(required)])

        table = list(csv.reader(io.StringIO(target.read_text(encoding="utf-8"))))
        buffer = io.StringIO()
        csv.writer(buffer).writerows([[c for n, c in enumerate(r) if n != index] for r in table])
        target.write_text(buffer.getvalue(), encoding="utf-8")
    elif mutation == "garble_time":
        text = target.read_text(encoding="utf-8").replace("2026-03-01T", "2026-13-01T", 1)
        target.write_text(text, encoding="utf-8")
    elif mutation == "bad_enum":
        text = target.read_text(encoding="utf-8")
        text = text.replace("SEV-2", "SEV-9").replace(",detection,", ",discovery,")
        target.write_text(text, encoding="utf-8")
    elif mutation == "truncate":
        data = target.read_bytes()
        cut = position % (len(lines[0]) - 1)
        if data[cut : cut + 1] == b",":  # a cut before a comma keeps whole column names (maybe all
            cut -= 1  # the required ones: a valid header-only file); cut inside a name instead
        target.write_bytes(data[:cut])  # inside a column name of the header: never valid
    elif mutation == "random_bytes":
        data = target.read_bytes()
        cut = position % len(data)
        target.write_bytes(data[:cut] + noise + data[cut:])
        if b"\x00" not in noise and noise.isascii() and noise.strip(b'\t\r\n ,"') == b"":
            return  # noise that is only separators may leave a valid file; nothing to assert
    elif mutation == "duplicate_row":
        if "incidents" in target.name:
            target.write_text("\n".join([lines[0], rows[0], rows[0]]) + "\n", encoding="utf-8")
        else:
            (folder / "incidents.csv").write_text(
                (folder / "incidents.csv").read_text(encoding="utf-8").splitlines()[0] + "\n",
                encoding="utf-8",
            )
    elif mutation == "extra_column":
        target.write_text(
            "\n".join([lines[0] + ",surprise"] + [row + ",1" for row in rows]) + "\n", encoding="utf-8"
        )
    elif mutation == "swap":
        target.write_text(json.dumps({"not": "a csv"}), encoding="utf-8")
    try:
        read_bundle(folder)
    except ValidationFailed as exc:
        assert exc.failures, "a ValidationFailed must carry its failure rows"
        assert all({"file", "row", "column", "problem", "value"} <= set(row) for row in exc.failures)
    else:
        # only random noise can leave a valid file behind (e.g. bytes inside a free-text cell)
        assert mutation == "random_bytes"


@SETTINGS
@given(data=st.data())
def test_malformed_json_bundles_always_give_a_failure_table(tmp_path: Path, data: st.DataObject) -> None:
    target = _fresh(tmp_path, "bundle.json")
    bundle = read_bundle(_valid_folder(tmp_path), resolve_locations=False)
    write_bundle(bundle, target, "json")
    document = json.loads(target.read_text(encoding="utf-8"))
    mutation = data.draw(st.sampled_from(["delete_key", "replace_value", "truncate", "bytes", "wrong_type"]))
    entity = data.draw(st.sampled_from([e for e in ENTITY_ORDER if document[e]]))
    record = document[entity][0]
    key = data.draw(st.sampled_from(sorted(record)))
    junk = data.draw(
        st.one_of(st.integers(), st.text(max_size=5), st.lists(st.integers(), max_size=2), st.just({"x": 1}))
    )
    if mutation == "delete_key":
        record.pop(key)
        record["not_a_field"] = 1
        target.write_text(json.dumps(document), encoding="utf-8")
    elif mutation == "replace_value":
        record[key] = junk
        record["also_not_a_field"] = junk
        target.write_text(json.dumps(document), encoding="utf-8")
    elif mutation == "truncate":
        text = target.read_text(encoding="utf-8")
        target.write_text(text[: data.draw(st.integers(0, len(text) - 2))], encoding="utf-8")
    elif mutation == "bytes":
        target.write_bytes(data.draw(st.binary(min_size=0, max_size=300)))
    else:
        document[entity] = junk if not isinstance(junk, list) else {"x": junk}
        target.write_text(json.dumps(document), encoding="utf-8")
    with pytest.raises(ValidationFailed) as caught:
        read_bundle(target)
    assert caught.value.failures


def test_failures_name_file_row_and_column(tmp_path: Path) -> None:
    folder = _valid_folder(tmp_path)
    (folder / "incidents.csv").write_text(
        (folder / "incidents.csv").read_text(encoding="utf-8").replace("SEV-2", "SEV-9"), encoding="utf-8"
    )
    events = folder / "timeline_events.csv"
    header = events.read_text(encoding="utf-8").splitlines()[0]
    events.write_text(
        header
        + '\n,INC-2026-0001,2026-03-01T09:00:00+00:00,detection,"two\nlines",,\n'
        + ",INC-2026-0001,yesterday,detection,ok,,\n"
        + ",INC-2026-0999,2026-03-01T10:00:00Z,note,orphan,,\n",
        encoding="utf-8",
    )
    with pytest.raises(ValidationFailed) as caught:
        read_bundle(folder)
    found = {(r["file"], r["row"], r["column"], r["problem"]) for r in caught.value.failures}
    assert found == {
        ("incidents.csv", 2, "severity", "invalid_value"),
        ("timeline_events.csv", 4, "at", "invalid_time"),  # the first record spans lines 2-3
        ("timeline_events.csv", 5, "incident_id", "unknown_reference"),
        # the orphan's incident is gone because its row was invalid: both children point nowhere
        ("timeline_events.csv", 2, "incident_id", "unknown_reference"),
        ("action_items.csv", 2, "incident_id", "unknown_reference"),
    }


def test_cross_entity_checks(tmp_path: Path) -> None:
    aware = datetime(2026, 3, 1, tzinfo=UTC)
    good = Incident(id="INC-2026-0001", title="a", category="safety", severity="SEV-1", aware_at=aware)
    bundle = Bundle(incidents=[good, good.model_copy(update={"title": "b"})])
    bundle.incidents.append(
        Incident.model_construct(
            **{
                **good.model_dump(),
                "id": "INC-2026-0002",
                "system_id": "ghost",
                "closed_at": aware - timedelta(days=1),
            }
        )
    )
    target = write_bundle(bundle, tmp_path / "b.yaml")
    with pytest.raises(ValidationFailed) as caught:
        read_bundle(target)
    found = {(r["row"], r["column"], r["problem"]) for r in caught.value.failures}
    assert found == {
        (2, "id", "duplicate_id"),
        (3, "closed_at", "inconsistent_times"),
        (3, "system_id", "unknown_reference"),
    }
    # known ids and external references
    assert read_bundle(
        write_bundle(Bundle(incidents=[bundle.incidents[0]]), tmp_path / "c.json"), known_system_ids=["ghost"]
    ).incidents == [good]
    orphan = Bundle(
        timeline_events=[TimelineEvent(incident_id="INC-2026-0042", at=aware, kind="note", description="x")]
    )
    path = write_bundle(orphan, tmp_path / "orphan", "csv")
    with pytest.raises(ValidationFailed):
        read_bundle(path)
    assert read_bundle(path, known_incident_ids=["INC-2026-0042"]) == orphan
    assert read_bundle(path, allow_external=True).external_references() == {
        "incidents": {"INC-2026-0042"},
        "ai_systems": set(),
    }


def test_scenario_layout_and_relative_data_cards(tmp_path: Path) -> None:
    """The scenario generator's layout: mixed formats named by the manifest, data cards relative to it."""
    folder = _valid_folder(tmp_path)
    systems = read_entities(folder / "ai_systems.csv", "ai_systems")
    (folder / "ai_systems.json").write_text(
        json.dumps([s.model_dump(mode="json") for s in systems]), encoding="utf-8"
    )
    (folder / "ai_systems.csv").unlink()
    (folder / "evidence.csv").unlink()
    (folder / "classifications.csv").unlink()
    (folder / "manifest.json").write_text(
        json.dumps(
            {
                "format": "workbench-bundle",
                "version": 1,
                "files": {
                    "ai_systems": "ai_systems.json",
                    "incidents": "incidents.csv",
                    "timeline_events": "timeline_events.csv",
                    "action_items": "action_items.csv",
                    "notifications": "notifications.csv",
                },
            }
        ),
        encoding="utf-8",
    )
    bundle = read_bundle(folder)
    assert bundle.ai_systems[0].data_card.source.location == str(folder / "logs/credit/*.parquet")
    assert read_bundle(folder, resolve_locations=False).ai_systems[0].data_card.source.location == (
        "logs/credit/*.parquet"
    )
    assert bundle.counts()["timeline_events"] == 1


def test_csv_conventions_offsets_naive_and_empty_cells(tmp_path: Path) -> None:
    path = tmp_path / "incidents.csv"
    path.write_text(
        "id,title,category,severity,aware_at,occurred_at,tags,affected_count,reversible\n"
        'INC-2026-0001,A,safety,SEV-1,2026-03-01T10:00:00+02:00,2026-03-01 07:30:00,"[""x""]",,\n',
        encoding="utf-8",
    )
    (incident,) = read_entities(path, "incidents")
    assert incident.aware_at == datetime(2026, 3, 1, 8, tzinfo=UTC)
    assert incident.occurred_at == datetime(2026, 3, 1, 7, 30, tzinfo=UTC)
    assert incident.tags == ["x"] and incident.affected_count is None and incident.reversible is None


def test_single_xlsx_with_sheets_and_wrong_sheet(tmp_path: Path) -> None:
    bundle = read_bundle(_valid_folder(tmp_path), resolve_locations=False)
    workbook = write_bundle(bundle, tmp_path / "bundle.xlsx")
    assert read_bundle(workbook, resolve_locations=False) == bundle
    assert read_entities(workbook, "incidents") == bundle.incidents
    with pytest.raises(ValidationFailed) as caught:
        read_entities(workbook, "incidents", sheet="nope")
    assert caught.value.failures[0]["problem"] == "missing_sheet"
    (tmp_path / "fake.xlsx").write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(ValidationFailed) as caught:
        read_bundle(tmp_path / "fake.xlsx")
    assert caught.value.failures[0]["problem"] == "malformed_file"


@pytest.mark.parametrize(
    ("name", "content", "problem"),
    [
        ("b.json", b"{not json", "malformed_file"),
        ("b.yaml", b"a: [1, 2\n", "malformed_file"),
        ("b.json", b'{"format": "other", "version": 2}', "invalid_value"),
        ("b.json", b'{"format": "workbench-bundle", "version": 1, "people": []}', "unknown_entity"),
        ("b.json", b"[]", "malformed_file"),
        ("b.txt", b"x", "unsupported_format"),
        ("b.csv", b"id\n", "unsupported_format"),
        ("b.json", "\u00e9".encode("latin-1"), "malformed_file"),
    ],
)
def test_malformed_documents(tmp_path: Path, name: str, content: bytes, problem: str) -> None:
    (tmp_path / name).write_bytes(content)
    with pytest.raises(ValidationFailed) as caught:
        read_bundle(tmp_path / name)
    assert problem in {row["problem"] for row in caught.value.failures}


def test_folder_without_manifest_and_bad_manifest(tmp_path: Path) -> None:
    folder = _valid_folder(tmp_path)
    expected = read_bundle(folder)
    (folder / "manifest.json").unlink()
    assert read_bundle(folder) == expected  # files named <entity>.<ext> are found
    (folder / "manifest.json").write_text(
        '{"format": "workbench-bundle", "version": 1, "files": {"x": "../y"}}'
    )
    with pytest.raises(ValidationFailed) as caught:
        read_bundle(folder)
    assert {row["problem"] for row in caught.value.failures} == {"unknown_entity"}
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValidationFailed) as caught:
        read_bundle(empty)
    assert caught.value.failures[0]["problem"] == "missing_file"


_VALID_BYTES: dict[str, bytes] = {}


@SETTINGS
@given(data=st.data())
def test_any_bytes_in_any_format_give_validation_failed(tmp_path: Path, data: st.DataObject) -> None:
    """Fuzz every reader: random bytes, or a valid file with bytes flipped, never raise anything else."""
    suffix = data.draw(st.sampled_from([".csv", ".json", ".yaml", ".xlsx"]))
    source = _fresh(tmp_path, f"fuzz{suffix}")
    if suffix not in _VALID_BYTES:  # written once: XLSX bytes carry a timestamp, draws must not depend on it
        bundle = read_bundle(_valid_folder(tmp_path), resolve_locations=False)
        if suffix == ".csv":
            _VALID_BYTES[suffix] = (tmp_path / "valid" / "incidents.csv").read_bytes()
        else:
            _VALID_BYTES[suffix] = write_bundle(bundle, tmp_path / f"valid{suffix}").read_bytes()
    source.write_bytes(_VALID_BYTES[suffix])
    payload = bytearray(source.read_bytes())
    if data.draw(st.booleans()):
        payload = bytearray(data.draw(st.binary(max_size=400)))
    else:
        for _ in range(data.draw(st.integers(1, 8))):
            position = data.draw(st.integers(0, len(payload) - 1))
            payload[position] = data.draw(st.integers(0, 255))
    source.write_bytes(bytes(payload))
    try:
        if suffix == ".csv":
            read_entities(source, "incidents")
        else:
            read_bundle(source)
    except ValidationFailed as exc:
        assert exc.failures
