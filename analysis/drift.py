"""Drift between a reference and a current window: per column, over time, and multivariate.

Public functions
----------------

- :func:`data_drift` -- per-column drift with Evidently-compatible default test selection, plus
  Benjamini-Hochberg, PSI on frozen reference bins, new/vanished categories, null-rate change and a
  dataset-level verdict. Exact statistics run in the engine or on a columnar path (same numbers).
- :func:`windowed_drift` -- the statistic per time chunk against frozen reference quantile bins, with
  a fixed and an adaptive threshold (the robust normal range of :mod:`analysis.onset`; mean +/- 3 sd over
  the reference chunks beside it as information) and the drift onset per column.
- :func:`domain_classifier_drift` -- multivariate drift: a classifier told to separate reference from
  current on a seeded, recorded sample; ROC AUC with a DeLong interval and permutation importances.

The implementation lives in private modules, one per seam: result types (``_drift_results``), the
statistical-test registry (``_stattests``), inputs and windows (``_drift_inputs``), the per-column drift
(``_data_drift``), the windowed drift (``_drift_windowed``), the domain classifier (``_drift_domain``),
figures (``_drift_figures``), engine paths (``_drift_engine``) and statistics (``_drift_stats``). Onsets
are decided by :mod:`analysis.onset`.

Evidently compatibility (checked against Evidently 0.7.21-0.7.23 source, ``src/evidently/legacy``)
-----------------------------------------------------------------------------------------------------
Default test selection mirrors ``calculations/stattests/registry.py::_get_default_stattest`` as called by
``calculations/data_drift.py::get_one_column_drift``:

1. the column is cleaned first: +/-inf become NaN and NaN/NULL rows are dropped, separately in reference
   and current (``get_one_column_drift``); "reference rows" are the remaining reference rows;
2. ``n_values`` = distinct values of reference and current together (``pd.concat(...).nunique()``);
3. reference rows <= 1000: numeric with ``n_values > 5`` -> ``ks`` (``ks_stattest.py``, drift when
   p <= 0.05); numeric with 3-5 values or categorical with > 2 -> ``chisquare`` (``chisquare_stattest.py``,
   goodness of fit, expected = reference count x n_cur / n_ref, drift when p < 0.05); 1-2 values -> ``z``
   (``z_stattest.py``, two proportions, drift when p < 0.05);
4. reference rows > 1000: numeric with ``n_values > 5`` -> ``wasserstein`` (``wasserstein_distance_norm.py``:
   ``wasserstein_distance / max(np.std(reference), 0.001)``, drift when >= 0.1); otherwise
   ``jensenshannon`` (``jensenshannon.py`` with ``utils.get_binned_data(..., feel_zeroes=False)``: shares per
   value, or per Sturges bin of reference and current together for numeric with > 20 reference values;
   natural log; drift when >= 0.1);
5. dataset drift when the share of drifted columns >= 0.5 (``data_drift.py::get_dataset_drift``).

``psi`` selected by name is Evidently's ``psi.py`` (bins of reference and current together, Evidently's
zero filling). The ``psi`` field reported for every column is different: it uses bins frozen from the
reference alone (deciles; categories plus an "unseen" bin), so it is comparable across windows.
"""

from __future__ import annotations

from analysis._data_drift import DEFAULT_MEMORY_BUDGET, Method, data_drift
from analysis._drift_domain import _delong_interval as _delong_interval  # for the tests of the interval
from analysis._drift_domain import domain_classifier_drift
from analysis._drift_figures import distribution_figure, drift_over_time_figure, drift_table_figure
from analysis._drift_results import ColumnDrift, DomainClassifierResult, DriftResult, WindowedDriftResult
from analysis._drift_windowed import windowed_drift
from analysis._stattests import DEFAULT_THRESHOLDS, STATTESTS, StatTest, evidently_default_test
from analysis.onset import confirmed_onset

__all__ = [
    "DEFAULT_MEMORY_BUDGET",
    "DEFAULT_THRESHOLDS",
    "STATTESTS",
    "ColumnDrift",
    "DomainClassifierResult",
    "DriftResult",
    "Method",
    "StatTest",
    "WindowedDriftResult",
    "confirmed_onset",
    "data_drift",
    "distribution_figure",
    "domain_classifier_drift",
    "drift_over_time_figure",
    "drift_table_figure",
    "evidently_default_test",
    "windowed_drift",
]
