"""Jinja environments and filters shared by the HTML and Markdown writers.

HTML blocks are rendered with autoescaping; Markdown with a ``finalize`` that escapes every value for
Markdown (:func:`md_escape`). The filters format times, numbers, shares, durations and intervals the
same way in both.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, time, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import jinja2
from markupsafe import Markup

from analysis.data import CHUNK_LENGTHS
from workbench.errors import WorkbenchError
from workbench.resources import templates_dir

__all__ = [
    "DEFAULT_TEMPLATES_DIR",
    "fmt_dt",
    "html_env",
    "markdown_env",
    "md_escape",
    "checked_templates_dir",
]

DEFAULT_TEMPLATES_DIR = templates_dir()
"""The repository's ``report_templates/`` folder."""


def fmt_dt(value: Any) -> str:
    """A time as ``YYYY-MM-DD HH:MM UTC`` (``—`` when missing).

    Examples
    --------
    >>> fmt_dt("2026-11-05T09:30:00+01:00")
    '2026-11-05 08:30 UTC'
    """
    if value is None or value == "":
        return "—"
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
    if isinstance(value, datetime):
        value = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
        return value.strftime("%Y-%m-%d %H:%M UTC")
    return str(value)


def fmt_span(start: Any, end: Any = None) -> str:
    """A time, or the chunk it covers when ``end`` is given (a day as its date, not its midnight).

    Examples
    --------
    >>> fmt_span("2025-09-18T00:00:00Z", "2025-09-19T00:00:00Z")
    '2025-09-18 (day)'
    >>> fmt_span("2025-09-15T00:00:00Z", "2025-09-22T00:00:00Z")
    '2025-09-15 to 2025-09-21 (week)'
    >>> fmt_span("2025-09-18T06:00:00Z", "2025-09-18T07:00:00Z")
    '2025-09-18 06:00 to 07:00 UTC'
    >>> fmt_span("2025-09-18T06:00:00Z")
    '2025-09-18 06:00 UTC'
    """
    if end is None or end == "":
        return fmt_dt(start)
    first, last = _as_datetime(start), _as_datetime(end)
    if first is None or last is None:
        return fmt_dt(start)
    length = last - first
    midnight = first.hour == first.minute == first.second == 0
    if midnight and length == timedelta(days=1):
        return f"{first:%Y-%m-%d} (day)"
    if midnight and length == timedelta(days=7):
        return f"{first:%Y-%m-%d} to {last - timedelta(days=1):%Y-%m-%d} (week)"
    if first.date() == last.date() or (length <= timedelta(days=1) and last.time() == time(0)):
        return f"{first:%Y-%m-%d %H:%M} to {last:%H:%M} UTC"
    return f"{fmt_dt(first)} to {fmt_dt(last)}"


def fmt_chunk(start: Any, chunk: str | None = None) -> str:
    """The chunk starting at ``start`` as the interval it covers (an onset day is the day, not 00:00).

    Examples
    --------
    >>> fmt_chunk("2025-09-18T00:00:00Z", "day")
    '2025-09-18 (day)'
    >>> fmt_chunk(None, "day")
    '—'
    """
    first = _as_datetime(start)
    if first is None or chunk not in CHUNK_LENGTHS:
        return fmt_dt(start)
    return fmt_span(first, first + CHUNK_LENGTHS[chunk].to_pytimedelta())


def _as_datetime(value: Any) -> datetime | None:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    if not isinstance(value, datetime):
        return None
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


def _fmt_num(value: Any, digits: int = 3) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if value != value:  # NaN
            return "—"
        if value == int(value) and abs(value) >= 1000:
            return f"{int(value):,}"
        return f"{value:.{digits}g}" if abs(value) < 1000 else f"{value:,.0f}"
    return str(value)


def _fmt_pct(value: Any, digits: int = 1) -> str:
    if value is None:
        return "—"
    return f"{100 * float(value):.{digits}f} %"


def _fmt_hours(value: Any) -> str:
    if value is None:
        return "—"
    minutes = round(abs(float(value)) * 60)
    sign = "-" if float(value) < 0 else ""
    if minutes < 60:
        return f"{sign}{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{sign}{hours} h {minutes:02d} min" if minutes else f"{sign}{hours} h"
    days, hours = divmod(hours, 24)
    return f"{sign}{days} d {hours} h"


def _fmt_interval(value: Any, kind: Literal["num", "pct"] = "num") -> str:
    if not value:
        return "—"
    fmt = _fmt_pct if kind == "pct" else _fmt_num
    estimate = fmt(value.get("estimate"))
    if value.get("low") is None or value.get("high") is None:
        return estimate
    level = round(100 * float(value.get("level", 0.95)))
    return f"{estimate} ({level} % interval {fmt(value['low'])} to {fmt(value['high'])})"


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "tolist"):
        return value.tolist()
    if hasattr(value, "item"):
        return value.item()
    return str(value)


def _script_json(value: Any) -> Markup:
    """JSON safe inside ``<script type="application/json">``: no ``<``, ``>``, ``&`` or line separators."""
    text = json.dumps(value, separators=(",", ":"), default=_json_default, allow_nan=False)
    text = (
        text.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )
    return Markup(text)  # noqa: S704 - escaped above for the script-data context


