"""Delivery over one channel: a signed webhook POST or an e-mail.

E-mail goes out with aiosmtplib: the dispatcher is asyncio, and aiosmtplib speaks
STARTTLS, AUTH and timeouts without tying up a thread per message (smtplib would need
one, since it blocks).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import socket
import ssl
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Literal

import aiohttp
import aiosmtplib
from aiohttp.abc import AbstractResolver, ResolveResult

from anxin.cloud.notify.messages import Message
from anxin.cloud.notify.webhook_target import (
    AddressNotAllowed,
    HostNotResolved,
    IPNetwork,
    Resolver,
    WebhookRefused,
    WebhookUrl,
    check_address,
    parse_webhook_url,
    resolve_vetted,
)
from anxin.config import NotificationsConfig

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Anxin-Signature"
TIMESTAMP_HEADER = "X-Anxin-Timestamp"
ID_HEADER = "X-Anxin-Notification"


@dataclass(frozen=True)
class Delivery:
    # sent; logged (accepted, not sent); retry (worth another try); failed (never will work)
    outcome: Literal["sent", "logged", "retry", "failed"]
    detail: str = ""


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """HMAC-SHA256 over ``<timestamp>.<body>``, as ``sha256=<hex>``.

    A receiver recomputes it with the shared secret, compares in constant time, and
    refuses timestamps far from its own clock (a replayed request)."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


class RefusedLookup(OSError):
    """A webhook host's lookup that gave no address the connection may use."""

    def __init__(self, refusal: WebhookRefused) -> None:
        super().__init__(str(refusal))
        self.refusal = refusal


class VettingResolver(AbstractResolver):
    """Looks webhook hosts up and hands the connector only addresses that passed the
    check, so what is checked is what is connected to (no second lookup to re-point)."""

    def __init__(self, resolver: Resolver, allowed: Sequence[IPNetwork]) -> None:
        self.resolver = resolver
        self.allowed = tuple(allowed)

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        try:
            addresses = await resolve_vetted(host, port, self.allowed, self.resolver)
        except WebhookRefused as exc:
            raise RefusedLookup(exc) from None
        results = [
            ResolveResult(
                hostname=host,
                host=str(address),
                port=port,
                family=_FAMILIES[address.version],
                proto=0,
                flags=socket.AI_NUMERICHOST | socket.AI_NUMERICSERV,
            )
            for address in addresses
            if family in (socket.AF_UNSPEC, _FAMILIES[address.version])
        ]
        if not results:
            raise RefusedLookup(HostNotResolved(f"host '{host}' has no address of {family!r}"))
        return results

    async def close(self) -> None:
        return None


_FAMILIES = {4: socket.AF_INET, 6: socket.AF_INET6}


def webhook_session(config: NotificationsConfig, resolver: Resolver) -> aiohttp.ClientSession:
    """The HTTP client for webhooks: vetted addresses only, no proxy from the environment,
    TLS checked for the URL's host name (with the configured extra CA, if any)."""
    tls = ssl.create_default_context()
    if config.webhook_ca_file is not None:
        tls.load_verify_locations(cafile=config.webhook_ca_file)
    connector = aiohttp.TCPConnector(
        resolver=VettingResolver(resolver, config.webhook_allowed_networks),
        ssl=tls,
        use_dns_cache=False,  # every connection gets a fresh, checked lookup
    )
    session = aiohttp.ClientSession(connector=connector, trust_env=False)
    _VETTING_SESSIONS.add(session)
    return session


_VETTING_SESSIONS: weakref.WeakSet[aiohttp.ClientSession] = weakref.WeakSet()


