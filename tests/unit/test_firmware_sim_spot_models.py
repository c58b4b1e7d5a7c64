"""Spot-measurement models and device clocks: pure, seeded, plausible."""

import datetime as dt
import statistics

import pytest

from anxin.devices.catalogue import CATALOGUE
from anxin.firmware_sim.spot_models import (
    DAY_S,
    BloodPressureModel,
    BodyTemperatureModel,
    DeviceClock,
    GlucoseModel,
    WeightModel,
)


def test_blood_pressure_is_seeded_plausible_and_lower_at_night():
    a, b = BloodPressureModel(140, 90, seed=3), BloodPressureModel(140, 90, seed=3)
    times = [day * DAY_S + hour * 3600 for day in range(30) for hour in (3, 11)]
    readings = [a.reading(t) for t in times]
    assert readings == [b.reading(t) for t in times]
    assert all(r.systolic_mmhg - r.diastolic_mmhg >= 15 for r in readings)
    assert all(r.diastolic_mmhg < r.mean_arterial_mmhg < r.systolic_mmhg for r in readings)
    night = statistics.mean(r.systolic_mmhg for r in readings[0::2])
    day = statistics.mean(r.systolic_mmhg for r in readings[1::2])
    assert night < day
    assert 130 < statistics.mean(r.systolic_mmhg for r in readings) < 150
    with pytest.raises(ValueError):
        BloodPressureModel(80, 90)


def test_temperature_weight_glucose_ranges():
    temperature = BodyTemperatureModel(seed=1)
    assert all(35.8 <= temperature.reading(h * 3600) <= 37.4 for h in range(48))
    temperature.fever_c = 1.8
    assert temperature.reading(17 * 3600) > 38.0

    weight = WeightModel(70.0, 1.70, trend_kg_per_day=-0.1, daily_sd_kg=0.0, seed=1)
    kg0, bmi0 = weight.reading(0)
    kg30, _ = weight.reading(30 * DAY_S)
    assert kg0 == 70.0 and bmi0 == 24.2 and kg30 == pytest.approx(67.0, abs=0.01)
    assert (kg30 * 200) == round(kg30 * 200)  # on the 0.005 kg grid

    glucose = GlucoseModel(noise_sd_mmol=0.0)
    assert glucose.reading(6 * 3600) == pytest.approx(5.4, abs=0.1)  # fasting
    assert glucose.reading(7.75 * 3600) > 7.5  # 45 min after breakfast


def test_device_clock_runs_and_resets():
    clock = DeviceClock(dt.datetime(2025, 1, 1, 8, 0, 0), set_at_s=100.0)
    assert clock.now(160.5) == dt.datetime(2025, 1, 1, 8, 1, 0)
    clock.reset(200.0)
    assert clock.now(230.0) == dt.datetime(2000, 1, 1, 0, 0, 30) and clock.resets == 1


@pytest.mark.parametrize(
    ("kind", "streamed", "service"),
    [
        ("blood_pressure_cuff", (0x2A35, 0x2A36), 0x1810),
        ("thermometer", (0x2A1C,), 0x1809),
        ("weight_scale", (0x2A9D,), 0x181D),
        ("glucose_meter", (0x2A18,), 0x1808),
        ("spot_check_oximeter", (0x2A5E,), 0x1822),
    ],
)
def test_catalogue_entries(kind, streamed, service):
    entry = CATALOGUE[kind]
    assert entry.connectable and entry.streamed_characteristics == streamed
    assert entry.services[0].uuid == service and 0x2A19 in entry.readable_characteristics
    assert entry.nominal_interval_s >= 3600


def test_cuff_lists_device_information_and_indicates_measurements():
    cuff = CATALOGUE["blood_pressure_cuff"]
    assert 0x180A in {s.uuid for s in cuff.services}
    (bp_service,) = (s for s in cuff.services if s.uuid == 0x1810)
    flags = {c.uuid: (c.notify, c.indicate, c.read) for c in bp_service.characteristics}
    assert flags == {
        0x2A35: (False, True, False),
        0x2A36: (True, False, False),
        0x2A49: (False, False, True),
    }
