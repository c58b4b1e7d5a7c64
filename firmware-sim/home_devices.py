"""``VirtualHome.add_*`` for the accelerometer wearable and the BTHome home sensors
(mixed into VirtualHome; uses its link, clock and address allocation)."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

from .accelerometer import AccelerometerWearable
from .activity import ActivityModel
from .home_sensors import BedSensor, DoorSensor, PresenceSensor, RoomSensor, SOSButton
from .motion_model import WaistMotionModel

if TYPE_CHECKING:
    from bumble.link import LocalLink

    from .clock import Clock
    from .simulated import SimulatedDevice

D = TypeVar("D", bound="SimulatedDevice")


class SensorHomeMixin:
    if TYPE_CHECKING:
        link: LocalLink
        clock: Clock

        def _next_address(self) -> str: ...
        def _id(self, prefix: str, device_id: str | None) -> str: ...
        def _add(self, device: SimulatedDevice) -> SimulatedDevice: ...

    def _added(self, device: D) -> D:
        self._add(device)
        return device

    def add_accelerometer_wearable(
        self,
        motion: WaistMotionModel | None = None,
        *,
        device_id: str | None = None,
        address: str | None = None,
        seed: int = 0,
    ) -> AccelerometerWearable:
        return self._added(
            AccelerometerWearable(
                self.link,
                address or self._next_address(),
                motion or WaistMotionModel(seed),
                device_id=self._id("accelerometer", device_id),
                clock=self.clock,
            )
        )

    def add_door_sensor(
        self,
        *,
        activity: ActivityModel | None = None,
        bind_key: bytes | None = None,
        object_name: str = "opening",
        device_id: str | None = None,
        address: str | None = None,
        interval_s: float = 60.0,
        seed: int = 0,
    ) -> DoorSensor:
        return self._added(
            DoorSensor(
                self.link,
                address or self._next_address(),
                activity=activity,
                object_name=object_name,
                bind_key=bind_key,
                device_id=self._id("door", device_id),
                clock=self.clock,
                interval_s=interval_s,
                seed=seed,
            )
        )

    def add_bed_sensor(
        self,
        *,
        bedtime_h: float = 22.0,
        rise_h: float = 7.0,
        auto: bool = True,
        bind_key: bytes | None = None,
        device_id: str | None = None,
        address: str | None = None,
        interval_s: float = 60.0,
        seed: int = 0,
    ) -> BedSensor:
        return self._added(
            BedSensor(
                self.link,
                address or self._next_address(),
                bedtime_h=bedtime_h,
                rise_h=rise_h,
                auto=auto,
                bind_key=bind_key,
                device_id=self._id("bed", device_id),
                clock=self.clock,
                interval_s=interval_s,
                seed=seed,
            )
        )

    def add_presence_sensor(
        self,
        *,
        activity: ActivityModel | None = None,
        bind_key: bytes | None = None,
        device_id: str | None = None,
        address: str | None = None,
        interval_s: float = 30.0,
        seed: int = 0,
    ) -> PresenceSensor:
        return self._added(
            PresenceSensor(
                self.link,
                address or self._next_address(),
                activity=activity,
                bind_key=bind_key,
                device_id=self._id("presence", device_id),
                clock=self.clock,
                interval_s=interval_s,
                seed=seed,
            )
        )

    def add_sos_button(
        self,
        *,
        bind_key: bytes | None = None,
        device_id: str | None = None,
        address: str | None = None,
        interval_s: float = 3600.0,
    ) -> SOSButton:
        return self._added(
            SOSButton(
                self.link,
                address or self._next_address(),
                bind_key=bind_key,
                device_id=self._id("sos", device_id),
                clock=self.clock,
                interval_s=interval_s,
            )
        )

    def add_room_sensor(
        self,
        *,
        mean_temperature_c: float = 22.0,
        mean_humidity_pct: float = 50.0,
        bind_key: bytes | None = None,
        device_id: str | None = None,
        address: str | None = None,
        interval_s: float = 60.0,
        seed: int = 0,
    ) -> RoomSensor:
        return self._added(
            RoomSensor(
                self.link,
                address or self._next_address(),
                mean_temperature_c=mean_temperature_c,
                mean_humidity_pct=mean_humidity_pct,
                bind_key=bind_key,
                device_id=self._id("room", device_id),
                clock=self.clock,
                interval_s=interval_s,
                seed=seed,
            )
        )
