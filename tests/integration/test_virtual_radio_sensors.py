"""The accelerometer wearable and the BTHome home sensors over the real bumble virtual
radio, received by the gateway's BumbleRadio and decoded as the gateway would."""

import asyncio
import math
from collections.abc import Callable

from anxin.devices import decode, decode_bthome
from anxin.devices.accelerometer import ACCELERATION_SAMPLES
from anxin.devices.bthome import BTHOME_UUID
from anxin.devices.bthome_replay import BTHomeReceiver
from anxin.edge.radio import Advertisement, BoundDevice, BumbleRadio, Notification
from anxin.firmware_sim import ScaledClock, VirtualHome

WAIT_S = 30.0
SOS_KEY = bytes.fromhex("5c1d8a3e0b7f4e2a9d6c1b0e8f3a7d42")
DOOR_KEY = bytes.fromhex("0f1e2d3c4b5a69788796a5b4c3d2e1f0")
SPEED = 4.0


async def wait_until(predicate: Callable[[], bool], timeout_s: float = WAIT_S) -> None:
    async def poll() -> None:
        while not predicate():
            await asyncio.sleep(0.02)

    await asyncio.wait_for(poll(), timeout_s)


class Site:
    def __init__(self) -> None:
        self.home = VirtualHome(clock=ScaledClock(speed=SPEED))
        h = self.home
        self.wearable = h.add_accelerometer_wearable(device_id="acc", seed=3)
        self.door = h.add_door_sensor(device_id="door", bind_key=DOOR_KEY)
        self.bed = h.add_bed_sensor(device_id="bed", auto=False)
        self.sos = h.add_sos_button(device_id="sos", bind_key=SOS_KEY)
        self.room = h.add_room_sensor(device_id="room")
        self.presence = h.add_presence_sensor(device_id="presence")
        self.radio = BumbleRadio(h.link)
        self.notifications: list[tuple[float, Notification]] = []
        self.advertisements: list[Advertisement] = []
        self.receiver = BTHomeReceiver({self.sos.address: SOS_KEY, self.door.address: DOOR_KEY})
        self.accepted: list[tuple[str, dict]] = []

    def _on_notification(self, n: Notification) -> None:
        self.notifications.append((self.home.clock.now(), n))

    def _on_advertisement(self, a: Advertisement) -> None:
        self.advertisements.append(a)
        adv = self.receiver.accept(a.address, a.service_data[BTHOME_UUID])
        if adv is not None:
            self.accepted.append((a.device_id, adv.as_dict()))

    async def __aenter__(self) -> "Site":
        await self.home.start()
        bound = [BoundDevice(d.device_id, d.address, d.kind) for d in self.home.devices]
        await self.radio.start(bound, self._on_notification, self._on_advertisement)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.radio.stop()
        await self.home.stop()

    def frames(self) -> list:
        return [
            decode(n.characteristic, n.payload)
            for _, n in self.notifications
            if n.characteristic == ACCELERATION_SAMPLES
        ]

    def values(self, device_id: str, field: str) -> list:
        return [d[field] for dev, d in self.accepted if dev == device_id and d[field] is not None]


def peak_g(frame) -> float:
    return max(math.sqrt(x * x + y * y + z * z) for x, y, z in frame.samples_g)


async def test_accelerometer_streams_50_hz_and_shows_a_fall():
    async with Site() as site:
        await wait_until(lambda: site.radio.device_states()["acc"] == "connected")
        await wait_until(lambda: len(site.frames()) >= 5)
        start = len(site.notifications)
        t0 = site.home.clock.now()
        await wait_until(lambda: len(site.notifications) >= start + 40)
        received = site.notifications[start:]
        per_s = len(received) / (received[-1][0] - t0)
        assert 4.0 <= per_s <= 6.0, per_s
        frames = site.frames()
        assert all(len(f.samples) == 10 and f.as_dict()["sample_rate_hz"] == 50 for f in frames)
        sequences = [f.sequence for f in frames]
        assert sequences == list(range(sequences[0], sequences[0] + len(sequences)))
        # someone wearing it: about 1 g when not falling
        assert all(0.5 < peak_g(f) < 2.6 for f in frames)

        count = len(frames)
        site.wearable.trigger_fall()
        await wait_until(lambda: len(site.frames()) >= count + 15)
        assert max(peak_g(f) for f in site.frames()[count:]) > 2.5


async def test_home_sensors_arrive_and_decode():
    async with Site() as site:
        # the first packet of every sensor: room climate, bed, presence, door
        await wait_until(
            lambda: all(any(dev == d for dev, _ in site.accepted) for d in ("room", "bed", "door"))
        )
        temperature = site.values("room", "temperature")[0]
        humidity = site.values("room", "humidity")[0]
        assert 15.0 < temperature < 30.0 and 20.0 < humidity < 80.0
        assert site.values("room", "battery")[0] == 90
        assert site.values("bed", "occupancy") == [False]
        assert site.values("door", "opening") == [False]

        await site.door.set_open(True)
        await wait_until(lambda: site.values("door", "opening")[-1:] == [True])
        await site.door.set_open(False)
        await wait_until(lambda: site.values("door", "opening")[-2:] == [True, False])

        await site.bed.set_occupied(True)
        await wait_until(lambda: site.values("bed", "occupancy")[-1:] == [True])

        await site.presence.set_present(True)
        await wait_until(lambda: site.values("presence", "presence")[-1:] == [True])

        # SOS long press: encrypted, trigger-based, sent as a burst of repeats
        raw = await site.sos.press("long_press")
        await wait_until(lambda: site.values("sos", "button") == ["long_press"])
        copies = [a for a in site.advertisements if a.service_data[BTHOME_UUID] == raw]
        assert len(copies) >= 2  # repeated with the same packet id ...
        assert site.values("sos", "button") == ["long_press"]  # ... and accepted once
        sos = decode_bthome(raw, key=SOS_KEY, address=site.sos.address)
        assert sos.encrypted and sos.trigger_based and sos.counter == site.sos.counter

        # the door's frames are encrypted on the air
        door_raw = [
            a.service_data[BTHOME_UUID] for a in site.advertisements if a.device_id == "door"
        ]
        assert all(frame[0] & 0x01 for frame in door_raw)

        assert site.radio.device_states()["sos"] == "advertising"
