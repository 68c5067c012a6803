"""Register seed records of the tabletop scenarios: AI systems, incidents, timelines, actions, notices.

Built with the register's own pydantic records and vocabularies (``register.schema``), so every row is
validated on construction. Narrative fields are blameless and systems-focused, except for the incidents
listed in ``blame_ids`` of the result, which carry a blame phrase on purpose (for the blameless check).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypedDict

import numpy as np

from register.schema import (
    ActionItem,
    ActionItemKind,
    ActionItemStatus,
    AiSystem,
    DataQualitySignal,
    DetectionSource,
    ErrorTypeSignal,
    EvaluationScoreSignal,
    ExposureFindingSignal,
    Incident,
    IncidentCategory,
    IncidentStatus,
    InjectionSuccessSignal,
    LabelErrorSignal,
    Notification,
    NotificationAudience,
    PostmortemStatus,
    PredictionConditionSignal,
    ReportType,
    Role,
    Severity,
    TimelineEvent,
    TimelineEventKind,
)
from workbench.scenarios._chat_truth import CHANGE_EVENTS
from workbench.scenarios._chatbot import chat_calendar
from workbench.scenarios._plan import Plan, from_us

__all__ = ["RegisterSeed", "build_register"]

C = IncidentCategory
N_BACKGROUND_INCIDENTS = 164

PEOPLE = (
    "Amara Okafor", "Jonas Lindqvist", "Priya Raman", "Mateo Alvarez", "Hana Kobayashi", "Lukas Brenner",
    "Zainab Haddad", "Tomasz Nowak", "Ines Carvalho", "Kwame Mensah", "Sofia Marchetti", "Daniel Reyes",
    "Yara Sato", "Elena Petrova", "Oskar Holm", "Nadia Rahman", "Samuel Ade", "Clara Dubois",
    "Ravi Menon", "Leila Farouk", "Martin Kraus", "Aiko Tanaka", "Felix Novak", "Grace Mwangi",
)  # fmt: skip


class SystemMeta(TypedDict):
    """One AI system of the scenario's register, and the incident categories it can have."""

    name: str
    team: str
    use_case: str
    risk_tier: str
    developer: str
    categories: tuple[IncidentCategory, ...]


SYSTEMS: dict[str, SystemMeta] = {
    "credit_scoring": {
        "name": "Consumer credit scoring",
        "team": "Credit Risk ML",
        "use_case": "Approve or decline consumer loan applications",
        "risk_tier": "eu_ai_act_high_risk",
        "developer": "in-house",
        "categories": (C.PERFORMANCE_DEGRADATION, C.FAIRNESS_BIAS, C.DATA_QUALITY, C.SECURITY,
                       C.DATA_EXPOSURE_PRIVACY, C.UNAUTHORIZED_USE, C.HUMAN_OVERSIGHT_FAILURE,
                       C.REPUTATIONAL, C.VENDOR_OUTAGE),
    },
    "fraud_detection": {
        "name": "Card fraud detection",
        "team": "Fraud Analytics",
        "use_case": "Flag card transactions for review or decline",
        "risk_tier": "limited",
        "developer": "in-house",
        "categories": (C.PERFORMANCE_DEGRADATION, C.FAIRNESS_BIAS, C.DATA_QUALITY, C.SECURITY,
                       C.VENDOR_OUTAGE, C.HUMAN_OVERSIGHT_FAILURE, C.UNAUTHORIZED_USE,
                       C.DATA_EXPOSURE_PRIVACY),
    },
    "dynamic_pricing": {
        "name": "Dynamic pricing",
        "team": "Pricing Science",
        "use_case": "Set online prices per product from demand, competition and inventory",
        "risk_tier": "minimal",
        "developer": "in-house",
        "categories": (C.PERFORMANCE_DEGRADATION, C.DATA_QUALITY, C.FAIRNESS_BIAS, C.REPUTATIONAL,
                       C.VENDOR_OUTAGE, C.UNAUTHORIZED_USE),
    },
    "support_chatbot": {
        "name": "Customer-support chatbot",
        "team": "Customer AI",
        "use_case": "Answer customer questions on accounts, cards and loans (LLM with retrieval)",
        "risk_tier": "limited",
        "developer": "general-purpose model vendor, fine-tuned in-house",
        "categories": (C.HALLUCINATION, C.PROMPT_INJECTION, C.HARMFUL_CONTENT, C.DATA_EXPOSURE_PRIVACY,
                       C.SAFETY, C.REPUTATIONAL, C.VENDOR_OUTAGE, C.SECURITY, C.HUMAN_OVERSIGHT_FAILURE,
                       C.PERFORMANCE_DEGRADATION, C.FAIRNESS_BIAS),
    },
    "recommender": {
        "name": "Product recommender",
        "team": "Personalisation",
        "use_case": "Rank products and offers on the home page and in the app",
        "risk_tier": "minimal",
        "developer": "in-house",
        "categories": (C.HARMFUL_CONTENT, C.FAIRNESS_BIAS, C.PERFORMANCE_DEGRADATION, C.DATA_QUALITY,
                       C.SAFETY, C.REPUTATIONAL, C.VENDOR_OUTAGE, C.UNAUTHORIZED_USE),
    },
}  # fmt: skip

# Data-bearing categories do not happen on the logged systems inside the log span (their logs show no such
# failure); incidents there are of kinds that leave no trace in prediction logs.
_LOG_SILENT = (C.SECURITY, C.UNAUTHORIZED_USE, C.REPUTATIONAL, C.HUMAN_OVERSIGHT_FAILURE,
               C.DATA_EXPOSURE_PRIVACY)  # fmt: skip

