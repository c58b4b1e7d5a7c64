"""MQTT uplink: sends the disk queue in order, QoS 1, and deletes only what the broker acknowledged."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import Counter
from collections.abc import Callable

import paho.mqtt.client as mqtt

from anxin.config import GatewayConfig, MqttConfig
from anxin.edge.queue import DiskQueue, QueuedMessage
from anxin.mqtt import connect_client
from anxin.protocol import SCHEMA_VERSION, GatewayState, encode, topic

log = logging.getLogger(__name__)


class Uplink:
    def __init__(
        self,
        mqtt_config: MqttConfig,
        gateway: GatewayConfig,
        queue: DiskQueue,
        device_states: Callable[[], dict[str, str]],
    ) -> None:
        self.mqtt_config = mqtt_config
        self.gateway = gateway
        self.queue = queue
        self.device_states = device_states
        self.counters: Counter[str] = Counter()
        self._in_flight: dict[int, list[int]] = {}  # MQTT message id -> queue sequence numbers
        self._wake = asyncio.Event()
        self._connected = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._client: mqtt.Client | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopped = False

    def topic(self, channel: str) -> str:
        return topic(
            self.gateway.site_id, self.gateway.gateway_id, channel, self.gateway.topic_root
        )  # type: ignore[arg-type]

    def _state(self, online: bool) -> bytes:
        states = self.device_states() if online else {}
        message = GatewayState(
            site_id=self.gateway.site_id,
            gateway_id=self.gateway.gateway_id,
            online=online,
            ts_ms=int(time.time() * 1000),
            devices=states,
        )
        return encode(message)

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        client = connect_client(
            self.mqtt_config,
            client_id_prefix=f"anxin-gw-{self.gateway.gateway_id}",
            on_connect=lambda _c: self._from_paho(self._on_connected),
            on_disconnect=lambda _c: self._from_paho(self._on_disconnected),
            will=(self.topic("state"), self._state(online=False)),
            max_inflight=self.gateway.max_in_flight,
        )
        client.on_publish = self._on_publish
        self._client = client
        client.loop_start()
        self._task = asyncio.create_task(
            self._send_loop(), name=f"uplink-{self.gateway.gateway_id}"
        )

    async def stop(self) -> None:
        self._stopped = True
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self._client is not None:
            if self._connected.is_set():
                self._client.publish(
                    self.topic("state"), self._state(online=False), qos=1, retain=True
                )
            self._client.disconnect()
            self._client.loop_stop()
            self._client = None

    def wake(self) -> None:
        self._wake.set()

    def publish_state(self) -> None:
        if self._client is not None and self._connected.is_set():
            self._client.publish(self.topic("state"), self._state(online=True), qos=1, retain=True)

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    @property
    def in_flight(self) -> int:
        return len(self._in_flight)

    # --- paho thread -> event loop ------------------------------------------------

    def _from_paho(self, callback: Callable[..., None], *args: object) -> None:
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(callback, *args)

    def _on_publish(self, _c: mqtt.Client, _u: object, mid: int, _rc: object, _p: object) -> None:
        self._from_paho(self._on_acknowledged, mid)

    def _on_connected(self) -> None:
        self._connected.set()
        self.counters["connects"] += 1
        self.publish_state()
        self.wake()

    def _on_disconnected(self) -> None:
        self._connected.clear()
        # Whatever was in flight stays in the queue and is sent again after reconnecting;
        # the cloud's idempotent writes make the repeat harmless.
        self._in_flight.clear()

    def _on_acknowledged(self, mid: int) -> None:
        if self._stopped:
            return  # the queue may be closed; those rows are simply sent again next start
        seqs = self._in_flight.pop(mid, None)
        if seqs is None:
            return  # an acknowledgement from before a reconnect; its rows are being resent
        self.queue.ack(seqs)
        self.counters["acknowledged"] += len(seqs)
        self.wake()

    # --- sending --------------------------------------------------------------------

    async def _send_loop(self) -> None:
        while True:
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for can lose the
            # cancellation from stop() when the wake-up arrives at the same moment.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(1.0):
                    await self._wake.wait()
            self._wake.clear()
            if self._connected.is_set():
                self._send_available()

    def _send_available(self) -> None:
        assert self._client is not None
        room = self.gateway.max_in_flight - len(self._in_flight)
        while room > 0:
            busy = {seq for seqs in self._in_flight.values() for seq in seqs}
            pending = self.queue.peek(self.gateway.batch_size * room, exclude=busy)
            if not pending:
                return
            for channel, group in _group(pending, self.gateway.batch_size):
                payload = self._payload(channel, group)
                info = self._client.publish(self.topic(channel), payload, qos=1)
                if info.rc != mqtt.MQTT_ERR_SUCCESS:
                    return  # not connected any more; the queue keeps the rows
                self._in_flight[info.mid] = [m.seq for m in group]
                self.counters["sent"] += len(group)
                room -= 1
                if room == 0:
                    return

    def _payload(self, channel: str, group: list[QueuedMessage]) -> bytes:
        if channel == "alerts":
            return group[0].body.encode()
        bodies = ",".join(m.body for m in group)
        header = json.dumps(
            {
                "schema": SCHEMA_VERSION,
                "site_id": self.gateway.site_id,
                "gateway_id": self.gateway.gateway_id,
            }
        )
        return f'{header[:-1]},"observations":[{bodies}]}}'.encode()


def _group(messages: list[QueuedMessage], batch_size: int) -> list[tuple[str, list[QueuedMessage]]]:
    """Alerts one per message; consecutive observations batched together."""
    groups: list[tuple[str, list[QueuedMessage]]] = []
    for message in messages:
        if (
            message.channel == "observations"
            and groups
            and groups[-1][0] == "observations"
            and len(groups[-1][1]) < batch_size
        ):
            groups[-1][1].append(message)
        else:
            groups.append((message.channel, [message]))
    return groups
