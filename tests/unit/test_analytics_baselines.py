"""Personal baselines, drift, heart-failure weight gain and home hypertension, worked by hand."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta, timezone

import numpy as np
import pytest

from anxin.analytics.baselines import (
    Cusum,
    RobustBaseline,
    hypertension_pattern,
    robust_z_scores,
    tabular_cusum,
    weight_gain_alert,
)

CHINA = timezone(timedelta(hours=8))
DAY_MS = 86_400_000
HOUR_MS = 3_600_000
# Local midnight, 1 March 2024 in China (29 February 16:00 UTC).
MIDNIGHT = int(datetime(2024, 3, 1, tzinfo=CHINA).timestamp() * 1000)

# Offsets that make the arithmetic easy: median 0; absolute deviations 6, 3, 0, 3, 6 -> MAD 3;
# scaled MAD 3 * 1.4826 = 4.4478.
OFFSETS = (-6.0, -3.0, 0.0, 3.0, 6.0)
SCALED_MAD = 3 * 1.4826


def local_ms(day: int, hour: float) -> int:
    return MIDNIGHT + day * DAY_MS + int(hour * HOUR_MS)


def history(centre_at_hour, days: int = 5, step_minutes: int = 20) -> tuple[list[int], list[float]]:
    """Readings every ``step_minutes`` for ``days`` days. Within every 4-hour bin each offset
    occurs equally often, so every bin's median is its centre and its scaled MAD 4.4478."""
    ts, values = [], []
    per_day = 24 * 60 // step_minutes
    for day in range(days):
        for slot in range(per_day):
            hour = slot * step_minutes / 60
            ts.append(local_ms(day, hour))
            values.append(centre_at_hour(hour) + OFFSETS[(slot + day) % 5])
    return ts, values


def baseline_from(ts: list[int], values: list[float], **options: object) -> RobustBaseline:
    baseline = RobustBaseline(**options)  # type: ignore[arg-type]
    for t, v in zip(ts, values, strict=True):
        baseline.add(t, v)
    return baseline


# --- RobustBaseline ----------------------------------------------------------------------------


def test_resting_hr_95_is_unremarkable_at_92_and_alarming_at_62() -> None:
    noon = local_ms(5, 12.0)
    used_to_92 = baseline_from(*history(lambda hour: 92.0))
    used_to_62 = baseline_from(*history(lambda hour: 62.0))
    # (95 - 92) / 4.4478 = 0.674 ; (95 - 62) / 4.4478 = 7.42
    assert used_to_92.robust_z(noon, 95) == pytest.approx(3 / SCALED_MAD)
    assert used_to_62.robust_z(noon, 95) == pytest.approx(33 / SCALED_MAD)
    assert used_to_92.expected(noon) == pytest.approx((92.0, SCALED_MAD))


def test_night_heart_rate_is_judged_against_nights() -> None:
    # 58 /min from midnight to 04:00 local, 76 /min the rest of the day.
    baseline = baseline_from(*history(lambda hour: 58.0 if hour < 4 else 76.0))
    night, midday = local_ms(5, 2.0), local_ms(5, 12.0)
    assert baseline.expected(night) == pytest.approx((58.0, SCALED_MAD))
    assert baseline.expected(midday) == pytest.approx((76.0, SCALED_MAD))
    # 75 /min at 2 a.m. is (75 - 58) / 4.4478 = 3.82 SD above this person's nights,
    # but (75 - 76) / 4.4478 = -0.22 at noon.
    assert baseline.robust_z(night, 75) == pytest.approx(17 / SCALED_MAD)
    assert baseline.robust_z(midday, 75) == pytest.approx(-1 / SCALED_MAD)


