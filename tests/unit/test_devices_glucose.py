"""Glucose Measurement (0x2A18) against frames worked out by hand from the Bluetooth SIG
Glucose Service specification.

Flags: bit0 time offset, bit1 concentration + type/sample location, bit2 units mol/L
(else kg/L), bit3 sensor status annunciation, bit4 context information follows.
Fields: sequence number uint16, base time (7-byte Date Time), time offset sint16 (min),
concentration SFLOAT, type (low nibble) / sample location (high nibble), status uint16.
"""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from anxin.devices import FrameError, decode
from anxin.devices.date_time import DateTime
from anxin.devices.glucose import (
    GlucoseMeasurement,
    GlucoseSampleLocation,
    GlucoseSampleType,
    GlucoseSensorStatus,
    decode_glucose_measurement,
    encode_glucose_measurement,
)
from anxin.devices.ieee11073 import SpecialValue

# base time 2024-05-01 07:30:00: 2024 = 0x07E8 -> "E8 07", 05, 01, 07, 0x1E, 00
BASE = "E807 05 01 07 1E 00"


def test_minimal_frame():
    # flags 00; sequence 1 -> "01 00"; base time only
    m = decode(0x2A18, bytes.fromhex(f"00 0100 {BASE}"))
    assert m == GlucoseMeasurement(1, DateTime(2024, 5, 1, 7, 30, 0))
    assert m.as_dict() == {
        "glucose": None,
        "sequence_number": 1,
        "timestamp": "2024-05-01T07:30:00",
        "sample_type": None,
        "sample_location": None,
        "sensor_status": None,
    }


def test_mol_per_l_all_fields():
    # flags 1F = offset + concentration + mol/L + status + context follows
    # sequence 0x0102 = 258 -> "02 01"; time offset -60 min = 0xFFC4 -> "C4 FF"
    # 5.5 mmol/L = 0.0055 mol/L = mantissa 55 = 0x037, exponent -4 = 0xC -> 0xC037 -> "37 C0"
    # type 1 capillary whole blood | location 1 finger << 4 -> 0x11
    # status battery low (bit0) + time fault (bit11) = 0x0801 -> "01 08"
    frame = bytes.fromhex(f"1F 0201 {BASE} C4FF 37C0 11 0108")
    m = decode_glucose_measurement(frame)
    assert m.context_follows and m.reported_in_mol_per_l
    assert (
        m.sensor_status == GlucoseSensorStatus.DEVICE_BATTERY_LOW | GlucoseSensorStatus.TIME_FAULT
    )
    assert m.as_dict() == {
        "glucose": 5.5,
        "sequence_number": 258,
        "timestamp": "2024-05-01T06:30:00",  # base time + (-60 min)
        "sample_type": "capillary_whole_blood",
        "sample_location": "finger",
        "sensor_status": ["device_battery_low", "time_fault"],
    }
    assert encode_glucose_measurement(m) == frame


def test_kg_per_l_converted_with_molar_mass():
    # flags 02 (kg/L); 100 mg/dL = 0.001 kg/L = mantissa 1, exponent -3 = 0xD -> 0xD001
    # -> "01 D0"; 0.001 kg/L = 1 g/L / 180.16 g/mol = 5.5506 mmol/L -> 5.551
    # type 2 capillary plasma | location 15 not available -> 0xF2
    m = decode(0x2A18, bytes.fromhex(f"02 0300 {BASE} 01D0 F2"))
    assert m.mmol_per_l == 5.551
    d = m.as_dict()
    assert d["sample_type"] == "capillary_plasma" and d["sample_location"] is None
    assert m.sample_location is GlucoseSampleLocation.NOT_AVAILABLE


@pytest.mark.parametrize(
    ("raw", "special"),
    [
        ("FF07", SpecialValue.NAN),
        ("0008", SpecialValue.NRES),
        ("FE07", SpecialValue.POSITIVE_INFINITY),  # e.g. "HI" on a meter display
        ("0208", SpecialValue.NEGATIVE_INFINITY),
    ],
)
def test_specials_give_none(raw, special):
    m = decode(0x2A18, bytes.fromhex(f"06 0100 {BASE} {raw} 11"))
    assert m.mmol_per_l is None and m.special is special
    assert m.as_dict()["glucose"] is None
    assert encode_glucose_measurement(m) == bytes.fromhex(f"06 0100 {BASE} {raw} 11")


@pytest.mark.parametrize(
    ("hexframe", "field", "value"),
    [
        # time offset alone (flags 01): +90 min = 0x005A -> "5A 00"
        (f"01 0100 {BASE} 5A00", "timestamp", "2024-05-01T09:00:00"),
        # status alone (flags 08): result too high (bit5) = 0x0020; RFU bits 12-15 ignored
        (f"08 0100 {BASE} 20F0", "sensor_status", ["result_too_high"]),
        # base time with unknown year: no timestamp
        ("00 0100 0000 05 01 07 1E 00", "timestamp", None),
        # interstitial fluid (9) at an alternate site (2) -> 0x29
        (f"06 0100 {BASE} 37C0 29", "sample_location", "alternate_site_test"),
    ],
)
def test_each_optional_field_alone(hexframe, field, value):
    assert decode(0x2A18, bytes.fromhex(hexframe)).as_dict()[field] == value


@pytest.mark.parametrize(
    ("hexframe", "offset", "words"),
    [
        ("", 0, "flags"),
        ("00 01", 1, "sequence number"),
        ("00 0100 E807 05", 3, "base time"),
        (f"01 0100 {BASE}", 10, "time offset"),
        (f"02 0100 {BASE} 37C0", 12, "type and sample location"),
        (f"02 0100 {BASE} 37C0 10", 12, "type 0 is reserved"),  # type nibble 0
        (f"02 0100 {BASE} 37C0 B1", 12, "location 11 is reserved"),  # location nibble 0xB
        (f"08 0100 {BASE} 20", 10, "sensor status"),
        (f"00 0100 {BASE} 00", 10, "trailing"),
    ],
)
def test_bad_frames(hexframe, offset, words):
    with pytest.raises(FrameError) as info:
        decode(0x2A18, bytes.fromhex(hexframe))
    assert info.value.offset == offset and words in info.value.reason
    assert "Glucose Measurement (0x2A18)" in str(info.value)


@given(
    st.integers(0, 0xFFFF),
    st.none() | st.integers(-0x8000, 0x7FFF),
    st.integers(20, 300).map(lambda v: v / 10),
    st.sampled_from(list(GlucoseSampleType)),
    st.sampled_from(list(GlucoseSampleLocation)),
)
def test_mol_round_trip(seq, offset, mmol, kind, location):
    m = GlucoseMeasurement(
        seq,
        DateTime(2025, 6, 1, 12, 0, 0),
        offset,
        mmol,
        kind,
        location,
        reported_in_mol_per_l=True,
    )
    assert decode_glucose_measurement(encode_glucose_measurement(m)) == m


@given(st.integers(20, 300).map(lambda v: v / 10))
def test_kg_per_l_round_trip_within_sfloat_resolution(mmol):
    m = GlucoseMeasurement(1, DateTime(2025, 6, 1, 12, 0, 0), mmol_per_l=mmol)
    back = decode_glucose_measurement(encode_glucose_measurement(m))
    assert back.mmol_per_l == pytest.approx(mmol, rel=0.01)
