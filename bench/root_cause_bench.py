"""Root-cause benchmark (issue 23): the onset counts hourly and the whole analysis at 1M and 10M rows.

Usage (from the repository root):

    .venv/bin/python bench/root_cause_bench.py                     # 1M x3, 10M x1
    .venv/bin/python bench/root_cause_bench.py --rows 1000000 --big-rows 0 --repeats 1

Data: the seeded log of ``bench/slice_bench.py`` (``rows`` incident rows after as many reference rows, ten
features, a planted slice failing at 45 % from the middle of the span, i.e. a step in the failure rate at a
known time), read by DuckDB (memory limit 1 GB). Each measurement is a fresh child process, timed from the
Parquet file to the result (imports not counted); peak = the child's ``ru_maxrss``.

- ``onset``: :func:`analysis._root_cause_series.rate_series` (one aggregate per hour and model version)
  and :func:`analysis._root_cause_onset.failure_change` with hourly chunks: the failure onset, its interval
  and whether the interval holds the planted hour;
- ``whole``: :func:`analysis.root_cause.analyse_root_cause` (onset, slices, decomposition, data quality,
  shifts, ranked causes).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

from fairness_bench import _Capped, _commit, _peak_rss_mb
from slice_bench import DAYS, FEATURES, START_US, ensure_data

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SECTION_HEADING = "## Root cause"


def _setup(path: str):
    from datetime import UTC, datetime, timedelta

    import ibis

    from analysis.data import Window, incident_windows
    from register.schema import ColumnRoles, DataCard, DataSource, PredictionConditionSignal

    start = datetime.fromtimestamp(START_US / 1e6, tz=UTC)
    middle, end = start + timedelta(days=DAYS / 2), start + timedelta(days=DAYS)
    card = DataCard(
        source=DataSource(location=path),
        task="binary_classification",
        columns=ColumnRoles(event_time="event_time", entity_id="region", features=list(FEATURES)),
        failure_signal=PredictionConditionSignal(column="failed", op="==", value=1),
    )
    windows = incident_windows(
        middle,
        as_of=end,
        reference=Window(start, middle - timedelta(days=2), "reference"),
        incident=Window(middle, end, "incident"),
    )
    table = ibis.duckdb.connect(memory_limit="1GB").read_parquet(path)
    return card, windows, table, middle


def child(task: str, path: str) -> dict:
    from analysis._root_cause_onset import failure_change
    from analysis._root_cause_series import rate_series
    from analysis.root_cause import analyse_root_cause

    card, windows, table, planted = _setup(path)
    begin = time.perf_counter()
    if task == "onset":
        series = rate_series(table, card, None, windows, as_of=windows.as_of, chunk="hour")
        change = failure_change(series, windows)
        window = change.onset.window
        out = {"hours": int(len(series.hourly))}
    else:
        result = analyse_root_cause(table, card, windows, as_of=windows.as_of, chunk="day")
        change, window = result.failure, result.failure.onset.window
        out = {"top_cause": result.causes[0].kind if result.causes else None, "verdict": result.verdict}
    seconds = time.perf_counter() - begin
    covered = window is not None and window.low <= planted < window.high
    return {
        **out,
        "seconds": seconds,
        "peak_rss_mb": _peak_rss_mb(),
        "onset": window.at.isoformat() if window else None,
        "interval": [window.low.isoformat(), window.high.isoformat()] if window else None,
        "covers_planted": bool(covered),
        "significant": bool(change.significant),
    }


def run_child(task: str, path: Path, *, timeout: float = 1800) -> dict:
    """One measurement in a fresh child process of this script."""
    command = [sys.executable, str(Path(__file__).resolve()), "--child", task, "--path", str(path)]
    capped = _Capped(command, memory_mb=None, timeout=timeout)
    code, out, err = capped.run()
    if capped.stopped or code != 0:
        raise RuntimeError(f"child {task} failed ({capped.stopped}):\n{err[-2000:]}")
    return json.loads(out.strip().splitlines()[-1])


def measure(rows: int, repeats: int) -> dict:
    path = ensure_data(rows)
    report: dict = {"rows": rows}
    for task in ("onset", "whole"):
        runs = [run_child(task, path) for _ in range(repeats)]
        report[task] = {
            "median_seconds": statistics.median(run["seconds"] for run in runs),
            "peak_rss_mb": max(run["peak_rss_mb"] for run in runs),
            "runs": runs,
        }
        print(f"{rows:>11,} rows  {task:5}  {report[task]['median_seconds']:7.2f} s  "
              f"{report[task]['peak_rss_mb']:6.0f} MB  {runs[-1]}", flush=True)
    return report


def write_readme(reports: list[dict]) -> None:
    lines = [
        SECTION_HEADING,
        "",
        f"`bench/root_cause_bench.py` at commit {_commit()}, "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
        "2-core machine, DuckDB memory limit 1 GB, a fresh child process per run (medians; peak RSS the "
        "largest). Rows = incident-window rows; the log holds as many reference rows before them. The "
        "planted step is the middle of the span (a slice failing at 45 %).",
        "",
        "| rows searched | onset counts, hourly (s) | peak RSS (MB) | onset interval holds the planted hour "
        "| whole analysis (s) | peak RSS (MB) | first cause |",
        "| ---: | ---: | ---: | --- | ---: | ---: | --- |",
    ]
    for report in reports:
        onset, whole = report["onset"], report["whole"]
        lines.append(
            f"| {report['rows']:,} | {onset['median_seconds']:.1f} | {onset['peak_rss_mb']:.0f} | "
            f"{onset['runs'][-1]['covers_planted']} | {whole['median_seconds']:.1f} | "
            f"{whole['peak_rss_mb']:.0f} | {whole['runs'][-1]['top_cause']} |"
        )
    readme = ROOT / "bench" / "README.md"
    text = readme.read_text(encoding="utf-8")
    block = "\n".join(lines) + "\n"
    if SECTION_HEADING in text:
        head, _, rest = text.partition(SECTION_HEADING)
        tail = rest.split("\n## ", 1)
        text = head + block + ("\n## " + tail[1] if len(tail) > 1 else "")
    else:
        text = text.rstrip() + "\n\n" + block
    readme.write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", choices=["onset", "whole"])
    parser.add_argument("--path")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--big-rows", type=int, default=10_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--write-readme", action="store_true")
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child, args.path)))
        return 0
    reports = [measure(args.rows, args.repeats)]
    if args.big_rows:
        reports.append(measure(args.big_rows, 1))
    if args.write_readme:
        write_readme(reports)
    return 0


if __name__ == "__main__":
    sys.exit(main())
