"""Provisioning end to end, as an installer does it: the cloud issues an enrolment token
(`anxin admin enrol-gateway`), the gateway redeems it (`anxin edge provision`) at the real
API on PostgreSQL, and a Mosquitto of the test's own, with no anonymous access and the
password and ACL files the cloud wrote, lets the gateway publish under its own prefix only."""

from __future__ import annotations

import asyncio
import os
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from anxin.cloud.gateways.enrolment import Enrolment
from anxin.cloud.ingest.worker import Ingest, IngestWorker
from anxin.cloud.service import start_api
from anxin.cloud.stores import Stores, open_stores
from anxin.config import CloudConfig, DeviceBindingConfig, EdgeConfig, load_config
from anxin.demo.homes import demo_homes, seed_registry
from anxin.edge.gateway import Gateway
from anxin.edge.provision import provision
from anxin.edge.simulation import gateway_radio, simulated_home
from anxin.firmware_sim import PersonProfile
from tests.conftest import free_port
from tests.support.cloud import stored_seqs
from tests.support.mosquitto import OwnMosquitto
from tests.support.waiting import eventually

pytestmark = [pytest.mark.services, pytest.mark.slow]
ROOT = "anxin/v1"
CLOUD_USER, CLOUD_PASSWORD = "anxin-cloud", "cloud-password-for-tests"
NOT_AUTHORIZED = 135


@dataclass
class Client:
    """A paho MQTT 5 client that records what the broker answered."""

    client: mqtt.Client
    connack: ReasonCode | None = None
    pubacks: dict[int, ReasonCode] = field(default_factory=dict)
    subacks: dict[int, list[ReasonCode]] = field(default_factory=dict)
    received: list[tuple[str, bytes]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def publish(self, topic: str) -> int:
        info = self.client.publish(topic, b'{"probe": true}', qos=1)
        return info.mid

    def subscribe(self, topic: str) -> int:
        _result, mid = self.client.subscribe(topic, qos=1)
        return int(mid)  # type: ignore[arg-type]

    def topics(self) -> list[str]:
        with self.lock:
            return [topic for topic, _ in self.received]

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def connect(port: int, username: str | None, password: str | None, name: str) -> Client:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=name, protocol=mqtt.MQTTv5)
    if username is not None:
        client.username_pw_set(username, password)
    state = Client(client)

    def on_connect(_c: Any, _u: Any, _f: Any, reason: ReasonCode, _p: Any) -> None:
        state.connack = reason

    def on_publish(_c: Any, _u: Any, mid: int, reason: ReasonCode, _p: Properties) -> None:
        state.pubacks[mid] = reason

    def on_subscribe(_c: Any, _u: Any, mid: int, reasons: list[ReasonCode], _p: Any) -> None:
        state.subacks[mid] = reasons

    def on_message(_c: Any, _u: Any, message: mqtt.MQTTMessage) -> None:
        with state.lock:
            state.received.append((message.topic, message.payload))

    client.on_connect, client.on_publish = on_connect, on_publish
    client.on_subscribe, client.on_message = on_subscribe, on_message
    client.connect("127.0.0.1", port)
    client.loop_start()
    return state


async def connected(port: int, username: str, password: str, name: str) -> Client:
    state = connect(port, username, password, name)
    reason = await eventually(lambda: state.connack, 10, what=f"CONNACK for {username}")
    assert not reason.is_failure, f"{username} refused at CONNECT: {reason}"
    return state


async def anxin(*args: str) -> tuple[int, str, str]:
    """Run the real command line, as an installer or administrator would."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "anxin.cli",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=os.environ | {"PYTHONUNBUFFERED": "1"},
    )
    async with asyncio.timeout(60):
        out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


@dataclass
class Cloud:
    config: CloudConfig
    config_file: Path
    stores: Stores
    broker: OwnMosquitto


@pytest.fixture
def cloud(tmp_path: Path, postgres_url: str) -> Iterator[Cloud]:
    broker_dir = tmp_path / "broker"
    password_file, acl_file = broker_dir / "passwd", broker_dir / "acl"
    broker = OwnMosquitto(
        broker_dir,
        persistence=False,
        listener_lines=["allow_anonymous false"],
        extra_lines=[f"password_file {password_file}", f"acl_file {acl_file}"],
    )
    api_port = free_port()
    pid_file = broker_dir / "mosquitto.pid"
    config_file = tmp_path / "cloud.toml"
    config_file.write_text(
        f"""
[mqtt]
host = "127.0.0.1"
port = {broker.port}
protocol = "5"
username = "{CLOUD_USER}"
password = "{CLOUD_PASSWORD}"