# category -> (title, summary, trigger, root cause category, contributing factors, resolution, lessons)
NARRATIVES: dict[IncidentCategory, tuple[tuple[str, str, str, str, tuple[str, ...], str, str], ...]] = {
    C.PERFORMANCE_DEGRADATION: (
        ("{name}: accuracy below its monitoring threshold",
         "Weekly evaluation showed the model's error rate above the agreed threshold for several days.",
         "scheduled evaluation job", "model_staleness",
         ("retraining cadence longer than the data's rate of change",
          "alert threshold set on a monthly average"),
         "Retrained on recent data and validated against the holdout before redeploying.",
         "Evaluate on a rolling window and alert on the daily rate, not the monthly average."),
        ("{name}: latency spike degraded decisions to fallback rules",
         "A capacity limit in the feature store made requests time out and fall back to static rules.",
         "traffic peak", "capacity",
         ("autoscaling limit unchanged since launch", "fallback rate not monitored"),
         "Raised the capacity limit and added an alert on the fallback rate.",
         "Track fallback decisions as a first-class quality metric."),
    ),
    C.FAIRNESS_BIAS: (
        ("{name}: outcome gap between customer groups above policy",
         "The quarterly fairness review found the selection-rate ratio between groups below the "
         "policy floor.",
         "quarterly fairness review", "proxy_feature",
         ("a feature correlated with a protected attribute", "fairness checks not part of release gating"),
         "Removed the proxy feature, retrained, and added fairness metrics to the release checklist.",
         "Gate releases on disaggregated metrics, with intervals, not only on overall accuracy."),
    ),
    C.SAFETY: (
        ("{name}: unsafe guidance surfaced to a customer",
         "The system surfaced guidance that could lead a vulnerable customer to a harmful action.",
         "customer complaint", "guardrail_gap",
         ("safety filter did not cover the topic", "no escalation path for sensitive topics"),
         "Extended the safety filter and routed the topic to human agents.",
         "Red-team sensitive topics before each release."),
    ),
    C.SECURITY: (
        ("{name}: exposed service credential in a configuration repository",
         "A service credential with read access to the model registry was found in a configuration file.",
         "secret scanning", "secrets_management",
         ("secret scanning not enabled on the repository", "long-lived credentials"),
         "Rotated the credential, enabled secret scanning and moved to short-lived tokens.",
         "Treat model infrastructure like any production service in security reviews."),
    ),
    C.PROMPT_INJECTION: (
        ("{name}: instructions hidden in a retrieved document changed its behaviour",
         "Text embedded in a help-centre page instructed the assistant to reveal internal notes.",
         "red-team exercise", "untrusted_context",
         ("retrieved content treated as trusted instructions", "no output filter for internal notes"),
         "Separated retrieved content from instructions and added an output filter.",
         "Test retrieval sources with injection payloads as part of release testing."),
    ),
    C.DATA_EXPOSURE_PRIVACY: (
        ("{name}: personal data visible to the wrong customer",
         "A caching change let a small number of responses include another customer's details.",
         "customer report", "caching",
         ("cache key did not include the customer id", "no test covering cross-customer isolation"),
         "Disabled the cache, purged it, and added an isolation test to the pipeline.",
         "Review cache keys in every change that touches personal data."),
    ),
    C.DATA_QUALITY: (
        ("{name}: upstream feature arrived with a changed unit",
         "An upstream table switched a field from monthly to annual values without a schema change.",
         "data validation alert", "upstream_contract",
         ("no data contract with the upstream team", "range checks too permissive"),
         "Agreed a data contract, fixed the unit and backfilled the affected features.",
         "Validate ranges and units at the feature boundary with alerting."),
    ),
    C.HALLUCINATION: (
        ("{name}: invented policy details in answers",
         "The assistant stated fee waivers that do not exist when the retrieval step returned no document.",
         "customer complaint", "retrieval_gap",
         ("no refusal when retrieval is empty", "evaluation set missing out-of-scope questions"),
         "Added a grounded-answer check and a refusal when no source is retrieved.",
         "Measure groundedness on out-of-scope questions before release."),
    ),
    C.HARMFUL_CONTENT: (
        ("{name}: inappropriate content shown to customers",
         "Content that breaches the content policy was surfaced to a small number of customers.",
         "user report", "content_filter",
         ("filter thresholds tuned on an older catalogue", "no human review of new content sources"),
         "Tightened the filter, removed the items and added review for new sources.",
         "Re-tune content filters when the content mix changes."),
    ),
    C.VENDOR_OUTAGE: (
        ("{name}: third-party model API unavailable",
         "The vendor's API returned errors for several hours; requests fell back to a degraded mode.",
         "vendor status page", "dependency",
         ("single vendor without a tested fallback", "timeouts longer than the user-facing budget"),
         "Failed over to the fallback path and shortened the timeouts.",
         "Exercise the vendor fallback path regularly."),
    ),
    C.UNAUTHORIZED_USE: (
        ("{name}: model outputs used outside their approved purpose",
         "A reporting team reused the model's scores for a purpose the model was not assessed for.",
         "internal audit", "access_control",
         ("scores exported without purpose limitation", "model card not linked from the data catalogue"),
         "Revoked the export and registered the new use for assessment.",
         "Attach the intended use to every exported model output."),
    ),
    C.HUMAN_OVERSIGHT_FAILURE: (
        ("{name}: review queue bypassed during a backlog",
         "A temporary setting that skipped manual review during a backlog stayed on for two weeks.",
         "internal audit", "process",
         ("temporary settings without an expiry", "no alert when the review rate drops"),
         "Restored the review step and added an expiry to temporary overrides.",
         "Every override of a human-oversight control expires and is logged."),
    ),
    C.REPUTATIONAL: (
        ("{name}: public criticism of automated decisions",
         "A social-media thread about the system's decisions drew press attention.",
         "media enquiry", "transparency",
         ("explanations to customers were generic", "complaint trends not reviewed by the product team"),
         "Published an explanation of the decision factors and improved customer notices.",
         "Review complaint themes monthly with the product owner."),
    ),
}  # fmt: skip

_BLAME_TEXT = (
    ("The incident was caused by human error: the analyst forgot to re-enable the alert after maintenance.",
     "human error"),
    ("The on-call engineer was careless and ignored the warning, so the fault ran for hours.",
     "was careless"),
)  # fmt: skip

_SLA_MINUTES = {Severity.SEV1: 15, Severity.SEV2: 60, Severity.SEV3: 240, Severity.SEV4: 1440}


@dataclass
class RegisterSeed:
    """All register records of a scenario, plus the ids the ground truth needs."""

    ai_systems: list[AiSystem]
    incidents: list[Incident] = field(default_factory=list)
    timeline_events: list[TimelineEvent] = field(default_factory=list)
    action_items: list[ActionItem] = field(default_factory=list)
    notifications: list[Notification] = field(default_factory=list)
    planted_ids: dict[str, str] = field(default_factory=dict)
    blame_ids: list[str] = field(default_factory=list)


@dataclass
class _Draft:
    """An incident before it has an id (ids follow the order of awareness)."""

    fields: dict[str, Any]  # keyword arguments of register.schema.Incident
    events: list[tuple[datetime, TimelineEventKind, str, Role | None]]
    planted: str | None = None
    blame: bool = False


def _label(member: enum.Enum) -> str:
    """What people read for a register vocabulary member (``register.schema`` sets ``label`` per member)."""
    return str(member.label)  # type: ignore[attr-defined]  # not declared on the enum class


def _lognormal_hours(rng: np.random.Generator, median: float, sigma: float = 0.8) -> timedelta:
    return timedelta(hours=float(np.exp(rng.normal(np.log(median), sigma))))


