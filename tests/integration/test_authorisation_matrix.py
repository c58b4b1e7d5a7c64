"""Every role × every route × own / other's data, against PostgreSQL.

A route missing from ``RULES`` fails the completeness test, so a new route cannot ship
without saying who may use it. For each route and role the test calls it on the caller's
own person (张秀英, p-a) and on a person of another community (李建国, p-b):
- a role the route is not for gets 403 or 404, and nothing about either person;
- a role it is for succeeds on its own person (no 401/403/404/5xx) and, unless it is the
  administrator, gets 404 on the other person, and the answer never names 李建国;
- every call, allowed or refused, leaves a line in the audit log.
Routes that take something away (a family link, a password, a session) name objects kept
for the purpose, which a rule's ``prepare`` puts back before each call and ``restore``
after it, so that the calls that follow still find the world as it was.
"""

from __future__ import annotations

import base64
import itertools
import json
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import pytest_asyncio
from aiohttp.test_utils import TestClient, TestServer

from anxin.cloud.access.passwords import hash_password
from anxin.cloud.access.sessions import public_id
from anxin.cloud.api import API_PREFIX, create_app
from anxin.cloud.database.engines import make_engine
from anxin.cloud.database.models import AuditHead, FamilyLink, User
from anxin.cloud.ingest.timeseries import SqlTimeSeries
from anxin.cloud.registry.registry import Registry, token_hash
from anxin.config import CloudConfig
from tests.support.care_world import PASSWORD, ROLES, Side, World, build_world

pytestmark = [pytest.mark.services, pytest.mark.asyncio(loop_scope="module")]

EVERYONE = frozenset({"admin", "worker-a", "family-a", "recipient-a"})
STAFF = frozenset({"admin", "worker-a"})
ADMIN = frozenset({"admin"})
# A refusal may echo the id the caller sent, never what the record holds.
OTHER_NAMES = ("李建国", "Li Jianguo", "和平街社区")
# Family accounts that routes on a named user or family link act on, one per person.
KIN = {"p-a": "kin-a", "p-b": "kin-b"}
NEW_PASSWORD = "another-horse-battery"


@dataclass(frozen=True)
class Rule:
    roles: frozenset[str]
    body: Callable[[Side], dict[str, Any]] | None = None
    # "person": the path names one person's data; "listing": the answer lists what the
    # caller may see; "self": the caller's own account; "user": the account in the path.
    subject: str = "person"
    prepare: Callable[[World, Side], None] | None = None  # before each call
    restore: Callable[[World, str], None] | None = None  # after it, given the caller


_new_names = itertools.count(1)
BARTHEL_ITEMS = {
    "feeding": 10,
    "bathing": 5,
    "grooming": 5,
    "dressing": 10,
    "bowels": 10,
    "bladder": 10,
    "toilet_use": 10,
    "transfers": 15,
    "mobility": 15,
    "stairs": 10,
}


def _new_person(side: Side) -> dict[str, Any]:
    number = next(_new_names)
    return {
        "name": f"测试{number}",
        "birth_date": "1944-02-02",
        "sex": "F",
        "community": side.community,
    }


def _new_user(_side: Side) -> dict[str, Any]:
    return {
        "username": f"new-user-{next(_new_names)}",
        "display_name": "新用户",
        "role": "family",
        "password": "a-long-enough-password",
    }


def _body(**fields: Any) -> Callable[[Side], dict[str, Any]]:
    return lambda _side: fields


def _relink_kin(world: World, side: Side) -> None:
    with world.registry.session() as session, session.begin():
        key = (KIN[side.person_id], side.person_id)
        if session.get(FamilyLink, key) is None:
            session.add(FamilyLink(username=key[0], person_id=key[1], relation="nephew"))


def _password_back(world: World, username: str) -> None:
    with world.registry.session() as session, session.begin():
        user = session.get(User, username)
        assert user is not None
        user.password_hash = hash_password(PASSWORD)


