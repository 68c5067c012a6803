"""The ``workbench`` command line.

Every user mistake ends as one clear message on stderr and exit code 2; ``--verbose`` adds the
traceback. Sub-command groups live in their own modules and are mounted here.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from workbench import __version__
from workbench.cli_exercise import exercise_app
from workbench.cli_register import register_app
from workbench.errors import WorkbenchError

__all__ = ["USER_ERROR_CLASSES", "app", "main", "parse_as_of", "user_error_types"]

# The errors the CLI reports as one line and exit code 2, as (module, class name). Importing them here
# would import `analysis` (SciPy, Ibis, DuckDB, plotly) and `register` (SQLAlchemy, pandas) on every
# `--help`; they are looked up in `sys.modules` when an error arrives instead (see `user_error_types`).
USER_ERROR_CLASSES: tuple[tuple[str, str], ...] = (
    ("workbench.errors", "WorkbenchError"),
    ("register.errors", "RegisterError"),
    ("analysis.errors", "AnalysisError"),
    ("pydantic", "ValidationError"),
)

err_console = Console(stderr=True, soft_wrap=True)
out_console = Console(soft_wrap=True)

app = typer.Typer(
    name="workbench",
    help="AI post-incident analytics workbench: register, analyses, post-mortems and trends.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
scenario_app = typer.Typer(help="Generate tabletop scenario data.", no_args_is_help=True)
app.add_typer(scenario_app, name="scenario")


class _State:
    verbose: bool = False


def _version_callback(value: bool) -> None:
    if value:
        out_console.print(f"workbench {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show tracebacks for errors.")] = False,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version_callback, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    """AI post-incident analytics workbench."""
    _State.verbose = verbose


def parse_as_of(value: str | None, *, option: str = "--as-of") -> datetime:
    """Parse an ``--as-of`` option (ISO-8601; naive means UTC); ``None`` means now.

    Examples
    --------
    >>> parse_as_of("2026-03-01T12:00:00+01:00").isoformat()
    '2026-03-01T11:00:00+00:00'
    """
    from register.schema import as_utc, utc_now

    if value is None:
        return utc_now()
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise WorkbenchError(
            f"{option} must be an ISO-8601 time such as 2026-03-01T12:00:00Z. Got {value!r} instead."
        ) from exc
    return as_utc(parsed)


AsOfOption = Annotated[
    str | None,
    typer.Option("--as-of", help="Judge time as of this ISO-8601 instant (default: now, UTC)."),
]


# ----------------------------------------------------------------------------------------------------
# scenario
# ----------------------------------------------------------------------------------------------------


@scenario_app.command("generate")
def scenario_generate(
    out: Annotated[Path, typer.Option("--out", help="Folder to write the scenario into.")] = Path("demo"),
    seed: Annotated[int, typer.Option("--seed", help="Seed: same seed, byte-identical files.")] = 7,
    rows_per_day: Annotated[
        int, typer.Option("--rows-per-day", min=100, help="Prediction-log rows per system and day.")
    ] = 1000,  # workbench.scenarios.DEFAULT_ROWS_PER_DAY (not imported here: the CLI starts light)
) -> None:
    """Generate the tabletop scenarios: register seed files, prediction logs and ground truth."""
    from workbench.scenarios import generate

    result = generate(out, seed=seed, rows_per_day=rows_per_day, progress=_progress_printer())
    out_console.print(result.describe())


def _progress_printer() -> Callable[[str], None]:
    def report(message: str) -> None:
        err_console.print(f"[dim]{message}[/dim]")

    return report


# ----------------------------------------------------------------------------------------------------
# demo and the analysis/report commands
# ----------------------------------------------------------------------------------------------------


@app.command()
def demo(
    out: Annotated[Path, typer.Option("--out", help="Folder for the demo's data and reports.")] = Path(
        "demo"
    ),
    seed: Annotated[int, typer.Option("--seed", help="Scenario seed.")] = 7,
    rows_per_day: Annotated[
        int, typer.Option("--rows-per-day", min=100, help="Rows per system and day.")
    ] = 1000,  # workbench.scenarios.DEFAULT_ROWS_PER_DAY
) -> None:
    """Run every stage that exists on the embedded tabletop scenarios and summarise what it produced."""
    from workbench.demo import run_demo

    result = run_demo(out, seed=seed, rows_per_day=rows_per_day, progress=_progress_printer())
    out_console.print(result.describe(), highlight=False, soft_wrap=True)


RegisterOption = Annotated[
    str | None,
    typer.Option(
        "--register",
        "-r",
        help="Register file path or database URL (default: $WORKBENCH_REGISTER_URL, else ./register.sqlite).",
    ),
]
ReportsOption = Annotated[
    Path, typer.Option("--reports-dir", help="Root folder of the run folders and reports.")
]


def _window_option(name: str, edge: str) -> Any:
    return typer.Option(
        f"--{name}-{edge}", help=f"{name.capitalize()} window {edge} (ISO-8601; give both ends)."
    )


def _windows(**edges: str | None) -> dict[str, tuple[datetime, datetime]]:
    windows: dict[str, tuple[datetime, datetime]] = {}
    for name in ("reference", "incident", "recent"):
        start, end = edges[f"{name}_start"], edges[f"{name}_end"]
        if (start is None) != (end is None):
            raise WorkbenchError(f"--{name}-start and --{name}-end must be given together. Got only one.")
        if start is not None and end is not None:
            windows[name] = (
                parse_as_of(start, option=f"--{name}-start"),
                parse_as_of(end, option=f"--{name}-end"),
            )
    return windows


@app.command()
def investigate(
    incident_id: Annotated[str, typer.Argument(help="Incident id, e.g. INC-2026-0001.")],
    register: RegisterOption = None,
    reports_dir: ReportsOption = Path("reports"),
    as_of: AsOfOption = None,
    chunk: Annotated[
        str, typer.Option("--chunk", help="Time chunk of the series: hour, day or week.")
    ] = "day",
    section: Annotated[
        list[str] | None, typer.Option("--section", help="Run only this section (repeatable).")
    ] = None,
    reference_start: Annotated[str | None, _window_option("reference", "start")] = None,
    reference_end: Annotated[str | None, _window_option("reference", "end")] = None,
    incident_start: Annotated[str | None, _window_option("incident", "start")] = None,
    incident_end: Annotated[str | None, _window_option("incident", "end")] = None,
    recent_start: Annotated[str | None, _window_option("recent", "start")] = None,
    recent_end: Annotated[str | None, _window_option("recent", "end")] = None,
    param: Annotated[
        list[str] | None,
        typer.Option(
            "--param",
            help="A section's own parameter, SECTION.NAME=VALUE (repeatable; see `workbench sections`), "
            "e.g. drift.sample_size=5000.",
        ),
    ] = None,
) -> None:
    """Run the analysis notebooks for an incident and keep them as evidence in the register."""
    from workbench.cli_register import register_location
    from workbench.investigate import investigate as run_investigation

    windows = _windows(
        reference_start=reference_start,
        reference_end=reference_end,
        incident_start=incident_start,
        incident_end=incident_end,
        recent_start=recent_start,
        recent_end=recent_end,
    )
    result = run_investigation(
        register_location(register),
        incident_id,
        as_of=parse_as_of(as_of),
        reports_dir=reports_dir,
        windows=windows,
        chunk=chunk,
        sections=section,
        parameters_by_section=section_parameter_options(param or []),
        on_notebook_start=lambda key: err_console.print(f"[dim]running {key} notebook...[/dim]"),
        on_notebook_done=lambda outcome: err_console.print(
            f"[dim]{outcome.key}: {outcome.status} in {outcome.duration_s:.1f} s[/dim]"
        ),
    )
    out_console.print(describe_run(result))


def section_parameter_options(values: list[str]) -> dict[str, dict[str, Any]]:
    """``--param SECTION.NAME=VALUE`` options as parameters per section (VALUE read as JSON, else text).

    Examples
    --------
    >>> section_parameter_options(["drift.sample_size=5000", "toy.label=rows per window"])
    {'drift': {'sample_size': 5000}, 'toy': {'label': 'rows per window'}}
    """
    import json

    parsed: dict[str, dict[str, Any]] = {}
    for value in values:
        name, separator, text = value.partition("=")
        section, dot, parameter = name.strip().partition(".")
        if not separator or not dot or not section or not parameter:
            raise WorkbenchError(f"--param must look like SECTION.NAME=VALUE. Got {value!r} instead.")
        try:
            parsed_value = json.loads(text)
        except (ValueError, RecursionError):  # not JSON (or absurdly deep): the text itself
            parsed_value = text
        parsed.setdefault(section, {})[parameter] = parsed_value
    return parsed


def describe_run(result: Any) -> str:
    """One paragraph per run: where it is and each section's headline (its contract's ``headline``)."""
    from workbench.sections import get_section

    lines = [f"Run {result.run_id} of {result.incident_id}: {result.run_dir}"]
    for key, summary in result.typed_summaries.items():
        headline = get_section(key).headline(summary)
        if headline:
            lines.append(f"  {key}: {headline}")
    lines.append(f"  manifest: {result.manifest_path}")
    return "\n".join(lines)


@app.command("sections")
def list_sections() -> None:
    """List the analysis sections (built-in and from installed packages) with their parameters."""
    from workbench.sections import available_sections

    table = Table("key", "title", "parameters (defaults)", "what it answers")
    for section in available_sections():
        defaults = ", ".join(f"{name}={value!r}" for name, value in section.parameter_defaults().items())
        table.add_row(section.key, section.title, defaults or "—", section.description)
    out_console.print(table)


@app.command()
def postmortem(
    incident_id: Annotated[str, typer.Argument(help="Incident id, e.g. INC-2026-0001.")],
    register: RegisterOption = None,
    reports_dir: ReportsOption = Path("reports"),
    run: Annotated[
        str | None, typer.Option("--run", help="Run id to render (default: the incident's latest run).")
    ] = None,
    formats: Annotated[
        str, typer.Option("--format", help="Comma-separated formats: html, md, pdf.")
    ] = "html,md",
    strict: Annotated[
        bool, typer.Option("--strict", help="Fail (exit 2) when the blameless check flags any phrasing.")
    ] = False,
    as_of: AsOfOption = None,
) -> None:
    """Render the blameless post-mortem report of an incident's latest (or named) analysis run."""
    from workbench.cli_register import register_location
    from workbench.postmortem_cli import render_postmortem

    chosen = [part.strip().lower() for part in formats.split(",") if part.strip()]
    unknown = sorted(set(chosen) - {"html", "md", "pdf"})
    if unknown or not chosen:
        raise WorkbenchError(f"--format must list html, md and/or pdf. Got {formats!r} instead.")
    result = render_postmortem(
        register_location(register),
        incident_id,
        reports_dir=reports_dir,
        run_id=run,
        formats=tuple(chosen),
        strict=strict,
        as_of=parse_as_of(as_of) if as_of else None,
        on_flag=lambda line: err_console.print(f"[yellow]blameless review:[/yellow] {escape(line)}"),
    )
    for fmt, path in result.items():
        out_console.print(f"{fmt}: {path}")


