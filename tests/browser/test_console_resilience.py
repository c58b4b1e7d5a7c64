"""The console when the API goes away or forgets the session.

Each test has its own API (it is paused or has sessions revoked), so it cannot
disturb the shared one in ``conftest.py``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from anxin.config import DashboardConfig
from anxin.dashboard import DashboardServer, ids
from tests.browser.console_page import (
    WAIT_S,
    log_in,
    switch_language,
    wait_for_text,
    wait_until_visible,
)
from tests.browser.live_api import LiveApi, running_api

pytestmark = pytest.mark.browser


@pytest.fixture
def own_api(tmp_path: Path) -> Iterator[LiveApi]:
    with running_api(tmp_path) as api:
        yield api


@pytest.fixture
def own_console(own_api: LiveApi) -> Iterator[DashboardServer]:
    config = DashboardConfig(host="127.0.0.1", port=0, api_url=own_api.url, refresh_s=1.0)
    with DashboardServer(config) as server:
        yield server


def stored_token(driver: webdriver.Chrome) -> str:
    script = "return window.sessionStorage.getItem(arguments[0]);"
    return json.loads(driver.execute_script(script, ids.SESSION_STORE))["token"]


def test_api_down_shows_a_banner_in_the_current_language_and_recovers(
    browser: webdriver.Chrome, own_console: DashboardServer, own_api: LiveApi
) -> None:
    log_in(browser, own_console.url, "worker", "anxin-worker")
    wait_for_text(browser, ids.RECIPIENTS, "张秀英")

    own_api.pause()
    wait_for_text(browser, ids.API_BANNER, "无法连接服务器")
    assert "张秀英" in browser.find_element(By.ID, ids.RECIPIENTS).text  # last good data stays
    switch_language(browser, "English")
    wait_for_text(browser, ids.API_BANNER, "Cannot reach the server")

    own_api.resume()
    WebDriverWait(browser, WAIT_S).until(
        ec.invisibility_of_element_located((By.ID, ids.API_BANNER)), message="banner stayed up"
    )


def test_login_while_api_down_says_so(
    browser: webdriver.Chrome, own_console: DashboardServer, own_api: LiveApi
) -> None:
    own_api.pause()
    log_in(browser, own_console.url, "worker", "anxin-worker")
    wait_for_text(browser, ids.LOGIN_ERROR, "无法连接服务器")


def test_revoked_session_returns_to_login(
    browser: webdriver.Chrome, own_console: DashboardServer, own_api: LiveApi
) -> None:
    log_in(browser, own_console.url, "worker", "anxin-worker")
    wait_for_text(browser, ids.RECIPIENTS, "张秀英")
    headers = {"Authorization": f"Bearer {stored_token(browser)}"}
    requests.post(f"{own_api.url}/logout", headers=headers, timeout=5).raise_for_status()

    wait_until_visible(browser, ids.LOGIN_USERNAME)
    wait_for_text(browser, ids.LOGIN_ERROR, "登录已过期")
    assert not browser.find_element(By.ID, ids.CONSOLE_PAGE).is_displayed()
