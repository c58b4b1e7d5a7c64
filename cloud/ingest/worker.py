"""MQTT ingest: validate, check who sent it, resolve device to person, store; bad messages
kept aside.

Several ingest processes may run at once: they share one MQTT shared subscription,
and every write is idempotent on (gateway id, sequence).
"""

from __future__ import annotations

import logging
import queue
import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import paho.mqtt.client as mqtt
from pydantic import ValidationError

from anxin.cloud.ingest import heartbeat
from anxin.cloud.ingest.failures import MAX_STORE_ATTEMPTS, store_unavailable
from anxin.cloud.ingest.origin import OriginRefused, Origins
from anxin.cloud.ingest.timeseries import StoredObservation, TimeSeriesStore
from anxin.cloud.registry import security_events
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
# While a store is down the messages at hand are tried again after this long, doubling.
RETRY_FIRST_S = 0.5
RETRY_MAX_S = 10.0
MAX_REASON = 1000
MAX_TOPIC = 256  # what the dead-letter table holds


@dataclass(frozen=True)
class Outcome:
    accepted: bool
    new: int = 0
    duplicates: int = 0
    reason: str = ""
    # Why a message was not accepted: invalid (schema, topic) | origin (who sent it)
    # | unstorable (failed to store alone on every try)
    kind: str = ""


@dataclass
class _Message:
    """One message read and checked: its rows, alert or state, then how it ended."""

    topic: str
    payload: bytes
    rows: list[StoredObservation] = field(default_factory=list)
    alert: AlertMessage | None = None
    person_id: str | None = None
    state: GatewayState | None = None
    refused: OriginRefused | None = None
    outcome: Outcome | None = None


