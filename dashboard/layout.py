"""The page skeleton. Every element the callbacks fill in exists from the start;
login and console are shown or hidden rather than created, so ids stay stable."""

from __future__ import annotations

from dash import dcc, html

from anxin.dashboard import ids
from anxin.dashboard.i18n import Language

# The language names are written in their own language, so the switch never needs translating.
LANGUAGE_OPTIONS = [{"label": "中文", "value": "zh"}, {"label": "English", "value": "en"}]
GRAPH_CONFIG = {"displaylogo": False}
# A fixed box for each chart: the page does not jump while a figure is (re)drawn.
GRAPH_STYLE = {"height": "300px"}


def _header(language: Language) -> html.Header:
    return html.Header(
        className="app-header",
        children=[
            html.H1(id=ids.APP_TITLE, className="app-title"),
            html.Div(
                className="header-tools",
                children=[
                    html.Span(id=ids.USER_NAME, className="user-name"),
                    dcc.RadioItems(
                        id=ids.LANG_SWITCH,
                        options=LANGUAGE_OPTIONS,
                        value=language,
                        inline=True,
                        className="lang-switch",
                        persistence=True,
                        persistence_type="session",
                    ),
                    html.Button(id=ids.LOGOUT, className="logout-button", n_clicks=0, hidden=True),
                ],
            ),
        ],
    )


def _login_page() -> html.Section:
    return html.Section(
        id=ids.LOGIN_PAGE,
        className="login-page",
        hidden=True,
        children=[
            html.H2(id=ids.LOGIN_HEADING),
            html.Label(id=f"{ids.LOGIN_USERNAME}-label", htmlFor=ids.LOGIN_USERNAME),
            dcc.Input(
                id=ids.LOGIN_USERNAME,
                type="text",
                autoComplete="username",
                debounce=False,
                n_submit=0,
            ),
            html.Label(id=f"{ids.LOGIN_PASSWORD}-label", htmlFor=ids.LOGIN_PASSWORD),
            dcc.Input(
                id=ids.LOGIN_PASSWORD,
                type="password",
                autoComplete="current-password",
                debounce=False,
                n_submit=0,
            ),
            html.Label(id=f"{ids.LOGIN_CODE}-label", htmlFor=ids.LOGIN_CODE),
            dcc.Input(
                id=ids.LOGIN_CODE,
                type="text",
                inputMode="numeric",
                autoComplete="one-time-code",
                maxLength=6,
                debounce=False,
                n_submit=0,
            ),
            html.Button(id=ids.LOGIN_SUBMIT, className="login-submit", n_clicks=0),
            html.Div(id=ids.LOGIN_ERROR, className="login-error", role="alert"),
        ],
    )


def _console_page() -> html.Div:
    return html.Div(
        id=ids.CONSOLE_PAGE,
        className="console-page",
        hidden=True,
        children=[
            html.Section(
                className="alerts-section",
                children=[
                    html.H2(id=ids.ALERTS_HEADING),
                    html.Div(
                        id=ids.ALERTS_PANEL, className="alerts-panel", **{"aria-live": "polite"}
                    ),
                ],
            ),
            html.Div(
                className="console-columns",
                children=[
                    html.Section(
                        className="recipients-section",
                        children=[html.H2(id=ids.RECIPIENTS_HEADING), html.Div(id=ids.RECIPIENTS)],
                    ),
                    html.Section(
                        className="charts-section",
                        children=[
                            html.H2(id=ids.CHARTS_HEADING),
                            dcc.Graph(id=ids.HR_CHART, config=GRAPH_CONFIG, style=GRAPH_STYLE),
                            dcc.Graph(id=ids.SPO2_CHART, config=GRAPH_CONFIG, style=GRAPH_STYLE),
                        ],
                    ),
                ],
            ),
        ],
    )


def page_layout(language: Language, refresh_s: float) -> html.Div:
    return html.Div(
        className="app",
        children=[
            # session storage: one login per browser tab, gone when the tab closes
            dcc.Store(id=ids.SESSION_STORE, storage_type="session"),
            dcc.Store(id=ids.LOGIN_MESSAGE, storage_type="memory"),
            dcc.Store(id=ids.SELECTED_PERSON, storage_type="memory"),
            dcc.Store(id=ids.CHART_PERSON, storage_type="memory"),
            dcc.Interval(id=ids.REFRESH, interval=int(refresh_s * 1000), disabled=True),
            _header(language),
            html.Div(id=ids.API_BANNER, className="api-banner", role="alert", hidden=True),
            html.Main(className="main", children=[_login_page(), _console_page()]),
        ],
    )
