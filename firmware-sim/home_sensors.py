"""Simulated BTHome v2 home sensors: door, bed occupancy, presence, SOS button, room
climate. Non-connectable advertisers (service data 0xFCD2), optionally encrypted
with a per-device bind key (AES-CCM, counter +1 per new packet).

Like real sensors, each new packet (a new packet id) goes out several times in a
row and receivers drop the repeats; state changes are sent at once, and the
current state again every ``interval_s`` as a heartbeat. The SOS button is a
trigger-based device: it is silent except for short bursts when pressed (and a
rare battery heartbeat).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import random
from collections.abc import Sequence
from typing import ClassVar

from bumble.core import UUID
from bumble.device import AdvertisingEventProperties, AdvertisingParameters, AdvertisingSet
from bumble.link import LocalLink

from anxin.devices.advertising import service_data_ad
from anxin.devices.bthome import BTHOME_UUID, Value, encode_bthome

from .activity import SECONDS_PER_DAY, ActivityModel
from .simulated import SimulatedDevice

BIND_KEY_LENGTH = 16
BUTTON_EVENTS = ("press", "double_press", "long_press")


class BTHomeAdvertiser(SimulatedDevice):
    """Base for BTHome sensors: packet ids, encryption, heartbeat and repeated packets."""

    trigger_based: ClassVar[bool] = False
    battery_powered: ClassVar[bool] = True
    burst_repeats: ClassVar[int] = 4  # trigger-based: advertisements per packet
    burst_interval_ms: ClassVar[float] = 20.0

    def __init__(
        self,
        link: LocalLink,
        address: str,
        *,
        bind_key: bytes | None = None,
        day_start_s: float = 8 * 3600,
        seed: int = 0,
        **kw,
    ) -> None:
        kw.setdefault("interval_s", 60.0)
        super().__init__(link, address, **kw)
        if bind_key is not None and len(bind_key) != BIND_KEY_LENGTH:
            raise ValueError(f"bind key must be {BIND_KEY_LENGTH} bytes, got {len(bind_key)}")
        self.bind_key = bind_key
        self.day_start_s = day_start_s
        self.rng = random.Random(seed)
        self.packet_id = 0
        self.counter = 0  # encryption counter of the last packet
        self.last_service_data: bytes | None = None
        self._adv_set: AdvertisingSet | None = None
        self._burst_lock = asyncio.Lock()

    @property
    def encrypted(self) -> bool:
        return self.bind_key is not None

    def hour_of_day(self, t_s: float) -> float:
        return ((self.day_start_s + t_s) % SECONDS_PER_DAY) / 3600

    # -- what is sent ---------------------------------------------------------------

    def readings(self) -> list[tuple[str, Value]]:
        """Current state objects, sent in every packet."""
        return []

    def update(self, t_s: float) -> bool:
        """Step the sensor's model to ``t_s``; True if its state changed."""
        return False

    def next_service_data(self, event: Sequence[tuple[str, Value]] = ()) -> bytes:
        """A new packet: next packet id (and counter, when encrypted)."""
        self.packet_id = (self.packet_id + 1) & 0xFF
        objects: list[tuple[str, Value]] = [("packet_id", self.packet_id)]
        if self.battery_powered:
            objects.append(("battery", self.battery_pct))
        objects += [*self.readings(), *event]
        if self.bind_key is None:
            data = encode_bthome(objects, trigger_based=self.trigger_based)
        else:
            self.counter = (self.counter + 1) & 0xFFFFFFFF
            data = encode_bthome(
                objects,
                trigger_based=self.trigger_based,
                key=self.bind_key,
                address=self.address,
                counter=self.counter,
            )
        self.last_service_data = data
        return data

    # -- radio ----------------------------------------------------------------------

    def _advertising_interval_ms(self) -> float:
        if self.trigger_based:
            return self.burst_interval_ms
        speed = getattr(self.clock, "speed", 1.0)
        # each packet goes out about four times before the next heartbeat (wall time)
        return min(10_240.0, max(20.0, self.interval_s * 1000.0 / speed / 4))

    async def _start_radio(self) -> None:
        assert self.device is not None
        interval = self._advertising_interval_ms()
        data = self.last_service_data or self.next_service_data()
        self._adv_set = await self.device.create_advertising_set(
            advertising_parameters=AdvertisingParameters(
                advertising_event_properties=AdvertisingEventProperties(
                    is_connectable=False, is_scannable=False, is_legacy=True
                ),
                primary_advertising_interval_min=interval,
                primary_advertising_interval_max=interval,
            ),
            random_address=self.device.random_address,
            advertising_data=service_data_ad(BTHOME_UUID, data),
            auto_start=not self.trigger_based,
        )
        if not self.trigger_based:
            self._on_air(UUID.from_16_bits(BTHOME_UUID), data)

    async def _quiet_radio(self) -> None:
        if self._adv_set is not None:
            adv_set, self._adv_set = self._adv_set, None
            with contextlib.suppress(Exception):
                await adv_set.stop()
                await adv_set.remove()

    async def publish(self, event: Sequence[tuple[str, Value]] = ()) -> bytes:
        """Send a new packet now (with ``event`` objects, e.g. a button press)."""
        data = self.next_service_data(event)
        if self._adv_set is None or not self.in_range:
            return data
        async with self._burst_lock:
            adv_set = self._adv_set
            await adv_set.set_advertising_data(service_data_ad(BTHOME_UUID, data))
            self.sent += 1
            self._on_air(UUID.from_16_bits(BTHOME_UUID), data)
            if self.trigger_based:
                # a short burst of identical advertisements, then silence
                await adv_set.start()
                await asyncio.sleep(self.burst_repeats * self.burst_interval_ms / 1000)
                with contextlib.suppress(Exception):
                    await adv_set.stop()
            else:
                # restarting the set sends the new packet now, not at the next interval
                await adv_set.stop()
                await adv_set.start()
        return data

    async def _tick(self, t_s: float) -> None:
        self.update(t_s)
        await self.publish()

    async def _run(self) -> None:
        # State changes go out at once; the heartbeat every interval_s. Both on sim time.
        step_s = min(self.interval_s, self.model_step_s)
        since_heartbeat = 0.0
        while True:
            await self.clock.sleep(step_s)
            since_heartbeat += step_s
            if not self.in_range:
                continue
            t_s = self.clock.now()
            self._drain_battery(t_s)
            changed = self.update(t_s)
            if changed or since_heartbeat >= self.interval_s - 1e-9:
                since_heartbeat = 0.0
                with contextlib.suppress(Exception):
                    await self.publish()

    model_step_s: ClassVar[float] = 10.0


