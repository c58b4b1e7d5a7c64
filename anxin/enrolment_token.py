"""The enrolment token an installer pastes: ``anxin1.<cloud API URL>.<secret>.<check>``.

One string, so nothing else has to be typed; it says where to redeem it (the URL, base64url),
and its check characters catch a mistyped token before it is sent anywhere. The cloud keeps
only the SHA-256 of the secret. Shared by the cloud (which issues) and the edge (which redeems).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from dataclasses import dataclass

TOKEN_PREFIX = "anxin1"
_CHECK_CHARS = 6
_MIN_SECRET_CHARS = 32


class TokenError(ValueError):
    """A token that cannot be one of ours; the message says what is wrong with it."""


@dataclass(frozen=True)
class EnrolmentToken:
    api_url: str
    secret: str

    @property
    def secret_hash(self) -> str:
        return hashlib.sha256(self.secret.encode()).hexdigest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _check(body: str) -> str:
    return _b64(hashlib.sha256(body.encode()).digest())[:_CHECK_CHARS]


def format_token(api_url: str, secret: str) -> str:
    body = f"{TOKEN_PREFIX}.{_b64(api_url.encode())}.{secret}"
    return f"{body}.{_check(body)}"


def parse_token(text: str) -> EnrolmentToken:
    text = text.strip()
    parts = text.split(".")
    if len(parts) != 4 or parts[0] != TOKEN_PREFIX:
        raise TokenError(
            f"an enrolment token has 4 parts separated by '.', starting '{TOKEN_PREFIX}.'"
        )
    if not hmac.compare_digest(_check(text.rsplit(".", 1)[0]), parts[3]):
        raise TokenError("the token's check characters do not match: copy it again")
    try:
        api_url = base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise TokenError("the token's cloud address is garbled") from None
    if len(parts[2]) < _MIN_SECRET_CHARS:
        raise TokenError("the token's secret is too short")
    return EnrolmentToken(api_url, parts[2])
