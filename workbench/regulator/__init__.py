"""Regulator report drafts and public-database exports of an incident, filled from the register and a run.

Drafts follow the structure of what a regulator asks for (EU AI Act Art. 73, the Commission's draft
template; GDPR Art. 33(3); the OECD common reporting framework) and are filled from the register and the
latest analysis run's section summaries: they never recompute an analysis. Every field the workbench does
not know is listed "to complete" with the role that should complete it -- never invented.
"""

from __future__ import annotations

from workbench.regulator._chain import deadline_status, fmt_duration, previous_reference, report_chain
from workbench.regulator._draft import TEMPLATES, build_draft
from workbench.regulator._inputs import DraftInputs, gather_inputs, run_folder
from workbench.regulator._model import ChainLink, DeadlineStatus, DraftField, DraftSection, RegulatorDraft
from workbench.regulator._write import (
    EXPORT_KINDS,
    FORMATS,
    DraftFiles,
    render_draft,
    write_public_export,
    write_regulator_draft,
)

__all__ = [
    "EXPORT_KINDS",
    "FORMATS",
    "TEMPLATES",
    "ChainLink",
    "DraftFiles",
    "DeadlineStatus",
    "DraftField",
    "DraftInputs",
    "DraftSection",
    "RegulatorDraft",
    "build_draft",
    "deadline_status",
    "fmt_duration",
    "gather_inputs",
    "previous_reference",
    "render_draft",
    "report_chain",
    "run_folder",
    "write_public_export",
    "write_regulator_draft",
]
