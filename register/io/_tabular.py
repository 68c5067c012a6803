"""CSV and XLSX files of register entities: one row per record, one column per field.

Conventions: column names are the field names of the register records; lists (tags, affected groups...)
and nested objects (data card, failure signal) are JSON text; times are ISO-8601 (offsets converted to
UTC, naive taken as UTC); an empty cell is null (an empty required text is the empty string). Row
numbers in failures are what a user sees: the header is row 1, the first record row 2 (for CSV, the
*line* where a record starts, so records with line breaks inside quotes count their lines).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from pydantic import BaseModel

from register.io._records import ENTITY_MODELS, Failures, encode_cell, field_kinds

__all__ = ["read_csv_rows", "read_xlsx_rows", "write_csv", "write_xlsx"]


def _header_problems(
    entity: str, header: Sequence[object], *, file: str, failures: Failures, row: int = 1
) -> list[str] | None:
    kinds = field_kinds(ENTITY_MODELS[entity])
    names = ["" if cell is None else str(cell).strip() for cell in header]
    ok = True
    seen: set[str] = set()
    for name in names:
        if name in seen:
            failures.add(file, row, name, "duplicate_column", name, "each column may appear once")
            ok = False
        seen.add(name)
        if name not in kinds:
            failures.add(
                file,
                row,
                name,
                "unknown_column",
                name,
                f"{entity} has no field {name!r}; fields: {', '.join(kinds)}",
            )
            ok = False
    for name, (_, _, required) in kinds.items():
        if required and name not in seen:
            failures.add(file, row, name, "missing_column", None, f"{entity} needs a {name!r} column")
            ok = False
    return names if ok else None


def read_csv_rows(
    data: bytes, entity: str, *, file: str, failures: Failures
) -> list[tuple[int, dict[str, object]]]:
    """Parse CSV bytes (UTF-8, optional BOM) into (line, {column: text}) rows; problems go to ``failures``."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        failures.add(file, None, None, "malformed_file", None, f"a CSV file must be UTF-8 text: {exc}")
        return []
    with _field_limit_at_least(len(text)):
        return _csv_rows(text, entity, file=file, failures=failures)


@contextmanager
def _field_limit_at_least(size: int) -> Iterator[None]:
    """Let the csv module read cells up to ``size`` characters (its default stops at 131,072).

    A cell longer than a field allows is then refused by the record's own limit
    (:data:`register.schema.TEXT_LIMITS`), with its row and column in the error table.
    """
    previous = csv.field_size_limit()
    csv.field_size_limit(max(previous, size + 1))
    try:
        yield
    finally:
        csv.field_size_limit(previous)


def _csv_rows(
    text: str, entity: str, *, file: str, failures: Failures
) -> list[tuple[int, dict[str, object]]]:
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    rows: list[tuple[int, dict[str, object]]] = []
    try:
        header = next(reader, None)
        if header is None or not any(cell.strip() for cell in header):
            failures.add(file, 1, None, "malformed_file", None, "a CSV file must start with a header row")
            return []
        names = _header_problems(entity, header, file=file, failures=failures)
        previous_line = reader.line_num
        for cells in reader:
            start_line = previous_line + 1
            previous_line = reader.line_num
            if not cells or all(cell == "" for cell in cells) and len(cells) <= 1:
                continue
            if len(cells) != len(header):
                failures.add(
                    file,
                    start_line,
                    None,
                    "wrong_cell_count",
                    len(cells),
                    f"the header has {len(header)} columns, this row has {len(cells)} cells",
                )
                continue
            if names is not None:
                rows.append((start_line, dict(zip(names, cells, strict=True))))
    except csv.Error as exc:
        failures.add(file, reader.line_num, None, "malformed_file", None, f"not a valid CSV file: {exc}")
        return []
    return rows if names is not None else []


def write_csv(records: Sequence[BaseModel], entity: str, path: Path) -> None:
    """Write records of one entity as CSV (UTF-8, header = field names in record order)."""
    path.write_text(csv_text(records, entity), encoding="utf-8", newline="")


def csv_text(records: Sequence[BaseModel], entity: str) -> str:
    """Return the CSV text of records of one entity."""
    kinds = field_kinds(ENTITY_MODELS[entity])
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")  # "\r" in a cell must be quoted too
    writer.writerow(list(kinds))
    for record in records:
        writer.writerow(
            [
                "" if (cell := encode_cell(getattr(record, name), kinds[name][0])) is None else cell
                for name in kinds
            ]
        )
    return buffer.getvalue()


