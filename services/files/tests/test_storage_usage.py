"""`GetStorageUsage` over gRPC against the real S3 server of the test session."""

import io

import pytest

from eoplex_common.errors import BadRequest
from eoplex_proto.openeo.files.v1 import files_pb2
from services.files.tests.workspace import FilesUnderTest


def put(files: FilesUnderTest, key: str, size: int) -> None:
    files.s3.put_object(files.bucket, key, io.BytesIO(b"x" * size), size)


async def test_counts_only_the_users_own_objects(files: FilesUnderTest) -> None:
    put(files, "t1/alice/a.txt", 10)
    put(files, "t1/alice/folder/b.tif", 32)
    put(files, "t1/bob/c.txt", 1000)
    put(files, "t2/alice/d.txt", 500)
    put(files, "t1/alice-2/e.txt", 7)

    alice = await files.stub.GetStorageUsage(
        files_pb2.GetStorageUsageRequest(tenant_id="t1", user_id="alice")
    )
    bob = await files.stub.GetStorageUsage(
        files_pb2.GetStorageUsageRequest(tenant_id="t1", user_id="bob")
    )

    assert alice.used_bytes == 42
    assert bob.used_bytes == 1000


async def test_a_user_without_files_uses_nothing(files: FilesUnderTest) -> None:
    usage = await files.stub.GetStorageUsage(
        files_pb2.GetStorageUsageRequest(tenant_id="t1", user_id="nobody")
    )
    assert usage.used_bytes == 0


@pytest.mark.parametrize(("tenant_id", "user_id"), [("", "alice"), ("t1", ""), ("", "")])
async def test_empty_ids_are_a_bad_request(
    files: FilesUnderTest, tenant_id: str, user_id: str
) -> None:
    with pytest.raises(BadRequest, match="user_id and tenant_id are required"):
        await files.stub.GetStorageUsage(
            files_pb2.GetStorageUsageRequest(tenant_id=tenant_id, user_id=user_id)
        )
