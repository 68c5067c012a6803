"""Produce tests/unit/analysis/fixtures/evidently_drift.json with Evidently's own drift results.

Run in the peers' environment (Evidently needs pandas < 3):

    bash bench/setup_peers.sh
    .venv-bench/bin/python bench/evidently_fixture.py

It generates a fixed seeded dataset in two sizes -- "small" (500 reference rows: KS / chi-square / z
branch) and "large" (1,500 reference rows: normed Wasserstein / Jensen-Shannon branch) -- with numeric,
low-cardinality numeric, binary, categorical and two-valued categorical columns, a few of them drifted,
NaN and inf in one column, runs Evidently's ``DataDriftPreset`` (default selection, and on the large data
also ``method="psi"`` and ``method="jensenshannon"``), and writes per column the test, statistic and
verdict next to the data itself (values rounded to 3 decimals before Evidently sees them, so the JSON holds
exactly the data Evidently used). The product's test suite (no Evidently) compares against it.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd

OUT = (
    Path(__file__).resolve().parents[1] / "tests" / "unit" / "analysis" / "fixtures" / "evidently_drift.json"
)
NUMERIC = ["num_shift", "num_stable", "num_nan_inf", "num_ints", "num_lowcard", "num_binary"]
CATEGORICAL = ["cat_shift", "cat_stable", "cat_two"]
DISPLAY_TO_NAME = {
    "K-S p_value": "ks",
    "chi-square p_value": "chisquare",
    "Z-test p_value": "z",
    "Wasserstein distance (normed)": "wasserstein",
    "Jensen-Shannon distance": "jensenshannon",
    "PSI": "psi",
}


def make_frame(rng: np.random.Generator, n: int, drifted: bool) -> pd.DataFrame:
    shift = 1.0 if drifted else 0.0
    frame = pd.DataFrame(
        {
            "num_shift": np.round(rng.normal(0.35 * shift, 1.0, n), 3),
            "num_stable": np.round(rng.gamma(2.0, 1.5, n), 3),
            "num_nan_inf": np.round(rng.normal(5.0, 2.0, n), 3),
            "num_ints": rng.integers(0, 12 + 3 * int(drifted), n).astype(float),
            "num_lowcard": rng.choice([1.0, 2.0, 3.0, 4.0], n, p=[0.4, 0.3, 0.2, 0.1]),
            "num_binary": (rng.random(n) < (0.3 + 0.12 * shift)).astype(float),
            "cat_shift": rng.choice(
                ["a", "b", "c", "d"], n, p=[0.25, 0.25, 0.25, 0.25] if not drifted else [0.15, 0.25, 0.3, 0.3]
            ),
            "cat_stable": rng.choice(["u", "v", "w"], n, p=[0.5, 0.3, 0.2]),
            "cat_two": rng.choice(["no", "yes"], n, p=[0.7, 0.3]),
        }
    )
    holes = rng.random(n)
    frame.loc[holes < 0.05, "num_nan_inf"] = np.nan
    frame.loc[(holes >= 0.05) & (holes < 0.07), "num_nan_inf"] = np.inf
    frame.loc[(holes >= 0.07) & (holes < 0.08), "num_nan_inf"] = -np.inf
    return frame


def run_evidently(reference: pd.DataFrame, current: pd.DataFrame, method: str | None) -> dict[str, object]:
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    definition = DataDefinition(numerical_columns=NUMERIC, categorical_columns=CATEGORICAL)
    snapshot = Report([DataDriftPreset(method=method)], include_tests=True).run(
        current_data=Dataset.from_pandas(current, data_definition=definition),
        reference_data=Dataset.from_pandas(reference, data_definition=definition),
    )
    result = snapshot.dict()
    columns: dict[str, dict[str, object]] = {}
    metric_by_id = {}
    dataset = {}
    for metric in result["metrics"]:
        config = metric["config"]
        if config["type"].endswith("ValueDrift"):
            value = float(metric["value"])
            columns[config["column"]] = {
                "evidently_method": config["method"],
                "test": DISPLAY_TO_NAME.get(config["method"], config["method"]),
                "threshold": config["threshold"],
                "statistic": value if math.isfinite(value) else None,
            }
            metric_by_id[metric["id"]] = config["column"]
        elif config["type"].endswith("DriftedColumnsCount"):
            dataset = {"n_drifted": int(metric["value"]["count"]), "share": float(metric["value"]["share"])}
    for test in result["tests"]:
        metric_id = test["metric_config"]["metric_id"]
        if metric_id in metric_by_id:
            columns[metric_by_id[metric_id]]["drifted"] = test["status"] == "FAIL"
        elif test["id"] == "lt":
            dataset["dataset_drift"] = test["status"] == "FAIL"
    return {"method": method, "columns": columns, "dataset": dataset}


def to_json_column(series: pd.Series) -> list[object]:
    out = []
    for value in series.tolist():
        if isinstance(value, float):
            if math.isnan(value):
                out.append(None)
            elif math.isinf(value):
                out.append("inf" if value > 0 else "-inf")
            else:
                out.append(value)
        else:
            out.append(value)
    return out


def main() -> int:
    import evidently

    rng = np.random.default_rng(20261123)
    cases = {}
    for name, n_ref, n_cur, methods in (
        ("small", 500, 400, [None]),
        ("large", 1500, 1200, [None, "psi", "jensenshannon"]),
    ):
        reference = make_frame(rng, n_ref, drifted=False)
        current = make_frame(rng, n_cur, drifted=True)
        cases[name] = {
            "reference": {c: to_json_column(reference[c]) for c in reference.columns},
            "current": {c: to_json_column(current[c]) for c in current.columns},
            "runs": [run_evidently(reference, current, method) for method in methods],
        }
    payload = {
        "generator": "bench/evidently_fixture.py",
        "evidently_version": evidently.__version__,
        "pandas_version": pd.__version__,
        "numerical_columns": NUMERIC,
        "categorical_columns": CATEGORICAL,
        "note": "missing values as null; infinities as the strings 'inf'/'-inf'",
        "cases": cases,
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(payload, separators=(",", ":")) + "\n")
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes)")
    for name, case in cases.items():
        for run in case["runs"]:
            print(name, run["method"], run["dataset"])
            for column, entry in run["columns"].items():
                print(f"  {column:12s} {entry['test']:14s} {entry['statistic']!s:24s} {entry['drifted']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
