"""Exceptions of the register package: one root, user mistakes as subclasses with clear messages."""

from __future__ import annotations

__all__ = ["RegisterError", "NotFoundError", "ValidationFailed", "InvalidTransition", "ConflictError"]


class RegisterError(Exception):
    """Root of every error the register raises on purpose."""


class NotFoundError(RegisterError, LookupError):
    """An id that the register does not hold (incident, AI system, action item...)."""


class ValidationFailed(RegisterError, ValueError):
    """Input that does not satisfy the register's schema or policy.

    ``failures`` holds one row per problem (file, row, column, problem, value) when the error came from
    an import, so a user sees every problem at once.
    """

    def __init__(self, message: str, failures: list[dict[str, object]] | None = None) -> None:
        super().__init__(message)
        self.failures = list(failures or [])


class InvalidTransition(RegisterError, ValueError):
    """A lifecycle transition that the transition table does not allow."""


class ConflictError(RegisterError):
    """A concurrent change that could not be applied safely."""
