"""Where a webhook may point: a user's URL is refused at ``PATCH /me/preferences`` when it
could reach the platform's own network (loopback, private, link-local, numeric-host
tricks, userinfo, fragments), unless an administrator allow-listed the network.

No test here sends a packet anywhere: literal addresses need no lookup, and host names
go through a resolver that answers from a table."""

from __future__ import annotations

import ipaddress
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from unittest import mock

import pytest
from aiohttp.test_utils import TestClient, TestServer

from anxin.cloud.api import API_PREFIX, create_app
from anxin.cloud.api.account_routes import WEBHOOK_RESOLVER
from anxin.cloud.database.models import User
from anxin.cloud.notify.webhook_target import (
    WebhookRefused,
    address_problem,
    check_webhook_url,
)
from anxin.cloud.stores import Stores
from anxin.config import ApiConfig, CloudConfig, NotificationsConfig, RegistryConfig
from tests.support.alert_world import cached_hash
from tests.support.cloud import seeded_stores
from tests.support.webhooks import TableResolver

PUBLIC = "93.184.215.14"


# --- the address policy, on literal addresses ---------------------------------------------

REFUSED_ADDRESSES = [
    ("127.0.0.1", "loopback"),
    ("127.8.9.10", "loopback"),
    ("::1", "loopback"),
    ("0.0.0.0", "unspecified"),
    ("::", "unspecified"),
    ("10.0.0.5", "private"),
    ("172.16.4.4", "private"),
    ("192.168.1.1", "private"),
    ("169.254.169.254", "link-local"),
    ("fe80::1", "link-local"),
    ("100.64.0.1", "carrier-grade NAT"),
    ("224.0.0.251", "multicast"),
    ("ff02::1", "multicast"),
    ("240.0.0.1", "reserved"),
    ("255.255.255.255", "reserved"),
    ("198.18.0.1", "reserved"),
    ("192.0.0.9", "reserved"),
    ("192.0.2.1", "documentation"),
    ("198.51.100.7", "documentation"),
    ("203.0.113.9", "documentation"),
    ("2001:db8::1", "documentation"),
    ("3fff::1", "documentation"),
    ("fc00::1", "unique-local"),
    ("fd12:3456::1", "unique-local"),
    ("fec0::1", "site-local"),
    ("::ffff:127.0.0.1", "IPv4-mapped"),
    ("::ffff:8.8.8.8", "IPv4-mapped"),
    ("::127.0.0.1", "IPv4-compatible"),
    ("64:ff9b::a00:5", "NAT64 address embedding a private address"),
    ("64:ff9b::7f00:1", "NAT64 address embedding a loopback address"),
    ("64:ff9b:1::a00:5", "reserved"),
    ("2002:a00:1::1", "6to4 address embedding a private address"),
    ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "Teredo"),
    ("100::1", "reserved"),
    ("5f00::1", "not public"),
]


@pytest.mark.parametrize(("address", "why"), REFUSED_ADDRESSES)
def test_non_public_addresses_are_refused(address: str, why: str) -> None:
    problem = address_problem(ipaddress.ip_address(address), ())
    assert problem is not None and why in problem


@pytest.mark.parametrize(
    "address", ["8.8.8.8", PUBLIC, "2606:4700::1111", "64:ff9b::808:808", "2002:808:808::1"]
)
def test_public_addresses_are_accepted(address: str) -> None:
    assert address_problem(ipaddress.ip_address(address), ()) is None


def test_the_allow_list_accepts_its_networks_only() -> None:
    allowed = (ipaddress.ip_network("10.20.0.0/16"),)
    assert address_problem(ipaddress.ip_address("10.20.3.4"), allowed) is None
    mapped = address_problem(ipaddress.ip_address("::ffff:10.20.3.4"), allowed)
    assert mapped is not None and "IPv4-mapped" in mapped
    assert "private" in (address_problem(ipaddress.ip_address("10.21.0.1"), allowed) or "")


