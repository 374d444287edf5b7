"""gRPC plumbing shared by every service: the openEO error boundary, health, deadlines.

Crossing a service boundary happens here and only here:
- `OpenEOErrorInterceptor` (server side) turns an `OpenEOError` raised by a servicer
  (unary, or streaming: before or while it streams) into a gRPC status whose trailing
  metadata carries the openEO code; any other exception becomes `Internal` and is
  logged, so a bug never leaks a traceback.
- `CallContextInterceptor` and `StreamCallContextInterceptor` (client side) put a
  deadline on every call, forward the request id and trace context, and turn a failed
  call back into the same `OpenEOError`; an unreachable service becomes
  `ServiceUnavailable`; a request too large for a message is `PayloadTooLarge`.

Every channel and server sends and accepts messages of up to `MAX_MESSAGE_BYTES`.
"""

import asyncio
import contextlib
import inspect
import logging
import signal
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from typing import Any

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from opentelemetry import context as otel_context
from opentelemetry import trace

from eoplex_common.context import REQUEST_ID_HEADER, request_id
from eoplex_common.errors import (
    OpenEOError,
    PayloadTooLarge,
    ServiceUnavailable,
    error_for_code,
)
from eoplex_common.tracing import extract_trace_context, inject_trace_context, tracer

log = logging.getLogger(__name__)

# The largest message any client or server of the back-end sends or accepts (gRPC's
# default is 4 MiB). Above the gateway's body limit (OPENEO_GATEWAY_MAX_BODY_BYTES,
# 10 MiB), with room for the rest of a message and for JSON that grows when the gateway
# re-encodes it; also MongoDB's largest document, where most such messages are stored.
MAX_MESSAGE_BYTES = 16 * 1024 * 1024
MESSAGE_SIZE_OPTIONS = [
    ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
    ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
]

ERROR_CODE_KEY = "openeo-error-code"
# An error's `Retry-After` (e.g. of TooManyRequests) rides along, for the gateway to send.
RETRY_AFTER_KEY = "openeo-retry-after"

_STATUS_CODES = {
    400: grpc.StatusCode.INVALID_ARGUMENT,
    401: grpc.StatusCode.UNAUTHENTICATED,
    402: grpc.StatusCode.FAILED_PRECONDITION,
    403: grpc.StatusCode.PERMISSION_DENIED,
    404: grpc.StatusCode.NOT_FOUND,
    408: grpc.StatusCode.DEADLINE_EXCEEDED,
    410: grpc.StatusCode.NOT_FOUND,
    413: grpc.StatusCode.INVALID_ARGUMENT,
    429: grpc.StatusCode.RESOURCE_EXHAUSTED,
    501: grpc.StatusCode.UNIMPLEMENTED,
    503: grpc.StatusCode.UNAVAILABLE,
}


def status_code_for(error: OpenEOError) -> grpc.StatusCode:
    """The gRPC status that best matches an openEO error's HTTP status."""
    return _STATUS_CODES.get(error.status, grpc.StatusCode.INTERNAL)


class OpenEOErrorInterceptor(grpc.aio.ServerInterceptor):
    """Server side of the error boundary; also binds the request id and trace context.

    Guards unary-unary, unary-stream and stream-unary handlers. A streaming handler that raises
    before or while it streams ends the call with the openEO code in the trailing
    metadata; the client has then received the messages sent before.
    """

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(handler_call_details)
        if handler is None:
            return handler
        method = handler_call_details.method
        metadata = {key: value for key, value in handler_call_details.invocation_metadata or ()}
        if handler.unary_unary is not None or handler.stream_unary is not None:
            return _guard_unary(handler, method=method, metadata=metadata)
        if handler.unary_stream is not None:
            return _guard_unary_stream(handler, method=method, metadata=metadata)
        return handler


@contextlib.contextmanager
def _caller_context(metadata: Mapping[str, Any]) -> Iterator[None]:
    """The request id and trace context the caller sent, bound for the duration of one call."""
    request_token = request_id.set(str(metadata.get(REQUEST_ID_HEADER, "-")))
    trace_token = otel_context.attach(extract_trace_context(metadata))  # type: ignore[arg-type]
    try:
        yield
    finally:
        otel_context.detach(trace_token)
        request_id.reset(request_token)


async def _abort(context: grpc.aio.ServicerContext, error: Exception, *, method: str) -> None:
    """End the call with the openEO error, or with `Internal` (logged) for anything else."""
    trailing: tuple[tuple[str, str], ...] = ()
    if isinstance(error, OpenEOError):
        code, message, openeo_code = status_code_for(error), error.message, error.code
        if "Retry-After" in error.headers:
            trailing = ((RETRY_AFTER_KEY, error.headers["Retry-After"]),)
    else:
        log.error("unhandled error in %s", method, exc_info=error)
        code, message = (
            grpc.StatusCode.INTERNAL,
            "Server error: an unexpected error occurred, it has been logged.",
        )
        openeo_code = "Internal"
    await context.abort(code, message, trailing_metadata=((ERROR_CODE_KEY, openeo_code), *trailing))


