"""The broker goes down for minutes under load and comes back: every observation the
simulated devices sent meanwhile is stored exactly once. A Mosquitto of the test's own,
with persistence on as a deployment would run it, so the test can stop and restart it;
one ingest worker on plain subscriptions, which Mosquitto keeps across its restart (it
does not keep shared ones)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from anxin.cloud.ingest.worker import Ingest, IngestWorker
from anxin.cloud.stores import Stores
from anxin.config import (
    EdgeConfig,
    IngestConfig,
    MqttConfig,
)
from anxin.edge.gateway import Gateway
from anxin.edge.simulation import gateway_radio, simulated_home
from anxin.firmware_sim import PersonProfile
from tests.integration.test_gateway_crash import numbered_and_waiting
from tests.integration.test_ingest_services import stop_and_forget
from tests.support.cloud import seeded_stores, stored_seqs
from tests.support.mosquitto import OwnMosquitto
from tests.support.sent_and_stored import (
    ALL_KINDS,
    WITH_ADVERTISER,
    Readings,
    assert_stored_exactly_once,
    drained,
    go_quiet,
    record_air,
    sent_readings,
    settled_stored,
    streaming_home_config,
)
from tests.support.waiting import eventually

pytestmark = [pytest.mark.services, pytest.mark.slow]
OUTAGE_S = 180.0  # "several minutes"


async def test_a_broker_outage_of_minutes_under_load_loses_and_repeats_nothing(
    postgres_url: str, topic_root: str, tmp_path: Path
) -> None:
    broker = OwnMosquitto(tmp_path / "broker")
    broker.start()
    mqtt_config = MqttConfig(host="127.0.0.1", port=broker.port)
    config = streaming_home_config(
        topic_root, tmp_path / "queue.sqlite", mqtt_config, WITH_ADVERTISER
    )
    gateway_id = config.gateway.gateway_id
    try:
        with seeded_stores(postgres_url, homes=1) as stores:
            worker = IngestWorker(
                Ingest(stores.registry, stores.timeseries, topic_root),
                mqtt_config,
                IngestConfig(
                    topic_root=topic_root,
                    shared_group="",
                    worker_id=f"{topic_root.split('/')[0]}-outage",
                ),
            )
            worker.start()
            try:
                await eventually(lambda: worker.subscribed, what="the ingest subscription")
                sent = await play_an_outage(config, broker, worker, stores)
                stored = await settled_stored(stores, gateway_id, sent)
                numbered, waiting = numbered_and_waiting(config.gateway.queue_path)
                seqs = stored_seqs(stores)
            finally:
                stop_and_forget(worker, mqtt_config)
    finally:
        broker.stop()
    # What the devices sent, observation for observation, in order, once.
    assert_stored_exactly_once(sent, stored, ALL_KINDS)
    # And by the gateway's own numbering: nothing waiting, nothing numbered twice.
    assert not waiting and sorted(seqs) == list(range(numbered))


async def play_an_outage(
    config: EdgeConfig, broker: OwnMosquitto, worker: IngestWorker, stores: Stores
) -> Readings:
    """A gateway streams; the broker stops for OUTAGE_S and comes back. The ingest worker
    returns only after the gateway has sent its backlog, so the broker must have kept the
    worker's session, and the messages for it, across its restart. Returns what the
    devices sent, once they have gone quiet and the gateway has drained its queue."""
    home = simulated_home(config.devices, PersonProfile(), home_number=1)
    record_air(home)
    await home.start()
    gateway = Gateway(config, gateway_radio(home, "F0:A1:00:00:00:01"))
    try:
        await gateway.start()
        await eventually(lambda: len(stored_seqs(stores)) >= 50, 60, what="50 stored observations")

        broker.stop()
        worker.stop()  # its session stays with the broker
        down_at = gateway.counters["observations"]
        await eventually(lambda: not gateway.uplink.connected, what="the uplink noticing")
        await asyncio.sleep(OUTAGE_S)
        backlog = gateway.queue.depth()
        # About nine observations a second: readings went on, and waited on disk.
        assert gateway.counters["observations"] - down_at > 4 * OUTAGE_S
        assert backlog > 4 * OUTAGE_S

        broker.start()
        await eventually(
            lambda: gateway.uplink.connected and gateway.queue.depth() < backlog / 10,
            120,
            what="the backlog sent after the broker returned",
        )
        worker.start()
        await eventually(lambda: worker.subscribed, what="the ingest worker back")
        await asyncio.sleep(5)  # streaming on, with the worker back
        await go_quiet(home)
        await drained(gateway)
        return sent_readings(home)
    finally:
        await gateway.stop()
        await home.stop()