class DoorSensor(BTHomeAdvertiser):
    """Door/window contact: BTHome "opening" (0x11), or "door" (0x1A) if asked.

    With ``activity`` the door opens now and then while someone is up and about,
    and closes again a step later; ``set_open`` drives it by hand.
    """

    kind = "bthome_door"
    battery_drain_pct_per_day = 0.2

    def __init__(
        self,
        link: LocalLink,
        address: str,
        *,
        activity: ActivityModel | None = None,
        object_name: str = "opening",
        **kw,
    ) -> None:
        if object_name not in ("opening", "door"):
            raise ValueError(f"object_name must be 'opening' or 'door', got {object_name!r}")
        kw.setdefault("name", "Anxin Door")
        super().__init__(link, address, **kw)
        self.activity = activity
        self.object_name = object_name
        self.is_open = False

    def readings(self) -> list[tuple[str, Value]]:
        return [(self.object_name, self.is_open)]

    def update(self, t_s: float) -> bool:
        if self.activity is None:
            return False
        moving = self.activity.step(t_s)
        was = self.is_open
        self.is_open = (not was) and moving and self.rng.random() < 0.3
        return self.is_open != was

    async def set_open(self, is_open: bool) -> None:
        if is_open != self.is_open:
            self.is_open = is_open
            await self.publish()


class BedSensor(BTHomeAdvertiser):
    """Bed-occupancy pad: BTHome "occupancy" (0x23). Follows a sleep schedule (to bed
    around ``bedtime_h``, up around ``rise_h``, a night-time bathroom trip now and then)
    unless driven by ``set_occupied``."""

    kind = "bthome_bed"
    battery_drain_pct_per_day = 0.3

    def __init__(
        self,
        link: LocalLink,
        address: str,
        *,
        bedtime_h: float = 22.0,
        rise_h: float = 7.0,
        auto: bool = True,
        **kw,
    ) -> None:
        kw.setdefault("name", "Anxin Bed")
        super().__init__(link, address, **kw)
        self.bedtime_h = bedtime_h
        self.rise_h = rise_h
        self.auto = auto
        self.occupied = self._in_bed_hours(0.0)

    def _in_bed_hours(self, t_s: float) -> bool:
        hour = self.hour_of_day(t_s)
        if self.bedtime_h > self.rise_h:
            return hour >= self.bedtime_h or hour < self.rise_h
        return self.bedtime_h <= hour < self.rise_h

    def readings(self) -> list[tuple[str, Value]]:
        return [("occupancy", self.occupied)]

    def update(self, t_s: float) -> bool:
        if not self.auto:
            return False
        was = self.occupied
        in_bed = self._in_bed_hours(t_s)
        if in_bed and was and self.rng.random() < 0.003:
            self.occupied = False  # up to the bathroom
        elif in_bed and not was and self.rng.random() < 0.1:
            self.occupied = True  # back (or off to bed a little late)
        elif not in_bed:
            self.occupied = False
        return self.occupied != was

    async def set_occupied(self, occupied: bool) -> None:
        self.auto = False
        if occupied != self.occupied:
            self.occupied = occupied
            await self.publish()


