"""analysis package: the public face of the analyses, imported lazily.

``from analysis import data_drift`` works as before, but importing ``analysis`` (or one of its submodules,
such as :mod:`analysis.trends` or :mod:`analysis._trends_actions`) no longer imports SciPy, Ibis and plotly
through every analysis: each name below is imported from its module on first use (PEP 562), so a
command that needs one analysis pays for that one (``workbench actions`` starts about a second sooner).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from analysis._fairness_figures import fairness_by_group_figure as fairness_by_group_figure
    from analysis._fairness_figures import fairness_gap_over_time_figure as fairness_gap_over_time_figure
    from analysis._fairness_figures import fairness_intersections_figure as fairness_intersections_figure
    from analysis._impact_figures import impact_by_group_figure as impact_by_group_figure
    from analysis._impact_figures import impact_over_time_figure as impact_over_time_figure
    from analysis._root_cause_figures import decomposition_figure as decomposition_figure
    from analysis._root_cause_figures import onset_figure as onset_figure
    from analysis._root_cause_figures import quality_figure as quality_figure
    from analysis._root_cause_figures import slice_result_figure as slice_result_figure
    from analysis._root_cause_figures import slices_figure as slices_figure
    from analysis.data import IncidentWindows as IncidentWindows
    from analysis.data import LogTable as LogTable
    from analysis.data import ValidationReport as ValidationReport
    from analysis.data import Window as Window
    from analysis.data import failure_expression as failure_expression
    from analysis.data import incident_windows as incident_windows
    from analysis.data import label_as_of as label_as_of
    from analysis.data import label_known as label_known
    from analysis.data import open_logs as open_logs
    from analysis.data import validate_logs as validate_logs
    from analysis.data import windows_for_incident as windows_for_incident
    from analysis.drift import ColumnDrift as ColumnDrift
    from analysis.drift import DomainClassifierResult as DomainClassifierResult
    from analysis.drift import DriftResult as DriftResult
    from analysis.drift import WindowedDriftResult as WindowedDriftResult
    from analysis.drift import data_drift as data_drift
    from analysis.drift import distribution_figure as distribution_figure
    from analysis.drift import domain_classifier_drift as domain_classifier_drift
    from analysis.drift import drift_over_time_figure as drift_over_time_figure
    from analysis.drift import drift_table_figure as drift_table_figure
    from analysis.drift import windowed_drift as windowed_drift
    from analysis.fairness import FairnessResult as FairnessResult
    from analysis.fairness import assess_fairness as assess_fairness
    from analysis.impact import ImpactResult as ImpactResult
    from analysis.impact import StillHappening as StillHappening
    from analysis.impact import WindowCounts as WindowCounts
    from analysis.impact import assess_impact as assess_impact
    from analysis.impact import is_still_happening as is_still_happening
    from analysis.root_cause import RootCauseResult as RootCauseResult
    from analysis.root_cause import analyse_root_cause as analyse_root_cause
    from analysis.root_cause import explore_slices as explore_slices

_PUBLIC: dict[str, str] = {
    "ColumnDrift": "analysis.drift",
    "DomainClassifierResult": "analysis.drift",
    "DriftResult": "analysis.drift",
    "WindowedDriftResult": "analysis.drift",
    "data_drift": "analysis.drift",
    "distribution_figure": "analysis.drift",
    "domain_classifier_drift": "analysis.drift",
    "drift_over_time_figure": "analysis.drift",
    "drift_table_figure": "analysis.drift",
    "windowed_drift": "analysis.drift",
    "fairness_by_group_figure": "analysis._fairness_figures",
    "fairness_gap_over_time_figure": "analysis._fairness_figures",
    "fairness_intersections_figure": "analysis._fairness_figures",
    "impact_by_group_figure": "analysis._impact_figures",
    "impact_over_time_figure": "analysis._impact_figures",
    "IncidentWindows": "analysis.data",
    "LogTable": "analysis.data",
    "ValidationReport": "analysis.data",
    "Window": "analysis.data",
    "failure_expression": "analysis.data",
    "incident_windows": "analysis.data",
    "label_as_of": "analysis.data",
    "label_known": "analysis.data",
    "open_logs": "analysis.data",
    "validate_logs": "analysis.data",
    "windows_for_incident": "analysis.data",
    "FairnessResult": "analysis.fairness",
    "assess_fairness": "analysis.fairness",
    "ImpactResult": "analysis.impact",
    "StillHappening": "analysis.impact",
    "WindowCounts": "analysis.impact",
    "assess_impact": "analysis.impact",
    "is_still_happening": "analysis.impact",
    "decomposition_figure": "analysis._root_cause_figures",
    "onset_figure": "analysis._root_cause_figures",
    "quality_figure": "analysis._root_cause_figures",
    "slice_result_figure": "analysis._root_cause_figures",
    "slices_figure": "analysis._root_cause_figures",
    "RootCauseResult": "analysis.root_cause",
    "analyse_root_cause": "analysis.root_cause",
    "explore_slices": "analysis.root_cause",
}
"""Public name -> the module that defines it."""

__all__ = sorted(_PUBLIC)


def __getattr__(name: str) -> Any:
    """Import a public name from its module on first use (and keep it on the package)."""
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_PUBLIC))
