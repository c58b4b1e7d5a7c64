"""Gateway enrolment: token format, one-time exchange over the API, Mosquitto's files, and
`anxin edge provision` writing a config that loads."""

from __future__ import annotations

import asyncio
import shutil
import stat
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import update

from anxin.cloud.api import API_PREFIX, create_app
from anxin.cloud.api.enrol import EnrolHandler
from anxin.cloud.database.engines import make_engine
from anxin.cloud.database.models import EnrolmentToken
from anxin.cloud.gateways.broker_auth import (
    GatewayLogin,
    mosquitto_hash,
    render_acl,
    render_password_file,
    verify_mosquitto_hash,
)
from anxin.cloud.gateways.enrolment import Enrolment, FailureLimiter
from anxin.cloud.ingest.timeseries import SqlTimeSeries
from anxin.cloud.registry.registry import Registry
from anxin.cloud.stores import Stores
from anxin.config import (
    ApiConfig,
    BrokerConfig,
    CloudConfig,
    EdgeConfig,
    IngestConfig,
    MqttConfig,
    load_config,
)
from anxin.edge.provision import ProvisionError, provision
from anxin.enrolment_token import TokenError, format_token, parse_token

ENROL = f"{API_PREFIX}/gateways/enrol"
SECRET = "s" * 43


def _mistyped(token: str) -> str:
    """The token with one character of its secret changed."""
    at = len(token) // 2
    return token[:at] + ("A" if token[at] != "A" else "B") + token[at + 1 :]


# --- the password file -----------------------------------------------------------------


def test_hash_lines_have_mosquittos_format_and_verify() -> None:
    line = mosquitto_hash("correct horse")
    scheme, iterations, salt, digest = line.split("$")[1:]
    assert (scheme, iterations) == ("7", "1000")
    assert len(salt) == 16 and len(digest) == 88  # base64 of 12 and 64 bytes
    assert verify_mosquitto_hash("correct horse", line)
    assert not verify_mosquitto_hash("correct horsE", line)
    assert mosquitto_hash("correct horse") != line  # salted


@pytest.mark.skipif(shutil.which("mosquitto_passwd") is None, reason="no mosquitto_passwd")
def test_hash_agrees_with_mosquitto_passwd(tmp_path: Path) -> None:
    passwd = tmp_path / "passwd"
    passwd.touch()
    subprocess.run(["mosquitto_passwd", "-b", str(passwd), "alice", "s3cret!"], check=True)
    user, theirs = passwd.read_text().strip().split(":", 1)
    assert user == "alice" and theirs.startswith("$7$")
    assert verify_mosquitto_hash("s3cret!", theirs)
    assert not verify_mosquitto_hash("s3cret", theirs)
    ours = mosquitto_hash("s3cret!")
    assert [len(part) for part in ours.split("$")[3:]] == [
        len(part) for part in theirs.split("$")[3:]
    ]


def test_acl_lets_a_gateway_write_only_its_own_channels() -> None:
    gateway = GatewayLogin("gw-7", "home-7", "anxin/v1", mosquitto_hash("x"))
    acl = render_acl("anxin-cloud", ["anxin/v1"], [gateway])
    cloud, gateway_part = acl.split("user gw-7\n")
    assert "topic read anxin/v1/#" in cloud and "topic write anxin/v1/+/+/commands" in cloud
    assert gateway_part.split("\n")[:5] == [
        "topic write anxin/v1/home-7/gw-7/observations",
        "topic write anxin/v1/home-7/gw-7/alerts",
        "topic write anxin/v1/home-7/gw-7/state",
        "topic write anxin/v1/home-7/gw-7/command_results",
        "topic read anxin/v1/home-7/gw-7/commands",
    ]
    assert "#" not in gateway_part and "+" not in gateway_part
    assert render_password_file(None, [gateway]).startswith("gw-7:$7$1000$")


# --- the token ------------------------------------------------------------------------------


def test_token_round_trip_and_what_is_wrong_with_a_bad_one() -> None:
    token = format_token("https://cloud.example/api/v1", SECRET)
    parsed = parse_token(f"  {token}\n")  # pasted with blanks around
    assert parsed.api_url == "https://cloud.example/api/v1" and parsed.secret == SECRET
    with pytest.raises(TokenError, match="check characters"):
        parse_token(_mistyped(token))
    with pytest.raises(TokenError, match="4 parts"):
        parse_token(token.replace("anxin1.", "anxin2.", 1))
    with pytest.raises(TokenError, match="4 parts"):
        parse_token("hello")
    with pytest.raises(TokenError, match="too short"):
        parse_token(format_token("http://x", "short"))


