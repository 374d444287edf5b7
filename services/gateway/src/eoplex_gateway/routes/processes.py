"""Routes answered by the processes service: `GET /processes` (public), `POST /validation`."""

import json
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from eoplex_gateway.dependencies import Clients, Page, Principal
from eoplex_gateway.request_members import JsonObjectBody
from eoplex_proto.openeo.processes.v1 import processes_pb2 as pb

router = APIRouter()

# The request body is the process itself; anything but a JSON object is a BadRequest.
ProcessBody = JsonObjectBody


def build_validation_result(response: pb.ValidateProcessResponse) -> dict[str, Any]:
    """`POST /validation`: the problems found, as openEO errors (empty when valid)."""
    return {"errors": [{"code": e.code, "message": e.message} for e in response.errors]}


@router.get("/processes")
async def list_processes(page: Page, clients: Clients) -> JSONResponse:
    """`GET /processes`: the predefined processes; BadRequest for a bad limit or token."""
    query = pb.ListProcessesRequest(limit=page.limit or 0, page_token=page.token)
    response = await clients.processes.ListProcesses(query)
    processes = [json.loads(text) for text in response.processes_json]
    return JSONResponse(page.listing("processes", response.next_page_token, processes=processes))


@router.post("/validation")
async def validate_process(
    process: ProcessBody, principal: Principal, clients: Clients
) -> dict[str, Any]:
    """`POST /validation`: 200 with the problems of the process, whatever they are.

    Raises AuthenticationRequired (401), TokenInvalid (403), BadRequest (400) when the
    body is not a JSON object, ServiceUnavailable (503) when data-discovery does not answer.
    """
    query = pb.ValidateProcessRequest(
        process_json=json.dumps(process),
        user_id=principal.user_id,
        tenant_id=principal.tenant_id,
    )
    return build_validation_result(await clients.processes.ValidateProcess(query))
