"""The devices Anxin supports: what each exposes over GATT or advertises."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from .bthome import BTHOME_UUID
from .gatt import BATTERY_LEVEL, HEART_RATE_MEASUREMENT, PLX_CONTINUOUS_MEASUREMENT

HEART_RATE_SERVICE = 0x180D
PULSE_OXIMETER_SERVICE = 0x1822
BATTERY_SERVICE = 0x180F


@dataclass(frozen=True)
class CharacteristicSpec:
    uuid: int
    name: str
    notify: bool = False
    indicate: bool = False
    read: bool = False


@dataclass(frozen=True)
class ServiceSpec:
    uuid: int
    name: str
    characteristics: tuple[CharacteristicSpec, ...]


@dataclass(frozen=True)
class DeviceKind:
    kind: str
    description: str
    connectable: bool
    nominal_interval_s: float
    services: tuple[ServiceSpec, ...] = ()
    advertised_service_uuids: tuple[int, ...] = ()
    service_data_uuid: int | None = None  # for advertisement-only devices

    @property
    def streamed_characteristics(self) -> tuple[int, ...]:
        """Characteristics the gateway subscribes to (notify or indicate)."""
        return tuple(
            c.uuid for s in self.services for c in s.characteristics if c.notify or c.indicate
        )

    @property
    def readable_characteristics(self) -> tuple[int, ...]:
        return tuple(c.uuid for s in self.services for c in s.characteristics if c.read)


_BATTERY = ServiceSpec(
    BATTERY_SERVICE, "Battery", (CharacteristicSpec(BATTERY_LEVEL, "Battery Level", read=True),)
)

CATALOGUE: Mapping[str, DeviceKind] = MappingProxyType(
    {
        "heart_rate_strap": DeviceKind(
            kind="heart_rate_strap",
            description="Chest strap: heart rate and RR intervals (Heart Rate profile)",
            connectable=True,
            nominal_interval_s=1.0,
            services=(
                ServiceSpec(
                    HEART_RATE_SERVICE,
                    "Heart Rate",
                    (
                        CharacteristicSpec(
                            HEART_RATE_MEASUREMENT, "Heart Rate Measurement", notify=True
                        ),
                    ),
                ),
                _BATTERY,
            ),
            advertised_service_uuids=(HEART_RATE_SERVICE,),
        ),
        "pulse_oximeter": DeviceKind(
            kind="pulse_oximeter",
            description="Finger pulse oximeter: SpO2 and pulse rate (Pulse Oximeter profile)",
            connectable=True,
            nominal_interval_s=1.0,
            services=(
                ServiceSpec(
                    PULSE_OXIMETER_SERVICE,
                    "Pulse Oximeter",
                    (
                        CharacteristicSpec(
                            PLX_CONTINUOUS_MEASUREMENT, "PLX Continuous Measurement", notify=True
                        ),
                    ),
                ),
                _BATTERY,
            ),
            advertised_service_uuids=(PULSE_OXIMETER_SERVICE,),
        ),
        "bthome_motion": DeviceKind(
            kind="bthome_motion",
            description="BTHome v2 motion sensor: motion, battery (advertisements only)",
            connectable=False,
            nominal_interval_s=5.0,
            service_data_uuid=BTHOME_UUID,
        ),
    }
)


def device_kind(kind: str) -> DeviceKind:
    try:
        return CATALOGUE[kind]
    except KeyError:
        raise KeyError(f"unknown device kind {kind!r}; known: {', '.join(CATALOGUE)}") from None
