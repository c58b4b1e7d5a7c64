"""Notifications: signed webhooks with retries, e-mail in Chinese, SMS through the pluggable
gateway, quiet hours, the hourly limit, critical alerts bypassing both, and ingest → outbox."""

from __future__ import annotations

import asyncio
import email
import email.policy
import hashlib
import hmac
import json
import ssl
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import ClassVar
from zoneinfo import ZoneInfo

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from aiosmtpd.controller import Controller

from anxin.cloud.care.escalation import escalate_due
from anxin.cloud.ingest.worker import Ingest
from anxin.cloud.notify.dispatcher import Dispatcher
from anxin.cloud.notify.messages import AlertFacts, render
from anxin.cloud.notify.sms import LoggingSmsGateway, SmsResult, load_sms_gateway
from anxin.cloud.notify.webhook_target import Resolver, check_webhook_url
from anxin.cloud.registry.field_crypto import FieldCipher
from anxin.cloud.registry.registry import Registry
from anxin.cloud.stores import Stores
from anxin.config import EscalationConfig, NotificationsConfig
from tests.conftest import free_port
from tests.support.alert_world import (
    BACKENDS,
    alert,
    alert_world,
    database_url,
    notifications,
    raise_alert,
    set_preferences,
)
from tests.support.cloud import alert_payload
from tests.support.tls import TestCa
from tests.support.webhooks import TableResolver

SHANGHAI = ZoneInfo("Asia/Shanghai")
MORNING = int(datetime(2026, 12, 1, 10, 0, tzinfo=SHANGHAI).timestamp() * 1000)
NIGHT = int(datetime(2026, 12, 1, 23, 30, tzinfo=SHANGHAI).timestamp() * 1000)
QUIET_ENDS = int(datetime(2026, 12, 2, 7, 0, tzinfo=SHANGHAI).timestamp() * 1000)
SECRET = "a-webhook-secret-of-some-length"
ESCALATION = EscalationConfig()
CIPHER = FieldCipher(b"k" * 32)


class Clock:
    """The time the code under test sees; tests move it by hand."""

    def __init__(self, ms: int) -> None:
        self.ms = ms

    def __call__(self) -> int:
        return self.ms


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock(MORNING)
    monkeypatch.setattr("anxin.cloud.registry.registry.now_ms", clock)  # when alerts reach the cloud
    return clock


@pytest.fixture(params=BACKENDS)
def stores(request: pytest.FixtureRequest, tmp_path: Path, clock: Clock) -> Iterator[Stores]:
    with alert_world(database_url(request, tmp_path)) as stores:
        yield stores


@pytest.fixture
def registry(stores: Stores) -> Registry:
    return stores.registry


# The receivers' name: the certificate is issued for it, and only an injected resolver
# knows it (as 127.0.0.1), so a test that uses it can never reach another machine.
RECEIVER_NAME = "hooks.family.example"


@dataclass
class Receiver:
    url: str = ""  # by its address, https://127.0.0.1:<port>/hook
    port: int = 0
    ca_file: str = ""
    failures: int = 0  # how many requests to answer 503 first
    status_when_failing: int = 503
    redirect_to: str | None = None
    hang: bool = False  # take the request and never answer (until the test ends)
    released: asyncio.Event = field(default_factory=asyncio.Event)
    requests: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    elsewhere: int = 0  # requests to the redirect's target

    def url_by_name(self, name: str = RECEIVER_NAME) -> str:
        return f"https://{name}:{self.port}/hook"

    def settings(self) -> dict[str, object]:
        """What a deployment that sends webhooks to this loopback receiver configures."""
        return {"webhook_allowed_networks": ["127.0.0.1/32"], "webhook_ca_file": self.ca_file}


@pytest.fixture
def ca(tmp_path: Path) -> TestCa:
    return TestCa(tmp_path / "ca")


def server_tls(ca: TestCa, stem: str, names: tuple[str, ...]) -> ssl.SSLContext:
    issued = ca.issue_server(stem, dns_names=names)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(issued.cert_file, issued.key_file)
    return context


