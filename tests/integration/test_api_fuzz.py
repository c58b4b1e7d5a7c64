"""Schemathesis fuzzes every operation of the served OpenAPI document, as an administrator
(who may reach every route), against PostgreSQL: no input may cause a server error.

Every operation with input is also sent hostile values that no schema-driven generator
makes: 100,000-deep nesting and 5,000-digit or beyond-64-bit numbers, as the whole body, in
each body field, each query parameter and each path parameter. Those must be refused with
the API's JSON error and a 4xx."""

from __future__ import annotations

import asyncio
import base64
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import pytest
import requests
import schemathesis
from aiohttp import web
from hypothesis import HealthCheck, given, settings
from schemathesis import APIOperation, GenerationMode
from schemathesis.core import NOT_SET

from anxin.cloud.api import API_PREFIX, create_app
from anxin.cloud.api.account_routes import WEBHOOK_RESOLVER
from anxin.cloud.api.app import AREAS
from anxin.cloud.api.openapi import openapi_document
from anxin.cloud.database.engines import make_engine
from anxin.cloud.ingest.timeseries import SqlTimeSeries
from anxin.cloud.registry.registry import Registry
from anxin.config import CloudConfig
from tests.support.care_world import PASSWORD, World, build_world
from tests.support.webhooks import TableResolver

pytestmark = pytest.mark.services

# Logging out (here, or everywhere) would end the token the fuzzer uses; the API tests
# cover both.
SKIPPED = {("POST", "/logout"), ("DELETE", "/me/sessions")}
DEEP = "[" * 100_000 + "]" * 100_000
HUGE = "9" * 5_000
# Values a JSON body must never get past parsing with...
REFUSED_IN_BODIES = (DEEP, HUGE, str(2**64), f"-{2**64}")
# ...and values that parse, which the models' bounds must stop before the database does.
BOUNDED = (str(2**63 - 1), str(2**31))
MARK = "hostile-value-goes-here"


class ServedApi:
    def __init__(self, app: web.Application) -> None:
        self.app = app
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.runner = web.AppRunner(app, access_log=None)
        self.url = ""

    def start(self) -> None:
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self._serve(), self.loop).result(timeout=30)

    async def _serve(self) -> None:
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}{API_PREFIX}"

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(timeout=30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)


@dataclass
class Fuzzed:
    api: ServedApi
    headers: dict[str, str]
    world: World


@pytest.fixture(scope="module")
def fuzzed(postgres_url_module: str) -> Iterator[Fuzzed]:
    registry = Registry(make_engine(postgres_url_module))
    registry.create_schema()
    world = build_world(registry)
    timeseries = SqlTimeSeries(make_engine(postgres_url_module))
    timeseries.create_schema()
    config = CloudConfig.model_validate(
        {
            "api": {"second_factor_roles": []},
            "registry": {
                "url": postgres_url_module,
                "encryption_key": base64.b64encode(bytes(32)).decode(),
            },
        }
    )
    app = create_app(registry, timeseries, config=config)
    app[WEBHOOK_RESOLVER] = TableResolver()  # the fuzzer's webhook hosts never reach DNS
    api = ServedApi(app)
    api.start()
    login = requests.post(
        f"{api.url}/login", json={"username": "admin", "password": PASSWORD}, timeout=30
    )
    login.raise_for_status()
    headers = {"Authorization": f"Bearer {login.json()['token']}"}
    yield Fuzzed(api, headers, world)
    api.stop()
    timeseries.close()
    registry.engine.dispose()


DOCUMENT = openapi_document(API_PREFIX, AREAS)


def operations() -> list[APIOperation]:
    found = [
        result.ok() for result in schemathesis.openapi.from_dict(DOCUMENT).get_all_operations()
    ]
    return [op for op in found if (op.method.upper(), op.path) not in SKIPPED]


def has_input(operation: APIOperation) -> bool:
    return any(len(part) for part in (operation.path_parameters, operation.query, operation.body))


OPERATIONS = {operation.label: operation for operation in operations()}
# Valid input, and input that breaks the document (only where there is input to break).
CASES = [(label, GenerationMode.POSITIVE) for label in sorted(OPERATIONS)] + [
    (label, GenerationMode.NEGATIVE) for label in sorted(OPERATIONS) if has_input(OPERATIONS[label])
]


