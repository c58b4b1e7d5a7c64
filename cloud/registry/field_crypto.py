"""Personal fields encrypted at rest (AES-256-GCM), keyed lookups, and masking for display.

A ciphertext reads ``v1:<key id>:<base64 of nonce + ciphertext + tag>``; the key id (a
hash of the key) says which key decrypts it, so keys can be rotated: new values use the
current key, older ones still decrypt with the keys listed as old until re-encrypted.

Encrypted values cannot be searched, so unique lookups (one person per resident ID) go
through a blind index: an HMAC-SHA256 of the normalised value under a key derived from the
encryption key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from collections.abc import Sequence
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

VERSION = "v1"
NONCE_BYTES = 12
KEY_SETTING = "[registry] encryption_key (or ANXIN_REGISTRY__ENCRYPTION_KEY)"


class FieldCryptoError(ValueError):
    """A value that cannot be encrypted or decrypted; the message says why."""


class MissingKeyError(FieldCryptoError):
    """No encryption key is configured."""


class KeySettings(Protocol):
    encryption_key: str | None
    old_encryption_keys: tuple[str, ...]


def decode_key(text: str, setting: str = "encryption_key") -> bytes:
    """A 32-byte key from its base64 text; ``FieldCryptoError`` naming ``setting`` if not."""
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise FieldCryptoError(f"{setting} must be base64, got something else") from None
    if len(key) != 32:
        raise FieldCryptoError(f"{setting} must be 32 bytes in base64, got {len(key)} bytes")
    return key


def new_key() -> str:
    """A fresh random key, as base64 text for the configuration."""
    return base64.b64encode(os.urandom(32)).decode("ascii")


def key_id(key: bytes) -> str:
    return hashlib.sha256(b"anxin field key id\0" + key).hexdigest()[:8]


def _index_key(key: bytes) -> bytes:
    # A separate key for the blind index, so the HMAC never uses the AES key itself.
    return hmac.new(key, b"anxin blind index v1", hashlib.sha256).digest()


class FieldCipher:
    def __init__(self, current_key: bytes, old_keys: Sequence[bytes] = ()) -> None:
        self._current_id = key_id(current_key)
        self._keys = {key_id(key): key for key in (*old_keys, current_key)}
        self._index_keys = [_index_key(current_key)] + [
            _index_key(key) for key in old_keys if key != current_key
        ]

    @classmethod
    def from_settings(cls, settings: KeySettings) -> FieldCipher | None:
        """The cipher the configuration describes; None when no key is configured."""
        if not settings.encryption_key:
            return None
        current = decode_key(settings.encryption_key)
        old = [
            decode_key(text, f"old_encryption_keys[{number}]")
            for number, text in enumerate(settings.old_encryption_keys)
        ]
        return cls(current, old)

    @property
    def current_key_id(self) -> str:
        return self._current_id

    def encrypt(self, plaintext: str) -> str:
        nonce = os.urandom(NONCE_BYTES)
        header = f"{VERSION}:{self._current_id}"
        sealed = AESGCM(self._keys[self._current_id]).encrypt(
            nonce, plaintext.encode("utf-8"), header.encode("ascii")
        )
        return f"{header}:{base64.b64encode(nonce + sealed).decode('ascii')}"

    def decrypt(self, token: str) -> str:
        version, kid, body = _split(token)
        key = self._keys.get(kid)
        if key is None:
            raise FieldCryptoError(
                f"cannot decrypt: the value was encrypted with key {kid}, which is neither "
                f"the current key ({self._current_id}) nor one of old_encryption_keys"
            )
        try:
            raw = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise FieldCryptoError("cannot decrypt: the ciphertext is not base64") from None
        if len(raw) < NONCE_BYTES + 16:
            raise FieldCryptoError("cannot decrypt: the ciphertext is too short")
        try:
            plain = AESGCM(key).decrypt(
                raw[:NONCE_BYTES], raw[NONCE_BYTES:], f"{version}:{kid}".encode("ascii")
            )
        except InvalidTag:
            raise FieldCryptoError(
                f"cannot decrypt: the ciphertext was altered, or key {kid} is not the key "
                "it was made with"
            ) from None
        return plain.decode("utf-8")

    def needs_rekey(self, token: str) -> bool:
        """Whether ``token`` was made with an old key (re-encrypt it with the current one)."""
        return _split(token)[1] != self._current_id

    def blind_index(self, normalised: str) -> str:
        """The lookup hash of a value under the current key."""
        return self.blind_indexes(normalised)[0]

    def blind_indexes(self, normalised: str) -> list[str]:
        """The lookup hashes under the current key, then each old key: a value stored
        before a key rotation is still found."""
        data = normalised.encode("utf-8")
        return [hmac.new(key, data, hashlib.sha256).hexdigest() for key in self._index_keys]


def _split(token: str) -> tuple[str, str, str]:
    parts = token.split(":")
    if len(parts) != 3 or parts[0] != VERSION:
        raise FieldCryptoError(f"cannot decrypt: not a '{VERSION}:<key id>:<data>' ciphertext")
    return parts[0], parts[1], parts[2]


def require(cipher: FieldCipher | None, what: str) -> FieldCipher:
    """``cipher``, or a ``MissingKeyError`` saying ``what`` needs the key."""
    if cipher is None:
        raise MissingKeyError(f"storing {what} needs an encryption key: set {KEY_SETTING}")
    return cipher


def mask_resident_id(number: str) -> str:
    """The first 6 and last 4 characters: "110105********0021"."""
    if len(number) <= 10:
        return "*" * len(number)
    return number[:6] + "*" * (len(number) - 10) + number[-4:]


def mask_phone(phone: str) -> str:
    """The first 3 and last 4 digits of a mobile number: "138****5678"."""
    if len(phone) <= 7:
        return "*" * len(phone)
    return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]
