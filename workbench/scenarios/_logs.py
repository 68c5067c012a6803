"""Prediction-log generators of the three logged systems, one (system, day) at a time.

Each day is a pure function of ``(seed, system, day, rows_per_day, effects)``: its random numbers come from
``np.random.SeedSequence([seed, system_index, day_index])``, entity attributes from a per-system stream,
and the planted effects from the plan. So the data never depends on the order or grouping in which days
are generated or written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TypedDict

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from workbench.scenarios._plan import (
    DAY_US,
    HOUR_US,
    LOGGED_SYSTEMS,
    Plan,
    ScenarioEffects,
    Window,
    version_at,
)

__all__ = ["Context", "DayResult", "SYSTEM_COLUMNS", "build_context", "generate_day", "sensitive_table"]

_MIN_US = 60_000_000
_UTC_US = pa.timestamp("us", tz="UTC")

# Vocabularies of the logs (data, not register vocabularies).
REGIONS = ("north", "south", "east", "west", "central")
SEXES = ("female", "male", "undisclosed")
AGE_BANDS = ("18-24", "25-34", "35-44", "45-54", "55-64", "65+")
ETHNIC_GROUPS = ("group_a", "group_b", "group_c")
CREDIT_CHANNELS = ("branch", "web", "mobile", "broker", "partner_api")
EMPLOYMENT = ("salaried", "self_employed", "contractor", "retired", "student")
HOUSING = ("own", "mortgage", "rent", "other")
PURPOSES = ("debt_consolidation", "car", "home_improvement", "education", "medical", "other")
FRAUD_CHANNELS = ("pos", "ecommerce", "mobile_app", "atm")
MERCHANT_CATEGORIES = ("grocery", "electronics", "travel", "fuel", "restaurants", "digital_goods", "other")
DEVICE_TYPES = ("android", "ios", "web", "none")
ENTRY_MODES = ("chip", "contactless", "swipe", "manual", "online")
PRODUCT_CATEGORIES = ("electronics", "home", "fashion", "toys", "grocery", "sports")
WAREHOUSES = ("wh_north", "wh_south", "wh_east", "wh_west")
SALES_CHANNELS = ("web", "app", "marketplace")
SEGMENTS = ("new", "returning", "loyalty")
DEVICES = ("desktop", "mobile", "tablet")
BRAND_TIERS = ("budget", "mid", "premium")


class SystemColumns(TypedDict):
    """The columns of one logged system's prediction log, by role."""

    numeric: list[str]
    categorical: list[str]
    as_of: dict[str, str]  # feature -> the column holding when its value was observed
    score: str | None
    prediction: str
    label: str
    entity_prefix: str
    request_prefix: str


SYSTEM_COLUMNS: dict[str, SystemColumns] = {
    "credit_scoring": {
        "numeric": [
            "annual_income",
            "debt_to_income",
            "credit_utilization",
            "avg_monthly_balance",
            "n_delinquencies_2y",
            "recent_inquiries_6m",
            "n_open_accounts",
            "credit_history_months",
            "loan_amount",
            "loan_term_months",
            "employment_years",
            "bureau_score",
            "loan_to_income",
        ],
        "categorical": ["channel", "employment_type", "housing_status", "loan_purpose", "region"],
        "as_of": {"bureau_score": "bureau_score_as_of"},
        "score": "score",
        "prediction": "approved",
        "label": "repaid",
        "entity_prefix": "CUS",
        "request_prefix": "cs-",
    },
    "fraud_detection": {
        "numeric": [
            "amount",
            "amount_to_avg_ratio",
            "hour_of_day",
            "txn_count_1h",
            "txn_count_24h",
            "minutes_since_last_txn",
            "distance_from_home_km",
            "account_age_days",
            "device_trust_score",
            "ip_risk_score",
            "failed_logins_24h",
            "merchant_risk_score",
            "velocity_amount_24h",
        ],
        "categorical": ["channel", "merchant_category", "region", "device_type", "entry_mode"],
        "as_of": {"merchant_risk_score": "merchant_risk_as_of"},
        "score": "score",
        "prediction": "flagged",
        "label": "is_fraud",
        "entity_prefix": "CARD",
        "request_prefix": "fd-",
    },
    "dynamic_pricing": {
        "numeric": [
            "base_cost",
            "competitor_price",
            "inventory_level",
            "demand_index_7d",
            "days_since_launch",
            "rating",
            "n_reviews",
            "page_views_24h",
            "cart_adds_24h",
            "discount_depth",
            "shipping_days",
            "return_rate",
            "hour_of_day",
        ],
        "categorical": ["category", "warehouse", "sales_channel", "customer_segment", "device", "brand_tier"],
        "as_of": {"inventory_level": "inventory_as_of"},
        "score": None,
        "prediction": "predicted_price",
        "label": "clearing_price",
        "entity_prefix": "SKU",
        "request_prefix": "dp-",
    },
}

CREDIT_THRESHOLD = 0.65
FRAUD_THRESHOLD = 0.3
_WEEKLY = {
    "credit_scoring": np.array([1.15, 1.1, 1.05, 1.05, 1.0, 0.85, 0.8]),
    "fraud_detection": np.array([0.92, 0.92, 0.95, 0.98, 1.06, 1.1, 1.07]),
    "dynamic_pricing": np.array([0.95, 0.93, 0.95, 0.97, 1.02, 1.1, 1.08]),
}
_HOURLY = {
    "credit_scoring": np.array(
        [1, 1, 1, 1, 1, 2, 3, 5, 8, 10, 11, 11, 10, 10, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1.0]
    ),
    "fraud_detection": np.array(
        [2, 2, 1, 1, 1, 2, 3, 5, 6, 7, 8, 9, 10, 9, 8, 8, 9, 10, 10, 9, 8, 6, 4, 3.0]
    ),
    "dynamic_pricing": np.array(
        [2, 1, 1, 1, 1, 2, 3, 4, 6, 7, 8, 8, 8, 8, 8, 8, 8, 9, 10, 11, 11, 9, 6, 4.0]
    ),
}


def _rng(*key: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(list(key)))


