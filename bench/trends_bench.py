"""Trends benchmark (issue 24): the governance dashboard and digest, and the overdue action items, at 100k.

Builds (or reuses) the register benchmark's register — 100,000 incidents, 1,000,000 timeline events,
300,000 action items, 10,000 notifications (``bench_register.build_bundle``) — on SQLite and, when a
PostgreSQL server URL is given, on PostgreSQL, then times, as a user runs them (a fresh process each):

- ``workbench trends --register R --as-of T --out DIR``: papermill runs ``trends.ipynb`` (read the
  register once, derive metrics, summarise, write summary/figures/tables), then the dashboard and the
  digest are rendered (target: under 15 s end to end);
- ``workbench actions --overdue`` as a table and as CSV on stdout (target: under 2 s);

with the split of the trends run: the CLI's start-up floor (``workbench --help``), the run's own stages
(``manifest.json`` ``durations.stages``: the notebook's execution), the notebook's cells (papermill's
per-cell durations in the executed notebook: kernel start = execute minus the cells), and what is left
of the wall (start-up, the register check, rendering the dashboard and the digest); and, in this
process, the two in-notebook steps alone: ``register.governance.trend_frames`` and
``analysis.trends.trend_summary``. Each step runs ``--repeat`` times (median). The load average is
printed at the start and the end. Usage::

    .venv/bin/python bench/trends_bench.py [--scale 1.0] [--repeat 3] [--sqlite PATH [--reuse]]
        [--pg-url postgresql+psycopg://user@host:port/postgres [--pg-reuse]] [--skip-sqlite]

``--pg-reuse`` keeps the ``bench_trends`` database a previous run filled (otherwise it is dropped,
created and filled again: import_bundle takes about 2 minutes on either backend).

(``scripts/with-test-services.sh`` starts a throw-away PostgreSQL cluster and exports its URL as
``WORKBENCH_TEST_PG_URL``; ``--pg-url env`` takes it from there.) Not a test: timings depend on the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_register import START, build_bundle  # noqa: E402

from register import open_register  # noqa: E402

WORKBENCH = str(Path(sys.executable).with_name("workbench"))
AS_OF = START + timedelta(days=800)


def _median_run(argv: list[str], repeat: int) -> tuple[float, str, float]:
    """Median wall and CPU seconds of a command (CPU: user + system of it and every process it waited
    for, such as the notebook's kernel: on a busy machine the CPU time is the steadier figure)."""
    walls, cpus = [], []
    out = ""
    for _ in range(repeat):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        done = subprocess.run(argv, capture_output=True, text=True, check=False)
        walls.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(argv)} failed:\n{done.stdout}\n{done.stderr}")
        out = done.stdout
    return statistics.median(walls), out, statistics.median(cpus)


def _median_call(func, repeat: int) -> tuple[float, float]:
    walls, cpus = [], []
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        func()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus)


def _fill(location: str, scale: float) -> float:
    bundle = build_bundle(int(100_000 * scale), int(1_000_000 * scale), int(300_000 * scale))
    start = time.perf_counter()
    with open_register(location, create=True) as register:
        register.import_bundle(bundle, by="bench")
    return time.perf_counter() - start


def _pg_database(server: str, *, reuse: bool = False) -> str:
    url = sa.make_url(server)
    if not reuse:
        engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
        with engine.connect() as connection:
            connection.exec_driver_sql("DROP DATABASE IF EXISTS bench_trends")
            connection.exec_driver_sql("CREATE DATABASE bench_trends")
        engine.dispose()
    return url.set(database="bench_trends").render_as_string(hide_password=False)


def _load() -> str:
    return ", ".join(f"{value:.2f}" for value in os.getloadavg())


def _trends_split(run_dirs: list[Path]) -> dict[str, float]:
    """Median seconds of each part of the trends runs (their manifests and executed notebooks)."""
    import nbformat

    parts: dict[str, list[float]] = {}
    for run_dir in run_dirs:
        manifest = json.loads((run_dir / "manifest.json").read_text())
        stages = manifest["durations"]["stages"]
        for name, seconds in stages.items():
            parts.setdefault(f"stage {name}", []).append(seconds)
        notebook = nbformat.read(run_dir / "trends" / "trends.ipynb", as_version=4)
        per_run: dict[str, float] = {}
        for cell in notebook.cells:
            seconds = (cell.metadata.get("papermill") or {}).get("duration")
            if cell.cell_type == "code" and seconds is not None:
                part = _cell_part(cell)
                per_run[part] = per_run.get(part, 0.0) + seconds
        for part, seconds in per_run.items():
            parts.setdefault(part, []).append(seconds)
        cells = sum(per_run.values())
        parts.setdefault("cells", []).append(cells)
        parts.setdefault("kernel and papermill (execute - cells)", []).append(stages["execute"] - cells)
    return {name: statistics.median(values) for name, values in parts.items()}


_CELLS = {
    "cell parameters": "parameters (default and injected)",
    "cell read": "imports, trend_frames (read the register once, derive metrics)",
    "cell summary": "trend_summary, trend_figures, write_trend_outputs",
    "cell show": "the figures shown (three cells)",
}


def _cell_part(cell) -> str:
    """Which part of the trends notebook a code cell is (by its tags and source)."""
    tags = cell.metadata.get("tags", [])
    if "parameters" in tags or "injected-parameters" in tags:
        return "cell parameters"
    if "trend_frames(" in cell.source:
        return "cell read"
    if "trend_summary(" in cell.source:
        return "cell summary"
    return "cell show"


