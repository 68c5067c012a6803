"""Our Evidently-compatible statistic and verdict per column equal Evidently 0.7's on a fixed dataset.

The fixture is produced by bench/evidently_fixture.py in the peers' environment (.venv-bench); this test
needs no Evidently.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.drift import data_drift

FIXTURE = Path(__file__).parent / "fixtures" / "evidently_drift.json"
PAYLOAD = json.loads(FIXTURE.read_text())
RUNS = [
    (case_name, run_index)
    for case_name, case in PAYLOAD["cases"].items()
    for run_index in range(len(case["runs"]))
]


def _frame(columns: dict[str, list[object]]) -> pd.DataFrame:
    data = {}
    for name, values in columns.items():
        if name in PAYLOAD["numerical_columns"]:
            data[name] = np.array(
                [
                    np.nan if v is None else (np.inf if v == "inf" else -np.inf if v == "-inf" else v)
                    for v in values
                ],
                dtype=float,
            )
        else:
            data[name] = pd.Series(values, dtype="string")
    return pd.DataFrame(data)


@pytest.mark.parametrize("method", ["engine", "columnar"])
@pytest.mark.parametrize("case_name, run_index", RUNS)
def test_matches_evidently(case_name: str, run_index: int, method: str) -> None:
    case = PAYLOAD["cases"][case_name]
    run = case["runs"][run_index]
    reference, current = _frame(case["reference"]), _frame(case["current"])
    columns = list(run["columns"])
    result = data_drift(reference, current, columns=columns, test=run["method"] or "auto", method=method)
    for column, expected in run["columns"].items():
        ours = result[column]
        assert ours.test == expected["test"], column
        assert ours.threshold == pytest.approx(expected["threshold"]), column
        assert ours.statistic == pytest.approx(expected["statistic"], rel=1e-9, abs=1e-12), column
        assert ours.drifted == expected["drifted"], column
    assert result.n_drifted == run["dataset"]["n_drifted"]
    assert result.share == pytest.approx(run["dataset"]["share"])
    assert result.dataset_drift == run["dataset"]["dataset_drift"]


def test_fixture_covers_both_branches_and_all_default_tests() -> None:
    default_tests = {
        entry["test"] for case in PAYLOAD["cases"].values() for entry in case["runs"][0]["columns"].values()
    }
    assert default_tests == {"ks", "chisquare", "z", "wasserstein", "jensenshannon"}
    assert PAYLOAD["evidently_version"].startswith("0.7")
