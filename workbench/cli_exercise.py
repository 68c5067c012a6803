"""``workbench exercise``: start a tabletop exercise and score a team's findings.

Imports stay inside the commands, so ``workbench --help`` does not load the generator or the analyses.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

__all__ = ["exercise_app"]

exercise_app = typer.Typer(
    help="Tabletop exercises: one generated incident, its truth sealed away, the team's findings scored.",
    no_args_is_help=True,
)

_out = Console(soft_wrap=True)
_err = Console(stderr=True, soft_wrap=True)


@exercise_app.command("start")
def start_command(
    out: Annotated[Path, typer.Option("--out", help="A new or empty folder for the exercise.")],
    kind: Annotated[
        str,
        typer.Option(
            "--kind",
            help="A scenario kind (stale_input, pii_exposure...), control, a scenario id, or random.",
        ),
    ] = "random",
    seed: Annotated[int, typer.Option("--seed", help="Seed of the data and of random/control choices.")] = 0,
    rows_per_day: Annotated[
        int, typer.Option("--rows-per-day", min=100, help="Prediction-log rows per system and day.")
    ] = 600,  # workbench.exercise.DEFAULT_EXERCISE_ROWS_PER_DAY (not imported here: the CLI starts light)
) -> None:
    """Generate one incident for the team: data, a register with the alert, a briefing, a findings form."""
    from rich.markup import escape

    from workbench.exercise import start_exercise

    exercise = start_exercise(
        out,
        kind=kind,
        seed=seed,
        rows_per_day=rows_per_day,
        progress=lambda message: _err.print(f"[dim]{escape(message)}[/dim]"),
    )
    _out.print(exercise.describe(), highlight=False, markup=False)


@exercise_app.command("score")
def score_command(
    directory: Annotated[Path, typer.Argument(help="The exercise folder `exercise start` wrote.")],
    findings: Annotated[Path, typer.Option("--findings", help="The team's findings (YAML or JSON).")],
    out: Annotated[
        Path | None, typer.Option("--out", help="Folder for the report (default: the exercise folder).")
    ] = None,
) -> None:
    """Score the findings against the sealed truth and write the exercise report (HTML + Markdown)."""
    from workbench.exercise import render_report, score_exercise

    score = score_exercise(directory, findings)
    paths = render_report(score, out)
    _out.print(
        f"Score: {score.percent:g} % ({score.n_right} of {len(score.checks)} checks right)", markup=False
    )
    for gap in score.gaps:
        _out.print(f"  gap: {gap}", highlight=False, markup=False)
    for fmt, path in paths.items():
        _out.print(f"{fmt}: {path}", highlight=False, markup=False)
