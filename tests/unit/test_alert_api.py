"""The alert routes: listing and filters, one alert with its history, the lifecycle steps
and who may take them."""

from __future__ import annotations

import weakref
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from anxin.cloud.api import API_PREFIX, create_app
from anxin.cloud.care.escalation import escalate_due
from anxin.cloud.registry.registry import now_ms
from anxin.cloud.stores import Stores
from anxin.config import EscalationConfig, NotificationsConfig
from tests.support.alert_world import (
    BACKENDS,
    ELDER_PASSWORD,
    alert_world,
    database_url,
    raise_alert,
    set_preferences,
)

SESSIONS: weakref.WeakKeyDictionary[TestClient, dict[str, dict[str, str]]] = (
    weakref.WeakKeyDictionary()
)
PASSWORDS = {
    "worker": "anxin-worker",
    "family": "anxin-family",
    "admin": "anxin-admin",
    "elder": ELDER_PASSWORD,
}


@pytest.fixture(params=BACKENDS)
def stores(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Stores]:
    with alert_world(database_url(request, tmp_path)) as stores:
        yield stores


@pytest.fixture
async def client(stores: Stores) -> AsyncIterator[TestClient]:
    app = create_app(stores.registry, stores.timeseries)
    async with TestClient(TestServer(app)) as client:
        yield client


async def login(client: TestClient, username: str) -> dict[str, str]:
    """A session per user and client (logging in hashes the password: slow on purpose)."""
    tokens = SESSIONS.setdefault(client, {})
    if username in tokens:
        return tokens[username]
    response = await client.post(
        f"{API_PREFIX}/login", json={"username": username, "password": PASSWORDS[username]}
    )
    assert response.status == 200, await response.text()
    tokens[username] = {"Authorization": f"Bearer {(await response.json())['token']}"}
    return tokens[username]


async def call(
    client: TestClient, who: str, method: str, path: str, body: object = None
) -> tuple[int, object]:
    headers = await login(client, who)
    response = await client.request(method, API_PREFIX + path, headers=headers, json=body)
    return response.status, await response.json()


async def test_listing_keeps_the_console_fields_and_filters(
    client: TestClient, stores: Stores
) -> None:
    fall = raise_alert(stores.registry, 1)
    other = raise_alert(stores.registry, 2, kind="spo2_low", severity="high", device="ox-2")
    status, listing = await call(client, "worker", "GET", "/alerts?status=open")
    assert status == 200 and isinstance(listing, list)
    assert {a["id"] for a in listing} == {fall, other}
    first = next(a for a in listing if a["id"] == fall)
    for field in ("person_name", "raised_at", "delay_ms", "occurrences", "evidence", "message"):
        assert field in first
    assert first["person_name"] == "张秀英" and first["status"] == "open"
    status, mine = await call(client, "worker", "GET", "/alerts?person_id=p0002")
    assert status == 200 and [a["id"] for a in mine] == [other]  # type: ignore[index]
    status, family = await call(client, "family", "GET", "/alerts")
    assert [a["id"] for a in family] == [fall]  # type: ignore[union-attr]
    status, _ = await call(client, "family", "GET", "/alerts?person_id=p0002")
    assert status == 404
    status, body = await call(client, "worker", "GET", "/alerts?status=closed")
    assert status == 400 and "'status'" in body["error"]["message"]  # type: ignore[index]
    status, own = await call(client, "elder", "GET", "/persons/p0001/alerts")
    assert status == 200 and [a["id"] for a in own] == [fall]  # type: ignore[union-attr]
    status, _ = await call(client, "elder", "GET", "/persons/p0002/alerts")
    assert status == 404


