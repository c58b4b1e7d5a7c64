"""PLX Spot-check Measurement (0x2A5E) against frames worked out by hand from the
Bluetooth SIG Pulse Oximeter Service specification.

Flags: bit0 time stamp, bit1 measurement status, bit2 device and sensor status, bit3
pulse amplitude index, bit4 device clock not set. SpO2 97 % = SFLOAT 0x0061 -> "61 00";
pulse rate 72 = 0x0048 -> "48 00".
"""

import pytest

from anxin.devices import FrameError, decode
from anxin.devices.date_time import DateTime
from anxin.devices.gatt import PlxDeviceSensorStatus, PlxMeasurementStatus
from anxin.devices.ieee11073 import SpecialValue
from anxin.devices.plx_spot import (
    PlxSpotCheckMeasurement,
    decode_plx_spot_check_measurement,
    encode_plx_spot_check_measurement,
)


def test_no_options():
    m = decode(0x2A5E, bytes.fromhex("00 6100 4800"))
    assert m == PlxSpotCheckMeasurement(97.0, 72.0)
    assert m.as_dict() == {
        "spo2": 97.0,
        "pulse_rate": 72.0,
        "timestamp": None,
        "measurement_status": None,
        "device_sensor_status": None,
        "pulse_amplitude_index": None,
        "device_clock_not_set": False,
    }


def test_all_fields():
    # flags 0F = time stamp + measurement status + device/sensor status + PAI
    # time stamp 2024-05-01 10:00:00 = "E8 07 05 01 0A 00 00"
    # measurement status validated data (bit7) = 0x0080 -> "80 00"
    # device and sensor status low perfusion (bit5) = 0x000020 -> "20 00 00"
    # PAI 2.5 % = mantissa 25 = 0x019, exponent -1 -> 0xF019 -> "19 F0"
    frame = bytes.fromhex("0F 6100 4800 E807 05 01 0A 00 00 8000 200000 19F0")
    m = decode_plx_spot_check_measurement(frame)
    assert m.timestamp == DateTime(2024, 5, 1, 10, 0, 0)
    assert m.measurement_status == PlxMeasurementStatus.VALIDATED_DATA
    assert m.device_sensor_status == PlxDeviceSensorStatus.LOW_PERFUSION
    d = m.as_dict()
    assert d["timestamp"] == "2024-05-01T10:00:00"
    assert d["measurement_status"] == ["validated_data"]
    assert d["device_sensor_status"] == ["low_perfusion"]
    assert d["pulse_amplitude_index"] == 2.5
    assert encode_plx_spot_check_measurement(m) == frame


def test_clock_not_set_hides_the_timestamp():
    # flags 11 = time stamp + device clock not set; time stamp 2000-01-01 00:00:00
    m = decode(0x2A5E, bytes.fromhex("11 6100 4800 D007 01 01 00 00 00"))
    assert m.device_clock_not_set and m.timestamp == DateTime(2000, 1, 1)
    assert m.as_dict()["timestamp"] is None and m.as_dict()["device_clock_not_set"]


def test_rfu_status_bits_ignored():
    # measurement status bits 0-4 RFU: 0x001F -> none; device status bits 16-23 RFU
    m = decode(0x2A5E, bytes.fromhex("06 6100 4800 1F00 0000FF"))
    assert m.as_dict()["measurement_status"] == []
    assert m.as_dict()["device_sensor_status"] == []


def test_specials():
    # SpO2 NaN 0x07FF -> "FF 07"; pulse NRes 0x0800 -> "00 08"; PAI +INF 0x07FE -> "FE 07"
    m = decode(0x2A5E, bytes.fromhex("08 FF07 0008 FE07"))
    assert (m.spo2, m.pulse_rate, m.pulse_amplitude_index) == (None, None, None)
    assert m.specials == (
        ("spo2", SpecialValue.NAN),
        ("pulse_rate", SpecialValue.NRES),
        ("pulse_amplitude_index", SpecialValue.POSITIVE_INFINITY),
    )
    assert encode_plx_spot_check_measurement(m) == bytes.fromhex("08 FF07 0008 FE07")


@pytest.mark.parametrize(
    ("hexframe", "offset", "words"),
    [
        ("", 0, "flags"),
        ("00 6100 48", 3, "pulse_rate"),
        ("01 6100 4800 E807", 5, "time stamp"),
        ("02 6100 4800 80", 5, "measurement status"),
        ("04 6100 4800 2000", 5, "device and sensor status"),
        ("08 6100 4800", 5, "pulse_amplitude_index"),
        ("00 6100 4800 00", 5, "trailing"),
        ("01 6100 4800 E807 05 20 00 00 00", 8, "day"),  # day 32: byte 5 + 3
    ],
)
def test_bad_frames(hexframe, offset, words):
    with pytest.raises(FrameError) as info:
        decode(0x2A5E, bytes.fromhex(hexframe))
    assert info.value.offset == offset and words in info.value.reason
    assert "PLX Spot-check Measurement (0x2A5E)" in str(info.value)
