"""Shared fixtures: real services, and the rule that a skipped service test fails CI."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

REQUIRE_SERVICES = os.environ.get("ANXIN_REQUIRE_SERVICES") == "1"
MOSQUITTO = ("127.0.0.1", int(os.environ.get("ANXIN_TEST_MQTT_PORT", "1883")))
POSTGRES_URL = os.environ.get(
    "ANXIN_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


# The audit log needs a key in every process that writes or verifies it: one per test run,
# in the environment so that the anxin commands tests start use it too.
os.environ.setdefault("ANXIN_AUDIT__KEY", os.urandom(32).hex())


def run_audit_keys():  # type: ignore[no-untyped-def]
    from anxin.cloud.audit import keys

    return keys.using(keys.AuditKeys.from_texts(os.environ["ANXIN_AUDIT__KEY"]))


@pytest.fixture(autouse=True, scope="session")
def audit_key() -> Iterator[None]:
    with run_audit_keys():
        yield


@pytest.fixture(autouse=True)
def audit_key_each_test(audit_key: None) -> Iterator[None]:
    """The run's key again for each test: opening stores with a configuration of their own
    (the demo, a bench) installs that configuration's key in the process."""
    with run_audit_keys():
        yield


@pytest.fixture(autouse=True)
def audit_checkpoint_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test's anxin commands anchor (and verify) the audit chain in a file of its own."""
    monkeypatch.setenv("ANXIN_AUDIT__CHECKPOINT_FILE", str(tmp_path / "audit-checkpoints.jsonl"))


def reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False


def service_missing(what: str) -> None:
    message = f"{what} is not reachable"
    if REQUIRE_SERVICES:
        pytest.fail(f"{message} and ANXIN_REQUIRE_SERVICES=1")
    pytest.skip(message)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    outcome = yield
    report = outcome.get_result()
    needs_service = any(item.get_closest_marker(name) for name in ("services", "browser"))
    if REQUIRE_SERVICES and report.skipped and needs_service:
        report.outcome = "failed"
        report.longrepr = (
            f"service-backed test skipped while ANXIN_REQUIRE_SERVICES=1: {report.longrepr}"
        )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def mosquitto() -> tuple[str, int]:
    if not reachable(*MOSQUITTO):
        service_missing(f"Mosquitto at {MOSQUITTO[0]}:{MOSQUITTO[1]}")
    return MOSQUITTO


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A throwaway schema in the real PostgreSQL, dropped afterwards."""
    with throwaway_postgres_schema() as url:
        yield url


@pytest.fixture(scope="module")
def postgres_url_module() -> Iterator[str]:
    """One throwaway schema shared by a module's tests."""
    with throwaway_postgres_schema() as url:
        yield url


@contextmanager
def throwaway_postgres_schema() -> Iterator[str]:
    from sqlalchemy import create_engine, text

    if not reachable("127.0.0.1", 5432):
        service_missing("PostgreSQL at 127.0.0.1:5432")
    schema = f"anxin_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(POSTGRES_URL)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as connection:
            # A connection the test left open would block the drop forever: fail instead.
            connection.execute(text("SET LOCAL lock_timeout = '15s'"))
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def topic_root() -> str:
    """A topic root of the test's own, so tests sharing one broker never see each other."""
    return f"anxin-test-{uuid.uuid4().hex[:8]}/v1"