async def post_webhook(
    http: aiohttp.ClientSession,
    url: str,
    body: bytes,
    secret: str | None,
    timeout_s: float,
    notification_id: int,
    now_s: int,
    allowed: Sequence[IPNetwork] = (),
) -> Delivery:
    """POST the signed body to ``url`` through a ``webhook_session``.

    The detail kept with the notification (which its recipient can read) is coarse:
    what went wrong, never the server's words or where exactly; the log has the rest."""
    if http not in _VETTING_SESSIONS:
        raise ValueError("webhooks go out only through a session from webhook_session()")
    if not secret:
        return Delivery("failed", "notifications.webhook_secret is not set: webhooks are unsigned")
    try:
        target = parse_webhook_url(url)
        if target.literal is not None:  # the connector checks names; addresses it takes as is
            check_address(target.literal, allowed)
    except WebhookRefused as exc:
        return _refused(notification_id, exc)
    timestamp = str(now_s)
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: signature(secret, timestamp, body),
        ID_HEADER: str(notification_id),  # the same on every retry: receivers can de-duplicate
    }
    try:
        async with http.post(
            target.url,
            data=body,
            headers=headers,
            timeout=aiohttp.ClientTimeout(total=timeout_s),
            allow_redirects=False,
        ) as response:
            status = response.status
    except Exception as exc:  # every failure becomes a coarse outcome
        return _failure(notification_id, target, exc)
    if 200 <= status < 300:
        return Delivery("sent", f"HTTP {status}")
    if 300 <= status < 400:
        log.warning(
            "webhook %s to %s answered %s: redirect not followed",
            notification_id,
            target.host,
            status,
        )
        return Delivery("failed", "redirect not followed")
    retry = status >= 500 or status in (408, 425, 429)
    return Delivery("retry" if retry else "failed", f"HTTP {status}")


def _refused(notification_id: int, refusal: WebhookRefused) -> Delivery:
    log.warning("webhook %s refused: %s", notification_id, refusal)
    if isinstance(refusal, HostNotResolved):
        return Delivery("retry", "name not resolved")
    if isinstance(refusal, AddressNotAllowed):
        return Delivery("failed", "refused: address not allowed")
    return Delivery("failed", "refused: URL not allowed")


def _failure(notification_id: int, target: WebhookUrl, exc: BaseException) -> Delivery:
    lookup = _refused_lookup(exc)
    if lookup is not None:
        return _refused(notification_id, lookup)
    if isinstance(exc, TimeoutError):
        reason = "timeout"
    elif isinstance(exc, aiohttp.ClientSSLError | ssl.SSLError):
        reason = "tls error"
    elif isinstance(exc, aiohttp.ClientError | OSError):
        reason = "connection failed"
    else:
        log.error(
            "webhook %s to %s failed unexpectedly", notification_id, target.host, exc_info=exc
        )
        return Delivery("retry", "failed unexpectedly")
    log.warning(
        "webhook %s to %s:%s: %s (%r)", notification_id, target.host, target.port, reason, exc
    )
    return Delivery("retry", reason)


def _refused_lookup(exc: BaseException) -> WebhookRefused | None:
    """The check that refused the connector's lookup, however aiohttp wrapped it."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, RefusedLookup):
            return current.refusal
        inner = getattr(current, "os_error", None)
        if isinstance(inner, RefusedLookup):
            return inner.refusal
        current = current.__cause__ or current.__context__
    return None


def build_email(sender: str, recipient: str, message: Message) -> EmailMessage:
    email = EmailMessage()
    email["From"] = sender
    email["To"] = recipient
    email["Subject"] = message.subject
    email["Date"] = formatdate(localtime=False)
    email["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    email["Content-Language"] = "zh-CN" if message.language == "zh" else "en"
    email.set_content(message.body, charset="utf-8")
    return email


async def send_email(config: NotificationsConfig, recipient: str, message: Message) -> Delivery:
    if not config.smtp_host:
        return Delivery("failed", "notifications.smtp_host is not set: e-mail cannot be sent")
    email = build_email(config.email_from, recipient, message)
    try:
        await aiosmtplib.send(
            email,
            hostname=config.smtp_host,
            port=config.smtp_port,
            username=config.smtp_username,
            password=config.smtp_password,
            start_tls=config.smtp_starttls,
            timeout=config.smtp_timeout_s,
        )
    except aiosmtplib.SMTPRecipientsRefused as exc:
        return Delivery("failed", f"the mail server refused {recipient}: {exc}")
    except aiosmtplib.SMTPResponseException as exc:
        outcome = "failed" if 500 <= exc.code < 600 else "retry"
        return Delivery(outcome, f"mail server answered {exc.code}: {exc.message}")
    except (aiosmtplib.SMTPException, TimeoutError, OSError) as exc:
        return Delivery("retry", f"could not send mail via {config.smtp_host}: {exc}")
    return Delivery("sent", f"accepted by {config.smtp_host}")
