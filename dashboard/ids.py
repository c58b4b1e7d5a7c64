"""Element ids shared by the layout, the callbacks and the browser tests."""

# stores and timers
SESSION_STORE = (
    "session-store"  # {"token", "expires_at", "user"} or {"expired": True}; per browser tab
)
LOGIN_MESSAGE = (
    "login-message"  # {"key": i18n key} for the login form, rendered in the current language
)
SELECTED_PERSON = "selected-person"  # the recipient the user clicked, if any
CHART_PERSON = "chart-person"  # the recipient the charts show: {"id", "name"}
REFRESH = "refresh"

# header
APP_TITLE = "app-title"
USER_NAME = "user-name"
LANG_SWITCH = "lang-switch"
LOGOUT = "logout"

# pages
API_BANNER = "api-banner"
LOGIN_PAGE = "login-page"
CONSOLE_PAGE = "console-page"

# login form
LOGIN_HEADING = "login-heading"
LOGIN_USERNAME = "login-username"
LOGIN_PASSWORD = "login-password"
LOGIN_CODE = "login-code"  # authenticator code (验证码), for accounts with a second factor
LOGIN_SUBMIT = "login-submit"
LOGIN_ERROR = "login-error"

# console
ALERTS_HEADING = "alerts-heading"
ALERTS_PANEL = "alerts-panel"
RECIPIENTS_HEADING = "recipients-heading"
RECIPIENTS = "recipients"
RECIPIENT_CARD = (
    "recipient-card"  # pattern-matching type: {"type": RECIPIENT_CARD, "index": person id}
)
CHARTS_HEADING = "charts-heading"
HR_CHART = "hr-chart"
SPO2_CHART = "spo2-chart"
