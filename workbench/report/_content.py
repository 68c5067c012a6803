"""Assemble raw report blocks into one validated, redacted :class:`ReportContent`.

Each block is validated **once** into its typed model (a section block against its section's
``summary_model``, a fixed part against :data:`~workbench.report.PART_MODELS`); the validators of the
free-text fields redact each value once with the policy's rules and check narrative text once for blame
phrasing. The writers (HTML, Markdown, PDF) and ``postmortem.json`` render that one object; none of them
validates, redacts or checks again.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ValidationError

from analysis.contract import Section
from register.blameless import BlamelessFlag, BlamelessRules
from register.policy import Policy, load_policy
from register.redact import DEFAULT_REDACTION_RULES
from workbench.errors import WorkbenchError
from workbench.report._blocks import PART_MODELS, BlamelessFlagsError, FlagRow, ReportBlock
from workbench.sections import OutlineEntry, available_sections, report_outline

__all__ = ["PlacedBlock", "RenderedReport", "ReportContent", "ReportFigure", "assemble_report"]

_FIGURE_ID = re.compile(r"[^A-Za-z0-9_-]+")


@dataclass(frozen=True)
class ReportFigure:
    """A figure placed in the report: its anchor (``fig-<n>-<id>``), id, caption and plotly JSON."""

    anchor: str
    id: str
    title: str | None
    figure: dict[str, Any]


@dataclass(frozen=True)
class PlacedBlock:
    """A validated block: its outline entry, typed model, the model's data for the templates, figures."""

    entry: OutlineEntry
    model: BaseModel | None
    data: dict[str, Any] | None
    figures: tuple[ReportFigure, ...]
    unavailable: str | None


