from collections.abc import Iterator
from pathlib import Path

import pytest

from anxin.cloud.ingest.worker import Ingest, IngestWorker
from anxin.cloud.registry.registry import Principal
from anxin.cloud.stores import Stores
from anxin.config import IngestConfig, MqttConfig
from anxin.protocol import AlertMessage, encode
from tests.support.cloud import alert_payload, batch_payload, now_ms, seeded_stores

ADMIN = Principal("admin", "admin", "admin", None, frozenset())
TOPIC = "anxin/v1/home-1/gw-1/observations"


@pytest.fixture
def stores(tmp_path: Path) -> Iterator[Stores]:
    with seeded_stores(f"sqlite:///{tmp_path}/cloud.sqlite") as stores:
        yield stores


@pytest.fixture
def ingest(stores: Stores) -> Ingest:
    return Ingest(stores.registry, stores.timeseries, "anxin/v1")


def test_observations_are_stored_against_the_bound_person(ingest: Ingest, stores: Stores) -> None:
    outcome = ingest.handle(TOPIC, batch_payload(seqs=range(5)))
    assert outcome.accepted and outcome.new == 5
    rows = stores.timeseries.query("p0001", "heart_rate", since_ms=0)
    assert [r.value for r in rows] == [70, 71, 72, 73, 74]
    assert stores.timeseries.query("p0002", "heart_rate", since_ms=0) == []


def test_redelivery_adds_nothing(ingest: Ingest, stores: Stores) -> None:
    ingest.handle(TOPIC, batch_payload(seqs=range(5)))
    outcome = ingest.handle(TOPIC, batch_payload(seqs=range(3, 8)))
    assert (outcome.new, outcome.duplicates) == (3, 2)
    assert stores.timeseries.count() == 8
    assert ingest.counters["duplicates"] == 2


@pytest.mark.parametrize(
    ("topic", "payload", "reason"),
    [
        (TOPIC, b"{not json", "schema validation failed"),
        (TOPIC, b'{"schema": 1}', "site_id: Field required"),
        (TOPIC, batch_payload().replace(b'"/min"', b'"bpm"'), "unit for heart_rate must be '/min'"),
        (
            "anxin/v1/home-2/gw-2/observations",
            batch_payload(),
            "published under site 'home-2' gateway 'gw-2'",
        ),
        (
            "anxin/v1/home-1/observations",
            batch_payload(),
            "is not anxin/v1/<site>/<gateway>/<channel>",
        ),
    ],
)
def test_bad_messages_are_kept_aside_and_ingest_goes_on(
    ingest: Ingest, stores: Stores, topic: str, payload: bytes, reason: str
) -> None:
    outcome = ingest.handle(topic, payload)
    assert not outcome.accepted
    assert reason in outcome.reason
    dead = stores.registry.dead_letters()
    assert dead[0].payload == payload and reason in dead[0].reason
    assert ingest.counters["rejected"] == 1
    assert ingest.handle(TOPIC, batch_payload()).accepted  # the next good message still flows
    assert stores.timeseries.count() == 3


def test_alert_repeats_fold_into_the_open_alert(ingest: Ingest, stores: Stores) -> None:
    alerts_topic = "anxin/v1/home-1/gw-1/alerts"
    assert ingest.handle(alerts_topic, alert_payload(100)).new == 1
    assert ingest.handle(alerts_topic, alert_payload(100)).duplicates == 1  # redelivered
    assert ingest.handle(alerts_topic, alert_payload(105, value=140)).new == 1  # a repeat
    alerts = stores.registry.alerts_visible_to(ADMIN)
    assert len(alerts) == 1
    assert alerts[0].person_id == "p0001"
    assert alerts[0].occurrences == 2
    assert alerts[0].value == 140


def test_an_event_alert_without_a_reading_is_stored(ingest: Ingest, stores: Stores) -> None:
    sos = AlertMessage(
        site_id="home-1",
        gateway_id="gw-1",
        seq=200,
        device_id="motion-1",
        kind="sos",
        severity="critical",
        raised_at_ms=now_ms(),
        message="SOS button: long press",
    )
    assert ingest.handle("anxin/v1/home-1/gw-1/alerts", encode(sos)).new == 1
    alert = stores.registry.alerts_visible_to(ADMIN)[0]
    assert (alert.kind, alert.severity, alert.person_id) == ("sos", "critical", "p0001")
    assert alert.value is None and alert.threshold is None


def test_workers_share_a_group_or_subscribe_plainly(ingest: Ingest) -> None:
    shared = IngestWorker(ingest, MqttConfig(), IngestConfig(topic_root="a/v1", worker_id="w1"))
    assert shared.subscriptions[0] == "$share/anxin-ingest-observations/a/v1/+/+/observations"
    assert shared.client_id == "anxin-anxin-ingest-w1"
    plain = IngestWorker(
        ingest, MqttConfig(), IngestConfig(topic_root="a/v1", shared_group="", worker_id="w1")
    )
    assert plain.subscriptions == ["a/v1/+/+/observations", "a/v1/+/+/alerts", "a/v1/+/+/state"]
    assert plain.client_id == "anxin-ingest-w1"
