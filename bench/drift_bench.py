"""Drift benchmarks (issue 12): ours vs Evidently's DataDriftPreset, binned/windowed drift vs a DuckDB
histogram query, and a 10M + 10M run under a memory target.

Usage (from the repository root; `make bench` runs it with no arguments):

    .venv/bin/python bench/drift_bench.py                      # full: 1M+1M x3, windowed x3, 10M+10M x1
    .venv/bin/python bench/drift_bench.py --rows 100000 --repeats 1 --big-rows 0   # short trial

Every measured task runs in a fresh child process (`--child TASK`), which reports its wall time for the
computation (data already on disk as Parquet; Evidently's time excludes reading Parquet into pandas, which
is reported separately) and its peak RSS (`resource.getrusage(RUSAGE_SELF).ru_maxrss`). Evidently runs in
.venv-bench (bench/setup_peers.sh). Medians and ratios are printed and written to bench/results/ and, with
--write-readme, into the `## Drift` section of bench/README.md.

Data: a seeded synthetic prediction log with 22 feature columns (16 continuous numeric, 2 low-cardinality
numeric, 4 categorical) plus an event time; reference = 28 days, current = the next 7 days; 3 numeric and
1 categorical column drifted in the current window. Written single-threaded with pyarrow to
bench/data/drift_<rows>/{reference,current}.parquet (git-ignored).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "bench" / "data"
RESULTS = ROOT / "bench" / "results"
PRODUCT_PY = ROOT / ".venv" / "bin" / "python"
PEERS_PY = ROOT / ".venv-bench" / "bin" / "python"

NUMERIC = [f"f{i:02d}" for i in range(16)]
LOWCARD = ["l00", "l01"]
CATEGORICAL = ["c00", "c01", "c02", "c03"]
COLUMNS = NUMERIC + LOWCARD + CATEGORICAL
DRIFTED = {"f00", "f01", "f02", "c00"}
CHUNK = 500_000
REF_DAYS, CUR_DAYS = 28, 7
START_US = 1_767_225_600_000_000  # 2026-01-01T00:00:00Z


# ------------------------------------------------------------------------------------------------ data
def _chunk(rng, n: int, current: bool, day0: int, days: int, offset: int, total: int):
    import numpy as np
    import pyarrow as pa

    cols: dict[str, object] = {}
    position = (offset + np.arange(n)) / total
    ts = START_US + ((day0 + position * days) * 86_400e6).astype(np.int64)
    cols["ts"] = pa.array(ts, type=pa.timestamp("us", tz="UTC"))
    for i, name in enumerate(NUMERIC):
        shift = 0.25 if current and name in DRIFTED else 0.0
        if i % 3 == 0:
            values = rng.normal(shift, 1.0, n)
        elif i % 3 == 1:
            values = rng.gamma(2.0, 1.0, n) + shift
        else:
            values = rng.lognormal(0.0 + shift, 0.5, n)
        values = np.round(values, 4)
        mask = rng.random(n) < 0.01
        cols[name] = pa.array(values, mask=mask)
    for name in LOWCARD:
        cols[name] = pa.array(rng.integers(0, 5, n).astype(np.float64))
    for i, name in enumerate(CATEGORICAL):
        k = 4 + 2 * i
        p = np.full(k, 1.0 / k)
        if current and name in DRIFTED:
            p = np.linspace(2.0, 0.5, k)
            p = p / p.sum()
        labels = np.array([f"{name}_v{j}" for j in range(k)])
        cols[name] = pa.array(labels[rng.choice(k, n, p=p)])
    return pa.table(cols)


def ensure_data(rows: int) -> Path:
    import numpy as np
    import pyarrow.parquet as pq

    folder = DATA / f"drift_{rows}"
    done = folder / "_SUCCESS"
    if done.exists():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    for side, current, day0, days, seed in (
        ("reference", False, 0, REF_DAYS, 1),
        ("current", True, REF_DAYS, CUR_DAYS, 2),
    ):
        writer = None
        for k, offset in enumerate(range(0, rows, CHUNK)):
            n = min(CHUNK, rows - offset)
            rng = np.random.default_rng([seed, k])
            table = _chunk(rng, n, current, day0, days, offset, rows)
            if writer is None:
                writer = pq.ParquetWriter(folder / f"{side}.parquet", table.schema)
            writer.write_table(table, row_group_size=CHUNK)
        writer.close()
    done.write_text("ok\n")
    return folder


# ------------------------------------------------------------------------------------------ data sources
SCENARIO_SYSTEM = "credit_scoring"


def ensure_scenario(rows: int) -> Path:
    """The tabletop generator's logs sized so that a 28-day window holds about ``rows`` rows."""
    per_day = -(-rows // 28_000) * 1000  # rows per day, rounded up to a thousand
    folder = DATA / f"scenario_{per_day}"
    if not (folder / "ground_truth.json").exists():
        from workbench.scenarios import generate

        generate(folder, seed=7, rows_per_day=per_day)
    return folder


def spec(source: str, folder: Path) -> dict:
    """Columns, kinds, files and windows of a benchmark data source."""
    if source == "synthetic":
        ref_end = START_US + REF_DAYS * 86_400_000_000
        return {
            "files": [str(folder / "reference.parquet"), str(folder / "current.parquet")],
            "time": "ts",
            "numeric": NUMERIC + LOWCARD,
            "categorical": CATEGORICAL,
            "windows_us": [START_US, ref_end, ref_end, ref_end + CUR_DAYS * 86_400_000_000],
        }
    import yaml

    card = yaml.safe_load((folder / "datacards" / f"{SCENARIO_SYSTEM}.yaml").read_text())
    columns = card["columns"]
    categorical = list(columns["categorical_features"])
    numeric = [c for c in columns["features"] if c not in categorical] + [
        columns["score"],
        columns["prediction"],
        columns["label"],
    ]
    scenario = json.loads((folder / "scenario.json").read_text())
    anchor = scenario["anchor"].replace("Z", "+00:00")
    from datetime import datetime

    start = int(datetime.fromisoformat(anchor).timestamp() * 1_000_000)
    day = 86_400_000_000
    return {
        "files": [str(folder / "logs" / SCENARIO_SYSTEM / "**" / "*.parquet")],
        "time": columns["event_time"],
        "numeric": numeric,
        "categorical": categorical,
        "windows_us": [start, start + 28 * day, start + 28 * day, start + 56 * day],
        "card": str(folder / "datacards" / f"{SCENARIO_SYSTEM}.yaml"),
        "card_base": str(folder / "datacards"),
    }


def _windows(data: dict):
    from datetime import UTC, datetime

    a, b, c, d = (datetime.fromtimestamp(v / 1e6, tz=UTC) for v in data["windows_us"])
    return (a, b), (c, d)


def _ibis_table(data: dict):
    import ibis

    con = ibis.duckdb.connect()
    return con.read_parquet(data["files"], hive_partitioning=False)


# ---------------------------------------------------------------------------------------------- children
def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _timed_drift(table, data: dict, **options) -> dict:
    """``data_drift`` over the benchmark's columns and windows: its time and what the report compares."""
    from analysis.drift import data_drift

    reference_window, current_window = _windows(data)
    start = time.perf_counter()
    result = data_drift(
        table,
        columns=data["numeric"] + data["categorical"],
        categorical=data["categorical"],
        time_column=data["time"],
        reference_window=reference_window,
        current_window=current_window,
        **options,
    )
    return {
        "seconds": time.perf_counter() - start,
        "paths": sorted({c.method_path for c in result.columns}),
        "n_ref_rows": result.n_ref_rows,
        "n_cur_rows": result.n_cur_rows,
        "columns": {
            c.column: {"test": c.test, "statistic": c.statistic, "drifted": c.drifted} for c in result.columns
        },
        "n_drifted": result.n_drifted,
    }


def child_ours(data: dict, method: str, memory_limit: str | None, budget: int | None) -> dict:
    kwargs = {"memory_budget_bytes": budget} if budget else {}
    out = _timed_drift(_ibis_table(data), data, method=method, memory_limit=memory_limit, **kwargs)
    return {**out, "peak_rss_mb": _peak_rss_mb()}


class _TreeMemory:
    """Peak RSS of this process and all its children (Spark's JVM), sampled every 0.1 s in a thread."""

    def __init__(self) -> None:
        import threading

        import psutil

        self.peak = 0
        self._root = psutil.Process()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> int:
        import psutil

        total = 0
        for process in [self._root, *self._root.children(recursive=True)]:
            with contextlib.suppress(psutil.Error):
                total += process.memory_info().rss
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._sample())
            self._stop.wait(0.1)

    def __enter__(self) -> _TreeMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._sample())


