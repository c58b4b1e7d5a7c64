"""Heart rhythm (age-scaled HRV, ectopic beats, AF), perfusion, episodes: pure models."""

import gzip
import itertools
import math
import statistics
from pathlib import Path

import pytest
from bumble.link import LocalLink

from anxin.devices import decode
from anxin.devices.gatt import (
    PlxDeviceSensorStatus,
    PlxMeasurementStatus,
    encode_plx_continuous_measurement,
)
from anxin.firmware_sim import PersonProfile, SimulatedPerson
from anxin.firmware_sim.episodes import DesaturationEpisode, EpisodeScenario, HeartRateEpisode
from anxin.firmware_sim.heart_rhythm import (
    AfEpisode,
    RhythmHeartModel,
    RhythmSettings,
    hrv_norm_for_age,
    rmssd,
    sinus_profile_for,
    turning_point_ratio,
)
from anxin.firmware_sim.perfusion import LowPerfusionEpisode, PerfusionModel
from anxin.firmware_sim.simulated import PulseOximeter

NSR2DB = Path(__file__).resolve().parents[3] / "shared" / "data" / "nsr2db"


def sinus_rr(age: float, seconds: float = 1800.0, seed: int = 1, hr: float = 72.0) -> list[float]:
    profile = sinus_profile_for(PersonProfile(baseline_hr_bpm=hr), hrv_norm_for_age(age))
    return [b.rr_s for b in RhythmHeartModel(profile, seed=seed).advance(seconds)]


def five_minute_sdnn(rr: list[float]) -> list[float]:
    segments, current, elapsed = [], [], 0.0
    for interval in rr:
        current.append(interval)
        elapsed += interval
        if elapsed >= 300.0:
            segments.append(statistics.pstdev(current))
            current, elapsed = [], 0.0
    return segments


def test_age_norms_fall_with_age_and_flatten():
    young, old, older = hrv_norm_for_age(30), hrv_norm_for_age(75), hrv_norm_for_age(95)
    assert young.sdnn_s > old.sdnn_s and young.rmssd_s > old.rmssd_s
    assert old == older


def test_hrv_of_a_30_year_old_exceeds_that_of_an_85_year_old():
    young, old = sinus_rr(30), sinus_rr(85)
    assert rmssd(young) > 1.5 * rmssd(old)
    assert statistics.median(five_minute_sdnn(young)) > 1.2 * statistics.median(
        five_minute_sdnn(old)
    )
    # and each lands near the norm it was sized for
    assert rmssd(young) == pytest.approx(hrv_norm_for_age(30).rmssd_s, rel=0.25)
    assert rmssd(old) == pytest.approx(hrv_norm_for_age(85).rmssd_s, rel=0.25)


def test_af_is_irregularly_irregular():
    rhythm = RhythmSettings(af_episodes=(AfEpisode(600.0, 1800.0, rate_bpm=115),))
    beats = RhythmHeartModel(PersonProfile(), seed=3, rhythm=rhythm).advance(1800.0)
    sinus = [b.rr_s for b in beats if b.t_s < 590]
    af = [b.rr_s for b in beats if b.t_s > 610]
    assert rmssd(af) > 4 * rmssd(sinus)
    assert turning_point_ratio(af) == pytest.approx(2 / 3, abs=0.05)  # no autocorrelation
    assert turning_point_ratio(sinus) < 0.55
    assert 90 <= 60 / statistics.mean(af) <= 140
    cv = statistics.pstdev(af) / statistics.mean(af)
    assert 0.15 < cv < 0.32  # as AFIB-labelled RR in afdb
    assert abs(statistics.correlation(af[:-1], af[1:])) < 0.15


def test_ectopic_beats_are_premature_with_compensatory_pause():
    rhythm = RhythmSettings(ectopic_per_hour=120.0)
    profile = PersonProfile(baseline_hr_bpm=60.0, hr_drift_sd_bpm=0.0, rsa_amplitude_bpm=0.0)
    rr = [b.rr_s for b in RhythmHeartModel(profile, seed=2, rhythm=rhythm).advance(3600.0)]
    premature = [i for i, interval in enumerate(rr[:-1]) if interval < 0.8]
    assert 60 < len(premature) < 200
    for i in premature:
        assert rr[i] + rr[i + 1] == pytest.approx(2.0, abs=1e-6)


def test_rhythm_is_independent_of_sampling_and_seeded():
    rhythm = RhythmSettings(ectopic_per_hour=300.0, af_episodes=(AfEpisode(100.0, 200.0),))
    whole = RhythmHeartModel(PersonProfile(), seed=9, rhythm=rhythm).advance(300.0)
    stepped = RhythmHeartModel(PersonProfile(), seed=9, rhythm=rhythm)
    pieces = [b for t in range(1, 301) for b in stepped.advance(float(t) - 0.37)]
    pieces += stepped.advance(300.0)
    assert pieces == whole
    other = RhythmHeartModel(PersonProfile(), seed=10, rhythm=rhythm).advance(300.0)
    assert other != whole


