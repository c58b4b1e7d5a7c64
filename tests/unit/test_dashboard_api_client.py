"""The console's API client against the real API app served on an ephemeral port."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from anxin.dashboard.api_client import ApiClient, ApiError, ApiUnavailable, NotAuthenticated
from tests.browser.live_api import LiveApi, running_api


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApi]:
    with running_api(tmp_path_factory.mktemp("api")) as live:
        yield live


@pytest.fixture
def worker(api: LiveApi) -> ApiClient:
    client = ApiClient(api.url)
    client.login("worker", "anxin-worker")
    return client


def unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_login_returns_the_user_and_keeps_the_token_out_of_reprs(api: LiveApi) -> None:
    session = ApiClient(api.url).login("worker", "anxin-worker")
    assert session.user.role == "worker"
    assert session.user.community == "幸福里社区"
    assert session.token and session.token not in repr(session)
    assert session.to_store()["token"] == session.token
    assert session.to_store()["user"]["username"] == "worker"


def test_wrong_password_raises_not_authenticated(api: LiveApi) -> None:
    with pytest.raises(NotAuthenticated) as caught:
        ApiClient(api.url).login("worker", "wrong")
    assert caught.value.status == 401
    assert caught.value.code == "bad_credentials"
    assert "POST /login" in str(caught.value)


def test_a_call_without_a_token_raises_not_authenticated(api: LiveApi) -> None:
    with pytest.raises(NotAuthenticated):
        ApiClient(api.url).persons()


def test_a_revoked_token_raises_not_authenticated(api: LiveApi) -> None:
    client = ApiClient(api.url)
    session = client.login("worker", "anxin-worker")
    client.logout()
    with pytest.raises(NotAuthenticated):
        ApiClient(api.url, session.token).persons()


def test_persons_parse_with_latest_vitals_and_devices(worker: ApiClient) -> None:
    persons = {p.id: p for p in worker.persons()}
    assert set(persons) == {"p0001", "p0002", "p0003"}
    zhang = persons["p0001"]
    assert (zhang.name, zhang.sex, zhang.community) == ("张秀英", "F", "幸福里社区")
    assert zhang.latest["heart_rate"].unit == "/min"
    assert zhang.latest["heart_rate"].value == 131.0
    assert zhang.latest["spo2"].unit == "%"
    assert zhang.open_alerts >= 1
    assert {d.kind for d in zhang.devices} == {
        "heart_rate_strap",
        "pulse_oximeter",
        "bthome_motion",
        "bthome_button",
        "accelerometer_wearable",
    }


def test_family_sees_only_their_relative(api: LiveApi) -> None:
    family = ApiClient(api.url)
    family.login("family", "anxin-family")
    assert [p.id for p in family.persons()] == ["p0001"]
    assert {a.person_id for a in family.alerts()} == {"p0001"}


def test_alerts_parse(worker: ApiClient) -> None:
    alert = next(a for a in worker.alerts() if a.person_id == "p0001")
    assert (alert.kind, alert.severity, alert.status) == ("heart_rate_high", "high", "open")
    assert (alert.value, alert.threshold) == (131.0, 120.0)
    assert alert.person_name == "张秀英"
    assert alert.raised_at.endswith("Z")


def test_observations_parse_oldest_first(worker: ApiClient) -> None:
    since = datetime.now(UTC) - timedelta(minutes=10)
    series = worker.observations("p0001", "heart_rate", since=since)
    assert (series.person_id, series.type, series.unit) == ("p0001", "heart_rate", "/min")
    assert len(series.observations) > 10
    times = [o.ts_ms for o in series.observations]
    assert times == sorted(times)
    assert series.observations[-1].value == 131.0
    assert len(worker.observations("p0001", "spo2", since=since, limit=5).observations) == 5


def test_a_person_out_of_reach_is_an_api_error_not_a_crash(api: LiveApi) -> None:
    family = ApiClient(api.url)
    family.login("family", "anxin-family")
    with pytest.raises(ApiError) as caught:
        family.observations("p0002", "heart_rate", since=datetime.now(UTC) - timedelta(minutes=1))
    assert caught.value.status == 404
    assert not isinstance(caught.value, NotAuthenticated | ApiUnavailable)


def test_an_unreachable_api_raises_api_unavailable() -> None:
    client = ApiClient(f"http://127.0.0.1:{unused_port()}/api/v1", token="secret-token")
    with pytest.raises(ApiUnavailable) as caught:
        client.persons()
    assert "secret-token" not in str(caught.value)
    assert "secret-token" not in repr(client)


def test_the_token_never_reaches_the_log(api: LiveApi, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    client = ApiClient(api.url)
    session = client.login("worker", "anxin-worker")
    client.persons()
    assert caplog.records, "expected the client to log its calls at debug level"
    assert session.token not in caplog.text
    assert "anxin-worker" not in caplog.text


def test_health_needs_no_login(api: LiveApi) -> None:
    assert ApiClient(api.url).health()["status"] == "ok"


def test_new_alerts_show_on_the_next_call(api: LiveApi, worker: ApiClient) -> None:
    api.raise_alert("p0003", "heart_rate_low", "medium", "heart_rate", 38.0, 40.0)
    assert any(a.kind == "heart_rate_low" and a.person_id == "p0003" for a in worker.alerts())