def _spark_session(driver_memory: str):
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[2]")
        .appName("workbench-bench")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.default.parallelism", "4")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.memory", driver_memory)
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    return session


def child_spark(data: dict, method: str, driver_memory: str) -> dict:
    """``data_drift`` on PySpark local[2] through the data card (as a user would), JVM memory included."""
    import ibis

    from analysis import open_logs
    from register.schema import DataCard

    with _TreeMemory() as memory:
        start = time.perf_counter()
        session = _spark_session(driver_memory)
        con = ibis.pyspark.connect(session)
        startup = time.perf_counter() - start
        if "card" in data:
            card = DataCard.model_validate(_yaml(Path(data["card"])))
            table = open_logs(card, base_dir=data["card_base"], con=con).table
        else:  # the synthetic log: both files of its folder
            table = con.read_parquet(str(Path(data["files"][0]).parent))
        out = _timed_drift(table, data, method=method)
    session.stop()
    return {
        **out,
        "startup_seconds": startup,
        "peak_rss_mb": memory.peak / 1024**2,
        "driver_memory": driver_memory,
    }


def _yaml(path: Path) -> dict:
    import yaml

    return yaml.safe_load(path.read_text())


def child_evidently(data: dict) -> dict:
    import pyarrow.dataset as ds
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    columns = data["numeric"] + data["categorical"]
    reference_window, current_window = _windows(data)
    start = time.perf_counter()
    files = data["files"]
    if any("**" in f for f in files):
        files = sorted(str(p) for p in Path(files[0].split("**")[0]).rglob("*.parquet"))
    dataset = ds.dataset(files, format="parquet")
    field = ds.field(data["time"])
    frames = []
    for low, high in (reference_window, current_window):
        table = dataset.to_table(columns=columns, filter=(field >= low) & (field < high))
        frames.append(table.to_pandas())
    reference, current = frames
    read_seconds = time.perf_counter() - start
    definition = DataDefinition(numerical_columns=data["numeric"], categorical_columns=data["categorical"])
    start = time.perf_counter()
    snapshot = Report([DataDriftPreset()]).run(
        current_data=Dataset.from_pandas(current, data_definition=definition),
        reference_data=Dataset.from_pandas(reference, data_definition=definition),
    )
    seconds = time.perf_counter() - start
    names = {
        "K-S p_value": "ks",
        "chi-square p_value": "chisquare",
        "Z-test p_value": "z",
        "Wasserstein distance (normed)": "wasserstein",
        "Jensen-Shannon distance": "jensenshannon",
    }
    out_columns = {}
    for metric in snapshot.dict()["metrics"]:
        config = metric["config"]
        if config["type"].endswith("ValueDrift"):
            out_columns[config["column"]] = {
                "test": names.get(config["method"], config["method"]),
                "statistic": metric["value"],
            }
    return {
        "seconds": seconds,
        "read_seconds": read_seconds,
        "peak_rss_mb": _peak_rss_mb(),
        "n_ref_rows": len(reference),
        "n_cur_rows": len(current),
        "columns": out_columns,
    }


