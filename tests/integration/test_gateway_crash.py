"""``kill -9`` of a running gateway loses nothing it had queued: after restarts every
observation it numbered is in the store exactly once, or still waiting on its disk; and
every observation its simulated devices sent is, but for those sent in the instant
before a kill, which die with the process if it had not queued them yet."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import pytest

from anxin.cloud.ingest.worker import Ingest, IngestWorker
from anxin.config import IngestConfig, MqttConfig
from anxin.demo.homes import demo_homes
from tests.conftest import free_port
from tests.integration.test_ingest_services import stop_and_forget
from tests.support.cloud import seeded_stores, stored_seqs
from tests.support.sent_and_stored import (
    assert_stored_once_around,
    logged_readings,
    stored_or_waiting,
)
from tests.support.waiting import eventually

pytestmark = [pytest.mark.services, pytest.mark.slow]
REPO = Path(__file__).resolve().parents[2]


def edge_config(path: Path, broker: tuple[str, int], topic_root: str, queue: Path) -> Path:
    home = demo_homes(1)[0]
    streaming = [d for d in home.devices if d.kind in ("heart_rate_strap", "pulse_oximeter")]
    devices = "".join(
        f'[[devices]]\ndevice_id = "{d.device_id}"\nkind = "{d.kind}"\naddress = "{d.address}"\n\n'
        for d in streaming
    )
    path.write_text(
        f'[gateway]\nsite_id = "{home.site_id}"\ngateway_id = "{home.gateway_id}"\n'
        f'topic_root = "{topic_root}"\nqueue_path = "{queue}"\n\n'
        f'[mqtt]\nhost = "{broker[0]}"\nport = {broker[1]}\n\n{devices}',
        encoding="utf-8",
    )
    return path


def start_gateway(config: Path, log: Path) -> subprocess.Popen[bytes]:
    """``anxin edge --simulate``, its devices logging what they send to ``air.jsonl``."""
    air = log.with_name("air.jsonl")
    command = [sys.executable, "-m", "tests.support.air_logged_edge", str(air)]
    command += ["edge", "--config", str(config), "--simulate"]
    with log.open("ab") as out:
        return subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, cwd=REPO)


def kill_9(gateway: subprocess.Popen[bytes]) -> int:
    """Kill the gateway; the wall-clock ms by which it was dead."""
    gateway.send_signal(signal.SIGKILL)
    gateway.wait(10)
    return int(time.time() * 1000)


def numbered_and_waiting(queue: Path) -> tuple[int, set[int]]:
    """How many sequence numbers the gateway allocated, and which rows are still unsent."""
    with closing(sqlite3.connect(queue)) as db:
        allocated = db.execute("SELECT value FROM meta WHERE key='next_seq'").fetchone()[0]
        waiting = {seq for (seq,) in db.execute("SELECT seq FROM outbox")}
    return int(allocated), waiting


def waiting_on_disk(queue: Path) -> int:
    """Rows waiting in the queue file; 0 before the gateway has created it."""
    try:
        return len(numbered_and_waiting(queue)[1]) if queue.exists() else 0
    except sqlite3.OperationalError:  # created, its tables not yet
        return 0


async def test_a_gateway_killed_mid_flow_loses_nothing_it_queued(
    mosquitto: tuple[str, int], postgres_url: str, topic_root: str, tmp_path: Path
) -> None:
    mqtt_config = MqttConfig(host=mosquitto[0], port=mosquitto[1])
    queue = tmp_path / "queue.sqlite"
    config = tmp_path / "edge.toml"
    log = tmp_path / "gateway.log"
    gateway_id = demo_homes(1)[0].gateway_id
    with seeded_stores(postgres_url, homes=1) as stores:

        def stored() -> list[int]:
            return stored_seqs(stores)

        worker = IngestWorker(
            Ingest(stores.registry, stores.timeseries, topic_root),
            mqtt_config,
            IngestConfig(
                topic_root=topic_root,
                shared_group=f"crash-{topic_root.split('/')[0]}",
                worker_id=f"{topic_root.split('/')[0]}-crash",
            ),
        )
        worker.start()
        try:
            await eventually(lambda: worker.subscribed, what="the ingest subscription")
            # 1. The broker is out of reach: observations pile up on disk; then kill -9.
            edge_config(config, ("127.0.0.1", free_port()), topic_root, queue)
            gateway = start_gateway(config, log)
            try:
                await eventually(
                    lambda: waiting_on_disk(queue) >= 30,
                    60,
                    what="30 observations waiting on disk",
                )
            finally:
                kills = [kill_9(gateway)]
            numbered_offline, waiting_offline = numbered_and_waiting(queue)
            assert len(stored()) == 0 and len(waiting_offline) == numbered_offline

            # 2. Back with the broker: the backlog and new readings flow; kill -9 mid-flow.
            edge_config(config, mosquitto, topic_root, queue)
            gateway = start_gateway(config, log)
            try:
                await eventually(
                    lambda: len(stored()) >= numbered_offline + 30,
                    60,
                    what="the backlog and 30 new observations stored",
                )
            finally:
                kills.append(kill_9(gateway))
            numbered_at_kill, _ = numbered_and_waiting(queue)

            # 3. Restarted once more, then stopped as a service manager would.
            gateway = start_gateway(config, log)
            try:
                await eventually(
                    lambda: len(stored()) >= numbered_at_kill + 30,
                    60,
                    what="the restarted gateway's observations",
                )
            finally:
                gateway.send_signal(signal.SIGTERM)
                assert gateway.wait(30) == 0, log.read_text()
            numbered, waiting = numbered_and_waiting(queue)
            expected = set(range(numbered)) - waiting
            await eventually(
                lambda: set(stored()) >= expected, 30, what="every acknowledged observation"
            )
            stored_readings = stored_or_waiting(stores, gateway_id, queue)
        finally:
            stop_and_forget(worker, mqtt_config)
        seqs = stored()
    assert numbered > numbered_at_kill > numbered_offline  # numbering went on, never reused
    # Every numbered observation is stored (once: the store keys on gateway and sequence)
    # or still on the gateway's disk; none was lost.
    assert expected <= set(seqs) <= set(range(numbered)), sorted(expected - set(seqs))[:20]
    # Against what the devices sent: all there, once, in order, but for the instants
    # before the kills.
    assert_stored_once_around(logged_readings(tmp_path / "air.jsonl"), stored_readings, kills)
