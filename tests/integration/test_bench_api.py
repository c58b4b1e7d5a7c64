"""`anxin bench api` with tiny numbers: its figures print, on SQLite and on PostgreSQL."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from tests.conftest import POSTGRES_URL


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.services)]
)
def test_bench_api_prints_rates_quiet_and_under_bad_logins(
    backend: str, request: pytest.FixtureRequest
) -> None:
    extra: list[str] = []
    if backend == "postgresql":
        request.getfixturevalue("postgres_url")  # skips, or fails when required, without it
        extra = ["--postgres", POSTGRES_URL]
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "anxin.cli",
            "--log-level",
            "WARNING",
            "bench",
            "api",
            "--persons",
            "12",
            "--clients",
            "2",
            "--bad-clients",
            "2",
            "--seconds",
            "0.5",
            *extra,
        ],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    assert ("PostgreSQL registry" if backend == "postgresql" else "SQLite registry") in out
    assert re.search(r"GET /health +[\d,]+ req/s  p99 +[\d.]+ ms", out), out
    for route in ("/alerts", "/persons"):
        line = re.search(
            rf"GET {route} +quiet +([\d,]+) req/s  p99 +[\d.]+ ms  \| under bad logins +([\d,]+) "
            r"req/s  p99 +[\d.]+ ms  \| slowdown [\d.]+x \(rate\), [\d.]+x \(p99\)",
            out,
        )
        assert line is not None, out
        assert int(line[1].replace(",", "")) > 0 and int(line[2].replace(",", "")) > 0
        bad = re.search(rf"bad logins during GET {route}: (\d+) answered .*, 0 other", out)
        assert bad is not None and int(bad[1]) > 0, out
