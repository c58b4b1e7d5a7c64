"""Observations (raw and downsampled), indices and the FHIR R4 export, through the API."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import numpy as np
import pytest
from aiohttp.test_utils import TestClient, TestServer

from anxin.cloud.api import API_PREFIX, create_app
from anxin.cloud.care.fhir import fhir_instant
from anxin.cloud.database.models import Person
from anxin.cloud.ingest.timeseries import StoredObservation
from anxin.cloud.registry.field_crypto import FieldCipher, new_key
from anxin.cloud.stores import Stores
from anxin.config import ApiConfig, CloudConfig
from tests.support.cloud import seeded_stores

NOW = int(time.time() * 1000)
MINUTE = 60_000
DAY = 86_400_000
KEY = new_key()
RESIDENT_ID = "110105194203150021"
FHIR_UNITS = "http://unitsofmeasure.org"


def reading(seq: int, type: str, value: float, ts_ms: int, unit: str, device: str = "dev-1"):
    return StoredObservation("gw-1", seq, "p0001", device, type, value, unit, ts_ms)


def vitals() -> list[StoredObservation]:
    rows = [
        reading(1, "heart_rate", 118, NOW - 3 * MINUTE, "/min", "hr-1"),
        reading(2, "heart_rate", 122, NOW - 2 * MINUTE, "/min", "hr-1"),
        reading(3, "spo2", 93, NOW - 2 * MINUTE, "%", "ox-1"),
        reading(4, "body_temperature", 38.4, NOW - 20 * MINUTE, "Cel", "th-1"),
        reading(5, "systolic_bp", 105, NOW - 10 * MINUTE, "mm[Hg]", "bp-1"),
        reading(6, "diastolic_bp", 70, NOW - 10 * MINUTE, "mm[Hg]", "bp-1"),
        # A cuff reading of which only the systolic value arrived.
        reading(7, "systolic_bp", 150, NOW - 5 * DAY, "mm[Hg]", "bp-1"),
        reading(8, "body_weight", 61.5, NOW - 5 * DAY, "kg", "scale-1"),
        # Two heart rates three days ago, one day apart in their day bucket.
        reading(9, "heart_rate", 60, NOW - 3 * DAY, "/min", "hr-1"),
        reading(10, "heart_rate", 80, NOW - 3 * DAY + 1000, "/min", "hr-1"),
    ]
    rng = np.random.default_rng(1)
    rr = 0.8 + 0.03 * rng.standard_normal(200)
    start = NOW - 4 * MINUTE
    rows += [
        reading(100 + n, "rr_interval", float(value), start + n * 1000, "s", "hr-1")
        for n, value in enumerate(rr)
    ]
    return rows


@pytest.fixture(autouse=True)
def now_is_the_test_start() -> None:
    """The readings are placed relative to when each test starts, not when the module was
    imported: the indices look back only minutes from the request's own clock."""
    global NOW
    NOW = int(time.time() * 1000)


@pytest.fixture
def stores(tmp_path: Path) -> Iterator[Stores]:
    with seeded_stores(f"sqlite:///{tmp_path}/cloud.sqlite") as stores:
        stores.timeseries.write(vitals())
        cipher = FieldCipher.from_settings(CloudConfig(registry={"encryption_key": KEY}).registry)
        assert cipher is not None
        with stores.registry.session() as session, session.begin():
            person = session.get(Person, "p0001")
            assert person is not None
            person.resident_id_enc = cipher.encrypt(RESIDENT_ID)
        yield stores


@pytest.fixture
async def client(stores: Stores) -> AsyncIterator[TestClient]:
    # No second factor here: these tests are about the data, not about logging in.
    config = CloudConfig(registry={"encryption_key": KEY}, api=ApiConfig(second_factor_roles=()))
    app = create_app(stores.registry, stores.timeseries, config=config)
    async with TestClient(TestServer(app)) as client:
        yield client


async def login(client: TestClient, username: str) -> dict[str, str]:
    body = {"username": username, "password": f"anxin-{username}"}
    response = await client.post(f"{API_PREFIX}/login", json=body)
    assert response.status == 200
    return {"Authorization": f"Bearer {(await response.json())['token']}"}


def iso(ms: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ms / 1000))


async def get(client: TestClient, path: str, headers: dict[str, str], **params: str):
    response = await client.get(f"{API_PREFIX}{path}", params=params, headers=headers)
    return response.status, await response.json(content_type=None)


# --- observations --------------------------------------------------------------------------


async def test_raw_is_the_default_and_keeps_its_fields(client: TestClient) -> None:
    headers = await login(client, "worker")
    status, body = await get(client, "/persons/p0001/observations", headers, type="heart_rate")
    assert status == 200 and body["resolution"] == "raw"
    assert [o["value"] for o in body["observations"]] == [118, 122]
    assert set(body["observations"][0]) == {"ts", "ts_ms", "value", "device_id"}


