"""Ground truth of the support chatbot's planted scenarios k-o (``llm_scenarios`` in ground_truth.json)."""

from __future__ import annotations

from register.schema import (
    ErrorTypeSignal,
    EvaluationScoreSignal,
    ExposureFindingSignal,
    InjectionSuccessSignal,
)
from workbench.scenarios._chatbot import (
    ENTITY_TYPES,
    EVALUATIONS,
    FEEDBACK,
    GROUNDEDNESS_THRESHOLD,
    INDEX_BEFORE,
    INDEX_LEAKY,
    INTENTS,
    NEW_TOOL,
    OUTAGE_PROVIDER,
    OUTAGE_REGION,
    POISONED_DOCUMENT,
    PROVIDERS,
    REGIONS,
    SYSTEM_ECHO,
    ChatContext,
    ChatTotals,
)
from workbench.scenarios._plan import LLM_SYSTEM, from_us, iso

__all__ = ["CHANGE_EVENTS", "llm_ground_truth"]

CHANGE_EVENTS = {
    "k": f"Retrieval index {INDEX_LEAKY} rebuilt with the support-ticket archive.",
    "l": f"Agent support-assistant 2.3.0 released with the {NEW_TOOL} tool.",
    "m": "Model orion-chat-2.0 rolled out to all azure.ai.openai traffic.",
}
"""The register timeline text of the change behind each scenario (none for the outage (n))."""


_SIGNAL_AFFECTED = (
    "every chat span of the incident window whose scenario failure_signal holds, planted or not: what the "
    "impact analysis counts as affected calls, conversations and users"
)


def _ratio(numerator: float, denominator: float) -> float | None:
    return None if denominator <= 0 else round(numerator / denominator, 6)


