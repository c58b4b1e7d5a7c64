"""A health worker follows one person through the API from an alert to the care task and
the insurance follow-up, with real Mosquitto, InfluxDB and PostgreSQL, every step audited.

Two falls reach the cloud from 张秀英's gateway over MQTT. The worker logs in with a
password and a TOTP code, acknowledges the first fall, visits, records the outcome and
resolves it; the same for the second. The follow-up rules then refer her for the
long-term-care disability assessment, with both falls as evidence, as a task for the worker;
the worker completes it. The audit log holds each of those steps and verifies intact,
and ``anxin admin audit verify`` notices when an entry is edited afterwards.
"""

from __future__ import annotations

import base64
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pyotp
import pytest
from aiohttp.test_utils import TestClient, TestServer
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import create_engine, text

from anxin.cloud.api import API_PREFIX, create_app
from anxin.cloud.database.engines import make_engine
from anxin.cloud.ingest.influx import InfluxTimeSeries
from anxin.cloud.ingest.worker import Ingest, IngestWorker
from anxin.cloud.registry.registry import Registry
from anxin.config import CloudConfig, IngestConfig, MqttConfig
from anxin.protocol import AlertMessage, encode
from tests.support.care_world import PASSWORD, World, build_world
from tests.support.influx import running_influxd
from tests.support.waiting import eventually

pytestmark = [pytest.mark.services, pytest.mark.slow]
KEY = base64.b64encode(bytes(range(32))).decode()


class Api:
    """A logged-in caller of the API."""

    def __init__(self, client: TestClient, headers: dict[str, str]) -> None:
        self.client = client
        self.headers = headers

    async def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        response = await self.client.request(
            method, API_PREFIX + path, json=body, headers=self.headers
        )
        payload = await response.json()
        assert response.status < 300, f"{method} {path}: {response.status} {payload}"
        return payload


async def log_in_with_second_factor(client: TestClient, username: str) -> Api:
    """First login: enrol a TOTP secret; then log in again with a code from the app."""
    first = await client.post(
        f"{API_PREFIX}/login", json={"username": username, "password": PASSWORD}
    )
    assert first.status == 200, await first.text()
    restricted = Api(client, {"Authorization": f"Bearer {(await first.json())['token']}"})
    refused = await client.get(f"{API_PREFIX}/alerts", headers=restricted.headers)
    assert refused.status == 403, "a session without the second factor reached /alerts"
    secret = (await restricted.call("POST", "/me/totp"))["secret"]
    totp = pyotp.TOTP(secret)
    await restricted.call("POST", "/me/totp/confirm", {"code": totp.now()})
    wrong = await client.post(
        f"{API_PREFIX}/login", json={"username": username, "password": PASSWORD}
    )
    assert wrong.status == 401 and (await wrong.json())["error"]["code"] == "totp_required"
    # The code of the next time step: the one just used for confirming cannot be replayed.
    code = totp.at(time.time() + 30)
    second = await client.post(
        f"{API_PREFIX}/login", json={"username": username, "password": PASSWORD, "totp": code}
    )
    assert second.status == 200, await second.text()
    return Api(client, {"Authorization": f"Bearer {(await second.json())['token']}"})


@pytest.fixture
async def stack(
    mosquitto: tuple[str, int], postgres_url: str, topic_root: str, tmp_path: Path
) -> AsyncIterator[tuple[TestClient, World, mqtt.Client, CloudConfig]]:
    host, port = mosquitto
    with running_influxd(tmp_path) as influx_url:
        config = CloudConfig.model_validate(
            {
                "mqtt": {"host": host, "port": port},
                "registry": {"url": postgres_url, "encryption_key": KEY},
                "timeseries": {"backend": "influxdb", "url": influx_url, "database": "journey"},
                "ingest": {"topic_root": topic_root, "shared_group": ""},
                "follow_up": {"enabled": False},
            }
        )
        registry = Registry(make_engine(postgres_url))
        registry.create_schema()
        world = build_world(registry)
        timeseries = InfluxTimeSeries(config.timeseries)
        worker = IngestWorker(
            Ingest(registry, timeseries, topic_root),
            MqttConfig(host=host, port=port),
            IngestConfig(topic_root=topic_root, shared_group="", worker_id="journey"),
        )
        worker.start()
        await eventually(lambda: worker.subscribed, what="ingest subscribed")
        gateway = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="journey-gw-a")
        gateway.connect(host, port)
        gateway.loop_start()
        app = create_app(registry, timeseries, config=config)
        try:
            async with TestClient(TestServer(app)) as client:
                yield client, world, gateway, config
        finally:
            gateway.loop_stop()
            gateway.disconnect()
            worker.stop()
            timeseries.close()
            registry.engine.dispose()


def publish_fall(gateway: mqtt.Client, topic_root: str, world: World, seq: int) -> None:
    own = world.own
    message = AlertMessage(
        site_id=own.site_id,
        gateway_id=own.gateway_id,
        seq=100 + seq,
        device_id=own.device_id,
        kind="fall",
        severity="critical",
        raised_at_ms=int(time.time() * 1000),
        message="possible fall",
        evidence={"peak_g": 3.4},
    )
    info = gateway.publish(
        f"{topic_root}/{own.site_id}/{own.gateway_id}/alerts", encode(message), 1
    )
    info.wait_for_publish(timeout=10)