def _background_draft(
    rng: np.random.Generator,
    plan: Plan,
    category: IncidentCategory,
    system: str,
    recent: bool = False,
) -> _Draft:
    """A background incident of the scenario register.

    Long because it is one declaration: each field of a background incident drawn from the seeded
    generator in turn; split, the draw order (and so the data of a seed) would be harder to keep.
    """
    as_of = plan.as_of
    start = as_of - timedelta(days=730)
    occurred = start + timedelta(days=float(730 * rng.random() ** 0.85))
    if recent:  # one of the few incidents still open at as_of
        occurred = as_of - timedelta(days=float(rng.uniform(2, 9)))
    occurred = occurred.replace(microsecond=0)
    severity = list(Severity)[int(rng.choice(len(Severity), p=[0.03, 0.14, 0.40, 0.43]))]
    near_miss = rng.random() < 0.15 and severity in (Severity.SEV3, Severity.SEV4)
    sources = list(DetectionSource)
    source = sources[int(rng.choice(len(sources), p=[0.38, 0.2, 0.14, 0.07, 0.03, 0.04, 0.14]))]
    detect_median = {Severity.SEV1: 1.0, Severity.SEV2: 4.0, Severity.SEV3: 10.0, Severity.SEV4: 24.0}[
        severity
    ]
    aware = occurred + _lognormal_hours(rng, detect_median, 1.0)
    sla = timedelta(minutes=_SLA_MINUTES[severity])
    acknowledged = aware + sla * float(np.exp(rng.normal(np.log(0.5), 0.7)))
    triaged = acknowledged + _lognormal_hours(rng, 2.0)
    causal = triaged + _lognormal_hours(rng, 24.0) if rng.random() < 0.6 else None
    contained = triaged + _lognormal_hours(rng, {1: 4.0, 2: 10.0, 3: 30.0, 4: 48.0}[severity.rank])
    resolved = contained + _lognormal_hours(rng, 72.0)
    closed = resolved + _lognormal_hours(rng, 240.0)
    stamps = {
        "acknowledged_at": acknowledged,
        "triaged_at": triaged,
        "causal_link_at": causal,
        "contained_at": contained,
        "resolved_at": resolved,
        "closed_at": closed,
    }
    stamps = {
        key: (value.replace(microsecond=0) if value is not None and value <= as_of else None)
        for key, value in stamps.items()
    }
    aware = aware.replace(microsecond=0)
    # keep the chain consistent: a later stage cannot exist without the earlier ones
    order = ["acknowledged_at", "triaged_at", "contained_at", "resolved_at", "closed_at"]
    for earlier, later in zip(order, order[1:], strict=False):
        if stamps[earlier] is None:
            stamps[later] = None
    if stamps["triaged_at"] is None:
        stamps["causal_link_at"] = None
    if stamps["closed_at"] is not None:
        status = IncidentStatus.CLOSED
    elif stamps["resolved_at"] is not None:
        status = IncidentStatus.RECOVERED
    elif stamps["contained_at"] is not None:
        status = IncidentStatus.INVESTIGATING if rng.random() < 0.5 else IncidentStatus.CONTAINED
    elif stamps["triaged_at"] is not None:
        status = IncidentStatus.TRIAGED
    else:
        status = IncidentStatus.DETECTED
    template = NARRATIVES[category][int(rng.integers(len(NARRATIVES[category])))]
    name = SYSTEMS[system]["name"]
    title, summary, trigger, root, factors, resolution, lessons = template
    notifiable = severity in (Severity.SEV1, Severity.SEV2) and category in (
        C.FAIRNESS_BIAS, C.DATA_EXPOSURE_PRIVACY, C.SAFETY, C.HARMFUL_CONTENT, C.SECURITY,
    )  # fmt: skip
    people = rng.choice(len(PEOPLE), 6, replace=False)
    high = severity in (Severity.SEV1, Severity.SEV2)
    done = status in (IncidentStatus.RECOVERED, IncidentStatus.CLOSED)
    if status is IncidentStatus.CLOSED:
        pm = (
            PostmortemStatus.PUBLISHED
            if high
            else (PostmortemStatus.REVIEWED if severity is Severity.SEV3 else PostmortemStatus.NOT_STARTED)
        )
    elif done:
        pm = PostmortemStatus.IN_REVIEW if high else PostmortemStatus.DRAFT
    else:
        pm = PostmortemStatus.NOT_STARTED
    fields: dict[str, object] = {
        "title": title.format(name=name),
        "summary": summary,
        "system_id": system,
        "category": category,
        "kind": "near_miss" if near_miss else "incident",
        "severity": severity,
        "status": status,
        "detection_source": source,
        "occurred_at": occurred,
        "aware_at": aware,
        **stamps,
        "affected_count": None if near_miss else int(np.exp(rng.normal(5.0, 1.8))) if done else None,
        "ongoing": stamps["contained_at"] is None,
        "reversible": bool(rng.random() < 0.7),
        "regulatory_notifiable": notifiable and not near_miss,
        "publicly_visible": source is DetectionSource.MEDIA or category is C.REPUTATIONAL,
        "evidence_hold": notifiable and not near_miss,
        "incident_commander": PEOPLE[people[0]] if severity is not Severity.SEV4 else None,
        "technical_lead": PEOPLE[people[1]],
        "communications_lead": PEOPLE[people[2]] if high else None,
        "legal_compliance": PEOPLE[people[3]] if high or notifiable else None,
        "data_lead": PEOPLE[people[4]]
        if category in (C.DATA_QUALITY, C.DATA_EXPOSURE_PRIVACY, C.FAIRNESS_BIAS)
        else None,
        "postmortem_facilitator": PEOPLE[people[5]] if severity.rank <= 3 else None,
        "trigger": trigger,
        "root_cause_category": root if done else None,
        "contributing_factors": list(factors) if done else [],
        "resolution": resolution if done else None,
        "lessons_learned": lessons if status is IncidentStatus.CLOSED else None,
        "tags": [category.value, severity.value.lower()],
        "postmortem_status": pm,
    }
    events: list[tuple[datetime, TimelineEventKind, str, Role | None]] = [
        (aware, TimelineEventKind.DETECTION, f"Detected via {_label(source).lower()}.", None)
    ]
    if stamps["acknowledged_at"]:
        events.append(
            (
                stamps["acknowledged_at"],
                TimelineEventKind.ESCALATION,
                "Incident acknowledged and response team paged.",
                Role.INCIDENT_COMMANDER,
            )
        )
    if stamps["triaged_at"]:
        events.append(
            (
                stamps["triaged_at"],
                TimelineEventKind.DECISION,
                f"Triaged as {severity.value}; scope and owners agreed.",
                Role.INCIDENT_COMMANDER,
            )
        )
    if stamps["causal_link_at"]:
        events.append(
            (
                stamps["causal_link_at"],
                TimelineEventKind.EVIDENCE,
                "Causal link between the system and the impact established.",
                Role.TECHNICAL_LEAD,
            )
        )
    if stamps["contained_at"]:
        events.append(
            (
                stamps["contained_at"],
                TimelineEventKind.CONTAINMENT,
                "Containment in place; impact no longer growing.",
                Role.TECHNICAL_LEAD,
            )
        )
    if stamps["resolved_at"]:
        events.append((stamps["resolved_at"], TimelineEventKind.NOTE, "Service recovered.", None))
    return _Draft(fields, events)


