"""The follow-up engine: runs the rules over every person and raises what they find.

Each firing stores a FollowUp (the evidence it saw, and why, in Chinese and English) and
an Intervention of the rule's action for the person's community worker, audited in one
transaction. A rule does not fire again for a person while their follow-up is open.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from anxin.analytics.alerts import VOCABULARY
from anxin.cloud.audit.chain import record
from anxin.cloud.care import barthel
from anxin.cloud.care.follow_up_rules import (
    AlertCount,
    AnyOf,
    ChronicRegistration,
    Condition,
    DateDue,
    LatestBarthel,
    NotWorn,
    ReadingsAbove,
    Rule,
    RuleSet,
    WearRecord,
    load_rules,
)
from anxin.cloud.care.interventions import ACTIVE, NewIntervention, cancel, create_intervention
from anxin.cloud.database.models import Alert, AuditHead, Consent, FollowUp, Intervention, Person
from anxin.cloud.database.models import ChronicRegistration as Registration
from anxin.cloud.ingest.timeseries import SqlTimeSeries, TimeSeriesStore, observations
from anxin.cloud.registry.registry import Registry, now_ms
from anxin.config import FollowUpConfig

log = logging.getLogger(__name__)

ACTOR = "system:follow-up-rules"
HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS
MAX_LISTED = 50  # readings or alerts listed in one piece of evidence

NAMES_ZH = {
    "systolic_bp": "收缩压",
    "diastolic_bp": "舒张压",
    "heart_rate": "心率",
    "spo2": "血氧",
    "activity": "活动",
    "glucose": "血糖",
    "body_temperature": "体温",
    "body_weight": "体重",
    "pension_certification_due": "养老金领取资格认证日期",
    "family_doctor_contract_until": "家庭医生签约到期日",
    "hypertension": "高血压",
    "pension_office": "养老金经办机构",
    "insurer": "医保/长护险经办机构",
    "family": "家属",
    "community_worker": "社区健康工作者",
    "gp": "家庭医生",
    "diabetes": "糖尿病",
}
NAMES_EN = {
    "systolic_bp": "systolic",
    "diastolic_bp": "diastolic",
    "pension_certification_due": "pension eligibility certification",
    "family_doctor_contract_until": "family-doctor contract end",
}


def _zh(name: str) -> str:
    kind = VOCABULARY.get(name)
    return kind.title_zh if kind else NAMES_ZH.get(name, name)


def _en(name: str) -> str:
    return NAMES_EN.get(name, name.replace("_", " "))


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat(timespec="seconds")


@dataclass
class Finding:
    """Whether one condition holds for one person, why, and what it saw."""

    holds: bool
    zh: str
    en: str
    evidence: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"holds": self.holds, "zh": self.zh, "en": self.en, **self.evidence}


@dataclass
class Subject:
    """One person under evaluation and what the checks read."""

    session: Session
    registry: Registry
    timeseries: TimeSeriesStore
    person: Person
    now_ms: int
    zone: ZoneInfo

    @property
    def today(self) -> date:
        return datetime.fromtimestamp(self.now_ms / 1000, tz=self.zone).date()

    def local_day(self, ms: int) -> date:
        return datetime.fromtimestamp(ms / 1000, tz=self.zone).date()

    def local_time(self, ms: int) -> str:
        return datetime.fromtimestamp(ms / 1000, tz=self.zone).strftime("%Y-%m-%d %H:%M")


# --- conditions --------------------------------------------------------------------------


def check(condition: Condition, subject: Subject) -> Finding:
    match condition:
        case ReadingsAbove():
            return _readings_above(condition, subject)
        case AlertCount():
            return _alert_count(condition, subject)
        case LatestBarthel():
            return _latest_barthel(condition, subject)
        case NotWorn():
            return _not_worn(condition, subject)
        case DateDue():
            return _date_due(condition, subject)
        case ChronicRegistration():
            return _chronic_registration(condition, subject)
        case AnyOf():
            return _any_of(condition, subject)
    raise TypeError(f"unknown condition {condition!r}")


def _readings_above(condition: ReadingsAbove, subject: Subject) -> Finding:
    since = subject.now_ms - condition.days * DAY_MS
    by_time: dict[int, dict[str, float]] = {}
    for kind in condition.limits:
        for row in subject.timeseries.query(subject.person.id, kind, since):
            by_time.setdefault(row.ts_ms, {})[kind] = row.value
    high = [
        (ts, values)
        for ts, values in sorted(by_time.items())
        if any(values.get(kind, float("-inf")) >= limit for kind, limit in condition.limits.items())
    ]
    days = sorted({subject.local_day(ts) for ts, _ in high})
    limits_zh = "或".join(f"{_zh(k)}≥{v:g}" for k, v in condition.limits.items())
    limits_en = " or ".join(f"{_en(k)} ≥ {v:g}" for k, v in condition.limits.items())
    return Finding(
        len(days) >= condition.min_days,
        f"近{condition.days}天内有{len(days)}天出现{limits_zh}的读数（需至少{condition.min_days}天），"
        f"共{len(high)}次偏高",
        f"{len(high)} readings with {limits_en} on {len(days)} days of the last "
        f"{condition.days} (needs {condition.min_days} days)",
        {
            "condition": "readings_above",
            "limits": dict(condition.limits),
            "window_days": condition.days,
            "high_days": [d.isoformat() for d in days],
            "readings_checked": len(by_time),
            "high_readings": [
                {"at": iso(ts), "ts_ms": ts, "date": subject.local_day(ts).isoformat(), **values}
                for ts, values in high[-MAX_LISTED:]
            ],
        },
    )


def _alert_count(condition: AlertCount, subject: Subject) -> Finding:
    since = subject.now_ms - condition.days * DAY_MS
    alerts = list(
        subject.session.scalars(
            select(Alert)
            .where(
                Alert.person_id == subject.person.id,
                Alert.kind.in_(condition.kinds),
                Alert.status != "dismissed",
                or_(Alert.raised_at_ms >= since, Alert.last_raised_at_ms >= since),
            )
            .order_by(Alert.raised_at_ms)
        )
    )
    # An alert raised before the window whose repeats reach into it counts once.
    count = sum(a.occurrences if a.raised_at_ms >= since else 1 for a in alerts)
    kinds_zh = "、".join(_zh(k) for k in condition.kinds)
    return Finding(
        count >= condition.at_least,
        f"近{condition.days}天内{kinds_zh}告警{count}次（阈值≥{condition.at_least}次）",
        f"{count} {'/'.join(condition.kinds)} alerts in the last {condition.days} days "
        f"(threshold ≥ {condition.at_least})",
        {
            "condition": "alert_count",
            "kinds": list(condition.kinds),
            "window_days": condition.days,
            "count": count,
            "alerts": [
                {
                    "id": a.id,
                    "kind": a.kind,
                    "status": a.status,
                    "raised_at": iso(a.raised_at_ms),
                    "last_raised_at": iso(a.last_raised_at_ms),
                    "occurrences": a.occurrences,
                }
                for a in alerts[-MAX_LISTED:]
            ],
        },
    )


def _latest_barthel(condition: LatestBarthel, subject: Subject) -> Finding:
    latest = barthel.latest_assessment(subject.session, subject.person.id)
    too_old = (
        latest is not None
        and condition.within_days is not None
        and (subject.today - latest.assessed_on).days > condition.within_days
    )
    if latest is None or too_old:
        return Finding(
            False,
            "无近期巴氏指数（Barthel）评估",
            "no recent Barthel Index assessment",
            {"condition": "latest_barthel", "assessment_id": latest.id if latest else None},
        )
    band = barthel.band_of(latest.total)
    return Finding(
        latest.total <= condition.at_most,
        f"最近一次巴氏指数 {latest.total} 分（{latest.assessed_on.isoformat()}，{band.label_zh}；"
        f"阈值≤{condition.at_most}）",
        f"latest Barthel Index {latest.total} on {latest.assessed_on.isoformat()} "
        f"({band.label_en}; threshold ≤ {condition.at_most})",
        {
            "condition": "latest_barthel",
            "assessment_id": latest.id,
            "assessed_on": latest.assessed_on.isoformat(),
            "total": latest.total,
            "band": band.name,
        },
    )


def _not_worn(condition: NotWorn, subject: Subject) -> Finding:
    wearables = [
        d.id
        for d in subject.registry.devices_of_person(subject.person.id, subject.now_ms)
        if d.kind in condition.device_kinds
    ]
    base = {"condition": "not_worn", "hours": condition.hours, "devices": wearables}
    if not wearables:
        return Finding(False, "未绑定可穿戴设备", "no wearable bound", base)
    quiet_since = subject.now_ms - int(condition.hours * HOUR_MS)
    lookback = subject.now_ms - condition.seen_within_days * DAY_MS
    last: int | None = None
    for kind in condition.observations:
        rows = subject.timeseries.query(subject.person.id, kind, lookback, limit=1)
        if rows:
            last = max(last or 0, rows[-1].ts_ms)
    evidence = base | {"last_worn_at": iso(last) if last else None, "last_worn_ms": last}
    if last is None:
        return Finding(
            False,
            f"近{condition.seen_within_days}天从未佩戴（属安装问题）",
            f"never worn in the last {condition.seen_within_days} days (an installation matter)",
            evidence,
        )
    hours = (subject.now_ms - last) / HOUR_MS
    seen = subject.local_time(last)
    return Finding(
        last < quiet_since,
        f"可穿戴设备已{hours:.0f}小时无佩戴数据（最后一次 {seen}；阈值{condition.hours:g}小时）",
        f"wearable silent for {hours:.0f} h (last worn {seen}; threshold {condition.hours:g} h)",
        evidence | {"silent_hours": round(hours, 1)},
    )


def _date_due(condition: DateDue, subject: Subject) -> Finding:
    due: date | None = getattr(subject.person, condition.field)
    base = {"condition": "date_due", "field": condition.field}
    if due is None:
        return Finding(
            False,
            f"未登记{_zh(condition.field)}",
            f"no {_en(condition.field)} date recorded",
            base | {"date": None},
        )
    left = (due - subject.today).days
    when_zh = f"还有{left}天" if left >= 0 else f"已逾期{-left}天"
    when_en = f"in {left} days" if left >= 0 else f"{-left} days overdue"
    return Finding(
        left <= condition.within_days,
        f"{_zh(condition.field)}为{due.isoformat()}（{when_zh}；提前{condition.within_days}天提醒）",
        f"{_en(condition.field)} due {due.isoformat()} ({when_en}; "
        f"reminder {condition.within_days} days ahead)",
        base | {"date": due.isoformat(), "days_left": left},
    )


def _chronic_registration(condition: ChronicRegistration, subject: Subject) -> Finding:
    today = subject.today
    found = subject.session.scalars(
        select(Registration).where(
            Registration.person_id == subject.person.id,
            Registration.condition == condition.condition,
            Registration.registered_on <= today,
            or_(Registration.valid_until.is_(None), Registration.valid_until >= today),
        )
    ).first()
    name_zh = _zh(condition.condition)
    base = {"condition": "chronic_registration", "disease": condition.condition}
    if found is None:
        return Finding(
            False,
            f"无有效的{name_zh}门诊慢特病登记",
            f"no current chronic-disease outpatient registration for {condition.condition}",
            base | {"registration_id": None},
        )
    return Finding(
        True,
        f"已有{name_zh}门诊慢特病登记（{found.registered_on.isoformat()}起）",
        f"registered for {condition.condition} outpatient cover since "
        f"{found.registered_on.isoformat()}",
        base | {"registration_id": found.id, "registered_on": found.registered_on.isoformat()},
    )


def _any_of(condition: AnyOf, subject: Subject) -> Finding:
    findings = [check(c, subject) for c in condition.conditions]
    holding = [f for f in findings if f.holds] or findings
    return Finding(
        any(f.holds for f in findings),
        "；或".join(f.zh for f in holding),
        "; or ".join(f.en for f in holding),
        {"condition": "any_of", "conditions": [f.as_dict() for f in findings]},
    )


# --- evidence attachments -------------------------------------------------------------------


def has_consent(session: Session, person_id: str, scope: str, grantee: str, at_ms: int) -> bool:
    today = datetime.fromtimestamp(at_ms / 1000, tz=UTC).date()
    return (
        session.scalars(
            select(Consent.id).where(
                Consent.person_id == person_id,
                Consent.data_scope == scope,
                Consent.grantee == grantee,
                Consent.granted_at_ms <= at_ms,
                Consent.revoked_at_ms.is_(None),
                or_(Consent.valid_until.is_(None), Consent.valid_until >= today),
            )
        ).first()
        is not None
    )


def worn_hours(
    timeseries: TimeSeriesStore, person_id: str, kinds: tuple[str, ...], since: int, until: int
) -> set[int]:
    """Start times (ms) of the hours in [since, until) with any reading of ``kinds``."""
    if isinstance(timeseries, SqlTimeSeries):
        # One grouped query instead of one per hour: a month of 1 Hz data is millions of rows.
        hour = (observations.c.ts_ms // HOUR_MS).label("hour")
        statement = (
            select(hour)
            .where(
                observations.c.person_id == person_id,
                observations.c.type.in_(kinds),
                observations.c.ts_ms >= since,
                observations.c.ts_ms < until,
            )
            .distinct()
        )
        with timeseries.engine.connect() as connection:
            return {int(h) * HOUR_MS for h in connection.scalars(statement)}
    found: set[int] = set()
    start = since - since % HOUR_MS
    for hour_start in range(start, until, HOUR_MS):
        for kind in kinds:
            if timeseries.query(person_id, kind, hour_start, hour_start + HOUR_MS, limit=1):
                found.add(hour_start)
                break
    return found


def _wear_record(spec: WearRecord, subject: Subject) -> tuple[dict[str, Any], str, str]:
    person_id = subject.person.id
    if not has_consent(subject.session, person_id, "wear_record", spec.grantee, subject.now_ms):
        return (
            {
                "withheld": True,
                "reason": f"no current consent with data_scope 'wear_record' for grantee "
                f"'{spec.grantee}'",
            },
            f"佩戴记录未附：本人未同意向{_zh(spec.grantee)}提供佩戴记录",
            f"Wear record withheld: no consent to share it with {spec.grantee}",
        )
    first_day = subject.today - timedelta(days=spec.days - 1)
    since = int(datetime.combine(first_day, datetime.min.time(), subject.zone).timestamp() * 1000)
    hours = worn_hours(subject.timeseries, person_id, spec.observations, since, subject.now_ms)
    per_day = {first_day + timedelta(days=i): 0 for i in range(spec.days)}
    for start in hours:
        day = subject.local_day(start)
        if day in per_day:
            per_day[day] += 1
    worn_days = sum(1 for n in per_day.values() if n)
    return (
        {
            "withheld": False,
            "grantee": spec.grantee,
            "days": [{"date": d.isoformat(), "worn_hours": n} for d, n in per_day.items()],
            "worn_days": worn_days,
        },
        f"附近{spec.days}天佩戴记录：{worn_days}天有佩戴",
        f"Wear record of the last {spec.days} days attached: worn on {worn_days} days",
    )


# --- the engine -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """What one rule concluded for one person (fired or not), for explanation."""

    fired: bool
    zh: str
    en: str
    evidence: dict[str, Any]


def explain(rule: Rule, subject: Subject) -> Outcome:
    """Run ``rule`` for the subject: does it fire, and why (or why not)."""
    when = [check(c, subject) for c in rule.when]
    if not all(f.holds for f in when):
        return Outcome(
            False,
            "；".join(f.zh for f in when),
            "; ".join(f.en for f in when),
            {"when": [f.as_dict() for f in when]},
        )
    unless = [check(c, subject) for c in rule.unless]
    zh = [f"{rule.title_zh}：" + "；".join(f.zh for f in when)]
    en = [f"{rule.title_en}: " + "; ".join(f.en for f in when)]
    if unless:
        zh[0] += "；且" + "；".join(f.zh for f in unless)
        en[0] += "; and " + "; ".join(f.en for f in unless)
    evidence: dict[str, Any] = {
        "rule": rule.id,
        "when": [f.as_dict() for f in when],
        "unless": [f.as_dict() for f in unless],
        "attachments": {},
    }
    if any(f.holds for f in unless):
        return Outcome(False, "。".join(zh), ". ".join(en), evidence)
    for spec in rule.evidence:
        attachment, note_zh, note_en = _wear_record(spec, subject)
        evidence["attachments"][spec.type] = attachment
        zh.append(note_zh)
        en.append(note_en)
    text_zh, text_en = "。".join(zh) + "。", ". ".join(en) + "."
    evidence["explanation"] = {"zh": text_zh, "en": text_en}
    return Outcome(True, text_zh, text_en, evidence)


def open_follow_up(session: Session, person_id: str, rule_id: str) -> FollowUp | None:
    return session.scalars(
        select(FollowUp).where(
            FollowUp.person_id == person_id,
            FollowUp.rule_id == rule_id,
            FollowUp.status == "open",
        )
    ).first()


def _raise(registry: Registry, rule: Rule, person: Person, outcome: Outcome, at_ms: int) -> int:
    with registry.session() as session, session.begin():
        # Take the audit chain's row lock first: it serialises writers, so of two engines
        # racing for the same person and rule only the first raises (the other sees it).
        session.scalars(select(AuditHead).where(AuditHead.id == 1).with_for_update()).first()
        if open_follow_up(session, person.id, rule.id) is not None:
            return 0
        follow_up = FollowUp(
            person_id=person.id,
            rule_id=rule.id,
            action=rule.action,
            explanation=f"{outcome.zh}\n{outcome.en}",
            evidence=outcome.evidence,
            status="open",
            created_at_ms=at_ms,
        )
        session.add(follow_up)
        session.flush()
        record(
            session,
            ACTOR,
            "follow_up.raise",
            f"follow-ups/{follow_up.id}",
            person.id,
            {"rule": rule.id, "action": rule.action},
        )
        create_intervention(
            session,
            NewIntervention(
                person_id=person.id,
                kind=rule.action,
                due_at_ms=at_ms + int(rule.due_days * DAY_MS),
                follow_up_id=follow_up.id,
                notes=outcome.zh,
            ),
            actor=ACTOR,
            at_ms=at_ms,
        )
        return follow_up.id


def evaluate(
    registry: Registry,
    timeseries: TimeSeriesStore,
    rules: RuleSet,
    now_ms: int,
    person_ids: list[str] | None = None,
) -> list[int]:
    """Run every enabled rule for every person (or ``person_ids``); the ids of the new
    follow-ups."""
    zone = ZoneInfo(rules.timezone)
    raised: list[int] = []
    with registry.session() as session:
        query = select(Person).order_by(Person.id)
        if person_ids is not None:
            query = query.where(Person.id.in_(person_ids))
        persons = list(session.scalars(query))
    for person in persons:
        with registry.session() as session:
            subject = Subject(session, registry, timeseries, person, now_ms, zone)
            for rule in rules.rules:
                if not rule.enabled or open_follow_up(session, person.id, rule.id) is not None:
                    continue
                try:
                    outcome = explain(rule, subject)
                    follow_up_id = (
                        _raise(registry, rule, person, outcome, now_ms) if outcome.fired else 0
                    )
                except Exception:
                    # One person's bad data must not keep the rules from everyone else.
                    log.exception("follow-up rule %s failed for %s", rule.id, person.id)
                    continue
                if follow_up_id:
                    raised.append(follow_up_id)
                    log.info("follow-up %s: %s for %s", follow_up_id, rule.id, person.id)
    return raised


def close_follow_up(
    session: Session, follow_up_id: int, status: str, note: str, *, actor: str, at_ms: int
) -> FollowUp:
    """Close by hand: ``done`` (acted on) or ``dismissed`` (not needed, with the reason)."""
    follow_up = session.get(FollowUp, follow_up_id)
    if follow_up is None:
        raise LookupError(f"no follow-up {follow_up_id}")
    if follow_up.status != "open":
        raise ValueError(f"follow-up {follow_up_id} is already {follow_up.status}")
    follow_up.status = status
    follow_up.closed_at_ms = at_ms
    record(
        session,
        actor,
        "follow_up.close",
        f"follow-ups/{follow_up.id}",
        follow_up.person_id,
        {"status": status, "note": note},
    )
    if status == "dismissed":
        # Nothing left to do for a dismissed follow-up: its open tasks end with it.
        tasks = session.scalars(
            select(Intervention).where(
                Intervention.follow_up_id == follow_up.id, Intervention.status.in_(ACTIVE)
            )
        )
        for task in list(tasks):
            cancel(
                session, task.id, f"follow-up dismissed: {note or '-'}", actor=actor, at_ms=at_ms
            )
    return follow_up


def follow_up_json(follow_up: FollowUp) -> dict[str, Any]:
    explanation = (follow_up.evidence or {}).get("explanation") or {}
    zh, _, en = follow_up.explanation.partition("\n")
    return {
        "id": follow_up.id,
        "person_id": follow_up.person_id,
        "rule_id": follow_up.rule_id,
        "action": follow_up.action,
        "status": follow_up.status,
        "explanation_zh": explanation.get("zh", zh),
        "explanation_en": explanation.get("en", en),
        "evidence": follow_up.evidence,
        "created_at_ms": follow_up.created_at_ms,
        "closed_at_ms": follow_up.closed_at_ms,
    }


# --- running periodically -------------------------------------------------------------------


async def run_periodically(
    registry: Registry,
    timeseries: TimeSeriesStore,
    rules: RuleSet,
    interval_s: float,
    clock: Callable[[], int] = now_ms,
) -> None:
    """Evaluate now and then every ``interval_s``; a failed round is logged, not fatal."""
    while True:
        try:
            await asyncio.to_thread(evaluate, registry, timeseries, rules, clock())
        except Exception:
            log.exception("follow-up rules: evaluation failed; trying again next round")
        await asyncio.sleep(interval_s)


def api_background(
    registry: Registry, timeseries: TimeSeriesStore, config: FollowUpConfig
) -> Callable[[web.Application], AsyncIterator[None]]:
    """An aiohttp cleanup context running the rules while the API runs."""
    rules = load_rules(config.rules_file)  # a broken file stops the start, naming the rule

    async def background(_app: web.Application) -> AsyncIterator[None]:
        task = None
        if config.enabled:
            task = asyncio.create_task(
                run_periodically(registry, timeseries, rules, config.interval_s),
                name="follow-up-rules",
            )
        yield
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    return background
