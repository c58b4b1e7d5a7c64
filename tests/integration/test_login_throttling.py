"""Logins under attack, through real aiohttp servers: a burst of guesses gets no more password
checks than the limit (also across two API processes sharing one PostgreSQL), a stranger's
guesses cannot lock a worker out of their own address, and password hashing cannot starve
the rest of the API."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientResponse, web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from anxin.cloud.api import API_PREFIX, create_app
from anxin.cloud.database.engines import make_engine
from anxin.cloud.database.models import AuditEntry
from anxin.cloud.registry.registry import Registry
from anxin.cloud.stores import Stores
from anxin.config import ApiConfig, CloudConfig, RegistryConfig
from tests.support.cloud import seeded_stores
from tests.support.waiting import eventually

PROXY = "127.0.0.1"  # the test client's address, configured as a trusted proxy where needed


def cloud_config(**api: Any) -> CloudConfig:
    return CloudConfig(
        registry=RegistryConfig(url="sqlite://"),
        api=ApiConfig(second_factor_roles=(), **api),
    )


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.services)])
def stores(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Stores]:
    url = (
        f"sqlite:///{tmp_path}/cloud.sqlite"
        if request.param == "sqlite"
        else request.getfixturevalue("postgres_url")
    )
    with seeded_stores(url) as stores:
        yield stores


async def serve(
    exits: AsyncExitStack, stores: Stores, config: CloudConfig, *middlewares: Any
) -> TestClient:
    app = create_app(stores.registry, stores.timeseries, config=config)
    app.middlewares.extend(middlewares)
    return await exits.enter_async_context(TestClient(TestServer(app)))


@pytest.fixture
async def exits() -> AsyncIterator[AsyncExitStack]:
    async with AsyncExitStack() as stack:
        yield stack


async def log_in(
    client: TestClient, username: str, password: str, address: str | None = None
) -> ClientResponse:
    headers = {"X-Forwarded-For": address} if address else {}
    response = await client.post(
        f"{API_PREFIX}/login", json={"username": username, "password": password}, headers=headers
    )
    await response.read()
    return response


def login_audit(stores: Stores, username: str) -> list[dict[str, Any]]:
    with stores.registry.session() as session:
        rows = session.scalars(
            select(AuditEntry).where(AuditEntry.target == "login").order_by(AuditEntry.id)
        )
        return [row.detail for row in rows if row.detail.get("username") == username]


def password_checks(stores: Stores, username: str) -> list[dict[str, Any]]:
    """Attempts whose password was checked: answered by the password, not by the throttle."""
    return [d for d in login_audit(stores, username) if d["why"] not in ("throttled", "busy")]


# --- a burst of guesses ---------------------------------------------------------------------


@pytest.mark.services
async def test_a_burst_across_two_api_processes_gets_no_more_checks_than_the_limit(
    postgres_url: str, exits: AsyncExitStack
) -> None:
    # Two API instances, each with its own engine and pools, on one PostgreSQL: as two
    # processes behind a load balancer would be.
    first = exits.enter_context(seeded_stores(postgres_url))
    second = Stores(Registry(make_engine(postgres_url)), first.timeseries)
    config = cloud_config(lockout_failures=5)
    clients = [await serve(exits, first, config), await serve(exits, second, config)]
    guesses = [
        log_in(clients[n % 2], "family", f"guess number {n}") for n in range(20)
    ] + [log_in(clients[1], "family", "anxin-family")]
    answers = await asyncio.gather(*guesses)
    wrong, right = answers[:-1], answers[-1]

    checked = password_checks(first, "family")
    assert len(checked) <= 5, f"{len(checked)} password checks in a burst limited to 5"
    assert len(login_audit(first, "family")) == 21  # every attempt is on record
    assert sum(1 for a in answers if a.status in (429, 503)) >= 16
    if right.status == 200:
        # The right password was one of the five attempts allowed.
        assert sum(1 for a in wrong if a.status == 401) <= 4
    else:
        # Refused by the throttle, it did not lift it: the right password is still refused.
        assert right.status == 429 and right.headers["Retry-After"]
        again = await log_in(clients[0], "family", "anxin-family")
        assert again.status == 429
    second.registry.engine.dispose()


async def test_a_burst_from_one_address_gets_no_more_checks_than_the_limit(
    stores: Stores, exits: AsyncExitStack
) -> None:
    client = await serve(exits, stores, cloud_config(lockout_failures=5))
    answers = await asyncio.gather(*(log_in(client, "worker", f"guess {n}") for n in range(20)))
    assert len(password_checks(stores, "worker")) <= 5
    statuses = [a.status for a in answers]
    # The fifth failure answers 429 too; the rest are refused unchecked, by the throttle
    # (429) or, when more logins wait than the hash pool queues, as busy (503).
    assert statuses.count(401) <= 4 and set(statuses) <= {401, 429, 503}, statuses
    assert statuses.count(429) >= 20 - 5 - statuses.count(503), statuses
    assert all(a.headers.get("Retry-After") for a in answers if a.status != 401)


# --- a stranger cannot lock the worker out ---------------------------------------------------


async def test_a_strangers_guesses_do_not_lock_the_worker_out_of_their_own_address(
    stores: Stores, exits: AsyncExitStack
) -> None:
    client = await serve(exits, stores, cloud_config(trusted_proxies=(PROXY,)))
    stranger, worker = "203.0.113.7", "198.51.100.20"
    for n in range(30):
        await log_in(client, "family", f"guess {n}", stranger)
    refused = await log_in(client, "family", "anxin-family", stranger)
    assert refused.status == 429  # the stranger's address is held back, even when right
    assert (await log_in(client, "family", "anxin-family", worker)).status == 200


async def test_guesses_from_many_addresses_are_slowed_but_the_worker_logs_in(
    stores: Stores, exits: AsyncExitStack
) -> None:
    client = await serve(exits, stores, cloud_config(trusted_proxies=(PROXY,)))
    worker = "198.51.100.20"
    assert (await log_in(client, "family", "anxin-family", worker)).status == 200
    answers = [
        await log_in(client, "family", f"guess {n}", f"203.0.113.{n}") for n in range(1, 61)
    ]
    # Past the account's allowance, guesses from addresses it never logged in from are held
    # back (mildly: a few seconds at most) ...
    held = [a for a in answers if a.status == 429]
    assert held and all(1 <= int(a.headers["Retry-After"]) <= 5 for a in held)
    # ... while the address the worker logs in from is not.
    assert (await log_in(client, "family", "anxin-family", worker)).status == 200


async def test_forwarded_addresses_are_believed_only_from_trusted_proxies(
    stores: Stores, exits: AsyncExitStack
) -> None:
    client = await serve(exits, stores, cloud_config())  # no trusted proxy
    # Changing the header on every guess does not make a new client of the sender.
    answers = [await log_in(client, "family", f"guess {n}", f"203.0.113.{n}") for n in range(8)]
    assert [a.status for a in answers][-3:] == [429, 429, 429]


# --- hashing cannot starve the rest of the API ------------------------------------------------


async def test_the_inbox_is_answered_while_password_hashing_is_saturated(
    stores: Stores, exits: AsyncExitStack
) -> None:
    config = cloud_config(
        trusted_proxies=(PROXY,), login_hash_threads=2, login_hash_queue=64
    )
    logins_received = 0

    @web.middleware
    async def count_logins(request: web.Request, handler: Any) -> web.StreamResponse:
        nonlocal logins_received
        if request.path.endswith("/login"):
            logins_received += 1
        return await handler(request)

    client = await serve(exits, stores, config, count_logins)
    token = (
        await (
            await client.post(
                f"{API_PREFIX}/login", json={"username": "worker", "password": "anxin-worker"}
            )
        ).json()
    )["token"]
    bursts = 40
    answered: list[int] = []

    async def bad_login(n: int) -> None:
        await log_in(client, f"stranger-{n}", "not a password", f"203.0.113.{n + 1}")
        answered.append(n)

    burst = [asyncio.create_task(bad_login(n)) for n in range(bursts)]
    await eventually(lambda: logins_received > bursts, what="the burst to reach the server")
    inbox = await client.get(
        f"{API_PREFIX}/alerts", headers={"Authorization": f"Bearer {token}"}
    )
    logins_done_before_the_inbox = len(answered)
    assert inbox.status == 200
    await asyncio.gather(*burst)
    assert logins_done_before_the_inbox < bursts // 2, (
        f"the inbox waited for {logins_done_before_the_inbox} of {bursts} password checks"
    )


async def test_when_too_many_logins_wait_the_rest_are_told_to_come_back(
    stores: Stores, exits: AsyncExitStack
) -> None:
    config = cloud_config(trusted_proxies=(PROXY,), login_hash_threads=1, login_hash_queue=1)
    client = await serve(exits, stores, config)
    answers = await asyncio.gather(
        *(log_in(client, f"stranger-{n}", "not it", f"203.0.113.{n + 1}") for n in range(12))
    )
    busy = [a for a in answers if a.status == 503]
    assert busy, [a.status for a in answers]
    assert all(a.headers["Retry-After"] == "1" for a in busy)
    assert all(a.status in (401, 503) for a in answers)
    with stores.registry.session() as session:
        rows = list(session.scalars(select(AuditEntry).where(AuditEntry.target == "login")))
    assert len(rows) == 12  # the turned-away attempts are on record too


async def test_the_console_forwards_the_browsers_address(
    stores: Stores, exits: AsyncExitStack
) -> None:
    from anxin.dashboard.api_client import ApiClient, LockedOut, NotAuthenticated

    client = await serve(exits, stores, cloud_config(trusted_proxies=(PROXY,)))
    console = ApiClient(str(client.make_url(API_PREFIX)))

    def console_login(password: str, browser: str) -> str:
        try:
            console.login("family", password, client_address=browser)
        except (LockedOut, NotAuthenticated) as exc:
            return type(exc).__name__
        return "logged in"

    answers = [await asyncio.to_thread(console_login, "wrong", "203.0.113.7") for _ in range(6)]
    assert answers[-1] == "LockedOut"
    # Every login reaches the API from the console's address; the worker's browser is not
    # the stranger's, so the worker is not held back.
    assert await asyncio.to_thread(console_login, "anxin-family", "198.51.100.20") == "logged in"
