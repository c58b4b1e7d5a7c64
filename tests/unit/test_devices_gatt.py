"""GATT decoders against frames derived by hand from the Bluetooth SIG specifications."""

import pytest

from anxin.devices import FrameError, decode
from anxin.devices.gatt import (
    BatteryLevel,
    HeartRateMeasurement,
    PlxContinuousMeasurement,
    PlxDeviceSensorStatus,
    PlxMeasurementStatus,
    SensorContact,
    decode_battery_level,
    decode_heart_rate_measurement,
    decode_plx_continuous_measurement,
    encode_battery_level,
    encode_heart_rate_measurement,
    encode_plx_continuous_measurement,
)
from anxin.devices.ieee11073 import SpecialValue

# ---------------------------------------------------------------- Heart Rate Measurement 0x2A37
# flags bit0 value format (1 = uint16), bit1 contact detected, bit2 contact feature
# supported, bit3 energy expended (uint16 kJ) present, bit4 RR intervals (uint16, 1/1024 s).


def test_hr_uint8_contact_detected():
    # flags 0x06 = contact supported (bit2) + detected (bit1); HR 0x48 = 72
    m = decode_heart_rate_measurement(bytes.fromhex("0648"))
    assert m == HeartRateMeasurement(72, SensorContact.DETECTED)
    assert m.as_dict() == {
        "heart_rate": 72,
        "sensor_contact": "detected",
        "energy_expended": None,
        "rr_intervals": [],
    }


def test_hr_contact_supported_not_detected_and_bit1_alone():
    assert decode_heart_rate_measurement(bytes.fromhex("043C")).sensor_contact == (
        SensorContact.NOT_DETECTED
    )
    # bit1 without bit2: feature not supported
    assert decode_heart_rate_measurement(bytes.fromhex("023C")).sensor_contact == (
        SensorContact.NOT_SUPPORTED
    )


def test_hr_single_rr_interval():
    # flags 0x10 (RR present); HR 72; RR 0x0300 = 768/1024 s = 0.75 s, little-endian "00 03"
    m = decode("2A37", bytes.fromhex("10480003"))
    assert m.heart_rate == 72
    assert m.rr_intervals_s == (0.75,)


def test_hr_uint16_energy_and_two_rr():
    # flags 0x19 = uint16 (bit0) + energy (bit3) + RR (bit4)
    # HR 0x0087 = 135 -> "87 00"; energy 0x0102 = 258 kJ -> "02 01"
    # RR 0x01BC = 444 -> 444/1024 = 0.43359375 s; RR 0x01C0 = 448 -> 0.4375 s
    m = decode(0x2A37, bytes.fromhex("19 8700 0201 BC01 C001"))
    assert m.heart_rate == 135
    assert m.energy_expended_kj == 258
    assert m.rr_intervals_s == (0.43359375, 0.4375)
    assert m.as_dict()["rr_intervals"] == [0.43359375, 0.4375]
    assert m.uint16_format


def test_hr_ignores_reserved_flag_bits():
    assert decode_heart_rate_measurement(bytes.fromhex("E048")).heart_rate == 72


@pytest.mark.parametrize(
    ("hexframe", "offset", "words"),
    [
        ("", 0, "truncated flags"),
        ("01 48", 1, "truncated heart rate"),  # uint16 value with one byte
        ("08 48 01", 2, "truncated energy"),
        ("10 48", 2, "no RR interval"),
        ("10 48 00", 2, "truncated RR interval"),  # odd byte count
        ("00 48 00", 2, "trailing"),  # oversized
    ],
)
def test_hr_bad_frames(hexframe, offset, words):
    with pytest.raises(FrameError) as info:
        decode_heart_rate_measurement(bytes.fromhex(hexframe))
    err = info.value
    assert err.offset == offset
    assert words in err.reason
    assert err.uuid == "0x2A37"
    assert "Heart Rate Measurement" in str(err)
    assert "0x2A37" in str(err)
    assert f"byte {offset}" in str(err)


def test_hr_encoder_round_trip():
    m = HeartRateMeasurement(300, SensorContact.NOT_DETECTED, 12, (800, 812))
    frame = encode_heart_rate_measurement(m)
    # uint16 forced by 300 > 255: flags 0x01|0x04|0x08|0x10 = 0x1D
    assert frame == bytes.fromhex("1D 2C01 0C00 2003 2C03")
    assert decode_heart_rate_measurement(frame) == HeartRateMeasurement(
        300, SensorContact.NOT_DETECTED, 12, (800, 812), uint16_format=True
    )


# ------------------------------------------------------------ PLX Continuous Measurement 0x2A5F
# flags bit0 SpO2PR-Fast, bit1 SpO2PR-Slow, bit2 measurement status (16 bits), bit3 device
# and sensor status (24 bits), bit4 pulse amplitude index; SpO2/PR/PAI are SFLOAT.


def test_plx_minimal():
    # SpO2 97.5 = 975e-1 -> 0xF3CF -> "CF F3"; PR 72 = 0x0048 -> "48 00"
    m = decode_plx_continuous_measurement(bytes.fromhex("00 CFF3 4800"))
    assert m.spo2 == 97.5
    assert m.pulse_rate == 72.0
    d = m.as_dict()
    assert d["spo2"] == 97.5 and d["pulse_rate"] == 72.0
    assert d["spo2_fast"] is None and d["measurement_status"] is None