async def test_raw_over_more_than_two_days_is_refused_with_a_suggestion(
    client: TestClient,
) -> None:
    headers = await login(client, "worker")
    status, body = await get(
        client, "/persons/p0001/observations", headers, type="heart_rate", since=iso(NOW - 3 * DAY)
    )
    assert status == 400
    assert "resolution=1m" in body["error"]["message"]
    assert "resolution=1d" in body["error"]["message"]


async def test_day_buckets_over_a_week(client: TestClient) -> None:
    headers = await login(client, "worker")
    status, body = await get(
        client,
        "/persons/p0001/observations",
        headers,
        type="heart_rate",
        since=iso(NOW - 7 * DAY),
        resolution="1d",
        tz="UTC",
    )
    assert status == 200 and body["tz"] == "UTC" and "observations" not in body
    old, recent = body["buckets"]
    assert (old["min"], old["mean"], old["max"], old["count"]) == (60, 70, 80, 2)
    assert (recent["min"], recent["max"], recent["count"]) == (118, 122, 2)
    assert old["ts_ms"] % DAY == 0  # UTC midnight


async def test_minute_buckets_and_bad_resolution_or_zone(client: TestClient) -> None:
    headers = await login(client, "worker")
    path = "/persons/p0001/observations"
    status, body = await get(client, path, headers, type="heart_rate", resolution="1m")
    assert status == 200
    assert [(b["count"], b["mean"]) for b in body["buckets"]] == [(1, 118), (1, 122)]
    for params, named in (
        ({"resolution": "1h"}, "'resolution'"),
        ({"resolution": "1d", "tz": "Mars/Olympus"}, "'tz'"),
        ({"resolution": "1m", "since": iso(NOW - 40 * DAY)}, "resolution=1d"),
        ({"until": iso(NOW - DAY), "since": iso(NOW)}, "'until'"),
    ):
        status, body = await get(client, path, headers, type="heart_rate", **params)
        assert status == 400, params
        assert named in body["error"]["message"]


async def test_observations_of_a_person_not_visible_are_404(client: TestClient) -> None:
    headers = await login(client, "family")
    status, _ = await get(
        client, "/persons/p0002/observations", headers, type="heart_rate", resolution="1d"
    )
    assert status == 404


# --- indices ---------------------------------------------------------------------------------


async def test_indices_score_news2_partially_and_hrv_with_their_times(
    client: TestClient,
) -> None:
    headers = await login(client, "family")
    status, body = await get(client, "/persons/p0001/indices", headers)
    assert status == 200
    news2 = body["news2"]
    # pulse 122 → 2, SpO2 93 (scale 1) → 2, systolic 105 → 1, temperature 38.4 → 1.
    assert news2["parameters"] == {"pulse": 2, "spo2": 2, "systolic_bp": 1, "temperature": 1}
    assert news2["total"] == 6 and news2["clinical_risk"] == "medium"
    assert news2["partial"] is True
    assert set(news2["missing"]) == {"respiration_rate", "air_or_oxygen", "consciousness"}
    assert news2["ts_ms"] == NOW - 2 * MINUTE  # the newest input
    assert news2["inputs"]["temperature"]["ts_ms"] == NOW - 20 * MINUTE
    hrv = body["hrv"]
    assert hrv["n_received"] > 150 and hrv["time_domain"]["mean_rr_ms"] == pytest.approx(
        800, abs=20
    )
    assert hrv["ts_ms"] <= NOW and hrv["from_ts_ms"] >= NOW - 5 * MINUTE


async def test_indices_without_recent_data_say_why(client: TestClient) -> None:
    headers = await login(client, "worker")
    status, body = await get(client, "/persons/p0002/indices", headers)
    assert status == 200 and body["news2"] is None and body["hrv"] is None
    assert any("NEWS2" in note for note in body["notes"])
    status, _ = await get(client, "/persons/p0001/indices", headers, window_minutes="0")
    assert status == 400
    family = await login(client, "family")
    assert (await get(client, "/persons/p0002/indices", family))[0] == 404


# --- FHIR ---------------------------------------------------------------------------------------


