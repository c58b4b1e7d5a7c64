"""Every simulated device kind, over the virtual radio, through the real gateway to the broker."""

from __future__ import annotations

import json
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from anxin.config import DeviceBindingConfig, EdgeConfig, GatewayConfig, MqttConfig
from anxin.edge.gateway import Gateway
from anxin.edge.radio import BumbleRadio
from anxin.firmware_sim import ScaledClock, SimulatedPerson, VirtualHome
from anxin.protocol import UNITS
from tests.support.waiting import eventually

pytestmark = [pytest.mark.services, pytest.mark.slow]
SOS_KEY = bytes.fromhex("5c0ff9e8a7b6c5d4e3f2a1b0c9d8e7f6")


async def test_the_gateway_receives_every_device_kind(
    mosquitto: tuple[str, int], topic_root: str, tmp_path: Path
) -> None:
    host, port = mosquitto
    person = SimulatedPerson(seed=3)
    home = VirtualHome(clock=ScaledClock(speed=5), home_number=7)
    home.add_heart_rate_strap(person, device_id="hr")
    home.add_pulse_oximeter(person, device_id="ox")
    home.add_motion_sensor(device_id="motion")
    cuff = home.add_blood_pressure_cuff(person, device_id="bp")
    thermometer = home.add_thermometer(device_id="temp")
    scale = home.add_weight_scale(device_id="scale")
    glucose = home.add_glucose_meter(device_id="glucose")
    home.add_accelerometer_wearable(device_id="accel")
    door = home.add_door_sensor(device_id="door")
    bed = home.add_bed_sensor(device_id="bed", auto=False)
    presence = home.add_presence_sensor(device_id="presence")
    sos = home.add_sos_button(device_id="sos", bind_key=SOS_KEY)
    home.add_room_sensor(device_id="room")

    received: list[tuple[str, dict[str, object]]] = []
    listener = mqtt.Client(CallbackAPIVersion.VERSION2)
    listener.on_message = lambda _c, _u, m: received.append((m.topic, json.loads(m.payload)))
    listener.connect(host, port)
    listener.subscribe(f"{topic_root}/#", qos=1)
    listener.loop_start()

    config = EdgeConfig(
        gateway=GatewayConfig(
            site_id="home-7",
            gateway_id="gw-7",
            topic_root=topic_root,
            queue_path=tmp_path / "q.sqlite",
        ),
        mqtt=MqttConfig(host=host, port=port),
        devices=tuple(
            DeviceBindingConfig(
                device_id=d.device_id,
                address=d.address,
                kind=d.kind,
                bind_key=SOS_KEY.hex() if d is sos else None,
            )
            for d in home.devices
        ),
    )
    await home.start()
    gateway = Gateway(config, BumbleRadio(home.link))
    await gateway.start()

    def types_seen() -> set[str]:
        return {
            o["type"]  # type: ignore[index]
            for topic, body in received
            if topic.endswith("/observations")
            for o in body["observations"]  # type: ignore[union-attr]
        }

    try:
        connectable = [d.device_id for d in home.devices if d.kind not in _ADVERTISERS]
        await eventually(
            lambda: all(gateway.radio.device_states().get(i) == "connected" for i in connectable),
            timeout=60,
            what="every connectable device connected",
        )
        for device in (cuff, thermometer, scale, glucose):
            await device.measure_now()
        await door.set_open(True)
        await bed.set_occupied(True)
        await presence.set_present(True)
        await sos.press("long_press")
        expected = set(UNITS)
        await eventually(
            lambda: types_seen() >= expected, timeout=60, what=f"all of {sorted(expected)}"
        )
        alerts = [body for topic, body in received if topic.endswith("/alerts")]
        await eventually(
            lambda: any(b["kind"] == "sos" for t, b in received if t.endswith("/alerts")),
            what="the SOS alert",
        )
        assert gateway.counters["rejected_frames"] == 0, alerts
    finally:
        await gateway.stop()
        await home.stop()
        listener.loop_stop()
        listener.disconnect()


_ADVERTISERS = {
    "bthome_motion",
    "bthome_door",
    "bthome_bed",
    "bthome_presence",
    "bthome_button",
    "bthome_room",
}
