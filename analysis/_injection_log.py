"""The spans the injection analysis reads from an interaction log: model calls, retrievals, tool calls.

A private reader until ``analysis._llm_data.open_interaction_log`` lands: it opens the card's source with
:func:`analysis.data.open_logs` (or takes a given table), filters the time window and the span kinds in the
engine, and brings back only the columns the analysis needs (content columns of the window's spans).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, timedelta

import ibis
import ibis.expr.types as ir
import pandas as pd

from analysis.data import open_logs, time_literal
from analysis.errors import InvalidParameterError
from register.schema import DataCard, InteractionRoles

__all__ = ["MODEL_OPERATIONS", "InjectionSpans", "read_injection_spans"]

#: ``gen_ai.operation.name`` values of a model call (OpenTelemetry GenAI conventions).
MODEL_OPERATIONS = ("chat", "text_completion", "generate_content", "invoke_agent")
_RETRIEVAL = "retrieval"
_CHILD_MARGIN = timedelta(hours=1)  # a child span starts after its model call, within this margin


@dataclass(frozen=True)
class InjectionSpans:
    """The window's spans as small pandas frames, with plain column names.

    ``calls``: model calls (trace_id, span_id, start_time, conversation_id, user_id, prompt_version,
    agent_version, finish_reasons, error_type, input, output, instructions); ``retrievals``: retrieval
    steps (trace_id, document_ids, output); ``tools``: tool calls (trace_id, start_time, tool_name).
    ``skipped`` names what could not be read (a content role the card does not have).
    """

    calls: pd.DataFrame
    retrievals: pd.DataFrame
    tools: pd.DataFrame
    skipped: tuple[str, ...]


def _roles(card: DataCard) -> InteractionRoles:
    if card.kind != "interaction_log" or card.interaction is None:
        raise InvalidParameterError(
            f"card must be an interaction-log data card (kind='interaction_log'). Got kind={card.kind!r} "
            "instead: the injection analysis reads model calls, retrievals and tool calls."
        )
    if card.interaction.input_messages is None:
        raise InvalidParameterError(
            "card.interaction.input_messages must name the input-messages column. Got None instead: the "
            "injection analysis needs the opt-in content of the log (gen_ai.input.messages)."
        )
    return card.interaction


def _column(table: ir.Table, name: str | None) -> ir.Value:
    return table[name] if name is not None and name in table.columns else ibis.null().cast("string")


def read_injection_spans(
    card: DataCard,
    start: datetime,
    end: datetime,
    *,
    data: pd.DataFrame | ir.Table | None = None,
    base_dir: str | os.PathLike[str] | None = None,
) -> InjectionSpans:
    """Read the model calls of ``[start, end)`` and the retrieval and tool spans of their traces.

    Parameters
    ----------
    card : DataCard
        An interaction-log card with at least the input-messages content role.
    start, end : datetime
        The window (UTC) of the model calls.
    data : pandas.DataFrame or Ibis table, optional
        The log itself, replacing the card's source.
    base_dir : path, optional
        Directory relative locations in the card are resolved against.

    Returns
    -------
    InjectionSpans
    """
    roles = _roles(card)
    table = open_logs(card, data=data, base_dir=base_dir).table
    time = table[roles.start_time]
    window = table.filter(
        (time >= time_literal(time, start)) & (time < time_literal(time, end + _CHILD_MARGIN))
    )
    operation = _column(window, roles.operation_name)
    if roles.operation_name is not None:
        is_call = operation.isin(MODEL_OPERATIONS)
    else:  # without an operation name, the root spans are the model calls
        is_call = _column(window, roles.parent_span_id).isnull()
    calls = window.filter(is_call & (window[roles.start_time] < time_literal(time, end))).select(
        trace_id=window[roles.trace_id],
        span_id=window[roles.span_id],
        start_time=window[roles.start_time],
        conversation_id=_column(window, roles.conversation_id),
        user_id=window[roles.user_id],
        prompt_version=_column(window, roles.prompt_version),
        agent_version=_column(window, roles.agent_version),
        error_type=_column(window, roles.error_type),
        input=window[roles.input_messages],
        output=_column(window, roles.output_messages),
        instructions=_column(window, roles.system_instructions),
        finish_reasons=(
            window[roles.finish_reasons].join(",")
            if roles.finish_reasons is not None
            else ibis.null().cast("string")
        ),
    )
    is_retrieval = operation == _RETRIEVAL
    if roles.retrieval_document_ids is not None:
        is_retrieval = is_retrieval | (~is_call & window[roles.retrieval_document_ids].notnull())
    retrievals = window.filter(is_retrieval).select(
        trace_id=window[roles.trace_id],
        document_ids=(
            window[roles.retrieval_document_ids].join("\n")
            if roles.retrieval_document_ids is not None
            else ibis.null().cast("string")
        ),
        output=_column(window, roles.output_messages),
    )
    tool = _column(window, roles.tool_name)
    tools = window.filter(tool.notnull()).select(
        trace_id=window[roles.trace_id], start_time=window[roles.start_time], tool_name=tool
    )
    skipped = tuple(
        f"{what}: the card has no {role} role"
        for role, what in (
            ("output_messages", "system-instruction echoes and indirect injection in retrieved content"),
            ("system_instructions", "system-instruction echoes"),
        )
        if getattr(roles, role) is None
    )
    call_frame = calls.to_pandas()
    traces = set(call_frame["trace_id"])
    retrieval_frame = retrievals.to_pandas()
    tool_frame = tools.to_pandas()
    return InjectionSpans(
        calls=call_frame.sort_values(["start_time", "span_id"], kind="stable").reset_index(drop=True),
        retrievals=retrieval_frame.loc[retrieval_frame["trace_id"].isin(traces)].reset_index(drop=True),
        tools=tool_frame.loc[tool_frame["trace_id"].isin(traces)].reset_index(drop=True),
        skipped=skipped,
    )
