"""The demo's embedded broker (rumqttd inside iotcore) keeps serving when the ingest session
loses its connection while it holds a message it has not acknowledged: the session comes
back, gets the message again, and gateways, ingest and everything published afterwards
carry on. And when the broker does stop serving, the demo's watch says so.

rumqttd 0.20 panics in its router ("group must exists") when the only member of a
``$share`` group leaves a persistent session holding an unacknowledged message; after that
the process is still up and accepts TCP connections, but answers no MQTT client again.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from iotcore import Broker

from anxin.cloud.ingest.timeseries import SqlTimeSeries, StoredObservation
from anxin.cloud.ingest.worker import Ingest, IngestWorker
from anxin.cloud.stores import Stores
from anxin.config import MqttConfig
from anxin.demo.broker_watch import broker_answers, wait_until_broker_gone
from anxin.demo.stack import EMBEDDED_BROKER_INGEST, start_embedded_broker
from anxin.mqtt import connect_client
from anxin.protocol import Observation, ObservationBatch, encode
from tests.support.cloud import batch_payload, now_ms, seeded_stores
from tests.support.rumqttd_panic import make_rumqttd_panic
from tests.support.tcp_proxy import TcpProxy
from tests.support.waiting import eventually

OBSERVATIONS = "anxin/v1/home-1/gw-1/observations"
POISON_SEQ = 999_999
POISON_SEQ_TEXT = str(POISON_SEQ).encode()


class RefusingStore:
    """The demo's SQLite time series, except that it cannot take the observation numbered
    POISON_SEQ: every write holding it raises, as SQLite did for a sequence number past
    2**63 before the protocol bounded it. Ingest holds such a message unacknowledged while
    it tries it. The first such write answers only once ``answer`` is set, so a test can
    cut the network while the message is held."""

    def __init__(self, store: SqlTimeSeries) -> None:
        self._store = store
        self.refused = 0
        self.answer = threading.Event()

    def write(self, rows: Sequence[StoredObservation]) -> int:
        if any(row.seq == POISON_SEQ for row in rows):
            self.refused += 1
            self.answer.wait(timeout=60)
            raise OverflowError("Python int too large to convert to SQLite INTEGER")
        return self._store.write(rows)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


class GatewayLink:
    """An MQTT session set up the way a gateway's uplink sets up its own; it counts every
    time the broker drops it."""

    def __init__(self, mqtt_config: MqttConfig) -> None:
        self.dropped = 0
        self.connected = threading.Event()
        self.client = connect_client(
            mqtt_config,
            "anxin-gw-gw-1",
            persistent_session=True,
            on_connect=lambda _c: self.connected.set(),
            on_disconnect=self._on_disconnect,
        )
        self.client.loop_start()

    def _on_disconnect(self, _client: mqtt.Client) -> None:
        self.connected.clear()
        self.dropped += 1

    def publish(self, payload: bytes) -> None:
        self.client.publish(OBSERVATIONS, payload, qos=1).wait_for_publish(10)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def broker() -> Iterator[Broker]:
    broker = start_embedded_broker(0)
    try:
        yield broker
    finally:
        broker.stop()


@pytest.fixture
def mqtt_config(broker: Broker) -> MqttConfig:
    return MqttConfig(host="127.0.0.1", port=broker.port, protocol="3.1.1", reconnect_max_s=2)


@pytest.fixture
def gateway(mqtt_config: MqttConfig) -> Iterator[GatewayLink]:
    link = GatewayLink(mqtt_config)
    assert link.connected.wait(10), "the gateway could not connect to the embedded broker"
    try:
        yield link
    finally:
        link.close()


@pytest.fixture
def stores(tmp_path: Path) -> Iterator[Stores]:
    with seeded_stores(f"sqlite:///{tmp_path}/cloud.sqlite") as stores:
        yield stores


def poison_payload() -> bytes:
    observation = Observation(
        seq=POISON_SEQ, device_id="hr-1", type="heart_rate", value=72, unit="/min", ts_ms=now_ms()
    )
    return encode(ObservationBatch(site_id="home-1", gateway_id="gw-1", observations=[observation]))


def stored_seqs(stores: Stores) -> set[int]:
    return {row.seq for row in stores.timeseries.query("p0001", "heart_rate", since_ms=0)}


async def wait_for(check: Callable[[], object], what: str) -> None:
    await eventually(check, timeout=20, what=what)


async def test_ingest_cut_off_while_it_holds_a_message_it_cannot_store_breaks_nobody(
    broker: Broker, mqtt_config: MqttConfig, gateway: GatewayLink, stores: Stores
) -> None:
    """The demo's ingest worker, with the demo's ingest settings, holds a message it cannot
    store (unacknowledged) when its connection breaks; it comes back, the message is kept
    aside, and what gateways send afterwards is stored."""
    refusing = RefusingStore(stores.timeseries)  # type: ignore[arg-type]
    ingest = Ingest(stores.registry, refusing, "anxin/v1")  # type: ignore[arg-type]
    async with TcpProxy(("127.0.0.1", broker.port)) as network:
        through_network = mqtt_config.model_copy(update={"port": network.port})
        worker = IngestWorker(ingest, through_network, EMBEDDED_BROKER_INGEST)
        worker.start()
        try:
            await wait_for(lambda: worker.subscribed, "the ingest worker's subscriptions")
            gateway.publish(poison_payload())
            await wait_for(lambda: refusing.refused, "ingest to try the message")

            network.reset()
            await wait_for(lambda: network.accepted > 1, "the ingest worker to reconnect")
            refusing.answer.set()
            gateway.publish(batch_payload(seqs=range(0, 3)))
            await wait_for(lambda: {0, 1, 2} <= stored_seqs(stores), "later traffic stored")

            assert await broker_answers("127.0.0.1", broker.port), "the broker stopped serving"
            await wait_for(lambda: worker.subscribed, "the ingest worker subscribed")
            assert gateway.dropped == 0 and gateway.connected.is_set()
            await wait_for(
                lambda: any(POISON_SEQ_TEXT in d.payload for d in stores.registry.dead_letters()),
                "the message kept aside as a dead letter",
            )
        finally:
            refusing.answer.set()
            worker.stop()


async def test_a_session_that_never_acknowledges_and_reconnects_breaks_nobody_else(
    broker: Broker, mqtt_config: MqttConfig, gateway: GatewayLink, stores: Stores
) -> None:
    """The demo's ingest session (same client id, same subscriptions, persistent, manual
    acknowledgements) gets a message, never acknowledges it and loses its connection."""
    subscriptions = IngestWorker(
        Ingest(stores.registry, stores.timeseries, "anxin/v1"), mqtt_config, EMBEDDED_BROKER_INGEST
    )
    received: list[bytes] = []
    granted: list[object] = []
    silent = connect_client(
        mqtt_config,
        subscriptions.client_id,
        persistent_session=True,
        manual_ack=True,
        on_connect=lambda c: [c.subscribe(s, qos=1) for s in subscriptions.subscriptions],
    )
    silent.on_message = lambda _c, _u, message: received.append(message.payload)
    silent.on_subscribe = lambda *_a: granted.append(True)
    listener_got: list[bytes] = []
    listening = threading.Event()
    listener = connect_client(
        mqtt_config, "anxin-console-listener", on_connect=lambda c: c.subscribe(OBSERVATIONS, 1)
    )
    listener.on_message = lambda _c, _u, message: listener_got.append(message.payload)
    listener.on_subscribe = lambda *_a: listening.set()
    silent.loop_start()
    listener.loop_start()
    try:
        await wait_for(
            lambda: len(granted) == len(subscriptions.subscriptions), "the silent session subscribed"
        )
        await wait_for(listening.is_set, "the listener subscribed")
        gateway.publish(b"never acknowledged")
        await wait_for(lambda: received, "the silent session to get the message")

        silent.socket().shutdown(socket.SHUT_RDWR)  # gone without a word
        await wait_for(lambda: len(received) > 1, "the message again after the reconnect")

        gateway.publish(b"normal traffic")
        await wait_for(lambda: b"normal traffic" in listener_got, "normal traffic delivered")
        assert await broker_answers("127.0.0.1", broker.port), "the broker stopped serving"
        assert gateway.dropped == 0 and gateway.connected.is_set()
    finally:
        for client in (silent, listener):
            client.disconnect()
            client.loop_stop()


async def test_the_watch_reports_a_broker_that_no_longer_answers(broker: Broker) -> None:
    assert await broker_answers("127.0.0.1", broker.port)
    watch = asyncio.create_task(
        wait_until_broker_gone(broker, "127.0.0.1", interval_s=0.2, timeout_s=1.0)
    )
    try:
        await asyncio.to_thread(make_rumqttd_panic, "127.0.0.1", broker.port)
        reason = await asyncio.wait_for(watch, timeout=30)
        assert "MQTT CONNECT" in reason, reason
        assert broker.is_running  # the process is up: only asking it can tell
    finally:
        watch.cancel()


async def test_the_watch_reports_a_broker_process_that_exited(broker: Broker) -> None:
    watch = asyncio.create_task(wait_until_broker_gone(broker, "127.0.0.1", interval_s=0.2))
    broker.stop()
    reason = await asyncio.wait_for(watch, timeout=30)
    assert "exited" in reason
