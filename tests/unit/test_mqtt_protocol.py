"""``protocol = "auto"`` against brokers that only speak MQTT 3.1.1: one refuses the
version in its CONNACK, one just hangs up on an MQTT 5 CONNECT. The fakes read the
protocol level of every CONNECT the client sends (4 = 3.1.1, 5 = MQTT 5)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import paho.mqtt.client as mqtt
import pytest

from anxin.config import MqttConfig
from anxin.mqtt import connect_client

CONNACK_ACCEPTED = bytes([0x20, 0x02, 0x00, 0x00])
CONNACK_BAD_VERSION = bytes([0x20, 0x02, 0x00, 0x01])  # 3.1.1 return code 1


def read_connect(conn: socket.socket) -> tuple[int, int] | None:
    """The CONNECT's protocol level and connect flags, or None if the client left."""
    data = b""
    while len(data) < 2 or (data[1] & 0x80 and len(data) < 5):
        chunk = conn.recv(1024)
        if not chunk:
            return None
        data += chunk
    length, shift, index = 0, 0, 1
    while True:  # remaining length, a variable byte integer
        byte = data[index]
        length |= (byte & 0x7F) << shift
        index += 1
        shift += 7
        if not byte & 0x80:
            break
    while len(data) < index + length:
        chunk = conn.recv(4096)
        if not chunk:
            return None
        data += chunk
    assert data[0] == 0x10, "the first packet must be a CONNECT"
    name_length = int.from_bytes(data[index : index + 2], "big")
    assert data[index + 2 : index + 2 + name_length] == b"MQTT"
    return data[index + 2 + name_length], data[index + 3 + name_length]


class OldBroker:
    """Speaks 3.1.1 only; ``hang_up`` closes on MQTT 5 instead of refusing in a CONNACK."""

    def __init__(self, *, hang_up: bool) -> None:
        self.hang_up = hang_up
        self.connects: list[tuple[int, int]] = []  # (protocol level, connect flags)
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = self._server.getsockname()[1]
        self._open: list[socket.socket] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._server.accept()
            except OSError:
                return
            connect = read_connect(conn)
            if connect is None:
                conn.close()
                continue
            self.connects.append(connect)
            if connect[0] == 4:
                conn.sendall(CONNACK_ACCEPTED)
                self._open.append(conn)  # stays connected; the test ends within keepalive
            else:
                if not self.hang_up:
                    conn.sendall(CONNACK_BAD_VERSION)
                conn.close()

    def close(self) -> None:
        self._server.close()
        for conn in self._open:
            conn.close()


@contextmanager
def connected_client(
    broker: OldBroker, protocol: str, persistent: bool
) -> Iterator[tuple[mqtt.Client, threading.Event]]:
    connected = threading.Event()
    config = MqttConfig(port=broker.port, protocol=protocol)  # type: ignore[arg-type]
    client = connect_client(
        config,
        "anxin-gw-test",
        persistent_session=persistent,
        on_connect=lambda _c: connected.set(),
        will=("anxin/v1/home-1/gw-1/state", b'{"online":false}'),
        will_delay_s=60,
    )
    client.loop_start()
    try:
        yield client, connected
    finally:
        client.disconnect()
        client.loop_stop()
        broker.close()


@pytest.mark.parametrize("hang_up", [False, True], ids=["refuses-version", "hangs-up"])
def test_auto_falls_back_to_3_1_1_and_keeps_the_session(hang_up: bool) -> None:
    broker = OldBroker(hang_up=hang_up)
    with connected_client(broker, "auto", persistent=True) as (client, connected):
        assert connected.wait(15), f"never connected; CONNECTs seen: {broker.connects}"
        levels = [level for level, _ in broker.connects]
        assert levels[0] == 5 and levels[-1] == 4
        assert levels.count(5) == (2 if hang_up else 1)
        flags = broker.connects[-1][1]
        assert not flags & 0x02, "a persistent session must not ask for a clean session"
        assert flags & 0x04 and flags & 0x20, "the will (QoS 1, retained) must survive"
        assert client.protocol == mqtt.MQTTv311


def test_a_forced_mqtt_5_never_falls_back() -> None:
    broker = OldBroker(hang_up=False)
    with connected_client(broker, "5", persistent=False) as (_client, connected):
        time.sleep(3.5)  # several reconnect attempts at the 1 s minimum backoff
        assert not connected.is_set()
        assert len(broker.connects) >= 2
        assert {level for level, _ in broker.connects} == {5}