report_app = typer.Typer(help="Regulator report drafts and public-database exports.", no_args_is_help=True)
app.add_typer(report_app, name="report")


@report_app.command("regulator")
def report_regulator(
    incident_id: Annotated[str, typer.Argument(help="Incident id, e.g. INC-2026-0001.")],
    regime: Annotated[
        str,
        typer.Option(
            "--regime",
            help="eu_ai_act_art73, gdpr_art33, oecd (the OECD framework); aiid or avid (JSON exports).",
        ),
    ],
    report_type: Annotated[
        str, typer.Option("--type", help="initial, follow-up, combined or final.")
    ] = "initial",
    register: RegisterOption = None,
    reports_dir: ReportsOption = Path("reports"),
    run: Annotated[
        str | None, typer.Option("--run", help="Run whose summaries fill the draft (default: the latest).")
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Folder for the files (default: REPORTS/INC/regulator/REGIME/TYPE/)."),
    ] = None,
    formats: Annotated[
        str, typer.Option("--format", help="Comma-separated formats: md, html, json.")
    ] = "md,html,json",
    policy: Annotated[
        Path | None, typer.Option("--policy", help="A policy YAML over the shipped default.")
    ] = None,
    strict: Annotated[
        bool, typer.Option("--strict", help="Fail (exit 2, nothing written) when the blameless check flags.")
    ] = False,
    as_of: AsOfOption = None,
) -> None:
    """Draft a regulator report (EU AI Act Art. 73, GDPR Art. 33, OECD) from the register and the latest run.

    Every field the register and the analyses do not know is listed "to complete" with who should
    complete it. The draft is recorded as evidence and linked to its notification in the register.
    """
    from register.policy import load_policy
    from workbench.cli_register import register_location
    from workbench.regulator import write_regulator_draft

    if regime in ("aiid", "avid"):
        from workbench.regulator import write_public_export

        path = write_public_export(
            register_location(register),
            incident_id,
            kind=regime,
            reports_dir=reports_dir,
            run_id=run,
            out=out,
            as_of=parse_as_of(as_of),
            policy=load_policy(policy),
        )
        out_console.print(f"json: {path}", highlight=False, soft_wrap=True)
        return
    chosen = [part.strip().lower() for part in formats.split(",") if part.strip()]
    result = write_regulator_draft(
        register_location(register),
        incident_id,
        regime=regime,
        report_type=report_type,
        reports_dir=reports_dir,
        run_id=run,
        out=out,
        as_of=parse_as_of(as_of),
        formats=chosen,
        policy=load_policy(policy),
        strict=strict,
    )
    draft = result.draft
    if draft.deadline is not None:
        out_console.print(f"deadline: {draft.deadline.text}", highlight=False, soft_wrap=True)
    out_console.print(
        f"to complete: {len(draft.to_complete)} field(s)"
        + "".join(
            f"{'; ' if index else ': '}{item.label} ({item.complete_by})"
            for index, item in enumerate(draft.to_complete)
        ),
        highlight=False,
        soft_wrap=True,
    )
    for note in draft.notes:
        err_console.print(f"[yellow]note:[/yellow] {escape(note)}", soft_wrap=True)
    if result.notification_id:
        verb = "recorded" if result.notification_created else "linked to"
        out_console.print(f"notification: {verb} {result.notification_id}", highlight=False)
    for fmt, path in result.paths.items():
        out_console.print(f"{fmt}: {path}", highlight=False, soft_wrap=True)


