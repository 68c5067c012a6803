"""The section contract: what one analysis declares so the workbench can run, check, render and list it.

An analysis is a **section**: one module that declares a :class:`Section` — its key, title, parameter model,
summary model (defined in that module, beside the code that produces it, so producer and consumer share
one schema), the figures it promises, the report hooks it needs and its notebook and two report templates.
The workbench finds sections through its registry (``workbench.sections``: the built-in ones and the
``workbench.sections`` entry-point group) and reads nothing else about them: the runner executes the
notebook and validates its outputs, the renderer validates the summary once and renders the section's
templates, the table of contents lists it, the timeline takes its events and the CLI prints its headline.

A section notebook
------------------
* has a cell tagged ``parameters`` declaring ``context_path`` (the run's ``context.json``, written once by
  ``workbench investigate``) and, for stand-alone use in JupyterLab, ``incident_id``/``register_url``;
* loads the investigation context in one cell (:class:`analysis.context.InvestigationContext`) and its
  typed parameters with :meth:`Section.parameters_from`;
* writes ``summary.json`` and ``figures/<id>.json`` into its working directory with
  :meth:`Section.write_outputs` (the summary validated against :attr:`Section.summary_model`).

Examples
--------
>>> from pydantic import Field
>>> class ToySummary(SectionSummary):
...     n_rows: int = Field(ge=0)
>>> toy = Section(key="toy", title="Toy", description="Counts rows.", summary_model=ToySummary,
...               figures=(FigureSpec("rows", "Rows"),), notebook="toy.ipynb")
>>> toy.validate_summary({"section": "toy", "incident_id": "INC-2026-0001", "n_rows": 3}).n_rows
3
>>> toy.parameters_from({}).model_dump()
{}
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from analysis.errors import AnalysisError, InvalidParameterError
from register.schema import DataCard

__all__ = [
    "FigureSpec",
    "Interval",
    "Section",
    "SectionParameters",
    "SectionSummary",
    "SummaryValidationError",
    "TimelineItem",
]

SECTION_KEY = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
"""A section key: a lower-case identifier (it names a folder of the run and an anchor of the report)."""


class SectionSummary(BaseModel):
    """Base of every section's ``summary.json``: extra keys allowed, the keys the report reads typed."""

    model_config = ConfigDict(extra="allow", frozen=True)

    section: str = Field(description="the section key that wrote this summary")
    incident_id: str = Field(min_length=1, description="register id of the incident analysed")
    as_of: datetime | None = Field(default=None, description="the time the analysis ran 'as of' (UTC)")


class Interval(BaseModel):
    """An estimate with its interval (``level`` is the confidence level, e.g. 0.95)."""

    model_config = ConfigDict(extra="allow", frozen=True)

    estimate: float
    low: float | None = None
    high: float | None = None
    level: float = Field(default=0.95, gt=0, lt=1)


class SectionParameters(BaseModel):
    """Base of a section's own parameters (beyond the investigation context); unknown ones are refused."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class SummaryValidationError(AnalysisError, ValueError):
    """A summary that does not satisfy its section's schema; ``failures`` lists each problem."""

    def __init__(self, message: str, failures: list[dict[str, object]] | None = None) -> None:
        super().__init__(message)
        self.failures = list(failures or [])


@dataclass(frozen=True)
class FigureSpec:
    """A figure a section promises: ``<run>/<section>/figures/<id>.json`` (plotly JSON)."""

    id: str
    title: str


@dataclass(frozen=True)
class TimelineItem:
    """An event a section contributes to the report's one timeline (e.g. the onset of a drifted column).

    ``at`` is the start of what was seen; ``until`` the end of the chunk it covers (a daily chunk is the
    day, not its midnight); ``subject`` names what it is about (a column, a group).
    """

    at: datetime
    description: str
    kind: str = "Detection"
    subject: str | None = None
    until: datetime | None = None


def _no_events(summary: Any) -> Sequence[TimelineItem]:
    return ()


def _no_headline(summary: Any) -> str | None:
    return None


def _always_applies(card: DataCard) -> str | None:
    return None