def test_plx_every_field_and_special_values():
    frame = bytes.fromhex(
        "1F"  # all five optional fields
        "6200 4000"  # normal: SpO2 98, PR 64
        "FF07 0008"  # fast: SpO2 NaN (0x07FF), PR NRes (0x0800)
        "FE07 0208"  # slow: SpO2 +INF (0x07FE), PR -INF (0x0802)
        "A000"  # status 0x00A0: measurement ongoing (bit5) + validated data (bit7)
        "200800"  # device/sensor 0x000820: low perfusion (bit5) + unconnected (bit11)
        "19F0"  # PAI 2.5 % = 25e-1 -> 0xF019
    )
    m = decode("2a5f", frame)
    assert (m.spo2, m.pulse_rate) == (98.0, 64.0)
    assert (m.spo2_fast, m.pulse_rate_fast, m.spo2_slow, m.pulse_rate_slow) == (None,) * 4
    assert dict(m.specials) == {
        "spo2_fast": SpecialValue.NAN,
        "pulse_rate_fast": SpecialValue.NRES,
        "spo2_slow": SpecialValue.POSITIVE_INFINITY,
        "pulse_rate_slow": SpecialValue.NEGATIVE_INFINITY,
    }
    assert m.measurement_status == (
        PlxMeasurementStatus.MEASUREMENT_ONGOING | PlxMeasurementStatus.VALIDATED_DATA
    )
    assert m.device_sensor_status == (
        PlxDeviceSensorStatus.LOW_PERFUSION | PlxDeviceSensorStatus.SENSOR_UNCONNECTED_TO_USER
    )
    assert m.pulse_amplitude_index == 2.5
    d = m.as_dict()
    assert d["measurement_status"] == ["measurement_ongoing", "validated_data"]
    assert d["device_sensor_status"] == ["low_perfusion", "sensor_unconnected_to_user"]
    assert d["pulse_rate_slow"] is None


def test_plx_skips_optional_fields_correctly():
    # only slow (bit1) and PAI (bit4): flags 0x12; normal 96/70, slow 95/71, PAI 1.0 (0x0001)
    m = decode_plx_continuous_measurement(bytes.fromhex("12 6000 4600 5F00 4700 0100"))
    assert (m.spo2, m.pulse_rate, m.spo2_slow, m.pulse_rate_slow) == (96.0, 70.0, 95.0, 71.0)
    assert m.spo2_fast is None and m.pulse_amplitude_index == 1.0


@pytest.mark.parametrize(
    ("hexframe", "offset"),
    [
        ("00 6200", 3),  # PR missing
        ("01 6200 4000 6200", 7),  # fast PR missing
        ("04 6200 4000 A0", 5),  # status cut
        ("08 6200 4000 2008", 5),  # device status needs 3 bytes
        ("00 6200 4000 00", 5),  # trailing byte
    ],
)
def test_plx_bad_frames(hexframe, offset):
    with pytest.raises(FrameError) as info:
        decode_plx_continuous_measurement(bytes.fromhex(hexframe))
    assert info.value.offset == offset
    assert "0x2A5F" in str(info.value)


def test_plx_encoder_round_trip():
    m = PlxContinuousMeasurement(
        spo2=96.0,
        pulse_rate=88.0,
        spo2_fast=95.5,
        pulse_rate_fast=90.0,
        measurement_status=PlxMeasurementStatus.VALIDATED_DATA,
        device_sensor_status=PlxDeviceSensorStatus.POOR_SIGNAL,
        pulse_amplitude_index=3.2,
    )
    assert decode_plx_continuous_measurement(encode_plx_continuous_measurement(m)) == m


# ------------------------------------------------------------------------- Battery Level 0x2A19


def test_battery():
    assert decode_battery_level(bytes.fromhex("5A")) == BatteryLevel(90)  # 0x5A = 90 %
    assert decode(0x2A19, b"\x00").as_dict() == {"battery": 0}
    assert encode_battery_level(100) == b"\x64"


@pytest.mark.parametrize("hexframe", ["", "65", "5A00"])  # empty, 101 % (reserved), oversized
def test_battery_bad(hexframe):
    with pytest.raises(FrameError, match="Battery Level"):
        decode_battery_level(bytes.fromhex(hexframe))


def test_unsupported_characteristic():
    with pytest.raises(FrameError, match=r"0x2A99.*no decoder"):
        decode(0x2A99, b"\x00")
    with pytest.raises(FrameError):
        decode("not-a-uuid", b"\x00")


def test_characteristic_spellings():
    frame = bytes.fromhex("0648")
    for spelling in (
        "2A37",
        "0x2a37",
        "00002a37-0000-1000-8000-00805f9b34fb",
        "heart_rate_measurement",
        0x2A37,
    ):
        assert decode(spelling, frame).heart_rate == 72


def test_frame_error_is_value_error_and_picklable():
    import pickle

    err = FrameError("X", "0x0001", 3, "bad")
    assert isinstance(err, ValueError)
    again = pickle.loads(pickle.dumps(err))
    assert (again.characteristic, again.uuid, again.offset, again.reason) == (
        "X",
        "0x0001",
        3,
        "bad",
    )
