"""`GetStorageUsage` over gRPC against the real S3 server of the test session."""

import io
import secrets
from collections.abc import AsyncIterator

import pytest
from minio import Minio

from conftest import Infrastructure
from eoplex_common.errors import BadRequest
from eoplex_common.rpc import GrpcService, open_channel
from eoplex_common.s3 import connect_s3
from eoplex_common.settings import InfrastructureSettings
from eoplex_files.service import FilesService
from eoplex_files.servicer import FilesServicer
from eoplex_files.store import WorkspaceStore
from eoplex_proto.openeo.files.v1 import files_pb2, files_pb2_grpc


@pytest.fixture
def s3(infrastructure: Infrastructure) -> Minio:
    return connect_s3(InfrastructureSettings(**infrastructure.env))


@pytest.fixture
async def files(s3: Minio) -> AsyncIterator[tuple[files_pb2_grpc.FilesServiceStub, str]]:
    """A files service on a free port, over a bucket of its own; yields a client and the bucket."""
    bucket = f"files-test-{secrets.token_hex(4)}"
    store = WorkspaceStore(client=s3, bucket=bucket)
    await store.ensure_bucket()
    server = GrpcService(name="files", listen="127.0.0.1:0")
    files_pb2_grpc.add_FilesServiceServicer_to_server(
        FilesServicer(FilesService(store=store)), server.server
    )
    await server.start()
    channel = open_channel(service="files", address=f"127.0.0.1:{server.port}", timeout_seconds=5)
    try:
        yield files_pb2_grpc.FilesServiceStub(channel), bucket
    finally:
        await channel.close()
        await server.stop()


def put(s3: Minio, bucket: str, key: str, size: int) -> None:
    s3.put_object(bucket, key, io.BytesIO(b"x" * size), size)


async def test_counts_only_the_users_own_objects(
    s3: Minio, files: tuple[files_pb2_grpc.FilesServiceStub, str]
) -> None:
    stub, bucket = files
    put(s3, bucket, "t1/alice/a.txt", 10)
    put(s3, bucket, "t1/alice/folder/b.tif", 32)
    put(s3, bucket, "t1/bob/c.txt", 1000)
    put(s3, bucket, "t2/alice/d.txt", 500)
    put(s3, bucket, "t1/alice-2/e.txt", 7)

    alice = await stub.GetStorageUsage(
        files_pb2.GetStorageUsageRequest(tenant_id="t1", user_id="alice")
    )
    bob = await stub.GetStorageUsage(
        files_pb2.GetStorageUsageRequest(tenant_id="t1", user_id="bob")
    )

    assert alice.used_bytes == 42
    assert bob.used_bytes == 1000


async def test_a_user_without_files_uses_nothing(
    files: tuple[files_pb2_grpc.FilesServiceStub, str],
) -> None:
    stub, _ = files
    usage = await stub.GetStorageUsage(
        files_pb2.GetStorageUsageRequest(tenant_id="t1", user_id="nobody")
    )
    assert usage.used_bytes == 0


@pytest.mark.parametrize(("tenant_id", "user_id"), [("", "alice"), ("t1", ""), ("", "")])
async def test_empty_ids_are_a_bad_request(
    files: tuple[files_pb2_grpc.FilesServiceStub, str], tenant_id: str, user_id: str
) -> None:
    stub, _ = files
    with pytest.raises(BadRequest, match="user_id and tenant_id are required"):
        await stub.GetStorageUsage(
            files_pb2.GetStorageUsageRequest(tenant_id=tenant_id, user_id=user_id)
        )