def child_windowed(data: dict) -> dict:
    from analysis.drift import windowed_drift

    table = _ibis_table(data)
    reference_window, current_window = _windows(data)
    start = time.perf_counter()
    result = windowed_drift(
        table,
        columns=data["numeric"] + data["categorical"],
        categorical=data["categorical"],
        time_column=data["time"],
        reference_window=reference_window,
        current_window=current_window,
        chunk="day",
    )
    seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "peak_rss_mb": _peak_rss_mb(),
        "n_chunks": int(result.chunks["chunk_start"].nunique()),
    }


def child_duckdb_histogram(data: dict) -> dict:
    """The floor: hand-written DuckDB SQL -- one scan for the reference min/max, then one query with a
    ``histogram()`` aggregate per column (10 equal-width bins; categories as they are) per day."""
    import duckdb

    con = duckdb.connect()
    files = "read_parquet([" + ", ".join(f"'{f}'" for f in data["files"]) + "])"
    time_column, numeric, categorical = data["time"], data["numeric"], data["categorical"]
    low_us, high_us = data["windows_us"][0], data["windows_us"][3]
    where = f"epoch_us({time_column}) >= {low_us} AND epoch_us({time_column}) < {high_us}"
    ref_where = f"epoch_us({time_column}) >= {low_us} AND epoch_us({time_column}) < {data['windows_us'][1]}"
    start = time.perf_counter()
    bounds = con.sql(
        "SELECT " + ", ".join(f"min({c}), max({c})" for c in numeric) + f" FROM {files} WHERE {ref_where}"
    ).fetchall()[0]
    aggregates = []
    for i, column in enumerate(numeric):
        low, high = bounds[2 * i], bounds[2 * i + 1]
        width = (high - low) / 10 or 1.0
        aggregates.append(f"histogram(least(greatest(floor(({column} - {low}) / {width}), 0), 9)::INTEGER)")
    aggregates += [f"histogram({column})" for column in categorical]
    sql = (
        f"SELECT date_trunc('day', {time_column}) AS day, {', '.join(aggregates)} FROM {files} "
        f"WHERE {where} GROUP BY 1"
    )
    rows = con.sql(sql).to_arrow_table().num_rows
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "peak_rss_mb": _peak_rss_mb(), "rows": rows}


