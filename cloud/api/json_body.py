"""Request bodies read as JSON with limits an attacker cannot get past: size, media type,
nesting depth and number range; every refusal is the API's JSON error with a 4xx."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from aiohttp import web
from pydantic_core import from_json

from anxin.cloud.api.errors import error

# aiohttp's own default, kept on purpose: the largest real body (a person's record, an
# assessment with notes) is a few kilobytes, and 1 MiB parses in about a millisecond.
MAX_BODY_BYTES = 2**20
# No body of the API nests more than a few levels; anything deeper is not a request.
MAX_DEPTH = 32
# Every integer column is at most 64 bits wide; no body number may be larger.
INT_RANGE = range(-(2**63), 2**63)
TOO_LARGE = f"the request body may have at most {MAX_BODY_BYTES} bytes (1 MiB)"


class BadJson(ValueError):
    """What is wrong with a JSON text, and where."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def parse_json(raw: bytes) -> Any:
    """The JSON value of ``raw`` (None when empty): strict UTF-8 text, no NaN or Infinity,
    at most ``MAX_DEPTH`` levels deep, every number finite and every integer 64-bit."""
    if not raw.strip():
        return None
    try:
        value = from_json(raw, allow_inf_nan=False)
    except ValueError as exc:
        # The parser stops at 200 levels, long before the interpreter's stack would.
        if "recursion limit" in str(exc):
            raise BadJson("bad_json", too_deep("body")) from None
        raise BadJson("bad_json", f"the request body is not valid JSON: {exc}") from None
    _check_values(value)
    return value


def too_deep(where: str) -> str:
    return f"the request body is nested more than {MAX_DEPTH} levels deep ({where})"


def _check_values(value: Any) -> None:
    # Paths are built per container, not per value: a 1 MiB array is checked in milliseconds.
    if type(value) not in (dict, list):
        _check_number(value, ())
        return
    pending: list[tuple[Any, tuple[str | int, ...]]] = [(value, ())]
    while pending:
        container, path = pending.pop()
        if len(path) >= MAX_DEPTH:
            raise BadJson("bad_json", too_deep(_where(path)))
        pairs: Iterable[tuple[str | int, Any]] = (
            container.items() if type(container) is dict else enumerate(container)
        )
        for key, child in pairs:
            kind = type(child)
            if kind is dict or kind is list:
                pending.append((child, (*path, key)))
            elif (kind is int and child not in INT_RANGE) or (
                kind is float and not math.isfinite(child)
            ):
                _check_number(child, (*path, key))


def _check_number(item: Any, path: tuple[str | int, ...]) -> None:
    if type(item) is int and item not in INT_RANGE:
        raise BadJson("bad_parameter", f"'{_where(path)}': the number must fit in 64 bits")
    if type(item) is float and not math.isfinite(item):
        raise BadJson("bad_parameter", f"'{_where(path)}': the number is too large")


def _where(path: tuple[str | int, ...]) -> str:
    return ".".join(str(part) for part in path) or "body"


def is_json_media_type(content_type: str) -> bool:
    return content_type == "application/json" or (
        content_type.startswith("application/") and content_type.endswith("+json")
    )


def too_large() -> web.HTTPException:
    return error(413, "body_too_large", TOO_LARGE)


async def read_json(request: web.Request) -> Any:
    """The request's JSON body (None when there is none); 413, 415 or 400 otherwise."""
    if request.body_exists and not is_json_media_type(request.content_type):
        # Also what keeps a cross-site HTML form (text/plain) from posting a JSON text.
        raise error(
            415,
            "unsupported_media_type",
            f"send the body as JSON with 'Content-Type: application/json' "
            f"(got '{request.content_type}')",
        )
    if (request.content_length or 0) > MAX_BODY_BYTES:
        raise too_large()
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise too_large() from None
    if len(raw) > MAX_BODY_BYTES:
        raise too_large()
    try:
        return parse_json(raw)
    except BadJson as exc:
        raise error(400, exc.code, str(exc)) from None
