"""pyproject.toml lists its packages by hand (notebooks/ and report_templates/ are mapped into
``workbench``): every package folder of the source tree must be in that list, with its data files.

The slow tests/test_wheel.py builds and installs the wheel; this one only reads the configuration.
"""

from __future__ import annotations

import fnmatch
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE_ROOTS = ("register", "analysis", "workbench")
DATA_ROOTS = {"notebooks": "workbench.notebooks", "report_templates": "workbench.report_templates"}
SKIP_PARTS = {"__pycache__", ".ipynb_checkpoints"}


def _setuptools() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]


def _folders(top: str) -> list[Path]:
    root = ROOT / top
    return [root, *(p for p in sorted(root.rglob("*")) if p.is_dir() and not SKIP_PARTS & set(p.parts))]


def _package_of(folder: Path) -> str:
    relative = folder.relative_to(ROOT)
    top = relative.parts[0]
    prefix = DATA_ROOTS.get(top, top)
    return ".".join([prefix, *relative.parts[1:]])


def test_every_source_folder_is_a_listed_package() -> None:
    listed = set(_setuptools()["packages"])
    folders = [folder for top in (*PACKAGE_ROOTS, *DATA_ROOTS) for folder in _folders(top)]
    missing = sorted(_package_of(folder) for folder in folders if _package_of(folder) not in listed)
    assert missing == [], "add these to [tool.setuptools] packages in pyproject.toml"


def test_data_folders_are_mapped_into_workbench() -> None:
    assert _setuptools()["package-dir"] == {package: top for top, package in DATA_ROOTS.items()}


def test_every_notebook_and_template_matches_a_package_data_glob() -> None:
    package_data = _setuptools()["package-data"]
    unshipped = []
    for top in DATA_ROOTS:
        for path in sorted((ROOT / top).rglob("*")):
            if not path.is_file() or SKIP_PARTS & set(path.parts):
                continue
            globs = package_data.get(_package_of(path.parent), [])
            if not any(fnmatch.fnmatch(path.name, glob) for glob in globs):
                unshipped.append(str(path.relative_to(ROOT)))
    assert unshipped == [], "add a package-data glob in pyproject.toml for these files"


def test_each_package_is_marked_typed() -> None:
    package_data = _setuptools()["package-data"]
    for top in PACKAGE_ROOTS:
        assert (ROOT / top / "py.typed").is_file(), top
        assert "py.typed" in package_data[top], top