def test_time_of_day_is_local_time() -> None:
    baseline = baseline_from(*history(lambda hour: 58.0 if hour < 4 else 76.0))
    # 18:30 UTC is 02:30 in China (night) but 18:30 in London (day).
    utc_1830 = int(datetime(2024, 3, 6, 18, 30, tzinfo=UTC).timestamp() * 1000)
    assert baseline.expected(utc_1830)[0] == 58.0  # type: ignore[index]
    ts, values = history(lambda hour: 58.0 if hour < 4 else 76.0)
    london = baseline_from([t + 8 * HOUR_MS for t in ts], values, utc_offset_minutes=0)
    assert london.expected(utc_1830 + 8 * HOUR_MS)[0] == 58.0  # type: ignore[index]
    assert london.expected(utc_1830)[0] == 76.0  # type: ignore[index]


def test_a_thin_bin_falls_back_to_the_whole_day() -> None:
    # Readings only between 08:00 and 20:00: nothing at night.
    ts, values = history(lambda hour: 70.0)
    daytime = [
        (t, v)
        for t, v in zip(ts, values, strict=True)
        if 8 <= (t - MIDNIGHT) % DAY_MS / HOUR_MS < 20
    ]
    baseline = baseline_from([t for t, _ in daytime], [v for _, v in daytime])
    assert baseline.expected(local_ms(5, 2.0)) == pytest.approx((70.0, SCALED_MAD))


def test_no_judgement_until_enough_history() -> None:
    baseline = RobustBaseline(min_history=30, min_days=3)
    assert baseline.expected(MIDNIGHT) is None
    # 60 readings, but all on one day: too soon to know what is normal for this person.
    for i in range(60):
        baseline.add(MIDNIGHT + i * 60_000, 70.0 + OFFSETS[i % 5])
    assert baseline.robust_z(MIDNIGHT, 140) is None
    # Three days of 10 readings each: 30 values over 3 days is enough. (No 4-hour bin reaches
    # 31 values, so the whole-day median 70 and scaled MAD 4.4478 are used.)
    ready = RobustBaseline(min_history=30, min_days=3, min_per_bin=31)
    for day in range(3):
        for i in range(10):
            ready.add(local_ms(day, 8 + i), 70.0 + OFFSETS[i % 5])
    assert ready.expected(local_ms(3, 9)) == pytest.approx((70.0, SCALED_MAD))
    assert ready.robust_z(local_ms(3, 9), 80.0) == pytest.approx(10 / SCALED_MAD)


def test_bad_readings_do_not_enter_the_history() -> None:
    baseline = baseline_from(*history(lambda hour: 92.0))
    before = len(baseline)
    assert baseline.add(local_ms(6, 1.0), math.nan) is False
    assert baseline.add(local_ms(6, 1.0), math.inf) is False
    assert len(baseline) == before
    assert baseline.robust_z(local_ms(6, 1.0), math.nan) is None
    with pytest.raises(ValueError, match="ts_ms"):
        baseline.add(1.5e12, 70.0)  # type: ignore[arg-type]


def test_duplicated_and_out_of_order_readings_give_the_same_baseline() -> None:
    ts, values = history(lambda hour: 92.0)
    order = np.random.default_rng(7).permutation(len(ts))
    shuffled = baseline_from(
        [ts[i] for i in order] + ts[:20], [values[i] for i in order] + values[:20]
    )
    clean = baseline_from(ts, values)
    assert len(shuffled) == len(ts) + 20
    assert shuffled.expected(local_ms(5, 9.0)) == clean.expected(local_ms(5, 9.0))
    assert len(shuffled) == len(ts)  # duplicates forgotten once the baseline was fitted


def test_identical_readings_floor_the_scale_at_min_scale() -> None:
    constant = RobustBaseline(min_scale=2.0)
    for day in range(3):
        for i in range(12):
            constant.add(local_ms(day, 2 * i), 62.0)
    assert constant.expected(local_ms(3, 0)) == (62.0, 0.0)
    assert constant.robust_z(local_ms(3, 0), 66.0) == 2.0  # (66 - 62) / max(0, 2)


