"""Shared fixtures of the analysis tests: small synthetic prediction logs and a local Spark session.

The synthetic log has a planted label-error increase in one region during the incident, late labels
(some never observed), a small group (below the usual minimum cell size), a group that has no decision in
the incident window (the *empty* group), and entities missing from the sensitive-attribute table. Tests
compute the truth from the DataFrame with pandas, independently of the Ibis code under test.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from register.schema import ColumnRoles, DataCard, DataSource, SensitiveSource

START = datetime(2026, 1, 5, tzinfo=UTC)  # a Monday


@dataclass(frozen=True)
class SyntheticLog:
    """A generated log, its sensitive table, data card and the planted times."""

    frame: pd.DataFrame
    sensitive: pd.DataFrame
    card: DataCard
    onset: datetime
    end: datetime | None
    as_of: datetime
    affected_region: str


def synthetic_card(*, location: str = "logs", sensitive_location: str = "sensitive.parquet") -> DataCard:
    return DataCard(
        source=DataSource(location=location),
        task="binary_classification",
        columns=ColumnRoles(
            event_time="ts",
            entity_id="customer_id",
            request_id="request_id",
            model_version="model_version",
            features=["income", "debt_ratio", "channel"],
            categorical_features=["channel"],
            score="score",
            prediction="y_pred",
            label="y_true",
            label_observed_at="label_observed_at",
            input_as_of={"income": "income_as_of"},
        ),
        positive_label=1,
        sensitive_source=SensitiveSource(
            source=DataSource(location=sensitive_location), keys=["customer_id"], attributes=["region"]
        ),
    )


def make_synthetic_log(
    *,
    seed: int = 0,
    days: int = 56,
    per_hour: int = 6,
    onset_day: float = 42,
    end_day: float | None = None,
    base_error: float = 0.05,
    incident_error: float = 0.35,
    affected_region: str = "south",
    label_delay_hours: tuple[float, float] = (1.0, 60.0),
    never_labelled: float = 0.1,
    n_entities: int = 240,
) -> SyntheticLog:
    rng = np.random.default_rng(seed)
    n = days * 24 * per_hour
    hour = np.repeat(np.arange(days * 24), per_hour)
    offset_us = rng.integers(0, 3_600_000_000, size=n)
    ts = pd.Timestamp(START) + pd.to_timedelta(hour, unit="h") + pd.to_timedelta(offset_us, unit="us")
    ts = pd.DatetimeIndex(ts).astype("datetime64[us, UTC]")
    onset = START + timedelta(days=onset_day)
    end = START + timedelta(days=end_day) if end_day is not None else None
    as_of = START + timedelta(days=days)

    # Entities: regular regions, a small "island" group, a "legacy" group only active early (empty in
    # the incident window), and a few entities absent from the sensitive table.
    regions = np.array(["north", "south", "east"])
    entity_region = {f"c{i:04d}": regions[i % 3] for i in range(n_entities)}
    island = [f"i{i}" for i in range(2)]
    legacy = [f"l{i}" for i in range(4)]
    unknown = [f"u{i}" for i in range(5)]
    entity_region.update(dict.fromkeys(island, "island"))
    entity_region.update(dict.fromkeys(legacy, "legacy"))
    regular = np.array(list(entity_region)[:n_entities])
    customer = regular[rng.integers(0, n_entities, size=n)]
    pick = rng.random(n)
    early = np.asarray(ts < pd.Timestamp(START + timedelta(days=20)))
    customer = np.where(pick < 0.004, np.array(island)[rng.integers(0, 2, size=n)], customer)
    customer = np.where((pick > 0.996) & early, np.array(legacy)[rng.integers(0, 4, size=n)], customer)
    customer = np.where(
        (pick > 0.5) & (pick < 0.505), np.array(unknown)[rng.integers(0, 5, size=n)], customer
    )
    region_of = np.array([entity_region.get(c) for c in customer], dtype=object)

    score = rng.beta(2, 5, size=n)
    y_pred = (score >= 0.3).astype("int64")
    in_incident = np.asarray(ts >= pd.Timestamp(onset))
    if end is not None:
        in_incident &= np.asarray(ts < pd.Timestamp(end))
    error_rate = np.where(in_incident & (region_of == affected_region), incident_error, base_error)
    error = rng.random(n) < error_rate
    y_true = np.where(error, 1 - y_pred, y_pred).astype("float64")
    delay_h = rng.uniform(*label_delay_hours, size=n)
    observed = ts + pd.to_timedelta(np.round(delay_h * 3_600_000_000).astype("int64"), unit="us")
    never = rng.random(n) < never_labelled
    y_true[never] = np.nan
    observed = pd.Series(observed).where(~never)

    income = rng.lognormal(10, 0.5, size=n)
    income[rng.random(n) < 0.02] = np.nan
    lag = pd.to_timedelta(rng.integers(0, 4 * 3_600_000_000, size=n), unit="us")
    frame = pd.DataFrame(
        {
            "ts": ts,
            "request_id": [f"r{i:07d}" for i in range(n)],
            "customer_id": customer,
            "model_version": np.where(
                np.asarray(ts < pd.Timestamp(START + timedelta(days=30))), "1.0", "1.1"
            ),
            "income": pd.array(income, dtype="Float64"),
            "debt_ratio": rng.normal(0.3, 0.1, size=n),
            "channel": rng.choice(["web", "branch", "app"], size=n),
            "score": score,
            "y_pred": y_pred,
            "y_true": pd.array(y_true, dtype="Float64").astype("Int64"),
            "label_observed_at": pd.Series(observed, dtype="datetime64[us, UTC]").to_numpy(),
            "income_as_of": (pd.Series(ts) - lag).astype("datetime64[us, UTC]").to_numpy(),
        }
    )
    frame["income"] = frame["income"].astype("float64")
    frame["label_observed_at"] = pd.to_datetime(frame["label_observed_at"], utc=True).astype(
        "datetime64[us, UTC]"
    )
    frame["income_as_of"] = pd.to_datetime(frame["income_as_of"], utc=True).astype("datetime64[us, UTC]")
    sensitive = pd.DataFrame(
        {"customer_id": list(entity_region), "region": list(entity_region.values())}
    ).sort_values("customer_id", ignore_index=True)
    return SyntheticLog(
        frame=frame,
        sensitive=sensitive,
        card=synthetic_card(),
        onset=onset,
        end=end,
        as_of=as_of,
        affected_region=affected_region,
    )


@pytest.fixture(scope="session")
def synthetic_log() -> SyntheticLog:
    return make_synthetic_log()


@pytest.fixture(scope="session")
def synthetic_files(tmp_path_factory: pytest.TempPathFactory, synthetic_log: SyntheticLog):
    """The synthetic log as hive-partitioned Parquet (microsecond timestamps) plus the sensitive table."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    root = tmp_path_factory.mktemp("synthetic")
    frame = synthetic_log.frame.assign(day=synthetic_log.frame["ts"].dt.strftime("%Y-%m-%d"))
    logs = root / "logs"
    for day, part in frame.groupby("day", sort=True):
        folder = logs / f"day={day}"
        folder.mkdir(parents=True)
        table = pa.Table.from_pandas(part.drop(columns="day"), preserve_index=False)
        pq.write_table(table, folder / "part-0.parquet", coerce_timestamps="us")
    pq.write_table(
        pa.Table.from_pandas(synthetic_log.sensitive, preserve_index=False), root / "sensitive.parquet"
    )
    return root