RULES: dict[tuple[str, str], Rule] = {
    # account
    ("GET", "/me"): Rule(EVERYONE, subject="self"),
    ("POST", "/logout"): Rule(EVERYONE, subject="self"),
    ("POST", "/me/totp"): Rule(STAFF, subject="self"),
    ("POST", "/me/totp/confirm"): Rule(STAFF, _body(code="000000"), subject="self"),
    ("PATCH", "/me/preferences"): Rule(
        EVERYONE, _body(quiet_start="22:00", quiet_end="07:00"), subject="self"
    ),
    ("POST", "/me/password"): Rule(
        EVERYONE,
        _body(current_password=PASSWORD, new_password=NEW_PASSWORD),
        subject="self",
        restore=_password_back,
    ),
    ("GET", "/me/sessions"): Rule(EVERYONE, subject="listing"),
    ("DELETE", "/me/sessions"): Rule(EVERYONE, subject="self"),
    ("DELETE", "/me/sessions/{session_id}"): Rule(EVERYONE, subject="self"),
    ("GET", "/users"): Rule(ADMIN, subject="listing"),
    ("POST", "/users"): Rule(ADMIN, _new_user, subject="self"),
    ("POST", "/users/{username}/disable"): Rule(ADMIN, _body(reason="离职"), subject="user"),
    ("POST", "/users/{username}/enable"): Rule(ADMIN, _body(reason="返岗"), subject="user"),
    ("POST", "/users/{username}/password-reset"): Rule(ADMIN, _body(), subject="user"),
    ("DELETE", "/users/{username}/sessions"): Rule(ADMIN, subject="user"),
    ("GET", "/audit"): Rule(ADMIN, subject="listing"),
    ("GET", "/audit/verify"): Rule(ADMIN, subject="self"),
    # registry
    ("GET", "/persons"): Rule(EVERYONE, subject="listing"),
    ("POST", "/persons"): Rule(STAFF, _new_person),
    ("GET", "/persons/{person_id}"): Rule(EVERYONE),
    ("PATCH", "/persons/{person_id}"): Rule(STAFF, _body(address="1 号楼 2 单元")),
    ("GET", "/persons/{person_id}/chronic-registrations"): Rule(EVERYONE),
    ("POST", "/persons/{person_id}/chronic-registrations"): Rule(
        STAFF, _body(condition="hypertension", registered_on="2026-11-01")
    ),
    ("GET", "/persons/{person_id}/family"): Rule(EVERYONE),
    ("POST", "/persons/{person_id}/family"): Rule(
        STAFF, _body(username="family-a", relation="daughter")
    ),
    ("DELETE", "/persons/{person_id}/family/{username}"): Rule(STAFF, prepare=_relink_kin),
    ("GET", "/persons/{person_id}/bindings"): Rule(EVERYONE),
    ("POST", "/persons/{person_id}/bindings"): Rule(
        STAFF, lambda side: {"device_id": side.device_id}
    ),
    ("POST", "/bindings/{binding_id}/end"): Rule(STAFF, _body()),
    ("GET", "/persons/{person_id}/consents"): Rule(EVERYONE),
    ("POST", "/persons/{person_id}/consents"): Rule(
        STAFF, _body(data_scope="vitals", grantee="gp", purpose="转诊")
    ),
    ("POST", "/consents/{consent_id}/revoke"): Rule(STAFF, _body()),
    ("GET", "/workers"): Rule(STAFF, subject="listing"),
    ("GET", "/devices"): Rule(EVERYONE, subject="listing"),
    ("GET", "/gateways"): Rule(STAFF, subject="listing"),
    ("GET", "/security-events"): Rule(ADMIN, subject="listing"),
    ("POST", "/gateways/{gateway_id}/enrolment-tokens"): Rule(ADMIN, _body()),
    # alerts
    ("GET", "/alerts"): Rule(EVERYONE, subject="listing"),
    ("GET", "/alerts/{alert_id}"): Rule(EVERYONE),
    ("GET", "/persons/{person_id}/alerts"): Rule(EVERYONE),
    ("POST", "/alerts/{alert_id}/acknowledge"): Rule(STAFF | {"family-a"}, _body(note="收到")),
    ("POST", "/alerts/{alert_id}/assign"): Rule(STAFF, lambda side: {"worker": side.worker}),
    ("POST", "/alerts/{alert_id}/start"): Rule(STAFF, _body(note="上门")),
    ("POST", "/alerts/{alert_id}/resolve"): Rule(STAFF, _body(outcome="已处理")),
    ("POST", "/alerts/{alert_id}/dismiss"): Rule(STAFF, _body(reason="误报")),
    # care
    ("GET", "/persons/{person_id}/interventions"): Rule(EVERYONE),
    ("POST", "/persons/{person_id}/interventions"): Rule(STAFF, _body(kind="phone_call")),
    ("POST", "/alerts/{alert_id}/interventions"): Rule(STAFF, _body(kind="home_visit")),
    ("GET", "/interventions"): Rule(EVERYONE, subject="listing"),
    ("GET", "/interventions/{intervention_id}"): Rule(EVERYONE),
    ("PATCH", "/interventions/{intervention_id}"): Rule(STAFF, _body(notes="已电话联系")),
    ("POST", "/interventions/{intervention_id}/start"): Rule(STAFF, _body()),
    ("POST", "/interventions/{intervention_id}/complete"): Rule(STAFF, _body(outcome="好转")),
    ("POST", "/interventions/{intervention_id}/cancel"): Rule(STAFF, _body(reason="重复")),
    ("GET", "/persons/{person_id}/assessments"): Rule(EVERYONE),
    ("POST", "/persons/{person_id}/assessments"): Rule(
        STAFF, _body(assessed_on="2026-11-20", items=BARTHEL_ITEMS)
    ),
    ("GET", "/follow-ups"): Rule(STAFF, subject="listing"),
    ("GET", "/follow-ups/{follow_up_id}"): Rule(STAFF),
    ("POST", "/follow-ups/{follow_up_id}/close"): Rule(
        STAFF, _body(status="dismissed", note="已上门")
    ),
    ("POST", "/follow-ups/evaluate"): Rule(ADMIN, _body(), subject="self"),
    ("GET", "/follow-up-rules"): Rule(STAFF, subject="self"),
    # observations
    ("GET", "/persons/{person_id}/observations"): Rule(EVERYONE),
    ("GET", "/persons/{person_id}/indices"): Rule(EVERYONE),
    ("GET", "/persons/{person_id}/fhir/Patient"): Rule(EVERYONE),
    ("GET", "/persons/{person_id}/fhir/Observation"): Rule(EVERYONE),
}
PUBLIC = {
    ("GET", "/health"),
    ("POST", "/login"),
    ("GET", "/openapi.json"),
    ("POST", "/gateways/enrol"),
}
QUERIES: dict[str, str] = {"/persons/{person_id}/observations": "?type=heart_rate"}


