"""BTHomeReceiver: decryption per device, repeats dropped, replays refused."""

import pytest

from anxin.devices import FrameError
from anxin.devices.bthome import encode_bthome
from anxin.devices.bthome_replay import BTHomeReceiver

KEY = bytes.fromhex("231d39c1d7cc1ab1aee224cd096db932")
SOS = "C0:A1:01:00:00:04"
DOOR = "C0:A1:01:00:00:02"
PLAIN = "C0:A1:01:00:00:05"


def sos_frame(packet_id: int, counter: int, event: str = "long_press") -> bytes:
    return encode_bthome(
        [("packet_id", packet_id), ("battery", 90), ("button", event)],
        trigger_based=True,
        key=KEY,
        address=SOS,
        counter=counter,
    )


def receiver() -> BTHomeReceiver:
    return BTHomeReceiver({SOS.lower(): KEY, DOOR: KEY})


def test_hand_made_unencrypted_frame_and_repeats():
    rx = receiver()
    # info 0x40 (v2, plain), packet id 7, battery 80 %, opening = 1
    frame = bytes.fromhex("40000701501101")
    adv = rx.accept(PLAIN, frame)
    assert adv is not None and adv.get("opening") is True and adv.packet_id == 7
    assert rx.accept(PLAIN, frame) is None  # the same packet again
    assert rx.accept(PLAIN.lower(), bytes.fromhex("40000701501100")) is None
    assert rx.accept(PLAIN, bytes.fromhex("40000801501100")).get("opening") is False


def test_encrypted_long_press_is_decrypted_and_repeats_dropped():
    rx = receiver()
    frame = sos_frame(1, counter=10)
    adv = rx.accept(SOS, frame)
    assert adv is not None and adv.encrypted and adv.trigger_based
    assert adv.get("button") == "long_press" and adv.counter == 10
    assert rx.accept(SOS, frame) is None
    assert rx.accept(SOS, frame) is None
    assert rx.accept(SOS, sos_frame(2, counter=11, event="press")).get("button") == "press"


def test_replayed_encrypted_frame_is_refused():
    rx = receiver()
    old = sos_frame(1, counter=10)
    rx.accept(SOS, old)
    rx.accept(SOS, sos_frame(2, counter=11))
    with pytest.raises(FrameError, match=rf"{SOS}.*replayed frame: counter 10 not above .* 11"):
        rx.accept(SOS, old)


def test_counter_that_went_backwards_is_refused():
    rx = receiver()
    rx.accept(SOS, sos_frame(5, counter=1000))
    with pytest.raises(FrameError, match="counter 999 not above last accepted 1000"):
        rx.accept(SOS, sos_frame(6, counter=999))
    with pytest.raises(FrameError, match="counter 1000 not above"):
        rx.accept(SOS, sos_frame(6, counter=1000))  # a reused counter with new content
    assert rx.accept(SOS, sos_frame(6, counter=1001)) is not None


def test_unencrypted_frame_from_a_keyed_device_is_refused():
    with pytest.raises(FrameError, match=f"{DOOR}.*unencrypted frame") as info:
        receiver().accept(DOOR, bytes.fromhex("4000011101"))
    assert info.value.offset == 0


def test_wrong_key_or_tampered_frame_fails_authentication():
    frame = bytearray(sos_frame(1, counter=3))
    frame[2] ^= 0x01
    with pytest.raises(FrameError, match=f"{SOS}.*MIC check failed"):
        receiver().accept(SOS, bytes(frame))
    other = BTHomeReceiver({SOS: bytes(16)})
    with pytest.raises(FrameError, match="MIC check failed"):
        other.accept(SOS, sos_frame(1, counter=3))


def test_encrypted_frame_from_a_device_without_key():
    with pytest.raises(FrameError, match=f"{PLAIN}.*no bind key"):
        receiver().accept(PLAIN, sos_frame(1, counter=1))


def test_state_is_per_device_and_rebinding_resets_it():
    rx = receiver()
    rx.accept(SOS, sos_frame(1, counter=50))
    door = encode_bthome([("packet_id", 1), ("opening", True)], key=KEY, address=DOOR, counter=5)
    assert rx.accept(DOOR, door) is not None  # counters are per device
    rx.set_key(SOS, KEY)  # e.g. the device was re-paired and restarted its counter
    assert rx.accept(SOS, sos_frame(1, counter=1)) is not None
    rx.set_key(SOS, None)
    assert rx.accept(SOS, bytes.fromhex("4000023a01")).get("button") == "press"


def test_malformed_frame_names_the_device():
    with pytest.raises(FrameError, match=f"{PLAIN}.*unknown object id 0xEE"):
        receiver().accept(PLAIN, bytes.fromhex("40ee01"))