def test_old_history_is_forgotten() -> None:
    baseline = RobustBaseline(window_days=4.0)
    ts, values = history(lambda hour: 60.0, days=10)
    later_ts, later_values = history(lambda hour: 90.0, days=5)
    for t, v in zip(ts, values, strict=True):
        baseline.add(t, v)
    for t, v in zip(later_ts, later_values, strict=True):
        baseline.add(t + 10 * DAY_MS, v)
    assert baseline.expected(local_ms(15, 12.0))[0] == 90.0  # type: ignore[index]


def test_pure_function_matches_the_streaming_baseline() -> None:
    ts, values = history(lambda hour: 58.0 if hour < 4 else 76.0)
    baseline = baseline_from(ts, values)
    query_ts = np.array([local_ms(5, h) for h in (0.5, 2.0, 3.9, 4.0, 12.0, 23.5)])
    query = np.array([75.0, 58.0, 50.0, 75.0, math.nan, 90.0])
    z = robust_z_scores(query_ts, query, np.array(ts), np.array(values))
    expected = [
        baseline.robust_z(int(t), v) if not math.isnan(v) else math.nan
        for t, v in zip(query_ts, query, strict=True)
    ]
    np.testing.assert_allclose(z, np.array(expected, dtype=float))
    assert math.isnan(z[4])
    # history too short: nothing is judged
    assert np.isnan(robust_z_scores(query_ts, query, ts[:10], values[:10])).all()


def test_pure_function_rejects_mismatched_arrays() -> None:
    with pytest.raises(ValueError, match="history_values"):
        robust_z_scores([MIDNIGHT], [70.0], [MIDNIGHT, MIDNIGHT + 1], [70.0])
    with pytest.raises(ValueError, match="bin_hours"):
        RobustBaseline(bin_hours=5)


# --- CUSUM ---------------------------------------------------------------------------------------


def test_drift_of_half_a_sigma_a_day_is_flagged_on_day_6() -> None:
    # target 70, sigma 2: +1 a day is +0.5 sigma a day, so z_i = 0.5 i.
    # C+ = max(0, C+ + z - 0.5): 0, 0, 0.5, 1.5, 3.0, 5.0 (not above h = 5), 7.5 -> alarm on day 6.
    cusum = Cusum(target=70.0, sigma=2.0, k=0.5, h=5.0)
    signals = []
    uppers = []
    for day in range(8):
        signals.append(cusum.update(70.0 + day))
        uppers.append(cusum.upper)
    assert signals == [None] * 6 + ["up", None]
    assert uppers[:6] == [0.0, 0.0, 0.5, 1.5, 3.0, 5.0]
    assert uppers[6] == 0.0  # restarted after the alarm
    # With h = 4 the same drift is flagged a day earlier (5.0 > 4).
    assert tabular_cusum(70.0 + np.arange(8), 70.0, 2.0, h=4.0).alarms[0].index == 5


def test_downward_drift_is_flagged_down() -> None:
    result = tabular_cusum(70.0 - np.arange(8), 70.0, 2.0)
    assert [(a.index, a.direction) for a in result.alarms] == [(6, "down")]
    np.testing.assert_allclose(result.lower[:7], [0.0, 0.0, 0.5, 1.5, 3.0, 5.0, 7.5])
    assert not result.upper.any()


def test_noisy_slow_drift_is_flagged_within_ten_days() -> None:
    # Mean of z on day d is 0.5 d with unit noise. By day 10 the sum of (z - k) alone has mean
    # 0.25 * 10 * 11 - 0.5 * 11 = 22 and SD sqrt(11) = 3.3, so staying below h = 5 is a 5-sigma
    # event: every one of 200 people must be flagged by then.
    for seed in range(200):
        noise = np.random.default_rng(seed).normal(size=30)
        z = 0.5 * np.arange(30) + noise
        alarms = tabular_cusum(60.0 + 3.0 * z, 60.0, 3.0).alarms
        assert alarms, seed
        assert alarms[0].direction == "up"
        assert alarms[0].index <= 10, seed


