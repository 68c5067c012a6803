"""Where a data card's files are: the path patterns and the existence check both log readers share.

Private helper of :mod:`analysis.data` (prediction logs) and :mod:`analysis._llm_data` (interaction logs),
kept apart so that neither imports the other for it.
"""

from __future__ import annotations

import glob
import os

from analysis.errors import DataValidationError

__all__ = ["DEFAULT_MEMORY_LIMIT", "check_exists", "file_paths"]

DEFAULT_MEMORY_LIMIT = "2GB"
"""DuckDB ``memory_limit`` of the embedded connections."""


def file_paths(location: str, ext: str) -> str:
    """A directory becomes the glob of its files with extension ``ext`` (hive partitions included)."""
    if os.path.isdir(location):
        return os.path.join(location, "**", f"*.{ext}")
    return location


def check_exists(location: str) -> None:
    """Raise :class:`DataValidationError` when a location (or glob) names no file."""
    if any(ch in location for ch in "*?["):
        if not glob.glob(location, recursive=True):
            raise DataValidationError(
                f"No file matches the data card location {location!r}. Check the path in the data card.",
                [{"column": None, "check": "source_exists", "failure_case": location, "count": 0}],
            )
    elif not os.path.exists(location):
        raise DataValidationError(
            f"The data card location {location!r} does not exist. Check the path in the data card.",
            [{"column": None, "check": "source_exists", "failure_case": location, "count": 0}],
        )