_MD_INLINE = re.compile(r"([\\`*_{}\[\]()!|~])")
_MD_SCHEME = re.compile(r"(?i)\b(https?|ftp|mailto|javascript|vbscript|data|file):")
_MD_WWW = re.compile(r"(?i)\b(www)\.")
_MD_LINE_START = re.compile(r"^(\s*)([#=+\-]|\d+[.)])(?=\s|$)")


def md_escape(value: Any) -> str:
    r"""Escape text for Markdown.

    HTML characters become entities, inline metacharacters (emphasis, code, links, images, tables,
    braces of wiki template engines) are backslash-escaped, URL schemes and ``www.`` are broken with an
    entity so nothing is autolinked, a leading heading/list marker is escaped, and line breaks become
    spaces so a value stays inside its paragraph or table cell.

    Examples
    --------
    >>> md_escape("[click](javascript:alert(1)) <b>{{ x }}</b>")
    '\\[click\\]\\(javascript&#58;alert\\(1\\)\\) &lt;b&gt;\\{\\{ x \\}\\}&lt;/b&gt;'
    """
    if value is None:
        return ""
    if isinstance(value, Markup):
        return str(value)
    text = str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _MD_INLINE.sub(r"\\\1", text)
    # no autolinks either: "http://..." and "www." in register text stay text in GFM-style renderers
    text = _MD_SCHEME.sub(r"\1&#58;", text)
    text = _MD_WWW.sub(r"\1&#46;", text)
    text = re.sub(r"\s*\n\s*", " ", text)
    return _MD_LINE_START.sub(lambda match: match.group(1) + "\\" + match.group(2), text)


_BIDI_CONTROLS = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def neutralise_bidi(value: Any) -> Any:
    """Show bidirectional control characters as ``[U+202E]`` so text cannot display as other text.

    A right-to-left override in a file name or a description would make the page show something else
    than what is stored (``invoice\u202efdp.exe`` displays as ``invoiceexe.pdf``).

    Examples
    --------
    >>> neutralise_bidi("invoice\u202efdp.exe")
    'invoice[U+202E]fdp.exe'
    >>> neutralise_bidi(3)
    3
    """
    if isinstance(value, str) and not isinstance(value, Markup):
        return _BIDI_CONTROLS.sub(lambda match: f"[U+{ord(match.group()):04X}]", value)
    return value


def _md_finalize(value: Any) -> Any:
    if isinstance(value, Markup):
        return str(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return md_escape(_fmt_num(value))
    return md_escape(neutralise_bidi(value))


def _add_filters(env: jinja2.Environment) -> jinja2.Environment:
    env.filters.update(
        fmt_dt=fmt_dt,
        fmt_span=fmt_span,
        fmt_chunk=fmt_chunk,
        fmt_num=_fmt_num,
        fmt_pct=_fmt_pct,
        fmt_hours=_fmt_hours,
        fmt_interval=_fmt_interval,
        script_json=_script_json,
    )
    return env


def _loader(templates_dir: str, section_templates: tuple[tuple[str, str], ...]) -> jinja2.BaseLoader:
    """The report's templates, then each section's own folder under its prefix (``section-<key>/``)."""
    base = jinja2.FileSystemLoader(templates_dir)
    if not section_templates:
        return base
    prefixed = jinja2.PrefixLoader(
        {prefix: jinja2.FileSystemLoader(folder) for prefix, folder in section_templates}
    )
    return jinja2.ChoiceLoader([base, prefixed])


@lru_cache(maxsize=8)
def html_env(templates_dir: str, section_templates: tuple[tuple[str, str], ...] = ()) -> jinja2.Environment:
    """The autoescaping environment of the HTML blocks (cached per templates folder)."""
    return _add_filters(
        jinja2.Environment(
            loader=_loader(templates_dir, section_templates),
            autoescape=True,
            finalize=neutralise_bidi,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
    )


@lru_cache(maxsize=8)
def markdown_env(
    templates_dir: str, section_templates: tuple[tuple[str, str], ...] = ()
) -> jinja2.Environment:
    """The Markdown environment: every ``{{ value }}`` escaped for Markdown by ``finalize``."""
    env = jinja2.Environment(
        loader=_loader(templates_dir, section_templates),
        autoescape=False,
        finalize=_md_finalize,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    _add_filters(env)
    # in Markdown, formatted values are escaped by `finalize` too (they are plain str)
    env.filters["md"] = lambda value: Markup(md_escape(value))  # noqa: S704 - escaped for Markdown
    # the output of a template macro, whose own `{{ }}` were escaped by `finalize` already (not twice)
    env.filters["escaped"] = lambda value: Markup(str(value))  # noqa: S704 - escaped inside the macro
    return env


def checked_templates_dir(path: str | Path | None) -> Path:
    """The report templates folder (default :data:`DEFAULT_TEMPLATES_DIR`), checked to hold the report."""
    folder = Path(path) if path is not None else DEFAULT_TEMPLATES_DIR
    if not (folder / "postmortem" / "index.html.j2").is_file():
        raise WorkbenchError(f"templates_dir must hold postmortem/index.html.j2. Got {folder} instead.")
    return folder
