"""Importing the register does not import the data stack (pandas, numpy, scipy, ibis, duckdb).

A CLI command such as ``workbench register show`` goes through :class:`register.Register` methods that
never build a DataFrame; only the frame readers, the metrics and tabular import/export need pandas,
and they import it when called. The check runs in a fresh interpreter (this one has pandas loaded).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("pandas", "numpy", "scipy", "ibis", "duckdb", "pyarrow", "alembic")
ROOT = Path(__file__).resolve().parents[3]


def _modules_after(code: str) -> list[str]:
    """Return which of HEAVY are in ``sys.modules`` after running ``code`` in a fresh interpreter."""
    probe = f"{code}\nimport json, sys\nprint(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, env=environment, cwd=ROOT
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_importing_the_register_imports_no_data_stack() -> None:
    imported = _modules_after(
        "import register, register.api, register.errors, register.schema, register.policy, "
        "register.lifecycle, register.store, register.io"
    )
    assert imported == []


def test_register_commands_without_frames_import_no_data_stack(tmp_path: Path) -> None:
    # add, update, event, show and list: the Register methods behind those CLI commands, on an existing
    # register (creating one runs the Alembic migrations; opening one does not import Alembic)
    from register import open_register

    open_register(tmp_path / "r.sqlite", create=True).close()
    code = f"""
from register import open_register
with open_register({str(tmp_path / "r.sqlite")!r}) as reg:
    incident = reg.add_incident({{"title": "Drift", "category": "performance_degradation",
                                 "severity": "SEV-3", "aware_at": "2026-05-04T10:00:00Z"}}, by="ana")
    reg.update_incident(incident.id, {{"affected_count": 3}}, by="ana")
    reg.transition(incident.id, "triaged", by="ana")
    reg.add_timeline_event({{"incident_id": incident.id, "at": "2026-05-04T10:05:00Z", "kind": "note",
                             "description": "paged"}}, by="ana")
    reg.add_action_item({{"incident_id": incident.id, "title": "Add a drift alert", "kind": "detect"}})
    reg.get_incident(incident.id), reg.timeline(incident.id), reg.action_items(incident.id)
    reg.notifications(incident.id), reg.history("incident", incident.id), reg.list_incidents()
"""
    assert _modules_after(code) == []


@pytest.mark.parametrize("reader", ["incidents_frame()", "metrics_frame()"])
def test_frames_do_import_pandas(tmp_path: Path, reader: str) -> None:
    # the check above could pass vacuously if the probe never saw pandas: here it must
    code = f"""
from register import open_register
with open_register({str(tmp_path / "r.sqlite")!r}, create=True) as reg:
    reg.{reader}
"""
    assert "pandas" in _modules_after(code)