@dataclass(frozen=True)
class ReportContent:
    """The post-mortem after validation, redaction and the blameless check: what every format renders.

    ``min_cell_size`` is the policy's minimum group size: every section block is rendered with it.
    """

    outline: tuple[OutlineEntry, ...]
    blocks: dict[str, PlacedBlock]
    flags: tuple[BlamelessFlag, ...]
    redaction_counts: dict[str, int]
    title: str
    min_cell_size: int
    redaction_note: str = ""
    """What redaction replaced and what it does not catch (person names the register does not know)."""
    section_templates: tuple[tuple[str, str], ...] = ()
    """``(prefix, folder)`` of each section that brings its own templates (see ``Section.templates_dir``)."""

    @property
    def figure_count(self) -> int:
        """Figures in the report."""
        return sum(len(block.figures) for block in self.blocks.values())

    @property
    def figure_ids(self) -> tuple[str, ...]:
        """Anchors of the figures, in report order."""
        return tuple(figure.anchor for block in self.blocks.values() for figure in block.figures)

    @property
    def placed(self) -> list[PlacedBlock]:
        """The blocks present, in outline order."""
        return [self.blocks[entry.key] for entry in self.outline if entry.key in self.blocks]

    def refuse_flags(self) -> None:
        """Raise :class:`~workbench.report.BlamelessFlagsError` if the narrative is flagged (``--strict``)."""
        if self.flags:
            raise BlamelessFlagsError(
                f"the report's narrative holds {len(self.flags)} blame phrasing flag(s); reword them "
                f"(suggestions listed) or render without --strict to see them in the review box.",
                self.flags,
            )

    def to_json(self) -> dict[str, Any]:
        """The content as JSON data (``postmortem.json``): every block's redacted data and figure ids.

        The figures' plotly JSON is not repeated: each is the section's ``figures/<id>.json`` of the run.
        """
        blocks = {
            block.entry.key: {
                "title": block.entry.title,
                "kind": block.entry.kind,
                "data": block.model.model_dump(mode="json") if block.model is not None else None,
                "figures": [{"id": figure.id, "title": figure.title} for figure in block.figures],
                "unavailable": block.unavailable,
            }
            for block in self.placed
        }
        return {
            "title": self.title,
            "min_cell_size": self.min_cell_size,
            "outline": [entry.key for entry in self.outline],
            "blocks": blocks,
            "unavailable": {
                key: block["unavailable"] for key, block in blocks.items() if block["unavailable"]
            },
            "blameless_flags": [flag.model_dump(mode="json") for flag in self.flags],
            "redaction_counts": dict(self.redaction_counts),
        }

    def write_json(self, path: str | Path) -> Path:
        """Write :meth:`to_json` to ``path`` (UTF-8, indented) and return the path."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(
            json.dumps(self.to_json(), indent=2, default=_json_default) + "\n", encoding="utf-8"
        )
        return target


@dataclass(frozen=True)
class RenderedReport:
    """A rendered report file and what it holds."""

    path: Path
    format: Literal["html", "markdown", "pdf"]
    figure_ids: tuple[str, ...] = ()
    block_keys: tuple[str, ...] = ()
    flags: tuple[BlamelessFlag, ...] = field(default_factory=tuple)


def redaction_note(redact_names: bool, n_known: int) -> str:
    """The report's sentence on what redaction replaced and what it does not catch.

    Examples
    --------
    >>> redaction_note(True, 3)[:60]
    'Redacted: e-mail addresses, phone, card and IBAN numbers, US'
    """
    caught = (
        "Redacted: e-mail addresses, phone, card and IBAN numbers, US SSNs, UK NI numbers, IP addresses, "
        "keys and tokens"
    )
    if redact_names:
        return (
            f"{caught}, and the names of the {n_known} people the register knows for this incident "
            "(responders, action-item owners). Other people's names in free text are not detected (no "
            "name-recognition model) and appear as written."
        )
    return (
        f"{caught}. Person names are not redacted (the policy's reports.redact_known_names is off); no "
        "name-recognition model is used, so names in free text appear as written."
    )


def assemble_report(
    blocks: Iterable[ReportBlock] | Mapping[str, ReportBlock],
    *,
    policy: Policy | None = None,
    sections: Sequence[Section] | None = None,
    blameless_rules: BlamelessRules | None = None,
    require_complete: bool = True,
    known_names: Sequence[str] = (),
) -> ReportContent:
    """Validate raw blocks once each, redact their free text and check it for blame phrasing.

    Parameters
    ----------
    blocks : iterable or mapping of ReportBlock
        The raw blocks, in outline order.
    policy : Policy or None
        Gives the redaction rules (``policy.reports.redaction``, else
        :data:`~register.redact.DEFAULT_REDACTION_RULES`) and the minimum cell size of every section
        block (``policy.reports.min_cell_size``). Default: the shipped policy.
    sections : sequence of Section or None
        The analysis sections of the outline (default: every available section).
    blameless_rules : BlamelessRules or None
        The blameless phrase list (default: the packaged one).
    require_complete : bool
        Whether every outline entry must have a block.
    known_names : sequence of str
        People the register knows (the incident's responders, action-item owners): replaced by
        ``[redacted name]`` in free text when ``policy.reports.redact_known_names`` is set.

    Returns
    -------
    ReportContent

    Raises
    ------
    WorkbenchError
        Unknown, duplicated, misplaced or missing blocks; block data that does not match its model
        (``failures`` lists every problem); section blocks without their promised figures.

    Examples
    --------
    >>> from workbench.report import report_block
    >>> content = assemble_report(
    ...     [report_block("lessons", {"items": ["Write to jane@example.com"]})], require_complete=False
    ... )
    >>> content.blocks["lessons"].data["items"]
    ['Write to [redacted email]']
    """
    policy = policy if policy is not None else load_policy()
    placed_sections = tuple(sections) if sections is not None else available_sections()
    outline = report_outline(placed_sections)
    by_key = {entry.key: entry for entry in outline}
    section_by_key = {section.key: section for section in placed_sections}
    context: dict[str, Any] = {
        "redaction_rules": tuple(policy.reports.redaction or DEFAULT_REDACTION_RULES),
        "redaction_counts": {},
        "known_names": tuple(known_names) if policy.reports.redact_known_names else (),
        "flags": [],
        "blameless_rules": blameless_rules,
    }
    placed: dict[str, PlacedBlock] = {}
    order: list[str] = []
    problems: list[dict[str, object]] = []
    figure_counter = 0
    for block in blocks.values() if isinstance(blocks, Mapping) else blocks:
        if block.key not in by_key:
            raise WorkbenchError(
                f"report block key must be one of {', '.join(by_key)}. Got {block.key!r} instead."
            )
        if block.key in placed:
            raise WorkbenchError(f"report block {block.key!r} must appear once. Got it twice instead.")
        figures = []
        for figure in block.figures:
            figure_counter += 1
            figures.append(_make_figure(figure, figure_counter))
        placed[block.key] = _validate_block(
            by_key[block.key], block, tuple(figures), section_by_key, context, problems
        )
        order.append(block.key)

    if problems:
        listed = "; ".join(f"{row['block']}.{row['location']}: {row['problem']}" for row in problems[:6])
        error = WorkbenchError(f"report blocks do not match their schema: {listed}")
        error.failures = problems  # type: ignore[attr-defined]
        raise error
    expected_order = [entry.key for entry in outline if entry.key in placed]
    if order != expected_order:
        raise WorkbenchError(
            f"report blocks must follow the report outline ({', '.join(expected_order)}). "
            f"Got {', '.join(order)} instead."
        )
    missing = [entry.key for entry in outline if entry.key not in placed]
    if require_complete and missing:
        raise WorkbenchError(
            f"the post-mortem must have a report block for every part of the outline. "
            f"Got none for {', '.join(missing)}."
        )
    flags = _merge_flags(placed.get("blameless_review"), context["flags"])
    if "blameless_review" in placed:
        placed["blameless_review"] = _with_review_flags(placed["blameless_review"], flags)
    summary = placed.get("summary")
    title = "Post-incident review"
    if summary is not None and summary.data is not None:
        title = f"Post-incident review {summary.data['incident_id']}: {summary.data['title']}"
    return ReportContent(
        outline=outline,
        blocks=placed,
        flags=tuple(flags),
        redaction_counts=context["redaction_counts"],
        title=title,
        min_cell_size=policy.reports.min_cell_size,
        redaction_note=redaction_note(policy.reports.redact_known_names, len(context["known_names"])),
        section_templates=tuple(
            (section.template_prefix, str(section.templates_dir))
            for section in placed_sections
            if section.templates_dir is not None
        ),
    )


def _make_figure(payload: Mapping[str, Any], number: int) -> ReportFigure:
    figure = payload.get("figure")
    if not isinstance(figure, Mapping):
        raise WorkbenchError(
            f"figure {payload.get('id')!r} must hold plotly JSON. Got {type(figure).__name__} instead."
        )
    figure_id = str(payload.get("id") or "figure")
    anchor = f"fig-{number}-{_FIGURE_ID.sub('-', figure_id)[:60]}"
    title = payload.get("title")
    return ReportFigure(
        anchor=anchor, id=figure_id, title=str(title) if title is not None else None, figure=dict(figure)
    )


def _validate_block(
    entry: OutlineEntry,
    block: ReportBlock,
    figures: tuple[ReportFigure, ...],
    sections: Mapping[str, Section],
    context: dict[str, Any],
    problems: list[dict[str, object]],
) -> PlacedBlock:
    """Validate one block into its model (once); a section summary given already validated is kept."""
    unavailable = str(block.unavailable) if block.unavailable else None
    if block.data is None:
        return PlacedBlock(entry, None, None, figures, unavailable or "no data")
    model_type = sections[entry.key].summary_model if entry.kind == "section" else PART_MODELS[entry.key]
    if entry.kind == "section" and isinstance(block.data, model_type):
        # a section summary validated when it was read (it holds no text to redact); a part model is
        # validated again below, so its free text is redacted with the policy's rules and checked
        model: BaseModel = block.data
    else:
        raw = block.data.model_dump(mode="python") if isinstance(block.data, BaseModel) else block.data
        try:
            model = model_type.model_validate(raw, context={**context, "block": entry.key})
        except ValidationError as exc:
            problems.extend(_failures(entry.key, exc))
            return PlacedBlock(entry, None, None, figures, None)
    if entry.kind == "section" and not unavailable:
        promised = set(sections[entry.key].figure_ids)
        got = {figure.id for figure in figures}
        if got != promised:
            problems.append(
                {
                    "block": entry.key,
                    "location": "figures",
                    "problem": f"must be exactly {sorted(promised)}, got {sorted(got)}",
                }
            )
    return PlacedBlock(entry, model, model.model_dump(mode="python"), figures, unavailable)


def _failures(key: str, exc: ValidationError) -> list[dict[str, object]]:
    return [
        {
            "block": key,
            "location": ".".join(str(part) for part in error["loc"]) or "(root)",
            "problem": error["msg"],
        }
        for error in exc.errors()
    ]


def _merge_flags(review: PlacedBlock | None, found: list[BlamelessFlag]) -> list[BlamelessFlag]:
    """Flags a caller put in the review block, then those the validation found (same phrase once)."""
    merged: list[BlamelessFlag] = []
    seen: set[tuple[str | None, str]] = set()
    given = list(review.data["flags"]) if review is not None and review.data is not None else []
    for row in given:
        flag = BlamelessFlag(
            field=row.get("field"),
            phrase=row["phrase"],
            start=0,
            end=len(row["phrase"]),
            reason=row["reason"],
            suggestion=row["suggestion"],
            rule=row.get("rule") or "",
        )
        merged.append(flag)
        seen.add((flag.rule, flag.phrase.lower()))
    for flag in found:
        if (flag.rule, flag.phrase.lower()) in seen:
            continue
        seen.add((flag.rule, flag.phrase.lower()))
        merged.append(flag)
    return merged


def _with_review_flags(review: PlacedBlock, flags: Sequence[BlamelessFlag]) -> PlacedBlock:
    """The review block carries every flag of the report (already redacted: found in redacted text)."""
    if review.model is None or review.data is None:
        return review
    rows = [
        {"field": f.field, "phrase": f.phrase, "reason": f.reason, "suggestion": f.suggestion, "rule": f.rule}
        for f in flags
    ]
    # FlagRow.model_construct: no second validation (the phrases come from already redacted text)
    flag_rows = [FlagRow.model_construct(None, **row) for row in rows]
    model = review.model.model_copy(update={"flags": flag_rows})
    return PlacedBlock(
        review.entry, model, {**review.data, "flags": rows}, review.figures, review.unavailable
    )


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    return str(value)
