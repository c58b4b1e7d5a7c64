"""End to end over a real bumble virtual radio: simulated devices are GATT servers and
advertisers on a LocalLink; the gateway's BumbleRadio scans, connects, subscribes."""

import asyncio
from collections.abc import Callable

import pytest

from anxin.devices import decode, decode_bthome
from anxin.edge.radio import Advertisement, BoundDevice, BumbleRadio, Notification
from anxin.firmware_sim import ScaledClock, SimulatedPerson, TachycardiaScenario, VirtualHome

WAIT_S = 30.0  # generous bound; typical runs take well under a few seconds


async def wait_until(predicate: Callable[[], bool], timeout_s: float = WAIT_S) -> None:
    async def poll() -> None:
        while not predicate():
            await asyncio.sleep(0.05)

    await asyncio.wait_for(poll(), timeout_s)


def bound(home: VirtualHome) -> list[BoundDevice]:
    return [BoundDevice(d.device_id, d.address, d.kind) for d in home.devices]


class Collected:
    def __init__(self) -> None:
        self.notifications: list[Notification] = []
        self.advertisements: list[Advertisement] = []

    def decoded(self, characteristic: int) -> list:
        return [
            decode(n.characteristic, n.payload)
            for n in self.notifications
            if n.characteristic == characteristic
        ]

    def bthome(self) -> list:
        return [decode_bthome(a.service_data[0xFCD2]) for a in self.advertisements]


async def start_home(scenario=None, speed: float = 20.0, extra_unbound_sensor: bool = False):
    home = VirtualHome(clock=ScaledClock(speed=speed))
    person = SimulatedPerson(scenario=scenario, seed=11)
    home.add_heart_rate_strap(person, device_id="strap")
    home.add_pulse_oximeter(person, device_id="oximeter")
    home.add_motion_sensor(device_id="motion")
    bindings = bound(home)
    if extra_unbound_sensor:
        home.add_motion_sensor(device_id="neighbour")
    await home.start()
    radio = BumbleRadio(home.link)
    got = Collected()
    await radio.start(bindings, got.notifications.append, got.advertisements.append)
    return home, radio, got


async def test_data_flows_from_devices_to_radio():
    home, radio, got = await start_home(extra_unbound_sensor=True)
    try:
        await wait_until(
            lambda: (
                len(got.decoded(0x2A37)) >= 5
                and len(got.decoded(0x2A5F)) >= 5
                and len(got.advertisements) >= 3
            )
        )
        hr = got.decoded(0x2A37)
        assert all(40 <= m.heart_rate <= 200 for m in hr)
        assert any(m.rr_intervals_s for m in hr)
        assert all(0.25 < rr < 1.5 for m in hr for rr in m.rr_intervals_s)

        plx = got.decoded(0x2A5F)
        assert all(m.spo2 is not None and 85 <= m.spo2 <= 100 for m in plx)
        assert all(m.pulse_rate is not None and 40 <= m.pulse_rate <= 200 for m in plx)

        ads = got.bthome()
        assert all(a.motion in (True, False) and a.battery is not None for a in ads)
        # only bound addresses are reported
        assert {a.device_id for a in got.advertisements} == {"motion"}
        assert {n.device_id for n in got.notifications} == {"strap", "oximeter"}
        assert all(n.received_at_ms > 1_600_000_000_000 for n in got.notifications)

        assert radio.device_states() == {
            "strap": "connected",
            "oximeter": "connected",
            "motion": "advertising",
        }
    finally:
        await radio.stop()
        await home.stop()


async def test_tachycardia_scenario_reaches_the_gateway():
    scenario = TachycardiaScenario(start_after_s=60, target_bpm=135, ramp_s=20)
    home, radio, got = await start_home(scenario=scenario, speed=40.0)
    try:
        await wait_until(lambda: any(m.heart_rate > 120 for m in got.decoded(0x2A37)))
        first_high = next(i for i, m in enumerate(got.decoded(0x2A37)) if m.heart_rate > 120)
        # and it stays there: the next several readings are all tachycardic
        await wait_until(lambda: len(got.decoded(0x2A37)) >= first_high + 15)
        later = got.decoded(0x2A37)[first_high + 5 : first_high + 15]
        assert all(m.heart_rate > 120 for m in later)
        assert min(m.heart_rate for m in got.decoded(0x2A37)[:3]) < 100  # started at baseline
    finally:
        await radio.stop()
        await home.stop()


async def test_reconnects_after_device_leaves_and_returns():
    home, radio, got = await start_home()
    strap = home.devices[0]
    try:
        await wait_until(lambda: radio.device_states()["strap"] == "connected")
        await strap.set_in_range(False)
        await wait_until(lambda: radio.device_states()["strap"] == "reconnecting")
        count = len(got.decoded(0x2A37))
        await strap.set_in_range(True)
        await wait_until(lambda: radio.device_states()["strap"] == "connected")
        await wait_until(lambda: len(got.decoded(0x2A37)) >= count + 3)
        await strap.set_in_range(False)  # stopping a device that is out of range is clean too
    finally:
        await radio.stop()
        await home.stop()


async def test_out_of_range_state():
    home = VirtualHome(clock=ScaledClock(speed=20))
    home.add_motion_sensor(device_id="motion")
    await home.start()
    radio = BumbleRadio(home.link, out_of_range_after_s=0.5)
    # bound to a strap that does not exist in this home
    bindings = [*bound(home), BoundDevice("ghost", "C0:FF:00:00:00:09", "heart_rate_strap")]
    try:
        await radio.start(bindings, lambda n: None, lambda a: None)
        assert radio.device_states()["ghost"] == "connecting"
        await wait_until(lambda: radio.device_states()["ghost"] == "out_of_range")
        assert radio.device_states()["motion"] == "advertising"
        await home.devices[0].set_in_range(False)
        await wait_until(lambda: radio.device_states()["motion"] == "out_of_range")
    finally:
        await radio.stop()
        await home.stop()


async def test_a_failing_callback_does_not_stop_the_radio():
    home = VirtualHome(clock=ScaledClock(speed=20))
    home.add_motion_sensor(device_id="motion")
    await home.start()
    radio = BumbleRadio(home.link)
    calls = []

    def explode(adv):
        calls.append(adv)
        raise RuntimeError("consumer bug")

    try:
        await radio.start(bound(home), lambda n: None, explode)
        await wait_until(lambda: len(calls) >= 3)
    finally:
        await radio.stop()
        await home.stop()


async def test_stop_leaves_no_pending_tasks_and_can_be_repeated():
    before = asyncio.all_tasks()
    home, radio, got = await start_home()
    await wait_until(lambda: len(got.notifications) >= 2)
    await radio.stop()
    await radio.stop()  # idempotent
    await home.stop()
    await asyncio.sleep(0.05)
    leftover = asyncio.all_tasks() - before - {asyncio.current_task()}
    assert not leftover, leftover
    assert home.link.controllers == set()


@pytest.mark.parametrize("speed", [50.0])
async def test_advertisements_carry_changing_packet_ids(speed):
    home = VirtualHome(clock=ScaledClock(speed=speed))
    home.add_motion_sensor(device_id="motion")
    await home.start()
    radio = BumbleRadio(home.link)
    got = Collected()
    try:
        await radio.start(bound(home), got.notifications.append, got.advertisements.append)
        await wait_until(lambda: len({a.packet_id for a in got.bthome()}) >= 3)
        assert all(a.rssi is not None for a in got.advertisements)
    finally:
        await radio.stop()
        await home.stop()