def _nsr2db_records() -> list[list[float]]:
    files = sorted(NSR2DB.glob("nsr*_rr_secs.txt.gz"))
    if not files:
        pytest.skip(f"nsr2db recordings not found at {NSR2DB} (see ../shared/data/README.md)")
    records = []
    for path in files:
        with gzip.open(path, "rt") as handle:
            values = [float(v) for v in handle.read().split()[1:]]  # first value is an offset
        records.append([v for v in values if 0.3 < v < 2.0])  # drop artefact gaps
    return records


def test_sinus_series_matches_nsr2db_summary_statistics():
    records = _nsr2db_records()
    record_means = [statistics.mean(r) for r in records]
    record_sdnn5 = sorted(s for r in records for s in five_minute_sdnn(r))
    p10 = record_sdnn5[len(record_sdnn5) // 10]
    p90 = record_sdnn5[9 * len(record_sdnn5) // 10]
    # nsr2db subjects are 28-76 years old; simulate a 60-year-old at a typical rate.
    simulated = sinus_rr(60, seconds=3600.0, hr=74.0)
    assert min(record_means) - 0.1 < statistics.mean(simulated) < max(record_means) + 0.1
    assert p10 <= statistics.median(five_minute_sdnn(simulated)) <= p90


def test_low_perfusion_sets_status_bits_on_the_wire():
    perfusion = PerfusionModel(episodes=(LowPerfusionEpisode(100.0, 400.0, ramp_s=10.0),))
    assert not perfusion.is_low(50.0) and perfusion.is_low(200.0) and not perfusion.is_low(450.0)
    oximeter = PulseOximeter(LocalLink(), "C0:00:00:00:00:02", SimulatedPerson(), device_id="o")
    oximeter.perfusion = perfusion
    normal = decode(0x2A5F, encode_plx_continuous_measurement(oximeter.measure(50.0)))
    low = decode(0x2A5F, encode_plx_continuous_measurement(oximeter.measure(200.0)))
    assert normal.device_sensor_status == PlxDeviceSensorStatus(0)
    assert PlxMeasurementStatus.VALIDATED_DATA in normal.measurement_status
    assert PlxDeviceSensorStatus.LOW_PERFUSION in low.device_sensor_status
    assert PlxMeasurementStatus.QUESTIONABLE_MEASUREMENT in low.measurement_status
    assert low.pulse_amplitude_index < 0.4 < normal.pulse_amplitude_index
    assert "low_perfusion" in low.as_dict()["device_sensor_status"]


def test_episodes_ease_in_and_out():
    scenario = EpisodeScenario(
        heart_rate=(HeartRateEpisode(100.0, 300.0, target_bpm=140.0, ramp_s=20.0),),
        desaturation=(DesaturationEpisode(1000.0, 1600.0, target_pct=85.0, ramp_s=60.0),),
    )
    assert scenario.heart_rate_target(50.0, 70.0) == 70.0
    assert scenario.heart_rate_target(200.0, 70.0) == 140.0
    assert scenario.heart_rate_target(400.0, 70.0) == 70.0
    assert scenario.spo2_target(1300.0, 97.0) == 85.0
    assert scenario.spo2_target(1030.0, 97.0) == pytest.approx(91.0)
    assert scenario.spo2_target(1700.0, 97.0) == 97.0
    assert scenario.heart_rate_target(1300.0, 70.0) == 80.0


def test_a_sinus_bradycardia_swings_like_a_heart_and_is_not_taken_for_af() -> None:
    from anxin.analytics.af import AfMonitor
    from anxin.firmware_sim.scenario_file import parse_scenario
    from anxin.firmware_sim.scenario_plan import compile_plan

    scenario = parse_scenario(
        {
            "name": "slow heart",
            "seed": 3,
            "person": {"name": "W", "age": 81, "sex": "female", "resting_hr": 78},
            "devices": [{"kind": "heart_rate_strap"}],
            "timeline": [{"event": "bradycardia", "at": "08:01", "until": "09:30", "bpm": 36}],
        }
    )
    plan = compile_plan(scenario)
    heart = RhythmHeartModel(plan.profile, plan.episodes, seed=3, rhythm=plan.rhythm)
    beats = heart.advance(90 * 60.0)
    slow = [b.rr_s for b in beats if b.t_s > 10 * 60]
    successive = [b - a for a, b in itertools.pairwise(slow)]
    assert 1.4 < sum(slow) / len(slow) < 1.9  # about 36 /min
    assert math.sqrt(sum(d * d for d in successive) / len(successive)) < 0.12
    monitor = AfMonitor()
    onsets = [c for b in beats if (c := monitor.add(b.rr_s, int(b.t_s * 1000))) and c.onset]
    assert onsets == []
