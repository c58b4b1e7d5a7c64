"""Hostile request bodies, query values and routes get the API's JSON error with a 4xx,
never a server error or aiohttp's plain-text page; on PostgreSQL, through a real socket."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from aiohttp import ClientResponse, web
from aiohttp.test_utils import TestClient, TestServer

from anxin.cloud.api import API_PREFIX, create_app
from anxin.cloud.api.json_body import MAX_BODY_BYTES
from anxin.cloud.stores import Stores
from tests.support.cloud import seeded_stores

pytestmark = pytest.mark.services

DEEP = b"[" * 100_000 + b"]" * 100_000
HUGE = b"9" * 5_000
BEYOND_64_BITS = str(2**64).encode()
JSON_TYPE = {"Content-Type": "application/json"}

# (method, path, a valid body with a placeholder where one field's value is spliced in)
BODY_ROUTES = {
    "login": ("POST", "/login", b'{"username": "admin", "password": @}'),
    "create person": (
        "POST",
        "/persons",
        b'{"name": "A", "birth_date": "1950-01-01", "sex": "F", "community": @}',
    ),
    "patch person": ("PATCH", "/persons/p0001", b'{"name": @}'),
    "preferences": ("PATCH", "/me/preferences", b'{"notify_min_severity": @}'),
    "enrol gateway": ("POST", "/gateways/enrol", b'{"token": @}'),
}


def spliced(template: bytes, value: bytes) -> bytes:
    return template.replace(b"@", value)


@pytest.fixture(scope="module")
def stores(postgres_url_module: str) -> Iterator[Stores]:
    with seeded_stores(postgres_url_module) as stores:
        yield stores


@pytest.fixture
async def client(stores: Stores) -> AsyncIterator[TestClient]:
    async with TestClient(TestServer(create_app(stores.registry, stores.timeseries))) as client:
        yield client


@pytest.fixture
async def admin(client: TestClient) -> dict[str, str]:
    response = await client.post(
        f"{API_PREFIX}/login", json={"username": "admin", "password": "anxin-admin"}
    )
    assert response.status == 200, await response.text()
    return {"Authorization": f"Bearer {(await response.json())['token']}"}


async def json_error(response: ClientResponse, status: int) -> dict[str, Any]:
    text = await response.text()
    assert (response.status, response.content_type) == (status, "application/json"), text[:300]
    detail = (await response.json())["error"]
    assert isinstance(detail["code"], str) and detail["code"]
    assert isinstance(detail["message"], str) and detail["message"]
    assert "Traceback" not in text
    return detail


async def send(
    client: TestClient, route: str, body: bytes, headers: dict[str, str], **extra: str
) -> ClientResponse:
    method, path, _ = BODY_ROUTES[route]
    return await client.request(
        method, API_PREFIX + path, data=body, headers=headers | JSON_TYPE | extra
    )


@pytest.mark.parametrize("route", sorted(BODY_ROUTES))
async def test_a_deeply_nested_body_is_refused_as_bad_json(
    client: TestClient, admin: dict[str, str], route: str
) -> None:
    detail = await json_error(await send(client, route, DEEP, admin), 400)
    assert detail["code"] == "bad_json" and "nest" in detail["message"]
    inside = spliced(BODY_ROUTES[route][2], DEEP)
    detail = await json_error(await send(client, route, inside, admin), 400)
    assert detail["code"] == "bad_json" and "nest" in detail["message"]


@pytest.mark.parametrize("route", sorted(BODY_ROUTES))
async def test_a_five_thousand_digit_number_is_refused(
    client: TestClient, admin: dict[str, str], route: str
) -> None:
    for value in (HUGE, b"-" + HUGE, HUGE + b".5", b"1e" + HUGE):
        body = spliced(BODY_ROUTES[route][2], value)
        await json_error(await send(client, route, body, admin), 400)
    detail = await json_error(await send(client, route, HUGE, admin), 400)
    assert detail["code"] == "bad_json"


@pytest.mark.parametrize("route", sorted(BODY_ROUTES))
async def test_a_ten_megabyte_body_is_refused_as_too_large(
    client: TestClient, admin: dict[str, str], route: str
) -> None:
    body = spliced(BODY_ROUTES[route][2], b'"' + b"x" * 10 * 2**20 + b'"')
    detail = await json_error(await send(client, route, body, admin), 413)
    assert detail["code"] == "body_too_large" and str(MAX_BODY_BYTES) in detail["message"]


@pytest.mark.parametrize("route", sorted(BODY_ROUTES))
async def test_text_that_is_not_unicode_is_refused(
    client: TestClient, admin: dict[str, str], route: str
) -> None:
    # A lone surrogate escape decodes in Python but no database can store it.
    body = spliced(BODY_ROUTES[route][2], b'"\\ud800"')
    await json_error(await send(client, route, body, admin), 400)
    await json_error(await send(client, route, spliced(BODY_ROUTES[route][2], b"NaN"), admin), 400)


@pytest.mark.parametrize("route", sorted(BODY_ROUTES))
async def test_a_body_that_is_not_declared_json_is_refused(
    client: TestClient, admin: dict[str, str], route: str
) -> None:
    # An HTML form can post text/plain across sites; the API takes only JSON.
    body = spliced(BODY_ROUTES[route][2], b'"x"')
    for content_type in ("text/plain", "application/x-www-form-urlencoded"):
        response = await send(client, route, body, admin, **{"Content-Type": content_type})
        detail = await json_error(response, 415)
        assert "application/json" in detail["message"]


async def test_numbers_beyond_64_bits_are_refused_naming_the_field(
    client: TestClient, admin: dict[str, str]
) -> None:
    person = (
        b'{"name": "A", "birth_date": "1950-01-01", "sex": "F", "community": "c", '
        b'"ltc_assessed_level": ' + BEYOND_64_BITS + b"}"
    )
    response = await client.post(f"{API_PREFIX}/persons", data=person, headers=admin | JSON_TYPE)
    assert "ltc_assessed_level" in (await json_error(response, 400))["message"]
    assessment = (
        b'{"assessed_on": "2024-01-01", "items": {}, "total": ' + BEYOND_64_BITS + b"}"
    )
    response = await client.post(
        f"{API_PREFIX}/persons/p0001/assessments", data=assessment, headers=admin | JSON_TYPE
    )
    assert "total" in (await json_error(response, 400))["message"]
    task = b'{"kind": "phone_call", "alert_id": ' + BEYOND_64_BITS + b"}"
    response = await client.post(
        f"{API_PREFIX}/persons/p0001/interventions", data=task, headers=admin | JSON_TYPE
    )
    assert "alert_id" in (await json_error(response, 400))["message"]


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("/audit?limit={}", "limit"),
        ("/audit?before_id={}", "before_id"),
        ("/persons/p0001/observations?type=heart_rate&limit={}", "limit"),
        ("/persons/p0001/indices?window_minutes={}", "window_minutes"),
        ("/persons/p0001/fhir/Observation?_count={}", "_count"),
        ("/alerts/{}", "alert_id"),
    ],
)
async def test_huge_numbers_in_the_query_and_path_are_refused(
    client: TestClient, admin: dict[str, str], path: str, name: str
) -> None:
    for value in (HUGE.decode(), str(2**64), f"-{2**64}"):
        response = await client.get(API_PREFIX + path.format(value), headers=admin)
        detail = await json_error(response, 400)
        assert name in detail["message"]


async def test_an_unknown_route_or_method_answers_json(
    client: TestClient, admin: dict[str, str]
) -> None:
    detail = await json_error(await client.get(f"{API_PREFIX}/nothing", headers=admin), 404)
    assert detail["code"] == "not_found" and "/nothing" in detail["message"]
    await json_error(await client.get("/nothing"), 404)
    response = await client.delete(f"{API_PREFIX}/health")
    detail = await json_error(response, 405)
    assert detail["code"] == "method_not_allowed" and "GET" in response.headers["Allow"]


async def test_an_unexpected_failure_answers_json_and_is_logged(
    stores: Stores, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(stores.registry, stores.timeseries)

    async def broken(_request: web.Request) -> web.Response:
        raise RuntimeError("the secret internals")

    app.router.add_get("/broken", broken)
    async with TestClient(TestServer(app)) as client:
        with caplog.at_level(logging.ERROR):
            response = await client.get("/broken")
            detail = await json_error(response, 500)
    assert detail["code"] == "internal_error"
    assert "secret" not in await response.text()
    assert any("the secret internals" in (r.exc_text or "") for r in caplog.records)