@contextlib.asynccontextmanager
async def _boundary(
    context: grpc.aio.ServicerContext, *, method: str, metadata: Mapping[str, Any]
) -> AsyncIterator[None]:
    """One call of `method` in the caller's context and its span; an error it raises ends
    the call (see `_abort`)."""
    with _caller_context(metadata):
        try:
            with tracer.start_as_current_span(method, kind=trace.SpanKind.SERVER):
                yield
        except asyncio.CancelledError:
            raise
        except Exception as error:
            await _abort(context, error, method=method)


def _guard_unary(
    handler: grpc.RpcMethodHandler, *, method: str, metadata: Mapping[str, Any]
) -> grpc.RpcMethodHandler:
    """A unary-unary or stream-unary handler (one request or a request stream, one
    response) behind the boundary."""
    if handler.unary_unary is not None:
        behaviour, wrap = handler.unary_unary, grpc.unary_unary_rpc_method_handler
    else:
        behaviour, wrap = handler.stream_unary, grpc.stream_unary_rpc_method_handler

    async def guarded(request: Any, context: grpc.aio.ServicerContext) -> Any:
        async with _boundary(context, method=method, metadata=metadata):
            return await behaviour(request, context)

    return wrap(
        guarded,
        request_deserializer=handler.request_deserializer,
        response_serializer=handler.response_serializer,
    )


def _guard_unary_stream(
    handler: grpc.RpcMethodHandler, *, method: str, metadata: Mapping[str, Any]
) -> grpc.RpcMethodHandler:
    behaviour = handler.unary_stream

    async def guarded(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
        async with _boundary(context, method=method, metadata=metadata):
            responses = behaviour(request, context)
            if inspect.isasyncgen(responses):
                async for response in responses:
                    yield response
            else:
                # A handler may also stream with `context.write` and return nothing.
                await responses

    return grpc.unary_stream_rpc_method_handler(
        guarded,
        request_deserializer=handler.request_deserializer,
        response_serializer=handler.response_serializer,
    )


class GrpcService:
    """A running gRPC server with the standard health service and graceful shutdown."""

    def __init__(self, *, name: str, listen: str, grace_seconds: float = 5.0) -> None:
        self.name = name
        self.listen = listen
        self.grace_seconds = grace_seconds
        self.server = grpc.aio.server(
            interceptors=[OpenEOErrorInterceptor()], options=MESSAGE_SIZE_OPTIONS
        )
        self.health = health.aio.HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.server)
        self.port = 0

    async def start(self) -> None:
        """Bind, start serving and report SERVING for "" and for the service name."""
        self.port = self.server.add_insecure_port(self.listen)
        if self.port == 0:
            raise RuntimeError(f"cannot listen on {self.listen}")
        await self.server.start()
        for name in ("", self.name):
            await self.health.set(name, health_pb2.HealthCheckResponse.SERVING)
        log.info("%s serving gRPC on %s", self.name, self.listen)

    async def stop(self) -> None:
        """Report NOT_SERVING, let running calls finish within the grace period, then stop."""
        await self.health.enter_graceful_shutdown()
        await self.server.stop(self.grace_seconds)
        log.info("%s stopped", self.name)

    async def run_until_signal(self) -> None:
        """Serve until SIGTERM or SIGINT, as Kubernetes and the local supervisor stop us."""
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stopping.set)
        await self.start()
        await stopping.wait()
        await self.stop()


def error_from_rpc(error: grpc.aio.AioRpcError, *, service: str) -> OpenEOError:
    """Turn a failed call back into the openEO error the service raised."""
    metadata = {key: str(value) for key, value in error.trailing_metadata() or ()}
    if ERROR_CODE_KEY in metadata:
        rebuilt = error_for_code(metadata[ERROR_CODE_KEY], error.details() or "")
        if RETRY_AFTER_KEY in metadata:
            rebuilt.headers = {**rebuilt.headers, "Retry-After": metadata[RETRY_AFTER_KEY]}
        return rebuilt
    if error.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
        return ServiceUnavailable(service=service)
    log.error("call to %s failed without an openEO error: %s", service, error)
    return OpenEOError("an internal service call failed.")


class _CallContext:
    """What every client call carries: a deadline, the request id and the trace context."""

    def __init__(self, *, service: str, timeout_seconds: float) -> None:
        self.service = service
        self.timeout_seconds = timeout_seconds

    def check_size(self, request: Any) -> None:
        """PayloadTooLarge for a request no message may hold (the channel would fail it
        with RESOURCE_EXHAUSTED, and the caller with a bare Internal): a body within the
        gateway's limit can still grow past it when re-encoded."""
        size = request.ByteSize()
        if size > MAX_MESSAGE_BYTES:
            raise PayloadTooLarge(
                f"The request body is too large once encoded for the back-end's services:"
                f" {size} bytes, at most {MAX_MESSAGE_BYTES} bytes."
            )

    def with_context(self, details: grpc.aio.ClientCallDetails) -> grpc.aio.ClientCallDetails:
        """`details` with the default deadline (unless the caller set one) and our metadata."""
        metadata = grpc.aio.Metadata(*(details.metadata or ()))
        carrier: dict[str, str] = {REQUEST_ID_HEADER: request_id.get()}
        inject_trace_context(carrier)
        for key, value in carrier.items():
            metadata.add(key, value)
        return grpc.aio.ClientCallDetails(
            method=details.method,
            timeout=details.timeout or self.timeout_seconds,
            metadata=metadata,
            credentials=details.credentials,
            wait_for_ready=details.wait_for_ready,
        )


