"""The user workspace, answered by the files service: `/files` and `/files/{path}`.

Uploads and downloads stream: the request body goes to the files service in pieces
as it arrives (the general body limit does not apply; the service enforces the file
size limit and the tenant's storage quota), and a download is sent as the service
reads it from S3. Paths are the caller's own: the service confines them to the
caller's workspace, so another user's file answers FileNotFound, as a missing one.
"""

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_to_bytes

import grpc
from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.requests import ClientDisconnect

from eoplex_common.errors import BadRequest, FilePathInvalid, OpenEOError
from eoplex_gateway.clients import ServiceClients
from eoplex_gateway.dependencies import Clients, Page, Principal, Quota, Settings
from eoplex_gateway.middleware import PATH_AS_SENT, header_number
from eoplex_gateway.streaming import (
    FileFacts,
    file_bytes,
    first_message,
    range_headers,
    ranged_response,
)
from eoplex_gateway.urls import API_PREFIX
from eoplex_proto.openeo.auth.v1 import auth_pb2
from eoplex_proto.openeo.files.v1 import files_pb2 as pb

router = APIRouter()

OCTET_STREAM = "application/octet-stream"

# Pieces of an upload as sent to the files service: fewer, larger gRPC messages than
# the server's reads of the socket (well below gRPC's 4 MiB message limit).
UPLOAD_PIECE_BYTES = 1024 * 1024
# After the service refused an upload, the rest of the body is read (and dropped) up to
# this much, so that the client, still sending, gets to read the error; beyond it the
# connection is closed.
DRAIN_LIMIT_BYTES = 64 * 1024 * 1024
# `{path}` of `/files/{path}` in the path as sent, before `//` were collapsed.
_FILES_PATH = re.compile(
    "^" + "/+".join(re.escape(part) for part in API_PREFIX.split("/")) + "/+files/(.*)$",
    re.DOTALL,
)


def owner_of(principal: auth_pb2.Principal) -> pb.Owner:
    """The owner the files service confines every call to."""
    return pb.Owner(user_id=principal.user_id, tenant_id=principal.tenant_id)


def file_document(info: pb.FileInfo) -> dict[str, Any]:
    """A workspace file as openEO shows it."""
    return {"path": info.path, "size": info.size, "modified": info.modified}


def user_path(request: Request, path: str) -> str:
    """`{path}` as the client sent it (still to be normalised by the files service);
    FilePathInvalid when its escapes are not UTF-8.

    The gateway merges `//` in URLs (careless joins), but inside a file path `//`
    means an absolute path (`/files//etc/passwd`), which the service must see to
    refuse it, not a file `etc/passwd` of the caller's.
    """
    raw = request.scope.get("raw_path")
    if isinstance(raw, bytes) and not _is_utf8(unquote_to_bytes(raw)):
        # The server decoded it with U+FFFD for each bad byte: another path than was sent.
        raise FilePathInvalid(reason="the path is not UTF-8")
    sent = request.scope.get(PATH_AS_SENT)
    match = _FILES_PATH.match(sent) if isinstance(sent, str) else None
    return match.group(1) if match else path


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def declared_length(request: Request) -> int:
    """`Content-Length`, or -1 for a body of unknown length (chunked). BadRequest when
    it is not a number."""
    declared = request.headers.get("content-length")
    if declared is None:
        return -1
    length = header_number(declared)
    if length is None:
        raise BadRequest(reason="Content-Length is not a number")
    return length


