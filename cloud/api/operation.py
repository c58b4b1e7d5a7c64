"""Each API operation declared once, on its handler: path, who may call it, query and body
models, and its answers with their models.

The aiohttp routes, the checks of every request, the shaping of every answer and the
OpenAPI document (``openapi.py``) are all made from these declarations, so what the
document says is what the server checks and what it serves.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Annotated, Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from anxin.cloud.api.auth import require_role
from anxin.cloud.api.body import read_body, read_query

log = logging.getLogger(__name__)
JSON = "application/json"
MAX_ROW_ID = 2**31 - 1  # the id columns are 32-bit integers
Handler = TypeVar("Handler", bound=Callable[..., Awaitable[Any]])

# Times and days leave the API as ISO 8601 text: typed so here, and documented as such.
Moment = Annotated[str, Field(json_schema_extra={"format": "date-time"})]
Day = Annotated[str, Field(json_schema_extra={"format": "date"})]
RowId = Annotated[int, Field(ge=1, le=MAX_ROW_ID)]


class Reply(BaseModel):
    """An answer body: every key the server sends is declared, and none is missing."""

    model_config = ConfigDict(extra="forbid")


class ErrorDetail(Reply):
    code: str = Field(description="machine-readable, e.g. bad_parameter, not_found")
    message: str = Field(description="names what was wrong, and where")


class Error(Reply):
    error: ErrorDetail


@dataclass(frozen=True)
class Answer:
    """A documented answer. Without a model: the Error body (4xx, 5xx), or no body."""

    description: str
    model: Any = None
    media_type: str = JSON


@dataclass(frozen=True)
class Operation:
    method: str
    path: str  # under the API prefix, e.g. /persons/{person_id}
    summary: str
    answers: Mapping[int, Answer]
    description: str = ""
    # Roles that may call it; empty: any logged-in caller (the handler may narrow it).
    roles: tuple[str, ...] = ()
    query: type[BaseModel] | None = None
    body: type[BaseModel] | None = None
    # An optional body may be left empty, which is the same as {}.
    body_required: bool = True
    path_params: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    public: bool = False  # no login needed
    headers: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def success(self) -> tuple[int, Answer]:
        return next((code, a) for code, a in self.answers.items() if code < 300)


def operation(
    method: str, path: str, summary: str, answers: Mapping[int, Answer], **details: Any
) -> Callable[[Handler], Handler]:
    """Declares the decorated handler ``async (self, request, *, query?, body?)`` as one
    operation; it returns what the success answer's model describes (or a response)."""

    def declare(handler: Handler) -> Handler:
        handler.operation = Operation(method, path, summary, answers, **details)  # type: ignore[attr-defined]
        return handler

    return declare


def declared(area: type) -> list[tuple[str, Operation]]:
    """The operations declared in ``area``'s class body, in the order written."""
    found = []
    for name, member in vars(area).items():
        declared_here = getattr(member, "operation", None)
        if isinstance(declared_here, Operation):
            found.append((name, declared_here))
    return found


def operations_of(area: type) -> tuple[Operation, ...]:
    return tuple(op for _, op in declared(area))


def bind(handlers: object, prefix: str) -> list[web.RouteDef]:
    """aiohttp routes for the operations declared on ``handlers``' class."""
    return [
        web.route(op.method, prefix + op.path, _serve(op, getattr(handlers, name)))
        for name, op in declared(type(handlers))
    ]


def _serve(op: Operation, handler: Callable[..., Awaitable[Any]]) -> Any:
    status, answer = op.success
    shape = TypeAdapter(answer.model) if answer.model is not None else None
    # The query and body a handler takes are checked against their models before it runs;
    # a handler that must answer something first (a rate limit) reads its body itself.
    takes = inspect.signature(handler).parameters
    query = op.query if "query" in takes else None
    body = op.body if "body" in takes else None

    async def serve(request: web.Request) -> web.StreamResponse:
        if op.roles:
            require_role(request, *op.roles)
        inputs: dict[str, Any] = {}
        if query is not None:
            inputs["query"] = read_query(request, query)
        if body is not None:
            inputs["body"] = await read_body(request, body, required=op.body_required)
        result = await handler(request, **inputs)
        if isinstance(result, web.StreamResponse):
            return result
        return web.json_response(
            _shaped(op, shape, result),
            status=status,
            content_type=answer.media_type,
            headers=dict(op.headers) or None,
        )

    return serve


def _shaped(op: Operation, shape: TypeAdapter[Any] | None, result: Any) -> Any:
    if shape is None:
        return result
    try:
        # Keys a handler leaves out stay out (an optional part of the answer).
        return shape.dump_python(shape.validate_python(result), mode="json", exclude_unset=True)
    except ValidationError as exc:
        # A server fault: the handler answered something its declaration does not describe.
        log.error("%s %s answered outside its declared model: %s", op.method, op.path, exc)
        raise AnswerMismatch(f"{op.method} {op.path}: {exc.errors()[:3]}") from None


class AnswerMismatch(RuntimeError):
    """A handler's answer does not fit the model its operation declares."""
