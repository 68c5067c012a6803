"""Import of the AI Incident Database (AIID) CSV export and its taxonomy classifications.

Inputs (the formats of AIID's public snapshot):

- ``incidents.csv``: ``_id, incident_id, date, reports, Alleged deployer of AI system, Alleged
  developer of AI system, Alleged harmed or nearly harmed parties, description, title``; the list
  columns are JSON-ish (``["openai","google"]``, ``[]``, or Python-style ``['a', 'b']``).
- ``classifications_<namespace>.csv``: ``Namespace, Incident ID, Published`` and the taxonomy's fields.

Mapping (what fits, and what is left explicit as unknown):

- id: ``INC-<year of date>-<AIID number, zero-padded to 4 digits>`` (AIID 23 of 2016 ->
  ``INC-2016-0023``; :func:`aiid_incident_id`). AIID numbers are unique, so ids are too.
- title, summary (= description); ``occurred_at`` and ``aware_at`` = the AIID date at 00:00 UTC (the
  time of awareness is unknown: tag ``aiid:aware-at-is-incident-date``); ``publicly_visible`` = true.
- provenance: ``source = "aiid"``, ``source_id`` = the AIID incident number (text). A re-import of a
  newer export updates these records (:meth:`register.Register.sync_source`).
- category: from the MIT taxonomy classification where there is one (namespace ``MIT``, attribute
  ``Risk Subdomain``, else ``Risk Domain``; the first row of the incident), by :data:`MIT_CATEGORIES`;
  tagged ``aiid:category-from-mit``. Without one (or for an unmapped domain, such as 6.
  Socioeconomic & Environmental) it is ``default_category`` (``reputational``), tagged
  ``aiid:unmapped-category``.
- severity: always ``default_severity`` (``SEV-3``, the matrix level for reputational damage), tagged
  ``aiid:unmapped-severity``. Where the CSET taxonomy says how much harm occurred, a *suggestion* is
  stored beside it as classifications (namespace ``workbench``, attributes ``suggested_severity`` and
  ``suggested_severity_basis``; rule: :func:`suggest_severity`), never applied: a person triages.
- every imported incident is tagged ``aiid``. Status stays ``detected``; detection source, affected
  count, roles stay null; there are no response times (metrics: ``response_recorded`` False).
- Namespace ``AIID`` classifications keep the source: ``aiid_incident_id``, ``aiid_record_id``
  (``_id``), one ``report`` per report number, one ``alleged_deployer``, ``alleged_developer`` and
  ``alleged_harmed_party`` per listed party.
- Taxonomy rows become classifications (namespace from the ``Namespace`` column, attribute = column
  name, one row per value; list values give one row per element; empty values are skipped). Rows
  whose ``Published`` is false are skipped and counted. Taxonomy files are found beside
  ``incidents.csv`` when a folder is given, or named (``taxonomy_files``; CLI ``--taxonomy``).

MIT risk domains and subdomains -> category (:data:`MIT_CATEGORIES`; a subdomain's own entry wins
over its domain's):

========================================================  ==========================================
MIT domain / subdomain                                    category
========================================================  ==========================================
1. Discrimination & Toxicity                              fairness_bias
1.2 Exposure to toxic content                             harmful_content
2. Privacy & Security                                     data_exposure_privacy
2.2 AI system security vulnerabilities and attacks        security
3. Misinformation                                         hallucination
4. Malicious Actors & Misuse                              unauthorized_use
4.2 Cyberattacks, weapon development or use, mass harm    security
5. Human-Computer Interaction                             human_oversight_failure
6. Socioeconomic & Environmental                          (unmapped: default, tagged)
7. AI System Safety, Failures & Limitations               safety
7.3 Lack of capability or robustness                      performance_degradation
========================================================  ==========================================
"""

from __future__ import annotations

import ast
import csv
import io
import json
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from register._parsing import MAX_DOCUMENT_BYTES
from register.errors import EmptyImportError
from register.io._bundle import Bundle
from register.io._records import Failures, check_incident_times
from register.schema import Classification, Incident, IncidentCategory, Severity

__all__ = [
    "AIID_SOURCE",
    "MIT_CATEGORIES",
    "AiidImport",
    "aiid_incident_id",
    "mit_category",
    "read_aiid_incidents",
    "suggest_severity",
]

AIID_SOURCE = "aiid"
"""``Incident.source`` of records imported from the AI Incident Database."""
SUGGESTION_NAMESPACE = "workbench"
"""Namespace of the register's own suggestions (``suggested_severity``, ``suggested_severity_basis``)."""

