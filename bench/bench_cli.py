"""CLI start-up benchmark (issue 19): wall time of short ``workbench`` commands, as a person types them.

Each command runs as a fresh subprocess (``python -m workbench.cli ...``), so the figure is mostly
interpreter start-up plus imports. Timed commands: ``--help``, ``register show INC``, ``register list``
and ``register event INC ...`` on a small register made for the run (one incident). The table gives the
median of ``--runs`` runs (default 7) after one warm-up run.

``--before PATH`` also times a checkout of older code (for instance ``git worktree add /tmp/cli-before
<commit>``) by putting PATH first on ``PYTHONPATH``; the register is made with the current code for both.
Usage::

    .venv/bin/python bench/bench_cli.py [--runs 7] [--before /tmp/cli-before]

Not a test: timings depend on the machine.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
INCIDENT = "INC-2026-0001"


def _commands(register: str) -> dict[str, list[str]]:
    on = ["--register", register]
    return {
        "workbench --help": ["--help"],
        "workbench register show INC": ["register", "show", INCIDENT, *on],
        "workbench register list": ["register", "list", *on],
        "workbench register event INC": [
            "register", "event", INCIDENT, "--kind", "note", "--description", "bench", *on,
        ],
    }  # fmt: skip


def _run(tree: Path, args: list[str], cwd: Path) -> float:
    env = os.environ | {"PYTHONPATH": str(tree)}
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "workbench.cli", *args],
        cwd=cwd,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


def _make_register(folder: Path) -> str:
    register = str(folder / "bench.sqlite")
    _run(ROOT, ["register", "init", "--register", register], folder)
    _run(
        ROOT,
        [
            "register", "add", "--id", INCIDENT, "--title", "Bench incident", "--category", "data_quality",
            "--severity", "SEV-3", "--aware-at", "2026-03-01T09:00:00Z", "--register", register,
        ],
        folder,
    )  # fmt: skip
    return register


def _median(tree: Path, args: list[str], cwd: Path, runs: int) -> float:
    _run(tree, args, cwd)  # warm-up: the OS file cache, .pyc files
    return statistics.median(_run(tree, args, cwd) for _ in range(runs))


def main() -> None:
    """Time the commands and print a markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="Runs per command (median).")
    parser.add_argument("--before", type=Path, default=None, help="Tree of older code to compare.")
    options, _ = parser.parse_known_args()  # bench/run.sh passes its arguments to every script
    trees = {"after": ROOT} | ({"before": options.before.resolve()} if options.before else {})
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        commands = _commands(_make_register(folder))
        results = {
            label: {name: _median(tree, args, folder, options.runs) for name, args in commands.items()}
            for label, tree in trees.items()
        }
    print(f"CLI start-up, median of {options.runs} runs; {platform.python_version()}, {os.cpu_count()} cores")
    print()
    if "before" in results:
        print("| command | before (s) | after (s) | speed-up |")
        print("| --- | ---: | ---: | ---: |")
        for name in commands:
            before, after = results["before"][name], results["after"][name]
            print(f"| `{name}` | {before:.2f} | {after:.2f} | {before / after:.1f}x |")
    else:
        print("| command | time (s) |")
        print("| --- | ---: |")
        for name in commands:
            print(f"| `{name}` | {results['after'][name]:.2f} |")


if __name__ == "__main__":
    main()
