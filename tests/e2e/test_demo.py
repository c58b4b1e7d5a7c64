"""The whole platform as `anxin demo` runs it: simulated devices on a virtual radio, gateways,
the embedded broker, ingest, the API and the console, checked only from the outside."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from anxin.dashboard import ids
from anxin.demo.homes import demo_homes
from anxin.demo.stack import DemoStack
from anxin.protocol import AlertMessage
from tests.browser import chromium
from tests.browser.console_page import log_in, plotted_points, wait_for_text
from tests.support.demo import running_demo

pytestmark = [pytest.mark.slow]
SCENARIO_START_S = 5.0
# Scenario start, a 20 s ramp and the 10 s the rate must stay high, with room to spare.
ALERT_WAIT_S = 90


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoStack]:
    with running_demo(tmp_path_factory.mktemp("demo"), SCENARIO_START_S) as stack:
        yield stack


@pytest.fixture(scope="module")
def raised_on_gateway(demo: DemoStack) -> list[tuple[float, AlertMessage]]:
    """Alerts as the gateways raise them, with the wall-clock time they did."""
    raised: list[tuple[float, AlertMessage]] = []
    for gateway in demo.gateways:
        gateway.alert_listeners.append(lambda alert: raised.append((time.time(), alert)))
    return raised


def api_session(
    demo: DemoStack, username: str = "worker", password: str = "anxin-worker"
) -> requests.Session:
    session = requests.Session()
    response = session.post(
        f"{demo.api_url}/login", json={"username": username, "password": password}, timeout=10
    )
    response.raise_for_status()
    session.headers["Authorization"] = f"Bearer {response.json()['token']}"
    return session


def wait_for(check, timeout: float, what: str):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.2)
    raise AssertionError(f"gave up after {timeout:.0f} s waiting for {what}")


def test_scenario_alert_reaches_the_api(
    demo: DemoStack, raised_on_gateway: list[tuple[float, AlertMessage]]
) -> None:
    session = api_session(demo)

    def scenario_alert() -> list[dict[str, object]]:
        alerts = session.get(f"{demo.api_url}/alerts", params={"status": "open"}, timeout=10).json()
        return [a for a in alerts if a["kind"] == "heart_rate_high"]

    alerts = wait_for(scenario_alert, ALERT_WAIT_S, "the heart_rate_high alert in the API")
    seen_at = time.time()
    alert = alerts[0]
    assert alert["person_id"] == "p0001" and alert["person_name"] == "张秀英"
    assert alert["severity"] == "high" and alert["value"] > 120 and alert["threshold"] == 120
    # Only the scenario home's heart rate was scripted to rise.
    assert [a["person_id"] for a in scenario_alert()] == ["p0001"]
    raised_at, message = next((t, m) for t, m in raised_on_gateway if m.kind == "heart_rate_high")
    assert message.seq == _alert_seq(demo, alert["id"])
    print(
        f"\nalert raised on gateway -> visible in API: {seen_at - raised_at:.2f} s "
        f"(gateway -> cloud store {alert['delay_ms']} ms)"
    )


def _alert_seq(demo: DemoStack, alert_id: int) -> int:
    from anxin.cloud.models import Alert

    assert demo.stores is not None
    with demo.stores.registry.session() as session:
        alert = session.get(Alert, alert_id)
        assert alert is not None
        return alert.seq


@pytest.mark.parametrize("home", demo_homes(3), ids=lambda home: home.person_id)
def test_every_person_has_live_observations(demo: DemoStack, home) -> None:  # type: ignore[no-untyped-def]
    session = api_session(demo)
    url = f"{demo.api_url}/persons/{home.person_id}/observations"

    def values(kind: str) -> list[float]:
        body = session.get(url, params={"type": kind}, timeout=10).json()
        return [o["value"] for o in body["observations"]]

    heart = wait_for(
        lambda: values("heart_rate") if len(values("heart_rate")) >= 5 else [], 60, "heart rate"
    )
    spo2 = wait_for(lambda: values("spo2") if len(values("spo2")) >= 5 else [], 60, "SpO2")
    rr = wait_for(lambda: values("rr_interval"), 60, "RR intervals")
    motion = wait_for(lambda: values("motion") or None, 60, "motion sensor reports")
    assert all(30 <= v <= 200 for v in heart)
    assert all(80 <= v <= 100 for v in spo2)
    assert all(0.25 <= v <= 2.0 for v in rr)
    assert set(motion) <= {0.0, 1.0}
    person = session.get(f"{demo.api_url}/persons/{home.person_id}", timeout=10).json()
    assert person["name"] == home.person.name
    states = {d["id"]: d["state"] for d in person["devices"]}
    assert states[f"hr-{home.number}"] == "connected" and states[f"ox-{home.number}"] == "connected"


@pytest.mark.browser
def test_console_shows_live_charts_and_the_scenario_alert(demo: DemoStack, tmp_path: Path) -> None:
    if not chromium.available():
        pytest.skip(f"needs {chromium.CHROMIUM} and {chromium.CHROMEDRIVER}")
    driver = chromium.headless_chromium(tmp_path / "profile")
    try:
        log_in(driver, demo.console_url, "worker", "anxin-worker")
        wait_for_text(driver, ids.RECIPIENTS, "王淑珍")
        WebDriverWait(driver, ALERT_WAIT_S).until(
            lambda d: "心率过高" in d.find_element(By.ID, ids.ALERTS_PANEL).text,
            message="the console never showed the scenario alert",
        )
        assert "张秀英" in driver.find_element(By.ID, ids.ALERTS_PANEL).text
        first = plotted_points(driver, ids.HR_CHART)
        WebDriverWait(driver, 30).until(
            lambda d: plotted_points(d, ids.HR_CHART) > first,
            message="the heart-rate chart did not grow",
        )
        assert plotted_points(driver, ids.SPO2_CHART) > 0
        driver.save_screenshot(str(tmp_path / "demo-console.png"))
    finally:
        driver.quit()
