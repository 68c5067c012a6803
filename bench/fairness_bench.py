"""Fairness benchmark (issue 22): ``assess_fairness`` vs fairlearn ``MetricFrame`` on the raw rows.

Usage (from the repository root; `make bench` runs it with no arguments):

    .venv/bin/python bench/fairness_bench.py                   # full: 1M rows x5 interleaved, 10M once
    .venv/bin/python bench/fairness_bench.py --quick           # short trial: 100k rows x1, no 10M run
    .venv/bin/python bench/fairness_bench.py --rows 1000000 --repeats 3 --big-rows 0 --write-readme
    .venv/bin/python bench/fairness_bench.py --profile         # cProfile of one run of ours, top 15

Data: a seeded log shaped like the scenario's credit_scoring log, generated here (never downloaded) and
written with pyarrow to bench/data/fairness_<rows>/log.parquet (git-ignored): ``event_time`` over 60 days,
``model_version`` 1.4.0 then 2.0.0 from day 33 (which lowers the approval of ``group_b``), ``score``,
``approved`` (the decision, 0/1), ``repaid`` (the label, 0/1, 8 % NULL) and ``label_observed_at`` (20-150
days after the decision), and three sensitive attributes in the log itself (``columns.sensitive``):
``sex`` (female/male, 2 % NULL), ``age_band`` (6 bands) and ``ethnic_group`` (3 groups). Windows:
reference = days 0-30, incident = days 30-60, ``as_of`` 200 days after the end (every label observed).

Both sides are timed from the Parquet file on disk to the finished result, the read included, imports
excluded; each run is a fresh child process whose peak RSS is its own ``ru_maxrss`` (or, for a child
stopped by the caps, the peak sampled every 0.1 s by the parent):

- ours: ``assess_fairness(open_logs(card), card, windows, as_of=...)`` with the defaults: every metric by
  each attribute and each pairwise intersection, in both windows and per model version, Wilson/Newcombe/
  Katz intervals, Benjamini-Hochberg, the change of each gap, composites with 1000 multinomial resamples,
  four-fifths, gap over time, calibration;
- the peer: ``pandas.read_parquet`` then, for each window (reference, incident) and each of the 6
  groupings (3 attributes, 3 pairwise intersections), one ``MetricFrame`` with ``selection_rate`` over all
  rows and one with TPR, FPR, FNR, precision, NPV (precision of the negated labels) and accuracy over the
  labelled rows, then ``difference()`` and ``ratio()`` (between groups and to overall). Point estimates
  only: MetricFrame computes no intervals here. It runs in .venv-bench (bench/setup_peers.sh); without it,
  in the product's environment (said in the output).

Both sides' metric values are compared group by group (largest absolute difference). The 10M run is once
per side; the peer runs under a memory and time cap and the result says where it stopped.
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
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "bench" / "data"
RESULTS = ROOT / "bench" / "results"
PEERS_PY = ROOT / ".venv-bench" / "bin" / "python"

CHUNK = 1_000_000
DAYS = 60
SWITCH_DAY = 33
DAY_US = 86_400_000_000
START_US = 1_767_225_600_000_000  # 2026-01-01T00:00:00Z
AS_OF_DAYS = DAYS + 200
ATTRIBUTES = ("sex", "age_band", "ethnic_group")
SEXES = ("female", "male")
AGE_BANDS = ("18-24", "25-34", "35-44", "45-54", "55-64", "65+")
ETHNIC_GROUPS = ("group_a", "group_b", "group_c")
NOT_RECORDED = "(not recorded)"  # analysis.fairness.NOT_RECORDED: the peer fills NULLs the same way
INTERSECTION = " × "  # analysis.fairness.INTERSECTION
WINDOWS = ("reference", "incident")
LABEL_METRICS = ("tpr", "fpr", "fnr", "precision", "npv", "accuracy")


# ------------------------------------------------------------------------------------------------ data
def _chunk(rng, n: int, offset: int, total: int):
    """``n`` rows of the log starting at row ``offset`` of ``total`` (rows in time order)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    def strings(codes, labels, mask=None):
        return pc.take(pa.array(labels, type=pa.string()), pa.array(codes.astype(np.int32), mask=mask))

    day = (offset + np.arange(n)) / total * DAYS
    times = START_US + (day * DAY_US).astype(np.int64)
    ethnic = rng.choice(3, n, p=[0.6, 0.25, 0.15])
    sex = rng.choice(2, n)
    sex_null = rng.random(n) < 0.02
    age = rng.choice(6, n, p=[0.12, 0.22, 0.22, 0.18, 0.14, 0.12])
    latent = rng.standard_normal(n) - 0.3 * (ethnic == 1)
    repaid = (rng.random(n) < 1 / (1 + np.exp(-(1.3 + 0.9 * latent + 0.1 * (age - 2))))).astype(np.int8)
    v2 = day >= SWITCH_DAY
    logit = 0.4 + 0.9 * latent + rng.normal(0, 0.6, n) + 0.05 * (age - 2) - 0.7 * (v2 & (ethnic == 1))
    score = np.round(1 / (1 + np.exp(-logit)), 6)
    approved = (score >= 0.5).astype(np.int8)
    lag_default = np.exp(rng.normal(np.log(45.0), 0.45, n)).clip(20, 150)
    lag = np.where(repaid == 1, 60 + rng.uniform(0, 5, n), lag_default)
    never = rng.random(n) < 0.08
    utc = pa.timestamp("us", tz="UTC")
    return pa.table(
        {
            "event_time": pa.array(times, type=utc),
            "customer_id": pa.array(rng.integers(0, 5 * total, n)),
            "model_version": strings(v2.astype(np.int8), ["1.4.0", "2.0.0"]),
            "score": pa.array(score),
            "approved": pa.array(approved),
            "repaid": pa.array(repaid, mask=never),
            "label_observed_at": pa.array(times + (lag * DAY_US).astype(np.int64), type=utc, mask=never),
            "sex": strings(sex, SEXES, mask=sex_null),
            "age_band": strings(age, AGE_BANDS),
            "ethnic_group": strings(ethnic, ETHNIC_GROUPS),
        }
    )


