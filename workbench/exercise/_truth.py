"""The sealed truth of an exercise: what the team's findings are scored against.

Built from the generator's ground truth (the planted scenario) and the scenario register's incident (its
severity, category and the facts the policy judges regimes on). Regimes and the first notification
deadline are computed with the shipped policy as it is, as of the scenario's ``as_of``: never hard-coded.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbench.errors import WorkbenchError
from workbench.exercise._catalogue import EXPECTED_CONTAINMENT

if TYPE_CHECKING:
    from register.io import Bundle

__all__ = ["TRUTH_SCHEMA_VERSION", "build_truth", "commitment", "read_sealed_truth"]

TRUTH_SCHEMA_VERSION = 1


def commitment(path: Path) -> str:
    """Return the SHA-256 hex digest of a file's bytes (the commitment to the sealed truth)."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat().replace("+00:00", "Z")


def _changed_version(cause: dict[str, Any]) -> str | None:
    """The version the planted change introduced (model, agent or retrieval index), if any."""
    if cause.get("model_version"):
        return str(cause["model_version"])
    for key in ("model", "agent_version", "data_source"):
        change = cause.get(key)
        if isinstance(change, dict) and change.get("after"):
            return str(change["after"])
    return None


def build_truth(
    entry: dict[str, Any],
    bundle: Bundle,
    *,
    as_of: datetime,
    incident_id: str,
    alert_at: datetime,
) -> dict[str, Any]:
    """Return the truth of one planted scenario (or control), ready to be sealed.

    Parameters
    ----------
    entry : dict
        The scenario's object in ``ground_truth.json`` (``scenarios`` or ``llm_scenarios``).
    bundle : register.io.Bundle
        The scenario register (its incident holds severity, category and the regime facts).
    as_of : datetime
        The scenario's ``as_of``: the data end, the time regimes and deadlines are judged at.
    incident_id : str
        The exercise register's incident (a new id for a control).
    alert_at : datetime
        When the monitoring alert (or first report) arrived.

    Returns
    -------
    dict
        The truth document (schema version :data:`TRUTH_SCHEMA_VERSION`).
    """
    from register.policy import applicable_regimes, load_policy, notification_deadlines

    control = bool(entry.get("control"))
    cause = entry.get("cause") or {}
    affected = entry.get("affected") or {}
    signal = entry.get("signal_affected") or {}
    llm = "calls" in affected
    decisions_key, people_key = ("calls", "users") if llm else ("decisions", "entities")
    group = entry.get("group")
    truth: dict[str, Any] = {
        "schema_version": TRUTH_SCHEMA_VERSION,
        "nonce": secrets.token_hex(16),
        "scenario_id": entry["id"],
        "kind": entry["kind"],
        "control": control,
        "system_id": entry["system_id"],
        "incident_id": incident_id,
        "scenario_incident_id": entry.get("incident_id"),
        "alert_at": _iso(alert_at),
        "as_of": _iso(as_of),
        "onset": None if control else entry.get("onset"),
        "end": None if control else entry.get("end"),
        "still_happening": False if control else entry.get("end") is None,
        "affected_unit": "calls" if llm else "decisions",
        "affected_decisions": 0 if control else affected.get(decisions_key),
        "affected_people": 0 if control else affected.get(people_key),
        "affected_decisions_signal": signal.get(decisions_key),
        "affected_people_signal": signal.get(people_key),
        "affected_definition": affected.get("definition"),
        "groups_harmed": []
        if control or not group
        else [{"attribute": group["attribute"], "group": group["value"]}],
        "cause": "none" if control else cause.get("kind"),
        "cause_columns": list(cause.get("columns") or []),
        "changed_version": None if control else _changed_version(cause),
        "change_event": cause.get("change_event"),
        "slice": [] if control else list(entry.get("slice") or []),
        "containment": list(EXPECTED_CONTAINMENT[entry["id"]]),
        "severity": None,
        "category": None,
        "regimes": [],
        "first_deadline": None,
    }
    if control:
        return truth
    incident = next((i for i in bundle.incidents if i.id == entry["incident_id"]), None)
    if incident is None:
        raise WorkbenchError(
            f"the scenario register must hold incident {entry['incident_id']} of scenario {entry['id']}. "
            "Got no such incident instead: regenerate the scenario."
        )
    system = next((s for s in bundle.ai_systems if s.id == incident.system_id), None)
    policy = load_policy()
    regimes = applicable_regimes(incident, system, policy=policy, as_of=as_of)
    owed = [
        deadline
        for deadline in notification_deadlines(incident, system, policy=policy, as_of=as_of)
        if deadline.status == "scheduled" and deadline.due_at is not None
    ]
    first = min(owed, key=lambda deadline: deadline.due_at or as_of, default=None)
    truth.update(
        severity=incident.severity.value,
        category=incident.category.value,
        regimes=[{"id": check.regime, "name": check.name, "reasons": check.reasons} for check in regimes],
        first_deadline=None
        if first is None
        else {
            "regime": first.regime,
            "report_type": first.report_type.value,
            "audience": first.audience.value,
            "due_at": _iso(first.due_at),
        },
    )
    return truth


def read_sealed_truth(directory: Path, expected_sha256: str) -> dict[str, Any]:
    """Read ``sealed/truth.json`` after checking it against the commitment in ``exercise.json``.

    Raises
    ------
    WorkbenchError
        The file is missing, or its SHA-256 differs from the commitment (it was changed after the start).
    """
    path = directory / "sealed" / "truth.json"
    if not path.is_file():
        raise WorkbenchError(
            f"an exercise folder must hold its sealed truth {path}. Got no such file instead: "
            "score the folder `workbench exercise start` wrote."
        )
    digest = commitment(path)
    if digest != expected_sha256:
        raise WorkbenchError(
            f"the sealed truth {path} must match the commitment made at the start (sha256 "
            f"{expected_sha256}). Got sha256 {digest} instead: the file was changed after the exercise "
            "started, so it cannot be scored; restore it or start a new exercise."
        )
    document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return document
