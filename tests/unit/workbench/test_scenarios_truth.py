"""Ground truth of the tabletop scenarios, measured from the written Parquet with independent DuckDB SQL.

Nothing here reads the generator's constants: windows, slices and groups come from ground_truth.json and
every number is recomputed from the files.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import duckdb
import numpy as np
import pytest
import yaml
from scipy import stats

from register.schema import DataCard


@pytest.fixture(scope="module")
def truth(small_scenario) -> dict:
    return json.loads(small_scenario.ground_truth_path.read_text())


@pytest.fixture(scope="module")
def scenario(truth):
    by_id = {s["id"]: s for s in truth["scenarios"]}
    return by_id.__getitem__


@pytest.fixture(scope="module")
def con(small_scenario):
    connection = duckdb.connect()
    connection.execute("SET TimeZone = 'UTC'")
    out = small_scenario.out
    for system in ("credit_scoring", "fraud_detection", "dynamic_pricing"):
        connection.execute(
            f"CREATE VIEW {system} AS SELECT * FROM read_parquet('{out}/logs/{system}/**/*.parquet', "
            "hive_partitioning = true, can_have_nan = true)"
        )
    connection.execute(
        f"CREATE VIEW credit_sensitive AS SELECT * FROM '{out}/sensitive/credit_scoring.parquet'"
    )
    yield connection
    connection.close()


def _one(con, sql: str, params: list | None = None):
    return con.execute(sql, params or []).fetchall()[0]


def _ts(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _windows(s: dict) -> tuple[datetime, datetime, datetime, datetime]:
    ref, inc = s["reference_window"], s["incident_window"]
    return _ts(ref["start"]), _ts(ref["end"]), _ts(inc["start"]), _ts(inc["end"])


# --------------------------------------------------------------------------------------------------
# The logs as such
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("system", ["credit_scoring", "fraud_detection", "dynamic_pricing"])
def test_logs_have_nulls_never_nan_and_recurring_entities(con, small_scenario, system) -> None:
    card = DataCard.model_validate(
        yaml.safe_load((small_scenario.out / "datacards" / f"{system}.yaml").read_text())
    )
    columns = card.columns
    doubles = [row[0] for row in con.execute(f"DESCRIBE {system}").fetchall() if row[1] == "DOUBLE"]
    assert len(doubles) >= 12
    nan_count = _one(con, f"SELECT {' + '.join(f'sum(isnan({c})::int)' for c in doubles)} FROM {system}")[0]
    assert nan_count == 0
    null_count = _one(con, f"SELECT {' + '.join(f'count(*) - count({c})' for c in columns.numeric_features)} "
                           f"FROM {system}")[0]  # fmt: skip
    assert null_count > 0
    n, n_entities, n_requests = _one(
        con, f"SELECT count(*), count(DISTINCT {columns.entity_id}), count(DISTINCT {columns.request_id}) "
             f"FROM {system}")  # fmt: skip
    assert n_requests == n and n_entities < 0.8 * n
    # labels arrive late, some never
    late, unlabelled, min_lag_days = _one(
        con, f"SELECT sum(({columns.label_observed_at} > {columns.event_time})::int), "
             f"count(*) - count({columns.label}), "
             f"min(epoch({columns.label_observed_at}) - epoch({columns.event_time})) / 86400 "
             f"FROM {system}")  # fmt: skip
    assert late == n - unlabelled and unlabelled > 0 and min_lag_days >= 0.9
    micros = _one(con, f"SELECT count(DISTINCT epoch_us({columns.event_time}) % 1000) FROM {system}")[0]
    assert micros > 100  # microsecond precision really used
    for feature, as_of_column in columns.input_as_of.items():
        assert _one(con, f"SELECT count(*) FROM {system} WHERE {as_of_column} > {columns.event_time}")[0] == 0
        assert feature in columns.features


def test_weekly_seasonality_and_a_harmless_deploy(con, truth) -> None:
    weekday = con.execute(
        "SELECT dayofweek(event_time) AS d, count(*) / count(DISTINCT date) FROM credit_scoring GROUP BY d"
    ).fetchall()
    per_day = dict(weekday)
    assert max(per_day.values()) / min(per_day.values()) > 1.2
    harmless = [d for d in truth["deploys"]["credit_scoring"] if d["harmless"]]
    assert len(harmless) == 1
    versions = {row[0] for row in con.execute("SELECT DISTINCT model_version FROM credit_scoring").fetchall()}
    assert harmless[0]["version"] in versions


# --------------------------------------------------------------------------------------------------
# (a) stale upstream input in pricing
# --------------------------------------------------------------------------------------------------


def test_a_stale_entities_repeat_values_and_the_lag_grows(con, scenario, truth) -> None:
    s = scenario("a_stale_input")
    ref_start, ref_end, start, end = _windows(s)
    assert s["end"] is None and end == _ts(truth["as_of"])
    (predicate,) = s["slice"]
    warehouse = predicate["value"]
    max_lag_s = _parse_duration(s["failure_signal"]["max_lag"])
    after = "warehouse = ? AND event_time >= ?::TIMESTAMPTZ + to_seconds(?)"
    n_rows, n_as_of, max_values, corr, max_lag_h = _one(
        con,
        f"""SELECT count(*), count(DISTINCT inventory_as_of), max(n_values), corr(t, lag), max(lag) / 3600
            FROM (SELECT *, epoch(event_time) AS t, epoch(event_time) - epoch(inventory_as_of) AS lag,
                         count(DISTINCT inventory_level) OVER (PARTITION BY entity_id) AS n_values
                  FROM dynamic_pricing WHERE {after})""",
        [warehouse, start, max_lag_s],
    )
    assert n_rows > 50
    assert n_as_of == 1 and max_values == 1  # every frozen product repeats its last value
    assert corr > 0.99 and max_lag_h > 24  # and the as-of lag grows with the clock
    # before onset the same products' inventory moved
    moving = _one(
        con,
        "SELECT avg((n > 1)::int) FROM (SELECT entity_id, count(DISTINCT inventory_level) AS n, "
        "count(*) AS k "
        "FROM dynamic_pricing WHERE warehouse = ? AND event_time >= ? AND event_time < ? GROUP BY entity_id) "
        "WHERE k >= 5",
        [warehouse, ref_start, ref_end],
    )[0]
    assert moving > 0.9
    # other warehouses stay fresh; nothing was stale before onset
    fresh_lag = _one(
        con,
        "SELECT max(epoch(event_time) - epoch(inventory_as_of)) FROM dynamic_pricing "
        "WHERE NOT (warehouse = ? AND event_time >= ?)",
        [warehouse, start],
    )[0]
    assert fresh_lag < max_lag_s
    decisions, entities, error_rate = _one(
        con,
        """SELECT count(*), count(DISTINCT entity_id),
                  avg((abs(predicted_price - clearing_price) / clearing_price > 0.10)::int)
           FROM dynamic_pricing WHERE event_time >= ? AND event_time < ?
             AND epoch(event_time) - epoch(inventory_as_of) > ?""",
        [start, end, max_lag_s],
    )
    assert (decisions, entities) == (s["affected"]["decisions"], s["affected"]["entities"])
    ref_error = _one(
        con,
        "SELECT avg((abs(predicted_price - clearing_price) / clearing_price > 0.10)::int) "
        "FROM dynamic_pricing "
        "WHERE event_time >= ? AND event_time < ?",
        [ref_start, ref_end],
    )[0]
    assert error_rate > 5 * ref_error  # prices go wrong for the frozen products


def _parse_duration(value: str) -> float:
    import re

    match = re.fullmatch(r"P(?:(\d+)D)?T?(?:(\d+)H)?(?:(\d+)M)?(?:([\d.]+)S)?", value)
    assert match, value
    days, hours, minutes, seconds = (float(g) if g else 0.0 for g in match.groups())
    return days * 86400 + hours * 3600 + minutes * 60 + seconds


# --------------------------------------------------------------------------------------------------
# (b) covariate drift and (f) control in credit scoring
# --------------------------------------------------------------------------------------------------


def _moments(con, start, end):
    return _one(
        con,
        """SELECT avg(debt_to_income), stddev_samp(debt_to_income), var_samp(avg_monthly_balance),
                  avg((channel = 'partner_api')::int), count(*), count(DISTINCT entity_id)
           FROM credit_scoring WHERE event_time >= ? AND event_time < ?""",
        [start, end],
    )


def test_b_covariate_drift_is_there_at_its_size(con, scenario) -> None:
    s = scenario("b_covariate_drift")
    ref_start, ref_end, start, end = _windows(s)
    ref = _moments(con, ref_start, ref_end)
    inc = _moments(con, start, end)
    assert (inc[0] - ref[0]) / ref[1] == pytest.approx(0.5, abs=0.1)
    assert inc[2] / ref[2] == pytest.approx(2.0, abs=0.3)
    assert ref[3] == 0 and inc[3] == pytest.approx(0.15, abs=0.03)
    assert (inc[4], inc[5]) == (s["affected"]["decisions"], s["affected"]["entities"])
    assert {e["column"] for e in s["effects"]} == {"debt_to_income", "avg_monthly_balance", "channel"}


def _selection(con, start, end, group_value: str):
    return _one(
        con,
        """SELECT avg(approved) FILTER (WHERE g) / avg(approved) FILTER (WHERE NOT g),
                  avg(approved) FILTER (WHERE NOT g AND repaid = 1)
                  - avg(approved) FILTER (WHERE g AND repaid = 1)
           FROM (SELECT l.*, s.ethnic_group = ? AS g FROM credit_scoring l
                 JOIN credit_sensitive s USING (entity_id) WHERE event_time >= ? AND event_time < ?)""",
        [group_value, start, end],
    )


def test_c_deploy_opens_a_fairness_gap(con, scenario) -> None:
    s = scenario("c_fairness_deploy")
    ref_start, ref_end, start, end = _windows(s)
    group = s["group"]
    assert group["attribute"] == "ethnic_group"
    ratio_before, tpr_gap_before = _selection(con, ref_start, ref_end, group["value"])
    ratio_after, tpr_gap_after = _selection(con, start, end, group["value"])
    assert ratio_before == pytest.approx(0.95, abs=0.06)
    assert ratio_after == pytest.approx(0.70, abs=0.08)
    assert tpr_gap_after > 0.08 and tpr_gap_after > tpr_gap_before + 0.06
    versions = {row[0] for row in con.execute(
        "SELECT DISTINCT model_version FROM credit_scoring WHERE event_time >= ? AND event_time < ?",
        [start, end],
    ).fetchall()}  # fmt: skip
    assert versions == {s["model_version"]["after"]}
    decisions, entities = _one(
        con,
        """SELECT count(*), count(DISTINCT entity_id) FROM credit_scoring l JOIN credit_sensitive s
           USING (entity_id) WHERE event_time >= ? AND event_time < ? AND model_version = ?
           AND approved = 0 AND s.ethnic_group = ?""",
        [start, end, s["model_version"]["after"], group["value"]],
    )
    assert (decisions, entities) == (s["affected"]["decisions"], s["affected"]["entities"])


def test_scenarios_b_c_f_are_apart_and_references_clean(scenario) -> None:
    spans = {key: _windows(scenario(key)) for key in ("b_covariate_drift", "c_fairness_deploy", "f_control")}
    keys = list(spans)
    for i, first in enumerate(keys):
        for second in keys[i + 1 :]:
            a, b = spans[first], spans[second]
            gap = max(b[2] - a[3], a[2] - b[3])
            assert gap.days >= 30, (first, second)
        for other in keys:
            if other != first:  # no reference window overlaps another scenario's incident window
                assert spans[first][1] <= spans[other][2] or spans[first][0] >= spans[other][3]
    assert scenario("f_control")["incident_id"] is None and scenario("f_control")["control"] is True


def test_f_control_shows_nothing_beyond_noise_but_a_naive_test_alarms(con, scenario) -> None:
    s = scenario("f_control")
    ref_start, ref_end, start, end = _windows(s)
    ref, inc = _moments(con, ref_start, ref_end), _moments(con, start, end)
    assert abs(inc[0] - ref[0]) / ref[1] < 0.1
    assert 0.8 < inc[2] / ref[2] < 1.25
    assert inc[3] == 0
    ratio_before, _ = _selection(con, ref_start, ref_end, "group_b")
    ratio_during, gap_during = _selection(con, start, end, "group_b")
    assert abs(ratio_during - ratio_before) < 0.08 and gap_during < 0.08
    errors = con.execute(
        """SELECT event_time >= ?::TIMESTAMPTZ, avg((approved != repaid)::int),
                  avg((employment_years IS NULL)::int) FROM credit_scoring
           WHERE event_time >= ? AND event_time < ? AND repaid IS NOT NULL GROUP BY 1 ORDER BY 1""",
        [start, ref_start, end],
    ).fetchall()
    # the ref rows run to ref_end, and the stretch to the control start is background too
    (_, err_ref, null_ref), (_, err_inc, null_inc) = errors
    assert abs(err_inc - err_ref) < 0.03 and abs(null_inc - null_ref) < 0.01
    assert _one(con, "SELECT max(epoch(event_time) - epoch(bureau_score_as_of)) / 3600 FROM credit_scoring "
                     "WHERE event_time >= ? AND event_time < ?", [start, end])[0] <= 24  # fmt: skip
    # a naive per-day KS test at 5 % against the reference raises at least one false alarm
    features = ["annual_income", "debt_to_income", "credit_utilization", "avg_monthly_balance", "loan_amount",
                "credit_history_months", "bureau_score", "loan_to_income", "employment_years"]  # fmt: skip
    reference = con.execute(
        f"SELECT {', '.join(features)} FROM credit_scoring WHERE event_time >= ? AND event_time < ?",
        [ref_start, ref_end],
    ).fetchnumpy()
    current = con.execute(
        f"SELECT date, {', '.join(features)} FROM credit_scoring WHERE event_time >= ? AND event_time < ?",
        [start, end],
    ).fetchnumpy()
    alarms = 0
    dates = np.asarray(current["date"]).astype(str)
    for day in np.unique(dates):
        for feature in features:
            ref_values = np.asarray(reference[feature], dtype=float)
            day_values = np.asarray(current[feature], dtype=float)[dates == day]
            p_value = stats.ks_2samp(
                ref_values[~np.isnan(ref_values)], day_values[~np.isnan(day_values)]
            ).pvalue
            alarms += p_value < 0.05
    assert alarms >= 1


# --------------------------------------------------------------------------------------------------
# (d) pipeline fault in a slice and (e) concept drift, fraud detection
# --------------------------------------------------------------------------------------------------


def _where(predicates: list[dict]) -> str:
    for p in predicates:
        assert p["op"] == "==" and str(p["value"]).isidentifier()
    return " AND ".join(f"{p['column']} = '{p['value']}'" for p in predicates)


def test_d_null_slice_raises_the_error_rate(con, scenario) -> None:
    s = scenario("d_pipeline_null_slice")
    ref_start, ref_end, start, end = _windows(s)
    in_slice = _where(s["slice"])
    column = s["failure_signal"]["column"]
    slice_share = _one(con, f"SELECT avg(({in_slice})::int) FROM fraud_detection WHERE event_time >= ? "
                            "AND event_time < ?", [ref_start, ref_end])[0]  # fmt: skip
    assert slice_share == pytest.approx(0.03, abs=0.01)
    rates = dict(con.execute(
        f"""SELECT {in_slice} AS s, avg((flagged != is_fraud)::int) FROM fraud_detection
            WHERE event_time >= ? AND event_time < ? AND is_fraud IS NOT NULL GROUP BY s""", [start, end]
    ).fetchall())  # fmt: skip
    assert rates[True] >= 2.5 * rates[False]
    nulls = dict(con.execute(
        f"SELECT {in_slice} AS s, avg(({column} IS NULL)::int) FROM fraud_detection "
        "WHERE event_time >= ? AND event_time < ? GROUP BY s", [start, end]
    ).fetchall())  # fmt: skip
    assert nulls[True] == 1.0 and nulls[False] < 0.02
    decisions, entities = _one(
        con, f"SELECT count(*), count(DISTINCT entity_id) FROM fraud_detection "
             f"WHERE event_time >= ? AND event_time < ? AND {in_slice}", [start, end])  # fmt: skip
    assert (decisions, entities) == (s["affected"]["decisions"], s["affected"]["entities"])
    outside = _one(con, f"SELECT count(*) FROM fraud_detection WHERE {in_slice} AND {column} IS NULL "
                        "AND (event_time < ? OR event_time >= ?)", [start, end])[0]  # fmt: skip
    inside_total = _one(con, f"SELECT count(*) FROM fraud_detection WHERE {in_slice}")[0]
    assert outside < 0.02 * inside_total


def test_e_concept_drift_raises_errors_without_covariate_change(con, scenario, truth, small_scenario) -> None:
    s = scenario("e_concept_drift")
    ref_start, ref_end, start, end = _windows(s)
    err_ref = _one(con, "SELECT avg((flagged != is_fraud)::int) FROM fraud_detection WHERE event_time >= ? "
                        "AND event_time < ? AND is_fraud IS NOT NULL", [ref_start, ref_end])[0]  # fmt: skip
    err_inc = _one(con, "SELECT avg((flagged != is_fraud)::int) FROM fraud_detection WHERE event_time >= ? "
                        "AND event_time < ? AND is_fraud IS NOT NULL", [start, end])[0]  # fmt: skip
    assert err_inc - err_ref == pytest.approx(0.08, abs=0.03)
    card = DataCard.model_validate(
        yaml.safe_load((small_scenario.out / "datacards" / "fraud_detection.yaml").read_text())
    )
    for feature in card.columns.numeric_features:
        ref_mean, ref_sd = _one(con, f"SELECT avg({feature}), stddev_samp({feature}) FROM fraud_detection "
                                     "WHERE event_time >= ? AND event_time < ?",
                                     [ref_start, ref_end])  # fmt: skip
        inc_mean = _one(con, f"SELECT avg({feature}) FROM fraud_detection WHERE event_time >= ? "
                             "AND event_time < ?", [start, end])[0]  # fmt: skip
        assert abs(inc_mean - ref_mean) / ref_sd < 0.1, feature
    for feature in card.columns.categorical_features:
        shares = con.execute(
            f"""SELECT {feature}, avg((event_time >= ?::TIMESTAMPTZ)::int) FROM fraud_detection
                WHERE event_time >= ? AND event_time < ? GROUP BY 1""", [start, ref_start, end]
        ).fetchall()  # fmt: skip
        assert shares  # same categories in both windows ...
        ref_share = dict(con.execute(
            f"SELECT {feature}, count(*) / sum(count(*)) OVER () FROM fraud_detection "
            "WHERE event_time >= ? AND event_time < ? GROUP BY 1",
            [ref_start, ref_end]).fetchall())  # fmt: skip
        inc_share = dict(con.execute(
            f"SELECT {feature}, count(*) / sum(count(*)) OVER () FROM fraud_detection "
            "WHERE event_time >= ? AND event_time < ? GROUP BY 1", [start, end]).fetchall())  # fmt: skip
        assert set(ref_share) == set(inc_share)
        assert max(abs(inc_share[k] - ref_share[k]) for k in ref_share) < 0.02, feature  # ... and mix
    decisions, entities = _one(
        con, """SELECT count(*), count(DISTINCT entity_id) FROM fraud_detection
                WHERE event_time >= ? AND event_time < ? AND is_fraud IS NOT NULL
                  AND label_observed_at <= ?::TIMESTAMPTZ AND flagged != is_fraud""",
        [start, end, truth["as_of"]])  # fmt: skip
    assert (decisions, entities) == (s["affected"]["decisions"], s["affected"]["entities"])


def test_g_outage_nulls_one_region_for_six_hours_and_flags_rise_there(con, scenario) -> None:
    s = scenario("g_regional_outage")
    ref_start, ref_end, start, end = _windows(s)
    assert end - start == timedelta(hours=6) and start.minute == 20  # an hourly onset, not midnight
    in_slice = _where(s["slice"])
    nulls = dict(con.execute(
        f"SELECT {in_slice} AS s, avg((distance_from_home_km IS NULL)::int) FROM fraud_detection "
        "WHERE event_time >= ? AND event_time < ? GROUP BY s", [start, end]
    ).fetchall())  # fmt: skip
    assert nulls[True] == 1.0 and nulls[False] == 0.0
    outside = _one(con, "SELECT count(*) FROM fraud_detection WHERE distance_from_home_km IS NULL "
                        "AND (event_time < ? OR event_time >= ?)", [start, end])[0]  # fmt: skip
    assert outside == 0
    flagged = {
        window: dict(con.execute(
            f"SELECT {in_slice} AS s, avg(flagged::int) FROM fraud_detection "
            "WHERE event_time >= ? AND event_time < ? GROUP BY s", list(bounds)
        ).fetchall())  # fmt: skip
        for window, bounds in (("ref", (ref_start, ref_end)), ("inc", (start, end)))
    }
    assert flagged["inc"][True] >= 4 * flagged["ref"][True]
    assert flagged["inc"][False] < 2 * flagged["ref"][False] + 0.02  # the other regions as before
    assert s["cause"]["kind"] == "null_input" and s["cause"]["onset"] == s["onset"]


def test_h_deploy_hurts_the_marketplace_only_and_switches_the_version(con, scenario) -> None:
    s = scenario("h_faulty_deploy")
    ref_start, ref_end, start, end = _windows(s)
    assert start.minute == 20
    versions = dict(con.execute(
        "SELECT model_version, count(*) FROM dynamic_pricing WHERE event_time >= ? AND event_time < ? "
        "GROUP BY 1", [start, end]
    ).fetchall())  # fmt: skip
    assert set(versions) == {"0.9.5"}
    before = _one(con, "SELECT max(model_version) FROM dynamic_pricing "
                       "WHERE event_time >= ? AND event_time < ?",
                  [start - timedelta(hours=2), start])[0]  # fmt: skip
    assert before == "0.9.3"
    in_slice = _where(s["slice"])
    error = "(abs(predicted_price - clearing_price) / clearing_price > 0.1)::int"
    rates = {
        window: dict(con.execute(
            f"SELECT {in_slice} AS s, avg({error}) FROM dynamic_pricing WHERE event_time >= ? "
            "AND event_time < ? AND clearing_price IS NOT NULL GROUP BY s", list(bounds)
        ).fetchall())  # fmt: skip
        for window, bounds in (("ref", (ref_start, ref_end)), ("inc", (start, end)))
    }
    assert rates["inc"][True] >= 0.5 and rates["ref"][True] < 0.05
    assert rates["inc"][False] == pytest.approx(rates["ref"][False], abs=0.01)  # other channels unchanged
    assert s["cause"]["model_version"] == "0.9.5"


def test_j_second_control_is_clean_and_holds_a_harmless_deploy(con, scenario, truth) -> None:
    s = scenario("j_control")
    assert s["control"] and s["incident_id"] is None and s["cause"]["kind"] is None
    assert s["system_id"] != scenario("f_control")["system_id"]
    ref_start, ref_end, start, end = _windows(s)
    harmless = [d for d in truth["deploys"][s["system_id"]] if d["harmless"]]
    assert any(start <= _ts(d["at"]) < end for d in harmless)
    error = "(abs(predicted_price - clearing_price) / clearing_price > 0.1)::int"
    rates = [
        _one(con, f"SELECT avg({error}) FROM dynamic_pricing WHERE event_time >= ? AND event_time < ? "
                  "AND clearing_price IS NOT NULL", list(bounds))[0]  # fmt: skip
        for bounds in ((ref_start, ref_end), (start, end))
    ]
    assert rates[1] == pytest.approx(rates[0], abs=0.01)


def test_every_scenario_states_its_cause(truth) -> None:
    kinds = {s["id"]: s["cause"]["kind"] for s in truth["scenarios"]}
    assert kinds == {
        "a_stale_input": "stale_input",
        "b_covariate_drift": "covariate_shift",
        "c_fairness_deploy": "model_change",
        "d_pipeline_null_slice": "null_input",
        "e_concept_drift": "concept_change",
        "f_control": None,
        "g_regional_outage": "null_input",
        "h_faulty_deploy": "model_change",
        "i_seasonal_mix": "covariate_mix",
        "j_control": None,
    }


def test_i_holiday_mix_moves_who_comes_not_how_each_kind_is_judged(con, scenario) -> None:
    s = scenario("i_seasonal_mix")
    ref_start, ref_end, start, end = _windows(s)
    large = "(amount_to_avg_ratio >= 1.9)"
    query = (
        f"SELECT {large} AS large, count(*), avg(flagged::int) FROM fraud_detection "
        "WHERE event_time >= ? AND event_time < ? GROUP BY 1"
    )
    rows = {
        window: {row[0]: row[1:] for row in con.execute(query, list(bounds)).fetchall()}
        for window, bounds in (("ref", (ref_start, ref_end)), ("inc", (start, end)))
    }
    share = {w: rows[w][True][0] / (rows[w][True][0] + rows[w][False][0]) for w in rows}
    assert share["ref"] < 0.3 and share["inc"] >= 0.45  # who came changed
    for kind in (True, False):  # how each kind of purchase was judged did not
        assert rows["inc"][kind][1] == pytest.approx(rows["ref"][kind][1], abs=0.012)
    assert s["cause"]["kind"] == "covariate_mix" and s["cause"]["model_fault"] is False


def test_i_ground_truth_states_the_shares_and_rates_the_files_show(con, scenario) -> None:
    s = scenario("i_seasonal_mix")
    ref_start, ref_end, start, end = _windows(s)
    effects = {e["metric"]: e for e in s["effects"]}
    query = (
        "SELECT avg((amount_to_avg_ratio >= 1.9)::int), "
        "avg(flagged::int) FILTER (amount_to_avg_ratio >= 1.9), "
        "avg(flagged::int) FILTER (amount_to_avg_ratio < 1.9) FROM fraud_detection "
        "WHERE event_time >= ? AND event_time < ?"
    )
    for part, bounds in (("baseline", (ref_start, ref_end)), ("observed", (start, end))):
        share, large, ordinary = _one(con, query, list(bounds))
        assert effects["large_purchase_share"][part] == pytest.approx(share, abs=1e-6)
        assert effects["flag_rate_large"][part] == pytest.approx(large, abs=1e-6)
        assert effects["flag_rate_ordinary"][part] == pytest.approx(ordinary, abs=1e-6)
    assert s["effect"] == effects["large_purchase_share"]
    n_inside = _one(con, "SELECT count(*) FROM fraud_detection WHERE event_time >= ? AND event_time < ?",
                    [start, end])[0]  # fmt: skip
    baseline, observed = (effects["large_purchase_share"][k] for k in ("baseline", "observed"))
    # the copies are the rise of the large share over what the day would have had (about the baseline)
    assert s["affected"]["decisions"] == pytest.approx((observed - baseline) * n_inside, rel=0.15)
    assert 0 < s["affected"]["entities"] <= s["affected"]["decisions"]


def test_every_cause_has_the_agreed_fields_and_its_change_event_is_in_the_register(
    small_scenario, truth
) -> None:
    import csv

    with (small_scenario.out / "register" / "timeline_events.csv").open(encoding="utf-8") as handle:
        events = list(csv.DictReader(handle))
    changes = {"deploy", "config_or_pipeline_change"}
    for s in truth["scenarios"]:
        cause = s["cause"]
        fields = {"kind", "columns", "model_version", "model_fault", "slice", "onset", "change_event"}
        assert set(cause) == fields
        assert isinstance(cause["model_fault"], bool) and isinstance(cause["columns"], list)
        if s["control"]:
            assert cause["kind"] is None and cause["onset"] is None and cause["change_event"] is None
            continue
        assert cause["onset"] == s["onset"] and len(cause["onset"]) == len("2025-01-01T00:00:00Z")
        assert cause["slice"] == s["slice"]
        own = [e for e in events if e["incident_id"] == s["incident_id"] and e["kind"] in changes]
        if cause["change_event"] is None:  # no change caused it (concept drift, a seasonal mix)
            assert not [e for e in own if _ts(e["at"]) <= _ts(s["onset"])], s["id"]
            continue
        (event,) = [e for e in own if e["description"] == cause["change_event"]]
        lead = _ts(s["onset"]) - _ts(event["at"])
        assert timedelta(0) <= lead <= timedelta(hours=1), s["id"]  # at the onset or shortly before
        if cause["kind"] == "model_change":
            assert event["kind"] == "deploy" and cause["model_version"] in cause["change_event"]


def test_reference_windows_overlap_no_other_incident_but_e_under_i_where_decisions_hold(con, truth) -> None:
    """No reference window overlaps another scenario's incident window on the same system, with one known
    exception: i's reference (fraud) holds the end of e's campaign. e changed labels, not decisions, so i's
    failure signal (flagged = 1) sees a clean reference; label-based measures of i's reference do not."""
    spans = {s["id"]: s for s in truth["scenarios"]}
    clashes = []
    for first in spans.values():
        for second in spans.values():
            if first is second or first["system_id"] != second["system_id"]:
                continue
            for name in ("reference_window", "incident_window"):
                a, b = first[name], second["incident_window"]
                if _ts(a["start"]) < _ts(b["end"]) and _ts(b["start"]) < _ts(a["end"]):
                    clashes.append((first["id"], name, second["id"]))
    assert clashes == [("i_seasonal_mix", "reference_window", "e_concept_drift")]
    assert spans["i_seasonal_mix"]["failure_signal"]["kind"] == "prediction_condition"
    ref_start, ref_end, start, end = _windows(spans["e_concept_drift"])
    flag_rates = [
        _one(con, "SELECT avg(flagged::int) FROM fraud_detection WHERE event_time >= ? AND event_time < ?",
             list(bounds))[0]  # fmt: skip
        for bounds in ((ref_start, ref_end), (start, end))
    ]
    assert flag_rates[1] == pytest.approx(flag_rates[0], abs=0.004)  # e moved no decision