async def start_receiver(ca: TestCa, names: tuple[str, ...]) -> tuple[Receiver, TestServer]:
    received = Receiver(ca_file=str(ca.cert_file))

    async def hook(request: web.Request) -> web.Response:
        received.requests.append((dict(request.headers), await request.read()))
        if received.hang:
            await received.released.wait()
        if received.redirect_to is not None:
            raise web.HTTPTemporaryRedirect(received.redirect_to)
        if received.failures:
            received.failures -= 1
            return web.Response(status=received.status_when_failing)
        return web.Response(status=204)

    async def elsewhere(_request: web.Request) -> web.Response:
        received.elsewhere += 1
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/hook", hook)
    app.router.add_post("/elsewhere", elsewhere)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server(ssl=server_tls(ca, f"receiver-{len(names)}", names))
    received.url = str(server.make_url("/hook"))
    received.port = int(server.port or 0)
    return received, server


@pytest.fixture
async def receiver(ca: TestCa) -> AsyncIterator[Receiver]:
    received, server = await start_receiver(ca, (RECEIVER_NAME,))
    yield received
    received.released.set()
    await server.close()


@dataclass
class Mailbox:
    messages: list[email.message.EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)

    async def handle_DATA(self, _server: object, _session: object, envelope: object) -> str:
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))  # type: ignore[attr-defined]
        self.messages.append(
            email.message_from_bytes(envelope.content, policy=email.policy.default)  # type: ignore[attr-defined,arg-type]
        )
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[Mailbox, int]]:
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield mailbox, port
    controller.stop()


def escalate(registry: Registry, at: int, **settings: object) -> None:
    escalate_due(registry, ESCALATION, NotificationsConfig(**settings), at)  # type: ignore[arg-type]


def dispatcher(
    registry: Registry, clock: Clock, resolver: Resolver | None = None, **settings: object
) -> Dispatcher:
    config = NotificationsConfig(**settings)  # type: ignore[arg-type]
    extra = {} if resolver is None else {"resolver": resolver}
    return Dispatcher(
        registry, config, cipher=CIPHER, clock=clock, sms=LoggingSmsGateway(), **extra
    )


def statuses(registry: Registry, alert_id: int) -> list[str]:
    return [n.status for n in notifications(registry, alert_id)]


def expected_signature(headers: dict[str, str], body: bytes) -> str:
    signed = headers["X-Anxin-Timestamp"].encode() + b"." + body
    return "sha256=" + hmac.new(SECRET.encode(), signed, hashlib.sha256).hexdigest()


async def test_webhook_is_signed_and_retried_until_it_gets_through(
    registry: Registry, clock: Clock, receiver: Receiver
) -> None:
    set_preferences(registry, "family", notify_channels=["webhook"], webhook_url=receiver.url)
    alert_id = raise_alert(registry, 1)  # a fall: critical
    escalate(registry, clock.ms)
    receiver.failures = 2
    outbox = dispatcher(
        registry, clock, webhook_secret=SECRET, retry_base_s=10, **receiver.settings()
    )
    try:
        assert [o for _, o in await outbox.run_once()] == ["retry"]
        assert await outbox.run_once() == []  # the retry waits for its backoff
        clock.ms += 10_000
        assert [o for _, o in await outbox.run_once()] == ["retry"]
        clock.ms += 10_000  # the second retry waits twice as long
        assert await outbox.run_once() == []
        clock.ms += 10_000
        assert [o for _, o in await outbox.run_once()] == ["sent"]
    finally:
        await outbox.close()
    [row] = notifications(registry, alert_id)
    assert (row.status, row.attempts) == ("sent", 3)
    assert len(receiver.requests) == 3
    for headers, body in receiver.requests:
        assert hmac.compare_digest(headers["X-Anxin-Signature"], expected_signature(headers, body))
        assert headers["X-Anxin-Notification"] == str(row.id)
    payload = json.loads(receiver.requests[-1][1])
    assert payload["subject"] == "【安心】危急警报：张秀英 疑似跌倒"
    assert payload["alert"]["id"] == alert_id and payload["alert"]["person_id"] == "p0001"
    headers, body = receiver.requests[-1]
    forged = body.replace("张秀英".encode(), "李建国".encode())
    assert expected_signature(headers, forged) != headers["X-Anxin-Signature"]