def _planted_drafts(plan: Plan, effects_tolerance_lag: timedelta) -> list[_Draft]:
    """The planted incidents of the scenario register.

    Long because it is data: the planted incidents written out as records, one literal per scenario.
    """

    def t(us: int | None) -> datetime:
        if us is None:
            raise ValueError("a planted scenario's onset and end must be set. Got None instead.")
        return from_us(us)

    drafts: list[_Draft] = []
    h = timedelta(hours=1)
    # (a) pricing: stale inventory feed, still ongoing at as_of
    onset = t(plan.onsets["a"])
    aware = onset + 14.5 * h
    drafts.append(
        _Draft(
            {
                "title": "Dynamic pricing: prices set from stale inventory for one warehouse",
                "summary": "The hourly inventory snapshot for one warehouse stopped updating; the pricing "
                "model kept using the last snapshot, so prices no longer reflected stock levels.",
                "system_id": "dynamic_pricing",
                "category": C.DATA_QUALITY,
                "severity": Severity.SEV2,
                "status": IncidentStatus.TRIAGED,
                "detection_source": DetectionSource.MONITORING_ALERT,
                "occurred_at": onset,
                "aware_at": aware,
                "acknowledged_at": aware + 0.4 * h,
                "triaged_at": aware + 2.5 * h,
                "ongoing": True,
                "reversible": True,
                "incident_commander": "Oskar Holm",
                "technical_lead": "Aiko Tanaka",
                "data_lead": "Ravi Menon",
                "communications_lead": "Clara Dubois",
                "legal_compliance": None,
                "trigger": "price-error monitor on recent clearing prices",
                "model_versions": ["0.9.4"],
                "tags": ["planted", "stale_input"],
                "failure_signal": DataQualitySignal(
                    column="inventory_level", condition="stale", max_lag=effects_tolerance_lag
                ),
            },
            [
                (
                    onset,
                    TimelineEventKind.CONFIG_OR_PIPELINE_CHANGE,
                    "Inventory snapshot job for one warehouse migrated to a new scheduler.",
                    None,
                ),
                (
                    aware,
                    TimelineEventKind.DETECTION,
                    "Price-error monitor alerted on rising relative error.",
                    None,
                ),
                (
                    aware + 0.4 * h,
                    TimelineEventKind.ESCALATION,
                    "Pricing on-call paged.",
                    Role.INCIDENT_COMMANDER,
                ),
                (
                    aware + 2.5 * h,
                    TimelineEventKind.DECISION,
                    "Triaged as SEV-2; impact assessment started.",
                    Role.INCIDENT_COMMANDER,
                ),
            ],
            planted="a",
        )
    )
    # (b) credit: covariate drift
    onset, end = t(plan.onsets["b"]), t(plan.ends["b"])
    aware = onset + 2.8 * 24 * h
    drafts.append(
        _Draft(
            {
                "title": "Credit scoring: input distribution shift after bureau feed change",
                "summary": "The bureau data feed changed how it derives two fields and a new partner channel "
                "went live; the model scored applicants whose inputs differed from its training data.",
                "system_id": "credit_scoring",
                "category": C.PERFORMANCE_DEGRADATION,
                "severity": Severity.SEV3,
                "status": IncidentStatus.CLOSED,
                "detection_source": DetectionSource.MONITORING_ALERT,
                "occurred_at": onset,
                "aware_at": aware,
                "acknowledged_at": aware + 1.5 * h,
                "triaged_at": aware + 4 * h,
                "causal_link_at": aware + 30 * h,
                "contained_at": end,
                "resolved_at": end + 48 * h,
                "closed_at": end + 12 * 24 * h,
                "reversible": True,
                "incident_commander": "Priya Raman",
                "technical_lead": "Jonas Lindqvist",
                "data_lead": "Elena Petrova",
                "postmortem_facilitator": "Grace Mwangi",
                "trigger": "weekly feature-drift report",
                "root_cause_category": "upstream_contract",
                "contributing_factors": [
                    "vendor field definitions changed without notice",
                    "new channel launched without a model review",
                ],
                "resolution": "Vendor restored the previous field definitions; partner channel routed to "
                "manual review.",
                "lessons_learned": "Version upstream data contracts and review the model before opening a "
                "new channel.",
                "model_versions": ["1.4.0"],
                "tags": ["planted", "covariate_drift"],
                "postmortem_status": PostmortemStatus.REVIEWED,
            },
            [
                (
                    onset,
                    TimelineEventKind.CONFIG_OR_PIPELINE_CHANGE,
                    "Bureau vendor switched to new field derivations; partner channel enabled.",
                    None,
                ),
                (aware, TimelineEventKind.DETECTION, "Weekly drift report flagged three features.", None),
                (aware + 4 * h, TimelineEventKind.DECISION, "Triaged as SEV-3.", Role.INCIDENT_COMMANDER),
                (
                    end,
                    TimelineEventKind.CONTAINMENT,
                    "Vendor mapping restored; partner channel paused.",
                    Role.TECHNICAL_LEAD,
                ),
            ],
            planted="b",
        )
    )
    # (c) credit: deploy opens a fairness gap
    onset, end = t(plan.onsets["c"]), t(plan.ends["c"])
    aware = onset + 4.5 * 24 * h
    drafts.append(
        _Draft(
            {
                "title": "Credit scoring: approval-rate gap between groups after model 2.0.0",
                "summary": "After model 2.0.0 went live, approval rates for one group of applicants fell "
                "well below the rest; the new regional risk features acted as a proxy.",
                "system_id": "credit_scoring",
                "category": C.FAIRNESS_BIAS,
                "severity": Severity.SEV2,
                "status": IncidentStatus.CLOSED,
                "detection_source": DetectionSource.AUDIT,
                "occurred_at": onset,
                "aware_at": aware,
                "acknowledged_at": aware + 0.6 * h,
                "triaged_at": aware + 3 * h,
                "causal_link_at": end - 20 * h,
                "contained_at": end,
                "resolved_at": end + 30 * h,
                "closed_at": end + 21 * 24 * h,
                "reversible": False,
                "regulatory_notifiable": True,
                "evidence_hold": True,
                "incident_commander": "Amara Okafor",
                "technical_lead": "Mateo Alvarez",
                "communications_lead": "Sofia Marchetti",
                "legal_compliance": "Leila Farouk",
                "data_lead": "Hana Kobayashi",
                "postmortem_facilitator": "Samuel Ade",
                "trigger": "weekly fairness monitor",
                "root_cause_category": "proxy_feature",
                "contributing_factors": [
                    "regional features correlated with a protected attribute",
                    "release gate checked overall accuracy only",
                ],
                "resolution": "Rolled back to model 1.4.0; affected applications queued for re-review.",
                "lessons_learned": "Gate releases on disaggregated selection rates and TPR with intervals.",
                "model_versions": ["2.0.0", "1.4.0"],
                # discrimination in credit decisions: an infringement of fundamental-rights law (AI Act
                # Art. 3(49)(c)); applicants in Colorado; the bank built the model (provider)
                "tags": [
                    "planted",
                    "fairness",
                    "fundamental_rights",
                    "jurisdiction:US-CO",
                    "operator_role:provider",
                ],
                "postmortem_status": PostmortemStatus.PUBLISHED,
            },
            [
                (
                    onset,
                    TimelineEventKind.DEPLOY,
                    "Model 2.0.0 deployed to all traffic.",
                    Role.TECHNICAL_LEAD,
                ),
                (
                    aware,
                    TimelineEventKind.DETECTION,
                    "Fairness monitor: selection-rate ratio below 0.8.",
                    None,
                ),
                (
                    aware + 3 * h,
                    TimelineEventKind.DECISION,
                    "Triaged as SEV-2; legal informed.",
                    Role.INCIDENT_COMMANDER,
                ),
                (end, TimelineEventKind.DEPLOY, "Rolled back to model 1.4.0.", Role.TECHNICAL_LEAD),
                (end, TimelineEventKind.CONTAINMENT, "Rollback complete.", Role.TECHNICAL_LEAD),
            ],
            planted="c",
        )
    )
    # (d) fraud: pipeline fault nulls a feature in one slice
    onset, end = t(plan.onsets["d"]), t(plan.ends["d"])
    aware = onset + 20 * h
    drafts.append(
        _Draft(
            {
                "title": "Fraud detection: legitimate mobile payments declined in one region",
                "summary": "A pipeline change left the device trust score empty for mobile-app payments in "
                "one region; the model's serving fallback treated those payments as high risk.",
                "system_id": "fraud_detection",
                "category": C.DATA_QUALITY,
                "severity": Severity.SEV3,
                "status": IncidentStatus.CLOSED,
                "detection_source": DetectionSource.USER_REPORT,
                "occurred_at": onset,
                "aware_at": aware,
                "acknowledged_at": aware + 2 * h,
                "triaged_at": aware + 5 * h,
                "causal_link_at": aware + 40 * h,
                "contained_at": end,
                "resolved_at": end + 24 * h,
                "closed_at": end + 14 * 24 * h,
                "reversible": True,
                "incident_commander": "Kwame Mensah",
                "technical_lead": "Tomasz Nowak",
                "data_lead": "Yara Sato",
                "postmortem_facilitator": "Daniel Reyes",
                "trigger": "customer complaints about declined payments",
                "root_cause_category": "pipeline_change",
                "contributing_factors": [
                    "join key renamed in one regional partition",
                    "no null-rate alert per slice",
                    "fallback value not reviewed",
                ],
                "resolution": "Fixed the join and reprocessed the partition; null-rate alerts added per "
                "slice.",
                "lessons_learned": "Alert on null rates by segment, not only globally.",
                "model_versions": ["3.2.1"],
                "tags": ["planted", "pipeline_fault"],
                "postmortem_status": PostmortemStatus.REVIEWED,
                "failure_signal": DataQualitySignal(column="device_trust_score", condition="null"),
            },
            [
                (
                    onset,
                    TimelineEventKind.CONFIG_OR_PIPELINE_CHANGE,
                    "Device-signal pipeline change released.",
                    None,
                ),
                (aware, TimelineEventKind.DETECTION, "Complaints about declined mobile payments.", None),
                (aware + 5 * h, TimelineEventKind.DECISION, "Triaged as SEV-3.", Role.INCIDENT_COMMANDER),
                (end, TimelineEventKind.CONTAINMENT, "Pipeline fix deployed.", Role.TECHNICAL_LEAD),
            ],
            planted="d",
        )
    )
    # (e) fraud: concept drift
    onset, end = t(plan.onsets["e"]), t(plan.ends["e"])
    aware = onset + 6 * 24 * h
    drafts.append(
        _Draft(
            {
                "title": "Fraud detection: missed fraud rising in card-not-present payments",
                "summary": "A fraud campaign in card-not-present payments changed what fraud looks like; the "
                "model's inputs did not change but its error rate rose as chargebacks arrived.",
                "system_id": "fraud_detection",
                "category": C.PERFORMANCE_DEGRADATION,
                "severity": Severity.SEV2,
                "status": IncidentStatus.RECOVERED,
                "detection_source": DetectionSource.MONITORING_ALERT,
                "occurred_at": onset,
                "aware_at": aware,
                "acknowledged_at": aware + 0.5 * h,
                "triaged_at": aware + 2 * h,
                "causal_link_at": aware + 3 * 24 * h,
                "contained_at": end,
                "resolved_at": end + 3 * 24 * h,
                "reversible": True,
                "incident_commander": "Ines Carvalho",
                "technical_lead": "Lukas Brenner",
                "communications_lead": "Nadia Rahman",
                "legal_compliance": "Martin Kraus",
                "data_lead": "Felix Novak",
                "postmortem_facilitator": "Zainab Haddad",
                "trigger": "chargeback-rate monitor",
                "root_cause_category": "concept_drift",
                "contributing_factors": ["labels arrive weeks late", "no monitor on estimated performance"],
                "resolution": "Campaign blocked by a rule; model 3.3.0 retrained on the campaign's "
                "chargebacks.",
                "model_versions": ["3.2.1", "3.3.0"],
                "tags": ["planted", "concept_drift"],
                "postmortem_status": PostmortemStatus.IN_REVIEW,
            },
            [
                (aware, TimelineEventKind.DETECTION, "Chargeback-rate monitor alerted.", None),
                (aware + 2 * h, TimelineEventKind.DECISION, "Triaged as SEV-2.", Role.INCIDENT_COMMANDER),
                (end, TimelineEventKind.DEPLOY, "Model 3.3.0 deployed.", Role.TECHNICAL_LEAD),
                (
                    end,
                    TimelineEventKind.CONTAINMENT,
                    "Blocking rule and retrained model live.",
                    Role.TECHNICAL_LEAD,
                ),
            ],
            planted="e",
        )
    )
    return drafts


