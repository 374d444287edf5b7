"""User-defined processes, answered by the processes service: `/process_graphs` and below.

Every call is confined to the authenticated caller's processes; another user's process
answers `ProcessGraphNotFound`, exactly like a missing one.
"""

import json

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse

from eoplex_gateway.dependencies import Clients, Page, Principal
from eoplex_gateway.request_members import JsonObjectBody
from eoplex_proto.openeo.auth.v1 import auth_pb2
from eoplex_proto.openeo.processes.v1 import processes_pb2 as pb

router = APIRouter()

# The body of PUT is the process itself; anything but a JSON object is a BadRequest.
ProcessBody = JsonObjectBody


def owner_of(principal: auth_pb2.Principal) -> pb.Owner:
    """The owner the processes service confines every call to."""
    return pb.Owner(user_id=principal.user_id, tenant_id=principal.tenant_id)


@router.get("/process_graphs")
async def list_user_processes(page: Page, principal: Principal, clients: Clients) -> JSONResponse:
    """`GET /process_graphs`: the caller's processes sorted by id, without process graphs;
    BadRequest for a bad limit or token."""
    query = pb.ListUserProcessesRequest(
        owner=owner_of(principal), limit=page.limit or 0, page_token=page.token
    )
    response = await clients.processes.ListUserProcesses(query)
    processes = [json.loads(text) for text in response.processes_json]
    return JSONResponse(
        page.listing("process_graphs", response.next_page_token, processes=processes)
    )


@router.get("/process_graphs/{process_graph_id}")
async def describe_user_process(
    process_graph_id: str, principal: Principal, clients: Clients
) -> Response:
    """`GET /process_graphs/{process_graph_id}`: the full process; ProcessGraphNotFound."""
    query = pb.UserProcessRequest(owner=owner_of(principal), process_graph_id=process_graph_id)
    response = await clients.processes.GetUserProcess(query)
    return Response(response.process_json, media_type="application/json")


@router.put("/process_graphs/{process_graph_id}")
async def store_user_process(
    process_graph_id: str, process: ProcessBody, principal: Principal, clients: Clients
) -> Response:
    """`PUT /process_graphs/{process_graph_id}`: 200, the process is stored or replaced.

    Raises ProcessInvalid (an id not matching `^\\w+$`, malformed metadata),
    PredefinedProcessExists, ProcessGraphMissing, BadRequest (a body that is not a JSON
    object), and the process's first validation error (ProcessGraphInvalid, also for a
    process calling itself, ProcessUnsupported, ProcessParameterRequired, ...).
    """
    query = pb.PutUserProcessRequest(
        owner=owner_of(principal),
        process_graph_id=process_graph_id,
        process_json=json.dumps(process),
    )
    await clients.processes.PutUserProcess(query)
    return Response(status_code=200)


@router.delete("/process_graphs/{process_graph_id}")
async def delete_user_process(
    process_graph_id: str, principal: Principal, clients: Clients
) -> Response:
    """`DELETE /process_graphs/{process_graph_id}`: 204; ProcessGraphNotFound."""
    query = pb.UserProcessRequest(owner=owner_of(principal), process_graph_id=process_graph_id)
    await clients.processes.DeleteUserProcess(query)
    return Response(status_code=204)