class CallContextInterceptor(_CallContext, grpc.aio.UnaryUnaryClientInterceptor):
    """Client side of the error boundary: deadline, request id, trace context, error mapping."""

    async def intercept_unary_unary(
        self,
        continuation: Callable[[grpc.aio.ClientCallDetails, Any], Awaitable[Any]],
        client_call_details: grpc.aio.ClientCallDetails,
        request: Any,
    ) -> Any:
        self.check_size(request)
        call = await continuation(self.with_context(client_call_details), request)
        try:
            return await call
        except grpc.aio.AioRpcError as error:
            raise error_from_rpc(error, service=self.service) from None


class StreamCallContextInterceptor(_CallContext, grpc.aio.UnaryStreamClientInterceptor):
    """`CallContextInterceptor` for unary-stream calls (a channel files an interceptor under
    one kind of call only, so each kind needs its own object).

    The deadline covers the whole stream. An error the server raises before or while
    it streams arrives as the same `OpenEOError` when the caller reads the next message;
    `cancel()` on the call cancels it on the server too.
    """

    async def intercept_unary_stream(
        self,
        continuation: Callable[[grpc.aio.ClientCallDetails, Any], Awaitable[Any]],
        client_call_details: grpc.aio.ClientCallDetails,
        request: Any,
    ) -> AsyncIterator[Any]:
        self.check_size(request)
        call = await continuation(self.with_context(client_call_details), request)
        return self._responses(call)

    async def _responses(self, call: grpc.aio.UnaryStreamCall) -> AsyncIterator[Any]:
        try:
            async for response in call:
                yield response
        except grpc.aio.AioRpcError as error:
            raise error_from_rpc(error, service=self.service) from None


class StreamUnaryCallContextInterceptor(_CallContext, grpc.aio.StreamUnaryClientInterceptor):
    """`CallContextInterceptor` for stream-unary calls (uploads): the deadline covers the
    whole upload; the caller writes with `call.write()` / `done_writing()` or passes an
    iterator, and awaiting the call raises the server's `OpenEOError`."""

    async def intercept_stream_unary(
        self,
        continuation: Callable[[grpc.aio.ClientCallDetails, Any], Awaitable[Any]],
        client_call_details: grpc.aio.ClientCallDetails,
        request_iterator: Any,
    ) -> Any:
        call = await continuation(self.with_context(client_call_details), request_iterator)
        # A stream-unary interceptor must hand back a call (not the response, as a
        # unary-unary one may), so the error mapping wraps the call's await.
        return _ErrorMappingCall(call, service=self.service)


class _ErrorMappingCall:
    """A stream-unary call whose await raises the service's `OpenEOError`; everything
    else (write, done_writing, cancel, ...) is the call's own."""

    def __init__(self, call: grpc.aio.StreamUnaryCall, *, service: str) -> None:
        self._call = call
        self._service = service

    def __getattr__(self, name: str) -> Any:
        return getattr(self._call, name)

    def __await__(self) -> Any:
        try:
            response = yield from self._call.__await__()
        except grpc.aio.AioRpcError as error:
            raise error_from_rpc(error, service=self._service) from None
        return response


# A restarted service (pod or local process) is reachable again within ~2 s, instead of
# after gRPC's default reconnect backoff of up to two minutes.
CHANNEL_OPTIONS = [
    ("grpc.initial_reconnect_backoff_ms", 250),
    ("grpc.min_reconnect_backoff_ms", 250),
    ("grpc.max_reconnect_backoff_ms", 2000),
    *MESSAGE_SIZE_OPTIONS,
]


def open_channel(*, service: str, address: str, timeout_seconds: float) -> grpc.aio.Channel:
    """A channel to another service whose every call has a deadline and maps errors back."""
    return grpc.aio.insecure_channel(
        address,
        options=CHANNEL_OPTIONS,
        interceptors=[
            CallContextInterceptor(service=service, timeout_seconds=timeout_seconds),
            StreamCallContextInterceptor(service=service, timeout_seconds=timeout_seconds),
            StreamUnaryCallContextInterceptor(service=service, timeout_seconds=timeout_seconds),
        ],
    )


async def check_health(channel: grpc.aio.Channel, *, timeout_seconds: float = 2.0) -> bool:
    """Whether the service behind `channel` reports SERVING."""
    stub = health_pb2_grpc.HealthStub(channel)
    try:
        request = health_pb2.HealthCheckRequest(service="")
        response = await stub.Check(request, timeout=timeout_seconds)
    except (grpc.aio.AioRpcError, OpenEOError):
        return False
    return bool(response.status == health_pb2.HealthCheckResponse.SERVING)
