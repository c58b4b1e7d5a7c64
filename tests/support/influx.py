"""A throwaway InfluxDB 1.x server (Debian's `influxd`) with all its state under one directory."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

from anxin.cloud.database.engines import make_engine
from anxin.cloud.ingest.influx import InfluxTimeSeries
from anxin.cloud.ingest.timeseries import SqlTimeSeries, TimeSeriesStore
from anxin.config import TimeSeriesConfig

INFLUXD = "/usr/bin/influxd"
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0


def influxd_path() -> str:
    """The influxd binary, or skip the test (fail it when ANXIN_REQUIRE_SERVICES=1)."""
    path = INFLUXD if os.access(INFLUXD, os.X_OK) else shutil.which("influxd")
    if path is None:
        if os.environ.get("ANXIN_REQUIRE_SERVICES") == "1":
            pytest.fail(f"influxd not installed ({INFLUXD} missing) and ANXIN_REQUIRE_SERVICES=1")
        pytest.skip("influxd not installed")
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def write_config(root: Path, http_port: int, rpc_port: int, auth: bool = False) -> Path:
    # Debian's build reads "reporting-enabled", upstream 1.x "reporting-disabled"; influxd
    # ignores keys it does not know, so both are set. Every listener but HTTP stays off.
    config = f"""\
reporting-disabled = true
reporting-enabled = false
bind-address = "127.0.0.1:{rpc_port}"

[meta]
  dir = "{root / "meta"}"

[data]
  dir = "{root / "data"}"
  wal-dir = "{root / "wal"}"
  query-log-enabled = false

[monitor]
  store-enabled = false

[http]
  enabled = true
  bind-address = "127.0.0.1:{http_port}"
  auth-enabled = {"true" if auth else "false"}
  log-enabled = false
  pprof-enabled = false

[admin]
  enabled = false

[continuous_queries]
  enabled = false

[[graphite]]
  enabled = false

[[collectd]]
  enabled = false

[[opentsdb]]
  enabled = false

[[udp]]
  enabled = false
"""
    path = root / "influxdb.conf"
    path.write_text(config)
    return path


class InfluxServer:
    """One influxd process: `start()` returns once /ping answers, `stop()` waits for exit."""

    def __init__(self, root: Path, auth: bool = False) -> None:
        self.root = root
        self.auth = auth
        self.http_port = free_port()
        self.base_url = f"http://127.0.0.1:{self.http_port}"
        self.log_path = root / "influxd.log"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> str:
        binary = influxd_path()
        self.root.mkdir(parents=True, exist_ok=True)
        config = write_config(self.root, self.http_port, free_port(), self.auth)
        with self.log_path.open("wb") as log:
            self._process = subprocess.Popen(
                [binary, "run", "-config", str(config)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self._wait_ready()
        return self.base_url

    def _wait_ready(self) -> None:
        assert self._process is not None
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(
                    f"influxd exited with {self._process.returncode} on start:\n{self.log_tail()}"
                )
            try:
                if requests.get(f"{self.base_url}/ping", timeout=1.0).status_code == 204:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(
            f"influxd did not answer /ping within {START_TIMEOUT_S:.0f} s:\n{self.log_tail()}"
        )

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


@contextmanager
def running_influxd(tmp_path: Path, auth: bool = False) -> Iterator[str]:
    """Start influxd with its state under tmp_path; yield its base URL; stop it on exit."""
    server = InfluxServer(tmp_path / "influxd", auth=auth)
    server.start()
    try:
        yield server.base_url
    finally:
        server.stop()


STORE_BACKENDS = ["sqlite", "postgresql", "influxdb"]


@contextmanager
def store_on_backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TimeSeriesStore]:
    """An empty time-series store on the backend a ``STORE_BACKENDS``-parametrised fixture
    was given; InfluxDB needs an ``influx_url`` fixture in the test module."""
    timeseries: TimeSeriesStore
    if request.param == "influxdb":
        request.applymarker(pytest.mark.services)
        url = request.getfixturevalue("influx_url")
        database = f"anxin_test_{uuid.uuid4().hex[:8]}"
        timeseries = InfluxTimeSeries(
            TimeSeriesConfig(backend="influxdb", url=url, database=database)
        )
    else:
        if request.param == "postgresql":
            request.applymarker(pytest.mark.services)
            url = request.getfixturevalue("postgres_url")
        else:
            url = f"sqlite:///{tmp_path}/ts.sqlite"
        sql = SqlTimeSeries(make_engine(url))
        sql.create_schema()
        timeseries = sql
    try:
        yield timeseries
    finally:
        timeseries.close()
