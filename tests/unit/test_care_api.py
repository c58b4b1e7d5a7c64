"""The care API: interventions, Barthel assessments, follow-ups; who may see and do what."""

from collections.abc import AsyncIterator, Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from anxin.cloud.api import API_PREFIX, care_routes, create_app
from anxin.cloud.database.models import AuditEntry, Person
from anxin.cloud.stores import Stores
from anxin.protocol import AlertMessage
from tests.support.care_stores import PASSWORD, care_stores

FULL = {
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


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.services)])
def stores(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Stores]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/care.sqlite"
    else:
        url = request.getfixturevalue("postgres_url")
    with care_stores(url) as stores:
        yield stores


@pytest.fixture
async def client(stores: Stores) -> AsyncIterator[TestClient]:
    async with TestClient(TestServer(create_app(stores.registry, stores.timeseries))) as client:
        yield client


class As:
    """Requests made as one user."""

    def __init__(self, client: TestClient, headers: dict[str, str]) -> None:
        self.client = client
        self.headers = headers

    async def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        response = await self.client.request(
            method, API_PREFIX + path, json=body, headers=self.headers
        )
        return response.status, await response.json()


async def login(client: TestClient, username: str) -> As:
    response = await client.post(
        f"{API_PREFIX}/login", json={"username": username, "password": PASSWORD}
    )
    assert response.status == 200, await response.text()
    return As(client, {"Authorization": f"Bearer {(await response.json())['token']}"})


