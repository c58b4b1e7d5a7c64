"""Dash callbacks, grouped by what they keep up to date.

Each module has ``register(app, api_url)``.
"""

from __future__ import annotations

from dash import Dash

from anxin.dashboard.callbacks import charts, labels, overview, selection, session


def register_all(app: Dash, api_url: str) -> None:
    for module in (labels, session, overview, selection, charts):
        module.register(app, api_url)