MIT_CATEGORIES: dict[str, IncidentCategory] = {
    "1": IncidentCategory.FAIRNESS_BIAS,
    "1.2": IncidentCategory.HARMFUL_CONTENT,
    "2": IncidentCategory.DATA_EXPOSURE_PRIVACY,
    "2.2": IncidentCategory.SECURITY,
    "3": IncidentCategory.HALLUCINATION,
    "4": IncidentCategory.UNAUTHORIZED_USE,
    "4.2": IncidentCategory.SECURITY,
    "5": IncidentCategory.HUMAN_OVERSIGHT_FAILURE,
    "7": IncidentCategory.SAFETY,
    "7.3": IncidentCategory.PERFORMANCE_DEGRADATION,
}
"""MIT risk (sub)domain number -> category (the table in the module docstring)."""
_MIT_NUMBER = re.compile(r"^\s*(\d+)(?:\.(\d+))?")

_INCIDENT_COLUMNS = (
    "_id",
    "incident_id",
    "date",
    "reports",
    "Alleged deployer of AI system",
    "Alleged developer of AI system",
    "Alleged harmed or nearly harmed parties",
    "description",
    "title",
)
_REQUIRED = ("incident_id", "date", "title")
_PARTY_COLUMNS = {
    "Alleged deployer of AI system": "alleged_deployer",
    "Alleged developer of AI system": "alleged_developer",
    "Alleged harmed or nearly harmed parties": "alleged_harmed_party",
}
_TAXONOMY_KEYS = ("Namespace", "Incident ID", "Published")


@dataclass
class AiidImport:
    """The result of an AIID import: a bundle of incidents and classifications, and what was skipped."""

    bundle: Bundle
    id_map: dict[int, str] = field(default_factory=dict)
    skipped_unpublished: int = 0
    namespaces: list[str] = field(default_factory=list)


def aiid_incident_id(number: int, occurred: datetime) -> str:
    """Return the register id of AIID incident ``number`` dated ``occurred``.

    Examples
    --------
    >>> aiid_incident_id(23, datetime(2016, 3, 24))
    'INC-2016-0023'
    >>> aiid_incident_id(12345, datetime(2024, 1, 1))
    'INC-2024-12345'
    """
    return f"INC-{occurred.year:04d}-{number:04d}"


def mit_category(value: str) -> IncidentCategory | None:
    """Return the category of an MIT risk domain or subdomain (:data:`MIT_CATEGORIES`), or None.

    Examples
    --------
    >>> mit_category("1.2. Exposure to toxic content").value
    'harmful_content'
    >>> mit_category("1. Discrimination & Toxicity").value
    'fairness_bias'
    >>> mit_category("6.2. Increased inequality and decline in employment quality") is None
    True
    """
    match = _MIT_NUMBER.match(value)
    if match is None:
        return None
    domain, sub = match.group(1), match.group(2)
    if sub is not None and f"{domain}.{sub}" in MIT_CATEGORIES:
        return MIT_CATEGORIES[f"{domain}.{sub}"]
    return MIT_CATEGORIES.get(domain)


def _number(values: list[str]) -> float:
    for value in values:
        try:
            return float(value)
        except ValueError:
            continue
    return 0.0


def suggest_severity(cset: dict[str, list[str]]) -> tuple[Severity, str] | None:
    """Suggest a severity from CSET harm fields (attribute -> values), with its basis; None without them.

    The rule, first match wins: ``Lives Lost`` > 0 -> SEV-1; ``Injuries`` > 0 -> SEV-2; ``AI Harm Level``
    or ``Tangible Harm``: harm event / harm definitively occurred -> SEV-2, near-miss -> SEV-3, issue
    (non-imminent risk) -> SEV-4, no tangible harm -> SEV-3 if ``Special Interest Intangible Harm`` is
    yes (civil-rights harms such as discrimination), else SEV-4. A suggestion only: it is stored as a
    classification, the incident keeps its default severity.

    Examples
    --------
    >>> suggest_severity({"Tangible Harm": ["tangible harm definitively occurred"]})
    (<Severity.SEV2: 'SEV-2'>, 'CSET Tangible Harm: tangible harm definitively occurred')
    >>> suggest_severity({"Lives Lost": ["2"], "Tangible Harm": ["no tangible harm"]})[0].value
    'SEV-1'
    >>> suggest_severity({"Sector of Deployment": ["education"]}) is None
    True
    """
    fields = {name.strip().lower(): (name, values) for name, values in cset.items() if values}
    for key, level in (("lives lost", Severity.SEV1), ("injuries", Severity.SEV2)):
        if key in fields and _number(fields[key][1]) > 0:
            name, values = fields[key]
            return level, f"CSET {name}: {values[0]}"
    intangible = [v.lower() for v in fields.get("special interest intangible harm", ("", []))[1]]
    for key in ("ai harm level", "tangible harm"):
        if key not in fields:
            continue
        name, values = fields[key]
        text = values[0].strip().lower()
        if text.startswith("no tangible harm") or text == "none":
            level = Severity.SEV3 if "yes" in intangible else Severity.SEV4
        elif "near" in text:
            level = Severity.SEV3
        elif "issue" in text:
            level = Severity.SEV4
        elif "harm event" in text or "definitively occurred" in text:
            level = Severity.SEV2
        else:
            continue
        return level, f"CSET {name}: {values[0]}"
    return None


