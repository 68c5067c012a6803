"""THE declared list of analysis sections, and the outline of the post-mortem report.

An analysis is a **section**: a parametrised notebook (``notebooks/<key>.ipynb``) that writes a
``summary.json`` satisfying the section's schema and one plotly JSON file per promised figure
(``figures/<figure id>.json``) into its working directory, plus a report block (an HTML and a Markdown
Jinja template under ``report_templates/``). The runner, the renderer, the report's table of contents,
the demo and the notebook tests all read :data:`SECTIONS`; a new analysis is added here, in one place.

Contract of a section notebook (checked by the runner)
------------------------------------------------------
* a cell tagged ``parameters`` declaring at least the section's :attr:`Section.parameters`;
* run with its working directory set to ``<run folder>/<key>/``;
* writes ``summary.json`` there (validated against :attr:`Section.summary_model`);
* writes ``figures/<figure id>.json`` (``plotly.io.to_json``) for every id in :attr:`Section.figures`.

Summary keys the report reads
-----------------------------
The schemas are permissive on extra keys (an analysis may record more than the report shows) and strict
on the keys the report blocks read; those are the fields declared on :class:`ImpactSummary` and
:class:`DriftSummary` (and their nested models) below, each with its meaning. Times are ISO 8601 UTC.

Examples
--------
>>> [section.key for section in SECTIONS]
['impact', 'drift']
>>> get_section("drift").notebook
'drift.ipynb'
>>> [entry.anchor for entry in report_outline()][:4]
['part-summary', 'part-severity', 'part-timeline', 'section-impact']
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import PurePosixPath
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from workbench.errors import WorkbenchError

__all__ = [
    "DriftColumn",
    "DriftSummary",
    "FigureSpec",
    "GroupImpact",
    "ImpactSummary",
    "Interval",
    "OutlineEntry",
    "ParameterSpec",
    "REPORT_PARTS",
    "ReportPart",
    "SECTIONS",
    "Section",
    "StaleInput",
    "SummaryValidationError",
    "StillHappening",
    "Window",
    "get_section",
    "report_outline",
]

# --------------------------------------------------------------------------------------------------
# Summary schemas (what summary.json must hold)
# --------------------------------------------------------------------------------------------------


class _Summary(BaseModel):
    """Base of every section summary: extra keys allowed, the read keys typed."""

    model_config = ConfigDict(extra="allow", frozen=True)

    section: str = Field(description="the section key that wrote this summary")
    incident_id: str = Field(min_length=1, description="register id of the incident analysed")
    as_of: datetime | None = Field(default=None, description="the time the analysis ran 'as of' (UTC)")


class _Part(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)


class Window(_Part):
    """A half-open time window ``[start, end)`` in UTC."""

    start: datetime
    end: datetime


class Interval(_Part):
    """An estimate with its interval (``level`` is the confidence level, e.g. 0.95)."""

    estimate: float
    low: float | None = None
    high: float | None = None
    level: float = Field(default=0.95, gt=0, lt=1)


class GroupImpact(_Part):
    """Impact within one group of one sensitive attribute.

    When ``suppressed`` is true the group is smaller than the policy's minimum cell size: its counts are
    ``None`` and the report marks the row as suppressed (never drops it).
    """

    attribute: str
    group: str
    n_decisions: int | None = Field(default=None, ge=0)
    n_affected: int | None = Field(default=None, ge=0)
    rate: float | None = Field(default=None, ge=0, le=1)
    suppressed: bool = False


class StillHappening(_Part):
    """Is the failure still happening: the recent window against the baseline."""

    verdict: Literal["ongoing", "subsided", "inconclusive"]
    recent_rate: Interval | None = None
    baseline_rate: float | None = Field(default=None, ge=0, le=1)
    explanation: str | None = Field(default=None, description="one sentence stating the finding")


class ImpactSummary(_Summary):
    """``summary.json`` of the impact section.

    Keys the report reads: ``definition``, ``windows`` (``reference``/``incident``/``recent``),
    ``n_decisions``, ``n_affected_decisions``, ``n_affected_entities``, ``incident_rate``,
    ``baseline_rate``, ``excess_failures``, ``by_group``, ``min_cell_size``, ``still_happening``,
    ``label_completeness``.
    """

    section: Literal["impact"] = "impact"
    definition: str = Field(min_length=1, description="the failure signal used, in words")
    windows: dict[str, Window] = Field(description="reference, incident and recent windows used")
    n_decisions: int = Field(ge=0, description="decisions in the incident window")
    n_affected_decisions: int = Field(ge=0, description="decisions where the failure signal holds")
    n_affected_entities: int | None = Field(default=None, ge=0, description="distinct entities affected")
    incident_rate: float | None = Field(default=None, ge=0, le=1)
    baseline_rate: float | None = Field(default=None, ge=0, le=1)
    excess_failures: Interval | None = Field(default=None, description="failures above the baseline rate")
    by_group: list[GroupImpact] = Field(default_factory=list)
    min_cell_size: int = Field(default=10, ge=1, description="groups smaller than this are suppressed")
    still_happening: StillHappening
    label_completeness: float | None = Field(
        default=None,
        ge=0,
        le=1,
        description="share of incident-window decisions with a label observed by as_of",
    )


class DriftColumn(_Part):
    """Drift of one column between the reference and the current window."""

    column: str
    role: Literal["feature", "score", "prediction", "label"] = "feature"
    test: str = Field(description="test that decided, e.g. 'ks', 'wasserstein', 'jensenshannon', 'psi'")
    statistic: float | None = None
    threshold: float | None = None
    p_value: float | None = Field(default=None, ge=0, le=1)
    p_value_bh: float | None = Field(default=None, ge=0, le=1, description="Benjamini-Hochberg adjusted")
    drifted: bool
    psi: float | None = None
    onset: datetime | None = Field(
        default=None, description="first chunk past the threshold that the next chunk confirms"
    )
    confirmed: bool | None = Field(
        default=None,
        description="drifted, and the per-chunk statistic left its normal day-to-day range (so named)",
    )


class StaleInput(_Part):
    """Freshness of one input fed by an upstream job (its as-of time against the decision time)."""

    feature: str
    as_of_column: str
    stale: bool
    onset: datetime | None = Field(default=None, description="first chunk whose lag passed the threshold")
    threshold_hours: float | None = None
    reference_max_lag_hours: float | None = None
    current_max_lag_hours: float | None = None
    reference_repeated_share: float | None = Field(default=None, ge=0, le=1)
    current_repeated_share: float | None = Field(default=None, ge=0, le=1)


class DriftSummary(_Summary):
    """``summary.json`` of the drift section.

    Keys the report reads: ``reference_window``, ``current_window``, ``method``, ``n_columns``,
    ``n_drifted``, ``share_drifted``, ``dataset_drift``, ``columns`` (:class:`DriftColumn`),
    ``drifted_features``, ``drift_within_normal_variation``, ``stale_features``, ``stale_inputs``
    (:class:`StaleInput`), ``notes``, ``onset``, ``multivariate_auc``.
    """

    section: Literal["drift"] = "drift"
    reference_window: Window
    current_window: Window
    method: str = Field(description="how tests were chosen, e.g. 'evidently-compatible defaults'")
    n_columns: int = Field(ge=0)
    n_drifted: int = Field(ge=0)
    share_drifted: float = Field(ge=0, le=1)
    dataset_drift: bool
    columns: list[DriftColumn] = Field(default_factory=list)
    drifted_features: list[str] = Field(default_factory=list, description="drifted feature columns, by onset")
    drift_within_normal_variation: list[str] = Field(
        default_factory=list,
        description="features whose test says drift but whose daily statistic stayed in its normal range",
    )
    stale_features: list[str] = Field(default_factory=list, description="inputs that stopped updating")
    stale_inputs: list[StaleInput] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list, description="what the analysis could not do, and why")
    onset: datetime | None = Field(default=None, description="earliest drift onset among drifted columns")
    multivariate_auc: Interval | None = Field(default=None, description="domain classifier ROC AUC")


class SummaryValidationError(WorkbenchError, ValueError):
    """A ``summary.json`` that does not satisfy its section's schema; ``failures`` lists each problem."""

    def __init__(self, message: str, failures: list[dict[str, object]] | None = None) -> None:
        super().__init__(message)
        self.failures = list(failures or [])


