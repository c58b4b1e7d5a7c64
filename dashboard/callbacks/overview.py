"""The periodic refresh of the alerts panel and the recipient cards.

It also decides which recipient the charts show, raises the "API down" banner,
and sends the user back to the login form when the API answers 401.
"""

from __future__ import annotations

from typing import Any

from dash import Dash, Input, Output, State, no_update

from anxin.dashboard import ids
from anxin.dashboard.api_client import ApiClient, ApiError, ApiUnavailable, NotAuthenticated, Person
from anxin.dashboard.callbacks.session_data import EXPIRED, token_of
from anxin.dashboard.i18n import text
from anxin.dashboard.views.alerts import alerts_panel
from anxin.dashboard.views.recipients import default_person, recipients_list


def chart_person(persons: list[Person], chosen_id: str | None) -> dict[str, str] | None:
    """The recipient the user chose if they may still see them, else the default one."""
    person = next((p for p in persons if p.id == chosen_id), None) or default_person(persons)
    return (
        {"id": person.id, "name": person.name, "name_latin": person.name_latin} if person else None
    )


def register(app: Dash, api_url: str) -> None:
    @app.callback(
        Output(ids.ALERTS_PANEL, "children"),
        Output(ids.RECIPIENTS, "children"),
        Output(ids.API_BANNER, "children"),
        Output(ids.API_BANNER, "hidden"),
        Output(ids.CHART_PERSON, "data"),
        Output(ids.SESSION_STORE, "data", allow_duplicate=True),
        Input(ids.REFRESH, "n_intervals"),
        Input(ids.SESSION_STORE, "data"),
        Input(ids.LANG_SWITCH, "value"),
        Input(ids.SELECTED_PERSON, "data"),
        State(ids.CHART_PERSON, "data"),
        prevent_initial_call="initial_duplicate",
    )
    def refresh_overview(
        _tick: int | None,
        session: dict[str, Any] | None,
        language: str,
        chosen_id: str | None,
        shown: dict[str, str] | None,
    ):
        token = token_of(session)
        if token is None:
            return [], [], "", True, (None if shown else no_update), no_update
        client = ApiClient(api_url, token)
        try:
            persons = client.persons()
            alerts = client.alerts()
        except NotAuthenticated:
            return [], [], "", True, None, EXPIRED
        except ApiUnavailable:
            return (
                no_update,
                no_update,
                text("error.api_unavailable", language),
                False,
                no_update,
                no_update,
            )
        except ApiError as exc:
            return (
                no_update,
                no_update,
                text("error.api_failed", language, reason=exc),
                False,
                no_update,
                no_update,
            )
        chosen = chart_person(persons, chosen_id)
        return (
            alerts_panel(alerts, language),
            recipients_list(persons, chosen["id"] if chosen else None, language),
            "",
            True,
            chosen
            if chosen != shown
            else no_update,  # unchanged: don't make the charts fetch twice
            no_update,
        )
