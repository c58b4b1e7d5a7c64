"""Pure models of the simulator: no radio, explicit simulated times."""

import statistics

import pytest
from bumble.link import LocalLink

from anxin.devices import decode
from anxin.devices.gatt import encode_heart_rate_measurement
from anxin.firmware_sim import (
    ActivityModel,
    Baseline,
    DesaturationScenario,
    HeartModel,
    PersonProfile,
    ScaledClock,
    SimulatedPerson,
    TachycardiaScenario,
)
from anxin.firmware_sim.simulated import HeartRateStrap, PulseOximeter


def test_heart_model_mean_rate_matches_baseline_and_varies():
    model = HeartModel(PersonProfile(baseline_hr_bpm=60.0), Baseline(), seed=3)
    beats = model.advance(600.0)
    rr = [b.rr_s for b in beats]
    assert 500 < len(beats) < 700
    assert statistics.mean(rr) == pytest.approx(1.0, rel=0.05)
    assert statistics.stdev(rr) > 0.01  # RSA + drift give real variability


def test_rsa_shows_at_respiratory_frequency():
    # No drift: the only variation left is the 0.25 Hz respiratory modulation.
    profile = PersonProfile(baseline_hr_bpm=60.0, hr_drift_sd_bpm=0.0, rsa_amplitude_bpm=5.0)
    beats = HeartModel(profile, seed=1).advance(120.0)
    rates = [60 / b.rr_s for b in beats]
    # Sampled once per beat the peaks are partly missed: at most the full 10 bpm swing.
    assert 6.0 < max(rates) - min(rates) <= 10.5
    # At 60/min a 4 s breath spans 4 beats: in phase 4 beats apart, opposed 2 apart.
    assert statistics.correlation(rates[:-4], rates[4:]) > 0.8
    assert statistics.correlation(rates[:-2], rates[2:]) < -0.5


def test_same_seed_same_beats():
    a = HeartModel(PersonProfile(), seed=5).advance(30.0)
    b = HeartModel(PersonProfile(), seed=5).advance(30.0)
    assert a == b


def test_advance_is_incremental():
    model = HeartModel(PersonProfile(), seed=2)
    first = model.advance(10.0)
    second = model.advance(20.0)
    assert all(b.t_s <= 10.0 for b in first)
    assert all(10.0 < b.t_s <= 20.0 for b in second)
    assert model.advance(20.0) == []


def test_scenario_ramps():
    s = TachycardiaScenario(start_after_s=60, target_bpm=135, ramp_s=20)
    assert s.heart_rate_target(0, 70) == 70
    assert s.heart_rate_target(60, 70) == 70
    assert s.heart_rate_target(70, 70) == pytest.approx(102.5)
    assert s.heart_rate_target(80, 70) == 135
    assert s.heart_rate_target(1000, 70) == 135
    d = DesaturationScenario(start_after_s=10, target_pct=86, ramp_s=10)
    assert d.spo2_target(5, 97) == 97 and d.spo2_target(30, 97) == 86


def test_person_tachycardia_stays_above_120():
    person = SimulatedPerson(scenario=TachycardiaScenario(60, 135, 20), seed=4)
    assert person.sample(0, 50).heart_rate_bpm < 95
    for t in range(90, 200, 10):
        assert person.sample(t - 1, t).heart_rate_bpm > 120


def test_spo2_stays_plausible_at_baseline():
    person = SimulatedPerson(seed=9)
    values = [person.sample(t - 1, t).spo2_pct for t in range(1, 600)]
    assert min(values) >= 94 and max(values) <= 100


def test_activity_model_quiet_at_night_busier_in_morning():
    night = ActivityModel(seed=1, day_start_s=1 * 3600)  # starts 01:00
    morning = ActivityModel(seed=1, day_start_s=7 * 3600)  # starts 07:00
    at_night = sum(night.step(t * 5.0) for t in range(600))  # 50 min at 01:00
    in_morning = sum(morning.step(t * 5.0) for t in range(600))
    assert at_night < 60 < in_morning
    assert night.hour_of_day(0) == 1 and night.hour_of_day(23 * 3600) == 0


def test_scaled_clock_with_fake_time():
    now = [100.0]
    clock = ScaledClock(speed=10, monotonic=lambda: now[0])
    assert clock.now() == 0.0
    now[0] += 2.0
    assert clock.now() == 20.0
    with pytest.raises(ValueError):
        ScaledClock(speed=0)


async def test_strap_and_oximeter_measurements_without_radio():
    person = SimulatedPerson(seed=1)
    strap = HeartRateStrap(LocalLink(), "C0:00:00:00:00:01", person, device_id="s")
    m = strap.measure(10.0)
    assert 50 < m.heart_rate < 100
    assert 1 <= len(m.rr_intervals_1024) <= 9
    decoded = decode(0x2A37, encode_heart_rate_measurement(m))
    assert decoded == m
    oxi = PulseOximeter(LocalLink(), "C0:00:00:00:00:02", person, device_id="o")
    p = oxi.measure(10.0)
    assert 94 <= p.spo2 <= 100 and abs(p.pulse_rate - m.heart_rate) < 15
