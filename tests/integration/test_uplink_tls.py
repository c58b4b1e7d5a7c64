"""The gateway's uplink over TLS to a real Mosquitto: a CA file and a password, or a
client certificate; a broker the CA does not vouch for, or a plain connection to the TLS
port, gets nothing published."""

from __future__ import annotations

import asyncio
import logging
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from anxin.config import GatewayConfig, MqttConfig
from anxin.edge.queue import DiskQueue
from anxin.edge.uplink import Uplink
from tests.conftest import free_port
from tests.support.mosquitto import OwnMosquitto
from tests.support.tls import Issued, TestCa
from tests.support.waiting import eventually

pytestmark = [pytest.mark.services, pytest.mark.slow]


@dataclass
class TlsBroker:
    broker: OwnMosquitto
    ca: TestCa
    password_port: int  # TLS, username and password
    certificate_port: int  # TLS, a client certificate whose CN is the username
    client: Issued


def tls_lines(ca: TestCa, server: Issued) -> list[str]:
    return [f"cafile {ca.cert_file}", f"certfile {server.cert_file}", f"keyfile {server.key_file}"]


@pytest.fixture(scope="module")
def tls_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsBroker]:
    directory = tmp_path_factory.mktemp("tls-broker")
    ca = TestCa(directory / "pki")
    server = ca.issue_server()
    client = ca.issue_client("gw-cert")
    password_file = directory / "passwd"
    subprocess.run(
        ["mosquitto_passwd", "-b", "-c", str(password_file), "gw-pass", "s3cret"], check=True
    )
    certificate_port = free_port()
    broker = OwnMosquitto(
        directory / "broker",
        persistence=False,
        listener_lines=[*tls_lines(ca, server), "allow_anonymous false"],
        extra_lines=[
            f"password_file {password_file}",
            f"listener {certificate_port} 127.0.0.1",
            *tls_lines(ca, server),
            "require_certificate true",
            "use_identity_as_username true",
        ],
    )
    broker.start()
    yield TlsBroker(broker, ca, broker.port, certificate_port, client)
    broker.stop()


def make_uplink(tmp_path: Path, topic_root: str, mqtt_config: MqttConfig) -> Uplink:
    gateway = GatewayConfig(
        site_id="home-1",
        gateway_id="gw-tls",
        topic_root=topic_root,
        queue_path=tmp_path / "queue.sqlite",
    )
    queue = DiskQueue(gateway.queue_path)
    queue.put("alerts", 1, lambda seqs: ['{"alert": "test"}'])
    return Uplink(mqtt_config, gateway, queue, dict)


async def delivered(uplink: Uplink) -> None:
    await uplink.start()
    try:
        await eventually(lambda: uplink.queue.depth() == 0, what="the broker's PUBACK")
    finally:
        await uplink.stop()
        uplink.queue.close()


async def never_connects(uplink: Uplink) -> None:
    await uplink.start()
    try:
        await asyncio.sleep(4)  # several attempts at the 1 s minimum backoff
        assert uplink.counters["connects"] == 0
        assert uplink.queue.depth() == 1, "nothing may be published"
    finally:
        await uplink.stop()
        uplink.queue.close()


async def test_a_ca_file_and_a_password(
    tls_broker: TlsBroker, tmp_path: Path, topic_root: str
) -> None:
    config = MqttConfig(
        port=tls_broker.password_port,
        tls_ca_file=tls_broker.ca.cert_file,
        username="gw-pass",
        password="s3cret",
    )
    await delivered(make_uplink(tmp_path, topic_root, config))


async def test_a_client_certificate(tls_broker: TlsBroker, tmp_path: Path, topic_root: str) -> None:
    config = MqttConfig(
        port=tls_broker.certificate_port,
        tls_ca_file=tls_broker.ca.cert_file,
        tls_cert_file=tls_broker.client.cert_file,
        tls_key_file=tls_broker.client.key_file,
    )
    await delivered(make_uplink(tmp_path, topic_root, config))


async def test_a_broker_the_ca_does_not_vouch_for_is_refused_and_logged(
    tls_broker: TlsBroker, tmp_path: Path, topic_root: str, caplog: pytest.LogCaptureFixture
) -> None:
    stranger = TestCa(tmp_path / "other-pki", name="Someone Else's CA")
    config = MqttConfig(
        port=tls_broker.password_port,
        tls_ca_file=stranger.cert_file,
        username="gw-pass",
        password="s3cret",
    )
    with caplog.at_level(logging.WARNING, logger="anxin.mqtt"):
        await never_connects(make_uplink(tmp_path, topic_root, config))
    failures = [r.getMessage() for r in caplog.records if "failed" in r.getMessage()]
    assert failures, "the refused connection must be logged"
    assert f"MQTT connection to 127.0.0.1:{tls_broker.password_port} failed" in failures[0]
    assert "certificate verify failed" in failures[0]
    assert len(failures) == 1, "the same failure again is not worth a warning each retry"


async def test_a_plain_connection_to_the_tls_port_gets_nowhere(
    tls_broker: TlsBroker, tmp_path: Path, topic_root: str
) -> None:
    config = MqttConfig(port=tls_broker.password_port, username="gw-pass", password="s3cret")
    await never_connects(make_uplink(tmp_path, topic_root, config))
