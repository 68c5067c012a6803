"""The generator behind :func:`workbench.scenarios.generate`.

It plans the scenarios, writes the logs, the register seed files and the ground truth.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TypedDict

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import yaml
from pydantic import BaseModel

from register.schema import (
    ActionItem,
    AiSystem,
    ColumnRoles,
    DataCard,
    DataQualitySignal,
    DataSource,
    EvaluationSource,
    Incident,
    InteractionRoles,
    LabelErrorSignal,
    Notification,
    SensitiveSource,
    TimelineEvent,
)
from workbench.errors import WorkbenchError
from workbench.scenarios._chat_truth import llm_ground_truth
from workbench.scenarios._chatbot import ChatContext, ChatTotals, build_chat_context, generate_chat_day
from workbench.scenarios._logs import (
    SYSTEM_COLUMNS,
    Context,
    build_context,
    entity_ids,
    generate_day,
    sensitive_table,
)
from workbench.scenarios._plan import (
    GENERATOR_VERSION,
    LLM_SYSTEM,
    LOGGED_SYSTEMS,
    SYSTEM_IDS,
    ScenarioEffects,
    from_us,
    iso,
    make_plan,
)
from workbench.scenarios._register import SYSTEMS, RegisterSeed, build_register

__all__ = ["GenerationResult", "generate"]

_OUTPUT_NAMES = (
    "scenario.json", "ground_truth.json", "register", "datacards", "logs", "evaluations", "sensitive",
)  # fmt: skip
_REGISTER_FILES = {
    "ai_systems": "ai_systems.json",
    "incidents": "incidents.csv",
    "timeline_events": "timeline_events.csv",
    "action_items": "action_items.csv",
    "notifications": "notifications.csv",
}
_ROW_GROUP_ROWS = 65_536
_SENSITIVE_ATTRIBUTES = ["sex", "age_band", "ethnic_group"]


@dataclass(frozen=True)
class GenerationResult:
    """What :func:`generate` wrote, and where."""

    out: Path
    seed: int
    rows_per_day: int
    anchor: datetime
    as_of: datetime
    n_incidents: int
    n_action_items: int
    n_notifications: int
    rows_per_system: dict[str, int]
    ground_truth_path: Path
    register_dir: Path

    def describe(self) -> str:
        """Return a short human summary of the generated scenario.

        Examples
        --------
        >>> from datetime import datetime, UTC
        >>> result = GenerationResult(
        ...     out=Path("demo"), seed=7, rows_per_day=1500, anchor=datetime(2025, 8, 4, tzinfo=UTC),
        ...     as_of=datetime(2026, 1, 31, tzinfo=UTC), n_incidents=173, n_action_items=280,
        ...     n_notifications=47, rows_per_system={"credit_scoring": 270_000},
        ...     ground_truth_path=Path("demo/ground_truth.json"), register_dir=Path("demo/register"))
        >>> print(result.describe().splitlines()[1])
          as_of: 2026-01-31T00:00:00Z (logs from 2025-08-04T00:00:00Z; register: the 2 years to as_of)
        """
        rows = ", ".join(f"{system} {count:,}" for system, count in self.rows_per_system.items())
        return "\n".join(
            [
                f"Tabletop scenario (seed {self.seed}) in {self.out}",
                f"  as_of: {iso(self.as_of)} (logs from {iso(self.anchor)}; register: the 2 years to as_of)",
                f"  register: {self.register_dir} ({self.n_incidents} incidents, {len(SYSTEM_IDS)} systems, "
                f"{self.n_action_items} action items, {self.n_notifications} notifications)",
                f"  prediction and interaction logs: {self.out / 'logs'} ({rows} rows)",
                f"  ground truth: {self.ground_truth_path} (for tests and benchmarks only)",
            ]
        )


DEFAULT_ROWS_PER_DAY = 1000
"""Prediction-log rows per logged system and day, the same default for `scenario generate` and `demo`."""


def generate(
    out: Path | str,
    *,
    seed: int = 7,
    rows_per_day: int = DEFAULT_ROWS_PER_DAY,
    effects: ScenarioEffects | None = None,
    progress: Callable[[str], None] | None = None,
) -> GenerationResult:
    """Write the tabletop scenarios (register seed files, logs, ground truth) into ``out``.

    Parameters
    ----------
    out : Path or str
        Folder to write into. Earlier scenario output in it is replaced; other files are left alone.
    seed : int, default 7
        Non-negative seed; the same seed (and options) gives byte-identical files.
    rows_per_day : int, default 1500
        Mean prediction-log rows per logged system and day (weekly seasonality and a slow trend vary it).
    effects : ScenarioEffects, optional
        Planted effect sizes; the issue's defaults when omitted. Recorded in the output.
    progress : callable, optional
        Called with short progress messages.

    Returns
    -------
    GenerationResult
        Paths, ``as_of`` and counts of what was written.

    Examples
    --------
    >>> import tempfile, json
    >>> result = generate(tempfile.mkdtemp(), seed=5, rows_per_day=60)
    >>> truth = json.loads(result.ground_truth_path.read_text())
    >>> [s["id"][0] for s in truth["scenarios"]]
    ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j']
    >>> [s["id"][0] for s in truth["llm_scenarios"]]
    ['k', 'l', 'm', 'n', 'o']
    """
    out = Path(out)
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise WorkbenchError(f"seed must be a non-negative integer. Got {seed!r} instead.")
    if isinstance(rows_per_day, bool) or not isinstance(rows_per_day, int | np.integer) or rows_per_day < 50:
        raise WorkbenchError(f"rows_per_day must be an integer of at least 50. Got {rows_per_day!r} instead.")
    effects = effects if effects is not None else ScenarioEffects()
    if not isinstance(effects, ScenarioEffects):
        raise WorkbenchError(f"effects must be a ScenarioEffects. Got {type(effects).__name__} instead.")
    report = progress or (lambda message: None)
    _prepare_out(out)
    seed, rows_per_day = int(seed), int(rows_per_day)

    plan = make_plan(seed)
    report(f"calibrating planted effects (seed {seed}, as_of {iso(plan.as_of)})")
    ctx = build_context(seed, rows_per_day, effects, plan)
    counts, entities, rows_per_system = _write_logs(out, ctx, report, _ROW_GROUP_ROWS)
    chat = build_chat_context(seed, rows_per_day, plan)
    chat_totals = _write_chat_logs(out, chat, report, _ROW_GROUP_ROWS)
    rows_per_system[LLM_SYSTEM] = chat_totals.rows
    for system_id in LOGGED_SYSTEMS:
        table = sensitive_table(ctx, system_id)
        if table is not None:
            _write_parquet(table, out / "sensitive" / f"{system_id}.parquet", _ROW_GROUP_ROWS)

    report("writing register seed files and data cards")
    ai_systems = _ai_systems()
    register = build_register(plan, ai_systems, effects.stale_max_lag)
    _write_register(out / "register", register)
    for system in ai_systems:
        if system.data_card is not None:
            _write_text(
                out / "datacards" / f"{system.id}.yaml",
                yaml.safe_dump(system.data_card.model_dump(mode="json"), sort_keys=True),
            )

    truth = _ground_truth(ctx, register, counts, entities, rows_per_system)
    truth |= llm_ground_truth(chat, chat_totals, register.planted_ids)
    _write_text(out / "ground_truth.json", _json(truth))
    _write_text(
        out / "scenario.json",
        _json(
            {
                "generator_version": GENERATOR_VERSION,
                "seed": seed,
                "rows_per_day": rows_per_day,
                "anchor": iso(plan.anchor),
                "as_of": iso(plan.as_of),
                "log_span": {"start": iso(plan.anchor), "end": iso(plan.as_of)},
                "register_span": {"start": iso(plan.as_of - timedelta(days=730)), "end": iso(plan.as_of)},
                "effects": effects.model_dump(mode="json"),
                "systems": list(SYSTEM_IDS),
                "logged_systems": list(LOGGED_SYSTEMS),
                "interaction_logged_systems": [LLM_SYSTEM],
            }
        ),
    )
    report(f"done: {sum(rows_per_system.values()):,} log rows, {len(register.incidents)} incidents")
    return GenerationResult(
        out=out,
        seed=seed,
        rows_per_day=rows_per_day,
        anchor=plan.anchor,
        as_of=plan.as_of,
        n_incidents=len(register.incidents),
        n_action_items=len(register.action_items),
        n_notifications=len(register.notifications),
        rows_per_system=rows_per_system,
        ground_truth_path=out / "ground_truth.json",
        register_dir=out / "register",
    )


# --------------------------------------------------------------------------------------------------
# Output folder and writers
# --------------------------------------------------------------------------------------------------


def _prepare_out(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise WorkbenchError(f"out must be a folder. Got the file {out} instead.")
    present = [name for name in _OUTPUT_NAMES if (out / name).exists()]
    if present and not (out / "scenario.json").is_file():
        raise WorkbenchError(
            f"out must be empty or hold an earlier scenario. Got {out} with {', '.join(present)} but no "
            "scenario.json; choose another folder or remove them."
        )
    for name in present:
        path = out / name
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()
    out.mkdir(parents=True, exist_ok=True)


def _write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8", newline="\n")


def _json(value: object) -> str:
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _write_parquet(table: pa.Table, path: Path, row_group_rows: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(
        table,
        path,
        row_group_size=row_group_rows,
        compression="zstd",
        use_dictionary=True,
        write_statistics=True,
        coerce_timestamps="us",
        allow_truncated_timestamps=False,
    )


def _write_logs(
    out: Path, ctx: Context, report: Callable[[str], None], row_group_rows: int
) -> tuple[dict[str, float], dict[str, np.ndarray], dict[str, int]]:
    counts: dict[str, float] = {}
    seen: dict[str, np.ndarray] = {}
    rows_per_system: dict[str, int] = {}
    plan = ctx.plan
    for system_id in LOGGED_SYSTEMS:
        report(f"writing prediction logs of {system_id} ({plan.n_days} days)")
        pool_size = len(next(iter(ctx.pools[system_id].values())))
        total = 0
        for day in range(plan.n_days):
            result = generate_day(ctx, system_id, day)
            date = from_us(plan.day_start_us(day)).date().isoformat()
            _write_parquet(
                result.table, out / "logs" / system_id / f"date={date}" / "part-0.parquet", row_group_rows
            )
            total += result.table.num_rows
            for key, value in result.counts.items():
                if key.endswith("max_lag_us"):
                    counts[key] = max(counts.get(key, 0.0), value)
                else:
                    counts[key] = counts.get(key, 0.0) + value
            for key, index in result.entities.items():
                if key not in seen:
                    seen[key] = np.zeros(pool_size, dtype=bool)
                seen[key][index] = True
        rows_per_system[system_id] = total
    entities = {key: np.flatnonzero(mask) for key, mask in seen.items()}
    return counts, entities, rows_per_system


def _write_chat_logs(
    out: Path, chat: ChatContext, report: Callable[[str], None], row_group_rows: int
) -> ChatTotals:
    """Write the chatbot's spans and evaluations per day; return what the ground truth needs."""
    plan = chat.plan
    report(f"writing interaction logs of {LLM_SYSTEM} ({plan.n_days} days)")
    totals = ChatTotals()
    for day in range(plan.n_days):
        result = generate_chat_day(chat, day)
        date = from_us(plan.day_start_us(day)).date().isoformat()
        partition = Path(LLM_SYSTEM) / f"date={date}" / "part-0.parquet"
        _write_parquet(result.spans, out / "logs" / partition, row_group_rows)
        _write_parquet(result.evaluations, out / "evaluations" / partition, row_group_rows)
        totals.add(result)
    return totals