def ensure_data(rows: int) -> Path:
    """The benchmark's Parquet log of ``rows`` rows (written once, seeded, in 1M-row row groups)."""
    import numpy as np
    import pyarrow.parquet as pq

    folder = DATA / f"fairness_{rows}"
    path = folder / "log.parquet"
    if (folder / "_SUCCESS").exists():
        return path
    folder.mkdir(parents=True, exist_ok=True)
    writer = None
    for k, offset in enumerate(range(0, rows, CHUNK)):
        table = _chunk(np.random.default_rng([22, k]), min(CHUNK, rows - offset), offset, rows)
        if writer is None:
            writer = pq.ParquetWriter(path, table.schema)
        writer.write_table(table, row_group_size=CHUNK)
    if writer is not None:
        writer.close()
    (folder / "_SUCCESS").write_text("ok\n")
    return path


def card_dict(path: str) -> dict:
    """The data card of the benchmark log (sensitive attributes in the log itself)."""
    return {
        "source": {"location": path, "format": "parquet"},
        "task": "binary_classification",
        "columns": {
            "event_time": "event_time",
            "entity_id": "customer_id",
            "model_version": "model_version",
            "score": "score",
            "prediction": "approved",
            "label": "repaid",
            "label_observed_at": "label_observed_at",
            "sensitive": list(ATTRIBUTES),
        },
        "positive_label": 1,
    }


def groupings() -> list[tuple[str, ...]]:
    """Each attribute, then the pairwise intersections (the order of ``analysis.fairness.groupings_for``)."""
    import itertools

    return [(a,) for a in ATTRIBUTES] + list(itertools.combinations(ATTRIBUTES, 2))


