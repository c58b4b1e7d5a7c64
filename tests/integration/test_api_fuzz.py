"""Schemathesis fuzzes every operation of the served OpenAPI document, as an administrator
(who may reach every route), against PostgreSQL: no input may cause a server error."""

from __future__ import annotations

import asyncio
import base64
import threading
from collections.abc import Iterator

import pytest
import requests
import schemathesis
from aiohttp import web
from hypothesis import HealthCheck, given, settings
from schemathesis import APIOperation, GenerationMode

from anxin.cloud.api import API_PREFIX, create_app
from anxin.cloud.api.app import AREAS
from anxin.cloud.api.openapi import openapi_document
from anxin.cloud.database.engines import make_engine
from anxin.cloud.ingest.timeseries import SqlTimeSeries
from anxin.cloud.registry.registry import Registry
from anxin.config import CloudConfig
from tests.support.care_world import PASSWORD, build_world

pytestmark = pytest.mark.services

# Logging out would end the token the fuzzer uses; the API tests cover it.
SKIPPED = {("POST", "/logout")}


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


@pytest.fixture(scope="module")
def served(postgres_url_module: str) -> Iterator[tuple[ServedApi, dict[str, str]]]:
    registry = Registry(make_engine(postgres_url_module))
    registry.create_schema()
    build_world(registry)
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
    api = ServedApi(create_app(registry, timeseries, config=config))
    api.start()
    login = requests.post(
        f"{api.url}/login", json={"username": "admin", "password": PASSWORD}, timeout=30
    )
    login.raise_for_status()
    headers = {"Authorization": f"Bearer {login.json()['token']}"}
    yield api, headers
    api.stop()
    timeseries.close()
    registry.engine.dispose()


def operations() -> list[APIOperation]:
    document = openapi_document(API_PREFIX, AREAS)
    found = [
        result.ok() for result in schemathesis.openapi.from_dict(document).get_all_operations()
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
def test_no_input_causes_a_server_error(
    label: str, mode: GenerationMode, served: tuple[ServedApi, dict[str, str]]
) -> None:
    api, headers = served

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