def _list_cell(text: str) -> list[str]:
    """Parse a JSON-ish list cell: JSON, Python literal, or a comma-separated string."""
    text = text.strip()
    if not text:
        return []
    if text.startswith("["):
        for parse in (json.loads, ast.literal_eval):
            try:
                value = parse(text)
            except (ValueError, SyntaxError, RecursionError, MemoryError, TypeError):
                continue
            if isinstance(value, list):
                return [str(item).strip() for item in value if str(item).strip()]
        raise ValueError(f'must be a list such as ["a", "b"]. Got {text[:80]!r} instead.')
    return [part.strip() for part in text.split(",") if part.strip()]


def read_csv_text(path: Path, failures: Failures) -> str | None:
    """The text of a public database's CSV export, or None with the problem added to ``failures``.

    Refused: a file over the import size limit, a missing or unreadable file, text that is not UTF-8
    (a byte-order mark is dropped), NUL bytes. Shared by the AIID and AIAAIC imports.
    """
    try:
        size = path.stat().st_size
        if size > MAX_DOCUMENT_BYTES:
            failures.add(
                path.name,
                None,
                None,
                "too_large",
                f"{size / (1024 * 1024):.1f} MB",
                f"an import file must be at most {MAX_DOCUMENT_BYTES // (1024 * 1024)} MB; split it",
            )
            return None
        text = path.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        failures.add(path.name, None, None, "missing_file", str(path), "the file does not exist")
        return None
    except (OSError, UnicodeDecodeError) as exc:
        failures.add(
            path.name, None, None, "malformed_file", None, f"a CSV file must be readable UTF-8: {exc}"
        )
        return None
    if "\x00" in text:
        failures.add(
            path.name, None, None, "malformed_file", None, "a CSV file must be text; found NUL bytes"
        )
        return None
    return text


def _csv_rows(path: Path, failures: Failures) -> tuple[list[str], list[tuple[int, dict[str, str]]]] | None:
    text = read_csv_text(path, failures)
    if text is None:
        return None
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    rows: list[tuple[int, dict[str, str]]] = []
    try:
        header = next(reader, None)
        if not header:
            failures.add(
                path.name, 1, None, "malformed_file", None, "a CSV file must start with a header row"
            )
            return None
        header = [name.strip() for name in header]
        previous = reader.line_num
        for cells in reader:
            start, previous = previous + 1, reader.line_num
            if not any(cell.strip() for cell in cells):
                continue
            if len(cells) != len(header):
                failures.add(
                    path.name,
                    start,
                    None,
                    "wrong_cell_count",
                    len(cells),
                    f"the header has {len(header)} columns",
                )
                continue
            rows.append((start, dict(zip(header, cells, strict=True))))
    except csv.Error as exc:
        failures.add(path.name, reader.line_num, None, "malformed_file", None, f"not a valid CSV file: {exc}")
        return None
    return header, rows


