"""The default follow-up rules on simulated scenario data, on SQLite and PostgreSQL."""

from collections.abc import Iterator
from datetime import date, time, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from anxin.cloud.audit.chain import verify
from anxin.cloud.care import barthel, interventions
from anxin.cloud.care.follow_up_rules import RuleSet, load_rules
from anxin.cloud.care.follow_ups import close_follow_up, evaluate, iso
from anxin.cloud.database.models import (
    Alert,
    AuditEntry,
    ChronicRegistration,
    Consent,
    FollowUp,
    Intervention,
    Person,
)
from anxin.cloud.stores import Stores
from tests.support.care_data import (
    cuff_readings,
    heart_rate_readings,
    hypertensive_home,
    local_ms,
    normotensive_home,
    record_simulated_fall,
    wearable_home,
)
from tests.support.care_stores import care_stores

RULES = load_rules()
FIRST_DAY = date(2026, 11, 10)
NOW = local_ms(FIRST_DAY + timedelta(days=6), time(21, 0))
DAY_MS = 86_400_000


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.services)])
def stores(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Stores]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/care.sqlite"
    else:
        url = request.getfixturevalue("postgres_url")
    with care_stores(url) as stores:
        yield stores


def only(rule_id: str) -> RuleSet:
    rule = RULES.rule(rule_id)
    assert rule is not None
    return RuleSet(timezone=RULES.timezone, rules=(rule,))


def follow_ups(stores: Stores) -> list[FollowUp]:
    with stores.registry.session() as session:
        return list(session.scalars(select(FollowUp).order_by(FollowUp.id)))


def task_of(stores: Stores, follow_up_id: int) -> Intervention:
    with stores.registry.session() as session:
        return session.scalars(
            select(Intervention).where(Intervention.follow_up_id == follow_up_id)
        ).one()


def add(stores: Stores, *rows: object) -> None:
    stores.registry.add_all(rows)  # type: ignore[arg-type]


# --- repeated high blood pressure -------------------------------------------------------------


def test_hypertensive_week_asks_for_outpatient_cover(stores: Stores) -> None:
    stores.timeseries.write(cuff_readings(hypertensive_home(), "p0001", FIRST_DAY, 7))
    stores.timeseries.write(
        cuff_readings(normotensive_home(), "p0002", FIRST_DAY, 7, gateway_id="gw-2")
    )
    raised = evaluate(stores.registry, stores.timeseries, RULES, NOW)
    [follow_up] = follow_ups(stores)
    assert raised == [follow_up.id]
    assert (follow_up.person_id, follow_up.rule_id) == ("p0001", "hypertension_outpatient")
    assert follow_up.action == "chronic_outpatient_application"
    finding = follow_up.evidence["when"][0]
    assert len(finding["high_days"]) >= 3
    high = finding["high_readings"][0]
    assert high["systolic_bp"] >= 140 or high["diastolic_bp"] >= 90
    assert follow_up.evidence["unless"][0]["holds"] is False
    assert "门诊慢特病" in follow_up.explanation and "outpatient" in follow_up.explanation
    task = task_of(stores, follow_up.id)
    assert (task.kind, task.status, task.assigned_to) == (
        "chronic_outpatient_application",
        "open",
        "worker",
    )
    assert task.due_at_ms == NOW + 14 * DAY_MS
    with stores.registry.session() as session:
        actions = set(session.scalars(select(AuditEntry.action)))
        assert {"follow_up.raise", "intervention.create"} <= actions
        assert verify(session).intact


def test_no_follow_up_with_a_hypertension_registration(stores: Stores) -> None:
    stores.timeseries.write(cuff_readings(hypertensive_home(), "p0001", FIRST_DAY, 7))
    add(
        stores,
        ChronicRegistration(
            person_id="p0001", condition="hypertension", registered_on=date(2025, 3, 1)
        ),
    )
    assert evaluate(stores.registry, stores.timeseries, only("hypertension_outpatient"), NOW) == []
    # An expired registration no longer counts.
    with stores.registry.session() as session, session.begin():
        registration = session.scalars(select(ChronicRegistration)).one()
        registration.valid_until = FIRST_DAY
    assert len(evaluate(stores.registry, stores.timeseries, RULES, NOW)) == 1


