"""DESIGN.md section 2: which package may import what. Parsed with ``ast``, not by importing."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
STDLIB = set(sys.stdlib_module_names) | {"__future__"}

# Third-party top-level modules each package may import (besides the stdlib and its own modules).
ALLOWED_THIRD_PARTY: dict[str, set[str]] = {
    "register": {
        "pydantic",
        "sqlalchemy",
        "alembic",
        "pandas",
        "numpy",
        "yaml",
        "openpyxl",
        "psycopg",
        # register.pii (imported inside its functions): the detectors and what they depend on
        "presidio_analyzer",
        "detect_secrets",
        "tldextract",
        "regex",
    },
    "analysis": {
        "pandas",
        "numpy",
        "scipy",
        "sklearn",
        "fairlearn",
        "ibis",
        "plotly",
        "pyarrow",
        "duckdb",
        "pydantic",
        "pydantic_core",  # pydantic's own core: custom types (a Window as a model field)
        "threadpoolctl",  # scikit-learn's own dependency: caps OpenMP threads of the domain classifier
    },
    "workbench": {
        "pandas",
        "numpy",
        "scipy",
        "pyarrow",
        "duckdb",
        "ibis",
        "plotly",
        "yaml",
        "pydantic",
        "papermill",
        "nbconvert",
        "nbformat",
        "nbclient",
        "jupyter_client",
        "jinja2",
        "markupsafe",
        "typer",
        "click",
        "rich",
        "sqlalchemy",
        "psutil",
        "playwright",
        "jsonschema",  # workbench.regulator validates its public-database exports (issue 26)
    },
}
# First-party imports each package may make (module prefixes).
ALLOWED_FIRST_PARTY: dict[str, tuple[str, ...]] = {
    "register": ("register",),
    # register.pii: the one PII/secret detector, shared by report redaction and the interaction-log scan
    "analysis": ("analysis", "register.schema", "register.pii"),
    "workbench": ("workbench", "register", "analysis"),
    # notebooks call the tested library and the register, never the orchestration (DESIGN.md section 2)
    "notebooks": ("analysis", "register"),
}
# ipywidgets: the slice explorer's controls in investigate.ipynb (display only; the search is analysis's)
ALLOWED_THIRD_PARTY["notebooks"] = ALLOWED_THIRD_PARTY["analysis"] | {"IPython", "ipywidgets"}
FIRST_PARTY = ("register", "analysis", "workbench")
ONLY_IN_WORKBENCH = {"papermill", "nbconvert"}


def _source(path: Path) -> str:
    if path.suffix != ".ipynb":
        return path.read_text(encoding="utf-8")
    import json

    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    # code cells joined in order; IPython magics and shell escapes are not Python
    lines = [
        line
        for cell in cells
        if cell["cell_type"] == "code"
        for line in "".join(cell["source"]).splitlines()
        if not line.lstrip().startswith(("%", "!"))
    ]
    return "\n".join(lines)


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(_source(path), filename=str(path))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
            # `from register import schema` imports register.schema
            found.extend(
                (node.lineno, f"{node.module}.{alias.name}")
                for alias in node.names
                if node.module in FIRST_PARTY
            )
    return found


def _violations(package: str) -> list[str]:
    problems: list[str] = []
    pattern = "*.ipynb" if package == "notebooks" else "*.py"
    for path in sorted((ROOT / package).rglob(pattern)):
        if "migrations" in path.parts and package == "register":
            allowed_extra = {"alembic", "sqlalchemy"}
        else:
            allowed_extra = set()
        for lineno, module in _imports(path):
            top = module.split(".")[0]
            where = f"{path.relative_to(ROOT)}:{lineno} imports {module}"
            if top in FIRST_PARTY:
                if module in FIRST_PARTY and top != package:
                    # a bare `from register import x` is judged through its expanded names
                    continue
                if not module.startswith(ALLOWED_FIRST_PARTY[package]):
                    problems.append(where)
            elif top in STDLIB:
                continue
            elif top in ONLY_IN_WORKBENCH and package != "workbench":
                problems.append(where + " (only workbench may use papermill/nbconvert)")
            elif top not in ALLOWED_THIRD_PARTY[package] | allowed_extra:
                problems.append(where + " (not in DESIGN.md section 2's list)")
    return problems


@pytest.mark.parametrize("package", ["register", "analysis", "workbench", "notebooks"])
def test_package_imports_follow_design(package: str) -> None:
    assert _violations(package) == []


def test_checker_catches_a_forbidden_import(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_root = tmp_path
    (fake_root / "analysis").mkdir()
    (fake_root / "analysis" / "bad.py").write_text(
        "from register.store import Store\nimport papermill\nfrom register.schema import DataCard\n"
    )
    monkeypatch.setattr(sys.modules[__name__], "ROOT", fake_root)
    problems = _violations("analysis")
    assert len(problems) == 2
    assert "register.store" in problems[0]
    assert "papermill" in problems[1]
