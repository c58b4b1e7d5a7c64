"""Pure functions from API data (and a language) to Dash components and figures."""