# --------------------------------------------------------------------------------------------------
# Sections
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FigureSpec:
    """A figure a section promises: ``<run>/<section>/figures/<id>.json`` (plotly JSON)."""

    id: str
    title: str


@dataclass(frozen=True)
class ParameterSpec:
    """A parameter a section notebook takes (it must be declared in its ``parameters`` cell)."""

    name: str
    type: str
    help: str
    required: bool = False


@dataclass(frozen=True)
class Section:
    """One analysis section: its notebook, summary schema, report blocks, figures and parameters."""

    key: str
    title: str
    description: str
    summary_model: type[_Summary]
    figures: tuple[FigureSpec, ...]
    parameters: tuple[ParameterSpec, ...]
    notebook_dir: str = "notebooks"

    def __post_init__(self) -> None:
        if not self.figures:
            raise ValueError(f"section {self.key!r} must promise at least one figure. Got none instead.")
        names = [parameter.name for parameter in self.parameters]
        if len(set(names)) != len(names):
            raise ValueError(f"section {self.key!r} parameters must have unique names. Got {names} instead.")

    @property
    def notebook(self) -> str:
        """File name of the section's notebook (``<key>.ipynb``)."""
        return f"{self.key}.ipynb"

    @property
    def notebook_path(self) -> PurePosixPath:
        """Path of the notebook relative to the repository root."""
        return PurePosixPath(self.notebook_dir) / self.notebook

    @property
    def html_block(self) -> str:
        """Template (relative to ``report_templates/``) rendering this section in the HTML report."""
        return f"sections/{self.key}.html.j2"

    @property
    def markdown_block(self) -> str:
        """Template (relative to ``report_templates/``) rendering this section in the Markdown report."""
        return f"sections/{self.key}.md.j2"

    @property
    def anchor(self) -> str:
        """HTML id of the section in the report (the TOC links to it)."""
        return f"section-{self.key}"

    @property
    def figure_ids(self) -> tuple[str, ...]:
        """Ids of the figures the section promises."""
        return tuple(figure.id for figure in self.figures)

    @property
    def parameter_names(self) -> tuple[str, ...]:
        """Names of the parameters the section takes."""
        return tuple(parameter.name for parameter in self.parameters)

    def summary_json_schema(self) -> dict[str, Any]:
        """JSON schema of the section's ``summary.json``."""
        return self.summary_model.model_json_schema()

    def validate_summary(self, data: Mapping[str, Any], *, source: str = "summary.json") -> _Summary:
        """Validate a summary against the section's schema.

        Parameters
        ----------
        data : mapping
            The parsed ``summary.json``.
        source : str
            Where the data came from, named in the error message.

        Returns
        -------
        pydantic.BaseModel
            The validated summary (extra keys kept).

        Raises
        ------
        SummaryValidationError
            Listing every problem (location, problem, value).

        Examples
        --------
        >>> get_section("impact").validate_summary({"incident_id": "INC-1"})
        Traceback (most recent call last):
        ...
        workbench.sections.SummaryValidationError: impact summary summary.json does not match its schema: ...
        """
        try:
            return self.summary_model.model_validate(dict(data))
        except ValidationError as exc:
            failures: list[dict[str, object]] = [
                {
                    "section": self.key,
                    "location": ".".join(str(part) for part in error["loc"]) or "(root)",
                    "problem": error["msg"],
                    "value": repr(error.get("input"))[:80],
                }
                for error in exc.errors()
            ]
            listed = "; ".join(f"{row['location']}: {row['problem']}" for row in failures[:5])
            raise SummaryValidationError(
                f"{self.key} summary {source} does not match its schema: {listed}"
                + (f" (and {len(failures) - 5} more)" if len(failures) > 5 else ""),
                failures,
            ) from exc


