"""Exceptions of the register package: one root, user mistakes as subclasses with clear messages."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

__all__ = [
    "ConflictError",
    "EmptyImportError",
    "InvalidTransition",
    "NotFoundError",
    "RegisterError",
    "ValidationFailed",
]


class RegisterError(Exception):
    """Root of every error the register raises on purpose."""


class NotFoundError(RegisterError, LookupError):
    """An id that the register does not hold (incident, AI system, action item...)."""


class ValidationFailed(RegisterError, ValueError):
    """Input that does not satisfy the register's schema or policy.

    ``failures`` holds one row per problem (file, row, column, problem, value) when the error came from
    an import, so a user sees every problem at once.
    """

    def __init__(self, message: str, failures: Sequence[Mapping[str, object]] | None = None) -> None:
        super().__init__(message)
        self.failures: list[dict[str, object]] = [dict(row) for row in failures or []]


class EmptyImportError(ValidationFailed):
    """An import whose files hold no records at all (an empty file, ``null``, only a header row).

    Refused unless the caller allows an empty import (``allow_empty=True``; ``--allow-empty`` on the
    command line), so a wrong or truncated file does not "succeed" silently. ``files`` names the files
    read; ``failures`` holds one ``empty_import`` row per file.
    """

    def __init__(self, files: Sequence[str]) -> None:
        self.files = list(files)
        named = ", ".join(self.files) or "the bundle"
        super().__init__(
            f"{named} must hold at least one record to import; nothing was imported. Got no records "
            "(an empty file, null, or only a header row): check that it is the file you meant, or pass "
            "--allow-empty to accept an empty import.",
            [
                {
                    "file": file,
                    "row": None,
                    "column": None,
                    "problem": "empty_import",
                    "value": None,
                    "message": "no records to import",
                }
                for file in self.files or ["bundle"]
            ],
        )


class InvalidTransition(RegisterError, ValueError):
    """A lifecycle transition that the transition table does not allow."""


class ConflictError(RegisterError):
    """A concurrent change that could not be applied safely."""