def run_child(python: Path, task: str, data: dict, extra: list[str] | None = None) -> dict:
    command = [
        str(python),
        str(Path(__file__).resolve()),
        "--child",
        task,
        "--spec",
        json.dumps(data),
        *(extra or []),
    ]
    env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONWARNINGS="ignore")
    completed = subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT, check=False)
    if completed.returncode != 0:
        raise RuntimeError(f"child {task} failed:\n{completed.stderr[-3000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------------------------------------------- main
def _median(runs: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in runs)


def compare_statistics(ours: dict, peer: dict) -> dict:
    same, worst = 0, 0.0
    for column, entry in peer["columns"].items():
        mine = ours["columns"].get(column)
        if mine and mine["test"] == entry["test"]:
            same += 1
            a, b = float(mine["statistic"]), float(entry["statistic"])
            worst = max(worst, abs(a - b) / max(abs(b), 1e-300))
    return {"n_same_test": same, "n_columns": len(peer["columns"]), "max_rel_diff": worst}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows per window for the comparison")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--big-rows", type=int, default=10_000_000, help="rows per window of the memory run; 0 skips"
    )
    parser.add_argument("--big-memory-limit", default="1GB")
    parser.add_argument("--skip-evidently", action="store_true")
    parser.add_argument("--skip-spark", action="store_true", help="no PySpark runs (needs Java 17)")
    parser.add_argument("--write-readme", action="store_true")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--spec", help=argparse.SUPPRESS)
    parser.add_argument(
        "--source", choices=["scenario", "synthetic"], default="scenario", help="data of the 1M comparison"
    )
    parser.add_argument("--method", default="auto", help=argparse.SUPPRESS)
    parser.add_argument("--memory-limit", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--budget", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--driver-memory", default="2g", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        data = json.loads(args.spec)
        if args.child == "ours":
            out = child_ours(data, args.method, args.memory_limit, args.budget)
        elif args.child == "spark":
            out = child_spark(data, args.method, args.driver_memory)
        elif args.child == "evidently":
            out = child_evidently(data)
        elif args.child == "windowed":
            out = child_windowed(data)
        elif args.child == "histogram":
            out = child_duckdb_histogram(data)
        else:
            raise SystemExit(f"unknown child task {args.child}")
        print(json.dumps(out, default=str))
        return 0

    RESULTS.mkdir(parents=True, exist_ok=True)
    report: dict[str, object] = {
        "rows_per_window": args.rows,
        "repeats": args.repeats,
        "cpu_count": os.cpu_count(),
    }
    folder = ensure_scenario(args.rows) if args.source == "scenario" else ensure_data(args.rows)
    data = spec(args.source, folder)
    report["source"] = args.source
    report["n_columns"] = len(data["numeric"]) + len(data["categorical"])
    print(f"data: {folder} ({report['n_columns']} columns)")
    tasks = {
        "ours_auto": (PRODUCT_PY, "ours", ["--method", "auto"]),
        "ours_engine": (PRODUCT_PY, "ours", ["--method", "engine"]),
        "windowed": (PRODUCT_PY, "windowed", []),
        "duckdb_histogram": (PRODUCT_PY, "histogram", []),
    }
    if not args.skip_spark:
        tasks["spark_auto"] = (PRODUCT_PY, "spark", ["--method", "auto"])
    if not args.skip_evidently and PEERS_PY.exists():
        tasks["evidently"] = (PEERS_PY, "evidently", [])
    runs: dict[str, list[dict]] = {name: [] for name in tasks}
    for repeat in range(args.repeats):
        for name, (python, task, extra) in tasks.items():
            result = run_child(python, task, data, extra)
            runs[name].append(result)
            print(
                f"  run {repeat + 1} {name:17s} {result['seconds']:8.2f} s  "
                f"peak {result['peak_rss_mb']:7.0f} MB"
            )
    medians = {
        name: {"seconds": _median(r, "seconds"), "peak_rss_mb": _median(r, "peak_rss_mb")}
        for name, r in runs.items()
    }
    report["medians"] = medians
    report["runs_seconds"] = {name: [round(r["seconds"], 2) for r in r_list] for name, r_list in runs.items()}
    report["load_average"] = os.getloadavg()
    if "spark_auto" in runs:
        report["spark_startup_seconds"] = _median(runs["spark_auto"], "startup_seconds")
        report["spark_paths"] = runs["spark_auto"][0]["paths"]
        report["spark_driver_memory"] = runs["spark_auto"][0]["driver_memory"]
        report["statistics_spark_vs_duckdb"] = compare_statistics(runs["spark_auto"][0], runs["ours_auto"][0])
    report["paths"] = {name: runs[name][0].get("paths") for name in ("ours_auto", "ours_engine")}
    if "evidently" in runs:
        report["evidently_read_seconds"] = _median(runs["evidently"], "read_seconds")
        report["speedup_vs_evidently"] = medians["evidently"]["seconds"] / medians["ours_auto"]["seconds"]
        report["speedup_engine_vs_evidently"] = (
            medians["evidently"]["seconds"] / medians["ours_engine"]["seconds"]
        )
        report["statistics_vs_evidently"] = compare_statistics(runs["ours_auto"][0], runs["evidently"][0])
    report["rows"] = {"ref": runs["ours_auto"][0]["n_ref_rows"], "cur": runs["ours_auto"][0]["n_cur_rows"]}
    report["windowed_over_histogram"] = (
        medians["windowed"]["seconds"] / medians["duckdb_histogram"]["seconds"]
    )
    out = RESULTS / f"drift_{args.rows}.json"
    out.write_text(json.dumps(report, indent=2, default=str) + "\n")
    if args.big_rows:
        big = spec("synthetic", ensure_data(args.big_rows))
        result = run_child(
            PRODUCT_PY, "ours", big, ["--method", "auto", "--memory-limit", args.big_memory_limit]
        )
        report["big"] = {
            "rows_per_window": args.big_rows,
            "memory_limit": args.big_memory_limit,
            **{k: result[k] for k in ("seconds", "peak_rss_mb", "paths")},
        }
        print(
            f"  big {args.big_rows}+{args.big_rows}: {result['seconds']:.1f} s, "
            f"peak {result['peak_rss_mb']:.0f} MB"
        )
        if not args.skip_spark:
            result = run_child(PRODUCT_PY, "spark", big, ["--method", "auto"])
            report["big_spark"] = {
                "rows_per_window": args.big_rows,
                **{
                    k: result[k]
                    for k in ("seconds", "startup_seconds", "peak_rss_mb", "paths", "driver_memory")
                },
            }
            print(
                f"  big on PySpark: {result['seconds']:.1f} s, "
                f"peak {result['peak_rss_mb']:.0f} MB (JVM included)"
            )
    print(json.dumps(report, indent=2, default=str))
    out = RESULTS / f"drift_{args.rows}.json"
    out.write_text(json.dumps(report, indent=2, default=str) + "\n")
    if args.write_readme:
        write_readme(report)
    return 0


def _runs_text(report: dict) -> str:
    return "; ".join(
        f"{name} {', '.join(map(str, values))}" for name, values in report["runs_seconds"].items()
    )


def write_readme(report: dict) -> None:
    medians = report["medians"]
    lines = [
        "## Drift",
        "",
        f"Written by `bench/drift_bench.py --write-readme`: {report['rows']['ref']:,} reference + "
        f"{report['rows']['cur']:,} current rows ({report['source']} data: "
        + (
            "the tabletop generator's credit_scoring log, 28 + 28 days"
            if report["source"] == "scenario"
            else "synthetic, bench/drift_bench.py"
        )
        + f"), {report['n_columns']} columns, {report['repeats']} run(s), medians; "
        f"{report['cpu_count']} cores (load average at the end in the notes). Each task runs in a fresh "
        "child process; "
        "time is the computation only (Parquet already on disk), peak = the child's max RSS.",
        "",
        "| task | median s | peak MB |",
        "| --- | ---: | ---: |",
    ]
    labels = {
        "ours_auto": "ours, `data_drift` (method=auto)",
        "ours_engine": "ours, `data_drift` (method=engine)",
        "evidently": "Evidently 0.7.23 `DataDriftPreset` (pandas in memory)",
        "windowed": "ours, `windowed_drift` (daily chunks, frozen bins)",
        "duckdb_histogram": "DuckDB hand-written histogram query (floor)",
        "spark_auto": "ours, `data_drift` (method=auto) on PySpark local[2], peak incl. the JVM",
    }
    for name, values in medians.items():
        lines.append(f"| {labels.get(name, name)} | {values['seconds']:.2f} | {values['peak_rss_mb']:.0f} |")
    lines.append("")
    if "speedup_vs_evidently" in report:
        stats = report["statistics_vs_evidently"]
        lines.append(
            f"- Speed-up over Evidently: {report['speedup_vs_evidently']:.1f}x (auto), "
            f"{report['speedup_engine_vs_evidently']:.1f}x (engine) -- target >= 10x. Evidently also spent "
            f"{report['evidently_read_seconds']:.1f} s reading Parquet into pandas (not counted)."
        )
        lines.append(
            f"- Same test on {stats['n_same_test']}/{stats['n_columns']} columns; largest relative "
            f"difference of the statistic {stats['max_rel_diff']:.1e}."
        )
    lines.append(
        f"- Windowed drift / DuckDB histogram floor: {report['windowed_over_histogram']:.2f}x "
        "-- target <= 3x."
    )
    if "spark_auto" in medians:
        stats = report["statistics_spark_vs_duckdb"]
        lines.append(
            f"- PySpark local[2] ({report['spark_driver_memory']} driver; session start "
            f"{report['spark_startup_seconds']:.1f} s not "
            f"counted): {medians['spark_auto']['seconds']:.1f} s, peak "
            f"{medians['spark_auto']['peak_rss_mb']:.0f} MB for "
            f"Python + JVM (sampled every 0.1 s), paths {', '.join(report['spark_paths'])}; same test as on "
            f"DuckDB on {stats['n_same_test']}/{stats['n_columns']} columns, largest relative difference "
            f"{stats['max_rel_diff']:.1e}."
        )
    if "big" in report:
        big = report["big"]
        lines.append(
            f"- {big['rows_per_window']:,} + {big['rows_per_window']:,} rows, DuckDB `memory_limit` "
            f"{big['memory_limit']}: {big['seconds']:.1f} s, peak RSS {big['peak_rss_mb']:.0f} MB "
            f"(paths: {', '.join(big['paths'])}) -- target < 2 GB. Evidently at 5M took 314 s and 6.9 GB "
            "here (../shared/TRAPS.md)."
        )
    if "big_spark" in report:
        big = report["big_spark"]
        lines.append(
            f"- The same {big['rows_per_window']:,} + {big['rows_per_window']:,} rows on PySpark local[2] "
            f"({big['driver_memory']} driver): {big['seconds']:.1f} s, peak RSS "
            f"{big['peak_rss_mb']:.0f} MB for "
            f"Python + JVM (paths: {', '.join(big['paths'])})."
        )
    lines += [
        "",
        "Notes: the 1M data is the scenario generator's credit_scoring log (18 features, score, prediction, "
        "label; reference = its first 28 days, current = the next 28, which include the planted covariate "
        "drift). `auto` streams mostly-distinct columns as rows (each window sorted by `np.sort`, merged; "
        "columns reduced in parallel threads) and stacks the others into one engine-grouped per-value count "
        "query (one scan); categorical columns likewise. The 10M + 10M run uses the synthetic log of this "
        "script (22 columns, values rounded to 4 decimals) with the default 512 MiB columnar budget, so "
        "`auto` chose the engine path. Runs of one task are interleaved with the other tasks' runs; all "
        f"runs (s): {_runs_text(report)}; load average at the end "
        f"{', '.join(f'{x:.2f}' for x in report['load_average'])}. Reproduce with "
        "`bash bench/setup_peers.sh && .venv/bin/python bench/drift_bench.py --write-readme`.",
        "",
    ]
    readme = ROOT / "bench" / "README.md"
    text = readme.read_text() if readme.exists() else "# Benchmarks\n\n"
    section = "\n".join(lines)
    if "## Drift" in text:
        head, _, tail = text.partition("## Drift")
        rest = tail.split("\n## ", 1)
        text = head + section + ("\n## " + rest[1] if len(rest) > 1 else "")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    readme.write_text(text)


if __name__ == "__main__":
    sys.exit(main())
