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
# The last scripted event starts 40 s after the first; then a 20 s ramp and the 10-15 s a
# reading must stay beyond its threshold, with room to spare.
ALERT_WAIT_S = 150
# What each demo home's scripted events raise: (person, alert kind, severity).
EXPECTED_ALERTS = {
    ("p0001", "heart_rate_high", "high"),
    ("p0002", "spo2_low", "high"),
    ("p0003", "heart_rate_low", "high"),
    ("p0003", "sos", "critical"),
}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoStack]:
    with running_demo(tmp_path_factory.mktemp("demo"), SCENARIO_START_S) as stack:
        yield stack


@pytest.fixture(scope="module")
def raised_on_gateway(demo: DemoStack) -> list[AlertMessage]:
    """Alerts as the gateways raise them."""
    raised: list[AlertMessage] = []
    for gateway in demo.gateways:
        gateway.alert_listeners.append(raised.append)
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


def test_every_scripted_alert_reaches_the_api(
    demo: DemoStack, raised_on_gateway: list[AlertMessage]
) -> None:
    session = api_session(demo)

    def open_alerts() -> list[dict[str, object]]:
        return session.get(f"{demo.api_url}/alerts", params={"status": "open"}, timeout=10).json()

    def seen() -> set[tuple[object, object, object]]:
        return {(a["person_id"], a["kind"], a["severity"]) for a in open_alerts()}

    wait_for(lambda: seen() >= EXPECTED_ALERTS, ALERT_WAIT_S, f"alerts {sorted(EXPECTED_ALERTS)}")
    assert seen() == EXPECTED_ALERTS  # nothing raised that was not scripted
    alerts = {(a["person_id"], a["kind"]): a for a in open_alerts()}
    high = alerts[("p0001", "heart_rate_high")]
    assert high["person_name"] == "张秀英" and high["value"] > 120 and high["threshold"] == 120
    assert alerts[("p0003", "heart_rate_low")]["value"] < 40
    sos = alerts[("p0003", "sos")]
    assert sos["value"] is None and "long press" in sos["message"]
    message = next(m for m in raised_on_gateway if m.kind == "heart_rate_high")
    assert message.seq == _alert_seq(demo, high["id"])  # type: ignore[arg-type]


def _alert_seq(demo: DemoStack, alert_id: int) -> int:
    from anxin.cloud.database.models import Alert

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
    # 0.25 s is 240 /min; a pause over 3 s is a clinical finding (sinus pause) that no
    # demo home scripts, while the scripted 36 /min bradycardia has RR around 1.7-2.1 s.
    assert all(0.25 <= v <= 3.0 for v in rr)
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
        panel = driver.find_element(By.ID, ids.ALERTS_PANEL).text
        assert "张秀英" in panel
        for kind in ("血氧过低", "心率过低", "紧急呼叫"):  # raised by the other homes' events
            WebDriverWait(driver, ALERT_WAIT_S).until(
                lambda d, kind=kind: kind in d.find_element(By.ID, ids.ALERTS_PANEL).text,
                message=f"the console never showed {kind}",
            )
        first = plotted_points(driver, ids.HR_CHART)
        WebDriverWait(driver, 30).until(
            lambda d: plotted_points(d, ids.HR_CHART) > first,
            message="the heart-rate chart did not grow",
        )
        assert plotted_points(driver, ids.SPO2_CHART) > 0
        driver.save_screenshot(str(tmp_path / "demo-console.png"))
    finally:
        driver.quit()
