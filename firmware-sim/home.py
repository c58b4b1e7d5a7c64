"""A simulated home: one virtual radio link and the devices in it."""

from __future__ import annotations

from bumble.link import LocalLink

from .activity import ActivityModel
from .clock import Clock, ScaledClock
from .physiology import SimulatedPerson
from .simulated import BTHomeMotionSensor, HeartRateStrap, PulseOximeter, SimulatedDevice


class VirtualHome:
    """Owns one bumble ``LocalLink``; devices get fixed random static addresses
    ``C0:A1:<home>:00:00:<n>`` so runs are reproducible.

    The gateway's radio joins by putting its own controller on ``home.link``.
    """

    def __init__(self, clock: Clock | None = None, home_number: int = 1) -> None:
        self.link = LocalLink()
        self.clock: Clock = clock or ScaledClock()
        self.home_number = home_number
        self.devices: list[SimulatedDevice] = []
        self._started = False

    def _next_address(self) -> str:
        # Random static: the two most significant bits of the address are 1 (0xC0).
        n = len(self.devices) + 1
        return f"C0:A1:{self.home_number & 0xFF:02X}:00:00:{n:02X}"

    def _add(self, device: SimulatedDevice) -> SimulatedDevice:
        if self._started:
            raise RuntimeError("add devices before VirtualHome.start()")
        if any(d.address == device.address for d in self.devices):
            raise ValueError(f"address {device.address} already used in this home")
        self.devices.append(device)
        return device

    def _id(self, prefix: str, device_id: str | None) -> str:
        return device_id or f"{prefix}-{len(self.devices) + 1}"

    def add_heart_rate_strap(
        self,
        person: SimulatedPerson,
        *,
        device_id: str | None = None,
        address: str | None = None,
        interval_s: float = 1.0,
    ) -> HeartRateStrap:
        strap = HeartRateStrap(
            self.link,
            address or self._next_address(),
            person,
            device_id=self._id("hr-strap", device_id),
            clock=self.clock,
            interval_s=interval_s,
        )
        self._add(strap)
        return strap

    def add_pulse_oximeter(
        self,
        person: SimulatedPerson,
        *,
        device_id: str | None = None,
        address: str | None = None,
        interval_s: float = 1.0,
    ) -> PulseOximeter:
        oximeter = PulseOximeter(
            self.link,
            address or self._next_address(),
            person,
            device_id=self._id("oximeter", device_id),
            clock=self.clock,
            interval_s=interval_s,
        )
        self._add(oximeter)
        return oximeter

    def add_motion_sensor(
        self,
        *,
        activity: ActivityModel | None = None,
        device_id: str | None = None,
        address: str | None = None,
        interval_s: float = 5.0,
    ) -> BTHomeMotionSensor:
        sensor = BTHomeMotionSensor(
            self.link,
            address or self._next_address(),
            activity,
            device_id=self._id("motion", device_id),
            clock=self.clock,
            interval_s=interval_s,
        )
        self._add(sensor)
        return sensor

    async def start(self) -> None:
        if self._started:
            return
        self._started = True
        for device in self.devices:
            await device.start()

    async def stop(self) -> None:
        if not self._started:
            return
        for device in reversed(self.devices):
            await device.stop()
        self._started = False

    async def __aenter__(self) -> VirtualHome:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
