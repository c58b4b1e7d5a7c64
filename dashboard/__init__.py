"""The Plotly Dash console for community health workers and families.

It holds no privileges of its own and reads only through the cloud REST API.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from anxin.dashboard.app import create_dashboard
    from anxin.dashboard.server import DashboardServer, run

__all__ = ["DashboardServer", "create_dashboard", "run"]


def __getattr__(name: str) -> Any:
    # Imported on first use, so that the gateway's status page can use the console's
    # translations (anxin.dashboard.i18n) without loading Dash.
    if name == "create_dashboard":
        from anxin.dashboard.app import create_dashboard

        return create_dashboard
    if name in ("DashboardServer", "run"):
        from anxin.dashboard import server

        return getattr(server, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
