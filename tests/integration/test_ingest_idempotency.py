"""Redelivered and reordered messages add nothing: two ingest workers on one shared
subscription of the real Mosquitto, the registry in PostgreSQL, the time series in InfluxDB.

Every message a gateway sent is published one to three times, all of them shuffled, the
way a broker's redelivery after a crash and a gateway's resend after a reconnect can mix
them. What the store holds must be what the gateway sent, once."""

from __future__ import annotations

import random
import time
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import func, select

from anxin.cloud.database.models import Alert, AlertTransition, AuditEntry
from anxin.cloud.ingest.influx import InfluxTimeSeries
from anxin.cloud.ingest.worker import Ingest, IngestWorker
from anxin.config import IngestConfig, MqttConfig, TimeSeriesConfig
from anxin.protocol import AlertMessage, Observation, ObservationBatch, encode
from tests.support.cloud import seeded_stores
from tests.support.influx import running_influxd
from tests.support.waiting import eventually

pytestmark = [pytest.mark.services, pytest.mark.slow]
BATCHES = 40
PER_BATCH = 25
ALERT_REPEATS = 6


def gateway_messages(topic_root: str) -> list[tuple[str, bytes]]:
    base = f"{topic_root}/home-1/gw-1"
    start = int(time.time() * 1000) - 60_000
    messages = []
    for batch in range(BATCHES):
        observations = [
            Observation(
                seq=batch * PER_BATCH + n,
                device_id="hr-1",
                type="heart_rate",
                value=60 + n,
                unit="/min",
                ts_ms=start + (batch * PER_BATCH + n) * 10,
            )
            for n in range(PER_BATCH)
        ]
        batch_message = ObservationBatch(
            site_id="home-1", gateway_id="gw-1", observations=observations
        )
        messages.append((f"{base}/observations", encode(batch_message)))
    for repeat in range(ALERT_REPEATS):
        alert = AlertMessage(
            site_id="home-1",
            gateway_id="gw-1",
            seq=10_000 + repeat,
            device_id="hr-1",
            kind="heart_rate_high",
            severity="high",
            raised_at_ms=start + repeat * 1000,
            observation="heart_rate",
            value=130 + repeat,
            threshold=120,
            message="heart_rate above 120",
        )
        messages.append((f"{base}/alerts", encode(alert)))
    return messages


async def test_duplicated_and_reordered_deliveries_are_stored_once(
    mosquitto: tuple[str, int], postgres_url: str, topic_root: str, tmp_path: Path
) -> None:
    host, port = mosquitto
    mqtt_config = MqttConfig(host=host, port=port)
    sent = gateway_messages(topic_root)
    rng = random.Random(7)
    deliveries = [message for message in sent for _ in range(rng.randint(1, 3))]
    rng.shuffle(deliveries)
    assert len(deliveries) > len(sent)
    group = f"idem-{topic_root.split('/')[0]}"
    with running_influxd(tmp_path) as influx_url, seeded_stores(postgres_url) as stores:
        timeseries = InfluxTimeSeries(
            TimeSeriesConfig(backend="influxdb", url=influx_url, database="idempotency")
        )
        ingests = [Ingest(stores.registry, timeseries, topic_root) for _ in range(2)]
        workers = [
            IngestWorker(
                ingest,
                mqtt_config,
                IngestConfig(topic_root=topic_root, shared_group=group, worker_id=f"{group}-{n}"),
            )
            for n, ingest in enumerate(ingests)
        ]
        for worker in workers:
            worker.start()
        publisher = mqtt.Client(CallbackAPIVersion.VERSION2)
        try:
            await eventually(lambda: all(w.subscribed for w in workers), what="subscriptions")
            publisher.connect(host, port)
            publisher.loop_start()
            for topic, payload in deliveries:
                publisher.publish(topic, payload, qos=1).wait_for_publish(10)
            await eventually(
                lambda: sum(i.counters["messages"] for i in ingests) == len(deliveries),
                what=f"all {len(deliveries)} deliveries handled",
                timeout=60,
            )
            assert sum(i.counters["rejected"] for i in ingests) == 0
            assert timeseries.count() == BATCHES * PER_BATCH
            # InfluxDB overwrites a redelivered point in place (one point per gateway and
            # seq), so what counts is what the store holds, not what the workers wrote.
            rows = timeseries.query("p0001", "heart_rate", since_ms=0, limit=10_000)
            assert sorted(r.seq for r in rows) == list(range(BATCHES * PER_BATCH))
            with stores.registry.session() as session:
                alerts = list(session.scalars(select(Alert)))
                assert len(alerts) == 1, "the repeats fold into one open alert"
                assert alerts[0].occurrences == ALERT_REPEATS
                assert alerts[0].person_id == "p0001"
                created = session.scalar(
                    select(func.count())
                    .select_from(AlertTransition)
                    .where(AlertTransition.to_status == "open")
                )
                raised = session.scalar(
                    select(func.count())
                    .select_from(AuditEntry)
                    .where(AuditEntry.action == "alert.raise")
                )
            assert (created, raised) == (1, 1)
        finally:
            publisher.loop_stop()
            publisher.disconnect()
            for worker in workers:
                worker.stop()
            timeseries.close()
