"""A simulated home: one virtual radio link and the devices in it."""

from __future__ import annotations

from bumble.link import LocalLink

from .activity import ActivityModel
from .clock import Clock, ScaledClock
from .home_devices import SensorHomeMixin
from .physiology import SimulatedPerson
from .simulated import BTHomeMotionSensor, HeartRateStrap, PulseOximeter, SimulatedDevice
from .spot_devices import (
    BloodPressureCuff,
    GlucoseMeter,
    SpotCheckOximeter,
    Thermometer,
    WeightScale,
)
from .spot_models import BloodPressureModel, DeviceClock


class VirtualHome(SensorHomeMixin):
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

    # Spot-measurement devices take readings a few times a simulated day; tests call
    # ``await device.measure_now()`` instead of waiting. ``seed`` defaults per address.

    def add_blood_pressure_cuff(
        self,
        person: SimulatedPerson | None = None,
        *,
        model: BloodPressureModel | None = None,
        device_id: str | None = None,
        address: str | None = None,
        readings_per_day: float = 3.0,
        kpa: bool = False,
        clock_reset_probability: float = 0.05,
        device_clock: DeviceClock | None = None,
        seed: int | None = None,
    ) -> BloodPressureCuff:
        address = address or self._next_address()
        cuff = BloodPressureCuff(
            self.link,
            address,
            person,
            model=model,
            kpa=kpa,
            device_id=self._id("bp-cuff", device_id),
            clock=self.clock,
            readings_per_day=readings_per_day,
            clock_reset_probability=clock_reset_probability,
            device_clock=device_clock,
            seed=self._seed(seed, address),
        )
        self._add(cuff)
        return cuff

    def add_thermometer(
        self,
        *,
        device_id: str | None = None,
        address: str | None = None,
        readings_per_day: float = 1.0,
        fahrenheit_share: float = 0.2,
        device_clock: DeviceClock | None = None,
        seed: int | None = None,
    ) -> Thermometer:
        address = address or self._next_address()
        thermometer = Thermometer(
            self.link,
            address,
            fahrenheit_share=fahrenheit_share,
            device_id=self._id("thermometer", device_id),
            clock=self.clock,
            readings_per_day=readings_per_day,
            device_clock=device_clock,
            seed=self._seed(seed, address),
        )
        self._add(thermometer)
        return thermometer

    def add_weight_scale(
        self,
        *,
        device_id: str | None = None,
        address: str | None = None,
        readings_per_day: float = 1.0,
        device_clock: DeviceClock | None = None,
        seed: int | None = None,
    ) -> WeightScale:
        address = address or self._next_address()
        scale = WeightScale(
            self.link,
            address,
            device_id=self._id("scale", device_id),
            clock=self.clock,
            readings_per_day=readings_per_day,
            device_clock=device_clock,
            seed=self._seed(seed, address),
        )
        self._add(scale)
        return scale

    def add_glucose_meter(
        self,
        *,
        device_id: str | None = None,
        address: str | None = None,
        readings_per_day: float = 4.0,
        device_clock: DeviceClock | None = None,
        seed: int | None = None,
    ) -> GlucoseMeter:
        address = address or self._next_address()
        meter = GlucoseMeter(
            self.link,
            address,
            device_id=self._id("glucose", device_id),
            clock=self.clock,
            readings_per_day=readings_per_day,
            device_clock=device_clock,
            seed=self._seed(seed, address),
        )
        self._add(meter)
        return meter

    def add_spot_check_oximeter(
        self,
        person: SimulatedPerson,
        *,
        device_id: str | None = None,
        address: str | None = None,
        readings_per_day: float = 2.0,
        device_clock: DeviceClock | None = None,
        seed: int | None = None,
    ) -> SpotCheckOximeter:
        address = address or self._next_address()
        oximeter = SpotCheckOximeter(
            self.link,
            address,
            person,
            device_id=self._id("spot-oximeter", device_id),
            clock=self.clock,
            readings_per_day=readings_per_day,
            device_clock=device_clock,
            seed=self._seed(seed, address),
        )
        self._add(oximeter)
        return oximeter

    @staticmethod
    def _seed(seed: int | None, address: str) -> int:
        return seed if seed is not None else int(address.replace(":", ""), 16)

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
