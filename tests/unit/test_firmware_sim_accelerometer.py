"""The waist motion model: deterministic, follows the day, and its walking and falls
look like the SisFall waist recordings (checked when ../shared/data is present)."""

import statistics
from pathlib import Path

import numpy as np
import pytest

from anxin.firmware_sim.motion_model import (
    SAMPLE_RATE_HZ,
    WaistMotionModel,
    load_sisfall_waist,
    motion_summary,
)

SISFALL = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "sisfall"
SUBJECTS = ("SA02", "SA03", "SA04", "SA06", "SA07", "SA08")
FALL_CODES = ("F01", "F02", "F03", "F06", "F10")

needs_sisfall = pytest.mark.skipif(
    not SISFALL.is_dir(), reason=f"SisFall reference data not found at {SISFALL}"
)


def model_walk(seed: int, seconds: int = 20) -> np.ndarray:
    model = WaistMotionModel(seed)
    while model.activity != "walking" or model.episode.end - model.sample_index < seconds * 50:
        model.advance(10)
    return model.advance(seconds * SAMPLE_RATE_HZ)


def model_fall(seed: int) -> np.ndarray:
    """15 s like a SisFall fall trial: 3 s before the fall, 12 s from it."""
    model = WaistMotionModel(seed)
    model.advance(60 * SAMPLE_RATE_HZ)
    before = model.advance(3 * SAMPLE_RATE_HZ)
    model.trigger_fall()
    return np.vstack([before, model.advance(12 * SAMPLE_RATE_HZ)])


def test_same_seed_same_signal():
    a, b = WaistMotionModel(5), WaistMotionModel(5)
    assert np.array_equal(a.advance(3000), b.advance(3000))
    assert not np.array_equal(WaistMotionModel(6).advance(3000)[-100:], a.advance(100))


def test_still_wearer_reads_one_g():
    model = WaistMotionModel(1, day_start_s=2 * 3600)  # 02:00: in bed
    assert model.activity == "lying"
    magnitude = np.linalg.norm(model.advance(500), axis=1)
    assert abs(magnitude.mean() - 1.0) < 0.02 and magnitude.std() < 0.05


def test_activities_follow_the_time_of_day():
    model = WaistMotionModel(2, day_start_s=0.0)
    by_hour: dict[int, list[str]] = {}
    for _minute in range(2 * 24 * 60):
        model.advance(SAMPLE_RATE_HZ * 60)
        by_hour.setdefault(model.hour_of_day(model.time_s), []).append(model.activity)
    night = [a for h in (1, 2, 3, 4) for a in by_hour[h]]
    day = [a for h in range(9, 20) for a in by_hour[h]]
    assert night.count("lying") / len(night) > 0.8
    assert day.count("lying") / len(day) < 0.5
    assert {"walking", "sitting", "standing"} <= set(day)


def test_fall_has_impact_orientation_change_and_stillness():
    model = WaistMotionModel(3)
    model.advance(500)
    model.trigger_fall()
    assert model.activity == "fall"
    during = model.advance(2 * SAMPLE_RATE_HZ)
    assert np.linalg.norm(during, axis=1).max() > 2.5
    assert np.linalg.norm(during, axis=1).min() < 0.6  # the descent approaches free fall
    after = model.advance(10 * SAMPLE_RATE_HZ)
    assert model.activity == "fallen" and model.falls == 1
    assert np.linalg.norm(after, axis=1).std() < 0.05


def test_long_lie_without_recovery():
    model = WaistMotionModel(4, recover_after_s=None)
    model.trigger_fall()
    model.advance(3600 * SAMPLE_RATE_HZ)
    assert model.activity == "fallen"


@needs_sisfall
def test_walking_and_falls_match_sisfall_summary_figures():
    data_walk = [
        motion_summary(load_sisfall_waist(SISFALL / s / f"{code}_{s}_R01.txt"))
        for s in SUBJECTS
        for code in ("D01", "D02")
    ]
    data_fall = [
        motion_summary(load_sisfall_waist(SISFALL / s / f"{code}_{s}_R01.txt"))
        for s in SUBJECTS
        for code in FALL_CODES
    ]
    sim_walk = [motion_summary(model_walk(seed)) for seed in range(8)]
    sim_fall = [motion_summary(model_fall(seed)) for seed in range(8)]

    def median(items, field):
        return statistics.median(getattr(i, field) for i in items)

    def within(sim, data, field, low, high):
        ratio = median(sim, field) / median(data, field)
        assert low <= ratio <= high, (field, median(sim, field), median(data, field))

    within(sim_walk, data_walk, "peak_g", 0.75, 1.3)
    within(sim_walk, data_walk, "magnitude_sd_g", 0.5, 2.0)
    within(sim_fall, data_fall, "peak_g", 0.6, 1.5)
    within(sim_fall, data_fall, "magnitude_sd_g", 0.5, 2.0)
    within(sim_fall, data_fall, "orientation_change_deg", 0.7, 1.3)
    # the separations a detector relies on hold in both
    for walk, fall in ((data_walk, data_fall), (sim_walk, sim_fall)):
        assert max(w.orientation_change_deg for w in walk) < 20
        assert min(f.orientation_change_deg for f in fall) > 60
        assert median(fall, "peak_g") > 2 * median(walk, "peak_g")
    # every simulated value stays inside what the recordings span
    assert min(f.peak_g for f in data_fall) * 0.9 <= min(f.peak_g for f in sim_fall)
    assert max(f.peak_g for f in sim_fall) <= max(f.peak_g for f in data_fall)
    assert max(w.peak_g for w in sim_walk) <= max(w.peak_g for w in data_walk)
