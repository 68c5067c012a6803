"""Import and export of register entities (CSV, JSON, YAML, XLSX, bundles, AI Incident Database).

Public API: :func:`read_bundle` / :func:`write_bundle` (one document or a folder with a manifest),
:func:`read_entities` / :func:`write_entities` (one entity per file), :func:`read_aiid_incidents`
(the AI Incident Database's CSV export), :func:`read_aiaaic_incidents` (the AIAAIC repository's)
and :func:`check_incident_times`. Every reader validates everything and raises one
:class:`~register.errors.ValidationFailed` whose ``failures`` list every problem as ``{file, row,
column, problem, value, message}``. A file or bundle holding no records raises
:class:`~register.errors.EmptyImportError` (a ``ValidationFailed``) unless ``allow_empty=True``.
"""

from __future__ import annotations

from register.io._aiaaic import AiaaicImport, aiaaic_incident_id, read_aiaaic_incidents
from register.io._aiid import AiidImport, aiid_incident_id, read_aiid_incidents
from register.io._bundle import ENTITY_ORDER, Bundle
from register.io._bundle_files import (
    BUNDLE_FORMAT,
    BUNDLE_VERSION,
    FileFormat,
    read_bundle,
    read_entities,
    write_bundle,
    write_entities,
)
from register.io._records import ENTITY_MODELS, check_incident_times

__all__ = [
    "BUNDLE_FORMAT",
    "BUNDLE_VERSION",
    "ENTITY_MODELS",
    "ENTITY_ORDER",
    "AiaaicImport",
    "AiidImport",
    "Bundle",
    "FileFormat",
    "aiaaic_incident_id",
    "aiid_incident_id",
    "check_incident_times",
    "read_aiaaic_incidents",
    "read_aiid_incidents",
    "read_bundle",
    "read_entities",
    "write_bundle",
    "write_entities",
]
