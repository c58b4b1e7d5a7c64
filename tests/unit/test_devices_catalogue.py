import pytest

from anxin.devices.catalogue import CATALOGUE, device_kind


def test_kinds():
    strap = device_kind("heart_rate_strap")
    assert strap.connectable and strap.nominal_interval_s == 1.0
    assert strap.streamed_characteristics == (0x2A37,)
    assert 0x2A19 in strap.readable_characteristics
    assert strap.services[0].uuid == 0x180D
    oxi = CATALOGUE["pulse_oximeter"]
    assert oxi.services[0].uuid == 0x1822 and oxi.streamed_characteristics == (0x2A5F,)
    motion = CATALOGUE["bthome_motion"]
    assert not motion.connectable and motion.service_data_uuid == 0xFCD2
    assert motion.streamed_characteristics == ()


def test_unknown_kind_names_known_ones():
    with pytest.raises(KeyError, match="heart_rate_strap"):
        device_kind("toaster")
