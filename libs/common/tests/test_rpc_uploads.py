"""The gRPC boundary for client-streaming calls (uploads): the openEO error, the request
id and the deadline cross it as for the other kinds of call."""

import asyncio
from collections.abc import AsyncIterator

import grpc
import pytest

from eoplex_common import errors
from eoplex_common.context import request_id
from eoplex_common.rpc import GrpcService, open_channel
from eoplex_proto.openeo.files.v1 import files_pb2, files_pb2_grpc


class UploadServicer(files_pb2_grpc.FilesServiceServicer):
    """Counts the bytes of an upload; its path says how to fail."""

    def __init__(self) -> None:
        self.request_ids: list[str] = []

    async def UploadFile(
        self,
        request_iterator: AsyncIterator[files_pb2.UploadChunk],
        context: grpc.aio.ServicerContext,
    ) -> files_pb2.UploadFileResponse:
        self.request_ids.append(request_id.get())
        size = 0
        path = ""
        async for message in request_iterator:
            if message.WhichOneof("part") == "header":
                path = message.header.path
            size += len(message.data)
        if path == "too-large":
            raise errors.FileSizeExceeded(size=3)
        if path == "bug":
            raise ZeroDivisionError
        if path == "slow":
            await asyncio.sleep(1.5)
        return files_pb2.UploadFileResponse(file=files_pb2.FileInfo(path=path, size=size))


@pytest.fixture
async def stub() -> AsyncIterator[tuple[files_pb2_grpc.FilesServiceStub, UploadServicer]]:
    servicer = UploadServicer()
    service = GrpcService(name="files", listen="127.0.0.1:0", grace_seconds=0.1)
    files_pb2_grpc.add_FilesServiceServicer_to_server(servicer, service.server)
    await service.start()
    channel = open_channel(service="files", address=f"127.0.0.1:{service.port}", timeout_seconds=1)
    try:
        yield files_pb2_grpc.FilesServiceStub(channel), servicer
    finally:
        await channel.close()
        await service.stop()


async def messages(path: str) -> AsyncIterator[files_pb2.UploadChunk]:
    yield files_pb2.UploadChunk(header=files_pb2.UploadHeader(path=path))
    yield files_pb2.UploadChunk(data=b"abcd")
    yield files_pb2.UploadChunk(data=b"ef")


async def test_an_upload_from_an_iterator_and_with_writes(
    stub: tuple[files_pb2_grpc.FilesServiceStub, UploadServicer],
) -> None:
    client, servicer = stub
    token = request_id.set("req-upload-1")
    try:
        response = await client.UploadFile(messages("a"))
        call = client.UploadFile()
        async for message in messages("b"):
            await call.write(message)
        await call.done_writing()
        written = await call
    finally:
        request_id.reset(token)
    assert (response.file.path, response.file.size) == ("a", 6)
    assert (written.file.path, written.file.size) == ("b", 6)
    assert servicer.request_ids == ["req-upload-1", "req-upload-1"]


async def test_the_openeo_error_comes_back(
    stub: tuple[files_pb2_grpc.FilesServiceStub, UploadServicer],
) -> None:
    client, _ = stub
    with pytest.raises(errors.FileSizeExceeded, match="Maximum file size: 3"):
        await client.UploadFile(messages("too-large"))


async def test_a_bug_is_internal(
    stub: tuple[files_pb2_grpc.FilesServiceStub, UploadServicer], caplog: pytest.LogCaptureFixture
) -> None:
    client, _ = stub
    with pytest.raises(errors.Internal, match="it has been logged"):
        await client.UploadFile(messages("bug"))
    assert "ZeroDivisionError" in caplog.text


async def test_the_default_deadline_applies(
    stub: tuple[files_pb2_grpc.FilesServiceStub, UploadServicer],
) -> None:
    client, _ = stub
    with pytest.raises(errors.ServiceUnavailable):
        await client.UploadFile(messages("slow"))
    response = await client.UploadFile(messages("slow"), timeout=5)
    assert response.file.path == "slow"
