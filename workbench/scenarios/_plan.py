"""The calendar of the tabletop scenarios: anchor, log span, onsets, deploys and effect sizes.

Everything here is a pure function of the seed and the effect sizes; nothing reads the wall clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import overload

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "GENERATOR_VERSION",
    "LLM_SYSTEM",
    "LOGGED_SYSTEMS",
    "N_LOG_DAYS",
    "Plan",
    "ScenarioEffects",
    "SYSTEM_IDS",
    "make_plan",
    "to_us",
    "from_us",
]

GENERATOR_VERSION = "1.2.0"
"""Bumped whenever the same seed would produce different files."""

SYSTEM_IDS: tuple[str, ...] = (
    "credit_scoring",
    "fraud_detection",
    "dynamic_pricing",
    "support_chatbot",
    "recommender",
)
LOGGED_SYSTEMS: tuple[str, ...] = SYSTEM_IDS[:3]
"""The systems with prediction logs."""
LLM_SYSTEM = "support_chatbot"
"""The system with interaction logs (OpenTelemetry GenAI spans), planted scenarios k-o."""
N_LOG_DAYS = 180
"""Days of prediction logs per logged system; ``as_of`` is the end of the last day."""

_US = 1_000_000
DAY_US = 86_400 * _US
HOUR_US = 3_600 * _US
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_us(value: datetime) -> int:
    """Return microseconds since the Unix epoch of an aware datetime."""
    delta = value - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * _US + delta.microseconds


def from_us(value: int) -> datetime:
    """Return the aware UTC datetime of microseconds since the Unix epoch."""
    return _EPOCH + timedelta(microseconds=int(value))


class ScenarioEffects(BaseModel):
    """Every planted effect size of the tabletop scenarios (defaults from issue 10).

    Examples
    --------
    >>> ScenarioEffects().drift_variance_ratio
    2.0
    >>> ScenarioEffects(concept_error_increase=0.05).concept_error_increase
    0.05
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    stale_max_lag: timedelta = Field(
        default=timedelta(hours=6), description="(a) an inventory input older than this is stale"
    )
    stale_warehouse: str = Field(
        default="wh_east", description="(a) the warehouse whose inventory feed stops updating"
    )
    price_tolerance: float = Field(
        default=0.10, gt=0, lt=1, description="(a) largest acceptable relative price error"
    )
    drift_mean_shift_sd: float = Field(
        default=0.5, ge=0, le=5, description="(b) mean shift of debt_to_income, in reference sd"
    )
    drift_variance_ratio: float = Field(
        default=2.0, gt=0, le=10, description="(b) variance ratio of avg_monthly_balance"
    )
    drift_new_category_share: float = Field(
        default=0.15, ge=0, lt=1, description="(b) share of rows with the new channel 'partner_api'"
    )
    fairness_ratio_before: float = Field(
        default=0.95, gt=0.3, le=1, description="(c) selection-rate ratio of the group before the deploy"
    )
    fairness_ratio_after: float = Field(
        default=0.70, gt=0.2, le=1, description="(c) selection-rate ratio of the group under the new model"
    )
    slice_error_multiplier: float = Field(
        default=5.0, ge=1, le=15, description="(d) error rate in the nulled slice / error rate elsewhere"
    )
    concept_error_increase: float = Field(
        default=0.08, ge=0, le=0.3, description="(e) rise of the error rate (absolute) under concept drift"
    )
    outage_logit_shift: float = Field(
        default=3.0,
        ge=0,
        le=8,
        description="(g) rise of the fraud model's logit while the geo input is NULL in one region (6 hours)",
    )
    holiday_large_share: float = Field(
        default=0.55,
        gt=0.2,
        lt=0.95,
        description="(i) share of large purchases (top fifth of amount / usual amount) in the holiday window",
    )
    deploy_price_bias: float = Field(
        default=0.15,
        ge=0,
        le=0.5,
        description="(h) relative over-pricing of the marketplace channel by the faulty pricing model 0.9.5",
    )

    @model_validator(mode="after")
    def _ordered(self) -> ScenarioEffects:
        if self.stale_warehouse not in ("wh_north", "wh_south", "wh_east", "wh_west"):
            raise ValueError(
                "stale_warehouse must be one of wh_north, wh_south, wh_east, wh_west. "
                f"Got {self.stale_warehouse!r} instead."
            )
        if self.stale_max_lag <= timedelta(hours=4) or self.stale_max_lag > timedelta(hours=36):
            raise ValueError(
                "stale_max_lag must be above the ordinary feed delay (4 hours) and at most 36 hours. "
                f"Got {self.stale_max_lag} instead."
            )
        return self


@dataclass(frozen=True)
class Window:
    """A half-open time window [start, end) in microseconds since the epoch."""

    start: int
    end: int

    def iso(self) -> dict[str, str]:
        """Return the window as ISO-8601 UTC strings."""
        return {"start": iso(from_us(self.start)), "end": iso(from_us(self.end))}


@overload
def iso(value: datetime) -> str: ...
@overload
def iso(value: None) -> None: ...
def iso(value: datetime | None) -> str | None:
    """Return an ISO-8601 UTC string with a ``Z`` suffix (``None`` stays ``None``)."""
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class Deploy:
    """A model version that starts serving at ``at`` (microseconds)."""

    at: int
    version: str
    note: str


