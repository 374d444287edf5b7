"""The request id that follows one user request through every service and log line."""

import secrets
from contextvars import ContextVar

REQUEST_ID_HEADER = "x-request-id"

request_id: ContextVar[str] = ContextVar("request_id", default="-")


def new_request_id() -> str:
    """A random id for a request that arrived without one."""
    return secrets.token_hex(8)
