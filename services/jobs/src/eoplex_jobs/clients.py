"""The jobs service's outbound adapters: the processes service (validation), the executor
(estimates), the auth service (tenant job limits) and S3 (the result files of jobs)."""

import asyncio
from collections.abc import AsyncGenerator, Iterator
from dataclasses import fields
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
from minio import Minio
from minio.deleteobjects import DeleteObject

from eoplex_common.errors import OpenEOError, error_for_code
from eoplex_common.s3 import connect_s3, ensure_bucket
from eoplex_jobs.estimate import ExecutorFigures
from eoplex_jobs.result_links import StoredResult
from eoplex_jobs.scheduler import TenantJobLimit
from eoplex_jobs.settings import JobsSettings
from eoplex_proto.openeo.auth.v1 import auth_pb2, auth_pb2_grpc
from eoplex_proto.openeo.executor.v1 import executor_pb2, executor_pb2_grpc
from eoplex_proto.openeo.processes.v1 import processes_pb2, processes_pb2_grpc


class ProcessesValidation:
    """Validation by the processes service (`ValidateProcess`), whose answers come back as
    the openEO errors it found."""

    def __init__(self, channel: grpc.aio.Channel) -> None:
        self.processes = processes_pb2_grpc.ProcessesServiceStub(channel)

    async def validate(
        self, process_json: str, *, user_id: str, tenant_id: str
    ) -> list[OpenEOError]:
        """Every problem of the process, which may call the owner's user-defined processes;
        ServiceUnavailable if the service does not answer."""
        request = processes_pb2.ValidateProcessRequest(
            process_json=process_json, user_id=user_id, tenant_id=tenant_id
        )
        response = await self.processes.ValidateProcess(request)
        return [error_for_code(error.code, error.message) for error in response.errors]


class ExecutorEstimates:
    """The executor's `Estimate`: the graph evaluated lazily, nothing read or written."""

    def __init__(self, channel: grpc.aio.Channel) -> None:
        self.executor = executor_pb2_grpc.ExecutorServiceStub(channel)

    async def estimate(self, process_json: str, *, user_id: str, tenant_id: str) -> ExecutorFigures:
        """What the process would read, produce and write; the executor's openEO errors
        propagate."""
        request = executor_pb2.EstimateRequest(
            process_json=process_json, user_id=user_id, tenant_id=tenant_id
        )
        response = await self.executor.Estimate(request)
        # The record has the message's fields, by name.
        return ExecutorFigures(
            **{f.name: getattr(response, f.name) for f in fields(ExecutorFigures)}
        )


def tenant_job_limit_from_auth(channel: grpc.aio.Channel) -> TenantJobLimit:
    """The tenant's limit as the auth service's `GetTenantQuota` tells it."""
    auth = auth_pb2_grpc.AuthServiceStub(channel)

    async def max_concurrent_jobs(tenant_id: str) -> int:
        quota = await auth.GetTenantQuota(auth_pb2.GetTenantQuotaRequest(tenant_id=tenant_id))
        return int(quota.max_concurrent_jobs)

    return max_concurrent_jobs


def result_signer(settings: JobsSettings) -> Minio:
    """A client that signs URLs for the endpoint clients reach (`OPENEO_S3_PUBLIC_ENDPOINT`,
    else the internal one); signing is local, so it never connects."""
    return connect_s3(settings, endpoint_url=settings.s3_public_endpoint or None)


# The pieces an asset is streamed in (well below gRPC's 4 MiB message limit).
READ_CHUNK_BYTES = 1024 * 1024


class ResultObjects:
    """The result files of jobs in S3: `<bucket>/jobs/<job_id>/<file>`."""

    def __init__(
        self,
        *,
        client: Minio,
        signer: Minio,
        bucket: str,
        expiry: timedelta,
        public_urls: bool = False,
    ) -> None:
        # `signer` is a client for the endpoint users reach; signing needs no connection.
        self.client = client
        self.signer = signer
        self.bucket = bucket
        self.expiry = expiry
        # Whether clients reach S3 (`OPENEO_S3_PUBLIC_ENDPOINT`); else the gateway serves
        # the files.
        self.public_urls = public_urls

    async def ensure_bucket(self) -> None:
        """Create the results bucket at start-up if it does not exist."""
        await asyncio.to_thread(ensure_bucket, self.client, self.bucket)

    def presign(self, key: str, *, expires: datetime) -> str:
        """A URL that downloads `key` without credentials until `expires`."""
        valid = max(expires - datetime.now(UTC), timedelta(seconds=1))
        return self.signer.presigned_get_object(self.bucket, key, expires=valid)

    async def stat(self, key: str) -> StoredResult:
        """The size and last modification of `key`."""
        info = await asyncio.to_thread(self.client.stat_object, self.bucket, key)
        modified = info.last_modified or datetime.now(UTC)
        return StoredResult(size=info.size or 0, modified=modified.astimezone(UTC))

    async def read(self, key: str, *, offset: int, length: int) -> AsyncGenerator[bytes, None]:
        """`length` bytes of `key` from `offset` (within the file), in pieces."""
        if length <= 0:
            return
        response: Any = await asyncio.to_thread(
            self.client.get_object, self.bucket, key, offset=offset, length=length
        )
        try:
            pieces: Iterator[bytes] = response.stream(READ_CHUNK_BYTES)
            while (piece := await asyncio.to_thread(next, pieces, None)) is not None:
                yield piece
        finally:
            response.close()
            response.release_conn()

    async def remove_job(self, job_id: str) -> None:
        """Delete every result file of the job (what a canceled or deleted job leaves)."""

        def remove() -> None:
            if not self.client.bucket_exists(self.bucket):
                return
            listed = self.client.list_objects(self.bucket, prefix=f"jobs/{job_id}/", recursive=True)
            keys = [DeleteObject(item.object_name) for item in listed if item.object_name]
            for error in self.client.remove_objects(self.bucket, keys):
                raise RuntimeError(f"removing {error.name} failed: {error.message}")

        await asyncio.to_thread(remove)