def audit_actions(stores: Stores) -> list[str]:
    with stores.registry.session() as session:
        return list(session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


async def test_intervention_lifecycle(client: TestClient, stores: Stores) -> None:
    worker = await login(client, "worker")
    status, task = await worker.call(
        "POST", "/persons/p0001/interventions", {"kind": "phone_call", "notes": "问问血压"}
    )
    assert status == 201, task
    assert (task["status"], task["assigned_to"], task["person_name"]) == (
        "open",
        "worker",
        "张秀英",
    )
    assert task["due_at_ms"] - task["created_at_ms"] == 86_400_000  # a phone call: within a day
    path = f"/interventions/{task['id']}"
    status, body = await worker.call("POST", path + "/complete", {"outcome": "done"})
    assert status == 409 and body["error"]["code"] == "illegal_transition"
    assert "only from in_progress" in body["error"]["message"]
    assert (await worker.call("POST", path + "/start"))[1]["status"] == "in_progress"
    status, body = await worker.call("POST", path + "/complete", {"outcome": "  "})
    assert status == 400 and "'outcome'" in body["error"]["message"]
    status, body = await worker.call("POST", path + "/complete", {})
    assert status == 400 and "outcome" in body["error"]["message"]
    status, done = await worker.call("POST", path + "/complete", {"outcome": "血压已复测，正常"})
    assert (status, done["status"], done["outcome"]) == (200, "done", "血压已复测，正常")
    assert done["completed_at"] is not None
    status, body = await worker.call("POST", path + "/cancel", {"reason": "late"})
    assert status == 409 and body["error"]["code"] == "illegal_transition"
    status, body = await worker.call("PATCH", path, {"notes": "too late"})
    assert status == 400 and "can no longer change" in body["error"]["message"]
    assert [a for a in audit_actions(stores) if a.startswith("intervention.")] == [
        "intervention.create",
        "intervention.start",
        "intervention.complete",
    ]


async def test_cancel_needs_a_reason_and_patch_reassigns(client: TestClient) -> None:
    worker = await login(client, "worker")
    _, task = await worker.call(
        "POST",
        "/persons/p0002/interventions",
        {"kind": "home_visit", "due_at": "2026-12-01T09:00:00+08:00"},
    )
    assert task["due_at"] == "2026-12-01T01:00:00.000Z"
    path = f"/interventions/{task['id']}"
    status, body = await worker.call("PATCH", path, {"assigned_to": "worker2", "notes": "换人"})
    assert (status, body["assigned_to"], body["notes"]) == (200, "worker2", "换人")
    for bad, field in (
        ({"assigned_to": "other_worker"}, "assigned_to"),
        ({"assigned_to": "family"}, "assigned_to"),
        ({"due_at": None}, "due_at"),
        ({}, "at least one"),
        ({"status": "done"}, "status"),
    ):
        status, body = await worker.call("PATCH", path, bad)
        assert status == 400 and field in body["error"]["message"], (bad, body)
    status, body = await worker.call("POST", path + "/cancel", {})
    assert status == 400 and "reason" in body["error"]["message"]
    status, body = await worker.call("POST", path + "/cancel", {"reason": "家属已送医"})
    assert (status, body["status"], body["outcome"]) == (200, "cancelled", "家属已送医")


async def test_bad_creations_name_the_field(client: TestClient) -> None:
    worker = await login(client, "worker")
    for body, field in (
        ({"kind": "massage"}, "kind"),
        ({}, "kind"),
        ({"kind": "phone_call", "assigned_to": "other_worker"}, "assigned_to"),
        ({"kind": "phone_call", "colour": "red"}, "colour"),
        ({"kind": "phone_call", "due_at": "tomorrow"}, "due_at"),
        ({"kind": "phone_call", "alert_id": 99}, "alert_id"),
        ({"kind": "phone_call", "notes": "a\x00b"}, "notes"),
    ):
        status, answer = await worker.call("POST", "/persons/p0001/interventions", body)
        assert status == 400 and field in answer["error"]["message"], (body, answer)


async def test_from_an_alert(client: TestClient, stores: Stores) -> None:
    for seq, person in ((1, "p0001"), (2, "p0003")):
        stores.registry.record_alert(
            AlertMessage(
                site_id="home-1",
                gateway_id="gw-1",
                seq=seq,
                device_id="hr-1",
                kind="sos",
                severity="critical",
                raised_at_ms=1_790_000_000_000 + seq,
                message="SOS button: press",
            ),
            person,
        )
    worker = await login(client, "worker")
    status, task = await worker.call("POST", "/alerts/1/interventions", {"kind": "emergency_call"})
    assert status == 201 and (task["alert_id"], task["person_id"]) == (1, "p0001")
    assert task["due_at_ms"] == task["created_at_ms"]  # an emergency call is due at once
    # Another community's alert, an unknown one and a malformed id.
    assert (await worker.call("POST", "/alerts/2/interventions", {"kind": "phone_call"}))[0] == 404
    assert (await worker.call("POST", "/alerts/77/interventions", {"kind": "phone_call"}))[0] == 404
    assert (await worker.call("POST", "/alerts/x/interventions", {"kind": "phone_call"}))[0] == 400
    assert (
        await worker.call("POST", "/alerts/99999999999999/interventions", {"kind": "phone_call"})
    )[0] == 404
    family = await login(client, "family")
    assert (await family.call("POST", "/alerts/1/interventions", {"kind": "phone_call"}))[0] == 403


async def test_who_sees_which_interventions(client: TestClient) -> None:
    worker = await login(client, "worker")
    other = await login(client, "other_worker")
    family = await login(client, "family")
    recipient = await login(client, "recipient")
    ids = {}
    for person in ("p0001", "p0002"):
        _, task = await worker.call(
            "POST", f"/persons/{person}/interventions", {"kind": "home_visit"}
        )
        ids[person] = task["id"]
    _, task = await other.call("POST", "/persons/p0003/interventions", {"kind": "phone_call"})
    ids["p0003"] = task["id"]
    assert (await other.call("POST", "/persons/p0001/interventions", {"kind": "phone_call"}))[
        0
    ] == 404

    async def listed(user: As, query: str = "") -> list[str]:
        status, body = await user.call("GET", "/interventions" + query)
        assert status == 200, body
        return sorted(t["person_id"] for t in body)

    assert await listed(worker) == ["p0001", "p0002"]
    assert await listed(await login(client, "admin")) == ["p0001", "p0002", "p0003"]
    assert await listed(family) == ["p0001"]
    assert await listed(recipient) == ["p0002"]
    assert await listed(worker, "?person_id=p0002&status=open&kind=home_visit") == ["p0002"]
    assert await listed(worker, "?status=done") == []
    assert (await worker.call("GET", "/interventions?status=finished"))[0] == 400
    assert (await family.call("GET", f"/interventions/{ids['p0001']}"))[0] == 200
    assert (await family.call("GET", f"/interventions/{ids['p0002']}"))[0] == 404
    assert (await other.call("GET", f"/interventions/{ids['p0001']}"))[0] == 404
    assert (await recipient.call("GET", "/persons/p0002/interventions"))[0] == 200
    assert (await recipient.call("GET", "/persons/p0001/interventions"))[0] == 404
    assert (await family.call("GET", "/persons/p0001/interventions"))[0] == 200
    assert (await family.call("GET", "/persons/nobody/interventions"))[0] == 404
    for user in (family, recipient):
        path = f"/interventions/{ids['p0001']}/start"
        assert (await user.call("POST", path))[0] == 403
        assert (await user.call("POST", "/persons/p0001/interventions", {"kind": "phone_call"}))[
            0
        ] == 403


async def test_barthel_assessments(client: TestClient, stores: Stores) -> None:
    worker = await login(client, "worker")
    path = "/persons/p0001/assessments"
    items = FULL | {"stairs": 0, "bathing": 0, "mobility": 10}
    status, body = await worker.call(
        "POST", path, {"assessed_on": "2026-11-01", "items": items, "notes": "术后"}
    )
    assert status == 201, body
    assert (body["total"], body["band"], body["band_zh"], body["assessed_by"]) == (
        80,
        "moderate",
        "中度依赖",
        "worker",
    )
    status, body = await worker.call(
        "POST", path, {"assessed_on": "2026-11-02", "items": items, "total": 85}
    )
    assert status == 400 and "'total' 85 does not match the items" in body["error"]["message"]
    status, body = await worker.call(
        "POST", path, {"assessed_on": "2026-11-02", "items": FULL | {"transfers": 12}}
    )
    assert status == 400
    assert "items.transfers" in body["error"]["message"]
    assert "one of 0, 5, 10, 15" in body["error"]["message"]
    status, body = await worker.call(
        "POST", path, {"assessed_on": "2026-11-02", "items": FULL | {"walking": 5}}
    )
    assert status == 400 and "'walking' is not a Barthel item" in body["error"]["message"]
    future = (date.today() + timedelta(days=3)).isoformat()
    status, body = await worker.call("POST", path, {"assessed_on": future, "items": FULL})
    assert status == 400 and "assessed_on" in body["error"]["message"]
    status, body = await worker.call(
        "POST", path, {"assessed_on": "2026-11-03", "items": FULL, "total": 100}
    )
    assert status == 201 and body["band"] == "independent"
    family = await login(client, "family")
    status, listing = await family.call("GET", path)
    assert status == 200 and [a["total"] for a in listing] == [100, 80]
    assert (await family.call("POST", path, {"assessed_on": "2026-11-03", "items": FULL}))[0] == 403
    assert (await family.call("GET", "/persons/p0002/assessments"))[0] == 404
    assert audit_actions(stores).count("assessment.create") == 2


async def test_follow_ups_through_the_api(client: TestClient, stores: Stores) -> None:
    with stores.registry.session() as session, session.begin():
        session.get(Person, "p0002").pension_certification_due = date.today() + timedelta(days=9)
    admin = await login(client, "admin")
    worker = await login(client, "worker")
    family = await login(client, "family")
    assert (await worker.call("POST", "/follow-ups/evaluate", {}))[0] == 403
    status, body = await admin.call("POST", "/follow-ups/evaluate", {"person_id": "p0001"})
    assert (status, body) == (200, {"raised": []})
    status, body = await admin.call("POST", "/follow-ups/evaluate", {})
    [raised] = body["raised"]
    assert raised["rule_id"] == "pension_certification" and raised["person_id"] == "p0002"
    assert "养老金" in raised["explanation_zh"] and "pension" in raised["explanation_en"]
    assert raised["evidence"]["attachments"]["wear_record"]["withheld"] is True
    status, listing = await worker.call("GET", "/follow-ups?status=open")
    assert status == 200 and [f["id"] for f in listing] == [raised["id"]]
    assert (await worker.call("GET", "/follow-ups?rule_id=ltc_assessment"))[1] == []
    status, one = await worker.call("GET", f"/follow-ups/{raised['id']}")
    assert status == 200
    [task] = one["interventions"]
    assert (task["kind"], task["assigned_to"]) == ("pension_certification_reminder", "worker")
    assert (await family.call("GET", "/follow-ups"))[0] == 403
    assert (await family.call("GET", f"/follow-ups/{raised['id']}"))[0] == 403
    other = await login(client, "other_worker")
    assert (await other.call("GET", f"/follow-ups/{raised['id']}"))[0] == 404
    close = f"/follow-ups/{raised['id']}/close"
    assert (await worker.call("POST", close, {"status": "open"}))[0] == 400
    status, closed = await worker.call("POST", close, {"status": "done", "note": "已提醒"})
    assert (status, closed["status"]) == (200, "done")
    status, body = await worker.call("POST", close, {"status": "dismissed"})
    assert status == 409 and "already done" in body["error"]["message"]
    status, rules = await worker.call("GET", "/follow-up-rules")
    assert status == 200 and len(rules["rules"]) == 4
    assert rules["rules"][0]["when"][0]["limits"] == {"systolic_bp": 140.0, "diastolic_bp": 90.0}
    assert (await family.call("GET", "/follow-up-rules"))[0] == 403


def test_the_document_lists_exactly_the_care_routes(stores: Stores) -> None:
    from anxin.cloud.api.context import ApiContext
    from anxin.config import CloudConfig

    served = {
        (route.path[len(API_PREFIX) :], route.method)  # type: ignore[attr-defined]
        for route in care_routes.routes(
            ApiContext(stores.registry, stores.timeseries, CloudConfig()), API_PREFIX
        )
    }
    documented = {(operation.path, operation.method) for operation in care_routes.OPERATIONS}
    assert served == documented
