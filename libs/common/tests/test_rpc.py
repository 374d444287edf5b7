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
        if request.user_id == "slow":
            await asyncio.sleep(5)
        if request.user_id == "publish" and self.js is not None:
            await publish_event(self.js, "rpc-test.event", b"{}")
        return files_pb2.GetStorageUsageResponse(used_bytes=42)


@pytest.fixture(scope="module", autouse=True)
def tracer_provider() -> None:
    # Real spans (not the no-op default) so trace ids are visible on both sides.
    if not isinstance(trace.get_tracer_provider(), TracerProvider):
        trace.set_tracer_provider(TracerProvider())


@pytest.fixture
async def served() -> AsyncIterator[tuple[RecordingServicer, GrpcService]]:
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


async def test_success_passes_through(served: tuple[RecordingServicer, GrpcService]) -> None:
    _, service = served
    response = await stub_for(service).GetStorageUsage(Request(user_id="u"))
    assert response.used_bytes == 42


async def test_openeo_error_arrives_as_the_same_class(
    served: tuple[RecordingServicer, GrpcService],
) -> None:
    _, service = served
    with pytest.raises(errors.FileLocked) as raised:
        await stub_for(service).GetStorageUsage(Request(user_id="locked"))
    assert raised.value.message == "File 'a.tif' is locked by another process."


async def test_unexpected_exception_becomes_internal_without_details(
    served: tuple[RecordingServicer, GrpcService],
) -> None:
    _, service = served
    with pytest.raises(errors.Internal) as raised:
        await stub_for(service).GetStorageUsage(Request(user_id="bug"))
    assert "ZeroDivisionError" not in raised.value.message


async def test_deadline_becomes_service_unavailable(
    served: tuple[RecordingServicer, GrpcService],
) -> None:
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
    served: tuple[RecordingServicer, GrpcService], infrastructure: Infrastructure
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