async def test_worker_takes_an_alert_from_open_to_resolved(
    client: TestClient, stores: Stores
) -> None:
    alert_id = raise_alert(stores.registry, 1)
    base = f"/alerts/{alert_id}"
    status, body = await call(client, "worker", "POST", f"{base}/acknowledge", {"note": "在路上"})
    assert status == 200 and body["status"] == "acknowledged"  # type: ignore[index]
    assert body["acknowledged_by"] == "worker"  # type: ignore[index]
    status, body = await call(client, "worker", "POST", f"{base}/acknowledge")
    assert status == 409 and body["error"]["code"] == "illegal_transition"  # type: ignore[index]
    status, body = await call(client, "worker", "POST", f"{base}/resolve", {})
    assert status == 400 and "outcome" in body["error"]["message"]  # type: ignore[index]
    status, body = await call(client, "worker", "POST", f"{base}/resolve", {"outcome": " "})
    assert status == 400
    status, body = await call(client, "worker", "POST", f"{base}/resolve", {"why": "x"})
    assert status == 400 and "why" in body["error"]["message"]  # type: ignore[index]
    status, body = await call(client, "worker", "POST", f"{base}/start")
    assert status == 200 and body["status"] == "in_progress"  # type: ignore[index]
    status, body = await call(
        client, "worker", "POST", f"{base}/resolve", {"outcome": "上门查看，已送医"}
    )
    assert status == 200 and body["status"] == "resolved"  # type: ignore[index]
    assert body["outcome"] == "上门查看，已送医" and body["closed_by"] == "worker"  # type: ignore[index]
    status, detail = await call(client, "family", "GET", base)
    assert status == 200
    assert [t["to_status"] for t in detail["transitions"]] == [  # type: ignore[index]
        "open",
        "acknowledged",
        "in_progress",
        "resolved",
    ]
    assert detail["transitions"][1]["note"] == "在路上"  # type: ignore[index]


async def test_family_may_acknowledge_but_not_handle(client: TestClient, stores: Stores) -> None:
    alert_id = raise_alert(stores.registry, 1)
    for step, body in (
        ("start", None),
        ("dismiss", {"reason": "x"}),
        ("assign", {"worker": "worker"}),
    ):
        status, _ = await call(client, "family", "POST", f"/alerts/{alert_id}/{step}", body)
        assert status == 403, step
    status, body = await call(client, "family", "POST", f"/alerts/{alert_id}/acknowledge")
    assert status == 200 and body["acknowledged_by"] == "family"  # type: ignore[index]


async def test_recipient_reads_only_and_strangers_get_404(
    client: TestClient, stores: Stores
) -> None:
    mine = raise_alert(stores.registry, 1)
    theirs = raise_alert(stores.registry, 2, kind="sos", device="sos-2")
    status, _ = await call(client, "elder", "GET", f"/alerts/{mine}")
    assert status == 200
    status, _ = await call(client, "elder", "POST", f"/alerts/{mine}/acknowledge")
    assert status == 403
    status, body = await call(client, "family", "GET", f"/alerts/{theirs}")
    assert status == 404 and "李建国" not in str(body)
    status, _ = await call(client, "family", "POST", f"/alerts/{theirs}/acknowledge")
    assert status == 404
    status, _ = await call(client, "admin", "GET", "/alerts/99999999")
    assert status == 404
    status, _ = await call(client, "admin", "GET", "/alerts/99999999999999")
    assert status == 404
    status, _ = await call(client, "admin", "GET", "/alerts/abc")
    assert status == 400


async def test_assign_and_see_notifications(client: TestClient, stores: Stores) -> None:
    registry = stores.registry
    set_preferences(registry, "family", notify_channels=["email"], email="zl@example.cn")
    alert_id = raise_alert(registry, 1)
    escalate_due(registry, EscalationConfig(), NotificationsConfig(), now_ms())
    status, body = await call(
        client, "admin", "POST", f"/alerts/{alert_id}/assign", {"worker": "helper"}
    )
    assert status == 200 and body["assigned_to"] == "helper"  # type: ignore[index]
    status, body = await call(
        client, "worker", "POST", f"/alerts/{alert_id}/assign", {"worker": "family"}
    )
    assert status == 400 and "'worker'" in body["error"]["message"]  # type: ignore[index]
    status, detail = await call(client, "admin", "GET", f"/alerts/{alert_id}")
    assert [(n["recipient"], n["channel"]) for n in detail["notifications"]] == [  # type: ignore[index]
        ("family", "email")
    ]
    status, own = await call(client, "family", "GET", f"/alerts/{alert_id}")
    assert len(own["notifications"]) == 1  # type: ignore[index]
    status, elder = await call(client, "elder", "GET", f"/alerts/{alert_id}")
    assert elder["notifications"] == []  # type: ignore[index]


async def test_openapi_lists_the_alert_routes(client: TestClient) -> None:
    document = await (await client.get(f"{API_PREFIX}/openapi.json")).json()
    paths = document["paths"]
    for step in ("acknowledge", "start", "resolve", "dismiss", "assign"):
        assert "409" in paths[f"/alerts/{{alert_id}}/{step}"]["post"]["responses"]
    assert "/persons/{person_id}/alerts" in paths
    assert document["components"]["schemas"]["AlertResolve"]["additionalProperties"] is False
