"""Tabletop scenario generator: register seed files, prediction and interaction logs, and the ground truth.

``generate(out, seed=..., rows_per_day=...)`` writes a self-contained folder that every analysis, test,
demo and benchmark stands on::

    OUT/scenario.json             seed, rows_per_day, anchor, as_of, log span, effects, generator version
    OUT/ground_truth.json         the planted causes (schema below); tests and benchmarks only
    OUT/register/manifest.json    {"format": "workbench-bundle", "version": 1, "files": {...}}
    OUT/register/ai_systems.json  AiSystem records; data cards with locations relative to OUT/register/
    OUT/register/<entity>.csv     incidents, timeline_events, action_items, notifications: one column per
                                  field of the register.schema record, list/object fields as JSON, times
                                  ISO-8601 UTC, an empty cell is null
    OUT/datacards/<system>.yaml   the data card of each logged system (locations relative to OUT/datacards/)
    OUT/logs/<system>/date=YYYY-MM-DD/part-0.parquet   prediction logs per system and day
    OUT/logs/support_chatbot/date=YYYY-MM-DD/part-0.parquet         interaction log (OpenTelemetry GenAI
                                                                    spans: chat, retrieval, execute_tool)
    OUT/evaluations/support_chatbot/date=YYYY-MM-DD/part-0.parquet  evaluation results and user feedback
    OUT/sensitive/<system>.parquet                     entity_id -> sex, age_band, ethnic_group

Time is anchored to a date derived from the seed (2025-01-01 plus 0-364 days), never to the wall clock:
the logs cover the 180 days from the anchor, ``as_of`` is the end of the last log day, and the register
spans the two years ending at ``as_of``. The same seed gives byte-identical files; each (system, day) draws
its random numbers from ``SeedSequence([seed, system_index, day_index])``, so the data never depends on the
order or size of the chunks it is written in.

Planted scenarios (default sizes in :class:`ScenarioEffects`)
-------------------------------------------------------------
- ``a_stale_input`` (dynamic_pricing): from onset, the hourly inventory snapshot of one warehouse stops;
  each of its products repeats its last ``inventory_level`` and ``inventory_as_of`` stays put, so the lag
  grows every hour and prices miss the stock level. Still ongoing at ``as_of`` (``end`` is null).
- ``b_covariate_drift`` (credit_scoring): ``debt_to_income`` mean +0.5 sd, ``avg_monthly_balance``
  variance x2, new ``channel`` value ``partner_api`` in 15 % of rows.
- ``c_fairness_deploy`` (credit_scoring): model 2.0.0 (regional proxy feature) drops the selection-rate ratio
  of ``ethnic_group = group_b`` vs everyone else from about 0.95 to about 0.70, with a TPR gap; rolled back.
- ``d_pipeline_null_slice`` (fraud_detection): ``device_trust_score`` is NULL for region east x channel
  mobile_app (about 3 % of rows) and the serving fallback raises the error rate there to 5x the rest
  (the issue asks for at least 2.5x; 5x keeps it clear of noise at a few hundred rows per day).
- ``e_concept_drift`` (fraud_detection): a card-not-present fraud campaign raises the error rate by about
  8 points with no change in any input distribution.
- ``f_control`` (credit_scoring): a clean 14-day control window at least 30 days from (b) and (c), with
  only the background realism (weekly seasonality, slow trend, a harmless deploy, day-to-day noise); it
  has no incident in the register.
- ``g_regional_outage`` (fraud_detection): a six-hour geo-enrichment outage from an hourly onset (13:20):
  ``distance_from_home_km`` is NULL for region north only, the model's missing-value fallback raises its
  logit by ``outage_logit_shift`` there (flag rate about 2 % -> 24 %); a failover event (G-231) 35 minutes
  before the onset in the register. Its failure signal (flagged = 1) needs no labels.
- ``h_faulty_deploy`` (dynamic_pricing): model 0.9.5 (deployed at 14:20) over-prices the marketplace
  channel by ``deploy_price_bias``; the other channels are unchanged; rolled back to 0.9.3 six days later.
- ``i_seasonal_mix`` (fraud_detection): holiday shopping; large purchases (amount >= 1.9 x the customer's
  usual) grow from about 20 % to ``holiday_large_share`` of traffic, each kind flagged at its usual rate
  (no model fault). The register records the root cause -- wrongly, on purpose -- as model degradation.
- ``j_control`` (dynamic_pricing): a second clean 14-day control, around the harmless 0.9.4 deploy; no
  incident in the register.

Planted LLM scenarios (support_chatbot, interaction logs; see ``_chatbot.py``)
------------------------------------------------------------------------------
- ``k_pii_exposure``: the retrieval index kb-index-2025.2 adds the support-ticket archive; for six days some
  refund/account answers quote another customer's e-mail, phone or Luhn-valid card number.
- ``l_prompt_injection``: two days after agent 2.3.0 shipped the ``issue_refund`` tool, a campaign of direct
  injections (mostly four accounts) and an indirect one through a poisoned community document; some succeed
  (the system instructions echoed, or an ``issue_refund`` call).
- ``m_hallucination``: azure.ai.openai traffic switches to orion-chat-2.0 for twelve days; groundedness scores
  of refund answers drop and their thumbs-down rate rises (other intents unchanged).
- ``n_provider_outage``: azure.ai.openai in swedencentral returns ``error.type`` 503 for three hours.
- ``o_control``: a clean 14-day window around a harmless prompt version change (v5 -> v6); no incident.

Benign look-alikes (not leaks): users type their own e-mail and phone and mistyped card numbers (failing
Luhn); answers quote order numbers, Luhn-failing tracking references and the last four card digits.

``ground_truth.json`` schema (version 1)
----------------------------------------
Top level: ``schema_version`` (1), ``generator_version``, ``seed``, ``rows_per_day``, ``anchor``,
``as_of``, ``log_span`` {``start``, ``end``}, ``effects`` (the ScenarioEffects used), ``calibration``
(internal constants solved to hit the effect sizes), ``deploys`` {system: [{``at``, ``version``,
``note``, ``harmless``}]}, ``blame_phrasing_incidents`` (incident ids whose narrative carries a blame
phrase on purpose), ``rows_per_system``, and ``scenarios``: a list of objects with

- ``id`` (``a_stale_input`` ...), ``kind`` (``stale_input``, ``covariate_drift``, ``fairness_regression``,
  ``pipeline_null_slice``, ``concept_drift``, ``upstream_outage``, ``faulty_deploy``, ``seasonal_mix``,
  ``control``), ``system_id``, ``control`` (bool),
- ``cause``: the planted cause in the root-cause vocabulary {``kind`` (``stale_input``, ``null_input``,
  ``model_change``, ``concept_change``, ``covariate_mix``, ``covariate_shift``, ... or null for a control),
  ``columns``, ``model_version`` (or null), ``model_fault`` (bool), ``slice`` (predicates, [] when
  systemic), ``onset`` (ISO-8601 UTC, to the minute; null for a control), ``change_event`` (the text of the
  register timeline event that made the change, or null)},
- ``incident_id`` (register id, null for the controls), ``onset`` and ``end`` (ISO-8601 UTC; ``end`` null
  while ongoing),
- ``reference_window`` and ``incident_window`` {``start``, ``end``}: half-open [start, end) in ISO-8601
  UTC; reference = the 28 days ending 7 days before onset, incident = onset to end (or ``as_of``),
- ``features`` (columns involved), ``slice`` (list of {``column``, ``op``, ``value``} predicates, ANDed),
  ``group`` ({``attribute``, ``value``, ``source``} or null), ``model_version`` ({``before``, ``after``}
  or null),
- ``effect``: the primary planted effect {``metric``, ``column``, ``baseline``, ``planted``, ``observed``}
  and ``effects``: all of them (``planted`` is the configured size, ``observed`` is measured on the rows
  written, ``baseline`` the value before onset),
- ``failure_signal``: the register.schema FailureSignal that defines a failed decision (or null),
- ``affected``: {``definition`` (in words, over the written columns), ``decisions``, ``entities``
  (distinct entity ids)}, counted from the rows actually written.

The chatbot's scenarios are in ``llm_scenarios`` (a separate list, so that consumers of ``scenarios`` --
the demo, the prediction-log analyses -- are unchanged): each with ``id``, ``kind`` (``pii_exposure``,
``prompt_injection``, ``hallucination_rise``, ``provider_outage``, ``control``), ``system_id``, ``control``,
``incident_id``, ``onset``, ``end``, ``reference_window``, ``incident_window``, ``cause`` (``kind``,
``change_event``...), ``failure_signal`` (k: exposure_finding, l: injection_success, m: evaluation_score,
n: error_type; null for the control), ``affected`` {``definition``, ``calls``, ``conversations``,
``users``} (the planted calls) and ``signal_affected`` (same keys: every call of the incident window the
failure signal fails, planted or background -- what the impact analysis counts), plus per kind:
``exposure`` (k: ``rows``, ``conversations``, ``users``, ``exposed_persons``,
``entity_types`` {type: {rows, conversations, users}}, ``retrieval_document_ids``, ``first_seen``,
``last_seen``, ``still_happening``, ``values``), ``injection`` (l: ``first_attempt``, ``attempts``
{total, direct, indirect}, ``successes`` {total, direct, indirect, system_echo, tool_call},
``direct_users``, ``main_attackers``, ``poisoned_document_id``...), ``effects`` (m: groundedness and
thumbs-down counts and rates by window, intent and model; n: calls, errors and error rates of the outage
slice and the rest; o: the same for the control). ``llm_background`` counts the benign look-alikes.

Analyses and reports never read the ground truth; only tests and benchmarks do.

Examples
--------
>>> ScenarioEffects().fairness_ratio_after
0.7
>>> LOGGED_SYSTEMS, LLM_SYSTEM
(('credit_scoring', 'fraud_detection', 'dynamic_pricing'), 'support_chatbot')
"""

from __future__ import annotations

from workbench.scenarios._generate import DEFAULT_ROWS_PER_DAY, GenerationResult, generate
from workbench.scenarios._plan import (
    GENERATOR_VERSION,
    LLM_SYSTEM,
    LOGGED_SYSTEMS,
    SYSTEM_IDS,
    ScenarioEffects,
)

__all__ = [
    "DEFAULT_ROWS_PER_DAY",
    "GENERATOR_VERSION",
    "GenerationResult",
    "LLM_SYSTEM",
    "LOGGED_SYSTEMS",
    "SYSTEM_IDS",
    "ScenarioEffects",
    "generate",
]