async def test_webhook_gives_up_after_the_attempt_limit(
    registry: Registry, clock: Clock, receiver: Receiver
) -> None:
    set_preferences(registry, "family", notify_channels=["webhook"], webhook_url=receiver.url)
    alert_id = raise_alert(registry, 1)
    escalate(registry, clock.ms)
    receiver.failures = 99
    outbox = dispatcher(
        registry,
        clock,
        webhook_secret=SECRET,
        retry_base_s=1,
        max_attempts=2,
        **receiver.settings(),
    )
    try:
        await outbox.run_once()
        clock.ms += 1000
        await outbox.run_once()
        clock.ms += 3_600_000
        assert await outbox.run_once() == []
    finally:
        await outbox.close()
    [row] = notifications(registry, alert_id)
    assert row.status == "failed" and row.attempts == 2
    assert "gave up after 2 attempts" in row.detail and "HTTP 503" in row.detail


async def test_a_webhook_without_a_secret_is_not_sent(
    registry: Registry, clock: Clock, receiver: Receiver
) -> None:
    set_preferences(registry, "family", notify_channels=["webhook"], webhook_url=receiver.url)
    alert_id = raise_alert(registry, 1)
    escalate(registry, clock.ms)
    outbox = dispatcher(registry, clock, **receiver.settings())
    try:
        await outbox.run_once()
    finally:
        await outbox.close()
    assert receiver.requests == []
    assert "webhook_secret is not set" in notifications(registry, alert_id)[0].detail


async def test_email_arrives_in_chinese_with_local_time(
    registry: Registry, clock: Clock, smtp: tuple[Mailbox, int]
) -> None:
    mailbox, port = smtp
    set_preferences(registry, "family", notify_channels=["email"], email="zhangli@example.cn")
    alert_id = raise_alert(registry, 1, kind="heart_rate_high", severity="high")
    escalate(registry, clock.ms)
    outbox = dispatcher(registry, clock, smtp_host="127.0.0.1", smtp_port=port, smtp_starttls=False)
    assert [o for _, o in await outbox.run_once()] == ["sent"]
    assert statuses(registry, alert_id) == ["sent"]
    [message] = mailbox.messages
    assert mailbox.envelopes == [("anxin@localhost", ["zhangli@example.cn"])]
    assert message["Subject"] == "【安心】高警报：张秀英 心率过高"
    body = message.get_content()
    assert "张秀英：心率过高" in body
    assert "严重程度：高" in body and "当前状态：待处理" in body
    assert "读数：131（警戒值 120）" in body
    raised = datetime.fromtimestamp(alert(registry, alert_id).raised_at_ms / 1000, SHANGHAI)
    assert f"发生时间：{raised:%Y-%m-%d %H:%M}（Asia/Shanghai）" in body


def test_english_message_for_a_recipient_who_chose_it() -> None:
    facts = AlertFacts(
        alert_id=7,
        person_id="p0001",
        person_name="张秀英",
        person_name_latin="Zhang Xiuying",
        device_id="waist-1",
        kind="fall",
        severity="critical",
        status="open",
        raised_at_ms=NIGHT,
        occurrences=1,
        value=None,
        threshold=None,
    )
    english = render(facts, "en", "Europe/London", level=2)
    assert english.subject == "[Anxin] Critical alert: Zhang Xiuying – Possible fall"
    assert "Raised: 2026-12-01 15:30 (Europe/London)" in english.body
    assert "passed on to the community worker" in english.body
    chinese = render(facts, None, "Asia/Shanghai", level=1)
    assert "发生时间：2026-12-01 23:30（Asia/Shanghai）" in chinese.body


async def test_quiet_hours_defer_to_their_end_but_never_hold_a_critical_alert(
    registry: Registry, clock: Clock
) -> None:
    set_preferences(
        registry,
        "family",
        notify_channels=["sms"],
        phone_enc=CIPHER.encrypt("13800138000"),
        quiet_start="22:00",
        quiet_end="07:00",
    )
    clock.ms = NIGHT
    high = raise_alert(registry, 1, kind="heart_rate_high", severity="high")
    critical = raise_alert(registry, 2, kind="sos", severity="critical")
    escalate(registry, clock.ms)
    [deferred] = notifications(registry, high)
    assert deferred.status == "pending" and deferred.next_attempt_at_ms == QUIET_ENDS
    assert "quiet hours until 2026-12-02 07:00" in deferred.detail
    outbox = dispatcher(registry, clock)
    assert await outbox.run_once() == [(notifications(registry, critical)[0].id, "logged")]
    clock.ms = QUIET_ENDS - 1
    assert await outbox.run_once() == []
    clock.ms = QUIET_ENDS
    assert [o for _, o in await outbox.run_once()] == ["logged"]
    assert statuses(registry, high) == ["logged"]
    sent_text = outbox.sms.recorded  # type: ignore[attr-defined]
    assert [phone for phone, _ in sent_text] == ["13800138000", "13800138000"]
    assert "紧急呼叫" in sent_text[0][1] and "心率过高" in sent_text[1][1]


