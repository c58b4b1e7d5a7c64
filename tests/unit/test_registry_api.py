"""The registry routes for each role, on SQLite and on the real PostgreSQL."""

import base64
import functools
import re
from collections.abc import AsyncIterator, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from anxin.cloud.access.passwords import hash_password
from anxin.cloud.api import API_PREFIX, create_app, registry_routes
from anxin.cloud.database.engines import make_engine
from anxin.cloud.database.models import Gateway, Person, User
from anxin.cloud.ingest.timeseries import SqlTimeSeries
from anxin.cloud.registry.field_crypto import FieldCipher
from anxin.cloud.registry.persons import create_person
from anxin.cloud.registry.registry import Registry
from anxin.cloud.registry.resident_id import make_resident_id
from anxin.cloud.stores import Stores
from anxin.config import ApiConfig, CloudConfig, RegistryConfig
from anxin.demo import homes
from anxin.demo.homes import demo_homes, seed_registry

KEY = bytes(range(32))
CIPHER = FieldCipher(KEY)
MASKED_ID = re.compile(r"^[0-9]{6}\*{8}[0-9]{3}[0-9X]$")
MASKED_PHONE = re.compile(r"^[0-9]{3}\*{4}[0-9]{4}$")
PASSWORDS = {"admin": "anxin-admin", "worker": "anxin-worker", "family": "anxin-family"}
cached_hash = functools.cache(hash_password)  # argon2 is slow by design; tests reuse hashes
TOKENS: dict[tuple[int, str], dict[str, str]] = {}  # (test client, username): auth headers


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.services)])
def stores(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Stores]:
    monkeypatch.setattr(homes, "hash_password", cached_hash)
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/registry.sqlite"
    else:
        url = request.getfixturevalue("postgres_url")
    registry = Registry(make_engine(url))
    registry.create_schema()
    timeseries = SqlTimeSeries(make_engine(url))
    timeseries.create_schema()
    seed_registry(registry, demo_homes(3), cipher=CIPHER)
    born = date(1951, 7, 1)
    with registry.session() as session, session.begin():
        other = {
            "name": "周国强",
            "birth_date": born,
            "sex": "M",
            "community": "和平里社区",
            "site_id": "home-x",
            "resident_id": make_resident_id("310104", born, "M", 3),
            "phone": "13600009999",
        }
        create_person(session, "admin", CIPHER, other, "p-other")
        session.add(Gateway(id="gw-x", site_id="home-x"))
        session.add(
            User(
                username="grandpa",
                display_name="赵德明",
                role="recipient",
                password_hash=cached_hash("anxin-grandpa"),
                person_id="p0003",
            )
        )
    stores = Stores(registry, timeseries)
    yield stores
    stores.close()


def config_with_key(url: str, key: bytes | None = KEY) -> CloudConfig:
    encoded = base64.b64encode(key).decode() if key else None
    # Second factors have their own tests; here every role logs in with a password.
    return CloudConfig(
        registry=RegistryConfig(url=url, encryption_key=encoded),
        api=ApiConfig(second_factor_roles=()),
    )


@pytest.fixture
async def client(stores: Stores) -> AsyncIterator[TestClient]:
    config = config_with_key("sqlite://")
    app = create_app(stores.registry, stores.timeseries, config=config)
    TOKENS.clear()
    async with TestClient(TestServer(app)) as client:
        yield client


async def login(client: TestClient, username: str) -> dict[str, str]:
    """Headers of a session of ``username`` (one login per test client and user)."""
    key = (id(client), username)
    if key not in TOKENS:
        TOKENS[key] = await _login(client, username)
    return TOKENS[key]


async def _login(client: TestClient, username: str) -> dict[str, str]:
    password = PASSWORDS.get(username, f"anxin-{username}")
    response = await client.post(
        f"{API_PREFIX}/login", json={"username": username, "password": password}
    )
    assert response.status == 200, await response.text()
    return {"Authorization": f"Bearer {(await response.json())['token']}"}


async def call(
    client: TestClient, method: str, path: str, who: str, body: Any = None
) -> tuple[int, Any]:
    response = await client.request(
        method, API_PREFIX + path, json=body, headers=await login(client, who)
    )
    return response.status, await response.json()


