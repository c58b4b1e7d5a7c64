"""The gateway's handling of real device frames: observations, alerts, bad frames.

The radio is the one part not exercised here (it is never started; the virtual-radio
integration tests cover it); frames come from the devices' own encoders.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from anxin.config import DeviceBindingConfig, EdgeConfig, GatewayConfig
from anxin.devices import (
    HEART_RATE_MEASUREMENT,
    HeartRateMeasurement,
    SensorContact,
    encode_bthome,
    encode_heart_rate_measurement,
)
from anxin.edge.gateway import Gateway
from anxin.edge.radio import Advertisement, Notification
from anxin.edge.readings import device_time_ms, readings_from


class IdleRadio:
    def device_states(self) -> dict[str, str]:
        return {}


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[Gateway]:
    config = EdgeConfig(
        gateway=GatewayConfig(site_id="home-1", gateway_id="gw-1", queue_path=tmp_path / "q.sqlite")
    )
    gateway = Gateway(config, IdleRadio())  # type: ignore[arg-type]
    yield gateway
    gateway.queue.close()


# Receive times on a set clock: a gateway drops readings stamped before 2000 (clock unset).
T0 = 1_700_000_000_000


def heart_rate(
    bpm: int, at_ms: int, contact: SensorContact = SensorContact.DETECTED
) -> Notification:
    frame = encode_heart_rate_measurement(
        HeartRateMeasurement(heart_rate=bpm, sensor_contact=contact, rr_intervals_1024=(820, 840))
    )
    return Notification("hr-1", "C0:00:00:00:00:01", HEART_RATE_MEASUREMENT, frame, T0 + at_ms)


def queued(gateway: Gateway) -> list[tuple[str, dict[str, object]]]:
    return [(m.channel, json.loads(m.body)) for m in gateway.queue.peek(1000)]


def test_a_heart_rate_frame_becomes_observations_in_ucum(gateway: Gateway) -> None:
    gateway.on_notification(heart_rate(72, 1_000))
    rows = [body for channel, body in queued(gateway)]
    assert [(r["type"], r["value"], r["unit"]) for r in rows] == [
        ("heart_rate", 72.0, "/min"),
        ("rr_interval", 820 / 1024, "s"),
        ("rr_interval", 840 / 1024, "s"),
    ]
    assert [r["seq"] for r in rows] == [0, 1, 2]
    assert all(r["ts_ms"] == T0 + 1_000 for r in rows)


def test_lost_skin_contact_records_no_heart_rate(gateway: Gateway) -> None:
    gateway.on_notification(heart_rate(0, 1_000, SensorContact.NOT_DETECTED))
    assert queued(gateway) == []


def test_a_malformed_frame_is_counted_and_the_next_one_still_flows(gateway: Gateway) -> None:
    bad = Notification("hr-1", "C0:00:00:00:00:01", HEART_RATE_MEASUREMENT, b"\x01\x48", 1_000)
    gateway.on_notification(bad)
    assert gateway.counters["rejected_frames"] == 1
    gateway.on_notification(heart_rate(70, 2_000))
    assert queued(gateway)[0][1]["value"] == 70.0


def test_sustained_high_heart_rate_raises_one_alert_ahead_of_the_data(gateway: Gateway) -> None:
    raised = []
    gateway.alert_listeners.append(raised.append)
    for second in range(15):
        gateway.on_notification(heart_rate(130, second * 1000))
    assert [a.kind for a in raised] == ["heart_rate_high"]
    channel, alert = queued(gateway)[0]
    assert channel == "alerts"
    assert alert["value"] == 130.0 and alert["threshold"] == 120.0 and alert["severity"] == "high"


def sos_frame(packet_id: int, event: str) -> Advertisement:
    data = encode_bthome([("packet_id", packet_id), ("button", event)], trigger_based=True)
    return Advertisement("sos-1", "C0:00:00:00:00:09", {0xFCD2: data}, -50, 5_000)


def test_an_sos_press_is_a_critical_alert_once_per_press(gateway: Gateway) -> None:
    raised = []
    gateway.alert_listeners.append(raised.append)
    gateway.on_advertisement(sos_frame(7, "long_press"))
    gateway.on_advertisement(sos_frame(7, "long_press"))  # the sensor repeats each advertisement
    gateway.on_advertisement(sos_frame(8, "press"))
    assert [(a.kind, a.severity) for a in raised] == [("sos", "critical"), ("sos", "critical")]
    assert raised[0].value is None and "long press" in raised[0].message
    assert gateway.counters["repeated_advertisements"] == 1


def test_device_timestamps_and_new_profiles_map_to_observations() -> None:
    values = {
        "systolic": 142.0,
        "diastolic": 91.0,
        "mean_arterial_pressure": None,
        "pulse_rate": 77.0,
        "timestamp": "2000-01-01T00:00:05",
    }
    assert readings_from(values) == [
        ("pulse_rate", 77.0),
        ("systolic_bp", 142.0),
        ("diastolic_bp", 91.0),
    ]
    assert device_time_ms(values) == 946_684_805_000
    assert device_time_ms({"timestamp": None}) is None
    assert readings_from({"opening": True, "temperature": 21.5}) == [
        ("door_open", 1.0),
        ("ambient_temperature", 21.5),
    ]
    still = readings_from({"samples": [[0.0, 0.0, 1.0]] * 10})
    assert still == [("activity", 0.0)]


KEY = bytes.fromhex("231d39c1d7cc1ab1aee224cd096db932")
SOS_ADDRESS = "C0:00:00:00:00:0A"


def test_an_encrypted_sos_button_is_trusted_only_when_its_frames_authenticate(
    tmp_path: Path,
) -> None:
    config = EdgeConfig(
        gateway=GatewayConfig(site_id="h", gateway_id="g", queue_path=tmp_path / "q.sqlite"),
        devices=(
            DeviceBindingConfig(
                device_id="sos-2", address=SOS_ADDRESS, kind="bthome_button", bind_key=KEY.hex()
            ),
        ),
    )
    gateway = Gateway(config, IdleRadio())  # type: ignore[arg-type]
    raised = []
    gateway.alert_listeners.append(raised.append)

    def advert(data: bytes) -> Advertisement:
        return Advertisement("sos-2", SOS_ADDRESS, {0xFCD2: data}, -50, 1_000)

    def sealed(packet_id: int, counter: int) -> bytes:
        objects = [("packet_id", packet_id), ("button", "long_press")]
        return encode_bthome(
            objects, trigger_based=True, key=KEY, address=SOS_ADDRESS, counter=counter
        )

    gateway.on_advertisement(advert(encode_bthome([("packet_id", 1), ("button", "press")])))
    assert raised == [] and gateway.counters["rejected_frames"] == 1  # plain text: spoofed
    gateway.on_advertisement(advert(sealed(2, counter=10)))
    assert [a.kind for a in raised] == ["sos"]
    gateway.on_advertisement(advert(sealed(1, counter=9)))  # an old frame played back
    assert len(raised) == 1 and gateway.counters["rejected_frames"] == 2
    gateway.queue.close()


def test_a_resent_notification_is_one_reading_but_the_same_values_a_second_later_are_two(
    gateway: Gateway,
) -> None:
    gateway.on_notification(heart_rate(72, 1_000))
    gateway.on_notification(heart_rate(72, 1_005))  # the device sent the same frame twice
    assert len(queued(gateway)) == 3  # heart rate and two RR intervals, once
    assert gateway.counters["repeated_notifications"] == 1
    gateway.on_notification(heart_rate(72, 2_000))  # a steady heart: same bytes, new beat
    assert len(queued(gateway)) == 6


def test_readings_the_cloud_would_refuse_are_dropped_and_counted(gateway: Gateway) -> None:
    gateway.record("hr-1", [("heart_rate", 400.0), ("spo2", 97.0)], T0)
    gateway.record("hr-1", [("heart_rate", 70.0)], 1_000)  # the clock was never set
    assert [(r["type"], r["value"]) for _, r in queued(gateway)] == [("spo2", 97.0)]
    assert gateway.counters["implausible_readings"] == 2
    gateway.record("hr-1", [("heart_rate", 71.0)], T0, device_ts_ms=2**70)  # a clock far off
    assert "device_ts_ms" not in queued(gateway)[-1][1]


def test_an_sos_on_a_gateway_whose_clock_was_never_set_still_sounds_locally(
    gateway: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A board without a real-time clock, booted with the internet down, reads 1970.
    monkeypatch.setattr(gateway, "now_ms", lambda: 5_000)
    raised = []
    gateway.alert_listeners.append(raised.append)
    gateway.on_advertisement(sos_frame(7, "press"))
    assert [(a.kind, a.raised_at_ms) for a in raised] == [("sos", 5_000)]
    assert [channel for channel, _ in queued(gateway)] == ["alerts"]
