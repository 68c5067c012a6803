"""The vocabularies of an exercise: scenario kinds, causes (with synonyms) and containment decisions."""

from __future__ import annotations

from typing import Final

__all__ = [
    "CAUSES",
    "CAUSE_SYNONYMS",
    "CONTAINMENTS",
    "CONTAINMENT_SYNONYMS",
    "CONTROL_ALERTS",
    "EXPECTED_CONTAINMENT",
    "KINDS",
    "SCENARIO_KINDS",
    "normalise_cause",
    "normalise_containment",
]

SCENARIO_KINDS: Final[dict[str, str]] = {
    "a_stale_input": "stale_input",
    "b_covariate_drift": "covariate_drift",
    "c_fairness_deploy": "fairness_regression",
    "d_pipeline_null_slice": "pipeline_null_slice",
    "e_concept_drift": "concept_drift",
    "f_control": "control",
    "g_regional_outage": "upstream_outage",
    "h_faulty_deploy": "faulty_deploy",
    "i_seasonal_mix": "seasonal_mix",
    "j_control": "control",
    "k_pii_exposure": "pii_exposure",
    "l_prompt_injection": "prompt_injection",
    "m_hallucination": "hallucination_rise",
    "n_provider_outage": "provider_outage",
    "o_control": "control",
}
"""Scenario id of the generator -> its kind (``control`` for the no-fault controls)."""

KINDS: Final[tuple[str, ...]] = tuple(dict.fromkeys(SCENARIO_KINDS.values()))
"""Every kind an exercise can be started with (``random`` and a scenario id are accepted too)."""

CAUSES: Final[tuple[str, ...]] = (
    "stale_input",
    "null_input",
    "covariate_shift",
    "covariate_mix",
    "concept_change",
    "model_change",
    "retrieval_change",
    "new_tool",
    "provider_outage",
    "none",
)
"""The cause kinds of the ground truth (``none``: no fault, a false alarm)."""

CAUSE_SYNONYMS: Final[dict[str, str]] = {
    "stale_data": "stale_input",
    "missing_input": "null_input",
    "null_values": "null_input",
    "pipeline_change": "null_input",
    "upstream_outage": "null_input",
    "data_drift": "covariate_shift",
    "covariate_drift": "covariate_shift",
    "seasonal_mix": "covariate_mix",
    "seasonality": "covariate_mix",
    "population_mix": "covariate_mix",
    "concept_drift": "concept_change",
    "deploy": "model_change",
    "faulty_deploy": "model_change",
    "model_deploy": "model_change",
    "model_update": "model_change",
    "index_change": "retrieval_change",
    "retrieval_index_change": "retrieval_change",
    "tool_change": "new_tool",
    "vendor_outage": "provider_outage",
    "outage": "provider_outage",
    "no_fault": "none",
    "false_alarm": "none",
}
"""Other words a team may use for a cause kind."""

CONTAINMENTS: Final[dict[str, str]] = {
    "rollback": "roll back the model, agent, prompt or retrieval index to the last good version",
    "fix_input": "repair the input feed or data pipeline (and reprocess what it broke)",
    "retrain": "retrain or recalibrate the model on recent data",
    "disable_tool": "disable a feature or an agent tool",
    "filter_output": "filter or block the offending outputs",
    "provider_failover": "route traffic to another provider or region",
    "monitor": "no change to the system: watch it (the model works as designed)",
    "none": "nothing to contain (a false alarm)",
}
"""The containment decisions a team can record, with what each means."""

CONTAINMENT_SYNONYMS: Final[dict[str, str]] = {
    "roll_back": "rollback",
    "revert": "rollback",
    "fix_pipeline": "fix_input",
    "disable_feature": "disable_tool",
    "block_output": "filter_output",
    "failover": "provider_failover",
    "watch": "monitor",
    "no_action": "none",
}
"""Other words a team may use for a containment decision."""

EXPECTED_CONTAINMENT: Final[dict[str, tuple[str, ...]]] = {
    "a_stale_input": ("fix_input",),
    "b_covariate_drift": ("fix_input", "retrain"),
    "c_fairness_deploy": ("rollback",),
    "d_pipeline_null_slice": ("fix_input",),
    "e_concept_drift": ("retrain",),
    "g_regional_outage": ("fix_input", "provider_failover"),
    "h_faulty_deploy": ("rollback",),
    "i_seasonal_mix": ("monitor",),
    "k_pii_exposure": ("rollback", "filter_output"),
    "l_prompt_injection": ("disable_tool", "filter_output"),
    "m_hallucination": ("rollback",),
    "n_provider_outage": ("provider_failover",),
    "f_control": ("none", "monitor"),
    "j_control": ("none", "monitor"),
    "o_control": ("none", "monitor"),
}
"""The containment decisions judged right per scenario (the first is the one the responders took)."""

CONTROL_ALERTS: Final[dict[str, tuple[str, str, str]]] = {
    "credit_scoring": (
        "fairness_bias",
        "weekly fairness monitor",
        "Fairness monitor: selection-rate ratio of one group near the 0.8 threshold.",
    ),
    "dynamic_pricing": (
        "performance_degradation",
        "price-error monitor on recent clearing prices",
        "Price-error monitor: share of prices off by more than 10 % above its alert line.",
    ),
    "support_chatbot": (
        "hallucination",
        "thumbs-down rate monitor on the support assistant",
        "Feedback monitor: thumbs-down rate of the assistant's answers above its alert line.",
    ),
}
"""system id -> (category, trigger, detection event) of the false alarm that opens a control exercise."""


def _slug(value: str) -> str:
    return value.strip().lower().replace("-", "_").replace(" ", "_")


def normalise_cause(value: str) -> str | None:
    """Return the cause kind a team's word means, or None when it is not in the vocabulary.

    Examples
    --------
    >>> normalise_cause("Faulty deploy"), normalise_cause("null_input"), normalise_cause("gremlins")
    ('model_change', 'null_input', None)
    """
    slug = _slug(value)
    slug = CAUSE_SYNONYMS.get(slug, slug)
    return slug if slug in CAUSES else None


def normalise_containment(value: str) -> str | None:
    """Return the containment decision a team's word means, or None when it is not in the vocabulary.

    Examples
    --------
    >>> normalise_containment("Roll back"), normalise_containment("disable_feature")
    ('rollback', 'disable_tool')
    """
    slug = _slug(value)
    slug = CONTAINMENT_SYNONYMS.get(slug, slug)
    return slug if slug in CONTAINMENTS else None