# --------------------------------------------------------------------------------------------------
# Spark
# --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def spark_session():
    """A local[2] Spark session (UTC, 4 shuffle partitions, no UI, 2 GB driver).

    Skips only when pyspark is not installed; any other failure to start Spark fails the test with the
    reason.
    """
    pytest.importorskip("pyspark", reason="pyspark is not installed (the `spark` extra)")
    from pyspark.sql import SparkSession

    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.fail("Spark needs Java (17) on PATH or JAVA_HOME; neither was found.")
    try:
        session = (
            SparkSession.builder.master("local[2]")
            .appName("workbench-tests")
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.sql.shuffle.partitions", "4")
            .config("spark.default.parallelism", "4")
            .config("spark.ui.enabled", "false")
            .config("spark.driver.memory", "2g")
            .config("spark.sql.execution.arrow.pyspark.enabled", "true")
            .getOrCreate()
        )
        session.sparkContext.setLogLevel("ERROR")
    except Exception as error:  # pragma: no cover - environment dependent
        pytest.fail(f"Spark could not start in local mode: {type(error).__name__}: {error}")
    yield session
    session.stop()


@pytest.fixture(scope="session")
def spark_con(spark_session):
    import ibis

    return ibis.pyspark.connect(spark_session)


# ------------------------------------------------------------------------------------ Spark parity helpers
def write_weekly_partitions(log: SyntheticLog, frame: pd.DataFrame, root) -> None:
    """The log as weekly hive partitions in microseconds (Spark cannot read nanosecond Parquet) and the
    sensitive table beside it."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    frame = frame.assign(week=frame["ts"].dt.strftime("%G-W%V"))
    for week, part in frame.groupby("week", sort=True):
        folder = root / "logs" / f"week={week}"
        folder.mkdir(parents=True)
        table = pa.Table.from_pandas(part.drop(columns="week"), preserve_index=False)
        pq.write_table(table, folder / "part-0.parquet", coerce_timestamps="us")
    pq.write_table(pa.Table.from_pandas(log.sensitive, preserve_index=False), root / "sensitive.parquet")


def _normalise_engine_frame(frame: pd.DataFrame, other: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Engine-neutral dtypes (integers stay integers when both engines gave integers) and row order."""
    frame = frame.copy()
    for name in frame.columns:
        series = frame[name]
        if pd.api.types.is_datetime64_any_dtype(series):
            frame[name] = pd.to_datetime(series, utc=True).astype("datetime64[us, UTC]")
        elif pd.api.types.is_bool_dtype(series):
            frame[name] = series.astype(bool)
        elif pd.api.types.is_integer_dtype(series) and pd.api.types.is_integer_dtype(other[name]):
            frame[name] = series.astype("int64")
        elif pd.api.types.is_numeric_dtype(series):
            frame[name] = series.astype("float64")
        else:
            frame[name] = series.astype(object)
    return frame.sort_values(keys, ignore_index=True, kind="stable")


