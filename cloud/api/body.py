"""Request bodies and query values checked against pydantic models, with errors that name the field."""

from __future__ import annotations

import json
from typing import TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

from anxin.cloud.api.errors import error

Model = TypeVar("Model", bound=BaseModel)


def validation_message(exc: ValidationError) -> str:
    parts = []
    for item in exc.errors()[:5]:
        where = ".".join(str(p) for p in item["loc"]) or "body"
        parts.append(f"{where}: {item['msg']}")
    return "; ".join(parts)


async def read_body(request: web.Request, model: type[Model]) -> Model:
    """The JSON body as ``model``; 400 naming each wrong field otherwise."""
    try:
        raw = await request.read()
        data = json.loads(raw or b"null")
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise error(400, "bad_json", "the request body must be JSON") from None
    if not isinstance(data, dict):
        raise error(400, "bad_json", "the request body must be a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise error(400, "bad_parameter", validation_message(exc)) from None


def path_int(request: web.Request, name: str) -> int:
    text = request.match_info[name]
    if not text.isdigit() or len(text) > 15:
        raise error(400, "bad_parameter", f"'{name}' must be a whole number, got '{text}'")
    return int(text)