def _root_cause_drafts(plan: Plan) -> list[_Draft]:
    """The planted incidents of the root-cause scenarios: g, h and i.

    g: a regional outage; h: a faulty deploy; i: a seasonal change in who pays, recorded -- wrongly -- as
    model degradation.

    Long because it is data: three incidents written out as records.
    """
    h = timedelta(hours=1)

    def t(us: int | None) -> datetime:
        if us is None:
            raise ValueError("a planted scenario's onset and end must be set. Got None instead.")
        return from_us(us)

    drafts: list[_Draft] = []
    onset, end = t(plan.onsets["g"]), t(plan.ends["g"])
    aware = onset + 2.5 * h
    drafts.append(
        _Draft(
            {
                "title": "Fraud detection: legitimate payments declined in the north region for an afternoon",
                "summary": "The geo-enrichment service failed over to a replica that returned no distance "
                "for the north region; the model's missing-value fallback scored those payments as risky.",
                "system_id": "fraud_detection",
                "category": C.DATA_QUALITY,
                "severity": Severity.SEV2,
                "status": IncidentStatus.RECOVERED,
                "detection_source": DetectionSource.MONITORING_ALERT,
                "occurred_at": onset,
                "aware_at": aware,
                "acknowledged_at": aware + 0.3 * h,
                "triaged_at": aware + 0.8 * h,
                "causal_link_at": aware + 2 * h,
                "contained_at": end,
                "resolved_at": end + 20 * h,
                "reversible": True,
                "incident_commander": "Kwame Mensah",
                "technical_lead": "Tomasz Nowak",
                "data_lead": "Yara Sato",
                "postmortem_facilitator": "Daniel Reyes",
                "trigger": "decline-rate alert for one region",
                "root_cause_category": "upstream_outage",
                "contributing_factors": [
                    "the failover replica had no regional geo data",
                    "no null-rate alert",
                ],
                "resolution": "Failed back to the primary geo-enrichment service.",
                "model_versions": ["3.2.1"],
                "tags": ["planted", "upstream_outage"],
                "failure_signal": PredictionConditionSignal(column="flagged", op="==", value=1),
            },
            [
                (
                    onset - 35 * timedelta(minutes=1),
                    TimelineEventKind.CONFIG_OR_PIPELINE_CHANGE,
                    "Geo-enrichment service failover G-231 to the standby replica.",
                    None,
                ),
                (aware, TimelineEventKind.DETECTION, "Decline-rate alert for the north region.", None),
                (
                    end,
                    TimelineEventKind.CONTAINMENT,
                    "Failed back to the primary service.",
                    Role.TECHNICAL_LEAD,
                ),
            ],
            planted="g",
        )
    )
    onset, end = t(plan.onsets["h"]), t(plan.ends["h"])
    aware = onset + 30 * h
    drafts.append(
        _Draft(
            {
                "title": "Dynamic pricing: marketplace prices too high after a model release",
                "summary": "Pricing model 0.9.5 introduced channel-specific elasticities; marketplace "
                "listings were priced well above their clearing price until the release was rolled back.",
                "system_id": "dynamic_pricing",
                "category": C.PERFORMANCE_DEGRADATION,
                "severity": Severity.SEV3,
                "status": IncidentStatus.CLOSED,
                "detection_source": DetectionSource.USER_REPORT,
                "occurred_at": onset,
                "aware_at": aware,
                "acknowledged_at": aware + 1 * h,
                "triaged_at": aware + 3 * h,
                "causal_link_at": aware + 20 * h,
                "contained_at": end,
                "resolved_at": end + 4 * h,
                "closed_at": end + 10 * 24 * h,
                "reversible": True,
                "incident_commander": "Oskar Holm",
                "technical_lead": "Aiko Tanaka",
                "data_lead": "Ravi Menon",
                "postmortem_facilitator": "Clara Dubois",
                "trigger": "seller complaints about marketplace prices",
                "root_cause_category": "model_release",
                "contributing_factors": ["offline evaluation pooled all channels", "no canary by channel"],
                "resolution": "Rolled back to model 0.9.3.",
                "model_versions": ["0.9.5", "0.9.3"],
                "tags": ["planted", "faulty_deploy"],
                "postmortem_status": PostmortemStatus.REVIEWED,
                "failure_signal": LabelErrorSignal(tolerance=0.1, relative=True),
            },
            [
                (onset, TimelineEventKind.DEPLOY, "Pricing model 0.9.5 released to all channels.", None),
                (aware, TimelineEventKind.DETECTION, "Seller complaints about marketplace prices.", None),
                (end, TimelineEventKind.DEPLOY, "Rolled back to pricing model 0.9.3.", Role.TECHNICAL_LEAD),
            ],
            planted="h",
        )
    )
    onset, end = t(plan.onsets["i"]), t(plan.ends["i"])
    aware = onset + 3 * 24 * h
    drafts.append(
        _Draft(
            {
                "title": "Fraud detection: decline rate up during the holiday season",
                "summary": "The share of declined card payments rose by about a third during the holiday "
                "shopping weeks; merchants and support reported more declined purchases.",
                "system_id": "fraud_detection",
                "category": C.PERFORMANCE_DEGRADATION,
                "severity": Severity.SEV3,
                "status": IncidentStatus.CLOSED,
                "detection_source": DetectionSource.MONITORING_ALERT,
                "occurred_at": onset,
                "aware_at": aware,
                "acknowledged_at": aware + 2 * h,
                "triaged_at": aware + 6 * h,
                "contained_at": end,
                "resolved_at": end + 24 * h,
                "closed_at": end + 7 * 24 * h,
                "reversible": True,
                "incident_commander": "Ines Carvalho",
                "technical_lead": "Lukas Brenner",
                "data_lead": "Felix Novak",
                "postmortem_facilitator": "Zainab Haddad",
                "trigger": "decline-rate monitor",
                "root_cause_category": "model degradation",
                "contributing_factors": ["the model was not retrained before the season"],
                "resolution": "Season ended; retraining scheduled.",
                "model_versions": ["3.3.0"],
                "tags": ["planted", "seasonal_mix"],
                "postmortem_status": PostmortemStatus.IN_REVIEW,
                "failure_signal": PredictionConditionSignal(column="flagged", op="==", value=1),
            },
            [
                (aware, TimelineEventKind.DETECTION, "Decline-rate monitor alerted.", None),
                (aware + 6 * h, TimelineEventKind.DECISION, "Triaged as SEV-3.", Role.INCIDENT_COMMANDER),
            ],
            planted="i",
        )
    )
    return drafts


