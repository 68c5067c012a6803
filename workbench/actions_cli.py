"""`workbench actions`: action items across incidents as of a time, overdue first.

Reads the register's action items and the few incident columns the table needs, builds
:func:`analysis._trends_actions.action_item_table` and writes it as a rich table (with a header line of
the counts of :func:`analysis._trends_actions.action_item_summary`), CSV, XLSX or JSON. Exported times
are ISO-8601 UTC strings with microseconds, so a file read back gives the same values.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from workbench.errors import WorkbenchError

if TYPE_CHECKING:
    import pandas as pd
    from rich.console import Console

__all__ = [
    "EXPORT_TIME_FORMAT",
    "FORMATS",
    "TIME_COLUMNS",
    "actions_frames",
    "export_table",
    "list_actions",
    "summary_line",
]

FORMATS: tuple[str, ...] = ("table", "csv", "xlsx", "json")
"""The ``--format`` values."""

TIME_COLUMNS: tuple[str, ...] = ("due_at", "completed_at", "incident_closed_at")
"""Columns of the action-item table that hold times (exported as ISO-8601 UTC text)."""

EXPORT_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
"""How exported times are written: ISO-8601 UTC with microseconds (``2026-03-01T12:00:00.000000Z``)."""

_INCIDENT_COLUMNS = ("system_id", "severity", "status", "closed_at")
_ITEM_COLUMNS = (
    "incident_id", "title", "owner", "team", "kind", "priority", "due_at", "status", "completed_at"
)  # fmt: skip
_SHOWN = (  # (column, heading) of the rich table; the item id holds the incident id
    ("id", "item"),
    ("system_id", "system"),
    ("severity", "sev"),
    ("owner", "owner"),
    ("team", "team"),
    ("kind", "kind"),
    ("priority", "prio"),
    ("status", "status"),
    ("due_at", "due"),
    ("days_overdue", "days over"),
    ("age_bucket", "age"),
    ("title", "title"),
)
_NO_WRAP = frozenset({"id", "due_at"})  # folded, never cut


def actions_frames(
    location: str,
    *,
    with_notes: bool = True,
    systems: Sequence[str] | None = None,
    open_as_of: datetime | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Read the action items and the incidents' ``system_id``, ``severity``, ``status``, ``closed_at``.

    ``with_notes=False`` leaves out the items' ``verification_note`` (the rich table does not show it);
    ``systems`` limits the incidents read (their items keep missing incident facts and are filtered
    out by the table's ``systems`` filter).
    """
    from register import open_register

    with open_register(location) as register:
        columns = None if with_notes else list(_ITEM_COLUMNS)
        if open_as_of is not None:
            items = register.open_action_items_frame(as_of=open_as_of, columns=columns)
        else:
            items = register.action_items_frame(columns=columns)
        incidents = register.incidents_frame(
            system=list(systems) if systems else None, columns=list(_INCIDENT_COLUMNS)
        )
    return items, incidents


