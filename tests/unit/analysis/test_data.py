"""Data access: opening logs from data cards, validation, windows, chunks, labels as of, failure signals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import duckdb
import ibis
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from analysis import (
    IncidentWindows,
    Window,
    failure_expression,
    incident_windows,
    label_as_of,
    label_known,
    open_logs,
    validate_logs,
    windows_for_incident,
)
from analysis.data import chunk_expression
from analysis.errors import DataValidationError, InvalidParameterError
from register.schema import (
    ColumnRoles,
    DataCard,
    DataQualitySignal,
    DataSource,
    Incident,
    LabelErrorSignal,
    PredictionConditionSignal,
    SensitiveSource,
)
from tests.unit.analysis.conftest import synthetic_card

# --------------------------------------------------------------------------------------------------
# open_logs
# --------------------------------------------------------------------------------------------------


def test_open_parquet_directory_hive_partitioned(synthetic_files, synthetic_log):
    logs = open_logs(synthetic_card(), base_dir=synthetic_files)
    assert logs.backend == "duckdb"
    assert "day" in logs.table.columns  # hive partition column
    assert "region" in logs.table.columns  # joined from the sensitive table
    assert logs.table.count().execute() == len(synthetic_log.frame)
    assert logs.entities_without_sensitive() == 5
    schema = logs.table.schema()
    assert schema["ts"].is_timestamp() and schema["income"].is_numeric()
    # the NULLs of the log are NULL, not NaN
    assert logs.table.income.isnull().sum().execute() == synthetic_log.frame["income"].isna().sum()


def test_open_parquet_glob_and_memory_limit(synthetic_files, synthetic_log):
    card = synthetic_card(location=str(synthetic_files / "logs" / "day=2026-01-0*" / "*.parquet"))
    logs = open_logs(card, base_dir=synthetic_files, memory_limit="512MB", threads=1)
    expected = (synthetic_log.frame["ts"] < pd.Timestamp("2026-01-10", tz="UTC")).sum()
    assert logs.table.count().execute() == expected
    con = logs.table._find_backend()
    limit, threads = con.raw_sql(
        "select current_setting('memory_limit'), current_setting('threads')"
    ).fetchall()[0]
    assert limit.startswith("488") and int(threads) == 1  # 512 MB = 488.2 MiB


def test_parquet_nan_is_counted(tmp_path):
    """TRAPS.md: DuckDB 2.0 miscounts NaN in pyarrow Parquet unless read with can_have_nan=true."""
    path = tmp_path / "nan.parquet"
    values = pa.array([1.0, float("nan"), None, float("nan")], type=pa.float64())
    pq.write_table(
        pa.table(
            {
                "ts": pa.array([datetime(2026, 1, 1, tzinfo=UTC)] * 4, type=pa.timestamp("us", "UTC")),
                "id": ["a", "b", "c", "d"],
                "x": values,
            }
        ),
        path,
    )
    card = DataCard(
        source=DataSource(location=str(path)),
        task="regression",
        columns=ColumnRoles(event_time="ts", entity_id="id", features=["x"]),
    )
    table = open_logs(card).table
    assert table.x.isnan().fill_null(False).cast("int64").sum().execute() == 2
    assert table.x.isnull().sum().execute() == 1


def test_open_csv(tmp_path, synthetic_log):
    frame = synthetic_log.frame.head(50)
    path = tmp_path / "log.csv"
    frame.to_csv(path, index=False)
    sensitive = tmp_path / "sensitive.csv"
    synthetic_log.sensitive.to_csv(sensitive, index=False)
    card = synthetic_card(location="log.csv", sensitive_location="sensitive.csv")
    card = card.model_copy(
        update={
            "source": DataSource(location="log.csv", format="csv"),
            "sensitive_source": SensitiveSource(
                source=DataSource(location="sensitive.csv", format="csv"),
                keys=["customer_id"],
                attributes=["region"],
            ),
        }
    )
    logs = open_logs(card, base_dir=tmp_path)
    assert logs.table.count().execute() == 50
    assert logs.table.schema()["ts"].is_timestamp()
    report = validate_logs(logs)
    assert report.ok, report.failures


def test_open_duckdb_file_and_connection(tmp_path, synthetic_log):
    path = tmp_path / "logs.duckdb"
    with duckdb.connect(str(path)) as con:
        frame = synthetic_log.frame  # noqa: F841 - referenced by the SQL below
        sensitive = synthetic_log.sensitive  # noqa: F841
        con.execute("create table decisions as select * from frame")
        con.execute("create table people as select * from sensitive")
    card = synthetic_card().model_copy(
        update={
            "source": DataSource(location="logs.duckdb", format="duckdb", table="decisions"),
            "sensitive_source": SensitiveSource(
                source=DataSource(location="logs.duckdb", format="duckdb", table="people"),
                keys=["customer_id"],
                attributes=["region"],
            ),
        }
    )
    logs = open_logs(card, base_dir=tmp_path)
    assert logs.table.count().execute() == len(synthetic_log.frame)
    assert logs.source == "decisions"
    # any Ibis connection: the card's table is read from it
    con = ibis.duckdb.connect(str(path), read_only=True)
    through_con = open_logs(card, con=con)
    assert through_con.table.count().execute() == len(synthetic_log.frame)
    assert through_con.entities_without_sensitive() == 5


def test_open_dataframe_and_ibis_table(synthetic_log):
    logs = open_logs(synthetic_log.card, data=synthetic_log.frame, sensitive_data=synthetic_log.sensitive)
    assert logs.source == "pandas DataFrame"
    assert logs.table.count().execute() == len(synthetic_log.frame)
    table = ibis.memtable(synthetic_log.frame)
    from_table = open_logs(synthetic_log.card, data=table, sensitive_data=synthetic_log.sensitive)
    assert from_table.source == "Ibis table"
    missing_region = from_table.table.region.isnull().sum().execute()
    assert missing_region == synthetic_log.frame["customer_id"].str.startswith("u").sum()


def test_data_of_another_type_names_the_argument(synthetic_log):
    with pytest.raises(InvalidParameterError, match="^data must be a pandas DataFrame or an Ibis table"):
        open_logs(synthetic_log.card, data=synthetic_log.frame.to_dict())
    with pytest.raises(InvalidParameterError, match="^sensitive_data must be .* Got list instead"):
        open_logs(synthetic_log.card, data=synthetic_log.frame, sensitive_data=[])


def test_missing_location_is_a_validation_error(tmp_path):
    card = synthetic_card(location="nowhere/*.parquet")
    with pytest.raises(DataValidationError, match="No file matches"):
        open_logs(card, base_dir=tmp_path)


def test_sensitive_table_problems_are_listed_together(synthetic_log):
    card = synthetic_log.card.model_copy(
        update={
            "sensitive_source": SensitiveSource(
                source=DataSource(location="x"),
                keys=["customer_id", "branch"],
                attributes=["region", "age_band", "income"],
            )
        }
    )
    with pytest.raises(DataValidationError) as error:
        open_logs(card, data=synthetic_log.frame, sensitive_data=synthetic_log.sensitive)
    found = {(f["column"], f["check"], f["failure_case"]) for f in error.value.failures}
    assert found == {
        ("branch", "join_key_present", "log"),
        ("branch", "join_key_present", "sensitive table"),
        ("age_band", "column_present", "sensitive table"),
        ("income", "column_present", "sensitive table"),
    }


# --------------------------------------------------------------------------------------------------
# validate_logs
# --------------------------------------------------------------------------------------------------


def test_validation_lists_every_problem(synthetic_log):
    frame = synthetic_log.frame.head(200).copy()
    frame = frame.drop(columns=["debt_ratio", "request_id"])
    frame["income"] = frame["income"].astype(str)  # numeric feature not numeric
    frame["ts"] = frame["ts"].astype(str)
    frame.loc[frame.index[:3], "ts"] = "yesterday-ish"  # unparseable event times
    frame["label_observed_at"] = 5  # not a timestamp
    frame["y_true"] = frame["y_true"].astype("float64") + np.where(np.arange(len(frame)) % 50 == 0, 2, 0)
    card = synthetic_log.card.model_copy(update={"sensitive_source": None})
    windows = incident_windows(datetime(2027, 1, 1), as_of=datetime(2027, 2, 1))
    with pytest.raises(DataValidationError) as error:
        validate_logs(frame, card, windows=windows)
    found = {(f["column"], f["check"]) for f in error.value.failures}
    assert found == {
        ("debt_ratio", "column_present"),
        ("request_id", "column_present"),
        ("income", "numeric"),
        ("ts", "timestamp_parseable"),
        ("label_observed_at", "timestamp"),
        ("y_true", "label_values"),
        ("ts", "window_not_empty"),
    }
    unparseable = next(f for f in error.value.failures if f["check"] == "timestamp_parseable")
    assert unparseable["count"] == 3
    message = str(error.value)
    assert len(error.value.failures) == 8  # both the reference and the incident window are empty
    assert "8 problem(s)" in message and "debt_ratio" in message and "window 'incident'" in message
    assert not isinstance(error.value, KeyError)


def test_validation_window_without_labels(synthetic_log):
    windows = incident_windows(synthetic_log.onset, as_of=synthetic_log.as_of)
    frame = synthetic_log.frame.copy()
    in_reference = (frame["ts"] >= pd.Timestamp(windows.reference.start)) & (
        frame["ts"] < pd.Timestamp(windows.reference.end)
    )
    frame.loc[in_reference, "label_observed_at"] = pd.NaT
    with pytest.raises(DataValidationError) as error:
        validate_logs(
            frame, synthetic_log.card.model_copy(update={"sensitive_source": None}), windows=windows
        )
    assert [(f["column"], f["check"]) for f in error.value.failures] == [("y_true", "window_has_labels")]
    # a label-free signal does not need labels
    report = validate_logs(
        frame,
        synthetic_log.card.model_copy(update={"sensitive_source": None}),
        windows=windows,
        signal=DataQualitySignal(column="income", condition="null"),
    )
    assert report.ok and report.window_rows["reference"] > 0


def test_validation_of_signal_requirements(synthetic_log):
    card = synthetic_log.card.model_copy(update={"sensitive_source": None})
    report = validate_logs(
        synthetic_log.frame,
        card,
        signal=PredictionConditionSignal(column="nope", op=">", value=1),
        raise_on_error=False,
    )
    assert report.failures[["column", "check"]].values.tolist() == [["nope", "signal_column"]]
    text_on_number = validate_logs(
        synthetic_log.frame,
        card,
        signal=PredictionConditionSignal(column="score", op="==", value="high"),
        raise_on_error=False,
    )
    assert text_on_number.failures["check"].tolist() == ["signal_config"]
    regression = DataCard(
        source=DataSource(location="x"),
        task="regression",
        columns=ColumnRoles(event_time="ts", entity_id="customer_id", prediction="score", label="y_true"),
    )
    no_tolerance = validate_logs(synthetic_log.frame, regression, raise_on_error=False)
    assert no_tolerance.failures["check"].tolist() == ["signal_config"]


def test_validation_report_of_clean_data(synthetic_log):
    logs = open_logs(synthetic_log.card, data=synthetic_log.frame, sensitive_data=synthetic_log.sensitive)
    windows = incident_windows(synthetic_log.onset, as_of=synthetic_log.as_of)
    report = validate_logs(logs, windows=windows)
    assert report.ok
    assert report.n_rows == len(synthetic_log.frame)
    assert report.n_entities_without_sensitive == 5
    assert set(report.window_rows) == {"reference", "incident", "recent"}
    assert report.to_dict()["failures"] == []


# --------------------------------------------------------------------------------------------------
# windows and chunks
# --------------------------------------------------------------------------------------------------


def test_incident_window_defaults_and_overrides():
    occurred = datetime(2026, 5, 10, 6, 30, tzinfo=UTC)
    as_of = datetime(2026, 5, 20, tzinfo=UTC)
    windows = incident_windows(occurred, as_of=as_of)
    assert windows.reference.end == occurred - timedelta(days=7)
    assert windows.reference.duration == timedelta(days=28)
    assert (windows.incident.start, windows.incident.end) == (occurred, as_of)
    assert (windows.recent.start, windows.recent.end) == (as_of - timedelta(hours=24), as_of)
    assert windows.defaults == ("reference", "incident", "recent")
    assert "incident still open" in windows.notes[0]

    contained = incident_windows(
        occurred,
        datetime(2026, 5, 12, tzinfo=UTC),
        as_of=as_of,
        gap_days=0,
        reference_days=14,
        recent_hours=6,
    )
    assert contained.incident.end == datetime(2026, 5, 12, tzinfo=UTC)
    assert contained.reference.end == occurred and contained.reference.duration == timedelta(days=14)
    assert contained.recent.duration == timedelta(hours=6)

    explicit = Window(datetime(2026, 1, 1), datetime(2026, 2, 1), "reference")
    overridden = incident_windows(occurred, as_of=as_of, reference=explicit)
    assert overridden.reference is explicit and overridden.defaults == ("incident", "recent")
    assert isinstance(overridden, IncidentWindows)
    assert overridden.to_dict()["defaults"] == ["incident", "recent"]

    clipped = incident_windows(occurred, datetime(2026, 6, 1, tzinfo=UTC), as_of=as_of)
    assert clipped.incident.end == as_of and any("clipped" in note for note in clipped.notes)


def test_windows_are_utc_and_half_open():
    paris = timezone(timedelta(hours=2))
    window = Window(datetime(2026, 5, 1, 2, tzinfo=paris), datetime(2026, 5, 2), "w")
    assert window.start == datetime(2026, 5, 1, 0, tzinfo=UTC)
    frame = pd.DataFrame(
        {
            "ts": pd.to_datetime(
                ["2026-05-01 00:00:00", "2026-05-01 23:59:59.999999", "2026-05-02 00:00:00"],
                utc=True,
                format="ISO8601",
            )
        }
    )
    table = ibis.memtable(frame)
    assert table.filter(window.contains(table.ts)).count().execute() == 2
    with pytest.raises(InvalidParameterError, match="start must be before its end"):
        Window(datetime(2026, 5, 2), datetime(2026, 5, 1))
    with pytest.raises(InvalidParameterError, match="must be a datetime"):
        Window("2026-05-01", datetime(2026, 5, 2))  # type: ignore[arg-type]


def test_naive_timestamp_columns_compare_as_utc():
    frame = pd.DataFrame({"ts": pd.to_datetime(["2026-05-01 00:00", "2026-05-02 00:00"])})  # naive
    table = ibis.memtable(frame)
    window = Window(datetime(2026, 5, 1, tzinfo=UTC), datetime(2026, 5, 1, 12, tzinfo=UTC))
    assert table.filter(window.contains(table.ts)).count().execute() == 1


def test_windows_for_incident_record():
    incident = Incident(
        id="INC-2026-0001",
        title="t",
        category="data_quality",
        severity="SEV-2",
        occurred_at=datetime(2026, 5, 10),
        aware_at=datetime(2026, 5, 11),
        contained_at=datetime(2026, 5, 12),
    )
    windows = windows_for_incident(incident, as_of=datetime(2026, 5, 20), reference_days=7)
    assert windows.incident.start == datetime(2026, 5, 10, tzinfo=UTC)
    assert windows.incident.end == datetime(2026, 5, 12, tzinfo=UTC)
    assert windows.reference.duration == timedelta(days=7)


@pytest.mark.parametrize(("chunk", "expected"), [("hour", 3), ("day", 2), ("week", 2)])
def test_time_chunks_in_the_engine(chunk, expected):
    frame = pd.DataFrame(
        {
            "ts": pd.to_datetime(
                ["2026-05-03 10:15", "2026-05-03 10:45", "2026-05-03 11:00", "2026-05-04 10:00"], utc=True
            ),
            "id": list("abcd"),
        }
    )
    card = DataCard(
        source=DataSource(location="x"),
        task="regression",
        columns=ColumnRoles(event_time="ts", entity_id="id"),
    )
    table = ibis.memtable(frame)
    chunks = table.select(chunk=chunk_expression(table, card, chunk)).distinct().execute()
    assert len(chunks) == expected  # 2026-05-03 is a Sunday, 05-04 a Monday
    with pytest.raises(InvalidParameterError, match="chunk must be one of"):
        chunk_expression(table, card, "month")  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------------
# labels as of and failure signals
# --------------------------------------------------------------------------------------------------


def test_labels_as_of_match_pandas(synthetic_log):
    frame = synthetic_log.frame
    table = ibis.memtable(frame)
    as_of = datetime(2026, 2, 1, tzinfo=UTC)
    known = label_known(table, synthetic_log.card, as_of=as_of).execute()
    expected = frame["y_true"].notna() & (frame["label_observed_at"] <= pd.Timestamp(as_of)).fillna(False)
    assert known.tolist() == expected.tolist()
    labels = label_as_of(table, synthetic_log.card, as_of=as_of).execute()
    assert labels.notna().sum() == expected.sum()


def test_label_error_signal_is_null_when_undecidable(synthetic_log):
    frame = synthetic_log.frame
    as_of = datetime(2026, 2, 1, tzinfo=UTC)
    failed = failure_expression(ibis.memtable(frame), synthetic_log.card, as_of=as_of).execute()
    known = frame["y_true"].notna() & (frame["label_observed_at"] <= pd.Timestamp(as_of)).fillna(False)
    assert failed.isna().tolist() == (~known).tolist()
    wrong = (frame["y_true"] != frame["y_pred"]).fillna(False) & known
    assert failed[known].astype(bool).tolist() == wrong[known].tolist()


def test_label_without_observed_at_column():
    frame = pd.DataFrame(
        {
            "ts": pd.to_datetime(["2026-01-01", "2026-03-01"], utc=True),
            "id": ["a", "b"],
            "p": [1, 1],
            "y": [0, 0],
        }
    )
    card = DataCard(
        source=DataSource(location="x"),
        task="binary_classification",
        columns=ColumnRoles(event_time="ts", entity_id="id", prediction="p", label="y"),
    )
    failed = failure_expression(frame, card, as_of=datetime(2026, 2, 1, tzinfo=UTC)).execute()
    assert failed.tolist() == [True, None]


def test_string_labels_and_integer_predictions_compare():
    frame = pd.DataFrame(
        {"ts": pd.to_datetime(["2026-01-01"] * 2, utc=True), "id": ["a", "b"], "p": [1, 0], "y": ["1", "1"]}
    )
    card = DataCard(
        source=DataSource(location="x"),
        task="multiclass_classification",
        columns=ColumnRoles(event_time="ts", entity_id="id", prediction="p", label="y"),
    )
    assert failure_expression(frame, card, as_of=datetime(2026, 2, 1)).execute().tolist() == [False, True]


def test_signal_configuration_errors(synthetic_log):
    table = ibis.memtable(synthetic_log.frame)
    as_of = synthetic_log.as_of
    no_as_of_column = synthetic_log.card.model_copy(
        update={"columns": synthetic_log.card.columns.model_copy(update={"input_as_of": {}})}
    )
    with pytest.raises(InvalidParameterError, match="input_as_of"):
        failure_expression(
            table,
            no_as_of_column,
            DataQualitySignal(column="income", condition="stale", max_lag=timedelta(hours=1)),
            as_of=as_of,
        )
    with pytest.raises(InvalidParameterError, match="not in the log"):
        failure_expression(
            table, synthetic_log.card, DataQualitySignal(column="nope", condition="null"), as_of=as_of
        )
    regression = DataCard(
        source=DataSource(location="x"),
        task="regression",
        columns=ColumnRoles(event_time="ts", entity_id="customer_id", prediction="score", label="y_true"),
    )
    with pytest.raises(InvalidParameterError, match="tolerance"):
        failure_expression(table, regression, LabelErrorSignal(), as_of=as_of)


def test_card_pointing_at_missing_and_mistyped_columns(synthetic_files, synthetic_log):
    """A data card that does not match the files: one DataValidationError listing every problem."""
    good = synthetic_card()
    columns = good.columns.model_copy(
        update={
            "features": ["income", "debt_ratio", "channel", "tenure_months"],  # tenure_months is absent
            "categorical_features": [],  # channel (text) now declared numeric
            "score": "probability",  # absent
            "label_observed_at": "channel",  # text, not a timestamp
        }
    )
    card = good.model_copy(update={"columns": columns})
    logs = open_logs(card, base_dir=synthetic_files)
    windows = incident_windows(synthetic_log.onset, as_of=synthetic_log.as_of)
    from analysis import assess_impact

    with pytest.raises(DataValidationError) as error:
        assess_impact(logs, card, windows)
    found = {(f["column"], f["check"]) for f in error.value.failures}
    assert found == {
        ("tenure_months", "column_present"),
        ("probability", "column_present"),
        ("channel", "numeric"),
        ("channel", "timestamp_parseable"),
    }
    assert all(f["check"] != "KeyError" for f in error.value.failures)