# ---------------------------------------------------------------------------------------------- children
def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _stage(text: str, start: float) -> None:
    """Progress on stderr, so a child stopped by a cap shows how far it got."""
    print(f"{time.perf_counter() - start:8.1f} s  {text}", file=sys.stderr, flush=True)


def _ours(path: str, memory_limit: str | None):
    from datetime import UTC, datetime, timedelta

    from analysis import open_logs
    from analysis.data import IncidentWindows, Window
    from analysis.fairness import assess_fairness
    from register.schema import DataCard

    card = DataCard.model_validate(card_dict(path))
    start = datetime.fromtimestamp(START_US / 1e6, tz=UTC)
    day = timedelta(days=1)
    as_of = start + AS_OF_DAYS * day
    windows = IncidentWindows(
        Window(start, start + 30 * day, "reference"),
        Window(start + 30 * day, start + DAYS * day, "incident"),
        Window(start + (DAYS - 7) * day, start + DAYS * day, "recent"),
        as_of,
    )
    options = {"memory_limit": memory_limit} if memory_limit else {}

    def run():
        return assess_fairness(open_logs(card, **options), card, windows, as_of=as_of)

    return run


def child_ours(path: str, memory_limit: str | None) -> dict:
    run = _ours(path, memory_limit)
    start = time.perf_counter()
    result = run()
    seconds = time.perf_counter() - start
    metrics = result.metrics
    values = {}
    for row in metrics.itertuples(index=False):
        row = row._asdict()
        for name in ("selection_rate", *LABEL_METRICS):
            values[f"{row['grouping']}|{row['window']}|{row['group']}|{name}"] = row[name]
    return {
        "seconds": seconds,
        "peak_rss_mb": _peak_rss_mb(),
        "n_rows": int(result.cells.cells["count"].sum()),
        "n_cells": len(result.cells.cells),
        "labels_used": result.cells.labels_used,
        "headline": {k: result.headline[k] for k in ("grouping", "group", "metric")}
        if result.headline
        else None,
        "values": values,
    }


def child_profile(path: str, memory_limit: str | None) -> dict:
    import cProfile
    import io
    import pstats

    run = _ours(path, memory_limit)
    profile = cProfile.Profile()
    start = time.perf_counter()
    profile.enable()
    run()
    profile.disable()
    seconds = time.perf_counter() - start
    text = io.StringIO()
    pstats.Stats(profile, stream=text).sort_stats("cumulative").print_stats(15)
    return {"seconds": seconds, "peak_rss_mb": _peak_rss_mb(), "profile": text.getvalue()}