@pytest.mark.parametrize(("label", "mode"), CASES)
def test_no_input_causes_a_server_error(label: str, mode: GenerationMode, fuzzed: Fuzzed) -> None:
    api, headers = fuzzed.api, fuzzed.headers

    @given(case=OPERATIONS[label].as_strategy(generation_mode=mode))
    @settings(
        max_examples=50,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def fuzz(case: schemathesis.Case) -> None:
        response = case.call(base_url=api.url, headers=headers, timeout=30)
        assert response.status_code < 500, (
            f"{case.method} {case.formatted_path} {case.query} {case.body!r} -> "
            f"{response.status_code} {response.text[:500]}"
        )

    fuzz()
    assert_still_logged_in(fuzzed)


def assert_still_logged_in(fuzzed: Fuzzed) -> None:
    """An operation that ended the fuzzer's session would leave every later one at 401."""
    me = requests.get(f"{fuzzed.api.url}/me", headers=fuzzed.headers, timeout=30)
    assert me.status_code == 200, f"the fuzzer's session ended: {me.status_code} {me.text}"


@dataclass(frozen=True)
class Hostile:
    """One hostile value in one place of a request."""

    place: str  # "body" (the whole of it), "field", "query" or "path"
    name: str
    value: str
    refused: bool  # must be a 4xx; otherwise only never a 5xx

    def describe(self) -> str:
        shown = self.value if len(self.value) < 30 else f"{self.value[:10]}… ({len(self.value)})"
        return f"{self.place} {self.name!r} = {shown}"


def body_fields(operation: APIOperation, document: dict[str, Any]) -> list[str]:
    """The top-level properties of the operation's JSON body schema."""
    names: list[str] = []
    for alternative in operation.body:
        if "json" in alternative.media_type:
            _collect_properties(alternative.definition.get("schema", {}), document, names)
    return sorted(set(names))


def _collect_properties(schema: Any, document: dict[str, Any], names: list[str]) -> None:
    if not isinstance(schema, dict):
        return
    if isinstance(schema.get("$ref"), str) and schema["$ref"].startswith("#/"):
        target: Any = document
        for part in schema["$ref"][2:].split("/"):
            target = target.get(part, {})
        _collect_properties(target, document, names)
    names.extend(schema.get("properties", {}))
    for combined in ("allOf", "anyOf", "oneOf"):
        for part in schema.get(combined, []):
            _collect_properties(part, document, names)


def hostile_inputs(operation: APIOperation, document: dict[str, Any]) -> list[Hostile]:
    found: list[Hostile] = []
    if len(operation.body):
        found += [Hostile("body", "", value, True) for value in (DEEP, HUGE)]
        for name in body_fields(operation, document):
            found += [Hostile("field", name, value, True) for value in REFUSED_IN_BODIES]
            found += [Hostile("field", name, value, False) for value in BOUNDED]
    for parameter in operation.query:
        # A query value is text: 5,000 digits fit no parameter, 20 digits may (an actor).
        found.append(Hostile("query", parameter.name, HUGE, True))
        found += [Hostile("query", parameter.name, value, False) for value in BOUNDED]
    for parameter in operation.path_parameters:
        found += [Hostile("path", parameter.name, value, True) for value in (HUGE, str(2**64))]
    return found


def hostile_request(
    case: schemathesis.Case, hostile: Hostile, world: World
) -> tuple[str, dict[str, str], bytes | None]:
    """The path, query and body of ``case`` with real ids and ``hostile`` spliced in."""
    known: dict[str, Any] = {"username": "family-a", **vars(world.own), **world.own.ids}
    path_values = {name: known.get(name, value) for name, value in case.path_parameters.items()}
    query = {name: str(value) for name, value in (case.query or {}).items()}
    body: Any = {} if case.body is NOT_SET else case.body
    if hostile.place == "path":
        path_values[hostile.name] = hostile.value
    if hostile.place == "query":
        query[hostile.name] = hostile.value
    path = case.operation.path.format(**{k: quote(str(v), safe="") for k, v in path_values.items()})
    if not len(case.operation.body):
        return path, query, None
    if hostile.place == "body":
        return path, query, hostile.value.encode()
    if hostile.place == "field":
        # The value goes in as JSON text: the client's own encoder could not write it.
        body = {**(body if isinstance(body, dict) else {}), hostile.name: MARK}
        text = json.dumps(body).replace(json.dumps(MARK), hostile.value)
        return path, query, text.encode()
    return path, query, json.dumps(body).encode()


HOSTILE_LABELS = sorted(label for label, op in OPERATIONS.items() if has_input(op))


@pytest.mark.parametrize("label", HOSTILE_LABELS)
def test_hostile_values_get_a_json_client_error(label: str, fuzzed: Fuzzed) -> None:
    operation = OPERATIONS[label]
    headers = fuzzed.headers | {"Content-Type": "application/json"}

    # A valid case from the document, so that only the hostile value is wrong.
    @given(case=operation.as_strategy(generation_mode=GenerationMode.POSITIVE))
    @settings(
        max_examples=1,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def attack(case: schemathesis.Case) -> None:
        for hostile in hostile_inputs(operation, DOCUMENT):
            path, query, body = hostile_request(case, hostile, fuzzed.world)
            response = requests.request(
                operation.method.upper(),
                fuzzed.api.url + path,
                params=query,
                data=body,
                headers=headers,
                timeout=30,
            )
            seen = f"{label} with {hostile.describe()} -> {response.status_code} {response.text[:300]}"
            assert response.status_code < 500, seen
            if hostile.refused:
                assert 400 <= response.status_code < 500, seen
            if response.status_code >= 400:
                assert response.headers["Content-Type"].startswith("application/json"), seen
                detail = response.json()["error"]
                assert detail["code"] and detail["message"], seen

    attack()
    assert_still_logged_in(fuzzed)
