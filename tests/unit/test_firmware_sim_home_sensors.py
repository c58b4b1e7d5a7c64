"""Simulated BTHome sensors and the wearable without a radio: what they would send."""

import pytest
from bumble.link import LocalLink

from anxin.devices import decode_bthome
from anxin.firmware_sim import (
    AccelerometerWearable,
    BedSensor,
    DoorSensor,
    RoomSensor,
    SOSButton,
    WaistMotionModel,
)

KEY = bytes(range(16))
ADDRESS = "C0:A1:01:00:00:09"


def test_door_packets_carry_opening_battery_and_new_packet_ids():
    door = DoorSensor(LocalLink(), ADDRESS, device_id="door")
    first = decode_bthome(door.next_service_data())
    door.is_open = True
    second = decode_bthome(door.next_service_data())
    assert first.get("opening") is False and second.get("opening") is True
    assert (first.packet_id, second.packet_id) == (1, 2) and second.battery == 90
    door_object = DoorSensor(LocalLink(), ADDRESS, device_id="d", object_name="door")
    assert decode_bthome(door_object.next_service_data()).get("door") is False


def test_encrypted_button_counts_up_and_is_trigger_based():
    sos = SOSButton(LocalLink(), ADDRESS, device_id="sos", bind_key=KEY)
    frames = [sos.next_service_data([("button", "long_press")]) for _ in range(2)]
    decoded = [decode_bthome(f, key=KEY, address=ADDRESS) for f in frames]
    assert [d.counter for d in decoded] == [1, 2]
    assert all(d.trigger_based and d.get("button") == "long_press" for d in decoded)
    with pytest.raises(ValueError, match="bind key"):
        SOSButton(LocalLink(), ADDRESS, device_id="x", bind_key=b"short")


def test_battery_drains_in_simulated_time():
    room = RoomSensor(LocalLink(), ADDRESS, device_id="room", battery_pct=80)
    room.battery_drain_pct_per_day = 10.0
    room._drain_battery(1000.0)
    room._drain_battery(1000.0 + 3 * 86_400)
    assert room.battery_pct == 50
    assert decode_bthome(room.next_service_data()).battery == 50


def test_room_climate_follows_the_day_and_bed_the_night():
    room = RoomSensor(LocalLink(), ADDRESS, device_id="room", day_start_s=0.0)
    room.update(15 * 3600)
    afternoon = room.temperature_c
    room.update(3 * 3600)
    assert afternoon - room.temperature_c > 2.5
    bed = BedSensor(LocalLink(), ADDRESS, device_id="bed", day_start_s=23 * 3600)
    assert bed.occupied
    bed.update(9 * 3600)  # 08:00
    assert not bed.occupied


def test_wearable_frames_follow_simulated_time():
    wearable = AccelerometerWearable(
        LocalLink(), ADDRESS, WaistMotionModel(1), device_id="acc", battery_pct=50
    )
    frames = [f for i in range(1, 11) for f in wearable.take_frames(i * 0.2)]
    assert len(frames) == 10 and all(len(f.samples) == 10 for f in frames)
    assert [f.sequence for f in frames] == list(range(10))
    assert len(wearable.take_frames(2.1)) == 0  # 5 samples due, not a whole frame yet
    assert len(wearable.take_frames(2.2)) == 1