def child_metricframe(path: str) -> dict:
    """fairlearn ``MetricFrame`` on the raw rows: the same metrics, groupings and windows as ours."""
    import numpy as np
    import pandas as pd
    from fairlearn.metrics import (
        MetricFrame,
        false_negative_rate,
        false_positive_rate,
        selection_rate,
        true_positive_rate,
    )
    from sklearn.metrics import accuracy_score, precision_score

    def precision(y_true, y_pred):
        return precision_score(y_true, y_pred, zero_division=np.nan)

    def npv(y_true, y_pred):
        return precision_score(1 - y_true, 1 - y_pred, zero_division=np.nan)

    label_metrics = {
        "tpr": true_positive_rate,
        "fpr": false_positive_rate,
        "fnr": false_negative_rate,
        "precision": precision,
        "npv": npv,
        "accuracy": accuracy_score,
    }
    start = time.perf_counter()
    columns = ["event_time", "approved", "repaid", *ATTRIBUTES]
    frame = pd.read_parquet(path, columns=columns)
    for name in ATTRIBUTES:
        frame[name] = frame[name].fillna(NOT_RECORDED)
    _stage(f"read {len(frame):,} rows", start)
    boundary = pd.Timestamp(START_US + 30 * DAY_US, unit="us", tz="UTC")
    values: dict[str, float] = {}
    gaps: dict[str, float] = {}
    for window in WINDOWS:
        rows = (
            frame[frame["event_time"] < boundary]
            if window == "reference"
            else frame[frame["event_time"] >= boundary]
        )
        labelled = rows[rows["repaid"].notna()]
        y_true = labelled["repaid"].astype(np.int64).to_numpy()
        for grouping in groupings():
            name = INTERSECTION.join(grouping)
            selection = MetricFrame(
                metrics={"selection_rate": selection_rate},
                y_true=rows["approved"].to_numpy(),  # selection_rate reads y_pred only; every row counts
                y_pred=rows["approved"].to_numpy(),
                sensitive_features=rows[list(grouping)],
            )
            labels = MetricFrame(
                metrics=label_metrics,
                y_true=y_true,
                y_pred=labelled["approved"].to_numpy(np.int64),
                sensitive_features=labelled[list(grouping)],
            )
            for mf in (selection, labels):
                for method in ("between_groups", "to_overall"):
                    for metric, value in mf.difference(method=method).items():
                        gaps[f"{name}|{window}|{metric}|difference|{method}"] = float(value)
                    for metric, value in mf.ratio(method=method).items():
                        gaps[f"{name}|{window}|{metric}|ratio|{method}"] = float(value)
                for key, row in mf.by_group.iterrows():
                    group = INTERSECTION.join(map(str, key)) if isinstance(key, tuple) else str(key)
                    for metric, value in row.items():
                        values[f"{name}|{window}|{group}|{metric}"] = float(value)
            _stage(f"{window} {name}", start)
    seconds = time.perf_counter() - start
    import fairlearn

    return {
        "seconds": seconds,
        "peak_rss_mb": _peak_rss_mb(),
        "fairlearn": fairlearn.__version__,
        "pandas": pd.__version__,
        "values": values,
        "gaps": gaps,
    }


# ------------------------------------------------------------------------------------------------ parent
class _Capped:
    """Run a child process, sampling its RSS every 0.1 s; kill it past a memory or time cap."""

    def __init__(self, command: list[str], *, memory_mb: float | None, timeout: float | None) -> None:
        self.command, self.memory_mb, self.timeout = command, memory_mb, timeout
        self.peak_mb = 0.0
        self.stopped: str | None = None

    def run(self) -> tuple[int, str, str]:
        import psutil

        env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONWARNINGS="ignore")
        with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
            process = subprocess.Popen(self.command, stdout=out, stderr=err, env=env, cwd=ROOT, text=True)
            watched = psutil.Process(process.pid)
            start = time.perf_counter()
            while process.poll() is None:
                with contextlib.suppress(psutil.Error):
                    self.peak_mb = max(self.peak_mb, watched.memory_info().rss / 1024**2)
                elapsed = time.perf_counter() - start
                if self.memory_mb and self.peak_mb > self.memory_mb:
                    self.stopped = f"memory: RSS passed {self.memory_mb:.0f} MB after {elapsed:.0f} s"
                elif self.timeout and elapsed > self.timeout:
                    self.stopped = (
                        f"time-out: still running after {self.timeout:.0f} s (RSS {self.peak_mb:.0f} MB)"
                    )
                if self.stopped:
                    process.kill()
                    process.wait()
                    break
                time.sleep(0.1)
            out.seek(0)
            err.seek(0)
            return process.returncode, out.read(), err.read()


