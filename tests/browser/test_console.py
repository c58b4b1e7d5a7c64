"""The console in headless Chromium against a real API with the demo data."""

from __future__ import annotations

from pathlib import Path

import pytest
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from anxin.dashboard import DashboardServer, ids
from tests.browser.console_page import (
    WAIT_S,
    log_in,
    switch_language,
    text_of,
    wait_for_points,
    wait_for_text,
    wait_until_visible,
)
from tests.browser.live_api import LiveApi
from tests.support.cloud import now_ms

pytestmark = pytest.mark.browser

SCREENSHOT = Path("/tmp/console.png")


def test_wrong_password_shows_an_error(browser: webdriver.Chrome, console: DashboardServer) -> None:
    log_in(browser, console.url, "worker", "not-the-password")
    wait_for_text(browser, ids.LOGIN_ERROR, "用户名或密码错误")
    assert not browser.find_element(By.ID, ids.CONSOLE_PAGE).is_displayed()


def test_worker_sees_community_alert_and_live_chart(
    browser: webdriver.Chrome, console: DashboardServer
) -> None:
    log_in(browser, console.url, "worker", "anxin-worker")
    for name in ("张秀英", "李建国", "王淑珍"):
        wait_for_text(browser, ids.RECIPIENTS, name)
    wait_for_text(browser, ids.ALERTS_PANEL, "心率过高")
    alert = browser.find_element(By.CSS_SELECTOR, f"#{ids.ALERTS_PANEL} .alert-card")
    assert "张秀英" in alert.text
    assert "严重程度:高" in alert.text  # severity in words, not only by colour
    assert "131 次/分" in alert.text and "120 次/分" in alert.text
    assert text_of(browser, ids.APP_TITLE) == "安心 · 社区照护台"
    # the recipient with the open alert is charted by default
    wait_for_text(browser, ids.CHARTS_HEADING, "张秀英")
    wait_for_points(browser, ids.HR_CHART, 10)
    wait_for_points(browser, ids.SPO2_CHART, 10)
    browser.save_screenshot(str(SCREENSHOT))


def test_choosing_a_recipient_shows_their_charts(
    browser: webdriver.Chrome, console: DashboardServer
) -> None:
    log_in(browser, console.url, "worker", "anxin-worker")
    wait_for_text(browser, ids.RECIPIENTS, "李建国")
    browser.find_element(By.CSS_SELECTOR, f"#{ids.RECIPIENTS} [data-person-id='p0002']").click()
    wait_for_text(browser, ids.CHARTS_HEADING, "李建国")
    wait_for_points(browser, ids.HR_CHART, 10)
    card = f"#{ids.RECIPIENTS} [data-person-id='p0002']"
    # The cards are drawn anew at each refresh: read the attribute of the card on screen.
    WebDriverWait(browser, WAIT_S, ignored_exceptions=[StaleElementReferenceException]).until(
        lambda d: d.find_element(By.CSS_SELECTOR, card).get_attribute("aria-pressed") == "true",
        message="the chosen card is not marked as pressed",
    )


def test_switching_to_english_translates_the_page(
    browser: webdriver.Chrome, console: DashboardServer
) -> None:
    log_in(browser, console.url, "worker", "anxin-worker")
    wait_for_text(browser, ids.ALERTS_PANEL, "心率过高")
    switch_language(browser, "English")
    wait_for_text(browser, ids.ALERTS_PANEL, "Heart rate high")
    wait_for_text(browser, ids.ALERTS_PANEL, "Severity: High")
    wait_for_text(browser, ids.APP_TITLE, "Community Care Console")
    wait_for_text(browser, ids.RECIPIENTS, "Zhang Xiuying")
    wait_for_text(browser, ids.RECIPIENTS, "Heart rate")
    wait_for_text(browser, ids.CHARTS_HEADING, "last 10 minutes")
    assert text_of(browser, ids.ALERTS_HEADING) == "Open alerts"
    assert text_of(browser, ids.RECIPIENTS_HEADING) == "Care recipients"
    assert text_of(browser, ids.LOGOUT) == "Log out"
    assert "心率" not in text_of(browser, ids.ALERTS_PANEL)
    browser.save_screenshot("/tmp/console-en.png")

    switch_language(browser, "中文")
    wait_for_text(browser, ids.ALERTS_PANEL, "心率过高")


def test_new_alert_and_observation_appear_without_reload(
    browser: webdriver.Chrome, console: DashboardServer, live_api: LiveApi
) -> None:
    log_in(browser, console.url, "worker", "anxin-worker")
    wait_for_text(browser, ids.ALERTS_PANEL, "心率过高")
    assert "血氧过低" not in text_of(browser, ids.ALERTS_PANEL)

    live_api.raise_alert("p0002", "spo2_low", "critical", "spo2", 86.0, 90.0)
    live_api.write_observations("p0003", "heart_rate", [(now_ms(), 111.0)])

    wait_for_text(browser, ids.ALERTS_PANEL, "血氧过低")
    critical = browser.find_element(By.CSS_SELECTOR, f"#{ids.ALERTS_PANEL} .severity-critical")
    assert "李建国" in critical.text and "危急" in critical.text
    wait_for_text(browser, ids.RECIPIENTS, "111 次/分")


def test_family_sees_only_their_relative(
    browser: webdriver.Chrome, console: DashboardServer
) -> None:
    log_in(browser, console.url, "family", "anxin-family")
    wait_for_text(browser, ids.RECIPIENTS, "张秀英")
    wait_for_text(browser, ids.ALERTS_PANEL, "心率过高")
    recipients = text_of(browser, ids.RECIPIENTS)
    assert "李建国" not in recipients and "王淑珍" not in recipients
    assert len(browser.find_elements(By.CSS_SELECTOR, f"#{ids.RECIPIENTS} .recipient-card")) == 1
    assert "李建国" not in text_of(browser, ids.ALERTS_PANEL)
    assert text_of(browser, ids.APP_TITLE) == "安心 · 家人关怀"


def test_logout_returns_to_the_login_form(
    browser: webdriver.Chrome, console: DashboardServer
) -> None:
    log_in(browser, console.url, "worker", "anxin-worker")
    wait_for_text(browser, ids.RECIPIENTS, "张秀英")
    browser.find_element(By.ID, ids.LOGOUT).click()
    wait_until_visible(browser, ids.LOGIN_USERNAME)
    assert not browser.find_element(By.ID, ids.CONSOLE_PAGE).is_displayed()
    assert browser.execute_script(
        "return window.sessionStorage.getItem(arguments[0]);", ids.SESSION_STORE
    ) in (
        None,
        "null",
    )
