"""A files service over the real S3 of the test session, and helpers to call it."""

import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass

import grpc
from minio import Minio

from eoplex_common.rpc import GrpcService, open_channel
from eoplex_files.service import FilesService
from eoplex_files.servicer import FilesServicer
from eoplex_files.store import WorkspaceStore
from eoplex_proto.openeo.files.v1 import files_pb2, files_pb2_grpc

ALICE = files_pb2.Owner(tenant_id="t1", user_id="alice")
BOB = files_pb2.Owner(tenant_id="t1", user_id="bob")
MAX_FILE_BYTES = 20 * 1024 * 1024
PIECE_BYTES = 64 * 1024


@dataclass
class FilesUnderTest:
    """A running files service: its client and the bucket behind it."""

    stub: files_pb2_grpc.FilesServiceStub
    channel: grpc.aio.Channel
    address: str
    s3: Minio
    bucket: str

    def keys(self) -> list[str]:
        """Every object key in the bucket."""
        return sorted(
            item.object_name or "" for item in self.s3.list_objects(self.bucket, recursive=True)
        )


async def start_files_service(
    *, s3: Minio, idle_timeout_seconds: float = 60.0
) -> tuple[GrpcService, FilesUnderTest]:
    """A files service on a free port over a bucket of its own (limit `MAX_FILE_BYTES`)."""
    bucket = f"files-test-{secrets.token_hex(4)}"
    store = WorkspaceStore(client=s3, bucket=bucket)
    await store.ensure_bucket()
    service = FilesService(
        store=store,
        max_file_bytes=MAX_FILE_BYTES,
        upload_idle_timeout_seconds=idle_timeout_seconds,
    )
    server = GrpcService(name="files", listen="127.0.0.1:0", grace_seconds=0.1)
    files_pb2_grpc.add_FilesServiceServicer_to_server(FilesServicer(service), server.server)
    await server.start()
    address = f"127.0.0.1:{server.port}"
    channel = open_channel(service="files", address=address, timeout_seconds=30)
    stub = files_pb2_grpc.FilesServiceStub(channel)
    return server, FilesUnderTest(stub, channel, address, s3, bucket)


async def upload_messages(
    owner: files_pb2.Owner, path: str, data: bytes, *, quota: int = 0, size: int | None = None
) -> AsyncIterator[files_pb2.UploadChunk]:
    """The messages of an upload: the header (size announced unless `size` says otherwise),
    then `data` in pieces of `PIECE_BYTES`, the last one marked as the end."""
    announced = len(data) if size is None else size
    header = files_pb2.UploadHeader(owner=owner, path=path, quota_bytes=quota, size=announced)
    yield files_pb2.UploadChunk(header=header, end=not data)
    for start in range(0, len(data), PIECE_BYTES):
        end = start + PIECE_BYTES >= len(data)
        yield files_pb2.UploadChunk(data=data[start : start + PIECE_BYTES], end=end)


async def upload(
    files: FilesUnderTest,
    owner: files_pb2.Owner,
    path: str,
    data: bytes,
    *,
    quota: int = 0,
    size: int | None = None,
) -> files_pb2.FileInfo:
    """Upload `data`; the stored file's info."""
    messages = upload_messages(owner, path, data, quota=quota, size=size)
    response = await files.stub.UploadFile(messages)
    info: files_pb2.FileInfo = response.file
    return info


async def download(
    files: FilesUnderTest,
    owner: files_pb2.Owner,
    path: str,
    *,
    offset: int = 0,
    length: int = -1,
) -> tuple[files_pb2.DownloadHeader, list[bytes]]:
    """The header and the data messages of a download."""
    request = files_pb2.DownloadFileRequest(owner=owner, path=path, offset=offset, length=length)
    header: files_pb2.DownloadHeader | None = None
    pieces: list[bytes] = []
    async for message in files.stub.DownloadFile(request):
        if message.WhichOneof("part") == "header":
            assert header is None and not pieces, "the header comes first, once"
            header = message.header
        else:
            pieces.append(message.data)
    assert header is not None
    return header, pieces


async def list_paths(files: FilesUnderTest, owner: files_pb2.Owner) -> list[str]:
    """The paths `ListFiles` shows, all at once."""
    response = await files.stub.ListFiles(files_pb2.ListFilesRequest(owner=owner))
    return [file.path for file in response.files]