async def test_a_name_is_refused_when_any_of_its_addresses_is_not_public() -> None:
    resolver = TableResolver({"hooks.example.org": [PUBLIC, "10.0.0.5"]})
    with pytest.raises(WebhookRefused, match=r"host 'hooks\.example\.org' resolves to a private address$"):
        await check_webhook_url("https://hooks.example.org/anxin", (), resolver)
    checked = await check_webhook_url(
        "https://hooks.example.org/anxin", (ipaddress.ip_network("10.0.0.0/24"),), resolver
    )
    assert [str(a) for a in checked.addresses] == [PUBLIC, "10.0.0.5"]


# --- through the API ---------------------------------------------------------------------


@pytest.fixture
def stores(tmp_path: Path) -> Iterator[Stores]:
    with (
        mock.patch("anxin.demo.homes.hash_password", cached_hash),
        seeded_stores(f"sqlite:///{tmp_path}/cloud.sqlite") as stores,
    ):
        yield stores


RESOLVER = TableResolver(
    {
        "hooks.example.org": [PUBLIC, "2606:4700::1111"],
        "split.example.org": [PUBLIC, "10.0.0.5"],
        "metadata.example.org": ["169.254.169.254"],
        "rebind.example.org": ["127.0.0.1"],
        "mapped.example.org": ["::ffff:127.0.0.1"],
        "hooks.hospital.example": ["10.20.3.4"],
        "other.hospital.example": ["10.21.0.1"],
    }
)


async def api_client(stores: Stores, allowed: list[str]) -> TestClient:
    config = CloudConfig(
        api=ApiConfig(second_factor_roles=()),
        registry=RegistryConfig(url="sqlite://"),
        notifications=NotificationsConfig(webhook_allowed_networks=allowed),  # type: ignore[arg-type]
    )
    app = create_app(stores.registry, stores.timeseries, config=config)
    app[WEBHOOK_RESOLVER] = RESOLVER
    client = TestClient(TestServer(app))
    await client.start_server()
    return client


@pytest.fixture
async def family(stores: Stores) -> AsyncIterator[tuple[TestClient, dict[str, str]]]:
    async with await api_client(stores, []) as client:
        yield client, await login(client)


async def login(client: TestClient) -> dict[str, str]:
    answer = await client.post(
        f"{API_PREFIX}/login", json={"username": "family", "password": "anxin-family"}
    )
    assert answer.status == 200, await answer.text()
    return {"Authorization": f"Bearer {(await answer.json())['token']}"}


def stored_webhook(stores: Stores) -> str | None:
    with stores.registry.session() as session:
        user = session.get(User, "family")
        assert user is not None
        return user.webhook_url


SSRF_FORMS = [
    ("https://2130706433/hook", "written out in full"),  # decimal 127.0.0.1
    ("https://0x7f.1/hook", "written out in full"),  # hex, short form
    ("https://0x7f000001/hook", "written out in full"),
    ("https://0177.0.0.1/hook", "written out in full"),  # octal
    ("https://127.1/hook", "written out in full"),  # short form
    ("https://127.0.0.1/hook", "host is a loopback address 127.0.0.1"),
    ("https://127.0.0.1:8443/hook", "host is a loopback address 127.0.0.1"),
    ("https://[::1]/hook", "loopback"),
    ("https://[::ffff:127.0.0.1]/hook", "IPv4-mapped"),
    ("https://[::ffff:7f00:1]/hook", "IPv4-mapped"),
    ("https://[::127.0.0.1]/hook", "IPv4-compatible"),
    ("https://[64:ff9b::a9fe:a9fe]/hook", "NAT64 address embedding a link-local address"),
    ("https://[2002:a00:1::1]/hook", "6to4"),
    ("https://[fe80::1%25eth0]/hook", "scoped"),
    ("https://[fd00::5]/hook", "unique-local"),
    ("https://10.0.0.5/hook", "host is a private address 10.0.0.5"),
    ("https://192.168.1.1/hook", "private"),
    ("https://169.254.169.254/latest/meta-data/", "link-local"),
    ("https://100.64.0.1/hook", "carrier-grade NAT"),
    ("https://0.0.0.0/hook", "unspecified"),
    ("https://224.0.0.1/hook", "multicast"),
    ("https://192.0.2.1/hook", "documentation"),
    ("https://localhost/hook", "host name"),
    ("https://hooks.localhost/hook", "localhost"),
    ("https://intranet/hook", "host name"),
    ("https://user@hooks.example.org/hook", "user name or password"),
    ("https://user:secret@hooks.example.org/hook", "user name or password"),
    ("https://:secret@hooks.example.org/hook", "user name or password"),
    ("https://hooks.example.org@127.0.0.1/hook", "user name or password"),
    ("https://hooks.example.org/hook#part", "fragment"),
    ("https://hooks.example.org\\@127.0.0.1/hook", "backslash"),
    ("https://hooks.example.org:0/hook", "port"),
    ("https://hooks_example.org/hook", "host name"),
    ("https://split.example.org/hook", "host 'split.example.org' resolves to a private address"),
    ("https://metadata.example.org/hook", "resolves to a link-local address"),
    ("https://rebind.example.org/hook", "resolves to a loopback address"),
    ("https://mapped.example.org/hook", "IPv4-mapped"),
    ("https://nowhere.example.org/hook", "does not resolve"),
    ("https://hooks.hospital.example/hook", "resolves to a private address"),
    ("https://hooks.example.org/" + "a" * 480, "at most 500"),
]


