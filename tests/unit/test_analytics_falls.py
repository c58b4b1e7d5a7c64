"""Fall detection: the shipped model, real held-out SisFall trials, any sampling rate and
mounting, bad input, the gateway's streaming monitor, and the simulated wearable."""

import math

import numpy as np
import pytest
from scipy.signal import resample_poly
from scipy.spatial.transform import Rotation

from anxin.analytics import falls
from anxin.analytics.falls import Fall, FallEvent, FallMonitor, detect
from anxin.analytics.reference_data import dataset
from anxin.analytics.training.sisfall import HELD_OUT_SUBJECTS, parse_trial_text
from anxin.devices.accelerometer import decode_accelerometer_frame, encode_accelerometer_frame
from anxin.firmware_sim.accelerometer import AccelerometerWearable
from anxin.firmware_sim.motion_model import WaistMotionModel

SISFALL = dataset("sisfall")
needs_sisfall = pytest.mark.skipif(
    SISFALL is None, reason="SisFall reference data not found (anxin.analytics.reference_data)"
)
T0_MS = 1_700_000_000_000
UPRIGHT = np.array([0.0, -1.0, 0.0])  # SisFall's waist frame, standing
ON_THE_BACK = np.array([0.0, 0.0, 1.0])


def held_out_trial(name: str) -> np.ndarray:
    assert name.split("_")[1] in HELD_OUT_SUBJECTS
    subject = name.split("_")[1]
    return parse_trial_text((SISFALL / subject / f"{name}.txt").read_text(encoding="latin-1"))


def main_impact_s(acc_200hz: np.ndarray) -> float:
    magnitude = np.linalg.norm(acc_200hz, axis=1)
    return float(np.argmax(magnitude)) / 200


def still(posture: np.ndarray, seconds: float, rate_hz: float = 50) -> np.ndarray:
    return np.repeat(posture[None, :], round(seconds * rate_hz), axis=0)


# -- the model file ---------------------------------------------------------------------


def test_model_file_is_small_and_loads():
    assert falls.MODEL_PATH.stat().st_size <= 100 * 1024
    model = falls.FallModel()
    p = model.probability(falls.model_input(still(UPRIGHT, falls.WINDOW / 50)))
    assert 0.0 <= p < 0.5  # a person standing still is not falling
    assert model.calls == 1


# -- real held-out trials -----------------------------------------------------------------


@needs_sisfall
@pytest.mark.parametrize("name", ["F01_SA04_R01", "F06_SA13_R01", "F09_SA09_R02"])
def test_held_out_fall_is_detected_at_its_impact(name):
    acc = held_out_trial(name)
    found = detect(acc, 200)
    assert len(found) == 1
    fall = found[0]
    assert abs(fall.t_s - main_impact_s(acc)) <= 0.1
    assert fall.probability >= 0.5
    assert fall.impact_g > 1.6 and fall.orientation_change_deg > 30
    assert fall.still_after_s >= 1.0 and not fall.long_lie  # the trial lasts 15 s


@needs_sisfall
@pytest.mark.parametrize("subject", ["SA04", "SA09", "SA13"])
def test_held_out_stumble_is_not_a_fall(subject):
    assert detect(held_out_trial(f"D18_{subject}_R01"), 200) == []


@needs_sisfall
@pytest.mark.parametrize("name", ["F06_SA13_R01", "F02_SA04_R02", "D18_SA09_R01", "D13_SA13_R01"])
def test_any_sampling_rate_gives_the_same_detections(name):
    acc = held_out_trial(name)
    by_rate = {
        rate: detect(acc if rate == 200 else resample_poly(acc, rate, 200, axis=0), rate)
        for rate in (25, 50, 100, 200)
    }
    times = {rate: [round(f.t_s, 1) for f in found] for rate, found in by_rate.items()}
    assert len({tuple(t) for t in times.values()}) == 1, times
    for found in by_rate.values():
        for a, b in zip(found, by_rate[200], strict=True):
            assert abs(a.impact_g - b.impact_g) < 0.15 * b.impact_g


