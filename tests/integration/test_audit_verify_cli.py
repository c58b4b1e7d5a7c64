"""`anxin admin audit verify` finds edited, deleted and cut-off entries, a chain re-hashed
after an edit (without the key, and with it), a wiped log; it still accepts the unkeyed
chain of the previous release and entries made under a rotated-out key. Concurrent
writers (threads, and on PostgreSQL separate processes) leave the chain intact."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import delete, func, inspect, select, text, update

from anxin.cloud.audit import writer as audit_writer
from anxin.cloud.audit.chain import record, verify
from anxin.cloud.database.engines import make_engine
from anxin.cloud.database.models import AuditEntry, AuditHead
from anxin.cloud.registry.registry import Registry
from tests.support.waiting import eventually

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.services)]
# Two audit keys (32 bytes each): one in hex, one in base64, as an operator may write them.
KEY_A = "5f" * 32
KEY_B = "q83vEjRWeJq83vEjRWeJq83vEjRWeJq83vEjRWeJq80="


@pytest.fixture(params=BACKENDS)
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/registry.sqlite"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def registry(url: str) -> Iterator[Registry]:
    registry = Registry(make_engine(url))
    registry.create_schema()
    yield registry
    registry.engine.dispose()


@pytest.fixture
def key_a() -> Iterator[None]:
    """This process writes with audit key A (the CLI is configured with it too)."""
    from anxin.cloud.audit import keys

    with keys.using(keys.AuditKeys.from_texts(KEY_A)):
        yield


def checkpoint_file(tmp_path: Path) -> Path:
    return tmp_path / "audit-checkpoints.jsonl"


def run_verify(
    url: str, tmp_path: Path, key: str | None = KEY_A, old_keys: tuple[str, ...] = ()
) -> subprocess.CompletedProcess[str]:
    config = tmp_path / "cloud.toml"
    audit = f'checkpoint_file = "{checkpoint_file(tmp_path)}"\n'
    if key is not None:
        audit += f'key = "{key}"\nold_keys = {json.dumps(list(old_keys))}\n'
    config.write_text(f'[registry]\nurl = "{url}"\n\n[audit]\n{audit}')
    # The file alone says which keys the command has (the test suite sets one for others).
    environ = {k: v for k, v in os.environ.items() if not k.startswith("ANXIN_AUDIT__")}
    return subprocess.run(
        [sys.executable, "-m", "anxin.cli", "admin", "audit", "verify", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=120,
        env=environ,
    )


def write_entries(registry: Registry, count: int, first: int = 0) -> None:
    for number in range(first, first + count):
        audit_writer.append(
            registry, "worker", "read", f"persons/p{number:04d}", f"p{number:04d}", {"n": number}
        )


def checkpoint(registry: Registry, tmp_path: Path) -> None:
    """What the API process does at intervals: anchor the head outside the database."""
    from anxin.cloud.audit.checkpoints import write_checkpoint

    write_checkpoint(registry, checkpoint_file(tmp_path))


def tamper(registry: Registry, how: str) -> int:
    """Alter the log the way an intruder with database access might; the entry id touched."""
    with registry.session() as session, session.begin():
        if how == "update":
            session.execute(update(AuditEntry).where(AuditEntry.id == 3).values(detail={"n": 99}))
            return 3
        if how == "delete":
            session.execute(delete(AuditEntry).where(AuditEntry.id == 3))
            return 4  # the entry after the gap no longer follows its predecessor
        session.execute(delete(AuditEntry).where(AuditEntry.id >= 4))
        return 5  # the head still names the last entry that was cut off


def sha256_recipe(row: Any, prev_hash: str) -> str:
    """The previous release's unkeyed entry hash, as an intruder would recompute it."""
    canonical = json.dumps(
        [prev_hash, row.at_ms, row.actor, row.action, row.target, row.person_id, row.detail],
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def rehash(registry: Registry, start: int, recipe: str) -> None:
    """Edit entry ``start``'s detail, then recompute every hash from there on and the head:
    with the previous release's SHA-256 recipe, or (an insider holding it) with the key."""
    with registry.engine.begin() as connection:
        keyed = "key_id" in {c["name"] for c in inspect(connection).get_columns("audit_log")}
        rows = list(connection.execute(select(AuditEntry.__table__).order_by(AuditEntry.id)))
        # Move the old hashes out of the way first: hash and prev_hash are unique.
        for row in rows[start - 1 :]:
            connection.execute(
                update(AuditEntry.__table__)
                .where(AuditEntry.id == row.id)
                .values(hash=f"x{row.id}", prev_hash=f"y{row.id}")
            )
        prev = rows[start - 2].hash if start > 1 else "0" * 64
        for row in rows[start - 1 :]:
            detail = {"n": 99} if row.id == start else row.detail
            changed = SimpleNamespace(**{**row._mapping, "detail": detail})
            values: dict[str, Any] = {"detail": detail, "prev_hash": prev}
            if recipe == "sha256":
                values["hash"] = sha256_recipe(changed, prev)
                if keyed:
                    values["key_id"] = ""  # pass it off as an entry of the previous release
            else:
                from anxin.cloud.audit import chain, keys

                values["hash"] = chain.entry_hash(
                    prev, row.at_ms, row.actor, row.action, row.target, row.person_id,
                    detail, row.key_id, keys.installed(),
                )  # fmt: skip
            connection.execute(
                update(AuditEntry.__table__).where(AuditEntry.id == row.id).values(**values)
            )
            prev = values["hash"]
        connection.execute(
            update(AuditHead.__table__).where(AuditHead.id == 1).values(last_hash=prev)
        )


def test_an_intact_log_verifies(registry: Registry, url: str, tmp_path: Path, key_a: None) -> None:
    write_entries(registry, 3)
    checkpoint(registry, tmp_path)
    write_entries(registry, 2, first=3)
    checkpoint(registry, tmp_path)
    result = run_verify(url, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "intact: 5 entries, checked against 2 checkpoints, latest at " in result.stdout


@pytest.mark.parametrize("how", ["update", "delete", "cut"])
def test_tampering_is_reported_with_the_entry_id(
    registry: Registry, url: str, tmp_path: Path, how: str, key_a: None
) -> None:
    write_entries(registry, 5)
    entry_id = tamper(registry, how)
    result = run_verify(url, tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"entry {entry_id}:" in result.stdout
    assert "NOT intact" in result.stdout


def test_an_edit_rehashed_with_the_old_sha256_recipe_is_found(
    registry: Registry, url: str, tmp_path: Path, key_a: None
) -> None:
    write_entries(registry, 5)
    rehash(registry, 3, "sha256")
    result = run_verify(url, tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "entry 3:" in result.stdout and "NOT intact" in result.stdout


def test_a_whole_chain_rehashed_with_sha256_contradicts_the_checkpoint(
    registry: Registry, url: str, tmp_path: Path, key_a: None
) -> None:
    write_entries(registry, 5)
    checkpoint(registry, tmp_path)
    rehash(registry, 1, "sha256")  # now it looks like a chain of the previous release
    result = run_verify(url, tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "checkpoint" in result.stdout and "entry 5" in result.stdout


def test_an_edit_rehashed_with_the_key_contradicts_the_checkpoint(
    registry: Registry, url: str, tmp_path: Path, key_a: None
) -> None:
    write_entries(registry, 5)
    checkpoint(registry, tmp_path)
    rehash(registry, 3, "keyed")
    result = run_verify(url, tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "checkpoint" in result.stdout and "entry 5" in result.stdout


def test_a_wiped_log_and_head_contradict_the_checkpoint(
    registry: Registry, url: str, tmp_path: Path, key_a: None
) -> None:
    write_entries(registry, 5)
    checkpoint(registry, tmp_path)
    with registry.session() as session, session.begin():
        session.execute(delete(AuditEntry))
        session.execute(delete(AuditHead))
    result = run_verify(url, tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "checkpoint" in result.stdout and "entry 5" in result.stdout


def test_a_cut_tail_with_a_rewritten_head_contradicts_the_checkpoint(
    registry: Registry, url: str, tmp_path: Path, key_a: None
) -> None:
    write_entries(registry, 5)
    checkpoint(registry, tmp_path)
    with registry.session() as session, session.begin():
        third = session.get(AuditEntry, 3)
        assert third is not None
        session.execute(delete(AuditEntry).where(AuditEntry.id > 3))
        session.execute(update(AuditHead).values(last_id=3, last_hash=third.hash, entries=3))
    result = run_verify(url, tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "checkpoint" in result.stdout and "entry 5" in result.stdout


def test_a_forged_checkpoint_is_refused(
    registry: Registry, url: str, tmp_path: Path, key_a: None
) -> None:
    from anxin.cloud.audit import keys

    write_entries(registry, 2)
    with keys.using(keys.AuditKeys.from_texts(KEY_B)):
        checkpoint(registry, tmp_path)  # signed with a key the verifier does not know
    result = run_verify(url, tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "checkpoint" in result.stdout and "line 1" in result.stdout


def test_a_previous_release_chain_still_verifies_and_continues_keyed(
    registry: Registry, url: str, tmp_path: Path, key_a: None
) -> None:
    # Three entries exactly as the previous release wrote them: unkeyed SHA-256.
    prev = "0" * 64
    with registry.engine.begin() as connection:
        for number in range(3):
            row = AuditEntry(
                at_ms=1_700_000_000_000 + number, actor="admin", action="read",
                target=f"persons/p{number}", person_id=None, detail={"n": number},
            )  # fmt: skip
            digest = sha256_recipe(row, prev)
            connection.execute(
                text(
                    "INSERT INTO audit_log (at_ms, actor, action, target, detail, prev_hash, hash)"
                    " VALUES (:at, 'admin', 'read', :target, :detail, :prev, :hash)"
                ),
                {"at": row.at_ms, "target": row.target, "detail": json.dumps(row.detail),
                 "prev": prev, "hash": digest},
            )  # fmt: skip
            prev = digest
        connection.execute(
            text("INSERT INTO audit_head (id, last_id, last_hash, entries) VALUES (1, 3, :h, 3)"),
            {"h": prev},
        )
    assert run_verify(url, tmp_path).returncode == 0
    write_entries(registry, 2)  # the keyed chain starts here
    checkpoint(registry, tmp_path)
    result = run_verify(url, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "intact: 5 entries, checked against 1 checkpoints" in result.stdout
    with registry.session() as session:
        key_ids = list(session.scalars(select(AuditEntry.key_id).order_by(AuditEntry.id)))
    assert key_ids[:3] == ["", "", ""] and key_ids[3] == key_ids[4] != ""


def test_entries_under_a_rotated_out_key_still_verify(
    registry: Registry, url: str, tmp_path: Path
) -> None:
    from anxin.cloud.audit import keys

    with keys.using(keys.AuditKeys.from_texts(KEY_A)):
        write_entries(registry, 3)
        checkpoint(registry, tmp_path)
    with keys.using(keys.AuditKeys.from_texts(KEY_B, [KEY_A])):
        write_entries(registry, 2, first=3)
        checkpoint(registry, tmp_path)
    rotated = run_verify(url, tmp_path, key=KEY_B, old_keys=(KEY_A,))
    assert rotated.returncode == 0, rotated.stdout + rotated.stderr
    assert "intact: 5 entries, checked against 2 checkpoints" in rotated.stdout
    forgotten = run_verify(url, tmp_path, key=KEY_B)
    assert forgotten.returncode == 1, forgotten.stdout + forgotten.stderr
    old_id = keys.AuditKeys.from_texts(KEY_A).current_id
    assert f"entry 1: made with audit key {old_id}" in forgotten.stdout


def test_verifying_keyed_entries_needs_the_key(
    registry: Registry, url: str, tmp_path: Path, key_a: None
) -> None:
    write_entries(registry, 2)
    result = run_verify(url, tmp_path, key=None)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "[audit] key" in result.stdout + result.stderr


def test_concurrent_appends_from_threads_keep_the_chain(registry: Registry) -> None:
    def writer(number: int) -> None:
        for step in range(15):
            audit_writer.append(registry, f"worker-{number}", "read", f"alerts/{step}")

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with registry.session() as session:
        result = verify(session)
        count = session.scalar(select(func.count()).select_from(AuditEntry))
    assert result.intact, result.problems
    assert result.entries == count == 60


def test_concurrent_appenders_never_lose_a_race_for_the_head(registry: Registry) -> None:
    # Each entry in a transaction of its own and no retry: a writer that read the head
    # before another committed would be refused (unique prev_hash) and the request behind
    # it answered 500 or 503. Both databases make the second writer wait for the first.
    failures: list[BaseException] = []

    def writer(number: int) -> None:
        for step in range(15):
            try:
                with registry.session() as session, session.begin():
                    record(session, f"worker-{number}", "read", f"alerts/{step}")
            except Exception as exc:
                failures.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    with registry.session() as session:
        assert verify(session).entries == 120


WRITER = """
import sys
from anxin.cloud.audit import keys, writer as audit_writer
from anxin.cloud.database.engines import make_engine
from anxin.cloud.registry.registry import Registry
keys.install(keys.AuditKeys.from_texts(sys.argv[3]))
registry = Registry(make_engine(sys.argv[1]))
for step in range(25):
    audit_writer.append(registry, "process-" + sys.argv[2], "read", f"alerts/{step}")
"""


@pytest.mark.services
def test_two_processes_appending_on_postgresql_keep_the_chain(
    postgres_url: str, key_a: None
) -> None:
    registry = Registry(make_engine(postgres_url))
    registry.create_schema()
    try:
        writers = [
            subprocess.Popen([sys.executable, "-c", WRITER, postgres_url, str(n), KEY_A])
            for n in range(2)
        ]
        assert [w.wait(timeout=120) for w in writers] == [0, 0]
        with registry.session() as session:
            result = verify(session)
        assert result.intact, result.problems
        assert result.entries == 50
    finally:
        registry.engine.dispose()


async def test_the_api_process_checkpoints_the_chain_while_it_runs_and_at_shutdown(
    url: str, tmp_path: Path, key_a: None
) -> None:
    from anxin.cloud.service import start_api
    from anxin.cloud.stores import open_stores
    from anxin.config import CloudConfig

    config = CloudConfig.model_validate(
        {
            "registry": {"url": url},
            "timeseries": {"url": f"sqlite:///{tmp_path}/timeseries.sqlite"},
            "api": {"port": 0},
            "follow_up": {"enabled": False},
            "escalation": {"enabled": False},
            "notifications": {"enabled": False},
            "audit": {
                "key": KEY_A,
                "checkpoint_file": str(checkpoint_file(tmp_path)),
                "checkpoint_interval_s": 1,
            },
        }
    )
    stores = open_stores(config)
    runner = await start_api(config, stores, port=0)

    def lines() -> list[dict[str, Any]]:
        path = checkpoint_file(tmp_path)
        text = path.read_text() if path.exists() else ""
        return [json.loads(line) for line in text.splitlines()]

    try:
        await eventually(lambda: lines(), what="the checkpoint written at start")
        write_entries(stores.registry, 3)
        await eventually(
            lambda: any(line["entries"] == 3 for line in lines()), what="a checkpoint of 3"
        )
        write_entries(stores.registry, 1, first=3)
    finally:
        await runner.cleanup()
        stores.close()
    assert lines()[-1]["entries"] == 4, "no checkpoint at shutdown"
    result = run_verify(url, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "intact: 4 entries, checked against" in result.stdout


def test_the_api_refuses_to_start_without_an_audit_key(tmp_path: Path) -> None:
    config = tmp_path / "cloud.toml"
    config.write_text(
        f'[registry]\nurl = "sqlite:///{tmp_path}/r.sqlite"\n\n[api]\nport = 0\n'
        f'[timeseries]\nurl = "sqlite:///{tmp_path}/t.sqlite"\n'
    )
    environ = {k: v for k, v in os.environ.items() if not k.startswith("ANXIN_AUDIT__")}
    result = subprocess.run(
        [sys.executable, "-m", "anxin.cli", "cloud", "api", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=30,
        env=environ,
    )
    assert result.returncode == 2, result.stdout + result.stderr
    assert "[audit] key" in result.stderr
