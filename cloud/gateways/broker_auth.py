"""Mosquitto's password file and ACL file, written by the cloud from the registry.

Mosquitto 2.0 password lines are ``user:$7$<iterations>$<base64 salt>$<base64 hash>``, the
hash being PBKDF2-HMAC-SHA512 of the password. Each gateway may publish only under its own
``<root>/<site>/<gateway>/`` prefix and read only its own commands; the cloud's user reads
everything under the root and writes commands. Both files are replaced atomically and the
broker is asked to reread them (Mosquitto does on SIGHUP).
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import hmac
import logging
import os
import re
import secrets
import signal
import subprocess
import tempfile
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from anxin.config import BrokerConfig
from anxin.protocol import CHANNELS

log = logging.getLogger(__name__)

# Gateway passwords are 256-bit random strings, so the iteration count only has to make a
# human-chosen cloud password costly to guess; every CONNECT pays for it at the broker.
PBKDF2_ITERATIONS = 1000
SALT_BYTES = 12  # as mosquitto_passwd
# ':' separates user and hash in the password file; '+', '#', '/' and spaces would break
# topics and ACL lines.
USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
GATEWAY_PUBLISHES: tuple[str, ...] = tuple(c for c in CHANNELS if c != "commands")
_HASH_LINE = re.compile(r"^\$7\$(\d+)\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$")


class BrokerAuthError(RuntimeError):
    """The broker's files could not be written, or the broker could not be asked to reload."""


def mosquitto_hash(password: str, iterations: int = PBKDF2_ITERATIONS) -> str:
    """The ``$7$`` hash Mosquitto 2.0 checks ``password`` against."""
    salt = secrets.token_bytes(SALT_BYTES)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations)
    return f"$7${iterations}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def verify_mosquitto_hash(password: str, stored: str) -> bool:
    match = _HASH_LINE.match(stored)
    if match is None:
        return False
    salt, expected = base64.b64decode(match[2]), base64.b64decode(match[3])
    actual = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, int(match[1]))
    return hmac.compare_digest(actual, expected)


def new_password() -> str:
    return secrets.token_urlsafe(32)


@dataclass(frozen=True)
class GatewayLogin:
    """One gateway's broker user (its id) and where it may publish."""

    username: str
    site_id: str
    topic_root: str
    password_hash: str

    @property
    def prefix(self) -> str:
        return f"{self.topic_root}/{self.site_id}/{self.username}"


@dataclass(frozen=True)
class CloudLogin:
    """The user cloud processes (ingest, API) connect as."""

    username: str
    password_hash: str


def render_password_file(cloud: CloudLogin | None, gateways: Iterable[GatewayLogin]) -> str:
    users = ([cloud] if cloud else []) + sorted(gateways, key=lambda g: g.username)
    for user in users:
        if not USERNAME.match(user.username):
            raise BrokerAuthError(f"broker user name '{user.username}' is not allowed")
    return "".join(f"{user.username}:{user.password_hash}\n" for user in users)


def render_acl(
    cloud_username: str | None, topic_roots: Iterable[str], gateways: Iterable[GatewayLogin]
) -> str:
    lines = ["# Written by Anxin from its registry: edits here are overwritten.", ""]
    if cloud_username:
        lines.append(f"user {cloud_username}")
        for root in sorted(set(topic_roots)):
            lines += [f"topic read {root}/#", f"topic write {root}/+/+/commands"]
        lines.append("")
    for gateway in sorted(gateways, key=lambda g: g.username):
        lines.append(f"user {gateway.username}")
        lines += [f"topic write {gateway.prefix}/{channel}" for channel in GATEWAY_PUBLISHES]
        lines += [f"topic read {gateway.prefix}/commands", ""]
    return "\n".join(lines)


def write_atomically(path: Path, text: str, mode: int = 0o640) -> None:
    """Replace ``path`` so a reader sees the old file or the new one, never half of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


class BrokerFiles:
    """The password and ACL files one broker reads, and how to make it reread them."""

    _thread_lock = threading.Lock()

    def __init__(self, config: BrokerConfig) -> None:
        self.config = config

    @property
    def managed(self) -> bool:
        return self.config.password_file is not None

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Held from reading the registry to writing the files, so that of two writers (API
        workers on one host) the last to write is the last to have read."""
        if self.config.password_file is None:
            yield
            return
        lock_path = self.config.password_file.with_name(self.config.password_file.name + ".lock")
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        with self._thread_lock, open(lock_path, "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def write(
        self, cloud: CloudLogin | None, topic_roots: Iterable[str], gateways: list[GatewayLogin]
    ) -> None:
        if self.config.password_file is None:
            return
        write_atomically(self.config.password_file, render_password_file(cloud, gateways))
        if self.config.acl_file is not None:
            roots = {*topic_roots, *(g.topic_root for g in gateways)}
            username = cloud.username if cloud else None
            write_atomically(self.config.acl_file, render_acl(username, roots, gateways))

    def reload(self) -> None:
        """Ask the broker to reread its files; without a way configured, say so in the log."""
        if self.config.reload_command:
            try:
                subprocess.run(self.config.reload_command, check=True, capture_output=True)
            except (OSError, subprocess.CalledProcessError) as exc:
                raise BrokerAuthError(f"broker reload command failed: {exc}") from exc
        elif self.config.reload_pid_file is not None:
            path = self.config.reload_pid_file
            try:
                pid = int(path.read_text().strip())
                os.kill(pid, signal.SIGHUP)
            except (OSError, ValueError) as exc:
                raise BrokerAuthError(f"could not signal the broker from {path}: {exc}") from exc
        elif self.managed:
            log.warning(
                "broker files rewritten but no [broker] reload_pid_file or reload_command: "
                "reload the broker yourself for new gateway passwords to work"
            )