def _llm_drafts(plan: Plan) -> list[_Draft]:
    """The planted incidents of the support chatbot's interaction logs: k, l, m and n (o is a control).

    Long because it is data: four incidents written out as records.
    """
    h = timedelta(hours=1)
    day = 24 * h
    calendar = chat_calendar(plan)
    drafts: list[_Draft] = []
    onset, end = from_us(plan.onsets["k"]), from_us(plan.ends["k"] or 0)
    aware = onset + 2 * day + 3 * h
    drafts.append(
        _Draft(
            {
                "title": "Support chatbot: answers quoted other customers' personal data after an index "
                "rebuild",
                "summary": "A rebuild of the retrieval index added the support-ticket archive; for some "
                "refund and account questions the assistant retrieved another customer's ticket and "
                "quoted their e-mail address, phone number or card number.",
                "system_id": "support_chatbot",
                "category": C.DATA_EXPOSURE_PRIVACY,
                "severity": Severity.SEV1,
                "status": IncidentStatus.RECOVERED,
                "detection_source": DetectionSource.USER_REPORT,
                "occurred_at": onset,
                "aware_at": aware,
                "acknowledged_at": aware + 0.2 * h,
                "triaged_at": aware + 1 * h,
                "causal_link_at": aware + 5 * h,
                "contained_at": end,
                "resolved_at": end + 2 * day,
                "reversible": False,
                "regulatory_notifiable": True,
                "evidence_hold": True,
                "incident_commander": "Leila Farouk",
                "technical_lead": "Samuel Ade",
                "communications_lead": "Grace Mwangi",
                "legal_compliance": "Elena Petrova",
                "data_lead": "Nadia Rahman",
                "postmortem_facilitator": "Martin Kraus",
                "trigger": "a customer saw another customer's details in an answer",
                "root_cause_category": "retrieval_change",
                "contributing_factors": [
                    "ticket archive indexed without a personal-data review",
                    "no output filter for other customers' personal data",
                ],
                "resolution": "Rolled the retrieval index back and removed the ticket archive from it.",
                "model_versions": [],
                "tags": ["planted", "pii_exposure"],
                "postmortem_status": PostmortemStatus.DRAFT,
                "failure_signal": ExposureFindingSignal(),
            },
            [
                (onset, TimelineEventKind.CONFIG_OR_PIPELINE_CHANGE, CHANGE_EVENTS["k"], None),
                (aware, TimelineEventKind.DETECTION, "Customer report of another customer's details.", None),
                (end, TimelineEventKind.CONTAINMENT, "Rolled back to retrieval index kb-index-2025.1.",
                 Role.TECHNICAL_LEAD),
            ],  # fmt: skip
            planted="k",
        )
    )
    onset, end = from_us(plan.onsets["l"]), from_us(plan.ends["l"] or 0)
    release = from_us(calendar.tool_release)
    aware = onset + 20 * h
    drafts.append(
        _Draft(
            {
                "title": "Support chatbot: prompt-injection campaign issued refunds and revealed "
                "instructions",
                "summary": "Two days after the refund tool shipped, a handful of accounts sent injection "
                "prompts and a community page carried hidden instructions; some attempts made the assistant "
                "call the refund tool or repeat its system instructions.",
                "system_id": "support_chatbot",
                "category": C.PROMPT_INJECTION,
                "severity": Severity.SEV2,
                "status": IncidentStatus.RECOVERED,
                "detection_source": DetectionSource.MONITORING_ALERT,
                "occurred_at": onset,
                "aware_at": aware,
                "acknowledged_at": aware + 0.5 * h,
                "triaged_at": aware + 2 * h,
                "causal_link_at": aware + 8 * h,
                "contained_at": end,
                "resolved_at": end + 1 * day,
                "reversible": True,
                "incident_commander": "Kwame Mensah",
                "technical_lead": "Felix Novak",
                "communications_lead": "Sofia Marchetti",
                "postmortem_facilitator": "Daniel Reyes",
                "trigger": "refund-tool volume alert",
                "root_cause_category": "untrusted_context",
                "contributing_factors": [
                    "the refund tool needed no confirmation step",
                    "retrieved community content treated as instructions",
                ],
                "resolution": "Added a confirmation step to the refund tool and an input filter; removed "
                "the page.",
                "model_versions": [],
                "tags": ["planted", "prompt_injection"],
                "postmortem_status": PostmortemStatus.DRAFT,
                "failure_signal": InjectionSuccessSignal(),
            },
            [
                (release, TimelineEventKind.DEPLOY, CHANGE_EVENTS["l"], None),
                (aware, TimelineEventKind.DETECTION, "Refund-tool volume alert.", None),
                (end, TimelineEventKind.CONTAINMENT, "Refund confirmation step and input filter live.",
                 Role.TECHNICAL_LEAD),
            ],  # fmt: skip
            planted="l",
        )
    )
    onset, end = from_us(plan.onsets["m"]), from_us(plan.ends["m"] or 0)
    aware = onset + 4 * day
    drafts.append(
        _Draft(
            {
                "title": "Support chatbot: refund answers less grounded after a model switch",
                "summary": "After the switch to a new model version, answers to refund questions often "
                "stated terms the retrieved policy did not contain; groundedness scores fell and thumbs-down "
                "feedback rose for refund questions.",
                "system_id": "support_chatbot",
                "category": C.HALLUCINATION,
                "severity": Severity.SEV3,
                "status": IncidentStatus.CLOSED,
                "detection_source": DetectionSource.USER_REPORT,
                "occurred_at": onset,
                "aware_at": aware,
                "acknowledged_at": aware + 2 * h,
                "triaged_at": aware + 5 * h,
                "causal_link_at": aware + 1 * day,
                "contained_at": end,
                "resolved_at": end + 1 * day,
                "closed_at": end + 12 * day,
                "reversible": True,
                "incident_commander": "Hana Kobayashi",
                "technical_lead": "Mateo Alvarez",
                "postmortem_facilitator": "Clara Dubois",
                "trigger": "thumbs-down feedback on refund answers",
                "root_cause_category": "model_change",
                "contributing_factors": ["the release evaluation pooled all intents"],
                "resolution": "Rolled back to orion-chat-1.5 for azure.ai.openai traffic.",
                "lessons_learned": "Gate model switches on groundedness per intent.",
                "model_versions": ["orion-chat-2.0", "orion-chat-1.5"],
                "tags": ["planted", "hallucination"],
                "postmortem_status": PostmortemStatus.REVIEWED,
                "failure_signal": EvaluationScoreSignal(evaluation="groundedness", below=0.5),
            },
            [
                (onset, TimelineEventKind.DEPLOY, CHANGE_EVENTS["m"], None),
                (aware, TimelineEventKind.DETECTION, "Thumbs-down feedback on refund answers.", None),
                (end, TimelineEventKind.DEPLOY, "Rolled back to orion-chat-1.5.", Role.TECHNICAL_LEAD),
            ],
            planted="m",
        )
    )
    onset, end = from_us(plan.onsets["n"]), from_us(plan.ends["n"] or 0)
    aware = onset + 0.25 * h
    drafts.append(
        _Draft(
            {
                "title": "Support chatbot: provider errors in one region for three hours",
                "summary": "The model provider returned errors for requests routed to one region; "
                "conversations there got no answer until the provider recovered.",
                "system_id": "support_chatbot",
                "category": C.VENDOR_OUTAGE,
                "severity": Severity.SEV2,
                "status": IncidentStatus.CLOSED,
                "detection_source": DetectionSource.VENDOR_ALERT,
                "occurred_at": onset,
                "aware_at": aware,
                "acknowledged_at": aware + 0.2 * h,
                "triaged_at": aware + 0.5 * h,
                "contained_at": end,
                "resolved_at": end + 1 * h,
                "closed_at": end + 5 * day,
                "reversible": True,
                "incident_commander": "Jonas Lindqvist",
                "technical_lead": "Priya Raman",
                "communications_lead": "Ines Carvalho",
                "postmortem_facilitator": "Zainab Haddad",
                "trigger": "provider status page and error-rate alert",
                "root_cause_category": "dependency",
                "contributing_factors": ["no automatic failover between regions"],
                "resolution": "The provider recovered; regional failover added to the routing.",
                "lessons_learned": "Exercise the regional failover path regularly.",
                "model_versions": [],
                "tags": ["planted", "provider_outage"],
                "postmortem_status": PostmortemStatus.REVIEWED,
                "failure_signal": ErrorTypeSignal(),
            },
            [
                (aware, TimelineEventKind.DETECTION, "Provider status page reported errors in one region.",
                 None),
                (end, TimelineEventKind.CONTAINMENT, "Provider recovered; error rate back to normal.",
                 Role.TECHNICAL_LEAD),
            ],  # fmt: skip
            planted="n",
        )
    )
    return drafts


