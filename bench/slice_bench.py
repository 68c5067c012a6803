"""Slice-discovery benchmark (issue 23): ``find_slices`` vs the ``sliceline`` package, same top-k, same run.

Usage (from the repository root; `make bench` runs it with no arguments):

    .venv/bin/python bench/slice_bench.py                    # 100k x3 interleaved, 1M (peer capped), 10M ours
    .venv/bin/python bench/slice_bench.py --quick            # 20k rows x1, nothing bigger
    .venv/bin/python bench/slice_bench.py --rows 100000 --mid-rows 0 --big-rows 0 --write-readme

Data: a seeded log generated here (never downloaded), written with pyarrow to
bench/data/slices_<rows>/log.parquet (git-ignored). ``rows`` is the number of rows SEARCHED (the incident
window); the log holds a reference window of the same size before it (``2 * rows`` rows in all). Ten features:
``region`` (8 values), ``channel`` (3), ``segment`` (4, 3 % NULL), ``product`` (6), ``device`` (5), ``plan``
(3) and the numeric ``income`` (2 % NULL), ``age``, ``tenure``, ``amount``; ``failed`` (boolean, 2 % NULL =
not judged): 4 % everywhere, +3 points over age 65, and 45 % in the planted slice region=R3 & channel=web &
product=P2 of the incident window.

Both sides: depth 3, top 5, alpha 0.95, the same minimum support (``max(32, ceil(0.001 * rows))``), numeric
features in 5 reference-quantile bins (linear interpolation, duplicate edges merged), NULL a value of its own.
Each run is a fresh child process timed from the Parquet file to the result (read included, imports not);
peak = the child's ``ru_maxrss`` (for a child stopped by a cap, the parent's 0.1 s samples):

- ours: ``analysis._slices.find_slices`` on ``ibis.duckdb.connect(memory_limit=...).read_parquet``;
- the peer: ``sliceline.Slicefinder(alpha, k=5, max_l=3, min_sup)`` (0.3.0 with numba, in .venv-bench)
  on the incident window's judged rows read by pandas and binned with numpy the same way (categorical
  values as they are, numeric cut at the reference quantiles with ``np.searchsorted``).

The two top-5 lists are compared slice by slice (predicates, size, failures, score).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import time
from pathlib import Path

from fairness_bench import _Capped, _commit, _load, _peak_rss_mb

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "bench" / "data"
RESULTS = ROOT / "bench" / "results"
PEERS_PY = ROOT / ".venv-bench" / "bin" / "python"

CHUNK = 1_000_000
DAYS = 20  # reference = days 0-10, incident = days 10-20
DAY_US = 86_400_000_000
START_US = 1_767_225_600_000_000  # 2026-01-01T00:00:00Z
CATEGORICAL = {
    "region": [f"R{i}" for i in range(8)],
    "channel": ["web", "app", "branch"],
    "segment": ["retail", "business", "premium"],
    "product": [f"P{i}" for i in range(6)],
    "device": ["ios", "android", "desktop", "tablet", "other"],
    "plan": ["basic", "plus", "pro"],
}
NUMERIC = ("income", "age", "tenure", "amount")
FEATURES = (*CATEGORICAL, *NUMERIC)
ALPHA, K, MAX_LEVEL, N_BINS = 0.95, 5, 3, 5


def min_support(rows: int) -> int:
    """The default of ``find_slices`` for ``rows`` incident rows (both sides get it explicitly)."""
    return max(32, math.ceil(0.001 * rows))


# ------------------------------------------------------------------------------------------------ data
def _chunk(rng, n: int, offset: int, total: int):
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    def strings(codes, labels, mask=None):
        return pc.take(pa.array(labels, type=pa.string()), pa.array(codes.astype(np.int32), mask=mask))

    day = (offset + np.arange(n)) / total * DAYS
    codes = {name: rng.integers(0, len(values), n) for name, values in CATEGORICAL.items()}
    codes["channel"] = rng.choice(3, n, p=[0.4, 0.4, 0.2])
    age = rng.integers(18, 90, n)
    planted = (day >= DAYS / 2) & (codes["region"] == 3) & (codes["channel"] == 0) & (codes["product"] == 2)
    rate = np.where(planted, 0.45, 0.04 + 0.03 * (age > 65))
    utc = pa.timestamp("us", tz="UTC")
    columns = {"event_time": pa.array(START_US + (day * DAY_US).astype(np.int64), type=utc)}
    for name, values in CATEGORICAL.items():
        columns[name] = strings(
            codes[name], values, mask=(rng.random(n) < 0.03) if name == "segment" else None
        )
    columns["income"] = pa.array(np.round(rng.lognormal(3.5, 0.6, n), 2), mask=rng.random(n) < 0.02)
    columns["age"] = pa.array(age.astype(np.float64))
    columns["tenure"] = pa.array(np.round(rng.exponential(4.0, n), 2))
    columns["amount"] = pa.array(np.round(rng.gamma(2.0, 150.0, n), 2))
    columns["failed"] = pa.array(rng.random(n) < rate, mask=rng.random(n) < 0.02)
    return pa.table(columns)


def ensure_data(rows: int) -> Path:
    """The Parquet log with ``rows`` incident rows and as many reference rows (written once, seeded)."""
    import numpy as np
    import pyarrow.parquet as pq

    folder = DATA / f"slices_{rows}"
    path = folder / "log.parquet"
    if (folder / "_SUCCESS").exists():
        return path
    folder.mkdir(parents=True, exist_ok=True)
    total = 2 * rows
    writer = None
    for k, offset in enumerate(range(0, total, CHUNK)):
        table = _chunk(np.random.default_rng([23, k]), min(CHUNK, total - offset), offset, total)
        if writer is None:
            writer = pq.ParquetWriter(path, table.schema)
        writer.write_table(table, row_group_size=CHUNK)
    if writer is not None:
        writer.close()
    (folder / "_SUCCESS").write_text("ok\n")
    return path


# ---------------------------------------------------------------------------------------------- children
def child_ours(path: str, rows: int, memory_limit: str) -> dict:
    from datetime import UTC, datetime, timedelta

    import ibis

    from analysis._slices import find_slices
    from analysis.data import Window

    start = datetime.fromtimestamp(START_US / 1e6, tz=UTC)
    middle, end = start + timedelta(days=DAYS / 2), start + timedelta(days=DAYS)
    begin = time.perf_counter()
    con = ibis.duckdb.connect(memory_limit=memory_limit)
    result = find_slices(
        con.read_parquet(path),
        list(FEATURES),
        "failed",
        event_time="event_time",
        reference=Window(start, middle, "reference"),
        incident=Window(middle, end, "incident"),
        alpha=ALPHA,
        k=K,
        max_level=MAX_LEVEL,
        min_support=min_support(rows),
        n_bins=N_BINS,
    )
    seconds = time.perf_counter() - begin
    top = [
        {
            "slice": sorted(p[3] for p in row.predicates),
            "n": int(row.n),
            "failures": int(row.failures),
            "score": row.score,
        }
        for row in result.slices.itertuples()
    ]
    return {
        "seconds": seconds,
        "peak_rss_mb": _peak_rss_mb(),
        "n": result.n,
        "candidates_evaluated": result.candidates_evaluated,
        "levels": result.levels,
        "top": top,
        "top_excess_share": float(result.slices["excess_share"].iloc[0]) if len(result.slices) else None,
    }


def child_sliceline(path: str, rows: int) -> dict:
    """sliceline on the incident window's judged rows, binned with numpy like ours."""
    import numpy as np
    import pandas as pd
    import sliceline
    from sliceline.slicefinder import Slicefinder, is_numba_available

    begin = time.perf_counter()
    frame = pd.read_parquet(path, columns=["event_time", *FEATURES, "failed"])
    frame = frame[frame["failed"].notna()]
    boundary = pd.Timestamp(START_US + DAYS // 2 * DAY_US, unit="us", tz="UTC")
    reference, incident = frame[frame["event_time"] < boundary], frame[frame["event_time"] >= boundary]
    print(f"{time.perf_counter() - begin:8.1f} s  read {len(frame):,} rows", file=sys.stderr, flush=True)
    matrix = np.empty((len(incident), len(FEATURES)), dtype=object)
    for j, name in enumerate(FEATURES):
        values = incident[name]
        if name in NUMERIC:
            ref_values = reference[name].dropna().to_numpy(np.float64)
            edges = np.unique(np.quantile(ref_values, [q / N_BINS for q in range(1, N_BINS)]))
            numbers = values.to_numpy(np.float64, na_value=np.nan)
            codes = np.where(np.isnan(numbers), 0, 1 + np.searchsorted(edges, numbers, side="right"))
            labels = [f"{name} = (null)", f"{name} < {edges[0]:.4g}"]
            labels += [f"{lo:.4g} <= {name} < {hi:.4g}" for lo, hi in zip(edges[:-1], edges[1:], strict=True)]
            labels += [f"{name} >= {edges[-1]:.4g}"]
            matrix[:, j] = np.asarray(labels, dtype=object)[codes]
        else:
            matrix[:, j] = (name + " = " + values.fillna("(null)").astype(str)).to_numpy(dtype=object)
    errors = incident["failed"].astype(int).to_numpy()
    print(f"{time.perf_counter() - begin:8.1f} s  binned", file=sys.stderr, flush=True)
    finder = Slicefinder(alpha=ALPHA, k=K, max_l=MAX_LEVEL, min_sup=min_support(rows), verbose=False)
    finder.fit(matrix, errors)
    seconds = time.perf_counter() - begin
    top = [
        {
            "slice": sorted(x for x in found if x is not None),
            "n": int(stats["slice_size"]),
            "failures": int(stats["sum_slice_error"]),
            "score": stats["slice_score"],
        }
        for found, stats in zip(finder.top_slices_, finder.top_slices_statistics_, strict=True)
    ]
    return {
        "seconds": seconds,
        "peak_rss_mb": _peak_rss_mb(),
        "n": len(incident),
        "top": top,
        "sliceline": sliceline.__version__ if hasattr(sliceline, "__version__") else "0.3.0",
        "numba": is_numba_available(),
    }


# ------------------------------------------------------------------------------------------------ parent
def run_child(python, task: str, path: Path, rows: int, extra=(), *, memory_mb=None, timeout=None) -> dict:
    command = [str(python), str(Path(__file__).resolve()), "--child", task, "--path", str(path)]
    command += ["--rows", str(rows), *extra]
    capped = _Capped(command, memory_mb=memory_mb, timeout=timeout)
    code, out, err = capped.run()
    progress = [line.strip() for line in err.splitlines() if " s  " in line]
    if capped.stopped:
        return {
            "stopped": capped.stopped,
            "last_stage": progress[-1] if progress else "(none)",
            "peak_rss_mb": capped.peak_mb,
        }
    if code != 0:
        tail = err[-2000:]
        if "MemoryError" in tail or "Unable to allocate" in tail:
            return {
                "stopped": "MemoryError: " + tail.strip().splitlines()[-1][:300],
                "peak_rss_mb": capped.peak_mb,
            }
        raise RuntimeError(f"child {task} failed:\n{tail}")
    result = json.loads(out.strip().splitlines()[-1])
    result["sampled_peak_rss_mb"] = capped.peak_mb
    return result


def same_top(ours: dict, peer: dict) -> dict:
    """Whether the two top-k lists name the same slices in the same order with the same counts and scores."""
    if "top" not in peer:
        return {"compared": False}
    same_slices = [a["slice"] for a in ours["top"]] == [b["slice"] for b in peer["top"]]
    counts = all(
        (a["n"], a["failures"]) == (b["n"], b["failures"])
        for a, b in zip(ours["top"], peer["top"], strict=False)
    )
    worst = max(
        (abs(a["score"] - b["score"]) for a, b in zip(ours["top"], peer["top"], strict=False)), default=0.0
    )
    return {
        "compared": True,
        "same_slices_in_order": same_slices,
        "same_counts": counts,
        "max_score_diff": worst,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000, help="incident rows of the comparison")
    parser.add_argument("--repeats", type=int, default=3, help="interleaved runs per side")
    parser.add_argument(
        "--mid-rows", type=int, default=1_000_000, help="ours x repeats, the peer once capped; 0 skips"
    )
    parser.add_argument("--big-rows", type=int, default=10_000_000, help="ours once (peak RSS); 0 skips")
    parser.add_argument("--quick", action="store_true", help="20k rows, 1 run, nothing bigger")
    parser.add_argument("--peer-memory-mb", type=float, default=16_000, help="the peer's RSS cap")
    parser.add_argument("--peer-timeout", type=float, default=900, help="the peer's time cap (s)")
    parser.add_argument("--big-timeout", type=float, default=900, help="time box of ours at --big-rows (s)")
    parser.add_argument("--memory-limit", default="1GB", help="DuckDB memory_limit of ours")
    parser.add_argument("--write-readme", action="store_true")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--path", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        tasks = {
            "ours": lambda: child_ours(args.path, args.rows, args.memory_limit),
            "sliceline": lambda: child_sliceline(args.path, args.rows),
        }
        print(json.dumps(tasks[args.child](), default=str))
        return 0
    if args.quick:
        args.rows, args.repeats, args.mid_rows, args.big_rows = 20_000, 1, 0, 0
    RESULTS.mkdir(parents=True, exist_ok=True)
    peer_py = PEERS_PY if PEERS_PY.exists() else Path(sys.executable)
    ours_extra = ["--memory-limit", args.memory_limit]
    report: dict = {
        "rows": args.rows,
        "repeats": args.repeats,
        "cpu_count": os.cpu_count(),
        "load_average_start": os.getloadavg(),
        "peer_environment": ".venv-bench"
        if PEERS_PY.exists()
        else "the product's .venv (.venv-bench missing)",
        "commit": _commit(),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "memory_limit": args.memory_limit,
        "caps": {"memory_mb": args.peer_memory_mb, "timeout_s": args.peer_timeout},
    }
    out = RESULTS / f"slices_{args.rows}.json"
    report["main"] = compare_at(args.rows, args.repeats, peer_py, ours_extra, args, peer_runs=args.repeats)
    out.write_text(json.dumps(report, indent=2, default=str) + "\n")
    if args.mid_rows:
        report["mid"] = compare_at(args.mid_rows, args.repeats, peer_py, ours_extra, args, peer_runs=1)
        out.write_text(json.dumps(report, indent=2, default=str) + "\n")
    if args.big_rows:
        path = ensure_data(args.big_rows)
        big = run_child(sys.executable, "ours", path, args.big_rows, ours_extra, timeout=args.big_timeout)
        print(
            f"  big {args.big_rows:,} ours: {big.get('seconds', 'stopped')} s, "
            f"peak {big['peak_rss_mb']:.0f} MB"
        )
        report["big"] = {"rows": args.big_rows, "ours": big}
    report["load_average_end"] = os.getloadavg()
    out.write_text(json.dumps(report, indent=2, default=str) + "\n")
    if args.write_readme:
        write_readme(report)
    return 0