def _logistic(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def _choice(rng: np.random.Generator, n: int, p: list[float] | np.ndarray) -> np.ndarray:
    p = np.asarray(p, dtype=float)
    cdf = np.cumsum(p / p.sum())
    return np.minimum(np.searchsorted(cdf, rng.random(n), side="right"), len(p) - 1).astype(np.int8)


def _zipf_index(rng: np.random.Generator, n: int, pool: int, power: float) -> np.ndarray:
    """Entity indices where low indices recur: P(index < k) = (k / pool) ** (1 / power)."""
    return np.minimum((pool * rng.random(n) ** power).astype(np.int64), pool - 1)


# --------------------------------------------------------------------------------------------------
# Context: calibrated constants and entity pools, shared by every day of one run.
# --------------------------------------------------------------------------------------------------


@dataclass
class Context:
    """Everything a day needs besides its own random numbers."""

    seed: int
    rows_per_day: int
    effects: ScenarioEffects
    plan: Plan
    pools: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    calibration: dict[str, float] = field(default_factory=dict)


@dataclass
class DayResult:
    """One (system, day) of logs plus what the ground truth needs from it."""

    table: pa.Table
    counts: dict[str, float]
    entities: dict[str, np.ndarray]


def build_context(seed: int, rows_per_day: int, effects: ScenarioEffects, plan: Plan) -> Context:
    """Calibrate the planted effects and draw the entity pools."""
    ctx = Context(seed=seed, rows_per_day=rows_per_day, effects=effects, plan=plan)
    _calibrate_credit(ctx)
    _calibrate_fraud(ctx)
    sizes = {
        "credit_scoring": int(np.clip(rows_per_day * 40, 2_000, 600_000)),
        "fraud_detection": int(np.clip(rows_per_day * 8, 1_000, 300_000)),
        "dynamic_pricing": int(np.clip(rows_per_day // 2, 300, 20_000)),
    }
    ctx.pools["credit_scoring"] = _credit_pool(
        _rng(seed, 0, 10**6), sizes["credit_scoring"], ctx.calibration["credit_group_shift"]
    )
    ctx.pools["fraud_detection"] = _fraud_pool(_rng(seed, 1, 10**6), sizes["fraud_detection"])
    ctx.pools["dynamic_pricing"] = _pricing_pool(_rng(seed, 2, 10**6), sizes["dynamic_pricing"])
    return ctx


def _bisect(func, low: float, high: float, target: float, iterations: int = 30) -> float:
    """Solve ``func(x) = target`` for a monotone ``func`` on [low, high] (clamped at the ends)."""
    f_low, f_high = func(low), func(high)
    increasing = f_high >= f_low
    if (target <= f_low) == increasing and target != f_low:
        return low
    if (target >= f_high) == increasing and target != f_high:
        return high
    for _ in range(iterations):
        mid = 0.5 * (low + high)
        if (func(mid) < target) == increasing:
            low = mid
        else:
            high = mid
    return 0.5 * (low + high)


# --------------------------------------------------------------------------------------------------
# Credit scoring: binary classifier (1 = approve), labels = repaid (defaults observed months later).
# --------------------------------------------------------------------------------------------------


def _credit_pool(rng: np.random.Generator, n: int, group_shift: float) -> dict[str, np.ndarray]:
    group = _choice(rng, n, [0.6, 0.25, 0.15])
    region_b = _choice(rng, n, [0.1, 0.1, 0.6, 0.1, 0.1])
    region_o = _choice(rng, n, [0.22, 0.22, 0.12, 0.22, 0.22])
    region = np.where(group == 1, region_b, region_o).astype(np.int8)
    sex = _choice(rng, n, [0.49, 0.49, 0.02])
    age = _choice(rng, n, [0.12, 0.22, 0.22, 0.18, 0.14, 0.12])
    latent = rng.standard_normal(n) + group_shift * (group == 1)
    income_base = np.exp(10.55 + 0.25 * latent + 0.08 * (age - 2) + rng.normal(0, 0.35, n))
    employment = _choice(rng, n, [0.62, 0.16, 0.1, 0.04, 0.08])
    u = rng.random(n)
    employment[(age == 5) & (u < 0.6)] = 3
    employment[(age == 0) & (u < 0.3)] = 4
    housing = _choice(rng, n, [0.2, 0.35, 0.4, 0.05])
    housing[(age == 0) & (rng.random(n) < 0.6)] = 2
    age_years = np.array([21, 30, 40, 50, 60, 70.0])[age]
    history0 = np.floor((age_years - 18) * 12 * rng.uniform(0.3, 1.0, n))
    employment_years0 = np.minimum(rng.gamma(2.0, 3.0, n), age_years - 17)
    return {
        "group": group,
        "region": region,
        "sex": sex,
        "age": age,
        "latent": latent,
        "income_base": income_base,
        "employment": employment,
        "housing": housing,
        "history0": history0,
        "employment_years0": employment_years0,
        "employment_missing": rng.random(n) < 0.02,
        "bureau_missing": rng.random(n) < 0.015,
    }


_CREDIT_TRUE = (1.0, 0.9, -0.7, -0.4, 0.25, -0.35, 0.3, -0.3, 0.15, -0.25)
_CREDIT_V1 = (0.55, 0.85, -0.65, -0.42, 0.22, -0.33, 0.3, -0.28, 0.12, 0.0)
_CREDIT_V15 = (0.56, 0.86, -0.64, -0.42, 0.22, -0.33, 0.29, -0.28, 0.12, 0.0)
_DTI_SD = float(np.hypot(0.05, 0.1))


def _credit_rows(
    rng: np.random.Generator,
    pool: dict[str, np.ndarray],
    e: np.ndarray,
    day: np.ndarray,
    dow: np.ndarray,
    drift: np.ndarray,
    effects: ScenarioEffects,
) -> dict[str, np.ndarray]:
    n = len(e)
    latent = pool["latent"][e]
    income = pool["income_base"][e] * np.exp(rng.normal(0, 0.05, n)) * (1 + 0.04 * day / 180)
    dti = 0.35 - 0.05 * latent + rng.normal(0, 0.1, n)
    dti = dti + drift * effects.drift_mean_shift_sd * _DTI_SD
    util = np.clip(0.45 - 0.1 * latent + rng.normal(0, 0.15, n), 0.0, 1.0)
    balance = 2.0 + 1.5 * latent + rng.normal(0, 3.0, n)
    balance = np.where(drift, 2.0 + (balance - 2.0) * np.sqrt(effects.drift_variance_ratio), balance)
    delinq = rng.poisson(np.exp(-1.3 - 0.6 * latent)).astype(float)
    purpose = _choice(rng, n, [0.35, 0.2, 0.15, 0.08, 0.07, 0.15])
    inquiries = rng.poisson(1.0 + 0.4 * (purpose == 0)).astype(float)
    open_accounts = rng.poisson(2.0 + 0.6 * pool["age"][e]).astype(float)
    history = pool["history0"][e] + np.floor(day / 30.4)
    weekly = np.where(dow == 0, 1.12, np.where(dow >= 5, 0.9, 1.0))
    loan = np.round(np.exp(9.2 + 0.3 * np.log(income / 38_000) + rng.normal(0, 0.5, n)) * weekly, -1)
    term = np.array([12, 24, 36, 48, 60.0])[_choice(rng, n, [0.1, 0.2, 0.35, 0.15, 0.2])]
    employment_years = np.round(pool["employment_years0"][e] + day / 365.0, 1)
    bureau = np.round(680 + 55 * latent + rng.normal(0, 20, n) - 15 * delinq)
    lti = loan / income
    channel = _choice(rng, n, [0.2, 0.4, 0.3, 0.1])
    if effects.drift_new_category_share > 0:
        channel = np.where(drift & (rng.random(n) < effects.drift_new_category_share), 4, channel)
    return {
        "annual_income": np.round(income, 0),
        "debt_to_income": dti,
        "credit_utilization": util,
        "avg_monthly_balance": balance,
        "n_delinquencies_2y": delinq,
        "recent_inquiries_6m": inquiries,
        "n_open_accounts": open_accounts,
        "credit_history_months": history,
        "loan_amount": loan,
        "loan_term_months": term,
        "employment_years": employment_years,
        "bureau_score": bureau,
        "loan_to_income": lti,
        "channel": channel.astype(np.int8),
        "employment_type": pool["employment"][e],
        "housing_status": pool["housing"][e],
        "loan_purpose": purpose,
        "region": pool["region"][e],
    }


def _credit_logit(f: dict[str, np.ndarray], coef: tuple[float, ...], bureau: np.ndarray) -> np.ndarray:
    emp = np.nan_to_num(f["employment_years"], nan=4.0)
    return (
        coef[0]
        + coef[1] * (bureau - 680) / 60
        - abs(coef[2]) * (f["debt_to_income"] - 0.35) / 0.112
        - abs(coef[3]) * (f["credit_utilization"] - 0.45) / 0.17
        + coef[4] * (f["avg_monthly_balance"] - 2.0) / 3.35
        - abs(coef[5]) * f["n_delinquencies_2y"]
        + coef[6] * np.log(f["annual_income"] / 38_000) / 0.36
        - abs(coef[7]) * (f["loan_to_income"] - 0.3) / 0.2
        + coef[8] * (emp > 2)
        - abs(coef[9]) * (f["channel"] == 4)
    )


def _calibrate_credit(ctx: Context) -> None:
    n = 50_000
    eff = ctx.effects

    def sample(shift: float) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        rng = _rng(ctx.seed, 0, 2 * 10**6)
        pool = _credit_pool(rng, n, shift)
        day = rng.integers(0, 180, n).astype(float)
        rows = _credit_rows(rng, pool, np.arange(n), day, (day % 7).astype(int), np.zeros(n, bool), eff)
        return pool, rows

    def ratio(approved: np.ndarray, group: np.ndarray) -> float:
        return float(approved[group == 1].mean() / max(approved[group != 1].mean(), 1e-9))

    def before(shift: float) -> float:
        pool, rows = sample(shift)
        return ratio(
            _logistic(_credit_logit(rows, _CREDIT_V1, rows["bureau_score"])) >= CREDIT_THRESHOLD,
            pool["group"],
        )

    shift = _bisect(before, -1.5, 0.5, eff.fairness_ratio_before, iterations=13)
    pool, rows = sample(shift)
    z_v1 = _credit_logit(rows, _CREDIT_V1, rows["bureau_score"])
    east = rows["region"] == 2

    def after(penalty: float) -> float:
        return ratio(_logistic(z_v1 - penalty * east) >= CREDIT_THRESHOLD, pool["group"])

    penalty = _bisect(after, -3.0, 8.0, eff.fairness_ratio_after, iterations=30)
    ctx.calibration["credit_group_shift"] = shift
    ctx.calibration["credit_v2_region_penalty"] = penalty


def _credit_day(ctx: Context, day: int, rng: np.random.Generator, times: np.ndarray) -> DayResult:
    """One day of one system's prediction log.

    Long because it is one day of one system's log drawn column by column from one seeded generator:
    the draw order is the data.
    """
    plan, eff = ctx.plan, ctx.effects
    pool = ctx.pools["credit_scoring"]
    n = len(times)
    e = _zipf_index(rng, n, len(pool["group"]), 1.3)
    dow = np.full(n, (plan.anchor.weekday() + day) % 7)
    win_b = plan.incident_window("b")
    drift = (times >= win_b.start) & (times < win_b.end)
    f = _credit_rows(rng, pool, e, np.full(n, float(day)), dow, drift, eff)
    bureau_true = f["bureau_score"]
    day_noise = rng.normal(0, 0.08)
    z_true = _credit_logit(f, _CREDIT_TRUE, bureau_true) + day_noise
    repaid = (rng.random(n) < _logistic(z_true)).astype(np.int8)

    version_index, versions = version_at(plan, "credit_scoring", times)
    version = np.asarray(versions)[version_index]
    bureau_null = pool["bureau_missing"][e]
    bureau_model = np.where(bureau_null, 680.0, bureau_true)
    z_v1 = _credit_logit(f, _CREDIT_V1, bureau_model)
    z_v15 = _credit_logit(f, _CREDIT_V15, bureau_model)
    east = f["region"] == 2
    z_v2 = z_v1 - ctx.calibration["credit_v2_region_penalty"] * east
    z_model = np.where(version == "2.0.0", z_v2, np.where(version == "1.5.0", z_v15, z_v1))
    score = _logistic(z_model)
    approved = (score >= CREDIT_THRESHOLD).astype(np.int8)

    # labels: defaults surface after months, good standing after ~2 months of payments, some never.
    lag_default = np.exp(rng.normal(np.log(45.0), 0.45, n)).clip(20, 150) * DAY_US
    lag_good = (60 + rng.uniform(0, 5, n)) * DAY_US
    observed_at = times + np.where(repaid == 1, lag_good, lag_default).astype(np.int64)
    never = rng.random(n) < 0.08
    bureau_as_of = ((times - 2 * HOUR_US) // DAY_US) * DAY_US + 2 * HOUR_US

    employment_null = pool["employment_missing"][e]
    balance_null = rng.random(n) < 0.01
    numeric_nulls = {
        "employment_years": employment_null,
        "bureau_score": bureau_null,
        "avg_monthly_balance": balance_null,
    }
    categories = {
        "channel": CREDIT_CHANNELS,
        "employment_type": EMPLOYMENT,
        "housing_status": HOUSING,
        "loan_purpose": PURPOSES,
        "region": REGIONS,
    }
    spec = SYSTEM_COLUMNS["credit_scoring"]
    columns = _head_columns(spec, day, times, e, version)
    for name in spec["numeric"]:
        columns[name] = pa.array(f[name].astype(np.float64), mask=numeric_nulls.get(name))
    for name in spec["categorical"]:
        columns[name] = _categorical(f[name], categories[name])
    columns["bureau_score_as_of"] = pa.array(bureau_as_of, type=_UTC_US, mask=bureau_null)
    columns["score"] = pa.array(np.round(score, 6))
    columns["approved"] = pa.array(approved)
    columns["repaid"] = pa.array(repaid, mask=never)
    columns["label_observed_at"] = pa.array(observed_at, type=_UTC_US, mask=never)

    counts: dict[str, float] = {}
    entities: dict[str, np.ndarray] = {}
    group_b = pool["group"][e] == 1
    # (b): every decision in the drift window was scored on drifted inputs.
    counts["b.decisions"] = float(drift.sum())
    entities["b"] = e[drift]
    # (c): declines of the group made by the new model in the incident window.
    win_c = plan.incident_window("c")
    in_c = (times >= win_c.start) & (times < win_c.end)
    hit_c = in_c & group_b & (version == "2.0.0") & (approved == 0)
    counts["c.decisions"] = float(hit_c.sum())
    entities["c"] = e[hit_c]
    labelled = ~never
    for key in ("b", "c", "f"):
        for part, window in (("ref", plan.reference_window(key)), ("inc", _scenario_window(plan, key))):
            mask = (times >= window.start) & (times < window.end)
            if not mask.any():
                continue
            prefix = f"{key}.{part}."
            for name, member in (("group", group_b), ("rest", ~group_b)):
                m = mask & member
                _add(counts, prefix + name + ".n", m.sum())
                _add(counts, prefix + name + ".selected", (m & (approved == 1)).sum())
                _add(counts, prefix + name + ".positives", (m & labelled & (repaid == 1)).sum())
                _add(counts, prefix + name + ".tp", (m & labelled & (repaid == 1) & (approved == 1)).sum())
            for name, values, nulls in (
                ("debt_to_income", f["debt_to_income"], None),
                ("avg_monthly_balance", f["avg_monthly_balance"], balance_null),
            ):
                m = mask if nulls is None else mask & ~nulls
                _add(counts, prefix + name + ".n", m.sum())
                _add(counts, prefix + name + ".sum", values[m].sum())
                _add(counts, prefix + name + ".sumsq", (values[m] ** 2).sum())
            _add(counts, prefix + "channel.partner_api", (mask & (f["channel"] == 4)).sum())
            _add(counts, prefix + "n", mask.sum())
    return DayResult(pa.table(columns), counts, entities)


# --------------------------------------------------------------------------------------------------
# Fraud detection: binary classifier (1 = flag as fraud), chargebacks arrive days to weeks later.
# --------------------------------------------------------------------------------------------------


def _fraud_pool(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    return {
        "region": _choice(rng, n, [0.2, 0.2, 0.2, 0.2, 0.2]),
        "sex": _choice(rng, n, [0.49, 0.49, 0.02]),
        "age": _choice(rng, n, [0.12, 0.22, 0.22, 0.18, 0.14, 0.12]),
        "group": _choice(rng, n, [0.6, 0.25, 0.15]),
        "home_device": _choice(rng, n, [0.55, 0.45]),
        "avg_amount": np.exp(3.7 + rng.normal(0, 0.6, n)),
        "open_day": -rng.uniform(30, 3000, n),
    }


_FRAUD_TRUE = (-6.4, 1.5, 1.6, 0.8, 0.8, 0.8, 0.6, 0.35, 0.6, 0.9)
_FRAUD_MODEL = (-6.3, 1.45, 1.55, 0.75, 0.8, 0.75, 0.55, 0.35, 0.55, 0.85)
_TRUST_MEAN = 5 / 7


def _fraud_rows(
    rng: np.random.Generator,
    pool: dict[str, np.ndarray],
    e: np.ndarray,
    day: np.ndarray,
    dow: np.ndarray,
    hour: np.ndarray,
) -> dict[str, np.ndarray]:
    n = len(e)
    channel = _choice(rng, n, [0.45, 0.30, 0.15, 0.10])
    mcc = _choice(rng, n, [0.25, 0.1, 0.08, 0.15, 0.2, 0.07, 0.15])
    mcc = np.where(channel == 3, 6, mcc).astype(np.int8)
    home = pool["home_device"][e]
    device = np.where(channel == 2, home, np.where(channel == 1, np.where(rng.random(n) < 0.6, 2, home), 3))
    entry = np.where(channel == 0, _choice(rng, n, [0.5, 0.4, 0.08, 0.02, 0.0]), np.where(channel == 3, 0, 4))
    weekend = dow >= 5
    avg = pool["avg_amount"][e]
    amount = np.round(avg * np.exp(rng.normal(0, 0.7, n)) * np.where(weekend, 1.15, 1.0), 2)
    txn_1h = rng.poisson(0.25, n).astype(float)
    txn_24h = rng.poisson(2.5, n) + txn_1h
    return {
        "amount": amount,
        "amount_to_avg_ratio": amount / avg,
        "hour_of_day": hour.astype(float),
        "txn_count_1h": txn_1h,
        "txn_count_24h": txn_24h,
        "minutes_since_last_txn": np.round(rng.exponential(240, n), 1),
        "distance_from_home_km": np.round(np.exp(rng.normal(1.8, 1.1, n)), 2),
        "account_age_days": np.floor(day - pool["open_day"][e]),
        "device_trust_score": rng.beta(5, 2, n),
        "ip_risk_score": rng.beta(2, 8, n),
        "failed_logins_24h": rng.poisson(0.08, n).astype(float),
        "merchant_risk_score": rng.beta(2, 6, n),
        "velocity_amount_24h": np.round(amount * (txn_24h + 1) * rng.uniform(0.6, 1.4, n), 2),
        "channel": channel.astype(np.int8),
        "merchant_category": mcc,
        "region": pool["region"][e],
        "device_type": device.astype(np.int8),
        "entry_mode": entry.astype(np.int8),
    }


def _fraud_logit(f: dict[str, np.ndarray], coef: tuple[float, ...], trust: np.ndarray) -> np.ndarray:
    return (
        coef[0]
        + coef[1] * (f["ip_risk_score"] - 0.2) / 0.12
        + coef[2] * (_TRUST_MEAN - trust) / 0.16
        + coef[3] * np.log(f["amount_to_avg_ratio"])
        + coef[4] * (f["merchant_risk_score"] - 0.25) / 0.145
        + coef[5] * f["failed_logins_24h"]
        + coef[6] * f["txn_count_1h"]
        + coef[7] * (np.log(f["distance_from_home_km"]) - 1.8) / 1.1
        + coef[8] * (f["hour_of_day"] < 5)
        + coef[9] * (f["account_age_days"] < 90)
    )


def _calibrate_fraud(ctx: Context) -> None:
    n = 200_000
    rng = _rng(ctx.seed, 1, 2 * 10**6)
    pool = _fraud_pool(rng, n)
    day = rng.integers(0, 180, n).astype(float)
    f = _fraud_rows(rng, pool, np.arange(n), day, (day % 7).astype(int), rng.integers(0, 24, n))
    z_true = _fraud_logit(f, _FRAUD_TRUE, f["device_trust_score"])
    u = rng.random(n)
    is_fraud = u < _logistic(z_true)
    z_model = _fraud_logit(f, _FRAUD_MODEL, f["device_trust_score"])
    flagged = _logistic(z_model) >= FRAUD_THRESHOLD
    base_error = float((flagged != is_fraud).mean())
    in_slice = (f["region"] == 2) & (f["channel"] == 2)
    rest_error = float((flagged != is_fraud)[~in_slice].mean())
    target = ctx.effects.slice_error_multiplier * rest_error

    def slice_error(fallback: float) -> float:
        z = _fraud_logit(f, _FRAUD_MODEL, np.full(n, fallback))[in_slice]
        return float(((_logistic(z) >= FRAUD_THRESHOLD) != is_fraud[in_slice]).mean())

    fallback = _bisect(slice_error, 0.0, _TRUST_MEAN, target, iterations=30)
    ecommerce = f["channel"] == 1

    def error_with(k: float) -> float:
        fraud_k = u < _logistic(z_true + k * ecommerce)
        return float((flagged != fraud_k).mean())

    k = _bisect(error_with, 0.0, 12.0, base_error + ctx.effects.concept_error_increase, iterations=30)
    ctx.calibration["fraud_slice_trust_fallback"] = fallback
    ctx.calibration["fraud_concept_logit_shift"] = k
    ctx.calibration["fraud_base_error"] = base_error


def _fraud_day(ctx: Context, day: int, rng: np.random.Generator, times: np.ndarray) -> DayResult:
    plan = ctx.plan
    pool = ctx.pools["fraud_detection"]
    n = len(times)
    e = _zipf_index(rng, n, len(pool["region"]), 2.0)
    day_start = plan.day_start_us(day)
    hour = (times - day_start) // HOUR_US
    dow = np.full(n, (plan.anchor.weekday() + day) % 7)
    f = _fraud_rows(rng, pool, e, np.full(n, float(day)), dow, hour)
    trust = f["device_trust_score"]
    win_e = plan.incident_window("e")
    concept = (times >= win_e.start) & (times < win_e.end) & (f["channel"] == 1)
    z_true = (
        _fraud_logit(f, _FRAUD_TRUE, trust)
        + rng.normal(0, 0.1)
        + ctx.calibration["fraud_concept_logit_shift"] * concept
    )
    is_fraud = (rng.random(n) < _logistic(z_true)).astype(np.int8)

    win_d = plan.incident_window("d")
    in_slice = (f["region"] == 2) & (f["channel"] == 2)
    nulled = in_slice & (times >= win_d.start) & (times < win_d.end)
    background_null = rng.random(n) < 0.005
    trust_null = nulled | background_null
    trust_model = np.where(
        nulled, ctx.calibration["fraud_slice_trust_fallback"], np.where(background_null, _TRUST_MEAN, trust)
    )
    version_index, versions = version_at(plan, "fraud_detection", times)
    version = np.asarray(versions)[version_index]
    # (g) the geo-enrichment service fails over for six hours in one region: the distance arrives NULL and
    # the model's missing-value fallback treats it as far from home (no random draw: other rows unchanged)
    win_g = plan.incident_window("g")
    outage = (f["region"] == 0) & (times >= win_g.start) & (times < win_g.end)
    z_model = _fraud_logit(f, _FRAUD_MODEL, trust_model) + ctx.effects.outage_logit_shift * outage
    score = _logistic(z_model)
    flagged = (score >= FRAUD_THRESHOLD).astype(np.int8)

    lag_fraud = np.exp(rng.normal(np.log(12.0), 0.6, n)).clip(2, 60) * DAY_US
    lag_legit = (35 + rng.uniform(0, 3, n)) * DAY_US
    observed_at = times + np.where(is_fraud == 1, lag_fraud, lag_legit).astype(np.int64)
    never = rng.random(n) < 0.02
    merchant_as_of = ((times - 5 * _MIN_US) // HOUR_US) * HOUR_US + 5 * _MIN_US

    categories = {
        "channel": FRAUD_CHANNELS,
        "merchant_category": MERCHANT_CATEGORIES,
        "region": REGIONS,
        "device_type": DEVICE_TYPES,
        "entry_mode": ENTRY_MODES,
    }
    spec = SYSTEM_COLUMNS["fraud_detection"]
    columns = _head_columns(spec, day, times, e, version)
    for name in spec["numeric"]:
        mask = {"device_trust_score": trust_null, "distance_from_home_km": outage}.get(name)
        columns[name] = pa.array(
            f[name].astype(np.float64), mask=mask if mask is not None and mask.any() else None
        )
    for name in spec["categorical"]:
        columns[name] = _categorical(f[name], categories[name])
    columns["merchant_risk_as_of"] = pa.array(merchant_as_of, type=_UTC_US)
    columns["score"] = pa.array(np.round(score, 6))
    columns["flagged"] = pa.array(flagged)
    columns["is_fraud"] = pa.array(is_fraud, mask=never)
    columns["label_observed_at"] = pa.array(observed_at, type=_UTC_US, mask=never)

    as_of = plan.as_of_us
    in_e = (times >= win_e.start) & (times < win_e.end)
    labelled = ~never & (observed_at <= as_of)
    hit_e = in_e & labelled & (flagged != is_fraud)
    counts = {
        "d.decisions": float(nulled.sum()),
        "e.decisions": float(hit_e.sum()),
        "g.decisions": float(outage.sum()),
    }
    entities = {"d": e[nulled], "e": e[hit_e], "g": e[outage]}
    in_north = f["region"] == 0
    for part, window in (("ref", plan.reference_window("g")), ("inc", win_g)):
        mask = (times >= window.start) & (times < window.end)
        _add(counts, f"g.{part}.slice.n", (mask & in_north).sum())
        _add(counts, f"g.{part}.slice.flagged", (mask & in_north & (flagged == 1)).sum())
        _add(counts, f"g.{part}.rest.n", (mask & ~in_north).sum())
        _add(counts, f"g.{part}.rest.flagged", (mask & ~in_north & (flagged == 1)).sum())
    error = (flagged != is_fraud) & ~never
    table = pa.table(columns)
    win_i = plan.incident_window("i")
    if win_i.start < plan.day_start_us(day + 1) and win_i.end > plan.day_start_us(day):
        table, copied = _holiday_mix(ctx, day, table, times, f["amount_to_avg_ratio"], win_i, counts)
        entities["i"] = e[copied]
    _mix_counts(plan, table, times, counts)
    for key in ("d", "e"):
        for part, window in (("ref", plan.reference_window(key)), ("inc", plan.incident_window(key))):
            mask = (times >= window.start) & (times < window.end) & ~never
            prefix = f"{key}.{part}."
            _add(counts, prefix + "slice.n", (mask & in_slice).sum())
            _add(counts, prefix + "slice.errors", (mask & in_slice & error).sum())
            _add(counts, prefix + "rest.n", (mask & ~in_slice).sum())
            _add(counts, prefix + "rest.errors", (mask & ~in_slice & error).sum())
    return DayResult(table, counts, entities)


#: Usual-amount ratio above which a purchase is "large" (the top fifth of the reference log).
LARGE_RATIO = 1.9


def _holiday_mix(
    ctx: Context,
    day: int,
    table: pa.Table,
    times: np.ndarray,
    ratio: np.ndarray,
    window: Window,
    counts: dict[str, float],
) -> tuple[pa.Table, np.ndarray]:
    """(i) Holiday shopping: inside the window, large purchases grow to ``holiday_large_share``.

    Ordinary purchases are replaced by copies of the day's large ones (amount >= 1.9 x the customer's
    usual) until large ones make ``holiday_large_share`` of the window's purchases.

    The copies keep their event time and request id and everything else of the copied decision (inputs,
    score, decision, label), so the model's behaviour on each kind of purchase is unchanged: only the mix
    moves. Its own random stream (``seed, 1, day, 9``): the other days and rows are untouched. Returns the
    mixed table and the row indices of the copied purchases (one per replaced row).
    """
    inside = (times >= window.start) & (times < window.end)
    large = ratio >= LARGE_RATIO
    donors = np.flatnonzero(large)
    ordinary = np.flatnonzero(inside & ~large)
    target = ctx.effects.holiday_large_share
    share_now = float(large[inside].mean()) if inside.any() else 1.0
    if donors.size == 0 or ordinary.size == 0 or share_now >= target:
        return table, np.zeros(0, dtype=np.int64)
    rng = _rng(ctx.seed, 1, day, 9)
    replace_p = (target - share_now) / (1 - share_now)
    chosen = ordinary[rng.random(ordinary.size) < replace_p]
    source = np.arange(len(times))
    source[chosen] = donors[rng.integers(0, donors.size, chosen.size)]
    mixed = table.take(pa.array(source))
    kept = ("event_time", "request_id", "hour_of_day", "merchant_risk_as_of")  # what belongs to the time
    for name in kept:
        if name in table.column_names:
            mixed = mixed.set_column(mixed.column_names.index(name), name, table[name])
    _add(counts, "i.replaced", chosen.size)
    _add(counts, "i.inside", inside.sum())
    return mixed, source[chosen]


def _mix_counts(plan: Plan, table: pa.Table, times: np.ndarray, counts: dict[str, float]) -> None:
    """(i) Count large and ordinary purchases and their flags in the reference and holiday windows.

    Read from the rows as written (after the mix), so the ground truth states the shares and the flag
    rate of each kind of purchase that an analysis of the files sees.
    """
    ratio = table["amount_to_avg_ratio"].to_numpy(zero_copy_only=False)
    flagged = table["flagged"].to_numpy(zero_copy_only=False) == 1
    large = ratio >= LARGE_RATIO
    for part, window in (("ref", plan.reference_window("i")), ("inc", plan.incident_window("i"))):
        mask = (times >= window.start) & (times < window.end)
        if not mask.any():
            continue
        for kind, member in (("large", large), ("ordinary", ~large)):
            _add(counts, f"i.{part}.{kind}.n", (mask & member).sum())
            _add(counts, f"i.{part}.{kind}.flagged", (mask & member & flagged).sum())


# --------------------------------------------------------------------------------------------------
# Dynamic pricing: regression (predicted price); inventory comes from an hourly upstream snapshot.
# --------------------------------------------------------------------------------------------------


def _pricing_pool(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    tier = _choice(rng, n, [0.35, 0.45, 0.2])
    return {
        "category": _choice(rng, n, [0.2, 0.2, 0.2, 0.1, 0.15, 0.15]),
        "warehouse": _choice(rng, n, [0.25, 0.25, 0.25, 0.25]),
        "tier": tier,
        "base_cost": np.round(np.exp(rng.normal(3.2, 0.8, n)), 2),
        "markup": 1.3 + 0.3 * tier + rng.normal(0, 0.05, n),
        "capacity": np.exp(rng.normal(5.0, 0.5, n)),
        "period": rng.uniform(4, 14, n),
        "phase": rng.random(n),
        "launch_day": -rng.uniform(10, 1000, n),
        "rating": np.round(np.clip(rng.normal(4.1, 0.4, n), 1, 5), 1),
        "n_reviews": np.floor(np.exp(rng.normal(4.0, 1.3, n))),
        "return_rate": np.round(rng.beta(2, 20, n), 4),
        "shipping_days": rng.integers(1, 8, n).astype(float),
        "popularity": np.exp(rng.normal(0, 0.8, n)),
    }


def _inventory(pool: dict[str, np.ndarray], e: np.ndarray, t_days: np.ndarray) -> np.ndarray:
    """True inventory of product ``e`` at ``t_days`` (days since the anchor): deplete, then restock."""
    cycle = t_days / pool["period"][e] + pool["phase"][e]
    return pool["capacity"][e] * (0.05 + 0.95 * (1.0 - (cycle - np.floor(cycle))))


def _snapshot_schedule(ctx: Context, day: int) -> tuple[np.ndarray, np.ndarray]:
    """Hourly inventory snapshots of ``day``: (snapshot time, time it becomes available), sorted."""
    rng = _rng(ctx.seed, 2, day, 1)
    start = ctx.plan.day_start_us(day)
    snaps = start + np.arange(24, dtype=np.int64) * HOUR_US + 15 * _MIN_US
    delay = rng.integers(0, 5 * _MIN_US, 24)
    if rng.random() < 0.15:  # a slow upstream day: three hours of late snapshots
        first = int(rng.integers(0, 21))
        delay[first : first + 3] += rng.integers(60 * _MIN_US, 200 * _MIN_US, 3)
    available = snaps + delay
    order = np.argsort(available, kind="stable")
    return np.maximum.accumulate(snaps[order]), available[order]


def _snapshot_at(ctx: Context, day: int, t: np.ndarray) -> np.ndarray:
    """As-of time of the newest inventory snapshot available at each time ``t`` within ``day``."""
    snaps, available = _snapshot_schedule(ctx, day)
    index = np.searchsorted(available, t, side="right") - 1
    previous = ctx.plan.day_start_us(day) - HOUR_US + 15 * _MIN_US  # yesterday's 23:15 snapshot
    return np.where(index >= 0, snaps[np.clip(index, 0, None)], previous)


def _pricing_day(ctx: Context, day: int, rng: np.random.Generator, times: np.ndarray) -> DayResult:
    """One day of one system's prediction log.

    Long because it is one day of one system's log drawn column by column from one seeded generator:
    the draw order is the data.
    """
    plan, eff = ctx.plan, ctx.effects
    pool = ctx.pools["dynamic_pricing"]
    n = len(times)
    e = _zipf_index(rng, n, len(pool["category"]), 1.6)
    start_us = plan.log_start_us
    day_start = plan.day_start_us(day)
    hour = (times - day_start) // HOUR_US
    dow = (plan.anchor.weekday() + day) % 7

    as_of = _snapshot_at(ctx, day, times)
    onset = plan.onsets["a"]
    stale_wh = WAREHOUSES.index(eff.stale_warehouse)
    onset_day = (onset - start_us) // DAY_US
    stale_snapshot = int(_snapshot_at(ctx, int(onset_day), np.array([onset]))[0])
    win_a = plan.incident_window("a")
    stale = (pool["warehouse"][e] == stale_wh) & (times >= onset) & (times < win_a.end)
    as_of = np.where(stale, np.minimum(as_of, stale_snapshot), as_of)
    inventory_logged = np.round(_inventory(pool, e, (as_of - start_us) / DAY_US))
    inventory_true = _inventory(pool, e, (times - start_us) / DAY_US)
    capacity = pool["capacity"][e]

    category = pool["category"][e]
    demand = 1 + 0.15 * np.sin(2 * np.pi * dow / 7 + category) + rng.normal(0, 0.05, n)
    trend = 1 + 0.02 * day / 180
    base_cost = pool["base_cost"][e]
    markup = pool["markup"][e]
    competitor = np.round(base_cost * markup * np.exp(rng.normal(0, 0.06, n)) * trend, 2)
    weekend = 1.25 if dow >= 5 else 1.0
    views = rng.poisson(40 * pool["popularity"][e] * demand * weekend).astype(float)
    carts = rng.binomial(views.astype(np.int64), 0.08).astype(float)
    discount = np.array([0.0, 0.05, 0.1, 0.2])[_choice(rng, n, [0.6, 0.2, 0.15, 0.05])]

    def price(inventory: np.ndarray, noise: np.ndarray) -> np.ndarray:
        scarcity = 1 + 0.6 * (0.5 - np.clip(inventory / capacity, 0, 1))
        return base_cost * markup * trend * scarcity * (1 + 0.1 * (demand - 1)) * (1 - 0.5 * discount) * noise

    clearing = np.round(price(inventory_true, np.exp(rng.normal(0, 0.03, n))), 2)
    version_index, versions = version_at(plan, "dynamic_pricing", times)
    version = np.asarray(versions)[version_index]
    model_bias = np.where(version == "0.9.4", 1.002, 1.0)
    predicted = np.round(price(inventory_logged, np.exp(rng.normal(0, 0.025, n)) * model_bias), 2)
    observed_at = times + ((24 + rng.uniform(0, 48, n)) * HOUR_US).astype(np.int64)
    never = rng.random(n) < 0.04

    f = {
        "base_cost": base_cost,
        "competitor_price": competitor,
        "inventory_level": inventory_logged,
        "demand_index_7d": np.round(demand, 4),
        "days_since_launch": np.floor(day - pool["launch_day"][e]),
        "rating": pool["rating"][e],
        "n_reviews": pool["n_reviews"][e],
        "page_views_24h": views,
        "cart_adds_24h": carts,
        "discount_depth": discount,
        "shipping_days": pool["shipping_days"][e],
        "return_rate": pool["return_rate"][e],
        "hour_of_day": hour.astype(float),
        "category": category,
        "warehouse": pool["warehouse"][e],
        "sales_channel": _choice(rng, n, [0.5, 0.35, 0.15]),
        "customer_segment": _choice(rng, n, [0.3, 0.5, 0.2]),
        "device": _choice(rng, n, [0.35, 0.55, 0.1]),
        "brand_tier": pool["tier"][e],
    }
    categories = {
        "category": PRODUCT_CATEGORIES,
        "warehouse": WAREHOUSES,
        "sales_channel": SALES_CHANNELS,
        "customer_segment": SEGMENTS,
        "device": DEVICES,
        "brand_tier": BRAND_TIERS,
    }
    competitor_null = rng.random(n) < 0.01
    # (h) model 0.9.5 over-prices the marketplace channel (applied after the draws: no draw changes)
    faulty = (version == "0.9.5") & (f["sales_channel"] == SALES_CHANNELS.index("marketplace"))
    predicted = np.where(faulty, np.round(predicted * (1 + eff.deploy_price_bias), 2), predicted)
    spec = SYSTEM_COLUMNS["dynamic_pricing"]
    columns = _head_columns(spec, day, times, e, version)
    for name in spec["numeric"]:
        columns[name] = pa.array(
            np.asarray(f[name], dtype=np.float64),
            mask=competitor_null if name == "competitor_price" else None,
        )
    for name in spec["categorical"]:
        columns[name] = _categorical(f[name], categories[name])
    columns["inventory_as_of"] = pa.array(as_of, type=_UTC_US)
    columns["predicted_price"] = pa.array(predicted)
    columns["clearing_price"] = pa.array(clearing, mask=never)
    columns["label_observed_at"] = pa.array(observed_at, type=_UTC_US, mask=never)

    max_lag = int(eff.stale_max_lag.total_seconds()) * 1_000_000
    in_a = (times >= win_a.start) & (times < win_a.end)
    hit_a = in_a & ((times - as_of) > max_lag)
    rel_error = np.abs(predicted - clearing) / clearing
    counts = {
        "a.decisions": float(hit_a.sum()),
        "a.stale_rows_in_window": float((in_a & stale).sum()),
    }
    ref_a = plan.reference_window("a")
    in_ref = (times >= ref_a.start) & (times < ref_a.end) & ~never
    counts["a.ref.n"] = float(in_ref.sum())
    counts["a.ref.price_errors"] = float((in_ref & (rel_error > eff.price_tolerance)).sum())
    counts["a.ref.max_lag_us"] = float((times - as_of)[in_ref].max()) if in_ref.any() else 0.0
    counts["a.affected.labelled"] = float((hit_a & ~never).sum())
    counts["a.affected.price_errors"] = float((hit_a & ~never & (rel_error > eff.price_tolerance)).sum())
    wrong = ~never & (rel_error > eff.price_tolerance)
    hit_h = faulty & wrong
    counts["h.decisions"] = float(hit_h.sum())
    marketplace = f["sales_channel"] == SALES_CHANNELS.index("marketplace")
    for part, window in (("ref", plan.reference_window("h")), ("inc", plan.incident_window("h"))):
        mask = (times >= window.start) & (times < window.end) & ~never
        _add(counts, f"h.{part}.slice.n", (mask & marketplace).sum())
        _add(counts, f"h.{part}.slice.errors", (mask & marketplace & wrong).sum())
        _add(counts, f"h.{part}.rest.n", (mask & ~marketplace).sum())
        _add(counts, f"h.{part}.rest.errors", (mask & ~marketplace & wrong).sum())
    return DayResult(pa.table(columns), counts, {"a": e[hit_a], "h": e[hit_h]})


# --------------------------------------------------------------------------------------------------
# Shared helpers
# --------------------------------------------------------------------------------------------------


def _add(counts: dict[str, float], key: str, value: float) -> None:
    counts[key] = counts.get(key, 0.0) + float(value)


def _scenario_window(plan: Plan, key: str):
    return plan.controls[key] if key in plan.controls else plan.incident_window(key)


def _ids(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    text = pc.utf8_lpad(pc.cast(pa.array(numbers, type=pa.int64()), pa.string()), width=width, padding="0")
    return pc.binary_join_element_wise(prefix, text, "")


def _categorical(codes: np.ndarray, categories: tuple[str, ...]) -> pa.Array:
    return pc.take(pa.array(categories, type=pa.string()), pa.array(np.asarray(codes, dtype=np.int32)))


def entity_ids(system_id: str, index: np.ndarray) -> pa.Array:
    """Entity ids (strings) of pool indices of a system."""
    return _ids(SYSTEM_COLUMNS[system_id]["entity_prefix"], index, 7)


def _head_columns(
    spec: SystemColumns, day: int, times: np.ndarray, e: np.ndarray, version: np.ndarray
) -> dict[str, pa.Array]:
    n = len(times)
    return {
        "event_time": pa.array(times, type=_UTC_US),
        "request_id": _ids(spec["request_prefix"], day * 100_000_000 + np.arange(n), 11),
        "entity_id": _ids(spec["entity_prefix"], e, 7),
        "model_version": pa.array(version.astype(object), type=pa.string()),
    }


_DAY_FUNCTIONS = {
    "credit_scoring": _credit_day,
    "fraud_detection": _fraud_day,
    "dynamic_pricing": _pricing_day,
}


def generate_day(ctx: Context, system_id: str, day: int) -> DayResult:
    """Generate one day of one logged system's prediction log."""
    system_index = LOGGED_SYSTEMS.index(system_id)
    rng = _rng(ctx.seed, system_index, day)
    plan = ctx.plan
    dow = (plan.anchor.weekday() + day) % 7
    weekly = _WEEKLY[system_id] / _WEEKLY[system_id].mean()
    expected = ctx.rows_per_day * weekly[dow] * (0.95 + 0.1 * day / plan.n_days)
    n = max(int(rng.poisson(expected)), 1)
    hourly = _HOURLY[system_id] / _HOURLY[system_id].sum()
    hours = _choice(rng, n, hourly).astype(np.int64)
    offsets = np.sort(hours * HOUR_US + rng.integers(0, HOUR_US, n))
    times = plan.day_start_us(day) + offsets
    return _DAY_FUNCTIONS[system_id](ctx, day, rng, times)


def sensitive_table(ctx: Context, system_id: str) -> pa.Table | None:
    """The entity -> sensitive-attribute join table of a system (``None`` for products)."""
    if system_id == "dynamic_pricing":
        return None
    pool = ctx.pools[system_id]
    n = len(pool["group"])
    return pa.table(
        {
            "entity_id": entity_ids(system_id, np.arange(n)),
            "sex": _categorical(pool["sex"], SEXES),
            "age_band": _categorical(pool["age"], AGE_BANDS),
            "ethnic_group": _categorical(pool["group"], ETHNIC_GROUPS),
        }
    )