class Ingest:
    """Turns MQTT messages into stored rows. No networking: easy to test and reuse.

    Only a store that is unreachable makes ``handle`` and ``handle_many`` raise: nothing of
    that call is then counted, and the caller acknowledges none of its messages (every
    write is idempotent, so storing some of them again later is harmless). Any other
    failure ends with the message stored or kept aside as a dead letter.
    """

    def __init__(self, registry: Registry, timeseries: TimeSeriesStore, topic_root: str) -> None:
        self.registry = registry
        self.timeseries = timeseries
        self.topic_root = topic_root
        self.origins = Origins(registry)
        self.counters: Counter[str] = Counter()
        self._lock = threading.Lock()

    def handle(self, topic: str, payload: bytes) -> Outcome:
        return self.handle_many([(topic, payload)])

    def handle_many(self, messages: Sequence[tuple[str, bytes]]) -> Outcome:
        """Handle several messages, storing all their observations with one write.

        Returns the totals; ``accepted``, ``reason`` and ``kind`` are those of the first
        message refused (of the only message, for ``handle``)."""
        read = [self._read(topic, payload) for topic, payload in messages]
        together = [m for m in read if m.outcome is None and m.rows]
        rows = [row for m in together for row in m.rows]
        written = Counter[str]()
        if rows:
            try:
                new = self.timeseries.write(rows)
            except Exception as exc:
                if store_unavailable(exc):
                    raise
                # A row the store cannot carry: store message by message, so that only
                # its own message is kept aside.
                log.warning(
                    "a write of %d messages failed, storing them one by one: %r", len(together), exc
                )
            else:
                # The store does not say which message a repeated row came from.
                written.update(new=new, duplicates=len(rows) - new)
                for message in together:
                    message.outcome = Outcome(accepted=True)
        for message in read:
            if message.outcome is None:
                message.outcome = self._store_alone(message)
        for message in read:
            self._record(message)
        with self._lock:
            self.counters["stored"] += written["new"]
            self.counters["duplicates"] += written["duplicates"]
        outcomes = [m.outcome for m in read if m.outcome is not None]
        refused = next((o for o in outcomes if not o.accepted), None)
        return Outcome(
            accepted=refused is None,
            new=written["new"] + sum(o.new for o in outcomes),
            duplicates=written["duplicates"] + sum(o.duplicates for o in outcomes),
            reason=refused.reason if refused else "",
            kind=refused.kind if refused else "",
        )

    # --- reading and checking ---

    def _read(self, topic: str, payload: bytes) -> _Message:
        """Parse and check one message; a refusal is its outcome. Raises only when the
        registry is unreachable."""
        message = _Message(topic, payload)
        for attempt in range(1, MAX_STORE_ATTEMPTS + 1):
            try:
                self._check(message)
                return message
            except OriginRefused as exc:
                message.refused = exc
                message.outcome = Outcome(False, reason=exc.reason, kind="origin")
                return message
            except (ValidationError, TopicError, ValueError) as exc:
                message.outcome = Outcome(False, reason=_reason(exc), kind="invalid")
                return message
            except Exception as exc:
                if store_unavailable(exc):
                    raise
                if attempt == MAX_STORE_ATTEMPTS:
                    message.outcome = _unstorable("could not be checked", exc)
        return message

    def _check(self, message: _Message) -> None:
        site_id, gateway_id, channel = parse_topic(message.topic, self.topic_root)
        payload = message.payload
        if channel == "observations":
            batch = ObservationBatch.model_validate_json(payload)
            _check_topic(batch.site_id, batch.gateway_id, site_id, gateway_id)
            self.origins.check(gateway_id, site_id, {o.device_id for o in batch.observations})
            person_for = self.registry.person_for_device
            message.rows = [
                StoredObservation(
                    gateway_id=batch.gateway_id,
                    seq=obs.seq,
                    person_id=person_for(obs.device_id, obs.ts_ms),
                    device_id=obs.device_id,
                    type=obs.type,
                    value=obs.value,
                    unit=obs.unit,
                    ts_ms=obs.ts_ms,
                    device_ts_ms=obs.device_ts_ms,
                )
                for obs in batch.observations
            ]
        elif channel == "alerts":
            alert = AlertMessage.model_validate_json(payload)
            _check_topic(alert.site_id, alert.gateway_id, site_id, gateway_id)
            self.origins.check(gateway_id, site_id, [alert.device_id])
            message.alert = alert
            message.person_id = self.registry.person_for_device(alert.device_id, alert.raised_at_ms)
        elif channel == "state":
            if not payload:
                message.outcome = Outcome(accepted=True)  # a cleared retained message
                return
            state = GatewayState.model_validate_json(payload)
            _check_topic(state.site_id, state.gateway_id, site_id, gateway_id)
            self.origins.check(gateway_id, site_id)
            message.state = state
        else:
            message.outcome = Outcome(accepted=True)  # commands are the cloud's own

    # --- storing ---

    def _store_alone(self, message: _Message) -> Outcome:
        """Store one message, trying a few times; then it is unstorable (poison)."""
        for attempt in range(1, MAX_STORE_ATTEMPTS + 1):
            try:
                return self._store(message)
            except Exception as exc:
                if store_unavailable(exc):
                    raise
                log.warning(
                    "storing a message on %s failed (try %d of %d): %r",
                    message.topic,
                    attempt,
                    MAX_STORE_ATTEMPTS,
                    exc,
                )
                if attempt == MAX_STORE_ATTEMPTS:
                    return _unstorable(f"could not be stored ({attempt} tries)", exc)
        raise AssertionError("unreachable")

    def _store(self, message: _Message) -> Outcome:
        if message.rows:
            new = self.timeseries.write(message.rows)
            return Outcome(accepted=True, new=new, duplicates=len(message.rows) - new)
        if message.alert is not None:
            stored = self.registry.record_alert(message.alert, message.person_id)
            return Outcome(accepted=True, new=int(stored), duplicates=int(not stored))
        if message.state is not None:
            self.registry.record_gateway_state(message.state)
        return Outcome(accepted=True)

    def _record(self, message: _Message) -> None:
        outcome = message.outcome
        assert outcome is not None
        if not outcome.accepted:
            log.warning("rejected message on %s: %s", message.topic, outcome.reason)
            self._keep_aside(message, outcome)
        with self._lock:
            self.counters["messages"] += 1
            self.counters["rejected" if not outcome.accepted else "accepted"] += 1
            self.counters["stored"] += outcome.new
            self.counters["duplicates"] += outcome.duplicates
            if not outcome.accepted:
                self.counters[f"dead_letters_{outcome.kind}"] += 1

    def _keep_aside(self, message: _Message, outcome: Outcome) -> None:
        """The dead letter, and for a refused sender the security event. A registry that is
        down raises (the message comes again); one that cannot take this row is logged."""
        try:
            self.registry.keep_dead_letter(
                message.topic[:MAX_TOPIC], message.payload, outcome.reason, outcome.kind
            )
            if message.refused is not None:
                refused = message.refused
                security_events.record(
                    self.registry, refused.gateway_id, refused.site_id, refused.reason
                )
        except Exception as exc:
            if store_unavailable(exc):
                raise
            log.error("could not keep a dead letter from %s: %r", message.topic, exc)
            with self._lock:
                self.counters["dead_letters_lost"] += 1

    def dead_letter_counts(self) -> dict[str, int]:
        with self._lock:
            return {
                key.removeprefix("dead_letters_"): value
                for key, value in self.counters.items()
                if key.startswith("dead_letters_")
            }


def _check_topic(site_id: str, gateway_id: str, topic_site: str, topic_gateway: str) -> None:
    if (site_id, gateway_id) != (topic_site, topic_gateway):
        raise ValueError(
            f"payload names site '{site_id}' gateway '{gateway_id}' but was published "
            f"under site '{topic_site}' gateway '{topic_gateway}'"
        )


def _unstorable(what: str, exc: Exception) -> Outcome:
    reason = f"{what}: {type(exc).__name__}: {exc}"
    return Outcome(accepted=False, reason=reason[:MAX_REASON], kind="unstorable")


