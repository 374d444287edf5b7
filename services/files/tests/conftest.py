"""Fixtures of the files service tests: the service over the session's real S3."""

from collections.abc import AsyncIterator

import pytest
from minio import Minio

from conftest import Infrastructure
from eoplex_common.s3 import connect_s3
from eoplex_common.settings import InfrastructureSettings
from services.files.tests.workspace import FilesUnderTest, start_files_service


@pytest.fixture
def s3(infrastructure: Infrastructure) -> Minio:
    return connect_s3(InfrastructureSettings(**infrastructure.env))


@pytest.fixture
async def files(s3: Minio) -> AsyncIterator[FilesUnderTest]:
    """A files service (limit `MAX_FILE_BYTES`, idle timeout 1 s) on a bucket of its own."""
    server, under_test = await start_files_service(s3=s3, idle_timeout_seconds=1.0)
    try:
        yield under_test
    finally:
        await under_test.channel.close()
        await server.stop()
