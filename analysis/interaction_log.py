"""An LLM system's interaction log at a glance: spans per day, errors and finish reasons (counts only).

The public face of the interaction-log readers (:func:`open_interaction_log` for Parquet or OTLP JSON
through a data card, :func:`read_otlp_json` / :func:`write_otlp_json` for files) and the overview the
investigation notebook shows before the LLM analyses (:func:`analysis.llm_exposure.scan_exposure`,
:func:`analysis.llm_injection.analyse_injection`). The overview never reads a content column: it counts
spans by day, operation, provider and model, error types and finish reasons.

Examples
--------
>>> import pandas as pd
>>> from register.schema import DataCard, DataSource, InteractionRoles
>>> roles = InteractionRoles(trace_id="trace_id", span_id="span_id", start_time="start_time",
...     user_id="enduser.id", operation_name="gen_ai.operation.name", provider="gen_ai.provider.name",
...     response_model="gen_ai.response.model", error_type="error.type",
...     finish_reasons="gen_ai.response.finish_reasons")
>>> card = DataCard.interaction_log(DataSource(location="unused"), roles)
>>> t0 = pd.Timestamp("2026-01-10", tz="UTC")
>>> spans = pd.DataFrame({"trace_id": ["t1", "t2", "t3"], "span_id": ["s1", "s2", "s3"],
...     "start_time": [t0, t0 + pd.Timedelta(hours=1), t0 + pd.Timedelta(days=1)],
...     "enduser.id": ["u1", "u2", "u1"], "gen_ai.operation.name": ["chat"] * 3,
...     "gen_ai.provider.name": ["openai"] * 3, "gen_ai.response.model": ["m1", "m1", "m2"],
...     "error.type": [None, "timeout", None],
...     "gen_ai.response.finish_reasons": [["stop"], None, ["length"]]})
>>> overview = interaction_overview(spans, card, start=t0, end=t0 + pd.Timedelta(days=2))
>>> overview.headline()
'3 spans in the window (2 days): 1 with an error type (33.3%); finish reasons: length 1, stop 1.'
>>> overview.by_day[["day", "model", "spans", "errors"]].to_dict("records")[0]["errors"]
1
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import ibis
import ibis.expr.types as ir
import pandas as pd

from analysis._llm_data import check_interaction_columns, interaction_roles, open_interaction_log
from analysis._otlp import read_otlp_json, write_otlp_json
from analysis.data import _as_table, time_literal
from analysis.errors import InvalidParameterError
from register.schema import DataCard

__all__ = ["InteractionOverview", "interaction_overview", "open_interaction_log", "read_otlp_json",
           "write_otlp_json"]  # fmt: skip


@dataclass(frozen=True)
class InteractionOverview:
    """Counts of an interaction log in one window; no content.

    ``by_day``: spans and spans with an error type per (day, operation, provider, model); ``errors``: spans
    per (error type, provider, model); ``finish_reasons``: model calls per finish reason (a call with
    several reasons counts once for each).
    """

    start: datetime
    end: datetime
    n_spans: int
    n_errors: int
    by_day: pd.DataFrame
    errors: pd.DataFrame
    finish_reasons: pd.DataFrame

    def headline(self) -> str:
        """One sentence: the spans, the share with an error type, the most frequent finish reasons."""
        days = max(round((self.end - self.start).total_seconds() / 86_400), 1)
        share = f" ({self.n_errors / self.n_spans:.1%})" if self.n_spans else ""
        reasons = ", ".join(f"{r.finish_reason} {r.calls}" for r in self.finish_reasons.head(3).itertuples())
        return (
            f"{self.n_spans} spans in the window ({days} day{'s' if days != 1 else ''}): "
            f"{self.n_errors} with an error type{share}; finish reasons: {reasons or 'none recorded'}."
        )


def _column(table: ir.Table, name: str | None) -> ir.Value:
    return table[name].cast("string") if name is not None and name in table.columns else ibis.null("string")


def interaction_overview(
    table: ir.Table | pd.DataFrame,
    card: DataCard,
    *,
    start: datetime,
    end: datetime,
) -> InteractionOverview:
    """Count the spans of ``[start, end)`` by day, operation, provider and model; errors; finish reasons.

    Parameters
    ----------
    table : Ibis table or pandas DataFrame
        The spans (:func:`open_interaction_log`); a DataFrame is wrapped as a memtable.
    card : DataCard
        The interaction-log card naming the role columns (a role the card leaves out counts as null).
    start, end : datetime
        The window (UTC), e.g. the incident window.

    Returns
    -------
    InteractionOverview
        Counts only; the content columns are never read.
    """
    roles = interaction_roles(card)
    table = _as_table(table, "table")
    if not start < end:
        raise InvalidParameterError(f"start must be before end. Got {start} and {end} instead.")
    check_interaction_columns(table, card)
    when = table[roles.start_time]
    window = table.filter((when >= time_literal(when, start)) & (when < time_literal(when, end)))
    error = _column(window, roles.error_type)
    keyed = window.mutate(
        day=window[roles.start_time].truncate("D"),
        operation=_column(window, roles.operation_name),
        provider=_column(window, roles.provider),
        model=_column(window, roles.response_model or roles.request_model),
        error_type=error,
        _error=error.notnull().cast("int64"),
    )
    keys = ["day", "operation", "provider", "model"]
    by_day = keyed.group_by(keys).aggregate(spans=keyed.count(), errors=keyed._error.sum()).order_by(keys)
    by_day_frame = by_day.execute()
    errored = keyed.filter(keyed.error_type.notnull())
    error_keys = ["error_type", "provider", "model"]
    errors = (
        errored.group_by(error_keys)
        .aggregate(spans=errored.count())
        .order_by(ibis.desc("spans"), *error_keys)
    )
    reasons = pd.DataFrame({"finish_reason": pd.Series(dtype="string"), "calls": pd.Series(dtype="int64")})
    if roles.finish_reasons is not None and roles.finish_reasons in window.columns:
        unnested = window.select(finish_reason=window[roles.finish_reasons].unnest())
        counted = unnested.group_by("finish_reason").aggregate(calls=unnested.count())
        reasons = counted.order_by([ibis.desc("calls"), "finish_reason"]).execute()
    for frame in (by_day_frame,):
        frame["spans"] = frame["spans"].astype("int64")
        frame["errors"] = frame["errors"].fillna(0).astype("int64")
    return InteractionOverview(
        start=start,
        end=end,
        n_spans=int(by_day_frame["spans"].sum()),
        n_errors=int(by_day_frame["errors"].sum()),
        by_day=by_day_frame,
        errors=errors.execute(),
        finish_reasons=reasons.reset_index(drop=True),
    )