@dataclass(frozen=True)
class Section:
    """One analysis section: what it is, what it takes and writes, and how the report uses it.

    Parameters
    ----------
    key : str
        Lower-case identifier; names the run sub-folder, the report anchor and the templates.
    title, description : str
        Shown in the report's table of contents and the CLI.
    summary_model : type of SectionSummary
        The schema of ``summary.json`` (defined beside the analysis that produces it).
    figures : tuple of FigureSpec
        The figures the notebook must write (at least one).
    notebook : str or Path
        A file name in the workbench's notebooks folder (built-in sections), or a path to the notebook
        (sections from other packages, e.g. ``Path(__file__).parent / "toy.ipynb"``).
    parameters_model : type of SectionParameters
        The section's own parameters with their defaults (the context gives windows, ``as_of`` and
        the chunk); the CLI and the run manifest read the defaults from here.
    templates_dir : Path or None
        Folder holding ``<key>.html.j2`` and ``<key>.md.j2``; ``None`` for built-in sections, whose
        templates are ``report_templates/sections/<key>.(html|md).j2``.
    headline : callable
        ``summary -> str | None``: one sentence stating the finding (CLI summary of a run, report).
    timeline_events : callable
        ``summary -> sequence of TimelineItem``: what the section adds to the report's timeline.
    suppresses_small_cells : bool
        Whether the section reports groups; its block then receives the policy's minimum cell size and
        shows smaller groups as suppressed.
    not_applicable : callable
        ``DataCard -> str | None``: why the section does not fit a system (it is then skipped and the
        report says so), or ``None``.
    log_kinds : tuple of str
        The kinds of log the section analyses (``DataCard.kind``: ``prediction_log``,
        ``interaction_log``); a system whose card is another kind skips it (:meth:`skip_reason`).
    order : int
        Place among the sections of the report (then by key).
    """

    key: str
    title: str
    description: str
    summary_model: type[SectionSummary]
    figures: tuple[FigureSpec, ...]
    notebook: str | Path
    parameters_model: type[SectionParameters] = SectionParameters
    templates_dir: Path | None = None
    headline: Callable[[Any], str | None] = field(default=_no_headline, compare=False)
    timeline_events: Callable[[Any], Sequence[TimelineItem]] = field(default=_no_events, compare=False)
    suppresses_small_cells: bool = False
    not_applicable: Callable[[DataCard], str | None] = field(default=_always_applies, compare=False)
    order: int = 100
    log_kinds: tuple[str, ...] = ("prediction_log",)

    def skip_reason(self, card: DataCard) -> str | None:
        """Why the section does not run for a system with this card (its log kind, then its own rule)."""
        kind = getattr(card, "kind", "prediction_log")
        if kind not in self.log_kinds:
            return (
                f"this section analyses {' or '.join(k.replace('_', ' ') + 's' for k in self.log_kinds)}; "
                f"the system's data card describes an {kind.replace('_', ' ')}"
            )
        return self.not_applicable(card)

    def __post_init__(self) -> None:
        if not isinstance(self.key, str) or not SECTION_KEY.match(self.key):
            raise InvalidParameterError(
                f"section key must be a lower-case identifier (a-z, 0-9, _). Got {self.key!r} instead."
            )
        if not self.figures:
            raise InvalidParameterError(f"section {self.key!r} must promise at least one figure. Got none.")
        ids = [figure.id for figure in self.figures]
        if len(set(ids)) != len(ids):
            raise InvalidParameterError(f"section {self.key!r} figure ids must be unique. Got {ids}.")
        if not (isinstance(self.summary_model, type) and issubclass(self.summary_model, SectionSummary)):
            raise InvalidParameterError(
                f"section {self.key!r} summary_model must subclass SectionSummary. "
                f"Got {self.summary_model!r} instead."
            )
        if not issubclass(self.parameters_model, SectionParameters):
            raise InvalidParameterError(
                f"section {self.key!r} parameters_model must subclass SectionParameters. "
                f"Got {self.parameters_model!r} instead."
            )

    # -- names the workbench derives from the key ------------------------------------------------

    @property
    def anchor(self) -> str:
        """HTML id of the section in the report (the TOC links to it)."""
        return f"section-{self.key}"

    @property
    def figure_ids(self) -> tuple[str, ...]:
        """Ids of the figures the section promises."""
        return tuple(figure.id for figure in self.figures)

    @property
    def html_block(self) -> str:
        """Template name of the section's HTML block for the report's Jinja loader.

        Built-in sections: ``sections/<key>.html.j2`` under ``report_templates/``; a section with its
        own ``templates_dir``: ``section-<key>/<key>.html.j2`` (the renderer maps the prefix to it).
        """
        return f"{self.template_prefix}/{self.key}.html.j2"

    @property
    def markdown_block(self) -> str:
        """Template name of the section's Markdown block (see :attr:`html_block`)."""
        return f"{self.template_prefix}/{self.key}.md.j2"

    @property
    def template_prefix(self) -> str:
        """Folder prefix of the section's templates in the report's Jinja loader."""
        return "sections" if self.templates_dir is None else f"section-{self.key}"

    @property
    def notebook_name(self) -> str:
        """File name of the notebook (also the name of the executed copy in the run folder)."""
        return Path(self.notebook).name

    def notebook_path(self, default_dir: str | Path) -> Path:
        """The notebook file: ``default_dir / notebook`` for a bare file name, else the path given."""
        path = Path(self.notebook)
        return path if path.is_absolute() or len(path.parts) > 1 else Path(default_dir) / path

    # -- parameters --------------------------------------------------------------------------------

    def parameter_defaults(self) -> dict[str, Any]:
        """The section's parameters with their default values (JSON-compatible)."""
        return self.parameters_model().model_dump(mode="json")

    def parameters_from(self, values: Mapping[str, Any] | None) -> SectionParameters:
        """Validate the section's parameters, raising :class:`InvalidParameterError` with every problem.

        Examples
        --------
        >>> Section(key="toy", title="T", description="d", summary_model=SectionSummary,
        ...         figures=(FigureSpec("f", "F"),), notebook="toy.ipynb").parameters_from({"x": 1})
        Traceback (most recent call last):
        ...
        analysis.errors.InvalidParameterError: toy parameters are invalid: x: Extra inputs are not permitted
        """
        try:
            return self.parameters_model.model_validate(dict(values or {}))
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(part) for part in error['loc']) or '(root)'}: {error['msg']}"
                for error in exc.errors()
            )
            raise InvalidParameterError(f"{self.key} parameters are invalid: {problems}") from None

    # -- summary and figures -------------------------------------------------------------------------

    def validate_summary(self, data: Mapping[str, Any] | SectionSummary, *, source: str = "summary") -> Any:
        """Validate a summary against the section's schema (a typed summary is returned as it is).

        Raises
        ------
        SummaryValidationError
            Listing every problem (location, problem, value).
        """
        if isinstance(data, self.summary_model):
            return data
        payload = data.model_dump() if isinstance(data, BaseModel) else data
        try:
            return self.summary_model.model_validate(dict(payload))
        except (ValidationError, TypeError, ValueError) as exc:
            errors = exc.errors() if isinstance(exc, ValidationError) else []
            failures: list[dict[str, object]] = [
                {
                    "section": self.key,
                    "location": ".".join(str(part) for part in error["loc"]) or "(root)",
                    "problem": error["msg"],
                    "value": repr(error.get("input"))[:80],
                }
                for error in errors
            ] or [{"section": self.key, "location": "(root)", "problem": str(exc), "value": ""}]
            listed = "; ".join(f"{row['location']}: {row['problem']}" for row in failures[:5])
            raise SummaryValidationError(
                f"{self.key} summary {source} does not match its schema: {listed}"
                + (f" (and {len(failures) - 5} more)" if len(failures) > 5 else ""),
                failures,
            ) from None

    def write_outputs(
        self,
        summary: Mapping[str, Any] | SectionSummary,
        figures: Mapping[str, Any],
        folder: str | Path = ".",
    ) -> Path:
        """Write ``summary.json`` (validated) and every promised figure into ``folder``.

        Parameters
        ----------
        summary : mapping or SectionSummary
            The section's summary.
        figures : mapping
            Figure id to plotly figure; it must hold every promised id (others are written too).
        folder : str or Path
            The notebook's working directory (the run's ``<section>/`` folder).

        Returns
        -------
        Path
            The ``summary.json`` written.
        """
        import plotly.io as pio

        typed = self.validate_summary(summary)
        missing = [figure_id for figure_id in self.figure_ids if figures.get(figure_id) is None]
        if missing:
            raise SummaryValidationError(
                f"section {self.key} must write the figures it promises. Got none for {', '.join(missing)}."
            )
        target = Path(folder)
        (target / "figures").mkdir(parents=True, exist_ok=True)
        for figure_id, figure in figures.items():
            if figure is not None:
                pio.write_json(figure, target / "figures" / f"{figure_id}.json", engine="json")
        path = target / "summary.json"
        path.write_text(
            json.dumps(typed.model_dump(mode="json"), indent=2, sort_keys=True) + "\n", encoding="utf-8"
        )
        return path
