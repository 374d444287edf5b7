"""gRPC <-> domain for the processes service (openeo.processes.v1)."""

import json

import grpc

from eoplex_processes.service import ProcessesService
from eoplex_proto.openeo.processes.v1 import processes_pb2 as pb
from eoplex_proto.openeo.processes.v1 import processes_pb2_grpc


class ProcessesServicer(processes_pb2_grpc.ProcessesServiceServicer):
    """Thin adapter from `openeo.processes.v1.ProcessesService` to `ProcessesService`."""

    def __init__(self, service: ProcessesService) -> None:
        self.service = service

    async def ListProcesses(
        self, request: pb.ListProcessesRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListProcessesResponse:
        page = self.service.list_processes(limit=request.limit, page_token=request.page_token)
        return pb.ListProcessesResponse(
            processes_json=[json.dumps(process) for process in page.processes],
            next_page_token=page.next_token,
        )

    async def ValidateProcess(
        self, request: pb.ValidateProcessRequest, context: grpc.aio.ServicerContext
    ) -> pb.ValidateProcessResponse:
        errors = await self.service.validate(request.process_json)
        return pb.ValidateProcessResponse(
            errors=[pb.ValidationError(code=error.code, message=error.message) for error in errors]
        )
