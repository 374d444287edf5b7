"""The gRPC boundary: openEO errors, request ids and trace context cross it unchanged."""

import asyncio
from collections.abc import AsyncIterator

import grpc
import nats
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider

from conftest import Infrastructure
from eoplex_common import errors
from eoplex_common.context import request_id
from eoplex_common.events import publish_event
from eoplex_common.rpc import GrpcService, check_health, open_channel
from eoplex_common.tracing import extract_trace_context, tracer
from eoplex_proto.openeo.executor.v1 import executor_pb2, executor_pb2_grpc
from eoplex_proto.openeo.files.v1 import files_pb2, files_pb2_grpc

Request = files_pb2.GetStorageUsageRequest


class RecordingServicer(files_pb2_grpc.FilesServiceServicer):
    """Raises on demand and records what context each call arrived with."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, int]] = []
        self.js: nats.js.JetStreamContext | None = None

    async def GetStorageUsage(
        self, request: files_pb2.GetStorageUsageRequest, context: grpc.aio.ServicerContext
    ) -> files_pb2.GetStorageUsageResponse:
        span = trace.get_current_span().get_span_context()
        self.seen.append((request_id.get(), span.trace_id))
        if request.user_id == "locked":
            raise errors.FileLocked(file="a.tif")
        if request.user_id == "bug":
            raise ZeroDivisionError
        if request.user_id == "throttled":
            raise errors.TooManyRequests(seconds=17)
        if request.user_id == "slow":
            await asyncio.sleep(5)
        if request.user_id == "publish" and self.js is not None:
            await publish_event(self.js, "rpc-test.event", b"{}")
        return files_pb2.GetStorageUsageResponse(used_bytes=42)


# What the `served` fixture yields: the servicer and its running server.
Served = tuple[RecordingServicer, GrpcService]


@pytest.fixture(scope="module", autouse=True)
def tracer_provider() -> None:
    # Real spans (not the no-op default) so trace ids are visible on both sides.
    if not isinstance(trace.get_tracer_provider(), TracerProvider):
        trace.set_tracer_provider(TracerProvider())


@pytest.fixture
async def served() -> AsyncIterator[Served]:
    servicer = RecordingServicer()
    service = GrpcService(name="files", listen="127.0.0.1:0", grace_seconds=0.1)
    files_pb2_grpc.add_FilesServiceServicer_to_server(servicer, service.server)
    await service.start()
    yield servicer, service
    await service.stop()


_channels: list[grpc.aio.Channel] = []


def stub_for(service: GrpcService, *, timeout: float = 2.0) -> files_pb2_grpc.FilesServiceStub:
    channel = open_channel(
        service="files", address=f"127.0.0.1:{service.port}", timeout_seconds=timeout
    )
    # A stub does not keep its channel alive; an unreferenced aio channel closes itself.
    _channels.append(channel)
    return files_pb2_grpc.FilesServiceStub(channel)


async def test_success_passes_through(served: Served) -> None:
    _, service = served
    response = await stub_for(service).GetStorageUsage(Request(user_id="u"))
    assert response.used_bytes == 42


async def test_openeo_error_arrives_as_the_same_class(served: Served) -> None:
    _, service = served
    with pytest.raises(errors.FileLocked) as raised:
        await stub_for(service).GetStorageUsage(Request(user_id="locked"))
    assert raised.value.message == "File 'a.tif' is locked by another process."


async def test_an_errors_retry_after_crosses_with_it(served: Served) -> None:
    _, service = served
    with pytest.raises(errors.TooManyRequests) as raised:
        await stub_for(service).GetStorageUsage(Request(user_id="throttled"))
    assert raised.value.headers == {"Retry-After": "17"}
    assert raised.value.message == "Too many requests. Please try again in 17 seconds."


async def test_unexpected_exception_becomes_internal_without_details(served: Served) -> None:
    _, service = served
    with pytest.raises(errors.Internal) as raised:
        await stub_for(service).GetStorageUsage(Request(user_id="bug"))
    assert "ZeroDivisionError" not in raised.value.message


async def test_deadline_becomes_service_unavailable(served: Served) -> None:
    _, service = served
    with pytest.raises(errors.ServiceUnavailable):
        await stub_for(service, timeout=0.2).GetStorageUsage(Request(user_id="slow"))


async def test_stopped_service_is_unavailable_and_unhealthy() -> None:
    service = GrpcService(name="files", listen="127.0.0.1:0", grace_seconds=0)
    files_pb2_grpc.add_FilesServiceServicer_to_server(RecordingServicer(), service.server)
    await service.start()
    channel = open_channel(service="files", address=f"127.0.0.1:{service.port}", timeout_seconds=1)
    assert await check_health(channel)
    await service.stop()
    assert not await check_health(channel, timeout_seconds=0.5)
    with pytest.raises(errors.ServiceUnavailable) as raised:
        await files_pb2_grpc.FilesServiceStub(channel).GetStorageUsage(Request(user_id="u"))
    assert raised.value.status == 503


async def test_request_id_and_trace_cross_grpc_and_nats(
    served: Served, infrastructure: Infrastructure
) -> None:
    servicer, service = served
    connection = await nats.connect(infrastructure.nats_url)
    received: asyncio.Queue[nats.aio.msg.Msg] = asyncio.Queue()
    try:
        servicer.js = connection.jetstream()
        await servicer.js.add_stream(name="RPC_TEST", subjects=["rpc-test.>"])
        await connection.subscribe("rpc-test.event", cb=received.put)
        token = request_id.set("req-123")
        try:
            with tracer.start_as_current_span("http request") as span:
                await stub_for(service).GetStorageUsage(Request(user_id="publish"))
                trace_id = span.get_span_context().trace_id
        finally:
            request_id.reset(token)
        message = await asyncio.wait_for(received.get(), 5)
    finally:
        await connection.close()
    assert servicer.seen[-1] == ("req-123", trace_id)
    headers = message.headers or {}
    assert headers["x-request-id"] == "req-123"
    remote = trace.get_current_span(extract_trace_context(headers)).get_span_context()
    assert remote.trace_id == trace_id


class StreamingServicer(executor_pb2_grpc.ExecutorServiceServicer):
    """Streams three chunks, or fails before or while streaming, as `user_id` says."""

    def __init__(self) -> None:
        self.cancelled = asyncio.Event()
        self.request_ids: list[str] = []

    async def Execute(
        self, request: executor_pb2.ExecuteRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[executor_pb2.ResultChunk]:
        self.request_ids.append(request_id.get())
        if request.user_id == "fails-first":
            raise errors.ProcessGraphComplexity()
        yield executor_pb2.ResultChunk(media_type="text/plain", size=6)
        if request.user_id == "fails-midway":
            raise errors.FileLocked(file="a.tif")
        if request.user_id == "bug":
            raise ZeroDivisionError
        if request.user_id == "slow":
            try:
                await asyncio.sleep(5)
            except asyncio.CancelledError:
                self.cancelled.set()
                raise
        for data in (b"abc", b"def"):
            yield executor_pb2.ResultChunk(data=data)


class WritingServicer(executor_pb2_grpc.ExecutorServiceServicer):
    """Streams with `context.write` instead of yielding, then fails."""

    async def Execute(
        self, request: executor_pb2.ExecuteRequest, context: grpc.aio.ServicerContext
    ) -> None:
        await context.write(executor_pb2.ResultChunk(size=1))
        raise errors.RequestTimeout()


# What the `streaming` fixture yields: the servicer and its running server.
Streaming = tuple[StreamingServicer, GrpcService]


async def start_streaming(
    servicer: executor_pb2_grpc.ExecutorServiceServicer,
) -> GrpcService:
    service = GrpcService(name="executor", listen="127.0.0.1:0", grace_seconds=0.1)
    executor_pb2_grpc.add_ExecutorServiceServicer_to_server(servicer, service.server)
    await service.start()
    return service


@pytest.fixture
async def streaming() -> AsyncIterator[Streaming]:
    servicer = StreamingServicer()
    service = await start_streaming(servicer)
    yield servicer, service
    await service.stop()


def executor_stub(
    service: GrpcService, *, timeout: float = 2.0
) -> executor_pb2_grpc.ExecutorServiceStub:
    channel = open_channel(
        service="executor", address=f"127.0.0.1:{service.port}", timeout_seconds=timeout
    )
    _channels.append(channel)
    return executor_pb2_grpc.ExecutorServiceStub(channel)


def execute(user_id: str) -> executor_pb2.ExecuteRequest:
    return executor_pb2.ExecuteRequest(user_id=user_id)


async def read_all(call: AsyncIterator[executor_pb2.ResultChunk]) -> list[executor_pb2.ResultChunk]:
    return [chunk async for chunk in call]


async def test_stream_passes_through_with_request_id(streaming: Streaming) -> None:
    servicer, service = streaming
    token = request_id.set("req-stream")
    try:
        chunks = await read_all(executor_stub(service).Execute(execute("ok")))
    finally:
        request_id.reset(token)
    assert [chunk.size for chunk in chunks] == [6, 0, 0]
    assert b"".join(chunk.data for chunk in chunks) == b"abcdef"
    assert servicer.request_ids == ["req-stream"]


async def test_stream_error_before_the_first_message_arrives_as_the_same_class(
    streaming: Streaming,
) -> None:
    _, service = streaming
    call = executor_stub(service).Execute(execute("fails-first"))
    with pytest.raises(errors.ProcessGraphComplexity) as raised:
        await anext(aiter(call))
    assert raised.value.message == errors.ProcessGraphComplexity().message


async def test_stream_error_while_streaming_follows_the_messages_sent_before(
    streaming: Streaming,
) -> None:
    _, service = streaming
    received = []
    with pytest.raises(errors.FileLocked) as raised:
        async for chunk in executor_stub(service).Execute(execute("fails-midway")):
            received.append(chunk)
    assert [chunk.size for chunk in received] == [6]
    assert raised.value.message == "File 'a.tif' is locked by another process."


async def test_stream_unexpected_exception_becomes_internal_without_details(
    streaming: Streaming,
) -> None:
    _, service = streaming
    with pytest.raises(errors.Internal) as raised:
        await read_all(executor_stub(service).Execute(execute("bug")))
    assert "ZeroDivisionError" not in raised.value.message


async def test_stream_written_with_context_write_is_guarded_too() -> None:
    service = await start_streaming(WritingServicer())
    try:
        received = []
        with pytest.raises(errors.RequestTimeout):
            async for chunk in executor_stub(service).Execute(execute("u")):
                received.append(chunk)
        assert [chunk.size for chunk in received] == [1]
    finally:
        await service.stop()


async def test_stream_deadline_becomes_service_unavailable(streaming: Streaming) -> None:
    servicer, service = streaming
    with pytest.raises(errors.ServiceUnavailable):
        await read_all(executor_stub(service, timeout=0.3).Execute(execute("slow")))
    await asyncio.wait_for(servicer.cancelled.wait(), 2)


async def test_cancelling_a_stream_cancels_the_servicer(streaming: Streaming) -> None:
    servicer, service = streaming
    call = executor_stub(service, timeout=10).Execute(execute("slow"))
    first = await anext(aiter(call))
    assert first.size == 6
    assert call.cancel()
    await asyncio.wait_for(servicer.cancelled.wait(), 2)
