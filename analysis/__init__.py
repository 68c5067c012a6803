"""analysis package."""

from analysis.drift import ColumnDrift as ColumnDrift  # drift public face
from analysis.drift import DomainClassifierResult as DomainClassifierResult
from analysis.drift import DriftResult as DriftResult
from analysis.drift import WindowedDriftResult as WindowedDriftResult
from analysis.drift import data_drift as data_drift
from analysis.drift import distribution_figure as distribution_figure
from analysis.drift import domain_classifier_drift as domain_classifier_drift
from analysis.drift import drift_over_time_figure as drift_over_time_figure
from analysis.drift import drift_table_figure as drift_table_figure
from analysis.drift import windowed_drift as windowed_drift

# isort: split
from analysis._fairness_figures import fairness_by_group_figure as fairness_by_group_figure  # fairness
from analysis._fairness_figures import fairness_gap_over_time_figure as fairness_gap_over_time_figure
from analysis._fairness_figures import fairness_intersections_figure as fairness_intersections_figure
from analysis._impact_figures import impact_by_group_figure as impact_by_group_figure
from analysis._impact_figures import impact_over_time_figure as impact_over_time_figure
from analysis.data import IncidentWindows as IncidentWindows  # data access, impact, intervals
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
from analysis.fairness import FairnessResult as FairnessResult
from analysis.fairness import assess_fairness as assess_fairness
from analysis.impact import ImpactResult as ImpactResult
from analysis.impact import StillHappening as StillHappening
from analysis.impact import WindowCounts as WindowCounts
from analysis.impact import assess_impact as assess_impact
from analysis.impact import is_still_happening as is_still_happening

# isort: split
from analysis._root_cause_figures import decomposition_figure as decomposition_figure  # root cause
from analysis._root_cause_figures import onset_figure as onset_figure
from analysis._root_cause_figures import quality_figure as quality_figure
from analysis._root_cause_figures import slice_result_figure as slice_result_figure
from analysis._root_cause_figures import slices_figure as slices_figure
from analysis.root_cause import RootCauseResult as RootCauseResult
from analysis.root_cause import analyse_root_cause as analyse_root_cause
from analysis.root_cause import explore_slices as explore_slices
