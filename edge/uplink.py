"""MQTT uplink: sends the disk queue in order, QoS 1, and deletes only what the broker acknowledged."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import time
from collections import Counter
from collections.abc import Callable

import paho.mqtt.client as mqtt

from anxin.config import GatewayConfig, MqttConfig
from anxin.edge.queue import DiskQueue, QueuedMessage
from anxin.mqtt import connect_client, receive_maximum
from anxin.protocol import SCHEMA_VERSION, STAMPED_HERE, GatewayState, encode, topic
from anxin.runtime import cancel_and_wait

log = logging.getLogger(__name__)

GATEWAY_SESSION_EXPIRY_S = 24 * 3600  # the broker keeps commands for an absent gateway this long
MID_SPACE = 65535  # paho numbers messages 1..65535 and then starts again at 1
# Message ids kept free for what else the gateway publishes or subscribes between two
# data batches (state, command results): the oldest batch still in flight must never be
# this close to having its id handed out again.
MID_MARGIN = 1024

# A command's payload, and what acknowledges it to the broker once its result is queued.
CommandCallback = Callable[[bytes, Callable[[], None]], None]


class Uplink:
    def __init__(
        self,
        mqtt_config: MqttConfig,
        gateway: GatewayConfig,
        queue: DiskQueue,
        device_states: Callable[[], dict[str, str]],
        on_command: CommandCallback | None = None,
    ) -> None:
        self.mqtt_config = mqtt_config
        self.gateway = gateway
        self.queue = queue
        self.device_states = device_states
        self.on_command = on_command
        self._connection = 0  # counts connections: an acknowledgement belongs to one
        self.counters: Counter[str] = Counter()
        self._in_flight: dict[int, list[int]] = {}  # MQTT message id -> queue sequence numbers
        self._last_mid = 0
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
        fields = {
            "site_id": self.gateway.site_id,
            "gateway_id": self.gateway.gateway_id,
            "online": online,
            "ts_ms": int(time.time() * 1000),
            "devices": states,
        }
        message = GatewayState.model_validate(fields, context={STAMPED_HERE: True})
        return encode(message)

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._in_flight = {}
        client = connect_client(
            self.mqtt_config,
            client_id_prefix=gateway_client_id(self.gateway),
            # A persistent session under a stable id: commands sent while the gateway is
            # briefly away wait for it at the broker.
            persistent_session=True,
            session_expiry_s=GATEWAY_SESSION_EXPIRY_S,
            on_connect=lambda _c: self._from_paho(self._on_connected),
            on_disconnect=lambda _c: self._from_paho(self._on_disconnected),
            will=(self.topic("state"), self._state(online=False)),
            will_delay_s=self.gateway.offline_grace_s,
            max_inflight=self.gateway.max_in_flight,
            manual_ack=True,
        )
        client.on_publish = self._on_publish
        client.on_message = self._on_message
        self._client = client
        client.loop_start()
        self._task = asyncio.create_task(
            self._send_loop(), name=f"uplink-{self.gateway.gateway_id}"
        )

    async def stop(self) -> None:
        self._stopped = True
        await cancel_and_wait(self._task)
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

    @property
    def window(self) -> int:
        """Batches in flight at most: ``max_in_flight``, or fewer if the broker says so."""
        announced = receive_maximum(self._client) if self._client is not None else MID_SPACE
        return max(1, min(self.gateway.max_in_flight, announced))

    # --- paho thread -> event loop ------------------------------------------------

    def _from_paho(self, callback: Callable[..., None], *args: object) -> None:
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(callback, *args)

    def _on_publish(self, _c: mqtt.Client, _u: object, mid: int, _rc: object, _p: object) -> None:
        self._from_paho(self._on_acknowledged, mid)

    def _on_message(self, _c: mqtt.Client, _u: object, message: mqtt.MQTTMessage) -> None:
        self._from_paho(self._command_arrived, message.payload, message.mid, message.qos)

    def _command_arrived(self, payload: bytes, mid: int, qos: int) -> None:
        connection = self._connection

        def acknowledge() -> None:
            # Only on the connection it came on: after a reconnect the broker sends it
            # again, and the gateway answers the repeat without applying it twice.
            if self._client is not None and connection == self._connection and qos > 0:
                self._client.ack(mid, qos)

        if self.on_command is None:
            acknowledge()
        else:
            self.on_command(payload, acknowledge)

    def _on_connected(self) -> None:
        self._connected.set()
        self._connection += 1
        self.counters["connects"] += 1
        if self._client is not None and self.on_command is not None:
            self._client.subscribe(self.topic("commands"), qos=1)
        self.publish_state()
        self.wake()

    def _on_disconnected(self) -> None:
        self._connected.clear()
        # What is in flight stays so: paho keeps those publishes and sends them again,
        # under the same message ids, once reconnected. Sending the rows anew as well
        # would duplicate them and leave more ids outstanding than the window allows.

    def _on_acknowledged(self, mid: int) -> None:
        if self._stopped:
            return  # the queue may be closed; those rows are simply sent again next start
        seqs = self._in_flight.pop(mid, None)
        if seqs is None:
            return  # a state or command-result publish, or from before a restart
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
        room = self.window - len(self._in_flight)
        while room > 0 and self._ids_free():
            busy = {seq for seqs in self._in_flight.values() for seq in seqs}
            pending = self.queue.peek(self.gateway.batch_size * room, exclude=busy)
            if not pending:
                return
            for channel, group in _group(pending, self.gateway.batch_size):
                payload = self._payload(channel, group)
                info = self._client.publish(self.topic(channel), payload, qos=1)
                if info.rc not in (mqtt.MQTT_ERR_SUCCESS, mqtt.MQTT_ERR_NO_CONN):
                    return  # not taken; the queue keeps the rows
                self._track(info.mid, [m.seq for m in group])
                self.counters["sent"] += len(group)
                room -= 1
                if room == 0 or info.rc == mqtt.MQTT_ERR_NO_CONN or not self._ids_free():
                    return  # (NO_CONN: paho holds the publish and sends it on reconnecting)

    def _track(self, mid: int, seqs: list[int]) -> None:
        stale = self._in_flight.pop(mid, None)
        if stale is not None:
            # Never expected (see _ids_free); if it happens, paho has forgotten the older
            # publish, so its rows leave the window and are sent again.
            log.error(
                "MQTT message id %d reused while in flight; resending %d rows", mid, len(stale)
            )
        self._in_flight[mid] = seqs
        self._last_mid = mid

    def _ids_free(self) -> bool:
        """Whether the next message ids cannot reach the oldest one still in flight."""
        if not self._in_flight:
            return True
        oldest = next(iter(self._in_flight))  # dicts keep insertion order
        used = (self._last_mid - oldest) % MID_SPACE + 1
        return used < MID_SPACE - MID_MARGIN

    def _payload(self, channel: str, group: list[QueuedMessage]) -> bytes:
        if channel != "observations":  # alerts and command results go one per message
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


def gateway_client_id(gateway: GatewayConfig) -> str:
    """Stable per gateway, and distinct per topic root so test namespaces never collide."""
    base = f"anxin-gw-{gateway.site_id}-{gateway.gateway_id}"
    if gateway.topic_root == "anxin/v1":
        return base
    return f"{base}-{hashlib.sha256(gateway.topic_root.encode()).hexdigest()[:8]}"
