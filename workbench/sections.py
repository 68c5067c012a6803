"""The registry of analysis sections, and the outline of the post-mortem report.

A section is declared by one module (see :mod:`analysis.contract`): the built-in ones are listed in
:data:`BUILTIN_SECTIONS`; other packages add theirs through the ``workbench.sections`` entry-point group,
as papermill finds its engines::

    [project.entry-points."workbench.sections"]
    toy = "toy_section.section:SECTION"

The runner, the renderer, the report's table of contents, the CLI and the tests read the sections from
:func:`available_sections` and nothing else. Report parts (summary, timeline, response...) and sections
share one namespace: a section whose key is a part's key is refused (:class:`SectionClashError`).
Nothing is loaded at import time: the registry is read when a command asks for it.

Examples
--------
>>> [section.key for section in available_sections()][:3]
['impact', 'llm', 'root_cause']
>>> get_section("drift").notebook
'drift.ipynb'
>>> [entry.anchor for entry in report_outline()][:4]
['part-summary', 'part-severity', 'part-timeline', 'section-impact']
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any, Literal

from workbench.errors import WorkbenchError

if TYPE_CHECKING:
    from analysis.contract import Section

__all__ = [
    "BUILTIN_SECTIONS",
    "ENTRY_POINT_GROUP",
    "OutlineEntry",
    "REPORT_PARTS",
    "ReportPart",
    "SectionClashError",
    "available_sections",
    "get_section",
    "reload_sections",
    "report_outline",
    "resolve_sections",
]

ENTRY_POINT_GROUP = "workbench.sections"
"""Entry-point group through which other packages declare sections (each entry point is a Section)."""

BUILTIN_SECTIONS: tuple[str, ...] = (
    "analysis.sections.impact",
    "analysis.sections.root_cause",
    "analysis.sections.llm",
    "analysis.sections.fairness",
    "analysis.sections.drift",
)
"""Modules declaring the built-in sections (each has a module-level ``SECTION``)."""


class SectionClashError(WorkbenchError):
    """Two sections with one key, or a section keyed like a fixed part of the report."""


# --------------------------------------------------------------------------------------------------
# Report outline: fixed parts around the analysis sections
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportPart:
    """A fixed part of the post-mortem (not an analysis); its block is ``parts/<key>.(html|md).j2``."""

    key: str
    title: str


REPORT_PARTS: tuple[ReportPart | Literal["SECTIONS"], ...] = (
    ReportPart("summary", "Summary"),
    ReportPart("severity", "Severity and what the policy requires"),
    ReportPart("timeline", "Timeline"),
    "SECTIONS",
    ReportPart("contributing_factors", "Root cause and contributing factors"),
    ReportPart("response", "Response assessment"),
    ReportPart("notifications", "Notifications"),
    ReportPart("lessons", "Lessons learned"),
    ReportPart("actions", "Action items"),
    ReportPart("signoff", "Sign-off"),
    ReportPart("blameless_review", "Blameless-language review"),
)
"""Order of the report: fixed parts, with the analysis sections where ``"SECTIONS"`` stands."""

PART_KEYS: frozenset[str] = frozenset(part.key for part in REPORT_PARTS if isinstance(part, ReportPart))


@dataclass(frozen=True)
class OutlineEntry:
    """One entry of the report's table of contents."""

    key: str
    title: str
    kind: Literal["part", "section"]
    anchor: str
    html_block: str
    markdown_block: str


# --------------------------------------------------------------------------------------------------
# The registry
# --------------------------------------------------------------------------------------------------


def _check(sections: Iterable[Section]) -> tuple[Section, ...]:
    """Refuse duplicate keys and keys of report parts; order by (order, key)."""
    from analysis.contract import Section

    seen: dict[str, str] = {}
    checked = []
    for section in sections:
        if not isinstance(section, Section):
            raise SectionClashError(
                f"a section must be an analysis.contract.Section. Got {type(section).__name__} instead."
            )
        if section.key in PART_KEYS:
            raise SectionClashError(
                f"section key {section.key!r} must differ from the report's fixed parts "
                f"({', '.join(sorted(PART_KEYS))}). Rename the section."
            )
        if section.key in seen:
            raise SectionClashError(f"section key {section.key!r} must be unique. Got it twice.")
        seen[section.key] = section.title
        checked.append(section)
    return tuple(sorted(checked, key=lambda section: (section.order, section.key)))


@lru_cache(maxsize=1)
def _load() -> tuple[Section, ...]:
    found: list[Any] = [importlib.import_module(name).SECTION for name in BUILTIN_SECTIONS]
    for point in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda point: point.name):
        try:
            found.append(point.load())
        except Exception as exc:
            raise WorkbenchError(
                f"section entry point {point.name!r} ({point.value}) could not be loaded: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
    return _check(found)


def available_sections() -> tuple[Section, ...]:
    """Every declared section, in report order (built-in ones and entry points).

    Raises
    ------
    SectionClashError
        Two sections share a key, or a section is keyed like a fixed report part.
    """
    return _load()


def reload_sections() -> None:
    """Forget the loaded sections (after installing a package that declares one, or in tests)."""
    _load.cache_clear()


def get_section(key: str) -> Section:
    """Return the declared section with this key.

    Raises
    ------
    WorkbenchError
        When no section has that key.

    Examples
    --------
    >>> get_section("impact").title
    'Impact assessment'
    """
    for section in available_sections():
        if section.key == key:
            return section
    known = ", ".join(section.key for section in available_sections())
    raise WorkbenchError(f"section must be one of {known}. Got {key!r} instead.")


def resolve_sections(keys: Sequence[str] | None = None) -> tuple[Section, ...]:
    """The sections with these keys in report order (all when ``None``), refusing unknown keys at once.

    Examples
    --------
    >>> [section.key for section in resolve_sections(["drift", "impact"])]
    ['impact', 'drift']
    >>> resolve_sections(["x"])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    workbench.errors.WorkbenchError: --section must be among impact, llm, root_cause, ... Got x instead.
    """
    sections = available_sections()
    if not keys:
        return sections
    known = {section.key for section in sections}
    unknown = [key for key in dict.fromkeys(keys) if key not in known]
    if unknown:
        raise WorkbenchError(
            f"--section must be among {', '.join(s.key for s in sections)}. Got {', '.join(unknown)} instead."
        )
    return tuple(section for section in sections if section.key in set(keys))


def report_outline(sections: Sequence[Section] | None = None) -> tuple[OutlineEntry, ...]:
    """The report's table of contents: the fixed parts with the analysis sections in place.

    Parameters
    ----------
    sections : sequence of Section or None
        The sections to place; ``None`` means every available section.

    Raises
    ------
    SectionClashError
        A section keyed like a fixed part, or two with one key.

    Examples
    --------
    >>> [entry.key for entry in report_outline()][2:8]
    ['timeline', 'impact', 'llm', 'root_cause', 'fairness', 'drift']
    """
    placed = available_sections() if sections is None else _check(sections)
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
