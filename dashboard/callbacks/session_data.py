"""What the browser keeps in the session store, and how callbacks read it."""

from __future__ import annotations

from typing import Any

# Stored instead of a session when the API said the token is no longer valid,
# so the login form can say why the user is back there.
EXPIRED: dict[str, Any] = {"expired": True}


def token_of(session: dict[str, Any] | None) -> str | None:
    return session.get("token") if isinstance(session, dict) else None


def user_of(session: dict[str, Any] | None) -> dict[str, Any] | None:
    return session.get("user") if isinstance(session, dict) and token_of(session) else None


def is_expired(session: dict[str, Any] | None) -> bool:
    return isinstance(session, dict) and bool(session.get("expired"))