def run_child(
    python: Path | str,
    task: str,
    path: Path,
    extra: list[str] | None = None,
    *,
    memory_mb: float | None = None,
    timeout: float | None = None,
) -> dict:
    command = [
        str(python),
        str(Path(__file__).resolve()),
        "--child",
        task,
        "--path",
        str(path),
        *(extra or []),
    ]
    capped = _Capped(command, memory_mb=memory_mb, timeout=timeout)
    code, out, err = capped.run()
    progress = [line.strip() for line in err.splitlines() if " s  " in line]
    if capped.stopped:
        return {
            "stopped": capped.stopped,
            "last_stage": progress[-1] if progress else "(none: before the Parquet read finished)",
            "peak_rss_mb": capped.peak_mb,
        }
    if code != 0:
        raise RuntimeError(f"child {task} failed:\n{err[-3000:]}")
    result = json.loads(out.strip().splitlines()[-1])
    result["sampled_peak_rss_mb"] = capped.peak_mb
    return result


def compare(ours: dict, peer: dict) -> dict:
    """Ours vs the peer's per-group values: how many match, the largest absolute difference."""
    import math

    both, worst, nan_mismatch, missing = 0, 0.0, 0, 0
    for key, value in peer["values"].items():
        if key not in ours["values"]:
            missing += 1
            continue
        mine = ours["values"][key]
        a_nan = mine is None or (isinstance(mine, float) and math.isnan(mine))
        b_nan = value is None or math.isnan(value)
        if a_nan or b_nan:
            nan_mismatch += a_nan != b_nan
            continue
        both += 1
        worst = max(worst, abs(float(mine) - float(value)))
    return {
        "n_compared": both,
        "max_abs_diff": worst,
        "nan_mismatch": nan_mismatch,
        "missing_in_ours": missing,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of the log for the comparison")
    parser.add_argument("--repeats", type=int, default=5, help="interleaved runs per side")
    parser.add_argument("--big-rows", type=int, default=10_000_000, help="rows of the one-off run; 0 skips")
    parser.add_argument("--quick", action="store_true", help="100k rows, 1 run, no big run")
    parser.add_argument("--peer-memory-mb", type=float, default=6144, help="the peer's RSS cap at --big-rows")
    parser.add_argument(
        "--peer-timeout", type=float, default=900, help="the peer's time cap (s) at --big-rows"
    )
    parser.add_argument(
        "--memory-limit", default=None, help="DuckDB memory_limit of ours (open_logs default)"
    )
    parser.add_argument(
        "--profile", action="store_true", help="cProfile one run of ours at --rows, then stop"
    )
    parser.add_argument("--write-readme", action="store_true")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--path", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        tasks = {
            "ours": lambda: child_ours(args.path, args.memory_limit),
            "profile": lambda: child_profile(args.path, args.memory_limit),
            "metricframe": lambda: child_metricframe(args.path),
        }
        print(json.dumps(tasks[args.child](), default=str))
        return 0
    if args.quick:
        args.rows, args.repeats, args.big_rows = 100_000, 1, 0

    RESULTS.mkdir(parents=True, exist_ok=True)
    path = ensure_data(args.rows)
    ours_py = sys.executable
    extra = ["--memory-limit", args.memory_limit] if args.memory_limit else []
    if args.profile:
        result = run_child(ours_py, "profile", path, extra)
        print(f"ours under cProfile: {result['seconds']:.2f} s\n{result['profile']}")
        return 0
    peer_py = PEERS_PY if PEERS_PY.exists() else Path(sys.executable)
    peer_env = ".venv-bench" if PEERS_PY.exists() else "the product's .venv (.venv-bench missing)"
    print(f"data: {path} ({args.rows:,} rows); peer in {peer_env}")
    report: dict = {
        "rows": args.rows,
        "repeats": args.repeats,
        "cpu_count": os.cpu_count(),
        "load_average_start": os.getloadavg(),
        "peer_environment": peer_env,
        "commit": _commit(),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }
    runs: dict[str, list[dict]] = {"ours": [], "metricframe": []}
    for repeat in range(args.repeats):
        for name, python in (("ours", ours_py), ("metricframe", peer_py)):
            result = run_child(python, name, path, extra if name == "ours" else None)
            runs[name].append(result)
            print(
                f"  run {repeat + 1} {name:12s} {result['seconds']:8.2f} s  "
                f"peak {result['peak_rss_mb']:7.0f} MB"
            )
    report["medians"] = {
        name: {
            "seconds": statistics.median(r["seconds"] for r in results),
            "peak_rss_mb": statistics.median(r["peak_rss_mb"] for r in results),
        }
        for name, results in runs.items()
    }
    report["runs_seconds"] = {name: [round(r["seconds"], 2) for r in rs] for name, rs in runs.items()}
    report["speedup"] = report["medians"]["metricframe"]["seconds"] / report["medians"]["ours"]["seconds"]
    report["same_numbers"] = compare(runs["ours"][0], runs["metricframe"][0])
    first = runs["ours"][0]
    report["ours_detail"] = {k: first[k] for k in ("n_rows", "n_cells", "labels_used", "headline")}
    report["peer_versions"] = {k: runs["metricframe"][0][k] for k in ("fairlearn", "pandas")}
    report["load_average_end"] = os.getloadavg()
    print(
        f"  medians: ours {report['medians']['ours']['seconds']:.2f} s, MetricFrame "
        f"{report['medians']['metricframe']['seconds']:.2f} s, speed-up {report['speedup']:.1f}x; "
        f"same numbers {report['same_numbers']}"
    )
    out = RESULTS / f"fairness_{args.rows}.json"
    out.write_text(json.dumps(report, indent=2, default=str) + "\n")
    if args.big_rows:
        report["big"] = run_big(args, ours_py, peer_py, extra)
        report["load_average_end"] = os.getloadavg()
        out.write_text(json.dumps(report, indent=2, default=str) + "\n")
    if args.write_readme:
        write_readme(report)
    return 0