@app.command()
def trends(
    start: Annotated[
        str | None,
        typer.Option("--from", help="Period start: incidents that became known from then (ISO-8601)."),
    ] = None,
    end: Annotated[str | None, typer.Option("--to", help="Period end, exclusive (ISO-8601).")] = None,
    system: Annotated[
        list[str] | None, typer.Option("--system", help="Only this AI system (repeatable).")
    ] = None,
    severity: Annotated[
        list[str] | None, typer.Option("--severity", help="Only this severity, e.g. SEV-1 (repeatable).")
    ] = None,
    category: Annotated[
        list[str] | None, typer.Option("--category", help="Only this incident category (repeatable).")
    ] = None,
    recurrence_days: Annotated[
        float, typer.Option("--recurrence-days", min=0.001, help="Recurrence horizon in days.")
    ] = 90.0,
    new_since: Annotated[
        str | None,
        typer.Option(
            "--new-since", help="Start of the digest's 'what is new' (default: --from, else 30 days back)."
        ),
    ] = None,
    policy: Annotated[
        Path | None, typer.Option("--policy", help="A policy YAML over the shipped default.")
    ] = None,
    out: Annotated[
        Path, typer.Option("--out", help="Reports folder: the run goes to OUT/trends/<run id>/.")
    ] = Path("reports"),
    formats: Annotated[
        str, typer.Option("--format", help="Comma-separated: html (dashboard), md (digest).")
    ] = "html,md",
    as_of: AsOfOption = None,
    register: RegisterOption = None,
) -> None:
    """Build the cross-incident trend dashboard (HTML) and the governance digest (Markdown)."""
    from workbench.cli_register import register_location
    from workbench.trends import check_filters, run_trends

    chosen = [part.strip().lower() for part in formats.split(",") if part.strip()]
    when = parse_as_of(as_of)
    begin = parse_as_of(start, option="--from") if start else None
    finish = parse_as_of(end, option="--to") if end else None
    if begin is not None and finish is not None and finish <= begin:
        raise WorkbenchError(f"--to must be after --from. Got {start} to {end} instead.")
    check_filters(severities=severity or (), categories=category or ())
    run = run_trends(
        register_location(register),
        as_of=when,
        reports_dir=out,
        start=begin,
        end=finish,
        systems=system or (),
        severities=severity or (),
        categories=category or (),
        recurrence_days=recurrence_days,
        new_since=parse_as_of(new_since, option="--new-since") if new_since else None,
        policy_path=policy,
        formats=chosen,
    )
    for line in run.headlines:
        out_console.print(line, highlight=False, soft_wrap=True)
    for fmt, path in run.outputs.items():
        out_console.print(f"{fmt}: {path}", highlight=False, soft_wrap=True)