async def open_fall(worker: Api, person_id: str) -> dict[str, Any]:
    async def found() -> dict[str, Any] | None:
        alerts = await worker.call("GET", f"/persons/{person_id}/alerts")
        falls = [a for a in alerts if a["kind"] == "fall" and a["status"] == "open"]
        return falls[0] if falls else None

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        alert = await found()
        if alert is not None:
            return alert
        await _sleep(0.2)
    raise AssertionError("the fall never reached the worker's alert list")


async def _sleep(seconds: float) -> None:
    import asyncio

    await asyncio.sleep(seconds)


async def care_for_fall(worker: Api, alert: dict[str, Any], outcome: str) -> dict[str, Any]:
    alert_id = alert["id"]
    await worker.call("POST", f"/alerts/{alert_id}/acknowledge", {"note": "已电话联系家属"})
    task = await worker.call("POST", f"/alerts/{alert_id}/interventions", {"kind": "home_visit"})
    assert task["assigned_to"] == "worker-a" and task["alert_id"] == alert_id
    await worker.call("POST", f"/interventions/{task['id']}/start", {})
    done = await worker.call("POST", f"/interventions/{task['id']}/complete", {"outcome": outcome})
    assert done["status"] == "done"
    resolved = await worker.call("POST", f"/alerts/{alert_id}/resolve", {"outcome": outcome})
    assert resolved["status"] == "resolved"
    return task


async def test_worker_follows_a_person_from_alert_to_follow_up(
    stack: tuple[TestClient, World, mqtt.Client, CloudConfig], topic_root: str, tmp_path: Path
) -> None:
    client, world, gateway, config = stack
    person = world.own.person_id
    worker = await log_in_with_second_factor(client, "worker-a")
    admin = await log_in_with_second_factor(client, "admin")

    publish_fall(gateway, topic_root, world, seq=1)
    first = await open_fall(worker, person)
    assert first["severity"] == "critical" and first["person_id"] == person
    first_task = await care_for_fall(worker, first, "老人无外伤，已扶起，嘱家属加装扶手")

    publish_fall(gateway, topic_root, world, seq=2)
    second = await open_fall(worker, person)
    assert second["id"] != first["id"], "a new fall after the first was resolved is a new alert"
    await care_for_fall(worker, second, "右腕擦伤，已处理")

    detail = await worker.call("GET", f"/alerts/{first['id']}")
    steps = [(t["from_status"], t["to_status"], t["actor"]) for t in detail["transitions"]]
    assert steps[0][1] == "open"
    assert ("open", "acknowledged", "worker-a") in steps
    assert steps[-1][1:] == ("resolved", "worker-a")

    await admin.call("POST", "/follow-ups/evaluate", {"person_id": person})
    follow_ups = await worker.call("GET", f"/follow-ups?person_id={person}")
    referral = next(f for f in follow_ups if f["rule_id"] == "ltc_assessment")
    assert referral["action"] == "ltc_assessment_referral" and referral["status"] == "open"
    evidence_text = str(referral["evidence"])
    assert str(first["id"]) in evidence_text and str(second["id"]) in evidence_text
    tasks = await worker.call("GET", f"/persons/{person}/interventions")
    referral_task = next(t for t in tasks if t["kind"] == "ltc_assessment_referral")
    assert referral_task["assigned_to"] == "worker-a"
    await worker.call("POST", f"/interventions/{referral_task['id']}/start", {})
    await worker.call(
        "POST", f"/interventions/{referral_task['id']}/complete", {"outcome": "已提交失能评估申请"}
    )
    closed = await worker.call("GET", f"/follow-ups/{referral['id']}")
    assert closed["status"] == "done"

    entries = await admin.call("GET", f"/audit?person_id={person}&limit=500")
    items = entries["entries"] if isinstance(entries, dict) else entries
    seen = {(e["actor"], e["action"]) for e in items}
    for step in (
        ("worker-a", "alert.acknowledge"),
        ("worker-a", "intervention.create"),
        ("worker-a", "intervention.start"),
        ("worker-a", "intervention.complete"),
        ("worker-a", "alert.resolve"),
        ("worker-a", "read"),
    ):
        assert step in seen, f"no audit entry for {step}"
    assert any(action == "follow_up.raise" for _actor, action in seen)
    assert str(first_task["id"]) in str([e["target"] for e in items])
    verified = await admin.call("GET", "/audit/verify")
    assert verified["intact"] is True

    config_file = tmp_path / "cloud.toml"
    config_file.write_text(f'[registry]\nurl = "{config.registry.url}"\n')
    command = [sys.executable, "-m", "anxin.cli", "admin", "audit", "verify"]
    ok = subprocess.run([*command, "--config", str(config_file)], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    engine = create_engine(config.registry.url)
    with engine.begin() as connection:
        connection.execute(
            text("UPDATE audit_log SET actor = 'someone-else' WHERE action = 'alert.resolve'")
        )
    engine.dispose()
    tampered = subprocess.run(
        [*command, "--config", str(config_file)], capture_output=True, text=True
    )
    assert tampered.returncode == 1 and "edited" in tampered.stdout + tampered.stderr