def _parse_date(text: str) -> datetime:
    value = datetime.fromisoformat(text.strip())
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def read_aiid_incidents(
    path: str | os.PathLike[str],
    *,
    taxonomy_files: Iterable[str | os.PathLike[str]] | None = None,
    default_category: IncidentCategory | str = IncidentCategory.REPUTATIONAL,
    default_severity: Severity | str = Severity.SEV3,
    allow_empty: bool = False,
) -> AiidImport:
    r"""Read the AI Incident Database's ``incidents.csv`` (and taxonomy files) into a bundle.

    Parameters
    ----------
    path : path-like
        ``incidents.csv``, or a folder holding it (then ``classifications_*.csv`` beside it are read
        too unless ``taxonomy_files`` is given).
    taxonomy_files : iterable of path-like or None
        Taxonomy files to read (``classifications_MIT.csv``, ``classifications_CSETv1.csv``...), with
        a file or a folder; a named file without the taxonomy columns (``Namespace``, ``Incident ID``)
        is one ``missing_column`` failure naming the columns found.
    default_category, default_severity
        What unmappable AIID incidents get (tagged ``aiid:unmapped-category``/``-severity``).
    allow_empty : bool, default False
        Accept an export without incidents (an empty file or only the header row).

    Returns
    -------
    AiidImport

    Raises
    ------
    ValidationFailed
        With one failure row per problem (missing columns, bad dates or ids, bad lists, taxonomy rows
        for incidents not in the file).
    EmptyImportError
        The export holds no incidents and ``allow_empty`` is false.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "incidents.csv").write_text(
    ...     '_id,incident_id,date,reports,Alleged deployer of AI system,Alleged developer of AI system,'
    ...     'Alleged harmed or nearly harmed parties,description,title\n'
    ...     'a1,23,2016-03-24,"[1,2]","[""microsoft""]","[""microsoft""]","[""twitter-users""]",'
    ...     'Chatbot posted offensive tweets.,Chatbot learns offensive language\n')
    >>> result = read_aiid_incidents(folder)
    >>> incident = result.bundle.incidents[0]
    >>> incident.id, incident.severity.value, incident.tags[:3]
    ('INC-2016-0023', 'SEV-3', ['aiid', 'aiid:unmapped-category', 'aiid:unmapped-severity'])
    >>> sorted({(c.attribute, c.value) for c in result.bundle.classifications})[:3]
    [('aiid_incident_id', '23'), ('aiid_record_id', 'a1'), ('alleged_deployer', 'microsoft')]
    """
    path = Path(path)
    folder = path if path.is_dir() else path.parent
    incidents_path = path / "incidents.csv" if path.is_dir() else path
    if taxonomy_files is None:
        taxonomy_paths = sorted(folder.glob("classifications_*.csv")) if path.is_dir() else []
    else:
        taxonomy_paths = [Path(p) for p in taxonomy_files]
    category = IncidentCategory(default_category)
    severity = Severity(default_severity)
    failures = Failures()
    result = AiidImport(bundle=Bundle())
    parsed = _csv_rows(incidents_path, failures)
    if parsed is not None:
        header, rows = parsed
        file = incidents_path.name
        for name in _REQUIRED:
            if name not in header:
                failures.add(
                    file, 1, name, "missing_column", None, f"the AIID export needs a {name!r} column"
                )
        for name in header:
            if name not in _INCIDENT_COLUMNS:
                failures.add(
                    file, 1, name, "unknown_column", name, f"AIID incidents.csv columns: {_INCIDENT_COLUMNS}"
                )
        if not any(row["problem"] in ("missing_column", "unknown_column") for row in failures.rows):
            for line, row in rows:
                _add_incident(result, line, row, file, failures, category, severity)
    for taxonomy in taxonomy_paths:
        _add_taxonomy(result, taxonomy, failures)
    failures.raise_if_any(str(path))
    _map_taxonomies(result)
    if not result.bundle.incidents and not allow_empty:
        raise EmptyImportError([incidents_path.name, *(taxonomy.name for taxonomy in taxonomy_paths)])
    result.namespaces = sorted({c.namespace for c in result.bundle.classifications})
    return result


def _add_incident(
    result: AiidImport,
    line: int,
    row: dict[str, str],
    file: str,
    failures: Failures,
    category: IncidentCategory,
    severity: Severity,
) -> None:
    before = len(failures)
    try:
        number = int(row["incident_id"].strip())
        if number < 0:
            raise ValueError
    except ValueError:
        failures.add(file, line, "incident_id", "invalid_value", row["incident_id"], "must be a whole number")
        number = -1
    try:
        occurred = _parse_date(row["date"])
    except ValueError:
        failures.add(
            file, line, "date", "invalid_time", row["date"], "must be an ISO date such as 2016-03-24"
        )
        occurred = None
    lists: dict[str, list[str]] = {}
    for column in ("reports", *_PARTY_COLUMNS):
        try:
            lists[column] = _list_cell(row.get(column, "") or "")
        except ValueError as exc:
            failures.add(file, line, column, "invalid_value", row.get(column), str(exc))
    if len(failures) > before or occurred is None:
        return
    if number in result.id_map:
        failures.add(file, line, "incident_id", "duplicate_id", number, "the AIID number appears twice")
        return
    incident_id = aiid_incident_id(number, occurred)
    title = row["title"].strip() or f"AIID incident {number}"
    try:
        incident = Incident(
            id=incident_id,
            title=title,
            summary=(row.get("description") or "").strip() or None,
            category=category,
            severity=severity,
            occurred_at=occurred,
            aware_at=occurred,
            publicly_visible=True,
            source=AIID_SOURCE,
            source_id=str(number),
            tags=[
                "aiid",
                "aiid:unmapped-category",
                "aiid:unmapped-severity",
                "aiid:aware-at-is-incident-date",
            ],
        )
    except ValueError as exc:
        failures.add(file, line, None, "invalid_value", None, str(exc))
        return
    for problem in check_incident_times(incident):
        failures.add(
            file, line, problem["column"], "inconsistent_times", problem["value"], str(problem["message"])
        )
    result.id_map[number] = incident_id
    result.bundle.incidents.append(incident)
    labels = [("aiid_incident_id", str(number))]
    if (row.get("_id") or "").strip():
        labels.append(("aiid_record_id", row["_id"].strip()))
    labels += [("report", report) for report in lists["reports"]]
    for column, attribute in _PARTY_COLUMNS.items():
        labels += [(attribute, party) for party in lists[column]]
    result.bundle.classifications += [
        Classification(incident_id=incident_id, namespace="AIID", attribute=attribute, value=value)
        for attribute, value in labels
    ]