def plaintexts(stores: Stores) -> list[str]:
    """Every resident ID and phone number stored, decrypted."""
    with stores.registry.session() as session:
        tokens = [p.resident_id_enc for p in session.scalars(select(Person))]
        tokens += [p.phone_enc for p in session.scalars(select(Person))]
        tokens += [u.phone_enc for u in session.scalars(select(User))]
    return [CIPHER.decrypt(t) for t in tokens if t]


async def test_listings_show_resident_ids_and_phones_only_masked(
    client: TestClient, stores: Stores
) -> None:
    secrets = plaintexts(stores)
    assert len(secrets) == 4 + 4 + 2
    pages = [
        ("admin", "/persons"),
        ("admin", "/persons/p0001"),
        ("admin", "/persons/p0001/family"),
        ("admin", "/workers"),
        ("worker", "/persons"),
        ("family", "/persons"),
        ("family", "/persons/p0001/family"),
        ("grandpa", "/persons"),
    ]
    for who, path in pages:
        response = await client.get(API_PREFIX + path, headers=await login(client, who))
        text = await response.text()
        assert response.status == 200, (who, path, text)
        leaked = [s for s in secrets if s in text or (len(s) == 18 and s[6:14] in text)]
        assert not leaked, (who, path)
    persons = (await call(client, "GET", "/persons", "admin"))[1]
    assert len(persons) == 4
    for person in persons:
        assert MASKED_ID.match(person["resident_id"]) and MASKED_PHONE.match(person["phone"])
    family = (await call(client, "GET", "/persons/p0001/family", "worker"))[1]
    assert family == [
        {
            "username": "family",
            "display_name": "张秀英的女儿 张丽",
            "relation": "daughter",
            "notify": True,
            "phone": "139****1111",
        }
    ]


async def test_person_fields_for_the_console_and_insurance(client: TestClient) -> None:
    status, person = await call(client, "GET", "/persons/p0001", "worker")
    assert status == 200
    # What dashboard/api_client.py reads stays.
    for field in ("id", "name", "name_latin", "sex", "age", "community", "site_id"):
        assert field in person
    assert {"latest", "open_alerts", "devices"} <= set(person)
    assert person["medical_insurance_type"] == "employee"
    assert [r["condition"] for r in person["chronic_registrations"]] == ["hypertension"]
    assert person["resident_id"].startswith("110105") and person["resident_id"].endswith(
        make_resident_id("110105", date(1942, 3, 15), "F", 1)[-4:]
    )
    second = (await call(client, "GET", "/persons/p0002", "worker"))[1]
    assert second["pension_certification_due"] is not None


async def test_each_role_sees_its_own_persons(client: TestClient) -> None:
    ids = {
        who: [p["id"] for p in (await call(client, "GET", "/persons", who))[1]]
        for who in ("admin", "worker", "family", "grandpa")
    }
    assert ids == {
        "admin": ["p-other", "p0001", "p0002", "p0003"],
        "worker": ["p0001", "p0002", "p0003"],
        "family": ["p0001"],
        "grandpa": ["p0003"],
    }
    for who, path in (
        ("worker", "/persons/p-other"),
        ("worker", "/persons/p-other/consents"),
        ("family", "/persons/p0002"),
        ("grandpa", "/persons/p0001/bindings"),
        ("admin", "/persons/nobody"),
    ):
        status, body = await call(client, "GET", path, who)
        assert status == 404, (who, path)
        assert body["error"]["code"] == "not_found"


