"""The selected recipient's heart-rate and SpO2 charts, refreshed with the console."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from dash import Dash, Input, Output, State, no_update

from anxin.dashboard import ids
from anxin.dashboard.api_client import ApiClient, ApiError, ObservationSeries
from anxin.dashboard.callbacks.session_data import token_of
from anxin.dashboard.i18n import text
from anxin.dashboard.views.charts import HEART_RATE, SPO2, WINDOW, vital_figure


def heading(person: dict[str, str] | None, language: str) -> str:
    if not person:
        return text("charts.heading_empty", language)
    name = person["name"]
    if language == "en" and person.get("name_latin"):
        name = f"{name} ({person['name_latin']})"
    return text("charts.heading", language, name=name)


def register(app: Dash, api_url: str) -> None:
    @app.callback(
        Output(ids.HR_CHART, "figure"),
        Output(ids.SPO2_CHART, "figure"),
        Output(ids.CHARTS_HEADING, "children"),
        Input(ids.REFRESH, "n_intervals"),
        Input(ids.CHART_PERSON, "data"),
        Input(ids.LANG_SWITCH, "value"),
        State(ids.SESSION_STORE, "data"),
    )
    def refresh_charts(
        _tick: int | None, person: dict[str, Any] | None, language: str, session: dict | None
    ):
        now_ms = int(time.time() * 1000)
        token = token_of(session)
        series: dict[str, ObservationSeries | None] = {"heart_rate": None, "spo2": None}
        if token and person:
            client = ApiClient(api_url, token)
            since = datetime.fromtimestamp(now_ms / 1000, tz=UTC) - WINDOW
            try:
                for kind in series:
                    series[kind] = client.observations(person["id"], kind, since=since)
            except ApiError:
                # The overview callback shows the banner or sends the user to log in;
                # keep the last good charts on screen meanwhile.
                return no_update, no_update, no_update
        return (
            vital_figure(series["heart_rate"], HEART_RATE, now_ms, language),
            vital_figure(series["spo2"], SPO2, now_ms, language),
            heading(person, language),
        )
