"""`anxin demo` as a user runs it: the banner, a working console and API, and a clean Ctrl+C."""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

from tests.conftest import free_port
from tests.support.rumqttd_panic import make_rumqttd_panic

pytestmark = [pytest.mark.slow]


def port_is_free(port: int) -> bool:
    """Nothing listens, and a server could bind it again (as servers do, with SO_REUSEADDR)."""
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return False
    except OSError:
        pass
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def test_demo_starts_prints_where_to_go_and_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    ports = {"--api-port": free_port(), "--console-port": free_port(), "--broker-port": free_port()}
    command = [sys.executable, "-m", "anxin.cli", "demo", "--data-dir", str(tmp_path)]
    for flag, port in ports.items():
        command += [flag, str(port)]
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
        env=os.environ | {"PYTHONUNBUFFERED": "1"},
    )
    lines: queue.Queue[str] = queue.Queue()
    reader = threading.Thread(
        target=lambda: [lines.put(line) for line in process.stdout], daemon=True
    )  # type: ignore[union-attr]
    reader.start()
    output: list[str] = []

    def read_until(marker: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not any(marker in line for line in output):
            remaining = deadline - time.monotonic()
            assert remaining > 0 and process.poll() is None, f"no {marker!r} in:\n{''.join(output)}"
            with contextlib.suppress(queue.Empty):
                output.append(lines.get(timeout=remaining))

    try:
        read_until("Press Ctrl+C", 90)
        banner = "".join(output)
        console_url = f"http://127.0.0.1:{ports['--console-port']}"
        api_url = f"http://127.0.0.1:{ports['--api-port']}/api/v1"
        assert console_url in banner and api_url in banner
        assert "worker" in banner and "anxin-worker" in banner and "family" in banner
        assert requests.get(f"{api_url}/health", timeout=10).json()["status"] == "ok"
        assert requests.get(console_url, timeout=10).status_code == 200
        login = requests.post(
            f"{api_url}/login", json={"username": "worker", "password": "anxin-worker"}, timeout=10
        )
        assert login.status_code == 200
    finally:
        process.send_signal(signal.SIGINT)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=60)
        hung = process.poll() is None
        if hung:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
    reader.join(timeout=10)
    while not lines.empty():
        output.append(lines.get())
    assert not hung, "the demo did not stop within 60 s of Ctrl+C:\n" + "".join(output)
    assert process.returncode == 0, "".join(output)
    assert output[-1].strip() == "stopped."
    assert "Traceback" not in "".join(output)
    deadline = time.monotonic() + 10
    while group_alive(process.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not group_alive(process.pid), "a process of the demo outlived it"
    for port in ports.values():
        assert port_is_free(port), f"port {port} still taken after the demo stopped: {ports}"


def test_a_bad_config_file_names_the_key(tmp_path: Path) -> None:
    config = tmp_path / "demo.toml"
    config.write_text("homes = 3\nconsole_port = 8050\n", encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "anxin.cli", "demo", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "key 'console_port': unknown key" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_demo_says_so_and_exits_non_zero_when_its_broker_stops_serving(
    tmp_path: Path,
) -> None:
    broker_port = free_port()
    command = [sys.executable, "-m", "anxin.cli", "demo", "--data-dir", str(tmp_path)]
    command += ["--homes", "1", "--api-port", str(free_port())]
    command += ["--console-port", str(free_port()), "--broker-port", str(broker_port)]
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
        env=os.environ | {"PYTHONUNBUFFERED": "1"},
    )
    try:
        for line in process.stdout:  # type: ignore[union-attr]
            if "Press Ctrl+C" in line:
                break
        make_rumqttd_panic("127.0.0.1", broker_port)
        output, _ = process.communicate(timeout=90)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
    assert process.returncode == 1, output
    assert f"the embedded MQTT broker (rumqttd) on 127.0.0.1:{broker_port} stopped serving" in (
        output
    )
    assert "Traceback" not in output
    assert port_is_free(broker_port), "the broker's port is still taken after the demo stopped"
