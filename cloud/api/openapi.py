"""The OpenAPI 3.1 document for /api/v1, made from the declared operations (``operation.py``):
request bodies and query parameters from the models that check them, answers from the
models that shape them. A test checks it lists exactly the served routes."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

from aiohttp import web
from pydantic import TypeAdapter
from pydantic.json_schema import GenerateJsonSchema

from anxin import __version__
from anxin.cloud.api.operation import JSON, Answer, Error, Operation, operation, operations_of

REF = "#/components/schemas/{model}"
ERROR = {"$ref": REF.format(model="Error")}
BAD_REQUEST = "the request was malformed; the message names the parameter"
NOT_LOGGED_IN = "not logged in, or the session expired"
FORBIDDEN = "the caller's role may not do this"


class Area(Protocol):
    OPERATIONS: tuple[Operation, ...]


class _Untitled(GenerateJsonSchema):
    """Schemas without the titles pydantic derives from class and field names."""

    def field_title_should_be_set(self, schema: Any) -> bool:
        return False

    def model_schema(self, schema: Any) -> Any:
        json_schema = super().model_schema(schema)
        json_schema.pop("title", None)
        return json_schema


def openapi_document(prefix: str, areas: Iterable[Area] = ()) -> dict[str, Any]:
    operations = [op for area in areas for op in area.OPERATIONS]
    keyed: list[tuple[Any, Any, TypeAdapter[Any]]] = [
        ("Error", "serialization", TypeAdapter(Error))
    ]
    for index, op in enumerate(operations):
        if op.body is not None:
            keyed.append(((index, "body"), "validation", TypeAdapter(op.body)))
        for status, answer in op.answers.items():
            if answer.model is not None:
                keyed.append(((index, status), "serialization", TypeAdapter(answer.model)))
    schemas, defs = TypeAdapter.json_schemas(
        keyed, ref_template=REF, schema_generator=_Untitled, union_format="primitive_type_array"
    )
    components = dict(defs.get("$defs", {}))
    paths: dict[str, Any] = {}
    for index, op in enumerate(operations):
        item = _operation(op, lambda key, i=index: schemas[((i, key), _mode(key))], components)
        paths.setdefault(op.path, {})[op.method.lower()] = item
    return {
        "openapi": "3.1.0",
        "info": {"title": "Anxin API", "version": __version__},
        "servers": [{"url": prefix}],
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": dict(sorted(components.items())),
        },
    }


def _mode(key: Any) -> str:
    return "validation" if key == "body" else "serialization"


def _operation(op: Operation, schema_of: Any, components: dict[str, Any]) -> dict[str, Any]:
    item: dict[str, Any] = {"summary": op.summary}
    description = op.description
    if op.roles:
        description = f"{description} Roles: {', '.join(op.roles)}.".strip()
    if description:
        item["description"] = description
    parameters = [
        _parameter(name, "path", TypeAdapter(kind).json_schema(schema_generator=_Untitled), True)
        for name, kind in op.path_params.items()
    ]
    if op.query is not None:
        parameters += _query_parameters(op.query, components)
    if parameters:
        item["parameters"] = parameters
    if op.body is not None:
        item["requestBody"] = {
            "required": op.body_required,
            "content": {JSON: {"schema": schema_of("body")}},
        }
    answers: dict[str, Any] = {}
    for status, answer in op.answers.items():
        entry: dict[str, Any] = {"description": answer.description}
        schema = schema_of(status) if answer.model is not None else ERROR if status >= 400 else None
        if schema is not None:
            entry["content"] = {answer.media_type: {"schema": schema}}
        answers[str(status)] = entry
    if op.path_params or op.query is not None or op.body is not None:
        answers.setdefault("400", _error_answer(BAD_REQUEST))
    if not op.public:
        answers.setdefault("401", _error_answer(NOT_LOGGED_IN))
        item["security"] = [{"bearer": []}]
    if op.roles:
        answers.setdefault("403", _error_answer(FORBIDDEN))
    item["responses"] = dict(sorted(answers.items()))
    return item


def _query_parameters(model: Any, components: dict[str, Any]) -> list[dict[str, Any]]:
    schema = model.model_json_schema(
        ref_template=REF, schema_generator=_Untitled, union_format="primitive_type_array"
    )
    components.update(schema.pop("$defs", {}))
    required = set(schema.get("required", ()))
    return [
        _parameter(name, "query", _never_null(field), name in required)
        for name, field in schema.get("properties", {}).items()
    ]


def _never_null(schema: dict[str, Any]) -> dict[str, Any]:
    """A query value is text or absent, never null: ``X | None = None`` documents as X."""
    schema = {key: value for key, value in schema.items() if (key, value) != ("default", None)}
    branches = schema.get("anyOf")
    if branches:
        kept = [branch for branch in branches if branch != {"type": "null"}]
        if len(kept) == 1:
            del schema["anyOf"]
            schema = kept[0] | schema
        else:
            schema["anyOf"] = kept
    if isinstance(schema.get("type"), list):
        types = [kind for kind in schema["type"] if kind != "null"]
        schema["type"] = types[0] if len(types) == 1 else types
    return schema


def _parameter(name: str, where: str, schema: dict[str, Any], required: bool) -> dict[str, Any]:
    parameter: dict[str, Any] = {"name": name, "in": where, "required": required}
    description = schema.pop("description", None)
    if description:
        parameter["description"] = description
    parameter["schema"] = schema
    return parameter


def _error_answer(description: str) -> dict[str, Any]:
    return {"description": description, "content": {JSON: {"schema": ERROR}}}


class OpenApi:
    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document

    @operation(
        "GET",
        "/openapi.json",
        "This document",
        {200: Answer("OpenAPI 3.1", dict[str, Any])},
        public=True,
    )
    async def serve(self, _request: web.Request) -> web.Response:
        return web.json_response(self.document)


OPERATIONS = operations_of(OpenApi)
