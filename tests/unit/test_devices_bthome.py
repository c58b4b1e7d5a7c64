"""BTHome v2 against frames derived by hand from bthome.io/format, and against the
bthome-ble library as an independent oracle."""

import time

import pytest

from anxin.devices import FrameError, decode_bthome
from anxin.devices.advertising import (
    build_ad,
    connectable_ad,
    local_name,
    parse_ad_structures,
    service_data_16,
    service_data_ad,
)
from anxin.devices.bthome import encode_bthome, encode_motion


def test_motion_sensor_frame():
    # 0x40: device info, version 2 (bits 5-7 = 010), unencrypted, regular device
    # 00 0A: packet id 10; 01 5D: battery 93 %; 21 01: motion detected
    adv = decode_bthome(bytes.fromhex("40 000A 015D 2101"))
    assert adv.version == 2 and not adv.encrypted and not adv.trigger_based
    assert (adv.packet_id, adv.battery, adv.motion) == (10, 93, True)
    d = adv.as_dict()
    assert d["motion"] is True and d["battery"] == 93 and d["temperature"] is None


def test_climate_and_contact_objects():
    # 0x44: v2 + trigger-based (bit2)
    # 02 CA09: temperature 0x09CA = 2506 * 0.01 = 25.06 Cel
    # 03 BF13: humidity 0x13BF = 5055 * 0.01 = 50.55 %
    # 11 00: opening closed; 23 01: occupancy; 3A 01: button press
    adv = decode_bthome(bytes.fromhex("44 02CA09 03BF13 1100 2301 3A01"))
    assert adv.trigger_based
    d = adv.as_dict()
    assert d["temperature"] == 25.06
    assert d["humidity"] == 50.55
    assert d["opening"] is False and d["occupancy"] is True and d["button"] == "press"
    assert adv.units == {"temperature": "Cel", "humidity": "%"}


def test_negative_temperature_and_no_button_event():
    # 02 38FF: 0xFF38 as sint16 = -200 -> -2.00 Cel; 3A 00: no event -> None
    d = decode_bthome(bytes.fromhex("40 0238FF 3A00")).as_dict()
    assert d["temperature"] == -2.0 and d["button"] is None


@pytest.mark.parametrize(
    ("hexframe", "offset", "words"),
    [
        ("", 0, "missing device information"),
        ("20 2101", 0, "version 1"),  # 0x20: bits 5-7 = 001
        ("40 EE01", 1, "unknown object id 0xEE"),
        ("40 02CA", 2, "truncated temperature"),
        ("40 2102", 2, "motion must be 0 or 1"),
        ("40 3A07", 2, "unknown button event"),
        ("41 2101", 1, "shorter than counter"),
        ("41 2101 00000000 00000000", 1, "no bind key"),
    ],
)
def test_bad_frames(hexframe, offset, words):
    with pytest.raises(FrameError) as info:
        decode_bthome(bytes.fromhex(hexframe))
    assert info.value.offset == offset
    assert words in info.value.reason
    assert "0xFCD2" in str(info.value)


def test_encoder_sorts_objects_and_round_trips():
    data = encode_bthome([("motion", True), ("packet_id", 7), ("battery", 55)])
    assert data == bytes.fromhex("40 0007 0137 2101")
    assert encode_motion(7, 55, True) == data


def test_encrypted_round_trip_and_wrong_key():
    key = bytes.fromhex("231d39c1d7cc1ab1aee224cd096db932")
    address = "54:48:E6:8F:80:A5"
    data = encode_bthome([("motion", True), ("battery", 80)], key=key, address=address, counter=3)
    assert data[0] == 0x41
    adv = decode_bthome(data, key=key, address=address)
    assert adv.encrypted and adv.counter == 3 and adv.motion is True and adv.battery == 80
    with pytest.raises(FrameError, match="MIC"):
        decode_bthome(data, key=bytes(16), address=address)


def _bthome_ble_values(service_data: bytes, bindkey: bytes | None = None) -> dict[str, object]:
    from bleak.backends.device import BLEDevice
    from bthome_ble import BTHomeBluetoothDeviceData
    from habluetooth import BluetoothServiceInfoBleak

    address = "54:48:E6:8F:80:A5"
    info = BluetoothServiceInfoBleak(
        name="test",
        address=address,
        rssi=-60,
        manufacturer_data={},
        service_data={"0000fcd2-0000-1000-8000-00805f9b34fb": service_data},
        service_uuids=["0000fcd2-0000-1000-8000-00805f9b34fb"],
        source="local",
        device=BLEDevice(address, "test", None),
        advertisement=None,
        connectable=False,
        time=time.monotonic(),
        tx_power=None,
    )
    parser = BTHomeBluetoothDeviceData(bindkey=bindkey)
    update = parser.update(info)
    values = {k.key: v.native_value for k, v in update.entity_values.items()}
    values.update({k.key: v.native_value for k, v in update.binary_entity_values.items()})
    return values


def test_bthome_ble_library_agrees_with_our_encoder():
    data = encode_bthome(
        [("packet_id", 9), ("battery", 77), ("temperature", 21.5), ("motion", True)]
    )
    values = _bthome_ble_values(data)
    assert values["battery"] == 77
    assert values["temperature"] == 21.5
    assert values["motion"] is True


def test_bthome_ble_library_decrypts_our_frames():
    key = bytes.fromhex("231d39c1d7cc1ab1aee224cd096db932")
    data = encode_bthome([("motion", True)], key=key, address="54:48:E6:8F:80:A5", counter=1)
    assert _bthome_ble_values(data, bindkey=key)["motion"] is True


def test_advertising_data_helpers():
    # 02 01 06: flags; 03 03 0D18: complete 16-bit UUIDs 0x180D; 05 09 "Stra": name
    raw = bytes.fromhex("020106 03030D18 0509") + b"Stra"
    assert connectable_ad("Stra", [0x180D]) == raw
    assert parse_ad_structures(raw) == [(0x01, b"\x06"), (0x03, b"\x0d\x18"), (0x09, b"Stra")]
    assert local_name(raw) == "Stra"
    ad = service_data_ad(0xFCD2, bytes.fromhex("402101"))
    # 06 16 D2FC 402101: service data, UUID 0xFCD2 little-endian, then BTHome payload
    assert bytes.fromhex("0616D2FC402101") in ad
    assert service_data_16(ad) == {0xFCD2: bytes.fromhex("402101")}
    assert build_ad([]) == b""
    assert parse_ad_structures(b"\x02\x01\x06\x00\x00") == [(1, b"\x06")]  # zero padding
    with pytest.raises(FrameError):
        parse_ad_structures(b"\x05\x09ab")