@pytest.mark.parametrize(("h", "literature_arl0"), [(4.0, 168.0), (5.0, 465.0)])
def test_stationary_noise_false_alarms_no_more_often_than_the_literature(
    h: float, literature_arl0: float
) -> None:
    # Montgomery's two-sided ARL0 for k = 1/2: 168 (h = 4), 465 (h = 5). Over 200 000 samples
    # the estimate's SD is about ARL0 / sqrt(alarms), under 5 %; allow 15 %.
    noise = np.random.default_rng(20240301).normal(size=200_000)
    alarms = tabular_cusum(noise, 0.0, 1.0, h=h).alarms
    measured = noise.size / len(alarms)
    assert measured == pytest.approx(literature_arl0, rel=0.15)


def test_a_month_of_stationary_readings_rarely_flags_anyone() -> None:
    # One reading a day for 30 days, h = 5: about 1 - (1 - 1/465)^30, ~6 %, of people see a false
    # alarm in a month (fewer, since the CUSUM starts from zero). 500 seeded people.
    flagged = sum(
        bool(tabular_cusum(np.random.default_rng(seed).normal(size=30), 0.0, 1.0).alarms)
        for seed in range(1000, 1500)
    )
    assert flagged / 500 < 0.10


def test_a_one_sigma_shift_is_caught_as_fast_as_the_literature_says() -> None:
    # Montgomery: ARL 10.4 samples for a 1-sigma shift with k = 1/2, h = 5.
    run_lengths = [
        tabular_cusum(np.random.default_rng(seed).normal(size=100) + 1.0, 0.0, 1.0).alarms[0].index
        + 1
        for seed in range(1000)
    ]
    assert np.mean(run_lengths) == pytest.approx(10.4, rel=0.10)


def test_streaming_and_array_versions_agree() -> None:
    rng = np.random.default_rng(3)
    values = np.concatenate(
        [rng.normal(70, 2, 400), rng.normal(72, 2, 200), rng.normal(67, 2, 200)]
    )
    values[[5, 50, 450]] = np.nan
    result = tabular_cusum(values, 70.0, 2.0)
    cusum = Cusum(70.0, 2.0)
    streamed = [(i, d) for i, v in enumerate(values) if (d := cusum.update(v)) is not None]
    assert [(a.index, a.direction) for a in result.alarms] == streamed
    assert {d for _, d in streamed} == {"up", "down"}


def test_missing_values_leave_the_cusum_where_it_was() -> None:
    cusum = Cusum(0.0, 1.0)
    cusum.update(2.0)
    assert cusum.upper == 1.5
    assert cusum.update(math.nan) is None
    assert cusum.upper == 1.5
    result = tabular_cusum([2.0, math.nan, 2.0], 0.0, 1.0)
    np.testing.assert_allclose(result.upper, [1.5, 1.5, 3.0])
    cusum.reset()
    assert (cusum.upper, cusum.lower) == (0.0, 0.0)


def test_per_sample_baseline_and_as_dict() -> None:
    # Night target 58, day target 76, sigma 4: readings 6 above target each time.
    targets = np.array([58.0, 76.0] * 5)
    result = tabular_cusum(targets + 6.0, targets, 4.0, h=4.0)
    # z = 1.5 each time, C+ grows by 1.0: 1, 2, 3, 4, 5 > 4 -> alarm at index 4, then again at 9.
    assert [a.index for a in result.alarms] == [4, 9]
    as_dict = result.as_dict()
    assert as_dict["alarms"][0] == {"index": 4, "direction": "up"}
    assert as_dict["upper"][:5] == [1.0, 2.0, 3.0, 4.0, 5.0]


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        ({"sigma": 0.0}, "sigma"),
        ({"sigma": -1.0}, "sigma"),
        ({"sigma": math.nan}, "sigma"),
        ({"h": 0.0}, "h"),
        ({"k": -0.5}, "k"),
        ({"target": math.nan}, "target"),
    ],
)
def test_cusum_design_is_validated(kwargs: dict[str, float], named: str) -> None:
    arguments = {"target": 0.0, "sigma": 1.0, **kwargs}
    with pytest.raises(ValueError, match=named):
        Cusum(**arguments)
    with pytest.raises(ValueError, match=named):
        tabular_cusum([0.0, 1.0], **arguments)


