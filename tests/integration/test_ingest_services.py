"""The uplink and ingest over a real Mosquitto, into a real PostgreSQL."""

from __future__ import annotations

import json
import time
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from anxin.cloud.ingest.worker import Ingest, IngestWorker
from anxin.cloud.registry.registry import Principal
from anxin.config import GatewayConfig, IngestConfig, MqttConfig
from anxin.edge.queue import DiskQueue
from anxin.edge.uplink import Uplink
from anxin.protocol import UNITS, Observation
from tests.support.cloud import alert_payload, seeded_stores
from tests.support.waiting import eventually

pytestmark = [pytest.mark.services]
ADMIN = Principal("admin", "admin", "admin", None, frozenset())


def worker_config(topic_root: str, group: str, worker: str) -> IngestConfig:
    # Worker ids unique to this test run, so parallel runs on one broker do not collide.
    return IngestConfig(
        topic_root=topic_root, shared_group=group, worker_id=f"{topic_root.split('/')[0]}-{worker}"
    )


def stop_and_forget(worker: IngestWorker, config: MqttConfig) -> None:
    """Stop the worker, then end its persistent session so the broker does not keep it."""
    worker.stop()
    cleaner = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id=worker.client_id, clean_session=True
    )
    cleaner.connect(config.host, config.port)
    cleaner.disconnect()


def queue_observations(queue: DiskQueue, count: int, device: str = "hr-1") -> None:
    start = int(time.time() * 1000)

    def bodies(seqs: list[int]) -> list[str]:
        return [
            Observation(
                seq=s,
                device_id=device,
                type="heart_rate",
                value=60 + s % 50,
                unit=UNITS["heart_rate"],
                ts_ms=start + s,
            ).model_dump_json()
            for s in seqs
        ]

    queue.put("observations", count, bodies)


async def test_uplink_to_shared_ingest_workers_stores_each_observation_once(
    mosquitto: tuple[str, int], postgres_url: str, topic_root: str, tmp_path: Path
) -> None:
    host, port = mosquitto
    mqtt_config = MqttConfig(host=host, port=port)
    group = f"ingest-{topic_root.split('/')[0]}"
    with seeded_stores(postgres_url) as stores:
        ingests = [Ingest(stores.registry, stores.timeseries, topic_root) for _ in range(2)]
        workers = [
            IngestWorker(ingest, mqtt_config, worker_config(topic_root, group, f"w{n}"))
            for n, ingest in enumerate(ingests)
        ]
        for worker in workers:
            worker.start()
        await eventually(lambda: all(w.subscribed for w in workers), what="both subscriptions")

        gateway = GatewayConfig(
            site_id="home-1", gateway_id="gw-1", topic_root=topic_root, batch_size=20
        )
        queue = DiskQueue(tmp_path / "queue.sqlite")
        queue_observations(queue, 500)
        uplink = Uplink(mqtt_config, gateway, queue, lambda: {"hr-1": "connected"})
        await uplink.start()
        try:
            await eventually(lambda: queue.depth() == 0, what="the queue to drain")
            await eventually(
                lambda: stores.timeseries.count() == 500, what="500 stored observations"
            )
            # Both workers took a share of the load, and nothing was stored twice.
            assert all(ingest.counters["stored"] > 0 for ingest in ingests)
            assert sum(ingest.counters["stored"] for ingest in ingests) == 500
            rows = stores.timeseries.query("p0001", "heart_rate", since_ms=0, limit=1000)
            assert len(rows) == 500 and {r.person_id for r in rows} == {"p0001"}
            # The retained state says the gateway is online with its device states.
            await eventually(
                lambda: stores.registry.gateway("gw-1").online, what="the online state"
            )
        finally:
            await uplink.stop()
            for worker in workers:
                stop_and_forget(worker, mqtt_config)
            queue.close()


async def test_bad_payloads_are_dead_lettered_and_ingest_continues(
    mosquitto: tuple[str, int], postgres_url: str, topic_root: str
) -> None:
    host, port = mosquitto
    with seeded_stores(postgres_url) as stores:
        ingest = Ingest(stores.registry, stores.timeseries, topic_root)
        worker = IngestWorker(
            ingest, MqttConfig(host=host, port=port), worker_config(topic_root, "g", "w")
        )
        worker.start()
        await eventually(lambda: worker.subscribed, what="the worker's subscription")
        publisher = mqtt.Client(CallbackAPIVersion.VERSION2)
        publisher.connect(host, port)
        publisher.loop_start()
        try:
            base = f"{topic_root}/home-1/gw-1"
            bad = json.dumps(
                {"schema": 1, "site_id": "home-1", "gateway_id": "gw-1", "observations": "many"}
            )
            publisher.publish(f"{base}/observations", bad, qos=1).wait_for_publish(5)
            publisher.publish(f"{base}/alerts", b"\xff\xfe not json", qos=1).wait_for_publish(5)
            good = alert_payload(7).decode().replace("anxin/v1", topic_root)
            publisher.publish(f"{base}/alerts", good, qos=1).wait_for_publish(5)
            await eventually(
                lambda: len(stores.registry.alerts_visible_to(ADMIN)) == 1, what="the good alert"
            )
            dead = stores.registry.dead_letters()
            assert len(dead) == 2
            assert ingest.counters["rejected"] == 2
            assert any("observations: Input should be a valid array" in d.reason for d in dead)
        finally:
            publisher.loop_stop()
            publisher.disconnect()
            stop_and_forget(worker, MqttConfig(host=host, port=port))


async def test_what_arrives_while_ingest_is_down_is_stored_when_it_returns(
    mosquitto: tuple[str, int], postgres_url: str, topic_root: str, tmp_path: Path
) -> None:
    host, port = mosquitto
    mqtt_config = MqttConfig(host=host, port=port)
    with seeded_stores(postgres_url) as stores:
        ingest = Ingest(stores.registry, stores.timeseries, topic_root)
        config = worker_config(topic_root, "g", "only")
        worker = IngestWorker(ingest, mqtt_config, config)
        worker.start()
        await eventually(lambda: worker.subscribed, what="the worker's subscription")
        worker.stop()  # the only ingest worker goes down; its session stays with the broker

        gateway = GatewayConfig(site_id="home-1", gateway_id="gw-1", topic_root=topic_root)
        queue = DiskQueue(tmp_path / "queue.sqlite")
        queue_observations(queue, 200)
        uplink = Uplink(mqtt_config, gateway, queue, dict)
        await uplink.start()
        try:
            await eventually(lambda: queue.depth() == 0, what="the broker to accept everything")
            assert stores.timeseries.count() == 0
            worker = IngestWorker(ingest, mqtt_config, config)
            worker.start()
            await eventually(
                lambda: stores.timeseries.count() == 200, what="the held messages to be stored"
            )
            assert ingest.counters["duplicates"] == 0
        finally:
            await uplink.stop()
            stop_and_forget(worker, mqtt_config)
            queue.close()
