"""gRPC <-> domain for the files service (openeo.files.v1)."""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC

import grpc

from eoplex_common.errors import BadRequest, OpenEOError, RequestTimeout
from eoplex_files.service import FilesService, workspace_of
from eoplex_files.store import StoredFile, Workspace
from eoplex_proto.openeo.files.v1 import files_pb2, files_pb2_grpc


def file_info(stored: StoredFile) -> files_pb2.FileInfo:
    """A file as `GET /files` lists it; `modified` in RFC 3339 UTC."""
    modified = stored.modified.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return files_pb2.FileInfo(path=stored.path, size=stored.size, modified=modified)


def workspace(owner: files_pb2.Owner) -> Workspace:
    """The owner's workspace; BadRequest without ids."""
    return workspace_of(tenant_id=owner.tenant_id, user_id=owner.user_id)


async def upload_header(requests: AsyncIterator[files_pb2.UploadChunk]) -> files_pb2.UploadChunk:
    """The first message of an upload, its header; BadRequest if it is missing or not a
    header."""
    first = await anext(requests, None)
    if first is None or first.WhichOneof("part") != "header":
        raise BadRequest(reason="an upload starts with its header")
    return first


# After a refusal, the rest of an upload is read (and dropped) up to this much, or for
# this long, before the refusal is answered (see `drain`).
DRAIN_LIMIT_BYTES = 64 * 1024 * 1024
DRAIN_LIMIT_SECONDS = 10.0


async def drain(requests: AsyncIterator[files_pb2.UploadChunk]) -> None:
    """Read the rest of a refused upload, up to its end or the drain limits: a Python
    gRPC client that writes after the answer sees its own INTERNAL error instead of
    the answer (grpc/grpc#36066), so the answer waits until the caller stopped writing."""

    async def rest() -> None:
        read = 0
        async for message in requests:
            read += len(message.data)
            if message.end or read > DRAIN_LIMIT_BYTES:
                return

    with contextlib.suppress(Exception):
        await asyncio.wait_for(rest(), timeout=DRAIN_LIMIT_SECONDS)


async def upload_data(
    first: files_pb2.UploadChunk, requests: AsyncIterator[files_pb2.UploadChunk]
) -> AsyncIterator[bytes]:
    """The content after the header `first`, up to the message with `end` set (nothing
    is read after it). A stream that ends before `end` is abandoned (BadRequest), as is
    one with a second header: gRPC hands the server the end of a canceled stream (a
    caller that gave up or died) like a complete one, so only `end` completes an upload."""
    if first.end:
        return
    async for message in requests:
        if message.WhichOneof("part") == "header":
            raise BadRequest(reason="an upload has one header, in its first message")
        if message.data:
            yield message.data
        if message.end:
            return
    raise BadRequest(reason="the upload was abandoned before its end")


class FilesServicer(files_pb2_grpc.FilesServiceServicer):
    """Thin adapter from `openeo.files.v1.FilesService` to `FilesService`."""

    def __init__(self, service: FilesService) -> None:
        self.service = service

    async def GetStorageUsage(
        self, request: files_pb2.GetStorageUsageRequest, context: grpc.aio.ServicerContext
    ) -> files_pb2.GetStorageUsageResponse:
        used = await self.service.storage_usage(
            tenant_id=request.tenant_id, user_id=request.user_id
        )
        return files_pb2.GetStorageUsageResponse(used_bytes=used)

    async def ListFiles(
        self, request: files_pb2.ListFilesRequest, context: grpc.aio.ServicerContext
    ) -> files_pb2.ListFilesResponse:
        files, next_token = await self.service.list_files(
            workspace(request.owner), limit=request.limit, page_token=request.page_token
        )
        return files_pb2.ListFilesResponse(
            files=[file_info(file) for file in files], next_page_token=next_token
        )

    async def UploadFile(
        self,
        request_iterator: AsyncIterator[files_pb2.UploadChunk],
        context: grpc.aio.ServicerContext,
    ) -> files_pb2.UploadFileResponse:
        requests = aiter(request_iterator)
        first = await upload_header(requests)
        header = first.header
        try:
            stored = await self.service.upload(
                workspace(header.owner),
                path=header.path,
                quota_bytes=header.quota_bytes,
                size=header.size,
                chunks=upload_data(first, requests),
            )
        except RequestTimeout:
            raise  # the caller stopped sending: nothing to wait for
        except OpenEOError:
            if not first.end:
                await drain(requests)
            raise
        return files_pb2.UploadFileResponse(file=file_info(stored))

    async def CheckUpload(
        self, request: files_pb2.UploadHeader, context: grpc.aio.ServicerContext
    ) -> files_pb2.CheckUploadResponse:
        await self.service.check_upload(
            workspace(request.owner),
            path=request.path,
            quota_bytes=request.quota_bytes,
            size=request.size,
        )
        return files_pb2.CheckUploadResponse()

    async def DownloadFile(
        self, request: files_pb2.DownloadFileRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[files_pb2.DownloadChunk]:
        download = await self.service.download(
            workspace(request.owner),
            path=request.path,
            offset=request.offset,
            length=request.length,
        )
        header = files_pb2.DownloadHeader(
            info=file_info(download.file), offset=download.offset, length=download.length
        )
        yield files_pb2.DownloadChunk(header=header)
        # Closed also when the caller goes away, which releases the S3 connection.
        async with contextlib.aclosing(download.chunks) as chunks:
            async for data in chunks:
                yield files_pb2.DownloadChunk(data=data)

    async def DeleteFile(
        self, request: files_pb2.DeleteFileRequest, context: grpc.aio.ServicerContext
    ) -> files_pb2.DeleteFileResponse:
        await self.service.delete(workspace(request.owner), path=request.path)
        return files_pb2.DeleteFileResponse()