def assert_same_engine_frames(
    duck: pd.DataFrame, spark: pd.DataFrame, keys: list[str], *, exact_prefixes: tuple[str, ...] = ()
) -> None:
    """Exact for integers, strings, booleans, times and columns named with ``exact_prefixes``; floats within
    1e-12 relative with NaN in the same places."""
    duck, spark = _normalise_engine_frame(duck, spark, keys), _normalise_engine_frame(spark, duck, keys)
    assert list(duck.columns) == list(spark.columns)
    assert len(duck) == len(spark)
    for name in duck.columns:
        left, right = duck[name], spark[name]
        if name.startswith(exact_prefixes) or not pd.api.types.is_float_dtype(left):
            pd.testing.assert_series_equal(left, right, check_exact=True, check_names=False, obj=name)
        else:
            assert (left.isna() == right.isna()).all(), name
            known = left.notna()
            np.testing.assert_allclose(left[known], right[known], rtol=1e-12, atol=0, err_msg=name)


LATE_LABELS_AS_OF = START + timedelta(days=40)
"""``as_of`` of :func:`make_late_label_log`: midnight after its last day."""


def make_late_label_log(*, late: bool) -> tuple[pd.DataFrame, DataCard]:
    """40 days of decisions, 6 an hour; 10 % fail before day 30, 30 % from then on (deterministic).

    Correct decisions get their label an hour later. With ``late`` the failed ones get theirs 60 hours
    later (a complaint takes time): as of :data:`LATE_LABELS_AS_OF` the last two days (38 and 39) have
    labels for about 70 % of their decisions, all from correct ones, so their failure rate looks like it
    fell to zero; day 37 has 85 %. Without ``late`` every label comes an hour later.
    """
    n = 40 * 24 * 6
    index = np.arange(n)
    ts = pd.Timestamp(START) + pd.to_timedelta(index * 600, unit="s")
    failed = np.where(ts < pd.Timestamp(START + timedelta(days=30)), index % 10 < 1, index % 10 < 3)
    delay = np.where(failed & late, 60.0, 1.0)
    frame = pd.DataFrame(
        {
            "ts": ts,
            "id": [f"e{i % 97}" for i in index],
            "x": (index % 7).astype(float),
            "p": 1,
            "y": np.where(failed, 0, 1),
            "seen": ts + pd.to_timedelta(delay, unit="h"),
        }
    )
    card = DataCard(
        source=DataSource(location="unused.parquet"),
        task="binary_classification",
        columns=ColumnRoles(
            event_time="ts",
            entity_id="id",
            features=["x"],
            prediction="p",
            label="y",
            label_observed_at="seen",
        ),
    )
    return frame, card
