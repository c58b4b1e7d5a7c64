"""The broker goes down under load and comes back: every observation the gateway
numbered meanwhile is stored exactly once. A Mosquitto of the test's own, with
persistence on as a deployment would run it, so the test can stop and restart it; one
ingest worker on plain subscriptions, which Mosquitto keeps across its restart (it does
not keep shared ones)."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from anxin.cloud.ingest import Ingest, IngestWorker
from anxin.config import (
    DeviceBindingConfig,
    EdgeConfig,
    GatewayConfig,
    IngestConfig,
    MqttConfig,
)
from anxin.demo.homes import demo_homes
from anxin.edge.gateway import Gateway
from anxin.edge.simulation import gateway_radio, simulated_home
from anxin.firmware_sim import PersonProfile
from tests.conftest import free_port, reachable, service_missing
from tests.integration.test_gateway_crash import numbered_and_waiting
from tests.integration.test_ingest_services import stop_and_forget
from tests.support.cloud import seeded_stores, stored_seqs
from tests.support.waiting import eventually

pytestmark = [pytest.mark.services, pytest.mark.slow]
OUTAGE_S = 20.0


class OwnMosquitto:
    def __init__(self, directory: Path) -> None:
        self.port = free_port()
        directory.mkdir(parents=True, exist_ok=True)
        self.config = directory / "mosquitto.conf"
        self.config.write_text(
            f"listener {self.port} 127.0.0.1\nallow_anonymous true\n"
            f"persistence true\npersistence_location {directory}/\n"
            # Started as root, mosquitto would switch to the "mosquitto" user, which cannot
            # write into the test's private directory.
            + ("user root\n" if os.geteuid() == 0 else ""),
            encoding="utf-8",
        )
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["mosquitto", "-c", str(self.config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while not reachable("127.0.0.1", self.port):
            assert time.monotonic() < deadline, "mosquitto did not start"
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGTERM)  # saves its persistence file
            self.process.wait(10)
            self.process = None


async def test_a_broker_outage_under_load_loses_and_repeats_nothing(
    postgres_url: str, topic_root: str, tmp_path: Path
) -> None:
    if shutil.which("mosquitto") is None:
        service_missing("the mosquitto program")
    broker = OwnMosquitto(tmp_path / "broker")
    broker.start()
    mqtt_config = MqttConfig(host="127.0.0.1", port=broker.port)
    home_plan = demo_homes(1)[0]
    devices = tuple(
        DeviceBindingConfig(device_id=d.device_id, address=d.address, kind=d.kind)
        for d in home_plan.devices
        if d.kind in ("heart_rate_strap", "pulse_oximeter", "accelerometer_wearable")
    )
    config = EdgeConfig(
        gateway=GatewayConfig(
            site_id=home_plan.site_id,
            gateway_id=home_plan.gateway_id,
            topic_root=topic_root,
            queue_path=tmp_path / "queue.sqlite",
        ),
        mqtt=mqtt_config,
        devices=devices,
    )
    try:
        with seeded_stores(postgres_url, homes=1) as stores:

            def stored() -> list[int]:
                return stored_seqs(stores)

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
                await play_an_outage(config, broker, worker, stored)
                numbered, waiting = numbered_and_waiting(config.gateway.queue_path)
                expected = set(range(numbered)) - waiting
                await eventually(
                    lambda: set(stored()) >= expected, 90, what="every acknowledged observation"
                )
                seqs = stored()
            finally:
                stop_and_forget(worker, mqtt_config)
    finally:
        broker.stop()
    # Every numbered observation is stored (once: the store keys on gateway and
    # sequence) or still on the gateway's disk.
    assert expected <= set(seqs) <= set(range(numbered)), sorted(expected - set(seqs))[:20]


async def play_an_outage(
    config: EdgeConfig,
    broker: OwnMosquitto,
    worker: IngestWorker,
    stored: Callable[[], list[int]],
) -> None:
    """A gateway streams; the broker stops for OUTAGE_S and comes back. The ingest worker
    returns only after the gateway has sent its backlog, so the broker must have kept the
    worker's session, and the messages for it, across its restart."""
    home = simulated_home(config.devices, PersonProfile(), home_number=1)
    await home.start()
    gateway = Gateway(config, gateway_radio(home, "F0:A1:00:00:00:01"))
    try:
        await gateway.start()
        await eventually(lambda: len(stored()) >= 50, 60, what="50 stored observations")

        broker.stop()
        worker.stop()  # its session stays with the broker
        down_at = gateway.counters["observations"]
        await eventually(lambda: not gateway.uplink.connected, what="the uplink noticing")
        await asyncio.sleep(OUTAGE_S)
        backlog = gateway.queue.depth()
        assert gateway.counters["observations"] - down_at > 100  # readings went on
        assert backlog > 100  # and waited on disk

        broker.start()
        await eventually(
            lambda: gateway.uplink.connected and gateway.queue.depth() < backlog / 10,
            90,
            what="the backlog sent after the broker returned",
        )
        worker.start()
        await eventually(lambda: worker.subscribed, what="the ingest worker back")
    finally:
        await gateway.stop()
        await home.stop()
