"""gRPC <-> domain for the processes service (openeo.processes.v1)."""

import json

import grpc

from eoplex_processes.service import ProcessesService
from eoplex_processes.store import Owner
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
        owner = Owner(user_id=request.user_id, tenant_id=request.tenant_id)
        errors = await self.service.validate(request.process_json, owner)
        return pb.ValidateProcessResponse(
            errors=[pb.ValidationError(code=error.code, message=error.message) for error in errors]
        )

    async def ListUserProcesses(
        self, request: pb.ListUserProcessesRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListUserProcessesResponse:
        page = await self.service.list_user_processes(
            _owner(request.owner), limit=request.limit, page_token=request.page_token
        )
        return pb.ListUserProcessesResponse(
            processes_json=[json.dumps(process) for process in page.processes],
            next_page_token=page.next_token,
        )

    async def GetUserProcess(
        self, request: pb.UserProcessRequest, context: grpc.aio.ServicerContext
    ) -> pb.UserProcessResponse:
        process = await self.service.get_user_process(
            _owner(request.owner), request.process_graph_id
        )
        return pb.UserProcessResponse(process_json=json.dumps(process))

    async def PutUserProcess(
        self, request: pb.PutUserProcessRequest, context: grpc.aio.ServicerContext
    ) -> pb.Empty:
        await self.service.put_user_process(
            _owner(request.owner), request.process_graph_id, request.process_json
        )
        return pb.Empty()

    async def DeleteUserProcess(
        self, request: pb.UserProcessRequest, context: grpc.aio.ServicerContext
    ) -> pb.Empty:
        await self.service.delete_user_process(_owner(request.owner), request.process_graph_id)
        return pb.Empty()


def _owner(owner: pb.Owner) -> Owner:
    return Owner(user_id=owner.user_id, tenant_id=owner.tenant_id)
