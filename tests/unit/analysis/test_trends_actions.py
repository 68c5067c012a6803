"""Action items across incidents: every number against a hand-computed ten-item register."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from analysis._trends_actions import (
    AGE_BUCKETS,
    PREVENTIVE_KINDS,
    UNASSIGNED,
    action_item_summary,
    action_item_table,
)
from analysis.errors import InvalidParameterError

AS_OF = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)
SECOND = timedelta(seconds=1)


def _items(*, as_text: bool = False) -> pd.DataFrame:
    rows = [
        # id, incident, owner, team, kind, priority, status, due_at, completed_at
        ("A1", 1, "ann", "ml", "prevent", "P1", "open", AS_OF, None),  # due exactly at as_of
        ("A2", 1, None, None, "mitigate", "P2", "in_progress", AS_OF - 10 * DAY, None),
        ("A3", 2, "bo", "ml", "detect", "P3", "done", AS_OF + 5 * DAY, AS_OF + SECOND),  # done later
        ("A4", 2, "ann", "ops", "process", "P2", "done", AS_OF - 20 * DAY, AS_OF - 25 * DAY),
        ("A5", 3, "ann", None, "prevent", "P3", "wont_do", AS_OF - 100 * DAY, None),
        ("A6", 3, "bo", None, "mitigate", "P2", "open", None, None),  # no due date
        ("A7", 2, "ann", "ops", "mitigate", "P4", "open", AS_OF - SECOND, None),
        ("A8", 4, "cy", "ops", "process", "P1", "open", AS_OF - 95 * DAY, None),
        ("A9", 1, "bo", None, "detect", "P3", "done", AS_OF - 3 * DAY, AS_OF - DAY),  # done late
        ("A10", 99, "  ", None, "mitigate", "P2", "open", AS_OF - 31 * DAY, None),  # blank owner
    ]
    columns = ["id", "incident_id", "owner", "team", "kind", "priority", "status", "due_at", "completed_at"]
    frame = pd.DataFrame(rows, columns=columns)
    frame["incident_id"] = [f"INC-2026-{number:04d}" for number in frame["incident_id"]]
    for column in ("due_at", "completed_at"):
        times = pd.to_datetime(frame[column], utc=True)
        text = times.dt.strftime("%Y-%m-%dT%H:%M:%S%z").where(times.notna(), None)
        frame[column] = text if as_text else times
    return frame


def _incidents() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": [f"INC-2026-{number:04d}" for number in (1, 2, 3, 4, 5)],
            "system_id": ["s1", "s2", "s1", "s2", "s1"],
            "severity": ["SEV-2", "SEV-3", "SEV-1", "SEV-4", "SEV-3"],
            "status": ["closed", "recovered", "closed", "closed", "closed"],
            "closed_at": pd.to_datetime(
                [AS_OF - DAY, None, AS_OF, AS_OF + timedelta(hours=1), AS_OF - 2 * DAY], utc=True
            ),
        }
    )


@pytest.fixture(params=["datetimes", "iso_text"])
def table(request: pytest.FixtureRequest) -> pd.DataFrame:
    return action_item_table(_items(as_text=request.param == "iso_text"), _incidents(), as_of=AS_OF)


def _by_id(table: pd.DataFrame, column: str) -> dict[str, object]:
    pairs = zip(table["id"], table[column], strict=True)
    return {row_id: (None if pd.isna(value) else value) for row_id, value in pairs}


def _ids_where(table: pd.DataFrame, column: str) -> set[str]:
    return set(table.loc[table[column].to_numpy(dtype=bool), "id"])


def test_order_overdue_first_most_overdue_first_then_due_date_then_id(table: pd.DataFrame) -> None:
    assert table["id"].tolist() == ["A8", "A10", "A2", "A7", "A5", "A4", "A9", "A1", "A3", "A6"]


def test_open_done_overdue_as_of(table: pd.DataFrame) -> None:
    opened = _ids_where(table, "is_open")
    assert opened == {"A1", "A2", "A3", "A6", "A7", "A8", "A10"}  # A3: completed one second after as_of
    assert _ids_where(table, "is_done") == {"A4", "A9"}
    # A1 is due exactly at as_of: not overdue; A7 one second before: overdue, 0 days
    assert _ids_where(table, "overdue") == {"A2", "A7", "A8", "A10"}
    assert {k: v for k, v in _by_id(table, "days_overdue").items() if v is not None} == {
        "A8": 95, "A10": 31, "A2": 10, "A7": 0,
    }  # fmt: skip
    assert str(table["days_overdue"].dtype) == "Int64"
    assert table["is_open"].dtype == bool and table["overdue"].dtype == bool


def test_age_buckets(table: pd.DataFrame) -> None:
    assert _by_id(table, "age_bucket") == {
        "A1": "not due", "A3": "not due", "A7": "0-7 d", "A2": "8-30 d", "A10": "31-90 d", "A8": "> 90 d",
        "A6": "no due date", "A4": None, "A5": None, "A9": None,
    }  # fmt: skip


def test_incident_facts_and_incident_closed_while_open(table: pd.DataFrame) -> None:
    assert _by_id(table, "system_id") == {
        "A1": "s1", "A2": "s1", "A9": "s1", "A3": "s2", "A4": "s2", "A7": "s2", "A5": "s1", "A6": "s1",
        "A8": "s2", "A10": None,
    }  # fmt: skip
    assert _by_id(table, "incident_status")["A4"] == "recovered"
    assert _by_id(table, "severity")["A8"] == "SEV-4"
    # INC-1 closed a day before as_of (A1, A2 open), INC-3 closed exactly at as_of (A6 open); INC-4
    # closes an hour after as_of (A8 not counted); A9 is done, A5 won't be done
    closed_while_open = _ids_where(table, "incident_closed_while_open")
    assert closed_while_open == {"A1", "A2", "A6"}
    assert str(table["incident_closed_at"].dtype) == "datetime64[us, UTC]"


def test_closed_on_time(table: pd.DataFrame) -> None:
    assert _ids_where(table, "closed_on_time") == {"A4"}


def test_summary_numbers(table: pd.DataFrame) -> None:
    summary = action_item_summary(table, _incidents(), as_of=AS_OF)
    assert json.loads(json.dumps(summary)) == summary  # plain JSON values
    assert summary["as_of"] == "2026-03-01T12:00:00+00:00"
    expected = {"items": 10, "open": 7, "overdue": 4, "done": 2, "wont_do": 1, "open_on_closed_incidents": 3}
    assert {key: summary[key] for key in expected} == expected
    assert summary["closure_rate"] == pytest.approx(0.2)
    assert summary["closed_on_time"] == 1
    assert summary["on_time_rate"] == pytest.approx(0.5)  # A4 on time, A9 late
    assert summary["ageing"] == {
        "not due": 2, "0-7 d": 1, "8-30 d": 1, "31-90 d": 1, "> 90 d": 1, "no due date": 1
    }  # fmt: skip
    assert list(summary["ageing"]) == list(AGE_BUCKETS)


def test_summary_groupings(table: pd.DataFrame) -> None:
    summary = action_item_summary(table, _incidents(), as_of=AS_OF)
    assert summary["by_owner"] == {  # most overdue, then most open, then name; blank/missing: unassigned
        UNASSIGNED: {"items": 2, "open": 2, "overdue": 2, "done": 0},
        "ann": {"items": 4, "open": 2, "overdue": 1, "done": 1},
        "cy": {"items": 1, "open": 1, "overdue": 1, "done": 0},
        "bo": {"items": 3, "open": 2, "overdue": 0, "done": 1},
    }
    assert list(summary["by_owner"]) == [UNASSIGNED, "ann", "cy", "bo"]
    assert summary["by_team"] == {
        UNASSIGNED: {"items": 5, "open": 3, "overdue": 2, "done": 1},
        "ops": {"items": 3, "open": 2, "overdue": 2, "done": 1},
        "ml": {"items": 2, "open": 2, "overdue": 0, "done": 0},
    }
    assert list(summary["by_kind"]) == ["mitigate", "prevent", "detect", "process"]  # vocabulary order
    assert summary["by_kind"] == {
        "mitigate": {"items": 4, "open": 4, "overdue": 3, "done": 0},
        "prevent": {"items": 2, "open": 1, "overdue": 0, "done": 0},
        "detect": {"items": 2, "open": 1, "overdue": 0, "done": 1},
        "process": {"items": 2, "open": 1, "overdue": 1, "done": 1},
    }
    assert summary["by_priority"] == {
        "P1": {"items": 2, "open": 2, "overdue": 1, "done": 0},
        "P2": {"items": 4, "open": 3, "overdue": 2, "done": 1},
        "P3": {"items": 3, "open": 1, "overdue": 0, "done": 1},
        "P4": {"items": 1, "open": 1, "overdue": 1, "done": 0},
    }


def test_incidents_without_preventive_item(table: pd.DataFrame) -> None:
    assert PREVENTIVE_KINDS == ("prevent", "detect")
    # closed at/before as_of: INC-1 (A1 prevent, A9 detect), INC-3 (A5 prevent but won't do), INC-5
    # (no items); INC-4 closes after as_of
    found = action_item_summary(table, _incidents(), as_of=AS_OF)["incidents_without_preventive"]
    assert found["incident_ids"] == ["INC-2026-0003", "INC-2026-0005"]
    assert (found["count"], found["checked"], found["preventive_kinds"]) == (2, 3, ["prevent", "detect"])
    assert "closed at or before as_of" in found["scope"]
    # with the metrics' postmortem_required column, required incidents are checked too (INC-2 has A3)
    incidents = _incidents().assign(postmortem_required=pd.array([False, True, None, True, False], "boolean"))
    found = action_item_summary(table, incidents, as_of=AS_OF)["incidents_without_preventive"]
    assert found["incident_ids"] == ["INC-2026-0003", "INC-2026-0004", "INC-2026-0005"]
    assert found["checked"] == 5


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"overdue_only": True}, ["A8", "A10", "A2", "A7"]),
        ({"owners": [UNASSIGNED]}, ["A10", "A2"]),
        ({"owners": ["ann"], "overdue_only": True}, ["A7"]),
        ({"owners": ["ann", "cy"]}, ["A8", "A7", "A5", "A4", "A1"]),
        ({"teams": ["ops"]}, ["A8", "A7", "A4"]),
        ({"systems": ["s1"]}, ["A2", "A5", "A9", "A1", "A6"]),
        ({"owners": ["nobody"]}, []),
        ({"systems": ["unknown-system"]}, []),
    ],
)
def test_filters(filters: dict[str, object], expected: list[str]) -> None:
    table = action_item_table(_items(), _incidents(), as_of=AS_OF, **filters)  # type: ignore[arg-type]
    assert table["id"].tolist() == expected
    assert "age_bucket" in table.columns


def test_empty_table_summary() -> None:
    empty = action_item_table(_items(), _incidents(), as_of=AS_OF, owners=["nobody"])
    summary = action_item_summary(empty, _incidents(), as_of=AS_OF)
    assert (summary["items"], summary["open"]) == (0, 0)
    assert (summary["closure_rate"], summary["on_time_rate"]) == (None, None)
    assert summary["by_owner"] == {} and sum(summary["ageing"].values()) == 0
    assert summary["incidents_without_preventive"]["count"] == 3  # INC-1, 3, 5: closed, no item in the table


def test_missing_columns_and_nulls() -> None:
    items = pd.DataFrame({"id": ["B1", "B2"], "incident_id": ["INC-2026-0001", "INC-2026-0002"]})
    incidents = pd.DataFrame({"id": ["INC-2026-0001"]})
    table = action_item_table(items, incidents, as_of=AS_OF)
    assert table["id"].tolist() == ["B1", "B2"]
    assert table["is_open"].all() and not table["overdue"].any()  # no status: open; no due date
    assert table["age_bucket"].tolist() == ["no due date", "no due date"]
    assert table["system_id"].isna().all() and not table["incident_closed_while_open"].any()
    summary = action_item_summary(table, incidents, as_of=AS_OF)
    assert summary["by_owner"] == {UNASSIGNED: {"items": 2, "open": 2, "overdue": 0, "done": 0}}
    assert summary["by_kind"] == {UNASSIGNED: {"items": 2, "open": 2, "overdue": 0, "done": 0}}
    assert summary["incidents_without_preventive"]["count"] == 0  # no closing times: none in scope


def test_empty_frames() -> None:
    items = _items().iloc[:0]
    table = action_item_table(items, _incidents().iloc[:0], as_of=AS_OF)
    assert table.empty and {"is_open", "overdue", "age_bucket", "system_id"} <= set(table.columns)
    assert action_item_summary(table, _incidents().iloc[:0], as_of=AS_OF)["items"] == 0


def test_naive_as_of_is_utc() -> None:
    aware = action_item_table(_items(), _incidents(), as_of=AS_OF)
    naive = action_item_table(_items(), _incidents(), as_of=AS_OF.replace(tzinfo=None))
    pd.testing.assert_frame_equal(aware, naive)


@pytest.mark.parametrize(("name", "drop"), [("action_items", "incident_id"), ("incidents", "id")])
def test_missing_key_columns_are_a_clear_error(name: str, drop: str) -> None:
    items, incidents = _items(), _incidents()
    if name == "action_items":
        items = items.drop(columns=drop)
    else:
        incidents = incidents.drop(columns=drop)
    with pytest.raises(InvalidParameterError, match=f"{name} must have the columns"):
        action_item_table(items, incidents, as_of=AS_OF)


def test_input_frames_are_not_changed() -> None:
    items, incidents = _items(), _incidents()
    before_items, before_incidents = items.copy(), incidents.copy()
    action_item_table(items, incidents, as_of=AS_OF)
    pd.testing.assert_frame_equal(items, before_items)
    pd.testing.assert_frame_equal(incidents, before_incidents)


def test_larger_random_frame_matches_a_row_by_row_reference() -> None:
    rng = np.random.default_rng(3)
    n = 2_000
    statuses = np.array(["open", "in_progress", "done", "wont_do"])
    due = pd.Series(pd.to_datetime(AS_OF) + pd.to_timedelta(rng.integers(-200, 60, n), unit="D"))
    completed = pd.Series(pd.to_datetime(AS_OF) + pd.to_timedelta(rng.integers(-300, 300, n), unit="h"))
    items = pd.DataFrame(
        {
            "id": [f"X{k}" for k in range(n)],
            "incident_id": [f"INC-2026-{k:04d}" for k in rng.integers(1, 6, n)],
            "status": statuses[rng.integers(0, 4, n)],
            "due_at": due.where(rng.random(n) > 0.1),
            "completed_at": completed,
        }
    )
    table = action_item_table(items, _incidents(), as_of=AS_OF).set_index("id").loc[items["id"]]
    for row, (_, result) in zip(items.itertuples(), table.iterrows(), strict=True):
        is_open = row.status in ("open", "in_progress") or (row.status == "done" and row.completed_at > AS_OF)
        overdue = is_open and pd.notna(row.due_at) and row.due_at < AS_OF
        assert (result["is_open"], result["overdue"]) == (is_open, overdue), row
        if overdue:
            assert result["days_overdue"] == (AS_OF - row.due_at).days
