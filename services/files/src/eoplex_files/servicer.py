"""gRPC <-> domain for the files service (openeo.files.v1)."""

import grpc

from eoplex_files.service import FilesService
from eoplex_proto.openeo.files.v1 import files_pb2, files_pb2_grpc


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
