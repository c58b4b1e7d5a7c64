"""A Mosquitto of the test's own: its own port, directory and configuration lines, so a
test can stop and restart it, or give it password files, ACLs and TLS listeners."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

from tests.conftest import free_port, reachable, service_missing


class OwnMosquitto:
    """``listener_lines`` replace the default plain, anonymous listener; ``extra_lines``
    are added to the configuration as they are (``password_file``, ``acl_file`` ...)."""

    def __init__(
        self,
        directory: Path,
        *,
        persistence: bool = True,
        listener_lines: list[str] | None = None,
        extra_lines: list[str] | None = None,
    ) -> None:
        if shutil.which("mosquitto") is None:
            service_missing("the mosquitto program")
        self.port = free_port()
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self.config = directory / "mosquitto.conf"
        self.log = directory / "mosquitto.log"
        listener = listener_lines or ["allow_anonymous true"]
        lines = [
            "per_listener_settings false",
            f"listener {self.port} 127.0.0.1",
            *listener,
            f"log_dest file {self.log}",
            "log_type error",
            "log_type warning",
            "log_type notice",
        ]
        if persistence:
            lines += ["persistence true", f"persistence_location {directory}/"]
        # Started as root, mosquitto would switch to the "mosquitto" user, which cannot
        # read or write the test's private directory.
        if os.geteuid() == 0:
            lines.append("user root")
        lines += extra_lines or []
        self.config.write_text("\n".join(lines) + "\n", encoding="utf-8")
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["mosquitto", "-c", str(self.config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while not reachable("127.0.0.1", self.port):
            if self.process.poll() is not None:
                raise RuntimeError(f"mosquitto exited at start:\n{self.log_tail()}")
            assert time.monotonic() < deadline, "mosquitto did not start"
            time.sleep(0.05)

    def reload(self) -> None:
        """SIGHUP: Mosquitto rereads its password file and ACL file."""
        assert self.process is not None
        self.process.send_signal(signal.SIGHUP)

    def stop(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGTERM)  # saves its persistence file
            self.process.wait(10)
            self.process = None

    def log_tail(self, lines: int = 30) -> str:
        if not self.log.exists():
            return "(no log)"
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
