"""Delivery over one channel: a signed webhook POST or an e-mail.

E-mail goes out with aiosmtplib: the dispatcher is asyncio, and aiosmtplib speaks
STARTTLS, AUTH and timeouts without tying up a thread per message (smtplib would need
one, since it blocks).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Literal

import aiohttp
import aiosmtplib

from anxin.cloud.notify.messages import Message
from anxin.config import NotificationsConfig

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


async def post_webhook(
    http: aiohttp.ClientSession,
    url: str,
    body: bytes,
    secret: str | None,
    timeout_s: float,
    notification_id: int,
    now_s: int,
) -> Delivery:
    if not secret:
        return Delivery("failed", "notifications.webhook_secret is not set: webhooks are unsigned")
    timestamp = str(now_s)
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: signature(secret, timestamp, body),
        ID_HEADER: str(notification_id),  # the same on every retry: receivers can de-duplicate
    }
    try:
        async with http.post(
            url, data=body, headers=headers, timeout=aiohttp.ClientTimeout(total=timeout_s)
        ) as response:
            if 200 <= response.status < 300:
                return Delivery("sent", f"HTTP {response.status}")
            retry = response.status >= 500 or response.status in (408, 425, 429)
            return Delivery("retry" if retry else "failed", f"HTTP {response.status} from {url}")
    except (aiohttp.InvalidURL, ValueError) as exc:  # checked first: InvalidURL is a ClientError
        return Delivery("failed", f"webhook URL '{url}' is not usable: {exc}")
    except (aiohttp.ClientError, TimeoutError, OSError) as exc:
        return Delivery("retry", f"could not reach {url}: {type(exc).__name__} {exc}".strip())


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