# --- exchange over the API --------------------------------------------------------------------


@pytest.fixture
def cloud_config(tmp_path: Path) -> CloudConfig:
    return CloudConfig(
        mqtt=MqttConfig(username="anxin-cloud", password="cloud-secret"),
        api=ApiConfig(public_url="http://cloud.invalid/api/v1"),
        ingest=IngestConfig(topic_root="anxin/v1"),
        broker=BrokerConfig(
            host="mqtt.example",
            port=8883,
            tls_ca_file=_ca(tmp_path),
            password_file=tmp_path / "broker" / "passwd",
            acl_file=tmp_path / "broker" / "acl",
        ),
    )


def _ca(tmp_path: Path) -> Path:
    path = tmp_path / "ca.pem"
    path.write_text("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
    return path


@pytest.fixture
def stores(tmp_path: Path) -> Iterator[Stores]:
    url = f"sqlite:///{tmp_path}/cloud.sqlite"
    registry = Registry(make_engine(url))
    registry.create_schema()
    stores = Stores(registry, SqlTimeSeries(make_engine(url)))
    yield stores
    stores.close()


@pytest.fixture
def enrolment(stores: Stores, cloud_config: CloudConfig) -> Enrolment:
    return Enrolment(stores.registry, cloud_config)


@pytest.fixture
async def client(stores: Stores, enrolment: Enrolment) -> AsyncIterator[TestClient]:
    app = create_app(stores.registry, stores.timeseries, enrolment=enrolment)
    async with TestClient(TestServer(app)) as client:
        yield client


async def _enrol(client: TestClient, token: str) -> tuple[int, dict[str, Any], str]:
    response = await client.post(ENROL, json={"token": token})
    return response.status, await response.json(), response.headers.get("Cache-Control", "")


async def test_a_token_gives_credentials_once(
    client: TestClient, enrolment: Enrolment, cloud_config: CloudConfig
) -> None:
    issued = enrolment.issue("home-1", "gw-1")
    assert issued.api_url == "http://cloud.invalid/api/v1"
    assert parse_token(issued.token).api_url == issued.api_url
    status, body, cache = await _enrol(client, issued.token)
    assert status == 200 and cache == "no-store"
    assert body["site_id"] == "home-1" and body["gateway_id"] == "gw-1"
    assert body["username"] == "gw-1" and len(body["password"]) >= 40
    assert (body["mqtt_host"], body["mqtt_port"], body["topic_root"]) == (
        "mqtt.example",
        8883,
        "anxin/v1",
    )
    assert body["ca_pem"].startswith("-----BEGIN CERTIFICATE-----")
    # The broker's files know the gateway's new password and where it may publish.
    passwd = cloud_config.broker.password_file
    assert passwd is not None and cloud_config.broker.acl_file is not None
    users = dict(line.split(":", 1) for line in passwd.read_text().splitlines())
    assert set(users) == {"anxin-cloud", "gw-1"}
    assert verify_mosquitto_hash(body["password"], users["gw-1"])
    assert verify_mosquitto_hash("cloud-secret", users["anxin-cloud"])
    acl = cloud_config.broker.acl_file.read_text()
    assert "user gw-1\ntopic write anxin/v1/home-1/gw-1/observations" in acl

    status, body, cache = await _enrol(client, issued.token)
    assert status == 410 and body["error"]["code"] == "token_used" and cache == "no-store"
    assert "already used" in body["error"]["message"]


async def test_expired_replaced_unknown_and_malformed_tokens_are_refused(
    client: TestClient, enrolment: Enrolment, stores: Stores
) -> None:
    expired = enrolment.issue("home-1", "gw-1")
    with stores.registry.session() as session, session.begin():
        session.execute(update(EnrolmentToken).values(expires_at_ms=1))
    status, body, _ = await _enrol(client, expired.token)
    assert status == 410 and body["error"]["code"] == "token_expired"

    older = enrolment.issue("home-2", "gw-2")
    newer = enrolment.issue("home-2", "gw-2")
    status, body, _ = await _enrol(client, older.token)
    assert status == 410 and body["error"]["code"] == "token_replaced"

    # A tampered secret with its check characters made right again: not one we issued.
    parsed = parse_token(newer.token)
    forged = format_token(
        parsed.api_url, parsed.secret[:-1] + ("x" if parsed.secret[-1] != "x" else "y")
    )
    status, body, _ = await _enrol(client, forged)
    assert status == 403 and body["error"]["code"] == "token_unknown"

    status, body, _ = await _enrol(client, newer.token[:-1] + "!")
    assert status == 400 and body["error"]["code"] == "token_malformed"
    response = await client.post(ENROL, json={"code": newer.token})
    assert response.status == 400 and "'token'" in (await response.json())["error"]["message"]

    status, body, _ = await _enrol(client, newer.token)  # none of that spent the good one
    assert status == 200 and body["gateway_id"] == "gw-2"


async def test_an_address_sending_bad_tokens_is_turned_away(
    stores: Stores, enrolment: Enrolment
) -> None:
    handler = EnrolHandler(enrolment, FailureLimiter(max_failures=3, window_s=600))
    app = web.Application()
    app.router.add_post(ENROL, handler.enrol)
    issued = enrolment.issue("home-1", "gw-1")
    async with TestClient(TestServer(app)) as client:
        for _ in range(3):
            assert (await _enrol(client, format_token("http://x", "z" * 43)))[0] == 403
        response = await client.post(ENROL, json={"token": issued.token})
        assert response.status == 429 and int(response.headers["Retry-After"]) > 0
        assert (await response.json())["error"]["code"] == "too_many_attempts"


def test_enrolment_checks_ids(enrolment: Enrolment) -> None:
    with pytest.raises(ValueError, match="gateway id 'gw/1'"):
        enrolment.issue("home-1", "gw/1")
    with pytest.raises(ValueError, match="site id 'home 1'"):
        enrolment.issue("home 1", "gw-1")
    with pytest.raises(ValueError, match="cloud's own broker user"):
        enrolment.issue("home-1", "anxin-cloud")
    enrolment.issue("home-1", "gw-1")
    with pytest.raises(ValueError, match="belongs to site 'home-1', not 'home-2'"):
        enrolment.issue("home-2", "gw-1")


async def test_re_enrolment_rotates_the_password(
    client: TestClient, enrolment: Enrolment, cloud_config: CloudConfig
) -> None:
    first = (await _enrol(client, enrolment.issue("home-1", "gw-1").token))[1]["password"]
    second = (await _enrol(client, enrolment.issue("home-1", "gw-1").token))[1]["password"]
    assert first != second
    passwd = cloud_config.broker.password_file
    assert passwd is not None
    line = next(x for x in passwd.read_text().splitlines() if x.startswith("gw-1:"))
    assert verify_mosquitto_hash(second, line.split(":", 1)[1])
    assert not verify_mosquitto_hash(first, line.split(":", 1)[1])


# --- anxin edge provision ---------------------------------------------------------------------


async def test_provision_writes_a_private_config_that_loads(
    client: TestClient, enrolment: Enrolment, tmp_path: Path
) -> None:
    cloud = str(client.make_url(API_PREFIX))
    target = tmp_path / "etc" / "edge.toml"
    issued = enrolment.issue("home-1", "gw-1")
    done = await asyncio.to_thread(provision, issued.token, target, cloud)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    config = load_config(EdgeConfig, target, environ={})
    assert (config.gateway.site_id, config.gateway.gateway_id) == ("home-1", "gw-1")
    assert (config.mqtt.host, config.mqtt.port, config.mqtt.username) == (
        "mqtt.example",
        8883,
        "gw-1",
    )
    assert config.mqtt.tls_ca_file == done.ca_path == (tmp_path / "etc" / "edge-ca.pem")
    assert done.ca_path is not None and "BEGIN CERTIFICATE" in done.ca_path.read_text()

    # An existing config is kept, and the token is not spent finding that out.
    again = enrolment.issue("home-1", "gw-1")
    before = target.read_text()
    with pytest.raises(ProvisionError, match="already exists; pass --force"):
        await asyncio.to_thread(provision, again.token, target, cloud)
    assert target.read_text() == before
    await asyncio.to_thread(provision, again.token, target, cloud, True)
    assert target.read_text() != before
    assert (tmp_path / "etc" / "edge.toml.bak").read_text() == before

    with pytest.raises(ProvisionError, match=r"refused the token \(410\): .*already used"):
        await asyncio.to_thread(provision, again.token, target, cloud, True)
    with pytest.raises(ProvisionError, match="check characters"):
        await asyncio.to_thread(provision, _mistyped(again.token), tmp_path / "new.toml", cloud)
    with pytest.raises(ProvisionError, match=r"could not reach the cloud at http://127\.0\.0\.1:9"):
        await asyncio.to_thread(
            provision, again.token, tmp_path / "new.toml", "http://127.0.0.1:9/api/v1"
        )
