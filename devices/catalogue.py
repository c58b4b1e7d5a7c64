"""The devices Anxin supports: what each exposes over GATT or advertises."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from .accelerometer import ACCELERATION_SAMPLES, ACCELEROMETER_SERVICE, ATT_MTU
from .bthome import BTHOME_UUID
from .gatt import BATTERY_LEVEL, HEART_RATE_MEASUREMENT, PLX_CONTINUOUS_MEASUREMENT
from .profiles import (
    BLOOD_PRESSURE_MEASUREMENT,
    GLUCOSE_MEASUREMENT,
    INTERMEDIATE_CUFF_PRESSURE,
    PLX_SPOT_CHECK_MEASUREMENT,
    TEMPERATURE_MEASUREMENT,
    TEMPERATURE_TYPE,
    WEIGHT_MEASUREMENT,
)

HEART_RATE_SERVICE = 0x180D
PULSE_OXIMETER_SERVICE = 0x1822
BATTERY_SERVICE = 0x180F
BLOOD_PRESSURE_SERVICE = 0x1810
HEALTH_THERMOMETER_SERVICE = 0x1809
WEIGHT_SCALE_SERVICE = 0x181D
GLUCOSE_SERVICE = 0x1808
DEVICE_INFORMATION_SERVICE = 0x180A


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
    att_mtu: int = 23  # the gateway asks for more when notifications are longer than 20 bytes

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
_DEVICE_INFORMATION = ServiceSpec(
    DEVICE_INFORMATION_SERVICE,
    "Device Information",
    (
        CharacteristicSpec(0x2A29, "Manufacturer Name String", read=True),
        CharacteristicSpec(0x2A24, "Model Number String", read=True),
        CharacteristicSpec(0x2A26, "Firmware Revision String", read=True),
    ),
)
_DAY_S = 86_400.0

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
        "accelerometer_wearable": DeviceKind(
            kind="accelerometer_wearable",
            description=(
                "Waist-worn 3-axis accelerometer: 50 Hz samples, 10 per notification "
                "(5 notifications/s) on Anxin's 128-bit custom service; falls and activity"
            ),
            connectable=True,
            nominal_interval_s=0.2,
            services=(
                ServiceSpec(
                    ACCELEROMETER_SERVICE,
                    "Anxin Motion",
                    (
                        CharacteristicSpec(
                            ACCELERATION_SAMPLES, "Acceleration Samples", notify=True
                        ),
                    ),
                ),
                _BATTERY,
            ),
            advertised_service_uuids=(ACCELEROMETER_SERVICE,),
            att_mtu=ATT_MTU,
        ),
        # BTHome v2 home sensors: advertisements only, sent on change (trigger-based for
        # the button) plus a periodic heartbeat; any of them may be encrypted (bind key).
        "bthome_door": DeviceKind(
            kind="bthome_door",
            description="BTHome v2 door/opening sensor: opening, battery",
            connectable=False,
            nominal_interval_s=60.0,
            service_data_uuid=BTHOME_UUID,
        ),
        "bthome_bed": DeviceKind(
            kind="bthome_bed",
            description="BTHome v2 bed-occupancy pad: occupancy, battery",
            connectable=False,
            nominal_interval_s=60.0,
            service_data_uuid=BTHOME_UUID,
        ),
        "bthome_presence": DeviceKind(
            kind="bthome_presence",
            description="BTHome v2 presence (mmWave) sensor: presence, battery",
            connectable=False,
            nominal_interval_s=30.0,
            service_data_uuid=BTHOME_UUID,
        ),
        "bthome_button": DeviceKind(
            kind="bthome_button",
            description="BTHome v2 SOS button: press, double press, long press; battery",
            connectable=False,
            nominal_interval_s=3600.0,
            service_data_uuid=BTHOME_UUID,
        ),
        "bthome_room": DeviceKind(
            kind="bthome_room",
            description="BTHome v2 room climate sensor: temperature, humidity, battery",
            connectable=False,
            nominal_interval_s=60.0,
            service_data_uuid=BTHOME_UUID,
        ),
        # Spot-measurement devices: a reading when the person takes one, sent by
        # indication (acknowledged) so a reading taken while the link is up is not lost.
        "blood_pressure_cuff": DeviceKind(
            kind="blood_pressure_cuff",
            description=(
                "Upper-arm BP cuff: systolic/diastolic/MAP, pulse, device timestamp "
                "(Blood Pressure profile); cuff pressure notified while inflating"
            ),
            connectable=True,
            nominal_interval_s=_DAY_S / 3,  # a few readings a day
            services=(
                ServiceSpec(
                    BLOOD_PRESSURE_SERVICE,
                    "Blood Pressure",
                    (
                        CharacteristicSpec(
                            BLOOD_PRESSURE_MEASUREMENT, "Blood Pressure Measurement", indicate=True
                        ),
                        CharacteristicSpec(
                            INTERMEDIATE_CUFF_PRESSURE, "Intermediate Cuff Pressure", notify=True
                        ),
                        CharacteristicSpec(0x2A49, "Blood Pressure Feature", read=True),
                    ),
                ),
                _DEVICE_INFORMATION,
                _BATTERY,
            ),
            advertised_service_uuids=(BLOOD_PRESSURE_SERVICE,),
        ),
        "thermometer": DeviceKind(
            kind="thermometer",
            description="Health thermometer: body temperature, type, timestamp (°F converted)",
            connectable=True,
            nominal_interval_s=_DAY_S,
            services=(
                ServiceSpec(
                    HEALTH_THERMOMETER_SERVICE,
                    "Health Thermometer",
                    (
                        CharacteristicSpec(
                            TEMPERATURE_MEASUREMENT, "Temperature Measurement", indicate=True
                        ),
                        CharacteristicSpec(TEMPERATURE_TYPE, "Temperature Type", read=True),
                    ),
                ),
                _BATTERY,
            ),
            advertised_service_uuids=(HEALTH_THERMOMETER_SERVICE,),
        ),
        "weight_scale": DeviceKind(
            kind="weight_scale",
            description="Weight scale: weight, BMI, height, user id, timestamp (lb converted)",
            connectable=True,
            nominal_interval_s=_DAY_S,
            services=(
                ServiceSpec(
                    WEIGHT_SCALE_SERVICE,
                    "Weight Scale",
                    (
                        CharacteristicSpec(WEIGHT_MEASUREMENT, "Weight Measurement", indicate=True),
                        CharacteristicSpec(0x2A9E, "Weight Scale Feature", read=True),
                    ),
                ),
                _BATTERY,
            ),
            advertised_service_uuids=(WEIGHT_SCALE_SERVICE,),
        ),
        "glucose_meter": DeviceKind(
            kind="glucose_meter",
            description=(
                "Blood glucose meter: concentration (mmol/L), sample type and site, sensor "
                "status. A real meter sends stored records only when asked through the "
                "Record Access Control Point (0x2A52); the simulated one also notifies each "
                "new reading as it is taken"
            ),
            connectable=True,
            nominal_interval_s=_DAY_S / 4,
            services=(
                ServiceSpec(
                    GLUCOSE_SERVICE,
                    "Glucose",
                    (
                        CharacteristicSpec(GLUCOSE_MEASUREMENT, "Glucose Measurement", notify=True),
                        CharacteristicSpec(0x2A51, "Glucose Feature", read=True),
                    ),
                ),
                _BATTERY,
            ),
            advertised_service_uuids=(GLUCOSE_SERVICE,),
        ),
        "spot_check_oximeter": DeviceKind(
            kind="spot_check_oximeter",
            description="Fingertip oximeter used for spot checks: SpO2, pulse, timestamp",
            connectable=True,
            nominal_interval_s=_DAY_S / 2,
            services=(
                ServiceSpec(
                    PULSE_OXIMETER_SERVICE,
                    "Pulse Oximeter",
                    (
                        CharacteristicSpec(
                            PLX_SPOT_CHECK_MEASUREMENT, "PLX Spot-check Measurement", indicate=True
                        ),
                    ),
                ),
                _BATTERY,
            ),
            advertised_service_uuids=(PULSE_OXIMETER_SERVICE,),
        ),
    }
)


def device_kind(kind: str) -> DeviceKind:
    try:
        return CATALOGUE[kind]
    except KeyError:
        raise KeyError(f"unknown device kind {kind!r}; known: {', '.join(CATALOGUE)}") from None
