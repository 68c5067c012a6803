"""Failure signals on interaction logs: each signal on hand-made spans, and assess_impact on model calls."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import pytest

from analysis.data import (
    FINDING_COLUMNS,
    attach_findings,
    evaluation_column,
    failure_expression,
    incident_windows,
    open_calls,
    validate_logs,
)
from analysis.errors import DataValidationError, InvalidParameterError
from analysis.impact import assess_impact
from register.schema import (
    DataCard,
    DataSource,
    ErrorTypeSignal,
    EvaluationScoreSignal,
    EvaluationSource,
    ExposureFindingSignal,
    FinishReasonSignal,
    InjectionSuccessSignal,
    InteractionRoles,
)

AS_OF = datetime(2026, 1, 10, tzinfo=UTC)
T0 = pd.Timestamp("2026-01-01", tz="UTC")


def _card(*, by_span: bool = True) -> DataCard:
    roles = InteractionRoles(
        trace_id="trace_id",
        span_id="span_id",
        start_time="start_time",
        user_id="user",
        conversation_id="conversation",
        operation_name="op",
        error_type="error.type",
        finish_reasons="finish",
        output_messages="output",
        input_messages="input",
    )
    evaluations = EvaluationSource(
        source=DataSource(location="unused"),
        span_id="span_id" if by_span else None,
        conversation_id=None if by_span else "conversation",
        name="name",
        score="score",
        label=None,
        evaluated_at="evaluated_at",
    )
    return DataCard.interaction_log(DataSource(location="unused"), roles, evaluations=evaluations)


def _spans() -> pd.DataFrame:
    """Five model calls (c1-c5) and one retrieval step (r1) that is not a decision."""
    return pd.DataFrame(
        {
            "trace_id": ["t1", "t1", "t2", "t3", "t4", "t5"],
            "span_id": ["c1", "r1", "c2", "c3", "c4", "c5"],
            "start_time": [T0 + pd.Timedelta(hours=i) for i in range(6)],
            "user": ["u1", "u1", "u2", "u2", "u3", "u4"],
            "conversation": ["v1", "v1", "v2", "v2", "v3", None],
            "op": ["chat", "retrieval", "chat", "chat", "chat", "chat"],
            "error.type": [None, "timeout", "503", None, "429", None],
            "finish": [["stop"], None, None, ["content_filter"], None, ["length", "stop"]],
            "output": ["a", "doc", None, "b", None, "c"],
            "input": ["q"] * 6,
        }
    )


def _scores() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "span_id": ["c1", "c1", "c3", "c5", "c5", "r1"],
            "conversation": ["v1", "v1", "v2", None, None, "v1"],
            "name": [
                "groundedness",
                "groundedness",
                "groundedness",
                "groundedness",
                "feedback",
                "groundedness",
            ],
            "score": [0.9, 0.4, 0.5, 0.8, 0.0, 0.1],
            "evaluated_at": [T0, T0, T0, pd.Timestamp("2026-01-20", tz="UTC"), T0, T0],
        }
    )


def _calls(**kwargs) -> tuple[pd.DataFrame, object]:
    logs = open_calls(_card(), data=_spans(), evaluation_data=_scores(), **kwargs)
    return logs, logs.card


def _judged(logs, signal, as_of=AS_OF) -> dict[str, bool | None]:
    table = logs.table.mutate(failed=failure_expression(logs, logs.card, signal, as_of=as_of))
    frame = table.select("span_id", "failed").execute()
    return {row.span_id: (None if pd.isna(row.failed) else bool(row.failed)) for row in frame.itertuples()}


def test_open_calls_keeps_model_calls_and_joins_each_evaluation() -> None:
    logs, _ = _calls(as_of=AS_OF)
    frame = logs.table.order_by("span_id").execute().set_index("span_id")
    assert list(frame.index) == ["c1", "c2", "c3", "c4", "c5"]  # the retrieval step is no decision
    assert logs.evaluations == ("feedback", "groundedness")
    grounded = frame[evaluation_column("groundedness")]
    # c1's lowest score; c5 was scored after as_of: not seen; c2, c4 unscored
    assert grounded["c1"] == 0.4 and grounded["c3"] == 0.5
    assert grounded[["c2", "c4", "c5"]].isna().all()
    assert frame.loc["c5", evaluation_column("feedback")] == 0.0
    assert int(logs.spans.count().execute()) == 6


def test_error_type_signal_any_or_listed() -> None:
    logs, _ = _calls()
    assert _judged(logs, ErrorTypeSignal()) == {"c1": False, "c2": True, "c3": False, "c4": True, "c5": False}
    listed = _judged(logs, ErrorTypeSignal(error_types=["503"]))
    assert listed == {"c1": False, "c2": True, "c3": False, "c4": False, "c5": False}


def test_finish_reason_signal_null_without_reasons() -> None:
    logs, _ = _calls()
    judged = _judged(logs, FinishReasonSignal(reasons=["content_filter", "length"]))
    assert judged == {"c1": False, "c2": None, "c3": True, "c4": None, "c5": True}


def test_evaluation_score_signal_null_where_unscored() -> None:
    logs, _ = _calls(as_of=AS_OF)
    judged = _judged(logs, EvaluationScoreSignal(evaluation="groundedness", below=0.5))
    assert judged == {"c1": True, "c2": None, "c3": False, "c4": None, "c5": None}
    inclusive = _judged(logs, EvaluationScoreSignal(evaluation="groundedness", below=0.5, inclusive=True))
    assert inclusive["c3"] is True
    # scores seen as of later: c5's score (0.8) counts, and does not fail
    later = datetime(2026, 2, 1, tzinfo=UTC)
    logs_later, _ = _calls(as_of=later)
    assert (
        _judged(logs_later, EvaluationScoreSignal(evaluation="groundedness", below=0.5), later)["c5"] is False
    )


def test_evaluation_scores_joined_as_of_another_time_are_refused() -> None:
    logs, _ = _calls(as_of=AS_OF)
    signal = EvaluationScoreSignal(evaluation="groundedness", below=0.5)
    with pytest.raises(InvalidParameterError, match="as_of must be the time"):
        failure_expression(logs, logs.card, signal, as_of=datetime(2026, 2, 1, tzinfo=UTC))


def test_evaluation_score_of_an_unknown_evaluation_is_a_clear_error() -> None:
    logs, card = _calls()
    with pytest.raises(InvalidParameterError, match="'coherence' scores"):
        failure_expression(logs, card, EvaluationScoreSignal(evaluation="coherence", below=0.5), as_of=AS_OF)
    report = validate_logs(logs, card, signal=EvaluationScoreSignal(evaluation="coherence", below=0.5),
                           raise_on_error=False)  # fmt: skip
    assert report.failures[["column", "check"]].values.tolist() == [
        [evaluation_column("coherence"), "signal_column"]
    ]


def test_evaluations_joined_by_conversation_score_every_call_of_it() -> None:
    logs = open_calls(_card(by_span=False), data=_spans(), evaluation_data=_scores())
    judged = _judged(logs, EvaluationScoreSignal(evaluation="groundedness", below=0.5))
    # v1 holds 0.4 and 0.1 (its retrieval's row names v1 too), v2 0.5; c4 (v3) and c5 (none) unscored
    assert judged == {"c1": True, "c2": False, "c3": False, "c4": None, "c5": None}


def test_findings_signals_read_the_attached_findings() -> None:
    logs, card = _calls()
    with pytest.raises(InvalidParameterError, match="open_impact_log"):
        failure_expression(logs, card, ExposureFindingSignal(), as_of=AS_OF)
    exposure = pd.DataFrame(
        {"span_id": ["c1", "c1", "c3", "c5"], "finding": ["output", "output:email", "input", "input:phone"]}
    )
    exposed = attach_findings(logs, "exposure_finding", exposure)
    assert _judged(exposed, ExposureFindingSignal()) == {"c1": True, "c2": False, "c3": False, "c4": False,
                                                         "c5": False}  # fmt: skip
    both = _judged(exposed, ExposureFindingSignal(locations=["output", "input"], entities=["phone"]))
    assert [span for span, failed in both.items() if failed] == ["c5"]
    injected = attach_findings(
        logs,
        "injection_success",
        pd.DataFrame({"span_id": ["c2", "c4"], "finding": ["tool_call", "system_echo"]}),
    )
    assert FINDING_COLUMNS["injection_success"] in injected.table.columns
    assert [s for s, failed in _judged(injected, InjectionSuccessSignal()).items() if failed] == ["c2", "c4"]
    echo = _judged(injected, InjectionSuccessSignal(indicators=["system_echo"]))
    assert [s for s, failed in echo.items() if failed] == ["c4"]
    nothing = attach_findings(logs, "injection_success", pd.DataFrame(columns=["span_id", "finding"]))
    assert not any(_judged(nothing, InjectionSuccessSignal()).values())


def test_validate_logs_checks_interaction_roles_not_labels() -> None:
    spans = _spans().drop(columns=["error.type"])
    logs = open_calls(_card().model_copy(update={"evaluations": None}), data=_spans())
    assert validate_logs(logs).ok
    with pytest.raises(DataValidationError, match="error.type"):
        open_calls(_card(), data=spans, evaluation_data=_scores())


def test_assess_impact_counts_calls_users_and_conversations() -> None:
    """Two weeks of calls; from day 10 the calls of users u0-u4 fail with an error type."""
    start = pd.Timestamp("2026-03-01", tz="UTC")
    times = pd.date_range(start, periods=14 * 24, freq="h")
    users = [f"u{i % 10}" for i in range(len(times))]
    failing = (times >= start + pd.Timedelta(days=10)) & pd.Series(users).isin(
        [f"u{i}" for i in range(5)]
    ).values
    spans = pd.DataFrame(
        {
            "trace_id": [f"t{i}" for i in range(len(times))],
            "span_id": [f"s{i}" for i in range(len(times))],
            "start_time": times,
            "user": users,
            "conversation": [f"v{i // 3}" for i in range(len(times))],
            "op": "chat",
            "error.type": ["503" if f else None for f in failing],
            "finish": [None] * len(times),
            "output": "a",
            "input": "q",
        }
    )
    card = _card().model_copy(update={"evaluations": None})
    logs = open_calls(card, data=spans)
    windows = incident_windows(datetime(2026, 3, 11, tzinfo=UTC), as_of=datetime(2026, 3, 15, tzinfo=UTC))
    result = assess_impact(logs, card, windows)
    in_incident = (times >= windows.incident.start) & (times < windows.incident.end)
    expected = spans.loc[failing & in_incident]
    assert result.n_affected_decisions == len(expected) > 0
    assert result.n_affected_entities == expected["user"].nunique() == 5
    assert result.n_affected_conversations == expected["conversation"].nunique()
    summary = result.to_summary()
    assert summary["n_affected_conversations"] == expected["conversation"].nunique()
    assert summary["still_happening"]["verdict"] == "ongoing"
