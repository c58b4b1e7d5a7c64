"""Dash callbacks, grouped by what they keep up to date.

Each module has ``register(app, api_url)``.
"""

from __future__ import annotations

from anxin.dashboard.callbacks import charts, labels, overview, selection, session
from dash import Dash


def register_all(app: Dash, api_url: str) -> None:
    for module in (labels, session, overview, selection, charts):
        module.register(app, api_url)
