"""MQTT ingest: validate, resolve device to person, store; bad messages kept aside.

Several ingest processes may run at once: they share one MQTT shared subscription,
and every write is idempotent on (gateway id, sequence).
"""

from __future__ import annotations

import logging
import queue
import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import paho.mqtt.client as mqtt
from pydantic import ValidationError

from anxin.cloud.ingest.timeseries import StoredObservation, TimeSeriesStore
from anxin.cloud.registry.registry import Registry, now_ms
from anxin.config import IngestConfig, MqttConfig
from anxin.mqtt import connect_client
from anxin.protocol import AlertMessage, GatewayState, ObservationBatch, TopicError, parse_topic

log = logging.getLogger(__name__)
# Logged once the broker has granted every subscription (``anxin bench ingest`` waits for it).
SUBSCRIBED_LOG = "ingest worker subscribed"
# A worker stores up to this many waiting messages with one time-series write (the broker
# lets at most its in-flight window, 20 for Mosquitto, wait unacknowledged anyway).
MAX_MESSAGES_PER_WRITE = 50


@dataclass(frozen=True)
class Outcome:
    accepted: bool
    new: int = 0
    duplicates: int = 0
    reason: str = ""


class Ingest:
    """Turns one MQTT message into stored rows. No networking: easy to test and reuse."""

    def __init__(self, registry: Registry, timeseries: TimeSeriesStore, topic_root: str) -> None:
        self.registry = registry
        self.timeseries = timeseries
        self.topic_root = topic_root
        self.counters: Counter[str] = Counter()
        self._lock = threading.Lock()

    def handle(self, topic: str, payload: bytes) -> Outcome:
        try:
            outcome = self._handle(topic, payload)
        except (ValidationError, TopicError, ValueError) as exc:
            outcome = Outcome(accepted=False, reason=_reason(exc))
        self._record(topic, payload, outcome)
        return outcome

    def handle_many(self, messages: Sequence[tuple[str, bytes]]) -> Outcome:
        """Handle several messages, storing all their observations with one write.

        Returns the totals. Raises, with nothing counted as stored, when the time-series
        store fails: the caller then acknowledges none of the messages.
        """
        rows: list[StoredObservation] = []
        observation_messages: list[tuple[str, bytes, int]] = []
        totals = Counter[str]()
        for topic, payload in messages:
            try:
                site_id, gateway_id, channel = parse_topic(topic, self.topic_root)
                if channel == "observations":
                    batch_rows = self._observation_rows(payload, site_id, gateway_id)
                    rows.extend(batch_rows)
                    observation_messages.append((topic, payload, len(batch_rows)))
                    continue
                outcome = self._handle(topic, payload)
            except (ValidationError, TopicError, ValueError) as exc:
                outcome = Outcome(accepted=False, reason=_reason(exc))
            self._record(topic, payload, outcome)
            totals.update(new=outcome.new, duplicates=outcome.duplicates)
        if not rows:
            return Outcome(accepted=True, new=totals["new"], duplicates=totals["duplicates"])
        try:
            new = self.timeseries.write(rows)
        except ValueError:
            # A row the store cannot carry: store message by message so only its own
            # message is kept aside as a dead letter.
            for topic, payload, _count in observation_messages:
                outcome = self.handle(topic, payload)
                totals.update(new=outcome.new, duplicates=outcome.duplicates)
            return Outcome(accepted=True, new=totals["new"], duplicates=totals["duplicates"])
        for topic, payload, _count in observation_messages:
            self._record(topic, payload, Outcome(accepted=True))
        with self._lock:
            self.counters["stored"] += new
            self.counters["duplicates"] += len(rows) - new
        return Outcome(
            accepted=True,
            new=totals["new"] + new,
            duplicates=totals["duplicates"] + len(rows) - new,
        )

    def _record(self, topic: str, payload: bytes, outcome: Outcome) -> None:
        if not outcome.accepted:
            self.registry.keep_dead_letter(topic, payload, outcome.reason)
            log.warning("rejected message on %s: %s", topic, outcome.reason)
        with self._lock:
            self.counters["messages"] += 1
            self.counters["rejected" if not outcome.accepted else "accepted"] += 1
            self.counters["stored"] += outcome.new
            self.counters["duplicates"] += outcome.duplicates

    def _observation_rows(
        self, payload: bytes, site_id: str, gateway_id: str
    ) -> list[StoredObservation]:
        batch = ObservationBatch.model_validate_json(payload)
        self._check_origin(batch.site_id, batch.gateway_id, site_id, gateway_id)
        return [
            StoredObservation(
                gateway_id=batch.gateway_id,
                seq=obs.seq,
                person_id=self.registry.person_for_device(obs.device_id, obs.ts_ms),
                device_id=obs.device_id,
                type=obs.type,
                value=obs.value,
                unit=obs.unit,
                ts_ms=obs.ts_ms,
                device_ts_ms=obs.device_ts_ms,
            )
            for obs in batch.observations
        ]

    def _handle(self, topic: str, payload: bytes) -> Outcome:
        site_id, gateway_id, channel = parse_topic(topic, self.topic_root)
        if channel == "observations":
            rows = self._observation_rows(payload, site_id, gateway_id)
            new = self.timeseries.write(rows)
            return Outcome(accepted=True, new=new, duplicates=len(rows) - new)
        if channel == "alerts":
            alert = AlertMessage.model_validate_json(payload)
            self._check_origin(alert.site_id, alert.gateway_id, site_id, gateway_id)
            person = self.registry.person_for_device(alert.device_id, alert.raised_at_ms)
            new = self.registry.record_alert(alert, person)
            return Outcome(accepted=True, new=int(new), duplicates=int(not new))
        if channel == "state":
            if not payload:
                return Outcome(accepted=True)  # a cleared retained message
            state = GatewayState.model_validate_json(payload)
            self._check_origin(state.site_id, state.gateway_id, site_id, gateway_id)
            self.registry.record_gateway_state(state)
            return Outcome(accepted=True)
        return Outcome(accepted=True)  # commands are the cloud's own

    @staticmethod
    def _check_origin(site_id: str, gateway_id: str, topic_site: str, topic_gateway: str) -> None:
        if (site_id, gateway_id) != (topic_site, topic_gateway):
            raise ValueError(
                f"payload names site '{site_id}' gateway '{gateway_id}' but was published "
                f"under site '{topic_site}' gateway '{topic_gateway}'"
            )


