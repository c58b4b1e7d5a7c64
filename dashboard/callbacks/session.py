"""Logging in and out, and showing the login form or the console accordingly."""

from __future__ import annotations

import contextlib
from typing import Any

import flask
from dash import Dash, Input, Output, State, no_update

from anxin.dashboard import ids
from anxin.dashboard.api_client import (
    ApiClient,
    ApiError,
    ApiUnavailable,
    LockedOut,
    NotAuthenticated,
)
from anxin.dashboard.callbacks.session_data import is_expired, token_of, user_of
from anxin.dashboard.i18n import text


def register(app: Dash, api_url: str) -> None:
    @app.callback(
        Output(ids.SESSION_STORE, "data"),
        Output(ids.LOGIN_MESSAGE, "data"),
        Output(ids.LOGIN_PASSWORD, "value"),
        Output(ids.LOGIN_CODE, "value"),
        Input(ids.LOGIN_SUBMIT, "n_clicks"),
        Input(ids.LOGIN_USERNAME, "n_submit"),
        Input(ids.LOGIN_PASSWORD, "n_submit"),
        Input(ids.LOGIN_CODE, "n_submit"),
        State(ids.LOGIN_USERNAME, "value"),
        State(ids.LOGIN_PASSWORD, "value"),
        State(ids.LOGIN_CODE, "value"),
        prevent_initial_call=True,
    )
    def log_in(
        _clicks: int,
        _enter_name: int,
        _enter_password: int,
        _enter_code: int,
        username: str | None,
        password: str | None,
        code: str | None,
    ):
        if not username or not password:
            return no_update, {"key": "login.missing_fields"}, no_update, no_update
        try:
            session = ApiClient(api_url).login(
                username.strip(), password, (code or "").strip() or None, flask.request.remote_addr
            )
        except NotAuthenticated as exc:
            if exc.code == "totp_required":
                return no_update, {"key": "login.code_required"}, no_update, ""
            if exc.code == "bad_totp":
                return no_update, {"key": "login.bad_code"}, no_update, ""
            return no_update, {"key": "login.bad_credentials"}, "", ""
        except LockedOut as exc:
            minutes = max(1, -(-exc.retry_after_s // 60))
            return no_update, {"key": "login.locked", "minutes": minutes}, "", ""
        except ApiUnavailable:
            return no_update, {"key": "error.api_unavailable"}, no_update, no_update
        except ApiError as exc:
            return no_update, {"key": "login.failed", "reason": str(exc)}, no_update, no_update
        if session.second_factor == "enrolment_required":
            # The console cannot enrol an authenticator; a restricted session is of no use here.
            with contextlib.suppress(ApiError):
                ApiClient(api_url, session.token).logout()
            return no_update, {"key": "login.enrol_second_factor"}, "", ""
        return session.to_store(), None, "", ""

    @app.callback(
        Output(ids.SESSION_STORE, "data", allow_duplicate=True),
        Output(ids.SELECTED_PERSON, "data", allow_duplicate=True),
        Input(ids.LOGOUT, "n_clicks"),
        State(ids.SESSION_STORE, "data"),
        prevent_initial_call=True,
    )
    def log_out(clicks: int, session: dict[str, Any] | None):
        if not clicks:
            return no_update, no_update
        token = token_of(session)
        if token:
            # The server may already have forgotten the session; the browser forgets it anyway.
            with contextlib.suppress(ApiError):
                ApiClient(api_url, token).logout()
        return None, None

    @app.callback(
        Output(ids.LOGIN_ERROR, "children"),
        Input(ids.LOGIN_MESSAGE, "data"),
        Input(ids.SESSION_STORE, "data"),
        Input(ids.LANG_SWITCH, "value"),
    )
    def show_login_message(
        message: dict[str, Any] | None, session: dict[str, Any] | None, language: str
    ) -> str:
        if message:
            fields = {k: v for k, v in message.items() if k != "key"}
            return text(message["key"], language, **fields)
        return text("login.session_expired", language) if is_expired(session) else ""

    @app.callback(
        Output(ids.APP_TITLE, "children"),
        Output(ids.USER_NAME, "children"),
        Output(ids.LOGOUT, "hidden"),
        Output(ids.LOGIN_PAGE, "hidden"),
        Output(ids.CONSOLE_PAGE, "hidden"),
        Output(ids.REFRESH, "disabled"),
        Input(ids.SESSION_STORE, "data"),
        Input(ids.LANG_SWITCH, "value"),
    )
    def show_page(session: dict[str, Any] | None, language: str):
        user = user_of(session)
        if user is None:
            return text("title.worker", language), "", True, False, True, True
        title = text("title.family" if user.get("role") == "family" else "title.worker", language)
        signed_in = text(
            "header.signed_in_as", language, name=user.get("display_name") or user.get("username")
        )
        return title, signed_in, False, True, False, False
