"""The alert vocabulary and the rules that keep an alert storm from paging anyone twice."""

from __future__ import annotations

import pytest

from anxin.analytics.alerts import (
    VOCABULARY,
    AlertPolicy,
    Detection,
    Evidence,
    UnknownAlertKind,
    alert_kind,
)
from anxin.protocol import AlertMessage

MINUTE = 60_000


def seen(kind: str, at_ms: int, subject: str = "p1") -> Detection:
    return Detection(
        kind=kind,
        subject=subject,
        device_id="dev-1",
        ts_ms=at_ms,
        message=kind,
        evidence=Evidence(max(0, at_ms - 1_000), at_ms, {"value": 1.0}),
    )


def outcomes(policy: AlertPolicy, detections: list[Detection]) -> list[str]:
    return [policy.offer(d).outcome for d in detections]


def test_every_kind_has_a_severity_and_titles_in_both_languages() -> None:
    for name, kind in VOCABULARY.items():
        assert kind.name == name
        assert kind.severity in ("low", "medium", "high", "critical")
        assert kind.title_en and kind.title_zh


def test_the_issue_s_device_conditions_are_in_the_vocabulary() -> None:
    for name in ("battery_low", "not_worn", "no_data", "gateway_offline"):
        assert VOCABULARY[name].category == "device"


def test_an_unknown_kind_is_refused_by_name() -> None:
    with pytest.raises(UnknownAlertKind, match="unknown alert kind 'heart_attack'"):
        alert_kind("heart_attack")
    with pytest.raises(UnknownAlertKind):
        seen("heart_attack", 0)


def test_repeats_of_an_active_alert_fold_into_it_until_the_condition_ends() -> None:
    policy = AlertPolicy()
    assert outcomes(policy, [seen("spo2_low", t * MINUTE) for t in range(3)]) == [
        "raise",
        "folded",
        "folded",
    ]
    assert policy.ended("p1", "spo2_low")
    assert policy.offer(seen("spo2_low", 4 * MINUTE)).outcome == "raise"


def test_the_same_kind_for_another_person_is_its_own_alert() -> None:
    policy = AlertPolicy()
    assert policy.offer(seen("fall", 0, "p1")).raised
    assert policy.offer(seen("fall", 0, "p2")).raised


def test_an_event_without_an_end_pages_again_once_the_fold_time_has_passed() -> None:
    policy = AlertPolicy(fold_s=30 * 60)
    assert outcomes(
        policy, [seen("fall", 0), seen("fall", 29 * MINUTE), seen("fall", 60 * MINUTE)]
    ) == ["raise", "folded", "raise"]


def test_every_sos_press_is_sent_because_pressing_again_is_news() -> None:
    policy = AlertPolicy()
    assert outcomes(policy, [seen("sos", 0), seen("sos", MINUTE)]) == ["raise", "raise"]


def test_a_snoozed_kind_stays_quiet_until_the_snooze_ends() -> None:
    policy = AlertPolicy()
    policy.snooze("p1", "late_rising", until_ms=60 * MINUTE)
    assert policy.offer(seen("late_rising", 10 * MINUTE)).outcome == "snoozed"
    assert policy.offer(seen("inactivity", 10 * MINUTE)).raised  # another kind is not snoozed
    assert policy.offer(seen("late_rising", 61 * MINUTE)).raised


def test_snoozing_every_kind_never_silences_a_critical_alert() -> None:
    policy = AlertPolicy()
    policy.snooze("p1", None, until_ms=24 * 60 * MINUTE)
    assert policy.offer(seen("battery_low", MINUTE)).outcome == "snoozed"
    assert policy.offer(seen("fall", MINUTE)).raised
    assert policy.offer(seen("sos", MINUTE)).raised


def test_the_hourly_limit_holds_back_the_rest_but_never_a_critical_alert() -> None:
    policy = AlertPolicy(max_per_hour=2)
    kinds = ["battery_low", "not_worn", "no_data", "late_rising"]
    assert outcomes(policy, [seen(k, i * MINUTE) for i, k in enumerate(kinds)]) == [
        "raise",
        "raise",
        "rate_limited",
        "rate_limited",
    ]
    assert policy.offer(seen("sos", 5 * MINUTE)).raised
    # The hour rolls on: the first alert leaves the window and one more may page.
    assert policy.offer(seen("no_data", 61 * MINUTE)).raised
    assert policy.offer(seen("late_rising", 61 * MINUTE)).outcome == "rate_limited"


def test_evidence_fits_the_alert_message_schema() -> None:
    detection = seen("heart_rate_high", 5_000)
    message = AlertMessage(
        site_id="home-1",
        gateway_id="gw-1",
        seq=1,
        device_id="dev-1",
        kind=detection.kind,
        severity=detection.effective_severity,
        raised_at_ms=1_700_000_005_000,
        message=detection.message,
        evidence=detection.evidence.as_dict(),
    )
    assert message.evidence == {"window_start_ms": 4_000, "window_end_ms": 5_000, "value": 1.0}
