"""Password hashing: argon2id for new hashes; older scrypt hashes still verify.

A user whose stored hash is scrypt (or argon2 with weaker parameters than today's) gets a
fresh argon2id hash at their next successful login: see ``needs_rehash``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_HASHER = PasswordHasher()  # argon2id with the library's current recommended parameters
# A hash of nothing anyone knows: checked against when the username is unknown, so a
# login for an unknown name takes as long as one for a known name.
_DECOY = _HASHER.hash("anxin: no such user")


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def verify_password(password: str, stored: str) -> bool:
    if stored.startswith("$argon2"):
        try:
            return _HASHER.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return False
    if stored.startswith("scrypt$"):
        return _verify_scrypt(password, stored)
    return False


def needs_rehash(stored: str) -> bool:
    """Whether ``stored`` should be replaced by a new argon2id hash (after a good login)."""
    if not stored.startswith("$argon2"):
        return True
    try:
        return _HASHER.check_needs_rehash(stored)
    except InvalidHashError:
        return True


def spend_time_as_if_verifying(password: str) -> None:
    """Do the work of one verification whose answer is no (for unknown usernames)."""
    verify_password(password, _DECOY)


def _verify_scrypt(password: str, stored: str) -> bool:
    """The format this project used before argon2: ``scrypt$N$r$p$salt$digest`` (base64)."""
    try:
        _scheme, n, r, p, salt_b64, digest_b64 = stored.split("$")
        salt, expected = base64.b64decode(salt_b64), base64.b64decode(digest_b64)
        actual = hashlib.scrypt(
            password.encode(), salt=salt, n=int(n), r=int(r), p=int(p), dklen=len(expected)
        )
    except (ValueError, binascii.Error):
        return False
    return hmac.compare_digest(actual, expected)