def served_routes(app: Any) -> set[tuple[str, str]]:
    found = set()
    for resource in app.router.resources():
        info = resource.get_info()
        path = info.get("path") or info.get("formatter")
        if not path or not path.startswith(API_PREFIX):
            continue
        for route in resource:
            if route.method != "HEAD":
                found.add((route.method, path[len(API_PREFIX) :]))
    return found


def fill(template: str, side: Side, session_id: str = "") -> str:
    values = {
        "person_id": side.person_id,
        "gateway_id": side.gateway_id,
        "username": KIN[side.person_id],
        "session_id": session_id,
    } | {key: str(value) for key, value in side.ids.items()}
    return template.format(**values) + QUERIES.get(template, "")


@pytest.fixture(scope="module")
def world_url(postgres_url_module: str) -> Iterator[tuple[World, str]]:
    registry = Registry(make_engine(postgres_url_module))
    registry.create_schema()
    world = build_world(registry)
    registry.add_all(
        [
            User(
                username=kin,
                display_name=kin,
                role="family",
                password_hash=hash_password(PASSWORD),
            )
            for kin in KIN.values()
        ]
    )
    yield world, postgres_url_module
    registry.engine.dispose()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def client_and_world(world_url: tuple[World, str]) -> AsyncIterator[tuple[TestClient, World]]:
    world, url = world_url
    timeseries = SqlTimeSeries(make_engine(url))
    timeseries.create_schema()
    config = CloudConfig.model_validate(
        {
            "api": {"second_factor_roles": []},
            "registry": {"url": url, "encryption_key": base64.b64encode(bytes(32)).decode()},
        }
    )
    app = create_app(world.registry, timeseries, config=config)
    async with TestClient(TestServer(app)) as client:
        yield client, world
    timeseries.close()


