"""Import of the AIAAIC repository's CSV export (its "Incidents" sheet).

Layout (the sheet downloaded as CSV): a title row (``AIAAIC Repository ...``), then the header row of
column names (``AIAAIC ID#, Headline, Type, Released, Occurred, Country(ies), Sector(s), Deployer(s),
Developer(s), System name(s), Technology(ies), Purpose(s), Media trigger(s), Issue(s), Transparency,
External harms, Internal impacts, Summary/links``; names vary a little between editions, see
:data:`COLUMNS`), possibly a second header row naming the sub-columns of grouped headers (``External
harms``: Individual, Societal, Environmental; ``Internal impacts``: Strategic/reputational...), then one
row per incident. The header row is the first of the first five rows holding an id column; a column
under a grouped header is named ``<group> / <sub-column>``. Unknown columns are ignored (listed in
:attr:`AiaaicImport.ignored_columns`); a file without the id, headline and date columns is one
``missing_column`` failure naming the columns expected and the ones found.

Mapping:

- provenance: ``source = "aiaaic"``, ``source_id`` = the AIAAIC id as written (``AIAAIC1234``).
- id: ``INC-<year occurred>-<1,000,000 + AIAAIC number>`` (``AIAAIC1234`` of 2021 ->
  ``INC-2021-1001234``; :func:`aiaaic_incident_id`). AIID ids use the AIID number itself
  (``INC-<year>-<number>``, numbers far below a million), so the two sources never share an id.
  Imported ids do not move the register's own counter (own incidents stay ``INC-<year>-0001``...; the
  allocation skips an id a source holds); an own id already taken is an ``id_in_register`` failure.
- title = Headline; summary = Summary/links; ``publicly_visible`` = true; status ``detected``.
- ``occurred_at`` = ``aware_at`` = the Occurred date (else Released, tagged
  ``aiaaic:occurred-from-released``) at its first instant: ``2019`` -> 2019-01-01, ``Mar 2021`` and
  ``2021-03`` -> 2021-03-01, ``2021-03-15`` -> that day; tagged ``aiaaic:date-precision-year``,
  ``-month`` or ``-day``, and ``aiaaic:aware-at-is-occurred-date`` (when the public learnt of it is
  unknown). Anything else is an ``invalid_time`` failure.
- category from Issue(s) (or Risks) by :data:`ISSUE_CATEGORIES`, the first listed issue that maps
  (tag ``aiaaic:category-from-issue``); else ``default_category`` (``reputational``), tagged
  ``aiaaic:unmapped-category``. Severity: ``default_severity`` (SEV-3), tagged
  ``aiaaic:unmapped-severity``. Every record is tagged ``aiaaic``.
- taxonomy columns become classifications in namespace ``AIAAIC`` (attributes: ``type``,
  ``released``, ``country``, ``sector``, ``deployer``, ``developer``, ``system``, ``technology``,
  ``purpose``, ``media_trigger``, ``issue``, ``transparency``, and ``external_harms_<sub>`` /
  ``internal_impacts_<sub>`` for grouped columns), one row per value: list cells are split on ``;``
  and line breaks (not on commas: names such as "OpenAI, Inc." hold them).
"""

from __future__ import annotations

import csv
import io
import os
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from register.errors import EmptyImportError
from register.io._aiid import read_csv_text
from register.io._bundle import Bundle
from register.io._records import Failures, check_incident_times
from register.schema import Classification, Incident, IncidentCategory, Severity

__all__ = [
    "AIAAIC_ID_OFFSET",
    "AIAAIC_SOURCE",
    "COLUMNS",
    "ISSUE_CATEGORIES",
    "AiaaicImport",
    "aiaaic_incident_id",
    "parse_partial_date",
    "read_aiaaic_incidents",
]

AIAAIC_SOURCE = "aiaaic"
"""``Incident.source`` of records imported from the AIAAIC repository."""
AIAAIC_ID_OFFSET = 1_000_000
"""Added to the AIAAIC number in the register id, keeping it apart from AIID numbers."""
NAMESPACE = "AIAAIC"

