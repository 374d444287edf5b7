"""Message sizes: every channel and server carries messages of up to MAX_MESSAGE_BYTES
(gRPC's default is 4 MiB), and a larger request is PayloadTooLarge before it is sent."""

import asyncio
from collections.abc import AsyncIterator

import grpc
import pytest

from eoplex_common import errors
from eoplex_common.rpc import CHANNEL_OPTIONS, MAX_MESSAGE_BYTES, GrpcService, open_channel
from eoplex_proto.openeo.files.v1 import files_pb2, files_pb2_grpc

MIB = 1024 * 1024


class SizeServicer(files_pb2_grpc.FilesServiceServicer):
    """Answers with the size of the user id it was sent, and records it."""

    def __init__(self) -> None:
        self.received: list[int] = []

    async def GetStorageUsage(
        self, request: files_pb2.GetStorageUsageRequest, context: grpc.aio.ServicerContext
    ) -> files_pb2.GetStorageUsageResponse:
        self.received.append(len(request.user_id))
        return files_pb2.GetStorageUsageResponse(used_bytes=len(request.user_id))


# What the `served` fixture yields: the servicer and the address it answers at.
Served = tuple[SizeServicer, str]


@pytest.fixture
async def served() -> AsyncIterator[Served]:
    servicer = SizeServicer()
    service = GrpcService(name="files", listen="127.0.0.1:0", grace_seconds=0.1)
    files_pb2_grpc.add_FilesServiceServicer_to_server(servicer, service.server)
    await service.start()
    yield servicer, f"127.0.0.1:{service.port}"
    await service.stop()


def sized(size: int) -> files_pb2.GetStorageUsageRequest:
    """A request whose serialized size is exactly `size` bytes."""
    request = files_pb2.GetStorageUsageRequest(user_id="x" * size)
    return files_pb2.GetStorageUsageRequest(user_id="x" * (2 * size - request.ByteSize()))


async def test_a_message_beyond_grpcs_default_limit_arrives(served: Served) -> None:
    _, address = served
    async with open_channel(service="files", address=address, timeout_seconds=30) as channel:
        stub = files_pb2_grpc.FilesServiceStub(channel)
        response = await stub.GetStorageUsage(sized(MAX_MESSAGE_BYTES))
    assert response.used_bytes > 10 * MIB


async def test_a_request_beyond_the_limit_is_payload_too_large_and_not_sent(served: Served) -> None:
    servicer, address = served
    async with open_channel(service="files", address=address, timeout_seconds=30) as channel:
        stub = files_pb2_grpc.FilesServiceStub(channel)
        with pytest.raises(errors.PayloadTooLarge, match=str(MAX_MESSAGE_BYTES)):
            await stub.GetStorageUsage(sized(MAX_MESSAGE_BYTES + 1))
    assert servicer.received == []


async def test_synchronous_channels_with_the_shared_options_carry_large_messages(
    served: Served,
) -> None:
    _, address = served
    with grpc.insecure_channel(address, options=CHANNEL_OPTIONS) as channel:
        stub = files_pb2_grpc.FilesServiceStub(channel)
        # Blocking, so in a thread: the server runs in this event loop.
        call = stub.GetStorageUsage
        response = await asyncio.to_thread(call, sized(MAX_MESSAGE_BYTES), timeout=30)
    assert response.used_bytes > 10 * MIB