async def test_ssrf_forms_are_refused_when_set(
    family: tuple[TestClient, dict[str, str]], stores: Stores
) -> None:
    client, headers = family
    wrong = []
    for url, why in SSRF_FORMS:
        answer = await client.patch(
            f"{API_PREFIX}/me/preferences", headers=headers, json={"webhook_url": url}
        )
        message = (await answer.json()).get("error", {}).get("message", "")
        if answer.status != 400 or "webhook_url" not in message or why not in message:
            wrong.append((url, answer.status, message))
    assert wrong == [], "\n".join(map(str, wrong))
    assert stored_webhook(stores) is None


async def test_a_public_webhook_is_accepted(
    family: tuple[TestClient, dict[str, str]], stores: Stores
) -> None:
    client, headers = family
    url = "https://hooks.example.org/anxin?room=3"
    answer = await client.patch(
        f"{API_PREFIX}/me/preferences", headers=headers, json={"webhook_url": url}
    )
    assert answer.status == 200, await answer.text()
    assert (await answer.json())["preferences"]["webhook_url"] == url
    assert stored_webhook(stores) == url
    cleared = await client.patch(
        f"{API_PREFIX}/me/preferences", headers=headers, json={"webhook_url": None}
    )
    assert cleared.status == 200 and stored_webhook(stores) is None


async def test_an_allow_listed_network_is_accepted(stores: Stores) -> None:
    async with await api_client(stores, ["10.20.0.0/16"]) as client:
        headers = await login(client)
        url = f"{API_PREFIX}/me/preferences"
        inside = "https://hooks.hospital.example/anxin"
        answer = await client.patch(url, headers=headers, json={"webhook_url": inside})
        assert answer.status == 200, await answer.text()
        assert stored_webhook(stores) == inside
        for outside in ("https://other.hospital.example/anxin", "https://10.21.0.1/anxin"):
            answer = await client.patch(url, headers=headers, json={"webhook_url": outside})
            assert answer.status == 400, outside
            assert "a private address" in (await answer.json())["error"]["message"]
        assert stored_webhook(stores) == inside


def test_the_allow_list_reads_networks_from_the_environment() -> None:
    config = NotificationsConfig.model_validate(
        {"webhook_allowed_networks": "10.20.0.0/16, fd00:20::/48"}
    )
    assert [str(n) for n in config.webhook_allowed_networks] == ["10.20.0.0/16", "fd00:20::/48"]
    with pytest.raises(ValueError, match="webhook_allowed_networks"):
        NotificationsConfig.model_validate({"webhook_allowed_networks": "10.20.0.1/16"})