@needs_sisfall
def test_any_mounting_gives_the_same_detections():
    acc = held_out_trial("F03_SA09_R01")
    upright = detect(acc, 200)
    turned = Rotation.from_euler("xyz", [70, -40, 150], degrees=True).apply(acc)
    rotated = detect(turned, 200)
    assert len(upright) == len(rotated) == 1
    assert rotated[0].t_s == upright[0].t_s
    assert math.isclose(rotated[0].probability, upright[0].probability, abs_tol=1e-3)


# -- bad input ----------------------------------------------------------------------------


def lying_down_with_a_glitch(glitch: np.ndarray) -> np.ndarray:
    """Standing 5 s, a 1 s change to lying on the back, lying 10 s; the glitch lands
    in the middle of the change, where a real impact would be."""
    s = np.linspace(0, 1, 50)[:, None]
    turn = (1 - s) * UPRIGHT + s * ON_THE_BACK
    turn /= np.linalg.norm(turn, axis=1, keepdims=True)
    acc = np.vstack([still(UPRIGHT, 5), turn, still(ON_THE_BACK, 10)])
    acc[275 : 275 + len(glitch)] = glitch
    return acc


@pytest.mark.parametrize(
    "glitch",
    [
        np.full((3, 3), np.nan),
        np.array([[40.0, -40.0, 40.0]]),  # beyond the ±16 g sensor
        np.array([[np.inf, 0.0, 0.0], [-1e9, 1e9, 0.0]]),
    ],
)
def test_bad_rows_never_make_a_fall(glitch):
    acc = lying_down_with_a_glitch(glitch)
    assert detect(acc, 50) == []
    monitor = FallMonitor()
    events = [
        e for k in range(0, len(acc), 10) for e in monitor.add(acc[k : k + 10], T0_MS + 20 * k)
    ]
    assert events == []


def test_all_missing_or_too_short_gives_nothing():
    assert detect(np.full((500, 3), np.nan), 50) == []
    assert detect(np.empty((0, 3)), 50) == []
    assert detect(still(UPRIGHT, 1), 50) == []


@pytest.mark.parametrize(
    ("acc", "rate", "message"),
    [
        (np.zeros((10, 2)), 50, "shape"),
        (np.zeros(30), 50, "shape"),
        ([["a", "b", "c"]], 50, "numeric"),
        (np.zeros((10, 3)), 0, "rate_hz"),
        (np.zeros((10, 3)), float("nan"), "rate_hz"),
    ],
)
def test_malformed_input_is_rejected_with_a_clear_error(acc, rate, message):
    with pytest.raises(ValueError, match=message):
        detect(acc, rate)


def test_fall_is_a_frozen_record():
    fall = Fall(1.0, 0.9, 3.0, 80.0, 12.0, False)
    assert fall.as_dict()["orientation_change_deg"] == 80.0
    with pytest.raises(AttributeError):
        fall.t_s = 2.0  # type: ignore[misc]


# -- the simulated wearable through the gateway's path -------------------------------------


def stream(wearable: AccelerometerWearable, seconds: float, monitor: FallMonitor, t_s: float):
    """Tick the wearable every 0.2 s of simulated time; feed each decoded notification to
    the monitor with its receive time. Returns the events and the time reached."""
    events: list[FallEvent] = []
    for _ in range(round(seconds / 0.2)):
        t_s += 0.2
        for frame in wearable.take_frames(t_s):
            decoded = decode_accelerometer_frame(encode_accelerometer_frame(frame))
            events += monitor.add(np.array(decoded.samples_g), T0_MS + round(1000 * t_s))
    return events, t_s


def simulated_wearable(**motion) -> AccelerometerWearable:
    from bumble.link import LocalLink

    model = WaistMotionModel(motion.pop("seed", 11), **motion)
    return AccelerometerWearable(LocalLink(), "F0:F0:F0:F0:F0:01", model, device_id="acc")


def test_simulated_fall_is_reported_once_then_long_lie():
    wearable = simulated_wearable(recover_after_s=None)
    monitor = FallMonitor(rate_hz=50.0, long_lie_s=30.0)
    events, t = stream(wearable, 60, monitor, 0.0)
    assert events == []
    wearable.trigger_fall()
    fell_at_ms = T0_MS + round(1000 * t)
    events, t = stream(wearable, 45, monitor, t)
    assert [e.kind for e in events] == ["fall", "long_lie"]
    fall, long_lie = events
    # the impact comes 0.8 s into the model's fall; it is timed within a sample or two
    assert abs(fall.ts_ms - (fell_at_ms + 800)) <= 60
    assert fall.evidence["detected_at_ts_ms"] - fall.ts_ms <= 1500  # alerted within 1.5 s
    assert fall.evidence["impact_g"] > 2 and fall.evidence["orientation_change_deg"] > 60
    assert abs(long_lie.ts_ms - (fall.ts_ms + 30_000)) <= 1000


