"""Where the workbench's notebooks and report templates are, installed or not.

In the source tree (and an editable install) they are the top-level folders ``notebooks/`` and
``report_templates/``; an installed wheel carries them as package data, ``workbench/notebooks/`` and
``workbench/report_templates/`` (pyproject.toml maps the folders there). Both are read through
:func:`importlib.resources.files`, so a workbench installed anywhere finds its own copies, never the
working directory's.

Examples
--------
>>> (notebooks_dir() / "drift.ipynb").is_file()
True
>>> (templates_dir() / "postmortem" / "index.html.j2").is_file()
True
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from workbench.errors import WorkbenchError

__all__ = ["notebooks_dir", "templates_dir"]

_SOURCE_ROOT = Path(__file__).resolve().parents[1]


def notebooks_dir() -> Path:
    """Return the folder of the analysis notebooks (``drift.ipynb``, ``postmortem.ipynb``...)."""
    return _folder("notebooks", "drift.ipynb")


def templates_dir() -> Path:
    """Return the folder of the report templates (``postmortem/index.html.j2``...)."""
    return _folder("report_templates", "postmortem")


def _folder(name: str, marker: str) -> Path:
    """Return the packaged folder ``workbench/<name>``, else the source tree's ``<name>``.

    ``marker`` is an entry the folder must hold, so an unrelated folder of the same name is not taken.
    """
    packaged = resources.files("workbench").joinpath(name)
    if isinstance(packaged, Path) and packaged.joinpath(marker).exists():
        return packaged
    if packaged.joinpath(marker).is_file() or packaged.joinpath(marker).is_dir():
        raise WorkbenchError(
            f"the workbench must be installed as files on disk to read its {name}. Got {packaged} "
            "(inside an archive) instead: reinstall it with pip (wheels unpack into site-packages)."
        )
    source = _SOURCE_ROOT / name
    if source.joinpath(marker).exists():
        return source
    raise WorkbenchError(
        f"the workbench's {name} folder must hold {marker}. Found neither {packaged}/{marker} (installed) "
        f"nor {source}/{marker} (source tree): reinstall the workbench."
    )
