"""The browser the tests drive; see anxin.headless_browser."""

from anxin.headless_browser import CHROMEDRIVER, CHROMIUM, available, headless_chromium

__all__ = ["CHROMEDRIVER", "CHROMIUM", "available", "headless_chromium"]
