"""The console's login form with a second factor: the API asks workers for a TOTP code."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from aiohttp import web
from selenium import webdriver
from selenium.webdriver.common.by import By

from anxin.cloud.access import accounts, second_factor
from anxin.cloud.api import API_PREFIX, create_app
from anxin.cloud.registry.field_crypto import FieldCipher, new_key
from anxin.cloud.registry.registry import now_ms
from anxin.config import ApiConfig, CloudConfig, DashboardConfig, RegistryConfig
from anxin.dashboard import DashboardServer, ids
from tests.browser.console_page import log_in, wait_for_text, wait_until_visible
from tests.browser.live_api import LiveApi
from tests.support.cloud import seeded_stores

pytestmark = pytest.mark.browser

CONFIG = CloudConfig(
    registry=RegistryConfig(url="sqlite://", encryption_key=new_key()),
    api=ApiConfig(second_factor_roles=("worker", "admin")),
)


class SecondFactorApi(LiveApi):
    """The demo data behind an API configured as a deployment is: workers need a code."""

    async def _serve(self) -> None:
        self._runner = web.AppRunner(create_app(self.registry, self.timeseries, config=CONFIG))
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self._port, reuse_address=True)
        await site.start()
        self._port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{self._port}{API_PREFIX}"


@pytest.fixture(scope="module")
def worker_secret(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """(console URL, the worker's TOTP secret), the worker already enrolled."""
    directory = tmp_path_factory.mktemp("api-2fa")
    with seeded_stores(f"sqlite:///{directory}/cloud.sqlite") as stores:
        cipher = second_factor.field_cipher(CONFIG)
        assert isinstance(cipher, FieldCipher)
        with stores.registry.session() as session, session.begin():
            secret = accounts.start_totp_enrolment(session, "worker", cipher)
            accounts.confirm_totp(session, "worker", second_factor.current_code(secret), cipher)
        api = SecondFactorApi(stores)
        api.start()
        config = DashboardConfig(host="127.0.0.1", port=0, api_url=api.url, refresh_s=1.0)
        try:
            with DashboardServer(config) as server:
                yield server.url, secret
        finally:
            api.stop()


def test_a_worker_logs_in_with_the_code_from_their_authenticator(
    browser: webdriver.Chrome, worker_secret: tuple[str, str]
) -> None:
    url, secret = worker_secret
    log_in(browser, url, "worker", "anxin-worker")
    wait_for_text(browser, ids.LOGIN_ERROR, "验证码")
    assert not browser.find_element(By.ID, ids.CONSOLE_PAGE).is_displayed()
    # The enrolment used the current step's code; the next step's is fresh.
    code = second_factor.current_code(secret, now_ms() / 1000 + 30)
    browser.find_element(By.ID, ids.LOGIN_CODE).send_keys(code)
    browser.find_element(By.ID, ids.LOGIN_SUBMIT).click()
    wait_until_visible(browser, ids.CONSOLE_PAGE)
    wait_for_text(browser, ids.RECIPIENTS, "张秀英")