_WINDOW_PARAMETERS = (
    ParameterSpec("incident_id", "str", "register key of the incident", required=True),
    ParameterSpec("register_url", "str", "SQLAlchemy URL of the register", required=True),
    ParameterSpec("as_of", "str | None", "ISO time the analysis runs as of (labels observed by then)"),
    ParameterSpec("reference_start", "str | None", "reference window start (default from the incident)"),
    ParameterSpec("reference_end", "str | None", "reference window end"),
    ParameterSpec("incident_start", "str | None", "incident window start"),
    ParameterSpec("incident_end", "str | None", "incident window end"),
    ParameterSpec("recent_start", "str | None", "recent window start"),
    ParameterSpec("recent_end", "str | None", "recent window end"),
    ParameterSpec("chunk", "str", "time chunk for series: 'hour', 'day' or 'week'"),
)

SECTIONS: tuple[Section, ...] = (
    Section(
        key="impact",
        title="Impact assessment",
        description=(
            "How many decisions and people were affected, by group and over time; is it still happening."
        ),
        summary_model=ImpactSummary,
        figures=(
            FigureSpec("impact_over_time", "Failed decisions over time against the baseline"),
            FigureSpec("impact_by_group", "Failure rate by group"),
        ),
        parameters=(*_WINDOW_PARAMETERS, ParameterSpec("min_cell_size", "int", "suppress smaller groups")),
    ),
    Section(
        key="drift",
        title="Drift findings",
        description="Which features, scores, predictions or labels moved, since when and how much.",
        summary_model=DriftSummary,
        figures=(
            FigureSpec("drift_table", "Drift per column"),
            FigureSpec("drift_over_time", "Drift statistic per chunk with thresholds"),
        ),
        parameters=(
            *_WINDOW_PARAMETERS,
            ParameterSpec("sample_size", "int", "rows sampled for the domain classifier"),
            ParameterSpec("random_state", "int", "seed of every random choice"),
        ),
    ),
)
"""The analysis sections, in report order."""