def _chat_data_card() -> DataCard:
    """The support chatbot's card: an interaction log with OpenTelemetry GenAI column names."""
    return DataCard.interaction_log(
        source=DataSource(location=f"../logs/{LLM_SYSTEM}/**/*.parquet"),
        interaction=InteractionRoles.otel(
            attributes=["cloud.region", "support.intent", "gen_ai.data_source.id"]
        ),
        evaluations=EvaluationSource(
            source=DataSource(location=f"../evaluations/{LLM_SYSTEM}/**/*.parquet"),
            span_id="span_id",
            conversation_id="gen_ai.conversation.id",
            evaluated_at="evaluated_at",
            feedback_name="user_feedback",
        ),
    )


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | dict):
        return json.dumps(value, sort_keys=True, separators=(",", ":"))
    return str(value)


def _csv(records: Sequence[BaseModel], model: type[BaseModel]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    columns = list(model.model_fields)
    writer.writerow(columns)
    for record in records:
        dumped = model.model_validate(record.model_dump()).model_dump(mode="json")
        writer.writerow([_cell(dumped[column]) for column in columns])
    return buffer.getvalue()


def _write_register(folder: Path, register: RegisterSeed) -> None:
    _write_text(
        folder / "manifest.json",
        _json({"format": "workbench-bundle", "version": 1, "files": dict(_REGISTER_FILES)}),
    )
    _write_text(
        folder / _REGISTER_FILES["ai_systems"],
        _json([system.model_dump(mode="json") for system in register.ai_systems]),
    )
    for name, model in (
        ("incidents", Incident),
        ("timeline_events", TimelineEvent),
        ("action_items", ActionItem),
        ("notifications", Notification),
    ):
        _write_text(folder / _REGISTER_FILES[name], _csv(getattr(register, name), model))


def _data_card(system_id: str) -> DataCard:
    spec = SYSTEM_COLUMNS[system_id]
    numeric, categorical = list(spec["numeric"]), list(spec["categorical"])
    regression = system_id == "dynamic_pricing"
    sensitive = None
    if not regression:
        sensitive = SensitiveSource(
            source=DataSource(location=f"../sensitive/{system_id}.parquet"),
            keys=["entity_id"],
            attributes=list(_SENSITIVE_ATTRIBUTES),
        )
    return DataCard(
        source=DataSource(location=f"../logs/{system_id}/**/*.parquet"),
        task="regression" if regression else "binary_classification",
        columns=ColumnRoles(
            event_time="event_time",
            entity_id="entity_id",
            request_id="request_id",
            model_version="model_version",
            features=numeric + categorical,
            categorical_features=categorical,
            score=spec["score"],
            prediction=spec["prediction"],
            label=spec["label"],
            label_observed_at="label_observed_at",
            input_as_of=dict(spec["as_of"]),
        ),
        positive_label=None if regression else 1,
        sensitive_source=sensitive,
        failure_signal=LabelErrorSignal(tolerance=0.10, relative=True) if regression else LabelErrorSignal(),
    )


def _ai_systems() -> list[AiSystem]:
    systems = []
    for system_id in SYSTEM_IDS:
        meta = SYSTEMS[system_id]
        systems.append(
            AiSystem(
                id=system_id,
                name=meta["name"],
                owner_team=meta["team"],
                use_case=meta["use_case"],
                risk_tier=meta["risk_tier"],
                deployer="Example Bank & Retail Group (tabletop)",
                developer=meta["developer"],
                data_card=_data_card(system_id)
                if system_id in LOGGED_SYSTEMS
                else (_chat_data_card() if system_id == LLM_SYSTEM else None),
            )
        )
    return systems


# --------------------------------------------------------------------------------------------------
# Ground truth
# --------------------------------------------------------------------------------------------------


def _ratio(numerator: float, denominator: float) -> float | None:
    return None if denominator <= 0 else round(numerator / denominator, 6)


class _CreditObservation(TypedDict):
    """Fairness and drift numbers measured on the written credit rows of one window."""

    selection_rate_ratio: float | None
    tpr_difference: float | None
    dti_mean: float
    dti_var: float
    balance_var: float
    partner_share: float | None


def _observed_credit(counts: dict[str, float], key: str, part: str) -> _CreditObservation:
    p = f"{key}.{part}."
    sel_g = _ratio(counts.get(p + "group.selected", 0), counts.get(p + "group.n", 0))
    sel_r = _ratio(counts.get(p + "rest.selected", 0), counts.get(p + "rest.n", 0))
    tpr_g = _ratio(counts.get(p + "group.tp", 0), counts.get(p + "group.positives", 0))
    tpr_r = _ratio(counts.get(p + "rest.tp", 0), counts.get(p + "rest.positives", 0))
    n_dti = counts.get(p + "debt_to_income.n", 0)
    n_bal = counts.get(p + "avg_monthly_balance.n", 0)

    def moments(name: str, n: float) -> tuple[float, float]:
        if n < 2:
            return float("nan"), float("nan")
        mean = counts[p + name + ".sum"] / n
        return mean, (counts[p + name + ".sumsq"] - n * mean**2) / (n - 1)

    dti_mean, dti_var = moments("debt_to_income", n_dti)
    bal_mean, bal_var = moments("avg_monthly_balance", n_bal)
    return {
        "selection_rate_ratio": None if sel_g is None or not sel_r else round(sel_g / sel_r, 6),
        "tpr_difference": None if tpr_g is None or tpr_r is None else round(tpr_r - tpr_g, 6),
        "dti_mean": dti_mean,
        "dti_var": dti_var,
        "balance_var": bal_var,
        "partner_share": _ratio(counts.get(p + "channel.partner_api", 0), counts.get(p + "n", 0)),
    }


def _ground_truth(
    ctx: Context,
    register: RegisterSeed,
    counts: dict[str, float],
    entities: dict[str, np.ndarray],
    rows_per_system: dict[str, int],
) -> dict[str, object]:
    """The ground truth of the planted scenarios.

    Long because it is data: the ground truth of every planted scenario written out as one document
    (its schema is documented above).
    """
    plan, eff = ctx.plan, ctx.effects

    def windows(key: str) -> dict[str, object]:
        incident = plan.controls[key] if key in plan.controls else plan.incident_window(key)
        return {"reference_window": plan.reference_window(key).iso(), "incident_window": incident.iso()}

    def affected(key: str, definition: str) -> dict[str, object]:
        return {
            "definition": definition,
            "decisions": int(counts.get(f"{key}.decisions", 0)),
            "entities": int(len(entities.get(key, ()))),
        }

    def onset_end(key: str) -> dict[str, object]:
        end = plan.ends[key]
        return {"onset": iso(from_us(plan.onsets[key])), "end": None if end is None else iso(from_us(end))}

    def effect(
        metric: str,
        column: str | None,
        baseline: float | None,
        planted: float,
        observed: float | None,
        **extra: object,
    ) -> dict[str, object]:
        rounded = None if observed is None or not np.isfinite(observed) else round(float(observed), 6)
        return {
            "metric": metric,
            "column": column,
            "baseline": baseline,
            "planted": planted,
            "observed": rounded,
            **extra,
        }

    ids = register.planted_ids
    max_lag_hours = eff.stale_max_lag.total_seconds() / 3600
    stale_lag_at_end = (plan.as_of_us - plan.onsets["a"]) / 3.6e9
    a_effects = [
        effect(
            "max_input_lag_hours",
            "inventory_as_of",
            round(counts.get("a.ref.max_lag_us", 0) / 3.6e9, 3),
            round(stale_lag_at_end, 3),
            round(stale_lag_at_end, 3),
            note="lag of the frozen warehouse's products at as_of; baseline = largest lag in the reference",
        ),
        effect(
            "price_error_rate",
            "predicted_price",
            _ratio(counts.get("a.ref.price_errors", 0), counts.get("a.ref.n", 0)),
            _ratio(counts.get("a.affected.price_errors", 0), counts.get("a.affected.labelled", 0)) or 0.0,
            _ratio(counts.get("a.affected.price_errors", 0), counts.get("a.affected.labelled", 0)),
            note=f"share of decisions with |predicted - clearing| / clearing > {eff.price_tolerance}; "
            "observed over the affected decisions with a label",
        ),
    ]
    b_ref, b_inc = _observed_credit(counts, "b", "ref"), _observed_credit(counts, "b", "inc")
    dti_sd = float(np.sqrt(b_ref["dti_var"]))
    b_effects = [
        effect(
            "mean_shift_sd",
            "debt_to_income",
            0.0,
            eff.drift_mean_shift_sd,
            (b_inc["dti_mean"] - b_ref["dti_mean"]) / dti_sd,
        ),
        effect(
            "variance_ratio",
            "avg_monthly_balance",
            1.0,
            eff.drift_variance_ratio,
            b_inc["balance_var"] / b_ref["balance_var"],
        ),
        effect(
            "category_share",
            "channel",
            0.0,
            eff.drift_new_category_share,
            b_inc["partner_share"],
            value="partner_api",
        ),
    ]
    c_ref, c_inc = _observed_credit(counts, "c", "ref"), _observed_credit(counts, "c", "inc")
    c_effects = [
        effect(
            "selection_rate_ratio",
            "approved",
            eff.fairness_ratio_before,
            eff.fairness_ratio_after,
            c_inc["selection_rate_ratio"],
            baseline_observed=c_ref["selection_rate_ratio"],
            note="selection rate of the group / selection rate of everyone else",
        ),
        effect(
            "tpr_difference",
            "approved",
            c_ref["tpr_difference"],
            c_inc["tpr_difference"] or 0.0,
            c_inc["tpr_difference"],
            note="TPR of everyone else minus TPR of the group (all labels)",
        ),
    ]

    def fraud_rates(key: str, part: str) -> tuple[float | None, float | None, float | None]:
        p = f"{key}.{part}."
        slice_rate = _ratio(counts.get(p + "slice.errors", 0), counts.get(p + "slice.n", 0))
        rest_rate = _ratio(counts.get(p + "rest.errors", 0), counts.get(p + "rest.n", 0))
        overall = _ratio(
            counts.get(p + "slice.errors", 0) + counts.get(p + "rest.errors", 0),
            counts.get(p + "slice.n", 0) + counts.get(p + "rest.n", 0),
        )
        return slice_rate, rest_rate, overall

    d_slice, d_rest, _ = fraud_rates("d", "inc")
    d_slice_ref, d_rest_ref, _ = fraud_rates("d", "ref")
    d_effects = [
        effect(
            "error_rate_ratio_slice_vs_rest",
            "flagged",
            None if not d_rest_ref or d_slice_ref is None else round(d_slice_ref / d_rest_ref, 6),
            eff.slice_error_multiplier,
            None if not d_rest or d_slice is None else d_slice / d_rest,
            note="label error rate inside the slice / outside it, in the incident window (all labels)",
        ),
        effect("null_rate_in_slice", "device_trust_score", 0.005, 1.0, 1.0),
    ]
    _, _, e_ref = fraud_rates("e", "ref")
    _, _, e_inc = fraud_rates("e", "inc")
    e_effects = [
        effect(
            "error_rate_increase",
            "flagged",
            0.0,
            eff.concept_error_increase,
            None if e_ref is None or e_inc is None else e_inc - e_ref,
            baseline_error_rate=e_ref,
            note="label error rate (all labels) in the incident window minus the reference window",
        ),
    ]
    f_ref, f_inc = _observed_credit(counts, "f", "ref"), _observed_credit(counts, "f", "inc")
    f_effects = [
        effect(
            "selection_rate_ratio",
            "approved",
            eff.fairness_ratio_before,
            eff.fairness_ratio_before,
            f_inc["selection_rate_ratio"],
            baseline_observed=f_ref["selection_rate_ratio"],
            note="nothing planted: the control keeps the pre-existing gap",
        ),
        effect(
            "mean_shift_sd",
            "debt_to_income",
            0.0,
            0.0,
            (f_inc["dti_mean"] - f_ref["dti_mean"]) / float(np.sqrt(f_ref["dti_var"])),
        ),
        effect(
            "variance_ratio", "avg_monthly_balance", 1.0, 1.0, f_inc["balance_var"] / f_ref["balance_var"]
        ),
    ]
    fraud_slice = [
        {"column": "region", "op": "==", "value": "east"},
        {"column": "channel", "op": "==", "value": "mobile_app"},
    ]

    def rate(key: str, part: str, where: str, what: str) -> float | None:
        return _ratio(counts.get(f"{key}.{part}.{where}.{what}", 0), counts.get(f"{key}.{part}.{where}.n", 0))

    g_effects = [
        effect(
            "flag_rate_in_slice",
            "flagged",
            rate("g", "ref", "slice", "flagged"),
            eff.outage_logit_shift,
            rate("g", "inc", "slice", "flagged"),
            rest_rate=rate("g", "inc", "rest", "flagged"),
            note="share of region = north decisions flagged during the outage (planted: logit shift); "
            "baseline = the same share in the reference window; rest_rate = the other regions meanwhile",
        ),
        effect("null_rate_in_slice", "distance_from_home_km", 0.0, 1.0, 1.0),
    ]
    h_effects = [
        effect(
            "price_error_rate_in_slice",
            "predicted_price",
            rate("h", "ref", "slice", "errors"),
            eff.deploy_price_bias,
            rate("h", "inc", "slice", "errors"),
            rest_rate=rate("h", "inc", "rest", "errors"),
            rest_reference_rate=rate("h", "ref", "rest", "errors"),
            note="share of marketplace decisions priced more than 10 % off the clearing price under 0.9.5 "
            "(planted: relative over-pricing); the other channels are unchanged",
        ),
    ]

    def share(part: str) -> float | None:
        large = counts.get(f"i.{part}.large.n", 0)
        return _ratio(large, large + counts.get(f"i.{part}.ordinary.n", 0))

    i_effects = [
        effect(
            "large_purchase_share",
            "amount_to_avg_ratio",
            share("ref"),
            eff.holiday_large_share,
            share("inc"),
            note="share of purchases of at least 1.9 x the customer's usual amount; baseline = the "
            "reference window, observed = the holiday window (copies of the same day's large purchases)",
        ),
        *(
            effect(
                f"flag_rate_{kind}",
                "flagged",
                rate("i", "ref", kind, "flagged"),
                rate("i", "ref", kind, "flagged") or 0.0,
                rate("i", "inc", kind, "flagged"),
                note=f"share of {kind} purchases flagged; nothing planted: the model judges each kind of "
                "purchase as before (the difference is the day-to-day noise of the flag rate)",
            )
            for kind in ("large", "ordinary")
        ),
    ]

    def cause(
        kind: str | None,
        *,
        columns: list[str] | None = None,
        model_version: str | None = None,
        model_fault: bool = False,
        slice_: list[dict[str, str]] | None = None,
        onset: int | None = None,
        change_event: str | None = None,
    ) -> dict[str, object]:
        return {
            "kind": kind,
            "columns": columns or [],
            "model_version": model_version,
            "model_fault": model_fault,
            "slice": slice_ or [],
            "onset": iso(from_us(onset)) if onset is not None else None,
            "change_event": change_event,
        }

    group_b = {"attribute": "ethnic_group", "value": "group_b", "source": "sensitive/credit_scoring.parquet"}
    stale_signal = DataQualitySignal(column="inventory_level", condition="stale", max_lag=eff.stale_max_lag)
    scenarios = [
        {
            "id": "a_stale_input",
            "cause": cause(
                "stale_input",
                columns=["inventory_level"],
                slice_=[{"column": "warehouse", "op": "==", "value": eff.stale_warehouse}],
                onset=plan.onsets["a"],
                change_event="Inventory snapshot job for one warehouse migrated to a new scheduler.",
            ),
            "kind": "stale_input",
            "system_id": "dynamic_pricing",
            "control": False,
            "incident_id": ids["a"],
            **onset_end("a"),
            **windows("a"),
            "features": ["inventory_level", "inventory_as_of", "predicted_price"],
            "slice": [{"column": "warehouse", "op": "==", "value": eff.stale_warehouse}],
            "group": None,
            "model_version": None,
            "effect": a_effects[0],
            "effects": a_effects,
            "failure_signal": stale_signal.model_dump(mode="json"),
            "affected": affected(
                "a",
                "dynamic_pricing rows in the incident window with event_time - "
                f"inventory_as_of > {max_lag_hours:g} hours (the stale-input failure "
                "signal); all of them are products of the frozen warehouse",
            ),
        },
        {
            "id": "b_covariate_drift",
            "cause": cause(
                "covariate_shift",
                columns=["debt_to_income", "avg_monthly_balance", "channel"],
                onset=plan.onsets["b"],
                change_event="Bureau vendor switched to new field derivations; partner channel enabled.",
            ),
            "kind": "covariate_drift",
            "system_id": "credit_scoring",
            "control": False,
            "incident_id": ids["b"],
            **onset_end("b"),
            **windows("b"),
            "features": ["debt_to_income", "avg_monthly_balance", "channel"],
            "slice": [],
            "group": None,
            "model_version": None,
            "effect": b_effects[0],
            "effects": b_effects,
            "failure_signal": None,
            "affected": affected(
                "b",
                "credit_scoring rows in the incident window (every decision there "
                "was scored on drifted inputs)",
            ),
        },
        {
            "id": "c_fairness_deploy",
            "cause": cause(
                "model_change",
                model_version="2.0.0",
                model_fault=True,
                onset=plan.onsets["c"],
                change_event="Model 2.0.0 deployed to all traffic.",
            ),
            "kind": "fairness_regression",
            "system_id": "credit_scoring",
            "control": False,
            "incident_id": ids["c"],
            **onset_end("c"),
            **windows("c"),
            "features": ["region"],
            "slice": [],
            "group": group_b,
            "model_version": {"before": "1.4.0", "after": "2.0.0"},
            "effect": c_effects[0],
            "effects": c_effects,
            "failure_signal": {"kind": "prediction_condition", "column": "approved", "op": "==", "value": 0},
            "affected": affected(
                "c",
                "credit_scoring rows in the incident window with model_version = "
                "'2.0.0', approved = 0 and the entity's ethnic_group = 'group_b' "
                "(declines of the group by the new model)",
            ),
        },
        {
            "id": "d_pipeline_null_slice",
            "cause": cause(
                "null_input",
                columns=["device_trust_score"],
                slice_=fraud_slice,
                onset=plan.onsets["d"],
                change_event="Device-signal pipeline change released.",
            ),
            "kind": "pipeline_null_slice",
            "system_id": "fraud_detection",
            "control": False,
            "incident_id": ids["d"],
            **onset_end("d"),
            **windows("d"),
            "features": ["device_trust_score"],
            "slice": fraud_slice,
            "group": None,
            "model_version": None,
            "effect": d_effects[0],
            "effects": d_effects,
            "failure_signal": DataQualitySignal(column="device_trust_score", condition="null").model_dump(
                mode="json"
            ),
            "affected": affected(
                "d",
                "fraud_detection rows in the incident window inside the slice "
                "(region = 'east' and channel = 'mobile_app'); all have "
                "device_trust_score NULL",
            ),
        },
        {
            "id": "e_concept_drift",
            "cause": cause("concept_change", model_fault=True, onset=plan.onsets["e"]),
            "kind": "concept_drift",
            "system_id": "fraud_detection",
            "control": False,
            "incident_id": ids["e"],
            **onset_end("e"),
            **windows("e"),
            "features": [],
            "slice": [],
            "group": None,
            "model_version": {"before": "3.2.1", "after": "3.3.0"},
            "effect": e_effects[0],
            "effects": e_effects,
            "failure_signal": LabelErrorSignal().model_dump(mode="json"),
            "affected": affected(
                "e",
                "fraud_detection rows in the incident window whose label was observed "
                "by as_of (is_fraud not null and label_observed_at <= as_of) and "
                "flagged != is_fraud",
            ),
        },
        {
            "id": "f_control",
            "cause": cause(None),
            "kind": "control",
            "system_id": "credit_scoring",
            "control": True,
            "incident_id": None,
            "onset": iso(from_us(plan.control_window.start)),
            "end": iso(from_us(plan.control_window.end)),
            **windows("f"),
            "features": [],
            "slice": [],
            "group": group_b,
            "model_version": None,
            "effect": f_effects[0],
            "effects": f_effects,
            "failure_signal": None,
            "affected": {
                "definition": "none: nothing is planted in the control window (it contains only "
                "background realism, including the harmless deploy of 1.5.0)",
                "decisions": 0,
                "entities": 0,
            },
        },
        {
            "id": "g_regional_outage",
            "cause": cause(
                "null_input",
                columns=["distance_from_home_km"],
                slice_=[{"column": "region", "op": "==", "value": "north"}],
                onset=plan.onsets["g"],
                change_event="Geo-enrichment service failover G-231 to the standby replica.",
            ),
            "kind": "upstream_outage",
            "system_id": "fraud_detection",
            "control": False,
            "incident_id": ids["g"],
            **onset_end("g"),
            **windows("g"),
            "features": ["distance_from_home_km"],
            "slice": [{"column": "region", "op": "==", "value": "north"}],
            "group": None,
            "model_version": None,
            "effect": g_effects[0],
            "effects": g_effects,
            "failure_signal": {"kind": "prediction_condition", "column": "flagged", "op": "==", "value": 1},
            "affected": affected(
                "g",
                "fraud_detection rows of region = 'north' during the six-hour outage (all scored without "
                "distance_from_home_km, NULL in the log)",
            ),
        },
        {
            "id": "h_faulty_deploy",
            "cause": cause(
                "model_change",
                model_version="0.9.5",
                model_fault=True,
                slice_=[{"column": "sales_channel", "op": "==", "value": "marketplace"}],
                onset=plan.onsets["h"],
                change_event="Pricing model 0.9.5 released to all channels.",
            ),
            "kind": "faulty_deploy",
            "system_id": "dynamic_pricing",
            "control": False,
            "incident_id": ids["h"],
            **onset_end("h"),
            **windows("h"),
            "features": ["sales_channel"],
            "slice": [{"column": "sales_channel", "op": "==", "value": "marketplace"}],
            "group": None,
            "model_version": {"before": "0.9.3", "after": "0.9.5"},
            "effect": h_effects[0],
            "effects": h_effects,
            "failure_signal": LabelErrorSignal(tolerance=0.1, relative=True).model_dump(mode="json"),
            "affected": affected(
                "h",
                "dynamic_pricing marketplace rows priced by 0.9.5 whose clearing price was observed by "
                "as_of and whose relative price error exceeds 0.1",
            ),
        },
        {
            "id": "i_seasonal_mix",
            "cause": cause(
                "covariate_mix",
                columns=["amount_to_avg_ratio", "amount"],
                model_fault=False,
                onset=plan.onsets["i"],
            ),
            "kind": "seasonal_mix",
            "system_id": "fraud_detection",
            "control": False,
            "incident_id": ids["i"],
            **onset_end("i"),
            **windows("i"),
            "features": ["amount_to_avg_ratio", "amount"],
            "slice": [],
            "group": None,
            "model_version": None,
            "effect": i_effects[0],
            "effects": i_effects,
            "failure_signal": {"kind": "prediction_condition", "column": "flagged", "op": "==", "value": 1},
            "affected": {
                "definition": "fraud_detection decisions in the holiday window that are the extra large "
                "purchases (the mix moved; no decision was made differently for its kind)",
                "decisions": int(counts.get("i.replaced", 0)),
                "entities": int(len(entities.get("i", ()))),
            },
        },
        {
            "id": "j_control",
            "cause": cause(None),
            "kind": "control",
            "system_id": "dynamic_pricing",
            "control": True,
            "incident_id": None,
            "onset": iso(from_us(plan.controls["j"].start)),
            "end": iso(from_us(plan.controls["j"].end)),
            **windows("j"),
            "features": [],
            "slice": [],
            "group": None,
            "model_version": None,
            "effect": effect("none", None, 0.0, 0.0, 0.0, note="nothing planted"),
            "effects": [],
            "failure_signal": LabelErrorSignal(tolerance=0.1, relative=True).model_dump(mode="json"),
            "affected": {
                "definition": "none: nothing is planted in the control window (it contains only "
                "background realism, including the harmless pricing deploy of 0.9.4)",
                "decisions": 0,
                "entities": 0,
            },
        },
    ]
    harmless = {(system, d.at) for system, d in plan.harmless_deploys.items()}
    deploys = {
        system: [
            {
                "at": iso(from_us(d.at)),
                "version": d.version,
                "note": d.note,
                "harmless": (system, d.at) in harmless,
            }
            for d in plan.deploys[system]
        ]
        for system in LOGGED_SYSTEMS
    }
    return {
        "schema_version": 1,
        "generator_version": GENERATOR_VERSION,
        "seed": ctx.seed,
        "rows_per_day": ctx.rows_per_day,
        "anchor": iso(plan.anchor),
        "as_of": iso(plan.as_of),
        "log_span": {"start": iso(plan.anchor), "end": iso(plan.as_of)},
        "effects": eff.model_dump(mode="json"),
        "calibration": {key: round(value, 9) for key, value in sorted(ctx.calibration.items())},
        "deploys": deploys,
        "blame_phrasing_incidents": list(register.blame_ids),
        "rows_per_system": rows_per_system,
        "entity_id_example": {
            system: entity_ids(system, np.array([0])).to_pylist()[0] for system in LOGGED_SYSTEMS
        },
        "scenarios": scenarios,
    }
