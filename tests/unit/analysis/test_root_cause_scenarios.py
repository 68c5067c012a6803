"""Root cause on every planted scenario: the planted cause first, its slice found, its onset in the interval.

The generator writes each scenario's ground truth (``cause``: kind, columns, model version, slice, onset).
The analysis never reads it; these tests do. Planted incidents are analysed the way ``workbench investigate``
does (the register's incident, windows and timeline); the clean controls, which have no incident, with the
ground truth's windows and no events.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from analysis import Window, incident_windows, open_logs
from analysis.context import build_context
from analysis.root_cause import RootCauseResult, analyse_root_cause
from register.schema import DataCard

pytestmark = pytest.mark.slow

SEED = 7
ROWS_PER_DAY = 1000


@pytest.fixture(scope="module")
def scenarios(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any], str]:
    from register import open_register
    from register.io import read_bundle
    from workbench.scenarios import generate

    out = tmp_path_factory.mktemp("root-cause-scenarios")
    result = generate(out, seed=SEED, rows_per_day=ROWS_PER_DAY)
    url = str(out / "register.sqlite")
    with open_register(url, create=True) as register:
        register.import_bundle(read_bundle(result.register_dir), by="test")
    return out, json.loads(result.ground_truth_path.read_text()), url


def _window(span: dict[str, str], name: str) -> Window:
    return Window(datetime.fromisoformat(span["start"]), datetime.fromisoformat(span["end"]), name)


def _analyse(scenarios: tuple[Path, dict[str, Any], str], scenario: dict[str, Any]) -> RootCauseResult:
    from register import open_register

    out, truth, url = scenarios
    as_of = datetime.fromisoformat(truth["as_of"])
    if scenario["incident_id"]:
        with open_register(url) as register:
            incident, card = register.incident_with_card(scenario["incident_id"])
            events = register.timeline(scenario["incident_id"])
        context = build_context(incident, card, as_of=as_of, events=events, fingerprint=False)
        return analyse_root_cause(
            context.open_logs(),
            context.card,
            context.windows,
            as_of=as_of,
            signal=context.signal,
            events=context.events,
            incident=context.incident,
        )
    card_path = out / "datacards" / f"{scenario['system_id']}.yaml"
    card = DataCard.model_validate(yaml.safe_load(card_path.read_text()))
    incident = _window(scenario["incident_window"], "incident")
    windows = incident_windows(
        incident.start,
        as_of=as_of,
        reference=_window(scenario["reference_window"], "reference"),
        incident=incident,
    )
    return analyse_root_cause(open_logs(card, base_dir=card_path.parent), card, windows, as_of=as_of)


def _matches(cause: Any, planted: dict[str, Any]) -> bool:
    if cause.kind != planted["kind"]:
        return False
    if planted["kind"] == "model_change":
        return cause.model_version == planted.get("model_version")
    columns = set(planted.get("columns") or [])
    return not columns or bool(columns & set(cause.columns))


def _slice_found(result: RootCauseResult, planted: list[dict[str, Any]]) -> bool:
    wanted = {(p["column"], str(p["value"])) for p in planted}
    for predicates in result.slices.slices["predicates"]:
        found = {(p[0], str(p[2])) for p in predicates if p[1] == "=="}
        columns = {p[0] for p in predicates}
        if wanted <= found and len(columns) <= len(wanted) + 1:
            return True
    return False


def _onset_covered(result: RootCauseResult, planted: str, columns: list[str]) -> bool:
    """The planted onset lies in the failure onset's interval, a planted column's shift interval, or the
    first cause's own start (a feed that froze hours before its decisions counted as stale)."""
    onset = datetime.fromisoformat(planted)
    top = result.causes[0] if result.causes else None
    own = top is not None and top.started is not None and top.started_until is not None
    if own and top.started - timedelta(hours=1) <= onset < top.started_until:  # type: ignore[union-attr, operator]
        return True
    windows = [result.failure.window] if result.failure.significant else []
    windows += [
        found.window
        for found in result.onsets
        if found.significant and found.window and any(column in found.series for column in columns)
    ]
    return any(window is not None and window.low <= onset < window.high for window in windows)


def test_every_planted_cause_is_first_with_its_slice_and_onset(scenarios) -> None:
    _, truth, _ = scenarios
    failures = []
    for scenario in truth["scenarios"]:
        planted = scenario.get("cause") or {}
        if scenario["control"] or not planted.get("kind"):
            continue
        result = _analyse(scenarios, scenario)
        top = result.causes[0] if result.causes else None
        problems = []
        if top is None or top.strength == "weak" or not _matches(top, planted):
            problems.append(
                f"#1 is {top and (top.kind, top.subject, top.strength)}, planted {planted['kind']}"
            )
        if planted.get("slice") and not _slice_found(result, planted["slice"]):
            problems.append(f"slice {planted['slice']} not among {list(result.slices.slices['description'])}")
        if not _onset_covered(
            result, planted.get("onset") or scenario["onset"], planted.get("columns") or []
        ):
            window = result.failure.onset.window
            problems.append(f"onset {planted.get('onset')} outside {window and (window.low, window.high)}")
        if problems:
            failures.append(f"{scenario['id']}: " + "; ".join(problems))
    assert not failures, "\n".join(failures)


def test_clean_controls_give_no_cause_above_weak_and_no_verdict(scenarios) -> None:
    _, truth, _ = scenarios
    controls = [scenario for scenario in truth["scenarios"] if scenario["control"]]
    assert len(controls) >= 2
    for scenario in controls:
        result = _analyse(scenarios, scenario)
        assert result.top_cause is None, (
            scenario["id"],
            [(c.kind, c.strength, c.evidence) for c in result.causes],
        )
        assert result.verdict is None, scenario["id"]
        assert not result.failure.significant, scenario["id"]
