"""Signed checkpoints of the audit chain's head, kept outside the database.

The API process appends one JSON line (entry count, last entry id and hash, time, signed
with the audit key) to an append-only file at intervals and at shutdown. Someone who can
rewrite the database, even one holding the key, cannot make the chain agree with the
checkpoints again after editing, wiping or cutting off checkpointed entries.
``anxin admin audit verify`` reads them back (``read_anchors``). Several API processes may
append to the same file: each line is one ``write`` to a file opened with ``O_APPEND``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError
from sqlalchemy.exc import SQLAlchemyError

from anxin.cloud.audit import keys as audit_keys
from anxin.cloud.audit.chain import Anchor, Problem
from anxin.cloud.audit.keys import AuditKeys
from anxin.cloud.database.models import AuditHead
from anxin.config import AuditConfig

if TYPE_CHECKING:
    from anxin.cloud.registry.registry import Registry

log = logging.getLogger(__name__)
DOMAIN = b"anxin audit checkpoint v1\0"
Hex64 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]


class Checkpoint(BaseModel):
    """One line of the checkpoint file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    v: Literal[1] = 1
    at_ms: int = Field(ge=0)
    entries: int = Field(ge=0)
    last_id: int | None = Field(ge=1)
    last_hash: Hex64 | None
    key_id: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{8}$")]
    writer: str = Field(max_length=200)  # host:pid of the API process that wrote it
    mac: Hex64 = "0" * 64

    def signed_part(self) -> bytes:
        fields = self.model_dump(exclude={"mac"})
        return DOMAIN + json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()


def iso(at_ms: int) -> str:
    return datetime.fromtimestamp(at_ms / 1000, UTC).isoformat(timespec="seconds")


def current_checkpoint(registry: Registry, keys: AuditKeys) -> Checkpoint:
    """A signed checkpoint of the head as committed now."""
    with registry.session() as session:
        head = session.get(AuditHead, 1)
        entries, last_id, last_hash = (
            (head.entries, head.last_id, head.last_hash) if head is not None else (0, None, None)
        )
    unsigned = Checkpoint(
        at_ms=int(datetime.now(UTC).timestamp() * 1000),
        entries=entries,
        last_id=last_id,
        last_hash=last_hash,
        key_id=keys.current_id,
        writer=f"{socket.gethostname()}:{os.getpid()}"[:200],
    )
    return unsigned.model_copy(update={"mac": keys.mac(keys.current_id, unsigned.signed_part())})


def append_line(path: Path, line: str) -> None:
    """Append ``line`` in one write to a file opened O_APPEND, and fsync it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, (line + "\n").encode("ascii"))
        os.fsync(fd)
    finally:
        os.close(fd)


def write_checkpoint(registry: Registry, path: Path, keys: AuditKeys | None = None) -> Checkpoint:
    """Append a checkpoint of the head to ``path`` (keys: unset, the installed ones)."""
    checkpoint = current_checkpoint(registry, keys or audit_keys.required())
    append_line(path, checkpoint.model_dump_json())
    return checkpoint


def read_anchors(path: Path, keys: AuditKeys | None) -> tuple[list[Anchor], list[Problem]]:
    """The checkpoints of ``path`` whose signature holds, and a problem for each line that
    is not a checkpoint signed with a known audit key. No file: no checkpoints."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return [], []
    anchors: list[Anchor] = []
    problems: list[Problem] = []
    lines = text.split("\n")
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        place = f"checkpoint line {number} of {path}"
        try:
            checkpoint = Checkpoint.model_validate_json(line)
        except ValidationError as exc:
            if number == len(lines):
                # The last line, without its newline: a write cut short by a crash.
                log.warning("ignoring the incomplete last line of %s", path)
                continue
            problems.append(Problem(None, f"is not a checkpoint: {_first_error(exc)}", place))
            continue
        if keys is None or not keys.knows(checkpoint.key_id):
            problems.append(
                Problem(
                    None,
                    f"is signed with audit key {checkpoint.key_id}, which is not configured "
                    "(neither [audit] key nor one of old_keys): forged, or the key is missing",
                    place,
                )
            )
        elif keys.mac(checkpoint.key_id, checkpoint.signed_part()) != checkpoint.mac:
            problems.append(Problem(None, "its signature does not match: forged or altered", place))
        else:
            anchors.append(
                Anchor(
                    number,
                    iso(checkpoint.at_ms),
                    checkpoint.at_ms,
                    checkpoint.entries,
                    checkpoint.last_id,
                    checkpoint.last_hash,
                )
            )
    return anchors, problems


def _first_error(exc: ValidationError) -> str:
    item = exc.errors()[0]
    where = ".".join(str(part) for part in item["loc"])
    return f"{where}: {item['msg']}" if where else item["msg"]


class Checkpointer:
    """Writes a checkpoint when the head moved since the last one it wrote."""

    def __init__(self, registry: Registry, path: Path, keys: AuditKeys) -> None:
        self._registry = registry
        self._path = path
        self._keys = keys
        self._last: tuple[int, int | None] | None = None

    def write_if_moved(self) -> Checkpoint | None:
        checkpoint = current_checkpoint(self._registry, self._keys)
        if (checkpoint.entries, checkpoint.last_id) == self._last:
            return None
        append_line(self._path, checkpoint.model_dump_json())
        self._last = (checkpoint.entries, checkpoint.last_id)
        return checkpoint


def api_background(
    registry: Registry, config: AuditConfig
) -> Callable[[web.Application], AsyncIterator[None]]:
    """An aiohttp cleanup context: a checkpoint at start (a file that cannot be written
    stops the start), every ``checkpoint_interval_s`` while the API runs, and at shutdown.
    The database read and the fsync run in a thread: requests never wait for them."""

    async def context(app: web.Application) -> AsyncIterator[None]:
        keys = AuditKeys.from_settings(config) or audit_keys.required()
        checkpointer = Checkpointer(registry, config.checkpoint_file, keys)
        await asyncio.to_thread(checkpointer.write_if_moved)
        task = asyncio.create_task(_every(checkpointer, config.checkpoint_interval_s))
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            try:
                await asyncio.to_thread(checkpointer.write_if_moved)
            except (OSError, SQLAlchemyError):
                log.exception("could not write the audit checkpoint at shutdown")

    return context


async def _every(checkpointer: Checkpointer, interval_s: float) -> None:
    while True:
        await asyncio.sleep(interval_s)
        try:
            await asyncio.to_thread(checkpointer.write_if_moved)
        except (OSError, SQLAlchemyError):
            log.exception("could not write an audit checkpoint; trying again later")
