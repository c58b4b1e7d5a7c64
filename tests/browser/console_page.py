"""What the browser tests do on the console page: log in, switch language, wait for text."""

from __future__ import annotations

from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from anxin.dashboard import ids

# The console under test refreshes every second, so this is many refreshes.
WAIT_S = 15


def text_of(driver: webdriver.Chrome, element_id: str) -> str:
    return driver.find_element(By.ID, element_id).text


def wait_for_text(driver: webdriver.Chrome, element_id: str, expected: str) -> None:
    WebDriverWait(driver, WAIT_S).until(
        ec.text_to_be_present_in_element((By.ID, element_id), expected),
        message=f"#{element_id} never showed {expected!r}",
    )


def wait_until_visible(driver: webdriver.Chrome, element_id: str) -> None:
    WebDriverWait(driver, WAIT_S).until(ec.visibility_of_element_located((By.ID, element_id)))


def log_in(driver: webdriver.Chrome, url: str, username: str, password: str) -> None:
    driver.get(url)
    wait_until_visible(driver, ids.LOGIN_USERNAME)
    driver.find_element(By.ID, ids.LOGIN_USERNAME).send_keys(username)
    driver.find_element(By.ID, ids.LOGIN_PASSWORD).send_keys(password)
    driver.find_element(By.ID, ids.LOGIN_SUBMIT).click()


def switch_language(driver: webdriver.Chrome, label: str) -> None:
    """Click ``中文`` or ``English`` in the header's switch."""
    driver.find_element(
        By.XPATH, f"//*[@id='{ids.LANG_SWITCH}']//label[contains(., '{label}')]"
    ).click()


def plotted_points(driver: webdriver.Chrome, chart_id: str) -> int:
    """How many points the chart's first trace holds, as plotly drew it in the page."""
    return driver.execute_script(
        "const plot = document.querySelector(`#${arguments[0]} .js-plotly-plot`);"
        "return plot && plot.data && plot.data[0] ? plot.data[0].y.length : 0;",
        chart_id,
    )


def wait_for_points(driver: webdriver.Chrome, chart_id: str, at_least: int) -> None:
    WebDriverWait(driver, WAIT_S).until(
        lambda d: plotted_points(d, chart_id) >= at_least,
        message=f"#{chart_id} never plotted {at_least} points",
    )
