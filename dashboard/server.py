"""Serving the console's Flask app with werkzeug: in a background thread, or in the foreground."""

from __future__ import annotations

import logging
import signal
import threading

from werkzeug.serving import BaseWSGIServer, make_server

from anxin.config import DashboardConfig
from anxin.dashboard.app import create_dashboard

log = logging.getLogger(__name__)


def _make_server(config: DashboardConfig) -> BaseWSGIServer:
    app = create_dashboard(config)
    # threaded: the interval callbacks of several browser tabs must not queue behind each other
    return make_server(config.host, config.port, app.server, threaded=True)


class DashboardServer:
    """The console on ``config.host:config.port`` (port 0 picks a free port; see ``url``)."""

    def __init__(self, config: DashboardConfig) -> None:
        self.config = config
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the dashboard server is not started")
        return self._server.server_port

    @property
    def url(self) -> str:
        return f"http://{self.config.host}:{self.port}"

    def start(self) -> None:
        if self._server is not None:
            raise RuntimeError("the dashboard server is already started")
        self._server = _make_server(self.config)
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="anxin-dashboard", daemon=True
        )
        self._thread.start()
        log.info("dashboard serving at %s (API %s)", self.url, self.config.api_url)

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()  # releases the port
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> DashboardServer:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()


def run(config: DashboardConfig) -> None:
    """Serve until Ctrl+C (``anxin dashboard``)."""
    server = _make_server(config)
    url = f"http://{config.host}:{server.server_port}"
    print(f"Anxin console: {url}  (API {config.api_url}); Ctrl+C stops")

    def stop(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    # Explicitly, because a process started in the background inherits an ignored SIGINT.
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, stop)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
