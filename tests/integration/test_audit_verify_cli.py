"""`anxin admin audit verify` finds edited, deleted and cut-off entries; concurrent writers
(threads, and on PostgreSQL separate processes) leave the chain intact."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import delete, func, select, update

from anxin.cloud.audit import writer as audit_writer
from anxin.cloud.audit.chain import verify
from anxin.cloud.database.engines import make_engine
from anxin.cloud.database.models import AuditEntry
from anxin.cloud.registry.registry import Registry

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.services)]


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


def run_verify(url: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    config = tmp_path / "cloud.toml"
    config.write_text(f'[registry]\nurl = "{url}"\n')
    return subprocess.run(
        [sys.executable, "-m", "anxin.cli", "admin", "audit", "verify", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def write_entries(registry: Registry, count: int) -> None:
    for number in range(count):
        audit_writer.append(
            registry, "worker", "read", f"persons/p{number:04d}", f"p{number:04d}", {"n": number}
        )


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


def test_an_intact_log_verifies(registry: Registry, url: str, tmp_path: Path) -> None:
    write_entries(registry, 5)
    result = run_verify(url, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "checked 5 audit entries" in result.stdout and "intact" in result.stdout


@pytest.mark.parametrize("how", ["update", "delete", "cut"])
def test_tampering_is_reported_with_the_entry_id(
    registry: Registry, url: str, tmp_path: Path, how: str
) -> None:
    write_entries(registry, 5)
    entry_id = tamper(registry, how)
    result = run_verify(url, tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"entry {entry_id}:" in result.stdout
    assert "NOT intact" in result.stdout


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


WRITER = """
import sys
from anxin.cloud.audit import writer as audit_writer
from anxin.cloud.database.engines import make_engine
from anxin.cloud.registry.registry import Registry
registry = Registry(make_engine(sys.argv[1]))
for step in range(25):
    audit_writer.append(registry, "process-" + sys.argv[2], "read", f"alerts/{step}")
"""


@pytest.mark.services
def test_two_processes_appending_on_postgresql_keep_the_chain(postgres_url: str) -> None:
    registry = Registry(make_engine(postgres_url))
    registry.create_schema()
    try:
        writers = [
            subprocess.Popen([sys.executable, "-c", WRITER, postgres_url, str(n)]) for n in range(2)
        ]
        assert [w.wait(timeout=120) for w in writers] == [0, 0]
        with registry.session() as session:
            result = verify(session)
        assert result.intact, result.problems
        assert result.entries == 50
    finally:
        registry.engine.dispose()
