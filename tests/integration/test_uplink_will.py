"""The gateway's retained online/offline state against a real Mosquitto: a brief network
blip pages nobody (MQTT 5 Will Delay), a longer absence does, and a clean stop says so
at once. The gateway reaches the broker through a proxy whose connections the test resets
without any MQTT DISCONNECT, as a failing home router would."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from anxin.config import GatewayConfig, MqttConfig
from anxin.edge.queue import DiskQueue
from anxin.edge.uplink import Uplink
from tests.support.mosquitto import OwnMosquitto
from tests.support.tcp_proxy import TcpProxy
from tests.support.waiting import eventually

pytestmark = [pytest.mark.services, pytest.mark.slow]
GRACE_S = 5


class StateWatcher:
    """Everything published on a gateway's state topic, as (online, retained) pairs."""

    def __init__(self, port: int, state_topic: str) -> None:
        self.seen: list[tuple[bool, bool]] = []
        self._lock = threading.Lock()
        self._client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311)
        self._client.on_connect = lambda c, *_: c.subscribe(state_topic, qos=1)
        self._client.on_message = self._on_message
        self._client.connect("127.0.0.1", port)
        self._client.loop_start()

    def _on_message(self, _c: mqtt.Client, _u: object, message: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.seen.append((bool(json.loads(message.payload)["online"]), message.retain))

    def states(self) -> list[bool]:
        with self._lock:
            return [online for online, _ in self.seen]

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[OwnMosquitto]:
    own = OwnMosquitto(tmp_path / "broker", persistence=False)
    own.start()
    yield own
    own.stop()


def make_uplink(tmp_path: Path, port: int, topic_root: str, grace_s: int) -> Uplink:
    gateway = GatewayConfig(
        site_id="home-1",
        gateway_id="gw-will",
        topic_root=topic_root,
        queue_path=tmp_path / "queue.sqlite",
        offline_grace_s=grace_s,
    )
    mqtt_config = MqttConfig(port=port, keepalive_s=5, reconnect_max_s=2)
    return Uplink(mqtt_config, gateway, DiskQueue(gateway.queue_path), dict)


async def test_a_blip_pages_nobody_and_a_longer_absence_does(
    broker: OwnMosquitto, tmp_path: Path, topic_root: str
) -> None:
    async with TcpProxy(("127.0.0.1", broker.port)) as proxy:
        uplink = make_uplink(tmp_path, proxy.port, topic_root, GRACE_S)
        watcher = StateWatcher(broker.port, uplink.topic("state"))
        await uplink.start()
        try:
            await eventually(lambda: watcher.states() == [True], what="the online state")

            proxy.reset()  # no DISCONNECT: the broker holds the will for GRACE_S
            await eventually(lambda: uplink.counters["connects"] == 2, what="a reconnect")
            await asyncio.sleep(GRACE_S + 2)
            assert False not in watcher.states(), "a blip shorter than the grace paged"

            proxy.blackhole()  # and stays cut past the grace
            proxy.reset()
            await eventually(lambda: False in watcher.states(), what="the offline will")
            late = StateWatcher(broker.port, uplink.topic("state"))
            try:
                await eventually(lambda: late.seen, what="the retained state")
                assert late.seen == [(False, True)], "offline must be retained"
            finally:
                late.close()

            proxy.restore()
            await eventually(lambda: watcher.states()[-1] is True, what="online again")
        finally:
            await uplink.stop()
            uplink.queue.close()
            watcher.close()


async def test_a_clean_stop_publishes_offline_at_once(
    broker: OwnMosquitto, tmp_path: Path, topic_root: str
) -> None:
    # A grace far longer than the wait below: only the gateway's own publish can say offline.
    uplink = make_uplink(tmp_path, broker.port, topic_root, grace_s=600)
    watcher = StateWatcher(broker.port, uplink.topic("state"))
    await uplink.start()
    try:
        await eventually(lambda: watcher.states() == [True], what="the online state")
        await uplink.stop()
        await eventually(lambda: watcher.states() == [True, False], timeout=10, what="offline")
    finally:
        await uplink.stop()
        uplink.queue.close()
        watcher.close()
