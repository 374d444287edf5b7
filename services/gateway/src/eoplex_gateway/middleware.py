"""ASGI middleware: the openEO HTTP conventions that hold for every request and response.

Installed outermost first (see `app.create_app`): `CollapseSlashes` -> `RequestContext`
-> `Cors` -> `ErrorGuard` -> `BodySizeLimit` -> the routes. So even a preflight, an
oversized body or a bug answers with CORS headers, an `X-Request-ID` and an
openEO-shaped body.
"""

import logging
import re
import time
from collections.abc import Sequence

from opentelemetry import trace
from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from eoplex_common.context import new_request_id, request_id
from eoplex_common.errors import BadRequest, Internal, OpenEOError, PayloadTooLarge
from eoplex_common.tracing import extract_trace_context, tracer
from eoplex_gateway.errors import error_response

log = logging.getLogger(__name__)
access_log = logging.getLogger("eoplex_gateway.access")

SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9-]{1,64}$")
ALLOWED_METHODS = "OPTIONS, GET, POST, PATCH, PUT, DELETE"
ALLOWED_HEADERS = ("Authorization", "Content-Type")
EXPOSED_HEADERS = "Location, OpenEO-Identifier, OpenEO-Costs, Link, X-Request-ID"
# The scope key under which `CollapseSlashes` keeps the path as the client sent it.
PATH_AS_SENT = "eoplex.path_as_sent"


class HttpMiddleware:
    """A middleware of HTTP requests (`handle`); other ASGI messages (lifespan) pass by."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await self.handle(scope, receive, send)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        raise NotImplementedError


class CollapseSlashes(HttpMiddleware):
    """Route `/openeo/1.2//me` like `/openeo/1.2/me`: clients join URLs carelessly."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        if "//" in scope["path"]:
            # The original is kept for `/files/{path}`, where `//` belongs to the file path.
            collapsed = re.sub(r"/{2,}", "/", scope["path"])
            scope = dict(scope, path=collapsed, **{PATH_AS_SENT: scope["path"]})
            if scope.get("raw_path"):
                scope["raw_path"] = re.sub(rb"/{2,}", b"/", scope["raw_path"])
        await self.app(scope, receive, send)


class RequestContext(HttpMiddleware):
    """Request id (`X-Request-ID` in and out), a SERVER span after `traceparent`, access log."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = Headers(scope=scope)
        incoming = headers.get("x-request-id", "")
        current = incoming if SANE_REQUEST_ID.match(incoming) else new_request_id()
        token = request_id.set(current)
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)["X-Request-ID"] = current
            await send(message)

        method, path = scope["method"], scope["path"]
        parent = extract_trace_context(dict(headers))
        try:
            with tracer.start_as_current_span(
                f"{method} {path}", context=parent, kind=trace.SpanKind.SERVER
            ) as span:
                await self.app(scope, receive, send_with_id)
                span.set_attribute("http.response.status_code", status)
        finally:
            millis = (time.perf_counter() - started) * 1000
            access_log.info(
                "%s %s %d %.1fms",
                method,
                path,
                status,
                millis,
                extra={"method": method, "path": path, "status": status, "duration_ms": millis},
            )
            request_id.reset(token)


class Cors(HttpMiddleware):
    """openEO's CORS rules: headers on every response, and `204` for every `OPTIONS` preflight."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = Headers(scope=scope)
        cors = cors_headers(headers.get("origin"))
        if scope["method"] == "OPTIONS":
            # Preflights carry no credentials, so they never need authentication.
            await Response(status_code=204, headers=cors | preflight_headers(headers))(
                scope, receive, send
            )
            return

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                response_headers = MutableHeaders(scope=message)
                # A route's own `Vary` (e.g. `Accept` where it negotiates) is kept.
                vary = response_headers.get("vary")
                response_headers.update(cors)
                if vary:
                    response_headers.add_vary_header(vary)
            await send(message)

        await self.app(scope, receive, send_with_cors)


def cors_headers(origin: str | None) -> dict[str, str]:
    """Allow every origin; with credentials allowed, browsers need the origin echoed, not `*`."""
    return {
        "Access-Control-Allow-Origin": origin or "*",
        "Access-Control-Allow-Credentials": "true",
        "Access-Control-Expose-Headers": EXPOSED_HEADERS,
        "Vary": "Origin",
    }


def preflight_headers(request_headers: Headers) -> dict[str, str]:
    """Methods and headers a browser may use in the actual request (at least `Authorization`)."""
    requested = request_headers.get("access-control-request-headers", "")
    names = list(ALLOWED_HEADERS)
    for name in (part.strip() for part in requested.split(",")):
        if name and name.lower() not in {known.lower() for known in names}:
            names.append(name)
    return {
        "Access-Control-Allow-Methods": ALLOWED_METHODS,
        "Access-Control-Allow-Headers": ", ".join(names),
    }


class ErrorGuard:
    """Render errors that escape the routes (middleware errors, bugs) as openEO errors."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except OpenEOError as error:
            if started:
                raise
            await error_response(error)(scope, receive, send)
        except Exception:
            log.exception("unhandled error in %s %s", scope.get("method"), scope.get("path"))
            if started:
                raise
            bug = Internal("Server error: an unexpected error occurred, it has been logged.")
            await error_response(bug)(scope, receive, send)


class BodySizeLimit:
    """`413 PayloadTooLarge` for bodies above the limit, by `Content-Length` and by counting.

    Requests matching one of `unlimited` (method, path prefix) pass unchecked: their
    route streams the body to a service that enforces its own limit (file uploads).
    """

    def __init__(
        self, app: ASGIApp, *, max_bytes: int, unlimited: Sequence[tuple[str, str]] = ()
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.unlimited = tuple(unlimited)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or any(
            scope["method"] == method and scope["path"].startswith(prefix)
            for method, prefix in self.unlimited
        ):
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length")
        if declared is not None:
            length = header_number(declared)
            if length is None:
                raise BadRequest(reason="Content-Length is not a number")
            if length > self.max_bytes:
                raise PayloadTooLarge(size=self.max_bytes)
        received = 0

        async def counting_receive() -> Message:
            # Chunked bodies declare no length: count what actually arrives.
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise PayloadTooLarge(size=self.max_bytes)
            return message

        await self.app(scope, counting_receive, send)


# Above any length or offset the back-end deals in; larger numbers in headers read as it.
LARGEST_HEADER_NUMBER = 10**18


def header_number(value: str) -> int | None:
    """The number of a header that holds one (`Content-Length`, a `Range` bound): ASCII
    digits only, else None. Numbers beyond LARGEST_HEADER_NUMBER read as it, as Python
    refuses to convert numbers of more than 4300 digits (leading zeros included)."""
    if not (value.isascii() and value.isdigit()):
        return None
    digits = value.lstrip("0") or "0"
    # More digits than it has are more than it.
    if len(digits) > len(str(LARGEST_HEADER_NUMBER)):
        return LARGEST_HEADER_NUMBER
    return min(int(digits), LARGEST_HEADER_NUMBER)