def test_no_refire_while_open_and_again_after_closing(stores: Stores) -> None:
    stores.timeseries.write(cuff_readings(hypertensive_home(), "p0001", FIRST_DAY, 7))
    rules = only("hypertension_outpatient")
    [first] = evaluate(stores.registry, stores.timeseries, rules, NOW)
    assert evaluate(stores.registry, stores.timeseries, rules, NOW + 3_600_000) == []
    with stores.registry.session() as session, session.begin():
        interventions.start(session, task_of(stores, first).id, actor="worker", at_ms=NOW)
        interventions.complete(
            session, task_of(stores, first).id, "application filed", actor="worker", at_ms=NOW
        )
    assert follow_ups(stores)[0].status == "done"  # closed with its task
    assert len(evaluate(stores.registry, stores.timeseries, rules, NOW + 7_200_000)) == 1


# --- falls and the Barthel Index -----------------------------------------------------------


def test_two_simulated_falls_in_90_days_ask_for_ltc_assessment(stores: Stores) -> None:
    first = record_simulated_fall(stores.registry, "p0001", NOW - 60 * DAY_MS, seq=1)
    # The first fall was dealt with before the second came.
    with stores.registry.session() as session, session.begin():
        session.scalars(select(Alert)).one().status = "resolved"
    assert evaluate(stores.registry, stores.timeseries, only("ltc_assessment"), NOW) == []
    second = record_simulated_fall(stores.registry, "p0001", NOW - 2 * DAY_MS, seq=2, seed=1)
    [follow_up_id] = evaluate(stores.registry, stores.timeseries, only("ltc_assessment"), NOW)
    [follow_up] = follow_ups(stores)
    found = follow_up.evidence["when"][0]["conditions"][0]
    assert found["holds"] is True and found["count"] == 2
    assert [a["raised_at"] for a in found["alerts"]] == [
        iso(first.raised_at_ms),
        iso(second.raised_at_ms),
    ]
    assert task_of(stores, follow_up_id).kind == "ltc_assessment_referral"
    assert "跌倒" in follow_up.explanation


def test_dismissed_and_old_falls_do_not_count(stores: Stores) -> None:
    record_simulated_fall(stores.registry, "p0001", NOW - 120 * DAY_MS, seq=1)
    with stores.registry.session() as session, session.begin():
        session.scalars(select(Alert)).one().status = "resolved"
    record_simulated_fall(stores.registry, "p0001", NOW - DAY_MS, seq=2, seed=1)
    with stores.registry.session() as session, session.begin():
        alert = session.scalars(select(Alert).where(Alert.seq == 2)).one()
        alert.status = "dismissed"
    assert evaluate(stores.registry, stores.timeseries, only("ltc_assessment"), NOW) == []


@pytest.mark.parametrize(("total_items", "fires"), [(40, True), (45, False)])
def test_a_low_barthel_total_asks_for_ltc_assessment(
    stores: Stores, total_items: int, fires: bool
) -> None:
    items = {name: 0 for name in barthel.ITEMS} | {"feeding": 10, "bowels": 10, "bladder": 10}
    items["transfers"] = total_items - 30
    with stores.registry.session() as session, session.begin():
        barthel.record_assessment(
            session,
            person_id="p0002",
            assessed_on=FIRST_DAY,
            assessed_by="worker",
            items=items,
            actor="worker",
            at_ms=NOW,
        )
    raised = evaluate(stores.registry, stores.timeseries, only("ltc_assessment"), NOW)
    assert bool(raised) is fires
    if fires:
        evidence = follow_ups(stores)[0].evidence["when"][0]["conditions"][1]
        assert evidence["total"] == 40 and evidence["band"] == "severe"


# --- the wearable that stops -----------------------------------------------------------------


def test_a_wearable_off_for_two_days_asks_for_a_visit(stores: Stores) -> None:
    start = NOW - 3 * DAY_MS
    # Worn for a day (with a two-hour break), then left off.
    stores.timeseries.write(
        heart_rate_readings(wearable_home(("14:00", "16:00")), "p0001", start, 24)
    )
    # The other person wears theirs to this day.
    stores.timeseries.write(
        heart_rate_readings(wearable_home(), "p0002", start, 72, gateway_id="gw-2")
    )
    rules = only("wearable_not_worn")
    assert (
        evaluate(stores.registry, stores.timeseries, rules, start + 24 * 3_600_000 + 47 * 3_600_000)
        == []
    )
    [follow_up_id] = evaluate(stores.registry, stores.timeseries, rules, NOW)
    [follow_up] = follow_ups(stores)
    assert follow_up.person_id == "p0001"
    finding = follow_up.evidence["when"][0]
    assert finding["silent_hours"] >= 48 and "hr-1" in finding["devices"]
    assert task_of(stores, follow_up_id).kind == "wellness_visit"


