"""pyproject.toml and environment.yml list the same runtime dependencies with the same bounds."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]

# PyPI requirement name (with extras) -> conda-forge package name, where they differ.
PYPI_TO_CONDA = {
    "ibis-framework[duckdb]": "ibis-duckdb",
    "psycopg[binary]": "psycopg",
    "duckdb": "python-duckdb",
}
CONDA_ONLY = {"python", "pip"}

_REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9_.\-]+(?:\[[A-Za-z0-9_,\-]+\])?)\s*(.*)$")


def _split(requirement: str) -> tuple[str, str]:
    match = _REQUIREMENT.match(requirement.split(";")[0])
    if match is None:
        raise ValueError(f"cannot parse requirement {requirement!r}")
    name, spec = match.groups()
    return name.lower(), ",".join(sorted(part.strip() for part in spec.split(",") if part.strip()))


def _pyproject() -> dict[str, str]:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    pairs = map(_split, data["project"]["dependencies"])
    return {PYPI_TO_CONDA.get(name, name): spec for name, spec in pairs}


def _conda() -> dict[str, str]:
    data = yaml.safe_load((ROOT / "environment.yml").read_text(encoding="utf-8"))
    pairs = [_split(dep) for dep in data["dependencies"] if isinstance(dep, str)]
    # requirements installed by pip (the section's options such as `-e . --no-deps` are not packages)
    sections = [section for section in data["dependencies"] if isinstance(section, dict)]
    pip = [dep for section in sections for dep in section.get("pip", [])]
    pairs += [_split(dep) for dep in pip if not dep.startswith("-")]
    return {name: spec for name, spec in pairs if name not in CONDA_ONLY}


def test_same_runtime_dependencies() -> None:
    pypi, conda = _pyproject(), _conda()
    assert sorted(set(pypi) - set(conda)) == [], "in pyproject.toml but not in environment.yml"
    assert sorted(set(conda) - set(pypi)) == [], "in environment.yml but not in pyproject.toml"


def test_same_version_bounds() -> None:
    pypi, conda = _pyproject(), _conda()
    shared = set(pypi) & set(conda)
    differing = {name: (pypi[name], conda[name]) for name in shared if pypi[name] != conda[name]}
    assert differing == {}


def test_known_broken_sqlglot_is_pinned_in_both() -> None:
    assert _pyproject()["sqlglot"] == "<30.18"
    assert _conda()["sqlglot"] == "<30.18"


def test_pip_section_requirements_count() -> None:
    # presidio-analyzer and detect-secrets come from PyPI through environment.yml's pip section
    assert _conda()["presidio-analyzer"] == _pyproject()["presidio-analyzer"] == "<2.3,>=2.2.366"
    assert "-e" not in " ".join(_conda())


def test_split_parses_extras_and_bounds() -> None:
    assert _split("ibis-framework[duckdb]>=10,<13") == ("ibis-framework[duckdb]", "<13,>=10")
    assert _split("sqlglot<30.18") == ("sqlglot", "<30.18")