def llm_ground_truth(ctx: ChatContext, totals: ChatTotals, ids: dict[str, str]) -> dict[str, object]:
    """Return ``{"llm_background": ..., "llm_scenarios": [...]}`` for ground_truth.json.

    Long because it is data: the five scenarios written out as one document.
    """
    plan, cal, counts, sets = ctx.plan, ctx.calendar, totals.counts, totals.sets

    def size(key: str) -> int:
        return len(sets.get(key, ()))

    def windows(key: str) -> dict[str, object]:
        incident = plan.controls[key] if key in plan.controls else plan.incident_window(key)
        return {"reference_window": plan.reference_window(key).iso(), "incident_window": incident.iso()}

    def onset_end(key: str) -> dict[str, str | None]:
        if key in plan.controls:
            window = plan.controls[key]
            return {"onset": iso(from_us(window.start)), "end": iso(from_us(window.end))}
        end = plan.ends[key]
        return {"onset": iso(from_us(plan.onsets[key])), "end": None if end is None else iso(from_us(end))}

    def times(key: str) -> tuple[str | None, str | None]:
        values = sorted(int(v) for v in sets.get(key, ()))
        return (iso(from_us(values[0])), iso(from_us(values[-1]))) if values else (None, None)

    def common(key: str, kind: str, control: bool = False) -> dict[str, object]:
        return {
            "kind": kind,
            "system_id": LLM_SYSTEM,
            "control": control,
            "incident_id": None if control else ids[key],
            **onset_end(key),
            **windows(key),
        }

    def grounded(
        part: str, intents: tuple[str, ...], models: tuple[str, ...] | None = None
    ) -> dict[str, object]:
        n = below = feedback = down = 0.0
        for intent in intents:
            for model in models or ("orion-chat-1.5", "orion-chat-2.0", "lyra-medium-3", "lyra-medium-3.5"):
                prefix = f"m.{part}.{intent}.{model}."
                n += counts.get(prefix + "n", 0)
                below += counts.get(prefix + "below", 0)
                feedback += counts.get(prefix + "feedback", 0)
                down += counts.get(prefix + "thumbs_down", 0)
        return {
            "evaluated": int(n),
            "below_threshold": int(below),
            "below_threshold_rate": _ratio(below, n),
            "feedback": int(feedback),
            "thumbs_down": int(down),
            "thumbs_down_rate": _ratio(down, feedback),
        }

    def errors(part: str, slices: list[str]) -> dict[str, object]:
        n = sum(counts.get(f"n.{part}.{s}.n", 0) for s in slices)
        failed = sum(counts.get(f"n.{part}.{s}.errors", 0) for s in slices)
        return {"calls": int(n), "errors": int(failed), "error_rate": _ratio(failed, n)}

    every_slice = [f"{p}/{r}" for p in PROVIDERS for r in REGIONS[p]]
    outage_slice = f"{OUTAGE_PROVIDER}/{OUTAGE_REGION}"
    rest = [s for s in every_slice if s != outage_slice]
    first_leak, last_leak = times("k.times")
    first_attempt, last_attempt = times("l.times")
    by_user = sorted(totals.attempts_by_user.items(), key=lambda item: (-item[1], item[0]))
    attackers = [ctx.user_ids[int(i)] for i in ctx.attackers]
    other_intents = tuple(i for i in INTENTS if i != "refund")
    scenarios: list[dict[str, object]] = [
        {
            "id": "k_pii_exposure",
            **common("k", "pii_exposure"),
            "cause": {
                "kind": "retrieval_change",
                "data_source": {"before": INDEX_BEFORE, "after": INDEX_LEAKY},
                "onset": onset_end("k")["onset"],
                "change_event": CHANGE_EVENTS["k"],
            },
            "failure_signal": ExposureFindingSignal().model_dump(mode="json"),
            "exposure": {
                "where": "gen_ai.output.messages of chat spans (the answers); the ticket documents' text is "
                "also in the output of their retrieval spans",
                "rows": int(counts.get("k.rows", 0)),
                "conversations": size("k.conversations"),
                "users": size("k.users"),
                "exposed_persons": size("k.exposed_persons"),
                "entity_types": {
                    kind: {
                        "rows": int(counts.get(f"k.type.{kind}.rows", 0)),
                        "conversations": size(f"k.type.{kind}.conversations"),
                        "users": size(f"k.type.{kind}.users"),
                    }
                    for kind in ENTITY_TYPES
                    if counts.get(f"k.type.{kind}.rows", 0)
                },
                "retrieval_document_ids": sorted(sets.get("k.documents", ())),
                "ticket_retrievals": int(counts.get("k.ticket_retrievals", 0)),
                "first_seen": first_leak,
                "last_seen": last_leak,
                "still_happening": False,
                "values": sorted(totals.leaked_values),
            },
            "affected": {
                "definition": "chat spans whose answer quotes another customer's e-mail address, phone "
                "number or (Luhn-valid) card number; users = the enduser.id that received them",
                "calls": int(counts.get("k.rows", 0)),
                "conversations": size("k.conversations"),
                "users": size("k.users"),
            },
            "signal_affected": {
                "definition": _SIGNAL_AFFECTED + " (no answer leaks outside the planted turns)",
                "calls": int(counts.get("k.rows", 0)),
                "conversations": size("k.conversations"),
                "users": size("k.users"),
            },
        },
        {
            "id": "l_prompt_injection",
            **common("l", "prompt_injection"),
            "cause": {
                "kind": "new_tool",
                "tool": NEW_TOOL,
                "agent_version": {"before": "2.2.0", "after": "2.3.0"},
                "at": iso(from_us(cal.tool_release)),
                "onset": onset_end("l")["onset"],
                "change_event": CHANGE_EVENTS["l"],
            },
            "failure_signal": InjectionSuccessSignal().model_dump(mode="json"),
            "injection": {
                "first_attempt": first_attempt,
                "last_attempt": last_attempt,
                "attempts": {
                    "total": int(counts.get("l.attempts", 0)),
                    "direct": int(counts.get("l.attempts.direct", 0)),
                    "indirect": int(counts.get("l.attempts.indirect", 0)),
                },
                "successes": {
                    "total": int(counts.get("l.successes", 0)),
                    "direct": int(counts.get("l.successes.direct", 0)),
                    "indirect": int(counts.get("l.successes.indirect", 0)),
                    "system_echo": int(counts.get("l.successes.system_echo", 0)),
                    "tool_call": int(counts.get("l.successes.tool_call", 0)),
                },
                "content_filter_stops": int(counts.get("l.content_filter", 0)),
                "system_echo_marker": SYSTEM_ECHO,
                "tool": NEW_TOOL,
                "poisoned_document_id": POISONED_DOCUMENT,
                "conversations": size("l.conversations"),
                "direct_users": [{"user": user, "attempts": n} for user, n in by_user],
                "main_attackers": sorted(attackers),
                "indirect_users": size("l.indirect_users"),
                "success_users": size("l.success_users"),
                "definition": "an attempt is a chat span whose user input is a direct injection or whose "
                "retrieval step returned the poisoned document; a success is an attempt whose answer echoes "
                "the system instructions or whose trace holds an issue_refund tool call",
            },
            "affected": {
                "definition": "chat spans of successful injections",
                "calls": int(counts.get("l.successes", 0)),
                "conversations": size("l.success_conversations"),
                "users": size("l.success_users"),
            },
            "signal_affected": {
                "definition": _SIGNAL_AFFECTED + " (no injection succeeds outside the planted campaign)",
                "calls": int(counts.get("l.successes", 0)),
                "conversations": size("l.success_conversations"),
                "users": size("l.success_users"),
            },
        },
        {
            "id": "m_hallucination",
            **common("m", "hallucination_rise"),
            "cause": {
                "kind": "model_change",
                "provider": "azure.ai.openai",
                "model": {"before": "orion-chat-1.5", "after": "orion-chat-2.0"},
                "intent": "refund",
                "onset": onset_end("m")["onset"],
                "change_event": CHANGE_EVENTS["m"],
            },
            "evaluation": {"name": EVALUATIONS[0], "threshold": GROUNDEDNESS_THRESHOLD, "feedback": FEEDBACK},
            "failure_signal": EvaluationScoreSignal(
                evaluation=EVALUATIONS[0], below=GROUNDEDNESS_THRESHOLD
            ).model_dump(mode="json"),
            "effects": {
                "refund_reference": grounded("m_ref", ("refund",)),
                "refund_incident": grounded("m_inc", ("refund",)),
                "refund_incident_switched_model": grounded("m_inc", ("refund",), ("orion-chat-2.0",)),
                "other_intents_reference": grounded("m_ref", other_intents),
                "other_intents_incident": grounded("m_inc", other_intents),
            },
            "affected": {
                "definition": "refund chat spans answered by orion-chat-2.0 whose groundedness score is "
                f"below {GROUNDEDNESS_THRESHOLD}",
                "calls": int(counts.get("m.affected", 0)),
                "conversations": size("m.conversations"),
                "users": size("m.users"),
            },
            "signal_affected": {
                "definition": _SIGNAL_AFFECTED + " (the planted refund answers and background low scores)",
                "calls": int(counts.get("m.signal", 0)),
                "conversations": size("m.signal.conversations"),
                "users": size("m.signal.users"),
            },
        },
        {
            "id": "n_provider_outage",
            **common("n", "provider_outage"),
            "cause": {
                "kind": "provider_outage",
                "provider": OUTAGE_PROVIDER,
                "region": OUTAGE_REGION,
                "error_type": "503",
                "onset": onset_end("n")["onset"],
                "change_event": None,
            },
            "slice": [
                {"column": "gen_ai.provider.name", "op": "==", "value": OUTAGE_PROVIDER},
                {"column": "cloud.region", "op": "==", "value": OUTAGE_REGION},
            ],
            "failure_signal": ErrorTypeSignal().model_dump(mode="json"),
            "effects": {
                "slice_incident": errors("n_inc", [outage_slice]),
                "rest_incident": errors("n_inc", rest),
                "slice_reference": errors("n_ref", [outage_slice]),
                "rest_reference": errors("n_ref", rest),
            },
            "affected": {
                "definition": "chat spans of the outage slice in the three hours with an error.type",
                "calls": int(counts.get("n.affected", 0)),
                "conversations": size("n.conversations"),
                "users": size("n.users"),
            },
            "signal_affected": {
                "definition": _SIGNAL_AFFECTED + " (the outage slice's errors and background errors)",
                "calls": int(counts.get("n.signal", 0)),
                "conversations": size("n.signal.conversations"),
                "users": size("n.signal.users"),
            },
        },
        {
            "id": "o_control",
            **common("o", "control", control=True),
            "cause": {"kind": None, "onset": None, "change_event": None},
            "harmless_change": {
                "at": iso(from_us(cal.prompts[1][0])),
                "prompt_version": {"before": "v5", "after": "v6"},
            },
            "failure_signal": None,
            "effects": {
                "errors_reference": errors("o_ref", every_slice),
                "errors_incident": errors("o_inc", every_slice),
                "groundedness_reference": grounded("o_ref", INTENTS),
                "groundedness_incident": grounded("o_inc", INTENTS),
            },
            "affected": {
                "definition": "none: nothing is planted in the control window (it holds a harmless prompt "
                "version change); no leak and no injection attempt",
                "calls": 0,
                "conversations": 0,
                "users": 0,
            },
        },
    ]
    background = {
        "rows": totals.rows,
        "evaluation_rows": totals.evaluation_rows,
        "own_email_inputs": int(counts.get("benign.own_email_inputs", 0)),
        "own_phone_inputs": int(counts.get("benign.own_phone_inputs", 0)),
        "typo_card_inputs": int(counts.get("benign.typo_card_inputs", 0)),
        "tracking_reference_outputs": int(counts.get("benign.tracking_outputs", 0)),
        "note": "benign look-alikes, not leaks: users type their own e-mail and phone and mistyped card "
        "numbers (fail Luhn); answers quote order numbers, Luhn-failing tracking references and the last "
        "four digits of the user's own card",
    }
    return {"llm_background": background, "llm_scenarios": scenarios}