async def test_fhir_patient_shows_the_resident_id_to_admins_only(client: TestClient) -> None:
    status, admin_view = await get(
        client, "/persons/p0001/fhir/Patient", await login(client, "admin")
    )
    assert status == 200
    assert admin_view["identifier"][0]["value"] == RESIDENT_ID
    assert admin_view["identifier"][0]["type"]["coding"][0]["code"] == "NNCHN"
    status, worker_view = await get(
        client, "/persons/p0001/fhir/Patient", await login(client, "worker")
    )
    assert status == 200 and "identifier" not in worker_view
    assert worker_view["gender"] == "female" and worker_view["birthDate"] == "1942-03-15"
    assert worker_view["name"][0]["text"] == "张秀英"
    assert "号楼" in worker_view["address"][0]["text"]
    family = await login(client, "family")
    assert (await get(client, "/persons/p0002/fhir/Patient", family))[0] == 404
    assert (await get(client, "/persons/nobody/fhir/Patient", family))[0] == 404


def by_code(bundle: dict) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = {}
    for entry in bundle["entry"]:
        resource = entry["resource"]
        found.setdefault(resource["code"]["coding"][0]["code"], []).append(resource)
    return found


async def test_fhir_observations_are_r4_vital_signs(client: TestClient) -> None:
    headers = await login(client, "worker")
    response = await client.get(
        f"{API_PREFIX}/persons/p0001/fhir/Observation",
        params={"since": iso(NOW - 7 * DAY)},
        headers=headers,
    )
    assert response.status == 200
    assert response.content_type == "application/fhir+json"
    bundle = await response.json(content_type=None)
    assert bundle["resourceType"] == "Bundle" and bundle["type"] == "searchset"
    codes = by_code(bundle)
    assert set(codes) == {"8867-4", "2708-6", "8310-5", "85354-9", "29463-7"}
    assert len(codes["8867-4"]) == 4 and bundle["total"] == 9

    for resource in (entry["resource"] for entry in bundle["entry"]):
        assert resource["status"] == "final"
        assert resource["category"][0]["coding"][0]["code"] == "vital-signs"
        assert resource["subject"] == {"reference": "Patient/p0001"}
        assert resource["effectiveDateTime"].endswith("Z")
        assert resource["device"]["identifier"]["value"]
        quantities = [resource.get("valueQuantity")] + [
            c.get("valueQuantity") for c in resource.get("component", [])
        ]
        for quantity in filter(None, quantities):
            assert quantity["system"] == FHIR_UNITS

    spo2 = codes["2708-6"][0]
    assert [c["code"] for c in spo2["code"]["coding"]] == ["2708-6", "59408-5"]
    assert spo2["valueQuantity"] == {
        "value": 93,
        "unit": "%",
        "system": FHIR_UNITS,
        "code": "%",
    }
    assert codes["8310-5"][0]["valueQuantity"]["code"] == "Cel"
    assert codes["29463-7"][0]["valueQuantity"]["code"] == "kg"
    assert codes["8867-4"][0]["valueQuantity"]["code"] == "/min"

    half, whole = sorted(codes["85354-9"], key=lambda r: r["effectiveDateTime"])
    assert [c["code"]["coding"][0]["code"] for c in whole["component"]] == ["8480-6", "8462-4"]
    assert [c["valueQuantity"]["value"] for c in whole["component"]] == [105, 70]
    assert whole["component"][0]["valueQuantity"]["code"] == "mm[Hg]"
    systolic, diastolic = half["component"]
    assert systolic["valueQuantity"]["value"] == 150
    assert "valueQuantity" not in diastolic
    assert diastolic["dataAbsentReason"]["coding"][0]["code"] == "unknown"


async def test_fhir_documents_validate_against_the_fhir_models(client: TestClient) -> None:
    models = pytest.importorskip("fhir.resources.R4B")  # R4B: R4's structures, pydantic 2
    from fhir.resources.R4B.bundle import Bundle
    from fhir.resources.R4B.patient import Patient

    assert models is not None
    headers = await login(client, "admin")
    _, bundle = await get(
        client, "/persons/p0001/fhir/Observation", headers, since=iso(NOW - 7 * DAY)
    )
    parsed = Bundle.model_validate(bundle)
    assert len(parsed.entry) == bundle["total"]
    _, patient = await get(client, "/persons/p0001/fhir/Patient", headers)
    assert Patient.model_validate(patient).gender == "female"


async def test_fhir_count_keeps_the_newest_and_scoping_applies(client: TestClient) -> None:
    headers = await login(client, "worker")
    status, bundle = await get(
        client, "/persons/p0001/fhir/Observation", headers, since=iso(NOW - 7 * DAY), _count="2"
    )
    assert status == 200 and bundle["total"] == 2
    times = [entry["resource"]["effectiveDateTime"] for entry in bundle["entry"]]
    assert times == sorted(times) and times[-1] == fhir_instant(NOW - 2 * MINUTE)
    assert (await get(client, "/persons/p0001/fhir/Observation", headers, _count="x"))[0] == 400
    family = await login(client, "family")
    assert (await get(client, "/persons/p0003/fhir/Observation", family))[0] == 404