async def test_enrolling_a_person(client: TestClient) -> None:
    born = date(1953, 2, 14)
    good = {
        "name": "刘淑华",
        "birth_date": born.isoformat(),
        "sex": "F",
        "community": "幸福里社区",
        "resident_id": make_resident_id("110105", born, "F", 9),
        "phone": "13512345678",
        "medical_insurance_type": "urban_rural_resident",
        "insured_region_code": "110105",
    }
    status, person = await call(client, "POST", "/persons", "worker", good)
    assert status == 201, person
    assert person["resident_id"] == good["resident_id"][:6] + "********" + good["resident_id"][-4:]
    assert person["phone"] == "135****5678" and person["community"] == "幸福里社区"

    bad_check = good | {"resident_id": good["resident_id"][:17] + "0"}
    if bad_check["resident_id"] == good["resident_id"]:
        bad_check["resident_id"] = good["resident_id"][:17] + "1"
    cases = [
        (bad_check, 400, "resident_id: check digit should be"),
        (good | {"sex": "M"}, 400, "resident_id: the resident ID says female"),
        (good | {"resident_id": "12345"}, 400, "resident_id: a resident ID has 18 characters"),
        (good | {"birth_date": "2100-01-01"}, 400, "birth_date"),
        (good | {"nickname": "x"}, 400, "nickname"),
        (good | {"medical_insurance_type": "private"}, 400, "medical_insurance_type"),
        (good, 409, "resident_id: another person"),
        (good | {"community": "和平里社区"}, 403, "community"),
    ]
    for body, expected, message in cases:
        status, answer = await call(client, "POST", "/persons", "worker", body)
        assert status == expected, (body, answer)
        assert message in answer["error"]["message"], answer
    assert (await call(client, "POST", "/persons", "family", good))[0] == 403


async def test_changing_a_person(client: TestClient) -> None:
    status, person = await call(
        client, "PATCH", "/persons/p0002", "worker", {"ltc_assessed_level": 3, "phone": None}
    )
    assert status == 200 and person["ltc_assessed_level"] == 3 and person["phone"] is None
    for who, path, body, expected in (
        ("worker", "/persons/p0002", {"community": "和平里社区"}, 403),
        ("worker", "/persons/p-other", {"address": "x"}, 404),
        ("family", "/persons/p0001", {"address": "x"}, 403),
        ("grandpa", "/persons/p0003", {"address": "x"}, 403),
        ("worker", "/persons/p0002", {"birth_date": "1939-08-03"}, 400),
        ("worker", "/persons/p0002", {"name": None}, 400),
        ("admin", "/persons/p-other", {"community": "幸福里社区"}, 200),
    ):
        status, answer = await call(client, "PATCH", path, who, body)
        assert status == expected, (who, path, body, answer)


async def test_bindings_and_devices(client: TestClient, stores: Stores) -> None:
    status, answer = await call(
        client, "POST", "/persons/p0002/bindings", "worker", {"device_id": "hr-1"}
    )
    assert status == 409 and "hr-1" in answer["error"]["message"]
    bindings = (await call(client, "GET", "/persons/p0001/bindings", "worker"))[1]
    hr = next(b for b in bindings if b["device_id"] == "hr-1")
    assert hr["active"] is True
    assert (await call(client, "POST", f"/bindings/{hr['id']}/end", "family"))[0] == 403
    status, ended = await call(client, "POST", f"/bindings/{hr['id']}/end", "worker")
    assert status == 200 and ended["active"] is False
    status, bound = await call(
        client, "POST", "/persons/p0002/bindings", "worker", {"device_id": "hr-1"}
    )
    assert status == 201 and bound["person_id"] == "p0002"
    assert stores.registry.person_for_device("hr-1", 2**62) == "p0002"
    devices = (await call(client, "GET", "/devices", "worker"))[1]
    assert next(d for d in devices if d["id"] == "hr-1")["person_id"] == "p0002"
    family_devices = (await call(client, "GET", "/devices", "family"))[1]
    assert "hr-1" not in {d["id"] for d in family_devices if d["person_id"]}
    assert (await call(client, "POST", "/bindings/999999/end", "worker"))[0] == 404
    assert (await call(client, "POST", "/bindings/abc/end", "worker"))[0] == 400


async def test_consents(client: TestClient) -> None:
    listed = await call(client, "GET", "/persons/p0002/consents", "family")
    assert listed[0] == 404  # family is linked to p0001 only
    consents = (await call(client, "GET", "/persons/p0002/consents", "worker"))[1]
    assert [(c["data_scope"], c["grantee"], c["in_force_today"]) for c in consents] == [
        ("wear_record", "pension_office", True)
    ]
    body = {"data_scope": "vitals", "grantee": "gp", "purpose": "家庭医生随访"}
    assert (await call(client, "POST", "/persons/p0001/consents", "family", body))[0] == 403
    status, consent = await call(client, "POST", "/persons/p0001/consents", "worker", body)
    assert status == 201 and consent["in_force_today"] is True
    status, revoked = await call(client, "POST", f"/consents/{consent['id']}/revoke", "worker")
    assert status == 200 and revoked["revoked_at"] and revoked["in_force_today"] is False
    assert (await call(client, "POST", f"/consents/{consent['id']}/revoke", "worker"))[0] == 409
    bad = body | {"grantee": "neighbour"}
    status, answer = await call(client, "POST", "/persons/p0001/consents", "worker", bad)
    assert status == 400 and "grantee" in answer["error"]["message"]


