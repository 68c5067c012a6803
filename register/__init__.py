"""The incident register: records, storage, lifecycle and the Python API.

Examples
--------
>>> import tempfile, os
>>> from register import open_register, Severity
>>> with open_register(os.path.join(tempfile.mkdtemp(), "r.sqlite"), create=True) as reg:
...     reg.list_incidents(severity=Severity.SEV1)
[]
"""

from __future__ import annotations

from register._sources import SourceSync
from register.api import Register, open_register
from register.errors import (
    ConflictError,
    EmptyImportError,
    InvalidTransition,
    NotFoundError,
    RegisterError,
    ValidationFailed,
)
from register.schema import (
    ActionItem,
    ActionItemKind,
    ActionItemStatus,
    AiSystem,
    Classification,
    ColumnRoles,
    DataCard,
    DataSource,
    DetectionSource,
    Evidence,
    HistoryEntry,
    Incident,
    IncidentCategory,
    IncidentStatus,
    Notification,
    NotificationAudience,
    PostmortemStatus,
    ReportType,
    Role,
    Severity,
    TimelineEvent,
    TimelineEventKind,
)

__all__ = [
    "ActionItem",
    "ActionItemKind",
    "ActionItemStatus",
    "AiSystem",
    "Classification",
    "ColumnRoles",
    "ConflictError",
    "DataCard",
    "DataSource",
    "DetectionSource",
    "EmptyImportError",
    "Evidence",
    "HistoryEntry",
    "Incident",
    "IncidentCategory",
    "IncidentStatus",
    "InvalidTransition",
    "NotFoundError",
    "Notification",
    "NotificationAudience",
    "PostmortemStatus",
    "Register",
    "RegisterError",
    "ReportType",
    "Role",
    "Severity",
    "SourceSync",
    "TimelineEvent",
    "TimelineEventKind",
    "ValidationFailed",
    "open_register",
]