def run_big(args: argparse.Namespace, ours_py: str, peer_py: Path, extra: list[str]) -> dict:
    """The one-off run at ``--big-rows``: ours once (peak RSS target < 1.5 GB), the peer once under caps."""
    path = ensure_data(args.big_rows)
    ours = run_child(ours_py, "ours", path, extra)
    print(f"  big {args.big_rows:,} ours: {ours['seconds']:.1f} s, peak {ours['peak_rss_mb']:.0f} MB")
    peer = run_child(peer_py, "metricframe", path, memory_mb=args.peer_memory_mb, timeout=args.peer_timeout)
    if "stopped" in peer:
        print(f"  big MetricFrame stopped ({peer['stopped']}); last stage: {peer['last_stage']}")
    else:
        print(f"  big MetricFrame: {peer['seconds']:.1f} s, peak {peer['peak_rss_mb']:.0f} MB")
    return {
        "rows": args.big_rows,
        "ours": {k: ours[k] for k in ("seconds", "peak_rss_mb", "n_cells")},
        "metricframe": {k: v for k, v in peer.items() if k not in ("values", "gaps")},
        "caps": {"memory_mb": args.peer_memory_mb, "timeout_s": args.peer_timeout},
        "memory_limit": args.memory_limit or "open_logs default (2GB)",
    }


def _commit() -> str:
    with contextlib.suppress(Exception):
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
    return "unknown"


