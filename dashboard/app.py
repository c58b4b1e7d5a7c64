"""Builds the Dash console: layout and callbacks, talking to the cloud API at ``config.api_url``."""

from __future__ import annotations

from pathlib import Path

import dash

from anxin.config import DashboardConfig
from anxin.dashboard.callbacks import register_all
from anxin.dashboard.i18n import text
from anxin.dashboard.layout import page_layout

ASSETS = Path(__file__).parent / "assets"


def create_dashboard(config: DashboardConfig) -> dash.Dash:
    app = dash.Dash(
        __name__,
        assets_folder=str(ASSETS),
        title=text("title.worker", config.language),
        update_title=None,  # "Updating..." in the tab title every refresh would distract
        # the recipient cards are created by callbacks, so their pattern-matching ids
        # are not in the initial layout
        suppress_callback_exceptions=True,
        meta_tags=[{"name": "viewport", "content": "width=device-width, initial-scale=1"}],
    )
    app.index_string = app.index_string.replace(
        "<html>", f'<html lang="{"en" if config.language == "en" else "zh-CN"}">', 1
    )
    app.layout = page_layout(config.language, config.refresh_s)
    register_all(app, config.api_url)
    return app
