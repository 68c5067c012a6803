"""Exceptions of the analysis package: one root, user mistakes as subclasses with clear messages."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

__all__ = ["AnalysisError", "DataValidationError", "EmptyWindowError", "InvalidParameterError"]


class AnalysisError(Exception):
    """Root of every error the analysis package raises on purpose."""


class InvalidParameterError(AnalysisError, ValueError):
    """A parameter outside what an analysis accepts."""


class DataValidationError(AnalysisError, ValueError):
    """Model-output data that does not match its data card.

    ``failures`` holds one row per problem (column, check, failure case, row) in the pandera style.
    """

    def __init__(self, message: str, failures: Sequence[Mapping[str, object]] | None = None) -> None:
        super().__init__(message)
        self.failures: list[dict[str, object]] = [dict(failure) for failure in failures or ()]


class EmptyWindowError(AnalysisError, ValueError):
    """A time window with no rows (or no labels) where the analysis needs some."""