async def test_hourly_limit_suppresses_the_excess_but_not_critical_alerts(
    registry: Registry, clock: Clock
) -> None:
    set_preferences(
        registry,
        "family",
        notify_channels=["sms"],
        phone_enc=CIPHER.encrypt("13800138000"),
        notify_min_severity="medium",
    )
    kinds = ("heart_rate_high", "spo2_low", "inactivity")
    ids = [raise_alert(registry, n, kind=k, severity="high") for n, k in enumerate(kinds)]
    critical = raise_alert(registry, 9, kind="fall", severity="critical")
    escalate(registry, clock.ms, max_per_hour=2)
    assert [statuses(registry, i) for i in ids] == [
        ["pending"],
        ["pending"],
        ["suppressed_rate_limit"],
    ]
    assert statuses(registry, critical) == ["pending"]
    assert "2 alerts in the last hour" in notifications(registry, ids[2])[0].detail
    clock.ms += 61 * 60_000
    later = raise_alert(registry, 20, kind="late_rising", severity="medium")
    escalate(registry, clock.ms, max_per_hour=2)
    assert statuses(registry, later) == ["pending"]


async def test_preferences_choose_who_gets_what(registry: Registry, clock: Clock) -> None:
    set_preferences(
        registry, "family", notify_channels=["sms", "email"], notify_min_severity="high"
    )
    low = raise_alert(registry, 1, kind="battery_low", severity="low")
    high = raise_alert(registry, 2, kind="spo2_low", severity="high")
    escalate(registry, clock.ms)
    assert notifications(registry, low) == []  # below the family's floor
    rows = notifications(registry, high)
    assert {(n.channel, n.status) for n in rows} == {("sms", "failed"), ("email", "failed")}
    assert all("no" in n.detail and "contact point" in n.detail for n in rows)


class RecordingGateway:
    """A stand-in for an operator's SMS gateway, loaded by name like a real one."""

    sent: ClassVar[list[tuple[str, str]]] = []

    async def send(self, phone: str, text: str) -> SmsResult:
        RecordingGateway.sent.append((phone, text))
        return SmsResult(delivered=True, detail="accepted by the test gateway")


async def test_a_configured_sms_gateway_sends(registry: Registry, clock: Clock) -> None:
    set_preferences(
        registry, "family", notify_channels=["sms"], phone_enc=CIPHER.encrypt("13900139000")
    )
    alert_id = raise_alert(registry, 1)
    escalate(registry, clock.ms)
    config = NotificationsConfig(sms_gateway=f"{__name__}:RecordingGateway")
    gateway = load_sms_gateway(config.sms_gateway)
    RecordingGateway.sent.clear()
    outbox = Dispatcher(registry, config, cipher=CIPHER, clock=clock, sms=gateway)
    assert [o for _, o in await outbox.run_once()] == ["sent"]
    assert statuses(registry, alert_id) == ["sent"]
    assert [phone for phone, _ in RecordingGateway.sent] == ["13900139000"]


def test_an_unusable_sms_gateway_setting_is_named() -> None:
    with pytest.raises(ValueError, match=r"notifications\.sms_gateway 'nowhere:Gateway'"):
        load_sms_gateway("nowhere:Gateway")
    with pytest.raises(ValueError, match="has no async send"):
        load_sms_gateway("pathlib:PurePath")


