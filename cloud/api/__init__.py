"""The REST API at /api/v1 (aiohttp)."""

from anxin.cloud.api.app import API_PREFIX, create_app

__all__ = ["API_PREFIX", "create_app"]
