"""Trends benchmark (issue 24): the governance dashboard and digest, and the overdue action items, at 100k.

Builds (or reuses) the register benchmark's register — 100,000 incidents, 1,000,000 timeline events,
300,000 action items, 10,000 notifications (``bench_register.build_bundle``) — on SQLite and, when a
PostgreSQL server URL is given, on PostgreSQL, then times, as a user runs them (a fresh process each):

- ``workbench trends --register R --as-of T --out DIR``: papermill runs ``trends.ipynb`` (read the
  register once, derive metrics, summarise, write summary/figures/tables), then the dashboard and the
  digest are rendered (target: under 15 s end to end);
- ``workbench actions --overdue`` (target: under 2 s);

and, in this process, the two in-notebook steps alone: ``register.governance.trend_frames`` and
``analysis.trends.trend_summary``. Each step runs ``--repeat`` times (median). Usage::

    .venv/bin/python bench/trends_bench.py [--scale 1.0] [--repeat 3] [--sqlite PATH [--reuse]]
        [--pg-url postgresql+psycopg://user@host:port/postgres]

(``scripts/with-test-services.sh`` starts a throw-away PostgreSQL cluster and exports its URL as
``WORKBENCH_TEST_PG_URL``; ``--pg-url env`` takes it from there.) Not a test: timings depend on the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
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


def _median_run(argv: list[str], repeat: int) -> tuple[float, str]:
    walls = []
    out = ""
    for _ in range(repeat):
        start = time.perf_counter()
        done = subprocess.run(argv, capture_output=True, text=True, check=False)
        walls.append(time.perf_counter() - start)
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(argv)} failed:\n{done.stdout}\n{done.stderr}")
        out = done.stdout
    return statistics.median(walls), out


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


def _pg_database(server: str) -> str:
    url = sa.make_url(server)
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.exec_driver_sql("DROP DATABASE IF EXISTS bench_trends")
        connection.exec_driver_sql("CREATE DATABASE bench_trends")
    engine.dispose()
    return url.set(database="bench_trends").render_as_string(hide_password=False)


def _bench(name: str, location: str, repeat: int, rows: list[tuple[str, str, str, str, str]]) -> None:
    from analysis.trends import trend_summary
    from register.governance import trend_frames
    from register.policy import load_policy

    out = tempfile.mkdtemp(prefix="bench-trends-")
    as_of = AS_OF.isoformat()
    wall, printed = _median_run(
        [WORKBENCH, "trends", "--register", location, "--as-of", as_of, "--out", out], repeat
    )
    runs = sorted((Path(out) / "trends").iterdir())
    manifest = json.loads((runs[-1] / "manifest.json").read_text())
    notebook = manifest["durations"]["notebooks"]["trends"]
    html = runs[-1] / "dashboard.html"
    detail = f"notebook {notebook:.2f} s of it; dashboard {html.stat().st_size / 1e6:.1f} MB"
    rows.append((name, "workbench trends (end to end, fresh process)", f"{wall:.2f}", "", detail))
    policy = load_policy()
    with open_register(location) as register:
        frames: dict = {}

        def read() -> None:
            frames.update(trend_frames(register, as_of=AS_OF, policy=policy))

        wall, cpu = _median_call(read, repeat)
    sizes = ", ".join(f"{len(frame):,} {key}" for key, frame in frames.items())
    step = "  of which trend_frames (read once, derive metrics)"
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
    rows.append((name, "  of which trend_summary (pandas, no I/O)", f"{wall:.2f}", f"{cpu:.2f}", ""))
    wall, printed = _median_run(
        [WORKBENCH, "actions", "--overdue", "--register", location, "--as-of", as_of], repeat
    )
    rows.append((name, "workbench actions --overdue (table, fresh process)", f"{wall:.2f}", "",
                 printed.splitlines()[0][:90]))  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the full size")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--sqlite", default=None, help="SQLite register file (default: a temporary one)")
    parser.add_argument("--reuse", action="store_true", help="the --sqlite file is filled already")
    parser.add_argument(
        "--pg-url", default=None, help="PostgreSQL server URL, or 'env' for WORKBENCH_TEST_PG_URL"
    )
    args = parser.parse_args()
    rows: list[tuple[str, str, str, str, str]] = []
    sqlite = args.sqlite or os.path.join(tempfile.mkdtemp(prefix="bench-trends-"), "register.sqlite")
    if not args.reuse:
        seconds = _fill(sqlite, args.scale)
        rows.append(("SQLite", "import_bundle (once)", f"{seconds:.1f}", "", "not part of the target"))
    _bench("SQLite", sqlite, args.repeat, rows)
    if args.pg_url:
        server = os.environ["WORKBENCH_TEST_PG_URL"] if args.pg_url == "env" else args.pg_url
        location = _pg_database(server)
        seconds = _fill(location, args.scale)
        rows.append(("PostgreSQL", "import_bundle (once)", f"{seconds:.1f}", "", "not part of the target"))
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
