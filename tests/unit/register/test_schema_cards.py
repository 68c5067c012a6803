"""Data cards: prediction logs load as before; interaction-log cards (OpenTelemetry GenAI roles) and their
failure signals round-trip and refuse the wrong shape with a clear message."""

from __future__ import annotations

import json

import pytest
import yaml
from pydantic import TypeAdapter, ValidationError

from register.schema import (
    AiSystem,
    ColumnRoles,
    DataCard,
    DataSource,
    ErrorTypeSignal,
    EvaluationScoreSignal,
    EvaluationSource,
    FailureSignal,
    FinishReasonSignal,
    Incident,
    InteractionRoles,
    LabelErrorSignal,
)

PREDICTION_CARD_YAML = """
source: {location: ../logs/credit_scoring/**/*.parquet}
task: binary_classification
columns:
  event_time: event_time
  entity_id: entity_id
  features: [income, channel]
  categorical_features: [channel]
  prediction: approved
  label: repaid
failure_signal: {kind: label_error}
"""


def _evaluations() -> EvaluationSource:
    return EvaluationSource(
        source=DataSource(location="../evaluations/support_chatbot/**/*.parquet"),
        span_id="span_id",
        conversation_id="gen_ai.conversation.id",
        feedback_name="user_feedback",
    )


def _interaction_card(**extra: object) -> DataCard:
    return DataCard(
        kind="interaction_log",
        source=DataSource(location="../logs/support_chatbot/**/*.parquet"),
        interaction=InteractionRoles.otel(attributes=["cloud.region", "support.intent"]),
        evaluations=_evaluations(),
        **extra,
    )


def test_a_prediction_card_without_kind_loads_as_before() -> None:
    card = DataCard.model_validate(yaml.safe_load(PREDICTION_CARD_YAML))
    assert card.kind == "prediction_log" and card.interaction is None and card.evaluations is None
    assert card.task == "binary_classification" and card.positive_label == 1
    assert card.failure_signal == LabelErrorSignal()
    assert DataCard.model_validate(card.model_dump(mode="json")) == card


def test_an_interaction_card_derives_task_columns_and_signal_and_round_trips() -> None:
    card = _interaction_card()
    assert card.task == "generation" and card.positive_label is None
    assert card.columns == ColumnRoles(
        event_time="start_time", entity_id="enduser.id", request_id="span_id",
        model_version="gen_ai.response.model",
    )  # fmt: skip
    assert card.failure_signal == ErrorTypeSignal()
    roles = card.interaction
    assert roles is not None and roles.has_content
    assert roles.conversation_id == "gen_ai.conversation.id" and roles.error_type == "error.type"
    assert roles.columns["finish_reasons"] == "gen_ai.response.finish_reasons"
    dumped_json = card.model_dump(mode="json")
    for dumped in (dumped_json, yaml.safe_load(yaml.safe_dump(dumped_json))):
        assert DataCard.model_validate(dumped) == card
    system = AiSystem(id="support_chatbot", name="Chatbot", data_card=card)
    assert AiSystem.model_validate_json(system.model_dump_json()) == system
    resolved = card.with_base("/srv/demo/datacards")
    assert resolved.evaluations is not None
    assert resolved.evaluations.source.location == "/srv/demo/evaluations/support_chatbot/**/*.parquet"


def test_content_roles_are_opt_in() -> None:
    roles = InteractionRoles.otel(content=False)
    assert not roles.has_content
    assert {"input_messages", "output_messages", "system_instructions"}.isdisjoint(roles.columns)
    card = DataCard(kind="interaction_log", source=DataSource(location="x"), interaction=roles)
    assert card.interaction is not None and card.interaction.output_messages is None
    minimal = InteractionRoles(trace_id="t", span_id="s", start_time="ts", user_id="u")
    assert minimal.columns == {"trace_id": "t", "span_id": "s", "start_time": "ts", "user_id": "u"}


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"kind": "interaction_log", "source": {"location": "x"}}, "needs `interaction`"),
        (
            {"kind": "interaction_log", "source": {"location": "x"}, "interaction": {"trace_id": "t"}},
            "span_id",
        ),
        (
            {"kind": "interaction_log", "source": {"location": "x"}, "task": "regression",
             "interaction": InteractionRoles.otel().model_dump()},
            "task must be generation",
        ),
        (
            {"kind": "interaction_log", "source": {"location": "x"},
             "interaction": InteractionRoles.otel().model_dump(),
             "columns": {"event_time": "ts", "entity_id": "customer"}},
            "derived from `interaction`",
        ),
        (
            {"kind": "interaction_log", "source": {"location": "x"},
             "interaction": InteractionRoles.otel().model_dump(), "failure_signal": {"kind": "label_error"}},
            "label_error failure signal does not apply",
        ),
        (
            {"kind": "interaction_log", "source": {"location": "x"},
             "interaction": InteractionRoles.otel().model_dump(),
             "failure_signal": {"kind": "evaluation_score", "evaluation": "groundedness", "below": 0.5}},
            "needs the card's `evaluations`",
        ),
        (
            {**yaml.safe_load(PREDICTION_CARD_YAML), "failure_signal": {"kind": "error_type"}},
            "needs an interaction_log card",
        ),
        (
            {**yaml.safe_load(PREDICTION_CARD_YAML), "interaction": InteractionRoles.otel().model_dump()},
            "belong to an interaction_log card",
        ),
        ({**yaml.safe_load(PREDICTION_CARD_YAML), "kind": "chat_log"}, "prediction_log"),
    ],
)  # fmt: skip
def test_a_card_of_the_wrong_shape_is_refused_with_a_clear_message(document: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        DataCard.model_validate(document)


def test_evaluation_source_needs_a_join_key_and_a_score_or_label() -> None:
    with pytest.raises(ValidationError, match="needs a join key"):
        EvaluationSource(source=DataSource(location="x"))
    with pytest.raises(ValidationError, match="a score or a label"):
        EvaluationSource(source=DataSource(location="x"), span_id="span_id", score=None, label=None)


def test_interaction_failure_signals_round_trip_and_validate() -> None:
    adapter: TypeAdapter[FailureSignal] = TypeAdapter(FailureSignal)
    signals = [
        EvaluationScoreSignal(evaluation="groundedness", below=0.5),
        ErrorTypeSignal(error_types=["timeout", "503"]),
        ErrorTypeSignal(),
        FinishReasonSignal(reasons=["content_filter"]),
    ]
    for signal in signals:
        assert adapter.validate_python(json.loads(json.dumps(signal.model_dump(mode="json")))) == signal
        card = _interaction_card(failure_signal=signal)
        assert DataCard.model_validate(card.model_dump(mode="json")).failure_signal == signal
    with pytest.raises(ValidationError, match="at least 1 item"):
        FinishReasonSignal(reasons=[])
    with pytest.raises(ValidationError, match="distinct"):
        FinishReasonSignal(reasons=["stop", "stop"])
    with pytest.raises(ValidationError, match="distinct"):
        ErrorTypeSignal(error_types=[""])
    with pytest.raises(ValidationError):
        EvaluationScoreSignal(evaluation="", below=0.5)
    with pytest.raises(ValidationError, match="evaluation_score"):
        adapter.validate_python({"kind": "evaluation_score", "below": 0.5})
    incident = Incident(
        id="INC-2026-0001", title="t", category="hallucination", severity="SEV-3",
        aware_at="2026-01-01T00:00:00Z", failure_signal={"kind": "evaluation_score", "evaluation": "g",
                                                         "below": 0.5},
    )  # fmt: skip
    assert incident.failure_signal == EvaluationScoreSignal(evaluation="g", below=0.5)