# --- pension certification and the consent gate ----------------------------------------------


def _pension_due(stores: Stores, days_ahead: int) -> None:
    with stores.registry.session() as session, session.begin():
        session.get(Person, "p0001").pension_certification_due = FIRST_DAY + timedelta(
            days=6 + days_ahead
        )


def _consent(stores: Stores, **changes: object) -> None:
    add(
        stores,
        Consent(
            person_id="p0001",
            data_scope="wear_record",
            grantee="pension_office",
            purpose="pension eligibility",
            granted_at_ms=NOW - 40 * DAY_MS,
            recorded_by="worker",
            **changes,
        ),
    )


def test_pension_reminder_attaches_the_wear_record_with_consent(stores: Stores) -> None:
    _pension_due(stores, 20)
    _consent(stores)
    start = local_ms(FIRST_DAY + timedelta(days=4), time(0, 0))
    stores.timeseries.write(
        heart_rate_readings(wearable_home(("14:00", "16:00")), "p0001", start, 48)
    )
    [follow_up_id] = evaluate(
        stores.registry, stores.timeseries, only("pension_certification"), NOW
    )
    [follow_up] = follow_ups(stores)
    record = follow_up.evidence["attachments"]["wear_record"]
    assert record["withheld"] is False and len(record["days"]) == 30
    worn = {d["date"]: d["worn_hours"] for d in record["days"]}
    assert worn[(FIRST_DAY + timedelta(days=4)).isoformat()] == 22  # off 14:00-16:00
    assert worn[(FIRST_DAY + timedelta(days=5)).isoformat()] == 24
    assert worn[(FIRST_DAY + timedelta(days=3)).isoformat()] == 0
    assert follow_up.evidence["when"][0]["days_left"] == 20
    assert task_of(stores, follow_up_id).kind == "pension_certification_reminder"


@pytest.mark.parametrize(
    "consent",
    [None, {"revoked_at_ms": NOW - DAY_MS}, {"valid_until": FIRST_DAY}, {"grantee": "insurer"}],
)
def test_without_consent_the_wear_record_is_withheld(stores: Stores, consent: dict | None) -> None:
    _pension_due(stores, 10)
    if consent is not None:
        _consent(stores, **{k: v for k, v in consent.items() if k != "grantee"})
        if "grantee" in consent:
            with stores.registry.session() as session, session.begin():
                session.scalars(select(Consent)).one().grantee = consent["grantee"]
    stores.timeseries.write(heart_rate_readings(wearable_home(), "p0001", NOW - DAY_MS, 20))
    assert (
        len(evaluate(stores.registry, stores.timeseries, only("pension_certification"), NOW)) == 1
    )
    [follow_up] = follow_ups(stores)
    record = follow_up.evidence["attachments"]["wear_record"]
    assert record == {
        "withheld": True,
        "reason": "no current consent with data_scope 'wear_record' for grantee 'pension_office'",
    }
    assert "佩戴记录未附" in follow_up.explanation and "withheld" in follow_up.explanation


def test_no_reminder_when_certification_is_far_off(stores: Stores) -> None:
    _pension_due(stores, 45)
    assert evaluate(stores.registry, stores.timeseries, only("pension_certification"), NOW) == []


def test_closing_by_hand_is_audited(stores: Stores) -> None:
    _pension_due(stores, 5)
    [follow_up_id] = evaluate(stores.registry, stores.timeseries, RULES, NOW)
    with stores.registry.session() as session, session.begin():
        close_follow_up(session, follow_up_id, "dismissed", "moved away", actor="admin", at_ms=NOW)
    with stores.registry.session() as session:
        entry = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "follow_up.close")
        ).one()
        assert (entry.actor, entry.target) == ("admin", f"follow-ups/{follow_up_id}")
    task = task_of(stores, follow_up_id)
    assert (task.status, task.outcome) == ("cancelled", "follow-up dismissed: moved away")
