"""Benchmark: `workbench investigate` + `postmortem` for one incident over about 1M prediction rows.

Generates the tabletop scenarios with enough rows per day that the covariate-drift system (credit scoring)
holds about 1M decisions, imports the register, then times, several times in one run:

- a kernel start-up floor (papermill executing a notebook with one empty cell);
- `investigate` (impact and drift notebooks in parallel) and where its time goes, from papermill's per-cell
  durations: kernel start-up and imports, data access (register look-up, opening and validating the logs),
  analysis, writing the results;
- `postmortem` (execute the post-mortem notebook, render HTML and Markdown).

Prints a Markdown table of medians; `--write` puts it into bench/README.md under "## Investigate and
post-mortem". Usage: `.venv/bin/python bench/bench_investigate.py [--rows-per-day 5600] [--repeats 3]`.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import papermill

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from register import open_register  # noqa: E402
from register.io import read_bundle  # noqa: E402
from workbench.investigate import investigate  # noqa: E402
from workbench.postmortem_cli import render_postmortem  # noqa: E402
from workbench.scenarios import generate  # noqa: E402

SECTION_HEADING = "## Investigate and post-mortem"
ANALYSIS_CALLS = ("assess_impact(", "drift_for_card(", "analyse_root_cause(", "assess_fairness(")
"""A cell calling one of these is the notebook's analysis."""


def _commit() -> str:
    done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    return done.stdout.strip() or "unknown"


def kernel_floor(workdir: Path) -> float:
    notebook = nbformat.v4.new_notebook(
        metadata={"kernelspec": {"name": "python3", "language": "python", "display_name": "Python 3"}}
    )
    notebook.cells.append(nbformat.v4.new_code_cell("pass"))
    source = workdir / "empty.ipynb"
    nbformat.write(notebook, source)
    started = time.perf_counter()
    papermill.execute_notebook(
        str(source), str(workdir / "empty.out.ipynb"), progress_bar=False, log_output=False
    )
    return time.perf_counter() - started


def cell_breakdown(executed: Path) -> dict[str, float]:
    """Seconds per kind of cell, from papermill's recorded durations."""
    notebook = nbformat.read(executed, as_version=4)
    kinds = {"imports and parameters": 0.0, "data access": 0.0, "analysis": 0.0, "display and write": 0.0}
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        duration = float(cell.metadata.get("papermill", {}).get("duration") or 0.0)
        source = cell.source
        if "open_logs(" in source or "InvestigationContext.load(" in source:
            kinds["data access"] += duration
        elif any(call in source for call in ANALYSIS_CALLS):
            kinds["analysis"] += duration
        elif "parameters" in cell.metadata.get("tags", []):
            kinds["imports and parameters"] += duration
        else:
            kinds["display and write"] += duration
    return kinds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows-per-day", type=int, default=5600)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--write", action="store_true", help="write the table into bench/README.md")
    args = parser.parse_args()

    load_start = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    with tempfile.TemporaryDirectory(prefix="bench-investigate-") as tmp:
        out = Path(tmp)
        started = time.perf_counter()
        scenario = generate(out / "scenario", seed=7, rows_per_day=args.rows_per_day)
        generate_s = time.perf_counter() - started
        truth = json.loads(scenario.ground_truth_path.read_text())
        planted = next(s for s in truth["scenarios"] if s["kind"] == "covariate_drift")
        rows = scenario.rows_per_system[planted["system_id"]]
        register_url = str(out / "register.sqlite")
        with open_register(register_url, create=True) as register:
            register.import_bundle(read_bundle(scenario.register_dir), by="bench")

        floors, totals, investigates, postmortems = [], [], [], []
        per_notebook: dict[str, list[float]] = {}
        breakdown: dict[str, dict[str, list[float]]] = {}
        for repeat in range(args.repeats):
            floors.append(kernel_floor(out))
            started = time.perf_counter()
            run = investigate(
                register_url,
                planted["incident_id"],
                as_of=scenario.as_of,
                reports_dir=out / "reports",
            )
            investigate_s = time.perf_counter() - started
            render_postmortem(register_url, planted["incident_id"], run_dir=run.run_dir, as_of=scenario.as_of)
            total_s = time.perf_counter() - started
            investigates.append(investigate_s)
            postmortems.append(total_s - investigate_s)
            totals.append(total_s)
            for key, outcome in run.outcomes.items():
                per_notebook.setdefault(key, []).append(outcome.duration_s)
                for kind, seconds in cell_breakdown(outcome.output_path).items():
                    breakdown.setdefault(key, {}).setdefault(kind, []).append(seconds)
            print(
                f"repeat {repeat + 1}: investigate {investigate_s:.1f} s, total {total_s:.1f} s", flush=True
            )

    median = statistics.median
    date = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    commit = _commit()
    load_end = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    lines = [
        SECTION_HEADING,
        "",
        f"`bench/bench_investigate.py --rows-per-day {args.rows_per_day} --repeats {args.repeats}`: "
        f"incident {planted['incident_id']} ({planted['kind']}) over {rows:,} prediction rows of "
        f"{planted['system_id']} (scenario generation {generate_s:.0f} s, not counted). "
        f"Medians of {args.repeats} runs, 2-core machine, run {date} at commit {commit}, load average "
        f"{load_start} at the start, {load_end} at the end.",
        "",
        "| stage | median s |",
        "| --- | ---: |",
        f"| investigate + postmortem, end to end | {median(totals):.1f} |",
        f"| investigate ({', '.join(per_notebook)} notebooks) | {median(investigates):.1f} |",
        f"| postmortem (render HTML + Markdown from the run's summaries) | {median(postmortems):.1f} |",
        f"| kernel start-up floor (empty notebook under papermill) | {median(floors):.1f} |",
    ]
    for key, values in per_notebook.items():
        lines.append(f"| {key} notebook, wall | {median(values):.1f} |")
        for kind, seconds in breakdown[key].items():
            lines.append(f"| &nbsp;&nbsp;{key}: {kind} (cells) | {median(seconds):.1f} |")
    table = "\n".join(lines) + "\n"
    print(table)
    if args.write:
        readme = ROOT / "bench" / "README.md"
        text = readme.read_text() if readme.exists() else "# Benchmarks\n\n"
        if SECTION_HEADING in text:
            head, _, rest = text.partition(SECTION_HEADING)
            following = rest.find("\n## ")
            text = head + table + ("\n" + rest[following + 1 :] if following >= 0 else "")
        else:
            text = text.rstrip() + "\n\n" + table
        readme.write_text(text)


if __name__ == "__main__":
    main()
