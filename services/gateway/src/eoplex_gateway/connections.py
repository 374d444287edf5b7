"""HTTP connections with the bounds uvicorn leaves open: the size of a request's head,
the time it may take to arrive, and the number of connections open at once.

uvicorn's httptools protocol buffers a header of any size (a 50 MB header was answered
200, and twenty 10 MB partial headers took 220 MiB), waits for a head forever (half-open
connections stayed open), and its `limit_concurrency` answers in plain text, and only
once a head has arrived. `bounded_protocol` is that protocol with `ConnectionLimits`:

- a head (request line and header fields) of more than `max_header_bytes` is answered
  431, counted as it arrives, so a connection never holds more than the limit and one
  read of its socket;
- a head must be complete `header_timeout_seconds` after the connection opened, or after
  its first byte on a kept-alive connection (between requests, uvicorn's own keep-alive
  timeout holds); otherwise the connection ends, with a 408 if part of a head arrived;
- a connection beyond `max_connections` open in this process is answered 503.

Answers are openEO errors sent with `Connection: close`. The connection then reads and
drops what the client still sends, for at most `LINGER_SECONDS`, so that a client in
the middle of sending reads the answer instead of a connection reset.
"""

import asyncio
import logging
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, ClassVar

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from eoplex_common.context import new_request_id, request_id
from eoplex_common.errors import BadRequest, InfrastructureBusy, OpenEOError, RequestTimeout
from eoplex_gateway.errors import error_response
from eoplex_gateway.middleware import cors_headers

log = logging.getLogger(__name__)

LINGER_SECONDS = 2.0


@dataclass(frozen=True)
class ConnectionLimits:
    """The bounds of every connection (see the module's docstring)."""

    max_header_bytes: int
    header_timeout_seconds: float
    max_connections: int


def refusal(error: OpenEOError, *, status: int | None = None) -> bytes:
    """`error` as a whole HTTP/1.1 response that closes the connection, with a request id
    of its own (the one in the body, for users to quote)."""
    token = request_id.set(new_request_id())
    try:
        headers = {**cors_headers(None), "Connection": "close", "X-Request-ID": request_id.get()}
        response = error_response(error, status=status, headers=headers)
    finally:
        request_id.reset(token)
    code = response.status_code
    lines = [f"HTTP/1.1 {code} {HTTPStatus(code).phrase}".encode()]
    lines += [name + b": " + value for name, value in response.raw_headers]
    return b"\r\n".join(lines) + b"\r\n\r\n" + bytes(response.body)


class BoundedHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol within `limits`; made per connection by uvicorn."""

    limits: ClassVar[ConnectionLimits]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Between the end of a request's body (or the connection's start) and the end of
        # the next head: the bytes that arrived meanwhile, and whether the head began.
        self.awaiting_head = True
        self.head_bytes = 0
        self.head_started = False
        self.head_timer: asyncio.TimerHandle | None = None
        self.linger: asyncio.TimerHandle | None = None
        self.refused = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        if len(self.connections) >= self.limits.max_connections:
            # Not one of uvicorn's connections: it only lingers until it closes.
            self.transport = transport
            self.refuse(InfrastructureBusy())
            return
        super().connection_made(transport)
        self.start_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self.stop_head_timer()
        if self.linger is not None:
            self.linger.cancel()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self.refused:
            return
        if self.awaiting_head:
            self.head_bytes += len(data)
            if not self.answering():
                self.start_head_timer()
        super().data_received(data)
        if not self.refused and self.awaiting_head and self.head_too_large(self.head_bytes):
            self.refuse(BadRequest(reason=self.too_large_reason()), status=431)

    # Parser callbacks (httptools goes on parsing the rest of a read after a refusal).

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.head_started = True

    def on_headers_complete(self) -> None:
        if self.refused:
            return
        self.stop_head_timer()
        self.awaiting_head = self.head_started = False
        # The count of `data_received` misses a head that came in one read with the end
        # of the previous request.
        parsed = len(self.url) + sum(len(name) + len(value) + 4 for name, value in self.headers)
        if self.head_too_large(parsed):
            self.refuse(BadRequest(reason=self.too_large_reason()), status=431)
            return
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        if not self.refused:
            super().on_body(body)

    def on_message_complete(self) -> None:
        if self.refused:
            return
        super().on_message_complete()
        self.awaiting_head = True
        self.head_bytes = 0

    def on_response_complete(self) -> None:
        super().on_response_complete()
        # A head that began while the response was being sent has its time from now.
        if self.head_started and not self.transport.is_closing():
            self.start_head_timer()

    # Limits and refusals.

    def head_too_large(self, size: int) -> bool:
        return size > self.limits.max_header_bytes

    def too_large_reason(self) -> str:
        return f"the request header is larger than {self.limits.max_header_bytes} bytes"

    def answering(self) -> bool:
        """Whether a response is under way (a head may then arrive, pipelined)."""
        return self.cycle is not None and not self.cycle.response_complete

    def start_head_timer(self) -> None:
        if self.head_timer is None:
            self.head_timer = self.loop.call_later(
                self.limits.header_timeout_seconds, self.head_timed_out
            )

    def stop_head_timer(self) -> None:
        if self.head_timer is not None:
            self.head_timer.cancel()
            self.head_timer = None

    def head_timed_out(self) -> None:
        self.head_timer = None
        if self.transport.is_closing() or self.answering():
            return
        if self.head_started:
            self.refuse(RequestTimeout())
        else:
            # Nothing was asked, so nothing is answered.
            self.transport.close()

    def refuse(self, error: OpenEOError, *, status: int | None = None) -> None:
        """Answer `error` and end the connection after at most LINGER_SECONDS."""
        self.refused = True
        self.stop_head_timer()
        log.info(
            "refused a connection from %s: %d %s",
            self.transport.get_extra_info("peername"),
            status or error.status,
            error.code,
        )
        if self.answering():
            # An answer is under way; another cannot follow it.
            self.transport.close()
            return
        self.transport.write(refusal(error, status=status))
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self.linger = self.loop.call_later(LINGER_SECONDS, self.transport.close)


def bounded_protocol(limits: ConnectionLimits) -> type[BoundedHttpProtocol]:
    """The protocol class for uvicorn's `http` option."""

    class Bounded(BoundedHttpProtocol):
        pass

    Bounded.limits = limits
    return Bounded
