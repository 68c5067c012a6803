"""analysis package."""
from analysis.drift import ColumnDrift as ColumnDrift  # drift public face
from analysis.drift import DomainClassifierResult as DomainClassifierResult
from analysis.drift import DriftResult as DriftResult
from analysis.drift import WindowedDriftResult as WindowedDriftResult
from analysis.drift import data_drift as data_drift
from analysis.drift import domain_classifier_drift as domain_classifier_drift
from analysis.drift import windowed_drift as windowed_drift