async def test_ingested_alert_reaches_the_family_by_webhook(
    stores: Stores, clock: Clock, receiver: Receiver
) -> None:
    registry = stores.registry
    set_preferences(registry, "family", notify_channels=["webhook"], webhook_url=receiver.url)
    ingest = Ingest(registry, stores.timeseries, "anxin/v1")
    assert ingest.handle("anxin/v1/home-1/gw-1/alerts", alert_payload(100)).new == 1
    escalate(registry, clock.ms)
    outbox = dispatcher(registry, clock, webhook_secret=SECRET, **receiver.settings())
    try:
        assert [o for _, o in await outbox.run_once()] == ["sent"]
    finally:
        await outbox.close()
    [(headers, body)] = receiver.requests
    assert headers["X-Anxin-Signature"] == expected_signature(headers, body)
    payload = json.loads(body)
    assert payload["alert"]["kind"] == "heart_rate_high"
    assert payload["recipient"] == "family" and payload["escalation_level"] == 1
    assert "张秀英：心率过高" in payload["text"]


# The test server takes AUTH without TLS (warning about it); the client's side is the point.
@pytest.mark.filterwarnings("ignore::UserWarning")
async def test_email_logs_in_to_the_mail_server_when_configured(
    registry: Registry, clock: Clock
) -> None:
    from aiosmtpd.smtp import AuthResult

    logins: list[tuple[bytes, bytes]] = []

    def authenticate(
        _server: object, _session: object, _envelope: object, mechanism: str, data: object
    ) -> AuthResult:
        logins.append((data.login, data.password))  # type: ignore[attr-defined]
        return AuthResult(success=data.password == b"mail-secret", handled=False)  # type: ignore[attr-defined]

    mailbox = Mailbox()
    port = free_port()
    controller = Controller(
        mailbox,
        hostname="127.0.0.1",
        port=port,
        authenticator=authenticate,
        auth_require_tls=False,
        auth_required=True,
    )
    controller.start()
    try:
        set_preferences(registry, "family", notify_channels=["email"], email="zl@example.cn")
        alert_id = raise_alert(registry, 1)
        escalate(registry, clock.ms)
        settings = {"smtp_host": "127.0.0.1", "smtp_port": port, "smtp_starttls": False}
        wrong = dispatcher(registry, clock, smtp_username="anxin", smtp_password="nope", **settings)
        assert [o for _, o in await wrong.run_once()] == ["failed"]
        assert "535" in notifications(registry, alert_id)[0].detail
        later = raise_alert(registry, 2, kind="sos")
        escalate(registry, clock.ms)
        right = dispatcher(
            registry, clock, smtp_username="anxin", smtp_password="mail-secret", **settings
        )
        assert [o for _, o in await right.run_once()] == ["sent"]
    finally:
        controller.stop()
    assert (b"anxin", b"nope") in logins and logins[-1] == (b"anxin", b"mail-secret")
    assert statuses(registry, later) == ["sent"] and len(mailbox.messages) == 1


# --- where webhooks may go, at the moment they are sent ----------------------------------


async def deliver_once(registry: Registry, clock: Clock, **settings: object) -> tuple[str, str]:
    """Raise a fall, escalate it, attempt its webhook once: (status, detail) afterwards."""
    alert_id = raise_alert(registry, 1)
    escalate(registry, clock.ms)
    outbox = dispatcher(registry, clock, webhook_secret=SECRET, **settings)  # type: ignore[arg-type]
    try:
        await outbox.run_once()
    finally:
        await outbox.close()
    [row] = notifications(registry, alert_id)
    return row.status, row.detail


async def test_a_name_that_turned_to_loopback_after_it_was_set_is_refused_when_sent(
    registry: Registry, clock: Clock, receiver: Receiver
) -> None:
    resolver = TableResolver({RECEIVER_NAME: ["93.184.215.14"]})
    url = receiver.url_by_name()
    await check_webhook_url(url, (), resolver)  # what the API checked when it was set
    set_preferences(registry, "family", notify_channels=["webhook"], webhook_url=url)
    resolver.table[RECEIVER_NAME] = ["127.0.0.1"]  # the name's owner points it home
    status, detail = await deliver_once(
        registry, clock, resolver=resolver, webhook_ca_file=receiver.ca_file
    )
    assert (status, detail) == ("failed", "refused: address not allowed")
    assert receiver.requests == []