COLUMNS: dict[str, tuple[str, ...]] = {
    "id": ("AIAAIC ID#", "AIAAIC ID"),
    "headline": ("Headline", "Headline/title", "Title"),
    "occurred": ("Occurred",),
    "summary": ("Summary/links", "Description/links", "Summary"),
    "type": ("Type",),
    "released": ("Released",),
    "country": ("Country(ies)", "Country", "Countries", "Jurisdiction"),
    "sector": ("Sector(s)", "Sector"),
    "deployer": ("Deployer(s)", "Deployer"),
    "developer": ("Developer(s)", "Developer"),
    "system": ("System name(s)", "System name", "System(s)"),
    "technology": ("Technology(ies)", "Technology"),
    "purpose": ("Purpose(s)", "Purpose"),
    "media_trigger": ("Media trigger(s)", "News trigger(s)", "News trigger"),
    "issue": ("Issue(s)", "Issues", "Risks", "Risk(s)", "Ethical issue(s)"),
    "transparency": ("Transparency",),
}
"""Attribute -> the column names it has had in AIAAIC exports (compared case-insensitively)."""
_REQUIRED = ("id", "headline", "occurred")
_GROUPS = ("external harms", "internal impacts")
_NOT_CLASSIFIED = ("id", "headline", "occurred", "summary")

ISSUE_CATEGORIES: dict[str, IncidentCategory] = {
    "bias/discrimination": IncidentCategory.FAIRNESS_BIAS,
    "fairness": IncidentCategory.FAIRNESS_BIAS,
    "privacy": IncidentCategory.DATA_EXPOSURE_PRIVACY,
    "confidentiality": IncidentCategory.DATA_EXPOSURE_PRIVACY,
    "surveillance": IncidentCategory.DATA_EXPOSURE_PRIVACY,
    "security": IncidentCategory.SECURITY,
    "safety": IncidentCategory.SAFETY,
    "accuracy/reliability": IncidentCategory.PERFORMANCE_DEGRADATION,
    "robustness": IncidentCategory.PERFORMANCE_DEGRADATION,
    "mis/disinformation": IncidentCategory.HARMFUL_CONTENT,
    "accountability": IncidentCategory.HUMAN_OVERSIGHT_FAILURE,
    "dual/multi-use": IncidentCategory.UNAUTHORIZED_USE,
    "misuse": IncidentCategory.UNAUTHORIZED_USE,
}
"""AIAAIC issue (lower case) -> category. Deliberate false content (deepfakes, "Mis/disinformation")
is harmful content; a system's own false statements fall under "Accuracy/reliability". Issues such as
Employment, Environment, Copyright, Transparency, Ethics have no category: the default, tagged."""

_MONTH_NAMES = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_MONTHS = {name: k for k, name in enumerate(_MONTH_NAMES, start=1)}
_AIAAIC_ID = re.compile(r"^AIAAIC\s*0*(\d{1,9})$", re.IGNORECASE)


@dataclass
class AiaaicImport:
    """The result of an AIAAIC import: a bundle, the id map and the columns left out."""

    bundle: Bundle
    id_map: dict[str, str] = field(default_factory=dict)
    ignored_columns: list[str] = field(default_factory=list)


def aiaaic_incident_id(number: int, occurred: datetime) -> str:
    """Return the register id of AIAAIC record ``number`` that occurred at ``occurred``.

    Examples
    --------
    >>> aiaaic_incident_id(1234, datetime(2021, 3, 1))
    'INC-2021-1001234'
    """
    return f"INC-{occurred.year:04d}-{AIAAIC_ID_OFFSET + number}"


def parse_partial_date(text: str) -> tuple[datetime, str]:
    """Parse an AIAAIC date (a year, a month or a day) to its first instant (UTC) and its precision.

    Examples
    --------
    >>> [parse_partial_date(t)[0].date().isoformat() for t in ("2019", "Mar 2021", "2021-03", "2021-03-15")]
    ['2019-01-01', '2021-03-01', '2021-03-01', '2021-03-15']
    >>> parse_partial_date("March 2021")[1], parse_partial_date("2019")[1]
    ('month', 'year')
    """
    value = text.strip()
    if re.fullmatch(r"\d{4}", value):
        return datetime(int(value), 1, 1, tzinfo=UTC), "year"
    match = re.fullmatch(r"(\d{4})-(\d{1,2})", value)
    if match:
        return datetime(int(match.group(1)), int(match.group(2)), 1, tzinfo=UTC), "month"
    match = re.fullmatch(r"([A-Za-z]{3,9})\.?\s+(\d{4})", value)
    if match and match.group(1)[:3].lower() in _MONTHS:
        return datetime(int(match.group(2)), _MONTHS[match.group(1)[:3].lower()], 1, tzinfo=UTC), "month"
    match = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", value)
    if match:
        year, month, day = (int(part) for part in match.groups())
        return datetime(year, month, day, tzinfo=UTC), "day"
    raise ValueError(
        f"must be a year (2019), a month (Mar 2021, 2021-03) or a day (2021-03-15). Got {text!r} instead."
    )


