"""analysis._stattests: each drift test declared once; default selection and verdicts read the registry."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from analysis._stattests import (
    DEFAULT_THRESHOLDS,
    STATTESTS,
    evidently_default_test,
    get_stattest,
    resolve_threshold,
)
from analysis.drift import data_drift
from analysis.errors import InvalidParameterError


def test_exactly_one_default_test_per_column() -> None:
    grid = itertools.product(("numeric", "categorical"), (1, 999, 1000, 1001, 50_000), range(0, 30))
    for kind, n_ref, n_values in grid:
        defaults = [
            name
            for name, test in STATTESTS.items()
            if test.default_when is not None and test.default_when(kind, n_ref, n_values)
        ]
        assert defaults == [evidently_default_test(kind, n_ref, n_values)], (kind, n_ref, n_values)
        assert kind in STATTESTS[defaults[0]].column_kinds


def test_registry_declares_names_thresholds_and_rules_once() -> None:
    assert list(STATTESTS) == ["ks", "chisquare", "z", "wasserstein", "jensenshannon", "psi"]
    assert {name: test.default_threshold for name, test in STATTESTS.items()} == DEFAULT_THRESHOLDS
    assert {name for name, test in STATTESTS.items() if test.result == "p_value"} == {"ks", "chisquare", "z"}
    assert {name for name, test in STATTESTS.items() if "categorical" not in test.column_kinds} == {
        "ks",
        "wasserstein",
    }
    # Evidently's comparisons: ks p <= t, chisquare/z p < t, distances >= t
    assert [STATTESTS[name].drifted(0.05, 0.05) for name in ("ks", "chisquare", "z")] == [True, False, False]
    assert STATTESTS["wasserstein"].drifted(0.1, 0.1) and not STATTESTS["psi"].drifted(0.0999, 0.1)
    assert resolve_threshold({"x": 0.2, "ks": 0.01}, "x", "ks") == 0.2
    assert resolve_threshold({"ks": 0.01}, "y", "ks") == 0.01
    assert resolve_threshold(None, "y", "jensenshannon") == 0.1
    with pytest.raises(InvalidParameterError, match="Got 'anderson' instead"):
        get_stattest("anderson")


def test_a_test_by_name_uses_the_registry_function_and_threshold() -> None:
    rng = np.random.default_rng(0)
    ref = pd.DataFrame({"x": rng.normal(size=400), "c": rng.choice(list("abc"), 400)})
    cur = pd.DataFrame({"x": rng.normal(0.3, size=400), "c": rng.choice(list("abc"), 400)})
    result = data_drift(ref, cur, columns=["x", "c"], test={"x": "wasserstein", "c": "psi"})
    assert [(c.test, c.threshold) for c in result.columns] == [("wasserstein", 0.1), ("psi", 0.1)]
    assert result["x"].p_value_test == "ks"  # a distance test carries the KS p-value for BH
    with pytest.raises(InvalidParameterError, match="needs a numeric column"):
        data_drift(ref, cur, columns=["c"], test="wasserstein")
