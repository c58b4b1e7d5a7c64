"""`anxin bench ingest` with tiny numbers: its figures print and nothing is lost or doubled."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from tests.support.influx import influxd_path

pytestmark = pytest.mark.services


def test_bench_ingest_prints_its_figures_and_stores_every_observation_once(
    mosquitto: tuple[str, int],
) -> None:
    influxd_path()  # skips (or fails under ANXIN_REQUIRE_SERVICES=1) without influxd
    host, port = mosquitto
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "anxin.cli",
            "--log-level",
            "WARNING",
            "bench",
            "ingest",
            "--workers",
            "1,2",
            "--messages",
            "12",
            "--gateways",
            "3",
            "--mqtt-host",
            host,
            "--mqtt-port",
            str(port),
        ],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    for workers in (1, 2):
        rate = re.search(
            rf"workers {workers}: ingest ([\d,]+) obs/s  plain line protocol ([\d,]+) obs/s  "
            r"ratio (\d+) %",
            out,
        )
        assert rate is not None, out
        assert int(rate[1].replace(",", "")) > 0 and int(rate[2].replace(",", "")) > 0
        assert (
            f"workers {workers}: stored 600 of 600 observations" in out
            and "lost 0, distinct (gateway, seq) 600" in out
        ), out
        delay = re.search(
            rf"workers {workers}: publish to queryable through the API: "
            r"p50 (\d+) ms, p99 (\d+) ms over (\d+) probes \(0 not seen\)",
            out,
        )
        assert delay is not None and int(delay[3]) >= 5, out
    assert "total: 2 runs, 0 observations lost or duplicated" in out
