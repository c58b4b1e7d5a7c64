"""Taking access back: disabling users, changing and resetting passwords, ending sessions.

Through the real API on SQLite and PostgreSQL; each revocation must bite on the very next
request of a session that was open before it.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from argon2 import PasswordHasher
from sqlalchemy import select

from anxin.cloud.access.hash_pool import THREAD_NAME as HASH_THREAD_NAME
from anxin.cloud.api import API_PREFIX
from anxin.cloud.database.models import ApiSession, AuditEntry, User
from anxin.cloud.stores import Stores
from tests.support.cloud import BACKENDS, api_client, seeded_backend

PASSWORDS = {"admin": "anxin-admin", "worker": "anxin-worker", "family": "anxin-family"}
FHIR_EXPORT = f"{API_PREFIX}/persons/p0001/fhir/Observation"


@pytest.fixture(params=BACKENDS)
def stores(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Stores]:
    with seeded_backend(request, tmp_path) as stores:
        yield stores


@pytest.fixture
async def client(stores: Stores) -> AsyncIterator[TestClient]:
    async with api_client(stores) as client:
        yield client


async def log_in(client: TestClient, username: str, password: str | None = None) -> Any:
    return await client.post(
        f"{API_PREFIX}/login",
        json={"username": username, "password": password or PASSWORDS[username]},
    )


async def session_of(client: TestClient, username: str, password: str | None = None) -> dict:
    response = await log_in(client, username, password)
    assert response.status == 200, await response.text()
    return {"Authorization": f"Bearer {(await response.json())['token']}"}


async def status_of(client: TestClient, method: str, path: str, headers: dict, **kw: Any) -> int:
    response = await client.request(method, API_PREFIX + path, headers=headers, **kw)
    return response.status


def audit(stores: Stores, action: str) -> list[AuditEntry]:
    with stores.registry.session() as session:
        return list(
            session.scalars(
                select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
            )
        )


def sessions_of(stores: Stores, username: str) -> int:
    with stores.registry.session() as session:
        rows = session.scalars(select(ApiSession).where(ApiSession.username == username))
        return len(list(rows))


async def test_a_user_disabled_in_the_registry_loses_an_open_session_at_once(
    client: TestClient, stores: Stores
) -> None:
    family = await session_of(client, "family")
    assert (await client.get(FHIR_EXPORT, headers=family)).status == 200
    with stores.registry.session() as session, session.begin():
        user = session.get(User, "family")
        assert user is not None
        user.disabled = True
    refused = await client.get(FHIR_EXPORT, headers=family)
    assert refused.status == 401, await refused.text()
    assert (await refused.json())["error"]["code"] == "account_disabled"


async def test_admin_disables_and_re_enables_a_user(client: TestClient, stores: Stores) -> None:
    family = await session_of(client, "family")
    also_family = await session_of(client, "family")
    admin = await session_of(client, "admin")
    assert (await client.get(FHIR_EXPORT, headers=family)).status == 200

    url = f"{API_PREFIX}/users/family/disable"
    assert (await client.post(url, headers=family, json={})).status == 403
    disabled = await client.post(url, headers=admin, json={"reason": "left the family"})
    assert disabled.status == 200, await disabled.text()
    assert (await disabled.json())["disabled"] is True
    for headers in (family, also_family):
        assert (await client.get(FHIR_EXPORT, headers=headers)).status == 401
    assert sessions_of(stores, "family") == 0
    assert (await log_in(client, "family")).status == 401
    own = await client.post(f"{API_PREFIX}/users/admin/disable", headers=admin, json={})
    assert own.status == 409 and "own" in (await own.json())["error"]["message"]
    missing = await client.post(f"{API_PREFIX}/users/nobody/disable", headers=admin, json={})
    assert missing.status == 404

    enabled = await client.post(f"{API_PREFIX}/users/family/enable", headers=admin, json={})
    assert enabled.status == 200 and (await enabled.json())["disabled"] is False
    again = await session_of(client, "family")
    assert (await client.get(FHIR_EXPORT, headers=again)).status == 200

    [off] = audit(stores, "user.disable")
    assert (off.actor, off.target) == ("admin", "users/family")
    assert off.detail == {"sessions_ended": 2, "reason": "left the family"}
    [on] = audit(stores, "user.enable")
    assert (on.actor, on.target) == ("admin", "users/family")


async def test_changing_ones_password_ends_the_other_sessions(
    client: TestClient, stores: Stores
) -> None:
    here = await session_of(client, "family")
    elsewhere = await session_of(client, "family")
    url = f"{API_PREFIX}/me/password"
    wrong = await client.post(
        url, headers=here, json={"current_password": "guess", "new_password": "a-new-passphrase"}
    )
    assert wrong.status == 403 and "current_password" in (await wrong.json())["error"]["message"]
    weak = await client.post(
        url, headers=here, json={"current_password": "anxin-family", "new_password": "family"}
    )
    assert weak.status == 400 and "new_password" in (await weak.json())["error"]["message"]
    assert (await status_of(client, "GET", "/me", elsewhere)) == 200  # nothing changed yet

    changed = await client.post(
        url,
        headers=here,
        json={"current_password": "anxin-family", "new_password": "a-new-passphrase"},
    )
    assert changed.status == 200, await changed.text()
    assert (await changed.json())["sessions_ended"] == 1
    assert (await status_of(client, "GET", "/persons", elsewhere)) == 401
    assert (await status_of(client, "GET", "/persons", here)) == 200  # this one is kept
    assert (await log_in(client, "family")).status == 401
    assert (await log_in(client, "family", "a-new-passphrase")).status == 200

    [entry] = audit(stores, "user.password_change")
    assert (entry.actor, entry.target) == ("family", "users/family")
    assert entry.detail == {"sessions_ended": 1}
    assert [e.actor for e in audit(stores, "user.password_change.refused")] == ["family"]


async def test_admin_resets_a_password_and_the_user_must_change_it(
    client: TestClient, stores: Stores
) -> None:
    worker = await session_of(client, "worker")
    admin = await session_of(client, "admin")
    url = f"{API_PREFIX}/users/worker/password-reset"
    assert (await client.post(url, headers=worker, json={})).status == 403
    reset = await client.post(url, headers=admin, json={})
    assert reset.status == 200, await reset.text()
    assert reset.headers["Cache-Control"] == "no-store"
    temporary = (await reset.json())["temporary_password"]
    assert len(temporary) >= 16
    assert (await status_of(client, "GET", "/alerts", worker)) == 401
    assert (await log_in(client, "worker")).status == 401

    logged_in = await log_in(client, "worker", temporary)
    assert logged_in.status == 200
    assert (await logged_in.json())["user"]["must_change_password"] is True
    fresh = {"Authorization": f"Bearer {(await logged_in.json())['token']}"}
    blocked = await client.get(f"{API_PREFIX}/alerts", headers=fresh)
    assert blocked.status == 403
    assert (await blocked.json())["error"]["code"] == "password_change_required"
    assert (await status_of(client, "GET", "/me", fresh)) == 200
    changed = await client.post(
        f"{API_PREFIX}/me/password",
        headers=fresh,
        json={"current_password": temporary, "new_password": "worker-chosen-secret"},
    )
    assert changed.status == 200, await changed.text()
    assert (await status_of(client, "GET", "/alerts", fresh)) == 200
    me = await (await client.get(f"{API_PREFIX}/me", headers=fresh)).json()
    assert me["must_change_password"] is False

    [entry] = audit(stores, "user.password_reset")
    assert (entry.actor, entry.target, entry.detail) == (
        "admin",
        "users/worker",
        {"sessions_ended": 1},
    )
    assert temporary not in str([e.detail for e in audit(stores, "user.password_reset")])


async def test_users_list_and_end_their_own_sessions(client: TestClient, stores: Stores) -> None:
    phone = await session_of(client, "family")
    laptop = await session_of(client, "family")
    worker = await session_of(client, "worker")
    listed = await client.get(f"{API_PREFIX}/me/sessions", headers=phone)
    assert listed.status == 200
    sessions = await listed.json()
    assert len(sessions) == 2 and sorted(s["current"] for s in sessions) == [False, True]
    other = next(s["id"] for s in sessions if not s["current"])
    assert all("token" not in key for s in sessions for key in s)

    # Another user's session id is not theirs to end.
    assert (await status_of(client, "DELETE", f"/me/sessions/{other}", worker)) == 404
    assert (await status_of(client, "GET", "/me", laptop)) == 200
    assert (await status_of(client, "DELETE", f"/me/sessions/{other}", phone)) == 200
    assert (await status_of(client, "GET", "/me", laptop)) == 401
    assert (await status_of(client, "GET", "/me", phone)) == 200

    tablet = await session_of(client, "family")
    everywhere = await client.delete(f"{API_PREFIX}/me/sessions", headers=phone)
    assert everywhere.status == 200 and (await everywhere.json())["sessions_ended"] == 2
    for headers in (phone, tablet):
        assert (await status_of(client, "GET", "/me", headers)) == 401
    assert (await status_of(client, "GET", "/me", worker)) == 200
    ended = [(e.actor, e.target, e.detail) for e in audit(stores, "session.end")]
    assert ended[0][:2] == ("family", "users/family") and ended[0][2]["sessions_ended"] == 1
    assert ended[1] == ("family", "users/family", {"sessions_ended": 2})


async def test_admin_ends_all_sessions_of_a_user(client: TestClient, stores: Stores) -> None:
    worker = await session_of(client, "worker")
    family = await session_of(client, "family")
    admin = await session_of(client, "admin")
    assert (await status_of(client, "DELETE", "/users/family/sessions", worker)) == 403
    ended = await client.delete(f"{API_PREFIX}/users/family/sessions", headers=admin)
    assert ended.status == 200 and (await ended.json())["sessions_ended"] == 1
    assert (await status_of(client, "GET", "/persons/p0001", family)) == 401
    assert (await status_of(client, "GET", "/alerts", worker)) == 200
    assert (await status_of(client, "DELETE", "/users/nobody/sessions", admin)) == 404
    [entry] = audit(stores, "session.end")
    assert (entry.actor, entry.target, entry.detail) == (
        "admin",
        "users/family",
        {"sessions_ended": 1},
    )


async def test_a_password_change_hashes_on_the_logins_own_threads(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Argon2 on the threads every request shares would let one user slow everyone's API.
    threads: list[str] = []
    real_verify, real_hash = PasswordHasher.verify, PasswordHasher.hash

    def verify(self: PasswordHasher, stored: Any, password: Any) -> bool:
        threads.append(threading.current_thread().name)
        return real_verify(self, stored, password)

    def hash_(self: PasswordHasher, password: Any, **kwargs: Any) -> str:
        threads.append(threading.current_thread().name)
        return real_hash(self, password, **kwargs)

    here = await session_of(client, "family")
    monkeypatch.setattr(PasswordHasher, "verify", verify)
    monkeypatch.setattr(PasswordHasher, "hash", hash_)
    changed = await client.post(
        f"{API_PREFIX}/me/password",
        headers=here,
        json={"current_password": "anxin-family", "new_password": "a-new-passphrase"},
    )
    assert changed.status == 200, await changed.text()
    assert len(threads) == 2
    assert all(name.startswith(HASH_THREAD_NAME) for name in threads), threads