@pytest.mark.parametrize(
    "url",
    [
        "https://2130706433:{port}/hook",
        "https://[::ffff:127.0.0.1]:{port}/hook",
        "https://user@127.0.0.1:{port}/hook",
        "http://127.0.0.1:{port}/hook",
    ],
)
async def test_a_stored_url_is_checked_again_when_sent(
    registry: Registry, clock: Clock, receiver: Receiver, url: str
) -> None:
    url = url.format(port=receiver.port)
    set_preferences(registry, "family", notify_channels=["webhook"], webhook_url=url)
    status, detail = await deliver_once(registry, clock, **receiver.settings())
    assert status == "failed" and detail.startswith("refused:"), detail
    assert receiver.requests == []


async def test_an_allow_listed_receiver_is_reached_by_name_at_the_checked_address(
    registry: Registry, clock: Clock, receiver: Receiver
) -> None:
    resolver = TableResolver({RECEIVER_NAME: ["127.0.0.1"]})
    url = receiver.url_by_name()
    set_preferences(registry, "family", notify_channels=["webhook"], webhook_url=url)
    status, detail = await deliver_once(registry, clock, resolver=resolver, **receiver.settings())
    assert (status, detail) == ("sent", "HTTP 204")
    [(headers, _body)] = receiver.requests
    assert headers["Host"] == f"{RECEIVER_NAME}:{receiver.port}"


async def test_a_redirect_is_not_followed(
    registry: Registry, clock: Clock, receiver: Receiver
) -> None:
    receiver.redirect_to = f"https://127.0.0.1:{receiver.port}/elsewhere"
    set_preferences(registry, "family", notify_channels=["webhook"], webhook_url=receiver.url)
    status, detail = await deliver_once(registry, clock, **receiver.settings())
    assert (status, detail) == ("failed", "redirect not followed")
    assert len(receiver.requests) == 1 and receiver.elsewhere == 0


async def test_an_unreachable_receiver_leaves_a_coarse_reason(
    registry: Registry, clock: Clock, receiver: Receiver
) -> None:
    closed = free_port()  # nothing listens here
    url = f"https://127.0.0.1:{closed}/hook"
    set_preferences(registry, "family", notify_channels=["webhook"], webhook_url=url)
    status, detail = await deliver_once(registry, clock, **receiver.settings())
    assert (status, detail) == ("pending", "connection failed")


async def test_a_certificate_for_another_name_leaves_a_coarse_reason(
    registry: Registry, clock: Clock, receiver: Receiver, ca: TestCa
) -> None:
    # The certificate is good for 127.0.0.1 but not for the URL's name, which is checked.
    other, server = await start_receiver(ca, ("someone-else.example",))
    try:
        set_preferences(
            registry, "family", notify_channels=["webhook"], webhook_url=other.url_by_name()
        )
        resolver = TableResolver({RECEIVER_NAME: ["127.0.0.1"]})
        status, detail = await deliver_once(
            registry, clock, resolver=resolver, **receiver.settings()
        )
    finally:
        await server.close()
    assert (status, detail) == ("pending", "tls error")
    assert other.requests == []


async def test_a_server_error_leaves_only_its_status(
    registry: Registry, clock: Clock, receiver: Receiver
) -> None:
    receiver.failures, receiver.status_when_failing = 1, 500
    set_preferences(registry, "family", notify_channels=["webhook"], webhook_url=receiver.url)
    status, detail = await deliver_once(registry, clock, **receiver.settings())
    assert (status, detail) == ("pending", "HTTP 500")


async def test_a_name_that_does_not_resolve_is_retried_with_a_coarse_reason(
    registry: Registry, clock: Clock, receiver: Receiver
) -> None:
    url = receiver.url_by_name("gone.family.example")
    set_preferences(registry, "family", notify_channels=["webhook"], webhook_url=url)
    status, detail = await deliver_once(
        registry, clock, resolver=TableResolver({}), **receiver.settings()
    )
    assert (status, detail) == ("pending", "name not resolved")


async def test_a_receiver_that_never_answers_leaves_a_coarse_reason(
    registry: Registry, clock: Clock, receiver: Receiver
) -> None:
    receiver.hang = True
    set_preferences(registry, "family", notify_channels=["webhook"], webhook_url=receiver.url)
    status, detail = await deliver_once(
        registry, clock, webhook_timeout_s=0.5, **receiver.settings()
    )
    assert (status, detail) == ("pending", "timeout")
    assert len(receiver.requests) == 1
