"""Shared fixtures: a real cloud API with the demo data, and the real console in front of it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver

from anxin.config import DashboardConfig
from anxin.dashboard import DashboardServer
from tests.browser import chromium
from tests.browser.live_api import LiveApi, running_api


@pytest.fixture(scope="module")
def live_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApi]:
    """The demo data behind a real API; see ``running_api``."""
    with running_api(tmp_path_factory.mktemp("api")) as api:
        yield api


@pytest.fixture(scope="module")
def console(live_api: LiveApi) -> Iterator[DashboardServer]:
    """The console in front of ``live_api``, refreshing every second so tests wait less."""
    config = DashboardConfig(host="127.0.0.1", port=0, api_url=live_api.url, refresh_s=1.0)
    with DashboardServer(config) as server:
        yield server


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[webdriver.Chrome]:
    if not chromium.available():
        pytest.skip(f"needs {chromium.CHROMIUM} and {chromium.CHROMEDRIVER}")
    driver = chromium.headless_chromium(tmp_path / "chromium-profile")
    try:
        yield driver
    finally:
        driver.quit()
