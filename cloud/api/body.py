"""Request bodies and query values checked against pydantic models, with errors that name the field."""

from __future__ import annotations

from typing import TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

from anxin.cloud.api.errors import error
from anxin.cloud.api.json_body import read_json

Model = TypeVar("Model", bound=BaseModel)


def validation_message(exc: ValidationError, whole: str = "body") -> str:
    """Each wrong field (up to five) in quotes, with what is wrong with it."""
    parts = []
    for item in exc.errors()[:5]:
        where = ".".join(str(p) for p in item["loc"]) or whole
        parts.append(f"'{where}': {item['msg']}")
    return "; ".join(parts)


async def read_body(request: web.Request, model: type[Model], required: bool = True) -> Model:
    """The JSON body as ``model``; 400 naming each wrong field otherwise. A body that is
    not ``required`` may be left empty, which is the same as ``{}``."""
    data = await read_json(request)
    if data is None and not required:
        data = {}
    if not isinstance(data, dict):
        raise error(400, "bad_json", "the request body must be a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise error(400, "bad_parameter", validation_message(exc)) from None


def read_query(request: web.Request, model: type[Model]) -> Model:
    """The query string as ``model`` (the first of repeated names); 400 naming each wrong
    parameter otherwise."""
    values = {name: request.query[name] for name in request.query}
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        raise error(400, "bad_parameter", validation_message(exc, "query")) from None


def path_int(request: web.Request, name: str) -> int:
    text = request.match_info[name]
    if not text.isdigit() or len(text) > 15:
        raise error(400, "bad_parameter", f"'{name}' must be a whole number, got '{text}'")
    return int(text)
