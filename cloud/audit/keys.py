"""The audit key: what makes the chain's hashes (HMAC-SHA256) unforgeable without it.

The key lives in the configuration (``[audit] key``, ``ANXIN_AUDIT__KEY``), never in the
database the chain is stored in. Each entry carries the id of the key it was made with (a
hash of the key; '' for the unkeyed SHA-256 entries of earlier releases), so the key can be
rotated: new entries use the current key, older ones verify with the keys kept in
``old_keys``.

A process has one audit key: it is installed once at start (``install``) from the
configuration, and every audited write in the process uses it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Protocol

KEY_BYTES = 32
KEY_SETTING = "[audit] key (or ANXIN_AUDIT__KEY)"
_HEX_KEY = re.compile(r"^[0-9A-Fa-f]{64}$")


class AuditKeyError(ValueError):
    """An audit key that cannot be used; the message says why."""


class MissingAuditKeyError(RuntimeError):
    """An audited write in a process that was given no audit key."""


class KeySettings(Protocol):
    key: str | None
    old_keys: tuple[str, ...]


def decode_key(text: str, setting: str = "key") -> bytes:
    """32 bytes from 64 hex digits or from base64; ``AuditKeyError`` naming ``setting``."""
    text = text.strip()
    if _HEX_KEY.match(text):
        return bytes.fromhex(text)
    try:
        key = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise AuditKeyError(
            f"{setting} must be 32 bytes as 64 hex digits or base64 "
            "(make one with: openssl rand -hex 32)"
        ) from None
    if len(key) != KEY_BYTES:
        raise AuditKeyError(f"{setting} must be 32 bytes, got {len(key)} bytes")
    return key


def new_key() -> str:
    """A fresh random key, as hex text for the configuration."""
    return os.urandom(KEY_BYTES).hex()


def key_id(key: bytes) -> str:
    return hashlib.sha256(b"anxin audit key id\0" + key).hexdigest()[:8]


class AuditKeys:
    """The current audit key and the rotated-out ones that older entries were made with."""

    def __init__(self, current: bytes, old: Sequence[bytes] = ()) -> None:
        self.current_id = key_id(current)
        self._keys = {key_id(key): key for key in (*old, current)}

    @classmethod
    def from_texts(cls, current: str, old: Sequence[str] = ()) -> AuditKeys:
        return cls(
            decode_key(current),
            [decode_key(text, f"old_keys[{number}]") for number, text in enumerate(old)],
        )

    @classmethod
    def from_settings(cls, settings: KeySettings) -> AuditKeys | None:
        """The keys the configuration names; None when no key is configured."""
        if not settings.key:
            return None
        return cls.from_texts(settings.key, settings.old_keys)

    def knows(self, kid: str) -> bool:
        return kid in self._keys

    def mac(self, kid: str, message: bytes) -> str:
        """HMAC-SHA256 of ``message`` under key ``kid``, hex; KeyError for an unknown id."""
        return hmac.digest(self._keys[kid], message, "sha256").hex()


_installed: AuditKeys | None = None


def install(keys: AuditKeys | None) -> None:
    """Make ``keys`` the ones this process writes and verifies the audit log with."""
    global _installed
    _installed = keys


def installed() -> AuditKeys | None:
    return _installed


def required() -> AuditKeys:
    """The installed keys, or a ``MissingAuditKeyError`` naming the setting."""
    if _installed is None:
        raise MissingAuditKeyError(f"the audit log needs a key: set {KEY_SETTING}")
    return _installed


@contextmanager
def using(keys: AuditKeys | None) -> Iterator[AuditKeys | None]:
    """Install ``keys`` for the duration of the block, then the previous ones again."""
    previous = _installed
    install(keys)
    try:
        yield keys
    finally:
        install(previous)
