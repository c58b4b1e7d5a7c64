"""``anxin bench api``: how fast the API answers the inbox and the persons list, quietly and
while strangers post wrong passwords.

An ``anxin cloud api`` process serves a registry of the demo's people (``--persons`` of
them, each with an open alert) on SQLite, or on a throwaway schema of PostgreSQL with
``--postgres``. A worker's ``--clients`` concurrent clients ask for ``GET /alerts`` (then
``GET /persons``) for ``--seconds``; then again while ``--bad-clients`` more post wrong
passwords as fast as they are answered, each from a new address and for a new name (through
X-Forwarded-For, the API trusting the bench as its proxy), so that every one of them costs a
password check: the throttle's per-address and per-account counters never hold them back,
only the hash pool's bound does. Printed: requests/s and p99 of both, their ratio, the
outcome of the bad logins, and the rate of ``GET /health`` on the same server with as many
clients (what the server and this machine can do at all). Prints figures; never passes or
fails on time.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from anxin.protocol import AlertMessage

ROUTES = ("/alerts", "/persons")
START_TIMEOUT_S = 60.0


@dataclass
class Load:
    """Answers to one kind of request during one run."""

    seconds: float = 0.0
    latencies_s: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)

    @property
    def rate(self) -> float:
        return len(self.latencies_s) / self.seconds if self.seconds else 0.0

    @property
    def p99_ms(self) -> float:
        if not self.latencies_s:
            return float("nan")
        ordered = sorted(self.latencies_s)
        return ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))] * 1000


@dataclass(frozen=True)
class RouteFigures:
    route: str
    quiet: Load
    attacked: Load
    bad_logins: Load

    def line(self) -> str:
        ratio = self.quiet.rate / self.attacked.rate if self.attacked.rate else float("inf")
        return (
            f"GET {self.route:<9} quiet {self.quiet.rate:8,.0f} req/s  p99 {self.quiet.p99_ms:7.1f} ms"
            f"  | under bad logins {self.attacked.rate:8,.0f} req/s  "
            f"p99 {self.attacked.p99_ms:7.1f} ms  | slowdown {ratio:.2f}x (rate), "
            f"{self.attacked.p99_ms / self.quiet.p99_ms:.2f}x (p99)"
        )

    def bad_login_line(self) -> str:
        s = self.bad_logins.statuses
        return (
            f"bad logins during GET {self.route}: {sum(s.values())} answered "
            f"({self.bad_logins.rate:,.0f}/s): {s[401]} checked (401), "
            f"{s[429]} throttled (429), {s[503]} busy (503), "
            f"{sum(v for k, v in s.items() if k not in (401, 429, 503))} other"
        )


# --- the dataset and the server ---------------------------------------------------------------


def seed(registry_url: str, persons: int) -> None:
    from anxin.cloud.database.engines import make_engine
    from anxin.cloud.registry.registry import Registry, now_ms
    from anxin.demo.homes import demo_homes, seed_registry

    registry = Registry(make_engine(registry_url))
    registry.create_schema()
    homes = demo_homes(persons)
    seed_registry(registry, homes)
    raised = now_ms()
    for home in homes:
        registry.record_alert(
            AlertMessage(
                site_id=home.site_id,
                gateway_id=home.gateway_id,
                seq=1,
                device_id=f"hr-{home.number}",
                kind="heart_rate_high",
                severity="high",
                raised_at_ms=raised - home.number * 1000,
                observation="heart_rate",
                value=131,
                threshold=120,
                message="heart_rate above 120",
            ),
            home.person_id,
        )
    registry.engine.dispose()


@contextlib.contextmanager
def registry_database(work: Path, postgres_url: str | None) -> Iterator[str]:
    """A SQLite file, or a throwaway schema in ``postgres_url`` dropped afterwards."""
    if postgres_url is None:
        yield f"sqlite:///{work / 'registry.sqlite'}"
        return
    from sqlalchemy import text

    from anxin.cloud.database.engines import make_engine

    schema = f"anxin_bench_{uuid.uuid4().hex[:10]}"
    admin = make_engine(postgres_url)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    joiner = "&" if "?" in postgres_url else "?"
    try:
        yield f"{postgres_url}{joiner}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@contextlib.contextmanager
def api_process(
    work: Path, registry_url: str, audit_key: str, hash_threads: int | None
) -> Iterator[str]:
    """``anxin cloud api`` on a free port; yields its base URL."""
    config = work / "cloud.toml"
    config.write_text(
        f'[registry]\nurl = "{registry_url}"\n\n'
        f'[timeseries]\nbackend = "sql"\nurl = "sqlite:///{work / "timeseries.sqlite"}"\n\n'
        '[api]\nhost = "127.0.0.1"\nport = 0\nsecond_factor_roles = []\n'
        'trusted_proxies = ["127.0.0.1"]\n'
        + (f"login_hash_threads = {hash_threads}\n" if hash_threads else "")
        + "\n"
        f'[audit]\nkey = "{audit_key}"\n'
        f'checkpoint_file = "{work / "audit-checkpoints.jsonl"}"\n'
    )
    log = work / "api.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANXIN_")}
    with log.open("wb") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "anxin.cli", "cloud", "api", "--config", str(config)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=stderr,
            env=env,
        )
    try:
        assert process.stdout is not None
        line = process.stdout.readline().decode()  # "Anxin API on http://…/api/v1"
        if "http://" not in line:
            raise RuntimeError(f"the API did not start: {line!r}; see {log}")
        yield line[line.index("http://") :].strip()
    except Exception:
        # The work folder goes with the run: show why the server failed while it is here.
        sys.stderr.write("the API's log ends:\n" + "".join(log.read_text().splitlines(True)[-40:]))
        raise
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# --- the load --------------------------------------------------------------------------------


async def hammer(
    http: aiohttp.ClientSession, url: str, headers: dict[str, str], until: float, load: Load
) -> None:
    while time.monotonic() < until:
        started = time.perf_counter()
        async with http.get(url, headers=headers) as response:
            await response.read()
        load.latencies_s.append(time.perf_counter() - started)
        load.statuses[response.status] += 1


async def guess(
    http: aiohttp.ClientSession, url: str, numbers: Iterator[int], until: float, load: Load
) -> None:
    while time.monotonic() < until:
        n = next(numbers)
        address = f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}"
        body = {"username": f"stranger-{n}", "password": "not the password"}
        started = time.perf_counter()
        async with http.post(url, json=body, headers={"X-Forwarded-For": address}) as response:
            await response.read()
        load.latencies_s.append(time.perf_counter() - started)
        load.statuses[response.status] += 1


async def run_load(
    http: aiohttp.ClientSession,
    api_url: str,
    route: str,
    headers: dict[str, str],
    clients: int,
    bad_clients: int,
    seconds: float,
    numbers: Iterator[int],
) -> tuple[Load, Load]:
    load, bad = Load(), Load()
    started = time.monotonic()
    until = started + seconds
    tasks = [hammer(http, f"{api_url}{route}", headers, until, load) for _ in range(clients)]
    tasks += [guess(http, f"{api_url}/login", numbers, until, bad) for _ in range(bad_clients)]
    await asyncio.gather(*tasks)
    load.seconds = bad.seconds = time.monotonic() - started
    failed = sum(v for k, v in load.statuses.items() if k != 200)
    if failed:
        raise RuntimeError(f"GET {route}: {failed} answers were not 200: {dict(load.statuses)}")
    return load, bad


async def bench_api(
    api_url: str, clients: int, bad_clients: int, seconds: float
) -> tuple[Load, list[RouteFigures]]:
    connector = aiohttp.TCPConnector(limit=clients + bad_clients + 2)
    numbers = itertools.count(1)
    async with aiohttp.ClientSession(connector=connector) as http:
        login = {"username": "worker", "password": "anxin-worker"}
        async with http.post(f"{api_url}/login", json=login) as response:
            if response.status != 200:
                raise RuntimeError(f"worker login answered {response.status}")
            headers = {"Authorization": f"Bearer {(await response.json())['token']}"}
        health, _ = await run_load(http, api_url, "/health", {}, clients, 0, seconds, numbers)
        figures = []
        for route in ROUTES:
            await run_load(http, api_url, route, headers, clients, 0, min(1.0, seconds), numbers)
            quiet, _ = await run_load(http, api_url, route, headers, clients, 0, seconds, numbers)
            attacked, bad = await run_load(
                http, api_url, route, headers, clients, bad_clients, seconds, numbers
            )
            figures.append(RouteFigures(route, quiet, attacked, bad))
        return health, figures


def run_api_bench(
    persons: int,
    clients: int,
    bad_clients: int,
    seconds: float,
    postgres_url: str | None,
    hash_threads: int | None = None,
) -> None:
    from anxin.config import ApiConfig

    backend = "PostgreSQL" if postgres_url else "SQLite"
    threads = hash_threads or ApiConfig().login_hash_threads
    print(
        f"anxin bench api: {persons} persons with an open alert each, {backend} registry, "
        f"{clients} clients, {bad_clients} clients posting wrong passwords, {seconds:g} s per run, "
        f"{threads} password-hashing thread(s), {os.cpu_count()} CPUs",
        flush=True,
    )
    from anxin.cloud.audit import keys as audit_keys

    audit_key = audit_keys.new_key()
    with (
        tempfile.TemporaryDirectory(prefix="anxin-bench-api-") as tmp,
        audit_keys.using(audit_keys.AuditKeys.from_texts(audit_key)),
    ):
        work = Path(tmp)
        with registry_database(work, postgres_url) as registry_url:
            seed(registry_url, persons)
            with api_process(work, registry_url, audit_key, hash_threads) as api_url:
                health, figures = asyncio.run(bench_api(api_url, clients, bad_clients, seconds))
    print(
        f"  GET /health    {health.rate:8,.0f} req/s  p99 {health.p99_ms:7.1f} ms"
        "  (the raw limit of this server and machine)",
        flush=True,
    )
    for figure in figures:
        print(f"  {figure.line()}", flush=True)
    for figure in figures:
        print(f"  {figure.bad_login_line()}", flush=True)