def _values(cell: str) -> list[str]:
    return [part.strip() for part in re.split(r"[;\n]", cell) if part.strip()]


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def _read_rows(path: Path, failures: Failures) -> list[list[str]] | None:
    text = read_csv_text(path, failures)
    if text is None:
        return None
    try:
        return list(csv.reader(io.StringIO(text, newline=""), strict=True))
    except csv.Error as exc:
        failures.add(path.name, None, None, "malformed_file", None, f"not a valid CSV file: {exc}")
        return None


def _layout(rows: list[list[str]]) -> tuple[int, list[str], int] | None:
    """(index of the header row, column names, index of the first data row), or None."""
    ids = {name.lower() for name in COLUMNS["id"]}
    for index, row in enumerate(rows[:5]):
        cells = [cell.strip() for cell in row]
        if not any(cell.lower() in ids for cell in cells):
            continue
        id_column = next(k for k, cell in enumerate(cells) if cell.lower() in ids)
        names = list(cells)
        below = [cell.strip() for cell in rows[index + 1]] if index + 1 < len(rows) else []
        if not (below and id_column < len(below) and not below[id_column] and any(below)):
            return index, names, index + 1
        group = ""  # a second header row: the sub-columns of grouped headers
        for k in range(len(names)):
            group = names[k] or group
            sub = below[k] if k < len(below) else ""
            if sub:
                names[k] = f"{group} / {sub}"
        return index, names, index + 2
    return None


def read_aiaaic_incidents(
    path: str | os.PathLike[str],
    *,
    default_category: IncidentCategory | str = IncidentCategory.REPUTATIONAL,
    default_severity: Severity | str = Severity.SEV3,
    allow_empty: bool = False,
) -> AiaaicImport:
    """Read the AIAAIC repository's CSV export into a bundle (mapping: module docstring).

    Parameters
    ----------
    path : path-like
        The CSV export of the repository's incidents sheet.
    default_category, default_severity
        What records without a mappable issue get (tagged ``aiaaic:unmapped-category``/``-severity``).
    allow_empty : bool, default False
        Accept an export without records.

    Returns
    -------
    AiaaicImport

    Raises
    ------
    ValidationFailed
        One failure row per problem (unknown layout, bad ids or dates, duplicate ids, cell counts).
    EmptyImportError
        No records and ``allow_empty`` is false.
    """
    path = Path(path)
    failures = Failures()
    result = AiaaicImport(bundle=Bundle())
    rows = _read_rows(path, failures)
    if rows is not None:
        _add_rows(
            result, rows, path.name, failures, IncidentCategory(default_category), Severity(default_severity)
        )
    failures.raise_if_any(str(path))
    if not result.bundle.incidents and not allow_empty:
        raise EmptyImportError([path.name])
    return result


def _columns(names: list[str], file: str, failures: Failures) -> tuple[dict[str, int], list[str]] | None:
    """Attribute -> column index, and the ignored column names; None (and a failure) without the keys."""
    lookup = {alias.lower(): attribute for attribute, aliases in COLUMNS.items() for alias in aliases}
    where: dict[str, int] = {}
    ignored: list[str] = []
    for k, name in enumerate(names):
        attribute = lookup.get(name.lower())
        if attribute is None and name.lower().split(" / ")[0] in _GROUPS:
            attribute = _slug(name)
        if attribute is not None and attribute not in where:
            where[attribute] = k
        elif name:
            ignored.append(name)
    missing = [a for a in _REQUIRED if a not in where and not (a == "occurred" and "released" in where)]
    if missing:
        expected = "; ".join(f"{a}: {' or '.join(COLUMNS[a])}" for a in _REQUIRED)
        failures.add(
            file,
            None,
            ", ".join(missing),
            "missing_column",
            ", ".join(n for n in names if n)[:500],
            f"an AIAAIC export needs the columns ({expected}); the value lists the columns found",
        )
        return None
    return where, ignored


