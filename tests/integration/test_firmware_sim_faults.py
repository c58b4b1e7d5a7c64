"""Each fault as a user of the radio sees it: real bumble virtual controllers, the
gateway's BumbleRadio, and the devices' decoders."""

import asyncio
import itertools
from collections.abc import Callable

from anxin.devices import decode
from anxin.edge.radio import BoundDevice, BumbleRadio, Notification
from anxin.firmware_sim import ScaledClock, SimulatedPerson, VirtualHome
from anxin.firmware_sim.faults import (
    ContactLost,
    Disconnect,
    DuplicateNotifications,
    FaultSchedule,
    NanReadings,
    OutOfRange,
    RefuseConnections,
    ScheduledFault,
)

WAIT_S = 30.0


async def wait_until(predicate: Callable[[], bool], timeout_s: float = WAIT_S) -> None:
    async def poll() -> None:
        while not predicate():
            await asyncio.sleep(0.05)

    await asyncio.wait_for(poll(), timeout_s)


class Home:
    def __init__(self, speed: float = 20.0) -> None:
        self.home = VirtualHome(clock=ScaledClock(speed=speed))
        person = SimulatedPerson(seed=5)
        self.strap = self.home.add_heart_rate_strap(person, device_id="strap")
        self.oximeter = self.home.add_pulse_oximeter(person, device_id="oximeter")
        self.radio = BumbleRadio(self.home.link)
        self.got: list[Notification] = []

    async def __aenter__(self) -> "Home":
        await self.home.start()
        bound = [BoundDevice(d.device_id, d.address, d.kind) for d in self.home.devices]
        await self.radio.start(bound, self.got.append, lambda _a: None)
        await wait_until(lambda: set(self.radio.device_states().values()) == {"connected"})
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.radio.stop()
        await self.home.stop()

    def frames(self, device_id: str) -> list[Notification]:
        return [n for n in self.got if n.device_id == device_id]

    def decoded(self, device_id: str, since: int = 0) -> list:
        return [decode(n.characteristic, n.payload) for n in self.frames(device_id)[since:]]


async def test_contact_lost_is_decoded_as_not_detected():
    async with Home() as h:
        fault = ContactLost()
        await wait_until(lambda: len(h.frames("strap")) >= 2)
        await fault.begin(h.strap)
        start = len(h.frames("strap"))
        await wait_until(lambda: len(h.frames("strap")) >= start + 3)
        lost = h.decoded("strap", start + 1)  # one frame may have been in flight
        assert all(m.as_dict()["sensor_contact"] == "not_detected" for m in lost)
        assert all(m.heart_rate == 0 and not m.rr_intervals_s for m in lost)
        await fault.end(h.strap)
        back = len(h.frames("strap"))
        await wait_until(lambda: len(h.frames("strap")) >= back + 3)
        assert h.decoded("strap", back + 1)[-1].as_dict()["sensor_contact"] == "detected"


async def test_nan_readings_decode_to_none():
    async with Home() as h:
        await NanReadings().begin(h.oximeter)
        start = len(h.frames("oximeter"))
        await wait_until(lambda: len(h.frames("oximeter")) >= start + 3)
        for m in h.decoded("oximeter", start + 1):
            assert m.spo2 is None and m.pulse_rate is None
            assert {name for name, _ in m.specials} == {"spo2", "pulse_rate"}


async def test_duplicate_notifications_arrive_twice():
    async with Home() as h:
        await DuplicateNotifications().begin(h.strap)
        start = len(h.frames("strap"))
        await wait_until(lambda: len(h.frames("strap")) >= start + 6)
        payloads = [n.payload for n in h.frames("strap")[start:]]
        pairs = sum(1 for a, b in itertools.pairwise(payloads) if a == b)
        assert pairs >= 2
        assert h.strap.sent >= len(h.frames("strap"))


async def test_mid_stream_disconnect_reconnects_and_data_resumes():
    async with Home() as h:
        await wait_until(lambda: len(h.frames("strap")) >= 2)
        await Disconnect().begin(h.strap)
        await wait_until(lambda: h.radio.device_states()["strap"] != "connected")
        count = len(h.frames("strap"))
        await wait_until(lambda: h.radio.device_states()["strap"] == "connected")
        await wait_until(lambda: len(h.frames("strap")) >= count + 3)
        assert h.radio.device_states()["oximeter"] == "connected"


async def test_refusing_device_never_connects_and_the_radio_keeps_running():
    async with Home() as h:
        fault = RefuseConnections()
        await fault.begin(h.strap)
        await wait_until(lambda: fault.refused >= 1)  # the radio tried again and was refused
        seen: set[str] = set()
        for _ in range(20):
            seen.add(h.radio.device_states()["strap"])
            await asyncio.sleep(0.05)
        assert "connected" not in seen
        assert h.strap.device is not None and h.strap.device.is_advertising
        # the rest of the home is unaffected
        count = len(h.frames("oximeter"))
        await wait_until(lambda: len(h.frames("oximeter")) >= count + 3)
        assert h.radio.device_states()["oximeter"] == "connected"
        await fault.end(h.strap)


async def test_schedule_applies_faults_in_simulated_time():
    async with Home(speed=40.0) as h:
        now = h.home.clock.now()
        schedule = FaultSchedule(
            h.home.clock,
            [
                ScheduledFault(h.strap, ContactLost(), now + 10.0, now + 30.0),
                ScheduledFault(h.oximeter, OutOfRange(), now + 20.0, now + 40.0),
            ],
        )
        schedule.start()
        try:
            await wait_until(lambda: len(schedule.log) == 4)
            assert [what for _, what in schedule.log] == [
                "contact_lost begins on strap",
                "out_of_range begins on oximeter",
                "contact_lost ends on strap",
                "out_of_range ends on oximeter",
            ]
            times = [t - now for t, _ in schedule.log]
            assert all(abs(t - want) < 3.0 for t, want in zip(times, (10, 20, 30, 40), strict=True))
            assert any(m.as_dict()["sensor_contact"] == "not_detected" for m in h.decoded("strap"))
        finally:
            await schedule.stop()