def compare_at(rows: int, repeats: int, peer_py, ours_extra, args, *, peer_runs: int) -> dict:
    """Interleaved runs of both sides at ``rows`` (the peer ``peer_runs`` times, under the caps)."""
    path = ensure_data(rows)
    print(f"data: {path} ({rows:,} incident rows, {2 * rows:,} in all)")
    runs: dict[str, list[dict]] = {"ours": [], "sliceline": []}
    for repeat in range(repeats):
        ours = run_child(sys.executable, "ours", path, rows, ours_extra)
        runs["ours"].append(ours)
        print(f"  run {repeat + 1} ours      {ours['seconds']:8.2f} s  peak {ours['peak_rss_mb']:7.0f} MB")
        if repeat < peer_runs:
            peer = run_child(
                peer_py, "sliceline", path, rows, memory_mb=args.peer_memory_mb, timeout=args.peer_timeout
            )
            runs["sliceline"].append(peer)
            if "stopped" in peer:
                print(f"  run {repeat + 1} sliceline stopped: {peer['stopped']}")
            else:
                print(
                    f"  run {repeat + 1} sliceline {peer['seconds']:8.2f} s  "
                    f"peak {peer['peak_rss_mb']:7.0f} MB"
                )
    done = [r for r in runs["sliceline"] if "stopped" not in r]
    summary: dict = {
        "rows": rows,
        "ours": {
            "median_s": statistics.median(r["seconds"] for r in runs["ours"]),
            "median_peak_mb": statistics.median(r["peak_rss_mb"] for r in runs["ours"]),
            "runs_s": [round(r["seconds"], 2) for r in runs["ours"]],
            "candidates_evaluated": runs["ours"][0]["candidates_evaluated"],
            "top": runs["ours"][0]["top"],
            "top_excess_share": runs["ours"][0]["top_excess_share"],
        },
    }
    if done:
        summary["sliceline"] = {
            "median_s": statistics.median(r["seconds"] for r in done),
            "median_peak_mb": statistics.median(r["peak_rss_mb"] for r in done),
            "runs_s": [round(r["seconds"], 2) for r in done],
            "numba": done[0]["numba"],
        }
        summary["speedup"] = summary["sliceline"]["median_s"] / summary["ours"]["median_s"]
        summary["same_top"] = same_top(runs["ours"][0], done[0])
        print(f"  speed-up {summary['speedup']:.1f}x; same top-k: {summary['same_top']}")
    else:
        summary["sliceline"] = {
            "stopped": [r["stopped"] for r in runs["sliceline"]],
            "peak_mb": [r["peak_rss_mb"] for r in runs["sliceline"]],
        }
    return summary