class PresenceSensor(BTHomeAdvertiser):
    """Room presence (mmWave-style): BTHome "presence" (0x25); mains powered. Someone
    is present while the activity model says so, and for ``hold_s`` after."""

    kind = "bthome_presence"
    battery_powered = False

    def __init__(
        self,
        link: LocalLink,
        address: str,
        *,
        activity: ActivityModel | None = None,
        hold_s: float = 60.0,
        **kw,
    ) -> None:
        kw.setdefault("name", "Anxin Presence")
        kw.setdefault("interval_s", 30.0)
        super().__init__(link, address, **kw)
        self.activity = activity or ActivityModel(seed=kw.get("seed", 0))
        self.hold_s = hold_s
        self.present = False
        self._last_motion_s: float | None = None

    def readings(self) -> list[tuple[str, Value]]:
        return [("presence", self.present)]

    def update(self, t_s: float) -> bool:
        if self.activity.step(t_s):
            self._last_motion_s = t_s
        was = self.present
        self.present = self._last_motion_s is not None and t_s - self._last_motion_s <= self.hold_s
        return self.present != was

    async def set_present(self, present: bool) -> None:
        if present != self.present:
            self.present = present
            self._last_motion_s = self.clock.now() if present else None
            await self.publish()


class SOSButton(BTHomeAdvertiser):
    """SOS button: BTHome "button" (0x3A) events press / double_press / long_press,
    trigger-based, each event a short burst of identical advertisements."""

    kind = "bthome_button"
    trigger_based = True
    battery_drain_pct_per_day = 0.1

    def __init__(self, link: LocalLink, address: str, **kw) -> None:
        kw.setdefault("name", "Anxin SOS")
        kw.setdefault("interval_s", 3600.0)
        super().__init__(link, address, **kw)
        self.presses: list[str] = []

    async def press(self, event: str = "press") -> bytes:
        if event not in BUTTON_EVENTS:
            raise ValueError(f"button event must be one of {BUTTON_EVENTS}, got {event!r}")
        self.presses.append(event)
        return await self.publish([("button", event)])

    model_step_s = 3600.0


class RoomSensor(BTHomeAdvertiser):
    """Room climate: BTHome temperature (0x02, 0.01 °C) and humidity (0x03, 0.01 %).
    Indoor temperature swings with the day (warmest mid-afternoon); relative humidity
    moves the other way."""

    kind = "bthome_room"
    battery_drain_pct_per_day = 0.15

    def __init__(
        self,
        link: LocalLink,
        address: str,
        *,
        mean_temperature_c: float = 22.0,
        daily_swing_c: float = 2.0,
        mean_humidity_pct: float = 50.0,
        **kw,
    ) -> None:
        kw.setdefault("name", "Anxin Room")
        super().__init__(link, address, **kw)
        self.mean_temperature_c = mean_temperature_c
        self.daily_swing_c = daily_swing_c
        self.mean_humidity_pct = mean_humidity_pct
        self.temperature_c = mean_temperature_c
        self.humidity_pct = mean_humidity_pct
        self.update(0.0)

    def readings(self) -> list[tuple[str, Value]]:
        return [("temperature", self.temperature_c), ("humidity", self.humidity_pct)]

    def update(self, t_s: float) -> bool:
        phase = 2 * math.pi * (self.hour_of_day(t_s) - 9.0) / 24  # peak at 15:00
        offset = self.daily_swing_c * math.sin(phase)
        self.temperature_c = round(self.mean_temperature_c + offset + self.rng.gauss(0, 0.1), 2)
        humidity = self.mean_humidity_pct - 2.0 * offset + self.rng.gauss(0, 0.5)
        self.humidity_pct = round(min(100.0, max(0.0, humidity)), 2)
        return False  # climate is reported on the heartbeat only
