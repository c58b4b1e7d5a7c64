"""Spot-measurement devices (BP cuff, thermometer, weight scale, glucose meter, spot-check
oximeter) as bumble GATT servers on a virtual link, received by the gateway's BumbleRadio:
indications and notifications arrive, decode, and carry plausible values."""

import datetime as dt

from anxin.devices import decode
from anxin.edge.radio import BoundDevice, BumbleRadio, Notification
from anxin.firmware_sim import DeviceClock, ScaledClock, SimulatedPerson, VirtualHome
from tests.support.waiting import eventually

WAIT_S = 30.0


def bound(home: VirtualHome) -> list[BoundDevice]:
    return [BoundDevice(d.device_id, d.address, d.kind) for d in home.devices]


def decoded(notifications: list[Notification], device_id: str, uuid: int) -> list:
    return [
        decode(n.characteristic, n.payload)
        for n in notifications
        if n.device_id == device_id and n.characteristic == uuid
    ]


def profile_home() -> VirtualHome:
    # Day 0 starts at midnight; readings_per_day is tiny so only measure_now() measures.
    home = VirtualHome(clock=ScaledClock(speed=20.0, start_s=8 * 3600))
    person = SimulatedPerson(seed=5)
    home.add_blood_pressure_cuff(person, device_id="cuff", readings_per_day=1e-6)
    home.add_blood_pressure_cuff(
        person,
        device_id="kpa-cuff",
        kpa=True,
        readings_per_day=1e-6,
        clock_reset_probability=0.0,
    )
    home.add_blood_pressure_cuff(
        person,
        device_id="reset-cuff",
        readings_per_day=1e-6,
        clock_reset_probability=1.0,  # every reading: the clock fell back to 2000-01-01
    )
    home.add_thermometer(device_id="thermo-f", fahrenheit_share=1.0, readings_per_day=1e-6)
    home.add_weight_scale(device_id="scale", readings_per_day=1e-6)
    home.add_glucose_meter(device_id="glucose", readings_per_day=1e-6)
    home.add_spot_check_oximeter(person, device_id="spot", readings_per_day=1e-6)
    return home


async def test_every_spot_device_kind_reaches_the_gateway():
    home = profile_home()
    await home.start()
    radio = BumbleRadio(home.link)
    got: list[Notification] = []
    try:
        await radio.start(bound(home), got.append, lambda a: None)
        await eventually(
            lambda: all(s == "connected" for s in radio.device_states().values()),
            WAIT_S,
            what="every device connected",
        )
        for device in home.devices:
            await device.measure_now()

        def arrived(device_id: str, uuid: int) -> bool:
            return bool(decoded(got, device_id, uuid))

        expected = [
            ("cuff", 0x2A35),
            ("cuff", 0x2A36),
            ("kpa-cuff", 0x2A35),
            ("reset-cuff", 0x2A35),
            ("thermo-f", 0x2A1C),
            ("scale", 0x2A9D),
            ("glucose", 0x2A18),
            ("spot", 0x2A5E),
        ]
        await eventually(
            lambda: all(arrived(*e) for e in expected), WAIT_S, what="every kind's frames"
        )

        (bp,) = decoded(got, "cuff", 0x2A35)
        d = bp.as_dict()
        assert 80 <= d["systolic"] <= 200 and 40 <= d["diastolic"] <= 120
        assert d["diastolic"] < d["mean_arterial_pressure"] < d["systolic"]
        assert 40 <= d["pulse_rate"] <= 200 and d["user_id"] == 1
        assert isinstance(d["measurement_status"], list)
        assert d["timestamp"].startswith("2025-01-01T08:")  # the device clock, set right
        cuff_pressures = [m.cuff_pressure for m in decoded(got, "cuff", 0x2A36)]
        assert max(cuff_pressures) > d["systolic"]  # inflated above systolic

        (kpa,) = decoded(got, "kpa-cuff", 0x2A35)
        assert kpa.reported_in_kpa and 80 <= kpa.systolic <= 200  # converted to mmHg
        sent = home.devices[1].readings[0]
        assert abs(kpa.systolic - sent.systolic) < 0.5

        (reset,) = decoded(got, "reset-cuff", 0x2A35)
        assert reset.as_dict()["timestamp"].startswith("2000-01-01T00:00:")

        (temperature,) = decoded(got, "thermo-f", 0x2A1C)
        assert temperature.reported_in_fahrenheit
        assert 35.5 <= temperature.as_dict()["body_temperature"] <= 38.0  # °C, not °F
        assert temperature.as_dict()["temperature_type"] == "tympanum"

        (weight,) = decoded(got, "scale", 0x2A9D)
        w = weight.as_dict()
        assert 40 <= w["body_weight"] <= 120 and 1.4 <= w["height"] <= 2.0
        assert abs(w["bmi"] - w["body_weight"] / w["height"] ** 2) < 0.1

        (glucose,) = decoded(got, "glucose", 0x2A18)
        g = glucose.as_dict()
        assert glucose.reported_in_mol_per_l and 3.0 <= g["glucose"] <= 15.0
        assert g["sequence_number"] == 1 and g["sample_location"] == "finger"

        (spot,) = decoded(got, "spot", 0x2A5E)
        assert 85 <= spot.spo2 <= 100 and 40 <= spot.pulse_rate <= 200
        assert spot.as_dict()["timestamp"] is not None
    finally:
        await radio.stop()
        await home.stop()


async def test_readings_taken_offline_are_delivered_on_connection():
    home = VirtualHome(clock=ScaledClock(speed=20.0))
    clock = DeviceClock(set_to=dt.datetime(2025, 3, 1, 7, 0, 0))
    scale = home.add_weight_scale(device_id="scale", readings_per_day=1e-6, device_clock=clock)
    await home.start()
    radio = BumbleRadio(home.link)
    got: list[Notification] = []
    try:
        first = await scale.measure_now()
        second = await scale.measure_now()
        assert len(scale.stored) == 2  # nobody subscribed yet: kept on the device
        await radio.start(bound(home), got.append, lambda a: None)
        await eventually(lambda: len(got) >= 2, WAIT_S, what="stored readings")
        weights = decoded(got, "scale", 0x2A9D)
        assert [w.kilograms for w in weights] == [first.kilograms, second.kilograms]
        assert weights[0].as_dict()["timestamp"].startswith("2025-03-01T07:00")
        assert not scale.stored
    finally:
        await radio.stop()
        await home.stop()


async def test_scheduled_readings_arrive_without_a_trigger():
    # 2000 readings a day = one every ~43 simulated seconds; at speed 200 that is ~0.2 s
    home = VirtualHome(clock=ScaledClock(speed=200.0))
    home.add_thermometer(device_id="thermo", readings_per_day=2000, fahrenheit_share=0.5)
    await home.start()
    radio = BumbleRadio(home.link)
    got: list[Notification] = []
    try:
        await radio.start(bound(home), got.append, lambda a: None)
        await eventually(lambda: len(got) >= 4, WAIT_S, what="scheduled readings")
        temps = decoded(got, "thermo", 0x2A1C)
        assert all(35.0 <= t.celsius <= 38.5 for t in temps)
    finally:
        await radio.stop()
        await home.stop()
