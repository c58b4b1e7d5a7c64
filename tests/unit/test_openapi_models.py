"""The served OpenAPI document is made from the models that check requests and shape
answers: a bound declared on a model is the bound the document shows and the one the
server enforces, and an answer the server sends has exactly the keys its schema lists."""

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from annotated_types import Le, MaxLen

from anxin.cloud.api import API_PREFIX, create_app
from anxin.cloud.api.observation_routes import ObservationsQuery
from anxin.cloud.api.operation import Answer, Reply, bind, operation
from anxin.cloud.api.registry_bodies import PersonCreate
from anxin.cloud.ingest.worker import Ingest
from anxin.cloud.stores import Stores
from tests.support.cloud import alert_payload, batch_payload, seeded_stores


@pytest.fixture
def stores(tmp_path: Path) -> Iterator[Stores]:
    with seeded_stores(f"sqlite:///{tmp_path}/cloud.sqlite") as stores:
        ingest = Ingest(stores.registry, stores.timeseries, "anxin/v1")
        ingest.handle("anxin/v1/home-1/gw-1/observations", batch_payload(seqs=range(3)))
        ingest.handle("anxin/v1/home-1/gw-1/alerts", alert_payload(100))
        yield stores


@pytest.fixture
async def client(stores: Stores) -> AsyncIterator[TestClient]:
    async with TestClient(TestServer(create_app(stores.registry, stores.timeseries))) as client:
        yield client


async def admin(client: TestClient) -> dict[str, str]:
    response = await client.post(
        f"{API_PREFIX}/login", json={"username": "admin", "password": "anxin-admin"}
    )
    assert response.status == 200, await response.text()
    return {"Authorization": f"Bearer {(await response.json())['token']}"}


async def document(client: TestClient) -> dict[str, Any]:
    return await (await client.get(f"{API_PREFIX}/openapi.json")).json()


def bound(model: Any, field: str, kind: type) -> Any:
    """The bound of ``kind`` (MaxLen, Le, ...) declared on the model's field."""
    found = [item for item in model.model_fields[field].metadata if isinstance(item, kind)]
    assert found, f"{model.__name__}.{field} declares no {kind.__name__}"
    return found[0]


async def test_a_body_bound_is_the_documented_and_the_enforced_one(client: TestClient) -> None:
    longest = bound(PersonCreate, "name", MaxLen).max_length
    schemas = (await document(client))["components"]["schemas"]
    assert schemas["PersonCreate"]["properties"]["name"]["maxLength"] == longest
    request = (await document(client))["paths"]["/persons"]["post"]["requestBody"]
    assert request["content"]["application/json"]["schema"]["$ref"].endswith("/PersonCreate")

    person = {"name": "张" * longest, "birth_date": "1944-02-02", "sex": "F", "community": "x"}
    headers = await admin(client)
    too_long = await client.post(
        f"{API_PREFIX}/persons", json=person | {"name": "张" * (longest + 1)}, headers=headers
    )
    assert too_long.status == 400
    assert "'name'" in (await too_long.json())["error"]["message"]
    fits = await client.post(f"{API_PREFIX}/persons", json=person, headers=headers)
    assert fits.status == 201, await fits.text()


async def test_a_query_bound_is_the_documented_and_the_enforced_one(client: TestClient) -> None:
    highest = bound(ObservationsQuery, "limit", Le).le
    operation_doc = (await document(client))["paths"]["/persons/{person_id}/observations"]["get"]
    limit = next(p for p in operation_doc["parameters"] if p["name"] == "limit")
    assert (limit["in"], limit["schema"]["maximum"]) == ("query", highest)

    url = f"{API_PREFIX}/persons/p0001/observations"
    headers = await admin(client)
    beyond = await client.get(
        url, params={"type": "heart_rate", "limit": str(highest + 1)}, headers=headers
    )
    assert beyond.status == 400 and "'limit'" in (await beyond.json())["error"]["message"]
    at = await client.get(
        url, params={"type": "heart_rate", "limit": str(highest)}, headers=headers
    )
    assert at.status == 200


async def test_served_answers_have_exactly_the_documented_keys(client: TestClient) -> None:
    schemas = (await document(client))["components"]["schemas"]
    headers = await admin(client)
    person = await (await client.get(f"{API_PREFIX}/persons/p0001", headers=headers)).json()
    alerts = await (await client.get(f"{API_PREFIX}/alerts", headers=headers)).json()
    alert = await (
        await client.get(f"{API_PREFIX}/alerts/{alerts[0]['id']}", headers=headers)
    ).json()
    for name, served in (("Person", person), ("Alert", alerts[0]), ("AlertDetail", alert)):
        schema = schemas[name]
        assert schema["additionalProperties"] is False, name
        assert set(schema["required"]) == set(schema["properties"]) == set(served), name


class _Drifting:
    """A handler whose answer has a key its model does not declare."""

    @operation("GET", "/drift", "Drift", {200: Answer("ok", type("Ok", (Reply,), {}))}, public=True)
    async def drift(self, _request: web.Request) -> dict[str, Any]:
        return {"undeclared": 1}


async def test_an_answer_outside_its_model_is_a_server_error_not_served() -> None:
    app = web.Application()
    app.add_routes(bind(_Drifting(), ""))
    async with TestClient(TestServer(app)) as client:
        response = await client.get("/drift")
        assert response.status == 500
        assert "undeclared" not in await response.text()
