"""The outbox worker: delivers due notifications, retries failures with backoff.

Several API processes may run it at once: each row is claimed with a conditional
UPDATE (still pending, same attempt count) that also pushes its next attempt a lease
into the future, so only one process sends it; a process that dies mid-send leaves a
row that becomes due again when the lease runs out (delivery is at least once; the
webhook's ``X-Anxin-Notification`` header lets receivers drop the rare duplicate).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import aiohttp
from sqlalchemy import select, update

from anxin.cloud.database.models import Alert, Notification, Person, User
from anxin.cloud.notify.channels import Delivery, post_webhook, send_email, webhook_session
from anxin.cloud.notify.messages import AlertFacts, Message, render
from anxin.cloud.notify.outbox import contact_point
from anxin.cloud.notify.preferences import quiet_until
from anxin.cloud.notify.sms import SmsError, SmsGateway, load_sms_gateway
from anxin.cloud.notify.webhook_target import Resolver, system_resolver
from anxin.cloud.registry.field_crypto import FieldCipher, FieldCryptoError
from anxin.cloud.registry.registry import Registry
from anxin.config import NotificationsConfig

log = logging.getLogger(__name__)
Clock = Callable[[], int]


def wall_clock_ms() -> int:
    return int(time.time() * 1000)


@dataclass(frozen=True)
class Job:
    """One claimed notification and everything needed to send it."""

    notification_id: int
    attempts: int
    channel: str
    recipient: str
    address: str | None
    language: str
    timezone: str
    quiet_start: str | None
    quiet_end: str | None
    level: int
    severity: str
    facts: AlertFacts | None


class Dispatcher:
    def __init__(
        self,
        registry: Registry,
        config: NotificationsConfig,
        cipher: FieldCipher | None = None,
        clock: Clock = wall_clock_ms,
        sms: SmsGateway | None = None,
        lease_s: float = 120.0,
        batch: int = 50,
        resolver: Resolver = system_resolver,
    ) -> None:
        self.registry = registry
        self.config = config
        self.cipher = cipher
        self.clock = clock
        self.sms = sms if sms is not None else load_sms_gateway(config.sms_gateway)
        self.lease_ms = int(lease_s * 1000)
        self.batch = batch
        self.resolver = resolver  # looks webhook hosts up; each answer is checked
        self._http: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = None

    async def run_once(self) -> list[tuple[int, str]]:
        """Deliver what is due now; (notification id, outcome) for each attempt made."""
        jobs = await asyncio.to_thread(self._claim_due, self.clock())
        deliveries = await asyncio.gather(*(self._deliver(job) for job in jobs))
        for job, delivery in zip(jobs, deliveries, strict=True):
            await asyncio.to_thread(self._finish, job, delivery, self.clock())
        return [(job.notification_id, d.outcome) for job, d in zip(jobs, deliveries, strict=True)]

    # --- claiming and recording ---------------------------------------------------

    def _claim_due(self, now: int) -> list[Job]:
        with self.registry.session() as session:
            due = session.execute(
                select(Notification.id, Notification.attempts, Notification.next_attempt_at_ms)
                .where(Notification.status == "pending", Notification.next_attempt_at_ms <= now)
                .order_by(Notification.next_attempt_at_ms, Notification.id)
                .limit(self.batch)
            ).all()
        jobs = []
        for notification_id, attempts, due_at in due:
            job = self._claim(notification_id, attempts, due_at, now)
            if job is not None:
                jobs.append(job)
        return jobs

    def _claim(self, notification_id: int, attempts: int, due_at: int, now: int) -> Job | None:
        with self.registry.session() as session, session.begin():
            claimed = session.execute(
                update(Notification)
                .where(
                    Notification.id == notification_id,
                    Notification.status == "pending",
                    Notification.attempts == attempts,
                    Notification.next_attempt_at_ms == due_at,
                )
                .values(attempts=attempts + 1, next_attempt_at_ms=now + self.lease_ms)
                .execution_options(synchronize_session=False)
            ).rowcount
            if claimed != 1:
                return None  # another process took it
            row = session.get(Notification, notification_id)
            user = session.get(User, row.recipient) if row is not None else None
            if row is None or user is None:
                return None
            alert = session.get(Alert, row.alert_id) if row.alert_id is not None else None
            person = session.get(Person, alert.person_id) if alert and alert.person_id else None
            facts = None
            if alert is not None:
                facts = AlertFacts(
                    alert_id=alert.id,
                    person_id=alert.person_id,
                    person_name=person.name if person else None,
                    person_name_latin=(person.name_latin or None) if person else None,
                    device_id=alert.device_id,
                    kind=alert.kind,
                    severity=alert.severity,
                    status=alert.status,
                    raised_at_ms=alert.raised_at_ms,
                    occurrences=alert.occurrences,
                    value=alert.value,
                    threshold=alert.threshold,
                )
            return Job(
                notification_id=row.id,
                attempts=attempts + 1,
                channel=row.channel,
                recipient=user.username,
                address=contact_point(user, row.channel),
                language=getattr(user, "language", None) or "zh",
                timezone=user.timezone,
                quiet_start=user.quiet_start,
                quiet_end=user.quiet_end,
                level=row.escalation_level,
                severity=row.severity,
                facts=facts,
            )

    def _finish(self, job: Job, delivery: Delivery, now: int) -> None:
        values: dict[str, object] = {"detail": delivery.detail[:2000]}
        if delivery.outcome in ("sent", "logged"):
            values |= {"status": delivery.outcome, "sent_at_ms": now}
        elif delivery.outcome == "failed" or job.attempts >= self.config.max_attempts:
            values |= {"status": "failed"}
            if delivery.outcome == "retry":
                values["detail"] = f"gave up after {job.attempts} attempts: {delivery.detail}"
        else:
            values["next_attempt_at_ms"] = self.retry_at(job, now)
        with self.registry.session() as session, session.begin():
            session.execute(
                update(Notification)
                .where(
                    Notification.id == job.notification_id,
                    Notification.status == "pending",
                    Notification.attempts == job.attempts,
                )
                .values(**values)
                .execution_options(synchronize_session=False)
            )
        if values.get("status") == "failed":
            log.warning(
                "notification %s to %s by %s failed: %s",
                job.notification_id,
                job.recipient,
                job.channel,
                values["detail"],
            )

    def retry_at(self, job: Job, now: int) -> int:
        """Exponential backoff from ``retry_base_s``, capped; never into quiet hours
        unless critical."""
        delay_s = min(self.config.retry_base_s * 2 ** (job.attempts - 1), self.config.retry_max_s)
        at = now + int(delay_s * 1000)
        if job.severity != "critical":
            quiet_end = quiet_until(job.quiet_start, job.quiet_end, job.timezone, at)
            if quiet_end is not None:
                at = quiet_end
        return at

    # --- sending ------------------------------------------------------------------------

    async def _deliver(self, job: Job) -> Delivery:
        if job.facts is None:
            return Delivery("failed", "the notification's alert no longer exists")
        if not job.address:
            return Delivery("failed", f"{job.recipient} has no {job.channel} contact point")
        message = render(job.facts, job.language, job.timezone, job.level)
        try:
            if job.channel == "webhook":
                return await post_webhook(
                    self._session(),
                    job.address,
                    webhook_body(job, message),
                    self.config.webhook_secret,
                    self.config.webhook_timeout_s,
                    job.notification_id,
                    self.clock() // 1000,
                    self.config.webhook_allowed_networks,
                )
            if job.channel == "email":
                return await send_email(self.config, job.address, message)
            if job.channel == "sms":
                return await self._send_sms(job.address, message)
        except Exception:  # a channel's bug must not stop the other deliveries
            log.exception("notification %s: %s channel failed", job.notification_id, job.channel)
            return Delivery("retry", f"{job.channel} failed unexpectedly")
        return Delivery("failed", f"unknown channel '{job.channel}'")

    async def _send_sms(self, phone_enc: str, message: Message) -> Delivery:
        if self.cipher is None:
            return Delivery("failed", "no registry encryption key: the phone number is unreadable")
        try:
            phone = self.cipher.decrypt(phone_enc)
        except FieldCryptoError as exc:
            return Delivery("failed", f"phone number unreadable: {exc}")
        try:
            result = await self.sms.send(phone, message.subject + "\n" + message.body)
        except SmsError as exc:
            return Delivery("failed" if exc.permanent else "retry", f"SMS gateway: {exc}")
        return Delivery("sent" if result.delivered else "logged", result.detail)

    def _session(self) -> aiohttp.ClientSession:
        if self._http is None:
            self._http = webhook_session(self.config, self.resolver)
        return self._http


def webhook_body(job: Job, message: Message) -> bytes:
    assert job.facts is not None
    facts = asdict(job.facts)
    payload = {
        "notification_id": job.notification_id,
        "recipient": job.recipient,
        "escalation_level": job.level,
        "language": message.language,
        "subject": message.subject,
        "text": message.body,
        "alert": {
            "id": facts["alert_id"],
            "person_id": facts["person_id"],
            "person_name": facts["person_name"],
            "kind": facts["kind"],
            "severity": facts["severity"],
            "status": facts["status"],
            "raised_at_ms": facts["raised_at_ms"],
            "occurrences": facts["occurrences"],
            "value": facts["value"],
            "threshold": facts["threshold"],
        },
    }
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


async def run_dispatcher(
    registry: Registry,
    config: NotificationsConfig,
    cipher: FieldCipher | None = None,
    clock: Clock = wall_clock_ms,
    stop: asyncio.Event | None = None,
) -> None:
    """Deliver the outbox every ``poll_s`` until ``stop`` is set (or the task is cancelled)."""
    dispatcher = Dispatcher(registry, config, cipher, clock)
    stop = stop or asyncio.Event()
    try:
        while not stop.is_set():
            try:
                await dispatcher.run_once()
            except Exception:
                log.exception("notification delivery round failed; trying again")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=config.poll_s)
    finally:
        await dispatcher.close()
