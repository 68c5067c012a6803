"""Exceptions of the workbench package."""

from __future__ import annotations

__all__ = ["WorkbenchError", "NotYetAvailable"]


class WorkbenchError(Exception):
    """Root of every error the workbench raises on purpose (bad options, missing files...)."""


class NotYetAvailable(WorkbenchError):
    """A command whose capability has not been built yet: said plainly, never faked."""
