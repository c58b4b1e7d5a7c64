"""Commands to a gateway that is briefly away, at the broker level (a real Mosquitto):
the gateway's persistent MQTT 5 session keeps them, and a command published with a
Message Expiry Interval is dropped once that has passed instead of arriving stale."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

from anxin.config import MqttConfig
from anxin.mqtt import connect_client, is_v5, publish_expiring
from tests.support.mosquitto import OwnMosquitto
from tests.support.waiting import eventually

pytestmark = [pytest.mark.services]
SHORT_S = 2


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[OwnMosquitto]:
    own = OwnMosquitto(tmp_path / "broker", persistence=False)
    own.start()
    yield own
    own.stop()


class Gateway:
    """A gateway's session: a stable id, subscribing to its commands only the first time."""

    def __init__(self, config: MqttConfig, commands: str, subscribe: bool) -> None:
        self.received: list[tuple[bytes, int | None]] = []  # payload, expiry left
        self.ready = threading.Event()
        self.client = connect_client(
            config,
            "anxin-gw-home-1-gw-expiry",
            persistent_session=True,
            on_connect=lambda c: c.subscribe(commands, qos=1) if subscribe else self.ready.set(),
        )
        self.client.on_subscribe = lambda *_: self.ready.set()
        self.client.on_message = self._on_message
        self.client.loop_start()

    def _on_message(self, _c: mqtt.Client, _u: object, message: mqtt.MQTTMessage) -> None:
        left = getattr(message.properties, "MessageExpiryInterval", None)
        self.received.append((message.payload, left))

    def leave(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


async def test_commands_wait_for_an_absent_gateway_until_they_expire(
    broker: OwnMosquitto, topic_root: str
) -> None:
    config = MqttConfig(port=broker.port)
    commands = f"{topic_root}/home-1/gw-expiry/commands"
    gateway = Gateway(config, commands, subscribe=True)
    await eventually(gateway.ready.is_set, what="the gateway's subscription")
    gateway.leave()

    cloud = connect_client(config, "anxin-cloud-commands")
    cloud.loop_start()
    try:
        await eventually(cloud.is_connected, what="the cloud's connection")
        assert is_v5(cloud)
        for payload, expiry_s in ((b"stale", SHORT_S), (b"fresh", 120)):
            publish_expiring(cloud, commands, payload, expiry_s=expiry_s).wait_for_publish(5)
        await asyncio.sleep(SHORT_S + 1.5)  # the gateway stays away past the short expiry

        back = Gateway(config, commands, subscribe=False)  # its session still subscribes
        try:
            await eventually(lambda: back.received, what="the held command")
            await asyncio.sleep(0.5)  # room for a wrongly kept stale one to arrive too
            assert [payload for payload, _ in back.received] == [b"fresh"]
            left = back.received[0][1]
            assert left is not None and left <= 120 - SHORT_S, "expiry counts the wait"
        finally:
            back.leave()
    finally:
        cloud.disconnect()
        cloud.loop_stop()


def test_expiry_must_be_positive(broker: OwnMosquitto) -> None:
    client = connect_client(MqttConfig(port=broker.port), "anxin-cloud-commands")
    with pytest.raises(ValueError, match="expiry_s must be at least 1 second"):
        publish_expiring(client, "x", b"", expiry_s=0)
