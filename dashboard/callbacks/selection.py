"""Clicking a recipient card chooses whose charts are shown."""

from __future__ import annotations

from dash import ALL, Dash, Input, Output, ctx, no_update

from anxin.dashboard import ids


def register(app: Dash, _api_url: str) -> None:
    @app.callback(
        Output(ids.SELECTED_PERSON, "data"),
        Input({"type": ids.RECIPIENT_CARD, "index": ALL}, "n_clicks"),
        prevent_initial_call=True,
    )
    def choose_recipient(_clicks: list[int | None]):
        # Cards are re-rendered on every refresh with n_clicks=0, which also fires this
        # callback; only a real click (a positive count) is a choice.
        clicked = isinstance(ctx.triggered_id, dict) and any(
            item["value"] for item in ctx.triggered
        )
        return ctx.triggered_id["index"] if clicked else no_update
