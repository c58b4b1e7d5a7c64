"""The audit middleware, /audit, /users and /me/preferences through the real API."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from anxin.cloud.api import API_PREFIX
from anxin.cloud.api.account_routes import WEBHOOK_RESOLVER
from anxin.cloud.database.models import AuditEntry, User
from anxin.cloud.stores import Stores
from tests.support.cloud import BACKENDS, api_client, seeded_backend
from tests.support.webhooks import TableResolver


@pytest.fixture(params=BACKENDS)
def stores(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Stores]:
    with seeded_backend(request, tmp_path) as stores:
        yield stores


@pytest.fixture
async def client(stores: Stores) -> AsyncIterator[TestClient]:
    def prepare(app: web.Application) -> None:
        app[WEBHOOK_RESOLVER] = TableResolver({"hooks.example.org": ["93.184.215.14"]})

    async with api_client(stores, prepare=prepare) as client:
        yield client


async def login(client: TestClient, username: str, password: str) -> dict[str, str]:
    response = await client.post(
        f"{API_PREFIX}/login", json={"username": username, "password": password}
    )
    assert response.status == 200, await response.text()
    return {"Authorization": f"Bearer {(await response.json())['token']}"}


def audit_entries(stores: Stores) -> list[AuditEntry]:
    with stores.registry.session() as session:
        return list(session.scalars(select(AuditEntry).order_by(AuditEntry.id)))


async def test_reads_refusals_and_logins_are_audited(client: TestClient, stores: Stores) -> None:
    await client.post(f"{API_PREFIX}/login", json={"username": "worker", "password": "nope"})
    worker = await login(client, "worker", "anxin-worker")
    family = await login(client, "family", "anxin-family")
    assert (await client.get(f"{API_PREFIX}/alerts", headers=worker)).status == 200
    assert (await client.get(f"{API_PREFIX}/persons/p0002", headers=family)).status == 404
    assert (await client.get(f"{API_PREFIX}/users", headers=family)).status == 403
    assert (await client.get(f"{API_PREFIX}/no/such/route", headers=family)).status == 404
    # Not logged in at all: nobody to write down.
    assert (await client.get(f"{API_PREFIX}/alerts")).status == 401

    entries = [(e.actor, e.action, e.target, e.person_id, e.detail) for e in audit_entries(stores)]
    assert entries[0][:3] == ("anonymous", "login.failed", "login")
    assert entries[0][4]["username"] == "worker"
    assert entries[1][:3] == ("worker", "login", "login")
    assert entries[2][:3] == ("family", "login", "login")
    assert entries[3] == (
        "worker",
        "read",
        "alerts",
        None,
        {"route": "/api/v1/alerts", "status": 200},
    )
    assert entries[4] == (
        "family",
        "read",
        "persons/p0002",
        "p0002",
        {"route": "/api/v1/persons/{person_id}", "status": 404},
    )
    assert entries[5][:3] == ("family", "read", "users")
    assert entries[5][4] == {"route": "/api/v1/users", "status": 403}
    assert entries[6][2] == "no/such/route" and entries[6][4]["status"] == 404
    assert len(entries) == 7


async def test_admin_reads_the_audit_log_and_that_read_is_audited(
    client: TestClient, stores: Stores
) -> None:
    admin = await login(client, "admin", "anxin-admin")
    family = await login(client, "family", "anxin-family")
    await client.get(f"{API_PREFIX}/persons/p0001", headers=family)
    first = await (await client.get(f"{API_PREFIX}/audit?limit=2", headers=admin)).json()
    assert [e["actor"] for e in first["entries"]] == ["family", "family"]
    assert first["entries"][0]["target"] == "persons/p0001"
    older = await (
        await client.get(
            f"{API_PREFIX}/audit?limit=2&before_id={first['next_before_id']}", headers=admin
        )
    ).json()
    assert [e["action"] for e in older["entries"]] == ["login"]
    assert older["next_before_id"] is None
    by_person = await (
        await client.get(f"{API_PREFIX}/audit?person_id=p0001", headers=admin)
    ).json()
    assert [e["target"] for e in by_person["entries"]] == ["persons/p0001"]
    reads_of_audit = await (
        await client.get(f"{API_PREFIX}/audit?actor=admin", headers=admin)
    ).json()
    assert [e["target"] for e in reads_of_audit["entries"][:3]] == ["audit", "audit", "audit"]
    verified = await (await client.get(f"{API_PREFIX}/audit/verify", headers=admin)).json()
    assert verified["intact"] and verified["entries"] == len(audit_entries(stores)) - 1
    bad = await client.get(f"{API_PREFIX}/audit?since=yesterday", headers=admin)
    assert bad.status == 400 and "'since'" in (await bad.json())["error"]["message"]
    assert (await client.get(f"{API_PREFIX}/audit/verify", headers=family)).status == 403


async def test_admin_creates_users_with_a_password_policy(
    client: TestClient, stores: Stores
) -> None:
    admin = await login(client, "admin", "anxin-admin")
    worker = {
        "username": "wang",
        "display_name": "王医生",
        "role": "worker",
        "password": "short",
        "community": "幸福里社区",
        "supervisor": "admin",
    }
    short = await client.post(f"{API_PREFIX}/users", headers=admin, json=worker)
    assert short.status == 400 and "password" in (await short.json())["error"]["message"]
    no_community = worker | {"password": "long enough 1", "community": None}
    answer = await client.post(f"{API_PREFIX}/users", headers=admin, json=no_community)
    assert answer.status == 400 and "'community'" in (await answer.json())["error"]["message"]
    created = await client.post(
        f"{API_PREFIX}/users", headers=admin, json=worker | {"password": "long enough 1"}
    )
    assert created.status == 201
    assert (await created.json())["supervisor"] == "admin"
    again = await client.post(
        f"{API_PREFIX}/users", headers=admin, json=worker | {"password": "long enough 1"}
    )
    assert again.status == 409
    listed = await (await client.get(f"{API_PREFIX}/users?role=worker", headers=admin)).json()
    assert [u["username"] for u in listed] == ["wang", "worker"]
    assert all("password_hash" not in u for u in listed)
    new_worker = await login(client, "wang", "long enough 1")
    assert (await client.post(f"{API_PREFIX}/users", headers=new_worker, json=worker)).status == 403
    creation = [e for e in audit_entries(stores) if e.action == "user.create"]
    assert [(e.actor, e.target) for e in creation] == [("admin", "users/wang")]


async def test_users_edit_their_own_preferences(client: TestClient, stores: Stores) -> None:
    family = await login(client, "family", "anxin-family")
    url = f"{API_PREFIX}/me/preferences"
    for body, field in (
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"webhook_url": "http://example.org/hook"}, "webhook_url"),
        ({"quiet_start": "25:00", "quiet_end": "07:00"}, "quiet_start"),
        ({"quiet_start": "22:00"}, "quiet_end"),
        ({"notify_channels": ["sms", "sms"]}, "notify_channels"),
        ({"colour": "blue"}, "colour"),
    ):
        answer = await client.patch(url, headers=family, json=body)
        assert answer.status == 400, body
        assert field in (await answer.json())["error"]["message"]
    changed = await client.patch(
        url,
        headers=family,
        json={
            "notify_channels": ["sms", "webhook"],
            "notify_min_severity": "medium",
            "quiet_start": "22:30",
            "quiet_end": "06:45",
            "timezone": "Asia/Urumqi",
            "webhook_url": "https://hooks.example.org/anxin",
            "phone": "13812345678",
        },
    )
    assert changed.status == 200, await changed.text()
    preferences = (await changed.json())["preferences"]
    assert preferences["phone"] == "138****5678"
    assert preferences["timezone"] == "Asia/Urumqi" and preferences["quiet_end"] == "06:45"
    me = await (await client.get(f"{API_PREFIX}/me", headers=family)).json()
    assert me["preferences"]["notify_channels"] == ["sms", "webhook"]
    assert me["username"] == "family" and me["role"] == "family"
    with stores.registry.session() as session:
        user = session.get(User, "family")
        assert user is not None and user.phone_enc and "13812345678" not in user.phone_enc