def build_register(plan: Plan, ai_systems: list[AiSystem], stale_max_lag: timedelta) -> RegisterSeed:
    """Return the register records of the scenario (background incidents plus the planted ones).

    Long because it assembles every entity of the scenario register in one place, in the order the ids are
    allocated.
    """
    rng = np.random.default_rng(np.random.SeedSequence([plan.seed, 50, 0]))
    categories = list(IncidentCategory)
    systems = list(SYSTEMS)
    drafts: list[_Draft] = []
    log_start = plan.anchor
    for index in range(N_BACKGROUND_INCIDENTS):
        if index < len(categories):
            category = categories[index]
            candidates = [s for s in systems if category in SYSTEMS[s]["categories"]]
        else:
            system_pick = systems[int(rng.choice(len(systems), p=[0.22, 0.22, 0.14, 0.26, 0.16]))]
            allowed = SYSTEMS[system_pick]["categories"]
            category = allowed[int(rng.integers(len(allowed)))]
            candidates = [system_pick]
        system = candidates[int(rng.integers(len(candidates)))]
        draft = _background_draft(rng, plan, category, system)
        occurred = draft.fields["occurred_at"]
        if (
            system in ("credit_scoring", "fraud_detection", "dynamic_pricing")
            and occurred >= log_start
            and (category not in _LOG_SILENT)
        ):
            # keep the logged systems' data clean of unplanned data failures inside the log span
            draft = _background_draft(
                rng,
                plan,
                category,
                "support_chatbot" if category in SYSTEMS["support_chatbot"]["categories"] else "recommender",
            )
        drafts.append(draft)
    for category, system in (
        (C.HALLUCINATION, "support_chatbot"),
        (C.PROMPT_INJECTION, "support_chatbot"),
        (C.HARMFUL_CONTENT, "recommender"),
        (C.SECURITY, "fraud_detection"),
    ):
        drafts.append(_background_draft(rng, plan, category, system, recent=True))
    drafts.extend(_planted_drafts(plan, stale_max_lag))
    drafts.sort(key=lambda d: (d.fields["aware_at"], str(d.fields["title"])))
    closed_background = [i for i, d in enumerate(drafts) if d.planted is None
                         and d.fields["status"] is IncidentStatus.CLOSED]  # fmt: skip
    picks = (
        closed_background[len(closed_background) // 5],
        closed_background[3 * len(closed_background) // 5],
    )
    for pick, (text, _phrase) in zip(picks, _BLAME_TEXT, strict=True):
        drafts[pick].blame = True
        drafts[pick].fields["summary"] = f"{drafts[pick].fields['summary']} {text}"

    seed = RegisterSeed(ai_systems=ai_systems)
    per_year: dict[int, int] = {}
    event_id = 0
    # the planted incidents added for the root-cause analysis (g, h) are filed after every other one, with
    # their own random stream: the ids and records of the earlier scenario register stay as they were
    extra_rng = np.random.default_rng(np.random.SeedSequence([plan.seed, 51, 0]))
    ordered = [(draft, rng) for draft in drafts]
    ordered += [(draft, extra_rng) for draft in _root_cause_drafts(plan)]
    # the chatbot's planted incidents (k-n) after those, with their own stream again
    llm_rng = np.random.default_rng(np.random.SeedSequence([plan.seed, 52, 0]))
    ordered += [(draft, llm_rng) for draft in _llm_drafts(plan)]
    for draft, draw in ordered:
        aware: datetime = draft.fields["aware_at"]
        per_year[aware.year] = per_year.get(aware.year, 0) + 1
        incident_id = f"INC-{aware.year}-{per_year[aware.year]:04d}"
        incident = Incident(id=incident_id, **draft.fields)
        seed.incidents.append(incident)
        if draft.planted:
            seed.planted_ids[draft.planted] = incident_id
        if draft.blame:
            seed.blame_ids.append(incident_id)
        for at, kind, description, role in sorted(draft.events, key=lambda e: e[0]):
            event_id += 1
            seed.timeline_events.append(
                TimelineEvent(
                    id=event_id, incident_id=incident_id, at=at, kind=kind, description=description, role=role
                )
            )
        seed.action_items.extend(_action_items(draw, plan, incident))
        notices, notice_events = _notifications(draw, plan, incident)
        seed.notifications.extend(notices)
        for at, description in notice_events:
            event_id += 1
            seed.timeline_events.append(
                TimelineEvent(
                    id=event_id,
                    incident_id=incident_id,
                    at=at,
                    kind=TimelineEventKind.COMMUNICATION,
                    description=description,
                    role=Role.COMMUNICATIONS_LEAD,
                )
            )
    return seed


_ACTIONS = (
    (ActionItemKind.MITIGATE, "Add a fallback path with an alert on its use"),
    (ActionItemKind.PREVENT, "Add a data contract test at the feature boundary"),
    (ActionItemKind.DETECT, "Alert on the segment-level rate, not only the global one"),
    (ActionItemKind.PROCESS, "Add the check to the release checklist"),
    (ActionItemKind.PREVENT, "Retrain on a rolling window with a validation gate"),
    (ActionItemKind.DETECT, "Monitor estimated performance while labels are pending"),
    (ActionItemKind.PROCESS, "Run a tabletop exercise of this failure mode"),
)


def _action_items(rng: np.random.Generator, plan: Plan, incident: Incident) -> list[ActionItem]:
    if incident.status in (IncidentStatus.DETECTED,) and incident.triaged_at is None:
        return []
    low, high = {1: (3, 6), 2: (2, 5), 3: (1, 4), 4: (0, 2)}[incident.severity.rank]
    items = []
    start = incident.triaged_at or incident.aware_at
    for k in range(int(rng.integers(low, high))):
        kind, title = _ACTIONS[int(rng.integers(len(_ACTIONS)))]
        due = start + timedelta(days=float(rng.uniform(10, 60)))
        status, completed = ActionItemStatus.OPEN, None
        if due <= plan.as_of:
            u = rng.random()
            if u < 0.7:
                completed = start + (due - start) * float(rng.uniform(0.3, 1.3))
                if completed > plan.as_of:
                    completed = None
                else:
                    status = ActionItemStatus.DONE
            elif u < 0.75:
                status = ActionItemStatus.WONT_DO
            else:
                status = ActionItemStatus.IN_PROGRESS if rng.random() < 0.5 else ActionItemStatus.OPEN
        elif rng.random() < 0.4:
            status = ActionItemStatus.IN_PROGRESS
        meta = SYSTEMS.get(incident.system_id or "")
        team = meta["team"] if meta is not None else "AI Platform"
        items.append(
            ActionItem(
                id=f"{incident.id}-A{k + 1}",
                incident_id=incident.id,
                title=title,
                owner=PEOPLE[int(rng.integers(len(PEOPLE)))],
                team=team,
                kind=kind,
                priority=("P1", "P2", "P3", "P4")[
                    min(incident.severity.rank - 1 + int(rng.integers(0, 2)), 3)
                ],
                due_at=due,
                status=status,
                completed_at=completed,
                verification_note="Verified in the next release review."
                if status is ActionItemStatus.DONE
                else None,
            )
        )
    return items


def _notifications(
    rng: np.random.Generator, plan: Plan, incident: Incident
) -> tuple[list[Notification], list[tuple[datetime, str]]]:
    aware = incident.aware_at
    owed: list[tuple[NotificationAudience, str | None, ReportType, timedelta]] = []
    if incident.severity is Severity.SEV1:
        owed += [
            (NotificationAudience.EXECUTIVE, None, ReportType.INITIAL, timedelta(hours=4)),
            (NotificationAudience.BOARD, None, ReportType.INITIAL, timedelta(days=2)),
        ]
    elif incident.severity is Severity.SEV2:
        owed.append((NotificationAudience.EXECUTIVE, None, ReportType.INITIAL, timedelta(hours=24)))
    if incident.regulatory_notifiable:
        if incident.category is C.DATA_EXPOSURE_PRIVACY:
            owed.append(
                (NotificationAudience.REGULATOR, "gdpr_art33", ReportType.INITIAL, timedelta(hours=72))
            )
        if incident.system_id == "credit_scoring":
            owed.append(
                (NotificationAudience.REGULATOR, "eu_ai_act_art73", ReportType.INITIAL, timedelta(days=15))
            )
            if incident.category is C.FAIRNESS_BIAS:
                owed.append(
                    (
                        NotificationAudience.REGULATOR,
                        "colorado_sb24_205",
                        ReportType.INITIAL,
                        timedelta(days=90),
                    )
                )
        if incident.system_id == "support_chatbot":
            owed.append((NotificationAudience.PROVIDER, "gpai_cop", ReportType.INITIAL, timedelta(days=5)))
        if incident.category in (C.SAFETY, C.HARMFUL_CONTENT) and incident.system_id != "support_chatbot":
            owed.append((NotificationAudience.CUSTOMERS, None, ReportType.INITIAL, timedelta(days=3)))
    notices, events = [], []
    for k, (audience, regime, report_type, clock) in enumerate(owed):
        due = aware + clock
        sent = None
        u = rng.random()
        if u < 0.78:
            sent = aware + clock * float(rng.uniform(0.2, 0.95))
        elif u < 0.93:
            sent = due + timedelta(hours=float(rng.uniform(2, 96)))  # late
        if sent is not None and sent > plan.as_of:
            sent = None
        notices.append(
            Notification(
                id=f"{incident.id}-N{k + 1}",
                incident_id=incident.id,
                audience=audience,
                regime=regime,
                report_type=report_type,
                due_at=due,
                sent_at=sent,
                reference=f"{(regime or audience.value).upper()}-{incident.id[4:]}" if sent else None,
            )
        )
        if sent is not None:
            events.append(
                (
                    sent,
                    f"{_label(report_type)} notification sent to {_label(audience).lower()}"
                    + (f" under {regime}." if regime else "."),
                )
            )
    return notices, events