async def upload_pieces(body: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """The request body regrouped into pieces of `UPLOAD_PIECE_BYTES` (the last one
    shorter)."""
    pending = bytearray()
    async for data in body:
        pending += data
        while len(pending) >= UPLOAD_PIECE_BYTES:
            yield bytes(pending[:UPLOAD_PIECE_BYTES])
            del pending[:UPLOAD_PIECE_BYTES]
    if pending:
        yield bytes(pending)


async def drain(body: AsyncIterator[bytes], *, remaining: int) -> None:
    """Read the rest of a refused upload (dropped) when it is small enough to be worth it."""
    if remaining > DRAIN_LIMIT_BYTES:
        return
    read = 0
    with contextlib.suppress(ClientDisconnect):
        async for data in body:
            read += len(data)
            if read > DRAIN_LIMIT_BYTES:
                return


@router.get("/files")
async def list_files(page: Page, principal: Principal, clients: Clients) -> JSONResponse:
    """`GET /files`: the caller's files sorted by path, paged; BadRequest for a bad
    limit or token."""
    query = pb.ListFilesRequest(
        owner=owner_of(principal), limit=page.limit or 0, page_token=page.token
    )
    response = await clients.files.ListFiles(query)
    files = [file_document(info) for info in response.files]
    return JSONResponse(page.listing("files", response.next_page_token, files=files))


@router.put("/files/{path:path}")
async def upload_file(
    path: str,
    request: Request,
    principal: Principal,
    quota: Quota,
    settings: Settings,
    clients: Clients,
) -> JSONResponse:
    """`PUT /files/{path}`: store the body as the caller's file (replacing one of that
    path); 200 with the file.

    Raises FilePathInvalid, FileSizeExceeded (over `OPENEO_FILES_MAX_FILE_BYTES`),
    StorageQuotaExceeded (the tenant's `max_storage_bytes` per user), BadRequest (a
    body that ends early), RequestTimeout (a stalled body), StorageFailure, and the
    authentication errors. Nothing is kept of a failed upload.
    """
    size = declared_length(request)
    header = pb.UploadHeader(
        owner=owner_of(principal),
        path=user_path(request, path),
        quota_bytes=quota.max_storage_bytes,
        size=size,
    )
    body = request.stream()
    try:
        # Refused before a byte is sent: what the announced size, the path or the quota
        # rule out is answered without streaming the body.
        await clients.files.CheckUpload(header)
    except OpenEOError:
        await drain(body, remaining=size)
        raise
    call = clients.files.UploadFile(timeout=settings.file_transfer_timeout_seconds)
    sent = await send_upload(call, header, body)
    try:
        response = await call
    except OpenEOError:
        await drain(body, remaining=size - sent if size >= 0 else 0)
        raise
    return JSONResponse(file_document(response.file))


async def send_upload(call: Any, header: pb.UploadHeader, body: AsyncIterator[bytes]) -> int:
    """Write the header and the body to the upload call, `end` set on the last message;
    the bytes sent. Stops early when the service has answered already (a refusal,
    which awaiting the call raises).

    A client that disconnects leaves the upload without its end, which the service
    discards, as it does when this process dies mid-upload.
    """
    sent = 0
    # Once the call has ended, a write or `done_writing` raises (which error depends on
    # timing); awaiting the call then raises what the service answered.
    ended = (asyncio.InvalidStateError, grpc.aio.AioRpcError)
    try:
        # One piece of look-ahead, to mark the last message (no write follows it).
        pieces = aiter(upload_pieces(body))
        piece = await anext(pieces, None)
        await call.write(pb.UploadChunk(header=header, end=piece is None))
        while piece is not None:
            following = await anext(pieces, None)
            await call.write(pb.UploadChunk(data=piece, end=following is None))
            sent += len(piece)
            piece = following
    except ended:
        return sent
    except ClientDisconnect:
        with contextlib.suppress(*ended):
            await call.done_writing()
        with contextlib.suppress(OpenEOError):
            await call
        raise BadRequest(reason="the client disconnected during the upload") from None
    with contextlib.suppress(*ended):
        await call.done_writing()
    return sent


@router.api_route("/files/{path:path}", methods=["GET", "HEAD"])
async def download_file(
    path: str, request: Request, principal: Principal, settings: Settings, clients: Clients
) -> Response:
    """`GET /files/{path}`: the file as `application/octet-stream`, streamed.

    A single `Range: bytes=...` gets 206 with `Content-Range`, an unsatisfiable one 416
    (RangeNotSatisfiable, `Content-Range: bytes */<size>`); a malformed or multiple
    range, or an `If-Range` that no longer matches, gets the whole file. Raises
    FilePathInvalid, FileNotFound, FileOperationUnsupported (a folder), and the
    authentication errors.
    """
    download = FileDownload(
        clients=clients,
        owner=owner_of(principal),
        path=user_path(request, path),
        timeout_seconds=settings.file_transfer_timeout_seconds,
    )
    return await ranged_response(request, download)


@dataclass(frozen=True)
class FileDownload:
    """`DownloadFile` calls for one file of the caller's."""

    clients: ServiceClients
    owner: pb.Owner
    path: str
    timeout_seconds: float

    async def open(
        self, *, offset: int, length: int
    ) -> tuple[pb.DownloadHeader, Any, AsyncIterator[pb.DownloadChunk]]:
        """The header of the range, the call, and its remaining messages; the service's
        errors are raised here, before any byte is sent."""
        request = pb.DownloadFileRequest(
            owner=self.owner, path=self.path, offset=offset, length=length
        )
        call = self.clients.files.DownloadFile(request, timeout=self.timeout_seconds)
        first, chunks = await first_message(call)
        return first.header, call, chunks

    async def probe(self) -> FileFacts:
        """The file's size and last modification, without its bytes."""
        header, call, _ = await self.open(offset=0, length=0)
        call.cancel()
        return FileFacts(
            size=header.info.size, modified=header.info.modified, media_type=OCTET_STREAM
        )

    async def send(self, *, offset: int, length: int, partial: bool) -> StreamingResponse:
        """200 (or 206 with `Content-Range`) streaming the range; the service's errors are
        raised before any byte is sent."""
        header, call, chunks = await self.open(offset=offset, length=length)
        return self.response(header, call, chunks, partial=partial)

    def response(
        self,
        header: pb.DownloadHeader,
        call: Any,
        chunks: AsyncIterator[pb.DownloadChunk],
        *,
        partial: bool,
    ) -> StreamingResponse:
        """200 (or 206 with `Content-Range`) streaming the range the header announced."""
        headers = range_headers(
            offset=header.offset,
            length=header.length,
            size=header.info.size,
            modified=header.info.modified,
            partial=partial,
        )
        return StreamingResponse(
            file_bytes(call, chunks),
            status_code=206 if partial else 200,
            media_type=OCTET_STREAM,
            headers=headers,
        )


@router.delete("/files/{path:path}")
async def delete_file(
    path: str, request: Request, principal: Principal, clients: Clients
) -> Response:
    """`DELETE /files/{path}`: 204. FilePathInvalid, FileNotFound,
    FileOperationUnsupported (a folder)."""
    query = pb.DeleteFileRequest(owner=owner_of(principal), path=user_path(request, path))
    await clients.files.DeleteFile(query)
    return Response(status_code=204)
