"""The uplink's send window against a real Mosquitto that announces a small Receive
Maximum: the gateway's configured window is larger, yet it never has more batches in
flight than the broker allows, and every row arrives exactly once."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from anxin.config import GatewayConfig, MqttConfig
from anxin.edge.queue import DiskQueue
from anxin.edge.uplink import Uplink
from tests.support.mosquitto import OwnMosquitto
from tests.support.waiting import eventually

pytestmark = [pytest.mark.services]
ROWS = 3000
RECEIVE_MAXIMUM = 7


class WindowWatch(Uplink):
    """Records how many batches were in flight after each publish."""

    peak = 0

    def _track(self, mid: int, seqs: list[int]) -> None:
        super()._track(mid, seqs)
        self.peak = max(self.peak, self.in_flight)


async def test_the_window_honours_the_brokers_receive_maximum(
    tmp_path: Path, topic_root: str
) -> None:
    broker = OwnMosquitto(
        tmp_path / "broker",
        persistence=False,
        extra_lines=[f"max_inflight_messages {RECEIVE_MAXIMUM}"],
    )
    broker.start()
    gateway = GatewayConfig(
        site_id="home-1",
        gateway_id="gw-window",
        topic_root=topic_root,
        queue_path=tmp_path / "queue.sqlite",
        batch_size=5,
        max_in_flight=500,
    )
    queue = DiskQueue(gateway.queue_path)
    start = int(time.time() * 1000)
    queue.put(
        "observations",
        ROWS,
        lambda seqs: [
            json.dumps({"seq": s, "type": "heart_rate", "value": 60, "ts_ms": start + s})
            for s in seqs
        ],
    )
    received: Counter[int] = Counter()
    lock = threading.Lock()

    def on_message(_c: mqtt.Client, _u: object, message: mqtt.MQTTMessage) -> None:
        with lock:
            received.update(o["seq"] for o in json.loads(message.payload)["observations"])

    cloud = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    cloud.on_message = on_message
    cloud.connect("127.0.0.1", broker.port)
    cloud.subscribe(f"{topic_root}/+/+/observations", qos=1)
    cloud.loop_start()
    uplink = WindowWatch(MqttConfig(port=broker.port), gateway, queue, dict)
    try:
        await uplink.start()
        await eventually(lambda: queue.depth() == 0, what="the queue to drain")
        await eventually(lambda: sum(received.values()) >= ROWS, what="every row")
        assert uplink.window == RECEIVE_MAXIMUM < gateway.max_in_flight
        assert 1 < uplink.peak <= RECEIVE_MAXIMUM
        with lock:
            assert sorted(received) == list(range(ROWS)), "rows lost"
            assert max(received.values()) == 1, "rows sent twice"
    finally:
        await uplink.stop()
        queue.close()
        cloud.disconnect()
        cloud.loop_stop()
        broker.stop()
