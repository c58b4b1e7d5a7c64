"""POST /gateways/enrol: an installer's gateway exchanges its enrolment token for credentials.

No login: the one-time token is the credential. Answers are never cached, and an address
that keeps sending refused tokens is turned away for a while.
"""

from __future__ import annotations

import asyncio
import json
import math

from aiohttp import web

from anxin.cloud.api.errors import error
from anxin.cloud.gateways.enrolment import Enrolment, EnrolmentError, FailureLimiter

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class EnrolHandler:
    def __init__(self, enrolment: Enrolment, limiter: FailureLimiter | None = None) -> None:
        self.enrolment = enrolment
        self.limiter = limiter or FailureLimiter()

    async def enrol(self, request: web.Request) -> web.Response:
        client = request.remote or "unknown"
        wait_s = self.limiter.retry_after(client)
        if wait_s is not None:
            raise _no_store(
                error(429, "too_many_attempts", "too many refused tokens from this address"),
                {"Retry-After": str(math.ceil(wait_s))},
            )
        try:
            body = await request.json()
        except json.JSONDecodeError:
            raise _no_store(error(400, "bad_json", "the request body must be JSON")) from None
        token = body.get("token") if isinstance(body, dict) else None
        if not isinstance(token, str):
            raise _no_store(error(400, "bad_parameter", "'token' must be a string"))
        try:
            credentials = await asyncio.to_thread(self.enrolment.exchange, token)
        except EnrolmentError as exc:
            if exc.status < 500:
                self.limiter.failed(client)
            raise _no_store(error(exc.status, exc.code, exc.message)) from None
        return web.json_response(credentials.as_json(), headers=NO_STORE)


def _no_store(
    exception: web.HTTPException, extra: dict[str, str] | None = None
) -> web.HTTPException:
    exception.headers.update(NO_STORE | (extra or {}))
    return exception