async def token(client: TestClient, username: str) -> dict[str, str]:
    response = await client.post(
        f"{API_PREFIX}/login", json={"username": username, "password": PASSWORD}
    )
    assert response.status == 200, await response.text()
    return {"Authorization": f"Bearer {(await response.json())['token']}"}


def audit_entries(world: World) -> int:
    with world.registry.session() as session:
        head = session.get(AuditHead, 1)
        return head.entries if head else 0


async def test_every_served_route_has_a_rule(client_and_world: tuple[TestClient, World]) -> None:
    client, _world = client_and_world
    served = served_routes(client.server.app) - PUBLIC
    assert served - set(RULES) == set(), "routes without an authorisation rule"
    assert set(RULES) - served == set(), "rules for routes that are not served"
    for (method, template), rule in RULES.items():
        if method in ("POST", "PATCH", "PUT") and rule.subject != "self":
            assert rule.body is not None, f"{method} {template} needs a body in its rule"


def _cases() -> list[tuple[str, str, str]]:
    order = sorted(RULES, key=lambda key: (key[0] != "GET", key[1]))
    return [(method, path, role) for method, path in order for role in ROLES]


@pytest.mark.parametrize(("method", "template", "role"), _cases())
async def test_route_role(
    client_and_world: tuple[TestClient, World], method: str, template: str, role: str
) -> None:
    client, world = client_and_world
    rule = RULES[(method, template)]
    if rule.subject == "self" and template == "/logout":
        return  # logging out ends the token; covered by the API tests
    headers = await token(client, role)
    session_id = public_id(token_hash(headers["Authorization"].removeprefix("Bearer ")))
    sides = (
        [("own", world.own)]
        if rule.subject != "person"
        else [
            ("own", world.own),
            ("other", world.other),
        ]
    )
    for which, side in sides:
        if rule.prepare is not None:
            rule.prepare(world, side)
        before = audit_entries(world)
        body = rule.body(side) if rule.body else None
        response = await client.request(
            method, API_PREFIX + fill(template, side, session_id), headers=headers, json=body
        )
        text = await response.text()
        if rule.restore is not None:
            rule.restore(world, role)
        assert response.status < 500, f"{method} {template} as {role}: {text}"
        assert audit_entries(world) > before, f"{method} {template} as {role} left no audit line"
        allowed = role in rule.roles and (which == "own" or role == "admin")
        where = f"{method} {template} as {role} on {which} data: {response.status} {text[:300]}"
        if allowed:
            assert response.status not in (401, 403, 404), where
        else:
            assert response.status in (403, 404), where
        if role != "admin":
            leaked = [name for name in OTHER_NAMES if name in text]
            assert not leaked, f"{where} names {leaked}"
        if rule.subject == "listing" and allowed:
            assert response.status == 200, where
            json.loads(text)