[registry]
url = "{postgres_url}"

[timeseries]
url = "{postgres_url}"

[api]
port = {api_port}
public_url = "http://127.0.0.1:{api_port}/api/v1"

[ingest]
topic_root = "{ROOT}"

[broker]
host = "127.0.0.1"
port = {broker.port}
protocol = "5"
password_file = "{password_file}"
acl_file = "{acl_file}"
reload_pid_file = "{pid_file}"
"""
    )
    config = load_config(CloudConfig, config_file, environ={})
    stores = open_stores(config)
    # Mosquitto refuses to start without its files: write them (no gateway yet) first.
    Enrolment(stores.registry, config).sync_broker_files(reload=False)
    broker.start()
    assert broker.process is not None
    pid_file.write_text(f"{broker.process.pid}\n")
    try:
        yield Cloud(config, config_file, stores, broker)
    finally:
        broker.stop()
        stores.close()


async def enrol(cloud: Cloud, site: str, gateway: str) -> str:
    code, out, err = await anxin(
        "admin", "enrol-gateway", "--config", str(cloud.config_file), "--site", site,
        "--gateway", gateway,
    )  # fmt: skip
    assert code == 0, err
    assert "anxin edge provision --token" in err
    return out.strip()


async def provisioned(token: str, target: Path, *extra: str) -> EdgeConfig:
    code, out, err = await anxin(
        "edge", "provision", "--token", token, "--config", str(target), *extra
    )
    assert code == 0, err
    assert f"wrote {target}" in out
    return load_config(EdgeConfig, target, environ={})


async def test_a_provisioned_gateway_publishes_only_under_its_own_prefix(
    cloud: Cloud, tmp_path: Path
) -> None:
    port = cloud.broker.port
    runner = await start_api(cloud.config, cloud.stores)
    try:
        token = await enrol(cloud, "home-1", "gw-1")
        edge_file = tmp_path / "etc" / "edge.toml"
        edge = await provisioned(token, edge_file)
        assert (edge.gateway.site_id, edge.gateway.gateway_id) == ("home-1", "gw-1")
        assert (edge.mqtt.host, edge.mqtt.port, edge.mqtt.username) == ("127.0.0.1", port, "gw-1")
        assert oct(edge_file.stat().st_mode & 0o777) == "0o600"
        assert edge.mqtt.password is not None

        # The token is spent: a second installer gets a clear refusal, nothing written.
        code, _out, err = await anxin(
            "edge", "provision", "--token", token, "--config", str(tmp_path / "other.toml")
        )
        assert code == 2 and "refused the token (410)" in err and "already used" in err
        assert not (tmp_path / "other.toml").exists()

        await check_what_the_gateway_may_do(port, edge.mqtt.password)

        # Re-enrolment rotates the password: the old one stops working, the new one works.
        rotated = await provisioned(await enrol(cloud, "home-1", "gw-1"), edge_file, "--force")
        assert rotated.mqtt.password not in (None, edge.mqtt.password)
        refused = connect(port, "gw-1", edge.mqtt.password, "gw-1-old")
        reason = await eventually(lambda: refused.connack, 10, what="CONNACK, old password")
        assert reason.is_failure, "the old password still works after re-enrolment"
        refused.stop()
        (await connected(port, "gw-1", rotated.mqtt.password, "gw-1-new")).stop()
    finally:
        await runner.cleanup()


async def check_what_the_gateway_may_do(port: int, password: str) -> None:
    cloud = await connected(port, CLOUD_USER, CLOUD_PASSWORD, "cloud-listener")
    gateway = await connected(port, "gw-1", password, "gw-1")
    try:
        cloud.subscribe(f"{ROOT}/#")
        await eventually(lambda: cloud.subacks, 10, what="the cloud's SUBACK")
        assert not next(iter(cloud.subacks.values()))[0].is_failure

        # Its own observations reach the cloud.
        own = f"{ROOT}/home-1/gw-1/observations"
        mid = gateway.publish(own)
        await eventually(lambda: own in cloud.topics(), 10, what="the gateway's observation")
        await eventually(lambda: mid in gateway.pubacks, 10, what="its PUBACK")
        assert not gateway.pubacks[mid].is_failure

        # Another gateway's prefix, in the same site or another, is refused and not delivered.
        forged = [f"{ROOT}/home-1/gw-2/observations", f"{ROOT}/home-2/gw-9/alerts"]
        forged_mids = [gateway.publish(topic) for topic in forged]
        await eventually(
            lambda: all(m in gateway.pubacks for m in forged_mids), 10, what="the PUBACKs"
        )
        for topic_name, forged_mid in zip(forged, forged_mids, strict=True):
            assert gateway.pubacks[forged_mid].value == NOT_AUTHORIZED, topic_name
        # Nor may it write the cloud's side of its own prefix: its commands.
        mid = gateway.publish(f"{ROOT}/home-1/gw-1/commands")
        await eventually(lambda: mid in gateway.pubacks, 10, what="the PUBACK for commands")
        assert gateway.pubacks[mid].value == NOT_AUTHORIZED
        # A later message of its own arrives, so the refused ones had their chance to.
        marker = f"{ROOT}/home-1/gw-1/state"
        gateway.publish(marker)
        await eventually(lambda: marker in cloud.topics(), 10, what="the marker message")
        assert set(cloud.topics()) == {own, marker}

        # It reads its own commands and no other gateway's. Mosquitto 2.0's ACL file is
        # applied when a message is delivered: a subscription beyond the prefix is granted
        # (SUBACK) but nothing it may not read ever reaches it.
        own_commands = f"{ROOT}/home-1/gw-1/commands"
        subscriptions = [own_commands, f"{ROOT}/home-1/gw-2/commands", f"{ROOT}/#"]
        mids = [gateway.subscribe(topic) for topic in subscriptions]
        await eventually(lambda: len(gateway.subacks) == 3, 10, what="the SUBACKs")
        assert not gateway.subacks[mids[0]][0].is_failure
        others = [f"{ROOT}/home-1/gw-2/commands", f"{ROOT}/home-2/gw-9/commands"]
        sent = [cloud.publish(topic) for topic in [*others, own_commands]]
        await eventually(lambda: all(m in cloud.pubacks for m in sent), 10, what="cloud PUBACKs")
        assert not any(cloud.pubacks[m].is_failure for m in sent)  # the cloud may command
        await eventually(lambda: own_commands in gateway.topics(), 10, what="its own command")
        assert set(gateway.topics()) == {own_commands}
    finally:
        gateway.stop()
        cloud.stop()

    wrong = connect(port, "gw-1", password + "x", "gw-1-wrong")
    reason = await eventually(lambda: wrong.connack, 10, what="CONNACK, wrong password")
    assert reason.is_failure and reason.value in (134, 135), reason  # bad password / not authorised
    wrong.stop()
    anonymous = connect(port, None, None, "anonymous")
    assert (await eventually(lambda: anonymous.connack, 10, what="anonymous CONNACK")).is_failure
    anonymous.stop()


async def test_a_gateway_on_its_provisioned_config_reaches_the_cloud(
    cloud: Cloud, tmp_path: Path
) -> None:
    """The real gateway, with simulated devices, runs on what `provision` wrote; an ingest
    worker logged in as the cloud user (shared subscription) stores its observations."""
    home_plan = demo_homes(1)[0]
    seed_registry(cloud.stores.registry, [home_plan])
    runner = await start_api(cloud.config, cloud.stores)
    try:
        issued = Enrolment(cloud.stores.registry, cloud.config).issue(
            home_plan.site_id, home_plan.gateway_id
        )
        written = await asyncio.to_thread(provision, issued.token, tmp_path / "edge.toml")
    finally:
        await runner.cleanup()
    edge = load_config(EdgeConfig, written.config_path, environ={})
    devices = tuple(
        DeviceBindingConfig(device_id=d.device_id, address=d.address, kind=d.kind)
        for d in home_plan.devices
        if d.kind in ("heart_rate_strap", "pulse_oximeter")
    )
    config = edge.model_copy(
        update={
            "gateway": edge.gateway.model_copy(update={"queue_path": tmp_path / "queue.sqlite"}),
            "devices": devices,
        }
    )
    worker = IngestWorker(
        Ingest(cloud.stores.registry, cloud.stores.timeseries, ROOT),
        cloud.config.mqtt,
        cloud.config.ingest,
    )
    worker.start()
    home = simulated_home(config.devices, PersonProfile(), home_number=1)
    await home.start()
    gateway = Gateway(config, gateway_radio(home, "F0:A1:00:00:00:01"))
    try:
        await eventually(lambda: worker.subscribed, what="the ingest subscription")
        await gateway.start()
        await eventually(
            lambda: len(stored_seqs(cloud.stores)) >= 20, 60, what="20 stored observations"
        )
        assert gateway.uplink.connected
        assert not cloud.stores.registry.dead_letters(), "the cloud rejected some messages"
    finally:
        await gateway.stop()
        await home.stop()
        worker.stop()