# --- heart-failure weight gain -------------------------------------------------------------------


def daily(weights: list[float], hour: float = 7.0) -> list[int]:
    return [local_ms(day, hour) for day in range(len(weights))]


def test_two_kilos_in_three_days_is_reported_with_its_evidence() -> None:
    weights = [70.0, 70.4, 71.1, 72.0]
    gain = weight_gain_alert(daily(weights), weights)
    assert gain is not None
    assert gain.gain_kg == 2.0  # 72.0 on 4 March - 70.0 on 1 March
    assert (gain.from_kg, gain.to_kg) == (70.0, 72.0)
    assert (gain.from_day, gain.to_day, gain.days_apart) == ("2024-03-01", "2024-03-04", 3)
    assert (gain.from_ts_ms, gain.to_ts_ms) == (local_ms(0, 7.0), local_ms(3, 7.0))
    assert gain.readings_ignored == 0
    assert gain.as_dict()["to_day"] == "2024-03-04"


def test_slow_gain_under_the_limit_is_not_reported() -> None:
    # +0.5 kg a day: 1.5 kg in any 3 days.
    weights = [70.0, 70.5, 71.0, 71.5, 72.0, 72.5]
    assert weight_gain_alert(daily(weights), weights) is None


def test_gain_spread_over_more_than_three_days_is_not_reported() -> None:
    # 70.0 -> 72.4 takes 4 days; in any 3 days the gain is at most 72.4 - 70.6 = 1.8 kg.
    weights = [70.0, 70.6, 71.2, 71.8, 72.4]
    assert weight_gain_alert(daily(weights), weights) is None
    # ...unless the window is widened to 4 days.
    wide = weight_gain_alert(daily(weights), weights, window_days=4)
    assert wide is not None
    assert wide.gain_kg == pytest.approx(2.4)


def test_several_unsorted_duplicated_and_missing_readings_a_day() -> None:
    # Morning and evening each day; evening ~0.6 kg heavier. Day levels are the medians:
    # 70.3, 70.8, 71.6, 72.3 -> 72.3 - 70.3 = 2.0 kg over 3 days.
    readings = [
        (local_ms(0, 7), 70.0),
        (local_ms(0, 20), 70.6),
        (local_ms(1, 7), 70.5),
        (local_ms(1, 20), 71.1),
        (local_ms(2, 7), 71.3),
        (local_ms(2, 20), 71.9),
        (local_ms(3, 7), 72.0),
        (local_ms(3, 20), 72.6),
    ]
    shuffled = [readings[i] for i in (5, 0, 7, 2, 1, 6, 4, 3)]
    shuffled += [readings[2], readings[6]]  # delivered twice
    shuffled += [(local_ms(2, 12), math.nan)]  # the scale sent NaN
    gain = weight_gain_alert([t for t, _ in shuffled], np.array([w for _, w in shuffled]))
    assert gain is not None
    assert gain.gain_kg == pytest.approx(2.0)
    assert (gain.from_kg, gain.to_kg) == (pytest.approx(70.3), pytest.approx(72.3))
    assert (gain.from_readings, gain.to_readings) == (2, 2)
    assert gain.readings_ignored == 3  # two duplicates and one NaN


