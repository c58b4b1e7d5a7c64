"""MQTT ingest: validate, resolve device to person, store; bad messages kept aside.

Several ingest processes may run at once: they share one MQTT shared subscription,
and every write is idempotent on (gateway id, sequence).
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from dataclasses import dataclass

import paho.mqtt.client as mqtt
from pydantic import ValidationError

from anxin.cloud.registry import Registry, now_ms
from anxin.cloud.timeseries import StoredObservation, TimeSeriesStore
from anxin.config import IngestConfig, MqttConfig
from anxin.mqtt import connect_client
from anxin.protocol import AlertMessage, GatewayState, ObservationBatch, TopicError, parse_topic

log = logging.getLogger(__name__)


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
        if not outcome.accepted:
            self.registry.keep_dead_letter(topic, payload, outcome.reason)
            log.warning("rejected message on %s: %s", topic, outcome.reason)
        with self._lock:
            self.counters["messages"] += 1
            self.counters["rejected" if not outcome.accepted else "accepted"] += 1
            self.counters["stored"] += outcome.new
            self.counters["duplicates"] += outcome.duplicates
        return outcome

    def _handle(self, topic: str, payload: bytes) -> Outcome:
        site_id, gateway_id, channel = parse_topic(topic, self.topic_root)
        if channel == "observations":
            batch = ObservationBatch.model_validate_json(payload)
            self._check_origin(batch.site_id, batch.gateway_id, site_id, gateway_id)
            rows = [
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
    """One ingest process's MQTT session. Messages are acknowledged only after they are stored."""

    def __init__(
        self, ingest: Ingest, mqtt_config: MqttConfig, ingest_config: IngestConfig
    ) -> None:
        self.ingest = ingest
        self.mqtt_config = mqtt_config
        self.ingest_config = ingest_config
        self._client: mqtt.Client | None = None
        self.last_message_ms: int | None = None
        self.subscribed = False

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
        client.loop_start()

    def stop(self) -> None:
        if self._client is not None:
            self._client.disconnect()
            self._client.loop_stop()
            self._client = None
            self.subscribed = False

    def _on_connect(self, client: mqtt.Client) -> None:
        for subscription in self.subscriptions:
            client.subscribe(subscription, qos=1)

    def _on_subscribed(self, *_args: object) -> None:
        self.subscribed = True

    def _on_message(
        self, client: mqtt.Client, _userdata: object, message: mqtt.MQTTMessage
    ) -> None:
        try:
            self.ingest.handle(message.topic, message.payload)
        except Exception:
            # Store unreachable: leave the message unacknowledged so the broker redelivers it.
            log.exception("could not store message on %s; it will be redelivered", message.topic)
            return
        self.last_message_ms = now_ms()
        if message.qos > 0:
            client.ack(message.mid, message.qos)