def _load_workbook(data: bytes, *, file: str, failures: Failures) -> object | None:
    import openpyxl

    try:
        return openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - any parser failure of a foreign file is a user error
        failures.add(file, None, None, "malformed_file", None, f"not a readable XLSX workbook: {exc}")
        return None


def xlsx_sheet_names(data: bytes, *, file: str, failures: Failures) -> list[str] | None:
    """Return the sheet names of a workbook, or None (with a failure) when it cannot be read."""
    workbook = _load_workbook(data, file=file, failures=failures)
    if workbook is None:
        return None
    names = list(workbook.sheetnames)  # type: ignore[attr-defined]
    workbook.close()  # type: ignore[attr-defined]
    return names


def read_xlsx_rows(
    data: bytes, entity: str, *, file: str, failures: Failures, sheet: str | None = None
) -> list[tuple[int, dict[str, object]]]:
    """Read one sheet (``sheet``, else the one named like the entity, else the only one) into rows."""
    workbook = _load_workbook(data, file=file, failures=failures)
    if workbook is None:
        return []
    try:
        names = list(workbook.sheetnames)  # type: ignore[attr-defined]
        wanted = sheet or (entity if entity in names else (names[0] if len(names) == 1 else None))
        if wanted is None or wanted not in names:
            failures.add(
                file,
                None,
                None,
                "missing_sheet",
                sheet or entity,
                f"the workbook must have a sheet named {sheet or entity!r}; it has {names}",
            )
            return []
        where = f"{file} [{wanted}]"
        iterator: Iterator[tuple[object, ...]] = workbook[wanted].iter_rows(values_only=True)  # type: ignore[index]
        header = next(iterator, None)
        if header is None or not any(cell not in (None, "") for cell in header):
            failures.add(where, 1, None, "malformed_file", None, "the sheet must start with a header row")
            return []
        while header and header[-1] in (None, ""):
            header = header[:-1]
        names_or_none = _header_problems(entity, header, file=where, failures=failures)
        rows: list[tuple[int, dict[str, object]]] = []
        for number, cells in enumerate(iterator, start=2):
            if all(cell in (None, "") for cell in cells):
                continue
            extra = [cell for cell in cells[len(header) :] if cell not in (None, "")]
            if extra:
                failures.add(
                    where,
                    number,
                    None,
                    "wrong_cell_count",
                    len(cells),
                    f"cells beyond the {len(header)} header columns",
                )
                continue
            padded = list(cells[: len(header)]) + [None] * (len(header) - len(cells))
            if names_or_none is not None:
                rows.append((number, dict(zip(names_or_none, padded, strict=True))))
        return rows if names_or_none is not None else []
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many kinds on damaged workbooks
        failures.add(file, None, None, "malformed_file", None, f"not a readable XLSX workbook: {exc}")
        return []
    finally:
        workbook.close()  # type: ignore[attr-defined]


def write_xlsx(sheets: dict[str, Sequence[BaseModel]], path: Path) -> None:
    """Write one sheet per entity (cells as text, numbers as numbers; never formulas)."""
    import openpyxl
    from openpyxl.cell.cell import TYPE_STRING
    from openpyxl.utils.exceptions import IllegalCharacterError

    from register.errors import ValidationFailed

    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    failures = Failures()
    for entity, records in sheets.items():
        sheet = workbook.create_sheet(entity)
        kinds = field_kinds(ENTITY_MODELS[entity])
        sheet.append(list(kinds))
        for row_number, record in enumerate(records, start=2):
            for column_number, name in enumerate(kinds, start=1):
                value = encode_cell(getattr(record, name), kinds[name][0])
                if value is None:
                    continue
                cell = sheet.cell(row=row_number, column=column_number)
                try:
                    cell.value = value
                except IllegalCharacterError:
                    failures.add(
                        f"{path.name} [{entity}]",
                        row_number,
                        name,
                        "invalid_value",
                        value,
                        "XLSX cannot hold control characters; export as CSV, JSON or YAML",
                    )
                    continue
                if isinstance(value, str):
                    cell.data_type = TYPE_STRING
    if failures.rows:
        raise ValidationFailed(
            f"records must be representable in XLSX. Got {len(failures)} cell(s) that are not.", failures.rows
        )
    workbook.save(path)