@pytest.mark.parametrize("where", [3, 5])
def test_one_stranger_on_the_scale_does_not_trigger(where: int) -> None:
    # Stable around 70 kg; once, someone 10 kg heavier steps on (mid-series or as the latest).
    weights = [70.0, 70.2, 69.9, 70.1, 70.0, 70.2]
    weights[where] = 80.1
    assert weight_gain_alert(daily(weights), weights) is None


def test_a_light_person_on_the_scale_first_does_not_fake_a_gain() -> None:
    # A grandchild (25 kg) weighs first; then the recipient, steady near 70 kg.
    ts = [local_ms(0, 7), local_ms(0, 7.1), local_ms(1, 7), local_ms(2, 7)]
    gain = weight_gain_alert(ts, [25.0, 70.0, 70.0, 70.5])
    assert gain is None


def test_a_new_level_seen_again_is_reported() -> None:
    # 70, 70, 70, then 80 twice: the first 80 alone is treated as an outlier (median of
    # 70, 70, 70, 80, 80 within 3 days of it is 70), the second confirms the new level (median of
    # 70, 70, 80, 80 is 75, 5 kg away: kept). Gain 80 on 5 March - 70 on 2 March (the first
    # lowest day in the 3 days before) = 10 kg.
    weights = [70.0, 70.0, 70.0, 80.0, 80.0]
    assert weight_gain_alert(daily(weights[:4]), weights[:4]) is None
    gain = weight_gain_alert(daily(weights), weights)
    assert gain is not None
    assert (gain.gain_kg, gain.to_day, gain.days_apart) == (10.0, "2024-03-05", 3)


def test_two_readings_alone_are_both_kept() -> None:
    # Nothing to tell which of two readings is the odd one: both stay, and the gain is reported.
    gain = weight_gain_alert(daily([70.0, 90.0]), [70.0, 90.0])
    assert gain is not None
    assert gain.gain_kg == 20.0
    assert gain.readings_ignored == 0


def test_days_are_local_days() -> None:
    # 23:30 and 00:30 China time are different days, although the same UTC day.
    ts = [local_ms(0, 23.5), local_ms(1, 0.5), local_ms(3, 23.5)]
    gain = weight_gain_alert(ts, [70.0, 70.3, 72.1])
    assert gain is not None
    assert (gain.from_day, gain.to_day, gain.days_apart) == ("2024-03-01", "2024-03-04", 3)


def test_impossible_and_empty_weights() -> None:
    assert weight_gain_alert([], []) is None
    assert weight_gain_alert(daily([math.nan] * 3), [math.nan] * 3) is None
    weights = [70.0, 70.4, 71.1, 72.0]
    ts = [*daily(weights), local_ms(1, 12.0)]
    gain = weight_gain_alert(ts, [*weights, 0.0])  # the scale reported 0 kg once
    assert gain is not None
    assert gain.gain_kg == 2.0
    assert gain.readings_ignored == 1
    with pytest.raises(ValueError, match="kg"):
        weight_gain_alert([MIDNIGHT, MIDNIGHT + 1], [70.0])
    with pytest.raises(ValueError, match="window_days"):
        weight_gain_alert([MIDNIGHT], [70.0], window_days=0)


# --- home hypertension pattern -------------------------------------------------------------------