def _bench(name: str, location: str, repeat: int, rows: list[tuple[str, str, str, str, str]]) -> None:
    from analysis.trends import trend_summary
    from register.governance import trend_frames
    from register.policy import load_policy

    out = tempfile.mkdtemp(prefix="bench-trends-")
    as_of = AS_OF.isoformat()
    rows.append((name, f"(load average at start: {_load()})", "", "", ""))
    floor, _, floor_cpu = _median_run([WORKBENCH, "--help"], repeat)
    wall, printed, cpu = _median_run(
        [WORKBENCH, "trends", "--register", location, "--as-of", as_of, "--out", out], repeat
    )
    runs = sorted(path for path in (Path(out) / "trends").iterdir() if path.is_dir())
    split = _trends_split(runs)
    html = runs[-1] / "dashboard.html"
    digest = (runs[-1] / "digest.md").stat().st_size
    detail = f"dashboard {html.stat().st_size / 1e6:.1f} MB, digest {digest:,} B"
    rows.append((name, "**workbench trends (end to end)**", f"**{wall:.2f}**", f"{cpu:.2f}", detail))
    rows.append((name, "  CLI start-up floor (workbench --help)", f"{floor:.2f}", f"{floor_cpu:.2f}", ""))
    rows.append((name, "  run stages (manifest): execute the notebook", f"{split['stage execute']:.2f}", "",
                 f"all stages {split['stage total']:.2f} s"))  # fmt: skip
    kernel = split["kernel and papermill (execute - cells)"]
    rows.append((name, "    kernel start and papermill", f"{kernel:.2f}", "", "execute minus the cells"))
    for key, what in _CELLS.items():
        if key in split:
            rows.append((name, f"    {key}: {what}", f"{split[key]:.2f}", "", ""))
    rest = wall - split["stage total"]
    rows.append((name, "  outside the run: start-up, register check, render dashboard + digest",
                 f"{rest:.2f}", "", "wall minus the stages"))  # fmt: skip
    policy = load_policy()
    with open_register(location) as register:
        frames: dict = {}

        def read() -> None:
            frames.update(trend_frames(register, as_of=AS_OF, policy=policy))

        wall, cpu = _median_call(read, repeat)
    sizes = ", ".join(f"{len(frame):,} {key}" for key, frame in frames.items())
    step = "  in-process: trend_frames alone (read once, derive metrics)"
    rows.append((name, step, f"{wall:.2f}", f"{cpu:.2f}", sizes))
    wall, cpu = _median_call(
        lambda: trend_summary(
            frames["incidents"],
            metrics=frames["metrics"],
            as_of=AS_OF,
            notifications=frames["notifications"],
            action_items=frames["action_items"],
        ),
        repeat,
    )
    rows.append((name, "  in-process: trend_summary alone (pandas, no I/O)", f"{wall:.2f}", f"{cpu:.2f}", ""))
    actions = [WORKBENCH, "actions", "--overdue", "--register", location, "--as-of", as_of]
    wall, printed, cpu = _median_run(actions, repeat)
    rows.append((name, "**workbench actions --overdue**", f"**{wall:.2f}**", f"{cpu:.2f}",
                 printed.splitlines()[0][:90]))  # fmt: skip
    wall, printed, cpu = _median_run([*actions, "--format", "csv"], repeat)
    rows.append((name, "**actions --overdue --format csv**", f"**{wall:.2f}**", f"{cpu:.2f}",
                 f"{len(printed.splitlines()) - 1:,} rows"))  # fmt: skip
    rows.append((name, f"(load average at end: {_load()})", "", "", ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the full size")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--sqlite", default=None, help="SQLite register file (default: a temporary one)")
    parser.add_argument("--reuse", action="store_true", help="the --sqlite file is filled already")
    parser.add_argument(
        "--pg-url", default=None, help="PostgreSQL server URL, or 'env' for WORKBENCH_TEST_PG_URL"
    )
    parser.add_argument("--pg-reuse", action="store_true", help="the bench_trends database is filled already")
    parser.add_argument("--skip-sqlite", action="store_true", help="PostgreSQL only")
    args = parser.parse_args()
    rows: list[tuple[str, str, str, str, str]] = []
    if not args.skip_sqlite:
        sqlite = args.sqlite or os.path.join(tempfile.mkdtemp(prefix="bench-trends-"), "register.sqlite")
        if not args.reuse:
            seconds = _fill(sqlite, args.scale)
            rows.append(("SQLite", "import_bundle (once)", f"{seconds:.1f}", "", "not part of the target"))
        _bench("SQLite", sqlite, args.repeat, rows)
    if args.pg_url:
        server = os.environ["WORKBENCH_TEST_PG_URL"] if args.pg_url == "env" else args.pg_url
        location = _pg_database(server, reuse=args.pg_reuse)
        if not args.pg_reuse:
            seconds = _fill(location, args.scale)
            rows.append(("PostgreSQL", "import_bundle (once)", f"{seconds:.1f}", "", "not part of target"))
        _bench("PostgreSQL", location, args.repeat, rows)
    print(
        f"\nTrends benchmark (Python {platform.python_version()}, {os.cpu_count()} cores, "
        f"scale {args.scale}, load {os.getloadavg()[0]:.1f})\n"
    )
    print(f"| database | step | median wall s ({args.repeat} runs) | CPU s | notes |")
    print("| --- | --- | ---: | ---: | --- |")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
