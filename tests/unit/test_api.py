import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from anxin.cloud.api import API_PREFIX, create_app
from anxin.cloud.ingest.worker import Ingest
from anxin.cloud.stores import Stores
from tests.support.cloud import alert_payload, batch_payload, seeded_stores


@pytest.fixture
def stores(tmp_path: Path) -> Iterator[Stores]:
    with seeded_stores(f"sqlite:///{tmp_path}/cloud.sqlite") as stores:
        ingest = Ingest(stores.registry, stores.timeseries, "anxin/v1")
        ingest.handle("anxin/v1/home-1/gw-1/observations", batch_payload(seqs=range(10)))
        ingest.handle(
            "anxin/v1/home-2/gw-2/observations", batch_payload("gw-2", "home-2", range(4), "hr-2")
        )
        ingest.handle("anxin/v1/home-1/gw-1/alerts", alert_payload(100))
        yield stores


@pytest.fixture
async def client(stores: Stores) -> AsyncIterator[TestClient]:
    async with TestClient(TestServer(create_app(stores.registry, stores.timeseries))) as client:
        yield client


async def login(client: TestClient, username: str, password: str) -> dict[str, str]:
    response = await client.post(
        f"{API_PREFIX}/login", json={"username": username, "password": password}
    )
    assert response.status == 200, await response.text()
    return {"Authorization": f"Bearer {(await response.json())['token']}"}


async def test_everything_but_health_and_login_needs_a_login(client: TestClient) -> None:
    assert (await client.get(f"{API_PREFIX}/health")).status == 200
    for path in ("/persons", "/alerts", "/me", "/persons/p0001/observations?type=heart_rate"):
        response = await client.get(API_PREFIX + path)
        assert response.status == 401
        assert (await response.json())["error"]["code"] == "login_required"
    bad = await client.get(f"{API_PREFIX}/persons", headers={"Authorization": "Bearer forged"})
    assert (await bad.json())["error"]["code"] == "session_expired"


async def test_wrong_password_and_malformed_login(client: TestClient) -> None:
    response = await client.post(
        f"{API_PREFIX}/login", json={"username": "worker", "password": "nope"}
    )
    assert response.status == 401
    response = await client.post(
        f"{API_PREFIX}/login", data=b"{oops", headers={"Content-Type": "application/json"}
    )
    assert response.status == 400 and "JSON" in (await response.json())["error"]["message"]
    response = await client.post(f"{API_PREFIX}/login", json={"username": "worker"})
    assert response.status == 400 and "'password'" in (await response.json())["error"]["message"]


async def test_worker_sees_the_community_with_latest_vitals(client: TestClient) -> None:
    headers = await login(client, "worker", "anxin-worker")
    persons = await (await client.get(f"{API_PREFIX}/persons", headers=headers)).json()
    assert [p["name"] for p in persons] == ["张秀英", "李建国", "王淑珍"]
    first = persons[0]
    assert first["latest"]["heart_rate"]["value"] == 79
    assert first["latest"]["heart_rate"]["unit"] == "/min"
    assert first["open_alerts"] == 1
    assert {d["kind"] for d in first["devices"]} == {
        "heart_rate_strap",
        "pulse_oximeter",
        "bthome_motion",
        "bthome_button",
        "accelerometer_wearable",
    }


async def test_family_sees_only_their_relative(client: TestClient) -> None:
    headers = await login(client, "family", "anxin-family")
    persons = await (await client.get(f"{API_PREFIX}/persons", headers=headers)).json()
    assert [p["id"] for p in persons] == ["p0001"]
    other = await client.get(
        f"{API_PREFIX}/persons/p0002/observations?type=heart_rate", headers=headers
    )
    assert other.status == 404
    alerts = await (await client.get(f"{API_PREFIX}/alerts", headers=headers)).json()
    assert [a["person_id"] for a in alerts] == ["p0001"]


async def test_observations_query(client: TestClient) -> None:
    headers = await login(client, "worker", "anxin-worker")
    url = f"{API_PREFIX}/persons/p0001/observations"
    body = await (await client.get(url, params={"type": "heart_rate"}, headers=headers)).json()
    assert body["unit"] == "/min"
    values = [o["value"] for o in body["observations"]]
    assert values == sorted(values) and len(values) == 10
    future = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600))
    later = await (
        await client.get(url, params={"type": "heart_rate", "since": future}, headers=headers)
    ).json()
    assert later["observations"] == []
    for params, named in (
        ({"type": "blood_sugar"}, "'type'"),
        ({"type": "heart_rate", "since": "yesterday"}, "'since'"),
        ({"type": "heart_rate", "limit": "0"}, "'limit'"),
    ):
        response = await client.get(url, params=params, headers=headers)
        assert response.status == 400
        assert named in (await response.json())["error"]["message"]


async def test_alerts_filter_by_status(client: TestClient) -> None:
    headers = await login(client, "worker", "anxin-worker")
    alerts = await (await client.get(f"{API_PREFIX}/alerts?status=open", headers=headers)).json()
    assert alerts[0]["kind"] == "heart_rate_high" and alerts[0]["person_name"] == "张秀英"
    assert (await client.get(f"{API_PREFIX}/alerts?status=closed", headers=headers)).status == 400


async def test_logout_ends_the_session(client: TestClient) -> None:
    headers = await login(client, "admin", "anxin-admin")
    assert (await client.post(f"{API_PREFIX}/logout", headers=headers)).status == 200
    assert (await client.get(f"{API_PREFIX}/me", headers=headers)).status == 401


async def test_openapi_lists_exactly_the_served_routes(client: TestClient) -> None:
    document = await (await client.get(f"{API_PREFIX}/openapi.json")).json()
    documented = {
        (path, method.upper()) for path, item in document["paths"].items() for method in item
    }
    served = {
        (route.resource.canonical[len(API_PREFIX) :], route.method)
        for route in client.app.router.routes()
        if route.method != "HEAD"
    }
    assert documented == served