@dataclass(frozen=True)
class Plan:
    """The dated plan of one generation run."""

    seed: int
    anchor: datetime
    as_of: datetime
    n_days: int
    onsets: dict[str, int]
    ends: dict[str, int | None]
    deploys: dict[str, tuple[Deploy, ...]]
    control_window: Window
    harmless_deploys: dict[str, Deploy] = field(default_factory=dict)
    controls: dict[str, Window] = field(default_factory=dict)

    @property
    def log_start_us(self) -> int:
        """Start of the prediction logs (the anchor), microseconds."""
        return to_us(self.anchor)

    @property
    def as_of_us(self) -> int:
        """``as_of`` in microseconds."""
        return to_us(self.as_of)

    def day_start_us(self, day: int) -> int:
        """Start of log day ``day`` in microseconds."""
        return self.log_start_us + day * DAY_US

    def incident_window(self, key: str) -> Window:
        """[onset, end) of a scenario; an ongoing one runs to ``as_of``."""
        end = self.ends[key]
        return Window(self.onsets[key], end if end is not None else self.as_of_us)

    def reference_window(self, key: str) -> Window:
        """The analyses' default reference: 28 days ending 7 days before onset."""
        onset = self.controls[key].start if key in self.controls else self.onsets[key]
        return Window(onset - 35 * DAY_US, onset - 7 * DAY_US)


def make_plan(seed: int) -> Plan:
    """Return the dated plan for ``seed`` (anchor = 2025-01-01 plus a seed-derived offset).

    Examples
    --------
    >>> plan = make_plan(7)
    >>> (plan.as_of - plan.anchor).days
    180
    """
    offset = int(np.random.default_rng(np.random.SeedSequence([seed, 99, 0])).integers(0, 365))
    anchor = datetime(2025, 1, 1, tzinfo=UTC) + timedelta(days=offset)
    start = to_us(anchor)

    def at(day: int, hours: float = 0.0) -> int:
        return start + day * DAY_US + int(round(hours * HOUR_US))

    onsets = {
        "a": at(N_LOG_DAYS - 2, 7.0 + 40 / 60),  # pricing: stale inventory feed, still ongoing at as_of
        "b": at(45, 6.0),  # credit: covariate drift (bureau vendor change + partner channel)
        "c": at(95, 10.0),  # credit: model 2.0.0 deploy opens a fairness gap
        "d": at(60, 9.5),  # fraud: pipeline fault nulls device_trust_score in a slice
        "e": at(110, 0.0),  # fraud: concept drift (card-not-present campaign)
        "g": at(106, 13.0 + 20 / 60),  # fraud: six-hour geo-enrichment outage in one region
        "h": at(60, 14.0 + 20 / 60),  # pricing: model 0.9.5 over-prices the marketplace channel
        "i": at(152, 8.0),  # fraud: holiday shopping: large purchases grow, the model is unchanged
    }
    ends: dict[str, int | None] = {
        "a": None,
        "b": at(57, 12.0),
        "c": at(107, 15.0),
        "d": at(69, 14.0),
        "e": at(135, 16.0),
        "g": at(106, 19.0 + 20 / 60),
        "h": at(66, 11.0),
        "i": at(166, 8.0),
    }
    # support chatbot (interaction logs), each reference window clear of the others' incident windows:
    onsets |= {
        "k": at(120, 9.0),  # retrieval index rebuilt with the support-ticket archive: answers leak PII
        "l": at(162, 19.5),  # prompt-injection campaign, two days after the issue_refund tool shipped
        "m": at(72, 10.0),  # model switch orion-chat-1.5 -> 2.0: refund answers lose groundedness
        "n": at(36, 13.0),  # provider outage: azure.ai.openai in swedencentral, three hours
    }
    ends |= {"k": at(126, 15.0), "l": at(171, 12.0), "m": at(84, 12.0), "n": at(36, 16.0)}
    control = Window(at(145), at(159))
    control_j = Window(at(115), at(129))  # pricing: a clean window around the harmless 0.9.4 deploy
    harmless = {
        "credit_scoring": Deploy(at(150, 9.0), "1.5.0", "scheduled retrain, no material change"),
        "fraud_detection": Deploy(at(30, 14.0), "3.2.1", "dependency upgrade, same coefficients"),
        "dynamic_pricing": Deploy(at(120, 11.0), "0.9.4", "scheduled retrain, no material change"),
    }
    deploys = {
        "credit_scoring": (
            Deploy(at(-400), "1.4.0", "baseline"),
            Deploy(onsets["c"], "2.0.0", "new model with regional risk features"),
            Deploy(ends["c"] or 0, "1.4.0", "rollback"),
            harmless["credit_scoring"],
        ),
        "fraud_detection": (
            Deploy(at(-400), "3.2.0", "baseline"),
            harmless["fraud_detection"],
            Deploy(ends["e"] or 0, "3.3.0", "retrained on the campaign's chargebacks"),
        ),
        "dynamic_pricing": (
            Deploy(at(-400), "0.9.3", "baseline"),
            Deploy(onsets["h"], "0.9.5", "new pricing model with channel-specific elasticities"),
            Deploy(ends["h"] or 0, "0.9.3", "rollback"),
            harmless["dynamic_pricing"],
        ),
    }
    return Plan(
        seed=seed,
        anchor=anchor,
        as_of=anchor + timedelta(days=N_LOG_DAYS),
        n_days=N_LOG_DAYS,
        onsets=onsets,
        ends=ends,
        deploys=deploys,
        control_window=control,
        harmless_deploys=harmless,
        controls={"f": control, "j": control_j, "o": Window(at(41), at(55))},
    )


def version_at(plan: Plan, system_id: str, times_us: np.ndarray) -> tuple[np.ndarray, tuple[str, ...]]:
    """Return (index into versions, versions) of the model serving each event time."""
    deploys = plan.deploys[system_id]
    starts = np.array([d.at for d in deploys], dtype=np.int64)
    index = np.searchsorted(starts, times_us, side="right") - 1
    return np.clip(index, 0, None), tuple(d.version for d in deploys)
