"""BleakRadio cannot reach hardware here; it must import cleanly and fail clearly."""

import asyncio

import pytest

from anxin.edge.radio import BoundDevice


async def test_bleak_radio_without_bluez_raises_a_clear_error():
    from anxin.edge.radio_bleak import BleakRadio, uuid16_from_string

    assert uuid16_from_string("0000fcd2-0000-1000-8000-00805f9b34fb") == 0xFCD2
    assert uuid16_from_string("12345678-0000-1000-8000-00805f9b34fb") is None
    radio = BleakRadio()
    bound = [BoundDevice("strap", "C0:A1:01:00:00:01", "heart_rate_strap")]
    try:
        await asyncio.wait_for(radio.start(bound, lambda n: None, lambda a: None), 30)
    except RuntimeError as error:
        assert "BlueZ" in str(error) and "adapter" in str(error)
    else:  # a machine with a working adapter
        pytest.skip("a Bluetooth adapter is available here")
    finally:
        await radio.stop()
    assert radio.device_states() == {"strap": "connecting"}