def test_simulated_fall_then_getting_up_is_recovered():
    wearable = simulated_wearable(seed=12, recover_after_s=20.0)
    monitor = FallMonitor(long_lie_s=60.0)
    _, t = stream(wearable, 30, monitor, 0.0)
    wearable.trigger_fall()
    events, _ = stream(wearable, 60, monitor, t)
    assert [e.kind for e in events] == ["fall", "recovered"]
    # down 1.6 s of the fall less 0.8 s before the impact, 20 s lying, then getting up
    assert 20 <= events[1].evidence["down_s"] <= 30


def test_hours_of_simulated_daily_life_give_no_fall():
    model = WaistMotionModel(21, day_start_s=7 * 3600)  # 07:00, through the day
    activities = set()
    for _hour in range(8):
        acc = model.advance(3600 * 50)
        activities.add(model.activity)
        assert detect(acc, 50) == []
    wearable = simulated_wearable(seed=22, day_start_s=21 * 3600)  # evening into bed
    events, _ = stream(wearable, 20 * 60, FallMonitor(), 0.0)
    assert events == []


# -- the monitor's handling of the stream ------------------------------------------------


def batches_of(acc: np.ndarray, size: int = 10) -> list[tuple[np.ndarray, int]]:
    return [(acc[k : k + size], T0_MS + 20 * (k + size - 1)) for k in range(0, len(acc), size)]


def simulated_fall_recording(seed: int = 5) -> np.ndarray:
    model = WaistMotionModel(seed, recover_after_s=None)
    before = model.advance(20 * 50)
    model.trigger_fall()
    return np.vstack([before, model.advance(20 * 50)])


def test_duplicated_and_out_of_order_batches_change_nothing():
    acc = simulated_fall_recording()
    clean = FallMonitor(long_lie_s=10)
    expected = [e for b in batches_of(acc) for e in clean.add(*b)]
    assert [e.kind for e in expected] == ["fall", "long_lie"]

    messy = FallMonitor(long_lie_s=10)
    got: list[FallEvent] = []
    previous = None
    for batch in batches_of(acc):
        got += messy.add(*batch)
        got += messy.add(*batch)  # delivered twice
        if previous is not None:
            got += messy.add(*previous)  # a late copy of the one before
        previous = batch
    assert [(e.kind, e.ts_ms) for e in got] == [(e.kind, e.ts_ms) for e in expected]
    assert messy.dropped_batches == 2 * len(batches_of(acc)) - 1


def test_a_gap_in_the_stream_is_missing_data_not_a_fall():
    # upright, then 3 s with no notifications, then lying: the change happened unseen
    acc = np.vstack([still(UPRIGHT, 10), still(ON_THE_BACK, 10)])
    monitor = FallMonitor()
    events = []
    for samples, end_ts in batches_of(acc):
        events += monitor.add(samples, end_ts + (3000 if end_ts > T0_MS + 10_000 else 0))
    assert events == []
    assert monitor.missing_samples == 150


def test_monitor_matches_detect_at_another_rate():
    acc50 = simulated_fall_recording(seed=8)
    acc100 = resample_poly(acc50, 2, 1, axis=0)
    found = detect(acc100, 100)
    monitor = FallMonitor(rate_hz=100.0)
    events = [
        e
        for k in range(0, len(acc100), 20)
        for e in monitor.add(acc100[k : k + 20], T0_MS + 10 * (k + 19))
    ]
    assert [e.kind for e in events] == ["fall"] and len(found) == 1
    assert abs(events[0].ts_ms - (T0_MS + 1000 * found[0].t_s)) <= 20


def test_the_written_out_low_pass_is_scipys_firwin() -> None:
    from scipy.signal import firwin

    expected = firwin(15, falls.BAND_LIMIT_HZ, fs=falls.MODEL_RATE_HZ)
    assert np.array_equal(falls._LOW_PASS, expected)
