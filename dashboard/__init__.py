"""The Plotly Dash console for community health workers and families.

It holds no privileges of its own and reads only through the cloud REST API.
"""

from anxin.dashboard.app import create_dashboard
from anxin.dashboard.server import DashboardServer, run

__all__ = ["DashboardServer", "create_dashboard", "run"]