def _reason(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        parts = []
        for item in exc.errors()[:5]:
            where = ".".join(str(p) for p in item["loc"]) or "payload"
            parts.append(f"{where}: {item['msg']}")
        return "schema validation failed: " + "; ".join(parts)
    return str(exc)


class IngestWorker:
    """One ingest process's MQTT session. Messages are acknowledged only after they are stored.

    The MQTT thread only queues what arrives; a store thread takes every message waiting
    (up to MAX_MESSAGES_PER_WRITE), stores them with one time-series write, then
    acknowledges them in the order they came.
    """

    def __init__(
        self, ingest: Ingest, mqtt_config: MqttConfig, ingest_config: IngestConfig
    ) -> None:
        self.ingest = ingest
        self.mqtt_config = mqtt_config
        self.ingest_config = ingest_config
        self._client: mqtt.Client | None = None
        self.last_message_ms: int | None = None
        self.subscribed = False
        self._granted = 0
        self._waiting: queue.Queue[tuple[mqtt.Client, mqtt.MQTTMessage]] = queue.Queue()
        self._stopping = threading.Event()
        self._storer: threading.Thread | None = None

    @property
    def client_id(self) -> str:
        group = self.ingest_config.shared_group or "ingest"
        return f"anxin-{group}-{self.ingest_config.worker_id}"

    @property
    def subscriptions(self) -> list[str]:
        root, group = self.ingest_config.topic_root, self.ingest_config.shared_group
        channels = ("observations", "alerts", "state")
        if not group:
            return [f"{root}/+/+/{channel}" for channel in channels]
        # One share group per channel: the embedded broker (rumqttd) honours only the first
        # filter of a group, and each message matches exactly one of these filters anyway.
        return [f"$share/{group}-{channel}/{root}/+/+/{channel}" for channel in channels]

    def start(self) -> None:
        client = connect_client(
            self.mqtt_config,
            client_id_prefix=self.client_id,
            persistent_session=True,
            manual_ack=True,
            on_connect=self._on_connect,
        )
        client.on_message = self._on_message
        client.on_subscribe = self._on_subscribed
        self._client = client
        self._stopping.clear()
        self._storer = threading.Thread(target=self._store_loop, name="ingest-store", daemon=True)
        self._storer.start()
        client.loop_start()

    def stop(self) -> None:
        self._stopping.set()
        if self._storer is not None:
            self._storer.join()
            self._storer = None
        # What was queued but not stored stays unacknowledged: the broker sends it again.
        while not self._waiting.empty():
            self._waiting.get_nowait()
        if self._client is not None:
            self._client.disconnect()
            self._client.loop_stop()
            self._client = None
            self.subscribed = False

    def _on_connect(self, client: mqtt.Client) -> None:
        self._granted = 0
        for subscription in self.subscriptions:
            client.subscribe(subscription, qos=1)

    def _on_subscribed(self, *_args: object) -> None:
        self.subscribed = True
        self._granted += 1
        if self._granted == len(self.subscriptions):
            log.info("%s as %s to %s", SUBSCRIBED_LOG, self.client_id, self.subscriptions)

    def _on_message(
        self, client: mqtt.Client, _userdata: object, message: mqtt.MQTTMessage
    ) -> None:
        self._waiting.put((client, message))

    def _store_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                batch = [self._waiting.get(timeout=0.1)]
            except queue.Empty:
                continue
            while len(batch) < MAX_MESSAGES_PER_WRITE:
                try:
                    batch.append(self._waiting.get_nowait())
                except queue.Empty:
                    break
            try:
                self.ingest.handle_many([(m.topic, m.payload) for _, m in batch])
            except Exception:
                # Store unreachable: leave the messages unacknowledged so the broker
                # redelivers them.
                log.exception("could not store %d messages; they will be redelivered", len(batch))
                continue
            self.last_message_ms = now_ms()
            for client, message in batch:
                if message.qos > 0:
                    client.ack(message.mid, message.qos)
