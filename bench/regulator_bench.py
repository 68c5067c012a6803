"""Benchmark: regulator drafts and tabletop exercises, against the post-mortem of the same run.

Issue 26 names no outside peer; the draft reads the same register records and section summaries as the
post-mortem, so the post-mortem render of the same run is the yardstick (a draft should cost no more than
the report it sits beside). On a `workbench demo` folder (``--demo DIR``; its register is copied so nothing
is recorded in it), times, ``--repeats`` times in one run, medians:

- each draft (Art. 73 final of the fairness incident, GDPR Art. 33 follow-up and OECD of the data exposure):
  gather inputs, build, render Markdown/HTML/JSON, record evidence and link the notification;
- the AIID and AVID exports (build, schema validation, write);
- ``workbench postmortem`` of the same run (HTML and Markdown);
- an exercise: ``start`` (generation at 600 rows per day, the sealed truth, the briefing) and ``score``
  (scoring and the report) of a perfect findings file.

Usage: `.venv/bin/python bench/regulator_bench.py --demo demo [--repeats 5] [--write]`; `--write` puts the
table into bench/README.md under "## Regulator drafts and exercises".
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from workbench.exercise import perfect_findings, score_exercise, start_exercise  # noqa: E402
from workbench.exercise._report import render_report  # noqa: E402
from workbench.postmortem_cli import render_postmortem  # noqa: E402
from workbench.regulator import write_public_export, write_regulator_draft  # noqa: E402

SECTION_HEADING = "## Regulator drafts and exercises"


def _median(fn: Callable[[], object], repeats: int) -> tuple[float, list[float]]:
    runs = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - start)
    return statistics.median(runs), runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--demo", type=Path, default=Path("demo"), help="a `workbench demo` output folder")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    demo = args.demo.resolve()
    truth = json.loads((demo / "ground_truth.json").read_text())
    as_of = datetime.fromisoformat(truth["as_of"].replace("Z", "+00:00"))
    by_kind = {s["kind"]: s["incident_id"] for s in [*truth["scenarios"], *truth["llm_scenarios"]]}
    work = Path(tempfile.mkdtemp(prefix="bench-regulator-"))
    register = work / "register.sqlite"
    shutil.copy(demo / "register.sqlite", register)
    reports = demo / "reports"
    out = work / "drafts"
    fairness, breach = by_kind["fairness_regression"], by_kind["pii_exposure"]
    rows: list[tuple[str, float, list[float]]] = []

    def draft(incident: str, regime: str, report_type: str) -> Callable[[], object]:
        return lambda: write_regulator_draft(
            str(register), incident, regime=regime, report_type=report_type, reports_dir=reports,
            out=out / regime, as_of=as_of,
        )  # fmt: skip

    cases = [
        (f"Art. 73 final draft ({fairness})", draft(fairness, "eu_ai_act_art73", "final")),
        (f"GDPR Art. 33 follow-up draft ({breach})", draft(breach, "gdpr_art33", "follow-up")),
        (f"OECD draft + criteria JSON ({breach})", draft(breach, "oecd", "initial")),
    ]
    for kind in ("aiid", "avid"):
        cases.append(
            (
                f"{kind.upper()} export ({breach})",
                lambda kind=kind: write_public_export(
                    str(register), breach, kind=kind, reports_dir=reports, out=out / kind, as_of=as_of
                ),
            )
        )
    run_dir = sorted((reports / fairness).glob("2*"))[-1]
    post_copy = work / "postmortem-run"
    shutil.copytree(run_dir, post_copy)
    cases.append(
        (
            f"post-mortem HTML + Markdown ({fairness}, the yardstick)",
            lambda: render_postmortem(str(register), fairness, run_dir=post_copy, as_of=as_of),
        )
    )
    for name, fn in cases:
        fn()  # warm-up: imports and template compilation are not counted
        median, runs = _median(fn, args.repeats)
        rows.append((name, median, runs))

    counter = iter(range(10_000))

    def exercise_start() -> None:
        start_exercise(work / f"exercise-{next(counter)}", kind="pii_exposure", seed=7)

    median, runs = _median(exercise_start, max(1, args.repeats // 2))
    rows.append(("exercise start (generate at 600 rows/day, seal, brief)", median, runs))
    folder = work / "exercise-0"
    findings = folder / "findings.perfect.json"
    sealed = json.loads((folder / "sealed" / "truth.json").read_text())
    findings.write_text(json.dumps(perfect_findings(sealed)))
    median, runs = _median(lambda: render_report(score_exercise(folder, findings)), args.repeats)
    rows.append(("exercise score + report (perfect findings)", median, runs))

    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    table = [
        f"`bench/regulator_bench.py --demo {args.demo} --repeats {args.repeats}` at commit {commit}, "
        f"{datetime.now().astimezone():%Y-%m-%d %H:%M %Z}, load average {load}. Medians; each runs "
        "after one warm-up call.",
        "",
        "| step | median s | runs |",
        "| --- | ---: | --- |",
        *(
            f"| {name} | {median:.3f} | {', '.join(f'{run:.3f}' for run in runs)} |"
            for name, median, runs in rows
        ),
    ]
    text = "\n".join(table)
    print(text)
    if args.write:
        readme = ROOT / "bench" / "README.md"
        content = readme.read_text()
        start = content.find(SECTION_HEADING)
        block = f"{SECTION_HEADING}\n\n{text}\n"
        if start < 0:
            content = content.rstrip() + "\n\n" + block
        else:
            end = content.find("\n## ", start + len(SECTION_HEADING))
            content = content[:start] + block + (content[end:] if end >= 0 else "")
        readme.write_text(content)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
