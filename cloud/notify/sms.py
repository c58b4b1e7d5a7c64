"""Text messages through a pluggable gateway.

Set ``[notifications] sms_gateway = "module:Class"`` to a class with a no-argument
constructor and an ``async send(phone, text) -> SmsResult``. The built-in
``LoggingSmsGateway`` does NOT send anything: it logs and records the message, so a
deployment without an SMS contract still shows what would have gone out.
"""

from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SmsResult:
    delivered: bool  # False: accepted but not sent (the built-in gateway)
    detail: str = ""


class SmsError(Exception):
    """A send that failed; ``permanent`` ones (a bad number) are not retried."""

    def __init__(self, message: str, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


@runtime_checkable
class SmsGateway(Protocol):
    async def send(self, phone: str, text: str) -> SmsResult: ...


def mask_phone(phone: str) -> str:
    digits = phone.strip()
    return digits[:3] + "****" + digits[-4:] if len(digits) >= 8 else "****"


@dataclass
class LoggingSmsGateway:
    """Not a real gateway: records each message and logs it, sends nothing."""

    recorded: list[tuple[str, str]] = field(default_factory=list)

    async def send(self, phone: str, text: str) -> SmsResult:
        self.recorded.append((phone, text))
        log.info("SMS NOT SENT (built-in logging gateway) to %s: %s", mask_phone(phone), text)
        return SmsResult(
            delivered=False, detail="NOT SENT: recorded by the built-in logging SMS gateway"
        )


def load_sms_gateway(spec: str) -> SmsGateway:
    """The gateway named ``module:Class``; ValueError naming the setting if it will not load."""
    module_name, _, class_name = spec.partition(":")
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
        gateway = cls()
    except (ImportError, AttributeError, TypeError) as exc:
        raise ValueError(f"notifications.sms_gateway '{spec}' cannot be loaded: {exc}") from None
    if not isinstance(gateway, SmsGateway):
        raise ValueError(f"notifications.sms_gateway '{spec}' has no async send(phone, text)")
    return gateway