@app.command()
def actions(
    overdue: Annotated[bool, typer.Option("--overdue", help="Only overdue action items.")] = False,
    owner: Annotated[
        list[str] | None, typer.Option("--owner", help="Only this owner's items (repeatable; 'unassigned').")
    ] = None,
    team: Annotated[
        list[str] | None, typer.Option("--team", help="Only this team's items (repeatable).")
    ] = None,
    system: Annotated[
        list[str] | None, typer.Option("--system", help="Only items of this system's incidents (repeatable).")
    ] = None,
    as_of: AsOfOption = None,
    fmt: Annotated[str, typer.Option("--format", help="table, csv, xlsx or json.")] = "table",
    out: Annotated[
        Path | None, typer.Option("--out", help="File for csv/xlsx/json (csv and json default to stdout).")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", help="Rows of the table format (0: all).")] = 100,
    register: RegisterOption = None,
) -> None:
    """List action items across incidents, overdue first, with their counts."""
    from workbench.actions_cli import list_actions
    from workbench.cli_register import register_location

    list_actions(
        register_location(register),
        as_of=parse_as_of(as_of),
        console=out_console,
        err_console=err_console,
        overdue_only=overdue,
        owners=owner,
        teams=team,
        systems=system,
        fmt=fmt,
        out=out,
        limit=limit,
    )


@app.command()
def lab(
    port: Annotated[int | None, typer.Option("--port", help="Port for JupyterLab.")] = None,
    no_browser: Annotated[bool, typer.Option("--no-browser", help="Do not open a browser.")] = False,
) -> None:
    """Start JupyterLab on the notebooks with the project's kernel (installed by `make demo`)."""
    import subprocess

    from workbench.resources import notebooks_dir

    command = [sys.executable, "-m", "jupyter", "lab", f"--notebook-dir={notebooks_dir()}"]
    if port is not None:
        command.append(f"--port={port}")
    if no_browser:
        command.append("--no-browser")
    err_console.print(f"[dim]{' '.join(command)}[/dim]")
    completed = subprocess.run(command, check=False)
    if completed.returncode not in (0, 130):
        raise WorkbenchError(f"JupyterLab exited with code {completed.returncode}.")


app.add_typer(register_app, name="register")
app.add_typer(exercise_app, name="exercise")


def _print_failures(failures: list[dict[str, object]]) -> None:
    if not failures:
        return
    table = Table(show_lines=False)
    columns = list(dict.fromkeys(key for row in failures for key in row))
    for column in columns:
        table.add_column(str(column))
    for row in failures[:50]:
        table.add_row(*(escape(_printable(str(row.get(column, "")))) for column in columns))
    err_console.print(table)
    if len(failures) > 50:
        err_console.print(f"... and {len(failures) - 50} more problems.")


def user_error_types() -> tuple[type[BaseException], ...]:
    """The loaded exception classes of `USER_ERROR_CLASSES`: the errors a user can fix.

    A class whose module was never imported cannot have been raised, so looking the classes up in
    ``sys.modules`` when an error arrives finds every one that matters without importing ``analysis``
    or ``register`` when the CLI starts.

    Examples
    --------
    >>> from workbench.errors import WorkbenchError
    >>> WorkbenchError in user_error_types()
    True
    """
    found: list[type[BaseException]] = []
    for module_name, class_name in USER_ERROR_CLASSES:
        module = sys.modules.get(module_name)
        error_class = getattr(module, class_name, None) if module is not None else None
        if isinstance(error_class, type) and issubclass(error_class, BaseException):
            found.append(error_class)
    return tuple(found)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; return the exit code (0 ok, 2 user error, 1 unexpected failure, 130 interrupted).

    The one error boundary of the command line: a user error (`user_error_types`, an ``OSError`` on a
    file, undecodable text) is one line on stderr and exit code 2; any other exception is one line
    naming it with a hint to ``--verbose`` and exit code 1. Never a bare traceback: ``--verbose`` adds
    it.
    """
    args = argv if argv is not None else sys.argv[1:]
    _State.verbose = "--verbose" in args or "-v" in args
    try:
        app(args=argv, standalone_mode=False)
    except typer.Exit as exc:
        return int(exc.exit_code or 0)
    except typer.Abort:
        err_console.print("Aborted.")
        return 1
    except typer.TyperException as exc:  # usage errors: unknown option, missing argument...
        show = getattr(exc, "show", None)
        if callable(show):
            show()
        else:
            err_console.print(f"Error: {escape(str(exc))}")
        return int(getattr(exc, "exit_code", 2) or 2)
    except KeyboardInterrupt:
        err_console.print("Interrupted.")
        return 130
    except Exception as exc:
        if isinstance(exc, user_error_types()) or _is_file_error(exc):
            _report_user_error(exc)
            return 2
        _report_unexpected(exc)
        return 1
    return 0


def _is_file_error(exc: BaseException) -> bool:
    """Whether ``exc`` is a user's file problem: an ``OSError`` naming a file, or undecodable text."""
    return (isinstance(exc, OSError) and exc.filename is not None) or isinstance(exc, UnicodeError)


def _one_line(text: str, *, limit: int = 2_000) -> str:
    r"""``text`` on one line (whitespace runs collapsed), cut at ``limit`` characters, printable as UTF-8.

    An argument the shell could not decode reaches Python as lone surrogates (``\udcff``); echoed back
    in a message they would make writing to the terminal fail, so they are shown escaped.
    """
    line = _printable(" ".join(text.split()))
    return line if len(line) <= limit else line[: limit - 3] + "..."


def _printable(text: str) -> str:
    r"""``text`` with lone surrogates escaped (``\udcff``), so it can be written as UTF-8."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _report_user_error(exc: Exception) -> None:
    """Print a user error as one line (and its table of failures); ``--verbose`` adds the traceback."""
    if _State.verbose:
        err_console.print_exception()
    pydantic = sys.modules.get("pydantic")  # loaded if exc is one of its ValidationErrors
    is_validation = pydantic is not None and isinstance(exc, pydantic.ValidationError)
    if is_validation:
        message = _pydantic_message(exc)
    elif isinstance(exc, OSError) and exc.filename is not None:
        message = f"cannot use {exc.filename}: {exc.strerror or exc}; check the path and its permissions."
    elif isinstance(exc, UnicodeError):
        message = f"a file or value must be UTF-8 text: {exc}"
    else:
        message = str(exc) or type(exc).__name__
    err_console.print("[bold red]Error:[/bold red] " + escape(_one_line(message)), highlight=False)
    _print_failures(getattr(exc, "failures", []))


def _report_unexpected(exc: Exception) -> None:
    """Print an unexpected failure as one line with a hint to ``--verbose`` (which adds the traceback)."""
    if _State.verbose:
        err_console.print_exception()
    detail = _one_line(str(exc), limit=300)
    hint = "" if _State.verbose else " Run again with --verbose for the traceback;"
    err_console.print(
        f"[bold red]Error:[/bold red] unexpected {escape(type(exc).__name__)}"
        f"{': ' + escape(detail) if detail else ''}.{hint} please report it if it persists.",
        highlight=False,
    )


def _pydantic_message(exc: BaseException) -> str:
    errors = exc.errors()  # type: ignore[attr-defined]
    parts = [f"{'.'.join(str(p) for p in error['loc']) or 'value'}: {error['msg']}" for error in errors[:5]]
    return "invalid input: " + "; ".join(parts)


def entry_point() -> None:  # pragma: no cover - thin wrapper for the console script
    """Console-script entry point."""
    raise SystemExit(main())


if __name__ == "__main__":  # pragma: no cover
    entry_point()