def _reason(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        parts = []
        for item in exc.errors()[:5]:
            where = ".".join(str(p) for p in item["loc"]) or "payload"
            parts.append(f"{where}: {item['msg']}")
        return ("schema validation failed: " + "; ".join(parts))[:MAX_REASON]
    return str(exc)[:MAX_REASON]


@dataclass(frozen=True)
class _Delivery:
    client: mqtt.Client
    message: mqtt.MQTTMessage
    arrived_ms: int


class IngestWorker:
    """One ingest process's MQTT session. Messages are acknowledged only after they are
    stored or kept aside as dead letters.

    The MQTT thread only queues what arrives; a store thread takes every message waiting
    (up to MAX_MESSAGES_PER_WRITE), stores them with one time-series write, then
    acknowledges them in the order they came. While a store is down it keeps the messages
    at hand, unacknowledged, and tries them again with a growing pause; it writes a
    heartbeat to the registry every few seconds for /health.
    """

    def __init__(
        self, ingest: Ingest, mqtt_config: MqttConfig, ingest_config: IngestConfig
    ) -> None:
        self.ingest = ingest
        self.mqtt_config = mqtt_config
        self.ingest_config = ingest_config
        self._client: mqtt.Client | None = None
        self.last_stored_ms: int | None = None
        self.started_ms = now_ms()
        self.redelivered = 0
        self.subscribed = False
        self._granted = 0
        self._waiting: queue.Queue[_Delivery] = queue.Queue()
        self._held: list[_Delivery] = []
        self._stopping = threading.Event()
        self._storer: threading.Thread | None = None
        self._next_beat = 0.0

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

    @property
    def waiting(self) -> int:
        """Messages received and not yet stored or kept aside."""
        return self._waiting.qsize() + len(self._held)

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
        self.started_ms = now_ms()
        self._next_beat = 0.0
        self._storer = threading.Thread(target=self._store_loop, name="ingest-store", daemon=True)
        self._storer.start()
        client.loop_start()

    def stop(self) -> None:
        self._stopping.set()
        if self._storer is not None:
            self._storer.join()
            self._storer = None
        # What was queued but not stored stays unacknowledged: the broker sends it again.
        self._held = []
        while not self._waiting.empty():
            self._waiting.get_nowait()
        if self._client is not None:
            self._client.disconnect()
            self._client.loop_stop()
            self._client = None
            self.subscribed = False
        try:
            heartbeat.remove(self.ingest.registry, self.client_id)
        except Exception as exc:  # the registry may be what is down
            log.warning("could not remove the ingest heartbeat of %s: %r", self.client_id, exc)

    def status(self) -> heartbeat.WorkerStatus:
        held = self._held
        return heartbeat.WorkerStatus(
            worker_id=self.client_id,
            started_at_ms=self.started_ms,
            updated_at_ms=now_ms(),
            last_stored_at_ms=self.last_stored_ms,
            waiting=self.waiting,
            waiting_since_ms=held[0].arrived_ms if held else None,
            retrying=len(held),
            redelivered=self.redelivered,
            messages=self.ingest.counters["messages"],
            stored=self.ingest.counters["stored"],
            dead_letters=self.ingest.dead_letter_counts(),
        )

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
        if message.dup:
            self.redelivered += 1
        self._waiting.put(_Delivery(client, message, now_ms()))

    def _store_loop(self) -> None:
        pause = RETRY_FIRST_S
        while not self._stopping.is_set():
            self._beat()
            batch = list(self._held)
            if not batch:
                try:
                    batch.append(self._waiting.get(timeout=0.1))
                except queue.Empty:
                    continue
            while len(batch) < MAX_MESSAGES_PER_WRITE:
                try:
                    batch.append(self._waiting.get_nowait())
                except queue.Empty:
                    break
            self._held = batch
            try:
                self.ingest.handle_many([(d.message.topic, d.message.payload) for d in batch])
            except Exception as exc:
                # A store is down: keep the messages, unacknowledged, and try again.
                if store_unavailable(exc):
                    log.warning(
                        "could not store %d messages, trying again in %.1f s: %r",
                        len(batch),
                        pause,
                        exc,
                    )
                else:
                    log.exception("could not store %d messages; trying again", len(batch))
                self._beat()
                self._stopping.wait(pause)
                pause = min(pause * 2, RETRY_MAX_S)
                continue
            pause = RETRY_FIRST_S
            self._held = []
            self.last_stored_ms = now_ms()
            for delivery in batch:
                if delivery.message.qos > 0:
                    delivery.client.ack(delivery.message.mid, delivery.message.qos)

    def _beat(self) -> None:
        """Write the heartbeat, at most every HEARTBEAT_S."""
        clock = now_ms() / 1000
        if clock < self._next_beat:
            return
        self._next_beat = clock + heartbeat.HEARTBEAT_S
        try:
            heartbeat.write(self.ingest.registry, self.status())
        except Exception as exc:
            log.warning("could not write the ingest heartbeat: %r", exc)
