"""PLX Spot-check Measurement (0x2A5E).

Flags uint8: bit0 time stamp, bit1 measurement status, bit2 device and sensor
status, bit3 pulse amplitude index, bit4 device clock is not set. Fields: SpO2
SFLOAT (%), pulse rate SFLOAT (/min), then in flag order time stamp (Date Time),
measurement status uint16, device and sensor status uint24, PAI SFLOAT (%).
The status bit meanings are those of PLX Continuous (see ``gatt``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from ._fields import Specials, sfloat_bytes, special_of
from .date_time import DateTime, encode_date_time, read_date_time
from .gatt import PlxDeviceSensorStatus, PlxMeasurementStatus, _flag_names, _Reader
from .ieee11073 import SpecialValue

PLX_SPOT_CHECK_MEASUREMENT = 0x2A5E

_TIMESTAMP = 0x01
_MEAS_STATUS = 0x02
_DEV_STATUS = 0x04
_PAI = 0x08
_CLOCK_NOT_SET = 0x10


@dataclass(frozen=True)
class PlxSpotCheckMeasurement:
    """``timestamp`` is as sent; ``as_dict`` reports no timestamp when the device says its
    clock is not set, since the value is then meaningless."""

    UUID: ClassVar[int] = PLX_SPOT_CHECK_MEASUREMENT
    UNITS: ClassVar[dict[str, str]] = {
        "spo2": "%",
        "pulse_rate": "/min",
        "pulse_amplitude_index": "%",
    }

    spo2: float | None
    pulse_rate: float | None
    timestamp: DateTime | None = None
    measurement_status: PlxMeasurementStatus | None = None
    device_sensor_status: PlxDeviceSensorStatus | None = None
    pulse_amplitude_index: float | None = None
    device_clock_not_set: bool = False
    specials: tuple[tuple[str, SpecialValue], ...] = ()

    def as_dict(self) -> dict[str, Any]:
        timestamp = None
        if self.timestamp is not None and not self.device_clock_not_set:
            timestamp = self.timestamp.iso()
        return {
            "spo2": self.spo2,
            "pulse_rate": self.pulse_rate,
            "timestamp": timestamp,
            "measurement_status": _flag_names(self.measurement_status),
            "device_sensor_status": _flag_names(self.device_sensor_status),
            "pulse_amplitude_index": self.pulse_amplitude_index,
            "device_clock_not_set": self.device_clock_not_set,
        }


def decode_plx_spot_check_measurement(payload: bytes) -> PlxSpotCheckMeasurement:
    r = _Reader(payload, "PLX Spot-check Measurement", PLX_SPOT_CHECK_MEASUREMENT)
    flags = r.take(1, "flags")
    specials = Specials()
    spo2 = specials.sfloat(r, "spo2")
    pulse_rate = specials.sfloat(r, "pulse_rate")
    timestamp = read_date_time(r, "time stamp") if flags & _TIMESTAMP else None
    meas_status = None
    if flags & _MEAS_STATUS:
        # bits 0-4 are RFU
        meas_status = PlxMeasurementStatus(r.take(2, "measurement status") & 0xFFE0)
    dev_status = None
    if flags & _DEV_STATUS:
        # bits 16-23 are RFU
        dev_status = PlxDeviceSensorStatus(r.take(3, "device and sensor status") & 0xFFFF)
    pai = specials.sfloat(r, "pulse_amplitude_index") if flags & _PAI else None
    r.done()
    return PlxSpotCheckMeasurement(
        spo2=spo2,
        pulse_rate=pulse_rate,
        timestamp=timestamp,
        measurement_status=meas_status,
        device_sensor_status=dev_status,
        pulse_amplitude_index=pai,
        device_clock_not_set=bool(flags & _CLOCK_NOT_SET),
        specials=specials.as_tuple(),
    )


def encode_plx_spot_check_measurement(m: PlxSpotCheckMeasurement) -> bytes:
    """Encode; None in a present field is sent as its recorded special value, else NaN."""
    pai = m.pulse_amplitude_index is not None or special_of(m.specials, "pulse_amplitude_index")
    flags = (
        (_TIMESTAMP if m.timestamp is not None else 0)
        | (_MEAS_STATUS if m.measurement_status is not None else 0)
        | (_DEV_STATUS if m.device_sensor_status is not None else 0)
        | (_PAI if pai else 0)
        | (_CLOCK_NOT_SET if m.device_clock_not_set else 0)
    )
    out = bytearray([flags])
    for key, value in (("spo2", m.spo2), ("pulse_rate", m.pulse_rate)):
        out += sfloat_bytes(value if value is not None else special_of(m.specials, key))
    if m.timestamp is not None:
        out += encode_date_time(m.timestamp)
    if m.measurement_status is not None:
        out += int(m.measurement_status).to_bytes(2, "little")
    if m.device_sensor_status is not None:
        out += int(m.device_sensor_status).to_bytes(3, "little")
    if pai:
        value = m.pulse_amplitude_index
        out += sfloat_bytes(
            value if value is not None else special_of(m.specials, "pulse_amplitude_index")
        )
    return bytes(out)