def get_section(key: str) -> Section:
    """Return the declared section with this key.

    Parameters
    ----------
    key : str
        A section key, e.g. ``"impact"``.

    Returns
    -------
    Section

    Raises
    ------
    WorkbenchError
        When no section has that key.

    Examples
    --------
    >>> get_section("impact").title
    'Impact assessment'
    """
    for section in SECTIONS:
        if section.key == key:
            return section
    known = ", ".join(section.key for section in SECTIONS)
    raise WorkbenchError(f"section must be one of {known}. Got {key!r} instead.")


# --------------------------------------------------------------------------------------------------
# Report outline: fixed parts around the analysis sections
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportPart:
    """A fixed part of the post-mortem (not an analysis); its block is ``parts/<key>.(html|md).j2``."""

    key: str
    title: str


@dataclass(frozen=True)
class OutlineEntry:
    """One entry of the report's table of contents."""

    key: str
    title: str
    kind: Literal["part", "section"]
    anchor: str
    html_block: str
    markdown_block: str


REPORT_PARTS: tuple[ReportPart | Literal["SECTIONS"], ...] = (
    ReportPart("summary", "Summary"),
    ReportPart("severity", "Severity and what the policy requires"),
    ReportPart("timeline", "Timeline"),
    "SECTIONS",
    ReportPart("root_cause", "Root cause and contributing factors"),
    ReportPart("response", "Response assessment"),
    ReportPart("notifications", "Notifications"),
    ReportPart("lessons", "Lessons learned"),
    ReportPart("actions", "Action items"),
    ReportPart("signoff", "Sign-off"),
    ReportPart("blameless_review", "Blameless-language review"),
)
"""Order of the report: fixed parts, with the analysis sections where ``"SECTIONS"`` stands."""


def report_outline(sections: tuple[Section, ...] | None = None) -> tuple[OutlineEntry, ...]:
    """The report's table of contents: the fixed parts with the analysis sections in place.

    Parameters
    ----------
    sections : tuple of Section or None
        The sections to place; ``None`` means :data:`SECTIONS`.

    Returns
    -------
    tuple of OutlineEntry

    Examples
    --------
    >>> [entry.key for entry in report_outline()][2:6]
    ['timeline', 'impact', 'drift', 'root_cause']
    """
    placed = SECTIONS if sections is None else sections
    entries: list[OutlineEntry] = []
    for part in REPORT_PARTS:
        if part == "SECTIONS":
            entries.extend(
                OutlineEntry(
                    key=section.key,
                    title=section.title,
                    kind="section",
                    anchor=section.anchor,
                    html_block=section.html_block,
                    markdown_block=section.markdown_block,
                )
                for section in placed
            )
        elif isinstance(part, ReportPart):
            entries.append(
                OutlineEntry(
                    key=part.key,
                    title=part.title,
                    kind="part",
                    anchor=f"part-{part.key}",
                    html_block=f"parts/{part.key}.html.j2",
                    markdown_block=f"parts/{part.key}.md.j2",
                )
            )
    return tuple(entries)
