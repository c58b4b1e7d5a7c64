"""Family links: a worker links a family account only with the person's consent, and an
unlinked relative loses access on their very next request (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from anxin.cloud.access.passwords import hash_password
from anxin.cloud.api import API_PREFIX
from anxin.cloud.database.models import AuditEntry, User
from anxin.cloud.stores import Stores
from tests.support.cloud import BACKENDS, api_client, seeded_backend

PASSWORDS = {
    "admin": "anxin-admin",
    "worker": "anxin-worker",
    "family": "anxin-family",
    "nephew": "anxin-nephew",
}
LINK = {"username": "nephew", "relation": "nephew"}


@pytest.fixture(params=BACKENDS)
def stores(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Stores]:
    with seeded_backend(request, tmp_path) as stores:
        stores.registry.add_all(
            [
                User(
                    username="nephew",
                    display_name="侄子",
                    role="family",
                    password_hash=hash_password(PASSWORDS["nephew"]),
                )
            ]
        )
        yield stores


@pytest.fixture
async def client(stores: Stores) -> AsyncIterator[TestClient]:
    async with api_client(stores) as client:
        yield client


async def session_of(client: TestClient, username: str) -> dict[str, str]:
    response = await client.post(
        f"{API_PREFIX}/login", json={"username": username, "password": PASSWORDS[username]}
    )
    assert response.status == 200, await response.text()
    return {"Authorization": f"Bearer {(await response.json())['token']}"}


async def call(
    client: TestClient, method: str, path: str, headers: dict[str, str], body: Any = None
) -> tuple[int, Any]:
    response = await client.request(method, API_PREFIX + path, headers=headers, json=body)
    text = await response.text()
    return response.status, (await response.json()) if text else None


def audit(stores: Stores, action: str) -> list[AuditEntry]:
    with stores.registry.session() as session:
        return list(
            session.scalars(
                select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
            )
        )


async def test_unlinking_a_relative_takes_their_access_at_once(
    client: TestClient, stores: Stores
) -> None:
    family = await session_of(client, "family")
    worker = await session_of(client, "worker")
    assert (await call(client, "GET", "/persons/p0001", family))[0] == 200
    assert (await call(client, "GET", "/persons/p0001/fhir/Observation", family))[0] == 200

    status, answer = await call(client, "DELETE", "/persons/p0001/family/family", family)
    assert status == 403, answer
    status, answer = await call(client, "DELETE", "/persons/p0001/family/family", worker)
    assert status == 200, answer
    assert answer == {"person_id": "p0001", "username": "family", "unlinked": True}

    # The relative's session is still open, but the person is gone from it.
    assert (await call(client, "GET", "/persons/p0001", family))[0] == 404
    assert (await call(client, "GET", "/persons/p0001/fhir/Observation", family))[0] == 404
    assert (await call(client, "GET", "/persons", family))[1] == []
    listed = (await call(client, "GET", "/persons/p0001/family", worker))[1]
    assert "family" not in [member["username"] for member in listed]
    status, answer = await call(client, "DELETE", "/persons/p0001/family/family", worker)
    assert status == 404 and "family" in answer["error"]["message"]

    [entry] = audit(stores, "family_link.delete")
    assert (entry.actor, entry.target, entry.person_id) == (
        "worker",
        "persons/p0001/family/family",
        "p0001",
    )
    assert entry.detail == {"relation": "daughter"}


async def test_a_worker_links_a_relative_only_with_the_persons_consent(
    client: TestClient, stores: Stores
) -> None:
    worker = await session_of(client, "worker")
    admin = await session_of(client, "admin")
    status, answer = await call(client, "POST", "/persons/p0002/family", worker, LINK)
    assert status == 403, answer
    assert answer["error"]["code"] == "consent_required"
    assert "consent" in answer["error"]["message"] and "nephew" in answer["error"]["message"]
    assert audit(stores, "family_link.create") == []

    consent = {"data_scope": "vitals", "grantee": "family", "purpose": "家属查看"}
    # Consents that do not cover this relative, or not their vitals, or no longer hold.
    for wrong in (
        consent,  # family in general, not this account
        consent | {"grantee_username": "family"},
        consent | {"grantee_username": "nephew", "data_scope": "wear_record"},
    ):
        assert (await call(client, "POST", "/persons/p0002/consents", worker, wrong))[0] == 201
    status, revoked = await call(
        client, "POST", "/persons/p0002/consents", worker, consent | {"grantee_username": "nephew"}
    )
    assert status == 201 and revoked["grantee_username"] == "nephew"
    assert (await call(client, "POST", f"/consents/{revoked['id']}/revoke", worker))[0] == 200
    assert (await call(client, "POST", "/persons/p0002/family", worker, LINK))[0] == 403

    not_family = consent | {"grantee": "gp", "grantee_username": "nephew"}
    status, answer = await call(client, "POST", "/persons/p0002/consents", worker, not_family)
    assert status == 400 and "grantee_username" in answer["error"]["message"]
    no_such = consent | {"grantee_username": "worker"}
    status, answer = await call(client, "POST", "/persons/p0002/consents", worker, no_such)
    assert status == 400 and "grantee_username" in answer["error"]["message"]

    status, _ = await call(
        client, "POST", "/persons/p0002/consents", worker, consent | {"grantee_username": "nephew"}
    )
    assert status == 201
    status, linked = await call(client, "POST", "/persons/p0002/family", worker, LINK)
    assert status == 201, linked
    # The administrator needs no consent record.
    status, linked = await call(client, "POST", "/persons/p0003/family", admin, LINK)
    assert status == 201, linked
    created = [(e.actor, e.target) for e in audit(stores, "family_link.create")]
    assert created == [
        ("worker", "persons/p0002/family/nephew"),
        ("admin", "persons/p0003/family/nephew"),
    ]
    nephew = await session_of(client, "nephew")
    seen = sorted(p["id"] for p in (await call(client, "GET", "/persons", nephew))[1])
    assert seen == ["p0002", "p0003"]
