"""The console's server: serves on an ephemeral port and gives the port back when stopped."""

from __future__ import annotations

import socket

import pytest
import requests

from anxin.config import DashboardConfig
from anxin.dashboard import DashboardServer, create_dashboard, ids


def test_create_dashboard_has_the_elements_tests_rely_on() -> None:
    app = create_dashboard(DashboardConfig(language="en", refresh_s=3))
    layout = str(app.layout)
    for element in (
        ids.ALERTS_PANEL,
        ids.RECIPIENTS,
        ids.HR_CHART,
        ids.SPO2_CHART,
        ids.LANG_SWITCH,
    ):
        assert f"'{element}'" in layout
    assert "interval=3000" in layout


def test_server_serves_the_page_and_releases_the_port() -> None:
    server = DashboardServer(
        DashboardConfig(host="127.0.0.1", port=0, api_url="http://127.0.0.1:9/api/v1")
    )
    server.start()
    try:
        port = server.port
        assert server.url == f"http://127.0.0.1:{port}"
        page = requests.get(server.url, timeout=5)
        assert page.status_code == 200
        assert "安心 · 社区照护台" in page.text
        assert 'lang="zh-CN"' in page.text
        assert requests.get(f"{server.url}/_dash-layout", timeout=5).status_code == 200
    finally:
        server.stop()
    with socket.socket() as sock:
        # SO_REUSEADDR lets the bind pass over closed connections in TIME_WAIT; it still
        # fails with EADDRINUSE while anything listens on the port.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))
        sock.listen()
    with pytest.raises(RuntimeError):
        _ = server.url


def test_stop_is_safe_to_call_twice() -> None:
    server = DashboardServer(DashboardConfig(port=0))
    server.start()
    server.stop()
    server.stop()
