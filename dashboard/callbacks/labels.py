"""Fixed labels: re-rendered whenever the language switch changes."""

from __future__ import annotations

from dash import Dash, Input, Output

from anxin.dashboard import ids
from anxin.dashboard.i18n import text

LABELS = {
    (ids.LOGIN_HEADING, "children"): "login.heading",
    (f"{ids.LOGIN_USERNAME}-label", "children"): "login.username",
    (f"{ids.LOGIN_PASSWORD}-label", "children"): "login.password",
    (f"{ids.LOGIN_CODE}-label", "children"): "login.code",
    (ids.LOGIN_SUBMIT, "children"): "login.submit",
    (ids.LOGOUT, "children"): "header.logout",
    (ids.ALERTS_HEADING, "children"): "alerts.heading",
    (ids.RECIPIENTS_HEADING, "children"): "recipients.heading",
}


def register(app: Dash, _api_url: str) -> None:
    @app.callback(
        [Output(element, prop) for element, prop in LABELS],
        Input(ids.LANG_SWITCH, "value"),
    )
    def show_labels(language: str) -> list[str]:
        return [text(key, language) for key in LABELS.values()]

    # Screen readers and fonts pick their rules from <html lang>.
    app.clientside_callback(
        """function (language) {
            document.documentElement.lang = language === "en" ? "en" : "zh-CN";
            return window.dash_clientside.no_update;
        }""",
        Output(ids.LANG_SWITCH, "className"),
        Input(ids.LANG_SWITCH, "value"),
    )
