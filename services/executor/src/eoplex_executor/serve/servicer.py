"""gRPC <-> domain for synchronous processing and batch-job estimates (openeo.executor.v1)."""

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import asdict
from pathlib import Path
from typing import IO, Any

import grpc

from eoplex_common.errors import BadRequest, ProcessGraphMissing
from eoplex_executor.serve.service import SyncProcessingService, SyncRequest
from eoplex_executor.udf.sandbox import UdfSandbox
from eoplex_proto.openeo.executor.v1 import executor_pb2 as pb
from eoplex_proto.openeo.executor.v1 import executor_pb2_grpc

# Well below gRPC's default 4 MiB message limit.
CHUNK_BYTES = 1024 * 1024


def _process(text: str) -> dict[str, Any]:
    try:
        process = json.loads(text)
    except json.JSONDecodeError:
        raise BadRequest(reason="the process is not valid JSON") from None
    if not isinstance(process, dict):
        raise ProcessGraphMissing()
    return process


async def _file_chunks(path: Path) -> AsyncIterator[bytes]:
    file: IO[bytes] = await asyncio.to_thread(path.open, "rb")
    with file:
        while data := await asyncio.to_thread(file.read, CHUNK_BYTES):
            yield data


class ExecutorServicer(executor_pb2_grpc.ExecutorServiceServicer):
    """Thin adapter from `openeo.executor.v1.ExecutorService` to `SyncProcessingService`."""

    def __init__(
        self,
        service: SyncProcessingService,
        *,
        sync_udf: UdfSandbox | None = None,
        batch_udf: UdfSandbox | None = None,
    ) -> None:
        self.service = service
        self.sync_udf = sync_udf or UdfSandbox()
        self.batch_udf = batch_udf or UdfSandbox()

    async def GetUdfSandbox(
        self, request: pb.GetUdfSandboxRequest, context: grpc.aio.ServicerContext
    ) -> pb.UdfSandbox:
        """How this machine confines UDF processes, and what each may use."""
        support = self.batch_udf.support()
        limits = self.batch_udf.limits
        return pb.UdfSandbox(
            enforced=support.enforced,
            runs_udfs=support.runs_udfs,
            reason=support.reason,
            layers=support.layers,
            limits=pb.UdfLimits(
                memory_bytes=limits.memory_bytes,
                cpu_seconds=limits.cpu_seconds,
                sync_cpu_seconds=self.sync_udf.limits.cpu_seconds,
                file_bytes=limits.file_bytes,
                tasks=limits.tasks,
            ),
        )

    async def Estimate(
        self, request: pb.EstimateRequest, context: grpc.aio.ServicerContext
    ) -> pb.EstimateResponse:
        """What the process would read, produce and write as a batch job, without reading a
        pixel."""
        estimate = await self.service.estimate(
            _process(request.process_json), user_id=request.user_id, tenant_id=request.tenant_id
        )
        # The message has the record's fields, by name.
        return pb.EstimateResponse(**asdict(estimate))

    async def Execute(
        self, request: pb.ExecuteRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[pb.ResultChunk]:
        """The result's metadata, then its bytes; the scratch directory goes in any case."""
        sync_request = SyncRequest(
            process=_process(request.process_json),
            user_id=request.user_id,
            tenant_id=request.tenant_id,
            max_pixels=request.max_pixels,
        )
        result = await self.service.execute(sync_request)
        try:
            yield pb.ResultChunk(
                media_type=result.media_type,
                filename=result.path.name,
                size=result.size,
                costs=result.costs,
            )
            async for data in _file_chunks(result.path):
                yield pb.ResultChunk(data=data)
        finally:
            self.service.discard(result)