def _add_rows(
    result: AiaaicImport,
    rows: list[list[str]],
    file: str,
    failures: Failures,
    category: IncidentCategory,
    severity: Severity,
) -> None:
    layout = _layout(rows)
    if layout is None:
        found = next(
            (", ".join(c for c in row if c.strip()) for row in rows if any(c.strip() for c in row)), ""
        )
        expected = "; ".join(f"{a}: {' or '.join(COLUMNS[a])}" for a in _REQUIRED)
        failures.add(
            file,
            None,
            "AIAAIC ID#",
            "missing_column",
            found[:500],
            f"an AIAAIC export needs a header row (in its first five rows) with the columns "
            f"({expected}); the value lists what the first row holds",
        )
        return
    _, names, start = layout
    columns = _columns(names, file, failures)
    if columns is None:
        return
    where, result.ignored_columns = columns
    for index in range(start, len(rows)):
        cells = rows[index]
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) > len(names) and any(cell.strip() for cell in cells[len(names) :]):
            failures.add(
                file, index + 1, None, "wrong_cell_count", len(cells), f"the header has {len(names)} columns"
            )
            continue
        row = {attribute: (cells[k].strip() if k < len(cells) else "") for attribute, k in where.items()}
        _add_record(result, index + 1, row, file, failures, category, severity)


def _add_record(
    result: AiaaicImport,
    line: int,
    row: dict[str, str],
    file: str,
    failures: Failures,
    category: IncidentCategory,
    severity: Severity,
) -> None:
    before = len(failures)
    match = _AIAAIC_ID.match(row["id"])
    if match is None:
        failures.add(
            file, line, "AIAAIC ID#", "invalid_value", row["id"], "must be an AIAAIC id such as AIAAIC1234"
        )
    if not row.get("headline"):
        failures.add(file, line, "Headline", "missing_value", None, "every record needs a headline")
    tags = ["aiaaic"]
    date_text, column = row.get("occurred", ""), "Occurred"
    if not date_text and row.get("released"):
        date_text, column = row["released"], "Released"
        tags.append("aiaaic:occurred-from-released")
    occurred = None
    try:
        occurred, precision = parse_partial_date(date_text)
        tags.append(f"aiaaic:date-precision-{precision}")
    except ValueError as exc:
        failures.add(file, line, column, "invalid_time", date_text, str(exc))
    if len(failures) > before or match is None or occurred is None:
        return
    source_id = row["id"]
    if source_id in result.id_map:
        failures.add(file, line, "AIAAIC ID#", "duplicate_id", source_id, "the AIAAIC id appears twice")
        return
    issues = _values(row.get("issue", ""))
    mapped = next((ISSUE_CATEGORIES[i.lower()] for i in issues if i.lower() in ISSUE_CATEGORIES), None)
    tags += [
        "aiaaic:category-from-issue" if mapped else "aiaaic:unmapped-category",
        "aiaaic:unmapped-severity",
        "aiaaic:aware-at-is-occurred-date",
    ]
    incident_id = aiaaic_incident_id(int(match.group(1)), occurred)
    try:
        incident = Incident(
            id=incident_id,
            title=row["headline"],
            summary=row.get("summary") or None,
            category=mapped or category,
            severity=severity,
            occurred_at=occurred,
            aware_at=occurred,
            publicly_visible=True,
            source=AIAAIC_SOURCE,
            source_id=source_id,
            tags=tags,
        )
    except ValueError as exc:
        failures.add(file, line, None, "invalid_value", None, str(exc))
        return
    for problem in check_incident_times(incident):
        failures.add(
            file, line, problem["column"], "inconsistent_times", problem["value"], str(problem["message"])
        )
    result.id_map[source_id] = incident_id
    result.bundle.incidents.append(incident)
    for attribute, cell in row.items():
        if attribute in _NOT_CLASSIFIED or not cell:
            continue
        values = [cell] if attribute in ("type", "released", "transparency") else _values(cell)
        result.bundle.classifications += [
            Classification(incident_id=incident_id, namespace=NAMESPACE, attribute=attribute, value=value)
            for value in values
        ]