def write_readme(report: dict) -> None:
    """Replace (or add) the ``## Fairness`` section of bench/README.md with this run's table."""
    medians = report["medians"]
    ours, peer = medians["ours"], medians["metricframe"]
    same = report["same_numbers"]
    lines = [
        "## Fairness",
        "",
        f"Written by `bench/fairness_bench.py --write-readme` on {report['date']} at commit "
        f"{report['commit']}: {report['rows']:,} rows of a seeded credit_scoring-like log (Parquet, "
        f"generated by the script), {report['repeats']} interleaved run(s) per side, medians; each run a "
        "fresh child "
        "process, time from the Parquet file to the result (the read included, imports not), peak = the "
        f"child's max RSS. {report['cpu_count']} cores shared with other sessions: load average "
        f"{_load(report['load_average_start'])} at the start, "
        f"{_load(report['load_average_end'])} at the end.",
        "",
        "| task | rows | median s | peak MB |",
        "| --- | ---: | ---: | ---: |",
        f"| ours, `assess_fairness` (everything, intervals, 1000 resamples) | {report['rows']:,} | "
        f"{ours['seconds']:.2f} | {ours['peak_rss_mb']:.0f} |",
        f"| fairlearn {report['peer_versions']['fairlearn']} `MetricFrame` on the raw rows "
        "(point estimates) | "
        f"{report['rows']:,} | {peer['seconds']:.2f} | {peer['peak_rss_mb']:.0f} |",
    ]
    big = report.get("big")
    if big:
        lines.append(
            f"| ours, once | {big['rows']:,} | {big['ours']['seconds']:.2f} | "
            f"{big['ours']['peak_rss_mb']:.0f} |"
        )
        mf = big["metricframe"]
        if "stopped" in mf:
            lines.append(
                f"| `MetricFrame`, once (capped) | {big['rows']:,} | stopped | {mf['peak_rss_mb']:.0f} |"
            )
        else:
            lines.append(
                f"| `MetricFrame`, once | {big['rows']:,} | {mf['seconds']:.2f} | {mf['peak_rss_mb']:.0f} |"
            )
    lines += [
        "",
        f"- Speed-up over MetricFrame at {report['rows']:,} rows: **{report['speedup']:.1f}x** (medians) -- "
        "target >= 50x, aim 100x.",
        f"- Same numbers: {same['n_compared']} per-group metric values compared (6 groupings x 2 windows x 7 "
        f"metrics), largest absolute difference {same['max_abs_diff']:.1e}, {same['nan_mismatch']} "
        f"undefined in one side only, {same['missing_in_ours']} missing in ours.",
    ]
    if big:
        mf = big["metricframe"]
        where = (
            f"stopped by its cap ({mf['stopped']}); last stage finished: `{mf['last_stage']}`"
            if "stopped" in mf
            else f"finished in {mf['seconds']:.1f} s"
        )
        lines.append(
            f"- {big['rows']:,} rows: ours {big['ours']['seconds']:.1f} s, peak RSS "
            f"{big['ours']['peak_rss_mb']:.0f} MB (DuckDB memory_limit: {big['memory_limit']}) -- target "
            f"< 1.5 GB. MetricFrame (caps {big['caps']['memory_mb']:.0f} MB RSS, "
            f"{big['caps']['timeout_s']:.0f} s) {where}."
        )
    runs = "; ".join(
        f"{name} {', '.join(map(str, values))}" for name, values in report["runs_seconds"].items()
    )
    lines += [
        "",
        "Notes: ours computes far more than the peer -- per model version, Wilson/Newcombe/Katz intervals, "
        "Benjamini-Hochberg, the change of each gap, composites with 1000 multinomial resamples per grouping "
        "and window, four-fifths, gap over time and calibration -- from engine aggregates to cells; the "
        "peer computes the metric values and difference()/ratio() only (MetricFrame computes no intervals "
        f"here). The peer ran in {report['peer_environment']} (pandas {report['peer_versions']['pandas']}). "
        f"All runs (s): {runs}. Reproduce with `bash bench/setup_peers.sh && .venv/bin/python "
        "bench/fairness_bench.py --write-readme`.",
        "",
    ]
    readme = ROOT / "bench" / "README.md"
    text = readme.read_text() if readme.exists() else "# Benchmarks\n\n"
    section = "\n".join(lines)
    if "## Fairness" in text:
        head, _, tail = text.partition("## Fairness")
        rest = tail.split("\n## ", 1)
        text = head + section + ("\n## " + rest[1] if len(rest) > 1 else "")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    readme.write_text(text)


def _load(values) -> str:
    return ", ".join(f"{x:.2f}" for x in values)


if __name__ == "__main__":
    sys.exit(main())
