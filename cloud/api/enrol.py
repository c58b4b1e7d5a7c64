"""POST /gateways/enrol: an installer's gateway exchanges its enrolment token for credentials.

No login: the one-time token is the credential. Answers are never cached, and an address
that keeps sending refused tokens is turned away for a while.
"""

from __future__ import annotations

import asyncio
import math
from typing import Literal

from aiohttp import web
from pydantic import BaseModel, Field, ValidationError

from anxin.cloud.api.errors import error
from anxin.cloud.api.json_body import read_json
from anxin.cloud.api.operation import Answer, Reply, operation, operations_of
from anxin.cloud.gateways.enrolment import Enrolment, EnrolmentError, FailureLimiter

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class Enrol(BaseModel):
    token: str = Field(description="anxin1.…, as the installer received it")


class GatewayCredentials(Reply):
    site_id: str
    gateway_id: str
    topic_root: str
    mqtt_host: str
    mqtt_port: int
    mqtt_protocol: Literal["auto", "3.1.1", "5"]
    username: str
    password: str
    ca_pem: str | None = Field(description="CA certificate of the broker's TLS listener")


class EnrolHandler:
    def __init__(self, enrolment: Enrolment, limiter: FailureLimiter | None = None) -> None:
        self.enrolment = enrolment
        self.limiter = limiter or FailureLimiter()

    @operation(
        "POST",
        "/gateways/enrol",
        "Exchange a one-time enrolment token for a gateway's identity and broker credentials "
        "(no login: the token is the credential; never cached)",
        {
            200: Answer(
                "enrolled; any earlier broker password of the gateway stops working",
                GatewayCredentials,
            ),
            400: Answer("no token, or a malformed or mistyped one"),
            403: Answer("unknown token"),
            410: Answer("token already used, replaced or expired"),
            429: Answer("too many refused tokens from this address"),
            503: Answer("the broker could not take the credentials"),
        },
        body=Enrol,
        public=True,
        headers=NO_STORE,
    )
    async def enrol(self, request: web.Request) -> web.Response:
        client = request.remote or "unknown"
        wait_s = self.limiter.retry_after(client)
        if wait_s is not None:
            raise _no_store(
                error(429, "too_many_attempts", "too many refused tokens from this address"),
                {"Retry-After": str(math.ceil(wait_s))},
            )
        try:
            body = await read_json(request)
        except web.HTTPException as exc:
            raise _no_store(exc) from None
        try:
            token = Enrol.model_validate(body).token
        except ValidationError:
            raise _no_store(error(400, "bad_parameter", "'token' must be a string")) from None
        try:
            credentials = await asyncio.to_thread(self.enrolment.exchange, token)
        except EnrolmentError as exc:
            if exc.status < 500:
                self.limiter.failed(client)
            raise _no_store(error(exc.status, exc.code, exc.message)) from None
        answer = GatewayCredentials.model_validate(credentials.as_json())
        return web.json_response(answer.model_dump(mode="json"), headers=NO_STORE)


OPERATIONS = operations_of(EnrolHandler)


def _no_store(
    exception: web.HTTPException, extra: dict[str, str] | None = None
) -> web.HTTPException:
    exception.headers.update(NO_STORE | (extra or {}))
    return exception