def list_actions(
    location: str,
    *,
    as_of: datetime,
    console: Console,
    err_console: Console | None = None,
    overdue_only: bool = False,
    owners: Sequence[str] | None = None,
    teams: Sequence[str] | None = None,
    systems: Sequence[str] | None = None,
    fmt: str = "table",
    out: Path | None = None,
    limit: int = 100,
) -> None:
    """Build the action-item table of the register at ``location`` and print or write it.

    Parameters
    ----------
    location : str
        Register path or URL.
    as_of : datetime
        When the state is judged.
    console : rich.console.Console
        Where the table, the header line and CSV/JSON without ``out`` go.
    err_console : rich.console.Console, optional
        Where the "no action items match" line of an export goes (default: ``console``), so CSV/JSON
        on stdout stay parseable.
    overdue_only, owners, teams, systems
        The filters of :func:`analysis._trends_actions.action_item_table` (unknown names: no rows).
    fmt : {"table", "csv", "xlsx", "json"}
        Output format; ``xlsx`` needs ``out``; ``table`` cannot be written to ``out``.
    out : pathlib.Path, optional
        File to write (CSV, XLSX, JSON).
    limit : int, default 100
        Rows of the rich table (0: all); exports always hold every row.

    Raises
    ------
    WorkbenchError
        On an unknown format, XLSX without ``out``, ``out`` with the table format, or a folder as ``out``.

    Notes
    -----
    The header's counts (:func:`summary_line`) cover the items that match ``owners``, ``teams`` and
    ``systems``, overdue or not. With ``overdue_only`` only the items open as of ``as_of`` are read (an
    overdue item is open), so the header counts open and overdue items and says so.
    """
    chosen = _checked_format(fmt, out, limit)
    from analysis._trends_actions import action_item_summary, action_item_table
    from register.schema import as_utc

    # --overdue needs only the items open as of `as_of` (an overdue item is open): reading those alone is
    # much faster on a register of mostly closed items; the header then counts open items only
    items, incidents = actions_frames(
        location,
        with_notes=chosen != "table",
        systems=systems,
        open_as_of=as_of if overdue_only else None,
    )
    filters: dict[str, Any] = {"owners": owners or None, "teams": teams or None, "systems": systems or None}
    table = action_item_table(items, incidents, as_of=as_of, **filters)
    if overdue_only:  # the header counts open items only: no need for the full breakdown
        summary = {
            "as_of": as_utc(as_of).isoformat(),
            "open": int(table["is_open"].sum()),
            "overdue": int(table["overdue"].sum()),
            "open_on_closed_incidents": int(table["incident_closed_while_open"].sum()),
        }
    else:
        summary = action_item_summary(table, incidents, as_of=as_of)
    if overdue_only:
        table = table[table["overdue"].to_numpy(dtype=bool)].reset_index(drop=True)
    if chosen == "table":
        _print_table(table, summary, console=console, overdue_only=overdue_only, limit=limit)
        return
    if table.empty:
        (err_console or console).print("no action items match", highlight=False)
    text = export_table(table, chosen, out)  # type: ignore[arg-type]
    if text is not None:
        console.file.write(text)
    elif out is not None:
        console.print(f"{chosen}: {out} ({len(table)} action items)", highlight=False, soft_wrap=True)


def _checked_format(fmt: str, out: Path | None, limit: int) -> str:
    chosen = fmt.strip().lower()
    if chosen not in FORMATS:
        raise WorkbenchError(f"--format must be one of {', '.join(FORMATS)}. Got {fmt!r} instead.")
    if chosen == "xlsx" and out is None:
        raise WorkbenchError("--format xlsx must be written to a file: give --out PATH.xlsx.")
    if chosen == "table" and out is not None:
        raise WorkbenchError("--out must go with --format csv, xlsx or json. Got --format table instead.")
    if limit < 0:
        raise WorkbenchError(f"--limit must be 0 (all rows) or more. Got {limit} instead.")
    if out is not None and out.is_dir():
        raise WorkbenchError(f"--out must be a file, not a folder. Got {str(out)!r} instead.")
    return chosen


def summary_line(summary: dict[str, Any], *, open_only: bool = False) -> str:
    r"""The header line of the table format: the counts of an action-item summary.

    Examples
    --------
    >>> line = summary_line({"as_of": "2026-03-01T00:00:00+00:00", "items": 4, "open": 2, "overdue": 1,
    ...     "done": 1, "wont_do": 1, "closure_rate": 0.25, "open_on_closed_incidents": 1})
    >>> print(*line.split("; "), sep="\n")
    As of 2026-03-01T00:00:00+00:00: 4 action items, 2 open, 1 overdue, 1 done, 1 won't do
    closure rate 25.0 %
    1 open on closed incidents
    """
    if open_only:
        return (
            f"As of {summary['as_of']}: {summary['open']} open action items, "
            f"{summary['overdue']} overdue; "
            f"{summary['open_on_closed_incidents']} open on closed incidents "
            "(--overdue reads open items only: run without it for done, won't do and the closure rate)"
        )
    rate = summary["closure_rate"]
    return (
        f"As of {summary['as_of']}: {summary['items']} action items, {summary['open']} open, "
        f"{summary['overdue']} overdue, {summary['done']} done, {summary['wont_do']} won't do; "
        f"closure rate {'n/a' if rate is None else f'{100 * rate:.1f} %'}; "
        f"{summary['open_on_closed_incidents']} open on closed incidents"
    )


