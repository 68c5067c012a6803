"""JSON and YAML documents of register entities.

A single-entity document is a list of objects (or ``{<entity>: [...]}``); a bundle document is
``{"format": "workbench-bundle", "version": 1, "ai_systems": [...], "incidents": [...], ...}``.
Times are ISO-8601 strings (YAML timestamps are accepted too); lists and nested objects are native.
Row numbers in failures are 1-based positions within the entity's list.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel

from register._parsing import load_json, load_yaml
from register.errors import ValidationFailed
from register.io._records import Failures

__all__ = ["dump_document", "load_document", "records_payload"]

DocumentFormat = Literal["json", "yaml"]


class _Dumper(yaml.SafeDumper):
    """Safe YAML dumper that double-quotes (and so escapes) text holding line or control characters."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    # NEL, LS, PS, BOM and control characters would be read back as line breaks or dropped unless escaped
    style = None if value.isprintable() and "\ufeff" not in value else '"'
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _represent_str)


def load_document(data: bytes, fmt: DocumentFormat, *, file: str, failures: Failures) -> Any:
    """Parse JSON or YAML bytes; on failure add ``malformed_file`` and return ``None``.

    Parsing is bounded (:mod:`register._parsing`): nesting at most 32 deep, YAML aliases expanding
    to at most 100,000 extra nodes, no recursive aliases.
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        failures.add(
            file, None, None, "malformed_file", None, f"a {fmt.upper()} file must be UTF-8 text: {exc}"
        )
        return None
    try:
        if fmt == "json":
            return load_json(text, what=f"{file} (JSON)")
        return load_yaml(text, what=f"{file} (YAML)")
    except ValidationFailed as exc:  # too deep, or YAML aliases expanding beyond the bound
        failures.add(file, None, None, "malformed_file", None, str(exc))
    except json.JSONDecodeError as exc:
        failures.add(
            file,
            exc.lineno,
            None,
            "malformed_file",
            None,
            f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})",
        )
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        failures.add(
            file, mark.line + 1 if mark else None, None, "malformed_file", None, f"not valid YAML: {exc}"
        )
    except (RecursionError, ValueError) as exc:
        failures.add(file, None, None, "malformed_file", None, f"not a valid {fmt.upper()} document: {exc}")
    return None


def records_payload(records: Sequence[BaseModel]) -> list[dict[str, Any]]:
    """Records as JSON-compatible mappings (times as ISO-8601 strings, enums as their values)."""
    return [record.model_dump(mode="json") for record in records]


def dump_document(payload: Any, fmt: DocumentFormat, path: Path) -> None:
    """Write a JSON-compatible payload as JSON (indented) or YAML (block style, key order kept)."""
    if fmt == "json":
        path.write_text(json.dumps(payload, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    else:
        path.write_text(
            yaml.dump(payload, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=4096),
            encoding="utf-8",
        )
