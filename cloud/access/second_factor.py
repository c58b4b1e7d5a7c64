"""Time-based one-time codes (TOTP, RFC 6238) as a second login factor.

Codes are six digits over 30-second steps, checked one step either side for clock drift.
The step a code was accepted for is remembered, so the same code (or an older one) is
never accepted twice. Secrets are stored encrypted with the registry's field key.
"""

from __future__ import annotations

import hmac
import time

import pyotp

from anxin.cloud.registry.field_crypto import FieldCipher, require
from anxin.config import CloudConfig

ISSUER = "Anxin 安心"
DRIFT_STEPS = 1


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, username: str) -> str:
    """The ``otpauth://`` URI an authenticator app reads (usually from a QR code)."""
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=ISSUER)


def current_code(secret: str, at_s: float | None = None) -> str:
    totp = pyotp.TOTP(secret)
    return totp.at(time.time() if at_s is None else at_s)


def accepted_step(
    secret: str, code: str, last_step: int | None, at_s: float | None = None
) -> int | None:
    """The time step ``code`` belongs to, if it is valid now and newer than ``last_step``."""
    if not (len(code) == 6 and code.isdigit()):
        return None
    totp = pyotp.TOTP(secret)
    now_step = totp.timecode(time.time() if at_s is None else at_s)
    for step in range(now_step - DRIFT_STEPS, now_step + DRIFT_STEPS + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step if last_step is None or step > last_step else None
    return None


def field_cipher(config: CloudConfig) -> FieldCipher | None:
    """The registry's field cipher, or None when no encryption key is configured."""
    return FieldCipher.from_settings(config.registry)


def seal(cipher: FieldCipher | None, secret: str) -> str:
    return require(cipher, "a TOTP secret").encrypt(secret)


def unseal(cipher: FieldCipher | None, sealed: str) -> str:
    return require(cipher, "a TOTP secret").decrypt(sealed)
