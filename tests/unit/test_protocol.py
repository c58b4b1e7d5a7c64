import json

import pytest
from pydantic import ValidationError

from anxin.protocol import (
    AlertMessage,
    Observation,
    ObservationBatch,
    TopicError,
    encode,
    parse_topic,
    topic,
)


def observation(**changes: object) -> dict[str, object]:
    base: dict[str, object] = {
        "seq": 1,
        "device_id": "hr-1",
        "type": "heart_rate",
        "value": 72,
        "unit": "/min",
        "ts_ms": 1,
    }
    return base | changes


def test_batch_round_trip_uses_schema_field() -> None:
    batch = ObservationBatch(
        site_id="home-1", gateway_id="gw-1", observations=[Observation(**observation())]
    )
    wire = json.loads(encode(batch))
    assert wire["schema"] == 1
    assert ObservationBatch.model_validate_json(encode(batch)) == batch


@pytest.mark.parametrize(
    ("changes", "complaint"),
    [
        ({"unit": "bpm"}, "unit for heart_rate must be '/min'"),
        ({"type": "blood_sugar"}, "type"),
        ({"value": float("nan")}, "finite"),
        ({"seq": -1}, "seq"),
        ({"extra": 1}, "extra"),
        ({"device_id": "bad id/with slash"}, "device_id"),
    ],
)
def test_bad_observations_are_rejected_with_the_field(
    changes: dict[str, object], complaint: str
) -> None:
    with pytest.raises(ValidationError) as raised:
        Observation.model_validate(observation(**changes))
    assert complaint in str(raised.value)


def test_schema_version_is_checked() -> None:
    payload = {"schema": 2, "site_id": "h", "gateway_id": "g", "observations": [observation()]}
    with pytest.raises(ValidationError, match="schema"):
        ObservationBatch.model_validate(payload)


def test_alert_severity_vocabulary() -> None:
    with pytest.raises(ValidationError, match="severity"):
        AlertMessage(
            site_id="h",
            gateway_id="g",
            seq=1,
            device_id="d",
            kind="heart_rate_high",
            severity="urgent",  # type: ignore[arg-type]
            raised_at_ms=1,
            observation="heart_rate",
            value=130,
            threshold=120,
            message="",
        )


def test_topics() -> None:
    assert topic("home-1", "gw-1", "alerts") == "anxin/v1/home-1/gw-1/alerts"
    assert parse_topic("anxin/v1/home-1/gw-1/observations") == ("home-1", "gw-1", "observations")
    for bad in (
        "anxin/v1/home-1/observations",
        "other/v1/a/b/alerts",
        "anxin/v1/a/b/c/alerts",
        "anxin/v1/a/b/x",
    ):
        with pytest.raises(TopicError, match="is not anxin/v1"):
            parse_topic(bad)