def _print_table(
    table: pd.DataFrame, summary: dict[str, Any], *, console: Console, overdue_only: bool, limit: int
) -> None:
    from rich.markup import escape
    from rich.table import Table

    console.print(escape(summary_line(summary, open_only=overdue_only)), highlight=False, soft_wrap=True)
    if table.empty:
        console.print(f"no {'overdue ' if overdue_only else ''}action items match", highlight=False)
        return
    shown = table if limit == 0 else table.head(limit)
    text = _display_frame(shown)
    rich_table = Table(show_lines=False)
    for column, heading in _SHOWN:
        rich_table.add_column(heading, overflow="fold" if column in _NO_WRAP else "ellipsis")
    for row in text.itertuples(index=False):  # at most `limit` rows
        rich_table.add_row(*(escape(value) for value in row))
    console.print(rich_table)
    if len(shown) < len(table):
        console.print(
            f"... and {len(table) - len(shown)} more (--limit 0 shows all; --format csv exports all).",
            highlight=False,
        )


def _display_frame(table: pd.DataFrame) -> pd.DataFrame:
    """The shown columns as text: no owner/team is 'unassigned', a done-later item says so."""
    import pandas as pd

    from analysis._trends_actions import UNASSIGNED

    text = pd.DataFrame(index=table.index)
    for column, _ in _SHOWN:
        values = table[column] if column in table.columns else pd.Series(None, index=table.index)
        if column == "due_at":
            values = values.dt.strftime("%Y-%m-%d")
        text[column] = values.astype(object).where(values.notna(), "").astype(str)
    for column in ("owner", "team"):
        text[column] = text[column].where(text[column].str.strip() != "", UNASSIGNED)
    done_later = table["is_open"].to_numpy(dtype=bool) & (table["status"] == "done").to_numpy(dtype=bool)
    text.loc[done_later, "status"] = "done after as-of"
    return text


def export_table(table: pd.DataFrame, fmt: Literal["csv", "xlsx", "json"], out: Path | None) -> str | None:
    """Write ``table`` (every column, times as ISO-8601 UTC text) to ``out``; without it, return the text.

    CSV and JSON hold missing values as empty / ``null``; JSON is a list of one object per item. XLSX
    needs ``out``.
    """
    frame = _export_frame(table)
    if fmt == "xlsx":
        if out is None:
            raise WorkbenchError("--format xlsx must be written to a file: give --out PATH.xlsx.")
        frame.to_excel(out, index=False, sheet_name="action_items")
        return None
    if fmt == "csv":
        text = frame.to_csv(index=False, lineterminator="\n")
    else:
        records = frame.astype(object).where(frame.notna(), None).to_dict(orient="records")
        text = json.dumps(records, indent=1, ensure_ascii=False, default=_json_value) + "\n"
    if out is None:
        return text
    out.write_text(text, encoding="utf-8")
    return None


def _export_frame(table: pd.DataFrame) -> pd.DataFrame:
    frame = table.copy()
    for column in TIME_COLUMNS:
        if column in frame.columns:
            times = frame[column]
            frame[column] = times.dt.strftime(EXPORT_TIME_FORMAT).astype(object).where(times.notna(), None)
    return frame


def _json_value(value: Any) -> Any:
    """Numpy scalars (booleans, integers) as plain JSON values."""
    item = getattr(value, "item", None)
    if callable(item):
        return item()
    raise TypeError(f"not JSON-serialisable: {type(value).__name__}")
