"""Messages that pass for valid at a glance but carry numbers no store can hold, and the
check that ingest sets each aside and keeps storing the rest. Broker-agnostic: give it a
``publish`` function for whichever broker the ingest worker listens on."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from anxin.cloud.stores import Stores
from anxin.protocol import Observation, ObservationBatch, encode
from tests.support.cloud import now_ms
from tests.support.waiting import eventually

Publish = Callable[[str, bytes], None]


@dataclass(frozen=True)
class Poison:
    name: str
    channel: str
    payload: bytes
    reason: str  # what the dead letter's reason must say


def _observation(device_id: str, **changes: Any) -> dict[str, Any]:
    reading = {
        "seq": 1,
        "device_id": device_id,
        "type": "heart_rate",
        "value": 72,
        "unit": "/min",
        "ts_ms": now_ms(),
    }
    return reading | changes


def poison_messages(site_id: str, gateway_id: str, device_id: str) -> list[Poison]:
    def batch(**changes: Any) -> bytes:
        body = {
            "schema": 1,
            "site_id": site_id,
            "gateway_id": gateway_id,
            "observations": [_observation(device_id, **changes)],
        }
        return json.dumps(body).encode()

    def alert(**changes: Any) -> bytes:
        body = {
            "schema": 1,
            "site_id": site_id,
            "gateway_id": gateway_id,
            "seq": 5,
            "device_id": device_id,
            "kind": "heart_rate_high",
            "severity": "critical",
            "raised_at_ms": now_ms(),
            "message": "heart_rate above 120",
            "observation": "heart_rate",
            "value": 131,
            "threshold": 120,
        }
        return json.dumps(body | changes).encode()

    def state(**changes: Any) -> bytes:
        body = {
            "schema": 1,
            "site_id": site_id,
            "gateway_id": gateway_id,
            "online": True,
            "ts_ms": now_ms(),
            "devices": {},
        }
        return json.dumps(body | changes).encode()

    limit = "less than or equal to 9223372036854775807"
    return [
        Poison("seq 2**70", "observations", batch(seq=2**70), f"observations.0.seq: Input should be {limit}"),
        Poison("seq 2**63", "observations", batch(seq=2**63), "observations.0.seq"),
        Poison("ts_ms 2**70", "observations", batch(ts_ms=2**70), "observations.0.ts_ms"),
        Poison("ts_ms -1", "observations", batch(ts_ms=-1), "before 2000-01-01"),
        Poison("device_ts_ms 2**70", "observations", batch(device_ts_ms=2**70), "observations.0.device_ts_ms"),
        Poison("heart rate 1e308", "observations", batch(value=1e308), "outside 0..300 /min"),
        Poison("alert seq 2**70", "alerts", alert(seq=2**70), f"seq: Input should be {limit}"),
        Poison("alert time 2**70", "alerts", alert(raised_at_ms=2**70), "raised_at_ms"),
        Poison("alert value inf", "alerts", alert(value=1e999), "value: Value error, must be a finite number"),
        Poison("evidence 2**70", "alerts", alert(evidence={"window_start_ms": 2**70}), "'window_start_ms' must be at most"),
        Poison("state time 2**70", "state", state(ts_ms=2**70), "ts_ms"),
    ]  # fmt: skip


def normal_batch(site_id: str, gateway_id: str, device_id: str, seqs: range) -> bytes:
    start = now_ms()
    observations = [
        Observation(
            seq=seq,
            device_id=device_id,
            type="heart_rate",
            value=60 + seq % 60,
            unit="/min",
            ts_ms=start + n,
        )
        for n, seq in enumerate(seqs)
    ]
    return encode(
        ObservationBatch(site_id=site_id, gateway_id=gateway_id, observations=observations)
    )


@contextmanager
def mqtt_publisher(
    host: str, port: int, username: str | None = None, password: str | None = None
) -> Iterator[Publish]:
    """A QoS 1 publisher that returns once the broker has the message."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2)
    if username:
        client.username_pw_set(username, password)
    client.connect(host, port)
    client.loop_start()

    def publish(topic: str, payload: bytes) -> None:
        client.publish(topic, payload, qos=1).wait_for_publish(10)

    try:
        yield publish
    finally:
        client.loop_stop()
        client.disconnect()


async def poison_then_normal_traffic(
    publish: Publish,
    stores: Stores,
    topic_root: str,
    site_id: str = "home-1",
    gateway_id: str = "gw-1",
    device_id: str = "hr-1",
    timeout: float = 30.0,
) -> list[Poison]:
    """Publish every poison message, then normal observations; wait until the normal ones
    are stored and each poison message is a dead letter saying why. Returns the poisons."""
    base = f"{topic_root}/{site_id}/{gateway_id}"
    poisons = poison_messages(site_id, gateway_id, device_id)
    stored_before = stores.timeseries.count()
    for poison in poisons:
        publish(f"{base}/{poison.channel}", poison.payload)
    for start in (0, 10):
        publish(
            f"{base}/observations",
            normal_batch(site_id, gateway_id, device_id, range(start, start + 10)),
        )
    await eventually(
        lambda: stores.timeseries.count() - stored_before == 20,
        timeout=timeout,
        what="the 20 normal observations sent after the poison to be stored",
    )
    by_payload = await eventually(
        lambda: (
            found if all(p.payload in (found := _dead_letters(stores)) for p in poisons) else None
        ),
        timeout=timeout,
        what="every poison message to be a dead letter",
    )
    for poison in poisons:
        assert poison.reason in by_payload[poison.payload], (
            poison.name,
            by_payload[poison.payload],
        )
    return poisons


def _dead_letters(stores: Stores) -> dict[bytes, str]:
    return {bytes(d.payload): d.reason for d in stores.registry.dead_letters(limit=1000)}
