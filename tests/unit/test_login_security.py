"""Login security through the real API: argon2 (and old scrypt hashes), TOTP second
factor, throttled guessing, idle and absolute session expiry, and the recipient's scope."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select, update

from anxin.cloud.access import second_factor
from anxin.cloud.access.passwords import hash_password, needs_rehash, verify_password
from anxin.cloud.api import API_PREFIX
from anxin.cloud.database.models import ApiSession, AuditEntry, LoginThrottleCounter, User
from anxin.cloud.registry.registry import Principal, now_ms
from anxin.cloud.stores import Stores
from tests.support.cloud import BACKENDS, api_client, cloud_config, seeded_backend


@pytest.fixture(params=BACKENDS)
def stores(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Stores]:
    with seeded_backend(request, tmp_path) as stores:
        yield stores


@pytest.fixture
async def client(stores: Stores) -> AsyncIterator[TestClient]:
    config = cloud_config(second_factor_roles=("worker", "admin"), lockout_failures=5)
    async with api_client(stores, config=config) as client:
        yield client


async def log_in(client: TestClient, username: str, password: str, totp: str | None = None):  # type: ignore[no-untyped-def]
    body = {"username": username, "password": password} | ({"totp": totp} if totp else {})
    return await client.post(f"{API_PREFIX}/login", json=body)


async def token_of(client: TestClient, username: str, password: str) -> dict[str, str]:
    response = await log_in(client, username, password)
    assert response.status == 200, await response.text()
    return {"Authorization": f"Bearer {(await response.json())['token']}"}


def legacy_scrypt_hash(password: str) -> str:
    """The format passwords were stored in before argon2."""
    salt = b"0123456789abcdef"
    digest = hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1)
    return f"scrypt$16384$8$1${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def user_row(stores: Stores, username: str) -> User:
    with stores.registry.session() as session:
        user = session.get(User, username)
        assert user is not None
        return user


def set_user(stores: Stores, username: str, **values: object) -> None:
    with stores.registry.session() as session, session.begin():
        session.execute(update(User).where(User.username == username).values(**values))


def code_not_in_window(secret: str) -> str:
    valid = {second_factor.current_code(secret, now_ms() / 1000 + d) for d in (-30, 0, 30)}
    return next(c for c in ("000000", "111111", "222222", "333333") if c not in valid)


def test_new_hashes_are_argon2id_and_old_scrypt_hashes_still_verify() -> None:
    stored = hash_password("correct horse")
    assert stored.startswith("$argon2id$")
    assert verify_password("correct horse", stored) and not verify_password("wrong", stored)
    assert not needs_rehash(stored)
    old = legacy_scrypt_hash("correct horse")
    assert verify_password("correct horse", old) and not verify_password("wrong", old)
    assert needs_rehash(old)


async def test_a_legacy_hash_is_replaced_by_argon2_at_the_next_login(
    client: TestClient, stores: Stores
) -> None:
    set_user(stores, "family", password_hash=legacy_scrypt_hash("anxin-family"))
    failed = await log_in(client, "family", "not it")
    assert failed.status == 401
    assert user_row(stores, "family").password_hash.startswith("scrypt$")  # not on a failure
    assert (await log_in(client, "family", "anxin-family")).status == 200
    assert user_row(stores, "family").password_hash.startswith("$argon2id$")
    assert (await log_in(client, "family", "anxin-family")).status == 200


async def test_a_worker_without_a_second_factor_may_only_enrol_one(
    client: TestClient,
) -> None:
    response = await log_in(client, "worker", "anxin-worker")
    assert response.status == 200
    body = await response.json()
    assert body["second_factor"] == "enrolment_required" and body["user"]["restricted"]
    headers = {"Authorization": f"Bearer {body['token']}"}
    refused = await client.get(f"{API_PREFIX}/alerts", headers=headers)
    assert refused.status == 403
    assert (await refused.json())["error"]["code"] == "second_factor_enrolment_required"
    me = await client.get(f"{API_PREFIX}/me", headers=headers)
    assert me.status == 200 and (await me.json())["restricted"] is True
    # A family member is not asked for one.
    family = await (await log_in(client, "family", "anxin-family")).json()
    assert family["second_factor"] == "not_required" and not family["user"]["restricted"]


async def test_totp_enrolment_login_and_replay(client: TestClient, stores: Stores) -> None:
    headers = await token_of(client, "worker", "anxin-worker")
    started = await (await client.post(f"{API_PREFIX}/me/totp", headers=headers)).json()
    secret = started["secret"]
    assert started["otpauth_uri"].startswith("otpauth://totp/") and secret in started["otpauth_uri"]
    stored = user_row(stores, "worker")
    assert stored.totp_pending_enc and secret not in stored.totp_pending_enc  # encrypted
    assert stored.totp_secret_enc is None  # pending until confirmed

    wrong = await client.post(
        f"{API_PREFIX}/me/totp/confirm", headers=headers, json={"code": code_not_in_window(secret)}
    )
    assert wrong.status == 400 and (await wrong.json())["error"]["code"] == "bad_totp"
    malformed = await client.post(
        f"{API_PREFIX}/me/totp/confirm", headers=headers, json={"code": "12ab"}
    )
    assert malformed.status == 400 and "code" in (await malformed.json())["error"]["message"]
    now_code = second_factor.current_code(secret)
    confirmed = await client.post(
        f"{API_PREFIX}/me/totp/confirm", headers=headers, json={"code": now_code}
    )
    assert confirmed.status == 200
    # The code proved the second factor: this session is no longer restricted.
    assert (await client.get(f"{API_PREFIX}/alerts", headers=headers)).status == 200

    no_code = await log_in(client, "worker", "anxin-worker")
    assert no_code.status == 401 and (await no_code.json())["error"]["code"] == "totp_required"
    replayed = await log_in(client, "worker", "anxin-worker", now_code)
    assert replayed.status == 401 and (await replayed.json())["error"]["code"] == "bad_totp"
    wrong_code = await log_in(client, "worker", "anxin-worker", code_not_in_window(secret))
    assert (await wrong_code.json())["error"]["code"] == "bad_totp"
    next_code = second_factor.current_code(secret, now_ms() / 1000 + 30)
    good = await log_in(client, "worker", "anxin-worker", next_code)
    assert good.status == 200
    assert (await good.json())["second_factor"] == "verified"
    again = await log_in(client, "worker", "anxin-worker", next_code)
    assert again.status == 401 and (await again.json())["error"]["code"] == "bad_totp"


def end_the_wait(stores: Stores) -> None:
    """Move every throttle wait into the past, rather than waiting for it."""
    with stores.registry.session() as session, session.begin():
        session.execute(update(LoginThrottleCounter).values(next_allowed_ms=now_ms() - 1))


async def test_failures_make_the_next_attempt_wait_longer_and_a_login_resets_the_count(
    client: TestClient, stores: Stores
) -> None:
    for _ in range(4):
        assert (await log_in(client, "family", "wrong password")).status == 401
    assert (await log_in(client, "family", "anxin-family")).status == 200  # resets the count
    for _ in range(4):
        assert (await log_in(client, "family", "wrong password")).status == 401
    fifth = await log_in(client, "family", "wrong password")
    assert fifth.status == 429
    assert (await fifth.json())["error"]["code"] == "locked"
    assert 55 <= int(fifth.headers["Retry-After"]) <= 60
    # While waiting even the right password is refused, unchecked.
    assert (await log_in(client, "family", "anxin-family")).status == 429
    # A minute later one more guess is checked; wrong, it doubles the wait.
    end_the_wait(stores)
    sixth = await log_in(client, "family", "wrong password")
    assert sixth.status == 429 and 115 <= int(sixth.headers["Retry-After"]) <= 120
    end_the_wait(stores)
    assert (await log_in(client, "family", "anxin-family")).status == 200
    assert (await log_in(client, "family", "wrong password")).status == 401  # count restarted


async def test_unknown_usernames_are_locked_out_like_known_ones(client: TestClient) -> None:
    answers = [(await log_in(client, "nobody", "whatever12")).status for _ in range(6)]
    assert answers == [401, 401, 401, 401, 429, 429]


def test_sessions_end_when_idle_and_at_their_absolute_expiry(stores: Stores) -> None:
    registry = stores.registry
    token, expires = registry.open_session("family", ttl_s=3600)
    start = now_ms()
    # Used every 25 minutes, an idle limit of 30 minutes never ends it...
    for minutes in range(25, 60, 25):
        assert registry.check_session(token, 1800, start + minutes * 60_000).principal
    # ...but the absolute limit does.
    ended = registry.check_session(token, 1800, expires + 1)
    assert ended.principal is None and ended.reason == "expired" and ended.username == "family"
    assert registry.check_session(token, 1800).reason == "unknown"  # and it is gone

    idle_token, _ = registry.open_session("family", ttl_s=3600)
    idle = registry.check_session(idle_token, 1800, now_ms() + 31 * 60_000)
    assert idle.principal is None and idle.reason == "idle"


async def test_an_idle_session_is_refused_and_the_refusal_audited(
    client: TestClient, stores: Stores
) -> None:
    headers = await token_of(client, "family", "anxin-family")
    assert (await client.get(f"{API_PREFIX}/me", headers=headers)).status == 200
    with stores.registry.session() as session, session.begin():
        session.execute(update(ApiSession).values(last_used_at_ms=now_ms() - 31 * 60_000))
    refused = await client.get(f"{API_PREFIX}/me", headers=headers)
    assert refused.status == 401 and (await refused.json())["error"]["code"] == "session_expired"
    with stores.registry.session() as session:
        last = session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()
    assert last is not None and last.actor == "family"
    assert last.detail == {"route": "/api/v1/me", "status": 401, "session": "idle"}


async def test_a_recipient_sees_only_their_own_record(client: TestClient, stores: Stores) -> None:
    admin_login = await (await log_in(client, "admin", "anxin-admin")).json()
    assert admin_login["second_factor"] == "enrolment_required"
    # An admin without a second factor cannot create users: enrol one first.
    admin = {"Authorization": f"Bearer {admin_login['token']}"}
    secret = (await (await client.post(f"{API_PREFIX}/me/totp", headers=admin)).json())["secret"]
    await client.post(
        f"{API_PREFIX}/me/totp/confirm",
        headers=admin,
        json={"code": second_factor.current_code(secret)},
    )
    created = await client.post(
        f"{API_PREFIX}/users",
        headers=admin,
        json={
            "username": "li",
            "display_name": "李建国",
            "role": "recipient",
            "password": "li-jianguo-1939",
            "person_id": "p0002",
        },
    )
    assert created.status == 201, await created.text()
    me = await token_of(client, "li", "li-jianguo-1939")
    persons = await (await client.get(f"{API_PREFIX}/persons", headers=me)).json()
    assert [p["id"] for p in persons] == ["p0002"]
    assert (await client.get(f"{API_PREFIX}/persons/p0001", headers=me)).status == 404
    principal = stores.registry.principal("li")
    assert principal is not None and principal.person_id == "p0002"
    assert stores.registry.can_see_person(principal, "p0002")
    assert not stores.registry.can_see_person(principal, "p0001")
    lost = Principal("x", "x", "recipient", None, frozenset(), person_id=None)
    assert stores.registry.persons_visible_to(lost) == []
