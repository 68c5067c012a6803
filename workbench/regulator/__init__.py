"""Regulator report drafts and public-database exports of an incident, filled from the register and a run.

Drafts follow the structure of what a regulator asks for (EU AI Act Art. 73, the Commission's draft
template; GDPR Art. 33(3); the OECD common reporting framework) and are filled from the register and the
latest analysis run's section summaries: they never recompute an analysis. Every field the workbench does
not know is listed "to complete" with the role that should complete it -- never invented.
"""

from __future__ import annotations

from workbench.regulator._inputs import DraftInputs, gather_inputs, run_folder
from workbench.regulator._model import ChainLink, DeadlineStatus, DraftField, DraftSection, RegulatorDraft

__all__ = [
    "ChainLink",
    "DeadlineStatus",
    "DraftField",
    "DraftInputs",
    "DraftSection",
    "RegulatorDraft",
    "gather_inputs",
    "run_folder",
]