async def test_chronic_registrations_and_family_links(client: TestClient) -> None:
    body = {"condition": "diabetes", "registered_on": "2025-03-01"}
    status, registration = await call(
        client, "POST", "/persons/p0003/chronic-registrations", "worker", body
    )
    assert status == 201 and registration["condition"] == "diabetes"
    status, answer = await call(
        client,
        "POST",
        "/persons/p0003/chronic-registrations",
        "worker",
        body | {"condition": "flu"},
    )
    assert status == 400 and "condition" in answer["error"]["message"]
    link = {"username": "family", "relation": "niece", "notify": False}
    # A worker links a relative only with the person's consent to that account.
    assert (await call(client, "POST", "/persons/p0003/family", "worker", link))[0] == 403
    consent = {
        "data_scope": "vitals",
        "grantee": "family",
        "grantee_username": "family",
        "purpose": "家属查看",
    }
    assert (await call(client, "POST", "/persons/p0003/consents", "worker", consent))[0] == 201
    status, linked = await call(client, "POST", "/persons/p0003/family", "worker", link)
    assert status == 201 and linked["phone"] == "139****1111" and linked["notify"] is False
    status, answer = await call(
        client, "POST", "/persons/p0003/family", "worker", link | {"username": "worker"}
    )
    assert status == 400 and "username" in answer["error"]["message"]
    assert (await call(client, "POST", "/persons/p0003/family", "family", link))[0] == 403


async def test_workers_and_gateways_by_role(client: TestClient) -> None:
    workers = (await call(client, "GET", "/workers", "worker"))[1]
    assert [(w["username"], w["phone"]) for w in workers] == [("worker", "137****2222")]
    assert (await call(client, "GET", "/workers", "family"))[0] == 403
    admin_gateways = [g["id"] for g in (await call(client, "GET", "/gateways", "admin"))[1]]
    worker_gateways = [g["id"] for g in (await call(client, "GET", "/gateways", "worker"))[1]]
    assert admin_gateways == ["gw-1", "gw-2", "gw-3", "gw-x"]
    assert worker_gateways == ["gw-1", "gw-2", "gw-3"]
    assert (await call(client, "GET", "/gateways", "grandpa"))[0] == 403
    status, token = await call(client, "POST", "/gateways/gw-x/enrolment-tokens", "admin", {})
    assert status == 201 and token["token"].startswith("anxin1.") and token["site_id"] == "home-x"
    assert (await call(client, "POST", "/gateways/gw-x/enrolment-tokens", "worker", {}))[0] == 403
    status, answer = await call(client, "POST", "/gateways/gw-new/enrolment-tokens", "admin", {})
    assert status == 400 and "site_id" in answer["error"]["message"]


async def test_without_a_key_personal_fields_cannot_be_stored(stores: Stores) -> None:
    config = config_with_key("sqlite://", key=None)
    app = create_app(stores.registry, stores.timeseries, config=config)
    TOKENS.clear()
    async with TestClient(TestServer(app)) as client:
        status, answer = await call(
            client, "PATCH", "/persons/p0001", "admin", {"phone": "13812345678"}
        )
        assert status == 503 and "encryption_key" in answer["error"]["message"]
        status, person = await call(client, "PATCH", "/persons/p0001", "admin", {"address": "x"})
        assert status == 200 and person["resident_id"] is None  # cannot be shown without the key


def test_the_document_lists_exactly_these_routes() -> None:
    documented = {(operation.path, operation.method) for operation in registry_routes.OPERATIONS}
    served = set()
    for route in registry_routes.routes(_FakeContext(), ""):  # type: ignore[arg-type]
        served.add((route.path, route.method))  # type: ignore[attr-defined]
    assert documented == served


class _FakeContext:
    registry = None
    timeseries = None
    config = CloudConfig()