def _add_taxonomy(result: AiidImport, path: Path, failures: Failures) -> None:
    parsed = _csv_rows(path, failures)
    if parsed is None:
        return
    header, rows = parsed
    missing = [name for name in _TAXONOMY_KEYS[:2] if name not in header]
    if missing:
        failures.add(
            path.name,
            1,
            ", ".join(missing),
            "missing_column",
            ", ".join(header[:10]),
            "an AIID taxonomy file (classifications_<namespace>.csv) must have the columns "
            f"{', '.join(_TAXONOMY_KEYS)} and the taxonomy's fields; this one lacks {', '.join(missing)} "
            "(the value lists the columns found): name a classifications_*.csv file",
        )
        return
    fields = [name for name in header if name not in _TAXONOMY_KEYS and name]
    for line, row in rows:
        published = (row.get("Published") or "true").strip().lower()
        if published in ("false", "0", "no"):
            result.skipped_unpublished += 1
            continue
        namespace = row["Namespace"].strip()
        if not namespace:
            failures.add(path.name, line, "Namespace", "missing_value", None, "every row needs a namespace")
            continue
        try:
            number = int(row["Incident ID"].strip())
        except ValueError:
            failures.add(
                path.name, line, "Incident ID", "invalid_value", row["Incident ID"], "must be a whole number"
            )
            continue
        incident_id = result.id_map.get(number)
        if incident_id is None:
            failures.add(
                path.name,
                line,
                "Incident ID",
                "unknown_reference",
                number,
                "no incident with this AIID number in incidents.csv",
            )
            continue
        for name in fields:
            text = (row.get(name) or "").strip()
            if not text:
                continue
            try:
                values = _list_cell(text) if text.startswith("[") else [text]
            except ValueError:
                values = [text]
            result.bundle.classifications += [
                Classification(incident_id=incident_id, namespace=namespace, attribute=name, value=value)
                for value in values
            ]


def _map_taxonomies(result: AiidImport) -> None:
    """Set categories from MIT classifications and add CSET severity suggestions (see module docs)."""
    mit: dict[str, dict[str, list[str]]] = {}
    cset: dict[str, dict[str, list[str]]] = {}
    for label in result.bundle.classifications:
        namespace = label.namespace.strip().upper()
        target = mit if namespace.startswith("MIT") else cset if namespace.startswith("CSET") else None
        if target is not None:
            target.setdefault(label.incident_id, {}).setdefault(label.attribute, []).append(label.value)
    for incident in result.bundle.incidents:
        fields = mit.get(incident.id, {})
        values = [*fields.get("Risk Subdomain", []), *fields.get("Risk Domain", [])]
        category = next((c for c in map(mit_category, values) if c is not None), None)
        if category is not None:
            incident.category = category
            incident.tags = [
                "aiid:category-from-mit" if tag == "aiid:unmapped-category" else tag for tag in incident.tags
            ]
        suggestion = suggest_severity(cset.get(incident.id, {}))
        if suggestion is not None:
            level, basis = suggestion
            result.bundle.classifications += [
                Classification(
                    incident_id=incident.id,
                    namespace=SUGGESTION_NAMESPACE,
                    attribute="suggested_severity",
                    value=level.value,
                ),
                Classification(
                    incident_id=incident.id,
                    namespace=SUGGESTION_NAMESPACE,
                    attribute="suggested_severity_basis",
                    value=basis,
                ),
            ]