def write_readme(report: dict) -> None:
    """Replace (or add) the ``## Slice discovery`` section of bench/README.md with this run's table."""
    main_, mid, big = report["main"], report.get("mid"), report.get("big")
    lines = [
        "## Slice discovery",
        "",
        f"Written by `bench/slice_bench.py --write-readme` on {report['date']} at commit "
        f"{report['commit']}: a seeded log with 10 features (6 categorical, 4 numeric in 5 "
        "reference-quantile bins), rows = the incident window searched (the log holds as many reference "
        "rows before it), depth 3, top 5, alpha 0.95, min support max(32, 0.1 % of rows), both sides. "
        "Fresh child process per run, time from the Parquet file to the result, peak = the child's max "
        f"RSS; ours with DuckDB memory_limit {report['memory_limit']}. {report['cpu_count']} cores shared "
        f"with other sessions: load average {_load(report['load_average_start'])} at the start, "
        f"{_load(report['load_average_end'])} at the end.",
        "",
        "| task | rows searched | runs | median s | peak MB |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for block in (main_, mid):
        if not block:
            continue
        ours, peer = block["ours"], block["sliceline"]
        lines.append(
            f"| ours, `find_slices` (DuckDB) | {block['rows']:,} | {len(ours['runs_s'])} | "
            f"{ours['median_s']:.2f} | {ours['median_peak_mb']:.0f} |"
        )
        if "median_s" in peer:
            lines.append(
                f"| sliceline 0.3.0 `Slicefinder` (numba {peer['numba']}) | {block['rows']:,} | "
                f"{len(peer['runs_s'])} | {peer['median_s']:.2f} | {peer['median_peak_mb']:.0f} |"
            )
        else:
            lines.append(
                f"| sliceline 0.3.0 `Slicefinder`, capped | {block['rows']:,} | {len(peer['stopped'])} | "
                f"stopped | {max(peer['peak_mb']):.0f} |"
            )
    if big:
        ours = big["ours"]
        seconds = f"{ours['seconds']:.2f}" if "seconds" in ours else "stopped"
        lines.append(f"| ours, once | {big['rows']:,} | 1 | {seconds} | {ours['peak_rss_mb']:.0f} |")
    lines.append("")
    for block in (main_, mid):
        if not block:
            continue
        if "speedup" in block:
            same = block["same_top"]
            lines.append(
                f"- {block['rows']:,} rows: ours **{block['speedup']:.1f}x** faster than sliceline "
                f"(medians; target >= 10x); same top 5 in the same order: {same['same_slices_in_order']}, "
                f"same sizes and failures: {same['same_counts']}, largest score difference "
                f"{same['max_score_diff']:.1e}. Runs (s): ours {block['ours']['runs_s']}, "
                f"sliceline {block['sliceline']['runs_s']}."
            )
        else:
            lines.append(
                f"- {block['rows']:,} rows: ours {block['ours']['median_s']:.1f} s (target < 30 s); "
                f"sliceline stopped: {'; '.join(block['sliceline']['stopped'])} "
                f"(caps {report['caps']['memory_mb']:.0f} MB RSS, "
                f"{report['caps']['timeout_s']:.0f} s)."
            )
        top = block["ours"]["top"][0] if block["ours"]["top"] else None
        if top:
            lines.append(
                f"  Top slice: `{' & '.join(top['slice'])}` ({top['n']:,} rows, {top['failures']:,} "
                f"failures, {block['ours']['top_excess_share']:.0%} of the excess); "
                f"{block['ours']['candidates_evaluated']:,} candidates evaluated."
            )
    if big:
        ours = big["ours"]
        what = f"{ours['seconds']:.1f} s" if "seconds" in ours else f"stopped ({ours['stopped']})"
        lines.append(
            f"- {big['rows']:,} rows searched ({2 * big['rows']:,} read): ours {what}, peak RSS "
            f"{ours['peak_rss_mb']:.0f} MB (target < 2 GB)."
        )
    lines += [
        "",
        "Reproduce with `bash bench/setup_peers.sh && .venv/bin/python bench/slice_bench.py --write-readme`.",
        "",
    ]
    readme = ROOT / "bench" / "README.md"
    text = readme.read_text()
    section = "\n".join(lines)
    if "## Slice discovery" in text:
        head, _, tail = text.partition("## Slice discovery")
        rest = tail.split("\n## ", 1)
        text = head + section + ("\n## " + rest[1] if len(rest) > 1 else "")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    readme.write_text(text)


if __name__ == "__main__":
    sys.exit(main())
