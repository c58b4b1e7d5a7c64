import json
import time

import pytest
from pydantic import ValidationError

from anxin.protocol import (
    UNITS,
    AlertMessage,
    Command,
    CommandResult,
    GatewayState,
    Observation,
    ObservationBatch,
    TopicError,
    encode,
    parse_topic,
    topic,
)

NOW_MS = int(time.time() * 1000)


def observation(**changes: object) -> dict[str, object]:
    base: dict[str, object] = {
        "seq": 1,
        "device_id": "hr-1",
        "type": "heart_rate",
        "value": 72,
        "unit": "/min",
        "ts_ms": NOW_MS,
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


DAY_MS = 86_400_000


@pytest.mark.parametrize(
    ("changes", "field", "complaint"),
    [
        ({"seq": 2**70}, "seq", "less than or equal to 9223372036854775807"),
        ({"seq": 2**63}, "seq", "less than or equal to 9223372036854775807"),
        ({"ts_ms": 1_000}, "ts_ms", "before 2000-01-01"),
        ({"ts_ms": -(2**70)}, "ts_ms", "before 2000-01-01"),
        ({"ts_ms": NOW_MS + 2 * DAY_MS}, "ts_ms", "more than a day ahead"),
        ({"ts_ms": 2**70}, "ts_ms", "more than a day ahead"),
        ({"device_ts_ms": 2**70}, "device_ts_ms", "not between 1970 and a year from now"),
        ({"device_ts_ms": -1}, "device_ts_ms", "not between 1970 and a year from now"),
        ({"value": 301}, "payload", "value 301.0 for heart_rate is outside 0..300 /min"),
        ({"value": -1}, "payload", "outside 0..300 /min"),
        ({"value": 1e308}, "payload", "outside 0..300 /min"),
        ({"type": "spo2", "unit": "%", "value": 100.5}, "payload", "outside 0..100 %"),
        ({"type": "battery", "unit": "%", "value": 101}, "payload", "outside 0..100 %"),
        ({"type": "body_temperature", "unit": "Cel", "value": 80}, "payload", "outside 20..45"),
        ({"type": "motion", "unit": "1", "value": 2}, "payload", "outside 0..1 1"),
        ({"unit": "x" * 17}, "unit", "at most 16 characters"),
    ],
)
def test_every_number_on_the_wire_is_bounded_and_the_error_names_the_field(
    changes: dict[str, object], field: str, complaint: str
) -> None:
    with pytest.raises(ValidationError) as raised:
        Observation.model_validate_json(json.dumps(observation(**changes)))
    errors = raised.value.errors()
    where = ".".join(str(p) for p in errors[0]["loc"]) or "payload"
    assert where == field
    assert complaint in errors[0]["msg"]


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        ("heart_rate", 0),
        ("heart_rate", 300),
        ("rr_interval", 0.35),
        ("spo2", 100),
        ("systolic_bp", 250),
        ("body_temperature", 42.1),
        ("body_weight", 180.5),
        ("glucose", 33.3),
        ("activity", 2.5),
        ("ambient_temperature", -20),
        ("humidity", 100),
        ("battery", 0),
        ("door_open", 1),
    ],
)
def test_readings_at_the_edges_of_their_ranges_pass(kind: str, value: float) -> None:
    Observation(seq=2**63 - 1, device_id="d", type=kind, value=value, unit=UNITS[kind],
                ts_ms=NOW_MS - 30 * DAY_MS, device_ts_ms=946_684_800_000)  # fmt: skip


def alert(**changes: object) -> dict[str, object]:
    base: dict[str, object] = {
        "site_id": "h",
        "gateway_id": "g",
        "seq": 1,
        "device_id": "d",
        "kind": "heart_rate_high",
        "severity": "high",
        "raised_at_ms": NOW_MS,
        "message": "heart_rate above 120",
        "observation": "heart_rate",
        "value": 131,
        "threshold": 120,
        "evidence": {"window_start_ms": NOW_MS - 60_000, "mean": 131.5, "sustained": True},
    }
    return base | changes


@pytest.mark.parametrize(
    ("changes", "field", "complaint"),
    [
        ({"seq": 2**70}, "seq", "less than or equal to"),
        ({"raised_at_ms": 0}, "raised_at_ms", "before 2000-01-01"),
        ({"value": 1e300}, "value", "at most 1e+15"),
        ({"threshold": -1e16}, "threshold", "at most 1e+15"),
        ({"evidence": {"window_start_ms": 2**70}}, "evidence", "'window_start_ms' must be at most"),
        ({"evidence": {"note": "x" * 201}}, "evidence", "'note' is longer than 200"),
        ({"message": "x" * 501}, "message", "at most 500"),
    ],
)
def test_alert_numbers_and_texts_are_bounded(
    changes: dict[str, object], field: str, complaint: str
) -> None:
    with pytest.raises(ValidationError) as raised:
        AlertMessage.model_validate_json(json.dumps(alert(**changes)))
    errors = raised.value.errors()
    assert errors[0]["loc"] == (field,)
    assert complaint in errors[0]["msg"]


def test_an_alert_with_bounded_evidence_passes() -> None:
    assert AlertMessage.model_validate(alert()).evidence == {
        "window_start_ms": NOW_MS - 60_000,
        "mean": 131.5,
        "sustained": True,
    }
    # Non-finite numbers arrive as JSON's out-of-range literals, too.
    with pytest.raises(ValidationError, match="finite"):
        AlertMessage.model_validate_json(
            json.dumps(alert()).replace('"value": 131', '"value": 1e999')
        )


@pytest.mark.parametrize(
    ("model", "payload", "field"),
    [
        (
            GatewayState,
            {"site_id": "h", "gateway_id": "g", "online": True, "ts_ms": 2**70},
            "ts_ms",
        ),
        (
            GatewayState,
            {"site_id": "h", "gateway_id": "g", "online": True, "ts_ms": NOW_MS,
             "devices": {"hr-1": "x" * 33}},
            "devices.hr-1",
        ),
        (
            CommandResult,
            {"site_id": "h", "gateway_id": "g", "command_id": "c", "action": "snooze",
             "status": "done", "at_ms": -5},
            "at_ms",
        ),
    ],
)  # fmt: skip
def test_state_and_command_results_are_bounded(
    model: type[GatewayState] | type[CommandResult], payload: dict[str, object], field: str
) -> None:
    with pytest.raises(ValidationError) as raised:
        model.model_validate_json(json.dumps(payload))
    assert ".".join(str(p) for p in raised.value.errors()[0]["loc"]) == field


@pytest.mark.parametrize("field", ["issued_at_ms", "expires_at_ms"])
def test_a_commands_times_are_bounded_too(field: str) -> None:
    command = {"command_id": "c1", "action": "snooze", "issued_at_ms": 1, field: 2**70}
    with pytest.raises(ValidationError) as raised:
        Command.model_validate(command)
    assert raised.value.errors()[0]["loc"] == (field,)