def week(
    day_readings: list[list[tuple[float, float]]],
) -> tuple[list[int], list[float], list[float]]:
    """Readings at 07:00, 07:05, 20:00, 20:05 ... local on consecutive days."""
    ts, systolic, diastolic = [], [], []
    for day, readings in enumerate(day_readings):
        for i, (s, d) in enumerate(readings):
            ts.append(local_ms(day, 7 + 13 * (i // 2) + (i % 2) / 12))
            systolic.append(s)
            diastolic.append(d)
    return ts, systolic, diastolic


def test_a_week_of_repeatedly_high_home_pressure_is_a_pattern() -> None:
    # Days 1-4: 140 and 144 over 86 and 90 (means 142/88, high); days 5-7: 126 and 130 over 78 and
    # 82 (means 128/80). Period mean systolic (8 * 142 + 6 * 128) / 14 = 136.0 >= 135.
    high = [(140.0, 86.0), (144.0, 90.0)]
    normal = [(126.0, 78.0), (130.0, 82.0)]
    pattern = hypertension_pattern(*week([high] * 4 + [normal] * 3))
    assert pattern is not None
    assert pattern.readings == 14
    assert pattern.high_days == 4
    assert pattern.mean_systolic == pytest.approx(136.0)
    assert pattern.mean_diastolic == pytest.approx((8 * 88 + 6 * 80) / 14)
    assert (pattern.first_day, pattern.last_day) == ("2024-03-01", "2024-03-07")
    assert [d.high for d in pattern.days] == [True] * 4 + [False] * 3
    assert pattern.days[0].mean_systolic == 142.0
    assert pattern.as_dict()["days"][0]["readings"] == 2


def test_two_bad_days_are_not_a_pattern_even_when_the_mean_is_high() -> None:
    # Two days at 160/95, five at 125/78: mean systolic (4 * 160 + 10 * 125) / 14 = 135.0, but
    # only 2 high days.
    bad = [(160.0, 95.0)] * 2
    fine = [(125.0, 78.0)] * 2
    assert hypertension_pattern(*week([bad] * 2 + [fine] * 5)) is None
    # With min_high_days=2 the same week is a pattern.
    assert hypertension_pattern(*week([bad] * 2 + [fine] * 5), min_high_days=2) is not None


def test_one_bad_morning_is_not_a_pattern() -> None:
    bad = [(170.0, 100.0)] * 2
    fine = [(125.0, 78.0)] * 2
    # mean systolic (340 + 12 * 125) / 14 = 131.4 < 135
    assert hypertension_pattern(*week([bad] + [fine] * 6)) is None


def test_diastolic_alone_can_make_a_pattern() -> None:
    pattern = hypertension_pattern(*week([[(128.0, 88.0)] * 2] * 7))
    assert pattern is not None
    assert pattern.high_days == 7
    assert pattern.mean_diastolic == 88.0


def test_too_few_readings_are_not_a_pattern() -> None:
    # 3 days, one reading each at 150/95: 3 readings < 6.
    assert hypertension_pattern(*week([[(150.0, 95.0)]] * 3)) is None
    assert hypertension_pattern(*week([[(150.0, 95.0)]] * 3), min_readings=3) is not None


def test_only_the_last_days_count() -> None:
    # A high week, then a normal week: the latest week has no pattern.
    high = [[(150.0, 95.0)] * 2] * 7
    normal = [[(120.0, 75.0)] * 2] * 7
    ts, s, d = week(high + normal)
    assert hypertension_pattern(ts, s, d) is None
    # Asked about the first week (the period ending 7 March) it is a pattern.
    pattern = hypertension_pattern(ts, s, d, end_ts_ms=local_ms(6, 23.0))
    assert pattern is not None
    assert (pattern.first_day, pattern.last_day, pattern.readings) == (
        "2024-03-01",
        "2024-03-07",
        14,
    )


def test_impossible_duplicated_and_missing_blood_pressures_are_dropped() -> None:
    ts, s, d = week([[(140.0, 88.0)] * 2] * 3)
    ts += [ts[0], local_ms(1, 12), local_ms(2, 12), local_ms(2, 13)]
    s += [140.0, math.nan, 80.0, 400.0]  # duplicate, NaN, systolic below diastolic, absurd
    d += [88.0, 85.0, 90.0, 90.0]
    pattern = hypertension_pattern(ts, np.array(s), d)
    assert pattern is not None
    assert pattern.readings == 6
    assert pattern.readings_ignored == 4
    with pytest.raises(ValueError, match="diastolic"):
        hypertension_pattern(ts, s, d[:-1])
