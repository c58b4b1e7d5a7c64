"""A reading or alert counts only from the enrolled gateway of the site its device belongs
to: another home's gateway, or one never enrolled, cannot write anyone's data."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from anxin.cloud.api import API_PREFIX, create_app
from anxin.cloud.database.models import Alert, DeadLetter, Gateway, SecurityEvent
from anxin.cloud.ingest.worker import Ingest
from anxin.cloud.stores import Stores
from anxin.protocol import AlertMessage, GatewayState, encode
from tests.support.cloud import batch_payload, now_ms, seeded_stores


@pytest.fixture
def stores(tmp_path: Path) -> Iterator[Stores]:
    with seeded_stores(f"sqlite:///{tmp_path}/cloud.sqlite") as stores:
        yield stores


@pytest.fixture
def ingest(stores: Stores) -> Ingest:
    return Ingest(stores.registry, stores.timeseries, "anxin/v1")


def sos(gateway: str, site: str, device: str = "sos-1", seq: int = 900) -> bytes:
    return encode(
        AlertMessage(
            site_id=site,
            gateway_id=gateway,
            seq=seq,
            device_id=device,
            kind="sos",
            severity="critical",
            raised_at_ms=now_ms(),
            message="SOS button: long press",
        )
    )


def alerts(stores: Stores) -> list[Alert]:
    with stores.registry.session() as session:
        return list(session.scalars(select(Alert)))


def events(stores: Stores) -> list[tuple[str, str, str, int]]:
    with stores.registry.session() as session:
        rows = session.scalars(select(SecurityEvent).order_by(SecurityEvent.id))
        return [(e.gateway_id, e.site_id, e.reason, e.count) for e in rows]


def test_another_homes_gateway_cannot_write_a_persons_heart_rate_or_alert(
    ingest: Ingest, stores: Stores
) -> None:
    # gw-2 is enrolled, for home-2; hr-1 and sos-1 belong to home-1 (张秀英, p0001).
    reading = ingest.handle(
        "anxin/v1/home-2/gw-2/observations", batch_payload("gw-2", "home-2", range(3), "hr-1")
    )
    alert = ingest.handle("anxin/v1/home-2/gw-2/alerts", sos("gw-2", "home-2"))
    again = ingest.handle(
        "anxin/v1/home-2/gw-2/observations", batch_payload("gw-2", "home-2", range(3, 5), "hr-1")
    )

    for outcome in (reading, again):
        assert not outcome.accepted and outcome.kind == "origin"
        assert outcome.reason == "device hr-1 belongs to site home-1, not home-2"
    assert alert.reason == "device sos-1 belongs to site home-1, not home-2"
    assert stores.timeseries.query("p0001", "heart_rate", since_ms=0) == []
    assert stores.timeseries.count() == 0
    assert alerts(stores) == []
    assert [d.kind for d in stores.registry.dead_letters()] == ["origin"] * 3
    assert events(stores) == [
        ("gw-2", "home-2", "device hr-1 belongs to site home-1, not home-2", 2),
        ("gw-2", "home-2", "device sos-1 belongs to site home-1, not home-2", 1),
    ]
    assert ingest.counters["dead_letters_origin"] == 3


def test_a_gateway_never_enrolled_is_refused_and_never_added(
    ingest: Ingest, stores: Stores
) -> None:
    base = "anxin/v1/home-1/gw-rogue"
    reading = ingest.handle(
        f"{base}/observations", batch_payload("gw-rogue", "home-1", range(3), "hr-1")
    )
    alert = ingest.handle(f"{base}/alerts", sos("gw-rogue", "home-1"))
    state = GatewayState(
        site_id="home-1", gateway_id="gw-rogue", online=True, ts_ms=now_ms(), devices={}
    )
    stated = ingest.handle(f"{base}/state", encode(state))

    for outcome in (reading, alert, stated):
        assert not outcome.accepted and outcome.reason == "gateway gw-rogue is not enrolled"
    assert stores.timeseries.count() == 0 and alerts(stores) == []
    assert stores.registry.gateway("gw-rogue") is None
    with stores.registry.session() as session:
        assert "gw-rogue" not in set(session.scalars(select(Gateway.id)))
    assert events(stores) == [("gw-rogue", "home-1", "gateway gw-rogue is not enrolled", 3)]


def test_a_gateway_claiming_another_site_is_refused(ingest: Ingest, stores: Stores) -> None:
    outcome = ingest.handle(
        "anxin/v1/home-1/gw-2/observations", batch_payload("gw-2", "home-1", range(3), "hr-1")
    )
    assert outcome.reason == "gateway gw-2 is enrolled for site home-2, not home-1"
    assert stores.timeseries.count() == 0


def test_the_own_gateway_is_accepted_and_an_unregistered_device_stored_against_nobody(
    ingest: Ingest, stores: Stores
) -> None:
    own = ingest.handle("anxin/v1/home-1/gw-1/observations", batch_payload(seqs=range(3)))
    assert own.accepted and own.new == 3
    unknown = ingest.handle(
        "anxin/v1/home-1/gw-1/observations",
        batch_payload(seqs=range(10, 12), device="hr-unregistered"),
    )
    assert unknown.accepted and unknown.new == 2
    assert len(stores.timeseries.query("p0001", "heart_rate", since_ms=0)) == 3
    assert stores.timeseries.count() == 5
    assert events(stores) == []
    state = GatewayState(site_id="home-1", gateway_id="gw-1", online=True, ts_ms=now_ms())
    assert ingest.handle("anxin/v1/home-1/gw-1/state", encode(state)).accepted
    assert stores.registry.gateway("gw-1").online  # type: ignore[union-attr]


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


async def test_administrators_see_refused_senders_as_security_events(
    ingest: Ingest, stores: Stores, client: TestClient
) -> None:
    ingest.handle("anxin/v1/home-1/gw-rogue/alerts", sos("gw-rogue", "home-1"))
    ingest.handle("anxin/v1/home-1/gw-rogue/alerts", sos("gw-rogue", "home-1", seq=901))
    ingest.handle(
        "anxin/v1/home-2/gw-2/observations", batch_payload("gw-2", "home-2", range(3), "hr-1")
    )
    admin = await login(client, "admin", "anxin-admin")
    response = await client.get(f"{API_PREFIX}/security-events", headers=admin)
    assert response.status == 200, await response.text()
    page = await response.json()
    assert page["total"] == 2 and (page["limit"], page["offset"]) == (50, 0)
    newest, oldest = page["events"]
    assert (newest["gateway_id"], newest["site_id"], newest["count"]) == ("gw-2", "home-2", 1)
    assert newest["reason"] == "device hr-1 belongs to site home-1, not home-2"
    assert (oldest["gateway_id"], oldest["count"]) == ("gw-rogue", 2)
    assert oldest["reason"] == "gateway gw-rogue is not enrolled"
    assert oldest["first_seen"] <= oldest["last_seen"]

    second = await client.get(f"{API_PREFIX}/security-events?limit=1&offset=1", headers=admin)
    assert [e["gateway_id"] for e in (await second.json())["events"]] == ["gw-rogue"]
    bad = await client.get(f"{API_PREFIX}/security-events?limit=100000", headers=admin)
    assert bad.status == 400 and "'limit'" in (await bad.json())["error"]["message"]
    worker = await login(client, "worker", "anxin-worker")
    refused = await client.get(f"{API_PREFIX}/security-events", headers=worker)
    assert refused.status == 403


def test_dead_letters_say_what_kind_they_are(ingest: Ingest, stores: Stores) -> None:
    ingest.handle("anxin/v1/home-1/gw-1/observations", b"{not json")
    ingest.handle("anxin/v1/home-1/gw-rogue/alerts", sos("gw-rogue", "home-1"))
    with stores.registry.session() as session:
        kinds = list(session.scalars(select(DeadLetter.kind).order_by(DeadLetter.id)))
    assert kinds == ["invalid", "origin"]
    assert ingest.dead_letter_counts() == {"invalid": 1, "origin": 1}
