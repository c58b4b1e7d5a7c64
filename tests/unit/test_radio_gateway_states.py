"""One state per device, as the cloud, the status page and /metrics get it: the radio's
link state with what the gateway's analytics knows (not worn, battery low) on top."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from anxin.config import DeviceBindingConfig, EdgeConfig, GatewayConfig
from anxin.devices import (
    HEART_RATE_MEASUREMENT,
    HeartRateMeasurement,
    SensorContact,
    encode_heart_rate_measurement,
)
from anxin.devices.bthome import encode_motion
from anxin.edge.gateway import Gateway
from anxin.edge.metrics import GatewayCollector
from anxin.edge.radio import Advertisement, Notification

STRAP = "C0:00:00:00:00:01"
MOTION = "C0:00:00:00:00:02"


class LinkRadio:
    """A radio whose link states the test sets."""

    def __init__(self) -> None:
        self.links = {"strap": "connected", "motion": "advertising"}
        self.scan_mode_in_effect = "passive"

    def device_states(self) -> dict[str, str]:
        return dict(self.links)


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[Gateway]:
    config = EdgeConfig(
        gateway=GatewayConfig(
            site_id="home-1", gateway_id="gw-1", queue_path=tmp_path / "q.sqlite", status_port=0
        ),
        devices=(
            DeviceBindingConfig(device_id="strap", address=STRAP, kind="heart_rate_strap"),
            DeviceBindingConfig(device_id="motion", address=MOTION, kind="bthome_motion"),
        ),
    )
    gateway = Gateway(config, LinkRadio())  # type: ignore[arg-type]
    yield gateway
    gateway.queue.close()


def strap_frame(at_ms: int, contact: SensorContact) -> Notification:
    frame = encode_heart_rate_measurement(
        HeartRateMeasurement(heart_rate=70, sensor_contact=contact)
    )
    return Notification("strap", STRAP, HEART_RATE_MEASUREMENT, frame, at_ms)


def motion_frame(packet_id: int, battery: int) -> Advertisement:
    return Advertisement(
        "motion", MOTION, {0xFCD2: encode_motion(packet_id, battery, False)}, -60, packet_id * 1000
    )


def test_a_low_battery_shows_until_it_is_replaced(gateway: Gateway) -> None:
    gateway.on_advertisement(motion_frame(1, 40))
    assert gateway.device_states()["motion"] == "advertising"
    gateway.on_advertisement(motion_frame(2, 12))  # below the battery_low threshold (15)
    assert gateway.device_states() == {"strap": "connected", "motion": "battery_low"}
    gateway.on_advertisement(motion_frame(3, 18))  # within the clear margin: still low
    assert gateway.device_states()["motion"] == "battery_low"
    gateway.on_advertisement(motion_frame(4, 100))  # a new battery
    assert gateway.device_states()["motion"] == "advertising"


def test_a_strap_off_the_chest_is_not_worn_and_out_of_range_wins(gateway: Gateway) -> None:
    for second in range(0, 70, 5):
        gateway.on_notification(strap_frame(second * 1000, SensorContact.NOT_DETECTED))
    assert gateway.device_states()["strap"] == "not_worn"
    gateway.on_advertisement(motion_frame(1, 5))
    assert gateway.device_states() == {"strap": "not_worn", "motion": "battery_low"}
    gateway.radio.links["strap"] = "out_of_range"  # type: ignore[attr-defined]
    assert gateway.device_states()["strap"] == "out_of_range"
    gateway.radio.links["strap"] = "connected"  # type: ignore[attr-defined]
    gateway.on_notification(strap_frame(80_000, SensorContact.DETECTED))
    assert gateway.device_states()["strap"] == "connected"


def test_the_cloud_the_status_page_and_metrics_get_the_same_states(gateway: Gateway) -> None:
    gateway.on_advertisement(motion_frame(1, 5))
    assert gateway.uplink.device_states() == {"strap": "connected", "motion": "battery_low"}
    assert gateway.status is not None
    page = gateway.status.render("en")
    assert 'class="state-battery_low">Battery low<' in page
    assert "Bluetooth: passive scanning" in page
    assert "电量低" in gateway.status.render("zh")
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in GatewayCollector(gateway).collect()
        for s in family.samples
    }
    motion = (("device_id", "motion"), ("kind", "bthome_motion"), ("state", "battery_low"))
    assert samples[("anxin_edge_device_state", motion)] == 1
    assert samples[("anxin_edge_ble_scan_mode", (("mode", "passive"),))] == 1
    assert samples[("anxin_edge_ble_scan_mode", (("mode", "active"),))] == 0
