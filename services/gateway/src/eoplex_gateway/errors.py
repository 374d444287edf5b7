"""The one place where errors become HTTP responses: `{id, code, message, links}`.

Every response that is not a success goes through `error_response`: openEO errors
raised by routes or by the services behind them, FastAPI's validation errors (400,
never 422), unknown routes (404) and wrong methods (405), and bugs (500, logged).
"""

import logging
from collections.abc import Mapping

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException

from eoplex_common.context import request_id
from eoplex_common.errors import (
    AuthenticationRequired,
    BadRequest,
    JobFailed,
    NotFound,
    OpenEOError,
)

log = logging.getLogger(__name__)


def error_response(
    error: OpenEOError, *, status: int | None = None, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    """The openEO error body; its `id` is the request id, so users can quote it to operators."""
    body = {"id": request_id.get(), "code": error.code, "message": error.message, "links": []}
    if isinstance(error, JobFailed):
        # The spec answers a failed job's results with its last error as a log entry.
        body["level"] = "error"
    all_headers = {**error.headers, **(headers or {})}
    if isinstance(error, AuthenticationRequired):
        # RFC 7235: a 401 names the scheme to use; routes choose it via the `challenge` param.
        all_headers["WWW-Authenticate"] = (
            f'{error.params.get("challenge", "Bearer")} realm="openEO"'
        )
    return JSONResponse(body, status_code=status or error.status, headers=all_headers)


async def _openeo_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, OpenEOError)
    if error.status >= 500:
        log.warning("%s %s failed: %s %s", request.method, request.url.path, error.code, error)
    return error_response(error)


async def _validation_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, RequestValidationError)
    reasons = "; ".join(
        f"{'.'.join(map(str, detail['loc']))}: {detail['msg']}" for detail in error.errors()
    )
    return error_response(BadRequest(reason=reasons))


async def _http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, HTTPException)
    if isinstance(error.__cause__, OpenEOError):
        # FastAPI wraps whatever fails while it reads a body, e.g. `PayloadTooLarge`.
        return error_response(error.__cause__)
    if error.status_code == 404:
        return error_response(NotFound())
    if error.status_code == 405:
        # errors.json has no code for a wrong method: keep HTTP's 405 and `Allow`, and
        # say BadRequest (the request is malformed) rather than invent a code.
        reason = f"method {request.method} is not allowed here"
        return error_response(BadRequest(reason=reason), status=405, headers=error.headers)
    return error_response(BadRequest(reason=error.detail), status=error.status_code)


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers for errors raised while routing and inside routes."""
    app.add_exception_handler(OpenEOError, _openeo_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
